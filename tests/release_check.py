"""Checks a release: the installed program's dry run gives the source build's results, and the
SBOM lists every crate built into the binary.

Usage:
  python3 tests/release_check.py same INSTALLED_OUT SOURCE_OUT
  python3 tests/release_check.py sbom SBOM.cdx.json
Run by .ci/run after release/build.sh.
"""
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.ipc as ipc


def rows(path: Path) -> list:
    with open(path, "rb") as f:
        table = ipc.open_file(f).read_all()
    return table.drop_columns(["run_id"]).to_pylist()


def same(installed: Path, source: Path) -> int:
    names = sorted(p.name for p in (source / "secretariat").glob("*.arrow"))
    assert names == sorted(p.name for p in (installed / "secretariat").glob("*.arrow")), names
    assert len(names) >= 6, names
    for name in names:
        a, b = rows(installed / "secretariat" / name), rows(source / "secretariat" / name)
        assert a == b, f"{name}: the installed program's rows differ from the source build's"
    s_installed = json.loads((installed / "summary.json").read_text())
    s_source = json.loads((source / "summary.json").read_text())
    for key in ("overall", "dimensions", "datasets", "catalog_hash", "review", "issues_error"):
        assert s_installed[key] == s_source[key], key
    print(f"release: the installed pmm's dry run equals the source build's ({len(names)} tables, summary)")
    return 0


def sbom(path: Path) -> int:
    bom = json.loads(path.read_text())
    listed = {(c["name"], c["version"]) for c in bom.get("components", [])}
    root = bom["metadata"]["component"]
    listed.add((root["name"], root["version"]))
    for c in bom.get("components", []):
        for sub in c.get("components", []):
            listed.add((sub["name"], sub["version"]))
    tree = subprocess.run(
        ["cargo", "tree", "--locked", "-p", "pmm-cli", "-e", "normal", "--prefix", "none",
         "--target", "x86_64-unknown-linux-gnu", "--format", "{p}"],
        check=True, capture_output=True, text=True).stdout
    wanted = set()
    for line in tree.splitlines():
        parts = line.replace(" (*)", "").split()
        if len(parts) >= 2:
            wanted.add((parts[0], parts[1].lstrip("v")))
    missing = sorted(wanted - listed)
    assert not missing, f"the SBOM leaves out {len(missing)} crates of the binary: {missing[:10]}"
    print(f"release: the SBOM lists all {len(wanted)} crates of the binary ({len(listed)} components)")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "same":
        sys.exit(same(Path(sys.argv[2]), Path(sys.argv[3])))
    sys.exit(sbom(Path(sys.argv[2])))
