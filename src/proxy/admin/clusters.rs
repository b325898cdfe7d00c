//! `/clusters`: every cluster's circuit breakers and every endpoint's counters, in Envoy's text
//! form (`<cluster>::<host>::<stat>::<value>`) and as `envoy.admin.v3.Clusters` in proto JSON
//! (`?format=json`, what `istioctl proxy-config endpoint` reads). Proto JSON leaves out fields
//! at their default (zero counters, `COUNTER` types, priority 0) and prints uint64 as strings.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use serde_json::{Map, Value, json};

use crate::proxy::cluster::{Address, ClusterEntry, Endpoint};
use crate::proxy::state::{Runtime, Store};
use crate::proxy::stats::Kind;

/// Envoy's circuit breaker defaults (`envoy.config.cluster.v3.CircuitBreakers.Thresholds`).
const DEFAULT_THRESHOLDS: Thresholds = Thresholds {
    max_connections: 1024,
    max_pending_requests: 1024,
    max_requests: 1024,
    max_retries: 3,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Thresholds {
    max_connections: u32,
    max_pending_requests: u32,
    max_requests: u32,
    max_retries: u32,
}

/// What `/clusters` shows of one cluster besides its endpoints, from its config.
struct ClusterInfo<'a> {
    entry: &'a ClusterEntry,
    observability_name: String,
    eds_service_name: Option<String>,
    /// Default priority, then high.
    thresholds: [Thresholds; 2],
}

fn clusters<'a>(runtime: &'a Runtime, store: &Store) -> Vec<ClusterInfo<'a>> {
    let mut out: Vec<ClusterInfo<'a>> = runtime
        .clusters
        .values()
        .map(|entry| info(entry, store.clusters.get(&entry.name).map(|s| &s.resource)))
        .collect();
    out.sort_by(|a, b| a.entry.name.cmp(&b.entry.name));
    out
}

fn info<'a>(entry: &'a ClusterEntry, config: Option<&Cluster>) -> ClusterInfo<'a> {
    let mut thresholds = [DEFAULT_THRESHOLDS; 2];
    let configured = config
        .and_then(|c| c.circuit_breakers.as_ref())
        .map(|cb| cb.thresholds.as_slice())
        .unwrap_or_default();
    for t in configured {
        let Some(slot) = usize::try_from(t.priority)
            .ok()
            .and_then(|p| thresholds.get_mut(p))
        else {
            continue;
        };
        let pick = |v: Option<&envoy_types::pb::google::protobuf::UInt32Value>, default: u32| {
            v.map_or(default, |v| v.value)
        };
        *slot = Thresholds {
            max_connections: pick(t.max_connections.as_ref(), slot.max_connections),
            max_pending_requests: pick(t.max_pending_requests.as_ref(), slot.max_pending_requests),
            max_requests: pick(t.max_requests.as_ref(), slot.max_requests),
            max_retries: pick(t.max_retries.as_ref(), slot.max_retries),
        };
    }
    let observability_name = config
        .map(|c| c.alt_stat_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| entry.name.clone());
    let eds_service_name = config
        .and_then(|c| c.eds_cluster_config.as_ref())
        .map(|e| e.service_name.clone())
        .filter(|n| !n.is_empty());
    ClusterInfo {
        entry,
        observability_name,
        eds_service_name,
        thresholds,
    }
}

/// Envoy's `Host::HealthFlag`s as text: `healthy`, or each set flag after a `/`
/// (`/failed_outlier_check/failed_eds_health` when both are set, in Envoy's flag order).
fn health_flags(e: &Endpoint) -> String {
    let mut flags = String::new();
    if e.outlier.ejected() {
        flags.push_str("/failed_outlier_check");
    }
    if !e.healthy {
        flags.push_str("/failed_eds_health");
    }
    if flags.is_empty() {
        flags.push_str("healthy");
    }
    flags
}

fn hostname(e: &Endpoint) -> &str {
    match &e.address {
        Address::Ip(_) => "",
        Address::Dns(host, _) => host,
    }
}

/// `GET /clusters`.
pub fn text(runtime: &Runtime, store: &Store) -> String {
    let mut out = String::new();
    for c in clusters(runtime, store) {
        let name = &c.entry.name;
        out.push_str(&format!(
            "{name}::observability_name::{}\n",
            c.observability_name
        ));
        for (priority, t) in ["default", "high"].iter().zip(&c.thresholds) {
            out.push_str(&format!(
                "{name}::{priority}_priority::max_connections::{}\n",
                t.max_connections
            ));
            out.push_str(&format!(
                "{name}::{priority}_priority::max_pending_requests::{}\n",
                t.max_pending_requests
            ));
            out.push_str(&format!(
                "{name}::{priority}_priority::max_requests::{}\n",
                t.max_requests
            ));
            out.push_str(&format!(
                "{name}::{priority}_priority::max_retries::{}\n",
                t.max_retries
            ));
        }
        out.push_str(&format!("{name}::added_via_api::true\n"));
        if let Some(eds) = &c.eds_service_name {
            out.push_str(&format!("{name}::eds_service_name::{eds}\n"));
        }
        for e in &c.entry.endpoints {
            let host = e.address.to_string();
            let mut stats = e.stats.values();
            // Counters and gauges together, by name, as Envoy's text output has them.
            stats.sort_by_key(|(stat, _, _)| *stat);
            for (stat, _, value) in stats {
                out.push_str(&format!("{name}::{host}::{stat}::{value}\n"));
            }
            for (key, value) in [
                ("hostname", hostname(e).to_string()),
                ("health_flags", health_flags(e)),
                ("weight", e.weight.to_string()),
                ("region", String::new()),
                ("zone", String::new()),
                ("sub_zone", String::new()),
                ("canary", "false".to_string()),
                ("priority", "0".to_string()),
                ("success_rate", "-1".to_string()),
                ("local_origin_success_rate", "-1".to_string()),
            ] {
                out.push_str(&format!("{name}::{host}::{key}::{value}\n"));
            }
        }
    }
    out
}

/// `GET /clusters?format=json`: `envoy.admin.v3.Clusters`.
pub fn json(runtime: &Runtime, store: &Store) -> Value {
    let statuses: Vec<Value> = clusters(runtime, store).iter().map(cluster_json).collect();
    json!({ "cluster_statuses": statuses })
}

fn cluster_json(c: &ClusterInfo<'_>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), c.entry.name.clone().into());
    m.insert("added_via_api".into(), true.into());
    if !c.entry.endpoints.is_empty() {
        let hosts: Vec<Value> = c.entry.endpoints.iter().map(|e| host_json(e)).collect();
        m.insert("host_statuses".into(), hosts.into());
    }
    let thresholds: Vec<Value> = c
        .thresholds
        .iter()
        .zip(["DEFAULT", "HIGH"])
        .map(|(t, priority)| {
            let mut t_json = Map::new();
            // DEFAULT is the enum's zero: proto JSON leaves it out.
            if priority != "DEFAULT" {
                t_json.insert("priority".into(), priority.into());
            }
            t_json.insert("max_connections".into(), t.max_connections.into());
            t_json.insert("max_pending_requests".into(), t.max_pending_requests.into());
            t_json.insert("max_requests".into(), t.max_requests.into());
            t_json.insert("max_retries".into(), t.max_retries.into());
            Value::Object(t_json)
        })
        .collect();
    m.insert(
        "circuit_breakers".into(),
        json!({ "thresholds": thresholds }),
    );
    m.insert(
        "observability_name".into(),
        c.observability_name.clone().into(),
    );
    if let Some(eds) = &c.eds_service_name {
        m.insert("eds_service_name".into(), eds.clone().into());
    }
    Value::Object(m)
}

fn host_json(e: &Endpoint) -> Value {
    let (address, port) = match &e.address {
        Address::Ip(a) => (a.ip().to_string(), a.port()),
        Address::Dns(h, p) => (h.clone(), *p),
    };
    let stats: Vec<Value> = e
        .stats
        .values()
        .into_iter()
        .map(|(name, kind, value)| {
            let mut s = Map::new();
            // COUNTER is the enum's zero and a zero value is the default: both left out.
            if kind == Kind::Gauge {
                s.insert("type".into(), "GAUGE".into());
            }
            if value != 0 {
                s.insert("value".into(), value.to_string().into());
            }
            s.insert("name".into(), name.into());
            Value::Object(s)
        })
        .collect();
    let mut m = Map::new();
    m.insert(
        "address".into(),
        json!({ "socket_address": { "address": address, "port_value": port } }),
    );
    m.insert("stats".into(), stats.into());
    let mut health =
        json!({ "eds_health_status": if e.healthy { "HEALTHY" } else { "UNHEALTHY" } });
    // `envoy.admin.v3.HostHealthStatus`: the flag is there only when set (proto JSON).
    if e.outlier.ejected() {
        health["failed_outlier_check"] = true.into();
    }
    m.insert("health_status".into(), health);
    m.insert("weight".into(), e.weight.into());
    let host = hostname(e);
    if !host.is_empty() {
        m.insert("hostname".into(), host.into());
    }
    m.insert("locality".into(), json!({}));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use envoy_types::pb::envoy::config::cluster::v3::{CircuitBreakers, circuit_breakers};
    use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
    use envoy_types::pb::envoy::config::core::v3::{
        Address as PbAddress, SocketAddress, address, socket_address,
    };
    use envoy_types::pb::envoy::config::endpoint::v3::{
        ClusterLoadAssignment, Endpoint as PbEndpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
    };

    use super::*;
    use crate::proxy::cluster::Clients;
    use crate::proxy::state::Stored;
    use crate::proxy::stats::Stats;

    const NAME: &str = "outbound|9080|v1|reviews.default.svc.cluster.local";

    fn lb(ip: &str, port: u32, health: i32) -> LbEndpoint {
        LbEndpoint {
            host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(PbEndpoint {
                address: Some(PbAddress {
                    address: Some(address::Address::SocketAddress(SocketAddress {
                        address: ip.into(),
                        port_specifier: Some(socket_address::PortSpecifier::PortValue(port)),
                        ..SocketAddress::default()
                    })),
                }),
                ..PbEndpoint::default()
            })),
            health_status: health,
            ..LbEndpoint::default()
        }
    }

    /// One EDS cluster with two endpoints, the second unhealthy, and a high-priority circuit
    /// breaker as Istio's DestinationRule `connectionPool` sets one.
    fn fixture() -> (Runtime, Store) {
        let config = Cluster {
            name: NAME.into(),
            cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
                cluster::DiscoveryType::Eds as i32,
            )),
            eds_cluster_config: Some(cluster::EdsClusterConfig {
                service_name: NAME.into(),
                ..Default::default()
            }),
            circuit_breakers: Some(CircuitBreakers {
                thresholds: vec![circuit_breakers::Thresholds {
                    priority: 1,
                    max_connections: Some(envoy_types::pb::google::protobuf::UInt32Value {
                        value: 100,
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Cluster::default()
        };
        let assignment = ClusterLoadAssignment {
            cluster_name: NAME.into(),
            endpoints: vec![LocalityLbEndpoints {
                lb_endpoints: vec![lb("127.0.0.1", 9080, 0), lb("127.0.0.2", 9080, 2)],
                ..Default::default()
            }],
            ..Default::default()
        };
        let entry = ClusterEntry::compile(
            &config,
            Some(&assignment),
            None,
            &Stats::default(),
            &Clients::default(),
        )
        .expect("compiles");
        for _ in 0..3 {
            entry.endpoints[0].stats.rq_total.inc();
            entry.endpoints[0].stats.rq_success.inc();
        }
        let mut store = Store::default();
        store.clusters.insert(
            NAME.into(),
            Stored {
                version_info: "1".into(),
                last_updated: std::time::SystemTime::now(),
                resource: config,
            },
        );
        let runtime = Runtime {
            clusters: [(NAME.to_string(), Arc::new(entry))].into_iter().collect(),
            ..Runtime::default()
        };
        (runtime, store)
    }

    #[test]
    fn text_has_envoys_lines() {
        let (runtime, store) = fixture();
        let text = text(&runtime, &store);
        let host = format!("{NAME}::127.0.0.1:9080");
        for line in [
            format!("{NAME}::observability_name::{NAME}"),
            format!("{NAME}::default_priority::max_connections::1024"),
            format!("{NAME}::default_priority::max_retries::3"),
            format!("{NAME}::high_priority::max_connections::100"),
            format!("{NAME}::high_priority::max_requests::1024"),
            format!("{NAME}::added_via_api::true"),
            format!("{NAME}::eds_service_name::{NAME}"),
            format!("{host}::cx_active::0"),
            format!("{host}::rq_total::3"),
            format!("{host}::rq_success::3"),
            format!("{host}::rq_error::0"),
            format!("{host}::rq_timeout::0"),
            format!("{host}::rq_active::0"),
            format!("{host}::hostname::"),
            format!("{host}::health_flags::healthy"),
            format!("{host}::weight::1"),
            format!("{host}::region::"),
            format!("{host}::zone::"),
            format!("{host}::sub_zone::"),
            format!("{host}::canary::false"),
            format!("{host}::priority::0"),
            format!("{host}::success_rate::-1"),
            format!("{host}::local_origin_success_rate::-1"),
            format!("{NAME}::127.0.0.2:9080::health_flags::/failed_eds_health"),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // Per host: stats by name, then the fixed fields in Envoy's order.
        let host_keys: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{host}::")))
            .map(|l| l.split("::").next().unwrap_or_default())
            .collect();
        assert_eq!(
            host_keys,
            [
                "cx_active",
                "cx_connect_fail",
                "cx_total",
                "rq_active",
                "rq_error",
                "rq_success",
                "rq_timeout",
                "rq_total",
                "hostname",
                "health_flags",
                "weight",
                "region",
                "zone",
                "sub_zone",
                "canary",
                "priority",
                "success_rate",
                "local_origin_success_rate",
            ]
        );
    }

    #[test]
    fn json_is_envoys_admin_clusters_proto() {
        let (runtime, store) = fixture();
        // Through text and back, as a client reads it.
        let v: Value =
            serde_json::from_str(&json(&runtime, &store).to_string()).expect("valid JSON");
        let c = &v["cluster_statuses"][0];
        assert_eq!(c["name"], NAME);
        assert_eq!(c["added_via_api"], true);
        assert_eq!(c["observability_name"], NAME);
        assert_eq!(c["eds_service_name"], NAME);
        let t = &c["circuit_breakers"]["thresholds"];
        assert_eq!(t[0]["max_connections"], 1024);
        assert!(t[0].get("priority").is_none(), "DEFAULT is left out");
        assert_eq!(t[1]["priority"], "HIGH");
        assert_eq!(t[1]["max_connections"], 100);
        let h = &c["host_statuses"][0];
        assert_eq!(
            h["address"],
            json!({"socket_address": {"address": "127.0.0.1", "port_value": 9080}})
        );
        assert_eq!(h["health_status"], json!({"eds_health_status": "HEALTHY"}));
        assert_eq!(h["weight"], 1);
        assert_eq!(h["locality"], json!({}));
        let stats = h["stats"].as_array().expect("stats");
        let names: Vec<&str> = stats.iter().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(
            names,
            [
                "cx_connect_fail",
                "cx_total",
                "rq_error",
                "rq_success",
                "rq_timeout",
                "rq_total",
                "cx_active",
                "rq_active"
            ]
        );
        let rq_total = stats
            .iter()
            .find(|s| s["name"] == "rq_total")
            .expect("rq_total");
        assert_eq!(rq_total["value"], "3", "uint64 is a string in proto JSON");
        assert!(rq_total.get("type").is_none(), "COUNTER is left out");
        let rq_error = stats
            .iter()
            .find(|s| s["name"] == "rq_error")
            .expect("rq_error");
        assert!(rq_error.get("value").is_none(), "zero is left out");
        let rq_active = stats
            .iter()
            .find(|s| s["name"] == "rq_active")
            .expect("rq_active");
        assert_eq!(rq_active["type"], "GAUGE");
        assert_eq!(
            c["host_statuses"][1]["health_status"]["eds_health_status"],
            "UNHEALTHY"
        );
    }
}
