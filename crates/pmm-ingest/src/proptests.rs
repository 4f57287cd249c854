//! Property tests of the readers: arbitrary bytes and arbitrary-but-plausible rows never make
//! CSV or JSON-lines reading panic, every rejected file has an error issue, and the counts add
//! up. `PROPTEST_CASES` sets how many inputs each property tries (CI: the default 256;
//! `bench/fuzz.sh`: many more).

use std::path::Path;

use pmm_catalog::{Catalog, Limits};
use proptest::prelude::*;

use crate::jsonl::read_jsonl;
use crate::validate::DatasetValidator;
use crate::{DatasetOutcome, Severity, read_csv};

pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
            .expect("the shipped catalog loads")
    })
}

/// Small limits, so that arbitrary input reaches them too.
pub(crate) fn limits() -> Limits {
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
        prop_assert!(
            !issue.message.chars().any(crate::text::is_escaped),
            "{issue:?}"
        );
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

/// A CSV field as an exporter might write it: plain, properly quoted (with doubled quotes, a
/// comma, a line end inside), or unquoted with a bare quote in the middle, which the parser
/// takes as a literal (the case where the record limiter once disagreed with it).
fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{0,8}",
        "[a-z]{1,4}\"[a-z\" ]{0,6}",
        "[a-z,\r\n\" ]{0,10}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        // Text after a closing quote goes on as an unquoted field (`"ab"cd`).
        "\"[a-z,\n]{0,4}\"[a-z][a-z\"]{0,3}",
    ]
}

/// A line end: LF, CRLF or CR alone, sometimes with blank lines after it.
fn line_end() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("\n"),
        Just("\r\n"),
        Just("\r"),
        Just("\n\n"),
        Just("\r\n\r\n")
    ]
}

/// The records arrow's CSV reader (the parser a run uses) finds in `text`.
fn parsed_csv_records(text: &str, fields: usize) -> usize {
    use datafusion::arrow::csv::ReaderBuilder;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let schema = Schema::new(
        (0..fields)
            .map(|i| Field::new(format!("c{i}"), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    ReaderBuilder::new(std::sync::Arc::new(schema))
        .with_header(true)
        .build(text.as_bytes())
        .expect("a reader")
        .map(|b| b.expect("every generated file parses").num_rows())
        .sum()
}

/// Bytes fed to a limiter in chunks of `chunk` bytes; the error's record, if any.
fn limited(text: &[u8], records: crate::limits::Records, limit: u64, chunk: usize) -> Option<u64> {
    use std::io::Read;
    let limits = Limits {
        max_record_bytes: limit,
        ..Limits::default()
    };
    let mut reader = crate::limits::RecordLimit::new(text, records, &limits);
    let mut buf = vec![0u8; chunk];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                let limit = crate::limits::limit_exceeded(&e).expect("a limit error");
                return Some(limit.record().unwrap_or(0));
            }
        }
    }
}

proptest! {
    /// The record limiter and the CSV parser agree on every record: with the limit one byte
    /// under the longest record's length, the limiter stops at exactly that record as the
    /// parser numbers it, whatever the quotes, line ends and chunk boundaries.
    #[test]
    fn the_csv_limiter_sees_the_parsers_records(
        rows in proptest::collection::vec((proptest::collection::vec(csv_field(), 3), line_end()), 1..30),
        chunk in 1usize..64,
    ) {
        let mut text = String::from("a,b,c\n");
        let mut lengths = Vec::new();
        for (fields, end) in &rows {
            let record = fields.join(",");
            lengths.push(record.len() as u64);
            text.push_str(&record);
            text.push_str(end);
        }
        // An empty record is a blank line, which the parser skips: leave those inputs out.
        prop_assume!(lengths.iter().all(|&l| l > 0));
        prop_assert_eq!(parsed_csv_records(&text, 3), rows.len());
        let longest = *lengths.iter().max().expect("rows");
        // The header (`a,b,c`, 5 bytes) is a record too: a limit under it stops there.
        prop_assert_eq!(
            limited(text.as_bytes(), crate::limits::Records::Csv, longest.max(5), chunk),
            None
        );
        if longest > 5 {
            let first = lengths.iter().position(|&l| l == longest).expect("the longest") as u64 + 1;
            prop_assert_eq!(
                limited(text.as_bytes(), crate::limits::Records::Csv, longest - 1, chunk),
                Some(first)
            );
        }
    }

    /// JSON lines: records are the lines that hold a value, as arrow's JSON reader counts
    /// them; a value that goes on past its line (pretty-printed JSON) is stopped at its
    /// record, where the reader would have taken the lines as one record.
    #[test]
    fn the_json_lines_limiter_sees_the_parsers_records(
        values in proptest::collection::vec(("[a-z{}\\[\\]\", \\\\]{0,12}", any::<bool>(), any::<bool>()), 1..30),
        chunk in 1usize..64,
    ) {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use datafusion::arrow::json::ReaderBuilder;
        let mut text = String::new();
        let mut spans_at = None;
        for (i, (value, blank, pretty)) in values.iter().enumerate() {
            let value = serde_json::to_string(value).expect("a string");
            if *pretty && spans_at.is_none() {
                spans_at = Some(i as u64 + 1);
                text.push_str(&format!("{{\n  \"unit\": {value}\n}}\n"));
            } else {
                text.push_str(&format!("{{\"unit\": {value}}}\n"));
            }
            if *blank {
                text.push('\n');
            }
        }
        let schema = std::sync::Arc::new(Schema::new(vec![Field::new("unit", DataType::Utf8, true)]));
        let parsed: usize = ReaderBuilder::new(schema)
            .build(text.as_bytes())
            .expect("a reader")
            .map(|b| b.expect("every generated file parses").num_rows())
            .sum();
        prop_assert_eq!(parsed, values.len());
        let stopped = limited(text.as_bytes(), crate::limits::Records::Lines, 1 << 20, chunk);
        prop_assert_eq!(stopped, spans_at);
    }
}

/// Every value of a CSV text's records, in order, and each batch's rows, as `batches` give
/// them.
fn csv_values(
    batches: impl Iterator<
        Item = Result<datafusion::arrow::array::RecordBatch, datafusion::arrow::error::ArrowError>,
    >,
) -> Vec<Vec<Vec<Option<String>>>> {
    use datafusion::arrow::array::{Array, AsArray};
    batches
        .map(|b| {
            let b = b.expect("every generated file parses");
            (0..b.num_rows())
                .map(|row| {
                    b.columns()
                        .iter()
                        .map(|c| {
                            let c = c.as_string::<i32>();
                            c.is_valid(row).then(|| c.value(row).to_string())
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

proptest! {
    /// Batches cut by bytes hold the records arrow's own reader finds, in order, and each
    /// batch's records before its last fit the byte budget, whatever the budget, the read
    /// buffer's size, the quotes and the line ends.
    #[test]
    fn csv_batches_cut_by_bytes_hold_the_parsers_records(
        rows in proptest::collection::vec((proptest::collection::vec(csv_field(), 3), line_end()), 1..30),
        budget in 1usize..80,
        buffer in 1usize..64,
    ) {
        use datafusion::arrow::csv::ReaderBuilder;
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let mut text = String::from("a,b,c\n");
        for (fields, end) in &rows {
            text.push_str(&fields.join(","));
            text.push_str(end);
        }
        let schema = std::sync::Arc::new(Schema::new(
            ["a", "b", "c"].map(|n| Field::new(n, DataType::Utf8, true)).to_vec(),
        ));
        let builder = || ReaderBuilder::new(schema.clone()).with_header(true).with_batch_size(7);
        let expected: Vec<_> = csv_values(builder().build(text.as_bytes()).expect("a reader"))
            .into_iter()
            .flatten()
            .collect();
        let input = std::io::BufReader::with_capacity(buffer, text.as_bytes());
        let batches = csv_values(crate::batches::Batches::new(input, builder().build_decoder(), budget));
        for batch in &batches {
            let before_last: usize = batch[..batch.len().saturating_sub(1)]
                .iter()
                .flatten()
                .map(|v| v.as_ref().map_or(0, String::len))
                .sum();
            prop_assert!(before_last <= budget, "{before_last} > {budget}");
        }
        let got: Vec<_> = batches.into_iter().flatten().collect();
        prop_assert_eq!(got, expected);
    }

    /// A key given twice in a JSON-lines object (also when one of them is written with an
    /// escape, as the parser decodes it) stops the read at that record, and only then.
    #[test]
    fn a_json_key_given_twice_is_found_at_its_record(
        lines in proptest::collection::vec(proptest::collection::vec((0usize..4, any::<bool>()), 1..5), 1..20),
        chunk in 1usize..64,
    ) {
        let names = ["unit", "headcount", "b", "é"];
        let escaped = ["u\\u006eit", "head\\u0063ount", "\\u0062", "\\u00e9"];
        let mut text = String::new();
        let mut first = None;
        for (i, keys) in lines.iter().enumerate() {
            let mut seen = std::collections::HashSet::new();
            let fields: Vec<String> = keys
                .iter()
                .map(|&(k, esc)| {
                    if !seen.insert(k) && first.is_none() {
                        first = Some(i as u64 + 1);
                    }
                    // A nested object's keys are its own.
                    format!("\"{}\": {{\"x\": 1, \"x\": [\"{}\"]}}", if esc { escaped[k] } else { names[k] }, names[k])
                })
                .collect();
            text.push_str(&format!("{{{}}}\n", fields.join(", ")));
        }
        let limits = Limits::default();
        let mut reader = crate::limits::RecordLimit::new(text.as_bytes(), crate::limits::Records::Lines, &limits);
        let mut buf = vec![0u8; chunk];
        let stopped = loop {
            use std::io::Read;
            match reader.read(&mut buf) {
                Ok(0) => break None,
                Ok(_) => {}
                Err(e) => {
                    let limit = crate::limits::limit_exceeded(&e).expect("a limit error");
                    prop_assert_eq!(limit.rule(), crate::Rule::DuplicateColumn);
                    break limit.record();
                }
            }
        };
        prop_assert_eq!(stopped, first);
    }
}

/// A batch's outcome and valid rows read with the rules proven over whole batches where the
/// kernels can, and row by row only (`proofs` false).
fn read_both_ways(
    dataset: &str,
    text: &str,
) -> [(
    DatasetOutcome,
    Vec<datafusion::arrow::record_batch::RecordBatch>,
); 2] {
    let contract = catalog().dataset(dataset).expect("a shipped dataset");
    [true, false].map(|proofs| {
        let mut rows = Vec::new();
        let mut validator = DatasetValidator::new(contract, "XA", 2024, "file", &mut rows);
        if !proofs {
            validator = validator.without_proofs();
        }
        read_csv(text.as_bytes(), &mut validator, &limits()).expect("no internal error");
        let outcome = validator.finish(1.0);
        (outcome, rows)
    })
}

/// A date near the edges the audits' rules draw (the year 2024's ends), sometimes empty or
/// not a date.
fn audit_date() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "2023-12-31", "2024-01-01", "2024-03-15", "2024-12-31", "2025-01-01", "2024-06-30",
        ])
        .prop_map(str::to_string),
        1 => Just(String::new()),
        1 => Just("2024-13-01".to_string()),
    ]
}

proptest! {
    /// The batch proofs (least and greatest values, comparison kernels, null counts) stand in
    /// for the row-by-row checks without changing anything: the same issues in the same order,
    /// the same counts and the same valid rows, on rows that break each rule or none.
    #[test]
    fn batch_proofs_change_nothing_on_staff(
        rows in proptest::collection::vec(
            (0u32..1000, -2i32..40, -2i32..40, prop_oneof![Just("-1.5".to_string()), "[0-9]{1,3}\\.[0-9]"], -1i32..5),
            0..60,
        ),
    ) {
        let mut text = "unit,headcount,female_headcount,training_hours,integrity_cases\n".to_string();
        for (unit, headcount, female, hours, cases) in &rows {
            text.push_str(&format!("U{unit},{headcount},{female},{hours},{cases}\n"));
        }
        let [(proven, proven_rows), (by_row, by_row_rows)] = read_both_ways("staff", &text);
        prop_assert_eq!(format!("{:?}", proven), format!("{:?}", by_row));
        prop_assert_eq!(proven_rows, by_row_rows);
    }

    #[test]
    fn batch_proofs_change_nothing_on_audits(
        rows in proptest::collection::vec(
            (audit_date(), audit_date(), proptest::sample::select(vec!["", "true", "false"]), prop_oneof![Just(String::new()), Just("-3".to_string()), "[0-9]{1,4}"]),
            0..60,
        ),
    ) {
        let mut text = "audit_id,opened_on,closed_on,irregularity,additional_revenue\n".to_string();
        for (i, (opened, closed, irregularity, revenue)) in rows.iter().enumerate() {
            text.push_str(&format!("A{i},{opened},{closed},{irregularity},{revenue}\n"));
        }
        let [(proven, proven_rows), (by_row, by_row_rows)] = read_both_ways("audits", &text);
        prop_assert_eq!(format!("{:?}", proven), format!("{:?}", by_row));
        prop_assert_eq!(proven_rows, by_row_rows);
    }
}

/// A CSV file's outcome and valid rows, read with the fast path for plain records and with
/// arrow's decoder alone.
fn read_csv_both_ways(
    bytes: &[u8],
) -> [(
    DatasetOutcome,
    Vec<datafusion::arrow::record_batch::RecordBatch>,
); 2] {
    let contract = catalog().dataset("staff").expect("a shipped dataset");
    [true, false].map(|fast| {
        let mut rows = Vec::new();
        let mut validator = DatasetValidator::new(contract, "XA", 2024, "file", &mut rows);
        let path = if fast {
            crate::csv::CsvPath::Fast
        } else {
            crate::csv::CsvPath::Arrow
        };
        crate::csv::read_csv_with(bytes, &mut validator, &limits(), path)
            .expect("no internal error");
        (validator.finish(0.5), rows)
    })
}

proptest! {
    /// The CSV fast path changes nothing a member sees: the same acceptance, issues (words,
    /// records, columns), counts and valid rows as arrow's decoder alone, on plausible rows
    /// with a column the contract does not know, stray quotes and line ends of every kind.
    #[test]
    fn the_csv_fast_path_changes_nothing_on_staff(
        rows in proptest::collection::vec(
            (proptest::collection::vec(staff_value(), 4..7), proptest::sample::select(vec!["\n", "\n", "\n", "\r\n", "\n\n"])),
            0..40,
        ),
    ) {
        let mut text = "unit,headcount,note,female_headcount,training_hours,integrity_cases\n".to_string();
        for (row, end) in &rows {
            text.push_str(&row.join(","));
            text.push_str(end);
        }
        let [(fast, fast_rows), (arrow, arrow_rows)] = read_csv_both_ways(text.as_bytes());
        prop_assert_eq!(format!("{fast:?}"), format!("{arrow:?}"));
        prop_assert_eq!(fast_rows, arrow_rows);
    }

    #[test]
    fn the_csv_fast_path_changes_nothing_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut file = b"unit,headcount,female_headcount,training_hours,integrity_cases\n".to_vec();
        file.extend_from_slice(&bytes);
        let [(fast, fast_rows), (arrow, arrow_rows)] = read_csv_both_ways(&file);
        prop_assert_eq!(format!("{fast:?}"), format!("{arrow:?}"));
        prop_assert_eq!(fast_rows, arrow_rows);
    }
}
