//! The plausibility review as its readers meet it: the member's explanation goes from its
//! manifest to the Secretariat's table, `pmm review`, the report and the dry run, and nothing
//! of a flag reaches the wco or public results, the metrics or the logs; the report's "Points
//! to review" section in headless Chromium, in English and French.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_ipc::reader::FileReader;
use serde_json::Value;

use crate::member::{Browser, dry_run, tags_with, unescaped};
use crate::{pmm, pmm_env, read_json, repo_root, text};

/// The text of the explanation the sample's XJ gives for `subject` in its manifest for 2024.
fn explanation_in_manifest(subject: &str) -> String {
    let manifest = std::fs::read_to_string(
        repo_root().join("examples/submissions/member=XJ/year=2024/manifest.yaml"),
    )
    .unwrap();
    let mut lines = manifest.lines();
    lines
        .by_ref()
        .find(|l| l.trim() == format!("- subject: {subject}"))
        .expect("the sample's XJ explains a subject");
    let line = lines.next().unwrap().trim();
    line.strip_prefix("text: ").unwrap().to_string()
}

/// The demo's pipeline with every output in `dir`, with `default` the disclosure of members
/// that choose none and `min_group` the smallest peer group with statistics.
fn pipeline(dir: &Path, default: &str, min_group: u32) -> std::path::PathBuf {
    let root = repo_root().canonicalize().unwrap();
    let path = dir.join("pipeline.yaml");
    std::fs::write(
        &path,
        format!(
            "name: review\nyear: 2024\ncatalog: {root}/indicators\nmembers: {root}/examples/members.yaml\n\
             source: {root}/examples/submissions\nresults: {out}/results\naudiences: [secretariat, wco, public]\n\
             disclosure:\n  default: {default}\nvalidation:\n  max_invalid_row_fraction: 0.05\nscoring:\n  min_coverage: 0.5\n\
             peers:\n  min_group_size: {min_group}\npublish:\n  prometheus:\n    audience: public\n    textfile: {out}/metrics/pmm.prom\n",
            root = root.display(),
            out = dir.display()
        ),
    )
    .unwrap();
    path
}

/// (member, subject, rule, explanation) of each row of a `review_flags` file.
fn flags(path: &Path) -> Vec<(String, String, String, Option<String>)> {
    let reader = FileReader::try_new(std::fs::File::open(path).unwrap(), None).unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let mut out = Vec::new();
    for batch in &batches {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_string::<i32>()
                .clone()
        };
        let (member, subject, rule, explanation) = (
            column("member"),
            column("subject"),
            column("rule"),
            column("explanation"),
        );
        for i in 0..batch.num_rows() {
            out.push((
                member.value(i).to_string(),
                subject.value(i).to_string(),
                rule.value(i).to_string(),
                explanation
                    .is_valid(i)
                    .then(|| explanation.value(i).to_string()),
            ));
        }
    }
    out
}

/// Every file under `dir`, as (path, bytes).
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn the_explanation_travels_with_its_flag_and_no_flag_leaves_the_secretariat() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(dir.path(), "wco", 5);
    let output = pmm_env(
        dir.path(),
        &["run", pipeline.to_str().unwrap()],
        &[("RUST_LOG".into(), "debug".into())],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let results = dir.path().join("results");
    let latest = read_json(&results.join("latest.json"));
    let run = results.join(latest["path"].as_str().unwrap());

    // The table: the planted anomalies are flagged, the explanation is the manifest's.
    let explanation = explanation_in_manifest("info_requests");
    let table = flags(&run.join("secretariat/review_flags.arrow"));
    let find = |member: &str, subject: &str, rule: &str| {
        table
            .iter()
            .find(|f| (f.0.as_str(), f.1.as_str(), f.2.as_str()) == (member, subject, rule))
            .unwrap_or_else(|| panic!("no {rule} flag for {member} {subject}: {table:?}"))
    };
    assert_eq!(
        find("XJ", "info_requests", "count_change").3.as_deref(),
        Some(explanation.as_str())
    );
    assert_eq!(find("XA", "od.cost_of_collection", "outside_range").3, None);
    find("XB", "od.training_hours_per_staff", "peer_outlier");
    // Only the subject the member explained carries the explanation.
    assert_eq!(table.iter().filter(|f| f.3.is_some()).count(), 1);
    // The run's summary counts them, names no member.
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("review:"))
        .unwrap();
    assert!(line.contains(&format!("{} flags", table.len())), "{line}");

    // Nothing of a flag outside the Secretariat's folder: no table, no message, no
    // explanation, in wco and public; none in the metrics or the logs.
    let messages: Vec<String> = {
        let reader = FileReader::try_new(
            std::fs::File::open(run.join("secretariat/review_flags.arrow")).unwrap(),
            None,
        )
        .unwrap();
        reader
            .flat_map(|b| {
                let b = b.unwrap();
                let m = b
                    .column_by_name("message")
                    .unwrap()
                    .as_string::<i32>()
                    .clone();
                (0..b.num_rows()).map(move |i| m.value(i).to_string())
            })
            .collect()
    };
    for audience in ["wco", "public"] {
        assert!(!run.join(audience).join("review_flags.arrow").exists());
        for (path, bytes) in files_under(&run.join(audience)) {
            assert!(!contains(&bytes, &explanation), "{}", path.display());
            for message in &messages {
                assert!(!contains(&bytes, message), "{}: {message}", path.display());
            }
        }
    }
    let metrics = std::fs::read_to_string(dir.path().join("metrics/pmm.prom")).unwrap();
    let review_lines: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("pmm_review_flags{"))
        .collect();
    assert_eq!(
        review_lines.len(),
        4,
        "one series per rule: {review_lines:?}"
    );
    for l in &review_lines {
        assert!(!l.contains("member="), "{l}");
        assert!(
            l.contains("pipeline=\"review\"") && l.contains("rule=\""),
            "{l}"
        );
    }
    let total: f64 = review_lines
        .iter()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum();
    assert_eq!(total as usize, table.len());
    for where_ in [&metrics, &stdout, &stderr] {
        assert!(!where_.contains(&explanation));
        for message in &messages {
            assert!(!where_.contains(message.as_str()), "{message}");
        }
    }

    // `pmm review`: grouped by member, with the explanation under its flag.
    let review = pmm(
        dir.path(),
        &["review", "--results", results.to_str().unwrap()],
    );
    let (shown, errors) = text(&review);
    assert_eq!(review.status.code(), Some(0), "{errors}");
    let xj = shown.find("\nXJ\n").expect("XJ's flags");
    let after = &shown[xj..];
    let count = after.find("count_change").unwrap();
    assert!(
        after[count..]
            .lines()
            .nth(1)
            .unwrap()
            .contains(&format!("explained: {explanation}")),
        "{shown}"
    );
    for message in &messages {
        assert!(shown.contains(message.as_str()), "{message} not in {shown}");
    }
    let json = pmm(
        dir.path(),
        &[
            "review",
            "--results",
            results.to_str().unwrap(),
            "--member",
            "XJ",
            "--format",
            "json",
        ],
    );
    let rows: Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), table.iter().filter(|f| f.0 == "XJ").count());
    assert!(rows.iter().all(|r| r["member"] == "XJ"));
    assert!(
        rows.iter()
            .any(|r| r["rule"] == "count_change" && r["explanation"] == explanation.as_str())
    );

    // The report: the Secretariat's shows the member's points with the explanation; the wco
    // audience's has no such section.
    let report = |audience: &str| {
        let page = dir.path().join(format!("xj-{audience}.html"));
        let (results, page_arg) = (results.to_str().unwrap(), page.to_str().unwrap());
        let args = [
            "report",
            "--results",
            results,
            "--member",
            "XJ",
            "--audience",
            audience,
        ];
        let output = pmm(dir.path(), &[&args[..], &["--out", page_arg]].concat());
        assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
        std::fs::read_to_string(&page).unwrap()
    };
    let html = report("secretariat");
    assert_eq!(
        tags_with(&html, "class", "point").len(),
        table.iter().filter(|f| f.0 == "XJ").count()
    );
    assert!(unescaped(&html).contains(&explanation));
    let html = report("wco");
    assert!(!html.contains("id=\"review\""));
    assert!(!unescaped(&html).contains(&explanation));

    // The member's dry run shows the same count_change with its explanation, before it
    // submits, and writes it in summary.json and its own review_flags.arrow.
    let out = dir.path().join("dry-xj");
    let data = repo_root().join("examples/submissions");
    let (printed, _) = dry_run(&data, "XJ", &out, &[]);
    assert!(printed.contains("count_change"), "{printed}");
    assert!(
        printed.contains(&format!("explained: {explanation}")),
        "{printed}"
    );
    let summary = read_json(&out.join("summary.json"));
    let points = summary["review"].as_array().unwrap();
    assert!(points.iter().any(|p| p["rule"] == "count_change"
        && p["subject"] == "info_requests"
        && p["explanation"] == explanation.as_str()));
    // Without --peers there is nothing to compare with.
    assert!(points.iter().all(|p| p["rule"] != "peer_outlier"));
    let own = flags(&out.join("secretariat/review_flags.arrow"));
    assert_eq!(own.len(), points.len());
}

#[test]
fn a_dry_run_compares_with_its_own_year_before_and_with_peers_only_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo_root().join("examples/submissions");
    // Training hours entered in minutes: against the member's own T-1 files.
    let (printed, _) = dry_run(&data, "XB", &dir.path().join("xb"), &[]);
    assert!(
        printed.contains("value_change   od.training_hours_per_staff"),
        "{printed}"
    );
    let summary = read_json(&dir.path().join("xb/summary.json"));
    let flag = summary["review"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == "value_change")
        .unwrap()
        .clone();
    let (now, before) = (
        flag["observed"].as_f64().unwrap(),
        flag["reference"].as_f64().unwrap(),
    );
    assert!((now / before - 60.0).abs() < 6.0, "{now} against {before}");
    // A clean member's dry run has nothing to review.
    let (printed, _) = dry_run(&data, "XI", &dir.path().join("xi"), &[]);
    assert!(printed.contains("review: nothing to look at"), "{printed}");
    let summary = read_json(&dir.path().join("xi/summary.json"));
    assert_eq!(summary["review"].as_array().unwrap().len(), 0);

    // With --peers (a published run's public statistics), a value far from the peers' is
    // flagged too: training hours in minutes stand far above everyone else's.
    let pipeline = pipeline(dir.path(), "public", 3);
    let run = pmm(dir.path(), &["run", pipeline.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{:?}", text(&run));
    let published = dir.path().join("results");
    let (printed, _) = dry_run(
        &data,
        "XB",
        &dir.path().join("xb-peers"),
        &["--peers", published.to_str().unwrap()],
    );
    assert!(
        printed.contains("peer_outlier   od.training_hours_per_staff"),
        "{printed}"
    );
    let summary = read_json(&dir.path().join("xb-peers/summary.json"));
    let outlier = summary["review"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == "peer_outlier")
        .unwrap()
        .clone();
    // Its bounds are the published quartiles' (p25 - 3 IQR, p75 + 3 IQR).
    let (low, high) = (
        outlier["low"].as_f64().unwrap(),
        outlier["high"].as_f64().unwrap(),
    );
    assert!(outlier["observed"].as_f64().unwrap() > high && low < high);
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Chromium: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[test]
fn the_points_to_review_read_in_both_languages_in_chromium() {
    let browser = Browser::start();
    let dir = tempfile::tempdir().unwrap();
    let data = repo_root().join("examples/submissions");
    let explanation = explanation_in_manifest("info_requests");
    for (member, lang, words, rule) in [
        (
            "XJ",
            "en",
            ["Points to review", "valid rows in 2024 against"],
            "count_change",
        ),
        (
            "XB",
            "fr",
            ["Points à vérifier", "plus que la variation de 100"],
            "value_change",
        ),
    ] {
        let out = dir.path().join(member);
        dry_run(&data, member, &out, &["--lang", lang]);
        let page = out.join("report.html");
        let dom = browser.dom(&page);
        let section = &dom[dom.find("id=\"review\"").expect("the section is rendered")..];
        let section = &section[..section.find("</section>").unwrap()];
        let text = unescaped(section).replace(['\u{a0}', '\u{202f}'], " ");
        for word in words {
            assert!(
                text.contains(word),
                "{member} {lang}: {word:?} not in {text}"
            );
        }
        let points = tags_with(section, "class", "point");
        assert!(!points.is_empty(), "{member}");
        assert!(
            points
                .iter()
                .any(|p| p.contains(&format!("data-rule=\"{rule}\"")))
        );
        if member == "XJ" {
            assert!(text.contains(&explanation), "{text}");
        }
        // The link in the page's navigation leads to it.
        assert!(dom.contains("href=\"#review\""));
        let png = out.join("report.png");
        browser.screenshot(&page, 1100, &png);
        assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
    }
    assert_eq!(browser.page_requests(), Vec::<String>::new());
}
