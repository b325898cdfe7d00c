//! `virtualservice.JWTClaimRouteAnalyzer`: routing on a JWT claim (`@request.auth.claims.*`
//! headers) only works when a RequestAuthentication validates the token on the gateway pods.

use std::collections::{BTreeMap, HashMap};

use super::virtualservice_gateways::short_or_full_name;
use crate::analyze::catalog::IST0149;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::networking::VirtualService;
use crate::config::resource::Spec;

pub const ANALYZER: Analyzer = Analyzer {
    name: "virtualservice.JWTClaimRouteAnalyzer",
    description: "Checks the VirtualService using JWT claim based routing has corresponding RequestAuthentication",
    inputs: &[
        Kind::VirtualService,
        Kind::RequestAuthentication,
        Kind::Gateway,
        Kind::Pod,
    ],
    reads: &[
        Kind::VirtualService,
        Kind::Gateway,
        Kind::RequestAuthentication,
        Kind::Pod,
        Kind::Deployment,
    ],
    run,
};

/// Header prefix Istio routes JWT claims under (`constant.HeaderJWTClaim`).
const HEADER_JWT_CLAIM: &str = "@request.auth.claims.";

/// Istio's system namespace, whose RequestAuthentications apply to every namespace.
const ISTIO_SYSTEM_NAMESPACE: &str = "istio-system";

fn run(ctx: &mut Context<'_>) {
    // Selector labels of every RequestAuthentication, by namespace; no selector selects all pods.
    let empty = BTreeMap::new();
    let mut ra_by_ns: HashMap<&str, Vec<&BTreeMap<String, String>>> = HashMap::new();
    for r in ctx.of(Kind::RequestAuthentication) {
        let Spec::RequestAuthentication(ra) = &r.spec else {
            continue;
        };
        let labels = ra.selector.as_ref().map_or(&empty, |s| &s.match_labels);
        ra_by_ns
            .entry(r.effective_namespace())
            .or_default()
            .push(labels);
    }
    for r in ctx.of(Kind::VirtualService) {
        let Spec::VirtualService(vs) = &r.spec else {
            continue;
        };
        let Some(key) = jwt_claim_route_key(vs) else {
            continue;
        };
        let vs_ns = r.effective_namespace();
        for gw_name in &vs.gateways {
            if gw_name == "mesh" {
                continue;
            }
            let (gw_ns, gw_local) = short_or_full_name(vs_ns, gw_name);
            // A missing gateway is the GatewayAnalyzer's finding.
            let Some(gw) = ctx.of(Kind::Gateway).find_map(|g| match &g.spec {
                Spec::Gateway(gw) if g.effective_namespace() == gw_ns && g.name() == gw_local => {
                    Some(gw)
                }
                _ => None,
            }) else {
                continue;
            };
            let gw_full_name = format!("{gw_ns}/{gw_local}");
            let mut unprotected: Vec<String> = Vec::new();
            for w in ctx.workloads {
                if !selects(&gw.selector, w.labels) {
                    continue;
                }
                let protected = ra_by_ns
                    .get(ISTIO_SYSTEM_NAMESPACE)
                    .into_iter()
                    .chain(ra_by_ns.get(w.namespace))
                    .flatten()
                    .any(|sel| selects(sel, w.labels));
                if !protected {
                    unprotected.push(w.resource.name().to_string());
                }
            }
            for pod in unprotected {
                ctx.report(
                    &IST0149,
                    r,
                    None,
                    &[key.into(), gw_full_name.as_str().into(), pod.into()],
                );
            }
        }
    }
}

/// `SelectorFromSet(selector).Matches(labels)`: every selector label is present with the same
/// value; an empty selector matches everything.
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The first header (then without-header) match key routing on a JWT claim. Istio walks Go maps,
/// so with several keys its choice is arbitrary; Ferry takes the alphabetically first.
fn jwt_claim_route_key(vs: &VirtualService) -> Option<&str> {
    for rule in &vs.http {
        for m in &rule.matches {
            for key in m.headers.keys().chain(m.without_headers.keys()) {
                if key.starts_with(HEADER_JWT_CLAIM) {
                    return Some(key);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const BASE: &str = r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: claims}
spec:
  hosts: [foo.example.com]
  gateways: [istio-system/gw, mesh]
  http:
  - match:
    - headers:
        "@request.auth.claims.group": {exact: admin}
    route:
    - destination: {host: foo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: foo}
spec:
  selector: {matchLabels: {app: foo}}
  template:
    metadata: {labels: {app: foo}}
    spec:
      containers: [{name: foo, image: foo}]
"#;

    #[test]
    fn missing_request_authentication_reports() {
        assert_eq!(
            lines(&ANALYZER, BASE),
            vec![
                "Error [IST0149] (VirtualService default/claims test.yaml:10) The virtual service uses the JWT claim based routing (key: @request.auth.claims.group) but found no request authentication for the gateway (istio-system/gw) pod (istio-ingressgateway-dummypod). The request authentication must first be applied for the gateway pods to validate the JWT token and make the claims available for routing."
            ]
        );
    }

    #[test]
    fn request_authentication_on_gateway_passes() {
        let yaml = format!(
            "{BASE}{}",
            r#"---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules: [{issuer: "https://example.com"}]
"#
        );
        assert_eq!(run(&ANALYZER, &yaml), vec![]);
    }

    #[test]
    fn request_authentication_elsewhere_does_not_count() {
        let yaml = format!(
            "{BASE}{}",
            r#"---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  jwtRules: [{issuer: "https://example.com"}]
"#
        );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![pair("IST0149", "VirtualService default/claims")]
        );
    }
}
