//! The bytes of one submitted object as a blocking reader, for the parsers: a local file read
//! directly, a remote object downloaded ahead of the parser; and gzip on top when the file is
//! compressed. A download that breaks off stays recognisable as the store's fault.
//!
//! An object is read as discovery found it: never past the size discovery saw, and a local
//! file that changed while it was read (it grew, shrank or was written to) fails the read
//! with [`ChangedWhileRead`] once its bytes are read (a remote store's download is one
//! version of the object, the one whose size and ETag the store's answer names).

use std::io::{BufRead, Read};

use bytes::Bytes;
use futures::StreamExt;
use object_store::ObjectStore;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::discover::SourceObject;
use crate::limits::LimitExceeded;

/// Chunks of an object in flight between the download and the parser: with the chunk sizes
/// of object stores (8 KiB to 1 MiB), a few MiB at most per file being read.
const CHUNKS_IN_FLIGHT: usize = 16;

/// A blocking reader over an object. A local file is read directly (object_store hands over
/// the open file). A remote object's byte stream is downloaded by an async task ahead of the
/// parser, over a bounded channel, and read through tokio-util's `StreamReader` and
/// `SyncIoBridge`. Either way a large file is parsed as it arrives and never held whole in
/// memory.
pub(crate) enum ObjectReader {
    /// A local file, opened by the store: read up to the size found at discovery, then
    /// checked for changes.
    File {
        file: std::io::Take<std::fs::File>,
        found: Found,
    },
    /// Chunks of a remote object.
    Stream(
        std::io::Take<SyncIoBridge<StreamReader<ReceiverStream<std::io::Result<Bytes>>, Bytes>>>,
    ),
}

/// What discovery saw of an object: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) size: u64,
    pub(crate) modified: chrono::DateTime<chrono::Utc>,
}

/// Why an object could not be opened as discovery found it.
#[derive(Debug)]
pub(crate) enum OpenFailure {
    /// The store failed (try again later).
    Store(object_store::Error),
    /// The store's answer is another version of the object.
    Changed(ChangedWhileRead),
}

/// A whole-object get of the version discovery saw (where the store keeps versions), refused
/// as [`OpenFailure::Changed`] when the store's answer is not the object discovery saw.
pub(crate) async fn get_as_found(
    store: &dyn ObjectStore,
    object: &SourceObject,
) -> Result<object_store::GetResult, OpenFailure> {
    let options = object_store::GetOptions {
        version: object.version.clone(),
        ..Default::default()
    };
    let result = store
        .get_opts(&object.key, options)
        .await
        .map_err(OpenFailure::Store)?;
    match changed_since(&result.meta, object) {
        Some(changed) => Err(OpenFailure::Changed(changed)),
        None => Ok(result),
    }
}

impl ObjectReader {
    /// The reader of a get of `object` made by [`get_as_found`]: never past the size
    /// discovery saw.
    pub(crate) fn open(result: object_store::GetResult, object: &SourceObject) -> Self {
        let found = Found {
            size: object.size,
            modified: object.last_modified,
        };
        match result.payload {
            // A whole-object get: the file is at its start.
            object_store::GetResultPayload::File(file, _) => ObjectReader::File {
                file: file.take(found.size),
                found,
            },
            object_store::GetResultPayload::Stream(stream) => {
                ObjectReader::spawn(stream, found.size)
            }
        }
    }

    /// Must be called inside the runtime; the reader is then read on a blocking thread.
    pub(crate) fn spawn(
        mut stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
        size: u64,
    ) -> Self {
        let (sender, chunks) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
        tokio::spawn(async move {
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                let chunk = chunk.map_err(|e| std::io::Error::other(DownloadFailed(e)));
                // The parser stopped (a rejected dataset): stop downloading.
                if sender.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        ObjectReader::Stream(
            SyncIoBridge::new(StreamReader::new(ReceiverStream::new(chunks))).take(size),
        )
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ObjectReader::File { file, found } => {
                let n = file.read(buf)?;
                if n == 0 && !buf.is_empty() {
                    // The end of what discovery saw (or the file's end, if it shrank): the
                    // file must still be what it was.
                    let now = file.get_ref().metadata()?;
                    let modified = now
                        .modified()
                        .ok()
                        .map(chrono::DateTime::<chrono::Utc>::from);
                    if now.len() != found.size
                        || file.limit() > 0
                        || modified.is_some_and(|m| m != found.modified)
                    {
                        return Err(std::io::Error::other(ChangedWhileRead {
                            found: found.size,
                            now: now.len(),
                        }));
                    }
                }
                Ok(n)
            }
            ObjectReader::Stream(stream) => stream.read(buf),
        }
    }
}

/// The change, when a store's answer about an object (a download's, a `head`'s) is not the
/// object discovery saw: another size, or another ETag (where both have one).
pub(crate) fn changed_since(
    meta: &object_store::ObjectMeta,
    object: &SourceObject,
) -> Option<ChangedWhileRead> {
    let same_tag = match (&meta.e_tag, &object.e_tag) {
        (Some(now), Some(then)) => same_e_tag(now, then),
        _ => true,
    };
    (meta.size != object.size || !same_tag).then_some(ChangedWhileRead {
        found: object.size,
        now: meta.size,
    })
}

/// Whether two ETags name the same version: stores quote them in one answer and not in
/// another (Azure's listing and its downloads), and may mark them weak (`W/`).
fn same_e_tag(a: &str, b: &str) -> bool {
    let bare = |t: &str| t.trim_start_matches("W/").trim_matches('"').to_string();
    bare(a) == bare(b)
}

/// An object that changed between discovery and the end of its reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the file changed while it was read (it was {found} bytes when found, {now} now): it is not used; the next run reads it again"
)]
pub(crate) struct ChangedWhileRead {
    /// Its size at discovery.
    pub(crate) found: u64,
    /// Its size now.
    pub(crate) now: u64,
}

/// The change an I/O error stands for, if it is one.
pub(crate) fn changed_while_read(e: &std::io::Error) -> Option<&ChangedWhileRead> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<ChangedWhileRead>())
}

/// The start of a text file (CSV, JSON lines), looked at before the limiter and the parser
/// see it: a UTF-8 byte-order mark (`EF BB BF`, which Windows tools write) is dropped, and a
/// container under a text file's name (an archive, a compressed or Parquet file, a workbook)
/// fails the read with [`LimitExceeded::Container`] naming it, instead of the parser's
/// complaint about its bytes.
pub(crate) struct TextStart<R> {
    inner: R,
    /// The first bytes (up to [`SNIFF`]), handed out before the rest.
    head: Vec<u8>,
    at: usize,
    checked: bool,
}

/// How much of a file's start identifies a container: a tar header's magic is at 257.
const SNIFF: usize = 512;

impl<R: Read> TextStart<R> {
    pub(crate) fn new(inner: R) -> Self {
        TextStart {
            inner,
            head: Vec::new(),
            at: 0,
            checked: false,
        }
    }
}

/// What a file's first bytes show it to be, when not text: (what, what to do).
pub(crate) fn container(head: &[u8]) -> Option<(&'static str, &'static str)> {
    const SUBMIT: &str = "submit the data file itself (a large CSV file may be gzip-compressed on its own, as .csv.gz)";
    let kinds: [(&[u8], &'static str, &'static str); 10] = [
        (
            b"PK\x03\x04",
            "a ZIP archive (an .xlsx workbook is one)",
            SUBMIT,
        ),
        (b"PK\x05\x06", "an empty ZIP archive", SUBMIT),
        (
            b"\x1f\x8b",
            "gzip-compressed data",
            "a gzip-compressed file is named .csv.gz, and compressed once",
        ),
        (b"PAR1", "a Parquet file", "name it .parquet"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "an Excel 97-2003 workbook (or another Office document)",
            "save it as CSV (UTF-8)",
        ),
        (
            b"\xfd7zXZ\x00",
            "xz-compressed",
            "pmm reads gzip only: compress it with gzip, as .csv.gz",
        ),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", SUBMIT),
        (
            b"\x28\xb5\x2f\xfd",
            "zstd-compressed",
            "pmm reads gzip only: compress it with gzip, as .csv.gz",
        ),
        (
            b"BZh",
            "bzip2-compressed",
            "pmm reads gzip only: compress it with gzip, as .csv.gz",
        ),
        (b"%PDF-", "a PDF document", SUBMIT),
    ];
    if head.get(257..262) == Some(b"ustar") {
        return Some(("a tar archive", SUBMIT));
    }
    kinds
        .iter()
        .find(|(magic, _, _)| head.starts_with(magic))
        .map(|(_, what, advice)| (*what, *advice))
}

impl<R: Read> Read for TextStart<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.checked {
            self.head.resize(SNIFF, 0);
            let mut n = 0;
            while n < SNIFF {
                match self.inner.read(&mut self.head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            self.head.truncate(n);
            self.checked = true;
            if let Some((what, advice)) = container(&self.head) {
                return Err(std::io::Error::other(LimitExceeded::Container {
                    what,
                    advice,
                }));
            }
            if self.head.starts_with(b"\xEF\xBB\xBF") {
                self.at = 3;
            }
        }
        if self.at < self.head.len() {
            let n = (self.head.len() - self.at).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// A download that failed midway, carried through the parsers' `io::Error`s.
#[derive(Debug, thiserror::Error)]
#[error("reading the object failed: {0}")]
pub(crate) struct DownloadFailed(object_store::Error);

/// Whether an I/O error is a download that broke off (the store's fault, not the file's).
pub(crate) fn is_download_failure(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<DownloadFailed>())
}

/// A gzip decoder whose own errors say that the file is not valid gzip (a failed download
/// passes through as it is).
pub(crate) struct GzipReader<R>(pub(crate) flate2::read::MultiGzDecoder<R>);

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if is_download_failure(&e) || changed_while_read(&e).is_some() {
                e
            } else {
                std::io::Error::new(e.kind(), format!("not a valid gzip file: {e}"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: Azure's listing gives an ETag unquoted and its downloads quoted, so every
    /// object looked changed.
    #[test]
    fn etags_compare_without_their_quotes() {
        assert!(same_e_tag("0x8DC1", "\"0x8DC1\""));
        assert!(same_e_tag("W/\"abc\"", "abc"));
        assert!(!same_e_tag("\"abc\"", "\"abd\""));
    }

    #[test]
    fn containers_are_named_by_their_first_bytes() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(container(&tar).map(|c| c.0), Some("a tar archive"));
        assert_eq!(
            container(b"PK\x03\x04rest").map(|c| c.0),
            Some("a ZIP archive (an .xlsx workbook is one)")
        );
        assert_eq!(container(b"unit,headcount\n"), None);
        // Whatever follows the mark, it is dropped and the rest read as it is.
        let mut start = TextStart::new(&b"\xEF\xBB\xBFunit\n"[..]);
        let mut text = String::new();
        start.read_to_string(&mut text).unwrap();
        assert_eq!(text, "unit\n");
        let mut short = TextStart::new(&b"ab"[..]);
        let mut text = String::new();
        short.read_to_string(&mut text).unwrap();
        assert_eq!(text, "ab");
    }
}
