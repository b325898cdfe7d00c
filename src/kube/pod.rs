//! The pod a proxy command names, istioctl's `[<type>/]<name>[.<namespace>]`
//! (`handlers.InferPodInfoFromTypedResource`): a pod by name, or a workload (`deployment/x`,
//! `svc/x.ns`, ...) whose selector picks the pod, the way `kubectl logs deployment/x` picks one.
//! [`PodRef::parse`] is pure; [`resolve`] and [`resolve_all`] ask the API server.

use std::cmp::Reverse;

use ::kube::Client;
use ::kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::api_message;

/// A pod argument split into what names the object and its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// `x` or `<type>/x`, as given.
    pub resource: String,
    pub namespace: String,
}

impl PodRef {
    /// istioctl's `inferNsInfo`: the namespace is what follows the last `.` of the name (after
    /// the `/`, since a type may hold dots: `deployments.apps/x`), else `default_namespace`.
    pub fn parse(arg: &str, default_namespace: &str) -> PodRef {
        let split_from = match arg.rfind('/') {
            Some(slash) if slash > 0 => slash,
            _ => 0,
        };
        let (resource, namespace) = match arg[split_from..].rfind('.') {
            Some(dot) => {
                let dot = split_from + dot;
                (&arg[..dot], &arg[dot + 1..])
            }
            None => (arg, ""),
        };
        // `x.` names no namespace: the default one, rather than an API call for namespace "".
        let namespace = if namespace.is_empty() {
            default_namespace
        } else {
            namespace
        };
        PodRef {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
        }
    }

    /// The type and name of a `<type>/<name>` argument; `None` for a plain pod name.
    fn typed(&self) -> Option<(&str, &str)> {
        self.resource.split_once('/')
    }
}

/// The kinds whose objects select pods, as kubectl's `SelectorsForObject` knows them, and the pod
/// itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    ReplicationController,
    Service,
}

impl Kind {
    /// kubectl's names for the kind: singular, plural, short name, each with or without its
    /// group, in any case.
    fn parse(type_name: &str) -> Option<Kind> {
        let lower = type_name.to_ascii_lowercase();
        let (name, group) = lower.split_once('.').unwrap_or((&lower, ""));
        let kind = match name {
            "pod" | "pods" | "po" => Kind::Pod,
            "deployment" | "deployments" | "deploy" => Kind::Deployment,
            "replicaset" | "replicasets" | "rs" => Kind::ReplicaSet,
            "statefulset" | "statefulsets" | "sts" => Kind::StatefulSet,
            "daemonset" | "daemonsets" | "ds" => Kind::DaemonSet,
            "job" | "jobs" => Kind::Job,
            "replicationcontroller" | "replicationcontrollers" | "rc" => {
                Kind::ReplicationController
            }
            "service" | "services" | "svc" => Kind::Service,
            _ => return None,
        };
        (group.is_empty() || group == kind.group()).then_some(kind)
    }

    fn group(self) -> &'static str {
        match self {
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet => "apps",
            Kind::Job => "batch",
            Kind::Pod | Kind::ReplicationController | Kind::Service => "",
        }
    }

    fn resource(self) -> ApiResource {
        let (kind, plural) = match self {
            Kind::Pod => ("Pod", "pods"),
            Kind::Deployment => ("Deployment", "deployments"),
            Kind::ReplicaSet => ("ReplicaSet", "replicasets"),
            Kind::StatefulSet => ("StatefulSet", "statefulsets"),
            Kind::DaemonSet => ("DaemonSet", "daemonsets"),
            Kind::Job => ("Job", "jobs"),
            Kind::ReplicationController => ("ReplicationController", "replicationcontrollers"),
            Kind::Service => ("Service", "services"),
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group(), "v1", kind), plural)
    }
}

/// Why no pod was found, in istioctl's words.
#[derive(Debug, thiserror::Error)]
pub enum PodRefError {
    /// A plain pod name the API server does not know (or would not tell).
    #[error("unable to retrieve Pod: {0}")]
    Pod(String),
    /// The object of a `<type>/<name>` argument could not be read.
    #[error("failed retrieving: {message} in the {namespace:?} namespace")]
    Retrieve { message: String, namespace: String },
    /// The object exists but selects no pods by its nature (a Service without a selector).
    #[error("{resource:?} does not refer to a pod: {reason}")]
    NotSelecting { resource: String, reason: String },
    /// The object selects pods, but none exist: istioctl's text for this case (reference §a, proxy-config errors;
    /// and istio's own e2e test for `deployment/random-gibberish`), though its current source
    /// says it only when the object cannot select pods.
    #[error("{0:?} does not refer to a pod")]
    NoPods(String),
    #[error("unable to retrieve Pods: {0}")]
    List(String),
}

/// The pod `r` names: the pod itself, or the one of a workload's pods `kubectl logs` would pick.
pub async fn resolve(client: &Client, r: &PodRef) -> Result<Pod, PodRefError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &r.namespace);
    let Some((type_name, name)) = r.typed() else {
        return pods
            .get(&r.resource)
            .await
            .map_err(|e| PodRefError::Pod(api_message(&e)));
    };
    let kind = kind_of(type_name, &r.namespace)?;
    if kind == Kind::Pod {
        return pods.get(name).await.map_err(|e| PodRefError::Retrieve {
            message: api_message(&e),
            namespace: r.namespace.clone(),
        });
    }
    let selector = selector_of(client, kind, name, r).await?;
    let mut found = list(client, &r.namespace, &selector).await?;
    found.sort_by_key(logging_order);
    found
        .into_iter()
        .next()
        .ok_or_else(|| PodRefError::NoPods(r.resource.clone()))
}

/// Every pod `r` names: the pod, or all pods of a workload (istioctl's
/// `InferPodsFromTypedResource`, what `proxy-config log deployment/x` changes), by name.
pub async fn resolve_all(client: &Client, r: &PodRef) -> Result<Vec<Pod>, PodRefError> {
    let Some((type_name, name)) = r.typed() else {
        return Ok(vec![resolve(client, r).await?]);
    };
    let kind = kind_of(type_name, &r.namespace)?;
    if kind == Kind::Pod {
        return Ok(vec![resolve(client, r).await?]);
    }
    let selector = selector_of(client, kind, name, r).await?;
    let mut found = list(client, &r.namespace, &selector).await?;
    found.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(found)
}

/// The pods of `namespace` matching the label `selector`, as listed.
pub async fn list(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<Pod>, PodRefError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = ListParams {
        label_selector: (!selector.is_empty()).then(|| selector.to_string()),
        ..ListParams::default()
    };
    pods.list(&params)
        .await
        .map(|l| l.items)
        .map_err(|e| PodRefError::List(api_message(&e)))
}

fn kind_of(type_name: &str, namespace: &str) -> Result<Kind, PodRefError> {
    Kind::parse(type_name).ok_or_else(|| PodRefError::Retrieve {
        // kubectl's words for a type it cannot map to a resource.
        message: format!("the server doesn't have a resource type {type_name:?}"),
        namespace: namespace.to_string(),
    })
}

/// The label selector of workload `name` (kubectl's `SelectorsForObject`).
async fn selector_of(
    client: &Client,
    kind: Kind,
    name: &str,
    r: &PodRef,
) -> Result<String, PodRefError> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &r.namespace, &kind.resource());
    let object = api.get(name).await.map_err(|e| PodRefError::Retrieve {
        message: api_message(&e),
        namespace: r.namespace.clone(),
    })?;
    let spec_selector = &object.data["spec"]["selector"];
    let not_selecting = |reason: String| PodRefError::NotSelecting {
        resource: r.resource.clone(),
        reason,
    };
    match kind {
        Kind::Service | Kind::ReplicationController => {
            let selector = map_selector(spec_selector);
            if selector.is_empty() {
                return Err(not_selecting(match kind {
                    Kind::Service => {
                        format!("invalid service '{name}': Service is defined without a selector")
                    }
                    _ => format!("invalid replication controller '{name}': no selector"),
                }));
            }
            Ok(selector)
        }
        _ => label_selector(spec_selector)
            .map_err(|e| not_selecting(format!("invalid label selector: {e}"))),
    }
}

/// `{"app": "x", "version": "v1"}` as `app=x,version=v1` (a Service's or RC's selector).
fn map_selector(selector: &Value) -> String {
    let Some(map) = selector.as_object() else {
        return String::new();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// A `metav1.LabelSelector` (`matchLabels` and `matchExpressions`) in the API's query syntax.
fn label_selector(selector: &Value) -> Result<String, String> {
    let mut parts = map_selector(&selector["matchLabels"])
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect::<Vec<_>>();
    for expr in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = expr["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expr["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let part = match expr["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        };
        parts.push(part);
    }
    Ok(parts.join(","))
}

/// kubectl's `podutils.ByLogging` as a sort key, best first: scheduled, then Running (over
/// Unknown, over Pending), Ready, Ready the longest, fewest restarts, oldest; then by name.
fn logging_order(pod: &Pod) -> impl Ord + use<> {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let assigned = spec
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Running") => 2,
        Some("Unknown") => 1,
        Some("Pending") => 0,
        _ => -1,
    };
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.status == "True"));
    // Ready since earlier sorts first; not ready (None) after any time.
    let ready_since = ready.map(|c| c.last_transition_time.as_ref().map(|t| t.0));
    let restarts: i64 = status
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| i64::from(c.restart_count)).sum())
        .unwrap_or(0);
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    (
        Reverse(assigned),
        Reverse(phase),
        Reverse(ready.is_some()),
        ready_since.map_or((1, None), |since| (0, since)),
        restarts,
        created.map_or((1, None), |c| (0, Some(c))),
        pod.metadata.name.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(arg: &str) -> (String, String) {
        let r = PodRef::parse(arg, "default");
        (r.resource, r.namespace)
    }

    #[test]
    fn the_namespace_follows_the_last_dot_of_the_name() {
        let cases = [
            ("productpage-v1-1234", ("productpage-v1-1234", "default")),
            (
                "productpage-v1-1234.bookinfo",
                ("productpage-v1-1234", "bookinfo"),
            ),
            (
                "deployment/productpage-v1",
                ("deployment/productpage-v1", "default"),
            ),
            (
                "deployment/productpage-v1.bookinfo",
                ("deployment/productpage-v1", "bookinfo"),
            ),
            // The type's own dots are not a namespace.
            (
                "deployments.apps/reviews",
                ("deployments.apps/reviews", "default"),
            ),
            (
                "deployments.apps/reviews.ns",
                ("deployments.apps/reviews", "ns"),
            ),
            ("a.b.c", ("a.b", "c")),
            ("x.", ("x", "default")),
        ];
        for (arg, (resource, namespace)) in cases {
            assert_eq!(
                parse(arg),
                (resource.to_string(), namespace.to_string()),
                "{arg}"
            );
        }
    }

    #[test]
    fn kinds_by_kubectl_names() {
        for (name, kind) in [
            ("deployment", Kind::Deployment),
            ("Deployments", Kind::Deployment),
            ("deploy", Kind::Deployment),
            ("deployment.apps", Kind::Deployment),
            ("svc", Kind::Service),
            ("po", Kind::Pod),
            ("sts", Kind::StatefulSet),
            ("jobs.batch", Kind::Job),
        ] {
            assert_eq!(Kind::parse(name), Some(kind), "{name}");
        }
        for name in ["configmap", "deployment.batch", "", "svc.apps"] {
            assert_eq!(Kind::parse(name), None, "{name}");
        }
    }

    #[test]
    fn selectors_in_the_query_syntax() {
        assert_eq!(
            map_selector(&json!({"version": "v1", "app": "r"})),
            "app=r,version=v1"
        );
        assert_eq!(map_selector(&Value::Null), "");
        let selector = json!({
            "matchLabels": {"app": "r"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["x"]},
                {"key": "team", "operator": "Exists"},
            ],
        });
        assert_eq!(
            label_selector(&selector),
            Ok("app=r,tier in (a,b),!canary,zone notin (x),team".to_string())
        );
        assert!(
            label_selector(&json!({"matchExpressions": [{"key": "k", "operator": "Near"}]}))
                .is_err()
        );
    }

    fn pod(name: &str, phase: &str, ready_since: Option<&str>, node: bool) -> Pod {
        let mut conditions = Vec::new();
        if let Some(t) = ready_since {
            conditions.push(json!({"type": "Ready", "status": "True", "lastTransitionTime": t}));
        }
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [], "nodeName": if node { "n" } else { "" }},
            "status": {"phase": phase, "conditions": conditions},
        }))
        .expect("a pod")
    }

    #[test]
    fn the_pod_kubectl_logs_would_pick_comes_first() {
        let mut pods = [
            pod("pending", "Pending", None, true),
            pod(
                "unscheduled",
                "Running",
                Some("2026-01-01T00:00:01Z"),
                false,
            ),
            pod("running-not-ready", "Running", None, true),
            pod("ready-later", "Running", Some("2026-01-01T00:10:00Z"), true),
            pod("ready-first", "Running", Some("2026-01-01T00:01:00Z"), true),
        ];
        pods.sort_by_key(logging_order);
        let names: Vec<&str> = pods
            .iter()
            .filter_map(|p| p.metadata.name.as_deref())
            .collect();
        assert_eq!(
            names,
            [
                "ready-first",
                "ready-later",
                "running-not-ready",
                "pending",
                "unscheduled"
            ]
        );
    }

    #[test]
    fn errors_read_as_istioctl_prints_them() {
        assert_eq!(
            PodRefError::Pod("pods \"x\" not found".into()).to_string(),
            "unable to retrieve Pod: pods \"x\" not found"
        );
        assert_eq!(
            PodRefError::Retrieve {
                message: "deployments.apps \"x\" not found".into(),
                namespace: "default".into()
            }
            .to_string(),
            "failed retrieving: deployments.apps \"x\" not found in the \"default\" namespace"
        );
        assert_eq!(
            PodRefError::NoPods("deployment/x".into()).to_string(),
            "\"deployment/x\" does not refer to a pod"
        );
    }
}
