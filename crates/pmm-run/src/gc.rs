//! `pmm gc`: removes staged data that no published run uses any more.
//!
//! Each published run leaves a reference in the staging area (`runs/<run_id>.json`, naming its
//! results location and manifest). The collector reads the manifest of every referenced run
//! that still exists, keeps every entry those manifests name (and the files each entry names),
//! and removes the rest: entries and data files of inputs no run uses, files left by runs that
//! died midway, and references to runs whose results were deleted. The latest run of every
//! results location is always among the runs read, so its data is never removed; a results
//! location that cannot be read stops the collection before anything is removed.
//!
//! Objects younger than `min_age` are kept even when unreferenced: a run in progress writes
//! its entries before its reference. And a run in progress holds a lease
//! (`leases/<run_id>.json`, written before it looks anything up, renewed every minute): while
//! a lease is live the collector removes nothing, and it looks again just before it removes
//! entries and again before it removes data files, so a run that starts during a collection
//! stops it before any file that run may read is taken. Leases that expired (a run that died)
//! are removed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path as FsPath;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use pmm_catalog::{StorageSettings, StoreLocation};
use pmm_ingest::{RunLease, RunReference, StagedEntry, StagingArea};
use pmm_publish::RunManifest;
use pmm_publish::published::{self, LoadError};
use pmm_store::{StoreRoot, layout, open_store};

/// What `pmm gc` is asked to do.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// The staging location.
    pub staging: StoreLocation,
    /// Report what would be removed, remove nothing.
    pub dry_run: bool,
    /// Unreferenced objects younger than this are kept.
    pub min_age: chrono::Duration,
    /// Timeouts and retries for the stores.
    pub storage: StorageSettings,
}

/// Objects and their total size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many objects.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.objects += 1;
        self.bytes += bytes;
    }
}

/// What `pmm gc` found and did.
#[derive(Debug, Clone, Default)]
pub struct GcReport {
    /// The runs whose manifests were read (their data is kept).
    pub runs: Vec<String>,
    /// Runs the staging area remembered whose results are gone (their references go).
    pub forgotten_runs: Vec<String>,
    /// Objects kept because a run uses them.
    pub kept: Tally,
    /// Unreferenced objects kept because they are younger than the minimum age.
    pub young: Tally,
    /// Objects removed (or, with `dry_run`, that would be), relative to the staging location,
    /// with their sizes.
    pub removed: Vec<(String, u64)>,
    /// Whether nothing was removed on purpose.
    pub dry_run: bool,
    /// The runs in progress that stopped the collection (their leases are live): nothing, or
    /// only the entries listed in `removed`, was removed.
    pub blocked_by: Vec<RunLease>,
    /// Runs published while the collection worked (their references are new): it stopped,
    /// since what it decided to remove was decided before they published.
    pub published_meanwhile: Vec<String>,
}

/// Why the collection stopped; nothing was removed.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// The staging location cannot be used.
    #[error("staging {0}")]
    Config(#[source] pmm_store::StoreError),
    /// A store could not be read or written, or held what pmm does not write there.
    #[error("{context}: {source}")]
    Failed {
        /// What was being done, and what it means for the collection.
        context: String,
        /// Why it failed.
        #[source]
        source: pmm_ingest::BoxError,
    },
}

impl GcError {
    fn failed(context: impl Into<String>, source: impl Into<pmm_ingest::BoxError>) -> Self {
        GcError::Failed {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// One object under the staging location.
struct Listed {
    relative: String,
    size: u64,
    modified: DateTime<Utc>,
}

/// Removes what no published run uses, as the module's documentation says.
pub async fn collect_garbage(options: &GcOptions) -> Result<GcReport, GcError> {
    let root = open_store(&options.staging, false, &options.storage).map_err(GcError::Config)?;
    let listed: Vec<Listed> = root
        .store
        .list(Some(&root.prefix))
        .map_ok(|meta| Listed {
            relative: root.relative(&meta.location),
            size: meta.size,
            modified: meta.last_modified,
        })
        .try_collect()
        .await
        .map_err(|e| GcError::failed(format!("cannot list {}", root.display), e))?;

    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    let staging = StagingArea { root: root.clone() };
    report.blocked_by = live_leases(&staging).await?;
    if !report.blocked_by.is_empty() {
        return Ok(report);
    }
    // The runs the staging area knows of, grouped by results location.
    let mut references: BTreeMap<String, Vec<(String, RunReference)>> = BTreeMap::new();
    for object in listed.iter().filter(|o| is_reference(&o.relative)) {
        let bytes = get(&root, &object.relative).await?;
        let reference: RunReference = serde_json::from_slice(&bytes).map_err(|e| {
            GcError::failed(
                format!(
                    "{} is not a run reference of pmm",
                    root.shown(&object.relative)
                ),
                e,
            )
        })?;
        references
            .entry(reference.results.clone())
            .or_default()
            .push((object.relative.clone(), reference));
    }

    let mut kept_entries: BTreeSet<String> = BTreeSet::new();
    let mut forgotten: Vec<String> = Vec::new();
    for (results, runs) in &references {
        let location = StoreLocation::resolve(FsPath::new("/"), results)
            .map_err(|e| GcError::failed(format!("results location {results}"), e))?;
        let results_root = open_store(&location, false, &options.storage).map_err(|e| {
            GcError::failed(
                "the results location cannot be opened: the runs it holds cannot be checked, so nothing is removed",
                e,
            )
        })?;
        let latest = match published::latest_run(&results_root).await {
            Ok(pointer) => Some(pointer.run_id),
            // Nothing published yet, or a `latest.json` another program wrote: no run is
            // protected by being the latest.
            Err(LoadError::NothingPublished(_) | LoadError::Invalid { .. }) => None,
            Err(e) => return Err(GcError::failed("reading the latest run", e)),
        };
        for (reference_path, reference) in runs {
            let manifest = match results_root
                .store
                .get(&results_root.key(&reference.manifest))
                .await
            {
                Ok(got) => got
                    .bytes()
                    .await
                    .map_err(|e| GcError::failed(results_root.shown(&reference.manifest), e))?,
                Err(object_store::Error::NotFound { .. })
                    if latest.as_deref() != Some(reference.run_id.as_str()) =>
                {
                    forgotten.push(reference_path.clone());
                    report.forgotten_runs.push(reference.run_id.clone());
                    continue;
                }
                Err(e) => {
                    return Err(GcError::failed(
                        format!(
                            "{} (run {}; nothing is removed while a run's manifest cannot be read)",
                            results_root.shown(&reference.manifest),
                            reference.run_id
                        ),
                        e,
                    ));
                }
            };
            let manifest: RunManifest = serde_json::from_slice(&manifest).map_err(|e| {
                GcError::failed(
                    format!(
                        "{} is not a run manifest of pmm",
                        results_root.shown(&reference.manifest)
                    ),
                    e,
                )
            })?;
            kept_entries.extend(manifest.inputs.iter().filter_map(|i| i.staged.clone()));
            kept_entries.extend(manifest.evaluations.iter().cloned());
            report.runs.push(reference.run_id.clone());
        }
    }

    // The files of every kept entry.
    let present: BTreeSet<&str> = listed.iter().map(|o| o.relative.as_str()).collect();
    let mut kept: BTreeSet<String> = BTreeSet::new();
    for entry_path in &kept_entries {
        if !present.contains(entry_path.as_str()) {
            continue;
        }
        kept.insert(entry_path.clone());
        if layout::staging::is_evaluation(entry_path) {
            continue; // a member's values: no files of its own
        }
        let bytes = get(&root, entry_path).await?;
        match serde_json::from_slice::<StagedEntry>(&bytes) {
            Ok(entry) => kept.extend(entry.files.into_iter().map(|f| f.path)),
            // An entry this program cannot read: keep every file of its fingerprint.
            Err(_) => {
                let stem = layout::staging::entry_stem(entry_path);
                kept.extend(
                    listed
                        .iter()
                        .filter(|o| o.relative.starts_with(stem))
                        .map(|o| o.relative.clone()),
                );
            }
        }
    }

    let cutoff = Utc::now() - options.min_age;
    let forgotten_set: BTreeSet<&str> = forgotten.iter().map(String::as_str).collect();
    let mut entries = Vec::new();
    let mut others = Vec::new();
    for object in &listed {
        if kept.contains(&object.relative) {
            report.kept.add(object.size);
        } else if layout::staging::is_lease(&object.relative) {
            // Live leases stopped the collection above; these expired (their runs died).
            others.push(object);
        } else if is_reference(&object.relative) {
            if forgotten_set.contains(object.relative.as_str()) {
                others.push(object);
            } else {
                report.kept.add(object.size);
            }
        } else if object.modified > cutoff {
            report.young.add(object.size);
        } else if object.relative.ends_with(".json") {
            entries.push(object);
        } else {
            others.push(object);
        }
    }
    // Entries first: a collection that stops midway never leaves an entry without its data.
    others.sort_by_key(|o| is_reference(&o.relative));
    for object in entries.into_iter().chain(others) {
        report.removed.push((object.relative.clone(), object.size));
    }
    if !options.dry_run {
        let known_references: BTreeSet<String> = listed
            .iter()
            .filter(|o| is_reference(&o.relative))
            .map(|o| o.relative.clone())
            .collect();
        let entries_end = report
            .removed
            .iter()
            .take_while(|(relative, _)| relative.ends_with(".json") && !is_reference(relative))
            .count();
        let phases = [0..entries_end, entries_end..report.removed.len()];
        // Look again just before each phase: a run that started since the first look holds a
        // lease now, and stops the collection before it takes anything that run may read.
        for phase in phases {
            let blocked = live_leases(&staging).await?;
            let published = new_references(&root, &known_references).await?;
            if !blocked.is_empty() || !published.is_empty() {
                report.blocked_by = blocked;
                report.published_meanwhile = published;
                report.removed.truncate(phase.start);
                return Ok(report);
            }
            for (relative, _) in &report.removed[phase] {
                match root.store.delete(&root.key(relative)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => {
                        return Err(GcError::failed(
                            format!("cannot remove {}", root.shown(relative)),
                            e,
                        ));
                    }
                }
            }
        }
    }
    Ok(report)
}

/// The runs whose references appeared since the collection listed the staging area: runs
/// that published while it worked (one may have begun and ended between two looks at the
/// leases).
async fn new_references(
    root: &StoreRoot,
    known: &BTreeSet<String>,
) -> Result<Vec<String>, GcError> {
    let runs: Vec<_> = root
        .store
        .list(Some(&root.key(layout::staging::REFERENCES)))
        .try_collect()
        .await
        .map_err(|e| {
            GcError::failed(
                format!("cannot list {}", root.shown(layout::staging::REFERENCES)),
                e,
            )
        })?;
    Ok(runs
        .iter()
        .map(|meta| root.relative(&meta.location))
        .filter(|relative| !known.contains(relative))
        .filter_map(|relative| layout::staging::reference_run(&relative).map(str::to_string))
        .collect())
}

/// The leases of runs in progress.
async fn live_leases(staging: &StagingArea) -> Result<Vec<RunLease>, GcError> {
    let now = Utc::now();
    Ok(staging
        .leases()
        .await
        .map_err(|e| GcError::failed("cannot read the runs' leases", e))?
        .into_iter()
        .map(|(_, lease)| lease)
        .filter(|lease| lease.is_live(now))
        .collect())
}

/// Whether a staged object is a run's reference.
fn is_reference(relative: &str) -> bool {
    layout::staging::reference_run(relative).is_some()
}

async fn get(root: &StoreRoot, relative: &str) -> Result<bytes::Bytes, GcError> {
    let key: Path = root.key(relative);
    async { root.store.get(&key).await?.bytes().await }
        .await
        .map_err(|e| GcError::failed(format!("cannot read {}", root.shown(relative)), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_recognised_by_their_folder() {
        assert!(is_reference("runs/20240101T000000Z-abcdef.json"));
        assert!(!is_reference("member=XA/year=2024/declarations/abc.json"));
        assert!(!is_reference("runs/x.parquet"));
    }
}
