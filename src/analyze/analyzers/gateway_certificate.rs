//! `gateway.CertificateAnalyzer`: two Gateways on the same workloads serving the same
//! certificate let HTTP/2 clients reuse a connection across them and hit 404s.

use std::collections::BTreeMap;

use super::gateway_ingress_port::full_name;
use crate::analyze::catalog::IST0138;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::networking::{Gateway, ServerTlsSettings};
use crate::config::resource::{Resource, Spec};

pub const ANALYZER: Analyzer = Analyzer {
    name: "gateway.CertificateAnalyzer",
    description: "Checks a gateway certificate",
    inputs: &[Kind::Gateway],
    run,
};

fn run(ctx: &mut Context<'_>) {
    let gateways: Vec<(&Resource, &Gateway)> = ctx
        .of(Kind::Gateway)
        .filter_map(|r| match &r.spec {
            Spec::Gateway(g) => Some((r, g)),
            _ => None,
        })
        .collect();
    // Istio's PILOT_SCOPE_GATEWAY_TO_NAMESPACE (default off) would restrict candidates to the
    // Gateway's namespace; Ferry analyzes with the default.
    for (cur_r, cur) in &gateways {
        for (other_r, other) in &gateways {
            if std::ptr::eq(*cur_r, *other_r) || !selector_subset(&cur.selector, &other.selector) {
                continue;
            }
            for cur_server in &cur.servers {
                let Some(cur_tls) = &cur_server.tls else {
                    continue;
                };
                for server in &other.servers {
                    let Some(tls) = &server.tls else {
                        continue;
                    };
                    // One message per matching server pair, as Istio reports.
                    if same_certificate(cur_tls, tls) {
                        ctx.report(
                            &IST0138,
                            cur_r,
                            Some("{.metadata.name}"),
                            &[vec![full_name(cur_r), full_name(other_r)].into()],
                        );
                    }
                }
            }
        }
    }
}

/// Every label of `cur` is in `other` with the same value (an empty `cur` selects every
/// Gateway). Not symmetric: `other` may carry extra labels.
fn selector_subset(cur: &BTreeMap<String, String>, other: &BTreeMap<String, String>) -> bool {
    cur.iter().all(|(k, v)| other.get(k) == Some(v))
}

/// The same `credentialName`, or (with no credentialName on either) the same file-mounted
/// certificate and key.
fn same_certificate(a: &ServerTlsSettings, b: &ServerTlsSettings) -> bool {
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let (a_cn, b_cn) = (non_empty(&a.credential_name), non_empty(&b.credential_name));
    match (a_cn, b_cn) {
        (Some(x), Some(y)) => x == y,
        (None, None) => {
            let certs = (
                non_empty(&a.server_certificate),
                non_empty(&b.server_certificate),
            );
            let keys = (non_empty(&a.private_key), non_empty(&b.private_key));
            matches!(certs, (Some(x), Some(y)) if x == y)
                && matches!(keys, (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const TWO: &str = r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: first
  namespace: istio-system
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: shared-cert}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: second
  namespace: istio-system
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: SIMPLE, credentialName: SECOND}
"#;

    #[test]
    fn shared_credential_is_reported_on_both() {
        let yaml = TWO.replace("SECOND", "shared-cert");
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0138", "Gateway istio-system/first"),
                pair("IST0138", "Gateway istio-system/second"),
            ]
        );
        assert_eq!(
            lines(&ANALYZER, &yaml)[0],
            "Warning [IST0138] (Gateway istio-system/first test.yaml:4) Duplicate certificate in multiple gateways [istio-system/first istio-system/second] may cause 404s if clients re-use HTTP2 connections."
        );
    }

    #[test]
    fn distinct_credentials_pass() {
        assert_eq!(run(&ANALYZER, &TWO.replace("SECOND", "other-cert")), vec![]);
    }

    #[test]
    fn narrower_selector_is_one_sided_and_files_compare_cert_and_key() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: wide}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, serverCertificate: /etc/c.pem, privateKey: /etc/k.pem}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: narrow}
spec:
  selector: {istio: ingressgateway, app: extra}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: SIMPLE, serverCertificate: /etc/c.pem, privateKey: /etc/k.pem}
"#;
        // `wide`'s labels are a subset of `narrow`'s, not the other way round.
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![pair("IST0138", "Gateway default/wide")]
        );
        let other_key = yaml.replacen("/etc/k.pem", "/etc/k2.pem", 1);
        assert_eq!(run(&ANALYZER, &other_key), vec![]);
    }
}
