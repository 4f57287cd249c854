#!/usr/bin/env bash
# Benchmark of the scheduled run, beside DuckDB on the same files.
#
# For each scale (SCALES, default "1 5": 1x and 5x DECLARATIONS) and format (csv, parquet),
# `pmm synth` writes MEMBERS x DECLARATIONS*scale (default 20 x 200,000) for T and T-1, all 8
# datasets; then, each measured as wall time and peak memory (max RSS):
#   pmm      `pmm run` (release build) on empty staging: read, validate, stage, compute, publish
#   rerun    the same run again, nothing changed: every input reused from staging
#   rerun1   again after one member re-submitted one dataset (its declarations, touched)
#   duckdb   DuckDB (Python package) running the catalog's 29 KPI queries over the same files
#            (bench/duckdb_kpis.py): views over Parquet; for CSV the better of views and
#            tables loaded once. DuckDB validates nothing: it is the cost of the queries alone.
# and prints ratios: pmm / duckdb, rerun / pmm, then each first run's phase timings from its
# manifest.json (where the time went: discover, read, evaluate, score, publish, and the reading
# threads' seconds of decoding, validating and staging). At 1x, when a Garage binary is at hand
# (PMM_GARAGE, or ~/.cache/pmm-tools/bin/garage as .ci/run builds it), `pmm run` also reads
# from and writes to a Garage S3 server on loopback (row "s3"). At 1x, `pmm run` also runs with
# `engine.ballista` on a cluster of `pmm scheduler` and two `pmm executor`s (one task slot
# each) on this machine (row "ballista"; BALLISTA=0 leaves it out); the lines under the table
# give, for each format, the time of the "computing indicators" stage in one process and on
# the cluster, and the cluster processes' peak memory (summed). At 1x, row "shards2" is two
# `pmm run --stage-only --shard I/2` processes at once then `pmm run` (which reads nothing),
# on fresh staging; its note gives the total against one run, and the records read and
# staged per second per core (the figure docs/distributed.md's arithmetic starts from).
#
# Then one member with BIG (default 5,000,000) declarations in one CSV file a year, against
# DuckDB's load-once, with how many cores the run kept busy.
#
#   bash bench/run.sh                                   # the reference size, 1x and 5x
#   SCALES=1 MEMBERS=5 DECLARATIONS=50000 bash bench/run.sh   # smaller
set -euo pipefail
cd "$(dirname "$0")/.."
MEMBERS=${MEMBERS:-20}
DECLARATIONS=${DECLARATIONS:-200000}
SCALES=${SCALES:-1 5}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pmm-target}"
# DuckDB pinned: the yardstick must not move under the ratios (2.0.1 answers these queries over
# Parquet about 10 % faster than 1.4.4 on the same machine); its version is printed.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore duckdb==2.0.1 pyyaml
cargo build --quiet --release -p pmm-cli
pmm="$CARGO_TARGET_DIR/release/pmm"
work=$(mktemp -d "${TMPDIR:-/tmp}/pmm-bench.XXXXXX")
garage_pid=""
cluster_pids=()
trap '[ -n "$garage_pid" ] && kill "$garage_pid"; [ ${#cluster_pids[@]} -gt 0 ] && kill "${cluster_pids[@]}"; rm -rf "$work"' EXIT

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

# Runs a command; prints "seconds peak_mib compute_s cores" of it (peak resident memory of the
# process tree's largest process, as getrusage reports it; the duration of pmm's "computing
# indicators" stage from its log, "-" when it has none; its CPU seconds over its wall seconds,
# how many cores it kept busy).
measure() {
  python3 - "$@" <<'PY'
import re, resource, subprocess, sys, time
start = time.monotonic()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.monotonic() - start
if done.returncode != 0:
    sys.stderr.write(done.stderr.decode())
    sys.exit(done.returncode)
found = re.search(r"computing indicators done in ([0-9.]+) s", done.stderr.decode())
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{seconds:.2f} {usage.ru_maxrss / 1024:.0f} {found.group(1) if found else '-'} "
      f"{(usage.ru_utime + usage.ru_stime) / seconds:.2f}")
PY
}

# A Ballista cluster on loopback: `pmm scheduler` and two `pmm executor`s with one task slot
# each (this machine's cores, shared as a two-machine cluster would not).
scheduler_port=39950
start_cluster() {
  "$pmm" scheduler --bind "127.0.0.1:$scheduler_port" > "$work/scheduler.log" 2>&1 &
  cluster_pids+=($!)
  for i in 1 2; do
    "$pmm" executor --scheduler "127.0.0.1:$scheduler_port" --concurrency 1 \
      --work-dir "$work/executor-$i" > "$work/executor-$i.log" 2>&1 &
    cluster_pids+=($!)
  done
  until [ "$(grep -c 'Received register executor request' "$work/scheduler.log")" -ge 2 ]; do sleep 0.3; done
}
# Peak resident memory of the cluster's processes so far, summed, in MiB.
cluster_mib() {
  local kib=0 pid
  for pid in "${cluster_pids[@]}"; do
    kib=$((kib + $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")))
  done
  echo $((kib / 1024))
}
# The phase timings of the latest run under a results folder, from its manifest.json.
phases() {
  python3 - "$1" <<'PY'
import json, sys
from pathlib import Path
root = Path(sys.argv[1])
p = json.loads((root / json.loads((root / "latest.json").read_text())["path"] / "manifest.json").read_text())["phases"]
print(f"discover {p['discover_seconds']:.2f} s, read {p['read_seconds']:.2f} s (thread seconds: decode "
      f"{p['decode_thread_seconds']:.2f}, validate {p['validate_thread_seconds']:.2f}, stage "
      f"{p['stage_thread_seconds']:.2f}), evaluate {p['evaluate_seconds']:.2f} s, score "
      f"{p['score_seconds']:.2f} s, publish {p['publish_seconds']:.2f} s")
PY
}
# Records read and staged per second per core: the records the shards' summaries count, over
# the first single run's read phase (wall seconds, given) times the cores it kept busy (all of
# them: it reads `nproc` files at once). The shards' own thread seconds are no measure of a
# core: two processes on two cores give each thread half of one.
rows_per_core() {
  python3 - "$(nproc)" "$@" <<'PY'
import re, sys
cores, read_s, shards = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
rows = sum(int(re.search(r"\(([0-9]+) records\)", open(p).read()).group(1)) for p in shards)
print(f"{rows} records read and staged by the single run in {read_s:.2f} s on {cores} cores: "
      f"{rows / (read_s * cores):,.0f} records/s per core")
PY
}
# The read phase's wall seconds of the latest run under a results folder.
read_seconds() {
  python3 - "$1" <<'PY'
import json, sys
from pathlib import Path
root = Path(sys.argv[1])
print(json.loads((root / json.loads((root / "latest.json").read_text())["path"] / "manifest.json").read_text())["phases"]["read_seconds"])
PY
}
# The benchmark's pipeline over what `pmm synth` wrote in a folder, results beside it.
write_pipeline() {
  cat > "$1/pipeline.yaml" <<YAML
name: bench
year: 2024
catalog: $PWD/indicators
members: members.yaml
source: submissions
results: results
YAML
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
percent() { python3 -c "print(f'{100 * $1 / $2:.0f}%')"; }

echo "pmm run over $MEMBERS members x $DECLARATIONS declarations x scale (T and T-1, all 8 datasets), $(nproc) cores, $(date -u +%F), DuckDB $(python3 -c 'import duckdb; print(duckdb.__version__)')"
with_s3=false
if [ -x "$garage" ]; then start_garage; with_s3=true; fi
with_ballista=false
if [ "${BALLISTA:-1}" != 0 ]; then start_cluster; with_ballista=true; fi
notes=()
phase_notes=()
printf '%-5s %-8s %-8s %9s %8s %9s %9s %9s %9s %8s %8s %12s %12s\n' \
  scale format store input_MB pmm_s pmm_MiB duckdb_s duck_MiB "pmm/duck" rerun_s rerun1_s rerun/pmm rerun1/pmm
for scale in $SCALES; do
  declarations=$((DECLARATIONS * scale))
  for format in csv parquet; do
    dir="$work/$format-$scale"
    measure "$pmm" synth --members "$MEMBERS" --declarations "$declarations" --format "$format" --out "$dir" > /dev/null
    write_pipeline "$dir"
    input_mb=$(du -sm "$dir/submissions" | cut -f1)
    read -r run_s run_mib compute_s _ < <(measure "$pmm" run "$dir/pipeline.yaml")
    phase_notes+=("${scale}x $format: $(phases "$dir/results")")
    read_s=$(read_seconds "$dir/results")
    read -r rerun_s _ _ < <(measure "$pmm" run "$dir/pipeline.yaml")
    touch "$dir"/submissions/member=XA/year=2024/declarations.*
    read -r rerun1_s _ _ < <(measure "$pmm" run "$dir/pipeline.yaml")
    read -r duck_s duck_mib _ < <(measure python3 bench/duckdb_kpis.py indicators "$dir/submissions" "$format" views)
    if [ "$format" = csv ]; then
      read -r load_s load_mib _ < <(measure python3 bench/duckdb_kpis.py indicators "$dir/submissions" csv load)
      if python3 -c "import sys; sys.exit(0 if $load_s < $duck_s else 1)"; then duck_s=$load_s; duck_mib=$load_mib; fi
    fi
    printf '%-5s %-8s %-8s %9s %8s %9s %9s %9s %9s %8s %8s %12s %12s\n' "${scale}x" "$format" local "$input_mb" \
      "$run_s" "$run_mib" "$duck_s" "$duck_mib" "$(ratio "$run_s" "$duck_s")" "$rerun_s" "$rerun1_s" \
      "$(percent "$rerun_s" "$run_s")" "$(percent "$rerun1_s" "$run_s")"
    if $with_s3 && [ "$scale" = 1 ]; then
      upload "$dir/submissions" "$format/submissions"
      sed -e "s#^source: .*#source: s3://bench/$format/submissions#" \
          -e "s#^results: .*#results: s3://bench/$format/results#" "$dir/pipeline.yaml" > "$dir/s3.yaml"
      s3env=(env AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=garage
             AWS_ENDPOINT="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true)
      read -r s3_s s3_mib _ < <(measure "${s3env[@]}" "$pmm" run "$dir/s3.yaml")
      read -r s3_rerun_s _ _ < <(measure "${s3env[@]}" "$pmm" run "$dir/s3.yaml")
      printf '%-5s %-8s %-8s %9s %8s %9s %9s %9s %9s %8s %8s %12s %12s\n' "${scale}x" "$format" s3 "$input_mb" \
        "$s3_s" "$s3_mib" - - - "$s3_rerun_s" - "$(percent "$s3_rerun_s" "$s3_s")" -
    fi
    if [ "$scale" = 1 ]; then
      # Two `--stage-only` shards at once, then the run (which reuses what they staged), on
      # fresh results and staging: the way N machines stage a cycle, here sharing two cores.
      sed -e "s#^results: .*#results: results-shards#" "$dir/pipeline.yaml" > "$dir/shards.yaml"
      read -r sh_s sh_mib _ < <(measure bash -c '
        "$1" run "$2" --stage-only --shard 0/2 > "$3/shard-0.txt" & a=$!
        "$1" run "$2" --stage-only --shard 1/2 > "$3/shard-1.txt" & b=$!
        wait $a && wait $b && "$1" run "$2"' _ "$pmm" "$dir/shards.yaml" "$dir")
      printf '%-5s %-8s %-8s %9s %8s %9s %9s %9s %9s %8s %8s %12s %12s\n' "${scale}x" "$format" shards2 "$input_mb" \
        "$sh_s" "$sh_mib" "$duck_s" "$duck_mib" "$(ratio "$sh_s" "$duck_s")" - - - -
      notes+=("$format: two --stage-only shards then the run ${sh_s} s, one run ${run_s} s ($(ratio "$sh_s" "$run_s")x); $(rows_per_core "$read_s" "$dir"/shard-*.txt)")
    fi
    if $with_ballista && [ "$scale" = 1 ]; then
      # Fresh results and staging: the cluster run reads, stages and computes everything.
      sed -e "s#^results: .*#results: results-ballista#" "$dir/pipeline.yaml" > "$dir/ballista.yaml"
      printf 'engine:\n  ballista: df://127.0.0.1:%s\n' "$scheduler_port" >> "$dir/ballista.yaml"
      read -r cl_s cl_mib cl_compute_s _ < <(measure "$pmm" run "$dir/ballista.yaml")
      read -r cl_rerun_s _ _ < <(measure "$pmm" run "$dir/ballista.yaml")
      printf '%-5s %-8s %-8s %9s %8s %9s %9s %9s %9s %8s %8s %12s %12s\n' "${scale}x" "$format" ballista "$input_mb" \
        "$cl_s" "$cl_mib" "$duck_s" "$duck_mib" "$(ratio "$cl_s" "$duck_s")" "$cl_rerun_s" - "$(percent "$cl_rerun_s" "$cl_s")" -
      notes+=("ballista $format: computing indicators ${compute_s} s in one process, ${cl_compute_s} s on the cluster ($(ratio "$cl_compute_s" "$compute_s")x); cluster processes' peak memory $(cluster_mib) MiB summed")
    fi
    rm -rf "$dir"
  done
done
# One member whose declarations are one large CSV file a year (BIG declarations in T, about
# 5 % fewer in T-1; BIG=0 leaves it out): a first run against DuckDB's load-once, and how busy
# the cores were (the run's CPU seconds over its wall seconds; 2.00 is both cores all along).
BIG=${BIG:-5000000}
if [ "$BIG" != 0 ]; then
  dir="$work/big"
  measure "$pmm" synth --members 1 --declarations "$BIG" --format csv --out "$dir" > /dev/null
  write_pipeline "$dir"
  big_mb=$(du -sm "$dir/submissions/member=XA/year=2024/declarations.csv" | cut -f1)
  read -r big_s big_mib _ big_cpu < <(measure "$pmm" run "$dir/pipeline.yaml")
  read -r bload_s bload_mib _ < <(measure python3 bench/duckdb_kpis.py indicators "$dir/submissions" csv load)
  echo "one member, declarations in one CSV file a year ($BIG in T, $big_mb MB): pmm ${big_s} s, ${big_mib} MiB, cores busy ${big_cpu} of $(nproc); DuckDB load-once ${bload_s} s, ${bload_mib} MiB; pmm/duck $(ratio "$big_s" "$bload_s")"
  phase_notes+=("big csv: $(phases "$dir/results")")
  rm -rf "$dir"
fi
echo "phases of the first run (pmm run, manifest.json):"
for note in "${phase_notes[@]}"; do echo "  $note"; done
for note in "${notes[@]}"; do echo "  $note"; done
