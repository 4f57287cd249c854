//! `pmm validate` catches each kind of catalog and pipeline defect, with its message and place.

use std::path::Path;

use crate::{catalog_copy, edit, pmm, replace_sql, repo_root, text};

const ELECTRONIC: &str = "indicators/tfec/electronic_declarations_rate.yaml";

/// Runs `pmm validate` on the catalog copy and asserts exit 2 and a problem line that starts
/// with `expected_place` and contains `expected_message`.
fn assert_problem(dir: &Path, expected_place: &str, expected_message: &str) {
    let output = pmm(dir, &["validate", "--catalog", "indicators"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code; stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(expected_place) && l.contains(expected_message)),
        "expected a line `{expected_place} ... {expected_message}`, got:\n{stdout}"
    );
}

#[test]
fn shipped_catalog_and_pipelines_are_valid() {
    let output = pmm(&repo_root(), &["validate"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("29 indicators"), "{stderr}");
    assert!(stderr.contains("2 pipelines"), "{stderr}");
}

#[test]
fn unknown_key_is_reported_at_its_line() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "formula:",
        "floor_: 3\nformula:",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:12:1:"),
        "unknown field `floor_`, expected one of",
    );
}

#[test]
fn unknown_key_in_a_nested_mapping_is_reported_at_its_column() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "scoring: {floor: 50, target: 100}",
        "scoring: {floor: 50, targt: 100}",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:11:"),
        "unknown field `targt`",
    );
}

#[test]
fn wrong_type_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "official: true",
        "official: maybe",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:4:11:"),
        "official: invalid type: string \"maybe\", expected a boolean",
    );
}

#[test]
fn unknown_enum_value_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "unit: percent",
        "unit: percentage",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:7:7:"),
        "unknown variant `percentage`",
    );
}

#[test]
fn duplicate_indicator_id_is_reported() {
    let dir = catalog_copy();
    std::fs::copy(
        dir.path().join(ELECTRONIC),
        dir.path().join("indicators/tfec/zz_copy.yaml"),
    )
    .unwrap();
    assert_problem(
        dir.path(),
        "indicators/tfec/zz_copy.yaml:1:1:",
        "duplicate indicator id `tfec.electronic_declarations_rate`: already defined in",
    );
}

#[test]
fn duplicate_outcome_id_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join("indicators/outcomes.yaml"),
        "  - {id: od.integrity, dimension: od, name: Integrity, name_fr: \"Intégrité\", weight: 1}",
        "  - {id: od.integrity, dimension: od, name: Integrity, name_fr: \"Intégrité\", weight: 1}\n  - {id: od.integrity, dimension: od, name: Again, weight: 1}",
    );
    assert_problem(
        dir.path(),
        "indicators/outcomes.yaml:16:3:",
        "duplicate outcome id `od.integrity` (first defined on line 15)",
    );
}

#[test]
fn dangling_outcome_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "outcome: tfec.paperless_trade",
        "outcome: tfec.paperless",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:6:1:"),
        "outcome `tfec.paperless` is not defined in outcomes.yaml",
    );
}

#[test]
fn outcome_of_another_dimension_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "outcome: tfec.paperless_trade",
        "outcome: rc.revenue_mobilization",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:6:1:"),
        "outcome `rc.revenue_mobilization` belongs to dimension `rc`, not `tfec`",
    );
}

#[test]
fn dangling_dimension_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join("indicators/outcomes.yaml"),
        "{id: od.integrity, dimension: od,",
        "{id: od.integrity, dimension: ops,",
    );
    assert_problem(
        dir.path(),
        "indicators/outcomes.yaml:15:3:",
        "outcome `od.integrity` names dimension `ops`, which dimensions.yaml does not define",
    );
}

#[test]
fn dangling_dataset_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "{name: declarations, years: [T]}",
        "{name: declaration, years: [T]}",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:10:12:"),
        "dataset `declaration` is not defined under datasets/",
    );
}

#[test]
fn scoring_with_floor_equal_to_target_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "scoring: {floor: 50, target: 100}",
        "scoring: {floor: 50, target: 50}",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:11:22:"),
        "scoring floor and target are both 50",
    );
}

#[test]
fn informational_indicator_with_scoring_is_reported() {
    let dir = catalog_copy();
    let path = "indicators/tfec/ecommerce_shipment_share.yaml";
    edit(
        &dir.path().join(path),
        "formula:",
        "scoring: {floor: 0, target: 10}\nformula:",
    );
    assert_problem(
        dir.path(),
        &format!("{path}:11:1:"),
        "an informational indicator is not scored",
    );
}

#[test]
fn sql_that_does_not_parse_is_reported_inside_the_sql() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "  FROM declarations\n",
        "  FROM declarations WHERE\n",
    );
    // The SQL starts on line 17; `WHERE GROUP` reads GROUP as a column, so the parser stops
    // at `BY`: the SQL's 6th line (file line 22), 7th character plus the 2-space indent.
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:22:9:"),
        "sql: Expected: end of statement, found: BY",
    );
}

#[test]
fn sql_that_does_not_plan_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "FILTER (WHERE electronic) AS DOUBLE",
        "FILTER (WHERE is_electronic) AS DOUBLE",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:17:3:"),
        "sql: does not plan:",
    );
    let output = pmm(dir.path(), &["validate", "--catalog", "indicators"]);
    assert!(
        text(&output).0.contains("is_electronic"),
        "names the unknown column"
    );
}

#[test]
fn sql_returning_the_wrong_type_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "CAST(count(*) AS DOUBLE) AS denominator",
        "count(*) AS denominator",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:17:3:"),
        "column `denominator` is Int64, it must be Float64",
    );
}

#[test]
fn sql_missing_a_required_column_is_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "/ count(*) AS value",
        "/ count(*) AS val",
    );
    assert_problem(
        dir.path(),
        &format!("{ELECTRONIC}:17:3:"),
        "returns no `value` column",
    );
}

#[test]
fn sql_that_writes_or_reads_files_is_refused() {
    for (sql, message) in [
        (
            "DROP TABLE declarations",
            "only a SELECT query is allowed, not `DROP TABLE ...`",
        ),
        (
            "CREATE TABLE t AS SELECT * FROM declarations",
            "only a SELECT query is allowed, not `CREATE TABLE ...`",
        ),
        (
            "INSERT INTO declarations SELECT * FROM declarations",
            "only a SELECT query is allowed, not `INSERT INTO ...`",
        ),
        (
            "DELETE FROM declarations",
            "only a SELECT query is allowed, not `DELETE FROM ...`",
        ),
        ("COPY declarations TO '/tmp/out.csv'", "COPY is not allowed"),
        (
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
            "CREATE EXTERNAL TABLE is not allowed",
        ),
        (
            "SELECT * FROM read_csv('/etc/passwd')",
            "table function `read_csv` is not allowed",
        ),
        (
            "SELECT * FROM '/etc/passwd'",
            "outside the indicator's declared datasets",
        ),
        (
            "SELECT member, year, 1.0 AS value FROM seizures",
            "reads `seizures` outside the indicator's declared datasets",
        ),
        (
            "SELECT * FROM information_schema.tables",
            "is a qualified name",
        ),
    ] {
        let dir = catalog_copy();
        replace_sql(&dir.path().join(ELECTRONIC), sql);
        assert_problem(dir.path(), &format!("{ELECTRONIC}:17:"), message);
    }
}

#[test]
fn dataset_contract_defects_are_reported() {
    let dir = catalog_copy();
    let path = "indicators/datasets/staff.yaml";
    edit(
        &dir.path().join(path),
        "not_after: headcount",
        "not_after: head_count",
    );
    assert_problem(
        dir.path(),
        &format!("{path}:7:3:"),
        "column `female_headcount`: `not_after` names column `head_count`, which this dataset does not have",
    );
}

#[test]
fn indicator_without_an_edge_case_is_reported() {
    let dir = catalog_copy();
    let path = dir.path().join("indicators/rc/collection_rate.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.find("  - name: nothing assessed").unwrap();
    std::fs::write(&path, &text[..cut]).unwrap();
    assert_problem(
        dir.path(),
        "indicators/rc/collection_rate.yaml:21:1:",
        "the tests need an edge case",
    );
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let dir = catalog_copy();
    edit(
        &dir.path().join(ELECTRONIC),
        "official: true",
        "official: maybe",
    );
    edit(
        &dir.path().join("indicators/tfec/pre_arrival_rate.yaml"),
        "outcome: tfec.faster_release",
        "outcome: tfec.slower",
    );
    edit(
        &dir.path().join("indicators/rc/collection_rate.yaml"),
        "FROM revenue",
        "FROM revenu",
    );
    let output = pmm(dir.path(), &["validate", "--catalog", "indicators"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stderr.contains("3 problems found"), "{stderr}");
}

#[test]
fn pipeline_defects_are_reported() {
    let dir = catalog_copy();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    let pipeline = dir.path().join("pipelines/bad.yaml");
    std::fs::write(
        &pipeline,
        "name: Cycle 2024\nyear: 2024\ncatalog: ../indicators\nmembers: ../indicators/members.yaml\nsource: ftp://host/x\nresults: ../out\naudiences: [public, everyone]\n",
    )
    .unwrap();
    let output = pmm(dir.path(), &["validate", "pipelines/bad.yaml"]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout.contains("pipelines/bad.yaml:7:21: audiences[1]: unknown variant `everyone`"),
        "{stdout}"
    );

    std::fs::write(
        &pipeline,
        "name: Cycle 2024\nyear: 2024\ncatalog: ../indicators\nmembers: ../indicators/members.yaml\nsource: ftp://host/x\nresults: ../out\nvalidaton: {max_invalid_row_fraction: 0.1}\n",
    )
    .unwrap();
    let (stdout, _) = text(&pmm(dir.path(), &["validate", "pipelines/bad.yaml"]));
    assert!(
        stdout.contains("pipelines/bad.yaml:7:1: unknown field `validaton`"),
        "{stdout}"
    );

    std::fs::write(
        &pipeline,
        "name: Cycle 2024\nyear: 2024\ncatalog: ../indicators\nmembers: ../indicators/members.yaml\nsource: ftp://host/x\nresults: ../out\nscoring: {min_coverage: 1.5}\n",
    )
    .unwrap();
    let (stdout, _) = text(&pmm(dir.path(), &["validate", "pipelines/bad.yaml"]));
    for expected in [
        "pipelines/bad.yaml:1:1: pipeline name `Cycle 2024` must be lower-case letters, digits and `-`",
        "pipelines/bad.yaml:5:1: `ftp://` is not a supported store",
        "pipelines/bad.yaml:7:11: min_coverage must be between 0 and 1, not 1.5",
    ] {
        assert!(
            stdout.contains(expected),
            "expected {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn members_registry_defects_are_reported() {
    let dir = catalog_copy();
    edit(
        &dir.path().join("indicators/members.yaml"),
        "{code: XB,",
        "{code: XA,",
    );
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(
        dir.path().join("pipelines/p.yaml"),
        "name: p\nyear: 2024\ncatalog: ../indicators\nmembers: ../indicators/members.yaml\nsource: ../data\nresults: ../out\n",
    )
    .unwrap();
    let output = pmm(dir.path(), &["validate"]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout
            .contains("indicators/members.yaml:5:3: member `XA` is listed twice (first on line 4)"),
        "{stdout}"
    );
}
