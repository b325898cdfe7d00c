//! Sidecar (`ValidateSidecar`).

use std::collections::{HashMap, HashSet};

use super::common::{validate_alpha_workload_selector, validate_server_tls};
use super::destinationrule::validate_connection_pool;
use super::hosts::{
    validate_fqdn, validate_ip_address, validate_namespace_slash_wildcard_hostname,
    validate_unix_address,
};
use super::ports::{parse_protocol, validate_port, validate_port_name, validate_protocol};
use super::virtualservice::validate_destination;
use super::{Out, Severity};
use crate::config::networking::Sidecar;

pub fn validate(ns: &str, sc: &Sidecar, out: &mut Out) {
    if !validate_alpha_workload_selector(sc.workload_selector.as_ref(), "sidecar", out) {
        return;
    }
    if sc.egress.is_empty()
        && sc.ingress.is_empty()
        && sc.outbound_traffic_policy.is_none()
        && sc.inbound_connection_pool.is_none()
    {
        out.findings.clear();
        out.error(".spec", "sidecar: empty configuration provided");
        return;
    }
    let mut ports = HashSet::new();
    for (i, ing) in sc.ingress.iter().enumerate() {
        let base = format!(".spec.ingress[{i}]");
        let Some(p) = &ing.port else {
            out.error(&base, "sidecar: port is required for ingress listeners");
            continue;
        };
        let pb = format!("{base}.port");
        if p.target_port.is_some_and(|t| t > 0) {
            out.error(
                &format!("{pb}.targetPort"),
                "targetPort has no impact on Sidecars",
            );
        }
        if let Some(n) = p.name.as_deref().filter(|n| !n.is_empty()) {
            out.check(&format!("{pb}.name"), validate_port_name(n));
        }
        let proto = p.protocol.as_deref().unwrap_or_default();
        out.check(&format!("{pb}.protocol"), validate_protocol(proto));
        out.check(&format!("{pb}.number"), validate_port(p.number.into()));
        if let Some(b) = ing.bind.as_deref().filter(|b| !b.is_empty()) {
            out.check(&format!("{base}.bind"), validate_ip_address(b));
        }
        if !ports.insert(p.number) {
            out.error(&pb, "sidecar: ports on IP bound listeners must be unique");
        }
        if let Some(ep) = ing.default_endpoint.as_deref().filter(|e| !e.is_empty()) {
            validate_default_endpoint(ep, &format!("{base}.defaultEndpoint"), out);
        }
        if let Some(t) = &ing.tls {
            let tb = format!("{base}.tls");
            if !t.subject_alt_names.is_empty() {
                out.error(
                    &tb,
                    "sidecar: subjectAltNames is not supported in ingress tls",
                );
            }
            if t.https_redirect == Some(true) {
                out.error(&tb, "sidecar: httpsRedirect is not supported");
            }
            if t.credential_name.as_deref().is_some_and(|c| !c.is_empty()) {
                out.error(&tb, "sidecar: credentialName is not currently supported");
            }
            if !t.credential_names.is_empty() {
                out.error(&tb, "sidecar: credentialNames is not currently supported");
            }
            if !t.tls_certificates.is_empty() {
                out.error(&tb, "sidecar: tls_certificates is not currently supported");
            }
            if let Some(m @ ("ISTIO_MUTUAL" | "AUTO_PASSTHROUGH")) = t.mode.as_deref() {
                out.error(
                    &format!("{tb}.mode"),
                    format!(
                        "configuration is invalid: cannot set mode to {m} in sidecar ingress tls"
                    ),
                );
            }
            if !parse_protocol(proto).is_some_and(|p| p.is_tls()) {
                out.error(
                    &tb,
                    "server cannot have TLS settings for non HTTPS/TLS ports",
                );
            }
            validate_server_tls(t, &tb, out);
        }
        if let Some(cp) = &ing.connection_pool {
            // `validateConnectionPool` returns plain errors here.
            let mut sub = Out::default();
            validate_connection_pool(cp, &format!("{base}.connectionPool"), &mut sub);
            out.findings.extend(
                sub.findings
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error),
            );
            let proto_parsed = parse_protocol(proto);
            if cp.http.is_some() && !proto_parsed.is_some_and(|p| p.is_http()) {
                out.warn(
                    &format!("{base}.connectionPool.http"),
                    format!(
                        "sidecar: HTTP connection pool settings are configured for port {} ({:?}) but its protocol is not HTTP ({}); only TCP settings will apply",
                        p.number,
                        p.name.as_deref().unwrap_or_default(),
                        protocol_name(proto)
                    ),
                );
            }
        }
    }
    if let Some(cp) = &sc.inbound_connection_pool {
        let mut sub = Out::default();
        validate_connection_pool(cp, ".spec.inboundConnectionPool", &mut sub);
        out.findings.extend(
            sub.findings
                .into_iter()
                .filter(|f| f.severity == Severity::Error),
        );
    }
    let mut ports = HashSet::new();
    let mut uds = HashSet::new();
    let mut catch_all = false;
    for (i, eg) in sc.egress.iter().enumerate() {
        let base = format!(".spec.egress[{i}]");
        match &eg.port {
            None => {
                if i != sc.egress.len() - 1 {
                    out.error(
                        &base,
                        "sidecar: the egress listener with empty port should be the last listener in the list",
                    );
                }
                if catch_all {
                    out.error(
                        &base,
                        "sidecar: egress can have only one listener with empty port",
                    );
                    continue;
                }
                catch_all = true;
            }
            Some(p) => {
                let pb = format!("{base}.port");
                if p.target_port.is_some_and(|t| t > 0) {
                    out.error(
                        &format!("{pb}.targetPort"),
                        "targetPort has no impact on Sidecars",
                    );
                }
                if let Some(n) = p.name.as_deref().filter(|n| !n.is_empty()) {
                    out.check(&format!("{pb}.name"), validate_port_name(n));
                }
                let proto = p.protocol.as_deref().unwrap_or_default();
                let bind = eg.bind.as_deref().unwrap_or_default();
                if p.number == 0 {
                    out.check(&format!("{pb}.protocol"), validate_protocol(proto));
                    match bind.strip_prefix("unix://") {
                        None => out.error(
                            &format!("{base}.bind"),
                            "sidecar: ports with 0 value must have a unix domain socket bind address",
                        ),
                        Some(path) => {
                            out.check(&format!("{base}.bind"), validate_unix_address(path));
                            if !matches!(eg.capture_mode.as_deref(), None | Some("DEFAULT" | "NONE")) {
                                out.error(
                                    &format!("{base}.captureMode"),
                                    "sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners",
                                );
                            }
                        }
                    }
                    if !uds.insert(bind.to_string()) {
                        out.error(
                            &format!("{base}.bind"),
                            "sidecar: unix domain socket values for listeners must be unique",
                        );
                    }
                } else {
                    out.check(&format!("{pb}.protocol"), validate_protocol(proto));
                    out.check(&format!("{pb}.number"), validate_port(p.number.into()));
                    if !bind.is_empty() {
                        out.check(&format!("{base}.bind"), validate_ip_address(bind));
                    }
                    if !ports.insert(p.number) {
                        out.error(&pb, "sidecar: ports on IP bound listeners must be unique");
                    }
                }
            }
        }
        if eg.hosts.is_empty() {
            out.error(
                &base,
                "sidecar: egress listener must contain at least one host",
            );
            continue;
        }
        // namespace → services seen; `*` marks a whole-namespace import.
        let mut seen: HashMap<String, HashSet<String>> = HashMap::new();
        let mut namespaces = HashSet::new();
        for (j, h) in eg.hosts.iter().enumerate() {
            let path = format!("{base}.hosts[{j}]");
            if let Some((hns, svc)) = h.split_once('/') {
                let hns = if hns == "." { ns } else { hns };
                namespaces.insert(hns.to_string());
                let entry = seen.entry(hns.to_string()).or_default();
                let dup =
                    entry.contains(svc) || entry.contains("*") || (svc == "*" && !entry.is_empty());
                if dup {
                    out.warn(&path, format!("duplicated egress host: {h}"));
                }
                entry.insert(svc.to_string());
            }
            out.check_all(&path, validate_namespace_slash_wildcard_hostname(h, false));
        }
        if eg.hosts.iter().any(|h| h == "*/*") && namespaces.len() > 1 {
            out.warn(
                &format!("{base}.hosts"),
                "`*/*` host select all resources, no other hosts can be added",
            );
        }
    }
    if let Some(otp) = &sc.outbound_traffic_policy
        && let Some(proxy) = &otp.egress_proxy
    {
        let base = ".spec.outboundTrafficPolicy";
        if otp.mode.as_deref() != Some("ALLOW_ANY") {
            out.error(
                &format!("{base}.mode"),
                "sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode",
            );
            return;
        }
        out.check(
            &format!("{base}.egressProxy.host"),
            validate_fqdn(&proxy.host),
        );
        if proxy.port.is_none() {
            out.error(
                &format!("{base}.egressProxy"),
                "sidecar: egress_proxy port must be non-nil",
            );
            return;
        }
        validate_destination(proxy, &format!("{base}.egressProxy"), out);
    }
}

/// Istio prints the protocol enum name (upper case) or `UnsupportedProtocol`.
fn protocol_name(p: &str) -> String {
    match parse_protocol(p) {
        Some(_) => p.to_ascii_uppercase(),
        None => "UnsupportedProtocol".to_string(),
    }
}

fn validate_default_endpoint(ep: &str, path: &str, out: &mut Out) {
    if let Some(uds) = ep.strip_prefix("unix://") {
        out.check(path, validate_unix_address(uds));
        return;
    }
    // Go's `net.SplitHostPort`.
    let split = if let Some(rest) = ep.strip_prefix('[') {
        rest.split_once("]:")
    } else {
        ep.rsplit_once(':').filter(|(h, _)| !h.contains(':'))
    };
    let Some((host, port)) = split else {
        out.error(path, format!("address {ep}: missing port in address"));
        return;
    };
    if !matches!(host, "" | "127.0.0.1" | "0.0.0.0" | "::1" | "::") {
        out.error(
            path,
            "sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset",
        );
    }
    match port.parse::<i64>() {
        Ok(p) => out.check(path, validate_port(p)),
        Err(_) => out.error(
            path,
            format!(
                "sidecar: defaultEndpoint port ({port}) is not a number: strconv.Atoi: parsing {port:?}: invalid syntax"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    fn sc(spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: s, namespace: default}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn valid_sidecar_passes() {
        let y = sc(
            "  workloadSelector: {labels: {app: a}}\n  ingress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    defaultEndpoint: 127.0.0.1:8080\n  egress:\n  - hosts: ['./*', 'istio-system/*']\n",
        );
        assert_eq!(errors(&y), Vec::<String>::new());
        assert_eq!(warnings(&y), Vec::<String>::new());
    }

    #[test]
    fn egress_hosts_and_ports() {
        let y = sc(
            "  egress:\n  - hosts: [reviews, 'ns/reviews', 'bad_ns!/a.b.com']\n  - port: {number: 80}\n    hosts: ['*/*']\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "sidecar: the egress listener with empty port should be the last listener in the list",
                "host must be of form namespace/dnsName",
                "short names (non FQDN) are not allowed",
                "invalid namespace value \"bad_ns!\" in sidecar",
            ]
        );
        assert_eq!(
            errors(&sc("  {}\n")),
            vec!["sidecar: empty configuration provided"]
        );
        let y = sc(
            "  ingress:\n  - port: {number: 80, protocol: HTTP, name: a}\n    defaultEndpoint: 10.0.0.1:x\n  - port: {number: 80, protocol: TCP, name: b}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset",
                "sidecar: defaultEndpoint port (x) is not a number: strconv.Atoi: parsing \"x\": invalid syntax",
                "sidecar: ports on IP bound listeners must be unique",
            ]
        );
    }

    #[test]
    fn duplicated_egress_hosts_warn() {
        let y = sc("  egress:\n  - hosts: ['ns/*', 'ns/a.example.com']\n");
        assert_eq!(
            warnings(&y),
            vec!["duplicated egress host: ns/a.example.com"]
        );
    }

    #[test]
    fn selector_wildcard_stops_validation() {
        let y = sc("  workloadSelector: {labels: {app: '*'}}\n");
        assert_eq!(
            errors(&y),
            vec!["wildcard is not supported in selector: \"app=*\""]
        );
    }
}
