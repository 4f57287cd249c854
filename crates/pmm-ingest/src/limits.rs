//! The pipeline's `limits:` enforced while a file streams in: a file costs the run about as
//! much as the limit, whatever it claims. Readers wrap the object's bytes; past a limit they
//! fail with a [`LimitExceeded`] inside the `io::Error`, which the parsers pass on and the
//! dataset's reader turns into an issue.

use std::io::{self, Read};

use pmm_catalog::Limits;

use crate::issue::Rule;

/// A limit that a file went past.
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
}

impl LimitExceeded {
    /// The `rule` of the issue: the limit's name.
    pub fn rule(&self) -> Rule {
        match self {
            LimitExceeded::Record { .. } => Rule::MaxRecordBytes,
            LimitExceeded::Decompressed { .. } => Rule::MaxDecompressedBytes,
        }
    }

    /// The record the issue names, if any.
    pub fn record(&self) -> Option<u64> {
        match self {
            LimitExceeded::Record { record, .. } if *record > 0 => Some(*record),
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
    /// CSV: a line feed outside double quotes (RFC 4180 quoting).
    Csv,
    /// JSON lines: every line feed (JSON strings cannot hold a raw one).
    Lines,
}

/// Fails a read once one record is longer than `limit` bytes. Scans each byte once, with
/// `memchr`, so it costs little beside parsing.
pub struct RecordLimit<R> {
    inner: R,
    records: Records,
    limit: u64,
    /// Bytes of the current record so far.
    current: u64,
    /// 0 while in the header.
    record: u64,
    in_quotes: bool,
}

impl<R: Read> RecordLimit<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, records: Records, limits: &Limits) -> Self {
        RecordLimit {
            inner,
            records,
            limit: limits.max_record_bytes,
            current: 0,
            // A CSV file starts with its header; a JSON lines file with record 1.
            record: match records {
                Records::Csv => 0,
                Records::Lines => 1,
            },
            in_quotes: false,
        }
    }

    fn scan(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut start = 0;
        let check = |limiter: &mut Self, upto: usize, start: usize| {
            limiter.current += (upto - start) as u64;
            if limiter.current > limiter.limit {
                Err(io::Error::other(LimitExceeded::Record {
                    record: limiter.record,
                    limit: limiter.limit,
                }))
            } else {
                Ok(())
            }
        };
        match self.records {
            Records::Lines => {
                for end in memchr::memchr_iter(b'\n', bytes) {
                    check(self, end, start)?;
                    self.current = 0;
                    self.record += 1;
                    start = end + 1;
                }
            }
            Records::Csv => {
                for at in memchr::memchr2_iter(b'"', b'\n', bytes) {
                    if bytes[at] == b'"' {
                        self.in_quotes = !self.in_quotes;
                    } else if !self.in_quotes {
                        check(self, at, start)?;
                        self.current = 0;
                        self.record += 1;
                        start = at + 1;
                    }
                }
            }
        }
        check(self, bytes.len(), start)
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

/// The number of fields of a CSV header line (separators outside quotes, plus one), counted
/// without splitting it.
pub fn csv_header_fields(header: &[u8]) -> u64 {
    let mut in_quotes = false;
    let mut fields = 1;
    for at in memchr::memchr2_iter(b'"', b',', header) {
        if header[at] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            fields += 1;
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // As lines, the quoted record is two short lines.
        let e = read_all(RecordLimit::new(&text[..], Records::Lines, &limits(12))).unwrap_err();
        assert_eq!(limit_exceeded(&e).and_then(LimitExceeded::record), Some(5));
        let e = read_all(RecordLimit::new(&b"abcdef"[..], Records::Csv, &limits(3))).unwrap_err();
        assert_eq!(limit_exceeded(&e).and_then(LimitExceeded::record), None);
        assert!(
            e.to_string()
                .contains("the header row is longer than 3 bytes"),
            "{e}"
        );
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
        assert_eq!(csv_header_fields(b"a,b,c\n"), 3);
        assert_eq!(csv_header_fields(b"\"a,b\",c"), 2);
        assert_eq!(human(1 << 20), "1 MiB");
        assert_eq!(human(1000), "1000 bytes");
    }
}
