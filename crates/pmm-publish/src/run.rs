//! One run of a pipeline, end to end: discover, read and validate, evaluate, score, publish.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use object_store::{ObjectStoreExt, PutMode, PutPayload, UpdateVersion, WriteMultipart};
use pmm_catalog::{
    Catalog, Disclosure, MembersRegistry, Pipeline, PrometheusPublish, StoreLocation,
};
use pmm_engine::{
    DatasetState, Engine, EvaluationInputs, MemberContext, ResultTables, ScoringOptions,
    score_and_roll_up,
};
use pmm_ingest::{
    InputObject, Severity, StoreRoot, SubmissionOutcome, ValidationIssue, discover, open_object,
    open_store, read_submission,
};
use serde_json::json;

use crate::export::{self, ExportError};
use crate::metrics::{self, AudienceTables, RunHealth};
use crate::tables;

/// What a caller can change of a pipeline for one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Reporting year instead of the pipeline's.
    pub year: Option<i32>,
    /// Results location instead of the pipeline's.
    pub results: Option<StoreLocation>,
    /// Submissions read at once (default 4).
    pub concurrency: Option<usize>,
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

/// Why a run did not publish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The catalog, registry or pipeline is wrong, or a location cannot be used: nothing ran.
    #[error("{0}")]
    Config(String),
    /// The run started and failed; nothing new was published.
    #[error("{0}")]
    Failed(String),
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
    /// Every submission read, accepted or not.
    pub submissions: Vec<SubmissionStatus>,
    /// Every validation issue.
    pub issues: Vec<ValidationIssue>,
    /// Result files written, relative to the results location.
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
    let catalog = Arc::new(
        Catalog::load(&pipeline.catalog)
            .map_err(|p| RunError::Config(format!("the catalog has problems:\n{p}")))?,
    );
    let registry = load_registry(pipeline).await?;
    let settings = &pipeline.storage;
    let source = open_store(&pipeline.source, false, settings)
        .map_err(|e| RunError::Config(format!("source {e}")))?;
    let results_location = options
        .results
        .clone()
        .unwrap_or_else(|| pipeline.results.clone());
    let results = open_store(&results_location, true, settings)
        .map_err(|e| RunError::Config(format!("results {e}")))?;

    progress.event(ProgressEvent::Stage {
        name: "discovering submissions",
        total: 0,
    });
    let discovery = discover(&source, &registry, &catalog, &[year, year - 1], year)
        .await
        .map_err(|e| RunError::Failed(format!("cannot list the source {}: {e}", source.display)))?;
    progress.event(ProgressEvent::StageDone);
    tracing::info!(
        submissions = discovery.submissions.len(),
        "discovered submissions"
    );

    let outcomes = read_all(
        &source,
        discovery.submissions,
        &catalog,
        pipeline,
        options,
        progress,
    )
    .await?;

    let mut issues = discovery.issues;
    let mut inputs: Vec<InputObject> = Vec::new();
    let mut evaluation = EvaluationInputs::new(year);
    evaluation.members = registry.members.iter().map(|m| m.code.clone()).collect();
    let mut statuses = Vec::new();
    let mut manifests = BTreeMap::new();
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
        for dataset in outcome.datasets {
            let state = if dataset.accepted && outcome.rejected.is_none() {
                DatasetState::Accepted
            } else {
                DatasetState::Rejected
            };
            if !dataset.accepted {
                let reason = dataset
                    .issues
                    .iter()
                    .find(|i| i.severity == Severity::Error && i.row.is_none())
                    .map(|i| i.message.clone())
                    .unwrap_or_default();
                rejected_datasets.push((dataset.dataset.clone(), reason));
            }
            evaluation.datasets.insert(key(&dataset.dataset), state);
            evaluation
                .batches
                .entry(dataset.dataset.clone())
                .or_default()
                .extend(dataset.batches);
            issues.extend(dataset.issues);
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
    inputs.sort_by(|a, b| a.path.cmp(&b.path));

    progress.event(ProgressEvent::Stage {
        name: "computing indicators",
        total: catalog.indicators.len() as u64,
    });
    let engine = Engine::new(&catalog, &evaluation).map_err(|e| RunError::Failed(e.to_string()))?;
    let mut values = Vec::new();
    for indicator in &catalog.indicators {
        values.extend(
            engine
                .evaluate(indicator, &evaluation)
                .await
                .map_err(|e| RunError::Failed(e.to_string()))?,
        );
        progress.event(ProgressEvent::Step {
            message: &indicator.id,
        });
    }
    drop(engine);
    drop(evaluation);
    progress.event(ProgressEvent::StageDone);

    let members: Vec<MemberContext> = registry
        .members
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
        .collect();
    let options_scoring = ScoringOptions {
        min_coverage: pipeline.min_coverage,
        min_group_size: pipeline.min_group_size,
        disclosure_default: pipeline.disclosure_default,
    };
    let tables = score_and_roll_up(&catalog, &values, &members, options_scoring);

    let run_id = new_run_id(started);
    let publication = Publication {
        root: &results,
        run_id: &run_id,
        year,
        part_size: PART_SIZE,
    };
    let files = publication
        .write(pipeline, &tables, &issues, progress)
        .await
        .map_err(|e| {
            RunError::Failed(format!(
                "cannot write the results to {}: {e}",
                results.display
            ))
        })?;
    let finished = Utc::now();
    let duration_seconds = clock.elapsed().as_secs_f64();
    let health = RunHealth::new(
        &pipeline.name,
        finished.timestamp_millis() as f64 / 1000.0,
        duration_seconds,
        &statuses,
        &issues,
    );
    let manifest = run_manifest(
        pipeline, &catalog, &run_id, year, started, finished, &health, &inputs, &statuses, &files,
    );
    let latest = publication.finish(&manifest).await.map_err(|e| {
        RunError::Failed(format!(
            "cannot write the results to {}: {e}",
            results.display
        ))
    })?;
    if let Latest::Newer(newer) = &latest {
        tracing::warn!(
            run_id,
            latest = newer,
            "a newer run is already the latest: this run is complete under runs/{run_id} but latest.json still names {newer}"
        );
    }
    tracing::info!(run_id, duration_seconds, "published");
    let metrics = match &pipeline.prometheus {
        Some(publish) => Some(
            export_metrics(publish, &run_id, year, &tables, &health)
                .await
                .map_err(|e| {
                    RunError::Failed(format!(
                        "run {run_id} is published, but its metrics could not be built: {e}"
                    ))
                })?,
        ),
        None => None,
    };
    Ok(RunSummary {
        location: format!("{}/runs/{run_id}", results.display.trim_end_matches('/')),
        run_id,
        year,
        health,
        results: tables,
        submissions: statuses,
        issues,
        files,
        metrics,
        latest,
    })
}

/// Builds the metrics of the pipeline's audience and sends them where the pipeline says.
async fn export_metrics(
    publish: &PrometheusPublish,
    run_id: &str,
    year: i32,
    all: &ResultTables,
    health: &RunHealth,
) -> Result<MetricsReport, PublishError> {
    let view = all.for_audience(publish.audience);
    let tables = AudienceTables {
        indicator_values: tables::indicator_values(run_id, year, &view.indicators)?,
        outcome_scores: tables::scores(run_id, year, &view.outcomes, true)?,
        dimension_scores: tables::scores(run_id, year, &view.dimensions, false)?,
        peer_stats: tables::peer_stats(run_id, year, &view.peers)?,
    };
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
                .map(|()| export::redact(&export::push_url(base, &health.pipeline)));
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
            let (root, name) = open_object(remote, &pipeline.storage)
                .map_err(|e| RunError::Config(format!("members {e}")))?;
            let display = format!("{}/{name}", root.display.trim_end_matches('/'));
            let bytes = async { root.store.get(&root.key(&name)).await?.bytes().await }
                .await
                .map_err(|e| {
                    RunError::Failed(format!("cannot read the members registry {display}: {e}"))
                })?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                RunError::Config(format!("the members registry {display} is not UTF-8"))
            })?;
            MembersRegistry::parse(std::path::Path::new(&display), &text).map_err(problems)
        }
    }
}

/// Reads every submission, a few at a time, each on its own task so the two cores share the
/// parsing.
async fn read_all(
    source: &StoreRoot,
    submissions: Vec<pmm_ingest::SubmissionFiles>,
    catalog: &Arc<Catalog>,
    pipeline: &Pipeline,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Vec<SubmissionOutcome>, RunError> {
    progress.event(ProgressEvent::Stage {
        name: "reading submissions",
        total: submissions.len() as u64,
    });
    let concurrency = options
        .concurrency
        .unwrap_or(pipeline.storage.concurrency)
        .max(1);
    let max_invalid = pipeline.max_invalid_row_fraction;
    let mut tasks = futures::stream::iter(submissions.into_iter().map(|files| {
        let (source, catalog) = (source.clone(), catalog.clone());
        tokio::spawn(async move { read_submission(&source, &files, &catalog, max_invalid).await })
    }))
    .buffer_unordered(concurrency);
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.next().await {
        let outcome = joined
            .map_err(|e| RunError::Failed(format!("a reading task failed: {e}")))?
            .map_err(|e| RunError::Failed(e.to_string()))?;
        progress.event(ProgressEvent::Step {
            message: &format!("member={}/year={}", outcome.member, outcome.year),
        });
        outcomes.push(outcome);
    }
    progress.event(ProgressEvent::StageDone);
    Ok(outcomes)
}

/// `YYYYMMDDTHHMMSSZ-xxxxxx`: sorts by start time, unique across concurrent runs.
fn new_run_id(started: DateTime<Utc>) -> String {
    let nanos = started.timestamp_subsec_nanos() as u64;
    let salt =
        (nanos ^ (u64::from(std::process::id()) << 20)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    format!("{}-{salt:06x}", started.format("%Y%m%dT%H%M%SZ"))
}

/// Result objects written so far, for the crash test hook.
static WRITES: AtomicUsize = AtomicUsize::new(0);

/// The files of one run, written under `runs/<run_id>/` and then `latest.json`.
struct Publication<'a> {
    root: &'a StoreRoot,
    run_id: &'a str,
    year: i32,
    /// Files above this size go up in parts of this size.
    part_size: usize,
}

impl Publication<'_> {
    /// Writes one result object: one PUT for a file up to `part_size`, a multipart upload
    /// in parts of that size for a larger one (parts go up concurrently; a failed upload is
    /// aborted by `object_store`, and stores expire what an interrupted process leaves).
    async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        let key = self.root.key(relative);
        if bytes.len() <= self.part_size {
            self.root
                .store
                .put(&key, PutPayload::from(Bytes::from(bytes)))
                .await?;
        } else {
            let upload = self.root.store.put_multipart(&key).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            writer.put(Bytes::from(bytes));
            writer.finish().await?;
        }
        Self::count_write();
        Ok(())
    }

    /// Test hook: `PMM_CRASH_AFTER_WRITES=N` kills the process after N result objects, so a
    /// test can check that a run dying midway leaves the previous run as latest.
    fn count_write() {
        let written = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
        if std::env::var("PMM_CRASH_AFTER_WRITES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            == Some(written)
        {
            std::process::abort();
        }
    }

    /// Replaces `latest.json` with this run, unless a newer run (a later run id) is already
    /// there. Where the store supports conditional writes (S3, GCS, Azure), the replacement
    /// is a compare-and-swap on the ETag that was read, retried when another run got in
    /// between, so two runs racing leave the newer one as latest. A local folder has no
    /// conditional update: the write is an atomic rename, so `latest.json` is never torn. After
    /// writing, the run reads `latest.json` back and writes again if an older run replaced it
    /// in between; only two runs finishing within the same few milliseconds on a store
    /// without conditional writes can leave the older one as latest (a complete run still).
    async fn replace_latest(&self) -> Result<Latest, PublishError> {
        let key = self.root.key("latest.json");
        let body = serde_json::to_vec_pretty(
            &json!({"run_id": self.run_id, "path": format!("runs/{}", self.run_id)}),
        )?;
        for _ in 0..LATEST_ATTEMPTS {
            let mode = match self.root.store.get(&key).await {
                Ok(current) => {
                    let version = UpdateVersion {
                        e_tag: current.meta.e_tag.clone(),
                        version: current.meta.version.clone(),
                    };
                    let newer =
                        named_run(&current.bytes().await?).filter(|id| id.as_str() > self.run_id);
                    if let Some(newer) = newer {
                        return Ok(Latest::Newer(newer));
                    }
                    PutMode::Update(version)
                }
                Err(object_store::Error::NotFound { .. }) => PutMode::Create,
                Err(e) => return Err(e.into()),
            };
            let payload = PutPayload::from(Bytes::from(body.clone()));
            match self
                .root
                .store
                .put_opts(&key, payload.clone(), mode.into())
                .await
            {
                Ok(_) => {}
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. },
                ) => continue,
                Err(object_store::Error::NotImplemented { .. }) => {
                    self.root.store.put(&key, payload).await?;
                }
                Err(e) => return Err(e.into()),
            }
            Self::count_write();
            // Some stores accept the conditional headers and ignore them (Garage 2.5 does):
            // read back, and try again if an older run wrote over this one meanwhile.
            let after = self.root.store.get(&key).await?.bytes().await?;
            let named = named_run(&after).unwrap_or_default();
            match named.as_str().cmp(self.run_id) {
                std::cmp::Ordering::Equal => return Ok(Latest::Replaced),
                std::cmp::Ordering::Greater => return Ok(Latest::Newer(named)),
                std::cmp::Ordering::Less => continue,
            }
        }
        Err(PublishError::Contended)
    }

    /// Writes every audience's tables; returns the files written.
    async fn write(
        &self,
        pipeline: &Pipeline,
        all: &ResultTables,
        issues: &[ValidationIssue],
        progress: &dyn Progress,
    ) -> Result<Vec<String>, PublishError> {
        let audiences = &pipeline.audiences;
        progress.event(ProgressEvent::Stage {
            name: "publishing results",
            total: audiences.len() as u64,
        });
        let mut files = Vec::new();
        for audience in audiences {
            let view = all.for_audience(*audience);
            let mut batches = vec![
                (
                    "indicator_values",
                    tables::indicator_values(self.run_id, self.year, &view.indicators)?,
                ),
                (
                    "outcome_scores",
                    tables::scores(self.run_id, self.year, &view.outcomes, true)?,
                ),
                (
                    "dimension_scores",
                    tables::scores(self.run_id, self.year, &view.dimensions, false)?,
                ),
                (
                    "peer_stats",
                    tables::peer_stats(self.run_id, self.year, &view.peers)?,
                ),
            ];
            if *audience == Disclosure::Secretariat {
                batches.push((
                    "validation_issues",
                    tables::validation_issues(self.run_id, issues)?,
                ));
            }
            for (name, batch) in batches {
                let relative = format!("runs/{}/{}/{name}.arrow", self.run_id, audience);
                self.put(&relative, tables::ipc_file(&batch)?).await?;
                files.push(relative);
            }
            progress.event(ProgressEvent::Step {
                message: audience.as_str(),
            });
        }
        progress.event(ProgressEvent::StageDone);
        Ok(files)
    }

    /// Writes the run manifest, then replaces `latest.json`: last, so a reader following it
    /// never sees a run that is not complete.
    async fn finish(&self, manifest: &serde_json::Value) -> Result<Latest, PublishError> {
        self.put(
            &format!("runs/{}/manifest.json", self.run_id),
            serde_json::to_vec_pretty(manifest)?,
        )
        .await?;
        self.replace_latest().await
    }
}

/// The run id a `latest.json` names, if it is readable.
fn named_run(latest: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(latest)
        .ok()?
        .get("run_id")?
        .as_str()
        .map(str::to_string)
}

/// Result files larger than this go up as multipart uploads, in parts of this size.
const PART_SIZE: usize = 16 << 20;

/// How many times a run tries to replace `latest.json` while other runs keep replacing it.
const LATEST_ATTEMPTS: usize = 20;

/// What became of `latest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Latest {
    /// It names this run.
    Replaced,
    /// It already named a newer run (this id), which was left in place: this run is complete
    /// under its own folder, and not the latest.
    Newer(String),
}

/// A failure while writing results.
#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error(transparent)]
    Store(#[from] object_store::Error),
    #[error("encoding a result table: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
    #[error(
        "latest.json kept changing under this run: {LATEST_ATTEMPTS} attempts to replace it lost to other runs"
    )]
    Contended,
}

#[allow(clippy::too_many_arguments)]
fn run_manifest(
    pipeline: &Pipeline,
    catalog: &Catalog,
    run_id: &str,
    year: i32,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    health: &RunHealth,
    inputs: &[InputObject],
    statuses: &[SubmissionStatus],
    files: &[String],
) -> serde_json::Value {
    json!({
        "run_id": run_id,
        "pipeline": pipeline.name,
        "year": year,
        "started_at": started.to_rfc3339_opts(SecondsFormat::Millis, true),
        "finished_at": finished.to_rfc3339_opts(SecondsFormat::Millis, true),
        "duration_seconds": health.duration_seconds,
        "catalog_hash": catalog.hash,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "source": pipeline.source.to_string(),
        "audiences": pipeline.audiences,
        "inputs": inputs.iter().map(|i| json!({"path": i.path, "size": i.size, "etag": i.e_tag, "version": i.version})).collect::<Vec<_>>(),
        "counts": {
            "submissions_accepted": health.submissions_accepted,
            "submissions_rejected": health.submissions_rejected,
            "datasets_rejected": statuses.iter().map(|s| s.rejected_datasets.len()).sum::<usize>(),
            "validation_issues_error": health.issues_error,
            "validation_issues_warning": health.issues_warning,
        },
        "files": files,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use object_store::path::Path;

    use super::*;

    fn root(store: Arc<InMemory>) -> StoreRoot {
        StoreRoot {
            store,
            prefix: Path::from("results"),
            display: "memory://results".into(),
        }
    }

    #[tokio::test]
    async fn a_large_result_file_goes_up_in_parts_and_arrives_whole() {
        let store = Arc::new(InMemory::new());
        let root = root(store.clone());
        let publication = Publication {
            root: &root,
            run_id: "20240101T000000Z-000001",
            year: 2024,
            part_size: 1000,
        };
        let bytes: Vec<u8> = (0..10_500u32).map(|i| (i % 251) as u8).collect();
        publication
            .put("runs/x/big.arrow", bytes.clone())
            .await
            .unwrap();
        publication
            .put("runs/x/small.arrow", vec![1, 2, 3])
            .await
            .unwrap();
        let read = |key: &'static str| {
            let store = store.clone();
            async move {
                store
                    .get(&Path::from(key))
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(read("results/runs/x/big.arrow").await.to_vec(), bytes);
        assert_eq!(
            read("results/runs/x/small.arrow").await.to_vec(),
            vec![1, 2, 3]
        );
    }

    #[tokio::test]
    async fn latest_is_never_moved_back_to_an_older_run() {
        let store = Arc::new(InMemory::new());
        let root = root(store.clone());
        let publication = |run_id: &'static str| Publication {
            root: &root,
            run_id,
            year: 2024,
            part_size: PART_SIZE,
        };
        let newer = "20240102T000000Z-000002";
        let older = "20240101T000000Z-000001";
        assert_eq!(
            publication(newer).replace_latest().await.unwrap(),
            Latest::Replaced
        );
        assert_eq!(
            publication(older).replace_latest().await.unwrap(),
            Latest::Newer(newer.to_string())
        );
        let latest: serde_json::Value = serde_json::from_slice(
            &store
                .get(&Path::from("results/latest.json"))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(latest["run_id"], newer);
        assert_eq!(latest["path"], format!("runs/{newer}"));
    }
}
