//! Result tables as Arrow IPC files: the one writer and the one reader.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::convert::fb_to_schema;
use arrow_ipc::reader::{FileDecoder, read_footer_length};
use arrow_ipc::root_as_footer;
use arrow_ipc::writer::FileWriter;
use arrow_schema::ArrowError;

use crate::ResultsError;
use crate::contract::ResultTable;

/// A batch as the bytes of an Arrow IPC file.
pub fn to_file(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    // The columns' memory and a little for the schema and footer: one allocation.
    write_file(
        batch,
        Vec::with_capacity(batch.get_array_memory_size() + 64 * 1024),
    )
}

/// Writes a batch as an Arrow IPC file into `out`, and gives `out` back.
pub fn write_file<W: std::io::Write>(batch: &RecordBatch, out: W) -> Result<W, ArrowError> {
    let mut writer = FileWriter::try_new(out, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    writer.into_inner()
}

/// The bytes of an Arrow IPC file as one batch of `table`, whose columns must be the
/// contract's (names, types and order; a reader of pmm's files may rely on them).
/// `name` is how the file is shown in messages. Given bytes it owns (`bytes::Bytes`, a `Vec`),
/// the columns are the file's own memory, not a copy (each is still validated).
pub fn from_file(
    bytes: impl Into<Buffer>,
    table: &ResultTable,
    name: &str,
) -> Result<RecordBatch, ResultsError> {
    let buffer: Buffer = bytes.into();
    // arrow's reader panics on some damaged files instead of failing: a damaged file is an
    // error like any other.
    std::panic::catch_unwind(|| decode(&buffer, table, name)).unwrap_or_else(|_| {
        Err(ResultsError::Table {
            table: name.to_string(),
            reason: "unreadable Arrow IPC file: its data does not match its own description".into(),
        })
    })
}

fn decode(buffer: &Buffer, table: &ResultTable, name: &str) -> Result<RecordBatch, ResultsError> {
    let invalid = |reason: String| ResultsError::Table {
        table: name.to_string(),
        reason,
    };
    let not_ipc = |e: &dyn std::fmt::Display| invalid(format!("not an Arrow IPC file: {e}"));
    // The file ends with its footer, the footer's length (4 bytes) and `ARROW1`.
    let trailer_start = buffer
        .len()
        .checked_sub(10)
        .ok_or_else(|| not_ipc(&"too short"))?;
    let trailer: [u8; 10] = buffer[trailer_start..]
        .try_into()
        .map_err(|_| not_ipc(&"too short"))?;
    let footer_len = read_footer_length(trailer).map_err(|e| not_ipc(&e))?;
    let footer_start = trailer_start
        .checked_sub(footer_len)
        .ok_or_else(|| not_ipc(&"its footer is longer than the file"))?;
    let footer = root_as_footer(&buffer[footer_start..trailer_start]).map_err(|e| not_ipc(&e))?;
    let schema = fb_to_schema(footer.schema().ok_or_else(|| not_ipc(&"no schema"))?);
    let found: Vec<(&str, &arrow_schema::DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let wanted: Vec<(&str, &arrow_schema::DataType)> = table
        .columns
        .iter()
        .map(|c| (c.name, &c.data_type))
        .collect();
    if found != wanted {
        return Err(invalid(format!(
            "its columns are not those of `{}` ({})",
            table.name,
            table
                .columns
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let schema = Arc::new(schema);
    let decoder = FileDecoder::new(schema.clone(), footer.version());
    let unreadable = |e: &dyn std::fmt::Display| invalid(format!("unreadable Arrow IPC file: {e}"));
    let mut batches = Vec::new();
    for block in footer.recordBatches().into_iter().flatten() {
        // A block is where the footer says; it must lie before the footer.
        let start = usize::try_from(block.offset()).ok();
        let len = usize::try_from(block.metaDataLength())
            .ok()
            .zip(usize::try_from(block.bodyLength()).ok())
            .and_then(|(meta, body)| meta.checked_add(body));
        let (start, len) = start
            .zip(len)
            .filter(|(start, len)| {
                start
                    .checked_add(*len)
                    .is_some_and(|end| end <= footer_start)
            })
            .ok_or_else(|| unreadable(&"a record batch lies outside the file"))?;
        let data = buffer.slice_with_length(start, len);
        if let Some(batch) = decoder
            .read_record_batch(block, &data)
            .map_err(|e| unreadable(&e))?
        {
            batches.push(batch);
        }
    }
    arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{INDICATOR_VALUES, PEER_STATS};
    use crate::encode::peer_stats;
    use crate::rows::{PeerRow, PeerStats};

    #[test]
    fn a_table_reads_back_as_written_and_only_as_its_own() {
        let rows = [PeerRow {
            indicator: "k".into(),
            group_kind: "global",
            group: "all".into(),
            n: 3,
            stats: Some(PeerStats {
                mean: 1.0,
                median: 2.0,
                p25: 0.5,
                p75: 3.0,
                min: 0.0,
                max: 4.0,
            }),
        }];
        let batch = peer_stats("R1", 2024, &rows).unwrap();
        let bytes = to_file(&batch).unwrap();
        assert_eq!(
            from_file(bytes.as_slice(), &PEER_STATS, "p").unwrap(),
            batch
        );
        let err = from_file(bytes.as_slice(), &INDICATOR_VALUES, "p.arrow").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("p.arrow: its columns are not those of `indicator_values`"),
            "{err}"
        );
        let err = from_file(b"not arrow", &PEER_STATS, "p.arrow").unwrap_err();
        assert!(err.to_string().contains("not an Arrow IPC file"), "{err}");
        let err = from_file(&bytes[..bytes.len() - 20], &PEER_STATS, "p.arrow").unwrap_err();
        assert!(err.to_string().contains("not an Arrow IPC file"), "{err}");
    }

    /// A damaged file is an error, never a panic or a read outside it: every byte of a small
    /// file changed in turn, and the file cut at every length.
    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        let rows = [PeerRow {
            indicator: "k".into(),
            group_kind: "global",
            group: "all".into(),
            n: 3,
            stats: None,
        }];
        let bytes = to_file(&peer_stats("R1", 2024, &rows).unwrap()).unwrap();
        let mut damaged = 0;
        for at in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut copy = bytes.clone();
                copy[at] ^= flip;
                let read = std::panic::catch_unwind(|| from_file(copy, &PEER_STATS, "p.arrow"));
                match read {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => damaged += 1,
                    Err(_) => panic!("byte {at} ^ {flip:#x} makes the reader panic"),
                }
            }
        }
        assert!(damaged > bytes.len(), "most damage is noticed: {damaged}");
        for len in 0..bytes.len() {
            assert!(
                from_file(&bytes[..len], &PEER_STATS, "p.arrow").is_err(),
                "{len}"
            );
        }
    }
}
