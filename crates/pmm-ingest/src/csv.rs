//! CSV files: UTF-8 (a leading byte-order mark is accepted), a header row, comma separator,
//! RFC 4180 quoting, an empty field is null. Columns are read as text and converted by the
//! validator, so every record is parsed exactly once.

use std::io::{BufRead, BufReader, Cursor, Read};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::error::ArrowError;
use pmm_catalog::Limits;

use crate::Result;
use crate::batches::Batches;
use crate::csv_fast::CsvDecoder;
use crate::csv_parallel::Pool;
use crate::issue::Rule;
use crate::limits::{RecordLimit, Records, first_record, limit_exceeded};
use crate::object_reader::{TextStart, changed_while_read, is_download_failure};
use crate::validate::DatasetValidator;

/// Rows per batch: large enough for vectorised checks, small enough to bound memory.
const BATCH_ROWS: usize = 65_536;

/// Bytes read from the object at a time.
pub(crate) const READ_BUFFER: usize = 1 << 20;

/// Reads a CSV file, streamed from `input`, into `validator`. Problems with the file itself
/// (no header, bad UTF-8, a record with the wrong number of fields, a record or header past
/// `limits`, a read that fails midway) reject the dataset with an issue that names the
/// record; they are not errors of this function, which fails only on a bug. Memory stays
/// bounded by one batch of records, each at most `limits.max_record_bytes`.
pub fn read_csv(
    input: impl Read + Send,
    validator: &mut DatasetValidator<'_>,
    limits: &Limits,
) -> Result<()> {
    read_csv_with(input, validator, limits, CsvPath::Parallel(Pool::global()))
}

/// How a CSV file is read (tests compare the three; a run reads `Parallel`).
#[derive(Clone, Copy)]
pub(crate) enum CsvPath<'p> {
    /// arrow's decoder alone.
    #[cfg_attr(not(test), allow(dead_code))]
    Arrow,
    /// The fast path for plain records (see [`crate::csv_fast`]), arrow's decoder after it.
    #[cfg_attr(not(test), allow(dead_code))]
    Fast,
    /// The fast path on chunks of the file parsed by the pool's workers at once (see
    /// [`crate::csv_parallel`]), the fast path and arrow's decoder on one thread after it.
    Parallel(&'p Pool),
}

/// [`read_csv`] along `path`.
pub(crate) fn read_csv_with(
    input: impl Read + Send,
    validator: &mut DatasetValidator<'_>,
    limits: &Limits,
    path: CsvPath<'_>,
) -> Result<()> {
    let mut input = BufReader::with_capacity(
        READ_BUFFER,
        RecordLimit::new(TextStart::new(input), Records::Csv, limits),
    );
    // The header is the first record as the parser reads it (a quoted name may hold a line
    // end; a line may end with CR alone), so the bytes after it are the parser's too.
    let mut header = Vec::new();
    let mut rest = Vec::new();
    let mut fields = None;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) => {
                reject_read(
                    validator,
                    Some(&e),
                    format!("the header row cannot be read: {e}"),
                );
                return Ok(());
            }
        };
        if chunk.is_empty() {
            break;
        }
        header.extend_from_slice(chunk);
        let n = chunk.len();
        input.consume(n);
        // The header is at most `max_record_bytes` (the limiter stops it), so scanning it
        // again from its start as chunks arrive stays cheap.
        if let Some((end, n)) = first_record(&header, false) {
            rest = header.split_off(end);
            fields = Some(n);
            break;
        }
    }
    let first_line = header
        .split(|b| matches!(b, b'\r' | b'\n'))
        .next()
        .unwrap_or_default();
    if first_line.iter().all(u8::is_ascii_whitespace) {
        let rest_is_empty = header.iter().all(u8::is_ascii_whitespace)
            && rest.iter().all(u8::is_ascii_whitespace)
            && match input.fill_buf() {
                Ok(more) => more.iter().all(u8::is_ascii_whitespace),
                Err(_) => false,
            };
        let message = if rest_is_empty {
            "the file is empty: a CSV file needs a header row"
        } else {
            "the first line is empty: a CSV file starts with its header row"
        };
        validator.reject(Rule::MissingHeader, None, message.into());
        return Ok(());
    }
    // Counted in the same scan that found the header's end (or, when the file is only its
    // header, over all of it).
    let fields = fields
        .or_else(|| first_record(&header, true).map(|(_, n)| n))
        .unwrap_or(1);
    if fields > limits.max_columns {
        validator.reject(
            Rule::MaxColumns,
            None,
            format!(
                "the header has {fields} columns, more than {} (limits.max_columns): the file is not read further",
                limits.max_columns
            ),
        );
        return Ok(());
    }
    let names = match Format::default()
        .with_header(true)
        .infer_schema(Cursor::new(&header), Some(0))
    {
        Ok((schema, _)) => schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>(),
        Err(e) => {
            validator.reject(
                Rule::Unreadable,
                None,
                format!("the header row cannot be read: {}", clean(&e.to_string())),
            );
            return Ok(());
        }
    };
    if !validator.check_columns(&names) {
        return Ok(());
    }
    let text_schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    // Only the contract's columns become arrays; the others are parsed and dropped.
    let projection: Vec<usize> = (0..names.len())
        .filter(|&i| validator.contract().column(&names[i]).is_some())
        .collect();
    let kept = if projection.is_empty() {
        (0..names.len()).collect()
    } else {
        let used: Vec<String> = projection.iter().map(|&i| names[i].clone()).collect();
        validator.use_columns(&used);
        projection
    };
    let rows = batch_rows(names.len(), limits);
    let fast = !matches!(path, CsvPath::Arrow);
    let decoder = CsvDecoder::new(text_schema, header.clone(), kept, rows, fast)
        .map_err(|e| crate::Error::Internal(format!("the header's fields: {e}")))?;
    let header_bytes = header.len();
    let input = BufReader::with_capacity(
        READ_BUFFER,
        Cursor::new(header).chain(Cursor::new(rest)).chain(input),
    );
    let budget = usize::try_from(limits.max_batch_bytes / 2).unwrap_or(usize::MAX);
    let plain = decoder.plain_chunks();
    match (path, plain) {
        (CsvPath::Parallel(pool), Some(plain)) => {
            let plan = crate::csv_parallel::Plan {
                plain,
                header: header_bytes,
                budget,
                batch_rows: rows,
            };
            crate::csv_parallel::read(
                input,
                plan,
                pool,
                validator,
                |validator, skip, flushed, rest| {
                    let decoder = decoder.starting_at(skip, flushed);
                    let rest = BufReader::with_capacity(READ_BUFFER, rest);
                    feed_from(
                        Batches::new(rest, decoder, budget),
                        validator,
                        clean,
                        flushed + 1,
                    )
                },
            )
        }
        _ => feed(Batches::new(input, decoder, budget), validator, clean),
    }
}

/// Records per CSV batch: 65,536, fewer for a wide header. arrow's decoder sets aside a field
/// offset (8 bytes) and an estimated 8 bytes of text per field of every record of a batch
/// before reading it: for 1,000 columns, 1 GB. Fewer records keep that within half of
/// `limits.max_batch_bytes`; the text itself is the other half (see [`Batches`]).
fn batch_rows(columns: usize, limits: &Limits) -> usize {
    let per_record = 16 * columns.max(1) as u64;
    (limits.max_batch_bytes / 2 / per_record).clamp(1, BATCH_ROWS as u64) as usize
}

/// Batches decoded ahead of the validator: one in the channel, one being built.
const DECODED_AHEAD: usize = 1;

/// Pushes every batch of a text reader through the validator, numbering records from 1. A
/// batch the reader cannot produce rejects the dataset, naming the last record read.
///
/// The batches are decoded on a thread of their own while the validator checks and stages
/// the ones before (a pipeline of two stages, in file order): a file read alone, a member's
/// one large file, keeps two cores busy. At most [`DECODED_AHEAD`] batches wait between the
/// two, so memory stays a few batches; when the validator stops taking batches, the decoding
/// thread stops at its next one. A panic on either side is the reading thread's.
pub(crate) fn feed<I>(
    batches: I,
    validator: &mut DatasetValidator<'_>,
    describe: impl Fn(&str) -> String,
) -> Result<()>
where
    I: Iterator<Item = Result<RecordBatch, ArrowError>> + Send,
{
    feed_from(batches, validator, describe, 1)
}

/// [`feed`], the first batch's first record being `first_record`.
fn feed_from<I>(
    batches: I,
    validator: &mut DatasetValidator<'_>,
    describe: impl Fn(&str) -> String,
    first_record: u64,
) -> Result<()>
where
    I: Iterator<Item = Result<RecordBatch, ArrowError>> + Send,
{
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(DECODED_AHEAD);
        std::thread::Builder::new()
            .name("pmm-decode".into())
            .spawn_scoped(scope, move || {
                for batch in batches {
                    if sender.send(batch).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| crate::Error::Internal(format!("cannot start a decoding thread: {e}")))?;
        feed_in_order(receiver.into_iter(), validator, describe, first_record)
    })
}

/// [`feed`]'s validating side.
fn feed_in_order(
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
    validator: &mut DatasetValidator<'_>,
    describe: impl Fn(&str) -> String,
    first_record: u64,
) -> Result<()> {
    let mut next_record = first_record;
    for batch in batches {
        match batch {
            Ok(batch) => {
                validator.push_columns(batch.columns(), next_record)?;
                next_record += batch.num_rows() as u64;
            }
            Err(e) => {
                read_failed(validator, next_record, &e, &describe);
                break;
            }
        }
    }
    Ok(())
}

/// Rejects a dataset whose records could not be read past the one before `next_record`.
fn read_failed(
    validator: &mut DatasetValidator<'_>,
    next_record: u64,
    e: &ArrowError,
    describe: impl Fn(&str) -> String,
) {
    let message = format!(
        "the file cannot be read past record {}: {}",
        next_record.saturating_sub(1),
        describe(&e.to_string())
    );
    let io = match e {
        ArrowError::IoError(_, io) => Some(io),
        _ => None,
    };
    reject_read(validator, io, message);
}

/// Rejects a dataset for an error met while its bytes were read (`io`, when it was an I/O
/// error): a limit or a shape the readers refuse as itself, a file that changed as
/// `changed_while_read`, a broken download as the store's fault (`message`, kept for no later
/// run), anything else as `unreadable` with `message`.
fn reject_read(validator: &mut DatasetValidator<'_>, io: Option<&std::io::Error>, message: String) {
    if let Some(limit) = io.and_then(limit_exceeded) {
        validator.reject_limit(limit);
    } else if let Some(changed) = io.and_then(changed_while_read) {
        validator.reject_changed(changed.to_string());
    } else if io.is_some_and(is_download_failure) {
        validator.reject_transient(message);
    } else {
        validator.reject(Rule::Unreadable, None, message);
    }
}

/// Arrow's messages start with the error kind ("Csv error: ..."); the user needs the rest.
fn clean(message: &str) -> String {
    crate::text::shown_within(
        message
            .strip_prefix("Csv error: ")
            .or_else(|| message.strip_prefix("Parser error: "))
            .or_else(|| message.strip_prefix("Io error: "))
            .unwrap_or(message),
    )
}
