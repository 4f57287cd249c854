//! The pipeline's optional sections, each checked on its own: `publish.prometheus`,
//! `storage`, `engine` and `limits`. Each takes the section as written and a `complain`
//! callback that places a problem at a key path, and returns the settings with defaults for
//! what is missing or wrong (the problem is what fails the load).

use std::path::Path;

use crate::model::Disclosure;

use super::{
    EngineConfig, EngineSpec, Limits, LimitsSpec, PrometheusPublish, PrometheusSpec, SizeSpec,
    StorageSettings, StorageSpec, normalize, parse_bytes, resolve_local,
};

/// The longest timeout a pipeline may set: a week.
pub(super) const MAX_STORAGE_SECONDS: f64 = 604_800.0;

/// The smallest memory pool a pipeline may set.
const MIN_MEMORY_LIMIT: u64 = 1 << 20;

/// `publish.prometheus`: an audience the run publishes, an http(s) Pushgateway, a `.prom`
/// textfile.
pub(super) fn check_prometheus(
    p: PrometheusSpec,
    audiences: &[Disclosure],
    base: &Path,
    at: &mut impl FnMut(&[&str], String),
) -> PrometheusPublish {
    let audience = p.audience.unwrap_or(Disclosure::Public);
    if !audiences.contains(&audience) {
        at(
            &["publish", "prometheus", "audience"],
            format!("metrics audience `{audience}` is not one of the pipeline's audiences"),
        );
    }
    if let Some(url) = &p.pushgateway
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        at(
            &["publish", "prometheus", "pushgateway"],
            format!("pushgateway must be an http:// or https:// URL, not `{url}`"),
        );
    }
    let textfile = p.textfile.map(|t| normalize(&base.join(t)));
    if let Some(t) = &textfile
        && t.extension().and_then(|e| e.to_str()) != Some("prom")
    {
        at(
            &["publish", "prometheus", "textfile"],
            "the node_exporter textfile collector only reads files ending in `.prom`".into(),
        );
    }
    PrometheusPublish {
        audience,
        textfile,
        pushgateway: p.pushgateway,
    }
}

/// `storage`: timeouts above 0 and at most a week, at least one request at a time.
pub(super) fn check_storage(
    st: StorageSpec,
    at: &mut impl FnMut(&[&str], String),
) -> StorageSettings {
    let defaults = StorageSettings::default();
    let mut seconds = |key: &str, value: Option<f64>, default: f64| match value {
        Some(v) if !(v.is_finite() && v > 0.0 && v <= MAX_STORAGE_SECONDS) => {
            at(
                &["storage", key],
                format!(
                    "{key} must be a number of seconds above 0 and at most {MAX_STORAGE_SECONDS} (a week), not {v}"
                ),
            );
            default
        }
        Some(v) => v,
        None => default,
    };
    let settings = StorageSettings {
        max_retries: st.max_retries.unwrap_or(defaults.max_retries),
        retry_timeout_seconds: seconds(
            "retry_timeout_seconds",
            st.retry_timeout_seconds,
            defaults.retry_timeout_seconds,
        ),
        request_timeout_seconds: seconds(
            "request_timeout_seconds",
            st.request_timeout_seconds,
            defaults.request_timeout_seconds,
        ),
        connect_timeout_seconds: seconds(
            "connect_timeout_seconds",
            st.connect_timeout_seconds,
            defaults.connect_timeout_seconds,
        ),
        concurrency: st.concurrency.or(defaults.concurrency),
    };
    if settings.concurrency == Some(0) {
        at(
            &["storage", "concurrency"],
            "concurrency must be at least 1".into(),
        );
    }
    settings
}

/// `engine`: a memory pool of at least 1 MiB, a local spill folder.
pub(super) fn check_engine(
    engine: EngineSpec,
    base: &Path,
    at: &mut impl FnMut(&[&str], String),
) -> EngineConfig {
    let memory_limit = engine.memory_limit.and_then(|size| match size_in_bytes(size) {
        Ok(n) if n < MIN_MEMORY_LIMIT => {
            at(
                &["engine", "memory_limit"],
                format!(
                    "memory_limit must be at least 1MiB: the query engine needs a few batches to work with ({n} bytes given)"
                ),
            );
            None
        }
        Ok(n) => Some(n),
        Err(e) => {
            at(&["engine", "memory_limit"], format!("memory_limit: {e}"));
            None
        }
    });
    let spill_dir = engine.spill_dir.and_then(|dir| {
        resolve_local(base, &dir)
            .map_err(|e| at(&["engine", "spill_dir"], e))
            .ok()
    });
    let ballista = engine.ballista.and_then(|url| {
        check_ballista(&url)
            .map_err(|e| at(&["engine", "ballista"], e))
            .ok()
    });
    EngineConfig {
        memory_limit,
        spill_dir,
        ballista,
    }
}

/// The port of a Ballista scheduler when `engine.ballista` names none.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// `engine.ballista`: `df://HOST:PORT` (port 50050 when not given), nothing else. Returns the
/// URL with its port.
fn check_ballista(url: &str) -> Result<String, String> {
    let wanted = "write df://HOST:PORT, the address `pmm scheduler --bind` listens on";
    let mut parsed = url::Url::parse(url)
        .map_err(|e| format!("ballista: `{url}` is not a URL ({e}); {wanted}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Shown without them: a pipeline is no place for credentials, nor is a message.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        return Err(format!(
            "ballista: {parsed} carries a user or password, which a Ballista scheduler does not take; {wanted}"
        ));
    }
    if parsed.scheme() != "df" {
        return Err(format!(
            "ballista: {url} is not a Ballista scheduler's address; {wanted}"
        ));
    }
    let host = match parsed.host_str() {
        Some(host) if !host.is_empty() => host,
        _ => return Err(format!("ballista: {url} names no host; {wanted}")),
    };
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err(format!(
            "ballista: {url} has more than a host and a port; {wanted}"
        ));
    }
    let port = parsed.port().unwrap_or(DEFAULT_SCHEDULER_PORT);
    Ok(format!("df://{host}:{port}"))
}

/// The most `limits.max_nesting` may be: Parquet schema conversion recurses once per level, on
/// a reading thread's stack (2 MiB), and 64 levels use a small part of it.
pub(super) const MAX_NESTING: u64 = 64;

/// `limits`: sizes of at least one byte, at least one column, nesting of at most
/// [`MAX_NESTING`].
pub(super) fn check_limits(l: LimitsSpec, at: &mut impl FnMut(&[&str], String)) -> Limits {
    let defaults = Limits::default();
    let mut size = |key: &str, value: Option<SizeSpec>, default: u64| match value {
        None => default,
        Some(value) => size_in_bytes(value).unwrap_or_else(|e| {
            at(&["limits", key], format!("{key}: {e}"));
            default
        }),
    };
    let limits = Limits {
        max_record_bytes: size(
            "max_record_bytes",
            l.max_record_bytes,
            defaults.max_record_bytes,
        ),
        max_columns: l.max_columns.unwrap_or(defaults.max_columns),
        max_manifest_bytes: size(
            "max_manifest_bytes",
            l.max_manifest_bytes,
            defaults.max_manifest_bytes,
        ),
        max_decompressed_bytes: size(
            "max_decompressed_bytes",
            l.max_decompressed_bytes,
            defaults.max_decompressed_bytes,
        ),
        max_nesting: l.max_nesting.unwrap_or(defaults.max_nesting),
        max_footer_bytes: size(
            "max_footer_bytes",
            l.max_footer_bytes,
            defaults.max_footer_bytes,
        ),
        max_batch_bytes: size(
            "max_batch_bytes",
            l.max_batch_bytes,
            defaults.max_batch_bytes,
        ),
        max_row_group_bytes: size(
            "max_row_group_bytes",
            l.max_row_group_bytes,
            defaults.max_row_group_bytes,
        ),
    };
    if limits.max_nesting > MAX_NESTING {
        at(
            &["limits", "max_nesting"],
            format!(
                "max_nesting must be at most {MAX_NESTING}: the readers that recurse are bounded by it"
            ),
        );
    }
    if limits.max_columns == 0 {
        at(
            &["limits", "max_columns"],
            "max_columns must be at least 1".into(),
        );
    }
    limits
}

/// A size as written: a plain number of bytes, or text with a unit.
fn size_in_bytes(size: SizeSpec) -> Result<u64, String> {
    match size {
        SizeSpec::Bytes(0) => Err("must be at least 1 byte".to_string()),
        SizeSpec::Bytes(n) => Ok(n),
        SizeSpec::Text(text) => parse_bytes(&text),
    }
}
