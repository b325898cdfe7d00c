//! The secret table (istioctl `writer/compare/sds`): SDS secrets from the config dump, warming
//! first, with what their first certificate says.

use std::fmt::Write as _;

use serde_json::Value;

use super::dump::{self, ConfigDump, items, str_of};
use super::x509::{self, first_pem_certificate};
use super::{DumpError, tabwriter};

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretItem {
    pub name: String,
    pub state: &'static str,
    pub kind: &'static str,
    pub valid: bool,
    pub serial: String,
    pub not_after: String,
    pub not_before: String,
}

fn item(s: &Value, state: &'static str, now: i64) -> SecretItem {
    let secret = s.get("secret");
    let inline = |ptr: &str| {
        secret
            .and_then(|v| v.pointer(ptr))
            .and_then(Value::as_str)
            .filter(|b| !b.is_empty())
    };
    let data = inline("/tls_certificate/certificate_chain/inline_bytes")
        .or_else(|| inline("/validation_context/trusted_ca/inline_bytes"));
    let cert = data
        .and_then(x509::base64)
        .and_then(|pem| String::from_utf8(pem).ok())
        .and_then(|pem| first_pem_certificate(&pem));
    let mut row = SecretItem {
        name: str_of(s, "name").to_string(),
        state,
        kind: "",
        valid: false,
        serial: String::new(),
        not_after: String::new(),
        not_before: String::new(),
    };
    if let Some(c) = cert {
        row.kind = if c.is_ca { "CA" } else { "Cert Chain" };
        row.valid = c.not_before <= now && now <= c.not_after;
        row.serial = c.serial;
        row.not_after = x509::rfc3339(c.not_after);
        row.not_before = x509::rfc3339(c.not_before);
    }
    row
}

/// The rows, warming secrets first; `now` in Unix seconds decides VALID CERT.
pub fn secret_items(dump: &ConfigDump, now: i64) -> Result<Vec<SecretItem>, DumpError> {
    let section = dump.section(dump::SECRETS)?;
    Ok(items(section, "dynamic_warming_secrets")
        .map(|s| item(s, "WARMING", now))
        .chain(items(section, "dynamic_active_secrets").map(|s| item(s, "ACTIVE", now)))
        .collect())
}

/// The summary table; `named` prefixes names with `secret/` as `proxy-config all` does.
pub fn summary(dump: &ConfigDump, named: bool, now: i64) -> Result<String, DumpError> {
    let rows = secret_items(dump, now)?;
    if rows.is_empty() {
        return Ok("No active or warming secrets found.\n".to_string());
    }
    let prefix = if named { "secret/" } else { "" };
    let mut t = String::from(
        "RESOURCE NAME\tTYPE\tSTATUS\tVALID CERT\tSERIAL NUMBER\tNOT AFTER\tNOT BEFORE\n",
    );
    for r in &rows {
        let _ = writeln!(
            t,
            "{prefix}{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.name, r.kind, r.state, r.valid, r.serial, r.not_after, r.not_before
        );
    }
    Ok(tabwriter::format(&t, 5))
}

/// Why a proxy's root cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootCaError {
    #[error("sidecar doesn't support secrets: {0}")]
    NoSecrets(String),
    #[error("cannot find ROOTCA from secret")]
    NotFound,
    #[error("can not dump ROOTCA from secret: {0}")]
    Unreadable(String),
    #[error("failed to parse certificates: {0}")]
    Pem(String),
}

/// The PEM of the `ROOTCA` secret (its validation context's trusted CA), as istioctl's
/// `PrintPodRootCAFromDynamicSecretDump` reads it.
pub fn root_ca(dump: &ConfigDump) -> Result<String, RootCaError> {
    let section = dump
        .section(dump::SECRETS)
        .map_err(|e| RootCaError::NoSecrets(e.to_string()))?;
    let secret = items(section, "dynamic_active_secrets")
        .find(|s| str_of(s, "name") == "ROOTCA")
        .ok_or(RootCaError::NotFound)?;
    let bytes = secret
        .pointer("/secret/validation_context/trusted_ca/inline_bytes")
        .and_then(Value::as_str)
        .ok_or_else(|| RootCaError::Unreadable("no validation_context.trusted_ca".into()))?;
    let pem = x509::base64(bytes)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| RootCaError::Unreadable("the trusted CA is not base64 PEM".into()))?;
    Ok(pem)
}

/// Whether the two roots share a certificate (istioctl's `checkRootCACertMatchExist`: any
/// certificate of one equal to any of the other).
pub fn roots_share_a_certificate(a: &str, b: &str) -> Result<bool, RootCaError> {
    let parse = |pem: &str| {
        crate::identity::pem::certificates(pem).map_err(|_| RootCaError::Pem(pem.to_string()))
    };
    let (a, b) = (parse(a)?, parse(b)?);
    Ok(a.iter().any(|x| b.iter().any(|y| x == y)))
}

/// What `-o json|yaml` prints: the secrets section without its `@type`.
pub fn section(dump: &ConfigDump) -> Result<Value, DumpError> {
    dump.section_without_type(dump::SECRETS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_of_a_real_envoy_is_its_rootca_secret() {
        let dump = ConfigDump::parse(include_bytes!("../../fixtures/envoy/config-dump-full.json"))
            .unwrap();
        let root = root_ca(&dump).unwrap();
        assert!(root.starts_with("-----BEGIN CERTIFICATE-----"), "{root}");
        assert!(roots_share_a_certificate(&root, &root).unwrap());
        let other = rcgen::generate_simple_self_signed(vec!["x".to_string()])
            .unwrap()
            .cert
            .pem();
        assert!(!roots_share_a_certificate(&root, &other).unwrap());
        // A bundle that holds the other root too shares it.
        assert!(roots_share_a_certificate(&root, &format!("{other}{root}")).unwrap());
        assert!(matches!(
            roots_share_a_certificate(&root, "garbage"),
            Err(RootCaError::Pem(_))
        ));
        let without = ConfigDump::parse(include_bytes!(
            "../../fixtures/envoy/config-dump-clusters-listeners-routes.json"
        ))
        .unwrap();
        assert!(root_ca(&without).is_err());
    }

    #[test]
    fn table_of_a_real_envoy() {
        let dump = ConfigDump::parse(include_bytes!("../../fixtures/envoy/config-dump-full.json"))
            .unwrap();
        // 2030-01-01: the workload certificate has expired, the root has not.
        insta::assert_snapshot!(summary(&dump, false, 1_893_456_000).unwrap());
    }
}
