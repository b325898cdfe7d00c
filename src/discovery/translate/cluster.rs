//! Clusters (CDS), as Istio's `ClusterBuilder` builds them:
//! - `outbound|<port>||<host>` for every port of every service in scope, and
//!   `outbound|<port>|<subset>|<host>` for every subset of its DestinationRule;
//! - `inbound|<port>||` for the sidecar's own service ports, to the application on 127.0.0.1;
//! - `BlackHoleCluster`, and for sidecars `PassthroughCluster` and `InboundPassthroughCluster`.
//!
//! The discovery type follows the service's resolution (`convertResolution`): EDS for endpoints
//! the control plane knows, `STRICT_DNS`/`LOGICAL_DNS` with the endpoints inline for DNS
//! entries, `ORIGINAL_DST` for passthrough ones (gateways cannot pass through, so they use EDS).

use std::collections::{BTreeMap, HashMap};

use envoy_types::pb::envoy::config::cluster::v3::{
    Cluster,
    cluster::{self, CommonLbConfig, DiscoveryType, EdsClusterConfig},
};
use envoy_types::pb::envoy::config::core::v3::{
    BindConfig, Http1ProtocolOptions, Http2ProtocolOptions, SocketAddress, socket_address,
};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint as EnvoyEndpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};

use super::authn::{self, MtlsMode};
use super::endpoint::locality_lb_endpoints;
use super::metadata::IstioMetadata;
use super::names::{self, ConfigKind};
use super::policy::EffectivePolicy;
use super::proto::{address, ads_config_source, duration, pack, uint32};
use super::scope::Scope;
use super::tls::{self, ClientTls};
use super::{Notes, Role};
use crate::config::networking as net;
use crate::discovery::accepted::Config;
use crate::discovery::registry::{Port, Protocol, Resolution, Service};

/// An outbound cluster, with what its endpoints are derived from.
#[derive(Debug, Clone)]
pub struct OutboundCluster<'a> {
    pub name: String,
    pub service: &'a Service,
    pub port: &'a Port,
    pub subset: Option<&'a net::Subset>,
    /// The cluster's type (a `PASSTHROUGH` load balancer makes any cluster `ORIGINAL_DST`).
    pub discovery: DiscoveryType,
}

/// An inbound cluster: one per application port of the sidecar's own services.
#[derive(Debug, Clone)]
pub struct InboundCluster<'a> {
    pub name: String,
    /// The application's port (the services' target port).
    pub port: u32,
    /// The service ports served on it.
    pub services: Vec<(&'a Service, &'a Port)>,
}

/// The outbound and shared clusters of one proxy (a sidecar's inbound side is
/// [`inbound`]'s, or its Sidecar ingress's).
#[derive(Debug, Default)]
pub struct Clusters<'a> {
    pub outbound: Vec<OutboundCluster<'a>>,
    resources: Vec<Cluster>,
}

impl Clusters<'_> {
    pub fn into_clusters(self) -> Vec<Cluster> {
        self.resources
    }
}

/// `convertResolution`.
fn discovery_type(role: Role, resolution: Resolution) -> DiscoveryType {
    match resolution {
        Resolution::ClientSideLb => DiscoveryType::Eds,
        Resolution::DnsLb => DiscoveryType::StrictDns,
        Resolution::DnsRoundRobinLb => DiscoveryType::LogicalDns,
        Resolution::Passthrough => match role {
            Role::Router => DiscoveryType::Eds,
            Role::Sidecar => DiscoveryType::OriginalDst,
        },
    }
}

pub fn build<'a>(scope: &Scope<'a>, notes: &mut Notes) -> Clusters<'a> {
    let mut out = Clusters::default();
    let mut services = scope.services.clone();
    if scope.proxy.role == Role::Sidecar {
        services.extend(scope.destination_dependencies());
    }
    for service in services {
        let dr = scope.destination_rule(&service.hostname, &service.namespace);
        if let Some(dr) = dr {
            note_untranslated(dr, notes);
        }
        // Proxies do not carry UDP.
        for port in service.ports.iter().filter(|p| p.protocol != Protocol::Udp) {
            let subsets = std::iter::once(None).chain(
                dr.into_iter()
                    .flat_map(|dr| dr.spec.subsets.iter().map(Some)),
            );
            for subset in subsets {
                let plan = OutboundCluster {
                    name: names::outbound_cluster(
                        port.number,
                        subset.map(|s| s.name.as_str()),
                        &service.hostname,
                    ),
                    service,
                    port,
                    subset,
                    discovery: discovery_type(scope.proxy.role, service.resolution),
                };
                if let Some((c, discovery)) = outbound_cluster(scope, &plan, dr) {
                    out.resources.push(c);
                    out.outbound.push(OutboundCluster { discovery, ..plan });
                }
            }
        }
    }
    out.resources.push(black_hole(scope));
    if scope.proxy.role == Role::Sidecar {
        out.resources.push(passthrough(scope));
        out.resources.push(inbound_passthrough(scope));
    }
    out
}

/// Only the inbound clusters of a sidecar: what depends on the proxy as a service instance.
pub fn inbound<'a>(scope: &Scope<'a>) -> (Vec<InboundCluster<'a>>, Vec<Cluster>) {
    let inbound = inbound_clusters(scope);
    let resources = inbound.iter().map(|i| inbound_cluster(scope, i)).collect();
    (inbound, resources)
}

/// DestinationRule settings that are valid but not translated yet.
fn note_untranslated(dr: &Config<net::DestinationRule>, notes: &mut Notes) {
    let policies = dr.spec.traffic_policy.iter().chain(
        dr.spec
            .subsets
            .iter()
            .filter_map(|s| s.traffic_policy.as_ref()),
    );
    for p in policies {
        let tls = p.tls.iter().chain(
            p.port_level_settings
                .iter()
                .filter_map(|pl| pl.tls.as_ref()),
        );
        for t in tls {
            let mode = t.mode.as_deref().unwrap_or("DISABLE");
            let credential = t.credential_name.as_deref().is_some_and(|c| !c.is_empty());
            if matches!(mode, "SIMPLE" | "MUTUAL") && credential {
                notes.push(format!(
                    "DestinationRule {}/{}: trafficPolicy.tls credentialName is not translated (a proxy reads no Kubernetes secrets); no TLS is originated",
                    dr.namespace, dr.name
                ));
            }
            let files = t
                .client_certificate
                .as_deref()
                .is_some_and(|c| !c.is_empty())
                && t.private_key.as_deref().is_some_and(|c| !c.is_empty());
            if mode == "MUTUAL" && !credential && !files {
                notes.push(format!(
                    "DestinationRule {}/{}: trafficPolicy.tls mode MUTUAL needs clientCertificate and privateKey; no TLS is originated",
                    dr.namespace, dr.name
                ));
            }
        }
        let locality = p
            .load_balancer
            .as_ref()
            .and_then(|lb| lb.locality_lb_setting.as_ref());
        if locality.is_some() {
            notes.push(format!(
                "DestinationRule {}/{}: loadBalancer.localityLbSetting is not translated",
                dr.namespace, dr.name
            ));
        }
    }
}

fn outbound_cluster(
    scope: &Scope<'_>,
    plan: &OutboundCluster<'_>,
    dr: Option<&Config<net::DestinationRule>>,
) -> Option<(Cluster, DiscoveryType)> {
    let policy = EffectivePolicy::of(dr.map(|d| &d.spec), plan.subset, plan.port.number);
    let discovery = if policy.is_passthrough() {
        DiscoveryType::OriginalDst
    } else {
        plan.discovery
    };
    let (lb_policy, lb_config) = match discovery {
        DiscoveryType::OriginalDst => (cluster::LbPolicy::ClusterProvided, None),
        _ => policy.lb_policy(),
    };
    let mut c = Cluster {
        name: plan.name.clone(),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(discovery as i32)),
        connect_timeout: Some(policy.connect_timeout(scope.push.mesh().connect_timeout)),
        lb_policy: lb_policy as i32,
        lb_config,
        circuit_breakers: Some(policy.circuit_breakers()),
        ..Default::default()
    };
    match discovery {
        DiscoveryType::Eds => {
            c.eds_cluster_config = Some(EdsClusterConfig {
                service_name: plan.name.clone(),
                eds_config: Some(ads_config_source()),
            });
        }
        DiscoveryType::StrictDns | DiscoveryType::LogicalDns | DiscoveryType::Static => {
            let endpoints = locality_lb_endpoints(plan);
            // Istio drops DNS and static clusters without endpoints rather than send empty ones.
            if endpoints.is_empty() {
                return None;
            }
            c.load_assignment = Some(ClusterLoadAssignment {
                cluster_name: plan.name.clone(),
                endpoints,
                ..Default::default()
            });
            if discovery != DiscoveryType::Static {
                set_dns_options(&mut c, scope);
            }
        }
        DiscoveryType::OriginalDst => {}
    }
    if let Some((od, panic)) = policy.outlier_detection() {
        c.outlier_detection = Some(od);
        c.common_lb_config = Some(CommonLbConfig {
            healthy_panic_threshold: Some(panic),
            ..Default::default()
        });
    }
    let http2 =
        plan.port.protocol.is_http2() || (policy.h2_upgrade() && plan.port.protocol.is_http());
    let downstream = policy.use_client_protocol()
        || (scope.proxy.role == Role::Sidecar && plan.port.protocol == Protocol::Unsupported);
    let upstream = if http2 {
        Some(explicit_http2())
    } else if downstream {
        Some(use_downstream_protocol())
    } else {
        None
    };
    let common = policy.common_http_protocol_options();
    if upstream.is_some() || common.is_some() {
        let options = HttpProtocolOptions {
            upstream_protocol_options: upstream,
            common_http_protocol_options: common,
            ..Default::default()
        };
        c.typed_extension_protocol_options =
            HashMap::from([(names::HTTP_PROTOCOL_OPTIONS.to_string(), pack(&options))]);
    }
    apply_tls(&mut c, scope, plan, &policy, discovery, http2);
    let mut md = IstioMetadata::new()
        .services([plan.service])
        .default_original_port(plan.port.number);
    if let Some(dr) = dr {
        md = md.config(ConfigKind::DestinationRule, &dr.namespace, &dr.name);
    }
    if let Some(subset) = plan.subset {
        md = md.subset(&subset.name);
    }
    if plan.service.mesh_external {
        md = md.external();
    }
    c.metadata = md.into_metadata();
    Some((c, discovery))
}

/// The service accounts of a service's endpoints serving `port`, sorted: who an Istio client
/// accepts as the server (`push.ServiceAccounts`).
fn service_accounts(service: &Service, port: u32) -> Vec<String> {
    let mut out: Vec<String> = service
        .endpoints
        .iter()
        .filter(|e| e.ports.contains_key(&port))
        .filter_map(|e| e.service_account.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `buildUpstreamTLSSettings` and `applyUpstreamTLSSettings`: the DestinationRule's `tls`
/// decides (`DISABLE`, `SIMPLE`, `MUTUAL`, `ISTIO_MUTUAL`); without one, auto mTLS sends Istio
/// mTLS to the endpoints marked `tlsMode: istio` and plain text to the rest, unless the mesh
/// turned it off, the service is outside the mesh, or its namespace disables mTLS. Clusters
/// that pass through to the original destination get no auto mTLS: their endpoints are not
/// known.
fn apply_tls(
    c: &mut Cluster,
    scope: &Scope<'_>,
    plan: &OutboundCluster<'_>,
    policy: &EffectivePolicy<'_>,
    discovery: DiscoveryType,
    http2: bool,
) {
    let default_sni = tls::outbound_sni(
        plan.port.number,
        plan.subset.map(|s| s.name.as_str()),
        &plan.service.hostname,
    );
    let accounts = || service_accounts(plan.service, plan.port.number);
    let non_empty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
    let settings = match policy.tls {
        Some(t) => match t.mode.as_deref() {
            Some("ISTIO_MUTUAL") => Some(ClientTls::IstioMutual {
                sans: if t.subject_alt_names.is_empty() {
                    accounts()
                } else {
                    t.subject_alt_names.clone()
                },
                sni: non_empty(&t.sni).unwrap_or(default_sni),
            }),
            Some(mode @ ("SIMPLE" | "MUTUAL")) => {
                // A sidecar does not read Kubernetes secrets (Istio skips the rule's TLS for
                // sidecars too when it names a credential and selects no workload).
                if non_empty(&t.credential_name).is_some() {
                    return;
                }
                let client = if mode == "MUTUAL" {
                    match (non_empty(&t.client_certificate), non_empty(&t.private_key)) {
                        (Some(cert), Some(key)) => Some((cert, key)),
                        // Istio: "client certificate and private key must not be empty".
                        _ => return,
                    }
                } else {
                    None
                };
                let ca = if t.insecure_skip_verify == Some(true) {
                    None
                } else {
                    Some(non_empty(&t.ca_certificates).unwrap_or(tls::SYSTEM_ROOTS.to_string()))
                };
                // Envoy's auto SNI would take the request's host; the service's host is what
                // that is for the services a rule like this is written for.
                let sni = non_empty(&t.sni)
                    .unwrap_or_else(|| plan.service.hostname.trim_start_matches("*.").to_string());
                Some(ClientTls::Files {
                    client,
                    ca,
                    sans: t.subject_alt_names.clone(),
                    sni,
                })
            }
            // DISABLE, and a `tls` without a mode (DISABLE is the mode's zero value).
            _ => None,
        },
        None => {
            let auto = scope.push.mesh().enable_auto_mtls
                && discovery != DiscoveryType::OriginalDst
                && authn::service_mode(scope, plan.service) != MtlsMode::Disable;
            if auto {
                let socket = tls::upstream_socket(
                    &ClientTls::IstioMutual {
                        sans: accounts(),
                        sni: default_sni,
                    },
                    http2,
                );
                c.transport_socket_matches = tls::auto_mtls_matches(socket);
            }
            return;
        }
    };
    if let Some(settings) = settings {
        c.transport_socket = Some(tls::upstream_socket(&settings, http2));
    }
}

/// Istio's DNS settings: IPv4 answers, the records' TTLs, and the mesh's refresh rate. Envoy now
/// prefers these inside the `envoy.clusters.dns` extension, but still honours the cluster fields,
/// which is where Istio (and every Envoy an Istio control plane serves) sets them.
#[allow(deprecated)]
fn set_dns_options(c: &mut Cluster, scope: &Scope<'_>) {
    c.dns_lookup_family = cluster::DnsLookupFamily::V4Only as i32;
    c.respect_dns_ttl = true;
    c.dns_refresh_rate = Some(duration(scope.push.mesh().dns_refresh_rate));
}

pub(super) fn upstream_protocol(
    options: http_protocol_options::UpstreamProtocolOptions,
) -> HashMap<String, envoy_types::pb::google::protobuf::Any> {
    let options = HttpProtocolOptions {
        upstream_protocol_options: Some(options),
        ..Default::default()
    };
    HashMap::from([(names::HTTP_PROTOCOL_OPTIONS.to_string(), pack(&options))])
}

pub(super) fn explicit_http2() -> http_protocol_options::UpstreamProtocolOptions {
    http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
        http_protocol_options::ExplicitHttpConfig {
            protocol_config: Some(
                http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(
                    Http2ProtocolOptions::default(),
                ),
            ),
        },
    )
}

/// Speak to the upstream what the client spoke (undeclared ports, `useClientProtocol`).
fn use_downstream_protocol() -> http_protocol_options::UpstreamProtocolOptions {
    http_protocol_options::UpstreamProtocolOptions::UseDownstreamProtocolConfig(
        http_protocol_options::UseDownstreamHttpConfig {
            http_protocol_options: Some(Http1ProtocolOptions::default()),
            http2_protocol_options: Some(Http2ProtocolOptions::default()),
            ..Default::default()
        },
    )
}

fn black_hole(scope: &Scope<'_>) -> Cluster {
    Cluster {
        name: names::BLACK_HOLE_CLUSTER.to_string(),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            DiscoveryType::Static as i32,
        )),
        connect_timeout: Some(duration(scope.push.mesh().connect_timeout)),
        lb_policy: cluster::LbPolicy::RoundRobin as i32,
        ..Default::default()
    }
}

fn passthrough(scope: &Scope<'_>) -> Cluster {
    Cluster {
        name: names::PASSTHROUGH_CLUSTER.to_string(),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            DiscoveryType::OriginalDst as i32,
        )),
        connect_timeout: Some(duration(scope.push.mesh().connect_timeout)),
        lb_policy: cluster::LbPolicy::ClusterProvided as i32,
        circuit_breakers: Some(EffectivePolicy::default().circuit_breakers()),
        typed_extension_protocol_options: upstream_protocol(use_downstream_protocol()),
        ..Default::default()
    }
}

/// Bound to 127.0.0.6 so iptables lets the forwarded connection reach the application.
fn inbound_passthrough(scope: &Scope<'_>) -> Cluster {
    let mut c = passthrough(scope);
    c.name = names::INBOUND_PASSTHROUGH_CLUSTER.to_string();
    c.upstream_bind_config = Some(BindConfig {
        source_address: Some(SocketAddress {
            address: names::INBOUND_PASSTHROUGH_BIND_IPV4.to_string(),
            port_specifier: Some(socket_address::PortSpecifier::PortValue(0)),
            ..Default::default()
        }),
        ..Default::default()
    });
    c
}

/// The sidecar's own service ports, grouped by application port (Istio names inbound clusters
/// by the port the application listens on, so two service ports to one target share one).
fn inbound_clusters<'a>(scope: &Scope<'a>) -> Vec<InboundCluster<'a>> {
    let mut by_port: BTreeMap<u32, Vec<(&Service, &Port)>> = BTreeMap::new();
    for (service, port, target) in scope.own_services() {
        if port.protocol == Protocol::Udp {
            continue;
        }
        let entry = by_port.entry(target).or_default();
        if !entry
            .iter()
            .any(|(s, p)| s.hostname == service.hostname && p.number == port.number)
        {
            entry.push((service, port));
        }
    }
    by_port
        .into_iter()
        .map(|(port, services)| InboundCluster {
            name: names::inbound_cluster(port),
            port,
            services,
        })
        .collect()
}

fn inbound_cluster(scope: &Scope<'_>, inbound: &InboundCluster<'_>) -> Cluster {
    let endpoint = LbEndpoint {
        host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(EnvoyEndpoint {
            address: Some(address(names::LOCALHOST, inbound.port)),
            ..Default::default()
        })),
        ..Default::default()
    };
    // Istio lists each service once, even when several of its ports share the target port.
    let mut services: Vec<&Service> = Vec::new();
    for (s, _) in &inbound.services {
        if !services.iter().any(|o| o.hostname == s.hostname) {
            services.push(s);
        }
    }
    let http2 = inbound.services.iter().any(|(_, p)| p.protocol.is_http2());
    Cluster {
        name: inbound.name.clone(),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            DiscoveryType::Static as i32,
        )),
        connect_timeout: Some(duration(scope.push.mesh().connect_timeout)),
        load_assignment: Some(ClusterLoadAssignment {
            cluster_name: inbound.name.clone(),
            endpoints: vec![LocalityLbEndpoints {
                lb_endpoints: vec![endpoint],
                ..Default::default()
            }],
            ..Default::default()
        }),
        circuit_breakers: Some(EffectivePolicy::default().circuit_breakers()),
        typed_extension_protocol_options: if http2 {
            upstream_protocol(explicit_http2())
        } else {
            HashMap::new()
        },
        metadata: IstioMetadata::new().services(services).into_metadata(),
        ..Default::default()
    }
}

/// The weight Envoy gives an endpoint without one.
pub const DEFAULT_ENDPOINT_WEIGHT: u32 = 1;

/// Endpoint weights as Envoy wants them: at least 1.
pub fn endpoint_weight(
    weight: Option<u32>,
) -> Option<envoy_types::pb::google::protobuf::UInt32Value> {
    uint32(weight.filter(|w| *w > 0).unwrap_or(DEFAULT_ENDPOINT_WEIGHT))
}
