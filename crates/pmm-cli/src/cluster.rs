//! `pmm scheduler` and `pmm executor`: the two processes of an Apache DataFusion Ballista
//! cluster, built on ballista-scheduler and ballista-executor as libraries. The stock binaries
//! cannot run the catalog's SQL: functions travel in plans by name, and `hours_between` and
//! `percentile_exact` must be known to the scheduler's sessions and to every executor's
//! function registry. Both take them from `pmm_engine::register_functions`.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::{default_config_producer, default_session_builder};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use clap::Args;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;
use pmm_engine::cluster_runtime;

/// `pmm scheduler`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct SchedulerArgs {
    /// Address to listen on: clients (`engine.ballista: df://HOST:PORT`) and executors
    /// (`--scheduler HOST:PORT`) connect here. Loopback unless told otherwise.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    bind: SocketAddr,
}

/// `pmm executor`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct ExecutorArgs {
    /// The scheduler to register with (its `--bind`).
    #[arg(long, value_name = "HOST:PORT")]
    scheduler: String,
    /// The Arrow Flight address, where the scheduler, clients and other executors fetch this
    /// executor's results. Port 0: any free port. Its other listener (gRPC) takes a free port
    /// too. Loopback unless told otherwise.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// The host name or address others reach this executor at, when it is not the `--bind`
    /// address (binding 0.0.0.0, or behind a NAT).
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
    /// Where intermediate results (shuffle files) and spills are written. Default: a new
    /// folder under the system's temporary folder.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Tasks run at once (default: one per core).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
}

/// A session as the cluster's processes build one: Ballista's defaults, pmm's functions and
/// `runtime` (its stores opened from the environment).
fn session_state(
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
) -> datafusion::common::Result<SessionState> {
    let state = default_session_builder(config)?;
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime)
        .build();
    pmm_engine::register_functions(&mut state)?;
    Ok(state)
}

/// Runs the scheduler until it is stopped (Ctrl-C or SIGTERM).
pub(crate) async fn scheduler(args: SchedulerArgs) -> anyhow::Result<u8> {
    let address = args.bind;
    // One runtime for every session: the stores it opens are kept between queries.
    let runtime = cluster_runtime(None)?;
    let mut config = SchedulerConfig::default().with_override_session_builder(Arc::new(
        move |config: SessionConfig| session_state(config, runtime.clone()),
    ));
    config.bind_host = address.ip().to_string();
    config.bind_port = address.port();
    config.external_host = address.ip().to_string();
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .context("cannot set up the scheduler's state")?;
    tracing::info!(
        %address,
        "pmm scheduler listening: executors register with `pmm executor --scheduler {address}`, pipelines name it as engine.ballista: df://{address}"
    );
    start_server(cluster, address, Arc::new(config))
        .await
        .with_context(|| {
            format!(
                "the scheduler on {address} stopped (is another process on that port? --bind chooses another)"
            )
        })?;
    Ok(0)
}

/// A port on `ip` nobody listens on at the moment of asking.
fn free_port(ip: IpAddr) -> anyhow::Result<u16> {
    Ok(TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .with_context(|| format!("cannot find a free port on {ip}"))?
        .port())
}

/// Runs an executor registered with the scheduler until it is stopped.
pub(crate) async fn executor(args: ExecutorArgs) -> anyhow::Result<u8> {
    let (host, port) = args
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .with_context(|| format!("--scheduler {}: expected HOST:PORT", args.scheduler))?;
    let ip = args.bind.ip();
    let flight_port = match args.bind.port() {
        0 => free_port(ip)?,
        port => port,
    };
    let grpc_port = free_port(ip)?;
    if let Some(dir) = &args.work_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--work-dir {}: cannot create the folder", dir.display()))?;
    }
    let runtime = cluster_runtime(args.work_dir.as_deref())?;
    let state = session_state(default_config_producer(), runtime.clone())?;
    let defaults = ExecutorProcessConfig::default();
    let external_host = args.external_host.clone().unwrap_or_else(|| ip.to_string());
    let config = ExecutorProcessConfig {
        bind_host: ip.to_string(),
        external_host: Some(external_host.clone()),
        port: flight_port,
        grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        vcores: args.concurrency.unwrap_or(defaults.vcores),
        work_dir: args.work_dir.as_ref().map(|d| d.display().to_string()),
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| Ok(runtime.clone()))),
        ..defaults
    };
    tracing::info!(
        scheduler = %args.scheduler,
        flight = %format!("{external_host}:{flight_port}"),
        grpc_port,
        "pmm executor starting"
    );
    start_executor_process(Arc::new(config))
        .await
        .with_context(|| {
            format!(
                "the executor stopped: check that `pmm scheduler` runs at {} and that this machine reaches it, and that port {flight_port} is free",
                args.scheduler
            )
        })?;
    Ok(0)
}
