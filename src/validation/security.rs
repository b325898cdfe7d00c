//! PeerAuthentication, AuthorizationPolicy and RequestAuthentication.

use super::Out;
use super::common::{is_strict_header_name, validate_policy_selection, validate_workload_selector};
use super::durations::validate_duration;
use super::hosts::parse_prefix;
use crate::config::security::{AuthorizationPolicy, PeerAuthentication, RequestAuthentication};

/// `ValidatePeerAuthentication`.
pub fn validate_peer_authentication(pa: &PeerAuthentication, out: &mut Out) {
    let empty_selector = pa
        .selector
        .as_ref()
        .is_none_or(|s| s.match_labels.is_empty());
    if empty_selector && !pa.port_level_mtls.is_empty() {
        out.error(
            ".spec.portLevelMtls",
            "mesh/namespace peer authentication cannot have port level mTLS",
        );
    }
    for port in pa.port_level_mtls.keys() {
        if *port == 0 || *port > 65535 {
            out.error(
                &format!(".spec.portLevelMtls.{port}"),
                "port must be in range 1..65535",
            );
        }
    }
    validate_workload_selector(pa.selector.as_ref(), "selector", out);
}

/// `security.ValidateIPs`.
fn validate_ips(values: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    for v in values {
        if v.contains('/') {
            if let Err(e) = parse_prefix(v) {
                errs.push(format!("bad CIDR range ({v}): {e}"));
            }
        } else if super::hosts::parse_ip(v).is_none() {
            errs.push(format!("bad IP address ({v})"));
        }
    }
    errs
}

/// `security.ValidatePorts`.
fn validate_ports(values: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    for v in values {
        match v.parse::<u32>() {
            Ok(p) if p <= 65535 => {}
            Ok(_) => errs.push(format!("bad port ({v}): <nil>")),
            Err(_) => errs.push(format!(
                "bad port ({v}): strconv.ParseUint: parsing {v:?}: invalid syntax"
            )),
        }
    }
    errs
}

/// `CheckEmptyValues`: the first empty value of a list.
fn check_empty(key: &str, values: &[String]) -> Option<String> {
    values
        .iter()
        .any(String::is_empty)
        .then(|| format!("empty value not allowed, found in {key}"))
}

/// A `when` key of the form `prefix[name]`.
fn check_map_key(key: &str) -> Option<String> {
    let open = key.find('[');
    let ok = open.is_some_and(|i| i > 0 && key.ends_with(']') && key.len() > i + 2);
    (!ok).then(|| format!("bad key ({key}): should have format a[b]"))
}

/// Go's multierror text, as `ValidateIPs`/`ValidatePorts` results embed it.
fn multierror_text(errs: &[String]) -> String {
    let n = errs.len();
    let head = if n == 1 {
        "1 error occurred:".to_string()
    } else {
        format!("{n} errors occurred:")
    };
    let items: String = errs.iter().map(|e| format!("\n\t* {e}")).collect();
    format!("{head}{items}\n\n")
}

/// `security.ValidateAttribute`.
fn validate_attribute(key: &str, values: &[String]) -> Option<String> {
    if let Some(e) = check_empty(key, values) {
        return Some(e);
    }
    if key.starts_with("request.headers") || key.starts_with("request.experimental.inline.headers")
    {
        return check_map_key(key);
    }
    match key {
        "source.ip" | "remote.ip" | "destination.ip" => {
            let errs = validate_ips(values);
            (!errs.is_empty()).then(|| multierror_text(&errs))
        }
        "source.namespace"
        | "source.principal"
        | "source.serviceAccount"
        | "request.auth.principal"
        | "request.auth.audiences"
        | "request.auth.presenter"
        | "connection.sni" => None,
        "destination.port" => {
            let errs = validate_ports(values);
            (!errs.is_empty()).then(|| multierror_text(&errs))
        }
        "destination.namespace" => Some(format!(
            "attribute {key} is replaced by the metadata.namespace"
        )),
        "destination.name" | "destination.user" => Some(format!(
            "deprecated attribute {key}: only supported in v1alpha1"
        )),
        _ if key.starts_with("request.auth.claims")
            || key.starts_with("experimental.envoy.filters.") =>
        {
            check_map_key(key)
        }
        _ if key.starts_with("destination.labels") => Some(format!(
            "attribute {key} is replaced by the workload selector"
        )),
        _ => Some(format!("unknown attribute: {key}")),
    }
}

/// `ValidateAuthorizationPolicy`. Errors carry Istio's `invalid policy <name>.<ns>:` prefix;
/// warnings do not.
pub fn validate_authorization_policy(
    name: &str,
    ns: &str,
    ap: &AuthorizationPolicy,
    out: &mut Out,
) {
    let mut errs = Out::default();
    validate_policy_selection(
        ap.selector.as_ref(),
        ap.target_ref.as_ref(),
        &ap.target_refs,
        &mut errs,
    );
    let action = ap.action.as_deref().unwrap_or("ALLOW");
    // `rules == nil` in Go: Ferry cannot tell an absent list from an empty one, so both count.
    let no_rules = ap.rules.is_empty();
    if action == "CUSTOM" {
        if no_rules {
            errs.error(
                ".spec.action",
                "CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request",
            );
        } else if ap
            .provider
            .as_ref()
            .is_none_or(|p| p.name.as_deref().unwrap_or_default().is_empty())
        {
            errs.error(".spec.provider", "`provider.name` must not be empty");
        }
        for (i, rule) in ap.rules.iter().enumerate() {
            for (j, from) in rule.from.iter().enumerate() {
                let Some(src) = &from.source else { continue };
                let path = format!(".spec.rules[{i}].from[{j}].source");
                let checks = [
                    (&src.namespaces, "From.Namespaces"),
                    (&src.not_namespaces, "From.NotNamespaces"),
                    (&src.service_accounts, "From.ServiceAccounts"),
                    (&src.not_service_accounts, "From.NotServiceAccounts"),
                    (&src.principals, "From.Principals"),
                    (&src.not_principals, "From.NotPrincipals"),
                    (&src.request_principals, "From.RequestPrincipals"),
                    (&src.not_request_principals, "From.NotRequestPrincipals"),
                ];
                for (list, what) in checks {
                    if !list.is_empty() {
                        errs.error(
                            &path,
                            format!("{what} is currently not supported with CUSTOM action"),
                        );
                    }
                }
            }
            for (j, w) in rule.when.iter().enumerate() {
                let k = w.key.as_str();
                if matches!(
                    k,
                    "source.namespace" | "source.principal" | "source.serviceAccount"
                ) || k.starts_with("request.auth.")
                {
                    errs.error(
                        &format!(".spec.rules[{i}].when[{j}].key"),
                        format!("{k} is currently not supported with CUSTOM action"),
                    );
                }
            }
        }
    }
    if ap.provider.is_some() && action != "CUSTOM" {
        errs.error(
            ".spec.provider",
            format!("`provider` must not be with non CUSTOM action, found {action}"),
        );
    }
    if action == "DENY" && no_rules {
        errs.error(
            ".spec.action",
            "DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request",
        );
    }
    for (i, rule) in ap.rules.iter().enumerate() {
        let rb = format!(".spec.rules[{i}]");
        // An explicitly empty `from: []` decodes like an absent one; Istio's "must not be
        // empty" cases for `from`/`to` therefore cannot be told apart and are not reported.
        for (j, from) in rule.from.iter().enumerate() {
            let fb = format!("{rb}.from[{j}]");
            let Some(s) = &from.source else {
                errs.error(
                    &fb,
                    format!("`from.source` must not be nil, found at rule {i}"),
                );
                continue;
            };
            let sb = format!("{fb}.source");
            if (!s.principals.is_empty()
                || !s.not_principals.is_empty()
                || !s.namespaces.is_empty()
                || !s.not_namespaces.is_empty())
                && (!s.service_accounts.is_empty() || !s.not_service_accounts.is_empty())
            {
                errs.error(
                    &sb,
                    format!("cannot set serviceAccounts with namespaces or principals, found at rule {i}"),
                );
            }
            let lists = [
                &s.principals,
                &s.not_principals,
                &s.request_principals,
                &s.not_request_principals,
                &s.namespaces,
                &s.not_namespaces,
                &s.ip_blocks,
                &s.not_ip_blocks,
                &s.remote_ip_blocks,
                &s.not_remote_ip_blocks,
                &s.service_accounts,
                &s.not_service_accounts,
            ];
            if lists.iter().all(|l| l.is_empty()) {
                errs.error(
                    &sb,
                    format!("`from.source` must not be empty, found at rule {i}"),
                );
            }
            for (field, l) in [
                ("ipBlocks", &s.ip_blocks),
                ("notIpBlocks", &s.not_ip_blocks),
                ("remoteIpBlocks", &s.remote_ip_blocks),
                ("notRemoteIpBlocks", &s.not_remote_ip_blocks),
            ] {
                errs.check_all(&format!("{sb}.{field}"), validate_ips(l));
            }
            for (key, field, l) in [
                ("Principals", "principals", &s.principals),
                (
                    "RequestPrincipals",
                    "requestPrincipals",
                    &s.request_principals,
                ),
                ("Namespaces", "namespaces", &s.namespaces),
                ("ServiceAccounts", "serviceAccounts", &s.service_accounts),
                ("IpBlocks", "ipBlocks", &s.ip_blocks),
                ("RemoteIpBlocks", "remoteIpBlocks", &s.remote_ip_blocks),
                ("NotPrincipals", "notPrincipals", &s.not_principals),
                (
                    "NotRequestPrincipals",
                    "notRequestPrincipals",
                    &s.not_request_principals,
                ),
                ("NotNamespaces", "notNamespaces", &s.not_namespaces),
                (
                    "NotServiceAccounts",
                    "notServiceAccounts",
                    &s.not_service_accounts,
                ),
                ("NotIpBlocks", "notIpBlocks", &s.not_ip_blocks),
                (
                    "NotRemoteIpBlocks",
                    "notRemoteIpBlocks",
                    &s.not_remote_ip_blocks,
                ),
            ] {
                let e = if key.ends_with("ServiceAccounts") {
                    check_service_accounts(key, l)
                } else {
                    check_empty(key, l)
                };
                errs.check(&format!("{sb}.{field}"), e);
            }
        }
        for (j, to) in rule.to.iter().enumerate() {
            let tb = format!("{rb}.to[{j}]");
            let Some(o) = &to.operation else {
                errs.error(
                    &tb,
                    format!("`to.operation` must not be nil, found at rule {i}"),
                );
                continue;
            };
            let ob = format!("{tb}.operation");
            let lists = [
                &o.hosts,
                &o.not_hosts,
                &o.ports,
                &o.not_ports,
                &o.methods,
                &o.not_methods,
                &o.paths,
                &o.not_paths,
            ];
            if lists.iter().all(|l| l.is_empty()) {
                errs.error(
                    &ob,
                    format!("`to.operation` must not be empty, found at rule {i}"),
                );
            }
            errs.check_all(&format!("{ob}.ports"), validate_ports(&o.ports));
            errs.check_all(&format!("{ob}.notPorts"), validate_ports(&o.not_ports));
            for (key, field, l) in [
                ("Ports", "ports", &o.ports),
                ("Methods", "methods", &o.methods),
                ("Paths", "paths", &o.paths),
                ("Hosts", "hosts", &o.hosts),
                ("NotPorts", "notPorts", &o.not_ports),
                ("NotMethods", "notMethods", &o.not_methods),
                ("NotPaths", "notPaths", &o.not_paths),
                ("NotHosts", "notHosts", &o.not_hosts),
            ] {
                errs.check(&format!("{ob}.{field}"), check_empty(key, l));
            }
        }
        for (j, w) in rule.when.iter().enumerate() {
            let wb = format!("{rb}.when[{j}]");
            if w.key.is_empty() {
                errs.error(&wb, "`key` must not be empty");
            } else if w.values.is_empty() && w.not_values.is_empty() {
                errs.error(
                    &wb,
                    format!(
                        "at least one of `values` or `notValues` must be set for key {}",
                        w.key
                    ),
                );
            } else {
                if !w.values.is_empty()
                    && let Some(e) = validate_attribute(&w.key, &w.values)
                {
                    errs.error(
                        &format!("{wb}.values"),
                        format!("invalid `value` for `key` {}: {e}", w.key),
                    );
                }
                if !w.not_values.is_empty()
                    && let Some(e) = validate_attribute(&w.key, &w.not_values)
                {
                    errs.error(
                        &format!("{wb}.notValues"),
                        format!("invalid `notValue` for `key` {}: {e}", w.key),
                    );
                }
            }
        }
        if action == "DENY" {
            let from_l4 = rule.from.iter().any(|f| {
                f.source.as_ref().is_some_and(|s| {
                    !s.principals.is_empty()
                        || !s.not_principals.is_empty()
                        || !s.ip_blocks.is_empty()
                        || !s.not_ip_blocks.is_empty()
                        || !s.namespaces.is_empty()
                        || !s.not_namespaces.is_empty()
                        || !s.remote_ip_blocks.is_empty()
                        || !s.not_remote_ip_blocks.is_empty()
                        || !s.service_accounts.is_empty()
                        || !s.not_service_accounts.is_empty()
                })
            });
            let to_ports = rule.to.iter().any(|t| {
                t.operation
                    .as_ref()
                    .is_some_and(|o| !o.ports.is_empty() || !o.not_ports.is_empty())
            });
            let only_http_from = !rule.from.is_empty() && rule.to.is_empty() && !from_l4;
            let only_http_to = !rule.to.is_empty() && !to_ports;
            if only_http_from || only_http_to {
                errs.warn(
                    &rb,
                    "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port",
                );
            }
        }
    }
    let prefix = format!("invalid policy {name}.{ns}:");
    for mut f in errs.findings {
        if f.severity == super::Severity::Error {
            f.message = format!("{prefix} {}", f.message);
        }
        out.findings.push(f);
    }
}

/// `CheckServiceAccount`: the first problem only.
fn check_service_accounts(key: &str, values: &[String]) -> Option<String> {
    if values.len() > 16 {
        return Some("may not have more than 16 values".into());
    }
    for v in values {
        if v.is_empty() {
            return Some(format!("empty value not allowed, found in {key}"));
        }
        if v.contains('*') {
            return Some(format!("wildcard not allowed, found in {key}"));
        }
        if v.matches('/').count() > 1 {
            return Some(format!(
                "expected format 'serviceAccount' or 'namespace/serviceAccount', found {v:?} in {key}"
            ));
        }
        if v.len() > 320 {
            return Some(format!(
                "value cannot exceed 320 characters, found {v:?} in {key}"
            ));
        }
        if let Some((ns, sa)) = v.split_once('/') {
            if ns.is_empty() {
                return Some(format!(
                    "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty namespace {v:?} in {key}"
                ));
            }
            if sa.is_empty() {
                return Some(format!(
                    "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty serviceAccount {v:?} in {key}"
                ));
            }
        }
    }
    None
}

/// `ValidateRequestAuthentication`.
pub fn validate_request_authentication(ra: &RequestAuthentication, out: &mut Out) {
    validate_policy_selection(
        ra.selector.as_ref(),
        ra.target_ref.as_ref(),
        &ra.target_refs,
        out,
    );
    for (i, r) in ra.jwt_rules.iter().enumerate() {
        let base = format!(".spec.jwtRules[{i}]");
        for (j, a) in r.audiences.iter().enumerate() {
            if a.is_empty() {
                out.error(
                    &format!("{base}.audiences[{j}]"),
                    "audience must be non-empty string",
                );
            }
        }
        let uri = r.jwks_uri.as_deref().unwrap_or_default();
        if r.issuer.is_empty() && uri.is_empty() {
            out.error(&base, "issuer or jwksUri must be non-empty string");
        }
        if !uri.is_empty() {
            out.check(&format!("{base}.jwksUri"), check_jwks_uri(uri));
        }
        if let Some(j) = r.jwks.as_deref().filter(|j| !j.is_empty())
            && serde_json::from_str::<serde_json::Value>(j)
                .ok()
                .and_then(|v| v.get("keys").map(|k| k.is_array()))
                != Some(true)
        {
            out.error(
                &format!("{base}.jwks"),
                "jwks parse error: failed to unmarshal JWK set",
            );
        }
        for (j, h) in r.from_headers.iter().enumerate() {
            if h.name.is_empty() {
                out.error(
                    &format!("{base}.fromHeaders[{j}]"),
                    "location header name must be non-empty string",
                );
            }
        }
        for (j, p) in r.from_params.iter().enumerate() {
            if p.is_empty() {
                out.error(
                    &format!("{base}.fromParams[{j}]"),
                    "location query must be non-empty string",
                );
            }
        }
        for (j, c) in r.from_cookies.iter().enumerate() {
            if c.is_empty() {
                out.error(
                    &format!("{base}.fromCookies[{j}]"),
                    "cookie name must be non-empty string",
                );
            }
        }
        for (j, c) in r.output_claim_to_headers.iter().enumerate() {
            let path = format!("{base}.outputClaimToHeaders[{j}]");
            if c.claim.is_empty() || c.header.is_empty() {
                out.error(
                    &path,
                    "outputClaimToHeaders header and claim value must be non-empty string",
                );
            } else if !is_strict_header_name(&c.header) {
                out.error(
                    &path,
                    format!("header name {} is not a valid header name", c.header),
                );
            }
        }
        if let Some(t) = &r.timeout {
            out.check(&format!("{base}.timeout"), validate_duration(t));
        }
    }
}

/// `ParseJwksURI`: an http(s) URL with a numeric port, if any.
fn check_jwks_uri(uri: &str) -> Option<String> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Some(format!("URI scheme {:?} is not supported", ""));
    };
    if scheme != "http" && scheme != "https" {
        return Some(format!("URI scheme {scheme:?} is not supported"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some((_, port)) = authority.rsplit_once(':')
        && !authority.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Some(format!("strconv.Atoi: parsing {port:?}: invalid syntax"));
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    fn ap(spec: &str) -> String {
        format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: p, namespace: foo}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn authorization_policies() {
        assert_eq!(
            errors(&ap(
                "  action: ALLOW\n  rules:\n  - from:\n    - source: {principals: [cluster.local/ns/a/sa/b]}\n    to:\n    - operation: {methods: [GET], ports: ['8080']}\n"
            )),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(&ap("  action: DENY\n")),
            vec![
                "invalid policy p.foo: DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request"
            ]
        );
        let y = ap(
            "  action: DENY\n  rules:\n  - from:\n    - source: {ipBlocks: ['1.2.3.4/99', x]}\n    to:\n    - operation: {paths: ['']}\n    when:\n    - key: source.ip\n      values: [bad]\n    - key: foo.bar\n      values: [x]\n    - key: request.auth.claims[iss]\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "invalid policy p.foo: bad CIDR range (1.2.3.4/99): netip.ParsePrefix(\"1.2.3.4/99\"): prefix length out of range",
                "invalid policy p.foo: bad IP address (x)",
                "invalid policy p.foo: empty value not allowed, found in Paths",
                "invalid policy p.foo: invalid `value` for `key` source.ip: 1 error occurred:\n\t* bad IP address (bad)\n\n",
                "invalid policy p.foo: invalid `value` for `key` foo.bar: unknown attribute: foo.bar",
                "invalid policy p.foo: at least one of `values` or `notValues` must be set for key request.auth.claims[iss]",
            ]
        );
        assert_eq!(
            warnings(&y),
            vec![
                "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port"
            ]
        );
        assert_eq!(
            errors(&ap(
                "  action: CUSTOM\n  rules:\n  - from:\n    - source: {namespaces: [a]}\n"
            )),
            vec![
                "invalid policy p.foo: `provider.name` must not be empty",
                "invalid policy p.foo: From.Namespaces is currently not supported with CUSTOM action",
            ]
        );
        assert_eq!(
            errors(&ap(
                "  rules:\n  - to:\n    - operation: {ports: ['70000']}\n"
            )),
            vec!["invalid policy p.foo: bad port (70000): <nil>"]
        );
    }

    #[test]
    fn peer_authentication() {
        let y = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: foo}\nspec:\n  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n";
        assert_eq!(
            errors(y),
            vec!["mesh/namespace peer authentication cannot have port level mTLS"]
        );
        let y = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: foo}\nspec:\n  selector: {matchLabels: {}}\n";
        assert_eq!(
            warnings(y),
            vec!["workload selector specified without labels"]
        );
    }

    #[test]
    fn request_authentication() {
        let y = "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: r, namespace: foo}\nspec:\n  selector: {matchLabels: {app: '*'}}\n  jwtRules:\n  - issuer: ''\n    audiences: ['']\n    fromParams: ['']\n    outputClaimToHeaders: [{header: 'x_y', claim: sub}]\n  - issuer: i\n    jwksUri: ftp://x/keys\n    timeout: 0s\n";
        assert_eq!(
            errors(y),
            vec![
                "wildcard is not supported in selector: \"app=*\"",
                "audience must be non-empty string",
                "issuer or jwksUri must be non-empty string",
                "location query must be non-empty string",
                "header name x_y is not a valid header name",
                "URI scheme \"ftp\" is not supported",
                "duration must be greater than 1ms",
            ]
        );
    }
}
