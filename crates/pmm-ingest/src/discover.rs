//! Discovery: which submissions are under the source, in the `member=CODE/year=YYYY/` layout.
//! Lists with prefixes (one level at a time), reads nothing, and records an issue for every
//! folder or file it will not read.

use std::collections::{BTreeMap, HashMap};

use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};
use pmm_catalog::{Catalog, MembersRegistry, is_member_code};

use crate::issue::{MAX_LISTED_ROWS_PER_RULE, Rule};
use crate::issue::{Severity, ValidationIssue};
use crate::text::shown_path;
use pmm_store::StoreRoot;

/// The format of a dataset file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `.csv`
    Csv,
    /// `.csv.gz`
    CsvGz,
    /// `.parquet`
    Parquet,
    /// `.jsonl`: one JSON object per line.
    Jsonl,
}

impl FileFormat {
    /// The format and dataset stem of a file name, if it has a supported extension.
    pub fn split(name: &str) -> Option<(&str, FileFormat)> {
        [
            (".csv.gz", FileFormat::CsvGz),
            (".csv", FileFormat::Csv),
            (".parquet", FileFormat::Parquet),
            (".jsonl", FileFormat::Jsonl),
        ]
        .into_iter()
        .find_map(|(ext, format)| name.strip_suffix(ext).map(|stem| (stem, format)))
    }
}

/// One object found under the source.
#[derive(Debug, Clone)]
pub struct SourceObject {
    /// Its key in the store.
    pub key: Path,
    /// Its path relative to the source (`member=XA/year=2024/declarations.csv`).
    pub relative: String,
    /// Size in bytes.
    pub size: u64,
    /// The store's ETag, when it gives one.
    pub e_tag: Option<String>,
    /// The store's version, when it gives one.
    pub version: Option<String>,
    /// When it was last modified.
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

impl SourceObject {
    pub(crate) fn new(meta: ObjectMeta, root: &StoreRoot) -> Self {
        SourceObject {
            relative: root.relative(&meta.location),
            key: meta.location,
            size: meta.size,
            e_tag: meta.e_tag,
            version: meta.version,
            last_modified: meta.last_modified,
        }
    }

    /// The file name.
    pub fn name(&self) -> &str {
        self.relative.rsplit('/').next().unwrap_or(&self.relative)
    }
}

/// The files of one member's submission for one year.
#[derive(Debug, Clone)]
pub struct SubmissionFiles {
    /// Member code.
    pub member: String,
    /// The submission's year.
    pub year: i32,
    /// `manifest.yaml`, if present.
    pub manifest: Option<SourceObject>,
    /// Files per dataset; more than one file for a dataset makes it ambiguous.
    pub datasets: BTreeMap<String, Vec<(SourceObject, FileFormat)>>,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Submissions of registered members for the years asked, sorted by member and year.
    pub submissions: Vec<SubmissionFiles>,
    /// Folders and files left unread, and why.
    pub issues: Vec<ValidationIssue>,
}

impl Discovery {
    /// Lists at most [`MAX_LISTED_ROWS_PER_RULE`] issues of one rule for the entries of one
    /// folder (300,000 stray files are 100 rows, not a 100 MB table) and counts the rest in
    /// one summary row for that folder, as the row rules' limiter does. A summary row (count
    /// above 1) is kept as it is, so capping twice changes nothing.
    fn cap_per_folder(&mut self) {
        let mut listed: HashMap<(String, i32, String, Rule), u64> = HashMap::new();
        let mut overflow: BTreeMap<(String, i32, String, Rule), (u64, ValidationIssue)> =
            BTreeMap::new();
        let mut kept = Vec::with_capacity(self.issues.len().min(4096));
        for issue in std::mem::take(&mut self.issues) {
            if issue.count > 1 {
                kept.push(issue);
                continue;
            }
            let file = issue.file.clone().unwrap_or_default();
            let folder = match file.trim_end_matches('/').rsplit_once('/') {
                Some((folder, _)) => format!("{folder}/"),
                None => String::new(),
            };
            let key = (issue.member.clone(), issue.year, folder, issue.rule);
            let n = listed.entry(key.clone()).or_insert(0);
            *n += 1;
            if *n <= MAX_LISTED_ROWS_PER_RULE {
                kept.push(issue);
            } else {
                overflow
                    .entry(key)
                    .and_modify(|(count, _)| *count += 1)
                    .or_insert((1, issue));
            }
        }
        for ((_, _, folder, rule), (count, first)) in overflow {
            let shown = if folder.is_empty() {
                "the source's top level".to_string()
            } else {
                folder.clone()
            };
            kept.push(ValidationIssue {
                file: (!folder.is_empty()).then_some(folder),
                message: format!(
                    "{count} more entries of {shown} break rule `{rule}` (only the first {MAX_LISTED_ROWS_PER_RULE} are listed)"
                ),
                count,
                ..first
            });
        }
        self.issues = kept;
    }
}

/// Finds the submissions of every registered member for `years` under the source.
pub async fn discover(
    root: &StoreRoot,
    registry: &MembersRegistry,
    catalog: &Catalog,
    years: &[i32],
    report_year: i32,
) -> Result<Discovery, object_store::Error> {
    let mut found = Discovery::default();
    let mut top = list_folder(root, &root.prefix).await?;
    refused(&mut top, "", report_year, &mut found.issues);
    for object in top.objects {
        let relative = root.relative(&object.location);
        found.issues.push(issue(
            "",
            report_year,
            relative,
            Rule::UnknownFile,
            Severity::Warning,
            "a file outside any member=CODE/ folder is ignored".into(),
        ));
    }
    let mut members: Vec<(String, Path)> = Vec::new();
    for folder in top.folders {
        let relative = root.relative(&folder);
        let name = folder.filename().unwrap_or_default().to_string();
        let code = name.strip_prefix("member=");
        match code {
            Some(code) if is_member_code(code) && registry.get(code).is_some() => members.push((code.to_string(), folder)),
            Some(code) if is_member_code(code) => found.issues.push(issue(code, report_year, format!("{relative}/"), Rule::UnknownMember, Severity::Error,
                format!("member {code} is not in the members registry: its folder is not read"))),
            _ => found.issues.push(issue(code.map(shown_path).unwrap_or_default().as_str(), report_year, format!("{relative}/"), Rule::BadFolder, Severity::Error,
                "not a member=CODE folder (CODE is a capital letter then one or two capitals or digits): it is not read".into())),
        }
    }
    members.sort();
    for (member, folder) in members {
        discover_member(
            root,
            &member,
            &folder,
            catalog,
            years,
            report_year,
            &mut found,
        )
        .await;
    }
    found.cap_per_folder();
    Ok(found)
}

/// An issue about a folder or file discovery will not read; the path is shown as submitted
/// text is (cut, escaped).
fn issue(
    member: &str,
    year: i32,
    file: String,
    rule: Rule,
    severity: Severity,
    message: String,
) -> ValidationIssue {
    ValidationIssue {
        member: member.to_string(),
        year,
        dataset: None,
        file: Some(shown_path(&file)),
        row: None,
        column: None,
        rule,
        severity,
        message,
        count: 1,
    }
}

/// Finds the submissions of one member for `years` in its folder (`member=CODE/` under a
/// source, or a member's own data folder for `pmm dry-run`), recording an issue for every
/// folder or file it will not read. A folder that cannot be listed costs that member its
/// submissions, not the run.
pub async fn discover_member(
    root: &StoreRoot,
    member: &str,
    folder: &Path,
    catalog: &Catalog,
    years: &[i32],
    report_year: i32,
    found: &mut Discovery,
) {
    // A member folder that cannot be listed, even after the store's retries, costs that
    // member its submission, not the run.
    let mut listing = match list_folder(root, folder).await {
        Ok(listing) => listing,
        Err(e) => {
            found.issues.push(issue(
                member,
                report_year,
                format!("{}/", root.relative(folder)),
                Rule::Unreadable,
                Severity::Error,
                format!("cannot list the member's folder: {e}; its submissions are not read"),
            ));
            return;
        }
    };
    refused(&mut listing, member, report_year, &mut found.issues);
    for object in listing.objects {
        found.issues.push(issue(
            member,
            report_year,
            root.relative(&object.location),
            Rule::UnknownFile,
            Severity::Warning,
            "a file outside any year=YYYY/ folder is ignored".into(),
        ));
    }
    let mut year_folders: Vec<(i32, Path)> = Vec::new();
    for year_folder in listing.folders {
        let name = year_folder.filename().unwrap_or_default().to_string();
        let year = name
            .strip_prefix("year=")
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()));
        match year.and_then(|y| y.parse::<i32>().ok()) {
            Some(y) => year_folders.push((y, year_folder)),
            None => found.issues.push(issue(
                member,
                report_year,
                format!("{}/", root.relative(&year_folder)),
                Rule::BadFolder,
                Severity::Error,
                "not a year=YYYY folder (four digits): it is not read".into(),
            )),
        }
    }
    year_folders.sort();
    for (year, year_folder) in year_folders.into_iter().filter(|(y, _)| years.contains(y)) {
        let mut listing = match list_folder(root, &year_folder).await {
            Ok(listing) => listing,
            Err(e) => {
                found.issues.push(issue(
                    member,
                    year,
                    format!("{}/", root.relative(&year_folder)),
                    Rule::Unreadable,
                    Severity::Error,
                    format!("cannot list the submission's folder: {e}; it is not read"),
                ));
                continue;
            }
        };
        refused(&mut listing, member, year, &mut found.issues);
        for sub in listing.folders {
            found.issues.push(issue(
                member,
                year,
                format!("{}/", root.relative(&sub)),
                Rule::UnknownFile,
                Severity::Warning,
                "a folder inside a submission is ignored".into(),
            ));
        }
        let mut files = SubmissionFiles {
            member: member.to_string(),
            year,
            manifest: None,
            datasets: BTreeMap::new(),
        };
        for meta in listing.objects {
            let object = SourceObject::new(meta, root);
            let name = object.name().to_string();
            if name == "manifest.yaml" {
                files.manifest = Some(object);
                continue;
            }
            match FileFormat::split(&name) {
                Some((stem, format)) if catalog.dataset(stem).is_some() => {
                    files.datasets.entry(stem.to_string()).or_default().push((object, format));
                }
                _ => found.issues.push(issue(member, year, object.relative.clone(), Rule::UnknownFile, Severity::Warning, format!(
                    "not a dataset file: the name must be a dataset ({}) with .csv, .csv.gz, .parquet or .jsonl; the file is ignored",
                    catalog.datasets.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
                ))),
            }
        }
        found.submissions.push(files);
    }
    // Capping again (in `discover`, for the top level) changes nothing already capped.
    found.cap_per_folder();
}

/// The years that have a `year=YYYY/` folder in a member's folder, sorted.
pub async fn year_folders(
    root: &StoreRoot,
    folder: &Path,
) -> Result<Vec<i32>, object_store::Error> {
    let listing = list_folder(root, folder).await?;
    let mut years: Vec<i32> = listing
        .folders
        .iter()
        .filter_map(|p| {
            p.filename()?
                .strip_prefix("year=")
                .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))?
                .parse()
                .ok()
        })
        .collect();
    years.sort_unstable();
    Ok(years)
}

/// One level of a folder: its objects and sub-folders, and the entries that will not be read.
struct Listing {
    objects: Vec<ObjectMeta>,
    folders: Vec<Path>,
    /// (relative path, rule, message) of each entry refused.
    refused: Vec<(String, Rule, String)>,
}

/// Lists one level of `folder`. A cloud store lists as it does. A local folder is read entry
/// by entry, so that a symbolic link is never followed (it is refused with rule `symlink`),
/// and a name the store cannot represent (a line feed, a name that is not UTF-8) or an entry
/// that is not a file or folder (a pipe, a socket, a device) is refused on its own while the
/// rest of the folder is read. The files' metadata still comes from the store.
async fn list_folder(root: &StoreRoot, folder: &Path) -> Result<Listing, object_store::Error> {
    if root.url.scheme() != "file" {
        let listing = root.store.list_with_delimiter(Some(folder)).await?;
        return Ok(Listing {
            objects: listing.objects,
            folders: listing.common_prefixes,
            refused: Vec::new(),
        });
    }
    let dir = std::path::PathBuf::from("/").join(folder.as_ref());
    let entries = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<_>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            entries.push((entry.file_name(), entry.file_type()?));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    })
    .await
    .map_err(|e| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(e),
    })?
    .map_err(|e| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(e),
    })?;
    let mut listing = Listing {
        objects: Vec::new(),
        folders: Vec::new(),
        refused: Vec::new(),
    };
    let base = root.relative(folder);
    // The issue shows the path (`issue` cuts and escapes it).
    let shown = |name: &str| {
        if base.is_empty() {
            name.to_string()
        } else {
            format!("{base}/{name}")
        }
    };
    for (name, kind) in entries {
        let Some(name) = name.to_str() else {
            listing.refused.push((
                shown(&name.to_string_lossy()),
                Rule::BadName,
                "the name is not valid UTF-8: rename it (letters, digits, `.`, `-`, `_`); it is not read".into(),
            ));
            continue;
        };
        let part = match object_store::path::PathPart::parse(name) {
            Ok(part) => part,
            Err(e) => {
                listing.refused.push((
                shown(name),
                Rule::BadName,
                format!(
                    "the name holds a character the store cannot represent ({}): rename it; it is not read",
                    crate::text::shown_within(&e.to_string())
                ),
            ));
                continue;
            }
        };
        // The name as it is (`join` of a `&str` would percent-encode `%` and other characters).
        let key = folder.clone().join(part);
        if kind.is_symlink() {
            listing.refused.push((
                shown(name),
                Rule::Symlink,
                "a symbolic link: links are never followed; put the file itself in the folder"
                    .into(),
            ));
        } else if kind.is_dir() {
            listing.folders.push(key);
        } else if kind.is_file() {
            match root.store.head(&key).await {
                Ok(meta) => listing.objects.push(meta),
                Err(e) => listing.refused.push((
                    shown(name),
                    Rule::Unreadable,
                    format!("cannot read the file's metadata: {e}"),
                )),
            }
        } else {
            listing.refused.push((
                shown(name),
                Rule::NotAFile,
                "not a regular file (a pipe, socket or device): it is not read".into(),
            ));
        }
    }
    Ok(listing)
}

/// Records an issue for each entry a listing refused.
fn refused(listing: &mut Listing, member: &str, year: i32, issues: &mut Vec<ValidationIssue>) {
    for (file, rule, message) in listing.refused.drain(..) {
        issues.push(issue(member, year, file, rule, Severity::Error, message));
    }
}
