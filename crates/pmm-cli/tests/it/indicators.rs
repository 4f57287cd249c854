//! `pmm test` on the shipped catalog and `pmm indicators list|show`. The failures `pmm test`
//! reports are golden cases under `tests/cases/test/` (run by `cases.rs`).

use crate::{pmm, repo_root, text};

#[test]
fn pmm_test_passes_on_the_shipped_catalog() {
    let output = pmm(&repo_root(), &["test"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains(" 0 failed (29 indicators)"), "{stdout}");
}

#[test]
fn list_groups_by_dimension_and_outcome_and_marks_official_names() {
    let output = pmm(&repo_root(), &["indicators", "list"]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<&str> = stdout.lines().collect();
    let dimension = lines
        .iter()
        .position(|l| l.starts_with("rc  Revenue Collection"))
        .unwrap();
    let outcome = lines
        .iter()
        .position(|l| l.starts_with("  rc.post_clearance_control"))
        .unwrap();
    let kpi = lines
        .iter()
        .position(|l| l.trim_start().starts_with("rc.pca_effectiveness"))
        .unwrap();
    assert!(dimension < outcome && outcome < kpi, "{stdout}");
    assert!(lines[kpi].contains("official"), "{}", lines[kpi]);
    let other = lines
        .iter()
        .find(|l| l.trim_start().starts_with("rc.arrears_ratio"))
        .unwrap();
    assert!(other.contains("illustrative"), "{other}");
    assert!(
        stdout.contains("29 indicators: 9 with an official PMM name, 20 illustrative"),
        "{stdout}"
    );
}

#[test]
fn list_as_json_nests_every_indicator() {
    let output = pmm(&repo_root(), &["indicators", "list", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let dimensions = json["dimensions"].as_array().unwrap();
    assert_eq!(dimensions.len(), 4);
    let count: usize = dimensions
        .iter()
        .flat_map(|d| d["outcomes"].as_array().unwrap())
        .map(|o| o["indicators"].as_array().unwrap().len())
        .sum();
    assert_eq!(count, 29);
    let tfec = &dimensions[0];
    assert_eq!(tfec["id"], "tfec");
    assert_eq!(tfec["outcomes"][0]["indicators"][0]["official"], true);
}

#[test]
fn show_prints_one_indicator_and_suggests_on_a_typo() {
    let output = pmm(
        &repo_root(),
        &["indicators", "show", "rc.arrears_ratio", "--format", "json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["scoring"]["floor"], 20.0);
    assert_eq!(json["scoring"]["target"], 0.0);
    assert_eq!(json["direction"], "lower_is_better");
    assert!(json["sql"].as_str().unwrap().contains("FROM revenue"));

    let output = pmm(&repo_root(), &["indicators", "show", "rc.arrears"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("did you mean: rc.arrears_ratio"),
        "{stderr}"
    );
}

#[test]
fn the_catalog_reference_names_every_indicator_and_dataset() {
    let doc = std::fs::read_to_string(repo_root().join("docs/catalog.md")).unwrap();
    let output = pmm(&repo_root(), &["indicators", "list", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for outcome in json["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["outcomes"].as_array().unwrap())
    {
        for indicator in outcome["indicators"].as_array().unwrap() {
            let id = indicator["id"].as_str().unwrap();
            assert!(
                doc.contains(&format!("`{id}`")),
                "docs/catalog.md does not describe {id}"
            );
        }
    }
    for entry in std::fs::read_dir(repo_root().join("indicators/datasets"))
        .unwrap()
        .flatten()
    {
        let name = entry
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "docs/catalog.md does not describe dataset {name}"
        );
    }
}
