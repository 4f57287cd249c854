//! Reading published runs back: `latest.json`, a run's manifest and its tables, for `pmm
//! serve`, `pmm report`, `pmm status` and what else reads a results location.

use object_store::ObjectStoreExt;
use pmm_catalog::Disclosure;
use pmm_results::arrow::RecordBatch;
use pmm_results::{
    DIMENSION_SCORES, INDICATOR_HISTORY, INDICATOR_VALUES, OUTCOME_SCORES, PEER_STATS,
    REVIEW_FLAGS, ResultTable, ReviewFlag, ipc,
};
use pmm_store::{StoreRoot, layout};

use crate::manifest::{LatestPointer, RunManifest};
use crate::metrics::AudienceTables;

/// Why a run could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Nothing has been published at this location yet.
    #[error("no latest.json at {0}: nothing is published there yet, or it cannot be read")]
    NothingPublished(String),
    /// The store could not be read.
    #[error("cannot read {path}: {source}")]
    Store {
        /// The object.
        path: String,
        /// Why.
        source: object_store::Error,
    },
    /// An object is not what a run writes.
    #[error("{path}: {message}")]
    Invalid {
        /// The object.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A result table is not what a run writes.
    #[error(transparent)]
    Table(pmm_results::ResultsError),
    /// The metrics could not be built from the tables.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

async fn read(root: &StoreRoot, relative: &str) -> Result<bytes::Bytes, LoadError> {
    let key = root.key(relative);
    let path = root.shown(relative);
    let result = root.store.get(&key).await;
    match result {
        Err(object_store::Error::NotFound { .. }) if relative == layout::results::LATEST => {
            Err(LoadError::NothingPublished(root.display.clone()))
        }
        Err(source) => Err(LoadError::Store { path, source }),
        Ok(get) => get
            .bytes()
            .await
            .map_err(|source| LoadError::Store { path, source }),
    }
}

/// The run that `latest.json` names.
pub async fn latest_run(root: &StoreRoot) -> Result<LatestPointer, LoadError> {
    let bytes = read(root, layout::results::LATEST).await?;
    serde_json::from_slice(&bytes).map_err(|e| LoadError::Invalid {
        path: root.shown(layout::results::LATEST),
        message: format!("not a latest.json of pmm: {e}"),
    })
}

/// The manifest of the run in folder `path` (relative to the results location, as
/// `latest.json` names it).
pub async fn read_manifest(root: &StoreRoot, path: &str) -> Result<RunManifest, LoadError> {
    let manifest_path = layout::results::manifest_in(path);
    let bytes = read(root, &manifest_path).await?;
    serde_json::from_slice(&bytes).map_err(|e| LoadError::Invalid {
        path: root.shown(&manifest_path),
        message: format!("not a run manifest of pmm: {e}"),
    })
}

/// One audience's table of the run in folder `path`, read whole, with the contract's columns.
pub async fn read_table(
    root: &StoreRoot,
    path: &str,
    audience: Disclosure,
    table: &ResultTable,
) -> Result<RecordBatch, LoadError> {
    let relative = layout::results::table_in(path, audience.as_str(), table.name);
    let bytes = read(root, &relative).await?;
    ipc::from_file(bytes, table, &root.shown(&relative)).map_err(LoadError::Table)
}

/// The four tables of `audience` in the run folder `path`, as the metrics and the report read
/// them.
pub async fn read_audience_tables(
    root: &StoreRoot,
    path: &str,
    audience: Disclosure,
) -> Result<AudienceTables, LoadError> {
    Ok(AudienceTables {
        indicator_values: read_table(root, path, audience, &INDICATOR_VALUES).await?,
        outcome_scores: read_table(root, path, audience, &OUTCOME_SCORES).await?,
        dimension_scores: read_table(root, path, audience, &DIMENSION_SCORES).await?,
        peer_stats: read_table(root, path, audience, &PEER_STATS).await?,
    })
}

/// The history across cycles of `audience` in the run folder `path`; `None` for a run
/// published before the history existed, or not for this audience.
pub async fn read_history(
    root: &StoreRoot,
    path: &str,
    audience: Disclosure,
) -> Result<Option<RecordBatch>, LoadError> {
    read_table_if_present(root, path, audience, &INDICATOR_HISTORY).await
}

/// A table of the run at `path` for `audience`, `None` when the run has no such file (it was
/// published before the table existed).
async fn read_table_if_present(
    root: &StoreRoot,
    path: &str,
    audience: Disclosure,
    table: &ResultTable,
) -> Result<Option<RecordBatch>, LoadError> {
    match read_table(root, path, audience, table).await {
        Ok(batch) => Ok(Some(batch)),
        Err(LoadError::Store {
            source: object_store::Error::NotFound { .. },
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The review flags of the run at `path` (the Secretariat's table), each with its year; `None`
/// for a run published before the review existed.
pub async fn read_review(
    root: &StoreRoot,
    path: &str,
) -> Result<Option<Vec<(i32, ReviewFlag)>>, LoadError> {
    read_table_if_present(root, path, Disclosure::Secretariat, &REVIEW_FLAGS)
        .await?
        .map(|batch| pmm_results::review::decode(&batch).map_err(LoadError::Table))
        .transpose()
}
