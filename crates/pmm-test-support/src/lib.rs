//! What the test crates of pmm share, in one crate that only they depend on (as a
//! dev-dependency): no program of pmm links it.
//!
//! - [`exposition`]: Prometheus exposition text read back strictly, to check what reached a
//!   textfile, a Pushgateway or a scrape.
//! - [`files`]: the files under a local folder.
//! - [`store`]: an `ObjectStore` that hands every request to another store and lets the test
//!   watch reads and writes, or hold a write up, through [`store::Hooks`].

pub mod exposition;
pub mod files;
pub mod store;
