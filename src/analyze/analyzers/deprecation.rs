//! `deprecation.DeprecationAnalyzer` (Istio's `FieldAnalyzer`): fields and custom resource types
//! Istio deprecated or removed. Hand-written in Istio too: only the fields listed here.

use crate::analyze::catalog::IST0002;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::Spec;

pub const ANALYZER: Analyzer = Analyzer {
    name: "deprecation.DeprecationAnalyzer",
    description: "Checks for deprecated Istio types and fields",
    // Istio also lists CustomResourceDefinition. It is read below when present, but not listed:
    // a runtime kind in the inputs would skip the whole analyzer for inputs without CRDs.
    inputs: &[Kind::VirtualService, Kind::Sidecar],
    reads: &[
        Kind::VirtualService,
        Kind::Sidecar,
        Kind::CustomResourceDefinition,
    ],
    run,
};

/// Custom resource types of the removed `rbac.istio.io` API.
const REMOVED_RBAC_KINDS: &[&str] = &[
    "ClusterRbacConfig",
    "RbacConfig",
    "ServiceRole",
    "ServiceRoleBinding",
];
pub(crate) const REMOVED_RBAC_GROUP: &str = "rbac.istio.io";

fn run(ctx: &mut Context<'_>) {
    for r in ctx.of(Kind::VirtualService) {
        let Spec::VirtualService(vs) = &r.spec else {
            continue;
        };
        for route in &vs.http {
            let percent = route
                .fault
                .as_ref()
                .and_then(|f| f.delay.as_ref())
                .and_then(|d| d.percent)
                .unwrap_or(0);
            if percent > 0 {
                ctx.report(
                    &IST0002,
                    r,
                    None,
                    &["HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage".into()],
                );
            }
        }
    }
    for r in ctx.of(Kind::Sidecar) {
        let Spec::Sidecar(sc) = &r.spec else {
            continue;
        };
        if sc
            .outbound_traffic_policy
            .as_ref()
            .is_some_and(|p| p.egress_proxy.is_some())
        {
            ctx.report(
                &IST0002,
                r,
                None,
                &["OutboundTrafficPolicy.EgressProxy ignored".into()],
            );
        }
    }
    for r in ctx.of(Kind::CustomResourceDefinition) {
        let Spec::Opaque(spec) = &r.spec else {
            continue;
        };
        let group = spec.get("group").and_then(|g| g.as_str());
        let kind = spec
            .get("names")
            .and_then(|n| n.get("kind"))
            .and_then(|k| k.as_str());
        if group == Some(REMOVED_RBAC_GROUP)
            && let Some(kind) = kind.filter(|k| REMOVED_RBAC_KINDS.contains(k))
        {
            ctx.report(
                &IST0002,
                r,
                None,
                &[format!("Custom resource type {REMOVED_RBAC_GROUP} {kind} is removed").into()],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    #[test]
    fn deprecated_fields_fire() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage, namespace: foo}
spec:
  hosts: [productpage]
  http:
  - fault:
      delay:
        percent: 50
        fixedDelay: 5s
    route:
    - destination: {host: productpage}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: no-selector}
spec:
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
    egressProxy:
      host: foo.bar
      port: {number: 443}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: serviceroles.rbac.istio.io}
spec:
  group: rbac.istio.io
  names: {kind: ServiceRole, plural: serviceroles}
  scope: Namespaced
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair(
                    "IST0002",
                    "CustomResourceDefinition serviceroles.rbac.istio.io"
                ),
                pair("IST0002", "Sidecar default/no-selector"),
                pair("IST0002", "VirtualService foo/productpage"),
            ]
        );
        assert!(lines(&ANALYZER, yaml).contains(
            &"Warning [IST0002] (VirtualService foo/productpage test.yaml:1) Deprecated: HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage"
                .to_string()
        ));
    }

    #[test]
    fn current_fields_pass() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage}
spec:
  hosts: [productpage]
  http:
  - fault:
      delay:
        percentage: {value: 50}
        fixedDelay: 5s
    route:
    - destination: {host: productpage}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: plain}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: virtualservices.networking.istio.io}
spec:
  group: networking.istio.io
  names: {kind: VirtualService}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
