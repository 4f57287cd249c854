//! Evaluation of indicators: one DataFusion session over every member's staged valid rows (T
//! and T-1 together, one Parquet listing table per dataset), each indicator's SQL run once,
//! and the status of every (member, indicator) decided in the order the catalog documents.
//!
//! Rows are never held whole in memory: scans read only the columns and row groups a query
//! needs, and operators that need memory (aggregates, sorts, joins) take it from a pool of
//! [`EngineConfig::memory_limit`] bytes and spill to [`EngineConfig::spill_dir`] past it.
//!
//! Why one file of this length (about 570 lines): the session's set-up (tables, memory pool,
//! functions) and the status rules are read together when a KPI's status is questioned; the
//! SQL guard, the functions and the checks without data are in their own modules.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::common::{Column, DFSchema};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, lit};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use pmm_catalog::{Catalog, EngineConfig, Indicator, SUBMITTED_TABLE, Status};
use pmm_ingest::{StagedFile, table_schema};
use pmm_store::StoreRoot;

use crate::functions::register_functions;
use crate::guard::{check_read_only, read_only, tidy};
use crate::{Error, Result};

/// What became of one dataset of one submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetState {
    /// Read and validated; its valid rows are in the tables.
    Accepted,
    /// Rejected as a whole (or its submission was).
    Rejected,
}

/// Everything evaluation needs from ingestion: where the valid rows of every dataset are
/// staged and what happened to each submission, for the reporting year and the year before.
#[derive(Debug, Default)]
pub struct EvaluationInputs {
    /// The reporting year T.
    pub year: i32,
    /// The members to report on, sorted.
    pub members: Vec<String>,
    /// The staging location the files of [`Self::tables`] are relative to.
    pub staging: Option<StoreRoot>,
    /// Staged Parquet files per dataset, all members and both years, in the dataset's table
    /// schema.
    pub tables: BTreeMap<String, Vec<TableFile>>,
    /// The state of each (member, year, dataset) that was submitted; absent = not submitted.
    pub datasets: HashMap<(String, i32, String), DatasetState>,
    /// (member, indicator) pairs the member's manifest for T declares not applicable.
    pub not_applicable: HashSet<(String, String)>,
}

impl EvaluationInputs {
    /// Empty inputs for reporting year `year`.
    pub fn new(year: i32) -> Self {
        EvaluationInputs {
            year,
            ..Default::default()
        }
    }

    /// Records what became of `member`'s `dataset` of `year`: its state, and, when it was
    /// accepted, its staged files in the dataset's table. The one way a run, a dry run and a
    /// fixture case tell the engine what was submitted.
    pub fn add_dataset(
        &mut self,
        member: &str,
        year: i32,
        dataset: &str,
        state: DatasetState,
        files: Vec<StagedFile>,
    ) {
        self.datasets
            .insert((member.to_string(), year, dataset.to_string()), state);
        if state == DatasetState::Accepted {
            self.tables
                .entry(dataset.to_string())
                .or_default()
                .extend(files.into_iter().map(|file| TableFile {
                    member: member.to_string(),
                    year,
                    file,
                }));
        }
    }

    /// Records `member`'s declaration that `indicator` does not apply to it in year T.
    pub fn declare_not_applicable(&mut self, member: &str, indicator: &str) {
        self.not_applicable
            .insert((member.to_string(), indicator.to_string()));
    }
}

/// The years of dataset `name` that `indicator` reads for reporting year `year`; `None` when
/// it does not read the dataset.
fn years_read(indicator: &Indicator, name: &str, year: i32) -> Option<BTreeSet<i32>> {
    let years: BTreeSet<i32> = indicator
        .datasets
        .iter()
        .filter(|d| d.name == name)
        .flat_map(|d| d.years.iter().map(|y| y.resolve(year)))
        .collect();
    (!years.is_empty()).then_some(years)
}

/// A staged file of a dataset's table, and the submission whose rows it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFile {
    /// Member code.
    pub member: String,
    /// The submission's year.
    pub year: i32,
    /// The file, relative to the staging location.
    pub file: StagedFile,
}

/// One indicator's result for one member and year, before scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorValue {
    /// Member code.
    pub member: String,
    /// Reporting year.
    pub year: i32,
    /// Indicator id.
    pub indicator: String,
    /// Status, checked in catalog order.
    pub status: Status,
    /// The value, for `ok` only.
    pub value: Option<f64>,
    /// The numerator, when the indicator gives one (kept for `undefined` too: it explains).
    pub numerator: Option<f64>,
    /// The denominator, likewise.
    pub denominator: Option<f64>,
}

/// The memory pool's size in bytes for the pipeline's `engine:` block: its `memory_limit`, or
/// [`default_memory_limit`].
pub fn memory_limit_bytes(settings: &EngineConfig) -> u64 {
    settings.memory_limit.unwrap_or_else(default_memory_limit)
}

/// A quarter of the memory this process may use (the container's limit when there is one),
/// and at least 256 MiB; 2 GiB where the machine's memory cannot be read.
pub fn default_memory_limit() -> u64 {
    const MIB: u64 = 1 << 20;
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    let total = Some(system.total_memory()).filter(|&bytes| bytes > 0);
    let container = system
        .cgroup_limits()
        .map(|limits| limits.total_memory)
        .filter(|&bytes| bytes > 0);
    let available = match (total, container) {
        (Some(t), Some(c)) => t.min(c),
        (Some(t), None) => t,
        (None, Some(c)) => c,
        (None, None) => return 2048 * MIB,
    };
    (available / 4).max(256 * MIB)
}

/// Everything to make DataFusion sessions over the staged tables: one runtime (memory pool,
/// spill folder, the staging store) shared by every query, the files of every dataset and the
/// `submitted` table.
pub struct Engine {
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
    staging: Option<StoreRoot>,
    /// Per catalog dataset: its table schema and staged files.
    tables: BTreeMap<String, (SchemaRef, Vec<TableFile>)>,
    submitted: Arc<dyn TableProvider>,
    spilled_bytes: AtomicU64,
    memory_limit: u64,
    ballista: Option<String>,
}

impl Engine {
    /// Prepares one table per catalog dataset (a Parquet listing table over its staged files;
    /// empty when nothing was submitted) and the `submitted` table, plus the catalog's SQL
    /// functions, on a runtime whose memory is bounded by `settings`.
    pub fn new(
        catalog: &Catalog,
        inputs: &EvaluationInputs,
        settings: &EngineConfig,
    ) -> Result<Engine> {
        // On a cloud store a scan waits on requests more than on the cores: more partitions
        // (each a stream of whole files) keep more requests in flight.
        let remote = inputs.staging.as_ref().is_some_and(|s| !s.is_local());
        let (config, runtime) = runtime(settings, remote)?;
        if let Some(staging) = &inputs.staging {
            runtime.register_object_store(&staging.url, staging.store.clone());
        }
        let tables = catalog
            .datasets
            .iter()
            .map(|contract| {
                let files = inputs
                    .tables
                    .get(&contract.name)
                    .cloned()
                    .unwrap_or_default();
                (
                    contract.name.clone(),
                    (scanned_schema(&table_schema(contract)), files),
                )
            })
            .collect();
        let mut submitted: Vec<(&String, i32, &String)> = inputs
            .datasets
            .iter()
            .filter(|(_, state)| **state == DatasetState::Accepted)
            .map(|((m, y, d), _)| (m, *y, d))
            .collect();
        submitted.sort();
        Ok(Engine {
            config,
            runtime,
            staging: inputs.staging.clone(),
            tables,
            submitted: submitted_table(&submitted)?,
            spilled_bytes: AtomicU64::new(0),
            memory_limit: memory_limit_bytes(settings),
            ballista: settings.ballista.clone(),
        })
    }

    /// A session with the catalog's functions and, for each dataset `files` admits, its table
    /// over the staged files of the years it gives (empty with none), plus `submitted`. With
    /// `remote`, and `engine.ballista` set, its queries run on that cluster.
    async fn session(
        &self,
        years: impl Fn(&str) -> Option<BTreeSet<i32>>,
        remote: bool,
    ) -> Result<SessionContext> {
        let ctx = match self.ballista.as_deref().filter(|_| remote) {
            Some(url) => {
                crate::cluster::remote_context(url, self.config.clone(), self.runtime.clone())
                    .await?
            }
            None => {
                let mut ctx =
                    SessionContext::new_with_config_rt(self.config.clone(), self.runtime.clone());
                register_functions(&mut ctx)?;
                ctx
            }
        };
        for (name, (schema, files)) in &self.tables {
            let Some(years) = years(name) else {
                continue;
            };
            let urls = match &self.staging {
                Some(staging) => files
                    .iter()
                    .filter(|f| years.contains(&f.year))
                    .map(|f| ListingTableUrl::try_new(staging.object_url(&f.file.path), None))
                    .collect::<datafusion::error::Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            let table: Arc<dyn TableProvider> = if urls.is_empty() {
                Arc::new(EmptyTable::new(schema.clone()))
            } else {
                let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                    .with_file_extension(".parquet");
                let config = ListingTableConfig::new_with_multi_paths(urls)
                    .with_listing_options(options)
                    .with_schema(schema.clone());
                Arc::new(ListingTable::try_new(config)?)
            };
            ctx.register_table(name.as_str(), table)?;
        }
        ctx.register_table(SUBMITTED_TABLE, self.submitted.clone())?;
        Ok(ctx)
    }

    /// A session over every dataset and every staged file, for checks that plan SQL (in this
    /// process: planning needs no cluster).
    pub(crate) async fn context(&self) -> Result<SessionContext> {
        let years = self.all_years();
        self.session(|_| Some(years.clone()), false).await
    }

    fn all_years(&self) -> BTreeSet<i32> {
        self.tables
            .values()
            .flat_map(|(_, files)| files.iter().map(|f| f.year))
            .collect()
    }

    /// Rows of the staged files the indicator's query scans for reporting year `year` (those
    /// its session holds): the size of its work, for running the largest first.
    pub fn scanned_rows(&self, indicator: &Indicator, year: i32) -> u64 {
        self.tables
            .iter()
            .filter_map(|(name, (_, files))| {
                let years = years_read(indicator, name, year)?;
                Some(files.iter().filter(move |f| years.contains(&f.year)))
            })
            .flatten()
            .map(|f| f.file.rows)
            .sum()
    }

    /// A session for one indicator: only the datasets it declares, each with the files of the
    /// years it declares for reporting year `year`. An indicator that reads T only is not
    /// handed T-1's rows to scan and throw away.
    async fn indicator_session(&self, indicator: &Indicator, year: i32) -> Result<SessionContext> {
        self.session(|name| years_read(indicator, name, year), true)
            .await
    }

    /// Bytes that operators spilled to disk so far, over every query of this engine.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes.load(Ordering::Relaxed)
    }

    /// Runs the indicator's SQL once over all members and decides every member's status.
    pub async fn evaluate(
        &self,
        indicator: &Indicator,
        inputs: &EvaluationInputs,
    ) -> Result<Vec<IndicatorValue>> {
        let rows = self.run_sql(indicator, inputs.year).await?;
        let year = inputs.year;
        let mut out = Vec::with_capacity(inputs.members.len());
        for member in &inputs.members {
            let status_before_sql = if inputs
                .not_applicable
                .contains(&(member.clone(), indicator.id.clone()))
            {
                Some(Status::NotApplicable)
            } else {
                data_status(indicator, member, year, inputs)
            };
            let (status, value, numerator, denominator) = match status_before_sql {
                Some(status) => (status, None, None, None),
                None => match rows.get(member.as_str()) {
                    Some(row) => match row.value {
                        Some(v) if v.is_finite() => {
                            (Status::Ok, Some(v), row.numerator, row.denominator)
                        }
                        _ => (Status::Undefined, None, row.numerator, row.denominator),
                    },
                    None => (Status::Undefined, None, None, None),
                },
            };
            out.push(IndicatorValue {
                member: member.clone(),
                year,
                indicator: indicator.id.clone(),
                status,
                value,
                numerator: numerator.filter(|n| n.is_finite()),
                denominator: denominator.filter(|d| d.is_finite()),
            });
        }
        Ok(out)
    }

    /// The SQL's rows for year T, by member.
    async fn run_sql(&self, indicator: &Indicator, year: i32) -> Result<HashMap<String, SqlRow>> {
        let allowed = allowed_tables(indicator);
        check_read_only(&indicator.sql, &allowed).map_err(|r| Error::Indicator {
            id: indicator.id.clone(),
            message: r.message,
            source: None,
        })?;
        let ctx = self.indicator_session(indicator, year).await?;
        let frame = ctx
            .sql_with_options(&indicator.sql, read_only())
            .await
            .map_err(|e| Error::Indicator {
                id: indicator.id.clone(),
                message: tidy(&e.to_string()),
                source: Some(Box::new(e)),
            })?;
        check_output(frame.schema().as_arrow()).map_err(|message| Error::Indicator {
            id: indicator.id.clone(),
            message,
            source: None,
        })?;
        let failed = |e: datafusion::error::DataFusionError| {
            let mut message = tidy(&e.to_string());
            if let Some(lost) = self
                .ballista
                .as_deref()
                .and_then(|url| crate::cluster::lost_cluster(url, &message))
            {
                message = lost;
            }
            if matches!(
                e.find_root(),
                datafusion::error::DataFusionError::ResourcesExhausted(_)
            ) {
                message.push_str(&format!(
                    "; the query needs more memory than engine.memory_limit ({} bytes) allows even when spilling (percentile_exact keeps one member's values at a time): raise it in the pipeline",
                    self.memory_limit
                ));
            }
            Error::Indicator {
                id: indicator.id.clone(),
                message,
                source: Some(Box::new(e)),
            }
        };
        let plan = frame.create_physical_plan().await.map_err(failed)?;
        let batches = datafusion::physical_plan::collect(plan.clone(), ctx.task_ctx())
            .await
            .map_err(failed)?;
        self.spilled_bytes
            .fetch_add(spilled_bytes(plan.as_ref()), Ordering::Relaxed);
        let mut rows = HashMap::new();
        for batch in batches {
            let members = cast(
                column(&batch, "member").ok_or_else(|| internal("member"))?,
                &DataType::Utf8,
            )?;
            let members = members.as_string::<i32>();
            let years = column(&batch, "year")
                .ok_or_else(|| internal("year"))?
                .as_primitive::<Int64Type>()
                .clone();
            let values = float_column(&batch, "value");
            let numerators = float_column(&batch, "numerator");
            let denominators = float_column(&batch, "denominator");
            for i in 0..batch.num_rows() {
                if years.is_null(i) || years.value(i) != i64::from(year) || members.is_null(i) {
                    continue;
                }
                let member = members.value(i).to_string();
                let get = |a: &Option<Float64Array>| {
                    a.as_ref().and_then(|a| a.is_valid(i).then(|| a.value(i)))
                };
                let row = SqlRow {
                    value: get(&values),
                    numerator: get(&numerators),
                    denominator: get(&denominators),
                };
                if rows.insert(member.clone(), row).is_some() {
                    return Err(Error::Indicator {
                        id: indicator.id.clone(),
                        message: format!(
                            "the SQL returned more than one row for member {member}, year {year}; group by member and year"
                        ),
                        source: None,
                    });
                }
            }
        }
        Ok(rows)
    }
}

struct SqlRow {
    value: Option<f64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
}

/// The session settings and runtime of every query: no information schema and no URL tables,
/// so SQL reaches only the tables registered on its session; a memory pool and spill folder
/// from `settings`; one partition per core (16 at least when the staged files are remote).
/// Each staged file is scanned whole by one partition (no splitting of files, and no dealing
/// of its batches round-robin to other partitions, which a table of one file would get): a
/// member's rows are then aggregated in file order whatever the other files are and however
/// the file is cut into row groups and batches, so its results are the same to the last bit in
/// any run that holds the same rows (a dry run of one member, a run of all of them, a file
/// staged by copying or by encoding).
fn runtime(settings: &EngineConfig, remote: bool) -> Result<(SessionConfig, Arc<RuntimeEnv>)> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let partitions = if remote { cores.max(16) } else { cores };
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_information_schema(false)
        .with_repartition_file_scans(false)
        .with_round_robin_repartition(false);
    let limit = usize::try_from(memory_limit_bytes(settings)).unwrap_or(usize::MAX);
    // Operators that can spill share the pool fairly; an error names the biggest consumers.
    let pool = TrackConsumersPool::new(FairSpillPool::new(limit), TOP_CONSUMERS);
    let disk = match &settings.spill_dir {
        Some(dir) => {
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Directories(vec![dir.clone()]))
        }
        None => DiskManagerBuilder::default(),
    };
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(disk)
        .build_arc()?;
    Ok((config, runtime))
}

/// The schema a staged table is scanned as: the table's, with text columns read as string
/// views (`Utf8View`), as DataFusion reads Parquet text by default. A view points into the
/// decoded page instead of copying each value into a new array, and a comparison with a short
/// literal (`flow = 'IM'`) compares the value held in the view itself. Numbers are untouched,
/// so sums and their order are the same.
fn scanned_schema(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
                _ => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    ))
}

/// How many of the biggest memory consumers an out-of-memory error names.
const TOP_CONSUMERS: NonZeroUsize = NonZeroUsize::MIN.saturating_add(4);

/// Bytes spilled by a plan that ran, over all its operators.
fn spilled_bytes(plan: &dyn ExecutionPlan) -> u64 {
    let own = plan
        .metrics()
        .and_then(|m| m.spilled_bytes())
        .unwrap_or_default() as u64;
    own + plan
        .children()
        .iter()
        .map(|c| spilled_bytes(c.as_ref()))
        .sum::<u64>()
}

fn submitted_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("member", DataType::Utf8, false),
        Field::new("year", DataType::Int64, false),
        Field::new("dataset", DataType::Utf8, false),
    ]))
}

/// The `submitted` table: a view over its rows written out as `VALUES` (an empty table when
/// nothing was accepted). A view travels to a Ballista cluster as its plan, rows included,
/// where a table held in memory cannot travel at all; a local session reads it the same way.
fn submitted_table(rows: &[(&String, i32, &String)]) -> Result<Arc<dyn TableProvider>> {
    let schema = submitted_schema();
    if rows.is_empty() {
        return Ok(Arc::new(EmptyTable::new(schema)));
    }
    let values: Vec<Vec<Expr>> = rows
        .iter()
        .map(|(member, year, dataset)| {
            vec![
                lit(member.as_str()),
                lit(i64::from(*year)),
                lit(dataset.as_str()),
            ]
        })
        .collect();
    let df_schema = Arc::new(DFSchema::try_from(schema.as_ref().clone())?);
    let plan = LogicalPlanBuilder::values_with_schema(values, &df_schema)?
        .project(df_schema.fields().iter().enumerate().map(|(i, field)| {
            Expr::Column(Column::from_name(format!("column{}", i + 1))).alias(field.name())
        }))?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// The tables an indicator may name: its datasets and `submitted`.
pub(crate) fn allowed_tables(indicator: &Indicator) -> BTreeSet<String> {
    indicator
        .datasets
        .iter()
        .map(|d| d.name.clone())
        .chain([SUBMITTED_TABLE.to_string()])
        .collect()
}

/// The status decided by the data alone, before the SQL: invalid or missing inputs.
fn data_status(
    indicator: &Indicator,
    member: &str,
    year: i32,
    inputs: &EvaluationInputs,
) -> Option<Status> {
    let mut missing = false;
    for dataset in &indicator.datasets {
        for year_ref in &dataset.years {
            let y = year_ref.resolve(year);
            match inputs
                .datasets
                .get(&(member.to_string(), y, dataset.name.clone()))
            {
                Some(DatasetState::Rejected) => return Some(Status::InvalidSubmission),
                Some(DatasetState::Accepted) => {}
                None => missing = true,
            }
        }
    }
    missing.then_some(Status::MissingData)
}

/// Checks the columns an indicator's SQL returns: `member` (text), `year` (int64), `value`
/// (float64) and optionally `numerator` and `denominator` (float64), nothing else.
pub(crate) fn check_output(schema: &Schema) -> std::result::Result<(), String> {
    let mut problems = Vec::new();
    for (name, required) in [
        ("member", true),
        ("year", true),
        ("value", true),
        ("numerator", false),
        ("denominator", false),
    ] {
        match schema.field_with_name(name) {
            Err(_) if required => problems.push(format!("returns no `{name}` column")),
            Err(_) => {}
            Ok(field) => {
                let ok = match name {
                    "member" => matches!(
                        field.data_type(),
                        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
                    ),
                    "year" => field.data_type() == &DataType::Int64,
                    _ => field.data_type() == &DataType::Float64,
                };
                if !ok {
                    let wanted = match name {
                        "member" => "text",
                        "year" => "Int64",
                        _ => {
                            "Float64 (write 100.0 * a / b, or CAST(x AS DOUBLE), to avoid integer division)"
                        }
                    };
                    problems.push(format!(
                        "column `{name}` is {}, it must be {wanted}",
                        field.data_type()
                    ));
                }
            }
        }
    }
    for field in schema.fields() {
        if !["member", "year", "value", "numerator", "denominator"].contains(&field.name().as_str())
        {
            problems.push(format!(
                "returns an unexpected column `{}`: an indicator returns member, year, value and optionally numerator and denominator",
                field.name()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a ArrayRef> {
    batch.schema().index_of(name).ok().map(|i| batch.column(i))
}

fn float_column(batch: &RecordBatch, name: &str) -> Option<Float64Array> {
    column(batch, name).map(|a| a.as_primitive::<Float64Type>().clone())
}

fn internal(what: &str) -> Error {
    Error::Internal(format!(
        "indicator output lost its `{what}` column after the schema check"
    ))
}

#[cfg(test)]
mod memory_tests {
    /// A quarter of the machine's memory (no container limit here), read by sysinfo; checked
    /// against /proc/meminfo where there is one.
    #[test]
    fn the_default_memory_limit_is_a_quarter_of_what_the_process_may_use() {
        let limit = super::default_memory_limit();
        assert!(limit >= 256 << 20);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let total = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        let container = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(kib) = total {
            let available = container.map_or(kib * 1024, |c| c.min(kib * 1024));
            assert_eq!(limit, (available / 4).max(256 << 20));
        }
    }
}
