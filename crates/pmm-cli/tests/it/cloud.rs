//! What every object store must do for a run, checked the same way on each server the tests
//! start (Garage for S3, Azurite for Azure, fake-gcs-server for GCS): the demo's submissions
//! uploaded there, a run whose every result table equals the local run's, input versions in
//! the manifest, staged data on the store and an unchanged re-run reusing it, `pmm serve`
//! loading the run back, and no credential in any output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;

use crate::{Tables, free_port, local_tables, pmm_env, repo_root, text, without_run_id};

/// A store under test, as the tests and `pmm` reach it.
pub struct Cloud {
    /// The store, for the test's own reads and writes (bucket or container at its root).
    pub store: Arc<dyn ObjectStore>,
    /// The URL of the bucket or container: `s3://pmm`, `az://pmm`, `gs://pmm`.
    pub url: String,
    /// The environment `pmm` reads its settings from.
    pub env: Vec<(String, String)>,
    /// Credentials and tokens that must appear in no output.
    pub secrets: Vec<String>,
}

impl Cloud {
    /// Uploads a local folder under `prefix`.
    pub async fn upload(&self, from: &Path, prefix: &str) {
        for path in pmm_test_support::files::files_under(from) {
            let relative = path
                .strip_prefix(from)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            self.put(
                &format!("{prefix}/{relative}"),
                std::fs::read(&path).unwrap(),
            )
            .await;
        }
    }

    /// Writes one object.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.store
            .put(&Key::parse(key).unwrap(), PutPayload::from(bytes))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }

    /// An object's bytes, or None when it is not there.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self.store.get(&Key::parse(key).unwrap()).await {
            Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("{key}: {e}"),
        }
    }

    /// An object that holds JSON (`latest.json`, a manifest), parsed.
    pub async fn json(&self, key: &str) -> Value {
        let bytes = self
            .get(key)
            .await
            .unwrap_or_else(|| panic!("{key} is not there"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    /// Every key under `prefix`, sorted.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let prefix = Key::parse(prefix).unwrap();
        let mut keys: Vec<String> = self
            .store
            .list(Some(&prefix))
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        keys.sort();
        keys
    }

    /// The demo's submissions and registry under `prefix`.
    pub async fn upload_demo(&self, prefix: &str) {
        let examples = repo_root().join("examples");
        self.upload(
            &examples.join("submissions"),
            &format!("{prefix}/submissions"),
        )
        .await;
        self.put(
            &format!("{prefix}/members.yaml"),
            std::fs::read(examples.join("members.yaml")).unwrap(),
        )
        .await;
    }

    /// A pipeline reading the demo under `prefix` and publishing to `<prefix>/results`.
    pub fn pipeline(&self, dir: &Path, name: &str, prefix: &str) -> PathBuf {
        let url = &self.url;
        write_pipeline(
            dir,
            name,
            &format!("{url}/{prefix}/submissions"),
            &format!("{url}/{prefix}/members.yaml"),
            &format!("{url}/{prefix}/results"),
        )
    }

    /// The tables of the run `latest.json` names under `prefix` (by file name, without
    /// `run_id`), and its manifest.
    pub async fn tables(&self, prefix: &str) -> (Tables, Value) {
        let latest = self.json(&format!("{prefix}/latest.json")).await;
        let run = format!("{prefix}/{}", latest["path"].as_str().unwrap());
        let manifest = self.json(&format!("{run}/manifest.json")).await;
        let mut tables = Tables::new();
        for file in manifest["files"].as_array().unwrap() {
            let file = file.as_str().unwrap();
            let name = file.split_once('/').unwrap().1.split_once('/').unwrap().1;
            let bytes = self
                .get(&format!("{prefix}/{file}"))
                .await
                .unwrap_or_else(|| panic!("{file} is listed in the manifest but missing"));
            tables.insert(name.to_string(), without_run_id(bytes));
        }
        (tables, manifest)
    }

    /// Fails when a secret appears in `output`.
    pub fn assert_no_secret(&self, what: &str, output: &str) {
        for secret in &self.secrets {
            assert!(
                !output.contains(secret.as_str()),
                "{what} prints a credential"
            );
        }
    }
}

/// A pipeline over the shipped catalog, reading and writing where told.
pub fn write_pipeline(
    dir: &Path,
    name: &str,
    source: &str,
    members: &str,
    results: &str,
) -> PathBuf {
    pipeline_file(
        dir,
        name,
        &repo_root().join("indicators"),
        [source, members, results],
        "",
    )
}

/// A pipeline over `catalog` reading `source` and `members`, publishing to `results`, with
/// short store timeouts, and `extra` lines at the end (an `engine:` block, a `staging:`).
pub fn pipeline_file(
    dir: &Path,
    name: &str,
    catalog: &Path,
    [source, members, results]: [&str; 3],
    extra: &str,
) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}\nyear: 2024\ncatalog: {}\nmembers: {members}\nsource: {source}\nresults: {results}\n\
             storage:\n  max_retries: 8\n  retry_timeout_seconds: 20\n  request_timeout_seconds: 10\n  connect_timeout_seconds: 2\n{extra}",
            catalog.display()
        ),
    )
    .unwrap();
    path
}

/// Input objects of a run manifest as (path, size).
pub fn inputs(manifest: &Value) -> Vec<(String, u64)> {
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
pub fn local_reference(dir: &Path) -> (Tables, Value) {
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

/// The demo on `cloud` under `prefix`, every check of the module's header; `version` is the
/// manifest field every input must carry (`etag`, or `version` where the store has
/// generations).
pub async fn demo_gives_the_local_rows(cloud: &Cloud, prefix: &str, version: &str) {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    cloud.upload_demo(prefix).await;
    let (expected, local_manifest) = local_reference(dir);
    let url = &cloud.url;

    let name = format!("cloud-{prefix}");
    let pipeline = cloud.pipeline(dir, &name, prefix);
    let output = pmm_env(dir, &["run", pipeline.to_str().unwrap()], &cloud.env);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("results: {url}/{prefix}/results/runs/")),
        "{stdout}"
    );
    cloud.assert_no_secret("pmm run", &format!("{stdout}{stderr}"));
    let results = format!("{prefix}/results");
    let (got, manifest) = cloud.tables(&results).await;
    assert_eq!(
        got.len(),
        17,
        "five tables an audience, and validation_issues and review_flags"
    );
    assert_eq!(
        got, expected,
        "the same rows from {url} as from the local folder"
    );
    // Every input object is recorded with its size and the store's version of it.
    assert_eq!(inputs(&manifest), inputs(&local_manifest));
    assert!(
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i[version].is_string()),
        "every input has its {version}: {}",
        manifest["inputs"]
    );
    assert_eq!(manifest["source"], format!("{url}/{prefix}/submissions"));
    cloud.assert_no_secret("manifest.json", &manifest.to_string());

    // Results and staged data only, under the results prefix.
    let keys = cloud.keys(&results).await;
    let published: Vec<&String> = keys
        .iter()
        .filter(|k| !k.starts_with(&format!("{results}/staging/")))
        .collect();
    assert_eq!(published.len(), 17 + 2, "{published:#?}");
    let staged_data = |keys: &[String]| -> Vec<String> {
        keys.iter()
            .filter(|k| k.starts_with(&format!("{results}/staging/member=")))
            .cloned()
            .collect()
    };
    // No credential in any object the run wrote: results, manifest, staged rows and entries.
    for key in &keys {
        let bytes = cloud.get(key).await.unwrap();
        for secret in &cloud.secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{key} holds a credential"
            );
        }
    }
    let staged = staged_data(&keys);
    assert!(
        staged.iter().any(|k| k.ends_with(".parquet")) && staged.len() > 100,
        "the valid rows are staged on the store beside the results: {keys:#?}"
    );

    // A second run reuses every staged input and gives the same rows.
    let output = pmm_env(dir, &["run", pipeline.to_str().unwrap()], &cloud.env);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("inputs: 0 read and staged"), "{stdout}");
    let (again, manifest) = cloud.tables(&results).await;
    assert_eq!(again, expected, "the same rows from staged data on {url}");
    assert!(
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] != "read"),
        "{manifest}"
    );
    assert_eq!(
        staged_data(&cloud.keys(&results).await),
        staged,
        "nothing new is staged"
    );

    // `pmm serve` reads the run back from the store.
    let latest = cloud.json(&format!("{results}/latest.json")).await;
    let port = free_port();
    let logs = tempfile::NamedTempFile::new().unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_pmm"))
        .args(["serve", "--results", &format!("{url}/{results}")])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .envs(cloud.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(logs.reopen().unwrap())
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
            "pmm serve never loaded the run from {url}: {}",
            std::fs::read_to_string(logs.path()).unwrap_or_default()
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
        metrics.contains(&format!(
            "pmm_run_last_success_timestamp_seconds{{pipeline=\"{name}\"}}"
        )),
        "{metrics}"
    );
    assert!(health["samples"].as_u64().unwrap() > 100, "{health}");
    cloud.assert_no_secret(
        "pmm serve",
        &format!(
            "{metrics}{health}{}",
            std::fs::read_to_string(logs.path()).unwrap_or_default()
        ),
    );
}
