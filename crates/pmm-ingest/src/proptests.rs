//! Property tests of the readers: arbitrary bytes and arbitrary-but-plausible rows never make
//! CSV or JSON-lines reading panic, every rejected file has an error issue, and the counts add
//! up. `PROPTEST_CASES` sets how many inputs each property tries (CI: the default 256;
//! `bench/fuzz.sh`: many more).

use std::path::Path;

use pmm_catalog::{Catalog, Limits};
use proptest::prelude::*;

use crate::jsonl::read_jsonl;
use crate::{DatasetOutcome, DatasetValidator, Severity, read_csv};

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
            .expect("the shipped catalog loads")
    })
}

/// Small limits, so that arbitrary input reaches them too.
fn limits() -> Limits {
    Limits {
        max_record_bytes: 512,
        max_columns: 20,
        ..Limits::default()
    }
}

fn read(dataset: &str, jsonl: bool, bytes: &[u8]) -> DatasetOutcome {
    let contract = catalog().dataset(dataset).expect("a shipped dataset");
    let mut rows = Vec::new();
    let mut validator = DatasetValidator::new(contract, "XA", 2024, "file", &mut rows);
    if jsonl {
        read_jsonl(bytes, &mut validator, &limits()).expect("no internal error");
    } else {
        read_csv(bytes, &mut validator, &limits()).expect("no internal error");
    }
    validator.finish(0.5)
}

/// What every outcome must satisfy, whatever the input.
fn well_formed(outcome: &DatasetOutcome) -> Result<(), TestCaseError> {
    let errors = outcome
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    prop_assert!(
        outcome.accepted || errors > 0,
        "a rejected file without an error issue: {:?}",
        outcome.issues
    );
    prop_assert!(outcome.rows_invalid <= outcome.rows_read);
    if outcome.rows_invalid > 0 {
        prop_assert!(errors > 0, "invalid rows without an issue");
    }
    for issue in &outcome.issues {
        prop_assert!(!issue.message.chars().any(char::is_control), "{issue:?}");
        if let Some(column) = &issue.column {
            prop_assert!(column.chars().count() <= 121, "{issue:?}");
        }
    }
    Ok(())
}

/// A plausible staff value: mostly well formed, sometimes not.
fn staff_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,4}",
        "-?[0-9]{1,3}\\.[0-9]{1,2}",
        "U[0-9]{1,3}",
        Just(String::new()),
        "[ -~]{0,12}",
        "\"[a-z,\n]{0,6}\"",
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_as_csv(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        well_formed(&read("staff", false, &bytes))?;
    }

    #[test]
    fn arbitrary_bytes_after_a_good_header(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut file = b"unit,headcount,female_headcount,training_hours,integrity_cases\n".to_vec();
        file.extend_from_slice(&bytes);
        well_formed(&read("staff", false, &file))?;
    }

    #[test]
    fn arbitrary_bytes_as_json_lines(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        well_formed(&read("staff", true, &bytes))?;
    }

    #[test]
    fn plausible_csv_rows(rows in proptest::collection::vec(proptest::collection::vec(staff_value(), 5), 0..40)) {
        let mut text = "unit,headcount,female_headcount,training_hours,integrity_cases\n".to_string();
        for row in &rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        let outcome = read("staff", false, text.as_bytes());
        well_formed(&outcome)?;
    }

    #[test]
    fn plausible_json_lines(rows in proptest::collection::vec(proptest::collection::vec(staff_value(), 5), 0..40)) {
        let names = ["unit", "headcount", "female_headcount", "training_hours", "integrity_cases"];
        let mut text = String::new();
        for row in &rows {
            let fields: Vec<String> = names
                .iter()
                .zip(row)
                .map(|(n, v)| match v.parse::<f64>() {
                    Ok(x) if x.is_finite() && !v.starts_with('.') => format!("\"{n}\": {v}"),
                    _ => format!("\"{n}\": {}", serde_json::Value::String(v.clone())),
                })
                .collect();
            text.push_str(&format!("{{{}}}\n", fields.join(", ")));
        }
        let outcome = read("staff", true, text.as_bytes());
        well_formed(&outcome)?;
        if outcome.accepted {
            prop_assert_eq!(outcome.rows_read, rows.len() as u64);
        }
    }
}
