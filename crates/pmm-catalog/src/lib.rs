//! The PMM catalog and configuration: what is measured and how, as data.
//!
//! This crate sits at the start of the data flow. It reads the catalog folder (dimensions,
//! outcomes, dataset contracts, indicators with their SQL and fixtures), pipeline files, the
//! members registry and submission manifests (from bytes the caller read), checks them, and hands checked model types to
//! ingestion and the engine. It does no network I/O and knows nothing of DataFusion: the
//! checks that need SQL planning live in `pmm-engine`.
//!
//! Every YAML file goes through the [`yaml`] module, in two stages: raw `*Spec` structs that
//! mirror the file and reject unknown keys, then a check that returns every [`Problem`] of the
//! file with its `path:line:col`, never just the first.

mod catalog;
mod manifest;
mod members;
mod model;
mod pipeline;
mod problem;
mod yaml;

use std::path::Path;

pub use catalog::{Catalog, DEFAULT_FIXTURE_YEAR, SUBMITTED_TABLE};
pub use manifest::{Assessment, SubmissionManifest};
pub use members::{IncomeGroup, Member, MembersRegistry, Region};
pub use model::{
    ColumnContract, ColumnRule, ColumnType, DatasetContract, DatasetReview, DatasetUse, Dimension,
    Direction, Disclosure, Expectation, FixtureCase, FixtureData, Indicator, IndicatorReview,
    Outcome, Revision, Scoring, Status, Unit, YearRef,
};
pub use pipeline::{
    DEFAULT_MAX_INVALID_ROW_FRACTION, DEFAULT_MIN_COVERAGE, DEFAULT_MIN_GROUP_SIZE, EngineConfig,
    Limits, Pipeline, PrometheusPublish, StorageSettings, StoreLocation, parse_bytes,
};
pub use problem::{Location, Problem, Problems};

/// Whether `code` is a member code: `^[A-Z][A-Z0-9]{1,2}$`.
pub fn is_member_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    (2..=3).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The line on which each id was first defined, to report later definitions against the
/// first (a plain map's `insert` would answer with the latest one on a third definition).
#[derive(Default)]
pub(crate) struct FirstSeen<'a>(std::collections::HashMap<&'a str, usize>);

impl<'a> FirstSeen<'a> {
    /// Records `key` at `line` unless it was seen before; returns the first line it was seen on.
    pub(crate) fn insert(&mut self, key: &'a str, line: usize) -> Option<usize> {
        match self.0.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(line);
                None
            }
        }
    }
}

/// Reads a local text file, turning a missing file or bad UTF-8 into a [`Problem`] there.
pub(crate) fn read_text(path: &Path) -> Result<String, Problem> {
    let bytes = std::fs::read(path)
        .map_err(|e| Problem::new(path, Location::START, format!("cannot read the file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        Problem::new(
            path,
            Location::new(line, column),
            "the file is not valid UTF-8",
        )
    })
}

/// Parses a YAML document into any serde type, through the crate's one YAML module: for
/// other crates' test data (the bad-input corpus's `expected.yaml`), so that no other crate
/// parses YAML itself.
pub fn from_yaml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, Problem> {
    yaml::parse(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_codes() {
        for ok in ["XA", "XZ9", "A1"] {
            assert!(is_member_code(ok), "{ok}");
        }
        for bad in ["X", "xa", "XABC", "1A", "X-", ""] {
            assert!(!is_member_code(bad), "{bad}");
        }
    }
}
