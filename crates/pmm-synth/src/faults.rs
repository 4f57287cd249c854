//! The faults `pmm synth --faults` injects, by name: which member gets which, and what a run
//! makes of it. The demo and the end-to-end tests (and their goldens) rely on each one.

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
}

/// Which member (by index: 0 is XA) gets which fault.
pub(crate) const FAULTS: [(usize, Fault); 7] = [
    (2, Fault::ManifestNamesAnotherMember),
    (3, Fault::NoPriorYear),
    (4, Fault::TooManyInvalidRows),
    (5, Fault::SameDatasetTwice),
    (6, Fault::FewInvalidDates),
    (7, Fault::CorruptGzip),
    (8, Fault::DeclaredNotApplicable),
];

/// The fault of member `i`, when faults are on.
pub(crate) fn fault_of(i: usize, faults_on: bool) -> Option<Fault> {
    FAULTS
        .iter()
        .find(|(member, _)| faults_on && *member == i)
        .map(|(_, fault)| *fault)
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
