//! Runs against a real S3 server (Garage, started by each test on loopback ports): the same
//! rows as a local run, faults injected by a proxy, a dead store, and two runs racing on the
//! same results. The `garage` binary comes from `bash .ci/run` (`cargo install garage`, cached
//! in ~/.cache/pmm-tools); `PMM_GARAGE` can name another.

use pmm_results::VALIDATION_ISSUES;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::cloud::{Cloud, demo_gives_the_local_rows, local_reference, write_pipeline};
use crate::{Server, free_port, pmm_env, read_json, repo_root, text, tool};

const KEY_ID: &str = "GK0123456789abcdef01234567";
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const BUCKET: &str = "pmm";

fn garage_binary() -> PathBuf {
    PathBuf::from(tool("PMM_GARAGE", "bin/garage", "garage"))
}

/// A single-node Garage on loopback with one key and one bucket, stopped when dropped.
pub(crate) struct Garage {
    _server: Server,
    endpoint: String,
    /// The bucket as the tests and `pmm` reach it.
    pub(crate) cloud: Cloud,
    _dir: tempfile::TempDir,
}

impl Garage {
    pub(crate) fn start() -> Garage {
        let dir = tempfile::tempdir().unwrap();
        let (s3_port, rpc_port) = (free_port(), free_port());
        let config = dir.path().join("garage.toml");
        std::fs::write(
            &config,
            format!(
                "metadata_dir = \"{root}/meta\"\ndata_dir = \"{root}/data\"\ndb_engine = \"sqlite\"\n\
                 replication_factor = 1\nrpc_bind_addr = \"127.0.0.1:{rpc_port}\"\n\
                 rpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
                 rpc_secret = \"{SECRET}\"\n\n[s3_api]\ns3_region = \"garage\"\n\
                 api_bind_addr = \"127.0.0.1:{s3_port}\"\nroot_domain = \".s3.garage.localhost\"\n",
                root = dir.path().display()
            ),
        )
        .unwrap();
        let binary = garage_binary();
        let program = binary.to_str().unwrap();
        let server = Server::start(
            "garage",
            program,
            &["-c".into(), config.display().to_string(), "server".into()],
            dir.path(),
        );
        let garage = |args: &[&str]| -> String {
            let output = Command::new(&binary)
                .arg("-c")
                .arg(&config)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {program} (bash .ci/run builds it): {e}"));
            let (stdout, stderr) = text(&output);
            assert!(output.status.success(), "garage {args:?}: {stdout}{stderr}");
            stdout
        };
        // `node id` answers from the metadata folder at once; `status` only once the server's
        // RPC port is up, which the layout commands need.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = Command::new(&binary)
                .arg("-c")
                .arg(&config)
                .arg("status")
                .output()
                .is_ok_and(|o| o.status.success());
            if up {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "garage did not start:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let node = garage(&["node", "id", "-q"])
            .trim()
            .split('@')
            .next()
            .unwrap()
            .to_string();
        garage(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        garage(&["layout", "apply", "--version", "1"]);
        garage(&["key", "import", "--yes", KEY_ID, SECRET, "-n", "pmm"]);
        garage(&["bucket", "create", BUCKET]);
        garage(&[
            "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "pmm",
        ]);
        let endpoint = format!("http://127.0.0.1:{s3_port}");
        let store = AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(SECRET)
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_region("garage")
            .build()
            .unwrap();
        Garage {
            _server: server,
            cloud: Cloud {
                store: Arc::new(store),
                url: format!("s3://{BUCKET}"),
                env: Garage::env(&endpoint),
                secrets: vec![SECRET.to_string()],
            },
            endpoint,
            _dir: dir,
        }
    }

    /// The environment `pmm` reads its S3 settings from, for `endpoint`.
    fn env(endpoint: &str) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_ENDPOINT", endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "garage"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Garage: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_run_gives_the_rows_of_the_local_run() {
    let garage = Garage::start();
    demo_gives_the_local_rows(&garage.cloud, "same", "etag").await;
}

/// What the fault proxy does to requests.
#[derive(Default)]
struct Faults {
    /// Every request so far.
    requests: AtomicUsize,
    /// Faults injected so far.
    injected: AtomicUsize,
    /// Delay, drop or answer 503 to some requests.
    flaky: AtomicBool,
    /// Answer 503 to every PUT and POST (a results store that keeps failing).
    fail_writes: AtomicBool,
    /// With `fail_writes`, let the writes to the staging area through (only publishing fails).
    spare_staging: AtomicBool,
    /// Answer 503 to every GET of an object whose key contains this.
    fail_objects: std::sync::Mutex<Option<String>>,
}

/// An HTTP proxy in front of the S3 server that delays, drops and fails requests.
async fn start_proxy(upstream: String, faults: Arc<Faults>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let (upstream, faults) = (upstream.clone(), faults.clone());
            tokio::spawn(async move {
                let _ = proxy_connection(client, &upstream, &faults).await;
            });
        }
    });
    format!("http://{address}")
}

async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = data[head_end..].to_vec();
    Ok(Some((head, body)))
}

async fn proxy_connection(
    mut client: TcpStream,
    upstream: &str,
    faults: &Faults,
) -> std::io::Result<()> {
    const UNAVAILABLE: &[u8] =
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    // One request per connection: every answer closes it, so each request meets the faults.
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let n = faults.requests.fetch_add(1, Ordering::SeqCst);
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let method = request_line.split(' ').next().unwrap_or_default();
    let target = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .replace("%3D", "=");
    let failing_object = faults
        .fail_objects
        .lock()
        .unwrap()
        .as_ref()
        .is_some_and(|s| {
            method == "GET" && !target.contains("list-type") && target.contains(s.as_str())
        });
    let failing_write = faults.fail_writes.load(Ordering::SeqCst)
        && matches!(method, "PUT" | "POST")
        && !(faults.spare_staging.load(Ordering::SeqCst) && target.contains("/staging/"));
    if failing_object || failing_write {
        faults.injected.fetch_add(1, Ordering::SeqCst);
        client.write_all(UNAVAILABLE).await?;
        return Ok(());
    }
    if faults.flaky.load(Ordering::SeqCst) {
        match n % 10 {
            2 => {
                faults.injected.fetch_add(1, Ordering::SeqCst);
                client.write_all(UNAVAILABLE).await?;
                return Ok(());
            }
            // Dropped: the connection closes with no answer.
            6 => {
                faults.injected.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
            4 | 8 => {
                faults.injected.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            _ => {}
        }
    }
    // Forward on a fresh connection that the server closes after answering.
    let mut server = TcpStream::connect(upstream.trim_start_matches("http://")).await?;
    let head: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let head = head.trim_end_matches("\r\n").to_string() + "\r\nconnection: close\r\n\r\n";
    server.write_all(head.as_bytes()).await?;
    server.write_all(&body).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    client.write_all(&response).await?;
    // The server said `connection: close`; so does the client's connection.
    Ok(())
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Garage: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_a_failing_member_is_an_issue_and_a_dead_store_fails_cleanly() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let garage = Garage::start();
    garage.cloud.upload_demo("faults").await;
    let (expected, _) = local_reference(dir);
    let faults = Arc::new(Faults::default());
    let proxy = start_proxy(garage.endpoint.clone(), faults.clone()).await;
    let pipeline = garage.cloud.pipeline(dir, "s3-faults", "faults");
    let run = |endpoint: &str| {
        pmm_env(
            dir,
            &["run", pipeline.to_str().unwrap()],
            &Garage::env(endpoint),
        )
    };

    // Delays, dropped connections and 503 answers: retried, same rows.
    faults.flaky.store(true, Ordering::SeqCst);
    let output = run(&proxy);
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let injected = faults.injected.load(Ordering::SeqCst);
    let requests = faults.requests.load(Ordering::SeqCst);
    assert!(
        injected * 4 >= requests && injected >= 20,
        "{injected} faults in {requests} requests"
    );
    let (got, _) = garage.cloud.tables("faults/results").await;
    assert_eq!(got, expected, "the same rows through a flaky store");
    let first: Value = garage.cloud.json("faults/results/latest.json").await;
    faults.flaky.store(false, Ordering::SeqCst);

    // One member's objects keep failing: its datasets are rejected with an issue, the run goes
    // on. (On fresh staging: with the first run's, nothing of XB would be read at all.)
    let fresh = dir.join("s3-faults-fresh.yaml");
    std::fs::write(
        &fresh,
        std::fs::read_to_string(&pipeline).unwrap()
            + &format!("staging: s3://{BUCKET}/faults/staging-fresh\n"),
    )
    .unwrap();
    let run_fresh = |endpoint: &str| {
        pmm_env(
            dir,
            &["run", fresh.to_str().unwrap()],
            &Garage::env(endpoint),
        )
    };
    *faults.fail_objects.lock().unwrap() = Some("/submissions/member=XB/".into());
    let output = run_fresh(&proxy);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("XB 2024"), "{stdout}");
    let (got, _) = garage.cloud.tables("faults/results").await;
    let issues =
        &got[pmm_store::layout::audience_table("secretariat", VALIDATION_ISSUES.name).as_str()];
    let members = issues[0].column_by_name("member").unwrap();
    let messages = issues[0].column_by_name("message").unwrap();
    let (members, messages) = (
        members
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap(),
        messages
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap(),
    );
    let unreadable = (0..issues[0].num_rows())
        .filter(|&i| members.value(i) == "XB" && messages.value(i).contains("cannot read"))
        .count();
    assert!(
        unreadable >= 8,
        "XB's files are each an issue: {unreadable}"
    );
    *faults.fail_objects.lock().unwrap() = None;
    let second: Value = garage.cloud.json("faults/results/latest.json").await;
    assert_ne!(first["run_id"], second["run_id"]);
    // A store failure is not staged: the next run reads XB's files again, and only those.
    let (_, failed_manifest) = garage.cloud.tables("faults/results").await;
    let output = run_fresh(&proxy);
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let (got, manifest) = garage.cloud.tables("faults/results").await;
    // The run's own tables; the history keeps XB's failed year as a version before this one.
    let own = |tables: &crate::Tables| -> crate::Tables {
        tables
            .iter()
            .filter(|(name, _)| !name.ends_with("indicator_history.arrow"))
            .map(|(name, batches)| (name.clone(), batches.clone()))
            .collect()
    };
    assert_eq!(own(&got), own(&expected), "XB's data is back");
    for input in manifest["inputs"].as_array().unwrap() {
        let path = input["path"].as_str().unwrap();
        let was = failed_manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["path"] == path)
            .unwrap();
        if path.starts_with("member=XB/") && was["staged"].is_null() {
            assert_eq!(input["status"], "read", "{path}");
        } else if was["status"] != "skipped" {
            assert_eq!(input["status"], "reused", "{path}");
        }
    }
    let second: Value = garage.cloud.json("faults/results/latest.json").await;

    // A store that keeps failing writes: exit 1, and latest.json still names the last run.
    // The run's first write is its lease in the staging area (here in the same store): it
    // stops there, before reading anything.
    faults.fail_writes.store(true, Ordering::SeqCst);
    let output = run(&proxy);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("cannot write the run's lease to the staging area"),
        "{stderr}"
    );
    assert!(!stderr.contains("reading submissions"), "{stderr}");
    let latest: Value = garage.cloud.json("faults/results/latest.json").await;
    assert_eq!(latest, second);
    // Only the results failing: the run reads, computes, and fails to publish.
    faults.spare_staging.store(true, Ordering::SeqCst);
    let output = run(&proxy);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("cannot write the results"), "{stderr}");
    faults.spare_staging.store(false, Ordering::SeqCst);
    let latest: Value = garage.cloud.json("faults/results/latest.json").await;
    assert_eq!(latest, second);
    faults.fail_writes.store(false, Ordering::SeqCst);

    // No store at all: exit 1 with the reason, in seconds (the pipeline's retry timeout).
    let started = Instant::now();
    let output = run(&format!("http://127.0.0.1:{}", free_port()));
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("members registry") || stderr.contains("cannot list the source"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(!stderr.contains(SECRET));
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Garage: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_racing_leave_latest_naming_a_complete_run() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let garage = Garage::start();
    garage.cloud.upload_demo("race").await;
    let pipeline = garage.cloud.pipeline(dir, "s3-race", "race");
    let env = Garage::env(&garage.endpoint);
    let local = write_pipeline(
        dir,
        "local-race",
        &repo_root()
            .join("examples/submissions")
            .display()
            .to_string(),
        &repo_root()
            .join("examples/members.yaml")
            .display()
            .to_string(),
        "race-results",
    );
    for round in 0..2 {
        let spawn = |p: &Path| {
            Command::new(env!("CARGO_BIN_EXE_pmm"))
                .args(["run", p.to_str().unwrap()])
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .current_dir(dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let target = if round == 0 { &pipeline } else { &local };
        let (a, b) = (spawn(target), spawn(target));
        let mut ids = Vec::new();
        for child in [a, b] {
            let output = child.wait_with_output().unwrap();
            let (stdout, stderr) = text(&output);
            assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
            ids.push(stdout.split_whitespace().nth(1).unwrap().to_string());
        }
        let (latest, complete): (Value, Vec<String>) = if round == 0 {
            let latest = garage.cloud.json("race/results/latest.json").await;
            let run = latest["path"].as_str().unwrap().to_string();
            let manifest = garage
                .cloud
                .json(&format!("race/results/{run}/manifest.json"))
                .await;
            let keys = garage.cloud.keys("race/results").await;
            let missing = manifest["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .filter(|f| !keys.contains(&format!("race/results/{f}")))
                .collect();
            (latest, missing)
        } else {
            let results = dir.join("race-results");
            let latest = read_json(&results.join("latest.json"));
            let run = results.join(latest["path"].as_str().unwrap());
            let manifest = read_json(&run.join("manifest.json"));
            let missing = manifest["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .filter(|f| !results.join(f).is_file())
                .collect();
            (latest, missing)
        };
        let named = latest["run_id"].as_str().unwrap().to_string();
        assert!(
            ids.contains(&named),
            "latest names {named}, runs were {ids:?}"
        );
        assert!(
            complete.is_empty(),
            "files of {named} missing: {complete:?}"
        );
    }
}
