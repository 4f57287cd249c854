//! The pipeline's `limits:` enforced while a file streams in: a file costs the run about as
//! much as the limit, whatever it claims. Readers wrap the object's bytes; past a limit they
//! fail with a [`LimitExceeded`] inside the `io::Error`, which the parsers pass on and the
//! dataset's reader turns into an issue.
//!
//! Why one file of this length (about 430 lines before its tests): every limit a text file
//! meets while it streams, with the record scanners that must see records as the parsers do,
//! is here, so that a limit and its parser's rules are read side by side.

use std::collections::HashSet;
use std::io::{self, Read};

use pmm_catalog::Limits;

use crate::issue::Rule;

/// A limit that a file went past, or a shape its reader refuses before the parser sees it
/// (a JSON value over two lines, a key given twice, an archive under a text file's name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// A record (or the header, record 0) longer than `max_record_bytes`.
    #[error("{} is longer than {} (limits.max_record_bytes): the file is not read further", record_name(*.record), human(*.limit))]
    Record {
        /// 0 for the header, else the 1-based record number.
        record: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// An object that decompresses past `max_decompressed_bytes`.
    #[error("the file decompresses to more than {} (limits.max_decompressed_bytes): the file is not read further", human(*.limit))]
    Decompressed {
        /// The limit in bytes.
        limit: u64,
    },
    /// A JSON lines record whose value does not end on its line.
    #[error(
        "record {record} does not end on its line: a JSON lines file holds one object per line, each on a single line"
    )]
    SpansLines {
        /// The 1-based record number.
        record: u64,
    },
    /// A second JSON value on the line of record `record`.
    #[error(
        "record {record} has more text after its JSON value on the same line: a JSON lines file holds one object per line"
    )]
    TwoValues {
        /// The 1-based record number.
        record: u64,
    },
    /// A JSON lines record whose object gives one key twice.
    #[error(
        "record {record} gives the key `{}` twice: each key of a JSON object may appear once (pmm does not guess which value was meant)",
        crate::text::shown(key)
    )]
    DuplicateKey {
        /// The 1-based record number.
        record: u64,
        /// The key, as text.
        key: String,
    },
    /// A container (an archive, a compressed or Parquet file, a workbook) under a text
    /// file's name, seen in its first bytes.
    #[error("the file is {what}, not text{}", if advice.is_empty() { String::new() } else { format!(": {advice}") })]
    Container {
        /// What it is.
        what: &'static str,
        /// What the member should do.
        advice: &'static str,
    },
    /// A Parquet file whose records decode to more than `max_decompressed_bytes` in all.
    #[error("the file's records decode to more than {} (limits.max_decompressed_bytes): the file is not read further", human(*.limit))]
    Decoded {
        /// The limit in bytes.
        limit: u64,
    },
    /// A Parquet footer that claims more than `max_footer_bytes`.
    #[error("the file's footer (its metadata) claims {}, more than {} (limits.max_footer_bytes): it is not read", human(*.claimed), human(*.limit))]
    Footer {
        /// The footer's length as the file states it.
        claimed: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A Parquet schema with more columns (or elements) than `max_columns` allows.
    #[error("the file's schema has more than {limit} {what} (limits.max_columns): it is not read")]
    Columns {
        /// How many were counted when the limit was passed.
        found: u64,
        /// The limit.
        limit: u64,
        /// What was counted.
        what: &'static str,
    },
    /// A Parquet schema that nests a column deeper than `max_nesting`.
    #[error(
        "the file's schema nests a column in more than {limit} levels of groups (limits.max_nesting): it is not read"
    )]
    Nesting {
        /// The limit in levels.
        limit: u64,
    },
    /// A Parquet page that claims to decompress to more than `max_batch_bytes`.
    #[error("a page of the file claims to decompress to {}, more than {} (limits.max_batch_bytes): the file is not read further", human(*.claimed), human(*.limit))]
    Page {
        /// The page's uncompressed size as its header states it.
        claimed: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A Parquet row group whose read columns claim more than `max_row_group_bytes`.
    #[error("row group {group} of the file claims {} for the columns pmm reads, more than {} (limits.max_row_group_bytes): the file is not read further (raise the limit, or write the file in smaller row groups)", human(*.claimed), human(*.limit))]
    RowGroup {
        /// The 1-based row group.
        group: u64,
        /// The compressed bytes of its read column chunks, as the footer states them.
        claimed: u64,
        /// The limit in bytes.
        limit: u64,
    },
}

impl LimitExceeded {
    /// The `rule` of the issue: the limit's name.
    pub fn rule(&self) -> Rule {
        match self {
            LimitExceeded::Record { .. } => Rule::MaxRecordBytes,
            LimitExceeded::Decompressed { .. } | LimitExceeded::Decoded { .. } => {
                Rule::MaxDecompressedBytes
            }
            LimitExceeded::SpansLines { .. } | LimitExceeded::TwoValues { .. } => Rule::Unreadable,
            LimitExceeded::DuplicateKey { .. } => Rule::DuplicateColumn,
            LimitExceeded::Container { .. } => Rule::Unreadable,
            LimitExceeded::Footer { .. } => Rule::MaxFooterBytes,
            LimitExceeded::Columns { .. } => Rule::MaxColumns,
            LimitExceeded::Nesting { .. } => Rule::MaxNesting,
            LimitExceeded::Page { .. } => Rule::MaxBatchBytes,
            LimitExceeded::RowGroup { .. } => Rule::MaxRowGroupBytes,
        }
    }

    /// The record the issue names, if any.
    pub fn record(&self) -> Option<u64> {
        match self {
            LimitExceeded::Record { record, .. } if *record > 0 => Some(*record),
            LimitExceeded::SpansLines { record }
            | LimitExceeded::TwoValues { record }
            | LimitExceeded::DuplicateKey { record, .. } => Some(*record),
            _ => None,
        }
    }

    /// The column the issue names, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            LimitExceeded::DuplicateKey { key, .. } => Some(key),
            _ => None,
        }
    }
}

fn record_name(record: u64) -> String {
    if record == 0 {
        "the header row".into()
    } else {
        format!("record {record}")
    }
}

/// A size for messages: `1 MiB`, `64 KiB`, `1000 bytes`.
pub fn human(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// The limit an I/O error stands for, if it is one.
pub fn limit_exceeded(e: &io::Error) -> Option<&LimitExceeded> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitExceeded>())
}

/// How records end in a text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// CSV, as arrow-csv parses it: csv-core's states with its default settings (RFC 4180
    /// quoting with doubled quotes; a quote inside an unquoted field is a literal; CR, LF or
    /// CRLF end a record; blank lines are skipped), followed by [`CsvAt`].
    Csv,
    /// JSON lines: one JSON value per line. A line feed inside a value (which arrow's JSON
    /// reader would read past) or a second value on one line is an error here.
    Lines,
}

/// A JSON text's structure, as far as records go: inside a string or not, and how deep.
#[derive(Debug, Default)]
struct JsonState {
    in_string: bool,
    escaped: bool,
    depth: u64,
    /// A whole value has ended on the current line.
    value_done: bool,
    /// Whether the current line has held a value (or part of one).
    value_on_line: bool,
    /// The line's value is an object (its keys are at depth 1).
    top_object: bool,
    /// At depth 1 of that object, the next string is a key.
    expect_key: bool,
    /// The string being read is a key of that object.
    in_key: bool,
}

/// Where the CSV record scanner is, in the states of csv-core's own machine with the
/// settings arrow-csv gives it (comma, double quote, doubled quotes, no escape, any of CR, LF
/// or CRLF ends a record). Only what decides where records end is kept; fields are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvAt {
    /// Before a record: a line end here is a blank line, which the parser skips.
    StartRecord,
    /// At the start of a field: a quote here opens a quoted field.
    StartField,
    /// In an unquoted field: a quote is a literal character.
    InField,
    /// In a quoted field: commas and line ends are text.
    InQuotes,
    /// Just after a quote in a quoted field: another quote is a literal quote; anything else
    /// goes on as an unquoted field.
    AfterQuote,
}
/// The keys of one JSON object: a few (a record's columns) kept in one buffer and compared
/// one by one, without an allocation per key; past [`LineKeys::FEW`], in a hash set.
#[derive(Debug, Default)]
struct LineKeys {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    many: HashSet<Box<[u8]>>,
}

impl LineKeys {
    const FEW: usize = 32;

    /// Adds `key`; false when the object already has it.
    fn insert(&mut self, key: &[u8]) -> bool {
        if self.ends.len() == Self::FEW {
            return self.many.insert(key.into());
        }
        if self.few().any(|k| k == key) {
            return false;
        }
        self.bytes.extend_from_slice(key);
        self.ends.push(self.bytes.len());
        if self.ends.len() == Self::FEW {
            let few: Vec<Box<[u8]>> = self.few().map(Into::into).collect();
            self.many.extend(few);
        }
        true
    }

    /// The keys kept in the buffer.
    fn few(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.many.clear();
    }
}

/// Fails a read once one record is longer than `limit` bytes (not counting its line end), or,
/// for JSON lines, once a record does not fit its line. Sees the records the parser sees: CSV
/// records by csv-core's states (property-tested against arrow's CSV reader), JSON values by
/// their structure.
pub struct RecordLimit<R> {
    inner: R,
    limit: u64,
    /// Bytes of the current record so far.
    current: u64,
    /// 0 while in the header.
    record: u64,
    /// `None` for JSON lines.
    csv: Option<CsvAt>,
    /// Whether bytes without a quote are scanned from line end to line end (false only in
    /// tests that compare with the field-by-field scan).
    plain_scan: bool,
    json: JsonState,
    /// The keys of the current JSON line's object so far, and the key being read.
    keys: LineKeys,
    key: Vec<u8>,
}

impl<R: Read> RecordLimit<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, records: Records, limits: &Limits) -> Self {
        let csv = (records == Records::Csv).then_some(CsvAt::StartRecord);
        RecordLimit {
            inner,
            limit: limits.max_record_bytes,
            current: 0,
            // A CSV file starts with its header; a JSON lines file with record 1.
            record: match records {
                Records::Csv => 0,
                Records::Lines => 1,
            },
            csv,
            plain_scan: true,
            json: JsonState::default(),
            keys: LineKeys::default(),
            key: Vec::new(),
        }
    }

    fn too_long(&self) -> io::Error {
        io::Error::other(LimitExceeded::Record {
            record: self.record,
            limit: self.limit,
        })
    }

    fn scan(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.csv {
            Some(at) => self.scan_csv(at, bytes),
            None => self.scan_lines(bytes),
        }
    }

    /// Follows csv-core's states over `bytes`, counting each record's bytes without its line
    /// end or the blank lines before it: from line end to line end when `bytes` hold no quote
    /// ([`Self::scan_plain_csv`]), else field by field.
    fn scan_csv(&mut self, state: CsvAt, bytes: &[u8]) -> io::Result<()> {
        if self.plain_scan && state != CsvAt::InQuotes && memchr::memchr(b'"', bytes).is_none() {
            self.scan_plain_csv(state, bytes)
        } else {
            self.scan_csv_fields(state, bytes)
        }
    }

    /// [`Self::scan_csv`] over bytes without a quote, outside quotes: then a record ends at
    /// every line end that is not a blank line's, whatever its fields, so the scan goes from
    /// line end to line end (one search a record, not one a field). The state it leaves is the
    /// one the field-by-field scan leaves: it depends only on the last byte.
    fn scan_plain_csv(&mut self, mut state: CsvAt, bytes: &[u8]) -> io::Result<()> {
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            if state == CsvAt::StartRecord && end == start {
                // A blank line, or the second byte of a CRLF: the parser skips it.
                start = end + 1;
                continue;
            }
            self.current += (end - start) as u64;
            if self.current > self.limit {
                self.csv = Some(CsvAt::InField);
                return Err(self.too_long());
            }
            self.current = 0;
            self.record += 1;
            state = CsvAt::StartRecord;
            start = end + 1;
        }
        if start < bytes.len() {
            // A record under way: after a comma a field starts, after anything else one goes on.
            state = match bytes.last() {
                Some(b',') => CsvAt::StartField,
                _ => CsvAt::InField,
            };
        }
        self.csv = Some(state);
        self.current += (bytes.len() - start) as u64;
        if self.current > self.limit {
            return Err(self.too_long());
        }
        Ok(())
    }

    /// [`Self::scan_csv`] field by field (memchr over the runs inside a field).
    fn scan_csv_fields(&mut self, mut state: CsvAt, bytes: &[u8]) -> io::Result<()> {
        let (mut at, mut start) = (0, 0);
        while at < bytes.len() {
            let b = bytes[at];
            let record_ends = match state {
                CsvAt::StartRecord => {
                    if matches!(b, b'\r' | b'\n') {
                        at += 1;
                        start = at;
                    } else {
                        state = CsvAt::StartField;
                    }
                    false
                }
                CsvAt::StartField | CsvAt::AfterQuote => match b {
                    b'"' => {
                        state = CsvAt::InQuotes;
                        at += 1;
                        false
                    }
                    b',' => {
                        state = CsvAt::StartField;
                        at += 1;
                        false
                    }
                    b'\r' | b'\n' => true,
                    _ => {
                        state = CsvAt::InField;
                        at += 1;
                        false
                    }
                },
                CsvAt::InField => match memchr::memchr3(b',', b'\n', b'\r', &bytes[at..]) {
                    None => {
                        at = bytes.len();
                        false
                    }
                    Some(i) => {
                        at += i;
                        if bytes[at] == b',' {
                            state = CsvAt::StartField;
                            at += 1;
                            false
                        } else {
                            true
                        }
                    }
                },
                CsvAt::InQuotes => {
                    match memchr::memchr(b'"', &bytes[at..]) {
                        None => at = bytes.len(),
                        Some(i) => {
                            at += i + 1;
                            state = CsvAt::AfterQuote;
                        }
                    }
                    false
                }
            };
            if record_ends {
                // `at` is the line end that closes the record.
                self.current += (at - start) as u64;
                if self.current > self.limit {
                    self.csv = Some(state);
                    return Err(self.too_long());
                }
                self.current = 0;
                self.record += 1;
                state = CsvAt::StartRecord;
                at += 1;
                start = at;
            }
        }
        self.csv = Some(state);
        self.current += (bytes.len() - start) as u64;
        if self.current > self.limit {
            return Err(self.too_long());
        }
        Ok(())
    }

    fn scan_lines(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut start = 0;
        for (at, &b) in bytes.iter().enumerate() {
            let json = &mut self.json;
            if json.in_string {
                if json.escaped {
                    json.escaped = false;
                } else if b == b'\\' {
                    json.escaped = true;
                } else if b == b'"' {
                    json.in_string = false;
                    json.value_done |= json.depth == 0;
                    if json.in_key {
                        json.in_key = false;
                        json.expect_key = false;
                        self.end_key()?;
                    }
                    continue;
                } else if b == b'\n' {
                    return Err(self.spans_lines());
                }
                if self.json.in_key {
                    self.key.push(b);
                }
                continue;
            }
            match b {
                b'\n' => {
                    if json.depth > 0 {
                        return Err(self.spans_lines());
                    }
                    self.current += (at - start) as u64;
                    if self.current > self.limit {
                        return Err(self.too_long());
                    }
                    self.current = 0;
                    start = at + 1;
                    if self.json.value_on_line {
                        self.record += 1;
                    }
                    self.json = JsonState::default();
                    self.keys.clear();
                }
                b' ' | b'\t' | b'\r' => {}
                _ if json.depth == 0 => {
                    // A byte at the top level after a whole object, array or string on the
                    // line begins more on it, which the parser would read as another record.
                    // (Bare words are left to the parser, which names them as not JSON.)
                    if json.value_done {
                        return Err(io::Error::other(LimitExceeded::TwoValues {
                            record: self.record,
                        }));
                    }
                    json.value_on_line = true;
                    match b {
                        b'"' => json.in_string = true,
                        b'{' | b'[' => {
                            json.depth = 1;
                            json.top_object = b == b'{';
                            json.expect_key = json.top_object;
                        }
                        _ => {}
                    }
                }
                b'"' => {
                    json.in_string = true;
                    if json.depth == 1 && json.expect_key {
                        json.in_key = true;
                        self.key.clear();
                    }
                }
                b',' if json.depth == 1 => json.expect_key = json.top_object,
                b'{' | b'[' => json.depth += 1,
                b'}' | b']' => {
                    json.depth -= 1;
                    json.value_done = json.depth == 0;
                }
                _ => {}
            }
        }
        self.current += (bytes.len() - start) as u64;
        if self.current > self.limit {
            return Err(self.too_long());
        }
        Ok(())
    }

    /// A key of the line's object has been read: it must not have been given before on this
    /// line. Keys are compared as the parser reads them (escapes decoded).
    fn end_key(&mut self) -> io::Result<()> {
        let decoded;
        let key: &[u8] = if self.key.contains(&b'\\') {
            let mut quoted = Vec::with_capacity(self.key.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(&self.key);
            quoted.push(b'"');
            match serde_json::from_slice::<String>(&quoted) {
                Ok(text) => {
                    decoded = text;
                    decoded.as_bytes()
                }
                // A bad escape: the parser names it.
                Err(_) => return Ok(()),
            }
        } else {
            &self.key
        };
        if !self.keys.insert(key) {
            return Err(io::Error::other(LimitExceeded::DuplicateKey {
                record: self.record,
                key: String::from_utf8_lossy(key).into_owned(),
            }));
        }
        Ok(())
    }

    fn spans_lines(&self) -> io::Error {
        io::Error::other(LimitExceeded::SpansLines {
            record: self.record,
        })
    }
}

impl<R: Read> Read for RecordLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n])?;
        Ok(n)
    }
}

/// Fails a read once more than `limit` bytes came out of a decompressor.
pub struct DecompressedLimit<R> {
    inner: R,
    limit: u64,
    total: u64,
}

impl<R: Read> DecompressedLimit<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, limits: &Limits) -> Self {
        DecompressedLimit {
            inner,
            limit: limits.max_decompressed_bytes,
            total: 0,
        }
    }
}

impl<R: Read> Read for DecompressedLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if self.total > self.limit {
            return Err(io::Error::other(LimitExceeded::Decompressed {
                limit: self.limit,
            }));
        }
        Ok(n)
    }
}

/// The first CSV record of `bytes` as the CSV parser (csv-core, arrow's settings) reads it:
/// where it ends (after its line end) and how many fields it has, counted without keeping
/// them. `None` while it has not ended within `bytes`, unless `bytes` is the whole input
/// (`whole`): then its end is the input's end.
pub(crate) fn first_record(bytes: &[u8], whole: bool) -> Option<(usize, u64)> {
    use csv_core::ReadRecordResult;
    let mut parser = csv_core::Reader::new();
    let mut scratch = vec![0u8; 64 << 10];
    let mut ends = [0usize; 256];
    let (mut at, mut fields) = (0, 0u64);
    loop {
        let (result, read, _, ended) = parser.read_record(&bytes[at..], &mut scratch, &mut ends);
        at += read;
        fields += ended as u64;
        match result {
            ReadRecordResult::Record => return Some((at, fields.max(1))),
            ReadRecordResult::End => return whole.then_some((at, fields.max(1))),
            ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {}
            // With the whole input read, the next call (on nothing) ends the record.
            ReadRecordResult::InputEmpty if whole && at == bytes.len() => {}
            ReadRecordResult::InputEmpty => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys past the few compared one by one go to a hash set: a repeat is found either way.
    #[test]
    fn many_keys_are_checked_like_few() {
        for (keys, repeat) in [
            (10, Some(3)),
            (32, Some(31)),
            (40, Some(0)),
            (40, Some(35)),
            (100, None),
        ] {
            let mut fields: Vec<String> = (0..keys).map(|k| format!("\"k{k}\": 1")).collect();
            if let Some(r) = repeat {
                fields.push(format!("\"k{r}\": 2"));
            }
            let text = format!("{{\"a\": 1}}\n{{{}}}\n", fields.join(", "));
            let mut reader = RecordLimit::new(text.as_bytes(), Records::Lines, &Limits::default());
            let outcome = io::copy(&mut reader, &mut io::sink());
            match repeat {
                Some(r) => {
                    let e = outcome.unwrap_err();
                    assert_eq!(
                        limit_exceeded(&e),
                        Some(&LimitExceeded::DuplicateKey {
                            record: 2,
                            key: format!("k{r}")
                        })
                    );
                }
                None => assert!(outcome.is_ok()),
            }
        }
    }

    fn limits(record: u64) -> Limits {
        Limits {
            max_record_bytes: record,
            ..Limits::default()
        }
    }

    fn read_all(r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut r = r;
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_record_past_the_limit_fails_with_its_number() {
        let text = b"a,b\n1,2\n\"long\nquoted\",3\n1234567890123,4\n";
        let e = read_all(RecordLimit::new(&text[..], Records::Csv, &limits(12))).unwrap_err();
        assert_eq!(
            limit_exceeded(&e),
            Some(&LimitExceeded::Record {
                record: 2,
                limit: 12
            })
        );
        assert!(read_all(RecordLimit::new(&text[..], Records::Csv, &limits(15))).is_ok());
        // As JSON lines, records are counted by lines that hold a value.
        let lines = b"{\"a\": 1}\n\n{\"a\": \"long value\"}\n";
        let e = read_all(RecordLimit::new(&lines[..], Records::Lines, &limits(12))).unwrap_err();
        assert_eq!(limit_exceeded(&e).and_then(LimitExceeded::record), Some(2));
        let e = read_all(RecordLimit::new(&b"abcdef"[..], Records::Csv, &limits(3))).unwrap_err();
        assert_eq!(limit_exceeded(&e).and_then(LimitExceeded::record), None);
        assert!(
            e.to_string()
                .contains("the header row is longer than 3 bytes"),
            "{e}"
        );
    }

    /// Regression: a bare quote in an unquoted field flipped the limiter's in-quotes state,
    /// so it saw short records where the parser read one 700 MB field.
    #[test]
    fn a_bare_quote_does_not_hide_a_long_record() {
        let mut text = b"a,b\nx\"y,1\n".to_vec();
        text.extend(std::iter::repeat_n(b'z', 100));
        text.extend(b",2\n\"q\"\n");
        let e = read_all(RecordLimit::new(&text[..], Records::Csv, &limits(50))).unwrap_err();
        assert_eq!(limit_exceeded(&e).and_then(LimitExceeded::record), Some(2));
    }

    /// Regression: a JSON object spread over many lines passed the per-line limit and was
    /// read as one record.
    #[test]
    fn a_json_value_must_end_on_its_line() {
        let spans = b"{\"a\": 1}\n{\"a\":\n 2}\n";
        let e = read_all(RecordLimit::new(&spans[..], Records::Lines, &limits(100))).unwrap_err();
        assert_eq!(
            limit_exceeded(&e),
            Some(&LimitExceeded::SpansLines { record: 2 })
        );
        let two = b"{\"a\": 1} {\"a\": 2}\n";
        let e = read_all(RecordLimit::new(&two[..], Records::Lines, &limits(100))).unwrap_err();
        assert_eq!(
            limit_exceeded(&e),
            Some(&LimitExceeded::TwoValues { record: 1 })
        );
        // Braces and escaped quotes inside strings are text, not structure.
        let tricky = b"{\"a\": \"}{\\\"\\n[\"}\r\n\n{\"a\": [1, {\"b\": 2}]}\n";
        assert!(read_all(RecordLimit::new(&tricky[..], Records::Lines, &limits(100))).is_ok());
    }

    #[test]
    fn decompression_stops_at_the_limit() {
        let limits = Limits {
            max_decompressed_bytes: 10,
            ..Limits::default()
        };
        assert!(read_all(DecompressedLimit::new(&[0u8; 10][..], &limits)).is_ok());
        let e = read_all(DecompressedLimit::new(&[0u8; 11][..], &limits)).unwrap_err();
        assert_eq!(
            limit_exceeded(&e).map(LimitExceeded::rule),
            Some(Rule::MaxDecompressedBytes)
        );
    }

    #[test]
    fn header_fields_are_counted_outside_quotes() {
        let fields = |header: &[u8]| first_record(header, true).map(|(_, n)| n);
        assert_eq!(fields(b"a,b,c\n"), Some(3));
        assert_eq!(fields(b"\"a,b\",c"), Some(2));
        // A quote inside an unquoted field is a literal, as the parser reads it.
        assert_eq!(fields(b"a,b\"c,d\n"), Some(3));
        assert_eq!(fields(b"a,b\rc,d,e"), Some(2));
        assert_eq!(first_record(b"a,\"b\nc\"\rd", false), Some((8, 2)));
        assert_eq!(first_record(b"a,b", false), None);
        assert_eq!(first_record(b"a,b", true), Some((3, 2)));
        assert_eq!(human(1 << 20), "1 MiB");
        assert_eq!(human(1000), "1000 bytes");
    }

    /// What a CSV limiter made of `text` read `chunk` bytes at a time, by the quote-free scan
    /// where it applies (`plain`) or field by field throughout: after each read, the record
    /// number, the bytes of the record under way and the state; or the record it stopped at.
    fn scanned(text: &[u8], limit: u64, chunk: usize, plain: bool) -> Vec<String> {
        let limits = Limits {
            max_record_bytes: limit,
            ..Limits::default()
        };
        let mut reader = RecordLimit::new(text, Records::Csv, &limits);
        reader.plain_scan = plain;
        let mut buf = vec![0u8; chunk];
        let mut seen = Vec::new();
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return seen,
                Ok(_) => seen.push(format!(
                    "{} {} {:?}",
                    reader.record, reader.current, reader.csv
                )),
                Err(e) => {
                    let stopped = limit_exceeded(&e).and_then(|l| l.record());
                    seen.push(format!("stopped at {stopped:?}"));
                    return seen;
                }
            }
        }
    }

    proptest::proptest! {
        /// The quote-free scan counts the records and their bytes as the field-by-field scan
        /// does, and leaves the same state, read after read, whatever the bytes (quotes in some
        /// reads and not others, blank lines, CR, CRLF, empty fields) and the limit.
        #[test]
        fn the_quote_free_scan_counts_as_the_field_by_field_scan(
            text in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'a', b'a', b',', b',', b'"', b'\r', b'\n', b'\n']),
                0..400,
            ),
            limit in 1u64..40,
            chunk in 1usize..50,
        ) {
            proptest::prop_assert_eq!(
                scanned(&text, limit, chunk, true),
                scanned(&text, limit, chunk, false)
            );
        }
    }
}
