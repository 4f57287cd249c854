//! Loading and checking the catalog folder: `dimensions.yaml`, `outcomes.yaml`,
//! `datasets/*.yaml` (the dataset contracts) and one YAML file per indicator in a folder per
//! dimension (`tfec/electronic_declarations_rate.yaml`). Other top-level files, such as an
//! example `members.yaml`, are not part of the catalog and are left alone.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::model::{
    ColumnContract, ColumnRule, ColumnType, DatasetContract, DatasetUse, Dimension, Direction,
    Disclosure, Expectation, FixtureCase, Indicator, Outcome, Scoring, Status, Unit, YearRef,
};
use crate::problem::{Location, Problems};
use crate::yaml::{self, SourceText};
use crate::{is_member_code, read_text};

/// The whole catalog: every definition the engine and ingestion work from.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// The folder it was read from.
    pub root: PathBuf,
    /// The four dimensions, in file order.
    pub dimensions: Vec<Dimension>,
    /// Every expected outcome, in file order.
    pub outcomes: Vec<Outcome>,
    /// The dataset contracts, sorted by name.
    pub datasets: Vec<DatasetContract>,
    /// The indicators, sorted by id.
    pub indicators: Vec<Indicator>,
    /// SHA-256 over every file of the catalog (paths and contents), in path order.
    pub hash: String,
}

/// The name of the table every indicator may read besides its datasets: one row
/// (`member`, `year`, `dataset`) per dataset accepted in a submission, so SQL can tell a
/// submitted file with no rows from one that was never sent.
pub const SUBMITTED_TABLE: &str = "submitted";

impl Catalog {
    /// Loads and checks a catalog folder; any problem fails the load, with every problem found.
    pub fn load(root: &Path) -> Result<Catalog, Problems> {
        let (catalog, problems) = Catalog::load_lenient(root);
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(problems)
        }
    }

    /// Loads what can be loaded and returns it with every problem found, so a checker can go
    /// on to check the parts that are sound (the SQL of well-formed indicators, say).
    pub fn load_lenient(root: &Path) -> (Catalog, Problems) {
        let mut problems = Problems::new();
        let listed = catalog_files(root);
        let folder_readable = listed.is_ok();
        let files = listed.unwrap_or_else(|message| {
            problems.at(root, Location::START, message);
            Vec::new()
        });
        let mut texts = Vec::new();
        for path in files {
            match read_text(&path) {
                Ok(text) => texts.push((path, text)),
                Err(problem) => problems.push(problem),
            }
        }
        Catalog::check_texts(root, texts, folder_readable, problems)
    }

    /// A catalog from files already in memory (the one built into the `pmm` binary): `files`
    /// are (path under `root`, text); only the catalog's own files count (as for a folder,
    /// `dimensions.yaml`, `outcomes.yaml` and the YAML files one folder down).
    pub fn from_files(root: &Path, files: Vec<(PathBuf, String)>) -> Result<Catalog, Problems> {
        let texts = files
            .into_iter()
            .filter(|(path, _)| {
                let relative = path.strip_prefix(root).unwrap_or(path);
                match relative.components().count() {
                    1 => matches!(relative.to_str(), Some("dimensions.yaml" | "outcomes.yaml")),
                    2 => is_yaml(relative),
                    _ => false,
                }
            })
            .collect();
        let (catalog, problems) = Catalog::check_texts(root, texts, true, Problems::new());
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(problems)
        }
    }

    /// Checks the texts of a catalog's files, in path order.
    fn check_texts(
        root: &Path,
        mut texts: Vec<(PathBuf, String)>,
        folder_readable: bool,
        mut problems: Problems,
    ) -> (Catalog, Problems) {
        texts.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        for (path, text) in &texts {
            let relative = path.strip_prefix(root).unwrap_or(path);
            hasher.update(relative.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }

        let mut dimensions = Vec::new();
        let mut outcomes = Vec::new();
        let mut datasets = Vec::new();
        let mut indicators = Vec::new();
        let dimensions_path = root.join("dimensions.yaml");
        let outcomes_path = root.join("outcomes.yaml");
        // An unreadable folder is reported once, not once per file it lacks.
        for required in [&dimensions_path, &outcomes_path]
            .into_iter()
            .filter(|_| folder_readable)
        {
            if !texts.iter().any(|(p, _)| p == required) {
                problems.at(
                    required,
                    Location::START,
                    "missing: a catalog folder needs dimensions.yaml and outcomes.yaml",
                );
            }
        }
        for (path, text) in &texts {
            if *path == dimensions_path {
                dimensions = check_dimensions(path, text, &mut problems);
            } else if *path == outcomes_path {
                outcomes = check_outcomes(path, text, &mut problems);
            } else if path.parent().and_then(Path::file_name) == Some("datasets".as_ref()) {
                if let Some(d) = check_dataset(path, text, &mut problems) {
                    datasets.push(d);
                }
            } else if let Some(i) = parse_indicator(path, text, &mut problems) {
                indicators.push(i);
            }
        }

        let outcomes_text = texts
            .iter()
            .find(|(p, _)| *p == outcomes_path)
            .map(|(_, t)| t.as_str());
        if !dimensions.is_empty() {
            check_outcome_dimensions(
                &outcomes,
                &dimensions,
                &outcomes_path,
                outcomes_text.unwrap_or(""),
                &mut problems,
            );
        }
        unique(
            datasets.iter().map(|d| {
                (
                    d.name.as_str(),
                    root.join("datasets").join(format!("{}.yaml", d.name)),
                )
            }),
            "dataset",
            &texts,
            &mut problems,
        );
        datasets.sort_by(|a, b| a.name.cmp(&b.name));
        indicators.sort_by(|a, b| a.id.cmp(&b.id).then(a.path.cmp(&b.path)));
        check_indicators(
            &indicators,
            &dimensions,
            &outcomes,
            &datasets,
            &texts,
            &mut problems,
        );

        let catalog = Catalog {
            root: root.to_path_buf(),
            dimensions,
            outcomes,
            datasets,
            indicators,
            hash: hex(&hasher.finalize()),
        };
        (catalog, problems)
    }

    /// The dataset contract of that name.
    pub fn dataset(&self, name: &str) -> Option<&DatasetContract> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// The indicator of that id.
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// The outcome of that id.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.id == id)
    }

    /// The dimension of that id.
    pub fn dimension(&self, id: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.id == id)
    }
}

/// Every YAML file of a catalog folder: top-level `dimensions.yaml` and `outcomes.yaml`, and
/// every `*.yaml` one folder down.
fn catalog_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(root).map_err(|e| format!("cannot read the catalog folder: {e}"))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let Ok(inner) = std::fs::read_dir(&path) else {
                continue;
            };
            files.extend(
                inner
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| is_yaml(p) && p.is_file()),
            );
        } else if matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("dimensions.yaml" | "outcomes.yaml")
        ) {
            files.push(path);
        }
    }
    Ok(files)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DimensionsFile {
    dimensions: Vec<DimensionSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DimensionSpec {
    id: String,
    name: String,
    #[serde(default)]
    name_fr: Option<String>,
    #[serde(default = "one")]
    weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomesFile {
    outcomes: Vec<OutcomeSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeSpec {
    id: String,
    dimension: String,
    name: String,
    #[serde(default)]
    name_fr: Option<String>,
    #[serde(default = "one")]
    weight: f64,
}

fn check_weight(weight: f64, what: &str, path: &Path, location: Location, problems: &mut Problems) {
    if !(weight.is_finite() && weight > 0.0) {
        problems.at(
            path,
            location,
            format!("{what} weight must be a number above 0, not {weight}"),
        );
    }
}

fn check_dimensions(path: &Path, text: &str, problems: &mut Problems) -> Vec<Dimension> {
    let file: DimensionsFile = match yaml::parse(path, text) {
        Ok(f) => f,
        Err(p) => {
            problems.push(p);
            return Vec::new();
        }
    };
    let source = SourceText::new(text);
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for (i, d) in file.dimensions.into_iter().enumerate() {
        let at = source.item("dimensions", i);
        if !is_identifier(&d.id) {
            problems.at(
                path,
                at,
                format!(
                    "dimension id `{}` must be lower-case letters, digits and `_`",
                    d.id
                ),
            );
        }
        if let Some(first) = seen.insert(d.id.clone(), at.line) {
            problems.at(
                path,
                at,
                format!(
                    "duplicate dimension id `{}` (first defined on line {first})",
                    d.id
                ),
            );
        }
        check_weight(d.weight, "dimension", path, at, problems);
        out.push(Dimension {
            id: d.id,
            name: d.name,
            name_fr: d.name_fr,
            weight: d.weight,
        });
    }
    out
}

fn check_outcomes(path: &Path, text: &str, problems: &mut Problems) -> Vec<Outcome> {
    let file: OutcomesFile = match yaml::parse(path, text) {
        Ok(f) => f,
        Err(p) => {
            problems.push(p);
            return Vec::new();
        }
    };
    let source = SourceText::new(text);
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for (i, o) in file.outcomes.into_iter().enumerate() {
        let at = source.item("outcomes", i);
        if o.id.split_once('.').map(|(d, _)| d) != Some(o.dimension.as_str()) {
            problems.at(
                path,
                at,
                format!(
                    "outcome id `{}` must start with its dimension: `{}.<name>`",
                    o.id, o.dimension
                ),
            );
        }
        if let Some(first) = seen.insert(o.id.clone(), at.line) {
            problems.at(
                path,
                at,
                format!(
                    "duplicate outcome id `{}` (first defined on line {first})",
                    o.id
                ),
            );
        }
        check_weight(o.weight, "outcome", path, at, problems);
        out.push(Outcome {
            id: o.id,
            dimension: o.dimension,
            name: o.name,
            name_fr: o.name_fr,
            weight: o.weight,
        });
    }
    out
}

/// Every outcome's dimension must exist. Skipped when no dimension loaded: that is already
/// reported, and every outcome would repeat it.
fn check_outcome_dimensions(
    outcomes: &[Outcome],
    dimensions: &[Dimension],
    outcomes_path: &Path,
    text: &str,
    problems: &mut Problems,
) {
    let source = SourceText::new(text);
    for (i, o) in outcomes.iter().enumerate() {
        if !dimensions.iter().any(|d| d.id == o.dimension) {
            problems.at(
                outcomes_path,
                source.item("outcomes", i),
                format!(
                    "outcome `{}` names dimension `{}`, which dimensions.yaml does not define",
                    o.id, o.dimension
                ),
            );
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetSpec {
    name: String,
    description: String,
    key: Vec<String>,
    #[serde(default)]
    year_column: Option<String>,
    columns: Vec<ColumnSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnSpec {
    name: String,
    #[serde(rename = "type")]
    column_type: ColumnType,
    #[serde(default)]
    values: Option<Vec<String>>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
    #[serde(default)]
    within_year: bool,
    #[serde(default)]
    not_after_year_end: bool,
    #[serde(default)]
    first_of_month: bool,
    #[serde(default)]
    required_with: Option<String>,
}

fn check_dataset(path: &Path, text: &str, problems: &mut Problems) -> Option<DatasetContract> {
    let spec: DatasetSpec = match yaml::parse(path, text) {
        Ok(s) => s,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let source = SourceText::new(text);
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if spec.name != stem {
        problems.at(
            path,
            source.key(&["name"]),
            format!(
                "dataset `{}` must be defined in a file named `{}.yaml`",
                spec.name, spec.name
            ),
        );
    }
    if !is_identifier(&spec.name) {
        problems.at(
            path,
            source.key(&["name"]),
            "a dataset name must be lower-case letters, digits and `_`",
        );
    }
    let names: Vec<&str> = spec.columns.iter().map(|c| c.name.as_str()).collect();
    let type_of = |name: &str| {
        spec.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.column_type.clone())
    };
    let mut columns = Vec::new();
    let mut seen = HashSetWithLine::default();
    for (i, c) in spec.columns.iter().enumerate() {
        let at = source.item("columns", i);
        let mut complain =
            |message: String| problems.at(path, at, format!("column `{}`: {message}", c.name));
        if !is_identifier(&c.name) || c.name == "member" || c.name == "year" {
            complain("a column name must be lower-case letters, digits and `_`, and not `member` or `year` (the engine adds those)".into());
        }
        if let Some(first) = seen.insert(&c.name, at.line) {
            complain(format!("defined twice (first on line {first})"));
        }
        match (&c.column_type, &c.values) {
            (ColumnType::Enum, None) => complain("an enum column needs `values`".into()),
            (ColumnType::Enum, Some(v)) if v.is_empty() => {
                complain("an enum column needs at least one value".into())
            }
            (t, Some(_)) if *t != ColumnType::Enum => {
                complain("`values` is only for enum columns".into())
            }
            _ => {}
        }
        let mut rules = Vec::new();
        if let Some(min) = c.min {
            if !matches!(c.column_type, ColumnType::Int | ColumnType::Decimal) {
                complain("`min` is only for int and decimal columns".into());
            }
            rules.push(ColumnRule::Min(min));
        }
        for (other, rule) in [
            (
                &c.not_before,
                c.not_before.clone().map(ColumnRule::NotBefore),
            ),
            (&c.not_after, c.not_after.clone().map(ColumnRule::NotAfter)),
        ] {
            let (Some(other), Some(rule)) = (other, rule) else {
                continue;
            };
            match type_of(other) {
                None => complain(format!(
                    "`{}` names column `{other}`, which this dataset does not have",
                    rule.id()
                )),
                Some(t)
                    if t != c.column_type && !(is_numeric(&t) && is_numeric(&c.column_type)) =>
                {
                    complain(format!(
                        "`{}` compares with `{other}`, a {t} column; both must have the same type",
                        rule.id()
                    ))
                }
                Some(_) if !is_ordered(&c.column_type) => complain(format!(
                    "`{}` is only for numbers, dates and timestamps",
                    rule.id()
                )),
                Some(_) => rules.push(rule),
            }
        }
        for (flag, rule) in [
            (c.within_year, ColumnRule::WithinYear),
            (c.not_after_year_end, ColumnRule::NotAfterYearEnd),
        ] {
            if flag {
                if !matches!(c.column_type, ColumnType::Date | ColumnType::Timestamp) {
                    complain(format!(
                        "`{}` is only for date and timestamp columns",
                        rule.id()
                    ));
                }
                rules.push(rule);
            }
        }
        if c.first_of_month {
            if c.column_type != ColumnType::Date {
                complain("`first_of_month` is only for date columns".into());
            }
            rules.push(ColumnRule::FirstOfMonth);
        }
        if let Some(other) = &c.required_with {
            if !names.contains(&other.as_str()) {
                complain(format!(
                    "`required_with` names column `{other}`, which this dataset does not have"
                ));
            }
            if c.required {
                complain("`required_with` makes no sense on a required column".into());
            }
            rules.push(ColumnRule::RequiredWith(other.clone()));
        }
        columns.push(ColumnContract {
            name: c.name.clone(),
            column_type: c.column_type.clone(),
            values: c.values.clone().unwrap_or_default(),
            required: c.required,
            rules,
            description: c.description.clone(),
        });
    }
    if spec.key.is_empty() {
        problems.at(
            path,
            source.key(&["key"]),
            "a dataset needs a key: the columns that identify a row",
        );
    }
    for k in &spec.key {
        match spec.columns.iter().find(|c| &c.name == k) {
            None => problems.at(
                path,
                source.key(&["key"]),
                format!("key column `{k}` is not a column of this dataset"),
            ),
            Some(c) if !c.required => problems.at(
                path,
                source.key(&["key"]),
                format!("key column `{k}` must be required"),
            ),
            Some(_) => {}
        }
    }
    if let Some(y) = &spec.year_column {
        match type_of(y) {
            None => problems.at(
                path,
                source.key(&["year_column"]),
                format!("year column `{y}` is not a column of this dataset"),
            ),
            Some(ColumnType::Date | ColumnType::Timestamp) => {}
            Some(t) => problems.at(
                path,
                source.key(&["year_column"]),
                format!("year column `{y}` is a {t} column; it must be a date or a timestamp"),
            ),
        }
    }
    Some(DatasetContract {
        name: spec.name,
        description: spec.description,
        key: spec.key,
        year_column: spec.year_column,
        columns,
    })
}

fn is_numeric(t: &ColumnType) -> bool {
    matches!(t, ColumnType::Int | ColumnType::Decimal)
}

fn is_ordered(t: &ColumnType) -> bool {
    matches!(
        t,
        ColumnType::Int | ColumnType::Decimal | ColumnType::Date | ColumnType::Timestamp
    )
}

#[derive(Default)]
struct HashSetWithLine<'a>(HashMap<&'a str, usize>);

impl<'a> HashSetWithLine<'a> {
    fn insert(&mut self, key: &'a str, line: usize) -> Option<usize> {
        match self.0.get(key) {
            Some(first) => Some(*first),
            None => {
                self.0.insert(key, line);
                None
            }
        }
    }
}

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
fn parse_indicator(path: &Path, text: &str, problems: &mut Problems) -> Option<Indicator> {
    let spec: IndicatorSpec = match yaml::parse(path, text) {
        Ok(s) => s,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let source = SourceText::new(text);
    let mut complain =
        |keys: &[&str], message: String| problems.at(path, source.key(keys), message);

    let id_ok = spec
        .id
        .split_once('.')
        .is_some_and(|(d, n)| is_identifier(d) && is_identifier(n));
    if !id_ok {
        complain(
            &["id"],
            format!(
                "indicator id `{}` must be `<dimension>.<name>` in lower case",
                spec.id
            ),
        );
    } else if !spec.id.starts_with(&format!("{}.", spec.dimension)) {
        complain(
            &["id"],
            format!(
                "indicator id `{}` must start with its dimension `{}.`",
                spec.id, spec.dimension
            ),
        );
    }
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|f| f.to_str());
    if folder != Some(spec.dimension.as_str()) {
        complain(
            &["dimension"],
            format!(
                "an indicator of dimension `{}` belongs in the `{}/` folder, not `{}/`",
                spec.dimension,
                spec.dimension,
                folder.unwrap_or("")
            ),
        );
    }
    let scoring = match (spec.direction, spec.scoring) {
        (Direction::Informational, Some(_)) => {
            complain(&["scoring"], "an informational indicator is not scored: remove `scoring`, or give it a direction".into());
            None
        }
        (Direction::Informational, None) => None,
        (direction, None) => {
            complain(
                &["direction"],
                format!("a {direction} indicator needs `scoring: {{floor, target}}`"),
            );
            None
        }
        (direction, Some(s)) => {
            if !(s.floor.is_finite() && s.target.is_finite()) {
                complain(
                    &["scoring"],
                    "floor and target must be finite numbers".into(),
                );
            } else if s.floor == s.target {
                complain(
                    &["scoring", "target"],
                    format!(
                        "scoring floor and target are both {}: the score would divide by zero",
                        s.floor
                    ),
                );
            } else if direction == Direction::HigherIsBetter && s.floor > s.target {
                complain(
                    &["scoring", "target"],
                    format!(
                        "higher_is_better needs floor < target (floor {}, target {})",
                        s.floor, s.target
                    ),
                );
            } else if direction == Direction::LowerIsBetter && s.floor < s.target {
                complain(
                    &["scoring", "target"],
                    format!(
                        "lower_is_better needs floor > target (floor {}, target {})",
                        s.floor, s.target
                    ),
                );
            }
            if !(s.weight.is_finite() && s.weight > 0.0) {
                complain(
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
    };
    if spec.sql.trim().is_empty() {
        complain(&["sql"], "the SQL is empty".into());
    }
    let mut datasets: Vec<DatasetUse> = Vec::new();
    for d in spec.datasets {
        if d.years.is_empty() {
            problems.at(
                path,
                source.text_after_key("datasets", &d.name),
                format!("dataset `{}`: `years` must name T, T-1 or both", d.name),
            );
        }
        if datasets.iter().any(|x| x.name == d.name) {
            problems.at(
                path,
                source.text_after_key("datasets", &d.name),
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
        problems.at(
            path,
            source.key(&["datasets"]),
            "an indicator must read at least one dataset",
        );
    }

    let mut tests = Vec::new();
    for case in spec.tests {
        let at = source.text_after_key("tests", &format!("name: {}", case.name));
        let mut expect = BTreeMap::new();
        for (member, e) in case.expect {
            let status = match (e.status, e.value) {
                (Some(Status::Ok) | None, Some(_)) => Status::Ok,
                (Some(Status::Ok) | None, None) => {
                    problems.at(path, at, format!("test `{}`: expectation for {member} needs a `value` or a non-ok `status`", case.name));
                    continue;
                }
                (Some(status), None) => status,
                (Some(status), Some(_)) => {
                    problems.at(path, at, format!("test `{}`: expectation for {member} has status {status} and a value; only ok carries a value", case.name));
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
                problems.at(path, at, format!("test `{}`: `{member}` is not a member code (two or three capitals and digits, such as XA)", case.name));
            }
        }
        if expect.is_empty() {
            problems.at(
                path,
                at,
                format!("test `{}` expects nothing: add `expect`", case.name),
            );
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
        problems.at(
            path,
            source.key(&["id"]),
            "an indicator needs fixture `tests`: a normal case and an edge case",
        );
    } else if !tests.iter().any(|t| {
        t.expect
            .values()
            .any(|e| matches!(e.status, Status::Undefined | Status::MissingData))
    }) {
        problems.at(
            path,
            source.key(&["tests"]),
            "the tests need an edge case: one that expects `undefined` (zero denominator, zero rows) or `missing_data`",
        );
    }

    let sql_origin = source
        .block_start("sql")
        .unwrap_or((source.key(&["sql"]).line, 0));
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
        path: path.to_path_buf(),
        sql_origin,
        definition_hash: hex(&Sha256::digest(text.as_bytes())),
    })
}

/// Checks that need the whole catalog: unique ids and references that resolve.
fn check_indicators(
    indicators: &[Indicator],
    dimensions: &[Dimension],
    outcomes: &[Outcome],
    datasets: &[DatasetContract],
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
        if !dimensions.iter().any(|d| d.id == i.dimension) {
            problems.at(
                &i.path,
                source.key(&["dimension"]),
                format!(
                    "dimension `{}` is not defined in dimensions.yaml",
                    i.dimension
                ),
            );
        }
        match outcomes.iter().find(|o| o.id == i.outcome) {
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
            if !datasets.iter().any(|c| c.name == d.name) {
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

/// Reports every id defined more than once, at each later definition.
fn unique<'a>(
    items: impl Iterator<Item = (&'a str, PathBuf)>,
    what: &str,
    texts: &[(PathBuf, String)],
    problems: &mut Problems,
) {
    let mut first: BTreeMap<&str, PathBuf> = BTreeMap::new();
    for (id, path) in items {
        match first.get(id) {
            Some(earlier) => {
                let text = texts
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, t)| t.as_str())
                    .unwrap_or("");
                let key = if what == "dataset" { "name" } else { "id" };
                problems.at(
                    &path,
                    SourceText::new(text).key(&[key]),
                    format!(
                        "duplicate {what} id `{id}`: already defined in {}",
                        earlier.display()
                    ),
                );
            }
            None => {
                first.insert(id, path);
            }
        }
    }
}

/// Lower-case ASCII letters, digits and `_`, starting with a letter.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
