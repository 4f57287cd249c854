//! `pmm run --stage-only --shard I/N`: two processes staging the demo's members into one
//! staging area at the same time, on a local folder and on Garage, then one run. The shards
//! split the members without overlap or gap, every input is staged exactly once (one entry,
//! its data files whole, no file that no entry names), nothing is published by staging, and
//! the run that follows reads nothing and gives the rows of a run that read everything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cloud::local_reference;
use crate::s3::Garage;
use crate::{local_tables, pmm_env, repo_root, text};

/// Starts shards 0/2 and 1/2 of `pipeline` at once and waits for both; their stdouts.
fn two_shards_at_once(dir: &Path, pipeline: &Path, env: &[(String, String)]) -> Vec<String> {
    let children: Vec<_> = ["0/2", "1/2"]
        .iter()
        .map(|shard| {
            Command::new(env!("CARGO_BIN_EXE_pmm"))
                .args(["run", pipeline.to_str().unwrap(), "--stage-only"])
                .args(["--shard", shard])
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .current_dir(dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            let output = child.wait_with_output().unwrap();
            let (stdout, stderr) = text(&output);
            assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
            assert!(
                stdout.starts_with(&format!("Staged shard {i}/2 of pipeline ")),
                "{stdout}"
            );
            assert!(stdout.contains("Nothing was published."), "{stdout}");
            stdout
        })
        .collect()
}

/// The members each shard names; asserts they split the demo's ten without overlap or gap,
/// and returns how many inputs the shards read.
fn shards_split_the_members(outputs: &[String]) -> usize {
    let mut all = BTreeSet::new();
    let mut read = 0;
    for stdout in outputs {
        let members: Vec<&str> = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("members: "))
            .unwrap_or_else(|| panic!("no members line: {stdout}"))
            .split(' ')
            .collect();
        assert!(!members.is_empty(), "{stdout}");
        for member in members {
            assert!(all.insert(member.to_string()), "{member} in two shards");
        }
        let inputs = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("inputs: "))
            .unwrap();
        read += inputs.split(' ').next().unwrap().parse::<usize>().unwrap();
        assert!(
            inputs.contains(" read and staged") && inputs.contains("0 unchanged"),
            "{stdout}"
        );
    }
    let expected: BTreeSet<String> = (b'A'..=b'J').map(|c| format!("X{}", c as char)).collect();
    assert_eq!(all, expected, "the two shards cover every member");
    read
}

/// Every input staged once: `inputs` entries, each naming data files that are there whole,
/// and no data file that no entry names (none written twice). `objects` is the staging area,
/// by path relative to it, with each object's bytes.
fn staged_once(objects: &BTreeMap<String, Vec<u8>>, inputs: usize) {
    let mut named = BTreeSet::new();
    let mut entries = 0;
    for (path, bytes) in objects {
        if path.starts_with("member=") && path.ends_with(".json") {
            entries += 1;
            let entry: Value = serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("{path} is not whole JSON: {e}"));
            for file in entry["files"].as_array().unwrap() {
                let file_path = file["path"].as_str().unwrap();
                let data = objects
                    .get(file_path)
                    .unwrap_or_else(|| panic!("{path} names {file_path}, which is missing"));
                assert_eq!(
                    Some(data.len() as u64),
                    file["size"].as_u64(),
                    "{file_path}"
                );
                assert!(
                    named.insert(file_path.to_string()),
                    "{file_path} named twice"
                );
            }
        }
    }
    assert_eq!(entries, inputs, "one entry per input the shards read");
    let data: BTreeSet<String> = objects
        .keys()
        .filter(|k| k.ends_with(".parquet"))
        .cloned()
        .collect();
    assert!(!data.is_empty());
    assert_eq!(data, named, "every staged data file is named by one entry");
    assert!(
        !objects.keys().any(|k| k.starts_with("leases/")),
        "the shards released their leases"
    );
}

/// The run after the shards: exit 0, nothing read, every input reused.
fn the_run_reads_nothing(stdout: &str, manifest: &Value, inputs: usize) {
    assert!(stdout.contains("inputs: 0 read and staged"), "{stdout}");
    assert_eq!(
        manifest["counts"]["inputs_read"], 0,
        "{}",
        manifest["counts"]
    );
    assert_eq!(
        manifest["counts"]["inputs_reused"], inputs as u64,
        "{}",
        manifest["counts"]
    );
}

#[test]
fn two_shards_staging_one_folder_at_once_then_the_run_reads_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (expected, _) = local_reference(dir);
    let results = dir.join("sharded");
    let pipeline = crate::cloud::write_pipeline(
        dir,
        "sharded",
        &repo_root()
            .join("examples/submissions")
            .display()
            .to_string(),
        &repo_root()
            .join("examples/members.yaml")
            .display()
            .to_string(),
        results.to_str().unwrap(),
    );
    let outputs = two_shards_at_once(dir, &pipeline, &[]);
    let inputs = shards_split_the_members(&outputs);
    assert!(
        !results.join("latest.json").exists() && !results.join("runs").exists(),
        "staging publishes nothing"
    );
    let staging = results.join("staging");
    let objects: BTreeMap<String, Vec<u8>> = pmm_test_support::files::files_under(&staging)
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&staging)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (relative, std::fs::read(&path).unwrap())
        })
        .collect();
    staged_once(&objects, inputs);

    let output = pmm_env(dir, &["run", pipeline.to_str().unwrap()], &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let (tables, manifest) = local_tables(&results);
    the_run_reads_nothing(&stdout, &manifest, inputs);
    assert_eq!(tables, expected, "the rows of a run that read everything");

    // Staging every member again (no --shard) changes nothing: every input is staged.
    let again = pmm_env(
        dir,
        &["run", pipeline.to_str().unwrap(), "--stage-only"],
        &[],
    );
    let (stdout, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("Staged all members of pipeline sharded in ")
            && stdout.contains(": 10 of 10 members, 19 submissions"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "inputs: 0 read and staged (0 records), {inputs} unchanged"
        )),
        "{stdout}"
    );
}

#[test]
fn a_shard_that_is_not_i_of_n_is_a_usage_error() {
    let dir = repo_root();
    for (args, says) in [
        (
            vec!["--stage-only", "--shard", "2/2"],
            "the last of 2 shards is 1/2",
        ),
        (vec!["--shard", "0/2"], "--stage-only"),
    ] {
        let mut all = vec!["run", "pipelines/demo.yaml"];
        all.extend(args);
        let output = pmm_env(&dir, &all, &[]);
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Garage: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_staging_one_bucket_at_once_then_the_run_reads_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let garage = Garage::start();
    let cloud = &garage.cloud;
    cloud.upload_demo("shards").await;
    let (expected, _) = local_reference(dir);
    let pipeline = cloud.pipeline(dir, "s3-shards", "shards");
    let outputs = two_shards_at_once(dir, &pipeline, &cloud.env);
    let inputs = shards_split_the_members(&outputs);
    let keys = cloud.keys("shards/results").await;
    assert!(
        keys.iter()
            .all(|k| k.starts_with("shards/results/staging/")),
        "staging publishes nothing: {keys:#?}"
    );
    let mut objects = BTreeMap::new();
    for key in &keys {
        let relative = key.strip_prefix("shards/results/staging/").unwrap();
        objects.insert(relative.to_string(), cloud.get(key).await.unwrap());
    }
    staged_once(&objects, inputs);

    let output = pmm_env(dir, &["run", pipeline.to_str().unwrap()], &cloud.env);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    cloud.assert_no_secret("pmm run --stage-only", &outputs.join("\n"));
    let (tables, manifest) = cloud.tables("shards/results").await;
    the_run_reads_nothing(&stdout, &manifest, inputs);
    assert_eq!(tables, expected, "the rows of a run that read everything");
}
