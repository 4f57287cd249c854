"""Reads every result file of the latest run with pyarrow and checks the columns and types.

Usage: python3 tests/read_results.py RESULTS_DIR
Run by .ci/run after a demo run: it proves the files are Arrow IPC files other tools read.
"""
import json
import math
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

S, I, F, B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
TABLES = {
    "indicator_values": [
        ("run_id", S), ("year", I), ("member", S), ("region", S), ("income_group", S), ("dimension", S),
        ("outcome", S), ("indicator", S), ("status", S), ("value", F), ("numerator", F), ("denominator", F),
        ("unit", S), ("score", F), ("level", I), ("disclosure", S), ("assessment", S), ("definition_hash", S),
    ],
    "outcome_scores": [
        ("run_id", S), ("year", I), ("member", S), ("region", S), ("income_group", S), ("dimension", S),
        ("outcome", S), ("status", S), ("score", F), ("level", I), ("coverage", F), ("disclosure", S),
    ],
    "dimension_scores": [
        ("run_id", S), ("year", I), ("member", S), ("region", S), ("income_group", S), ("dimension", S),
        ("status", S), ("score", F), ("level", I), ("coverage", F), ("disclosure", S),
    ],
    "peer_stats": [
        ("run_id", S), ("year", I), ("indicator", S), ("group_kind", S), ("group", S), ("n", I),
        ("mean", F), ("median", F), ("p25", F), ("p75", F), ("min", F), ("max", F),
    ],
    "validation_issues": [
        ("run_id", S), ("year", I), ("member", S), ("dataset", S), ("file", S), ("row", I), ("column", S),
        ("rule", S), ("severity", S), ("message", S), ("count", I),
    ],
    "review_flags": [
        ("run_id", S), ("year", I), ("member", S), ("subject_kind", S), ("subject", S), ("rule", S),
        ("observed", F), ("low", F), ("high", F), ("reference", F), ("message", S), ("explanation", S),
    ],
    "indicator_history": [
        ("member", S), ("indicator", S), ("year", I), ("status", S), ("value", F), ("score", F), ("level", I),
        ("unit", S), ("disclosure", S), ("definition_hash", S), ("catalog_version", S), ("comparable", B),
        ("run_id", S), ("published_at", S), ("superseded_by", S), ("change", S), ("cause", S),
    ],
}
LEVELS = {"public": {"public"}, "wco": {"public", "wco"}, "secretariat": {"public", "wco", "secretariat"}}


def main(results: Path) -> int:
    latest = json.loads((results / "latest.json").read_text())
    run = results / latest["path"]
    checked = 0
    for audience, allowed in LEVELS.items():
        for name, columns in TABLES.items():
            path = run / audience / f"{name}.arrow"
            if name in ("validation_issues", "review_flags") and audience != "secretariat":
                assert not path.exists(), f"{path}: {name} are for the Secretariat only"
                continue
            with pa.memory_map(str(path)) as source:
                table = ipc.open_file(source).read_all()
            got = [(f.name, f.type) for f in table.schema]
            assert got == columns, f"{path}: columns {got}"
            assert table.num_rows > 0, f"{path}: empty"
            # A fresh results folder: every history row is this run's first.
            assert set(table.column("run_id").to_pylist()) == {latest["run_id"]}, path
            for field in table.schema:
                if field.type == F:
                    for v in table.column(field.name).to_pylist():
                        assert v is None or math.isfinite(v), f"{path}: {field.name} holds {v}"
            if "disclosure" in table.schema.names:
                levels = set(table.column("disclosure").to_pylist())
                assert levels <= allowed, f"{path}: {levels} above {audience}"
            checked += 1
    print(f"{checked} passed, 0 failed: pyarrow {pa.__version__} read every result file of run {latest['run_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
