//! A staged file: the valid rows of one input as one Parquet file in the staging area,
//! written as the validator hands them over (see [`StageWriter`]).

use std::io::Write;

use bytes::Bytes;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use datafusion::parquet::basic::Compression;
use datafusion::parquet::column::writer::ColumnCloseResult;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ColumnChunkMetaData;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use datafusion::parquet::schema::types::ColumnDescPtr;
use pmm_catalog::DatasetContract;

use crate::constant_column::{ConstantValue, constant_chunk};
use crate::schema::SUBMISSION_COLUMNS;
use crate::stage::{StagedFile, StagingArea};
use crate::staged_upload::{UPLOAD_CHUNK, Upload, UploadWriter, upload};
use crate::validate::RowSink;
use crate::{Error, Result};
use pmm_store::{StoreRoot, count_write, layout};

/// Rows per Parquet row group of the staged data a run encodes: large enough for fast scans,
/// small enough that the writer buffers little. A copied row group keeps the submitted
/// file's size (bounded by `limits.max_row_group_bytes`).
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

impl StagingArea {
    /// A writer for the valid rows of one input, in `schema` (the table's schema, or for a
    /// Parquet input whose columns are copied, the same with those columns' nullability as
    /// the submitted file has it), used from a blocking thread inside the tokio runtime (see
    /// [`StageWriter`]).
    pub fn writer(
        &self,
        member: &str,
        year: i32,
        contract: &DatasetContract,
        fingerprint: &str,
        schema: SchemaRef,
    ) -> StageWriter {
        let relative = layout::staging::rows(member, year, &contract.name, fingerprint, &nonce());
        // Compression: none on this machine's disk, LZ4 (raw) on a cloud store. Measured in
        // alternating runs over CSV submissions (docs/running.md): uncompressed pages cost 5
        // to 9 % less CPU over a run (no compression when staging, no decompression in each
        // of the queries) and take about twice LZ4's bytes; on a network those bytes cost
        // more than the cores save, and LZ4 keeps staged data about the size of the submitted
        // Parquet at a fraction of ZSTD's or Snappy's cost. Chunks copied from a submitted
        // Parquet file keep their own compression. Dictionaries cost more to build than they
        // save on these columns (unique keys, short enum values). `member` and `year` are not
        // encoded by these properties: see `constant_column`. No statistics and no page
        // index: the queries gain nothing from them, they cost a comparison per value, and a
        // copied chunk has none (the submitted file's own are not trusted), so every staged
        // file is alike.
        let compression = if self.root.is_local() {
            Compression::UNCOMPRESSED
        } else {
            Compression::LZ4_RAW
        };
        let props = WriterProperties::builder()
            .set_compression(compression)
            .set_dictionary_enabled(false)
            .set_write_batch_size(8192)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_offset_index_disabled(true)
            .build();
        // The submission's member and year, the same in every row: written as one value each
        // (`constant_column`), not encoded row by row.
        let [member_column, year_column] = SUBMISSION_COLUMNS;
        let constants = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| match (i, field.name()) {
                (0, name) if name == member_column => {
                    ConstantValue::text(field.data_type(), member)
                }
                (1, name) if name == year_column => {
                    ConstantValue::int64(field.data_type(), i64::from(year))
                }
                _ => None,
            })
            .collect();
        StageWriter {
            root: self.root.clone(),
            relative,
            schema,
            props,
            constants,
            open: None,
            rows: 0,
            encoding: None,
            copying: None,
        }
    }
}

/// A staged file's nonce: a UUID v7 (time-ordered, 74 random bits), so that two runs staging
/// the same input at once never write the same object.
fn nonce() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Writes the valid rows of one input as one Parquet file in the staging area, as the
/// validator hands them over: rows it encodes, in row groups of [`ROW_GROUP_ROWS`], and row
/// groups of a submitted Parquet file that had no invalid row, whose column chunks it copies
/// as they are (see [`CopyGroup`]). Encoding happens on the calling (blocking) thread; an
/// async task uploads the bytes as they come, so memory stays at a few chunks whatever the
/// file's size. Must be used on a blocking thread of the tokio runtime (`spawn_blocking`).
pub struct StageWriter {
    root: StoreRoot,
    relative: String,
    schema: SchemaRef,
    props: WriterProperties,
    /// Per column, its value when every row holds the same (`member`, `year`): such a column
    /// is written as one value (see `constant_column`), not encoded.
    constants: Vec<Option<ConstantValue>>,
    open: Option<OpenFile>,
    rows: u64,
    /// The row group being encoded.
    encoding: Option<Encoding>,
    /// The row group being staged by copying.
    copying: Option<Copying>,
}

struct OpenFile {
    writer: SerializedFileWriter<UploadWriter>,
    columns: ArrowRowGroupWriterFactory,
    groups: usize,
    upload: tokio::task::JoinHandle<std::result::Result<u64, String>>,
    handle: tokio::runtime::Handle,
}

/// A row group being encoded: a writer per column (`None` for a constant column) and the
/// rows written so far.
struct Encoding {
    writers: Vec<Option<ArrowColumnWriter>>,
    rows: usize,
}

/// A row group being staged by copying: its chunks, and writers for the columns it encodes.
struct Copying {
    rows: usize,
    written: usize,
    chunks: Vec<Option<CopiedChunk>>,
    writers: Vec<Option<ArrowColumnWriter>>,
}

/// One column chunk of a submitted Parquet file, to be copied into a staged row group as it
/// is: its bytes (the chunk's whole range, as validation fetched and decoded it) and the
/// submitted file's description of it. Of that description only what locates and decodes
/// the pages is kept (offsets, sizes, codec, value count): its statistics, page index and
/// bloom filter are the member's tool's claims and are dropped.
pub struct CopiedChunk {
    pub(crate) bytes: Bytes,
    pub(crate) metadata: ColumnChunkMetaData,
}

/// A row group of a submitted Parquet file that may be staged by copying, if every one of
/// its rows turns out valid: its row count and, for each column of the staged file, the
/// chunk to copy (`None`: the column is encoded from the validated rows: `member`, `year`,
/// and any column whose stored type is not the staged one).
pub struct CopyGroup {
    pub(crate) rows: usize,
    pub(crate) chunks: Vec<Option<CopiedChunk>>,
}

impl RowSink for StageWriter {
    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.encoding.is_none() {
                let writers = self.column_writers()?;
                self.encoding = Some(Encoding { writers, rows: 0 });
            }
            let Some(encoding) = self.encoding.as_mut() else {
                return Err(Error::Internal("no row group to encode into".into()));
            };
            let take = (ROW_GROUP_ROWS - encoding.rows).min(batch.num_rows() - offset);
            let slice = batch.slice(offset, take);
            let writers = encoding.writers.iter_mut().map(Option::as_mut);
            encode(&self.schema, &slice, writers)
                .map_err(|e| Error::staging(self.root.shown(&self.relative), e))?;
            encoding.rows += take;
            offset += take;
            if encoding.rows == ROW_GROUP_ROWS {
                self.close_encoding()?;
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn copies(&self) -> bool {
        true
    }

    fn begin_copy(&mut self, group: CopyGroup) -> Result<()> {
        // Rows stay in the input's order: what was encoded before this group comes first.
        self.close_encoding()?;
        if group.chunks.len() != self.schema.fields().len() {
            return Err(Error::Internal(format!(
                "a copied row group of {} columns for a staged file of {}",
                group.chunks.len(),
                self.schema.fields().len()
            )));
        }
        let writers = self
            .column_writers()?
            .into_iter()
            .zip(&group.chunks)
            .map(|(writer, chunk)| writer.filter(|_| chunk.is_none()))
            .collect();
        self.copying = Some(Copying {
            rows: group.rows,
            written: 0,
            chunks: group.chunks,
            writers,
        });
        Ok(())
    }

    fn write_pending(&mut self, batch: RecordBatch) -> Result<()> {
        let Some(copying) = self.copying.as_mut() else {
            return Err(Error::Internal(
                "rows of a copied row group outside one".into(),
            ));
        };
        copying.written += batch.num_rows();
        encode(
            &self.schema,
            &batch,
            copying.writers.iter_mut().map(Option::as_mut),
        )
        .map_err(|e| Error::staging(self.root.shown(&self.relative), e))
    }

    fn finish_copy(&mut self) -> Result<()> {
        let Some(copying) = self.copying.take() else {
            return Err(Error::Internal("no copied row group to finish".into()));
        };
        if copying.written != copying.rows {
            return Err(Error::Internal(format!(
                "a copied row group of {} rows got {} validated rows",
                copying.rows, copying.written
            )));
        }
        let what = self.root.shown(&self.relative);
        let failed = |e: ParquetError| Error::staging(what.clone(), e);
        let constants = self.constants.clone();
        let open = self.opened()?;
        let descriptors = open.writer.schema_descr().columns().to_vec();
        let mut group = open.writer.next_row_group().map_err(failed)?;
        for (((chunk, writer), constant), descriptor) in copying
            .chunks
            .into_iter()
            .zip(copying.writers)
            .zip(&constants)
            .zip(descriptors)
        {
            match (chunk, writer, constant) {
                (Some(chunk), _, _) => {
                    let close = copied(descriptor, &chunk, copying.rows).map_err(failed)?;
                    group.append_column(&chunk.bytes, close).map_err(failed)?;
                }
                (None, Some(writer), _) => writer
                    .close()
                    .and_then(|c| c.append_to_row_group(&mut group))
                    .map_err(failed)?,
                (None, None, Some(value)) => {
                    append_constant(&mut group, descriptor, value, copying.rows).map_err(failed)?
                }
                (None, None, None) => {
                    return Err(Error::Internal(
                        "a staged column neither copied nor encoded".into(),
                    ));
                }
            }
        }
        group.close().map_err(failed)?;
        open.groups += 1;
        self.rows += copying.rows as u64;
        Ok(())
    }

    fn abandon_copy(&mut self) {
        self.copying = None;
    }
}

/// Hands each column of `batch` to its writer (`None`: the column is not encoded here).
fn encode<'w>(
    schema: &SchemaRef,
    batch: &RecordBatch,
    writers: impl Iterator<Item = Option<&'w mut ArrowColumnWriter>>,
) -> std::result::Result<(), ParquetError> {
    // The staged schema is flat: one leaf, so one writer, per field.
    for ((field, column), writer) in schema.fields().iter().zip(batch.columns()).zip(writers) {
        if let Some(writer) = writer {
            for leaf in compute_leaves(field, column)? {
                writer.write(&leaf)?;
            }
        }
    }
    Ok(())
}

/// Appends to `group` the chunk of the constant column `descriptor`: `rows` rows of `value`.
fn append_constant<W: Write + Send>(
    group: &mut SerializedRowGroupWriter<'_, W>,
    descriptor: ColumnDescPtr,
    value: &ConstantValue,
    rows: usize,
) -> std::result::Result<(), ParquetError> {
    let chunk = constant_chunk(descriptor.clone(), value, rows)?;
    let close = copied(descriptor, &chunk, rows)?;
    group.append_column(&chunk.bytes, close)
}

/// The close result that appends `chunk` to a row group of `rows` rows as a chunk of the
/// staged column `descriptor`: the submitted chunk's page locations (relative to its bytes),
/// sizes, codec and encodings; no statistics, page index or bloom filter.
pub(crate) fn copied(
    descriptor: ColumnDescPtr,
    chunk: &CopiedChunk,
    rows: usize,
) -> std::result::Result<ColumnCloseResult, ParquetError> {
    let m = &chunk.metadata;
    let start = m.dictionary_page_offset().unwrap_or(m.data_page_offset());
    if m.compressed_size() != chunk.bytes.len() as i64 {
        return Err(ParquetError::General(format!(
            "a copied chunk of {} bytes described as {}",
            chunk.bytes.len(),
            m.compressed_size()
        )));
    }
    let metadata = ColumnChunkMetaData::builder(descriptor)
        .set_compression_codec(m.compression_codec())
        .set_encodings_mask(*m.encodings_mask())
        .set_total_compressed_size(m.compressed_size())
        .set_total_uncompressed_size(m.uncompressed_size())
        .set_num_values(m.num_values())
        .set_data_page_offset(m.data_page_offset() - start)
        .set_dictionary_page_offset(m.dictionary_page_offset().map(|o| o - start))
        .build()?;
    Ok(ColumnCloseResult {
        bytes_written: chunk.bytes.len() as u64,
        rows_written: rows as u64,
        metadata,
        bloom_filter: None,
        column_index: None,
        offset_index: None,
    })
}

impl StageWriter {
    /// The open file, opened on first use.
    fn opened(&mut self) -> Result<&mut OpenFile> {
        if self.open.is_none() {
            self.open = Some(self.start()?);
        }
        self.open
            .as_mut()
            .ok_or_else(|| Error::Internal("the staged file was not opened".into()))
    }

    /// A writer for each column of the next row group (`None` for a constant column, which
    /// is not encoded).
    fn column_writers(&mut self) -> Result<Vec<Option<ArrowColumnWriter>>> {
        let what = self.root.shown(&self.relative);
        let open = self.opened()?;
        let writers = open
            .columns
            .create_column_writers(open.groups)
            .map_err(|e| Error::staging(what, e))?;
        Ok(writers
            .into_iter()
            .zip(&self.constants)
            .map(|(writer, constant)| constant.is_none().then_some(writer))
            .collect())
    }

    /// Writes the row group being encoded, if it has rows.
    fn close_encoding(&mut self) -> Result<()> {
        let Some(encoding) = self.encoding.take() else {
            return Ok(());
        };
        if encoding.rows == 0 {
            return Ok(());
        }
        let what = self.root.shown(&self.relative);
        let failed = |e: ParquetError| Error::staging(what.clone(), e);
        let constants = self.constants.clone();
        let open = self.opened()?;
        let descriptors = open.writer.schema_descr().columns().to_vec();
        let mut group = open.writer.next_row_group().map_err(failed)?;
        for ((writer, constant), descriptor) in encoding
            .writers
            .into_iter()
            .zip(&constants)
            .zip(descriptors)
        {
            match (writer, constant) {
                (Some(writer), _) => writer
                    .close()
                    .and_then(|c| c.append_to_row_group(&mut group))
                    .map_err(failed)?,
                (None, Some(value)) => {
                    append_constant(&mut group, descriptor, value, encoding.rows).map_err(failed)?
                }
                (None, None) => {
                    return Err(Error::Internal("a staged column not encoded".into()));
                }
            }
        }
        group.close().map_err(failed)?;
        open.groups += 1;
        Ok(())
    }

    fn start(&self) -> Result<OpenFile> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Internal("staging needs the tokio runtime".into()))?;
        let (sender, receiver) = tokio::sync::mpsc::channel::<Upload>(2);
        let store = self.root.store.clone();
        let key = self.root.key(&self.relative);
        let upload = handle.spawn(upload(store, key, receiver));
        // The Arrow writer only sets the file up (its Parquet schema, with the Arrow schema
        // embedded for readers); row groups are written below it, encoded or copied.
        let (writer, columns) = ArrowWriter::try_new(
            UploadWriter {
                buffer: Vec::with_capacity(UPLOAD_CHUNK),
                sender,
            },
            self.schema.clone(),
            Some(self.props.clone()),
        )
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(|e| Error::Internal(format!("opening a Parquet writer: {e}")))?;
        Ok(OpenFile {
            writer,
            columns,
            groups: 0,
            upload,
            handle,
        })
    }

    /// Completes the file and returns it (`None` when no row was written: nothing is
    /// stored). Blocks until the upload is complete.
    pub fn commit(mut self) -> Result<Option<StagedFile>> {
        if self.copying.is_some() {
            return Err(Error::Internal(
                "a copied row group was neither finished nor abandoned".into(),
            ));
        }
        self.close_encoding()?;
        if self.rows == 0 {
            self.abort();
            return Ok(None);
        }
        let Some(open) = self.open else {
            return Ok(None);
        };
        let what = self.root.shown(&self.relative);
        let failed = |e: crate::BoxError| Error::staging(what.clone(), e);
        let mut inner = open.writer.into_inner().map_err(|e| failed(e.into()))?;
        inner.send_buffer().map_err(|e| failed(e.into()))?;
        inner
            .sender
            .blocking_send(Upload::Finish)
            .map_err(|_| failed("the upload stopped".into()))?;
        drop(inner);
        let size = open
            .handle
            .block_on(open.upload)
            .map_err(|e| failed(e.into()))?
            .map_err(|e| failed(e.into()))?;
        count_write();
        Ok(Some(StagedFile {
            path: self.relative,
            size,
            rows: self.rows,
        }))
    }

    /// Discards what was written: the upload is aborted and nothing appears in the store.
    pub fn abort(self) {
        if let Some(open) = self.open {
            // Dropping the writer closes the channel without `Finish`: the task aborts the
            // upload. Wait for it, so no part is left behind by this run.
            drop(open.writer);
            let _ = open.handle.block_on(open.upload);
        }
    }
}
