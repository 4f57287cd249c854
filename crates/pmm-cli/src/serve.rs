//! `pmm serve`: serves the latest published run's metrics over HTTP for Prometheus to scrape.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use pmm_catalog::{Disclosure, StorageSettings, StoreLocation};
use pmm_publish::serve::{ServeOptions, serve};
use pmm_store::open_store;

use crate::{EXIT_CONFIG, EXIT_FAILED};

/// Runs the server until Ctrl-C or SIGTERM; returns the exit code.
pub(crate) async fn run(
    results: &str,
    audience: Disclosure,
    listen: SocketAddr,
    refresh_seconds: f64,
) -> anyhow::Result<u8> {
    if !(refresh_seconds.is_finite() && (0.1..=86_400.0).contains(&refresh_seconds)) {
        eprintln!("error: --refresh must be between 0.1 and 86400 seconds (a day)");
        return Ok(EXIT_CONFIG);
    }
    let location = match StoreLocation::resolve(&PathBuf::from("."), results) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: --results: {e}");
            return Ok(EXIT_CONFIG);
        }
    };
    let root = match open_store(&location, false, &StorageSettings::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: --results {e}");
            return Ok(EXIT_CONFIG);
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return Ok(EXIT_CONFIG);
        }
    };
    let options = ServeOptions {
        results: root,
        audience,
        refresh: Duration::from_secs_f64(refresh_seconds),
    };
    match serve(listener, options, shutdown_signal()).await {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("error: the server stopped: {e}");
            Ok(EXIT_FAILED)
        }
    }
}

/// Completes on Ctrl-C or SIGTERM (what a service manager sends).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("stopping");
}
