//! `virtualservice.DestinationRuleAnalyzer`: every subset a VirtualService routes or mirrors to
//! must be defined by a DestinationRule for that host.

use std::collections::HashSet;

use super::hosts::{
    mirror_destinations, mirror_host_path, resource_name_from_host, route_destinations,
};
use crate::analyze::catalog::IST0101;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::Spec;

pub const ANALYZER: Analyzer = Analyzer {
    name: "virtualservice.DestinationRuleAnalyzer",
    description: "Checks the destination rules associated with each virtual service",
    inputs: &[Kind::VirtualService, Kind::DestinationRule],
    reads: &[Kind::VirtualService, Kind::DestinationRule],
    run,
};

fn run(ctx: &mut Context<'_>) {
    // (namespace, name, subset) of every subset a DestinationRule defines.
    let mut subsets: HashSet<(String, String, String)> = HashSet::new();
    for r in ctx.of(Kind::DestinationRule) {
        let Spec::DestinationRule(dr) = &r.spec else {
            continue;
        };
        let (ns, name) = resource_name_from_host(r.effective_namespace(), &dr.host);
        for s in &dr.subsets {
            subsets.insert((ns.clone(), name.clone(), s.name.clone()));
        }
    }
    for r in ctx.of(Kind::VirtualService) {
        let Spec::VirtualService(vs) = &r.spec else {
            continue;
        };
        let vs_ns = r.effective_namespace();
        let missing = |host: &str, subset: &str| {
            let (ns, name) = resource_name_from_host(vs_ns, host);
            !subsets.contains(&(ns, name, subset.to_string()))
        };
        for d in route_destinations(vs) {
            let Some(subset) = d.destination.subset.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            if missing(&d.destination.host, subset) {
                ctx.report(
                    &IST0101,
                    r,
                    Some(&d.host_path()),
                    &[
                        "host+subset in destinationrule".into(),
                        format!("{}+{}", d.destination.host, subset).into(),
                    ],
                );
            }
        }
        for d in mirror_destinations(vs) {
            let Some(subset) = d.destination.subset.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            if missing(&d.destination.host, subset) {
                ctx.report(
                    &IST0101,
                    r,
                    Some(&mirror_host_path(d.rule_index)),
                    &[
                        "mirror+subset in destinationrule".into(),
                        format!("{}+{}", d.destination.host, subset).into(),
                    ],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const SEED: &str = r#"apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 90
    - destination:
        host: reviews
        subset: v3
      weight: 10
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
"#;

    #[test]
    fn the_seed_misses_subset_v3() {
        assert_eq!(
            lines(&ANALYZER, SEED),
            vec![
                "Error [IST0101] (VirtualService default/reviews test.yaml:23) Referenced host+subset in destinationrule not found: \"reviews+v3\""
            ]
        );
    }

    #[test]
    fn defined_subsets_pass() {
        let fixed = SEED.replace(
            "  - name: v2\n    labels:\n      version: v2\n",
            "  - name: v2\n    labels:\n      version: v2\n  - name: v3\n    labels:\n      version: v3\n",
        );
        assert_eq!(run(&ANALYZER, &fixed), vec![]);
    }

    #[test]
    fn fqdn_hosts_and_mirrors_resolve() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: m}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews.default.svc.cluster.local, subset: v1}
    mirror: {host: reviews, subset: bogus}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: istio-system}
spec:
  host: reviews.default.svc.cluster.local
  subsets: [{name: v1}]
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![pair("IST0101", "VirtualService default/m")]
        );
    }
}
