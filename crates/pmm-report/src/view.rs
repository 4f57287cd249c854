//! The report as data for the template: every figure formatted for people (with its exact
//! value beside it, in a `data-` attribute), every reason in words, the charts' geometry.

use pmm_results::column as c;
use pmm_results::{DIMENSION_SCORES, INDICATOR_VALUES, OUTCOME_SCORES, PEER_STATS};
use std::collections::BTreeMap;

use pmm_catalog::Disclosure;
use serde::Serialize;

mod chart;
mod cycles;
mod kpi;
mod review;
mod sections;

use chart::{BarInput, chart};
use kpi::{kpi_view, method_view, peer_median};
use sections::{disclosure_rows, issue_views};

use crate::i18n::{self, Lang, Texts, fill, number};
use crate::{DatasetFile, Origin, ReportError, ReportInput};
use pmm_results::Cells;

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
    cycles: Option<cycles::CyclesView>,
    review: Option<Vec<review::ReviewPoint>>,
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
    let values = Cells::of_member(input.indicator_values, INDICATOR_VALUES.name, input.member)?;
    let outcomes = Cells::of_member(input.outcome_scores, OUTCOME_SCORES.name, input.member)?;
    let dimensions = Cells::of_member(input.dimension_scores, DIMENSION_SCORES.name, input.member)?;
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
    let region = place_table.required(c::REGION, place_row)?.to_string();
    let income_group = place_table
        .required(c::INCOME_GROUP, place_row)?
        .to_string();

    let peers = input
        .peers
        .map(|batch| Cells::of_member(batch, PEER_STATS.name, input.member))
        .transpose()?;
    let files: &[DatasetFile] = input.datasets.unwrap_or(&[]);

    // Scores by id.
    let mut score_of: BTreeMap<String, ScoreView> = BTreeMap::new();
    for &row in &dimensions.rows {
        let id = dimensions.required(c::DIMENSION, row)?.to_string();
        score_of.insert(id, score_view(lang, &dimensions, row)?);
    }
    for &row in &outcomes.rows {
        let id = outcomes.required(c::OUTCOME, row)?.to_string();
        score_of.insert(id, score_view(lang, &outcomes, row)?);
    }

    // KPIs by id.
    let mut kpis: BTreeMap<String, KpiView> = BTreeMap::new();
    let mut methods_by_id: BTreeMap<String, MethodView> = BTreeMap::new();
    let mut bars_by_id = BTreeMap::new();
    for &row in &values.rows {
        let id = values.required(c::INDICATOR, row)?;
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
        if let Some(score) = values.float(c::SCORE, row)? {
            let marker = peers
                .as_ref()
                .and_then(|p| peer_median(p, &indicator.id, "global", "all"))
                .and_then(|median| indicator.scoring.map(|s| s.score(median)));
            bars_by_id.insert(
                id.to_string(),
                BarInput {
                    label: name(lang, &indicator.name, &indicator.name_fr),
                    score: Some(score),
                    level: values.int(c::LEVEL, row)?,
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
    let overall = score_of.get(pmm_results::OVERALL).cloned();
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
        review: input
            .review
            .map(|flags| review::review_points(lang, t, catalog, input.member, input.year, flags)),
        cycles: input
            .history
            .and_then(|h| cycles::cycles_view(lang, catalog, input.member, h)),
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

fn score_view(lang: Lang, table: &Cells<'_>, row: usize) -> Result<ScoreView, ReportError> {
    let status = table.required(c::STATUS, row)?.to_string();
    let score = table.float(c::SCORE, row)?;
    let level = table.int(c::LEVEL, row)?;
    let coverage = table.float(c::COVERAGE, row)?;
    Ok(ScoreView {
        status_word: i18n::status_word(lang, &status),
        status,
        score: score.map(|s| number(lang, s, 1)),
        score_raw: raw(score),
        level,
        level_word: level.map_or("", |l| i18n::level_word(lang, l)),
        coverage: coverage.map(|c| format!("{}\u{a0}%", number(lang, 100.0 * c, 0))),
        coverage_raw: raw(coverage),
        disclosure: table.required(c::DISCLOSURE, row)?.to_string(),
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
