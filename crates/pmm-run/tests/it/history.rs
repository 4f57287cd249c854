//! The history across cycles: built over several years in any order, restatements that name
//! what was re-submitted, definition changes with and without a declared revision, and each
//! audience's history holding only what it may see.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pmm_catalog::{Disclosure, Pipeline, StorageSettings, StoreLocation};
use pmm_results::{Change, HistoryRow};
use pmm_run::{NoProgress, RunOptions, RunSummary, published_history, run_pipeline};
use pmm_store::open_store;
use pmm_synth::{FormatChoice, SynthOptions, synthesize};

use crate::read_table;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Submissions for 2021 to 2024 of a few synthetic members (`pmm synth --years 4`), a copy
/// of the shipped catalog, and a pipeline over them.
async fn four_years() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        members: 4,
        declarations: 200,
        seed: 11,
        year: 2024,
        years: 4,
        format: FormatChoice::Csv,
        faults: false,
    };
    synthesize(dir.path(), &options).await.unwrap();
    for year in 2021..=2024 {
        assert!(
            dir.path()
                .join(format!("submissions/member=XA/year={year}"))
                .is_dir()
        );
    }
    copy_dir(&repo_root().join("indicators"), &dir.path().join("catalog"));
    std::fs::write(
        dir.path().join("pipeline.yaml"),
        "name: history\nyear: 2024\ncatalog: catalog\nmembers: members.yaml\nsource: submissions\nresults: results\naudiences: [secretariat, wco, public]\npeers:\n  min_group_size: 3\n",
    )
    .unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn run_year(dir: &Path, results: &str, year: i32) -> RunSummary {
    let pipeline = Pipeline::load(&dir.join("pipeline.yaml")).unwrap();
    let options = RunOptions {
        year: Some(year),
        results: Some(StoreLocation::Local(dir.join(results))),
        ..RunOptions::default()
    };
    run_pipeline(&pipeline, &options, &NoProgress)
        .await
        .unwrap()
}

async fn history(dir: &Path, results: &str, audience: Disclosure) -> Vec<HistoryRow> {
    let root = open_store(
        &StoreLocation::Local(dir.join(results)),
        false,
        &StorageSettings::default(),
    )
    .unwrap();
    published_history(&root, audience).await.unwrap()
}

/// The current rows, by (member, KPI, year): status, value, score, level.
type Current = BTreeMap<(String, String, i32), (String, Option<f64>, Option<f64>, Option<i64>)>;

fn current(rows: &[HistoryRow]) -> Current {
    rows.iter()
        .filter(|r| r.is_current())
        .map(|r| {
            (
                (r.member.clone(), r.indicator.clone(), r.year),
                (r.status.as_str().to_string(), r.value, r.score, r.level),
            )
        })
        .collect()
}

/// A run's `indicator_values` for `audience`, as the history keeps them.
fn values_of(dir: &Path, results: &str, run: &RunSummary, audience: &str) -> Current {
    let path = dir
        .join(results)
        .join("runs")
        .join(&run.run_id)
        .join(audience)
        .join("indicator_values.arrow");
    let (_, rows) = read_table(&path);
    rows.iter()
        .map(|r| {
            (
                (
                    r["member"].text().to_string(),
                    r["indicator"].text().to_string(),
                    r["year"].int().unwrap() as i32,
                ),
                (
                    r["status"].text().to_string(),
                    r["value"].float(),
                    r["score"].float(),
                    r["level"].int(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_in_any_order_give_the_same_history_and_each_year_its_runs_values() {
    let dir = four_years().await;
    let mut runs = BTreeMap::new();
    for year in [2022, 2023, 2024] {
        runs.insert(year, run_year(dir.path(), "in-order", year).await);
    }
    for year in [2024, 2022, 2023] {
        run_year(dir.path(), "out-of-order", year).await;
    }
    for audience in Disclosure::ALL {
        let in_order = history(dir.path(), "in-order", audience).await;
        let out_of_order = history(dir.path(), "out-of-order", audience).await;
        assert!(!in_order.is_empty(), "{audience}");
        assert_eq!(current(&in_order), current(&out_of_order), "{audience}");
        // Each year's current values are those its run published for the audience.
        let mut expected = Current::new();
        for (year, run) in &runs {
            let values = values_of(dir.path(), "in-order", run, audience.as_str());
            assert!(values.keys().all(|(_, _, y)| y == year));
            expected.extend(values);
        }
        assert_eq!(current(&in_order), expected, "{audience}");
        // Built once each, nothing restated; comparable within one catalog.
        assert!(in_order.iter().all(|r| r.change == Change::First));
        assert!(in_order.iter().all(|r| r.comparable));
        assert!(
            in_order
                .iter()
                .all(|r| audience.may_see(r.disclosure) && r.catalog_version == "PMM v1.0")
        );
    }
    // latest.json names the last run (2023, out of order) and keeps 2024 as the current run.
    let latest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("out-of-order/latest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(latest["year"], 2023);
    assert_eq!(latest["current"]["year"], 2024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resubmitted_dataset_restates_only_the_values_that_read_it_and_names_it() {
    let dir = four_years().await;
    let first = run_year(dir.path(), "results", 2024).await;
    let before = history(dir.path(), "results", Disclosure::Secretariat).await;
    // An unchanged re-run adds no row.
    run_year(dir.path(), "results", 2024).await;
    let unchanged = history(dir.path(), "results", Disclosure::Secretariat).await;
    assert_eq!(current(&unchanged), current(&before));
    assert_eq!(
        unchanged.len(),
        before.len(),
        "an unchanged re-run adds nothing"
    );

    // A member re-submits its 2024 staff file with one more employee.
    let member = first.results.indicators[0].member.clone();
    let staff = dir
        .path()
        .join(format!("submissions/member={member}/year=2024/staff.csv"));
    let mut text = std::fs::read_to_string(&staff).unwrap();
    let last = text.lines().last().unwrap().to_string();
    let mut cells: Vec<String> = last.split(',').map(str::to_string).collect();
    cells[0] = format!("{}X", cells[0]);
    text.push_str(&cells.join(","));
    text.push('\n');
    std::fs::write(&staff, text).unwrap();
    let second = run_year(dir.path(), "results", 2024).await;
    let after = history(dir.path(), "results", Disclosure::Secretariat).await;
    let added: Vec<&HistoryRow> = after.iter().filter(|r| r.run_id == second.run_id).collect();
    assert!(
        !added.is_empty(),
        "the re-submission changes some values: {:?}\n{:?}",
        second
            .manifest
            .inputs
            .iter()
            .filter(|i| i.object.path.contains("staff"))
            .collect::<Vec<_>>(),
        second
            .issues
            .iter()
            .filter(|i| i.member == member)
            .collect::<Vec<_>>()
    );
    let catalog = pmm_catalog::Catalog::load(&dir.path().join("catalog")).unwrap();
    for row in &added {
        assert_eq!(row.member, member, "only that member's values change");
        let kpi = catalog.indicator(&row.indicator).unwrap();
        assert!(
            kpi.datasets.iter().any(|d| d.name == "staff"),
            "{} does not read staff",
            row.indicator
        );
        assert!(
            matches!(row.change, Change::Restated | Change::StatusChanged),
            "{row:?}"
        );
        let cause = row.cause.as_deref().unwrap();
        assert!(
            cause.starts_with(&format!(
                "staff: member={member}/year=2024 re-submitted (was "
            )),
            "{cause}"
        );
        // The row it replaced names this run, and keeps its value.
        let replaced = after
            .iter()
            .find(|r| {
                (&r.member, &r.indicator, r.year) == (&row.member, &row.indicator, row.year)
                    && r.run_id != second.run_id
                    && r.superseded_by.as_deref() == Some(second.run_id.as_str())
            })
            .unwrap();
        assert!(replaced.value != row.value || replaced.status != row.status);
    }
    // Every other value stayed current as it was.
    let untouched = after
        .iter()
        .filter(|r| r.is_current() && r.run_id != second.run_id)
        .count();
    assert_eq!(untouched + added.len(), current(&after).len());
    assert_eq!(after.len(), before.len() + added.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_definition_is_comparable_only_when_a_revision_says_so() {
    let dir = four_years().await;
    run_year(dir.path(), "results", 2023).await;
    let kpi = "tfec.electronic_declarations_rate";
    let path = dir
        .path()
        .join("catalog/tfec/electronic_declarations_rate.yaml");
    let original = std::fs::read_to_string(&path).unwrap();
    // The file changes (a comment), with no revision declared: a warning, not comparable.
    std::fs::write(&path, format!("{original}# An editorial note.\n")).unwrap();
    let undeclared = run_year(dir.path(), "results", 2024).await;
    assert!(
        undeclared
            .warnings
            .iter()
            .any(|w| w.starts_with(&format!("{kpi}: its definition changed"))),
        "{:?}",
        undeclared.warnings
    );
    let rows = history(dir.path(), "results", Disclosure::Secretariat).await;
    let of_kpi: Vec<&HistoryRow> = rows
        .iter()
        .filter(|r| r.indicator == kpi && r.is_current() && r.year == 2024)
        .collect();
    assert!(!of_kpi.is_empty());
    assert!(of_kpi.iter().all(|r| !r.comparable), "{of_kpi:?}");
    // Other KPIs' 2024 values compare with 2023.
    assert!(
        rows.iter()
            .filter(|r| r.indicator != kpi && r.is_current() && r.year == 2024)
            .all(|r| r.comparable)
    );

    // The catalog moves to v1.1 and the KPI declares the change comparable: re-running 2024
    // records the definition change and the series goes on.
    let dimensions = dir.path().join("catalog/dimensions.yaml");
    let text = std::fs::read_to_string(&dimensions).unwrap();
    std::fs::write(
        &dimensions,
        text.replace("version: PMM v1.0", "version: PMM v1.1"),
    )
    .unwrap();
    std::fs::write(
        &path,
        format!(
            "{original}# An editorial note.\nrevisions:\n  - {{version: \"PMM v1.1\", comparable: true, note: \"the description reworded\"}}\n"
        ),
    )
    .unwrap();
    let declared = run_year(dir.path(), "results", 2024).await;
    assert!(
        !declared.warnings.iter().any(|w| w.starts_with(kpi)),
        "{:?}",
        declared.warnings
    );
    let rows = history(dir.path(), "results", Disclosure::Secretariat).await;
    let changed: Vec<&HistoryRow> = rows
        .iter()
        .filter(|r| r.indicator == kpi && r.run_id == declared.run_id)
        .collect();
    assert!(!changed.is_empty());
    for row in changed {
        assert_eq!(row.change, Change::DefinitionChanged);
        assert_eq!(row.catalog_version, "PMM v1.1");
        assert!(row.comparable, "{row:?}");
        assert_eq!(
            row.cause.as_deref(),
            Some("definition changed in PMM v1.1: the description reworded (declared comparable)")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_audience_keeps_only_what_it_may_see_even_after_a_member_restricts_a_kpi() {
    let dir = four_years().await;
    let kpi = "tfec.electronic_declarations_rate";
    let manifest = |year: i32, restricted: bool| {
        let overrides = if restricted {
            format!("  overrides:\n    {kpi}: secretariat\n")
        } else {
            String::new()
        };
        std::fs::write(
            dir.path()
                .join(format!("submissions/member=XA/year={year}/manifest.yaml")),
            format!("member: XA\nyear: {year}\ndisclosure:\n  default: public\n{overrides}"),
        )
        .unwrap();
    };
    manifest(2023, false);
    manifest(2024, false);
    run_year(dir.path(), "results", 2023).await;
    let public_2024 = run_year(dir.path(), "results", 2024).await;
    // XA restricts the KPI in a re-submitted 2024 manifest.
    manifest(2024, true);
    let restricted = run_year(dir.path(), "results", 2024).await;

    for audience in Disclosure::ALL {
        let rows = history(dir.path(), "results", audience).await;
        assert!(!rows.is_empty());
        assert!(
            rows.iter().all(|r| audience.may_see(r.disclosure)),
            "{audience}: a row above its level"
        );
        let xa: Vec<&HistoryRow> = rows
            .iter()
            .filter(|r| r.member == "XA" && r.indicator == kpi && r.year == 2024)
            .collect();
        if audience == Disclosure::Secretariat {
            // The Secretariat sees the change of level as a new version.
            let current = xa.iter().find(|r| r.is_current()).unwrap();
            assert_eq!(current.run_id, restricted.run_id);
            assert_eq!(current.change, Change::DisclosureChanged);
            assert_eq!(current.disclosure, Disclosure::Secretariat);
        } else {
            // Wider audiences keep the value as it was last shown to them, and learn nothing
            // of the restricted run.
            assert_eq!(xa.len(), 1, "{audience}: {xa:?}");
            assert_eq!(xa[0].run_id, public_2024.run_id);
            assert!(xa[0].is_current());
            assert!(rows.iter().all(|r| r.run_id != restricted.run_id
                && r.superseded_by.as_deref() != Some(restricted.run_id.as_str())));
        }
        // 2023 stays as published to everyone.
        assert!(
            rows.iter().any(|r| r.member == "XA"
                && r.indicator == kpi
                && r.year == 2023
                && r.is_current())
        );
    }
}
