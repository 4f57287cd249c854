//! Each audience's peer statistics are built only from the values it may see: recomputed here
//! from the run's own `secretariat/indicator_values` (every value with its disclosure level),
//! with a percentile written for this test, and compared with every row each audience got.

use pmm_engine::results::{INDICATOR_VALUES, PEER_STATS};
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
    let (_, values) = read_table(&run.join(INDICATOR_VALUES.path("secretariat")));
    let mut hidden_somewhere = 0;
    for audience in ["public", "wco", "secretariat"] {
        let (_, peers) = read_table(&run.join(PEER_STATS.path(audience)));
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
        read_table(&run.join(PEER_STATS.path(audience)))
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
