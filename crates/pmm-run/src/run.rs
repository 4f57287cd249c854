//! One run of a pipeline, end to end: discover, read and stage (or reuse what is staged),
//! evaluate, score, publish.
//!
//! Why one file of this length (about 750 lines): [`run_pipeline`] reads top to bottom as the
//! run's steps in the order they take effect (nothing is published before everything is
//! computed, `latest.json` last), and that order is the thing to see at once. The steps'
//! helpers (assembling result rows, reading every submission, exporting metrics) sit below it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use pmm_catalog::{
    Catalog, Disclosure, MembersRegistry, Pipeline, PrometheusPublish, StoreLocation,
    SubmissionManifest,
};
use pmm_engine::{
    DatasetState, EngineSettings, EvaluationInputs, MemberContext, ScoringOptions, TableFile,
    score_and_roll_up,
};
use pmm_ingest::{
    DatasetOutcome, InputRecord, InputStatus, ReadSettings, RunReference, StagedEntry, StagingArea,
    SubmissionOutcome, SubmissionReader, ValidationIssue, discover,
};
use pmm_publish::export::{self, ExportError};
use pmm_publish::metrics::{self, AudienceTables, RunHealth};
use pmm_publish::{Latest, PART_SIZE, Publication, PublishError, RunCounts, RunManifest};
use pmm_results::ResultTables;
use pmm_store::{StoreRoot, layout, open_object, open_store};

use crate::evaluation;

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
    /// The run's manifest as published: every input with its status (read or reused) and
    /// fingerprint, the counts, the memory figures.
    pub manifest: RunManifest,
    /// Every submission read, accepted or not.
    pub submissions: Vec<SubmissionStatus>,
    /// Every validation issue.
    pub issues: Vec<ValidationIssue>,
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
    let year = options.year.unwrap_or(pipeline.year);
    let catalog = Arc::new(Catalog::load(&pipeline.catalog).map_err(RunError::Catalog)?);
    let registry = load_registry(pipeline).await?;
    let settings = &pipeline.storage;
    let source = match &options.source {
        Some(source) => source.clone(),
        None => {
            open_store(&pipeline.source, false, settings).map_err(|source| RunError::Store {
                what: "source",
                source,
            })?
        }
    };
    let results_location = options
        .results
        .clone()
        .unwrap_or_else(|| pipeline.results.clone());
    let results =
        open_store(&results_location, true, settings).map_err(|source| RunError::Store {
            what: "results",
            source,
        })?;
    let staging_location = pipeline.staging_for(&results_location);
    let staging = StagingArea {
        root: open_store(&staging_location, true, settings).map_err(|source| RunError::Store {
            what: "staging",
            source,
        })?,
    };
    let engine_settings = EngineSettings {
        memory_limit: pipeline.engine.memory_limit,
        spill_dir: pipeline.engine.spill_dir.clone(),
        ballista: pipeline.engine.ballista.clone(),
    };
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
        progress.event(ProgressEvent::Stage {
            name: "discovering submissions",
            total: 0,
        });
        let discovery = discover(&source, &registry, &catalog, &[year, year - 1], year)
            .await
            .map_err(|e| RunError::Request {
                context: format!("cannot list the source {}", source.display),
                source: e,
            })?;
        progress.event(ProgressEvent::StageDone);
        tracing::info!(
            submissions = discovery.submissions.len(),
            "discovered submissions"
        );

        let reader = SubmissionReader {
            source: source.clone(),
            staging: staging.clone(),
            catalog: catalog.clone(),
            settings: ReadSettings {
                max_invalid_row_fraction: pipeline.max_invalid_row_fraction,
                limits: pipeline.limits,
            },
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let concurrency = options
            .concurrency
            .or(pipeline.storage.concurrency)
            .unwrap_or(match source.url.scheme() {
                "file" | "memory" => cores,
                _ => cores.max(8),
            })
            .max(1);
        let mut outcomes = read_all(&reader, discovery.submissions, concurrency, progress).await?;
        let reused: Vec<StagedEntry> = outcomes
            .iter_mut()
            .flat_map(|o| std::mem::take(&mut o.reused))
            .collect();

        let members: Vec<String> = registry.members.iter().map(|m| m.code.clone()).collect();
        let Assembled {
            issues,
            inputs,
            evaluation,
            fingerprints,
            statuses,
            manifests,
            datasets: _,
        } = assemble(
            &catalog,
            &staging,
            year,
            members,
            discovery.issues,
            outcomes,
        );

        let evaluated = evaluation::evaluate(
            &catalog,
            &staging,
            evaluation,
            &fingerprints,
            &engine_settings,
            progress,
        )
        .await?;
        let engine_figures = evaluated.figures;
        let values = evaluated.values;
        if engine_figures.spilled_bytes > 0 {
            tracing::info!(
                spilled_bytes = engine_figures.spilled_bytes,
                memory_limit_bytes = engine_figures.memory_limit_bytes,
                "evaluation spilled to disk to stay within engine.memory_limit"
            );
        }

        let members = member_contexts(&registry.members, &manifests);
        let options_scoring = ScoringOptions {
            min_coverage: pipeline.min_coverage,
            min_group_size: pipeline.min_group_size,
            disclosure_default: pipeline.disclosure_default,
        };
        let tables = score_and_roll_up(&catalog, &values, &members, options_scoring);

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
        progress.event(ProgressEvent::Stage {
            name: "publishing results",
            total: pipeline.audiences.len() as u64,
        });
        let mut files = Vec::new();
        for audience in &pipeline.audiences {
            files.extend(
                publication
                    .write_audience(*audience, &tables, &issues)
                    .await
                    .map_err(write_failed)?,
            );
            progress.event(ProgressEvent::Step {
                message: audience.as_str(),
            });
        }
        progress.event(ProgressEvent::StageDone);
        let finished = Utc::now();
        let duration_seconds = clock.elapsed().as_secs_f64();
        let rejected = statuses.iter().filter(|s| s.rejected.is_some()).count() as u64;
        let health = RunHealth::new(
            &pipeline.name,
            finished.timestamp_millis() as f64 / 1000.0,
            duration_seconds,
            statuses.len() as u64,
            rejected,
            &issues,
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
            },
            engine: engine_figures,
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
                results: reference_location(&results_location),
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
                export_metrics(publish, &run_id, year, &tables, &health)
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
            location: results.shown(&layout::results::run(&run_id)),
            run_id,
            year,
            health,
            results: tables,
            manifest,
            submissions: statuses,
            issues,
            files: manifest_files,
            metrics,
            latest,
        })
    }
    .await;
    lease.release().await;
    outcome
}

/// What reading gave, put together for evaluation, scoring and the run's manifest.
pub(crate) struct Assembled {
    /// Every issue, in the result table's order.
    pub issues: Vec<ValidationIssue>,
    /// Every input, by path.
    pub inputs: Vec<InputRecord>,
    /// The engine's inputs.
    pub evaluation: EvaluationInputs,
    /// The input fingerprint of each (member, year, dataset), for the evaluation keys.
    pub fingerprints: BTreeMap<(String, i32, String), String>,
    /// Every submission read, by member and year.
    pub statuses: Vec<SubmissionStatus>,
    /// Each member's manifest for T (if valid) and whether its T submission was rejected.
    pub manifests: BTreeMap<String, (Option<SubmissionManifest>, bool)>,
    /// Every dataset file read or reused: (year, what validation found), by member.
    pub datasets: BTreeMap<String, Vec<(i32, DatasetOutcome)>>,
}

/// Puts the outcomes of reading together: dataset states and staged files for the engine,
/// issues sorted as the result table holds them, statuses, manifests.
pub(crate) fn assemble(
    catalog: &Catalog,
    staging: &StagingArea,
    year: i32,
    members: Vec<String>,
    discovery_issues: Vec<ValidationIssue>,
    outcomes: Vec<SubmissionOutcome>,
) -> Assembled {
    let mut issues = discovery_issues;
    let mut inputs: Vec<InputRecord> = Vec::new();
    let mut evaluation = EvaluationInputs::new(year);
    evaluation.members = members;
    evaluation.staging = Some(staging.root.clone());
    let mut statuses = Vec::new();
    let mut manifests = BTreeMap::new();
    let mut datasets: BTreeMap<String, Vec<(i32, DatasetOutcome)>> = BTreeMap::new();
    // The input fingerprint of each (member, year, dataset), for the evaluation keys.
    let mut fingerprints: BTreeMap<(String, i32, String), String> = BTreeMap::new();
    for outcome in outcomes {
        inputs.extend(outcome.inputs);
        issues.extend(outcome.issues);
        let key = |dataset: &str| (outcome.member.clone(), outcome.year, dataset.to_string());
        let mut rejected_datasets = Vec::new();
        if outcome.rejected.is_some() {
            for contract in &catalog.datasets {
                evaluation
                    .datasets
                    .insert(key(&contract.name), DatasetState::Rejected);
            }
        }
        for staged in outcome.datasets {
            if let Some(fingerprint) = staged.fingerprint {
                fingerprints.insert(key(&staged.outcome.dataset), fingerprint);
            }
            let dataset = staged.outcome;
            let state = if dataset.accepted && outcome.rejected.is_none() {
                DatasetState::Accepted
            } else {
                DatasetState::Rejected
            };
            if !dataset.accepted {
                let reason = pmm_ingest::rejection_reason(&dataset.issues);
                rejected_datasets.push((dataset.dataset.clone(), reason));
            }
            evaluation.datasets.insert(key(&dataset.dataset), state);
            if state == DatasetState::Accepted {
                evaluation
                    .tables
                    .entry(dataset.dataset.clone())
                    .or_default()
                    .extend(staged.files.into_iter().map(|file| TableFile {
                        member: outcome.member.clone(),
                        year: outcome.year,
                        file,
                    }));
            }
            issues.extend(dataset.issues.iter().cloned());
            datasets
                .entry(outcome.member.clone())
                .or_default()
                .push((outcome.year, dataset));
        }
        if outcome.year == year {
            if let Some(manifest) = &outcome.manifest {
                for indicator in manifest.not_applicable.keys() {
                    evaluation
                        .not_applicable
                        .insert((outcome.member.clone(), indicator.clone()));
                }
            }
            manifests.insert(
                outcome.member.clone(),
                (outcome.manifest.clone(), outcome.rejected.is_some()),
            );
        }
        statuses.push(SubmissionStatus {
            member: outcome.member,
            year: outcome.year,
            rejected: outcome.rejected,
            rejected_datasets,
        });
    }
    statuses.sort_by(|a, b| (&a.member, a.year).cmp(&(&b.member, b.year)));
    issues.sort_by(|a, b| {
        (
            &a.member,
            a.year,
            &a.dataset,
            &a.file,
            a.row.is_none(),
            a.row,
            &a.column,
            &a.rule,
        )
            .cmp(&(
                &b.member,
                b.year,
                &b.dataset,
                &b.file,
                b.row.is_none(),
                b.row,
                &b.column,
                &b.rule,
            ))
    });
    inputs.sort_by(|a, b| a.object.path.cmp(&b.object.path));
    // Files in a stable order, so every run plans its scans alike.
    for files in evaluation.tables.values_mut() {
        files.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    }

    Assembled {
        issues,
        inputs,
        evaluation,
        fingerprints,
        statuses,
        manifests,
        datasets,
    }
}

/// The scoring context of each member: region, income group, manifest for T.
pub(crate) fn member_contexts(
    members: &[pmm_catalog::Member],
    manifests: &BTreeMap<String, (Option<SubmissionManifest>, bool)>,
) -> Vec<MemberContext> {
    members
        .iter()
        .map(|m| {
            let (manifest, rejected) = manifests.get(&m.code).cloned().unwrap_or((None, false));
            MemberContext {
                member: m.code.clone(),
                region: m.region,
                income_group: m.income_group,
                manifest,
                submission_rejected: rejected,
            }
        })
        .collect()
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

/// Reads every submission, a few at a time, each on its own task so the cores share the
/// parsing.
pub(crate) async fn read_all(
    reader: &SubmissionReader,
    submissions: Vec<pmm_ingest::SubmissionFiles>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Vec<SubmissionOutcome>, RunError> {
    progress.event(ProgressEvent::Stage {
        name: "reading submissions",
        total: submissions.len() as u64,
    });
    let mut tasks = futures::stream::iter(submissions.into_iter().map(|files| {
        let reader = reader.clone();
        tokio::spawn(async move { reader.read(&files).await })
    }))
    .buffer_unordered(concurrency);
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.next().await {
        let outcome = joined
            .map_err(|e| RunError::FailedBecause {
                context: "a reading task failed".into(),
                source: e.into(),
            })?
            .map_err(RunError::Ingest)?;
        let reused = outcome
            .inputs
            .iter()
            .filter(|i| i.status == InputStatus::Reused)
            .count();
        progress.event(ProgressEvent::Step {
            message: &format!(
                "{} ({} inputs, {reused} reused)",
                layout::source::year_folder(&outcome.member, outcome.year),
                outcome.inputs.len()
            ),
        });
        outcomes.push(outcome);
    }
    progress.event(ProgressEvent::StageDone);
    Ok(outcomes)
}

/// Builds the metrics of the pipeline's audience and sends them where the pipeline says.
async fn export_metrics(
    publish: &PrometheusPublish,
    run_id: &str,
    year: i32,
    all: &ResultTables,
    health: &RunHealth,
) -> Result<MetricsReport, PublishError> {
    let tables = AudienceTables::of(run_id, year, all, publish.audience)?;
    let metrics = metrics::encode(&tables, health)?;
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

/// The members registry, from a local file or an object store.
async fn load_registry(pipeline: &Pipeline) -> Result<MembersRegistry, RunError> {
    let problems = |p| RunError::Config(format!("the members registry has problems:\n{p}"));
    match &pipeline.members {
        StoreLocation::Local(path) => MembersRegistry::load(path).map_err(problems),
        remote => {
            let (root, name) =
                open_object(remote, &pipeline.storage).map_err(|source| RunError::Store {
                    what: "members",
                    source,
                })?;
            let display = format!("{}/{name}", root.display.trim_end_matches('/'));
            let bytes = async { root.store.get(&root.key(&name)).await?.bytes().await }
                .await
                .map_err(|e| RunError::Request {
                    context: format!("cannot read the members registry {display}"),
                    source: e,
                })?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                RunError::Config(format!("the members registry {display} is not UTF-8"))
            })?;
            MembersRegistry::parse(std::path::Path::new(&display), &text).map_err(problems)
        }
    }
}

/// `YYYYMMDDTHHMMSSZ-xxxxxx`: sorts by start time, unique across concurrent runs.
pub(crate) fn new_run_id(started: DateTime<Utc>) -> String {
    let [a, b, c, ..] = *uuid::Uuid::new_v4().as_bytes();
    format!("{}-{a:02x}{b:02x}{c:02x}", started.format("%Y%m%dT%H%M%SZ"))
}
