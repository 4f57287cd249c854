//! A staged file's bytes on their way to the store: the Parquet writer's output, buffered
//! into chunks on the encoding thread and uploaded by an async task as they come, so memory
//! per file being staged is a few chunks whatever the file's size.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use tokio::io::AsyncWriteExt;

/// Bytes sent to the store at a time while a staged file is written (also the part size of
/// multipart uploads): memory per file being staged is about twice this.
pub(crate) const UPLOAD_CHUNK: usize = 8 << 20;

/// What the encoding thread sends to the upload task.
pub(crate) enum Upload {
    Part(Bytes),
    Finish,
}

/// The Parquet writer's output: buffered into chunks, each handed to the upload task.
pub(crate) struct UploadWriter {
    pub(crate) buffer: Vec<u8>,
    pub(crate) sender: tokio::sync::mpsc::Sender<Upload>,
}

impl UploadWriter {
    pub(crate) fn send_buffer(&mut self) -> std::io::Result<()> {
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
pub(crate) async fn upload(
    store: Arc<dyn object_store::ObjectStore>,
    key: Path,
    mut chunks: tokio::sync::mpsc::Receiver<Upload>,
) -> Result<u64, String> {
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
