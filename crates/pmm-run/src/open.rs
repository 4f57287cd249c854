//! What a run and a stage-only run open before anything else: the catalog, the members
//! registry (a local file or an object on a store), the source and the staging area, each a
//! configuration error when it cannot be used (nothing ran); and how many submissions are
//! read at once.

use std::sync::Arc;

use object_store::ObjectStoreExt;
use pmm_catalog::{Catalog, MembersRegistry, Pipeline, StoreLocation};
use pmm_ingest::{Discovery, StagingArea, SubmissionReader, discover};
use pmm_store::{StoreRoot, open_object, open_store};

use crate::run::{Progress, ProgressEvent, RunError, RunOptions};
use crate::steps::RunSettings;

/// What a run and a stage-only run open first: the catalog, the registry, the source and
/// the staging area (a configuration error for any that cannot be used: nothing ran).
pub(crate) struct Opened {
    /// Reporting year T.
    pub year: i32,
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// The members registry.
    pub registry: MembersRegistry,
    /// The submissions.
    pub source: StoreRoot,
    /// The results location: `--results`, or the pipeline's `results`.
    pub results: StoreLocation,
    /// The staging area: the pipeline's `staging`, or `<results>/staging`.
    pub staging: StagingArea,
    /// How inputs are read, the engine's settings and the scoring options.
    pub settings: RunSettings,
}

impl Opened {
    pub(crate) async fn open(pipeline: &Pipeline, options: &RunOptions) -> Result<Self, RunError> {
        let catalog = Arc::new(Catalog::load(&pipeline.catalog).map_err(RunError::Catalog)?);
        let registry = load_registry(pipeline).await?;
        let settings = &pipeline.storage;
        let source = match &options.source {
            Some(source) => source.clone(),
            None => {
                open_store(&pipeline.source, false, settings).map_err(|source| RunError::Store {
                    what: "source",
                    source,
                })?
            }
        };
        let results = options
            .results
            .clone()
            .unwrap_or_else(|| pipeline.results.clone());
        let staging_location = pipeline.staging_for(&results);
        let staging = StagingArea {
            root: open_store(&staging_location, true, settings).map_err(|source| {
                RunError::Store {
                    what: "staging",
                    source,
                }
            })?,
        };
        Ok(Opened {
            year: options.year.unwrap_or(pipeline.year),
            catalog,
            registry,
            source,
            results,
            staging,
            settings: RunSettings::of(pipeline),
        })
    }

    /// Submissions read at once: the option, else the pipeline's `storage.concurrency`, else
    /// one per core on a local folder and at least 8 on a remote store (requests wait more
    /// than they compute).
    pub(crate) fn concurrency(&self, options: &RunOptions, pipeline: &Pipeline) -> usize {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        options
            .concurrency
            .or(pipeline.storage.concurrency)
            .unwrap_or(match self.source.url.scheme() {
                "file" | "memory" => cores,
                _ => cores.max(8),
            })
            .max(1)
    }

    /// The submissions of years T and T-1 in the source, with progress.
    pub(crate) async fn discover(&self, progress: &dyn Progress) -> Result<Discovery, RunError> {
        progress.event(ProgressEvent::Stage {
            name: "discovering submissions",
            total: 0,
        });
        let year = self.year;
        let discovery = discover(
            &self.source,
            &self.registry,
            &self.catalog,
            &[year, year - 1],
            year,
        )
        .await
        .map_err(|e| RunError::Request {
            context: format!("cannot list the source {}", self.source.display),
            source: e,
        })?;
        progress.event(ProgressEvent::StageDone);
        tracing::info!(
            submissions = discovery.submissions.len(),
            "discovered submissions"
        );
        Ok(discovery)
    }

    /// A reader of this source into this staging area.
    pub(crate) fn reader(&self) -> SubmissionReader {
        SubmissionReader {
            source: self.source.clone(),
            staging: self.staging.clone(),
            catalog: self.catalog.clone(),
            settings: self.settings.read,
        }
    }
}

/// The members registry, from a local file or an object store.
async fn load_registry(pipeline: &Pipeline) -> Result<MembersRegistry, RunError> {
    let problems = |p| RunError::Config(format!("the members registry has problems:\n{p}"));
    match &pipeline.members {
        StoreLocation::Local(path) => MembersRegistry::load(path).map_err(problems),
        remote => {
            let (root, name) =
                open_object(remote, &pipeline.storage).map_err(|source| RunError::Store {
                    what: "members",
                    source,
                })?;
            let display = format!("{}/{name}", root.display.trim_end_matches('/'));
            let bytes = async { root.store.get(&root.key(&name)).await?.bytes().await }
                .await
                .map_err(|e| RunError::Request {
                    context: format!("cannot read the members registry {display}"),
                    source: e,
                })?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                RunError::Config(format!("the members registry {display} is not UTF-8"))
            })?;
            MembersRegistry::parse(std::path::Path::new(&display), &text).map_err(problems)
        }
    }
}
