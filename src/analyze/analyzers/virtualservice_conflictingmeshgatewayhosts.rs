//! `virtualservice.ConflictingMeshGatewayHostsAnalyzer`: two VirtualServices bound to the mesh
//! gateway that define the same host in the same visibility scope leave sidecar routing
//! undefined.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::hosts::{host_matches, to_fqdn};
use super::service_registry::{EXPORT_TO_ALL, EXPORT_TO_LOCAL};
use crate::analyze::catalog::IST0109;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};

pub const ANALYZER: Analyzer = Analyzer {
    name: "virtualservice.ConflictingMeshGatewayHostsAnalyzer",
    description: "Checks if multiple virtual services associated with the mesh gateway have conflicting hosts",
    inputs: &[Kind::VirtualService],
    reads: &[Kind::VirtualService],
    run,
};

/// `(scope, fqdn)` keys in first-seen order with the VirtualServices defining them.
type ScopedHosts<'a> = Vec<((String, String), Vec<&'a Resource>)>;

fn run(ctx: &mut Context<'_>) {
    let hosts = mesh_gateway_hosts(ctx);
    let mut reported: HashSet<(String, String)> = HashSet::new();
    for ((scope, fqdn), list) in &hosts {
        let mut list = list.clone();
        // A namespace-scoped host also conflicts with every all-namespaces host it matches
        // (wildcards included); `*` keys only conflict by exact key.
        if scope != EXPORT_TO_ALL {
            for ((scope2, fqdn2), list2) in &hosts {
                if scope2 == EXPORT_TO_ALL && host_matches(fqdn, fqdn2) {
                    list.extend(list2.iter().copied());
                }
            }
        }
        if list.len() < 2 {
            continue;
        }
        let names: Vec<String> = list.iter().map(|r| full_name(r)).collect();
        let names = names.join(",");
        let key = format!("{scope}/{fqdn}");
        for r in list {
            // Each VirtualService is reported once, for the first conflict found.
            if !reported.insert((r.effective_namespace().to_string(), r.name().to_string())) {
                continue;
            }
            ctx.report(
                &IST0109,
                r,
                Some("{.metadata.name}"),
                &[names.as_str().into(), key.as_str().into()],
            );
        }
    }
}

fn full_name(r: &Resource) -> String {
    format!("{}/{}", r.effective_namespace(), r.name())
}

/// `initMeshGatewayHosts`: hosts of VirtualServices attached to the mesh gateway (no gateways,
/// or `mesh` among them), keyed by each scope the VirtualService is exported to.
fn mesh_gateway_hosts<'a>(ctx: &Context<'a>) -> ScopedHosts<'a> {
    let mut out: ScopedHosts<'a> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for r in ctx.of(Kind::VirtualService) {
        let Spec::VirtualService(vs) = &r.spec else {
            continue;
        };
        if !(vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh")) {
            continue;
        }
        let ns = r.effective_namespace();
        // A set, as Istio's: a VirtualService exported twice to one namespace counts once.
        let scopes: BTreeSet<String> =
            if vs.export_to.is_empty() || vs.export_to.iter().any(|e| e == EXPORT_TO_ALL) {
                BTreeSet::from([EXPORT_TO_ALL.to_string()])
            } else {
                vs.export_to
                    .iter()
                    .map(|e| {
                        if e == EXPORT_TO_LOCAL {
                            ns.to_string()
                        } else {
                            e.clone()
                        }
                    })
                    .collect()
            };
        for scope in &scopes {
            for h in &vs.hosts {
                let key = (scope.clone(), to_fqdn(ns, h));
                let i = *index.entry(key.clone()).or_insert_with(|| {
                    out.push((key, Vec::new()));
                    out.len() - 1
                });
                out[i].1.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    #[test]
    fn same_host_conflicts() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [productpage]
  http:
  - route:
    - destination: {host: productpage}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: b
spec:
  hosts: [productpage.default.svc.cluster.local]
  gateways: [mesh, some-gateway]
  http:
  - route:
    - destination: {host: productpage}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ingress-only}
spec:
  hosts: [productpage]
  gateways: [some-gateway]
"#;
        assert_eq!(
            lines(&ANALYZER, yaml),
            vec![
                "Error [IST0109] (VirtualService default/a test.yaml:3) The VirtualServices default/a,default/b associated with mesh gateway define the same host */productpage.default.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
                "Error [IST0109] (VirtualService default/b test.yaml:13) The VirtualServices default/a,default/b associated with mesh gateway define the same host */productpage.default.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
            ]
        );
    }

    #[test]
    fn scopes_separate_and_merge() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: team1}
spec:
  hosts: [ratings.example.org]
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: team2}
spec:
  hosts: [ratings.example.org]
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: google, namespace: team3}
spec:
  hosts: [google.com]
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: any, namespace: bar}
spec:
  hosts: ["*.com"]
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair("IST0109", "VirtualService bar/any"),
                pair("IST0109", "VirtualService team3/google"),
            ]
        );
    }
}
