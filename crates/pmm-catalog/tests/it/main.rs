//! Integration tests of the catalog crate: the shipped catalog loads. Each kind of defect is a
//! golden case under `tests/cases/validate/`, run through `pmm validate` by the CLI's tests.

// A failing test should panic with the value it got: unwrap and expect are how it says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod shipped;

use std::path::{Path, PathBuf};

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
