//! What a member's `report.html` is made from: a dry run ([`DryRun::report_input`]), or a
//! published run read back as one audience sees it ([`PublishedReport::load`], for `pmm
//! report`), and the public peer statistics a dry run compares with ([`published_peers`]).
//! The CLI only renders and writes the page.

use std::collections::BTreeMap;
use std::path::Path;

use pmm_catalog::{Catalog, Disclosure, StorageSettings, StoreLocation, SubmissionManifest};
use pmm_ingest::{DatasetOutcome, EntryKind, StagedEntry, StagingArea};
use pmm_publish::RunManifest;
use pmm_publish::published::{
    LoadError, latest_run, read_history, read_manifest, read_review, read_table,
};
use pmm_report::{DatasetFile, Lang, Origin, RecordBatch, ReportInput};
use pmm_results::{
    DIMENSION_SCORES, HistoryRow, INDICATOR_VALUES, OUTCOME_SCORES, PEER_STATS, ReviewFlag,
    VALIDATION_ISSUES,
};
use pmm_store::{StoreRoot, layout, open_store};

use crate::dry_run::DryRun;

/// No KPI declared not applicable.
const NOTHING_DECLARED: &BTreeMap<String, Option<String>> = &BTreeMap::new();

/// A dataset file as the report and `summary.json` show it: what validation found of it in
/// `year`, and why it was rejected.
pub(crate) fn dataset_file(year: i32, outcome: &DatasetOutcome) -> DatasetFile {
    DatasetFile {
        dataset: outcome.dataset.clone(),
        year,
        file: outcome.file.clone(),
        accepted: outcome.accepted,
        rows_read: outcome.rows_read,
        rows_rejected: outcome.rows_invalid,
        reason: outcome.rejection(),
    }
}

impl DryRun {
    /// The report's input: the member's own view (the Secretariat's level), compared with
    /// `peers` when given.
    pub fn report_input<'a>(
        &'a self,
        catalog: &'a Catalog,
        lang: Lang,
        member_name: Option<&'a str>,
        peers: Option<&'a RecordBatch>,
    ) -> ReportInput<'a> {
        let summary = &self.summary;
        ReportInput {
            catalog,
            lang,
            member: &summary.member,
            member_name,
            year: summary.year,
            origin: Origin::DryRun {
                data: summary.data.clone(),
            },
            audience: Disclosure::Secretariat,
            generated_at: &summary.finished_at,
            indicator_values: &self.tables.indicator_values,
            outcome_scores: &self.tables.outcome_scores,
            dimension_scores: &self.tables.dimension_scores,
            peers,
            issues: Some(&self.issues_table),
            datasets: Some(&summary.datasets),
            rejected_submissions: &summary.rejected_submissions,
            not_applicable: self
                .manifest
                .as_ref()
                .map_or(NOTHING_DECLARED, |m| &m.not_applicable),
            history: None,
            review: Some(&self.summary.review),
        }
    }
}

/// Why a published run's report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportLoadError {
    /// The run, its manifest or a table cannot be read, or is not what pmm writes.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The run was not published for the audience asked for.
    #[error("run {run_id} was not published for the {audience} audience (it was for: {published})")]
    NotForAudience {
        /// The run.
        run_id: String,
        /// The audience asked for.
        audience: Disclosure,
        /// The audiences it was published for.
        published: String,
    },
}

/// A published run as one audience sees it, with what the report shows of one member.
#[derive(Debug)]
pub struct PublishedReport {
    /// The run's manifest.
    pub manifest: RunManifest,
    /// The results location, for people.
    pub results: String,
    /// Whose view.
    pub audience: Disclosure,
    /// `indicator_values` of the audience.
    pub indicator_values: RecordBatch,
    /// `outcome_scores` of the audience.
    pub outcome_scores: RecordBatch,
    /// `dimension_scores` of the audience.
    pub dimension_scores: RecordBatch,
    /// `peer_stats` of the audience.
    pub peer_stats: RecordBatch,
    /// `validation_issues` (the Secretariat's only).
    pub issues: Option<RecordBatch>,
    /// What validation found of each of the member's files (the Secretariat's only, and only
    /// while the run's staging area can be read).
    pub datasets: Option<Vec<DatasetFile>>,
    /// Why a whole submission was rejected, by year (in the issues, under the `manifest`
    /// rule; none are listed apart).
    pub rejected_submissions: BTreeMap<i32, String>,
    /// The KPIs the member's manifest declared not applicable (the Secretariat's only).
    pub not_applicable: BTreeMap<String, Option<String>>,
    /// The audience's history across cycles (the newest: `latest.json`'s run's), every member.
    pub history: Vec<HistoryRow>,
    /// The run's review flags, every member (the Secretariat's only; none for a run published
    /// before the review existed).
    pub review: Option<Vec<ReviewFlag>>,
}

impl PublishedReport {
    /// Reads run `run_id` (the latest when `None`) at `root` for `audience`; what only the
    /// Secretariat sees of `member` comes from the entries the run left in its staging area.
    pub async fn load(
        root: &StoreRoot,
        run_id: Option<&str>,
        audience: Disclosure,
        member: &str,
        catalog: &Catalog,
    ) -> Result<Self, ReportLoadError> {
        // The run shown, and the run whose folder holds the newest history.
        let (path, history_run) = match run_id {
            Some(id) => (
                layout::results::run(id),
                latest_run(root).await.ok().map(|l| l.path),
            ),
            None => {
                let latest = latest_run(root).await?;
                (latest.shown().1.to_string(), Some(latest.path))
            }
        };
        let manifest = read_manifest(root, &path).await?;
        if !manifest.audiences.contains(&audience) {
            return Err(ReportLoadError::NotForAudience {
                run_id: manifest.run_id.clone(),
                audience,
                published: manifest
                    .audiences
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let read = |table| read_table(root, &path, audience, table);
        let secretariat = audience == Disclosure::Secretariat;
        let issues = if secretariat {
            Some(read(&VALIDATION_ISSUES).await?)
        } else {
            None
        };
        let (datasets, not_applicable) = if secretariat {
            staged_facts(&manifest, member, catalog).await
        } else {
            (None, BTreeMap::new())
        };
        let review = if secretariat {
            read_review(root, &path)
                .await?
                .map(|flags| flags.into_iter().map(|(_, f)| f).collect())
        } else {
            None
        };
        let history = match &history_run {
            None => Vec::new(),
            Some(run) => match read_history(root, run, audience).await? {
                Some(batch) => pmm_results::history::decode(&batch).map_err(LoadError::Table)?,
                None => Vec::new(),
            },
        };
        Ok(PublishedReport {
            history,
            review,
            indicator_values: read(&INDICATOR_VALUES).await?,
            outcome_scores: read(&OUTCOME_SCORES).await?,
            dimension_scores: read(&DIMENSION_SCORES).await?,
            peer_stats: read(&PEER_STATS).await?,
            issues,
            datasets,
            rejected_submissions: BTreeMap::new(),
            not_applicable,
            results: root.display.clone(),
            audience,
            manifest,
        })
    }

    /// The report's input for `member`.
    pub fn report_input<'a>(
        &'a self,
        catalog: &'a Catalog,
        lang: Lang,
        member: &'a str,
        generated_at: &'a str,
    ) -> ReportInput<'a> {
        ReportInput {
            catalog,
            lang,
            member,
            member_name: None,
            year: self.manifest.year,
            origin: Origin::Published {
                run_id: self.manifest.run_id.clone(),
                results: self.results.clone(),
            },
            audience: self.audience,
            generated_at,
            indicator_values: &self.indicator_values,
            outcome_scores: &self.outcome_scores,
            dimension_scores: &self.dimension_scores,
            peers: Some(&self.peer_stats),
            issues: self.issues.as_ref(),
            datasets: self.datasets.as_deref(),
            rejected_submissions: &self.rejected_submissions,
            not_applicable: &self.not_applicable,
            history: Some(&self.history),
            review: self.review.as_deref(),
        }
    }
}

/// The public peer statistics of the latest run published at `url` (`pmm dry-run --peers`).
pub async fn published_peers(url: &str) -> Result<RecordBatch, String> {
    let location = StoreLocation::resolve(Path::new("."), url)?;
    let root =
        open_store(&location, false, &StorageSettings::default()).map_err(|e| e.to_string())?;
    let latest = latest_run(&root).await.map_err(|e| e.to_string())?;
    read_table(&root, latest.shown().1, Disclosure::Public, &PEER_STATS)
        .await
        .map_err(|e| e.to_string())
}

/// What validation found of each of `member`'s files, and what its manifest for the run's
/// year declared not applicable, from the entries the run left in its staging area. Whatever
/// cannot be read (staging removed, another store) is left out: `None` for the files.
async fn staged_facts(
    manifest: &RunManifest,
    member: &str,
    catalog: &Catalog,
) -> (Option<Vec<DatasetFile>>, BTreeMap<String, Option<String>>) {
    let mut not_applicable = BTreeMap::new();
    let Ok(location) = StoreLocation::resolve(Path::new("/"), &manifest.staging) else {
        return (None, not_applicable);
    };
    let Ok(root) = open_store(&location, false, &StorageSettings::default()) else {
        return (None, not_applicable);
    };
    let staging = StagingArea { root };
    let prefix = format!("{}/", layout::source::member_folder(member));
    let mut files = Vec::new();
    for input in manifest
        .inputs
        .iter()
        .filter(|i| i.object.path.starts_with(&prefix))
    {
        let Some(entry_path) = &input.staged else {
            continue;
        };
        let Ok(Some(entry)) = staging.get_json::<StagedEntry>(entry_path).await else {
            return (None, not_applicable);
        };
        match entry.kind {
            EntryKind::Dataset => {
                let year = entry.year;
                files.push(dataset_file(year, &entry.outcome()));
            }
            EntryKind::Manifest if entry.year == manifest.year => {
                if let Some(text) = &entry.text
                    && let Ok(parsed) = SubmissionManifest::parse(
                        Path::new(&entry.input.path),
                        text,
                        member,
                        entry.year,
                        catalog,
                    )
                {
                    not_applicable = parsed.not_applicable;
                }
            }
            EntryKind::Manifest => {}
        }
    }
    (Some(files), not_applicable)
}
