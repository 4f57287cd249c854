//! The checked catalog: dimensions, outcomes, dataset contracts and indicators, as the engine
//! and ingestion use them. Built by [`crate::Catalog::load`]; never parsed directly.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A performance dimension (`tfec`, `rc`, `esps`, `od`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    /// Short id, also the folder of its indicators.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Full name in French, when the catalog gives one.
    pub name_fr: Option<String>,
    /// Weight; kept as data, the overall score is an unweighted mean of dimensions.
    pub weight: f64,
}

/// An expected outcome: a group of indicators within one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// `dimension.name`.
    pub id: String,
    /// The dimension it belongs to.
    pub dimension: String,
    /// Full name.
    pub name: String,
    /// Full name in French, when the catalog gives one.
    pub name_fr: Option<String>,
    /// Weight of this outcome in its dimension's score.
    pub weight: f64,
}

/// The type of a dataset column, as the contract states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    /// `true`/`false`/`1`/`0`.
    Bool,
    /// 64-bit signed integer.
    Int,
    /// A decimal number, read as a 64-bit float.
    Decimal,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO 8601 date and time; without an offset it is read as UTC.
    Timestamp,
    /// One of a listed set of strings.
    Enum,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ColumnType::String => "string",
            ColumnType::Bool => "bool",
            ColumnType::Int => "int",
            ColumnType::Decimal => "decimal",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Enum => "enum",
        };
        f.write_str(name)
    }
}

/// A rule a column's non-null values must follow. Its [`ColumnRule::id`] is the `rule` of a
/// validation issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ColumnRule {
    /// `value >= min`.
    Min(f64),
    /// `value >= other column` when both are present.
    NotBefore(String),
    /// `value <= other column` when both are present.
    NotAfter(String),
    /// The value falls inside the submission's year.
    WithinYear,
    /// The value is on or before the 31st of December of the submission's year.
    NotAfterYearEnd,
    /// The date is the first day of a month.
    FirstOfMonth,
    /// This column is required (no null) in rows where the other column is present.
    RequiredWith(String),
}

impl ColumnRule {
    /// The rule's id, as written in validation issues.
    pub fn id(&self) -> &'static str {
        match self {
            ColumnRule::Min(_) => "min",
            ColumnRule::NotBefore(_) => "not_before",
            ColumnRule::NotAfter(_) => "not_after",
            ColumnRule::WithinYear => "within_year",
            ColumnRule::NotAfterYearEnd => "not_after_year_end",
            ColumnRule::FirstOfMonth => "first_of_month",
            ColumnRule::RequiredWith(_) => "required_with",
        }
    }
}

/// One column of a dataset contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnContract {
    /// The column name, matched exactly against file headers.
    pub name: String,
    /// Its type.
    pub column_type: ColumnType,
    /// The allowed values of an `enum` column (empty otherwise).
    pub values: Vec<String>,
    /// Required: the column must be present and hold no null.
    pub required: bool,
    /// The value rules, checked on every row.
    pub rules: Vec<ColumnRule>,
    /// What the column means.
    pub description: Option<String>,
}

/// What a dataset file must hold: the columns, keys, rules and year column of one of the
/// eight datasets members submit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetContract {
    /// The dataset name, also the file stem members use (`declarations.csv`).
    pub name: String,
    /// What a row is.
    pub description: String,
    /// Columns whose values together are unique within a file.
    pub key: Vec<String>,
    /// The column whose value must fall inside the submission's year, if any.
    pub year_column: Option<String>,
    /// Every column of the contract, in contract order.
    pub columns: Vec<ColumnContract>,
    /// What the plausibility review accepts of its valid row count from year to year. Not
    /// serialized: an input's fingerprint holds its contract, and review bounds do not decide
    /// what reading it gives (tuning them re-reads nothing).
    #[serde(skip)]
    pub review: DatasetReview,
}

/// A dataset's `review:`: its valid row count is flagged (`count_change`) when it changed by
/// more than `max_count_change` (relatively) from the year before and one of the two counts is
/// at least `min_count`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DatasetReview {
    /// The largest relative change not flagged (0.5: 50 %).
    pub max_count_change: f64,
    /// Below this on both years, a change is not flagged (small datasets move a lot).
    pub min_count: u64,
}

impl Default for DatasetReview {
    fn default() -> Self {
        DatasetReview {
            max_count_change: 0.5,
            min_count: 100,
        }
    }
}

/// An indicator's `review:`: what is plausible for its value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct IndicatorReview {
    /// Values outside `[low, high]` are flagged (`outside_range`).
    pub range: Option<(f64, f64)>,
    /// A relative change from the member's previous year above this is flagged
    /// (`value_change`).
    pub max_change: Option<f64>,
}

impl DatasetContract {
    /// The contract column of that name.
    pub fn column(&self, name: &str) -> Option<&ColumnContract> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Which year's submission an indicator reads: the reporting year T or the year before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum YearRef {
    /// The reporting year.
    #[serde(rename = "T")]
    T,
    /// The year before the reporting year.
    #[serde(rename = "T-1")]
    TMinus1,
}

impl YearRef {
    /// The calendar year this reference means for reporting year `year`.
    pub fn resolve(self, year: i32) -> i32 {
        match self {
            YearRef::T => year,
            YearRef::TMinus1 => year - 1,
        }
    }
}

impl fmt::Display for YearRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            YearRef::T => "T",
            YearRef::TMinus1 => "T-1",
        })
    }
}

/// A dataset an indicator reads, and for which years.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetUse {
    /// The dataset name.
    pub name: String,
    /// T, T-1 or both.
    pub years: Vec<YearRef>,
}

/// Whether a higher value is better, a lower one, or neither (not scored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher values score better.
    HigherIsBetter,
    /// Lower values score better (`floor > target`).
    LowerIsBetter,
    /// Reported, never scored.
    Informational,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::HigherIsBetter => "higher_is_better",
            Direction::LowerIsBetter => "lower_is_better",
            Direction::Informational => "informational",
        })
    }
}

/// The unit of an indicator's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// 0..100.
    Percent,
    /// A duration in hours.
    Hours,
    /// A plain ratio.
    Ratio,
    /// National currency: not comparable across members, so no peer statistics.
    Currency,
}

impl Unit {
    /// The unit's name as written in YAML and result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::Hours => "hours",
            Unit::Ratio => "ratio",
            Unit::Currency => "currency",
        }
    }
}

/// A disclosure level, and the audience that may see it. Ordered from the most open to the
/// most restrictive, so `max` gives the most restrictive of several levels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// Anyone, on the public site.
    Public,
    /// All Members' contact points and peer reviewers.
    #[default]
    Wco,
    /// The WCO Secretariat only.
    Secretariat,
}

impl Disclosure {
    /// Every level, from the most open.
    pub const ALL: [Disclosure; 3] = [Disclosure::Public, Disclosure::Wco, Disclosure::Secretariat];

    /// The level's name as written in YAML and result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Disclosure::Public => "public",
            Disclosure::Wco => "wco",
            Disclosure::Secretariat => "secretariat",
        }
    }

    /// Whether an audience at this level may see a value disclosed at `level`.
    pub fn may_see(self, level: Disclosure) -> bool {
        level <= self
    }
}

impl fmt::Display for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one indicator for one member and year, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The member's manifest declares the indicator not applicable.
    NotApplicable,
    /// A dataset it needs was rejected, or the whole submission was.
    InvalidSubmission,
    /// A dataset it needs was not submitted.
    MissingData,
    /// The formula divides by zero or aggregates zero rows.
    Undefined,
    /// A finite value.
    Ok,
}

impl Status {
    /// The status name as written in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotApplicable => "not_applicable",
            Status::InvalidSubmission => "invalid_submission",
            Status::MissingData => "missing_data",
            Status::Undefined => "undefined",
            Status::Ok => "ok",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an indicator's value becomes a 0..100 score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scoring {
    /// The value that scores 0.
    pub floor: f64,
    /// The value that scores 100.
    pub target: f64,
    /// Weight within its outcome (default 1).
    pub weight: f64,
}

impl Scoring {
    /// `100 * clamp((value - floor) / (target - floor), 0, 1)`.
    pub fn score(&self, value: f64) -> f64 {
        100.0 * ((value - self.floor) / (self.target - self.floor)).clamp(0.0, 1.0)
    }
}

/// What a fixture case expects for one member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expectation {
    /// The expected status (`ok` when a value is given).
    pub status: Status,
    /// The expected value, for `ok`.
    pub value: Option<f64>,
    /// The expected numerator, when the case states it.
    pub numerator: Option<f64>,
    /// The expected denominator, when the case states it.
    pub denominator: Option<f64>,
    /// Relative tolerance for the numbers (default 1e-9).
    pub tolerance: f64,
}

/// The data one fixture case gives for one member: CSV text per year and dataset.
pub type FixtureData = BTreeMap<YearRef, BTreeMap<String, String>>;

/// One fixture case of an indicator: a few input rows per member and what they must give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixtureCase {
    /// What the case shows.
    pub name: String,
    /// The reporting year T of the case.
    pub year: i32,
    /// Members whose manifest declares the indicator not applicable.
    pub not_applicable: Vec<String>,
    /// Input per member.
    pub given: BTreeMap<String, FixtureData>,
    /// Expected result per member.
    pub expect: BTreeMap<String, Expectation>,
    /// The line of the case in its file, for failure messages.
    pub line: usize,
}

/// One KPI: its place in the catalog, the SQL that computes it, how it is scored, its fixtures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// `dimension.name`, unique in the catalog.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Display name in French, when the catalog gives one (reports fall back to `name`).
    pub name_fr: Option<String>,
    /// Whether the name is one of the KPIs the WCO named publicly (otherwise illustrative).
    pub official: bool,
    /// Its dimension id.
    pub dimension: String,
    /// Its outcome id.
    pub outcome: String,
    /// Unit of the value.
    pub unit: Unit,
    /// Scoring direction.
    pub direction: Direction,
    /// The datasets it reads.
    pub datasets: Vec<DatasetUse>,
    /// Its disclosure level when the member's manifest says nothing.
    pub disclosure_default: Option<Disclosure>,
    /// How it is scored; `None` for informational indicators.
    pub scoring: Option<Scoring>,
    /// The formula in words, as the catalog documents it.
    pub formula: String,
    /// What the indicator measures.
    pub description: String,
    /// DataFusion SQL returning `member`, `year`, `value` and optionally `numerator` and
    /// `denominator`, one row per (member, year), over every member at once.
    pub sql: String,
    /// Fixture cases.
    pub tests: Vec<FixtureCase>,
    /// The catalog versions that changed its definition, as the file declares them.
    pub revisions: Vec<Revision>,
    /// What the plausibility review accepts of its values.
    pub review: IndicatorReview,
    /// The file it was read from.
    pub path: PathBuf,
    /// Line and indentation of the first SQL line in the file, to map SQL errors to the file.
    pub sql_origin: (usize, usize),
    /// SHA-256 of the definition file without its `review:` (plausibility bounds check a
    /// value, they do not define it), written next to every value it produced.
    pub definition_hash: String,
}

impl Indicator {
    /// The weight of the indicator in its outcome (0 for informational indicators).
    pub fn weight(&self) -> f64 {
        self.scoring.map(|s| s.weight).unwrap_or(0.0)
    }

    /// The revision that came with catalog `version`, if the file declares one.
    pub fn revision(&self, version: &str) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.version == version)
    }
}

/// A change of an indicator's definition in a catalog version (`revisions:` in its file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// The catalog version the change came with.
    pub version: String,
    /// Whether values computed before and after it may be compared (a history line goes on
    /// across it; otherwise it breaks).
    pub comparable: bool,
    /// What changed, in words.
    pub note: String,
}
