//! Config sources for the control plane: where the objects come from (a watched directory or a
//! Kubernetes API server) and the part they share, [`ConfigSnapshots`]: it turns each complete
//! set of objects into a [`PushContext`], serves per-proxy snapshots computed from it and signals
//! the xDS server's debounced push path.

pub mod dir;
pub mod kube;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde_json::Value;
use tokio::sync::watch;

use crate::config::resource::Resource;
use crate::config::store::Store;
use crate::discovery::translate::PortMapping;
use crate::discovery::{MeshOptions, Proxy, PushContext, Role, TranslateOptions, translate};
use crate::xds::node::{NodeInfo, ProxyRole};
use crate::xds::server::SnapshotSource;
use crate::xds::types::Snapshot;

/// One published config: the push context and what /debug/configz reports.
pub struct Loaded {
    pub push: Arc<PushContext>,
    /// `kind/namespace/name` and where each object was read from (`file:line`, or the API
    /// path of a watched object).
    pub objects: Vec<(String, String)>,
    /// Objects that could not be read at all (bad YAML, bad metadata), one message each.
    pub parse_errors: Vec<String>,
    /// 0 until the first publish; then one more per publish.
    pub generation: u64,
}

/// The proxies that see the same config share one snapshot: istiod computes config from these.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ProxyKey {
    router: bool,
    /// Istio's `INTERCEPTION_MODE: NONE`: no iptables, so outbound listeners bind their ports.
    no_capture: bool,
    namespace: String,
    labels: BTreeMap<String, String>,
    ip: IpAddr,
}

/// A [`SnapshotSource`] over whatever a source last published: snapshots are computed on demand
/// per proxy and cached until the config changes.
pub struct ConfigSnapshots {
    mesh: MeshOptions,
    loaded: RwLock<Arc<Loaded>>,
    cache: Mutex<Cache>,
    /// Bumped on every publish; the debouncer in front of `changes` coalesces bursts.
    raw: watch::Sender<u64>,
    changes: watch::Receiver<u64>,
}

#[derive(Default)]
struct Cache {
    current: HashMap<ProxyKey, Arc<Snapshot>>,
    /// The snapshots of the config before the last publish, so a rebuilt one keeps the versions
    /// of resources that did not change (`build_reusing`) and only changed types are pushed.
    previous: HashMap<ProxyKey, Arc<Snapshot>>,
}

impl ConfigSnapshots {
    /// `raw` is signalled on each publish; `changes` is what the xDS server waits on (the
    /// debounced view of `raw`).
    pub fn new(
        mesh: MeshOptions,
        raw: watch::Sender<u64>,
        changes: watch::Receiver<u64>,
    ) -> ConfigSnapshots {
        let empty = Loaded {
            push: Arc::new(PushContext::new(&Store::new(Vec::new()), mesh.clone())),
            objects: Vec::new(),
            parse_errors: Vec::new(),
            generation: 0,
        };
        ConfigSnapshots {
            mesh,
            loaded: RwLock::new(Arc::new(empty)),
            cache: Mutex::new(Cache::default()),
            raw,
            changes,
        }
    }

    /// The config last published.
    pub fn current(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the whole config with `resources`. Every Istio object goes through the
    /// validator here (in [`PushContext::new`]): an invalid one is rejected alone and listed in
    /// /debug/configz. Blocking work: call it off the async workers.
    pub fn publish(&self, resources: Vec<Resource>, parse_errors: Vec<String>) {
        for e in &parse_errors {
            eprintln!("ferryctl discovery: {e}");
        }
        let objects = resources
            .iter()
            .map(|r| {
                (
                    format!("{}/{}/{}", r.kind, r.effective_namespace(), r.name()),
                    r.origin.to_string(),
                )
            })
            .collect();
        let push = PushContext::new(&Store::new(resources), self.mesh.clone());
        for r in push.rejected() {
            eprintln!("ferryctl discovery: {r}");
        }
        let generation = {
            let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
            let generation = loaded.generation + 1;
            *loaded = Arc::new(Loaded {
                push: Arc::new(push),
                objects,
                parse_errors,
                generation,
            });
            generation
        };
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            // Merged rather than replaced: a proxy whose snapshot was not recomputed since an
            // older publish still reuses what it was last sent.
            let current = std::mem::take(&mut cache.current);
            cache.previous.extend(current);
        }
        self.raw.send_replace(generation);
    }

    fn key(node: &NodeInfo) -> ProxyKey {
        let labels = node
            .metadata
            .get("LABELS")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        ProxyKey {
            router: node.role == ProxyRole::Router,
            no_capture: node.metadata_str("INTERCEPTION_MODE") == "NONE",
            namespace: node.namespace.clone(),
            labels,
            ip: node.ip,
        }
    }

    fn build(&self, key: &ProxyKey, push: &PushContext) -> Snapshot {
        let proxy = Proxy {
            role: if key.router {
                Role::Router
            } else {
                Role::Sidecar
            },
            namespace: key.namespace.clone(),
            labels: key.labels.clone(),
            ip: Some(key.ip),
        };
        let opts = TranslateOptions {
            // Gateways run as istio's ingress gateway does: 80 and 443 on 8080 and 8443.
            gateway_ports: if key.router {
                PortMapping::istio_ingress()
            } else {
                PortMapping::identity()
            },
            bind_outbound_listeners: key.no_capture,
        };
        let config = translate(push, &proxy, &opts);
        let mut builder = Snapshot::builder();
        let add = |r: Result<_, crate::xds::types::TypesError>| {
            if let Err(e) = r {
                eprintln!("ferryctl discovery: dropping a resource: {e}");
            }
        };
        for l in config.listeners {
            add(builder.add_message(l).map(|_| ()));
        }
        for r in config.routes {
            add(builder.add_message(r).map(|_| ()));
        }
        for c in config.clusters {
            add(builder.add_message(c).map(|_| ()));
        }
        for e in config.endpoints {
            add(builder.add_message(e).map(|_| ()));
        }
        let previous = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .previous
            .get(key)
            .cloned();
        match previous {
            Some(prev) => builder.build_reusing(&prev),
            None => builder.build(),
        }
    }
}

impl SnapshotSource for ConfigSnapshots {
    fn snapshot(&self, node: &NodeInfo) -> Arc<Snapshot> {
        let key = ConfigSnapshots::key(node);
        let loaded = self.current();
        if let Some(s) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current
            .get(&key)
        {
            return s.clone();
        }
        let snapshot = Arc::new(self.build(&key, &loaded.push));
        // Only cache it if no publish happened meanwhile; otherwise the next change signal
        // recomputes it from the new config.
        if self.current().generation == loaded.generation {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .current
                .insert(key, snapshot.clone());
        }
        snapshot
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }
}
