//! WorkloadEntry and WorkloadGroup; `validate_entry` is shared with ServiceEntry endpoints.

use std::collections::HashSet;

use super::Out;
use super::hosts::{is_ip, validate_fqdn, validate_unix_address};
use super::names::validate_labels;
use super::ports::{validate_port, validate_port_name};
use crate::config::networking::{WorkloadEntry, WorkloadGroup};

/// `validateWorkloadEntry`. `service_ports` is the ServiceEntry's port names (None for a
/// standalone WorkloadEntry); `allow_fqdn` is false for STATIC endpoints.
pub fn validate_entry(
    we: &WorkloadEntry,
    service_ports: Option<&HashSet<&str>>,
    allow_fqdn: bool,
    base: &str,
    out: &mut Out,
) {
    let addr = we.address.as_deref().unwrap_or_default();
    let addr_path = format!("{base}.address");
    if addr.is_empty() {
        match we.network.as_deref().filter(|n| !n.is_empty()) {
            None => {
                out.error(base, "address is required");
                return;
            }
            Some(n) => out.warn(base, format!("address is unset with network {n:?}")),
        }
    }
    let unix = addr.strip_prefix("unix://");
    if let Some(path) = unix {
        out.check(&addr_path, validate_unix_address(path));
        if !we.ports.is_empty() {
            out.error(
                &addr_path,
                format!("unix endpoint {addr} must not include ports"),
            );
        }
    } else if !addr.is_empty() && !is_ip(addr) {
        if !allow_fqdn {
            out.error(
                &addr_path,
                format!("endpoint address {addr:?} is not a valid IP address"),
            );
        } else if validate_fqdn(addr).is_some() {
            out.error(
                &addr_path,
                format!("endpoint address {addr:?} is not a valid FQDN or an IP address"),
            );
        }
    }
    for (name, number) in &we.ports {
        let path = format!("{base}.ports.{name}");
        if let Some(sp) = service_ports
            && !sp.contains(name.as_str())
        {
            out.error(
                &path,
                format!("endpoint port {number} is not defined by the service entry"),
            );
        }
        out.check(&path, validate_port_name(name));
        out.check(&path, validate_port((*number).into()));
    }
    out.check_all(&format!("{base}.labels"), validate_labels(&we.labels));
    if unix.is_some()
        && let Some(sp) = service_ports
        && sp.len() != 1
    {
        out.error(base, "exactly 1 service port required for unix endpoints");
    }
}

pub fn validate_workload_entry(we: &WorkloadEntry, out: &mut Out) {
    validate_entry(we, None, true, ".spec", out);
}

/// `ValidateWorkloadGroup` (the readiness probe is not checked).
pub fn validate_workload_group(wg: &WorkloadGroup, out: &mut Out) {
    if wg.template.is_none() {
        out.error(".spec", "template is required");
        return;
    }
    if let Some(m) = &wg.metadata {
        let errs = validate_labels(&m.labels);
        if !errs.is_empty() {
            // Istio embeds the multierror text when there are several.
            let text = if errs.len() == 1 {
                errs[0].clone()
            } else {
                let items: String = errs.iter().map(|e| format!("\t* {e}\n")).collect();
                format!("{} errors occurred:\n{items}\n", errs.len())
            };
            out.error(".spec.metadata.labels", format!("invalid labels: {text}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    fn we(spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {{name: w, namespace: default}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn entries() {
        assert_eq!(
            errors(&we("  address: 10.0.0.1\n  ports: {http: 8080}\n")),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(&we("  address: vm.example.com\n")),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(&we("  labels: {app: a}\n")),
            vec!["address is required"]
        );
        assert_eq!(
            warnings(&we("  network: n1\n")),
            vec!["address is unset with network \"n1\""]
        );
        assert_eq!(
            errors(&we("  address: 'bad_host'\n  ports: {http_1: 70000}\n")),
            vec![
                "endpoint address \"bad_host\" is not a valid FQDN or an IP address",
                "invalid port name: http_1",
                "port number 70000 must be in the range 1..65535",
            ]
        );
        assert_eq!(
            errors(&we("  address: unix://rel/path\n  ports: {http: 80}\n")),
            vec![
                "rel/path is not an absolute path to a file",
                "unix endpoint unix://rel/path must not include ports",
            ]
        );
    }

    #[test]
    fn groups() {
        let y = "apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: g, namespace: default}\nspec:\n  metadata: {labels: {app: a}}\n";
        assert_eq!(errors(y), vec!["template is required"]);
        let y = "apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: g, namespace: default}\nspec:\n  metadata: {labels: {'-a': b}}\n  template: {serviceAccount: sa}\n";
        assert_eq!(errors(y), vec!["invalid labels: invalid tag key: \"-a\""]);
    }
}
