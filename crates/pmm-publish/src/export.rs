//! The ways a run's metrics leave pmm: the node_exporter textfile and the Pushgateway.
//! (`pmm serve`, the third, is in [`crate::serve`].)

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

use crate::metrics::CONTENT_TYPE;

/// How long a push may take before it is reported as failed.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(15);

/// Why metrics could not be exported. The run's results are published all the same.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExportError {
    /// The textfile could not be written.
    #[error("cannot write the metrics textfile {path}: {message}")]
    Textfile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The Pushgateway could not be reached or refused the metrics.
    #[error("cannot push the metrics to the Pushgateway at {url}: {message}")]
    Push {
        /// Where to, without credentials.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// Writes the textfile for node_exporter's textfile collector atomically: the text goes to a
/// temporary file in the same folder, which is then renamed over the target (object_store's
/// local store does exactly that), so the collector never reads half a file. The temporary
/// name does not end in `.prom`, so the collector ignores it.
pub async fn write_textfile(path: &Path, text: &str) -> Result<(), ExportError> {
    let error = |message: String| ExportError::Textfile {
        path: path.display().to_string(),
        message,
    };
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(error("not a file path".into()));
    };
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    std::fs::create_dir_all(folder).map_err(|e| error(e.to_string()))?;
    let store = LocalFileSystem::new_with_prefix(folder).map_err(|e| error(e.to_string()))?;
    let name = ObjectPath::from(name.to_string_lossy().as_ref());
    store
        .put(&name, PutPayload::from(Bytes::from(text.to_owned())))
        .await
        .map_err(|e| error(e.to_string()))?;
    Ok(())
}

/// The Pushgateway URL of a pipeline's group: `<base>/metrics/job/pmm/pipeline/<name>`.
pub fn push_url(base: &str, pipeline: &str) -> String {
    format!(
        "{}/metrics/job/pmm/pipeline/{pipeline}",
        base.trim_end_matches('/')
    )
}

/// Replaces the pipeline's group on the Pushgateway with `text`: one PUT, so series of members
/// or KPIs that left the results disappear too.
pub async fn push(base: &str, pipeline: &str, text: &str) -> Result<(), ExportError> {
    let url = push_url(base, pipeline);
    let error = |message: String| ExportError::Push {
        url: pmm_store::display_url(&url),
        message,
    };
    let client = reqwest::Client::builder()
        .timeout(PUSH_TIMEOUT)
        .build()
        .map_err(|e| error(e.without_url().to_string()))?;
    let response = client
        .put(&url)
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(text.to_owned())
        .send()
        .await
        .map_err(|e| {
            let reason = if e.is_timeout() {
                format!("no answer within {} s", PUSH_TIMEOUT.as_secs())
            } else if e.is_connect() {
                "cannot connect (is the Pushgateway running, and is the URL right?)".to_string()
            } else {
                e.without_url().to_string()
            };
            error(reason)
        })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        let body: String = body.trim().chars().take(300).collect();
        return Err(error(format!("HTTP {status}: {body}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_url_names_job_and_pipeline() {
        assert_eq!(
            push_url("http://127.0.0.1:9091/", "cycle-2024"),
            "http://127.0.0.1:9091/metrics/job/pmm/pipeline/cycle-2024"
        );
    }

    #[tokio::test]
    async fn textfile_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("pmm.prom");
        write_textfile(&path, "a 1\n").await.unwrap();
        write_textfile(&path, "b 2\n").await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b 2\n");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["pmm.prom"], "no temporary file is left behind");
    }

    #[tokio::test]
    async fn push_to_nothing_is_a_clear_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = push(&format!("http://u:pw@127.0.0.1:{port}"), "demo", "x 1\n")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot connect"), "{error}");
        assert!(!error.contains("pw"), "credentials leak: {error}");
    }
}
