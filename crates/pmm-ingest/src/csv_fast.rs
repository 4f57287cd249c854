//! The CSV fast path: records without quotes or carriage returns are split on commas and line
//! feeds straight into text columns, and arrow's CSV decoder takes over, for the rest of the
//! file, from the first batch where that does not hold.
//!
//! arrow's decoder runs each byte through csv-core's state machine, copies every field into a
//! buffer, and copies it again into the batch's text arrays. Most submitted files are plain:
//! no quotes, `\n` line ends. For those, a record is a line and a field is what lies between
//! commas; [`CsvDecoder`] finds them with `memchr` over the bytes as they arrive and copies
//! each kept field once, into its column.
//!
//! The two paths must give the same batches, the same records in them, and the same errors with
//! the same words, since a rejected file's issue quotes arrow's message ("incorrect number of
//! fields for line 1205, expected 14 got 13"). So the fast path never writes a message of its
//! own: at anything it does not handle (a quote, a carriage return, a record with too many or
//! too few fields, a byte that is not UTF-8, a flush part way through a record) it hands the
//! batch over to arrow's decoder, built as the slow path builds it, and that decoder reads the
//! batch's bytes again from the batch's start, then everything after. Before that, the decoder
//! is fed the header and one short record for every record already given out, so that the
//! line numbers it counts, and so its messages, are the ones it would have given had it read
//! the whole file. That costs a few bytes per record read so far, once per file.
//!
//! Why the batch is read again from its start, and the bytes of the call where the fast path
//! stopped given whole: arrow reports some errors only when a batch ends (UTF-8), and words
//! others by how much room its buffers had when a bad record arrived ("got more than 2" or
//! "got 3"), which depends on where the record stands in its batch and on how its bytes were
//! cut into calls. The batch's bytes before that call, in one call, leave arrow's buffers as
//! the calls that brought them would have (every record in them is whole and well formed),
//! and the call itself is then arrow's own. The differential tests below cut files at random.

use std::sync::Arc;

use datafusion::arrow::array::builder::NullBufferBuilder;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::csv::reader::Decoder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;

use crate::batches::RecordDecoder;

/// Bytes copied at once for a short field.
const WORD: usize = 16;

/// Builds arrow's decoder for a file, configured as the slow path configures it (header
/// skipped, projection, batch size).
type MakeDecoder = Box<dyn Fn() -> Decoder + Send>;

/// A CSV record decoder: the fast path while the file allows it, arrow's decoder after.
pub(crate) struct CsvDecoder {
    mode: Mode,
    make: MakeDecoder,
    /// The header record's bytes, with its line end, as the file gives them.
    header: Vec<u8>,
    /// Fields per record (the header's).
    columns: usize,
    /// Records per batch.
    batch_rows: usize,
    /// Records given out in flushed batches, so far.
    flushed: u64,
}

enum Mode {
    Fast(Fast),
    Arrow(Box<Decoder>),
}

/// The fast path's batch under way.
struct Fast {
    /// The fields kept, in the order of the batch's columns.
    kept: Vec<usize>,
    schema: SchemaRef,
    /// Header bytes still to be passed over.
    skip: usize,
    /// The bytes taken since the last flush: records, blank lines, and the start of a record
    /// whose line has not ended yet.
    raw: Vec<u8>,
    /// Where each whole record starts in `raw`.
    starts: Vec<usize>,
    /// Where each field ends in `raw` (at its comma or line end), `columns` per whole record,
    /// then those of the record under way.
    ends: Vec<usize>,
    /// Where the record under way (or the next) starts in `raw`.
    line: usize,
    /// The file's end was met, and ended the last record (which had no line end).
    ended: bool,
}

/// What the fast path made of some bytes.
enum Step {
    /// Took this many bytes.
    Took(usize),
    /// Cannot go on: arrow's decoder reads the batch from its start up to the bytes given,
    /// then those bytes.
    Handover,
}

impl CsvDecoder {
    /// A decoder of a file whose header record is `header` (with its line end), its fields
    /// read as `schema` (text, one field per header name); the batches hold the fields `kept`,
    /// `batch_rows` records each. `fast` false reads with arrow's decoder alone.
    pub(crate) fn new(
        schema: SchemaRef,
        header: Vec<u8>,
        kept: Vec<usize>,
        batch_rows: usize,
        fast: bool,
    ) -> Result<Self, ArrowError> {
        let columns = schema.fields().len();
        let batch_schema = Arc::new(schema.project(&kept)?);
        let projection = kept.clone();
        let make: MakeDecoder = Box::new(move || {
            ReaderBuilder::new(schema.clone())
                .with_header(true)
                .with_batch_size(batch_rows)
                .with_projection(projection.clone())
                .build_decoder()
        });
        // A header with a quote or a carriage return is read by arrow from the start (nothing
        // to hand over): its records most likely have them too.
        let plain = !header.contains(&b'"') && !header.contains(&b'\r');
        let batch_rows = batch_rows.max(1);
        let mode = if fast && plain && columns > 0 {
            Mode::Fast(Fast {
                kept,
                schema: batch_schema,
                skip: header.len(),
                raw: Vec::new(),
                starts: Vec::new(),
                ends: Vec::new(),
                line: 0,
                ended: false,
            })
        } else {
            Mode::Arrow(Box::new(make()))
        };
        Ok(CsvDecoder {
            mode,
            make,
            header,
            columns,
            batch_rows,
            flushed: 0,
        })
    }

    /// How plain chunks of this file are parsed on other threads (see [`PlainChunks`]), when
    /// the fast path reads it: its header holds no quote and no carriage return.
    pub(crate) fn plain_chunks(&self) -> Option<PlainChunks> {
        match &self.mode {
            Mode::Fast(fast) => Some(PlainChunks {
                kept: fast.kept.clone(),
                schema: fast.schema.clone(),
                columns: self.columns,
            }),
            Mode::Arrow(_) => None,
        }
    }

    /// This decoder, not yet fed, set to read a file from one of its batches on: `skip` header
    /// bytes to pass over first (none unless the batch is the first), `flushed` records given
    /// out before (so that arrow's line numbers, if it takes over, are the whole file's).
    pub(crate) fn starting_at(mut self, skip: usize, flushed: u64) -> Self {
        if let Mode::Fast(fast) = &mut self.mode {
            fast.skip = skip;
        }
        self.flushed = flushed;
        self
    }

    /// Whether the fast path is still reading (for tests).
    #[cfg(test)]
    pub(crate) fn is_fast(&self) -> bool {
        matches!(self.mode, Mode::Fast(_))
    }

    /// Arrow's decoder: the one reading, or, on the fast path, a new one the batch under way
    /// is handed to, primed so that its line numbers go on from the records already given out.
    fn arrow(&mut self) -> Result<&mut Decoder, ArrowError> {
        if let Mode::Fast(fast) = &mut self.mode {
            let (raw, ended) = (std::mem::take(&mut fast.raw), fast.ended);
            let mut decoder = (self.make)();
            feed(&mut decoder, &self.header, true)?;
            // One short record per record given out: arrow counts lines as it reads records.
            let mut record = vec![b'0'; 2 * self.columns];
            for (i, byte) in record.iter_mut().enumerate().skip(1).step_by(2) {
                *byte = if i + 1 == 2 * self.columns {
                    b'\n'
                } else {
                    b','
                };
            }
            let block = decoder.capacity().max(1);
            let mut left = self.flushed;
            while left > 0 {
                let n = left.min(block as u64) as usize;
                feed(&mut decoder, &record.repeat(n), true)?;
                left -= n as u64;
            }
            // The batch under way, read again from its start.
            feed(&mut decoder, &raw, false)?;
            if ended {
                decoder.decode(&[])?;
            }
            self.mode = Mode::Arrow(Box::new(decoder));
        }
        match &mut self.mode {
            Mode::Arrow(decoder) => Ok(decoder),
            Mode::Fast(_) => Err(ArrowError::ComputeError(
                "the CSV fast path did not hand over (a bug in pmm)".into(),
            )),
        }
    }
}

/// Feeds all of `bytes` to `decoder`. A batch that fills on the way is dropped when `discard`
/// (priming), and is a bug otherwise (a batch handed over is fewer records than a batch).
fn feed(decoder: &mut Decoder, bytes: &[u8], discard: bool) -> Result<(), ArrowError> {
    let mut at = 0;
    while at < bytes.len() {
        let took = decoder.decode(&bytes[at..])?;
        at += took;
        if at < bytes.len() {
            // The decoder stopped early: its batch is full (or it has just passed the header).
            let batch = decoder.flush()?;
            if batch.is_some() && !discard {
                return Err(ArrowError::ComputeError(
                    "the CSV batch handed over filled before its end (a bug in pmm)".into(),
                ));
            }
            if took == 0 && batch.is_none() {
                return Err(ArrowError::ComputeError(
                    "the CSV decoder took nothing while being primed (a bug in pmm)".into(),
                ));
            }
        }
    }
    if discard {
        decoder.flush()?;
    }
    Ok(())
}

impl Fast {
    fn records(&self) -> usize {
        self.starts.len()
    }

    /// Takes what it can of `bytes` (all, unless the batch of `batch_rows` records fills), or
    /// says that arrow must take over. An empty `bytes` is the end of the file.
    fn decode(&mut self, bytes: &[u8], columns: usize, batch_rows: usize) -> Step {
        if bytes.is_empty() {
            if self.line == self.raw.len() || self.records() == batch_rows {
                return Step::Took(0);
            }
            // The last record, without a line end.
            self.ends.push(self.raw.len());
            if self.ends.len() - self.records() * columns != columns {
                return Step::Handover;
            }
            self.starts.push(self.line);
            self.line = self.raw.len();
            self.ended = true;
            return Step::Took(0);
        }
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            return Step::Took(n);
        }
        if self.records() == batch_rows {
            return Step::Took(0);
        }
        if memchr::memchr2(b'"', b'\r', bytes).is_some() {
            return Step::Handover;
        }
        let base = self.raw.len();
        self.raw.extend_from_slice(bytes);
        let step = self.scan(base, columns, batch_rows);
        if matches!(step, Step::Handover) {
            self.raw.truncate(base);
        }
        step
    }

    /// Finds the records and fields in `raw` from `base` on (bytes with no quote and no
    /// carriage return), as far as `batch_rows` records.
    fn scan(&mut self, base: usize, columns: usize, batch_rows: usize) -> Step {
        for at in memchr::memchr2_iter(b',', b'\n', &self.raw[base..]) {
            let at = base + at;
            if self.raw[at] == b',' {
                self.ends.push(at);
                if self.ends.len() - self.records() * columns >= columns {
                    return Step::Handover;
                }
                continue;
            }
            if at == self.line {
                // A blank line, which the parser skips.
                self.line = at + 1;
                continue;
            }
            self.ends.push(at);
            if self.ends.len() - self.records() * columns != columns {
                return Step::Handover;
            }
            self.starts.push(self.line);
            self.line = at + 1;
            if self.records() == batch_rows {
                self.raw.truncate(at + 1);
                return Step::Took(at + 1 - base);
            }
        }
        Step::Took(self.raw.len() - base)
    }

    /// The kept fields of the whole records, as text columns. One pass over the records in
    /// file order sizes the columns, a second fills them (`raw` and `ends` are read in order,
    /// each once a pass, which keeps a batch of megabytes fast). A short field is copied as a
    /// whole word, the bytes after it in `raw` coming along and being cut off (it spares a call
    /// to `memcpy` per field); `raw` ends with a word of padding for that.
    fn columns(&self, columns: usize) -> Result<Vec<ArrayRef>, ArrowError> {
        let rows = self.records();
        let span = |r: usize, line: usize, field: usize| {
            let start = if field == 0 {
                line
            } else {
                self.ends[r * columns + field - 1] + 1
            };
            (start, self.ends[r * columns + field])
        };
        let mut bytes = vec![0usize; self.kept.len()];
        for (r, &line) in self.starts.iter().enumerate() {
            for (total, &field) in bytes.iter_mut().zip(&self.kept) {
                let (start, end) = span(r, line, field);
                *total += end - start;
            }
        }
        if bytes.iter().any(|&b| i32::try_from(b).is_err()) {
            return Err(ArrowError::CsvError(
                "a CSV batch's column passed 2 GiB".into(),
            ));
        }
        let mut built: Vec<(Vec<u8>, Vec<i32>, NullBufferBuilder)> = bytes
            .iter()
            .map(|&b| {
                let mut offsets = Vec::with_capacity(rows + 1);
                offsets.push(0i32);
                (
                    Vec::with_capacity(b + WORD),
                    offsets,
                    NullBufferBuilder::new(rows),
                )
            })
            .collect();
        for (r, &line) in self.starts.iter().enumerate() {
            for ((values, offsets, nulls), &field) in built.iter_mut().zip(&self.kept) {
                let (start, end) = span(r, line, field);
                let length = end - start;
                if length <= WORD {
                    let at = values.len();
                    values.extend_from_slice(&self.raw[start..start + WORD]);
                    values.truncate(at + length);
                } else {
                    values.extend_from_slice(&self.raw[start..end]);
                }
                // Within 2 GiB: checked above.
                offsets.push(values.len() as i32);
                // An empty field is null, as arrow's reader reads it.
                nulls.append(length > 0);
            }
        }
        built
            .into_iter()
            .map(|(values, offsets, mut nulls)| {
                let array = StringArray::try_new(
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Buffer::from_vec(values),
                    nulls.finish(),
                )?;
                Ok(Arc::new(array) as ArrayRef)
            })
            .collect()
    }

    /// The batch of the whole records taken since the last flush, or `None` when arrow must
    /// build it (a byte that is not UTF-8, a record under way).
    fn flush(&mut self, columns: usize) -> Option<Result<Option<RecordBatch>, ArrowError>> {
        if self.records() == 0 {
            // Blank lines only (or nothing): the parser gives no batch.
            if self.line == self.raw.len() {
                self.raw.clear();
                self.line = 0;
                self.ends.clear();
            }
            return Some(Ok(None));
        }
        if self.line != self.raw.len() || std::str::from_utf8(&self.raw).is_err() {
            return None;
        }
        Some(self.build(columns))
    }

    /// The batch of the whole records in `raw` (checked: UTF-8, no record under way); `raw`
    /// is left empty, unless the batch cannot be built.
    fn build(&mut self, columns: usize) -> Result<Option<RecordBatch>, ArrowError> {
        let rows = self.records();
        // Room for the last field's whole-word copy (see `columns`).
        let length = self.raw.len();
        self.raw.extend_from_slice(&[0; WORD]);
        let arrays = match self.columns(columns) {
            Ok(arrays) => arrays,
            Err(e) => {
                self.raw.truncate(length);
                return Err(e);
            }
        };
        self.raw.clear();
        self.starts.clear();
        self.ends.clear();
        self.line = 0;
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map(Some)
    }
}

/// The fast path for one chunk of a file's records, cut at record boundaries (see
/// `csv_parallel`): a chunk of plain records becomes the batch the fast path would give for
/// the same records, on whatever thread parses it.
#[derive(Clone)]
pub(crate) struct PlainChunks {
    kept: Vec<usize>,
    schema: SchemaRef,
    columns: usize,
}

impl PlainChunks {
    /// The batch of `bytes`, whole records with no quote and no carriage return (the last
    /// one may lack its line end when the chunk `ends_file`), after `skip` header bytes; or
    /// `bytes` back, untouched, when the fast path would hand the chunk to arrow's decoder (a
    /// record with too many or too few fields, a byte that is not UTF-8) or it holds no record.
    /// With the batch comes `bytes`' buffer, emptied, for the next chunk.
    pub(crate) fn parse(
        &self,
        bytes: Vec<u8>,
        skip: usize,
        ends_file: bool,
    ) -> Result<(RecordBatch, Vec<u8>), Vec<u8>> {
        let skip = skip.min(bytes.len());
        let mut fast = Fast {
            kept: self.kept.clone(),
            schema: self.schema.clone(),
            skip: 0,
            raw: bytes,
            starts: Vec::new(),
            ends: Vec::new(),
            line: skip,
            ended: false,
        };
        // The fields are found where the bytes lie: no copy into a buffer of the parser's.
        if matches!(fast.scan(skip, self.columns, usize::MAX), Step::Handover)
            || (ends_file && matches!(fast.decode(&[], self.columns, usize::MAX), Step::Handover))
        {
            return Err(fast.raw);
        }
        if fast.line != fast.raw.len()
            || fast.records() == 0
            || std::str::from_utf8(&fast.raw[skip..]).is_err()
        {
            return Err(fast.raw);
        }
        let batch = match fast.build(self.columns) {
            Ok(Some(batch)) => batch,
            _ => return Err(fast.raw),
        };
        Ok((batch, fast.raw))
    }
}

impl RecordDecoder for CsvDecoder {
    fn decode(&mut self, bytes: &[u8]) -> Result<usize, ArrowError> {
        let step = match &mut self.mode {
            Mode::Arrow(decoder) => return decoder.decode(bytes),
            Mode::Fast(fast) => fast.decode(bytes, self.columns, self.batch_rows),
        };
        match step {
            Step::Took(n) => Ok(n),
            Step::Handover => self.arrow()?.decode(bytes),
        }
    }

    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        let built = match &mut self.mode {
            Mode::Arrow(decoder) => decoder.flush(),
            Mode::Fast(fast) => match fast.flush(self.columns) {
                Some(built) => built,
                None => self.arrow()?.flush(),
            },
        };
        if let Ok(Some(batch)) = &built {
            self.flushed += batch.num_rows() as u64;
        }
        built
    }

    fn records(&self) -> usize {
        match &self.mode {
            Mode::Fast(fast) => fast.records(),
            // The same count either way: a handover within a call to `decode` must not look
            // like a record ending.
            Mode::Arrow(decoder) => self.batch_rows.saturating_sub(decoder.capacity()),
        }
    }

    fn full(&self) -> bool {
        self.records() >= self.batch_rows
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use proptest::prelude::*;

    use super::*;
    use crate::batches::Batches;

    /// What a reader gave, batch by batch: each record's kept values, or the error's words.
    type Given = Vec<Result<Vec<Vec<Option<String>>>, String>>;

    /// Reads `text` (whose header has `columns` fields) through [`Batches`] with `budget`
    /// bytes a batch, `buffer` bytes a read, `rows` records a batch, keeping `kept`; and whether
    /// the fast path was still reading at the end.
    fn read(
        text: &[u8],
        columns: usize,
        kept: &[usize],
        (budget, buffer, rows): (usize, usize, usize),
        fast: bool,
    ) -> (Given, bool) {
        let schema = Arc::new(Schema::new(
            (0..columns)
                .map(|i| Field::new(format!("c{i}"), DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let header_end = memchr::memchr(b'\n', text).map_or(text.len(), |i| i + 1);
        let header = text[..header_end].to_vec();
        let decoder = CsvDecoder::new(schema, header, kept.to_vec(), rows, fast)
            .expect("fields of the header");
        let mut batches = Batches::new(BufReader::with_capacity(buffer, text), decoder, budget);
        let mut given = Vec::new();
        for batch in batches.by_ref() {
            given.push(batch.map_err(|e| e.to_string()).map(|b| {
                (0..b.num_rows())
                    .map(|row| {
                        (b.columns().iter())
                            .map(|c| {
                                let c = c.as_string::<i32>();
                                c.is_valid(row).then(|| c.value(row).to_string())
                            })
                            .collect()
                    })
                    .collect()
            }));
        }
        let still_fast = batches.decoder().is_fast();
        (given, still_fast)
    }

    /// A field: mostly plain text or empty, sometimes a quote, a carriage return, a byte that
    /// is not UTF-8, a multi-byte character.
    fn field() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => "[a-z0-9 .-]{0,6}".prop_map(String::into_bytes),
            2 => Just(Vec::new()),
            1 => Just(b"\"q,\"\"x\"".to_vec()),
            1 => Just(b"a\"b".to_vec()),
            1 => Just(b"x\ry".to_vec()),
            1 => Just(vec![b'z', 0xff]),
            1 => Just(vec![0xc3]),
            1 => Just("é€".as_bytes().to_vec()),
        ]
    }

    /// A record of about `columns` fields (sometimes fewer or more), and its line end.
    fn record(columns: usize, odd: u32) -> impl Strategy<Value = Vec<u8>> {
        let count = prop_oneof![
            20 => Just(columns),
            odd => Just(columns.saturating_sub(1)),
            odd => Just(columns + 1),
            odd => columns + 2..columns * 8 + 3,
        ];
        let end = prop_oneof![
            12 => Just(&b"\n"[..]),
            2 => Just(&b"\n\n"[..]),
            1 => Just(&b"\r\n"[..]),
            1 => Just(&b"\r"[..]),
        ];
        (
            count.prop_flat_map(|n| proptest::collection::vec(field(), n)),
            end,
        )
            .prop_map(|(fields, end)| {
                let mut line = fields.join(&b","[..]);
                line.extend_from_slice(end);
                line
            })
    }

    /// A file: a header of `columns` fields, records, and maybe no line end at the end.
    fn file(odd: u32) -> impl Strategy<Value = (usize, Vec<u8>)> {
        (1usize..5).prop_flat_map(move |columns| {
            (
                Just(columns),
                proptest::collection::vec(record(columns, odd), 0..40),
                any::<bool>(),
            )
                .prop_map(|(columns, records, cut_last)| {
                    let header: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
                    let mut text = header.join(",").into_bytes();
                    text.push(b'\n');
                    for r in records {
                        text.extend_from_slice(&r);
                    }
                    if cut_last && text.last() == Some(&b'\n') {
                        text.pop();
                    }
                    (columns, text)
                })
        })
    }

    fn kept(columns: usize) -> impl Strategy<Value = Vec<usize>> {
        proptest::sample::subsequence((0..columns).collect::<Vec<_>>(), 1..=columns)
    }

    proptest! {
        /// The fast path gives what arrow's decoder gives: the same batches, the same records
        /// and values in them, and the same errors in the same words, at the same place,
        /// whatever the file holds (quotes, carriage returns, blank lines, records too short
        /// or too long, bytes that are not UTF-8) and however it is cut.
        #[test]
        fn the_fast_path_reads_as_arrow_reads(
            (columns, text, kept) in file(1).prop_flat_map(|(c, t)| (Just(c), Just(t), kept(c))),
            budget in 1usize..200,
            buffer in 1usize..64,
            rows in 1usize..8,
        ) {
            let cut = (budget, buffer, rows);
            let (fast, _) = read(&text, columns, &kept, cut, true);
            let (arrow, _) = read(&text, columns, &kept, cut, false);
            prop_assert_eq!(fast, arrow);
        }

        /// A plain file (no quotes, no carriage returns, UTF-8, every record whole) is read by
        /// the fast path to its end, as arrow reads it.
        #[test]
        fn a_plain_file_stays_on_the_fast_path(
            (columns, text, kept) in file(0).prop_flat_map(|(c, t)| (Just(c), Just(t), kept(c))),
            budget in 1usize..200,
            buffer in 1usize..64,
            rows in 1usize..8,
        ) {
            let plain = !text.iter().any(|b| matches!(b, b'"' | b'\r'))
                && std::str::from_utf8(&text).is_ok();
            let cut = (budget, buffer, rows);
            let (fast, still_fast) = read(&text, columns, &kept, cut, true);
            let (arrow, _) = read(&text, columns, &kept, cut, false);
            prop_assert_eq!(&fast, &arrow);
            prop_assert_eq!(still_fast, plain);
        }
    }

    /// A record with the wrong number of fields deep in a file is named by arrow's line
    /// number, counted from the header, after batches the fast path gave out.
    #[test]
    fn a_handover_keeps_arrows_line_numbers() {
        let mut text = b"a,b\n".to_vec();
        for i in 0..1000 {
            text.extend_from_slice(format!("{i},x\n").as_bytes());
        }
        text.extend_from_slice(b"1,2,3\n4,5\n");
        let (given, _) = read(&text, 2, &[0, 1], (1 << 20, 4096, 64), true);
        let Some(Err(message)) = given.last() else {
            panic!("the last batch is an error: {given:?}");
        };
        assert_eq!(
            message,
            "Csv error: incorrect number of fields for line 1002, expected 2 got 3"
        );
        let records: usize = given.iter().flatten().map(Vec::len).sum();
        assert_eq!(records, 960, "15 whole batches of 64 before the bad one's");
    }
}
