#!/usr/bin/env bash
# Benchmark of the scheduled run: `pmm synth` writes MEMBERS x DECLARATIONS (default 20 x
# 200,000) for T and T-1, once all CSV and once all Parquet; then `pmm run` (release build)
# reads, validates, computes and publishes them. Prints wall time and peak memory (max RSS).
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
trap 'rm -rf "$work"' EXIT

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
printf '%-8s %10s %10s %10s %12s\n' format input_MB synth_s run_s peak_MiB
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
  printf '%-8s %10s %10s %10s %12s\n' "$format" "$input_mb" "$synth_s" "$run_s" "$peak"
  rm -rf "$dir"
done
