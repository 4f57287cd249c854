//! "Points to review": the member's review flags, each as a sentence in the report's
//! language with its figures, and the explanation its manifest gives.

use pmm_catalog::{Catalog, Unit};
use pmm_results::{ReviewFlag, ReviewRule, SubjectKind};
use serde::Serialize;

use super::name;
use crate::i18n::{Lang, Texts, fill, number};

/// One flag as the report shows it.
#[derive(Serialize)]
pub(super) struct ReviewPoint {
    rule: &'static str,
    rule_name: &'static str,
    subject: String,
    subject_name: String,
    sentence: String,
    explanation: Option<String>,
    observed_raw: String,
}

/// The points of `member` among `flags`, in the order the run lists them.
pub(super) fn review_points(
    lang: Lang,
    t: &'static Texts,
    catalog: &Catalog,
    member: &str,
    year: i32,
    flags: &[ReviewFlag],
) -> Vec<ReviewPoint> {
    flags
        .iter()
        .filter(|f| f.member == member)
        .map(|f| point(lang, t, catalog, year, f))
        .collect()
}

fn point(
    lang: Lang,
    t: &'static Texts,
    catalog: &Catalog,
    year: i32,
    f: &ReviewFlag,
) -> ReviewPoint {
    let kpi = match f.subject_kind {
        SubjectKind::Indicator => catalog.indicator(&f.subject),
        SubjectKind::Dataset => None,
    };
    let unit = kpi.map(|k| k.unit);
    let figure = |v: f64| match (f.subject_kind, unit) {
        (SubjectKind::Dataset, _) => number(lang, v, 0),
        (_, Some(Unit::Percent)) => format!("{}\u{a0}%", number(lang, v, 2)),
        (_, Some(Unit::Hours)) => format!("{}\u{a0}h", number(lang, v, 2)),
        _ => number(lang, v, 2),
    };
    let shown = |v: Option<f64>| v.map(figure).unwrap_or_default();
    let change = match f.reference {
        Some(before) if before != 0.0 => {
            let percent = 100.0 * (f.observed - before) / before.abs();
            let sign = if percent > 0.0 { "+" } else { "" };
            format!("{sign}{}\u{a0}%", number(lang, percent, 0))
        }
        _ => t.review_from_none.to_string(),
    };
    let max = kpi
        .and_then(|k| k.review.max_change)
        .map(|m| format!("{}\u{a0}%", number(lang, 100.0 * m, 0)))
        .unwrap_or_default();
    let (template, rule_name) = match f.rule {
        ReviewRule::CountChange => (t.review_count_change, t.rule_count_change),
        ReviewRule::ValueChange => (t.review_value_change, t.rule_value_change),
        ReviewRule::OutsideRange => (t.review_outside_range, t.rule_outside_range),
        ReviewRule::PeerOutlier => (t.review_peer_outlier, t.rule_peer_outlier),
    };
    let sentence = fill(
        template,
        &[
            ("observed", &figure(f.observed)),
            ("reference", &shown(f.reference)),
            ("low", &shown(f.low)),
            ("high", &shown(f.high)),
            ("year", &year.to_string()),
            ("previous", &(year - 1).to_string()),
            ("change", &change),
            ("max", &max),
        ],
    );
    ReviewPoint {
        rule: f.rule.as_str(),
        rule_name,
        subject: f.subject.clone(),
        subject_name: kpi.map_or_else(|| f.subject.clone(), |k| name(lang, &k.name, &k.name_fr)),
        sentence,
        explanation: f.explanation.clone(),
        observed_raw: f.observed.to_string(),
    }
}
