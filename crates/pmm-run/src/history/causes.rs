//! Why a row of the history differs from the current one: a changed definition (with the
//! revision the KPI declares, or a warning that it declares none), a changed disclosure, or
//! which of the member's inputs that the KPI reads differ from the run that published it.

use std::collections::{BTreeMap, BTreeSet};

use pmm_catalog::Catalog;
use pmm_ingest::InputRecord;
use pmm_results::{Change, HistoryRow, IndicatorRow};
use pmm_store::layout;

use super::{EarlierInputs, ThisRun};

/// How `row` differs from `old`, the current row of its (member, KPI, year): `None` when it
/// does not.
pub(super) fn compare(
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
pub(super) fn undeclared(indicator: &str, before: &str, version: &str) -> String {
    format!(
        "{indicator}: its definition changed since catalog {before} but it declares no revision for {version}: its values before and after are not comparable (add `revisions: [{{version: \"{version}\", comparable: ..., note: ...}}]` to its file)"
    )
}

/// The year and dataset (or `manifest`) of a submitted object's path, when it is `member`'s:
/// `member=XA/year=2023/declarations.csv.gz` gives `(2023, "declarations")`.
pub(super) fn member_input(path: &str, member: &str) -> Option<(i32, String)> {
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
