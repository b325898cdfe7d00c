//! Admission: the injector MutatingWebhookConfiguration with Istio's exact webhooks and
//! selectors (so `istio-injection=enabled`, `istio.io/rev=<rev>` and `sidecar.istio.io/inject`
//! mean what they mean in Istio), the revision's ValidatingWebhookConfiguration, the default
//! revision's `istiod-default-validator`, and the stable-channel ValidatingAdmissionPolicy.

use serde_json::{Map, Value, json};

use super::names::{INJECT_LABEL, INJECTION_LABEL, OWNER_LABEL, REV_LABEL, istiod_service};
use super::{Component, Ctx, metadata, object};

/// The validating webhook of whichever revision is the default (Istio's default tag).
pub(crate) const DEFAULT_VALIDATOR: &str = "istiod-default-validator";

/// Webhooks whose name ends so are injection webhooks (istioctl's `istioInjectionWebhookSuffix`).
pub(crate) const INJECTOR_SUFFIX: &str = "sidecar-injector.istio.io";

/// Namespaces an `auto.` injection webhook leaves alone: Kubernetes' own (and kind's storage).
const SYSTEM_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// The API groups whose objects the validation webhook checks.
pub(crate) const ISTIO_API_GROUPS: [&str; 4] = [
    "security.istio.io",
    "networking.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
];

/// The revision the default validator and policy point at: `values.defaultRevision` when set,
/// else this install when it has no revision (istioctl makes an unrevisioned install the
/// default), else none (a canary does not take over cluster-wide validation).
pub(super) fn default_validator_target(ctx: &Ctx) -> Option<String> {
    match ctx.values().default_revision.as_deref() {
        Some(r) if !r.is_empty() => Some(r.to_string()),
        _ if ctx.revision.is_none() => Some("default".to_string()),
        _ => None,
    }
}

pub(crate) fn expression(key: &str, operator: &str, values: &[&str]) -> Value {
    let mut e = Map::new();
    e.insert("key".into(), key.into());
    e.insert("operator".into(), operator.into());
    if !values.is_empty() {
        e.insert("values".into(), json!(values));
    }
    Value::Object(e)
}

pub(crate) fn selector(expressions: Vec<Value>) -> Value {
    json!({ "matchExpressions": expressions })
}

/// The part every injection webhook shares (the chart's `mwh-shared`): `prefix` names it,
/// `client` is its `clientConfig`.
pub(crate) fn injection_webhook(
    prefix: &str,
    client: Value,
    reinvocation_policy: &str,
    namespace: Value,
    object: Value,
) -> Value {
    json!({
        "name": format!("{prefix}{INJECTOR_SUFFIX}"),
        "clientConfig": client,
        "sideEffects": "None",
        "rules": [{
            "operations": ["CREATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["pods"],
        }],
        "failurePolicy": "Fail",
        "reinvocationPolicy": reinvocation_policy,
        "admissionReviewVersions": ["v1"],
        "namespaceSelector": namespace,
        "objectSelector": object,
    })
}

/// The name prefix, namespace selector and object selector of each injection webhook that
/// selects `rev` (a revision, or a tag standing for one). `default` adds the default revision's
/// classic `istio-injection=enabled` and `sidecar.istio.io/inject=true` webhooks, and with them
/// `auto_inject` the one for every unlabelled namespace. The chart renders these for a revision
/// (`injector`) and for a revision tag (`install::tag`).
pub(crate) fn injection_selectors(
    rev: &str,
    default: bool,
    auto_inject: bool,
) -> Vec<(&'static str, Value, Value)> {
    let mut out = vec![
        // A namespace that selects this revision, unless the pod opts out.
        (
            "rev.namespace.",
            selector(vec![
                expression(REV_LABEL, "In", &[rev]),
                expression(INJECTION_LABEL, "DoesNotExist", &[]),
            ]),
            selector(vec![expression(INJECT_LABEL, "NotIn", &["false"])]),
        ),
        // A pod that selects this revision, in a namespace without injection labels.
        (
            "rev.object.",
            selector(vec![
                expression(REV_LABEL, "DoesNotExist", &[]),
                expression(INJECTION_LABEL, "DoesNotExist", &[]),
            ]),
            selector(vec![
                expression(INJECT_LABEL, "NotIn", &["false"]),
                expression(REV_LABEL, "In", &[rev]),
            ]),
        ),
    ];
    if !default {
        return out;
    }
    out.extend([
        // The classic `istio-injection=enabled` namespace label.
        (
            "namespace.",
            selector(vec![expression(INJECTION_LABEL, "In", &["enabled"])]),
            selector(vec![expression(INJECT_LABEL, "NotIn", &["false"])]),
        ),
        // A pod labelled `sidecar.istio.io/inject=true` in an unlabelled namespace.
        (
            "object.",
            selector(vec![
                expression(INJECTION_LABEL, "DoesNotExist", &[]),
                expression(REV_LABEL, "DoesNotExist", &[]),
            ]),
            selector(vec![
                expression(INJECT_LABEL, "In", &["true"]),
                expression(REV_LABEL, "DoesNotExist", &[]),
            ]),
        ),
    ]);
    if auto_inject {
        // Every namespace without labels, except Kubernetes' own.
        out.push((
            "auto.",
            selector(vec![
                expression(INJECTION_LABEL, "DoesNotExist", &[]),
                expression(REV_LABEL, "DoesNotExist", &[]),
                expression("kubernetes.io/metadata.name", "NotIn", &SYSTEM_NAMESPACES),
            ]),
            selector(vec![
                expression(INJECT_LABEL, "DoesNotExist", &[]),
                expression(REV_LABEL, "DoesNotExist", &[]),
            ]),
        ));
    }
    out
}

/// Where this revision's injection webhooks send pods: `istiodRemote.injectionURL` when set,
/// else the control plane's Service.
fn injector_client(ctx: &Ctx) -> Value {
    let mut client = Map::new();
    match ctx
        .values()
        .istiod_remote
        .as_ref()
        .and_then(|r| r.injection_url.as_deref())
        .filter(|u| !u.is_empty())
    {
        Some(url) => {
            client.insert("url".into(), url.into());
        }
        None => {
            client.insert(
                "service".into(),
                json!({
                    "name": ctx.istiod_name(),
                    "namespace": ctx.pilot_namespace,
                    "path": "/inject",
                    "port": 443,
                }),
            );
        }
    }
    Value::Object(client)
}

/// `istio-sidecar-injector[-<rev>]`: which pods this revision injects.
pub(super) fn injector(ctx: &Ctx) -> Value {
    let auto_inject = ctx
        .values()
        .sidecar_injector_webhook
        .as_ref()
        .and_then(|s| s.enable_namespaces_by_default)
        .unwrap_or(false);
    let webhooks = injection_selectors(ctx.rev_label(), ctx.revision.is_none(), auto_inject)
        .into_iter()
        .map(|(prefix, namespace, object)| {
            injection_webhook(prefix, injector_client(ctx), "Never", namespace, object)
        })
        .collect();
    let mut o = object(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        metadata(
            &ctx.injector_webhook_name(),
            None,
            ctx.labels(Component::Pilot, "sidecar-injector"),
        ),
    );
    o.insert("webhooks".into(), Value::Array(webhooks));
    Value::Object(o)
}

/// A validation webhook on the Istio API groups. It fails open (`Ignore`) until the control
/// plane patches in its CA bundle and switches it to `Fail`, as istiod does.
fn validation_webhook(name: &str, service: &str, ctx: &Ctx, object_rev: Option<&str>) -> Value {
    let mut w = Map::new();
    w.insert("name".into(), name.into());
    w.insert(
        "clientConfig".into(),
        json!({"service": {
            "name": service,
            "namespace": ctx.pilot_namespace,
            "path": "/validate",
            "port": 443,
        }}),
    );
    w.insert(
        "rules".into(),
        json!([{
            "operations": ["CREATE", "UPDATE"],
            "apiGroups": ISTIO_API_GROUPS,
            "apiVersions": ["*"],
            "resources": ["*"],
        }]),
    );
    w.insert("failurePolicy".into(), "Ignore".into());
    w.insert("sideEffects".into(), "None".into());
    w.insert("admissionReviewVersions".into(), json!(["v1"]));
    if let Some(rev) = object_rev {
        w.insert(
            "objectSelector".into(),
            selector(vec![expression(REV_LABEL, "In", &[rev])]),
        );
    }
    Value::Object(w)
}

fn validator_labels(ctx: &Ctx, component: Component, rev: &str) -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert("app".into(), "istiod".into());
    labels.insert(REV_LABEL.into(), rev.into());
    labels.insert(OWNER_LABEL.into(), ctx.owner.as_str().into());
    labels.insert(
        super::names::COMPONENT_LABEL.into(),
        component.name().into(),
    );
    labels.insert("istio".into(), "istiod".into());
    labels
}

/// `istio-validator[-<rev>]-<istioNamespace>`: validates the objects labelled for this revision.
pub(super) fn revision_validator(ctx: &Ctx) -> Value {
    let mut o = object(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        metadata(
            &ctx.validator_webhook_name(),
            None,
            validator_labels(ctx, Component::Pilot, ctx.rev_label()),
        ),
    );
    o.insert(
        "webhooks".into(),
        json!([validation_webhook(
            "rev.validation.istio.io",
            &ctx.istiod_name(),
            ctx,
            Some(ctx.rev_label()),
        )]),
    );
    Value::Object(o)
}

/// `istiod-default-validator`: validates every Istio object, served by the default revision.
/// Omitted for a canary (unless `values.defaultRevision` names one) and when
/// `values.global.configValidation` is false.
pub(super) fn default_validator(ctx: &Ctx) -> Option<Value> {
    let target = default_validator_target(ctx)?;
    if !ctx.config_validation() {
        return None;
    }
    let service = istiod_service(&target);
    let mut o = object(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        metadata(
            DEFAULT_VALIDATOR,
            None,
            validator_labels(ctx, Component::Base, &target),
        ),
    );
    o.insert(
        "webhooks".into(),
        json!([validation_webhook(
            "validation.istio.io",
            &service,
            ctx,
            None
        )]),
    );
    Some(Value::Object(o))
}

/// The CEL rules of the `stable` profile: only stable API fields and kinds are admitted.
const STABLE_TELEMETRY_RULE: &str = "!(
  variables.isTelemetry && (
    (has(object.spec.tracing) ? object.spec.tracing : {}).exists(t, has(t.useRequestIdForTraceSampling)) ||
    (has(object.spec.metrics) ? object.spec.metrics : {}).exists(m, has(m.reportingInterval)) ||
    (has(object.spec.accessLogging) ? object.spec.accessLogging : {}).exists(l, has(l.filter))
  )
)
";

/// `values.experimental.stableValidationPolicy`: a ValidatingAdmissionPolicy and its binding.
/// `default` renders the cluster-wide policy of the default revision (Base); otherwise the
/// policy for this revision's objects (Pilot).
pub(super) fn stable_policy(ctx: &Ctx, default: bool) -> Vec<Value> {
    let enabled = ctx
        .values()
        .experimental
        .as_ref()
        .and_then(|e| e.stable_validation_policy)
        .unwrap_or(false);
    if !enabled {
        return Vec::new();
    }
    let (name, binding, component, rev) = if default {
        let Some(target) = default_validator_target(ctx) else {
            return Vec::new();
        };
        (
            "stable-channel-default-policy.istio.io".to_string(),
            "stable-channel-default-policy-binding.istio.io".to_string(),
            Component::Base,
            target,
        )
    } else {
        (
            format!(
                "{}-{}.istio.io",
                ctx.revisioned("stable-channel-policy"),
                ctx.istio_namespace
            ),
            format!(
                "{}-{}.istio.io",
                ctx.revisioned("stable-channel-policy-binding"),
                ctx.istio_namespace
            ),
            Component::Pilot,
            ctx.rev_label().to_string(),
        )
    };
    let mut match_constraints = Map::new();
    match_constraints.insert(
        "resourceRules".into(),
        json!([{
            "apiGroups": ISTIO_API_GROUPS,
            "apiVersions": ["*"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["*"],
        }]),
    );
    if !default {
        match_constraints.insert(
            "objectSelector".into(),
            selector(vec![expression(REV_LABEL, "In", &[&rev])]),
        );
    }
    let variable = |name: &str, kind: &str| json!({"name": name, "expression": format!("object.kind == '{kind}'")});
    let labels = validator_labels(ctx, component, &rev);
    let mut policy = object(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
        metadata(&name, None, labels.clone()),
    );
    policy.insert(
        "spec".into(),
        json!({
            "failurePolicy": "Fail",
            "matchConstraints": match_constraints,
            "variables": [
                variable("isEnvoyFilter", "EnvoyFilter"),
                variable("isWasmPlugin", "WasmPlugin"),
                variable("isProxyConfig", "ProxyConfig"),
                variable("isTelemetry", "Telemetry"),
            ],
            "validations": [
                {"expression": "!variables.isEnvoyFilter"},
                {"expression": "!variables.isWasmPlugin"},
                {"expression": "!variables.isProxyConfig"},
                {"expression": STABLE_TELEMETRY_RULE},
            ],
        }),
    );
    let mut bind = object(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
        metadata(&binding, None, labels),
    );
    bind.insert(
        "spec".into(),
        json!({"policyName": name, "validationActions": ["Deny"]}),
    );
    vec![Value::Object(policy), Value::Object(bind)]
}
