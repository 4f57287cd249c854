//! Leases: how a run in progress tells `pmm gc` that it is using the staging area.
//!
//! A run writes `leases/<run_id>.json` before it looks anything up in the staging area and
//! renews it every [`LEASE_RENEWAL`] while it runs; it removes it when it ends, published or
//! not. `pmm gc` removes nothing while a lease is live (renewed within [`LEASE_EXPIRY`]), and
//! looks again before each of its deletion phases, so a run that starts while the collector
//! works stops it before it takes files that run may read. A run that dies leaves its lease
//! behind; it stops being live after [`LEASE_EXPIRY`], and the next collection removes it.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::stage::StagingArea;
use crate::{Error, Result};

/// How often a run renews its lease.
pub const LEASE_RENEWAL: Duration = Duration::from_secs(60);

/// How long after its last renewal a lease still holds: ten renewals missed.
pub const LEASE_EXPIRY: Duration = Duration::from_secs(600);

/// A run's lease, as written in the staging area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLease {
    /// The run holding it.
    pub run_id: String,
    /// The run's pipeline.
    pub pipeline: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// When the lease was last renewed (RFC 3339).
    pub renewed_at: String,
}

impl RunLease {
    /// Whether the lease holds at `now`: renewed within [`LEASE_EXPIRY`]. A lease whose time
    /// does not parse holds (it is not ours to judge).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        match DateTime::parse_from_rfc3339(&self.renewed_at) {
            Ok(renewed) => {
                now.signed_duration_since(renewed.with_timezone(&Utc))
                    < chrono::Duration::from_std(LEASE_EXPIRY).unwrap_or(chrono::Duration::MAX)
            }
            Err(_) => true,
        }
    }
}

/// A lease held by this process: renewed by a background task until [`Lease::release`].
/// Dropping it without releasing stops the renewal; the lease then expires.
#[derive(Debug)]
pub struct Lease {
    staging: StagingArea,
    path: String,
    renewal: tokio::task::JoinHandle<()>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl StagingArea {
    /// Takes a lease for `run_id` of `pipeline`: written now (an error if it cannot be), then
    /// renewed every [`LEASE_RENEWAL`] until released.
    pub async fn take_lease(&self, run_id: &str, pipeline: &str) -> Result<Lease> {
        let started_at = now();
        let mut lease = RunLease {
            run_id: run_id.to_string(),
            pipeline: pipeline.to_string(),
            started_at: started_at.clone(),
            renewed_at: started_at,
        };
        let path = pmm_store::layout::staging::lease(run_id);
        self.put_lease(&path, &lease).await?;
        let staging = self.clone();
        let renewed = path.clone();
        let renewal = tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE_RENEWAL).await;
                lease.renewed_at = now();
                if let Err(e) = staging.put_lease(&renewed, &lease).await {
                    tracing::warn!(lease = renewed, "the run's lease could not be renewed: {e}");
                }
            }
        });
        Ok(Lease {
            staging: self.clone(),
            path,
            renewal,
        })
    }

    async fn put_lease(&self, path: &str, lease: &RunLease) -> Result<()> {
        let body = serde_json::to_vec_pretty(lease)
            .map_err(|e| Error::Internal(format!("encoding {path}: {e}")))?;
        // Not counted by the crash hook: a lease is bookkeeping, not a staged or published
        // object, and its renewals come at times of their own.
        self.root
            .store
            .put(&self.root.key(path), bytes::Bytes::from(body).into())
            .await
            .map_err(|e| Error::staging(self.display(path), e))?;
        Ok(())
    }

    /// Puts back each of `entries` (entries a run reused) that is no longer there, as it
    /// was: `pmm gc` may have removed one in the instant between its last look at the leases
    /// and the run's lease (it then stops before it removes their data files). Returns how
    /// many were put back.
    pub async fn restore(&self, entries: &[crate::StagedEntry]) -> Result<usize> {
        let mut restored = 0;
        for entry in entries {
            let relative = Self::path_of(entry);
            match self.root.store.head(&self.root.key(&relative)).await {
                Ok(_) => {}
                Err(object_store::Error::NotFound { .. }) => {
                    self.put_entry(entry).await?;
                    restored += 1;
                }
                Err(e) => return Err(Error::staging(self.display(&relative), e)),
            }
        }
        Ok(restored)
    }

    /// Every lease in the staging area, with its path relative to it. A lease that does not
    /// parse is reported as one that holds (its run id taken from its name).
    pub async fn leases(&self) -> Result<Vec<(String, RunLease)>> {
        let prefix = self.root.key(pmm_store::layout::staging::LEASES);
        let listed: Vec<_> = self
            .root
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| {
                Error::staging(
                    format!(
                        "listing {}",
                        self.display(pmm_store::layout::staging::LEASES)
                    ),
                    e,
                )
            })?;
        let mut leases = Vec::with_capacity(listed.len());
        for meta in listed {
            let relative = self.root.relative(&meta.location);
            let lease = match self.get_json::<RunLease>(&relative).await? {
                Some(lease) => lease,
                None => RunLease {
                    run_id: pmm_store::layout::staging::lease_run(&relative)
                        .unwrap_or_default()
                        .to_string(),
                    pipeline: String::new(),
                    started_at: String::new(),
                    renewed_at: String::new(),
                },
            };
            leases.push((relative, lease));
        }
        Ok(leases)
    }
}

impl Lease {
    /// Stops the renewal and removes the lease.
    pub async fn release(self) {
        self.renewal.abort();
        let key = self.staging.root.key(&self.path);
        match self.staging.root.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(
                lease = self.path,
                "the run's lease could not be removed (it expires by itself): {e}"
            ),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holds_until_its_expiry() {
        let renewed = Utc::now();
        let lease = RunLease {
            run_id: "r".into(),
            pipeline: "p".into(),
            started_at: renewed.to_rfc3339(),
            renewed_at: renewed.to_rfc3339(),
        };
        assert!(lease.is_live(renewed + chrono::Duration::seconds(599)));
        assert!(!lease.is_live(renewed + chrono::Duration::seconds(601)));
        let odd = RunLease {
            renewed_at: "yesterday".into(),
            ..lease
        };
        assert!(odd.is_live(renewed + chrono::Duration::days(30)));
    }

    #[tokio::test]
    async fn a_lease_is_listed_while_held_and_gone_when_released() {
        let staging = crate::memory_staging().unwrap();
        let lease = staging
            .take_lease("20260101T000000Z-abc", "demo")
            .await
            .unwrap();
        let leases = staging.leases().await.unwrap();
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].0, "leases/20260101T000000Z-abc.json");
        assert_eq!(leases[0].1.pipeline, "demo");
        assert!(leases[0].1.is_live(Utc::now()));
        lease.release().await;
        assert!(staging.leases().await.unwrap().is_empty());
    }
}
