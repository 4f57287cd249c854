//! Engine behaviour: statuses in catalog order, and one SQL run over every member.

// A failing test should panic with the value it got: unwrap and expect are how it says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rollup;
mod status;
