//! The report's closing sections: the disclosure preview (who sees what) and the validation
//! issues of each dataset.

use std::collections::BTreeMap;

use pmm_catalog::Disclosure;
use pmm_results::VALIDATION_ISSUES;
use pmm_results::column as c;

use super::{DisclosureRow, IssueView, name};
use crate::{ReportError, ReportInput};
use pmm_results::Cells;

/// Every score and KPI of the member with its disclosure level, in the catalog's order:
/// overall, then each dimension followed by its outcomes, each followed by its KPIs.
pub(super) fn disclosure_rows(
    input: &ReportInput<'_>,
    values: &Cells<'_>,
    outcomes: &Cells<'_>,
    dimensions: &Cells<'_>,
) -> Result<Vec<DisclosureRow>, ReportError> {
    let lang = input.lang;
    let catalog = input.catalog;
    let levels = |table: &Cells<'_>, key: &str| -> Result<BTreeMap<String, String>, ReportError> {
        table
            .rows
            .iter()
            .map(|&row| {
                Ok((
                    table.required(key, row)?.to_string(),
                    table.required(c::DISCLOSURE, row)?.to_string(),
                ))
            })
            .collect()
    };
    let dimension_levels = levels(dimensions, "dimension")?;
    let outcome_levels = levels(outcomes, "outcome")?;
    let kpi_levels = levels(values, "indicator")?;
    let mut rows = Vec::new();
    let mut push = |kind: &'static str, id: &str, name: String, level: Option<&String>| {
        let Some(level) = level else {
            return;
        };
        let disclosure = match level.as_str() {
            "public" => Disclosure::Public,
            "wco" => Disclosure::Wco,
            _ => Disclosure::Secretariat,
        };
        rows.push(DisclosureRow {
            kind,
            id: id.to_string(),
            name,
            level: level.clone(),
            wco: Disclosure::Wco.may_see(disclosure),
            public: Disclosure::Public.may_see(disclosure),
        });
    };
    push(
        "dimension",
        pmm_results::OVERALL,
        lang.texts().overall.to_string(),
        dimension_levels.get(pmm_results::OVERALL),
    );
    for dimension in &catalog.dimensions {
        push(
            "dimension",
            &dimension.id,
            name(lang, &dimension.name, &dimension.name_fr),
            dimension_levels.get(&dimension.id),
        );
        for outcome in catalog
            .outcomes
            .iter()
            .filter(|o| o.dimension == dimension.id)
        {
            push(
                "outcome",
                &outcome.id,
                name(lang, &outcome.name, &outcome.name_fr),
                outcome_levels.get(&outcome.id),
            );
            for indicator in catalog
                .indicators
                .iter()
                .filter(|i| i.outcome == outcome.id)
            {
                push(
                    "kpi",
                    &indicator.id,
                    name(lang, &indicator.name, &indicator.name_fr),
                    kpi_levels.get(&indicator.id),
                );
            }
        }
    }
    Ok(rows)
}

pub(super) fn issue_views(
    batch: &arrow_array::RecordBatch,
    member: &str,
) -> Result<Vec<IssueView>, ReportError> {
    let table = Cells::of_member(batch, VALIDATION_ISSUES.name, member)?;
    table
        .rows
        .iter()
        .map(|&row| {
            Ok(IssueView {
                year: table.int(c::YEAR, row)?,
                dataset: table.text(c::DATASET, row)?.map(str::to_string),
                file: table.text(c::FILE, row)?.map(str::to_string),
                record: table.int(c::ROW, row)?,
                column: table.text(c::COLUMN, row)?.map(str::to_string),
                rule: table.required(c::RULE, row)?.to_string(),
                severity: table.required(c::SEVERITY, row)?.to_string(),
                message: table.required(c::MESSAGE, row)?.to_string(),
                count: table.int(c::COUNT, row)?.unwrap_or(1),
            })
        })
        .collect()
}
