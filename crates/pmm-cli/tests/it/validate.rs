//! `pmm validate` on the shipped catalog and pipelines. Each kind of defect is a golden case
//! under `tests/cases/validate/` (run by `cases.rs`).

use crate::{pmm, repo_root, text};

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
