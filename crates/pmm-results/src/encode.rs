//! Typed rows to Arrow record batches, in the contract's column order. The column builders are
//! public for tables whose rows are another crate's type (`validation_issues`).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::ArrowError;

use crate::contract::{DIMENSION_SCORES, INDICATOR_VALUES, OUTCOME_SCORES, PEER_STATS};
use crate::rows::{IndicatorRow, PeerRow, PeerStats, ScoreRow};

/// A non-null text column.
pub fn text<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// A text column with nulls.
pub fn opt_text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

/// A Float64 column with nulls.
pub fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

/// An Int64 column with nulls.
pub fn ints(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(values.collect::<Int64Array>())
}

/// A text column of one value (the run id).
pub fn constant_text(value: &str, n: usize) -> ArrayRef {
    text(std::iter::repeat_n(value, n))
}

/// The year column of a table of one year.
pub fn constant_year(year: i32, n: usize) -> ArrayRef {
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
    let stat = |f: fn(&PeerStats) -> f64| floats(rows.iter().map(move |r| r.stats.as_ref().map(f)));
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
