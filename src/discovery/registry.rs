//! The service registry (istiod's `ServiceDiscovery`): every service a proxy can call, keyed by
//! its FQDN host, with ports and endpoints. Two sources feed it, as in Istio:
//! - [`kubernetes`]: Services, with endpoints from EndpointSlices when the store has them for a
//!   Service, otherwise from the ready Pods its selector picks;
//! - [`serviceentry`]: ServiceEntries, with inline `endpoints` or the WorkloadEntries (and Pods)
//!   their `workloadSelector` picks.
//!
//! In a primary-remote mesh the Kubernetes Services of remote clusters join in (istiod's
//! aggregate registry): each endpoint carries its cluster, and a Service defined in several
//! clusters is one service with all their endpoints.

pub mod kubernetes;
pub mod protocol;
pub mod serviceentry;

use std::collections::{BTreeMap, HashMap};

pub use protocol::Protocol;

use super::accepted::{AcceptedConfig, Rejected};
use super::export::ExportTo;
use super::mesh::MeshOptions;
use crate::config::store::Store;

/// Where a service came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceSource {
    Kubernetes,
    /// The ServiceEntry's name (its namespace is the service's).
    ServiceEntry(String),
}

/// How a proxy finds the service's endpoints (Istio's `model.Resolution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The control plane sends the endpoints (EDS).
    ClientSideLb,
    /// The proxy resolves the endpoint host names (`STRICT_DNS`).
    DnsLb,
    /// The proxy resolves and uses one address at a time (`LOGICAL_DNS`).
    DnsRoundRobinLb,
    /// The connection goes where the client sent it (`ORIGINAL_DST`).
    Passthrough,
}

/// A service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub number: u32,
    pub protocol: Protocol,
    /// The workloads' port when the service names a number (`targetPort: 8080`); a named
    /// target port is resolved per endpoint instead.
    pub target_port: Option<u32>,
}

/// One instance of a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// An IP, or a host name for DNS services.
    pub address: String,
    /// The endpoint's port for each service port number; a service port the endpoint does not
    /// serve (a named `targetPort` its Pod does not declare) is absent.
    pub ports: BTreeMap<u32, u32>,
    pub labels: BTreeMap<String, String>,
    /// `region/zone/subzone`, as far as known.
    pub locality: Option<String>,
    pub weight: Option<u32>,
    /// The workload identity, `spiffe://<trust domain>/ns/<ns>/sa/<name>`.
    pub service_account: Option<String>,
    /// `Pod ns/name`, `WorkloadEntry ns/name`, ..., for debugging.
    pub workload: String,
    /// The cluster the endpoint was read from (Istio's `clusterID`); set by [`Registry`].
    pub cluster: String,
}

impl Endpoint {
    /// The workload behind the endpoint as telemetry names it (istiod's endpoint metadata): a
    /// Pod's Deployment (or the Pod), a WorkloadEntry's `service.istio.io/workload-name` label
    /// or name. `None` for addresses no workload stands behind (ServiceEntry endpoints, DNS
    /// names, EndpointSlice addresses without a Pod).
    pub fn telemetry_workload(&self) -> Option<crate::xds::peer::Workload> {
        let (kind, rest) = self.workload.split_once(' ')?;
        let (namespace, name) = rest.split_once('/')?;
        let name = match kind {
            "Pod" => crate::xds::peer::pod_workload_name(name, &self.labels),
            "WorkloadEntry" => self
                .labels
                .get("service.istio.io/workload-name")
                .cloned()
                .unwrap_or_else(|| name.to_string()),
            _ => return None,
        };
        Some(crate::xds::peer::Workload::from_labels(
            &name,
            namespace,
            &self.cluster,
            &self.labels,
        ))
    }
}

/// The label Istio gives every endpoint to name its cluster, so a DestinationRule subset can
/// select the endpoints of one cluster.
pub const CLUSTER_LABEL: &str = "topology.istio.io/cluster";

/// A service: one host, its ports and its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The FQDN (`reviews.default.svc.cluster.local`) or the ServiceEntry host.
    pub hostname: String,
    /// The Kubernetes name; for ServiceEntries the host, as Istio reports it in telemetry.
    pub name: String,
    pub namespace: String,
    pub source: ServiceSource,
    pub ports: Vec<Port>,
    /// Cluster IP or ServiceEntry `addresses`.
    pub addresses: Vec<String>,
    pub resolution: Resolution,
    /// Outside the mesh (ServiceEntry `MESH_EXTERNAL`, ExternalName Services).
    pub mesh_external: bool,
    pub export_to: ExportTo,
    /// The labels of the workloads this service selects (empty when it selects none).
    pub selector: BTreeMap<String, String>,
    pub endpoints: Vec<Endpoint>,
    /// Each cluster's address for the service (istiod's `clusterVIPs`); `addresses` is the
    /// first cluster's.
    pub cluster_vips: BTreeMap<String, Vec<String>>,
}

impl Service {
    pub fn port(&self, number: u32) -> Option<&Port> {
        self.ports.iter().find(|p| p.number == number)
    }

    /// Whether namespace `ns` may see this service.
    pub fn visible_from(&self, ns: &str) -> bool {
        self.export_to.visible(&self.namespace, ns)
    }
}

/// All services, sorted by host then namespace (several namespaces may define one host).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    services: Vec<Service>,
}

impl Registry {
    /// Builds the registry from the store's Kubernetes objects and the accepted ServiceEntries
    /// and WorkloadEntries. Kubernetes objects the registry cannot use are returned as rejected.
    pub fn build(
        store: &Store,
        config: &AcceptedConfig,
        mesh: &MeshOptions,
    ) -> (Registry, Vec<Rejected>) {
        Registry::build_clusters(store, &[], config, mesh)
    }

    /// [`Registry::build`] with the Kubernetes objects of remote clusters (cluster ID, store):
    /// their Services and endpoints only, as a primary reads no config from a remote.
    pub fn build_clusters(
        store: &Store,
        remotes: &[(&str, &Store)],
        config: &AcceptedConfig,
        mesh: &MeshOptions,
    ) -> (Registry, Vec<Rejected>) {
        let mut rejected = Vec::new();
        let mut services = kubernetes::services(store, mesh, &mut rejected);
        in_cluster(&mut services, &mesh.cluster_id);
        for (cluster, remote) in remotes {
            let mut theirs = kubernetes::services(remote, mesh, &mut rejected);
            in_cluster(&mut theirs, cluster);
            merge(&mut services, theirs);
        }
        let mut entries = serviceentry::services(store, config, mesh);
        in_cluster(&mut entries, &mesh.cluster_id);
        services.extend(entries);
        Registry::from_services(services, rejected)
    }

    /// A registry of the given services (tests and non-Kubernetes sources).
    pub fn from_services(
        mut services: Vec<Service>,
        mut rejected: Vec<Rejected>,
    ) -> (Registry, Vec<Rejected>) {
        for s in &mut services {
            s.endpoints.sort();
            s.endpoints.dedup();
        }
        services.sort_by(|a, b| {
            (&a.hostname, &a.namespace, &a.source).cmp(&(&b.hostname, &b.namespace, &b.source))
        });
        rejected.sort();
        (Registry { services }, rejected)
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service `host` names for a proxy in namespace `ns`: one the namespace may see, its
    /// own namespace's first (Istio's `ServiceForHostname` preference).
    pub fn lookup(&self, host: &str, ns: &str) -> Option<&Service> {
        let mut candidates = self
            .services
            .iter()
            .filter(|s| s.hostname == host && s.visible_from(ns));
        let first = candidates.next()?;
        if first.namespace == ns {
            return Some(first);
        }
        Some(candidates.find(|s| s.namespace == ns).unwrap_or(first))
    }
}

/// Marks `services` as read from `cluster`: each endpoint's cluster and [`CLUSTER_LABEL`] (unless
/// the workload sets it itself, as Istio keeps a workload's own label), and the cluster's VIP.
fn in_cluster(services: &mut [Service], cluster: &str) {
    for s in services {
        if !s.addresses.is_empty() {
            s.cluster_vips
                .insert(cluster.to_string(), s.addresses.clone());
        }
        for e in &mut s.endpoints {
            e.cluster = cluster.to_string();
            e.labels
                .entry(CLUSTER_LABEL.to_string())
                .or_insert_with(|| cluster.to_string());
        }
    }
}

/// Adds a remote cluster's Kubernetes services to `into`, as istiod's aggregate registry does:
/// a Service whose hostname (and so namespace) is already known keeps the definition seen first
/// (ports, VIP) and gains the remote's endpoints and VIP; a new one is added whole.
fn merge(into: &mut Vec<Service>, remote: Vec<Service>) {
    let mut known: HashMap<(String, String), usize> = into
        .iter()
        .enumerate()
        .filter(|(_, s)| s.source == ServiceSource::Kubernetes)
        .map(|(i, s)| ((s.hostname.clone(), s.namespace.clone()), i))
        .collect();
    for s in remote {
        let key = (s.hostname.clone(), s.namespace.clone());
        match known.get(&key) {
            Some(&i) => {
                let merged = &mut into[i];
                merged.endpoints.extend(s.endpoints);
                for (cluster, vips) in s.cluster_vips {
                    merged.cluster_vips.entry(cluster).or_insert(vips);
                }
            }
            None => {
                known.insert(key, into.len());
                into.push(s);
            }
        }
    }
}

/// `spiffe://<trust domain>/ns/<ns>/sa/<name>`: the identity Istio gives a service account.
pub fn spiffe_identity(trust_domain: &str, namespace: &str, service_account: &str) -> String {
    format!("spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::accepted::accept;
    use crate::discovery::testing::store;

    const PRIMARY: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 9080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: reviews-a, namespace: default, labels: {kubernetes.io/service-name: reviews}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{name: https, number: 443, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 192.0.2.1}]
"#;

    const REMOTE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {clusterIP: 10.100.0.7, ports: [{name: http, port: 9080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: reviews-b, namespace: default, labels: {kubernetes.io/service-name: reviews}}
addressType: IPv4
endpoints: [{addresses: [10.1.0.1]}]
ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec: {clusterIP: 10.100.0.8, ports: [{name: http, port: 9080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ratings-b, namespace: default, labels: {kubernetes.io/service-name: ratings}}
addressType: IPv4
endpoints: [{addresses: [10.1.0.2]}]
ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: remote-only, namespace: default}
spec:
  hosts: [remote.example.com]
  ports: [{name: http, number: 80, protocol: HTTP}]
  resolution: DNS
"#;

    fn clusters_of(s: &Service) -> Vec<(&str, &str, Option<&str>)> {
        s.endpoints
            .iter()
            .map(|e| {
                (
                    e.address.as_str(),
                    e.cluster.as_str(),
                    e.labels.get(CLUSTER_LABEL).map(String::as_str),
                )
            })
            .collect()
    }

    #[test]
    fn a_service_in_two_clusters_is_one_service_with_both_clusters_endpoints() {
        let primary = store(PRIMARY);
        let remote = store(REMOTE);
        let config = accept(&primary);
        let (reg, rejected) = Registry::build_clusters(
            &primary,
            &[("remote1", &remote)],
            &config,
            &MeshOptions::default(),
        );
        assert!(rejected.is_empty(), "{rejected:?}");
        let reviews = reg
            .lookup("reviews.default.svc.cluster.local", "default")
            .expect("reviews");
        assert_eq!(
            clusters_of(reviews),
            [
                ("10.0.0.1", "Kubernetes", Some("Kubernetes")),
                ("10.1.0.1", "remote1", Some("remote1")),
            ]
        );
        // The primary's definition wins; each cluster keeps its own VIP.
        assert_eq!(reviews.addresses, ["10.96.0.10"]);
        assert_eq!(
            reviews.cluster_vips,
            BTreeMap::from([
                ("Kubernetes".to_string(), vec!["10.96.0.10".to_string()]),
                ("remote1".to_string(), vec!["10.100.0.7".to_string()]),
            ])
        );
        // Only in the remote: still a service, with the remote's endpoints.
        let ratings = reg
            .lookup("ratings.default.svc.cluster.local", "default")
            .expect("ratings");
        assert_eq!(
            clusters_of(ratings),
            [("10.1.0.2", "remote1", Some("remote1"))]
        );
        // ServiceEntries are config: the primary's count, with the local cluster; a remote's
        // are never read.
        let ext = reg
            .lookup("api.example.com", "default")
            .expect("the primary's ServiceEntry");
        assert_eq!(
            clusters_of(ext),
            [("192.0.2.1", "Kubernetes", Some("Kubernetes"))]
        );
        assert!(reg.lookup("remote.example.com", "default").is_none());
        assert_eq!(reg.services().len(), 3);
    }

    #[test]
    fn without_remotes_the_registry_is_the_primarys_and_a_workloads_own_cluster_label_stays() {
        let yaml = PRIMARY.replace(
            "endpoints: [{addresses: [10.0.0.1]}]",
            "endpoints: [{addresses: [10.0.0.1], targetRef: {kind: Pod, name: r}}]",
        ) + r#"---
apiVersion: v1
kind: Pod
metadata: {name: r, namespace: default, labels: {topology.istio.io/cluster: east}}
spec: {containers: [{name: r}]}
status: {podIP: 10.0.0.1}
"#;
        let primary = store(&yaml);
        let config = accept(&primary);
        let mesh = MeshOptions {
            cluster_id: "primary".into(),
            ..MeshOptions::default()
        };
        let (reg, _) = Registry::build(&primary, &config, &mesh);
        let reviews = reg
            .lookup("reviews.default.svc.cluster.local", "default")
            .expect("reviews");
        assert_eq!(
            clusters_of(reviews),
            [("10.0.0.1", "primary", Some("east"))]
        );
        assert_eq!(reviews.cluster_vips.keys().collect::<Vec<_>>(), ["primary"]);
    }
}
