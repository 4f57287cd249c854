//! JSON lines submissions: one object per line, validated as they are read.

use std::io::{BufReader, Read};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::json::ReaderBuilder as JsonReaderBuilder;

use crate::Result;
use crate::batches::Batches;
use crate::csv::{READ_BUFFER, feed};
use crate::issue::Rule;
use crate::limits::{RecordLimit, Records};
use crate::object_reader::TextStart;
use crate::read::BATCH_ROWS;
use crate::validate::DatasetValidator;

/// JSONL: one JSON object per line, keys named as the contract's columns. Values are read as
/// text (numbers and booleans too) and converted like CSV values.
pub(crate) fn read_jsonl(
    data: impl Read + Send,
    validator: &mut DatasetValidator<'_>,
    limits: &pmm_catalog::Limits,
) -> Result<()> {
    let data = BufReader::with_capacity(
        READ_BUFFER,
        RecordLimit::new(TextStart::new(data), Records::Lines, limits),
    );
    let names: Vec<String> = validator
        .contract()
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    validator.check_columns(&names);
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let decoder = JsonReaderBuilder::new(schema)
        .with_coerce_primitive(true)
        .with_batch_size(BATCH_ROWS)
        .build_decoder();
    let decoder = match decoder {
        Ok(r) => r,
        Err(e) => {
            validator.reject(
                Rule::Unreadable,
                None,
                format!(
                    "not readable as JSON lines: {}",
                    crate::text::shown_within(&e.to_string())
                ),
            );
            return Ok(());
        }
    };
    // arrow's JSON decoder keeps every key and value of a batch on its tape (unknown keys
    // too), up to about four times the bytes of text: a quarter of the batch limit in text.
    let budget = usize::try_from(limits.max_batch_bytes / 4).unwrap_or(usize::MAX);
    feed(Batches::new(data, decoder, budget), validator, |e| {
        format!(
            "not readable as JSON lines: {}",
            crate::text::shown_within(e)
        )
    })
}
