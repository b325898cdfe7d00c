//! ServiceEntry (`ValidateServiceEntry`).

use std::collections::HashSet;

use super::Out;
use super::common::{validate_alpha_workload_selector, validate_export_to};
use super::hosts::{
    is_ip, validate_fqdn, validate_ip_subnet, validate_partial_wildcard, validate_wildcard_domain,
};
use super::names::validate_labels;
use super::ports::{parse_protocol, validate_port, validate_port_name, validate_protocol};
use super::workloadentry::validate_entry;
use crate::config::networking::ServiceEntry;

pub fn validate(ns: &str, se: &ServiceEntry, out: &mut Out) {
    if !validate_alpha_workload_selector(se.workload_selector.as_ref(), "service entry", out) {
        return;
    }
    if se.workload_selector.is_some() && !se.endpoints.is_empty() {
        out.error(
            ".spec.workloadSelector",
            "only one of WorkloadSelector or Endpoints is allowed in Service Entry",
        );
    }
    if se.hosts.is_empty() {
        out.error(".spec", "service entry must have at least one host");
    }
    for (i, h) in se.hosts.iter().enumerate() {
        let path = format!(".spec.hosts[{i}]");
        if h == "*" {
            out.error(&path, "invalid host *");
        } else {
            out.check(&path, validate_wildcard_domain(h));
            if let Some(w) = validate_partial_wildcard(h) {
                out.warn(&path, w);
            }
        }
    }
    let resolution = se.resolution.as_deref().unwrap_or("NONE");
    let mut cidr = false;
    for (i, a) in se.addresses.iter().enumerate() {
        out.check(&format!(".spec.addresses[{i}]"), validate_ip_subnet(a));
        cidr |= a.contains('/');
    }
    if cidr && !matches!(resolution, "NONE" | "STATIC") {
        out.error(
            ".spec.resolution",
            "CIDR addresses are allowed only for NONE/STATIC resolution types",
        );
    }
    // PILOT_ENABLE_IP_AUTOALLOCATE defaults to true; the opt-out label is invisible to the
    // analyzer, as in Istio.
    let auto_allocation = resolution != "NONE" && se.addresses.is_empty();
    let mut names = HashSet::new();
    let mut numbers = HashSet::new();
    for (i, p) in se.ports.iter().enumerate() {
        let base = format!(".spec.ports[{i}]");
        if !names.insert(p.name.as_str()) {
            out.error(
                &format!("{base}.name"),
                format!("service entry port name {:?} already defined", p.name),
            );
        }
        if !numbers.insert(p.number) {
            out.error(
                &format!("{base}.number"),
                format!("service entry port {} already defined", p.number),
            );
        }
        if let Some(t) = p.target_port.filter(|t| *t != 0) {
            out.check(&format!("{base}.targetPort"), validate_port(t.into()));
        }
        let proto = p.protocol.as_deref().unwrap_or_default();
        if se.addresses.is_empty() && !auto_allocation && (proto.is_empty() || proto == "TCP") {
            out.warn(
                &base,
                "addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled",
            );
        }
        out.check(&format!("{base}.name"), validate_port_name(&p.name));
        out.check(&format!("{base}.protocol"), validate_protocol(proto));
        out.check(&format!("{base}.number"), validate_port(p.number.into()));
    }
    let port_names: HashSet<&str> = se.ports.iter().map(|p| p.name.as_str()).collect();
    match resolution {
        "NONE" => {
            if !se.endpoints.is_empty() {
                out.error(
                    ".spec.endpoints",
                    "no endpoints should be provided for resolution type none",
                );
            }
            if se.workload_selector.is_some() {
                out.warn(
                    ".spec.workloadSelector",
                    "workloadSelector should not be set when resolution mode is NONE",
                );
            }
        }
        "STATIC" => {
            for (i, ep) in se.endpoints.iter().enumerate() {
                validate_entry(
                    ep,
                    Some(&port_names),
                    false,
                    &format!(".spec.endpoints[{i}]"),
                    out,
                );
            }
        }
        "DNS" | "DNS_ROUND_ROBIN" => {
            if se.endpoints.is_empty() {
                for (i, h) in se.hosts.iter().enumerate() {
                    if validate_fqdn(h).is_some() {
                        out.error(
                            &format!(".spec.hosts[{i}]"),
                            format!("hosts must be FQDN if no endpoints are provided for resolution mode {resolution}"),
                        );
                    }
                }
            }
            if resolution == "DNS_ROUND_ROBIN" && se.endpoints.len() > 1 {
                out.error(
                    ".spec.endpoints",
                    format!("there must only be 0 or 1 endpoint for resolution mode {resolution}"),
                );
            }
            for (i, ep) in se.endpoints.iter().enumerate() {
                let base = format!(".spec.endpoints[{i}]");
                let addr = ep.address.as_deref().unwrap_or_default();
                if !is_ip(addr) && validate_fqdn(addr).is_some() {
                    out.error(
                        &format!("{base}.address"),
                        format!("endpoint address {addr:?} is not a valid FQDN or an IP address"),
                    );
                }
                out.check_all(&format!("{base}.labels"), validate_labels(&ep.labels));
                for (name, number) in &ep.ports {
                    let path = format!("{base}.ports.{name}");
                    if !port_names.contains(name.as_str()) {
                        out.error(
                            &path,
                            format!("endpoint port {number} is not defined by the service entry"),
                        );
                    }
                    out.check(&path, validate_port_name(name));
                    out.check(&path, validate_port((*number).into()));
                }
            }
            if se.workload_selector.is_some() {
                out.warn(
                    ".spec.workloadSelector",
                    format!(
                        "workloadSelector should not be set when resolution mode is {resolution}"
                    ),
                );
            }
            if !se.addresses.is_empty()
                && se.ports.iter().any(|p| {
                    parse_protocol(p.protocol.as_deref().unwrap_or_default())
                        .is_some_and(|p| p.is_tcp())
                })
                && se.hosts.len() > 1
            {
                out.warn(
                    ".spec.hosts",
                    "service entry can not have more than one host specified simultaneously with address and tcp port",
                );
            }
        }
        other => out.error(
            ".spec.resolution",
            format!("unsupported resolution type {other}"),
        ),
    }
    if resolution != "NONE" && se.hosts.len() > 1 {
        for (i, p) in se.ports.iter().enumerate() {
            let proto = parse_protocol(p.protocol.as_deref().unwrap_or_default());
            if !proto.is_some_and(|p| p.is_http() || p.is_tls()) {
                out.error(
                    &format!(".spec.ports[{i}].protocol"),
                    "multiple hosts provided with non-HTTP, non-TLS ports",
                );
                break;
            }
        }
    }
    validate_export_to(ns, &se.export_to, true, false, out);
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    fn se(spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: s, namespace: default}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn valid_entry_passes() {
        let y = se(
            "  hosts: [api.example.com]\n  ports: [{number: 443, name: https, protocol: TLS}]\n  resolution: DNS\n  location: MESH_EXTERNAL\n",
        );
        assert_eq!(errors(&y), Vec::<String>::new());
        assert_eq!(warnings(&y), Vec::<String>::new());
    }

    #[test]
    fn resolution_and_endpoints() {
        let y = se(
            "  hosts: ['*.example.com', b.example.com]\n  addresses: [10.0.0.0/8]\n  ports:\n  - {number: 80, name: tcp, protocol: TCP}\n  - {number: 80, name: tcp}\n  resolution: DNS\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "CIDR addresses are allowed only for NONE/STATIC resolution types",
                "service entry port name \"tcp\" already defined",
                "service entry port 80 already defined",
                "hosts must be FQDN if no endpoints are provided for resolution mode DNS",
                "multiple hosts provided with non-HTTP, non-TLS ports",
            ]
        );
        assert_eq!(
            warnings(&y),
            vec![
                "service entry can not have more than one host specified simultaneously with address and tcp port"
            ]
        );
        let y = se(
            "  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: STATIC\n  endpoints:\n  - address: vm.example.com\n    ports: {grpc: 9000}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "endpoint address \"vm.example.com\" is not a valid IP address",
                "endpoint port 9000 is not defined by the service entry",
            ]
        );
        let y = se(
            "  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  endpoints: [{address: 1.1.1.1}]\n",
        );
        assert_eq!(
            errors(&y),
            vec!["no endpoints should be provided for resolution type none"]
        );
    }
}
