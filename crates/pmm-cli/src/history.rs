//! `pmm history`: the history across cycles of a results location, as one audience sees it.

use std::collections::BTreeMap;

use pmm_catalog::{Disclosure, Status};
use pmm_results::{Change, HistoryRow};

use crate::{Audience, EXIT_CONFIG, EXIT_FAILED};

/// What `pmm history` was given.
#[derive(Debug, clap::Args)]
pub(crate) struct HistoryArgs {
    /// Where the runs are published (a folder or a store URL).
    #[arg(long, value_name = "URL")]
    results: String,
    /// Only this member.
    #[arg(long, value_name = "CODE")]
    member: Option<String>,
    /// Only this KPI (its id, such as tfec.release_time).
    #[arg(long, value_name = "ID")]
    indicator: Option<String>,
    /// Whose view of the history to show.
    #[arg(long, value_enum, default_value_t = Audience::Secretariat)]
    audience: Audience,
    /// Every version of every value, with why it changed, instead of the series.
    #[arg(long)]
    revisions: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    format: HistoryFormat,
}

/// How the history is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum HistoryFormat {
    /// Aligned text for people.
    Text,
    /// The table's rows as a JSON array.
    Json,
    /// The table's rows as CSV.
    Csv,
}

/// `pmm history`; returns the exit code.
pub(crate) async fn run(args: HistoryArgs) -> anyhow::Result<u8> {
    let audience: Disclosure = args.audience.into();
    let root = match crate::results_root(&args.results) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_CONFIG);
        }
    };
    let rows = match pmm_run::published_history(&root, audience).await {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_FAILED);
        }
    };
    let mut rows: Vec<HistoryRow> = rows
        .into_iter()
        .filter(|r| args.member.as_deref().is_none_or(|m| r.member == m))
        .filter(|r| args.indicator.as_deref().is_none_or(|i| r.indicator == i))
        .filter(|r| args.revisions || args.format != HistoryFormat::Text || r.is_current())
        .collect();
    pmm_results::history::in_series_order(&mut rows);
    match args.format {
        HistoryFormat::Json | HistoryFormat::Csv => {
            // The table's rows as arrow's own writers give them.
            let batch = pmm_results::history::encode(&rows)?;
            if args.format == HistoryFormat::Json {
                crate::output::Stdout::json(&batch)?;
            } else {
                crate::output::Stdout::csv(&batch)?;
            }
        }
        HistoryFormat::Text if args.revisions => out!("{}", revisions(&rows)),
        HistoryFormat::Text => out!("{}", series(&rows, &root.display, audience)),
    }
    Ok(0)
}

/// A value as the series shows it: the number, or a word for the status when there is none.
fn shown(row: &HistoryRow) -> String {
    match (row.status, row.value) {
        (Status::Ok, Some(v)) => format!("{v:.2}"),
        (Status::Ok, None) | (Status::Undefined, _) => "undefined".into(),
        (Status::MissingData, _) => "missing".into(),
        (Status::NotApplicable, _) => "n/a".into(),
        (Status::InvalidSubmission, _) => "rejected".into(),
    }
}

/// One line per (member, KPI), the years as columns.
fn series(rows: &[HistoryRow], results: &str, audience: Disclosure) -> String {
    let mut out = String::new();
    let years: Vec<i32> = {
        let mut y: Vec<i32> = rows.iter().map(|r| r.year).collect();
        y.sort_unstable();
        y.dedup();
        y
    };
    if rows.is_empty() {
        return format!(
            "No history at {results} for the {audience} audience with these filters.\n"
        );
    }
    out.push_str(&format!(
        "History at {results} ({audience} audience): the current value of each year\n"
    ));
    let mut by_member: BTreeMap<&str, BTreeMap<&str, BTreeMap<i32, &HistoryRow>>> = BTreeMap::new();
    for row in rows {
        by_member
            .entry(&row.member)
            .or_default()
            .entry(&row.indicator)
            .or_default()
            .insert(row.year, row);
    }
    let width = rows
        .iter()
        .map(|r| r.indicator.len())
        .max()
        .unwrap_or(0)
        .max(9);
    for (member, kpis) in by_member {
        out.push_str(&format!("\nMember {member}\n  {:width$}", "KPI"));
        for year in &years {
            out.push_str(&format!(" {year:>14}"));
        }
        out.push('\n');
        for (kpi, cells) in kpis {
            out.push_str(&format!("  {kpi:width$}"));
            for year in &years {
                let cell = match cells.get(year) {
                    None => "-".to_string(),
                    Some(row) => {
                        let restated = row.change != Change::First;
                        let broken = !row.comparable;
                        format!(
                            "{}{}{}",
                            if broken { "|" } else { "" },
                            shown(row),
                            if restated { "*" } else { "" }
                        )
                    }
                };
                out.push_str(&format!(" {cell:>14}"));
            }
            out.push('\n');
        }
    }
    out.push_str(
        "\n* a value that changed after it was first published (pmm history --revisions says why)\n| a definition not comparable with the year before\nmissing: data not submitted; undefined: a zero denominator; n/a: declared not applicable; rejected: the submission was rejected\n",
    );
    out
}

/// Every version, oldest first within each value, with its cause.
fn revisions(rows: &[HistoryRow]) -> String {
    let mut out = String::new();
    let mut previous: Option<&HistoryRow> = None;
    for row in rows {
        let same = previous.is_some_and(|p| {
            (&p.member, &p.indicator, p.year) == (&row.member, &row.indicator, row.year)
        });
        if !same {
            out.push_str(&format!(
                "\n{} {} {}\n",
                row.member, row.indicator, row.year
            ));
        }
        out.push_str(&format!(
            "  {:>14}  {:<18} run {} ({}){}{}\n",
            shown(row),
            row.change.as_str(),
            row.run_id,
            row.published_at,
            if row.is_current() { ", current" } else { "" },
            row.cause
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        ));
        previous = Some(row);
    }
    if out.is_empty() {
        out.push_str("No history with these filters.\n");
    }
    out
}
