//! Writing a run's result files: every audience's tables as Arrow IPC files under
//! `runs/<run_id>/`, then the run's `manifest.json`, then `latest.json`, replaced last and by a
//! compare-and-swap where the store has one, so that a reader following it never sees a
//! partial run and it never moves back to an older one.

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutMode, PutPayload, UpdateVersion, WriteMultipart};
use pmm_catalog::Disclosure;
use pmm_ingest::ValidationIssue;
use pmm_results::arrow::{ArrowError, RecordBatch};
use pmm_results::{
    INDICATOR_HISTORY, REVIEW_FLAGS, ResultTables, ReviewFlag, VALIDATION_ISSUES, ipc,
};
use pmm_store::{StoreRoot, count_write, layout};

use crate::manifest::{LatestPointer, RunManifest};
use crate::metrics::{self, AudienceTables};

use crate::tables;

/// The files of one run, written under `runs/<run_id>/` and then `latest.json`.
pub struct Publication<'a> {
    /// The results location.
    pub root: &'a StoreRoot,
    /// The run's id.
    pub run_id: &'a str,
    /// The reporting year.
    pub year: i32,
    /// Files above this size go up in parts of this size.
    pub part_size: usize,
}

impl Publication<'_> {
    /// Writes one result object: one PUT for a file up to `part_size`, a multipart upload
    /// in parts of that size for a larger one (parts go up concurrently; a failed upload is
    /// aborted by `object_store`, and stores expire what an interrupted process leaves).
    async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        let key = self.root.key(relative);
        if bytes.len() <= self.part_size {
            self.root
                .store
                .put(&key, PutPayload::from(Bytes::from(bytes)))
                .await?;
        } else {
            let upload = self.root.store.put_multipart(&key).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            writer.put(Bytes::from(bytes));
            writer.finish().await?;
        }
        count_write();
        Ok(())
    }

    /// Writes one table as an Arrow IPC file, encoded on a blocking thread (so that audiences
    /// written side by side encode in parallel). A table larger than `part_size` is encoded
    /// straight into the parts of a multipart upload: the whole file is never held in memory.
    async fn put_table(&self, relative: &str, batch: &RecordBatch) -> Result<(), PublishError> {
        let stopped = |e: tokio::task::JoinError| PublishError::Stopped(e.to_string());
        let batch = batch.clone();
        if batch.get_array_memory_size() <= self.part_size {
            let bytes = tokio::task::spawn_blocking(move || ipc::to_file(&batch))
                .await
                .map_err(stopped)??;
            return Ok(self.put(relative, bytes).await?);
        }
        let upload = self
            .root
            .store
            .put_multipart(&self.root.key(relative))
            .await?;
        let mut upload = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let (parts, mut encoded) = tokio::sync::mpsc::channel(PARTS_IN_FLIGHT);
        let part_size = self.part_size;
        let encoder = tokio::task::spawn_blocking(move || {
            ipc::write_file(&batch, Parts::new(parts, part_size))?
                .finish()
                .map_err(|e| ArrowError::IoError("sending the last part".into(), e))
        });
        while let Some(part) = encoded.recv().await {
            if let Err(e) = upload.wait_for_capacity(PARTS_IN_FLIGHT).await {
                upload.abort().await.ok();
                return Err(e.into());
            }
            upload.put(part);
        }
        if let Err(e) = encoder
            .await
            .map_err(stopped)
            .and_then(|r| r.map_err(PublishError::from))
        {
            upload.abort().await.ok();
            return Err(e);
        }
        upload.finish().await?;
        count_write();
        Ok(())
    }

    /// Replaces `latest.json` with this run, unless a newer run (a later run id) is already
    /// there. Where the store supports conditional writes (S3, GCS, Azure), the replacement
    /// is a compare-and-swap on the ETag that was read, retried when another run got in
    /// between, so two runs racing leave the newer one as latest. A local folder has no
    /// conditional update: the write is an atomic rename, so `latest.json` is never torn. After
    /// writing, the run reads `latest.json` back and writes again if an older run replaced it
    /// in between; only two runs finishing within the same few milliseconds on a store
    /// without conditional writes can leave the older one as latest (a complete run still).
    pub async fn replace_latest(&self) -> Result<Latest, PublishError> {
        let key = self.root.key(layout::results::LATEST);
        for _ in 0..LATEST_ATTEMPTS {
            let (mode, previous) = match self.root.store.get(&key).await {
                Ok(current) => {
                    let version = UpdateVersion {
                        e_tag: current.meta.e_tag.clone(),
                        version: current.meta.version.clone(),
                    };
                    let previous = pointer(&current.bytes().await?);
                    if let Some(newer) = previous
                        .as_ref()
                        .map(|p| &p.run_id)
                        .filter(|id| id.as_str() > self.run_id)
                    {
                        return Ok(Latest::Newer(newer.clone()));
                    }
                    (PutMode::Update(version), previous)
                }
                Err(object_store::Error::NotFound { .. }) => (PutMode::Create, None),
                Err(e) => return Err(e.into()),
            };
            let body = serde_json::to_vec_pretty(&LatestPointer::next(
                self.run_id,
                self.year,
                previous.as_ref(),
            ))?;
            let payload = PutPayload::from(Bytes::from(body.clone()));
            match self
                .root
                .store
                .put_opts(&key, payload.clone(), mode.into())
                .await
            {
                Ok(_) => {}
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. },
                ) => continue,
                Err(object_store::Error::NotImplemented { .. }) => {
                    self.root.store.put(&key, payload).await?;
                }
                Err(e) => return Err(e.into()),
            }
            count_write();
            // Some stores accept the conditional headers and ignore them (Garage 2.5 does):
            // read back, and try again if an older run wrote over this one meanwhile.
            let after = self.root.store.get(&key).await?.bytes().await?;
            let named = named_run(&after).unwrap_or_default();
            match named.as_str().cmp(self.run_id) {
                std::cmp::Ordering::Equal => return Ok(Latest::Replaced),
                std::cmp::Ordering::Greater => return Ok(Latest::Newer(named)),
                std::cmp::Ordering::Less => continue,
            }
        }
        Err(PublishError::Contended)
    }

    /// Writes one audience's tables (with `validation_issues` and `review_flags` for the
    /// Secretariat) and its
    /// history across cycles; returns the files written.
    pub async fn write_audience(
        &self,
        audience: Disclosure,
        all: &ResultTables,
        issues: &[ValidationIssue],
        review: &[ReviewFlag],
        history: &RecordBatch,
    ) -> Result<Vec<String>, PublishError> {
        let tables = AudienceTables::of(self.run_id, self.year, all, audience)?;
        // Validation issues and review flags are the Secretariat's alone.
        let secretariat = audience == Disclosure::Secretariat;
        let issues = secretariat
            .then(|| tables::validation_issues(self.run_id, issues))
            .transpose()?;
        let review = secretariat
            .then(|| pmm_results::review::encode(self.run_id, self.year, review))
            .transpose()?;
        let mut files = Vec::new();
        for (name, batch) in tables
            .named()
            .into_iter()
            .chain(issues.as_ref().map(|b| (VALIDATION_ISSUES.name, b)))
            .chain(review.as_ref().map(|b| (REVIEW_FLAGS.name, b)))
            .chain([(INDICATOR_HISTORY.name, history)])
        {
            let relative = layout::results::table(self.run_id, audience.as_str(), name);
            self.put_table(&relative, batch).await?;
            files.push(relative);
        }
        Ok(files)
    }

    /// Writes the run manifest, after every result file (and before `latest.json`, which is
    /// replaced last so that a reader following it never sees a run that is not complete).
    pub async fn write_manifest(&self, manifest: &RunManifest) -> Result<(), PublishError> {
        self.put(
            &layout::results::manifest(self.run_id),
            serde_json::to_vec_pretty(manifest)?,
        )
        .await?;
        Ok(())
    }
}

/// The pointer a `latest.json` holds, if it is readable.
fn pointer(latest: &[u8]) -> Option<LatestPointer> {
    serde_json::from_slice::<LatestPointer>(latest).ok()
}

/// The run id a `latest.json` names, if it is readable.
fn named_run(latest: &[u8]) -> Option<String> {
    pointer(latest).map(|p| p.run_id)
}

/// How many parts of a large table are encoded ahead of or uploading at a time.
const PARTS_IN_FLIGHT: usize = 2;

/// The bytes of an IPC file being encoded, cut into parts of `part_size` that go to the
/// upload as they fill (an upload that stopped makes the next write fail).
struct Parts {
    to_upload: tokio::sync::mpsc::Sender<Bytes>,
    part_size: usize,
    filling: Vec<u8>,
}

impl Parts {
    fn new(to_upload: tokio::sync::mpsc::Sender<Bytes>, part_size: usize) -> Self {
        Parts {
            to_upload,
            part_size,
            filling: Vec::with_capacity(part_size),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        let part = std::mem::replace(&mut self.filling, Vec::with_capacity(self.part_size));
        self.to_upload
            .blocking_send(Bytes::from(part))
            .map_err(|_| std::io::Error::other("the upload stopped"))
    }

    /// Sends what is left.
    fn finish(mut self) -> std::io::Result<()> {
        if self.filling.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

impl std::io::Write for Parts {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.part_size - self.filling.len();
        let taken = data.len().min(room);
        self.filling.extend_from_slice(&data[..taken]);
        if self.filling.len() == self.part_size {
            self.send()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Result files larger than this go up as multipart uploads, in parts of this size.
pub const PART_SIZE: usize = 16 << 20;

/// How many times a run tries to replace `latest.json` while other runs keep replacing it.
const LATEST_ATTEMPTS: usize = 20;

/// What became of `latest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Latest {
    /// It names this run.
    Replaced,
    /// It already named a newer run (this id), which was left in place: this run is complete
    /// under its own folder, and not the latest.
    Newer(String),
}

/// A failure while writing results.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] object_store::Error),
    /// A table could not be encoded (a bug).
    #[error("encoding a result table: {0}")]
    Arrow(#[from] ArrowError),
    /// JSON could not be encoded (a bug).
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Metrics could not be built.
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
    /// Encoding a table stopped (a panic or a shutdown).
    #[error("encoding a result table stopped: {0}")]
    Stopped(String),
    /// Other runs kept replacing `latest.json`.
    #[error(
        "latest.json kept changing under this run: {LATEST_ATTEMPTS} attempts to replace it lost to other runs"
    )]
    Contended,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use object_store::path::Path;

    use super::*;

    fn root(store: Arc<InMemory>) -> StoreRoot {
        StoreRoot {
            store,
            prefix: Path::from("results"),
            display: "memory://results".into(),
            url: url::Url::parse("memory:///").unwrap(),
        }
    }

    /// An object of the in-memory store, whole.
    async fn read(store: &InMemory, key: &str) -> Bytes {
        store
            .get(&Path::from(key))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_large_result_file_goes_up_in_parts_and_arrives_whole() {
        let store = Arc::new(InMemory::new());
        let root = root(store.clone());
        let publication = Publication {
            root: &root,
            run_id: "20240101T000000Z-000001",
            year: 2024,
            part_size: 1000,
        };
        let bytes: Vec<u8> = (0..10_500u32).map(|i| (i % 251) as u8).collect();
        publication
            .put("runs/x/big.arrow", bytes.clone())
            .await
            .unwrap();
        publication
            .put("runs/x/small.arrow", vec![1, 2, 3])
            .await
            .unwrap();
        assert_eq!(
            read(&store, "results/runs/x/big.arrow").await.to_vec(),
            bytes
        );
        assert_eq!(
            read(&store, "results/runs/x/small.arrow").await.to_vec(),
            vec![1, 2, 3]
        );
    }

    #[tokio::test]
    async fn a_large_table_is_encoded_straight_into_parts_and_reads_back_as_written() {
        use pmm_results::{Change, HistoryRow};
        let store = Arc::new(InMemory::new());
        let root = root(store.clone());
        let publication = Publication {
            root: &root,
            run_id: "20240101T000000Z-000001",
            year: 2024,
            part_size: 4096,
        };
        let rows: Vec<HistoryRow> = (0..3000)
            .map(|i| HistoryRow {
                member: format!("X{}", i % 7),
                indicator: format!("k.{}", i % 13),
                year: 2000 + i % 25,
                status: pmm_catalog::Status::Ok,
                value: Some(f64::from(i) / 3.0),
                score: None,
                level: Some(i64::from(i % 5)),
                unit: pmm_catalog::Unit::Percent,
                disclosure: Disclosure::Public,
                definition_hash: format!("{i:064}"),
                catalog_version: "PMM v1.0".into(),
                comparable: i % 2 == 0,
                run_id: "R".into(),
                published_at: "2026-01-01T00:00:00Z".into(),
                superseded_by: (i % 3 == 0).then(|| "S".to_string()),
                change: Change::First,
                cause: None,
            })
            .collect();
        let batch = pmm_results::history::encode(&rows).unwrap();
        assert!(batch.get_array_memory_size() > 20 * publication.part_size);
        publication
            .put_table("runs/x/indicator_history.arrow", &batch)
            .await
            .unwrap();
        let bytes = read(&store, "results/runs/x/indicator_history.arrow").await;
        let read = ipc::from_file(bytes, &INDICATOR_HISTORY, "history").unwrap();
        assert_eq!(read, batch);
        assert_eq!(pmm_results::history::decode(&read).unwrap(), rows);
    }

    #[tokio::test]
    async fn latest_is_never_moved_back_to_an_older_run() {
        let store = Arc::new(InMemory::new());
        let root = root(store.clone());
        let publication = |run_id: &'static str| Publication {
            root: &root,
            run_id,
            year: 2024,
            part_size: PART_SIZE,
        };
        let newer = "20240102T000000Z-000002";
        let older = "20240101T000000Z-000001";
        assert_eq!(
            publication(newer).replace_latest().await.unwrap(),
            Latest::Replaced
        );
        assert_eq!(
            publication(older).replace_latest().await.unwrap(),
            Latest::Newer(newer.to_string())
        );
        let latest: serde_json::Value =
            serde_json::from_slice(&read(&store, "results/latest.json").await).unwrap();
        assert_eq!(latest["run_id"], newer);
        assert_eq!(latest["path"], format!("runs/{newer}"));
    }
}
