//! The reader account a remote control plane uses to watch this cluster: a ServiceAccount in the
//! istio namespace and a read-only ClusterRole bound to it.
//!
//! Read-only on purpose: the token ends up in a Secret in another cluster, so what it can do is
//! what anyone who reads that Secret can do. It lists and watches what the service registry needs
//! (Services, EndpointSlices, Endpoints, Pods, Namespaces, Nodes) and Istio's config, and can
//! neither read Secrets nor write anything. Istio's own reader role (which `ferryctl install`
//! renders for the Base component) also reads Secrets, for gateway credentials; this one is named
//! apart from it so applying one never rewrites the other's rules.

use serde_json::{Map, Value, json};

use crate::install::render::istiod::{istio_config_rules, rule};
use crate::install::render::{metadata, object};

/// Istio's default reader account (`pkg/config/constants`), for `--type remote`.
pub const DEFAULT_READER_SERVICE_ACCOUNT: &str = "istio-reader-service-account";
/// The control plane's own account, istioctl's default for `--type config`.
pub const DEFAULT_CONFIG_SERVICE_ACCOUNT: &str = "istiod";

/// Field manager of everything `create-remote-secret` applies, as `ferryctl install`'s.
pub const FIELD_MANAGER: &str = "ferryctl";

/// Read-only verbs: the only ones the reader role grants.
const READ: &[&str] = &["get", "list", "watch"];

/// One object to apply, with the resource it lives in.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderObject {
    /// The resource's plural (`serviceaccounts`), for the API path.
    pub plural: &'static str,
    pub object: Value,
}

/// Who the reader is: a ServiceAccount in the istio namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub namespace: String,
    pub service_account: String,
}

impl Reader {
    /// The ClusterRole's name: one per istio namespace, shared by every reader account there.
    pub fn cluster_role(&self) -> String {
        format!("istio-remote-reader-{}", self.namespace)
    }

    /// The binding's name: per account, so readers with different accounts do not overwrite
    /// each other's subject.
    pub fn cluster_role_binding(&self) -> String {
        format!(
            "istio-remote-reader-{}-{}",
            self.namespace, self.service_account
        )
    }

    /// The namespace and the account: created when missing and otherwise left alone, because an
    /// install may own them with fields (labels, injection settings) this command does not know.
    pub fn account_objects(&self) -> Vec<ReaderObject> {
        let namespace = object(
            "v1",
            "Namespace",
            metadata(&self.namespace, None, Map::new()),
        );
        let sa = object(
            "v1",
            "ServiceAccount",
            metadata(&self.service_account, Some(&self.namespace), labels()),
        );
        vec![
            ReaderObject {
                plural: "namespaces",
                object: Value::Object(namespace),
            },
            ReaderObject {
                plural: "serviceaccounts",
                object: Value::Object(sa),
            },
        ]
    }

    /// The ClusterRole and its binding: applied every time, so a rerun repairs them. Their names
    /// are this command's own, so applying them never takes fields from another manager's object.
    pub fn rbac_objects(&self) -> Vec<ReaderObject> {
        let mut role = object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            metadata(&self.cluster_role(), None, labels()),
        );
        role.insert("rules".into(), Value::Array(rules()));
        let mut binding = object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            metadata(&self.cluster_role_binding(), None, labels()),
        );
        binding.insert(
            "roleRef".into(),
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                   "name": self.cluster_role()}),
        );
        binding.insert(
            "subjects".into(),
            json!([{"kind": "ServiceAccount", "name": self.service_account,
                    "namespace": self.namespace}]),
        );
        vec![
            ReaderObject {
                plural: "clusterroles",
                object: Value::Object(role),
            },
            ReaderObject {
                plural: "clusterrolebindings",
                object: Value::Object(binding),
            },
        ]
    }
}

/// Labels Istio puts on its reader objects, so `kubectl get -l app=istio-reader` finds these too.
fn labels() -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert("app".into(), "istio-reader".into());
    labels.insert("app.kubernetes.io/managed-by".into(), "ferryctl".into());
    labels
}

/// What a control plane in another cluster reads here: Istio's config, the service registry and
/// what it resolves workloads through (ReplicaSets for owners, CRDs to know which kinds exist).
fn rules() -> Vec<Value> {
    let mut rules = istio_config_rules();
    rules.extend([
        rule(
            &[""],
            &[
                "services",
                "endpoints",
                "pods",
                "namespaces",
                "nodes",
                "replicationcontrollers",
            ],
            READ,
        ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(&["apps"], &["replicasets"], READ),
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            READ,
        ),
        rule(
            &["gateway.networking.k8s.io"],
            &[
                "gateways",
                "httproutes",
                "grpcroutes",
                "tcproutes",
                "tlsroutes",
            ],
            READ,
        ),
    ]);
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> Reader {
        Reader {
            namespace: "istio-system".into(),
            service_account: DEFAULT_READER_SERVICE_ACCOUNT.into(),
        }
    }

    #[test]
    fn objects_are_namespace_account_role_binding() {
        let r = reader();
        let kinds: Vec<String> = r
            .account_objects()
            .iter()
            .chain(&r.rbac_objects())
            .map(|o| format!("{} {}", o.object["kind"], o.object["metadata"]["name"]))
            .collect();
        assert_eq!(
            kinds,
            [
                r#""Namespace" "istio-system""#,
                r#""ServiceAccount" "istio-reader-service-account""#,
                r#""ClusterRole" "istio-remote-reader-istio-system""#,
                r#""ClusterRoleBinding" "istio-remote-reader-istio-system-istio-reader-service-account""#,
            ]
        );
    }

    #[test]
    fn the_role_only_reads_and_never_secrets() {
        let objects = reader().rbac_objects();
        let rules = objects[0].object["rules"].as_array().expect("rules");
        for r in rules {
            let verbs = r["verbs"].as_array().expect("verbs");
            assert!(
                verbs
                    .iter()
                    .all(|v| READ.contains(&v.as_str().expect("verb"))),
                "{r}"
            );
            let resources = r["resources"].as_array().expect("resources");
            assert!(!resources.iter().any(|x| x == "secrets" || x == "*"), "{r}");
        }
        let core = rules
            .iter()
            .find(|r| r["apiGroups"][0] == "")
            .expect("a core rule");
        for needed in ["services", "endpoints", "pods", "namespaces", "nodes"] {
            assert!(
                core["resources"]
                    .as_array()
                    .expect("resources")
                    .iter()
                    .any(|x| x == needed),
                "{needed}"
            );
        }
    }

    #[test]
    fn the_binding_names_the_account_and_the_role() {
        let objects = reader().rbac_objects();
        let (role, binding) = (&objects[0].object, &objects[1].object);
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
        assert_eq!(
            binding["subjects"][0],
            json!({"kind": "ServiceAccount", "name": "istio-reader-service-account",
                   "namespace": "istio-system"})
        );
    }
}
