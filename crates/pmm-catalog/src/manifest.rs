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
    #[serde(default)]
    explanations: Vec<ExplanationSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplanationSpec {
    subject: String,
    text: String,
}

/// The longest explanation a manifest may give, in characters.
pub const MAX_EXPLANATION_CHARS: usize = 500;

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
    /// Why a figure moved, by subject (a dataset or KPI id), for the plausibility review.
    pub explanations: BTreeMap<String, String>,
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
        let mut explanations = BTreeMap::new();
        for (i, entry) in spec.explanations.into_iter().enumerate() {
            let at = source.item("explanations", i);
            let subject = entry.subject.trim();
            if catalog.indicator(subject).is_none() && catalog.dataset(subject).is_none() {
                problems.at(
                    path,
                    at,
                    format!("`{subject}` is neither a dataset nor an indicator of the catalog: an explanation's `subject` names the figure it explains (`pmm indicators list` shows them)"),
                );
            }
            let text = entry.text.trim();
            let length = text.chars().count();
            if text.is_empty() {
                problems.at(path, at, format!("the explanation of `{subject}` is empty"));
            } else if length > MAX_EXPLANATION_CHARS {
                problems.at(
                    path,
                    at,
                    format!("the explanation of `{subject}` is {length} characters long; at most {MAX_EXPLANATION_CHARS} are kept"),
                );
            } else if let Some(c) = text.chars().find(|c| c.is_control()) {
                problems.at(
                    path,
                    at,
                    format!("the explanation of `{subject}` holds a control character (U+{:04X}): write it on one line, in plain text", u32::from(c)),
                );
            }
            if explanations
                .insert(subject.to_string(), text.to_string())
                .is_some()
            {
                problems.at(
                    path,
                    at,
                    format!("`{subject}` is explained twice: say it once"),
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
            explanations,
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
            Just("explanations"),
            Just("  - subject"),
            Just("    text"),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{MAX_EXPLANATION_CHARS, SubmissionManifest};
    use crate::Catalog;

    /// Explanations are kept by subject; a subject that is no dataset or KPI, an empty, long or
    /// multi-line text and a subject explained twice are each a problem at the entry.
    #[test]
    fn explanations_are_kept_by_subject_and_checked() {
        let catalog =
            Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators")).unwrap();
        let kpi = catalog.indicators[0].id.clone();
        let parse = |explanations: &str| {
            let text = format!("member: XA\nyear: 2024\nexplanations:\n{explanations}");
            SubmissionManifest::parse(Path::new("manifest.yaml"), &text, "XA", 2024, &catalog)
        };
        let ok = parse(&format!(
            "  - subject: declarations\n    text: a new single window moved postal consignments\n  - {{subject: {kpi}, text: counted in days before 2024}}\n"
        ))
        .unwrap();
        assert_eq!(
            ok.explanations.get("declarations").map(String::as_str),
            Some("a new single window moved postal consignments")
        );
        assert_eq!(
            ok.explanations.get(&kpi).map(String::as_str),
            Some("counted in days before 2024")
        );
        let long = "x".repeat(MAX_EXPLANATION_CHARS + 1);
        for (entries, says) in [
            (
                "  - {subject: nothing, text: t}\n",
                "4:3: `nothing` is neither a dataset nor an indicator",
            ),
            (
                "  - {subject: declarations, text: \"\"}\n",
                "4:3: the explanation of `declarations` is empty",
            ),
            (
                &*format!("  - {{subject: declarations, text: {long}}}\n"),
                "is 501 characters long; at most 500",
            ),
            (
                "  - {subject: declarations, text: \"two\\nlines\"}\n",
                "holds a control character (U+000A)",
            ),
            (
                "  - {subject: declarations, text: a}\n  - {subject: declarations, text: b}\n",
                "5:3: `declarations` is explained twice",
            ),
        ] {
            let problems = parse(entries).unwrap_err().into_sorted();
            assert_eq!(problems.len(), 1, "{entries}: {problems:?}");
            assert!(
                problems[0].to_string().contains(says),
                "{entries}: {}",
                problems[0]
            );
        }
    }
}
