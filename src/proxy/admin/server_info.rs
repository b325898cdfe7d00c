//! `/server_info`: `envoy.admin.v3.ServerInfo` in proto JSON. Envoy prints it with every
//! primitive field, defaults included, so the options Ferry has no counterpart for show
//! Envoy's defaults.

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::{Node, node};
use serde_json::{Map, Value, json};

use crate::xds::node::struct_to_json;

/// The command-line options `/server_info` reports (Envoy's `CommandLineOptions`, those Ferry
/// has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub concurrency: u32,
    /// Envoy's `--log-level`: `warning`.
    pub log_level: String,
    /// Envoy's `--component-log-level`: `misc:error,router:debug`.
    pub component_log_level: String,
}

/// Envoy's version string shape: `<build sha>/<version>/<Clean|Modified>/<RELEASE|DEBUG>/<TLS>`.
pub fn version() -> String {
    format!("ferry/{}/Clean/RELEASE/none", env!("CARGO_PKG_VERSION"))
}

/// A `google.protobuf.Duration` in proto JSON, whole seconds as Envoy reports uptime.
fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// `GET /server_info`.
pub fn render(node: &Node, options: &CommandLine, live: bool, uptime: Duration) -> Value {
    json!({
        "version": version(),
        "state": if live { "LIVE" } else { "PRE_INITIALIZING" },
        "hot_restart_version": "disabled",
        "command_line_options": {
            "base_id": "0",
            "use_dynamic_base_id": false,
            "base_id_path": "",
            "concurrency": options.concurrency,
            "config_path": "",
            "config_yaml": "",
            "allow_unknown_static_fields": false,
            "reject_unknown_dynamic_fields": false,
            "ignore_unknown_dynamic_fields": false,
            "admin_address_path": "",
            "local_address_ip_version": "v4",
            "log_level": options.log_level,
            "component_log_level": options.component_log_level,
            "log_format": "[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v",
            "log_format_escaped": false,
            "log_path": "",
            "service_cluster": node.cluster,
            "service_node": node.id,
            "service_zone": "",
            "file_flush_interval": "10s",
            "drain_time": "600s",
            "drain_strategy": "Gradual",
            "parent_shutdown_time": "900s",
            "mode": "Serve",
            "disable_hot_restart": true,
            "enable_mutex_tracing": false,
            "restart_epoch": 0,
            "cpuset_threads": false,
            "disabled_extensions": [],
            "enable_fine_grain_logging": false,
            "socket_path": "@envoy_domain_socket",
            "socket_mode": 0,
            "enable_core_dump": false,
            "stats_tag": [],
        },
        "uptime_current_epoch": seconds(uptime),
        "uptime_all_epochs": seconds(uptime),
        "node": node_json(node),
        "hot_restart_initializing": false,
    })
}

/// `envoy.config.core.v3.Node` in proto JSON.
pub fn node_json(node: &Node) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), node.id.clone().into());
    m.insert("cluster".into(), node.cluster.clone().into());
    m.insert(
        "metadata".into(),
        node.metadata
            .as_ref()
            .map_or_else(Map::new, struct_to_json)
            .into(),
    );
    m.insert("dynamic_parameters".into(), json!({}));
    if let Some(l) = &node.locality {
        m.insert(
            "locality".into(),
            json!({ "region": l.region, "zone": l.zone, "sub_zone": l.sub_zone }),
        );
    }
    m.insert(
        "user_agent_name".into(),
        node.user_agent_name.clone().into(),
    );
    match &node.user_agent_version_type {
        Some(node::UserAgentVersionType::UserAgentVersion(v)) => {
            m.insert("user_agent_version".into(), v.clone().into());
        }
        Some(node::UserAgentVersionType::UserAgentBuildVersion(b)) => {
            let v = b.version.as_ref();
            m.insert(
                "user_agent_build_version".into(),
                json!({ "version": {
                    "major_number": v.map_or(0, |v| v.major_number),
                    "minor_number": v.map_or(0, |v| v.minor_number),
                    "patch": v.map_or(0, |v| v.patch),
                }}),
            );
        }
        None => {}
    }
    let extensions: Vec<Value> = node
        .extensions
        .iter()
        .map(|e| json!({ "name": e.name, "category": e.category }))
        .collect();
    m.insert("extensions".into(), extensions.into());
    m.insert(
        "client_features".into(),
        node.client_features.clone().into(),
    );
    m.insert("listening_addresses".into(), json!([]));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xds::node::json_to_struct;

    fn node() -> Node {
        let Value::Object(meta) = json!({"NAMESPACE": "istio-system", "LABELS": {"app": "gw"}})
        else {
            unreachable!("an object literal")
        };
        Node {
            id: "router~127.0.0.1~gw.istio-system~istio-system.svc.cluster.local".into(),
            cluster: "istio-ingressgateway.istio-system".into(),
            metadata: Some(json_to_struct(&meta)),
            ..Node::default()
        }
    }

    #[test]
    fn envoys_server_info_shape() {
        let options = CommandLine {
            concurrency: 2,
            log_level: "warning".into(),
            component_log_level: "misc:error".into(),
        };
        let text = render(&node(), &options, true, Duration::from_millis(12_400)).to_string();
        let v: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(v["state"], "LIVE");
        assert!(
            v["version"]
                .as_str()
                .is_some_and(|s| s.split('/').count() == 5)
        );
        assert!(v["hot_restart_version"].is_string());
        assert_eq!(v["uptime_current_epoch"], "12s");
        assert_eq!(v["uptime_all_epochs"], "12s");
        let o = &v["command_line_options"];
        assert_eq!(o["concurrency"], 2);
        assert_eq!(o["log_level"], "warning");
        assert_eq!(o["component_log_level"], "misc:error");
        assert_eq!(o["base_id"], "0", "uint64 is a string");
        assert_eq!(o["service_cluster"], "istio-ingressgateway.istio-system");
        assert_eq!(o["mode"], "Serve");
        assert_eq!(v["node"]["id"], node().id);
        assert_eq!(v["node"]["metadata"]["LABELS"]["app"], "gw");
        let pre = render(&node(), &options, false, Duration::ZERO);
        assert_eq!(pre["state"], "PRE_INITIALIZING");
        assert_eq!(pre["uptime_current_epoch"], "0s");
    }
}
