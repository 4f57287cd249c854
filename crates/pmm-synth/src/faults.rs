//! The faults `pmm synth --faults` injects, by name: which member gets which, and what a run
//! makes of it. The demo and the end-to-end tests (and their goldens) rely on each one. The
//! last three are planted anomalies: every row is valid, but a figure looks wrong, which the
//! plausibility review flags.

use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Float64Array, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::error::ArrowError;

use crate::datasets::Batch;

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Year T's manifest names another member (XA): that submission is rejected.
    ManifestNamesAnotherMember,
    /// No T-1 submission at all: KPIs that compare with T-1 lack data.
    NoPriorYear,
    /// One T declaration in ten has an unknown flow: above the threshold, the dataset is
    /// rejected.
    TooManyInvalidRows,
    /// T seizures sent twice (CSV and Parquet): ambiguous, neither is read.
    SameDatasetTwice,
    /// One T control in twenty has an impossible date: under the threshold, those rows are
    /// rejected and the dataset kept.
    FewInvalidDates,
    /// T revenue as a gzip file cut in half: the dataset is rejected.
    CorruptGzip,
    /// Two e-commerce KPIs declared not applicable in the manifest.
    DeclaredNotApplicable,
    /// Year T's revenue in thousands while the budget stays in units: every row is valid,
    /// but the cost of collection goes far above 100 % (the review's `outside_range`).
    RevenueInThousands,
    /// Year T's training hours entered in minutes: valid rows, training per staff member
    /// sixty times what it was and far above the peers' (`peer_outlier`, `value_change`).
    TrainingInMinutes,
    /// Year T's information requests from one system only, a tenth of the usual count: the
    /// review's `count_change`.
    LostFeed,
}

/// Which member (by index: 0 is XA) gets which fault.
pub(crate) const FAULTS: [(usize, Fault); 10] = [
    (0, Fault::RevenueInThousands),
    (1, Fault::TrainingInMinutes),
    (2, Fault::ManifestNamesAnotherMember),
    (3, Fault::NoPriorYear),
    (4, Fault::TooManyInvalidRows),
    (5, Fault::SameDatasetTwice),
    (6, Fault::FewInvalidDates),
    (7, Fault::CorruptGzip),
    (8, Fault::DeclaredNotApplicable),
    (9, Fault::LostFeed),
];

/// The fault of member `i`, when faults are on.
pub(crate) fn fault_of(i: usize, faults_on: bool) -> Option<Fault> {
    FAULTS
        .iter()
        .find(|(member, _)| faults_on && *member == i)
        .map(|(_, fault)| *fault)
}

/// Year T's `dataset` rows as a member with `fault` sends them: the planted anomalies change
/// figures, never validity (every row still passes the contract).
pub(crate) fn plant(fault: Option<Fault>, dataset: &str, batch: RecordBatch) -> Batch {
    let scaled = |batch: &RecordBatch, columns: &[&str], by: f64| -> Batch {
        let mut arrays = batch.columns().to_vec();
        for name in columns {
            let i = batch.schema().index_of(name)?;
            let values = arrays[i]
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| ArrowError::SchemaError(format!("{name} is not Float64")))?;
            let scaled: Float64Array = values.iter().map(|v| v.map(|v| (v * by).round())).collect();
            arrays[i] = Arc::new(scaled);
        }
        RecordBatch::try_new(batch.schema(), arrays)
    };
    match (fault, dataset) {
        (Some(Fault::RevenueInThousands), "revenue") => scaled(
            &batch,
            &["assessed", "collected", "arrears_end"],
            1.0 / 1000.0,
        ),
        (Some(Fault::TrainingInMinutes), "staff") => scaled(&batch, &["training_hours"], 60.0),
        (Some(Fault::LostFeed), "info_requests") => {
            let keep: BooleanArray = (0..batch.num_rows()).map(|i| Some(i % 10 == 0)).collect();
            filter_record_batch(&batch, &keep)
        }
        _ => Ok(batch),
    }
}

/// Files that belong to no member's data set: a folder of an unregistered member (QQ), a
/// folder whose name is not `member=CODE`, and an unknown file in XA's year T.
pub(crate) fn stray_files(year: i32) -> [(String, &'static [u8]); 3] {
    [
        (
            "submissions/member=QQ/year=2024/declarations.csv".to_string(),
            b"declaration_id\n",
        ),
        (
            "submissions/member=xa-old/notes.txt".to_string(),
            b"not a member folder\n",
        ),
        (
            format!(
                "submissions/member={}/year={year}/notes.txt",
                crate::member_code(0)
            ),
            b"an unknown file\n",
        ),
    ]
}
