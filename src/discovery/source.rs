//! Config sources for the control plane: where the objects come from (a watched directory or a
//! Kubernetes API server) and the part they share, [`ConfigSnapshots`]: it turns each complete
//! set of objects into a [`PushContext`], serves per-proxy snapshots computed from it and signals
//! the xDS server's debounced push path.

pub mod dir;
pub mod kube;
pub mod multicluster;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::watch;

use crate::config::resource::Resource;
use crate::config::store::Store;
use crate::discovery::dependency::{self, Digest, ObjectKey, SidecarView};
use crate::discovery::mesh::ProxyHeaders;
use crate::discovery::translate::{self as translation, PortMapping, scope};
use crate::discovery::{MeshOptions, Proxy, PushContext, Role, TranslateOptions, translate};
use crate::metrics::Histogram;
use crate::xds::node::{NodeInfo, ProxyRole};
use crate::xds::server::SnapshotSource;
use crate::xds::types::{Snapshot, SnapshotBuilder, TypeUrl, TypesError};

/// istiod's buckets for `pilot_pushcontext_init_seconds`.
const PUSH_CONTEXT_INIT_BUCKETS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 3.0, 5.0];

/// How many publishes' start times are kept for convergence times. A stream more than this
/// many generations behind records no convergence time rather than a wrong one.
const CHANGE_TIMES_KEPT: usize = 64;

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
    /// Each object's digest, to tell which proxies the next publish can affect.
    digests: HashMap<ObjectKey, Digest>,
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
    /// Its own `proxyHeaders` (see [`TranslateOptions::proxy_headers`]).
    proxy_headers: Option<ProxyHeaders>,
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
    /// When each recent publish began (its generation and instant): the start of the proxies'
    /// convergence time.
    change_times: Mutex<VecDeque<(u64, Instant)>>,
    /// `pilot_total_rejected_configs`: per publish, each object refused, by kind and
    /// `namespace/name`.
    pub rejected_configs: Mutex<BTreeMap<(String, String), u64>>,
    /// `pilot_pushcontext_init_seconds`.
    pub push_context_init: Histogram,
}

#[derive(Default)]
struct Cache {
    current: HashMap<ProxyKey, Arc<Snapshot>>,
    /// The snapshots of the config before the last publish, so a rebuilt one keeps the versions
    /// of resources that did not change (`build_reusing`) and only changed types are pushed.
    previous: HashMap<ProxyKey, Arc<Snapshot>>,
    /// Per generation, capture mode and outbound signature: the first sidecar's snapshot,
    /// whose outbound resources the others with that signature share.
    shared: HashMap<(u64, bool, translation::OutboundSignature), Arc<Snapshot>>,
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
            digests: HashMap::new(),
        };
        ConfigSnapshots {
            mesh,
            loaded: RwLock::new(Arc::new(empty)),
            cache: Mutex::new(Cache::default()),
            raw,
            changes,
            change_times: Mutex::new(VecDeque::new()),
            rejected_configs: Mutex::new(BTreeMap::new()),
            push_context_init: Histogram::new(PUSH_CONTEXT_INIT_BUCKETS),
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
        self.publish_clusters(resources, Vec::new(), parse_errors);
    }

    /// [`ConfigSnapshots::publish`] with the Kubernetes objects of remote clusters (cluster ID,
    /// objects): their Services and endpoints join the registry, and a change in them reaches
    /// the proxies it affects as any other change does.
    pub fn publish_clusters(
        &self,
        resources: Vec<Resource>,
        remotes: Vec<(String, Vec<Resource>)>,
        parse_errors: Vec<String>,
    ) {
        let started = Instant::now();
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
        let mut digests = HashMap::new();
        dependency::add_digests(&mut digests, "", &resources);
        for (cluster, objects) in &remotes {
            dependency::add_digests(&mut digests, cluster, objects);
        }
        let remote_stores: Vec<(String, Store)> = remotes
            .into_iter()
            .map(|(cluster, objects)| (cluster, Store::new(objects)))
            .collect();
        let remote_refs: Vec<(&str, &Store)> = remote_stores
            .iter()
            .map(|(cluster, store)| (cluster.as_str(), store))
            .collect();
        let push =
            PushContext::with_remotes(&Store::new(resources), &remote_refs, self.mesh.clone());
        self.push_context_init.observe_duration(started.elapsed());
        {
            let mut counts = self
                .rejected_configs
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for r in push.rejected() {
                eprintln!("ferryctl discovery: {r}");
                let key = (
                    r.kind.to_string().to_lowercase(),
                    format!("{}/{}", r.namespace, r.name),
                );
                *counts.entry(key).or_default() += 1;
            }
        }
        let (old, new) = {
            let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
            let old = loaded.clone();
            *loaded = Arc::new(Loaded {
                push: Arc::new(push),
                objects,
                parse_errors,
                generation: old.generation + 1,
                digests,
            });
            (old, loaded.clone())
        };
        let generation = new.generation;
        {
            let mut times = self
                .change_times
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if times.len() == CHANGE_TIMES_KEPT {
                times.pop_front();
            }
            times.push_back((generation, started));
        }
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let current = std::mem::take(&mut cache.current);
            let (kept, stale) = self.split_unaffected(current, &old, &new);
            cache.current = kept;
            cache.shared.retain(|(g, _, _), _| *g >= generation);
            // Merged rather than replaced: a proxy whose snapshot was not recomputed since an
            // older publish still reuses what it was last sent.
            cache.previous.extend(stale);
        }
        self.raw.send_replace(generation);
    }

    /// Splits the cached snapshots into those the publish from `old` to `new` cannot have
    /// changed (kept as they are, so those proxies are neither translated again nor pushed)
    /// and the rest. Only sidecars are kept: gateways are few and see everything.
    fn split_unaffected(
        &self,
        current: HashMap<ProxyKey, Arc<Snapshot>>,
        old: &Loaded,
        new: &Loaded,
    ) -> (
        HashMap<ProxyKey, Arc<Snapshot>>,
        HashMap<ProxyKey, Arc<Snapshot>>,
    ) {
        let changes = dependency::changed(&old.digests, &new.digests);
        let mut hosts: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for push in [&old.push, &new.push] {
            for s in push.registry().services() {
                hosts
                    .entry(s.namespace.as_str())
                    .or_default()
                    .insert(s.hostname.clone());
            }
        }
        let hosts_in = |ns: &str| hosts.get(ns).cloned().unwrap_or_default();
        let root = self.mesh.root_namespace.as_str();
        let mut kept = HashMap::new();
        let mut stale = HashMap::new();
        for (key, snapshot) in current {
            let unaffected = !key.router && {
                let proxy = Proxy {
                    role: Role::Sidecar,
                    namespace: key.namespace.clone(),
                    labels: key.labels.clone(),
                    ip: Some(key.ip),
                };
                let imported = scope::imported_namespaces(&old.push, &proxy);
                let cluster_hosts: BTreeSet<String> = snapshot
                    .of(TypeUrl::Cluster)
                    .resources()
                    .keys()
                    .filter_map(|name| dependency::cluster_host(name))
                    .map(str::to_string)
                    .collect();
                let view = SidecarView {
                    namespace: &key.namespace,
                    ip: key.ip.to_string(),
                    imported: imported.as_ref(),
                    cluster_hosts: &cluster_hosts,
                };
                !changes
                    .iter()
                    .any(|c| dependency::affects(c, &view, root, &hosts_in))
            };
            if unaffected {
                kept.insert(key, snapshot);
            } else {
                stale.insert(key, snapshot);
            }
        }
        (kept, stale)
    }

    fn key(&self, node: &NodeInfo) -> ProxyKey {
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
        // Istio's agent sends the proxy's ProxyConfig as `PROXY_CONFIG`, its environment's
        // merged over the mesh's `defaultConfig`; Ferry's proxies send their environment's
        // (injection's merge of the pod's `proxy.istio.io/config` over `defaultConfig`),
        // having checked it. So where it names no headers, or ones that cannot be read, the
        // mesh's apply, as they would after the agent's merge. Headers equal to the mesh's
        // are no headers of its own: such proxies share config with the others.
        let proxy_headers = node
            .metadata
            .get("PROXY_CONFIG")
            .and_then(|c| c.get("proxyHeaders"))
            .filter(|h| !h.is_null())
            .and_then(|h| {
                ProxyHeaders::from_json("PROXY_CONFIG proxyHeaders", h)
                    .inspect_err(|e| {
                        tracing::warn!(proxy = %node.proxy_id, "{e}; the mesh's proxyHeaders apply")
                    })
                    .ok()
            })
            .filter(|h| *h != self.mesh.proxy_headers);
        ProxyKey {
            router: node.role == ProxyRole::Router,
            no_capture: node.metadata_str("INTERCEPTION_MODE") == "NONE",
            namespace: node.namespace.clone(),
            labels,
            ip: node.ip,
            proxy_headers,
        }
    }

    fn build(&self, key: &ProxyKey, push: &PushContext, generation: u64) -> Snapshot {
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
            no_capture: key.no_capture,
            proxy_headers: key.proxy_headers.clone(),
        };
        let signature = translation::outbound_signature(push, &proxy, &opts)
            .map(|sig| (generation, key.no_capture, sig));
        let shared = signature.as_ref().and_then(|sig| {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .shared
                .get(sig)
                .cloned()
        });
        let mut builder = Snapshot::builder();
        let add = |r: Result<_, TypesError>| {
            if let Err(e) = r {
                eprintln!("ferryctl discovery: dropping a resource: {e}");
            }
        };
        if let Some(shared) = shared {
            // Another sidecar with this outbound signature was translated in this generation:
            // its outbound resources are this one's too; only the inbound side is translated.
            let (clusters, listeners) = translation::translate_inbound(push, &proxy, &opts);
            let own: BTreeSet<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
            for t in [
                TypeUrl::Listener,
                TypeUrl::RouteConfiguration,
                TypeUrl::Cluster,
                TypeUrl::ClusterLoadAssignment,
            ] {
                for r in shared.of(t).resources().values() {
                    if !translation::is_inbound(r.name()) && !own.contains(r.name()) {
                        add(builder.add(r.clone()).map(|_| ()));
                    }
                }
            }
            for c in clusters {
                add(builder.add_message(c).map(|_| ()));
            }
            for l in listeners {
                add(builder.add_message(l).map(|_| ()));
            }
            return self.finish(key, builder);
        }
        let config = translate(push, &proxy, &opts);
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
        for s in config.secrets {
            add(builder.add_message(s).map(|_| ()));
        }
        let snapshot = self.finish(key, builder);
        if let Some(sig) = signature {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .shared
                .insert(sig, Arc::new(snapshot.clone()));
        }
        snapshot
    }

    /// The snapshot of `builder`, keeping the versions of what `key` was sent before.
    fn finish(&self, key: &ProxyKey, builder: SnapshotBuilder) -> Snapshot {
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
        let key = self.key(node);
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
        let snapshot = Arc::new(self.build(&key, &loaded.push, loaded.generation));
        // Only cache it if no publish happened meanwhile; otherwise the next change signal
        // recomputes it from the new config.
        if self.current().generation == loaded.generation {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            // The snapshot it was built from is no longer needed: its versions live on in
            // this one.
            cache.previous.remove(&key);
            cache.current.insert(key, snapshot.clone());
        }
        snapshot
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    fn change_started(&self, after: u64, generation: u64) -> Option<Instant> {
        let times = self
            .change_times
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The first publish after `after`; unknown once it has aged out of the window.
        times
            .iter()
            .find(|(g, _)| *g == after + 1 && *g <= generation)
            .map(|(_, at)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::{LoadOptions, parse_file};
    use crate::discovery::mesh::ServerHeaderPolicy;
    use crate::xds::node::json_to_struct;
    use envoy_types::pb::envoy::config::core::v3::Node;
    use envoy_types::pb::envoy::config::listener::v3::{Listener, filter};
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
    use prost::Message;
    use serde_json::json;

    const SHOP: &str = "apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.1.1
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
";

    fn sidecar(ip: &str, metadata: Value) -> NodeInfo {
        let Value::Object(metadata) = metadata else {
            panic!("metadata is an object");
        };
        NodeInfo::parse(&Node {
            id: format!("sidecar~{ip}~client-{ip}.shop~shop.svc.cluster.local"),
            metadata: Some(json_to_struct(&metadata)),
            ..Node::default()
        })
        .expect("a valid node")
    }

    /// The server name of the sidecar's outbound HTTP listener on port 80.
    fn outbound_server_name(snapshot: &Snapshot) -> String {
        let any = snapshot
            .of(TypeUrl::Listener)
            .get("0.0.0.0_80")
            .expect("the outbound listener for web")
            .any();
        let listener = Listener::decode(any.value.as_slice()).expect("a listener");
        let Some(filter::ConfigType::TypedConfig(hcm)) =
            &listener.filter_chains[0].filters[0].config_type
        else {
            panic!("typed config");
        };
        HttpConnectionManager::decode(hcm.value.as_slice())
            .expect("a connection manager")
            .server_name
    }

    /// A proxy's `PROXY_CONFIG` (its pod's `proxy.istio.io/config`) names the headers for it
    /// alone: a sidecar beside it in the same namespace, whose outbound config is otherwise
    /// the same and shared, keeps the mesh's.
    #[test]
    fn a_proxys_own_proxy_headers_replace_the_meshs_for_it_alone() {
        let (raw, changes) = watch::channel(0);
        let mesh = MeshOptions {
            proxy_headers: ProxyHeaders {
                server: ServerHeaderPolicy::Named("mesh/1".into()),
                ..ProxyHeaders::default()
            },
            ..MeshOptions::default()
        };
        let snapshots = ConfigSnapshots::new(mesh, raw, changes);
        let parsed = parse_file("shop.yaml", SHOP, &LoadOptions::default());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        snapshots.publish(parsed.resources, Vec::new());

        let plain = snapshots.snapshot(&sidecar("10.0.0.1", json!({})));
        let own = json!({"PROXY_CONFIG": {"concurrency": 2,
            "proxyHeaders": {"server": {"value": "shop/2"}}}});
        let named = snapshots.snapshot(&sidecar("10.0.0.2", own));
        let unset = json!({"PROXY_CONFIG": {"concurrency": 2}});
        let without = snapshots.snapshot(&sidecar("10.0.0.3", unset));
        assert_eq!(outbound_server_name(&plain), "mesh/1");
        assert_eq!(outbound_server_name(&named), "shop/2");
        assert_eq!(outbound_server_name(&without), "mesh/1");
        // Asked again (the cached snapshots), the answers hold.
        let again = snapshots.snapshot(&sidecar("10.0.0.1", json!({})));
        assert_eq!(outbound_server_name(&again), "mesh/1");
        // The headers are the proxy's own, not its address's: a proxy at the same address
        // (a restarted pod) with other headers gets its own.
        let other = json!({"PROXY_CONFIG": {"proxyHeaders": {"server": {"value": "shop/3"}}}});
        let moved = snapshots.snapshot(&sidecar("10.0.0.2", other));
        assert_eq!(outbound_server_name(&moved), "shop/3");

        // Headers the control plane cannot read leave the proxy with the mesh's.
        let bad = json!({"PROXY_CONFIG": {"proxyHeaders": {"server": {"value": 5}}}});
        assert_eq!(
            outbound_server_name(&snapshots.snapshot(&sidecar("10.0.0.4", bad))),
            "mesh/1"
        );
    }
}
