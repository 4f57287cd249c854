"""The yardstick of bench/run.sh: DuckDB answering the catalog's KPI queries over the same files.

Reads the catalog's dataset contracts and indicator SQL (indicators/), makes one DuckDB table
per dataset over every member's files (member and year from the `member=CODE/year=YYYY/`
folders), then runs every indicator's SQL once over all members, as `pmm run` does. pmm's two
SQL functions become DuckDB macros: `hours_between` from epoch microseconds, and
`percentile_exact` as `quantile_cont`, DuckDB's exact type-7 percentile.

    python3 bench/duckdb_kpis.py CATALOG SUBMISSIONS parquet|csv views|load

`views` reads the files in every query; `load` reads them once into DuckDB's own tables
first. Prints the number of result rows on stdout; timing and memory are bench/run.sh's job.
DuckDB does no validation: this is the cost of the queries alone.
"""

import glob
import os
import sys

import duckdb
import yaml

TYPES = {
    "string": "VARCHAR",
    "enum": "VARCHAR",
    "bool": "BOOLEAN",
    "int": "BIGINT",
    "decimal": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}


def main() -> None:
    catalog, source, file_format, mode = sys.argv[1:5]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE MACRO hours_between(a, b) AS (epoch_us(b) - epoch_us(a)) / 3600000000.0"
    )
    con.execute("CREATE MACRO percentile_exact(x, p) AS quantile_cont(x, p)")
    submitted = []
    for path in sorted(glob.glob(os.path.join(catalog, "datasets", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            contract = yaml.safe_load(f)
        name = contract["name"]
        pattern = os.path.join(source, "member=*", "year=*", f"{name}.{file_format}")
        files = sorted(glob.glob(pattern))
        for file in files:
            parts = file.split(os.sep)
            submitted.append((parts[-3][len("member="):], int(parts[-2][len("year="):]), name))
        columns = ", ".join(c["name"] for c in contract["columns"])
        if file_format == "parquet":
            scan = f"read_parquet({files!r}, hive_partitioning = true)"
        else:
            types = ", ".join(
                f"'{c['name']}': '{TYPES[c['type']]}'" for c in contract["columns"]
            )
            scan = (
                f"read_csv({files!r}, hive_partitioning = true, header = true, "
                f"types = {{{types}}})"
            )
        select = f"SELECT member, CAST(year AS BIGINT) AS year, {columns} FROM {scan}"
        kind = "VIEW" if mode == "views" else "TABLE"
        con.execute(f"CREATE {kind} {name} AS {select}")
    con.execute("CREATE TABLE submitted (member VARCHAR, year BIGINT, dataset VARCHAR)")
    con.executemany("INSERT INTO submitted VALUES (?, ?, ?)", submitted)
    rows = 0
    indicators = sorted(glob.glob(os.path.join(catalog, "*", "*.yaml")))
    for path in indicators:
        with open(path, encoding="utf-8") as f:
            definition = yaml.safe_load(f)
        if not isinstance(definition, dict) or "sql" not in definition:
            continue
        rows += len(con.execute(definition["sql"]).fetchall())
    print(rows)


if __name__ == "__main__":
    main()
