//! Validation of CSV files against the shipped dataset contracts: every rule names its record
//! and column, invalid rows are left out, counts are exact.

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use pmm_catalog::Catalog;

use datafusion::arrow::record_batch::RecordBatch;

use crate::issue::MAX_LISTED_ROWS_PER_RULE;
use crate::validate::DatasetValidator;
use crate::{DatasetOutcome, Severity, read_csv};

fn catalog() -> Catalog {
    Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
        .expect("the shipped catalog loads")
}

/// What validation made of a file: its outcome, and the valid rows of an accepted dataset.
struct Read {
    outcome: DatasetOutcome,
    batches: Vec<RecordBatch>,
}

impl std::ops::Deref for Read {
    type Target = DatasetOutcome;

    fn deref(&self) -> &DatasetOutcome {
        &self.outcome
    }
}

fn read(dataset: &str, csv: &str, max_invalid: f64) -> Read {
    let catalog = catalog();
    let contract = catalog.dataset(dataset).expect("a shipped dataset");
    let mut rows = Vec::new();
    let file = format!("{dataset}.csv");
    let mut validator = DatasetValidator::new(contract, "XA", 2024, &file, &mut rows);
    read_csv(
        csv.as_bytes(),
        &mut validator,
        &pmm_catalog::Limits::default(),
    )
    .expect("no internal error");
    let outcome = validator.finish(max_invalid);
    // A rejected dataset's rows are discarded by whoever stages them.
    if !outcome.accepted {
        rows.clear();
    }
    Read {
        outcome,
        batches: rows,
    }
}

/// (record, column, rule) of every row issue.
fn places(outcome: &Read) -> Vec<(Option<u64>, Option<String>, String)> {
    outcome
        .issues
        .iter()
        .map(|i| (i.row, i.column.clone(), i.rule.to_string()))
        .collect()
}

const DECL: &str = "declaration_id,flow,lodged_at,released_at,electronic,standardized,pre_arrival,channel,aeo,ecommerce,customs_value\n";

#[test]
fn every_row_rule_names_record_and_column() {
    let csv = format!(
        "{DECL}\
         D1,IM,2024-01-01T00:00:00Z,,true,true,false,green,false,false,10\n\
         D2,XX,2024-01-01T00:00:00Z,,true,true,false,green,false,false,10\n\
         D3,IM,31/02/2024,,true,true,false,green,false,false,10\n\
         D4,IM,2024-01-01T00:00:00Z,2023-12-31T00:00:00Z,true,true,false,green,false,false,10\n\
         D5,IM,2024-01-01T00:00:00Z,,yes,true,false,green,false,false,10\n\
         D6,IM,2024-01-01T00:00:00Z,,true,true,false,green,false,false,-1\n\
         D7,IM,2023-12-31T23:59:59Z,,true,true,false,green,false,false,10\n\
         D1,IM,2024-01-01T00:00:00Z,,true,true,false,green,false,false,10\n\
         D9,IM,2024-01-01T00:00:00Z,,true,true,false,,false,false,10\n\
         D10,IM,2024-12-31T23:00:00-02:00,,true,true,false,green,false,false,1e3\n"
    );
    let outcome = read("declarations", &csv, 1.0);
    let expected = [
        (2, "flow", "enum"),
        // An unreadable value is reported once, as `type`, not also as `required`.
        (3, "lodged_at", "type"),
        (4, "released_at", "not_before"),
        (5, "electronic", "type"),
        (6, "customs_value", "min"),
        (7, "lodged_at", "year"),
        (8, "declaration_id", "key"),
        (9, "channel", "required"),
        (10, "lodged_at", "year"),
    ];
    let got = places(&outcome);
    for (row, column, rule) in expected {
        assert!(
            got.contains(&(Some(row), Some(column.to_string()), rule.to_string())),
            "record {row} {column} {rule} missing from {got:?}"
        );
    }
    assert_eq!(got.len(), expected.len(), "{got:?}");
    assert_eq!(outcome.rows_read, 10);
    assert_eq!(outcome.rows_invalid, 9);
    assert!(
        outcome.accepted,
        "max_invalid_row_fraction 1.0 keeps the dataset"
    );
    let rows: usize = outcome.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1, "only D1 is valid");
    let message = &outcome
        .issues
        .iter()
        .find(|i| i.rule == "type" && i.row == Some(3))
        .unwrap()
        .message;
    assert_eq!(
        message,
        "\"31/02/2024\" is not an ISO 8601 timestamp such as 2024-03-01T10:15:00Z"
    );
    let key = outcome.issues.iter().find(|i| i.rule == "key").unwrap();
    assert_eq!(
        key.message,
        "repeats the key \"D1\" of record 1; keys must be unique in a file"
    );
}

#[test]
fn values_convert_to_contract_types() {
    let csv = format!(
        "\u{feff}{DECL}D1,IM,2024-03-01T10:15:00+02:00,2024-03-01T10:15:00,1,0,true,red,false,false,12.5\n"
    );
    let outcome = read("declarations", &csv, 0.0);
    assert!(outcome.issues.is_empty(), "{:?}", outcome.issues);
    let batch = &outcome.batches[0];
    let lodged = batch
        .column_by_name("lodged_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    let released = batch
        .column_by_name("released_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    // 10:15+02:00 is 08:15 UTC; a timestamp without offset is UTC.
    assert_eq!(released.value(0) - lodged.value(0), 2 * 3_600_000_000);
    let value = batch
        .column_by_name("customs_value")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(value.value(0), 12.5);
    assert_eq!(
        batch
            .column_by_name("member")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "XA"
    );
    assert!(
        batch.column_by_name("duty_assessed").unwrap().is_null(0),
        "an absent optional column is null"
    );
}

#[test]
fn date_rules_of_audits_and_revenue() {
    let audits = "audit_id,opened_on,closed_on,irregularity,additional_revenue\n\
                  A1,2025-01-01,,,\n\
                  A2,2024-01-01,2025-01-01,true,\n\
                  A3,2024-05-01,2024-04-01,true,\n\
                  A4,2024-05-01,2024-06-01,,\n\
                  A5,2023-05-01,2024-06-01,false,5\n";
    let outcome = read("audits", audits, 1.0);
    let got = places(&outcome);
    for (row, column, rule) in [
        (1, "opened_on", "not_after_year_end"),
        (2, "closed_on", "within_year"),
        (3, "closed_on", "not_before"),
        (4, "irregularity", "required_with"),
    ] {
        assert!(
            got.contains(&(Some(row), Some(column.into()), rule.into())),
            "{row} {rule}: {got:?}"
        );
    }
    assert_eq!(outcome.rows_invalid, 4);

    let revenue = "month,revenue_type,assessed,collected,arrears_end\n\
                   2024-01-01,vat,1,1,\n\
                   2024-01-15,vat,1,1,\n\
                   2024-01-01,vat,1,1,\n\
                   2023-12-01,excise,1,1,\n";
    let outcome = read("revenue", revenue, 1.0);
    let got = places(&outcome);
    assert!(
        got.contains(&(Some(2), Some("month".into()), "first_of_month".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&(Some(3), Some("month, revenue_type".into()), "key".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&(Some(4), Some("month".into()), "year".into())),
        "{got:?}"
    );
}

#[test]
fn staff_numbers_are_checked_against_each_other() {
    let staff = "unit,headcount,female_headcount,training_hours,integrity_cases,budget\n\
                 U1,10,11,1,0,\n\
                 U2,10.5,1,1,0,\n\
                 U3,10,1,NaN,0,\n";
    let outcome = read("staff", staff, 1.0);
    let got = places(&outcome);
    assert!(
        got.contains(&(Some(1), Some("female_headcount".into()), "not_after".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&(Some(2), Some("headcount".into()), "type".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&(Some(3), Some("training_hours".into()), "type".into())),
        "{got:?}"
    );
}

#[test]
fn too_many_invalid_rows_reject_the_dataset() {
    let mut csv = DECL.to_string();
    for i in 0..19 {
        csv.push_str(&format!(
            "D{i},IM,2024-01-01T00:00:00Z,,true,true,false,green,false,false,1\n"
        ));
    }
    csv.push_str("D99,IM,2024-01-01T00:00:00Z,,true,true,false,purple,false,false,1\n");
    // 1 of 20 = 5%: at the limit, kept.
    let outcome = read("declarations", &csv, 0.05);
    assert!(outcome.accepted);
    csv.push_str("D98,IM,2024-01-01T00:00:00Z,,true,true,false,purple,false,false,1\n");
    // 2 of 21 > 5%: rejected, and no rows are handed out.
    let outcome = read("declarations", &csv, 0.05);
    assert!(!outcome.accepted);
    assert!(outcome.batches.is_empty());
    let reject = outcome
        .issues
        .iter()
        .find(|i| i.rule == "max_invalid_row_fraction")
        .unwrap();
    assert_eq!(reject.row, None);
    assert!(
        reject
            .message
            .starts_with("2 of 21 records (9.5%) are invalid"),
        "{}",
        reject.message
    );
}

#[test]
fn issues_are_bounded_per_rule_with_an_exact_count() {
    let mut csv = DECL.to_string();
    for i in 0..250 {
        csv.push_str(&format!(
            "D{i},IM,2024-01-01T00:00:00Z,,maybe,true,false,green,false,false,-1\n"
        ));
    }
    let outcome = read("declarations", &csv, 1.0);
    for rule in ["type", "min"] {
        let listed = outcome
            .issues
            .iter()
            .filter(|i| i.rule == rule && i.row.is_some())
            .count() as u64;
        assert_eq!(listed, MAX_LISTED_ROWS_PER_RULE);
        let summary: Vec<_> = outcome
            .issues
            .iter()
            .filter(|i| i.rule == rule && i.row.is_none())
            .collect();
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].count, 150);
        let total: u64 = outcome
            .issues
            .iter()
            .filter(|i| i.rule == rule)
            .map(|i| i.count)
            .sum();
        assert_eq!(total, 250, "counts are exact");
    }
    assert_eq!(outcome.rows_invalid, 250);
}

#[test]
fn file_level_problems_reject_with_a_clear_issue() {
    let missing = read("declarations", "declaration_id,flow\nD1,IM\n", 1.0);
    assert!(!missing.accepted);
    let issue = missing
        .issues
        .iter()
        .find(|i| i.rule == "missing_column")
        .unwrap();
    assert_eq!(issue.column.as_deref(), Some("lodged_at"));
    assert!(
        issue
            .message
            .contains("(the file has: \"declaration_id\", \"flow\")"),
        "{}",
        issue.message
    );

    let empty = read("declarations", "", 1.0);
    assert_eq!(empty.issues[0].rule, "missing_header");
    assert!(!empty.accepted);

    let ragged = read("declarations", &format!("{DECL}D1,IM\n"), 1.0);
    assert!(!ragged.accepted);
    assert_eq!(ragged.issues[0].rule, "unreadable");

    let extra = read(
        "staff",
        "unit,headcount,female_headcount,training_hours,integrity_cases,notes\nU1,1,0,0,0,x\n",
        0.0,
    );
    assert!(extra.accepted);
    let warning = &extra.issues[0];
    assert_eq!(
        (warning.rule.as_str(), warning.severity),
        ("extra_column", Severity::Warning)
    );
    assert_eq!(warning.column.as_deref(), Some("notes"));
}

/// Regression: 300,000 stray files in one folder gave 300,000 warnings (a 99 MB issues
/// table). Discovery lists the first 100 of a rule per folder and counts the rest in one row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_files_are_capped_per_folder_with_an_exact_count() {
    let dir = tempfile::tempdir().unwrap();
    let year = dir.path().join("member=XA/year=2024");
    std::fs::create_dir_all(&year).unwrap();
    std::fs::write(year.join("staff.csv"), "unit\n").unwrap();
    for i in 0..1_234 {
        std::fs::write(year.join(format!("junk{i}.txt")), "").unwrap();
    }
    for i in 0..3 {
        std::fs::write(dir.path().join(format!("top{i}.txt")), "").unwrap();
    }
    let location = pmm_catalog::StoreLocation::Local(dir.path().to_path_buf());
    let root = pmm_store::open_store(&location, false, &Default::default()).unwrap();
    let registry = pmm_catalog::MembersRegistry::parse(
        Path::new("members.yaml"),
        "members:\n  - {code: XA, name: Example, region: wca, income_group: high}\n",
    )
    .unwrap();
    let found = crate::discover(&root, &registry, &catalog(), &[2024], 2024)
        .await
        .unwrap();
    let junk: Vec<_> = found
        .issues
        .iter()
        .filter(|i| i.member == "XA" && i.rule == crate::Rule::UnknownFile)
        .collect();
    assert_eq!(junk.len() as u64, MAX_LISTED_ROWS_PER_RULE + 1, "{junk:?}");
    let summary = junk.iter().find(|i| i.count > 1).expect("a summary row");
    assert_eq!(summary.count, 1_234 - MAX_LISTED_ROWS_PER_RULE);
    assert_eq!(summary.file.as_deref(), Some("member=XA/year=2024/"));
    assert!(
        summary.message.contains("1134 more entries"),
        "{}",
        summary.message
    );
    assert_eq!(junk.iter().map(|i| i.count).sum::<u64>(), 1_234);
    // Under the cap, each entry is its own row; the data file is still found.
    let top: Vec<_> = found
        .issues
        .iter()
        .filter(|i| i.member.is_empty())
        .collect();
    assert_eq!(top.len(), 3, "{top:?}");
    assert_eq!(found.submissions.len(), 1);
}

/// Batches of the staff contract's text columns: `rows` records numbered from `from`.
fn staff_batch(from: usize, rows: usize) -> RecordBatch {
    use datafusion::arrow::array::{ArrayRef, StringArray};
    let catalog = catalog();
    let contract = catalog.dataset("staff").expect("a shipped dataset");
    let columns: Vec<(String, ArrayRef)> = contract
        .columns
        .iter()
        .map(|c| {
            let values: Vec<String> = (from..from + rows)
                .map(|i| match c.name.as_str() {
                    "staff_id" => format!("S{i}"),
                    _ => "x".to_string(),
                })
                .collect();
            (
                c.name.clone(),
                std::sync::Arc::new(StringArray::from(values)) as ArrayRef,
            )
        })
        .collect();
    RecordBatch::try_from_iter(columns).expect("a batch")
}

/// A validator of the staff contract that has seen a header of its columns.
fn staff_validator<'a>(
    catalog: &'a Catalog,
    rows: &'a mut Vec<RecordBatch>,
) -> DatasetValidator<'a> {
    let contract = catalog.dataset("staff").expect("a shipped dataset");
    let names: Vec<String> = contract.columns.iter().map(|c| c.name.clone()).collect();
    let mut validator = DatasetValidator::new(contract, "XA", 2024, "staff.csv", rows);
    assert!(validator.check_columns(&names));
    validator
}

#[test]
fn decoding_ahead_stops_when_the_reader_fails_and_numbers_records_in_order() {
    use datafusion::arrow::error::ArrowError;
    let catalog = catalog();
    let mut rows = Vec::new();
    let mut validator = staff_validator(&catalog, &mut rows);
    // Three batches, a failure, then batches without end: the validator stops at the
    // failure, and so must the decoding thread, or `feed` would never return.
    let produced = std::sync::atomic::AtomicUsize::new(0);
    let batches = (0..).map(|i| {
        produced.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if i == 3 {
            Err(ArrowError::CsvError("a broken record".into()))
        } else {
            Ok(staff_batch(i * 10 % 30, 10))
        }
    });
    crate::csv::feed(batches, &mut validator, |e| e.to_string()).expect("no internal error");
    let outcome = validator.finish(1.0);
    assert!(!outcome.accepted);
    assert_eq!(outcome.rows_read, 30);
    let messages: Vec<&str> = outcome
        .issues
        .iter()
        .filter(|i| i.row.is_none())
        .map(|i| i.message.as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("cannot be read past record 30: Csv error: a broken record")),
        "{messages:?}"
    );
    // The decoding thread is at most a batch or two ahead when it is told to stop.
    let produced = produced.load(std::sync::atomic::Ordering::Relaxed);
    assert!((4..=7).contains(&produced), "{produced} batches decoded");
}

#[test]
fn a_panic_while_decoding_is_the_reading_threads() {
    let catalog = catalog();
    let mut rows = Vec::new();
    let mut validator = staff_validator(&catalog, &mut rows);
    let batches = (0..3).map(|i| {
        assert!(i < 2, "a decoder bug");
        Ok(staff_batch(i * 10, 10))
    });
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::csv::feed(batches, &mut validator, |e| e.to_string())
    }));
    assert!(caught.is_err(), "the panic reaches the caller");
}
