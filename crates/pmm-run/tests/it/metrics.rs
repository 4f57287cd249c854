//! The metrics of a run: what the textfile holds for the `public` audience, checked against
//! every row of the run and the disclosure each member chose.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pmm_catalog::{Disclosure, Pipeline};
use pmm_run::{NoProgress, RunOptions, RunSummary, run_pipeline};
use pmm_synth::{FormatChoice, SynthOptions, synthesize};
use pmm_test_support::exposition::{Sample, parse_samples};

async fn run_with_metrics(dir: &Path, audience: &str) -> (RunSummary, String) {
    let options = SynthOptions {
        members: 10,
        declarations: 200,
        seed: 11,
        year: 2024,
        years: 2,
        format: FormatChoice::Mixed,
        faults: false,
    };
    synthesize(dir, &options).await.unwrap();
    // XA discloses everything but two KPIs, so some of its outcomes, dimensions and its
    // overall score are derived from values the public may not see.
    std::fs::write(
        dir.join("submissions/member=XA/year=2024/manifest.yaml"),
        "member: XA\nyear: 2024\ndisclosure:\n  default: public\n  overrides:\n    rc.arrears_ratio: secretariat\n    esps.risk_profile_hit_rate: wco\n",
    )
    .unwrap();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators");
    std::fs::write(
        dir.join("pipeline.yaml"),
        format!(
            "name: disclosure-check\nyear: 2024\ncatalog: {}\nmembers: members.yaml\nsource: submissions\nresults: results\n\
             disclosure:\n  default: wco\npeers:\n  min_group_size: 3\n\
             publish:\n  prometheus:\n    audience: {audience}\n    textfile: metrics/pmm.prom\n",
            catalog.display()
        ),
    )
    .unwrap();
    let pipeline = Pipeline::load(&dir.join("pipeline.yaml")).unwrap();
    let summary = run_pipeline(&pipeline, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.join("metrics/pmm.prom")).unwrap();
    (summary, text)
}

type Key = (String, BTreeMap<String, String>);

fn keyed(samples: &[Sample]) -> BTreeMap<Key, f64> {
    samples
        .iter()
        .map(|s| ((s.name.clone(), s.labels.clone()), s.value))
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_textfile_holds_exactly_the_public_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, text) = run_with_metrics(dir.path(), "public").await;
    let exported = keyed(&parse_samples(&text).unwrap());
    let all = &summary.results;
    let year = summary.year.to_string();

    // What the public may see, computed from every row of the run.
    let mut expected: BTreeMap<Key, f64> = BTreeMap::new();
    let public = |d: Disclosure| d == Disclosure::Public;
    for r in all.indicators.iter().filter(|r| public(r.disclosure)) {
        let l = labels(&[
            ("member", &r.member),
            ("region", r.region.as_str()),
            ("income_group", r.income_group.as_str()),
            ("year", &year),
            ("dimension", &r.dimension),
            ("outcome", &r.outcome),
            ("indicator", &r.indicator),
        ]);
        if let Some(v) = r.value {
            expected.insert(("pmm_indicator_value".into(), l.clone()), v);
            // The first run's history: each value, current, for its year.
            let h = labels(&[
                ("member", &r.member),
                ("indicator", &r.indicator),
                ("year", &year),
            ]);
            expected.insert(("pmm_indicator_history_value".into(), h), v);
        }
        if let Some(s) = r.score {
            expected.insert(("pmm_indicator_score".into(), l), s);
        }
    }
    for r in all.outcomes.iter().filter(|r| public(r.disclosure)) {
        if let Some(s) = r.score {
            let l = labels(&[
                ("member", &r.member),
                ("region", r.region.as_str()),
                ("income_group", r.income_group.as_str()),
                ("year", &year),
                ("dimension", &r.dimension),
                ("outcome", r.outcome.as_deref().unwrap()),
            ]);
            expected.insert(("pmm_outcome_score".into(), l), s);
        }
    }
    for r in all.dimensions.iter().filter(|r| public(r.disclosure)) {
        if let Some(s) = r.score {
            let l = labels(&[
                ("member", &r.member),
                ("region", r.region.as_str()),
                ("income_group", r.income_group.as_str()),
                ("year", &year),
                ("dimension", &r.dimension),
            ]);
            expected.insert(("pmm_dimension_score".into(), l), s);
        }
    }
    for r in &all.for_audience(Disclosure::Public).peers {
        if let Some(stats) = r.stats {
            let l = labels(&[
                ("year", &year),
                ("indicator", &r.indicator),
                ("group_kind", r.group_kind),
                ("group", &r.group),
            ]);
            expected.insert(("pmm_peer_median".into(), l), stats.median);
        }
    }
    let results: BTreeMap<Key, f64> = exported
        .iter()
        .filter(|((name, _), _)| !name.starts_with("pmm_run_") && name != "pmm_review_flags")
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert!(results.len() > 100, "{} samples", results.len());
    assert_eq!(results, expected, "the public samples are the public rows");

    // The review's flags are counted by rule, with no member label, whoever the audience.
    let flags: BTreeMap<Key, f64> = exported
        .iter()
        .filter(|((name, _), _)| name == "pmm_review_flags")
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let expected_flags: BTreeMap<Key, f64> = pmm_results::ReviewRule::ALL
        .iter()
        .map(|rule| {
            let n = summary.review.iter().filter(|f| f.rule == *rule).count();
            (
                (
                    "pmm_review_flags".to_string(),
                    labels(&[
                        ("pipeline", &summary.health.pipeline),
                        ("rule", rule.as_str()),
                    ]),
                ),
                n as f64,
            )
        })
        .collect();
    assert!(!summary.review.is_empty(), "the demo raises flags");
    assert_eq!(flags, expected_flags);

    // The member's hidden KPIs, and every score derived from them, are absent.
    let xa = |name: &str, extra: &[(&str, &str)]| {
        exported.keys().any(|(n, l)| {
            n == name
                && l.get("member").map(String::as_str) == Some("XA")
                && extra
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
    };
    assert!(xa(
        "pmm_indicator_value",
        &[("indicator", "tfec.electronic_declarations_rate")]
    ));
    assert!(!xa(
        "pmm_indicator_value",
        &[("indicator", "rc.arrears_ratio")]
    ));
    assert!(!xa(
        "pmm_indicator_score",
        &[("indicator", "esps.risk_profile_hit_rate")]
    ));
    let arrears = all
        .indicators
        .iter()
        .find(|r| r.member == "XA" && r.indicator == "rc.arrears_ratio")
        .unwrap();
    assert!(!xa("pmm_outcome_score", &[("outcome", &arrears.outcome)]));
    assert!(!xa("pmm_dimension_score", &[("dimension", "rc")]));
    assert!(!xa("pmm_dimension_score", &[("dimension", "esps")]));
    assert!(!xa("pmm_dimension_score", &[("dimension", "overall")]));
    assert!(xa("pmm_dimension_score", &[("dimension", "tfec")]));
    // Every public outcome score rests on public KPIs only.
    for (name, l) in exported.keys().filter(|(n, _)| n == "pmm_outcome_score") {
        let hidden = all.indicators.iter().any(|r| {
            Some(&r.member) == l.get("member")
                && Some(&r.outcome) == l.get("outcome")
                && r.disclosure != Disclosure::Public
        });
        assert!(!hidden, "{name} {l:?} is derived from a hidden KPI");
    }

    // A member that discloses nothing publicly is not even a label value.
    let hidden_members: BTreeSet<&str> = all
        .indicators
        .iter()
        .map(|r| r.member.as_str())
        .filter(|m| {
            all.indicators
                .iter()
                .all(|r| r.member != *m || r.disclosure != Disclosure::Public)
        })
        .collect();
    assert!(!hidden_members.is_empty());
    for member in hidden_members {
        assert!(
            !text.contains(&format!("\"{member}\"")),
            "{member} appears in the public metrics"
        );
    }

    // HELP and TYPE for each of the eleven metrics, and nothing else in comments.
    let comments: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(comments.len(), 22, "{comments:#?}");
    for name in [
        "pmm_indicator_value",
        "pmm_indicator_history_value",
        "pmm_indicator_score",
        "pmm_outcome_score",
        "pmm_dimension_score",
        "pmm_peer_median",
        "pmm_run_last_success_timestamp_seconds",
        "pmm_run_duration_seconds",
        "pmm_run_submissions",
        "pmm_run_validation_issues",
        "pmm_review_flags",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_health_is_exported_for_every_audience() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, text) = run_with_metrics(dir.path(), "secretariat").await;
    let exported = keyed(&parse_samples(&text).unwrap());
    let get = |name: &str, pairs: &[(&str, &str)]| {
        let mut l = labels(pairs);
        l.insert("pipeline".into(), "disclosure-check".into());
        *exported
            .get(&(name.to_string(), l))
            .unwrap_or_else(|| panic!("no {name} {pairs:?}"))
    };
    let rejected = summary
        .submissions
        .iter()
        .filter(|s| s.rejected.is_some())
        .count();
    assert_eq!(
        get("pmm_run_submissions", &[("status", "accepted")]),
        (summary.submissions.len() - rejected) as f64
    );
    assert_eq!(
        get("pmm_run_submissions", &[("status", "rejected")]),
        rejected as f64
    );
    let count = |s: &str| {
        summary
            .issues
            .iter()
            .filter(|i| i.severity.as_str() == s)
            .map(|i| i.count)
            .sum::<u64>() as f64
    };
    for severity in ["error", "warning"] {
        assert_eq!(
            get("pmm_run_validation_issues", &[("severity", severity)]),
            count(severity)
        );
    }
    assert_eq!(
        get("pmm_run_duration_seconds", &[]),
        summary.health.duration_seconds
    );
    let finished = get("pmm_run_last_success_timestamp_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        finished <= now && now - finished < 600.0,
        "{finished} vs {now}"
    );
    // The Secretariat's metrics hold every scored value, hidden ones included.
    let values = exported
        .keys()
        .filter(|(n, _)| n == "pmm_indicator_value")
        .count();
    let with_value = summary
        .results
        .indicators
        .iter()
        .filter(|r| r.value.is_some())
        .count();
    assert_eq!(values, with_value);
}
