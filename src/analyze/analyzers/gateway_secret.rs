//! `gateway.SecretAnalyzer`: every `credentialName` a Gateway uses must name a Secret, in the
//! namespace of the gateway workload, that holds a usable certificate and key.
//!
//! Istio also parses the certificate (X.509) and checks its validity period. Ferry has no X.509
//! parser, so it checks what it can without one: the key names, that the values are non-empty,
//! and that the certificate holds a PEM block (a value with none fails Istio's parse too).

use super::gateway_ingress_port::{selector_path, selector_string};
use crate::analyze::catalog::{IST0101, IST0161};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::config::types::selects;

pub const ANALYZER: Analyzer = Analyzer {
    name: "gateway.SecretAnalyzer",
    description: "Checks a gateway's referenced secrets for correctness",
    inputs: &[Kind::Gateway, Kind::Pod, Kind::Secret],
    reads: &[Kind::Gateway, Kind::Secret, Kind::Pod, Kind::Deployment],
    run,
};

fn run(ctx: &mut Context<'_>) {
    for r in ctx.of(Kind::Gateway) {
        let Spec::Gateway(gw) = &r.spec else {
            continue;
        };
        // Credentials are read by the gateway workload, so a bare name resolves in the namespace
        // of the first selected pod, not the Gateway's own.
        let Some(gw_ns) = ctx
            .workloads
            .iter()
            .find(|w| selects(&gw.selector, w.labels))
            .map(|w| w.namespace.to_string())
        else {
            ctx.report(
                &IST0101,
                r,
                Some(&selector_path(&gw.selector)),
                &["selector".into(), selector_string(&gw.selector).into()],
            );
            continue;
        };
        for (i, server) in gw.servers.iter().enumerate() {
            let Some(cn) = server.credential_name() else {
                continue;
            };
            let path = format!("{{.spec.servers[{i}].tls.credentialName}}");
            // `NewShortOrFullName`: `ns/name` names its namespace, a bare name uses the workload's.
            let (ns, name) = cn.split_once('/').unwrap_or((gw_ns.as_str(), cn));
            match ctx.store.get(Kind::Secret, ns, name) {
                None => ctx.report(
                    &IST0101,
                    r,
                    Some(&path),
                    &["credentialName".into(), cn.into()],
                ),
                Some(secret) if !is_valid_secret(secret) => ctx.report(
                    &IST0161,
                    r,
                    Some(&path),
                    &[r.name().into(), gw_ns.clone().into()],
                ),
                Some(_) => {}
            }
        }
    }
}

/// Istio's `ExtractCertInfo`: `cert`+`key`, else `tls.crt`+`tls.key`, both non-empty; the
/// certificate must then decode (approximated here by holding a PEM block).
fn is_valid_secret(secret: &Resource) -> bool {
    if !matches!(secret.spec, Spec::Secret { .. }) {
        return false;
    }
    let cert = [("cert", "key"), ("tls.crt", "tls.key")]
        .iter()
        .find_map(|(c, k)| {
            let cert = secret_value(secret, c)?;
            secret_value(secret, k)?;
            Some(cert)
        });
    match cert {
        None => false,
        Some(SecretValue::Bytes(bytes)) => has_pem_block(&bytes),
        // Undecodable base64 never reaches Istio's check; do not guess.
        Some(SecretValue::Undecodable) => true,
    }
}

enum SecretValue {
    Bytes(Vec<u8>),
    Undecodable,
}

/// A non-empty value for `key`: `stringData` as written (it overrides `data`, as Kubernetes
/// merges them), else `data` decoded from base64.
fn secret_value(secret: &Resource, key: &str) -> Option<SecretValue> {
    if let Some(v) = secret
        .node
        .get("stringData")
        .and_then(|d| d.get(key))
        .and_then(|v| v.as_str())
        .filter(|v| !v.is_empty())
    {
        return Some(SecretValue::Bytes(v.as_bytes().to_vec()));
    }
    let text = secret.node.get("data")?.get(key)?.as_str()?;
    match decode_base64(text) {
        Some(bytes) if bytes.is_empty() => None,
        Some(bytes) => Some(SecretValue::Bytes(bytes)),
        None if text.trim().is_empty() => None,
        None => Some(SecretValue::Undecodable),
    }
}

/// Whether the text has a `-----BEGIN ` line followed by an `-----END ` marker. Looser than Go's
/// `pem.Decode`, so a value failing this fails Istio's decode as well.
fn has_pem_block(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.find("-----BEGIN ")
        .is_some_and(|at| text[at..].contains("-----END "))
}

/// Standard base64 with optional padding; whitespace (line breaks in YAML) is skipped.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = false;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        if padding {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    // "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" in base64.
    const PEM_B64: &str =
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";

    fn gateway(name: &str, selector: &str, credential: &str) -> String {
        format!(
            r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {name}
spec:
  selector:
    {selector}
  servers:
  - port: {{number: 443, name: https, protocol: HTTPS}}
    hosts: [web.example.com]
    tls:
      mode: SIMPLE
      credentialName: {credential}
---
"#
        )
    }

    fn secret(name: &str, data: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: istio-system\ntype: kubernetes.io/tls\ndata:\n{data}---\n"
        )
    }

    #[test]
    fn resolves_in_the_workload_namespace() {
        let yaml = gateway("ok", "istio: ingressgateway", "web-cred")
            + &secret(
                "web-cred",
                &format!("  tls.crt: {PEM_B64}\n  tls.key: a2V5Cg==\n"),
            );
        assert_eq!(run(&ANALYZER, &yaml), vec![]);
    }

    #[test]
    fn missing_secret_and_missing_workload() {
        let yaml = gateway("bogus-cred", "istio: ingressgateway", "nope")
            + &gateway("no-pod", "istio: custom", "web-cred")
            + &gateway("other-ns", "istio: ingressgateway", "default/web-cred")
            + &secret(
                "web-cred",
                &format!("  tls.crt: {PEM_B64}\n  tls.key: a2V5Cg==\n"),
            );
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0101", "Gateway default/bogus-cred"),
                pair("IST0101", "Gateway default/no-pod"),
                pair("IST0101", "Gateway default/other-ns"),
            ]
        );
        assert_eq!(
            lines(&ANALYZER, &yaml)[0],
            "Error [IST0101] (Gateway default/bogus-cred test.yaml:13) Referenced credentialName not found: \"nope\""
        );
    }

    #[test]
    fn invalid_credentials() {
        let yaml = gateway("wrong-keys", "istio: ingressgateway", "wrong-keys")
            + &secret("wrong-keys", &format!("  tls.cert: {PEM_B64}\n"))
            + &gateway("empty-key", "istio: ingressgateway", "empty-key")
            + &secret("empty-key", &format!("  cert: {PEM_B64}\n  key: \"\"\n"))
            + &gateway("not-pem", "istio: ingressgateway", "not-pem")
            // "hello\n" and "key\n"
            + &secret("not-pem", "  cert: aGVsbG8K\n  key: a2V5Cg==\n")
            + &gateway("generic", "istio: ingressgateway", "generic")
            + &secret("generic", &format!("  cert: {PEM_B64}\n  key: a2V5Cg==\n"));
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0161", "Gateway default/empty-key"),
                pair("IST0161", "Gateway default/not-pem"),
                pair("IST0161", "Gateway default/wrong-keys"),
            ]
        );
        assert!(lines(&ANALYZER, &yaml).contains(&"Error [IST0161] (Gateway default/not-pem test.yaml:60) The credential referenced by the Gateway not-pem in namespace istio-system is invalid, which can cause the traffic not to work as expected.".to_string()));
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(decode_base64("aGVsbG8K").as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(decode_base64("a2V5\nCg=="), Some(b"key\n".to_vec()));
        assert_eq!(decode_base64("not base64!"), None);
    }
}
