#!/usr/bin/env bash
# Runs the readers' property tests (CSV, JSON lines, manifests) with many more inputs than CI
# does: arbitrary bytes and plausible-but-wrong rows must never panic, and every rejected
# input must have an issue. Usage: bash bench/fuzz.sh [CASES]   (default 100000 per property)
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
echo "== property tests with $cases cases each (release build)"
start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --release -p pmm-ingest --lib proptests
PROPTEST_CASES="$cases" cargo test --release -p pmm-catalog --lib proptests
echo "== done in $(( $(date +%s) - start )) s"
