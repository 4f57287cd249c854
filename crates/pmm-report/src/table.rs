//! Reading a result table's cells by column name, for the rows of one member.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};

use pmm_engine::results::column as c;

use crate::ReportError;

/// A result table: its batch and the rows picked.
pub(crate) struct Table<'a> {
    batch: &'a RecordBatch,
    name: &'static str,
    /// The rows picked, in table order.
    pub rows: Vec<usize>,
}

impl<'a> Table<'a> {
    /// Every row of `batch` (named `name` in messages) whose `member` is `member`; every row
    /// when the table has no `member` column.
    pub fn of_member(
        batch: &'a RecordBatch,
        name: &'static str,
        member: &str,
    ) -> Result<Self, ReportError> {
        let mut table = Table {
            batch,
            name,
            rows: (0..batch.num_rows()).collect(),
        };
        if batch.schema().index_of(c::MEMBER).is_ok() {
            let rows = table
                .rows
                .iter()
                .copied()
                .filter(|&i| table.text(c::MEMBER, i).ok().flatten() == Some(member))
                .collect();
            table.rows = rows;
        }
        Ok(table)
    }

    fn column(&self, column: &str, wanted: &DataType) -> Result<&'a dyn Array, ReportError> {
        let array = self
            .batch
            .column_by_name(column)
            .ok_or_else(|| ReportError::Table(format!("{}: no column `{column}`", self.name)))?;
        if array.data_type() != wanted {
            return Err(ReportError::Table(format!(
                "{}: column `{column}` is {}, not {wanted}",
                self.name,
                array.data_type()
            )));
        }
        Ok(array.as_ref())
    }

    /// A text cell.
    pub fn text(&self, column: &str, row: usize) -> Result<Option<&'a str>, ReportError> {
        let array = self.column(column, &DataType::Utf8)?.as_string::<i32>();
        Ok(array.is_valid(row).then(|| array.value(row)))
    }

    /// A text cell that must be there.
    pub fn required(&self, column: &str, row: usize) -> Result<&'a str, ReportError> {
        self.text(column, row)?.ok_or_else(|| {
            ReportError::Table(format!("{}: `{column}` is null in row {row}", self.name))
        })
    }

    /// A float cell.
    pub fn float(&self, column: &str, row: usize) -> Result<Option<f64>, ReportError> {
        let array = self
            .column(column, &DataType::Float64)?
            .as_primitive::<Float64Type>();
        Ok(array.is_valid(row).then(|| array.value(row)))
    }

    /// An integer cell.
    pub fn int(&self, column: &str, row: usize) -> Result<Option<i64>, ReportError> {
        let array = self
            .column(column, &DataType::Int64)?
            .as_primitive::<Int64Type>();
        Ok(array.is_valid(row).then(|| array.value(row)))
    }
}
