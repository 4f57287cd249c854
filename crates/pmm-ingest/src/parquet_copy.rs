//! Staging a Parquet input's row groups by copying their column chunks: which columns can be
//! copied ([`CopyPlan`]), the row groups as the batches go by, each begun and ended as a copy
//! in the validator ([`Groups`]), and a group with an invalid row read a second time from the
//! chunks already fetched ([`Replay`]).

use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata;
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::arrow::{ArrowSchemaConverter, ProjectionMask};
use datafusion::parquet::errors::{ParquetError, Result};
use datafusion::parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use futures::StreamExt;
use pmm_catalog::{DatasetContract, Limits};

use crate::parquet_source::{DecodeBudget, FileColumn, StoreParquetReader, materialised};
use crate::read::BATCH_ROWS;
use crate::schema::table_schema;
use crate::staged_file::{CopiedChunk, CopyGroup};
use crate::validate::DatasetValidator;

/// Which columns of a Parquet input can be staged by copying their chunks, and the staged
/// file's schema that lets them: a contract column whose chunks hold, page for page, what
/// the staged column would (the same physical type, a flat column, a decoded type that is
/// the contract's with no conversion but a time zone's name) is copied from every row
/// group whose rows are all valid. Its nullability in the staged file is the submitted
/// file's (a required column written as optional holds no null once validated, but its pages
/// carry definition levels).
pub(crate) struct CopyPlan {
    /// The staged file's schema (the table's, with copied columns' nullability).
    pub(crate) schema: SchemaRef,
    /// For each field of `schema`, the submitted file's leaf copied into it.
    leaves: Vec<Option<usize>>,
}

impl CopyPlan {
    /// The plan for a file of `columns` decoded as `arrow`, or `None` when no column can be
    /// copied.
    pub(crate) fn new(
        arrow: &ArrowReaderMetadata,
        columns: &[FileColumn],
        contract: &DatasetContract,
    ) -> Option<CopyPlan> {
        let parquet = arrow.parquet_schema();
        let table = table_schema(contract);
        let mut leaves = vec![None; table.fields().len()];
        let mut fields: Vec<Field> = table.fields().iter().map(|f| f.as_ref().clone()).collect();
        for (i, field) in fields.iter_mut().enumerate() {
            let Some((k, leaf)) = columns
                .iter()
                .enumerate()
                .find(|(_, c)| c.name == *field.name() && contract.column(&c.name).is_some())
                .and_then(|(k, c)| Some((k, c.leaf?)))
            else {
                continue;
            };
            let stored = parquet.column(leaf);
            let decoded = arrow.schema().field(k).data_type();
            if stored.max_rep_level() == 0 && same_values(decoded, field.data_type()) {
                *field = field.clone().with_nullable(stored.max_def_level() > 0);
                leaves[i] = Some(leaf);
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let staged = ArrowSchemaConverter::new().convert(&schema).ok()?;
        for (i, leaf) in leaves.iter_mut().enumerate() {
            let Some(l) = *leaf else { continue };
            let (stored, into) = (parquet.column(l), staged.column(i));
            if stored.physical_type() != into.physical_type()
                || stored.max_def_level() != into.max_def_level()
                || stored.max_rep_level() != into.max_rep_level()
            {
                *leaf = None;
            }
        }
        leaves
            .iter()
            .any(Option::is_some)
            .then_some(CopyPlan { schema, leaves })
    }
}

/// Whether a column decoded as `decoded` is, value for value, what the validator stages as
/// `contract` (only a timestamp's time zone name may differ: the instants are the same).
fn same_values(decoded: &DataType, contract: &DataType) -> bool {
    match (decoded, contract) {
        (DataType::Utf8View, DataType::Utf8) => true,
        (DataType::Timestamp(a, _), DataType::Timestamp(b, _)) => a == b,
        (a, b) => a == b && !matches!(a, DataType::Utf8View | DataType::BinaryView),
    }
}

/// The row groups of a file as its batches go by: which one the next rows belong to, and
/// for a file with a [`CopyPlan`], each group begun and ended as a copy in the validator.
/// The chunks the reader kept for a group are forgotten when the group ends (after its
/// second reading, if it needs one), so a file costs one row group's chunks at a time.
pub(crate) struct Groups {
    reader: StoreParquetReader,
    metadata: Arc<ParquetMetaData>,
    plan: Option<CopyPlan>,
    /// The group being read and its rows not yet seen.
    current: Option<(usize, usize)>,
    next: usize,
}

/// A row group whose rows have all been read.
pub(crate) struct Ended {
    /// Its index in the file.
    pub(crate) group: usize,
    /// The rows to keep, when the group must be read a second time (a copy with an invalid
    /// row).
    pub(crate) replay: Option<Vec<bool>>,
}

impl Groups {
    pub(crate) fn new(
        reader: StoreParquetReader,
        metadata: &Arc<ParquetMetaData>,
        plan: Option<CopyPlan>,
    ) -> Self {
        Groups {
            reader,
            metadata: metadata.clone(),
            plan,
            current: None,
            next: 0,
        }
    }

    /// The rows left in the current row group, starting the next one (and its copy, when
    /// every chunk to copy was fetched) when the last ended.
    pub(crate) fn start(&mut self, validator: &mut DatasetValidator<'_>) -> crate::Result<usize> {
        if let Some((_, left)) = self.current {
            return Ok(left);
        }
        let rows_of = |g: usize| {
            let group = self.metadata.row_groups().get(g)?;
            Some(usize::try_from(group.num_rows()).unwrap_or(0))
        };
        while rows_of(self.next) == Some(0) {
            self.next += 1;
        }
        let group = self.next;
        let Some(rows) = rows_of(group) else {
            // More rows than the footer claims: the reader does not give them; if it did,
            // they are read as rows of no group (never copied).
            self.current = Some((usize::MAX, usize::MAX));
            return Ok(usize::MAX);
        };
        self.next += 1;
        self.current = Some((group, rows));
        if let Some(plan) = &self.plan {
            let columns = self.metadata.row_group(group).columns();
            // Every chunk to copy, or none: a chunk the reader did not keep is not copied.
            let chunks: Option<Vec<Option<CopiedChunk>>> = plan
                .leaves
                .iter()
                .map(|leaf| match leaf {
                    None => Some(None),
                    Some(leaf) => {
                        let metadata = columns.get(*leaf)?;
                        let bytes = self.reader.kept(&chunk_range(metadata))?;
                        Some(Some(CopiedChunk {
                            bytes,
                            metadata: metadata.clone(),
                        }))
                    }
                })
                .collect();
            if let Some(chunks) = chunks {
                validator.begin_copy(CopyGroup { rows, chunks })?;
            }
        }
        Ok(rows)
    }

    /// `rows` of the current row group were read: the group, when that was its last.
    pub(crate) fn advance(
        &mut self,
        rows: usize,
        validator: &mut DatasetValidator<'_>,
    ) -> crate::Result<Option<Ended>> {
        let Some((group, left)) = self.current.as_mut() else {
            return Ok(None);
        };
        *left = left.saturating_sub(rows);
        if *left > 0 {
            return Ok(None);
        }
        let group = *group;
        self.current = None;
        Ok(Some(Ended {
            group,
            replay: validator.end_copy()?,
        }))
    }

    /// Forgets the kept chunks of `group` (its reading is over).
    pub(crate) fn forget(&self, group: usize) {
        if let Some(chunks) = self.metadata.row_groups().get(group) {
            let ranges: Vec<Range<u64>> = chunks.columns().iter().map(chunk_range).collect();
            self.reader.forget(&ranges);
        }
    }

    /// Whether the reader still holds kept chunks (none once every group has ended).
    pub(crate) fn holds_chunks(&self) -> bool {
        self.reader.holds_chunks()
    }
}

/// A column chunk's byte range, as the footer states it (checked by `check_footer`).
fn chunk_range(chunk: &ColumnChunkMetaData) -> Range<u64> {
    let (start, length) = chunk.byte_range();
    start..start + length
}

/// What reading a row group a second time needs: a reader sharing the first one's kept
/// chunks (so nothing is fetched again), and its projection and limits.
pub(crate) struct Replay {
    pub(crate) reader: StoreParquetReader,
    pub(crate) arrow: ArrowReaderMetadata,
    pub(crate) mask: ProjectionMask,
    pub(crate) limits: Limits,
}

impl Replay {
    /// Reads row group `group` again and hands the validator its rows with `keep`, as the
    /// first reading decoded them (the same bytes, decoder and types). The outer error is the
    /// run's (staging failed, as when the rows were first handed over); the inner one, the
    /// file's (it did not read the same way twice).
    pub(crate) fn group(
        &self,
        validator: &mut DatasetValidator<'_>,
        group: usize,
        keep: &[bool],
        handle: &tokio::runtime::Handle,
    ) -> crate::Result<Result<()>> {
        let mut stream = match ParquetRecordBatchStreamBuilder::new_with_metadata(
            self.reader.clone(),
            self.arrow.clone(),
        )
        .with_projection(self.mask.clone())
        .with_row_groups(vec![group])
        .with_batch_size(BATCH_ROWS)
        .build()
        {
            Ok(stream) => stream,
            Err(e) => return Ok(Err(e)),
        };
        let mut budget = DecodeBudget::new(&self.limits);
        let mut at = 0usize;
        while let Some(batch) = handle.block_on(stream.next()) {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => return Ok(Err(e)),
            };
            let slices = match budget.split(&batch, 1) {
                Ok(slices) => slices,
                Err(limit) => return Ok(Err(ParquetError::General(limit.to_string()))),
            };
            for slice in slices {
                let columns = slice
                    .columns()
                    .iter()
                    .map(materialised)
                    .collect::<crate::Result<Vec<_>>>()?;
                let end = at + slice.num_rows();
                let Some(kept) = keep.get(at..end) else {
                    return Ok(Err(ParquetError::General(format!(
                        "row group {} gave more rows the second time it was read",
                        group + 1
                    ))));
                };
                validator.replay(&columns, kept)?;
                at = end;
            }
        }
        if at != keep.len() {
            return Ok(Err(ParquetError::General(format!(
                "row group {} gave {at} rows the second time it was read, {} the first",
                group + 1,
                keep.len()
            ))));
        }
        Ok(Ok(()))
    }
}
