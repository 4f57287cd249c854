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

#[cfg(test)]
mod proptests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::SubmissionManifest;
    use crate::Catalog;

    fn catalog() -> &'static Catalog {
        static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
                .expect("the shipped catalog loads")
        })
    }

    /// A plausible manifest line: keys of a manifest, values of any shape.
    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("member"),
            Just("year"),
            Just("not_applicable"),
            Just("disclosure"),
            Just("  - "),
            Just("    "),
            Just("x"),
        ];
        let value = prop_oneof![
            Just("XA".to_string()),
            Just("2024".to_string()),
            "[\\[\\]{}:, a-z0-9.-]{0,24}",
            "[ -~]{0,30}",
        ];
        (key, value).prop_map(|(k, v)| format!("{k}: {v}"))
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = SubmissionManifest::parse(Path::new("manifest.yaml"), &text, "XA", 2024, catalog());
        }

        #[test]
        fn plausible_manifests_are_accepted_or_say_where(lines in proptest::collection::vec(line(), 0..12)) {
            let text = lines.join("\n");
            if let Err(problems) = SubmissionManifest::parse(Path::new("manifest.yaml"), &text, "XA", 2024, catalog()) {
                let problems = problems.into_sorted();
                prop_assert!(!problems.is_empty(), "a rejected manifest has a problem");
                for p in &problems {
                    prop_assert!(p.to_string().starts_with("manifest.yaml:"), "{p}");
                }
            }
        }
    }
}
