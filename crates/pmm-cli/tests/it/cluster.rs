//! `pmm scheduler`, `pmm executor` and `engine.ballista`, as a user runs them: a scheduler and
//! two executors started as `pmm` processes on free loopback ports, then
//! - a client whose query uses pmm's SQL functions gets the rows of a local session;
//! - the demo, and synthesized submissions with every fault over the shipped catalog plus the
//!   shapes a distributed engine gets wrong (`tests/ballista/`), give every result table of
//!   a local run when their pipelines say `engine.ballista`;
//! - the same with the submissions, results and staged data on S3 (Garage), Azure (Azurite)
//!   and GCS (fake-gcs-server): the scheduler and the executors open each store from the same
//!   environment variables as `pmm run`;
//! - a scheduler nobody runs, or one that goes away mid-run, fails the run with exit 1 and
//!   leaves `latest.json` as it was; one without executors fails the run's first query.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use ballista::prelude::SessionContextExt;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use pmm_results::{INDICATOR_VALUES, column};

use crate::cloud::{Cloud, pipeline_file};
use crate::emulators::{Azurite, FakeGcs};
use crate::s3::Garage;
use crate::{Server, Tables, copy_dir, free_port, local_tables, pmm, pmm_env, repo_root, text};

/// One scheduler and its executors, stopped when dropped.
struct Cluster {
    scheduler: Server,
    executors: Vec<Server>,
    port: u16,
}

impl Cluster {
    /// Starts a scheduler and one executor per name (one task at a time each, work folders
    /// under `logs`), with `env` (the store settings), and waits until all are registered.
    fn start(logs: &Path, names: &[&'static str], env: &[(String, String)]) -> Cluster {
        let pmm = env!("CARGO_BIN_EXE_pmm");
        let port = free_port();
        let scheduler = Server::start_with_env(
            "scheduler",
            pmm,
            &[
                "scheduler".into(),
                "--bind".into(),
                format!("127.0.0.1:{port}"),
            ],
            env,
            logs,
        );
        // Listening before anything connects (executors would retry; a client would not).
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the scheduler does not listen:\n{}",
                scheduler.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let executors = names
            .iter()
            .map(|name| {
                Server::start_with_env(
                    name,
                    pmm,
                    &[
                        "executor".into(),
                        "--scheduler".into(),
                        format!("127.0.0.1:{port}"),
                        "--concurrency".into(),
                        "1".into(),
                        "--work-dir".into(),
                        logs.join(format!("{name}-work")).display().to_string(),
                    ],
                    env,
                    logs,
                )
            })
            .collect();
        let cluster = Cluster {
            scheduler,
            executors,
            port,
        };
        cluster.wait_for_executors();
        cluster
    }

    /// Waits until the scheduler's log shows every executor's registration.
    fn wait_for_executors(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let registered = self
                .scheduler
                .log()
                .matches("Received register executor request")
                .count();
            if registered >= self.executors.len() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{registered} of {} executors registered:\n{}",
                self.executors.len(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The address a pipeline names: `df://127.0.0.1:PORT`.
    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    /// Tasks the executors ran so far, each executor's count.
    fn finished_tasks(&self) -> Vec<usize> {
        self.executors
            .iter()
            .map(|e| e.log().matches("Finished task").count())
            .collect()
    }

    /// Every process's log, for failure messages.
    fn logs(&self) -> String {
        std::iter::once(&self.scheduler)
            .chain(&self.executors)
            .map(|s| format!("--- {}\n{}", s.name, s.log()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `engine.ballista` naming `url`.
fn on(url: &str) -> String {
    format!("engine:\n  ballista: {url}\n")
}

/// Runs `pipeline` (in `dir`, with `env`) and fails unless it was published.
fn run(dir: &Path, pipeline: &Path, env: &[(String, String)]) -> String {
    let output = pmm_env(dir, &["run", pipeline.to_str().unwrap()], env);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    stdout
}

/// Runs the same data on the cluster and in this process (results under `<name>-cluster`
/// and `<name>-local` in `dir`), checks the cluster ran tasks for it, and returns both runs'
/// tables.
fn local_and_cluster(
    dir: &Path,
    cluster: &Cluster,
    name: &str,
    catalog: &Path,
    source: &Path,
    members: &Path,
) -> (Tables, Tables) {
    let (source, members) = (source.display().to_string(), members.display().to_string());
    let local = pipeline_file(
        dir,
        &format!("{name}-local"),
        catalog,
        [&source, &members, &format!("{name}-local")],
        "",
    );
    run(dir, &local, &[]);
    let remote = pipeline_file(
        dir,
        &format!("{name}-cluster"),
        catalog,
        [&source, &members, &format!("{name}-cluster")],
        &on(&cluster.url()),
    );
    let before: usize = cluster.finished_tasks().iter().sum();
    let stdout = run(dir, &remote, &[]);
    assert!(
        stdout.contains(&format!(
            "engine: the Ballista cluster at {}",
            cluster.url()
        )),
        "{stdout}"
    );
    let after: usize = cluster.finished_tasks().iter().sum();
    // Every indicator's SQL went to the cluster: at least a task for each.
    assert!(
        after - before >= 29,
        "the executors ran {} tasks for {name}:\n{}",
        after - before,
        cluster.logs()
    );
    (
        local_tables(&dir.join(format!("{name}-local"))).0,
        local_tables(&dir.join(format!("{name}-cluster"))).0,
    )
}

/// The indicators of `prefix` whose status is `ok` for at least one member, in a run's
/// secretariat indicator values.
fn computed(tables: &Tables, prefix: &str) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    for batch in &tables[&format!("secretariat/{}.arrow", INDICATOR_VALUES.name)] {
        let schema = batch.schema();
        let indicator = batch
            .column(schema.index_of(column::INDICATOR).unwrap())
            .as_string::<i32>();
        let status = batch
            .column(schema.index_of(column::STATUS).unwrap())
            .as_string::<i32>();
        for i in 0..batch.num_rows() {
            if indicator.value(i).starts_with(prefix) && status.value(i) == "ok" {
                ids.insert(indicator.value(i).to_string());
            }
        }
    }
    ids
}

const QUERY: &str = "SELECT member, \
       percentile_exact(value, 0.5) AS median, \
       percentile_exact(value, 0.9) AS p90, \
       sum(hours_between(lodged_at, released_at)) AS hours, \
       count(*) AS n \
     FROM t GROUP BY member ORDER BY member";

/// A client's query with pmm's functions, over three Parquet files: the cluster's rows are a
/// local session's.
async fn functions_give_the_rows_of_a_local_session(cluster: &Cluster, dir: &Path) {
    // Data in Parquet files (executors read files, not the client's memory): four members,
    // three files, so the aggregates run over several partitions.
    let data = dir.join("data");
    let local = SessionContext::new();
    for part in 0..3 {
        local
            .sql(&format!(
                "SELECT CASE WHEN column1 % 4 = 0 THEN 'XA' WHEN column1 % 4 = 1 THEN 'XB' \
                        WHEN column1 % 4 = 2 THEN 'XC' ELSE 'XD' END AS member, \
                        CAST(column1 * 1.5 + {part} AS DOUBLE) AS value, \
                        to_timestamp_micros(1704067200000000 + column1 * 1000000) AS lodged_at, \
                        to_timestamp_micros(1704067200000000 + column1 * 7000000) AS released_at \
                 FROM (SELECT unnest(range(0, 1000)) AS column1)"
            ))
            .await
            .unwrap()
            .write_parquet(
                data.join(format!("part-{part}.parquet")).to_str().unwrap(),
                Default::default(),
                None,
            )
            .await
            .unwrap();
    }
    let mut expected_ctx = SessionContext::new();
    pmm_engine::register_functions(&mut expected_ctx).unwrap();
    expected_ctx
        .register_parquet("t", data.to_str().unwrap(), ParquetReadOptions::default())
        .await
        .unwrap();
    let expected = expected_ctx
        .sql(QUERY)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();

    let state = SessionStateBuilder::new().with_default_features().build();
    let mut remote = SessionContext::remote_with_state(&cluster.url(), state)
        .await
        .unwrap();
    // The remote context's state is rebuilt for Ballista: the functions go on it afterwards.
    pmm_engine::register_functions(&mut remote).unwrap();
    remote
        .register_parquet("t", data.to_str().unwrap(), ParquetReadOptions::default())
        .await
        .unwrap();
    let got = remote.sql(QUERY).await.unwrap().collect().await.unwrap();

    let expected = pretty_format_batches(&expected).unwrap().to_string();
    let got = pretty_format_batches(&got).unwrap().to_string();
    assert_eq!(got, expected, "the cluster's rows and a local session's");
    assert_eq!(expected.lines().count(), 4 + 4, "four members:\n{expected}");
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Garage, Azurite and fake-gcs-server: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_a_cluster_of_pmm_processes_give_the_rows_of_local_runs() {
    let garage = Garage::start();
    let azurite = Azurite::start().await;
    let gcs = FakeGcs::start().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // The cluster's processes get the stores' settings from the environment, as `pmm run`
    // does (the three stores' variables do not overlap).
    let env: Vec<(String, String)> = [&garage.cloud, &azurite.cloud, &gcs.cloud]
        .iter()
        .flat_map(|c| c.env.clone())
        .collect();
    let cluster = Cluster::start(dir, &["executor-1", "executor-2"], &env);

    functions_give_the_rows_of_a_local_session(&cluster, dir).await;
    assert!(
        cluster.finished_tasks().iter().all(|&n| n > 0),
        "both executors ran tasks: {:?}\n{}",
        cluster.finished_tasks(),
        cluster.logs()
    );

    // The demo.
    let root = repo_root();
    let examples = root.join("examples");
    let (local, remote) = local_and_cluster(
        dir,
        &cluster,
        "demo",
        &root.join("indicators"),
        &examples.join("submissions"),
        &examples.join("members.yaml"),
    );
    assert_eq!(local.len(), 17);
    assert_eq!(remote, local, "the demo on the cluster and in one process");

    // Synthesized submissions with every fault, over the shipped catalog plus the shapes a
    // distributed engine gets wrong.
    let synth = dir.join("synth");
    let output = pmm(
        dir,
        &[
            "synth",
            "--members",
            "12",
            "--declarations",
            "3000",
            "--seed",
            "5",
            "--faults",
            "--out",
            synth.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let catalog = dir.join("catalog");
    copy_dir(&root.join("indicators"), &catalog);
    copy_dir(&root.join("tests/ballista/indicators"), &catalog);
    // The shapes compute what their fixtures say (in one process).
    let output = pmm(dir, &["test", "--catalog", catalog.to_str().unwrap()]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 failed (33 indicators)"), "{stdout}");
    let (local, remote) = local_and_cluster(
        dir,
        &cluster,
        "faults",
        &catalog,
        &synth.join("submissions"),
        &synth.join("members.yaml"),
    );
    assert_eq!(
        remote, local,
        "the fault data on the cluster and in one process"
    );
    // Each shape gave values (the comparison above is not over empty results).
    assert_eq!(
        computed(&local, "esps.pitfall_")
            .into_iter()
            .chain(computed(&local, "tfec.pitfall_"))
            .collect::<Vec<_>>(),
        [
            "esps.pitfall_enforcement_events",
            "esps.pitfall_seizure_share",
            "esps.pitfall_weapons_controls",
            "tfec.pitfall_red_channel_median_hours",
        ]
    );

    // The demo with submissions, results and staged data on each cloud store: the scheduler
    // lists and the executors read the staged Parquet there.
    let (demo_local, _) = local_tables(&dir.join("demo-local"));
    for cloud in [&garage.cloud, &azurite.cloud, &gcs.cloud] {
        demo_on_a_store(dir, &cluster, cloud, &demo_local).await;
    }
    for (name, log) in std::iter::once(&cluster.scheduler)
        .chain(&cluster.executors)
        .map(|s| (s.name, s.log()))
    {
        for cloud in [&garage.cloud, &azurite.cloud, &gcs.cloud] {
            cloud.assert_no_secret(&format!("the log of {name}"), &log);
        }
    }
}

/// The demo uploaded to `cloud`, run there with `engine.ballista`: the rows of `expected`,
/// staged Parquet on the store, every executor busy.
async fn demo_on_a_store(dir: &Path, cluster: &Cluster, cloud: &Cloud, expected: &Tables) {
    cloud.upload_demo("cluster").await;
    let url = &cloud.url;
    let name = format!("cluster-{}", &url[..2]);
    let pipeline = pipeline_file(
        dir,
        &name,
        &repo_root().join("indicators"),
        [
            &format!("{url}/cluster/submissions"),
            &format!("{url}/cluster/members.yaml"),
            &format!("{url}/cluster/results"),
        ],
        &on(&cluster.url()),
    );
    let before = cluster.finished_tasks();
    let stdout = run(dir, &pipeline, &cloud.env);
    cloud.assert_no_secret("pmm run", &stdout);
    let after = cluster.finished_tasks();
    assert!(
        after.iter().zip(&before).all(|(a, b)| a > b),
        "each executor ran tasks over the staged data on {url}: {before:?} -> {after:?}"
    );
    let (got, _) = cloud.tables("cluster/results").await;
    assert_eq!(
        &got, expected,
        "the demo on {url} and the cluster, and in one process"
    );
    let staged = cloud.keys("cluster/results/staging").await;
    assert!(
        staged
            .iter()
            .any(|k| k.contains("/staging/member=") && k.ends_with(".parquet")),
        "staged Parquet on {url}: {staged:?}"
    );
}

#[test]
fn a_cluster_that_is_not_there_or_goes_away_fails_the_run_and_keeps_latest() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let root = repo_root();
    let examples = root.join("examples");
    let (source, members) = (
        examples.join("submissions").display().to_string(),
        examples.join("members.yaml").display().to_string(),
    );
    let pipeline = |name: &str, extra: &str| {
        pipeline_file(
            dir,
            name,
            &root.join("indicators"),
            [&source, &members, "results"],
            extra,
        )
    };

    // Nobody listens at the scheduler's address: the run stops before reading anything.
    let nobody = pipeline("nobody", &on(&format!("df://127.0.0.1:{}", free_port())));
    let output = pmm(dir, &["run", nobody.to_str().unwrap()]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("(engine.ballista): nothing listens there (connection refused)"),
        "{stderr}"
    );
    assert!(!stderr.contains("reading submissions"), "{stderr}");
    assert!(!dir.join("results/latest.json").exists());

    // A scheduler without executors: the probe a run makes first gives up, and says why.
    let idle = Cluster::start(dir, &[], &[]);
    let error = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(pmm_engine::probe(&idle.url(), Duration::from_secs(2)))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("it accepted a query but no executor ran it within 2 s (its job "),
        "{error}"
    );
    // The job it gave up on is cancelled on the scheduler, not left queued.
    assert!(
        error.contains(" is cancelled): start `pmm executor"),
        "{error}"
    );
    drop(idle);

    // A published run on the cluster, then one whose scheduler is killed while it computes.
    let mut cluster = Cluster::start(dir, &["executor"], &[]);
    run(dir, &pipeline("first", &on(&cluster.url())), &[]);
    let latest = std::fs::read(dir.join("results/latest.json")).unwrap();
    let runs = std::fs::read_dir(dir.join("results/runs")).unwrap().count();
    // Its own staging, so that it has indicators to compute (none are reused).
    let second = pipeline(
        "second",
        &format!("staging: staging-second\n{}", on(&cluster.url())),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_pmm"))
        .args(["run", second.to_str().unwrap()])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        stderr.push_str(&line);
        stderr.push('\n');
        if line.contains("computing indicators") {
            cluster.scheduler.kill();
            break;
        }
    }
    for line in lines {
        stderr.push_str(&line.unwrap());
        stderr.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopped answering during the run"),
        "the error says the cluster went away: {stderr}"
    );
    assert!(stderr.contains("nothing new was published"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.join("results/latest.json")).unwrap(),
        latest,
        "latest.json still names the first run"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("results/runs")).unwrap().count(),
        runs,
        "no new run folder"
    );
}
