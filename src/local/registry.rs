//! The records of what runs in the local mesh: one JSON file per control plane and per proxy,
//! written atomically (temp file + rename) by whoever started the component and removed when it
//! stops. The CLI reads them to find a proxy's admin address or a control plane's debug address,
//! as istioctl finds pods through the Kubernetes API.
//!
//! A record whose process is gone (a crash, `kill -9` of the supervisor) is still listed, marked
//! not running, so the commands can say what happened instead of silently forgetting it.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::local::home::{Home, NoHome};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    NoHome(#[from] NoHome),
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{path} is not a valid record: {source}; remove it, or run `ferryctl uninstall --local --purge`"
    )]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{}", not_found_message(.query, .home, *.known, .close))]
    ProxyNotFound {
        query: String,
        home: PathBuf,
        known: usize,
        close: Vec<String>,
    },
}

fn not_found_message(query: &str, home: &Path, known: usize, close: &[String]) -> String {
    let mut msg = format!(
        "proxy {query:?} not found in the local mesh at {}",
        home.display()
    );
    if known == 0 {
        msg.push_str(": no proxies are registered; start one with `ferryctl install --local`");
    } else if close.is_empty() {
        msg.push_str(&format!(
            " ({known} proxies registered; `ferryctl proxy-status` lists them)"
        ));
    } else {
        msg.push_str(&format!("; did you mean {}?", close.join(", ")));
    }
    msg
}

/// What the supervisor saw of a component: how often it was restarted and why the last one
/// ended, so `verify-install` and `proxy-status` can say what happened after a crash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub restarts: u32,
    /// How the previous process ended (`exit status: 1`, `signal: 9 (SIGKILL)`).
    pub last_exit: Option<String>,
}

/// What a proxy does, as Istio's node types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyRole {
    Sidecar,
    Router,
}

/// A running proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyRecord {
    pub name: String,
    pub namespace: String,
    pub role: ProxyRole,
    /// The control plane revision it is connected to (`default` for none).
    pub revision: String,
    /// Its Envoy admin API.
    pub admin: SocketAddr,
    /// The control plane's xDS address it was started with.
    pub discovery: SocketAddr,
    pub labels: BTreeMap<String, String>,
    pub pid: u32,
    /// Its log file, when it has one.
    #[serde(default)]
    pub log: Option<PathBuf>,
    #[serde(default)]
    pub health: Health,
}

impl ProxyRecord {
    /// Its admin address, on `port` when one is given (istioctl's `--proxy-admin-port`).
    pub fn admin_at(&self, port: Option<u16>) -> std::net::SocketAddr {
        let mut addr = self.admin;
        if let Some(port) = port {
            addr.set_port(port);
        }
        addr
    }

    /// `name.namespace`, the xDS node's short id and how istioctl names proxies.
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.namespace)
    }

    pub fn running(&self) -> bool {
        process_alive(self.pid)
    }
}

/// A running control plane (`ferryctl discovery`) of one revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPlaneRecord {
    /// `default` for the unrevisioned control plane.
    pub revision: String,
    /// ADS (gRPC) address.
    pub xds: SocketAddr,
    /// Debug and monitoring HTTP address (istiod's 15014).
    pub monitoring: SocketAddr,
    pub pid: u32,
    #[serde(default)]
    pub log: Option<PathBuf>,
    #[serde(default)]
    pub health: Health,
}

/// A control plane's name, as istiod's Deployment of that revision is named: `istiod` for the
/// default revision, `istiod-<revision>` otherwise. proxy-status shows it in its ISTIOD column.
pub fn control_plane_name(revision: &str) -> String {
    if revision == "default" {
        "istiod".to_string()
    } else {
        format!("istiod-{revision}")
    }
}

impl ControlPlaneRecord {
    pub fn name(&self) -> String {
        control_plane_name(&self.revision)
    }

    pub fn running(&self) -> bool {
        process_alive(self.pid)
    }
}

/// A running workload of the local mesh (registered in the config directory by a WorkloadEntry
/// of the same name): `ferryctl workload run`, which runs the application and its sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadRecord {
    pub name: String,
    pub namespace: String,
    /// Where it serves (its WorkloadEntry's address and first port).
    pub address: SocketAddr,
    pub labels: BTreeMap<String, String>,
    /// The process to stop to stop the workload (`workload run`, which stops the rest).
    pub pid: u32,
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// The application's own process, stopped too if `pid` is gone without stopping it.
    #[serde(default)]
    pub app_pid: Option<u32>,
    /// The loopback addresses it holds (its own and its sidecar's outbound one).
    #[serde(default)]
    pub addresses: Vec<std::net::IpAddr>,
    /// The control plane revision or tag its sidecar is to use (`istio.io/rev`); `workload
    /// restart --revision` changes it before asking the run to restart the sidecar.
    #[serde(default = "default_revision")]
    pub revision: String,
}

fn default_revision() -> String {
    "default".to_string()
}

impl WorkloadRecord {
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.namespace)
    }

    pub fn running(&self) -> bool {
        process_alive(self.pid)
    }
}

/// The records under one [`Home`].
#[derive(Debug, Clone)]
pub struct Registry {
    home: Home,
}

impl Registry {
    /// The registry of the home the environment names (see [`Home::from_env`]).
    pub fn open() -> Result<Registry, RegistryError> {
        Ok(Registry::at(Home::from_env()?))
    }

    pub fn at(home: Home) -> Registry {
        Registry { home }
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    /// Every registered proxy, sorted by id.
    pub fn proxies(&self) -> Result<Vec<ProxyRecord>, RegistryError> {
        let mut all: Vec<ProxyRecord> = read_dir_records(&self.home.proxies_dir())?;
        all.sort_by_key(ProxyRecord::id);
        Ok(all)
    }

    /// Every registered control plane, sorted by revision.
    pub fn control_planes(&self) -> Result<Vec<ControlPlaneRecord>, RegistryError> {
        let mut all: Vec<ControlPlaneRecord> = read_dir_records(&self.home.revisions_dir())?;
        all.sort_by(|a, b| a.revision.cmp(&b.revision));
        Ok(all)
    }

    pub fn control_plane(&self, rev: &str) -> Result<Option<ControlPlaneRecord>, RegistryError> {
        read_record(&self.home.control_plane_file(rev))
    }

    /// The proxy `query` names: istioctl's `[<type>/]<name>[.<namespace>]`, the namespace
    /// defaulting to `default`.
    pub fn find_proxy(&self, query: &str) -> Result<ProxyRecord, RegistryError> {
        self.find_proxy_in(query, "default")
    }

    /// As [`Registry::find_proxy`], with the namespace used when `query` names none.
    pub fn find_proxy_in(
        &self,
        query: &str,
        namespace: &str,
    ) -> Result<ProxyRecord, RegistryError> {
        let id = proxy_id(query, namespace);
        // The record's file first: polls of one proxy read one file, not the directory.
        if let Some(found) = self.proxy(&id)? {
            return Ok(found);
        }
        let all = self.proxies()?;
        let ids: Vec<String> = all.iter().map(ProxyRecord::id).collect();
        Err(RegistryError::ProxyNotFound {
            query: id.clone(),
            home: self.home.root().to_path_buf(),
            known: ids.len(),
            close: close_matches(&id, &ids),
        })
    }

    /// The proxy whose id (`<name>.<namespace>`) is `id`, if recorded.
    pub fn proxy(&self, id: &str) -> Result<Option<ProxyRecord>, RegistryError> {
        read_record(&self.home.proxy_file(id))
    }

    /// The workload whose id (`<name>.<namespace>`) is `id`, if recorded.
    pub fn workload(&self, id: &str) -> Result<Option<WorkloadRecord>, RegistryError> {
        read_record(&self.home.workload_file(id))
    }

    /// Every registered workload, sorted by id.
    pub fn workloads(&self) -> Result<Vec<WorkloadRecord>, RegistryError> {
        let mut all: Vec<WorkloadRecord> = read_dir_records(&self.home.workloads_dir())?;
        all.sort_by_key(WorkloadRecord::id);
        Ok(all)
    }

    pub fn write_workload(&self, record: &WorkloadRecord) -> Result<(), RegistryError> {
        write_record(&self.home.workload_file(&record.id()), record)
    }

    pub fn remove_workload(&self, id: &str) -> Result<(), RegistryError> {
        remove_file(&self.home.workload_file(id))
    }

    pub fn write_proxy(&self, record: &ProxyRecord) -> Result<(), RegistryError> {
        write_record(&self.home.proxy_file(&record.id()), record)
    }

    pub fn remove_proxy(&self, id: &str) -> Result<(), RegistryError> {
        remove_file(&self.home.proxy_file(id))
    }

    pub fn write_control_plane(&self, record: &ControlPlaneRecord) -> Result<(), RegistryError> {
        write_record(&self.home.control_plane_file(&record.revision), record)
    }

    pub fn remove_control_plane(&self, rev: &str) -> Result<(), RegistryError> {
        remove_file(&self.home.control_plane_file(rev))
    }
}

/// Ids close to `wanted`: the same name in another namespace, a name that is a prefix either way,
/// or a name a few edits away; at most three, closest first.
fn close_matches(wanted: &str, ids: &[String]) -> Vec<String> {
    let name_of = |id: &str| id.rsplit_once('.').map_or(id, |(name, _)| name).to_string();
    let wanted_name = name_of(wanted);
    let budget = (wanted_name.chars().count() / 4).max(1);
    let mut scored: Vec<(usize, &String)> = ids
        .iter()
        .filter_map(|id| {
            let name = name_of(id);
            let distance = crate::install::schema::edit_distance(&wanted_name, &name);
            let close = distance <= budget
                || name.starts_with(&wanted_name)
                || wanted_name.starts_with(&name);
            close.then_some((distance, id))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, id)| id.clone())
        .collect()
}

pub(crate) fn read_dir_records<T: for<'de> Deserialize<'de>>(
    dir: &Path,
) -> Result<Vec<T>, RegistryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RegistryError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RegistryError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json")
            && let Some(record) = read_record(&path)?
        {
            out.push(record);
        }
    }
    Ok(out)
}

fn read_record<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, RegistryError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        // Removed between listing and reading: the component just stopped.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RegistryError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| RegistryError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes `value` as JSON through a temp file and a rename, so a reader sees the old record or
/// the new one, never half of one.
pub fn write_record<T: Serialize>(path: &Path, value: &T) -> Result<(), RegistryError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| RegistryError::Write {
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    text.push(b'\n');
    write_atomically(path, &text).map_err(|source| RegistryError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` through a temp file (this process's, dot-named: the control plane
/// ignores it) and a rename, creating the directory: readers, the control plane watching the
/// config directory included, see the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map_or_else(Default::default, |n| n.to_string_lossy()),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Removes `path`; one already gone is fine.
pub(crate) fn remove_file(path: &Path) -> Result<(), RegistryError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(RegistryError::Write {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The proxy id (`<name>.<namespace>`) istioctl's `[<type>/]<name>[.<namespace>]` names, the
/// namespace defaulting to `namespace`.
pub fn proxy_id(query: &str, namespace: &str) -> String {
    let bare = query.split_once('/').map_or(query, |(_, name)| name);
    if bare.contains('.') {
        bare.to_string()
    } else {
        format!("{bare}.{namespace}")
    }
}

/// Whether `pid` is a live process (not a zombie). Linux's /proc; the local mesh is a Linux
/// feature for now.
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_ids_take_istioctls_pod_syntax() {
        assert_eq!(proxy_id("reviews-v1", "default"), "reviews-v1.default");
        assert_eq!(
            proxy_id("pod/gw.istio-system", "default"),
            "gw.istio-system"
        );
        assert_eq!(proxy_id("deployment/x", "bookinfo"), "x.bookinfo");
    }

    fn proxy(name: &str, ns: &str) -> ProxyRecord {
        ProxyRecord {
            name: name.into(),
            namespace: ns.into(),
            role: ProxyRole::Sidecar,
            revision: "default".into(),
            admin: "127.0.0.1:15000".parse().expect("addr"),
            discovery: "127.0.0.1:15010".parse().expect("addr"),
            labels: BTreeMap::from([("app".into(), "reviews".into())]),
            pid: std::process::id(),
            log: None,
            health: Health::default(),
        }
    }

    #[test]
    fn records_round_trip_and_find_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let reg = Registry::at(Home::at(dir.path()));
        assert!(reg.proxies().expect("empty").is_empty());
        reg.write_proxy(&proxy("reviews-v1", "default"))
            .expect("write");
        reg.write_proxy(&proxy("reviews-v2", "default"))
            .expect("write");
        reg.write_proxy(&proxy("ingressgateway", "istio-system"))
            .expect("write");
        let all = reg.proxies().expect("list");
        assert_eq!(all.len(), 3);
        assert!(all[0].running(), "this test process is alive");
        assert_eq!(
            reg.find_proxy("reviews-v1").expect("found").id(),
            "reviews-v1.default"
        );
        assert_eq!(
            reg.find_proxy("pod/ingressgateway.istio-system")
                .expect("found")
                .name,
            "ingressgateway"
        );
        reg.remove_proxy("reviews-v2.default").expect("remove");
        assert_eq!(reg.proxies().expect("list").len(), 2);
    }

    #[test]
    fn unknown_proxies_list_close_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let reg = Registry::at(Home::at(dir.path()));
        let err = reg.find_proxy("reviews").expect_err("none");
        assert!(
            err.to_string().contains("no proxies are registered"),
            "{err}"
        );
        reg.write_proxy(&proxy("reviews-v1", "default"))
            .expect("write");
        reg.write_proxy(&proxy("ratings-v1", "default"))
            .expect("write");
        reg.write_proxy(&proxy("reviews-v2", "bookinfo"))
            .expect("write");
        let err = reg.find_proxy("reviews-v3").expect_err("none").to_string();
        assert!(
            err.contains("did you mean reviews-v1.default, reviews-v2.bookinfo?"),
            "{err}"
        );
        assert!(!err.contains("ratings"), "{err}");
        let err = reg.find_proxy("zzz").expect_err("none").to_string();
        assert!(err.contains("3 proxies registered"), "{err}");
    }

    #[test]
    fn a_corrupt_record_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::at(dir.path());
        std::fs::create_dir_all(home.proxies_dir()).expect("mkdir");
        std::fs::write(home.proxy_file("x.default"), "{").expect("write");
        let err = Registry::at(home)
            .proxies()
            .expect_err("corrupt")
            .to_string();
        assert!(
            err.contains("x.default.json is not a valid record"),
            "{err}"
        );
    }

    #[test]
    fn dead_processes_are_not_running() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX - 1));
    }
}
