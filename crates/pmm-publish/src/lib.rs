//! Running a pipeline and publishing its results.
//!
//! The last library in the data flow: [`run_pipeline`] discovers the submissions (ingestion),
//! evaluates and scores them (engine), and writes the result tables of each audience as Arrow
//! IPC files under `<results>/runs/<run_id>/`, then the run's `manifest.json`, then replaces
//! `<results>/latest.json`, last, so a reader never follows it to a partial run.
//!
//! Then the metrics: [`metrics`] turns one audience's tables and the run's health into
//! Prometheus gauges; [`export`] writes them as a node_exporter textfile and pushes them to a
//! Pushgateway; [`serve`] is the HTTP server of `pmm serve`, which reads published runs back
//! from the results store.

pub mod export;
pub mod metrics;
mod run;
pub mod serve;
pub mod tables;

pub use run::{
    Latest, MetricsReport, NoProgress, Progress, ProgressEvent, RunError, RunOptions, RunSummary,
    SubmissionStatus, run_pipeline,
};
