//! `pmm run PIPELINE --stage-only [--shard I/N]`: reading, validating and staging without
//! evaluating or publishing, for one shard of the members, so that N processes on N machines
//! stage a cycle together and the run that follows finds every input staged and reads nothing.
//!
//! A shard is a set of members, never part of one: both years of a member go to the same
//! shard. Every process lists the source itself and cuts the same listing the same way
//! ([`Shard::select`]): members by their bytes, largest first, each to the shard with the
//! fewest bytes so far, ties to the lower shard and then the earlier member code. Shards
//! share nothing but the staging area, where each input's entry is content-addressed by the
//! input's fingerprint and written whole after its data, so two processes at once write
//! different entries (or, for the same input, equal ones): nothing is lost and no entry is
//! trusted before its data is complete. A member missed because its files changed between two
//! shards' listings is read by the run itself.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use chrono::Utc;
use pmm_ingest::{InputStatus, SubmissionFiles};
use pmm_publish::PhaseTimings;

use crate::open::Opened;
use crate::run::{Progress, RunError, RunOptions, new_run_id};
use crate::steps::read_all;

/// The most shards a cycle is cut into.
pub const MAX_SHARDS: u32 = 10_000;

/// Shard `index` of `count` (`index` counts from 0, as a Kubernetes indexed Job's
/// `JOB_COMPLETION_INDEX` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 0 to `count - 1`.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// All members in one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// The submissions of this shard's members, in the order given. Members are weighed by
    /// the bytes of their submissions (both years) and dealt out largest first, each to the
    /// lightest shard so far (the lowest shard on a tie; members of equal weight in code
    /// order), so every process that lists the same source picks its part of one cut.
    pub fn select(&self, submissions: Vec<SubmissionFiles>) -> Vec<SubmissionFiles> {
        if self.count <= 1 {
            return submissions;
        }
        let mut weights: BTreeMap<&str, u64> = BTreeMap::new();
        for submission in &submissions {
            *weights.entry(&submission.member).or_default() += submission_bytes(submission);
        }
        let mut members: Vec<(&str, u64)> = weights.into_iter().collect();
        members.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut loads = vec![0u64; self.count as usize];
        let mut mine = std::collections::BTreeSet::new();
        for (member, bytes) in members {
            let lightest = (0..loads.len()).min_by_key(|&i| (loads[i], i)).unwrap_or(0);
            // Every member weighs at least one byte, so empty submissions are dealt out too.
            loads[lightest] += bytes.max(1);
            if lightest == self.index as usize {
                mine.insert(member.to_string());
            }
        }
        submissions
            .into_iter()
            .filter(|s| mine.contains(&s.member))
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage =
            "a shard is I/N: shard I of N, I counting from 0 (the two shards of 2 are 0/2 and 1/2)";
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not I/N; {usage}"))?;
        let number = |part: &str| part.trim().parse::<u32>().ok();
        let (Some(index), Some(count)) = (number(index), number(count)) else {
            return Err(format!("{text:?}: I and N must be whole numbers; {usage}"));
        };
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "{text:?}: N must be between 1 and {MAX_SHARDS}; {usage}"
            ));
        }
        if index >= count {
            return Err(format!(
                "{text:?}: I must be below N (the last of {count} shards is {}/{count}); {usage}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

fn submission_bytes(submission: &SubmissionFiles) -> u64 {
    let datasets: u64 = submission
        .datasets
        .values()
        .flatten()
        .map(|(object, _)| object.size)
        .sum();
    datasets + submission.manifest.as_ref().map_or(0, |m| m.size)
}

/// What a stage-only run did.
#[derive(Debug, Clone)]
pub struct StageSummary {
    /// The lease's id (the staging area's `leases/<id>.json` while it ran).
    pub id: String,
    /// The shard staged.
    pub shard: Shard,
    /// The members of this shard, in code order.
    pub members: Vec<String>,
    /// Members with a submission in the source (all shards).
    pub members_total: usize,
    /// Submissions (member and year) read or reused.
    pub submissions: usize,
    /// Submissions rejected as a whole (their manifest).
    pub submissions_rejected: usize,
    /// Dataset files rejected.
    pub datasets_rejected: usize,
    /// Inputs read, validated and staged now.
    pub inputs_read: usize,
    /// Inputs already staged and unchanged.
    pub inputs_reused: usize,
    /// Inputs read whose outcome was not kept, because the store failed while they were read:
    /// the run reads them again.
    pub inputs_not_kept: usize,
    /// Records read from the inputs read now.
    pub rows_read: u64,
    /// Where the staged data is.
    pub staging: String,
    /// Wall and thread times (discover and read only).
    pub phases: PhaseTimings,
    /// Seconds from start to end.
    pub duration_seconds: f64,
}

/// Reads, validates and stages the inputs of `shard`'s members for the pipeline's year T and
/// T-1, publishing nothing.
pub async fn stage_pipeline(
    pipeline: &pmm_catalog::Pipeline,
    options: &RunOptions,
    shard: Shard,
    progress: &dyn Progress,
) -> Result<StageSummary, RunError> {
    let started = Utc::now();
    let clock = Instant::now();
    let opened = Opened::open(pipeline, options).await?;
    let id = new_run_id(started);
    let lease = opened
        .staging
        .take_lease(&id, &pipeline.name)
        .await
        .map_err(RunError::Lease)?;
    let outcome = async {
        let discovery = opened.discover(progress).await?;
        let mut phases = PhaseTimings {
            discover_seconds: clock.elapsed().as_secs_f64(),
            ..PhaseTimings::default()
        };
        let members_total = {
            let mut members: Vec<&str> = discovery
                .submissions
                .iter()
                .map(|s| s.member.as_str())
                .collect();
            members.dedup();
            members.len()
        };
        let submissions = shard.select(discovery.submissions);
        let mut members: Vec<String> = submissions.iter().map(|s| s.member.clone()).collect();
        members.dedup();
        tracing::info!(
            %shard,
            members = members.len(),
            members_total,
            "staging this shard's members"
        );
        let reading = Instant::now();
        let outcomes = read_all(
            &opened.reader(),
            submissions,
            opened.concurrency(options, pipeline),
            progress,
        )
        .await?;
        phases.read_seconds = reading.elapsed().as_secs_f64();
        let mut summary = StageSummary {
            id: id.clone(),
            shard,
            members,
            members_total,
            submissions: outcomes.len(),
            submissions_rejected: outcomes.iter().filter(|o| o.rejected.is_some()).count(),
            datasets_rejected: 0,
            inputs_read: 0,
            inputs_reused: 0,
            inputs_not_kept: 0,
            rows_read: 0,
            staging: opened.staging.root.display.clone(),
            phases,
            duration_seconds: 0.0,
        };
        let mut times = pmm_ingest::ReadTimes::default();
        for outcome in &outcomes {
            let mut read = std::collections::BTreeSet::new();
            for input in &outcome.inputs {
                match (input.status, &input.staged) {
                    (InputStatus::Read, Some(_)) => summary.inputs_read += 1,
                    (InputStatus::Read, None) => summary.inputs_not_kept += 1,
                    (InputStatus::Reused, _) => summary.inputs_reused += 1,
                    (InputStatus::Skipped, _) => {}
                }
                if input.status == InputStatus::Read {
                    read.insert(input.object.path.as_str());
                }
            }
            for dataset in &outcome.datasets {
                times += dataset.times;
                summary.datasets_rejected += usize::from(!dataset.outcome.accepted);
                if read.contains(dataset.outcome.file.as_str()) {
                    summary.rows_read += dataset.outcome.rows_read;
                }
            }
        }
        summary.phases.decode_thread_seconds = times.decoding.as_secs_f64();
        summary.phases.validate_thread_seconds = times.validating.as_secs_f64();
        summary.phases.stage_thread_seconds = times.staging.as_secs_f64();
        summary.duration_seconds = clock.elapsed().as_secs_f64();
        Ok(summary)
    }
    .await;
    lease.release().await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmm_ingest::{FileFormat, SourceObject};

    fn submission(member: &str, year: i32, bytes: u64) -> SubmissionFiles {
        let relative = format!("member={member}/year={year}/declarations.csv");
        let object = SourceObject {
            key: object_store::path::Path::from(relative.as_str()),
            relative,
            size: bytes,
            e_tag: None,
            version: None,
            last_modified: Utc::now(),
        };
        SubmissionFiles {
            member: member.to_string(),
            year,
            manifest: None,
            datasets: [("declarations".to_string(), vec![(object, FileFormat::Csv)])]
                .into_iter()
                .collect(),
        }
    }

    fn cycle() -> Vec<SubmissionFiles> {
        // Sizes spread over three orders of magnitude, as members' are; one member without
        // its T-1 submission; two of equal weight.
        let mut submissions = Vec::new();
        for (i, bytes) in [900u64, 5, 5, 70, 3000, 12, 450, 0, 64, 64, 1, 2500, 8]
            .into_iter()
            .enumerate()
        {
            let member = format!("M{i:02}");
            submissions.push(submission(&member, 2024, bytes));
            if i != 3 {
                submissions.push(submission(&member, 2023, bytes / 2));
            }
        }
        submissions
    }

    fn keys(submissions: &[SubmissionFiles]) -> Vec<(String, i32)> {
        submissions
            .iter()
            .map(|s| (s.member.clone(), s.year))
            .collect()
    }

    #[test]
    fn shards_cut_the_members_into_disjoint_parts_that_cover_them_all() {
        let all = keys(&cycle());
        for count in 1..=8 {
            let mut seen = Vec::new();
            let mut loads = Vec::new();
            for index in 0..count {
                let part = Shard { index, count }.select(cycle());
                // Both years of a member stay together.
                for s in &part {
                    assert!(
                        part.iter().filter(|o| o.member == s.member).count()
                            == all.iter().filter(|(m, _)| *m == s.member).count(),
                        "{} split in shard {index}/{count}",
                        s.member
                    );
                }
                loads.push(part.iter().map(submission_bytes).sum::<u64>());
                seen.extend(keys(&part));
            }
            seen.sort();
            let mut expected = all.clone();
            expected.sort();
            assert_eq!(seen, expected, "{count} shards: each submission once");
            // Greedy by weight: no shard is heavier than the lightest by more than the
            // heaviest member (1.5 × 3000 bytes).
            let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
            assert!(max - min <= 4500, "{count} shards: loads {loads:?}");
        }
        // Every process cuts alike, whatever order its listing came in.
        let mut reversed = cycle();
        reversed.reverse();
        for index in 0..3 {
            let shard = Shard { index, count: 3 };
            let mut a = keys(&shard.select(cycle()));
            let mut b = keys(&shard.select(reversed.clone()));
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
        assert_eq!(Shard::ALL.select(cycle()).len(), all.len());
    }

    #[test]
    fn the_heaviest_members_open_the_shards() {
        let part = |index| keys(&Shard { index, count: 2 }.select(cycle()));
        assert!(part(0).contains(&("M04".to_string(), 2024)));
        assert!(part(1).contains(&("M11".to_string(), 2024)));
    }

    #[test]
    fn a_shard_is_i_of_n_counting_from_zero() {
        assert_eq!("1/2".parse::<Shard>(), Ok(Shard { index: 1, count: 2 }));
        assert_eq!("0/1".parse::<Shard>(), Ok(Shard::ALL));
        assert_eq!(Shard { index: 3, count: 8 }.to_string(), "3/8");
        for (text, says) in [
            ("2/2", "the last of 2 shards is 1/2"),
            ("1", "is not I/N"),
            ("a/2", "whole numbers"),
            ("-1/2", "whole numbers"),
            ("0/0", "between 1 and 10000"),
            ("0/10001", "between 1 and 10000"),
        ] {
            let error = text.parse::<Shard>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
            assert!(error.contains("counting from 0"), "{text}: {error}");
        }
    }
}
