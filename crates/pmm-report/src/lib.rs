//! `report.html`: one member's results as a page an analyst can read, fix files from, print
//! and forward. One renderer for `pmm dry-run` (a member's own files) and `pmm report` (a
//! published run, as one audience sees it).
//!
//! The report is built from the result tables as a run writes them (Arrow record batches:
//! `indicator_values`, `outcome_scores`, `dimension_scores`, and, when given, `peer_stats` and
//! `validation_issues`), the catalog (names, formulas, SQL, scoring) and what validation found
//! of each dataset file. [`view`] turns them into a serializable view; the page is the
//! `minijinja` template `templates/report.html` with every fixed text from [`i18n`] (English
//! and French). The page is one self-contained file: inline style and SVG charts, no script,
//! and a Content-Security-Policy that forbids fetching anything.

mod i18n;
mod view;

use std::collections::BTreeMap;

use pmm_catalog::{Catalog, Disclosure};

pub use arrow_array::RecordBatch;
pub use i18n::Lang;

/// Where the report's figures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A dry run over the member's own files in `data`.
    DryRun {
        /// The data folder.
        data: String,
    },
    /// A published run.
    Published {
        /// The run's id.
        run_id: String,
        /// The results location.
        results: String,
    },
}

/// A dataset file of the member, as validation found it (also a line of a dry run's
/// `summary.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatasetFile {
    /// The dataset.
    pub dataset: String,
    /// The submission's year.
    pub year: i32,
    /// The file, relative to the source or data folder.
    pub file: String,
    /// Whether the dataset was accepted.
    pub accepted: bool,
    /// Records read.
    pub rows_read: u64,
    /// Records left out.
    pub rows_rejected: u64,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// Everything a report is made from.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The catalog: names, formulas, SQL, scoring.
    pub catalog: &'a Catalog,
    /// The language of the fixed text.
    pub lang: Lang,
    /// The member.
    pub member: &'a str,
    /// The member's name, when known.
    pub member_name: Option<&'a str>,
    /// The reporting year.
    pub year: i32,
    /// Where the figures come from.
    pub origin: Origin,
    /// Who the report is for: nothing above this level is shown (the tables must already be
    /// this audience's).
    pub audience: Disclosure,
    /// When the report was made (RFC 3339).
    pub generated_at: &'a str,
    /// `indicator_values` (any members; the member's rows are picked).
    pub indicator_values: &'a RecordBatch,
    /// `outcome_scores`.
    pub outcome_scores: &'a RecordBatch,
    /// `dimension_scores`.
    pub dimension_scores: &'a RecordBatch,
    /// Peer statistics to compare with (`peer_stats` of a published run), if any.
    pub peers: Option<&'a RecordBatch>,
    /// `validation_issues`, for the Secretariat's view and a dry run.
    pub issues: Option<&'a RecordBatch>,
    /// What validation found of each dataset file, when known.
    pub datasets: Option<&'a [DatasetFile]>,
    /// Why a whole submission was rejected, by year.
    pub rejected_submissions: &'a BTreeMap<i32, String>,
    /// The KPIs the manifest declares not applicable, with the reason it gives.
    pub not_applicable: &'a BTreeMap<String, Option<String>>,
    /// The history across cycles as the audience sees it (any members; the member's rows are
    /// picked), for the "Across cycles" section; none for a dry run.
    pub history: Option<&'a [pmm_results::HistoryRow]>,
    /// The plausibility review's flags (any members; the member's are picked), for the
    /// "Points to review" section: the Secretariat's view and a dry run only, none otherwise.
    pub review: Option<&'a [pmm_results::ReviewFlag]>,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A result table lacks a column or has it with another type: not a table of pmm.
    #[error(transparent)]
    Table(#[from] pmm_results::ResultsError),
    /// The member has no row in the tables.
    #[error("member {0} has no result in these tables")]
    NoMember(String),
    /// The template failed (a bug).
    #[error("internal error rendering the report (a bug in pmm): {0}")]
    Template(String),
}

/// The template of the page.
const TEMPLATE: &str = include_str!("../templates/report.html");

/// Renders the report as one self-contained HTML page.
pub fn render(input: &ReportInput<'_>) -> Result<String, ReportError> {
    let view = view::build(input)?;
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    env.get_template("report.html")
        .and_then(|t| t.render(&view))
        .map_err(|e| ReportError::Template(format!("{e:#}")))
}
