//! Reading a result table's cells by column name, with the type the contract gives: the one
//! way the report, the metrics and the CLI read published tables.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::ResultsError;
use crate::contract::column;

/// A result table's batch, its name for messages, and the rows picked.
#[derive(Debug, Clone)]
pub struct Cells<'a> {
    batch: &'a RecordBatch,
    name: &'a str,
    /// The rows picked, in table order.
    pub rows: Vec<usize>,
}

impl<'a> Cells<'a> {
    /// Every row of `batch` (named `name` in messages).
    pub fn all(batch: &'a RecordBatch, name: &'a str) -> Self {
        Cells {
            batch,
            name,
            rows: (0..batch.num_rows()).collect(),
        }
    }

    /// Every row whose `member` is `member`; every row when the table has no `member`
    /// column (`peer_stats`).
    pub fn of_member(
        batch: &'a RecordBatch,
        name: &'a str,
        member: &str,
    ) -> Result<Self, ResultsError> {
        let mut cells = Self::all(batch, name);
        if batch.schema().index_of(column::MEMBER).is_ok() {
            let mut rows = Vec::with_capacity(cells.rows.len());
            for &i in &cells.rows {
                if cells.text(column::MEMBER, i)? == Some(member) {
                    rows.push(i);
                }
            }
            cells.rows = rows;
        }
        Ok(cells)
    }

    /// The batch read.
    pub fn batch(&self) -> &'a RecordBatch {
        self.batch
    }

    fn column(&self, column: &str, wanted: &DataType) -> Result<&'a dyn Array, ResultsError> {
        let array = self
            .batch
            .column_by_name(column)
            .ok_or_else(|| self.error(format!("no column `{column}`")))?;
        if array.data_type() != wanted {
            return Err(self.error(format!(
                "column `{column}` is {}, not {wanted}",
                array.data_type()
            )));
        }
        Ok(array.as_ref())
    }

    fn error(&self, reason: String) -> ResultsError {
        ResultsError::Table {
            table: self.name.to_string(),
            reason,
        }
    }

    /// A text cell.
    pub fn text(&self, column: &str, row: usize) -> Result<Option<&'a str>, ResultsError> {
        let array = self.column(column, &DataType::Utf8)?.as_string::<i32>();
        Ok(array.is_valid(row).then(|| array.value(row)))
    }

    /// A text cell that must be there.
    pub fn required(&self, column: &str, row: usize) -> Result<&'a str, ResultsError> {
        self.text(column, row)?
            .ok_or_else(|| self.error(format!("`{column}` is null in row {row}")))
    }

    /// A float cell.
    pub fn float(&self, column: &str, row: usize) -> Result<Option<f64>, ResultsError> {
        let array = self
            .column(column, &DataType::Float64)?
            .as_primitive::<Float64Type>();
        Ok(array.is_valid(row).then(|| array.value(row)))
    }

    /// An integer cell.
    pub fn int(&self, column: &str, row: usize) -> Result<Option<i64>, ResultsError> {
        let array = self
            .column(column, &DataType::Int64)?
            .as_primitive::<Int64Type>();
        Ok(array.is_valid(row).then(|| array.value(row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::INDICATOR_VALUES;
    use crate::encode::indicator_values;
    use crate::rows::IndicatorRow;
    use pmm_catalog::{Assessment, Disclosure, IncomeGroup, Region, Status, Unit};

    fn row(member: &str, value: Option<f64>) -> IndicatorRow {
        IndicatorRow {
            member: member.into(),
            region: Region::Europe,
            income_group: IncomeGroup::Low,
            dimension: "d".into(),
            outcome: "o".into(),
            indicator: "k".into(),
            status: if value.is_some() {
                Status::Ok
            } else {
                Status::MissingData
            },
            value,
            numerator: None,
            denominator: None,
            unit: Unit::Percent,
            score: None,
            level: None,
            disclosure: Disclosure::Public,
            assessment: Assessment::SelfAssessed,
            definition_hash: "h".into(),
        }
    }

    #[test]
    fn cells_are_read_by_name_with_their_contract_type() {
        let batch = indicator_values("R1", 2024, &[row("XA", Some(1.5)), row("XB", None)]).unwrap();
        let cells = Cells::of_member(&batch, INDICATOR_VALUES.name, "XB").unwrap();
        assert_eq!(cells.rows, vec![1]);
        assert_eq!(cells.required(column::MEMBER, 1).unwrap(), "XB");
        assert_eq!(cells.float(column::VALUE, 1).unwrap(), None);
        assert_eq!(cells.float(column::VALUE, 0).unwrap(), Some(1.5));
        assert_eq!(cells.int(column::YEAR, 0).unwrap(), Some(2024));
        let wrong = cells.int(column::VALUE, 0).unwrap_err().to_string();
        assert_eq!(
            wrong,
            "indicator_values: column `value` is Float64, not Int64"
        );
        let missing = cells.text("nothing", 0).unwrap_err().to_string();
        assert_eq!(missing, "indicator_values: no column `nothing`");
    }
}
