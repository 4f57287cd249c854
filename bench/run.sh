#!/usr/bin/env bash
# Benchmark of the scheduled run: `pmm synth` writes MEMBERS x DECLARATIONS (default 20 x
# 200,000) for T and T-1, once all CSV and once all Parquet; then `pmm run` (release build)
# reads, validates, computes and publishes them, from a local folder and then, when a Garage
# binary is at hand (PMM_GARAGE, or ~/.cache/pmm-tools/bin/garage as .ci/run builds it), from
# a single-node Garage S3 server on loopback. Prints wall time and peak memory (max RSS).
#
#   bash bench/run.sh                      # the reference size
#   MEMBERS=5 DECLARATIONS=50000 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MEMBERS=${MEMBERS:-20}
DECLARATIONS=${DECLARATIONS:-200000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pmm-target}"
cargo build --quiet --release -p pmm-cli
pmm="$CARGO_TARGET_DIR/release/pmm"
work=$(mktemp -d)
garage_pid=""
trap '[ -n "$garage_pid" ] && kill "$garage_pid"; rm -rf "$work"' EXIT

garage="${PMM_GARAGE:-$HOME/.cache/pmm-tools/bin/garage}"
key=GK0123456789abcdef01234567
secret=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
s3_port=39900
# Starts Garage with a key and a bucket `bench`.
start_garage() {
  mkdir -p "$work/garage"
  cat > "$work/garage/garage.toml" <<TOML
metadata_dir = "$work/garage/meta"
data_dir = "$work/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:39901"
rpc_public_addr = "127.0.0.1:39901"
rpc_secret = "$secret"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"
TOML
  local g=("$garage" -c "$work/garage/garage.toml")
  "${g[@]}" server > "$work/garage/log" 2>&1 &
  garage_pid=$!
  until "${g[@]}" node id -q > "$work/garage/node" 2>/dev/null; do sleep 0.3; done
  "${g[@]}" layout assign -z dc1 -c 10G "$(cut -d@ -f1 "$work/garage/node")" > /dev/null
  "${g[@]}" layout apply --version 1 > /dev/null
  "${g[@]}" key import --yes "$key" "$secret" -n bench > /dev/null
  "${g[@]}" bucket create bench > /dev/null
  "${g[@]}" bucket allow --read --write --owner bench --key bench > /dev/null
}
# Uploads a folder to s3://bench/<prefix>/ with curl's SigV4 signing, four at a time (`=` in
# keys is sent as %3D, as S3 clients sign it).
upload() {
  (cd "$1" && find . -type f | sed 's#^\./##' | KEY=$key SECRET=$secret URL="http://127.0.0.1:$s3_port/bench/$2" \
    xargs -P 4 -I{} sh -c 'curl -sf --aws-sigv4 "aws:amz:garage:s3" --user "$KEY:$SECRET" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --upload-file "$1" "$URL/$(printf %s "$1" | sed s/=/%3D/g)"' _ {})
}

# Runs a command; prints "seconds peak_mib" of it.
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.monotonic() - start
if done.returncode != 0:
    sys.stderr.write(done.stderr.decode())
    sys.exit(done.returncode)
print(f"{seconds:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
PY
}

echo "pmm run over $MEMBERS members x $DECLARATIONS declarations (T and T-1, all 8 datasets), $(nproc) cores"
with_s3=false
if [ -x "$garage" ]; then start_garage; with_s3=true; fi
printf '%-8s %-6s %10s %10s %10s %12s\n' format store input_MB synth_s run_s peak_MiB
for format in csv parquet; do
  dir="$work/$format"
  read -r synth_s _ < <(measure "$pmm" synth --members "$MEMBERS" --declarations "$DECLARATIONS" --format "$format" --out "$dir")
  cat > "$dir/pipeline.yaml" <<YAML
name: bench
year: 2024
catalog: $PWD/indicators
members: members.yaml
source: submissions
results: results
YAML
  input_mb=$(du -sm "$dir/submissions" | cut -f1)
  read -r run_s peak < <(measure "$pmm" run "$dir/pipeline.yaml")
  printf '%-8s %-6s %10s %10s %10s %12s\n' "$format" local "$input_mb" "$synth_s" "$run_s" "$peak"
  if $with_s3; then
    upload "$dir/submissions" "$format/submissions"
    sed -e "s#^source: .*#source: s3://bench/$format/submissions#" \
        -e "s#^results: .*#results: s3://bench/$format/results#" "$dir/pipeline.yaml" > "$dir/s3.yaml"
    read -r run_s peak < <(AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=garage \
      AWS_ENDPOINT="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true measure "$pmm" run "$dir/s3.yaml")
    printf '%-8s %-6s %10s %10s %10s %12s\n' "$format" s3 "$input_mb" - "$run_s" "$peak"
  fi
  rm -rf "$dir"
done
