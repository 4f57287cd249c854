//! `pmm gc`: removes staged data that no published run uses, and says what it removed.

use std::path::PathBuf;

use pmm_catalog::{StorageSettings, StoreLocation};
use pmm_run::{GcError, GcOptions, collect_garbage};

use crate::run::human_bytes;
use crate::{EXIT_CONFIG, EXIT_FAILED};

/// Runs the collection; returns the exit code.
pub(crate) async fn run(staging: &str, dry_run: bool, min_age_hours: f64) -> anyhow::Result<u8> {
    let staging = match StoreLocation::resolve(&PathBuf::from("."), staging) {
        Ok(location) => location,
        Err(e) => {
            eprintln!("error: --staging: {e}");
            return Ok(EXIT_CONFIG);
        }
    };
    if !(min_age_hours.is_finite() && (0.0..=1e6).contains(&min_age_hours)) {
        eprintln!("error: --min-age must be a number of hours between 0 and 1000000");
        return Ok(EXIT_CONFIG);
    }
    let options = GcOptions {
        staging,
        dry_run,
        min_age: chrono::Duration::milliseconds((min_age_hours * 3_600_000.0) as i64),
        storage: StorageSettings::default(),
    };
    let report = match collect_garbage(&options).await {
        Ok(report) => report,
        Err(e @ GcError::Config(_)) => {
            eprintln!("error: {e}");
            return Ok(EXIT_CONFIG);
        }
        Err(e @ GcError::Failed { .. }) => {
            eprintln!("error: {e}");
            eprintln!("nothing was removed");
            return Ok(EXIT_FAILED);
        }
    };
    if !report.blocked_by.is_empty() || !report.published_meanwhile.is_empty() {
        for run in &report.published_meanwhile {
            outln!("run {run} was published while the collection worked");
        }
        for lease in &report.blocked_by {
            outln!(
                "run {} of pipeline {} is in progress (started {}, lease renewed {})",
                lease.run_id,
                lease.pipeline,
                lease.started_at,
                lease.renewed_at
            );
        }
        let removed = if report.removed.is_empty() {
            "nothing was removed".to_string()
        } else {
            format!(
                "only {} unused entries were removed (their data files stay until the next collection)",
                report.removed.len()
            )
        };
        outln!(
            "{removed}: a collection waits for runs in progress; run pmm gc again once they end \
             (a run that died stops holding the staging area {} minutes after its last renewal)",
            pmm_ingest::LEASE_EXPIRY.as_secs() / 60
        );
        return Ok(0);
    }
    let removed: u64 = report.removed.iter().map(|(_, size)| size).sum();
    outln!(
        "{} published runs use {} staged objects ({}): kept",
        report.runs.len(),
        report.kept.objects,
        human_bytes(report.kept.bytes)
    );
    if report.young.objects > 0 {
        outln!(
            "{} unused objects ({}) are younger than {min_age_hours} hours: kept (a run may be using them)",
            report.young.objects,
            human_bytes(report.young.bytes)
        );
    }
    for run in &report.forgotten_runs {
        outln!("run {run}: its results are gone, so its reference goes too");
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for (path, size) in &report.removed {
        outln!("  {verb} {path} ({})", human_bytes(*size));
    }
    outln!(
        "{verb} {} objects ({}){}",
        report.removed.len(),
        human_bytes(removed),
        if dry_run {
            "; run without --dry-run to remove them"
        } else {
            ""
        }
    );
    Ok(0)
}
