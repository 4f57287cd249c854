//! `pmm dry-run` and `pmm report` as a member's analyst and the Secretariat use them: the
//! dry run gives the rows of a full run, every fault shows in the report with its file,
//! record and column, the page opens in headless Chromium with the network blocked and
//! requests nothing, the public report holds nothing above public, and a dry run opens no
//! network socket.

use pmm_results::{DIMENSION_SCORES, INDICATOR_VALUES, OUTCOME_SCORES};
use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};

use crate::{local_tables, pmm, repo_root, text, without_run_id};

/// The rows of a table whose `member` is `member`, as (key columns, value columns) text.
fn member_rows(
    batches: &[RecordBatch],
    member: &str,
    keys: &[&str],
    values: &[&str],
) -> BTreeMap<Vec<String>, Vec<String>> {
    let mut rows = BTreeMap::new();
    for batch in batches {
        let cell = |name: &str, i: usize| -> String {
            let column = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no {name}"));
            if column.is_null(i) {
                "null".into()
            } else if let Some(t) = column.as_string_opt::<i32>() {
                t.value(i).to_string()
            } else if let Some(n) = column.as_primitive_opt::<Int64Type>() {
                n.value(i).to_string()
            } else {
                format!("{:?}", column.as_primitive::<Float64Type>().value(i))
            }
        };
        for i in 0..batch.num_rows() {
            if cell("member", i) != member {
                continue;
            }
            rows.insert(
                keys.iter().map(|k| cell(k, i)).collect(),
                values.iter().map(|v| cell(v, i)).collect(),
            );
        }
    }
    rows
}

pub(crate) fn dry_run(data: &Path, member: &str, out: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "dry-run",
        "--member",
        member,
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = pmm(&repo_root(), &args);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn a_dry_run_gives_the_rows_of_a_full_run() {
    let results = tempfile::tempdir().unwrap();
    let run = pmm(
        &repo_root(),
        &[
            "run",
            "pipelines/demo.yaml",
            "--results",
            results.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{:?}", text(&run));
    let (full, _) = local_tables(results.path());
    let examples = repo_root().join("examples/submissions");
    for member in ["XA", "XD", "XE", "XI"] {
        let out = tempfile::tempdir().unwrap();
        let (stdout, _) = dry_run(&examples, member, out.path(), &[]);
        assert!(
            stdout.contains("nothing was submitted or published"),
            "{stdout}"
        );
        let read = |table: &str| without_run_id(std::fs::read(out.path().join(table)).unwrap());
        for (table, keys, values) in [
            (
                pmm_store::layout::audience_table("secretariat", INDICATOR_VALUES.name),
                &["indicator"][..],
                &[
                    "status",
                    "value",
                    "numerator",
                    "denominator",
                    "score",
                    "level",
                ][..],
            ),
            (
                pmm_store::layout::audience_table("secretariat", OUTCOME_SCORES.name),
                &["outcome"][..],
                &["status", "score", "level", "coverage"][..],
            ),
            (
                pmm_store::layout::audience_table("secretariat", DIMENSION_SCORES.name),
                &["dimension"][..],
                &["status", "score", "level", "coverage"][..],
            ),
        ] {
            let expected = member_rows(&full[&table], member, keys, values);
            let got = member_rows(&read(&table), member, keys, values);
            assert!(!expected.is_empty(), "{member} {table}");
            assert_eq!(
                got, expected,
                "{member}: {table} of the dry run and of the full run"
            );
        }
        let summary = crate::read_json(&out.path().join("summary.json"));
        assert_eq!(summary["member"], member);
        assert_eq!(summary["year"], 2024);
        assert!(out.path().join("report.html").exists());
    }
}

/// Headless Chromium, with every request going to a proxy that only records the request line
/// and answers nothing (and the page's own policy forbids fetching): whatever a page loads
/// shows up in the record.
pub(crate) struct Browser {
    requests: Arc<Mutex<Vec<String>>>,
    port: u16,
    profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) fn start() -> Browser {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut line = String::new();
                let _ =
                    std::io::BufRead::read_line(&mut std::io::BufReader::new(&stream), &mut line);
                recorded.lock().unwrap().push(line.trim().to_string());
            }
        });
        Browser {
            requests,
            port,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(std::env::var("PMM_CHROMIUM").unwrap_or("chromium".into()));
        command.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!("--proxy-server=http://127.0.0.1:{}", self.port),
            "--proxy-bypass-list=<-loopback>",
            &format!("--user-data-dir={}", self.profile.path().display()),
        ]);
        command
    }

    /// The page's DOM after layout.
    pub(crate) fn dom(&self, page: &Path) -> String {
        let output = self
            .command()
            .args(["--dump-dom", &format!("file://{}", page.display())])
            .output()
            .expect("chromium runs (.ci/run installs Debian's chromium)");
        assert!(output.status.success(), "{:?}", text(&output));
        String::from_utf8(output.stdout).unwrap()
    }

    /// A screenshot `width` pixels wide.
    pub(crate) fn screenshot(&self, page: &Path, width: u32, png: &Path) {
        let output = self
            .command()
            .args([
                &format!("--window-size={width},3000"),
                &format!("--screenshot={}", png.display()),
                &format!("file://{}", page.display()),
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{:?}", text(&output));
    }

    /// The page printed to PDF (A4, the print stylesheet).
    fn pdf(&self, page: &Path, pdf: &Path) {
        let output = self
            .command()
            .args([
                "--no-pdf-header-footer",
                &format!("--print-to-pdf={}", pdf.display()),
                &format!("file://{}", page.display()),
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{:?}", text(&output));
    }

    /// The requests that did not come from Chromium's own services (which it calls whatever
    /// the flags: sign-in and update checks, to Google's hosts): the page's.
    pub(crate) fn page_requests(&self) -> Vec<String> {
        let own = [
            ".google.com:",
            ".googleapis.com:",
            ".gstatic.com:",
            "google.com/",
            "googleapis.com/",
        ];
        self.requests
            .lock()
            .unwrap()
            .iter()
            // A connection that sent nothing is Chromium opening one ahead of need.
            .filter(|line| !line.is_empty() && !own.iter().any(|host| line.contains(host)))
            .cloned()
            .collect()
    }
}

/// A page's text with the entities the template escapes turned back into characters.
pub(crate) fn unescaped(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The values of attribute `name` in `html`, in order.
fn attributes(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The opening tags of elements with `attribute="value"`.
pub(crate) fn tags_with<'a>(html: &'a str, attribute: &str, value: &str) -> Vec<&'a str> {
    let needle = format!("{attribute}=\"{value}\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let start = html[..i].rfind('<').unwrap();
            let end = i + html[i..].find('>').unwrap();
            &html[start..=end]
        })
        .collect()
}

pub(crate) fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let i = tag.find(&needle)? + needle.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Chromium: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[test]
fn the_report_opens_offline_with_every_kpi_and_the_numbers_of_the_tables() {
    let browser = Browser::start();
    let examples = repo_root().join("examples/submissions");
    let published = tempfile::tempdir().unwrap();
    let run = pmm(
        &repo_root(),
        &[
            "run",
            "pipelines/demo.yaml",
            "--results",
            published.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(0));
    for lang in ["en", "fr"] {
        let out = tempfile::tempdir().unwrap();
        dry_run(
            &examples,
            "XA",
            out.path(),
            &[
                "--lang",
                lang,
                "--peers",
                published.path().to_str().unwrap(),
            ],
        );
        let page = out.path().join("report.html");
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            html.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"),
            "a policy that forbids fetching"
        );
        for external in ["<script", "<link", "src=\"http", "url(http", "@import"] {
            assert!(!html.contains(external), "{external} in the page");
        }
        let dom = browser.dom(&page);
        assert!(dom.contains(&format!("<html lang=\"{lang}\">")), "{lang}");
        let fixed = if lang == "en" {
            "Key performance indicators"
        } else {
            "Indicateurs clés de performance"
        };
        assert!(dom.contains(fixed), "{lang}: fixed text");
        let kpi_name = if lang == "en" {
            "Rate of electronic declarations"
        } else {
            "Taux de déclarations électroniques"
        };
        assert!(
            dom.contains(kpi_name),
            "{lang}: the KPI's name in the language"
        );

        // Every KPI has its row, with the value and score of the result table, exactly.
        let values = without_run_id(
            std::fs::read(out.path().join(pmm_store::layout::audience_table(
                "secretariat",
                INDICATOR_VALUES.name,
            )))
            .unwrap(),
        );
        let table = member_rows(&values, "XA", &["indicator"], &["status", "value", "score"]);
        assert_eq!(table.len(), 29);
        let rows: BTreeSet<String> = attributes(&dom, "data-kpi").into_iter().collect();
        assert_eq!(rows.len(), 29, "every KPI has a row and a method");
        for (key, cells) in &table {
            let tags = tags_with(&dom, "data-kpi", &key[0]);
            let row = tags.iter().find(|t| t.starts_with("<tr")).unwrap();
            assert_eq!(
                attribute(row, "data-status"),
                Some(cells[0].as_str()),
                "{key:?}"
            );
            // The cells after the row's tag hold data-value and data-score.
            let at = dom.find(row).unwrap();
            let cells_html = &dom[at..at + dom[at..].find("</tr>").unwrap()];
            let shown = |name: &str| attribute(cells_html, name).unwrap().to_string();
            for (name, expected) in [("data-value", &cells[1]), ("data-score", &cells[2])] {
                let shown = shown(name);
                if expected == "null" {
                    assert_eq!(shown, "", "{key:?} {name}");
                } else {
                    assert_eq!(
                        shown.parse::<f64>().unwrap(),
                        expected.parse::<f64>().unwrap(),
                        "{key:?} {name}: the page and the table agree to the last bit"
                    );
                }
            }
        }
        // The disclosure preview names every score and KPI.
        assert_eq!(
            attributes(&dom, "data-kind")
                .iter()
                .filter(|k| *k == "kpi")
                .count(),
            29
        );
        assert!(dom.contains("id=\"public-sees\""));
        // Peers from the published run.
        assert!(dom.contains("id=\"chart-kpis\"") && dom.contains("class=\"marker\""));

        let desktop = out.path().join("desktop.png");
        let print = out.path().join("a4.png");
        browser.screenshot(&page, 1280, &desktop);
        browser.screenshot(&page, 794, &print);
        let pdf = out.path().join("report.pdf");
        browser.pdf(&page, &pdf);
        for file in [&desktop, &print, &pdf] {
            assert!(
                std::fs::metadata(file).unwrap().len() > 20_000,
                "{} is not empty",
                file.display()
            );
        }
        if let Some(keep) = std::env::var_os("PMM_KEEP_SCREENSHOTS") {
            for file in [&desktop, &print, &pdf] {
                let name = format!("{lang}-{}", file.file_name().unwrap().to_string_lossy());
                std::fs::copy(file, PathBuf::from(&keep).join(name)).unwrap();
            }
        }
    }
    assert_eq!(
        browser.page_requests(),
        Vec::<String>::new(),
        "the page requested something"
    );
}

/// Replaces whatever file a dataset has in a submission with `name` holding `bytes`.
fn replace_dataset(data: &Path, member: &str, dataset: &str, name: &str, bytes: &[u8]) {
    let folder = data.join(format!("member={member}/year=2024"));
    for entry in std::fs::read_dir(&folder).unwrap().flatten() {
        if entry.file_name().to_string_lossy().split('.').next() == Some(dataset) {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    std::fs::write(folder.join(name), bytes).unwrap();
}

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

/// An issue a report must show: member, file, rule, record, column.
type Expected = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Chromium: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[test]
fn every_fault_shows_in_the_report_with_its_file_record_and_column() {
    // The demo's faults, and those the end-to-end test adds.
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("submissions");
    copy_dir(&repo_root().join("examples/submissions"), &data);
    let parquet = std::fs::read(data.join("member=XB/year=2024/revenue.parquet"))
        .or_else(|_| std::fs::read(data.join("member=XA/year=2024/aeo_operators.parquet")))
        .unwrap();
    replace_dataset(
        &data,
        "XA",
        "audits",
        "audits.parquet",
        &parquet[..parquet.len() / 2],
    );
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    replace_dataset(&data, "XB", "info_requests", "info_requests.csv", &binary);
    replace_dataset(&data, "XD", "staff", "staff.csv", b"U1,10,5,100,1,50000\n");
    replace_dataset(
        &data,
        "XF",
        "controls",
        "controls.csv",
        b"control_id,controlled_on,target,selection,result\nC1,2024-01-01,drugs,random,\xff\xfe\n",
    );
    replace_dataset(
        &data,
        "XJ",
        "staff",
        "staff.csv",
        &vec![b'a'; 2 * 1024 * 1024],
    );

    // (member, file, rule, record, column) that each report must show.
    let expected: &[Expected] = &[
        ("XA", "year=2024/audits.parquet", "unreadable", None, None),
        (
            "XB",
            "year=2024/info_requests.csv",
            "unreadable",
            None,
            None,
        ),
        ("XC", "year=2024/manifest.yaml", "manifest", None, None),
        (
            "XD",
            "year=2024/staff.csv",
            "missing_column",
            None,
            Some("unit"),
        ),
        (
            "XE",
            "year=2024/declarations.csv",
            "enum",
            Some("10"),
            Some("flow"),
        ),
        (
            "XE",
            "year=2024/declarations.csv",
            "max_invalid_row_fraction",
            None,
            None,
        ),
        ("XF", "year=2024/controls.csv", "unreadable", None, None),
        ("XF", "year=2024/seizures.csv", "ambiguous", None, None),
        (
            "XG",
            "year=2024/controls.csv",
            "type",
            Some("20"),
            Some("controlled_on"),
        ),
        ("XH", "year=2024/revenue.csv.gz", "unreadable", None, None),
        // A 50 MB header line: past limits.max_record_bytes, not read further.
        ("XJ", "year=2024/staff.csv", "max_record_bytes", None, None),
    ];
    let browser = Browser::start();
    let members: BTreeSet<&str> = expected.iter().map(|e| e.0).collect();
    for member in members {
        let out = work.path().join(format!("out-{member}"));
        dry_run(&data, member, &out, &[]);
        let dom = browser.dom(&out.join("report.html"));
        let issues: Vec<&str> = tags_with(&dom, "class", "issue");
        for (_, file, rule, record, column) in expected.iter().filter(|e| e.0 == member) {
            let found = issues.iter().any(|tag| {
                attribute(tag, "data-file") == Some(*file)
                    && attribute(tag, "data-rule") == Some(*rule)
                    && record.is_none_or(|r| attribute(tag, "data-record") == Some(r))
                    && column.is_none_or(|c| attribute(tag, "data-column") == Some(c))
            });
            assert!(
                found,
                "{member}: no issue {rule} on {file} {record:?} {column:?}: {issues:#?}"
            );
        }
        // A rejected file is in the dataset table with its reason.
        assert!(dom.contains("id=\"datasets\""), "{member}");
    }
    assert_eq!(browser.page_requests(), Vec::<String>::new());
}

#[test]
fn the_public_report_holds_nothing_above_public() {
    let published = tempfile::tempdir().unwrap();
    let run = pmm(
        &repo_root(),
        &[
            "run",
            "pipelines/demo.yaml",
            "--results",
            published.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(0));
    let (tables, _) = local_tables(published.path());
    let all =
        &tables[pmm_store::layout::audience_table("secretariat", INDICATOR_VALUES.name).as_str()];
    // XE discloses some KPIs publicly and keeps others for WCO or the Secretariat.
    let levels = member_rows(all, "XE", &["indicator"], &["disclosure", "value"]);
    let hidden: Vec<&String> = levels
        .iter()
        .filter(|(_, v)| v[0] != "public")
        .map(|(k, _)| &k[0])
        .collect();
    assert!(
        !hidden.is_empty() && hidden.len() < levels.len(),
        "{levels:?}"
    );
    let out = tempfile::tempdir().unwrap();
    // XE's report for `audience`, its text unescaped.
    let report = |audience: &str| {
        let page = out.path().join(format!("{audience}.html"));
        let output = pmm(
            &repo_root(),
            &[
                "report",
                "--results",
                published.path().to_str().unwrap(),
                "--member",
                "XE",
                "--audience",
                audience,
                "--out",
                page.to_str().unwrap(),
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
        unescaped(&std::fs::read_to_string(&page).unwrap())
    };
    let html = report("public");
    for kpi in &hidden {
        assert!(
            !html.contains(&format!("\"{kpi}\"")),
            "hidden KPI {kpi} is in the public report"
        );
    }
    for level in attributes(&html, "data-disclosure") {
        assert_eq!(level, "public");
    }
    for level in attributes(&html, "data-level")
        .iter()
        .filter(|l| l.parse::<i64>().is_err())
    {
        assert_eq!(level, "public", "every score shown is disclosed public");
    }
    assert!(
        !html.contains("id=\"issues\""),
        "no issue text for the public"
    );
    assert!(
        !html.contains("is not one of"),
        "no issue message for the public"
    );
    // The Secretariat's report of the same run has the issues and every KPI.
    let html = report("secretariat");
    assert!(html.contains("id=\"issues\"") && html.contains("is not one of IM, EX, TR"));
    assert_eq!(
        attributes(&html, "data-kind")
            .iter()
            .filter(|k| *k == "kpi")
            .count(),
        29
    );
    // A dataset table from the staged entries the run left.
    assert!(
        html.contains("data-file=\"member=XE/year=2024/declarations.csv\""),
        "{}",
        &html[..200]
    );
}

#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs strace: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[test]
fn a_dry_run_opens_no_network_socket() {
    let out = tempfile::tempdir().unwrap();
    let trace = out.path().join("trace");
    let output = Command::new("strace")
        .args(["-f", "-e", "trace=socket,connect", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_pmm"))
        .args(["dry-run", "--member", "XA", "--data"])
        .arg(repo_root().join("examples/submissions"))
        .arg("--out")
        .arg(out.path().join("dry"))
        .current_dir(repo_root())
        .output()
        .expect("strace runs (.ci/run installs it)");
    assert!(output.status.success(), "{:?}", text(&output));
    let log = std::fs::read_to_string(&trace).unwrap();
    let network: Vec<&str> = log.lines().filter(|l| l.contains("AF_INET")).collect();
    assert!(
        network.is_empty(),
        "the dry run opened network sockets: {network:#?}"
    );
    assert!(out.path().join("dry/report.html").exists());

    // The same trace does see a program that opens one.
    let control = out.path().join("control");
    let traced = Command::new("strace")
        .args(["-f", "-e", "trace=socket,connect", "-o"])
        .arg(&control)
        .args([
            "python3",
            "-c",
            "import socket; socket.socket(socket.AF_INET)",
        ])
        .output()
        .unwrap();
    assert!(traced.status.success(), "{:?}", text(&traced));
    assert!(
        std::fs::read_to_string(&control)
            .unwrap()
            .contains("AF_INET")
    );
}

/// `pmm report` of a results location with two cycles (2024, then 2023 filled in): in headless
/// Chromium, the "Across cycles" section has a cell per KPI and year whose value is the
/// history's current value, marked restated exactly when the table says so.
#[cfg_attr(
    not(feature = "external-tests"),
    ignore = "needs Chromium: `bash .ci/run` runs it (cargo feature external-tests)"
)]
#[test]
fn the_report_shows_the_history_across_cycles_as_the_table_holds_it() {
    let browser = Browser::start();
    let work = tempfile::tempdir().unwrap();
    let results = work.path().join("results");
    let run = |year: &str| {
        let output = pmm(
            &repo_root(),
            &[
                "run",
                "pipelines/demo.yaml",
                "--results",
                results.to_str().unwrap(),
                "--year",
                year,
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    };
    run("2024");
    run("2023");
    let history = |format: &str| {
        pmm(
            &repo_root(),
            &[
                "history",
                "--results",
                results.to_str().unwrap(),
                "--member",
                "XA",
                "--format",
                format,
            ],
        )
    };
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&history("json").stdout).unwrap();
    let page = work.path().join("report.html");
    let output = pmm(
        &repo_root(),
        &[
            "report",
            "--results",
            results.to_str().unwrap(),
            "--member",
            "XA",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let dom = browser.dom(&page);
    assert!(dom.contains("Across cycles"), "the section is there");
    let mut checked = 0;
    for row in rows.iter().filter(|r| r["superseded_by"].is_null()) {
        let kpi = row["indicator"].as_str().unwrap();
        let year = row["year"].to_string();
        let line = dom
            .split("<tr class=\"cycle\"")
            .find(|l| l.starts_with(&format!(" data-kpi=\"{kpi}\"")))
            .unwrap_or_else(|| panic!("no line for {kpi}"));
        let cell = tags_with(line, "data-year", &year)[0];
        let shown = attribute(cell, "data-value").unwrap();
        match row["value"].as_f64() {
            Some(v) => assert_eq!(shown.parse::<f64>().unwrap(), v, "{kpi} {year}"),
            None => assert_eq!(shown, "", "{kpi} {year}"),
        }
        assert_eq!(
            attribute(cell, "data-restated"),
            Some(if row["change"] == "first" {
                "false"
            } else {
                "true"
            }),
            "{kpi} {year}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "{checked} cells");
    browser.screenshot(&page, 1200, &work.path().join("report.png"));
    assert!(
        std::fs::metadata(work.path().join("report.png"))
            .unwrap()
            .len()
            > 10_000
    );
}
