//! `pmm serve`: an HTTP server with `/metrics` (the latest published run, for one audience)
//! and `/healthz`, for Prometheus to scrape.
//!
//! A background task reads `<results>/latest.json` every `refresh`; when it names a new run,
//! the run's manifest and the audience's tables are read and turned into metrics, then swapped
//! in whole. When the store cannot be read, the last good run goes on being served and
//! `/healthz` says what failed.

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::record_batch::RecordBatch;
use object_store::ObjectStoreExt;
use pmm_catalog::Disclosure;
use pmm_ingest::StoreRoot;
use serde_json::json;

use crate::manifest::{LatestPointer, RunManifest};
use crate::metrics::{AudienceTables, CONTENT_TYPE, MetricsText, RunHealth, encode};
use pmm_engine::results::{DIMENSION_SCORES, INDICATOR_VALUES, OUTCOME_SCORES, PEER_STATS};

/// What `pmm serve` serves, and how often it looks for a new run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where the runs are published.
    pub results: StoreRoot,
    /// Whose results become metrics.
    pub audience: Disclosure,
    /// How often `latest.json` is read.
    pub refresh: Duration,
}

/// Why a run could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Nothing has been published at this location yet.
    #[error("no latest.json at {0}: nothing is published there yet, or it cannot be read")]
    NothingPublished(String),
    /// The store could not be read.
    #[error("cannot read {path}: {source}")]
    Store {
        /// The object.
        path: String,
        /// Why.
        source: object_store::Error,
    },
    /// An object is not what a run writes.
    #[error("{path}: {message}")]
    Invalid {
        /// The object.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The metrics could not be built from the tables.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// A run loaded and turned into metrics.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// The run's id.
    pub run_id: String,
    /// Its metrics.
    pub metrics: MetricsText,
}

async fn read(root: &StoreRoot, relative: &str) -> Result<bytes::Bytes, LoadError> {
    let key = root.key(relative);
    let path = format!("{}/{relative}", root.display.trim_end_matches('/'));
    let result = root.store.get(&key).await;
    match result {
        Err(object_store::Error::NotFound { .. }) if relative == "latest.json" => {
            Err(LoadError::NothingPublished(root.display.clone()))
        }
        Err(source) => Err(LoadError::Store { path, source }),
        Ok(get) => get
            .bytes()
            .await
            .map_err(|source| LoadError::Store { path, source }),
    }
}

/// The run that `latest.json` names.
pub async fn latest_run(root: &StoreRoot) -> Result<LatestPointer, LoadError> {
    let bytes = read(root, "latest.json").await?;
    serde_json::from_slice(&bytes).map_err(|e| LoadError::Invalid {
        path: format!("{}/latest.json", root.display.trim_end_matches('/')),
        message: format!("not a latest.json of pmm: {e}"),
    })
}

/// The manifest of the run in folder `path` (relative to the results location).
pub async fn read_manifest(root: &StoreRoot, path: &str) -> Result<RunManifest, LoadError> {
    let manifest_path = format!("{path}/manifest.json");
    let bytes = read(root, &manifest_path).await?;
    serde_json::from_slice(&bytes).map_err(|e| LoadError::Invalid {
        path: format!("{}/{manifest_path}", root.display.trim_end_matches('/')),
        message: format!("not a run manifest of pmm: {e}"),
    })
}

/// One result table of a run, read whole.
pub async fn read_table(root: &StoreRoot, relative: &str) -> Result<RecordBatch, LoadError> {
    let bytes = read(root, relative).await?;
    let invalid = |message: String| LoadError::Invalid {
        path: format!("{}/{relative}", root.display.trim_end_matches('/')),
        message,
    };
    let reader = FileReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| invalid(format!("not an Arrow IPC file: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("unreadable Arrow IPC file: {e}")))?;
    concat_batches(&schema, &batches).map_err(|e| invalid(e.to_string()))
}

/// Reads the run at `path` (relative to the results root) and builds its metrics for
/// `audience`.
pub async fn load_run(
    root: &StoreRoot,
    run_id: &str,
    path: &str,
    audience: Disclosure,
) -> Result<LoadedRun, LoadError> {
    // Where the manifest is, for messages: the results location, then the run's folder.
    let manifest_at = format!(
        "{}/{path}/manifest.json",
        root.display.trim_end_matches('/')
    );
    let manifest = read_manifest(root, path).await?;
    let health = RunHealth::from_manifest(&manifest).ok_or_else(|| LoadError::Invalid {
        path: manifest_at.clone(),
        message: format!("finished_at `{}` is not a timestamp", manifest.finished_at),
    })?;
    if !manifest.audiences.contains(&audience) {
        return Err(LoadError::Invalid {
            path: manifest_at,
            message: format!(
                "run {run_id} was not published for the {audience} audience (see the pipeline's `audiences`)"
            ),
        });
    }
    let table = |name: &str| format!("{path}/{audience}/{name}.arrow");
    let tables = AudienceTables {
        indicator_values: read_table(root, &table(INDICATOR_VALUES.name)).await?,
        outcome_scores: read_table(root, &table(OUTCOME_SCORES.name)).await?,
        dimension_scores: read_table(root, &table(DIMENSION_SCORES.name)).await?,
        peer_stats: read_table(root, &table(PEER_STATS.name)).await?,
    };
    Ok(LoadedRun {
        run_id: run_id.to_string(),
        metrics: encode(&tables, &health)?,
    })
}

/// What the server knows.
#[derive(Debug, Default)]
struct Served {
    run: Option<Arc<LoadedRun>>,
    loaded_at: Option<DateTime<Utc>>,
    checked_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

type Shared = Arc<RwLock<Served>>;

/// Reads `latest.json` once and loads the run it names when it is new.
async fn refresh(options: &ServeOptions, shared: &Shared) {
    let current = shared
        .read()
        .ok()
        .and_then(|s| s.run.as_ref().map(|r| r.run_id.clone()));
    let outcome = async {
        let latest = latest_run(&options.results).await?;
        if current.as_deref() == Some(latest.run_id.as_str()) {
            return Ok(None);
        }
        load_run(
            &options.results,
            &latest.run_id,
            &latest.path,
            options.audience,
        )
        .await
        .map(Some)
    }
    .await;
    let Ok(mut served) = shared.write() else {
        return;
    };
    served.checked_at = Some(Utc::now());
    match outcome {
        Ok(Some(run)) => {
            tracing::info!(
                run_id = run.run_id,
                samples = run.metrics.samples,
                "serving a new run"
            );
            served.run = Some(Arc::new(run));
            served.loaded_at = served.checked_at;
            served.error = None;
        }
        Ok(None) => served.error = None,
        Err(e) => {
            let message = e.to_string();
            if served.error.as_deref() != Some(message.as_str()) {
                match &served.run {
                    Some(run) => tracing::warn!(
                        serving = run.run_id,
                        "{message}; still serving the last good run"
                    ),
                    None => tracing::warn!("{message}; will try again"),
                }
            }
            served.error = Some(message);
        }
    }
}

async fn metrics(State(shared): State<Shared>) -> Response {
    let served = shared.read().ok().and_then(|s| s.run.clone());
    match served {
        Some(run) => (
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            run.metrics.text.clone(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no published run loaded yet: see /healthz\n",
        )
            .into_response(),
    }
}

async fn healthz(State(shared): State<Shared>) -> Response {
    let Ok(served) = shared.read() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    let body = json!({
        "status": if served.run.is_some() { "ok" } else { "no_run" },
        "run_id": served.run.as_ref().map(|r| r.run_id.clone()),
        "samples": served.run.as_ref().map(|r| r.metrics.samples),
        "loaded_at": time(served.loaded_at),
        "checked_at": time(served.checked_at),
        "store_error": served.error,
    });
    let status = if served.run.is_some() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared: Shared = Arc::default();
    refresh(&options, &shared).await;
    let poller = {
        let (shared, options) = (shared.clone(), options.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(options.refresh);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                refresh(&options, &shared).await;
            }
        })
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(shared);
    let address: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(
        listen = address.map(|a| a.to_string()),
        results = options.results.display,
        audience = options.audience.as_str(),
        "serving /metrics and /healthz"
    );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    poller.abort();
    served
}
