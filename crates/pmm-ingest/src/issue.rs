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

/// The rule an issue is about: the `rule` column of `validation_issues` (its snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `type`: a value does not read as its column's type.
    Type,
    /// `enum`: a value is not one of the enum's values.
    Enum,
    /// `required`: a required value is empty.
    Required,
    /// `min`: a value is below the column's minimum.
    Min,
    /// `not_before`: a value is before another column's.
    NotBefore,
    /// `not_after`: a value is after another column's.
    NotAfter,
    /// `within_year`: a date is outside the submission's year.
    WithinYear,
    /// `not_after_year_end`: a date is after the year's end.
    NotAfterYearEnd,
    /// `first_of_month`: a date is not the first of a month.
    FirstOfMonth,
    /// `required_with`: a value is missing where another column has one.
    RequiredWith,
    /// `year`: the dataset's year column is outside the year.
    Year,
    /// `key`: a record repeats an earlier record's key.
    Key,
    /// `max_invalid_row_fraction`: too many invalid records: the dataset is rejected.
    MaxInvalidRowFraction,
    /// `missing_header`: a CSV file without its header row.
    MissingHeader,
    /// `missing_column`: a required column is missing.
    MissingColumn,
    /// `duplicate_column`: a column appears twice.
    DuplicateColumn,
    /// `extra_column`: a column the contract does not have (a warning).
    ExtraColumn,
    /// `column_type`: a Parquet column whose type does not convert without loss.
    ColumnType,
    /// `unreadable`: the file or folder cannot be read as what it claims to be.
    Unreadable,
    /// `ambiguous`: two files for one dataset.
    Ambiguous,
    /// `max_record_bytes`: a record past `limits.max_record_bytes`.
    MaxRecordBytes,
    /// `max_columns`: a header past `limits.max_columns`.
    MaxColumns,
    /// `max_decompressed_bytes`: a file that decompresses past `limits.max_decompressed_bytes`.
    MaxDecompressedBytes,
    /// `max_nesting`: a Parquet schema nested past `limits.max_nesting`.
    MaxNesting,
    /// `max_footer_bytes`: a Parquet footer past `limits.max_footer_bytes`.
    MaxFooterBytes,
    /// `max_batch_bytes`: a page or batch past `limits.max_batch_bytes`.
    MaxBatchBytes,
    /// `max_row_group_bytes`: a Parquet row group whose read columns claim past
    /// `limits.max_row_group_bytes`.
    MaxRowGroupBytes,
    /// `changed_while_read`: the file changed between discovery and the end of its reading.
    ChangedWhileRead,
    /// `manifest`: the manifest is invalid: the submission is rejected.
    Manifest,
    /// `max_manifest_bytes`: a manifest past `limits.max_manifest_bytes`.
    MaxManifestBytes,
    /// `unknown_file`: a file or folder outside the layout (a warning).
    UnknownFile,
    /// `unknown_member`: a member folder whose code is not registered.
    UnknownMember,
    /// `bad_folder`: a folder that is not `member=CODE` or `year=YYYY`.
    BadFolder,
    /// `symlink`: a symbolic link, never followed.
    Symlink,
    /// `bad_name`: a name the store cannot represent.
    BadName,
    /// `not_a_file`: a pipe, socket or device.
    NotAFile,
}

impl Rule {
    /// The name written in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Type => "type",
            Rule::Enum => "enum",
            Rule::Required => "required",
            Rule::Min => "min",
            Rule::NotBefore => "not_before",
            Rule::NotAfter => "not_after",
            Rule::WithinYear => "within_year",
            Rule::NotAfterYearEnd => "not_after_year_end",
            Rule::FirstOfMonth => "first_of_month",
            Rule::RequiredWith => "required_with",
            Rule::Year => "year",
            Rule::Key => "key",
            Rule::MaxInvalidRowFraction => "max_invalid_row_fraction",
            Rule::MissingHeader => "missing_header",
            Rule::MissingColumn => "missing_column",
            Rule::DuplicateColumn => "duplicate_column",
            Rule::ExtraColumn => "extra_column",
            Rule::ColumnType => "column_type",
            Rule::Unreadable => "unreadable",
            Rule::Ambiguous => "ambiguous",
            Rule::MaxRecordBytes => "max_record_bytes",
            Rule::MaxColumns => "max_columns",
            Rule::MaxDecompressedBytes => "max_decompressed_bytes",
            Rule::MaxNesting => "max_nesting",
            Rule::MaxFooterBytes => "max_footer_bytes",
            Rule::MaxBatchBytes => "max_batch_bytes",
            Rule::MaxRowGroupBytes => "max_row_group_bytes",
            Rule::ChangedWhileRead => "changed_while_read",
            Rule::Manifest => "manifest",
            Rule::MaxManifestBytes => "max_manifest_bytes",
            Rule::UnknownFile => "unknown_file",
            Rule::UnknownMember => "unknown_member",
            Rule::BadFolder => "bad_folder",
            Rule::Symlink => "symlink",
            Rule::BadName => "bad_name",
            Rule::NotAFile => "not_a_file",
        }
    }

    /// Whether the rule is about one record's values (the record is left out) rather than
    /// the file as a whole (the dataset is rejected).
    pub fn is_row_rule(self) -> bool {
        matches!(
            self,
            Rule::Type
                | Rule::Enum
                | Rule::Required
                | Rule::Min
                | Rule::NotBefore
                | Rule::NotAfter
                | Rule::WithinYear
                | Rule::NotAfterYearEnd
                | Rule::FirstOfMonth
                | Rule::RequiredWith
                | Rule::Year
                | Rule::Key
        )
    }

    /// The rule of a dataset contract's column rule.
    pub fn of(rule: &pmm_catalog::ColumnRule) -> Rule {
        use pmm_catalog::ColumnRule as C;
        match rule {
            C::Min(_) => Rule::Min,
            C::NotBefore(_) => Rule::NotBefore,
            C::NotAfter(_) => Rule::NotAfter,
            C::WithinYear => Rule::WithinYear,
            C::NotAfterYearEnd => Rule::NotAfterYearEnd,
            C::FirstOfMonth => Rule::FirstOfMonth,
            C::RequiredWith(_) => Rule::RequiredWith,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rules sort by name, as the issues table lists them.
impl Ord for Rule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Rule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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
    /// The rule broken.
    pub rule: Rule,
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
                "{}: ",
                pmm_store::layout::source::submission(
                    &self.member,
                    self.year,
                    self.dataset.as_deref().unwrap_or("submission")
                )
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

/// Why a rejected dataset was rejected, in one message: its first error about the file as a
/// whole (a limit, an unreadable file, a missing column, too many invalid records), which may
/// name a record (a record past `max_record_bytes`); empty when there is none.
pub(crate) fn rejection_reason(issues: &[ValidationIssue]) -> String {
    issues
        .iter()
        .find(|i| i.severity == Severity::Error && !i.rule.is_row_rule())
        .map(|i| i.message.clone())
        .unwrap_or_default()
}

/// At most this many rows are listed one by one per (member, year, dataset, rule).
pub const MAX_LISTED_ROWS_PER_RULE: u64 = 100;

/// Lists the first [`MAX_LISTED_ROWS_PER_RULE`] row issues of each rule and counts the rest,
/// so a file with a million bad rows gives a readable table and exact counts.
#[derive(Debug, Default)]
pub struct IssueLimiter {
    listed: Vec<ValidationIssue>,
    overflow: HashMap<Rule, (u64, ValidationIssue)>,
    per_rule: HashMap<Rule, u64>,
}

impl IssueLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        IssueLimiter::default()
    }

    /// Records one row issue: listed while its rule has room, counted after.
    pub fn push(&mut self, issue: ValidationIssue) {
        let n = self.per_rule.entry(issue.rule).or_insert(0);
        *n += 1;
        if *n <= MAX_LISTED_ROWS_PER_RULE {
            self.listed.push(issue);
        } else {
            self.overflow
                .entry(issue.rule)
                .and_modify(|(count, _)| *count += issue.count)
                .or_insert((issue.count, issue));
        }
    }

    /// The listed issues, then one summary row per rule that overflowed, with the exact count
    /// of the rows not listed.
    pub fn finish(self) -> Vec<ValidationIssue> {
        let mut out = self.listed;
        let mut summaries: Vec<_> = self.overflow.into_values().collect();
        summaries.sort_by_key(|s| s.1.rule);
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
            rule: Rule::Min,
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
