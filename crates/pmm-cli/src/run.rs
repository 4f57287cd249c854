//! `pmm run`: the scheduled job, with progress on stderr and a readable summary on stdout.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use pmm_catalog::{Pipeline, StoreLocation};
use pmm_results::{RollupStatus, ScoreRow};
use pmm_run::{
    Progress, ProgressEvent, RunError, RunOptions, RunSummary, Shard, StageSummary, run_pipeline,
    stage_pipeline,
};

use crate::{EXIT_CONFIG, EXIT_FAILED};

/// The pipeline and the run's options from the command line, or the exit code when they are
/// wrong (the problems printed).
fn load(
    pipeline: &Path,
    year: Option<i32>,
    results: Option<String>,
) -> Result<(Pipeline, RunOptions), u8> {
    let pipeline = match Pipeline::load(pipeline) {
        Ok(p) => p,
        Err(problems) => {
            eprint!("{problems}");
            eprintln!("the pipeline has problems: nothing ran");
            return Err(EXIT_CONFIG);
        }
    };
    let results = match results
        .map(|r| StoreLocation::resolve(&PathBuf::from("."), &r))
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: --results: {e}");
            return Err(EXIT_CONFIG);
        }
    };
    let options = RunOptions {
        year,
        results,
        ..RunOptions::default()
    };
    Ok((pipeline, options))
}

/// Stages one shard of a pipeline's members; returns the exit code.
pub(crate) async fn stage(
    pipeline: &Path,
    year: Option<i32>,
    results: Option<String>,
    shard: Shard,
) -> anyhow::Result<u8> {
    let (pipeline, options) = match load(pipeline, year, results) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let progress = CliProgress::new();
    let staged = stage_pipeline(&pipeline, &options, shard, &progress).await;
    Ok(exit_code(
        staged,
        &progress,
        |summary| print_stage_summary(&pipeline, &summary),
        &format!(
            "staging {} failed: what was staged stays staged and is reused; run it again",
            shown(shard)
        ),
    ))
}

/// `shard 1/4`, or `all members` without `--shard`.
fn shown(shard: Shard) -> String {
    if shard == Shard::ALL {
        "all members".into()
    } else {
        format!("shard {shard}")
    }
}

/// Prints what a run (or a stage-only run) gave, or its error and what became of it (`failed`),
/// and returns the exit code: 0 done, 1 failed, 2 a configuration error (nothing ran).
fn exit_code<T>(
    outcome: Result<T, RunError>,
    progress: &CliProgress,
    print: impl FnOnce(T),
    failed: &str,
) -> u8 {
    progress.clear();
    match outcome {
        Ok(summary) => {
            print(summary);
            0
        }
        Err(e) if e.is_config() => {
            eprintln!("error: {e}");
            eprintln!("nothing ran");
            EXIT_CONFIG
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("{failed}");
            EXIT_FAILED
        }
    }
}

fn print_stage_summary(pipeline: &Pipeline, summary: &StageSummary) {
    outln!(
        "Staged {} of pipeline {} in {:.1} s: {} of {} members, {} submissions",
        shown(summary.shard),
        pipeline.name,
        summary.duration_seconds,
        summary.members.len(),
        summary.members_total,
        summary.submissions,
    );
    outln!("  staging: {}", summary.staging);
    outln!(
        "  inputs: {} read and staged ({} records), {} unchanged and already staged",
        summary.inputs_read,
        summary.rows_read,
        summary.inputs_reused
    );
    if summary.inputs_not_kept > 0 {
        outln!(
            "  {} not kept: the store failed while they were read; `pmm run` reads them again",
            counted(summary.inputs_not_kept as u64, "input")
        );
    }
    if summary.submissions_rejected + summary.datasets_rejected > 0 {
        outln!(
            "  rejected: {}, {} (staged as rejected; the run reports them)",
            counted(summary.submissions_rejected as u64, "submission"),
            counted(summary.datasets_rejected as u64, "dataset file"),
        );
    }
    outln!("  time: {}", reading_time(&summary.phases));
    if !summary.members.is_empty() {
        outln!("  members: {}", summary.members.join(" "));
    }
    outln!(
        "Nothing was published. When every shard is staged, `pmm run {}` reuses what they staged.",
        pipeline.path.display()
    );
}

/// The discover and read phases for people, as a run's and a stage-only run's summaries
/// show them: `discover 0.0 s, read 2.1 s (thread seconds: decode 1.6, validate 1.3, stage 0.8)`.
fn reading_time(phases: &pmm_publish::PhaseTimings) -> String {
    format!(
        "discover {:.1} s, read {:.1} s (thread seconds: decode {:.1}, validate {:.1}, stage {:.1})",
        phases.discover_seconds,
        phases.read_seconds,
        phases.decode_thread_seconds,
        phases.validate_thread_seconds,
        phases.stage_thread_seconds
    )
}

/// Runs a pipeline; returns the exit code.
pub(crate) async fn run(
    pipeline: &Path,
    year: Option<i32>,
    results: Option<String>,
) -> anyhow::Result<u8> {
    let (pipeline, options) = match load(pipeline, year, results) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let progress = CliProgress::new();
    let ran = run_pipeline(&pipeline, &options, &progress).await;
    Ok(exit_code(
        ran,
        &progress,
        |summary| print_summary(&pipeline, &summary),
        "the run failed: nothing new was published; the previous run is still the latest",
    ))
}

/// A progress bar on a terminal, one plain line per stage otherwise (logs, CI).
pub(crate) struct CliProgress {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
    stage: Mutex<(String, Instant)>,
}

impl CliProgress {
    pub(crate) fn new() -> Self {
        CliProgress {
            bar: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
            stage: Mutex::new((String::new(), Instant::now())),
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(bar) = bar.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn event(&self, event: ProgressEvent<'_>) {
        match event {
            ProgressEvent::Stage { name, total } => {
                if let Ok(mut stage) = self.stage.lock() {
                    *stage = (name.to_string(), Instant::now());
                }
                if self.terminal {
                    let bar = if total > 0 {
                        ProgressBar::new(total)
                    } else {
                        ProgressBar::new_spinner()
                    };
                    let style = ProgressStyle::with_template(
                        "{spinner} {prefix:24} [{bar:30}] {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_prefix(name.to_string());
                    if let Ok(mut slot) = self.bar.lock() {
                        *slot = Some(bar);
                    }
                } else {
                    tracing::info!(
                        "{name}{}",
                        if total > 0 {
                            format!(" ({total})")
                        } else {
                            String::new()
                        }
                    );
                }
            }
            ProgressEvent::Step { message } => {
                if let Ok(bar) = self.bar.lock()
                    && let Some(bar) = bar.as_ref()
                {
                    bar.set_message(message.to_string());
                    bar.inc(1);
                }
            }
            ProgressEvent::StageDone => {
                self.clear();
                if let Ok(stage) = self.stage.lock() {
                    let seconds = stage.1.elapsed().as_secs_f64();
                    if self.terminal {
                        eprintln!("  {} ({seconds:.1} s)", stage.0);
                    } else {
                        tracing::info!("{} done in {seconds:.2} s", stage.0);
                    }
                }
            }
        }
    }
}

/// A count with its noun for people: `1 warning`, `0 warnings`, `3 errors`.
pub(crate) fn counted(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A size for people: `1.5 MiB`, `812 B` (binary units, one decimal).
pub(crate) fn human_bytes(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

fn cell(row: Option<&ScoreRow>) -> String {
    match row {
        None => "hidden".into(),
        Some(r) => match (r.status, r.score) {
            (RollupStatus::Ok, Some(score)) => format!("{score:.1}"),
            (RollupStatus::InsufficientCoverage, _) => "low cov".into(),
            _ => "n/a".into(),
        },
    }
}

fn print_summary(pipeline: &Pipeline, summary: &RunSummary) {
    let results = &summary.results;
    let members: Vec<&str> = {
        let mut m: Vec<&str> = results
            .dimensions
            .iter()
            .map(|r| r.member.as_str())
            .collect();
        m.dedup();
        m
    };
    let health = &summary.health;
    outln!(
        "Run {} of pipeline {} published in {:.1} s",
        summary.run_id,
        pipeline.name,
        health.duration_seconds
    );
    outln!("  results: {}", summary.location);
    let counts = &summary.manifest.counts;
    outln!(
        "  inputs: {} read and staged, {} unchanged and reused (staging: {})",
        counts.inputs_read,
        counts.inputs_reused,
        summary.manifest.staging
    );
    outln!(
        "  indicators: computed for {} members, reused for {} whose data had not changed",
        counts.members_evaluated,
        counts.members_reused
    );
    let phases = &summary.manifest.phases;
    outln!(
        "  time: {}, evaluate {:.1} s, score {:.1} s, publish {:.1} s",
        reading_time(phases),
        phases.evaluate_seconds,
        phases.score_seconds,
        phases.publish_seconds
    );
    if let Some(url) = &pipeline.engine.ballista {
        outln!("  engine: the Ballista cluster at {url} (engine.ballista)");
    }
    let engine = &summary.manifest.engine;
    if engine.spilled_bytes > 0 {
        outln!(
            "  memory: {} spilled to disk to stay within the {} of engine.memory_limit",
            human_bytes(engine.spilled_bytes),
            human_bytes(engine.memory_limit_bytes)
        );
    }
    if let pmm_publish::Latest::Newer(newer) = &summary.latest {
        outln!(
            "  latest.json: still names the newer run {newer}, which finished first; this run is complete under its own folder"
        );
    }
    outln!(
        "  year {}: {} members, {} submissions read (T and T-1), {} rejected; validation issues: {}, {}",
        summary.year,
        members.len(),
        summary.submissions.len(),
        health.submissions_rejected,
        counted(health.issues_error, "error"),
        counted(health.issues_warning, "warning"),
    );
    if let Some(current) = &summary.later_current {
        outln!(
            "  history: {} added to the history across cycles; the dashboards, `pmm serve` and `pmm report` go on showing {} (run {})",
            summary.year,
            current.year,
            current.run_id
        );
    }
    for warning in &summary.warnings {
        outln!("  warning: {warning}");
    }
    let flags = &summary.health.review_flags;
    outln!(
        "  review: {} to look at before publishing ({}){}",
        counted(flags.iter().sum(), "flag"),
        pmm_results::ReviewRule::ALL
            .iter()
            .zip(flags)
            .map(|(rule, n)| format!("{} {n}", rule.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        if flags.iter().sum::<u64>() > 0 {
            format!(
                ": {}",
                secretariat_table(summary, &pmm_results::REVIEW_FLAGS)
            )
        } else {
            String::new()
        }
    );
    outln!();
    outln!("Scores, 0 to 100 (n/a: nothing applicable, low cov: too few KPIs with a value)");
    let dimensions: Vec<&str> = summary
        .dimensions
        .iter()
        .map(String::as_str)
        .chain([pmm_results::OVERALL])
        .collect();
    out!("  {:6}", "member");
    for d in &dimensions {
        out!("{d:>9}");
    }
    outln!();
    for member in &members {
        out!("  {member:6}");
        for d in &dimensions {
            let row = results
                .dimensions
                .iter()
                .find(|r| r.member == *member && r.dimension == *d);
            out!("{:>9}", cell(row));
        }
        outln!();
    }
    let problems: Vec<_> = summary
        .submissions
        .iter()
        .filter(|s| s.rejected.is_some() || !s.rejected_datasets.is_empty())
        .collect();
    if !problems.is_empty() {
        outln!();
        outln!("Rejected");
        for s in problems {
            if let Some(why) = &s.rejected {
                outln!(
                    "  {} {}: the whole submission, because {why}",
                    s.member,
                    s.year
                );
                for issue in summary
                    .issues
                    .iter()
                    .filter(|i| i.member == s.member && i.year == s.year && i.rule == "manifest")
                {
                    outln!("      {}", issue.message);
                }
            }
            for (dataset, why) in &s.rejected_datasets {
                outln!("  {} {} {dataset}: {why}", s.member, s.year);
            }
        }
    }
    let unread: Vec<_> = summary
        .issues
        .iter()
        .filter(|i| matches!(i.rule.as_str(), "unknown_member" | "bad_folder"))
        .collect();
    if !unread.is_empty() {
        outln!();
        outln!("Not read");
        for issue in unread {
            outln!(
                "  {}: {}",
                issue.file.as_deref().unwrap_or(""),
                issue.message
            );
        }
    }
    if let Some(metrics) = &summary.metrics {
        outln!();
        outln!(
            "Metrics: {} samples from the {} results",
            metrics.samples,
            metrics.audience
        );
        let outcome = |what: &str, r: &Result<String, pmm_publish::export::ExportError>| match r {
            Ok(place) => outln!("  {what}: {place}"),
            Err(e) => outln!("  {what}: FAILED: {e} (the results are published all the same)"),
        };
        if let Some(r) = &metrics.textfile {
            outcome("textfile", r);
        }
        if let Some(r) = &metrics.pushgateway {
            outcome("pushed to", r);
        }
    }
    outln!();
    outln!(
        "Every issue, with its file, record and column: {}",
        secretariat_table(summary, &pmm_results::VALIDATION_ISSUES)
    );
}

/// Where a run wrote one of the Secretariat's tables, for people.
fn secretariat_table(summary: &RunSummary, table: &pmm_results::ResultTable) -> String {
    format!(
        "{}/{}",
        summary.location,
        pmm_store::layout::audience_table(
            pmm_catalog::Disclosure::Secretariat.as_str(),
            table.name
        )
    )
}
