//! Where the local mesh keeps its state. One directory, so `uninstall --purge` can remove all of
//! it and nothing else:
//!
//! ```text
//! <home>/config/                 Istio YAML the control planes watch (shared by all revisions)
//! <home>/revisions/<rev>.json    a running control plane (written by its supervisor)
//! <home>/revisions/<rev>/        the rendered install of that revision and its supervisor's pid
//! <home>/proxies/<id>.json       a running proxy (gateway or sidecar), id = <name>.<namespace>
//! <home>/workloads/<id>.json     a running application process (the demo's sample apps)
//! <home>/tags/<tag>.json         a revision tag: a stable name pointing at a revision
//! <home>/logs/                   component logs
//! ```
//!
//! The home is `$FERRY_HOME` when set, else `$XDG_DATA_HOME/ferry`, else
//! `$HOME/.local/share/ferry` (the XDG default, as `kubectl` plugins and `kind` use).

use std::path::{Path, PathBuf};

/// Environment variable overriding the local mesh's home directory.
pub const HOME_ENV: &str = "FERRY_HOME";

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot locate the local mesh's state directory: neither {HOME_ENV}, XDG_DATA_HOME nor HOME is set; \
     set {HOME_ENV} to a directory"
)]
pub struct NoHome;

/// The local mesh's state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home from the environment (see the module docs).
    pub fn from_env() -> Result<Home, NoHome> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let root = if let Some(home) = var(HOME_ENV) {
            PathBuf::from(home)
        } else if let Some(data) = var("XDG_DATA_HOME") {
            PathBuf::from(data).join("ferry")
        } else if let Some(home) = var("HOME") {
            PathBuf::from(home).join(".local/share/ferry")
        } else {
            return Err(NoHome);
        };
        Ok(Home { root })
    }

    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of Istio YAML every local control plane watches.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    pub fn revisions_dir(&self) -> PathBuf {
        self.root.join("revisions")
    }

    /// The record of revision `rev`'s running control plane (`default` for none).
    pub fn control_plane_file(&self, rev: &str) -> PathBuf {
        self.revisions_dir().join(format!("{rev}.json"))
    }

    /// What `install` rendered for revision `rev`, and its supervisor's files.
    pub fn revision_dir(&self, rev: &str) -> PathBuf {
        self.revisions_dir().join(rev)
    }

    pub fn proxies_dir(&self) -> PathBuf {
        self.root.join("proxies")
    }

    pub fn proxy_file(&self, id: &str) -> PathBuf {
        self.proxies_dir().join(format!("{id}.json"))
    }

    pub fn workloads_dir(&self) -> PathBuf {
        self.root.join("workloads")
    }

    pub fn workload_file(&self, id: &str) -> PathBuf {
        self.workloads_dir().join(format!("{id}.json"))
    }

    pub fn tags_dir(&self) -> PathBuf {
        self.root.join("tags")
    }

    pub fn tag_file(&self, tag: &str) -> PathBuf {
        self.tags_dir().join(format!("{tag}.json"))
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Proxies' hot-restart sockets (`--socket-path`), one per proxy id: whoever starts a proxy
    /// of that id next takes over from the running one.
    pub fn sockets_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    pub fn proxy_socket(&self, id: &str) -> PathBuf {
        self.sockets_dir().join(format!("{id}.sock"))
    }

    /// The mesh's CA (`cacerts` layout), shared by every revision's control plane so all their
    /// proxies trust one root.
    pub fn ca_dir(&self) -> PathBuf {
        self.root.join("identity").join("ca")
    }

    /// Workload tokens, `<namespace>/<service account>`: what proves a proxy's identity to the
    /// CA (see `crate::discovery::ca::authn`).
    pub fn tokens_dir(&self) -> PathBuf {
        self.root.join("identity").join("tokens")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_under_the_root() {
        let home = Home::at("/tmp/f");
        assert_eq!(home.config_dir(), Path::new("/tmp/f/config"));
        assert_eq!(
            home.control_plane_file("canary"),
            Path::new("/tmp/f/revisions/canary.json")
        );
        assert_eq!(
            home.proxy_file("reviews-v1.default"),
            Path::new("/tmp/f/proxies/reviews-v1.default.json")
        );
    }
}
