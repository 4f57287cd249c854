//! The result files' contract, in one crate that does not link DataFusion: each table's name
//! and columns ([`contract`]), its rows as Rust types ([`rows`]), rows to Arrow batches
//! ([`encode`]), cells read back by column name ([`Cells`]) and the Arrow IPC file written and
//! read ([`ipc`]).
//!
//! The engine produces the typed rows, publishing encodes them, and `pmm serve`, the metrics,
//! the report and the CLI read the files back through [`ipc::from_file`] and [`Cells`]: a
//! renamed column is renamed everywhere or nowhere, and the report renderer builds without
//! the query engine.

pub mod cells;
pub mod contract;
pub mod encode;
pub mod history;
pub mod ipc;
pub mod review;
pub mod rows;

/// The Arrow types of this crate's surface, so that a user needs no Arrow crate of its own.
pub mod arrow {
    pub use arrow_array::RecordBatch;
    pub use arrow_schema::{ArrowError, DataType};
}

pub use cells::Cells;
pub use contract::{
    AUDIENCE_TABLES, Column, DIMENSION_SCORES, INDICATOR_HISTORY, INDICATOR_VALUES, OUTCOME_SCORES,
    OVERALL, PEER_STATS, REVIEW_FLAGS, ResultTable, VALIDATION_ISSUES, column,
};
pub use history::{Change, HistoryColumns, HistoryRow};
pub use review::{ReviewFlag, ReviewInput, ReviewRule, SubjectKind};
pub use rows::{IndicatorRow, PeerRow, PeerStats, ResultTables, RollupStatus, ScoreRow};

/// A result table that is not what pmm writes.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A column missing or of another type, a file that is not Arrow IPC, a null where the
    /// contract has none.
    #[error("{table}: {reason}")]
    Table {
        /// The table (or its file) as shown.
        table: String,
        /// What is wrong.
        reason: String,
    },
}
