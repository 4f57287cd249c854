//! `pmm serve`: an HTTP server with `/metrics` (the latest published run, for one audience)
//! and `/healthz`, for Prometheus to scrape.
//!
//! A background task reads `<results>/latest.json` every `refresh`; when it names a new run,
//! the run's manifest and the audience's tables are read and turned into metrics, then swapped
//! in whole. When the store cannot be read, the last good run goes on being served and
//! `/healthz` says what failed.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::manifest::LatestPointer;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use pmm_catalog::Disclosure;
use pmm_store::{StoreRoot, layout};
use serde_json::json;

use crate::metrics::{CONTENT_TYPE, MetricsText, RunHealth, encode};
use crate::published::{LoadError, latest_run, read_audience_tables, read_history, read_manifest};

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

/// A run loaded and turned into metrics.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// The run's id (the run of the latest year, whose tables are served).
    pub run_id: String,
    /// The id of the run published last (`latest.json`'s), whose history is served: a new one
    /// is loaded even when the run shown stays.
    pub latest_id: String,
    /// Its metrics.
    pub metrics: MetricsText,
}

/// Reads the run `latest` shows (its run of the latest year) and the history of the run it
/// names, and builds their metrics for `audience`.
pub async fn load_run(
    root: &StoreRoot,
    latest: &LatestPointer,
    audience: Disclosure,
) -> Result<LoadedRun, LoadError> {
    let (run_id, path) = latest.shown();
    let manifest = read_manifest(root, path).await?;
    let manifest_at = root.shown(&layout::results::manifest_in(path));
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
    let tables = read_audience_tables(root, path, audience).await?;
    let history = read_history(root, &latest.path, audience).await?;
    Ok(LoadedRun {
        run_id: run_id.to_string(),
        latest_id: latest.run_id.clone(),
        metrics: encode(&tables, history.as_ref(), &health)?,
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
        .and_then(|s| s.run.as_ref().map(|r| r.latest_id.clone()));
    let outcome = async {
        let latest = latest_run(&options.results).await?;
        if current.as_deref() == Some(latest.run_id.as_str()) {
            return Ok(None);
        }
        // The run of the latest year is served: a run that filled in an earlier year leaves
        // it shown, and brings its history.
        load_run(&options.results, &latest, options.audience)
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
