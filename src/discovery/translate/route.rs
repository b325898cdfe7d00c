//! A sidecar's outbound route configurations (`BuildSidecarOutboundVirtualHosts`): one per
//! HTTP service port, named after the port (`"9080"`). Each holds a virtual host per service
//! on that port, `<host>:<port>`, reachable by the names a client in the proxy's namespace would
//! use; a service's VirtualService supplies its routes, otherwise a default route sends
//! everything to `outbound|<port>||<host>`. A last `*` virtual host sends unknown hosts to
//! `PassthroughCluster` (or answers 502 under `REGISTRY_ONLY`). A request that reaches a virtual
//! host none of whose routes match gets Envoy's 404.

use std::collections::{BTreeSet, HashSet};

use envoy_types::pb::envoy::config::route::v3::{
    DirectResponseAction, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, route,
    route_action, route_match,
};

use super::Notes;
use super::httproute::{RouteContext, default_route, virtual_service_routes};
use super::names;
use super::policy::EffectivePolicy;
use super::proto::{boolean, no_timeout, uint32};
use super::scope::Scope;
use crate::config::networking as net;
use crate::discovery::accepted::Config;
use crate::discovery::mesh::OutboundTrafficPolicy;
use crate::discovery::normalize::MESH_GATEWAY;
use crate::discovery::registry::Service;
use crate::validation::hosts::host_matches;

/// Envoy's direct-response body limit as Istio raises it (1 MiB, the webhook's limit).
pub const MAX_DIRECT_RESPONSE_BODY_BYTES: u32 = 1024 * 1024;

/// The ports that get an outbound HTTP listener and route configuration.
pub fn http_ports(scope: &Scope<'_>) -> BTreeSet<u32> {
    scope
        .services
        .iter()
        .flat_map(|s| s.ports.iter().map(move |p| (s, p)))
        .filter(|(s, p)| p.protocol.is_http_or_sniffed() && scope.listens_for(s, p))
        .map(|(_, p)| p.number)
        .collect()
}

pub fn build_sidecar_routes(scope: &Scope<'_>, notes: &mut Notes) -> Vec<RouteConfiguration> {
    http_ports(scope)
        .into_iter()
        .map(|port| route_configuration(scope, port, notes))
        .collect()
}

/// A virtual host's source: a registry service, or a VirtualService host that is not one.
enum Host<'a> {
    Service(&'a Service),
    Plain(&'a str),
}

fn route_configuration(scope: &Scope<'_>, port: u32, notes: &mut Notes) -> RouteConfiguration {
    let services: Vec<&Service> = scope
        .services
        .iter()
        .copied()
        .filter(|s| {
            s.port(port)
                .is_some_and(|p| p.protocol.is_http_or_sniffed() && scope.listens_for(s, p))
        })
        .collect();
    let mesh = [MESH_GATEWAY.to_string()];
    let ctx = RouteContext {
        scope,
        listen_port: port,
        gateways: &mesh,
        tls: false,
    };
    // Port 80 also carries VirtualServices for hosts outside the registry (Istio keeps this for
    // `curl http://example.com`); other ports only those naming a service on the port.
    let virtual_services: Vec<&Config<net::VirtualService>> = scope
        .virtual_services
        .iter()
        .copied()
        .filter(|vs| {
            port == 80
                || vs
                    .spec
                    .hosts
                    .iter()
                    .any(|h| services.iter().any(|s| host_matches(h, &s.hostname)))
        })
        .collect();
    let claims = claims(&services, &virtual_services);

    let mut entries: Vec<(Host<'_>, Vec<Route>)> = Vec::new();
    let mut claimed: HashSet<&str> = HashSet::new();
    for (i, vs) in virtual_services.iter().enumerate() {
        let routes = virtual_service_routes(&ctx, vs, notes);
        if routes.is_empty() {
            continue;
        }
        let own: Vec<&Service> = services
            .iter()
            .copied()
            .filter(|s| claims.iter().any(|(h, c)| *h == s.hostname && *c == i))
            .collect();
        let plain: Vec<&str> = vs
            .spec
            .hosts
            .iter()
            .filter(|h| !services.iter().any(|s| host_matches(h, &s.hostname)))
            .map(String::as_str)
            .collect();
        if own.is_empty() && port != 80 {
            continue;
        }
        for h in plain {
            entries.push((Host::Plain(h), routes.clone()));
        }
        for s in own {
            claimed.insert(&s.hostname);
            entries.push((Host::Service(s), routes.clone()));
        }
    }
    for s in services
        .iter()
        .filter(|s| !claimed.contains(s.hostname.as_str()))
    {
        let cluster = names::outbound_cluster(port, None, &s.hostname);
        let dr = scope.destination_rule(&s.hostname, &s.namespace);
        let hash = EffectivePolicy::of(dr.map(|d| &d.spec), None, port).hash_policy();
        let operation = format!("{}:{port}/*", s.hostname);
        entries.push((
            Host::Service(s),
            vec![default_route(&cluster, operation, hash)],
        ));
    }

    let known_fqdns: HashSet<String> = services
        .iter()
        .flat_map(|s| [s.hostname.clone(), names::domain_name(&s.hostname, port)])
        .collect();
    let mut vhost_names = HashSet::new();
    let mut domains_seen = HashSet::new();
    let mut virtual_hosts = Vec::new();
    for (host, routes) in entries {
        let (name, domains, alt) = match host {
            Host::Service(s) => {
                let (domains, alt) = service_domains(s, port, scope);
                (names::domain_name(&s.hostname, port), domains, alt)
            }
            Host::Plain(h) => (
                names::domain_name(h, port),
                vec![h.to_string(), names::domain_name(h, port)],
                Vec::new(),
            ),
        };
        // The first VirtualService for a host wins, as in Istio.
        if !vhost_names.insert(name.clone()) {
            continue;
        }
        let domains: Vec<String> = domains
            .into_iter()
            .filter(|d| !(alt.contains(d) && known_fqdns.contains(d)))
            .filter(|d| domains_seen.insert(d.to_ascii_lowercase()))
            .collect();
        if domains.is_empty() {
            continue;
        }
        virtual_hosts.push(VirtualHost {
            name,
            domains,
            routes,
            include_request_attempt_count: scope.telemetry.headers.attempt_count,
            ..Default::default()
        });
    }
    virtual_hosts.sort_by(|a, b| a.name.cmp(&b.name));
    virtual_hosts.push(catch_all(
        scope.outbound_traffic_policy(),
        scope.telemetry.headers.attempt_count,
    ));
    RouteConfiguration {
        name: port.to_string(),
        virtual_hosts,
        validate_clusters: boolean(false),
        max_direct_response_body_size_bytes: uint32(MAX_DIRECT_RESPONSE_BODY_BYTES),
        ..Default::default()
    }
}

/// Which VirtualService (by index) supplies each service's routes: the first naming the host
/// exactly, else the one with the most specific wildcard host matching it (Istio's
/// `mostSpecificWildcardVsIndex`).
fn claims<'s>(
    services: &[&'s Service],
    virtual_services: &[&Config<net::VirtualService>],
) -> Vec<(&'s str, usize)> {
    services
        .iter()
        .filter_map(|s| {
            let exact = virtual_services
                .iter()
                .position(|vs| vs.spec.hosts.contains(&s.hostname));
            let by = exact.or_else(|| {
                virtual_services
                    .iter()
                    .enumerate()
                    .filter_map(|(i, vs)| {
                        vs.spec
                            .hosts
                            .iter()
                            .filter(|h| h.starts_with('*') && host_matches(h, &s.hostname))
                            .map(|h| h.len())
                            .max()
                            .map(|len| (len, std::cmp::Reverse(i)))
                    })
                    .max()
                    .map(|(_, std::cmp::Reverse(i))| i)
            })?;
            Some((s.hostname.as_str(), by))
        })
        .collect()
}

/// `generateVirtualHostDomains` with ports: the FQDN, the short forms a client in the proxy's
/// namespace may use (`reviews`, `reviews.default`, `reviews.default.svc`), the service
/// addresses, each also as `name:port`. Returns the domains and the short forms (which give way
/// to a real FQDN of the same spelling).
fn service_domains(s: &Service, port: u32, scope: &Scope<'_>) -> (Vec<String>, Vec<String>) {
    let with_port = |h: &str| [h.to_string(), names::domain_name(h, port)];
    let mut domains: Vec<String> = with_port(&s.hostname).to_vec();
    let proxy_domain = format!(
        "{}.svc.{}",
        scope.proxy.namespace,
        scope.push.mesh().domain_suffix
    );
    let alt: Vec<String> = alt_hosts(&s.hostname, &proxy_domain)
        .iter()
        .flat_map(|h| with_port(h))
        .collect();
    domains.extend(alt.iter().cloned());
    for a in s
        .addresses
        .iter()
        .filter(|a| !a.is_empty() && *a != "0.0.0.0")
    {
        domains.extend(with_port(a));
    }
    (domains, alt)
}

/// `generateAltVirtualHostsForKubernetesService`: for `name.ns.svc.<suffix>` seen from a proxy
/// in `ns`: `name`, `name.ns.svc`, `name.ns`; from another namespace: `name.ns`, `name.ns.svc`.
/// Hosts outside the cluster domain get none.
fn alt_hosts(hostname: &str, proxy_domain: &str) -> Vec<String> {
    let Some(svc_suffix) = proxy_domain.find(".svc.").map(|i| &proxy_domain[i..]) else {
        return Vec::new();
    };
    if !hostname.ends_with(svc_suffix) {
        return Vec::new();
    }
    let Some(ih) = hostname.find(".svc.") else {
        return Vec::new();
    };
    let Some(ns_dot) = hostname.find('.') else {
        return Vec::new();
    };
    if ns_dot + 1 > ih {
        return Vec::new();
    }
    let name = &hostname[..ns_dot];
    let name_ns = &hostname[..ih];
    let proxy_ns = proxy_domain.split('.').next().unwrap_or_default();
    if &hostname[ns_dot + 1..ih] == proxy_ns {
        vec![
            name.to_string(),
            format!("{name_ns}.svc"),
            name_ns.to_string(),
        ]
    } else {
        vec![name_ns.to_string(), format!("{name_ns}.svc")]
    }
}

/// `buildCatchAllVirtualHost`.
/// `attempt_count`: `proxyHeaders.attemptCount` not disabled.
fn catch_all(policy: OutboundTrafficPolicy, attempt_count: bool) -> VirtualHost {
    let prefix_all = || {
        Some(RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_string())),
            ..Default::default()
        })
    };
    match policy {
        OutboundTrafficPolicy::AllowAny => VirtualHost {
            name: names::ALLOW_ANY_VHOST.to_string(),
            domains: vec!["*".to_string()],
            routes: vec![Route {
                name: names::ALLOW_ANY_VHOST.to_string(),
                r#match: prefix_all(),
                action: Some(route::Action::Route(RouteAction {
                    cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(
                        names::PASSTHROUGH_CLUSTER.to_string(),
                    )),
                    timeout: Some(no_timeout()),
                    ..Default::default()
                })),
                ..Default::default()
            }],
            include_request_attempt_count: attempt_count,
            ..Default::default()
        },
        OutboundTrafficPolicy::RegistryOnly => VirtualHost {
            name: names::BLOCK_ALL_VHOST.to_string(),
            domains: vec!["*".to_string()],
            routes: vec![Route {
                name: names::BLOCK_ALL_VHOST.to_string(),
                r#match: prefix_all(),
                action: Some(route::Action::DirectResponse(DirectResponseAction {
                    status: 502,
                    ..Default::default()
                })),
                ..Default::default()
            }],
            include_request_attempt_count: attempt_count,
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_depend_on_the_proxy_namespace() {
        assert_eq!(
            alt_hosts(
                "reviews.default.svc.cluster.local",
                "default.svc.cluster.local"
            ),
            vec!["reviews", "reviews.default.svc", "reviews.default"]
        );
        assert_eq!(
            alt_hosts(
                "reviews.default.svc.cluster.local",
                "other.svc.cluster.local"
            ),
            vec!["reviews.default", "reviews.default.svc"]
        );
        assert!(alt_hosts("api.example.com", "default.svc.cluster.local").is_empty());
    }
}
