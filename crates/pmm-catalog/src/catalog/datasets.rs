//! `datasets/<name>.yaml`: one dataset contract per file (columns, types, enum values, key,
//! the year column and the cross-column rules the validator enforces).

use std::path::Path;

use serde::Deserialize;

use super::is_identifier;
use crate::FirstSeen;
use crate::model::{ColumnContract, ColumnRule, ColumnType, DatasetContract};
use crate::problem::Problems;
use crate::yaml::{self, SourceText};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetSpec {
    name: String,
    description: String,
    key: Vec<String>,
    #[serde(default)]
    year_column: Option<String>,
    columns: Vec<ColumnSpec>,
    #[serde(default)]
    review: Option<super::review::DatasetReviewSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnSpec {
    name: String,
    #[serde(rename = "type")]
    column_type: ColumnType,
    #[serde(default)]
    values: Option<Vec<String>>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
    #[serde(default)]
    within_year: bool,
    #[serde(default)]
    not_after_year_end: bool,
    #[serde(default)]
    first_of_month: bool,
    #[serde(default)]
    required_with: Option<String>,
}

pub(super) fn check_dataset(
    path: &Path,
    text: &str,
    problems: &mut Problems,
) -> Option<DatasetContract> {
    let spec: DatasetSpec = match yaml::parse(path, text) {
        Ok(s) => s,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let source = SourceText::new(text);
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if spec.name != stem {
        problems.at(
            path,
            source.key(&["name"]),
            format!(
                "dataset `{}` must be defined in a file named `{}.yaml`",
                spec.name, spec.name
            ),
        );
    }
    if !is_identifier(&spec.name) {
        problems.at(
            path,
            source.key(&["name"]),
            "a dataset name must be lower-case letters, digits and `_`",
        );
    }
    let type_of = |name: &str| {
        spec.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.column_type.clone())
    };
    let mut columns = Vec::new();
    let mut seen = FirstSeen::default();
    for (i, c) in spec.columns.iter().enumerate() {
        let at = source.item("columns", i);
        let mut complain =
            |message: String| problems.at(path, at, format!("column `{}`: {message}", c.name));
        if !is_identifier(&c.name) || c.name == "member" || c.name == "year" {
            complain("a column name must be lower-case letters, digits and `_`, and not `member` or `year` (the engine adds those)".into());
        }
        let reserved = c.name == "member" || c.name == "year";
        let first = seen.insert(&c.name, at.line);
        if let Some(first) = first {
            complain(format!("defined twice (first on line {first})"));
        }
        let column = check_column(c, &spec.columns, &mut complain);
        // The contract keeps one column a name, and never the engine's own, so that the SQL
        // checks can go on over a sound table.
        if first.is_none() && !reserved {
            columns.push(column);
        }
    }
    if spec.key.is_empty() {
        problems.at(
            path,
            source.key(&["key"]),
            "a dataset needs a key: the columns that identify a row",
        );
    }
    for k in &spec.key {
        match spec.columns.iter().find(|c| &c.name == k) {
            None => problems.at(
                path,
                source.key(&["key"]),
                format!("key column `{k}` is not a column of this dataset"),
            ),
            Some(c) if !c.required => problems.at(
                path,
                source.key(&["key"]),
                format!("key column `{k}` must be required"),
            ),
            Some(_) => {}
        }
    }
    if let Some(y) = &spec.year_column {
        match type_of(y) {
            None => problems.at(
                path,
                source.key(&["year_column"]),
                format!("year column `{y}` is not a column of this dataset"),
            ),
            Some(ColumnType::Date | ColumnType::Timestamp) => {}
            Some(t) => problems.at(
                path,
                source.key(&["year_column"]),
                format!("year column `{y}` is a {t} column; it must be a date or a timestamp"),
            ),
        }
    }
    let review = super::review::dataset(spec.review, path, &source, problems);
    Some(DatasetContract {
        name: spec.name,
        description: spec.description,
        key: spec.key,
        year_column: spec.year_column,
        columns,
        review,
    })
}

/// One column's contract: its type, enum values and the rules it may carry, each rule
/// checked against the column's type and the other columns it names.
fn check_column(
    c: &ColumnSpec,
    all: &[ColumnSpec],
    complain: &mut impl FnMut(String),
) -> ColumnContract {
    let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    let type_of = |name: &str| {
        all.iter()
            .find(|c| c.name == name)
            .map(|c| c.column_type.clone())
    };
    match (&c.column_type, &c.values) {
        (ColumnType::Enum, None) => complain("an enum column needs `values`".into()),
        (ColumnType::Enum, Some(v)) if v.is_empty() => {
            complain("an enum column needs at least one value".into())
        }
        (t, Some(_)) if *t != ColumnType::Enum => {
            complain("`values` is only for enum columns".into())
        }
        _ => {}
    }
    let mut rules = Vec::new();
    if let Some(min) = c.min {
        if !matches!(c.column_type, ColumnType::Int | ColumnType::Decimal) {
            complain("`min` is only for int and decimal columns".into());
        }
        rules.push(ColumnRule::Min(min));
    }
    for (other, rule) in [
        (
            &c.not_before,
            c.not_before.clone().map(ColumnRule::NotBefore),
        ),
        (&c.not_after, c.not_after.clone().map(ColumnRule::NotAfter)),
    ] {
        let (Some(other), Some(rule)) = (other, rule) else {
            continue;
        };
        match type_of(other) {
            None => complain(format!(
                "`{}` names column `{other}`, which this dataset does not have",
                rule.id()
            )),
            Some(t) if t != c.column_type && !(is_numeric(&t) && is_numeric(&c.column_type)) => {
                complain(format!(
                    "`{}` compares with `{other}`, a {t} column; both must have the same type",
                    rule.id()
                ))
            }
            Some(_) if !is_ordered(&c.column_type) => complain(format!(
                "`{}` is only for numbers, dates and timestamps",
                rule.id()
            )),
            Some(_) => rules.push(rule),
        }
    }
    for (flag, rule) in [
        (c.within_year, ColumnRule::WithinYear),
        (c.not_after_year_end, ColumnRule::NotAfterYearEnd),
    ] {
        if flag {
            if !matches!(c.column_type, ColumnType::Date | ColumnType::Timestamp) {
                complain(format!(
                    "`{}` is only for date and timestamp columns",
                    rule.id()
                ));
            }
            rules.push(rule);
        }
    }
    if c.first_of_month {
        if c.column_type != ColumnType::Date {
            complain("`first_of_month` is only for date columns".into());
        }
        rules.push(ColumnRule::FirstOfMonth);
    }
    if let Some(other) = &c.required_with {
        if !names.contains(&other.as_str()) {
            complain(format!(
                "`required_with` names column `{other}`, which this dataset does not have"
            ));
        }
        if c.required {
            complain("`required_with` makes no sense on a required column".into());
        }
        rules.push(ColumnRule::RequiredWith(other.clone()));
    }
    ColumnContract {
        name: c.name.clone(),
        column_type: c.column_type.clone(),
        values: c.values.clone().unwrap_or_default(),
        required: c.required,
        rules,
        description: c.description.clone(),
    }
}

fn is_numeric(t: &ColumnType) -> bool {
    matches!(t, ColumnType::Int | ColumnType::Decimal)
}

fn is_ordered(t: &ColumnType) -> bool {
    matches!(
        t,
        ColumnType::Int | ColumnType::Decimal | ColumnType::Date | ColumnType::Timestamp
    )
}
