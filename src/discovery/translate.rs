//! Per-proxy translation (istiod's `ConfigGenerator`): from a [`PushContext`] to the Envoy v3
//! listeners, route configurations, clusters and cluster load assignments one proxy receives,
//! named and shaped as Istio names and shapes them so `istioctl proxy-config` and Envoy read them.
//!
//! One module per resource type, plus the pieces they share:
//! [`scope`] (what a proxy may see), [`authz`] (AuthorizationPolicies as RBAC filters), [`policy`] (DestinationRule traffic policies),
//! [`names`] (Istio's resource names), [`metadata`] (the `istio` filter metadata),
//! [`cluster`], [`endpoint`], [`httproute`] (one VirtualService rule), [`route`] (sidecar route
//! configurations), [`listener`] (sidecar listeners), [`ingress`] (a Sidecar's `ingress`
//! listeners for proxies without traffic capture), [`gateway`] (gateway listeners and routes)
//! [`telemetry`] (access logs and trace sampling of the HTTP connection managers) and
//! [`encode`] (deterministic protobuf bytes).

pub mod authn;
pub mod authz;
pub mod cluster;
pub mod encode;
pub mod endpoint;
pub mod gateway;
pub mod httproute;
pub mod ingress;
pub mod listener;
pub mod metadata;
pub mod names;
pub mod policy;
pub mod proto;
pub mod route;
pub mod scope;
pub mod telemetry;
pub mod tls;

use std::collections::BTreeMap;
use std::net::IpAddr;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;

pub use encode::{EncodeError, EncodedConfig, EncodedResource};

use super::mesh::ProxyHeaders;
use super::push_context::PushContext;
use scope::Scope;

/// What kind of proxy asks (Istio's node type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// A workload's sidecar: outbound listeners for the services it may call, inbound for its own.
    #[default]
    Sidecar,
    /// A gateway (`router`): listeners for the Gateway servers that select it.
    Router,
}

/// The proxy a configuration is for, as its xDS node identifies it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxy {
    pub role: Role,
    /// The proxy's namespace: it decides `exportTo` visibility and the default Sidecar.
    pub namespace: String,
    /// The workload's labels: Gateway and Sidecar selectors, `sourceLabels` matches and subsets.
    pub labels: BTreeMap<String, String>,
    /// The workload's IP: the registry's endpoints with it are this proxy's own service instances.
    pub ip: Option<IpAddr>,
}

/// Where a gateway binds a Gateway server's port. In Kubernetes the gateway Service maps 80 to
/// 8080 and 443 to 8443 (so the pod needs no privileges) and the listener binds the target port;
/// run without such a Service, a gateway binds the server's port, or that port plus an offset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortMapping {
    /// Explicit mappings, server port to listen port; they win over the offset.
    pub ports: BTreeMap<u32, u32>,
    /// Added to unmapped server ports.
    pub offset: u32,
}

impl PortMapping {
    /// The server's own port numbers.
    pub fn identity() -> PortMapping {
        PortMapping::default()
    }

    /// The default `istio-ingressgateway` Service: 80 to 8080, 443 to 8443.
    pub fn istio_ingress() -> PortMapping {
        PortMapping {
            ports: BTreeMap::from([(80, 8080), (443, 8443)]),
            offset: 0,
        }
    }

    /// Every server port plus `offset` (a local mesh keeping clear of privileged ports).
    pub fn offset(offset: u32) -> PortMapping {
        PortMapping {
            ports: BTreeMap::new(),
            offset,
        }
    }

    /// The port a listener binds for server port `port`; `None` past 65535.
    pub fn listen_port(&self, port: u32) -> Option<u32> {
        let mapped = match self.ports.get(&port) {
            Some(p) => *p,
            None => port.checked_add(self.offset)?,
        };
        (1..=65535).contains(&mapped).then_some(mapped)
    }
}

/// Per-proxy choices that are not config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranslateOptions {
    /// Gateway server port to listen port.
    pub gateway_ports: PortMapping,
    /// Istio's `INTERCEPTION_MODE: NONE`: no iptables captures the sidecar's traffic. Its
    /// outbound listeners then bind their ports (Istio's do not: iptables sends traffic to
    /// `virtualOutbound`, which hands it over by original destination), at the Sidecar egress
    /// listener's `bind` when it has one; and a Sidecar's `ingress` entries become bound
    /// inbound listeners in place of `virtualInbound` (see [`ingress`]).
    pub no_capture: bool,
    /// The proxy's own `proxyHeaders` (its `PROXY_CONFIG` node metadata, which injection makes
    /// from `proxy.istio.io/config` over the mesh's `defaultConfig`): in place of the mesh's.
    pub proxy_headers: Option<ProxyHeaders>,
}

/// Everything one proxy receives, each list sorted by resource name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyConfig {
    pub listeners: Vec<Listener>,
    pub routes: Vec<RouteConfiguration>,
    pub clusters: Vec<Cluster>,
    pub endpoints: Vec<ClusterLoadAssignment>,
    /// The SDS secrets its listeners name that the control plane serves (a gateway's
    /// `kubernetes://` credentials).
    pub secrets: Vec<Secret>,
    /// Config that was valid but could not be (fully) translated, one line each, sorted.
    pub notes: Vec<String>,
}

/// Collects the notes of one translation (see [`ProxyConfig::notes`]).
#[derive(Debug, Default)]
pub struct Notes(Vec<String>);

impl Notes {
    pub fn push(&mut self, note: impl Into<String>) {
        self.0.push(note.into());
    }
}

/// Builds the configuration of `proxy`.
pub fn translate(push: &PushContext, proxy: &Proxy, opts: &TranslateOptions) -> ProxyConfig {
    let scope = Scope::new(push, proxy, opts);
    let mut notes = Notes::default();
    let clusters = cluster::build(&scope, &mut notes);
    let endpoints = endpoint::build(&clusters.outbound);
    let mut clusters = clusters.into_clusters();
    let (listeners, routes) = match proxy.role {
        Role::Sidecar => {
            let routes = route::build_sidecar_routes(&scope, &mut notes);
            let mut listeners = listener::build_sidecar_listeners(&scope, &routes, opts);
            let (inbound_clusters, inbound_listeners) = inbound_side(&scope, opts, &mut notes);
            clusters.extend(inbound_clusters);
            listeners.extend(inbound_listeners);
            (listeners, routes)
        }
        Role::Router => gateway::build(&scope, opts, &mut notes),
    };
    let secrets = match proxy.role {
        Role::Sidecar => Vec::new(),
        Role::Router => gateway::credentials(&scope, &listeners, &mut notes),
    };
    let mut out = ProxyConfig {
        listeners,
        routes,
        clusters,
        endpoints,
        secrets,
        notes: notes.0,
    };
    out.listeners.sort_by(|a, b| a.name.cmp(&b.name));
    out.listeners.dedup_by(|a, b| a.name == b.name);
    out.routes.sort_by(|a, b| a.name.cmp(&b.name));
    out.routes.dedup_by(|a, b| a.name == b.name);
    out.clusters.sort_by(|a, b| a.name.cmp(&b.name));
    out.clusters.dedup_by(|a, b| a.name == b.name);
    out.endpoints
        .sort_by(|a, b| a.cluster_name.cmp(&b.cluster_name));
    out.endpoints
        .dedup_by(|a, b| a.cluster_name == b.cluster_name);
    out.notes.sort();
    out.notes.dedup();
    out
}

/// What a sidecar's config depends on besides its namespace and its own service instances:
/// the Sidecar that applies to it, and which label-dependent rules select it. Sidecars with the
/// same signature (and capture mode) have the same outbound config, so it is translated once
/// and only [`translate_inbound`] runs per proxy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutboundSignature {
    namespace: String,
    sidecar: Option<(String, String)>,
    /// Per `match` with `sourceLabels` (in config order): whether it selects the proxy.
    source_labels: Vec<bool>,
    /// Per DestinationRule with a workload selector in the proxy's namespace: whether it does.
    rule_selectors: Vec<bool>,
    /// Per Telemetry with a workload selector in the proxy's namespace: whether it does (its
    /// access logging and sampling are in every HTTP connection manager).
    telemetry_selectors: Vec<bool>,
    /// The proxy's IP when it has no traffic capture and its Sidecar has `ingress` entries:
    /// their listeners may bind it, so proxies sharing the rest still translate them apart.
    /// A captured proxy's Sidecar `ingress` makes no listeners (see [`ingress::plan`]).
    ingress_ip: Option<IpAddr>,
    /// The proxy's own `proxyHeaders`, also in every HTTP connection manager.
    proxy_headers: Option<ProxyHeaders>,
}

/// The [`OutboundSignature`] of a sidecar translated with `opts`; `None` for routers (their
/// Gateways select by labels throughout, and there are few of them).
pub fn outbound_signature(
    push: &PushContext,
    proxy: &Proxy,
    opts: &TranslateOptions,
) -> Option<OutboundSignature> {
    if proxy.role != Role::Sidecar {
        return None;
    }
    let source_labels = push
        .virtual_services()
        .iter()
        .flat_map(|vs| vs.spec.http.iter())
        .flat_map(|http| http.matches.iter())
        .filter(|m| !m.source_labels.is_empty())
        .map(|m| crate::config::types::selects(&m.source_labels, &proxy.labels))
        .collect();
    let rule_selectors = push
        .destination_rules()
        .iter()
        .filter(|dr| dr.namespace == proxy.namespace)
        .filter_map(|dr| dr.spec.workload_selector.as_ref())
        .map(|sel| crate::config::types::selects(&sel.match_labels, &proxy.labels))
        .collect();
    let telemetry_selectors = push
        .telemetries()
        .iter()
        .filter(|t| t.namespace == proxy.namespace)
        .filter_map(|t| t.spec.selector.as_ref())
        .map(|sel| crate::config::types::selects(&sel.match_labels, &proxy.labels))
        .collect();
    let sidecar = scope::sidecar_for(push, proxy);
    let has_ingress = sidecar.is_some_and(|s| !s.spec.ingress.is_empty());
    Some(OutboundSignature {
        namespace: proxy.namespace.clone(),
        sidecar: sidecar.map(|s| (s.namespace.clone(), s.name.clone())),
        source_labels,
        rule_selectors,
        telemetry_selectors,
        ingress_ip: if opts.no_capture && has_ingress {
            proxy.ip
        } else {
            None
        },
        proxy_headers: opts.proxy_headers.clone(),
    })
}

/// The parts of a sidecar's config that depend on it as a service instance (its IP, and its
/// labels as a selector target): the inbound clusters and the `virtualInbound` listener, or for
/// a proxy without capture whose Sidecar has `ingress`, that ingress's clusters and listeners.
/// [`is_inbound`] names the clusters and `virtualInbound` in a full configuration; the ingress
/// listeners are named `<bind>_<port>` like outbound ones, so callers replacing an inbound side
/// also drop the names this returns.
pub fn translate_inbound(
    push: &PushContext,
    proxy: &Proxy,
    opts: &TranslateOptions,
) -> (Vec<Cluster>, Vec<Listener>) {
    let scope = Scope::new(push, proxy, opts);
    inbound_side(&scope, opts, &mut Notes::default())
}

fn inbound_side(
    scope: &Scope<'_>,
    opts: &TranslateOptions,
    notes: &mut Notes,
) -> (Vec<Cluster>, Vec<Listener>) {
    let authz = authz::http_filters(scope.push, scope.proxy, notes);
    // Ferry has no network RBAC filter yet: a TCP port of a workload that AuthorizationPolicies
    // govern is not served at all (fail closed) rather than served unchecked.
    let tcp_closed = authz::applicable(scope.push, scope.proxy).enforces();
    match ingress::plan(scope, opts, notes) {
        Some(entries) => (
            ingress::clusters(scope, &entries),
            ingress::listeners(scope, &entries, &authz, tcp_closed, notes),
        ),
        None => {
            let (inbound, clusters) = cluster::inbound(scope);
            (
                clusters,
                vec![listener::virtual_inbound(scope, &inbound, &authz)],
            )
        }
    }
}

/// Whether a cluster or listener name is one of [`translate_inbound`]'s (see there for the
/// Sidecar ingress listeners).
pub fn is_inbound(name: &str) -> bool {
    name.starts_with("inbound|") || name == names::VIRTUAL_INBOUND_LISTENER
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod port_mapping_tests {
    use super::*;

    #[test]
    fn port_mappings() {
        assert_eq!(PortMapping::identity().listen_port(80), Some(80));
        assert_eq!(PortMapping::istio_ingress().listen_port(80), Some(8080));
        assert_eq!(PortMapping::istio_ingress().listen_port(9000), Some(9000));
        assert_eq!(PortMapping::offset(10000).listen_port(80), Some(10080));
        assert_eq!(PortMapping::offset(65000).listen_port(8080), None);
    }
}
