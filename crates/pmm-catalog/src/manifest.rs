//! Submission manifests (`manifest.yaml`, optional): who submitted, for which year, how the
//! data was assessed, which KPIs the member cannot measure, and who may see its results.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::model::Disclosure;
use crate::problem::Problems;
use crate::yaml::{self, SourceText};

/// How a submission's figures were assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// The member's own assessment (the default).
    #[default]
    SelfAssessed,
    /// Reviewed by peers after the self-assessment.
    PeerReviewed,
}

impl Assessment {
    /// The name written in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Assessment::SelfAssessed => "self_assessed",
            Assessment::PeerReviewed => "peer_reviewed",
        }
    }
}

impl fmt::Display for Assessment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestSpec {
    member: String,
    year: i32,
    #[serde(default)]
    assessment: Assessment,
    #[serde(default)]
    not_applicable: Vec<NotApplicableSpec>,
    #[serde(default)]
    disclosure: Option<DisclosureSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotApplicableSpec {
    indicator: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisclosureSpec {
    #[serde(default)]
    default: Option<Disclosure>,
    #[serde(default)]
    overrides: BTreeMap<String, Disclosure>,
}

/// A checked submission manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubmissionManifest {
    /// How the data was assessed.
    pub assessment: Assessment,
    /// Indicators the member declares it cannot measure, with the reason given.
    pub not_applicable: BTreeMap<String, Option<String>>,
    /// The member's default disclosure level, if it sets one.
    pub disclosure_default: Option<Disclosure>,
    /// Per-indicator disclosure levels.
    pub disclosure_overrides: BTreeMap<String, Disclosure>,
}

impl SubmissionManifest {
    /// Checks a manifest's text for the submission of `member` and `year`: unknown keys,
    /// unknown indicator ids, unknown levels and a member or year that does not match the
    /// folder are all problems (any of them rejects the submission).
    pub fn parse(
        path: &Path,
        text: &str,
        member: &str,
        year: i32,
        catalog: &Catalog,
    ) -> Result<SubmissionManifest, Problems> {
        let spec: ManifestSpec = yaml::parse(path, text)?;
        let source = SourceText::new(text);
        let mut problems = Problems::new();
        if spec.member != member {
            problems.at(
                path,
                source.key(&["member"]),
                format!(
                    "the manifest is for member {}, but it is in the folder of member {member}",
                    spec.member
                ),
            );
        }
        if spec.year != year {
            problems.at(
                path,
                source.key(&["year"]),
                format!(
                    "the manifest is for year {}, but it is in the folder of year {year}",
                    spec.year
                ),
            );
        }
        let mut not_applicable = BTreeMap::new();
        for entry in spec.not_applicable {
            if catalog.indicator(&entry.indicator).is_none() {
                problems.at(
                    path,
                    source.text_after_key("not_applicable", &entry.indicator),
                    format!("`{}` is not an indicator of the catalog (`pmm indicators list` shows them)", entry.indicator),
                );
            }
            not_applicable.insert(entry.indicator, entry.reason);
        }
        let (disclosure_default, disclosure_overrides) = match spec.disclosure {
            Some(d) => (d.default, d.overrides),
            None => (None, BTreeMap::new()),
        };
        for id in disclosure_overrides.keys() {
            if catalog.indicator(id).is_none() {
                problems.at(
                    path,
                    source.text_after_key("disclosure", id),
                    format!("`{id}` is not an indicator of the catalog (`pmm indicators list` shows them)"),
                );
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(SubmissionManifest {
            assessment: spec.assessment,
            not_applicable,
            disclosure_default,
            disclosure_overrides,
        })
    }

    /// The disclosure level of one indicator for this member: the override, else the
    /// manifest's default, else the indicator's default, else the pipeline's default.
    pub fn disclosure_of(
        &self,
        indicator: &crate::Indicator,
        pipeline_default: Disclosure,
    ) -> Disclosure {
        self.disclosure_overrides
            .get(&indicator.id)
            .copied()
            .or(self.disclosure_default)
            .or(indicator.disclosure_default)
            .unwrap_or(pipeline_default)
    }
}
