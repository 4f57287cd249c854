//! The result tables' contract: each table's name (its file is `<name>.arrow`) and its columns
//! (name, Arrow type, nullable) in the published order. The writer (`pmm-publish`), `pmm
//! serve`, the metrics, the report and the tests name tables and columns through this module.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// The dimension id of the overall score (a value of the `dimension` column).
pub const OVERALL: &str = "overall";

/// Column names of the result tables.
pub mod column {
    /// The run that made the row (a table-wide constant).
    pub const RUN_ID: &str = "run_id";
    /// Reporting year.
    pub const YEAR: &str = "year";
    /// Member code.
    pub const MEMBER: &str = "member";
    /// The member's region.
    pub const REGION: &str = "region";
    /// The member's income group.
    pub const INCOME_GROUP: &str = "income_group";
    /// Dimension id (`overall` for the overall score).
    pub const DIMENSION: &str = "dimension";
    /// Outcome id.
    pub const OUTCOME: &str = "outcome";
    /// Indicator id.
    pub const INDICATOR: &str = "indicator";
    /// `ok`, `undefined`, `missing_data`, `not_applicable`, `invalid_submission`, ...
    pub const STATUS: &str = "status";
    /// The indicator's value in its unit.
    pub const VALUE: &str = "value";
    /// The indicator's numerator.
    pub const NUMERATOR: &str = "numerator";
    /// The indicator's denominator.
    pub const DENOMINATOR: &str = "denominator";
    /// The indicator's unit.
    pub const UNIT: &str = "unit";
    /// Score 0-100.
    pub const SCORE: &str = "score";
    /// Maturity level 1-5.
    pub const LEVEL: &str = "level";
    /// Who may see the row: `secretariat`, `wco` or `public`.
    pub const DISCLOSURE: &str = "disclosure";
    /// The member's assessment kind.
    pub const ASSESSMENT: &str = "assessment";
    /// SHA-256 of the indicator's definition file.
    pub const DEFINITION_HASH: &str = "definition_hash";
    /// Share of the weight that has a score.
    pub const COVERAGE: &str = "coverage";
    /// `global`, `region` or `income_group`.
    pub const GROUP_KIND: &str = "group_kind";
    /// The group within its kind (`all`, a region, an income group).
    pub const GROUP: &str = "group";
    /// Members in the group with a value.
    pub const N: &str = "n";
    /// Mean of the group's values.
    pub const MEAN: &str = "mean";
    /// Median of the group's values.
    pub const MEDIAN: &str = "median";
    /// 25th percentile.
    pub const P25: &str = "p25";
    /// 75th percentile.
    pub const P75: &str = "p75";
    /// Smallest value.
    pub const MIN: &str = "min";
    /// Largest value.
    pub const MAX: &str = "max";
    /// Dataset name.
    pub const DATASET: &str = "dataset";
    /// Submitted file's path.
    pub const FILE: &str = "file";
    /// Record number in the file.
    pub const ROW: &str = "row";
    /// Column of the file.
    pub const COLUMN: &str = "column";
    /// The validation rule's name.
    pub const RULE: &str = "rule";
    /// `error` or `warning`.
    pub const SEVERITY: &str = "severity";
    /// What is wrong, in words.
    pub const MESSAGE: &str = "message";
    /// How many records the issue stands for.
    pub const COUNT: &str = "count";
    /// The catalog's version a history row was computed with.
    pub const CATALOG_VERSION: &str = "catalog_version";
    /// Whether a history row is comparable with the member's previous year in the series.
    pub const COMPARABLE: &str = "comparable";
    /// When the run that published a history row finished (RFC 3339).
    pub const PUBLISHED_AT: &str = "published_at";
    /// The run whose row replaced this one (null for the current row).
    pub const SUPERSEDED_BY: &str = "superseded_by";
    /// `first`, `restated`, `status_changed`, `definition_changed` or `disclosure_changed`.
    pub const CHANGE: &str = "change";
    /// Why the row differs from the one it replaced, in words.
    pub const CAUSE: &str = "cause";
    /// What a review flag is about: `dataset` or `indicator`.
    pub const SUBJECT_KIND: &str = "subject_kind";
    /// The dataset or KPI id a review flag is about.
    pub const SUBJECT: &str = "subject";
    /// The member's figure a review flag was raised on.
    pub const OBSERVED: &str = "observed";
    /// The lower bound the figure fell outside.
    pub const LOW: &str = "low";
    /// The upper bound the figure fell outside.
    pub const HIGH: &str = "high";
    /// The figure it was compared with.
    pub const REFERENCE: &str = "reference";
    /// The member's explanation, from its manifest.
    pub const EXPLANATION: &str = "explanation";
}

/// One column of a result table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its Arrow type.
    pub data_type: DataType,
    /// Whether it may hold nulls.
    pub nullable: bool,
}

/// One result table.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    /// Its name; the file is `<name>.arrow`.
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [Column],
}

impl ResultTable {
    /// The table's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.data_type.clone(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        data_type: DataType::Utf8,
        nullable: false,
    }
}

const fn opt_text(name: &'static str) -> Column {
    Column {
        name,
        data_type: DataType::Utf8,
        nullable: true,
    }
}

const fn int(name: &'static str) -> Column {
    Column {
        name,
        data_type: DataType::Int64,
        nullable: false,
    }
}

const fn opt_int(name: &'static str) -> Column {
    Column {
        name,
        data_type: DataType::Int64,
        nullable: true,
    }
}

const fn float(name: &'static str) -> Column {
    Column {
        name,
        data_type: DataType::Float64,
        nullable: false,
    }
}

const fn opt_float(name: &'static str) -> Column {
    Column {
        name,
        data_type: DataType::Float64,
        nullable: true,
    }
}

const fn flag(name: &'static str) -> Column {
    Column {
        name,
        data_type: DataType::Boolean,
        nullable: false,
    }
}

use column as c;

/// One row per member and indicator.
pub const INDICATOR_VALUES: ResultTable = ResultTable {
    name: "indicator_values",
    columns: &[
        text(c::RUN_ID),
        int(c::YEAR),
        text(c::MEMBER),
        text(c::REGION),
        text(c::INCOME_GROUP),
        text(c::DIMENSION),
        text(c::OUTCOME),
        text(c::INDICATOR),
        text(c::STATUS),
        opt_float(c::VALUE),
        opt_float(c::NUMERATOR),
        opt_float(c::DENOMINATOR),
        text(c::UNIT),
        opt_float(c::SCORE),
        opt_int(c::LEVEL),
        text(c::DISCLOSURE),
        text(c::ASSESSMENT),
        text(c::DEFINITION_HASH),
    ],
};

/// One row per member and outcome.
pub const OUTCOME_SCORES: ResultTable = ResultTable {
    name: "outcome_scores",
    columns: &[
        text(c::RUN_ID),
        int(c::YEAR),
        text(c::MEMBER),
        text(c::REGION),
        text(c::INCOME_GROUP),
        text(c::DIMENSION),
        text(c::OUTCOME),
        text(c::STATUS),
        opt_float(c::SCORE),
        opt_int(c::LEVEL),
        opt_float(c::COVERAGE),
        text(c::DISCLOSURE),
    ],
};

/// One row per member and dimension, and one with dimension `overall`.
pub const DIMENSION_SCORES: ResultTable = ResultTable {
    name: "dimension_scores",
    columns: &[
        text(c::RUN_ID),
        int(c::YEAR),
        text(c::MEMBER),
        text(c::REGION),
        text(c::INCOME_GROUP),
        text(c::DIMENSION),
        text(c::STATUS),
        opt_float(c::SCORE),
        opt_int(c::LEVEL),
        opt_float(c::COVERAGE),
        text(c::DISCLOSURE),
    ],
};

/// One row per indicator and peer group.
pub const PEER_STATS: ResultTable = ResultTable {
    name: "peer_stats",
    columns: &[
        text(c::RUN_ID),
        int(c::YEAR),
        text(c::INDICATOR),
        text(c::GROUP_KIND),
        text(c::GROUP),
        int(c::N),
        opt_float(c::MEAN),
        opt_float(c::MEDIAN),
        opt_float(c::P25),
        opt_float(c::P75),
        opt_float(c::MIN),
        opt_float(c::MAX),
    ],
};

/// One row per validation issue (the Secretariat's only).
pub const VALIDATION_ISSUES: ResultTable = ResultTable {
    name: "validation_issues",
    columns: &[
        text(c::RUN_ID),
        int(c::YEAR),
        text(c::MEMBER),
        opt_text(c::DATASET),
        opt_text(c::FILE),
        opt_int(c::ROW),
        opt_text(c::COLUMN),
        text(c::RULE),
        text(c::SEVERITY),
        text(c::MESSAGE),
        int(c::COUNT),
    ],
};

/// The plausibility review's flags: figures that passed validation but look wrong for a whole
/// year (the Secretariat's alone).
pub const REVIEW_FLAGS: ResultTable = ResultTable {
    name: "review_flags",
    columns: &[
        text(c::RUN_ID),
        int(c::YEAR),
        text(c::MEMBER),
        text(c::SUBJECT_KIND),
        text(c::SUBJECT),
        text(c::RULE),
        float(c::OBSERVED),
        opt_float(c::LOW),
        opt_float(c::HIGH),
        opt_float(c::REFERENCE),
        text(c::MESSAGE),
        opt_text(c::EXPLANATION),
    ],
};

/// Every version of every (member, KPI, year) value published so far, across cycles.
pub const INDICATOR_HISTORY: ResultTable = ResultTable {
    name: "indicator_history",
    columns: &[
        text(c::MEMBER),
        text(c::INDICATOR),
        int(c::YEAR),
        text(c::STATUS),
        opt_float(c::VALUE),
        opt_float(c::SCORE),
        opt_int(c::LEVEL),
        text(c::UNIT),
        text(c::DISCLOSURE),
        text(c::DEFINITION_HASH),
        text(c::CATALOG_VERSION),
        flag(c::COMPARABLE),
        text(c::RUN_ID),
        text(c::PUBLISHED_AT),
        opt_text(c::SUPERSEDED_BY),
        text(c::CHANGE),
        opt_text(c::CAUSE),
    ],
};

/// The tables every audience gets, in publishing order (`validation_issues` is the
/// Secretariat's alone).
pub const AUDIENCE_TABLES: [&ResultTable; 4] = [
    &INDICATOR_VALUES,
    &OUTCOME_SCORES,
    &DIMENSION_SCORES,
    &PEER_STATS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_names_each_column_once() {
        for table in AUDIENCE_TABLES.into_iter().chain([
            &VALIDATION_ISSUES,
            &REVIEW_FLAGS,
            &INDICATOR_HISTORY,
        ]) {
            let schema = table.schema();
            assert_eq!(schema.fields().len(), table.columns.len());
            let mut names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), table.columns.len(), "{}", table.name);
            // A run's tables start with the run; the history's rows each name theirs.
            if table.name != INDICATOR_HISTORY.name {
                assert_eq!(schema.field(0).name(), column::RUN_ID, "{}", table.name);
            }
        }
    }

    /// The users' documentation of the result files names the same tables and columns, in
    /// the same order.
    #[test]
    fn the_documented_tables_are_the_contract() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/running.md");
        let doc = std::fs::read_to_string(path).expect("docs/running.md");
        for table in AUDIENCE_TABLES.into_iter().chain([
            &VALIDATION_ISSUES,
            &REVIEW_FLAGS,
            &INDICATOR_HISTORY,
        ]) {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", table.name)))
                .unwrap_or_else(|| panic!("docs/running.md has no row for {}", table.name));
            let documented: Vec<String> = row
                .split('|')
                .nth(2)
                .unwrap_or_default()
                .split(',')
                .map(|c| c.split(" (").next().unwrap_or_default().trim().to_string())
                .collect();
            let contract: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            assert_eq!(documented, contract, "{}", table.name);
        }
    }
}
