//! End-to-end tests of the `pmm` binary: each runs the real command on files made for it.

// A failing test should panic with the value it got: unwrap and expect are how it says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cases;
mod cloud;
mod cluster;
mod depcheck;
mod emulators;
mod hostile;
mod indicators;
mod member;
mod metrics;
mod review;
mod run;
mod s3;
mod shards;
mod validate;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use serde_json::Value;

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `pmm` with `args` in `dir`.
pub fn pmm(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pmm"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the pmm binary runs")
}

/// Copies a folder and everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// stdout and stderr of a run, as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A server process, killed when dropped.
pub struct Server {
    /// For messages.
    pub name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `program`, its output going to `<logs>/<name>.log`.
    pub fn start(name: &'static str, program: &str, args: &[String], logs: &Path) -> Server {
        Server::start_with_env(name, program, args, &[], logs)
    }

    /// [`Server::start`] with extra environment variables.
    pub fn start_with_env(
        name: &'static str,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        logs: &Path,
    ) -> Server {
        let log = logs.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (bash .ci/run installs it): {e}"));
        Server { name, child, log }
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Server {
    /// Stops the process now (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server program the tests start: the path in `variable` when set, else the copy
/// `bash .ci/run` installs under ~/.cache/pmm-tools/`cached`, else `fallback` on the PATH.
pub fn tool(variable: &str, cached: &str, fallback: &str) -> String {
    if let Some(path) = std::env::var_os(variable) {
        return path.to_string_lossy().into_owned();
    }
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/pmm-tools").join(cached))
        .filter(|p| p.is_file())
        .map_or(fallback.to_string(), |p| p.display().to_string())
}

/// A loopback port nobody listens on (at the moment of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `pmm` with `args` in `dir`, with extra environment variables.
pub fn pmm_env(dir: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pmm"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dir)
        .output()
        .expect("the pmm binary runs")
}

/// Result tables by file name, without the run id column.
pub type Tables = BTreeMap<String, Vec<RecordBatch>>;

/// The batches of an Arrow IPC file, without the columns that name the run or when it ran
/// (`run_id`; the history's `published_at` and `superseded_by`).
pub fn without_run_id(bytes: Vec<u8>) -> Vec<RecordBatch> {
    let reader = FileReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    reader
        .map(|b| {
            let b = b.unwrap();
            let keep: Vec<usize> = (0..b.num_columns())
                .filter(|&i| {
                    !matches!(
                        b.schema().field(i).name().as_str(),
                        "run_id" | "published_at" | "superseded_by"
                    )
                })
                .collect();
            b.project(&keep).unwrap()
        })
        .collect()
}

/// A local file that holds JSON (`latest.json`, a manifest, a summary), parsed.
pub fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tables of the run `latest.json` names under a local results folder, by file name,
/// without `run_id`, and its manifest.
pub fn local_tables(results: &Path) -> (Tables, Value) {
    let latest = read_json(&results.join("latest.json"));
    let run = results.join(latest["path"].as_str().unwrap());
    let manifest = read_json(&run.join("manifest.json"));
    let mut tables = Tables::new();
    for file in manifest["files"].as_array().unwrap() {
        let file = file.as_str().unwrap();
        let name = file.split_once('/').unwrap().1.split_once('/').unwrap().1;
        tables.insert(
            name.to_string(),
            without_run_id(std::fs::read(results.join(file)).unwrap()),
        );
    }
    (tables, manifest)
}
