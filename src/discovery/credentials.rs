//! Gateway credentials (istiod's `credentials/kube` secret controller): the Secrets a Gateway's
//! `tls.credentialName` names, served to gateways over SDS as istiod serves them, under the
//! resource names `kubernetes://<name>` (certificate chain and key) and
//! `kubernetes://<name>-cacert` (the CA that verifies clients, for `MUTUAL`).
//!
//! The Secrets come from the config like every other object: watched on Kubernetes, YAML files
//! in the config directory of a local mesh. A gateway reads only the Secrets of its own
//! namespace, as an Istio gateway does.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, Secret, TlsCertificate, secret,
};
use serde_json::Value;

use crate::config::kind::Kind;
use crate::config::store::Store;

/// The prefix istiod gives SDS resources read from Kubernetes Secrets.
pub const KUBERNETES_PREFIX: &str = "kubernetes://";
/// The suffix of the CA resource of a credential (`credentials.InvalidSecretType`'s sibling:
/// istiod's `SdsCaSuffix`).
pub const CA_SUFFIX: &str = "-cacert";

/// Istio's key pairs, in the order `ExtractCertInfo` tries them: generic, then TLS.
const KEY_PAIRS: [(&str, &str); 2] = [("cert", "key"), ("tls.crt", "tls.key")];
/// Istio's CA keys, generic then TLS (`ExtractRoot`).
const CA_KEYS: [&str; 2] = ["cacert", "ca.crt"];

/// What a Secret holds for TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The certificate chain and key, when the Secret has both.
    pub key_pair: Option<(Vec<u8>, Vec<u8>)>,
    /// The CA certificates, when it has them.
    pub ca: Option<Vec<u8>>,
}

/// The TLS Secrets of the config, by namespace and name.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    by_name: BTreeMap<(String, String), Arc<Credential>>,
}

impl Credentials {
    /// Every Secret of `store` that holds a key pair or a CA.
    pub fn from_store(store: &Store) -> Credentials {
        let mut by_name = BTreeMap::new();
        for r in store.of(Kind::Secret) {
            if let Some(c) = extract(&r.node.to_json()) {
                by_name.insert(
                    (r.effective_namespace().to_string(), r.name().to_string()),
                    Arc::new(c),
                );
            }
        }
        Credentials { by_name }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&Credential> {
        self.by_name
            .get(&(namespace.to_string(), name.to_string()))
            .map(Arc::as_ref)
    }

    /// The SDS resource `sds_name` for a gateway in `namespace`; `None` when it names no
    /// credential there (the gateway then has no certificate for it, and Envoy's handshakes on
    /// that filter chain fail).
    ///
    /// `kubernetes://<name>-cacert` is the `ca.crt`/`cacert` of Secret `<name>-cacert` when
    /// that exists, else of Secret `<name>` (istiod's order).
    pub fn secret(&self, namespace: &str, sds_name: &str) -> Option<Secret> {
        let name = sds_name.strip_prefix(KUBERNETES_PREFIX)?;
        if let Some(base) = name.strip_suffix(CA_SUFFIX) {
            let ca = self
                .get(namespace, name)
                .and_then(|c| c.ca.clone())
                .or_else(|| self.get(namespace, base).and_then(|c| c.ca.clone()));
            if let Some(ca) = ca {
                return Some(Secret {
                    name: sds_name.to_string(),
                    r#type: Some(secret::Type::ValidationContext(
                        CertificateValidationContext {
                            trusted_ca: inline(ca),
                            ..Default::default()
                        },
                    )),
                });
            }
        }
        let (cert, key) = self.get(namespace, name)?.key_pair.clone()?;
        Some(Secret {
            name: sds_name.to_string(),
            r#type: Some(secret::Type::TlsCertificate(TlsCertificate {
                certificate_chain: inline(cert),
                private_key: inline(key),
                ..Default::default()
            })),
        })
    }
}

fn inline(bytes: Vec<u8>) -> Option<DataSource> {
    Some(DataSource {
        specifier: Some(data_source::Specifier::InlineBytes(bytes)),
        ..Default::default()
    })
}

/// A Secret's value for `key`: `stringData` as written, `data` base64-decoded. Empty values
/// count as missing, as Istio's `hasValue`.
fn value(secret: &Value, key: &str) -> Option<Vec<u8>> {
    let plain = secret
        .get("stringData")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .map(|s| s.as_bytes().to_vec());
    let decoded = || {
        let text = secret.get("data")?.get(key)?.as_str()?;
        // The API server stores `data` as standard base64; a value that does not decode is
        // as good as missing.
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
    };
    plain.or_else(decoded).filter(|v| !v.is_empty())
}

/// The TLS material of a Secret's JSON; `None` when it has neither a key pair nor a CA.
fn extract(secret: &Value) -> Option<Credential> {
    let key_pair = KEY_PAIRS
        .iter()
        .find_map(|(c, k)| Some((value(secret, c)?, value(secret, k)?)));
    let ca = CA_KEYS.iter().find_map(|k| value(secret, k));
    (key_pair.is_some() || ca.is_some()).then_some(Credential { key_pair, ca })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::testing::store;

    const YAML: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: tls-cred, namespace: istio-system}
type: kubernetes.io/tls
data:
  tls.crt: Q0VSVA==
  tls.key: S0VZ
  ca.crt: Q0E=
---
apiVersion: v1
kind: Secret
metadata: {name: generic, namespace: istio-system}
stringData: {cert: CERT2, key: KEY2}
---
apiVersion: v1
kind: Secret
metadata: {name: generic-cacert, namespace: istio-system}
stringData: {cacert: CA2}
---
apiVersion: v1
kind: Secret
metadata: {name: half, namespace: istio-system}
stringData: {tls.crt: CERT3}
---
apiVersion: v1
kind: Secret
metadata: {name: tls-cred, namespace: other}
stringData: {tls.crt: OTHER, tls.key: OTHERKEY}
"#;

    fn cert_of(s: &Secret) -> (Vec<u8>, Vec<u8>) {
        let Some(secret::Type::TlsCertificate(t)) = &s.r#type else {
            panic!("not a certificate: {s:?}");
        };
        let bytes = |d: &Option<DataSource>| match d.as_ref().and_then(|d| d.specifier.as_ref()) {
            Some(data_source::Specifier::InlineBytes(b)) => b.clone(),
            other => panic!("not inline bytes: {other:?}"),
        };
        (bytes(&t.certificate_chain), bytes(&t.private_key))
    }

    fn ca_of(s: &Secret) -> Vec<u8> {
        let Some(secret::Type::ValidationContext(v)) = &s.r#type else {
            panic!("not a validation context: {s:?}");
        };
        match v.trusted_ca.as_ref().and_then(|d| d.specifier.as_ref()) {
            Some(data_source::Specifier::InlineBytes(b)) => b.clone(),
            other => panic!("not inline bytes: {other:?}"),
        }
    }

    #[test]
    fn tls_and_generic_secrets_become_sds_resources_of_their_namespace() {
        let creds = Credentials::from_store(&store(YAML));
        let s = creds
            .secret("istio-system", "kubernetes://tls-cred")
            .expect("tls-cred");
        assert_eq!(s.name, "kubernetes://tls-cred");
        assert_eq!(cert_of(&s), (b"CERT".to_vec(), b"KEY".to_vec()));
        let s = creds
            .secret("istio-system", "kubernetes://generic")
            .expect("generic");
        assert_eq!(cert_of(&s), (b"CERT2".to_vec(), b"KEY2".to_vec()));
        let other = creds
            .secret("other", "kubernetes://tls-cred")
            .expect("other");
        assert_eq!(cert_of(&other).0, b"OTHER");
        assert!(creds.secret("default", "kubernetes://tls-cred").is_none());
    }

    #[test]
    fn the_ca_comes_from_the_cacert_secret_then_the_credential_itself() {
        let creds = Credentials::from_store(&store(YAML));
        let own = creds
            .secret("istio-system", "kubernetes://tls-cred-cacert")
            .expect("ca.crt of tls-cred");
        assert_eq!(ca_of(&own), b"CA");
        let separate = creds
            .secret("istio-system", "kubernetes://generic-cacert")
            .expect("generic-cacert");
        assert_eq!(ca_of(&separate), b"CA2");
        assert!(
            creds
                .secret("other", "kubernetes://tls-cred-cacert")
                .is_none()
        );
    }

    #[test]
    fn half_a_key_pair_and_other_names_are_not_served() {
        let creds = Credentials::from_store(&store(YAML));
        assert!(creds.secret("istio-system", "kubernetes://half").is_none());
        assert!(creds.secret("istio-system", "tls-cred").is_none());
        assert!(creds.secret("istio-system", "default").is_none());
    }
}
