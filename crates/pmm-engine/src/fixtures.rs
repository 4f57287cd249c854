//! `pmm test`: every indicator's fixture cases, run through the same path as a scheduled run:
//! the fixture CSV is read, validated and staged as Parquet by ingestion (in memory), the staged
//! files become the engine's tables, the indicator's SQL runs once over all the case's members,
//! and statuses are decided as in a run. Each failure says what was expected and what came out.

use std::fmt;
use std::path::PathBuf;

use pmm_catalog::{Catalog, EngineConfig, Expectation, FixtureCase, Indicator, Status};
use pmm_ingest::{ReadSettings, Severity, memory_staging, stage_text};

use crate::evaluate::{DatasetState, Engine, EvaluationInputs, IndicatorValue};
use crate::{Error, Result};

/// One fixture case that did not give what it expects.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureFailure {
    /// The indicator id.
    pub indicator: String,
    /// Its definition file.
    pub path: PathBuf,
    /// The line of the case in that file.
    pub line: usize,
    /// The case's name.
    pub case: String,
    /// Expected and actual.
    pub message: String,
}

impl fmt::Display for FixtureFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} test `{}`: {}",
            self.path.display(),
            self.line,
            self.indicator,
            self.case,
            self.message
        )
    }
}

/// The outcome of `pmm test`.
#[derive(Debug, Clone, Default)]
pub struct FixtureReport {
    /// Indicators whose cases ran.
    pub indicators: usize,
    /// Cases run.
    pub cases: usize,
    /// Cases that failed.
    pub failures: Vec<FixtureFailure>,
}

/// Runs the fixture cases of every indicator (or of those whose id contains `filter`).
pub async fn run_fixtures(catalog: &Catalog, filter: Option<&str>) -> Result<FixtureReport> {
    let mut report = FixtureReport::default();
    for indicator in catalog
        .indicators
        .iter()
        .filter(|i| filter.is_none_or(|f| i.id.contains(f)))
    {
        report.indicators += 1;
        for case in &indicator.tests {
            report.cases += 1;
            if let Some(message) = run_case(catalog, indicator, case).await? {
                report.failures.push(FixtureFailure {
                    indicator: indicator.id.clone(),
                    path: indicator.path.clone(),
                    line: case.line,
                    case: case.name.clone(),
                    message,
                });
            }
        }
    }
    Ok(report)
}

/// Runs one case; `Some(message)` when it fails.
async fn run_case(
    catalog: &Catalog,
    indicator: &Indicator,
    case: &FixtureCase,
) -> Result<Option<String>> {
    let mut inputs = EvaluationInputs::new(case.year);
    let mut members: Vec<String> = case
        .given
        .keys()
        .chain(case.expect.keys())
        .chain(case.not_applicable.iter())
        .cloned()
        .collect();
    members.sort();
    members.dedup();
    inputs.members = members;
    let staging = memory_staging()?;
    // Every row of a fixture must be valid (an invalid one fails the case): keep them all.
    let settings = ReadSettings {
        max_invalid_row_fraction: 1.0,
        limits: pmm_catalog::Limits::default(),
    };
    for (member, years) in &case.given {
        for (year_ref, data) in years {
            let year = year_ref.resolve(case.year);
            for (dataset, csv) in data {
                let Some(contract) = catalog.dataset(dataset) else {
                    return Ok(Some(format!("dataset `{dataset}` is not in the catalog")));
                };
                let file = format!("{dataset}.csv");
                let staged =
                    stage_text(&staging, contract, member, year, &file, csv, &settings).await?;
                let errors: Vec<String> = staged
                    .outcome
                    .issues
                    .iter()
                    .filter(|i| i.severity == Severity::Error)
                    .map(ToString::to_string)
                    .collect();
                if !errors.is_empty() {
                    return Ok(Some(format!(
                        "the fixture's {dataset} rows for {member} ({year_ref}) are invalid:\n    {}",
                        errors.join("\n    ")
                    )));
                }
                inputs.add_dataset(member, year, dataset, DatasetState::Accepted, staged.files);
            }
        }
    }
    inputs.staging = Some(staging.root.clone());
    for member in &case.not_applicable {
        inputs.declare_not_applicable(member, &indicator.id);
    }
    let engine = Engine::new(catalog, &inputs, &EngineConfig::default())?;
    let values = match engine.evaluate(indicator, &inputs).await {
        Ok(values) => values,
        Err(Error::Indicator { message, .. }) => {
            return Ok(Some(format!("the SQL failed: {message}")));
        }
        Err(e) => return Err(e),
    };
    let mut mismatches = Vec::new();
    for (member, expected) in &case.expect {
        match values.iter().find(|v| &v.member == member) {
            None => mismatches.push(format!("{member}: no result")),
            Some(actual) => {
                if let Some(m) = compare(expected, actual) {
                    mismatches.push(format!("{member}: {m}"));
                }
            }
        }
    }
    Ok((!mismatches.is_empty()).then(|| mismatches.join("; ")))
}

/// Describes how `actual` differs from `expected`, if it does.
fn compare(expected: &Expectation, actual: &IndicatorValue) -> Option<String> {
    let shown = describe(actual);
    if expected.status != actual.status {
        let wanted = match expected.value {
            Some(v) if expected.status == Status::Ok => format!("value {v}"),
            _ => format!("status {}", expected.status),
        };
        return Some(format!("expected {wanted}, got {shown}"));
    }
    for (what, want, got) in [
        ("value", expected.value, actual.value),
        ("numerator", expected.numerator, actual.numerator),
        ("denominator", expected.denominator, actual.denominator),
    ] {
        let Some(want) = want else { continue };
        let close =
            got.is_some_and(|g| (g - want).abs() <= expected.tolerance * want.abs().max(1.0));
        if !close {
            let got = got.map_or("null".to_string(), |g| g.to_string());
            return Some(format!("expected {what} {want}, got {got} ({shown})"));
        }
    }
    None
}

fn describe(v: &IndicatorValue) -> String {
    let mut s = format!("status {}", v.status);
    for (what, x) in [
        ("value", v.value),
        ("numerator", v.numerator),
        ("denominator", v.denominator),
    ] {
        if let Some(x) = x {
            s.push_str(&format!(", {what} {x}"));
        }
    }
    s
}
