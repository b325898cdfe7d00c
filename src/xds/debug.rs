//! istiod's debug types over ADS (`pilot/pkg/xds/statusgen.go`, `debug.go`): a client such as
//! `istioctl proxy-status --xds-address` opens an ADS stream and asks, instead of for Envoy
//! resources, for
//! - `istio.io/debug/syncz`: one `envoy.service.status.v3.ClientConfig` per connected proxy, with
//!   the sync status of each type it watches;
//! - `istio.io/debug/config_dump` with `resource_names: [<pod>.<namespace>]`: what this control
//!   plane sends that proxy, as Envoy's `/config_dump` JSON (the resource's `value` holds the
//!   JSON bytes, as istiod's `TypeDebug` resources do).
//!
//! Both are answered once per request and never pushed. A stream that opens with a debug request
//! is a debugging client, not a proxy: it is not listed among the connected proxies (istiod skips
//! nodes without proxy metadata for the same reason).
//!
//! [`query`] is the client side: one request, one response.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use envoy_types::pb::envoy::admin::v3::{ConfigDump, UpdateFailureState};
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::envoy::service::status::v3::client_config::GenericXdsConfig;
use envoy_types::pb::envoy::service::status::v3::{ClientConfig, ConfigStatus};
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};
use serde_json::{Map, Value};

use super::dump::{self, DumpSource, Versioned, timestamp};
use super::node::json_to_struct;
use super::status::{ProxyStatus, StatusRegistry, SyncState};
use super::types::{REPORTED_TYPES, Snapshot, TypeUrl, XdsMessage};

/// The sync status of every connected proxy.
pub const TYPE_SYNCZ: &str = "istio.io/debug/syncz";
/// One proxy's config as this control plane would send it.
pub const TYPE_CONFIG_DUMP: &str = "istio.io/debug/config_dump";
/// The `Any` type of a config dump answer, whose value is JSON text (istiod's `TypeDebug`).
pub const TYPE_DEBUG: &str = "istio.io/debug";
/// istiod's answer for a proxy it does not serve; istioctl then asks the next control plane.
pub const NOT_CONNECTED: &str = "Proxy not connected to this Pilot instance";

/// Whether a request's type is one of istiod's debug types.
pub fn is_debug_type(type_url: &str) -> bool {
    type_url.starts_with("istio.io/debug/")
}

/// The `ClientConfig` of one connected proxy: node id (`<pod>.<namespace>`), the node metadata
/// proxy-status shows (`CLUSTER_ID`, `NAMESPACE`, `ISTIO_VERSION`) and one entry per type, sorted
/// by type URL, with the last send time and, after a NACK, the proxy's error.
pub fn client_config(p: &ProxyStatus) -> ClientConfig {
    let mut metadata = Map::new();
    for (key, value) in [
        ("CLUSTER_ID", p.node.cluster_id()),
        ("NAMESPACE", p.node.namespace.as_str()),
        ("ISTIO_VERSION", p.node.istio_version()),
    ] {
        // istiod's NodeMetadata.ToStruct drops empty fields (omitempty).
        if !value.is_empty() {
            metadata.insert(key.into(), Value::String(value.into()));
        }
    }
    let mut by_url: BTreeMap<&str, GenericXdsConfig> = REPORTED_TYPES
        .iter()
        .map(|url| {
            (
                *url,
                GenericXdsConfig {
                    type_url: (*url).to_string(),
                    config_status: ConfigStatus::Unknown as i32,
                    ..Default::default()
                },
            )
        })
        .collect();
    for (type_url, status) in &p.types {
        let state = status.sync_state();
        let config = GenericXdsConfig {
            type_url: type_url.as_str().to_string(),
            last_updated: status.sent.as_ref().map(|s| timestamp(s.at)),
            config_status: match state {
                SyncState::Synced => ConfigStatus::Synced,
                SyncState::NotSent => ConfigStatus::NotSent,
                SyncState::Stale => ConfigStatus::Stale,
                SyncState::Error => ConfigStatus::Error,
            } as i32,
            error_state: status.last_nack.as_ref().map(|nack| UpdateFailureState {
                last_update_attempt: Some(timestamp(nack.at)),
                details: nack.message.clone(),
                version_info: nack.version.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        by_url.insert(type_url.as_str(), config);
    }
    ClientConfig {
        node: Some(Node {
            id: p.node.proxy_id.clone(),
            metadata: Some(json_to_struct(&metadata)),
            ..Default::default()
        }),
        generic_xds_configs: by_url.into_values().collect(),
        ..Default::default()
    }
}

/// The answer to `istio.io/debug/syncz`: every connected proxy, ordered by proxy id.
pub fn syncz_resources(status: &StatusRegistry) -> Vec<Any> {
    status
        .proxies()
        .iter()
        .map(|p| {
            let config = client_config(p);
            Any {
                type_url: ClientConfig::type_url(),
                value: config.encode_to_vec(),
            }
        })
        .collect()
}

/// The connected stream of `proxy_id` (`<pod>.<namespace>`, or the full node id): its newest
/// connection. One look at the registry serves both forms of the id.
pub fn connected(status: &StatusRegistry, proxy_id: &str) -> Option<ProxyStatus> {
    let proxies = status.proxies();
    let newest = |id: fn(&ProxyStatus) -> &str| proxies.iter().rev().find(|p| id(p) == proxy_id);
    newest(|p| &p.node.proxy_id)
        .or_else(|| newest(|p| &p.node.node_id))
        .cloned()
}

/// What this control plane sends `proxy` now, stamped as the proxy would stamp it: each type
/// with the time it was last sent. This is istiod's `connectionConfigDump`, which proxy-status
/// diffs against the proxy's own `/config_dump`.
pub fn connected_config_dump(snapshot: &Snapshot, proxy: &ProxyStatus) -> ConfigDump {
    fn versioned<M: XdsMessage>(
        snapshot: &Snapshot,
        proxy: &ProxyStatus,
        type_url: TypeUrl,
    ) -> Vec<Versioned<M>> {
        let at = proxy
            .types
            .get(&type_url)
            .and_then(|t| t.sent.as_ref())
            .map_or_else(SystemTime::now, |s| s.at);
        let of = snapshot.of(type_url);
        of.resources()
            .values()
            .filter_map(|r| r.unpack::<M>().ok())
            .map(|resource| Versioned {
                version_info: of.version().to_string(),
                last_updated: at,
                resource,
            })
            .collect()
    }
    let listeners = versioned(snapshot, proxy, TypeUrl::Listener);
    let routes = versioned(snapshot, proxy, TypeUrl::RouteConfiguration);
    let clusters = versioned(snapshot, proxy, TypeUrl::Cluster);
    let endpoints = versioned(snapshot, proxy, TypeUrl::ClusterLoadAssignment);
    // Gateway credentials carry their keys: redacted as the proxy's own dump redacts them.
    let secrets: Vec<Versioned<_>> = versioned(snapshot, proxy, TypeUrl::Secret)
        .into_iter()
        .map(|v| Versioned {
            resource: dump::redact_secret(v.resource),
            ..v
        })
        .collect();
    dump::build_config_dump(&DumpSource {
        bootstrap: None,
        listeners: &listeners,
        routes: &routes,
        clusters: &clusters,
        endpoints: &endpoints,
        secrets: &secrets,
    })
}

/// The answer to `istio.io/debug/config_dump` for `proxy_id`: the dump's JSON, or
/// [`NOT_CONNECTED`] as the resource's text when the proxy is not on this control plane.
pub fn config_dump_resource(
    snapshot_of: impl FnOnce(&ProxyStatus) -> std::sync::Arc<Snapshot>,
    status: &StatusRegistry,
    proxy_id: &str,
) -> Any {
    let text = match connected(status, proxy_id) {
        Some(proxy) => {
            let snapshot = snapshot_of(&proxy);
            let config = connected_config_dump(&snapshot, &proxy);
            dump::to_json(&config, &dump::DumpQuery::default())
                .unwrap_or_else(|e| format!("rendering the config dump: {e}"))
        }
        None => NOT_CONNECTED.to_string(),
    };
    Any {
        type_url: TYPE_DEBUG.to_string(),
        value: text.into_bytes(),
    }
}

/// Why a debug query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("cannot connect to the control plane at {address}: {message}")]
    Connect { address: String, message: String },
    #[error("the control plane at {address} refused the request: {message}")]
    Refused { address: String, message: String },
    #[error("the control plane at {address} closed the stream without answering")]
    NoAnswer { address: String },
    #[error("no answer from the control plane at {address} within {timeout:?}")]
    Timeout { address: String, timeout: Duration },
}

/// The node a debugging client presents: a sidecar-shaped id (so any istiod-compatible server
/// parses it) and istioctl's `GENERATOR: event` metadata.
pub fn client_node() -> Node {
    let mut metadata = Map::new();
    metadata.insert("GENERATOR".into(), Value::String("event".into()));
    Node {
        id: format!(
            "sidecar~127.0.0.1~ferryctl-{}.istio-system~istio-system.svc.cluster.local",
            std::process::id()
        ),
        metadata: Some(json_to_struct(&metadata)),
        ..Default::default()
    }
}

/// Sends one debug request on a new plain-text ADS stream to `address` (`host:port`) and returns
/// the first response.
pub async fn query(
    address: &str,
    type_url: &str,
    resource_names: Vec<String>,
    timeout: Duration,
) -> Result<DiscoveryResponse, QueryError> {
    let work = async {
        let endpoint = format!("http://{address}");
        let mut client = AggregatedDiscoveryServiceClient::connect(endpoint)
            .await
            .map_err(|e| QueryError::Connect {
                address: address.to_string(),
                message: super::error_chain(&e),
            })?
            // A config dump of a large mesh is big.
            .max_decoding_message_size(256 << 20);
        let request = DiscoveryRequest {
            node: Some(client_node()),
            type_url: type_url.to_string(),
            resource_names,
            ..Default::default()
        };
        // The request side stays open until the answer is in: a server may end a stream the
        // client half-closed before it answered.
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let _ = tx.send(request).await;
        let mut responses = client
            .stream_aggregated_resources(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map_err(|s| QueryError::Refused {
                address: address.to_string(),
                message: s.message().to_string(),
            })?
            .into_inner();
        let answer = responses.message().await;
        drop(tx);
        match answer {
            Ok(Some(response)) => Ok(response),
            Ok(None) => Err(QueryError::NoAnswer {
                address: address.to_string(),
            }),
            Err(s) => Err(QueryError::Refused {
                address: address.to_string(),
                message: s.message().to_string(),
            }),
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| QueryError::Timeout {
            address: address.to_string(),
            timeout,
        })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xds::node::NodeInfo;

    #[test]
    fn connected_finds_the_newest_stream_by_proxy_or_node_id() {
        let reg = StatusRegistry::new();
        let id = "sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local";
        let node = NodeInfo::parse(&Node {
            id: id.into(),
            ..Default::default()
        })
        .expect("node");
        let _old = reg.register(1, node.clone(), None);
        let _new = reg.register(2, node, None);
        for asked in ["reviews-v1.default", id] {
            let found = connected(&reg, asked).expect("connected");
            assert_eq!(found.connection_id, "reviews-v1.default-2", "{asked}");
        }
        assert!(connected(&reg, "ratings-v1.default").is_none());
    }
}
