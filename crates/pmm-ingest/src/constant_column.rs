//! The column chunk of a staged column that holds one value in every row (`member`, `year`),
//! written directly: a dictionary page with the value and one data page whose indices are a
//! single run. The column writer would write the same pages after looking each row's value
//! up in its dictionary, a hash per row for a value known before the first; and a plain
//! chunk instead costs every query that reads the column a value parsed per row.

use bytes::Bytes;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::basic::{CompressionCodec, Encoding};
use datafusion::parquet::column::page::{CompressedPage, Page, PageWriter};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ColumnChunkMetaData;
use datafusion::parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use datafusion::parquet::schema::types::ColumnDescPtr;

use crate::staged_file::CopiedChunk;

/// A value as a Parquet dictionary page holds it (plain encoding). Each constructor takes
/// the column's arrow type and gives `None` for a type it does not write.
#[derive(Debug, Clone)]
pub(crate) struct ConstantValue(Bytes);

impl ConstantValue {
    /// Text (`BYTE_ARRAY`: its length, four bytes little-endian, then its bytes).
    pub(crate) fn text(data_type: &DataType, value: &str) -> Option<Self> {
        let length = u32::try_from(value.len()).ok()?;
        (*data_type == DataType::Utf8)
            .then(|| Self([&length.to_le_bytes(), value.as_bytes()].concat().into()))
    }

    /// A whole number (`INT64`: eight bytes little-endian).
    pub(crate) fn int64(data_type: &DataType, value: i64) -> Option<Self> {
        (*data_type == DataType::Int64).then(|| Self(Bytes::copy_from_slice(&value.to_le_bytes())))
    }
}

/// The chunk of a required, flat column `descriptor` of `rows` rows that all hold `value`,
/// uncompressed (it is a few bytes), with no statistics, as a chunk to append to a row group.
pub(crate) fn constant_chunk(
    descriptor: ColumnDescPtr,
    value: &ConstantValue,
    rows: usize,
) -> Result<CopiedChunk, ParquetError> {
    if descriptor.max_def_level() != 0 || descriptor.max_rep_level() != 0 {
        return Err(ParquetError::General(format!(
            "a constant column must be required and flat: {}",
            descriptor.path()
        )));
    }
    let num_values = u32::try_from(rows)
        .map_err(|_| ParquetError::General(format!("{rows} rows in one data page")))?;
    // The indices: their bit width (0: the dictionary has one entry), then one run of
    // `rows` zeros, whose header is `rows << 1` as an unsigned LEB128 varint.
    let mut indices = vec![0u8];
    let mut header = (rows as u64) << 1;
    while header >= 0x80 {
        indices.push((header & 0x7f) as u8 | 0x80);
        header >>= 7;
    }
    indices.push(header as u8);
    let mut sink = TrackedWrite::new(Vec::new());
    let mut pages = SerializedPageWriter::new(&mut sink);
    let dictionary = Page::DictionaryPage {
        buf: value.0.clone(),
        num_values: 1,
        encoding: Encoding::PLAIN,
        is_sorted: true,
    };
    let dictionary = pages.write_page(CompressedPage::new(dictionary, value.0.len()))?;
    let size = indices.len();
    let data = Page::DataPage {
        buf: indices.into(),
        num_values,
        encoding: Encoding::RLE_DICTIONARY,
        def_level_encoding: Encoding::RLE,
        rep_level_encoding: Encoding::RLE,
        statistics: None,
    };
    let data = pages.write_page(CompressedPage::new(data, size))?;
    pages.close()?;
    let bytes = Bytes::from(sink.into_inner()?);
    let metadata = ColumnChunkMetaData::builder(descriptor)
        .set_compression_codec(CompressionCodec::UNCOMPRESSED)
        .set_encodings(vec![
            Encoding::PLAIN,
            Encoding::RLE,
            Encoding::RLE_DICTIONARY,
        ])
        .set_total_compressed_size(bytes.len() as i64)
        .set_total_uncompressed_size((dictionary.uncompressed_size + data.uncompressed_size) as i64)
        .set_num_values(rows as i64)
        .set_dictionary_page_offset(Some(dictionary.offset as i64))
        .set_data_page_offset(data.offset as i64)
        .build()?;
    Ok(CopiedChunk { bytes, metadata })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Field, Int64Type, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    /// A file of one row group of `rows` rows whose two columns are written as constants.
    fn file(rows: usize) -> Bytes {
        let schema = Arc::new(Schema::new(vec![
            Field::new("member", DataType::Utf8, false),
            Field::new("year", DataType::Int64, false),
        ]));
        let (mut writer, _) = ArrowWriter::try_new(Vec::new(), schema.clone(), None)
            .and_then(ArrowWriter::into_serialized_writer)
            .unwrap();
        let descriptors = writer.schema_descr().columns().to_vec();
        let values = [
            ConstantValue::text(schema.field(0).data_type(), "XA").unwrap(),
            ConstantValue::int64(schema.field(1).data_type(), 2024).unwrap(),
        ];
        let mut group = writer.next_row_group().unwrap();
        for (descriptor, value) in descriptors.into_iter().zip(&values) {
            let chunk = constant_chunk(descriptor.clone(), value, rows).unwrap();
            let close = crate::staged_file::copied(descriptor, &chunk, rows).unwrap();
            group.append_column(&chunk.bytes, close).unwrap();
        }
        group.close().unwrap();
        Bytes::from(writer.into_inner().unwrap())
    }

    #[test]
    fn a_constant_column_reads_back_as_its_value_in_every_row() {
        for rows in [1, 2, 63, 64, 127, 128, 8_193, 300_001] {
            let reader = ParquetRecordBatchReaderBuilder::try_new(file(rows))
                .unwrap()
                .with_batch_size(4096)
                .build()
                .unwrap();
            let mut read = 0;
            for batch in reader {
                let batch = batch.unwrap();
                let member = batch.column(0).as_string::<i32>();
                let year = batch.column(1).as_primitive::<Int64Type>();
                assert_eq!(member.null_count() + year.null_count(), 0, "{rows} rows");
                assert!(member.iter().all(|m| m == Some("XA")), "{rows} rows");
                assert!(year.values().iter().all(|&y| y == 2024), "{rows} rows");
                read += batch.num_rows();
            }
            assert_eq!(read, rows);
        }
    }

    #[test]
    fn only_utf8_and_int64_columns_are_written_as_constants() {
        assert!(ConstantValue::text(&DataType::Utf8View, "XA").is_none());
        assert!(ConstantValue::int64(&DataType::Int32, 2024).is_none());
        assert_eq!(
            ConstantValue::text(&DataType::Utf8, "XA")
                .unwrap()
                .0
                .as_ref(),
            [2, 0, 0, 0, b'X', b'A']
        );
    }
}
