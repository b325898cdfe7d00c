//! `x precheck`'s rules: what a cluster must offer before Istio is installed or upgraded into it
//! (istioctl `istioctl/pkg/precheck`), as pure functions from what the cluster said to analysis
//! messages. `cli::precheck` asks the cluster; nothing here does I/O.

use crate::analyze::catalog;
use crate::analyze::message::{Arg, Message, MessageOrigin, render};

/// The oldest Kubernetes minor release Istio supports (istioctl `k8sversion.MinK8SVersion`).
pub const MIN_KUBERNETES_MINOR: u32 = 32;

/// Label a control plane's objects carry to name their revision.
pub const REVISION_LABEL: &str = "istio.io/rev";

/// Label selector of istiod Deployments of `revision`.
pub fn control_plane_selector(revision: &str) -> String {
    format!("app=istiod,{REVISION_LABEL}={revision}")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrecheckError {
    #[error(
        "the cluster reports Kubernetes version {0:?}, which is not of the form v<major>.<minor>"
    )]
    UnparsableKubernetesVersion(String),
}

/// One thing an install creates, asked of the cluster as a SelfSubjectAccessReview for `create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub group: &'static str,
    pub version: &'static str,
    pub resource: &'static str,
    /// Whether the resource lives in the Istio namespace (the review is asked there) rather than
    /// being cluster-scoped.
    pub namespaced: bool,
}

const fn cluster(group: &'static str, resource: &'static str) -> Permission {
    Permission {
        group,
        version: "v1",
        resource,
        namespaced: false,
    }
}

const fn in_istio_namespace(group: &'static str, resource: &'static str) -> Permission {
    Permission {
        group,
        version: "v1",
        resource,
        namespaced: true,
    }
}

/// What an install creates, in istioctl's order (its `checkInstallPermissions`).
pub const INSTALL_PERMISSIONS: &[Permission] = &[
    cluster("", "namespaces"),
    cluster("rbac.authorization.k8s.io", "clusterroles"),
    cluster("rbac.authorization.k8s.io", "clusterrolebindings"),
    cluster("apiextensions.k8s.io", "customresourcedefinitions"),
    in_istio_namespace("rbac.authorization.k8s.io", "roles"),
    in_istio_namespace("", "serviceaccounts"),
    in_istio_namespace("", "services"),
    in_istio_namespace("apps", "deployments"),
    in_istio_namespace("", "configmaps"),
    cluster(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    cluster(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
];

/// The origin istioctl gives findings about the cluster as a whole: it prints as `(Cluster)` and
/// has no file reference.
fn cluster_origin() -> MessageOrigin {
    MessageOrigin {
        friendly_name: "Cluster".to_string(),
        comparator: "Cluster".to_string(),
        namespace: None,
        cluster_scoped: true,
        file: String::new(),
        line: 0,
        suppress: None,
    }
}

fn about_cluster(typ: &'static crate::analyze::message::MessageType, args: &[Arg]) -> Message {
    Message {
        typ,
        text: render(typ.template, args),
        origin: Some(cluster_origin()),
    }
}

/// The minor release of a `gitVersion` such as `v1.33.1` or `v1.32.0-gke.1`; a major release
/// above 1 counts as newer than any 1.x.
fn minor_of(git_version: &str) -> Result<(u32, u32), PrecheckError> {
    let bad = || PrecheckError::UnparsableKubernetesVersion(git_version.to_string());
    let trimmed = git_version.trim_start_matches('v');
    let mut parts = trimmed.split('.');
    let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    // Providers append suffixes (`32+`, `32-eks`): the leading digits are the release.
    let minor_text: String = parts
        .next()
        .ok_or_else(bad)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let minor = minor_text.parse().map_err(|_| bad())?;
    Ok((major, minor))
}

/// IST0142 when the apiserver's `gitVersion` is older than [`MIN_KUBERNETES_MINOR`].
pub fn kubernetes_version(git_version: &str) -> Result<Option<Message>, PrecheckError> {
    let (major, minor) = minor_of(git_version)?;
    if major > 1 || minor >= MIN_KUBERNETES_MINOR {
        return Ok(None);
    }
    Ok(Some(about_cluster(
        &catalog::IST0142,
        &[
            git_version.into(),
            format!("1.{MIN_KUBERNETES_MINOR}").into(),
        ],
    )))
}

/// IST0141 for a permission the cluster denied, with its reason (or istioctl's "permission
/// denied" when the authorizer gave none).
pub fn insufficient_permission(permission: &Permission, reason: &str) -> Message {
    let reason = if reason.is_empty() {
        "permission denied"
    } else {
        reason
    };
    about_cluster(
        &catalog::IST0141,
        &[permission.resource.into(), reason.into()],
    )
}

/// FRY0001 for an istiod Deployment of the revision about to be installed: installing again
/// replaces it in place rather than alongside, which a canary upgrade did not mean to do.
pub fn existing_revision(revision: &str, namespace: &str, deployment: &str) -> Message {
    about_cluster(
        &catalog::FRY0001,
        &[revision.into(), format!("{namespace}/{deployment}").into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_below_the_minimum_are_unsupported() {
        let m = kubernetes_version("v1.31.4")
            .expect("parses")
            .expect("unsupported");
        assert_eq!(m.typ.code, "IST0142");
        assert_eq!(
            m.plain(),
            "Error [IST0142] (Cluster) The Kubernetes Version \"v1.31.4\" is lower than the minimum version: 1.32"
        );
    }

    #[test]
    fn the_minimum_and_newer_are_supported() {
        assert_eq!(kubernetes_version("v1.32.0"), Ok(None));
        assert_eq!(kubernetes_version("v1.34.1+k3s1"), Ok(None));
        assert_eq!(kubernetes_version("v2.0.0"), Ok(None));
    }

    #[test]
    fn provider_suffixes_are_read_past() {
        assert!(kubernetes_version("v1.29-eks").expect("parses").is_some());
        assert!(
            kubernetes_version("1.28.3-gke.100")
                .expect("parses")
                .is_some()
        );
    }

    #[test]
    fn garbage_versions_are_errors() {
        for v in ["", "v", "vx.y", "v1", "v1.x"] {
            assert!(kubernetes_version(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn denied_permissions_name_the_resource() {
        let m = insufficient_permission(&INSTALL_PERMISSIONS[0], "");
        assert_eq!(
            m.plain(),
            "Error [IST0141] (Cluster) Missing required permission to create resource namespaces (permission denied)"
        );
    }
}
