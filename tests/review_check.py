"""Recomputes the plausibility review of the latest run on its own and compares it with the
run's secretariat/review_flags.arrow, flag by flag and figure by figure.

Usage: python3 tests/review_check.py RESULTS_DIR PIPELINE
Run by .ci/run after the demo run. Nothing here uses pmm's code: the valid row counts come from
the submitted files themselves (csv, csv.gz, Parquet, JSON lines) less the rows the run's
validation_issues name; the bounds from the catalog's YAML; the values, the T-1 values and the
peer statistics from the run's Secretariat tables; the explanations from the members' manifests.
"""
import csv
import gzip
import io
import json
import sys
from pathlib import Path

import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import yaml

RULES = ("count_change", "value_change", "outside_range", "peer_outlier")


def table(path: Path) -> list:
    with open(path, "rb") as f:
        return ipc.open_file(f).read_all().to_pylist()


def rows_in(path: Path) -> int:
    """Data records of one submitted file, by the file's own format."""
    name = path.name
    if name.endswith(".parquet"):
        return pq.ParquetFile(path).metadata.num_rows
    raw = path.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8-sig")
    if ".jsonl" in name:
        return sum(1 for line in text.splitlines() if line.strip())
    records = list(csv.reader(io.StringIO(text)))
    return sum(1 for r in records[1:] if r)


def moved_more_than(now: float, before: float, most: float) -> bool:
    if before == 0:
        return now != 0
    return abs(now - before) / abs(before) > most


def main(results: Path, pipeline_path: Path) -> int:
    pipeline = yaml.safe_load(pipeline_path.read_text())
    here = pipeline_path.parent
    catalog_dir = (here / pipeline["catalog"]).resolve()
    source = (here / pipeline["source"]).resolve()
    min_group = pipeline.get("peers", {}).get("min_group_size", 5)
    latest = json.loads((results / "latest.json").read_text())
    run = results / latest["path"]
    year = latest["year"]
    secretariat = run / "secretariat"

    datasets = {}
    for f in sorted((catalog_dir / "datasets").glob("*.yaml")):
        d = yaml.safe_load(f.read_text())
        review = d.get("review") or {}
        datasets[d["name"]] = (review.get("max_count_change", 0.5), review.get("min_count", 100))
    kpis = {}
    for f in sorted(catalog_dir.glob("*/*.yaml")):
        k = yaml.safe_load(f.read_text())
        if isinstance(k, dict) and "id" in k and "sql" in k:
            kpis[k["id"]] = k.get("review") or {}

    issues = table(secretariat / "validation_issues.arrow")
    rejected_files, rejected_submissions, bad_rows = set(), set(), {}
    for i in issues:
        if i["severity"] != "error":
            continue
        if i["rule"] == "manifest":
            rejected_submissions.add((i["member"], i["year"]))
        elif i["row"] is None:
            rejected_files.add(i["file"])
        else:
            bad_rows.setdefault(i["file"], set()).add(i["row"])

    expected = {}
    explanations = {}
    members = sorted(p.name.split("=", 1)[1] for p in source.glob("member=*"))
    for member in members:
        counts = {}
        for y in (year, year - 1):
            folder = source / f"member={member}" / f"year={y}"
            if not folder.is_dir() or (member, y) in rejected_submissions:
                continue
            for f in sorted(folder.iterdir()):
                dataset = f.name.split(".", 1)[0]
                relative = f"member={member}/year={y}/{f.name}"
                if dataset not in datasets or relative in rejected_files:
                    continue
                valid = rows_in(f) - len(bad_rows.get(relative, ()))
                counts[(dataset, y)] = counts.get((dataset, y), 0) + valid
            if y == year and (folder / "manifest.yaml").is_file():
                manifest = yaml.safe_load((folder / "manifest.yaml").read_text())
                for e in manifest.get("explanations") or []:
                    explanations[(member, e["subject"])] = e["text"]
        for (dataset, y), now in counts.items():
            before = counts.get((dataset, year - 1))
            if y != year or before is None:
                continue
            most, min_count = datasets[dataset]
            if max(now, before) >= min_count and moved_more_than(now, before, most):
                margin = most * before
                expected[(member, "dataset", dataset, "count_change")] = (
                    now, before - margin, before + margin, before)

    values = [v for v in table(secretariat / "indicator_values.arrow")
              if v["status"] == "ok" and v["value"] is not None]
    history = table(secretariat / "indicator_history.arrow")
    previous = {(h["member"], h["indicator"]): h["value"] for h in history
                if h["year"] == year - 1 and h["superseded_by"] is None
                and h["status"] == "ok" and h["value"] is not None}
    peers = {p["indicator"]: p for p in table(secretariat / "peer_stats.arrow")
             if p["group_kind"] == "global" and p["n"] >= min_group and p["p25"] is not None}
    for v in values:
        member, kpi, value = v["member"], v["indicator"], v["value"]
        review = kpis.get(kpi, {})
        before = previous.get((member, kpi))
        if "max_change" in review and before is not None and moved_more_than(value, before, review["max_change"]):
            margin = review["max_change"] * abs(before)
            expected[(member, "indicator", kpi, "value_change")] = (value, before - margin, before + margin, before)
        if "range" in review:
            low, high = review["range"]
            if not low <= value <= high:
                expected[(member, "indicator", kpi, "outside_range")] = (value, low, high, None)
        p = peers.get(kpi)
        if p is not None:
            iqr = p["p75"] - p["p25"]
            low, high = p["p25"] - 3 * iqr, p["p75"] + 3 * iqr
            if iqr > 0 and not low <= value <= high:
                expected[(member, "indicator", kpi, "peer_outlier")] = (value, low, high, p["median"])

    got = {}
    for f in table(secretariat / "review_flags.arrow"):
        key = (f["member"], f["subject_kind"], f["subject"], f["rule"])
        assert key not in got, f"{key} flagged twice"
        assert f["rule"] in RULES, f
        assert f["year"] == year, f
        assert f["message"], f
        assert f["explanation"] == explanations.get((f["member"], f["subject"])), f
        got[key] = (f["observed"], f["low"], f["high"], f["reference"])

    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, f"missing {missing}, not expected {extra}"
    for key, figures in expected.items():
        for want, have in zip(figures, got[key]):
            assert (want is None) == (have is None), f"{key}: {figures} against {got[key]}"
            if want is not None:
                assert abs(want - have) <= 1e-9 * max(1.0, abs(want)), f"{key}: {figures} against {got[key]}"
    # The demo's planted anomalies are among them, and a member whose data is clean has none.
    for planted in [("XA", "indicator", "od.cost_of_collection", "outside_range"),
                    ("XB", "indicator", "od.training_hours_per_staff", "peer_outlier"),
                    ("XJ", "dataset", "info_requests", "count_change")]:
        assert planted in got, f"{planted} not flagged"
    flagged = {k[0] for k in got}
    clean = [m for m in members if m not in flagged and any(v["member"] == m for v in values)]
    assert clean, "every member with values was flagged"
    explained = sum(1 for k in got if (k[0], k[2]) in explanations)
    print(f"review: {len(got)} flags recomputed from the files and tables, all equal "
          f"({explained} explained); members with none: {', '.join(clean)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
