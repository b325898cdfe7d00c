//! ServiceEntries as registry services (Istio's `serviceentry` controller): one service per host,
//! its endpoints from inline `endpoints`, or from the WorkloadEntries and Pods of its namespace
//! that `workloadSelector` picks. A `DNS` entry without endpoints resolves its own hosts.

use std::collections::BTreeMap;

use super::kubernetes::{PodWorkload, ready_pods};
use super::{Endpoint, Port, Protocol, Resolution, Service, ServiceSource, spiffe_identity};
use crate::config::networking as net;
use crate::config::store::Store;
use crate::config::types::selects;
use crate::discovery::accepted::{AcceptedConfig, Config};
use crate::discovery::export::ExportTo;
use crate::discovery::mesh::MeshOptions;

/// The registry services of every accepted ServiceEntry.
pub fn services(store: &Store, config: &AcceptedConfig, mesh: &MeshOptions) -> Vec<Service> {
    // Pods the registry cannot use are reported by the Kubernetes source already.
    let pods = ready_pods(store, mesh, &mut Vec::new());
    let mut out = Vec::new();
    for se in &config.service_entries {
        out.extend(entry_services(se, &config.workload_entries, &pods, mesh));
    }
    out
}

fn resolution(se: &net::ServiceEntry) -> Resolution {
    match se.resolution.as_deref() {
        Some("STATIC") => Resolution::ClientSideLb,
        Some("DNS") => Resolution::DnsLb,
        Some("DNS_ROUND_ROBIN") => Resolution::DnsRoundRobinLb,
        // NONE, and the default.
        _ => Resolution::Passthrough,
    }
}

fn entry_services(
    se: &Config<net::ServiceEntry>,
    workload_entries: &[Config<net::WorkloadEntry>],
    pods: &[PodWorkload<'_>],
    mesh: &MeshOptions,
) -> Vec<Service> {
    let spec = &se.spec;
    let ns = se.namespace.as_str();
    let ports: Vec<Port> = spec
        .ports
        .iter()
        .map(|p| Port {
            name: p.name.clone(),
            number: p.number,
            protocol: Protocol::of_declared(p.protocol.as_deref()),
            target_port: p.target_port.or(Some(p.number)),
        })
        .collect();
    let selector = spec
        .workload_selector
        .as_ref()
        .map(|s| s.labels.clone())
        .unwrap_or_default();
    let resolution = resolution(spec);
    let mut endpoints: Vec<Endpoint> = spec
        .endpoints
        .iter()
        .filter_map(|we| {
            workload_endpoint(
                we,
                &spec.ports,
                ns,
                mesh,
                format!("ServiceEntry {ns}/{} endpoint", se.name),
            )
        })
        .collect();
    if spec.workload_selector.is_some() {
        endpoints.extend(
            workload_entries
                .iter()
                .filter(|we| we.namespace == ns && selects(&selector, &we.spec.labels))
                .filter_map(|we| {
                    workload_endpoint(
                        &we.spec,
                        &spec.ports,
                        ns,
                        mesh,
                        format!("WorkloadEntry {ns}/{}", we.name),
                    )
                }),
        );
        endpoints.extend(
            pods.iter()
                .filter(|p| p.namespace == ns && selects(&selector, p.labels))
                .map(|pod| Endpoint {
                    address: pod.ip.clone(),
                    ports: spec
                        .ports
                        .iter()
                        .map(|p| (p.number, p.target_port.unwrap_or(p.number)))
                        .collect(),
                    labels: pod.labels.clone(),
                    locality: pod.locality.clone(),
                    weight: None,
                    service_account: Some(pod.service_account.clone()),
                    workload: format!("Pod {ns}/{}", pod.name),
                    cluster: String::new(),
                }),
        );
    }
    spec.hosts
        .iter()
        .map(|host| {
            let mut own = endpoints.clone();
            if own.is_empty() && resolution == Resolution::DnsLb && !host.starts_with('*') {
                // A DNS entry without endpoints is reached at its own name.
                own.push(Endpoint {
                    address: host.clone(),
                    ports: spec
                        .ports
                        .iter()
                        .map(|p| (p.number, p.target_port.unwrap_or(p.number)))
                        .collect(),
                    labels: BTreeMap::new(),
                    locality: None,
                    weight: None,
                    service_account: None,
                    workload: format!("ServiceEntry {ns}/{} host", se.name),
                    cluster: String::new(),
                });
            }
            Service {
                hostname: host.clone(),
                name: host.clone(),
                namespace: ns.to_string(),
                source: ServiceSource::ServiceEntry(se.name.clone()),
                ports: ports.clone(),
                addresses: spec.addresses.clone(),
                resolution,
                mesh_external: spec.location.as_deref() != Some("MESH_INTERNAL"),
                export_to: ExportTo::new(&spec.export_to),
                selector: selector.clone(),
                endpoints: own,
                cluster_vips: BTreeMap::new(),
            }
        })
        .collect()
}

/// A WorkloadEntry (inline or selected) as an endpoint. Its port for a service port is the entry's
/// port of the same name, else the service port's `targetPort`, else the service port itself.
fn workload_endpoint(
    we: &net::WorkloadEntry,
    ports: &[net::ServicePort],
    ns: &str,
    mesh: &MeshOptions,
    workload: String,
) -> Option<Endpoint> {
    let address = we.address.clone().filter(|a| !a.is_empty())?;
    Some(Endpoint {
        address,
        ports: ports
            .iter()
            .map(|p| {
                let target = we
                    .ports
                    .get(&p.name)
                    .copied()
                    .or(p.target_port)
                    .unwrap_or(p.number);
                (p.number, target)
            })
            .collect(),
        labels: we.labels.clone(),
        locality: we.locality.clone(),
        weight: we.weight,
        service_account: we
            .service_account
            .as_deref()
            .map(|sa| spiffe_identity(&mesh.trust_domain, ns, sa)),
        workload,
        cluster: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::accepted::accept;
    use crate::discovery::registry::Registry;
    use crate::discovery::testing::store;

    fn registry(yaml: &str) -> (Registry, Vec<crate::discovery::Rejected>) {
        let store = store(yaml);
        let config = accept(&store);
        let (reg, mut rejected) = Registry::build(&store, &config, &MeshOptions::default());
        rejected.extend(config.rejected);
        (reg, rejected)
    }

    #[test]
    fn static_entries_with_inline_endpoints_and_target_ports() {
        let (reg, rejected) = registry(
            r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms, namespace: legacy}
spec:
  hosts: [vm.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
  - {number: 9000, name: grpc, protocol: GRPC}
  endpoints:
  - {address: 10.1.0.1, labels: {version: v1}, locality: us-east/a, weight: 3}
  - {address: 10.1.0.2, ports: {http: 8081}, serviceAccount: vm}
"#,
        );
        assert!(rejected.is_empty(), "{rejected:?}");
        let s = reg
            .lookup("vm.example.internal", "legacy")
            .expect("service");
        assert_eq!(s.resolution, Resolution::ClientSideLb);
        assert!(!s.mesh_external);
        assert_eq!(s.name, "vm.example.internal");
        assert_eq!(s.ports[1].protocol, Protocol::Grpc);
        assert_eq!(
            s.endpoints[0].ports,
            BTreeMap::from([(80, 8080), (9000, 9000)])
        );
        assert_eq!(s.endpoints[0].weight, Some(3));
        assert_eq!(s.endpoints[0].locality.as_deref(), Some("us-east/a"));
        assert_eq!(
            s.endpoints[1].ports,
            BTreeMap::from([(80, 8081), (9000, 9000)])
        );
        assert_eq!(
            s.endpoints[1].service_account.as_deref(),
            Some("spiffe://cluster.local/ns/legacy/sa/vm")
        );
    }

    #[test]
    fn workload_selector_picks_workload_entries_of_the_namespace() {
        let (reg, rejected) = registry(
            r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: data}
spec:
  hosts: [db.data.internal]
  resolution: STATIC
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  workloadSelector: {labels: {app: db}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: db-1, namespace: data}
spec: {address: 10.2.0.1, labels: {app: db}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: db-other-ns, namespace: other}
spec: {address: 10.2.0.2, labels: {app: db}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: web, namespace: data}
spec: {address: 10.2.0.3, labels: {app: web}}
"#,
        );
        assert!(rejected.is_empty(), "{rejected:?}");
        let s = reg.lookup("db.data.internal", "data").expect("service");
        let addrs: Vec<&str> = s.endpoints.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(addrs, vec!["10.2.0.1"]);
        assert_eq!(s.selector.get("app").map(String::as_str), Some("db"));
    }

    #[test]
    fn dns_entries_resolve_their_hosts_and_none_has_no_endpoints() {
        let (reg, _) = registry(
            r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com, www.example.com]
  resolution: DNS
  ports: [{number: 443, name: https, protocol: HTTPS}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: any, namespace: default}
spec:
  hosts: ["*.wild.com"]
  resolution: NONE
  ports: [{number: 80, name: http, protocol: HTTP}]
"#,
        );
        let api = reg.lookup("api.example.com", "default").expect("api");
        assert_eq!(api.resolution, Resolution::DnsLb);
        assert!(api.mesh_external);
        assert_eq!(api.endpoints[0].address, "api.example.com");
        let www = reg.lookup("www.example.com", "default").expect("www");
        assert_eq!(www.endpoints[0].address, "www.example.com");
        let wild = reg.lookup("*.wild.com", "default").expect("wild");
        assert_eq!(wild.resolution, Resolution::Passthrough);
        assert!(wild.endpoints.is_empty());
    }

    #[test]
    fn an_invalid_service_entry_is_rejected_alone() {
        let (reg, rejected) = registry(
            r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: good, namespace: default}
spec:
  hosts: [good.example.com]
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: bad, namespace: default}
spec:
  hosts: [bad.example.com]
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: not-an-ip}]
"#,
        );
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].name, "bad");
        assert!(reg.lookup("good.example.com", "default").is_some());
        assert!(reg.lookup("bad.example.com", "default").is_none());
    }
}
