//! `injection.ImageAutoAnalyzer`: `image: auto` on an `istio-proxy` container is a placeholder
//! the injection webhook fills in. A Pod that still has it is broken (IST0147); a Deployment with
//! it must be selected by an Istio injection webhook (IST0146).
//!
//! Istio's inputs are Namespace, Pod, Deployment and MutatingWebhookConfiguration. Ferry
//! requires Pod (present whenever any workload is) and MutatingWebhookConfiguration: without the
//! webhooks in the inputs, every gateway-injection Deployment would look unmatched. The Namespace
//! is only looked up for its labels (absent means no labels, as in Istio).

use std::collections::BTreeMap;

use crate::analyze::catalog::{IST0146, IST0147};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::kube::{PodSpec, Webhook};
use crate::config::resource::Spec;
use crate::config::types::LabelSelector;

pub const ANALYZER: Analyzer = Analyzer {
    name: "injection.ImageAutoAnalyzer",
    description: "Makes sure that Pods and Deployments with `image: auto` are going to be injected",
    inputs: &[Kind::Pod, Kind::MutatingWebhookConfiguration],
    reads: &[
        Kind::Namespace,
        Kind::MutatingWebhookConfiguration,
        Kind::Pod,
        Kind::Deployment,
    ],
    run,
};

fn run(ctx: &mut Context<'_>) {
    let webhooks: Vec<&Webhook> = ctx
        .of(Kind::MutatingWebhookConfiguration)
        .filter_map(|r| match &r.spec {
            Spec::Webhooks(w) => Some(w),
            _ => None,
        })
        .flatten()
        .filter(|w| w.name.ends_with("istio.io"))
        .collect();
    for w in ctx.workloads {
        if !has_auto_image(w.spec) {
            continue;
        }
        match w.resource.kind {
            // A running pod with the placeholder image cannot start, whatever the webhooks say.
            Kind::Pod => ctx.report(
                &IST0147,
                w.resource,
                None,
                &["Pod".into(), w.resource.name().into()],
            ),
            Kind::Deployment => {
                let ns_labels = ctx
                    .store
                    .get(Kind::Namespace, "", w.namespace)
                    .map(|n| n.labels());
                let matched = webhooks.iter().any(|wh| {
                    selector_matches(wh.namespace_selector.as_ref(), ns_labels)
                        && selector_matches(wh.object_selector.as_ref(), Some(w.labels))
                });
                if !matched {
                    ctx.report(
                        &IST0146,
                        w.resource,
                        None,
                        &["Deployment".into(), w.resource.name().into()],
                    );
                }
            }
            // Istio checks only Pods and Deployments.
            _ => {}
        }
    }
}

/// An `istio-proxy` regular container (not an init container) with `image: auto`.
fn has_auto_image(spec: &PodSpec) -> bool {
    spec.containers
        .iter()
        .any(|c| c.name == "istio-proxy" && c.image.as_deref() == Some("auto"))
}

/// Webhook selector semantics: an absent selector matches everything; missing labels are empty.
fn selector_matches(
    selector: Option<&LabelSelector>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let empty = BTreeMap::new();
    selector.matches(labels.unwrap_or(&empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const FIXTURE: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: injected
  labels: {istio-injection: enabled}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: namespace.sidecar-injector.istio.io
  clientConfig: {service: {name: fake, namespace: istio-system}}
  namespaceSelector:
    matchLabels: {istio-injection: enabled}
- name: object.sidecar-injector.istio.io
  clientConfig: {service: {name: fake, namespace: istio-system}}
  objectSelector:
    matchLabels: {sidecar.istio.io/inject: "true"}
---
apiVersion: v1
kind: Pod
metadata: {name: injected-pod, namespace: default}
spec:
  containers: [{name: istio-proxy, image: auto}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: non-injected-gateway-deployment, namespace: not-injected}
spec:
  template:
    metadata:
      labels: {istio: ingressgateway}
      annotations: {inject.istio.io/templates: gateway}
    spec:
      containers: [{name: istio-proxy, image: auto}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw-in-injected-ns, namespace: injected}
spec:
  template:
    spec:
      containers: [{name: istio-proxy, image: auto}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw-opted-in, namespace: default}
spec:
  template:
    metadata:
      labels: {sidecar.istio.io/inject: "true"}
    spec:
      containers: [{name: istio-proxy, image: auto}]
"#;

    #[test]
    fn auto_images_outside_injection_fire() {
        assert_eq!(
            run(&ANALYZER, FIXTURE),
            vec![
                pair(
                    "IST0146",
                    "Deployment not-injected/non-injected-gateway-deployment"
                ),
                pair("IST0147", "Pod default/injected-pod"),
            ]
        );
        assert_eq!(
            lines(&ANALYZER, FIXTURE),
            vec![
                "Error [IST0147] (Pod default/injected-pod test.yaml:20) Pod injected-pod contains `image: auto` but does not match any Istio injection webhook selectors.",
                "Warning [IST0146] (Deployment not-injected/non-injected-gateway-deployment test.yaml:26) Deployment non-injected-gateway-deployment contains `image: auto` but does not match any Istio injection webhook selectors.",
            ]
        );
    }

    #[test]
    fn real_images_pass() {
        let yaml = r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: other}
webhooks:
- name: hook.example.com
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  initContainers: [{name: istio-proxy, image: auto}]
  containers: [{name: istio-proxy, image: proxyv2}]
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
