//! Row validation against a dataset contract: types, required values, enums, ranges, ordering,
//! the year column and keys. Works a batch at a time; keys are tracked across batches. The valid
//! rows of each batch go to a [`RowSink`] as soon as they are checked (the run's sink writes them
//! to staging), so a file is never held whole in memory.
//!
//! Why one file of this length (about 1,000 lines): [`DatasetValidator`] is the hot loop of a
//! run, and its checks (types, enums, ranges, ordering, year, keys) share one row cursor and
//! one set of counters per column; split across files, the per-row path would be harder to
//! read as the single pass it is and to keep fast.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, filter};
use datafusion::arrow::datatypes::{DataType, Date32Type, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::ArrayFormatter;
use pmm_catalog::{ColumnRule, ColumnType, DatasetContract};

use crate::convert::{Incompatible, Text, bad_value, convert_column, quote, show};
use crate::issue::Rule;
use crate::issue::{IssueLimiter, Severity, ValidationIssue};
use crate::keys::SeenKeys;
use crate::read::ReadTimes;
use crate::schema::table_schema;
use crate::staged_file::CopyGroup;
use crate::{Error, Result};

/// Where the valid rows of a dataset go, batch by batch, in the dataset's table schema
/// (`member`, `year`, then the contract's columns). A run's sink stages them as Parquet; a
/// `Vec<RecordBatch>` keeps them in memory (tests).
///
/// The validator stops writing once the dataset is rejected; what was written before belongs
/// to a rejected dataset, and the caller discards it when [`DatasetOutcome::accepted`] is false.
///
/// A sink that [`copies`](RowSink::copies) may also take a row group of a Parquet input as it
/// is stored: [`begin_copy`](RowSink::begin_copy) names its chunks, every batch of its rows
/// comes through [`write_pending`](RowSink::write_pending) unfiltered while all are valid, and
/// the group ends in [`finish_copy`](RowSink::finish_copy) (every row valid) or
/// [`abandon_copy`](RowSink::abandon_copy) (its valid rows then come again through `write`).
pub trait RowSink: Send {
    /// Takes one batch of valid rows.
    fn write(&mut self, batch: RecordBatch) -> Result<()>;

    /// Whether row groups can be staged by copying their chunks.
    fn copies(&self) -> bool {
        false
    }

    /// A row group to be staged by copying starts.
    fn begin_copy(&mut self, _group: CopyGroup) -> Result<()> {
        Err(Error::Internal("this sink does not copy row groups".into()))
    }

    /// Rows of the row group being copied, every one valid, in order. Only the columns the
    /// group does not copy hold the rows' values: a copied text column holds empty strings
    /// in their place (it is not read; see `DatasetValidator::assemble`).
    fn write_pending(&mut self, _batch: RecordBatch) -> Result<()> {
        Err(Error::Internal("this sink does not copy row groups".into()))
    }

    /// Every row of the row group was valid: it is staged.
    fn finish_copy(&mut self) -> Result<()> {
        Err(Error::Internal("this sink does not copy row groups".into()))
    }

    /// Some row of the row group was not valid: nothing of it is staged here.
    fn abandon_copy(&mut self) {}
}

impl RowSink for Vec<RecordBatch> {
    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.push(batch);
        Ok(())
    }
}

/// The result of reading one dataset file of one submission (its valid rows went to the
/// validator's [`RowSink`]).
#[derive(Debug, Clone)]
pub struct DatasetOutcome {
    /// The dataset name.
    pub dataset: String,
    /// The file, relative to the source (the first of several for an ambiguous dataset).
    pub file: String,
    /// Records read (the header is not a record).
    pub rows_read: u64,
    /// Records left out because they broke a rule.
    pub rows_invalid: u64,
    /// Every issue found, bounded per rule (see [`IssueLimiter`]).
    pub issues: Vec<ValidationIssue>,
    /// False when the whole dataset was rejected.
    pub accepted: bool,
    /// True when the dataset was rejected because the store failed (a download broke off),
    /// not because of what the file holds: such an outcome is not kept in staging, so the
    /// next run reads the file again.
    pub transient: bool,
}

impl DatasetOutcome {
    /// Why the dataset was rejected, in one message (its first error about the file as a
    /// whole); `None` when it was accepted. The one place a rejection's reason is worked out:
    /// a run's summary, a dry run's and a published run's report all take it from here.
    pub fn rejection(&self) -> Option<String> {
        (!self.accepted).then(|| crate::issue::rejection_reason(&self.issues))
    }
}

/// Checks the records of one dataset file, batch by batch.
pub struct DatasetValidator<'a> {
    contract: &'a DatasetContract,
    sink: &'a mut dyn RowSink,
    /// The checks of a batch alone, which threads share (see [`Examiner`]).
    examiner: Arc<Examiner>,
    /// The table schema of the batches handed out (required columns non-null).
    schema: SchemaRef,
    keys: SeenKeys,
    row_issues: IssueLimiter,
    dataset_issues: Vec<ValidationIssue>,
    rows_read: u64,
    rows_invalid: u64,
    rejected: bool,
    transient: bool,
    /// `member` and `year` columns, reused from batch to batch.
    constants: Option<(ArrayRef, ArrayRef)>,
    /// Time spent checking batches and handing valid rows to the sink (its `decoding` is the
    /// reader's, filled in by the caller).
    busy: ReadTimes,
    /// The row group being staged by copying, if one is.
    copying: Option<Copying>,
}

/// A row group being staged by copying: which of its rows are valid so far.
struct Copying {
    keep: Vec<bool>,
    broken: bool,
    /// Which columns of the staged schema the sink copies (it encodes the others).
    copied: Arc<[bool]>,
}

/// What a checked batch gives the sink.
enum Checked {
    /// Its valid rows.
    Rows(RecordBatch),
    /// All its rows, every one valid, of a row group being copied.
    Pending(RecordBatch),
}

impl<'a> DatasetValidator<'a> {
    /// A validator for `file` (as named in issues) of `member`'s submission for `year`, that
    /// hands the valid rows to `sink`.
    pub fn new(
        contract: &'a DatasetContract,
        member: &str,
        year: i32,
        file: &str,
        sink: &'a mut dyn RowSink,
    ) -> Self {
        DatasetValidator {
            contract,
            sink,
            examiner: Arc::new(Examiner {
                contract: contract.clone(),
                member: member.to_string(),
                year,
                file: file.to_string(),
                positions: vec![None; contract.columns.len()],
                proofs: true,
            }),
            schema: table_schema(contract),
            keys: SeenKeys::new(true),
            row_issues: IssueLimiter::new(),
            dataset_issues: Vec::new(),
            rows_read: 0,
            rows_invalid: 0,
            rejected: false,
            transient: false,
            constants: None,
            busy: ReadTimes::default(),
            copying: None,
        }
    }

    /// The same validator checking every rule row by row, never by a proof over a batch: the
    /// path the proofs stand in for, for tests that compare the two.
    #[cfg(test)]
    pub(crate) fn without_proofs(mut self) -> Self {
        Arc::make_mut(&mut self.examiner).proofs = false;
        self.keys = SeenKeys::new(false);
        self
    }

    /// The time spent so far checking batches and writing valid rows to the sink, and
    /// decoding when other threads decoded (zero otherwise: the validator does not see it).
    pub fn times(&self) -> ReadTimes {
        self.busy
    }

    /// The contract being checked.
    pub fn contract(&self) -> &DatasetContract {
        self.contract
    }

    /// Sets which columns the batches will hold, in order, after [`Self::check_columns`] saw
    /// the whole file's columns (a reader that projects columns calls this).
    pub fn use_columns(&mut self, names: &[String]) {
        let examiner = Arc::make_mut(&mut self.examiner);
        for (i, column) in self.contract.columns.iter().enumerate() {
            examiner.positions[i] = names.iter().position(|n| n == &column.name);
        }
    }

    /// The checks of a batch that need nothing from the batches before it, for threads that
    /// examine a file's batches at once; [`Self::push_examined`] takes their work, in order.
    pub(crate) fn examiner(&self) -> Arc<Examiner> {
        self.examiner.clone()
    }

    /// Whether the dataset has been rejected (no more rows need reading).
    pub fn is_rejected(&self) -> bool {
        self.rejected
    }

    /// Rejects the whole dataset: the file cannot be read, or is not what the contract needs.
    pub fn reject(&mut self, rule: Rule, row: Option<u64>, message: String) {
        self.reject_at(rule, row, None, message);
    }

    fn reject_at(&mut self, rule: Rule, row: Option<u64>, column: Option<&str>, message: String) {
        let issue = self
            .examiner
            .issue(row, column, rule, Severity::Error, message);
        self.dataset_issues.push(issue);
        self.rejected = true;
    }

    /// Rejects the whole dataset for a limit it went past (or a record the limiter refused),
    /// naming the record and column when the limit does.
    pub(crate) fn reject_limit(&mut self, limit: &crate::limits::LimitExceeded) {
        self.reject_at(
            limit.rule(),
            limit.record(),
            limit.column(),
            limit.to_string(),
        );
    }

    /// Rejects the whole dataset because the store failed while it was read: the file itself
    /// may be fine, so the outcome is not kept for later runs.
    pub fn reject_transient(&mut self, message: String) {
        self.reject(Rule::Unreadable, None, message);
        self.transient = true;
    }

    /// Rejects the whole dataset because its file changed while it was read: nothing of it is
    /// staged, and the outcome is not kept (the next run reads the file as it is then).
    pub(crate) fn reject_changed(&mut self, message: String) {
        self.reject(Rule::ChangedWhileRead, None, message);
        self.transient = true;
    }

    /// Rejects the whole dataset because reading it hit a bug (a panic): like a store
    /// failure, the outcome is not kept, so a fixed pmm reads the file again.
    pub fn reject_bug(&mut self, message: String) {
        self.reject(Rule::Unreadable, None, message);
        self.transient = true;
    }

    /// Matches the file's column names with the contract: a missing required column or a
    /// repeated name rejects the dataset; an extra column is ignored with a warning. Returns
    /// false when the dataset was rejected.
    pub fn check_columns(&mut self, names: &[String]) -> bool {
        // Linear in the header's width: a hostile header can be as wide as the limits allow.
        // Each repeated name is one issue, however often it repeats.
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        let mut repeated = std::collections::HashSet::new();
        for name in names {
            if !seen.insert(name.as_str()) && repeated.insert(name.as_str()) {
                self.reject(
                    Rule::DuplicateColumn,
                    None,
                    format!(
                        "column `{}` appears twice in the header",
                        crate::text::shown(name)
                    ),
                );
            }
        }
        for (i, column) in self.contract.columns.iter().enumerate() {
            let position = names.iter().position(|n| n == &column.name);
            Arc::make_mut(&mut self.examiner).positions[i] = position;
            if position.is_none() && column.required {
                let message = format!(
                    "required column `{}` is missing (the file has: {})",
                    column.name,
                    header_summary(names)
                );
                let issue = self.examiner.issue(
                    None,
                    Some(&column.name),
                    Rule::MissingColumn,
                    Severity::Error,
                    message,
                );
                self.dataset_issues.push(issue);
                self.rejected = true;
            }
        }
        for name in names {
            if self.contract.column(name).is_none() {
                let issue = self.examiner.issue(
                    None,
                    Some(name),
                    Rule::ExtraColumn,
                    Severity::Warning,
                    format!(
                        "column `{}` is not part of the {} contract and is ignored",
                        crate::text::shown(name),
                        self.contract.name
                    ),
                );
                self.dataset_issues.push(issue);
            }
        }
        !self.rejected
    }

    /// Validates a batch of columns in the file's column order (as given to
    /// [`Self::check_columns`]): text from CSV or JSONL, native types from Parquet.
    /// `first_record` is the 1-based record number of the batch's first row.
    pub fn push_columns(&mut self, columns: &[ArrayRef], first_record: u64) -> Result<()> {
        if self.rejected {
            return Ok(());
        }
        let examined = self.examiner.examine(columns, first_record)?;
        self.push_examined(examined, first_record)
    }

    /// [`Self::push_columns`] for an examined batch (examined here, or by another thread with
    /// [`Self::examiner`]): settled here, in file order. The examining time counts as
    /// validating.
    pub(crate) fn push_examined(&mut self, examined: Examined, first_record: u64) -> Result<()> {
        if self.rejected {
            return Ok(());
        }
        self.busy.validating += examined.took;
        let clock = Instant::now();
        let checked = self.settle(examined, first_record);
        let checked_at = Instant::now();
        self.busy.validating += checked_at - clock;
        match checked? {
            Some(Checked::Rows(batch)) => self.sink.write(batch)?,
            Some(Checked::Pending(batch)) => self.sink.write_pending(batch)?,
            None => return Ok(()),
        }
        self.busy.staging += checked_at.elapsed();
        Ok(())
    }

    /// Time another thread spent decoding this file's batches, added to [`Self::times`].
    pub(crate) fn add_decoding(&mut self, took: std::time::Duration) {
        self.busy.decoding += took;
    }

    /// A row group of a Parquet input starts that the sink may stage by copying its chunks
    /// (when the sink copies at all): the group's rows are checked as any others, and staged
    /// by [`Self::end_copy`].
    pub(crate) fn begin_copy(&mut self, group: CopyGroup) -> Result<()> {
        if self.rejected || !self.sink.copies() {
            return Ok(());
        }
        let clock = Instant::now();
        self.copying = Some(Copying {
            keep: Vec::with_capacity(group.rows),
            broken: false,
            copied: group.chunks.iter().map(Option::is_some).collect(),
        });
        self.sink.begin_copy(group)?;
        self.busy.staging += clock.elapsed();
        Ok(())
    }

    /// The row group begun by [`Self::begin_copy`] has been read: staged as it is when every
    /// row was valid; otherwise the rows to keep, one flag per row, which the caller reads
    /// again and hands to [`Self::replay`].
    pub(crate) fn end_copy(&mut self) -> Result<Option<Vec<bool>>> {
        let Some(copying) = self.copying.take() else {
            return Ok(None);
        };
        let clock = Instant::now();
        let replay = if self.rejected {
            self.sink.abandon_copy();
            None
        } else if copying.broken {
            self.sink.abandon_copy();
            Some(copying.keep)
        } else {
            self.sink.finish_copy()?;
            None
        };
        self.busy.staging += clock.elapsed();
        Ok(replay)
    }

    /// Rows of a row group read a second time (after [`Self::end_copy`] asked for it): the
    /// flagged ones in `keep` go to the sink, converted as the first reading converted them.
    /// Nothing is checked or counted again.
    pub(crate) fn replay(&mut self, columns: &[ArrayRef], keep: &[bool]) -> Result<()> {
        if self.rejected {
            return Ok(());
        }
        let clock = Instant::now();
        let rows = columns.first().map_or(0, |c| c.len());
        let sources = self.examiner.sources(columns, rows);
        let mut typed = Vec::with_capacity(sources.len());
        for (column, source) in self.contract.columns.iter().zip(&sources) {
            match convert_column(column, source)? {
                Ok(converted) => typed.push(converted.array),
                Err(Incompatible(why)) => {
                    return Err(Error::Internal(format!(
                        "column `{}` converted when first read, but {why}",
                        column.name
                    )));
                }
            }
        }
        let dropped = keep.iter().filter(|k| !**k).count();
        let keep = (dropped > 0).then(|| keep.iter().map(|k| Some(*k)).collect());
        if let Some(batch) = self.assemble(typed, rows, keep, &[])? {
            self.sink.write(batch)?;
        }
        self.busy.staging += clock.elapsed();
        Ok(())
    }

    /// The batch of the table's schema for converted columns `typed` of `rows` rows: `member`
    /// and `year` first, then the rows `keep` keeps (all without it).
    ///
    /// Text kept as string views (see `convert::kept_as_views`) is copied into the schema's
    /// plain strings here, after `keep` (only rows that are staged), and not at all for a
    /// column the sink stages by copying (`copied`, by staged column): the sink does not
    /// read it, and it gets an array of empty strings in its place.
    fn assemble(
        &mut self,
        typed: Vec<ArrayRef>,
        rows: usize,
        keep: Option<BooleanArray>,
        copied: &[bool],
    ) -> Result<Option<RecordBatch>> {
        let (member, year) = self.constant_columns(rows);
        let mut arrays: Vec<ArrayRef> = vec![member, year];
        arrays.extend(typed);
        let error = |e: ArrowError| {
            Error::Internal(format!("building a {} batch: {e}", self.contract.name))
        };
        if let Some(keep) = keep {
            arrays = arrays
                .iter()
                .map(|array| filter(array, &keep))
                .collect::<std::result::Result<_, _>>()
                .map_err(error)?;
        }
        let rows = arrays.first().map_or(0, |a| a.len());
        for (i, array) in arrays.iter_mut().enumerate() {
            if *array.data_type() == DataType::Utf8View {
                *array = if copied.get(i) == Some(&true) {
                    Arc::new(StringArray::new(
                        OffsetBuffer::new_zeroed(rows),
                        Buffer::from(Vec::<u8>::new()),
                        None,
                    ))
                } else {
                    cast(array, &DataType::Utf8).map_err(error)?
                };
            }
        }
        // Every row left passed the `required` rule, so the strict schema holds.
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(error)?;
        Ok((batch.num_rows() > 0).then_some(batch))
    }

    /// Settles one examined batch in file order: counts its rows, keeps its issues, checks its
    /// keys against every key before; its valid rows, when it has any and the dataset is not
    /// rejected.
    fn settle(&mut self, examined: Examined, first_record: u64) -> Result<Option<Checked>> {
        let Examined {
            rows,
            typed,
            mut invalid,
            issues,
            incompatible,
            ..
        } = examined;
        self.rows_read += rows as u64;
        for issue in issues {
            self.row_issues.push(issue);
        }
        if let Some(issue) = incompatible {
            self.dataset_issues.push(issue);
            self.rejected = true;
            return Ok(None);
        }
        self.check_keys(&typed, first_record, &mut invalid)?;

        let bad = invalid.iter().filter(|b| **b).count();
        self.rows_invalid += bad as u64;
        if let Some(copying) = self.copying.as_mut() {
            copying.keep.extend(invalid.iter().map(|b| !b));
            copying.broken |= bad > 0;
            // A group with an invalid row is staged from a second reading: nothing now.
            if copying.broken {
                return Ok(None);
            }
            let copied = copying.copied.clone();
            return Ok(self
                .assemble(typed, rows, None, &copied)?
                .map(Checked::Pending));
        }
        let keep = (bad > 0).then(|| invalid.iter().map(|b| Some(!b)).collect());
        Ok(self.assemble(typed, rows, keep, &[])?.map(Checked::Rows))
    }

    /// The `member` and `year` columns of a batch of `rows`: slices of arrays made once for the
    /// largest batch so far.
    fn constant_columns(&mut self, rows: usize) -> (ArrayRef, ArrayRef) {
        if self.constants.as_ref().is_some_and(|(m, _)| m.len() < rows) {
            self.constants = None;
        }
        let (member, year) = (self.examiner.member.as_str(), self.examiner.year);
        let (members, years) = self.constants.get_or_insert_with(|| {
            (
                Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                    member, rows,
                ))),
                Arc::new(Int64Array::from(vec![i64::from(year); rows])),
            )
        });
        (members.slice(0, rows), years.slice(0, rows))
    }

    fn check_keys(
        &mut self,
        typed: &[ArrayRef],
        first_record: u64,
        invalid: &mut [bool],
    ) -> Result<()> {
        let key_columns: Vec<usize> = self
            .contract
            .key
            .iter()
            .filter_map(|k| self.contract.columns.iter().position(|c| &c.name == k))
            .collect();
        if key_columns.is_empty() {
            return Ok(());
        }
        let rows = typed.first().map_or(0, |a| a.len());
        let formatters = key_columns
            .iter()
            .map(|&ci| ArrayFormatter::try_new(typed[ci].as_ref(), &Default::default()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(format!("formatting key values: {e}")))?;
        // The common case, one text key column, is hashed without formatting a copy.
        let single_text = match key_columns.as_slice() {
            [ci] => Text::of(typed[*ci].as_ref()),
            _ => None,
        };
        let composite = |i: usize| {
            formatters
                .iter()
                .map(|f| f.value(i).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.keys.reserve(rows);
        let any_null = key_columns.iter().any(|&ci| typed[ci].null_count() > 0);
        for (i, bad) in invalid.iter_mut().enumerate().take(rows) {
            if any_null && key_columns.iter().any(|&ci| typed[ci].is_null(i)) {
                continue; // already invalid: a key column is required
            }
            let record = first_record + i as u64;
            let key = match single_text {
                Some(text) => std::borrow::Cow::Borrowed(text.value(i)),
                None => std::borrow::Cow::Owned(composite(i)),
            };
            if let Some(first) = self.keys.see(key.as_bytes(), record) {
                *bad = true;
                let column = self.contract.key.join(", ");
                let message = format!(
                    "repeats the key {} of record {first}; keys must be unique in a file",
                    quote(&key)
                );
                let issue = self.examiner.issue(
                    Some(record),
                    Some(&column),
                    Rule::Key,
                    Severity::Error,
                    message,
                );
                self.row_issues.push(issue);
            }
        }
        Ok(())
    }

    /// Ends the file: rejects the dataset when more than `max_invalid_row_fraction` of its
    /// records were invalid, and returns its rows and issues.
    pub fn finish(mut self, max_invalid_row_fraction: f64) -> DatasetOutcome {
        if !self.rejected && self.rows_read > 0 {
            let fraction = self.rows_invalid as f64 / self.rows_read as f64;
            if fraction > max_invalid_row_fraction {
                let message = format!(
                    "{} of {} records ({:.1}%) are invalid, above the pipeline's limit of {:.1}%: the dataset is rejected",
                    self.rows_invalid,
                    self.rows_read,
                    100.0 * fraction,
                    100.0 * max_invalid_row_fraction
                );
                self.reject(Rule::MaxInvalidRowFraction, None, message);
            }
        }
        let mut issues = self.dataset_issues;
        issues.extend(self.row_issues.finish());
        DatasetOutcome {
            dataset: self.contract.name.clone(),
            file: self.examiner.file.clone(),
            rows_read: self.rows_read,
            rows_invalid: self.rows_invalid,
            issues,
            accepted: !self.rejected,
            transient: self.transient,
        }
    }
}

/// The checks of one batch that need nothing from the batches before it: conversion to the
/// contract's types, required values, enums and the column rules. Keys, counts and staging
/// follow file order and stay with the [`DatasetValidator`], so the threads that read one file
/// at once (see `csv_parallel`) share an `Examiner` and hand it batches in any order.
#[derive(Clone)]
pub(crate) struct Examiner {
    contract: DatasetContract,
    member: String,
    year: i32,
    file: String,
    /// For each contract column, its position among the file's columns, if present.
    positions: Vec<Option<usize>>,
    /// Whether a rule may be proven for a whole batch by Arrow's kernels (false only in tests
    /// that compare with the row-by-row path).
    proofs: bool,
}

/// A batch examined by an [`Examiner`], for [`DatasetValidator::push_examined`].
pub(crate) struct Examined {
    rows: usize,
    /// The converted columns, one per contract column.
    typed: Vec<ArrayRef>,
    /// The rows that broke a rule.
    invalid: Vec<bool>,
    /// The issues found, in the order the one-thread path finds them.
    issues: Vec<ValidationIssue>,
    /// A column that cannot be converted at all: it rejects the dataset.
    incompatible: Option<ValidationIssue>,
    /// The time it took.
    took: std::time::Duration,
}

impl Examiner {
    /// An issue about this dataset file, with no row or column unless given.
    fn issue(
        &self,
        row: Option<u64>,
        column: Option<&str>,
        rule: Rule,
        severity: Severity,
        message: String,
    ) -> ValidationIssue {
        ValidationIssue {
            member: self.member.clone(),
            year: self.year,
            dataset: Some(self.contract.name.clone()),
            file: Some(crate::text::shown_path(&self.file)),
            row,
            column: column.map(crate::text::shown),
            rule,
            severity,
            message,
            count: 1,
        }
    }

    /// For each contract column, its source column in `columns` (all null when absent).
    fn sources(&self, columns: &[ArrayRef], rows: usize) -> Vec<ArrayRef> {
        let absent: ArrayRef = Arc::new(StringArray::new_null(rows));
        self.positions
            .iter()
            .map(|p| p.map_or_else(|| absent.clone(), |p| columns[p].clone()))
            .collect()
    }

    /// Converts and checks one batch of columns in the file's column order, whose first row
    /// is record `first_record`.
    pub(crate) fn examine(&self, columns: &[ArrayRef], first_record: u64) -> Result<Examined> {
        let clock = Instant::now();
        let rows = columns.first().map_or(0, |c| c.len());
        let mut invalid = vec![false; rows];
        let mut issues = Vec::new();
        let sources = self.sources(columns, rows);
        let mut typed: Vec<ArrayRef> = Vec::with_capacity(sources.len());
        for (column, source) in self.contract.columns.iter().zip(&sources) {
            let converted = match convert_column(column, source)? {
                Ok(converted) => converted,
                Err(Incompatible(why)) => {
                    let message = format!("column `{}` {why}", column.name);
                    let issue = self.issue(
                        None,
                        Some(&column.name),
                        Rule::ColumnType,
                        Severity::Error,
                        message,
                    );
                    return Ok(Examined {
                        rows,
                        typed,
                        invalid,
                        issues,
                        incompatible: Some(issue),
                        took: clock.elapsed(),
                    });
                }
            };
            let rule = if column.column_type == ColumnType::Enum {
                Rule::Enum
            } else {
                Rule::Type
            };
            for &i in &converted.bad {
                invalid[i] = true;
                let message = bad_value(column, source, i);
                let issue = self.issue(
                    Some(first_record + i as u64),
                    Some(&column.name),
                    rule,
                    Severity::Error,
                    message,
                );
                issues.push(issue);
            }
            if column.required && source.null_count() > 0 {
                for i in (0..rows).filter(|&i| source.is_null(i)) {
                    invalid[i] = true;
                    let issue = self.issue(
                        Some(first_record + i as u64),
                        Some(&column.name),
                        Rule::Required,
                        Severity::Error,
                        "is empty, but the column is required".into(),
                    );
                    issues.push(issue);
                }
            }
            typed.push(converted.array);
        }
        self.check_rules(&typed, &sources, first_record, &mut invalid, &mut issues);
        Ok(Examined {
            rows,
            typed,
            invalid,
            issues,
            incompatible: None,
            took: clock.elapsed(),
        })
    }

    fn check_rules(
        &self,
        typed: &[ArrayRef],
        sources: &[ArrayRef],
        first_record: u64,
        invalid: &mut [bool],
        issues: &mut Vec<ValidationIssue>,
    ) {
        let (year_start, year_end) = year_bounds_days(self.year);
        let index = |name: &str| self.contract.columns.iter().position(|c| c.name == name);
        let year_column = self.contract.year_column.as_deref().and_then(index);
        let mut found: Vec<(usize, usize, Rule, String)> = Vec::new();
        for (ci, column) in self.contract.columns.iter().enumerate() {
            let values = Ordinals::new(&typed[ci]);
            let shown = |i: usize| show(&sources[ci], i);
            // The batch's least and greatest values, once per column that has a bound to prove
            // (`None` also when the batch has no value there: then no row breaks a bound).
            let bounded = year_column == Some(ci)
                || column.rules.iter().any(|r| {
                    matches!(
                        r,
                        ColumnRule::Min(_) | ColumnRule::WithinYear | ColumnRule::NotAfterYearEnd
                    )
                });
            let range = if self.proofs && bounded {
                values.range()
            } else {
                None
            };
            let mut year_rules: Vec<(Rule, f64, f64, String)> = Vec::new();
            if year_column == Some(ci) {
                year_rules.push((
                    Rule::Year,
                    year_start,
                    year_end,
                    format!("is outside the submission's year {}", self.year),
                ));
            }
            for rule in &column.rules {
                match rule {
                    ColumnRule::Min(min) => {
                        // The batch's least value proves the rule for every row, or the rows
                        // are looked at one by one.
                        if self.proofs && range.is_none_or(|(least, _)| least >= *min) {
                            continue;
                        }
                        for i in values
                            .rows()
                            .filter(|&i| values.get(i).is_some_and(|v| v < *min))
                        {
                            found.push((
                                i,
                                ci,
                                Rule::Min,
                                format!("{} is below the minimum {min}", shown(i)),
                            ));
                        }
                    }
                    ColumnRule::NotBefore(other) | ColumnRule::NotAfter(other) => {
                        let Some(oi) = index(other) else { continue };
                        let others = Ordinals::new(&typed[oi]);
                        let before = matches!(rule, ColumnRule::NotBefore(_));
                        if self.proofs && no_row_is_out_of_order(&typed[ci], &typed[oi], before) {
                            continue;
                        }
                        for i in values.rows() {
                            let (Some(v), Some(o)) = (values.get(i), others.get(i)) else {
                                continue;
                            };
                            if (before && v < o) || (!before && v > o) {
                                let other_shown = show(&sources[oi], i);
                                let relation = if before { "before" } else { "after" };
                                found.push((
                                    i,
                                    ci,
                                    Rule::of(rule),
                                    format!("{} is {relation} {other} ({other_shown})", shown(i)),
                                ));
                            }
                        }
                    }
                    ColumnRule::WithinYear => {
                        year_rules.push((
                            Rule::WithinYear,
                            year_start,
                            year_end,
                            format!("is outside the submission's year {}", self.year),
                        ));
                    }
                    ColumnRule::NotAfterYearEnd => year_rules.push((
                        Rule::NotAfterYearEnd,
                        f64::NEG_INFINITY,
                        year_end,
                        format!("is after the end of the submission's year {}", self.year),
                    )),
                    ColumnRule::FirstOfMonth => {
                        if let Some(dates) = typed[ci].as_any().downcast_ref::<Date32Array>() {
                            for i in (0..dates.len()).filter(|&i| dates.is_valid(i)) {
                                if Date32Type::to_naive_date_opt(dates.value(i))
                                    .is_some_and(|d| d.day() != 1)
                                {
                                    found.push((
                                        i,
                                        ci,
                                        Rule::FirstOfMonth,
                                        format!("{} is not the first day of a month", shown(i)),
                                    ));
                                }
                            }
                        }
                    }
                    ColumnRule::RequiredWith(other) => {
                        let Some(oi) = index(other) else { continue };
                        if self.proofs && typed[ci].null_count() == 0 {
                            continue;
                        }
                        for i in (0..typed[ci].len())
                            .filter(|&i| typed[ci].is_null(i) && typed[oi].is_valid(i))
                        {
                            // A value that failed to convert is already reported as such.
                            if sources[ci].is_valid(i) {
                                continue;
                            }
                            found.push((
                                i,
                                ci,
                                Rule::RequiredWith,
                                format!("is empty, but it is required when {other} is present"),
                            ));
                        }
                    }
                }
            }
            for (rule, low, high, message) in year_rules {
                let scale = values.per_day();
                // The batch's least and greatest values prove the bounds for every row.
                if self.proofs
                    && range
                        .is_none_or(|(least, most)| !(least < low * scale || most >= high * scale))
                {
                    continue;
                }
                for i in values.rows() {
                    let Some(v) = values.get(i) else { continue };
                    if v < low * scale || v >= high * scale {
                        found.push((i, ci, rule, format!("{} {message}", shown(i))));
                    }
                }
            }
        }
        found.sort_by_key(|(i, ci, _, _)| (*i, *ci));
        for (i, ci, rule, message) in found {
            invalid[i] = true;
            let column = self.contract.columns[ci].name.clone();
            let issue = self.issue(
                Some(first_record + i as u64),
                Some(&column),
                rule,
                Severity::Error,
                message,
            );
            issues.push(issue);
        }
    }
}

/// A header's names for a message: each cut short, at most 20 of them. A file that is not
/// CSV at all can have a "header" of megabytes.
fn header_summary(names: &[String]) -> String {
    const SHOWN: usize = 20;
    if names.is_empty() {
        return "no columns".to_string();
    }
    let mut shown: Vec<String> = names.iter().take(SHOWN).map(|n| quote(n)).collect();
    if names.len() > SHOWN {
        shown.push(format!("and {} more", names.len() - SHOWN));
    }
    shown.join(", ")
}

/// Numeric, date and timestamp values as f64, for range and ordering rules. Dates are days,
/// timestamps microseconds (exact in f64 for any plausible date). The column's type is looked
/// up once, not for every value.
enum Ordinals<'a> {
    Float(&'a Float64Array),
    Int(&'a Int64Array),
    Date(&'a Date32Array),
    Timestamp(&'a TimestampMicrosecondArray),
    /// A column with no order (text, booleans): no value.
    Unordered(usize),
}

impl<'a> Ordinals<'a> {
    fn new(array: &'a ArrayRef) -> Self {
        let any = array.as_any();
        if let Some(a) = any.downcast_ref::<Float64Array>() {
            Ordinals::Float(a)
        } else if let Some(a) = any.downcast_ref::<Int64Array>() {
            Ordinals::Int(a)
        } else if let Some(a) = any.downcast_ref::<Date32Array>() {
            Ordinals::Date(a)
        } else if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
            Ordinals::Timestamp(a)
        } else {
            Ordinals::Unordered(array.len())
        }
    }

    fn rows(&self) -> std::ops::Range<usize> {
        let len = match self {
            Ordinals::Float(a) => a.len(),
            Ordinals::Int(a) => a.len(),
            Ordinals::Date(a) => a.len(),
            Ordinals::Timestamp(a) => a.len(),
            Ordinals::Unordered(len) => *len,
        };
        0..len
    }

    fn get(&self, i: usize) -> Option<f64> {
        match self {
            Ordinals::Float(a) => a.is_valid(i).then(|| a.value(i)),
            Ordinals::Int(a) => a.is_valid(i).then(|| a.value(i) as f64),
            Ordinals::Date(a) => a.is_valid(i).then(|| f64::from(a.value(i))),
            Ordinals::Timestamp(a) => a.is_valid(i).then(|| a.value(i) as f64),
            Ordinals::Unordered(_) => None,
        }
    }

    /// The least and greatest value as [`Self::get`] gives them, `None` when there is none:
    /// one pass of Arrow's kernels over the batch, which proves a bound for every row at once
    /// (`get` turns values into f64 in an order-keeping way, so the least value is the least
    /// `get`).
    fn range(&self) -> Option<(f64, f64)> {
        use datafusion::arrow::compute::{max, min};
        match self {
            Ordinals::Float(a) => Some((min(*a)?, max(*a)?)),
            Ordinals::Int(a) => Some((min(*a)? as f64, max(*a)? as f64)),
            Ordinals::Date(a) => Some((f64::from(min(*a)?), f64::from(max(*a)?))),
            Ordinals::Timestamp(a) => Some((min(*a)? as f64, max(*a)? as f64)),
            Ordinals::Unordered(_) => None,
        }
    }

    /// How many units of this column make a day (for year bounds).
    fn per_day(&self) -> f64 {
        if matches!(self, Ordinals::Timestamp(_)) {
            86_400_000_000.0
        } else {
            1.0
        }
    }
}

/// True when Arrow's comparison kernel proves that no row of `values` is before (`before`) or
/// after its `others` value, both present; false when some row may be (the rows are then
/// looked at one by one). Only for two columns of one type: the kernel compares them exactly,
/// and a value exactly not before another is not before it as f64 either.
fn no_row_is_out_of_order(values: &ArrayRef, others: &ArrayRef, before: bool) -> bool {
    use datafusion::arrow::compute::kernels::cmp::{gt, lt};
    if values.data_type() != others.data_type() || !values.data_type().is_primitive() {
        return false;
    }
    let out_of_order = if before {
        lt(values, others)
    } else {
        gt(values, others)
    };
    // `true_count` counts rows where both are present and the comparison holds.
    out_of_order.is_ok_and(|rows| rows.true_count() == 0)
}

/// Days since 1970-01-01 of January 1st of `year` and of the year after.
fn year_bounds_days(year: i32) -> (f64, f64) {
    (
        f64::from(epoch_days(year, 1, 1)),
        f64::from(epoch_days(year + 1, 1, 1)),
    )
}

/// Days since 1970-01-01 (Arrow's `Date32`) of a calendar date.
pub(crate) fn epoch_days(year: i32, month: u32, day: u32) -> i32 {
    NaiveDate::from_ymd_opt(year, month, day).map_or(0, Date32Type::from_naive_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_bounds_are_january_firsts() {
        assert_eq!(year_bounds_days(1970), (0.0, 365.0));
        assert_eq!(
            year_bounds_days(2024),
            (19_723.0, 20_089.0),
            "2024 is a leap year"
        );
    }
}
