//! Evaluation on an Apache DataFusion Ballista cluster (`engine.ballista`), and what the
//! cluster's processes need to run pmm's SQL: the functions ([`register_functions`]) and the
//! object stores, opened from the same environment variables as `pmm run`.
//!
//! A plan travels from the client to the scheduler and on to the executors as protobuf: a
//! table is sent by what it is (a Parquet listing table by its files' URLs, an empty table by
//! its schema, a view by its plan), never by its rows, and a function by its name. So every
//! process that reads a plan must know the functions, and every process that plans or scans
//! must reach the staged files: the scheduler lists them, the executors read them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballista::prelude::SessionConfigExt;
use ballista::prelude::SessionContextExt;
use ballista_core::config::BALLISTA_CLIENT_PULL;
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::serde::protobuf::CancelJobParams;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::LogicalPlanNode;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use pmm_catalog::{StorageSettings, StoreLocation};
use url::Url;

use crate::functions::register_functions;
use crate::{Error, Result};

/// Object stores by URL, opened on first use from the environment (`AWS_*`, `GOOGLE_*`,
/// `AZURE_*`, as `object_store` reads them) with the default storage settings, and kept. The
/// registry of the cluster's processes: they learn of a store from the plans they are sent,
/// not from a pipeline.
#[derive(Default)]
pub struct EnvironmentStores {
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl std::fmt::Debug for EnvironmentStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self
            .stores
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("EnvironmentStores")
            .field("stores", &keys)
            .finish()
    }
}

/// The part of a URL that names its store: `file://`, `s3://bucket`, `gs://bucket`, ...
fn store_key(url: &Url) -> String {
    format!(
        "{}://{}",
        url.scheme(),
        &url[url::Position::BeforeHost..url::Position::AfterPort]
    )
}

impl ObjectStoreRegistry for EnvironmentStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.stores
            .lock()
            .ok()
            .and_then(|mut s| s.insert(store_key(url), store))
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        let key = store_key(url);
        let mut stores = self
            .stores
            .lock()
            .map_err(|_| datafusion::error::DataFusionError::Internal("store registry".into()))?;
        if let Some(store) = stores.get(&key) {
            return Ok(store.clone());
        }
        let store: Arc<dyn ObjectStore> = if url.scheme() == "file" {
            Arc::new(LocalFileSystem::new())
        } else {
            pmm_store::open_store(
                &StoreLocation::Remote(key.clone()),
                false,
                &StorageSettings::default(),
            )
            .map_err(|e| datafusion::error::DataFusionError::Configuration(e.to_string()))?
            .store
        };
        stores.insert(key, store.clone());
        Ok(store)
    }
}

/// A runtime for the cluster's processes: stores from the environment, temporary files (an
/// executor's spills) under `work_dir` when given.
pub fn cluster_runtime(
    work_dir: Option<&std::path::Path>,
) -> datafusion::error::Result<Arc<RuntimeEnv>> {
    let mut builder =
        RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(EnvironmentStores::default()));
    if let Some(dir) = work_dir {
        builder = builder.with_temp_file_path(dir);
    }
    builder.build_arc()
}

/// A context whose queries run on the Ballista scheduler at `url` (`df://HOST:PORT`), with the
/// settings of `config` (they travel with every query) and pmm's functions. Nothing is
/// connected yet: the first query does.
pub async fn remote_context(
    url: &str,
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
) -> Result<SessionContext> {
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    let mut ctx = SessionContext::remote_with_state(url, state).await?;
    // Ballista replaces the state's functions with its own list when it makes the remote
    // context: pmm's go on afterwards.
    register_functions(&mut ctx)?;
    Ok(ctx)
}

/// How long [`probe`] waits for the cluster to answer a query.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Checks that the scheduler at `url` answers and that executors run its work: a one-row
/// query, through the scheduler and an executor, within `timeout`. A run checks this before it
/// reads anything, so that an unreachable or empty cluster fails it at once and clearly.
pub async fn probe(url: &str, timeout: Duration) -> Result<()> {
    let unreachable = |why: String| Error::Cluster {
        url: url.to_string(),
        message: why,
    };
    // Pull mode: the client learns the job's id as soon as the scheduler queues it (with push,
    // only once the job is planned, which with no executor may not come), so that a probe that
    // gives up can cancel it.
    let config = SessionConfig::new_with_ballista().set_str(BALLISTA_CLIENT_PULL, "true");
    let ctx = remote_context(url, config, Arc::new(RuntimeEnv::default())).await?;
    let plan = ctx
        .sql("SELECT count(*) AS n FROM (VALUES (1), (2)) AS t(x)")
        .await?
        .create_physical_plan()
        .await?;
    let query = datafusion::physical_plan::collect(plan.clone(), ctx.task_ctx());
    match tokio::time::timeout(timeout, query).await {
        Err(_) => {
            // The job stays queued on the scheduler, for the first executor that registers:
            // the probe cancels it, so it does not run later for nobody.
            let job = plan
                .downcast_ref::<DistributedQueryExec<LogicalPlanNode>>()
                .and_then(DistributedQueryExec::job_id);
            let cancelled = match job {
                Some(job) => match cancel_job(url, job.as_ref()).await {
                    Ok(true) => format!(" (its job {job} is cancelled)"),
                    Ok(false) => format!(" (the scheduler did not cancel its job {job})"),
                    Err(e) => format!(" (its job {job} could not be cancelled: {e})"),
                },
                None => String::new(),
            };
            Err(unreachable(format!(
                "it accepted a query but no executor ran it within {} s{cancelled}: start `pmm executor --scheduler HOST:PORT` (its log says when it is registered)",
                timeout.as_secs()
            )))
        }
        Ok(Err(e)) => Err(unreachable(format!(
            "{}: check that `pmm scheduler` runs there and that this machine reaches it",
            connection_failure(&e.to_string())
        ))),
        Ok(Ok(batches)) => {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            if rows == 1 {
                Ok(())
            } else {
                Err(unreachable(format!(
                    "a probe query gave {rows} rows instead of 1"
                )))
            }
        }
    }
}

/// Asks the scheduler at `url` (`df://HOST:PORT`) to cancel `job`; whether it did.
async fn cancel_job(url: &str, job: &str) -> std::result::Result<bool, String> {
    let address = url.replacen("df://", "http://", 1);
    let endpoint = ballista_core::utils::create_grpc_client_endpoint(address, None)
        .map_err(|e| e.to_string())?;
    let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
    let mut scheduler = SchedulerGrpcClient::new(channel);
    let answer = scheduler
        .cancel_job(CancelJobParams {
            job_id: job.to_string(),
        })
        .await
        .map_err(|e| e.message().to_string())?;
    Ok(answer.into_inner().cancelled)
}

/// A query's error that says the cluster went away (the scheduler or an executor stopped
/// answering), in a few words; `None` for any other error (of the SQL, or of the data).
pub(crate) fn lost_cluster(url: &str, error: &str) -> Option<String> {
    let transport = [
        "tcp connect error",
        "transport error",
        "Connection refused",
        "Connection reset",
        "broken pipe",
        "h2 protocol error",
    ];
    transport.iter().any(|t| error.contains(t)).then(|| {
        format!(
            "the Ballista cluster at {url} stopped answering during the run ({}): check that `pmm scheduler` and its executors still run",
            connection_failure(error)
        )
    })
}

/// What a failed connection to the scheduler comes to, in a few words where the transport's
/// error is recognised (it nests three or four error types deep), else the error itself.
fn connection_failure(error: &str) -> String {
    if error.contains("Connection refused") {
        "nothing listens there (connection refused)".into()
    } else if error.contains("dns error") || error.contains("failed to lookup address") {
        "its host name does not resolve".into()
    } else if error.contains("tcp connect error") || error.contains("transport error") {
        format!("cannot connect ({})", crate::guard::tidy(error))
    } else {
        crate::guard::tidy(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_is_said_plainly() {
        let raw = r#"Execution error: tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:50999, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))"#;
        assert_eq!(
            connection_failure(raw),
            "nothing listens there (connection refused)"
        );
        assert!(connection_failure("Execution error: boom").ends_with("boom"));
    }

    #[test]
    fn stores_are_keyed_by_scheme_and_bucket() {
        let key = |u: &str| store_key(&Url::parse(u).unwrap());
        assert_eq!(key("s3://bucket/a/b.parquet"), "s3://bucket");
        assert_eq!(key("file:///tmp/x.parquet"), "file://");
        assert_eq!(key("gs://b:1/x"), "gs://b:1");
    }
}
