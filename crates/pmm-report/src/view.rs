//! The report as data for the template: every figure formatted for people (with its exact
//! value beside it, in a `data-` attribute), every reason in words, the charts' geometry.

use std::collections::BTreeMap;

use pmm_catalog::{Disclosure, Indicator, Unit};
use serde::Serialize;

use crate::i18n::{self, Lang, Texts, fill, number};
use crate::table::Table;
use crate::{DatasetFile, Origin, ReportError, ReportInput};

#[derive(Serialize)]
pub(crate) struct View {
    lang: &'static str,
    t: &'static Texts,
    member: String,
    member_name: Option<String>,
    region: String,
    income_group: String,
    year: i32,
    origin: String,
    generated_at: String,
    catalog_hash: String,
    audience: &'static str,
    overall: Option<ScoreView>,
    dimensions: Vec<DimensionView>,
    dimension_chart: Chart,
    kpi_chart: Chart,
    kpi_chart_note: &'static str,
    kpis_shown: usize,
    kpis_total: usize,
    methods: Vec<MethodView>,
    has_peers: bool,
    datasets: Option<Vec<DatasetView>>,
    issues: Option<Vec<IssueView>>,
    rejected_submissions: Vec<(i32, String)>,
    disclosure: Vec<DisclosureRow>,
    public_sentence: String,
    levels: Vec<(i64, &'static str)>,
}

#[derive(Serialize, Clone)]
struct ScoreView {
    status: String,
    status_word: &'static str,
    score: Option<String>,
    score_raw: Option<String>,
    level: Option<i64>,
    level_word: &'static str,
    coverage: Option<String>,
    coverage_raw: Option<String>,
    disclosure: String,
}

#[derive(Serialize)]
struct DimensionView {
    id: String,
    name: String,
    score: Option<ScoreView>,
    outcomes: Vec<OutcomeView>,
}

#[derive(Serialize)]
struct OutcomeView {
    id: String,
    name: String,
    score: Option<ScoreView>,
    kpis: Vec<KpiView>,
}

#[derive(Serialize)]
struct KpiView {
    id: String,
    anchor: String,
    name: String,
    official: bool,
    scored: bool,
    value: Option<String>,
    value_raw: Option<String>,
    unit: &'static str,
    score: Option<String>,
    score_raw: Option<String>,
    level: Option<i64>,
    level_word: &'static str,
    status: String,
    status_word: &'static str,
    reason: Option<String>,
    variation: Option<VariationView>,
    peers: Vec<PeerView>,
    disclosure: String,
}

#[derive(Serialize)]
struct VariationView {
    t: Option<String>,
    t1: Option<String>,
    variation: Option<String>,
}

#[derive(Serialize)]
struct PeerView {
    group: String,
    median: Option<String>,
    p25: Option<String>,
    p75: Option<String>,
    n: i64,
}

#[derive(Serialize)]
struct MethodView {
    id: String,
    anchor: String,
    name: String,
    formula: String,
    sql: String,
    datasets: String,
    numerator: Option<String>,
    denominator: Option<String>,
    floor: Option<String>,
    target: Option<String>,
    direction: &'static str,
    arithmetic: Option<String>,
}

#[derive(Serialize)]
struct DatasetView {
    dataset: String,
    year: i32,
    file: String,
    accepted: bool,
    rows_read: String,
    rows_rejected: String,
    reason: Option<String>,
}

#[derive(Serialize)]
struct IssueView {
    year: Option<i64>,
    dataset: Option<String>,
    file: Option<String>,
    record: Option<i64>,
    column: Option<String>,
    rule: String,
    severity: String,
    message: String,
    count: i64,
}

#[derive(Serialize)]
struct DisclosureRow {
    kind: &'static str,
    id: String,
    name: String,
    level: String,
    wco: bool,
    public: bool,
}

#[derive(Serialize, Default)]
struct Chart {
    width: f64,
    height: f64,
    label_width: f64,
    bar_width: f64,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    y: f64,
    length: f64,
    value: Option<String>,
    level: Option<i64>,
    marker: Option<f64>,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: String,
}

/// The template's data for `input`.
pub(crate) fn build(input: &ReportInput<'_>) -> Result<View, ReportError> {
    let lang = input.lang;
    let t = lang.texts();
    let catalog = input.catalog;
    let values = Table::of_member(input.indicator_values, "indicator_values", input.member)?;
    let outcomes = Table::of_member(input.outcome_scores, "outcome_scores", input.member)?;
    let dimensions = Table::of_member(input.dimension_scores, "dimension_scores", input.member)?;
    let first = *dimensions
        .rows
        .first()
        .or(values.rows.first())
        .ok_or_else(|| ReportError::NoMember(input.member.to_string()))?;
    let (place_table, place_row) = if dimensions.rows.is_empty() {
        (&values, first)
    } else {
        (&dimensions, first)
    };
    let region = place_table.required("region", place_row)?.to_string();
    let income_group = place_table.required("income_group", place_row)?.to_string();

    let peers = input
        .peers
        .map(|batch| Table::of_member(batch, "peer_stats", input.member))
        .transpose()?;
    let files: &[DatasetFile] = input.datasets.unwrap_or(&[]);

    // Scores by id.
    let mut score_of: BTreeMap<String, ScoreView> = BTreeMap::new();
    for &row in &dimensions.rows {
        let id = dimensions.required("dimension", row)?.to_string();
        score_of.insert(id, score_view(lang, &dimensions, row)?);
    }
    for &row in &outcomes.rows {
        let id = outcomes.required("outcome", row)?.to_string();
        score_of.insert(id, score_view(lang, &outcomes, row)?);
    }

    // KPIs by id.
    let mut kpis: BTreeMap<String, KpiView> = BTreeMap::new();
    let mut methods_by_id: BTreeMap<String, MethodView> = BTreeMap::new();
    let mut bars_by_id = BTreeMap::new();
    for &row in &values.rows {
        let id = values.required("indicator", row)?;
        let Some(indicator) = catalog.indicator(id) else {
            continue;
        };
        let kpi = kpi_view(
            lang,
            input,
            indicator,
            &values,
            row,
            peers.as_ref(),
            &region,
            &income_group,
            files,
        )?;
        methods_by_id.insert(id.to_string(), method_view(lang, indicator, &values, row)?);
        if let Some(score) = values.float("score", row)? {
            let marker = peers
                .as_ref()
                .and_then(|p| peer_median(p, &indicator.id, "global", "all"))
                .and_then(|median| indicator.scoring.map(|s| s.score(median)));
            bars_by_id.insert(
                id.to_string(),
                BarInput {
                    label: name(lang, &indicator.name, &indicator.name_fr),
                    score: Some(score),
                    level: values.int("level", row)?,
                    marker,
                },
            );
        }
        kpis.insert(id.to_string(), kpi);
    }
    // In the catalog's order: dimensions, outcomes, indicators.
    let mut methods = Vec::new();
    let mut kpi_bars = Vec::new();
    for dimension in &catalog.dimensions {
        for outcome in catalog
            .outcomes
            .iter()
            .filter(|o| o.dimension == dimension.id)
        {
            for indicator in catalog
                .indicators
                .iter()
                .filter(|i| i.outcome == outcome.id)
            {
                methods.extend(methods_by_id.remove(&indicator.id));
                kpi_bars.extend(bars_by_id.remove(&indicator.id));
            }
        }
    }
    let kpis_shown = kpis.len();

    let mut dimension_views = Vec::new();
    let mut dimension_bars = Vec::new();
    for dimension in &catalog.dimensions {
        let dimension_name = name(lang, &dimension.name, &dimension.name_fr);
        let score = score_of.get(&dimension.id).cloned();
        if let Some(s) = &score {
            dimension_bars.push(BarInput {
                label: dimension_name.clone(),
                score: s.score_raw.as_deref().and_then(|v| v.parse().ok()),
                level: s.level,
                marker: None,
            });
        }
        let mut outcome_views = Vec::new();
        for outcome in catalog
            .outcomes
            .iter()
            .filter(|o| o.dimension == dimension.id)
        {
            let kpi_views: Vec<KpiView> = catalog
                .indicators
                .iter()
                .filter(|i| i.outcome == outcome.id)
                .filter_map(|i| kpis.remove(&i.id))
                .collect();
            let score = score_of.get(&outcome.id).cloned();
            if score.is_none() && kpi_views.is_empty() {
                continue;
            }
            outcome_views.push(OutcomeView {
                id: outcome.id.clone(),
                name: name(lang, &outcome.name, &outcome.name_fr),
                score,
                kpis: kpi_views,
            });
        }
        if score.is_none() && outcome_views.is_empty() {
            continue;
        }
        dimension_views.push(DimensionView {
            id: dimension.id.clone(),
            name: dimension_name,
            score,
            outcomes: outcome_views,
        });
    }
    let overall = score_of.get(pmm_engine::OVERALL).cloned();
    if let Some(o) = &overall {
        dimension_bars.push(BarInput {
            label: t.overall.to_string(),
            score: o.score_raw.as_deref().and_then(|v| v.parse().ok()),
            level: o.level,
            marker: None,
        });
    }

    let disclosure = disclosure_rows(input, &values, &outcomes, &dimensions)?;
    let public_kpis = disclosure
        .iter()
        .filter(|r| r.kind == "kpi" && r.public)
        .count();
    let public_scores = disclosure
        .iter()
        .filter(|r| r.kind != "kpi" && r.public)
        .count();
    let public_sentence = fill(
        t.public_sees,
        &[
            ("kpis", &public_kpis.to_string()),
            ("total", &kpis_shown.to_string()),
            ("scores", &public_scores.to_string()),
            (
                "total_scores",
                &disclosure
                    .iter()
                    .filter(|r| r.kind != "kpi")
                    .count()
                    .to_string(),
            ),
        ],
    );

    let issues = input
        .issues
        .map(|batch| issue_views(batch, input.member))
        .transpose()?;
    let datasets = input.datasets.map(|files| {
        files
            .iter()
            .map(|f| DatasetView {
                dataset: f.dataset.clone(),
                year: f.year,
                file: f.file.clone(),
                accepted: f.accepted,
                rows_read: number(lang, f.rows_read as f64, 0),
                rows_rejected: number(lang, f.rows_rejected as f64, 0),
                reason: f.reason.clone(),
            })
            .collect()
    });
    let origin = match &input.origin {
        Origin::DryRun { data } => fill(t.dry_run_origin, &[("data", data)]),
        Origin::Published { run_id, results } => fill(
            t.run_origin,
            &[
                ("run_id", run_id),
                ("results", results),
                ("audience", audience_name(t, input.audience)),
            ],
        ),
    };
    let has_peers = peers.is_some();
    Ok(View {
        lang: lang.code(),
        t,
        member: input.member.to_string(),
        member_name: input.member_name.map(str::to_string),
        region,
        income_group,
        year: input.year,
        origin,
        generated_at: input.generated_at.to_string(),
        catalog_hash: catalog.hash.chars().take(12).collect(),
        audience: audience_name(t, input.audience),
        overall,
        dimensions: dimension_views,
        dimension_chart: chart(lang, dimension_bars, 330.0),
        kpi_chart: chart(lang, kpi_bars, 340.0),
        kpi_chart_note: if has_peers {
            t.chart_kpis_note
        } else {
            t.chart_kpis_no_peers
        },
        kpis_shown,
        kpis_total: catalog.indicators.len(),
        methods,
        has_peers,
        datasets,
        issues,
        rejected_submissions: input
            .rejected_submissions
            .iter()
            .map(|(y, why)| (*y, why.clone()))
            .collect(),
        disclosure,
        public_sentence,
        levels: (1..=5).map(|l| (l, i18n::level_word(lang, l))).collect(),
    })
}

/// A catalog name in the report's language, English when there is no translation.
fn name(lang: Lang, english: &str, french: &Option<String>) -> String {
    match (lang, french) {
        (Lang::Fr, Some(french)) => french.clone(),
        _ => english.to_string(),
    }
}

fn audience_name(t: &'static Texts, audience: Disclosure) -> &'static str {
    match audience {
        Disclosure::Secretariat => t.audience_secretariat,
        Disclosure::Wco => t.audience_wco,
        Disclosure::Public => t.audience_public,
    }
}

/// The exact value of a number, as a `data-` attribute holds it (the shortest text that reads
/// back as the same f64).
fn raw(value: Option<f64>) -> Option<String> {
    value.map(|v| v.to_string())
}

fn score_view(lang: Lang, table: &Table<'_>, row: usize) -> Result<ScoreView, ReportError> {
    let status = table.required("status", row)?.to_string();
    let score = table.float("score", row)?;
    let level = table.int("level", row)?;
    let coverage = table.float("coverage", row)?;
    Ok(ScoreView {
        status_word: i18n::status_word(lang, &status),
        status,
        score: score.map(|s| number(lang, s, 1)),
        score_raw: raw(score),
        level,
        level_word: level.map_or("", |l| i18n::level_word(lang, l)),
        coverage: coverage.map(|c| format!("{}\u{a0}%", number(lang, 100.0 * c, 0))),
        coverage_raw: raw(coverage),
        disclosure: table.required("disclosure", row)?.to_string(),
    })
}

/// A KPI value for people: two decimals.
fn value_text(lang: Lang, value: f64) -> String {
    number(lang, value, 2)
}

/// A count or amount for people: no decimals when it is a whole number (a count of seizures),
/// two otherwise.
fn amount_text(lang: Lang, value: f64) -> String {
    if value.fract() == 0.0 {
        number(lang, value, 0)
    } else {
        number(lang, value, 2)
    }
}

#[allow(clippy::too_many_arguments)]
fn kpi_view(
    lang: Lang,
    input: &ReportInput<'_>,
    indicator: &Indicator,
    values: &Table<'_>,
    row: usize,
    peers: Option<&Table<'_>>,
    region: &str,
    income_group: &str,
    files: &[DatasetFile],
) -> Result<KpiView, ReportError> {
    let t = lang.texts();
    let status = values.required("status", row)?.to_string();
    let value = values.float("value", row)?;
    let numerator = values.float("numerator", row)?;
    let denominator = values.float("denominator", row)?;
    let score = values.float("score", row)?;
    let level = values.int("level", row)?;
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
                median: stat("median"),
                p25: stat("p25"),
                p75: stat("p75"),
                n: peers.int("n", row).ok().flatten().unwrap_or(0),
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
        disclosure: values.required("disclosure", row)?.to_string(),
    })
}

fn anchor(id: &str) -> String {
    format!("kpi-{}", id.replace('.', "-"))
}

/// Why a KPI has no value, in words.
fn reason(
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

fn peer_row(peers: &Table<'_>, indicator: &str, kind: &str, group: &str) -> Option<usize> {
    peers.rows.iter().copied().find(|&row| {
        peers.text("indicator", row).ok().flatten() == Some(indicator)
            && peers.text("group_kind", row).ok().flatten() == Some(kind)
            && peers.text("group", row).ok().flatten() == Some(group)
    })
}

fn peer_median(peers: &Table<'_>, indicator: &str, kind: &str, group: &str) -> Option<f64> {
    peer_row(peers, indicator, kind, group)
        .and_then(|row| peers.float("median", row).ok().flatten())
}

fn method_view(
    lang: Lang,
    indicator: &Indicator,
    values: &Table<'_>,
    row: usize,
) -> Result<MethodView, ReportError> {
    let t = lang.texts();
    let value = values.float("value", row)?;
    let score = values.float("score", row)?;
    let level = values.int("level", row)?;
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
            .float("numerator", row)?
            .map(|v| amount_text(lang, v)),
        denominator: values
            .float("denominator", row)?
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

/// Every score and KPI of the member with its disclosure level, in the catalog's order:
/// overall, then each dimension followed by its outcomes, each followed by its KPIs.
fn disclosure_rows(
    input: &ReportInput<'_>,
    values: &Table<'_>,
    outcomes: &Table<'_>,
    dimensions: &Table<'_>,
) -> Result<Vec<DisclosureRow>, ReportError> {
    let lang = input.lang;
    let catalog = input.catalog;
    let levels = |table: &Table<'_>, key: &str| -> Result<BTreeMap<String, String>, ReportError> {
        table
            .rows
            .iter()
            .map(|&row| {
                Ok((
                    table.required(key, row)?.to_string(),
                    table.required("disclosure", row)?.to_string(),
                ))
            })
            .collect()
    };
    let dimension_levels = levels(dimensions, "dimension")?;
    let outcome_levels = levels(outcomes, "outcome")?;
    let kpi_levels = levels(values, "indicator")?;
    let mut rows = Vec::new();
    let mut push = |kind: &'static str, id: &str, name: String, level: Option<&String>| {
        let Some(level) = level else {
            return;
        };
        let disclosure = match level.as_str() {
            "public" => Disclosure::Public,
            "wco" => Disclosure::Wco,
            _ => Disclosure::Secretariat,
        };
        rows.push(DisclosureRow {
            kind,
            id: id.to_string(),
            name,
            level: level.clone(),
            wco: Disclosure::Wco.may_see(disclosure),
            public: Disclosure::Public.may_see(disclosure),
        });
    };
    push(
        "dimension",
        pmm_engine::OVERALL,
        lang.texts().overall.to_string(),
        dimension_levels.get(pmm_engine::OVERALL),
    );
    for dimension in &catalog.dimensions {
        push(
            "dimension",
            &dimension.id,
            name(lang, &dimension.name, &dimension.name_fr),
            dimension_levels.get(&dimension.id),
        );
        for outcome in catalog
            .outcomes
            .iter()
            .filter(|o| o.dimension == dimension.id)
        {
            push(
                "outcome",
                &outcome.id,
                name(lang, &outcome.name, &outcome.name_fr),
                outcome_levels.get(&outcome.id),
            );
            for indicator in catalog
                .indicators
                .iter()
                .filter(|i| i.outcome == outcome.id)
            {
                push(
                    "kpi",
                    &indicator.id,
                    name(lang, &indicator.name, &indicator.name_fr),
                    kpi_levels.get(&indicator.id),
                );
            }
        }
    }
    Ok(rows)
}

fn issue_views(
    batch: &datafusion::arrow::record_batch::RecordBatch,
    member: &str,
) -> Result<Vec<IssueView>, ReportError> {
    let table = Table::of_member(batch, "validation_issues", member)?;
    table
        .rows
        .iter()
        .map(|&row| {
            Ok(IssueView {
                year: table.int("year", row)?,
                dataset: table.text("dataset", row)?.map(str::to_string),
                file: table.text("file", row)?.map(str::to_string),
                record: table.int("row", row)?,
                column: table.text("column", row)?.map(str::to_string),
                rule: table.required("rule", row)?.to_string(),
                severity: table.required("severity", row)?.to_string(),
                message: table.required("message", row)?.to_string(),
                count: table.int("count", row)?.unwrap_or(1),
            })
        })
        .collect()
}

/// One bar of a chart, before layout.
struct BarInput {
    label: String,
    score: Option<f64>,
    level: Option<i64>,
    /// A second score shown as a mark across the bar (the peer median's).
    marker: Option<f64>,
}

/// A horizontal bar chart of scores 0..100.
fn chart(lang: Lang, bars: Vec<BarInput>, label_width: f64) -> Chart {
    const ROW: f64 = 26.0;
    const TOP: f64 = 24.0;
    const BAR: f64 = 380.0;
    let scale = |score: f64| BAR * score.clamp(0.0, 100.0) / 100.0;
    let bars: Vec<Bar> = bars
        .into_iter()
        .enumerate()
        .map(|(i, bar)| Bar {
            label: shorten(&bar.label, (label_width / 6.8) as usize),
            y: TOP + ROW * i as f64,
            length: bar.score.map_or(0.0, scale),
            value: bar.score.map(|s| number(lang, s, 1)),
            level: bar.level,
            marker: bar.marker.map(scale),
        })
        .collect();
    Chart {
        width: label_width + BAR + 70.0,
        height: TOP + ROW * bars.len() as f64 + 8.0,
        label_width,
        bar_width: BAR,
        ticks: [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
            .into_iter()
            .map(|v| Tick {
                x: scale(v),
                label: number(lang, v, 0),
            })
            .collect(),
        bars,
    }
}

/// A label cut to `max` characters with `…`.
fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let cut: String = label.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}
