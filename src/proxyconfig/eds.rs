//! The EDS table (istioctl `configdump/endpoint.go`): endpoints as the config dump's
//! `EndpointsConfigDump` holds them (`?include_eds`), with locality; used by `eds` and `all`.

use std::fmt::Write as _;

use serde_json::Value;

use super::dump::{self, ConfigDump, SubsetKey, items, str_of, u64_of};
use super::{DumpError, gosort, tabwriter};

/// `--address` (compared with `ip:port`, as istioctl does), `--port`, `--cluster`, `--status`.
#[derive(Debug, Default, Clone)]
pub struct EndpointFilter {
    pub address: String,
    pub port: u64,
    pub cluster: String,
    pub status: String,
}

impl EndpointFilter {
    fn matches(&self, ep: &Value, cluster: &str) -> bool {
        (self.address.is_empty() || address(ep).eq_ignore_ascii_case(&self.address))
            && (self.port == 0
                || u64_of(ep.pointer("/endpoint/address/socket_address/port_value")) == self.port)
            && (self.cluster.is_empty() || cluster.eq_ignore_ascii_case(&self.cluster))
            && (self.status.is_empty() || status(ep).eq_ignore_ascii_case(&self.status))
    }
}

/// `ip:port`, a pipe's path, or `envoy://<internal listener>/<endpoint id>`.
pub fn address(ep: &Value) -> String {
    let Some(addr) = ep.pointer("/endpoint/address") else {
        return String::new();
    };
    if let Some(s) = addr.get("socket_address") {
        return format!("{}:{}", str_of(s, "address"), u64_of(s.get("port_value")));
    }
    if let Some(p) = addr.get("pipe") {
        return str_of(p, "path").to_string();
    }
    if let Some(i) = addr.get("envoy_internal_address") {
        return format!(
            "envoy://{}/{}",
            str_of(i, "server_listener_name"),
            str_of(i, "endpoint_id")
        );
    }
    String::new()
}

fn status(ep: &Value) -> &str {
    ep.get("health_status")
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN")
}

fn locality(l: Option<&Value>) -> String {
    let Some(l) = l else {
        return String::new();
    };
    let mut out = str_of(l, "region").to_string();
    let zone = str_of(l, "zone");
    if zone.is_empty() {
        return out;
    }
    out.push('/');
    out.push_str(zone);
    let sub = str_of(l, "sub_zone");
    if !sub.is_empty() {
        out.push('/');
        out.push_str(sub);
    }
    out
}

/// A load assignment with its endpoints that pass the filter.
pub struct Assignment<'a> {
    pub value: &'a Value,
    pub cluster: &'a str,
    /// (locality, endpoint) pairs in order.
    pub endpoints: Vec<(&'a Value, &'a Value)>,
}

/// Dynamic then static load assignments with ≥ 1 endpoint passing, sorted by cluster name.
pub fn sorted<'a>(
    dump: &'a ConfigDump,
    filter: &EndpointFilter,
) -> Result<Vec<Assignment<'a>>, DumpError> {
    let section = dump.section(dump::ENDPOINTS)?;
    let mut out: Vec<(SubsetKey<'a>, Assignment<'a>)> = items(section, "dynamic_endpoint_configs")
        .chain(items(section, "static_endpoint_configs"))
        .filter_map(|e| e.get("endpoint_config"))
        .filter_map(|value| {
            let cluster = str_of(value, "cluster_name");
            let endpoints: Vec<(&Value, &Value)> = items(value, "endpoints")
                .flat_map(|llb| items(llb, "lb_endpoints").map(move |ep| (llb, ep)))
                .filter(|(_, ep)| filter.matches(ep, cluster))
                .collect();
            (!endpoints.is_empty()).then(|| {
                (
                    SubsetKey::parse(cluster),
                    Assignment {
                        value,
                        cluster,
                        endpoints,
                    },
                )
            })
        })
        .collect();
    gosort::sort_slice(&mut out, |a, b| a.0.less(&b.0));
    Ok(out.into_iter().map(|(_, a)| a).collect())
}

/// The summary table; `named` makes the first column `NAME` with `endpoint/` names (`all`).
pub fn summary(
    dump: &ConfigDump,
    filter: &EndpointFilter,
    named: bool,
) -> Result<String, DumpError> {
    let assignments = sorted(dump, filter)?;
    let mut t = String::from(if named {
        "NAME\tSTATUS\tLOCALITY\tCLUSTER\n"
    } else {
        "ENDPOINT\tSTATUS\tLOCALITY\tCLUSTER\n"
    });
    let prefix = if named { "endpoint/" } else { "" };
    for a in &assignments {
        for (llb, ep) in &a.endpoints {
            let _ = writeln!(
                t,
                "{prefix}{}\t{}\t{}\t{}",
                address(ep),
                status(ep),
                locality(llb.get("locality")),
                a.cluster
            );
        }
    }
    Ok(tabwriter::format(&t, 5))
}

/// The load assignments `-o json|yaml` prints, their endpoint lists cut to those passing.
pub fn selected(dump: &ConfigDump, filter: &EndpointFilter) -> Result<Vec<Value>, DumpError> {
    Ok(sorted(dump, filter)?
        .into_iter()
        .map(|a| {
            let mut v = a.value.clone();
            if let Some(groups) = v.get_mut("endpoints").and_then(Value::as_array_mut) {
                for llb in groups {
                    if let Some(eps) = llb.get_mut("lb_endpoints").and_then(Value::as_array_mut) {
                        eps.retain(|ep| filter.matches(ep, a.cluster));
                    }
                }
            }
            v
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_real_envoy() {
        let dump = ConfigDump::parse(include_bytes!("../../fixtures/envoy/config-dump-full.json"))
            .unwrap();
        insta::assert_snapshot!(summary(&dump, &EndpointFilter::default(), false).unwrap());
        let port = EndpointFilter {
            port: 15000,
            ..Default::default()
        };
        assert_eq!(summary(&dump, &port, false).unwrap().lines().count(), 2);
    }
}
