//! A gateway's listeners and route configurations (`buildGatewayListeners`,
//! `buildGatewayHTTPRouteConfig`), from the servers of the Gateways whose `selector` picks it:
//! - one listener per bound port, `0.0.0.0_<port>` (the port from the caller's [`PortMapping`]);
//! - plain HTTP servers on a port share the route configuration `http.<port>`; each HTTPS server
//!   that terminates TLS gets a filter chain matched by SNI and its own route configuration
//!   `https.<port>.<port name>.<gateway>.<namespace>`;
//! - virtual hosts come from the VirtualServices bound to the Gateway (`gateways: [ns/name]`),
//!   for the hosts the server and the VirtualService have in common (`*.example.com` and `*`
//!   intersect as Istio intersects them) and that the server's `ns/host` admits; a server
//!   without any gets a `*` virtual host without routes, so every request is a 404.
//!
//! TCP, TLS passthrough and `ISTIO_MUTUAL` servers are not translated yet.
//!
//! [`credentials`] are the SDS secrets of the TLS servers (`kubernetes://<credentialName>`),
//! which the control plane serves the gateway itself, as istiod does.
//!
//! [`PortMapping`]: super::PortMapping

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::core::v3::{
    DataSource, TrafficDirection, TransportSocket, data_source, transport_socket,
};
use envoy_types::pb::envoy::config::listener::v3::{
    FilterChain, FilterChainMatch, Listener, ListenerFilter, listener_filter,
};
use envoy_types::pb::envoy::config::route::v3::{RouteConfiguration, VirtualHost, virtual_host};
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CommonTlsContext, DownstreamTlsContext, SdsSecretConfig, Secret, TlsCertificate,
    common_tls_context,
};
use prost::Message;

use super::httproute::{RouteContext, is_catch_all, virtual_service_routes};
use super::listener::{Position, Routes, http_connection_manager_with};
use super::names;
use super::proto::{address, ads_config_source, boolean, pack, uint32};
use super::route::MAX_DIRECT_RESPONSE_BODY_BYTES;
use super::scope::Scope;
use super::telemetry::HcmTelemetry;
use super::{Notes, TranslateOptions};
use crate::config::networking as net;
use crate::config::types::selects;
use crate::discovery::accepted::Config;
use crate::discovery::credentials::KUBERNETES_PREFIX;
use crate::discovery::registry::Protocol;
use crate::validation::hosts::host_subset_of;

/// A Gateway server this proxy serves, with where it is bound.
struct BoundServer<'a> {
    gateway: &'a Config<net::Gateway>,
    server: &'a net::Server,
    port: &'a net::ServerPort,
    listen_port: u32,
    bind: &'a str,
    route_name: String,
    /// Terminates TLS (an HTTPS server); otherwise plain HTTP.
    tls: Option<&'a net::ServerTlsSettings>,
}

impl BoundServer<'_> {
    fn gateway_name(&self) -> String {
        format!("{}/{}", self.gateway.namespace, self.gateway.name)
    }
}

pub fn build(
    scope: &Scope<'_>,
    opts: &TranslateOptions,
    notes: &mut Notes,
) -> (Vec<Listener>, Vec<RouteConfiguration>) {
    let servers = bound_servers(scope, opts, notes);
    let mut by_route: BTreeMap<&str, Vec<&BoundServer<'_>>> = BTreeMap::new();
    for s in &servers {
        by_route.entry(s.route_name.as_str()).or_default().push(s);
    }
    let routes = by_route
        .iter()
        .map(|(name, servers)| route_configuration(scope, name, servers, notes))
        .collect();
    let mut by_listener: BTreeMap<(&str, u32), Vec<&BoundServer<'_>>> = BTreeMap::new();
    for s in &servers {
        by_listener
            .entry((s.bind, s.listen_port))
            .or_default()
            .push(s);
    }
    // A gateway's listeners are its inbound side: the AuthorizationPolicies selecting the
    // gateway workload apply to every one of them.
    let authz = super::authz::http_filters(scope.push, scope.proxy, notes);
    let edge = Position::Edge {
        trusted_proxies: scope.push.mesh().num_trusted_proxies,
    };
    let listeners = by_listener
        .into_iter()
        .map(|((bind, port), servers)| {
            listener(bind, port, &servers, edge, &authz, &scope.telemetry)
        })
        .collect();
    (listeners, routes)
}

/// The servers of the selecting Gateways that can be translated, in Gateway order. On one bound
/// port, plain HTTP and TLS-terminating servers cannot mix: the first server's kind wins, as
/// Istio's merge keeps the first.
fn bound_servers<'a>(
    scope: &Scope<'a>,
    opts: &TranslateOptions,
    notes: &mut Notes,
) -> Vec<BoundServer<'a>> {
    let mut out: Vec<BoundServer<'a>> = Vec::new();
    for gw in scope.push.gateways() {
        if !selects(&gw.spec.selector, &scope.proxy.labels) {
            continue;
        }
        for server in &gw.spec.servers {
            let Some(port) = &server.port else { continue };
            let what = format!(
                "Gateway {}/{} server port {}",
                gw.namespace, gw.name, port.number
            );
            let Some(listen_port) = opts.gateway_ports.listen_port(port.number) else {
                notes.push(format!("{what}: the mapped port is out of range"));
                continue;
            };
            let bind = server.bind.as_deref().filter(|b| !b.is_empty());
            let protocol = Protocol::parse(&port.protocol);
            let tls_mode = server.tls.as_ref().and_then(|t| t.mode.as_deref());
            let (route_name, tls) = if protocol.is_http() {
                (names::gateway_http_route(listen_port, bind), None)
            } else if protocol == Protocol::Https
                && matches!(tls_mode, Some("SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL"))
            {
                (
                    names::gateway_https_route(
                        port.number,
                        &port.name,
                        &gw.name,
                        &gw.namespace,
                        bind,
                    ),
                    server.tls.as_ref(),
                )
            } else {
                notes.push(format!(
                    "{what}: protocol {} with TLS mode {} is not translated",
                    port.protocol,
                    tls_mode.unwrap_or("none")
                ));
                continue;
            };
            let bind = bind.unwrap_or(names::WILDCARD_ADDRESS);
            let clash = out.iter().any(|o| {
                o.bind == bind && o.listen_port == listen_port && o.tls.is_some() != tls.is_some()
            });
            if clash {
                notes.push(format!(
                    "{what}: port {listen_port} already serves {}; server skipped",
                    if tls.is_some() { "plain HTTP" } else { "TLS" }
                ));
                continue;
            }
            out.push(BoundServer {
                gateway: gw,
                server,
                port,
                listen_port,
                bind,
                route_name,
                tls,
            });
        }
    }
    out
}

/// The server hosts a VirtualService in `vs_ns` may use: `ns/host` entries for its namespace or
/// `*`, without the namespace.
fn server_hosts_for<'s>(server: &'s net::Server, vs_ns: &str) -> Vec<&'s str> {
    server
        .hosts
        .iter()
        .filter_map(|h| {
            let (ns, host) = h.split_once('/')?;
            (ns == "*" || ns == vs_ns).then_some(host)
        })
        .collect()
}

/// Every server host without its namespace.
fn all_server_hosts(server: &net::Server) -> impl Iterator<Item = &str> {
    server
        .hosts
        .iter()
        .map(|h| h.split_once('/').map_or(h.as_str(), |(_, h)| h))
}

/// `host.Names.Intersection`: for each pair that overlaps, the more specific of the two.
fn intersect(server_hosts: &[&str], vs_hosts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for vh in vs_hosts {
        for sh in server_hosts {
            let h = if host_subset_of(vh, sh) {
                vh.as_str()
            } else if host_subset_of(sh, vh) {
                sh
            } else {
                continue;
            };
            let h = h.to_ascii_lowercase();
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

fn route_configuration(
    scope: &Scope<'_>,
    name: &str,
    servers: &[&BoundServer<'_>],
    notes: &mut Notes,
) -> RouteConfiguration {
    let mut vhosts: BTreeMap<String, VirtualHost> = BTreeMap::new();
    for bs in servers {
        let gateway_name = bs.gateway_name();
        let gateway = [gateway_name.clone()];
        let https_redirect = bs.server.tls.as_ref().and_then(|t| t.https_redirect) == Some(true);
        let ctx = RouteContext {
            scope,
            listen_port: bs.port.number,
            gateways: &gateway,
            tls: bs.tls.is_some(),
        };
        for vs in scope
            .virtual_services
            .iter()
            .filter(|vs| vs.spec.gateways.contains(&gateway_name))
        {
            let hosts = intersect(&server_hosts_for(bs.server, &vs.namespace), &vs.spec.hosts);
            if hosts.is_empty() {
                continue;
            }
            let routes = virtual_service_routes(&ctx, vs, notes);
            if routes.is_empty() {
                continue;
            }
            for h in hosts {
                let vh = vhosts.entry(h.clone()).or_insert_with(|| VirtualHost {
                    name: names::domain_name(&h, bs.port.number),
                    domains: gateway_domains(&h),
                    include_request_attempt_count: scope.telemetry.headers.attempt_count,
                    ..Default::default()
                });
                vh.routes.extend(routes.iter().cloned());
                if https_redirect {
                    vh.require_tls = virtual_host::TlsRequirementType::All as i32;
                }
            }
        }
        if https_redirect {
            for h in all_server_hosts(bs.server) {
                let h = h.to_ascii_lowercase();
                vhosts
                    .entry(h.clone())
                    .or_insert_with(|| VirtualHost {
                        name: names::domain_name(&h, bs.port.number),
                        domains: gateway_domains(&h),
                        include_request_attempt_count: scope.telemetry.headers.attempt_count,
                        ..Default::default()
                    })
                    .require_tls = virtual_host::TlsRequirementType::All as i32;
            }
        }
    }
    let mut virtual_hosts: Vec<VirtualHost> = vhosts
        .into_values()
        .map(|mut vh| {
            // `SortVHostRoutes`: catch-all routes last, the others in their order.
            let (catch_all, mut routes): (Vec<_>, Vec<_>) =
                vh.routes.into_iter().partition(is_catch_all);
            routes.extend(catch_all);
            vh.routes = routes;
            vh
        })
        .collect();
    if virtual_hosts.is_empty() {
        let port = servers.first().map_or(0, |s| s.port.number);
        virtual_hosts.push(VirtualHost {
            name: names::domain_name("blackhole", port),
            domains: vec!["*".to_string()],
            ..Default::default()
        });
    }
    virtual_hosts.sort_by(|a, b| a.name.cmp(&b.name));
    RouteConfiguration {
        name: name.to_string(),
        virtual_hosts,
        validate_clusters: boolean(false),
        ignore_port_in_host_matching: true,
        max_direct_response_body_size_bytes: uint32(MAX_DIRECT_RESPONSE_BODY_BYTES),
        ..Default::default()
    }
}

/// `buildGatewayVirtualHostDomains`: the host, and the host with any port, because clients put
/// the gateway's port in `Host` and the gateway's port is not the Gateway server's port when a
/// Service maps it (envoyproxy/envoy#8386).
fn gateway_domains(host: &str) -> Vec<String> {
    if host == "*" {
        return vec![host.to_string()];
    }
    vec![host.to_string(), format!("{host}:*")]
}

fn listener(
    bind: &str,
    port: u32,
    servers: &[&BoundServer<'_>],
    edge: Position,
    authz: &[HttpFilter],
    telemetry: &HcmTelemetry,
) -> Listener {
    let name = names::listener_name(bind, port);
    let stat_prefix = format!("outbound_{name}");
    let tls = servers.iter().any(|s| s.tls.is_some());
    let mut chains = Vec::new();
    if tls {
        for s in servers {
            let server_names: Vec<String> = all_server_hosts(s.server)
                .filter(|h| *h != "*")
                .map(str::to_ascii_lowercase)
                .fold(Vec::new(), |mut acc, h| {
                    if !acc.contains(&h) {
                        acc.push(h);
                    }
                    acc
                });
            chains.push(FilterChain {
                filter_chain_match: Some(FilterChainMatch {
                    server_names,
                    ..Default::default()
                }),
                transport_socket: s.tls.map(downstream_tls),
                filters: vec![http_connection_manager_with(
                    &stat_prefix,
                    Routes::Rds(s.route_name.clone()),
                    edge,
                    authz,
                    telemetry,
                )],
                ..Default::default()
            });
        }
    } else if let Some(first) = servers.first() {
        chains.push(FilterChain {
            filters: vec![http_connection_manager_with(
                &stat_prefix,
                Routes::Rds(first.route_name.clone()),
                edge,
                authz,
                telemetry,
            )],
            ..Default::default()
        });
    }
    Listener {
        name,
        address: Some(address(bind, port)),
        traffic_direction: TrafficDirection::Outbound as i32,
        listener_filters: if tls {
            vec![ListenerFilter {
                name: names::TLS_INSPECTOR_FILTER.to_string(),
                config_type: Some(listener_filter::ConfigType::TypedConfig(pack(
                    &TlsInspector::default(),
                ))),
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        filter_chains: chains,
        ..Default::default()
    }
}

/// `buildGatewayListenerTLSContext`: the certificate from SDS (`kubernetes://<credentialName>`,
/// with `-cacert` for client verification) or from files, and ALPN for HTTP/2 and HTTP/1.1.
fn downstream_tls(tls: &net::ServerTlsSettings) -> TransportSocket {
    let mutual = matches!(tls.mode.as_deref(), Some("MUTUAL" | "OPTIONAL_MUTUAL"));
    let sds = |name: String| SdsSecretConfig {
        name,
        sds_config: Some(ads_config_source()),
    };
    let file = |path: &Option<String>| {
        path.as_ref().map(|p| DataSource {
            specifier: Some(data_source::Specifier::Filename(p.clone())),
            ..Default::default()
        })
    };
    let mut common = CommonTlsContext {
        alpn_protocols: vec!["h2".to_string(), "http/1.1".to_string()],
        ..Default::default()
    };
    match tls.credential_name.as_deref().filter(|c| !c.is_empty()) {
        Some(cred) => {
            common.tls_certificate_sds_secret_configs = vec![sds(format!("kubernetes://{cred}"))];
            if mutual {
                common.validation_context_type = Some(
                    common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(
                        sds(format!("kubernetes://{cred}-cacert")),
                    ),
                );
            }
        }
        None => {
            common.tls_certificates = vec![TlsCertificate {
                certificate_chain: file(&tls.server_certificate),
                private_key: file(&tls.private_key),
                ..Default::default()
            }];
        }
    }
    let context = DownstreamTlsContext {
        common_tls_context: Some(common),
        require_client_certificate: boolean(tls.mode.as_deref() == Some("MUTUAL")),
        ..Default::default()
    };
    TransportSocket {
        name: names::TLS_TRANSPORT_SOCKET.to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(pack(&context))),
    }
}

/// The `kubernetes://` secrets the gateway's listeners name, from the Secrets of the gateway's
/// own namespace (where an Istio gateway reads its credentials). A credential that is not
/// there is noted: its filter chain then has no certificate, and handshakes on it fail.
pub fn credentials(scope: &Scope<'_>, listeners: &[Listener], notes: &mut Notes) -> Vec<Secret> {
    let mut names: Vec<String> = Vec::new();
    for chain in listeners.iter().flat_map(|l| l.filter_chains.iter()) {
        let Some(transport_socket::ConfigType::TypedConfig(any)) = chain
            .transport_socket
            .as_ref()
            .and_then(|t| t.config_type.as_ref())
        else {
            continue;
        };
        let Ok(ctx) = DownstreamTlsContext::decode(any.value.as_slice()) else {
            continue;
        };
        let Some(common) = ctx.common_tls_context else {
            continue;
        };
        let validation = match common.validation_context_type {
            Some(common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(
                sds,
            )) => Some(sds.name),
            _ => None,
        };
        let sds = common
            .tls_certificate_sds_secret_configs
            .into_iter()
            .map(|s| s.name)
            .chain(validation)
            .filter(|n| n.starts_with(KUBERNETES_PREFIX));
        for name in sds {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let namespace = scope.proxy.namespace.as_str();
    let mut out = Vec::new();
    for name in names {
        match scope.push.credentials().secret(namespace, &name) {
            Some(secret) => out.push(secret),
            None => notes.push(format!(
                "gateway credential {name}: no Secret with a certificate and key (or CA) in namespace {namespace}"
            )),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_and_virtual_service_hosts_intersect_to_the_narrower() {
        let vs = vec!["a.example.com".to_string(), "*.other.com".to_string()];
        assert_eq!(intersect(&["*.example.com"], &vs), vec!["a.example.com"]);
        assert_eq!(intersect(&["*"], &vs), vec!["a.example.com", "*.other.com"]);
        assert_eq!(intersect(&["x.other.com"], &vs), vec!["x.other.com"]);
        assert!(intersect(&["b.example.com"], &vs).is_empty());
    }

    #[test]
    fn server_hosts_are_filtered_by_namespace() {
        let server = net::Server {
            hosts: vec!["prod/a.com".into(), "*/b.com".into()],
            ..Default::default()
        };
        assert_eq!(server_hosts_for(&server, "prod"), vec!["a.com", "b.com"]);
        assert_eq!(server_hosts_for(&server, "dev"), vec!["b.com"]);
    }
}
