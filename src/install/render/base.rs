//! Base: the cluster-wide objects every install shares (Istio's `base` chart): the reader
//! ServiceAccount that remote control planes use to watch this cluster, with its read-only
//! ClusterRole, and, for the default revision, the `istiod-default-validator` webhook and the
//! stable-channel admission policy. The CRDs belong here too; the caller prepends them.

use serde_json::{Value, json};

use super::istiod::{istio_config_rules, rule, webhook_patch_rules};
use super::{Component, Ctx, metadata, object, webhooks};

pub(super) const READER_SERVICE_ACCOUNT: &str = "istio-reader-service-account";

/// Every Base object, in apply order.
pub(super) fn render(ctx: &Ctx) -> Vec<Value> {
    let mut out = reader(ctx);
    if let Some(v) = webhooks::default_validator(ctx) {
        out.push(v);
    }
    if webhooks::default_validator_target(ctx).is_some() {
        out.extend(webhooks::stable_policy(ctx, true));
    }
    out
}

/// The reader ServiceAccount, ClusterRole and ClusterRoleBinding. The role is named per
/// revision and namespace as Istio's (`istio-reader-clusterrole[-<rev>]-<ns>`), so two control
/// planes can share the account.
fn reader(ctx: &Ctx) -> Vec<Value> {
    let labels = ctx.labels(Component::Base, "istio-reader");
    let sa = object(
        "v1",
        "ServiceAccount",
        metadata(
            READER_SERVICE_ACCOUNT,
            Some(&ctx.istio_namespace),
            labels.clone(),
        ),
    );
    let name = ctx.cluster_scoped("istio-reader-clusterrole");
    let mut rules = istio_config_rules();
    rules.extend([
        // What a control plane in another cluster needs to serve this one's workloads; secrets
        // are the gateways' TLS credentials and the remote cluster secrets.
        rule(
            &[""],
            &[
                "pods",
                "services",
                "nodes",
                "namespaces",
                "secrets",
                "configmaps",
            ],
            &["get", "list", "watch"],
        ),
        rule(
            &["discovery.k8s.io"],
            &["endpointslices"],
            &["get", "list", "watch"],
        ),
        rule(&["apps"], &["replicasets"], &["get", "list", "watch"]),
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            &["get", "list", "watch"],
        ),
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &["create"],
        ),
    ]);
    if ctx.remote {
        // The remote control plane publishes the CA root certificate here and patches this
        // cluster's webhooks, through this account.
        rules.push(rule(&[""], &["configmaps"], &["create", "update"]));
        rules.extend(webhook_patch_rules(ctx));
    }
    let mut cr = object(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        metadata(&name, None, labels.clone()),
    );
    cr.insert("rules".into(), Value::Array(rules));
    let mut crb = object(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        metadata(&name, None, labels),
    );
    crb.insert(
        "roleRef".into(),
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}),
    );
    crb.insert(
        "subjects".into(),
        json!([{"kind": "ServiceAccount", "name": READER_SERVICE_ACCOUNT, "namespace": ctx.istio_namespace}]),
    );
    vec![Value::Object(sa), Value::Object(cr), Value::Object(crb)]
}
