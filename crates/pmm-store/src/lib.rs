//! Where pmm's files are, in one place.
//!
//! - [`store`]: opening a location (a local folder or an `s3://`, `gs://`, `az://` URL) as an
//!   `object_store` with a prefix ([`StoreRoot`]), and showing URLs without credentials
//!   ([`display_url`]). Every read and write of a run goes through a [`StoreRoot`].
//! - [`layout`]: the path of every object pmm writes (results, runs, manifests, `latest.json`,
//!   staged entries and files, leases, evaluation cache) and of the submissions it reads,
//!   relative to a [`StoreRoot`]. No other file of the project spells these paths: a path that
//!   changes, changes here.
//!
//! This crate links `object_store` and the catalog's settings, not DataFusion: publishing, the
//! run, `pmm serve` and the CLI name paths through it without depending on ingestion.

pub mod layout;
pub mod store;

pub use store::{StoreError, StoreRoot, count_write, display_url, open_object, open_store};
