//! `destinationrule.SubsetSelectPodAnalyzer` (Istio's `PodNotSelectedAnalyzer`): a
//! DestinationRule host must name a known service, and each of its subsets must select at least
//! one pod.

use std::collections::{BTreeMap, HashMap};

use super::service_registry::ServiceRegistry;
use crate::analyze::catalog::{IST0173, IST0174};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::Spec;
use crate::config::types::selects;

pub const ANALYZER: Analyzer = Analyzer {
    name: "destinationrule.SubsetSelectPodAnalyzer",
    description: "Checks if pods are selected by subsets in destination rules.",
    // Istio also reads Node (for topology labels); Nodes are optional here, so listing them
    // would skip the analyzer for the many inputs that have none.
    inputs: &[
        Kind::DestinationRule,
        Kind::Pod,
        Kind::Service,
        Kind::ServiceEntry,
    ],
    reads: &[
        Kind::DestinationRule,
        Kind::Pod,
        Kind::Deployment,
        Kind::Service,
        Kind::ServiceEntry,
        Kind::Node,
    ],
    run,
};

/// Node labels Istio copies onto a pod's endpoint labels (pilot's `AugmentLabels`).
const TOPOLOGY_LABELS: &[&str] = &[
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
];
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// One subset awaiting a pod: its DestinationRule, name and merged selector.
struct SubsetMatcher<'a> {
    resource: &'a crate::config::resource::Resource,
    name: String,
    selector: BTreeMap<String, String>,
    matched: bool,
}

fn run(ctx: &mut Context<'_>) {
    let services = ServiceRegistry::build(ctx.store);
    let node_labels: HashMap<&str, &BTreeMap<String, String>> =
        ctx.of(Kind::Node).map(|n| (n.name(), n.labels())).collect();

    let mut matchers: Vec<SubsetMatcher<'_>> = Vec::new();
    for r in ctx.of(Kind::DestinationRule) {
        let Spec::DestinationRule(dr) = &r.spec else {
            continue;
        };
        let Some(service) = services.lookup(r.effective_namespace(), &dr.export_to, &dr.host)
        else {
            ctx.report(&IST0174, r, None, &[dr.host.clone().into()]);
            continue;
        };
        for subset in &dr.subsets {
            // labels.Merge: the entry's workload selector overridden by the subset labels.
            let mut selector = service.workload_selector.cloned().unwrap_or_default();
            selector.extend(subset.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            // Istio keys subsets by name, so a repeated name keeps only the last definition.
            matchers.retain(|m| !(std::ptr::eq(m.resource, r) && m.name == subset.name));
            matchers.push(SubsetMatcher {
                resource: r,
                name: subset.name.clone(),
                selector,
                matched: false,
            });
        }
    }
    if matchers.is_empty() {
        return;
    }

    // Pods in any namespace, with the topology labels their node gives their endpoints.
    for w in ctx.workloads {
        let mut labels = w.labels.clone();
        if let Some(node) = w.spec.node_name.as_deref().filter(|n| !n.is_empty())
            && let Some(nl) = node_labels.get(node)
        {
            for key in TOPOLOGY_LABELS {
                if let Some(v) = nl.get(*key) {
                    labels.insert((*key).to_string(), v.clone());
                }
            }
            labels.insert(HOSTNAME_LABEL.to_string(), node.to_string());
        }
        for m in matchers.iter_mut().filter(|m| !m.matched) {
            if selects(&m.selector, &labels) {
                m.matched = true;
            }
        }
    }

    for m in matchers.into_iter().filter(|m| !m.matched) {
        ctx.report(&IST0173, m.resource, None, &[m.name.into()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const HTTPBIN: &str = r#"apiVersion: v1
kind: Service
metadata: {name: httpbin}
spec:
  selector: {app: httpbin}
  ports:
  - {name: http, port: 8000, targetPort: 80}
"#;

    #[test]
    fn subset_without_pods_fires() {
        let yaml = format!(
            r#"{HTTPBIN}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: subsets-not-select-pods}}
spec:
  host: httpbin.default.svc.cluster.local
  subsets:
  - name: fake
    labels: {{version: v3}}
"#
        );
        assert_eq!(
            lines(&ANALYZER, &yaml),
            vec![
                "Error [IST0173] (DestinationRule default/subsets-not-select-pods test.yaml:9) The Subset fake defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream)."
            ]
        );
    }

    #[test]
    fn workload_templates_count_as_pods() {
        let yaml = format!(
            r#"{HTTPBIN}---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: httpbin-v1}}
spec:
  template:
    metadata:
      labels: {{app: httpbin, version: v1}}
    spec:
      containers: [{{name: httpbin, image: kennethreitz/httpbin}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: httpbin}}
spec:
  host: httpbin
  subsets:
  - name: v1
    labels: {{version: v1}}
  - name: v2
    labels: {{version: v2}}
"#
        );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![pair("IST0173", "DestinationRule default/httpbin")]
        );
    }

    #[test]
    fn unknown_host_fires_and_service_entries_resolve() {
        let yaml = format!(
            r#"{HTTPBIN}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: external}}
spec:
  hosts: ["*.example.com"]
  ports: [{{number: 443, name: https, protocol: TLS}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: fake-host}}
spec:
  host: fake-host
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: external, namespace: other}}
spec:
  host: api.example.com
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: cross-ns, namespace: istio-system}}
spec:
  host: httpbin.default.svc.cluster.local
"#
        );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![pair("IST0174", "DestinationRule default/fake-host")]
        );
    }

    #[test]
    fn topology_labels_come_from_the_node() {
        let yaml = format!(
            r#"{HTTPBIN}---
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels:
    topology.kubernetes.io/region: us-east1
    topology.kubernetes.io/zone: us-east1-b
---
apiVersion: v1
kind: Pod
metadata:
  name: httpbin-1
  labels: {{app: httpbin}}
spec:
  nodeName: node-1
  containers: [{{name: httpbin}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: topology}}
spec:
  host: httpbin
  subsets:
  - name: east
    labels:
      topology.kubernetes.io/region: us-east1
      kubernetes.io/hostname: node-1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: empty-topology-labels}}
spec:
  host: httpbin
  subsets:
  - name: no-subzone
    labels:
      topology.istio.io/subzone: ""
"#
        );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![pair(
                "IST0173",
                "DestinationRule default/empty-topology-labels"
            )]
        );
    }

    #[test]
    fn service_export_to_limits_visibility() {
        let yaml = r#"apiVersion: v1
kind: Service
metadata:
  name: details
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details-local}
spec:
  host: details
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details-remote, namespace: other}
spec:
  host: details.default.svc.cluster.local
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![pair("IST0174", "DestinationRule other/details-remote")]
        );
    }
}
