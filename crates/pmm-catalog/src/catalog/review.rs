//! `review:` of an indicator (`range`, `max_change`) and of a dataset contract
//! (`max_count_change`, `min_count`): what the plausibility review accepts.

use std::path::Path;

use serde::Deserialize;

use crate::model::{DatasetReview, IndicatorReview};
use crate::problem::Problems;
use crate::yaml::SourceText;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IndicatorReviewSpec {
    #[serde(default)]
    range: Option<Vec<f64>>,
    #[serde(default)]
    max_change: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DatasetReviewSpec {
    #[serde(default)]
    max_count_change: Option<f64>,
    #[serde(default)]
    min_count: Option<u64>,
}

/// An indicator's `review`: a `range` of two finite numbers, the first below the second, and a
/// `max_change` above zero.
pub(super) fn indicator(
    spec: Option<IndicatorReviewSpec>,
    path: &Path,
    source: &SourceText<'_>,
    problems: &mut Problems,
) -> IndicatorReview {
    let Some(spec) = spec else {
        return IndicatorReview::default();
    };
    let range = match spec.range.as_deref() {
        None => None,
        Some(&[low, high]) if low.is_finite() && high.is_finite() && low < high => {
            Some((low, high))
        }
        Some(_) => {
            problems.at(
                path,
                source.key(&["review", "range"]),
                "a review `range` is two numbers, the lowest plausible value then the highest, such as `[0, 100]`",
            );
            None
        }
    };
    let max_change = spec.max_change.and_then(|m| {
        if m.is_finite() && m > 0.0 {
            Some(m)
        } else {
            problems.at(
                path,
                source.key(&["review", "max_change"]),
                "a review `max_change` is the largest plausible change from one year to the next, as a fraction above zero (0.5: 50 %)",
            );
            None
        }
    });
    IndicatorReview { range, max_change }
}

/// A dataset's `review`: `max_count_change` above zero; `min_count` a whole number.
pub(super) fn dataset(
    spec: Option<DatasetReviewSpec>,
    path: &Path,
    source: &SourceText<'_>,
    problems: &mut Problems,
) -> DatasetReview {
    let default = DatasetReview::default();
    let Some(spec) = spec else {
        return default;
    };
    let max_count_change = match spec.max_count_change {
        None => default.max_count_change,
        Some(m) if m.is_finite() && m > 0.0 => m,
        Some(_) => {
            problems.at(
                path,
                source.key(&["review", "max_count_change"]),
                "a review `max_count_change` is the largest plausible change of the row count from one year to the next, as a fraction above zero (0.5: 50 %)",
            );
            default.max_count_change
        }
    };
    DatasetReview {
        max_count_change,
        min_count: spec.min_count.unwrap_or(default.min_count),
    }
}

#[cfg(test)]
mod tests {
    use super::super::indicators::parse_indicator;
    use super::*;

    const KPI: &str = "id: tfec.k
name: K
official: false
dimension: tfec
outcome: tfec.o
unit: percent
direction: higher_is_better
datasets: [{name: declarations, years: [T]}]
formula: f
description: d
sql: |
  SELECT member, year, 1.0 AS value FROM declarations
";

    /// The bounds are read, and they are not part of the definition: adding or changing them
    /// keeps the definition hash, so no value is restated and no series broken by them.
    #[test]
    fn review_bounds_are_read_and_left_out_of_the_definition() {
        let path = Path::new("tfec/k.yaml");
        let parse = |text: &str| {
            let mut problems = Problems::new();
            let kpi = parse_indicator(path, text, &mut problems).unwrap();
            // (The file lacks scoring and fixtures, which are checked elsewhere.)
            assert!(!format!("{problems:?}").contains("review"), "{problems:?}");
            kpi
        };
        let plain = parse(KPI);
        assert_eq!(plain.review, IndicatorReview::default());
        let flow = parse(&format!(
            "{KPI}review: {{range: [0, 100], max_change: 0.5}}\n"
        ));
        assert_eq!(flow.review.range, Some((0.0, 100.0)));
        assert_eq!(flow.review.max_change, Some(0.5));
        let block = parse(&format!(
            "review:\n  range: [0, 50]\n\n  max_change: 2\n{KPI}"
        ));
        assert_eq!(block.review.range, Some((0.0, 50.0)));
        assert_eq!(block.review.max_change, Some(2.0));
        assert_eq!(plain.definition_hash, flow.definition_hash);
        assert_eq!(plain.definition_hash, block.definition_hash);
        // Anything else is the definition.
        let other = parse(&KPI.replace("1.0 AS value", "2.0 AS value"));
        assert_ne!(plain.definition_hash, other.definition_hash);
    }
}
