//! The crates' dependencies point one way (catalog -> ingest -> engine -> publish -> run ->
//! cli, the report renderer beside publish), and YAML is parsed in one module only. Reads the
//! workspace's resolved dependency graph (`cargo metadata`), so a new edge between crates, or
//! a path by which the catalog would reach the query engine or the network, fails here, not
//! in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, PackageId};

use crate::repo_root;

fn metadata() -> Metadata {
    MetadataCommand::new()
        .manifest_path(repo_root().join("Cargo.toml"))
        .exec()
        .expect("cargo metadata")
}

/// Each workspace crate's normal (not dev) dependencies, by package name: direct, and every
/// crate reached through them.
fn graph(metadata: &Metadata) -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let resolve = metadata.resolve.as_ref().expect("a resolved graph");
    let name = |id: &PackageId| metadata[id].name.to_string();
    let direct: BTreeMap<&PackageId, Vec<&PackageId>> = resolve
        .nodes
        .iter()
        .map(|node| {
            let deps = node
                .deps
                .iter()
                .filter(|d| d.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal))
                .map(|d| &d.pkg)
                .collect();
            (&node.id, deps)
        })
        .collect();
    let mut out = BTreeMap::new();
    for member in &metadata.workspace_members {
        let mut reached: BTreeSet<&PackageId> = BTreeSet::new();
        let mut stack: Vec<&PackageId> = direct[member].clone();
        while let Some(id) = stack.pop() {
            if reached.insert(id) {
                stack.extend(direct[id].iter().copied());
            }
        }
        out.insert(
            name(member),
            (
                direct[member].iter().map(|id| name(id)).collect(),
                reached.iter().map(|id| name(id)).collect(),
            ),
        );
    }
    out
}

#[test]
fn crate_dependencies_point_one_way() {
    let graph = graph(&metadata());
    // Every edge between workspace crates, exactly: a new one is a design change.
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("pmm-catalog", &[][..]),
        ("pmm-store", &["pmm-catalog"][..]),
        ("pmm-results", &["pmm-catalog"][..]),
        ("pmm-ingest", &["pmm-catalog", "pmm-store"][..]),
        (
            "pmm-engine",
            &["pmm-catalog", "pmm-ingest", "pmm-results", "pmm-store"][..],
        ),
        (
            "pmm-publish",
            &["pmm-catalog", "pmm-ingest", "pmm-results", "pmm-store"][..],
        ),
        ("pmm-report", &["pmm-catalog", "pmm-results"][..]),
        (
            "pmm-run",
            &[
                "pmm-catalog",
                "pmm-engine",
                "pmm-ingest",
                "pmm-publish",
                "pmm-report",
                "pmm-results",
                "pmm-store",
            ][..],
        ),
        ("pmm-synth", &[][..]),
        ("pmm-test-support", &[][..]),
        (
            "pmm-cli",
            &[
                "pmm-catalog",
                "pmm-engine",
                "pmm-ingest",
                "pmm-publish",
                "pmm-report",
                "pmm-results",
                "pmm-run",
                "pmm-store",
                "pmm-synth",
            ][..],
        ),
    ]);
    let workspace: BTreeSet<&str> = allowed.keys().copied().collect();
    assert_eq!(
        graph.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        workspace,
        "every workspace crate has its line here"
    );
    for (krate, (direct, _)) in &graph {
        let edges: BTreeSet<&str> = direct
            .iter()
            .map(String::as_str)
            .filter(|d| workspace.contains(d))
            .collect();
        let expected: BTreeSet<&str> = allowed[krate.as_str()].iter().copied().collect();
        assert_eq!(
            edges, expected,
            "{krate}'s dependencies on workspace crates"
        );
    }
    // Through any path: the catalog never reaches the query engine, an async runtime, an
    // object store or an HTTP client; the renderer never reaches publication or the run.
    let (_, catalog) = &graph["pmm-catalog"];
    for forbidden in [
        "datafusion",
        "arrow",
        "parquet",
        "object_store",
        "tokio",
        "reqwest",
        "hyper",
    ] {
        assert!(
            !catalog.contains(forbidden),
            "pmm-catalog reaches {forbidden}"
        );
    }
    // The result contract, the storage layout and the renderer never reach the query engine:
    // a reader of result files, or of where they are, builds without DataFusion.
    for krate in ["pmm-results", "pmm-store", "pmm-report"] {
        let (_, reached) = &graph[krate];
        for forbidden in [
            "datafusion",
            "parquet",
            "ballista",
            "pmm-engine",
            "pmm-ingest",
        ] {
            assert!(!reached.contains(forbidden), "{krate} reaches {forbidden}");
        }
    }
    let (_, report) = &graph["pmm-report"];
    for forbidden in ["pmm-publish", "pmm-run", "pmm-cli", "object_store", "tokio"] {
        assert!(
            !report.contains(forbidden),
            "pmm-report reaches {forbidden}"
        );
    }
    // The test helpers are no program's dependency.
    for (krate, (_, reached)) in &graph {
        assert!(
            !reached.contains("pmm-test-support"),
            "{krate} depends on pmm-test-support outside its tests"
        );
    }
    let (_, engine) = &graph["pmm-engine"];
    assert!(engine.contains("datafusion"), "the engine is DataFusion");
    assert!(
        !engine.contains("pmm-publish") && !engine.contains("pmm-run"),
        "the engine does not reach publication or the run"
    );
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

/// A source file (tests aside) past about 500 lines says at its top why it is kept whole.
#[test]
fn long_source_files_say_why_they_are_long() {
    let mut files = Vec::new();
    rust_files(&repo_root().join("crates"), &mut files);
    let mut unexplained = Vec::new();
    for path in files {
        let in_tests = path.components().any(|c| c.as_os_str() == "tests");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.lines().count();
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        if !in_tests && lines > 520 && !header.contains("Why ") {
            unexplained.push(format!("{} ({lines} lines)", path.display()));
        }
    }
    assert!(
        unexplained.is_empty(),
        "files over 500 lines with no `Why ...` at their top: {unexplained:?}"
    );
}
