//! `meshnetworks.MeshNetworksAnalyzer`: every `fromRegistry` in the mesh networks must name a
//! known service registry (a built-in one or a remote cluster whose secret is in the inputs).
//!
//! Istio reads the mesh networks from a separate `MeshNetworks` resource; in Ferry's inputs they
//! live where a cluster keeps them, under the `meshNetworks` key of the `istio` ConfigMap in
//! `istio-system`, so findings are reported on that ConfigMap, at the line of the `meshNetworks`
//! value: for a block scalar, the line of its `|` indicator, where go-yaml puts it.

use std::collections::BTreeSet;

use crate::analyze::catalog::IST0126;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::Spec;
use crate::config::yaml::{Limits, parse_stream};

pub const ANALYZER: Analyzer = Analyzer {
    name: "meshnetworks.MeshNetworksAnalyzer",
    description: "Check the validity of MeshNetworks in the cluster",
    // The ConfigMap stands in for Istio's MeshNetworks input.
    inputs: &[Kind::ConfigMap, Kind::Secret],
    reads: &[Kind::ConfigMap, Kind::Secret],
    run,
};

/// Namespace and name of the ConfigMap istiod reads its mesh networks from.
const MESH_CONFIGMAP: (&str, &str) = ("istio-system", "istio");

/// Registries every istiod knows.
const BUILTIN_REGISTRIES: &[&str] = &["Mock", "Kubernetes", "External"];

fn run(ctx: &mut Context<'_>) {
    let Some(cm) = ctx
        .store
        .get(Kind::ConfigMap, MESH_CONFIGMAP.0, MESH_CONFIGMAP.1)
    else {
        return;
    };
    let Spec::ConfigMap(data) = &cm.spec else {
        return;
    };
    let Some(text) = data.get("meshNetworks") else {
        return;
    };
    // Unreadable mesh networks are istiod's startup error, not this analyzer's finding.
    let stream = parse_stream(text, Limits::default());
    if !stream.errors.is_empty() {
        return;
    }
    let Some(doc) = stream.documents.first() else {
        return;
    };
    let json = doc.root.to_json();
    let Some(networks) = json.get("networks").and_then(|n| n.as_object()) else {
        return;
    };

    // Remote clusters register under the data keys of their multicluster secrets.
    let mut known: BTreeSet<&str> = BUILTIN_REGISTRIES.iter().copied().collect();
    for s in ctx.of(Kind::Secret) {
        if s.labels()
            .get("istio/multiCluster")
            .is_some_and(|v| v == "true")
            && let Spec::Secret { keys, .. } = &s.spec
        {
            known.extend(keys.iter().map(String::as_str));
        }
    }

    let mut names: Vec<&String> = networks.keys().collect();
    names.sort();
    let mut found: Vec<(String, String)> = Vec::new();
    for name in names {
        let endpoints = networks
            .get(name)
            .and_then(|n| n.get("endpoints"))
            .and_then(|e| e.as_array());
        for e in endpoints.into_iter().flatten() {
            if let Some(registry) = e.get("fromRegistry").and_then(|r| r.as_str())
                && !known.contains(registry)
            {
                found.push((registry.to_string(), name.clone()));
            }
        }
    }
    for (registry, network) in found {
        ctx.report(
            &IST0126,
            cm,
            Some("{.data.meshNetworks}"),
            &[registry.into(), network.into()],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const FIXTURE: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: istio-remote-secret-cluster1
  namespace: istio-system
  labels: {istio/multiCluster: "true"}
stringData:
  cluster1: kubeconfig
---
apiVersion: v1
kind: Secret
metadata:
  name: unrelated
  namespace: istio-system
stringData:
  cluster9: kubeconfig
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  meshNetworks: |
    networks:
      network1:
        endpoints:
        - fromRegistry: Kubernetes
        - fromCidr: 10.0.0.0/16
        - fromRegistry: cluster1
        - fromRegistry: cluster9
        gateways:
        - {address: 1.1.1.1, port: 15443}
      network2:
        endpoints:
        - fromRegistry: unknown
"#;

    #[test]
    fn unknown_registries() {
        assert_eq!(
            run(&ANALYZER, FIXTURE),
            vec![
                pair("IST0126", "ConfigMap istio-system/istio"),
                pair("IST0126", "ConfigMap istio-system/istio"),
            ]
        );
        assert_eq!(
            lines(&ANALYZER, FIXTURE),
            vec![
                "Error [IST0126] (ConfigMap istio-system/istio test.yaml:22) Unknown service registry cluster9 in network network1",
                "Error [IST0126] (ConfigMap istio-system/istio test.yaml:22) Unknown service registry unknown in network network2",
            ]
        );
    }

    #[test]
    fn known_registries_pass() {
        let fixed = FIXTURE
            .replace("cluster9: kubeconfig", "cluster2: kubeconfig")
            .replace("- fromRegistry: cluster9\n", "")
            .replace("fromRegistry: unknown", "fromRegistry: External");
        assert_eq!(run(&ANALYZER, &fixed), vec![]);
    }
}
