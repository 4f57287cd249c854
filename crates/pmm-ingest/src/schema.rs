//! Arrow schemas of the dataset contracts.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use pmm_catalog::{ColumnType, DatasetContract};

/// The Arrow type a contract type is stored as. Timestamps are UTC microseconds.
pub fn arrow_type(column_type: &ColumnType) -> DataType {
    match column_type {
        ColumnType::String | ColumnType::Enum => DataType::Utf8,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Int => DataType::Int64,
        ColumnType::Decimal => DataType::Float64,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

/// The schema of a dataset's contract columns, in contract order.
pub fn contract_schema(contract: &DatasetContract) -> SchemaRef {
    Arc::new(Schema::new(
        contract
            .columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(&c.column_type), !c.required))
            .collect::<Vec<_>>(),
    ))
}

/// The two columns a table has before its contract's: the submission's member and year,
/// the same in every row of a staged file.
pub const SUBMISSION_COLUMNS: [&str; 2] = ["member", "year"];

/// The schema of a dataset's table in the engine: `member` and `year` (the submission's),
/// then the contract columns. Indicator SQL is written against this schema.
pub fn table_schema(contract: &DatasetContract) -> SchemaRef {
    let [member, year] = SUBMISSION_COLUMNS;
    let mut fields = vec![
        Field::new(member, DataType::Utf8, false),
        Field::new(year, DataType::Int64, false),
    ];
    fields.extend(
        contract_schema(contract)
            .fields()
            .iter()
            .map(|f| f.as_ref().clone()),
    );
    Arc::new(Schema::new(fields))
}
