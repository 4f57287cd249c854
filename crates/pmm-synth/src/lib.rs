//! Synthetic submissions: realistic, deterministic data for demos, tests and benchmarks.
//!
//! For N fictitious members (codes `XA`, `XB`, ... then `XAA`...) it writes a members registry
//! and, for year T and T-1, all eight datasets, in mixed formats (CSV, CSV.gz, Parquet, JSONL),
//! with a manifest for some members. Each member has its own profile (how electronic, how fast,
//! how well targeted), so scores spread. The same options give the same bytes. Rows are built
//! once as typed Arrow batches and written with arrow's writers, through `object_store`.
//!
//! `faults` injects the problems the demo and the end-to-end tests need; [`faults`] names each
//! one and the member that gets it.
//!
//! The parts: [`generator`] makes one member's files (its profile, random stream and
//! manifest), [`datasets`] builds each dataset's rows as an Arrow batch, [`encode`] turns a
//! batch into file bytes, and this module writes them through `object_store`.

mod datasets;
mod encode;
mod faults;
mod generator;
mod hostile;

pub use hostile::{Hostile, write_hostile};

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use generator::{Rng, member_files};

/// Errors while writing synthetic data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The output folder cannot be used.
    #[error("{0}")]
    Output(String),
    /// Writing an object failed.
    #[error(transparent)]
    Store(#[from] object_store::Error),
    /// Encoding a file failed (a bug).
    #[error("internal error (a bug in pmm): {0}")]
    Internal(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which file formats to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatChoice {
    /// A mix of every format, member by member and dataset by dataset.
    #[default]
    Mixed,
    /// Every file as CSV.
    Csv,
    /// Every file as Parquet.
    Parquet,
}

/// What to synthesize.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Number of members.
    pub members: usize,
    /// Declarations per member for year T (T-1 has about 5% fewer).
    pub declarations: usize,
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Reporting year T.
    pub year: i32,
    /// How many years to write, ending with T: 2 writes T and T-1 (what a run reads); more
    /// build a history over several cycles. Each earlier year has about 5% fewer declarations.
    pub years: usize,
    /// File formats.
    pub format: FormatChoice,
    /// Inject the faults listed in the crate docs.
    pub faults: bool,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthReport {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Data rows written.
    pub rows: u64,
}

/// The member code of the `i`-th synthetic member: XA..XZ, then XAA, XAB, ...
pub fn member_code(i: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    if i < 26 {
        format!("X{}", (b'A' + i as u8) as char)
    } else {
        let j = (i - 26) % (36 * 36);
        format!("X{}{}", ALNUM[j / 36] as char, ALNUM[j % 36] as char)
    }
}

const REGIONS: [&str; 6] = ["esa", "europe", "a_p", "mena", "americas", "wca"];
const INCOMES: [&str; 4] = ["low", "lower_middle", "upper_middle", "high"];

/// Writes the registry (`members.yaml`) and submissions (`submissions/...`) under `out`.
pub async fn synthesize(out: &Path, options: &SynthOptions) -> Result<SynthReport> {
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Output(format!("{}: cannot create the folder: {e}", out.display())))?;
    let store: Arc<dyn ObjectStore> = Arc::new(
        LocalFileSystem::new_with_prefix(out)
            .map_err(|e| Error::Output(format!("{}: {e}", out.display())))?,
    );
    let mut writer = Writer {
        store,
        report: SynthReport::default(),
    };
    let mut registry = String::from(
        "# Synthetic members: fictitious administrations made by `pmm synth`.\nmembers:\n",
    );
    for i in 0..options.members {
        let code = member_code(i);
        let mut rng = Rng::new(options.seed, &[i as u64, 0]);
        let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
        let income = INCOMES[rng.below(INCOMES.len() as u64) as usize];
        registry.push_str(&format!(
            "  - {{code: {code}, name: Synthetic Customs Administration {code}, region: {region}, income_group: {income}}}\n"
        ));
    }
    writer.put("members.yaml", registry.into_bytes()).await?;

    // Members are generated and encoded on all cores; each has its own random stream, so the
    // bytes do not depend on the order.
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut members = futures::stream::iter((0..options.members).map(|i| {
        let options = options.clone();
        tokio::task::spawn_blocking(move || member_files(i, &options))
    }))
    .buffered(parallel);
    while let Some(made) = members.next().await {
        let (files, rows) =
            made.map_err(|e| Error::Internal(format!("a generating task failed: {e}")))??;
        writer.report.rows += rows;
        for (path, data) in files {
            writer.put(&path, data).await?;
        }
    }
    if options.faults {
        for (path, data) in faults::stray_files(options.year) {
            writer.put(&path, data.to_vec()).await?;
        }
    }
    Ok(writer.report)
}

/// Writes files under the output folder and counts them.
struct Writer {
    store: Arc<dyn ObjectStore>,
    report: SynthReport,
}

impl Writer {
    async fn put(&mut self, relative: &str, data: Vec<u8>) -> Result<()> {
        self.report.files += 1;
        self.report.bytes += data.len() as u64;
        self.store
            .put(
                &StorePath::from(relative),
                PutPayload::from(Bytes::from(data)),
            )
            .await?;
        Ok(())
    }
}
