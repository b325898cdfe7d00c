//! A component's `k8s` block applied to the objects rendered for it: pod scheduling, extra
//! environment, annotations, resources and the Service overlay. Control plane and gateways share
//! these rules, so they live in one place.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements};
use serde_json::{Map, Value, json};

use super::{RenderError, insert_some, to_json};
use crate::install::iop::K8s;
use crate::install::kube;

/// `nodeSelector`, `affinity`, `tolerations` and `priorityClassName` of a pod spec.
/// `node_selector` is the component's default (e.g. `values.pilot.nodeSelector`), which
/// `k8s.nodeSelector` replaces.
pub(crate) fn add_scheduling(
    pod: &mut Map<String, Value>,
    k8s: Option<&K8s>,
    node_selector: Option<&BTreeMap<String, String>>,
) {
    let node_selector = k8s.and_then(|k| k.node_selector.as_ref()).or(node_selector);
    insert_some(pod, "nodeSelector", node_selector.map(to_json));
    insert_some(
        pod,
        "affinity",
        k8s.and_then(|k| k.affinity.as_ref()).map(to_json),
    );
    insert_some(
        pod,
        "tolerations",
        k8s.and_then(|k| k.tolerations.as_ref()).map(to_json),
    );
    if let Some(p) = k8s
        .and_then(|k| k.priority_class_name.as_deref())
        .filter(|p| !p.is_empty())
    {
        pod.insert("priorityClassName".into(), p.into());
    }
}

/// `k8s.env` over the rendered environment: a variable of the same name is replaced in place,
/// others are appended in the order given.
pub(crate) fn apply_env(env: &mut Vec<Value>, k8s: Option<&K8s>) {
    for var in k8s.and_then(|k| k.env.as_deref()).unwrap_or_default() {
        set_env(env, var);
    }
}

fn set_env(env: &mut Vec<Value>, var: &EnvVar) {
    let value = to_json(var);
    match env
        .iter_mut()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(var.name.as_str()))
    {
        Some(slot) => *slot = value,
        None => env.push(value),
    }
}

/// `{name, value}`.
pub(crate) fn env_value(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// `{name, valueFrom: {fieldRef: {apiVersion: v1, fieldPath}}}` (downward API).
pub(crate) fn env_field(name: &str, field_path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": field_path}}})
}

/// Pod annotations: `defaults`, then the component default (`values.pilot.podAnnotations`), then
/// `k8s.podAnnotations`; later keys win.
pub(crate) fn pod_annotations(
    defaults: Map<String, Value>,
    component_default: Option<&BTreeMap<String, String>>,
    k8s: Option<&K8s>,
) -> Map<String, Value> {
    let mut m = defaults;
    for extra in [
        component_default,
        k8s.and_then(|k| k.pod_annotations.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        for (k, v) in extra {
            m.insert(k.clone(), Value::String(v.clone()));
        }
    }
    m
}

/// The chart's `fallback`, the component's values (e.g. `values.pilot.resources`) merged over it
/// as Helm coalesces values, then `k8s.resources` merged over that as Istio's postprocessing
/// does (a strategic merge patch on the container). Both merges go key by key within `requests`
/// and `limits`, so `k8s.resources.requests.cpu` alone keeps the rendered memory request and
/// the limits.
///
/// A request above its limit is an error naming `path` (what the user set), since Kubernetes
/// refuses such a container.
pub(crate) fn resources(
    k8s: Option<&K8s>,
    component_default: Option<&ResourceRequirements>,
    fallback: Value,
    path: &str,
) -> Result<Value, RenderError> {
    let mut out = fallback;
    for over in [component_default, k8s.and_then(|k| k.resources.as_ref())]
        .into_iter()
        .flatten()
    {
        merge(&mut out, to_json(over));
    }
    let quantity = |v: &Value| v.as_str().and_then(kube::parse_quantity);
    if let (Some(Value::Object(requests)), Some(Value::Object(limits))) =
        (out.get("requests"), out.get("limits"))
    {
        for (name, request) in requests {
            if let (Some(req), Some(limit)) = (quantity(request), limits.get(name))
                && let Some(lim) = quantity(limit)
                && req > lim
            {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                return Err(RenderError::InvalidValue {
                    path: path.to_string(),
                    message: format!(
                        "requests.{name} {} is more than limits.{name} {}, which Kubernetes \
                         refuses (what is not set keeps its default: set both)",
                        text(request),
                        text(limit)
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// `over` merged into `base`: mappings key by key, anything else replaced. Nulls in `over`
/// mean "not set" (as everywhere in an IstioOperator) and change nothing.
pub(crate) fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (_, Value::Null) => {}
        (Value::Object(b), Value::Object(o)) => {
            for (key, value) in o {
                match b.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None if value.is_null() => {}
                    None => {
                        b.insert(key, value);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// `k8s.service` over a rendered Service spec, as Istio's postprocessing applies it (a strategic
/// merge patch): `ports` merge by `port` number (a port with a rendered number updates that
/// port, field by field; other numbers are appended in the order given); every other field the
/// user sets replaces the rendered one (a user who changes the `selector` means it).
pub(crate) fn overlay_service(spec: &mut Map<String, Value>, k8s: Option<&K8s>) {
    let Some(Value::Object(user)) = k8s.and_then(|k| k.service.as_ref()).map(to_json) else {
        return;
    };
    for (key, value) in user {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("ports", Value::Array(ports)) => {
                let rendered = spec
                    .entry("ports")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(rendered) = rendered {
                    merge_ports(rendered, ports);
                }
            }
            (_, value) => {
                spec.insert(key, value);
            }
        }
    }
}

/// Service ports by their merge key, `port`.
fn merge_ports(rendered: &mut Vec<Value>, user: Vec<Value>) {
    for port in user {
        let number = port.get("port").and_then(Value::as_i64);
        match rendered
            .iter_mut()
            .find(|p| number.is_some() && p.get("port").and_then(Value::as_i64) == number)
        {
            Some(slot) => merge(slot, port),
            None => rendered.push(port),
        }
    }
}

/// `k8s.serviceAnnotations` as the Service's `metadata.annotations`.
pub(crate) fn service_annotations(metadata: &mut Map<String, Value>, k8s: Option<&K8s>) {
    insert_some(
        metadata,
        "annotations",
        k8s.and_then(|k| k.service_annotations.as_ref())
            .map(to_json),
    );
}
