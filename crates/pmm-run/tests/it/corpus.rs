//! The bad-input corpus: every folder of `tests/corpus/bad/` is one member's files and an
//! `expected.yaml` (see `tests/corpus/README.md`). All cases are members of one run (one run
//! per distinct `limits:`), so the test also shows that no member's files stop the others.
//! Adding a case is adding a folder.

use pmm_results::VALIDATION_ISSUES;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pmm_catalog::Pipeline;
use pmm_run::{NoProgress, RunOptions, run_pipeline};
use pmm_synth::{Hostile, write_hostile};
use serde::Deserialize;

use crate::read_table;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    about: String,
    exit: i32,
    accepted: bool,
    rejected: Vec<String>,
    issues: Vec<ExpectedIssue>,
    #[serde(default)]
    limits: BTreeMap<String, serde_yaml_value::Value>,
    #[serde(default)]
    generate: Option<String>,
}

/// A scalar of `limits:` as written (a number or a size with its unit).
mod serde_yaml_value {
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
    #[serde(untagged)]
    pub enum Value {
        Number(u64),
        Text(String),
    }

    impl std::fmt::Display for Value {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Value::Number(n) => write!(f, "{n}"),
                Value::Text(t) => write!(f, "{t}"),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedIssue {
    #[serde(default)]
    dataset: Option<String>,
    rule: String,
    #[serde(default)]
    record: Option<i64>,
    #[serde(default)]
    column: Option<String>,
}

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/bad")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The member code of the n-th case: `C` and two base-36 digits.
fn code(n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    assert!(n < 36 * 36, "more cases than member codes");
    format!("C{}{}", DIGITS[n / 36] as char, DIGITS[n % 36] as char)
}

/// Copies a case's files into the member's folder; `${member}` in a manifest becomes the code.
fn copy_case(from: &Path, to: &Path, member: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "expected.yaml" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_case(&entry.path(), &target, member);
        } else if name == "manifest.yaml" {
            // Byte for byte: some manifests are not UTF-8 on purpose.
            let bytes = std::fs::read(entry.path()).unwrap();
            let placeholder = b"${member}";
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i..].starts_with(placeholder) {
                    out.extend_from_slice(member.as_bytes());
                    i += placeholder.len();
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            std::fs::write(&target, out).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

const STAFF: &str = "unit,headcount,female_headcount,training_hours,integrity_cases,budget\nU1,10,5,12.5,0,1000\nU2,12,6,10,1,900\n";

/// A token that only the file behind a symbolic link holds: it must appear in no output.
pub const SECRET: &str = "SECRET-BEHIND-A-LINK-7f3a";

/// A file that keeps growing while the run reads it: a thread appends a record every half
/// millisecond until it is stopped.
pub struct Growing {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    writer: std::thread::JoinHandle<()>,
}

impl Growing {
    fn start(path: PathBuf) -> Self {
        use std::io::Write;
        std::fs::write(&path, STAFF).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let writer = std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            let mut n = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                writeln!(file, "G{n},1,1,1,1,1").unwrap();
                n += 1;
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        });
        Growing { stop, writer }
    }

    /// Stops the writer.
    pub fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.writer.join().unwrap();
    }
}

/// Makes the files of a generated case in the member's folder `to`; `outside` is a folder
/// outside the source. A file that must change during the run is returned as [`Growing`].
pub fn generate(name: &str, to: &Path, outside: &Path) -> Option<Growing> {
    let year = to.join("year=2024");
    std::fs::create_dir_all(&year).unwrap();
    match name {
        "symlink_file" => {
            let secret = outside.join("secret.csv");
            std::fs::write(&secret, format!("unit,headcount\n{SECRET},1\n")).unwrap();
            std::os::unix::fs::symlink(&secret, year.join("staff.csv")).unwrap();
        }
        "symlink_folder" => {
            std::fs::remove_dir(&year).unwrap();
            let real = outside.join(format!("{}-year", to.display().to_string().len()));
            std::fs::create_dir_all(&real).unwrap();
            std::fs::write(
                real.join("staff.csv"),
                format!("{STAFF}{SECRET},1,1,1,1,1\n"),
            )
            .unwrap();
            std::os::unix::fs::symlink(&real, &year).unwrap();
        }
        "newline_in_name" => {
            std::fs::write(year.join("sta\nff.csv"), STAFF).unwrap();
            std::fs::write(year.join("staff.csv"), STAFF).unwrap();
        }
        "not_utf8_name" => {
            use std::os::unix::ffi::OsStrExt;
            let name = std::ffi::OsStr::from_bytes(b"st\xffaff.csv");
            std::fs::write(year.join(name), STAFF).unwrap();
            std::fs::write(year.join("staff.csv"), STAFF).unwrap();
        }
        "fifo" => {
            let status = std::process::Command::new("mkfifo")
                .arg(year.join("staff.csv"))
                .status()
                .unwrap();
            assert!(status.success(), "mkfifo");
        }
        "gzip_of_zeros" => write_hostile(
            Hostile::GzipOfZeros { gib: 10 },
            &year.join("declarations.csv.gz"),
        )
        .unwrap(),
        "two_million_columns" => write_hostile(
            Hostile::WideHeader { columns: 2_000_000 },
            &year.join("declarations.csv"),
        )
        .unwrap(),
        "huge_line" => write_hostile(
            Hostile::LongLine { bytes: 100 << 20 },
            &year.join("declarations.csv"),
        )
        .unwrap(),
        // Round 3: what a file says about its own layout, and a file read as it was found.
        "parquet_chunk_claim_in_sparse_file" => write_hostile(
            Hostile::ParquetChunkClaim {
                claim: 1 << 39,
                hole: 1 << 40,
            },
            &year.join("declarations.parquet"),
        )
        .unwrap(),
        "parquet_footer_claim_in_sparse_file" => write_hostile(
            Hostile::ParquetFooterClaim { bytes: 5 << 30 },
            &year.join("declarations.parquet"),
        )
        .unwrap(),
        "growing_file" => return Some(Growing::start(year.join("staff.csv"))),
        other => panic!("no generator `{other}`"),
    }
    None
}

struct Case {
    name: String,
    member: String,
    expected: Expected,
}

fn load_cases() -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .enumerate()
        .map(|(n, name)| {
            let path = corpus_root().join(&name).join("expected.yaml");
            let text = std::fs::read_to_string(&path).unwrap();
            let expected: Expected =
                pmm_catalog::from_yaml(&path, &text).unwrap_or_else(|p| panic!("{name}: {p}"));
            Case {
                name,
                member: code(n),
                expected,
            }
        })
        .collect()
}

fn limits_yaml(limits: &BTreeMap<String, serde_yaml_value::Value>) -> String {
    if limits.is_empty() {
        return String::new();
    }
    let mut out = "limits:\n".to_string();
    for (k, v) in limits {
        out.push_str(&format!("  {k}: {v}\n"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_the_bad_input_corpus_gets_its_expected_issues() {
    let cases = load_cases();
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let mut groups: BTreeMap<String, Vec<&Case>> = BTreeMap::new();
    for case in &cases {
        groups
            .entry(limits_yaml(&case.expected.limits))
            .or_default()
            .push(case);
    }
    let mut failures = Vec::new();
    for (limits, group) in &groups {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let mut registry = "members:\n".to_string();
        let mut growing = Vec::new();
        for case in group {
            let folder = source.join(format!("member={}", case.member));
            match &case.expected.generate {
                Some(generator) => growing.extend(generate(generator, &folder, &outside)),
                None => copy_case(&corpus_root().join(&case.name), &folder, &case.member),
            }
            registry.push_str(&format!(
                "  - {{code: {}, name: Case {}, region: europe, income_group: high}}\n",
                case.member, case.name
            ));
        }
        std::fs::write(dir.path().join("members.yaml"), registry).unwrap();
        let pipeline_path = dir.path().join("pipeline.yaml");
        std::fs::write(
            &pipeline_path,
            format!(
                "name: corpus\nyear: 2024\ncatalog: {}\nmembers: members.yaml\nsource: source\nresults: results\nvalidation:\n  max_invalid_row_fraction: 0.5\n{limits}",
                repo_root().join("indicators").display()
            ),
        )
        .unwrap();
        let pipeline = Pipeline::load(&pipeline_path).unwrap();
        let summary = run_pipeline(&pipeline, &RunOptions::default(), &NoProgress).await;
        growing.into_iter().for_each(Growing::stop);
        let summary =
            summary.unwrap_or_else(|e| panic!("the corpus run with {limits:?} failed: {e}"));
        let run = dir.path().join("results/runs").join(&summary.run_id);
        let (_, issues) = read_table(&run.join(pmm_store::layout::audience_table(
            "secretariat",
            VALIDATION_ISSUES.name,
        )));
        for case in group {
            let e = &case.expected;
            let mut problems = Vec::new();
            if e.exit != 0 {
                problems.push(format!("exit: the run published (0), expected {}", e.exit));
            }
            let got: BTreeSet<ExpectedIssue> = issues
                .iter()
                .filter(|r| r["member"].text() == case.member)
                .map(|r| ExpectedIssue {
                    dataset: (r["dataset"] != crate::Cell::Null)
                        .then(|| r["dataset"].text().to_string()),
                    rule: r["rule"].text().to_string(),
                    record: r["row"].int(),
                    column: (r["column"] != crate::Cell::Null)
                        .then(|| r["column"].text().to_string()),
                })
                .collect();
            let want: BTreeSet<ExpectedIssue> = e.issues.iter().cloned().collect();
            if got != want {
                problems.push(format!(
                    "issues: missing {:?}, unexpected {:?}",
                    want.difference(&got).collect::<Vec<_>>(),
                    got.difference(&want).collect::<Vec<_>>()
                ));
            }
            let submission = summary
                .submissions
                .iter()
                .find(|s| s.member == case.member && s.year == 2024);
            let accepted = submission.is_some_and(|s| s.rejected.is_none());
            if accepted != e.accepted {
                problems.push(format!("accepted: {accepted}, expected {}", e.accepted));
            }
            let rejected: BTreeSet<String> = submission
                .map(|s| s.rejected_datasets.iter().map(|(d, _)| d.clone()).collect())
                .unwrap_or_default();
            // Regression: a dataset rejected by an issue that names a record (a record past
            // max_record_bytes) was summarised with an empty reason.
            for (dataset, reason) in submission.iter().flat_map(|s| &s.rejected_datasets) {
                if reason.is_empty() {
                    problems.push(format!("{dataset} is rejected without a reason"));
                }
            }
            let want_rejected: BTreeSet<String> = e.rejected.iter().cloned().collect();
            if rejected != want_rejected {
                problems.push(format!(
                    "rejected: {rejected:?}, expected {want_rejected:?}"
                ));
            }
            // Nothing submitted is shown longer than 120 characters, or with a control or
            // format character (a bidi override, a zero-width space).
            for r in issues.iter().filter(|r| r["member"].text() == case.member) {
                for column in ["message", "file", "column"] {
                    if let crate::Cell::Text(text) = &r[column]
                        && text.chars().any(pmm_ingest::is_escaped)
                    {
                        problems.push(format!(
                            "a control or format character in {column}: {text:?}"
                        ));
                    }
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} ({}, {}):\n    {}",
                    case.name,
                    case.member,
                    e.about,
                    problems.join("\n    ")
                ));
            }
        }
        // The file behind a symbolic link reached no output.
        let mut stack = vec![dir.path().join("results")];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                } else {
                    let bytes = std::fs::read(entry.path()).unwrap();
                    assert!(
                        !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                        "{} holds the linked file's contents",
                        entry.path().display()
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Every case, all of them read in this process (with whatever else the test binary ran
    // beside them): the process's peak resident memory stays within 1 GiB. The largest
    // hostile files are measured one by one, on the `pmm` process, in pmm-cli's hostile.rs.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    eprintln!(
        "peak resident memory after the corpus: {} MiB",
        peak_kib >> 10
    );
    assert!(peak_kib < 1 << 20, "peak {} MiB", peak_kib >> 10);
}
