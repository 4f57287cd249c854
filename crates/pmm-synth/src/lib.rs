//! Synthetic submissions: realistic, deterministic data for demos, tests and benchmarks.
//!
//! For N fictitious members (codes `XA`, `XB`, ... then `XAA`...) it writes a members registry
//! and, for year T and T-1, all eight datasets, in mixed formats (CSV, CSV.gz, Parquet, JSONL),
//! with a manifest for some members. Each member has its own profile (how electronic, how fast,
//! how well targeted), so scores spread. The same options give the same bytes. Rows are built
//! once as typed Arrow batches and written with arrow's writers, through `object_store`.
//!
//! `faults` injects the problems the demo and the end-to-end tests need: a manifest naming
//! another member, a member without T-1, a dataset with too many invalid rows, an ambiguous
//! pair of files, a few invalid rows under the threshold, a corrupt gzip, KPIs declared not
//! applicable, an unregistered member folder and a malformed one.

mod hostile;

pub use hostile::{Hostile, write_hostile};

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

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
        writer
            .put(
                "submissions/member=QQ/year=2024/declarations.csv",
                b"declaration_id\n".to_vec(),
            )
            .await?;
        writer
            .put(
                "submissions/member=xa-old/notes.txt",
                b"not a member folder\n".to_vec(),
            )
            .await?;
        writer
            .put(
                &format!(
                    "submissions/member={}/year={}/notes.txt",
                    member_code(0),
                    options.year
                ),
                b"an unknown file\n".to_vec(),
            )
            .await?;
    }
    Ok(writer.report)
}

/// A file made in memory: its path under the output folder and its bytes.
type MadeFile = (String, Vec<u8>);

/// Every file of one member (both years), as (path, bytes), and the rows they hold. Pure and
/// deterministic: members are made in parallel and written in any order.
fn member_files(i: usize, options: &SynthOptions) -> Result<(Vec<MadeFile>, u64)> {
    let mut files = Vec::new();
    let mut rows = 0u64;
    let code = member_code(i);
    let profile = Profile::new(&mut Rng::new(options.seed, &[i as u64, 1]));
    for (offset, year) in [(0u64, options.year), (1, options.year - 1)] {
        if options.faults && i == 3 && offset == 1 {
            continue; // fault: no T-1 submission
        }
        let folder = format!("submissions/member={code}/year={year}");
        let scale = if offset == 0 { 1.0 } else { 0.95 };
        let n = (options.declarations as f64 * scale).round() as usize;
        let mut rng = Rng::new(options.seed, &[i as u64, 2 + offset]);
        let batches = [
            ("declarations", declarations(&mut rng, &profile, year, n)),
            ("aeo_operators", aeo_operators(&mut rng, &profile, year)),
            ("seizures", seizures(&mut rng, &profile, year, n / 100 + 5)),
            ("controls", controls(&mut rng, &profile, year, n / 20 + 20)),
            ("audits", audits(&mut rng, &profile, year)),
            ("revenue", revenue(&mut rng, &profile, year)),
            ("info_requests", info_requests(&mut rng, &profile, year)),
            ("staff", staff(&mut rng, &profile, year, n)),
        ];
        for (d, (dataset, batch)) in batches.into_iter().enumerate() {
            let batch = batch.map_err(|e| Error::Internal(e.to_string()))?;
            rows += batch.num_rows() as u64;
            let mut format = match options.format {
                FormatChoice::Csv => FileKind::Csv,
                FormatChoice::Parquet => FileKind::Parquet,
                FormatChoice::Mixed if dataset == "declarations" => {
                    [FileKind::Csv, FileKind::Parquet][i % 2]
                }
                FormatChoice::Mixed => [
                    FileKind::Csv,
                    FileKind::Parquet,
                    FileKind::CsvGz,
                    FileKind::Jsonl,
                ][(i + d) % 4],
            };
            let mut data = encode(&batch, format)?;
            if options.faults && offset == 0 {
                match (i, dataset) {
                    (4, "declarations") => {
                        // fault: 10% of the records have an unknown flow: the dataset is rejected
                        format = FileKind::Csv;
                        data = spoil_csv(
                            &encode(&batch, FileKind::Csv)?,
                            10,
                            &[",IM,", ",EX,", ",TR,"],
                            ",XX,",
                        );
                    }
                    (5, "seizures") => {
                        // fault: the same dataset twice
                        files.push((
                            format!("{folder}/seizures.csv"),
                            encode(&batch, FileKind::Csv)?,
                        ));
                        format = FileKind::Parquet;
                        data = encode(&batch, FileKind::Parquet)?;
                    }
                    (6, "controls") => {
                        // fault: 1 record in 20 has an invalid date, not above the threshold
                        format = FileKind::Csv;
                        data = spoil_csv(
                            &encode(&batch, FileKind::Csv)?,
                            20,
                            &[&format!(",{year}-")],
                            ",31/02/",
                        );
                    }
                    (7, "revenue") => {
                        // fault: a gzip file cut short
                        format = FileKind::CsvGz;
                        let whole = encode(&batch, FileKind::CsvGz)?;
                        data = whole[..whole.len() / 2].to_vec();
                    }
                    _ => {}
                }
            }
            files.push((format!("{folder}/{dataset}.{}", format.extension()), data));
        }
        if let Some(manifest) = manifest(&code, i, year, options) {
            files.push((format!("{folder}/manifest.yaml"), manifest.into_bytes()));
        }
    }
    Ok((files, rows))
}

/// In every `every`-th data line, replaces the first of `from` found with `to`.
fn spoil_csv(csv: &[u8], every: usize, from: &[&str], to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(csv);
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        match from
            .iter()
            .find(|f| line.contains(**f))
            .filter(|_| n > 0 && n % every == 0)
        {
            Some(f) => out.push_str(&line.replacen(*f, to, 1)),
            None => out.push_str(line),
        }
    }
    out.into_bytes()
}

fn manifest(code: &str, i: usize, year: i32, options: &SynthOptions) -> Option<String> {
    let wrong_member = options.faults && i == 2 && year == options.year;
    let member = if wrong_member {
        member_code(0)
    } else {
        code.to_string()
    };
    let mut text = format!("member: {member}\nyear: {year}\n");
    if i % 4 == 1 {
        text.push_str("assessment: peer_reviewed\n");
    }
    let na = (options.faults && i == 8) || i % 5 == 4;
    if na {
        text.push_str("not_applicable:\n  - indicator: tfec.ecommerce_shipment_share\n    reason: e-commerce consignments are not flagged in our clearance system\n");
        text.push_str("  - indicator: tfec.ecommerce_release_time_median_hours\n    reason: e-commerce consignments are not flagged in our clearance system\n");
    }
    match i % 3 {
        0 => text.push_str("disclosure:\n  default: public\n"),
        1 if !(na || wrong_member) => return None,
        _ => text.push_str(
            "disclosure:\n  default: wco\n  overrides:\n    tfec.electronic_declarations_rate: public\n    rc.arrears_ratio: secretariat\n",
        ),
    }
    Some(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Csv,
    CsvGz,
    Parquet,
    Jsonl,
}

impl FileKind {
    fn extension(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::CsvGz => "csv.gz",
            FileKind::Parquet => "parquet",
            FileKind::Jsonl => "jsonl",
        }
    }
}

fn encode(batch: &RecordBatch, kind: FileKind) -> Result<Vec<u8>> {
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("encoding {kind:?}: {e}"));
    let mut out = Vec::new();
    match kind {
        FileKind::Csv | FileKind::CsvGz => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%SZ".to_string())
                .build(&mut out);
            writer.write(batch).map_err(|e| internal(&e))?;
            drop(writer);
            if kind == FileKind::CsvGz {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&out).map_err(|e| internal(&e))?;
                out = gz.finish().map_err(|e| internal(&e))?;
            }
        }
        FileKind::Jsonl => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            writer.write(batch).map_err(|e| internal(&e))?;
            writer.finish().map_err(|e| internal(&e))?;
        }
        FileKind::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props))
                .map_err(|e| internal(&e))?;
            writer.write(batch).map_err(|e| internal(&e))?;
            writer.close().map_err(|e| internal(&e))?;
        }
    }
    Ok(out)
}

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

/// SplitMix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: &[u64]) -> Self {
        let mut state = seed ^ 0x5851_F42D_4C95_7F2D;
        for s in stream {
            state = Rng(state ^ s.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next();
        }
        Rng(state)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

/// How one member's administration behaves: what makes its scores its own.
struct Profile {
    electronic: f64,
    standardized: f64,
    pre_arrival: f64,
    green: f64,
    red: f64,
    aeo: f64,
    ecommerce: f64,
    release_hours: f64,
    hit_rate: f64,
    collection: f64,
    response_days: f64,
    training: f64,
}

impl Profile {
    fn new(rng: &mut Rng) -> Self {
        let green = rng.between(0.3, 0.92);
        Profile {
            electronic: rng.between(0.45, 1.0),
            standardized: rng.between(0.1, 0.98),
            pre_arrival: rng.between(0.0, 0.85),
            green,
            red: rng.between(0.01, (1.0 - green).min(0.4)),
            aeo: rng.between(0.05, 0.75),
            ecommerce: rng.between(0.02, 0.4),
            release_hours: rng.lognormal(12.0, 0.9).clamp(1.0, 150.0),
            hit_rate: rng.between(0.02, 0.5),
            collection: rng.between(0.82, 1.0),
            response_days: rng.lognormal(40.0, 0.6),
            training: rng.between(3.0, 70.0),
        }
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 (Arrow's `Date32`) of a calendar date.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    NaiveDate::from_ymd_opt(year, month, day).map_or(0, Date32Type::from_naive_date)
}

fn year_days(year: i32) -> (i32, i32) {
    let start = days_from_civil(year, 1, 1);
    (start, days_from_civil(year + 1, 1, 1) - start)
}

fn text(values: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn opt_text(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn pick<'a>(rng: &mut Rng, choices: &[(&'a str, f64)]) -> &'a str {
    let mut x = rng.unit() * choices.iter().map(|c| c.1).sum::<f64>();
    for (value, weight) in choices {
        if x < *weight {
            return value;
        }
        x -= weight;
    }
    choices[choices.len() - 1].0
}

fn batch(
    fields: Vec<(&str, DataType, bool)>,
    columns: Vec<ArrayRef>,
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let schema = Schema::new(
        fields
            .into_iter()
            .map(|(n, t, null)| Field::new(n, t, null))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), columns)
}

type Batch = Result<RecordBatch, datafusion::arrow::error::ArrowError>;

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn declarations(rng: &mut Rng, p: &Profile, year: i32, n: usize) -> Batch {
    let (start, days) = year_days(year);
    let mut ids = Vec::with_capacity(n);
    let (mut flow, mut lodged, mut released) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut electronic, mut standardized, mut pre_arrival) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut channel, mut aeo, mut ecommerce) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut value, mut duty, mut office, mut mode) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        ids.push(format!("D{year}-{i:08}"));
        let f = pick(rng, &[("IM", 0.55), ("EX", 0.35), ("TR", 0.10)]);
        flow.push(f.to_string());
        let day = i64::from(start) + rng.below(days as u64) as i64;
        let at = day * MICROS_PER_DAY + rng.below(86_400) as i64 * 1_000_000;
        lodged.push(at);
        let hours = rng.lognormal(p.release_hours, 1.0).clamp(0.05, 2000.0);
        released.push(
            rng.chance(0.97)
                .then(|| at + (hours * 3_600.0).round() as i64 * 1_000_000),
        );
        electronic.push(rng.chance(p.electronic));
        standardized.push(rng.chance(p.standardized));
        pre_arrival.push(rng.chance(p.pre_arrival));
        let c = rng.unit();
        channel.push(
            if c < p.green {
                "green"
            } else if c < p.green + p.red {
                "red"
            } else {
                "yellow"
            }
            .to_string(),
        );
        aeo.push(rng.chance(p.aeo));
        ecommerce.push(rng.chance(p.ecommerce));
        let v = (rng.lognormal(3000.0, 1.4) * 100.0).round() / 100.0;
        value.push(v);
        duty.push(
            rng.chance(0.9)
                .then(|| (v * rng.between(0.0, 0.15) * 100.0).round() / 100.0),
        );
        office.push(
            rng.chance(0.95)
                .then(|| format!("OFF{:02}", rng.below(20) + 1)),
        );
        mode.push(rng.chance(0.9).then(|| {
            pick(
                rng,
                &[
                    ("sea", 0.4),
                    ("air", 0.2),
                    ("road", 0.25),
                    ("rail", 0.05),
                    ("post", 0.07),
                    ("other", 0.03),
                ],
            )
            .to_string()
        }));
    }
    let ts = || timestamp_type();
    batch(
        vec![
            ("declaration_id", DataType::Utf8, false),
            ("flow", DataType::Utf8, false),
            ("lodged_at", ts(), false),
            ("released_at", ts(), true),
            ("electronic", DataType::Boolean, false),
            ("standardized", DataType::Boolean, false),
            ("pre_arrival", DataType::Boolean, false),
            ("channel", DataType::Utf8, false),
            ("aeo", DataType::Boolean, false),
            ("ecommerce", DataType::Boolean, false),
            ("customs_value", DataType::Float64, false),
            ("duty_assessed", DataType::Float64, true),
            ("office", DataType::Utf8, true),
            ("transport_mode", DataType::Utf8, true),
        ],
        vec![
            text(ids),
            text(flow),
            Arc::new(TimestampMicrosecondArray::from(lodged).with_timezone("UTC")),
            Arc::new(TimestampMicrosecondArray::from(released).with_timezone("UTC")),
            Arc::new(BooleanArray::from(electronic)),
            Arc::new(BooleanArray::from(standardized)),
            Arc::new(BooleanArray::from(pre_arrival)),
            text(channel),
            Arc::new(BooleanArray::from(aeo)),
            Arc::new(BooleanArray::from(ecommerce)),
            Arc::new(Float64Array::from(value)),
            Arc::new(Float64Array::from(duty)),
            opt_text(office),
            opt_text(mode),
        ],
    )
}

fn aeo_operators(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let n = (50.0 + 600.0 * p.aeo) as usize + rng.below(50) as usize;
    let first = days_from_civil(2012, 1, 1);
    let end = days_from_civil(year + 1, 1, 1);
    let (mut ids, mut role, mut granted, mut revoked, mut sme) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("OP{i:06}"));
        role.push(
            pick(
                rng,
                &[
                    ("importer", 0.35),
                    ("exporter", 0.25),
                    ("broker", 0.15),
                    ("carrier", 0.1),
                    ("warehouse", 0.05),
                    ("manufacturer", 0.07),
                    ("other", 0.03),
                ],
            )
            .to_string(),
        );
        // Registers grow: recent grants are more frequent.
        let g = first + ((end - first) as f64 * rng.unit().sqrt()) as i32;
        granted.push(g);
        revoked.push(
            rng.chance(0.12)
                .then(|| g + 1 + rng.below((end - g).max(1) as u64 + 200) as i32),
        );
        sme.push(rng.chance(0.9).then(|| rng.chance(0.4)));
    }
    batch(
        vec![
            ("operator_id", DataType::Utf8, false),
            ("role", DataType::Utf8, false),
            ("granted_on", DataType::Date32, false),
            ("revoked_on", DataType::Date32, true),
            ("sme", DataType::Boolean, true),
        ],
        vec![
            text(ids),
            text(role),
            Arc::new(Date32Array::from(granted)),
            Arc::new(Date32Array::from(revoked)),
            Arc::new(BooleanArray::from(sme)),
        ],
    )
}

fn seizures(rng: &mut Rng, _p: &Profile, year: i32, n: usize) -> Batch {
    let (start, days) = year_days(year);
    let (mut ids, mut on, mut category, mut quantity, mut unit, mut value) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("S{year}-{i:06}"));
        on.push(start + rng.below(days as u64) as i32);
        let c = pick(
            rng,
            &[
                ("drugs", 0.25),
                ("alcohol", 0.15),
                ("tobacco", 0.2),
                ("ipr", 0.15),
                ("cites", 0.05),
                ("cash", 0.08),
                ("weapons", 0.04),
                ("other", 0.08),
            ],
        );
        category.push(c.to_string());
        quantity.push((rng.lognormal(20.0, 1.5) * 10.0).round() / 10.0);
        unit.push(
            match c {
                "alcohol" => "l",
                "tobacco" => "sticks",
                "ipr" | "weapons" => "pieces",
                "drugs" => "kg",
                _ => "other",
            }
            .to_string(),
        );
        value.push(
            rng.chance(0.8)
                .then(|| (rng.lognormal(5000.0, 1.5)).round()),
        );
    }
    batch(
        vec![
            ("seizure_id", DataType::Utf8, false),
            ("seized_on", DataType::Date32, false),
            ("category", DataType::Utf8, false),
            ("quantity", DataType::Float64, false),
            ("unit", DataType::Utf8, false),
            ("estimated_value", DataType::Float64, true),
        ],
        vec![
            text(ids),
            Arc::new(Date32Array::from(on)),
            text(category),
            Arc::new(Float64Array::from(quantity)),
            text(unit),
            Arc::new(Float64Array::from(value)),
        ],
    )
}

fn controls(rng: &mut Rng, p: &Profile, year: i32, n: usize) -> Batch {
    let (start, days) = year_days(year);
    let (mut ids, mut on, mut target, mut selection, mut result) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("C{year}-{i:07}"));
        on.push(start + rng.below(days as u64) as i32);
        target.push(
            pick(
                rng,
                &[
                    ("drugs", 0.2),
                    ("alcohol", 0.08),
                    ("tobacco", 0.1),
                    ("ipr", 0.1),
                    ("cites", 0.02),
                    ("cash", 0.05),
                    ("weapons", 0.03),
                    ("revenue", 0.3),
                    ("security", 0.07),
                    ("other", 0.05),
                ],
            )
            .to_string(),
        );
        let s = pick(
            rng,
            &[
                ("risk_profile", 0.6),
                ("random", 0.2),
                ("intelligence", 0.15),
                ("other", 0.05),
            ],
        );
        selection.push(s.to_string());
        let hit = match s {
            "risk_profile" => p.hit_rate,
            "intelligence" => (p.hit_rate * 1.5).min(0.9),
            _ => p.hit_rate / 5.0,
        };
        result.push(
            if rng.chance(hit) {
                if rng.chance(0.4) {
                    "seizure"
                } else {
                    "irregularity"
                }
            } else {
                "no_finding"
            }
            .to_string(),
        );
    }
    batch(
        vec![
            ("control_id", DataType::Utf8, false),
            ("controlled_on", DataType::Date32, false),
            ("target", DataType::Utf8, false),
            ("selection", DataType::Utf8, false),
            ("result", DataType::Utf8, false),
        ],
        vec![
            text(ids),
            Arc::new(Date32Array::from(on)),
            text(target),
            text(selection),
            text(result),
        ],
    )
}

fn audits(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let n = 30 + rng.below(250) as usize;
    let (start, days) = year_days(year);
    let (mut ids, mut opened, mut closed, mut irregular, mut extra) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("A{year}-{i:05}"));
        let o = start - 200 + rng.below(days as u64 + 200) as i32;
        opened.push(o);
        let c = rng
            .chance(0.7)
            .then(|| o.max(start) + rng.below(120) as i32)
            .filter(|c| *c < start + days);
        closed.push(c);
        irregular.push(c.map(|_| rng.chance(p.hit_rate + 0.2)));
        extra.push(c.and_then(|_| {
            rng.chance(0.8)
                .then(|| rng.lognormal(20_000.0, 1.2).round())
        }));
    }
    batch(
        vec![
            ("audit_id", DataType::Utf8, false),
            ("opened_on", DataType::Date32, false),
            ("closed_on", DataType::Date32, true),
            ("irregularity", DataType::Boolean, true),
            ("additional_revenue", DataType::Float64, true),
        ],
        vec![
            text(ids),
            Arc::new(Date32Array::from(opened)),
            Arc::new(Date32Array::from(closed)),
            Arc::new(BooleanArray::from(irregular)),
            Arc::new(Float64Array::from(extra)),
        ],
    )
}

fn revenue(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let (mut month, mut kind, mut assessed, mut collected, mut arrears) =
        (vec![], vec![], vec![], vec![], vec![]);
    for m in 1..=12 {
        for k in ["customs_duty", "vat", "excise", "other"] {
            month.push(days_from_civil(year, m, 1));
            kind.push(k.to_string());
            let a = rng.lognormal(2_000_000.0, 0.5).round();
            assessed.push(a);
            collected.push((a * (p.collection * rng.between(0.97, 1.0))).round());
            arrears.push(
                rng.chance(0.95)
                    .then(|| (a * (1.0 - p.collection) * rng.between(1.0, 3.0)).round()),
            );
        }
    }
    batch(
        vec![
            ("month", DataType::Date32, false),
            ("revenue_type", DataType::Utf8, false),
            ("assessed", DataType::Float64, false),
            ("collected", DataType::Float64, false),
            ("arrears_end", DataType::Float64, true),
        ],
        vec![
            Arc::new(Date32Array::from(month)),
            text(kind),
            Arc::new(Float64Array::from(assessed)),
            Arc::new(Float64Array::from(collected)),
            Arc::new(Float64Array::from(arrears)),
        ],
    )
}

fn info_requests(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let n = 20 + rng.below(300) as usize;
    let (start, days) = year_days(year);
    let (mut ids, mut direction, mut sent, mut answered) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("R{year}-{i:05}"));
        direction.push(if rng.chance(0.5) { "sent" } else { "received" }.to_string());
        let s = start + rng.below(days as u64) as i32;
        sent.push(s);
        answered.push(
            rng.chance(0.85)
                .then(|| s + rng.lognormal(p.response_days, 0.7).round() as i32),
        );
    }
    batch(
        vec![
            ("request_id", DataType::Utf8, false),
            ("direction", DataType::Utf8, false),
            ("sent_on", DataType::Date32, false),
            ("answered_on", DataType::Date32, true),
        ],
        vec![
            text(ids),
            text(direction),
            Arc::new(Date32Array::from(sent)),
            Arc::new(Date32Array::from(answered)),
        ],
    )
}

fn staff(rng: &mut Rng, p: &Profile, _year: i32, declarations: usize) -> Batch {
    let units = 8 + rng.below(30) as usize;
    // Staff in proportion to the workload, so declarations per staff stays plausible.
    let per_unit = ((declarations as f64 / 800.0) / units as f64).max(3.0);
    let (mut unit, mut headcount, mut female, mut training, mut integrity, mut budget) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for u in 0..units {
        unit.push(format!("UNIT{u:03}"));
        let h = (per_unit * rng.between(0.5, 1.5)).round().max(1.0) as i64;
        headcount.push(h);
        female.push((h as f64 * rng.between(0.2, 0.6)).round() as i64);
        training.push((h as f64 * p.training * rng.between(0.7, 1.3)).round());
        integrity.push(rng.below(3) as i64);
        budget.push(
            rng.chance(0.9)
                .then(|| (h as f64 * rng.lognormal(30_000.0, 0.3)).round()),
        );
    }
    batch(
        vec![
            ("unit", DataType::Utf8, false),
            ("headcount", DataType::Int64, false),
            ("female_headcount", DataType::Int64, false),
            ("training_hours", DataType::Float64, false),
            ("integrity_cases", DataType::Int64, false),
            ("budget", DataType::Float64, true),
        ],
        vec![
            text(unit),
            Arc::new(Int64Array::from(headcount)),
            Arc::new(Int64Array::from(female)),
            Arc::new(Float64Array::from(training)),
            Arc::new(Int64Array::from(integrity)),
            Arc::new(Float64Array::from(budget)),
        ],
    )
}
