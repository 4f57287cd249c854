//! The member's commands: `pmm dry-run` (a self-assessment on the member's own files) and
//! `pmm report` (the same report from a published run, as one audience sees it).
//!
//! Why one file of this length (about 580 lines): both commands print the same summary and
//! write the same report, from two sources (a run on the member's files, a published run);
//! keeping them together keeps the two outputs the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pmm_catalog::{Catalog, Disclosure, IncomeGroup, MembersRegistry, Region, is_member_code};
use pmm_results as results;
use pmm_run::{DryRunOptions, PublishedReport, ReportLoadError, dry_run};

use crate::run::CliProgress;
use crate::{Audience, EXIT_CONFIG, EXIT_FAILED, Format, LangArg};

/// The catalog built into this binary (see `build.rs`).
mod shipped {
    include!(concat!(env!("OUT_DIR"), "/catalog.rs"));
}

/// The catalog to use: `--catalog DIR`, or the one built into the binary.
pub(crate) fn load_catalog(dir: Option<&Path>) -> Result<Catalog, String> {
    match dir {
        Some(dir) => Catalog::load(dir).map_err(|p| format!("{p}the catalog has problems")),
        None => {
            let root = Path::new("indicators");
            let files = shipped::FILES
                .iter()
                .map(|(path, text)| (root.join(path), text.to_string()))
                .collect();
            Catalog::from_files(root, files)
                .map_err(|p| format!("{p}the built-in catalog has problems (a bug in this build)"))
        }
    }
}

/// The example members registry built into the binary (the fictitious members of the demo).
fn shipped_registry() -> Result<MembersRegistry, String> {
    let text = shipped::FILES
        .iter()
        .find(|(path, _)| *path == "members.yaml")
        .map(|(_, text)| *text)
        .ok_or("the built-in members registry is missing (a bug in this build)")?;
    MembersRegistry::parse(Path::new("indicators/members.yaml"), text).map_err(|p| p.to_string())
}

/// What `pmm dry-run` was given.
#[derive(Debug, clap::Args)]
pub(crate) struct DryRunArgs {
    /// The member code, such as XA.
    #[arg(long, value_name = "CODE")]
    pub(crate) member: String,
    /// The member's data folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) data: PathBuf,
    /// Reporting year T (default: the latest year=YYYY folder in DATA).
    #[arg(long, value_name = "Y")]
    pub(crate) year: Option<i32>,
    /// The catalog folder, instead of the one built into pmm.
    #[arg(long, value_name = "DIR")]
    pub(crate) catalog: Option<PathBuf>,
    /// A members registry with the member's region and income group (default: the
    /// example registry built into pmm).
    #[arg(long, value_name = "FILE")]
    pub(crate) members: Option<PathBuf>,
    /// The member's WCO region, when it is not in the registry.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The member's income group, when it is not in the registry.
    #[arg(long, value_name = "GROUP")]
    pub(crate) income_group: Option<String>,
    /// A published run's results (a folder or a store URL) whose public peer statistics
    /// the report shows beside the member's values.
    #[arg(long, value_name = "URL")]
    pub(crate) peers: Option<String>,
    /// Language of the report.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub(crate) lang: LangArg,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "pmm-dry-run")]
    pub(crate) out: PathBuf,
    /// What to print: a summary for people, or summary.json for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

fn parse_region(text: &str) -> Result<Region, String> {
    Region::ALL
        .into_iter()
        .find(|r| r.as_str() == text)
        .ok_or_else(|| {
            format!(
                "--region `{text}` is not a WCO region: {}",
                Region::ALL.map(Region::as_str).join(", ")
            )
        })
}

fn parse_income_group(text: &str) -> Result<IncomeGroup, String> {
    IncomeGroup::ALL
        .into_iter()
        .find(|g| g.as_str() == text)
        .ok_or_else(|| {
            format!(
                "--income-group `{text}` is not an income group: {}",
                IncomeGroup::ALL.map(IncomeGroup::as_str).join(", ")
            )
        })
}

/// The member's region, income group and name: from `--region`/`--income-group`, else from
/// the registry (`--members`, or the example one built in).
fn place(args: &DryRunArgs) -> Result<(Region, IncomeGroup, Option<String>), String> {
    let registry = match &args.members {
        Some(path) => {
            MembersRegistry::load(path).map_err(|p| format!("{p}--members has problems"))?
        }
        None => shipped_registry()?,
    };
    let listed = registry.get(&args.member);
    let region = match (&args.region, listed) {
        (Some(text), _) => parse_region(text)?,
        (None, Some(m)) => m.region,
        (None, None) => return Err(unplaced(&args.member, args.members.is_some())),
    };
    let income_group = match (&args.income_group, listed) {
        (Some(text), _) => parse_income_group(text)?,
        (None, Some(m)) => m.income_group,
        (None, None) => return Err(unplaced(&args.member, args.members.is_some())),
    };
    Ok((region, income_group, listed.map(|m| m.name.clone())))
}

fn unplaced(member: &str, own_registry: bool) -> String {
    let registry = if own_registry {
        "the members registry given with --members"
    } else {
        "the example registry built into pmm"
    };
    format!(
        "member {member} is not in {registry}: give its region and income group, such as --region europe --income-group high (regions: {}; income groups: {})",
        Region::ALL.map(Region::as_str).join(", "),
        IncomeGroup::ALL.map(IncomeGroup::as_str).join(", ")
    )
}

/// `pmm dry-run`; returns the exit code.
pub(crate) async fn run_dry_run(args: DryRunArgs) -> anyhow::Result<u8> {
    if !is_member_code(&args.member) {
        eprintln!(
            "error: --member `{}` is not a member code (a capital letter then one or two capitals or digits, such as XA)",
            args.member
        );
        return Ok(EXIT_CONFIG);
    }
    let catalog = match load_catalog(args.catalog.as_deref()) {
        Ok(c) => Arc::new(c),
        Err(message) => {
            eprintln!("{message}: nothing ran");
            return Ok(EXIT_CONFIG);
        }
    };
    let (region, income_group, name) = match place(&args) {
        Ok(place) => place,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(EXIT_CONFIG);
        }
    };
    let peers = match &args.peers {
        None => None,
        Some(url) => match pmm_run::published_peers(url).await {
            Ok(peers) => Some(peers),
            Err(message) => {
                eprintln!("error: --peers {url}: {message}");
                eprintln!("run without --peers for a report without peer statistics");
                return Ok(EXIT_FAILED);
            }
        },
    };
    let options = DryRunOptions {
        member: args.member.clone(),
        region,
        income_group,
        data: args.data.clone(),
        year: args.year,
        out: args.out.clone(),
        peers: match peers.as_ref().map(pmm_results::review::global_peers) {
            None => Vec::new(),
            Some(Ok(rows)) => rows,
            Some(Err(e)) => {
                eprintln!("error: --peers: {e}");
                return Ok(EXIT_FAILED);
            }
        },
    };
    let progress = CliProgress::new();
    let outcome = dry_run(catalog.clone(), &options, &progress).await;
    progress.clear();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) if e.is_config() => {
            eprintln!("error: {e}");
            eprintln!("nothing ran");
            return Ok(EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_FAILED);
        }
    };
    let summary = &outcome.summary;
    let input = outcome.report_input(&catalog, args.lang.into(), name.as_deref(), peers.as_ref());
    let html = pmm_report::render(&input)?;
    let report = args.out.join("report.html");
    std::fs::write(&report, html)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", report.display()))?;

    if args.format == Format::Json {
        outln!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(0);
    }
    print_dry_run(&catalog, summary, &report, &outcome.results);
    Ok(0)
}

fn print_dry_run(
    catalog: &Catalog,
    summary: &pmm_run::DryRunSummary,
    report: &Path,
    results: &results::ResultTables,
) {
    outln!(
        "Dry run of member {} for {} done in {:.1} s: nothing was submitted or published",
        summary.member,
        summary.year,
        summary.duration_seconds
    );
    let line = |label: &str, s: &pmm_run::ScoreLine| {
        let score = match (s.score, s.level) {
            (Some(score), Some(level)) => format!("{score:5.1}  level {level}"),
            _ => format!("  -    {}", s.status.replace('_', " ")),
        };
        let coverage = s
            .coverage
            .map(|c| format!("  coverage {:3.0}%", 100.0 * c))
            .unwrap_or_default();
        outln!("  {label:<50} {score}{coverage}");
    };
    line("Overall", &summary.overall);
    for d in &summary.dimensions {
        let name = catalog
            .dimension(&d.id)
            .map_or(d.id.as_str(), |d| d.name.as_str());
        line(name, d);
    }
    let scored = results
        .indicators
        .iter()
        .filter(|r| r.status == pmm_catalog::Status::Ok)
        .count();
    outln!(
        "  {scored} of {} KPIs have a value; validation issues: {}, {}",
        results.indicators.len(),
        crate::run::counted(summary.issues_error, "error"),
        crate::run::counted(summary.issues_warning, "warning")
    );
    for (year, why) in &summary.rejected_submissions {
        outln!("  REJECTED {year}: the whole submission, because {why}");
    }
    for d in summary.datasets.iter().filter(|d| !d.accepted) {
        outln!(
            "  REJECTED {} {} ({}): {}",
            d.year,
            d.dataset,
            d.file,
            d.reason.as_deref().unwrap_or("")
        );
    }
    if summary.inputs_reused > 0 {
        outln!(
            "  {} files read, {} unchanged since the last dry run into this folder",
            summary.inputs_read,
            summary.inputs_reused
        );
    }
    print_review(summary);
    outln!("Report: {}", report.display());
}

/// The dry run's points to review, each with its explanation, or that there are none.
fn print_review(summary: &pmm_run::DryRunSummary) {
    if summary.review.is_empty() {
        outln!("  review: nothing to look at (no count or value beyond the catalog's bounds)");
        return;
    }
    outln!(
        "  review: {} to look at before you submit (the Secretariat's review applies the same rules; a flag changes no score):",
        crate::run::counted(summary.review.len() as u64, "point")
    );
    for flag in &summary.review {
        outln!("    {:<14} {}", flag.rule.as_str(), flag.message);
        match &flag.explanation {
            Some(text) => outln!("    {:<14} explained: {text}", ""),
            None => outln!(
                "    {:<14} fix the file, or explain it in manifest.yaml under `explanations:` (subject: {})",
                "",
                flag.subject
            ),
        }
    }
}

/// What `pmm report` was given.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Where the runs are published (a folder or a store URL).
    #[arg(long, value_name = "URL")]
    pub(crate) results: String,
    /// The member code.
    #[arg(long, value_name = "CODE")]
    pub(crate) member: String,
    /// Whose view of the results to show.
    #[arg(long, value_enum, default_value_t = Audience::Secretariat)]
    pub(crate) audience: Audience,
    /// Language of the report.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub(crate) lang: LangArg,
    /// Output file (default: report-CODE-YEAR.html).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// A run other than the latest.
    #[arg(long, value_name = "ID")]
    pub(crate) run_id: Option<String>,
    /// The catalog folder, instead of the one built into pmm.
    #[arg(long, value_name = "DIR")]
    pub(crate) catalog: Option<PathBuf>,
}

/// `pmm report`; returns the exit code.
pub(crate) async fn run_report(args: ReportArgs) -> anyhow::Result<u8> {
    let audience: Disclosure = args.audience.into();
    let catalog = match load_catalog(args.catalog.as_deref()) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}: nothing ran");
            return Ok(EXIT_CONFIG);
        }
    };
    let root = match crate::results_root(&args.results) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_CONFIG);
        }
    };
    let report = match PublishedReport::load(
        &root,
        args.run_id.as_deref(),
        audience,
        &args.member,
        &catalog,
    )
    .await
    {
        Ok(report) => report,
        Err(e @ ReportLoadError::NotForAudience { .. }) => {
            eprintln!("error: {e}");
            return Ok(EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_FAILED);
        }
    };
    let manifest = &report.manifest;
    if manifest.catalog_hash != catalog.hash {
        eprintln!(
            "warning: run {} was computed with catalog {}; the report explains its KPIs with catalog {} (give the run's with --catalog)",
            manifest.run_id,
            &manifest.catalog_hash[..manifest.catalog_hash.len().min(12)],
            &catalog.hash[..12]
        );
    }
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let input = report.report_input(&catalog, args.lang.into(), &args.member, &generated_at);
    let html = match pmm_report::render(&input) {
        Ok(html) => html,
        Err(pmm_report::ReportError::NoMember(member)) => {
            eprintln!(
                "error: run {} has no result for member {member} that the {} audience may see",
                manifest.run_id, audience
            );
            return Ok(EXIT_FAILED);
        }
        Err(e) => return Err(e.into()),
    };
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("report-{}-{}.html", args.member, manifest.year)));
    std::fs::write(&out, html)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    outln!(
        "Report of member {} for {} from run {} ({} audience): {}",
        args.member,
        manifest.year,
        manifest.run_id,
        audience,
        out.display()
    );
    Ok(0)
}
