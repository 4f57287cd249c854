//! End-to-end runs over synthesized submissions with injected faults, read back from the
//! published Arrow files.

// A failing test should panic with the value it got: unwrap and expect are how it says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod corpus;
mod disclosure;
mod end_to_end;
mod errors;
mod history;
mod metrics;
mod staging;

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::ipc::reader::FileReader;

/// One cell of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A null.
    Null,
    /// Utf8.
    Text(String),
    /// Int64.
    Int(i64),
    /// Float64 (never NaN: reading checks).
    Float(f64),
    /// Boolean.
    Bool(bool),
}

impl Cell {
    /// The text, or a panic.
    pub fn text(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            other => panic!("not text: {other:?}"),
        }
    }

    /// The float (None for null), or a panic.
    pub fn float(&self) -> Option<f64> {
        match self {
            Cell::Float(f) => Some(*f),
            Cell::Null => None,
            other => panic!("not a float: {other:?}"),
        }
    }

    /// The integer (None for null), or a panic.
    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Null => None,
            other => panic!("not an int: {other:?}"),
        }
    }
}

/// A result row by column name.
pub type Row = BTreeMap<String, Cell>;

/// The demo pipeline (`pipelines/demo.yaml`, changed by `adjust`) run into a temporary
/// results folder: the folder (kept alive by the caller) and the run's own folder in it.
pub async fn run_demo(
    adjust: impl FnOnce(&mut pmm_catalog::Pipeline),
) -> (tempfile::TempDir, std::path::PathBuf) {
    let results = tempfile::tempdir().unwrap();
    let mut pipeline = pmm_catalog::Pipeline::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/demo.yaml"),
    )
    .unwrap();
    adjust(&mut pipeline);
    let options = pmm_run::RunOptions {
        results: Some(pmm_catalog::StoreLocation::Local(
            results.path().to_path_buf(),
        )),
        ..pmm_run::RunOptions::default()
    };
    let summary = pmm_run::run_pipeline(&pipeline, &options, &pmm_run::NoProgress)
        .await
        .unwrap();
    let run = results.path().join("runs").join(&summary.run_id);
    (results, run)
}

/// Every result table of the run itself in a run folder, by path relative to it, rows without
/// `run_id`. The history across cycles is left out: it holds what earlier runs at the same
/// results location published (its own tests, `history.rs`, check it against these tables).
pub fn run_tables(run: &Path) -> BTreeMap<String, Vec<Row>> {
    let mut tables = BTreeMap::new();
    for audience in ["secretariat", "wco", "public"] {
        let Ok(entries) = std::fs::read_dir(run.join(audience)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name() == "indicator_history.arrow" {
                continue;
            }
            let (_, mut rows) = read_table(&entry.path());
            for row in &mut rows {
                row.remove("run_id");
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            tables.insert(format!("{audience}/{name}"), rows);
        }
    }
    assert!(
        tables.len() >= 13,
        "every table of every audience: {tables:?}"
    );
    tables
}

/// Reads an Arrow IPC file into rows, checking the column types as it goes.
pub fn read_table(path: &Path) -> (Vec<(String, DataType)>, Vec<Row>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = FileReader::try_new(file, None).unwrap();
    let schema: Vec<(String, DataType)> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let mut rows = Vec::new();
    for batch in &batches {
        for i in 0..batch.num_rows() {
            let mut row = Row::new();
            for (f, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let cell = if column.is_null(i) {
                    Cell::Null
                } else {
                    match column.data_type() {
                        DataType::Utf8 => {
                            Cell::Text(column.as_string::<i32>().value(i).to_string())
                        }
                        DataType::Int64 => Cell::Int(column.as_primitive::<Int64Type>().value(i)),
                        DataType::Float64 => {
                            let v = column.as_primitive::<Float64Type>().value(i);
                            assert!(v.is_finite(), "{}: a measure is NaN or infinite", f.name());
                            Cell::Float(v)
                        }
                        DataType::Boolean => Cell::Bool(column.as_boolean().value(i)),
                        other => panic!("unexpected column type {other}"),
                    }
                };
                row.insert(f.name().clone(), cell);
            }
            rows.push(row);
        }
    }
    (schema, rows)
}

/// Compares every table of a run folder with golden copies in `tests/golden/<name>/`, one
/// JSON object a row, as the demo's are (`pmm-cli`'s golden test): measures to 1e-12
/// relative, everything else exactly. `PMM_BLESS=1` rewrites them from the run. Tables named
/// in `skip` are not compared (the caller says why).
pub fn assert_golden(run: &Path, name: &str, skip: &[&str]) {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden")
        .join(name);
    let bless = std::env::var_os("PMM_BLESS").is_some();
    for (table, rows) in run_tables(run) {
        if skip.contains(&table.as_str()) {
            continue;
        }
        let path = golden.join(table.replace(".arrow", ".jsonl"));
        let got: Vec<serde_json::Value> = rows.iter().map(json_row).collect();
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let text: String = got.iter().map(|r| format!("{r}\n")).collect();
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let expected: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (PMM_BLESS=1 writes it)", path.display()))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(expected.len(), got.len(), "{table}: row count");
        for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
            assert!(
                same_json(e, g),
                "{table} row {i}:\nexpected {e}\n     got {g}"
            );
        }
    }
}

fn json_row(row: &Row) -> serde_json::Value {
    let cells = row.iter().map(|(k, cell)| {
        let value = match cell {
            Cell::Null => serde_json::Value::Null,
            Cell::Text(s) => serde_json::Value::from(s.as_str()),
            Cell::Int(i) => serde_json::Value::from(*i),
            Cell::Float(f) => serde_json::Value::from(*f),
            Cell::Bool(b) => serde_json::Value::from(*b),
        };
        (k.clone(), value)
    });
    serde_json::Value::Object(cells.collect())
}

fn same_json(expected: &serde_json::Value, got: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (expected, got) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) if a.fract() != 0.0 || b.fract() != 0.0 => {
                (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
            }
            _ => a == b,
        },
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => expected == got,
    }
}
