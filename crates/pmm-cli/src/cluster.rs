//! `pmm scheduler` and `pmm executor`: the two processes of an Apache DataFusion Ballista
//! cluster, built on ballista-scheduler and ballista-executor as libraries. The stock binaries
//! cannot run the catalog's SQL: functions travel in plans by name, and `hours_between` and
//! `percentile_exact` must be known to the scheduler's sessions and to every executor's
//! function registry. Both take them from `pmm_engine::register_functions`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::{default_config_producer, default_session_builder};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use clap::Args;
use datafusion::execution::SessionState;
use datafusion::prelude::SessionConfig;

/// `pmm scheduler`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct SchedulerArgs {
    /// Address to listen on (loopback unless told otherwise).
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    bind: String,
    /// gRPC port clients (`engine.ballista: df://HOST:PORT`) and executors connect to.
    #[arg(long, value_name = "PORT", default_value_t = 50050)]
    port: u16,
}

/// `pmm executor`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct ExecutorArgs {
    /// The scheduler to register with.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    scheduler: String,
    /// Address to listen on, and to give the scheduler and other executors.
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    bind: String,
    /// Arrow Flight port (executors fetch shuffle data from each other here).
    #[arg(long, value_name = "PORT", default_value_t = 50051)]
    port: u16,
    /// gRPC port the scheduler talks to.
    #[arg(long, value_name = "PORT", default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks run at once (default: one per core).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
}

/// A session as the cluster's processes build one: Ballista's defaults and pmm's functions.
fn session_state(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = default_session_builder(config)?;
    pmm_engine::register_functions(&mut state)?;
    Ok(state)
}

/// Runs the scheduler until it is stopped (Ctrl-C or SIGTERM).
pub(crate) async fn scheduler(args: SchedulerArgs) -> anyhow::Result<u8> {
    let address: SocketAddr = format!("{}:{}", args.bind, args.port)
        .parse()
        .with_context(|| format!("--bind {} --port {}", args.bind, args.port))?;
    let mut config =
        SchedulerConfig::default().with_override_session_builder(Arc::new(session_state));
    config.bind_host = args.bind.clone();
    config.bind_port = args.port;
    config.external_host = args.bind.clone();
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .context("cannot set up the scheduler's state")?;
    tracing::info!(%address, "pmm scheduler listening; executors register with --scheduler {address}");
    start_server(cluster, address, Arc::new(config))
        .await
        .with_context(|| {
            format!("the scheduler on {address} stopped (is another process on that port? --port chooses another)")
        })?;
    Ok(0)
}

/// Runs an executor registered with the scheduler until it is stopped.
pub(crate) async fn executor(args: ExecutorArgs) -> anyhow::Result<u8> {
    let (host, port) = args
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .with_context(|| format!("--scheduler {}: expected HOST:PORT", args.scheduler))?;
    let state = session_state(default_config_producer())?;
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: args.bind.clone(),
        external_host: Some(args.bind.clone()),
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        vcores: args.concurrency.unwrap_or(defaults.vcores),
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        ..defaults
    };
    tracing::info!(
        scheduler = %args.scheduler,
        flight = %format!("{}:{}", args.bind, args.port),
        "pmm executor starting"
    );
    start_executor_process(Arc::new(config))
        .await
        .with_context(|| {
            format!(
                "the executor stopped: check that `pmm scheduler` runs at {} and that this machine reaches it, and that ports {} and {} are free",
                args.scheduler, args.port, args.grpc_port
            )
        })?;
    Ok(0)
}
