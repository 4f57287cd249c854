//! `pmm`, the command line of the WCO Performance Measurement Mechanism pipeline.
//!
//! A thin layer: it parses arguments, calls the library crates and prints. Exit codes:
//! `0` success, `1` the work ran and failed (a fixture case failed), `2` usage, configuration
//! or catalog error (nothing ran).

// The binary's job is to print: its output is the product here.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod indicators;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Computes the WCO Performance Measurement Mechanism: validates member submissions,
/// evaluates the KPI catalog with DataFusion SQL, scores and rolls up the results.
#[derive(Parser, Debug)]
#[command(name = "pmm", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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

/// How a listing is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned text for people.
    Table,
    /// JSON for programs.
    Json,
}

/// Exit code: the work ran and failed.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit code: usage, configuration or catalog error; nothing ran.
pub(crate) const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            Command::Validate { pipelines, catalog } => validate::run(pipelines, catalog).await,
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
