//! Ingestion: member submissions in, validated and staged Parquet out.
//!
//! Sits between the catalog (which defines the dataset contracts) and the engine (which runs
//! indicator SQL over the batches this crate produces). Every value is parsed once, here: a
//! file's text columns are converted to the contract's types with arrow's cast kernels, every
//! row rule is checked, invalid rows are left out and named in [`ValidationIssue`]s (record
//! number and column), and the batches that remain carry the `member` and `year` columns the
//! engine's tables are keyed by.

mod batches;
mod constant_column;
mod convert;
mod csv;
mod csv_fast;
mod csv_parallel;
mod discover;
mod issue;
mod jsonl;
mod keys;
mod lease;
mod limits;
mod object_reader;
mod parquet_copy;
mod parquet_layout;
mod parquet_source;
mod read;
mod schema;
mod stage;
mod staged_file;
mod staged_upload;
mod text;
mod validate;

#[cfg(test)]
mod copy_tests;
#[cfg(test)]
mod parallel_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use csv::read_csv;
pub use discover::{
    Discovery, FileFormat, SourceObject, SubmissionFiles, discover, discover_member, year_folders,
};
pub use issue::{Rule, Severity, ValidationIssue};
pub use lease::{LEASE_EXPIRY, Lease, RunLease};
pub use read::{
    InputRecord, InputStatus, ReadTimes, StagedDataset, SubmissionOutcome, SubmissionReader,
    memory_staging, stage_text,
};
pub use schema::table_schema;
pub use stage::{
    EntryKind, InputObject, ReadSettings, RunReference, StagedEntry, StagedFile, StagingArea,
    fingerprint,
};
pub use staged_file::StageWriter;
pub use text::{is_escaped, shown};
pub use validate::DatasetOutcome;

/// Errors of the ingestion crate that are not a user's data problem (those are
/// [`ValidationIssue`]s).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An Arrow kernel failed on data it should accept: a bug.
    #[error("internal error (a bug in pmm): {0}")]
    Internal(String),
    /// The staging store failed: validated data cannot be kept, so the run cannot go on.
    #[error("staging: {what}: {source}")]
    Staging {
        /// The object (or listing) concerned, as shown to people.
        what: String,
        /// The store's, the encoder's or the upload's error.
        #[source]
        source: BoxError,
    },
}

/// Any error kept as the cause of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Error {
    /// A staging failure at `what` because of `source`.
    pub fn staging(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Staging {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
