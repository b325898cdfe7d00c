//! The proxy's configuration: what xDS delivered (kept as received, for `/config_dump`) and the
//! compiled [`Runtime`] the request path reads. An update is compiled in full against the rest
//! of the config before anything changes; if any part fails, the update is NACKed and the old
//! runtime keeps serving. Swapping the runtime is one pointer store, so a request sees either
//! the old config or the new one, never a mix.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::{TrafficDirection, address, socket_address};
use envoy_types::pb::envoy::config::core::v3::{TransportSocket, transport_socket};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener, filter};
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager, http_filter,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext;

use super::cluster::{Clients, ClusterEntry};
use super::rbac::Engine;
use super::routes::RouteTable;
use super::secrets::{SdsSecret, SecretStore};
use super::stats::{HttpStats, Stats};
use super::tcp_proxy::{self, TcpProxy};
use super::telemetry::access_log::{self, AccessLog, Files};
use super::telemetry::metrics::Reporter;
use super::tls::DownstreamTls;
use crate::xds::client::{ConfigSink, Update};
use crate::xds::types::{TypeUrl, TypedResource, unpack_any};

const HCM_FILTER: &str = "envoy.filters.network.http_connection_manager";
const HCM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const DOWNSTREAM_TLS_CONTEXT: &str =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

/// A resource as received, with the version of the response that carried it and when it last
/// changed (Envoy's `version_info` / `last_updated` in config dumps).
pub use crate::xds::dump::Versioned as Stored;

/// Every resource the proxy holds, by name.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub listeners: BTreeMap<String, Stored<Listener>>,
    pub routes: BTreeMap<String, Stored<RouteConfiguration>>,
    pub clusters: BTreeMap<String, Stored<Cluster>>,
    pub endpoints: BTreeMap<String, Stored<ClusterLoadAssignment>>,
    /// The version of the last accepted response per type.
    pub versions: BTreeMap<TypeUrl, String>,
}

/// Where a connection manager's routes come from.
#[derive(Debug, Clone)]
pub enum RouteSource {
    Rds(String),
    Inline(Arc<RouteTable>),
}

/// An HTTP connection manager, compiled.
#[derive(Debug, Clone)]
pub struct Hcm {
    pub stat_prefix: String,
    pub routes: RouteSource,
    pub strip_any_host_port: bool,
    /// What it makes of `x-forwarded-proto` and `x-forwarded-for`: the edge (gateways) names
    /// its client itself unless proxies in front are trusted.
    pub forwarded: super::forwarded::Stance,
    /// The RBAC filters; `None` (nothing to evaluate) where no AuthorizationPolicy applies.
    pub rbac: Option<Arc<Engine>>,
    pub stats: Arc<HttpStats>,
    pub forward_client_cert: ForwardClientCert,
    /// Its file access log, if it has one.
    pub access_log: Option<Arc<AccessLog>>,
    /// The share of new traces it samples, in percent (`tracing.random_sampling`); `None`
    /// without tracing.
    pub trace_sampling: Option<f64>,
    /// What responses' `server` header says.
    pub server: super::server_header::ServerHeader,
    /// `generate_request_id` (Envoy's default, true): a request without `x-request-id` gets
    /// one.
    pub generate_request_id: bool,
    /// The router's `suppress_envoy_headers` negated: responses carry
    /// `x-envoy-upstream-service-time`.
    pub envoy_headers: bool,
}

/// Envoy's `forward_client_cert_details`: what becomes of `x-forwarded-client-cert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardClientCert {
    /// Envoy's default: the header is removed.
    Sanitize,
    /// Forwarded as received, on mutual TLS connections only.
    ForwardOnly,
    /// On mutual TLS connections, the client's certificate is appended (Istio's inbound).
    AppendForward,
    /// On mutual TLS connections, replaced by the client's certificate.
    SanitizeSet,
    /// Forwarded as received, always.
    AlwaysForwardOnly,
}

/// What a filter chain does with its connections: its network filter.
#[derive(Debug, Clone)]
pub enum ChainFilter {
    /// `envoy.filters.network.http_connection_manager`.
    Http(Hcm),
    /// `envoy.filters.network.tcp_proxy`.
    Tcp(Arc<TcpProxy>),
}

impl ChainFilter {
    pub fn hcm(&self) -> Option<&Hcm> {
        match self {
            ChainFilter::Http(hcm) => Some(hcm),
            ChainFilter::Tcp(_) => None,
        }
    }
}

/// A TLS-terminating filter chain.
#[derive(Debug, Clone)]
pub struct TlsChain {
    /// `filter_chain_match.server_names`: the SNIs it serves (exact, or `*.suffix`); empty
    /// for any.
    pub server_names: Vec<String>,
    pub config: Arc<DownstreamTls>,
    pub filter: ChainFilter,
}

/// How well `sni` matches a chain with `server_names`, as Envoy's filter chain matching ranks
/// them: an exact name first, then the longest `*.` suffix, then a chain without names. `None`
/// when it does not match.
fn sni_rank(server_names: &[String], sni: Option<&str>) -> Option<usize> {
    if server_names.is_empty() {
        return Some(0);
    }
    let sni = sni?.to_ascii_lowercase();
    server_names
        .iter()
        .filter_map(|name| {
            if *name == sni {
                Some(usize::MAX)
            } else {
                // `*.example.com` matches `a.example.com` and `a.b.example.com`.
                let suffix = name.strip_prefix('*')?;
                (suffix.starts_with('.') && sni.ends_with(suffix) && sni.len() > suffix.len())
                    .then_some(suffix.len())
            }
        })
        .max()
}

/// A listener the proxy binds.
#[derive(Debug, Clone)]
pub struct ListenerEntry {
    pub name: String,
    pub address: SocketAddr,
    /// The plain-text chain's filter; `None` when plain text is refused (STRICT mTLS).
    pub plain: Option<ChainFilter>,
    /// The TLS chains, at most one per set of server names: connections that open with a
    /// TLS handshake go to the one their SNI picks (see [`ListenerEntry::tls_chain`]).
    pub tls: Vec<TlsChain>,
    /// Who reports its requests in Istio's metrics: a sidecar's inbound listener is the
    /// destination, every other (outbound, gateway) the source.
    pub reporter: Reporter,
}

impl ListenerEntry {
    /// The connection manager of a connection: the plain one, or that of TLS chain `chain`;
    /// `None` when that chain is not HTTP.
    pub fn hcm_for(&self, tls_chain: Option<usize>) -> Option<&Hcm> {
        match tls_chain {
            Some(i) => self.tls.get(i)?.filter.hcm(),
            None => self.plain.as_ref()?.hcm(),
        }
    }

    /// Every chain's filter: the plain one, then the TLS ones.
    pub fn filters(&self) -> impl Iterator<Item = &ChainFilter> {
        self.plain.iter().chain(self.tls.iter().map(|t| &t.filter))
    }

    /// Every HTTP connection manager of its chains.
    pub fn hcms(&self) -> impl Iterator<Item = &Hcm> {
        self.filters().filter_map(ChainFilter::hcm)
    }

    /// The TLS chain a ClientHello with `sni` goes to (Envoy's filter chain match on
    /// `server_names`); `None` when no chain matches, and the connection is closed.
    pub fn tls_chain(&self, sni: Option<&str>) -> Option<usize> {
        self.tls
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((sni_rank(&c.server_names, sni)?, i)))
            // The best rank; among equals, the first chain.
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, i)| i)
    }
}

/// The compiled configuration the request path reads.
#[derive(Debug, Default)]
pub struct Runtime {
    pub listeners: BTreeMap<String, Arc<ListenerEntry>>,
    pub routes: ByName<Arc<RouteTable>>,
    pub clusters: ByName<Arc<ClusterEntry>>,
}

/// Resources by name, looked up on every request: hashed with foldhash, seeded per map (the
/// names come from the control plane).
pub type ByName<V> = HashMap<String, V, foldhash::fast::RandomState>;

impl Runtime {
    pub fn route_table<'a>(&'a self, hcm: &'a Hcm) -> Option<&'a Arc<RouteTable>> {
        match &hcm.routes {
            RouteSource::Rds(name) => self.routes.get(name),
            RouteSource::Inline(t) => Some(t),
        }
    }
}

/// Whether the config is complete enough to serve (Envoy's initialization): clusters and
/// listeners received, every EDS cluster's endpoints and every listener's RDS routes too. A
/// proxy that took over another's sockets waits for this before the other stops accepting.
fn initialized(store: &Store, runtime: &Runtime) -> bool {
    let have = |t| store.versions.contains_key(&t);
    have(TypeUrl::Cluster)
        && have(TypeUrl::Listener)
        && runtime
            .clusters
            .values()
            .filter_map(|c| c.eds_name.as_ref())
            .all(|name| store.endpoints.contains_key(name))
        && runtime.listeners.values().all(|l| {
            l.hcms().all(|hcm| match &hcm.routes {
                RouteSource::Rds(name) => runtime.routes.contains_key(name),
                RouteSource::Inline(_) => true,
            })
        })
}

/// Binds and unbinds listener sockets. The proxy's listener task implements it; tests can
/// record calls instead.
pub trait Binder: Send + Sync + 'static {
    /// Binds `address` for `name`; the error says why (address in use, permission).
    fn bind(&self, name: &str, address: SocketAddr) -> Result<(), String>;
    /// Stops accepting on `name` (connections in flight finish).
    fn unbind(&self, name: &str);
}

/// One connection's copy of the runtime: the lock and reference count of [`Shared::runtime`]
/// per request showed in profiles at saturation, and the runtime changes only with xDS.
pub struct RuntimeCache {
    generation: u64,
    runtime: Arc<Runtime>,
    /// The connection's listener (or its filter chain) is gone from the newest runtime: the
    /// connection keeps this one and drains (see [`Shared::connection_runtime`]).
    retired: bool,
}

impl RuntimeCache {
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Whether the connection drains with the runtime it had because its listener is gone.
    pub fn retired(&self) -> bool {
        self.retired
    }
}

/// Everything the proxy's tasks share.
pub struct Shared {
    runtime: RwLock<Arc<Runtime>>,
    /// Bumped each time `runtime` is replaced, after the replacement: a connection that keeps
    /// a runtime checks this one load per request instead of taking the lock (see
    /// [`RuntimeCache`]).
    generation: AtomicU64,
    store: Mutex<Store>,
    pub stats: Stats,
    pub clients: Clients,
    /// The access log files listeners write to.
    pub access_logs: Files,
    binder: Box<dyn Binder>,
    /// Bound listeners: name to address.
    bound: Mutex<BTreeMap<String, SocketAddr>>,
    /// Set once clusters and listeners have been applied, with the endpoints and routes they
    /// name (Envoy's initialization: clusters warm with EDS, listeners with RDS).
    ready: AtomicBool,
    /// Set when the proxy starts draining (Envoy's server state DRAINING).
    draining: AtomicBool,
    /// `default` and `ROOTCA`, what TLS presents and verifies with.
    pub secrets: Arc<SecretStore>,
    /// Whether the proxy gets a workload certificate: it is not ready before it has one (as
    /// Envoy's clusters and listeners that use SDS wait for their secrets).
    needs_certificate: AtomicBool,
}

impl Shared {
    pub fn new(binder: Box<dyn Binder>) -> Shared {
        let secrets: Arc<SecretStore> = Arc::default();
        Shared {
            runtime: RwLock::default(),
            generation: AtomicU64::new(0),
            store: Mutex::default(),
            stats: Stats::default(),
            clients: Clients::new(secrets.clone()),
            access_logs: Files::default(),
            binder,
            bound: Mutex::default(),
            ready: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            secrets,
            needs_certificate: AtomicBool::new(false),
        }
    }

    /// Readiness waits for the workload certificate too.
    pub fn require_certificate(&self) {
        self.needs_certificate.store(true, Ordering::Relaxed);
    }

    /// The current runtime: a cheap clone of an `Arc`.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A connection's copy of the newest runtime (taken when it is accepted).
    pub fn runtime_cache(&self) -> RuntimeCache {
        RuntimeCache {
            // Read before the runtime: at worst a newer runtime under an older number, which
            // the next request reads again.
            generation: self.generation.load(Ordering::Acquire),
            runtime: self.runtime(),
            retired: false,
        }
    }

    /// The runtime a request on a connection of `listener` (on TLS filter chain `tls_chain`)
    /// is served by: `cache`'s, refreshed when a newer one was applied, unless the newer one
    /// has no connection manager there (the listener was removed, or its chain is now TCP).
    /// Then the connection keeps the last runtime that had its listener and is retired, each
    /// request closing it after its answer (HTTP/1.1) or with a GOAWAY (HTTP/2): Envoy drains
    /// a removed listener's connections on the config they had, rather than failing requests
    /// their clients sent before they could know. (Idle connections of a removed listener
    /// close after the drain time, see `server::Drains`; a listener whose chain turned TCP
    /// keeps its name and socket, and its idle connections stay until their idle timeout.)
    pub fn connection_runtime<'c>(
        &self,
        cache: &'c mut RuntimeCache,
        listener: &str,
        tls_chain: Option<usize>,
    ) -> &'c Arc<Runtime> {
        let generation = self.generation.load(Ordering::Acquire);
        if cache.generation != generation && !cache.retired {
            let newest = self.runtime();
            let serves = |runtime: &Runtime| {
                runtime
                    .listeners
                    .get(listener)
                    .is_some_and(|l| l.hcm_for(tls_chain).is_some())
            };
            if serves(&newest) || !serves(&cache.runtime) {
                cache.runtime = newest;
            } else {
                cache.retired = true;
            }
            cache.generation = generation;
        }
        &cache.runtime
    }

    /// A copy of the received resources.
    pub fn store(&self) -> Store {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
            && (!self.needs_certificate.load(Ordering::Relaxed)
                || self.secrets.workload_certificate().is_some())
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// The bound listeners, name to address.
    pub fn bound(&self) -> BTreeMap<String, SocketAddr> {
        self.bound
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Applies one xDS response; `Err` is the NACK message and nothing changed.
    pub fn apply(&self, update: &Update) -> Result<(), String> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.runtime();
        let result = match update.type_url {
            TypeUrl::Cluster => self.apply_clusters(&mut store, &current, update),
            TypeUrl::ClusterLoadAssignment => self.apply_endpoints(&mut store, &current, update),
            TypeUrl::Listener => self.apply_listeners(&mut store, &current, update),
            TypeUrl::RouteConfiguration => self.apply_routes(&mut store, &current, update),
            TypeUrl::Secret => self.apply_secrets(&current, update),
        };
        let (ok, rejected) = match update.type_url {
            TypeUrl::Cluster => (
                &self.stats.cds_update_success,
                &self.stats.cds_update_rejected,
            ),
            TypeUrl::ClusterLoadAssignment => (
                &self.stats.eds_update_success,
                &self.stats.eds_update_rejected,
            ),
            TypeUrl::Listener => (
                &self.stats.lds_update_success,
                &self.stats.lds_update_rejected,
            ),
            TypeUrl::RouteConfiguration => (
                &self.stats.rds_update_success,
                &self.stats.rds_update_rejected,
            ),
            // Envoy counts SDS per secret (`sds.<name>.*`), which the proxy does not keep.
            TypeUrl::Secret => (
                &self.stats.sds_update_success,
                &self.stats.sds_update_rejected,
            ),
        };
        match result {
            Ok(runtime) => {
                ok.inc();
                store
                    .versions
                    .insert(update.type_url, update.version_info.clone());
                *self.runtime.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(runtime);
                self.generation.fetch_add(1, Ordering::Release);
                if !self.ready.load(Ordering::Relaxed) && initialized(&store, &self.runtime()) {
                    self.ready.store(true, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(e) => {
                rejected.inc();
                tracing::warn!(type_url = update.type_url.short_name(), version = %update.version_info, "rejected: {e}");
                Err(e)
            }
        }
    }

    fn apply_clusters(
        &self,
        store: &mut Store,
        current: &Runtime,
        update: &Update,
    ) -> Result<Runtime, String> {
        let mut clusters = ByName::default();
        let mut stored = BTreeMap::new();
        for r in &update.resources {
            let TypedResource::Cluster(c) = r else {
                return Err(format!("a {} in a CDS response", r.type_url().short_name()));
            };
            let entry = compile_cluster(c, store, current, self)?;
            clusters.insert(c.name.clone(), Arc::new(entry));
            stored.insert(
                c.name.clone(),
                keep_time(&store.clusters, &update.version_info, c),
            );
        }
        // Endpoints of clusters that are gone are dropped with them.
        let eds: BTreeSet<String> = clusters
            .values()
            .filter_map(|c| c.eds_name.clone())
            .collect();
        store.endpoints.retain(|name, _| eds.contains(name));
        store.clusters = stored;
        Ok(Runtime {
            listeners: current.listeners.clone(),
            routes: current.routes.clone(),
            clusters,
        })
    }

    fn apply_endpoints(
        &self,
        store: &mut Store,
        current: &Runtime,
        update: &Update,
    ) -> Result<Runtime, String> {
        let mut next = store.endpoints.clone();
        for r in &update.resources {
            let TypedResource::ClusterLoadAssignment(a) = r else {
                return Err(format!(
                    "a {} in an EDS response",
                    r.type_url().short_name()
                ));
            };
            next.insert(
                a.cluster_name.clone(),
                keep_time(&store.endpoints, &update.version_info, a),
            );
        }
        let staged = Store {
            endpoints: next,
            ..Store::default()
        };
        let mut clusters = current.clusters.clone();
        for (name, entry) in &current.clusters {
            let Some(eds) = &entry.eds_name else { continue };
            let changed = staged.endpoints.get(eds).map(|s| &s.resource)
                != store.endpoints.get(eds).map(|s| &s.resource);
            if !changed {
                continue;
            }
            let Some(c) = store.clusters.get(name) else {
                continue;
            };
            let rebuilt = compile_cluster(&c.resource, &staged, current, self)?;
            clusters.insert(name.clone(), Arc::new(rebuilt));
        }
        store.endpoints = staged.endpoints;
        Ok(Runtime {
            listeners: current.listeners.clone(),
            routes: current.routes.clone(),
            clusters,
        })
    }

    /// SDS: the secrets are compiled (all or none), then installed in the secret store, where
    /// TLS reads them per handshake; the runtime itself does not change.
    fn apply_secrets(&self, current: &Runtime, update: &Update) -> Result<Runtime, String> {
        let mut compiled = Vec::new();
        for r in &update.resources {
            let TypedResource::Secret(secret) = r else {
                return Err(format!(
                    "a {} in an SDS response",
                    r.type_url().short_name()
                ));
            };
            compiled.push(Arc::new(
                SdsSecret::compile(secret).map_err(|e| e.to_string())?,
            ));
        }
        self.secrets
            .install_sds(compiled, &update.version_info, SystemTime::now());
        Ok(Runtime {
            listeners: current.listeners.clone(),
            routes: current.routes.clone(),
            clusters: current.clusters.clone(),
        })
    }

    fn apply_routes(
        &self,
        store: &mut Store,
        current: &Runtime,
        update: &Update,
    ) -> Result<Runtime, String> {
        let mut routes = current.routes.clone();
        let mut stored = store.routes.clone();
        for r in &update.resources {
            let TypedResource::RouteConfiguration(rc) = r else {
                return Err(format!(
                    "a {} in an RDS response",
                    r.type_url().short_name()
                ));
            };
            let table = RouteTable::compile(rc).map_err(|e| e.to_string())?;
            routes.insert(rc.name.clone(), Arc::new(table));
            stored.insert(
                rc.name.clone(),
                keep_time(&store.routes, &update.version_info, rc),
            );
        }
        store.routes = stored;
        Ok(Runtime {
            listeners: current.listeners.clone(),
            routes,
            clusters: current.clusters.clone(),
        })
    }

    fn apply_listeners(
        &self,
        store: &mut Store,
        current: &Runtime,
        update: &Update,
    ) -> Result<Runtime, String> {
        let mut listeners = BTreeMap::new();
        let mut stored = BTreeMap::new();
        for r in &update.resources {
            let TypedResource::Listener(l) = r else {
                return Err(format!(
                    "a {} in an LDS response",
                    r.type_url().short_name()
                ));
            };
            stored.insert(
                l.name.clone(),
                keep_time(&store.listeners, &update.version_info, l),
            );
            if let Some(entry) = compile_listener(l, &self.stats, &self.secrets, &self.access_logs)?
            {
                listeners.insert(l.name.clone(), Arc::new(entry));
            }
        }
        self.rebind(&listeners)?;
        // Routes no listener refers to any more are dropped, as Envoy drops their RDS subscription.
        let wanted: BTreeSet<&str> = listeners
            .values()
            .flat_map(|l| l.hcms())
            .filter_map(|hcm| match &hcm.routes {
                RouteSource::Rds(n) => Some(n.as_str()),
                RouteSource::Inline(_) => None,
            })
            .collect();
        store.routes.retain(|n, _| wanted.contains(n.as_str()));
        let routes = current
            .routes
            .iter()
            .filter(|(n, _)| wanted.contains(n.as_str()))
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        store.listeners = stored;
        Ok(Runtime {
            listeners,
            routes,
            clusters: current.clusters.clone(),
        })
    }

    /// Binds new listeners and unbinds removed ones. All new binds succeed or none stay.
    fn rebind(&self, listeners: &BTreeMap<String, Arc<ListenerEntry>>) -> Result<(), String> {
        let mut bound = self.bound.lock().unwrap_or_else(PoisonError::into_inner);
        let mut added: Vec<String> = Vec::new();
        for (name, l) in listeners {
            if bound.get(name) == Some(&l.address) {
                continue;
            }
            if let Some(old) = bound.get(name).copied() {
                // Same name, new address: Envoy rejects changing a listener's address.
                return Err(format!(
                    "listener {name}: cannot change its address from {old} to {}",
                    l.address
                ));
            }
            if let Err(e) = self.binder.bind(name, l.address) {
                // A TCP-only listener that cannot be bound is left out, not NACKed: without
                // traffic capture, the control plane's outbound TCP listeners name service
                // addresses (a ClusterIP) that no local interface has, and rejecting them
                // would reject every HTTP listener that came with them.
                if l.hcms().next().is_none() {
                    tracing::warn!(listener = %name, address = %l.address, "TCP listener not served: {e}");
                    continue;
                }
                for n in &added {
                    self.binder.unbind(n);
                }
                return Err(format!("listener {name}: cannot bind {}: {e}", l.address));
            }
            added.push(name.clone());
        }
        for name in &added {
            bound.insert(name.clone(), listeners[name].address);
        }
        let gone: Vec<String> = bound
            .keys()
            .filter(|n| !listeners.contains_key(*n))
            .cloned()
            .collect();
        for name in gone {
            self.binder.unbind(&name);
            bound.remove(&name);
        }
        Ok(())
    }
}

impl ConfigSink for Arc<Shared> {
    fn apply(&mut self, update: &Update) -> Result<(), String> {
        Shared::apply(self, update)
    }
}

/// The stored form of `resource`: the old timestamp if it did not change.
fn keep_time<T: Clone + PartialEq + Named>(
    old: &BTreeMap<String, Stored<T>>,
    version: &str,
    resource: &T,
) -> Stored<T> {
    match old.get(resource.resource_name()) {
        Some(s) if &s.resource == resource => s.clone(),
        _ => Stored {
            version_info: version.to_string(),
            last_updated: SystemTime::now(),
            resource: resource.clone(),
        },
    }
}

/// The name a resource is stored under.
pub trait Named {
    fn resource_name(&self) -> &str;
}

impl Named for Listener {
    fn resource_name(&self) -> &str {
        &self.name
    }
}
impl Named for Cluster {
    fn resource_name(&self) -> &str {
        &self.name
    }
}
impl Named for RouteConfiguration {
    fn resource_name(&self) -> &str {
        &self.name
    }
}
impl Named for ClusterLoadAssignment {
    fn resource_name(&self) -> &str {
        &self.cluster_name
    }
}

fn compile_cluster(
    c: &Cluster,
    store: &Store,
    current: &Runtime,
    shared: &Shared,
) -> Result<ClusterEntry, String> {
    let eds_name = c
        .eds_cluster_config
        .as_ref()
        .map(|e| e.service_name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(&c.name);
    let assignment = store.endpoints.get(eds_name).map(|s| &s.resource);
    ClusterEntry::compile(
        c,
        assignment,
        current.clusters.get(&c.name).map(|e| e.as_ref()),
        &shared.stats,
        &shared.clients,
    )
    .map_err(|e| e.to_string())
}

/// The listener as the proxy serves it; `None` for listeners it does not bind: those that need
/// traffic capture (`use_original_dst`, `bind_to_port: false`) or carry neither an HTTP
/// connection manager nor a TCP proxy.
///
/// Of its filter chains, the first plain-text one with an HTTP connection manager or a TCP
/// proxy serves, and the first TLS-terminating one per set of `server_names` (Istio's inbound chains for
/// PERMISSIVE mTLS are one plain and one TLS; STRICT has only the TLS one; a gateway's HTTPS
/// servers are one TLS chain per server, matched by SNI). A TLS chain whose secrets the proxy
/// cannot serve (an SDS server other than the control plane) is skipped.
fn compile_listener(
    l: &Listener,
    stats: &Stats,
    secrets: &Arc<SecretStore>,
    files: &Files,
) -> Result<Option<ListenerEntry>, String> {
    #[allow(deprecated)]
    let original_dst = l.use_original_dst.as_ref().is_some_and(|b| b.value);
    if l.bind_to_port.as_ref().is_some_and(|b| !b.value) || original_dst {
        return Ok(None);
    }
    let Some(address::Address::SocketAddress(sa)) =
        l.address.as_ref().and_then(|a| a.address.as_ref())
    else {
        return Err(format!("listener {}: no socket address", l.name));
    };
    let Some(socket_address::PortSpecifier::PortValue(port)) = sa.port_specifier else {
        return Err(format!("listener {}: no port", l.name));
    };
    let ip = sa
        .address
        .parse()
        .map_err(|_| format!("listener {}: address {:?} is not an IP", l.name, sa.address))?;
    let port = u16::try_from(port).map_err(|_| format!("listener {}: port {port}", l.name))?;
    // The chain's HTTP connection manager, else its TCP proxy.
    let filter_of = |c: &FilterChain| -> Option<Result<ChainFilter, String>> {
        if let Some(f) = c.filters.iter().find(|f| f.name == HCM_FILTER || is_hcm(f)) {
            return Some(compile_hcm(l, f, stats, files).map(ChainFilter::Http));
        }
        let f = c.filters.iter().find(|f| tcp_proxy::is_tcp_proxy(f))?;
        Some(
            TcpProxy::compile(f, stats)
                .map(|t| ChainFilter::Tcp(Arc::new(t)))
                .map_err(|e| format!("listener {}: {e}", l.name)),
        )
    };
    let mut plain = None;
    let mut tls: Vec<TlsChain> = Vec::new();
    for chain in l.default_filter_chain.iter().chain(l.filter_chains.iter()) {
        match &chain.transport_socket {
            None if plain.is_none() => plain = filter_of(chain).transpose()?,
            None => {}
            Some(ts) => {
                let mut server_names: Vec<String> = chain
                    .filter_chain_match
                    .as_ref()
                    .map(|m| {
                        m.server_names
                            .iter()
                            .map(|n| n.to_ascii_lowercase())
                            .collect()
                    })
                    .unwrap_or_default();
                server_names.sort();
                if tls.iter().any(|t| t.server_names == server_names) {
                    continue;
                }
                let Some(filter) = filter_of(chain).transpose()? else {
                    continue;
                };
                match downstream_tls(ts, secrets) {
                    Ok(Some(config)) => tls.push(TlsChain {
                        server_names,
                        config,
                        filter,
                    }),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(listener = %l.name, "TLS filter chain not served: {e}");
                    }
                }
            }
        }
    }
    if plain.is_none() && tls.is_empty() {
        return Ok(None);
    }
    let reporter = if l.traffic_direction == TrafficDirection::Inbound as i32 {
        Reporter::Destination
    } else {
        Reporter::Source
    };
    Ok(Some(ListenerEntry {
        name: l.name.clone(),
        address: SocketAddr::new(ip, port),
        plain,
        tls,
        reporter,
    }))
}

/// A chain's `DownstreamTlsContext`; `None` for other transport sockets (`raw_buffer`).
fn downstream_tls(
    ts: &TransportSocket,
    secrets: &Arc<SecretStore>,
) -> Result<Option<Arc<DownstreamTls>>, String> {
    let Some(transport_socket::ConfigType::TypedConfig(any)) = &ts.config_type else {
        return Ok(None);
    };
    if any.type_url != DOWNSTREAM_TLS_CONTEXT {
        return Ok(None);
    }
    let ctx: DownstreamTlsContext = unpack_any(any).map_err(|e| e.to_string())?;
    DownstreamTls::compile(&ctx, secrets)
        .map(|t| Some(Arc::new(t)))
        .map_err(|e| e.to_string())
}

fn compile_hcm(l: &Listener, hcm: &Filter, stats: &Stats, files: &Files) -> Result<Hcm, String> {
    let Some(filter::ConfigType::TypedConfig(any)) = &hcm.config_type else {
        return Err(format!(
            "listener {}: the HTTP connection manager has no config",
            l.name
        ));
    };
    let hcm: HttpConnectionManager =
        unpack_any(any).map_err(|e| format!("listener {}: {e}", l.name))?;
    let routes = match &hcm.route_specifier {
        Some(http_connection_manager::RouteSpecifier::Rds(rds)) => {
            RouteSource::Rds(rds.route_config_name.clone())
        }
        Some(http_connection_manager::RouteSpecifier::RouteConfig(rc)) => RouteSource::Inline(
            Arc::new(RouteTable::compile(rc).map_err(|e| format!("listener {}: {e}", l.name))?),
        ),
        _ => {
            return Err(format!(
                "listener {}: scoped routes are not supported",
                l.name
            ));
        }
    };
    let mut access_log = None;
    for entry in &hcm.access_log {
        // The first file logger: Ferry writes one log per listener.
        if access_log.is_none() {
            access_log = access_log::compile(entry, files)
                .map_err(|e| format!("listener {}: {e}", l.name))?
                .map(Arc::new);
        }
    }
    let trace_sampling = hcm.tracing.as_ref().map(|t| {
        t.random_sampling
            .as_ref()
            .map_or(100.0, |p| p.value.clamp(0.0, 100.0))
    });
    let rbac = Engine::compile(&hcm).map_err(|e| format!("listener {}: {e}", l.name))?;
    let server = super::server_header::ServerHeader::compile(&hcm)
        .map_err(|e| format!("listener {}: {e}", l.name))?;
    // The router filter's config; a chain without one has the defaults.
    let router = hcm
        .http_filters
        .iter()
        .find_map(|f| match &f.config_type {
            Some(http_filter::ConfigType::TypedConfig(any)) if any.type_url == ROUTER_TYPE => {
                Some(any)
            }
            _ => None,
        })
        .map(unpack_any::<Router>)
        .transpose()
        .map_err(|e| format!("listener {}: the router filter: {e}", l.name))?
        .unwrap_or_default();
    let http_stats = stats.http(&hcm.stat_prefix);
    if rbac.is_some() {
        http_stats.rbac_configured.store(true, Ordering::Relaxed);
    }
    use http_connection_manager::ForwardClientCertDetails as F;
    let forward_client_cert = match F::try_from(hcm.forward_client_cert_details) {
        Ok(F::ForwardOnly) => ForwardClientCert::ForwardOnly,
        Ok(F::AppendForward) => ForwardClientCert::AppendForward,
        Ok(F::SanitizeSet) => ForwardClientCert::SanitizeSet,
        Ok(F::AlwaysForwardOnly) => ForwardClientCert::AlwaysForwardOnly,
        Ok(F::Sanitize) | Err(_) => ForwardClientCert::Sanitize,
    };
    Ok(Hcm {
        stats: http_stats,
        forwarded: super::forwarded::Stance {
            edge: hcm.use_remote_address.as_ref().is_some_and(|b| b.value),
            trusted_hops: hcm.xff_num_trusted_hops,
        },
        rbac: rbac.map(Arc::new),
        stat_prefix: hcm.stat_prefix.clone(),
        routes,
        strip_any_host_port: matches!(
            hcm.strip_port_mode,
            Some(http_connection_manager::StripPortMode::StripAnyHostPort(
                true
            ))
        ),
        forward_client_cert,
        access_log,
        trace_sampling,
        server,
        generate_request_id: hcm.generate_request_id.as_ref().is_none_or(|b| b.value),
        envoy_headers: !router.suppress_envoy_headers,
    })
}

fn is_hcm(f: &Filter) -> bool {
    matches!(&f.config_type, Some(filter::ConfigType::TypedConfig(any)) if any.type_url == HCM_TYPE)
}

#[cfg(test)]
mod tests;
