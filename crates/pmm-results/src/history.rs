//! `indicator_history`: every version of every (member, KPI, year) value published so far,
//! typed, with its encoding and its decoding (a run reads the previous run's history back).

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::ArrowError;
use pmm_catalog::{Disclosure, Status, Unit};
use serde::Deserialize;
use serde::de::IntoDeserializer;

use crate::ResultsError;
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

/// Puts history rows in the order of their series: member, KPI, year, and each year's versions
/// in the order they were published (a history file holds them in the order they were
/// published, so a stable sort keeps that).
pub fn in_series_order<R: std::borrow::Borrow<HistoryRow>>(rows: &mut [R]) {
    rows.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
        (&a.member, &a.indicator, a.year).cmp(&(&b.member, &b.indicator, b.year))
    });
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

/// The columns of an `indicator_history` batch, each looked up and typed once: rows are read
/// by index, whole ([`HistoryColumns::row`]) or a cell at a time without allocating.
pub struct HistoryColumns<'a> {
    member: &'a StringArray,
    indicator: &'a StringArray,
    year: &'a Int64Array,
    status: &'a StringArray,
    value: &'a Float64Array,
    score: &'a Float64Array,
    level: &'a Int64Array,
    unit: &'a StringArray,
    disclosure: &'a StringArray,
    definition_hash: &'a StringArray,
    catalog_version: &'a StringArray,
    comparable: &'a BooleanArray,
    run_id: &'a StringArray,
    published_at: &'a StringArray,
    superseded_by: &'a StringArray,
    change: &'a StringArray,
    cause: &'a StringArray,
    rows: usize,
}

fn problem(reason: String) -> ResultsError {
    ResultsError::Table {
        table: INDICATOR_HISTORY.name.into(),
        reason,
    }
}

fn typed<'a, A: Array + 'static>(
    batch: &'a RecordBatch,
    name: &str,
    kind: &str,
) -> Result<&'a A, ResultsError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| problem(format!("no column `{name}`")))?
        .as_any()
        .downcast_ref::<A>()
        .ok_or_else(|| problem(format!("column `{name}` is not {kind}")))
}

impl<'a> HistoryColumns<'a> {
    /// The columns of `batch`, which must be the contract's.
    pub fn of(batch: &'a RecordBatch) -> Result<Self, ResultsError> {
        let text = |name| typed::<StringArray>(batch, name, "Utf8");
        Ok(HistoryColumns {
            member: text(c::MEMBER)?,
            indicator: text(c::INDICATOR)?,
            year: typed(batch, c::YEAR, "Int64")?,
            status: text(c::STATUS)?,
            value: typed(batch, c::VALUE, "Float64")?,
            score: typed(batch, c::SCORE, "Float64")?,
            level: typed(batch, c::LEVEL, "Int64")?,
            unit: text(c::UNIT)?,
            disclosure: text(c::DISCLOSURE)?,
            definition_hash: text(c::DEFINITION_HASH)?,
            catalog_version: text(c::CATALOG_VERSION)?,
            comparable: typed(batch, c::COMPARABLE, "Boolean")?,
            run_id: text(c::RUN_ID)?,
            published_at: text(c::PUBLISHED_AT)?,
            superseded_by: text(c::SUPERSEDED_BY)?,
            change: text(c::CHANGE)?,
            cause: text(c::CAUSE)?,
            rows: batch.num_rows(),
        })
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `i`'s member.
    pub fn member(&self, i: usize) -> &'a str {
        self.member.value(i)
    }

    /// Row `i`'s indicator.
    pub fn indicator(&self, i: usize) -> &'a str {
        self.indicator.value(i)
    }

    /// Row `i`'s year.
    pub fn year(&self, i: usize) -> i64 {
        self.year.value(i)
    }

    /// Row `i`'s definition hash.
    pub fn definition_hash(&self, i: usize) -> &'a str {
        self.definition_hash.value(i)
    }

    /// Row `i`'s catalog version.
    pub fn catalog_version(&self, i: usize) -> &'a str {
        self.catalog_version.value(i)
    }

    /// The run that published row `i`.
    pub fn run_id(&self, i: usize) -> &'a str {
        self.run_id.value(i)
    }

    /// The run that replaced row `i`, if one did.
    pub fn superseded_by(&self, i: usize) -> Option<&'a str> {
        self.superseded_by
            .is_valid(i)
            .then(|| self.superseded_by.value(i))
    }

    /// Whether row `i` is its (member, KPI, year)'s current version.
    pub fn is_current(&self, i: usize) -> bool {
        self.superseded_by.is_null(i)
    }

    /// Whether row `i` is comparable with the previous year of its series.
    pub fn comparable(&self, i: usize) -> bool {
        self.comparable.is_valid(i) && self.comparable.value(i)
    }

    /// Row `i`'s disclosure, when it is one pmm writes.
    pub fn disclosure(&self, i: usize) -> Option<Disclosure> {
        named(self.disclosure.value(i))
    }

    /// Row `i`, whole.
    pub fn row(&self, i: usize) -> Result<HistoryRow, ResultsError> {
        let bad = |column: &str, text: &str| {
            problem(format!("row {i}: `{text}` is not a {column} pmm writes"))
        };
        let optional = |a: &StringArray| a.is_valid(i).then(|| a.value(i).to_string());
        let word = |a: &'a StringArray, name: &str| required(a, name, i);
        let status = word(self.status, c::STATUS)?;
        let unit = word(self.unit, c::UNIT)?;
        let disclosure = word(self.disclosure, c::DISCLOSURE)?;
        let change = word(self.change, c::CHANGE)?;
        Ok(HistoryRow {
            member: word(self.member, c::MEMBER)?.to_string(),
            indicator: word(self.indicator, c::INDICATOR)?.to_string(),
            year: (self.year.is_valid(i))
                .then(|| i32::try_from(self.year.value(i)).ok())
                .flatten()
                .ok_or_else(|| bad(c::YEAR, "null"))?,
            status: named(status).ok_or_else(|| bad(c::STATUS, status))?,
            value: self.value.is_valid(i).then(|| self.value.value(i)),
            score: self.score.is_valid(i).then(|| self.score.value(i)),
            level: self.level.is_valid(i).then(|| self.level.value(i)),
            unit: named(unit).ok_or_else(|| bad(c::UNIT, unit))?,
            disclosure: named(disclosure).ok_or_else(|| bad(c::DISCLOSURE, disclosure))?,
            definition_hash: word(self.definition_hash, c::DEFINITION_HASH)?.to_string(),
            catalog_version: word(self.catalog_version, c::CATALOG_VERSION)?.to_string(),
            comparable: self.comparable.is_valid(i) && self.comparable.value(i),
            run_id: word(self.run_id, c::RUN_ID)?.to_string(),
            published_at: word(self.published_at, c::PUBLISHED_AT)?.to_string(),
            superseded_by: optional(self.superseded_by),
            change: named(change).ok_or_else(|| bad(c::CHANGE, change))?,
            cause: optional(self.cause),
        })
    }
}

/// The rows of an `indicator_history` batch (read with the contract's columns).
pub fn decode(batch: &RecordBatch) -> Result<Vec<HistoryRow>, ResultsError> {
    let columns = HistoryColumns::of(batch)?;
    (0..columns.len()).map(|i| columns.row(i)).collect()
}

/// A text cell the contract says is never null.
fn required<'a>(array: &'a StringArray, name: &str, row: usize) -> Result<&'a str, ResultsError> {
    if array.is_valid(row) {
        Ok(array.value(row))
    } else {
        Err(ResultsError::Table {
            table: INDICATOR_HISTORY.name.into(),
            reason: format!("`{name}` is null in row {row}"),
        })
    }
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
