//! Text to contract types: one column at a time, with arrow's cast kernels where their rules
//! match the contract's and small strict parsers where they do not (booleans, enums).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, StringArray};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use pmm_catalog::{ColumnContract, ColumnType};

use crate::schema::arrow_type;
use crate::{Error, Result};

/// A converted column and, for each row, whether its text failed to convert.
pub(crate) struct Converted {
    /// The typed column; null where the text was null or did not convert.
    pub array: ArrayRef,
    /// Rows whose non-null text is not a valid value of the column's type.
    pub bad: Vec<usize>,
}

/// Converts a text column to the contract's type.
pub(crate) fn convert_column(column: &ColumnContract, text: &StringArray) -> Result<Converted> {
    match column.column_type {
        ColumnType::String => Ok(Converted {
            array: Arc::new(text.clone()),
            bad: Vec::new(),
        }),
        ColumnType::Enum => {
            let bad = (0..text.len())
                .filter(|&i| text.is_valid(i) && !column.values.iter().any(|v| v == text.value(i)))
                .collect::<Vec<_>>();
            let array = null_out(text, &bad);
            Ok(Converted {
                array: Arc::new(array),
                bad,
            })
        }
        ColumnType::Bool => {
            let mut bad = Vec::new();
            let array: BooleanArray = (0..text.len())
                .map(|i| {
                    if text.is_null(i) {
                        return None;
                    }
                    match text.value(i) {
                        "true" | "1" => Some(true),
                        "false" | "0" => Some(false),
                        _ => {
                            bad.push(i);
                            None
                        }
                    }
                })
                .collect();
            Ok(Converted {
                array: Arc::new(array),
                bad,
            })
        }
        _ => {
            let options = CastOptions {
                safe: true,
                ..Default::default()
            };
            let array = cast_with_options(text, &arrow_type(&column.column_type), &options)
                .map_err(|e| Error::Internal(format!("cast of column {}: {e}", column.name)))?;
            let mut bad: Vec<usize> = (0..text.len())
                .filter(|&i| text.is_valid(i) && array.is_null(i))
                .collect();
            if column.column_type == ColumnType::Decimal {
                // "NaN" and "inf" parse as floats but are not decimals.
                let floats = array
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(|| Error::Internal("decimal cast did not give f64".into()))?;
                let non_finite: Vec<usize> = (0..floats.len())
                    .filter(|&i| floats.is_valid(i) && !floats.value(i).is_finite())
                    .collect();
                if !non_finite.is_empty() {
                    bad.extend(&non_finite);
                    bad.sort_unstable();
                    let cleaned: Float64Array = (0..floats.len())
                        .map(|i| {
                            (floats.is_valid(i) && floats.value(i).is_finite())
                                .then(|| floats.value(i))
                        })
                        .collect();
                    return Ok(Converted {
                        array: Arc::new(cleaned),
                        bad,
                    });
                }
            }
            Ok(Converted { array, bad })
        }
    }
}

fn null_out(text: &StringArray, rows: &[usize]) -> StringArray {
    if rows.is_empty() {
        return text.clone();
    }
    let mut skip = rows.iter().peekable();
    (0..text.len())
        .map(|i| {
            if skip.peek() == Some(&&i) {
                skip.next();
                None
            } else {
                text.is_valid(i).then(|| text.value(i))
            }
        })
        .collect()
}

/// What a value of the type looks like, for messages.
pub(crate) fn expected_form(column: &ColumnContract) -> String {
    match column.column_type {
        ColumnType::String => "text".into(),
        ColumnType::Enum => format!("one of {}", column.values.join(", ")),
        ColumnType::Bool => "true, false, 1 or 0".into(),
        ColumnType::Int => "a whole number".into(),
        ColumnType::Decimal => "a decimal number with `.` as the decimal point".into(),
        ColumnType::Date => "a date YYYY-MM-DD".into(),
        ColumnType::Timestamp => "an ISO 8601 timestamp such as 2024-03-01T10:15:00Z".into(),
    }
}
