//! The plausibility review: figures that passed validation but look wrong for a whole year,
//! flagged for the Secretariat and the member before they are published. Four rules, over what
//! a run (or a dry run) already has: the valid row counts of the accepted datasets for T and
//! T-1, this year's values, the member's current T-1 values in the history, and the
//! Secretariat's global peer statistics. A flag never changes a value, score or status.
//!
//! | rule | when |
//! | --- | --- |
//! | `count_change` | a dataset's valid row count moved by more than its `max_count_change` from T-1, both years accepted, one of the two counts at least `min_count` |
//! | `value_change` | a KPI with `max_change` moved by more than that, relatively, from the member's T-1 value |
//! | `outside_range` | a KPI's value is outside its `range` |
//! | `peer_outlier` | a KPI's value is below p25 - 3 x IQR or above p75 + 3 x IQR of the global group (n at least the minimum group size, IQR above zero) |

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use pmm_catalog::{Catalog, Status, Unit};
use serde::{Deserialize, Serialize};

use crate::ResultsError;
use crate::cells::Cells;
use crate::contract::REVIEW_FLAGS;
use crate::encode::{constant_text, constant_year, floats, opt_text, text};
use crate::rows::{IndicatorRow, PeerRow};

/// A review rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewRule {
    /// A dataset's valid row count moved too much from T-1.
    CountChange,
    /// A KPI's value moved too much from T-1.
    ValueChange,
    /// A KPI's value is outside its plausible range.
    OutsideRange,
    /// A KPI's value is far outside its peers'.
    PeerOutlier,
}

impl ReviewRule {
    /// Every rule, in the order they are listed.
    pub const ALL: [ReviewRule; 4] = [
        ReviewRule::CountChange,
        ReviewRule::ValueChange,
        ReviewRule::OutsideRange,
        ReviewRule::PeerOutlier,
    ];

    /// The rule's name in the table and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewRule::CountChange => "count_change",
            ReviewRule::ValueChange => "value_change",
            ReviewRule::OutsideRange => "outside_range",
            ReviewRule::PeerOutlier => "peer_outlier",
        }
    }

    /// The rule named `name` in a table.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A dataset (its row count).
    Dataset,
    /// A KPI (its value).
    Indicator,
}

impl SubjectKind {
    /// The name in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Dataset => "dataset",
            SubjectKind::Indicator => "indicator",
        }
    }

    /// The kind named `name` in a table.
    pub fn from_name(name: &str) -> Option<Self> {
        [SubjectKind::Dataset, SubjectKind::Indicator]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// One review flag (a row of `review_flags` without the run id and year).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewFlag {
    /// Member code.
    pub member: String,
    /// Whether it is about a dataset or a KPI.
    pub subject_kind: SubjectKind,
    /// The dataset or KPI id.
    pub subject: String,
    /// The rule that raised it.
    pub rule: ReviewRule,
    /// The member's figure.
    pub observed: f64,
    /// The lower bound it fell outside (or the bound below it).
    pub low: Option<f64>,
    /// The upper bound.
    pub high: Option<f64>,
    /// The figure it was compared with: the T-1 count or value, the peer median; none for a
    /// range.
    pub reference: Option<f64>,
    /// The flag in plain words, with its figures.
    pub message: String,
    /// The member's explanation of the subject, from its manifest for T.
    pub explanation: Option<String>,
}

/// What the review reads.
pub struct ReviewInput<'a> {
    /// The catalog (the `review` bounds of KPIs and datasets).
    pub catalog: &'a Catalog,
    /// The reporting year T.
    pub year: i32,
    /// The valid row count of each accepted dataset, by (member, dataset, year), for T and T-1
    /// (a rejected dataset or submission is absent).
    pub counts: &'a BTreeMap<(String, String, i32), u64>,
    /// Year T's values of every member reviewed.
    pub values: &'a [IndicatorRow],
    /// The current value of each (member, KPI) for T-1 in the history, where it is `ok`.
    pub previous: &'a BTreeMap<(String, String), f64>,
    /// The Secretariat's peer statistics (only the global groups are read); empty when there
    /// are none (a dry run without `--peers`).
    pub peers: &'a [PeerRow],
    /// The smallest group whose statistics are compared with.
    pub min_group_size: i64,
    /// Each member's explanations by subject.
    pub explanations: &'a BTreeMap<String, BTreeMap<String, String>>,
}

/// How far outside the quartiles a value must be to be a peer outlier, in IQRs.
pub const OUTLIER_IQRS: f64 = 3.0;

/// Every flag of the four rules, sorted by member, subject kind, subject and rule.
pub fn review(input: &ReviewInput<'_>) -> Vec<ReviewFlag> {
    let mut flags = Vec::new();
    count_changes(input, &mut flags);
    for row in input.values {
        let (Status::Ok, Some(value)) = (row.status, row.value) else {
            continue;
        };
        let Some(kpi) = input.catalog.indicator(&row.indicator) else {
            continue;
        };
        let mut flag = |rule, low, high, reference, message| {
            flags.push(ReviewFlag {
                member: row.member.clone(),
                subject_kind: SubjectKind::Indicator,
                subject: row.indicator.clone(),
                rule,
                observed: value,
                low,
                high,
                reference,
                message,
                explanation: None,
            })
        };
        let shown = |v: f64| figure(v, row.unit);
        if let (Some(max), Some(&before)) = (
            kpi.review.max_change,
            input
                .previous
                .get(&(row.member.clone(), row.indicator.clone())),
        ) && moved_more_than(value, before, max)
        {
            let margin = max * before.abs();
            flag(
                ReviewRule::ValueChange,
                Some(before - margin),
                Some(before + margin),
                Some(before),
                format!(
                    "{}: {} in {} against {} in {} ({}), more than the {} change it allows",
                    row.indicator,
                    shown(value),
                    input.year,
                    shown(before),
                    input.year - 1,
                    change(value, before),
                    percent(max)
                ),
            );
        }
        if let Some((low, high)) = kpi.review.range
            && !(low..=high).contains(&value)
        {
            flag(
                ReviewRule::OutsideRange,
                Some(low),
                Some(high),
                None,
                format!(
                    "{}: {} in {}, outside the plausible range {} to {}",
                    row.indicator,
                    shown(value),
                    input.year,
                    shown(low),
                    shown(high)
                ),
            );
        }
        let global = input.peers.iter().find(|p| {
            p.indicator == row.indicator && p.group_kind == "global" && p.n >= input.min_group_size
        });
        if let Some(stats) = global.and_then(|p| p.stats) {
            let iqr = stats.p75 - stats.p25;
            let (low, high) = (
                stats.p25 - OUTLIER_IQRS * iqr,
                stats.p75 + OUTLIER_IQRS * iqr,
            );
            if iqr > 0.0 && !(low..=high).contains(&value) {
                flag(
                    ReviewRule::PeerOutlier,
                    Some(low),
                    Some(high),
                    Some(stats.median),
                    format!(
                        "{}: {} in {}, far from its peers (median {}; {} to {} holds all but outliers)",
                        row.indicator,
                        shown(value),
                        input.year,
                        shown(stats.median),
                        shown(low),
                        shown(high)
                    ),
                );
            }
        }
    }
    for flag in &mut flags {
        flag.explanation = input
            .explanations
            .get(&flag.member)
            .and_then(|e| e.get(&flag.subject))
            .cloned();
    }
    flags.sort_by(|a, b| {
        (&a.member, a.subject_kind, &a.subject, a.rule).cmp(&(
            &b.member,
            b.subject_kind,
            &b.subject,
            b.rule,
        ))
    });
    flags
}

/// `count_change` for every (member, dataset) with an accepted count in T and in T-1.
fn count_changes(input: &ReviewInput<'_>, flags: &mut Vec<ReviewFlag>) {
    for ((member, dataset, year), &now) in input.counts {
        if *year != input.year {
            continue;
        }
        let Some(&before) = input
            .counts
            .get(&(member.clone(), dataset.clone(), input.year - 1))
        else {
            continue;
        };
        let bounds = input
            .catalog
            .dataset(dataset)
            .map(|d| d.review)
            .unwrap_or_default();
        let (now_f, before_f) = (now as f64, before as f64);
        if now.max(before) < bounds.min_count
            || !moved_more_than(now_f, before_f, bounds.max_count_change)
        {
            continue;
        }
        let margin = bounds.max_count_change * before_f;
        flags.push(ReviewFlag {
            member: member.clone(),
            subject_kind: SubjectKind::Dataset,
            subject: dataset.clone(),
            rule: ReviewRule::CountChange,
            observed: now_f,
            low: Some(before_f - margin),
            high: Some(before_f + margin),
            reference: Some(before_f),
            message: format!(
                "{dataset}: {} valid rows in {} against {} in {} ({})",
                thousands(now),
                input.year,
                thousands(before),
                input.year - 1,
                change(now_f, before_f)
            ),
            explanation: None,
        });
    }
}

/// Whether `now` moved from `before` by more than `max`, relatively (from zero, any move is).
fn moved_more_than(now: f64, before: f64, max: f64) -> bool {
    if before == 0.0 {
        now != 0.0
    } else {
        (now - before).abs() / before.abs() > max
    }
}

/// A relative change in words: `-90 %`, `+277 %`, `from none`.
fn change(now: f64, before: f64) -> String {
    if before == 0.0 {
        "from none".into()
    } else {
        format!("{:+.0} %", 100.0 * (now - before) / before.abs())
    }
}

/// A fraction as a percentage: 0.5 gives `50 %`.
fn percent(fraction: f64) -> String {
    format!("{} %", (100.0 * fraction * 100.0).round() / 100.0)
}

/// A whole number with thousands separators: `901,224`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A KPI's value with two decimals and its unit.
fn figure(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => format!("{value:.2} %"),
        Unit::Hours => format!("{value:.2} h"),
        _ => format!("{value:.2}"),
    }
}

/// `review_flags`.
pub fn encode(run_id: &str, year: i32, flags: &[ReviewFlag]) -> Result<RecordBatch, ArrowError> {
    let n = flags.len();
    RecordBatch::try_new(
        REVIEW_FLAGS.schema(),
        vec![
            constant_text(run_id, n),
            constant_year(year, n),
            text(flags.iter().map(|f| f.member.as_str())),
            text(flags.iter().map(|f| f.subject_kind.as_str())),
            text(flags.iter().map(|f| f.subject.as_str())),
            text(flags.iter().map(|f| f.rule.as_str())),
            Arc::new(arrow_array::Float64Array::from_iter_values(
                flags.iter().map(|f| f.observed),
            )),
            floats(flags.iter().map(|f| f.low)),
            floats(flags.iter().map(|f| f.high)),
            floats(flags.iter().map(|f| f.reference)),
            text(flags.iter().map(|f| f.message.as_str())),
            opt_text(flags.iter().map(|f| f.explanation.as_deref())),
        ],
    )
}

/// The flags of a `review_flags` batch, each with its year, in table order.
pub fn decode(batch: &RecordBatch) -> Result<Vec<(i32, ReviewFlag)>, ResultsError> {
    use crate::contract::column as c;
    let cells = Cells::all(batch, REVIEW_FLAGS.name);
    let unknown = |what: &str, value: &str, row: usize| ResultsError::Table {
        table: REVIEW_FLAGS.name.into(),
        reason: format!("unknown {what} `{value}` in row {row}"),
    };
    let mut flags = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let year = cells.int(c::YEAR, row)?.unwrap_or_default();
        let kind = cells.required(c::SUBJECT_KIND, row)?;
        let rule = cells.required(c::RULE, row)?;
        flags.push((
            i32::try_from(year).map_err(|_| unknown("year", &year.to_string(), row))?,
            ReviewFlag {
                member: cells.required(c::MEMBER, row)?.to_string(),
                subject_kind: SubjectKind::from_name(kind)
                    .ok_or_else(|| unknown("subject_kind", kind, row))?,
                subject: cells.required(c::SUBJECT, row)?.to_string(),
                rule: ReviewRule::from_name(rule).ok_or_else(|| unknown("rule", rule, row))?,
                observed: cells.float(c::OBSERVED, row)?.unwrap_or(f64::NAN),
                low: cells.float(c::LOW, row)?,
                high: cells.float(c::HIGH, row)?,
                reference: cells.float(c::REFERENCE, row)?,
                message: cells.required(c::MESSAGE, row)?.to_string(),
                explanation: cells.text(c::EXPLANATION, row)?.map(str::to_string),
            },
        ));
    }
    Ok(flags)
}

/// The global groups of a `peer_stats` batch (what `peer_outlier` compares with): a dry run
/// reads them from the published run `--peers` names.
pub fn global_peers(batch: &RecordBatch) -> Result<Vec<PeerRow>, ResultsError> {
    use crate::contract::column as c;
    use crate::rows::PeerStats;
    let cells = Cells::all(batch, crate::contract::PEER_STATS.name);
    let mut rows = Vec::new();
    for row in 0..batch.num_rows() {
        if cells.required(c::GROUP_KIND, row)? != "global" {
            continue;
        }
        let stat = |name| cells.float(name, row);
        let stats = match (
            stat(c::MEAN)?,
            stat(c::MEDIAN)?,
            stat(c::P25)?,
            stat(c::P75)?,
            stat(c::MIN)?,
            stat(c::MAX)?,
        ) {
            (Some(mean), Some(median), Some(p25), Some(p75), Some(min), Some(max)) => {
                Some(PeerStats {
                    mean,
                    median,
                    p25,
                    p75,
                    min,
                    max,
                })
            }
            _ => None,
        };
        rows.push(PeerRow {
            indicator: cells.required(c::INDICATOR, row)?.to_string(),
            group_kind: "global",
            group: cells.required(c::GROUP, row)?.to_string(),
            n: cells.int(c::N, row)?.unwrap_or(0),
            stats,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
