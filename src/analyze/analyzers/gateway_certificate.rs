//! `gateway.CertificateAnalyzer`: two Gateways on the same workloads serving the same
//! certificate let HTTP/2 clients reuse a connection across them and hit 404s.

use std::collections::{BTreeMap, HashMap};

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
    reads: &[Kind::Gateway, Kind::Pod, Kind::Deployment],
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
    // Istio compares every pair of gateways; grouping by certificate first keeps the same
    // result linear in the number of gateways that serve TLS.
    let mut by_certificate: HashMap<CertificateKey<'_>, Vec<usize>> = HashMap::new();
    for (i, (_, g)) in gateways.iter().enumerate() {
        for key in g
            .servers
            .iter()
            .filter_map(|s| s.tls.as_ref().and_then(certificate_key))
        {
            let group = by_certificate.entry(key).or_default();
            if group.last() != Some(&i) {
                group.push(i);
            }
        }
    }
    for (ci, (cur_r, cur)) in gateways.iter().enumerate() {
        for cur_server in &cur.servers {
            let Some(key) = cur_server.tls.as_ref().and_then(certificate_key) else {
                continue;
            };
            let Some(group) = by_certificate.get(&key) else {
                continue;
            };
            for &oi in group {
                let (other_r, other) = gateways[oi];
                if oi == ci || !selector_subset(&cur.selector, &other.selector) {
                    continue;
                }
                // One report per matching server of the other gateway, as Istio's nested loops.
                let matching = other
                    .servers
                    .iter()
                    .filter(|s| s.tls.as_ref().and_then(certificate_key) == Some(key))
                    .count();
                for _ in 0..matching {
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

fn selector_subset(cur: &BTreeMap<String, String>, other: &BTreeMap<String, String>) -> bool {
    cur.iter().all(|(k, v)| other.get(k) == Some(v))
}

/// What makes two servers' certificates the same (Istio's comparison): the same non-empty
/// `credentialName`, or, both without one, the same non-empty certificate and key files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CertificateKey<'a> {
    Credential(&'a str),
    Files(&'a str, &'a str),
}

fn certificate_key(tls: &ServerTlsSettings) -> Option<CertificateKey<'_>> {
    fn non_empty(s: &Option<String>) -> Option<&str> {
        s.as_deref().filter(|s| !s.is_empty())
    }
    if let Some(cn) = non_empty(&tls.credential_name) {
        return Some(CertificateKey::Credential(cn));
    }
    match (
        non_empty(&tls.server_certificate),
        non_empty(&tls.private_key),
    ) {
        (Some(cert), Some(key)) => Some(CertificateKey::Files(cert, key)),
        _ => None,
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
