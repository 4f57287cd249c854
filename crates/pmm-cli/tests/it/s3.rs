//! Runs against a real S3 server (Garage, started by each test on loopback ports): the same
//! rows as a local run, faults injected by a proxy, a dead store, and two runs racing on the
//! same results. The `garage` binary comes from `bash .ci/run` (`cargo install garage`, cached
//! in ~/.cache/pmm-tools); `PMM_GARAGE` can name another.

use pmm_engine::results::VALIDATION_ISSUES;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{Server, Tables, free_port, local_tables, pmm_env, repo_root, text, without_run_id};

const KEY_ID: &str = "GK0123456789abcdef01234567";
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const BUCKET: &str = "pmm";

fn garage_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PMM_GARAGE") {
        return PathBuf::from(path);
    }
    let cached = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/pmm-tools/bin/garage"))
        .filter(|p| p.is_file());
    cached.unwrap_or_else(|| PathBuf::from("garage"))
}

/// A single-node Garage on loopback with one key and one bucket, stopped when dropped.
struct Garage {
    _server: Server,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl Garage {
    fn start() -> Garage {
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
        Garage {
            _server: server,
            endpoint: format!("http://127.0.0.1:{s3_port}"),
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

    fn store(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(SECRET)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("garage")
            .build()
            .unwrap()
    }

    /// Uploads a local folder under `prefix`.
    async fn upload(&self, from: &Path, prefix: &str) {
        let store = self.store();
        let mut stack = vec![from.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let relative = path
                    .strip_prefix(from)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let key = Key::parse(format!("{prefix}/{relative}")).unwrap();
                store
                    .put(&key, PutPayload::from(std::fs::read(&path).unwrap()))
                    .await
                    .unwrap();
            }
        }
    }

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self.store().get(&Key::parse(key).unwrap()).await {
            Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("{key}: {e}"),
        }
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        let store = self.store();
        let prefix = Key::parse(prefix).unwrap();
        let mut keys: Vec<String> = store
            .list(Some(&prefix))
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        keys.sort();
        keys
    }
}

/// A pipeline over the demo's sample data, reading and writing where told.
fn write_pipeline(dir: &Path, name: &str, source: &str, members: &str, results: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}\nyear: 2024\ncatalog: {}/indicators\nmembers: {members}\nsource: {source}\nresults: {results}\n\
             storage:\n  max_retries: 8\n  retry_timeout_seconds: 20\n  request_timeout_seconds: 10\n  connect_timeout_seconds: 2\n",
            repo_root().display()
        ),
    )
    .unwrap();
    path
}

async fn s3_tables(garage: &Garage, prefix: &str) -> (Tables, Value) {
    let latest: Value =
        serde_json::from_slice(&garage.get(&format!("{prefix}/latest.json")).await.unwrap())
            .unwrap();
    let run = format!("{prefix}/{}", latest["path"].as_str().unwrap());
    let manifest: Value =
        serde_json::from_slice(&garage.get(&format!("{run}/manifest.json")).await.unwrap())
            .unwrap();
    let mut tables = Tables::new();
    for file in manifest["files"].as_array().unwrap() {
        let file = file.as_str().unwrap();
        let name = file.split_once('/').unwrap().1.split_once('/').unwrap().1;
        let bytes = garage
            .get(&format!("{prefix}/{file}"))
            .await
            .unwrap_or_else(|| panic!("{file} is listed in the manifest but missing"));
        tables.insert(name.to_string(), without_run_id(bytes));
    }
    (tables, manifest)
}

/// Input objects of a run manifest as (path, size).
fn inputs(manifest: &Value) -> Vec<(String, u64)> {
    manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_string(),
                i["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The local run of the demo data, as the reference.
fn local_reference(dir: &Path) -> (Tables, Value) {
    let examples = repo_root().join("examples");
    let pipeline = write_pipeline(
        dir,
        "local",
        &examples.join("submissions").display().to_string(),
        &examples.join("members.yaml").display().to_string(),
        "local-results",
    );
    let output = pmm_env(dir, &["run", pipeline.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    local_tables(&dir.join("local-results"))
}

async fn upload_demo(garage: &Garage, prefix: &str) {
    let examples = repo_root().join("examples");
    garage
        .upload(
            &examples.join("submissions"),
            &format!("{prefix}/submissions"),
        )
        .await;
    garage
        .store()
        .put(
            &Key::parse(format!("{prefix}/members.yaml")).unwrap(),
            PutPayload::from(std::fs::read(examples.join("members.yaml")).unwrap()),
        )
        .await
        .unwrap();
}

fn s3_pipeline(dir: &Path, name: &str, prefix: &str) -> PathBuf {
    write_pipeline(
        dir,
        name,
        &format!("s3://{BUCKET}/{prefix}/submissions"),
        &format!("s3://{BUCKET}/{prefix}/members.yaml"),
        &format!("s3://{BUCKET}/{prefix}/results"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_run_gives_the_rows_of_the_local_run() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let garage = Garage::start();
    upload_demo(&garage, "same").await;
    let (expected, local_manifest) = local_reference(dir);

    let pipeline = s3_pipeline(dir, "s3-same", "same");
    let output = pmm_env(
        dir,
        &["run", pipeline.to_str().unwrap()],
        &Garage::env(&garage.endpoint),
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("results: s3://{BUCKET}/same/results/runs/")),
        "{stdout}"
    );
    for secret in [SECRET, KEY_ID] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a credential is printed"
        );
    }
    let (got, manifest) = s3_tables(&garage, "same/results").await;
    assert_eq!(got.len(), 13);
    assert_eq!(
        got, expected,
        "the same rows from S3 as from the local folder"
    );
    // Every input object is recorded with its size and the store's ETag.
    assert_eq!(inputs(&manifest), inputs(&local_manifest));
    assert!(
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["etag"].is_string()),
        "{manifest}"
    );
    assert_eq!(
        manifest["source"],
        format!("s3://{BUCKET}/same/submissions")
    );
    // Nothing but results and staged data under the results prefix, and a latest.json naming
    // the run.
    let keys = garage.keys("same/results").await;
    let results: Vec<&String> = keys
        .iter()
        .filter(|k| !k.starts_with("same/results/staging/"))
        .collect();
    assert_eq!(results.len(), 13 + 2, "{results:#?}");
    let staged_data = |keys: &[String]| -> Vec<String> {
        keys.iter()
            .filter(|k| k.starts_with("same/results/staging/member="))
            .cloned()
            .collect()
    };
    let staged = staged_data(&keys);
    assert!(
        staged.iter().any(|k| k.ends_with(".parquet")) && staged.len() > 100,
        "the valid rows are staged on S3 beside the results: {keys:#?}"
    );
    assert!(
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] != "reused"),
        "{manifest}"
    );

    // A second run reuses every staged input from S3 and gives the same rows.
    let output = pmm_env(
        dir,
        &["run", pipeline.to_str().unwrap()],
        &Garage::env(&garage.endpoint),
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("inputs: 0 read and staged"), "{stdout}");
    let (again, manifest) = s3_tables(&garage, "same/results").await;
    assert_eq!(again, expected, "the same rows from staged data on S3");
    assert!(
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] != "read"),
        "{manifest}"
    );
    assert_eq!(
        staged_data(&garage.keys("same/results").await),
        staged,
        "nothing new is staged"
    );

    // `pmm serve` reads the run back from S3.
    let latest: Value =
        serde_json::from_slice(&garage.get("same/results/latest.json").await.unwrap()).unwrap();
    let port = free_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_pmm"))
        .args(["serve", "--results", &format!("s3://{BUCKET}/same/results")])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .envs(Garage::env(&garage.endpoint))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let health: Value = loop {
        let answer = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if let Ok(answer) = answer
            && answer.status() == 200
        {
            break serde_json::from_str(&answer.text().await.unwrap()).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "pmm serve never loaded the S3 run"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(health["run_id"], latest["run_id"]);
    assert!(
        metrics.contains("pmm_run_last_success_timestamp_seconds{pipeline=\"s3-same\"}"),
        "{metrics}"
    );
    assert!(health["samples"].as_u64().unwrap() > 100, "{health}");
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
    let failing_write =
        faults.fail_writes.load(Ordering::SeqCst) && matches!(method, "PUT" | "POST");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_a_failing_member_is_an_issue_and_a_dead_store_fails_cleanly() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let garage = Garage::start();
    upload_demo(&garage, "faults").await;
    let (expected, _) = local_reference(dir);
    let faults = Arc::new(Faults::default());
    let proxy = start_proxy(garage.endpoint.clone(), faults.clone()).await;
    let pipeline = s3_pipeline(dir, "s3-faults", "faults");
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
    let (got, _) = s3_tables(&garage, "faults/results").await;
    assert_eq!(got, expected, "the same rows through a flaky store");
    let first: Value =
        serde_json::from_slice(&garage.get("faults/results/latest.json").await.unwrap()).unwrap();
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
    let (got, _) = s3_tables(&garage, "faults/results").await;
    let issues = &got[VALIDATION_ISSUES.path("secretariat").as_str()];
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
    let second: Value =
        serde_json::from_slice(&garage.get("faults/results/latest.json").await.unwrap()).unwrap();
    assert_ne!(first["run_id"], second["run_id"]);
    // A store failure is not staged: the next run reads XB's files again, and only those.
    let (_, failed_manifest) = s3_tables(&garage, "faults/results").await;
    let output = run_fresh(&proxy);
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let (got, manifest) = s3_tables(&garage, "faults/results").await;
    assert_eq!(got, expected, "XB's data is back");
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
    let second: Value =
        serde_json::from_slice(&garage.get("faults/results/latest.json").await.unwrap()).unwrap();

    // A results store that keeps failing: exit 1, and latest.json still names the last run.
    faults.fail_writes.store(true, Ordering::SeqCst);
    let output = run(&proxy);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("cannot write the results"), "{stderr}");
    let latest: Value =
        serde_json::from_slice(&garage.get("faults/results/latest.json").await.unwrap()).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_racing_leave_latest_naming_a_complete_run() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let garage = Garage::start();
    upload_demo(&garage, "race").await;
    let pipeline = s3_pipeline(dir, "s3-race", "race");
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
            let latest: Value =
                serde_json::from_slice(&garage.get("race/results/latest.json").await.unwrap())
                    .unwrap();
            let run = latest["path"].as_str().unwrap().to_string();
            let manifest: Value = serde_json::from_slice(
                &garage
                    .get(&format!("race/results/{run}/manifest.json"))
                    .await
                    .unwrap(),
            )
            .unwrap();
            let keys = garage.keys("race/results").await;
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
            let latest: Value =
                serde_json::from_slice(&std::fs::read(results.join("latest.json")).unwrap())
                    .unwrap();
            let run = results.join(latest["path"].as_str().unwrap());
            let manifest: Value =
                serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
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
