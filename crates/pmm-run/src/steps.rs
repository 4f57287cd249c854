//! The steps a run and a dry run share, named: settings built once from a pipeline
//! ([`RunSettings`]), then [`compute`]: read every submission (staging what changed, reusing
//! what did not), put the outcomes together ([`assemble`]), evaluate every indicator for the
//! members whose inputs changed, and score and roll up. What differs between the two is
//! before (how submissions are discovered) and after (what is published, where).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use pmm_catalog::{
    Catalog, DEFAULT_MAX_INVALID_ROW_FRACTION, DEFAULT_MIN_COVERAGE, DEFAULT_MIN_GROUP_SIZE,
    Disclosure, EngineConfig, Limits, Member, Pipeline, SubmissionManifest,
};
use pmm_engine::{
    DatasetState, EvaluationInputs, MemberContext, ScoringOptions, score_and_roll_up,
};
use pmm_ingest::{
    DatasetOutcome, InputRecord, InputStatus, ReadSettings, ReadTimes, StagedEntry, StagingArea,
    SubmissionFiles, SubmissionOutcome, SubmissionReader, ValidationIssue,
};
use pmm_publish::PhaseTimings;
use pmm_results::ResultTables;
use pmm_store::{StoreRoot, layout};

use crate::evaluation::{self, Evaluated};
use crate::run::{Progress, ProgressEvent, RunError, SubmissionStatus};

/// What a run takes from its pipeline, built once: how inputs are read, how the engine may
/// use the machine, how values are scored.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    /// The validation threshold and the limits on submitted files.
    pub read: ReadSettings,
    /// The pipeline's `engine:` block.
    pub engine: EngineConfig,
    /// Coverage, peer group size and the default disclosure.
    pub scoring: ScoringOptions,
}

impl RunSettings {
    /// A pipeline's settings.
    pub fn of(pipeline: &Pipeline) -> Self {
        RunSettings {
            read: ReadSettings {
                max_invalid_row_fraction: pipeline.max_invalid_row_fraction,
                limits: pipeline.limits,
            },
            engine: pipeline.engine.clone(),
            scoring: ScoringOptions {
                min_coverage: pipeline.min_coverage,
                min_group_size: pipeline.min_group_size,
                disclosure_default: pipeline.disclosure_default,
            },
        }
    }

    /// A dry run's: what a pipeline that sets none of them has (a member checks its files
    /// as the Secretariat's default run would read and score them).
    pub fn defaults() -> Self {
        RunSettings {
            read: ReadSettings {
                max_invalid_row_fraction: DEFAULT_MAX_INVALID_ROW_FRACTION,
                limits: Limits::default(),
            },
            engine: EngineConfig::default(),
            scoring: ScoringOptions {
                min_coverage: DEFAULT_MIN_COVERAGE,
                min_group_size: DEFAULT_MIN_GROUP_SIZE,
                disclosure_default: Disclosure::Wco,
            },
        }
    }
}

/// Where a computation reads from and stages to, and with what.
pub(crate) struct Computation<'a> {
    /// The catalog.
    pub catalog: &'a Arc<Catalog>,
    /// The submissions.
    pub source: &'a StoreRoot,
    /// The staging area.
    pub staging: &'a StagingArea,
    /// The settings.
    pub settings: &'a RunSettings,
    /// Reporting year T.
    pub year: i32,
    /// Submissions read at once.
    pub concurrency: usize,
}

/// What [`compute`] gives: the assembled outcomes, the values and the scored tables.
pub(crate) struct Computed {
    /// What reading gave.
    pub assembled: Assembled,
    /// The staged entries reused (a run puts back any a collection took meanwhile).
    pub reused: Vec<StagedEntry>,
    /// The values and the engine's figures.
    pub evaluated: Evaluated,
    /// Every result row (the Secretariat's view).
    pub tables: ResultTables,
    /// The wall times of reading, evaluating and scoring, and the reading threads' times
    /// (the caller fills in the phases before and after).
    pub phases: PhaseTimings,
}

/// Reads `submissions`, assembles the outcomes with `discovery_issues`, evaluates and scores
/// for `members`.
pub(crate) async fn compute(
    run: &Computation<'_>,
    submissions: Vec<SubmissionFiles>,
    discovery_issues: Vec<ValidationIssue>,
    members: &[Member],
    progress: &dyn Progress,
) -> Result<Computed, RunError> {
    let reader = SubmissionReader {
        source: run.source.clone(),
        staging: run.staging.clone(),
        catalog: run.catalog.clone(),
        settings: run.settings.read,
    };
    let mut phases = PhaseTimings::default();
    let clock = Instant::now();
    let mut outcomes = read_all(&reader, submissions, run.concurrency, progress).await?;
    let mut times = ReadTimes::default();
    for staged in outcomes.iter().flat_map(|o| &o.datasets) {
        times += staged.times;
    }
    phases.decode_thread_seconds = times.decoding.as_secs_f64();
    phases.validate_thread_seconds = times.validating.as_secs_f64();
    phases.stage_thread_seconds = times.staging.as_secs_f64();
    let reused: Vec<StagedEntry> = outcomes
        .iter_mut()
        .flat_map(|o| std::mem::take(&mut o.reused))
        .collect();
    let mut assembled = assemble(
        run.catalog,
        run.staging,
        run.year,
        members.iter().map(|m| m.code.clone()).collect(),
        discovery_issues,
        outcomes,
    );
    phases.read_seconds = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let evaluated = evaluation::evaluate(
        run.catalog,
        run.staging,
        std::mem::take(&mut assembled.evaluation),
        &assembled.fingerprints,
        &run.settings.engine,
        progress,
    )
    .await?;
    if evaluated.figures.spilled_bytes > 0 {
        tracing::info!(
            spilled_bytes = evaluated.figures.spilled_bytes,
            memory_limit_bytes = evaluated.figures.memory_limit_bytes,
            "evaluation spilled to disk to stay within engine.memory_limit"
        );
    }
    phases.evaluate_seconds = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let contexts = member_contexts(members, &assembled.manifests);
    let tables = score_and_roll_up(
        run.catalog,
        &evaluated.values,
        &contexts,
        run.settings.scoring,
    );
    phases.score_seconds = clock.elapsed().as_secs_f64();
    Ok(Computed {
        assembled,
        reused,
        evaluated,
        tables,
        phases,
    })
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
                evaluation.add_dataset(
                    &outcome.member,
                    outcome.year,
                    &contract.name,
                    DatasetState::Rejected,
                    Vec::new(),
                );
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
            if let Some(reason) = dataset.rejection() {
                rejected_datasets.push((dataset.dataset.clone(), reason));
            }
            evaluation.add_dataset(
                &outcome.member,
                outcome.year,
                &dataset.dataset,
                state,
                staged.files,
            );
            issues.extend(dataset.issues.iter().cloned());
            datasets
                .entry(outcome.member.clone())
                .or_default()
                .push((outcome.year, dataset));
        }
        if outcome.year == year {
            if let Some(manifest) = &outcome.manifest {
                for indicator in manifest.not_applicable.keys() {
                    evaluation.declare_not_applicable(&outcome.member, indicator);
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
fn member_contexts(
    members: &[Member],
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

/// Reads every submission, a few at a time, each on its own task so the cores share the
/// parsing.
pub(crate) async fn read_all(
    reader: &SubmissionReader,
    submissions: Vec<SubmissionFiles>,
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
