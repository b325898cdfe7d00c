//! Which proxies a config change can affect (istiod's `ProxyNeedsPush`): after a reload, a
//! sidecar whose config cannot have changed keeps its snapshot instead of being translated
//! again. The rules are conservative: anything not clearly irrelevant to a proxy counts as
//! affecting it, so skipping is only ever an optimisation, never a missed push.

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::validation::hosts::host_matches;

/// One object of a loaded config, reduced to what dependency checks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    /// A hash of the whole document: equal hashes mean an unchanged object.
    pub content: u64,
    /// Every string in the object that is an IP address: a proxy with one of them may have
    /// the object's workloads as its own inbound instances.
    pub ips: BTreeSet<String>,
    /// A DestinationRule's host.
    pub rule_host: Option<String>,
}

/// Cluster (empty for the control plane's own), kind, namespace and name: a remote cluster's
/// `reviews` Service is another object than the primary's.
pub type ObjectKey = (String, Kind, String, String);

/// The digests of `resources` read from `cluster` (empty for the control plane's own), by
/// cluster, kind, namespace and name, added to `out`.
pub fn add_digests(out: &mut HashMap<ObjectKey, Digest>, cluster: &str, resources: &[Resource]) {
    out.reserve(resources.len());
    for r in resources {
        let json = r.node.to_json();
        let mut hasher = DefaultHasher::new();
        json.to_string().hash(&mut hasher);
        let mut ips = BTreeSet::new();
        collect_ips(&json, &mut ips);
        let rule_host = match &r.spec {
            Spec::DestinationRule(dr) => Some(dr.host.clone()),
            _ => None,
        };
        let namespace = r.namespace().unwrap_or("default").to_string();
        let digest = Digest {
            kind: r.kind,
            namespace: namespace.clone(),
            name: r.name().to_string(),
            content: hasher.finish(),
            ips,
            rule_host,
        };
        out.insert(
            (cluster.to_string(), r.kind, namespace, r.name().to_string()),
            digest,
        );
    }
}

fn collect_ips(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::String(s) if s.parse::<std::net::IpAddr>().is_ok() => {
            out.insert(s.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_ips(i, out)),
        serde_json::Value::Object(map) => map.values().for_each(|i| collect_ips(i, out)),
        _ => {}
    }
}

/// The objects added, removed or changed between two loads (both versions of a changed one).
pub fn changed<'a>(
    old: &'a HashMap<ObjectKey, Digest>,
    new: &'a HashMap<ObjectKey, Digest>,
) -> Vec<&'a Digest> {
    let mut out = Vec::new();
    for (key, d) in new {
        match old.get(key) {
            Some(o) if o.content == d.content => {}
            Some(o) => {
                out.push(o);
                out.push(d);
            }
            None => out.push(d),
        }
    }
    out.extend(
        old.iter()
            .filter(|(k, _)| !new.contains_key(*k))
            .map(|(_, d)| d),
    );
    out
}

/// What a sidecar depends on, for [`affects`].
#[derive(Debug, Clone)]
pub struct SidecarView<'a> {
    pub namespace: &'a str,
    pub ip: String,
    /// The namespaces its Sidecar imports; `None` for any.
    pub imported: Option<&'a BTreeSet<String>>,
    /// The hosts of the clusters it was last given (`outbound|port|subset|host`).
    pub cluster_hosts: &'a BTreeSet<String>,
}

/// Whether `change` may alter the config of the sidecar `view`. `root` is the mesh's root
/// namespace; `hosts_in` gives the service hostnames a namespace defines (before or after the
/// change).
pub fn affects(
    change: &Digest,
    view: &SidecarView<'_>,
    root: &str,
    hosts_in: &dyn Fn(&str) -> BTreeSet<String>,
) -> bool {
    let ns = change.namespace.as_str();
    if ns == view.namespace || ns == root || change.ips.contains(&view.ip) {
        return true;
    }
    let imported = view.imported.is_none_or(|i| i.contains(ns));
    match change.kind {
        // Imported by namespace (Sidecar egress `ns/host` is matched against the rule's own
        // namespace).
        Kind::VirtualService => imported,
        // Applies by host, from any namespace it is exported from.
        Kind::DestinationRule => {
            let Some(host) = &change.rule_host else {
                return true;
            };
            view.cluster_hosts
                .iter()
                .any(|h| h == host || host_matches(host, h))
        }
        // Services and their endpoints: imported by namespace, or used as a destination.
        Kind::ServiceEntry
        | Kind::WorkloadEntry
        | Kind::Service
        | Kind::Endpoints
        | Kind::EndpointSlice
        | Kind::Pod => {
            imported || {
                let hosts = hosts_in(ns);
                view.cluster_hosts.iter().any(|h| hosts.contains(h))
            }
        }
        // Deployments and friends carry no proxy config; Secrets only gateways' credentials.
        Kind::Secret
        | Kind::Deployment
        | Kind::StatefulSet
        | Kind::DaemonSet
        | Kind::ReplicaSet
        | Kind::Job
        | Kind::CronJob => false,
        _ => true,
    }
}

/// The host of an Istio cluster name `direction|port|subset|host`.
pub fn cluster_host(name: &str) -> Option<&str> {
    let mut parts = name.splitn(4, '|');
    let direction = parts.next()?;
    (direction == "outbound").then_some(())?;
    parts.nth(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(kind: Kind, ns: &str) -> Digest {
        Digest {
            kind,
            namespace: ns.into(),
            name: "x".into(),
            content: 1,
            ips: BTreeSet::new(),
            rule_host: None,
        }
    }

    fn view<'a>(
        imported: Option<&'a BTreeSet<String>>,
        hosts: &'a BTreeSet<String>,
    ) -> SidecarView<'a> {
        SidecarView {
            namespace: "a",
            ip: "10.0.0.1".into(),
            imported,
            cluster_hosts: hosts,
        }
    }

    #[test]
    fn other_namespaces_config_does_not_affect_a_scoped_sidecar() {
        let imported = BTreeSet::from(["a".to_string(), "istio-system".to_string()]);
        let hosts = BTreeSet::from(["s.a.svc.cluster.local".to_string()]);
        let none = |_: &str| BTreeSet::new();
        let v = view(Some(&imported), &hosts);
        assert!(!affects(
            &digest(Kind::VirtualService, "b"),
            &v,
            "istio-system",
            &none
        ));
        assert!(!affects(
            &digest(Kind::ServiceEntry, "b"),
            &v,
            "istio-system",
            &none
        ));
        assert!(affects(
            &digest(Kind::VirtualService, "a"),
            &v,
            "istio-system",
            &none
        ));
        assert!(affects(
            &digest(Kind::VirtualService, "istio-system"),
            &v,
            "istio-system",
            &none
        ));
        // Anything the rules do not know about counts.
        assert!(affects(
            &digest(Kind::Sidecar, "b"),
            &v,
            "istio-system",
            &none
        ));
        assert!(affects(
            &digest(Kind::Gateway, "b"),
            &v,
            "istio-system",
            &none
        ));
        // Without a Sidecar everything is imported.
        assert!(affects(
            &digest(Kind::VirtualService, "b"),
            &view(None, &hosts),
            "istio-system",
            &none
        ));
    }

    #[test]
    fn destinations_and_rules_follow_the_hosts_used() {
        let imported = BTreeSet::from(["a".to_string()]);
        let hosts = BTreeSet::from(["s.b.svc.cluster.local".to_string()]);
        let v = view(Some(&imported), &hosts);
        let in_b = |ns: &str| {
            if ns == "b" {
                BTreeSet::from(["s.b.svc.cluster.local".to_string()])
            } else {
                BTreeSet::new()
            }
        };
        // A VirtualService of `a` routes to a service of `b`: `b`'s endpoints matter.
        assert!(affects(
            &digest(Kind::WorkloadEntry, "b"),
            &v,
            "istio-system",
            &in_b
        ));
        assert!(!affects(
            &digest(Kind::WorkloadEntry, "c"),
            &v,
            "istio-system",
            &in_b
        ));
        let mut dr = digest(Kind::DestinationRule, "c");
        dr.rule_host = Some("*.b.svc.cluster.local".into());
        assert!(affects(&dr, &v, "istio-system", &in_b));
        dr.rule_host = Some("t.c.svc.cluster.local".into());
        assert!(!affects(&dr, &v, "istio-system", &in_b));
        // An object naming the proxy's IP may be its own workload.
        let mut we = digest(Kind::WorkloadEntry, "c");
        we.ips.insert("10.0.0.1".into());
        assert!(affects(&we, &v, "istio-system", &in_b));
    }

    #[test]
    fn cluster_names_give_their_hosts() {
        assert_eq!(
            cluster_host("outbound|9080|v1|reviews.default.svc.cluster.local"),
            Some("reviews.default.svc.cluster.local")
        );
        assert_eq!(cluster_host("inbound|9080||"), None);
        assert_eq!(cluster_host("BlackHoleCluster"), None);
    }
}
