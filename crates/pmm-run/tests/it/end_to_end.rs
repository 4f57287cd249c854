//! A whole run over synthesized submissions, each fault of the ingestion issue injected on a
//! different member, plus one hand-made member (XZ) whose figures are computed by hand.

use pmm_results::{
    DIMENSION_SCORES, INDICATOR_VALUES, OUTCOME_SCORES, PEER_STATS, VALIDATION_ISSUES,
};
use std::path::{Path, PathBuf};

use pmm_catalog::Pipeline;
use pmm_ingest::InputStatus;
use pmm_publish::{LatestPointer, RunManifest};
use pmm_run::{NoProgress, RunOptions, run_pipeline};
use pmm_synth::{FormatChoice, SynthOptions, synthesize};

use crate::{Row, assert_golden, read_table};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Replaces whatever file a dataset has in a submission with `name` holding `bytes`.
fn replace_dataset(dir: &Path, member: &str, dataset: &str, name: &str, bytes: &[u8]) {
    let folder = dir.join(format!("submissions/member={member}/year=2024"));
    for entry in std::fs::read_dir(&folder).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.split('.').next() == Some(dataset) {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    std::fs::write(folder.join(name), bytes).unwrap();
}

const DECL: &str = "declaration_id,flow,lodged_at,released_at,electronic,standardized,pre_arrival,channel,aeo,ecommerce,customs_value\n";

/// Synthesized members XA..XJ with faults, and a hand-made XZ.
async fn fixture() -> (tempfile::TempDir, Pipeline) {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        members: 10,
        declarations: 500,
        seed: 7,
        year: 2024,
        years: 2,
        format: FormatChoice::Mixed,
        faults: true,
    };
    synthesize(dir.path(), &options).await.unwrap();
    let root = dir.path();

    // A truncated Parquet file.
    let parquet =
        std::fs::read(root.join("submissions/member=XB/year=2024/declarations.parquet")).unwrap();
    replace_dataset(
        root,
        "XA",
        "audits",
        "audits.parquet",
        &parquet[..parquet.len() / 2],
    );
    // A binary file named .csv.
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    replace_dataset(root, "XB", "info_requests", "info_requests.csv", &binary);
    // A missing header: the first line is data.
    replace_dataset(
        root,
        "XD",
        "staff",
        "staff.csv",
        b"U1,10,5,100,1,50000\nU2,10,5,100,1,50000\n",
    );
    // A file that is not UTF-8 after a valid header.
    replace_dataset(
        root,
        "XF",
        "controls",
        "controls.csv",
        b"control_id,controlled_on,target,selection,result\nC1,2024-01-01,drugs,random,\xff\xfe\n",
    );
    // A 50 MB single line.
    replace_dataset(
        root,
        "XG",
        "seizures",
        "seizures.csv",
        &vec![b'a'; 50 * 1024 * 1024],
    );

    // XZ, made by hand.
    let registry = std::fs::read_to_string(root.join("members.yaml")).unwrap();
    std::fs::write(
        root.join("members.yaml"),
        format!("{registry}  - {{code: XZ, name: Hand-made Administration, region: europe, income_group: high}}\n"),
    )
    .unwrap();
    let xz = root.join("submissions/member=XZ/year=2024");
    std::fs::create_dir_all(&xz).unwrap();
    std::fs::write(
        xz.join("declarations.csv"),
        format!(
            "{DECL}\
             D1,IM,2024-01-01T00:00:00Z,2024-01-01T10:00:00Z,true,true,true,green,true,false,100\n\
             D2,IM,2024-01-02T00:00:00Z,2024-01-03T06:00:00Z,true,false,false,red,false,true,300\n\
             D3,EX,2024-01-03T00:00:00Z,,false,true,false,green,true,false,600\n\
             D4,IM,2024-01-04T00:00:00Z,2024-01-04T02:00:00Z,true,true,true,yellow,false,false,0\n"
        ),
    )
    .unwrap();
    std::fs::write(xz.join("staff.csv"), "unit,headcount,female_headcount,training_hours,integrity_cases,budget\nU1,10,5,100,1,50000\n").unwrap();
    std::fs::write(
        xz.join("manifest.yaml"),
        "member: XZ\nyear: 2024\nnot_applicable:\n  - indicator: tfec.ecommerce_shipment_share\ndisclosure:\n  default: public\n  overrides:\n    tfec.physical_inspection_rate: secretariat\n",
    )
    .unwrap();

    let pipeline_path = root.join("pipeline.yaml");
    std::fs::write(
        &pipeline_path,
        format!(
            "name: e2e\nyear: 2024\ncatalog: {}\nmembers: members.yaml\nsource: submissions\nresults: results\npeers:\n  min_group_size: 3\n",
            repo_root().join("indicators").display()
        ),
    )
    .unwrap();
    let pipeline = Pipeline::load(&pipeline_path).unwrap();
    (dir, pipeline)
}

fn latest(results: &Path) -> PathBuf {
    let latest: LatestPointer =
        serde_json::from_slice(&std::fs::read(results.join("latest.json")).unwrap()).unwrap();
    results.join(latest.path)
}

fn find<'a>(rows: &'a [Row], pairs: &[(&str, &str)]) -> &'a Row {
    rows.iter()
        .find(|r| {
            pairs
                .iter()
                .all(|(k, v)| r.get(*k).map(|c| c.text()) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no row with {pairs:?}"))
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.unwrap_or_else(|| panic!("expected {expected}, got null"));
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "expected {expected}, got {actual}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_injected_faults_publishes_exact_results() {
    let (dir, pipeline) = fixture().await;
    let summary = run_pipeline(&pipeline, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    let run = latest(&dir.path().join("results"));
    assert!(run.ends_with(format!("runs/{}", summary.run_id)));
    // Every row as the run that kept all rows in memory, before staging, made it. Not the
    // issues: they still hold XG's 50 MB line whole in a column name (100 MB of golden text;
    // the hostile-input work cuts it), and are checked one by one below.
    assert_golden(
        &run,
        "end_to_end",
        &[pmm_store::layout::audience_table("secretariat", VALIDATION_ISSUES.name).as_str()],
    );

    let (schema, values) = read_table(&run.join(pmm_store::layout::audience_table(
        "secretariat",
        INDICATOR_VALUES.name,
    )));
    let names: Vec<&str> = schema.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "run_id",
            "year",
            "member",
            "region",
            "income_group",
            "dimension",
            "outcome",
            "indicator",
            "status",
            "value",
            "numerator",
            "denominator",
            "unit",
            "score",
            "level",
            "disclosure",
            "assessment",
            "definition_hash"
        ]
    );
    assert_eq!(
        values.len(),
        11 * 29,
        "every registered member, every indicator"
    );
    let status = |member: &str, indicator: &str| {
        find(&values, &[("member", member), ("indicator", indicator)])["status"]
            .text()
            .to_string()
    };

    // XZ: the hand-computed figures.
    let xz = |indicator: &str| find(&values, &[("member", "XZ"), ("indicator", indicator)]).clone();
    let electronic = xz("tfec.electronic_declarations_rate");
    close(electronic["value"].float(), 75.0); // 3 of 4 electronic
    close(electronic["score"].float(), 50.0); // (75 - 50) / (100 - 50)
    assert_eq!(electronic["level"].int(), Some(3));
    assert_eq!(electronic["disclosure"].text(), "public");
    close(xz("tfec.aeo_trade_share")["value"].float(), 70.0); // (100 + 600) / 1000, transit none
    close(xz("tfec.aeo_trade_share")["score"].float(), 100.0); // above the target of 60
    close(xz("tfec.release_time_mean_hours")["value"].float(), 14.0); // (10 + 30 + 2) / 3
    close(
        xz("tfec.release_time_mean_hours")["score"].float(),
        92.98245614035088,
    ); // 106 / 114
    close(xz("tfec.release_time_p90_hours")["value"].float(), 26.0); // [2, 10, 30]: 10 + 0.8 * 20
    close(
        xz("tfec.ecommerce_release_time_median_hours")["value"].float(),
        30.0,
    );
    close(
        xz("tfec.ecommerce_release_time_median_hours")["score"].float(),
        60.0,
    ); // (30 - 72) / (2 - 72)
    close(
        xz("tfec.physical_inspection_rate")["score"].float(),
        17.5438596491228,
    ); // (33.3 - 40) / (2 - 40)
    assert_eq!(
        xz("tfec.physical_inspection_rate")["disclosure"].text(),
        "secretariat"
    );
    close(xz("od.declarations_per_staff")["value"].float(), 0.4);
    close(xz("od.declarations_per_staff")["score"].float(), 0.0);
    assert_eq!(xz("od.declarations_per_staff")["level"].int(), Some(1));
    close(
        xz("od.integrity_cases_per_1000_staff")["value"].float(),
        100.0,
    );
    assert_eq!(
        xz("od.integrity_cases_per_1000_staff")["score"].float(),
        None,
        "informational"
    );
    assert_eq!(
        xz("tfec.ecommerce_shipment_share")["status"].text(),
        "not_applicable"
    );
    assert_eq!(xz("rc.collection_rate")["status"].text(), "missing_data");
    assert_eq!(
        xz("tfec.aeo_count_variation")["status"].text(),
        "missing_data"
    );

    let (_, outcomes) = read_table(&run.join(pmm_store::layout::audience_table(
        "secretariat",
        OUTCOME_SCORES.name,
    )));
    let outcome = |o: &str| find(&outcomes, &[("member", "XZ"), ("outcome", o)]).clone();
    close(outcome("tfec.paperless_trade")["score"].float(), 62.5);
    close(outcome("tfec.trust_with_trade")["coverage"].float(), 0.5); // the AEO variation is missing
    close(outcome("tfec.trust_with_trade")["score"].float(), 100.0);
    close(
        outcome("tfec.faster_release")["score"].float(),
        84.40302144249513,
    );
    close(
        outcome("tfec.risk_based_facilitation")["score"].float(),
        11.549707602339181,
    );
    assert_eq!(
        outcome("tfec.risk_based_facilitation")["disclosure"].text(),
        "secretariat"
    );
    assert_eq!(
        outcome("od.integrity")["status"].text(),
        "not_applicable",
        "only informational KPIs"
    );
    assert_eq!(
        outcome("rc.revenue_mobilization")["status"].text(),
        "insufficient_coverage"
    );

    let (_, dimensions) = read_table(&run.join(pmm_store::layout::audience_table(
        "secretariat",
        DIMENSION_SCORES.name,
    )));
    let dimension = |d: &str| find(&dimensions, &[("member", "XZ"), ("dimension", d)]).clone();
    close(dimension("tfec")["score"].float(), 63.69054580896686);
    close(dimension("tfec")["coverage"].float(), 10.0 / 11.0);
    close(dimension("od")["score"].float(), 4.545454545454546);
    close(dimension("od")["coverage"].float(), 2.0 / 3.0);
    let overall = dimension("overall");
    assert_eq!(overall["status"].text(), "insufficient_coverage"); // (10/11 + 0 + 0 + 2/3) / 4 < 0.5
    close(overall["coverage"].float(), 0.3939393939393939);

    // Audience filtering: public sees XZ's public rows and nothing derived from the hidden KPI.
    let (_, public_values) = read_table(&run.join(pmm_store::layout::audience_table(
        "public",
        INDICATOR_VALUES.name,
    )));
    assert!(
        public_values
            .iter()
            .all(|r| r["disclosure"].text() == "public")
    );
    assert!(public_values.iter().any(|r| r["member"].text() == "XZ"
        && r["indicator"].text() == "tfec.electronic_declarations_rate"));
    assert!(
        !public_values.iter().any(|r| r["member"].text() == "XZ"
            && r["indicator"].text() == "tfec.physical_inspection_rate")
    );
    let (_, public_outcomes) = read_table(&run.join(pmm_store::layout::audience_table(
        "public",
        OUTCOME_SCORES.name,
    )));
    assert!(
        public_outcomes
            .iter()
            .any(|r| r["member"].text() == "XZ" && r["outcome"].text() == "tfec.paperless_trade")
    );
    assert!(!public_outcomes.iter().any(
        |r| r["member"].text() == "XZ" && r["outcome"].text() == "tfec.risk_based_facilitation"
    ));
    let (_, public_dimensions) = read_table(&run.join(pmm_store::layout::audience_table(
        "public",
        DIMENSION_SCORES.name,
    )));
    assert!(!public_dimensions.iter().any(
        |r| r["member"].text() == "XZ" && ["tfec", "overall"].contains(&r["dimension"].text())
    ));
    assert!(
        public_dimensions
            .iter()
            .any(|r| r["member"].text() == "XZ" && r["dimension"].text() == "od")
    );
    assert!(
        !run.join(pmm_store::layout::audience_table(
            "public",
            VALIDATION_ISSUES.name
        ))
        .exists(),
        "issues are for the Secretariat only"
    );
    let (_, wco_values) = read_table(&run.join(pmm_store::layout::audience_table(
        "wco",
        INDICATOR_VALUES.name,
    )));
    assert!(
        wco_values
            .iter()
            .all(|r| ["public", "wco"].contains(&r["disclosure"].text()))
    );

    // The faults: each member's broken dataset is rejected, its other data still counts.
    let (_, issues) = read_table(&run.join(pmm_store::layout::audience_table(
        "secretariat",
        VALIDATION_ISSUES.name,
    )));
    let issue = |member: &str, rule: &str| {
        issues
            .iter()
            .find(|r| r["member"].text() == member && r["rule"].text() == rule)
            .unwrap_or_else(|| panic!("no {rule} issue for {member}"))
            .clone()
    };
    assert!(
        issue("XA", "unreadable")["message"]
            .text()
            .contains("Parquet"),
        "truncated Parquet"
    );
    assert_eq!(status("XA", "rc.pca_effectiveness"), "invalid_submission");
    assert_eq!(status("XA", "tfec.electronic_declarations_rate"), "ok");
    assert_eq!(
        status("XB", "esps.info_request_response_rate"),
        "invalid_submission"
    ); // binary .csv
    assert_eq!(
        issue("XD", "missing_column")["file"].text(),
        "member=XD/year=2024/staff.csv"
    ); // no header
    assert_eq!(
        status("XD", "od.training_hours_per_staff"),
        "invalid_submission"
    );
    assert_eq!(
        status("XD", "esps.alcohol_seizure_variation"),
        "missing_data"
    ); // no T-1
    assert!(
        issue("XF", "unreadable")["message"].text().contains("UTF"),
        "not UTF-8: {:?}",
        issue("XF", "unreadable")
    );
    assert_eq!(
        status("XF", "esps.drug_control_effectiveness"),
        "invalid_submission"
    );
    // A 50 MB header: past limits.max_record_bytes, read no further, nothing of it copied.
    let long = issue("XG", "max_record_bytes");
    assert!(
        long["message"]
            .text()
            .contains("the header row is longer than 1 MiB"),
        "{long:?}"
    );
    assert!(
        issues
            .iter()
            .filter(|r| r["member"].text() == "XG")
            .all(|r| !r["message"].text().contains(&"a".repeat(121))),
        "no more than 120 characters of submitted text in a message"
    );
    assert_eq!(
        status("XG", "esps.alcohol_seizure_variation"),
        "invalid_submission"
    );
    assert!(issue("XH", "unreadable")["message"].text().contains("gzip"));
    assert!(
        issue("XC", "manifest")["message"]
            .text()
            .contains("the manifest is for member XA")
    );
    assert!(
        values
            .iter()
            .filter(|r| r["member"].text() == "XC")
            .all(|r| r["status"].text() == "invalid_submission")
    );
    assert!(
        values
            .iter()
            .filter(|r| r["member"].text() == "XC")
            .all(|r| r["disclosure"].text() == "secretariat")
    );
    assert_eq!(
        status("XI", "tfec.ecommerce_shipment_share"),
        "not_applicable"
    );
    assert_eq!(issue("XF", "ambiguous")["member"].text(), "XF"); // seizures.csv and seizures.parquet
    // XE: every 10th declaration has flow XX: listed with record number and column, then rejected.
    let flow: Vec<&Row> = issues
        .iter()
        .filter(|r| r["member"].text() == "XE" && r["rule"].text() == "enum")
        .collect();
    assert_eq!(flow.len(), 50);
    assert_eq!(flow[0]["row"].int(), Some(10));
    assert_eq!(flow[0]["column"].text(), "flow");
    assert_eq!(flow[0]["message"].text(), "\"XX\" is not one of IM, EX, TR");
    assert!(
        issue("XE", "max_invalid_row_fraction")["message"]
            .text()
            .starts_with("50 of 500 records (10.0%)")
    );
    assert_eq!(
        status("XE", "tfec.electronic_declarations_rate"),
        "invalid_submission"
    );
    // XG controls: 1 record in 20 has a bad date, not above the threshold: left out, dataset kept.
    let date = issue("XG", "type");
    assert_eq!(
        (date["column"].text(), date["row"].int()),
        ("controlled_on", Some(20))
    );
    assert_eq!(status("XG", "esps.drug_control_effectiveness"), "ok");
    // Unregistered and malformed folders are not read, one issue each.
    assert_eq!(issue("QQ", "unknown_member")["file"].text(), "member=QQ/");
    assert!(
        issues
            .iter()
            .any(|r| r["rule"].text() == "bad_folder" && r["file"].text() == "member=xa-old/")
    );

    // Peer statistics: n counts the members with a value (all of them for the Secretariat;
    // `disclosure.rs` checks the other audiences); small groups have no statistics.
    let (_, peers) = read_table(&run.join(pmm_store::layout::audience_table(
        "secretariat",
        PEER_STATS.name,
    )));
    let global = find(
        &peers,
        &[
            ("indicator", "tfec.electronic_declarations_rate"),
            ("group_kind", "global"),
        ],
    );
    let ok = values
        .iter()
        .filter(|r| {
            r["indicator"].text() == "tfec.electronic_declarations_rate"
                && r["status"].text() == "ok"
        })
        .count();
    assert_eq!(global["n"].int(), Some(ok as i64));
    assert!(
        peers
            .iter()
            .filter(|r| r["n"].int() < Some(3))
            .all(|r| r["median"].float().is_none())
    );

    // The run manifest names every input with its size, ETag, status and fingerprint.
    let manifest: RunManifest =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest, summary.manifest);
    let xz_decl = manifest
        .inputs
        .iter()
        .find(|i| i.object.path == "member=XZ/year=2024/declarations.csv")
        .unwrap();
    assert_eq!(
        xz_decl.object.size,
        std::fs::metadata(
            dir.path()
                .join("submissions/member=XZ/year=2024/declarations.csv")
        )
        .unwrap()
        .len()
    );
    assert!(xz_decl.object.etag.is_some());
    assert_eq!(xz_decl.status, InputStatus::Read);
    assert_eq!(xz_decl.fingerprint.as_ref().map(String::len), Some(64));
    assert!(xz_decl.staged.is_some());
    assert_eq!(manifest.counts.submissions_rejected, 1);
    // XF sent seizures twice: neither file is read.
    let seizures: Vec<_> = manifest
        .inputs
        .iter()
        .filter(|i| i.object.path.starts_with("member=XF/year=2024/seizures."))
        .collect();
    assert_eq!(seizures.len(), 2);
    assert!(seizures.iter().all(|i| i.status == InputStatus::Skipped));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_on_the_same_inputs_gives_the_same_rows() {
    let (dir, pipeline) = fixture().await;
    let first = run_pipeline(&pipeline, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    let second = run_pipeline(&pipeline, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_ne!(first.run_id, second.run_id);
    assert!(first.manifest.counts.inputs_read > 0);
    assert_eq!(
        second.manifest.counts.inputs_read, 0,
        "the second run reuses every staged input"
    );
    let runs = dir.path().join("results/runs");
    assert_eq!(
        latest(&dir.path().join("results")),
        runs.join(&second.run_id)
    );
    for file in &first.files {
        let relative = file
            .strip_prefix(&format!("runs/{}/", first.run_id))
            .unwrap();
        let (schema_a, mut a) = read_table(&runs.join(&first.run_id).join(relative));
        let (schema_b, mut b) = read_table(&runs.join(&second.run_id).join(relative));
        assert_eq!(schema_a, schema_b, "{relative}");
        for row in a.iter_mut().chain(b.iter_mut()) {
            row.remove("run_id");
        }
        assert_eq!(a, b, "{relative}: same rows in the same order");
    }
}

/// The demo's results are the golden rows of `tests/golden/demo/`, made by the run that kept
/// every row in memory before staging existed: how data reaches the engine changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_results_match_the_golden_copies() {
    let (_results, run) = crate::run_demo(|_| {}).await;
    assert_golden(&run, "demo", &[]);
}
