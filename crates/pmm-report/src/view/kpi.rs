//! One KPI's row of the report: value, score and level, the reason when there is no value,
//! T-1 and the variation, peer medians, and how it was computed.

use pmm_catalog::{Indicator, Unit};
use pmm_results::column as c;

use super::{KpiView, MethodView, PeerView, VariationView, amount_text, name, raw, value_text};
use crate::i18n::{self, Lang, fill, number};
use crate::{DatasetFile, ReportError, ReportInput};
use pmm_results::Cells;

#[allow(clippy::too_many_arguments)]
pub(super) fn kpi_view(
    lang: Lang,
    input: &ReportInput<'_>,
    indicator: &Indicator,
    values: &Cells<'_>,
    row: usize,
    peers: Option<&Cells<'_>>,
    region: &str,
    income_group: &str,
    files: &[DatasetFile],
) -> Result<KpiView, ReportError> {
    let t = lang.texts();
    let status = values.required(c::STATUS, row)?.to_string();
    let value = values.float(c::VALUE, row)?;
    let numerator = values.float(c::NUMERATOR, row)?;
    let denominator = values.float(c::DENOMINATOR, row)?;
    let score = values.float(c::SCORE, row)?;
    let level = values.int(c::LEVEL, row)?;
    let reason = reason(
        lang,
        input,
        indicator,
        &status,
        numerator,
        denominator,
        files,
    );
    let variation = indicator
        .formula
        .trim_start()
        .starts_with("var(")
        .then(|| VariationView {
            t: numerator.map(|v| amount_text(lang, v)),
            t1: denominator.map(|v| amount_text(lang, v)),
            variation: value.map(|v| format!("{}\u{a0}%", value_text(lang, v))),
        });
    let peers = match peers {
        None => Vec::new(),
        Some(peers) => [
            ("region", region, t.peers_group_region),
            ("income_group", income_group, t.peers_group_income),
            ("global", "all", t.peers_group_all),
        ]
        .into_iter()
        .filter_map(|(kind, group, label)| {
            let row = peer_row(peers, &indicator.id, kind, group)?;
            let stat = |c: &str| {
                peers
                    .float(c, row)
                    .ok()
                    .flatten()
                    .map(|v| value_text(lang, v))
            };
            Some(PeerView {
                group: if kind == "global" {
                    label.to_string()
                } else {
                    format!("{label} {group}")
                },
                median: stat(c::MEDIAN),
                p25: stat(c::P25),
                p75: stat(c::P75),
                n: peers.int(c::N, row).ok().flatten().unwrap_or(0),
            })
        })
        .collect(),
    };
    Ok(KpiView {
        id: indicator.id.clone(),
        anchor: anchor(&indicator.id),
        name: name(lang, &indicator.name, &indicator.name_fr),
        official: indicator.official,
        scored: indicator.scoring.is_some(),
        value: value.map(|v| value_text(lang, v)),
        value_raw: raw(value),
        unit: i18n::unit_word(lang, indicator.unit.as_str()),
        score: score.map(|s| number(lang, s, 1)),
        score_raw: raw(score),
        level,
        level_word: level.map_or("", |l| i18n::level_word(lang, l)),
        status_word: i18n::status_word(lang, &status),
        status,
        reason,
        variation,
        peers,
        disclosure: values.required(c::DISCLOSURE, row)?.to_string(),
    })
}

pub(super) fn anchor(id: &str) -> String {
    format!("kpi-{}", id.replace('.', "-"))
}

/// Why a KPI has no value, in words.
pub(super) fn reason(
    lang: Lang,
    input: &ReportInput<'_>,
    indicator: &Indicator,
    status: &str,
    numerator: Option<f64>,
    denominator: Option<f64>,
    files: &[DatasetFile],
) -> Option<String> {
    let r = i18n::reasons(lang);
    let needed: Vec<(String, i32)> = indicator
        .datasets
        .iter()
        .flat_map(|d| {
            d.years
                .iter()
                .map(|y| (d.name.clone(), y.resolve(input.year)))
        })
        .collect();
    match status {
        "ok" => None,
        "not_applicable" => Some(match input.not_applicable.get(&indicator.id) {
            Some(Some(why)) => fill(r.not_applicable_because, &[("reason", why)]),
            _ => r.not_applicable.to_string(),
        }),
        "invalid_submission" => {
            if let Some((year, why)) = needed
                .iter()
                .find_map(|(_, y)| input.rejected_submissions.get_key_value(y))
            {
                return Some(fill(
                    r.submission_rejected,
                    &[("year", &year.to_string()), ("why", why)],
                ));
            }
            let rejected = needed.iter().find_map(|(dataset, year)| {
                files
                    .iter()
                    .find(|f| &f.dataset == dataset && f.year == *year && !f.accepted)
            });
            Some(match rejected {
                Some(f) => fill(
                    r.dataset_rejected,
                    &[
                        ("dataset", &f.dataset),
                        ("year", &f.year.to_string()),
                        ("why", f.reason.as_deref().unwrap_or("")),
                    ],
                ),
                None => {
                    let (dataset, year) = needed.first().cloned().unwrap_or_default();
                    fill(
                        r.dataset_rejected_unknown,
                        &[("dataset", &dataset), ("year", &year.to_string())],
                    )
                }
            })
        }
        "missing_data" => {
            let missing = needed
                .iter()
                .find(|(dataset, year)| {
                    !files
                        .iter()
                        .any(|f| &f.dataset == dataset && f.year == *year)
                })
                .or(needed.first())
                .cloned()
                .unwrap_or_default();
            Some(fill(
                r.dataset_missing,
                &[("dataset", &missing.0), ("year", &missing.1.to_string())],
            ))
        }
        "undefined" => Some(match (numerator, denominator) {
            (Some(n), Some(d)) if d == 0.0 => fill(
                r.undefined_zero,
                &[
                    ("numerator", &amount_text(lang, n)),
                    ("denominator", &amount_text(lang, d)),
                ],
            ),
            _ => r.undefined_empty.to_string(),
        }),
        _ => None,
    }
}

pub(super) fn peer_row(
    peers: &Cells<'_>,
    indicator: &str,
    kind: &str,
    group: &str,
) -> Option<usize> {
    peers.rows.iter().copied().find(|&row| {
        peers.text(c::INDICATOR, row).ok().flatten() == Some(indicator)
            && peers.text(c::GROUP_KIND, row).ok().flatten() == Some(kind)
            && peers.text(c::GROUP, row).ok().flatten() == Some(group)
    })
}

pub(super) fn peer_median(
    peers: &Cells<'_>,
    indicator: &str,
    kind: &str,
    group: &str,
) -> Option<f64> {
    peer_row(peers, indicator, kind, group)
        .and_then(|row| peers.float(c::MEDIAN, row).ok().flatten())
}

pub(super) fn method_view(
    lang: Lang,
    indicator: &Indicator,
    values: &Cells<'_>,
    row: usize,
) -> Result<MethodView, ReportError> {
    let t = lang.texts();
    let value = values.float(c::VALUE, row)?;
    let score = values.float(c::SCORE, row)?;
    let level = values.int(c::LEVEL, row)?;
    let plain = |v: f64| amount_text(lang, v);
    let arithmetic = match (indicator.scoring, value, score) {
        (Some(scoring), Some(value), Some(score)) => Some(fill(
            i18n::scoring_arithmetic(lang),
            &[
                ("value", &value_text(lang, value)),
                ("floor", &plain(scoring.floor)),
                ("target", &plain(scoring.target)),
                ("score", &number(lang, score, 1)),
                (
                    "level",
                    &level
                        .map(|l| format!("{l} ({})", i18n::level_word(lang, l)))
                        .unwrap_or_default(),
                ),
            ],
        )),
        _ => None,
    };
    let datasets = indicator
        .datasets
        .iter()
        .map(|d| {
            let years: Vec<String> = d.years.iter().map(|y| y.to_string()).collect();
            format!("{} ({})", d.name, years.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let unit = match indicator.unit {
        Unit::Percent => "\u{a0}%",
        Unit::Hours => " h",
        _ => "",
    };
    Ok(MethodView {
        id: indicator.id.clone(),
        anchor: anchor(&indicator.id),
        name: name(lang, &indicator.name, &indicator.name_fr),
        formula: indicator.formula.clone(),
        sql: indicator.sql.trim_end().to_string(),
        datasets,
        numerator: values
            .float(c::NUMERATOR, row)?
            .map(|v| amount_text(lang, v)),
        denominator: values
            .float(c::DENOMINATOR, row)?
            .map(|v| amount_text(lang, v)),
        floor: indicator
            .scoring
            .map(|s| format!("{}{unit}", plain(s.floor))),
        target: indicator
            .scoring
            .map(|s| format!("{}{unit}", plain(s.target))),
        direction: match indicator.scoring {
            Some(_) => i18n::direction_word(lang, &indicator.direction.to_string()),
            None => t.not_scored,
        },
        arithmetic,
    })
}
