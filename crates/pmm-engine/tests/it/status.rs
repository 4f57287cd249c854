//! Each status wins over the ones after it: not_applicable, invalid_submission, missing_data,
//! undefined, ok.

use std::path::Path;

use pmm_catalog::{Catalog, Status};
use pmm_engine::{DatasetState, Engine, EvaluationInputs, TableFile};
use pmm_ingest::{ReadSettings, StagingArea, memory_staging, stage_text};

const DECL: &str = "declaration_id,flow,lodged_at,released_at,electronic,standardized,pre_arrival,channel,aeo,ecommerce,customs_value\n";
const STAFF: &str = "unit,headcount,female_headcount,training_hours,integrity_cases,budget\n";

fn catalog() -> Catalog {
    Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
        .expect("the shipped catalog loads")
}

/// Validates and stages `csv` as `dataset` of `member` for `year` (in memory, through the
/// run's read path) and adds it to the inputs as accepted.
async fn submit(
    catalog: &Catalog,
    staging: &StagingArea,
    inputs: &mut EvaluationInputs,
    member: &str,
    year: i32,
    dataset: &str,
    csv: &str,
) {
    let contract = catalog.dataset(dataset).unwrap();
    let settings = ReadSettings {
        max_invalid_row_fraction: 0.0,
        limits: pmm_catalog::Limits::default(),
    };
    let file = format!("{dataset}.csv");
    let staged = stage_text(staging, contract, member, year, &file, csv, &settings)
        .await
        .unwrap();
    assert!(staged.outcome.accepted, "{:?}", staged.outcome.issues);
    inputs
        .tables
        .entry(dataset.to_string())
        .or_default()
        .extend(staged.files.into_iter().map(|file| TableFile {
            member: member.to_string(),
            year,
            file,
        }));
    inputs.staging = Some(staging.root.clone());
    inputs.datasets.insert(
        (member.into(), year, dataset.into()),
        DatasetState::Accepted,
    );
}

#[tokio::test]
async fn statuses_are_decided_in_catalog_order() {
    let catalog = catalog();
    let indicator = catalog.indicator("od.declarations_per_staff").unwrap();
    let staging = memory_staging().unwrap();
    let mut inputs = EvaluationInputs::new(2024);
    inputs.members = ["XA", "XB", "XC", "XD", "XE", "XF"]
        .map(String::from)
        .to_vec();
    let rows = format!(
        "{DECL}D1,IM,2024-01-01T00:00:00Z,,true,true,false,green,false,false,1\nD2,EX,2024-01-01T00:00:00Z,,true,true,false,green,false,false,1\n"
    );
    let staff = format!("{STAFF}U1,4,2,0,0,\n");

    // XA: declared not applicable, although its staff dataset was rejected.
    submit(
        &catalog,
        &staging,
        &mut inputs,
        "XA",
        2024,
        "declarations",
        &rows,
    )
    .await;
    inputs
        .datasets
        .insert(("XA".into(), 2024, "staff".into()), DatasetState::Rejected);
    inputs
        .not_applicable
        .insert(("XA".into(), indicator.id.clone()));
    // XB: declarations rejected and staff not submitted: invalid beats missing.
    inputs.datasets.insert(
        ("XB".into(), 2024, "declarations".into()),
        DatasetState::Rejected,
    );
    // XC: staff not submitted.
    submit(
        &catalog,
        &staging,
        &mut inputs,
        "XC",
        2024,
        "declarations",
        &rows,
    )
    .await;
    // XD: no staff at all (headcount 0): a zero denominator.
    submit(
        &catalog,
        &staging,
        &mut inputs,
        "XD",
        2024,
        "declarations",
        &rows,
    )
    .await;
    submit(
        &catalog,
        &staging,
        &mut inputs,
        "XD",
        2024,
        "staff",
        &format!("{STAFF}U1,0,0,0,0,\n"),
    )
    .await;
    // XE: both there.
    submit(
        &catalog,
        &staging,
        &mut inputs,
        "XE",
        2024,
        "declarations",
        &rows,
    )
    .await;
    submit(&catalog, &staging, &mut inputs, "XE", 2024, "staff", &staff).await;
    // XF: only a T-1 submission, which does not stand in for T.
    submit(
        &catalog,
        &staging,
        &mut inputs,
        "XF",
        2023,
        "declarations",
        &rows.replace("2024-01-01", "2023-01-01"),
    )
    .await;
    submit(&catalog, &staging, &mut inputs, "XF", 2023, "staff", &staff).await;

    let engine = Engine::new(&catalog, &inputs, &pmm_catalog::EngineConfig::default()).unwrap();
    let values = engine.evaluate(indicator, &inputs).await.unwrap();
    let got: Vec<(&str, Status, Option<f64>)> = values
        .iter()
        .map(|v| (v.member.as_str(), v.status, v.value))
        .collect();
    assert_eq!(
        got,
        vec![
            ("XA", Status::NotApplicable, None),
            ("XB", Status::InvalidSubmission, None),
            ("XC", Status::MissingData, None),
            ("XD", Status::Undefined, None),
            ("XE", Status::Ok, Some(0.5)),
            ("XF", Status::MissingData, None),
        ]
    );
    let xd = &values[3];
    assert_eq!(
        (xd.numerator, xd.denominator),
        (Some(2.0), Some(0.0)),
        "an undefined value keeps its inputs"
    );
}

#[tokio::test]
async fn every_indicator_runs_over_empty_tables() {
    // With nothing submitted, every SQL still plans and runs, and every member is missing_data.
    let catalog = catalog();
    let mut inputs = EvaluationInputs::new(2024);
    inputs.members = vec!["XA".into()];
    let engine = Engine::new(&catalog, &inputs, &pmm_catalog::EngineConfig::default()).unwrap();
    for indicator in &catalog.indicators {
        let values = engine.evaluate(indicator, &inputs).await.unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].status, Status::MissingData, "{}", indicator.id);
    }
}
