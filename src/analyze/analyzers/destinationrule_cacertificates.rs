//! `destinationrule.CaCertificateAnalyzer`: a DestinationRule that originates TLS (`SIMPLE` or
//! `MUTUAL`) without `caCertificates` does not verify the server it talks to.

use crate::analyze::catalog::{IST0128, IST0129};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::networking::{ClientTlsSettings, PortSelector};
use crate::config::resource::Spec;

pub const ANALYZER: Analyzer = Analyzer {
    name: "destinationrule.CaCertificateAnalyzer",
    description: "Checks if caCertificates is set when TLS mode is SIMPLE/MUTUAL",
    inputs: &[Kind::DestinationRule],
    reads: &[Kind::DestinationRule],
    run,
};

/// The TLS mode when these settings originate TLS without a CA to check the server against.
/// A `credentialName` on a DestinationRule with a workload selector supplies the CA from the
/// secret, so Istio exempts that combination.
fn unverified_mode(tls: &ClientTlsSettings, has_workload_selector: bool) -> Option<&str> {
    let mode = tls.mode.as_deref()?;
    if mode != "SIMPLE" && mode != "MUTUAL" {
        return None;
    }
    if tls
        .ca_certificates
        .as_deref()
        .is_some_and(|c| !c.is_empty())
    {
        return None;
    }
    let has_credential = tls
        .credential_name
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    if has_credential && has_workload_selector {
        return None;
    }
    Some(mode)
}

/// `PortSelector.String()` in protobuf text format (`number:443`), as Istio prints the port.
fn port_text(port: Option<&PortSelector>) -> String {
    match port.and_then(|p| p.number) {
        Some(n) if n != 0 => format!("number:{n}"),
        _ => String::new(),
    }
}

fn run(ctx: &mut Context<'_>) {
    for r in ctx.of(Kind::DestinationRule) {
        let Spec::DestinationRule(dr) = &r.spec else {
            continue;
        };
        let Some(policy) = &dr.traffic_policy else {
            continue;
        };
        let ns = r.effective_namespace();
        let dr_name = format!("{ns}/{}", r.name());
        let has_selector = dr.workload_selector.is_some();
        if let Some(mode) = policy
            .tls
            .as_ref()
            .and_then(|t| unverified_mode(t, has_selector))
        {
            ctx.report(
                &IST0128,
                r,
                Some("{.spec.trafficPolicy.tls.caCertificates}"),
                &[
                    dr_name.clone().into(),
                    ns.into(),
                    mode.into(),
                    dr.host.clone().into(),
                ],
            );
        }
        for (i, p) in policy.port_level_settings.iter().enumerate() {
            let Some(mode) = p
                .tls
                .as_ref()
                .and_then(|t| unverified_mode(t, has_selector))
            else {
                continue;
            };
            ctx.report(
                &IST0129,
                r,
                Some(&format!(
                    "{{.spec.trafficPolicy.portLevelSettings[{i}].tls.caCertificates}}"
                )),
                &[
                    dr_name.clone().into(),
                    ns.into(),
                    mode.into(),
                    dr.host.clone().into(),
                    port_text(p.port.as_ref()).into(),
                ],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    #[test]
    fn simple_without_ca_at_destination_level() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: db-tls
spec:
  host: mydbserver.prod.svc.cluster.local
  trafficPolicy:
    tls:
      mode: SIMPLE
      clientCertificate: /etc/certs/myclientcert.pem
"#;
        assert_eq!(
            lines(&ANALYZER, yaml),
            vec![
                "Warning [IST0128] (DestinationRule default/db-tls test.yaml:1) DestinationRule default/db-tls in namespace default has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: mydbserver.prod.svc.cluster.local"
            ]
        );
    }

    #[test]
    fn mutual_at_destination_and_simple_at_port_level() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db-mtls, namespace: prod}
spec:
  host: mydbserver
  trafficPolicy:
    tls: {mode: MUTUAL}
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE}
    - port: {number: 8443}
      tls: {mode: ISTIO_MUTUAL}
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair("IST0128", "DestinationRule prod/db-mtls"),
                pair("IST0129", "DestinationRule prod/db-mtls"),
            ]
        );
        let out = lines(&ANALYZER, yaml);
        assert!(
            out.iter()
                .any(|l| l.ends_with("for host: mydbserver at port number:443")),
            "{out:?}"
        );
    }

    #[test]
    fn ca_or_credential_with_selector_passes() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: with-ca}
spec:
  host: db
  trafficPolicy:
    tls: {mode: SIMPLE, caCertificates: /etc/certs/ca.pem}
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: MUTUAL, caCertificates: /etc/certs/ca.pem}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cred-selector}
spec:
  host: db
  workloadSelector:
    matchLabels: {app: client}
  trafficPolicy:
    tls: {mode: SIMPLE, credentialName: db-cred}
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE, credentialName: db-cred}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }

    #[test]
    fn credential_without_selector_still_fires() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db-tls}
spec:
  host: db
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE, credentialName: db-cred}
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![pair("IST0129", "DestinationRule default/db-tls")]
        );
    }
}
