//! Checks several kinds share: exportTo, gateway references, workload selectors, target refs,
//! TLS settings and header names/values.

use std::collections::{BTreeMap, HashSet};

use super::Out;
use super::hosts::validate_fqdn;
use super::names::is_dns1123_label;
use crate::config::networking::{
    ClientTlsSettings, LabelsSelector, ServerTlsSettings, WorkloadSelector,
};
use crate::config::security::PolicyTargetReference;

/// `validateExportTo`.
pub fn validate_export_to(
    ns: &str,
    list: &[String],
    is_service_entry: bool,
    is_dr_with_selector: bool,
    out: &mut Out,
) {
    let mut set: HashSet<&str> = HashSet::new();
    for (i, e) in list.iter().enumerate() {
        let path = format!(".spec.exportTo[{i}]");
        let key = if e == "." { ns } else { e.as_str() };
        if set.contains(key) {
            if key != e {
                out.error(
                    &path,
                    format!("duplicate entries in exportTo: . and current namespace {ns}"),
                );
            } else {
                out.error(
                    &path,
                    format!("duplicate entries in exportTo for entry {e}"),
                );
            }
        } else if is_service_entry && e == "~" {
            set.insert(key);
        } else if key == "~" {
            out.error(
                &path,
                "exportTo ~ (none) is not allowed for Istio configuration objects",
            );
        } else if key == "*" || is_dns1123_label(key) {
            set.insert(key);
        } else {
            out.error(
                &path,
                "only .,*,~, or a valid DNS 1123 label is allowed as exportTo entry",
            );
        }
    }
    if is_dr_with_selector && !set.is_empty() {
        if set.contains(ns) && set.len() > 1 {
            out.error(
                ".spec.exportTo",
                "destination rule with workload selector cannot have multiple entries in exportTo",
            );
        } else if !set.contains(ns) {
            out.error(
                ".spec.exportTo",
                "destination rule with workload selector cannot have exportTo beyond current namespace",
            );
        }
    }
    if set.contains("*") && list.len() > 1 {
        out.error(
            ".spec.exportTo",
            "cannot have both public (*) and non-public exportTo values for a resource",
        );
    }
    if set.contains("~") && list.len() > 1 {
        out.error(
            ".spec.exportTo",
            "cannot export service entry to no one (~) and someone",
        );
    }
}

/// `validateGatewayNames`. Returns at the first name without a `/`, as Istio does.
pub fn validate_gateway_names(names: &[String], base: &str, out: &mut Out) {
    for (i, name) in names.iter().enumerate() {
        let path = format!("{base}[{i}]");
        let Some((ns, gw)) = name.split_once('/') else {
            if name.contains('.') {
                let parts: Vec<&str> = name.splitn(2, '.').collect();
                let recommended = format!("{}/{}", parts[1], parts[0]);
                out.warn(
                    &path,
                    format!(
                        "using legacy gatewayName format {name:?}; prefer the <namespace>/<name> format: {recommended:?}"
                    ),
                );
            }
            out.check(&path, validate_fqdn(name));
            return;
        };
        if ns.is_empty() || gw.is_empty() {
            out.error(&path, "config namespace and gateway name cannot be empty");
        }
        if !is_dns1123_label(ns) {
            out.error(&path, format!("invalid value for namespace: {ns:?}"));
        }
        if !is_dns1123_label(gw) {
            out.error(&path, format!("invalid value for gateway name: {gw:?}"));
        }
    }
}

/// Shared body of the two selector checks: empty keys and wildcards are errors.
fn selector_labels(labels: &BTreeMap<String, String>, base: &str, out: &mut Out) {
    for (k, v) in labels {
        let path = format!("{base}.{k}");
        if k.is_empty() {
            out.error(
                &path,
                format!(
                    "empty key is not supported in selector: {:?}",
                    format!("{k}={v}")
                ),
            );
        }
        if k.contains('*') || v.contains('*') {
            out.error(
                &path,
                format!(
                    "wildcard is not supported in selector: {:?}",
                    format!("{k}={v}")
                ),
            );
        }
    }
}

/// `validateWorkloadSelector` (security/telemetry `selector.matchLabels`, DR `workloadSelector`).
pub fn validate_workload_selector(sel: Option<&WorkloadSelector>, field: &str, out: &mut Out) {
    let Some(sel) = sel else { return };
    let base = format!(".spec.{field}.matchLabels");
    selector_labels(&sel.match_labels, &base, out);
    if sel.match_labels.is_empty() {
        out.warn(
            &format!(".spec.{field}"),
            "workload selector specified without labels",
        );
    }
}

/// `ValidateAlphaWorkloadSelector` (Sidecar, ServiceEntry, EnvoyFilter `workloadSelector.labels`).
/// Returns false when it found errors: the caller then stops, as Istio does.
pub fn validate_alpha_workload_selector(
    sel: Option<&LabelsSelector>,
    kind_prefix: &str,
    out: &mut Out,
) -> bool {
    let Some(sel) = sel else { return true };
    let mut errs = Out::default();
    selector_labels(&sel.labels, ".spec.workloadSelector.labels", &mut errs);
    if errs.has_errors() {
        out.findings.extend(errs.findings);
        return false;
    }
    if sel.labels.is_empty() {
        out.warn(
            ".spec.workloadSelector",
            format!(
                "{kind_prefix}: workload selector specified without labels, will be applied to all services in namespace"
            ),
        );
    }
    true
}

/// `validateOneOfSelectorType`.
pub fn validate_one_of_selector_type(
    selector: Option<&WorkloadSelector>,
    target_ref: Option<&PolicyTargetReference>,
    target_refs: &[PolicyTargetReference],
    out: &mut Out,
) {
    let set = [
        selector.is_some(),
        target_ref.is_some(),
        !target_refs.is_empty(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set > 1 {
        out.error("", "only one of targetRefs or workloadSelector can be set");
    }
}

/// The kinds a policy may target (`CanonicalGroup/Version/Kind`).
const ALLOWED_TARGETS: &[(&str, &str, &str)] = &[
    ("core", "v1", "Service"),
    ("networking.istio.io", "v1", "ServiceEntry"),
    ("gateway.networking.k8s.io", "v1", "Gateway"),
    ("gateway.networking.k8s.io", "v1", "GatewayClass"),
];

/// `validatePolicyTargetReference`.
pub fn validate_policy_target_reference(r: &PolicyTargetReference, path: &str, out: &mut Out) {
    if r.name.as_deref().unwrap_or_default().is_empty() {
        out.error(path, "targetRef name must be set");
    }
    if r.namespace.as_deref().is_some_and(|n| !n.is_empty()) {
        out.error(
            path,
            "targetRef namespace must not be set; cross namespace referencing is not supported",
        );
    }
    let group = r.group.as_deref().unwrap_or_default();
    let kind = r.kind.as_deref().unwrap_or_default();
    let canonical = if group.is_empty() { "core" } else { group };
    if !ALLOWED_TARGETS
        .iter()
        .any(|(g, _, k)| *g == canonical && *k == kind)
    {
        let allowed: Vec<String> = ALLOWED_TARGETS
            .iter()
            .map(|(g, v, k)| format!("{g}/{v}/{k}"))
            .collect();
        out.error(
            path,
            format!(
                "targetRef must be to one of [{}] but was {group}/{kind}",
                allowed.join(" ")
            ),
        );
    }
}

/// Selector, targetRef and targetRefs of a security/telemetry policy (1.11).
pub fn validate_policy_selection(
    selector: Option<&WorkloadSelector>,
    target_ref: Option<&PolicyTargetReference>,
    target_refs: &[PolicyTargetReference],
    out: &mut Out,
) {
    validate_one_of_selector_type(selector, target_ref, target_refs, out);
    validate_workload_selector(selector, "selector", out);
    if let Some(r) = target_ref {
        validate_policy_target_reference(r, ".spec.targetRef", out);
    }
    for (i, r) in target_refs.iter().enumerate() {
        validate_policy_target_reference(r, &format!(".spec.targetRefs[{i}]"), out);
    }
}

fn set(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|v| !v.is_empty())
}

/// `agent.ValidateTLS` (ClientTLSSettings).
pub fn validate_client_tls(ns: &str, tls: &ClientTlsSettings, base: &str, out: &mut Out) {
    let mode = tls.mode.as_deref().unwrap_or("DISABLE");
    let path = format!("{base}.mode");
    if let Some(cm) = tls
        .credential_name
        .as_deref()
        .and_then(|c| c.strip_prefix("configmap://"))
    {
        let cm_ns = cm.split_once('/').map(|(n, _)| n);
        if cm_ns.is_some_and(|n| n != ns) || ns.is_empty() {
            out.error(
                &format!("{base}.credentialName"),
                format!(
                    "invalid configmap:// credentialName: namespace must match the configuration namespace {ns:?}"
                ),
            );
        }
    }
    if tls.insecure_skip_verify == Some(true) {
        if mode == "SIMPLE"
            && (set(&tls.ca_certificates)
                || set(&tls.credential_name)
                || !tls.subject_alt_names.is_empty())
        {
            out.error(
                &path,
                "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
            );
        }
        if mode == "MUTUAL" && (set(&tls.ca_certificates) || !tls.subject_alt_names.is_empty()) {
            out.error(
                &path,
                "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true",
            );
        }
    }
    if (mode == "SIMPLE" || mode == "MUTUAL") && set(&tls.credential_name) {
        if set(&tls.client_certificate)
            || set(&tls.ca_certificates)
            || set(&tls.private_key)
            || set(&tls.ca_crl)
        {
            out.error(
                &path,
                "cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
            );
        }
        return;
    }
    if mode == "MUTUAL" {
        if !set(&tls.client_certificate) {
            out.error(&path, "client certificate required for mutual tls");
        }
        if !set(&tls.private_key) {
            out.error(&path, "private key required for mutual tls");
        }
    }
}

const VALID_CIPHERS: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "DES-CBC3-SHA",
];

fn valid_cipher(c: &str) -> bool {
    c.is_empty()
        || c == "ALL"
        || !c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        || VALID_CIPHERS.contains(&c)
}

/// `validateTLSOptions` (ServerTLSSettings on gateway servers and sidecar ingress).
pub fn validate_server_tls(tls: &ServerTlsSettings, base: &str, out: &mut Out) {
    let mode = tls.mode.as_deref().unwrap_or("PASSTHROUGH");
    let path = format!("{base}.mode");
    if matches!(
        tls.min_protocol_version.as_deref(),
        Some("TLSV1_0" | "TLSV1_1")
    ) && tls.cipher_suites.is_empty()
    {
        out.warn(
            &format!("{base}.minProtocolVersion"),
            "TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.",
        );
    }
    let mut invalid = Vec::new();
    let mut seen = HashSet::new();
    let mut dup = Vec::new();
    for c in &tls.cipher_suites {
        if !valid_cipher(c) {
            invalid.push(c.clone());
        } else if !seen.insert(c.as_str()) {
            dup.push(c.clone());
        }
    }
    invalid.sort();
    dup.sort();
    if !invalid.is_empty() {
        out.warn(
            &format!("{base}.cipherSuites"),
            format!("ignoring invalid cipher suites: [{}]", invalid.join(" ")),
        );
    }
    if !dup.is_empty() {
        out.warn(
            &format!("{base}.cipherSuites"),
            format!("ignoring duplicate cipher suites: [{}]", dup.join(" ")),
        );
    }
    if mode == "ISTIO_MUTUAL" {
        let checks = [
            (set(&tls.server_certificate), "server certificate"),
            (set(&tls.private_key), "private key"),
            (set(&tls.ca_certificates), "CA bundle"),
            (!tls.tls_certificates.is_empty(), "tlsCertificates"),
            (set(&tls.credential_name), "credentialName"),
            (!tls.credential_names.is_empty(), "credentialNames"),
        ];
        for (bad, what) in checks {
            if bad {
                out.error(
                    &path,
                    format!("ISTIO_MUTUAL TLS cannot have associated {what}"),
                );
            }
        }
        return;
    }
    let has_certs = set(&tls.ca_crl)
        || set(&tls.server_certificate)
        || set(&tls.private_key)
        || set(&tls.ca_certificates)
        || set(&tls.credential_name)
        || !tls.tls_certificates.is_empty()
        || !tls.credential_names.is_empty();
    if (mode == "PASSTHROUGH" || mode == "AUTO_PASSTHROUGH") && has_certs {
        out.warn(
            &path,
            format!("{mode} mode does not use certificates, they will be ignored"),
        );
    }
    let sources = [
        set(&tls.server_certificate) && set(&tls.private_key),
        set(&tls.credential_name),
        !tls.credential_names.is_empty(),
        !tls.tls_certificates.is_empty(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if sources > 1 {
        out.error(
            &path,
            "only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified",
        );
    }
    let needs_certs = matches!(mode, "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL");
    if needs_certs && (set(&tls.credential_name) || !tls.credential_names.is_empty()) {
        return;
    }
    if needs_certs {
        let prefix = if mode == "SIMPLE" {
            "SIMPLE TLS"
        } else {
            "MUTUAL TLS"
        };
        if mode != "SIMPLE" && !set(&tls.ca_certificates) {
            out.error(&path, format!("{prefix} requires a client CA bundle"));
        }
        if tls.tls_certificates.len() > 2 {
            out.warn(
                &path,
                format!("{prefix} can support up to 2 server certificates"),
            );
        }
        if tls.tls_certificates.is_empty() {
            if !set(&tls.server_certificate) {
                out.error(&path, format!("{prefix} requires a server certificate"));
            }
            if !set(&tls.private_key) {
                out.error(&path, format!("{prefix} requires a private key"));
            }
        } else {
            for c in &tls.tls_certificates {
                let has = |k: &str| {
                    c.get(k)
                        .and_then(|v| v.as_str())
                        .is_some_and(|s| !s.is_empty())
                };
                if !has("serverCertificate") {
                    out.error(&path, format!("{prefix} requires a server certificate"));
                }
                if !has("privateKey") {
                    out.error(&path, format!("{prefix} requires a private key"));
                }
            }
        }
    }
    if set(&tls.ca_crl) {
        if set(&tls.credential_name) {
            out.error(
                &format!("{base}.caCrl"),
                "CRL is not supported with credentialName. CRL has to be specified in the credential",
            );
        } else if mode == "SIMPLE" {
            out.error(
                &format!("{base}.caCrl"),
                "CRL is not supported with SIMPLE TLS",
            );
        }
    }
}

/// RFC 7230 token characters (Istio's `validHeaderNameRegex`; `+-.` is a range there, so `,`
/// is admitted too).
fn is_tchar_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+,-.^_`|~".contains(&c))
}

/// `^[-A-Za-z0-9]+$`.
pub fn is_strict_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// `jwt.ToRoutingClaim` recognises the name.
pub fn is_jwt_claim_route(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("@request.auth.claims") else {
        return false;
    };
    (rest.starts_with('.') && rest.len() > 1)
        || (rest.starts_with('[') && rest.ends_with(']') && rest.len() > 2)
}

/// `ValidateHTTPHeaderNameOrJwtClaimRoute`.
pub fn validate_match_header_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("header name cannot be empty".into());
    }
    if is_jwt_claim_route(name)
        || matches!(
            name,
            ":method" | ":scheme" | ":authority" | ":path" | ":status"
        )
        || is_tchar_name(name)
    {
        return None;
    }
    Some(format!("header name {name} is not a valid header name"))
}

/// `ValidateCORSHTTPHeaderName`.
pub fn validate_cors_header_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("header name cannot be empty".into());
    }
    if name == "*" || is_tchar_name(name) {
        return None;
    }
    Some(format!("header name {name} is not a valid header name"))
}

/// `ValidateHTTPHeaderWithAuthorityOperationName` (request add/set).
pub fn validate_header_op_name_with_authority(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("header name cannot be empty".into());
    }
    let lower = name.to_ascii_lowercase();
    // Istio's check also names `host`, then exempts it: only `:`-prefixed names other than
    // `:authority` are refused.
    if name.starts_with(':') && lower != ":authority" {
        return Some(format!(
            "invalid header {name:?}: header cannot have \":\" prefix"
        ));
    }
    None
}

/// `ValidateHTTPHeaderOperationName` (request remove, response add/set/remove).
pub fn validate_header_op_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("header name cannot be empty".into());
    }
    if name.eq_ignore_ascii_case("host") {
        return Some(format!("invalid header {name:?}: cannot set Host header"));
    }
    if name.starts_with(':') {
        return Some(format!(
            "invalid header {name:?}: header cannot have \":\" prefix"
        ));
    }
    None
}

/// `ValidateHTTPHeaderValue`: control characters only. Envoy's `%VAR%` grammar check is not
/// implemented.
pub fn validate_header_value(v: &str) -> Option<String> {
    if v.bytes()
        .any(|c| (c <= 0x08) || (0x0A..=0x1F).contains(&c) || c == 0x7F)
    {
        return Some(format!("header value configuration {v} is invalid"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(out: Out) -> Vec<String> {
        out.findings.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn export_to() {
        let mut out = Out::default();
        validate_export_to("ns", &["ns".into(), ".".into()], false, false, &mut out);
        assert_eq!(
            msgs(out),
            vec!["duplicate entries in exportTo: . and current namespace ns"]
        );
        let mut out = Out::default();
        validate_export_to("ns", &["*".into(), "~".into()], false, false, &mut out);
        assert_eq!(
            msgs(out),
            vec![
                "exportTo ~ (none) is not allowed for Istio configuration objects",
                "cannot have both public (*) and non-public exportTo values for a resource"
            ]
        );
        let mut out = Out::default();
        validate_export_to("ns", &["~".into()], true, false, &mut out);
        assert!(out.findings.is_empty());
    }

    #[test]
    fn gateway_names() {
        let mut out = Out::default();
        validate_gateway_names(
            &["gw.istio-system".into(), "bad_ns/gw".into()],
            ".spec.gateways",
            &mut out,
        );
        assert_eq!(
            msgs(out),
            vec![
                "using legacy gatewayName format \"gw.istio-system\"; prefer the <namespace>/<name> format: \"istio-system/gw\""
            ]
        );
        let mut out = Out::default();
        validate_gateway_names(&["bad_ns/gw".into()], ".spec.gateways", &mut out);
        assert_eq!(msgs(out), vec!["invalid value for namespace: \"bad_ns\""]);
    }

    #[test]
    fn headers() {
        assert_eq!(validate_match_header_name("x-user"), None);
        assert_eq!(
            validate_match_header_name("@request.auth.claims.group"),
            None
        );
        assert_eq!(
            validate_match_header_name("bad header"),
            Some("header name bad header is not a valid header name".into())
        );
        assert_eq!(
            validate_header_op_name(":path"),
            Some("invalid header \":path\": header cannot have \":\" prefix".into())
        );
        assert_eq!(
            validate_header_op_name("Host"),
            Some("invalid header \"Host\": cannot set Host header".into())
        );
        assert_eq!(validate_header_op_name_with_authority("host"), None);
        assert_eq!(
            validate_header_value("a\u{1}b"),
            Some("header value configuration a\u{1}b is invalid".into())
        );
    }
}
