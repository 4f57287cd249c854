//! The layout of every path pmm reads and writes, relative to a [`crate::StoreRoot`].
//!
//! ```text
//! results location (pipeline `results`)
//!   latest.json                                    the published run readers follow
//!   runs/<run_id>/manifest.json                    what a run read, wrote, and how it went
//!   runs/<run_id>/<audience>/<table>.arrow         a result table for one audience
//!
//! staging location (pipeline `staging`; default: the results location's `staging/`)
//!   member=XA/year=2024/<dataset>/<fingerprint>.json              an input's entry, written last
//!   member=XA/year=2024/<dataset>/<fingerprint>-<nonce>.parquet   its valid rows
//!   member=XA/year=2024/manifest/<fingerprint>.json               a manifest's entry and text
//!   runs/<run_id>.json                                            a published run's reference
//!   leases/<run_id>.json                                          a run in progress
//!   evaluations/member=XA/year=2024/<key>.json                    a member's indicator values
//!
//! source location (pipeline `source`): what members submit
//!   member=XA/year=2024/<dataset>.<csv|jsonl|parquet>[.gz]
//!   member=XA/year=2024/manifest.yaml
//!
//! dry-run output folder (`pmm dry-run --out`)
//!   report.html, secretariat/<table>.arrow, staging/
//! ```
//!
//! Functions return `/`-separated paths; [`crate::StoreRoot::key`] puts them under the
//! location's prefix.

/// The results location: `latest.json` and the run folders.
pub mod results {
    /// The pointer to the published run.
    pub const LATEST: &str = "latest.json";

    /// The folder of every run.
    pub const RUNS: &str = "runs";

    /// A run's folder, as `latest.json` names it: `runs/<run_id>`.
    pub fn run(run_id: &str) -> String {
        format!("{RUNS}/{run_id}")
    }

    /// The manifest in a run folder (`run(id)`, or the `path` that `latest.json` gives).
    pub fn manifest_in(run_folder: &str) -> String {
        format!("{}/manifest.json", run_folder.trim_end_matches('/'))
    }

    /// A run's manifest: `runs/<run_id>/manifest.json`.
    pub fn manifest(run_id: &str) -> String {
        manifest_in(&run(run_id))
    }

    /// A table in an audience's folder of a run folder: `<folder>/<audience>/<table>.arrow`.
    pub fn table_in(run_folder: &str, audience: &str, table: &str) -> String {
        format!(
            "{}/{}",
            run_folder.trim_end_matches('/'),
            super::audience_table(audience, table)
        )
    }

    /// A run's table for an audience: `runs/<run_id>/<audience>/<table>.arrow`.
    pub fn table(run_id: &str, audience: &str, table: &str) -> String {
        table_in(&run(run_id), audience, table)
    }
}

/// `<audience>/<table>.arrow`: a table in a run folder or a dry run's output folder.
pub fn audience_table(audience: &str, table: &str) -> String {
    format!("{audience}/{table}.arrow")
}

/// The staging location: staged inputs, the runs' references and leases, the evaluation cache.
pub mod staging {
    /// The folder of a manifest's entries, in place of a dataset's name.
    pub const MANIFEST: &str = "manifest";

    /// The folder of published runs' references.
    pub const REFERENCES: &str = "runs";

    /// The folder of the leases of runs in progress.
    pub const LEASES: &str = "leases";

    /// The folder of members' cached indicator values.
    pub const EVALUATIONS: &str = "evaluations";

    /// The folder of one member's year and one dataset (or [`MANIFEST`]).
    pub fn folder(member: &str, year: i32, dataset: &str) -> String {
        format!("{}/{dataset}", super::source::year_folder(member, year))
    }

    /// An input's entry: `member=XA/year=2024/<dataset>/<fingerprint>.json`.
    pub fn entry(member: &str, year: i32, dataset: &str, fingerprint: &str) -> String {
        format!("{}/{fingerprint}.json", folder(member, year, dataset))
    }

    /// An input's staged rows: `member=XA/year=2024/<dataset>/<fingerprint>-<nonce>.parquet`.
    pub fn rows(member: &str, year: i32, dataset: &str, fingerprint: &str, nonce: &str) -> String {
        format!(
            "{}/{fingerprint}-{nonce}.parquet",
            folder(member, year, dataset)
        )
    }

    /// The files an entry's fingerprint starts (its rows, whatever their nonce): the entry's
    /// path without `.json`.
    pub fn entry_stem(entry: &str) -> &str {
        entry.strip_suffix(".json").unwrap_or(entry)
    }

    /// A published run's reference: `runs/<run_id>.json`.
    pub fn reference(run_id: &str) -> String {
        format!("{REFERENCES}/{run_id}.json")
    }

    /// The run id of a reference's path, if `relative` is one.
    pub fn reference_run(relative: &str) -> Option<&str> {
        run_of(relative, REFERENCES)
    }

    /// The run id of a lease's path, if `relative` is one.
    pub fn lease_run(relative: &str) -> Option<&str> {
        run_of(relative, LEASES)
    }

    /// `<folder>/<run_id>.json` → the run id.
    fn run_of<'a>(relative: &'a str, folder: &str) -> Option<&'a str> {
        relative
            .strip_prefix(folder)?
            .strip_prefix('/')?
            .strip_suffix(".json")
            .filter(|id| !id.is_empty() && !id.contains('/'))
    }

    /// A run's lease: `leases/<run_id>.json`.
    pub fn lease(run_id: &str) -> String {
        format!("{LEASES}/{run_id}.json")
    }

    /// Whether `relative` is in the leases' folder.
    pub fn is_lease(relative: &str) -> bool {
        in_folder(relative, LEASES)
    }

    /// A member's cached values: `evaluations/member=XA/year=2024/<key>.json`.
    pub fn evaluation(member: &str, year: i32, key: &str) -> String {
        format!(
            "{EVALUATIONS}/{}/{key}.json",
            super::source::year_folder(member, year)
        )
    }

    /// Whether `relative` is in the evaluation cache.
    pub fn is_evaluation(relative: &str) -> bool {
        in_folder(relative, EVALUATIONS)
    }

    fn in_folder(relative: &str, folder: &str) -> bool {
        relative
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// The source location: members' submissions.
pub mod source {
    /// The folder name of a member: `member=XA`.
    pub fn member_folder(member: &str) -> String {
        format!("member={member}")
    }

    /// The folder of a member's year: `member=XA/year=2024`.
    pub fn year_folder(member: &str, year: i32) -> String {
        format!("{}/year={year}", member_folder(member))
    }

    /// A submitted object: `member=XA/year=2024/<name>`.
    pub fn submission(member: &str, year: i32, name: &str) -> String {
        format!("{}/{name}", year_folder(member, year))
    }

    /// The member code a folder name gives (`member=XA` → `XA`), unchecked.
    pub fn member_of(folder: &str) -> Option<&str> {
        folder.strip_prefix("member=")
    }

    /// The year text a folder name gives (`year=2024` → `2024`), unchecked.
    pub fn year_of(folder: &str) -> Option<&str> {
        folder.strip_prefix("year=")
    }
}

/// A dry run's output folder (`pmm dry-run --out`), a local folder.
pub mod dry_run {
    /// The member's report.
    pub const REPORT: &str = "report.html";

    /// The staging folder inside it.
    pub const STAGING: &str = "staging";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_where_the_documentation_says() {
        assert_eq!(results::LATEST, "latest.json");
        assert_eq!(results::run("R1"), "runs/R1");
        assert_eq!(results::manifest("R1"), "runs/R1/manifest.json");
        assert_eq!(results::manifest_in("runs/R1/"), "runs/R1/manifest.json");
        assert_eq!(
            results::table("R1", "wco", "indicator_values"),
            "runs/R1/wco/indicator_values.arrow"
        );
        assert_eq!(
            staging::entry("XA", 2024, "staff", "ab"),
            "member=XA/year=2024/staff/ab.json"
        );
        assert_eq!(
            staging::rows("XA", 2024, "staff", "ab", "n1"),
            "member=XA/year=2024/staff/ab-n1.parquet"
        );
        assert_eq!(
            staging::entry_stem("member=XA/year=2024/staff/ab.json"),
            "member=XA/year=2024/staff/ab"
        );
        assert_eq!(staging::reference("R1"), "runs/R1.json");
        assert_eq!(staging::lease("R1"), "leases/R1.json");
        assert_eq!(
            staging::evaluation("XA", 2024, "k"),
            "evaluations/member=XA/year=2024/k.json"
        );
        assert_eq!(
            source::submission("XA", 2024, "staff.csv"),
            "member=XA/year=2024/staff.csv"
        );
    }

    #[test]
    fn paths_are_recognised_only_in_their_folders() {
        assert_eq!(
            staging::reference_run("runs/20240101T000000Z-abcdef.json"),
            Some("20240101T000000Z-abcdef")
        );
        assert_eq!(staging::reference_run("runs/x.parquet"), None);
        assert_eq!(staging::reference_run("runsx/a.json"), None);
        assert_eq!(staging::reference_run("runs/a/b.json"), None);
        assert!(staging::is_lease("leases/R1.json"));
        assert_eq!(staging::lease_run("leases/R1.json"), Some("R1"));
        assert!(!staging::is_lease("leasesX/R1.json"));
        assert!(staging::is_evaluation(
            "evaluations/member=XA/year=2024/k.json"
        ));
        assert!(!staging::is_evaluation("member=XA/evaluations/k.json"));
        assert_eq!(source::member_of("member=XA"), Some("XA"));
        assert_eq!(source::year_of("year=2024"), Some("2024"));
        assert_eq!(source::member_of("XA"), None);
    }
}
