#!/usr/bin/env bash
# Runs the readers' property tests (CSV, JSON lines, manifests) with many more inputs than CI
# does: arbitrary bytes and plausible-but-wrong rows must never panic, every rejected input
# must have an issue, and the CSV fast path must read every file as arrow's CSV reader does
# (batches, rows, issues and error messages: csv_fast::tests and proptests::the_csv_fast_path_*),
# and a file cut into chunks on 1, 2, 3 and 8 workers as on one thread
# (parallel_tests);
# the record limiter's quote-free scan must count as its field-by-field scan (limits::tests),
# and keys in order must be found repeated as the hash table finds them (keys::tests).
# Usage: bash bench/fuzz.sh [CASES]   (default 100000 per property)
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
echo "== property tests with $cases cases each (release build)"
start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --release -p pmm-ingest --lib -- proptests parallel_tests csv_fast keys:: limits::
PROPTEST_CASES="$cases" cargo test --release -p pmm-catalog --lib proptests
echo "== done in $(( $(date +%s) - start )) s"
