//! Reading one submission: its manifest, then each dataset file in its format, validated as
//! it is read. A problem with one file becomes an issue on that dataset; nothing here stops
//! the run.

use std::io::{BufRead, BufReader, Read};
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::json::ReaderBuilder as JsonReaderBuilder;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use pmm_catalog::{Catalog, DatasetContract, SubmissionManifest};

use crate::csv::feed;
use crate::discover::{FileFormat, SourceObject, SubmissionFiles};
use crate::issue::{Severity, ValidationIssue};
use crate::parquet_source::StoreParquetReader;
use crate::store::StoreRoot;
use crate::validate::{DatasetOutcome, DatasetValidator};
use crate::{Error, Result, read_csv};

/// Rows per batch for Parquet and JSONL.
const BATCH_ROWS: usize = 65_536;

/// An input object as the run manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputObject {
    /// Path relative to the source.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// The store's ETag, when it gives one.
    pub e_tag: Option<String>,
    /// The store's object version, when it gives one.
    pub version: Option<String>,
}

impl From<&SourceObject> for InputObject {
    fn from(o: &SourceObject) -> Self {
        InputObject {
            path: o.relative.clone(),
            size: o.size,
            e_tag: o.e_tag.clone(),
            version: o.version.clone(),
        }
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
    pub datasets: Vec<DatasetOutcome>,
    /// Issues about the submission as a whole (its manifest).
    pub issues: Vec<ValidationIssue>,
    /// Every object of the submission, for the run manifest.
    pub inputs: Vec<InputObject>,
}

/// Reads and validates one submission.
pub async fn read_submission(
    root: &StoreRoot,
    files: &SubmissionFiles,
    catalog: &Catalog,
    max_invalid_row_fraction: f64,
) -> Result<SubmissionOutcome> {
    let mut outcome = SubmissionOutcome {
        member: files.member.clone(),
        year: files.year,
        manifest: None,
        rejected: None,
        datasets: Vec::new(),
        issues: Vec::new(),
        inputs: files.manifest.iter().map(InputObject::from).collect(),
    };
    for candidates in files.datasets.values() {
        outcome
            .inputs
            .extend(candidates.iter().map(|(o, _)| InputObject::from(o)));
    }
    if let Some(object) = &files.manifest {
        match read_manifest(root, object, files, catalog).await {
            Ok(manifest) => outcome.manifest = Some(manifest),
            Err(messages) => {
                for message in messages {
                    outcome.issues.push(ValidationIssue {
                        member: files.member.clone(),
                        year: files.year,
                        dataset: None,
                        file: Some(object.relative.clone()),
                        row: None,
                        column: None,
                        rule: "manifest".into(),
                        severity: Severity::Error,
                        message,
                        count: 1,
                    });
                }
                outcome.rejected = Some("its manifest.yaml is invalid".into());
                return Ok(outcome);
            }
        }
    }
    for (dataset, candidates) in &files.datasets {
        let Some(contract) = catalog.dataset(dataset) else {
            continue;
        };
        let result = match candidates.as_slice() {
            [(object, format)] => {
                read_dataset(
                    root,
                    object,
                    *format,
                    contract,
                    &files.member,
                    files.year,
                    max_invalid_row_fraction,
                )
                .await?
            }
            many => {
                let names: Vec<&str> = many.iter().map(|(o, _)| o.name()).collect();
                let file = many
                    .first()
                    .map(|(o, _)| o.relative.clone())
                    .unwrap_or_default();
                let mut validator =
                    DatasetValidator::new(contract, &files.member, files.year, &file);
                validator.reject(
                    "ambiguous",
                    None,
                    format!(
                        "{} files for dataset {dataset}: {}; submit one file per dataset",
                        names.len(),
                        names.join(", ")
                    ),
                );
                validator.finish(max_invalid_row_fraction)
            }
        };
        outcome.datasets.push(result);
    }
    Ok(outcome)
}

async fn read_manifest(
    root: &StoreRoot,
    object: &SourceObject,
    files: &SubmissionFiles,
    catalog: &Catalog,
) -> std::result::Result<SubmissionManifest, Vec<String>> {
    let bytes = match root.store.get(&object.key).await {
        Ok(result) => result.bytes().await,
        Err(e) => Err(e),
    }
    .map_err(|e| vec![format!("cannot read the manifest: {e}")])?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| vec!["the manifest is not valid UTF-8".to_string()])?;
    SubmissionManifest::parse(
        FsPath::new(&object.relative),
        &text,
        &files.member,
        files.year,
        catalog,
    )
    .map_err(|problems| {
        problems
            .into_sorted()
            .iter()
            .map(ToString::to_string)
            .collect()
    })
}

/// Reads one dataset file into validated batches.
pub async fn read_dataset(
    root: &StoreRoot,
    object: &SourceObject,
    format: FileFormat,
    contract: &DatasetContract,
    member: &str,
    year: i32,
    max_invalid_row_fraction: f64,
) -> Result<DatasetOutcome> {
    let text = match format {
        FileFormat::Parquet => {
            return read_parquet(
                root,
                object,
                contract,
                member,
                year,
                max_invalid_row_fraction,
            )
            .await;
        }
        FileFormat::Csv => TextFormat::Csv,
        FileFormat::CsvGz => TextFormat::CsvGz,
        FileFormat::Jsonl => TextFormat::Jsonl,
    };
    let contract = contract.clone();
    let (member, file) = (member.to_string(), object.relative.clone());
    let stream = match root.store.get(&object.key).await {
        Ok(result) => Ok(ObjectReader::open(result)),
        Err(e) => Err(e),
    };
    let parse = move || -> Result<DatasetOutcome> {
        let mut validator = DatasetValidator::new(&contract, &member, year, &file);
        match stream {
            Err(e) => validator.reject("unreadable", None, format!("cannot read the object: {e}")),
            Ok(reader) => match text {
                TextFormat::Csv => read_csv(
                    BufReader::with_capacity(READ_BUFFER, reader),
                    &mut validator,
                )?,
                TextFormat::CsvGz => {
                    let gzip = GzipReader(flate2::read::MultiGzDecoder::new(
                        BufReader::with_capacity(READ_BUFFER, reader),
                    ));
                    read_csv(BufReader::with_capacity(READ_BUFFER, gzip), &mut validator)?
                }
                TextFormat::Jsonl => read_jsonl(
                    BufReader::with_capacity(READ_BUFFER, reader),
                    &mut validator,
                )?,
            },
        }
        Ok(validator.finish(max_invalid_row_fraction))
    };
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|e| Error::Internal(format!("a reading task failed: {e}")))?
}

/// Bytes read from an object at a time by the parsers.
const READ_BUFFER: usize = 1 << 20;

/// Chunks of an object in flight between the download and the parser: with the chunk sizes
/// of object stores (8 KiB to 1 MiB), a few MiB at most per file being read.
const CHUNKS_IN_FLIGHT: usize = 16;

/// A blocking reader over an object. A local file is read directly (object_store hands over
/// the open file). A remote object's byte stream is downloaded by an async task and handed
/// over a bounded channel. Either way a large file is parsed as it arrives and never held
/// whole in memory.
enum ObjectReader {
    /// A local file, opened by the store.
    File(std::fs::File),
    /// Chunks of a remote object.
    Stream {
        chunks: tokio::sync::mpsc::Receiver<object_store::Result<Bytes>>,
        current: Bytes,
    },
}

impl ObjectReader {
    fn open(result: object_store::GetResult) -> Self {
        match result.payload {
            // A whole-object get: the file is at its start.
            object_store::GetResultPayload::File(file, _) => ObjectReader::File(file),
            object_store::GetResultPayload::Stream(stream) => ObjectReader::spawn(stream),
        }
    }

    fn spawn(mut stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>) -> Self {
        let (sender, chunks) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
        tokio::spawn(async move {
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                // The parser stopped (a rejected dataset): stop downloading.
                if sender.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        ObjectReader::Stream {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let (chunks, current) = match self {
            ObjectReader::File(file) => return file.read(buf),
            ObjectReader::Stream { chunks, current } => (chunks, current),
        };
        while current.is_empty() {
            match chunks.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => *current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(DownloadFailed(e))),
            }
        }
        let n = buf.len().min(current.len());
        buf[..n].copy_from_slice(&current.split_to(n));
        Ok(n)
    }
}

/// A download that failed midway, carried through the parsers' `io::Error`s.
#[derive(Debug, thiserror::Error)]
#[error("reading the object failed: {0}")]
struct DownloadFailed(object_store::Error);

/// A gzip decoder whose own errors say that the file is not valid gzip (a failed download
/// passes through as it is).
struct GzipReader<R>(flate2::read::MultiGzDecoder<R>);

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.get_ref()
                .is_some_and(|inner| inner.is::<DownloadFailed>())
            {
                e
            } else {
                std::io::Error::new(e.kind(), format!("not a valid gzip file: {e}"))
            }
        })
    }
}

/// The formats parsed as a stream on a blocking thread.
#[derive(Clone, Copy)]
enum TextFormat {
    Csv,
    CsvGz,
    Jsonl,
}

/// JSONL: one JSON object per line, keys named as the contract's columns. Values are read as
/// text (numbers and booleans too) and converted like CSV values.
fn read_jsonl(data: impl BufRead, validator: &mut DatasetValidator<'_>) -> Result<()> {
    let names: Vec<String> = validator
        .contract()
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    validator.check_columns(&names);
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let reader = JsonReaderBuilder::new(schema)
        .with_coerce_primitive(true)
        .with_batch_size(BATCH_ROWS)
        .build(data);
    let reader = match reader {
        Ok(r) => r,
        Err(e) => {
            validator.reject(
                "unreadable",
                None,
                format!("not readable as JSON lines: {e}"),
            );
            return Ok(());
        }
    };
    feed(reader, validator, |e| {
        format!("not readable as JSON lines: {e}")
    })
}

/// Rejects a dataset whose file is not readable as Parquet.
fn not_parquet(
    mut validator: DatasetValidator<'_>,
    error: &dyn std::fmt::Display,
    max_invalid_row_fraction: f64,
) -> DatasetOutcome {
    validator.reject(
        "unreadable",
        None,
        format!("not a readable Parquet file: {error}"),
    );
    validator.finish(max_invalid_row_fraction)
}

/// Parquet: read with the store's range requests, only the contract's columns, natively typed.
async fn read_parquet(
    root: &StoreRoot,
    object: &SourceObject,
    contract: &DatasetContract,
    member: &str,
    year: i32,
    max_invalid_row_fraction: f64,
) -> Result<DatasetOutcome> {
    let mut validator = DatasetValidator::new(contract, member, year, &object.relative);
    let reader = StoreParquetReader::new(root.store.clone(), object.key.clone(), object.size);
    let builder = match ParquetRecordBatchStreamBuilder::new(reader).await {
        Ok(b) => b,
        Err(e) => return Ok(not_parquet(validator, &e, max_invalid_row_fraction)),
    };
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if !validator.check_columns(&names) {
        return Ok(validator.finish(max_invalid_row_fraction));
    }
    let wanted: Vec<String> = names
        .iter()
        .filter(|n| contract.column(n).is_some())
        .cloned()
        .collect();
    let mask = ProjectionMask::columns(builder.parquet_schema(), wanted.iter().map(String::as_str));
    validator.use_columns(&wanted);
    let stream = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build();
    let mut stream = match stream {
        Ok(s) => s,
        Err(e) => return Ok(not_parquet(validator, &e, max_invalid_row_fraction)),
    };
    let mut next_record = 1u64;
    while let Some(batch) = stream.next().await {
        match batch {
            Ok(batch) => {
                validator.push_columns(batch.columns(), next_record)?;
                next_record += batch.num_rows() as u64;
                if validator.is_rejected() {
                    break;
                }
            }
            Err(e) => {
                validator.reject(
                    "unreadable",
                    None,
                    format!(
                        "the Parquet file cannot be read past record {}: {e}",
                        next_record.saturating_sub(1)
                    ),
                );
                break;
            }
        }
    }
    Ok(validator.finish(max_invalid_row_fraction))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use futures::StreamExt;
    use pmm_catalog::Catalog;

    use super::*;

    /// The staff contract's outcome for `chunks` streamed through an [`ObjectReader`].
    async fn read_staff(
        chunks: Vec<object_store::Result<Bytes>>,
        max_invalid: f64,
    ) -> DatasetOutcome {
        let catalog =
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators")).unwrap();
        let reader = ObjectReader::spawn(futures::stream::iter(chunks).boxed());
        tokio::task::spawn_blocking(move || {
            let contract = catalog.dataset("staff").unwrap();
            let mut validator = DatasetValidator::new(contract, "XA", 2024, "staff.csv");
            read_csv(BufReader::new(reader), &mut validator).unwrap();
            validator.finish(max_invalid)
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
        let outcome = read_staff(chunks, 1.0).await;
        assert!(!outcome.accepted);
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
        let reader = ObjectReader::spawn(futures::stream::iter(chunks).boxed());
        let outcome = tokio::task::spawn_blocking(move || {
            let contract = catalog.dataset("staff").unwrap();
            let mut validator = DatasetValidator::new(contract, "XA", 2024, "staff.csv.gz");
            let gzip = GzipReader(flate2::read::MultiGzDecoder::new(BufReader::new(reader)));
            read_csv(BufReader::new(gzip), &mut validator).unwrap();
            validator.finish(1.0)
        })
        .await
        .unwrap();
        let message = &outcome.issues[0].message;
        assert!(message.contains("reading the object failed"), "{message}");
        assert!(!message.contains("gzip"), "{message}");
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
        let outcome = read_staff(chunks, 0.0).await;
        assert!(outcome.accepted, "{:?}", outcome.issues);
        assert_eq!(
            outcome.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            2
        );
    }
}
