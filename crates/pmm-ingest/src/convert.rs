//! Source columns to contract types, one column at a time. Text (CSV, JSONL) goes through
//! arrow's cast kernels where their rules match the contract's, and small strict parsers where
//! they do not (booleans, enums). Native Parquet columns are taken as they are when their type
//! is the contract's, or cast when the conversion cannot lose information.
//!
//! Why one file of this length (about 400 lines before its tests): every lexical rule of a
//! contract type (the edges where arrow's parsers read more than the contract allows: dates,
//! leap seconds, padded numbers) sits beside the conversion it corrects and the message that
//! names it.

use std::sync::Arc;

use datafusion::arrow::array::builder::make_view;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, StringArray,
    StringViewArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options, nullif};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::ArrayFormatter;
use pmm_catalog::{ColumnContract, ColumnType};

use crate::schema::arrow_type;
use crate::{Error, Result};

/// A converted column and the rows whose source value is not a valid value of the column.
pub(crate) struct Converted {
    /// The typed column; null where the source was null or did not convert.
    pub array: ArrayRef,
    /// Rows whose non-null source value is not a valid value of the column's type.
    pub bad: Vec<usize>,
}

/// Why a whole source column cannot be used.
pub(crate) struct Incompatible(pub String);

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

/// Whether a native (non-text) type converts to the contract type without losing information.
fn converts_losslessly(from: &DataType, to: &ColumnType) -> bool {
    use DataType::*;
    match to {
        ColumnType::Int => matches!(
            from,
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
        ),
        ColumnType::Decimal => matches!(
            from,
            Float16
                | Float32
                | Float64
                | Int8
                | Int16
                | Int32
                | Int64
                | UInt8
                | UInt16
                | UInt32
                | UInt64
                | Decimal128(_, _)
        ),
        ColumnType::Bool => matches!(from, Boolean),
        ColumnType::Date => matches!(from, Date32 | Date64),
        ColumnType::Timestamp => matches!(from, Timestamp(_, _)),
        ColumnType::String | ColumnType::Enum => false,
    }
}

/// Converts a source column to the contract's type.
pub(crate) fn convert_column(
    column: &ColumnContract,
    source: &ArrayRef,
) -> Result<std::result::Result<Converted, Incompatible>> {
    let target = arrow_type(&column.column_type);
    let from = source.data_type();
    // Whole numbers where the contract wants text (an id column written as integers) read as
    // their decimal digits: nothing is lost.
    let words = matches!(column.column_type, ColumnType::String | ColumnType::Enum);
    let digits = from.is_integer() && words;
    if words && *from == DataType::Utf8View {
        return Ok(Ok(kept_as_views(column, source)?));
    }
    if is_text(from) || digits {
        let text = cast_with_options(source, &DataType::Utf8, &CastOptions::default())
            .map_err(|e| Error::Internal(format!("text column {}: {e}", column.name)))?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Internal("cast to Utf8 did not give a StringArray".into()))?;
        return Ok(Ok(convert_text(column, text)?));
    }
    if *from == DataType::Null {
        return Ok(Ok(Converted {
            array: datafusion::arrow::array::new_null_array(&target, source.len()),
            bad: Vec::new(),
        }));
    }
    if *from != target && !converts_losslessly(from, &column.column_type) {
        return Ok(Err(Incompatible(format!(
            "is stored as {from}, which does not convert to {}",
            column.column_type
        ))));
    }
    let array = if *from == target {
        source.clone()
    } else {
        cast_with_options(
            source,
            &target,
            &CastOptions {
                safe: true,
                ..Default::default()
            },
        )
        .map_err(|e| Error::Internal(format!("cast of column {}: {e}", column.name)))?
    };
    // A value the cast could not carry (an unsigned value too large for int64) is null now:
    // the cast only adds nulls, so there is none when the null counts agree (always, for a
    // column taken as it is).
    let mut bad = newly_null(source.as_ref(), array.as_ref());
    let array = if column.column_type == ColumnType::Decimal {
        finite_only(&array, &mut bad)?
    } else {
        array
    };
    Ok(Ok(Converted { array, bad }))
}

/// A text column read as string views (Parquet) for a `string` or `enum` column: kept as
/// views, not copied (the staging writer copies only what it encodes: see
/// `DatasetValidator::assemble`); an enum's values that are not in the list become null.
fn kept_as_views(column: &ColumnContract, source: &ArrayRef) -> Result<Converted> {
    let mut bad = Vec::new();
    let mut array = source.clone();
    if column.column_type == ColumnType::Enum {
        let wrong = EnumMatcher::new(&column.values).unmatched_views(source.as_string_view());
        array = without(source, &wrong, &mut bad)?;
    }
    Ok(Converted { array, bad })
}

/// A text column, plain (CSV, JSONL) or string views (Parquet).
#[derive(Clone, Copy)]
pub(crate) enum Text<'a> {
    Plain(&'a StringArray),
    Views(&'a StringViewArray),
}

impl<'a> Text<'a> {
    /// The column as text, or `None` when it holds another type.
    pub(crate) fn of(array: &'a dyn Array) -> Option<Self> {
        match array.data_type() {
            DataType::Utf8 => Some(Text::Plain(array.as_string::<i32>())),
            DataType::Utf8View => Some(Text::Views(array.as_string_view())),
            _ => None,
        }
    }

    pub(crate) fn value(self, i: usize) -> &'a str {
        match self {
            Text::Plain(text) => text.value(i),
            Text::Views(text) => text.value(i),
        }
    }
}

/// A text value of a column (plain or string views), or `None` for another type.
fn text_at(array: &dyn Array, i: usize) -> Option<&str> {
    Text::of(array).map(|text| text.value(i))
}

/// Converts a text column to the contract's type.
fn convert_text(column: &ColumnContract, text: &StringArray) -> Result<Converted> {
    match column.column_type {
        ColumnType::String => Ok(Converted {
            array: Arc::new(text.clone()),
            bad: Vec::new(),
        }),
        ColumnType::Enum => {
            let matcher = EnumMatcher::new(&column.values);
            let bad = (0..text.len())
                .filter(|&i| text.is_valid(i) && !matcher.matches_plain(text, i))
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
                    match text.value(i).as_bytes() {
                        b"true" | b"1" => Some(true),
                        b"false" | b"0" => Some(false),
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
            let failed =
                |e: ArrowError| Error::Internal(format!("cast of column {}: {e}", column.name));
            let array = if column.column_type == ColumnType::Timestamp {
                // Parsed as UTC without a time zone, then labelled UTC: the same instants
                // (a value without offset is UTC either way), without looking up "UTC" in the
                // time zone database for every value.
                let naive = DataType::Timestamp(TimeUnit::Microsecond, None);
                let parsed = cast_with_options(text, &naive, &options).map_err(failed)?;
                let parsed = parsed
                    .as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .ok_or_else(|| Error::Internal("timestamp cast gave another type".into()))?
                    .clone()
                    .with_timezone("UTC");
                Arc::new(timestamp_edges(text, parsed)) as ArrayRef
            } else {
                cast_with_options(text, &arrow_type(&column.column_type), &options)
                    .map_err(failed)?
            };
            let mut bad = newly_null(text, array.as_ref());
            let array = match column.column_type {
                ColumnType::Decimal => finite_only(&array, &mut bad)?,
                ColumnType::Date => strict_dates(text, &array, &mut bad)?,
                _ => array,
            };
            Ok(Converted { array, bad })
        }
    }
}

/// The lexical edges of timestamps that arrow's parser reads otherwise than the contract
/// wants: a date without a time (arrow reads midnight; here it is not a timestamp: a lost
/// time would skew every duration) becomes null, so a `type` issue; a leap second
/// (`23:59:60`, which arrow reads as the next minute's first second, so 2024-12-31T23:59:60Z
/// fell in 2025) is read as the last microsecond of its own minute.
fn timestamp_edges(
    text: &StringArray,
    parsed: TimestampMicrosecondArray,
) -> TimestampMicrosecondArray {
    const SECOND: i64 = 1_000_000;
    // Only a value in the first second of a minute can be a leap second read by arrow, and
    // only a value at midnight a date alone: the text is looked at for those few.
    let suspect = |v: i64| v.rem_euclid(60 * SECOND) < SECOND;
    if !parsed.values().iter().any(|&v| suspect(v)) {
        return parsed;
    }
    let values = parsed.iter().enumerate().map(|(i, value)| {
        let v = value?;
        if !suspect(v) {
            return Some(v);
        }
        let bytes = text.value(i).as_bytes();
        let Some(t) = bytes.iter().position(|b| matches!(b, b'T' | b't' | b' ')) else {
            // A date alone.
            return None;
        };
        // `HH:MM:60` after the separator: the second before the next minute's start.
        if bytes.get(t + 7..t + 9) == Some(b"60") {
            return Some(v.div_euclid(SECOND) * SECOND - 1);
        }
        Some(v)
    });
    TimestampMicrosecondArray::from_iter(values).with_timezone("UTC")
}

/// A date column takes `YYYY-MM-DD` only: arrow's parser also reads `20240605`, `2024-6-5`,
/// `+002024-06-05` and a timestamp's date (dropping its time, whose offset may change the
/// day); those become null, so a `type` issue.
fn strict_dates(text: &StringArray, parsed: &ArrayRef, bad: &mut Vec<usize>) -> Result<ArrayRef> {
    let dates = parsed
        .as_any()
        .downcast_ref::<Date32Array>()
        .ok_or_else(|| Error::Internal("date conversion did not give Date32".into()))?;
    let wrong: Vec<usize> = (0..text.len())
        .filter(|&i| dates.is_valid(i) && !is_date(text.value(i).as_bytes()))
        .collect();
    without(parsed, &wrong, bad)
}

/// `array` with the rows `wrong` made null, and those rows added to `bad` (kept sorted and
/// without repeats): a value the cast kernel read that the contract does not allow.
fn without(array: &ArrayRef, wrong: &[usize], bad: &mut Vec<usize>) -> Result<ArrayRef> {
    if wrong.is_empty() {
        return Ok(array.clone());
    }
    let mut mask = vec![false; array.len()];
    for &i in wrong {
        mask[i] = true;
    }
    bad.extend(wrong);
    bad.sort_unstable();
    bad.dedup();
    nullif(array, &BooleanArray::from(mask))
        .map_err(|e| Error::Internal(format!("nulling rows that did not convert: {e}")))
}

/// Whether a value is one of an enum's values, without a string comparison per candidate:
/// values of up to 15 bytes are packed with their length into one integer each, so a check
/// is a few integer comparisons (enum columns hold millions of short values).
struct EnumMatcher<'a> {
    packed: Vec<u128>,
    long: Vec<&'a [u8]>,
    /// The values of up to 12 bytes as string views hold them (length, then the bytes).
    inline: Vec<u128>,
}

impl<'a> EnumMatcher<'a> {
    fn new(values: &'a [String]) -> Self {
        let mut matcher = EnumMatcher {
            packed: Vec::new(),
            long: Vec::new(),
            inline: values
                .iter()
                .filter(|v| v.len() <= INLINE)
                .map(|v| make_view(v.as_bytes(), 0, 0))
                .collect(),
        };
        for value in values {
            match pack(value.as_bytes()) {
                Some(p) => matcher.packed.push(p),
                None => matcher.long.push(value.as_bytes()),
            }
        }
        matcher
    }

    fn matches(&self, value: &[u8]) -> bool {
        match pack(value) {
            Some(p) => self.packed.contains(&p),
            None => self.long.contains(&value),
        }
    }

    /// The valid rows of `text` whose value is not in the list ([`Self::matches`] for every
    /// row of string views). A value of up to 12 bytes is held in its view with the bytes past
    /// it zero (arrow refuses a view that breaks this), so it is matched by comparing the view
    /// alone, without reading the value: 64 rows at a time into a mask of misses, without a
    /// branch per row. Only a miss is looked at again: a null row is skipped, a longer value
    /// is matched by its bytes.
    fn unmatched_views(&self, text: &StringViewArray) -> Vec<usize> {
        let mut wrong = Vec::new();
        for (c, chunk) in text.views().chunks(64).enumerate() {
            let mut missed = 0u64;
            for (j, view) in chunk.iter().enumerate() {
                let hit = self.inline.iter().fold(false, |hit, v| hit | (v == view));
                missed |= u64::from(!hit) << j;
            }
            while missed != 0 {
                let j = missed.trailing_zeros() as usize;
                missed &= missed - 1;
                let i = c * 64 + j;
                let short = chunk[j] as u32 as usize <= INLINE;
                if text.is_valid(i) && (short || !self.matches(text.value(i).as_bytes())) {
                    wrong.push(i);
                }
            }
        }
        wrong
    }

    /// [`Self::matches`] for row `i` of plain strings: a short value is packed from one
    /// 16-byte load of the values buffer (masked to its length) instead of a copy of its
    /// bytes, where the buffer has 16 bytes from the value's start.
    fn matches_plain(&self, text: &StringArray, i: usize) -> bool {
        let offsets = text.value_offsets();
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        let len = end - start;
        let window = text
            .values()
            .as_slice()
            .get(start..start + 16)
            .and_then(|w| <[u8; 16]>::try_from(w).ok());
        match window {
            Some(window) if len <= 15 => {
                let mask = (1u128 << (8 * len)) - 1;
                let packed = (u128::from_le_bytes(window) & mask) | ((len as u128) << 120);
                self.packed.contains(&packed)
            }
            _ => self.matches(text.value(i).as_bytes()),
        }
    }
}

/// The longest value a string view holds in itself.
const INLINE: usize = 12;

/// Up to 15 bytes and their length in one integer; `None` for longer values.
fn pack(value: &[u8]) -> Option<u128> {
    if value.len() > 15 {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..value.len()].copy_from_slice(value);
    bytes[15] = value.len() as u8;
    Some(u128::from_le_bytes(bytes))
}

/// "NaN" and "inf" are floats but not decimals: they become bad rows.
fn finite_only(array: &ArrayRef, bad: &mut Vec<usize>) -> Result<ArrayRef> {
    let floats = array
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| Error::Internal("decimal conversion did not give f64".into()))?;
    // Most columns hold no infinity or NaN at all, in any slot (a null's slot included).
    if floats.values().iter().all(|v| v.is_finite()) {
        return Ok(array.clone());
    }
    let non_finite: Vec<usize> = (0..floats.len())
        .filter(|&i| floats.is_valid(i) && !floats.value(i).is_finite())
        .collect();
    without(array, &non_finite, bad)
}

/// The rows null in `converted` whose value in `source` was not: the values a conversion (a
/// cast that only ever adds nulls) could not carry.
fn newly_null(source: &dyn Array, converted: &dyn Array) -> Vec<usize> {
    if converted.null_count() == source.null_count() {
        return Vec::new();
    }
    match converted.nulls() {
        Some(nulls) => nulls
            .iter()
            .enumerate()
            .filter(|&(i, valid)| !valid && source.is_valid(i))
            .map(|(i, _)| i)
            .collect(),
        None => Vec::new(),
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

/// A source value as shown in a message: quoted, and cut when very long.
pub(crate) fn show(source: &ArrayRef, i: usize) -> String {
    let value = match text_at(source.as_ref(), i) {
        Some(text) => text.to_string(),
        None => ArrayFormatter::try_new(source.as_ref(), &Default::default())
            .map(|f| f.value(i).to_string())
            .unwrap_or_default(),
    };
    quote(&value)
}

/// Why a source value did not convert, with the value as the file holds it. Text gets "is
/// not" and the form expected; a native value that is of the right kind but cannot be held
/// (a timestamp past the years a 64-bit count of microseconds reaches, an unsigned number
/// past the largest whole number) is shown as its raw number with that reason.
pub(crate) fn bad_value(column: &ColumnContract, source: &ArrayRef, i: usize) -> String {
    let raw = || {
        cast_with_options(
            &source.slice(i, 1),
            &DataType::Int64,
            &CastOptions::default(),
        )
        .ok()
        .and_then(|a| {
            a.as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .filter(|a| a.is_valid(0))
                .map(|a| a.value(0).to_string())
        })
        .unwrap_or_else(|| show(source, i))
    };
    match source.data_type() {
        DataType::Timestamp(unit, _) => {
            let unit = match unit {
                TimeUnit::Second => "seconds",
                TimeUnit::Millisecond => "milliseconds",
                TimeUnit::Microsecond => "microseconds",
                TimeUnit::Nanosecond => "nanoseconds",
            };
            format!(
                "the timestamp {} {unit} from 1970-01-01T00:00:00Z is outside the timestamps pmm can hold (microseconds in 64 bits: about 290,000 years either side of 1970)",
                raw()
            )
        }
        t if t.is_integer() && column.column_type == ColumnType::Int => format!(
            "{} is larger than the largest whole number pmm can hold (9223372036854775807)",
            show(source, i)
        ),
        _ => format!(
            "{} is not {}{}",
            show(source, i),
            expected_form(column),
            text_at(source.as_ref(), i).map_or("", |text| why_not(column, text))
        ),
    }
}

/// What makes a value that looks like a date or a timestamp the wrong one of the two.
fn why_not(column: &ColumnContract, value: &str) -> &'static str {
    let date_first = value.get(..10).is_some_and(|d| is_date(d.as_bytes()));
    match column.column_type {
        ColumnType::Date if date_first && value.len() > 10 => ": it has a time",
        ColumnType::Timestamp if date_first && value.len() == 10 => ": it has no time",
        _ => "",
    }
}

/// Whether `v` is `YYYY-MM-DD` in form (digits and dashes where they belong).
fn is_date(v: &[u8]) -> bool {
    v.len() == 10
        && v.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A value as shown in a message: quoted, and cut when very long.
pub(crate) fn quote(value: &str) -> String {
    format!("\"{}\"", crate::text::shown(value))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(column_type: ColumnType, values: &[&str]) -> (Vec<String>, Vec<usize>) {
        let column = ColumnContract {
            name: "c".into(),
            column_type,
            values: Vec::new(),
            required: false,
            rules: Vec::new(),
            description: None,
        };
        let text = StringArray::from(values.to_vec());
        let Converted { array, bad } = convert_text(&column, &text).unwrap();
        let shown = ArrayFormatter::try_new(array.as_ref(), &Default::default()).unwrap();
        let shown = (0..array.len())
            .map(|i| shown.value(i).to_string())
            .collect();
        (shown, bad)
    }

    /// Regression: a leap second was read as the next minute's start (so the last second of
    /// 2024 fell in 2025), and a date alone as midnight.
    #[test]
    fn leap_seconds_stay_in_their_minute_and_a_date_alone_is_no_timestamp() {
        let (shown, bad) = converted(
            ColumnType::Timestamp,
            &[
                "2024-12-31T23:59:60Z",
                "2024-06-30T23:59:60.5Z",
                "2024-03-02",
                "2024-03-02T10:00:00Z",
                "2024-03-02 10:00:00",
                "2024-03-02T00:00:00Z",
            ],
        );
        assert_eq!(shown[0], "2024-12-31T23:59:59.999999Z");
        assert_eq!(shown[1], "2024-06-30T23:59:59.999999Z");
        assert_eq!(shown[3], "2024-03-02T10:00:00Z");
        assert_eq!(shown[4], "2024-03-02T10:00:00Z");
        assert_eq!(shown[5], "2024-03-02T00:00:00Z");
        assert_eq!(bad, vec![2]);
    }

    /// Regression: a date column read `20240605`, `2024-6-5` and a timestamp's date.
    #[test]
    fn a_date_is_yyyy_mm_dd_only() {
        let (shown, bad) = converted(
            ColumnType::Date,
            &[
                "2024-06-05",
                "20240605",
                "2024-6-5",
                "2021-05-05T10:00:00Z",
                "+002024-06-05",
                "2024-02-30",
            ],
        );
        assert_eq!(shown[0], "2024-06-05");
        assert_eq!(bad, vec![1, 2, 3, 4, 5]);
    }

    /// A documented rule, not an accident: spaces around a number are ignored (fixed-width
    /// exports pad numbers), and so is a leading `+`.
    #[test]
    fn numbers_may_be_padded_with_spaces() {
        let (shown, bad) = converted(ColumnType::Decimal, &[" 102.5", "102.5 ", "+3", "1,5"]);
        assert_eq!(shown[..3], ["102.5", "102.5", "3.0"]);
        assert_eq!(bad, vec![3]);
        let (shown, bad) = converted(ColumnType::Int, &[" 12", "12 ", "1.5"]);
        assert_eq!(shown[..2], ["12", "12"]);
        assert_eq!(bad, vec![2]);
    }

    #[test]
    fn enum_values_match_exactly_short_or_long() {
        let values: Vec<String> = ["IM", "EX", "", "manufacturer", "a value of twenty chars"]
            .map(String::from)
            .to_vec();
        let matcher = EnumMatcher::new(&values);
        for v in &values {
            assert!(matcher.matches(v.as_bytes()), "{v}");
        }
        for v in [
            "im",
            "IM ",
            "I",
            "EXX",
            "manufacturers",
            "a value of twenty char",
            "\0",
        ] {
            assert!(!matcher.matches(v.as_bytes()), "{v:?}");
        }
    }

    /// The enum values of the property below: short, exactly 12 bytes (the longest a string
    /// view holds in itself), 13, and long; and the empty string.
    const ENUM: [&str; 6] = [
        "IM",
        "EX",
        "",
        "ABCDEFGHIJKL",
        "ABCDEFGHIJKLM",
        "a value of twenty chars",
    ];

    fn contract(column_type: ColumnType) -> ColumnContract {
        ColumnContract {
            name: "c".into(),
            column_type,
            values: ENUM.map(String::from).to_vec(),
            required: false,
            rules: Vec::new(),
            description: None,
        }
    }

    /// A value: an enum value, one a byte away from one, a number, a date, or any text.
    fn value() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        use proptest::prelude::*;
        let near = (
            proptest::sample::select(ENUM.to_vec()),
            any::<u8>(),
            any::<bool>(),
        )
            .prop_map(|(v, b, grow)| {
                let mut v = v.as_bytes().to_vec();
                match (grow, v.pop()) {
                    (true, _) | (false, None) => v.push(b'A' + b % 26),
                    (false, Some(_)) => {}
                }
                String::from_utf8_lossy(&v).into_owned()
            });
        proptest::option::weighted(
            0.9,
            prop_oneof![
                proptest::sample::select(ENUM.to_vec()).prop_map(String::from),
                near,
                "-?[0-9]{1,20}(\\.[0-9]{0,3})?",
                "20[0-9]{2}-[01][0-9]-[0-3][0-9](T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z)?",
                "(true|false|0|1|yes)",
                ".{0,20}",
            ],
        )
    }

    proptest::proptest! {
        /// Text read from Parquet as string views converts to the very values, bad rows and
        /// messages that the same text as plain strings (CSV, JSONL) does, for every type.
        #[test]
        fn text_as_views_converts_as_plain_text(values in proptest::collection::vec(value(), 0..150)) {
            let plain: ArrayRef = Arc::new(StringArray::from(values.clone()));
            let views: ArrayRef = Arc::new(StringViewArray::from(values));
            for column_type in [
                ColumnType::String,
                ColumnType::Enum,
                ColumnType::Bool,
                ColumnType::Int,
                ColumnType::Decimal,
                ColumnType::Date,
                ColumnType::Timestamp,
            ] {
                let column = contract(column_type);
                let (Ok(a), Ok(b)) = (
                    convert_column(&column, &plain).unwrap(),
                    convert_column(&column, &views).unwrap(),
                ) else {
                    panic!("text is never incompatible");
                };
                proptest::prop_assert_eq!(&a.bad, &b.bad);
                let b_array = match b.array.data_type() {
                    DataType::Utf8View => cast_with_options(&b.array, &DataType::Utf8, &CastOptions::default()).unwrap(),
                    _ => b.array.clone(),
                };
                proptest::prop_assert_eq!(a.array.to_data(), b_array.to_data());
                for &i in &a.bad {
                    proptest::prop_assert_eq!(bad_value(&column, &plain, i), bad_value(&column, &views, i));
                }
                for i in 0..plain.len() {
                    proptest::prop_assert_eq!(show(&plain, i), show(&views, i));
                }
                let matcher = EnumMatcher::new(&column.values);
                let (plain, views) = (plain.as_string::<i32>(), views.as_string_view());
                let mut unmatched = Vec::new();
                for i in (0..plain.len()).filter(|&i| plain.is_valid(i)) {
                    let expected = matcher.matches(plain.value(i).as_bytes());
                    proptest::prop_assert_eq!(matcher.matches_plain(plain, i), expected);
                    if !expected {
                        unmatched.push(i);
                    }
                }
                proptest::prop_assert_eq!(matcher.unmatched_views(views), unmatched);
            }
        }
    }

    #[test]
    fn a_short_value_is_matched_by_its_view_whose_unused_bytes_arrow_keeps_zero() {
        let values = ENUM.map(String::from).to_vec();
        let matcher = EnumMatcher::new(&values);
        let text = StringViewArray::from(vec!["IM", "IMX", "", "ABCDEFGHIJKL", "ABCDEFGHIJK"]);
        assert_eq!(matcher.unmatched_views(&text), [1, 4]);
        // What the match relies on: a view of "IM" with anything past its two bytes is refused.
        let dirty = make_view(b"IM", 0, 0) | (0xABu128 << 120);
        assert!(StringViewArray::try_new(vec![dirty].into(), Vec::new(), None).is_err());
    }
}
