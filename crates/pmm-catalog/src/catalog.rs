//! Loading and checking the catalog folder: `dimensions.yaml`, `outcomes.yaml`,
//! `datasets/*.yaml` (the dataset contracts) and one YAML file per indicator in a folder per
//! dimension (`tfec/electronic_declarations_rate.yaml`). Other top-level files, such as an
//! example `members.yaml`, are not part of the catalog and are left alone.

//!
//! This module holds the catalog as a whole (loading, the hash, lookups, checks across
//! files); each kind of file has its own module below it.

mod datasets;
mod dimensions;
mod indicators;
mod review;
mod revisions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::{DatasetContract, Dimension, Indicator, Outcome};
use crate::problem::{Location, Problems};
use crate::read_text;
use crate::yaml::SourceText;
use datasets::check_dataset;
use dimensions::{check_dimensions, check_outcome_dimensions, check_outcomes};
pub use indicators::DEFAULT_FIXTURE_YEAR;
use indicators::{Known, check_indicators, parse_indicator};

/// The whole catalog: every definition the engine and ingestion work from.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// The folder it was read from.
    pub root: PathBuf,
    /// Its version, as `dimensions.yaml` declares it (`PMM v1.0`; `unversioned` when it does
    /// not): written beside every value in the history.
    pub version: String,
    /// The four dimensions, in file order.
    pub dimensions: Vec<Dimension>,
    /// Every expected outcome, in file order.
    pub outcomes: Vec<Outcome>,
    /// The dataset contracts, sorted by name.
    pub datasets: Vec<DatasetContract>,
    /// The indicators, sorted by id.
    pub indicators: Vec<Indicator>,
    /// SHA-256 over every file of the catalog (paths and contents), in path order.
    pub hash: String,
}

/// The name of the table every indicator may read besides its datasets: one row
/// (`member`, `year`, `dataset`) per dataset accepted in a submission, so SQL can tell a
/// submitted file with no rows from one that was never sent.
pub const SUBMITTED_TABLE: &str = "submitted";

impl Catalog {
    /// Loads and checks a catalog folder; any problem fails the load, with every problem found.
    pub fn load(root: &Path) -> Result<Catalog, Problems> {
        let (catalog, problems) = Catalog::load_lenient(root);
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(problems)
        }
    }

    /// Loads what can be loaded and returns it with every problem found, so a checker can go
    /// on to check the parts that are sound (the SQL of well-formed indicators, say).
    pub fn load_lenient(root: &Path) -> (Catalog, Problems) {
        let mut problems = Problems::new();
        let listed = catalog_files(root);
        let folder_readable = listed.is_ok();
        let files = listed.unwrap_or_else(|message| {
            problems.at(root, Location::START, message);
            Vec::new()
        });
        let mut texts = Vec::new();
        for path in files {
            match read_text(&path) {
                Ok(text) => texts.push((path, text)),
                Err(problem) => problems.push(problem),
            }
        }
        Catalog::check_texts(root, texts, folder_readable, problems)
    }

    /// A catalog from files already in memory (the one built into the `pmm` binary): `files`
    /// are (path under `root`, text); only the catalog's own files count (as for a folder,
    /// `dimensions.yaml`, `outcomes.yaml` and the YAML files one folder down).
    pub fn from_files(root: &Path, files: Vec<(PathBuf, String)>) -> Result<Catalog, Problems> {
        let texts = files
            .into_iter()
            .filter(|(path, _)| {
                let relative = path.strip_prefix(root).unwrap_or(path);
                match relative.components().count() {
                    1 => matches!(relative.to_str(), Some("dimensions.yaml" | "outcomes.yaml")),
                    2 => is_yaml(relative),
                    _ => false,
                }
            })
            .collect();
        let (catalog, problems) = Catalog::check_texts(root, texts, true, Problems::new());
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(problems)
        }
    }

    /// Checks the texts of a catalog's files, in path order.
    fn check_texts(
        root: &Path,
        mut texts: Vec<(PathBuf, String)>,
        folder_readable: bool,
        mut problems: Problems,
    ) -> (Catalog, Problems) {
        texts.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        for (path, text) in &texts {
            let relative = path.strip_prefix(root).unwrap_or(path);
            hasher.update(relative.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }

        let mut dimensions = Vec::new();
        let mut version = dimensions::UNVERSIONED.to_string();
        let mut outcomes = Vec::new();
        let mut datasets = Vec::new();
        let mut dataset_paths = Vec::new();
        // Datasets whose file did not parse: indicators that read them are not told again
        // that the dataset is undefined.
        let mut broken_datasets = Vec::new();
        let mut indicators = Vec::new();
        let dimensions_path = root.join("dimensions.yaml");
        let outcomes_path = root.join("outcomes.yaml");
        // An unreadable folder is reported once, not once per file it lacks.
        for required in [&dimensions_path, &outcomes_path]
            .into_iter()
            .filter(|_| folder_readable)
        {
            if !texts.iter().any(|(p, _)| p == required) {
                problems.at(
                    required,
                    Location::START,
                    "missing: a catalog folder needs dimensions.yaml and outcomes.yaml",
                );
            }
        }
        for (path, text) in &texts {
            if *path == dimensions_path {
                (dimensions, version) = check_dimensions(path, text, &mut problems);
            } else if *path == outcomes_path {
                outcomes = check_outcomes(path, text, &mut problems);
            } else if path.parent().and_then(Path::file_name) == Some("datasets".as_ref()) {
                match check_dataset(path, text, &mut problems) {
                    Some(d) => {
                        dataset_paths.push((d.name.clone(), path.clone()));
                        datasets.push(d);
                    }
                    None => broken_datasets.extend(
                        path.file_stem()
                            .and_then(|s| s.to_str())
                            .map(str::to_string),
                    ),
                }
            } else if let Some(i) = parse_indicator(path, text, &mut problems) {
                indicators.push(i);
            }
        }

        let outcomes_text = texts
            .iter()
            .find(|(p, _)| *p == outcomes_path)
            .map(|(_, t)| t.as_str());
        if !dimensions.is_empty() {
            check_outcome_dimensions(
                &outcomes,
                &dimensions,
                &outcomes_path,
                outcomes_text.unwrap_or(""),
                &mut problems,
            );
        }
        unique(
            dataset_paths
                .iter()
                .map(|(name, path)| (name.as_str(), path.clone())),
            "dataset",
            &texts,
            &mut problems,
        );
        // What goes on to the SQL checks has one table per name (the problems above say
        // which definitions were left out).
        let mut names = std::collections::BTreeSet::new();
        datasets.retain(|d| is_identifier(&d.name) && names.insert(d.name.clone()));
        datasets.sort_by(|a, b| a.name.cmp(&b.name));
        indicators.sort_by(|a, b| a.id.cmp(&b.id).then(a.path.cmp(&b.path)));
        check_indicators(
            &indicators,
            &Known {
                dimensions: &dimensions,
                outcomes: &outcomes,
                datasets: &datasets,
                broken_datasets: &broken_datasets,
            },
            &texts,
            &mut problems,
        );

        let catalog = Catalog {
            root: root.to_path_buf(),
            version,
            dimensions,
            outcomes,
            datasets,
            indicators,
            hash: format!("{:x}", hasher.finalize()),
        };
        (catalog, problems)
    }

    /// The dataset contract of that name.
    pub fn dataset(&self, name: &str) -> Option<&DatasetContract> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// The indicator of that id.
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// The outcome of that id.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.id == id)
    }

    /// The dimension of that id.
    pub fn dimension(&self, id: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.id == id)
    }
}

/// Every YAML file of a catalog folder: top-level `dimensions.yaml` and `outcomes.yaml`, and
/// every `*.yaml` one folder down.
fn catalog_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(root).map_err(|e| format!("cannot read the catalog folder: {e}"))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let Ok(inner) = std::fs::read_dir(&path) else {
                continue;
            };
            files.extend(
                inner
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| is_yaml(p) && p.is_file()),
            );
        } else if matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("dimensions.yaml" | "outcomes.yaml")
        ) {
            files.push(path);
        }
    }
    Ok(files)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The default weight of a dimension, outcome or indicator.
fn one() -> f64 {
    1.0
}

/// Reports every id defined more than once, at each later definition.
fn unique<'a>(
    items: impl Iterator<Item = (&'a str, PathBuf)>,
    what: &str,
    texts: &[(PathBuf, String)],
    problems: &mut Problems,
) {
    let mut first: BTreeMap<&str, PathBuf> = BTreeMap::new();
    for (id, path) in items {
        match first.get(id) {
            Some(earlier) => {
                let text = texts
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, t)| t.as_str())
                    .unwrap_or("");
                let key = if what == "dataset" { "name" } else { "id" };
                problems.at(
                    &path,
                    SourceText::new(text).key(&[key]),
                    format!(
                        "duplicate {what} id `{id}`: already defined in {}",
                        earlier.display()
                    ),
                );
            }
            None => {
                first.insert(id, path);
            }
        }
    }
}

/// Lower-case ASCII letters, digits and `_`, starting with a letter.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
