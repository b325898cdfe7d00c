//! `conditions.ConditionAnalyzer`: status conditions that the control plane wrote with a negative
//! status (a waypoint not bound, a policy ztunnel cannot enforce, a route not accepted).

use crate::analyze::catalog::IST0171;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::kube::Condition;
use crate::config::resource::{Resource, Spec};

/// Kinds whose status conditions are checked (Istio's inputs for this analyzer).
const STATUS_KINDS: &[Kind] = &[
    Kind::Service,
    Kind::ServiceEntry,
    Kind::AuthorizationPolicy,
    Kind::KubernetesGateway,
    Kind::HttpRoute,
    Kind::GrpcRoute,
];

pub const ANALYZER: Analyzer = Analyzer {
    name: "conditions.ConditionAnalyzer",
    description: "Checks for negative status conditions on resources",
    // Istio lists these six kinds as inputs; the analyzer only reads status conditions, so a
    // missing kind hides nothing and it runs over whichever of them the inputs hold.
    inputs: &[],
    reads: &[
        Kind::AuthorizationPolicy,
        Kind::ServiceEntry,
        Kind::Service,
        Kind::KubernetesGateway,
        Kind::HttpRoute,
        Kind::GrpcRoute,
    ],
    run,
};

/// Condition types reported per kind when their status is `False`.
fn negative_types(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Service | Kind::ServiceEntry => &["istio.io/WaypointBound"],
        Kind::AuthorizationPolicy => &["ZtunnelAccepted", "WaypointAccepted"],
        Kind::KubernetesGateway | Kind::HttpRoute | Kind::GrpcRoute => {
            &["Accepted", "Programmed", "ResolvedRefs"]
        }
        _ => &[],
    }
}

fn run(ctx: &mut Context<'_>) {
    let mut found: Vec<(&Resource, Condition)> = Vec::new();
    for kind in STATUS_KINDS {
        for r in ctx.of(*kind) {
            if matches!(r.spec, Spec::Invalid(_)) {
                continue;
            }
            for c in conditions(r) {
                // Istio compares against a map lookup whose missing entries read as the empty
                // status, so a condition without a status is reported whatever its type.
                let expected = if negative_types(*kind).contains(&c.type_.as_str()) {
                    "False"
                } else {
                    ""
                };
                let negative = c.status == expected;
                // A partially invalid policy is accepted (status True) but still worth a warning.
                let partially_invalid = *kind == Kind::AuthorizationPolicy
                    && c.type_ == "WaypointAccepted"
                    && c.reason.as_deref() == Some("PartiallyInvalid");
                // Both rules produce the same message, which de-duplication collapses; report once.
                if negative || partially_invalid {
                    found.push((r, c));
                }
            }
        }
    }
    for (r, c) in found {
        ctx.report(
            &IST0171,
            r,
            None,
            &[
                c.type_.as_str().into(),
                c.reason.unwrap_or_default().into(),
                c.message.unwrap_or_default().into(),
            ],
        );
    }
}

/// The object's conditions: `status.conditions`, or for routes those of every parent in
/// `status.parents[]` (Gateway listener conditions are not read, as in Istio).
fn conditions(r: &Resource) -> Vec<Condition> {
    if !matches!(r.kind, Kind::HttpRoute | Kind::GrpcRoute) {
        return r.conditions.clone();
    }
    let Some(parents) = r.node.get("status").and_then(|s| s.get("parents")) else {
        return Vec::new();
    };
    match parents.to_json() {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|p| p.get("conditions"))
            .filter_map(|c| serde_json::from_value::<Vec<Condition>>(c.clone()).ok())
            .flatten()
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const FIXTURE: &str = r#"apiVersion: v1
kind: Service
metadata: {name: unbound-svc}
spec:
  ports: [{port: 80}]
status:
  conditions:
  - type: istio.io/WaypointBound
    status: "False"
    reason: NoWaypoint
    message: no waypoint
---
apiVersion: v1
kind: Service
metadata: {name: bound-svc}
status:
  conditions:
  - {type: istio.io/WaypointBound, status: "True", reason: WaypointAccepted, message: bound}
  - {type: SomethingElse, status: "False", reason: X, message: y}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se}
spec:
  hosts: [a.example.com]
status:
  conditions:
  - {type: istio.io/WaypointBound, status: "False", reason: WaypointIsNotReady, message: not ready}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: custom}
spec: {action: CUSTOM, provider: {name: ext}, rules: [{}]}
status:
  conditions:
  - {type: ZtunnelAccepted, status: "False", reason: UnsupportedValue, message: ztunnel does not support the CUSTOM action}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: partial}
spec: {}
status:
  conditions:
  - {type: WaypointAccepted, status: "True", reason: PartiallyInvalid, message: some rules dropped}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint}
spec:
  gatewayClassName: istio-waypoint
status:
  conditions:
  - {type: Programmed, status: "False", reason: AddressNotUsable, message: no address}
  - {type: Accepted, status: "True", reason: Accepted, message: ok}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: http}
status:
  parents:
  - parentRef: {name: waypoint}
    conditions:
    - {type: ResolvedRefs, status: "True", reason: ResolvedRefs, message: ok}
  - parentRef: {name: other}
    conditions:
    - {type: Accepted, status: "False", reason: WaypointNotBound, message: not bound}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc}
status:
  parents:
  - parentRef: {name: waypoint}
    conditions:
    - {type: Accepted, status: "False", reason: WaypointNotBound, message: not bound}
"#;

    #[test]
    fn negative_conditions_are_reported() {
        assert_eq!(
            run(&ANALYZER, FIXTURE),
            vec![
                pair("IST0171", "AuthorizationPolicy default/custom"),
                pair("IST0171", "AuthorizationPolicy default/partial"),
                pair("IST0171", "GRPCRoute default/grpc"),
                pair("IST0171", "Gateway default/waypoint"),
                pair("IST0171", "HTTPRoute default/http"),
                pair("IST0171", "Service default/unbound-svc"),
                pair("IST0171", "ServiceEntry default/se"),
            ]
        );
        assert!(lines(&ANALYZER, FIXTURE).contains(&"Warning [IST0171] (Service default/unbound-svc test.yaml:1) A condition with a negative status is present: type=istio.io/WaypointBound, reason=NoWaypoint, message=no waypoint.".to_string()));
    }

    #[test]
    fn positive_conditions_pass() {
        let yaml = r#"apiVersion: v1
kind: Service
metadata: {name: svc}
status:
  conditions:
  - {type: istio.io/WaypointBound, status: "True", reason: Bound, message: ok}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
