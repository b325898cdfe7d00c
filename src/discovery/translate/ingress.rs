//! A sidecar's inbound side from its Sidecar's `ingress` listeners, for proxies without traffic
//! capture (`INTERCEPTION_MODE: NONE`, Istio's answer for VMs without iptables): nothing
//! redirects traffic to `virtualInbound`, so each ingress entry becomes a real listener bound at
//! `<bind>:<port>` in front of the `inbound|<port>||` cluster, whose one endpoint is the entry's
//! `defaultEndpoint` (the application). This is Istio's `buildInboundChainConfigs` (with
//! `Sidecar.ingress` and `bindToPort`), `inboundCustomListener` and
//! `buildInboundClustersFromSidecar`; as there, a NONE-mode proxy with such a Sidecar gets no
//! `virtualInbound` and no inbound clusters derived from its services.

use std::net::IpAddr;

use envoy_types::pb::envoy::config::cluster::v3::{
    Cluster,
    cluster::{self, DiscoveryType},
};
use envoy_types::pb::envoy::config::core::v3::TrafficDirection;
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint as EnvoyEndpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::envoy::config::listener::v3::{FilterChain, Listener};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter;

use super::authn::{self, MtlsMode};
use super::cluster::{explicit_http2, upstream_protocol};
use super::listener::{
    Routes, inbound_chains, inbound_http_connection_manager, inbound_route, tcp_proxy,
    tls_inspector,
};
use super::metadata::IstioMetadata;
use super::names::{self, ConfigKind};
use super::policy::EffectivePolicy;
use super::proto::{address, duration};
use super::scope::Scope;
use super::{Notes, Role, TranslateOptions};
use crate::discovery::registry::{Protocol, Service};

/// One ingress entry, resolved for this proxy.
#[derive(Debug, Clone)]
pub struct IngressListener<'a> {
    pub port: u32,
    pub protocol: Protocol,
    /// The listener's address: the entry's `bind`, else the proxy's inbound bind address.
    pub bind: String,
    /// The application: `(address, port)`; `None` makes the cluster `ORIGINAL_DST`, as Istio
    /// does for an entry without `defaultEndpoint`.
    pub endpoint: Option<(String, u32)>,
    /// The proxy's own services with a port on this one, for the cluster's metadata.
    pub services: Vec<&'a Service>,
}

impl IngressListener<'_> {
    pub fn cluster(&self) -> String {
        names::inbound_cluster(self.port)
    }

    pub fn listener(&self) -> String {
        names::listener_name(&self.bind, self.port)
    }
}

/// The Sidecar ingress entries of a sidecar without traffic capture; `None` when its inbound
/// side is the usual one (captured traffic, or a Sidecar without `ingress`).
pub fn plan<'a>(
    scope: &Scope<'a>,
    opts: &TranslateOptions,
    notes: &mut Notes,
) -> Option<Vec<IngressListener<'a>>> {
    if scope.proxy.role != Role::Sidecar || !opts.no_capture {
        return None;
    }
    let sidecar = scope.sidecar.filter(|s| !s.spec.ingress.is_empty())?;
    let own = scope.own_services();
    let mut out: Vec<IngressListener> = Vec::new();
    for entry in &sidecar.spec.ingress {
        let Some(port) = &entry.port else {
            continue;
        };
        // `getBindToPort`: an entry asking for IPTABLES capture would be a chain of
        // `virtualInbound`, which a proxy without capture does not have.
        if entry.capture_mode.as_deref() == Some("IPTABLES") {
            notes.push(format!(
                "Sidecar {}/{}: ingress port {} asks for captureMode IPTABLES on a proxy without traffic capture; skipped",
                sidecar.namespace, sidecar.name, port.number
            ));
            continue;
        }
        // Ports are unique per Sidecar (validation), but a conflict keeps the first, as Istio.
        if out.iter().any(|i| i.port == port.number) {
            continue;
        }
        let bind = match entry.bind.as_deref().filter(|b| !b.is_empty()) {
            Some(b) => b.to_string(),
            None => inbound_bind(scope.proxy.ip),
        };
        let endpoint = match entry.default_endpoint.as_deref().filter(|e| !e.is_empty()) {
            None => None,
            Some(ep) => match default_endpoint(ep, scope.proxy.ip) {
                Some(ep) => Some(ep),
                None => {
                    notes.push(format!(
                        "Sidecar {}/{}: ingress port {}: defaultEndpoint {ep:?} is not usable; skipped",
                        sidecar.namespace, sidecar.name, port.number
                    ));
                    continue;
                }
            },
        };
        let mut services: Vec<&Service> = Vec::new();
        for (s, p, target) in &own {
            if (p.number == port.number || *target == port.number)
                && !services.iter().any(|o| o.hostname == s.hostname)
            {
                services.push(s);
            }
        }
        out.push(IngressListener {
            port: port.number,
            protocol: Protocol::parse(port.protocol.as_deref().unwrap_or_default()),
            bind,
            endpoint,
            services,
        });
    }
    Some(out)
}

/// `getSidecarInboundBindIPs`: the proxy's IP when it is a global unicast address (Go's sense:
/// private ranges count, loopback does not), else the wildcard.
fn inbound_bind(ip: Option<IpAddr>) -> String {
    match ip {
        Some(ip) if global_unicast(ip) => ip.to_string(),
        _ => names::WILDCARD_ADDRESS.to_string(),
    }
}

fn global_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_link_local()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// `defaultEndpoint` as Istio reads it: `127.0.0.1:<port>` / `[::1]:<port>` is the application on
/// localhost, `0.0.0.0:<port>` / `[::]:<port>` the application on the proxy's IP, `unix://…` a
/// Unix socket.
fn default_endpoint(ep: &str, proxy_ip: Option<IpAddr>) -> Option<(String, u32)> {
    if ep.starts_with("unix://") {
        return Some((ep.to_string(), 0));
    }
    let (host, port) = match ep.strip_prefix('[') {
        Some(rest) => rest.split_once("]:")?,
        None => ep.rsplit_once(':')?,
    };
    let port: u32 = port.parse().ok().filter(|p| (1..=65535).contains(p))?;
    let host = match host {
        "127.0.0.1" | "::1" => host.to_string(),
        "0.0.0.0" | "" => match proxy_ip {
            Some(ip @ IpAddr::V4(_)) => ip.to_string(),
            _ => names::LOCALHOST.to_string(),
        },
        "::" => match proxy_ip {
            Some(ip @ IpAddr::V6(_)) => ip.to_string(),
            _ => "::1".to_string(),
        },
        _ => return None,
    };
    Some((host, port))
}

/// The `inbound|<port>||` clusters: STATIC to the application, or ORIGINAL_DST without one.
pub fn clusters(scope: &Scope<'_>, ingress: &[IngressListener<'_>]) -> Vec<Cluster> {
    ingress
        .iter()
        .map(|i| {
            let name = i.cluster();
            let mut c = Cluster {
                name: name.clone(),
                connect_timeout: Some(duration(scope.push.mesh().connect_timeout)),
                circuit_breakers: Some(EffectivePolicy::default().circuit_breakers()),
                metadata: IstioMetadata::new()
                    .services(i.services.iter().copied())
                    .into_metadata(),
                ..Default::default()
            };
            match &i.endpoint {
                Some((host, port)) => {
                    c.cluster_discovery_type = Some(cluster::ClusterDiscoveryType::Type(
                        DiscoveryType::Static as i32,
                    ));
                    c.load_assignment = Some(ClusterLoadAssignment {
                        cluster_name: name,
                        endpoints: vec![LocalityLbEndpoints {
                            lb_endpoints: vec![LbEndpoint {
                                host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(
                                    EnvoyEndpoint {
                                        address: Some(address(host, *port)),
                                        ..Default::default()
                                    },
                                )),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                        ..Default::default()
                    });
                }
                None => {
                    c.cluster_discovery_type = Some(cluster::ClusterDiscoveryType::Type(
                        DiscoveryType::OriginalDst as i32,
                    ));
                    c.lb_policy = cluster::LbPolicy::ClusterProvided as i32;
                }
            }
            if i.protocol.is_http2() {
                c.typed_extension_protocol_options = upstream_protocol(explicit_http2());
            }
            c
        })
        .collect()
}

/// One bound listener per entry, named `<bind>_<port>` as Istio names them, with Istio's inbound
/// route (everything to the cluster, no timeout) behind `authz` (the proxy's RBAC filters) for
/// HTTP ports and a TCP proxy otherwise. With `tcp_closed` (AuthorizationPolicies govern the
/// workload, and TCP ports have no network RBAC filter to enforce them) TCP ports get no
/// listener, and a note says so.
pub fn listeners(
    scope: &Scope<'_>,
    ingress: &[IngressListener<'_>],
    authz: &[HttpFilter],
    tcp_closed: bool,
    notes: &mut Notes,
) -> Vec<Listener> {
    let Some(sidecar) = scope.sidecar else {
        return Vec::new();
    };
    // Sidecar ingress has no real hostname; Istio's telemetry and decorators use this one.
    let host = format!("{}.{}", sidecar.name, sidecar.namespace);
    ingress
        .iter()
        .filter(|i| {
            let closed = tcp_closed && !i.protocol.is_http_or_sniffed();
            if closed {
                notes.push(format!(
                    "Sidecar {}/{}: TCP port {} not served: AuthorizationPolicies select this \
                     workload and Ferry does not enforce them on TCP yet",
                    sidecar.namespace, sidecar.name, i.port
                ));
            }
            !closed
        })
        .map(|i| {
            let name = i.listener();
            let cluster = i.cluster();
            let filter = if i.protocol.is_http_or_sniffed() {
                inbound_http_connection_manager(
                    &format!("inbound_{name}"),
                    Routes::Inline(Box::new(inbound_route(&cluster, i.port, &host))),
                    authz,
                    &scope.telemetry,
                )
            } else {
                tcp_proxy(&cluster, &cluster)
            };
            let chain = FilterChain {
                name: name.clone(),
                filters: vec![filter],
                metadata: IstioMetadata::new()
                    .config(ConfigKind::Sidecar, &sidecar.namespace, &sidecar.name)
                    .into_metadata(),
                ..Default::default()
            };
            let mode = authn::workload_mode(scope, i.port);
            Listener {
                address: Some(address(&i.bind, i.port)),
                traffic_direction: TrafficDirection::Inbound as i32,
                listener_filters: if mode == MtlsMode::Disable {
                    Vec::new()
                } else {
                    vec![tls_inspector()]
                },
                filter_chains: inbound_chains(chain, i.port, mode),
                name,
                ..Default::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_endpoints_read_as_istio_reads_them() {
        let vm: Option<IpAddr> = Some("10.0.0.7".parse().expect("ip"));
        assert_eq!(
            default_endpoint("127.0.0.1:8080", vm),
            Some(("127.0.0.1".into(), 8080))
        );
        assert_eq!(
            default_endpoint("0.0.0.0:8080", vm),
            Some(("10.0.0.7".into(), 8080))
        );
        assert_eq!(
            default_endpoint("[::1]:8080", vm),
            Some(("::1".into(), 8080))
        );
        assert_eq!(
            default_endpoint("unix:///var/run/app.sock", vm),
            Some(("unix:///var/run/app.sock".into(), 0))
        );
        assert_eq!(default_endpoint("10.0.0.1:8080", vm), None);
        assert_eq!(default_endpoint("127.0.0.1:x", vm), None);
    }

    #[test]
    fn the_default_bind_is_a_global_unicast_proxy_ip_else_the_wildcard() {
        assert_eq!(
            inbound_bind(Some("10.0.0.7".parse().expect("ip"))),
            "10.0.0.7"
        );
        assert_eq!(
            inbound_bind(Some("127.0.0.2".parse().expect("ip"))),
            "0.0.0.0"
        );
        assert_eq!(inbound_bind(None), "0.0.0.0");
    }
}
