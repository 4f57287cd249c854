//! The read-only guard on indicator SQL: one `SELECT` (or `WITH ... SELECT`) that reads only
//! its declared datasets and the `submitted` table. DDL, DML, `COPY`, `CREATE EXTERNAL TABLE`,
//! `SET`, table functions and qualified names (other catalogs, `information_schema`) are
//! refused before anything is planned; planning then runs with DataFusion's `SQLOptions`
//! forbidding DDL, DML and statements, as a second lock.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use datafusion::execution::context::SQLOptions;
use datafusion::sql::parser::{DFParser, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{ObjectName, Query, Statement, TableFactor, Visit, Visitor};

/// The options every indicator query is planned with: reading only.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Why a query was refused, with the 1-based line and column inside the SQL when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What is wrong.
    pub message: String,
    /// Line and column within the SQL text.
    pub position: Option<(usize, usize)>,
}

/// Parses `sql` and checks it only reads: one query over `allowed` tables (and its own CTEs).
pub fn check_read_only(sql: &str, allowed: &BTreeSet<String>) -> Result<(), Refusal> {
    let statements = DFParser::parse_sql(sql).map_err(|e| {
        let message = e.to_string();
        Refusal {
            position: sql_position(&message),
            message: tidy(&message),
        }
    })?;
    if statements.len() != 1 {
        return Err(Refusal {
            message: format!(
                "the SQL must be exactly one query, not {} statements",
                statements.len()
            ),
            position: None,
        });
    }
    let query = match &statements[0] {
        DFStatement::Statement(s) => match s.as_ref() {
            Statement::Query(q) => q,
            other => return Err(refuse_statement(&other.to_string())),
        },
        DFStatement::CreateExternalTable(_) => {
            return Err(Refusal {
                message:
                    "CREATE EXTERNAL TABLE is not allowed: an indicator may only read its datasets"
                        .into(),
                position: None,
            });
        }
        DFStatement::CopyTo(_) => {
            return Err(Refusal {
                message: "COPY is not allowed: an indicator may only read its datasets".into(),
                position: None,
            });
        }
        other => return Err(refuse_statement(&other.to_string())),
    };
    let mut visitor = Relations::default();
    let _ = query.visit(&mut visitor);
    if let Some(message) = visitor.refused {
        return Err(Refusal {
            message,
            position: None,
        });
    }
    let mut outside: Vec<String> = visitor
        .relations
        .iter()
        .filter(|name| !allowed.contains(*name) && !visitor.ctes.contains(*name))
        .cloned()
        .collect();
    outside.sort();
    outside.dedup();
    if !outside.is_empty() {
        return Err(Refusal {
            message: format!(
                "reads {} outside the indicator's declared datasets ({}); declare the dataset under `datasets`",
                outside
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                allowed.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            position: None,
        });
    }
    Ok(())
}

fn refuse_statement(text: &str) -> Refusal {
    let first = text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    Refusal {
        message: format!(
            "only a SELECT query is allowed, not `{first} ...`: an indicator may only read its datasets"
        ),
        position: None,
    }
}

/// Collects table names and CTE names, and refuses table functions and qualified names.
#[derive(Default)]
struct Relations {
    relations: BTreeSet<String>,
    ctes: BTreeSet<String>,
    refused: Option<String>,
}

impl Visitor for Relations {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if relation.0.len() != 1 {
            self.refused = Some(format!(
                "`{relation}` is a qualified name: an indicator may only read its datasets, by their plain names"
            ));
            return ControlFlow::Break(());
        }
        self.relations
            .insert(relation.to_string().trim_matches('"').to_lowercase());
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let function = match factor {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            } => Some(name.to_string()),
            TableFactor::TableFunction { expr, .. } => Some(expr.to_string()),
            TableFactor::Function { name, .. } => Some(name.to_string()),
            _ => None,
        };
        if let Some(name) = function {
            self.refused = Some(format!(
                "table function `{name}` is not allowed: an indicator may not read files or generate tables"
            ));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// Finds "Line: L, Column: C" in a parser message.
pub(crate) fn sql_position(message: &str) -> Option<(usize, usize)> {
    let at = message.rfind("Line: ")?;
    let rest = &message[at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// Drops DataFusion's error-kind prefixes and the position, which the caller shows itself.
pub(crate) fn tidy(message: &str) -> String {
    let mut m = message;
    for prefix in [
        "SQL error: ",
        "ParserError(\"",
        "sql parser error: ",
        "Error during planning: ",
        "Schema error: ",
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            m = rest;
        }
    }
    let m = m.trim_end_matches("\")");
    let m = match m.rfind(" at Line: ") {
        Some(i) => &m[..i],
        None => m,
    };
    m.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> BTreeSet<String> {
        ["declarations".to_string(), "submitted".to_string()].into()
    }

    #[test]
    fn a_plain_query_over_declared_tables_passes() {
        let sql = "WITH x AS (SELECT member FROM declarations) SELECT * FROM x JOIN submitted USING (member)";
        assert_eq!(check_read_only(sql, &allowed()), Ok(()));
    }

    #[test]
    fn writes_files_and_other_tables_are_refused() {
        for (sql, expected) in [
            ("DROP TABLE declarations", "only a SELECT"),
            (
                "INSERT INTO declarations SELECT * FROM declarations",
                "only a SELECT",
            ),
            ("COPY declarations TO '/tmp/x.csv'", "COPY"),
            (
                "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
                "CREATE EXTERNAL TABLE",
            ),
            ("SELECT * FROM seizures", "`seizures` outside"),
            ("SELECT * FROM information_schema.tables", "qualified name"),
            ("SELECT * FROM read_csv('/etc/passwd')", "table function"),
            ("SELECT 1; SELECT 2", "exactly one query"),
            ("SET datafusion.execution.batch_size = 1", "only a SELECT"),
        ] {
            let refusal = check_read_only(sql, &allowed()).expect_err(sql);
            assert!(
                refusal.message.contains(expected),
                "{sql}: {}",
                refusal.message
            );
        }
    }

    #[test]
    fn parse_errors_carry_their_position() {
        let refusal = check_read_only(
            "SELECT member\nFROM declarations\nWHERE member = = 1",
            &allowed(),
        )
        .unwrap_err();
        assert_eq!(
            refusal.position.map(|p| p.0),
            Some(3),
            "{}",
            refusal.message
        );
    }
}
