//! `pmm run` and `pmm synth` as a user runs them: the demo, exit codes, a crash midway, and
//! reproducible synthetic data.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{local_tables, pmm, read_json, repo_root, text};

fn latest(results: &Path) -> serde_json::Value {
    read_json(&results.join("latest.json"))
}

#[test]
fn the_demo_runs_and_prints_a_summary() {
    let results = tempfile::tempdir().unwrap();
    let out = results.path().to_str().unwrap();
    let output = pmm(
        &repo_root(),
        &["run", "pipelines/demo.yaml", "--results", out],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let run_id = latest(results.path())["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        stdout.starts_with(&format!("Run {run_id} of pipeline demo published in")),
        "{stdout}"
    );
    let header = stdout
        .lines()
        .find(|l| l.contains("member") && l.contains("overall"))
        .unwrap();
    assert!(
        header.contains("tfec") && header.contains("esps"),
        "{header}"
    );
    let xa = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("XA "))
        .unwrap();
    assert_eq!(
        xa.split_whitespace().count(),
        6,
        "a score or a marker per dimension: {xa}"
    );
    assert!(
        stdout.contains("XC 2024: the whole submission, because its manifest.yaml is invalid"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the manifest is for member XA, but it is in the folder of member XC"),
        "{stdout}"
    );
    assert!(
        stdout.contains("XE 2024 declarations: 30 of 300 records (10.0%) are invalid"),
        "{stdout}"
    );
    assert!(
        stdout.contains("member=QQ/: member QQ is not in the members registry"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "inputs: 158 read and staged, 0 unchanged and reused (staging: {out}/staging)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("indicators: computed for 10 members, reused for 0"),
        "{stdout}"
    );
    // Where the time went: the phases follow one another, so their wall times add up to the
    // run's duration; every file was read, so each kind of reading work took some time.
    let manifest: serde_json::Value =
        read_json(&results.path().join(format!("runs/{run_id}/manifest.json")));
    let phase = |name: &str| manifest["phases"][name].as_f64().unwrap();
    let walls = ["discover", "read", "evaluate", "score", "publish"]
        .map(|p| phase(&format!("{p}_seconds")))
        .iter()
        .sum::<f64>();
    let duration = manifest["duration_seconds"].as_f64().unwrap();
    assert!(
        walls <= duration && duration - walls < 0.05 * duration,
        "phases {walls} s against a run of {duration} s: {}",
        manifest["phases"]
    );
    for name in [
        "read_seconds",
        "decode_thread_seconds",
        "validate_thread_seconds",
        "stage_thread_seconds",
        "evaluate_seconds",
    ] {
        assert!(phase(name) > 0.0, "{name}: {}", manifest["phases"]);
    }
    assert!(
        stdout.contains(&format!(
            "  time: discover {:.1} s, read {:.1} s (thread seconds: decode {:.1}",
            phase("discover_seconds"),
            phase("read_seconds"),
            phase("decode_thread_seconds")
        )),
        "{stdout}"
    );
    // `pmm --version` names the catalog this run recorded, and the commit git gives (where
    // there is a repository).
    let version = pmm(&repo_root(), &["--version"]);
    let (version_text, _) = text(&version);
    assert_eq!(version.status.code(), Some(0), "{version_text}");
    let lines: Vec<&str> = version_text.lines().collect();
    assert_eq!(lines.len(), 3, "{version_text}");
    assert_eq!(lines[0], format!("pmm {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        lines[1],
        format!(
            "catalog {} (sha256 {})",
            manifest["catalog_version"].as_str().unwrap(),
            manifest["catalog_hash"].as_str().unwrap()
        )
    );
    let commit = lines[2].strip_prefix("commit ").unwrap();
    let git = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo_root())
        .output();
    match git {
        Ok(git) if git.status.success() => {
            assert_eq!(commit, String::from_utf8_lossy(&git.stdout).trim());
        }
        _ => assert_eq!(commit, "unknown"),
    }
    assert!(
        stderr.contains("reading submissions"),
        "progress lines on stderr: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal"
    );
}

/// Runs `pmm` with `args` from the repository's root, its standard output's reader gone
/// before the first line (`pmm ... | head -0`).
fn with_stdout_closed(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pmm"))
        .args(args)
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the pmm binary runs");
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// A reader that goes away (`pmm run ... | head -1`) stops the printing, not the command: the
/// run publishes and exits 0, a table written by arrow's writer (`pmm history --format csv`)
/// exits 0, and no panic or error is printed.
#[test]
fn a_closed_pipe_stops_the_printing_not_the_command() {
    let results = tempfile::tempdir().unwrap();
    let out = results.path().to_str().unwrap();
    for args in [
        &["run", "pipelines/demo.yaml", "--results", out][..],
        &["history", "--results", out, "--format", "csv"],
        &["history", "--results", out],
    ] {
        let output = with_stdout_closed(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("rror"),
            "{args:?}: {stderr}"
        );
    }
    assert!(latest(results.path())["run_id"].is_string());
}

/// Standard output that fails otherwise (a full disk under a redirection: `/dev/full`) is an
/// error that says so, not a table cut short without a word.
#[test]
fn a_full_standard_output_is_an_error_that_says_so() {
    let results = tempfile::tempdir().unwrap();
    let out = results.path().to_str().unwrap();
    let run = pmm(
        &repo_root(),
        &["run", "pipelines/demo.yaml", "--results", out],
    );
    assert_eq!(run.status.code(), Some(0));
    for format in ["csv", "json"] {
        let output = Command::new(env!("CARGO_BIN_EXE_pmm"))
            .args(["history", "--results", out, "--format", format])
            .current_dir(repo_root())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(0), "{format}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output"),
            "{format}: {stderr}"
        );
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let results = tempfile::tempdir().unwrap();
    let output = pmm(
        &repo_root(),
        &[
            "--log-format",
            "json",
            "run",
            "pipelines/demo.yaml",
            "--results",
            results.path().to_str().unwrap(),
        ],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(value["level"].is_string(), "{line}");
    }
}

#[test]
fn a_run_that_dies_midway_leaves_the_previous_run_as_latest() {
    let results = tempfile::tempdir().unwrap();
    let out = results.path().to_str().unwrap();
    assert_eq!(
        pmm(
            &repo_root(),
            &["run", "pipelines/demo.yaml", "--results", out]
        )
        .status
        .code(),
        Some(0)
    );
    let before = latest(results.path());
    let run = results.path().join(before["path"].as_str().unwrap());
    assert!(run.join("manifest.json").exists());
    let history = |results: &Path| {
        pmm(
            &repo_root(),
            &[
                "history",
                "--results",
                results.to_str().unwrap(),
                "--format",
                "json",
            ],
        )
        .stdout
    };
    let history_before = history(results.path());
    assert!(history_before.len() > 100);
    // 3 audiences: 5 + 5 + 6 tables (the history across cycles among them), then
    // manifest.json (17), then the run's reference in the staging area and latest.json.
    for crash_after in ["1", "7", "14", "17"] {
        let output = Command::new(env!("CARGO_BIN_EXE_pmm"))
            .args(["run", "pipelines/demo.yaml", "--results", out])
            .current_dir(repo_root())
            .env("PMM_CRASH_AFTER_WRITES", crash_after)
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "the run was killed after {crash_after} writes"
        );
        assert_eq!(
            latest(results.path()),
            before,
            "latest.json unchanged after a crash at write {crash_after}"
        );
        assert_eq!(
            history(results.path()),
            history_before,
            "the history unchanged after a crash at write {crash_after}"
        );
    }
    // The previous run is still whole.
    let manifest: serde_json::Value = read_json(&run.join("manifest.json"));
    for file in manifest["files"].as_array().unwrap() {
        assert!(
            results.path().join(file.as_str().unwrap()).exists(),
            "{file}"
        );
    }
}

#[test]
fn a_results_store_that_fails_is_exit_1_and_publishes_nothing() {
    let results = tempfile::tempdir().unwrap();
    // `runs` is a file, so no run folder can be made under it.
    std::fs::write(results.path().join("runs"), b"not a folder").unwrap();
    let output = pmm(
        &repo_root(),
        &[
            "run",
            "pipelines/demo.yaml",
            "--results",
            results.path().to_str().unwrap(),
        ],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the results"), "{stderr}");
    assert!(stderr.contains("nothing new was published"), "{stderr}");
    assert!(!results.path().join("latest.json").exists());
}

#[test]
fn configuration_errors_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "name: x\nyear: 2024\n").unwrap();
    let output = pmm(dir.path(), &["run", "bad.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.yaml:1:1: missing field `catalog`"),
        "{stderr}"
    );

    let missing_source = dir.path().join("p.yaml");
    std::fs::write(
        &missing_source,
        format!(
            "name: x\nyear: 2024\ncatalog: {}\nmembers: {}\nsource: nowhere\nresults: out\n",
            repo_root().join("indicators").display(),
            repo_root().join("indicators/members.yaml").display()
        ),
    )
    .unwrap();
    let output = pmm(dir.path(), &["run", "p.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nowhere: no such folder"), "{stderr}");
}

fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    pmm_test_support::files::files_under(root)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (
                path.strip_prefix(root).unwrap().display().to_string(),
                bytes,
            )
        })
        .collect()
}

#[test]
fn the_checked_in_sample_is_what_synth_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("examples");
    let args = [
        "synth",
        "--members",
        "10",
        "--declarations",
        "300",
        "--faults",
        "--out",
        out.to_str().unwrap(),
    ];
    assert_eq!(pmm(&repo_root(), &args).status.code(), Some(0));
    let made = files(&out);
    let shipped = files(&repo_root().join("examples"));
    assert_eq!(made.len(), shipped.len());
    for ((name_a, bytes_a), (name_b, bytes_b)) in made.iter().zip(&shipped) {
        assert_eq!(name_a, name_b);
        assert!(
            bytes_a == bytes_b,
            "{name_a} differs: regenerate with `pmm synth --members 10 --declarations 300 --faults --out examples`"
        );
    }
    let again = dir.path().join("again");
    let mut args2 = args;
    args2[7] = again.to_str().unwrap();
    assert_eq!(pmm(&repo_root(), &args2).status.code(), Some(0));
    assert_eq!(files(&again), made, "same seed, same bytes");
}

#[test]
fn a_run_killed_at_any_moment_never_leaves_latest_pointing_at_a_partial_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synth = [
        "synth",
        "--members",
        "6",
        "--declarations",
        "20000",
        "--out",
        data.to_str().unwrap(),
    ];
    assert_eq!(pmm(&repo_root(), &synth).status.code(), Some(0));
    std::fs::write(
        data.join("pipeline.yaml"),
        format!(
            "name: kill\nyear: 2024\ncatalog: {}\nmembers: members.yaml\nsource: submissions\nresults: results\n",
            repo_root().join("indicators").display()
        ),
    )
    .unwrap();
    let pipeline = data.join("pipeline.yaml");
    let results = data.join("results");
    assert_eq!(
        pmm(&repo_root(), &["run", pipeline.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    // SIGKILL at several moments of later runs: reading, computing, writing.
    for delay_ms in [50u64, 400, 900, 1500] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pmm"))
            .args(["run", pipeline.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = latest(&results);
        let run = results.join(now["path"].as_str().unwrap());
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run.join("manifest.json")).unwrap(),
        )
        .unwrap_or_else(|e| {
            panic!(
                "latest.json points at a run without a manifest after a kill at {delay_ms} ms: {e}"
            )
        });
        for file in manifest["files"].as_array().unwrap() {
            assert!(
                results.join(file.as_str().unwrap()).exists(),
                "{file} missing after a kill at {delay_ms} ms"
            );
        }
    }
}

/// The staged entries under `staging` and whether each names complete files (every file it
/// lists is there with the size the entry records).
fn staged_entries(staging: &Path) -> Vec<(String, bool)> {
    let mut entries = Vec::new();
    let mut stack = vec![staging.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in listing.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(staging).unwrap().display().to_string();
            if path.is_dir() {
                stack.push(path);
            } else if relative.ends_with(".json")
                && !relative.starts_with("runs/")
                && !relative.starts_with("evaluations/")
                && !relative.starts_with("leases/")
            {
                let entry: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap())
                        .unwrap_or_else(|e| panic!("{relative} is not whole JSON: {e}"));
                let complete = entry["files"].as_array().unwrap().iter().all(|f| {
                    std::fs::metadata(staging.join(f["path"].as_str().unwrap()))
                        .is_ok_and(|m| Some(m.len()) == f["size"].as_u64())
                });
                entries.push((relative, complete));
            }
        }
    }
    entries.sort();
    entries
}

#[test]
fn a_crash_while_staging_leaves_no_entry_that_a_later_run_trusts() {
    let reference = tempfile::tempdir().unwrap();
    let out = |dir: &tempfile::TempDir| dir.path().to_str().unwrap().to_string();
    let run = |results: &str, crash_after: Option<usize>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pmm"));
        command
            .args(["run", "pipelines/demo.yaml", "--results", results])
            .current_dir(repo_root());
        if let Some(n) = crash_after {
            command.env("PMM_CRASH_AFTER_WRITES", n.to_string());
        }
        command.output().unwrap()
    };
    assert_eq!(run(&out(&reference), None).status.code(), Some(0));
    let (expected, _) = local_tables(reference.path());

    // The first writes of a run on empty staging are staged files and entries.
    for crash_after in [1, 2, 3, 8, 21] {
        let results = tempfile::tempdir().unwrap();
        let crashed = run(&out(&results), Some(crash_after));
        assert!(
            !crashed.status.success(),
            "killed after {crash_after} writes"
        );
        assert!(!results.path().join("latest.json").exists());
        let staging = results.path().join("staging");
        let entries = staged_entries(&staging);
        for (entry, complete) in &entries {
            assert!(
                complete,
                "{entry} names a file that is missing or incomplete after a crash at write {crash_after}"
            );
        }
        let again = run(&out(&results), None);
        assert_eq!(again.status.code(), Some(0), "{:?}", text(&again));
        let (tables, manifest) = local_tables(results.path());
        let reused = manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["status"] == "reused")
            .count();
        assert_eq!(
            reused,
            entries.len(),
            "exactly the entries written before the crash at write {crash_after} are reused"
        );
        assert_eq!(
            tables, expected,
            "the same rows after a crash at write {crash_after}"
        );
    }
}

#[test]
fn gc_says_what_it_would_remove_and_removes_only_that() {
    let results = tempfile::tempdir().unwrap();
    let out = results.path().to_str().unwrap();
    let run = ["run", "pipelines/demo.yaml", "--results", out];
    assert_eq!(pmm(&repo_root(), &run).status.code(), Some(0));
    let staging = results.path().join("staging");
    let staging_arg = staging.to_str().unwrap();
    // A data file left by a run that died midway.
    let orphan = staging.join("member=XA/year=2024/declarations/0000-dead.parquet");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"PAR1").unwrap();

    let young = pmm(&repo_root(), &["gc", "--staging", staging_arg, "--dry-run"]);
    let (stdout, stderr) = text(&young);
    assert_eq!(young.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 published runs use"), "{stdout}");
    assert!(
        stdout.contains("younger than 24 hours: kept"),
        "a fresh orphan is kept by default: {stdout}"
    );
    assert!(stdout.contains("would remove 0 objects"), "{stdout}");

    let dry = pmm(
        &repo_root(),
        &[
            "gc",
            "--staging",
            staging_arg,
            "--dry-run",
            "--min-age",
            "0",
        ],
    );
    let (stdout, _) = text(&dry);
    assert!(
        stdout.contains("would remove member=XA/year=2024/declarations/0000-dead.parquet"),
        "{stdout}"
    );
    assert!(
        stdout.contains("run without --dry-run to remove them"),
        "{stdout}"
    );
    assert!(orphan.exists());

    let real = pmm(
        &repo_root(),
        &["gc", "--staging", staging_arg, "--min-age", "0"],
    );
    let (stdout, _) = text(&real);
    assert_eq!(real.status.code(), Some(0));
    assert!(stdout.contains("removed 1 objects"), "{stdout}");
    assert!(!orphan.exists());
    // The run still reuses everything it staged.
    let again = pmm(&repo_root(), &run);
    let (stdout, _) = text(&again);
    assert!(stdout.contains("inputs: 0 read and staged"), "{stdout}");
    // Nothing was read, so no reading thread worked.
    assert!(
        stdout.contains("(thread seconds: decode 0.0, validate 0.0, stage 0.0)"),
        "{stdout}"
    );

    let bad = pmm(&repo_root(), &["gc", "--staging", "ftp://nowhere/x"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `pmm history` after two cycles of the demo (2024, then 2023 filled in): one line per KPI
/// with a column per year whose cells are the table's current values; json gives the rows;
/// the audience's view holds only what it may see.
#[test]
fn history_prints_the_series_of_the_table() {
    let results = tempfile::tempdir().unwrap();
    let out = results.path().to_str().unwrap();
    for year in ["2024", "2023"] {
        let output = pmm(
            &repo_root(),
            &[
                "run",
                "pipelines/demo.yaml",
                "--results",
                out,
                "--year",
                year,
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    }
    let latest = latest(results.path());
    assert_eq!(latest["year"], 2023);
    assert_eq!(latest["current"]["year"], 2024, "{latest}");

    let json = pmm(
        &repo_root(),
        &[
            "history",
            "--results",
            out,
            "--member",
            "XA",
            "--format",
            "json",
        ],
    );
    assert_eq!(json.status.code(), Some(0), "{:?}", text(&json));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["member"] == "XA"));
    let years: std::collections::BTreeSet<i64> =
        rows.iter().map(|r| r["year"].as_i64().unwrap()).collect();
    assert_eq!(years.into_iter().collect::<Vec<_>>(), vec![2023, 2024]);

    let series = pmm(
        &repo_root(),
        &["history", "--results", out, "--member", "XA"],
    );
    let (stdout, stderr) = text(&series);
    assert_eq!(series.status.code(), Some(0), "{stderr}");
    // The whole text, as a golden copy (the results folder's path aside; PMM_BLESS=1 rewrites).
    let golden = repo_root().join("tests/golden/history/demo-xa.txt");
    let shown = stdout.replace(out, "RESULTS");
    if std::env::var_os("PMM_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &shown).unwrap();
    }
    let expected = std::fs::read_to_string(&golden)
        .expect("tests/golden/history/demo-xa.txt (PMM_BLESS=1 writes it)");
    assert_eq!(shown, expected);
    assert!(stdout.contains("Member XA"), "{stdout}");
    let header = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("KPI"))
        .unwrap();
    assert!(
        header.contains("2023") && header.contains("2024"),
        "{header}"
    );
    // Every ok value of the table is printed in its KPI's line, under its year's column.
    for row in rows.iter().filter(|r| r["status"] == "ok") {
        let kpi = row["indicator"].as_str().unwrap();
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(kpi))
            .unwrap_or_else(|| panic!("no line for {kpi}:\n{stdout}"));
        let cells: Vec<&str> = line.split_whitespace().skip(1).collect();
        let column = if row["year"] == 2023 { 0 } else { 1 };
        let shown = format!("{:.2}", row["value"].as_f64().unwrap());
        assert_eq!(cells[column].trim_matches(['*', '|']), shown, "{line}");
    }

    // The public view holds no row above public.
    let public = pmm(
        &repo_root(),
        &[
            "history",
            "--results",
            out,
            "--audience",
            "public",
            "--format",
            "csv",
        ],
    );
    let (csv, _) = text(&public);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let disclosure = header.iter().position(|c| *c == "disclosure").unwrap();
    assert!(csv.lines().count() > 1);
    for line in csv.lines().skip(1) {
        assert_eq!(line.split(',').nth(disclosure), Some("public"), "{line}");
    }
}
