//! The control plane's configuration as ConfigMaps: the mesh config (`istio[-<rev>]`, read by the
//! control plane, the proxies and `istioctl`-style tools) and the injector config
//! (`istio-sidecar-injector[-<rev>]`: what `ferryctl discovery` adds to pods).

use serde_json::{Map, Value, json};

use super::{Component, Ctx, RenderError, metadata, object, proxy};
use crate::config::emit;

/// Istio's mesh defaults under the user's `meshConfig`, keys sorted as Helm's `toYaml` writes
/// them: `defaultConfig.discoveryAddress` of this revision, `defaultProviders` (Prometheus metrics
/// while telemetry is on), `rootNamespace` and `trustDomain`.
pub(super) fn mesh_config(ctx: &Ctx) -> Value {
    let mut default_config = Map::new();
    default_config.insert(
        "discoveryAddress".into(),
        ctx.mesh_discovery_address().into(),
    );
    if let Some(id) = ctx.global.mesh_id.as_deref().filter(|m| !m.is_empty()) {
        default_config.insert("meshId".into(), id.into());
    }
    let mut mesh = Map::new();
    mesh.insert("defaultConfig".into(), Value::Object(default_config));
    let telemetry = ctx
        .values()
        .telemetry
        .as_ref()
        .and_then(|t| t.enabled)
        .unwrap_or(true);
    if telemetry && ctx.mesh_config("defaultProviders").is_none() {
        mesh.insert(
            "defaultProviders".into(),
            json!({"metrics": ["prometheus"]}),
        );
    }
    mesh.insert("rootNamespace".into(), ctx.istio_namespace.as_str().into());
    mesh.insert("trustDomain".into(), "cluster.local".into());
    let mut mesh = Value::Object(mesh);
    if let Some(user) = &ctx.iop.spec.mesh_config {
        merge(&mut mesh, &Value::Object(user.clone()));
    }
    sort_keys(&mut mesh);
    mesh
}

/// `over` merged into `base`: mappings recursively, anything else replaced.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut v) in entries {
                sort_keys(&mut v);
                m.insert(k, v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// YAML for a ConfigMap value: emitted without the final newline, as the chart's `|-`.
fn yaml_text(v: &Value) -> String {
    emit::to_string(v).trim_end_matches('\n').to_string()
}

fn configmap(ctx: &Ctx, name: &str, data: Map<String, Value>) -> Value {
    let labels = ctx.labels(Component::Pilot, "istiod");
    let mut cm = object(
        "v1",
        "ConfigMap",
        metadata(name, Some(&ctx.pilot_namespace), labels),
    );
    cm.insert("data".into(), Value::Object(data));
    Value::Object(cm)
}

/// `istio[-<rev>]`: `mesh` (the mesh config) and `meshNetworks`.
pub(super) fn mesh(ctx: &Ctx) -> Value {
    let mut data = Map::new();
    data.insert("mesh".into(), yaml_text(&mesh_config(ctx)).into());
    data.insert("meshNetworks".into(), "networks: {}".into());
    configmap(ctx, &ctx.mesh_configmap_name(), data)
}

/// `istio-sidecar-injector[-<rev>]`: `config` says what is injected and when (the proxy
/// container as a Kubernetes Container, the policy, selectors and annotations) and `values` the
/// install values the injector reads, as Istio's JSON.
pub(super) fn injector(ctx: &Ctx) -> Result<Value, RenderError> {
    let webhook = ctx
        .values()
        .sidecar_injector_webhook
        .clone()
        .unwrap_or_default();
    let mut sidecar = Map::new();
    sidecar.insert("container".into(), proxy::sidecar_container(ctx)?);
    sidecar.insert("volumes".into(), json!([proxy::istio_token_volume()]));
    sidecar.insert(
        "rewriteAppHTTPProbe".into(),
        webhook.rewrite_app_http_probe.unwrap_or(true).into(),
    );
    let mut config = Map::new();
    config.insert("policy".into(), "enabled".into());
    config.insert("alwaysInjectSelector".into(), json!([]));
    config.insert("neverInjectSelector".into(), json!([]));
    config.insert(
        "injectedAnnotations".into(),
        super::to_json(&webhook.injected_annotations),
    );
    config.insert("defaultTemplates".into(), json!(["sidecar"]));
    config.insert("sidecar".into(), Value::Object(sidecar));

    let mut values = Map::new();
    // The namespace as resolved, so the injector and the rendered objects agree.
    let mut global = ctx.global.clone();
    global.istio_namespace = Some(ctx.istio_namespace.clone());
    values.insert("global".into(), super::to_json(&global));
    values.insert(
        "revision".into(),
        ctx.revision.as_deref().unwrap_or("").into(),
    );
    values.insert("sidecarInjectorWebhook".into(), super::to_json(&webhook));
    let values_json = serde_json::to_string_pretty(&Value::Object(values)).unwrap_or_default();

    let mut data = Map::new();
    data.insert("config".into(), yaml_text(&Value::Object(config)).into());
    data.insert("values".into(), values_json.into());
    Ok(configmap(ctx, &ctx.injector_configmap_name(), data))
}
