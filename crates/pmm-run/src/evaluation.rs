//! Evaluation with a cache per member, kept in the staging area.
//!
//! An indicator's value for a member depends only on that member's rows (every indicator's SQL
//! groups by member and joins on member: the catalog's SQL contract, checked for the shipped
//! catalog by a test), and the engine aggregates each staged file whole, in order. So a
//! member's values are a function of: the catalog, the reporting year, the member's datasets of
//! T and T-1 (which were accepted, which rejected, and the fingerprint of each accepted one's
//! input) and what its manifest declares not applicable. A run hashes exactly that into the
//! member's **evaluation key**; when the staging area holds the values of that key, they are
//! the member's values, bit for bit, without a query. Only the members without them are
//! evaluated, by each indicator's SQL once over all of those members together, and their
//! values are kept for the next run.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures::StreamExt;
use pmm_catalog::{Catalog, Status};
use pmm_engine::{DatasetState, Engine, EvaluationInputs, IndicatorValue};
use pmm_ingest::StagingArea;
use pmm_publish::EngineFigures;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::run::{Progress, ProgressEvent, RunError};

/// Bumped whenever what evaluation makes of the same data changes (the engine, the status
/// rules), so that no run reuses values computed by different code.
const EVALUATION_FORMAT: u32 = 1;

/// One member's values, as the staging area keeps them.
#[derive(Debug, Serialize, Deserialize)]
struct MemberEvaluation {
    format: u32,
    key: String,
    member: String,
    year: i32,
    values: Vec<CachedValue>,
}

/// An [`IndicatorValue`] of a member's cached evaluation. Numbers are kept as the bits of the
/// f64, so they come back exactly (a JSON number need not).
#[derive(Debug, Serialize, Deserialize)]
struct CachedValue {
    indicator: String,
    status: Status,
    value: Option<u64>,
    numerator: Option<u64>,
    denominator: Option<u64>,
}

impl CachedValue {
    fn new(v: &IndicatorValue) -> Self {
        CachedValue {
            indicator: v.indicator.clone(),
            status: v.status,
            value: v.value.map(f64::to_bits),
            numerator: v.numerator.map(f64::to_bits),
            denominator: v.denominator.map(f64::to_bits),
        }
    }

    fn value(self, member: &str, year: i32) -> IndicatorValue {
        IndicatorValue {
            member: member.to_string(),
            year,
            indicator: self.indicator,
            status: self.status,
            value: self.value.map(f64::from_bits),
            numerator: self.numerator.map(f64::from_bits),
            denominator: self.denominator.map(f64::from_bits),
        }
    }
}

/// What evaluation gave.
pub(crate) struct Evaluated {
    /// Every (member, indicator) value, in catalog order then member order.
    pub values: Vec<IndicatorValue>,
    /// The cache entries this run's values come from or went to, relative to the staging
    /// location (for the run manifest, so `pmm gc` keeps them).
    pub entries: Vec<String>,
    /// Members whose values were computed by this run.
    pub evaluated: u64,
    /// Members whose values were taken from the staging area.
    pub reused: u64,
    /// The engine's memory figures (zero spill when nothing was evaluated).
    pub figures: EngineFigures,
}

/// The evaluation key of every member of `inputs`: see the module's documentation.
/// `fingerprints` gives the input fingerprint of each (member, year, dataset) read or reused.
fn member_keys(
    catalog: &Catalog,
    inputs: &EvaluationInputs,
    fingerprints: &BTreeMap<(String, i32, String), String>,
) -> BTreeMap<String, String> {
    #[derive(Serialize)]
    struct Keyed<'a> {
        format: u32,
        tool_version: &'a str,
        catalog: &'a str,
        year: i32,
        member: &'a str,
        datasets: Vec<(&'a str, i32, &'a str, Option<&'a str>)>,
        not_applicable: Vec<&'a str>,
    }
    let mut keys = BTreeMap::new();
    for member in &inputs.members {
        let mut datasets = Vec::new();
        for contract in &catalog.datasets {
            for year in [inputs.year - 1, inputs.year] {
                let key = (member.clone(), year, contract.name.clone());
                let state = match inputs.datasets.get(&key) {
                    None => "absent",
                    Some(DatasetState::Accepted) => "accepted",
                    Some(DatasetState::Rejected) => "rejected",
                };
                datasets.push((
                    contract.name.as_str(),
                    year,
                    state,
                    fingerprints.get(&key).map(String::as_str),
                ));
            }
        }
        let not_applicable: Vec<&str> = inputs
            .not_applicable
            .iter()
            .filter(|(m, _)| m == member)
            .map(|(_, indicator)| indicator.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let keyed = Keyed {
            format: EVALUATION_FORMAT,
            tool_version: env!("CARGO_PKG_VERSION"),
            catalog: &catalog.hash,
            year: inputs.year,
            member,
            datasets,
            not_applicable,
        };
        let bytes = serde_json::to_vec(&keyed).unwrap_or_default();
        let hash = format!("{:x}", Sha256::digest(bytes));
        keys.insert(member.clone(), hash);
    }
    keys
}

/// Indicators whose queries run at once, when `engine.memory_limit` is at least
/// [`ROOMY_MEMORY_LIMIT`].
const INDICATORS_AT_ONCE: usize = 3;

/// The least `engine.memory_limit` under which indicators run a few at a time. Below it they
/// run one at a time: queries sharing a tight pool squeeze each other's partial aggregates,
/// which then hand on their sums early, in pieces, and a sum added in other pieces can differ
/// in its last bit. One query at a time, a given limit and data always cut the same way.
const ROOMY_MEMORY_LIMIT: u64 = 1 << 30;

/// Evaluates every indicator for the members of `inputs`, reusing the staged values of every
/// member whose evaluation key is unchanged.
pub(crate) async fn evaluate(
    catalog: &Catalog,
    staging: &StagingArea,
    inputs: EvaluationInputs,
    fingerprints: &BTreeMap<(String, i32, String), String>,
    settings: &pmm_catalog::EngineConfig,
    progress: &dyn Progress,
) -> Result<Evaluated, RunError> {
    let keys = member_keys(catalog, &inputs, fingerprints);
    let failed = RunError::Ingest;
    let mut lookups = futures::stream::iter(keys.iter().map(|(member, key)| {
        let path = pmm_store::layout::staging::evaluation(member, inputs.year, key);
        async move {
            let found = staging.get_json::<MemberEvaluation>(&path).await;
            (member.clone(), path, found)
        }
    }))
    .buffer_unordered(16);
    let mut cached: BTreeMap<String, Vec<IndicatorValue>> = BTreeMap::new();
    let mut entries = Vec::new();
    while let Some((member, path, found)) = lookups.next().await {
        if let Some(found) = found.map_err(failed)?.filter(|e| {
            e.format == EVALUATION_FORMAT && e.key == keys[&member] && e.member == member
        }) {
            let year = found.year;
            let values = found
                .values
                .into_iter()
                .map(|v| v.value(&member, year))
                .collect();
            cached.insert(member, values);
            entries.push(path);
        }
    }
    drop(lookups);

    let stale: Vec<String> = inputs
        .members
        .iter()
        .filter(|m| !cached.contains_key(*m))
        .cloned()
        .collect();
    let mut figures = EngineFigures {
        memory_limit_bytes: pmm_engine::memory_limit_bytes(settings),
        spilled_bytes: 0,
    };
    let mut computed: Vec<IndicatorValue> = Vec::new();
    progress.event(ProgressEvent::Stage {
        name: "computing indicators",
        total: if stale.is_empty() {
            0
        } else {
            catalog.indicators.len() as u64
        },
    });
    if !stale.is_empty() {
        let subset = only(inputs, &stale);
        let engine = Engine::new(catalog, &subset, settings).map_err(RunError::Engine)?;
        // A few indicators at once when the memory limit is roomy (see ROOMY_MEMORY_LIMIT):
        // one query alone leaves cores idle while its last files are scanned and while its
        // final aggregate runs. Each query has its own session and plan, and the values are
        // kept in catalog order. The queries share `engine.memory_limit`: one that runs out
        // of memory beside the others is run again alone, with the pool to itself, as it
        // would have run without the others.
        let at_once = if pmm_engine::memory_limit_bytes(settings) >= ROOMY_MEMORY_LIMIT {
            INDICATORS_AT_ONCE
        } else {
            1
        };
        let (engine, subset) = (&engine, &subset);
        let mut by_indicator: Vec<Option<Vec<IndicatorValue>>> =
            vec![None; catalog.indicators.len()];
        let mut alone = Vec::new();
        // The largest first, and the next as soon as any finishes, so that the last to
        // finish is a small one and no core waits on a long query started late. The order
        // changes no value: each query has its own plan.
        let mut order: Vec<usize> = (0..catalog.indicators.len()).collect();
        order.sort_by_key(|&i| {
            std::cmp::Reverse(engine.scanned_rows(&catalog.indicators[i], subset.year))
        });
        let mut queries = futures::stream::iter(order.into_iter().map(|i| async move {
            let clock = Instant::now();
            let values = engine.evaluate(&catalog.indicators[i], subset).await;
            (i, values, clock.elapsed())
        }))
        .buffer_unordered(at_once);
        while let Some((i, values, took)) = queries.next().await {
            let indicator = &catalog.indicators[i];
            match values {
                Err(e) if at_once > 1 && e.is_out_of_memory() => {
                    tracing::debug!(
                        indicator = indicator.id,
                        "out of memory beside other queries: run again alone"
                    );
                    alone.push(i);
                    continue;
                }
                values => by_indicator[i] = Some(values.map_err(RunError::Engine)?),
            }
            tracing::debug!(
                indicator = indicator.id,
                seconds = took.as_secs_f64(),
                "evaluated"
            );
            progress.event(ProgressEvent::Step {
                message: &indicator.id,
            });
        }
        drop(queries);
        for i in alone {
            let indicator = &catalog.indicators[i];
            by_indicator[i] = Some(
                engine
                    .evaluate(indicator, subset)
                    .await
                    .map_err(RunError::Engine)?,
            );
            progress.event(ProgressEvent::Step {
                message: &indicator.id,
            });
        }
        computed.extend(by_indicator.into_iter().flatten().flatten());
        figures.spilled_bytes = engine.spilled_bytes();
        // Each member's values go to the staging area for the next run.
        let mut by_member: BTreeMap<&str, Vec<CachedValue>> = BTreeMap::new();
        for value in &computed {
            by_member
                .entry(value.member.as_str())
                .or_default()
                .push(CachedValue::new(value));
        }
        let mut writes = futures::stream::iter(by_member.into_iter().map(|(member, values)| {
            let key = keys[member].clone();
            let path = pmm_store::layout::staging::evaluation(member, subset.year, &key);
            let entry = MemberEvaluation {
                format: EVALUATION_FORMAT,
                key,
                member: member.to_string(),
                year: subset.year,
                values,
            };
            async move { staging.put_json(&path, &entry).await.map(|()| path) }
        }))
        .buffer_unordered(16);
        while let Some(written) = writes.next().await {
            entries.push(written.map_err(failed)?);
        }
    }
    progress.event(ProgressEvent::StageDone);
    let reused = cached.len() as u64;
    let evaluated = stale.len() as u64;
    if reused > 0 {
        tracing::info!(
            reused,
            evaluated,
            "members' values reused from staging where nothing they depend on changed"
        );
    }

    let order: BTreeMap<&str, usize> = catalog
        .indicators
        .iter()
        .enumerate()
        .map(|(i, indicator)| (indicator.id.as_str(), i))
        .collect();
    let mut values: Vec<IndicatorValue> = cached.into_values().flatten().chain(computed).collect();
    values.sort_by(|a, b| {
        (order.get(a.indicator.as_str()), &a.member)
            .cmp(&(order.get(b.indicator.as_str()), &b.member))
    });
    entries.sort();
    Ok(Evaluated {
        values,
        entries,
        evaluated,
        reused,
        figures,
    })
}

/// The inputs of `members` only.
fn only(inputs: EvaluationInputs, members: &[String]) -> EvaluationInputs {
    let keep: BTreeSet<&String> = members.iter().collect();
    EvaluationInputs {
        year: inputs.year,
        members: members.to_vec(),
        staging: inputs.staging,
        tables: inputs
            .tables
            .into_iter()
            .map(|(dataset, files)| {
                (
                    dataset,
                    files
                        .into_iter()
                        .filter(|f| keep.contains(&f.member))
                        .collect(),
                )
            })
            .collect(),
        datasets: inputs
            .datasets
            .into_iter()
            .filter(|((member, _, _), _)| keep.contains(member))
            .collect(),
        not_applicable: inputs
            .not_applicable
            .into_iter()
            .filter(|(member, _)| keep.contains(member))
            .collect(),
    }
}
