//! The directory source (`ferryctl discovery --config-dir`): Istio and Kubernetes YAML read
//! recursively, polled for changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::ConfigSnapshots;
use crate::config::source::{self, Input, LoadOptions};

/// How often the config directory is checked for changes. Polling needs no new dependency and
/// a directory of YAML is cheap to stat.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What the directory looked like: each file with its modification time and length.
type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// A watched directory publishing into [`ConfigSnapshots`].
pub struct DirSource {
    dir: PathBuf,
    snapshots: Arc<ConfigSnapshots>,
    /// What the directory looked like at the last publish.
    last: Fingerprint,
}

impl DirSource {
    /// Reads and publishes the directory now (blocking), so the control plane is ready before
    /// it listens.
    pub fn load(dir: PathBuf, snapshots: Arc<ConfigSnapshots>) -> DirSource {
        let mut source = DirSource {
            dir,
            snapshots,
            last: Vec::new(),
        };
        source.last = source.reload_if_changed(None);
        source
    }

    /// Reads the directory again whenever a file changes, until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut last = self.last.clone();
        let source = Arc::new(self);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let s = source.clone();
            let seen = last.clone();
            // Reading and translating is blocking work; keep it off the async workers.
            if let Ok(f) =
                tokio::task::spawn_blocking(move || s.reload_if_changed(Some(&seen))).await
            {
                last = f;
            }
        }
    }

    /// Publishes the directory's objects unless it still looks like `seen`; returns what it
    /// looks like now.
    fn reload_if_changed(&self, seen: Option<&Fingerprint>) -> Fingerprint {
        let now = fingerprint(&self.dir);
        if seen != Some(&now) {
            self.reload(&now);
        }
        now
    }

    /// Reads the files again. A file that does not parse is reported and its objects are
    /// absent, as `analyze` does; an invalid object is rejected alone.
    fn reload(&self, fingerprint: &Fingerprint) {
        let inputs: Vec<Input> = fingerprint
            .iter()
            .map(|(p, _, _)| Input::Path(p.clone()))
            .collect();
        let loaded = source::load(
            &inputs,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        let parse_errors = loaded.errors.iter().map(|e| e.to_string()).collect();
        self.snapshots.publish(loaded.resources, parse_errors);
    }
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut ignored = Vec::new();
    source::expand_inputs(&[Input::Path(dir.to_path_buf())], &mut ignored)
        .into_iter()
        .filter_map(|input| match input {
            Input::Path(p) => Some(p),
            Input::Stdin => None,
        })
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let mtime = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.map_or(0, |m| m.len());
            (p, mtime, len)
        })
        .collect()
}
