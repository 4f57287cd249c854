//! `indicator_history`: every version of every (member, KPI, year) value published so far,
//! typed, with its encoding and its decoding (a run reads the previous run's history back).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::ArrowError;
use pmm_catalog::{Disclosure, Status, Unit};
use serde::Deserialize;
use serde::de::IntoDeserializer;

use crate::ResultsError;
use crate::cells::Cells;
use crate::contract::{INDICATOR_HISTORY, column as c};
use crate::encode::{floats, ints, opt_text, text};

/// Why a history row was added.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The first value published for this (member, KPI, year).
    First,
    /// The value, score or level differs, the definition being the same: the inputs (or the
    /// scoring settings) changed.
    Restated,
    /// The status differs (a value appeared or went away), the definition being the same.
    StatusChanged,
    /// The KPI's definition differs (its file's hash).
    DefinitionChanged,
    /// Only who may see the row differs.
    DisclosureChanged,
}

impl Change {
    /// The name written in the `change` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::First => "first",
            Change::Restated => "restated",
            Change::StatusChanged => "status_changed",
            Change::DefinitionChanged => "definition_changed",
            Change::DisclosureChanged => "disclosure_changed",
        }
    }
}

/// One row of `indicator_history`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// Member code.
    pub member: String,
    /// Indicator id.
    pub indicator: String,
    /// The year the value is for.
    pub year: i32,
    /// Its status.
    pub status: Status,
    /// Its value (ok only).
    pub value: Option<f64>,
    /// Its score.
    pub score: Option<f64>,
    /// Its level.
    pub level: Option<i64>,
    /// The KPI's unit.
    pub unit: Unit,
    /// Who may see it, as the run that published it decided.
    pub disclosure: Disclosure,
    /// SHA-256 of the KPI's definition file when it was computed.
    pub definition_hash: String,
    /// The catalog's version when it was computed.
    pub catalog_version: String,
    /// Whether it is comparable with the member's previous year in the series (recomputed for
    /// the current rows at every run, since a year filled in later can become the previous).
    pub comparable: bool,
    /// The run that published this version.
    pub run_id: String,
    /// When that run finished (RFC 3339).
    pub published_at: String,
    /// The run whose row replaced this one; `None` for the current version.
    pub superseded_by: Option<String>,
    /// Why it was added.
    pub change: Change,
    /// Why it differs from the version it replaced, in words (none for a first value).
    pub cause: Option<String>,
}

impl HistoryRow {
    /// Whether this is the current version of its (member, KPI, year).
    pub fn is_current(&self) -> bool {
        self.superseded_by.is_none()
    }
}

/// `indicator_history`, in the order given.
pub fn encode(rows: &[HistoryRow]) -> Result<RecordBatch, ArrowError> {
    let comparable: ArrayRef = Arc::new(BooleanArray::from(
        rows.iter().map(|r| r.comparable).collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(
        INDICATOR_HISTORY.schema(),
        vec![
            text(rows.iter().map(|r| r.member.as_str())),
            text(rows.iter().map(|r| r.indicator.as_str())),
            ints(rows.iter().map(|r| Some(i64::from(r.year)))),
            text(rows.iter().map(|r| r.status.as_str())),
            floats(rows.iter().map(|r| r.value)),
            floats(rows.iter().map(|r| r.score)),
            ints(rows.iter().map(|r| r.level)),
            text(rows.iter().map(|r| r.unit.as_str())),
            text(rows.iter().map(|r| r.disclosure.as_str())),
            text(rows.iter().map(|r| r.definition_hash.as_str())),
            text(rows.iter().map(|r| r.catalog_version.as_str())),
            comparable,
            text(rows.iter().map(|r| r.run_id.as_str())),
            text(rows.iter().map(|r| r.published_at.as_str())),
            opt_text(rows.iter().map(|r| r.superseded_by.as_deref())),
            text(rows.iter().map(|r| r.change.as_str())),
            opt_text(rows.iter().map(|r| r.cause.as_deref())),
        ],
    )
}

/// The rows of an `indicator_history` batch (read with the contract's columns).
pub fn decode(batch: &RecordBatch) -> Result<Vec<HistoryRow>, ResultsError> {
    let cells = Cells::all(batch, INDICATOR_HISTORY.name);
    let comparable = batch
        .column_by_name(c::COMPARABLE)
        .and_then(|a| a.as_any().downcast_ref::<BooleanArray>())
        .ok_or_else(|| ResultsError::Table {
            table: INDICATOR_HISTORY.name.into(),
            reason: format!("column `{}` is missing or not Boolean", c::COMPARABLE),
        })?;
    let mut rows = Vec::with_capacity(batch.num_rows());
    for &row in &cells.rows {
        let word = |column: &str| -> Result<&str, ResultsError> { cells.required(column, row) };
        let bad = |column: &str, text: &str| ResultsError::Table {
            table: INDICATOR_HISTORY.name.into(),
            reason: format!("row {row}: `{text}` is not a {column} pmm writes"),
        };
        rows.push(HistoryRow {
            member: word(c::MEMBER)?.to_string(),
            indicator: word(c::INDICATOR)?.to_string(),
            year: cells
                .int(c::YEAR, row)?
                .and_then(|y| i32::try_from(y).ok())
                .ok_or_else(|| bad(c::YEAR, "null"))?,
            status: named(word(c::STATUS)?).ok_or_else(|| bad(c::STATUS, "?"))?,
            value: cells.float(c::VALUE, row)?,
            score: cells.float(c::SCORE, row)?,
            level: cells.int(c::LEVEL, row)?,
            unit: named(word(c::UNIT)?).ok_or_else(|| bad(c::UNIT, "?"))?,
            disclosure: named(word(c::DISCLOSURE)?).ok_or_else(|| bad(c::DISCLOSURE, "?"))?,
            definition_hash: word(c::DEFINITION_HASH)?.to_string(),
            catalog_version: word(c::CATALOG_VERSION)?.to_string(),
            comparable: comparable.is_valid(row) && comparable.value(row),
            run_id: word(c::RUN_ID)?.to_string(),
            published_at: word(c::PUBLISHED_AT)?.to_string(),
            superseded_by: cells.text(c::SUPERSEDED_BY, row)?.map(str::to_string),
            change: named(word(c::CHANGE)?).ok_or_else(|| bad(c::CHANGE, "?"))?,
            cause: cells.text(c::CAUSE, row)?.map(str::to_string),
        });
    }
    Ok(rows)
}

/// A value of one of the catalog's enums by the name result files use.
fn named<'de, T: Deserialize<'de>>(text: &'de str) -> Option<T> {
    let deserializer: serde::de::value::StrDeserializer<'de, serde::de::value::Error> =
        text.into_deserializer();
    T::deserialize(deserializer).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(change: Change, superseded_by: Option<&str>) -> HistoryRow {
        HistoryRow {
            member: "XA".into(),
            indicator: "tfec.release_time".into(),
            year: 2023,
            status: Status::Ok,
            value: Some(12.5),
            score: None,
            level: Some(3),
            unit: Unit::Hours,
            disclosure: Disclosure::Wco,
            definition_hash: "ab".into(),
            catalog_version: "PMM v1.0".into(),
            comparable: false,
            run_id: "R1".into(),
            published_at: "2026-01-01T00:00:00Z".into(),
            superseded_by: superseded_by.map(str::to_string),
            change,
            cause: (change != Change::First).then(|| "declarations re-submitted".into()),
        }
    }

    #[test]
    fn history_rows_read_back_as_written() {
        let rows = vec![
            row(Change::First, Some("R2")),
            row(Change::Restated, None),
            row(Change::DefinitionChanged, None),
        ];
        let batch = encode(&rows).unwrap();
        assert_eq!(batch.schema(), INDICATOR_HISTORY.schema());
        assert_eq!(decode(&batch).unwrap(), rows);
        assert!(!rows[0].is_current() && rows[1].is_current());
        for change in [
            Change::First,
            Change::Restated,
            Change::StatusChanged,
            Change::DefinitionChanged,
            Change::DisclosureChanged,
        ] {
            assert_eq!(named::<Change>(change.as_str()), Some(change));
        }
        assert_eq!(named::<Status>("nonsense"), None);
    }
}
