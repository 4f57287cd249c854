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

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{
    SortColumn, concat_batches, filter_record_batch, lexsort_to_indices, take_record_batch,
};
use datafusion::arrow::error::ArrowError;
use pmm_catalog::{Catalog, Disclosure};
use pmm_ingest::InputRecord;
use pmm_publish::CurrentRun;
use pmm_publish::published::{self, LoadError};
use pmm_results::{
    Change, HistoryColumns, HistoryRow, INDICATOR_HISTORY, IndicatorRow, ResultTables,
    ResultsError, column,
};
use pmm_store::{StoreRoot, layout};

use crate::run::RunError;

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
    let mut previous: BTreeMap<Disclosure, RecordBatch> = BTreeMap::new();
    if let Some(path) = &previous_run {
        for audience in Disclosure::ALL {
            if let Some(batch) = published::read_history(results, path, audience)
                .await
                .map_err(failed)?
            {
                previous.insert(audience, batch);
            }
        }
    }
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
    let mut warnings = BTreeSet::new();
    let mut next = BTreeMap::new();
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
        let view = tables.for_audience(audience);
        let rows = next_history(
            catalog,
            &before,
            &view.indicators,
            run,
            &earlier,
            &mut warnings,
        )
        .map_err(table)?;
        next.insert(audience, rows);
    }
    Ok(Histories {
        rows: next,
        warnings: warnings.into_iter().collect(),
        later_current,
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
/// read (only `superseded_by` and `comparable` are rewritten), this run's rows are appended,
/// and the whole is put in order, so a long history costs a copy, not a decoding.
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
    let mut current_at: HashMap<(&str, &str), usize> = HashMap::new();
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
    let kept = RecordBatch::try_new(schema.clone(), kept).map_err(arrow_problem)?;
    let added = pmm_results::history::encode(&added).map_err(arrow_problem)?;
    let all = concat_batches(&schema, [&kept, &added]).map_err(arrow_problem)?;
    // Series together, each year's versions in the order they were published.
    let position: ArrayRef = Arc::new(UInt32Array::from_iter_values(
        0..u32::try_from(all.num_rows()).unwrap_or(u32::MAX),
    ));
    let key = |name: &str| -> Result<SortColumn, ResultsError> {
        Ok(SortColumn {
            values: all.column(at(name)?).clone(),
            options: None,
        })
    };
    let order = lexsort_to_indices(
        &[
            key(column::MEMBER)?,
            key(column::INDICATOR)?,
            key(column::YEAR)?,
            SortColumn {
                values: position,
                options: None,
            },
        ],
        None,
    )
    .map_err(arrow_problem)?;
    let sorted = take_record_batch(&all, &order).map_err(arrow_problem)?;
    let comparable = mark_comparable(catalog, &sorted, run.run_id, warnings)?;
    let mut columns = sorted.columns().to_vec();
    columns[at(column::COMPARABLE)?] = Arc::new(comparable);
    RecordBatch::try_new(schema, columns).map_err(arrow_problem)
}

/// How `row` differs from `old`, the current row of its (member, KPI, year): `None` when it
/// does not.
fn compare(
    catalog: &Catalog,
    old: &HistoryRow,
    row: &IndicatorRow,
    run: &ThisRun<'_>,
    earlier: &EarlierInputs,
    warnings: &mut BTreeSet<String>,
) -> Option<(Change, Option<String>)> {
    if old.definition_hash != row.definition_hash {
        let revision = catalog
            .indicator(&row.indicator)
            .and_then(|i| i.revision(&catalog.version));
        let cause = match revision {
            Some(r) => format!(
                "definition changed in {}: {} ({})",
                catalog.version,
                r.note,
                if r.comparable {
                    "declared comparable"
                } else {
                    "declared not comparable"
                }
            ),
            None => {
                warnings.insert(undeclared(
                    &row.indicator,
                    &old.catalog_version,
                    &catalog.version,
                ));
                format!(
                    "definition changed (catalog {} to {}) with no revision declared",
                    old.catalog_version, catalog.version
                )
            }
        };
        return Some((Change::DefinitionChanged, Some(cause)));
    }
    let change = if old.status != row.status {
        Change::StatusChanged
    } else if old.value != row.value || old.score != row.score || old.level != row.level {
        Change::Restated
    } else if old.disclosure != row.disclosure {
        return Some((
            Change::DisclosureChanged,
            Some(format!(
                "disclosure changed from {} to {}",
                old.disclosure, row.disclosure
            )),
        ));
    } else {
        return None;
    };
    Some((change, Some(input_cause(catalog, old, row, run, earlier))))
}

/// Which of the member's inputs that the KPI reads differ between the run of `old` and this
/// one, in words.
fn input_cause(
    catalog: &Catalog,
    old: &HistoryRow,
    row: &IndicatorRow,
    run: &ThisRun<'_>,
    earlier: &EarlierInputs,
) -> String {
    let Some(before) = earlier.get(&old.run_id) else {
        return format!(
            "the inputs of run {} cannot be read (its manifest is gone): the cause is unknown",
            old.run_id
        );
    };
    let read: BTreeSet<&str> = catalog
        .indicator(&row.indicator)
        .map(|i| i.datasets.iter().map(|d| d.name.as_str()).collect())
        .unwrap_or_default();
    let years = [run.year, run.year - 1];
    let fingerprints = |inputs: &[InputRecord]| -> BTreeMap<(i32, String), Option<String>> {
        inputs
            .iter()
            .filter_map(|i| {
                let (year, name) = member_input(&i.object.path, &row.member)?;
                (years.contains(&year)
                    && (read.contains(name.as_str()) || name == layout::staging::MANIFEST))
                    .then(|| ((year, name), i.fingerprint.clone()))
            })
            .collect()
    };
    let (was, now) = (fingerprints(before), fingerprints(run.inputs));
    let keys: BTreeSet<&(i32, String)> = was.keys().chain(now.keys()).collect();
    let short = |f: &Option<String>| {
        f.as_deref().map_or("unread".to_string(), |f| {
            format!("{}...", &f[..f.len().min(8)])
        })
    };
    let mut causes = Vec::new();
    for key @ (year, dataset) in keys {
        let folder = layout::source::year_folder(&row.member, *year);
        match (was.get(key), now.get(key)) {
            (Some(a), Some(b)) if a != b => causes.push(format!(
                "{dataset}: {folder} re-submitted (was {}, now {})",
                short(a),
                short(b)
            )),
            (None, Some(_)) => causes.push(format!("{dataset}: {folder} submitted")),
            (Some(_), None) => causes.push(format!("{dataset}: {folder} no longer submitted")),
            _ => {}
        }
    }
    if causes.is_empty() {
        "the member's inputs are the same: the pipeline's scoring settings, the members registry or the other members' data (peer-dependent scores) changed".into()
    } else {
        causes.join("; ")
    }
}

/// The warning for a definition that changed with no revision declared.
fn undeclared(indicator: &str, before: &str, version: &str) -> String {
    format!(
        "{indicator}: its definition changed since catalog {before} but it declares no revision for {version}: its values before and after are not comparable (add `revisions: [{{version: \"{version}\", comparable: ..., note: ...}}]` to its file)"
    )
}

/// The year and dataset (or `manifest`) of a submitted object's path, when it is `member`'s:
/// `member=XA/year=2023/declarations.csv.gz` gives `(2023, "declarations")`.
fn member_input(path: &str, member: &str) -> Option<(i32, String)> {
    let mut parts = path.split('/');
    let code = layout::source::member_of(parts.next()?)?;
    if code != member {
        return None;
    }
    let year = layout::source::year_of(parts.next()?)?.parse().ok()?;
    let name = parts.next()?;
    let stem = name.split('.').next()?.to_string();
    Some((year, stem))
}

/// `comparable` for every row of `rows` (sorted by member, KPI and year): for a current row,
/// true for the first year of a member's series, and after it, true when its definition is
/// the previous year's or a revision of its catalog version declares the change comparable;
/// a replaced row keeps what it had. A change no revision declares, met by a row this run
/// added, is a warning. One pass, no allocation but the warnings.
fn mark_comparable(
    catalog: &Catalog,
    rows: &RecordBatch,
    run_id: &str,
    warnings: &mut BTreeSet<String>,
) -> Result<BooleanArray, ResultsError> {
    let columns = HistoryColumns::of(rows)?;
    let kept = rows
        .column_by_name(column::COMPARABLE)
        .and_then(|a| a.as_any().downcast_ref::<BooleanArray>())
        .ok_or_else(|| arrow_problem(ArrowError::SchemaError("no comparable column".into())))?;
    let mut out = Vec::with_capacity(columns.len());
    let mut previous: Option<usize> = None;
    let mut kpi: Option<&pmm_catalog::Indicator> = None;
    for i in 0..columns.len() {
        if !columns.is_current(i) {
            out.push(kept.is_valid(i) && kept.value(i));
            continue;
        }
        let same_series = previous.is_some_and(|p| {
            columns.member(p) == columns.member(i) && columns.indicator(p) == columns.indicator(i)
        });
        if !same_series {
            previous = None;
            kpi = catalog.indicator(columns.indicator(i));
        }
        let comparable = match previous {
            None => true,
            Some(p) if columns.definition_hash(p) == columns.definition_hash(i) => true,
            Some(p) => {
                let revision = kpi.and_then(|k| k.revision(columns.catalog_version(i)));
                if revision.is_none()
                    && (columns.run_id(i) == run_id || columns.run_id(p) == run_id)
                {
                    warnings.insert(undeclared(
                        columns.indicator(i),
                        columns.catalog_version(p),
                        columns.catalog_version(i),
                    ));
                }
                revision.is_some_and(|r| r.comparable)
            }
        };
        out.push(comparable);
        previous = Some(i);
    }
    Ok(BooleanArray::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submitted_path_gives_its_year_and_dataset() {
        assert_eq!(
            member_input("member=XA/year=2023/declarations.csv.gz", "XA"),
            Some((2023, "declarations".into()))
        );
        assert_eq!(
            member_input("member=XA/year=2023/manifest.yaml", "XA"),
            Some((2023, "manifest".into()))
        );
        assert_eq!(member_input("member=XB/year=2023/staff.csv", "XA"), None);
        assert_eq!(member_input("member=XA/notes.txt", "XA"), None);
    }
}
