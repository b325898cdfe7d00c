//! Kubernetes Services as registry services: `<name>.<ns>.svc.<domain suffix>`, ports with the
//! protocol Istio infers, and endpoints. A Service's EndpointSlices are authoritative when the
//! store has any (that is what a cluster has); without them, as in a directory of manifests with
//! Pods, the ready Pods its selector picks are the endpoints.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Endpoint, Port, Protocol, Resolution, Service, ServiceSource, spiffe_identity};
use crate::config::kind::Kind;
use crate::config::kube::{PodSpec, ServiceSpec};
use crate::config::resource::{Resource, Spec};
use crate::config::store::Store;
use crate::config::types::{IntOrString, selects};
use crate::discovery::accepted::Rejected;
use crate::discovery::export::{EXPORT_TO_ANNOTATION, ExportTo};
use crate::discovery::mesh::MeshOptions;
use crate::validation::hosts::is_ip;

/// The label EndpointSlices carry to name their Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Istio's locality override on a Pod: `region.zone.subzone` (dots, as labels cannot hold `/`).
const LOCALITY_LABEL: &str = "istio-locality";
const REGION_LABEL: &str = "topology.kubernetes.io/region";
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
const SUBZONE_LABEL: &str = "topology.istio.io/subzone";

/// A ready Pod with an IP: something that can be an endpoint.
#[derive(Debug, Clone)]
pub struct PodWorkload<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub ip: String,
    pub spec: &'a PodSpec,
    pub locality: Option<String>,
    pub service_account: String,
}

impl PodWorkload<'_> {
    /// The container port named `name`, for a named `targetPort`.
    fn named_port(&self, name: &str) -> Option<u32> {
        self.spec
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u32::try_from(p.container_port).ok())
    }
}

/// The Pods that can serve traffic: an IP in `status.podIP`, not finished, and not reported
/// unready (a Pod written without status conditions counts as ready once it has an IP).
pub fn ready_pods<'a>(
    store: &'a Store,
    mesh: &MeshOptions,
    rejected: &mut Vec<Rejected>,
) -> Vec<PodWorkload<'a>> {
    let nodes: BTreeMap<&str, &Resource> = store.of(Kind::Node).map(|n| (n.name(), n)).collect();
    let mut out = Vec::new();
    for r in store.of(Kind::Pod) {
        let Spec::Pod(spec) = &r.spec else { continue };
        let status = r.node.get("status");
        let Some(ip) = status.and_then(|s| s.get("podIP")).and_then(|n| n.as_str()) else {
            continue;
        };
        if !is_ip(ip) {
            rejected.push(Rejected::of(
                r,
                vec![format!("status.podIP {ip:?} is not an IP address")],
            ));
            continue;
        }
        let phase = status.and_then(|s| s.get("phase")).and_then(|n| n.as_str());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        let unready = r
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status != "True");
        if unready {
            continue;
        }
        let ns = r.effective_namespace();
        let locality = r
            .labels()
            .get(LOCALITY_LABEL)
            .map(|l| l.replace('.', "/"))
            .or_else(|| {
                let node = nodes.get(spec.node_name.as_deref()?)?;
                node_locality(node.labels())
            });
        let sa = spec.service_account_name.as_deref().unwrap_or("default");
        out.push(PodWorkload {
            name: r.name(),
            namespace: ns,
            labels: r.labels(),
            ip: ip.to_string(),
            spec,
            locality,
            service_account: spiffe_identity(&mesh.trust_domain, ns, sa),
        });
    }
    out
}

fn node_locality(labels: &BTreeMap<String, String>) -> Option<String> {
    let region = labels.get(REGION_LABEL)?;
    let mut out = region.clone();
    if let Some(zone) = labels.get(ZONE_LABEL) {
        out = format!("{out}/{zone}");
        if let Some(sub) = labels.get(SUBZONE_LABEL) {
            out = format!("{out}/{sub}");
        }
    }
    Some(out)
}

/// The registry services of every Kubernetes Service in the store.
pub fn services(store: &Store, mesh: &MeshOptions, rejected: &mut Vec<Rejected>) -> Vec<Service> {
    let pods = ready_pods(store, mesh, rejected);
    let slices = endpoint_slices(store, rejected);
    let mut out = Vec::new();
    for r in store.of(Kind::Service) {
        let Spec::Service(spec) = &r.spec else {
            continue;
        };
        match service(r, spec, mesh, &pods, &slices) {
            Ok(s) => out.push(s),
            Err(reasons) => rejected.push(Rejected::of(r, reasons)),
        }
    }
    out
}

fn service(
    r: &Resource,
    spec: &ServiceSpec,
    mesh: &MeshOptions,
    pods: &[PodWorkload<'_>],
    slices: &[(&Resource, EndpointSlice)],
) -> Result<Service, Vec<String>> {
    let ns = r.effective_namespace();
    let mut ports = Vec::new();
    let mut errors = Vec::new();
    for p in &spec.ports {
        match u32::try_from(p.port) {
            Ok(n) if (1..=65535).contains(&n) => ports.push(Port {
                name: p.name.clone().unwrap_or_default(),
                number: n,
                protocol: Protocol::of_kubernetes_port(p),
                target_port: match &p.target_port {
                    Some(IntOrString::Int(t)) => u32::try_from(*t).ok(),
                    Some(IntOrString::String(_)) => None,
                    None => Some(n),
                },
            }),
            _ => errors.push(format!("port {} must be in the range 1..65535", p.port)),
        }
    }
    let external_name = spec.type_.as_deref() == Some("ExternalName");
    if external_name && spec.external_name.as_deref().unwrap_or("").is_empty() {
        errors.push("type ExternalName needs spec.externalName".to_string());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let cluster_ip = spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty());
    let resolution = if external_name {
        Resolution::DnsLb
    } else if cluster_ip == Some("None") {
        Resolution::Passthrough
    } else {
        Resolution::ClientSideLb
    };
    let export_to = r
        .annotations()
        .get(EXPORT_TO_ANNOTATION)
        .map(|v| ExportTo::from_annotation(v))
        .unwrap_or_default();
    let mut service = Service {
        hostname: format!("{}.{ns}.svc.{}", r.name(), mesh.domain_suffix),
        name: r.name().to_string(),
        namespace: ns.to_string(),
        source: ServiceSource::Kubernetes,
        ports,
        addresses: cluster_ip
            .filter(|ip| *ip != "None")
            .map(|ip| vec![ip.to_string()])
            .unwrap_or_default(),
        resolution,
        mesh_external: external_name,
        export_to,
        selector: spec.selector.clone(),
        endpoints: Vec::new(),
        cluster_vips: BTreeMap::new(),
    };
    service.endpoints = if let Some(host) = spec.external_name.as_deref().filter(|_| external_name)
    {
        // The proxy resolves the external name itself, on the service's own ports.
        vec![Endpoint {
            address: host.to_string(),
            ports: service.ports.iter().map(|p| (p.number, p.number)).collect(),
            labels: BTreeMap::new(),
            locality: None,
            weight: None,
            service_account: None,
            workload: format!("Service {ns}/{}", r.name()),
            cluster: String::new(),
        }]
    } else {
        let own_slices: Vec<&EndpointSlice> = slices
            .iter()
            .filter(|(s, _)| {
                s.effective_namespace() == ns
                    && s.labels().get(SERVICE_NAME_LABEL).map(String::as_str) == Some(r.name())
            })
            .map(|(_, slice)| slice)
            .collect();
        if own_slices.is_empty() {
            pod_endpoints(&service, spec, pods)
        } else {
            slice_endpoints(&service, &own_slices, pods)
        }
    };
    Ok(service)
}

/// Endpoints from the ready Pods the selector picks (a Service without a selector picks none).
fn pod_endpoints(service: &Service, spec: &ServiceSpec, pods: &[PodWorkload<'_>]) -> Vec<Endpoint> {
    if spec.selector.is_empty() {
        return Vec::new();
    }
    pods.iter()
        .filter(|p| p.namespace == service.namespace && selects(&spec.selector, p.labels))
        .filter_map(|pod| {
            let ports: BTreeMap<u32, u32> = spec
                .ports
                .iter()
                .filter_map(|sp| {
                    let number = u32::try_from(sp.port).ok()?;
                    let target = match &sp.target_port {
                        None => number,
                        Some(IntOrString::Int(n)) => u32::try_from(*n).ok()?,
                        Some(IntOrString::String(name)) => pod.named_port(name)?,
                    };
                    Some((number, target))
                })
                .collect();
            (!ports.is_empty()).then(|| Endpoint {
                address: pod.ip.clone(),
                ports,
                labels: pod.labels.clone(),
                locality: pod.locality.clone(),
                weight: None,
                service_account: Some(pod.service_account.clone()),
                workload: format!("Pod {}/{}", pod.namespace, pod.name),
                cluster: String::new(),
            })
        })
        .collect()
}

/// The parts of a `discovery.k8s.io/v1` EndpointSlice the registry reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct EndpointSlice {
    address_type: String,
    endpoints: Vec<SliceEndpoint>,
    ports: Vec<SlicePort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SliceEndpoint {
    addresses: Vec<String>,
    conditions: SliceConditions,
    target_ref: Option<TargetRef>,
    zone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SliceConditions {
    ready: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TargetRef {
    kind: Option<String>,
    name: String,
    namespace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SlicePort {
    name: Option<String>,
    port: Option<i64>,
}

fn endpoint_slices<'a>(
    store: &'a Store,
    rejected: &mut Vec<Rejected>,
) -> Vec<(&'a Resource, EndpointSlice)> {
    store
        .of(Kind::EndpointSlice)
        .filter_map(
            |r| match serde_json::from_value::<EndpointSlice>(r.node.to_json()) {
                Ok(slice) => Some((r, slice)),
                Err(e) => {
                    rejected.push(Rejected::of(r, vec![e.to_string()]));
                    None
                }
            },
        )
        .collect()
}

/// Endpoints from EndpointSlices: ready addresses, ports matched to the Service's by name, and
/// labels (and identity) from the Pod each endpoint points to when the store has it.
fn slice_endpoints(
    service: &Service,
    slices: &[&EndpointSlice],
    pods: &[PodWorkload<'_>],
) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for slice in slices {
        if slice.address_type == "FQDN" {
            continue; // deprecated by Kubernetes and not produced for Services
        }
        let ports: BTreeMap<u32, u32> = service
            .ports
            .iter()
            .filter_map(|sp| {
                let p = slice
                    .ports
                    .iter()
                    .find(|p| p.name.as_deref().unwrap_or("") == sp.name)?;
                Some((sp.number, u32::try_from(p.port?).ok()?))
            })
            .collect();
        if ports.is_empty() {
            continue;
        }
        for ep in &slice.endpoints {
            if ep.conditions.ready == Some(false) {
                continue;
            }
            let pod = ep
                .target_ref
                .as_ref()
                .filter(|t| t.kind.as_deref().unwrap_or("Pod") == "Pod")
                .and_then(|t| {
                    let ns = t.namespace.as_deref().unwrap_or(&service.namespace);
                    pods.iter().find(|p| p.name == t.name && p.namespace == ns)
                });
            for address in ep.addresses.iter().filter(|a| is_ip(a)) {
                out.push(Endpoint {
                    address: address.clone(),
                    ports: ports.clone(),
                    labels: pod.map(|p| p.labels.clone()).unwrap_or_default(),
                    locality: pod
                        .and_then(|p| p.locality.clone())
                        .or_else(|| ep.zone.clone()),
                    weight: None,
                    service_account: pod.map(|p| p.service_account.clone()),
                    workload: match &ep.target_ref {
                        Some(t) => format!("Pod {}/{}", service.namespace, t.name),
                        None => format!("EndpointSlice address {address}"),
                    },
                    cluster: String::new(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::registry::Registry;
    use crate::discovery::testing::store;

    fn registry(yaml: &str) -> (Registry, Vec<Rejected>) {
        let store = store(yaml);
        let config = crate::discovery::accepted::accept(&store);
        Registry::build(&store, &config, &MeshOptions::default())
    }

    const REVIEWS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.10
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080, targetPort: 9080}
  - {name: metrics, port: 15020, targetPort: stats}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-a, namespace: default, labels: {app: reviews, version: v1}}
spec:
  serviceAccountName: bookinfo-reviews
  containers:
  - name: reviews
    ports: [{name: stats, containerPort: 9090}]
status: {podIP: 10.0.0.1, phase: Running, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-b, namespace: default, labels: {app: reviews, version: v2}}
spec: {containers: [{name: reviews}]}
status: {podIP: 10.0.0.2, phase: Running, conditions: [{type: Ready, status: "False"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: default, labels: {app: other}}
spec: {containers: [{name: other}]}
status: {podIP: 10.0.0.3}
"#;

    #[test]
    fn services_get_fqdns_protocols_and_ready_pod_endpoints() {
        let (reg, rejected) = registry(REVIEWS);
        assert!(rejected.is_empty(), "{rejected:?}");
        let s = reg
            .lookup("reviews.default.svc.cluster.local", "default")
            .expect("reviews");
        assert_eq!(s.ports[0].protocol, Protocol::Http);
        assert_eq!(s.ports[1].protocol, Protocol::Unsupported);
        assert_eq!(s.addresses, vec!["10.96.0.10"]);
        // The unready v2 Pod and the unselected Pod are not endpoints.
        assert_eq!(s.endpoints.len(), 1);
        let ep = &s.endpoints[0];
        assert_eq!(ep.address, "10.0.0.1");
        assert_eq!(ep.ports, BTreeMap::from([(9080, 9080), (15020, 9090)]));
        assert_eq!(ep.labels.get("version").map(String::as_str), Some("v1"));
        assert_eq!(
            ep.service_account.as_deref(),
            Some("spiffe://cluster.local/ns/default/sa/bookinfo-reviews")
        );
    }

    #[test]
    fn endpoint_slices_win_over_pods() {
        let yaml = format!(
            "{REVIEWS}---\n{}",
            r#"apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: reviews-abc, namespace: default, labels: {kubernetes.io/service-name: reviews}}
addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: reviews-v1-a}
- addresses: [10.0.0.9]
  conditions: {ready: false}
- addresses: [10.0.0.8]
  zone: us-east-1a
ports:
- {name: http, port: 9080}
"#
        );
        let (reg, rejected) = registry(&yaml);
        assert!(rejected.is_empty(), "{rejected:?}");
        let s = reg
            .lookup("reviews.default.svc.cluster.local", "default")
            .expect("reviews");
        let addrs: Vec<&str> = s.endpoints.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(addrs, vec!["10.0.0.1", "10.0.0.8"]);
        // Labels come from the referenced Pod; the metrics port has no slice port.
        assert_eq!(
            s.endpoints[0].labels.get("version").map(String::as_str),
            Some("v1")
        );
        assert_eq!(s.endpoints[0].ports, BTreeMap::from([(9080, 9080)]));
        assert_eq!(s.endpoints[1].locality.as_deref(), Some("us-east-1a"));
    }

    #[test]
    fn headless_and_external_name_services_resolve_differently() {
        let (reg, _) = registry(
            r#"
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec: {clusterIP: None, ports: [{name: tcp, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: data}
spec: {type: ExternalName, externalName: api.example.com, ports: [{name: https, port: 443}]}
"#,
        );
        let db = reg.lookup("db.data.svc.cluster.local", "data").expect("db");
        assert_eq!(db.resolution, Resolution::Passthrough);
        assert!(db.addresses.is_empty());
        let ext = reg
            .lookup("ext.data.svc.cluster.local", "data")
            .expect("ext");
        assert_eq!(ext.resolution, Resolution::DnsLb);
        assert!(ext.mesh_external);
        assert_eq!(ext.endpoints[0].address, "api.example.com");
    }

    #[test]
    fn a_service_with_a_bad_port_is_rejected_alone() {
        let yaml = format!(
            "{REVIEWS}---\n{}",
            "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: default}\nspec: {ports: [{port: 70000}]}\n"
        );
        let (reg, rejected) = registry(&yaml);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].name, "bad");
        assert!(rejected[0].reasons[0].contains("70000"), "{rejected:?}");
        assert!(
            reg.lookup("reviews.default.svc.cluster.local", "default")
                .is_some()
        );
    }

    #[test]
    fn export_to_annotation_hides_a_service_from_other_namespaces() {
        let (reg, _) = registry(
            r#"
apiVersion: v1
kind: Service
metadata:
  name: private
  namespace: a
  annotations: {networking.istio.io/exportTo: "."}
spec: {ports: [{name: http, port: 80}]}
"#,
        );
        assert!(reg.lookup("private.a.svc.cluster.local", "a").is_some());
        assert!(reg.lookup("private.a.svc.cluster.local", "b").is_none());
    }
}
