//! The result tables as Arrow record batches, and their encoding as Arrow IPC files. Names,
//! columns and types come from the contract in [`pmm_engine::results`]; this module fills
//! the columns in that order.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::writer::FileWriter;
use pmm_engine::results::{
    DIMENSION_SCORES, INDICATOR_VALUES, OUTCOME_SCORES, PEER_STATS, VALIDATION_ISSUES,
};
use pmm_engine::{IndicatorRow, PeerRow, ScoreRow};
use pmm_ingest::ValidationIssue;

fn text<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn opt_text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

fn ints(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(values.collect::<Int64Array>())
}

fn constant_text(value: &str, n: usize) -> ArrayRef {
    text(std::iter::repeat_n(value, n))
}

fn constant_year(year: i32, n: usize) -> ArrayRef {
    Arc::new(Int64Array::from(vec![i64::from(year); n]))
}

/// `indicator_values`.
pub fn indicator_values(
    run_id: &str,
    year: i32,
    rows: &[IndicatorRow],
) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    RecordBatch::try_new(
        INDICATOR_VALUES.schema(),
        vec![
            constant_text(run_id, n),
            constant_year(year, n),
            text(rows.iter().map(|r| r.member.as_str())),
            text(rows.iter().map(|r| r.region.as_str())),
            text(rows.iter().map(|r| r.income_group.as_str())),
            text(rows.iter().map(|r| r.dimension.as_str())),
            text(rows.iter().map(|r| r.outcome.as_str())),
            text(rows.iter().map(|r| r.indicator.as_str())),
            text(rows.iter().map(|r| r.status.as_str())),
            floats(rows.iter().map(|r| r.value)),
            floats(rows.iter().map(|r| r.numerator)),
            floats(rows.iter().map(|r| r.denominator)),
            text(rows.iter().map(|r| r.unit.as_str())),
            floats(rows.iter().map(|r| r.score)),
            ints(rows.iter().map(|r| r.level)),
            text(rows.iter().map(|r| r.disclosure.as_str())),
            text(rows.iter().map(|r| r.assessment.as_str())),
            text(rows.iter().map(|r| r.definition_hash.as_str())),
        ],
    )
}

/// `outcome_scores` (with `outcome`) or `dimension_scores` (without).
pub fn scores(
    run_id: &str,
    year: i32,
    rows: &[ScoreRow],
    with_outcome: bool,
) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    let mut arrays = vec![
        constant_text(run_id, n),
        constant_year(year, n),
        text(rows.iter().map(|r| r.member.as_str())),
        text(rows.iter().map(|r| r.region.as_str())),
        text(rows.iter().map(|r| r.income_group.as_str())),
        text(rows.iter().map(|r| r.dimension.as_str())),
    ];
    if with_outcome {
        arrays.push(text(
            rows.iter().map(|r| r.outcome.as_deref().unwrap_or("")),
        ));
    }
    arrays.extend([
        text(rows.iter().map(|r| r.status.as_str())),
        floats(rows.iter().map(|r| r.score)),
        ints(rows.iter().map(|r| r.level)),
        floats(rows.iter().map(|r| r.coverage)),
        text(rows.iter().map(|r| r.disclosure.as_str())),
    ]);
    let table = if with_outcome {
        &OUTCOME_SCORES
    } else {
        &DIMENSION_SCORES
    };
    RecordBatch::try_new(table.schema(), arrays)
}

/// `peer_stats`.
pub fn peer_stats(run_id: &str, year: i32, rows: &[PeerRow]) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    let stat = |f: fn(&pmm_engine::PeerStats) -> f64| {
        floats(rows.iter().map(move |r| r.stats.as_ref().map(f)))
    };
    RecordBatch::try_new(
        PEER_STATS.schema(),
        vec![
            constant_text(run_id, n),
            constant_year(year, n),
            text(rows.iter().map(|r| r.indicator.as_str())),
            text(rows.iter().map(|r| r.group_kind)),
            text(rows.iter().map(|r| r.group.as_str())),
            ints(rows.iter().map(|r| Some(r.n))),
            stat(|s| s.mean),
            stat(|s| s.median),
            stat(|s| s.p25),
            stat(|s| s.p75),
            stat(|s| s.min),
            stat(|s| s.max),
        ],
    )
}

/// `validation_issues`.
pub fn validation_issues(
    run_id: &str,
    rows: &[ValidationIssue],
) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    RecordBatch::try_new(
        VALIDATION_ISSUES.schema(),
        vec![
            constant_text(run_id, n),
            ints(rows.iter().map(|r| Some(i64::from(r.year)))),
            text(rows.iter().map(|r| r.member.as_str())),
            opt_text(rows.iter().map(|r| r.dataset.as_deref())),
            opt_text(rows.iter().map(|r| r.file.as_deref())),
            ints(rows.iter().map(|r| r.row.map(|x| x as i64))),
            opt_text(rows.iter().map(|r| r.column.as_deref())),
            text(rows.iter().map(|r| r.rule.as_str())),
            text(rows.iter().map(|r| r.severity.as_str())),
            text(rows.iter().map(|r| r.message.as_str())),
            ints(rows.iter().map(|r| Some(r.count as i64))),
        ],
    )
}

/// A batch as the bytes of an Arrow IPC file.
pub fn ipc_file(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    let mut buffer = Vec::new();
    {
        let mut writer = FileWriter::try_new(&mut buffer, &batch.schema())?;
        writer.write(batch)?;
        writer.finish()?;
    }
    Ok(buffer)
}
