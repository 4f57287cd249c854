//! One run of a pipeline, end to end: discover, read and stage (or reuse what is staged),
//! evaluate, score, publish.
//!
//! Why one file of this length (about 650 lines): [`run_pipeline`] reads top to bottom as the
//! run's steps in the order they take effect (nothing is published before everything is
//! computed, `latest.json` last), and that order is the thing to see at once. Reading,
//! assembling, evaluating and scoring are the steps it shares with a dry run (`steps.rs`).

use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use datafusion::arrow::record_batch::RecordBatch;
use pmm_catalog::{Disclosure, Pipeline, PrometheusPublish, StoreLocation};
use pmm_ingest::{InputStatus, RunReference, ValidationIssue};
use pmm_publish::export::{self, ExportError};
use pmm_publish::metrics::{self, AudienceTables, RunHealth};
use pmm_publish::published;
use pmm_publish::{
    CurrentRun, Latest, PART_SIZE, Publication, PublishError, ReviewFlagCounts, RunCounts,
    RunManifest,
};
use pmm_results::ResultTables;
use pmm_results::{ReviewFlag, ReviewInput};
use pmm_store::{StoreRoot, layout, open_store};

use crate::history::{self, Histories, ThisRun};
use crate::open::Opened;
use crate::steps::{Assembled, Computation, Computed, compute};

/// What a caller can change of a pipeline for one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Reporting year instead of the pipeline's.
    pub year: Option<i32>,
    /// Results location instead of the pipeline's.
    pub results: Option<StoreLocation>,
    /// Submissions read at once (default: the pipeline's `storage.concurrency`).
    pub concurrency: Option<usize>,
    /// Read the submissions from this store instead of the pipeline's `source` (a caller
    /// that wraps or builds its own store: tests counting requests, an embedding program).
    pub source: Option<StoreRoot>,
}

/// Progress of a run, for a progress bar or log lines.
#[derive(Debug, Clone, Copy)]
pub enum ProgressEvent<'a> {
    /// A stage starts, with the number of steps it has (0 when unknown).
    Stage {
        /// What the stage does.
        name: &'a str,
        /// How many steps.
        total: u64,
    },
    /// One step of the current stage is done.
    Step {
        /// What was done.
        message: &'a str,
    },
    /// The current stage is done.
    StageDone,
}

/// Receives progress events.
pub trait Progress: Send + Sync {
    /// One event.
    fn event(&self, event: ProgressEvent<'_>);
}

/// A progress receiver that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: ProgressEvent<'_>) {}
}

/// Why a run did not publish. Two kinds, which the CLI turns into exit codes
/// ([`RunError::is_config`]): configuration (nothing ran, exit 2) and failure (the run
/// started, nothing new was published, exit 1). Each message is written for people whole;
/// the error it comes from, when there is one, stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The catalog, registry or pipeline is wrong, or a location cannot be used: nothing ran.
    #[error("{0}")]
    Config(String),
    /// The run started and failed; nothing new was published.
    #[error("{0}")]
    Failed(String),
    /// The run started and failed because of another error (kept as the source); nothing new
    /// was published.
    #[error("{context}: {source}")]
    FailedBecause {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: pmm_ingest::BoxError,
    },
    /// The catalog has problems (each with its place).
    #[error("the catalog has problems:\n{0}")]
    Catalog(#[source] pmm_catalog::Problems),
    /// A pipeline location (source, results, staging, registry) cannot be opened.
    #[error("{what} {source}")]
    Store {
        /// Which location.
        what: &'static str,
        /// Why.
        #[source]
        source: pmm_store::StoreError,
    },
    /// Reading or staging failed for a reason that is not a member's data (the staging store).
    #[error("{0}")]
    Ingest(#[source] pmm_ingest::Error),
    /// The query engine failed.
    #[error("{0}")]
    Engine(#[source] pmm_engine::Error),
    /// A store request failed midway.
    #[error("{context}: {source}")]
    Request {
        /// What was being done.
        context: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// The run's lease could not be written to the staging area: nothing was read.
    #[error(
        "cannot write the run's lease to the staging area (it tells `pmm gc` that a run is in progress), so nothing was read: {0}"
    )]
    Lease(#[source] pmm_ingest::Error),
    /// The results could not be written.
    #[error("cannot write the results to {location}: {source}")]
    Publish {
        /// Where (without credentials).
        location: String,
        /// Why.
        #[source]
        source: PublishError,
    },
}

impl RunError {
    /// Whether nothing ran (a usage or configuration error) rather than a failed run.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            RunError::Config(_) | RunError::Catalog(_) | RunError::Store { .. }
        )
    }
}

/// What happened to one submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionStatus {
    /// Member code.
    pub member: String,
    /// The submission's year.
    pub year: i32,
    /// Why the whole submission was rejected, if it was.
    pub rejected: Option<String>,
    /// Datasets rejected, with the first reason given.
    pub rejected_datasets: Vec<(String, String)>,
}

/// What a published run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: String,
    /// Where its files are, for people.
    pub location: String,
    /// The reporting year.
    pub year: i32,
    /// Duration, submissions accepted and rejected, issues by severity: what the metrics and
    /// the run manifest report.
    pub health: RunHealth,
    /// Every result row (the Secretariat's view).
    pub results: ResultTables,
    /// The catalog's dimension ids, in its order (`overall` not among them).
    pub dimensions: Vec<String>,
    /// What the run found worth saying that did not stop it (a KPI whose definition changed
    /// with no revision declared).
    pub warnings: Vec<String>,
    /// When this run filled in an earlier year: the run of the latest year, which `pmm serve`,
    /// the metrics and `pmm report` go on showing.
    pub later_current: Option<CurrentRun>,
    /// The run's manifest as published: every input with its status (read or reused) and
    /// fingerprint, the counts, the memory figures.
    pub manifest: RunManifest,
    /// Every submission read, accepted or not.
    pub submissions: Vec<SubmissionStatus>,
    /// Every validation issue.
    pub issues: Vec<ValidationIssue>,
    /// The plausibility review's flags (in `secretariat/review_flags.arrow`).
    pub review: Vec<ReviewFlag>,
    /// Result files written, relative to the results location (also in the manifest).
    pub files: Vec<String>,
    /// What became of the metrics, when the pipeline publishes them.
    pub metrics: Option<MetricsReport>,
    /// Whether `latest.json` now names this run.
    pub latest: Latest,
}

/// The metrics of a run and where they went. A failed export is reported here; it does not
/// undo the published results.
#[derive(Debug, Clone)]
pub struct MetricsReport {
    /// Whose results became metrics.
    pub audience: Disclosure,
    /// Samples exported.
    pub samples: usize,
    /// The textfile written, or why not (when the pipeline names one).
    pub textfile: Option<Result<String, ExportError>>,
    /// The Pushgateway group replaced, or why not (when the pipeline names one).
    pub pushgateway: Option<Result<String, ExportError>>,
}

/// Runs a pipeline and publishes its results.
pub async fn run_pipeline(
    pipeline: &Pipeline,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunSummary, RunError> {
    let started = Utc::now();
    let clock = Instant::now();
    let opened = Opened::open(pipeline, options).await?;
    let results_location = &opened.results;
    let results = open_store(results_location, true, &pipeline.storage).map_err(|source| {
        RunError::Store {
            what: "results",
            source,
        }
    })?;
    let (year, catalog, registry, source, staging) = (
        opened.year,
        &opened.catalog,
        &opened.registry,
        &opened.source,
        &opened.staging,
    );
    let run_settings = &opened.settings;
    let engine_settings = &run_settings.engine;
    if let Some(dir) = &engine_settings.spill_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            RunError::Config(format!(
                "engine.spill_dir {}: cannot create the folder: {e}",
                dir.display()
            ))
        })?;
    }

    // A cluster that cannot take the run's queries fails it now, before anything is read.
    if let Some(url) = &engine_settings.ballista {
        progress.event(ProgressEvent::Stage {
            name: "checking the Ballista cluster",
            total: 0,
        });
        // Named with the pipeline file that sets it: that is where the address is changed.
        pmm_engine::probe(url, pmm_engine::PROBE_TIMEOUT)
            .await
            .map_err(|e| RunError::FailedBecause {
                context: pipeline.path.display().to_string(),
                source: e.into(),
            })?;
        progress.event(ProgressEvent::StageDone);
        tracing::info!(scheduler = %url, "evaluating on the Ballista cluster");
    }
    // The run's lease, before it looks anything up in the staging area: `pmm gc` removes
    // nothing while it holds. Released when the run ends, published or not.
    let run_id = new_run_id(started);
    let lease = staging
        .take_lease(&run_id, &pipeline.name)
        .await
        .map_err(RunError::Lease)?;
    let outcome = async {
        let discovery = opened.discover(progress).await?;

        let discovered_at = clock.elapsed();
        let concurrency = opened.concurrency(options, pipeline);
        let computation = Computation {
            catalog,
            source,
            staging,
            settings: run_settings,
            year,
            concurrency,
        };
        let Computed {
            assembled:
                Assembled {
                    issues,
                    inputs,
                    statuses,
                    manifests,
                    datasets,
                    ..
                },
            reused,
            evaluated,
            tables,
            mut phases,
        } = compute(
            &computation,
            discovery.submissions,
            discovery.issues,
            &registry.members,
            progress,
        )
        .await?;
        let engine_figures = evaluated.figures;
        phases.discover_seconds = discovered_at.as_secs_f64();
        let computed_at = clock.elapsed();

        let publication = Publication {
            root: &results,
            run_id: &run_id,
            year,
            part_size: PART_SIZE,
        };
        let write_failed = |source: PublishError| RunError::Publish {
            location: results.display.clone(),
            source,
        };
        // The history across cycles: the latest run's, with what this run changes.
        let published_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let Histories {
            rows: histories,
            warnings,
            later_current,
            year_before,
        } = history::next_histories(
            &results,
            catalog,
            &tables,
            &pipeline.audiences,
            &ThisRun {
                run_id: &run_id,
                published_at: &published_at,
                year,
                inputs: &inputs,
            },
        )
        .await?;
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        // The plausibility review, over every member's values (the Secretariat's view).
        let review = pmm_results::review::review(&ReviewInput {
            catalog,
            year,
            counts: &crate::review::accepted_counts(&datasets, &statuses),
            values: &tables.indicators,
            previous: &year_before,
            peers: &tables.peers,
            min_group_size: i64::from(run_settings.scoring.min_group_size),
            explanations: &crate::review::explanations(&manifests),
        });
        progress.event(ProgressEvent::Stage {
            name: "publishing results",
            total: pipeline.audiences.len() as u64,
        });
        // The audiences' folders are written side by side (their histories are the largest
        // files a run writes).
        let clock_writing = Instant::now();
        let empty = RecordBatch::new_empty(pmm_results::INDICATOR_HISTORY.schema());
        let written = futures::future::join_all(pipeline.audiences.iter().map(|audience| {
            let history = histories.get(audience).unwrap_or(&empty);
            publication.write_audience(*audience, &tables, &issues, &review, history)
        }))
        .await;
        let mut files = Vec::new();
        for (audience, written) in pipeline.audiences.iter().zip(written) {
            files.extend(written.map_err(write_failed)?);
            progress.event(ProgressEvent::Step {
                message: audience.as_str(),
            });
        }
        tracing::debug!(
            files = files.len(),
            seconds = clock_writing.elapsed().as_secs_f64(),
            "wrote the audiences' tables"
        );
        progress.event(ProgressEvent::StageDone);
        let finished = Utc::now();
        let elapsed = clock.elapsed();
        let duration_seconds = elapsed.as_secs_f64();
        phases.publish_seconds = (elapsed - computed_at).as_secs_f64();
        let rejected = statuses.iter().filter(|s| s.rejected.is_some()).count() as u64;
        let health = RunHealth::new(
            &pipeline.name,
            finished.timestamp_millis() as f64 / 1000.0,
            duration_seconds,
            statuses.len() as u64,
            rejected,
            &issues,
            &review,
        );
        let count_inputs =
            |status: InputStatus| inputs.iter().filter(|i| i.status == status).count() as u64;
        let (inputs_read, inputs_reused) = (
            count_inputs(InputStatus::Read),
            count_inputs(InputStatus::Reused),
        );
        let manifest = RunManifest {
            run_id: run_id.clone(),
            pipeline: pipeline.name.clone(),
            year,
            started_at: started.to_rfc3339_opts(SecondsFormat::Millis, true),
            finished_at: finished.to_rfc3339_opts(SecondsFormat::Millis, true),
            duration_seconds: health.duration_seconds,
            catalog_hash: catalog.hash.clone(),
            catalog_version: catalog.version.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            source: source.display.clone(),
            staging: staging.root.display.clone(),
            audiences: pipeline.audiences.clone(),
            inputs,
            evaluations: evaluated.entries,
            counts: RunCounts {
                submissions_accepted: health.submissions_accepted,
                submissions_rejected: health.submissions_rejected,
                datasets_rejected: statuses
                    .iter()
                    .map(|s| s.rejected_datasets.len() as u64)
                    .sum(),
                validation_issues_error: health.issues_error,
                validation_issues_warning: health.issues_warning,
                inputs_read,
                inputs_reused,
                members_evaluated: evaluated.evaluated,
                members_reused: evaluated.reused,
                review_flags: ReviewFlagCounts::from_rules(health.review_flags),
            },
            engine: engine_figures,
            phases,
            files,
        };
        let manifest_files = manifest.files.clone();
        publication
            .write_manifest(&manifest)
            .await
            .map_err(write_failed)?;
        // The staging area learns of this run before it becomes the latest, so `pmm gc` never
        // takes what a published run uses; an entry the run reused that a collection took
        // just before the run's lease stopped it is put back first.
        let restored = staging.restore(&reused).await.map_err(RunError::Ingest)?;
        if restored > 0 {
            tracing::info!(restored, "put back staged entries a collection had removed");
        }
        staging
            .put_reference(&RunReference {
                run_id: run_id.clone(),
                pipeline: pipeline.name.clone(),
                results: reference_location(results_location),
                manifest: layout::results::manifest(&run_id),
            })
            .await
            .map_err(RunError::Ingest)?;
        let latest = publication.replace_latest().await.map_err(write_failed)?;
        if let Latest::Newer(newer) = &latest {
            tracing::warn!(
                run_id,
                latest = newer,
                "a newer run is already the latest: this run is complete under {} but latest.json still names {newer}",
                layout::results::run(&run_id)
            );
        }
        tracing::info!(
            run_id,
            duration_seconds,
            inputs_read = manifest.counts.inputs_read,
            inputs_reused = manifest.counts.inputs_reused,
            "published"
        );
        let metrics = match &pipeline.prometheus {
            Some(publish) => Some(
                export_metrics(
                    publish,
                    histories.get(&publish.audience),
                    shown_tables(
                        &results,
                        &run_id,
                        year,
                        &tables,
                        later_current.as_ref(),
                        publish.audience,
                    )
                    .await?,
                    &health,
                )
                    .await
                    .map_err(|e| RunError::FailedBecause {
                        context: format!(
                            "run {run_id} is published, but its metrics could not be built"
                        ),
                        source: e.into(),
                    })?,
            ),
            None => None,
        };
        Ok(RunSummary {
            warnings,
            later_current,
            dimensions: catalog.dimensions.iter().map(|d| d.id.clone()).collect(),
            location: results.shown(&layout::results::run(&run_id)),
            run_id,
            year,
            health,
            results: tables,
            manifest,
            submissions: statuses,
            issues,
            review,
            files: manifest_files,
            metrics,
            latest,
        })
    }
    .await;
    lease.release().await;
    outcome
}

/// The results location as a run reference records it: a URL as written, or a folder's
/// absolute path, so `pmm gc` finds it from anywhere.
fn reference_location(location: &StoreLocation) -> String {
    match location {
        StoreLocation::Remote(url) => url.clone(),
        StoreLocation::Local(dir) => std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.clone())
            .display()
            .to_string(),
    }
}

/// Builds the metrics of the pipeline's audience and sends them where the pipeline says.
/// The tables the metrics show for `audience`: this run's, or, when this run filled in an
/// earlier year, those of the run of the latest year (read back from the results, as `pmm
/// serve` reads them), so the dashboards stay on the latest cycle.
async fn shown_tables(
    results: &StoreRoot,
    run_id: &str,
    year: i32,
    all: &ResultTables,
    later: Option<&CurrentRun>,
    audience: Disclosure,
) -> Result<AudienceTables, RunError> {
    let failed = |e: pmm_ingest::BoxError| RunError::FailedBecause {
        context: format!("run {run_id} is published, but its metrics could not be built"),
        source: e,
    };
    let Some(later) = later else {
        return AudienceTables::of(run_id, year, all, audience).map_err(|e| failed(e.into()));
    };
    published::read_audience_tables(results, &later.path, audience)
        .await
        .map_err(|e| failed(e.into()))
}

async fn export_metrics(
    publish: &PrometheusPublish,
    history: Option<&RecordBatch>,
    tables: AudienceTables,
    health: &RunHealth,
) -> Result<MetricsReport, PublishError> {
    let metrics = metrics::encode(&tables, history, health)?;
    let textfile = match &publish.textfile {
        Some(path) => {
            let written = export::write_textfile(path, &metrics.text)
                .await
                .map(|()| path.display().to_string());
            if let Err(e) = &written {
                tracing::error!("{e}");
            }
            Some(written)
        }
        None => None,
    };
    let pushgateway = match &publish.pushgateway {
        Some(base) => {
            let pushed = export::push(base, &health.pipeline, &metrics.text)
                .await
                .map(|()| pmm_store::display_url(&export::push_url(base, &health.pipeline)));
            if let Err(e) = &pushed {
                tracing::error!("{e}");
            }
            Some(pushed)
        }
        None => None,
    };
    Ok(MetricsReport {
        audience: publish.audience,
        samples: metrics.samples,
        textfile,
        pushgateway,
    })
}

/// `YYYYMMDDTHHMMSSZ-xxxxxx`: sorts by start time to the millisecond (the suffix's first ten
/// bits are the millisecond, the other fourteen random, as in a UUID v7), so a run that starts
/// after another has the greater id and `latest.json` moves to it even within one second; two
/// runs starting in the same millisecond differ by their random bits.
pub(crate) fn new_run_id(started: DateTime<Utc>) -> String {
    let millis = started.timestamp_subsec_millis().min(999);
    let [a, b, ..] = *uuid::Uuid::new_v4().as_bytes();
    let random = u32::from(u16::from_be_bytes([a, b]) & 0x3fff);
    format!(
        "{}-{:06x}",
        started.format("%Y%m%dT%H%M%SZ"),
        (millis << 14) | random
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_start_time_to_the_millisecond() {
        let start = DateTime::parse_from_rfc3339("2026-12-02T04:05:06.007Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut previous = new_run_id(start);
        assert!(previous.starts_with("20261202T040506Z-"), "{previous}");
        assert_eq!(previous.len(), "20261202T040506Z-".len() + 6);
        for millis in [8, 9, 500, 998, 999] {
            let later = start + chrono::Duration::milliseconds(millis - 7);
            let id = new_run_id(later);
            assert!(id > previous, "{id} after {previous}");
            previous = id;
        }
        let next_second = new_run_id(start + chrono::Duration::milliseconds(993));
        assert!(
            next_second.starts_with("20261202T040507Z-00"),
            "{next_second}"
        );
    }
}
