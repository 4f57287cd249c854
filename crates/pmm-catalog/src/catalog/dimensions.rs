//! `dimensions.yaml` and `outcomes.yaml`: the catalog's version, the four dimensions, the
//! expected outcomes under them, and their weights.

use std::path::Path;

use serde::Deserialize;

use super::{is_identifier, one};
use crate::FirstSeen;
use crate::model::{Dimension, Outcome};
use crate::problem::{Location, Problems};
use crate::yaml::{self, SourceText};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DimensionsFile {
    /// The catalog's version (`PMM v1.0`).
    #[serde(default)]
    version: Option<String>,
    dimensions: Vec<DimensionSpec>,
}

/// The version of a catalog that does not declare one.
pub const UNVERSIONED: &str = "unversioned";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DimensionSpec {
    id: String,
    name: String,
    #[serde(default)]
    name_fr: Option<String>,
    #[serde(default = "one")]
    weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomesFile {
    outcomes: Vec<OutcomeSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeSpec {
    id: String,
    dimension: String,
    name: String,
    #[serde(default)]
    name_fr: Option<String>,
    #[serde(default = "one")]
    weight: f64,
}

fn check_weight(weight: f64, what: &str, path: &Path, location: Location, problems: &mut Problems) {
    if !(weight.is_finite() && weight > 0.0) {
        problems.at(
            path,
            location,
            format!("{what} weight must be a number above 0, not {weight}"),
        );
    }
}

/// The dimensions of `dimensions.yaml`, and the catalog's version it declares.
pub(super) fn check_dimensions(
    path: &Path,
    text: &str,
    problems: &mut Problems,
) -> (Vec<Dimension>, String) {
    let file: DimensionsFile = match yaml::parse(path, text) {
        Ok(f) => f,
        Err(p) => {
            problems.push(p);
            return (Vec::new(), UNVERSIONED.to_string());
        }
    };
    let source = SourceText::new(text);
    let version = match file.version {
        None => UNVERSIONED.to_string(),
        Some(version) => {
            let trimmed = version.trim();
            if trimmed.is_empty()
                || trimmed.chars().count() > 40
                || trimmed.chars().any(char::is_control)
            {
                problems.at(
                    path,
                    source.key(&["version"]),
                    "the catalog's version must be a short text such as `PMM v1.0` (at most 40 characters, one line)",
                );
            }
            trimmed.to_string()
        }
    };
    let mut seen = FirstSeen::default();
    let mut out = Vec::new();
    for (i, d) in file.dimensions.iter().enumerate() {
        let at = source.item("dimensions", i);
        if !is_identifier(&d.id) {
            problems.at(
                path,
                at,
                format!(
                    "dimension id `{}` must be lower-case letters, digits and `_`",
                    d.id
                ),
            );
        }
        if let Some(first) = seen.insert(&d.id, at.line) {
            problems.at(
                path,
                at,
                format!(
                    "duplicate dimension id `{}` (first defined on line {first})",
                    d.id
                ),
            );
        }
        check_weight(d.weight, "dimension", path, at, problems);
        out.push(Dimension {
            id: d.id.clone(),
            name: d.name.clone(),
            name_fr: d.name_fr.clone(),
            weight: d.weight,
        });
    }
    (out, version)
}

pub(super) fn check_outcomes(path: &Path, text: &str, problems: &mut Problems) -> Vec<Outcome> {
    let file: OutcomesFile = match yaml::parse(path, text) {
        Ok(f) => f,
        Err(p) => {
            problems.push(p);
            return Vec::new();
        }
    };
    let source = SourceText::new(text);
    let mut seen = FirstSeen::default();
    let mut out = Vec::new();
    for (i, o) in file.outcomes.iter().enumerate() {
        let at = source.item("outcomes", i);
        if o.id.split_once('.').map(|(d, _)| d) != Some(o.dimension.as_str()) {
            problems.at(
                path,
                at,
                format!(
                    "outcome id `{}` must start with its dimension: `{}.<name>`",
                    o.id, o.dimension
                ),
            );
        }
        if let Some(first) = seen.insert(&o.id, at.line) {
            problems.at(
                path,
                at,
                format!(
                    "duplicate outcome id `{}` (first defined on line {first})",
                    o.id
                ),
            );
        }
        check_weight(o.weight, "outcome", path, at, problems);
        out.push(Outcome {
            id: o.id.clone(),
            dimension: o.dimension.clone(),
            name: o.name.clone(),
            name_fr: o.name_fr.clone(),
            weight: o.weight,
        });
    }
    out
}

/// Every outcome's dimension must exist. Skipped when no dimension loaded: that is already
/// reported, and every outcome would repeat it.
pub(super) fn check_outcome_dimensions(
    outcomes: &[Outcome],
    dimensions: &[Dimension],
    outcomes_path: &Path,
    text: &str,
    problems: &mut Problems,
) {
    let source = SourceText::new(text);
    for (i, o) in outcomes.iter().enumerate() {
        if !dimensions.iter().any(|d| d.id == o.dimension) {
            problems.at(
                outcomes_path,
                source.item("outcomes", i),
                format!(
                    "outcome `{}` names dimension `{}`, which dimensions.yaml does not define",
                    o.id, o.dimension
                ),
            );
        }
    }
}
