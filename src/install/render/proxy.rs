//! The proxy container Ferry runs, as a gateway (`ferryctl proxy router`) or as the injected
//! sidecar (`ferryctl proxy sidecar`): arguments, the metadata environment Istio passes to its
//! proxies, readiness, resources and security settings.

use serde_json::{Value, json};

use super::k8s::{env_field, env_value};
use super::names::{PROXY_PROMETHEUS_PORT, PROXY_STATUS_PORT};
use super::{Ctx, RenderError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Sidecar,
    Router,
}

/// Where the proxy's ServiceAccount token for the CA is projected (Istio's `istio-token`).
const ISTIO_TOKEN_DIR: &str = "/var/run/secrets/tokens";
const ISTIO_TOKEN: &str = "istio-token";

/// Istio's `istio-token` volume: the pod's ServiceAccount token for audience `istio-ca`, which
/// the kubelet renews; the proxy presents it to the CA, which checks it with a TokenReview.
pub(super) fn istio_token_volume() -> Value {
    json!({
        "name": ISTIO_TOKEN,
        "projected": {"sources": [{"serviceAccountToken": {
            "audience": "istio-ca",
            "expirationSeconds": 43200,
            "path": ISTIO_TOKEN,
        }}]},
    })
}

/// Where the proxy container mounts [`istio_token_volume`].
pub(super) fn istio_token_mount() -> Value {
    json!({"mountPath": ISTIO_TOKEN_DIR, "name": ISTIO_TOKEN})
}

/// `["proxy", "router"|"sidecar", "--discovery-address", …, "--domain", …, "--token-file", …]`.
pub(super) fn args(ctx: &Ctx, role: Role) -> Vec<Value> {
    let mut args: Vec<Value> = vec![
        "proxy".into(),
        match role {
            Role::Sidecar => "sidecar",
            Role::Router => "router",
        }
        .into(),
        "--discovery-address".into(),
        ctx.xds_address().into(),
        "--domain".into(),
        format!("$(POD_NAMESPACE).svc.{}", ctx.cluster_domain()).into(),
        // What `readiness_probe` asks: without it nothing answers on 15021 and the pod never
        // becomes Ready on a real kubelet (kwok reports pods ready regardless).
        format!("--readiness-port={PROXY_STATUS_PORT}").into(),
        "--token-file".into(),
        format!("{ISTIO_TOKEN_DIR}/{ISTIO_TOKEN}").into(),
    ];
    if let Some(level) = ctx.proxy.log_level.as_deref().filter(|l| !l.is_empty()) {
        args.push(format!("--proxyLogLevel={level}").into());
    }
    args
}

/// The pod's identity from the downward API.
pub(super) fn pod_env() -> Vec<Value> {
    vec![
        env_field("POD_NAME", "metadata.name"),
        env_field("POD_NAMESPACE", "metadata.namespace"),
        env_field("INSTANCE_IP", "status.podIP"),
        env_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
    ]
}

/// The node metadata Istio gives its proxies: cluster, network, mesh, then
/// `meshConfig.defaultConfig.proxyMetadata` (sorted by name, as Helm ranges over maps).
pub(super) fn metadata_env(ctx: &Ctx) -> Vec<Value> {
    let mut env = vec![env_value("ISTIO_META_CLUSTER_ID", ctx.cluster_id())];
    if let Some(n) = ctx.global.network.as_deref().filter(|n| !n.is_empty()) {
        env.push(env_value("ISTIO_META_NETWORK", n));
    }
    let mesh_id = ctx
        .global
        .mesh_id
        .as_deref()
        .filter(|m| !m.is_empty())
        .or_else(|| ctx.mesh_config("trustDomain").and_then(Value::as_str));
    if let Some(m) = mesh_id {
        env.push(env_value("ISTIO_META_MESH_ID", m));
    }
    let proxy_metadata = ctx
        .mesh_config("defaultConfig")
        .and_then(|d| d.get("proxyMetadata"))
        .and_then(Value::as_object);
    if let Some(md) = proxy_metadata {
        let mut entries: Vec<_> = md.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in entries {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            env.push(env_value(k, &v));
        }
    }
    env
}

/// `/healthz/ready` on the status port, as Istio's proxies.
pub(super) fn readiness_probe() -> Value {
    json!({
        "failureThreshold": 30,
        "httpGet": {"path": "/healthz/ready", "port": PROXY_STATUS_PORT, "scheme": "HTTP"},
        "initialDelaySeconds": 1,
        "periodSeconds": 2,
        "successThreshold": 1,
        "timeoutSeconds": 1,
    })
}

/// Unprivileged, read-only, no capabilities.
pub(super) fn security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "privileged": false,
        "readOnlyRootFilesystem": true,
    })
}

/// Istio's proxy resources: requests 100m/128Mi, limits 2000m/1024Mi.
pub(super) fn default_resources() -> Value {
    json!({
        "limits": {"cpu": "2000m", "memory": "1024Mi"},
        "requests": {"cpu": "100m", "memory": "128Mi"},
    })
}

/// The Prometheus port every proxy exposes.
pub(super) fn prometheus_port() -> Value {
    json!({"containerPort": PROXY_PROMETHEUS_PORT, "name": "http-envoy-prom", "protocol": "TCP"})
}

/// The container the injector adds to a pod: `istio-proxy` running `ferryctl proxy sidecar`.
pub(super) fn sidecar_container(ctx: &Ctx) -> Result<Value, RenderError> {
    let mut env = pod_env();
    env.extend(metadata_env(ctx));
    let mut c = serde_json::Map::new();
    c.insert("name".into(), "istio-proxy".into());
    c.insert("image".into(), ctx.image(None, None).into());
    if let Some(p) = ctx.image_pull_policy(None) {
        c.insert("imagePullPolicy".into(), p.into());
    }
    c.insert("args".into(), Value::Array(args(ctx, Role::Sidecar)));
    c.insert(
        "ports".into(),
        json!([
            prometheus_port(),
            {"containerPort": PROXY_STATUS_PORT, "name": "status-port", "protocol": "TCP"},
        ]),
    );
    c.insert("env".into(), Value::Array(env));
    c.insert("readinessProbe".into(), readiness_probe());
    c.insert(
        "resources".into(),
        super::k8s::resources(
            None,
            ctx.proxy.resources.as_ref(),
            default_resources(),
            "values.global.proxy.resources",
        )?,
    );
    let mut security = security_context();
    if let Value::Object(m) = &mut security {
        m.insert("runAsGroup".into(), 1337.into());
        m.insert("runAsNonRoot".into(), true.into());
        m.insert("runAsUser".into(), 1337.into());
    }
    c.insert("securityContext".into(), security);
    c.insert("volumeMounts".into(), json!([istio_token_mount()]));
    Ok(Value::Object(c))
}
