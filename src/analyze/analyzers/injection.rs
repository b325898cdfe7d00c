//! `injection.Analyzer`: namespaces should say whether Istio injects them (IST0102, or IST0148
//! when the injector enables namespaces by default), should carry only one kind of injection
//! label (IST0123), and pods in injected namespaces should have their proxy (IST0103).
//!
//! Istio lists ConfigMap as an input; Ferry requires only Namespace and Pod and reads the
//! injector ConfigMap when the inputs include it, since a repository rarely ships Istio's own
//! install ConfigMaps and the namespace checks do not depend on it.

use std::collections::HashSet;

use crate::analyze::catalog::{IST0102, IST0103, IST0123, IST0148};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::Spec;

pub const ANALYZER: Analyzer = Analyzer {
    name: "injection.Analyzer",
    description: "Checks conditions related to Istio sidecar injection",
    inputs: &[Kind::Namespace, Kind::Pod],
    reads: &[
        Kind::Namespace,
        Kind::ConfigMap,
        Kind::Pod,
        Kind::Deployment,
    ],
    run,
};

pub(crate) const INJECTION_LABEL: &str = "istio-injection";
pub(crate) const REVISION_LABEL: &str = "istio.io/rev";
const DATAPLANE_MODE_LABEL: &str = "istio.io/dataplane-mode";
pub(crate) const INJECT_KEY: &str = "sidecar.istio.io/inject";

/// `util.GetInjectorConfigMapName`: the injector ConfigMap of a revision.
pub(crate) fn injector_configmap_name(revision: &str) -> String {
    if revision.is_empty() || revision == "default" {
        "istio-sidecar-injector".to_string()
    } else {
        format!("istio-sidecar-injector-{revision}")
    }
}

/// `sidecarInjectorWebhook.enableNamespacesByDefault` from the ConfigMap's `values` JSON; false
/// when the JSON or the field is missing or malformed (where Istio's type assertions would panic).
fn enable_namespaces_by_default(data: &std::collections::BTreeMap<String, String>) -> bool {
    data.get("values")
        .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        .and_then(|v| {
            v.get("sidecarInjectorWebhook")?
                .get("enableNamespacesByDefault")?
                .as_bool()
        })
        .unwrap_or(false)
}

fn run(ctx: &mut Context<'_>) {
    // Istio declares this once, outside the namespace loop, and never resets it: a namespace
    // without a matching injector ConfigMap inherits the previous namespace's value.
    let mut by_default = false;
    let mut injected: HashSet<&str> = HashSet::new();
    for r in ctx.of(Kind::Namespace) {
        let ns = r.name();
        if ns == "istio-system" {
            continue;
        }
        let labels = r.labels();
        let injection = labels.get(INJECTION_LABEL);
        let revision = labels.get(REVISION_LABEL);

        let mut istio_labels: Vec<String> = Vec::new();
        if let Some(v) = injection {
            istio_labels.push(format!("{INJECTION_LABEL}={v}"));
        }
        for l in [REVISION_LABEL, DATAPLANE_MODE_LABEL] {
            if let Some(v) = labels.get(l)
                && injection.is_none_or(|i| i == "enabled")
            {
                istio_labels.push(format!("{l}={v}"));
            }
        }
        if istio_labels.len() > 1 {
            ctx.report(&IST0123, r, None, &[istio_labels.into()]);
        }

        if labels.get(DATAPLANE_MODE_LABEL).map(String::as_str) == Some("ambient") {
            continue;
        }

        let cm_name = injector_configmap_name(revision.map_or("", String::as_str));
        if let Some(data) = ctx.of(Kind::ConfigMap).find_map(|cm| match &cm.spec {
            Spec::ConfigMap(data) if cm.name() == cm_name => Some(data),
            _ => None,
        }) {
            by_default = enable_namespaces_by_default(data);
        }

        if injection.is_none_or(|i| i.is_empty()) && revision.is_none() {
            if by_default {
                ctx.report(&IST0148, r, None, &[]);
            } else {
                ctx.report(
                    &IST0102,
                    r,
                    Some("{.metadata.name}"),
                    &[ns.into(), ns.into()],
                );
            }
            continue;
        }
        // Newest Istio: a namespace labelled only with a revision stops here too.
        if injection.map(String::as_str) != Some("enabled") {
            continue;
        }
        injected.insert(ns);
    }

    // Only real Pod objects: a Deployment's (or other workload's) template is what the webhook
    // injects into, so it never holds the proxy and "pod missing proxy" would be noise.
    for w in ctx.workloads.iter().filter(|w| w.is_pod()) {
        if !injected.contains(w.namespace) {
            continue;
        }
        // The label overrides the (deprecated) annotation.
        let inject = w
            .labels
            .get(INJECT_KEY)
            .or_else(|| w.annotations.get(INJECT_KEY));
        if inject.is_some_and(|v| v.eq_ignore_ascii_case("false")) {
            continue;
        }
        if w.spec.host_network == Some(true) {
            continue;
        }
        let proxy_image = w
            .spec
            .containers
            .iter()
            .chain(&w.spec.init_containers)
            .find(|c| c.name == "istio-proxy")
            .and_then(|c| c.image.as_deref())
            .unwrap_or_default();
        if proxy_image.is_empty() {
            let name = format!("{}/{}", w.namespace, w.resource.name());
            ctx.report(&IST0103, w.resource, None, &[name.into()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const FIXTURE: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: default
  labels: {istio-injection: enabled}
---
apiVersion: v1
kind: Namespace
metadata:
  name: foo
  labels: {istio-injection: disabled, istio.io/rev: canary}
---
apiVersion: v1
kind: Namespace
metadata:
  name: bar
---
apiVersion: v1
kind: Namespace
metadata:
  name: canary-test
  labels: {istio.io/rev: canary}
---
apiVersion: v1
kind: Namespace
metadata:
  name: busted
  labels: {istio-injection: enabled, istio.io/rev: canary}
---
apiVersion: v1
kind: Namespace
metadata:
  name: multi-ns-1
  labels: {istio.io/rev: canary, istio.io/dataplane-mode: ambient}
---
apiVersion: v1
kind: Pod
metadata: {name: injectedpod, namespace: default}
spec:
  containers:
  - {name: server, image: app}
  - {name: istio-proxy, image: docker.io/istio/proxyv2:1.3.0}
---
apiVersion: v1
kind: Pod
metadata: {name: noninjectedpod, namespace: default}
spec:
  containers: [{name: server, image: app}]
---
apiVersion: v1
kind: Pod
metadata:
  name: podinjectiondisabled
  namespace: default
  annotations: {sidecar.istio.io/inject: "false"}
spec:
  containers: [{name: server, image: app}]
---
apiVersion: v1
kind: Pod
metadata:
  name: labeldisabled
  namespace: default
  labels: {sidecar.istio.io/inject: "False"}
  annotations: {sidecar.istio.io/inject: "true"}
spec:
  containers: [{name: server, image: app}]
---
apiVersion: v1
kind: Pod
metadata: {name: nativesidecar, namespace: default}
spec:
  initContainers: [{name: istio-proxy, image: proxyv2}]
  containers: [{name: server, image: app}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: template, namespace: default}
spec:
  template:
    spec:
      containers: [{name: server, image: app}]
"#;

    #[test]
    fn namespaces_and_pods() {
        assert_eq!(
            run(&ANALYZER, FIXTURE),
            vec![
                pair("IST0102", "Namespace bar"),
                pair("IST0103", "Pod default/noninjectedpod"),
                pair("IST0123", "Namespace busted"),
                pair("IST0123", "Namespace multi-ns-1"),
            ]
        );
    }

    #[test]
    fn message_texts() {
        assert_eq!(
            lines(&ANALYZER, FIXTURE),
            vec![
                "Info [IST0102] (Namespace bar test.yaml:16) The namespace is not enabled for Istio injection. Run 'kubectl label namespace bar istio-injection=enabled' to enable it, or 'kubectl label namespace bar istio-injection=disabled' to explicitly mark it as not needing injection.",
                "Warning [IST0103] (Pod default/noninjectedpod test.yaml:44) The pod default/noninjectedpod is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.",
                "Warning [IST0123] (Namespace busted test.yaml:24) The namespace has more than one type of injection labels [istio-injection=enabled istio.io/rev=canary], which may lead to undefined behavior. Make sure only one injection label exists.",
                "Warning [IST0123] (Namespace multi-ns-1 test.yaml:30) The namespace has more than one type of injection labels [istio.io/rev=canary istio.io/dataplane-mode=ambient], which may lead to undefined behavior. Make sure only one injection label exists.",
            ]
        );
    }

    #[test]
    fn enabled_by_default_configmap() {
        let yaml = format!(
            "{FIXTURE}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio-sidecar-injector, namespace: istio-system}}\ndata:\n  values: '{{\"sidecarInjectorWebhook\":{{\"enableNamespacesByDefault\":true}}}}'\n"
        );
        let got = run(&ANALYZER, &yaml);
        assert!(got.contains(&pair("IST0148", "Namespace bar")), "{got:?}");
        assert!(!got.iter().any(|(c, _)| c == "IST0102"), "{got:?}");
    }

    #[test]
    fn labelled_namespaces_pass() {
        let yaml = r#"apiVersion: v1
kind: Namespace
metadata:
  name: app
  labels: {istio-injection: disabled}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: app}
spec:
  containers: [{name: server, image: app}]
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
