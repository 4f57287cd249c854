//! Stores: every read and write of submissions, staging and results goes through
//! `object_store`, local folders included, so a local run and an S3 run follow one code path.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use url::Url;

use pmm_catalog::{StorageSettings, StoreLocation};

/// A store and the prefix inside it that a pipeline names (`source` or `results`).
#[derive(Clone)]
pub struct StoreRoot {
    /// The object store.
    pub store: Arc<dyn ObjectStore>,
    /// The prefix every key is under.
    pub prefix: Path,
    /// How the location was written, for messages (never with credentials).
    pub display: String,
    /// The store's own URL (`file:///`, `s3://bucket`, `memory:///`, ...): where a query
    /// engine registers the store, and the base of [`Self::object_url`].
    pub url: Url,
}

impl fmt::Debug for StoreRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreRoot")
            .field("display", &self.display)
            .finish()
    }
}

impl StoreRoot {
    /// Whether the store is on this machine (a folder, or memory): reading and writing cost
    /// the cores, not requests over a network.
    pub fn is_local(&self) -> bool {
        matches!(self.url.scheme(), "file" | "memory")
    }

    /// The key of `relative` (a `/`-separated path) under the prefix.
    pub fn key(&self, relative: &str) -> Path {
        relative
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    /// The full URL of `relative` under the prefix, as a query engine that has the store
    /// registered under [`Self::url`] reads it.
    pub fn object_url(&self, relative: &str) -> Url {
        let mut url = self.url.clone();
        url.set_path(&format!("/{}", self.key(relative)));
        url
    }

    /// `relative` as shown in messages: the location as written, then the path.
    pub fn shown(&self, relative: &str) -> String {
        format!("{}/{relative}", self.display.trim_end_matches('/'))
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
    /// A store whose client cannot be set up from its URL and environment.
    #[error("{location}: cannot set up the store: {source}")]
    Setup {
        /// The location, without credentials.
        location: String,
        /// What `object_store`'s builder said.
        #[source]
        source: object_store::Error,
    },
}

/// Opens a store location. `create` makes a missing local folder (for results).
///
/// Cloud stores are configured only from their standard environment variables
/// (`AWS_*`, `GOOGLE_*`, `AZURE_*`, as `object_store` reads them), with the pipeline's
/// timeouts and retries. Nothing of the configuration appears in messages but the URL.
pub fn open_store(
    location: &StoreLocation,
    create: bool,
    settings: &StorageSettings,
) -> Result<StoreRoot, StoreError> {
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
            // The whole file system, with the folder as the prefix: keys are absolute paths, so
            // a query engine reads staged files by their `file://` URLs. Keys cannot hold `..`,
            // so nothing outside the folder is reached through this root.
            let prefix = Path::from_filesystem_path(dir).map_err(|e| StoreError::Local {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
            Ok(StoreRoot {
                store: Arc::new(LocalFileSystem::new()),
                prefix,
                display: dir.display().to_string(),
                url: Url::parse("file:///").map_err(|e| StoreError::Unsupported(e.to_string()))?,
            })
        }
        StoreLocation::Remote(url) => open_remote(url, settings),
    }
}

/// The location of a single object (the members registry): the store of its folder, and its
/// name in it.
pub fn open_object(
    location: &StoreLocation,
    settings: &StorageSettings,
) -> Result<(StoreRoot, String), StoreError> {
    let unsupported = |what: &str| StoreError::Unsupported(format!("{location}: {what}"));
    match location {
        StoreLocation::Local(file) => {
            let name = file
                .file_name()
                .ok_or_else(|| unsupported("not a file"))?
                .to_string_lossy()
                .into_owned();
            let folder = file.parent().unwrap_or(std::path::Path::new("."));
            let folder = if folder.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                folder
            };
            let root = open_store(&StoreLocation::Local(folder.to_path_buf()), false, settings)?;
            Ok((root, name))
        }
        StoreLocation::Remote(url) => {
            let (folder, name) = url
                .trim_end_matches('/')
                .rsplit_once('/')
                .filter(|(folder, _)| !folder.ends_with(':') && !folder.ends_with("//"))
                .ok_or_else(|| unsupported("name an object, not a bucket"))?;
            let root = open_remote(folder, settings)?;
            Ok((root, name.to_string()))
        }
    }
}

fn retry_config(settings: &StorageSettings) -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: settings.max_retries,
        retry_timeout: Duration::from_secs_f64(settings.retry_timeout_seconds),
        backoff: object_store::BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            base: 2.0,
        },
    }
}

/// The pipeline's timeouts as client settings, added to (not replacing) what the store's
/// environment variables set, such as `AWS_ALLOW_HTTP`.
#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure")),
    allow(dead_code)
)]
fn timeouts(settings: &StorageSettings) -> [(object_store::ClientConfigKey, String); 2] {
    let millis = |seconds: f64| format!("{}ms", (seconds * 1000.0).round() as u64);
    [
        (
            object_store::ClientConfigKey::Timeout,
            millis(settings.request_timeout_seconds),
        ),
        (
            object_store::ClientConfigKey::ConnectTimeout,
            millis(settings.connect_timeout_seconds),
        ),
    ]
}

/// A URL for messages, logs and results: without user, password, query or fragment (where
/// signatures and keys travel). The one place pmm takes credentials out of a URL: store
/// locations and the Pushgateway alike. Text that does not parse as a URL is cut at the
/// first `?` or `#` and loses anything before an `@`.
pub fn display_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            // Both fail only for URLs that cannot carry credentials at all.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            let shown = parsed.to_string();
            // `s3://bucket` parses as `s3://bucket` (no added slash); keep what was written.
            if !url.ends_with('/') && shown.ends_with('/') && parsed.path() == "/" {
                shown.trim_end_matches('/').to_string()
            } else {
                shown
            }
        }
        Err(_) => {
            let url = url.split(['?', '#']).next().unwrap_or(url);
            match url.split_once("://") {
                Some((scheme, rest)) => {
                    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
                    format!("{scheme}://{rest}")
                }
                None => url.to_string(),
            }
        }
    }
}

fn open_remote(url: &str, settings: &StorageSettings) -> Result<StoreRoot, StoreError> {
    let display = display_url(url);
    let parsed = Url::parse(url)
        .map_err(|e| StoreError::Unsupported(format!("{display}: not a valid URL: {e}")))?;
    let (scheme, prefix) = object_store::ObjectStoreScheme::parse(&parsed)
        .map_err(|e| StoreError::Unsupported(format!("{display}: {e}")))?;
    let failed = |source: object_store::Error| StoreError::Setup {
        location: display.clone(),
        source,
    };
    let store: Arc<dyn ObjectStore> = match scheme {
        #[cfg(feature = "s3")]
        object_store::ObjectStoreScheme::AmazonS3 => Arc::new(
            timeouts(settings)
                .into_iter()
                .fold(
                    object_store::aws::AmazonS3Builder::from_env(),
                    |builder, (key, value)| {
                        builder
                            .with_config(object_store::aws::AmazonS3ConfigKey::Client(key), value)
                    },
                )
                .with_url(url)
                .with_retry(retry_config(settings))
                .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch)
                .build()
                .map_err(failed)?,
        ),
        #[cfg(feature = "gcs")]
        object_store::ObjectStoreScheme::GoogleCloudStorage => Arc::new(
            timeouts(settings)
                .into_iter()
                .fold(
                    object_store::gcp::GoogleCloudStorageBuilder::from_env(),
                    |builder, (key, value)| {
                        builder.with_config(object_store::gcp::GoogleConfigKey::Client(key), value)
                    },
                )
                .with_url(url)
                .with_retry(retry_config(settings))
                .build()
                .map_err(failed)?,
        ),
        #[cfg(feature = "azure")]
        object_store::ObjectStoreScheme::MicrosoftAzure => Arc::new(
            timeouts(settings)
                .into_iter()
                .fold(
                    object_store::azure::MicrosoftAzureBuilder::from_env(),
                    |builder, (key, value)| {
                        builder.with_config(object_store::azure::AzureConfigKey::Client(key), value)
                    },
                )
                .with_url(url)
                .with_retry(retry_config(settings))
                .build()
                .map_err(failed)?,
        ),
        other => {
            return Err(StoreError::Unsupported(format!(
                "{display}: this build of pmm cannot open {other:?} stores (cargo features s3, gcs, azure)"
            )));
        }
    };
    let base = &parsed[..url::Position::BeforePath];
    let url = Url::parse(base)
        .map_err(|e| StoreError::Unsupported(format!("{display}: not a valid URL: {e}")))?;
    Ok(StoreRoot {
        store,
        prefix,
        display,
        url,
    })
}

/// Objects written so far by this process (staged files and entries, result files), for the
/// crash test hook.
static WRITES: AtomicUsize = AtomicUsize::new(0);

/// Counts one object written. Test hook: `PMM_CRASH_AFTER_WRITES=N` kills the process after N
/// objects, so a test can check that a run dying at any write leaves nothing half done: no
/// staged entry a later run would trust, no run that `latest.json` names but is incomplete.
pub fn count_write() {
    let written = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    if std::env::var("PMM_CRASH_AFTER_WRITES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        == Some(written)
    {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_carry_no_secrets() {
        assert_eq!(
            display_url("s3://key:secret@bucket/a/b?X-Amz-Signature=abc"),
            "s3://bucket/a/b"
        );
        assert_eq!(display_url("gs://bucket/x"), "gs://bucket/x");
        assert_eq!(display_url("s3://bucket"), "s3://bucket");
        assert_eq!(
            display_url("https://user:secret@push.example.org:9091/metrics/job/pmm"),
            "https://push.example.org:9091/metrics/job/pmm"
        );
        assert_eq!(
            display_url("http://127.0.0.1:9091"),
            "http://127.0.0.1:9091"
        );
        assert_eq!(
            display_url("az://acct:k%40y@container/a@b/c"),
            "az://container/a@b/c",
            "an @ in the path stays"
        );
    }

    #[test]
    fn an_s3_url_gives_bucket_store_and_prefix() {
        let root = open_store(
            &StoreLocation::Remote("s3://pmm-submissions/cycle-2024/".into()),
            false,
            &StorageSettings::default(),
        );
        // Without a region in the environment the builder still succeeds (it defaults).
        let root = root.unwrap();
        assert_eq!(root.prefix.as_ref(), "cycle-2024");
        assert_eq!(root.display, "s3://pmm-submissions/cycle-2024/");
        assert_eq!(
            root.key("member=XA/year=2024").as_ref(),
            "cycle-2024/member=XA/year=2024"
        );
    }

    #[test]
    fn a_registry_url_names_an_object() {
        let settings = StorageSettings::default();
        let (root, name) = open_object(
            &StoreLocation::Remote("s3://bucket/registry/members.yaml".into()),
            &settings,
        )
        .unwrap();
        assert_eq!(
            (root.prefix.as_ref(), name.as_str()),
            ("registry", "members.yaml")
        );
        assert!(open_object(&StoreLocation::Remote("s3://bucket".into()), &settings).is_err());
    }
}
