//! The PMM engine: indicator SQL over the validated data, with DataFusion.
//!
//! Ingestion stages every member's valid rows as Parquet and hands the engine where they are
//! ([`EvaluationInputs`]); the engine registers one listing table per dataset over those files
//! (all members, T and T-1 together), bounds its memory ([`EngineConfig`]) and runs each
//! indicator's SQL once for all members, then decides each member's status in the catalog's
//! order, then scores and rolls up ([`score_and_roll_up`]). The same path serves a scheduled run and `pmm test`'s fixture cases
//! ([`run_fixtures`]). [`check_catalog_sql`] checks every indicator's SQL without data: read
//! only, declared tables only, plans against the contracts, returns the right columns.
//!
//! The engine never parses YAML (the catalog crate does) and never reads files (ingestion
//! does); fixture CSV goes through ingestion's validator, as submitted files will.

mod check;
mod cluster;
mod evaluate;
mod fixtures;
mod functions;
mod guard;
mod scoring;

pub use check::check_catalog_sql;
pub use cluster::{EnvironmentStores, PROBE_TIMEOUT, cluster_runtime, probe};
pub use evaluate::{
    DatasetState, Engine, EvaluationInputs, IndicatorValue, TableFile, memory_limit_bytes,
};
pub use fixtures::{FixtureFailure, FixtureReport, run_fixtures};
pub use functions::{hours_between, percentile_exact, register_functions, type7, type7_sorted};
pub use scoring::{MemberContext, ScoringOptions, level, score_and_roll_up};

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An indicator's SQL failed to check, plan or run.
    #[error("indicator {id}: {message}")]
    Indicator {
        /// The indicator id.
        id: String,
        /// What went wrong, for people (DataFusion's text tidied, with what to do).
        message: String,
        /// DataFusion's error, when the query engine failed (not for a refused statement or a
        /// wrong shape of result).
        #[source]
        source: Option<Box<datafusion::error::DataFusionError>>,
    },
    /// The Ballista cluster of `engine.ballista` cannot take the run's queries.
    #[error("the Ballista scheduler at {url} (engine.ballista): {message}")]
    Cluster {
        /// The scheduler's `df://` address.
        url: String,
        /// What went wrong and what to check.
        message: String,
    },
    /// DataFusion or Arrow failed outside any one indicator.
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while the engine arranged data.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Ingestion failed on a bug.
    #[error(transparent)]
    Ingest(#[from] pmm_ingest::Error),
    /// Something that cannot happen happened: a bug in pmm.
    #[error("internal error (a bug in pmm): {0}")]
    Internal(String),
}

impl Error {
    /// Whether a query ran out of the memory `engine.memory_limit` allows (its operators could
    /// not spill enough): the same query may succeed when it has the pool to itself.
    pub fn is_out_of_memory(&self) -> bool {
        let root = match self {
            Error::Indicator {
                source: Some(e), ..
            } => e.find_root(),
            Error::DataFusion(e) => e.find_root(),
            _ => return false,
        };
        matches!(
            root,
            datafusion::error::DataFusionError::ResourcesExhausted(_)
        )
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
