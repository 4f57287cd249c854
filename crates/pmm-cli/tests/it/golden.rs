//! The demo's result tables against golden copies in `tests/golden/demo/`, one JSON object a
//! row. The golden copies were made by the run that kept every row in memory, before staging;
//! they guard the promise that the results do not depend on how data reaches the engine.
//! Measures are compared to 1e-12 relative (a different summation order may move the last
//! bit); everything else exactly. `PMM_BLESS=1` rewrites them from the current run.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use serde_json::{Map, Value};

use crate::{local_tables, pmm, repo_root, text};

/// The rows of a table as JSON objects.
fn rows(batches: &[RecordBatch]) -> Vec<Value> {
    let mut out = Vec::new();
    for batch in batches {
        for i in 0..batch.num_rows() {
            let mut row = Map::new();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let value = if column.is_null(i) {
                    Value::Null
                } else if let Some(text) = column.as_string_opt::<i32>() {
                    Value::from(text.value(i))
                } else if let Some(ints) = column.as_primitive_opt::<Int64Type>() {
                    Value::from(ints.value(i))
                } else if let Some(floats) = column.as_primitive_opt::<Float64Type>() {
                    Value::from(floats.value(i))
                } else {
                    panic!("{}: unexpected type {}", field.name(), column.data_type())
                };
                row.insert(field.name().clone(), value);
            }
            out.push(Value::Object(row));
        }
    }
    out
}

fn same(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) if a.fract() != 0.0 || b.fract() != 0.0 => {
                (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
            }
            _ => a == b,
        },
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => expected == got,
    }
}

#[test]
fn the_demo_results_match_the_golden_copies() {
    let results = tempfile::tempdir().unwrap();
    let output = pmm(
        &repo_root(),
        &[
            "run",
            "pipelines/demo.yaml",
            "--results",
            results.path().to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let (tables, _) = local_tables(results.path());
    let golden = repo_root().join("tests/golden/demo");
    let bless = std::env::var_os("PMM_BLESS").is_some();
    assert_eq!(tables.len(), 13);
    for (name, batches) in &tables {
        let got = rows(batches);
        let path = golden.join(name.replace(".arrow", ".jsonl"));
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let text: String = got
                .iter()
                .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
                .collect();
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let expected: Vec<Value> = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (PMM_BLESS=1 writes it)", show(&path)))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(expected.len(), got.len(), "{name}: row count");
        for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
            assert!(same(e, g), "{name} row {i}:\nexpected {e}\n     got {g}");
        }
    }
}

fn show(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}
