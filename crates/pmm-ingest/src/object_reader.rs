//! The bytes of one submitted object as a blocking reader, for the parsers: a local file read
//! directly, a remote object downloaded ahead of the parser; and gzip on top when the file is
//! compressed. A download that breaks off stays recognisable as the store's fault.

use std::io::{BufRead, Read};

use bytes::Bytes;
use futures::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// Chunks of an object in flight between the download and the parser: with the chunk sizes
/// of object stores (8 KiB to 1 MiB), a few MiB at most per file being read.
const CHUNKS_IN_FLIGHT: usize = 16;

/// A blocking reader over an object. A local file is read directly (object_store hands over
/// the open file). A remote object's byte stream is downloaded by an async task ahead of the
/// parser, over a bounded channel, and read through tokio-util's `StreamReader` and
/// `SyncIoBridge`. Either way a large file is parsed as it arrives and never held whole in
/// memory.
pub(crate) enum ObjectReader {
    /// A local file, opened by the store.
    File(std::fs::File),
    /// Chunks of a remote object.
    Stream(SyncIoBridge<StreamReader<ReceiverStream<std::io::Result<Bytes>>, Bytes>>),
}

impl ObjectReader {
    pub(crate) fn open(result: object_store::GetResult) -> Self {
        match result.payload {
            // A whole-object get: the file is at its start.
            object_store::GetResultPayload::File(file, _) => ObjectReader::File(file),
            object_store::GetResultPayload::Stream(stream) => ObjectReader::spawn(stream),
        }
    }

    /// Must be called inside the runtime; the reader is then read on a blocking thread.
    pub(crate) fn spawn(
        mut stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
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
        ObjectReader::Stream(SyncIoBridge::new(StreamReader::new(ReceiverStream::new(
            chunks,
        ))))
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ObjectReader::File(file) => file.read(buf),
            ObjectReader::Stream(stream) => stream.read(buf),
        }
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
            if is_download_failure(&e) {
                e
            } else {
                std::io::Error::new(e.kind(), format!("not a valid gzip file: {e}"))
            }
        })
    }
}
