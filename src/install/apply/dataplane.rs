//! The data plane a control plane revision serves, as the cluster shows it: the pods its
//! injector injected and the namespaces labelled for its injection. `uninstall` warns about both
//! before removing a revision, as istioctl warns about "proxies pointing to the control plane
//! revision". istioctl asks the running istiod which proxies are connected; Ferry reads what
//! injection left on the pods (`istio.io/rev` and the `sidecar.istio.io/status` annotation), so
//! the answer does not depend on a control plane that may already be broken.
//!
//! A revision answers to its own name and to every revision tag pointing at it (a pod injected
//! through tag `prod` is labelled `istio.io/rev=prod`), and namespaces labelled
//! `istio-injection=enabled` belong to whichever revision the `default` tag points at, or to the
//! `default` revision when there is no such tag.

use std::collections::BTreeSet;

use kube::Client;
use kube::api::ListParams;
use serde_json::Value;

use super::{ApplyError, api_for, message};
use crate::inject::STATUS_ANNOTATION;
use crate::install::render::names::{INJECTION_LABEL, REV_LABEL};
use crate::install::tag::{DEFAULT_TAG, TAG_LABEL};

/// What of the data plane still depends on one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataPlane {
    /// The injected pods, as `<pod>.<namespace>` (istioctl's proxy IDs), sorted.
    pub proxies: Vec<String>,
    /// The namespaces whose new pods the revision injects, sorted.
    pub namespaces: Vec<String>,
}

/// The names pods and namespaces use for `revision`: itself and its tags, from the tags'
/// webhook configurations (`tag_webhooks`: MutatingWebhookConfigurations labelled
/// `istio.io/tag`); and whether `istio-injection=enabled` namespaces are the revision's.
pub fn injection_names(revision: &str, tag_webhooks: &[Value]) -> (BTreeSet<String>, bool) {
    let label = |w: &Value, key: &str| w["metadata"]["labels"][key].as_str().map(str::to_string);
    let mut names = BTreeSet::from([revision.to_string()]);
    let mut default_tag_target = None;
    for w in tag_webhooks {
        let (Some(tag), Some(rev)) = (label(w, TAG_LABEL), label(w, REV_LABEL)) else {
            continue;
        };
        if tag == DEFAULT_TAG {
            default_tag_target = Some(rev.clone());
        }
        if rev == revision {
            names.insert(tag);
        }
    }
    let classic = default_tag_target.as_deref().unwrap_or("default") == revision;
    (names, classic)
}

/// Whether `pod` (as JSON) runs a sidecar injected by one of `names`: it carries the injection
/// status annotation and one of the names as its `istio.io/rev` label, and it has neither
/// finished nor is it being deleted (a proxy that is going away depends on nothing).
pub fn is_injected_proxy(pod: &Value, names: &BTreeSet<String>) -> bool {
    let meta = &pod["metadata"];
    let injected = meta["annotations"][STATUS_ANNOTATION].is_string();
    let ours = meta["labels"][REV_LABEL]
        .as_str()
        .is_some_and(|r| names.contains(r));
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    injected && ours && !finished && meta["deletionTimestamp"].is_null()
}

/// The pods and namespaces that depend on `revision` (see the module docs).
pub async fn data_plane(client: &Client, revision: &str) -> Result<DataPlane, ApplyError> {
    let tag_webhooks = list(
        client,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        TAG_LABEL,
    )
    .await?;
    let (names, classic) = injection_names(revision, &tag_webhooks);
    let selector = format!(
        "{REV_LABEL} in ({})",
        names.iter().cloned().collect::<Vec<_>>().join(",")
    );
    let mut proxies: Vec<String> = list(client, "v1", "Pod", &selector)
        .await?
        .iter()
        .filter(|p| is_injected_proxy(p, &names))
        .map(|p| {
            let s = |k: &str| p["metadata"][k].as_str().unwrap_or_default();
            format!("{}.{}", s("name"), s("namespace"))
        })
        .collect();
    proxies.sort();
    let mut namespaces: BTreeSet<String> = list(client, "v1", "Namespace", &selector)
        .await?
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    if classic {
        let enabled = format!("{INJECTION_LABEL}=enabled");
        for n in list(client, "v1", "Namespace", &enabled).await? {
            // `istio.io/rev` wins over `istio-injection` only when both are set the other way:
            // Istio's webhooks never inject a namespace that has both, so it is listed either way.
            if let Some(name) = n["metadata"]["name"].as_str() {
                namespaces.insert(name.to_string());
            }
        }
    }
    Ok(DataPlane {
        proxies,
        namespaces: namespaces.into_iter().collect(),
    })
}

/// Every object of `kind` in the cluster that `selector` picks, as JSON.
async fn list(
    client: &Client,
    api_version: &str,
    kind: &str,
    selector: &str,
) -> Result<Vec<Value>, ApplyError> {
    let list = api_for(client, api_version, kind, None)
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| ApplyError::Read {
            what: format!("{kind} objects labelled {selector}"),
            message: message(&e),
        })?;
    Ok(list
        .items
        .iter()
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tag(tag: &str, rev: &str) -> Value {
        json!({"metadata": {"labels": {"istio.io/tag": tag, "istio.io/rev": rev}}})
    }

    #[test]
    fn a_revision_answers_to_its_tags() {
        let webhooks = [tag("prod", "canary"), tag("stable", "default")];
        let (names, classic) = injection_names("canary", &webhooks);
        assert_eq!(names, BTreeSet::from(["canary".into(), "prod".into()]));
        assert!(
            !classic,
            "no default tag: istio-injection=enabled is revision default's"
        );
        let (names, classic) = injection_names("default", &webhooks);
        assert_eq!(names, BTreeSet::from(["default".into(), "stable".into()]));
        assert!(classic);
    }

    #[test]
    fn the_default_tag_takes_the_classic_label_with_it() {
        let webhooks = [tag("default", "canary")];
        let (names, classic) = injection_names("canary", &webhooks);
        assert!(classic);
        assert!(names.contains("default"), "{names:?}");
        assert!(!injection_names("default", &webhooks).1);
    }

    #[test]
    fn only_running_injected_pods_are_proxies() {
        let names = BTreeSet::from(["canary".to_string()]);
        let pod = |labels: Value, annotations: Value, extra: Value| {
            let mut p = json!({"metadata": {"name": "p", "labels": labels,
                                            "annotations": annotations},
                               "status": {"phase": "Running"}});
            if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
                for (k, v) in extra {
                    p.insert(k.clone(), v.clone());
                }
            }
            p
        };
        let status = json!({"sidecar.istio.io/status": "{}"});
        let rev = json!({"istio.io/rev": "canary"});
        assert!(is_injected_proxy(
            &pod(rev.clone(), status.clone(), json!({})),
            &names
        ));
        // The control plane's own pods carry the label but were never injected.
        assert!(!is_injected_proxy(
            &pod(rev.clone(), json!({}), json!({})),
            &names
        ));
        assert!(!is_injected_proxy(
            &pod(json!({"istio.io/rev": "other"}), status.clone(), json!({})),
            &names
        ));
        assert!(!is_injected_proxy(
            &pod(
                rev.clone(),
                status.clone(),
                json!({"status": {"phase": "Succeeded"}})
            ),
            &names
        ));
        let mut going = pod(rev, status, json!({}));
        going["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert!(!is_injected_proxy(&going, &names));
    }
}
