//! `<dimension>/<id>.yaml`: one indicator per file (its place in the tree, unit, direction,
//! scoring band, the datasets and years it reads, SQL, and fixture tests). The checks within
//! one file are cut by the question they answer: identity, scoring, datasets, fixtures; then
//! [`check_indicators`] resolves references across the whole catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{is_identifier, one, unique};
use crate::is_member_code;
use crate::model::{
    DatasetContract, DatasetUse, Dimension, Direction, Disclosure, Expectation, FixtureCase,
    Indicator, Outcome, Scoring, Status, Unit, YearRef,
};
use crate::problem::{Location, Problems};
use crate::yaml::{self, SourceText};

use super::{review, revisions};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorSpec {
    id: String,
    name: String,
    #[serde(default)]
    name_fr: Option<String>,
    official: bool,
    dimension: String,
    outcome: String,
    unit: Unit,
    direction: Direction,
    datasets: Vec<DatasetUseSpec>,
    #[serde(default)]
    disclosure_default: Option<Disclosure>,
    #[serde(default)]
    scoring: Option<ScoringSpec>,
    formula: String,
    description: String,
    sql: String,
    #[serde(default)]
    tests: Vec<FixtureSpec>,
    #[serde(default)]
    revisions: Vec<revisions::RevisionSpec>,
    #[serde(default)]
    review: Option<review::IndicatorReviewSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetUseSpec {
    name: String,
    years: Vec<YearRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoringSpec {
    floor: f64,
    target: f64,
    #[serde(default = "one")]
    weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureSpec {
    name: String,
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    not_applicable: Vec<String>,
    #[serde(default)]
    given: BTreeMap<String, BTreeMap<YearRef, BTreeMap<String, String>>>,
    expect: BTreeMap<String, ExpectSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSpec {
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    numerator: Option<f64>,
    #[serde(default)]
    denominator: Option<f64>,
    #[serde(default)]
    tolerance: Option<f64>,
}

/// The reporting year of a fixture case when it does not name one.
pub const DEFAULT_FIXTURE_YEAR: i32 = 2024;

/// Parses one indicator file and checks what can be checked within the file alone.
pub(super) fn parse_indicator(
    path: &Path,
    text: &str,
    problems: &mut Problems,
) -> Option<Indicator> {
    let spec: IndicatorSpec = match yaml::parse(path, text) {
        Ok(s) => s,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let file = File {
        path,
        source: SourceText::new(text),
    };
    check_identity(&spec, &file, problems);
    let scoring = check_scoring(spec.direction, spec.scoring.as_ref(), &file, problems);
    if spec.sql.trim().is_empty() {
        file.complain(problems, &["sql"], "the SQL is empty");
    }
    let datasets = check_dataset_uses(spec.datasets, &file, problems);
    let tests = check_fixtures(spec.tests, &file, problems);
    let revisions = revisions::check(spec.revisions, &file, problems);
    let review = review::indicator(spec.review, path, &file.source, problems);
    // The definition is the file without its plausibility bounds: changing them changes no
    // value, so it neither restates a value nor breaks a series.
    let defined = file.source.without_top_level_key("review");

    let sql_origin = file
        .source
        .block_start("sql")
        .unwrap_or((file.source.key(&["sql"]).line, 0));
    Some(Indicator {
        id: spec.id,
        name: spec.name,
        name_fr: spec.name_fr,
        official: spec.official,
        dimension: spec.dimension,
        outcome: spec.outcome,
        unit: spec.unit,
        direction: spec.direction,
        datasets,
        disclosure_default: spec.disclosure_default,
        scoring,
        formula: spec.formula,
        description: spec.description,
        sql: spec.sql,
        tests,
        revisions,
        review,
        path: path.to_path_buf(),
        sql_origin,
        definition_hash: format!(
            "{:x}",
            Sha256::digest(defined.as_deref().unwrap_or(text).as_bytes())
        ),
    })
}

/// The indicator file being checked, to place each problem at a key of it.
pub(super) struct File<'a> {
    pub(super) path: &'a Path,
    pub(super) source: SourceText<'a>,
}

impl File<'_> {
    fn complain(&self, problems: &mut Problems, keys: &[&str], message: impl Into<String>) {
        problems.at(self.path, self.source.key(keys), message.into());
    }
}

/// Whether the id is `<dimension>.<name>` and the file sits in its dimension's folder.
fn check_identity(spec: &IndicatorSpec, file: &File, problems: &mut Problems) {
    let id_ok = spec
        .id
        .split_once('.')
        .is_some_and(|(d, n)| is_identifier(d) && is_identifier(n));
    if !id_ok {
        file.complain(
            problems,
            &["id"],
            format!(
                "indicator id `{}` must be `<dimension>.<name>` in lower case",
                spec.id
            ),
        );
    } else if !spec.id.starts_with(&format!("{}.", spec.dimension)) {
        file.complain(
            problems,
            &["id"],
            format!(
                "indicator id `{}` must start with its dimension `{}.`",
                spec.id, spec.dimension
            ),
        );
    }
    let folder = file
        .path
        .parent()
        .and_then(Path::file_name)
        .and_then(|f| f.to_str());
    if folder != Some(spec.dimension.as_str()) {
        file.complain(
            problems,
            &["dimension"],
            format!(
                "an indicator of dimension `{}` belongs in the `{}/` folder, not `{}/`",
                spec.dimension,
                spec.dimension,
                folder.unwrap_or("")
            ),
        );
    }
}

/// Whether the direction and the scoring band agree: a scored indicator has a finite band that
/// points the direction's way and a positive weight; an informational one has none.
fn check_scoring(
    direction: Direction,
    scoring: Option<&ScoringSpec>,
    file: &File,
    problems: &mut Problems,
) -> Option<Scoring> {
    let s = match (direction, scoring) {
        (Direction::Informational, Some(_)) => {
            file.complain(
                problems,
                &["scoring"],
                "an informational indicator is not scored: remove `scoring`, or give it a direction",
            );
            return None;
        }
        (Direction::Informational, None) => return None,
        (direction, None) => {
            file.complain(
                problems,
                &["direction"],
                format!("a {direction} indicator needs `scoring: {{floor, target}}`"),
            );
            return None;
        }
        (_, Some(s)) => s,
    };
    if !(s.floor.is_finite() && s.target.is_finite()) {
        file.complain(
            problems,
            &["scoring"],
            "floor and target must be finite numbers",
        );
    } else if s.floor == s.target {
        file.complain(
            problems,
            &["scoring", "target"],
            format!(
                "scoring floor and target are both {}: the score would divide by zero",
                s.floor
            ),
        );
    } else if direction == Direction::HigherIsBetter && s.floor > s.target {
        file.complain(
            problems,
            &["scoring", "target"],
            format!(
                "higher_is_better needs floor < target (floor {}, target {})",
                s.floor, s.target
            ),
        );
    } else if direction == Direction::LowerIsBetter && s.floor < s.target {
        file.complain(
            problems,
            &["scoring", "target"],
            format!(
                "lower_is_better needs floor > target (floor {}, target {})",
                s.floor, s.target
            ),
        );
    }
    if !(s.weight.is_finite() && s.weight > 0.0) {
        file.complain(
            problems,
            &["scoring", "weight"],
            format!("weight must be a number above 0, not {}", s.weight),
        );
    }
    Some(Scoring {
        floor: s.floor,
        target: s.target,
        weight: s.weight,
    })
}

/// The datasets the indicator reads: at least one, each once, each with its years.
fn check_dataset_uses(
    uses: Vec<DatasetUseSpec>,
    file: &File,
    problems: &mut Problems,
) -> Vec<DatasetUse> {
    let mut datasets: Vec<DatasetUse> = Vec::new();
    for d in uses {
        let at = file.source.text_after_key("datasets", &d.name);
        if d.years.is_empty() {
            problems.at(
                file.path,
                at,
                format!("dataset `{}`: `years` must name T, T-1 or both", d.name),
            );
        }
        if datasets.iter().any(|x| x.name == d.name) {
            problems.at(
                file.path,
                at,
                format!("dataset `{}` is listed twice", d.name),
            );
            continue;
        }
        let mut years = d.years;
        years.sort();
        years.dedup();
        datasets.push(DatasetUse {
            name: d.name,
            years,
        });
    }
    if datasets.is_empty() {
        file.complain(
            problems,
            &["datasets"],
            "an indicator must read at least one dataset",
        );
    }
    datasets
}

/// The fixture tests: each expectation is a value or a non-ok status (not both), members are
/// member codes, and among the cases is an edge case (undefined or missing data).
fn check_fixtures(
    cases: Vec<FixtureSpec>,
    file: &File,
    problems: &mut Problems,
) -> Vec<FixtureCase> {
    let mut tests = Vec::new();
    // An expectation that is itself wrong is reported; the file's cases are then not judged
    // as a whole (the missing edge case may be the one that was wrong).
    let mut unsound = false;
    for case in cases {
        let at = file
            .source
            .text_after_key("tests", &format!("name: {}", case.name));
        let mut complain = |message: String| problems.at(file.path, at, message);
        let expects_something = !case.expect.is_empty();
        let mut expect = BTreeMap::new();
        for (member, e) in case.expect {
            let status = match (e.status, e.value) {
                (Some(Status::Ok) | None, Some(_)) => Status::Ok,
                (Some(Status::Ok) | None, None) => {
                    complain(format!(
                        "test `{}`: expectation for {member} needs a `value` or a non-ok `status`",
                        case.name
                    ));
                    unsound = true;
                    continue;
                }
                (Some(status), None) => status,
                (Some(status), Some(_)) => {
                    complain(format!(
                        "test `{}`: expectation for {member} has status {status} and a value; only ok carries a value",
                        case.name
                    ));
                    unsound = true;
                    continue;
                }
            };
            expect.insert(
                member,
                Expectation {
                    status,
                    value: e.value,
                    numerator: e.numerator,
                    denominator: e.denominator,
                    tolerance: e.tolerance.unwrap_or(1e-9),
                },
            );
        }
        for member in case
            .given
            .keys()
            .chain(expect.keys())
            .chain(case.not_applicable.iter())
        {
            if !is_member_code(member) {
                complain(format!(
                    "test `{}`: `{member}` is not a member code (two or three capitals and digits, such as XA)",
                    case.name
                ));
            }
        }
        if !expects_something {
            complain(format!(
                "test `{}` expects nothing: add `expect`",
                case.name
            ));
        }
        tests.push(FixtureCase {
            name: case.name,
            year: case.year.unwrap_or(DEFAULT_FIXTURE_YEAR),
            not_applicable: case.not_applicable,
            given: case.given,
            expect,
            line: at.line,
        });
    }
    if tests.is_empty() {
        file.complain(
            problems,
            &["id"],
            "an indicator needs fixture `tests`: a normal case and an edge case",
        );
    } else if !unsound
        && !tests.iter().any(|t| {
            t.expect
                .values()
                .any(|e| matches!(e.status, Status::Undefined | Status::MissingData))
        })
    {
        file.complain(
            problems,
            &["tests"],
            "the tests need an edge case: one that expects `undefined` (zero denominator, zero rows) or `missing_data`",
        );
    }
    tests
}

/// What the rest of the catalog defines, for the checks across files.
pub(super) struct Known<'a> {
    pub dimensions: &'a [Dimension],
    pub outcomes: &'a [Outcome],
    pub datasets: &'a [DatasetContract],
    /// Dataset files that did not parse (by file stem): already reported.
    pub broken_datasets: &'a [String],
}

/// Checks that need the whole catalog: unique ids and references that resolve. A missing
/// `dimensions.yaml` or `outcomes.yaml` is reported once, not again for every indicator.
pub(super) fn check_indicators(
    indicators: &[Indicator],
    known: &Known,
    texts: &[(PathBuf, String)],
    problems: &mut Problems,
) {
    unique(
        indicators.iter().map(|i| (i.id.as_str(), i.path.clone())),
        "indicator",
        texts,
        problems,
    );
    for i in indicators {
        let text = texts
            .iter()
            .find(|(p, _)| *p == i.path)
            .map(|(_, t)| t.as_str())
            .unwrap_or("");
        let source = SourceText::new(text);
        if !known.dimensions.is_empty() && !known.dimensions.iter().any(|d| d.id == i.dimension) {
            problems.at(
                &i.path,
                source.key(&["dimension"]),
                format!(
                    "dimension `{}` is not defined in dimensions.yaml",
                    i.dimension
                ),
            );
        }
        match known.outcomes.iter().find(|o| o.id == i.outcome) {
            None if known.outcomes.is_empty() => {}
            None => problems.at(
                &i.path,
                source.key(&["outcome"]),
                format!("outcome `{}` is not defined in outcomes.yaml", i.outcome),
            ),
            Some(o) if o.dimension != i.dimension => problems.at(
                &i.path,
                source.key(&["outcome"]),
                format!(
                    "outcome `{}` belongs to dimension `{}`, not `{}`",
                    i.outcome, o.dimension, i.dimension
                ),
            ),
            Some(_) => {}
        }
        for d in &i.datasets {
            if !known.datasets.iter().any(|c| c.name == d.name)
                && !known.broken_datasets.contains(&d.name)
            {
                problems.at(
                    &i.path,
                    source.text_after_key("datasets", &d.name),
                    format!("dataset `{}` is not defined under datasets/", d.name),
                );
            }
        }
        // Rows for a year the indicator does not read are allowed: a run's tables hold T and
        // T-1 together, and a fixture may show that the SQL leaves the other year alone.
        for case in &i.tests {
            for (member, years) in &case.given {
                for dataset in years.values().flat_map(|data| data.keys()) {
                    if !i.datasets.iter().any(|d| &d.name == dataset) {
                        problems.at(&i.path, Location::new(case.line, 1), format!(
                            "test `{}`: gives {member} rows of `{dataset}`, which the indicator does not read (add it to `datasets`)",
                            case.name
                        ));
                    }
                }
            }
        }
    }
}
