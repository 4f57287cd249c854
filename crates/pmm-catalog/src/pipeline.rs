//! Pipeline files (`pipelines/*.yaml`): what a run computes, on what, and where it publishes.
//! Relative paths and relative `file:` URLs are resolved against the pipeline file's folder.
//!
//! Why this length (about 550 lines before its tests): the pipeline's model types and its
//! one `parse` function that places each problem at its key; the optional sections
//! (`publish`, `storage`, `engine`, `limits`) are checked in `pipeline/settings.rs`.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

mod settings;

use settings::{check_engine, check_limits, check_prometheus, check_storage};

use crate::model::Disclosure;
use crate::problem::{Problem, Problems};
use crate::read_text;
use crate::yaml::{self, SourceText};

/// Where submissions are read from or results written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A local folder (a relative path or a `file:` URL, resolved).
    Local(PathBuf),
    /// An object-store URL: `s3://`, `gs://` or `az://` (also `abfs://`, `azure://`).
    Remote(String),
}

impl StoreLocation {
    /// A store URL or local path as a user wrote it, relative paths resolved against `base`.
    pub fn resolve(base: &Path, value: &str) -> Result<StoreLocation, String> {
        resolve_store(base, value)
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Local(p) => write!(f, "{}", p.display()),
            StoreLocation::Remote(url) => f.write_str(url),
        }
    }
}

/// Where the metrics of a run go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusPublish {
    /// The audience whose results become metrics.
    pub audience: Disclosure,
    /// A node_exporter textfile to write atomically.
    pub textfile: Option<PathBuf>,
    /// A Pushgateway base URL to PUT to.
    pub pushgateway: Option<String>,
}

/// A checked pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[a-z0-9-]+`, the Prometheus `pipeline` label.
    pub name: String,
    /// The reporting year T.
    pub year: i32,
    /// The catalog folder.
    pub catalog: PathBuf,
    /// The members registry file: a local file or an object-store URL.
    pub members: StoreLocation,
    /// Where submissions are.
    pub source: StoreLocation,
    /// Where results go.
    pub results: StoreLocation,
    /// The audiences to write results for.
    pub audiences: Vec<Disclosure>,
    /// The disclosure level when neither the manifest nor the indicator sets one.
    pub disclosure_default: Disclosure,
    /// Above this share of invalid rows a dataset is rejected.
    pub max_invalid_row_fraction: f64,
    /// Below this coverage an outcome or dimension gets no score.
    pub min_coverage: f64,
    /// Peer groups smaller than this get no statistics.
    pub min_group_size: u32,
    /// Metrics publication, if any.
    pub prometheus: Option<PrometheusPublish>,
    /// How object stores are talked to: timeouts, retries, concurrency.
    pub storage: StorageSettings,
    /// Where validated data is staged; `None`: `<results>/staging` of the run's results.
    pub staging: Option<StoreLocation>,
    /// How evaluation may use the machine.
    pub engine: EngineConfig,
    /// What one submitted file may cost.
    pub limits: Limits,
}

/// What one submitted file may cost (the pipeline's `limits:` block). Past a limit the file
/// is rejected with an issue, after reading about as much as the limit, and the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The longest record (a CSV record, a JSON line, the header) in bytes.
    pub max_record_bytes: u64,
    /// The most columns a file's header (or a Parquet file's schema) may have.
    pub max_columns: u64,
    /// The largest `manifest.yaml` in bytes.
    pub max_manifest_bytes: u64,
    /// The most bytes one object may decompress to (`.csv.gz`), or decode to (Parquet: the
    /// values of every record read, whatever the file's compression or dictionaries).
    pub max_decompressed_bytes: u64,
    /// The most levels of groups a Parquet schema may nest a column in (0: flat).
    pub max_nesting: u64,
    /// The largest Parquet footer (the file's metadata) in bytes, checked before it is read.
    pub max_footer_bytes: u64,
    /// The most bytes one batch of records may hold once decoded, and one Parquet page may
    /// claim to decompress to.
    pub max_batch_bytes: u64,
    /// The most bytes (compressed, as its footer claims them) of one Parquet row group's read
    /// columns: the reader fetches them together, so this is what a row group may cost.
    pub max_row_group_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 1 << 20,
            max_columns: 1000,
            max_manifest_bytes: 64 << 10,
            max_decompressed_bytes: 20 << 30,
            max_nesting: 16,
            max_footer_bytes: 8 << 20,
            max_batch_bytes: 64 << 20,
            max_row_group_bytes: 512 << 20,
        }
    }
}

/// The pipeline's `engine:` block: the memory and disk evaluation may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineConfig {
    /// Bytes of the query engine's memory pool (past it, operators spill to disk); `None`: a
    /// share of the machine.
    pub memory_limit: Option<u64>,
    /// Where operators spill; `None`: the system's temporary folder.
    pub spill_dir: Option<PathBuf>,
    /// `df://HOST:PORT` of a Ballista scheduler: evaluation runs every indicator's SQL on
    /// that cluster instead of in this process. `None`: in this process.
    pub ballista: Option<String>,
}

impl Pipeline {
    /// The staging location of a run whose results go to `results`: the pipeline's
    /// `staging`, or `<results>/staging`.
    pub fn staging_for(&self, results: &StoreLocation) -> StoreLocation {
        match (&self.staging, results) {
            (Some(staging), _) => staging.clone(),
            (None, StoreLocation::Local(dir)) => StoreLocation::Local(dir.join("staging")),
            (None, StoreLocation::Remote(url)) => {
                StoreLocation::Remote(format!("{}/staging", url.trim_end_matches('/')))
            }
        }
    }
}

/// A size in bytes as people write it: a whole number of bytes, or a number with a unit,
/// `B`, `KB`, `MB`, `GB`, `TB` (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of
/// 1024): `2GiB`, `512 MiB`, `1.5GB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(format!("`{text}` is not a size such as 2GiB or 512MiB"));
    }
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => {
            return Err(format!(
                "`{other}` is not a unit of size: use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 2GiB or 512MiB"))?;
    let bytes = value * factor as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes <= u64::MAX as f64) {
        return Err(format!("`{text}` is not a size between 1 byte and 16 EiB"));
    }
    Ok(bytes.round() as u64)
}

/// Timeouts, retries and concurrency for object stores (the pipeline's `storage:` block).
/// Local folders use only `concurrency`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StorageSettings {
    /// Retries of a failed request (5xx answers, timeouts, broken connections), with
    /// exponential backoff.
    pub max_retries: usize,
    /// No retry starts after this many seconds from the first attempt.
    pub retry_timeout_seconds: f64,
    /// One request may take this long.
    pub request_timeout_seconds: f64,
    /// Connecting may take this long.
    pub connect_timeout_seconds: f64,
    /// Submissions read at once; `None`: as many as the machine has cores for a local source
    /// (reading is then all parsing), and at least 8 for a cloud store (whose requests wait).
    pub concurrency: Option<usize>,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            max_retries: 10,
            retry_timeout_seconds: 180.0,
            request_timeout_seconds: 60.0,
            connect_timeout_seconds: 10.0,
            concurrency: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineSpec {
    name: String,
    year: i32,
    catalog: String,
    members: String,
    source: String,
    results: String,
    #[serde(default)]
    audiences: Option<Vec<Disclosure>>,
    #[serde(default)]
    disclosure: Option<DisclosureSpec>,
    #[serde(default)]
    validation: Option<ValidationSpec>,
    #[serde(default)]
    scoring: Option<ScoringSpec>,
    #[serde(default)]
    peers: Option<PeersSpec>,
    #[serde(default)]
    publish: Option<PublishSpec>,
    #[serde(default)]
    storage: Option<StorageSpec>,
    #[serde(default)]
    staging: Option<String>,
    #[serde(default)]
    engine: Option<EngineSpec>,
    #[serde(default)]
    limits: Option<LimitsSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSpec {
    #[serde(default)]
    max_record_bytes: Option<SizeSpec>,
    #[serde(default)]
    max_columns: Option<u64>,
    #[serde(default)]
    max_manifest_bytes: Option<SizeSpec>,
    #[serde(default)]
    max_decompressed_bytes: Option<SizeSpec>,
    #[serde(default)]
    max_nesting: Option<u64>,
    #[serde(default)]
    max_footer_bytes: Option<SizeSpec>,
    #[serde(default)]
    max_batch_bytes: Option<SizeSpec>,
    #[serde(default)]
    max_row_group_bytes: Option<SizeSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineSpec {
    #[serde(default)]
    memory_limit: Option<SizeSpec>,
    #[serde(default)]
    spill_dir: Option<String>,
    #[serde(default)]
    ballista: Option<String>,
}

/// A size as written: a number of bytes, or text with a unit.
#[derive(Deserialize)]
#[serde(untagged)]
enum SizeSpec {
    Bytes(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSpec {
    #[serde(default)]
    max_retries: Option<usize>,
    #[serde(default)]
    retry_timeout_seconds: Option<f64>,
    #[serde(default)]
    request_timeout_seconds: Option<f64>,
    #[serde(default)]
    connect_timeout_seconds: Option<f64>,
    #[serde(default)]
    concurrency: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisclosureSpec {
    default: Disclosure,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidationSpec {
    max_invalid_row_fraction: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoringSpec {
    min_coverage: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeersSpec {
    min_group_size: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishSpec {
    #[serde(default)]
    prometheus: Option<PrometheusSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrometheusSpec {
    #[serde(default)]
    audience: Option<Disclosure>,
    #[serde(default)]
    textfile: Option<String>,
    #[serde(default)]
    pushgateway: Option<String>,
}

/// Default share of invalid rows above which a dataset is rejected.
pub const DEFAULT_MAX_INVALID_ROW_FRACTION: f64 = 0.05;
/// Default coverage below which an outcome or dimension gets no score.
pub const DEFAULT_MIN_COVERAGE: f64 = 0.5;
/// Default smallest peer group that gets statistics.
pub const DEFAULT_MIN_GROUP_SIZE: u32 = 5;

impl Pipeline {
    /// Reads and checks a pipeline file. Does not load the catalog or registry it names.
    pub fn load(path: &Path) -> Result<Pipeline, Problems> {
        let text = read_text(path)?;
        Pipeline::parse(path, &text)
    }

    /// Checks a pipeline's text, reporting every problem.
    pub fn parse(path: &Path, text: &str) -> Result<Pipeline, Problems> {
        let spec: PipelineSpec = yaml::parse(path, text)?;
        let source = SourceText::new(text);
        let mut problems = Problems::new();
        let base = path.parent().unwrap_or(Path::new("."));
        let mut at = |keys: &[&str], message: String| {
            problems.push(Problem::new(path, source.key(keys), message))
        };

        if spec.name.is_empty()
            || !spec
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            at(
                &["name"],
                format!(
                    "pipeline name `{}` must be lower-case letters, digits and `-`",
                    spec.name
                ),
            );
        }
        if !(1900..=2200).contains(&spec.year) {
            at(
                &["year"],
                format!("year {} is not a plausible reporting year", spec.year),
            );
        }
        let catalog = resolve_local(base, &spec.catalog).unwrap_or_else(|e| {
            at(&["catalog"], e);
            PathBuf::new()
        });
        let members = resolve_store(base, &spec.members).unwrap_or_else(|e| {
            at(&["members"], e);
            StoreLocation::Local(PathBuf::new())
        });
        if let StoreLocation::Remote(url) = &members
            && url
                .split_once("://")
                .is_some_and(|(_, rest)| !rest.trim_end_matches('/').contains('/'))
        {
            at(
                &["members"],
                format!(
                    "`{url}` names a bucket; name the registry file in it, such as {}/members.yaml",
                    url.trim_end_matches('/')
                ),
            );
        }
        let source_location = resolve_store(base, &spec.source).unwrap_or_else(|e| {
            at(&["source"], e);
            StoreLocation::Local(PathBuf::new())
        });
        let results = resolve_store(base, &spec.results).unwrap_or_else(|e| {
            at(&["results"], e);
            StoreLocation::Local(PathBuf::new())
        });
        let audiences = spec.audiences.unwrap_or_else(|| Disclosure::ALL.to_vec());
        if audiences.is_empty() {
            at(
                &["audiences"],
                "list at least one audience: secretariat, wco or public".into(),
            );
        }
        for (i, a) in audiences.iter().enumerate() {
            if audiences[..i].contains(a) {
                at(&["audiences"], format!("audience `{a}` is listed twice"));
            }
        }
        let max_invalid_row_fraction = spec
            .validation
            .map_or(DEFAULT_MAX_INVALID_ROW_FRACTION, |v| {
                v.max_invalid_row_fraction
            });
        if !(0.0..=1.0).contains(&max_invalid_row_fraction) {
            at(
                &["validation", "max_invalid_row_fraction"],
                format!(
                    "max_invalid_row_fraction must be between 0 and 1, not {max_invalid_row_fraction}"
                ),
            );
        }
        let min_coverage = spec
            .scoring
            .map_or(DEFAULT_MIN_COVERAGE, |s| s.min_coverage);
        if !(0.0..=1.0).contains(&min_coverage) {
            at(
                &["scoring", "min_coverage"],
                format!("min_coverage must be between 0 and 1, not {min_coverage}"),
            );
        }
        let min_group_size = spec
            .peers
            .map_or(DEFAULT_MIN_GROUP_SIZE, |p| p.min_group_size);
        if min_group_size == 0 {
            at(
                &["peers", "min_group_size"],
                "min_group_size must be at least 1".into(),
            );
        }
        let prometheus = spec
            .publish
            .and_then(|p| p.prometheus)
            .map(|p| check_prometheus(p, &audiences, base, &mut at));
        let storage = spec
            .storage
            .map_or_else(StorageSettings::default, |st| check_storage(st, &mut at));
        let staging = spec.staging.as_deref().and_then(|value| {
            resolve_store(base, value)
                .map_err(|e| at(&["staging"], e))
                .ok()
        });
        let engine = spec
            .engine
            .map_or_else(EngineConfig::default, |e| check_engine(e, base, &mut at));
        let limits = spec
            .limits
            .map_or_else(Limits::default, |l| check_limits(l, &mut at));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Pipeline {
            path: path.to_path_buf(),
            name: spec.name,
            year: spec.year,
            catalog,
            members,
            source: source_location,
            results,
            audiences,
            disclosure_default: spec.disclosure.map_or(Disclosure::Wco, |d| d.default),
            max_invalid_row_fraction,
            min_coverage,
            min_group_size,
            prometheus,
            storage,
            staging,
            engine,
            limits,
        })
    }
}

/// A local path, relative to the pipeline's folder unless absolute.
fn resolve_local(base: &Path, value: &str) -> Result<PathBuf, String> {
    if value.contains("://") {
        return Err(format!(
            "`{value}` must be a local path (relative to the pipeline file, or absolute)"
        ));
    }
    Ok(normalize(&base.join(value)))
}

/// A store URL, or a local folder for plain paths and `file:` URLs.
fn resolve_store(base: &Path, value: &str) -> Result<StoreLocation, String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(rest) = value.strip_prefix("file://") {
        return Ok(StoreLocation::Local(normalize(&base.join(rest))));
    }
    if let Some(rest) = value.strip_prefix("file:") {
        return Ok(StoreLocation::Local(normalize(&base.join(rest))));
    }
    match value.split_once("://") {
        Some((scheme, rest)) => match scheme {
            "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "azure" => {
                if rest.is_empty() || rest.starts_with('/') {
                    Err(format!(
                        "`{value}` needs a bucket or container name after `{scheme}://`"
                    ))
                } else {
                    Ok(StoreLocation::Remote(value.to_string()))
                }
            }
            _ => Err(format!(
                "`{scheme}://` is not a supported store: use s3://, gs://, az://, file:// or a local path"
            )),
        },
        None => Ok(StoreLocation::Local(normalize(&base.join(value)))),
    }
}

/// Removes `.` and resolves `..` lexically, so messages show tidy paths.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_against_the_pipeline_folder() {
        let base = Path::new("pipelines");
        assert_eq!(
            resolve_local(base, "../indicators").ok(),
            Some(PathBuf::from("indicators"))
        );
        assert_eq!(
            resolve_store(base, "s3://bucket/prefix").ok(),
            Some(StoreLocation::Remote("s3://bucket/prefix".into()))
        );
        assert_eq!(
            resolve_store(base, "file:///data/x").ok(),
            Some(StoreLocation::Local(PathBuf::from("/data/x")))
        );
        assert!(resolve_store(base, "ftp://host/x").is_err());
        assert!(resolve_store(base, "s3://").is_err());
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("2 gigs").unwrap_err().contains("not a unit"));
        assert!(parse_bytes("GiB").is_err());
        assert!(parse_bytes("0B").is_err());
    }

    #[test]
    fn staging_defaults_to_a_folder_of_the_results() {
        let pipeline = Pipeline::parse(
            Path::new("pipelines/p.yaml"),
            "name: p\nyear: 2024\ncatalog: ../indicators\nmembers: m.yaml\nsource: s\nresults: s3://bucket/results/\n",
        )
        .unwrap();
        assert_eq!(
            pipeline.staging_for(&pipeline.results),
            StoreLocation::Remote("s3://bucket/results/staging".into())
        );
        assert_eq!(
            pipeline.staging_for(&StoreLocation::Local(PathBuf::from("/tmp/r"))),
            StoreLocation::Local(PathBuf::from("/tmp/r/staging"))
        );
        assert_eq!(pipeline.engine, EngineConfig::default());
    }

    #[test]
    fn engine_settings_are_checked() {
        let text = "name: p\nyear: 2024\ncatalog: ../indicators\nmembers: m.yaml\nsource: s\nresults: r\nstaging: s3://bucket/staged\nengine:\n  memory_limit: 64MiB\n  spill_dir: ../spill\n";
        let pipeline = Pipeline::parse(Path::new("pipelines/p.yaml"), text).unwrap();
        assert_eq!(pipeline.engine.memory_limit, Some(64 << 20));
        assert_eq!(pipeline.engine.spill_dir, Some(PathBuf::from("spill")));
        assert_eq!(pipeline.engine.ballista, None);
        assert_eq!(
            pipeline.staging,
            Some(StoreLocation::Remote("s3://bucket/staged".into()))
        );
        let bad = text.replace("64MiB", "lots");
        let problems = Pipeline::parse(Path::new("pipelines/p.yaml"), &bad).unwrap_err();
        let shown = problems.to_string();
        assert!(shown.contains("pipelines/p.yaml:9:"), "{shown}");
        assert!(shown.contains("memory_limit"), "{shown}");
    }

    #[test]
    fn limits_have_defaults_and_are_checked() {
        let base =
            "name: p\nyear: 2024\ncatalog: ../indicators\nmembers: m.yaml\nsource: s\nresults: r\n";
        let pipeline = Pipeline::parse(Path::new("p.yaml"), base).unwrap();
        assert_eq!(pipeline.limits, Limits::default());
        assert_eq!(pipeline.limits.max_record_bytes, 1 << 20);
        let text = format!(
            "{base}limits:\n  max_record_bytes: 2KiB\n  max_columns: 50\n  max_manifest_bytes: 1000\n  max_decompressed_bytes: 1GiB\n  max_nesting: 4\n  max_footer_bytes: 1MiB\n  max_batch_bytes: 16MiB\n  max_row_group_bytes: 32MiB\n"
        );
        let limits = Pipeline::parse(Path::new("p.yaml"), &text).unwrap().limits;
        assert_eq!(
            limits,
            Limits {
                max_record_bytes: 2048,
                max_columns: 50,
                max_manifest_bytes: 1000,
                max_decompressed_bytes: 1 << 30,
                max_nesting: 4,
                max_footer_bytes: 1 << 20,
                max_batch_bytes: 16 << 20,
                max_row_group_bytes: 32 << 20,
            }
        );
        for (bad, message) in [
            ("max_columns: 0", "max_columns must be at least 1"),
            ("max_nesting: 65", "max_nesting must be at most 64"),
            (
                "max_record_bytes: 0",
                "max_record_bytes: must be at least 1 byte",
            ),
            (
                "max_manifest_bytes: huge",
                "max_manifest_bytes: `huge` is not",
            ),
            ("max_rows: 5", "unknown field `max_rows`"),
        ] {
            let text = format!("{base}limits:\n  {bad}\n");
            let shown = Pipeline::parse(Path::new("p.yaml"), &text)
                .unwrap_err()
                .to_string();
            assert!(
                shown.contains("p.yaml:8:") && shown.contains(message),
                "{bad}: {shown}"
            );
        }
    }

    #[test]
    fn out_of_range_timeouts_are_refused_not_a_panic() {
        let base =
            "name: p\nyear: 2024\ncatalog: ../indicators\nmembers: m.yaml\nsource: s\nresults: r\n";
        for value in ["1e20", "-1", ".nan", ".inf", "604801"] {
            let text = format!("{base}storage:\n  retry_timeout_seconds: {value}\n");
            let shown = Pipeline::parse(Path::new("p.yaml"), &text)
                .unwrap_err()
                .to_string();
            assert!(shown.contains("at most 604800"), "{value}: {shown}");
        }
        let text = format!("{base}storage:\n  retry_timeout_seconds: 604800\n");
        assert!(Pipeline::parse(Path::new("p.yaml"), &text).is_ok());
    }

    #[test]
    fn a_ballista_scheduler_is_a_df_url_with_a_port() {
        let parse = |url: &str| {
            let text = format!(
                "name: p\nyear: 2024\ncatalog: ../indicators\nmembers: m.yaml\nsource: s\nresults: r\nengine:\n  ballista: {url}\n"
            );
            Pipeline::parse(Path::new("pipelines/p.yaml"), &text)
                .map(|p| p.engine.ballista)
                .map_err(|problems| problems.into_sorted()[0].message.clone())
        };
        assert_eq!(
            parse("df://scheduler.internal:50060"),
            Ok(Some("df://scheduler.internal:50060".into()))
        );
        assert_eq!(
            parse("df://10.0.0.7"),
            Ok(Some("df://10.0.0.7:50050".into()))
        );
        for wrong in [
            "http://scheduler:50050",
            "scheduler:50050",
            "df://user:secret@scheduler:50050",
            "df://scheduler:50050/path",
        ] {
            let message = parse(wrong).unwrap_err();
            assert!(message.contains("df://HOST:PORT"), "{wrong}: {message}");
        }
    }
}
