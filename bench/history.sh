#!/usr/bin/env bash
# The cost of the history across cycles at the size of a real PMM: CYCLES x MEMBERS x KPIS
# rows (default 20 x 186 x 60, about 223,000), beside a yardstick on the same file.
#
# Measures, as wall time and peak memory:
#   history   `pmm history --member XA` over that history
#   report    `pmm report --member XA` of that run (the "Across cycles" section included)
#   pyarrow   the yardstick: Python reading the same Arrow file and keeping XA's rows
#   run+      a run of MEMBERS synthetic members (DECLARATIONS each) that adds to that history
#             (every input reused from staging; the history restored before each repetition)
#   run0      the same run over a history of one cycle
#   first     that pipeline's first run (every input read): what "the run" costs
# and prints history / pyarrow, report / pyarrow and the run's added cost (run+ - run0) as a
# share of a first run. Each figure is the median of REPEAT runs (default 5; first: 3), as
# this machine's times drift.
#
#   bash bench/history.sh
#   CYCLES=5 MEMBERS=50 KPIS=30 bash bench/history.sh     # smaller
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${CYCLES:-20}
MEMBERS=${MEMBERS:-186}
KPIS=${KPIS:-60}
DECLARATIONS=${DECLARATIONS:-5000}
REPEAT=${REPEAT:-5}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pmm-target}"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore pyarrow
cargo build --quiet --release -p pmm-cli
pmm="$CARGO_TARGET_DIR/release/pmm"
work=$(mktemp -d "${TMPDIR:-/tmp}/pmm-history-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# wall seconds and peak KiB of a command, as "seconds kib"
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
    cat "$work/stderr" >&2
    return 1
  }
  cat "$work/time"
}

# The median (by seconds) of N runs of `measure`, each after the command SETUP:
# median N SETUP COMMAND...
median() {
  local n=$1 setup=$2
  shift 2
  for _ in $(seq "$n"); do
    eval "$setup"
    measure "$@"
  done | sort -n | sed -n "$(((n + 1) / 2))p"
}

"$pmm" synth --members "$MEMBERS" --declarations "$DECLARATIONS" --format csv --out "$work/data" >/dev/null
cat > "$work/data/pipeline.yaml" <<YAML
name: history-bench
year: 2024
catalog: $PWD/indicators
members: members.yaml
source: submissions
results: results
YAML
pipeline="$work/data/pipeline.yaml"
# A first run reads every input: the results (and the staging area in them) start empty.
first=$(median 3 'rm -rf "$work/big"' "$pmm" run "$pipeline" --results "$work/big")
python3 bench/make_history.py "$work/big" "$CYCLES" "$MEMBERS" "$KPIS"
cp -r "$work/big" "$work/big.made"
history=$(median "$REPEAT" : "$pmm" history --results "$work/big" --member XA)
report=$(median "$REPEAT" : "$pmm" report --results "$work/big" --member XA --out "$work/report.html")
cat > "$work/yardstick.py" <<PY
import pyarrow as pa, pyarrow.ipc as ipc, pyarrow.compute as pc, json, sys
from pathlib import Path
results = Path(sys.argv[1])
latest = json.loads((results / "latest.json").read_text())
with pa.memory_map(str(results / latest["path"] / "secretariat" / "indicator_history.arrow")) as s:
    t = ipc.open_file(s).read_all()
rows = t.filter(pc.equal(t.column("member"), "XA"))
print(rows.num_rows)
PY
pyarrow=$(median "$REPEAT" : python3 "$work/yardstick.py" "$work/big")
run_big=$(median "$REPEAT" 'rm -rf "$work/big" && cp -r "$work/big.made" "$work/big"' "$pmm" run "$pipeline" --results "$work/big")
# The same run with a history of one cycle: a second results folder, run once before.
"$pmm" run "$pipeline" --results "$work/small" >/dev/null 2>&1
run_small=$(median "$REPEAT" : "$pmm" run "$pipeline" --results "$work/small")

rows=$((CYCLES * MEMBERS * KPIS))
printf '\nHistory across cycles: %s rows (%s cycles x %s members x %s KPIs); runs of %s members x %s declarations; medians of %s runs\n' "$rows" "$CYCLES" "$MEMBERS" "$KPIS" "$MEMBERS" "$DECLARATIONS" "$REPEAT"
printf '%-10s %10s %12s\n' what seconds "peak MiB"
for row in "history $history" "report $report" "pyarrow $pyarrow" "run+ $run_big" "run0 $run_small" "first $first"; do
  set -- $row
  printf '%-10s %10s %12.0f\n' "$1" "$2" "$(echo "$3 / 1024" | bc -l)"
done
ratio() { echo "scale=2; $1 / $2" | bc -l; }
h=${history%% *}; r=${report%% *}; y=${pyarrow%% *}; b=${run_big%% *}; s=${run_small%% *}; f=${first%% *}
printf '\nhistory / pyarrow: %s    report / pyarrow: %s\n' "$(ratio "$h" "$y")" "$(ratio "$r" "$y")"
printf 'the run'"'"'s added cost for the history: (run+ - run0) / first = %s\n' "$(echo "scale=3; ($b - $s) / $f" | bc -l)"
