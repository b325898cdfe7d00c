//! Clusters as the request path needs them: their endpoints (from EDS or inline load
//! assignments, each with its pool of HTTP/1.1 connections), a load balancer, the upstream
//! protocol and a pooled HTTP/2 client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::{HealthStatus, address, socket_address};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, LbEndpoint, lb_endpoint,
};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::balancer::Balancer;
use super::circuit::{CircuitBreaker, Limits};
use super::connector::Connector;
use super::outlier::{Outcome, OutlierConfig, OutlierState, may_eject};
use super::pool::{HostPool, HostPools, PoolOptions, Transport};
use super::routes::duration;
use super::secrets::SecretStore;
use super::stats::{ClusterStats, HostStats, Stats};
use super::telemetry::metrics::{PeerId, Service, ServiceId};
use super::tls::{UpstreamSpec, UpstreamTls};
use crate::xds::peer::{ENDPOINT_WORKLOAD_KEY, Workload};
use crate::xds::types::unpack_any;

/// The pooled HTTP/2 client of one connect timeout and transport.
pub type UpstreamClient = Client<Connector, Full<Bytes>>;

const HTTP_PROTOCOL_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/// The filter metadata namespace Istio's telemetry reads.
const ISTIO_METADATA: &str = "istio";
/// Clusters without a service of their own, which Istio's metrics name by the cluster.
const NAMED_BY_CLUSTER: [&str; 5] = [
    "BlackHoleCluster",
    "PassthroughCluster",
    "InboundPassthroughCluster",
    "InboundPassthroughClusterIpv4",
    "InboundPassthroughClusterIpv6",
];

/// A cluster's destination service, from the first of its `istio.services` (as istio/proxy's
/// stats filter reads it), and whether it is outside the mesh (`istio.external`).
fn cluster_service(c: &Cluster) -> Option<(Service, bool)> {
    use envoy_types::pb::google::protobuf::value::Kind;
    if NAMED_BY_CLUSTER.contains(&c.name.as_str()) {
        let service = Service {
            name: c.name.clone(),
            ..Service::default()
        };
        return Some((service, true));
    }
    let istio = c.metadata.as_ref()?.filter_metadata.get(ISTIO_METADATA)?;
    let external = matches!(
        istio.fields.get("external").and_then(|v| v.kind.as_ref()),
        Some(Kind::BoolValue(true))
    );
    let Some(Kind::ListValue(services)) =
        istio.fields.get("services").and_then(|v| v.kind.as_ref())
    else {
        return None;
    };
    let Some(Kind::StructValue(first)) = services.values.first().and_then(|v| v.kind.as_ref())
    else {
        return None;
    };
    let text = |k: &str| match first.fields.get(k).and_then(|v| v.kind.as_ref()) {
        Some(Kind::StringValue(s)) => s.clone(),
        _ => String::new(),
    };
    let host = text("host");
    let name = match text("name") {
        n if n.is_empty() => host.split('.').next().unwrap_or_default().to_string(),
        n => n,
    };
    Some((
        Service {
            host,
            name,
            namespace: text("namespace"),
        },
        external,
    ))
}

/// The workload an endpoint's `istio.workload` metadata names.
fn endpoint_workload(lb: &LbEndpoint) -> Option<Workload> {
    use envoy_types::pb::google::protobuf::value::Kind;
    let istio = lb.metadata.as_ref()?.filter_metadata.get(ISTIO_METADATA)?;
    match istio
        .fields
        .get(ENDPOINT_WORKLOAD_KEY)
        .and_then(|v| v.kind.as_ref())
    {
        Some(Kind::StringValue(s)) => Workload::from_endpoint_metadata(s),
        _ => None,
    }
}

/// What speaks to upstreams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http1,
    Http2,
    /// Whatever the downstream request used.
    Downstream,
}

const TLS_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.tls";
const RAW_BUFFER_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.raw_buffer";
const UPSTREAM_TLS_CONTEXT: &str =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const RAW_BUFFER: &str =
    "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";
/// The endpoint metadata transport socket matches read.
const TRANSPORT_SOCKET_MATCH: &str = "envoy.transport_socket_match";

/// Pooled clients and HTTP/1.1 connection pools, shared by every cluster with the same
/// settings so config updates keep their connections.
#[derive(Default)]
pub struct Clients {
    clients: Mutex<HashMap<(Duration, Transport), UpstreamClient>>,
    pub pools: HostPools,
    /// What TLS presents and verifies with.
    secrets: Arc<SecretStore>,
    /// Client configs by settings: every cluster with the same TLS settings shares one (and so
    /// one connection pool per address).
    tls: Mutex<HashMap<UpstreamSpec, std::sync::Weak<UpstreamTls>>>,
}

impl Clients {
    pub fn new(secrets: Arc<SecretStore>) -> Clients {
        Clients {
            secrets,
            ..Clients::default()
        }
    }

    /// The transport of a cluster's `transport_socket` (or one of its matches'): plain text,
    /// TLS, or TLS that cannot be set up, which fails connections instead of NACKing the whole
    /// CDS update (Envoy would keep such a cluster warming).
    fn transport(
        &self,
        socket: Option<&envoy_types::pb::envoy::config::core::v3::TransportSocket>,
    ) -> Transport {
        use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
        let Some(socket) = socket else {
            return Transport::Plain;
        };
        let any = socket
            .config_type
            .as_ref()
            .map(|ConfigType::TypedConfig(any)| any);
        let is_tls = socket.name == TLS_TRANSPORT_SOCKET
            || any.is_some_and(|a| a.type_url == UPSTREAM_TLS_CONTEXT);
        if !is_tls {
            let raw = socket.name == RAW_BUFFER_TRANSPORT_SOCKET
                || any.is_some_and(|a| a.type_url == RAW_BUFFER);
            return if raw {
                Transport::Plain
            } else {
                Transport::Unavailable(
                    format!("transport socket {} is not supported", socket.name).into(),
                )
            };
        }
        let spec = any
            .ok_or_else(|| "the TLS transport socket has no config".to_string())
            .and_then(|any| {
                unpack_any::<envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext>(any)
                    .map_err(|e| e.to_string())
            })
            .and_then(|ctx| UpstreamSpec::compile(&ctx).map_err(|e| e.to_string()));
        match spec {
            Ok(spec) => match self.upstream_tls(&spec) {
                Ok(tls) => Transport::Tls(tls),
                Err(e) => Transport::Unavailable(e.into()),
            },
            Err(e) => Transport::Unavailable(e.into()),
        }
    }

    /// The shared client config of `spec`.
    fn upstream_tls(&self, spec: &UpstreamSpec) -> Result<Arc<UpstreamTls>, String> {
        let mut cache = self.tls.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tls) = cache.get(spec).and_then(std::sync::Weak::upgrade) {
            return Ok(tls);
        }
        let tls = Arc::new(spec.build(&self.secrets).map_err(|e| e.to_string())?);
        cache.retain(|_, t| t.strong_count() > 0);
        cache.insert(spec.clone(), Arc::downgrade(&tls));
        Ok(tls)
    }

    /// The HTTP/2 client for `connect_timeout` and `transport` (whose `Unavailable` fails
    /// before a request reaches the client).
    pub fn http2(&self, connect_timeout: Duration, transport: &Transport) -> UpstreamClient {
        let mut map = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry((connect_timeout, transport.clone()))
            .or_insert_with(|| {
                let mut http = HttpConnector::new();
                http.set_nodelay(true);
                http.set_connect_timeout(Some(connect_timeout));
                http.enforce_http(true);
                let tls = match transport {
                    Transport::Tls(tls) => Some(tls.clone()),
                    _ => None,
                };
                Client::builder(TokioExecutor::new())
                    .http2_only(true)
                    .pool_idle_timeout(Duration::from_secs(60))
                    .build(Connector::new(http, tls))
            })
            .clone()
    }
}

/// Where an endpoint is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    Ip(SocketAddr),
    /// A DNS name, resolved by the connector per connection (STRICT_DNS/LOGICAL_DNS clusters).
    Dns(String, u16),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Ip(a) => a.fmt(f),
            Address::Dns(h, p) => write!(f, "{h}:{p}"),
        }
    }
}

/// Envoy's default `healthy_panic_threshold`.
const DEFAULT_PANIC_THRESHOLD: f64 = 50.0;

#[derive(Debug)]
pub struct Endpoint {
    pub address: Address,
    pub weight: u32,
    pub healthy: bool,
    pub stats: HostStats,
    /// Its HTTP/1.1 connections.
    pub pool: Arc<HostPool>,
    pub outlier: OutlierState,
    /// The pooled HTTP/2 client of its connect timeout and transport.
    pub client_h2: UpstreamClient,
    /// The workload behind it (its `istio.workload` metadata), for Istio's metrics.
    pub peer: PeerId,
}

static EMPTY_FIELDS: std::sync::LazyLock<
    HashMap<String, envoy_types::pb::google::protobuf::Value>,
> = std::sync::LazyLock::new(HashMap::new);

impl Endpoint {
    /// Whether the endpoint takes requests outside panic mode: healthy by EDS and not
    /// ejected by outlier detection (an ejection that has run out ends here).
    pub fn is_available(&self, stats: &ClusterStats) -> bool {
        self.healthy && !self.outlier.is_ejected(stats)
    }
}

/// One cluster, ready for requests.
pub struct ClusterEntry {
    pub name: String,
    pub discovery: cluster::DiscoveryType,
    /// The name EDS knows its endpoints by.
    pub eds_name: Option<String>,
    pub balancer: Balancer,
    /// Below this percentage of available endpoints, all endpoints are picked from (Envoy's
    /// panic mode; `common_lb_config.healthy_panic_threshold`, 50 by default, 0 disables it).
    pub panic_threshold: f64,
    pub protocol: Protocol,
    pub circuit: Arc<CircuitBreaker>,
    /// `None`: no outlier detection.
    pub outlier: Option<OutlierConfig>,
    pub connect_timeout: Duration,
    pub endpoints: Vec<Arc<Endpoint>>,
    pub stats: Arc<ClusterStats>,
    /// The destination service of Istio's metrics (its `istio.services` metadata).
    pub service: ServiceId,
    /// An in-mesh service: requests to it carry this proxy's metadata-exchange headers.
    pub mesh: bool,
}

impl std::fmt::Debug for ClusterEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterEntry")
            .field("name", &self.name)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster {cluster}: {message}")]
    Invalid { cluster: String, message: String },
}

impl ClusterEntry {
    /// Compiles `c` with its endpoints: from `assignment` (EDS) or its own load assignment.
    /// `previous` carries endpoint stats across updates.
    pub fn compile(
        c: &Cluster,
        assignment: Option<&ClusterLoadAssignment>,
        previous: Option<&ClusterEntry>,
        stats: &Stats,
        clients: &Clients,
    ) -> Result<ClusterEntry, ClusterError> {
        let invalid = |message: String| ClusterError::Invalid {
            cluster: c.name.clone(),
            message,
        };
        let discovery = match &c.cluster_discovery_type {
            Some(cluster::ClusterDiscoveryType::Type(t)) => {
                cluster::DiscoveryType::try_from(*t).unwrap_or(cluster::DiscoveryType::Static)
            }
            Some(cluster::ClusterDiscoveryType::ClusterType(_)) => {
                return Err(invalid("custom cluster types are not supported".into()));
            }
            None => cluster::DiscoveryType::Static,
        };
        let mut common = None;
        let protocol = match c
            .typed_extension_protocol_options
            .get(HTTP_PROTOCOL_OPTIONS)
        {
            Some(any) => {
                let o: HttpProtocolOptions = unpack_any(any).map_err(|e| invalid(e.to_string()))?;
                common = o.common_http_protocol_options;
                use http_protocol_options::UpstreamProtocolOptions as U;
                use http_protocol_options::explicit_http_config::ProtocolConfig as P;
                match o.upstream_protocol_options {
                    Some(U::ExplicitHttpConfig(e)) => match e.protocol_config {
                        Some(P::Http2ProtocolOptions(_)) => Protocol::Http2,
                        _ => Protocol::Http1,
                    },
                    Some(U::UseDownstreamProtocolConfig(_)) => Protocol::Downstream,
                    Some(U::AutoConfig(_)) | None => Protocol::Http1,
                }
            }
            None => Protocol::Http1,
        };
        let eds_name = (discovery == cluster::DiscoveryType::Eds).then(|| {
            c.eds_cluster_config
                .as_ref()
                .map(|e| e.service_name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| c.name.clone())
        });
        let assignment = match discovery {
            cluster::DiscoveryType::Eds => assignment,
            _ => c.load_assignment.as_ref(),
        };
        let connect_timeout = c
            .connect_timeout
            .as_ref()
            .and_then(duration)
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(5));
        let mut pool_options = PoolOptions::new(connect_timeout);
        if let Some(common) = &common {
            if let Some(idle) = common
                .idle_timeout
                .as_ref()
                .and_then(duration)
                .filter(|d| !d.is_zero())
            {
                pool_options.idle_timeout = idle;
            }
            pool_options.max_requests_per_connection = common
                .max_requests_per_connection
                .as_ref()
                .map(|v| v.value)
                .filter(|v| *v > 0);
        }

        // Envoy's transport socket matching: an endpoint takes the first match whose fields its
        // `envoy.transport_socket_match` metadata has, else the cluster's transport socket.
        let default_transport = clients.transport(c.transport_socket.as_ref());
        let matches: Vec<(
            &HashMap<String, envoy_types::pb::google::protobuf::Value>,
            Transport,
        )> = c
            .transport_socket_matches
            .iter()
            .map(|m| {
                (
                    m.r#match.as_ref().map_or(&*EMPTY_FIELDS, |s| &s.fields),
                    clients.transport(m.transport_socket.as_ref()),
                )
            })
            .collect();
        let mut endpoints = Vec::new();
        for locality in assignment
            .map(|a| a.endpoints.as_slice())
            .unwrap_or_default()
        {
            for lb in &locality.lb_endpoints {
                let Some(lb_endpoint::HostIdentifier::Endpoint(ep)) = &lb.host_identifier else {
                    continue;
                };
                let Some(address::Address::SocketAddress(sa)) =
                    ep.address.as_ref().and_then(|a| a.address.as_ref())
                else {
                    continue;
                };
                let Some(socket_address::PortSpecifier::PortValue(port)) = sa.port_specifier else {
                    continue;
                };
                let port = u16::try_from(port)
                    .map_err(|_| invalid(format!("endpoint port {port} is out of range")))?;
                let address = match sa.address.parse() {
                    Ok(ip) => Address::Ip(SocketAddr::new(ip, port)),
                    Err(_) if discovery != cluster::DiscoveryType::Eds => {
                        Address::Dns(sa.address.clone(), port)
                    }
                    Err(_) => {
                        return Err(invalid(format!(
                            "EDS endpoint address {:?} is not an IP",
                            sa.address
                        )));
                    }
                };
                let healthy = matches!(
                    HealthStatus::try_from(lb.health_status),
                    Ok(HealthStatus::Unknown | HealthStatus::Healthy) | Err(_)
                );
                let weight = lb
                    .load_balancing_weight
                    .as_ref()
                    .map_or(1, |w| w.value)
                    .max(1);
                let metadata = lb
                    .metadata
                    .as_ref()
                    .and_then(|m| m.filter_metadata.get(TRANSPORT_SOCKET_MATCH))
                    .map(|s| &s.fields);
                let transport = matches
                    .iter()
                    .find(|(fields, _)| {
                        fields
                            .iter()
                            .all(|(k, v)| metadata.and_then(|m| m.get(k)) == Some(v))
                    })
                    .map_or(&default_transport, |(_, t)| t);
                let pool = clients.pools.get(&address, pool_options, transport);
                let peer = endpoint_workload(lb).map_or(0, |w| stats.istio.peer(w));
                // Keep the counters of endpoints that stay.
                let kept = previous.and_then(|p| {
                    p.endpoints
                        .iter()
                        .find(|e| {
                            e.address == address
                                && e.weight == weight
                                && e.healthy == healthy
                                && e.peer == peer
                                && Arc::ptr_eq(&e.pool, &pool)
                        })
                        .cloned()
                });
                endpoints.push(kept.unwrap_or_else(|| {
                    Arc::new(Endpoint {
                        address,
                        weight,
                        healthy,
                        stats: HostStats::default(),
                        pool,
                        outlier: OutlierState::default(),
                        client_h2: clients.http2(connect_timeout, transport),
                        peer,
                    })
                }));
            }
        }
        let addresses: Vec<String> = endpoints.iter().map(|e| e.address.to_string()).collect();
        let weights: Vec<u32> = endpoints.iter().map(|e| e.weight).collect();
        let balancer = Balancer::compile(c, &addresses, &weights);
        let panic_threshold = c
            .common_lb_config
            .as_ref()
            .and_then(|l| l.healthy_panic_threshold.as_ref())
            .map_or(DEFAULT_PANIC_THRESHOLD, |p| p.value.clamp(0.0, 100.0));
        let limits = Limits::of(c);
        let circuit = previous
            .map(|p| &p.circuit)
            .filter(|p| p.limits == limits)
            .cloned()
            .unwrap_or_else(|| Arc::new(CircuitBreaker::new(limits)));
        let (service, mesh) = match cluster_service(c) {
            Some((service, external)) => (stats.istio.service(service), !external),
            None => (0, false),
        };
        Ok(ClusterEntry {
            circuit,
            outlier: c.outlier_detection.as_ref().map(OutlierConfig::compile),
            name: c.name.clone(),
            service,
            mesh,
            discovery,
            eds_name,
            balancer,
            panic_threshold,
            protocol,
            connect_timeout,
            endpoints,
            stats: stats.cluster(&c.name),
        })
    }

    /// Picks an available endpoint (healthy by EDS), or any endpoint when fewer than the panic
    /// threshold are available, as Envoy's panic mode does. `draw` is a random number, `hash`
    /// the request's (consistent hashing); `avoid` is the endpoint of the previous attempt,
    /// skipped when there is another.
    pub fn pick(
        &self,
        draw: u64,
        avoid: Option<&Arc<Endpoint>>,
        hash: Option<u64>,
    ) -> Option<&Arc<Endpoint>> {
        let endpoints = &self.endpoints;
        let n = endpoints.len();
        if n == 0 {
            return None;
        }
        let available = endpoints
            .iter()
            .filter(|e| e.is_available(&self.stats))
            .count();
        let panic = (available as f64) * 100.0 < self.panic_threshold * n as f64;
        let usable = |i: usize| panic || endpoints[i].is_available(&self.stats);
        let others =
            avoid.is_some_and(|a| (0..n).any(|i| usable(i) && !Arc::ptr_eq(&endpoints[i], a)));
        let eligible = |i: usize| {
            usable(i) && !(others && avoid.is_some_and(|a| Arc::ptr_eq(&endpoints[i], a)))
        };
        let i = self.balancer.pick(
            n,
            eligible,
            |i| endpoints[i].weight,
            |i| endpoints[i].stats.rq_active.get(),
            draw,
            hash,
        )?;
        // Borrowed, not cloned: a request holds its cluster for as long as its endpoint, and
        // a reference count's increment and decrement are two locked instructions (on x86)
        // per request.
        Some(&endpoints[i])
    }

    /// Feeds one attempt's outcome to outlier detection, ejecting `endpoint` when it has
    /// become an outlier and the cluster's `max_ejection_percent` allows.
    pub fn record(&self, endpoint: &Endpoint, outcome: Outcome) {
        let Some(config) = &self.outlier else {
            return;
        };
        let Some(why) = endpoint.outlier.record(config, outcome) else {
            return;
        };
        let ejected = self
            .endpoints
            .iter()
            .filter(|e| e.outlier.is_ejected(&self.stats))
            .count();
        if may_eject(config, ejected, self.endpoints.len()) {
            tracing::debug!(cluster = %self.name, endpoint = %endpoint.address, "ejected: {why:?}");
            endpoint.outlier.eject(config, why, &self.stats);
        } else {
            self.stats.outlier_ejections_overflow.inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use envoy_types::pb::envoy::config::core::v3::Metadata;
    use envoy_types::pb::google::protobuf::{ListValue, Struct, Value, value::Kind};

    use super::*;

    fn string(s: &str) -> Value {
        Value {
            kind: Some(Kind::StringValue(s.into())),
        }
    }

    fn istio(fields: Vec<(&str, Value)>) -> Option<Metadata> {
        Some(Metadata {
            filter_metadata: HashMap::from([(
                "istio".to_string(),
                Struct {
                    fields: fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                },
            )]),
            ..Default::default()
        })
    }

    fn service(host: &str, name: Option<&str>) -> Value {
        let mut fields = vec![("host", string(host)), ("namespace", string("default"))];
        if let Some(n) = name {
            fields.push(("name", string(n)));
        }
        Value {
            kind: Some(Kind::StructValue(Struct {
                fields: fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            })),
        }
    }

    #[test]
    fn the_destination_service_is_the_first_of_the_clusters_services() {
        let list = |values| Value {
            kind: Some(Kind::ListValue(ListValue { values })),
        };
        let c = Cluster {
            name: "outbound|9080||reviews.default.svc.cluster.local".into(),
            metadata: istio(vec![(
                "services",
                list(vec![
                    service("reviews.default.svc.cluster.local", Some("reviews")),
                    service("other.default.svc.cluster.local", Some("other")),
                ]),
            )]),
            ..Default::default()
        };
        let (s, external) = cluster_service(&c).expect("a service");
        assert_eq!(
            (s.host.as_str(), s.name.as_str(), s.namespace.as_str()),
            ("reviews.default.svc.cluster.local", "reviews", "default")
        );
        assert!(!external);
        // Without a name, the host's first label, as istio/proxy falls back.
        let c = Cluster {
            metadata: istio(vec![
                ("services", list(vec![service("api.example.com", None)])),
                (
                    "external",
                    Value {
                        kind: Some(Kind::BoolValue(true)),
                    },
                ),
            ]),
            ..Default::default()
        };
        let (s, external) = cluster_service(&c).expect("a service");
        assert_eq!(s.name, "api");
        assert!(external, "no metadata exchange outside the mesh");
        let passthrough = Cluster {
            name: "PassthroughCluster".into(),
            ..Default::default()
        };
        assert_eq!(
            cluster_service(&passthrough).map(|(s, _)| s.name),
            Some("PassthroughCluster".into())
        );
        assert!(cluster_service(&Cluster::default()).is_none());
    }

    #[test]
    fn an_endpoint_names_its_workload_in_istio_metadata() {
        let lb = LbEndpoint {
            metadata: istio(vec![(
                "workload",
                string("reviews-v1;default;reviews;v1;Kubernetes"),
            )]),
            ..Default::default()
        };
        let w = endpoint_workload(&lb).expect("a workload");
        assert_eq!(
            (w.name.as_str(), w.canonical_revision.as_str()),
            ("reviews-v1", "v1")
        );
        assert!(endpoint_workload(&LbEndpoint::default()).is_none());
    }
}
