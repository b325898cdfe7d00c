//! `gateway.ConflictingGatewayAnalyzer`: two Gateways on the same workloads and port must not
//! claim the same host (with the same bind address).

use std::collections::{BTreeMap, HashMap};

use super::gateway_ingress_port::{full_name, selector_path, selector_string};
use crate::analyze::catalog::{IST0101, IST0145};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::Spec;
use crate::config::types::selects;

pub const ANALYZER: Analyzer = Analyzer {
    name: "gateway.ConflictingGatewayAnalyzer",
    description: "Checks a gateway's selector, port number and hosts",
    inputs: &[Kind::Gateway, Kind::Pod],
    reads: &[Kind::Gateway, Kind::Pod, Kind::Deployment],
    run,
};

/// `<selector>~<port>` -> Gateway full name -> host -> bind.
type GatewayMap = BTreeMap<String, BTreeMap<String, HashMap<String, String>>>;

fn port_string(port: Option<u32>) -> String {
    port.unwrap_or(0).to_string()
}

fn run(ctx: &mut Context<'_>) {
    let mut map: GatewayMap = BTreeMap::new();
    for r in ctx.of(Kind::Gateway) {
        let Spec::Gateway(gw) = &r.spec else {
            continue;
        };
        let sel = selector_string(&gw.selector);
        for server in &gw.servers {
            let key = format!(
                "{sel}~{}",
                port_string(server.port.as_ref().map(|p| p.number))
            );
            let hosts = server
                .hosts
                .iter()
                .map(|h| (h.clone(), server.bind.clone().unwrap_or_default()))
                .collect();
            // A later server of the same Gateway on the same port replaces the earlier one, as in
            // Istio's map.
            map.entry(key).or_default().insert(full_name(r), hosts);
        }
    }
    // (key, host, bind) to the Gateways whose entry under that key serves the host with that
    // bind: the lookups Istio does pairwise, indexed so many Gateways on one selector and port
    // stay linear.
    let mut serving: HashMap<(&str, &str, &str), Vec<&str>> = HashMap::new();
    for (key, gateways) in &map {
        for (gw_name, hosts_bind) in gateways {
            for (host, bind) in hosts_bind {
                serving
                    .entry((key.as_str(), host.as_str(), bind.as_str()))
                    .or_default()
                    .push(gw_name.as_str());
            }
        }
    }
    for r in ctx.of(Kind::Gateway) {
        let Spec::Gateway(gw) = &r.spec else {
            continue;
        };
        let sel = selector_string(&gw.selector);
        let name = full_name(r);
        // Keys whose selector is this Gateway's, or a sub/super-selector that some pod
        // satisfies together with this Gateway's selector.
        let hit: Vec<&String> = map
            .keys()
            .filter(|k| {
                let x_sel = k.split_once('~').map_or(k.as_str(), |(s, _)| s);
                if x_sel == sel {
                    return true;
                }
                if !(sel.contains(x_sel) || x_sel.contains(sel.as_str())) {
                    return false;
                }
                let parsed = parse_selector(x_sel);
                ctx.workloads
                    .iter()
                    .any(|w| selects(&gw.selector, w.labels) && selects(&parsed, w.labels))
            })
            .collect();
        if !sel.is_empty() && hit.is_empty() {
            ctx.report(
                &IST0101,
                r,
                Some(&selector_path(&gw.selector)),
                &["selector".into(), sel.clone().into()],
            );
            continue;
        }
        for server in &gw.servers {
            let port = port_string(server.port.as_ref().map(|p| p.number));
            let bind = server.bind.clone().unwrap_or_default();
            let mut conflicts: Vec<String> = Vec::new();
            for key in &hit {
                if key.rsplit_once('~').map(|(_, p)| p) != Some(port.as_str()) {
                    continue;
                }
                // `model.CheckDuplicates`: the exact host string with the same bind. (Istio also
                // merges non-conflicting hosts into the other Gateway's entry, an order-dependent
                // side effect Ferry does not copy.)
                for h in &server.hosts {
                    let Some(others) = serving.get(&(key.as_str(), h.as_str(), bind.as_str()))
                    else {
                        continue;
                    };
                    conflicts.extend(
                        others
                            .iter()
                            .filter(|o| **o != name)
                            .map(|o| (*o).to_string()),
                    );
                }
            }
            conflicts.sort();
            conflicts.dedup();
            if !conflicts.is_empty() {
                ctx.report(
                    &IST0145,
                    r,
                    None,
                    &[
                        conflicts.join(",").into(),
                        sel.clone().into(),
                        port.into(),
                        server.hosts.join(",").into(),
                    ],
                );
            }
        }
    }
}

/// Istio's `parseSelectorFromString`: `k1=v1,k2=v2` back into a map.
fn parse_selector(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    fn gateway(name: &str, selector: &str, port: &str, hosts: &str) -> String {
        format!(
            r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {name}
spec:
  selector: {selector}
  servers:
  - port: {port}
    hosts: {hosts}
---
"#
        )
    }

    const ING: &str = "{istio: ingressgateway}";
    const P80: &str = "{number: 80, name: http, protocol: HTTP}";

    #[test]
    fn same_selector_port_and_host() {
        let yaml = gateway("alpha", ING, P80, "[foo.bar]")
            + &gateway(
                "beta",
                ING,
                "{number: 80, name: tcp, protocol: TCP}",
                "[foo.bar]",
            );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0145", "Gateway default/alpha"),
                pair("IST0145", "Gateway default/beta"),
            ]
        );
        assert_eq!(
            lines(&ANALYZER, &yaml)[0],
            "Error [IST0145] (Gateway default/alpha test.yaml:1) Conflict with gateways default/beta (workload selector istio=ingressgateway, port 80, hosts foo.bar)."
        );
    }

    #[test]
    fn different_port_or_host_does_not_conflict() {
        let yaml = gateway("alpha", ING, P80, "[foo.bar]")
            + &gateway(
                "beta",
                ING,
                "{number: 8080, name: http, protocol: HTTP}",
                "[foo.bar]",
            )
            + &gateway("gamma", ING, P80, "[other.bar]");
        assert_eq!(run(&ANALYZER, &yaml), vec![]);
    }

    #[test]
    fn sub_selector_with_a_shared_pod_conflicts() {
        let pod = r#"apiVersion: v1
kind: Pod
metadata:
  name: gw
  namespace: istio-system
  labels: {istio: ingressgateway, app: edge}
spec:
  containers: [{name: istio-proxy, image: proxyv2}]
---
"#;
        let yaml = pod.to_string()
            + &gateway("alpha", ING, P80, "[foo.bar]")
            + &gateway(
                "beta",
                "{istio: ingressgateway, app: edge}",
                P80,
                "[foo.bar]",
            );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0145", "Gateway default/alpha"),
                pair("IST0145", "Gateway default/beta"),
            ]
        );
    }

    #[test]
    fn servers_without_port_do_not_crash() {
        let yaml =
            gateway("alpha", ING, "null", "[foo.bar]") + &gateway("beta", ING, P80, "[other.bar]");
        assert_eq!(run(&ANALYZER, &yaml), vec![]);
    }
}
