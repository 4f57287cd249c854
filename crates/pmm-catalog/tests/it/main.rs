//! Integration tests of the catalog crate: the shipped catalog loads, and each kind of defect
//! is reported with its message and place.

mod defects;
mod shipped;

use std::path::{Path, PathBuf};

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
