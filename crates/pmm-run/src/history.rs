//! The history across cycles: the history a run publishes is the one the run before it
//! published (the run `latest.json` named), plus a row for every (member, KPI, year T) whose
//! value, status, score, level, disclosure or definition differs from its current row, or
//! that has none. Rows are never dropped; a replaced row names the run that replaced it.
//!
//! Each audience's history is built from that audience's previous history and the rows it may
//! see of this run, so it never holds a row above its level, and a KPI a member restricts
//! later stays in a wider audience's history as it was last shown to it.
//!
//! A restatement says why, in words a reader can act on: which of the member's inputs for T or
//! T-1 differ (by fingerprint) between the run that published the replaced row and this run,
//! among the datasets the KPI reads; or that the definition changed, and whether a revision
//! declares the change comparable.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{concat_batches, filter_record_batch};
use datafusion::arrow::error::ArrowError;
use pmm_catalog::{Catalog, Disclosure, Status};
use pmm_ingest::InputRecord;
use pmm_publish::CurrentRun;
use pmm_publish::published::{self, LoadError};
use pmm_results::{
    Change, HistoryColumns, HistoryRow, INDICATOR_HISTORY, IndicatorRow, ResultTables,
    ResultsError, column,
};
use pmm_store::{StoreRoot, layout};

use crate::run::RunError;

mod causes;
use causes::{compare, undeclared};

/// The run that adds to the history.
pub(crate) struct ThisRun<'a> {
    /// Its id.
    pub run_id: &'a str,
    /// When it finished (RFC 3339).
    pub published_at: &'a str,
    /// Its reporting year T.
    pub year: i32,
    /// Every input it read or reused.
    pub inputs: &'a [InputRecord],
}

/// The inputs of earlier runs, by run id, as their manifests list them (a run whose manifest
/// cannot be read is absent: its restatements say the inputs are unknown).
pub(crate) type EarlierInputs = HashMap<String, Vec<InputRecord>>;

/// Every audience's next history and what the run learnt on the way.
pub(crate) struct Histories {
    /// Each audience's next history, as the table it is written as.
    pub rows: BTreeMap<Disclosure, RecordBatch>,
    /// Definitions changed with no revision declared.
    pub warnings: Vec<String>,
    /// The run of a later year than this one's, which stays the one readers are shown.
    pub later_current: Option<CurrentRun>,
    /// The current value of each (member, KPI) for the year before this run's, where it is
    /// `ok`, in the Secretariat's previous history (for the review's `value_change`).
    pub year_before: BTreeMap<(String, String), f64>,
}

/// Every audience's next history, from the history of the run `latest.json` names at
/// `results` (none when nothing is published yet), and the warnings about definitions.
pub(crate) async fn next_histories(
    results: &StoreRoot,
    catalog: &Catalog,
    tables: &ResultTables,
    audiences: &[Disclosure],
    run: &ThisRun<'_>,
) -> Result<Histories, RunError> {
    let failed = |e: LoadError| {
        RunError::FailedBecause {
        context: "cannot read the history of the latest run, so this run cannot add to it (nothing new was published)".into(),
        source: e.into(),
    }
    };
    let pointer = match published::latest_run(results).await {
        Ok(pointer) => Some(pointer),
        Err(LoadError::NothingPublished(_)) => None,
        Err(e) => return Err(failed(e)),
    };
    let later_current = pointer
        .as_ref()
        .and_then(|p| p.current_run())
        .filter(|c| c.year > run.year);
    let previous_run = pointer.map(|p| p.path);
    let clock = std::time::Instant::now();
    // Each audience's previous history, read and decoded side by side.
    let mut previous: BTreeMap<Disclosure, RecordBatch> = BTreeMap::new();
    if let Some(path) = &previous_run {
        let reads = Disclosure::ALL.map(|audience| {
            let (results, path) = (results.clone(), path.clone());
            tokio::spawn(async move {
                let batch = published::read_history(&results, &path, audience).await;
                (audience, batch)
            })
        });
        for read in futures::future::join_all(reads).await {
            let (audience, batch) = read.map_err(|e| RunError::FailedBecause {
                context: "reading the history of the latest run stopped".into(),
                source: e.into(),
            })?;
            if let Some(batch) = batch.map_err(failed)? {
                previous.insert(audience, batch);
            }
        }
    }
    tracing::debug!(
        rows = previous.values().map(RecordBatch::num_rows).sum::<usize>(),
        seconds = clock.elapsed().as_secs_f64(),
        "read the previous histories"
    );
    let table = |e: ResultsError| failed(LoadError::Table(e));
    // The inputs of the runs whose rows for T this run may replace, for the causes.
    let mut runs: BTreeSet<String> = BTreeSet::new();
    for batch in previous.values() {
        let columns = HistoryColumns::of(batch).map_err(table)?;
        for i in 0..columns.len() {
            if columns.is_current(i) && columns.year(i) == i64::from(run.year) {
                runs.insert(columns.run_id(i).to_string());
            }
        }
    }
    let mut earlier = EarlierInputs::new();
    for id in runs {
        if let Ok(manifest) = published::read_manifest(results, &layout::results::run(&id)).await {
            earlier.insert(id, manifest.inputs);
        }
    }
    // Each audience's next history, side by side.
    let mut starts = Vec::new();
    for &audience in audiences {
        // An audience this results location has no history for yet starts from what it may
        // see of the Secretariat's.
        let before = match previous.get(&audience) {
            Some(batch) => batch.clone(),
            None => match previous.get(&Disclosure::Secretariat) {
                Some(batch) => seen_by(batch, audience).map_err(table)?,
                None => RecordBatch::new_empty(INDICATOR_HISTORY.schema()),
            },
        };
        starts.push((audience, before, tables.for_audience(audience)));
    }
    let earlier = &earlier;
    let built: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = starts
            .iter()
            .map(|(audience, before, view)| {
                scope.spawn(move || {
                    let mut warnings = BTreeSet::new();
                    let rows = next_history(
                        catalog,
                        before,
                        &view.indicators,
                        run,
                        earlier,
                        &mut warnings,
                    );
                    (*audience, rows, warnings)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut warnings = BTreeSet::new();
    let mut next = BTreeMap::new();
    for (audience, rows, found) in built {
        next.insert(audience, rows.map_err(table)?);
        warnings.extend(found);
    }
    let mut year_before = BTreeMap::new();
    if let Some(batch) = previous.get(&Disclosure::Secretariat) {
        let columns = HistoryColumns::of(batch).map_err(table)?;
        for i in 0..columns.len() {
            if columns.is_current(i) && columns.year(i) == i64::from(run.year - 1) {
                let row = columns.row(i).map_err(table)?;
                if let (Status::Ok, Some(value)) = (row.status, row.value) {
                    year_before.insert((row.member, row.indicator), value);
                }
            }
        }
    }
    tracing::debug!(
        rows = next.values().map(RecordBatch::num_rows).sum::<usize>(),
        seconds = clock.elapsed().as_secs_f64(),
        "built the next histories"
    );
    Ok(Histories {
        rows: next,
        warnings: warnings.into_iter().collect(),
        later_current,
        year_before,
    })
}

/// The history published at `results` for `audience`: the newest, in the folder of the run
/// `latest.json` names.
pub async fn published_history(
    results: &StoreRoot,
    audience: Disclosure,
) -> Result<Vec<HistoryRow>, LoadError> {
    let latest = published::latest_run(results).await?;
    let batch = published::read_table(results, &latest.path, audience, &INDICATOR_HISTORY).await?;
    pmm_results::history::decode(&batch).map_err(LoadError::Table)
}

/// The rows of a history `audience` may see.
fn seen_by(batch: &RecordBatch, audience: Disclosure) -> Result<RecordBatch, ResultsError> {
    let columns = HistoryColumns::of(batch)?;
    let mask: BooleanArray = (0..columns.len())
        .map(|i| Some(columns.disclosure(i).is_some_and(|d| audience.may_see(d))))
        .collect();
    filter_record_batch(batch, &mask).map_err(arrow_problem)
}

fn arrow_problem(e: ArrowError) -> ResultsError {
    ResultsError::Table {
        table: INDICATOR_HISTORY.name.into(),
        reason: e.to_string(),
    }
}

/// The next history of one audience, and the warnings about definitions changed with no
/// revision declared. Works on the table as it is: the previous rows are kept as they were
/// read, in their order (only `superseded_by` and `comparable` are rewritten), and this run's
/// rows are appended, by member and KPI: the file is a log in the order rows were published,
/// so a long history costs one copy, not a decoding or a sort.
pub(crate) fn next_history(
    catalog: &Catalog,
    previous: &RecordBatch,
    current: &[IndicatorRow],
    run: &ThisRun<'_>,
    earlier: &EarlierInputs,
    warnings: &mut BTreeSet<String>,
) -> Result<RecordBatch, ResultsError> {
    let columns = HistoryColumns::of(previous)?;
    // The current row of each (member, KPI) for year T, by index: only year T's rows can be
    // replaced by this run.
    let mut current_at: foldhash::HashMap<(&str, &str), usize> = foldhash::HashMap::default();
    for i in 0..columns.len() {
        if columns.is_current(i) && columns.year(i) == i64::from(run.year) {
            current_at.insert((columns.member(i), columns.indicator(i)), i);
        }
    }
    let mut replaced = vec![false; columns.len()];
    let mut added = Vec::new();
    for row in current {
        let old = current_at
            .get(&(row.member.as_str(), row.indicator.as_str()))
            .copied();
        let (change, cause) = match old {
            None => (Change::First, None),
            Some(i) => match compare(catalog, &columns.row(i)?, row, run, earlier, warnings) {
                Some(found) => found,
                None => continue,
            },
        };
        if let Some(i) = old {
            replaced[i] = true;
        }
        added.push(HistoryRow {
            member: row.member.clone(),
            indicator: row.indicator.clone(),
            year: run.year,
            status: row.status,
            value: row.value,
            score: row.score,
            level: row.level,
            unit: row.unit,
            disclosure: row.disclosure,
            definition_hash: row.definition_hash.clone(),
            catalog_version: catalog.version.clone(),
            comparable: true,
            run_id: run.run_id.to_string(),
            published_at: run.published_at.to_string(),
            superseded_by: None,
            change,
            cause,
        });
    }
    if added.is_empty() {
        // An unchanged re-run: nothing is replaced and no series changes.
        return Ok(previous.clone());
    }
    added.sort_by(|a, b| (&a.member, &a.indicator).cmp(&(&b.member, &b.indicator)));
    let kept_comparable = mark_comparable(catalog, &columns, &replaced, &mut added, warnings);
    // The previous rows, the replaced ones naming this run.
    let superseded: StringArray = (0..columns.len())
        .map(|i| {
            if replaced[i] {
                Some(run.run_id)
            } else {
                columns.superseded_by(i)
            }
        })
        .collect();
    let schema = INDICATOR_HISTORY.schema();
    let at = |name: &str| schema.index_of(name).map_err(arrow_problem);
    let mut kept = previous.columns().to_vec();
    kept[at(column::SUPERSEDED_BY)?] = Arc::new(superseded);
    kept[at(column::COMPARABLE)?] = Arc::new(kept_comparable);
    let kept = RecordBatch::try_new(schema.clone(), kept).map_err(arrow_problem)?;
    let added = pmm_results::history::encode(&added).map_err(arrow_problem)?;
    concat_batches(&schema, [&kept, &added]).map_err(arrow_problem)
}

/// A current row of a series: of the previous history, or one this run adds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Current {
    Kept(usize),
    Added(usize),
}

/// `comparable` for every row: for a current row, true for the first year of a member's
/// series, and after it, true when its definition is the previous year's or a revision of its
/// catalog version declares the change comparable (with the catalog of this run, so a revision
/// declared after a warning takes effect at the next run); a replaced row keeps what it had.
/// Sets it on the `added` rows and returns it for the previous history's rows (`replaced`
/// ones are no longer current). A change no revision declares, met by a row this run adds, is a
/// warning.
fn mark_comparable(
    catalog: &Catalog,
    previous: &HistoryColumns<'_>,
    replaced: &[bool],
    added: &mut [HistoryRow],
    warnings: &mut BTreeSet<String>,
) -> BooleanArray {
    let current = |i: usize| previous.is_current(i) && !replaced[i];
    // A KPI whose current rows all have one definition is comparable everywhere: only the
    // series of KPIs with several definitions are put in order of years.
    let mut definitions: foldhash::HashMap<&str, (&str, bool)> = foldhash::HashMap::default();
    let mut note = |indicator, hash| {
        let (first, several) = definitions.entry(indicator).or_insert((hash, false));
        *several |= *first != hash;
    };
    for i in (0..previous.len()).filter(|&i| current(i)) {
        note(previous.indicator(i), previous.definition_hash(i));
    }
    for row in added.iter() {
        note(row.indicator.as_str(), row.definition_hash.as_str());
    }
    let several = |indicator: &str| definitions.get(indicator).is_some_and(|d| d.1);
    let mut kept: Vec<bool> = (0..previous.len())
        .map(|i| {
            if current(i) {
                true
            } else {
                previous.comparable(i)
            }
        })
        .collect();
    let mut series: foldhash::HashMap<(&str, &str), Vec<(i64, Current)>> =
        foldhash::HashMap::default();
    for i in (0..previous.len()).filter(|&i| current(i) && several(previous.indicator(i))) {
        series
            .entry((previous.member(i), previous.indicator(i)))
            .or_default()
            .push((previous.year(i), Current::Kept(i)));
    }
    for (j, row) in added.iter().enumerate() {
        if several(&row.indicator) {
            series
                .entry((row.member.as_str(), row.indicator.as_str()))
                .or_default()
                .push((i64::from(row.year), Current::Added(j)));
        }
    }
    let definition = |at: Current| match at {
        Current::Kept(i) => (previous.definition_hash(i), previous.catalog_version(i)),
        Current::Added(j) => (added[j].definition_hash.as_str(), catalog.version.as_str()),
    };
    let mut marks = Vec::new();
    for ((_, indicator), mut years) in series {
        years.sort_unstable();
        let kpi = catalog.indicator(indicator);
        for pair in years.windows(2) {
            let (before, at) = (pair[0].1, pair[1].1);
            let ((hash_before, version_before), (hash, version)) =
                (definition(before), definition(at));
            if hash_before == hash {
                continue;
            }
            let revision = kpi.and_then(|k| k.revision(version));
            if revision.is_none()
                && (matches!(before, Current::Added(_)) || matches!(at, Current::Added(_)))
            {
                warnings.insert(undeclared(indicator, version_before, version));
            }
            marks.push((at, revision.is_some_and(|r| r.comparable)));
        }
    }
    for (at, comparable) in marks {
        match at {
            Current::Kept(i) => kept[i] = comparable,
            Current::Added(j) => added[j].comparable = comparable,
        }
    }
    BooleanArray::from(kept)
}

#[cfg(test)]
mod tests;
