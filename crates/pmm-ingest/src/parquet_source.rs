//! Parquet submissions: read through `object_store` with range requests (the footer first,
//! then only the byte ranges of the contract's columns), then decoded, validated and staged.
//!
//! Why not `parquet`'s own `ParquetObjectReader`: since parquet 59.2 it is deprecated, and its
//! note says to implement `AsyncFileReader` directly, as here (apache/arrow-rs#10308; tried in
//! this code base, the build warns). This is that implementation, and nothing more.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use datafusion::arrow::array::{Array, ArrayRef, BinaryViewArray, RecordBatch, StringViewArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::basic::Type as PhysicalType;
use datafusion::parquet::errors::{ParquetError, Result};
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use pmm_catalog::Limits;

use crate::discover::SourceObject;
use crate::issue::Rule;
use crate::limits::LimitExceeded;
use crate::object_reader::{ChangedWhileRead, changed_since};
use crate::parquet_copy::{CopyPlan, Groups, Replay};
use crate::parquet_layout::{LayoutError, check_footer, check_pages, footer_length};
use crate::read::{BATCH_ROWS, StagedDataset, StagingJob};
use crate::validate::DatasetValidator;
use pmm_store::StoreRoot;

/// How much of the file's end to fetch at once for the footer: one request for most files.
const FOOTER_HINT: u64 = 64 * 1024;

/// One Parquet object of the size seen at discovery. Every range it fetches is checked
/// against that size first, and every column chunk's page headers against the limits before
/// the `parquet` crate decompresses a page.
///
/// When the row groups may be staged by copying, the chunks it fetched are kept (shared by
/// its clones) until the reading of their row group ends: they are what is copied, and what
/// a second reading of the group decodes (served from memory, not fetched again).
#[derive(Clone)]
pub(crate) struct StoreParquetReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    limits: Limits,
    /// Where the column chunks start, as the checked footer says.
    chunk_starts: Arc<HashSet<u64>>,
    /// The checked chunks fetched, when kept.
    kept: Option<Arc<Mutex<KeptChunks>>>,
}

/// Column chunks fetched and checked, by byte range.
type KeptChunks = HashMap<Range<u64>, Bytes>;

impl StoreParquetReader {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64, limits: Limits) -> Self {
        StoreParquetReader {
            store,
            path,
            size,
            limits,
            chunk_starts: Arc::new(HashSet::new()),
            kept: None,
        }
    }

    /// Keeps the chunks it fetches from now on (see [`CopyPlan`]).
    pub(crate) fn keeping(mut self) -> Self {
        self.kept = Some(Arc::default());
        self
    }

    /// A kept chunk.
    pub(crate) fn kept(&self, range: &Range<u64>) -> Option<Bytes> {
        let kept = self.kept.as_ref()?;
        kept.lock().ok()?.get(range).cloned()
    }

    /// Whether any chunk is kept.
    pub(crate) fn holds_chunks(&self) -> bool {
        self.kept
            .as_ref()
            .and_then(|k| k.lock().ok())
            .is_some_and(|k| !k.is_empty())
    }

    /// Forgets the kept chunks of `ranges`.
    pub(crate) fn forget(&self, ranges: &[Range<u64>]) {
        if let Some(mut kept) = self.kept.as_ref().and_then(|k| k.lock().ok()) {
            for range in ranges {
                kept.remove(range);
            }
        }
    }

    fn within(&self, range: &Range<u64>) -> Result<()> {
        if range.start > range.end || range.end > self.size {
            return Err(layout(LayoutError::Malformed(format!(
                "it claims bytes {}..{} of a file of {}",
                range.start, range.end, self.size
            ))));
        }
        Ok(())
    }

    fn check(&self, range: &Range<u64>, bytes: &Bytes) -> Result<()> {
        if self.chunk_starts.contains(&range.start) {
            check_pages(bytes, &self.limits).map_err(layout)?;
            if let Some(mut kept) = self.kept.as_ref().and_then(|k| k.lock().ok()) {
                kept.insert(range.clone(), bytes.clone());
            }
        }
        Ok(())
    }

    /// Fetches, checks and decodes the footer: its length against the object's size and
    /// `limits.max_footer_bytes`, its schema's depth and columns against the limits, all
    /// before the `parquet` crate decodes it.
    async fn metadata(&mut self) -> Result<ParquetMetaData> {
        if self.size < 12 {
            return Err(layout(LayoutError::Malformed(format!(
                "it is {} bytes long, too short for a Parquet file",
                self.size
            ))));
        }
        let tail_start = self.size - self.size.min(FOOTER_HINT);
        let tail = self.get_bytes(tail_start..self.size).await?;
        let length = footer_length(&tail, self.size, &self.limits).map_err(layout)?;
        let footer = if length + 8 <= tail.len() as u64 {
            let end = tail.len() - 8;
            tail.slice(end - length as usize..end)
        } else {
            let end = self.size - 8;
            self.get_bytes(end - length..end).await?
        };
        check_footer(&footer, self.size - 8 - length, &self.limits).map_err(layout)?;
        let metadata = ParquetMetaDataReader::decode_metadata(&footer)?;
        self.chunk_starts = Arc::new(
            metadata
                .row_groups()
                .iter()
                .flat_map(|g| g.columns().iter().map(|c| c.byte_range().0))
                .collect(),
        );
        Ok(metadata)
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

fn layout(e: LayoutError) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreParquetReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        async move {
            if let Some(bytes) = self.kept(&range) {
                return Ok(bytes);
            }
            self.within(&range)?;
            let bytes = self
                .store
                .get_range(&self.path, range.clone())
                .await
                .map_err(external)?;
            self.check(&range, &bytes)?;
            Ok(bytes)
        }
        .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move {
            let kept: Option<Vec<Bytes>> = ranges.iter().map(|r| self.kept(r)).collect();
            if let Some(kept) = kept {
                return Ok(kept);
            }
            for range in &ranges {
                self.within(range)?;
            }
            let all = self
                .store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)?;
            for (range, bytes) in ranges.iter().zip(&all) {
                self.check(range, bytes)?;
            }
            Ok(all)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move { Ok(Arc::new(self.metadata().await?)) }.boxed()
    }
}

/// What a Parquet error stands for: a fault of the store (try again later), a limit or a
/// layout the file states, or a file the `parquet` crate could not read.
enum Failure<'a> {
    Store,
    Layout(&'a LayoutError),
    File,
}

fn failure(e: &ParquetError) -> Failure<'_> {
    match e {
        ParquetError::External(inner) => match inner.downcast_ref::<LayoutError>() {
            Some(layout) => Failure::Layout(layout),
            None if inner.is::<object_store::Error>() => Failure::Store,
            None => Failure::File,
        },
        _ => Failure::File,
    }
}

/// The object as discovery saw it, to tell a file that changed while it was read (its ranges
/// are fetched one request at a time).
struct AsFound {
    store: Arc<dyn ObjectStore>,
    object: SourceObject,
    handle: tokio::runtime::Handle,
}

impl AsFound {
    /// The change, when the object is no longer what discovery saw (`changed_since`). A
    /// failed look finds no change (the read's own outcome stands). Called on the reading
    /// thread.
    fn changed(&self) -> Option<ChangedWhileRead> {
        let now = self
            .handle
            .block_on(self.store.head(&self.object.key))
            .ok()?;
        changed_since(&now, &self.object)
    }
}

/// Rejects a dataset for a Parquet error, `past` naming the last record read (if any); as
/// `changed_while_read` when the file is no longer what discovery saw (the error may be the
/// change's doing).
fn reject(
    validator: &mut DatasetValidator<'_>,
    error: &ParquetError,
    past: Option<u64>,
    as_found: &AsFound,
) {
    if let Some(changed) = as_found.changed() {
        validator.reject_changed(changed.to_string());
        return;
    }
    let context = match past {
        Some(record) => format!("the Parquet file cannot be read past record {record}"),
        None => "not a readable Parquet file".to_string(),
    };
    match failure(error) {
        Failure::Store => {
            let e = match error {
                ParquetError::External(inner) => inner.to_string(),
                other => other.to_string(),
            };
            validator.reject_transient(match past {
                Some(record) => format!("reading the object failed past record {record}: {e}"),
                None => format!("cannot read the object: {e}"),
            });
        }
        Failure::Layout(LayoutError::Limit(limit)) => validator.reject_limit(limit),
        Failure::Layout(LayoutError::Malformed(why)) => {
            validator.reject(Rule::Unreadable, None, format!("{context}: {why}"))
        }
        Failure::File => validator.reject(
            Rule::Unreadable,
            None,
            format!(
                "{context}: {}",
                crate::text::shown_within(&error.to_string())
            ),
        ),
    }
}

/// The type each read column is decoded as: text and bytes as views (a dictionary's value is
/// shared by the rows that repeat it, not copied into each: a batch costs what its pages
/// cost), INT96 timestamps at microseconds (the contract's unit; through nanoseconds, the
/// `parquet` crate wraps dates past 2262 around).
fn decoded_type(field: &Field, physical: Option<PhysicalType>) -> DataType {
    match (field.data_type(), physical) {
        (DataType::Timestamp(_, tz), Some(PhysicalType::INT96)) => {
            DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
        }
        (DataType::Utf8 | DataType::LargeUtf8, _) => DataType::Utf8View,
        (DataType::Binary | DataType::LargeBinary, _) => DataType::BinaryView,
        (other, _) => other.clone(),
    }
}

/// Parquet: read with the store's range requests, only the contract's columns, natively
/// typed; decoded, validated and staged on the reading thread. The footer and every page
/// header are checked against `limits` before the `parquet` crate decodes them, and every
/// batch against `max_record_bytes`, `max_batch_bytes` and (in all) `max_decompressed_bytes`.
pub(crate) async fn read_parquet(
    root: &StoreRoot,
    object: &SourceObject,
    job: StagingJob,
    limits: Limits,
) -> crate::Result<StagedDataset> {
    let mut reader =
        StoreParquetReader::new(root.store.clone(), object.key.clone(), object.size, limits);
    let prepared = match reader.metadata().await {
        Ok(metadata) => prepare(Arc::new(metadata)),
        Err(e) => Err(e),
    };
    let as_found = AsFound {
        store: root.store.clone(),
        object: object.clone(),
        handle: tokio::runtime::Handle::current(),
    };
    let (arrow, columns) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            return job
                .run(move |validator| {
                    reject(validator, &e, None, &as_found);
                    Ok(())
                })
                .await;
        }
    };
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let wanted: Vec<&FileColumn> = columns
        .iter()
        .filter(|c| job.contract.column(&c.name).is_some())
        .collect();
    let nested: Vec<String> = wanted
        .iter()
        .filter(|c| c.leaf.is_none())
        .map(|c| c.name.clone())
        .collect();
    let wanted_names: Vec<String> = wanted.iter().map(|c| c.name.clone()).collect();
    let leaves: Vec<usize> = wanted.iter().filter_map(|c| c.leaf).collect();
    let too_large = row_group_past_limit(arrow.metadata(), &leaves, &limits);
    let mask = ProjectionMask::leaves(arrow.parquet_schema(), leaves.iter().copied());
    let plan = if job.copy {
        CopyPlan::new(&arrow, &columns, &job.contract)
    } else {
        None
    };
    let mut job = job;
    if let Some(plan) = &plan {
        reader = reader.keeping();
        job.schema = Some(plan.schema.clone());
    }
    let replay = Replay {
        reader: reader.clone(),
        arrow: arrow.clone(),
        mask: mask.clone(),
        limits,
    };
    let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, arrow)
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build();
    let handle = tokio::runtime::Handle::current();
    job.run(move |validator| {
        if !validator.check_columns(&names) {
            return Ok(());
        }
        if let Some(name) = nested.first() {
            validator.reject(
                Rule::ColumnType,
                None,
                format!(
                    "column `{}` is stored as a nested group, which does not convert to {}",
                    crate::text::shown(name),
                    validator
                        .contract()
                        .column(name)
                        .map(|c| c.column_type.to_string())
                        .unwrap_or_default()
                ),
            );
            return Ok(());
        }
        if let Some(limit) = too_large {
            validator.reject_limit(&limit);
            return Ok(());
        }
        validator.use_columns(&wanted_names);
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                reject(validator, &e, None, &as_found);
                return Ok(());
            }
        };
        let mut budget = DecodeBudget::new(&limits);
        let mut groups = Groups::new(replay.reader.clone(), replay.arrow.metadata(), plan);
        let mut next_record = 1u64;
        'batches: while let Some(batch) = handle.block_on(stream.next()) {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    reject(
                        validator,
                        &e,
                        Some(next_record.saturating_sub(1)),
                        &as_found,
                    );
                    break;
                }
            };
            // Cut where a row group ends, so each group's rows are known to be its own.
            let mut offset = 0;
            while offset < batch.num_rows() {
                let take = groups.start(validator)?;
                let part = batch.slice(offset, take.min(batch.num_rows() - offset));
                let slices = match budget.split(&part, next_record) {
                    Ok(slices) => slices,
                    Err(limit) => {
                        validator.reject_limit(&limit);
                        break 'batches;
                    }
                };
                for slice in slices {
                    let columns = slice
                        .columns()
                        .iter()
                        .map(materialised)
                        .collect::<crate::Result<Vec<_>>>()?;
                    validator.push_columns(&columns, next_record)?;
                    next_record += slice.num_rows() as u64;
                }
                offset += part.num_rows();
                if validator.is_rejected() {
                    break 'batches;
                }
                if let Some(ended) = groups.advance(part.num_rows(), validator)? {
                    let replayed = match &ended.replay {
                        Some(keep) => replay
                            .group(validator, ended.group, keep, &handle)?
                            .map_err(|e| (e, keep.len() as u64)),
                        None => Ok(()),
                    };
                    groups.forget(ended.group);
                    if let Err((e, rows)) = replayed {
                        // Named as the last record before the group.
                        let before = next_record.saturating_sub(rows + 1);
                        reject(validator, &e, Some(before), &as_found);
                        break 'batches;
                    }
                }
            }
        }
        // Every group read whole has let go of its chunks (a file costs one group's at once).
        debug_assert!(
            validator.is_rejected() || !groups.holds_chunks(),
            "chunks kept past their row group"
        );
        // Read whole: the file must still be the one discovery saw.
        if !validator.is_rejected()
            && let Some(changed) = as_found.changed()
        {
            validator.reject_changed(changed.to_string());
        }
        Ok(())
    })
    .await
}

/// The first row group whose read columns (the leaves `leaves`) claim more compressed bytes
/// than `limits.max_row_group_bytes`: the reader fetches a row group's chunks together, so
/// this is checked on the footer's claims before anything is fetched. The claims themselves
/// were checked by `check_footer` (none negative, all inside the file's data).
fn row_group_past_limit(
    metadata: &ParquetMetaData,
    leaves: &[usize],
    limits: &Limits,
) -> Option<LimitExceeded> {
    metadata
        .row_groups()
        .iter()
        .enumerate()
        .find_map(|(group, row_group)| {
            let claimed = leaves
                .iter()
                .filter_map(|&leaf| row_group.columns().get(leaf))
                .map(|chunk| chunk.byte_range().1)
                .fold(0u64, u64::saturating_add);
            (claimed > limits.max_row_group_bytes).then_some(LimitExceeded::RowGroup {
                group: group as u64 + 1,
                claimed,
                limit: limits.max_row_group_bytes,
            })
        })
}

/// A top-level column of the file: its name, and its leaf when it is one (not a group).
pub(crate) struct FileColumn {
    pub(crate) name: String,
    pub(crate) leaf: Option<usize>,
}

/// The reader's metadata with the decoded types of [`decoded_type`], and the file's
/// top-level columns.
fn prepare(metadata: Arc<ParquetMetaData>) -> Result<(ArrowReaderMetadata, Vec<FileColumn>)> {
    // The Arrow schema a writer may have embedded is not read: its types are the file's
    // own claims too, and the Parquet schema says what the reader needs.
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let inferred = ArrowReaderMetadata::try_new(metadata.clone(), options.clone())?;
    let parquet = inferred.parquet_schema();
    let root = parquet.root_schema();
    let mut columns = Vec::new();
    let mut fields = Vec::new();
    let mut leaf = 0usize;
    for (field, node) in inferred.schema().fields().iter().zip(root.get_fields()) {
        let leaves = leaf_count(node);
        let physical = node.is_primitive().then(|| node.get_physical_type());
        columns.push(FileColumn {
            name: field.name().clone(),
            leaf: node.is_primitive().then_some(leaf),
        });
        fields.push(
            field
                .as_ref()
                .clone()
                .with_data_type(decoded_type(field, physical)),
        );
        leaf += leaves;
    }
    let schema = Arc::new(Schema::new(fields));
    let arrow = ArrowReaderMetadata::try_new(metadata, options.with_schema(schema))?;
    Ok((arrow, columns))
}

/// The leaves under a schema node, counted without recursion.
fn leaf_count(node: &datafusion::parquet::schema::types::Type) -> usize {
    let mut count = 0;
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        if node.is_primitive() {
            count += 1;
        } else {
            pending.extend(node.get_fields().iter().map(Arc::as_ref));
        }
    }
    count
}

/// A column as the validator takes it: binary views copied into `Binary` for the rows of one
/// slice only. Text stays in string views: the validator copies only the values it stages
/// by encoding (see `DatasetValidator::assemble`).
pub(crate) fn materialised(column: &ArrayRef) -> crate::Result<ArrayRef> {
    let to = match column.data_type() {
        DataType::BinaryView => DataType::Binary,
        _ => return Ok(column.clone()),
    };
    cast(column, &to).map_err(|e| crate::Error::Internal(format!("a view column to {to}: {e}")))
}

/// The bytes a Parquet file's records decode to, counted batch by batch before any value is
/// copied out of its pages: no record past `max_record_bytes`, no slice handed to the
/// validator past `max_batch_bytes`, no file past `max_decompressed_bytes` in all.
pub(crate) struct DecodeBudget {
    record: u64,
    batch: u64,
    total: u64,
    used: u64,
}

impl DecodeBudget {
    pub(crate) fn new(limits: &Limits) -> Self {
        DecodeBudget {
            record: limits.max_record_bytes,
            batch: limits.max_batch_bytes,
            total: limits.max_decompressed_bytes,
            used: 0,
        }
    }

    /// The batch cut into slices of at most `max_batch_bytes` (one record at least), or the
    /// limit a record or the file goes past.
    pub(crate) fn split(
        &mut self,
        batch: &RecordBatch,
        first_record: u64,
    ) -> std::result::Result<Vec<RecordBatch>, LimitExceeded> {
        let sizes = record_sizes(batch);
        if sizes.is_empty() {
            return Ok(Vec::new());
        }
        // Most batches are well within every limit: one pass over the sizes tells, and the
        // batch goes on whole, as the record-by-record walk below would hand it on.
        let (sum, largest) = sizes.iter().fold((0u64, 0u64), |(sum, largest), &size| {
            (sum + size, largest.max(size))
        });
        if largest <= self.record
            && sum <= self.batch
            && self.used.saturating_add(sum) <= self.total
        {
            self.used += sum;
            return Ok(vec![batch.clone()]);
        }
        let mut slices = Vec::new();
        let (mut start, mut bytes) = (0usize, 0u64);
        for (i, &size) in sizes.iter().enumerate() {
            if size > self.record {
                return Err(LimitExceeded::Record {
                    record: first_record + i as u64,
                    limit: self.record,
                });
            }
            self.used += size;
            if self.used > self.total {
                return Err(LimitExceeded::Decoded { limit: self.total });
            }
            if bytes + size > self.batch && i > start {
                slices.push(batch.slice(start, i - start));
                (start, bytes) = (i, 0);
            }
            bytes += size;
        }
        if start < sizes.len() {
            slices.push(batch.slice(start, sizes.len() - start));
        }
        Ok(slices)
    }
}

/// Each record's decoded size: its values' bytes (a view's length, a fixed width), read from
/// the views without touching the values.
fn record_sizes(batch: &RecordBatch) -> Vec<u64> {
    // Every record starts at the sum of the fixed widths; the views add their lengths.
    let is_view = |c: &ArrayRef| matches!(c.data_type(), DataType::Utf8View | DataType::BinaryView);
    let fixed = batch
        .columns()
        .iter()
        .filter(|c| !is_view(c))
        .map(|c| c.data_type().primitive_width().map_or(1, |w| w as u64))
        .sum();
    let mut sizes = vec![fixed; batch.num_rows()];
    for column in batch.columns() {
        if let Some(views) = column.as_any().downcast_ref::<StringViewArray>() {
            add_view_lengths(&mut sizes, views.views(), views.nulls());
        } else if let Some(views) = column.as_any().downcast_ref::<BinaryViewArray>() {
            add_view_lengths(&mut sizes, views.views(), views.nulls());
        }
    }
    sizes
}

/// Adds each valid value's length (a view's low 32 bits) to its record's size.
fn add_view_lengths(sizes: &mut [u64], views: &[u128], nulls: Option<&NullBuffer>) {
    match nulls {
        None => {
            for (size, view) in sizes.iter_mut().zip(views) {
                *size += u64::from(*view as u32);
            }
        }
        Some(nulls) => {
            for ((size, view), valid) in sizes.iter_mut().zip(views).zip(nulls.iter()) {
                *size += u64::from(*view as u32) * u64::from(valid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{BooleanArray, Int64Array};

    use super::*;

    #[test]
    fn a_record_weighs_its_fixed_widths_and_its_valid_values_lengths() {
        let long = "a value longer than twelve bytes";
        // The null row's view still holds a length (as after `nullif`): it does not count.
        let id = StringViewArray::from(vec!["D1", "hidden", long]);
        let nulls = NullBuffer::from(vec![true, false, true]);
        let id = StringViewArray::new(id.views().clone(), id.data_buffers().to_vec(), Some(nulls));
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(id) as ArrayRef),
            ("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "b",
                Arc::new(BooleanArray::from(vec![true, false, true])) as ArrayRef,
            ),
            (
                "raw",
                Arc::new(BinaryViewArray::from(vec![b"xyz".as_slice(), b"", b"0"])) as ArrayRef,
            ),
        ])
        .unwrap();
        // int64: 8, boolean: 1; then each valid text or bytes value's length.
        let fixed = 8 + 1;
        assert_eq!(
            record_sizes(&batch),
            [fixed + 2 + 3, fixed, fixed + long.len() as u64 + 1]
        );
    }

    fn budget(record: u64, batch: u64, total: u64) -> DecodeBudget {
        DecodeBudget {
            record,
            batch,
            total,
            used: 0,
        }
    }

    #[test]
    fn a_batch_is_cut_where_the_limits_say_and_goes_on_whole_within_them() {
        // Records of 8 + 2, 8 + 3 and 8 + 32 bytes.
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(StringViewArray::from(vec!["D1", "D22", &"x".repeat(32)])) as ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ])
        .unwrap();
        let rows =
            |slices: Vec<RecordBatch>| slices.iter().map(|b| b.num_rows()).collect::<Vec<_>>();
        let mut whole = budget(40, 61, 200);
        assert_eq!(rows(whole.split(&batch, 1).unwrap()), [3]);
        assert_eq!(whole.used, 61);
        // One byte less per slice: the last record goes on alone.
        assert_eq!(rows(budget(40, 60, 200).split(&batch, 1).unwrap()), [2, 1]);
        assert_eq!(
            rows(budget(40, 10, 200).split(&batch, 1).unwrap()),
            [1, 1, 1]
        );
        assert!(matches!(
            budget(39, 100, 200).split(&batch, 7),
            Err(LimitExceeded::Record {
                record: 9,
                limit: 39
            })
        ));
        // The file's total counts over batches.
        let mut total = budget(40, 100, 100);
        assert_eq!(rows(total.split(&batch, 1).unwrap()), [3]);
        assert!(matches!(
            total.split(&batch, 4),
            Err(LimitExceeded::Decoded { limit: 100 })
        ));
        assert!(
            budget(40, 100, 100)
                .split(&batch.slice(0, 0), 1)
                .unwrap()
                .is_empty()
        );
    }
}
