//! A batch as file bytes in each submission format, and the spoiling of CSV text that some
//! faults need.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

use crate::{Error, Result};

/// A submission file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Csv,
    CsvGz,
    Parquet,
    Jsonl,
}

impl FileKind {
    pub(crate) fn extension(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::CsvGz => "csv.gz",
            FileKind::Parquet => "parquet",
            FileKind::Jsonl => "jsonl",
        }
    }
}

/// The bytes of `batch` as a file of `kind`.
pub(crate) fn encode(batch: &RecordBatch, kind: FileKind) -> Result<Vec<u8>> {
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("encoding {kind:?}: {e}"));
    let mut out = Vec::new();
    match kind {
        FileKind::Csv | FileKind::CsvGz => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%SZ".to_string())
                .build(&mut out);
            writer.write(batch).map_err(|e| internal(&e))?;
            drop(writer);
            if kind == FileKind::CsvGz {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&out).map_err(|e| internal(&e))?;
                out = gz.finish().map_err(|e| internal(&e))?;
            }
        }
        FileKind::Jsonl => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            writer.write(batch).map_err(|e| internal(&e))?;
            writer.finish().map_err(|e| internal(&e))?;
        }
        FileKind::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props))
                .map_err(|e| internal(&e))?;
            writer.write(batch).map_err(|e| internal(&e))?;
            writer.close().map_err(|e| internal(&e))?;
        }
    }
    Ok(out)
}

/// In every `every`-th data line, replaces the first of `from` found with `to`.
pub(crate) fn spoil_csv(csv: &[u8], every: usize, from: &[&str], to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(csv);
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        match from
            .iter()
            .find(|f| line.contains(**f))
            .filter(|_| n > 0 && n % every == 0)
        {
            Some(f) => out.push_str(&line.replacen(*f, to, 1)),
            None => out.push_str(line),
        }
    }
    out.into_bytes()
}
