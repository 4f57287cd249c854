//! Publishing a run's results: the result files and what reads them back.
//!
//! The last library before the run's orchestration (`pmm-run`), and the first after the
//! engine: [`publication`] writes the result tables of each audience ([`tables`]) as Arrow IPC
//! files under `<results>/runs/<run_id>/`, then the run's `manifest.json`, then replaces
//! `<results>/latest.json` last, so a reader never follows it to a partial run. Both JSON files
//! are typed structs ([`manifest`]) shared by their writers and readers.
//!
//! Then the metrics: [`metrics`] turns one audience's tables and the run's health into
//! Prometheus gauges; [`export`] writes them as a node_exporter textfile and pushes them to a
//! Pushgateway; [`published`] reads a published run back (`latest.json`, manifest, tables)
//! and [`serve`] is the HTTP server of `pmm serve` over it.
//!
//! Every path comes from `pmm_store::layout`, every table's columns from `pmm_results`.

pub mod export;
pub mod manifest;
pub mod metrics;
pub mod publication;
pub mod published;
pub mod serve;
pub mod tables;

pub use manifest::{
    CurrentRun, EngineFigures, LatestPointer, PhaseTimings, ReviewFlagCounts, RunCounts,
    RunManifest,
};
pub use publication::{Latest, PART_SIZE, Publication, PublishError};
