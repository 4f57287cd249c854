//! The crates' dependencies point one way (catalog -> ingest -> engine -> publish -> run ->
//! cli), and YAML is
//! parsed in one module only. Reads the manifests and sources, so a new dependency or a stray
//! `serde_yaml` call fails here, not in review.

use std::path::Path;

use crate::repo_root;

/// The names in a manifest's `[dependencies]` table.
fn dependencies(krate: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(repo_root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_string());
            }
        }
    }
    names
}

#[test]
fn crate_dependencies_point_one_way() {
    for (krate, forbidden) in [
        (
            "pmm-catalog",
            &[
                "datafusion",
                "object_store",
                "tokio",
                "pmm-ingest",
                "pmm-engine",
                "pmm-cli",
            ][..],
        ),
        (
            "pmm-ingest",
            &[
                "serde_yaml",
                "pmm-engine",
                "pmm-publish",
                "pmm-run",
                "pmm-cli",
            ][..],
        ),
        (
            "pmm-engine",
            &[
                "serde_yaml",
                "object_store",
                "pmm-publish",
                "pmm-run",
                "pmm-cli",
            ][..],
        ),
        ("pmm-publish", &["serde_yaml", "pmm-run", "pmm-cli"][..]),
        ("pmm-run", &["serde_yaml", "pmm-cli"][..]),
        (
            "pmm-report",
            &[
                "serde_yaml",
                "object_store",
                "tokio",
                "pmm-ingest",
                "pmm-publish",
                "pmm-run",
                "pmm-cli",
            ][..],
        ),
    ] {
        let deps = dependencies(krate);
        assert!(!deps.is_empty(), "{krate} has dependencies to check");
        for f in forbidden {
            assert!(
                !deps.iter().any(|d| d == f),
                "{krate} must not depend on {f}: {deps:?}"
            );
        }
    }
    assert!(dependencies("pmm-engine").contains(&"datafusion".to_string()));
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn yaml_is_parsed_in_one_module() {
    let mut files = Vec::new();
    rust_files(&repo_root().join("crates"), &mut files);
    let users: Vec<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains(concat!("serde", "_yaml::"))
        })
        .map(|f| f.strip_prefix(repo_root()).unwrap().display().to_string())
        .collect();
    assert_eq!(users, vec!["crates/pmm-catalog/src/yaml.rs".to_string()]);
}
