//! Renderer tests. Profiles are decoded directly into an IstioOperator, standing in for profile
//! resolution: `default.yaml` is complete, the others are overlays rendered on their own (so
//! their unset fields take the renderer's defaults).

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::{Value, json};

use super::*;
use crate::install::iop::IstioOperator;
use crate::install::output;

const PROFILES: [(&str, &str); 7] = [
    ("default", include_str!("../../../profiles/default.yaml")),
    ("demo", include_str!("../../../profiles/demo.yaml")),
    ("minimal", include_str!("../../../profiles/minimal.yaml")),
    ("empty", include_str!("../../../profiles/empty.yaml")),
    ("remote", include_str!("../../../profiles/remote.yaml")),
    ("preview", include_str!("../../../profiles/preview.yaml")),
    ("stable", include_str!("../../../profiles/stable.yaml")),
];

fn json_of_yaml(text: &str) -> Value {
    let stream = crate::config::yaml::parse_stream(text, Default::default());
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    stream.documents[0].root.to_json()
}

fn decode(json: Value) -> IstioOperator {
    serde_path_to_error::deserialize(json).unwrap_or_else(|e| panic!("{} at {}", e, e.path()))
}

fn iop(text: &str) -> IstioOperator {
    decode(json_of_yaml(text))
}

fn profile(name: &str) -> IstioOperator {
    let (_, text) = PROFILES
        .iter()
        .find(|(n, _)| *n == name)
        .expect("known profile");
    iop(text)
}

/// The default profile with `patch` merged over it (JSON merge: objects recursively, lists and
/// scalars replaced).
fn default_with(patch: Value) -> IstioOperator {
    fn merge(base: &mut Value, over: Value) {
        match (base, over) {
            (Value::Object(b), Value::Object(o)) => {
                for (k, v) in o {
                    match b.get_mut(&k) {
                        Some(slot) => merge(slot, v),
                        None => {
                            b.insert(k, v);
                        }
                    }
                }
            }
            (b, o) => *b = o,
        }
    }
    let mut base = json_of_yaml(PROFILES[0].1);
    merge(&mut base, patch);
    decode(base)
}

fn canary() -> IstioOperator {
    default_with(json!({"spec": {"revision": "canary"}}))
}

fn rendered(iop: &IstioOperator) -> Vec<Rendered> {
    render(iop).expect("renders")
}

fn names(objects: &[Rendered]) -> Vec<String> {
    objects
        .iter()
        .map(|r| {
            let (kind, ns, name) = r.identity();
            format!("{} {kind} {ns}/{name}", r.component)
        })
        .collect()
}

fn find<'a>(objects: &'a [Rendered], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|r| r.identity().0 == kind && r.identity().2 == name)
        .map(|r| &r.object)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:#?}", names(objects)))
}

fn has(objects: &[Rendered], kind: &str) -> bool {
    objects.iter().any(|r| r.identity().0 == kind)
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Deserializes `value` into `T` (reporting the failing path) and back: a key the type does not
/// know (a typo) is dropped on the way, so the round trip differs.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(what: &str, value: &Value) {
    let typed: T = serde_path_to_error::deserialize(value.clone())
        .unwrap_or_else(|e| panic!("{what}: {e} at {}", e.path()));
    let back = serde_json::to_value(&typed).expect("serializes");
    let ours = strip_nulls(value);
    assert_eq!(
        back,
        ours,
        "{what}: the typed round trip lost or changed fields\ntyped: {}\nours:  {}",
        serde_json::to_string_pretty(&back).unwrap_or_default(),
        serde_json::to_string_pretty(&ours).unwrap_or_default()
    );
}

fn check_typed(r: &Rendered) {
    let (kind, ns, name) = r.identity();
    let what = format!("{kind} {ns}/{name}");
    let o = &r.object;
    match kind {
        "ServiceAccount" => round_trip::<ServiceAccount>(&what, o),
        "ClusterRole" => round_trip::<ClusterRole>(&what, o),
        "ClusterRoleBinding" => round_trip::<ClusterRoleBinding>(&what, o),
        "Role" => round_trip::<Role>(&what, o),
        "RoleBinding" => round_trip::<RoleBinding>(&what, o),
        "ConfigMap" => round_trip::<ConfigMap>(&what, o),
        "Deployment" => round_trip::<Deployment>(&what, o),
        "Service" => round_trip::<Service>(&what, o),
        "EndpointSlice" => round_trip::<EndpointSlice>(&what, o),
        "HorizontalPodAutoscaler" => round_trip::<HorizontalPodAutoscaler>(&what, o),
        "PodDisruptionBudget" => round_trip::<PodDisruptionBudget>(&what, o),
        "MutatingWebhookConfiguration" => round_trip::<MutatingWebhookConfiguration>(&what, o),
        "ValidatingWebhookConfiguration" => round_trip::<ValidatingWebhookConfiguration>(&what, o),
        "ValidatingAdmissionPolicy" => round_trip::<ValidatingAdmissionPolicy>(&what, o),
        "ValidatingAdmissionPolicyBinding" => {
            round_trip::<ValidatingAdmissionPolicyBinding>(&what, o)
        }
        other => panic!("{what}: no typed check for kind {other}"),
    }
    if kind == "ConfigMap"
        && let Some(config) = o.pointer("/data/config").and_then(Value::as_str)
    {
        // The injected container is a Kubernetes Container.
        let config = json_of_yaml(config);
        round_trip::<Container>(
            &format!("{what} data.config sidecar.container"),
            &config["sidecar"]["container"],
        );
    }
}

/// Every shape the renderer has: all profiles, revisions, remote variants, the seeds.
fn all_variants() -> Vec<(String, IstioOperator)> {
    let mut out: Vec<(String, IstioOperator)> = PROFILES
        .iter()
        .map(|(n, t)| (n.to_string(), iop(t)))
        .collect();
    out.push(("canary".into(), canary()));
    out.push((
        "stable canary".into(),
        default_with(json!({"spec": {"revision": "canary", "values": {"experimental": {"stableValidationPolicy": true}}}})),
    ));
    out.push((
        "remote by IP".into(),
        default_with(json!({"spec": {"values": {"istiodRemote": {"enabled": true}, "global": {"remotePilotAddress": "10.0.0.1"}}}})),
    ));
    out.push((
        "remote by host".into(),
        default_with(json!({"spec": {"values": {"istiodRemote": {"enabled": true}, "global": {"remotePilotAddress": "istiod.example.com"}}}})),
    ));
    for (name, text) in [
        (
            "ha-pilot",
            include_str!("../../../fixtures/seed/ha-pilot-operator.yaml"),
        ),
        (
            "ha-gateway",
            include_str!("../../../fixtures/seed/ha-gateway-operator.yaml"),
        ),
        (
            "pilot-resources",
            include_str!("../../../fixtures/seed/pilot-resources-operator.yaml"),
        ),
        (
            "mesh-config",
            include_str!("../../../fixtures/seed/mesh-config-operator.yaml"),
        ),
        (
            "operator-gateway",
            include_str!("../../../fixtures/seed/istio-operator-gateway.yaml"),
        ),
    ] {
        out.push((name.into(), iop(text)));
    }
    out
}

#[test]
fn every_object_is_a_valid_kubernetes_object() {
    for (variant, iop) in all_variants() {
        let objects = render(&iop).unwrap_or_else(|e| panic!("{variant}: {e}"));
        for r in &objects {
            check_typed(r);
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for (variant, iop) in all_variants() {
        let a = output::to_yaml(&rendered(&iop));
        let b = output::to_yaml(&rendered(&iop.clone()));
        assert_eq!(a, b, "{variant}");
    }
}

#[test]
fn rbac_has_no_wildcards() {
    for (variant, iop) in all_variants() {
        for r in rendered(&iop) {
            let Some(rules) = r.object.get("rules").and_then(Value::as_array) else {
                continue;
            };
            for rule in rules {
                for key in ["apiGroups", "resources", "verbs"] {
                    let list = rule[key].as_array().expect("list");
                    assert!(
                        !list.iter().any(|v| v == "*"),
                        "{variant}: {:?} has a wildcard {key}: {rule}",
                        r.identity()
                    );
                }
            }
        }
    }
}

#[test]
fn default_profile_objects_in_apply_order() {
    assert_eq!(
        names(&rendered(&profile("default"))),
        [
            "Base ServiceAccount istio-system/istio-reader-service-account",
            "Base ClusterRole /istio-reader-clusterrole-istio-system",
            "Base ClusterRoleBinding /istio-reader-clusterrole-istio-system",
            "Base ValidatingWebhookConfiguration /istiod-default-validator",
            "Pilot ServiceAccount istio-system/istiod",
            "Pilot ClusterRole /istiod-clusterrole-istio-system",
            "Pilot ClusterRoleBinding /istiod-clusterrole-istio-system",
            "Pilot Role istio-system/istiod",
            "Pilot RoleBinding istio-system/istiod",
            "Pilot ConfigMap istio-system/istio",
            "Pilot ConfigMap istio-system/istio-sidecar-injector",
            "Pilot Deployment istio-system/istiod",
            "Pilot Service istio-system/istiod",
            "Pilot HorizontalPodAutoscaler istio-system/istiod",
            "Pilot PodDisruptionBudget istio-system/istiod",
            "Pilot MutatingWebhookConfiguration /istio-sidecar-injector",
            "Pilot ValidatingWebhookConfiguration /istio-validator-istio-system",
            "IngressGateways ServiceAccount istio-system/istio-ingressgateway-service-account",
            "IngressGateways Role istio-system/istio-ingressgateway-sds",
            "IngressGateways RoleBinding istio-system/istio-ingressgateway-sds",
            "IngressGateways Deployment istio-system/istio-ingressgateway",
            "IngressGateways Service istio-system/istio-ingressgateway",
            "IngressGateways HorizontalPodAutoscaler istio-system/istio-ingressgateway",
            "IngressGateways PodDisruptionBudget istio-system/istio-ingressgateway",
        ]
    );
}

#[test]
fn default_profile_labels_and_selectors() {
    let objects = rendered(&profile("default"));
    for r in &objects {
        let labels = &r.object["metadata"]["labels"];
        assert_eq!(
            labels["operator.istio.io/component"],
            r.component.name(),
            "{:?}",
            r.identity()
        );
        assert_eq!(
            labels["install.operator.istio.io/owning-resource"],
            "unknown"
        );
        assert!(labels.get("app").is_some(), "{:?}", r.identity());
        assert_eq!(labels["istio.io/rev"], "default", "{:?}", r.identity());
    }
    let d = find(&objects, "Deployment", "istiod");
    assert_eq!(d["metadata"]["labels"]["istio"], "pilot");
    assert_eq!(
        d["spec"]["selector"],
        json!({"matchLabels": {"istio": "pilot"}})
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"],
        json!({
            "app": "istiod",
            "istio.io/rev": "default",
            "install.operator.istio.io/owning-resource": "unknown",
            "operator.istio.io/component": "Pilot",
            "sidecar.istio.io/inject": "false",
            "istio": "pilot",
        })
    );
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], format!("ghcr.io/ferrymesh/ferry:{DEFAULT_TAG}"));
    assert_eq!(
        c["args"],
        json!([
            "discovery",
            "--monitoringAddr=:15014",
            "--log_output_level=default:info",
            "--domain",
            "cluster.local",
            "--keepaliveMaxServerConnectionAge",
            "30m"
        ])
    );
    let ports: Vec<_> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p["containerPort"].as_u64().expect("port"))
        .collect();
    assert_eq!(ports, [8080, 15010, 15012, 15017, 15014]);
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/ready", "port": 8080})
    );
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "500m", "memory": "2048Mi"}})
    );
    assert!(d["spec"].get("replicas").is_none(), "the HPA owns replicas");
    let svc = find(&objects, "Service", "istiod");
    assert_eq!(
        svc["spec"]["selector"],
        json!({"app": "istiod", "istio": "pilot"})
    );
    let ports: Vec<_> = svc["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name"),
                p["port"].as_u64().expect("port"),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("grpc-xds", 15010),
            ("https-dns", 15012),
            ("https-webhook", 443),
            ("http-monitoring", 15014)
        ]
    );
    assert_eq!(svc["spec"]["ports"][2]["targetPort"], 15017);
    let hpa = find(&objects, "HorizontalPodAutoscaler", "istiod");
    assert_eq!(
        hpa["spec"],
        json!({
            "maxReplicas": 5,
            "minReplicas": 1,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "istiod"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        })
    );
    assert_eq!(
        find(&objects, "PodDisruptionBudget", "istiod")["spec"],
        json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "istiod", "istio": "pilot"}}})
    );
}

#[test]
fn canary_names_labels_and_selectors() {
    let objects = rendered(&canary());
    insta::assert_snapshot!("canary_names", names(&objects).join("\n"));
    for r in &objects {
        if r.identity().2 == "istiod-default-validator" {
            panic!("a canary must not take over default validation");
        }
        assert_eq!(
            r.object["metadata"]["labels"]["istio.io/rev"],
            "canary",
            "{:?}",
            r.identity()
        );
    }
    let d = find(&objects, "Deployment", "istiod-canary");
    assert_eq!(
        d["spec"]["selector"],
        json!({"matchLabels": {"app": "istiod", "istio.io/rev": "canary"}})
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"]["istio"],
        "istiod"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["serviceAccountName"],
        "istiod-canary"
    );
    assert_eq!(
        find(&objects, "Service", "istiod-canary")["spec"]["selector"],
        json!({"app": "istiod", "istio.io/rev": "canary"})
    );
    let gw = find(&objects, "Deployment", "istio-ingressgateway");
    assert_eq!(
        gw["spec"]["template"]["spec"]["containers"][0]["args"],
        json!([
            "proxy",
            "router",
            "--discovery-address",
            "istiod-canary.istio-system.svc:15010",
            "--domain",
            "$(POD_NAMESPACE).svc.cluster.local",
            "--readiness-port=15021",
            "--token-file",
            "/var/run/secrets/tokens/istio-token"
        ])
    );
    // The token the CA reviews: the account's, for audience istio-ca, as Istio projects it.
    assert_eq!(
        gw["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
            ["audience"],
        "istio-ca"
    );
    assert_eq!(
        gw["spec"]["template"]["metadata"]["labels"]["istio.io/rev"],
        "canary"
    );
    assert_eq!(
        gw["spec"]["selector"],
        json!({"matchLabels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}}),
        "a revision change must not change the (immutable) selector"
    );
    let mesh = find(&objects, "ConfigMap", "istio-canary")["data"]["mesh"]
        .as_str()
        .expect("mesh");
    assert!(
        mesh.contains("discoveryAddress: istiod-canary.istio-system.svc:15012"),
        "{mesh}"
    );
    let vwc = find(
        &objects,
        "ValidatingWebhookConfiguration",
        "istio-validator-canary-istio-system",
    );
    assert_eq!(
        vwc["webhooks"][0]["objectSelector"],
        json!({"matchExpressions": [{"key": "istio.io/rev", "operator": "In", "values": ["canary"]}]})
    );
    assert_eq!(
        vwc["webhooks"][0]["clientConfig"]["service"]["name"],
        "istiod-canary"
    );
}

fn webhook_selectors(mwc: &Value) -> Vec<Value> {
    mwc["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .map(|w| json!({"name": w["name"], "ns": w["namespaceSelector"], "obj": w["objectSelector"]}))
        .collect()
}

fn expr(key: &str, op: &str, values: &[&str]) -> Value {
    if values.is_empty() {
        json!({"key": key, "operator": op})
    } else {
        json!({"key": key, "operator": op, "values": values})
    }
}

fn sel(exprs: Vec<Value>) -> Value {
    json!({"matchExpressions": exprs})
}

/// Istio's `rev.namespace.` and `rev.object.` webhooks for `rev`.
fn revision_webhooks(rev: &str) -> Vec<Value> {
    vec![
        json!({
            "name": "rev.namespace.sidecar-injector.istio.io",
            "ns": sel(vec![expr("istio.io/rev", "In", &[rev]), expr("istio-injection", "DoesNotExist", &[])]),
            "obj": sel(vec![expr("sidecar.istio.io/inject", "NotIn", &["false"])]),
        }),
        json!({
            "name": "rev.object.sidecar-injector.istio.io",
            "ns": sel(vec![expr("istio.io/rev", "DoesNotExist", &[]), expr("istio-injection", "DoesNotExist", &[])]),
            "obj": sel(vec![expr("sidecar.istio.io/inject", "NotIn", &["false"]), expr("istio.io/rev", "In", &[rev])]),
        }),
    ]
}

#[test]
fn injector_webhooks_match_istio_exactly() {
    let objects = rendered(&profile("default"));
    let mwc = find(
        &objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector",
    );
    let mut expected = revision_webhooks("default");
    expected.extend([
        json!({
            "name": "namespace.sidecar-injector.istio.io",
            "ns": sel(vec![expr("istio-injection", "In", &["enabled"])]),
            "obj": sel(vec![expr("sidecar.istio.io/inject", "NotIn", &["false"])]),
        }),
        json!({
            "name": "object.sidecar-injector.istio.io",
            "ns": sel(vec![expr("istio-injection", "DoesNotExist", &[]), expr("istio.io/rev", "DoesNotExist", &[])]),
            "obj": sel(vec![expr("sidecar.istio.io/inject", "In", &["true"]), expr("istio.io/rev", "DoesNotExist", &[])]),
        }),
    ]);
    assert_eq!(webhook_selectors(mwc), expected);
    assert_eq!(mwc["metadata"]["labels"]["app"], "sidecar-injector");
    for w in mwc["webhooks"].as_array().expect("webhooks") {
        assert_eq!(
            w["clientConfig"],
            json!({"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject", "port": 443}})
        );
        assert_eq!(w["sideEffects"], "None");
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["reinvocationPolicy"], "Never");
        assert_eq!(w["admissionReviewVersions"], json!(["v1"]));
        assert_eq!(
            w["rules"],
            json!([{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}])
        );
    }

    let objects = rendered(&canary());
    let mwc = find(
        &objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector-canary",
    );
    assert_eq!(webhook_selectors(mwc), revision_webhooks("canary"));
    assert_eq!(
        mwc["webhooks"][0]["clientConfig"]["service"]["name"],
        "istiod-canary"
    );
}

#[test]
fn namespaces_by_default_adds_the_auto_webhook() {
    let objects = rendered(&default_with(json!({"spec": {"values": {
        "sidecarInjectorWebhook": {"enableNamespacesByDefault": true}
    }}})));
    let mwc = find(
        &objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector",
    );
    let auto = webhook_selectors(mwc).pop().expect("auto webhook");
    assert_eq!(
        auto,
        json!({
            "name": "auto.sidecar-injector.istio.io",
            "ns": sel(vec![
                expr("istio-injection", "DoesNotExist", &[]),
                expr("istio.io/rev", "DoesNotExist", &[]),
                expr("kubernetes.io/metadata.name", "NotIn", &["kube-system", "kube-public", "kube-node-lease", "local-path-storage"]),
            ]),
            "obj": sel(vec![expr("sidecar.istio.io/inject", "DoesNotExist", &[]), expr("istio.io/rev", "DoesNotExist", &[])]),
        })
    );
}

#[test]
fn validation_webhooks_fail_open_until_patched() {
    let objects = rendered(&profile("default"));
    for name in ["istiod-default-validator", "istio-validator-istio-system"] {
        let w = &find(&objects, "ValidatingWebhookConfiguration", name)["webhooks"][0];
        assert_eq!(w["failurePolicy"], "Ignore");
        assert_eq!(w["clientConfig"]["service"]["path"], "/validate");
        assert_eq!(w["clientConfig"]["service"]["name"], "istiod");
        assert_eq!(
            w["rules"][0]["apiGroups"],
            json!([
                "security.istio.io",
                "networking.istio.io",
                "telemetry.istio.io",
                "extensions.istio.io"
            ])
        );
    }
    let off = rendered(&default_with(
        json!({"spec": {"values": {"global": {"configValidation": false}}}}),
    ));
    assert!(!has(&off, "ValidatingWebhookConfiguration"));

    // A canary named as the default revision serves the default validator.
    let objects = rendered(&default_with(
        json!({"spec": {"revision": "canary", "values": {"defaultRevision": "canary"}}}),
    ));
    let v = find(
        &objects,
        "ValidatingWebhookConfiguration",
        "istiod-default-validator",
    );
    assert_eq!(v["metadata"]["labels"]["istio.io/rev"], "canary");
    assert_eq!(
        v["webhooks"][0]["clientConfig"]["service"]["name"],
        "istiod-canary"
    );
}

#[test]
fn control_plane_rbac_patches_only_its_webhooks() {
    let objects = rendered(&profile("default"));
    let rules = find(&objects, "ClusterRole", "istiod-clusterrole-istio-system")["rules"]
        .as_array()
        .expect("rules")
        .clone();
    let named: Vec<_> = rules
        .iter()
        .filter(|r| r.get("resourceNames").is_some())
        .map(|r| {
            (
                r["resources"][0].clone(),
                r["resourceNames"].clone(),
                r["verbs"].clone(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (
                json!("mutatingwebhookconfigurations"),
                json!(["istio-sidecar-injector"]),
                json!(["get", "list", "watch", "patch"])
            ),
            (
                json!("validatingwebhookconfigurations"),
                json!(["istio-validator-istio-system", "istiod-default-validator"]),
                json!(["get", "list", "watch", "patch"])
            ),
        ]
    );
    assert!(
        !rules.iter().any(|r| r["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .any(|x| x == "secrets")),
        "secrets are namespace-scoped"
    );
    assert!(
        !rules
            .iter()
            .any(|r| r["apiGroups"][0] == "certificates.k8s.io"),
        "the control plane is its own CA"
    );
    let role = find(&objects, "Role", "istiod");
    assert_eq!(role["metadata"]["namespace"], "istio-system");
    assert_eq!(role["rules"][0]["resources"], json!(["secrets"]));
    let binding = find(&objects, "RoleBinding", "istio-ingressgateway-sds");
    assert_eq!(
        binding["subjects"],
        json!([
            {"kind": "ServiceAccount", "name": "istio-ingressgateway-service-account", "namespace": "istio-system"},
            {"kind": "ServiceAccount", "name": "istiod", "namespace": "istio-system"},
        ])
    );
}

#[test]
fn ha_pilot_seed_keeps_three_replicas_and_anti_affinity() {
    let objects = rendered(&iop(include_str!(
        "../../../fixtures/seed/ha-pilot-operator.yaml"
    )));
    let d = find(&objects, "Deployment", "istiod");
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["template"]["spec"]["affinity"],
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "istiod"}},
            "topologyKey": "kubernetes.io/hostname",
        }]}})
    );
    let hpa = find(&objects, "HorizontalPodAutoscaler", "istiod");
    assert_eq!(
        hpa["spec"]["minReplicas"], 3,
        "the HPA must not undo replicaCount"
    );
    assert_eq!(hpa["spec"]["maxReplicas"], 5);
}

#[test]
fn ha_gateway_seed_converts_the_v2beta1_hpa() {
    let objects = rendered(&iop(include_str!(
        "../../../fixtures/seed/ha-gateway-operator.yaml"
    )));
    let d = find(&objects, "Deployment", "istio-ingressgateway");
    assert_eq!(d["spec"]["replicas"], 3);
    let hpa = find(&objects, "HorizontalPodAutoscaler", "istio-ingressgateway");
    assert_eq!(
        hpa["spec"],
        json!({
            "maxReplicas": 10,
            "minReplicas": 3,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "istio-ingressgateway"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        })
    );
}

#[test]
fn hpa_spec_errors_name_the_path() {
    let bad = |metric: Value| {
        render(&default_with(
            json!({"spec": {"components": {"pilot": {"k8s": {"hpaSpec": {"metrics": [metric]}}}}}}),
        ))
        .expect_err("refused")
        .to_string()
    };
    assert_eq!(
        bad(json!({"type": "Pods"})),
        "components.pilot.k8s.hpaSpec.metrics[0].type: only Resource metrics are supported, got \"Pods\""
    );
    assert!(
        bad(json!({"type": "Resource", "resource": {"name": "cpu"}}))
            .starts_with("components.pilot.k8s.hpaSpec.metrics[0].resource: set `target`")
    );
    let err = render(&default_with(json!({"spec": {"components": {"ingressGateways": [
        {"name": "istio-ingressgateway", "enabled": true, "k8s": {"hpaSpec": {"minReplicas": 6, "maxReplicas": 2}}}
    ]}}})))
    .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "components.ingressGateways[name:istio-ingressgateway].k8s.hpaSpec: minReplicas 6 must be at least 1 and at most maxReplicas 2"
    );
}

#[test]
fn autoscaling_off_sets_replicas_and_drops_the_hpa() {
    let objects = rendered(&default_with(json!({"spec": {"values": {"pilot": {
        "autoscaleEnabled": false, "replicaCount": 2
    }}}})));
    assert_eq!(
        find(&objects, "Deployment", "istiod")["spec"]["replicas"],
        2
    );
    assert!(
        !objects
            .iter()
            .any(|r| r.identity() == ("HorizontalPodAutoscaler", "istio-system", "istiod"))
    );
    let demo = rendered(&profile("demo"));
    assert_eq!(find(&demo, "Deployment", "istiod")["spec"]["replicas"], 1);

    let no_pdb = rendered(&default_with(json!({"spec": {"values": {"global": {
        "defaultPodDisruptionBudget": {"enabled": false}
    }}}})));
    assert!(!has(&no_pdb, "PodDisruptionBudget"));
}

/// `values.gateways.istio-ingressgateway` / `istio-egressgateway` set the gateway charts' scaling,
/// for every gateway of that kind (the key names the chart, as in istioctl).
#[test]
fn gateway_values_switch_autoscaling_off_or_tune_it() {
    let hpa_of = |objects: &[Rendered], name: &str| {
        objects
            .iter()
            .find(|r| r.identity() == ("HorizontalPodAutoscaler", "istio-system", name))
            .map(|r| r.object["spec"].clone())
    };
    // Istio's demo: no gateway autoscaling; the Deployment keeps Kubernetes' default replicas.
    let demo = rendered(&profile("demo"));
    for name in ["istio-ingressgateway", "istio-egressgateway"] {
        assert_eq!(hpa_of(&demo, name), None, "{name}");
        assert!(
            find(&demo, "Deployment", name)["spec"]
                .get("replicas")
                .is_none(),
            "{name}"
        );
    }

    let objects = rendered(&default_with(json!({"spec": {
        "components": {"ingressGateways": [
            {"name": "istio-ingressgateway", "enabled": true},
            {"name": "internal", "enabled": true, "k8s": {"replicaCount": 3}},
        ]},
        "values": {"gateways": {"istio-ingressgateway": {"autoscaleEnabled": false, "replicaCount": 2}}},
    }})));
    for (name, replicas) in [("istio-ingressgateway", 2), ("internal", 3)] {
        assert_eq!(hpa_of(&objects, name), None, "{name}");
        assert_eq!(
            find(&objects, "Deployment", name)["spec"]["replicas"],
            replicas,
            "{name}: k8s.replicaCount wins over the values"
        );
    }

    let objects = rendered(&default_with(json!({"spec": {"values": {"gateways": {
        "istio-ingressgateway": {"autoscaleMin": 2, "autoscaleMax": 8, "cpu": {"targetAverageUtilization": 60}},
    }}}})));
    let hpa = hpa_of(&objects, "istio-ingressgateway").expect("HPA");
    assert_eq!(
        (&hpa["minReplicas"], &hpa["maxReplicas"]),
        (&json!(2), &json!(8))
    );
    assert_eq!(
        hpa["metrics"][0]["resource"]["target"]["averageUtilization"],
        60
    );
    // While autoscaling is on, the values' replicaCount is not used (as Istio's chart).
    let objects = rendered(&default_with(json!({"spec": {"values": {"gateways": {
        "istio-ingressgateway": {"replicaCount": 4},
    }}}})));
    assert!(
        find(&objects, "Deployment", "istio-ingressgateway")["spec"]
            .get("replicas")
            .is_none()
    );

    // An explicit k8s.hpaSpec still asks for an HPA, as for the control plane.
    let objects = rendered(&default_with(json!({"spec": {
        "components": {"egressGateways": [
            {"name": "istio-egressgateway", "enabled": true, "k8s": {"hpaSpec": {"maxReplicas": 3}}},
        ]},
        "values": {"gateways": {"istio-egressgateway": {"autoscaleEnabled": false}}},
    }})));
    assert_eq!(
        hpa_of(&objects, "istio-egressgateway").expect("HPA")["maxReplicas"],
        3
    );
}

#[test]
fn remote_profile_has_no_local_control_plane() {
    let objects = rendered(&profile("remote"));
    for kind in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
    ] {
        assert!(
            !has(&objects, kind),
            "remote renders a {kind}: {:#?}",
            names(&objects)
        );
    }
    assert!(has(&objects, "MutatingWebhookConfiguration"));
    let reader = find(
        &objects,
        "ClusterRole",
        "istio-reader-clusterrole-istio-system",
    );
    assert!(
        reader["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| r["resources"][0] == "mutatingwebhookconfigurations"),
        "the remote control plane patches the webhooks through the reader account"
    );

    let objects = rendered(&default_with(json!({"spec": {"values": {"istiodRemote": {
        "enabled": true, "injectionURL": "https://istiod.example.com:15017/inject"
    }}}})));
    let mwc = find(
        &objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector",
    );
    assert_eq!(
        mwc["webhooks"][0]["clientConfig"],
        json!({"url": "https://istiod.example.com:15017/inject"})
    );

    let objects = rendered(&default_with(json!({"spec": {"values": {
        "istiodRemote": {"enabled": true}, "global": {"remotePilotAddress": "istiod.example.com"}
    }}})));
    let svc = find(&objects, "Service", "istiod");
    assert_eq!(svc["spec"]["type"], "ExternalName");
    assert_eq!(svc["spec"]["externalName"], "istiod.example.com");
    assert!(
        !has(&objects, "Deployment")
            || !objects
                .iter()
                .any(|r| r.identity() == ("Deployment", "istio-system", "istiod"))
    );

    let objects = rendered(&default_with(json!({"spec": {"values": {
        "istiodRemote": {"enabled": true}, "global": {"remotePilotAddress": "10.0.0.1"}
    }}})));
    let slice = find(&objects, "EndpointSlice", "istiod");
    assert_eq!(
        slice["metadata"]["labels"]["kubernetes.io/service-name"],
        "istiod"
    );
    assert_eq!(slice["endpoints"], json!([{"addresses": ["10.0.0.1"]}]));
}

#[test]
fn disabled_components_render_nothing() {
    assert!(rendered(&profile("empty")).is_empty());
    let minimal = rendered(&profile("minimal"));
    assert!(
        minimal
            .iter()
            .all(|r| matches!(r.component, Component::Base | Component::Pilot))
    );
    let no_pilot = rendered(&default_with(
        json!({"spec": {"components": {"pilot": {"enabled": false}}}}),
    ));
    assert!(no_pilot.iter().all(|r| r.component != Component::Pilot));
    let no_base = rendered(&default_with(
        json!({"spec": {"components": {"base": {"enabled": false}}}}),
    ));
    assert!(no_base.iter().all(|r| r.component != Component::Base));
    let no_injector_cm = rendered(&default_with(
        json!({"spec": {"values": {"global": {"omitSidecarInjectorConfigMap": true}}}}),
    ));
    assert!(
        !no_injector_cm
            .iter()
            .any(|r| r.identity().2 == "istio-sidecar-injector" && r.identity().0 == "ConfigMap")
    );
    // A gateway listed without `enabled: true` is not installed.
    let listed = rendered(&default_with(
        json!({"spec": {"components": {"ingressGateways": [{"name": "gw"}]}}}),
    ));
    assert!(
        listed
            .iter()
            .all(|r| r.component != Component::IngressGateways)
    );
}

#[test]
fn demo_profile_gateways() {
    let objects = rendered(&profile("demo"));
    let ingress = find(&objects, "Service", "istio-ingressgateway");
    assert_eq!(ingress["spec"]["type"], "LoadBalancer");
    // k8s.service.ports merges by port number: the three default ports keep their protocol,
    // 31400 and 15443 are added.
    assert_eq!(
        ingress["spec"]["ports"],
        json!([
            {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
            {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
            {"name": "tcp", "port": 31400, "targetPort": 31400},
            {"name": "tls", "port": 15443, "targetPort": 15443},
        ])
    );
    let egress = find(&objects, "Service", "istio-egressgateway");
    assert_eq!(egress["spec"]["type"], "ClusterIP");
    assert_eq!(
        egress["spec"]["ports"],
        json!([
            {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
        ])
    );
    let d = find(&objects, "Deployment", "istio-egressgateway");
    assert_eq!(
        d["metadata"]["labels"]["operator.istio.io/component"],
        "EgressGateways"
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"]["istio"],
        "egressgateway"
    );
    let c = &find(&objects, "Deployment", "istio-ingressgateway")["spec"]["template"]["spec"]["containers"]
        [0];
    let ports: Vec<_> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p["containerPort"].as_u64().expect("port"))
        .collect();
    assert_eq!(ports, [15021, 8080, 8443, 31400, 15443, 15090]);
    assert_eq!(
        c["resources"],
        json!({"limits": {"cpu": "2000m", "memory": "1024Mi"}, "requests": {"cpu": "10m", "memory": "40Mi"}}),
        "the demo's requests merge over the default resources, whose limits stay"
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"})
    );
    let env =
        find(&objects, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .expect("env")
            .clone();
    assert!(env.contains(&json!({"name": "PILOT_TRACE_SAMPLING", "value": "100"})));
}

#[test]
fn gateway_defaults_and_overrides() {
    let objects = rendered(&profile("default"));
    let d = find(&objects, "Deployment", "istio-ingressgateway");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["resources"],
        json!({"limits": {"cpu": "2000m", "memory": "1024Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
    );
    assert!(d["spec"].get("replicas").is_none());
    assert_eq!(
        d["spec"]["template"]["spec"]["serviceAccountName"],
        "istio-ingressgateway-service-account"
    );

    let objects = rendered(&default_with(
        json!({"spec": {"components": {"ingressGateways": [{
            "name": "my-gw", "enabled": true, "namespace": "edge", "hub": "example.com/h", "tag": "t1",
            "label": {"istio": "my-gw", "team": "a"},
            "k8s": {
                "service": {"type": "NodePort", "loadBalancerIP": "1.2.3.4"},
                "serviceAnnotations": {"a": "b"},
                "podAnnotations": {"c": "d"},
                "env": [{"name": "ISTIO_META_CLUSTER_ID", "value": "mine"}, {"name": "EXTRA", "value": "1"}],
                "nodeSelector": {"pool": "edge"},
                "tolerations": [{"key": "edge", "operator": "Exists"}],
                "podDisruptionBudget": {"maxUnavailable": 1},
            },
        }]}}}),
    ));
    let d = find(&objects, "Deployment", "my-gw");
    assert_eq!(d["metadata"]["namespace"], "edge");
    assert_eq!(
        d["spec"]["selector"]["matchLabels"],
        json!({"app": "my-gw", "istio": "my-gw", "team": "a"})
    );
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["image"], "example.com/h/ferry:t1");
    assert_eq!(pod["nodeSelector"], json!({"pool": "edge"}));
    assert_eq!(d["spec"]["template"]["metadata"]["annotations"]["c"], "d");
    let env = pod["containers"][0]["env"].as_array().expect("env");
    let cluster: Vec<_> = env
        .iter()
        .filter(|e| e["name"] == "ISTIO_META_CLUSTER_ID")
        .collect();
    assert_eq!(
        cluster,
        [&json!({"name": "ISTIO_META_CLUSTER_ID", "value": "mine"})]
    );
    assert_eq!(env.last(), Some(&json!({"name": "EXTRA", "value": "1"})));
    let svc = find(&objects, "Service", "my-gw");
    assert_eq!(svc["spec"]["type"], "NodePort");
    assert_eq!(svc["spec"]["loadBalancerIP"], "1.2.3.4");
    assert_eq!(
        svc["spec"]["ports"][0]["name"], "status-port",
        "ports kept when not given"
    );
    assert_eq!(svc["metadata"]["annotations"], json!({"a": "b"}));
    assert_eq!(
        find(&objects, "PodDisruptionBudget", "my-gw")["spec"],
        json!({"maxUnavailable": 1, "selector": {"matchLabels": {"app": "my-gw", "istio": "my-gw", "team": "a"}}})
    );
    assert_eq!(
        find(&objects, "RoleBinding", "my-gw-sds")["subjects"][1],
        json!({"kind": "ServiceAccount", "name": "istiod", "namespace": "istio-system"})
    );
}

#[test]
fn duplicate_gateways_are_refused() {
    let err = render(&default_with(
        json!({"spec": {"components": {"ingressGateways": [
            {"name": "gw", "enabled": true}, {"name": "gw", "enabled": true}
        ]}}}),
    ))
    .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "components.ingressGateways: two enabled gateways are named \"gw\" in namespace \"istio-system\"; give each gateway its own name"
    );
    // One without a name takes the default, which the message explains.
    let err = render(&default_with(
        json!({"spec": {"components": {"ingressGateways": [
            {"name": "istio-ingressgateway", "enabled": true}, {"enabled": true}
        ]}}}),
    ))
    .expect_err("refused");
    assert_eq!(
        err,
        RenderError::DuplicateGateway {
            kind: "ingressGateways",
            name: "istio-ingressgateway".into(),
            namespace: "istio-system".into(),
            unnamed: true,
        }
    );
    assert!(
        err.to_string()
            .ends_with("(a gateway listed without a name is named \"istio-ingressgateway\", and a --set index past the end of the list adds a gateway)")
    );
}

#[test]
fn revisions_and_unsupported_components_are_checked() {
    for bad in ["Canary", "-x", "a_b", &"x".repeat(64)] {
        assert_eq!(
            render(&default_with(json!({"spec": {"revision": bad}}))),
            Err(RenderError::InvalidRevision(bad.to_string()))
        );
    }
    // `default` is the default revision, not a revision named "default".
    let objects = rendered(&default_with(json!({"spec": {"revision": "default"}})));
    find(&objects, "Deployment", "istiod");
    let err = render(&default_with(
        json!({"spec": {"components": {"cni": {"enabled": true}}}}),
    ))
    .expect_err("refused");
    assert_eq!(err, RenderError::Unsupported("cni"));
}

#[test]
fn namespace_comes_from_spec_metadata_or_values() {
    let ns_of = |iop: IstioOperator| {
        let objects = rendered(&iop);
        let d = find(&objects, "Deployment", "istiod");
        d["metadata"]["namespace"].as_str().expect("ns").to_string()
    };
    assert_eq!(
        ns_of(default_with(json!({"spec": {"namespace": "a"}}))),
        "a"
    );
    assert_eq!(
        ns_of(default_with(json!({"metadata": {"namespace": "b"}}))),
        "b"
    );
    assert_eq!(
        ns_of(iop(
            "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  values:\n    global:\n      istioNamespace: c\n"
        )),
        "c"
    );
    assert_eq!(
        ns_of(iop(
            "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n"
        )),
        "istio-system"
    );
    let objects = rendered(&default_with(json!({"spec": {"namespace": "mesh"}})));
    find(
        &objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector-mesh",
    );
    find(
        &objects,
        "ValidatingWebhookConfiguration",
        "istio-validator-mesh",
    );
    find(&objects, "ClusterRole", "istiod-clusterrole-mesh");
    assert_eq!(
        find(&objects, "ConfigMap", "istio")["data"]["mesh"]
            .as_str()
            .expect("mesh")
            .lines()
            .find(|l| l.starts_with("rootNamespace"))
            .expect("rootNamespace"),
        "rootNamespace: mesh"
    );
    let values: Value = serde_json::from_str(
        find(&objects, "ConfigMap", "istio-sidecar-injector")["data"]["values"]
            .as_str()
            .expect("values"),
    )
    .expect("json");
    assert_eq!(values["global"]["istioNamespace"], "mesh");
}

#[test]
fn mesh_config_has_istio_defaults_under_the_users() {
    let objects = rendered(&profile("default"));
    let cm = find(&objects, "ConfigMap", "istio");
    assert_eq!(
        cm["data"]["mesh"],
        "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  proxyMetadata: {}\ndefaultProviders:\n  metrics:\n  - prometheus\nenablePrometheusMerge: true\nrootNamespace: istio-system\ntrustDomain: cluster.local"
    );
    assert_eq!(cm["data"]["meshNetworks"], "networks: {}");

    let objects = rendered(&default_with(json!({"spec": {
        "meshConfig": {"trustDomain": "example.org", "defaultProviders": {"tracing": ["zipkin"]}},
        "values": {"global": {"meshID": "m1"}},
    }})));
    let mesh = json_of_yaml(
        find(&objects, "ConfigMap", "istio")["data"]["mesh"]
            .as_str()
            .expect("mesh"),
    );
    assert_eq!(mesh["trustDomain"], "example.org");
    assert_eq!(mesh["defaultProviders"], json!({"tracing": ["zipkin"]}));
    assert_eq!(mesh["defaultConfig"]["meshId"], "m1");
    let env = find(&objects, "Deployment", "istio-ingressgateway")["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .clone();
    assert!(env.contains(&json!({"name": "ISTIO_META_MESH_ID", "value": "m1"})));
}

#[test]
fn injector_config_describes_the_sidecar() {
    let objects = rendered(&default_with(
        json!({"spec": {"values": {"global": {"proxy": {
            "resources": {"requests": {"cpu": "10m"}}
        }}}}}),
    ));
    let cm = find(&objects, "ConfigMap", "istio-sidecar-injector");
    let config = json_of_yaml(cm["data"]["config"].as_str().expect("config"));
    assert_eq!(config["policy"], "enabled");
    assert_eq!(config["alwaysInjectSelector"], json!([]));
    assert_eq!(config["neverInjectSelector"], json!([]));
    let c = &config["sidecar"]["container"];
    assert_eq!(c["name"], "istio-proxy");
    assert_eq!(
        c["args"],
        json!([
            "proxy",
            "sidecar",
            "--discovery-address",
            "istiod.istio-system.svc:15010",
            "--domain",
            "$(POD_NAMESPACE).svc.cluster.local",
            "--readiness-port=15021",
            "--token-file",
            "/var/run/secrets/tokens/istio-token"
        ])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"mountPath": "/var/run/secrets/tokens", "name": "istio-token"}])
    );
    assert_eq!(config["sidecar"]["volumes"][0]["name"], "istio-token");
    assert_eq!(
        c["resources"],
        json!({"limits": {"cpu": "2000m", "memory": "1024Mi"}, "requests": {"cpu": "10m", "memory": "128Mi"}}),
        "values merge over the chart's defaults, as Helm coalesces them"
    );
    let ports: Vec<_> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p["containerPort"].as_u64().expect("port"))
        .collect();
    assert_eq!(ports, [15090, 15021]);
    let values: Value =
        serde_json::from_str(cm["data"]["values"].as_str().expect("values")).expect("json");
    assert_eq!(values["revision"], "");
    assert_eq!(values["global"]["istioNamespace"], "istio-system");
}

#[test]
fn images_prefer_component_then_spec_then_global() {
    let image = |patch: Value| {
        let objects = rendered(&default_with(patch));
        find(&objects, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .expect("image")
            .to_string()
    };
    assert_eq!(
        image(json!({"spec": {"hub": null, "values": {"global": {"hub": "g", "tag": "gt"}}}})),
        "g/ferry:gt"
    );
    assert_eq!(
        image(json!({"spec": {"tag": "st", "values": {"global": {"hub": "g", "tag": "gt"}}}})),
        "ghcr.io/ferrymesh/ferry:st"
    );
    assert_eq!(
        image(json!({"spec": {"components": {"pilot": {"hub": "c", "tag": "ct"}}}})),
        "c/ferry:ct"
    );
}

/// `k8s.resources` is a strategic merge patch on the rendered container, as Istio's
/// postprocessing applies it: `requests` and `limits` merge key by key.
#[test]
fn k8s_resources_merge_over_the_rendered_ones() {
    let container = |objects: &[Rendered], name: &str| {
        find(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0].clone()
    };
    let objects = rendered(&default_with(json!({"spec": {"components": {
        "pilot": {"k8s": {"resources": {"limits": {"cpu": "1"}}}},
        "ingressGateways": [{"name": "istio-ingressgateway", "enabled": true, "k8s": {
            "resources": {"requests": {"cpu": "10m"}},
        }}],
    }}})));
    assert_eq!(
        container(&objects, "istiod")["resources"],
        json!({"requests": {"cpu": "500m", "memory": "2048Mi"}, "limits": {"cpu": "1"}})
    );
    assert_eq!(
        container(&objects, "istio-ingressgateway")["resources"],
        json!({"limits": {"cpu": "2000m", "memory": "1024Mi"}, "requests": {"cpu": "10m", "memory": "128Mi"}})
    );
    // Over the component's values: k8s wins key by key.
    let objects = rendered(&default_with(json!({"spec": {
        "components": {"pilot": {"k8s": {"resources": {"requests": {"memory": "1Gi"}}}}},
        "values": {"pilot": {"resources": {"requests": {"cpu": "2", "memory": "3Gi"}}}},
    }})));
    assert_eq!(
        container(&objects, "istiod")["resources"],
        json!({"requests": {"cpu": "2", "memory": "1Gi"}})
    );
    // The values themselves merge over the chart's defaults, as Helm coalesces values.
    let objects = rendered(&default_with(json!({"spec": {
        "values": {"pilot": {"resources": {"limits": {"memory": "4Gi"}}}},
    }})));
    assert_eq!(
        container(&objects, "istiod")["resources"],
        json!({"requests": {"cpu": "500m", "memory": "2048Mi"}, "limits": {"memory": "4Gi"}})
    );
}

/// Kubernetes refuses a container whose request is above its limit. Since `k8s.resources`
/// merges over the defaults, a request raised alone can pass Istio's default limit: an error
/// naming what to set, rather than a Deployment the API server rejects.
#[test]
fn requests_above_limits_are_refused() {
    let err = render(&default_with(json!({"spec": {"components": {"ingressGateways": [
        {"name": "istio-ingressgateway", "enabled": true, "k8s": {"resources": {"requests": {"cpu": "4"}}}},
    ]}}})))
    .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "components.ingressGateways[name:istio-ingressgateway].k8s.resources: requests.cpu 4 is \
         more than limits.cpu 2000m, which Kubernetes refuses (what is not set keeps its \
         default: set both)"
    );
    rendered(&default_with(
        json!({"spec": {"components": {"ingressGateways": [
            {"name": "istio-ingressgateway", "enabled": true, "k8s": {"resources": {
                "requests": {"cpu": "4"}, "limits": {"cpu": "4000m"},
            }}},
        ]}}}),
    ));
    let err = render(&default_with(
        json!({"spec": {"values": {"global": {"proxy": {
            "resources": {"requests": {"memory": "2Gi"}},
        }}}}}),
    ))
    .expect_err("refused");
    assert!(
        err.to_string().starts_with(
            "values.global.proxy.resources: requests.memory 2Gi is more than limits.memory 1024Mi"
        ),
        "{err}"
    );
    let err = render(&default_with(json!({"spec": {"values": {"pilot": {
        "resources": {"limits": {"cpu": "100m"}},
    }}}})))
    .expect_err("refused");
    assert!(
        err.to_string()
            .starts_with("values.pilot.resources: requests.cpu 500m is more than limits.cpu 100m"),
        "{err}"
    );
}

/// `k8s.service` is a strategic merge patch on the rendered Service: ports merge by `port` (an
/// existing number is updated, a new one appended), other fields replace.
#[test]
fn k8s_service_ports_merge_by_port_number() {
    let objects = rendered(&default_with(json!({"spec": {"components": {
        "ingressGateways": [{"name": "istio-ingressgateway", "enabled": true, "k8s": {"service": {
            "type": "NodePort",
            "ports": [
                {"port": 80, "targetPort": 9080, "nodePort": 30080},
                {"name": "tcp-db", "port": 5432, "targetPort": 5432},
            ],
        }}}],
    }}})));
    let svc = find(&objects, "Service", "istio-ingressgateway");
    assert_eq!(svc["spec"]["type"], "NodePort");
    assert_eq!(
        svc["spec"]["ports"],
        json!([
            {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
            {"name": "http2", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": 9080},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
            {"name": "tcp-db", "port": 5432, "targetPort": 5432},
        ])
    );
    // The container listens on the merged target ports.
    let c = &find(&objects, "Deployment", "istio-ingressgateway")["spec"]["template"]["spec"]["containers"]
        [0];
    let ports: Vec<_> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p["containerPort"].as_u64().expect("port"))
        .collect();
    assert_eq!(ports, [15021, 9080, 8443, 5432, 15090]);

    let objects = rendered(&default_with(
        json!({"spec": {"components": {"pilot": {"k8s": {
            "service": {"ports": [{"port": 15014, "name": "http-metrics"}]},
        }}}}}),
    ));
    let ports = &find(&objects, "Service", "istiod")["spec"]["ports"];
    assert_eq!(ports.as_array().expect("ports").len(), 4);
    assert_eq!(ports[3]["name"], "http-metrics");
    assert_eq!(ports[3]["port"], 15014);
}

#[test]
fn pilot_env_and_k8s_settings() {
    let objects = rendered(&default_with(json!({"spec": {
        "components": {"pilot": {"label": {"team": "mesh"}, "k8s": {
            "env": [{"name": "B", "value": "k8s"}],
            "resources": {"requests": {"cpu": "1"}},
            "podAnnotations": {"x": "y"},
            "imagePullPolicy": "Always",
            "priorityClassName": "system-cluster-critical",
        }}},
        "values": {"pilot": {"env": {"A": "1", "B": "values"}, "traceSampling": 0.5, "nodeSelector": {"n": "1"}}},
    }})));
    let d = find(&objects, "Deployment", "istiod");
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let env = c["env"].as_array().expect("env");
    let names: Vec<_> = env
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "REVISION",
            "POD_NAME",
            "POD_NAMESPACE",
            "SERVICE_ACCOUNT",
            "CLUSTER_ID",
            "PILOT_TRACE_SAMPLING",
            "A",
            "B"
        ]
    );
    assert!(env.contains(&json!({"name": "B", "value": "k8s"})));
    assert!(env.contains(&json!({"name": "PILOT_TRACE_SAMPLING", "value": "0.5"})));
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "1", "memory": "2048Mi"}}),
        "k8s.resources merges over the rendered resources"
    );
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(pod["priorityClassName"], "system-cluster-critical");
    assert_eq!(pod["nodeSelector"], json!({"n": "1"}));
    assert_eq!(d["spec"]["template"]["metadata"]["labels"]["team"], "mesh");
    assert_eq!(d["spec"]["template"]["metadata"]["annotations"]["x"], "y");
}

#[test]
fn stable_profile_renders_the_admission_policies() {
    let objects = rendered(&profile("stable"));
    find(
        &objects,
        "ValidatingAdmissionPolicy",
        "stable-channel-default-policy.istio.io",
    );
    find(
        &objects,
        "ValidatingAdmissionPolicyBinding",
        "stable-channel-default-policy-binding.istio.io",
    );
    find(
        &objects,
        "ValidatingAdmissionPolicy",
        "stable-channel-policy-istio-system.istio.io",
    );
    let canary = rendered(&default_with(
        json!({"spec": {"revision": "canary", "values": {"experimental": {"stableValidationPolicy": true}}}}),
    ));
    assert!(
        !canary
            .iter()
            .any(|r| r.identity().2.starts_with("stable-channel-default"))
    );
    let p = find(
        &canary,
        "ValidatingAdmissionPolicy",
        "stable-channel-policy-canary-istio-system.istio.io",
    );
    assert_eq!(
        p["spec"]["matchConstraints"]["objectSelector"],
        json!({"matchExpressions": [{"key": "istio.io/rev", "operator": "In", "values": ["canary"]}]})
    );
}

#[test]
fn default_profile_snapshot() {
    let yaml = output::to_yaml(&rendered(&profile("default")));
    insta::with_settings!({filters => vec![(r"ferry:\d+\.\d+\.\d+\S*", "ferry:[version]")]}, {
        insta::assert_snapshot!("default_profile", yaml);
    });
}

/// A profile as users get it: resolved over `default` (with the compiled-in tag), then rendered.
fn resolved_profile(name: &str) -> Vec<Rendered> {
    let input = crate::install::resolve::ResolveInput {
        sets: vec![format!("profile={name}")],
        ..Default::default()
    };
    let resolved = crate::install::resolve::resolve(&input).unwrap_or_else(|e| panic!("{e}"));
    rendered(&resolved.iop)
}

/// One line per object (`Component Kind namespace/name`) and, indented under it, the fields in
/// which profiles differ: replicas, images, resources and ports of Deployments, Service types and
/// ports, HPA bounds, PDB budgets, the mesh config, ConfigMap keys and webhook names. The full
/// shape of every object is in the `default_profile` snapshot; this keeps the other profiles'
/// snapshots small enough to review.
fn summary(objects: &[Rendered]) -> String {
    let compact = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let mut out = String::new();
    for r in objects {
        let (kind, ns, name) = r.identity();
        out.push_str(&format!("{} {kind} {ns}/{name}\n", r.component));
        let o = &r.object;
        let mut field = |k: &str, v: String| out.push_str(&format!("  {k}: {v}\n"));
        match kind {
            "Deployment" => {
                field(
                    "replicas",
                    o["spec"]
                        .get("replicas")
                        .map_or("unset".to_string(), compact),
                );
                for c in o["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    field("image", compact(&c["image"]));
                    field("resources", compact(&c["resources"]));
                    let ports: Vec<String> = c["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| p["containerPort"].to_string())
                        .collect();
                    field("containerPorts", ports.join(","));
                }
            }
            "Service" => {
                field(
                    "type",
                    o["spec"].get("type").map_or("unset".to_string(), compact),
                );
                let ports: Vec<String> = o["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        format!(
                            "{} {}->{}",
                            p["name"].as_str().unwrap_or("-"),
                            p["port"],
                            p.get("targetPort").map_or("-".to_string(), compact)
                        )
                    })
                    .collect();
                field("ports", ports.join(", "));
            }
            "HorizontalPodAutoscaler" => field(
                "replicas",
                format!(
                    "{}..{} {}",
                    o["spec"]["minReplicas"],
                    o["spec"]["maxReplicas"],
                    compact(&o["spec"]["metrics"])
                ),
            ),
            "PodDisruptionBudget" => {
                let mut spec = o["spec"].clone();
                if let Value::Object(m) = &mut spec {
                    m.remove("selector");
                }
                field("budget", compact(&spec));
            }
            "ConfigMap" => {
                let data = o["data"].as_object().cloned().unwrap_or_default();
                field("keys", data.keys().cloned().collect::<Vec<_>>().join(","));
                if let Some(config) = data.get("config").and_then(Value::as_str) {
                    let config = json_of_yaml(config);
                    field(
                        "sidecar resources",
                        compact(&config["sidecar"]["container"]["resources"]),
                    );
                }
                if let Some(mesh) = data.get("mesh").and_then(Value::as_str) {
                    out.push_str("  mesh:\n");
                    for line in mesh.lines() {
                        out.push_str(&format!("    {line}\n"));
                    }
                }
            }
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
                let names: Vec<String> = o["webhooks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|w| w["name"].as_str().unwrap_or("-").to_string())
                    .collect();
                field("webhooks", names.join(","));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn profile_snapshots() {
    for name in ["demo", "minimal", "remote", "empty"] {
        let text = summary(&resolved_profile(name));
        insta::with_settings!({
            filters => vec![(r"ferry:\d+\.\d+\.\d+[^\x22\s]*", "ferry:[version]")],
        }, {
            insta::assert_snapshot!(format!("{name}_profile_summary"), text);
        });
    }
}
