"""Writes a large history across cycles into a published run, for bench/history.sh.

Usage: python3 bench/make_history.py RESULTS CYCLES MEMBERS KPIS

Replaces each audience's indicator_history.arrow of the run RESULTS/latest.json names with
CYCLES years x MEMBERS members x KPIS indicators (the catalog's ids first, then made-up ones),
every row public, current and first, with the table's exact columns and types.
"""
import json
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc


def member_codes(n):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    codes = [f"X{a}" for a in letters] + [f"X{a}{b}" for a in letters for b in letters]
    return codes[:n]


def main(results: Path, cycles: int, members: int, kpis: int) -> int:
    latest = json.loads((results / "latest.json").read_text())
    run = results / latest["path"]
    with pa.memory_map(str(run / "secretariat" / "indicator_values.arrow")) as source:
        values = ipc.open_file(source).read_all()
    catalog_ids = sorted(set(values.column("indicator").to_pylist()))
    ids = (catalog_ids + [f"tfec.made_up_{i:02d}" for i in range(kpis)])[:kpis]
    units = dict(zip(values.column("indicator").to_pylist(), values.column("unit").to_pylist()))
    rng = random.Random(7)
    rows = {name: [] for name in [
        "member", "indicator", "year", "status", "value", "score", "level", "unit", "disclosure",
        "definition_hash", "catalog_version", "comparable", "run_id", "published_at",
        "superseded_by", "change", "cause"]}
    last = latest["year"] if "year" in latest else 2024
    for member in member_codes(members):
        for kpi in ids:
            for year in range(last - cycles + 1, last + 1):
                value = rng.uniform(0, 100)
                for name, cell in [
                    ("member", member), ("indicator", kpi), ("year", year), ("status", "ok"),
                    ("value", value), ("score", value), ("level", min(5, int(value // 20) + 1)),
                    ("unit", units.get(kpi, "percent")), ("disclosure", "public"),
                    ("definition_hash", "0" * 64), ("catalog_version", "PMM v1.0"),
                    ("comparable", True), ("run_id", latest["run_id"]),
                    ("published_at", "2026-01-01T00:00:00Z"), ("superseded_by", None),
                    ("change", "first"), ("cause", None)]:
                    rows[name].append(cell)
    S, I, F, B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
    schema = pa.schema([
        pa.field("member", S, False), pa.field("indicator", S, False), pa.field("year", I, False),
        pa.field("status", S, False), pa.field("value", F), pa.field("score", F),
        pa.field("level", I), pa.field("unit", S, False), pa.field("disclosure", S, False),
        pa.field("definition_hash", S, False), pa.field("catalog_version", S, False),
        pa.field("comparable", B, False), pa.field("run_id", S, False),
        pa.field("published_at", S, False), pa.field("superseded_by", S),
        pa.field("change", S, False), pa.field("cause", S)])
    table = pa.table(rows, schema=schema)
    for audience in ["secretariat", "wco", "public"]:
        path = run / audience / "indicator_history.arrow"
        if path.parent.exists():
            with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, schema) as writer:
                writer.write_table(table)
    print(f"{table.num_rows} history rows ({cycles} cycles x {members} members x {len(ids)} KPIs) in {run}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
