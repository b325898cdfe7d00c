//! `virtualservice.DestinationHostAnalyzer`: every host a VirtualService routes or mirrors to must
//! be a Service or ServiceEntry visible from its namespace, with the port it names (or a single
//! port when it names none); and on gateways, a route without a subset to a host another
//! VirtualService splits by subset makes those subsets ineffective.

use std::collections::HashMap;

use super::hosts::{RouteDest, mirror_destinations, mirror_host_path, route_destinations};
use super::service_registry::{RegistryService, ServiceRegistry};
use crate::analyze::catalog::{IST0101, IST0112, IST0140};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::networking::VirtualService;
use crate::config::resource::{Resource, Spec};

pub const ANALYZER: Analyzer = Analyzer {
    name: "virtualservice.DestinationHostAnalyzer",
    description: "Checks the destination hosts associated with each virtual service",
    inputs: &[Kind::ServiceEntry, Kind::VirtualService, Kind::Service],
    reads: &[Kind::VirtualService, Kind::ServiceEntry, Kind::Service],
    run,
};

fn run(ctx: &mut Context<'_>) {
    let registry = ServiceRegistry::build(ctx.store);
    let subset_destinations = subset_destinations(ctx);
    for r in ctx.of(Kind::VirtualService) {
        let Spec::VirtualService(vs) = &r.spec else {
            continue;
        };
        analyze_hosts(ctx, &registry, r, vs);
        analyze_subsets(ctx, &subset_destinations, r, vs);
    }
}

fn analyze_hosts(
    ctx: &mut Context<'_>,
    registry: &ServiceRegistry<'_>,
    r: &Resource,
    vs: &VirtualService,
) {
    let ns = r.effective_namespace();
    for d in route_destinations(vs) {
        match registry.lookup(ns, &vs.export_to, &d.destination.host) {
            None => ctx.report(
                &IST0101,
                r,
                Some(&d.host_path()),
                &["host".into(), d.destination.host.as_str().into()],
            ),
            Some(s) => check_ports(ctx, r, &d, s),
        }
    }
    for d in mirror_destinations(vs) {
        match registry.lookup(ns, &vs.export_to, &d.destination.host) {
            // Istio uses the `mirror` path for `mirrors[]` entries too.
            None => ctx.report(
                &IST0101,
                r,
                Some(&mirror_host_path(d.rule_index)),
                &["mirror host".into(), d.destination.host.as_str().into()],
            ),
            Some(s) => check_ports(ctx, r, &d, s),
        }
    }
}

/// `checkServiceEntryPorts`: a destination without a port is ambiguous when the service has
/// several; a destination port must be one the service exposes.
fn check_ports(ctx: &mut Context<'_>, r: &Resource, d: &RouteDest<'_>, s: &RegistryService<'_>) {
    // `mirrors[]` entries get `{.spec.http.mirrors[i].route[j]...}`, which never resolves, so
    // they point at the document start as in Istio.
    let path = if d.rule == "http.mirror" {
        mirror_host_path(d.rule_index)
    } else {
        d.host_path()
    };
    let host = d.destination.host.as_str();
    match &d.destination.port {
        None => {
            if s.ports.len() > 1 {
                let ports: Vec<String> = s.ports.iter().map(|p| p.number.to_string()).collect();
                ctx.report(&IST0112, r, Some(&path), &[host.into(), ports.into()]);
            }
        }
        Some(port) => {
            // An empty port selector is port 0 in Go's proto, which no service exposes.
            let number = i64::from(port.number.unwrap_or(0));
            if !s.ports.iter().any(|p| p.number == number) {
                ctx.report(
                    &IST0101,
                    r,
                    Some(&path),
                    &["host:port".into(), format!("{host}:{number}").into()],
                );
            }
        }
    }
}

/// Per VirtualService (`ns/name`), the HTTP route destinations with a subset whose host is one of
/// that VirtualService's own hosts (`initVirtualServiceDestinations`).
fn subset_destinations(ctx: &Context<'_>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in ctx.of(Kind::VirtualService) {
        let Spec::VirtualService(vs) = &r.spec else {
            continue;
        };
        let full_name = format!("{}/{}", r.effective_namespace(), r.name());
        for rule in &vs.http {
            for route in &rule.route {
                let Some(d) = &route.destination else {
                    continue;
                };
                if d.subset.as_deref().unwrap_or_default().is_empty() {
                    continue;
                }
                for h in &vs.hosts {
                    if &d.host == h {
                        let i = *index.entry(full_name.clone()).or_insert_with(|| {
                            out.push((full_name.clone(), Vec::new()));
                            out.len() - 1
                        });
                        out[i].1.push(d.host.clone());
                    }
                }
            }
        }
    }
    out
}

/// `analyzeSubset`: a gateway-bound route without a subset to a host that another VirtualService
/// (or this one) routes by subset.
fn analyze_subsets(
    ctx: &mut Context<'_>,
    subset_destinations: &[(String, Vec<String>)],
    r: &Resource,
    vs: &VirtualService,
) {
    if vs.gateways.is_empty() {
        return;
    }
    let full_name = format!("{}/{}", r.effective_namespace(), r.name());
    for (ri, rule) in vs.http.iter().enumerate() {
        for (di, route) in rule.route.iter().enumerate() {
            let Some(d) = &route.destination else {
                continue;
            };
            if !d.subset.as_deref().unwrap_or_default().is_empty() {
                continue;
            }
            // Istio builds this path from the route's name instead of `http`, so it only
            // resolves for a route named `http`; kept for identical line numbers.
            let path = format!(
                "{{.spec.{}[{ri}].route[{di}].destination.host}}",
                rule.name.as_deref().unwrap_or_default()
            );
            for (other, hosts) in subset_destinations {
                for h in hosts {
                    if *h == d.host {
                        ctx.report(
                            &IST0140,
                            r,
                            Some(&path),
                            &[other.as_str().into(), full_name.as_str().into()],
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const SERVICES: &str = r#"apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  ports: [{port: 9080, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  ports: [{port: 9080, name: http}, {port: 9090, name: grpc}]
---
"#;

    #[test]
    fn missing_host_reports_with_line() {
        let yaml = format!(
            "{SERVICES}{}",
            r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
    - destination:
        host: nope
"#
        );
        assert_eq!(
            lines(&ANALYZER, &yaml),
            vec![
                "Error [IST0101] (VirtualService default/vs test.yaml:23) Referenced host not found: \"nope\""
            ]
        );
    }

    #[test]
    fn ports_are_checked() {
        let yaml = format!(
            "{SERVICES}{}",
            r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings}
  - route:
    - destination: {host: ratings, port: {number: 9090}}
  - route:
    - destination: {host: reviews.default.svc.cluster.local, port: {number: 1}}
"#
        );
        assert_eq!(
            lines(&ANALYZER, &yaml),
            vec![
                "Error [IST0101] (VirtualService default/vs test.yaml:24) Referenced host:port not found: \"reviews.default.svc.cluster.local:1\"",
                "Error [IST0112] (VirtualService default/vs test.yaml:20) This VirtualService routes to a service \"ratings\" that exposes multiple ports [9080 9090]. Specifying a port in the destination is required to disambiguate.",
            ]
        );
    }

    #[test]
    fn service_entries_export_to_and_mirrors() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: other}
spec:
  hosts: [api.example.com, "*.eu.example.com"]
  exportTo: [default]
  ports: [{number: 443, name: https, protocol: HTTPS}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: private, namespace: other}
spec:
  hosts: [private.example.com]
  exportTo: ["."]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  ports: [{port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ok}
spec:
  hosts: [api.example.com]
  http:
  - route:
    - destination: {host: api.example.com}
    mirror: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad, namespace: istio-system}
spec:
  hosts: [x]
  http:
  - route:
    - destination: {host: private.example.com}
    mirror: {host: gone}
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair("IST0101", "VirtualService istio-system/bad"),
                pair("IST0101", "VirtualService istio-system/bad"),
            ]
        );
    }

    #[test]
    fn subsets_on_ingress_have_no_effect() {
        let yaml = format!(
            "{SERVICES}{}",
            r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-split}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ingress}
spec:
  hosts: [bookinfo.example.com]
  gateways: [bookinfo-gateway]
  http:
  - route:
    - destination: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-only}
spec:
  hosts: [other.example.com]
  http:
  - route:
    - destination: {host: reviews}
"#
        );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![pair("IST0140", "VirtualService default/ingress")]
        );
        let text = lines(&ANALYZER, &yaml);
        assert!(text.iter().any(|l| l.contains(
            "Subset in virtual service default/mesh-split has no effect on ingress gateway default/ingress requests"
        )));
    }
}
