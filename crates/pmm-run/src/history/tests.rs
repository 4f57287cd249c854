//! The history's own rules on hand-made tables.

use super::causes::member_input;
use super::*;
use pmm_catalog::{Assessment, IncomeGroup, Region, Status};

fn catalog() -> Catalog {
    Catalog::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
        .unwrap()
}

fn history_row(indicator: &str, year: i32, value: f64, hash: &str) -> HistoryRow {
    HistoryRow {
        member: "XA".into(),
        indicator: indicator.into(),
        year,
        status: Status::Ok,
        value: Some(value),
        score: Some(value),
        level: Some(3),
        unit: pmm_catalog::Unit::Percent,
        disclosure: Disclosure::Public,
        definition_hash: hash.into(),
        catalog_version: "PMM v0.9".into(),
        comparable: true,
        run_id: format!("R{year}"),
        published_at: "2026-01-01T00:00:00Z".into(),
        superseded_by: None,
        change: Change::First,
        cause: None,
    }
}

fn value_row(indicator: &str, value: f64, hash: &str) -> IndicatorRow {
    IndicatorRow {
        member: "XA".into(),
        region: Region::Europe,
        income_group: IncomeGroup::Low,
        dimension: "d".into(),
        outcome: "o".into(),
        indicator: indicator.into(),
        status: Status::Ok,
        value: Some(value),
        numerator: None,
        denominator: None,
        unit: pmm_catalog::Unit::Percent,
        score: Some(value),
        level: Some(3),
        disclosure: Disclosure::Public,
        assessment: Assessment::SelfAssessed,
        definition_hash: hash.into(),
    }
}

/// A year filled in between two published years: the new row is appended (the file is a
/// log), and `comparable` is worked out again for the year after it, whose previous year
/// it becomes, with a warning for the definition change no revision declares.
#[test]
fn a_year_filled_in_between_is_appended_and_moves_comparability() {
    let catalog = catalog();
    let (k, other) = (
        catalog.indicators[0].id.clone(),
        catalog.indicators[1].id.clone(),
    );
    // 2023 was not comparable with 2021 (another definition, no revision declared).
    let previous = vec![
        HistoryRow {
            comparable: false,
            ..history_row(&k, 2023, 30.0, "b")
        },
        history_row(&other, 2021, 1.0, "x"),
        history_row(&k, 2021, 10.0, "a"),
    ];
    let previous = pmm_results::history::encode(&previous).unwrap();
    let run = ThisRun {
        run_id: "R9",
        published_at: "2026-02-02T00:00:00Z",
        year: 2022,
        inputs: &[],
    };
    let current = [value_row(&k, 20.0, "b"), value_row(&other, 2.0, "x")];
    let mut warnings = BTreeSet::new();
    let next = next_history(
        &catalog,
        &previous,
        &current,
        &run,
        &EarlierInputs::new(),
        &mut warnings,
    )
    .unwrap();
    let rows = pmm_results::history::decode(&next).unwrap();
    let seen: Vec<(&str, i32, bool)> = rows
        .iter()
        .map(|r| (r.indicator.as_str(), r.year, r.comparable))
        .collect();
    // This run's rows, by KPI: 2022 changes the definition of 2021 with no revision.
    let mut added = vec![(k.as_str(), 2022, false), (other.as_str(), 2022, true)];
    added.sort();
    let mut expected = vec![
        // The previous rows in their order; 2023 now follows 2022, of its definition.
        (k.as_str(), 2023, true),
        (other.as_str(), 2021, true),
        (k.as_str(), 2021, true),
    ];
    expected.extend(added);
    assert_eq!(seen, expected);
    assert!(rows.iter().all(|r| r.is_current()));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .next()
            .unwrap()
            .starts_with(&format!("{k}: "))
    );
    // An unchanged re-run adds nothing and keeps the file as it was.
    let mut warnings = BTreeSet::new();
    let again = next_history(
        &catalog,
        &next,
        &current,
        &run,
        &EarlierInputs::new(),
        &mut warnings,
    )
    .unwrap();
    assert_eq!(again, next);
    assert!(warnings.is_empty());
}

#[test]
fn a_submitted_path_gives_its_year_and_dataset() {
    assert_eq!(
        member_input("member=XA/year=2023/declarations.csv.gz", "XA"),
        Some((2023, "declarations".into()))
    );
    assert_eq!(
        member_input("member=XA/year=2023/manifest.yaml", "XA"),
        Some((2023, "manifest".into()))
    );
    assert_eq!(member_input("member=XB/year=2023/staff.csv", "XA"), None);
    assert_eq!(member_input("member=XA/notes.txt", "XA"), None);
}
