//! Gateway (`ValidateGateway`).

use std::collections::HashSet;

use super::Out;
use super::common::validate_server_tls;
use super::hosts::{
    validate_ip_address, validate_namespace_slash_wildcard_hostname, validate_unix_address,
};
use super::names::is_dns1123_label;
use super::ports::{parse_protocol, validate_port};
use crate::config::networking::{Gateway, ServerPort};

/// protobuf text of a Port, for `port name must be set: %v` (Go's spacing is randomised; this
/// is its most common form).
fn port_text(p: &ServerPort) -> String {
    let mut parts = Vec::new();
    if p.number != 0 {
        parts.push(format!("number:{}", p.number));
    }
    if !p.protocol.is_empty() {
        parts.push(format!("protocol:{:?}", p.protocol));
    }
    if let Some(t) = p.target_port.filter(|t| *t != 0) {
        parts.push(format!("target_port:{t}"));
    }
    parts.join(" ")
}

pub fn validate(name: &str, gw: &Gateway, out: &mut Out) {
    if !is_dns1123_label(name) {
        out.error(".metadata.name", format!("invalid gateway name: {name:?}"));
    }
    if gw.servers.is_empty() {
        out.error(".spec", "gateway must have at least one server");
    }
    for (i, s) in gw.servers.iter().enumerate() {
        let base = format!(".spec.servers[{i}]");
        if s.hosts.is_empty() {
            out.error(&base, "server config must contain at least one host");
        }
        for (j, h) in s.hosts.iter().enumerate() {
            out.check_all(
                &format!("{base}.hosts[{j}]"),
                validate_namespace_slash_wildcard_hostname(h, true),
            );
        }
        let bind = s.bind.as_deref().unwrap_or_default();
        let port_ok = match &s.port {
            None => {
                out.error(&base, "port is required");
                false
            }
            Some(p) => {
                let before = out.findings.len();
                let pb = format!("{base}.port");
                if parse_protocol(&p.protocol).is_none() {
                    out.error(
                        &format!("{pb}.protocol"),
                        format!(
                            "invalid protocol {:?}, supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP",
                            p.protocol
                        ),
                    );
                }
                if p.number > 0 || !bind.starts_with("unix://") {
                    out.check(&format!("{pb}.number"), validate_port(p.number.into()));
                }
                if p.target_port.is_some_and(|t| t > 0) {
                    out.error(
                        &format!("{pb}.targetPort"),
                        "targetPort has no impact on Gateways",
                    );
                }
                if p.name.is_empty() {
                    out.error(&pb, format!("port name must be set: {}", port_text(p)));
                }
                out.findings.len() == before
            }
        };
        if let Some(uds) = bind.strip_prefix("unix://") {
            out.check(&format!("{base}.bind"), validate_unix_address(uds));
            if let Some(p) = s.port.as_ref().filter(|p| p.number != 0) {
                out.error(
                    &format!("{base}.bind"),
                    format!(
                        "port number must be 0 for unix domain socket: {}",
                        port_text(p)
                    ),
                );
            }
        } else if !bind.is_empty() {
            out.check(&format!("{base}.bind"), validate_ip_address(bind));
        }
        if let Some(t) = &s.tls {
            validate_server_tls(t, &format!("{base}.tls"), out);
        }
        if port_ok && let Some(p) = s.port.as_ref().and_then(|p| parse_protocol(&p.protocol)) {
            if p.is_tls() && s.tls.is_none() {
                out.error(
                    &base,
                    "server must have TLS settings for HTTPS/TLS protocols",
                );
            } else if !p.is_tls()
                && let Some(t) = &s.tls
            {
                let mode = t.mode.as_deref().unwrap_or("PASSTHROUGH");
                let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
                if p.is_http() {
                    if !matches!(mode, "PASSTHROUGH" | "AUTO_PASSTHROUGH")
                        || has(&t.ca_certificates)
                        || has(&t.private_key)
                        || has(&t.server_certificate)
                    {
                        out.error(
                            &format!("{base}.tls"),
                            "server cannot have TLS settings for plain text HTTP ports",
                        );
                    }
                } else {
                    out.error(
                        &format!("{base}.tls"),
                        "server cannot have TLS settings for non HTTPS/TLS ports",
                    );
                }
            }
        }
    }
    let mut names = HashSet::new();
    for (i, s) in gw.servers.iter().enumerate() {
        let Some(p) = &s.port else { continue };
        let pb = format!(".spec.servers[{i}].port");
        if !names.insert(p.name.as_str()) {
            out.error(
                &format!("{pb}.name"),
                format!(
                    "port names in servers must be unique: duplicate name {}",
                    p.name
                ),
            );
        }
        let http = parse_protocol(&p.protocol).is_some_and(|p| p.is_http());
        if !http
            && s.tls
                .as_ref()
                .is_some_and(|t| t.https_redirect == Some(true))
        {
            out.warn(
                &format!(".spec.servers[{i}].tls.httpsRedirect"),
                "tls.httpsRedirect should only be used with http servers",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    fn gw(name: &str, spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn valid_gateway_passes() {
        let y = gw(
            "gw",
            "  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*.example.com']\n    tls: {httpsRedirect: true}\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: ['ns/a.example.com']\n    tls: {mode: SIMPLE, credentialName: cert}\n",
        );
        assert_eq!(errors(&y), Vec::<String>::new());
        assert_eq!(warnings(&y), Vec::<String>::new());
    }

    #[test]
    fn servers_ports_and_tls() {
        let y = gw(
            "gw.bad",
            "  servers:\n  - port: {number: 70000, name: a, protocol: HTTPX}\n    hosts: [reviews]\n  - port: {number: 443, name: a, protocol: HTTPS}\n    hosts: ['*']\n  - port: {number: 9000, name: b, protocol: TCP}\n    hosts: ['*']\n    tls: {httpsRedirect: true, mode: SIMPLE, credentialName: x}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "invalid gateway name: \"gw.bad\"",
                "short names (non FQDN) are not allowed",
                "invalid protocol \"HTTPX\", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP",
                "port number 70000 must be in the range 1..65535",
                "server must have TLS settings for HTTPS/TLS protocols",
                "server cannot have TLS settings for non HTTPS/TLS ports",
                "port names in servers must be unique: duplicate name a",
            ]
        );
        assert_eq!(
            warnings(&y),
            vec!["tls.httpsRedirect should only be used with http servers"]
        );
    }

    #[test]
    fn server_tls_certificates() {
        let y = gw(
            "gw",
            "  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: ['*']\n    tls: {mode: MUTUAL, serverCertificate: /c, privateKey: /k}\n  - port: {number: 444, name: h2, protocol: HTTPS}\n    hosts: ['*']\n    tls: {mode: ISTIO_MUTUAL, credentialName: x}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "MUTUAL TLS requires a client CA bundle",
                "ISTIO_MUTUAL TLS cannot have associated credentialName",
            ]
        );
    }
}
