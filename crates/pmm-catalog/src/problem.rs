//! Problems found in a user's files, each with the place it was found.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a text file, 1-based, as editors show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Location {
    /// The start of a file, for problems that concern the file as a whole.
    pub const START: Location = Location { line: 1, column: 1 };

    /// A location from 1-based line and column numbers.
    pub fn new(line: usize, column: usize) -> Self {
        Location {
            line: line.max(1),
            column: column.max(1),
        }
    }
}

/// One mistake in a catalog, pipeline or registry file: printed as `path:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The file the problem is in, as the user named it.
    pub path: PathBuf,
    /// Where in the file.
    pub location: Location,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl Problem {
    /// A problem at a given place of a file.
    pub fn new(path: impl AsRef<Path>, location: Location, message: impl Into<String>) -> Self {
        Problem {
            path: path.as_ref().to_path_buf(),
            location,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.location.line,
            self.location.column,
            self.message
        )
    }
}

/// Every problem of one check, in file and line order, so they can be reported together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// No problems yet.
    pub fn new() -> Self {
        Problems(Vec::new())
    }

    /// Records one more problem.
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    /// Records a problem at a place of a file.
    pub fn at(&mut self, path: &Path, location: Location, message: impl Into<String>) {
        self.push(Problem::new(path, location, message));
    }

    /// Takes every problem of another collection.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems sorted by file, line and column, duplicates removed.
    pub fn into_sorted(mut self) -> Vec<Problem> {
        self.0.sort();
        self.0.dedup();
        self.0
    }

    /// The problems in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in self.clone().into_sorted() {
            writeln!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl From<Problem> for Problems {
    fn from(problem: Problem) -> Self {
        Problems(vec![problem])
    }
}

impl std::error::Error for Problems {}
