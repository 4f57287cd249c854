//! The four rules at their edges, and the figures in the messages.

use pmm_catalog::{Assessment, Disclosure, IncomeGroup, Region};

use super::*;
use crate::rows::PeerStats;

const SHARE: &str = "tfec.pre_arrival_rate"; // range [0, 100]
const HOURS: &str = "tfec.release_time_mean_hours"; // max_change 1

fn catalog() -> Catalog {
    Catalog::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
        .unwrap()
}

fn value(member: &str, indicator: &str, value: f64) -> IndicatorRow {
    IndicatorRow {
        member: member.into(),
        region: Region::Europe,
        income_group: IncomeGroup::Low,
        dimension: "tfec".into(),
        outcome: "o".into(),
        indicator: indicator.into(),
        status: Status::Ok,
        value: Some(value),
        numerator: None,
        denominator: None,
        unit: if indicator == HOURS {
            Unit::Hours
        } else {
            Unit::Percent
        },
        score: None,
        level: None,
        disclosure: Disclosure::Public,
        assessment: Assessment::SelfAssessed,
        definition_hash: String::new(),
    }
}

fn peers(indicator: &str, n: i64, p25: f64, median: f64, p75: f64) -> PeerRow {
    PeerRow {
        indicator: indicator.into(),
        group_kind: "global",
        group: "all".into(),
        n,
        stats: Some(PeerStats {
            mean: median,
            median,
            p25,
            p75,
            min: p25,
            max: p75,
        }),
    }
}

fn key(m: &str, d: &str, y: i32) -> (String, String, i32) {
    (m.into(), d.into(), y)
}

/// Each rule at its edges: what passes the bound by a hair is flagged, what stays on it is
/// not; small datasets, small groups and a zero IQR raise nothing; a clean member gets no
/// flag; an explanation follows its subject.
#[test]
fn each_rule_flags_what_passes_its_bound_and_nothing_else() {
    let catalog = catalog();
    let counts = BTreeMap::from([
        // XA's declarations fell by 90 %: flagged (the 1,000 minimum is met).
        (key("XA", "declarations", 2024), 90_112),
        (key("XA", "declarations", 2023), 901_224),
        // XB's fell by exactly half: not more than the 0.5 allowed.
        (key("XB", "declarations", 2024), 1_000),
        (key("XB", "declarations", 2023), 2_000),
        // XC's doubled, but both counts are under the minimum of 1,000.
        (key("XC", "declarations", 2024), 998),
        (key("XC", "declarations", 2023), 499),
        // XD has no T-1 count (rejected or not submitted): nothing to compare with.
        (key("XD", "declarations", 2024), 5_000),
        // XE's staff went from 0 to 150 (default bounds: 0.5 and 100).
        (key("XE", "staff", 2024), 150),
        (key("XE", "staff", 2023), 0),
    ]);
    let values = vec![
        value("XA", SHARE, 100.5), // outside [0, 100]
        value("XB", SHARE, 100.0), // on the bound
        value("XA", HOURS, 30.0),  // 10 -> 30: +200 %, more than 100 %
        value("XB", HOURS, 20.0),  // 10 -> 20: +100 %, not more
        value("XC", HOURS, 900.0), // far above its peers
        value("XD", HOURS, 900.0), // no T-1 value to compare with; far above its peers
    ];
    let previous = BTreeMap::from([
        (("XA".to_string(), HOURS.to_string()), 10.0),
        (("XB".to_string(), HOURS.to_string()), 10.0),
    ]);
    let peer_stats = vec![
        peers(HOURS, 5, 10.0, 12.0, 20.0), // bounds -20 .. 50
        peers(SHARE, 5, 50.0, 50.0, 50.0), // zero IQR: no outlier
    ];
    let explanations = BTreeMap::from([(
        "XA".to_string(),
        BTreeMap::from([(
            "declarations".to_string(),
            "a new single window".to_string(),
        )]),
    )]);
    let input = ReviewInput {
        catalog: &catalog,
        year: 2024,
        counts: &counts,
        values: &values,
        previous: &previous,
        peers: &peer_stats,
        min_group_size: 5,
        explanations: &explanations,
    };
    let flags = review(&input);
    let seen: Vec<(&str, &str, &str)> = flags
        .iter()
        .map(|f| (f.member.as_str(), f.subject.as_str(), f.rule.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("XA", "declarations", "count_change"),
            ("XA", SHARE, "outside_range"),
            ("XA", HOURS, "value_change"),
            ("XC", HOURS, "peer_outlier"),
            ("XD", HOURS, "peer_outlier"),
            ("XE", "staff", "count_change"),
        ]
    );
    let declarations = &flags[0];
    assert_eq!(
        declarations.message,
        "declarations: 90,112 valid rows in 2024 against 901,224 in 2023 (-90 %)"
    );
    assert_eq!(
        (declarations.observed, declarations.reference),
        (90_112.0, Some(901_224.0))
    );
    assert_eq!(
        declarations.explanation.as_deref(),
        Some("a new single window")
    );
    assert!(flags[1..].iter().all(|f| f.explanation.is_none()));
    assert_eq!((flags[2].low, flags[2].high), (Some(0.0), Some(20.0)));
    assert_eq!(
        flags[2].message,
        format!(
            "{HOURS}: 30.00 h in 2024 against 10.00 h in 2023 (+200 %), more than the 100 % change it allows"
        )
    );
    assert_eq!(
        (flags[1].low, flags[1].high, flags[1].reference),
        (Some(0.0), Some(100.0), None)
    );
    assert_eq!(
        flags[1].message,
        format!("{SHARE}: 100.50 % in 2024, outside the plausible range 0.00 % to 100.00 %")
    );
    assert_eq!(
        (flags[3].low, flags[3].high, flags[3].reference),
        (Some(-20.0), Some(50.0), Some(12.0))
    );
    assert!(
        flags[5].message.ends_with("(from none)"),
        "{}",
        flags[5].message
    );
    // A group under the minimum size compares with nothing.
    let small = ReviewInput {
        min_group_size: 6,
        ..input
    };
    assert!(
        review(&small)
            .iter()
            .all(|f| f.rule != ReviewRule::PeerOutlier)
    );
    // The table holds them as they are.
    let batch = encode("R", 2024, &flags).unwrap();
    assert_eq!(batch.num_rows(), flags.len());
    assert_eq!(batch.schema(), REVIEW_FLAGS.schema());
    // And they read back the same, with their year.
    let back = decode(&batch).unwrap();
    assert_eq!(
        back,
        flags.iter().map(|f| (2024, f.clone())).collect::<Vec<_>>()
    );
    assert!(flags.iter().any(|f| f.explanation.is_some()));
    // A table whose rule is not one of the four is not a table of pmm.
    let mut odd = flags[0].clone();
    odd.message = "x".into();
    let mut batch = encode("R", 2024, &[odd]).unwrap();
    let mut columns = batch.columns().to_vec();
    let rule = batch.schema().index_of("rule").unwrap();
    columns[rule] = Arc::new(arrow_array::StringArray::from(vec!["made_up"]));
    batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let error = decode(&batch).unwrap_err().to_string();
    assert!(error.contains("unknown rule `made_up` in row 0"), "{error}");
}

#[test]
fn figures_read_as_people_write_them() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_000), "1,000");
    assert_eq!(thousands(901_224), "901,224");
    assert_eq!(thousands(12_345_678), "12,345,678");
    assert_eq!(percent(0.5), "50 %");
    assert_eq!(percent(0.125), "12.5 %");
    assert_eq!(change(90.0, 100.0), "-10 %");
    assert_eq!(change(1.0, 0.0), "from none");
}
