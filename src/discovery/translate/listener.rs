//! A sidecar's listeners (LDS), Istio's shape:
//! - `0.0.0.0_<port>` for each outbound HTTP port: an HTTP connection manager that takes its
//!   routes from RDS (`route_config_name` = the port) and ends in the router filter;
//! - `<address>_<port>` (or `0.0.0.0_<port>`) for TCP service ports: a TCP proxy to the cluster;
//! - `virtualOutbound` (15001), where captured outbound traffic lands and is handed to the
//!   listener of its original destination, or passed through;
//! - `virtualInbound` (15006), one filter chain per port of the proxy's own services, to the
//!   `inbound|<port>||` cluster, and a passthrough chain for other ports.
//!
//! The HTTP connection manager and TCP proxy filters are shared with gateways.

use envoy_types::pb::envoy::config::core::v3::TrafficDirection;
use envoy_types::pb::envoy::config::listener::v3::{
    Filter, FilterChain, FilterChainMatch, Listener, ListenerFilter, filter, listener_filter,
};
use envoy_types::pb::envoy::config::route::v3::{
    Decorator, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, route,
    route_action, route_match,
};
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::HttpFault;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::listener::original_dst::v3::OriginalDst;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds, http_connection_manager, http_filter,
};
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{TcpProxy, tcp_proxy};

use super::TranslateOptions;
use super::authn::{self, MtlsMode};
use super::cluster::InboundCluster;
use super::names;
use super::proto::{address, ads_config_source, boolean, no_timeout, pack, uint32};
use super::route::http_ports;
use super::scope::Scope;
use super::telemetry::HcmTelemetry;
use super::tls;
use crate::discovery::mesh::{OutboundTrafficPolicy, ServerHeaderPolicy};
use crate::discovery::registry::Protocol;

/// Where an HTTP connection manager gets its routes.
pub enum Routes {
    /// By name over RDS.
    Rds(String),
    /// Inline (inbound listeners carry their one-route configuration). Boxed: the variants
    /// differ in size by more than half a kilobyte.
    Inline(Box<RouteConfiguration>),
}

/// Where a connection manager stands, which decides whose word it takes for the client's address
/// and scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Behind another proxy of the mesh (sidecars): `x-forwarded-for` names the client.
    Inner,
    /// The mesh's edge (gateways, Envoy's `use_remote_address`), behind `trusted_proxies` load
    /// balancers whose `x-forwarded-for` and `x-forwarded-proto` it believes (Istio's
    /// `gatewayTopology.numTrustedProxies`, Envoy's `xff_num_trusted_hops`).
    Edge { trusted_proxies: u32 },
}

/// The name gateways and inbound listeners give responses' `server` header.
const ISTIO_SERVER_NAME: &str = "istio-envoy";

/// An HTTP connection manager with the fault filter (so per-route faults apply) and the router.
pub fn http_connection_manager(
    stat_prefix: &str,
    routes: Routes,
    position: Position,
    telemetry: &HcmTelemetry,
) -> Filter {
    http_connection_manager_with(stat_prefix, routes, position, &[], telemetry)
}

/// [`http_connection_manager`] with `authz` (the RBAC filters of [`super::authz`]) ahead of
/// the fault filter, where Istio puts authorization: a denied request is never delayed,
/// aborted or routed.
pub fn http_connection_manager_with(
    stat_prefix: &str,
    routes: Routes,
    position: Position,
    authz: &[HttpFilter],
    telemetry: &HcmTelemetry,
) -> Filter {
    hcm_filter(&hcm_config(stat_prefix, routes, position, authz, telemetry))
}

/// A sidecar's inbound connection manager: as [`http_connection_manager_with`], and the
/// client's certificate forwarded to the application in `x-forwarded-client-cert` (Istio's
/// `APPEND_FORWARD` with the subject, URI and DNS SANs), so it learns its caller's identity.
/// Its responses answer as `istio-envoy`, a gateway's do too.
pub fn inbound_http_connection_manager(
    stat_prefix: &str,
    routes: Routes,
    authz: &[HttpFilter],
    telemetry: &HcmTelemetry,
) -> Filter {
    let mut hcm = hcm_config(stat_prefix, routes, Position::Inner, authz, telemetry);
    hcm.server_name = server_name(&telemetry.headers.server, true);
    hcm.forward_client_cert_details = telemetry
        .headers
        .forwarded_client_cert
        .unwrap_or(http_connection_manager::ForwardClientCertDetails::AppendForward)
        as i32;
    hcm.set_current_client_cert_details =
        Some(http_connection_manager::SetCurrentClientCertDetails {
            subject: boolean(true),
            dns: true,
            uri: true,
            ..Default::default()
        });
    hcm_filter(&hcm)
}

/// Istio's `ProxyHeaders.ServerName`: gateways and inbound listeners (`istio_named`) answer as
/// `istio-envoy`, a sidecar's outbound side keeps Envoy's default (`""`, meaning `envoy`); a
/// name set in `proxyHeaders.server.value` is every listener's. With the header disabled the
/// name is unused (the transformation passes the upstream's through).
fn server_name(policy: &ServerHeaderPolicy, istio_named: bool) -> String {
    match policy {
        ServerHeaderPolicy::Named(name) => name.clone(),
        ServerHeaderPolicy::Disabled => String::new(),
        ServerHeaderPolicy::Istio if istio_named => ISTIO_SERVER_NAME.to_string(),
        ServerHeaderPolicy::Istio => String::new(),
    }
}

fn hcm_filter(hcm: &HttpConnectionManager) -> Filter {
    Filter {
        name: names::HTTP_CONNECTION_MANAGER.to_string(),
        config_type: Some(filter::ConfigType::TypedConfig(pack(hcm))),
    }
}

fn hcm_config(
    stat_prefix: &str,
    routes: Routes,
    position: Position,
    authz: &[HttpFilter],
    telemetry: &HcmTelemetry,
) -> HttpConnectionManager {
    let (use_remote_address, xff_num_trusted_hops) = match position {
        Position::Inner => (false, 0),
        Position::Edge { trusted_proxies } => (true, trusted_proxies),
    };
    let headers = &telemetry.headers;
    let server_name = server_name(&headers.server, matches!(position, Position::Edge { .. }));
    let server_header_transformation = match headers.server {
        ServerHeaderPolicy::Disabled => {
            http_connection_manager::ServerHeaderTransformation::PassThrough
        }
        _ => http_connection_manager::ServerHeaderTransformation::Overwrite,
    } as i32;
    let route_specifier = match routes {
        Routes::Rds(name) => http_connection_manager::RouteSpecifier::Rds(Rds {
            config_source: Some(ads_config_source()),
            route_config_name: name,
        }),
        Routes::Inline(rc) => http_connection_manager::RouteSpecifier::RouteConfig(*rc),
    };
    HttpConnectionManager {
        stat_prefix: stat_prefix.to_string(),
        route_specifier: Some(route_specifier),
        http_filters: authz
            .iter()
            .cloned()
            .chain([
                HttpFilter {
                    name: names::FAULT_FILTER.to_string(),
                    config_type: Some(http_filter::ConfigType::TypedConfig(pack(
                        &HttpFault::default(),
                    ))),
                    ..Default::default()
                },
                HttpFilter {
                    name: names::ROUTER_FILTER.to_string(),
                    config_type: Some(http_filter::ConfigType::TypedConfig(pack(&Router {
                        suppress_envoy_headers: !headers.envoy_debug_headers,
                        ..Default::default()
                    }))),
                    ..Default::default()
                },
            ])
            .collect(),
        use_remote_address: boolean(use_remote_address),
        xff_num_trusted_hops,
        server_name,
        server_header_transformation,
        // Envoy generates ids unless told not to (`None`), as Istio leaves it.
        generate_request_id: if headers.request_id {
            None
        } else {
            boolean(false)
        },
        normalize_path: boolean(true),
        upgrade_configs: vec![http_connection_manager::UpgradeConfig {
            upgrade_type: "websocket".to_string(),
            ..Default::default()
        }],
        stream_idle_timeout: Some(no_timeout()),
        access_log: telemetry.access_log.clone(),
        tracing: telemetry.tracing.clone(),
        ..Default::default()
    }
}

/// Istio's inbound filter chains for one port in `mode`: for mTLS a chain matching TLS with
/// Istio's ALPNs that terminates it with the workload certificate (client certificate
/// required), for plain text one matching `raw_buffer`; PERMISSIVE has both, STRICT only the
/// first, DISABLE only the second (and then no transport protocol to match).
pub fn inbound_chains(chain: FilterChain, port: u32, mode: MtlsMode) -> Vec<FilterChain> {
    let port_match = |transport: &str, alpn: &[&str]| FilterChainMatch {
        destination_port: uint32(port),
        transport_protocol: transport.to_string(),
        application_protocols: alpn.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let mtls = || FilterChain {
        filter_chain_match: Some(port_match("tls", &tls::ISTIO_MTLS_ALPNS)),
        transport_socket: Some(tls::inbound_mtls_socket()),
        ..chain.clone()
    };
    match mode {
        MtlsMode::Disable => vec![FilterChain {
            filter_chain_match: Some(port_match("", &[])),
            ..chain
        }],
        MtlsMode::Strict => vec![mtls()],
        MtlsMode::Permissive => vec![
            mtls(),
            FilterChain {
                filter_chain_match: Some(port_match("raw_buffer", &[])),
                ..chain
            },
        ],
    }
}

/// Envoy's TLS inspector, which reads the transport protocol and ALPN the chains match on.
pub fn tls_inspector() -> ListenerFilter {
    ListenerFilter {
        name: names::TLS_INSPECTOR_FILTER.to_string(),
        config_type: Some(listener_filter::ConfigType::TypedConfig(pack(
            &TlsInspector::default(),
        ))),
        ..Default::default()
    }
}

pub fn tcp_proxy(stat_prefix: &str, cluster: &str) -> Filter {
    let proxy = TcpProxy {
        stat_prefix: stat_prefix.to_string(),
        cluster_specifier: Some(tcp_proxy::ClusterSpecifier::Cluster(cluster.to_string())),
        ..Default::default()
    };
    Filter {
        name: names::TCP_PROXY.to_string(),
        config_type: Some(filter::ConfigType::TypedConfig(pack(&proxy))),
    }
}

pub fn build_sidecar_listeners(
    scope: &Scope<'_>,
    routes: &[RouteConfiguration],
    opts: &TranslateOptions,
) -> Vec<Listener> {
    let bind_to_port = if opts.no_capture {
        None
    } else {
        boolean(false)
    };
    let mut out = Vec::new();
    let http = http_ports(scope);
    for rc in routes {
        let Ok(port) = rc.name.parse::<u32>() else {
            continue;
        };
        // Istio keeps the route name (the port) when a Sidecar binds the listener elsewhere.
        let bind = outbound_bind(scope, opts, port).unwrap_or(names::WILDCARD_ADDRESS);
        let name = names::listener_name(bind, port);
        out.push(Listener {
            filter_chains: vec![FilterChain {
                filters: vec![http_connection_manager(
                    &format!("outbound_{name}"),
                    Routes::Rds(rc.name.clone()),
                    Position::Inner,
                    &scope.telemetry,
                )],
                ..Default::default()
            }],
            address: Some(address(bind, port)),
            traffic_direction: TrafficDirection::Outbound as i32,
            bind_to_port,
            name,
            ..Default::default()
        });
    }
    for s in &scope.services {
        for p in &s.ports {
            let tcp = !p.protocol.is_http_or_sniffed() && p.protocol != Protocol::Udp;
            if !tcp || !scope.listens_for(s, p) {
                continue;
            }
            let binds: Vec<&str> = if let Some(bind) = outbound_bind(scope, opts, p.number) {
                // A Sidecar's bind replaces the service addresses (`buildSidecarOutboundListeners`).
                if http.contains(&p.number) {
                    continue;
                }
                vec![bind]
            } else if s.addresses.is_empty() {
                // Without an address only the port tells services apart, and HTTP owns it.
                if http.contains(&p.number) {
                    continue;
                }
                vec![names::WILDCARD_ADDRESS]
            } else {
                s.addresses.iter().map(String::as_str).collect()
            };
            let cluster = names::outbound_cluster(p.number, None, &s.hostname);
            for bind in binds {
                let name = names::listener_name(bind, p.number);
                out.push(Listener {
                    filter_chains: vec![FilterChain {
                        filters: vec![tcp_proxy(&cluster, &cluster)],
                        ..Default::default()
                    }],
                    address: Some(address(bind, p.number)),
                    traffic_direction: TrafficDirection::Outbound as i32,
                    bind_to_port,
                    name,
                    ..Default::default()
                });
            }
        }
    }
    out.push(virtual_outbound(scope));
    out
}

/// Where a sidecar's outbound listener for `port` binds: its Sidecar egress listener's `bind`
/// when the proxy has no traffic capture (so sidecars sharing a host do not all want
/// `0.0.0.0:<port>`), else the wildcard Istio names outbound listeners by.
fn outbound_bind<'a>(scope: &Scope<'a>, opts: &TranslateOptions, port: u32) -> Option<&'a str> {
    if opts.no_capture {
        scope.egress_bind(port)
    } else {
        None
    }
}

fn virtual_outbound(scope: &Scope<'_>) -> Listener {
    let cluster = match scope.outbound_traffic_policy() {
        OutboundTrafficPolicy::AllowAny => names::PASSTHROUGH_CLUSTER,
        OutboundTrafficPolicy::RegistryOnly => names::BLACK_HOLE_CLUSTER,
    };
    Listener {
        name: names::VIRTUAL_OUTBOUND_LISTENER.to_string(),
        address: Some(address(
            names::WILDCARD_ADDRESS,
            names::VIRTUAL_OUTBOUND_PORT,
        )),
        use_original_dst: boolean(true),
        traffic_direction: TrafficDirection::Outbound as i32,
        filter_chains: vec![FilterChain {
            name: "PassthroughFilterChain".to_string(),
            filters: vec![tcp_proxy(cluster, cluster)],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn original_dst_filter() -> ListenerFilter {
    ListenerFilter {
        name: names::ORIGINAL_DST_FILTER.to_string(),
        config_type: Some(listener_filter::ConfigType::TypedConfig(pack(
            &OriginalDst {},
        ))),
        ..Default::default()
    }
}

/// `virtualInbound`; `authz` are the RBAC filters of the proxy's AuthorizationPolicies, put on
/// every HTTP chain (TCP chains get no network RBAC filter: AuthorizationPolicy is not enforced on
/// TCP ports yet; Ferry's proxy never binds this listener, and Sidecar ingress listeners close
/// such ports instead, see [`super::ingress::listeners`]).
pub fn virtual_inbound(
    scope: &Scope<'_>,
    inbound_clusters: &[InboundCluster<'_>],
    authz: &[HttpFilter],
) -> Listener {
    let mut chains = Vec::new();
    for inbound in inbound_clusters {
        let chain_name = names::listener_name(names::WILDCARD_ADDRESS, inbound.port);
        let http = inbound
            .services
            .iter()
            .any(|(_, p)| p.protocol.is_http_or_sniffed());
        let filter = if http {
            let host = inbound
                .services
                .first()
                .map_or("", |(s, _)| s.hostname.as_str());
            inbound_http_connection_manager(
                &format!("inbound_{chain_name}"),
                Routes::Inline(Box::new(inbound_route(&inbound.name, inbound.port, host))),
                authz,
                &scope.telemetry,
            )
        } else {
            tcp_proxy(&inbound.name, &inbound.name)
        };
        let chain = FilterChain {
            name: chain_name,
            filters: vec![filter],
            ..Default::default()
        };
        chains.extend(inbound_chains(
            chain,
            inbound.port,
            authn::workload_mode(scope, inbound.port),
        ));
    }
    chains.push(FilterChain {
        name: "InboundPassthroughFilterChain".to_string(),
        filters: vec![tcp_proxy(
            names::INBOUND_PASSTHROUGH_CLUSTER,
            names::INBOUND_PASSTHROUGH_CLUSTER,
        )],
        ..Default::default()
    });
    Listener {
        name: names::VIRTUAL_INBOUND_LISTENER.to_string(),
        address: Some(address(
            names::WILDCARD_ADDRESS,
            names::VIRTUAL_INBOUND_PORT,
        )),
        use_original_dst: boolean(true),
        traffic_direction: TrafficDirection::Inbound as i32,
        listener_filters: vec![original_dst_filter(), tls_inspector()],
        filter_chains: chains,
        ..Default::default()
    }
}

/// `buildSidecarInboundHTTPRouteConfig`: one `*` virtual host, everything to the application,
/// without a timeout (the caller's sidecar enforces timeouts).
pub(super) fn inbound_route(cluster: &str, port: u32, host: &str) -> RouteConfiguration {
    RouteConfiguration {
        name: cluster.to_string(),
        virtual_hosts: vec![VirtualHost {
            name: format!("inbound|http|{port}"),
            domains: vec!["*".to_string()],
            routes: vec![Route {
                name: names::DEFAULT_ROUTE.to_string(),
                r#match: Some(RouteMatch {
                    path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_string())),
                    ..Default::default()
                }),
                decorator: Some(Decorator {
                    operation: format!("{host}:{port}/*"),
                    ..Default::default()
                }),
                action: Some(route::Action::Route(RouteAction {
                    cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(
                        cluster.to_string(),
                    )),
                    timeout: Some(no_timeout()),
                    ..Default::default()
                })),
                ..Default::default()
            }],
            ..Default::default()
        }],
        validate_clusters: boolean(false),
        ..Default::default()
    }
}
