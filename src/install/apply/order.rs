//! The order objects are applied in, and the kinds an install can own (what pruning looks for).
//! Pure: no I/O.

/// Where an object of `kind` goes in the apply order: CRDs first (their kinds must be served
/// before anything uses them), then namespaces, accounts and RBAC (what workloads run as), their
/// configuration, Services, workloads, scaling, and admission webhooks last, so a webhook never
/// intercepts requests before the control plane it calls exists.
pub fn rank(kind: &str) -> u8 {
    match kind {
        "CustomResourceDefinition" => 0,
        "Namespace" => 1,
        "ServiceAccount" => 2,
        "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => 3,
        "ConfigMap" | "Secret" => 4,
        "Service" => 5,
        "Deployment" | "DaemonSet" | "StatefulSet" => 6,
        "HorizontalPodAutoscaler" | "PodDisruptionBudget" => 7,
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => 9,
        _ => 8,
    }
}

/// Every `apiVersion`/`kind` an install renders with Ferry's ownership labels: the kinds listed
/// when looking for objects to prune or uninstall. CRDs are not here: they carry no ownership
/// labels and are shared by every revision (Istio keeps them too).
pub const OWNED_KINDS: [(&str, &str); 13] = [
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::render::{self, names::COMPONENT_LABEL};
    use crate::install::resolve::{ResolveInput, resolve};

    fn rendered(sets: &[&str]) -> Vec<render::Rendered> {
        let resolved = resolve(&ResolveInput {
            files: Vec::new(),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            revision: Some("canary".into()),
            force: false,
        })
        .expect("resolves");
        render::render(&resolved.iop).expect("renders")
    }

    /// A kind rendered with ownership labels but missing from `OWNED_KINDS` would never be
    /// pruned: every profile's objects must be covered.
    #[test]
    fn every_owned_kind_is_listed_for_pruning() {
        for profile in ["default", "demo", "minimal", "remote"] {
            for r in rendered(&[&format!("profile={profile}")]) {
                if r.object["metadata"]["labels"][COMPONENT_LABEL].is_null() {
                    continue;
                }
                let wanted = (
                    r.object["apiVersion"].as_str().unwrap_or_default(),
                    r.object["kind"].as_str().unwrap_or_default(),
                );
                assert!(
                    OWNED_KINDS.contains(&wanted),
                    "{wanted:?} of profile {profile} is not in OWNED_KINDS"
                );
            }
        }
    }

    #[test]
    fn webhooks_come_last_and_crds_first() {
        let mut kinds = vec![
            "ValidatingWebhookConfiguration",
            "Deployment",
            "CustomResourceDefinition",
            "ServiceAccount",
            "Service",
            "ConfigMap",
            "ClusterRole",
        ];
        kinds.sort_by_key(|k| rank(k));
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition",
                "ServiceAccount",
                "ClusterRole",
                "ConfigMap",
                "Service",
                "Deployment",
                "ValidatingWebhookConfiguration"
            ]
        );
    }
}
