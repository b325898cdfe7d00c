//! The service registry (istiod's `ServiceDiscovery`): every service a proxy can call, keyed by
//! its FQDN host, with ports and endpoints. Two sources feed it, as in Istio:
//! - [`kubernetes`]: Services, with endpoints from EndpointSlices when the store has them for a
//!   Service, otherwise from the ready Pods its selector picks;
//! - [`serviceentry`]: ServiceEntries, with inline `endpoints` or the WorkloadEntries (and Pods)
//!   their `workloadSelector` picks.

pub mod kubernetes;
pub mod protocol;
pub mod serviceentry;

use std::collections::BTreeMap;

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
}

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
        let mut rejected = Vec::new();
        let mut services = kubernetes::services(store, mesh, &mut rejected);
        services.extend(serviceentry::services(store, config, mesh));
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

/// `spiffe://<trust domain>/ns/<ns>/sa/<name>`: the identity Istio gives a service account.
pub fn spiffe_identity(trust_domain: &str, namespace: &str, service_account: &str) -> String {
    format!("spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}")
}
