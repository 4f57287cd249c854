//! Metrics end to end with the real servers: `pmm run` writes a textfile and pushes to a
//! Pushgateway, `pmm serve` serves the run, node_exporter reads the textfile, and Prometheus
//! scrapes all three. Every expression of the dashboards and alert rules runs against that
//! Prometheus and must return data. Needs Debian's prometheus, prometheus-pushgateway and
//! prometheus-node-exporter (`.ci/run` installs them).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pmm_test_support::exposition::{Sample, parse_samples};
use serde_json::Value;

use crate::{Server, free_port, pmm, repo_root, text};

async fn get(client: &reqwest::Client, url: &str) -> Option<(u16, String)> {
    let response = client.get(url).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// Waits until `url` answers 200, or panics with the server's log.
async fn wait_ready(client: &reqwest::Client, url: &str, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some((200, _)) = get(client, url).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{} did not answer {url}:\n{}", server.name, server.log());
}

/// A GET of Prometheus's HTTP API with one query parameter; the JSON answer.
async fn api(client: &reqwest::Client, url: &str, parameter: (&str, &str)) -> Value {
    let body = client
        .get(url)
        .query(&[parameter])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

/// A Prometheus instant query; returns the result vector.
async fn query(client: &reqwest::Client, prometheus: &str, expr: &str) -> Vec<Value> {
    let response = api(
        client,
        &format!("{prometheus}/api/v1/query"),
        ("query", expr),
    )
    .await;
    assert_eq!(response["status"], "success", "{expr}: {response}");
    match &response["data"]["result"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Label values as Grafana's `label_values(selector, label)` finds them.
async fn label_values(
    client: &reqwest::Client,
    prometheus: &str,
    selector: &str,
    label: &str,
) -> Vec<String> {
    let response = api(
        client,
        &format!("{prometheus}/api/v1/label/{label}/values"),
        ("match[]", selector),
    )
    .await;
    response["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{selector}: {response}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn keyed(samples: Vec<Sample>) -> Samples {
    samples
        .into_iter()
        .map(|s| ((s.name, s.labels), s.value))
        .collect()
}

/// The pmm series Prometheus holds for one scrape job, with the labels the scrape or the
/// Pushgateway added taken off.
async fn scraped(client: &reqwest::Client, prometheus: &str, job: &str) -> Samples {
    let mut samples = Samples::new();
    for item in query(
        client,
        prometheus,
        &format!("{{__name__=~\"pmm_.+\", job=\"{job}\"}}"),
    )
    .await
    {
        let mut labels: BTreeMap<String, String> =
            serde_json::from_value(item["metric"].clone()).unwrap();
        let name = labels.remove("__name__").unwrap();
        labels.remove("job");
        labels.remove("instance");
        if job == "pmm" && !name.starts_with("pmm_run_") && name != "pmm_review_flags" {
            // The Pushgateway's grouping key puts `pipeline` on every series it holds (the
            // health series carry it already).
            assert_eq!(labels.remove("pipeline").as_deref(), Some("metrics-demo"));
        }
        let value: f64 = item["value"][1].as_str().unwrap().parse().unwrap();
        samples.insert((name, labels), value);
    }
    samples
}

/// `promtool check metrics` on exposition text.
fn promtool_check(text: &str, what: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (bash .ci/run installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics on {what}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// (name, text) pairs: a variable and its definition, or a panel title and its expression.
type Named = Vec<(String, String)>;

/// Every PromQL expression of a dashboard, with its variables' `label_values` queries.
fn dashboard_queries(dashboard: &Value) -> (Named, Named) {
    let mut variables = Vec::new();
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if variable["type"] == "query" {
            let definition = variable["definition"].as_str().unwrap().to_string();
            variables.push((variable["name"].as_str().unwrap().to_string(), definition));
        }
    }
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("").to_string();
            exprs.push((title, target["expr"].as_str().unwrap().to_string()));
        }
    }
    (variables, exprs)
}

/// Checks the dashboards' shape and runs every expression; returns how many ran.
async fn check_dashboards(client: &reqwest::Client, prometheus: &str) -> usize {
    let folder = repo_root().join("dashboards");
    let mut ran = 0;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&folder).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(
            !raw.contains("${DS_"),
            "{}: provisioning never fills ${{DS_...}} inputs",
            path.display()
        );
        let dashboard: Value = serde_json::from_str(&raw).unwrap();
        let list = dashboard["templating"]["list"].as_array().unwrap();
        assert!(
            list.iter().any(|v| v["name"] == "datasource"
                && v["type"] == "datasource"
                && v["query"] == "prometheus"),
            "{}: no datasource variable",
            path.display()
        );
        for panel in dashboard["panels"].as_array().unwrap() {
            if panel["type"] != "row" {
                assert_eq!(
                    panel["datasource"]["uid"],
                    "${datasource}",
                    "{}: {}",
                    path.display(),
                    panel["title"]
                );
            }
        }
        let (variables, exprs) = dashboard_queries(&dashboard);
        assert!(!exprs.is_empty(), "{}", path.display());
        // Resolve the variables in order, as Grafana does, taking the first value of each.
        let mut values: Vec<(String, String)> = Vec::new();
        let substitute = |text: &str, values: &[(String, String)]| {
            values.iter().fold(text.to_string(), |t, (name, value)| {
                t.replace(&format!("${name}"), value)
            })
        };
        for (name, definition) in variables {
            let inner = definition
                .strip_prefix("label_values(")
                .and_then(|d| d.strip_suffix(')'))
                .unwrap_or_else(|| {
                    panic!(
                        "{}: variable {name} is not label_values(...)",
                        path.display()
                    )
                });
            let (selector, label) = inner.rsplit_once(',').unwrap();
            let selector = substitute(selector.trim(), &values);
            let found = label_values(client, prometheus, &selector, label.trim()).await;
            assert!(
                !found.is_empty(),
                "{}: variable {name} ({definition}) has no values",
                path.display()
            );
            values.push((name, found[0].clone()));
        }
        for (title, expr) in exprs {
            let expr = substitute(&expr, &values);
            assert!(
                !expr.contains('$'),
                "{}: {title}: unresolved variable in {expr}",
                path.display()
            );
            let result = query(client, prometheus, &expr).await;
            assert!(
                !result.is_empty(),
                "{}: panel {title:?}: {expr} returns no data",
                path.display()
            );
            ran += 1;
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "pmm-across-cycles.json",
            "pmm-member.json",
            "pmm-overview.json",
            "pmm-run-health.json"
        ]
    );

    // The alert rules' expressions: Grafana's query A, and Prometheus's rule without its
    // threshold (the test data is fresh, so the alert itself must not fire).
    let alerting = std::fs::read_to_string(folder.join("provisioning/alerting/pmm.yaml")).unwrap();
    let rules = std::fs::read_to_string(folder.join("prometheus/pmm-alerts.yml")).unwrap();
    let mut alert_exprs = 0;
    for line in alerting.lines().chain(rules.lines()) {
        if let Some(expr) = line.trim().strip_prefix("expr: ") {
            let (value, threshold) = match expr.rsplit_once(" > ") {
                Some((v, t)) => (v, Some(t)),
                None => (expr, None),
            };
            assert!(
                !query(client, prometheus, value).await.is_empty(),
                "{value} returns no data"
            );
            if threshold.is_some() {
                assert!(
                    query(client, prometheus, expr).await.is_empty(),
                    "{expr} fires on a fresh run"
                );
            }
            alert_exprs += 1;
            ran += 1;
        }
    }
    assert_eq!(alert_exprs, 2);
    ran
}

fn promtool_rules() {
    let folder = repo_root().join("dashboards/prometheus");
    for args in [
        ["check", "rules", "pmm-alerts.yml"],
        ["test", "rules", "pmm-alerts.test.yml"],
    ] {
        let output = Command::new("promtool")
            .args(args)
            .current_dir(&folder)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn latest_run_id(results: &Path) -> String {
    crate::read_json(&results.join("latest.json"))["run_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls `/healthz` until `check` holds.
async fn wait_health(
    client: &reqwest::Client,
    serve: &str,
    server: &Server,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Some((_, body)) = get(client, &format!("{serve}/healthz")).await {
            last = serde_json::from_str(&body).unwrap_or(Value::Null);
            if check(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/healthz never matched; last: {last}\n{}", server.log());
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Prometheus, the Pushgateway, node_exporter and promtool: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_prometheus_by_textfile_pushgateway_and_serve() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let push_port = free_port();
    // Debian's Pushgateway persists to /var/lib/prometheus/pushgateway.data unless told
    // otherwise, and would load what any earlier Pushgateway on the machine left there: this
    // one keeps its state in the test's own folder.
    let pushgateway = Server::start(
        "pushgateway",
        "prometheus-pushgateway",
        &[
            format!("--web.listen-address=127.0.0.1:{push_port}"),
            format!(
                "--persistence.file={}",
                root.join("pushgateway.data").display()
            ),
        ],
        &logs,
    );
    let push_url = format!("http://127.0.0.1:{push_port}");
    wait_ready(&client, &format!("{push_url}/-/ready"), &pushgateway).await;
    let (_, before) = get(&client, &format!("{push_url}/metrics")).await.unwrap();
    assert!(
        !before.lines().any(|l| l.starts_with("pmm_")),
        "the Pushgateway starts with pmm series it did not get from this test:\n{before}"
    );

    // The demo's data, with metrics for the public audience by all three ways.
    let results = root.join("results");
    let textfiles = root.join("textfile");
    let pipeline = root.join("pipeline.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: metrics-demo\nyear: 2024\ncatalog: {repo}/indicators\nmembers: {repo}/examples/members.yaml\n\
             source: {repo}/examples/submissions\nresults: results\npeers:\n  min_group_size: 5\n\
             publish:\n  prometheus:\n    audience: public\n    textfile: textfile/pmm.prom\n    pushgateway: {push_url}\n",
            repo = repo_root().display()
        ),
    )
    .unwrap();
    let output = pmm(root, &["run", "pipeline.yaml"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let textfile = std::fs::read_to_string(textfiles.join("pmm.prom")).unwrap();
    let expected = keyed(parse_samples(&textfile).unwrap());
    assert!(
        stdout.contains(&format!(
            "Metrics: {} samples from the public results",
            expected.len()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "pushed to: {push_url}/metrics/job/pmm/pipeline/metrics-demo"
        )),
        "{stdout}"
    );
    promtool_check(&textfile, "the textfile");

    let serve_port = free_port();
    let serve_url = format!("http://127.0.0.1:{serve_port}");
    let serve = Server::start(
        "pmm-serve",
        env!("CARGO_BIN_EXE_pmm"),
        &[
            "serve".into(),
            "--results".into(),
            results.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{serve_port}"),
            "--refresh".into(),
            "0.3".into(),
        ],
        &logs,
    );
    wait_ready(&client, &format!("{serve_url}/healthz"), &serve).await;
    let (status, served) = get(&client, &format!("{serve_url}/metrics")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        served, textfile,
        "pmm serve and the textfile carry the same run"
    );
    promtool_check(&served, "/metrics");

    let node_port = free_port();
    let node = Server::start(
        "node-exporter",
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address=127.0.0.1:{node_port}"),
            "--collector.disable-defaults".into(),
            "--collector.textfile".into(),
            format!("--collector.textfile.directory={}", textfiles.display()),
        ],
        &logs,
    );
    wait_ready(
        &client,
        &format!("http://127.0.0.1:{node_port}/metrics"),
        &node,
    )
    .await;

    let prometheus_port = free_port();
    let prometheus_url = format!("http://127.0.0.1:{prometheus_port}");
    std::fs::write(
        root.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n\
             \x20 - job_name: pmm-serve\n    static_configs: [{{targets: ['127.0.0.1:{serve_port}']}}]\n\
             \x20 - job_name: pushgateway\n    honor_labels: true\n    static_configs: [{{targets: ['127.0.0.1:{push_port}']}}]\n\
             \x20 - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{node_port}']}}]\n"
        ),
    )
    .unwrap();
    let prometheus = Server::start(
        "prometheus",
        "prometheus",
        &[
            format!("--config.file={}", root.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", root.join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
        ],
        &logs,
    );
    wait_ready(&client, &format!("{prometheus_url}/-/ready"), &prometheus).await;

    // Wait for a scrape of each of the three.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = query(
            &client,
            &prometheus_url,
            "count by (job) (pmm_run_last_success_timestamp_seconds)",
        )
        .await;
        if jobs.len() == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "series from 3 jobs expected, got {jobs:?}\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Every sample arrives, with its value, by each way.
    for job in ["pmm-serve", "pmm", "node"] {
        let got = scraped(&client, &prometheus_url, job).await;
        assert_eq!(got.len(), expected.len(), "job {job}");
        assert_eq!(got, expected, "job {job}");
    }
    // A spot check by name, as a dashboard asks.
    let xa = query(
        &client,
        &prometheus_url,
        "pmm_dimension_score{job=\"pmm-serve\", member=\"XA\", dimension=\"overall\"}",
    )
    .await;
    assert_eq!(xa.len(), 1);
    let value: f64 = xa[0]["value"][1].as_str().unwrap().parse().unwrap();
    let in_file = expected
        .iter()
        .find(|((n, l), _)| {
            n == "pmm_dimension_score" && l["member"] == "XA" && l["dimension"] == "overall"
        })
        .map(|(_, v)| *v)
        .unwrap();
    assert_eq!(value, in_file);

    let ran = check_dashboards(&client, &prometheus_url).await;
    assert!(ran >= 20, "{ran} expressions");
    promtool_rules();

    // A new run is served without a restart.
    let first = latest_run_id(&results);
    let output = pmm(root, &["run", "pipeline.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let second = latest_run_id(&results);
    assert_ne!(first, second);
    wait_health(&client, &serve_url, &serve, |h| {
        h["run_id"] == second.as_str()
    })
    .await;

    // The store out of reach: the last good run is still served, and /healthz says why.
    let (_, before) = get(&client, &format!("{serve_url}/metrics")).await.unwrap();
    std::fs::rename(&results, root.join("results-away")).unwrap();
    let health = wait_health(&client, &serve_url, &serve, |h| {
        h["store_error"].is_string()
    })
    .await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["run_id"], second.as_str());
    let (status, during) = get(&client, &format!("{serve_url}/metrics")).await.unwrap();
    assert_eq!((status, &during), (200, &before));
    std::fs::rename(root.join("results-away"), &results).unwrap();
    wait_health(&client, &serve_url, &serve, |h| h["store_error"].is_null()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_push_is_reported_and_the_run_is_published() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    let closed = free_port();
    std::fs::write(
        root.join("pipeline.yaml"),
        format!(
            "name: no-gateway\nyear: 2024\ncatalog: {repo}/indicators\nmembers: {repo}/examples/members.yaml\n\
             source: {repo}/examples/submissions\nresults: results\n\
             publish:\n  prometheus:\n    audience: wco\n    pushgateway: http://user:hunter2@127.0.0.1:{closed}\n",
            repo = repo_root().display()
        ),
    )
    .unwrap();
    let output = pmm(root, &["run", "pipeline.yaml"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "pushed to: FAILED: cannot push the metrics to the Pushgateway at http://127.0.0.1:{closed}/metrics/job/pmm/pipeline/no-gateway: cannot connect"
        )),
        "{stdout}"
    );
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "the password leaks"
    );
    assert!(root.join("results/latest.json").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_before_any_run_says_so_and_a_busy_port_is_a_usage_error() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    std::fs::create_dir_all(root.join("results")).unwrap();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let client = reqwest::Client::new();
    let port = free_port();
    let serve = Server::start(
        "pmm-serve-empty",
        env!("CARGO_BIN_EXE_pmm"),
        &[
            "serve".into(),
            "--results".into(),
            root.join("results").display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
        ],
        &root.join("logs"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Some(answer) = get(&client, &format!("{url}/healthz")).await {
            break answer;
        }
        assert!(Instant::now() < deadline, "{}", serve.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health.0, 503);
    let body: Value = serde_json::from_str(&health.1).unwrap();
    assert_eq!(body["status"], "no_run");
    assert!(
        body["store_error"]
            .as_str()
            .unwrap()
            .contains("no latest.json"),
        "{body}"
    );
    assert_eq!(
        get(&client, &format!("{url}/metrics")).await.unwrap().0,
        503
    );

    // The same port again.
    let output = pmm(
        root,
        &[
            "serve",
            "--results",
            "results",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );

    // A refresh no timer can hold is a usage error, not a panic.
    for refresh in ["1e20", "0", "NaN"] {
        let output = pmm(
            root,
            &["serve", "--results", "results", "--refresh", refresh],
        );
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{refresh}: {stderr}");
        assert!(
            stderr.contains("--refresh must be between 0.1 and 86400 seconds"),
            "{stderr}"
        );
    }
}
