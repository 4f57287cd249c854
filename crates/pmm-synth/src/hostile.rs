//! Files a hostile or careless member could submit, too large to keep in the repository: the
//! bad-input corpus and the cost tests make them on the fly, streamed to disk.

use std::io::{self, BufWriter, Write};
use std::path::Path;

/// A large hostile file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// A `.csv.gz` of `gib` GiB of zero bytes once decompressed (one line without end): a
    /// 1 MiB gzip member of zeros, repeated, about 1 MB stored per GiB.
    GzipOfZeros {
        /// GiB once decompressed.
        gib: u64,
    },
    /// A CSV header of `columns` names (`c0,c1,...`) and one short record.
    WideHeader {
        /// How many columns.
        columns: u64,
    },
    /// `bytes` of `a` without a line end.
    LongLine {
        /// How long.
        bytes: u64,
    },
    /// Declarations CSV: a record with a bare quote inside an unquoted field (a literal to
    /// the parser), then a record whose quoted field holds `bytes` of short lines: one long
    /// field to the parser, short records to a limiter that took the bare quote for a quote.
    BareQuoteThenQuotedLines {
        /// The quoted field's length.
        bytes: u64,
    },
    /// Declarations JSON lines: one object spread over `lines` lines.
    JsonObjectOverLines {
        /// How many lines it spans.
        lines: u64,
    },
    /// Declarations Parquet (zstd) whose `office` is one `value_bytes` value, dictionary
    /// encoded, repeated by `rows` rows: a small file that decodes to rows × value_bytes.
    ParquetRepeatedValue {
        /// Rows.
        rows: u64,
        /// The value's length.
        value_bytes: u64,
    },
    /// Declarations Parquet (zstd) of one row whose `office` is `value_bytes` long: a small
    /// file with one page that decompresses to that much.
    ParquetOneLongValue {
        /// The value's length.
        value_bytes: u64,
    },
    /// A sparse file of `bytes` whose last eight bytes claim a footer of all but 12 of them.
    ParquetFooterClaim {
        /// The file's size.
        bytes: u64,
    },
    /// Declarations Parquet of ten rows whose first column chunk claims `claim` bytes, with a
    /// hole of `hole` bytes (a sparse file) before the footer, so the claim lies inside it.
    ParquetChunkClaim {
        /// The bytes the chunk claims.
        claim: i64,
        /// The hole before the footer.
        hole: u64,
    },
    /// Declarations `.csv.gz` with one extra column (`note`): `records` records of
    /// `record_bytes` each, the note filling them.
    WideRecordsGz {
        /// Records.
        records: u64,
        /// Each record's length.
        record_bytes: u64,
    },
    /// Declarations JSON lines: `lines` records, each with `keys` distinct unknown keys
    /// besides the contract's.
    JsonUnknownKeys {
        /// Records.
        lines: u64,
        /// Unknown keys per record.
        keys: u64,
    },
    /// A declarations CSV header widened to `columns` with extra columns, and ten records.
    WideHeaderOfDeclarations {
        /// Columns in all.
        columns: u64,
    },
}

/// Declarations of `rows` rows whose `office` is `office` (dictionary encoded), as Parquet
/// with zstd, in row groups of 65,536.
fn declarations_parquet(rows: usize, office: &str, out: impl Write + Send) -> io::Result<()> {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, RecordBatch,
        StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::Int32Type;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::basic::{Compression, ZstdLevel};
    use datafusion::parquet::file::properties::WriterProperties;

    let fail = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_dictionary_page_size_limit(usize::MAX)
        .build();
    let mut writer: Option<ArrowWriter<_>> = None;
    let mut out = Some(out);
    let mut start = 0usize;
    while start < rows {
        let n = (rows - start).min(65_536);
        let repeat = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v; n])) };
        let bools = |b: bool| -> ArrayRef { Arc::new(BooleanArray::from(vec![b; n])) };
        let lodged: Vec<i64> = (0..n)
            .map(|i| 1_709_287_200_000_000 + ((start + i) as i64 % 86_400) * 1_000_000)
            .collect();
        let office: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![0; n]),
            Arc::new(StringArray::from(vec![office])),
        ));
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "declaration_id",
                Arc::new(StringArray::from_iter_values(
                    (start..start + n).map(|i| format!("D{i}")),
                )),
            ),
            ("flow", repeat("IM")),
            (
                "lodged_at",
                Arc::new(TimestampMicrosecondArray::from(lodged).with_timezone("UTC")),
            ),
            ("electronic", bools(true)),
            ("standardized", bools(false)),
            ("pre_arrival", bools(true)),
            ("channel", repeat("green")),
            ("aeo", bools(false)),
            ("ecommerce", bools(false)),
            (
                "customs_value",
                Arc::new(Float64Array::from(vec![100.5; n])),
            ),
            ("office", office),
        ];
        let batch = RecordBatch::try_from_iter(columns).map_err(|e| fail(&e))?;
        if writer.is_none() {
            let sink = out.take().ok_or_else(|| fail(&"the sink is gone"))?;
            writer = Some(
                ArrowWriter::try_new(sink, batch.schema(), Some(props.clone()))
                    .map_err(|e| fail(&e))?,
            );
        }
        if let Some(w) = writer.as_mut() {
            w.write(&batch).map_err(|e| fail(&e))?;
            w.flush().map_err(|e| fail(&e))?;
        }
        start += n;
    }
    if let Some(w) = writer {
        w.close().map_err(|e| fail(&e))?;
    }
    Ok(())
}

const DECLARATIONS_HEADER: &str = "declaration_id,flow,lodged_at,released_at,electronic,standardized,pre_arrival,channel,aeo,ecommerce,customs_value,duty_assessed,office,transport_mode\n";

fn declaration(id: u64, office: &str) -> String {
    format!(
        "D{id},IM,2024-03-01T10:00:00Z,,true,false,true,green,false,false,100.5,10,{office},sea\n"
    )
}

/// Writes `bytes` bytes of `pattern` repeated (the last copy cut), a chunk at a time.
fn write_repeated(file: &mut impl Write, pattern: &[u8], bytes: u64) -> io::Result<()> {
    let chunk = pattern.repeat(((1 << 20) / pattern.len()).max(1));
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Ten declarations as Parquet, the first column chunk of the first row group claiming
/// `claim` bytes: (the bytes before the footer, the footer with its length and magic).
fn parquet_with_chunk_claim(claim: i64) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use datafusion::parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
    let fail = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    let mut data = Vec::new();
    declarations_parquet(10, "OFF1", &mut data)?;
    let length = data.len();
    let footer = u32::from_le_bytes([
        data[length - 8],
        data[length - 7],
        data[length - 6],
        data[length - 5],
    ]) as usize;
    let body = data[..length - 8 - footer].to_vec();
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&bytes::Bytes::from(data))
        .map_err(|e| fail(&e))?;
    let mut builder = metadata.into_builder();
    let mut groups = builder.take_row_groups();
    let first = groups.remove(0);
    let mut columns = first.columns().to_vec();
    columns[0] = columns[0]
        .clone()
        .into_builder()
        .set_total_compressed_size(claim)
        .build()
        .map_err(|e| fail(&e))?;
    let first = first
        .into_builder()
        .set_column_metadata(columns)
        .build()
        .map_err(|e| fail(&e))?;
    groups.insert(0, first);
    let metadata = builder.set_row_groups(groups).build();
    let mut footer = Vec::new();
    ParquetMetaDataWriter::new(&mut footer, &metadata)
        .finish()
        .map_err(|e| fail(&e))?;
    Ok((body, footer))
}

/// Writes `kind` to `path`, streamed (memory stays small whatever the size).
pub fn write_hostile(kind: Hostile, path: &Path) -> io::Result<()> {
    let mut file = BufWriter::new(std::fs::File::create(path)?);
    match kind {
        Hostile::GzipOfZeros { gib } => {
            let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            member.write_all(&vec![0u8; 1 << 20])?;
            let member = member.finish()?;
            for _ in 0..gib * 1024 {
                file.write_all(&member)?;
            }
        }
        Hostile::WideHeader { columns } => {
            for i in 0..columns {
                if i > 0 {
                    file.write_all(b",")?;
                }
                write!(file, "c{i}")?;
            }
            file.write_all(b"\n1\n")?;
        }
        Hostile::BareQuoteThenQuotedLines { bytes } => {
            file.write_all(DECLARATIONS_HEADER.as_bytes())?;
            file.write_all(declaration(1, "OF\"F1").as_bytes())?;
            file.write_all(
                b"D2,IM,2024-03-01T10:00:00Z,,true,false,true,green,false,false,100.5,10,\"",
            )?;
            write_repeated(&mut file, b"line\n", bytes)?;
            file.write_all(b"\",sea\n")?;
            file.write_all(declaration(3, "OFF1").as_bytes())?;
        }
        Hostile::JsonObjectOverLines { lines } => {
            file.write_all(b"{\"declaration_id\": \"D1\",")?;
            write_repeated(&mut file, b"\n", lines)?;
            file.write_all(b"\"flow\": \"IM\", \"lodged_at\": \"2024-03-01T10:00:00Z\", \"electronic\": true, \"standardized\": false, \"pre_arrival\": true, \"channel\": \"green\", \"aeo\": false, \"ecommerce\": false, \"customs_value\": 1}\n")?;
        }
        Hostile::ParquetRepeatedValue { rows, value_bytes } => {
            let value = "O".repeat(value_bytes as usize);
            declarations_parquet(rows as usize, &value, &mut file)?;
        }
        Hostile::ParquetOneLongValue { value_bytes } => {
            let value = "O".repeat(value_bytes as usize);
            declarations_parquet(1, &value, &mut file)?;
        }
        Hostile::ParquetFooterClaim { bytes } => {
            file.write_all(b"PAR1")?;
            file.flush()?;
            let inner = file.get_mut();
            inner.set_len(bytes - 8)?;
            use std::io::Seek;
            inner.seek(io::SeekFrom::End(0))?;
            let claimed = u32::try_from(bytes - 12).unwrap_or(u32::MAX);
            file.write_all(&claimed.to_le_bytes())?;
            file.write_all(b"PAR1")?;
        }
        Hostile::LongLine { bytes } => {
            write_repeated(&mut file, b"a", bytes)?;
        }
        Hostile::ParquetChunkClaim { claim, hole } => {
            let (body, footer) = parquet_with_chunk_claim(claim)?;
            file.write_all(&body)?;
            file.flush()?;
            use std::io::Seek;
            file.get_mut().seek(io::SeekFrom::Current(hole as i64))?;
            file.write_all(&footer)?;
        }
        Hostile::WideRecordsGz {
            records,
            record_bytes,
        } => {
            // One gzip member per piece (a reader reads the members as one stream): each
            // record's start, then the note and line end, compressed once and repeated.
            let member = |text: &[u8]| -> io::Result<Vec<u8>> {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(text)?;
                gz.finish()
            };
            let header = format!("{},note\n", DECLARATIONS_HEADER.trim_end());
            file.write_all(&member(header.as_bytes())?)?;
            let start = |id: u64| format!("{},", declaration(id, "OFF1").trim_end());
            let mut note =
                vec![b'n'; record_bytes.saturating_sub(start(1).len() as u64 + 1) as usize];
            note.push(b'\n');
            let note = member(&note)?;
            for id in 1..=records {
                file.write_all(&member(start(id).as_bytes())?)?;
                file.write_all(&note)?;
            }
        }
        Hostile::JsonUnknownKeys { lines, keys } => {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
            let mut unknown = Vec::new();
            for k in 0..keys {
                let mut key = vec![b'"', b'~'];
                let mut n = k;
                loop {
                    key.push(ALPHABET[(n % ALPHABET.len() as u64) as usize]);
                    n /= ALPHABET.len() as u64;
                    if n == 0 {
                        break;
                    }
                }
                key.extend_from_slice(b"\":0,");
                unknown.extend_from_slice(&key);
            }
            for id in 1..=lines {
                write!(
                    file,
                    "{{\"declaration_id\": \"D{id}\", \"flow\": \"IM\", \"lodged_at\": \"2024-03-01T10:00:00Z\", \"electronic\": true, \"standardized\": false, \"pre_arrival\": true, \"channel\": \"green\", \"aeo\": false, \"ecommerce\": false, "
                )?;
                file.write_all(&unknown)?;
                file.write_all(b"\"customs_value\": 1}\n")?;
            }
        }
        Hostile::WideHeaderOfDeclarations { columns } => {
            let contract = DECLARATIONS_HEADER.trim_end().split(',').count() as u64;
            file.write_all(DECLARATIONS_HEADER.trim_end().as_bytes())?;
            for i in contract..columns {
                write!(file, ",x{i}")?;
            }
            file.write_all(b"\n")?;
            let padding = ",".repeat(columns.saturating_sub(contract) as usize);
            for id in 1..=10 {
                file.write_all(declaration(id, "OFF1").trim_end().as_bytes())?;
                file.write_all(padding.as_bytes())?;
                file.write_all(b"\n")?;
            }
        }
    }
    file.flush()
}
