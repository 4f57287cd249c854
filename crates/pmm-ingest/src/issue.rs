//! Validation issues: every problem found in a submission, bounded but exactly counted.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was ignored (an extra column, an unknown file); nothing was lost.
    Warning,
    /// A row, dataset or submission was left out.
    Error,
}

impl Severity {
    /// The name written in result files and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem of a submission, as the `validation_issues` result table holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationIssue {
    /// The member code.
    pub member: String,
    /// The submission's year.
    pub year: i32,
    /// The dataset, when the issue concerns one.
    pub dataset: Option<String>,
    /// The file, relative to the source.
    pub file: Option<String>,
    /// The 1-based record number (the header is not a record); null on a summary row.
    pub row: Option<u64>,
    /// The column, when the issue concerns one.
    pub column: Option<String>,
    /// The rule broken: `type`, `required`, `enum`, `min`, `key`, `year`, `missing_column`, ...
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, for the person who will fix the file.
    pub message: String,
    /// How many rows this issue stands for: 1 for a listed row, the rest for a summary row.
    pub count: u64,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The file is relative to the source (`member=XA/year=2024/staff.csv`) and is shown as
        // it is; an issue without one is placed in the member's folder.
        match &self.file {
            Some(file) => write!(f, "{file}: ")?,
            None => write!(
                f,
                "member={}/year={}/{}: ",
                self.member,
                self.year,
                self.dataset.as_deref().unwrap_or("submission")
            )?,
        }
        if let Some(row) = self.row {
            write!(f, "record {row}, ")?;
        }
        if let Some(column) = &self.column {
            write!(f, "column {column}: ")?;
        }
        write!(f, "{}", self.message)?;
        if self.row.is_none() && self.count > 1 {
            write!(f, " ({} rows)", self.count)?;
        }
        Ok(())
    }
}

/// At most this many rows are listed one by one per (member, year, dataset, rule).
pub const MAX_LISTED_ROWS_PER_RULE: u64 = 100;

/// Lists the first [`MAX_LISTED_ROWS_PER_RULE`] row issues of each rule and counts the rest,
/// so a file with a million bad rows gives a readable table and exact counts.
#[derive(Debug, Default)]
pub struct IssueLimiter {
    listed: Vec<ValidationIssue>,
    overflow: HashMap<String, (u64, ValidationIssue)>,
    per_rule: HashMap<String, u64>,
}

impl IssueLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        IssueLimiter::default()
    }

    /// Records one row issue: listed while its rule has room, counted after.
    pub fn push(&mut self, issue: ValidationIssue) {
        let n = self.per_rule.entry(issue.rule.clone()).or_insert(0);
        *n += 1;
        if *n <= MAX_LISTED_ROWS_PER_RULE {
            self.listed.push(issue);
        } else {
            self.overflow
                .entry(issue.rule.clone())
                .and_modify(|(count, _)| *count += issue.count)
                .or_insert((issue.count, issue));
        }
    }

    /// The listed issues, then one summary row per rule that overflowed, with the exact count
    /// of the rows not listed.
    pub fn finish(self) -> Vec<ValidationIssue> {
        let mut out = self.listed;
        let mut summaries: Vec<_> = self.overflow.into_values().collect();
        summaries.sort_by(|a, b| a.1.rule.cmp(&b.1.rule));
        for (count, first) in summaries {
            out.push(ValidationIssue {
                row: None,
                column: None,
                message: format!(
                    "{count} more rows break rule `{}` (only the first {MAX_LISTED_ROWS_PER_RULE} are listed)",
                    first.rule
                ),
                count,
                ..first
            });
        }
        out
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    fn issue(file: Option<&str>) -> ValidationIssue {
        ValidationIssue {
            member: "XA".into(),
            year: 2024,
            dataset: Some("staff".into()),
            file: file.map(str::to_string),
            row: Some(3),
            column: Some("headcount".into()),
            rule: "min".into(),
            severity: Severity::Error,
            message: "\"-1\" is below the minimum 0".into(),
            count: 1,
        }
    }

    #[test]
    fn an_issue_names_its_file_once() {
        assert_eq!(
            issue(Some("member=XA/year=2024/staff.csv")).to_string(),
            "member=XA/year=2024/staff.csv: record 3, column headcount: \"-1\" is below the minimum 0"
        );
        assert_eq!(
            issue(None).to_string(),
            "member=XA/year=2024/staff: record 3, column headcount: \"-1\" is below the minimum 0"
        );
    }
}
