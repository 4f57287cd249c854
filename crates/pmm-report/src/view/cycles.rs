//! "Across cycles": for each KPI the member has a history of, the current value of each year,
//! a line that breaks where a definition is not comparable with the year before, and every
//! restatement with its old and new value and its cause.

use std::collections::BTreeMap;

use pmm_catalog::{Catalog, Status};
use pmm_results::{Change, HistoryRow};
use serde::Serialize;

use crate::i18n::{Lang, number};

/// The section's data.
#[derive(Serialize)]
pub(super) struct CyclesView {
    years: Vec<i32>,
    kpis: Vec<CycleKpi>,
    /// Whether any value was restated.
    restated: bool,
}

#[derive(Serialize)]
struct CycleKpi {
    id: String,
    name: String,
    cells: Vec<CycleCell>,
    line: Line,
    restatements: Vec<Restatement>,
}

#[derive(Serialize)]
struct CycleCell {
    year: i32,
    /// The value for people, or the status in words; none when the year has no row.
    shown: Option<String>,
    /// The exact value, for the `data-` attribute.
    raw: Option<String>,
    restated: bool,
    comparable: bool,
}

/// An inline SVG line: its size, its segments (polyline points) and a dot per value.
#[derive(Serialize)]
struct Line {
    width: f64,
    height: f64,
    segments: Vec<String>,
    dots: Vec<Dot>,
}

#[derive(Serialize)]
struct Dot {
    x: f64,
    y: f64,
    title: String,
}

#[derive(Serialize)]
struct Restatement {
    year: i32,
    old: String,
    new: String,
    change: &'static str,
    cause: String,
    run_id: String,
}

/// The view of `member`'s rows of `history` (every version, any member), in catalog order.
pub(super) fn cycles_view(
    lang: Lang,
    catalog: &Catalog,
    member: &str,
    history: &[HistoryRow],
) -> Option<CyclesView> {
    let mut rows: Vec<&HistoryRow> = history.iter().filter(|r| r.member == member).collect();
    pmm_results::history::in_series_order(&mut rows);
    if rows.is_empty() {
        return None;
    }
    let mut years: Vec<i32> = rows.iter().map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    let mut by_kpi: BTreeMap<&str, Vec<&HistoryRow>> = BTreeMap::new();
    for row in &rows {
        by_kpi.entry(&row.indicator).or_default().push(row);
    }
    let shown = |row: &HistoryRow| match (row.status, row.value) {
        (Status::Ok, Some(v)) => number(lang, v, 2),
        _ => crate::i18n::status_word(lang, row.status.as_str()).to_string(),
    };
    let mut kpis = Vec::new();
    for indicator in &catalog.indicators {
        let Some(versions) = by_kpi.get(indicator.id.as_str()) else {
            continue;
        };
        let current: BTreeMap<i32, &HistoryRow> = versions
            .iter()
            .filter(|r| r.is_current())
            .map(|r| (r.year, *r))
            .collect();
        let cells = years
            .iter()
            .map(|year| match current.get(year) {
                None => CycleCell {
                    year: *year,
                    shown: None,
                    raw: None,
                    restated: false,
                    comparable: true,
                },
                Some(row) => CycleCell {
                    year: *year,
                    shown: Some(shown(row)),
                    raw: row.value.map(|v| v.to_string()),
                    restated: row.change != Change::First,
                    comparable: row.comparable,
                },
            })
            .collect();
        let mut restatements = Vec::new();
        for row in versions.iter().filter(|r| r.change != Change::First) {
            let old = versions.iter().find(|o| {
                o.year == row.year && o.superseded_by.as_deref() == Some(row.run_id.as_str())
            });
            restatements.push(Restatement {
                year: row.year,
                old: old.map_or_else(|| "–".to_string(), |o| shown(o)),
                new: shown(row),
                change: row.change.as_str(),
                cause: row.cause.clone().unwrap_or_default(),
                run_id: row.run_id.clone(),
            });
        }
        kpis.push(CycleKpi {
            id: indicator.id.clone(),
            name: lang_name(lang, indicator),
            cells,
            line: line(lang, &years, &current),
            restatements,
        });
    }
    let restated = kpis.iter().any(|k| !k.restatements.is_empty());
    Some(CyclesView {
        years,
        kpis,
        restated,
    })
}

fn lang_name(lang: Lang, indicator: &pmm_catalog::Indicator) -> String {
    match (lang, &indicator.name_fr) {
        (Lang::Fr, Some(name)) => name.clone(),
        _ => indicator.name.clone(),
    }
}

/// The series as a small line chart: one point per year with a value, joined while the
/// years follow one another with comparable definitions; a missing value or a definition not
/// comparable with the year before starts a new segment.
fn line(lang: Lang, years: &[i32], current: &BTreeMap<i32, &HistoryRow>) -> Line {
    const WIDTH: f64 = 160.0;
    const HEIGHT: f64 = 36.0;
    const PAD: f64 = 5.0;
    let values: Vec<f64> = current
        .values()
        .filter_map(|r| (r.status == Status::Ok).then_some(r.value).flatten())
        .collect();
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    let span = if high > low { high - low } else { 1.0 };
    let x = |i: usize| {
        if years.len() <= 1 {
            WIDTH / 2.0
        } else {
            PAD + (WIDTH - 2.0 * PAD) * i as f64 / (years.len() - 1) as f64
        }
    };
    let y = |v: f64| {
        if high > low {
            HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (v - low) / span
        } else {
            HEIGHT / 2.0
        }
    };
    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut dots = Vec::new();
    let mut open = false;
    for (i, year) in years.iter().enumerate() {
        let point = current.get(year).and_then(|r| {
            (r.status == Status::Ok)
                .then_some(r.value)
                .flatten()
                .map(|v| (r, v))
        });
        match point {
            Some((row, v)) => {
                let p = ((x(i) * 10.0).round() / 10.0, (y(v) * 10.0).round() / 10.0);
                if !open || !row.comparable {
                    segments.push(Vec::new());
                }
                if let Some(segment) = segments.last_mut() {
                    segment.push(p);
                }
                dots.push(Dot {
                    x: p.0,
                    y: p.1,
                    title: format!("{year}: {}", number(lang, v, 2)),
                });
                open = true;
            }
            None => open = false,
        }
    }
    Line {
        width: WIDTH,
        height: HEIGHT,
        segments: segments
            .into_iter()
            .filter(|s| s.len() > 1)
            .map(|s| {
                s.iter()
                    .map(|(x, y)| format!("{x},{y}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect(),
        dots,
    }
}
