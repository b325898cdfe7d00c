//! The running control plane pods of a cluster, as istioctl finds istiod for `proxy-status` and
//! `version`: pods of the Istio namespace matching `app=istiod` (or `--xds-label`), with
//! `istio.io/rev=<revision>` added for `-r`, in phase Running.

use ::kube::Client;
use ::kube::api::{Api, ListParams};
use k8s_openapi::api::core::v1::Pod;

use super::api_message;

/// istioctl's default `--xds-label`.
pub const ISTIOD_SELECTOR: &str = "app=istiod";

/// The label that names a control plane pod's revision.
pub const REVISION_LABEL: &str = "istio.io/rev";

#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    /// istioctl's `ControlPlaneNotFoundError`.
    #[error("no running Istio pods in {namespace:?}")]
    NotFound { namespace: String },
    #[error("unable to retrieve Pods: {0}")]
    List(String),
}

/// `selector` with the revision's label added, as istioctl's revisioned client does.
pub fn selector(label: Option<&str>, revision: Option<&str>) -> String {
    let mut selector = label
        .filter(|l| !l.is_empty())
        .unwrap_or(ISTIOD_SELECTOR)
        .to_string();
    if let Some(rev) = revision.filter(|r| !r.is_empty()) {
        selector.push_str(&format!(",{REVISION_LABEL}={rev}"));
    }
    selector
}

/// The running pods of `namespace` that `selector` picks, by name; none is an error.
pub async fn running(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<Pod>, ControlPlaneError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default()
        .labels(selector)
        .fields("status.phase=Running");
    let mut found = pods
        .list(&params)
        .await
        .map_err(|e| ControlPlaneError::List(api_message(&e)))?
        .items;
    if found.is_empty() {
        return Err(ControlPlaneError::NotFound {
            namespace: namespace.to_string(),
        });
    }
    found.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(found)
}

/// The pod's name (the ISTIOD column) and the revision its label gives (`default` without one).
pub fn name_and_revision(pod: &Pod) -> (String, String) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let revision = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_LABEL))
        .cloned()
        .unwrap_or_else(|| "default".to_string());
    (name, revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_narrows_the_selector() {
        assert_eq!(selector(None, None), "app=istiod");
        assert_eq!(selector(Some(""), Some("")), "app=istiod");
        assert_eq!(
            selector(None, Some("canary")),
            "app=istiod,istio.io/rev=canary"
        );
        assert_eq!(
            selector(Some("istio=pilot"), Some("1-24")),
            "istio=pilot,istio.io/rev=1-24"
        );
    }

    #[test]
    fn no_pods_reads_as_istioctl_says_it() {
        let e = ControlPlaneError::NotFound {
            namespace: "istio-system".into(),
        };
        assert_eq!(e.to_string(), "no running Istio pods in \"istio-system\"");
    }
}
