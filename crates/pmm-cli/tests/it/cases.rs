//! The golden, data-driven cases of `pmm validate` and `pmm test` (`tests/cases/`).
//!
//! Each case is a folder `tests/cases/<command>/<case>/` holding:
//! - `cmd`: `#` lines saying what the case shows, then the `pmm` arguments (split on spaces);
//! - the files that differ from `tests/cases/base/` (the same relative paths): usually one file
//!   with one defect;
//! - optionally `remove`: paths of the base to delete, one a line;
//! - `expected.txt`: the exact exit code, stdout and stderr, paths relative to the case.
//!
//! The case runs in a temporary folder holding the base with the case's files over it. Every
//! case is run and every difference reported before the test fails. `PMM_BLESS=1` rewrites
//! the `expected.txt` files from what the binary printed (read the diff before committing).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::{copy_dir, pmm, repo_root, text};

/// Files of a case folder that are the case's own, not overlays of the base.
const CASE_FILES: [&str; 3] = ["cmd", "expected.txt", "remove"];

#[test]
fn golden_cases_of_validate_and_test() {
    let root = repo_root().join("tests/cases");
    let bless = std::env::var_os("PMM_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    for command in ["validate", "test"] {
        for case in sorted_entries(&root.join(command)) {
            count += 1;
            let actual = run_case(&root.join("base"), &case);
            let expected_path = case.join("expected.txt");
            if bless {
                std::fs::write(&expected_path, &actual).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if expected != actual {
                failures.push(format!(
                    "{}:\n--- expected\n{expected}--- actual\n{actual}",
                    case.strip_prefix(&root).unwrap_or(&case).display()
                ));
            }
        }
    }
    assert!(
        count >= 80,
        "only {count} cases found under {}",
        root.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ (PMM_BLESS=1 rewrites expected.txt):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs one case and returns its output in the `expected.txt` layout.
fn run_case(base: &Path, case: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(base, dir.path());
    overlay(case, dir.path(), true);
    if let Ok(remove) = std::fs::read_to_string(case.join("remove")) {
        for line in remove.lines().filter(|l| !l.trim().is_empty()) {
            let path = dir.path().join(line.trim());
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path)
                    .unwrap_or_else(|e| panic!("{}: remove {line}: {e}", case.display()));
            }
        }
    }
    let cmd = std::fs::read_to_string(case.join("cmd"))
        .unwrap_or_else(|e| panic!("{}: cmd: {e}", case.display()));
    let line = cmd
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap_or_else(|| panic!("{}: cmd names no command", case.display()));
    let args: Vec<&str> = line.split_whitespace().collect();
    let output = pmm(dir.path(), &args);
    let (stdout, stderr) = text(&output);
    let mut shown = format!(
        "$ pmm {line}\nexit: {}\n",
        output.status.code().unwrap_or(-1)
    );
    for (name, body) in [("stdout", stdout), ("stderr", stderr)] {
        let _ = writeln!(shown, "--- {name}");
        shown.push_str(&body);
        if !body.is_empty() && !body.ends_with('\n') {
            shown.push('\n');
        }
    }
    shown
}

/// Copies a case's own files over the base, keeping their relative paths (`top`: the case
/// folder itself, whose `cmd`, `expected.txt` and `remove` are not overlays).
fn overlay(from: &Path, to: &Path, top: bool) {
    for entry in sorted_entries(from) {
        let name = entry.file_name().unwrap();
        if top && CASE_FILES.iter().any(|f| name == *f) {
            continue;
        }
        let target = to.join(name);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            overlay(&entry, &target, false);
        } else {
            std::fs::copy(&entry, &target).unwrap();
        }
    }
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries
}
