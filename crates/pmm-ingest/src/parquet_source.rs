//! Parquet submissions: read through `object_store` with range requests (the footer first,
//! then only the byte ranges of the contract's columns), then decoded, validated and staged.
//!
//! Why not `parquet`'s own `ParquetObjectReader`: since parquet 59.2 it is deprecated, and its
//! note says to implement `AsyncFileReader` directly, as here (apache/arrow-rs#10308; tried in
//! this code base, the build warns). This is that implementation, and nothing more.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::errors::{ParquetError, Result};
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryFutureExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::discover::SourceObject;
use crate::issue::Rule;
use crate::read::{BATCH_ROWS, StagedDataset, StagingJob};
use crate::store::StoreRoot;
use crate::validate::DatasetValidator;

/// How much of the file's end to fetch at once for the footer: one request for most files.
const FOOTER_HINT: usize = 64 * 1024;

/// One Parquet object of known size.
pub(crate) struct StoreParquetReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

impl StoreParquetReader {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> Self {
        StoreParquetReader { store, path, size }
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreParquetReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        self.store
            .get_range(&self.path, range)
            .map_err(external)
            .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_metadata_options(options.map(|o| o.metadata_options().clone()))
                .with_prefetch_hint(Some(FOOTER_HINT))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Whether a Parquet error came from the store rather than the file.
fn from_store(e: &ParquetError) -> bool {
    matches!(e, ParquetError::External(_))
}

/// Rejects a dataset whose file is not readable as Parquet (or could not be fetched).
fn not_parquet(validator: &mut DatasetValidator<'_>, error: &ParquetError) {
    if from_store(error) {
        validator.reject_transient(format!("cannot read the object: {error}"));
    } else {
        validator.reject(
            Rule::Unreadable,
            None,
            format!(
                "not a readable Parquet file: {}",
                crate::text::shown_within(&error.to_string())
            ),
        );
    }
}

/// Parquet: read with the store's range requests, only the contract's columns, natively
/// typed; decoded, validated and staged on a blocking thread.
pub(crate) async fn read_parquet(
    root: &StoreRoot,
    object: &SourceObject,
    job: StagingJob,
) -> crate::Result<StagedDataset> {
    let reader = StoreParquetReader::new(root.store.clone(), object.key.clone(), object.size);
    let builder = match ParquetRecordBatchStreamBuilder::new(reader).await {
        Ok(b) => b,
        Err(e) => {
            return job
                .run(move |validator| {
                    not_parquet(validator, &e);
                    Ok(())
                })
                .await;
        }
    };
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let wanted: Vec<String> = names
        .iter()
        .filter(|n| job.contract.column(n).is_some())
        .cloned()
        .collect();
    let mask = ProjectionMask::columns(builder.parquet_schema(), wanted.iter().map(String::as_str));
    let stream = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build();
    let handle = tokio::runtime::Handle::current();
    let max_columns = job.max_columns;
    job.run(move |validator| {
        if names.len() as u64 > max_columns {
            validator.reject(
                Rule::MaxColumns,
                None,
                format!(
                    "the file has {} columns, more than {max_columns} (limits.max_columns): it is not read",
                    names.len()
                ),
            );
            return Ok(());
        }
        if !validator.check_columns(&names) {
            return Ok(());
        }
        validator.use_columns(&wanted);
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                not_parquet(validator, &e);
                return Ok(());
            }
        };
        let mut next_record = 1u64;
        while let Some(batch) = handle.block_on(stream.next()) {
            match batch {
                Ok(batch) => {
                    validator.push_columns(batch.columns(), next_record)?;
                    next_record += batch.num_rows() as u64;
                    if validator.is_rejected() {
                        break;
                    }
                }
                Err(e) if from_store(&e) => {
                    validator.reject_transient(format!(
                        "reading the object failed past record {}: {e}",
                        next_record.saturating_sub(1)
                    ));
                    break;
                }
                Err(e) => {
                    validator.reject(
                        Rule::Unreadable,
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
        Ok(())
    })
    .await
}
