//! Staged data and re-runs: a run stages what it reads, a later run reuses what did not change
//! (reading nothing of it, as a store that counts requests shows), and the rows are the same
//! either way; a change of file, contract or validation setting re-reads what depends on it;
//! a memory limit that forces spilling changes nothing; `pmm gc` keeps what published runs use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use object_store::path::Path as Key;
use pmm_catalog::{Pipeline, StorageSettings, StoreLocation};
use pmm_ingest::InputStatus;
use pmm_run::{GcOptions, NoProgress, RunOptions, RunSummary, collect_garbage, run_pipeline};
use pmm_store::{StoreRoot, open_store};
use pmm_synth::{FormatChoice, SynthOptions, synthesize};
use pmm_test_support::store::{Hooked, Hooks};

use crate::run_tables;

/// Records every object a store is asked to read (not listings, not HEADs).
#[derive(Debug, Default)]
struct Reads(Mutex<Vec<String>>);

impl Hooks for Reads {
    fn on_read(&self, location: &Key, head: bool) {
        if !head {
            self.0.lock().unwrap().push(location.to_string());
        }
    }
}

type CountingStore = Hooked<Reads>;

impl Reads {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Synthesized members (with the demo's faults) and a pipeline over them.
async fn fixture(members: usize, declarations: usize, format: FormatChoice) -> tempfile::TempDir {
    fixture_with(members, declarations, format, true).await
}

/// [`fixture`], with or without the demo's faults.
async fn fixture_with(
    members: usize,
    declarations: usize,
    format: FormatChoice,
    faults: bool,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        members,
        declarations,
        seed: 5,
        year: 2024,
        years: 2,
        format,
        faults,
    };
    synthesize(dir.path(), &options).await.unwrap();
    write_pipeline(dir.path(), "results", "");
    dir
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `pipeline.yaml` in `dir`, writing to `results`, staging in `staging`, with `extra` lines
/// appended.
fn write_pipeline_staged(dir: &Path, results: &str, staging: &str, extra: &str) -> Pipeline {
    let path = dir.join("pipeline.yaml");
    std::fs::write(
        &path,
        format!(
            "name: staging\nyear: 2024\ncatalog: {}\nmembers: members.yaml\nsource: submissions\nresults: {results}\nstaging: {staging}\npeers:\n  min_group_size: 3\n{extra}",
            repo_root().join("indicators").display()
        ),
    )
    .unwrap();
    Pipeline::load(&path).unwrap()
}

/// `pipeline.yaml` in `dir`, writing to `results`, staging in `staging/`, with `extra` lines
/// appended.
fn write_pipeline(dir: &Path, results: &str, extra: &str) -> Pipeline {
    write_pipeline_staged(dir, results, "staging", extra)
}

/// The source of `dir`, behind a store that counts reads.
fn counted_source(dir: &Path) -> (StoreRoot, Arc<CountingStore>) {
    let root = open_store(
        &StoreLocation::Local(dir.join("submissions")),
        false,
        &StorageSettings::default(),
    )
    .unwrap();
    let counting = Arc::new(Hooked::new(root.store.clone(), Reads::default()));
    let root = StoreRoot {
        store: counting.clone(),
        ..root
    };
    (root, counting)
}

/// `member` re-submits its 2024 `dataset` as `name` (whatever file it had goes).
fn resubmit(dir: &Path, member: &str, dataset: &str, name: &str, text: &str) {
    let folder = dir.join(format!("submissions/member={member}/year=2024"));
    for entry in std::fs::read_dir(&folder).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{dataset}."))
        {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    std::fs::write(folder.join(name), text).unwrap();
}

async fn run(pipeline: &Pipeline, source: &StoreRoot) -> RunSummary {
    let options = RunOptions {
        source: Some(source.clone()),
        ..RunOptions::default()
    };
    run_pipeline(pipeline, &options, &NoProgress).await.unwrap()
}

fn run_folder(dir: &Path, results: &str, summary: &RunSummary) -> PathBuf {
    dir.join(results).join("runs").join(&summary.run_id)
}

/// Each input's status, by path.
fn statuses(summary: &RunSummary) -> BTreeMap<String, InputStatus> {
    summary
        .manifest
        .inputs
        .iter()
        .map(|i| (i.object.path.clone(), i.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_rerun_reads_nothing_and_gives_the_same_rows() {
    let dir = fixture(8, 400, FormatChoice::Mixed).await;
    let pipeline = write_pipeline(dir.path(), "results", "");
    let (source, counter) = counted_source(dir.path());

    let first = run(&pipeline, &source).await;
    let read_first = counter.hooks.take();
    assert!(read_first.len() > 100, "the first run reads every input");
    assert!(
        first
            .manifest
            .inputs
            .iter()
            .all(|i| i.status != InputStatus::Reused),
        "nothing is staged before the first run"
    );
    assert!(first.manifest.counts.inputs_read > 100);

    let second = run(&pipeline, &source).await;
    assert_eq!(
        counter.hooks.take(),
        Vec::<String>::new(),
        "an unchanged input is not read again"
    );
    for (a, b) in first.manifest.inputs.iter().zip(&second.manifest.inputs) {
        assert_eq!(a.object, b.object);
        assert_eq!(a.fingerprint, b.fingerprint, "{}", a.object.path);
        match a.status {
            InputStatus::Read => assert_eq!(b.status, InputStatus::Reused, "{}", a.object.path),
            other => assert_eq!(b.status, other, "{}", a.object.path),
        }
    }
    assert_eq!(second.manifest.counts.inputs_read, 0);
    assert_eq!(
        second.manifest.counts.inputs_reused,
        first.manifest.counts.inputs_read
    );
    assert_eq!(
        run_tables(&run_folder(dir.path(), "results", &first)),
        run_tables(&run_folder(dir.path(), "results", &second)),
        "the same rows whether the inputs were read or reused"
    );
    assert_eq!(first.issues, second.issues);
}

/// The same submissions as CSV and as Parquet (`pmm synth` writes the same values in either
/// format) give the same result tables, to the bit: the Parquet run stages its row groups by
/// copying their chunks (as the staged files' codecs show), the CSV run encodes every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_staged_by_copying_gives_the_tables_csv_gives() {
    let mut tables = Vec::new();
    for format in [FormatChoice::Csv, FormatChoice::Parquet] {
        let dir = fixture_with(6, 3000, format, false).await;
        let pipeline = write_pipeline(dir.path(), "results", "");
        let (source, _) = counted_source(dir.path());
        let summary = run(&pipeline, &source).await;
        assert!(summary.manifest.counts.inputs_read > 50);
        let mut run = run_tables(&run_folder(dir.path(), "results", &summary));
        // Issues name their files (`.csv` or `.parquet`): compared without them.
        for rows in run.values_mut() {
            for row in rows.iter_mut() {
                row.remove("file");
            }
        }
        let (copied, encoded) = staged_groups(&dir.path().join("staging"));
        match format {
            FormatChoice::Csv => assert_eq!(copied, 0),
            _ => assert!(
                copied > 50 && encoded == 0,
                "{copied} row groups copied, {encoded} encoded"
            ),
        }
        tables.push(run);
    }
    assert_eq!(tables[0], tables[1]);
}

/// Row groups of the staged Parquet files under `dir`: those holding a chunk in another codec
/// than staging's own in a folder (none: copied from a submitted file), and the others.
/// `member` and `year`, written as constants, are uncompressed in every group.
fn staged_groups(dir: &Path) -> (usize, usize) {
    use datafusion::parquet::basic::Compression;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let (mut copied, mut encoded) = (0, 0);
    for path in pmm_test_support::files::files_under(dir) {
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        for group in reader.metadata().row_groups() {
            let (constants, columns) = group.columns().split_at(2);
            assert!(
                constants
                    .iter()
                    .all(|c| c.compression() == Compression::UNCOMPRESSED)
            );
            // Staging in a folder encodes uncompressed; the submitted files (pmm synth's)
            // are in Snappy.
            if columns
                .iter()
                .any(|c| c.compression() != Compression::UNCOMPRESSED)
            {
                copied += 1;
            } else {
                encoded += 1;
            }
        }
    }
    (copied, encoded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_the_only_input_read_again() {
    let dir = fixture(6, 300, FormatChoice::Mixed).await;
    let pipeline = write_pipeline(dir.path(), "results", "");
    let (source, counter) = counted_source(dir.path());
    run(&pipeline, &source).await;
    counter.hooks.take();

    // XB re-submits its staff for 2024, as CSV.
    resubmit(
        dir.path(),
        "XB",
        "staff",
        "staff.csv",
        "unit,headcount,female_headcount,training_hours,integrity_cases,budget\nU1,10,5,100,1,50000\nU2,30,10,300,0,70000\n",
    );
    let second = run(&pipeline, &source).await;
    let read: Vec<String> = statuses(&second)
        .into_iter()
        .filter(|(_, s)| *s == InputStatus::Read)
        .map(|(path, _)| path)
        .collect();
    assert_eq!(read, ["member=XB/year=2024/staff.csv"]);
    let reads = counter.hooks.take();
    assert!(
        reads
            .iter()
            .all(|r| r.ends_with("member=XB/year=2024/staff.csv")),
        "{reads:?}"
    );
    let training = second
        .results
        .indicators
        .iter()
        .find(|r| r.member == "XB" && r.indicator == "od.training_hours_per_staff")
        .unwrap();
    assert_eq!(training.value, Some(10.0), "(100 + 300) / (10 + 30)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_reused_for_unchanged_members_equal_a_run_from_scratch() {
    let dir = fixture(8, 3000, FormatChoice::Mixed).await;
    let pipeline = write_pipeline(dir.path(), "results", "");
    let (source, _) = counted_source(dir.path());
    let first = run(&pipeline, &source).await;
    assert_eq!(first.manifest.counts.members_evaluated, 8);
    assert_eq!(first.manifest.counts.members_reused, 0);

    // Nothing changed: no member is evaluated again.
    let again = run(&pipeline, &source).await;
    assert_eq!(again.manifest.counts.members_evaluated, 0);
    assert_eq!(again.manifest.counts.members_reused, 8);

    // XD re-submits its 2024 declarations with other figures: only XD is evaluated.
    resubmit(
        dir.path(),
        "XD",
        "declarations",
        "declarations.csv",
        "declaration_id,flow,lodged_at,released_at,electronic,standardized,pre_arrival,channel,aeo,ecommerce,customs_value\n\
         D1,IM,2024-01-01T00:00:00Z,2024-01-01T10:00:00Z,true,true,true,green,true,false,100\n\
         D2,IM,2024-01-02T00:00:00Z,2024-01-03T06:00:00Z,false,false,false,red,false,true,300\n",
    );
    let incremental = run(&pipeline, &source).await;
    assert_eq!(incremental.manifest.counts.members_evaluated, 1);
    assert_eq!(incremental.manifest.counts.members_reused, 7);
    let electronic = incremental
        .results
        .indicators
        .iter()
        .find(|r| r.member == "XD" && r.indicator == "tfec.electronic_declarations_rate")
        .unwrap();
    assert_eq!(electronic.value, Some(50.0));

    // The same data from scratch (nothing staged, nothing cached): the same rows, to the bit.
    let scratch = run(
        &write_pipeline_staged(dir.path(), "scratch", "scratch-staging", ""),
        &source,
    )
    .await;
    assert_eq!(scratch.manifest.counts.members_reused, 0);
    assert_eq!(
        run_tables(&run_folder(dir.path(), "results", &incremental)),
        run_tables(&run_folder(dir.path(), "scratch", &scratch)),
        "reused values are the values a run from scratch computes"
    );
}

/// Copies a folder tree.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_contract_or_validation_setting_rereads_what_depends_on_it() {
    let dir = fixture(5, 200, FormatChoice::Mixed).await;
    let catalog = dir.path().join("catalog");
    copy_dir(&repo_root().join("indicators"), &catalog);
    let with_catalog = |extra: &str| {
        let pipeline = write_pipeline(dir.path(), "results", extra);
        Pipeline {
            catalog: catalog.clone(),
            ..pipeline
        }
    };
    let (source, _) = counted_source(dir.path());
    let first = run(&with_catalog(""), &source).await;

    // The staff contract changes (a column's description): staff inputs are read again.
    let staff = catalog.join("datasets/staff.yaml");
    let text = std::fs::read_to_string(&staff).unwrap();
    std::fs::write(
        &staff,
        text.replace("One row per organisational unit", "One row per unit"),
    )
    .unwrap();
    assert_ne!(std::fs::read_to_string(&staff).unwrap(), text, "edited");
    let second = run(&with_catalog(""), &source).await;
    for input in &second.manifest.inputs {
        let is_staff = input.object.path.contains("/staff.");
        match input.status {
            InputStatus::Read => assert!(is_staff, "{} read again", input.object.path),
            InputStatus::Reused => assert!(!is_staff, "{} reused", input.object.path),
            InputStatus::Skipped => {}
        }
    }
    assert!(
        second
            .manifest
            .inputs
            .iter()
            .any(|i| i.status == InputStatus::Read)
    );

    // The validation settings change: every dataset is read again; manifests do not depend
    // on them.
    let third = run(
        &with_catalog("validation:\n  max_invalid_row_fraction: 0.2\n"),
        &source,
    )
    .await;
    for input in &third.manifest.inputs {
        let manifest = input.object.path.ends_with("manifest.yaml");
        match input.status {
            InputStatus::Read => assert!(!manifest, "{}", input.object.path),
            InputStatus::Reused => assert!(manifest, "{}", input.object.path),
            InputStatus::Skipped => {}
        }
    }
    assert_eq!(
        first.manifest.counts.inputs_read,
        third.manifest.counts.inputs_read + third.manifest.counts.inputs_reused
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_limit_that_forces_spilling_gives_the_same_rows() {
    // Twelve members: every query's groups together outgrow the limit, while one member's
    // values of one query (what `percentile_exact` holds at a time) fit in it.
    let dir = fixture(12, 30_000, FormatChoice::Parquet).await;
    let (source, _) = counted_source(dir.path());
    let roomy = run(&write_pipeline(dir.path(), "roomy", ""), &source).await;
    assert_eq!(roomy.manifest.engine.spilled_bytes, 0);
    let spill = dir.path().join("spill");
    // Its own staging: with the roomy run's, every member's values would be reused.
    let tight = run(
        &write_pipeline_staged(
            dir.path(),
            "tight",
            "tight-staging",
            &format!(
                "engine:\n  memory_limit: 4MiB\n  spill_dir: {}\n",
                spill.display()
            ),
        ),
        &source,
    )
    .await;
    assert_eq!(tight.manifest.engine.memory_limit_bytes, 4 << 20);
    assert!(
        tight.manifest.engine.spilled_bytes > 0,
        "the limit is low enough to make operators spill"
    );
    assert_eq!(
        run_tables(&run_folder(dir.path(), "roomy", &roomy)),
        run_tables(&run_folder(dir.path(), "tight", &tight)),
        "spilling changes no row, percentiles included"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_keeps_what_published_runs_use_and_removes_the_rest() {
    let dir = fixture(5, 200, FormatChoice::Mixed).await;
    let pipeline = write_pipeline(dir.path(), "results", "");
    let (source, _) = counted_source(dir.path());
    let first = run(&pipeline, &source).await;
    // XA re-submits its 2024 staff: the first run's staff entry of XA is now used only by the
    // first run.
    resubmit(
        dir.path(),
        "XA",
        "staff",
        "staff.csv",
        "unit,headcount,female_headcount,training_hours,integrity_cases,budget\nU1,10,5,100,1,50000\n",
    );
    let second = run(&pipeline, &source).await;
    let old_staff = first
        .manifest
        .inputs
        .iter()
        .find(|i| i.object.path.starts_with("member=XA/year=2024/staff."))
        .and_then(|i| i.staged.clone())
        .unwrap();
    let staging = dir.path().join("staging");
    // A data file left by a run that died midway: no entry names it.
    let orphan = staging.join("member=XA/year=2024/staff/0000-dead.parquet");
    std::fs::write(&orphan, b"PAR1 half a file").unwrap();

    let options = |dry_run: bool| GcOptions {
        staging: StoreLocation::Local(staging.clone()),
        dry_run,
        min_age: chrono::Duration::zero(),
        storage: StorageSettings::default(),
    };
    // Both runs are published: only the orphan goes.
    let report = collect_garbage(&options(false)).await.unwrap();
    let removed: Vec<&str> = report.removed.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(removed, ["member=XA/year=2024/staff/0000-dead.parquet"]);
    assert!(!orphan.exists());
    assert!(staging.join(&old_staff).exists());
    assert_eq!(report.runs.len(), 2);

    // The first run's results are deleted (retention): what only it used may go.
    std::fs::remove_dir_all(run_folder(dir.path(), "results", &first)).unwrap();
    let dry = collect_garbage(&options(true)).await.unwrap();
    let would: Vec<&str> = dry.removed.iter().map(|(p, _)| p.as_str()).collect();
    assert!(would.contains(&old_staff.as_str()), "{would:?}");
    assert!(
        would
            .iter()
            .any(|p| p.starts_with("member=XA/year=2024/staff/") && p.ends_with(".parquet")),
        "the entry's data goes with it: {would:?}"
    );
    assert!(would.contains(&format!("runs/{}.json", first.run_id).as_str()));
    assert_eq!(dry.forgotten_runs, vec![first.run_id.clone()]);
    assert!(
        staging.join(&old_staff).exists(),
        "a dry run removes nothing"
    );

    let report = collect_garbage(&options(false)).await.unwrap();
    assert_eq!(report.removed, dry.removed);
    assert!(!staging.join(&old_staff).exists());
    for input in &second.manifest.inputs {
        if let Some(entry) = &input.staged {
            assert!(
                staging.join(entry).exists(),
                "the latest run's {entry} is kept"
            );
        }
    }
    // Nothing the latest run uses is gone: a re-run reuses every input.
    let third = run(&pipeline, &source).await;
    assert_eq!(third.manifest.counts.inputs_read, 0);
    assert_eq!(
        run_tables(&run_folder(dir.path(), "results", &second)),
        run_tables(&run_folder(dir.path(), "results", &third)),
    );
}

/// `pmm gc` beside a running run: a live lease stops a collection; collections in a loop for
/// the whole of a real run take nothing that run uses, and the run publishes the rows a run
/// alone publishes, every entry its manifest names present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_beside_a_running_run_takes_nothing_it_uses() {
    let dir = fixture(5, 200, FormatChoice::Mixed).await;
    let pipeline = write_pipeline(dir.path(), "results", "");
    let (source, _) = counted_source(dir.path());
    let first = run(&pipeline, &source).await;
    let expected = run_tables(&run_folder(dir.path(), "results", &first));
    // Retention deletes every published run: to a collection, every staged entry is unused.
    std::fs::remove_dir_all(dir.path().join("results")).unwrap();
    let staging = dir.path().join("staging");
    let options = GcOptions {
        staging: StoreLocation::Local(staging.clone()),
        dry_run: false,
        min_age: chrono::Duration::zero(),
        storage: StorageSettings::default(),
    };

    // A lease alone: the collection removes nothing and names the run.
    let area = pmm_ingest::StagingArea {
        root: open_store(
            &StoreLocation::Local(staging.clone()),
            false,
            &StorageSettings::default(),
        )
        .unwrap(),
    };
    let lease = area
        .take_lease("20260101T000000Z-00abcd", "staging")
        .await
        .unwrap();
    let blocked = collect_garbage(&options).await.unwrap();
    assert!(blocked.removed.is_empty(), "{:?}", blocked.removed);
    assert_eq!(blocked.blocked_by.len(), 1);
    assert_eq!(blocked.blocked_by[0].run_id, "20260101T000000Z-00abcd");
    lease.release().await;

    // Both at once: collections one after another for as long as a real run takes.
    let done = std::sync::atomic::AtomicBool::new(false);
    let running = async {
        let summary = run(&pipeline, &source).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        summary
    };
    let collecting = async {
        let (mut collections, mut stopped) = (0, 0);
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let report = collect_garbage(&options).await.unwrap();
            collections += 1;
            stopped += usize::from(
                !report.blocked_by.is_empty() || !report.published_meanwhile.is_empty(),
            );
            tokio::task::yield_now().await;
        }
        (collections, stopped)
    };
    let (second, (collections, stopped)) = tokio::join!(running, collecting);
    assert!(
        stopped > 0,
        "{collections} collections, none saw the run's lease"
    );
    assert_eq!(
        run_tables(&run_folder(dir.path(), "results", &second)),
        expected
    );
    for input in &second.manifest.inputs {
        if let Some(entry) = &input.staged {
            assert!(staging.join(entry).exists(), "{entry} is gone");
        }
    }
    assert!(
        !staging.join("leases").exists()
            || std::fs::read_dir(staging.join("leases")).unwrap().count() == 0,
        "the run released its lease"
    );
    // With no run in progress, a collection keeps what the published run uses.
    let report = collect_garbage(&options).await.unwrap();
    assert!(report.blocked_by.is_empty());
    let third = run(&pipeline, &source).await;
    assert_eq!(third.manifest.counts.inputs_read, 0, "every input reused");
}
