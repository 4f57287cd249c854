//! Reading one submission: its manifest, then each dataset file in its format, validated as
//! it is read and staged as it is validated. An input whose fingerprint has a staged entry is
//! not read at all: its entry gives the rows, issues and counts. A problem with one file
//! becomes an issue on that dataset; nothing here stops the run but a failing staging store.
//!
//! Why one file of this length (about 590 lines before its tests): [`SubmissionReader`] is one
//! sequence over a submission (manifest, then each file: reuse, read, stage, record) and its
//! steps share the submission's state; the byte sources, JSON lines and Parquet readers are
//! in their own modules (`object_reader`, `jsonl`, `parquet_source`, `csv`).

use std::io::BufReader;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use object_store::ObjectStoreExt;
use pmm_catalog::{Catalog, DatasetContract, SubmissionManifest};
use serde::{Deserialize, Serialize};

use crate::csv::READ_BUFFER;
use crate::discover::{FileFormat, SourceObject, SubmissionFiles};
use crate::issue::Rule;
use crate::issue::{Severity, ValidationIssue};
use crate::jsonl::read_jsonl;
use crate::limits::DecompressedLimit;
use crate::object_reader::{GzipReader, ObjectReader, OpenFailure, get_as_found};
use crate::parquet_source::read_parquet;
use crate::schema::table_schema;
use crate::stage::{
    EntryKind, InputObject, ReadSettings, StagedEntry, StagedFile, StagingArea, fingerprint, now,
};
use crate::validate::{DatasetOutcome, DatasetValidator};
use crate::{Error, Result, read_csv};
use pmm_store::StoreRoot;

/// Rows per batch for Parquet and JSONL.
pub(crate) const BATCH_ROWS: usize = 65_536;

/// How a run came by an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputStatus {
    /// Read, validated and staged by this run.
    Read,
    /// Unchanged since a staged entry was made: taken from staging, not opened.
    Reused,
    /// Not examined: one of two files for one dataset, or part of a submission whose
    /// manifest was rejected.
    Skipped,
}

/// One input of a submission, as the run manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The object.
    #[serde(flatten)]
    pub object: InputObject,
    /// Read, reused or skipped.
    pub status: InputStatus,
    /// Its fingerprint, when it was read or reused.
    pub fingerprint: Option<String>,
    /// Its staged entry, relative to the staging location (none when nothing was kept: the
    /// store failed while it was read, or it was skipped).
    pub staged: Option<String>,
}

/// One dataset of a submission: what validation found, and where its valid rows are staged.
#[derive(Debug, Clone)]
pub struct StagedDataset {
    /// Counts, issues, accepted or not.
    pub outcome: DatasetOutcome,
    /// The staged Parquet files of its valid rows (none when rejected or empty).
    pub files: Vec<StagedFile>,
    /// The fingerprint of the input it was read from (none for two files of one dataset).
    pub fingerprint: Option<String>,
    /// Where the reading thread's time went (zero when nothing was read).
    pub times: ReadTimes,
}

/// Where a reading thread's time went for one dataset file, or summed over many (a run's
/// phase timings give the sum over every file: thread seconds, not wall time).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadTimes {
    /// Fetching the file and decoding it into batches (all but the two below).
    pub decoding: Duration,
    /// Checking the batches (types, rules, keys) and leaving out invalid rows.
    pub validating: Duration,
    /// Encoding the valid rows into staged Parquet files and storing them.
    pub staging: Duration,
}

impl std::ops::AddAssign for ReadTimes {
    fn add_assign(&mut self, other: Self) {
        self.decoding += other.decoding;
        self.validating += other.validating;
        self.staging += other.staging;
    }
}

/// Everything read from one submission.
#[derive(Debug)]
pub struct SubmissionOutcome {
    /// Member code.
    pub member: String,
    /// The submission's year.
    pub year: i32,
    /// The manifest, when present and valid.
    pub manifest: Option<SubmissionManifest>,
    /// Why the whole submission was rejected, if it was.
    pub rejected: Option<String>,
    /// One outcome per dataset file read (or rejected).
    pub datasets: Vec<StagedDataset>,
    /// Issues about the submission as a whole (its manifest).
    pub issues: Vec<ValidationIssue>,
    /// Every object of the submission, for the run manifest.
    pub inputs: Vec<InputRecord>,
    /// The staged entries reused, as they were found: a run puts back any that `pmm gc` took
    /// in the instant before the run's lease stopped it ([`StagingArea::restore`]).
    pub reused: Vec<StagedEntry>,
}

/// Reads submissions from a source into a staging area.
#[derive(Debug, Clone)]
pub struct SubmissionReader {
    /// Where the submissions are.
    pub source: StoreRoot,
    /// Where validated data is staged and looked up.
    pub staging: StagingArea,
    /// The catalog whose contracts the files are read against.
    pub catalog: Arc<Catalog>,
    /// Validation settings.
    pub settings: ReadSettings,
}

impl SubmissionReader {
    /// Reads, validates and stages one submission, reusing what is staged.
    pub async fn read(&self, files: &SubmissionFiles) -> Result<SubmissionOutcome> {
        let mut outcome = SubmissionOutcome {
            member: files.member.clone(),
            year: files.year,
            manifest: None,
            rejected: None,
            datasets: Vec::new(),
            issues: Vec::new(),
            inputs: Vec::new(),
            reused: Vec::new(),
        };
        if let Some(object) = &files.manifest {
            let (record, manifest) = self.manifest(object, files, &mut outcome.reused).await?;
            outcome.inputs.push(record);
            match manifest {
                Ok(manifest) => outcome.manifest = Some(manifest),
                Err(messages) => {
                    for (rule, message) in messages {
                        outcome.issues.push(ValidationIssue {
                            member: files.member.clone(),
                            year: files.year,
                            dataset: None,
                            file: Some(crate::text::shown_path(&object.relative)),
                            row: None,
                            column: None,
                            rule,
                            severity: Severity::Error,
                            message: crate::text::shown_within(&message),
                            count: 1,
                        });
                    }
                    outcome.rejected = Some("its manifest.yaml is invalid".into());
                    for candidates in files.datasets.values() {
                        outcome
                            .inputs
                            .extend(candidates.iter().map(|(o, _)| skipped(o)));
                    }
                    return Ok(outcome);
                }
            }
        }
        for (dataset, candidates) in &files.datasets {
            let Some(contract) = self.catalog.dataset(dataset) else {
                continue;
            };
            match candidates.as_slice() {
                [(object, format)] => {
                    let (record, staged) = self
                        .dataset(
                            object,
                            *format,
                            contract,
                            &files.member,
                            files.year,
                            &mut outcome.reused,
                        )
                        .await?;
                    outcome.inputs.push(record);
                    outcome.datasets.push(staged);
                }
                many => {
                    let names: Vec<&str> = many.iter().map(|(o, _)| o.name()).collect();
                    let file = many
                        .first()
                        .map(|(o, _)| o.relative.clone())
                        .unwrap_or_default();
                    let mut nothing = Vec::new();
                    let mut validator = DatasetValidator::new(
                        contract,
                        &files.member,
                        files.year,
                        &file,
                        &mut nothing,
                    );
                    validator.reject(
                        Rule::Ambiguous,
                        None,
                        format!(
                            "{} files for dataset {dataset}: {}; submit one file per dataset",
                            names.len(),
                            names.join(", ")
                        ),
                    );
                    outcome.datasets.push(StagedDataset {
                        outcome: validator.finish(self.settings.max_invalid_row_fraction),
                        files: Vec::new(),
                        fingerprint: None,
                        times: ReadTimes::default(),
                    });
                    outcome.inputs.extend(many.iter().map(|(o, _)| skipped(o)));
                }
            }
        }
        Ok(outcome)
    }

    /// One dataset file: from its staged entry, or read, validated and staged now.
    async fn dataset(
        &self,
        object: &SourceObject,
        format: FileFormat,
        contract: &DatasetContract,
        member: &str,
        year: i32,
        reused: &mut Vec<StagedEntry>,
    ) -> Result<(InputRecord, StagedDataset)> {
        let fingerprint = fingerprint(
            &self.source.display,
            object,
            member,
            year,
            Some(contract),
            &self.settings,
        );
        let entry_path = StagingArea::entry_path(member, year, &contract.name, &fingerprint);
        if let Some(entry) = self.staging.lookup(&entry_path).await? {
            reused.push(entry.clone());
            let files = entry.files.clone();
            let staged = StagedDataset {
                outcome: entry.outcome(),
                files,
                fingerprint: Some(fingerprint.clone()),
                times: ReadTimes::default(),
            };
            let record = InputRecord {
                object: InputObject::from(object),
                status: InputStatus::Reused,
                fingerprint: Some(fingerprint),
                staged: Some(entry_path),
            };
            return Ok((record, staged));
        }
        let staged = read_dataset(
            &self.source,
            &self.staging,
            object,
            format,
            contract,
            member,
            year,
            &self.settings,
            &fingerprint,
        )
        .await?;
        let kept = if staged.outcome.transient {
            None
        } else {
            let entry = StagedEntry {
                format: crate::stage::STAGING_FORMAT,
                fingerprint: fingerprint.clone(),
                kind: EntryKind::Dataset,
                member: member.to_string(),
                year,
                dataset: Some(contract.name.clone()),
                input: InputObject::from(object),
                accepted: staged.outcome.accepted,
                rows_read: staged.outcome.rows_read,
                rows_invalid: staged.outcome.rows_invalid,
                files: staged.files.clone(),
                issues: staged.outcome.issues.clone(),
                text: None,
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                staged_at: now(),
            };
            Some(self.staging.put_entry(&entry).await?)
        };
        let record = InputRecord {
            object: InputObject::from(object),
            status: InputStatus::Read,
            fingerprint: Some(fingerprint),
            staged: kept,
        };
        Ok((record, staged))
    }

    /// The manifest: its text from staging or from the store, then checked against the
    /// catalog (every run checks it again: the catalog may have changed).
    async fn manifest(
        &self,
        object: &SourceObject,
        files: &SubmissionFiles,
        reused: &mut Vec<StagedEntry>,
    ) -> Result<(
        InputRecord,
        std::result::Result<SubmissionManifest, Vec<(Rule, String)>>,
    )> {
        let limit = self.settings.limits.max_manifest_bytes;
        if object.size > limit {
            let record = InputRecord {
                object: InputObject::from(object),
                status: InputStatus::Read,
                fingerprint: None,
                staged: None,
            };
            let message = format!(
                "the manifest is {} bytes, more than {} (limits.max_manifest_bytes): it is not read",
                object.size,
                crate::limits::human(limit)
            );
            return Ok((record, Err(vec![(Rule::MaxManifestBytes, message)])));
        }
        let fingerprint = fingerprint(
            &self.source.display,
            object,
            &files.member,
            files.year,
            None,
            &self.settings,
        );
        let entry_path = StagingArea::entry_path(
            &files.member,
            files.year,
            pmm_store::layout::staging::MANIFEST,
            &fingerprint,
        );
        let (text, status, staged) = match self.staging.lookup(&entry_path).await? {
            Some(entry) => {
                reused.push(entry.clone());
                (entry.text, InputStatus::Reused, Some(entry_path))
            }
            None => {
                // The manifest discovery saw (its size was checked against the limit): a
                // manifest replaced since is not read whole.
                let bytes = match get_as_found(self.source.store.as_ref(), object).await {
                    Ok(result) => result.bytes().await.map_err(OpenFailure::Store),
                    Err(failure) => Err(failure),
                };
                let bytes = bytes.map_err(|failure| match failure {
                    OpenFailure::Changed(changed) => (Rule::ChangedWhileRead, changed.to_string()),
                    OpenFailure::Store(e) => {
                        (Rule::Unreadable, format!("cannot read the manifest: {e}"))
                    }
                });
                let bytes = match bytes {
                    Ok(bytes) => bytes,
                    Err(problem) => {
                        // A store failure or a change: nothing is staged, the next run tries
                        // again.
                        let record = InputRecord {
                            object: InputObject::from(object),
                            status: InputStatus::Read,
                            fingerprint: Some(fingerprint),
                            staged: None,
                        };
                        return Ok((record, Err(vec![problem])));
                    }
                };
                let text = String::from_utf8(bytes.to_vec()).ok();
                let entry = StagedEntry {
                    format: crate::stage::STAGING_FORMAT,
                    fingerprint: fingerprint.clone(),
                    kind: EntryKind::Manifest,
                    member: files.member.clone(),
                    year: files.year,
                    dataset: None,
                    input: InputObject::from(object),
                    accepted: text.is_some(),
                    rows_read: 0,
                    rows_invalid: 0,
                    files: Vec::new(),
                    issues: Vec::new(),
                    text: text.clone(),
                    tool_version: env!("CARGO_PKG_VERSION").to_string(),
                    staged_at: now(),
                };
                let staged = self.staging.put_entry(&entry).await?;
                (text, InputStatus::Read, Some(staged))
            }
        };
        let record = InputRecord {
            object: InputObject::from(object),
            status,
            fingerprint: Some(fingerprint),
            staged,
        };
        let Some(text) = text else {
            return Ok((
                record,
                Err(vec![(
                    Rule::Manifest,
                    "the manifest is not valid UTF-8".to_string(),
                )]),
            ));
        };
        let checked = SubmissionManifest::parse(
            FsPath::new(&object.relative),
            &text,
            &files.member,
            files.year,
            &self.catalog,
        )
        .map_err(|problems| {
            problems
                .into_sorted()
                .iter()
                .map(|p| (Rule::Manifest, p.to_string()))
                .collect()
        });
        Ok((record, checked))
    }
}

/// An input that was not examined.
fn skipped(object: &SourceObject) -> InputRecord {
    InputRecord {
        object: InputObject::from(object),
        status: InputStatus::Skipped,
        fingerprint: None,
        staged: None,
    }
}

/// Reads one dataset file, validates it and stages its valid rows under `fingerprint`.
#[allow(clippy::too_many_arguments)]
pub async fn read_dataset(
    root: &StoreRoot,
    staging: &StagingArea,
    object: &SourceObject,
    format: FileFormat,
    contract: &DatasetContract,
    member: &str,
    year: i32,
    settings: &ReadSettings,
    fingerprint: &str,
) -> Result<StagedDataset> {
    let job = StagingJob {
        staging: staging.clone(),
        contract: contract.clone(),
        member: member.to_string(),
        year,
        file: object.relative.clone(),
        fingerprint: fingerprint.to_string(),
        max_invalid_row_fraction: settings.max_invalid_row_fraction,
        schema: None,
        copy: true,
    };
    caught(job.clone(), read_with(root, object, format, job, settings)).await
}

/// `read`, with a panic in the part of reading that runs on the runtime (the Parquet footer's
/// decoding, the object's opening) caught as the reading thread's is in
/// `StagingJob::validate`: it rejects this dataset only, and nothing of it is kept.
async fn caught(
    job: StagingJob,
    read: impl Future<Output = Result<StagedDataset>>,
) -> Result<StagedDataset> {
    match std::panic::AssertUnwindSafe(read).catch_unwind().await {
        Ok(read) => read,
        Err(panic) => {
            let message = bug_message(panic.as_ref());
            job.run(move |validator| {
                validator.reject_bug(message);
                Ok(())
            })
            .await
        }
    }
}

/// The message of a dataset whose reading panicked (a bug in pmm or in a library it uses).
fn bug_message(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    format!(
        "reading this file stopped on a bug in pmm or a library it uses ({}); \
         the file is not used, and will be read again by the next run: \
         please report it with the file",
        crate::text::shown_within(&what)
    )
}

/// The body of [`read_dataset`], by format.
async fn read_with(
    root: &StoreRoot,
    object: &SourceObject,
    format: FileFormat,
    job: StagingJob,
    settings: &ReadSettings,
) -> Result<StagedDataset> {
    match format {
        FileFormat::Parquet => read_parquet(root, object, job, settings.limits).await,
        FileFormat::Csv | FileFormat::CsvGz | FileFormat::Jsonl => {
            let stream = get_as_found(root.store.as_ref(), object)
                .await
                .map(|result| ObjectReader::open(result, object));
            let limits = settings.limits;
            job.run(move |validator| {
                let reader = match stream {
                    Ok(reader) => reader,
                    Err(OpenFailure::Store(e)) => {
                        validator.reject_transient(format!("cannot read the object: {e}"));
                        return Ok(());
                    }
                    Err(OpenFailure::Changed(changed)) => {
                        validator.reject_changed(changed.to_string());
                        return Ok(());
                    }
                };
                match format {
                    FileFormat::CsvGz => {
                        let gzip = GzipReader(flate2::read::MultiGzDecoder::new(
                            BufReader::with_capacity(READ_BUFFER, reader),
                        ));
                        read_csv(DecompressedLimit::new(gzip, &limits), validator, &limits)
                    }
                    FileFormat::Jsonl => read_jsonl(reader, validator, &limits),
                    _ => read_csv(reader, validator, &limits),
                }
            })
            .await
        }
    }
}

/// A staging area in memory, for fixture cases and tests: the run's own staging and reading
/// path, with nothing written to disk.
pub fn memory_staging() -> Result<StagingArea> {
    let url = url::Url::parse("memory:///")
        .map_err(|e| Error::Internal(format!("the in-memory store's URL: {e}")))?;
    Ok(StagingArea {
        root: StoreRoot {
            store: Arc::new(object_store::memory::InMemory::new()),
            prefix: object_store::path::Path::from("staging"),
            display: "memory://staging".into(),
            url,
        },
    })
}

/// Validates and stages a text file held in memory (CSV, or JSONL by `name`'s extension) as
/// the file `name` of `member`'s submission for `year`: the text is stored in the staging
/// area's store and read back through [`read_dataset`], as a submitted file is.
pub async fn stage_text(
    staging: &StagingArea,
    contract: &DatasetContract,
    member: &str,
    year: i32,
    name: &str,
    text: &str,
    settings: &ReadSettings,
) -> Result<StagedDataset> {
    let source = StoreRoot {
        prefix: staging.root.key("inputs"),
        display: "memory://inputs".into(),
        ..staging.root.clone()
    };
    // Laid out as a submission, so the file is named as in a run.
    let key = source.key(&pmm_store::layout::source::submission(member, year, name));
    let stored = async {
        source
            .store
            .put(&key, Bytes::copy_from_slice(text.as_bytes()).into())
            .await?;
        source.store.head(&key).await
    }
    .await
    .map_err(|e| Error::staging(format!("storing {name} in memory"), e))?;
    let object = SourceObject::new(stored, &source);
    let format = FileFormat::split(name).map_or(FileFormat::Csv, |(_, f)| f);
    let fingerprint = fingerprint(
        &source.display,
        &object,
        member,
        year,
        Some(contract),
        settings,
    );
    read_dataset(
        &source,
        staging,
        &object,
        format,
        contract,
        member,
        year,
        settings,
        &fingerprint,
    )
    .await
}

/// Everything a blocking thread needs to validate one file and stage its rows.
#[derive(Clone)]
pub(crate) struct StagingJob {
    pub(crate) staging: StagingArea,
    pub(crate) contract: DatasetContract,
    pub(crate) member: String,
    pub(crate) year: i32,
    pub(crate) file: String,
    pub(crate) fingerprint: String,
    pub(crate) max_invalid_row_fraction: f64,
    /// The staged file's schema when it is not the table's (see `parquet_source::CopyPlan`).
    pub(crate) schema: Option<datafusion::arrow::datatypes::SchemaRef>,
    /// Whether row groups of a Parquet input may be staged by copying their chunks (false
    /// only in tests that compare with encoding every row).
    pub(crate) copy: bool,
}

impl StagingJob {
    /// Runs `body` over a validator on a blocking thread of the runtime (tokio gives them a
    /// known stack, 2 MiB unless the runtime says otherwise), the valid rows going to a staged
    /// Parquet file that is kept when the dataset is accepted and discarded otherwise. Every
    /// parser that recurses is bounded before it recurses (`limits.max_nesting`, at most 64;
    /// the footer walk of `parquet_layout`), so no file reaches that stack's end: a stack
    /// overflow cannot be caught (it ends the process), which is why the bounds come first. A
    /// panic can be, and is (see [`Self::validate`]).
    pub(crate) async fn run<F>(self, body: F) -> Result<StagedDataset>
    where
        F: FnOnce(&mut DatasetValidator<'_>) -> Result<()> + Send + 'static,
    {
        tokio::task::spawn_blocking(move || self.validate(body))
            .await
            .map_err(|e| Error::Internal(format!("a reading task failed: {e}")))?
    }

    /// The body of [`Self::run`], on the reading thread. A panic while reading (a bug in pmm
    /// or in a parser it uses, set off by this file) rejects this dataset, names the bug, and
    /// leaves nothing staged; the run goes on.
    fn validate<F>(self, body: F) -> Result<StagedDataset>
    where
        F: FnOnce(&mut DatasetValidator<'_>) -> Result<()>,
    {
        let mut writer = self.staging.writer(
            &self.member,
            self.year,
            &self.contract,
            &self.fingerprint,
            self.schema
                .clone()
                .unwrap_or_else(|| table_schema(&self.contract)),
        );
        let clock = Instant::now();
        let (outcome, checked) = {
            let mut validator = DatasetValidator::new(
                &self.contract,
                &self.member,
                self.year,
                &self.file,
                &mut writer,
            );
            let read =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut validator)));
            let read = match read {
                Ok(read) => read,
                Err(panic) => {
                    validator.reject_bug(bug_message(panic.as_ref()));
                    Ok(())
                }
            };
            let checked = validator.times();
            let outcome = validator.finish(self.max_invalid_row_fraction);
            (read.map(|()| outcome), checked)
        };
        let read_at = Instant::now();
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                writer.abort();
                return Err(e);
            }
        };
        let files = if outcome.accepted {
            writer.commit()?.into_iter().collect()
        } else {
            writer.abort();
            Vec::new()
        };
        // Decoding is what the reading thread did besides checking and staging, unless other
        // threads decoded (a CSV file read on every core), which counted their own time.
        let rest = (read_at - clock).saturating_sub(checked.validating + checked.staging);
        let times = ReadTimes {
            decoding: if checked.decoding.is_zero() {
                rest
            } else {
                checked.decoding
            },
            staging: checked.staging + read_at.elapsed(),
            ..checked
        };
        Ok(StagedDataset {
            outcome,
            files,
            fingerprint: Some(self.fingerprint),
            times,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use futures::StreamExt;
    use pmm_catalog::Catalog;

    use super::*;

    /// The staff contract's outcome and valid rows for `chunks` streamed through an
    /// [`ObjectReader`].
    async fn read_staff(
        chunks: Vec<object_store::Result<Bytes>>,
        max_invalid: f64,
    ) -> (
        DatasetOutcome,
        Vec<datafusion::arrow::record_batch::RecordBatch>,
    ) {
        let catalog =
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators")).unwrap();
        let reader = ObjectReader::spawn(futures::stream::iter(chunks).boxed(), u64::MAX);
        tokio::task::spawn_blocking(move || {
            let contract = catalog.dataset("staff").unwrap();
            let mut rows = Vec::new();
            let mut validator = DatasetValidator::new(contract, "XA", 2024, "staff.csv", &mut rows);
            read_csv(
                BufReader::new(reader),
                &mut validator,
                &pmm_catalog::Limits::default(),
            )
            .unwrap();
            let outcome = validator.finish(max_invalid);
            (outcome, rows)
        })
        .await
        .unwrap()
    }

    /// Regression: a download that breaks midway rejects the dataset, naming the last record
    /// read, instead of passing off the first part as the whole file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_that_breaks_midway_rejects_the_dataset() {
        let header = "unit,headcount,female_headcount,training_hours,integrity_cases,budget\n";
        let chunks: Vec<object_store::Result<Bytes>> = vec![
            Ok(Bytes::from(format!("{header}U1,10,5,100,1,50000\n"))),
            Ok(Bytes::from_static(b"U2,10,5,100,1,50000\nU3,1")),
            Err(object_store::Error::Generic {
                store: "test",
                source: "connection reset".into(),
            }),
        ];
        let (outcome, _) = read_staff(chunks, 1.0).await;
        assert!(!outcome.accepted);
        assert!(
            outcome.transient,
            "a broken download is not kept in staging: the next run reads the file again"
        );
        let issue = &outcome.issues[0];
        assert_eq!(issue.rule, "unreadable");
        assert!(
            issue.message.contains("reading the object failed")
                && issue.message.contains("connection reset"),
            "{}",
            issue.message
        );
    }

    /// Regression: a compressed download that breaks midway is reported as a failed
    /// download, not as a corrupt gzip file (which would blame the member).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_broken_gzip_download_is_not_called_a_bad_gzip_file() {
        use std::io::Write;
        let mut text =
            String::from("unit,headcount,female_headcount,training_hours,integrity_cases,budget\n");
        for i in 0..20_000 {
            text.push_str(&format!("U{i},10,5,100,1,50000\n"));
        }
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        let gz = encoder.finish().unwrap();
        let chunks: Vec<object_store::Result<Bytes>> = vec![
            Ok(Bytes::copy_from_slice(&gz[..gz.len() / 2])),
            Err(object_store::Error::Generic {
                store: "test",
                source: "connection reset".into(),
            }),
        ];
        let catalog =
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators")).unwrap();
        let reader = ObjectReader::spawn(futures::stream::iter(chunks).boxed(), u64::MAX);
        let outcome = tokio::task::spawn_blocking(move || {
            let contract = catalog.dataset("staff").unwrap();
            let mut rows = Vec::new();
            let mut validator =
                DatasetValidator::new(contract, "XA", 2024, "staff.csv.gz", &mut rows);
            let gzip = GzipReader(flate2::read::MultiGzDecoder::new(BufReader::new(reader)));
            read_csv(
                BufReader::new(gzip),
                &mut validator,
                &pmm_catalog::Limits::default(),
            )
            .unwrap();
            validator.finish(1.0)
        })
        .await
        .unwrap();
        let message = &outcome.issues[0].message;
        assert!(message.contains("reading the object failed"), "{message}");
        assert!(!message.contains("gzip"), "{message}");
        assert!(outcome.transient);
    }

    /// A panic while one file is read (here, set off on purpose) rejects that dataset with
    /// an issue that says so, keeps nothing staged, and leaves the caller running.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_while_reading_rejects_only_that_dataset() {
        let catalog =
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators")).unwrap();
        let job = StagingJob {
            staging: memory_staging().unwrap(),
            contract: catalog.dataset("staff").unwrap().clone(),
            member: "XA".into(),
            year: 2024,
            file: "member=XA/year=2024/staff.csv".into(),
            fingerprint: "f".repeat(64),
            max_invalid_row_fraction: 0.05,
            schema: None,
            copy: true,
        };
        let on_thread = job
            .clone()
            .run(|_| -> Result<()> { panic!("a parser gave up") })
            .await
            .expect("a panic is the dataset's issue, not an error of the run");
        // The same on the runtime, before the reading thread (round 3: a negative column
        // chunk size panicked in the parquet crate there and ended the run).
        let on_runtime = caught(job, async { panic!("a parser gave up") })
            .await
            .expect("a panic is the dataset's issue, not an error of the run");
        for staged in [on_thread, on_runtime] {
            a_bug_rejects_only_the_dataset(staged);
        }
    }

    fn a_bug_rejects_only_the_dataset(staged: StagedDataset) {
        assert!(!staged.outcome.accepted);
        assert!(
            staged.outcome.transient,
            "nothing kept: the next run reads it again"
        );
        assert!(staged.files.is_empty());
        let issue = &staged.outcome.issues[0];
        assert_eq!(issue.rule, Rule::Unreadable);
        assert!(
            issue.message.contains("a bug in pmm") && issue.message.contains("a parser gave up"),
            "{}",
            issue.message
        );
    }

    /// A file split across many small chunks parses as if read whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunk_boundaries_do_not_matter() {
        let text = "\u{feff}unit,headcount,female_headcount,training_hours,integrity_cases,budget\n\
                    U1,10,5,100,1,50000\n\"U2\",20,5,100,1,60000\n";
        let chunks: Vec<object_store::Result<Bytes>> = text
            .as_bytes()
            .chunks(3)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let (outcome, rows) = read_staff(chunks, 0.0).await;
        assert!(outcome.accepted, "{:?}", outcome.issues);
        assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    }
}
