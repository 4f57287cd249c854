//! Result tables as Arrow IPC files: the one writer and the one reader.

use std::io::Cursor;

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::ArrowError;

use crate::ResultsError;
use crate::contract::ResultTable;

/// A batch as the bytes of an Arrow IPC file.
pub fn to_file(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    let mut buffer = Vec::new();
    {
        let mut writer = FileWriter::try_new(&mut buffer, &batch.schema())?;
        writer.write(batch)?;
        writer.finish()?;
    }
    Ok(buffer)
}

/// The bytes of an Arrow IPC file as one batch of `table`, whose columns must be the
/// contract's (names, types and order; a reader of pmm's files may rely on them).
/// `name` is how the file is shown in messages.
pub fn from_file(
    bytes: &[u8],
    table: &ResultTable,
    name: &str,
) -> Result<RecordBatch, ResultsError> {
    let invalid = |reason: String| ResultsError::Table {
        table: name.to_string(),
        reason,
    };
    let reader = FileReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| invalid(format!("not an Arrow IPC file: {e}")))?;
    let schema = reader.schema();
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
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("unreadable Arrow IPC file: {e}")))?;
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
        assert_eq!(from_file(&bytes, &PEER_STATS, "p").unwrap(), batch);
        let err = from_file(&bytes, &INDICATOR_VALUES, "p.arrow").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("p.arrow: its columns are not those of `indicator_values`"),
            "{err}"
        );
        let err = from_file(b"not arrow", &PEER_STATS, "p.arrow").unwrap_err();
        assert!(err.to_string().contains("not an Arrow IPC file"), "{err}");
    }
}
