//! What analysis asks of a live cluster: for the kinds the selected analyzers read, the
//! narrowest reads that fetch them, and how the cluster's objects combine with files.
//!
//! Most kinds are listed whole. The exceptions keep big, irrelevant data on the server
//! (istio/istio#46563, #45458): Namespaces and Nodes are listed for their metadata only;
//! ConfigMaps are read by name in the Istio namespace (the mesh config and the injector
//! config); Secrets only where an analyzer names them: the multicluster secrets by label, and
//! the certificates Gateways point to by name, once the Gateways are known
//! ([`credential_secrets`]); CustomResourceDefinitions only in the removed group the
//! deprecation analyzer looks for. Nothing here does I/O: `config::cluster` runs the reads.

use std::collections::{BTreeSet, HashSet};

use super::analyzers::deprecation::REMOVED_RBAC_GROUP;
use super::analyzers::injection::injector_configmap_name;
use super::context::workloads;
use super::mesh;
use crate::config::cluster::{NameFilter, Read, Select};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::config::store::Store;
use crate::config::types::selects;

/// Label of the secrets istiod reads remote clusters from.
const MULTICLUSTER_SECRET_LABEL: &str = "istio/multiCluster=true";

/// Where the control plane lives.
#[derive(Debug, Clone)]
pub struct Scope {
    pub istio_namespace: String,
    pub revision: String,
}

/// The reads that fetch `kinds` (one or more per kind, in kind order).
pub fn plan(kinds: &BTreeSet<Kind>, scope: &Scope) -> Vec<Read> {
    let mut reads = Vec::new();
    let every = |kind, metadata_only| Read {
        kind,
        namespace: None,
        select: Select::All { metadata_only },
    };
    for kind in kinds.iter().copied() {
        match kind {
            // Analyzers read their labels and annotations only.
            Kind::Namespace | Kind::Node => reads.push(every(kind, true)),
            Kind::ConfigMap => {
                let mut exact = vec![mesh::configmap_name("default")];
                exact.push(mesh::configmap_name(&scope.revision));
                exact.dedup();
                reads.push(Read {
                    kind,
                    namespace: Some(scope.istio_namespace.clone()),
                    select: Select::Named(NameFilter {
                        exact,
                        // Every revision's injector: pods name theirs by namespace label.
                        prefixes: vec![injector_configmap_name("default")],
                        suffixes: Vec::new(),
                    }),
                });
            }
            Kind::Secret => reads.push(Read {
                kind,
                namespace: Some(scope.istio_namespace.clone()),
                select: Select::Labelled(MULTICLUSTER_SECRET_LABEL.to_string()),
            }),
            Kind::CustomResourceDefinition => reads.push(Read {
                kind,
                namespace: None,
                select: Select::Named(NameFilter {
                    suffixes: vec![format!(".{REMOVED_RBAC_GROUP}")],
                    ..NameFilter::default()
                }),
            }),
            _ => reads.push(every(kind, false)),
        }
    }
    reads
}

/// The Secrets the store's Gateways name in `credentialName` and the store lacks: `ns/name`
/// where a namespace is written, else the name in every namespace it could resolve in (those of
/// the workloads the Gateway selects, the Gateway's own and the Istio namespace, where the
/// default ingress gateway runs). A few gets, instead of every Secret of the cluster.
pub fn credential_secrets(store: &Store, scope: &Scope) -> Vec<Read> {
    let workloads = workloads(store);
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for r in store.of(Kind::Gateway) {
        let Spec::Gateway(gw) = &r.spec else {
            continue;
        };
        let mut namespaces: BTreeSet<&str> = workloads
            .iter()
            .filter(|w| selects(&gw.selector, w.labels))
            .map(|w| w.namespace)
            .collect();
        namespaces.insert(r.effective_namespace());
        namespaces.insert(&scope.istio_namespace);
        for server in &gw.servers {
            let Some(cn) = server.credential_name() else {
                continue;
            };
            match cn.split_once('/') {
                Some((ns, name)) => {
                    wanted.insert((ns.to_string(), name.to_string()));
                }
                None => {
                    for ns in &namespaces {
                        wanted.insert((ns.to_string(), cn.to_string()));
                    }
                }
            }
        }
    }
    wanted
        .into_iter()
        .filter(|(ns, name)| store.get(Kind::Secret, ns, name).is_none())
        .map(|(ns, name)| Read {
            kind: Kind::Secret,
            namespace: Some(ns),
            select: Select::One(name),
        })
        .collect()
}

/// The cluster's objects with the files' laid over them: a file's object replaces the
/// cluster's object of the same kind, namespace and name (what applying the file would do), and
/// adds to the cluster otherwise.
pub fn merge(cluster: Vec<Resource>, files: Vec<Resource>) -> Vec<Resource> {
    let key = |r: &Resource| {
        let ns = if r.kind.cluster_scoped() {
            String::new()
        } else {
            r.effective_namespace().to_string()
        };
        (r.kind, ns, r.name().to_string())
    };
    let from_files: HashSet<_> = files.iter().map(key).collect();
    let mut out: Vec<Resource> = cluster
        .into_iter()
        .filter(|r| !from_files.contains(&key(r)))
        .collect();
    out.extend(files);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::{LoadOptions, parse_file};

    fn scope() -> Scope {
        Scope {
            istio_namespace: "istio-system".into(),
            revision: "canary".into(),
        }
    }

    fn resources(file: &str, yaml: &str) -> Vec<Resource> {
        let parsed = parse_file(
            file,
            yaml,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.resources
    }

    #[test]
    fn secrets_and_configmaps_are_never_listed_whole() {
        let kinds: BTreeSet<Kind> = [
            Kind::Secret,
            Kind::ConfigMap,
            Kind::Namespace,
            Kind::Pod,
            Kind::CustomResourceDefinition,
        ]
        .into();
        let reads = plan(&kinds, &scope());
        for r in &reads {
            match r.kind {
                Kind::Secret => assert_eq!(
                    (r.namespace.as_deref(), &r.select),
                    (
                        Some("istio-system"),
                        &Select::Labelled("istio/multiCluster=true".into())
                    )
                ),
                Kind::ConfigMap => {
                    assert_eq!(r.namespace.as_deref(), Some("istio-system"));
                    let Select::Named(f) = &r.select else {
                        panic!("{r:?}");
                    };
                    assert!(f.accepts("istio") && f.accepts("istio-canary"));
                    assert!(f.accepts("istio-sidecar-injector-canary"));
                    assert!(!f.accepts("istio-ca-root-cert"));
                }
                Kind::Namespace => {
                    assert_eq!(
                        r.select,
                        Select::All {
                            metadata_only: true
                        }
                    )
                }
                Kind::Pod => assert_eq!(
                    r.select,
                    Select::All {
                        metadata_only: false
                    }
                ),
                Kind::CustomResourceDefinition => {
                    let Select::Named(f) = &r.select else {
                        panic!("{r:?}");
                    };
                    assert!(f.accepts("serviceroles.rbac.istio.io"));
                    assert!(!f.accepts("virtualservices.networking.istio.io"));
                }
                other => panic!("unexpected read of {other:?}"),
            }
        }
        assert_eq!(reads.len(), kinds.len());
    }

    #[test]
    fn only_what_the_analyzers_read_is_planned() {
        let kinds = crate::analyze::reads(&["service.PortNameAnalyzer".to_string()]);
        let planned: Vec<Kind> = plan(&kinds, &scope()).iter().map(|r| r.kind).collect();
        assert_eq!(planned, [Kind::Service]);
        let all = crate::analyze::reads(&[]);
        assert!(all.contains(&Kind::Pod) && all.contains(&Kind::VirtualService));
        assert!(!all.contains(&Kind::StatefulSet) && !all.contains(&Kind::Endpoints));
    }

    #[test]
    fn gateway_credentials_are_looked_up_where_they_can_resolve() {
        let store = Store::new(resources(
            "f.yaml",
            r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: apps}
spec:
  selector: {app: edge}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: edge-cert}
  - port: {number: 8443, name: https2, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: certs/other}
---
apiVersion: v1
kind: Pod
metadata: {name: edge-1, namespace: edge, labels: {app: edge}}
spec: {containers: [{name: istio-proxy, image: proxyv2}]}
---
apiVersion: v1
kind: Secret
metadata: {name: edge-cert, namespace: apps}
"#,
        ));
        let got: Vec<(String, String)> = credential_secrets(&store, &scope())
            .into_iter()
            .map(|r| {
                let Select::One(name) = r.select else {
                    panic!("{r:?}");
                };
                (r.namespace.unwrap_or_default(), name)
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("certs", "other"),
            ("edge", "edge-cert"),
            ("istio-system", "edge-cert"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        // apps/edge-cert is in the files already: not fetched.
        assert_eq!(got, want);
    }

    #[test]
    fn files_replace_and_add_to_cluster_objects() {
        let cluster = resources(
            "",
            "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: default}\n",
        );
        let files = resources(
            "f.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\n",
        );
        let merged: Vec<(String, String)> = merge(cluster, files)
            .iter()
            .map(|r| (r.name().to_string(), r.origin.file.to_string()))
            .collect();
        assert_eq!(
            merged,
            [
                ("a".to_string(), String::new()),
                ("b".to_string(), "f.yaml".to_string()),
                ("c".to_string(), "f.yaml".to_string())
            ]
        );
    }
}
