//! `pmm`, the command line of the WCO Performance Measurement Mechanism pipeline.
//!
//! A thin layer: it parses arguments, calls the library crates and prints. Exit codes:
//! `0` success, `1` the work ran and failed (a fixture case failed), `2` usage, configuration
//! or catalog error (nothing ran).

// The binary's job is to print: its output is the product here.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod output;

mod cluster;
mod gc;
mod history;
mod indicators;
mod member;
mod review;
mod run;
mod serve;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// jemalloc instead of the system allocator: glibc keeps a heap per thread and seldom gives
/// freed memory back, which made the benchmark's peak memory 650 MiB instead of 370 MiB
/// (bench/run.sh, 20 members x 200,000 declarations, Parquet), for about 3% more time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Computes the WCO Performance Measurement Mechanism: validates member submissions,
/// evaluates the KPI catalog with DataFusion SQL, scores and rolls up the results.
#[derive(Parser, Debug)]
#[command(
    name = "pmm",
    version,
    about = "Computes the WCO Performance Measurement Mechanism: validates member submissions, \
             evaluates the KPI catalog with DataFusion SQL, scores, rolls up and publishes the results.",
    after_help = "Start with:\n  pmm run pipelines/demo.yaml      the demo on the sample submissions in examples/\n  \
                  pmm indicators list              the 29 KPIs\n  \
                  pmm serve --results out/results  its metrics, for Prometheus, on 127.0.0.1:9898\n\n\
                  Exit codes: 0 success, 1 the work ran and failed, 2 usage, configuration or catalog error.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr: text for people, json for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How log lines are written on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Plain lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logs go to stderr; `RUST_LOG` filters them (default: info; a client of a Ballista cluster
/// keeps the Ballista client's per-query lines to warnings, the cluster's own processes show
/// them all).
fn init_logging(format: LogFormat, cluster_process: bool) {
    let default = if cluster_process {
        "info"
    } else {
        "info,ballista=warn,ballista_core=warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(terminal);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The scheduled job: validate every member's submission, compute, score and publish.
    ///
    /// Reads the `year=T` and `year=T-1` folders of every registered member under the
    /// pipeline's `source`, writes the result files under `<results>/runs/<run_id>/` and then
    /// `<results>/latest.json`. Exits 0 when the run was published (rejected submissions are
    /// reported, not a failure), 1 when it failed (nothing new is published), 2 when the
    /// pipeline, catalog or registry is wrong (nothing ran).
    ///
    /// With --stage-only it reads, validates and stages the inputs of one shard of the
    /// members and publishes nothing: N processes (on N machines, a Kubernetes indexed Job,
    /// N systemd units) run `--stage-only --shard I/N` for I = 0..N-1 at the same time, then
    /// one `pmm run` reuses everything they staged and reads nothing (docs/distributed.md).
    /// Exits 0 when the shard is staged (rejected files are staged as rejected), 1 when
    /// reading failed (what was staged stays staged), 2 on a configuration error.
    Run {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Reporting year T instead of the pipeline's.
        #[arg(long, value_name = "Y")]
        year: Option<i32>,
        /// Where to write results instead of the pipeline's `results` (with --stage-only,
        /// only its staging area is used, unless the pipeline names `staging`).
        #[arg(long, value_name = "URL")]
        results: Option<String>,
        /// Read, validate and stage only; evaluate and publish nothing.
        #[arg(long)]
        stage_only: bool,
        /// With --stage-only: stage only shard I of N of the members (I counts from 0).
        /// Members are weighed by the bytes they submitted and dealt out largest first, so
        /// every shard gets about as many bytes.
        #[arg(long, value_name = "I/N", requires = "stage_only")]
        shard: Option<pmm_run::Shard>,
    },
    /// Serve the latest published run as Prometheus metrics: /metrics and /healthz.
    ///
    /// Reads RESULTS/latest.json every --refresh seconds and serves the run it names, for one
    /// audience, in the text exposition format. A new run is picked up without a restart;
    /// when the store cannot be read, the last good run goes on being served and /healthz
    /// reports the error. /healthz answers 200 with the run id once a run is loaded, 503
    /// before. Stops on Ctrl-C or SIGTERM.
    Serve {
        /// Where the pipeline publishes its results (a folder or a store URL).
        #[arg(long, value_name = "URL")]
        results: String,
        /// Whose results to serve; nothing disclosed above this level is ever served.
        #[arg(long, value_enum, default_value_t = Audience::Public)]
        audience: Audience,
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9898")]
        listen: std::net::SocketAddr,
        /// Seconds between two reads of latest.json.
        #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
        refresh: f64,
    },
    /// Run a Ballista scheduler that knows pmm's SQL functions.
    ///
    /// The coordinator of an Apache DataFusion Ballista cluster for indicator SQL: a client
    /// connects with `df://HOST:PORT`, executors register with `pmm executor --scheduler
    /// HOST:PORT`, and a pipeline's `engine: {ballista: df://HOST:PORT}` sends every
    /// indicator's SQL here (docs/distributed.md). Listens on 127.0.0.1:50050 unless told
    /// otherwise. Stops on Ctrl-C or SIGTERM; exits 1 when it cannot listen.
    Scheduler(cluster::SchedulerArgs),
    /// Run a Ballista executor that knows pmm's SQL functions.
    ///
    /// Registers with the scheduler and runs the tasks of the queries it is given. Reads
    /// staged data from the object store the plans name, with the same environment variables
    /// as `pmm run` (`AWS_*`, `GOOGLE_*`, `AZURE_*`). Listens on 127.0.0.1, on free ports,
    /// unless told otherwise. Stops on Ctrl-C or SIGTERM; exits 1 when it cannot listen or
    /// reach the scheduler.
    Executor(cluster::ExecutorArgs),
    /// Write realistic synthetic submissions for demos, tests and benchmarks.
    ///
    /// Writes OUT/members.yaml and OUT/submissions/member=CODE/year=YYYY/ for year T and T-1:
    /// all eight datasets in mixed formats, manifests for some members. The same seed gives the
    /// same bytes.
    Synth {
        /// Number of members (codes XA, XB, ... then XAA, ...).
        #[arg(long, value_name = "N")]
        members: usize,
        /// Declarations per member for year T.
        #[arg(long, value_name = "M")]
        declarations: usize,
        /// Random seed.
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        /// Reporting year T.
        #[arg(long, value_name = "Y", default_value_t = 2024)]
        year: i32,
        /// How many years to write, ending with T (2: T and T-1, what a run reads; 4 with
        /// --year 2024 writes 2021 to 2024, for a history across cycles).
        #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=50))]
        years: u16,
        /// File formats: mixed, csv or parquet.
        #[arg(long, value_enum, default_value_t = SynthFormat::Mixed)]
        format: SynthFormat,
        /// Inject the faults the demo shows: a bad manifest, a missing T-1, a rejected dataset, ...,
        /// and three valid files with implausible figures for the review (XA, XB, XJ).
        #[arg(long)]
        faults: bool,
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Check the catalog and pipelines without data; print every problem as path:line:col.
    ///
    /// With no PIPELINE, checks ./indicators and every ./pipelines/*.yaml. A pipeline's own
    /// catalog and members registry are checked too. Exits 2 when anything is wrong.
    Validate {
        /// Pipeline files to check.
        pipelines: Vec<PathBuf>,
        /// The catalog folder to check.
        #[arg(long, value_name = "DIR")]
        catalog: Option<PathBuf>,
    },
    /// Run every indicator's fixture cases and print each failure with expected and actual.
    ///
    /// Exits 1 when a case fails, 2 when the catalog itself has problems.
    Test {
        /// The catalog folder.
        #[arg(long, value_name = "DIR", default_value = "indicators")]
        catalog: PathBuf,
        /// Only the indicators whose id contains this text.
        #[arg(long, value_name = "TEXT")]
        indicator: Option<String>,
    },
    /// A member's self-assessment on its own files: validation, KPIs, scores, report.html.
    ///
    /// Runs the files of DATA (its year=T/ and year=T-1/ folders, or member=CODE/ with those
    /// inside) through the same validation, formulas, scoring and roll-up as the Secretariat's
    /// run, with the catalog built into pmm (or --catalog), and writes under --out the result
    /// tables (secretariat/*.arrow), summary.json and report.html, which an analyst can read,
    /// print and forward. Nothing is submitted or published, and no network is used unless
    /// --peers names a store URL. A second dry run into the same --out reads only the files that
    /// changed. Exits 0 when computed (rejected files are in the report), 2 on a usage or
    /// configuration error.
    DryRun(member::DryRunArgs),
    /// The report.html of one member from a published run, as one audience sees it.
    ///
    /// Reads the latest run under RESULTS (or --run-id) and renders the member's results for
    /// the audience: nothing disclosed above its level appears, and validation details are
    /// the Secretariat's only.
    Report(member::ReportArgs),
    /// The values of every cycle published so far, one series per member and KPI.
    ///
    /// Reads the history across cycles of the run RESULTS/latest.json names, as one audience
    /// sees it: for each member, one line per KPI with the current value of each year as a
    /// column (`*` marks a value restated after it was first published, `|` a year whose
    /// definition is not comparable with the year before). --revisions lists every version
    /// with why it changed; json and csv give the table's rows.
    History(history::HistoryArgs),
    /// The latest run's plausibility review: the flags to look at before publishing.
    ///
    /// Reads secretariat/review_flags.arrow of the run RESULTS/latest.json names and lists
    /// its flags by member: a dataset whose valid row count moved too much from T-1
    /// (count_change), a KPI that moved too much from the member's T-1 value (value_change),
    /// left its plausible range (outside_range) or stands far from its peers (peer_outlier),
    /// each with its figures and the explanation the member gave in its manifest. A flag
    /// changes no value or score. json gives the table's rows.
    Review(review::ReviewArgs),
    /// Remove staged data that no published run uses any more.
    ///
    /// A run stages the valid rows of every input it reads under the pipeline's `staging`
    /// location (default: RESULTS/staging), and a later run reuses them while the input is
    /// unchanged. Staged data of inputs that no published run's manifest names any more (the
    /// input changed, the runs that used it were deleted, a run died midway) is removed. The
    /// latest run's data is never removed, nor anything younger than --min-age (a run in
    /// progress may be using it). Exits 1, removing nothing, when a run's results cannot be
    /// read.
    Gc {
        /// The staging location (a folder or a store URL).
        #[arg(long, value_name = "URL")]
        staging: String,
        /// Print what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Keep unused objects younger than this many hours.
        #[arg(long, value_name = "HOURS", default_value_t = 24.0)]
        min_age: f64,
    },
    /// Browse the indicator catalog.
    Indicators {
        #[command(subcommand)]
        command: IndicatorsCommand,
    },
}

#[derive(Subcommand, Debug)]
enum IndicatorsCommand {
    /// Every indicator, grouped by dimension and outcome, marking official and illustrative names.
    List {
        /// The catalog folder.
        #[arg(long, value_name = "DIR", default_value = "indicators")]
        catalog: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One indicator in full: formula, datasets, scoring, SQL and its fixture cases.
    Show {
        /// The indicator id, such as tfec.electronic_declarations_rate.
        id: String,
        /// The catalog folder.
        #[arg(long, value_name = "DIR", default_value = "indicators")]
        catalog: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Who results are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Audience {
    /// Anyone: only values members disclosed as public.
    Public,
    /// WCO Members' contact points and peer reviewers.
    Wco,
    /// The WCO Secretariat: everything.
    Secretariat,
}

impl From<Audience> for pmm_catalog::Disclosure {
    fn from(audience: Audience) -> Self {
        match audience {
            Audience::Public => pmm_catalog::Disclosure::Public,
            Audience::Wco => pmm_catalog::Disclosure::Wco,
            Audience::Secretariat => pmm_catalog::Disclosure::Secretariat,
        }
    }
}

/// Languages of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LangArg {
    /// English.
    En,
    /// French.
    Fr,
}

impl From<LangArg> for pmm_report::Lang {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::En => pmm_report::Lang::En,
            LangArg::Fr => pmm_report::Lang::Fr,
        }
    }
}

/// File formats of synthetic data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SynthFormat {
    /// CSV, CSV.gz, Parquet and JSONL mixed.
    Mixed,
    /// Only CSV.
    Csv,
    /// Only Parquet.
    Parquet,
}

/// How a listing is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned text for people (also accepted as `text`).
    #[value(alias = "text")]
    Table,
    /// JSON for programs.
    Json,
}

/// Exit code: the work ran and failed.
pub(crate) const EXIT_FAILED: u8 = 1;

/// Exit code: usage, configuration or catalog error; nothing ran.
pub(crate) const EXIT_CONFIG: u8 = 2;

/// The results location `--results URL` names (a folder, relative to the working folder, or a
/// store URL), opened for reading; the message says what is wrong with it.
pub(crate) fn results_root(url: &str) -> Result<pmm_store::StoreRoot, String> {
    let location = pmm_catalog::StoreLocation::resolve(std::path::Path::new("."), url)
        .map_err(|e| format!("--results: {e}"))?;
    pmm_store::open_store(&location, false, &pmm_catalog::StorageSettings::default())
        .map_err(|e| format!("--results {e}"))
}

/// What `pmm --version` prints: the program, the catalog built into it (version and SHA-256),
/// and the commit it was built from, so a member's report and the Secretariat's run can be
/// matched to the same catalog.
fn version_text() -> String {
    let catalog = match member::load_catalog(None) {
        Ok(c) => format!("catalog {} (sha256 {})", c.version, c.hash),
        Err(e) => format!("catalog unreadable: {e}"),
    };
    format!(
        "pmm {}\n{catalog}\ncommit {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("PMM_GIT_COMMIT")
    )
}

fn main() -> ExitCode {
    // `pmm --version` (and `-V`) says which catalog is built in; a subcommand's --version is
    // clap's.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.len() == 2 && matches!(args[1].to_str(), Some("--version" | "-V")) {
        out!("{}", version_text());
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse();
    init_logging(
        cli.log_format,
        matches!(cli.command, Command::Scheduler(_) | Command::Executor(_)),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Synth {
                members,
                declarations,
                seed,
                year,
                years,
                format,
                faults,
                out,
            } => {
                let format = match format {
                    SynthFormat::Mixed => pmm_synth::FormatChoice::Mixed,
                    SynthFormat::Csv => pmm_synth::FormatChoice::Csv,
                    SynthFormat::Parquet => pmm_synth::FormatChoice::Parquet,
                };
                let options = pmm_synth::SynthOptions {
                    members,
                    declarations,
                    seed,
                    year,
                    years: usize::from(years),
                    format,
                    faults,
                };
                let started = std::time::Instant::now();
                let report = pmm_synth::synthesize(&out, &options).await?;
                eprintln!(
                    "wrote {} files, {} rows, {:.1} MB to {} in {:.2} s",
                    report.files,
                    report.rows,
                    report.bytes as f64 / 1e6,
                    out.display(),
                    started.elapsed().as_secs_f64()
                );
                Ok(0)
            }
            Command::Run {
                pipeline,
                year,
                results,
                stage_only: false,
                ..
            } => run::run(&pipeline, year, results).await,
            Command::Run {
                pipeline,
                year,
                results,
                stage_only: true,
                shard,
            } => {
                run::stage(
                    &pipeline,
                    year,
                    results,
                    shard.unwrap_or(pmm_run::Shard::ALL),
                )
                .await
            }
            Command::Serve {
                results,
                audience,
                listen,
                refresh,
            } => serve::run(&results, audience.into(), listen, refresh).await,
            Command::Validate { pipelines, catalog } => validate::run(pipelines, catalog).await,
            Command::Scheduler(args) => cluster::scheduler(args).await,
            Command::Executor(args) => cluster::executor(args).await,
            Command::DryRun(args) => member::run_dry_run(args).await,
            Command::Report(args) => member::run_report(args).await,
            Command::History(args) => history::run(args).await,
            Command::Review(args) => review::run(args).await,
            Command::Gc {
                staging,
                dry_run,
                min_age,
            } => gc::run(&staging, dry_run, min_age).await,
            Command::Test { catalog, indicator } => {
                indicators::test(&catalog, indicator.as_deref()).await
            }
            Command::Indicators { command } => match command {
                IndicatorsCommand::List { catalog, format } => indicators::list(&catalog, format),
                IndicatorsCommand::Show {
                    id,
                    catalog,
                    format,
                } => indicators::show(&catalog, &id, format),
            },
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
