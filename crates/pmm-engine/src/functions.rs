//! SQL functions the indicator catalog relies on, registered on every session:
//!
//! - `hours_between(start, end)`: `end - start` in hours, as a float, computed from integer
//!   microseconds so it is exact to the microsecond (one rounding, in the final division).
//! - `percentile_exact(x, p)`: the exact type-7 percentile of a group's non-null values (linear
//!   interpolation between order statistics, as numpy's default and DuckDB's `quantile_cont`).
//!   DataFusion's own `percentile_cont` rounds the interpolation weight to 1e-6, and
//!   `approx_percentile_cont` is approximate, so neither meets the spec.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array};
use datafusion::arrow::compute::kernels::arity::binary;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Float64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_plan::expressions::Literal;

/// Registers every function of this module on a session, a session state, or any other
/// function registry: the one place that lists them, for every kind of session that plans or
/// executes indicator SQL (functions travel in plans by name, so each side needs them).
pub fn register_functions(registry: &mut dyn FunctionRegistry) -> Result<()> {
    registry.register_udf(Arc::new(hours_between()))?;
    registry.register_udaf(Arc::new(percentile_exact()))?;
    Ok(())
}

/// `hours_between(start, end)` as a DataFusion scalar function.
pub fn hours_between() -> ScalarUDF {
    ScalarUDF::from(HoursBetween::new())
}

/// `percentile_exact(x, p)` as a DataFusion aggregate function.
pub fn percentile_exact() -> AggregateUDF {
    AggregateUDF::from(PercentileExact::new())
}

const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

#[derive(Debug, PartialEq, Eq, Hash)]
struct HoursBetween {
    signature: Signature,
}

impl HoursBetween {
    fn new() -> Self {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        HoursBetween {
            signature: Signature::exact(vec![ts.clone(), ts], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for HoursBetween {
    fn name(&self) -> &str {
        "hours_between"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let start = arrays[0].as_primitive::<TimestampMicrosecondType>();
        let end = arrays[1].as_primitive::<TimestampMicrosecondType>();
        let hours: Float64Array = binary(start, end, hours)?;
        Ok(ColumnarValue::Array(Arc::new(hours)))
    }
}

/// Hours from `start` to `end` (microseconds): exact in i64 for any real date; two extreme
/// timestamps give a float difference instead of an overflow.
fn hours(start: i64, end: i64) -> f64 {
    match end.checked_sub(start) {
        Some(d) => d as f64 / MICROS_PER_HOUR,
        None => (end as f64 - start as f64) / MICROS_PER_HOUR,
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PercentileExact {
    signature: Signature,
}

impl PercentileExact {
    fn new() -> Self {
        PercentileExact {
            signature: Signature::uniform(2, vec![DataType::Float64], Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for PercentileExact {
    fn name(&self) -> &str {
        "percentile_exact"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let fraction = acc_args
            .exprs
            .get(1)
            .and_then(|e| e.downcast_ref::<Literal>())
            .and_then(|l| match l.value() {
                ScalarValue::Float64(Some(p)) => Some(*p),
                _ => None,
            });
        match fraction {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(Box::new(PercentileAccumulator {
                fraction: p,
                values: Vec::new(),
            })),
            _ => plan_err!("percentile_exact(x, p) needs p as a number literal between 0 and 1"),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new_list(
            format_state_name(args.name, "values"),
            Field::new_list_field(DataType::Float64, true),
            true,
        ))])
    }
}

#[derive(Debug)]
struct PercentileAccumulator {
    fraction: f64,
    values: Vec<f64>,
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = values[0].as_primitive::<Float64Type>();
        self.values.extend(array.iter().flatten());
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for list in lists.iter().flatten() {
            self.values
                .extend(list.as_primitive::<Float64Type>().iter().flatten());
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values: ArrayRef = Arc::new(Float64Array::from(self.values.clone()));
        Ok(vec![
            SingleRowListArrayBuilder::new(values).build_list_scalar(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(type7(&mut self.values, self.fraction)))
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.values.capacity() * size_of::<f64>()
    }
}

/// The type-7 percentile of `values` (reordered in place), `None` for no values. Interpolates
/// the way numpy does, so results agree with numpy to the last bit. Only the two order
/// statistics it needs are found (a selection, linear time), not a full sort: the values are
/// the same, so is the result.
pub fn type7(values: &mut [f64], fraction: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let (lo, t) = position(values.len(), fraction);
    let (_, a, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    // The next order statistic is the least of those above (none when `lo` is the last).
    let b = above.iter().copied().min_by(f64::total_cmp).unwrap_or(a);
    Some(interpolate(a, b, t))
}

/// [`type7`] of values already sorted ascending, so several percentiles of one group cost one
/// sort.
pub fn type7_sorted(values: &[f64], fraction: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let (lo, t) = position(values.len(), fraction);
    let hi = (lo + 1).min(values.len() - 1);
    Some(interpolate(values[lo], values[hi], t))
}

/// Where the type-7 percentile of `n` values falls: the index of the order statistic below it
/// and the weight of the one above.
fn position(n: usize, fraction: f64) -> (usize, f64) {
    let h = (n - 1) as f64 * fraction;
    let lo = h.floor();
    (lo as usize, h - lo)
}

/// numpy's linear interpolation between `a` and `b` at weight `t`.
fn interpolate(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy;

    use super::{hours, register_functions, type7, type7_sorted};
    use datafusion::execution::FunctionRegistry;
    use datafusion::execution::SessionStateBuilder;

    /// A bare session state (as an executor builds one) knows the functions once they are
    /// registered on it, and not before.
    #[test]
    fn register_functions_puts_every_function_on_a_session_state() {
        let mut state = SessionStateBuilder::new().build();
        assert!(state.udf("hours_between").is_err());
        register_functions(&mut state).unwrap();
        assert!(state.udf("hours_between").is_ok());
        assert!(state.udaf("percentile_exact").is_ok());
    }

    #[test]
    fn hours_between_extreme_timestamps_does_not_overflow() {
        assert_eq!(hours(0, 5_400_000_000), 1.5);
        assert_eq!(hours(5_400_000_000, 0), -1.5);
        let span = hours(i64::MIN, i64::MAX);
        assert!(span.is_finite() && span > 5.0e9, "{span}");
        assert!(hours(i64::MAX, i64::MIN) < -5.0e9);
    }

    #[test]
    fn type7_interpolates_like_numpy() {
        // Expected values are numpy 2.4's output, printed with repr: bit for bit.
        // numpy.percentile([1, 2, 3, 4, 100], 90)
        assert_eq!(
            type7(&mut [100.0, 1.0, 2.0, 3.0, 4.0], 0.9),
            Some(61.60000000000001)
        );
        // numpy.percentile([2, 3.5, 24, 100], 90)
        assert_eq!(
            type7(&mut [2.0, 3.5, 24.0, 100.0], 0.9),
            Some(77.20000000000002)
        );
        // numpy.percentile([0.1, 0.7, 0.2], 25)
        assert_eq!(type7(&mut [0.1, 0.7, 0.2], 0.25), Some(0.15000000000000002));
        // numpy.median([2, 3.5, 10, 24])
        assert_eq!(type7(&mut [24.0, 2.0, 10.0, 3.5], 0.5), Some(6.75));
        assert_eq!(type7(&mut [7.0], 0.9), Some(7.0));
        assert_eq!(type7(&mut [], 0.5), None);
        assert_eq!(type7(&mut [1.0, 2.0], 0.0), Some(1.0));
        assert_eq!(type7(&mut [1.0, 2.0], 1.0), Some(2.0));
    }

    proptest::proptest! {
        /// The selection gives the bits a full sort does, with ties, signed zeros, infinities
        /// and few distinct values.
        #[test]
        fn type7_by_selection_is_type7_of_the_sorted_values(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    -1e6f64..1e6,
                    (0i32..5).prop_map(f64::from),
                    proptest::sample::select(vec![0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY]),
                ],
                0..300,
            ),
            fraction in proptest::prop_oneof![0.0..=1.0f64, proptest::sample::select(vec![0.0, 0.25, 0.5, 0.9, 1.0])],
        ) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let expected = type7_sorted(&sorted, fraction);
            let got = type7(&mut values.clone(), fraction);
            proptest::prop_assert_eq!(got.map(f64::to_bits), expected.map(f64::to_bits));
        }
    }
}
