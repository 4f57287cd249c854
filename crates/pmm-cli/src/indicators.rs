//! `pmm indicators list|show` and `pmm test`.

use std::path::Path;

use pmm_catalog::{Catalog, Indicator};
use pmm_engine::run_fixtures;
use serde_json::{Value, json};

use crate::{EXIT_CONFIG, EXIT_FAILED, Format};

/// Loads the catalog, or prints its problems and gives the exit code to stop with.
fn load(path: &Path) -> Result<Catalog, u8> {
    Catalog::load(path).map_err(|problems| {
        for problem in problems.into_sorted() {
            eprintln!("{problem}");
        }
        eprintln!(
            "the catalog has problems: fix them (`pmm validate` lists them all) and try again"
        );
        EXIT_CONFIG
    })
}

/// `pmm test`.
pub(crate) async fn test(catalog: &Path, filter: Option<&str>) -> anyhow::Result<u8> {
    let catalog = match load(catalog) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let report = run_fixtures(&catalog, filter).await?;
    for failure in &report.failures {
        outln!("FAIL {failure}");
    }
    let passed = report.cases - report.failures.len();
    outln!(
        "{passed} passed, {} failed ({} indicator{})",
        report.failures.len(),
        report.indicators,
        if report.indicators == 1 { "" } else { "s" }
    );
    if report.indicators == 0 {
        eprintln!("no indicator matched");
        return Ok(EXIT_CONFIG);
    }
    Ok(if report.failures.is_empty() {
        0
    } else {
        EXIT_FAILED
    })
}

/// `pmm indicators list`.
pub(crate) fn list(catalog: &Path, format: Format) -> anyhow::Result<u8> {
    let catalog = match load(catalog) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    match format {
        Format::Json => {
            let dimensions: Vec<Value> = catalog
                .dimensions
                .iter()
                .map(|d| {
                    let outcomes: Vec<Value> = catalog
                        .outcomes
                        .iter()
                        .filter(|o| o.dimension == d.id)
                        .map(|o| {
                            let indicators: Vec<Value> =
                                catalog.indicators.iter().filter(|i| i.outcome == o.id).map(summary).collect();
                            json!({"id": o.id, "name": o.name, "weight": o.weight, "indicators": indicators})
                        })
                        .collect();
                    json!({"id": d.id, "name": d.name, "weight": d.weight, "outcomes": outcomes})
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&json!({ "dimensions": dimensions }))?
            );
        }
        Format::Table => {
            let width = catalog
                .indicators
                .iter()
                .map(|i| i.id.len())
                .max()
                .unwrap_or(0);
            for d in &catalog.dimensions {
                outln!("{}  {}", d.id, d.name);
                for o in catalog.outcomes.iter().filter(|o| o.dimension == d.id) {
                    outln!("  {}  {} (weight {})", o.id, o.name, o.weight);
                    for i in catalog.indicators.iter().filter(|i| i.outcome == o.id) {
                        outln!(
                            "    {:width$}  {:12}  {:8}  {:24}  {}",
                            i.id,
                            if i.official {
                                "official"
                            } else {
                                "illustrative"
                            },
                            i.unit.as_str(),
                            scoring_text(i),
                            i.name,
                        );
                    }
                }
            }
            let official = catalog.indicators.iter().filter(|i| i.official).count();
            outln!(
                "\n{} indicators: {official} with an official PMM name, {} illustrative",
                catalog.indicators.len(),
                catalog.indicators.len() - official
            );
        }
    }
    Ok(0)
}

/// `pmm indicators show ID`.
pub(crate) fn show(catalog: &Path, id: &str, format: Format) -> anyhow::Result<u8> {
    let catalog = match load(catalog) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let Some(i) = catalog.indicator(id) else {
        let close: Vec<&str> = catalog
            .indicators
            .iter()
            .map(|i| i.id.as_str())
            .filter(|x| x.contains(id.rsplit('.').next().unwrap_or(id)))
            .collect();
        eprintln!("error: no indicator `{id}` in the catalog");
        if !close.is_empty() {
            eprintln!("did you mean: {}", close.join(", "));
        } else {
            eprintln!("`pmm indicators list` shows every id");
        }
        return Ok(EXIT_CONFIG);
    };
    match format {
        Format::Json => {
            let mut value = summary(i);
            if let Value::Object(map) = &mut value {
                map.insert("description".into(), json!(i.description));
                map.insert("sql".into(), json!(i.sql));
                map.insert("definition_hash".into(), json!(i.definition_hash));
                map.insert("path".into(), json!(i.path.display().to_string()));
                map.insert("tests".into(), serde_json::to_value(&i.tests)?);
            }
            outln!("{}", serde_json::to_string_pretty(&value)?);
        }
        Format::Table => {
            let outcome = catalog.outcome(&i.outcome).map_or("", |o| o.name.as_str());
            let dimension = catalog
                .dimension(&i.dimension)
                .map_or("", |d| d.name.as_str());
            outln!("{}  {}", i.id, i.name);
            outln!(
                "  name:        {}",
                if i.official {
                    "official PMM KPI name"
                } else {
                    "illustrative"
                }
            );
            outln!("  dimension:   {} ({dimension})", i.dimension);
            outln!("  outcome:     {} ({outcome})", i.outcome);
            outln!("  unit:        {}", i.unit.as_str());
            outln!("  direction:   {}", i.direction);
            outln!("  scoring:     {}", scoring_text(i));
            outln!(
                "  disclosure:  {}",
                i.disclosure_default
                    .map_or("pipeline default".to_string(), |d| d.to_string())
            );
            outln!("  datasets:    {}", datasets_text(i));
            outln!("  formula:     {}", i.formula);
            outln!("  description: {}", i.description);
            outln!("  file:        {}", i.path.display());
            outln!("  sql:");
            for line in i.sql.lines() {
                outln!("    {line}");
            }
            outln!("  tests:");
            for t in &i.tests {
                outln!("    - {} (line {})", t.name, t.line);
            }
        }
    }
    Ok(0)
}

fn summary(i: &Indicator) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "official": i.official,
        "dimension": i.dimension,
        "outcome": i.outcome,
        "unit": i.unit.as_str(),
        "direction": i.direction.to_string(),
        "datasets": i.datasets.iter().map(|d| json!({"name": d.name, "years": d.years})).collect::<Vec<_>>(),
        "scoring": i.scoring.map(|s| json!({"floor": s.floor, "target": s.target, "weight": s.weight})),
        "disclosure_default": i.disclosure_default,
        "formula": i.formula,
    })
}

fn scoring_text(i: &Indicator) -> String {
    match i.scoring {
        Some(s) => {
            let weight = if s.weight == 1.0 {
                String::new()
            } else {
                format!(", weight {}", s.weight)
            };
            format!(
                "{} from {} to {}{weight}",
                short_direction(i),
                s.floor,
                s.target
            )
        }
        None => "informational".to_string(),
    }
}

fn short_direction(i: &Indicator) -> &'static str {
    match i.direction {
        pmm_catalog::Direction::HigherIsBetter => "higher:",
        pmm_catalog::Direction::LowerIsBetter => "lower:",
        pmm_catalog::Direction::Informational => "",
    }
}

fn datasets_text(i: &Indicator) -> String {
    i.datasets
        .iter()
        .map(|d| {
            let years: Vec<String> = d.years.iter().map(ToString::to_string).collect();
            format!("{} ({})", d.name, years.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
