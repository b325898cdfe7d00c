//! `k8sgateway.SelectorAnalyzer`: policies that select the pods of a Kubernetes Gateway by label
//! have no effect there; such gateways are attached to through `targetRef`.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyze::catalog::IST0166;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::config::types::selects;

pub const ANALYZER: Analyzer = Analyzer {
    name: "k8sgateway.SelectorAnalyzer",
    description: "Check that selectors are effective for Kubernetes gateway",
    inputs: &[
        Kind::AuthorizationPolicy,
        Kind::RequestAuthentication,
        Kind::Telemetry,
        Kind::WasmPlugin,
        Kind::Pod,
    ],
    reads: &[
        Kind::AuthorizationPolicy,
        Kind::RequestAuthentication,
        Kind::Telemetry,
        Kind::WasmPlugin,
        Kind::Pod,
        Kind::Deployment,
    ],
    run,
};

/// Label the Gateway API deployment puts on a gateway's pods, naming the gateway.
const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

fn run(ctx: &mut Context<'_>) {
    let mut gateway_pods: BTreeMap<&str, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for w in ctx.workloads {
        if w.labels.contains_key(GATEWAY_NAME_LABEL) {
            gateway_pods.entry(w.namespace).or_default().push(w.labels);
        }
    }
    if gateway_pods.is_empty() {
        return;
    }
    let mut found: Vec<(&Resource, String)> = Vec::new();
    for kind in [
        Kind::AuthorizationPolicy,
        Kind::RequestAuthentication,
        Kind::Telemetry,
        Kind::WasmPlugin,
    ] {
        for r in ctx.of(kind) {
            let Some(selector) = selector_without_target(r) else {
                continue;
            };
            let Some(pods) = gateway_pods.get(r.effective_namespace()) else {
                continue;
            };
            // Several pods of one gateway give the same message; name each gateway once.
            let gateways: BTreeSet<&str> = pods
                .iter()
                .filter(|labels| selects(&selector, labels))
                .filter_map(|labels| labels.get(GATEWAY_NAME_LABEL).map(String::as_str))
                .collect();
            for g in gateways {
                found.push((r, g.to_string()));
            }
        }
    }
    for (r, gateway) in found {
        ctx.report(&IST0166, r, None, &[gateway.into()]);
    }
}

/// The selector's labels of a policy that selects workloads and targets nothing; `None` when it
/// has a target reference or no selector (both of which are fine on a gateway).
fn selector_without_target(r: &Resource) -> Option<BTreeMap<String, String>> {
    let (selector, targeted) = match &r.spec {
        Spec::AuthorizationPolicy(p) => (
            p.selector.as_ref(),
            p.target_ref.is_some() || !p.target_refs.is_empty(),
        ),
        Spec::RequestAuthentication(p) => (
            p.selector.as_ref(),
            p.target_ref.is_some() || !p.target_refs.is_empty(),
        ),
        Spec::Telemetry(p) => (
            p.selector.as_ref(),
            p.target_ref.is_some() || !p.target_refs.is_empty(),
        ),
        // WasmPlugin is read untyped; its selector and targets are plain fields of the spec.
        Spec::Opaque(spec) => {
            let targeted = spec.get("targetRef").is_some_and(|t| !t.is_null())
                || spec
                    .get("targetRefs")
                    .and_then(|t| t.as_array())
                    .is_some_and(|t| !t.is_empty());
            if targeted {
                return None;
            }
            let selector = spec.get("selector").filter(|s| !s.is_null())?;
            let labels = selector
                .get("matchLabels")
                .and_then(|m| m.as_object())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                            (k.clone(), v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Some(labels);
        }
        _ => return None,
    };
    if targeted {
        return None;
    }
    selector.map(|s| s.match_labels.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const FIXTURE: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: bookinfo-gateway-istio-1
  labels:
    gateway.networking.k8s.io/gateway-name: bookinfo-gateway
spec:
  containers:
  - {name: istio-proxy, image: proxyv2}
---
apiVersion: v1
kind: Pod
metadata:
  name: bookinfo-gateway-istio-2
  labels:
    gateway.networking.k8s.io/gateway-name: bookinfo-gateway
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ra-ineffective}
spec:
  selector:
    matchLabels: {gateway.networking.k8s.io/gateway-name: bookinfo-gateway}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap-ineffective}
spec:
  selector:
    matchLabels: {gateway.networking.k8s.io/gateway-name: bookinfo-gateway}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: wasmplugin-ineffective}
spec:
  url: oci://example.com/filter:1
  selector:
    matchLabels: {gateway.networking.k8s.io/gateway-name: bookinfo-gateway}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: telemetry-ineffective}
spec:
  selector:
    matchLabels: {gateway.networking.k8s.io/gateway-name: bookinfo-gateway}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: telemetry-effective}
spec:
  selector:
    matchLabels: {gateway.networking.k8s.io/gateway-name: bookinfo-gateway}
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: bookinfo-gateway}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other-namespace, namespace: other}
spec:
  selector:
    matchLabels: {gateway.networking.k8s.io/gateway-name: bookinfo-gateway}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: app-selector}
spec:
  selector:
    matchLabels: {app: reviews}
"#;

    #[test]
    fn selectors_on_gateway_pods_are_ineffective() {
        assert_eq!(
            run(&ANALYZER, FIXTURE),
            vec![
                pair("IST0166", "AuthorizationPolicy default/ap-ineffective"),
                pair("IST0166", "RequestAuthentication default/ra-ineffective"),
                pair("IST0166", "Telemetry default/telemetry-ineffective"),
                pair("IST0166", "WasmPlugin default/wasmplugin-ineffective"),
            ]
        );
        assert!(lines(&ANALYZER, FIXTURE).contains(&"Warning [IST0166] (AuthorizationPolicy default/ap-ineffective test.yaml:25) Ineffective selector on Kubernetes Gateway bookinfo-gateway. Use the TargetRef field instead.".to_string()));
    }

    #[test]
    fn without_gateway_pods_nothing_is_reported() {
        let yaml = r#"apiVersion: v1
kind: Pod
metadata: {name: reviews, labels: {app: reviews}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews}
spec:
  selector:
    matchLabels: {app: reviews}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
