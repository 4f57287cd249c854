//! Property tests of scoring, roll-up and disclosure over the shipped catalog: random statuses,
//! values and disclosure choices, checked against the rules recomputed here independently.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use pmm_catalog::{
    Catalog, Direction, Disclosure, IncomeGroup, Region, Status, SubmissionManifest,
};
use pmm_engine::{IndicatorValue, MemberContext, ScoringOptions, score_and_roll_up};
use pmm_results::RollupStatus;
use proptest::prelude::*;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators")).unwrap()
    })
}

const STATUSES: [Status; 5] = [
    Status::Ok,
    Status::Ok,
    Status::NotApplicable,
    Status::MissingData,
    Status::Undefined,
];

/// Per indicator: an index into `STATUSES`, a value, and maybe a disclosure override.
type KpiDraw = (usize, f64, Option<usize>);
/// One member: its KPIs, maybe a manifest default level, and whether its submission was rejected.
type MemberDraw = (Vec<KpiDraw>, Option<usize>, bool);

/// One member's random draw.
fn member_draw() -> impl Strategy<Value = MemberDraw> {
    let n = catalog().indicators.len();
    (
        proptest::collection::vec(
            (
                0..STATUSES.len(),
                -50.0..150.0f64,
                proptest::option::of(0..3usize),
            ),
            n,
        ),
        proptest::option::of(0..3usize),
        proptest::bool::weighted(0.1),
    )
}

fn build(draws: &[MemberDraw]) -> (Vec<IndicatorValue>, Vec<MemberContext>) {
    let mut values = Vec::new();
    let mut members = Vec::new();
    for (m, (kpis, default, rejected)) in draws.iter().enumerate() {
        let member = format!("X{}", (b'A' + m as u8) as char);
        let mut manifest = SubmissionManifest {
            disclosure_default: default.map(|d| Disclosure::ALL[d]),
            ..Default::default()
        };
        for (indicator, (status, value, level)) in catalog().indicators.iter().zip(kpis) {
            let status = STATUSES[*status];
            values.push(IndicatorValue {
                member: member.clone(),
                year: 2024,
                indicator: indicator.id.clone(),
                status,
                value: (status == Status::Ok).then_some(*value),
                numerator: None,
                denominator: None,
            });
            if let Some(level) = level {
                manifest
                    .disclosure_overrides
                    .insert(indicator.id.clone(), Disclosure::ALL[*level]);
            }
        }
        members.push(MemberContext {
            member,
            region: Region::ALL[m % 6],
            income_group: IncomeGroup::ALL[m % 4],
            manifest: Some(manifest),
            submission_rejected: *rejected,
        });
    }
    (values, members)
}

fn options(min_coverage: f64) -> ScoringOptions {
    ScoringOptions {
        min_coverage,
        min_group_size: 3,
        disclosure_default: Disclosure::Wco,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn outcome_and_dimension_scores_follow_the_rules(
        draws in proptest::collection::vec(member_draw(), 1..5),
        min_coverage in 0.0..1.0f64,
    ) {
        let catalog = catalog();
        let (values, members) = build(&draws);
        let tables = score_and_roll_up(catalog, &values, &members, options(min_coverage));
        let kpi = |member: &str, id: &str| tables.indicators.iter().find(|r| r.member == member && r.indicator == id).unwrap();
        for row in &tables.indicators {
            let indicator = catalog.indicator(&row.indicator).unwrap();
            match (row.status, indicator.scoring) {
                (Status::Ok, Some(s)) => {
                    let score = row.score.unwrap();
                    prop_assert!((0.0..=100.0).contains(&score));
                    prop_assert!((score - s.score(row.value.unwrap())).abs() < 1e-9);
                    prop_assert_eq!(row.level, Some(pmm_engine::level(score)));
                }
                _ => prop_assert!(row.score.is_none() && row.level.is_none()),
            }
        }
        for row in &tables.outcomes {
            let outcome = row.outcome.as_deref().unwrap();
            let scored: Vec<_> = catalog.indicators.iter()
                .filter(|i| i.outcome == outcome && i.direction != Direction::Informational)
                .map(|i| kpi(&row.member, &i.id)).collect();
            let weight = |id: &str| catalog.indicator(id).unwrap().weight();
            let applicable: f64 = scored.iter().filter(|r| r.status != Status::NotApplicable).map(|r| weight(&r.indicator)).sum();
            let ok: Vec<_> = scored.iter().filter(|r| r.status == Status::Ok).collect();
            let covered: f64 = ok.iter().map(|r| weight(&r.indicator)).sum();
            if applicable == 0.0 {
                prop_assert_eq!(row.status, RollupStatus::NotApplicable);
                prop_assert!(row.coverage.is_none() && row.score.is_none());
            } else {
                let coverage = covered / applicable;
                prop_assert!((row.coverage.unwrap() - coverage).abs() < 1e-12);
                if coverage < min_coverage || ok.is_empty() {
                    prop_assert_eq!(row.status, RollupStatus::InsufficientCoverage);
                    prop_assert!(row.score.is_none());
                } else {
                    let mean = ok.iter().map(|r| weight(&r.indicator) * r.score.unwrap()).sum::<f64>() / covered;
                    prop_assert_eq!(row.status, RollupStatus::Ok);
                    prop_assert!((row.score.unwrap() - mean).abs() < 1e-9);
                }
            }
            // The most restrictive level of the scored KPIs under it.
            let most = scored.iter().map(|r| r.disclosure).max().unwrap_or(Disclosure::Public);
            prop_assert_eq!(row.disclosure, most);
        }
        for row in tables.dimensions.iter().filter(|r| r.dimension == "overall") {
            let dims: Vec<_> = tables.dimensions.iter().filter(|d| d.member == row.member && d.dimension != "overall").collect();
            let scores: Vec<f64> = dims.iter().filter_map(|d| d.score).collect();
            if row.status == RollupStatus::Ok {
                let mean = scores.iter().sum::<f64>() / scores.len() as f64;
                prop_assert!((row.score.unwrap() - mean).abs() < 1e-9);
            }
            let coverages: Vec<f64> = dims.iter().filter_map(|d| d.coverage).collect();
            if coverages.is_empty() {
                prop_assert_eq!(row.status, RollupStatus::NotApplicable);
            } else {
                let mean = coverages.iter().sum::<f64>() / coverages.len() as f64;
                prop_assert!((row.coverage.unwrap() - mean).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn no_audience_sees_a_row_above_its_level(draws in proptest::collection::vec(member_draw(), 1..5)) {
        let catalog = catalog();
        let (values, members) = build(&draws);
        let tables = score_and_roll_up(catalog, &values, &members, options(0.5));
        for audience in Disclosure::ALL {
            let view = tables.for_audience(audience);
            prop_assert!(view.indicators.iter().all(|r| r.disclosure <= audience));
            prop_assert!(view.outcomes.iter().all(|r| r.disclosure <= audience));
            prop_assert!(view.dimensions.iter().all(|r| r.disclosure <= audience));
            // No score visible to the audience was derived from a KPI it may not see.
            let levels: BTreeMap<(&str, &str), Disclosure> =
                tables.indicators.iter().map(|r| ((r.member.as_str(), r.indicator.as_str()), r.disclosure)).collect();
            for row in &view.outcomes {
                for i in catalog.indicators.iter().filter(|i| Some(i.outcome.as_str()) == row.outcome.as_deref() && i.scoring.is_some()) {
                    prop_assert!(levels[&(row.member.as_str(), i.id.as_str())] <= audience);
                }
            }
            for row in &view.dimensions {
                for i in catalog.indicators.iter().filter(|i| (row.dimension == "overall" || i.dimension == row.dimension) && i.scoring.is_some()) {
                    prop_assert!(levels[&(row.member.as_str(), i.id.as_str())] <= audience);
                }
            }
        }
        // A rejected submission's rows are for the Secretariat only.
        for (m, member) in members.iter().enumerate() {
            if draws[m].2 {
                prop_assert!(tables.indicators.iter().filter(|r| r.member == member.member).all(|r| r.disclosure == Disclosure::Secretariat));
            }
        }
    }
}

#[test]
fn peer_statistics_are_exact_and_withheld_below_the_group_size() {
    let catalog = catalog();
    let values_of = [10.0, 20.0, 30.0, 40.0, 1000.0];
    let mut values = Vec::new();
    let mut members = Vec::new();
    for (m, v) in values_of.iter().enumerate() {
        let member = format!("X{}", (b'A' + m as u8) as char);
        values.push(IndicatorValue {
            member: member.clone(),
            year: 2024,
            indicator: "rc.collection_rate".into(),
            status: Status::Ok,
            value: Some(*v),
            numerator: None,
            denominator: None,
        });
        members.push(MemberContext {
            member,
            region: if m < 4 { Region::Europe } else { Region::Wca },
            income_group: IncomeGroup::High,
            manifest: None,
            submission_rejected: false,
        });
    }
    let tables = score_and_roll_up(
        catalog,
        &values,
        &members,
        ScoringOptions {
            min_coverage: 0.5,
            min_group_size: 4,
            disclosure_default: Disclosure::Wco,
        },
    );
    let row = |kind: &str, group: &str| {
        tables
            .peers
            .iter()
            .find(|p| {
                p.indicator == "rc.collection_rate" && p.group_kind == kind && p.group == group
            })
            .unwrap()
    };
    let global = row("global", "all").stats.unwrap();
    assert_eq!(row("global", "all").n, 5);
    assert_eq!(
        (
            global.mean,
            global.median,
            global.p25,
            global.p75,
            global.min,
            global.max
        ),
        (220.0, 30.0, 20.0, 40.0, 10.0, 1000.0)
    );
    let europe = row("region", "europe");
    assert_eq!(europe.n, 4);
    // numpy.percentile([10, 20, 30, 40], [25, 50, 75]) == [17.5, 25., 32.5]
    let s = europe.stats.unwrap();
    assert_eq!((s.p25, s.median, s.p75), (17.5, 25.0, 32.5));
    assert_eq!(row("region", "wca").n, 1);
    assert!(
        row("region", "wca").stats.is_none(),
        "a group below min_group_size has no statistics"
    );
    assert!(
        tables
            .peers
            .iter()
            .all(|p| p.indicator != "rc.pca_yield_per_audit"),
        "currency KPIs have no peer statistics"
    );
}
