//! The members registry: the administrations a run reads, with the region and income group
//! their results are grouped by.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::problem::{Location, Problems};
use crate::yaml::{self, SourceText};
use crate::{FirstSeen, is_member_code, read_text};

/// The six WCO regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// East and Southern Africa.
    Esa,
    /// Europe.
    Europe,
    /// Far East, South and South East Asia, Australasia and the Pacific.
    AP,
    /// North of Africa, Near and Middle East.
    Mena,
    /// The Americas and the Caribbean.
    Americas,
    /// West and Central Africa.
    Wca,
}

impl Region {
    /// Every region, in the order the WCO lists them.
    pub const ALL: [Region; 6] = [
        Region::Esa,
        Region::Europe,
        Region::AP,
        Region::Mena,
        Region::Americas,
        Region::Wca,
    ];

    /// The region id as written in YAML and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Esa => "esa",
            Region::Europe => "europe",
            Region::AP => "a_p",
            Region::Mena => "mena",
            Region::Americas => "americas",
            Region::Wca => "wca",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The World Bank's four income groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeGroup {
    /// Low income.
    Low,
    /// Lower-middle income.
    LowerMiddle,
    /// Upper-middle income.
    UpperMiddle,
    /// High income.
    High,
}

impl IncomeGroup {
    /// Every income group, from low to high.
    pub const ALL: [IncomeGroup; 4] = [
        IncomeGroup::Low,
        IncomeGroup::LowerMiddle,
        IncomeGroup::UpperMiddle,
        IncomeGroup::High,
    ];

    /// The income group id as written in YAML and results.
    pub fn as_str(self) -> &'static str {
        match self {
            IncomeGroup::Low => "low",
            IncomeGroup::LowerMiddle => "lower_middle",
            IncomeGroup::UpperMiddle => "upper_middle",
            IncomeGroup::High => "high",
        }
    }
}

impl fmt::Display for IncomeGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One registered administration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// `^[A-Z][A-Z0-9]{1,2}$`, the `member=` folder name of its submissions.
    pub code: String,
    /// The administration's name.
    pub name: String,
    /// Its WCO region.
    pub region: Region,
    /// Its income group.
    pub income_group: IncomeGroup,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    members: Vec<Member>,
}

/// The members registry a pipeline names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersRegistry {
    /// The file it was read from.
    pub path: PathBuf,
    /// The members, sorted by code.
    pub members: Vec<Member>,
}

impl MembersRegistry {
    /// Reads and checks a registry file.
    pub fn load(path: &Path) -> Result<MembersRegistry, Problems> {
        let text = read_text(path)?;
        MembersRegistry::parse(path, &text)
    }

    /// Checks a registry's text: valid and unique codes, known regions and income groups.
    pub fn parse(path: &Path, text: &str) -> Result<MembersRegistry, Problems> {
        let file: RegistryFile = yaml::parse(path, text)?;
        let source = SourceText::new(text);
        let mut problems = Problems::new();
        let mut seen = FirstSeen::default();
        for (i, m) in file.members.iter().enumerate() {
            let at: Location = source.item("members", i);
            if !is_member_code(&m.code) {
                problems.at(
                    path,
                    at,
                    format!(
                        "member code `{}` must be a capital letter then one or two capitals or digits (^[A-Z][A-Z0-9]{{1,2}}$)",
                        m.code
                    ),
                );
            }
            if let Some(first) = seen.insert(&m.code, at.line) {
                problems.at(
                    path,
                    at,
                    format!(
                        "member `{}` is listed twice (first on line {first})",
                        m.code
                    ),
                );
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut members = file.members;
        members.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(MembersRegistry {
            path: path.to_path_buf(),
            members,
        })
    }

    /// The member of that code, if registered.
    pub fn get(&self, code: &str) -> Option<&Member> {
        self.members
            .binary_search_by(|m| m.code.as_str().cmp(code))
            .ok()
            .map(|i| &self.members[i])
    }
}
