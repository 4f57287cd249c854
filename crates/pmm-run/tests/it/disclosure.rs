//! Each audience's peer statistics are built only from the values it may see: recomputed here
//! from the run's own `secretariat/indicator_values` (every value with its disclosure level),
//! with a percentile written for this test, and compared with every row each audience got.

use pmm_results::{INDICATOR_VALUES, PEER_STATS, VALIDATION_ISSUES};
use std::collections::BTreeMap;
use std::path::Path;

use crate::{Row, read_table};

/// numpy's default percentile (linear, "type 7") over sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's lerp: exact at both ends.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

fn levels_seen_by(audience: &str) -> &'static [&'static str] {
    match audience {
        "public" => &["public"],
        "wco" => &["public", "wco"],
        _ => &["public", "wco", "secretariat"],
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
        _ => false,
    }
}

fn check_run(run: &Path, min_group_size: usize) {
    let (_, values) = read_table(&run.join(pmm_store::layout::audience_table(
        "secretariat",
        INDICATOR_VALUES.name,
    )));
    let mut hidden_somewhere = 0;
    for audience in ["public", "wco", "secretariat"] {
        let (_, peers) =
            read_table(&run.join(pmm_store::layout::audience_table(audience, PEER_STATS.name)));
        assert!(!peers.is_empty(), "{audience}: no peer statistics");
        let seen = levels_seen_by(audience);
        for row in &peers {
            let indicator = row["indicator"].text();
            let (kind, group) = (row["group_kind"].text(), row["group"].text());
            let mut visible: Vec<f64> = values
                .iter()
                .filter(|v: &&Row| {
                    v["indicator"].text() == indicator
                        && v["status"].text() == "ok"
                        && seen.contains(&v["disclosure"].text())
                        && match kind {
                            "global" => true,
                            "region" => v["region"].text() == group,
                            _ => v["income_group"].text() == group,
                        }
                })
                .filter_map(|v| v["value"].float())
                .collect();
            visible.sort_by(f64::total_cmp);
            let all_ok = values
                .iter()
                .filter(|v| {
                    v["indicator"].text() == indicator
                        && v["status"].text() == "ok"
                        && kind == "global"
                })
                .count();
            if audience != "secretariat" && all_ok > visible.len() {
                hidden_somewhere += 1;
            }
            let n = visible.len();
            let place = format!("{audience} {indicator} {kind} {group}");
            assert_eq!(row["n"].int(), Some(n as i64), "{place}: n");
            let stats = (n >= min_group_size).then(|| {
                [
                    ("mean", visible.iter().sum::<f64>() / n as f64),
                    ("median", percentile(&visible, 0.5)),
                    ("p25", percentile(&visible, 0.25)),
                    ("p75", percentile(&visible, 0.75)),
                    ("min", visible[0]),
                    ("max", visible[n - 1]),
                ]
            });
            for (i, name) in ["mean", "median", "p25", "p75", "min", "max"]
                .iter()
                .enumerate()
            {
                let expected = stats.map(|s| s[i].1);
                assert!(
                    close(row[*name].float(), expected),
                    "{place}: {name} is {:?}, the visible values give {expected:?}",
                    row[*name].float()
                );
            }
        }
    }
    assert!(
        hidden_somewhere > 0,
        "the run has values hidden from some audience, so the check means something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_audience_gets_the_peer_statistics_of_the_values_it_may_see() {
    // Small groups, so that every audience has statistics to check.
    let (_results, run) = crate::run_demo(|p| p.min_group_size = 2).await;
    check_run(&run, 2);
    // A public statistic over public values never equals a hidden value by construction;
    // spot-check that some public group is smaller than the secretariat's.
    let count = |audience: &str| -> BTreeMap<String, i64> {
        read_table(&run.join(pmm_store::layout::audience_table(audience, PEER_STATS.name)))
            .1
            .iter()
            .filter(|r| r["group_kind"].text() == "global")
            .map(|r| (r["indicator"].text().to_string(), r["n"].int().unwrap()))
            .collect()
    };
    let (public, all) = (count("public"), count("secretariat"));
    assert!(
        public.iter().any(|(k, n)| *n < all[k]),
        "{public:?} {all:?}"
    );
}

/// Copies a folder tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Round 3: a manifest that gave one KPI's disclosure twice (secretariat, then public) was
/// accepted and the last level won: the value was published to the public. Now the manifest
/// is rejected, and in either order no audience above the lower level sees the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disclosure_given_twice_never_publishes_above_either_level() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/submissions");
    let kpi = "od.female_staff_share";
    let value_seen_by = |run: &Path, audience: &str| {
        read_table(&run.join(pmm_store::layout::audience_table(
            audience,
            INDICATOR_VALUES.name,
        )))
        .1
        .iter()
        .any(|r| {
            r["member"].text() == "XA"
                && r["indicator"].text() == kpi
                && r["year"].int() == Some(2024)
                && r["value"].float().is_some()
        })
    };
    for (levels, rejected) in [
        (vec!["public"], false),
        (vec!["secretariat", "public"], true),
        (vec!["public", "secretariat"], true),
    ] {
        let source = tempfile::tempdir().unwrap();
        copy_tree(&demo, source.path());
        let overrides: String = levels.iter().map(|l| format!("    {kpi}: {l}\n")).collect();
        std::fs::write(
            source.path().join("member=XA/year=2024/manifest.yaml"),
            format!("member: XA\nyear: 2024\ndisclosure:\n  default: secretariat\n  overrides:\n{overrides}"),
        )
        .unwrap();
        let (_results, run) = crate::run_demo(|p| {
            p.source = pmm_catalog::StoreLocation::Local(source.path().to_path_buf());
        })
        .await;
        let issues = read_table(&run.join(pmm_store::layout::audience_table(
            "secretariat",
            VALIDATION_ISSUES.name,
        )))
        .1;
        let refused = issues.iter().any(|r| {
            r["member"].text() == "XA"
                && r["rule"].text() == "manifest"
                && r["message"].text().contains("given twice")
        });
        assert_eq!(refused, rejected, "{levels:?}");
        // With one override the check sees the public value: it can fail.
        for audience in ["public", "wco"] {
            assert_eq!(
                value_seen_by(&run, audience),
                !rejected,
                "{levels:?}: {audience}"
            );
        }
    }
}
