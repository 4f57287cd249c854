//! `pmm dry-run`: a member's self-assessment on its own files, by the run's own path.
//!
//! The member's data folder holds `year=T/` and optionally `year=T-1/` (or `member=CODE/`
//! with those inside). It is discovered, read, validated and staged as a submission is, then
//! evaluated by the same engine, scored and rolled up with the same functions, for that one
//! member. Nothing is published: the result tables (as a run's `secretariat/` folder) and
//! `summary.json` go to the output folder, where the staged data is kept too, so that a second
//! dry-run after fixing one file reads only that file. No network is used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use object_store::ObjectStoreExt;
use pmm_catalog::{
    Catalog, Disclosure, IncomeGroup, Member, Region, StorageSettings, StoreLocation,
    SubmissionManifest,
};
use pmm_ingest::{
    DatasetOutcome, Discovery, StagingArea, ValidationIssue, discover_member, year_folders,
};
use pmm_publish::metrics::AudienceTables;
use pmm_publish::tables;
use pmm_report::DatasetFile;
use pmm_results::{self as results, PeerRow, ResultTables, ReviewFlag, ReviewInput, ipc};
use pmm_store::{layout, open_store};
use serde::{Deserialize, Serialize};

use crate::report::dataset_file;
use crate::run::{NoProgress, Progress, ProgressEvent, RunError, SubmissionStatus, new_run_id};
use crate::steps::{Assembled, Computation, Computed, RunSettings, compute};

/// What `pmm dry-run` is asked to do.
#[derive(Debug, Clone)]
pub struct DryRunOptions {
    /// The member code.
    pub member: String,
    /// Its WCO region (for peer groups and the result tables).
    pub region: Region,
    /// Its income group.
    pub income_group: IncomeGroup,
    /// The member's data folder.
    pub data: PathBuf,
    /// The reporting year T; `None`: the latest `year=` folder in the data.
    pub year: Option<i32>,
    /// Where the results, summary and staged data go.
    pub out: PathBuf,
    /// The global peer statistics the review compares with (`--peers`); empty: no
    /// `peer_outlier` flag.
    pub peers: Vec<PeerRow>,
}

/// A score as `summary.json` gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine {
    /// `overall`, a dimension id or an outcome id.
    pub id: String,
    /// `ok`, `insufficient_coverage` or `not_applicable`.
    pub status: String,
    /// Score 0..100.
    pub score: Option<f64>,
    /// Level 1..5.
    pub level: Option<i64>,
    /// Coverage 0..1.
    pub coverage: Option<f64>,
}

/// `summary.json`: the dry-run in a form scripts can read (`--format json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunSummary {
    /// Member code.
    pub member: String,
    /// Reporting year T.
    pub year: i32,
    /// The id of this dry-run (as a run's).
    pub run_id: String,
    /// When it finished (RFC 3339).
    pub finished_at: String,
    /// How long it took.
    pub duration_seconds: f64,
    /// The data folder read.
    pub data: String,
    /// SHA-256 of the catalog used.
    pub catalog_hash: String,
    /// The overall score.
    pub overall: ScoreLine,
    /// The four dimensions.
    pub dimensions: Vec<ScoreLine>,
    /// Every dataset file found, T and T-1.
    pub datasets: Vec<DatasetFile>,
    /// Why a whole submission was rejected (its manifest), by year.
    pub rejected_submissions: BTreeMap<i32, String>,
    /// Validation issues of severity error (rows they stand for included).
    pub issues_error: u64,
    /// Validation issues of severity warning.
    pub issues_warning: u64,
    /// Inputs read now, and reused from an earlier dry-run into the same folder.
    pub inputs_read: u64,
    /// See `inputs_read`.
    pub inputs_reused: u64,
    /// The files written, relative to the output folder.
    pub files: Vec<String>,
    /// The plausibility review's points, as in `secretariat/review_flags.arrow`.
    pub review: Vec<ReviewFlag>,
}

/// Everything a dry-run found, for the report and the terminal.
#[derive(Debug)]
pub struct DryRun {
    /// What `summary.json` holds.
    pub summary: DryRunSummary,
    /// The member's rows (every audience's level: this is the member's own view).
    pub results: ResultTables,
    /// The result tables as written.
    pub tables: AudienceTables,
    /// `validation_issues` as written.
    pub issues_table: pmm_report::RecordBatch,
    /// Every issue of the member's files.
    pub issues: Vec<ValidationIssue>,
    /// What validation found of each dataset file, with its year.
    pub datasets: Vec<(i32, DatasetOutcome)>,
    /// The manifest for T, when present and valid.
    pub manifest: Option<SubmissionManifest>,
    /// Every submission read.
    pub submissions: Vec<SubmissionStatus>,
}

/// The member's own values for T-1, worked out from its `year=T-1` files by the same path,
/// for the review's `value_change`: what the Secretariat's history holds for T-1 when these
/// are the files it received. Nothing when no KPI has a `max_change` or there is no T-1.
async fn values_of_year_before(
    computation: &Computation<'_>,
    member: &Member,
    years: &[i32],
) -> Result<BTreeMap<(String, String), f64>, RunError> {
    let before = computation.year - 1;
    let wanted = computation
        .catalog
        .indicators
        .iter()
        .any(|k| k.review.max_change.is_some());
    if !wanted || !years.contains(&before) {
        return Ok(BTreeMap::new());
    }
    let mut discovery = Discovery::default();
    discover_member(
        computation.source,
        &member.code,
        &computation.source.prefix,
        computation.catalog,
        &[before, before - 1],
        before,
        &mut discovery,
    )
    .await;
    let computed = compute(
        &Computation {
            year: before,
            ..*computation
        },
        discovery.submissions,
        discovery.issues,
        std::slice::from_ref(member),
        &NoProgress,
    )
    .await?;
    Ok(computed
        .tables
        .indicators
        .into_iter()
        .filter_map(|row| match (row.status, row.value) {
            (pmm_catalog::Status::Ok, Some(value)) => Some(((row.member, row.indicator), value)),
            _ => None,
        })
        .collect())
}

/// Runs the member's files through validation, evaluation, scoring and roll-up.
pub async fn dry_run(
    catalog: Arc<Catalog>,
    options: &DryRunOptions,
    progress: &dyn Progress,
) -> Result<DryRun, RunError> {
    let clock = Instant::now();
    let started = Utc::now();
    let settings = StorageSettings::default();
    let config = |what: &'static str, source| RunError::Store { what, source };
    let data = member_folder(&options.data, &options.member)?;
    let source = open_store(&StoreLocation::Local(data.clone()), false, &settings)
        .map_err(|e| config("--data", e))?;
    let years = year_folders(&source, &source.prefix)
        .await
        .map_err(|e| RunError::Request {
            context: format!("cannot list {}", source.display),
            source: e,
        })?;
    let year = match (options.year, years.last()) {
        (Some(year), _) => year,
        (None, Some(latest)) => *latest,
        (None, None) => {
            return Err(RunError::Config(format!(
                "{}: no year=YYYY folder; put the member's files in {}/year=2024/ (and the year before in year=2023/)",
                data.display(),
                data.display()
            )));
        }
    };
    if !years.contains(&year) {
        return Err(RunError::Config(format!(
            "{}: no year={year} folder (found: {})",
            data.display(),
            if years.is_empty() {
                "none".to_string()
            } else {
                years
                    .iter()
                    .map(|y| format!("year={y}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )));
    }
    std::fs::create_dir_all(&options.out).map_err(|e| {
        RunError::Config(format!(
            "--out {}: cannot create the folder: {e}",
            options.out.display()
        ))
    })?;
    let staging = StagingArea {
        root: open_store(
            &StoreLocation::Local(options.out.join(layout::dry_run::STAGING)),
            true,
            &settings,
        )
        .map_err(|e| config("--out", e))?,
    };

    progress.event(ProgressEvent::Stage {
        name: "discovering files",
        total: 0,
    });
    let mut discovery = Discovery::default();
    discover_member(
        &source,
        &options.member,
        &source.prefix,
        &catalog,
        &[year, year - 1],
        year,
        &mut discovery,
    )
    .await;
    progress.event(ProgressEvent::StageDone);
    let member = Member {
        code: options.member.clone(),
        name: String::new(),
        region: options.region,
        income_group: options.income_group,
    };
    let settings_of_run = RunSettings::defaults();
    let computation = Computation {
        catalog: &catalog,
        source: &source,
        staging: &staging,
        settings: &settings_of_run,
        year,
        concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let Computed {
        assembled:
            Assembled {
                issues,
                inputs,
                statuses,
                manifests,
                mut datasets,
                ..
            },
        tables: results,
        ..
    } = compute(
        &computation,
        discovery.submissions,
        discovery.issues,
        std::slice::from_ref(&member),
        progress,
    )
    .await?;

    // The review: the member's counts and values against its own T-1 and the peers given.
    let previous = values_of_year_before(&computation, &member, &years).await?;
    let review = pmm_results::review::review(&ReviewInput {
        catalog: &catalog,
        year,
        counts: &crate::review::accepted_counts(&datasets, &statuses),
        values: &results.indicators,
        previous: &previous,
        peers: &options.peers,
        min_group_size: i64::from(settings_of_run.scoring.min_group_size),
        explanations: &crate::review::explanations(&manifests),
    });

    let run_id = new_run_id(started);
    let internal = |e: pmm_ingest::BoxError| RunError::FailedBecause {
        context: "writing the results".into(),
        source: e,
    };
    // Written as a run writes its files: through the store, each file whole.
    let out = open_store(&StoreLocation::Local(options.out.clone()), true, &settings)
        .map_err(|e| config("--out", e))?;
    let tables = AudienceTables::of(&run_id, year, &results, Disclosure::Secretariat)
        .map_err(|e| internal(e.into()))?;
    let issues_table =
        tables::validation_issues(&run_id, &issues).map_err(|e| internal(e.into()))?;
    let review_table =
        pmm_results::review::encode(&run_id, year, &review).map_err(|e| internal(e.into()))?;
    let mut files = Vec::new();
    for (name, batch) in tables.named().into_iter().chain([
        (results::VALIDATION_ISSUES.name, &issues_table),
        (results::REVIEW_FLAGS.name, &review_table),
    ]) {
        let relative = layout::audience_table(Disclosure::Secretariat.as_str(), name);
        let bytes = ipc::to_file(batch).map_err(|e| internal(e.into()))?;
        out.store
            .put(&out.key(&relative), bytes.into())
            .await
            .map_err(|e| internal(e.into()))?;
        files.push(relative);
    }

    // Files are read side by side and finish in any order: list them by year (T first), then
    // dataset and file, so summary.json and the report are the same from run to run.
    let mut member_datasets = datasets.remove(&options.member).unwrap_or_default();
    member_datasets
        .sort_by(|(ya, a), (yb, b)| (yb, &a.dataset, &a.file).cmp(&(ya, &b.dataset, &b.file)));
    let rejected_submissions: BTreeMap<i32, String> = statuses
        .iter()
        .filter_map(|s| s.rejected.clone().map(|why| (s.year, why)))
        .collect();
    let score_line = |row: &results::ScoreRow| ScoreLine {
        id: row.outcome.clone().unwrap_or_else(|| row.dimension.clone()),
        status: row.status.as_str().to_string(),
        score: row.score,
        level: row.level,
        coverage: row.coverage,
    };
    let overall = results
        .dimensions
        .iter()
        .find(|d| d.dimension == results::OVERALL)
        .map(score_line)
        .ok_or_else(|| RunError::Failed("no overall score was computed (a bug)".into()))?;
    let count = |severity| {
        issues
            .iter()
            .filter(|i| i.severity == severity)
            .map(|i| i.count)
            .sum::<u64>()
    };
    files.push("summary.json".into());
    let summary = DryRunSummary {
        member: options.member.clone(),
        year,
        run_id,
        finished_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        duration_seconds: clock.elapsed().as_secs_f64(),
        data: data.display().to_string(),
        catalog_hash: catalog.hash.clone(),
        overall,
        dimensions: catalog
            .dimensions
            .iter()
            .filter_map(|d| results.dimensions.iter().find(|r| r.dimension == d.id))
            .map(score_line)
            .collect(),
        datasets: member_datasets
            .iter()
            .map(|(year, d)| dataset_file(*year, d))
            .collect(),
        rejected_submissions,
        issues_error: count(pmm_ingest::Severity::Error),
        issues_warning: count(pmm_ingest::Severity::Warning),
        inputs_read: inputs
            .iter()
            .filter(|i| i.status == pmm_ingest::InputStatus::Read)
            .count() as u64,
        inputs_reused: inputs
            .iter()
            .filter(|i| i.status == pmm_ingest::InputStatus::Reused)
            .count() as u64,
        files,
        review,
    };
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| internal(e.into()))?;
    out.store
        .put(&out.key("summary.json"), json.into())
        .await
        .map_err(|e| internal(e.into()))?;
    Ok(DryRun {
        summary,
        results,
        tables,
        issues_table,
        issues,
        datasets: member_datasets,
        manifest: manifests.get(&options.member).and_then(|(m, _)| m.clone()),
        submissions: statuses,
    })
}

/// The folder that holds the member's `year=` folders: `data/member=CODE` when there is one,
/// else `data` itself.
fn member_folder(data: &Path, member: &str) -> Result<PathBuf, RunError> {
    if !data.is_dir() {
        return Err(RunError::Config(format!(
            "--data {}: no such folder",
            data.display()
        )));
    }
    // An absolute, tidy path: it is shown in the summary and the report.
    let data = std::fs::canonicalize(data)
        .map_err(|e| RunError::Config(format!("--data {}: {e}", data.display())))?;
    let nested = data.join(layout::source::member_folder(member));
    if nested.is_dir() {
        return Ok(nested);
    }
    let others: Vec<String> = std::fs::read_dir(&data)
        .map_err(|e| RunError::Config(format!("--data {}: {e}", data.display())))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with("member="))
        .collect();
    if !others.is_empty() {
        return Err(RunError::Config(format!(
            "--data {}: no member={member} folder (it has {}); give the folder of member {member}",
            data.display(),
            others.join(", ")
        )));
    }
    Ok(data)
}
