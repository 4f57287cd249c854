//! The two small JSON files of a published run, as typed structs shared by the writer (the
//! run), the readers (`pmm serve`, `pmm gc`, `pmm report`) and the tests: `runs/<id>/manifest.json`
//! and `latest.json`.

use pmm_catalog::Disclosure;
use pmm_ingest::InputRecord;
use serde::{Deserialize, Serialize};

/// `latest.json`: the run a reader should follow. Replaced last, so it never names a run
/// that is not complete.
///
/// `run_id` and `path` name the run published last: its folder holds the newest history
/// across cycles. `current` names the run of the latest year published so far, whose tables
/// `pmm serve`, the metrics and `pmm report` show: a run for an earlier year (a back-fill)
/// adds its year to the history without moving the dashboards back to that year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestPointer {
    /// The run's id.
    pub run_id: String,
    /// Its folder, relative to the results location (`runs/<run_id>`).
    pub path: String,
    /// Its reporting year (absent in pointers written before the history existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// The run of the latest year (absent: the run above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentRun>,
}

/// The run of the latest year published so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentRun {
    /// Its id.
    pub run_id: String,
    /// Its folder, relative to the results location.
    pub path: String,
    /// Its reporting year.
    pub year: i32,
}

impl LatestPointer {
    /// The pointer to run `run_id` for `year`, replacing `previous`: it stays the current
    /// run when its year is later than this one's.
    pub fn next(run_id: &str, year: i32, previous: Option<&LatestPointer>) -> Self {
        let path = pmm_store::layout::results::run(run_id);
        let current = previous
            .and_then(LatestPointer::current_run)
            .filter(|c| c.year > year)
            .unwrap_or_else(|| CurrentRun {
                run_id: run_id.to_string(),
                path: path.clone(),
                year,
            });
        LatestPointer {
            run_id: run_id.to_string(),
            path,
            year: Some(year),
            current: Some(current),
        }
    }

    /// The run of the latest year, when the pointer says (a pointer written before the
    /// history existed does not know its year).
    pub fn current_run(&self) -> Option<CurrentRun> {
        self.current.clone().or_else(|| {
            self.year.map(|year| CurrentRun {
                run_id: self.run_id.clone(),
                path: self.path.clone(),
                year,
            })
        })
    }

    /// The id and folder of the run whose tables readers show: the current run.
    pub fn shown(&self) -> (&str, &str) {
        match &self.current {
            Some(c) => (&c.run_id, &c.path),
            None => (&self.run_id, &self.path),
        }
    }
}

/// `runs/<run_id>/manifest.json`: what a run read, what it wrote, and how it went. Written
/// after every result file, before `latest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// The run's id (`YYYYMMDDTHHMMSSZ-xxxxxx`).
    pub run_id: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// The reporting year T.
    pub year: i32,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished writing its results.
    pub finished_at: String,
    /// How long it took.
    pub duration_seconds: f64,
    /// SHA-256 of the catalog's files.
    pub catalog_hash: String,
    /// The catalog's version (`PMM v1.0`; empty in manifests written before it was kept).
    #[serde(default)]
    pub catalog_version: String,
    /// The version of pmm that ran.
    pub tool_version: String,
    /// Where the submissions were read (a URL without credentials, or a folder).
    pub source: String,
    /// Where validated data was staged.
    #[serde(default)]
    pub staging: String,
    /// The audiences results were written for.
    pub audiences: Vec<Disclosure>,
    /// Every input object: path, size, ETag or version, whether it was read or reused, its
    /// fingerprint and staged entry.
    pub inputs: Vec<InputRecord>,
    /// The cached evaluations of members this run's values come from or went to, relative to
    /// the staging location.
    #[serde(default)]
    pub evaluations: Vec<String>,
    /// Counts of what happened.
    pub counts: RunCounts,
    /// How evaluation used memory.
    #[serde(default)]
    pub engine: EngineFigures,
    /// Where the run's time went (zeros in manifests written before it was kept).
    #[serde(default)]
    pub phases: PhaseTimings,
    /// The result files, relative to the results location.
    pub files: Vec<String>,
}

/// The counts of a run's manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunCounts {
    /// Submissions accepted (T and T-1 counted apart).
    pub submissions_accepted: u64,
    /// Submissions rejected as a whole.
    pub submissions_rejected: u64,
    /// Datasets rejected in accepted submissions.
    pub datasets_rejected: u64,
    /// Validation issues of severity error (rows they stand for included).
    pub validation_issues_error: u64,
    /// Validation issues of severity warning.
    pub validation_issues_warning: u64,
    /// Inputs read, validated and staged by this run.
    #[serde(default)]
    pub inputs_read: u64,
    /// Inputs taken unchanged from staging.
    #[serde(default)]
    pub inputs_reused: u64,
    /// Members whose values this run computed.
    #[serde(default)]
    pub members_evaluated: u64,
    /// Members whose values were taken from staging: nothing they depend on had changed.
    #[serde(default)]
    pub members_reused: u64,
    /// The plausibility review's flags, by rule.
    #[serde(default)]
    pub review_flags: ReviewFlagCounts,
}

/// How many review flags a run raised under each rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReviewFlagCounts {
    /// `count_change`.
    pub count_change: u64,
    /// `value_change`.
    pub value_change: u64,
    /// `outside_range`.
    pub outside_range: u64,
    /// `peer_outlier`.
    pub peer_outlier: u64,
}

impl ReviewFlagCounts {
    /// The counts in the order of `ReviewRule::ALL`.
    pub fn by_rule(self) -> [u64; 4] {
        [
            self.count_change,
            self.value_change,
            self.outside_range,
            self.peer_outlier,
        ]
    }

    /// From counts in the order of `ReviewRule::ALL`.
    pub fn from_rules([count_change, value_change, outside_range, peer_outlier]: [u64; 4]) -> Self {
        ReviewFlagCounts {
            count_change,
            value_change,
            outside_range,
            peer_outlier,
        }
    }
}

/// Where a run's time went, in seconds. The phases run one after another, so their wall times
/// add up to about the run's `duration_seconds`. Reading, validating and staging go together,
/// file by file, on several threads at once: `read_seconds` is their wall time, and the three
/// `*_thread_seconds` split the reading threads' time between them (summed over the threads,
/// so together they can exceed `read_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// Loading the catalog and the members' registry, opening the stores, taking the run's
    /// lease and listing the submissions.
    pub discover_seconds: f64,
    /// Reading, validating and staging every input not reused from staging.
    pub read_seconds: f64,
    /// Within `read`: fetching the files and decoding them into batches.
    pub decode_thread_seconds: f64,
    /// Within `read`: checking the batches (types, rules, keys) and leaving out invalid rows.
    pub validate_thread_seconds: f64,
    /// Within `read`: encoding the valid rows into staged Parquet files and storing them.
    pub stage_thread_seconds: f64,
    /// Computing the indicators with DataFusion (or reusing members' cached values).
    pub evaluate_seconds: f64,
    /// Scoring and rolling up.
    pub score_seconds: f64,
    /// The history across cycles, the review, and writing the result files (up to the
    /// manifest itself).
    pub publish_seconds: f64,
}

/// The memory figures of a run's evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EngineFigures {
    /// The memory pool's size in bytes.
    pub memory_limit_bytes: u64,
    /// Bytes that operators spilled to disk.
    pub spilled_bytes: u64,
}

#[cfg(test)]
mod tests {
    /// `pmm serve` reads the run's figures back from `manifest.json`; they must be the very
    /// numbers the run wrote (serde_json parses floats exactly only with `float_roundtrip`).
    #[test]
    fn a_duration_reads_back_to_the_bit() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let seconds = (state >> 11) as f64 / (1u64 << 53) as f64 * 1000.0;
            let text = serde_json::to_string(&seconds).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), seconds.to_bits(), "{text}");
        }
        let back: f64 = serde_json::from_str("2.858296682").unwrap();
        assert_eq!(back, 2.858296682);
    }
}
