//! `pmm validate`: the catalog and pipelines, checked without data.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pmm_catalog::{Catalog, Location, MembersRegistry, Pipeline, Problem, Problems, StoreLocation};
use pmm_engine::check_catalog_sql;

use crate::EXIT_CONFIG;

/// Checks the catalogs and pipelines and prints every problem; returns the exit code.
pub(crate) async fn run(pipelines: Vec<PathBuf>, catalog: Option<PathBuf>) -> anyhow::Result<u8> {
    let mut problems = Problems::new();
    let pipelines = if pipelines.is_empty() {
        default_pipelines(&mut problems)
    } else {
        pipelines
    };
    let mut catalogs: BTreeSet<PathBuf> = BTreeSet::new();
    if let Some(c) = catalog {
        catalogs.insert(c);
    } else if pipelines.is_empty() || Path::new("indicators").is_dir() {
        catalogs.insert(PathBuf::from("indicators"));
    }
    let mut registries: BTreeSet<PathBuf> = BTreeSet::new();
    for path in &pipelines {
        match Pipeline::load(path) {
            Ok(pipeline) => {
                catalogs.insert(pipeline.catalog.clone());
                // A registry in an object store is read by the run, not here (no network).
                if let StoreLocation::Local(path) = &pipeline.members {
                    registries.insert(path.clone());
                }
            }
            Err(p) => problems.extend(p),
        }
    }
    let mut indicator_count = 0;
    let mut seen = BTreeSet::new();
    for path in &catalogs {
        // The same folder may be named two ways (`indicators`, `pipelines/../indicators`).
        if !seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone())) {
            continue;
        }
        let (catalog, catalog_problems) = Catalog::load_lenient(path);
        problems.extend(catalog_problems);
        indicator_count += catalog.indicators.len();
        problems.extend(check_catalog_sql(&catalog).await?);
    }
    for path in &registries {
        if let Err(p) = MembersRegistry::load(path) {
            problems.extend(p);
        }
    }
    if problems.is_empty() {
        eprintln!(
            "ok: {} catalog{} ({indicator_count} indicators) and {} pipeline{} are valid",
            catalogs.len(),
            plural(catalogs.len()),
            pipelines.len(),
            plural(pipelines.len())
        );
        return Ok(0);
    }
    let problems = problems.into_sorted();
    for problem in &problems {
        outln!("{problem}");
    }
    eprintln!("{} problem{} found", problems.len(), plural(problems.len()));
    Ok(EXIT_CONFIG)
}

/// Every `pipelines/*.yaml` of the current folder.
fn default_pipelines(problems: &mut Problems) -> Vec<PathBuf> {
    let folder = Path::new("pipelines");
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    if found.is_empty() {
        problems.push(Problem::new(
            folder,
            Location::START,
            "no pipeline files (*.yaml) in this folder",
        ));
    }
    found.sort();
    found
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
