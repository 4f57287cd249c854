//! Prometheus metrics of a published run: the gauges of the product contract, built with the
//! `prometheus` crate from one audience's result tables, in the text exposition format.
//!
//! The input is the audience's Arrow tables, exactly as published (or as read back from the
//! results store by `pmm serve`), so the textfile, the Pushgateway and `/metrics` carry the
//! same samples for the same run. Nothing above the audience's level can reach a metric: the
//! tables were filtered before, and HELP texts are fixed strings that name no member or value.

use pmm_ingest::{Severity, ValidationIssue};
use pmm_results::arrow::RecordBatch;
use pmm_results::{Cells, ReviewFlag, ReviewRule};
use prometheus::{GaugeVec, Opts, Registry, TextEncoder};

use crate::manifest::RunManifest;
use pmm_results::{self as results, column as c};

use crate::tables;

/// The media type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A failure while building metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A result table lacks a column or has it with another type: the files are not ours.
    #[error("result table {0}")]
    Table(#[from] pmm_results::ResultsError),
    /// The `prometheus` crate refused a metric (a bug of ours).
    #[error("internal error building metrics: {0}")]
    Internal(#[from] prometheus::Error),
}

/// One audience's result tables, as published.
#[derive(Debug, Clone)]
pub struct AudienceTables {
    /// `indicator_values`.
    pub indicator_values: RecordBatch,
    /// `outcome_scores`.
    pub outcome_scores: RecordBatch,
    /// `dimension_scores` (with `overall`).
    pub dimension_scores: RecordBatch,
    /// `peer_stats`.
    pub peer_stats: RecordBatch,
}

impl AudienceTables {
    /// The tables `audience` may see of a run's results: the one place the four are built
    /// (publication, metrics and the dry-run all take them from here).
    pub fn of(
        run_id: &str,
        year: i32,
        all: &pmm_results::ResultTables,
        audience: pmm_catalog::Disclosure,
    ) -> Result<AudienceTables, pmm_results::arrow::ArrowError> {
        let view = all.for_audience(audience);
        Ok(AudienceTables {
            indicator_values: tables::indicator_values(run_id, year, &view.indicators)?,
            outcome_scores: tables::scores(run_id, year, &view.outcomes, true)?,
            dimension_scores: tables::scores(run_id, year, &view.dimensions, false)?,
            peer_stats: tables::peer_stats(run_id, year, &view.peers)?,
        })
    }

    /// Each table with its file name (without `.arrow`).
    pub fn named(&self) -> [(&'static str, &RecordBatch); 4] {
        [
            (results::INDICATOR_VALUES.name, &self.indicator_values),
            (results::OUTCOME_SCORES.name, &self.outcome_scores),
            (results::DIMENSION_SCORES.name, &self.dimension_scores),
            (results::PEER_STATS.name, &self.peer_stats),
        ]
    }
}

/// The health of a published run: always exported, whatever the audience.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHealth {
    /// The pipeline's name (the `pipeline` label).
    pub pipeline: String,
    /// When the run finished, in seconds since the Unix epoch.
    pub finished_at_seconds: f64,
    /// How long it took.
    pub duration_seconds: f64,
    /// Submissions accepted (T and T-1 counted apart).
    pub submissions_accepted: u64,
    /// Submissions rejected as a whole.
    pub submissions_rejected: u64,
    /// Validation issues of severity error (rows they stand for included).
    pub issues_error: u64,
    /// Validation issues of severity warning.
    pub issues_warning: u64,
    /// The plausibility review's flags, by rule (in the order of `ReviewRule::ALL`).
    pub review_flags: [u64; 4],
}

impl RunHealth {
    /// The health of a run from what it read and found: `submissions` read in all, of which
    /// `rejected` were rejected as a whole, and every issue.
    pub fn new(
        pipeline: &str,
        finished_at_seconds: f64,
        duration_seconds: f64,
        submissions: u64,
        rejected: u64,
        issues: &[ValidationIssue],
        review: &[ReviewFlag],
    ) -> RunHealth {
        let count = |severity: Severity| {
            issues
                .iter()
                .filter(|i| i.severity == severity)
                .map(|i| i.count)
                .sum::<u64>()
        };
        RunHealth {
            pipeline: pipeline.to_string(),
            finished_at_seconds,
            duration_seconds,
            submissions_accepted: submissions.saturating_sub(rejected),
            submissions_rejected: rejected,
            issues_error: count(Severity::Error),
            issues_warning: count(Severity::Warning),
            review_flags: ReviewRule::ALL
                .map(|rule| review.iter().filter(|f| f.rule == rule).count() as u64),
        }
    }

    /// The health recorded in a run's `manifest.json` (what `pmm serve` exports); `None` when
    /// its finishing time is not a timestamp.
    pub fn from_manifest(manifest: &RunManifest) -> Option<RunHealth> {
        let finished = chrono::DateTime::parse_from_rfc3339(&manifest.finished_at).ok()?;
        let counts = &manifest.counts;
        Some(RunHealth {
            pipeline: manifest.pipeline.clone(),
            finished_at_seconds: finished.timestamp_millis() as f64 / 1000.0,
            duration_seconds: manifest.duration_seconds,
            submissions_accepted: counts.submissions_accepted,
            submissions_rejected: counts.submissions_rejected,
            issues_error: counts.validation_issues_error,
            issues_warning: counts.validation_issues_warning,
            review_flags: counts.review_flags.by_rule(),
        })
    }
}

/// The metrics of a run in the text exposition format, with the number of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsText {
    /// The exposition text.
    pub text: String,
    /// How many samples it holds.
    pub samples: usize,
}

const MEMBER_LABELS: [&str; 4] = [c::MEMBER, c::REGION, c::INCOME_GROUP, c::YEAR];

fn gauge(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<GaugeVec, prometheus::Error> {
    let gauge = GaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

/// Sets one gauge per row of `batch` whose `measure` is a number; labels are the text columns
/// named in `labels` plus `year`, in the metric's label order.
struct TableGauges<'a> {
    batch: &'a RecordBatch,
    table: &'static str,
}

impl TableGauges<'_> {
    fn fill(
        &self,
        gauge: &GaugeVec,
        labels: &[&'static str],
        measure: &'static str,
    ) -> Result<usize, MetricsError> {
        let cells = Cells::all(self.batch, self.table);
        let mut samples = 0;
        for &row in &cells.rows {
            let Some(value) = cells.float(measure, row)?.filter(|v| v.is_finite()) else {
                continue;
            };
            let year = cells.int(c::YEAR, row)?.unwrap_or_default().to_string();
            let label_values = labels
                .iter()
                .map(|&l| {
                    if l == c::YEAR {
                        Ok(year.as_str())
                    } else {
                        cells.required(l, row)
                    }
                })
                .collect::<Result<Vec<&str>, _>>()?;
            gauge.with_label_values(&label_values).set(value);
            samples += 1;
        }
        Ok(samples)
    }
}

/// Builds the metrics of one audience's tables, its history across cycles (when there is
/// one) and the run's health.
pub fn encode(
    tables: &AudienceTables,
    history: Option<&RecordBatch>,
    health: &RunHealth,
) -> Result<MetricsText, MetricsError> {
    let registry = Registry::new();
    let indicator_labels: Vec<&str> = MEMBER_LABELS
        .iter()
        .copied()
        .chain([c::DIMENSION, c::OUTCOME, c::INDICATOR])
        .collect();
    let outcome_labels: Vec<&str> = MEMBER_LABELS
        .iter()
        .copied()
        .chain([c::DIMENSION, c::OUTCOME])
        .collect();
    let dimension_labels: Vec<&str> = MEMBER_LABELS
        .iter()
        .copied()
        .chain([c::DIMENSION])
        .collect();
    let peer_labels = [c::YEAR, c::INDICATOR, c::GROUP_KIND, c::GROUP];

    let indicators = TableGauges {
        batch: &tables.indicator_values,
        table: results::INDICATOR_VALUES.name,
    };
    let mut samples = indicators.fill(
        &gauge(
            &registry,
            "pmm_indicator_value",
            "Value of a PMM indicator (KPI) for a member and year, in the indicator's unit.",
            &indicator_labels,
        )?,
        &indicator_labels,
        c::VALUE,
    )?;
    samples += indicators.fill(
        &gauge(
            &registry,
            "pmm_indicator_score",
            "Score 0-100 of a PMM indicator (KPI) for a member and year.",
            &indicator_labels,
        )?,
        &indicator_labels,
        c::SCORE,
    )?;
    samples += TableGauges {
        batch: &tables.outcome_scores,
        table: results::OUTCOME_SCORES.name,
    }
    .fill(
        &gauge(
            &registry,
            "pmm_outcome_score",
            "Score 0-100 of a PMM outcome for a member and year (weighted mean of its KPI scores).",
            &outcome_labels,
        )?,
        &outcome_labels,
        c::SCORE,
    )?;
    samples += TableGauges {
        batch: &tables.dimension_scores,
        table: results::DIMENSION_SCORES.name,
    }
    .fill(
        &gauge(
            &registry,
            "pmm_dimension_score",
            "Score 0-100 of a PMM dimension for a member and year; dimension=\"overall\" is the overall score.",
            &dimension_labels,
        )?,
        &dimension_labels,
        c::SCORE,
    )?;
    samples += TableGauges {
        batch: &tables.peer_stats,
        table: results::PEER_STATS.name,
    }
    .fill(
        &gauge(
            &registry,
            "pmm_peer_median",
            "Median value of a PMM indicator over a peer group (global, region or income group) with enough members.",
            &peer_labels,
        )?,
        &peer_labels,
        c::MEDIAN,
    )?;

    if let Some(history) = history {
        // The current version of each (member, KPI, year): the rows no later run replaced.
        let current = datafusion::arrow::compute::is_null(
            history
                .column_by_name(c::SUPERSEDED_BY)
                .ok_or_else(|| {
                    MetricsError::Table(pmm_results::ResultsError::Table {
                        table: results::INDICATOR_HISTORY.name.into(),
                        reason: format!("no column `{}`", c::SUPERSEDED_BY),
                    })
                })?
                .as_ref(),
        )
        .and_then(|mask| datafusion::arrow::compute::filter_record_batch(history, &mask))
        .map_err(|e| {
            MetricsError::Table(pmm_results::ResultsError::Table {
                table: results::INDICATOR_HISTORY.name.into(),
                reason: e.to_string(),
            })
        })?;
        let history_labels = [c::MEMBER, c::INDICATOR, c::YEAR];
        samples += TableGauges {
            batch: &current,
            table: results::INDICATOR_HISTORY.name,
        }
        .fill(
            &gauge(
                &registry,
                "pmm_indicator_history_value",
                "Current value of a PMM indicator (KPI) for a member and each year published so far (the history across cycles), in the indicator's unit.",
                &history_labels,
            )?,
            &history_labels,
            c::VALUE,
        )?;
    }

    let pipeline = health.pipeline.as_str();
    gauge(
        &registry,
        "pmm_run_last_success_timestamp_seconds",
        "Unix time at which the last successful PMM run of the pipeline finished.",
        &["pipeline"],
    )?
    .with_label_values(&[pipeline])
    .set(health.finished_at_seconds);
    gauge(
        &registry,
        "pmm_run_duration_seconds",
        "Wall-clock duration of the last successful PMM run of the pipeline.",
        &["pipeline"],
    )?
    .with_label_values(&[pipeline])
    .set(health.duration_seconds);
    let submissions = gauge(
        &registry,
        "pmm_run_submissions",
        "Member submissions (one per member and year) read by the last successful run, by status.",
        &["pipeline", "status"],
    )?;
    submissions
        .with_label_values(&[pipeline, "accepted"])
        .set(health.submissions_accepted as f64);
    submissions
        .with_label_values(&[pipeline, "rejected"])
        .set(health.submissions_rejected as f64);
    let issues = gauge(
        &registry,
        "pmm_run_validation_issues",
        "Validation issues found by the last successful run, by severity (rows they stand for included).",
        &["pipeline", "severity"],
    )?;
    issues
        .with_label_values(&[pipeline, Severity::Error.as_str()])
        .set(health.issues_error as f64);
    issues
        .with_label_values(&[pipeline, Severity::Warning.as_str()])
        .set(health.issues_warning as f64);
    samples += 6;
    // Counts only: a flag's member never becomes a label (flags are the Secretariat's).
    let flags = gauge(
        &registry,
        "pmm_review_flags",
        "Plausibility review flags raised by the last successful run, by rule (figures that passed validation but look wrong for a whole year).",
        &["pipeline", "rule"],
    )?;
    for (rule, count) in ReviewRule::ALL.iter().zip(health.review_flags) {
        flags
            .with_label_values(&[pipeline, rule.as_str()])
            .set(count as f64);
    }
    samples += ReviewRule::ALL.len();

    let text = TextEncoder::new().encode_to_string(&registry.gather())?;
    Ok(MetricsText { text, samples })
}
