//! The result tables as Arrow record batches: the rows that [`pmm_results`] types encode, and
//! `validation_issues`, whose rows are ingestion's.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::error::ArrowError;
use pmm_ingest::ValidationIssue;
use pmm_results::VALIDATION_ISSUES;
use pmm_results::encode::{constant_text, ints, opt_text, text};

pub use pmm_results::encode::{indicator_values, peer_stats, scores};

/// `validation_issues`.
pub fn validation_issues(
    run_id: &str,
    rows: &[ValidationIssue],
) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    RecordBatch::try_new(
        VALIDATION_ISSUES.schema(),
        vec![
            constant_text(run_id, n),
            ints(rows.iter().map(|r| Some(i64::from(r.year)))),
            text(rows.iter().map(|r| r.member.as_str())),
            opt_text(rows.iter().map(|r| r.dataset.as_deref())),
            opt_text(rows.iter().map(|r| r.file.as_deref())),
            ints(rows.iter().map(|r| r.row.map(|x| x as i64))),
            opt_text(rows.iter().map(|r| r.column.as_deref())),
            text(rows.iter().map(|r| r.rule.as_str())),
            text(rows.iter().map(|r| r.severity.as_str())),
            text(rows.iter().map(|r| r.message.as_str())),
            ints(rows.iter().map(|r| Some(r.count as i64))),
        ],
    )
}
