//! A staged file: the valid rows of one input as one Parquet file in the staging area,
//! written as the validator hands them over (see [`StageWriter`]).

use std::io::Write;
use std::sync::Arc;

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
use datafusion::parquet::file::writer::SerializedFileWriter;
use datafusion::parquet::schema::types::ColumnDescPtr;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use pmm_catalog::DatasetContract;
use tokio::io::AsyncWriteExt;

use crate::stage::{StagedFile, StagingArea};
use crate::validate::RowSink;
use crate::{Error, Result};
use pmm_store::{StoreRoot, count_write, layout};

/// Rows per Parquet row group of the staged data a run encodes: large enough for fast scans,
/// small enough that the writer buffers little. A copied row group keeps the submitted
/// file's size (bounded by `limits.max_row_group_bytes`).
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Bytes sent to the store at a time while a staged file is written (also the part size of
/// multipart uploads): memory per file being staged is about twice this.
const UPLOAD_CHUNK: usize = 8 << 20;

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
        // Measured on the benchmark (bench/run.sh): LZ4 (raw) compresses staged data to about
        // the size of the submitted Parquet at a fraction of the cost of ZSTD or Snappy;
        // dictionaries cost more to build than they save on these columns (unique keys,
        // short enum values). No statistics and no page index: the queries gain nothing from
        // them, they cost a comparison per value, and a copied chunk has none (the submitted
        // file's own are not trusted), so every staged file is alike.
        let props = WriterProperties::builder()
            .set_compression(Compression::LZ4_RAW)
            .set_dictionary_enabled(false)
            .set_write_batch_size(8192)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_offset_index_disabled(true)
            .build();
        StageWriter {
            root: self.root.clone(),
            relative,
            schema,
            props,
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

/// A row group being encoded: a writer per column and the rows written so far.
struct Encoding {
    writers: Vec<ArrowColumnWriter>,
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
            let writers = encoding.writers.iter_mut().map(Some);
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
            .map(|(writer, chunk)| chunk.is_none().then_some(writer))
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
        let open = self.opened()?;
        let descriptors = open.writer.schema_descr().columns().to_vec();
        let mut group = open.writer.next_row_group().map_err(failed)?;
        for ((chunk, writer), descriptor) in copying
            .chunks
            .into_iter()
            .zip(copying.writers)
            .zip(descriptors)
        {
            match (chunk, writer) {
                (Some(chunk), _) => {
                    let close = copied(descriptor, &chunk, copying.rows).map_err(failed)?;
                    group.append_column(&chunk.bytes, close).map_err(failed)?;
                }
                (None, Some(writer)) => writer
                    .close()
                    .and_then(|c| c.append_to_row_group(&mut group))
                    .map_err(failed)?,
                (None, None) => {
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

/// The close result that appends `chunk` to a row group of `rows` rows as a chunk of the
/// staged column `descriptor`: the submitted chunk's page locations (relative to its bytes),
/// sizes, codec and encodings; no statistics, page index or bloom filter.
fn copied(
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

    /// A writer for each column of the next row group.
    fn column_writers(&mut self) -> Result<Vec<ArrowColumnWriter>> {
        let what = self.root.shown(&self.relative);
        let open = self.opened()?;
        open.columns
            .create_column_writers(open.groups)
            .map_err(|e| Error::staging(what, e))
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
        let open = self.opened()?;
        let mut group = open.writer.next_row_group().map_err(failed)?;
        for writer in encoding.writers {
            writer
                .close()
                .and_then(|c| c.append_to_row_group(&mut group))
                .map_err(failed)?;
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

/// What the encoding thread sends to the upload task.
enum Upload {
    Part(Bytes),
    Finish,
}

/// The Parquet writer's output: buffered into chunks, each handed to the upload task.
struct UploadWriter {
    buffer: Vec<u8>,
    sender: tokio::sync::mpsc::Sender<Upload>,
}

impl UploadWriter {
    fn send_buffer(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(UPLOAD_CHUNK));
        self.sender
            .blocking_send(Upload::Part(Bytes::from(chunk)))
            .map_err(|_| std::io::Error::other("the upload of the staged file failed"))
    }
}

impl Write for UploadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= UPLOAD_CHUNK {
            self.send_buffer()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Uploads the chunks it receives as one object: one PUT when small, a multipart upload
/// otherwise. Aborts the upload when the channel closes without `Finish`.
async fn upload(
    store: Arc<dyn object_store::ObjectStore>,
    key: Path,
    mut chunks: tokio::sync::mpsc::Receiver<Upload>,
) -> std::result::Result<u64, String> {
    let mut writer = BufWriter::with_capacity(store, key, UPLOAD_CHUNK);
    let mut size = 0u64;
    while let Some(message) = chunks.recv().await {
        match message {
            Upload::Part(bytes) => {
                size += bytes.len() as u64;
                if let Err(e) = writer.put(bytes).await {
                    let _ = writer.abort().await;
                    return Err(e.to_string());
                }
            }
            Upload::Finish => {
                return match writer.shutdown().await {
                    Ok(()) => Ok(size),
                    Err(e) => {
                        let _ = writer.abort().await;
                        Err(e.to_string())
                    }
                };
            }
        }
    }
    let _ = writer.abort().await;
    Err("the staged file was abandoned".into())
}
