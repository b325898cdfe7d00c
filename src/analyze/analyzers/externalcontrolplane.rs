//! `externalcontrolplane.ExternalControlPlaneAnalyzer`: on a remote cluster, Istio's validation
//! and injection webhooks must reach the external control plane through a usable address.
//!
//! Istio also resolves each hostname through DNS. Analysis here is offline and deterministic, so
//! only an empty hostname (which can never resolve) is reported as unresolvable.

use std::net::IpAddr;

use crate::analyze::catalog::{IST0163, IST0164};
use crate::analyze::context::{Analyzer, Context};
use crate::analyze::message::Arg;
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};

pub const ANALYZER: Analyzer = Analyzer {
    name: "externalcontrolplane.ExternalControlPlaneAnalyzer",
    // "controle" is Istio's spelling; `-L` prints the description as istioctl does.
    description: "Checks that the remote IstioOperator resources reference an external controle plane",
    // Each webhook kind is checked on its own, so either one alone is enough to run.
    inputs: &[],
    reads: &[
        Kind::MutatingWebhookConfiguration,
        Kind::ValidatingWebhookConfiguration,
    ],
    run,
};

fn run(ctx: &mut Context<'_>) {
    let validators = ctx.of(Kind::ValidatingWebhookConfiguration).filter(|r| {
        r.name() == "istiod-default-validator" || r.name().starts_with("istio-validator")
    });
    let injectors = ctx
        .of(Kind::MutatingWebhookConfiguration)
        .filter(|r| r.name().starts_with("istio-sidecar-injector"));
    let mut found: Vec<(
        &Resource,
        &'static crate::analyze::message::MessageType,
        Vec<Arg>,
    )> = Vec::new();
    for r in validators.chain(injectors) {
        let Spec::Webhooks(hooks) = &r.spec else {
            continue;
        };
        for h in hooks {
            let hook = h.name.as_str();
            match (&h.client_config.url, &h.client_config.service) {
                (Some(url), _) => match url_hostname(url) {
                    Err(()) => found.push((
                        r,
                        &IST0163,
                        vec![
                            url.into(),
                            hook.into(),
                            "was provided in an invalid format".into(),
                        ],
                    )),
                    Ok(host) if host.parse::<IpAddr>().is_ok() => {
                        found.push((r, &IST0164, vec![url.into(), hook.into()]));
                    }
                    Ok(host) if host.is_empty() => found.push((
                        r,
                        &IST0163,
                        vec![
                            url.into(),
                            hook.into(),
                            "cannot be resolved via a DNS lookup".into(),
                        ],
                    )),
                    Ok(_) => {}
                },
                (None, None) => {
                    found.push((r, &IST0163, vec!["".into(), hook.into(), "is blank".into()]))
                }
                (None, Some(_)) => {}
            }
        }
    }
    for (r, typ, args) in found {
        ctx.report(typ, r, None, &args);
    }
}

/// The hostname of `raw` as Go's `url.Parse(raw).Hostname()` gives it, or `Err` where `url.Parse`
/// fails: control characters, a missing scheme before `:`, a colon in a scheme-less first path
/// segment, a non-numeric port, characters a host cannot hold, or a broken `%` escape.
fn url_hostname(raw: &str) -> Result<String, ()> {
    if raw.chars().any(|c| c.is_ascii_control()) {
        return Err(());
    }
    let (rest, fragment) = raw.split_once('#').unwrap_or((raw, ""));
    check_escapes(fragment)?;
    // Scheme: letters, then letters, digits, `+`, `-` or `.`, up to `:`.
    let mut scheme = "";
    let mut after = rest;
    for (i, c) in rest.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || matches!(c, '+' | '-' | '.') {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == ':' {
            if i == 0 {
                return Err(());
            }
            scheme = &rest[..i];
            after = &rest[i + 1..];
        }
        break;
    }
    let after = after.split_once('?').map_or(after, |(p, _)| p);
    if !after.starts_with('/') {
        if !scheme.is_empty() {
            // Opaque URL (`mailto:x`): no host.
            return Ok(String::new());
        }
        let first = after.split('/').next().unwrap_or_default();
        if first.contains(':') {
            return Err(());
        }
        check_escapes(after)?;
        return Ok(String::new());
    }
    let Some(authority_and_path) = after.strip_prefix("//") else {
        check_escapes(after)?;
        return Ok(String::new());
    };
    let (authority, path) = match authority_and_path.find('/') {
        Some(i) => authority_and_path.split_at(i),
        None => (authority_and_path, ""),
    };
    check_escapes(path)?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (hostname, port) = if let Some(bracketed) = host.strip_prefix('[') {
        let (inner, tail) = bracketed.split_once(']').ok_or(())?;
        if !tail.is_empty() && !tail.starts_with(':') {
            return Err(());
        }
        (inner, tail.strip_prefix(':'))
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        }
    };
    if port.is_some_and(|p| !p.chars().all(|c| c.is_ascii_digit())) {
        return Err(());
    }
    let host_char_ok = |c: char| {
        !c.is_ascii() || c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:[]<>\"%".contains(c)
    };
    if !hostname.chars().all(host_char_ok) {
        return Err(());
    }
    check_escapes(hostname)?;
    Ok(hostname.to_string())
}

/// Every `%` starts a two-digit hex escape, as Go's unescaping requires.
fn check_escapes(s: &str) -> Result<(), ()> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(());
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const MISSING: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-external-istiod}
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  clientConfig: {}
- name: rev.object.sidecar-injector.istio.io
  clientConfig:
    url: https://10.0.0.1:15017/inject
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: istio-validator-external-istiod}
webhooks:
- name: rev.validation.istio.io
  clientConfig:
    url: "https://istiod.example.com:port/validate"
- name: blank.validation.istio.io
  clientConfig:
    url: ""
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: unrelated}
webhooks:
- name: other.example.com
  clientConfig: {}
"#;

    #[test]
    fn unusable_addresses() {
        assert_eq!(
            run(&ANALYZER, MISSING),
            vec![
                pair(
                    "IST0163",
                    "MutatingWebhookConfiguration istio-sidecar-injector-external-istiod"
                ),
                pair(
                    "IST0163",
                    "ValidatingWebhookConfiguration istio-validator-external-istiod"
                ),
                pair(
                    "IST0163",
                    "ValidatingWebhookConfiguration istio-validator-external-istiod"
                ),
                pair(
                    "IST0164",
                    "MutatingWebhookConfiguration istio-sidecar-injector-external-istiod"
                ),
            ]
        );
        let out = lines(&ANALYZER, MISSING);
        assert!(out.contains(&"Warning [IST0163] (MutatingWebhookConfiguration istio-sidecar-injector-external-istiod test.yaml:1) The hostname () that was provided for the webhook (rev.namespace.sidecar-injector.istio.io) to reach the ingress gateway on the external control plane cluster is blank. Traffic may not flow properly.".to_string()), "{out:#?}");
        assert!(out.contains(&"Warning [IST0163] (ValidatingWebhookConfiguration istio-validator-external-istiod test.yaml:11) The hostname (https://istiod.example.com:port/validate) that was provided for the webhook (rev.validation.istio.io) to reach the ingress gateway on the external control plane cluster was provided in an invalid format. Traffic may not flow properly.".to_string()), "{out:#?}");
    }

    #[test]
    fn hostnames_and_services_pass() {
        let yaml = r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-external-istiod}
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  clientConfig:
    url: https://istiod.example.com:15017/inject/cluster/remote/net/network1
- name: rev.object.sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod, namespace: external-istiod}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }

    #[test]
    fn go_url_parsing() {
        assert_eq!(url_hostname("https://a.b:443/x"), Ok("a.b".to_string()));
        assert_eq!(url_hostname("https://[::1]:443/x"), Ok("::1".to_string()));
        assert_eq!(url_hostname("https://u@a.b/x"), Ok("a.b".to_string()));
        assert_eq!(url_hostname("a.b/x"), Ok(String::new()));
        // Go reads `a.b:` as a scheme: an opaque URL without a host.
        assert_eq!(url_hostname("a.b:443/x"), Ok(String::new()));
        assert_eq!(url_hostname("10.0.0.1:443/x"), Err(()));
        assert_eq!(url_hostname(":foo"), Err(()));
        assert_eq!(url_hostname("https://a b/"), Err(()));
        assert_eq!(url_hostname("https://a.b/%zz"), Err(()));
    }
}
