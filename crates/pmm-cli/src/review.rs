//! `pmm review`: the latest run's plausibility review, grouped by member, each flag with its
//! figures and the member's explanation.

use std::collections::BTreeMap;

use pmm_results::{ReviewFlag, ReviewRule};

use crate::{EXIT_CONFIG, EXIT_FAILED};

/// What `pmm review` was given.
#[derive(Debug, clap::Args)]
pub(crate) struct ReviewArgs {
    /// Where the runs are published (a folder or a store URL).
    #[arg(long, value_name = "URL")]
    results: String,
    /// Only this member.
    #[arg(long, value_name = "CODE")]
    member: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    format: ReviewFormat,
}

/// How the flags are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ReviewFormat {
    /// Grouped by member, for people.
    Text,
    /// The table's rows as a JSON array.
    Json,
}

/// `pmm review`; returns the exit code.
pub(crate) async fn run(args: ReviewArgs) -> anyhow::Result<u8> {
    let root = match crate::results_root(&args.results) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_CONFIG);
        }
    };
    let review = match pmm_run::published_review(&root).await {
        Ok(review) => review,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_FAILED);
        }
    };
    let flags: Vec<ReviewFlag> = review
        .flags
        .into_iter()
        .filter(|f| args.member.as_deref().is_none_or(|m| f.member == m))
        .collect();
    match args.format {
        ReviewFormat::Json => {
            let batch = pmm_results::review::encode(&review.run_id, review.year, &flags)?;
            crate::output::Stdout::json(&batch)?;
        }
        ReviewFormat::Text => out!(
            "{}",
            text(
                &flags,
                &review.run_id,
                &review.pipeline,
                review.year,
                args.member.as_deref()
            )
        ),
    }
    Ok(0)
}

/// The flags grouped by member, each with its explanation or what the member can do.
fn text(
    flags: &[ReviewFlag],
    run_id: &str,
    pipeline: &str,
    year: i32,
    member: Option<&str>,
) -> String {
    let whose = member
        .map(|m| format!(" of member {m}"))
        .unwrap_or_default();
    let mut out = format!("Review of run {run_id} (pipeline {pipeline}, year {year}){whose}: ");
    if flags.is_empty() {
        out.push_str(
            "no flag. No count or value moved or stood out beyond the catalog's bounds.\n",
        );
        return out;
    }
    let mut by_member: BTreeMap<&str, Vec<&ReviewFlag>> = BTreeMap::new();
    for flag in flags {
        by_member.entry(&flag.member).or_default().push(flag);
    }
    let per_rule: Vec<String> = ReviewRule::ALL
        .iter()
        .map(|rule| {
            let n = flags.iter().filter(|f| f.rule == *rule).count();
            format!("{} {n}", rule.as_str())
        })
        .collect();
    out.push_str(&format!(
        "{} for {} ({}).\nA flag changes no value or score: look at each before publishing.\n",
        crate::run::counted(flags.len() as u64, "flag"),
        crate::run::counted(by_member.len() as u64, "member"),
        per_rule.join(", ")
    ));
    let explained = flags.iter().filter(|f| f.explanation.is_some()).count();
    for (member, flags) in by_member {
        out.push_str(&format!("\n{member}\n"));
        for flag in flags {
            out.push_str(&format!("  {:<14} {}\n", flag.rule.as_str(), flag.message));
            match &flag.explanation {
                Some(text) => out.push_str(&format!("  {:<14} explained: {text}\n", "")),
                None => out.push_str(&format!("  {:<14} no explanation in the manifest\n", "")),
            }
        }
    }
    out.push_str(&format!(
        "\n{explained} of {} explained by the member in its manifest (`explanations:`).\n",
        flags.len()
    ));
    out
}
