//! `gateway.IngressGatewayPortAnalyzer`: a Gateway must select some pod, and every port it
//! listens on must be a TCP target port of a Service in front of those pods.
//!
//! Also holds the selector helpers the other `gateway_*` analyzers share.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::analyze::catalog::{IST0101, IST0162};
use crate::analyze::context::{Analyzer, Context, Workload};
use crate::config::kind::Kind;
use crate::config::kube::ServiceSpec;
use crate::config::resource::{Resource, Spec};
use crate::config::types::{IntOrString, selects};

pub const ANALYZER: Analyzer = Analyzer {
    name: "gateway.IngressGatewayPortAnalyzer",
    description: "Checks a gateway's ports against the gateway's Kubernetes service ports",
    inputs: &[Kind::Gateway, Kind::Pod, Kind::Service],
    reads: &[Kind::Gateway, Kind::Service, Kind::Pod, Kind::Deployment],
    run,
};

/// `labels.SelectorFromSet(m).String()`: `k1=v1,k2=v2` sorted by key, `""` when empty.
pub(crate) fn selector_string(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Istio's `{.spec.selector.<label>}` line key, with the alphabetically first label (what
/// `ExtractLabelFromSelectorString` returns from the sorted selector string).
pub(crate) fn selector_path(selector: &BTreeMap<String, String>) -> String {
    let first = selector.keys().next().map_or("", String::as_str);
    format!("{{.spec.selector.{first}}}")
}

/// `resource.FullName.String()`: `ns/name`, or just `name` for a namespace-less object.
pub(crate) fn full_name(r: &Resource) -> String {
    match r.namespace() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{}", r.name()),
        _ => r.name().to_string(),
    }
}

/// The number of pods `selector` picks, and the ports (target port, else port) of the TCP
/// Services in front of them.
fn resolve_selector(
    workloads: &[Workload<'_>],
    services: &[(&Resource, &ServiceSpec)],
    selector: &BTreeMap<String, String>,
) -> (usize, HashSet<i64>) {
    let mut service_ports = HashSet::new();
    let mut matched = 0usize;
    for pod in workloads {
        if !selects(selector, pod.labels) {
            continue;
        }
        matched += 1;
        for (svc_r, svc) in services {
            // Services only select pods in their own namespace.
            if svc_r.effective_namespace() != pod.namespace || !selects(&svc.selector, pod.labels) {
                continue;
            }
            for port in &svc.ports {
                // The API server defaults an omitted protocol to TCP; Istio sees it that way.
                if port.protocol.as_deref().unwrap_or("TCP") != "TCP" {
                    continue;
                }
                // The gateway listens on the target port; `IntValue()` of a named port is 0,
                // which falls back to the service port.
                let target = match &port.target_port {
                    Some(IntOrString::Int(i)) => *i,
                    Some(IntOrString::String(s)) => s.parse().unwrap_or(0),
                    None => 0,
                };
                service_ports.insert(if target != 0 { target } else { port.port });
            }
        }
    }
    (matched, service_ports)
}

fn run(ctx: &mut Context<'_>) {
    let services: Vec<(&Resource, &ServiceSpec)> = ctx
        .of(Kind::Service)
        .filter_map(|r| match &r.spec {
            Spec::Service(s) => Some((r, s)),
            _ => None,
        })
        .collect();
    let mut by_selector: HashMap<&BTreeMap<String, String>, (usize, HashSet<i64>)> = HashMap::new();
    for r in ctx.of(Kind::Gateway) {
        let Spec::Gateway(gw) = &r.spec else {
            continue;
        };
        // Several Services may front the gateway pods; a port counts when any of them exposes it.
        // Many gateways share one selector, so each distinct selector is resolved once.
        let (matched, service_ports) = by_selector
            .entry(&gw.selector)
            .or_insert_with(|| resolve_selector(ctx.workloads, &services, &gw.selector));
        let (matched, service_ports) = (*matched, service_ports.clone());
        let sel = selector_string(&gw.selector);
        let path = selector_path(&gw.selector);
        if matched == 0 {
            ctx.report(
                &IST0101,
                r,
                Some(&path),
                &["selector".into(), sel.clone().into()],
            );
            continue;
        }
        for server in &gw.servers {
            let Some(port) = &server.port else {
                continue;
            };
            if !service_ports.contains(&i64::from(port.number)) {
                ctx.report(
                    &IST0162,
                    r,
                    Some(&path),
                    &[port.number.into(), sel.clone().into()],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const GW: &str = r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: web
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
"#;

    #[test]
    fn default_ingress_exposes_port_80() {
        assert_eq!(run(&ANALYZER, GW), vec![]);
    }

    #[test]
    fn port_missing_from_the_service() {
        let yaml = GW.replace("number: 80", "number: 8888");
        assert_eq!(
            lines(&ANALYZER, &yaml),
            vec![
                "Warning [IST0162] (Gateway default/web test.yaml:7) The gateway is listening on a target port (port 8888) that is not defined in the Service associated with its workload instances (Pod selector istio=ingressgateway). If you need to access the gateway port through the gateway Service, it will not be available."
            ]
        );
    }

    #[test]
    fn selector_matching_no_pod() {
        let yaml = GW.replace("istio: ingressgateway", "istio: nothing");
        assert_eq!(
            lines(&ANALYZER, &yaml),
            vec![
                "Error [IST0101] (Gateway default/web test.yaml:7) Referenced selector not found: \"istio=nothing\""
            ]
        );
    }

    const CUSTOM: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: my-gw, namespace: gw}
spec:
  template:
    metadata:
      labels: {app: my-gw}
    spec:
      containers: [{name: istio-proxy, image: proxyv2}]
---
apiVersion: v1
kind: Service
metadata: {name: my-gw, namespace: gw}
spec:
  selector: {app: my-gw}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
  - {name: plain, port: 9000}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: custom, namespace: gw}
spec:
  selector: {app: my-gw}
  servers:
  - port: {number: PORT, name: http, protocol: HTTP}
    hosts: ["*"]
"#;

    #[test]
    fn custom_gateway_listens_on_the_target_port() {
        assert_eq!(run(&ANALYZER, &CUSTOM.replace("PORT", "8080")), vec![]);
        assert_eq!(
            run(&ANALYZER, &CUSTOM.replace("PORT", "80")),
            vec![pair("IST0162", "Gateway gw/custom")]
        );
        // A port without a protocol is TCP, as the API server defaults it.
        assert_eq!(run(&ANALYZER, &CUSTOM.replace("PORT", "9000")), vec![]);
    }
}
