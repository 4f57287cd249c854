//! Running a pipeline: the orchestration of the whole data flow, and the staging area's care.
//!
//! [`run_pipeline`] discovers the submissions (`pmm-ingest`), reads, validates and stages each
//! input that changed and reuses the staged entry of each that did not, evaluates every
//! indicator over the staged Parquet with bounded memory and scores the results
//! (`pmm-engine`), then publishes the result files, the run's manifest, its reference in the
//! staging area and `latest.json`, and the metrics (`pmm-publish`). Progress goes to a
//! [`Progress`] the caller implements.
//!
//! [`dry_run`] (`pmm dry-run`) is the same path for one member's own files, publishing
//! nothing. [`collect_garbage`] (`pmm gc`) removes staged data that no published run uses any
//! more. [`PublishedReport`] and [`DryRun::report_input`] gather what a member's report is made
//! of, so the CLI only renders and writes it.

mod dry_run;
mod evaluation;
mod gc;
mod history;
mod open;
mod report;
mod review;
mod run;
mod stage;
mod steps;

pub use dry_run::{DryRun, DryRunOptions, DryRunSummary, ScoreLine, dry_run};
pub use gc::{GcError, GcOptions, GcReport, collect_garbage};
pub use history::published_history;
pub use report::{PublishedReport, ReportLoadError, published_peers};
pub use review::{PublishedReview, published_review};
pub use run::{
    MetricsReport, NoProgress, Progress, ProgressEvent, RunError, RunOptions, RunSummary,
    SubmissionStatus, run_pipeline,
};
pub use stage::{MAX_SHARDS, Shard, StageSummary, stage_pipeline};
