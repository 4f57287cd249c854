//! Reading one submission: its manifest, then each dataset file in its format, validated as
//! it is read. A problem with one file becomes an issue on that dataset; nothing here stops
//! the run.

use std::io::{Cursor, Read};
use std::path::Path as FsPath;
use std::sync::Arc;

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
    let bytes = match root.store.get(&object.key).await {
        Ok(result) => result.bytes().await,
        Err(e) => Err(e),
    };
    let contract = contract.clone();
    let (member, file) = (member.to_string(), object.relative.clone());
    let parse = move || -> Result<DatasetOutcome> {
        let mut validator = DatasetValidator::new(&contract, &member, year, &file);
        match bytes {
            Err(e) => validator.reject("unreadable", None, format!("cannot read the object: {e}")),
            Ok(bytes) => match text {
                TextFormat::Csv => read_csv(&bytes, &mut validator)?,
                TextFormat::CsvGz => {
                    let mut text = Vec::new();
                    match flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text) {
                        Ok(_) => read_csv(&text, &mut validator)?,
                        Err(e) => validator.reject(
                            "unreadable",
                            None,
                            format!("not a valid gzip file: {e}"),
                        ),
                    }
                }
                TextFormat::Jsonl => read_jsonl(&bytes, &mut validator)?,
            },
        }
        Ok(validator.finish(max_invalid_row_fraction))
    };
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|e| Error::Internal(format!("a reading task failed: {e}")))?
}

/// The formats parsed from the whole object's bytes on a blocking thread.
#[derive(Clone, Copy)]
enum TextFormat {
    Csv,
    CsvGz,
    Jsonl,
}

/// JSONL: one JSON object per line, keys named as the contract's columns. Values are read as
/// text (numbers and booleans too) and converted like CSV values.
fn read_jsonl(data: &[u8], validator: &mut DatasetValidator<'_>) -> Result<()> {
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
        .build(Cursor::new(data));
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
