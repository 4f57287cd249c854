//! Running a pipeline and publishing its results.
//!
//! The last library in the data flow: [`run_pipeline`] discovers the submissions (ingestion),
//! evaluates and scores them (engine), and writes the result tables of each audience as Arrow
//! IPC files under `<results>/runs/<run_id>/`, then the run's `manifest.json`, then replaces
//! `<results>/latest.json`, last, so a reader never follows it to a partial run.

mod run;
pub mod tables;

pub use run::{
    NoProgress, Progress, ProgressEvent, RunError, RunOptions, RunSummary, SubmissionStatus,
    run_pipeline,
};
