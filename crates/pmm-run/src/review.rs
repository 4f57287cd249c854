//! What the plausibility review reads, gathered from a run's (or a dry run's) reading: the
//! valid row counts of accepted datasets and the members' explanations. The rules themselves
//! are `pmm_results::review`. Also what `pmm review` reads: the latest run's flags.

use std::collections::BTreeMap;

use pmm_catalog::SubmissionManifest;
use pmm_ingest::DatasetOutcome;
use pmm_publish::published::{LoadError, latest_run, read_manifest, read_review};
use pmm_results::ReviewFlag;
use pmm_store::StoreRoot;

use crate::run::SubmissionStatus;

/// The review flags of the latest run published at a results location.
#[derive(Debug)]
pub struct PublishedReview {
    /// The run.
    pub run_id: String,
    /// Its pipeline.
    pub pipeline: String,
    /// Its reporting year.
    pub year: i32,
    /// Its flags, every member, sorted by member, subject and rule.
    pub flags: Vec<ReviewFlag>,
}

/// The flags of the run `latest.json` names at `results` (`pmm review`).
pub async fn published_review(results: &StoreRoot) -> Result<PublishedReview, LoadError> {
    let latest = latest_run(results).await?;
    let manifest = read_manifest(results, &latest.path).await?;
    let flags = read_review(results, &latest.path).await?.ok_or_else(|| {
        LoadError::Invalid {
            path: results.shown(&latest.path),
            message: format!(
                "run {} has no review_flags: it was published by a pmm older than the plausibility review, or not for the secretariat audience; run the pipeline again",
                manifest.run_id
            ),
        }
    })?;
    Ok(PublishedReview {
        run_id: manifest.run_id,
        pipeline: manifest.pipeline,
        year: manifest.year,
        flags: flags.into_iter().map(|(_, f)| f).collect(),
    })
}

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
