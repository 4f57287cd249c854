//! Checks of indicator SQL without data: it parses, only reads its declared datasets, plans
//! against the dataset schemas (empty tables), and returns the columns an indicator must.

use datafusion::prelude::SessionContext;
use pmm_catalog::{Catalog, EngineConfig, Indicator, Location, Problem, Problems};

use crate::Result;
use crate::evaluate::{Engine, EvaluationInputs, allowed_tables, check_output};
use crate::guard::{check_read_only, read_only, sql_position, tidy};

/// Checks the SQL of every indicator whose datasets exist in the catalog, and returns every
/// problem with its place in the indicator's file.
pub async fn check_catalog_sql(catalog: &Catalog) -> Result<Problems> {
    let engine = Engine::new(catalog, &EvaluationInputs::new(0), &EngineConfig::default())?;
    let session = engine.context().await?;
    let mut problems = Problems::new();
    for indicator in &catalog.indicators {
        if indicator
            .datasets
            .iter()
            .any(|d| catalog.dataset(&d.name).is_none())
        {
            continue; // the dangling dataset is reported by the catalog check
        }
        if indicator.sql.trim().is_empty() {
            continue; // so is an empty SQL
        }
        if let Some(problem) = check_indicator_sql(&session, indicator).await {
            problems.push(problem);
        }
    }
    Ok(problems)
}

async fn check_indicator_sql(session: &SessionContext, indicator: &Indicator) -> Option<Problem> {
    let at = |position: Option<(usize, usize)>| {
        let (first_line, indent) = indicator.sql_origin;
        match position {
            Some((line, column)) => Location::new(first_line + line - 1, indent + column),
            None => Location::new(first_line, indent + 1),
        }
    };
    let problem = |position, message: String| {
        Some(Problem::new(
            &indicator.path,
            at(position),
            format!("sql: {message}"),
        ))
    };
    if let Err(refusal) = check_read_only(&indicator.sql, &allowed_tables(indicator)) {
        return problem(refusal.position, refusal.message);
    }
    let frame = match session.sql_with_options(&indicator.sql, read_only()).await {
        Ok(frame) => frame,
        Err(e) => {
            let message = e.to_string();
            return problem(
                sql_position(&message),
                format!("does not plan: {}", tidy(&message)),
            );
        }
    };
    match check_output(frame.schema().as_arrow()) {
        Ok(()) => None,
        Err(message) => problem(None, message),
    }
}
