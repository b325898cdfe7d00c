//! Replicas, HorizontalPodAutoscalers (autoscaling/v2) and PodDisruptionBudgets (policy/v1) of
//! the control plane and the gateways.
//!
//! Istio's rules: the HPA scales CPU at 80% between 1 and 5 replicas unless the chart values
//! (`values.pilot.autoscale*`, `values.gateways.<chart>.autoscale*`) or `k8s.hpaSpec` say
//! otherwise; `autoscaleEnabled: false` drops the HPA; a PDB keeps one pod available while
//! `values.global.defaultPodDisruptionBudget` is on. `k8s.replicaCount` always sets
//! `spec.replicas` (Istio applies `k8s` as an overlay on the rendered Deployment); the values'
//! `replicaCount` only while autoscaling is off. Two deliberate differences: an explicit
//! `k8s.hpaSpec` renders an HPA even with `autoscaleEnabled: false` (Istio would patch an object
//! it did not render, silently doing nothing); and without an explicit `hpaSpec.minReplicas`, the
//! HPA's minimum is raised to `k8s.replicaCount`, so asking for 3 replicas for availability is
//! not undone by the autoscaler scaling down to 1.

use serde_json::{Map, Value, json};

use super::istiod::istiod_service_selector;
use super::{Component, Ctx, RenderError, metadata, object, to_json};
use crate::install::iop::{GatewayValues, HpaSpec, K8s};

/// What a component's HPA is when `k8s.hpaSpec` does not say.
pub(super) struct HpaDefaults {
    pub(super) min: i32,
    pub(super) max: i32,
    pub(super) cpu: i32,
}

impl HpaDefaults {
    pub(super) const ISTIO: HpaDefaults = HpaDefaults {
        min: 1,
        max: 5,
        cpu: 80,
    };
}

fn pilot_autoscale(ctx: &Ctx) -> bool {
    ctx.pilot_values.autoscale_enabled.unwrap_or(true)
        || ctx.pilot_k8s().and_then(|k| k.hpa_spec.as_ref()).is_some()
}

/// `spec.replicas` of the control plane: `k8s.replicaCount`; else, without autoscaling,
/// `values.pilot.replicaCount` or 1; else left to the HPA.
pub(super) fn istiod_replicas(ctx: &Ctx) -> Option<i32> {
    if let Some(r) = ctx.pilot_k8s().and_then(|k| k.replica_count) {
        return Some(r);
    }
    if pilot_autoscale(ctx) {
        None
    } else {
        Some(ctx.pilot_values.replica_count.unwrap_or(1))
    }
}

pub(super) fn istiod_hpa(ctx: &Ctx) -> Result<Option<Value>, RenderError> {
    if !pilot_autoscale(ctx) {
        return Ok(None);
    }
    let p = &ctx.pilot_values;
    let defaults = HpaDefaults {
        min: p.autoscale_min.unwrap_or(HpaDefaults::ISTIO.min),
        max: p.autoscale_max.unwrap_or(HpaDefaults::ISTIO.max),
        cpu: p
            .cpu
            .as_ref()
            .and_then(|c| c.target_average_utilization)
            .unwrap_or(HpaDefaults::ISTIO.cpu),
    };
    let name = ctx.istiod_name();
    hpa(
        &name,
        &ctx.pilot_namespace,
        ctx.labels(Component::Pilot, "istiod"),
        &defaults,
        ctx.pilot_k8s(),
        "components.pilot.k8s.hpaSpec",
    )
    .map(Some)
}

pub(super) fn istiod_pdb(ctx: &Ctx) -> Option<Value> {
    let mut labels = ctx.labels(Component::Pilot, "istiod");
    labels.insert("istio".into(), "pilot".into());
    pdb(
        ctx,
        &ctx.istiod_name(),
        &ctx.pilot_namespace,
        labels,
        istiod_service_selector(ctx),
        ctx.pilot_k8s(),
    )
}

/// Whether a gateway has an HPA: its chart's `autoscaleEnabled` (default true), or an explicit
/// `k8s.hpaSpec`.
pub(super) fn gateway_autoscale(values: &GatewayValues, k8s: Option<&K8s>) -> bool {
    values.autoscale_enabled.unwrap_or(true) || k8s.and_then(|k| k.hpa_spec.as_ref()).is_some()
}

/// `spec.replicas` of a gateway: `k8s.replicaCount`; else, without autoscaling, the chart's
/// `replicaCount`; else unset (Kubernetes' default of 1, or the HPA's choice), as Istio's chart.
pub(super) fn gateway_replicas(values: &GatewayValues, k8s: Option<&K8s>) -> Option<i32> {
    k8s.and_then(|k| k.replica_count).or_else(|| {
        if gateway_autoscale(values, k8s) {
            None
        } else {
            values.replica_count
        }
    })
}

/// A gateway chart's HPA settings, Istio's defaults where unset.
pub(super) fn gateway_hpa_defaults(values: &GatewayValues) -> HpaDefaults {
    HpaDefaults {
        min: values.autoscale_min.unwrap_or(HpaDefaults::ISTIO.min),
        max: values.autoscale_max.unwrap_or(HpaDefaults::ISTIO.max),
        cpu: values
            .cpu
            .as_ref()
            .and_then(|c| c.target_average_utilization)
            .unwrap_or(HpaDefaults::ISTIO.cpu),
    }
}

/// An autoscaling/v2 HPA for the Deployment `name`, with `k8s.hpaSpec` over `defaults`.
pub(super) fn hpa(
    name: &str,
    namespace: &str,
    labels: Map<String, Value>,
    defaults: &HpaDefaults,
    k8s: Option<&K8s>,
    path: &str,
) -> Result<Value, RenderError> {
    let user = k8s.and_then(|k| k.hpa_spec.as_ref());
    let replica_count = k8s.and_then(|k| k.replica_count);
    let min = user
        .and_then(|h| h.min_replicas)
        .unwrap_or_else(|| defaults.min.max(replica_count.unwrap_or(defaults.min)));
    let max = user
        .and_then(|h| h.max_replicas)
        .unwrap_or_else(|| defaults.max.max(min));
    let problem = if max < 1 {
        Some(format!("maxReplicas {max} must be at least 1"))
    } else if min < 1 || min > max {
        Some(format!(
            "minReplicas {min} must be at least 1 and at most maxReplicas {max}"
        ))
    } else {
        None
    };
    if let Some(message) = problem {
        return Err(RenderError::InvalidValue {
            path: path.to_string(),
            message,
        });
    }
    let metrics = match user.filter(|h| !h.metrics.is_empty()) {
        Some(h) => metrics(h, path)?,
        None => vec![cpu_metric(defaults.cpu)],
    };
    let mut spec = Map::new();
    spec.insert("maxReplicas".into(), max.into());
    spec.insert("minReplicas".into(), min.into());
    spec.insert(
        "scaleTargetRef".into(),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name}),
    );
    spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(b) = user.and_then(|h| h.behavior.clone()) {
        spec.insert("behavior".into(), b);
    }
    let mut o = object(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        metadata(name, Some(namespace), labels),
    );
    o.insert("spec".into(), Value::Object(spec));
    Ok(Value::Object(o))
}

fn cpu_metric(utilization: i32) -> Value {
    json!({
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": utilization},
        },
    })
}

/// `hpaSpec.metrics` in autoscaling/v2 form; the v2beta1 `targetAverageUtilization` becomes
/// `target: {type: Utilization, averageUtilization: N}`.
fn metrics(spec: &HpaSpec, path: &str) -> Result<Vec<Value>, RenderError> {
    spec.metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let here = format!("{path}.metrics[{i}]");
            if m.type_ != "Resource" {
                return Err(RenderError::InvalidValue {
                    path: format!("{here}.type"),
                    message: format!("only Resource metrics are supported, got {:?}", m.type_),
                });
            }
            let Some(r) = &m.resource else {
                return Err(RenderError::InvalidValue {
                    path: here,
                    message: "a Resource metric needs `resource`".into(),
                });
            };
            let target = match (&r.target, r.target_average_utilization) {
                (Some(t), _) => t.clone(),
                (None, Some(u)) => json!({"type": "Utilization", "averageUtilization": u}),
                (None, None) => {
                    return Err(RenderError::InvalidValue {
                        path: format!("{here}.resource"),
                        message: "set `target` (or the older `targetAverageUtilization`)".into(),
                    });
                }
            };
            Ok(json!({
                "type": "Resource",
                "resource": {"name": r.name, "target": target},
            }))
        })
        .collect()
}

/// A policy/v1 PDB: `k8s.podDisruptionBudget` if given (its selector defaulted), else
/// `minAvailable: 1` while `values.global.defaultPodDisruptionBudget.enabled`.
pub(super) fn pdb(
    ctx: &Ctx,
    name: &str,
    namespace: &str,
    labels: Map<String, Value>,
    selector: Map<String, Value>,
    k8s: Option<&K8s>,
) -> Option<Value> {
    let user = k8s.and_then(|k| k.pod_disruption_budget.as_ref());
    let spec = match user {
        Some(spec) => {
            let mut s = match to_json(spec) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if !s.contains_key("selector") {
                s.insert("selector".into(), json!({"matchLabels": selector}));
            }
            s
        }
        None if ctx.default_pdb() => {
            let mut s = Map::new();
            s.insert("minAvailable".into(), 1.into());
            s.insert("selector".into(), json!({"matchLabels": selector}));
            s
        }
        None => return None,
    };
    let mut o = object(
        "policy/v1",
        "PodDisruptionBudget",
        metadata(name, Some(namespace), labels),
    );
    o.insert("spec".into(), Value::Object(spec));
    Some(Value::Object(o))
}
