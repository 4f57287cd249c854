//! A run that cannot start says why in words, keeps the error it comes from, and is of the
//! configuration kind (exit 2 in the CLI).

use std::error::Error as _;
use std::path::Path;

use pmm_catalog::Pipeline;
use pmm_run::{NoProgress, RunError, RunOptions, run_pipeline};

fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn configuration_errors_keep_their_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("members.yaml"),
        "members:\n  - {code: XA, name: Xanadu, region: europe, income_group: high}\n",
    )
    .unwrap();
    let write = |catalog: &str, source: &str| {
        let path = dir.path().join("pipeline.yaml");
        std::fs::write(
            &path,
            format!("name: e\nyear: 2024\ncatalog: {catalog}\nmembers: members.yaml\nsource: {source}\nresults: results\n"),
        )
        .unwrap();
        Pipeline::load(&path).unwrap()
    };

    // A source folder that does not exist.
    let pipeline = write(
        &repo_root().join("indicators").display().to_string(),
        "nowhere",
    );
    let error = run_pipeline(&pipeline, &RunOptions::default(), &NoProgress)
        .await
        .unwrap_err();
    assert!(error.is_config(), "{error}");
    assert!(
        matches!(error, RunError::Store { what: "source", .. }),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("source "), "{error}");
    let source = error.source().expect("the store's error is kept");
    assert!(source.is::<pmm_store::StoreError>(), "{source:?}");

    // A catalog with a problem.
    let catalog = dir.path().join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(catalog.join("dimensions.yaml"), "dimensions: [\n").unwrap();
    std::fs::create_dir_all(dir.path().join("source")).unwrap();
    let pipeline = write("catalog", "source");
    let error = run_pipeline(&pipeline, &RunOptions::default(), &NoProgress)
        .await
        .unwrap_err();
    assert!(error.is_config(), "{error}");
    assert!(
        error.to_string().starts_with("the catalog has problems:\n"),
        "{error}"
    );
    assert!(
        error
            .source()
            .is_some_and(|s| s.is::<pmm_catalog::Problems>()),
        "{error:?}"
    );
}
