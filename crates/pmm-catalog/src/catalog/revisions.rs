//! An indicator's `revisions:`: the catalog versions that changed its definition, each with
//! whether values before and after it compare, and why.

use serde::Deserialize;

use super::indicators::File;
use crate::model::Revision;
use crate::problem::Problems;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RevisionSpec {
    version: String,
    comparable: bool,
    note: String,
}

/// `revisions`: each names a catalog version once, says whether values before and after it
/// compare, and why.
pub(super) fn check(
    specs: Vec<RevisionSpec>,
    file: &File<'_>,
    problems: &mut Problems,
) -> Vec<Revision> {
    let mut out: Vec<Revision> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let at = file.source.item("revisions", i);
        let version = spec.version.trim().to_string();
        if version.is_empty() {
            problems.at(
                file.path,
                at,
                "a revision names the catalog version it came with, such as `PMM v1.1`",
            );
        } else if out.iter().any(|r| r.version == version) {
            problems.at(
                file.path,
                at,
                format!("the revision of version `{version}` is given twice: say once what changed in it"),
            );
        }
        if spec.note.trim().is_empty() {
            problems.at(
                file.path,
                at,
                "a revision's `note` says what changed, for the readers of the history",
            );
        }
        out.push(Revision {
            version,
            comparable: spec.comparable,
            note: spec.note.trim().to_string(),
        });
    }
    out
}
