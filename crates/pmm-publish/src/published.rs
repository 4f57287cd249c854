//! Reading published runs back: `latest.json`, a run's manifest and its tables, for `pmm
//! serve`, `pmm report`, `pmm status` and what else reads a results location.

use object_store::ObjectStoreExt;
use pmm_catalog::Disclosure;
use pmm_results::arrow::RecordBatch;
use pmm_results::{ResultTable, ipc};
use pmm_store::{StoreRoot, layout};

use crate::manifest::{LatestPointer, RunManifest};

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
    ipc::from_file(&bytes, table, &root.shown(&relative)).map_err(LoadError::Table)
}
