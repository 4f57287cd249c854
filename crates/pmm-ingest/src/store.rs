//! Stores: every read (and, in publication, every write) goes through `object_store`, local
//! folders included, so a local run and an S3 run follow one code path.

use std::fmt;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use pmm_catalog::StoreLocation;

/// A store and the prefix inside it that a pipeline names (`source` or `results`).
#[derive(Clone)]
pub struct StoreRoot {
    /// The object store.
    pub store: Arc<dyn ObjectStore>,
    /// The prefix every key is under.
    pub prefix: Path,
    /// How the location was written, for messages (never with credentials).
    pub display: String,
}

impl fmt::Debug for StoreRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreRoot")
            .field("display", &self.display)
            .finish()
    }
}

impl StoreRoot {
    /// The key of `relative` (a `/`-separated path) under the prefix.
    pub fn key(&self, relative: &str) -> Path {
        relative
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    /// A key as a path relative to the prefix, for messages and manifests.
    pub fn relative(&self, key: &Path) -> String {
        key.prefix_match(&self.prefix)
            .map(|parts| {
                parts
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_else(|| key.to_string())
    }
}

/// Why a store cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A local folder that does not exist or cannot be used.
    #[error("{path}: {reason}")]
    Local {
        /// The folder.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A URL this build cannot open.
    #[error("{0}")]
    Unsupported(String),
}

/// Opens a store location. `create` makes a missing local folder (for results).
pub fn open_store(location: &StoreLocation, create: bool) -> Result<StoreRoot, StoreError> {
    match location {
        StoreLocation::Local(dir) => {
            if create {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Local {
                    path: dir.display().to_string(),
                    reason: format!("cannot create the folder: {e}"),
                })?;
            }
            if !dir.is_dir() {
                return Err(StoreError::Local {
                    path: dir.display().to_string(),
                    reason: "no such folder".into(),
                });
            }
            let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| StoreError::Local {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
            Ok(StoreRoot {
                store: Arc::new(store),
                prefix: Path::default(),
                display: dir.display().to_string(),
            })
        }
        StoreLocation::Remote(url) => Err(StoreError::Unsupported(format!(
            "{url}: cloud object stores are not enabled in this build yet; use a local folder"
        ))),
    }
}
