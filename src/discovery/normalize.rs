//! Istio's config normalization (`ResolveShortnameToFQDN`, `resolveGatewayName`): translation
//! compares fully qualified names only, so every short host, gateway reference and `./` namespace
//! is rewritten once, here, relative to the namespace of the object that wrote it.

use super::accepted::{AcceptedConfig, Config};
use crate::config::networking as net;
use crate::validation::hosts::is_ip;

/// The name VirtualServices use for "all sidecars" in `gateways`.
pub const MESH_GATEWAY: &str = "mesh";

/// `ResolveShortnameToFQDN`: a name without a dot is a Service in `namespace`; `*`, IPs and
/// names with a dot are taken as written (so `reviews.default` stays as it is, as in Istio).
pub fn resolve_host(host: &str, namespace: &str, domain_suffix: &str) -> String {
    if host.is_empty() || host == "*" || host.contains('.') || is_ip(host) {
        return host.to_string();
    }
    format!("{host}.{namespace}.svc.{domain_suffix}")
}

/// `resolveGatewayName`: `mesh` stays, `ns/name` stays (with `./name` meaning the object's own
/// namespace), a bare name is in the object's namespace, and a Service-style FQDN
/// (`name.ns.svc.cluster.local`) names `ns/name`.
pub fn resolve_gateway(gateway: &str, namespace: &str) -> String {
    if gateway == MESH_GATEWAY {
        return gateway.to_string();
    }
    if let Some((ns, name)) = gateway.split_once('/') {
        if ns == "." {
            return format!("{namespace}/{name}");
        }
        return gateway.to_string();
    }
    let mut labels = gateway.split('.');
    match (labels.next(), labels.next()) {
        (Some(name), Some(ns)) => format!("{ns}/{name}"),
        _ => format!("{namespace}/{gateway}"),
    }
}

/// `./host` is the object's namespace; a bare host (Gateway servers) is any namespace's.
fn resolve_namespaced_host(host: &str, namespace: &str) -> String {
    match host.split_once('/') {
        Some((".", h)) => format!("{namespace}/{h}"),
        Some(_) => host.to_string(),
        None => format!("*/{host}"),
    }
}

/// Rewrites every reference in `config` into its qualified form.
pub fn normalize(config: &mut AcceptedConfig, domain_suffix: &str) {
    for vs in &mut config.virtual_services {
        normalize_virtual_service(vs, domain_suffix);
    }
    for dr in &mut config.destination_rules {
        dr.spec.host = resolve_host(&dr.spec.host, &dr.namespace, domain_suffix);
    }
    for gw in &mut config.gateways {
        for server in &mut gw.spec.servers {
            for h in &mut server.hosts {
                *h = resolve_namespaced_host(h, &gw.namespace);
            }
        }
    }
    for sc in &mut config.sidecars {
        for egress in &mut sc.spec.egress {
            for h in &mut egress.hosts {
                *h = resolve_namespaced_host(h, &sc.namespace);
            }
        }
    }
}

fn normalize_virtual_service(vs: &mut Config<net::VirtualService>, suffix: &str) {
    let ns = vs.namespace.clone();
    let host = |h: &mut String| *h = resolve_host(h, &ns, suffix);
    let destination = |d: &mut net::Destination| d.host = resolve_host(&d.host, &ns, suffix);
    let spec = &mut vs.spec;
    spec.hosts.iter_mut().for_each(host);
    for g in &mut spec.gateways {
        *g = resolve_gateway(g, &ns);
    }
    for http in &mut spec.http {
        for m in &mut http.matches {
            for g in &mut m.gateways {
                *g = resolve_gateway(g, &ns);
            }
        }
        http.route
            .iter_mut()
            .filter_map(|r| r.destination.as_mut())
            .for_each(destination);
        http.mirror.iter_mut().for_each(destination);
        http.mirrors
            .iter_mut()
            .filter_map(|m| m.destination.as_mut())
            .for_each(destination);
    }
    for tcp in &mut spec.tcp {
        tcp.route
            .iter_mut()
            .filter_map(|r| r.destination.as_mut())
            .for_each(destination);
    }
    for tls in &mut spec.tls {
        tls.route
            .iter_mut()
            .filter_map(|r| r.destination.as_mut())
            .for_each(destination);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_become_service_fqdns() {
        assert_eq!(
            resolve_host("reviews", "default", "cluster.local"),
            "reviews.default.svc.cluster.local"
        );
        for kept in ["reviews.default", "*", "*.example.com", "10.0.0.1", "a.b.c"] {
            assert_eq!(resolve_host(kept, "default", "cluster.local"), kept);
        }
    }

    #[test]
    fn gateway_references_become_namespace_slash_name() {
        assert_eq!(resolve_gateway("mesh", "ns"), "mesh");
        assert_eq!(resolve_gateway("gw", "ns"), "ns/gw");
        assert_eq!(resolve_gateway("./gw", "ns"), "ns/gw");
        assert_eq!(resolve_gateway("other/gw", "ns"), "other/gw");
        assert_eq!(
            resolve_gateway("gw.other.svc.cluster.local", "ns"),
            "other/gw"
        );
    }

    #[test]
    fn namespaced_hosts_resolve_dot_and_bare_forms() {
        assert_eq!(resolve_namespaced_host("./*", "ns"), "ns/*");
        assert_eq!(resolve_namespaced_host("a.com", "ns"), "*/a.com");
        assert_eq!(resolve_namespaced_host("x/a.com", "ns"), "x/a.com");
    }
}
