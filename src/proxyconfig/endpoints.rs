//! The endpoint table (istioctl `envoy/clusters/clusters.go`): hosts from `GET
//! /clusters?format=json`, with their EDS health and outlier-detection state.

use std::fmt::Write as _;

use serde_json::Value;

use super::dump::{items, parse_json, str_of, u64_of};
use super::eds::EndpointFilter;
use super::{DumpError, gosort, tabwriter};

/// A parsed `/clusters?format=json` body.
#[derive(Debug)]
pub struct ClusterStatuses {
    root: Value,
}

impl ClusterStatuses {
    pub fn parse(bytes: &[u8]) -> Result<ClusterStatuses, DumpError> {
        let root = parse_json(bytes)?;
        if root.get("configs").is_some() {
            return Err(DumpError::NotClusters {
                hint: "; this is a config dump, which `proxy-config eds` reads",
            });
        }
        // Envoy omits the array when it has no clusters, so an empty object is a valid listing.
        if !root.is_object() || root.get("cluster_statuses").is_some_and(|c| !c.is_array()) {
            return Err(DumpError::NotClusters { hint: "" });
        }
        Ok(ClusterStatuses { root })
    }

    fn clusters(&self) -> impl Iterator<Item = &Value> {
        items(&self.root, "cluster_statuses")
    }
}

struct Host<'a> {
    address: String,
    port: u64,
    cluster: &'a str,
    status: &'a str,
    failed_outlier_check: bool,
}

fn host<'a>(h: &'a Value, cluster: &'a str) -> Host<'a> {
    let (address, port) = match h.pointer("/address/socket_address") {
        Some(s) => (
            str_of(s, "address").to_string(),
            u64_of(s.get("port_value")),
        ),
        None => (
            format!(
                "unix://{}",
                h.pointer("/address/pipe/path")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            0,
        ),
    };
    Host {
        address,
        port,
        cluster,
        status: h
            .pointer("/health_status/eds_health_status")
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN"),
        failed_outlier_check: h
            .pointer("/health_status/failed_outlier_check")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

impl EndpointFilter {
    fn matches_host(&self, h: &Host<'_>) -> bool {
        (self.address.is_empty() || h.address.eq_ignore_ascii_case(&self.address))
            && (self.port == 0 || h.port == self.port)
            && (self.cluster.is_empty() || h.cluster.eq_ignore_ascii_case(&self.cluster))
            && (self.status.is_empty() || h.status.eq_ignore_ascii_case(&self.status))
    }
}

/// The summary table, sorted by address, port and cluster.
pub fn summary(statuses: &ClusterStatuses, filter: &EndpointFilter) -> String {
    let mut hosts: Vec<Host<'_>> = statuses
        .clusters()
        .flat_map(|c| {
            let name = str_of(c, "name");
            items(c, "host_statuses").map(move |h| host(h, name))
        })
        .filter(|h| filter.matches_host(h))
        .collect();
    gosort::sort_slice(&mut hosts, |a, b| {
        (a.address.as_str(), a.port, a.cluster) < (b.address.as_str(), b.port, b.cluster)
    });
    let mut t = String::from("ENDPOINT\tSTATUS\tOUTLIER CHECK\tCLUSTER\n");
    for h in &hosts {
        let endpoint = if h.port != 0 {
            format!("{}:{}", h.address, h.port)
        } else {
            h.address.clone()
        };
        let outlier = if h.failed_outlier_check {
            "FAILED"
        } else {
            "OK"
        };
        let _ = writeln!(t, "{endpoint}\t{}\t{outlier}\t{}", h.status, h.cluster);
    }
    tabwriter::format(&t, 5)
}

/// The clusters `-o json|yaml` prints: those with at least one host passing, whole.
pub fn selected<'a>(statuses: &'a ClusterStatuses, filter: &EndpointFilter) -> Vec<&'a Value> {
    statuses
        .clusters()
        .filter(|c| {
            let name = str_of(c, "name");
            items(c, "host_statuses").any(|h| filter.matches_host(&host(h, name)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"cluster_statuses": [
      {"name": "outbound|9080||reviews.default.svc.cluster.local", "host_statuses": [
        {"address": {"socket_address": {"address": "10.0.0.2", "port_value": 9080}},
         "health_status": {"eds_health_status": "HEALTHY"}},
        {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 9080}},
         "health_status": {"eds_health_status": "UNHEALTHY", "failed_outlier_check": true}}]},
      {"name": "agent", "host_statuses": [{"address": {"pipe": {"path": "/tmp/sock"}},
         "health_status": {"eds_health_status": "HEALTHY"}}]}]}"#;

    #[test]
    fn table_sorted_by_address() {
        let s = ClusterStatuses::parse(BODY.as_bytes()).unwrap();
        insta::assert_snapshot!(summary(&s, &EndpointFilter::default()));
    }

    #[test]
    fn status_filter_is_case_insensitive() {
        let s = ClusterStatuses::parse(BODY.as_bytes()).unwrap();
        let f = EndpointFilter {
            status: "unhealthy".into(),
            ..Default::default()
        };
        assert_eq!(selected(&s, &f).len(), 1);
        assert_eq!(summary(&s, &f).lines().count(), 2);
    }

    #[test]
    fn a_config_dump_is_pointed_to_eds() {
        let err = ClusterStatuses::parse(b"{\"configs\": []}").unwrap_err();
        assert!(err.to_string().contains("proxy-config eds"), "{err}");
    }
}
