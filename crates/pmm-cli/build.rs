//! Builds the catalog into the binary: every YAML file of the repository's `indicators/`
//! folder, so that a member needs only `pmm` to run `pmm dry-run` (`--catalog` overrides it).

// A build script talks to cargo on stdout; failing to read the catalog must stop the build.
#![allow(clippy::print_stdout, clippy::expect_used)]

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../../indicators");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let mut code = String::from(
        "/// The shipped catalog's files: (path under `indicators/`, text).\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        let absolute = std::fs::canonicalize(file).expect("a file that exists");
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            absolute.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("catalog.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
    git_commit(&manifest.join("../.."));
}

/// The commit the binary is built from, for `pmm --version`: `PMM_GIT_COMMIT` when set (a
/// build from a source tarball), else what `git` says of the repository, else `unknown`.
fn git_commit(repository: &Path) {
    println!("cargo:rerun-if-env-changed=PMM_GIT_COMMIT");
    let git = repository.join(".git");
    // A new commit or checkout changes HEAD or the branch it points to. Only paths that exist:
    // cargo runs a build script again every time for one that does not.
    for path in ["HEAD", "refs/heads", "packed-refs"] {
        let path = git.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let commit = std::env::var("PMM_GIT_COMMIT").ok().or_else(|| {
        let output = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(repository)
            .output()
            .ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        let commit = text.trim();
        (output.status.success()
            && commit.len() == 40
            && commit.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| commit.to_string())
    });
    println!(
        "cargo:rustc-env=PMM_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}
