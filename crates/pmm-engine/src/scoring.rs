//! Scoring, roll-up, peer statistics and disclosure: from evaluated indicator values to the
//! rows of the result tables. Pure functions over data; no I/O.
//!
//! Why one file of this length (about 560 lines): score, level, roll-up, peer statistics and
//! disclosure are the documented formulas, one after the other, as `docs/catalog.md` states
//! them; reading them side by side is how they are checked against the documentation.

use std::collections::BTreeMap;

use pmm_catalog::{
    Catalog, Direction, Disclosure, IncomeGroup, Region, Status, SubmissionManifest, Unit,
};

use pmm_results::{
    IndicatorRow, OVERALL, PeerRow, PeerStats, ResultTables, RollupStatus, ScoreRow,
};

use crate::evaluate::IndicatorValue;
use crate::functions::type7_sorted;

/// What the scoring needs to know about one registered member.
#[derive(Debug, Clone)]
pub struct MemberContext {
    /// Member code.
    pub member: String,
    /// Its WCO region.
    pub region: Region,
    /// Its income group.
    pub income_group: IncomeGroup,
    /// Its valid manifest for T, if any.
    pub manifest: Option<SubmissionManifest>,
    /// Whether its submission for T was rejected as a whole: nothing of it may be disclosed
    /// beyond the Secretariat, since its disclosure choices are unknown.
    pub submission_rejected: bool,
}

/// The pipeline's scoring settings.
#[derive(Debug, Clone, Copy)]
pub struct ScoringOptions {
    /// Below this coverage an outcome, dimension or overall score is withheld.
    pub min_coverage: f64,
    /// Peer groups with fewer `ok` members get no statistics.
    pub min_group_size: u32,
    /// Disclosure level when neither manifest nor indicator sets one.
    pub disclosure_default: Disclosure,
}

/// `level` of a score: 1 below 20, 2 below 40, 3 below 60, 4 below 80, else 5.
pub fn level(score: f64) -> i64 {
    match score {
        s if s < 20.0 => 1,
        s if s < 40.0 => 2,
        s if s < 60.0 => 3,
        s if s < 80.0 => 4,
        _ => 5,
    }
}

/// Scores every value, rolls them up per member and computes peer statistics.
pub fn score_and_roll_up(
    catalog: &Catalog,
    values: &[IndicatorValue],
    members: &[MemberContext],
    options: ScoringOptions,
) -> ResultTables {
    let by_key: BTreeMap<(&str, &str), &IndicatorValue> = values
        .iter()
        .map(|v| ((v.member.as_str(), v.indicator.as_str()), v))
        .collect();
    let mut tables = ResultTables::default();
    for m in members {
        let assessment = m
            .manifest
            .as_ref()
            .map(|x| x.assessment)
            .unwrap_or_default();
        let mut rows = Vec::new();
        for indicator in &catalog.indicators {
            let Some(v) = by_key.get(&(m.member.as_str(), indicator.id.as_str())) else {
                continue;
            };
            let disclosure = if m.submission_rejected {
                Disclosure::Secretariat
            } else {
                match &m.manifest {
                    Some(manifest) => manifest.disclosure_of(indicator, options.disclosure_default),
                    None => indicator
                        .disclosure_default
                        .unwrap_or(options.disclosure_default),
                }
            };
            let score = match (v.status, v.value, indicator.scoring) {
                (Status::Ok, Some(value), Some(scoring)) => Some(scoring.score(value)),
                _ => None,
            };
            rows.push(IndicatorRow {
                member: m.member.clone(),
                region: m.region,
                income_group: m.income_group,
                dimension: indicator.dimension.clone(),
                outcome: indicator.outcome.clone(),
                indicator: indicator.id.clone(),
                status: v.status,
                value: v.value,
                numerator: v.numerator,
                denominator: v.denominator,
                unit: indicator.unit,
                score,
                level: score.map(level),
                disclosure,
                assessment,
                definition_hash: indicator.definition_hash.clone(),
            });
        }
        let weight = |row: &IndicatorRow| {
            catalog
                .indicator(&row.indicator)
                .map_or(0.0, |i| i.weight())
        };
        let scored = |row: &&IndicatorRow| {
            catalog
                .indicator(&row.indicator)
                .is_some_and(|i| i.direction != Direction::Informational)
        };
        // The scored KPIs under an outcome or dimension: (weight, status) of each, for the
        // coverage, and the most restrictive disclosure among them, for the roll-up's.
        let basis = |kpis: &[&IndicatorRow]| {
            (
                kpis.iter()
                    .map(|r| (weight(r), r.status))
                    .collect::<Vec<_>>(),
                kpis.iter()
                    .map(|r| r.disclosure)
                    .max()
                    .unwrap_or(Disclosure::Public),
            )
        };
        let score_row = |dimension: &str, outcome: Option<&str>, rollup: Rollup| ScoreRow {
            member: m.member.clone(),
            region: m.region,
            income_group: m.income_group,
            dimension: dimension.to_string(),
            outcome: outcome.map(str::to_string),
            status: rollup.status,
            score: rollup.score,
            level: rollup.score.map(level),
            coverage: rollup.coverage,
            disclosure: rollup.disclosure,
        };
        let mut dimension_rows = Vec::new();
        for dimension in &catalog.dimensions {
            let mut outcome_scores = Vec::new();
            for outcome in catalog
                .outcomes
                .iter()
                .filter(|o| o.dimension == dimension.id)
            {
                let kpis: Vec<&IndicatorRow> = rows
                    .iter()
                    .filter(|r| r.outcome == outcome.id)
                    .filter(scored)
                    .collect();
                let parts: Vec<(f64, Option<f64>)> = kpis
                    .iter()
                    .filter(|r| r.status == Status::Ok)
                    .map(|r| (weight(r), r.score))
                    .collect();
                let (applicable, disclosure) = basis(&kpis);
                let rollup = roll_up(&applicable, &parts, disclosure, options.min_coverage);
                outcome_scores.push((outcome.weight, rollup.score));
                tables
                    .outcomes
                    .push(score_row(&dimension.id, Some(&outcome.id), rollup));
            }
            let kpis: Vec<&IndicatorRow> = rows
                .iter()
                .filter(|r| r.dimension == dimension.id)
                .filter(scored)
                .collect();
            let (applicable, disclosure) = basis(&kpis);
            let rollup = roll_up(
                &applicable,
                &outcome_scores,
                disclosure,
                options.min_coverage,
            );
            dimension_rows.push(rollup);
            tables
                .dimensions
                .push(score_row(&dimension.id, None, rollup));
        }
        let coverages: Vec<f64> = dimension_rows.iter().filter_map(|d| d.coverage).collect();
        let overall_disclosure = rows
            .iter()
            .filter(scored)
            .map(|r| r.disclosure)
            .max()
            .unwrap_or(Disclosure::Public);
        let overall = if coverages.is_empty() {
            Rollup {
                status: RollupStatus::NotApplicable,
                score: None,
                coverage: None,
                disclosure: overall_disclosure,
            }
        } else {
            let coverage = coverages.iter().sum::<f64>() / coverages.len() as f64;
            let scores: Vec<f64> = dimension_rows.iter().filter_map(|d| d.score).collect();
            if coverage < options.min_coverage || scores.is_empty() {
                Rollup {
                    status: RollupStatus::InsufficientCoverage,
                    score: None,
                    coverage: Some(coverage),
                    disclosure: overall_disclosure,
                }
            } else {
                Rollup {
                    status: RollupStatus::Ok,
                    score: Some(scores.iter().sum::<f64>() / scores.len() as f64),
                    coverage: Some(coverage),
                    disclosure: overall_disclosure,
                }
            }
        };
        tables.dimensions.push(score_row(OVERALL, None, overall));
        tables.indicators.extend(rows);
    }
    tables.peers = peer_stats(catalog, &tables.indicators, options.min_group_size);
    for audience in Disclosure::ALL {
        let visible: Vec<IndicatorRow> = tables
            .indicators
            .iter()
            .filter(|r| audience.may_see(r.disclosure))
            .cloned()
            .collect();
        tables.peers_by_audience.push((
            audience,
            peer_stats(catalog, &visible, options.min_group_size),
        ));
    }
    tables.sort();
    tables
}

#[derive(Debug, Clone, Copy)]
struct Rollup {
    status: RollupStatus,
    score: Option<f64>,
    coverage: Option<f64>,
    disclosure: Disclosure,
}

/// One roll-up: `kpis` are (weight, status) of the scored KPIs under it, which give its
/// coverage; `parts` are (weight, score) of what its score averages (KPIs or outcomes).
fn roll_up(
    kpis: &[(f64, Status)],
    parts: &[(f64, Option<f64>)],
    disclosure: Disclosure,
    min_coverage: f64,
) -> Rollup {
    let applicable: f64 = kpis
        .iter()
        .filter(|(_, s)| *s != Status::NotApplicable)
        .map(|(w, _)| w)
        .sum();
    if applicable <= 0.0 {
        return Rollup {
            status: RollupStatus::NotApplicable,
            score: None,
            coverage: None,
            disclosure,
        };
    }
    let covered: f64 = kpis
        .iter()
        .filter(|(_, s)| *s == Status::Ok)
        .map(|(w, _)| w)
        .sum();
    let coverage = covered / applicable;
    let (weight, total) = parts
        .iter()
        .filter_map(|(w, s)| s.map(|s| (*w, s)))
        .fold((0.0, 0.0), |(wsum, total), (w, s)| {
            (wsum + w, total + w * s)
        });
    if coverage < min_coverage || weight <= 0.0 {
        return Rollup {
            status: RollupStatus::InsufficientCoverage,
            score: None,
            coverage: Some(coverage),
            disclosure,
        };
    }
    Rollup {
        status: RollupStatus::Ok,
        score: Some(total / weight),
        coverage: Some(coverage),
        disclosure,
    }
}

/// Peer statistics of every comparable indicator: global, per region, per income group.
fn peer_stats(catalog: &Catalog, rows: &[IndicatorRow], min_group_size: u32) -> Vec<PeerRow> {
    let mut out = Vec::new();
    for indicator in catalog
        .indicators
        .iter()
        .filter(|i| i.unit != Unit::Currency)
    {
        let ok: Vec<&IndicatorRow> = rows
            .iter()
            .filter(|r| r.indicator == indicator.id && r.status == Status::Ok && r.value.is_some())
            .collect();
        let values_where = |keep: &dyn Fn(&IndicatorRow) -> bool| -> Vec<f64> {
            ok.iter()
                .filter(|r| keep(r))
                .filter_map(|r| r.value)
                .collect()
        };
        let mut groups: Vec<(&'static str, String, Vec<f64>)> =
            vec![("global", "all".to_string(), values_where(&|_| true))];
        for region in Region::ALL {
            groups.push((
                "region",
                region.to_string(),
                values_where(&|r| r.region == region),
            ));
        }
        for income in IncomeGroup::ALL {
            groups.push((
                "income_group",
                income.to_string(),
                values_where(&|r| r.income_group == income),
            ));
        }
        for (group_kind, group, mut values) in groups {
            values.sort_by(f64::total_cmp);
            let n = values.len();
            let stats = match (values.first(), values.last()) {
                (Some(&min), Some(&max)) if n >= min_group_size as usize => {
                    let at = |p: f64| type7_sorted(&values, p).unwrap_or(min);
                    Some(PeerStats {
                        mean: values.iter().sum::<f64>() / n as f64,
                        median: at(0.5),
                        p25: at(0.25),
                        p75: at(0.75),
                        min,
                        max,
                    })
                }
                _ => None,
            };
            out.push(PeerRow {
                indicator: indicator.id.clone(),
                group_kind,
                group,
                n: n as i64,
                stats,
            });
        }
    }
    out
}
