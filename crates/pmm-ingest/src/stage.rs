//! Staging: the valid rows of every input a run reads, kept as Parquet with the input's
//! validation issues and row counts, so that evaluation streams from files instead of holding
//! rows in memory, and a later run whose input has not changed reuses them without reading it.
//!
//! Where each object goes under the staging location is `pmm_store::layout::staging`: an
//! input's entry (written last) and its valid rows in its member's, year's and dataset's
//! folder, a manifest's entry in the `manifest` folder, and each published run's reference.
//!
//! An entry is complete or absent: the Parquet file is uploaded whole (a single PUT, or a
//! multipart upload that only appears when completed) before the entry that names it, and the
//! entry is one PUT. A run that dies midway leaves at most a data file that no entry names,
//! which no run trusts and `pmm gc` removes. The staged Parquet files themselves are written
//! by `staged_file::StageWriter`.

use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use object_store::ObjectStoreExt;
use pmm_catalog::DatasetContract;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::discover::SourceObject;
use crate::issue::ValidationIssue;
use crate::validate::DatasetOutcome;
use crate::{Error, Result};
use pmm_store::{StoreRoot, count_write, layout};

/// Bumped whenever what validation or staging produces for the same input changes (a new
/// rule, a different message, another staged schema), so that no run reuses entries made by
/// different code. Part of every fingerprint, with the program's version.
pub const STAGING_FORMAT: u32 = 3;

/// The settings that decide what validation makes of an input: part of its fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReadSettings {
    /// Above this share of invalid records a dataset is rejected.
    pub max_invalid_row_fraction: f64,
    /// What one file may cost.
    pub limits: pmm_catalog::Limits,
}

/// Where the staged data of a pipeline lives.
#[derive(Debug, Clone)]
pub struct StagingArea {
    /// The staging location.
    pub root: StoreRoot,
}

/// What an entry stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A dataset file: its valid rows, issues and counts.
    Dataset,
    /// A submission's `manifest.yaml`: its text, checked again by each run against its catalog.
    Manifest,
}

/// One staged Parquet file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    /// Path relative to the staging location.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows it holds.
    pub rows: u64,
}

/// The input an entry was made from, as the run manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputObject {
    /// Path relative to the source.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// The store's ETag, when it gives one.
    pub etag: Option<String>,
    /// The store's object version, when it gives one.
    pub version: Option<String>,
}

impl From<&SourceObject> for InputObject {
    fn from(o: &SourceObject) -> Self {
        InputObject {
            path: o.relative.clone(),
            size: o.size,
            etag: o.e_tag.clone(),
            version: o.version.clone(),
        }
    }
}

/// A staged entry: everything a run needs of one input without reading it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagedEntry {
    /// [`STAGING_FORMAT`] of the program that wrote it.
    pub format: u32,
    /// The input's fingerprint (the entry's file name).
    pub fingerprint: String,
    /// What it stages.
    pub kind: EntryKind,
    /// Member code.
    pub member: String,
    /// The submission's year.
    pub year: i32,
    /// The dataset, for a dataset entry.
    pub dataset: Option<String>,
    /// The input.
    pub input: InputObject,
    /// False when the dataset was rejected (its issues say why; no rows are staged).
    pub accepted: bool,
    /// Records read.
    pub rows_read: u64,
    /// Records left out.
    pub rows_invalid: u64,
    /// The staged rows: none for a rejected or empty dataset, or a manifest.
    pub files: Vec<StagedFile>,
    /// Every issue of the input, bounded as in a run.
    pub issues: Vec<ValidationIssue>,
    /// A manifest's text (`None` when it is not UTF-8; its issue says so).
    pub text: Option<String>,
    /// The program version that wrote it.
    pub tool_version: String,
    /// When it was written (RFC 3339).
    pub staged_at: String,
}

/// The reference a published run leaves in the staging area, so that `pmm gc` knows which
/// runs to ask what they use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReference {
    /// The run's id.
    pub run_id: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// The results location as the pipeline names it (a URL or an absolute folder).
    pub results: String,
    /// The run's manifest, relative to the results location.
    pub manifest: String,
}

/// The fingerprint of an input: a SHA-256 over everything that decides what reading it gives:
/// where it is, its size and ETag (or version, or last modification), what it is read as
/// (member, year, dataset and the dataset's contract), the validation settings, the staging
/// format and the program version. Equal fingerprints mean equal staged results.
pub fn fingerprint(
    source: &str,
    object: &SourceObject,
    member: &str,
    year: i32,
    contract: Option<&DatasetContract>,
    settings: &ReadSettings,
) -> String {
    #[derive(Serialize)]
    struct Fingerprinted<'a> {
        format: u32,
        tool_version: &'a str,
        source: &'a str,
        path: &'a str,
        size: u64,
        etag: Option<&'a str>,
        version: Option<&'a str>,
        last_modified: Option<String>,
        member: &'a str,
        year: i32,
        contract: Option<&'a DatasetContract>,
        settings: Option<&'a ReadSettings>,
        manifest_limit: Option<u64>,
    }
    let fields = Fingerprinted {
        format: STAGING_FORMAT,
        tool_version: env!("CARGO_PKG_VERSION"),
        source,
        path: &object.relative,
        size: object.size,
        etag: object.e_tag.as_deref(),
        version: object.version.as_deref(),
        // Only stores without ETag or version fall back to the modification time.
        last_modified: (object.e_tag.is_none() && object.version.is_none())
            .then(|| object.last_modified.to_rfc3339()),
        member,
        year,
        contract,
        // A manifest's reading depends only on its size limit.
        settings: contract.map(|_| settings),
        manifest_limit: contract
            .is_none()
            .then_some(settings.limits.max_manifest_bytes),
    };
    let bytes = serde_json::to_vec(&fields).unwrap_or_default();
    format!("{:x}", Sha256::digest(bytes))
}

impl StagedEntry {
    /// What validation found of the dataset this entry stages, as when it was read (the file
    /// as discovery found it, relative to the source).
    pub fn outcome(self) -> DatasetOutcome {
        DatasetOutcome {
            dataset: self.dataset.unwrap_or_default(),
            file: self.input.path,
            rows_read: self.rows_read,
            rows_invalid: self.rows_invalid,
            issues: self.issues,
            accepted: self.accepted,
            transient: false,
        }
    }
}

impl StagingArea {
    /// The entry's path, relative to the staging location.
    pub fn entry_path(member: &str, year: i32, name: &str, fingerprint: &str) -> String {
        layout::staging::entry(member, year, name, fingerprint)
    }

    /// The staged entry at `relative`, if a complete one is there. An entry that cannot be
    /// parsed (written by another program) counts as absent.
    pub async fn lookup(&self, relative: &str) -> Result<Option<StagedEntry>> {
        Ok(self
            .get_json::<StagedEntry>(relative)
            .await?
            .filter(|entry| entry.format == STAGING_FORMAT))
    }

    /// A JSON object of the staging area, if it is there and parses as `T` (one that does
    /// not parse was written by another program: absent, with a warning).
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        relative: &str,
    ) -> Result<Option<T>> {
        let key = self.root.key(relative);
        let bytes = match self.root.store.get(&key).await {
            Ok(result) => result.bytes().await,
            Err(e) => Err(e),
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(relative, e)),
        };
        match serde_json::from_slice::<T>(&bytes) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                tracing::warn!(
                    "{}: not what this program writes there ({e}); it is made again",
                    self.display(relative)
                );
                Ok(None)
            }
        }
    }

    /// Writes a JSON object of the staging area in one PUT.
    pub async fn put_json<T: Serialize>(&self, relative: &str, value: &T) -> Result<()> {
        let body = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::Internal(format!("encoding {relative}: {e}")))?;
        self.root
            .store
            .put(&self.root.key(relative), Bytes::from(body).into())
            .await
            .map_err(|e| self.error(relative, e))?;
        count_write();
        Ok(())
    }

    /// Where `entry` is kept, relative to the staging location.
    pub(crate) fn path_of(entry: &StagedEntry) -> String {
        Self::entry_path(
            &entry.member,
            entry.year,
            entry
                .dataset
                .as_deref()
                .unwrap_or(layout::staging::MANIFEST),
            &entry.fingerprint,
        )
    }

    /// Writes an entry, after the files it names are complete; returns its path.
    pub async fn put_entry(&self, entry: &StagedEntry) -> Result<String> {
        let relative = Self::path_of(entry);
        self.put_json(&relative, entry).await?;
        Ok(relative)
    }

    /// Writes the reference of a published run.
    pub async fn put_reference(&self, reference: &RunReference) -> Result<()> {
        self.put_json(&layout::staging::reference(&reference.run_id), reference)
            .await
    }

    /// A location for messages.
    pub fn display(&self, relative: &str) -> String {
        self.root.shown(relative)
    }

    pub(crate) fn error(&self, relative: &str, e: impl Into<crate::BoxError>) -> Error {
        Error::staging(self.display(relative), e)
    }
}

/// The current time for entries.
pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dataset's review bounds do not decide what reading an input gives: tuning them keeps
    /// every fingerprint, so nothing is read again; a change of the contract's columns does not.
    #[test]
    fn review_bounds_are_not_part_of_a_fingerprint() {
        let catalog = pmm_catalog::Catalog::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"),
        )
        .unwrap();
        let contract = catalog.dataset("declarations").unwrap().clone();
        let object = SourceObject {
            key: object_store::path::Path::from("member=XA/year=2024/declarations.csv"),
            relative: "member=XA/year=2024/declarations.csv".into(),
            size: 10,
            e_tag: Some("e".into()),
            version: None,
            last_modified: chrono::DateTime::UNIX_EPOCH,
        };
        let settings = ReadSettings {
            max_invalid_row_fraction: 0.5,
            limits: pmm_catalog::Limits::default(),
        };
        let of = |c: &DatasetContract| fingerprint("src", &object, "XA", 2024, Some(c), &settings);
        let mut tuned = contract.clone();
        tuned.review.max_count_change = 0.9;
        tuned.review.min_count = 1;
        assert_eq!(of(&contract), of(&tuned));
        let mut other = contract.clone();
        other.key.push("flow".into());
        assert_ne!(of(&contract), of(&other));
    }
}
