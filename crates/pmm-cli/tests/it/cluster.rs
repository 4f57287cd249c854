//! `pmm scheduler` and `pmm executor` as processes: one scheduler and two executors on free
//! loopback ports, and a client whose query uses pmm's SQL functions gets, from the cluster,
//! the rows a local session gives.

use std::time::{Duration, Instant};

use ballista::prelude::SessionContextExt;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::{Server, free_port};

/// Waits until the scheduler's log shows `executors` registrations.
fn wait_for_executors(scheduler: &Server, executors: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let registered = scheduler
            .log()
            .matches("Received register executor request")
            .count();
        if registered >= executors {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{registered} of {executors} executors registered:\n{}",
            scheduler.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

const QUERY: &str = "SELECT member, \
       percentile_exact(value, 0.5) AS median, \
       percentile_exact(value, 0.9) AS p90, \
       sum(hours_between(lodged_at, released_at)) AS hours, \
       count(*) AS n \
     FROM t GROUP BY member ORDER BY member";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_of_pmm_processes_runs_pmm_functions_like_a_local_session() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path();
    let pmm = env!("CARGO_BIN_EXE_pmm");
    let port = free_port();
    let scheduler = Server::start(
        "scheduler",
        pmm,
        &["scheduler".into(), "--port".into(), port.to_string()],
        logs,
    );
    let executors: Vec<Server> = ["executor-1", "executor-2"]
        .into_iter()
        .map(|name| {
            Server::start(
                name,
                pmm,
                &[
                    "executor".into(),
                    "--scheduler".into(),
                    format!("127.0.0.1:{port}"),
                    "--port".into(),
                    free_port().to_string(),
                    "--grpc-port".into(),
                    free_port().to_string(),
                    "--concurrency".into(),
                    "1".into(),
                ],
                logs,
            )
        })
        .collect();
    wait_for_executors(&scheduler, 2);

    // Data in Parquet files (executors read files, not the client's memory): four members,
    // three files, so the aggregates run over several partitions.
    let data = dir.path().join("data");
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
    let mut remote = SessionContext::remote_with_state(&format!("df://127.0.0.1:{port}"), state)
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
    // The query ran on the cluster: its tasks were executed by the executors.
    let finished: usize = executors
        .iter()
        .map(|e| e.log().matches("Finished task").count())
        .sum();
    assert!(
        finished >= 2,
        "the executors report {finished} finished tasks:\n{}",
        executors
            .iter()
            .map(|e| e.log())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
