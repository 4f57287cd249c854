//! What the plausibility review reads, gathered from a run's (or a dry run's) reading: the
//! valid row counts of accepted datasets and the members' explanations. The rules themselves
//! are `pmm_results::review`.

use std::collections::BTreeMap;

use pmm_catalog::SubmissionManifest;
use pmm_ingest::DatasetOutcome;

use crate::run::SubmissionStatus;

/// The valid row count (rows read less rows left out) of each accepted dataset of each
/// accepted submission, by (member, dataset, year); several accepted files of one dataset add
/// up.
pub(crate) fn accepted_counts(
    datasets: &BTreeMap<String, Vec<(i32, DatasetOutcome)>>,
    statuses: &[SubmissionStatus],
) -> BTreeMap<(String, String, i32), u64> {
    let rejected = |member: &str, year: i32| {
        statuses
            .iter()
            .any(|s| s.member == member && s.year == year && s.rejected.is_some())
    };
    let mut counts = BTreeMap::new();
    for (member, outcomes) in datasets {
        for (year, outcome) in outcomes {
            if outcome.accepted && !rejected(member, *year) {
                *counts
                    .entry((member.clone(), outcome.dataset.clone(), *year))
                    .or_insert(0) += outcome.rows_read.saturating_sub(outcome.rows_invalid);
            }
        }
    }
    counts
}

/// Each member's explanations, from its valid manifest for year T.
pub(crate) fn explanations(
    manifests: &BTreeMap<String, (Option<SubmissionManifest>, bool)>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    manifests
        .iter()
        .filter_map(|(member, (manifest, _))| {
            let manifest = manifest.as_ref()?;
            (!manifest.explanations.is_empty())
                .then(|| (member.clone(), manifest.explanations.clone()))
        })
        .collect()
}
