//! Host and name resolution shared by analyzers, as Istio's `analyzers/util` resolves them.

use crate::config::networking::{Destination, VirtualService};

/// Kubernetes service domain suffix (`svc.` + cluster domain).
pub const DEFAULT_KUBERNETES_DOMAIN: &str = "svc.cluster.local";

/// `ConvertHostToFQDN`: a short name (no dot, not a wildcard) becomes
/// `<host>.<namespace>.svc.cluster.local`; anything else is kept.
pub fn to_fqdn(namespace: &str, host: &str) -> String {
    if is_short_name(host) {
        format!("{host}.{namespace}.{DEFAULT_KUBERNETES_DOMAIN}")
    } else {
        host.to_string()
    }
}

/// A host with no dot and no leading wildcard.
pub fn is_short_name(host: &str) -> bool {
    !host.starts_with('*') && !host.contains('.')
}

/// `GetResourceNameFromHost`: `(namespace, name)` of a Kubernetes service host. An FQDN
/// `<name>.<ns>.svc.cluster.local` splits (greedily, as Istio's regex); anything else is a name in
/// `default_ns`.
pub fn resource_name_from_host(default_ns: &str, host: &str) -> (String, String) {
    if let Some(prefix) = host.strip_suffix(&format!(".{DEFAULT_KUBERNETES_DOMAIN}"))
        && let Some((name, ns)) = prefix.rsplit_once('.')
        && !name.is_empty()
        && !ns.is_empty()
    {
        return (ns.to_string(), name.to_string());
    }
    (default_ns.to_string(), host.to_string())
}

/// `host.Name.Matches`: wildcard-aware host comparison.
pub fn host_matches(a: &str, b: &str) -> bool {
    let aw = a.starts_with('*');
    let bw = b.starts_with('*');
    match (aw, bw) {
        (true, true) => {
            let (a, b) = (&a[1..], &b[1..]);
            if a.len() >= b.len() {
                a.ends_with(b)
            } else {
                b.ends_with(a)
            }
        }
        (true, false) => b.ends_with(&a[1..]),
        (false, true) => a.ends_with(&b[1..]),
        (false, false) => a == b,
    }
}

/// Where a destination sits in a VirtualService: rule kind (`http`, `tcp`, `tls`), rule index and
/// destination index, for line lookups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteDest<'a> {
    pub rule: &'static str,
    pub rule_index: usize,
    pub dest_index: usize,
    pub destination: &'a Destination,
}

impl RouteDest<'_> {
    /// `{.spec.<rule>[i].route[j].destination.host}` (util.DestinationHost).
    pub fn host_path(&self) -> String {
        format!(
            "{{.spec.{}[{}].route[{}].destination.host}}",
            self.rule, self.rule_index, self.dest_index
        )
    }
}

/// Route destinations in Istio's order: tcp, then tls, then http (`getRouteDestinations`).
pub fn route_destinations(vs: &VirtualService) -> Vec<RouteDest<'_>> {
    let mut out = Vec::new();
    for (i, r) in vs.tcp.iter().enumerate() {
        for (j, d) in r.route.iter().enumerate() {
            if let Some(destination) = &d.destination {
                out.push(RouteDest {
                    rule: "tcp",
                    rule_index: i,
                    dest_index: j,
                    destination,
                });
            }
        }
    }
    for (i, r) in vs.tls.iter().enumerate() {
        for (j, d) in r.route.iter().enumerate() {
            if let Some(destination) = &d.destination {
                out.push(RouteDest {
                    rule: "tls",
                    rule_index: i,
                    dest_index: j,
                    destination,
                });
            }
        }
    }
    for (i, r) in vs.http.iter().enumerate() {
        for (j, d) in r.route.iter().enumerate() {
            if let Some(destination) = &d.destination {
                out.push(RouteDest {
                    rule: "http",
                    rule_index: i,
                    dest_index: j,
                    destination,
                });
            }
        }
    }
    out
}

/// Mirror destinations: each `http[i].mirror` (rule `http.mirror`), then `http[i].mirrors[j]`
/// (rule `http.mirrors`) (`getHTTPMirrorDestinations`).
pub fn mirror_destinations(vs: &VirtualService) -> Vec<RouteDest<'_>> {
    let mut out = Vec::new();
    for (i, r) in vs.http.iter().enumerate() {
        if let Some(m) = &r.mirror {
            out.push(RouteDest {
                rule: "http.mirror",
                rule_index: i,
                dest_index: 0,
                destination: m,
            });
        }
        for (j, m) in r.mirrors.iter().enumerate() {
            if let Some(destination) = &m.destination {
                out.push(RouteDest {
                    rule: "http.mirrors",
                    rule_index: i,
                    dest_index: j,
                    destination,
                });
            }
        }
    }
    out
}

/// `{.spec.http[i].mirror.host}` (util.MirrorHost).
pub fn mirror_host_path(rule_index: usize) -> String {
    format!("{{.spec.http[{rule_index}].mirror.host}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_conversion() {
        assert_eq!(
            to_fqdn("default", "reviews"),
            "reviews.default.svc.cluster.local"
        );
        assert_eq!(to_fqdn("default", "reviews.default"), "reviews.default");
        assert_eq!(to_fqdn("default", "*"), "*");
    }

    #[test]
    fn resource_names() {
        assert_eq!(
            resource_name_from_host("x", "a.b.c.svc.cluster.local"),
            ("c".into(), "a.b".into())
        );
        assert_eq!(
            resource_name_from_host("x", "reviews"),
            ("x".into(), "reviews".into())
        );
        assert_eq!(
            resource_name_from_host("x", "reviews.default"),
            ("x".into(), "reviews.default".into())
        );
    }

    #[test]
    fn wildcard_matching() {
        assert!(host_matches("*.foo.com", "a.foo.com"));
        assert!(!host_matches("*.foo.com", "foo.com"));
        assert!(host_matches("*", "anything"));
        assert!(host_matches("*.com", "*.foo.com"));
        assert!(host_matches("a.com", "a.com"));
    }
}
