//! The control plane (`istiod` / `istiod-<rev>`): its ServiceAccount and least-privilege RBAC,
//! the Deployment running `ferryctl discovery`, and its Service. For a remote install (the
//! control plane runs in another cluster) only what this cluster needs to reach it is rendered.

use serde_json::{Map, Value, json};

use super::k8s::{
    add_scheduling, apply_env, env_field, env_value, overlay_service, pod_annotations, resources,
    service_annotations,
};
use super::names::{
    DEBUG_PORT, INJECT_LABEL, MONITORING_PORT, WEBHOOK_PORT, XDS_PORT, XDS_TLS_PORT,
};
use super::{
    Component, Ctx, RenderError, configmaps, insert_some, metadata, object, scaling, string_map,
    webhooks,
};

/// The Istio configuration kinds the control plane (and the reader) watch, by API group. Listed
/// rather than `*` so a new CRD in these groups is not readable until we decide it should be.
pub(super) const ISTIO_CONFIG: &[(&str, &[&str])] = &[
    (
        "networking.istio.io",
        &[
            "destinationrules",
            "envoyfilters",
            "gateways",
            "proxyconfigs",
            "serviceentries",
            "sidecars",
            "virtualservices",
            "workloadentries",
            "workloadgroups",
        ],
    ),
    (
        "security.istio.io",
        &[
            "authorizationpolicies",
            "peerauthentications",
            "requestauthentications",
        ],
    ),
    ("telemetry.istio.io", &["telemetries"]),
    ("extensions.istio.io", &["wasmplugins"]),
];

/// One RBAC policy rule.
pub(crate) fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

/// One RBAC policy rule limited to named objects.
pub(super) fn named_rule(group: &str, resource: &str, names: &[String], verbs: &[&str]) -> Value {
    json!({"apiGroups": [group], "resources": [resource], "resourceNames": names, "verbs": verbs})
}

/// `get`, `list`, `watch` on each Istio configuration group.
pub(crate) fn istio_config_rules() -> Vec<Value> {
    ISTIO_CONFIG
        .iter()
        .map(|(group, resources)| rule(&[group], resources, &["get", "list", "watch"]))
        .collect()
}

/// Reading and patching the webhook configurations this install renders (the control plane
/// writes its CA bundle into them, and flips validation to `Fail` once it serves).
pub(super) fn webhook_patch_rules(ctx: &Ctx) -> Vec<Value> {
    let verbs = &["get", "list", "watch", "patch"];
    let mut validators = vec![ctx.validator_webhook_name()];
    if webhooks::default_validator_target(ctx).is_some() {
        validators.push(webhooks::DEFAULT_VALIDATOR.to_string());
    }
    vec![
        named_rule(
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            &[ctx.injector_webhook_name()],
            verbs,
        ),
        named_rule(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            &validators,
            verbs,
        ),
    ]
}

/// Every Pilot object, in apply order.
pub(super) fn render(ctx: &Ctx) -> Result<Vec<Value>, RenderError> {
    let mut out = Vec::new();
    if !ctx.remote {
        out.push(service_account(ctx));
        out.extend(rbac(ctx));
        out.push(configmaps::mesh(ctx));
    }
    if !ctx.global.omit_sidecar_injector_config_map.unwrap_or(false) {
        out.push(configmaps::injector(ctx)?);
    }
    if ctx.remote {
        out.extend(remote_service(ctx));
    } else {
        out.push(deployment(ctx)?);
        out.push(service(ctx));
        if let Some(hpa) = scaling::istiod_hpa(ctx)? {
            out.push(hpa);
        }
        if let Some(pdb) = scaling::istiod_pdb(ctx) {
            out.push(pdb);
        }
    }
    out.push(webhooks::injector(ctx));
    if ctx.config_validation() {
        out.push(webhooks::revision_validator(ctx));
    }
    if !ctx.remote {
        out.extend(webhooks::stable_policy(ctx, false));
    }
    Ok(out)
}

fn labels(ctx: &Ctx) -> Map<String, Value> {
    ctx.labels(Component::Pilot, "istiod")
}

fn service_account(ctx: &Ctx) -> Value {
    Value::Object(object(
        "v1",
        "ServiceAccount",
        metadata(&ctx.istiod_name(), Some(&ctx.pilot_namespace), labels(ctx)),
    ))
}

/// Least privilege for a control plane that serves xDS, signs workload certificates and answers
/// the injection and validation webhooks. No wildcards; no certificatesigningrequests (the
/// control plane is its own CA); secrets only in its own namespace (CA key, `cacerts`, remote
/// cluster secrets) and, through each gateway's `<gateway>-sds` RoleBinding, where a gateway runs.
fn rbac(ctx: &Ctx) -> Vec<Value> {
    let name = ctx.istiod_name();
    let ns = ctx.pilot_namespace.as_str();
    let cluster_role = ctx.cluster_scoped("istiod-clusterrole");
    let mut rules = istio_config_rules();
    rules.extend([
        // The service registry: workloads, services and their endpoints, and where they run.
        rule(
            &[""],
            &["pods", "nodes", "services", "namespaces"],
            &["get", "list", "watch"],
        ),
        rule(
            &["discovery.k8s.io"],
            &["endpointslices"],
            &["get", "list", "watch"],
        ),
        // Mesh and injector configuration, and the CA root certificate published to every
        // namespace as the `istio-ca-root-cert` ConfigMap.
        rule(
            &[""],
            &["configmaps"],
            &["get", "list", "watch", "create", "update"],
        ),
        // Which optional APIs (e.g. Gateway API) are installed.
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            &["get", "list", "watch"],
        ),
    ]);
    rules.extend(webhook_patch_rules(ctx));
    rules.extend([
        // Workload identity: proxies authenticate certificate requests with their token.
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        // Gateway credentials: may this gateway read the secrets it asks for?
        rule(
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &["create"],
        ),
    ]);
    let subjects = json!([{"kind": "ServiceAccount", "name": name, "namespace": ns}]);
    let mut cr = object(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        metadata(&cluster_role, None, labels(ctx)),
    );
    cr.insert("rules".into(), Value::Array(rules));
    let mut crb = object(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        metadata(&cluster_role, None, labels(ctx)),
    );
    crb.insert(
        "roleRef".into(),
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role}),
    );
    crb.insert("subjects".into(), subjects.clone());

    let mut role = object(
        "rbac.authorization.k8s.io/v1",
        "Role",
        metadata(&name, Some(ns), labels(ctx)),
    );
    role.insert(
        "rules".into(),
        json!([
            // The CA key pair (`istio-ca-secret`), a plugged-in CA (`cacerts`) and remote
            // cluster secrets.
            rule(
                &[""],
                &["secrets"],
                &["get", "list", "watch", "create", "update"]
            ),
            // Leader election among replicas for the cluster-wide writes.
            rule(
                &["coordination.k8s.io"],
                &["leases"],
                &["get", "create", "update"]
            ),
        ]),
    );
    let mut rb = object(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        metadata(&name, Some(ns), labels(ctx)),
    );
    rb.insert(
        "roleRef".into(),
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}),
    );
    rb.insert("subjects".into(), subjects);
    vec![
        Value::Object(cr),
        Value::Object(crb),
        Value::Object(role),
        Value::Object(rb),
    ]
}

/// The arguments of `ferryctl discovery`, spelled as istiod's.
fn args(ctx: &Ctx) -> Vec<Value> {
    let mut args: Vec<Value> = vec![
        "discovery".into(),
        format!("--monitoringAddr=:{MONITORING_PORT}").into(),
    ];
    let level = ctx
        .global
        .logging
        .as_ref()
        .and_then(|l| l.level.as_deref())
        .filter(|l| !l.is_empty())
        .unwrap_or("default:info");
    args.push(format!("--log_output_level={level}").into());
    args.extend([
        "--domain".into(),
        ctx.cluster_domain().into(),
        "--keepaliveMaxServerConnectionAge".into(),
        "30m".into(),
    ]);
    args
}

fn env(ctx: &Ctx) -> Vec<Value> {
    let mut env = vec![
        env_value("REVISION", ctx.rev_label()),
        env_field("POD_NAME", "metadata.name"),
        env_field("POD_NAMESPACE", "metadata.namespace"),
        env_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        env_value("CLUSTER_ID", ctx.cluster_id()),
    ];
    if let Some(s) = ctx.pilot_values.trace_sampling {
        // Go's %v of a float64, as the chart writes it: 100 → "100", 0.5 → "0.5".
        env.push(env_value("PILOT_TRACE_SAMPLING", &format!("{s}")));
    }
    for (k, v) in &ctx.pilot_values.env {
        env.push(env_value(k, v));
    }
    apply_env(&mut env, ctx.pilot_k8s());
    env
}

fn container_port(port: u16, name: &str) -> Value {
    json!({"name": name, "containerPort": port, "protocol": "TCP"})
}

fn deployment(ctx: &Ctx) -> Result<Value, RenderError> {
    let k8s = ctx.pilot_k8s();
    let pilot = &ctx.iop.spec.components.pilot;
    let name = ctx.istiod_name();

    let mut meta_labels = labels(ctx);
    meta_labels.insert("istio".into(), "pilot".into());

    let mut pod_labels = string_map([("app", "istiod")]);
    ctx.add_standard_labels(&mut pod_labels, Component::Pilot);
    pod_labels.insert(INJECT_LABEL.into(), "false".into());
    pod_labels.insert("istio".into(), ctx.istiod_istio_label().into());
    for (k, v) in &pilot.label {
        pod_labels.insert(k.clone(), Value::String(v.clone()));
    }

    let mut defaults = Map::new();
    if ctx.prometheus_merge() {
        defaults.insert(
            "prometheus.io/port".into(),
            MONITORING_PORT.to_string().into(),
        );
        defaults.insert("prometheus.io/scrape".into(), "true".into());
    }
    defaults.insert(INJECT_LABEL.into(), "false".into());
    let annotations = pod_annotations(defaults, ctx.pilot_values.pod_annotations.as_ref(), k8s);

    let mut container = Map::new();
    container.insert("name".into(), "discovery".into());
    container.insert(
        "image".into(),
        ctx.image(pilot.hub.as_deref(), pilot.tag.as_deref()).into(),
    );
    if let Some(p) = ctx.image_pull_policy(k8s) {
        container.insert("imagePullPolicy".into(), p.into());
    }
    container.insert("args".into(), Value::Array(args(ctx)));
    container.insert(
        "ports".into(),
        json!([
            container_port(DEBUG_PORT, "http-debug"),
            container_port(XDS_PORT, "grpc-xds"),
            container_port(XDS_TLS_PORT, "tls-xds"),
            container_port(WEBHOOK_PORT, "https-webhooks"),
            container_port(MONITORING_PORT, "http-monitoring"),
        ]),
    );
    container.insert(
        "readinessProbe".into(),
        json!({
            "httpGet": {"path": "/ready", "port": DEBUG_PORT},
            "initialDelaySeconds": 1,
            "periodSeconds": 3,
            "timeoutSeconds": 5,
        }),
    );
    container.insert("env".into(), Value::Array(env(ctx)));
    container.insert(
        "resources".into(),
        resources(
            k8s,
            ctx.pilot_values.resources.as_ref(),
            json!({"requests": {"cpu": "500m", "memory": "2048Mi"}}),
            if k8s.and_then(|k| k.resources.as_ref()).is_some() {
                "components.pilot.k8s.resources"
            } else {
                "values.pilot.resources"
            },
        )?,
    );
    container.insert(
        "securityContext".into(),
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true,
            "runAsGroup": 1337,
            "runAsNonRoot": true,
            "runAsUser": 1337,
        }),
    );
    // A plugged-in CA (Istio's `cacerts` secret), if the operator created one.
    container.insert(
        "volumeMounts".into(),
        json!([{"name": "cacerts", "mountPath": "/etc/cacerts", "readOnly": true}]),
    );

    let mut pod = Map::new();
    pod.insert("serviceAccountName".into(), name.clone().into());
    add_scheduling(&mut pod, k8s, ctx.pilot_values.node_selector.as_ref());
    pod.insert("containers".into(), json!([container]));
    pod.insert(
        "volumes".into(),
        json!([{"name": "cacerts", "secret": {"secretName": "cacerts", "optional": true}}]),
    );

    let mut template_meta = Map::new();
    template_meta.insert("labels".into(), Value::Object(pod_labels));
    insert_some(
        &mut template_meta,
        "annotations",
        Some(Value::Object(annotations)),
    );

    let mut spec = Map::new();
    if let Some(r) = scaling::istiod_replicas(ctx) {
        spec.insert("replicas".into(), r.into());
    }
    spec.insert(
        "strategy".into(),
        json!({"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}}),
    );
    spec.insert(
        "selector".into(),
        json!({"matchLabels": ctx.istiod_selector()}),
    );
    spec.insert(
        "template".into(),
        json!({"metadata": template_meta, "spec": pod}),
    );

    let mut d = object(
        "apps/v1",
        "Deployment",
        metadata(&name, Some(&ctx.pilot_namespace), meta_labels),
    );
    d.insert("spec".into(), Value::Object(spec));
    Ok(Value::Object(d))
}

fn service_port(name: &str, port: u16, target: Option<u16>) -> Value {
    let mut p = Map::new();
    p.insert("name".into(), name.into());
    p.insert("port".into(), port.into());
    p.insert("protocol".into(), "TCP".into());
    if let Some(t) = target {
        p.insert("targetPort".into(), t.into());
    }
    Value::Object(p)
}

/// `app: istiod` plus the revision's selector, as the chart's Service and PDB select.
pub(super) fn istiod_service_selector(ctx: &Ctx) -> Map<String, Value> {
    let mut s = string_map([("app", "istiod")]);
    for (k, v) in ctx.istiod_selector() {
        s.insert(k, v);
    }
    s
}

fn service(ctx: &Ctx) -> Value {
    let k8s = ctx.pilot_k8s();
    let mut labels = labels(ctx);
    labels.insert("istio".into(), "pilot".into());
    let mut meta = metadata(&ctx.istiod_name(), Some(&ctx.pilot_namespace), labels);
    service_annotations(&mut meta, k8s);
    let mut spec = Map::new();
    spec.insert(
        "ports".into(),
        json!([
            service_port("grpc-xds", XDS_PORT, None),
            service_port("https-dns", XDS_TLS_PORT, None),
            service_port("https-webhook", 443, Some(WEBHOOK_PORT)),
            service_port("http-monitoring", MONITORING_PORT, None),
        ]),
    );
    spec.insert(
        "selector".into(),
        Value::Object(istiod_service_selector(ctx)),
    );
    overlay_service(&mut spec, k8s);
    let mut s = object("v1", "Service", meta);
    s.insert("spec".into(), Value::Object(spec));
    Value::Object(s)
}

/// A remote install's way to the control plane in the other cluster: a selector-less Service
/// `istiod[-<rev>]` (so the injector webhook and proxies find it by its usual name) that is an
/// `ExternalName` for a host name, or backed by an EndpointSlice for an IP address.
fn remote_service(ctx: &Ctx) -> Vec<Value> {
    let Some(address) = ctx
        .global
        .remote_pilot_address
        .as_deref()
        .filter(|a| !a.is_empty())
    else {
        return Vec::new();
    };
    let name = ctx.istiod_name();
    let is_ip = address.parse::<std::net::IpAddr>().is_ok();
    let mut spec = Map::new();
    spec.insert(
        "ports".into(),
        json!([
            service_port("tcp-istiod", XDS_TLS_PORT, None),
            service_port("tcp-webhook", 443, Some(WEBHOOK_PORT)),
        ]),
    );
    if !is_ip {
        spec.insert("type".into(), "ExternalName".into());
        spec.insert("externalName".into(), address.into());
    }
    let mut s = object(
        "v1",
        "Service",
        metadata(&name, Some(&ctx.pilot_namespace), labels(ctx)),
    );
    s.insert("spec".into(), Value::Object(spec));
    let mut out = vec![Value::Object(s)];
    if let Ok(ip) = address.parse::<std::net::IpAddr>() {
        let mut slice_labels = labels(ctx);
        slice_labels.insert("kubernetes.io/service-name".into(), name.clone().into());
        let mut e = object(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            metadata(&name, Some(&ctx.pilot_namespace), slice_labels),
        );
        e.insert(
            "addressType".into(),
            if ip.is_ipv4() { "IPv4" } else { "IPv6" }.into(),
        );
        e.insert("endpoints".into(), json!([{"addresses": [address]}]));
        e.insert(
            "ports".into(),
            json!([
                {"name": "tcp-istiod", "port": XDS_TLS_PORT, "protocol": "TCP"},
                {"name": "tcp-webhook", "port": WEBHOOK_PORT, "protocol": "TCP"},
            ]),
        );
        out.push(Value::Object(e));
    }
    out
}
