//! The sync status of every proxy of one control plane, whichever way it was read: istiod's
//! `ClientConfig` protos (over ADS) or its `/debug/syncz` JSON (over HTTP). Both become the same
//! [`ControlPlaneSync`], so the tables and `-o json` do not care where it came from.

use std::time::SystemTime;

use envoy_types::pb::envoy::service::discovery::v3::DiscoveryResponse;
use envoy_types::pb::envoy::service::status::v3::{ClientConfig, ConfigStatus as ProtoStatus};
use envoy_types::pb::google::protobuf::Timestamp;
use prost::{Message, Name};
use serde_json::Value;

use crate::xds::debug::TYPE_SYNCZ;
use crate::xds::node::struct_to_json;
use crate::xds::types::{
    CLUSTER, CLUSTER_LOAD_ASSIGNMENT, EXTENSION_CONFIG, LISTENER, REPORTED_TYPES,
    ROUTE_CONFIGURATION,
};

/// A type's status as proxy-status prints it (istiod's `debugSyncStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigStatus {
    /// The last response sent was acknowledged.
    Synced,
    /// Watched, but nothing sent yet.
    NotSent,
    /// Sent, not acknowledged (yet).
    Stale,
    /// The proxy rejected the last response (a NACK).
    Error,
    /// Not watched by the proxy (`UNKNOWN` on the wire).
    Ignored,
}

impl ConfigStatus {
    /// istiod's status of a watched type from its nonces and last NACK: ERROR while a NACK
    /// stands, NOT SENT before the first response, SYNCED when the last sent nonce was acked.
    pub fn from_nonces(sent: &str, acked: &str, error: &str) -> ConfigStatus {
        if !error.is_empty() {
            ConfigStatus::Error
        } else if sent.is_empty() {
            ConfigStatus::NotSent
        } else if sent == acked {
            ConfigStatus::Synced
        } else {
            ConfigStatus::Stale
        }
    }

    fn from_proto(value: i32) -> ConfigStatus {
        match ProtoStatus::try_from(value) {
            Ok(ProtoStatus::Synced) => ConfigStatus::Synced,
            Ok(ProtoStatus::NotSent) => ConfigStatus::NotSent,
            Ok(ProtoStatus::Stale) => ConfigStatus::Stale,
            Ok(ProtoStatus::Error) => ConfigStatus::Error,
            Ok(ProtoStatus::Unknown) | Err(_) => ConfigStatus::Ignored,
        }
    }

    /// The enum name protojson prints (`SYNCED`, …); `None` for the zero value it leaves out.
    pub fn proto_name(self) -> Option<&'static str> {
        match self {
            ConfigStatus::Synced => Some("SYNCED"),
            ConfigStatus::NotSent => Some("NOT_SENT"),
            ConfigStatus::Stale => Some("STALE"),
            ConfigStatus::Error => Some("ERROR"),
            ConfigStatus::Ignored => None,
        }
    }
}

/// One type of one proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSync {
    pub type_url: String,
    pub status: ConfigStatus,
    /// When the control plane last sent this type.
    pub last_updated: Option<SystemTime>,
    /// The proxy's reason for its last NACK.
    pub error: Option<String>,
}

/// One connected proxy, as one control plane sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySync {
    /// `<pod>.<namespace>`.
    pub id: String,
    /// Node metadata `CLUSTER_ID`.
    pub cluster_id: String,
    /// Node metadata `NAMESPACE`.
    pub namespace: String,
    /// Node metadata `ISTIO_VERSION`.
    pub istio_version: String,
    /// Sorted by type URL.
    pub types: Vec<TypeSync>,
}

impl ProxySync {
    /// The types the proxy watches (any status but IGNORED), in istioctl's order: CDS, LDS, EDS,
    /// RDS, then the others by type URL.
    pub fn subscribed(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let watched = |url: &str| {
            self.types
                .iter()
                .any(|t| t.type_url == url && t.status != ConfigStatus::Ignored)
        };
        for url in &REPORTED_TYPES[..4] {
            if watched(url) {
                out.push(url);
            }
        }
        for t in &self.types {
            if !REPORTED_TYPES[..4].contains(&t.type_url.as_str())
                && t.status != ConfigStatus::Ignored
            {
                out.push(&t.type_url);
            }
        }
        out
    }

    pub fn get(&self, type_url: &str) -> Option<&TypeSync> {
        self.types.iter().find(|t| t.type_url == type_url)
    }
}

/// What one control plane answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlPlaneSync {
    /// The ISTIOD column: the control plane's pod name.
    pub name: String,
    /// istiod's `control_plane.identifier` JSON.
    pub identifier: String,
    pub version_info: String,
    pub nonce: String,
    pub proxies: Vec<ProxySync>,
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("could not unmarshal ClientConfig: {0}")]
    ClientConfig(prost::DecodeError),
    #[error("expected a {TYPE_SYNCZ} response, got type {0:?}")]
    WrongType(String),
    #[error("/debug/syncz did not return a JSON array of proxies")]
    NotSyncz,
}

/// The `ID` of istiod's identifier JSON (`{"Component":"istiod","ID":"istiod-…",…}`).
pub fn identifier_id(identifier: &str) -> Option<String> {
    let v: Value = serde_json::from_str(identifier).ok()?;
    v.get("ID")?.as_str().map(str::to_string)
}

fn system_time(t: &Timestamp) -> Option<SystemTime> {
    let secs = u64::try_from(t.seconds).ok()?;
    let nanos = u32::try_from(t.nanos).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
}

/// An `istio.io/debug/syncz` response; `fallback_name` names the control plane when its
/// identifier does not.
pub fn from_response(
    response: &DiscoveryResponse,
    fallback_name: &str,
) -> Result<ControlPlaneSync, SyncError> {
    if response.type_url != TYPE_SYNCZ {
        return Err(SyncError::WrongType(response.type_url.clone()));
    }
    let identifier = response
        .control_plane
        .as_ref()
        .map(|c| c.identifier.clone())
        .unwrap_or_default();
    let mut proxies = Vec::new();
    for any in &response.resources {
        if any.type_url != ClientConfig::type_url() {
            continue;
        }
        let config = ClientConfig::decode(any.value.as_slice()).map_err(SyncError::ClientConfig)?;
        proxies.push(from_client_config(&config));
    }
    Ok(ControlPlaneSync {
        name: identifier_id(&identifier).unwrap_or_else(|| fallback_name.to_string()),
        identifier,
        version_info: response.version_info.clone(),
        nonce: response.nonce.clone(),
        proxies,
    })
}

fn from_client_config(config: &ClientConfig) -> ProxySync {
    let node = config.node.clone().unwrap_or_default();
    let metadata = node
        .metadata
        .as_ref()
        .map(struct_to_json)
        .unwrap_or_default();
    let md = |k: &str| {
        metadata
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut types: Vec<TypeSync> = config
        .generic_xds_configs
        .iter()
        .map(|g| TypeSync {
            type_url: g.type_url.clone(),
            status: ConfigStatus::from_proto(g.config_status),
            last_updated: g.last_updated.as_ref().and_then(system_time),
            error: g
                .error_state
                .as_ref()
                .map(|e| e.details.clone())
                .filter(|d| !d.is_empty()),
        })
        .collect();
    types.sort_by(|a, b| a.type_url.cmp(&b.type_url));
    ProxySync {
        id: node.id,
        cluster_id: md("CLUSTER_ID"),
        namespace: md("NAMESPACE"),
        istio_version: md("ISTIO_VERSION"),
        types,
    }
}

/// istiod's `GET /debug/syncz` JSON (an array of `SyncStatus`), from the control plane `name`.
/// Per type, `resources` has the nonces, the send time and our `lastError`; an istiod without
/// `resources` is read from its `cluster_sent`/`cluster_acked`-style fields.
pub fn from_syncz(name: &str, syncz: &Value) -> Result<ControlPlaneSync, SyncError> {
    let entries = syncz.as_array().ok_or(SyncError::NotSyncz)?;
    let proxies = entries.iter().map(proxy_of_syncz).collect();
    Ok(ControlPlaneSync {
        name: name.to_string(),
        identifier: serde_json::json!({"Component": "istiod", "ID": name}).to_string(),
        version_info: String::new(),
        nonce: String::new(),
        proxies,
    })
}

fn proxy_of_syncz(entry: &Value) -> ProxySync {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let id = s(entry, "proxy");
    let mut types: Vec<TypeSync> = REPORTED_TYPES
        .iter()
        .map(|url| TypeSync {
            type_url: (*url).to_string(),
            status: ConfigStatus::Ignored,
            last_updated: None,
            error: None,
        })
        .collect();
    let mut set = |t: TypeSync| match types.iter_mut().find(|x| x.type_url == t.type_url) {
        Some(slot) => *slot = t,
        None => types.push(t),
    };
    match entry.get("resources").and_then(Value::as_object) {
        Some(resources) => {
            for (url, r) in resources {
                let error = s(r, "lastError");
                let sent_time = s(r, "sentTime");
                set(TypeSync {
                    type_url: url.clone(),
                    status: ConfigStatus::from_nonces(&s(r, "sent"), &s(r, "acked"), &error),
                    last_updated: parse_time(&sent_time),
                    error: (!error.is_empty()).then_some(error),
                });
            }
        }
        None => {
            for (prefix, url) in [
                ("cluster", CLUSTER),
                ("listener", LISTENER),
                ("route", ROUTE_CONFIGURATION),
                ("endpoint", CLUSTER_LOAD_ASSIGNMENT),
                ("extensionconfig", EXTENSION_CONFIG),
            ] {
                let sent = s(entry, &format!("{prefix}_sent"));
                let acked = s(entry, &format!("{prefix}_acked"));
                if sent.is_empty() && acked.is_empty() {
                    continue;
                }
                set(TypeSync {
                    type_url: url.to_string(),
                    status: ConfigStatus::from_nonces(&sent, &acked, ""),
                    last_updated: None,
                    error: None,
                });
            }
        }
    }
    types.sort_by(|a, b| a.type_url.cmp(&b.type_url));
    // istiod's proxy id is `<pod>.<namespace>`, the namespace being the node's.
    let namespace = id
        .rsplit_once('.')
        .map(|(_, ns)| ns.to_string())
        .unwrap_or_default();
    ProxySync {
        cluster_id: s(entry, "cluster_id"),
        istio_version: s(entry, "istio_version"),
        namespace,
        id,
        types,
    }
}

/// An RFC 3339 time; Go's zero time (`0001-01-01T00:00:00Z`, "never") is `None`.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let ts: k8s_openapi::jiff::Timestamp = text.parse().ok()?;
    let d = ts.as_duration();
    if d.is_negative() {
        return None;
    }
    let d = std::time::Duration::try_from(d).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xds::debug;
    use crate::xds::node::NodeInfo;
    use crate::xds::status::{Acked, Nack, Sent, StatusRegistry, TypeStatus};
    use crate::xds::types::TypeUrl;
    use envoy_types::pb::envoy::config::core::v3::Node;
    use std::time::Duration;

    fn registry() -> StatusRegistry {
        let reg = StatusRegistry::new();
        let node = |id: &str| {
            let md = serde_json::json!({"CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.24.0"});
            NodeInfo::parse(&Node {
                id: id.into(),
                metadata: Some(crate::xds::node::json_to_struct(
                    md.as_object().expect("object"),
                )),
                ..Default::default()
            })
            .expect("node")
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let sent = |n: &str| {
            Some(Sent {
                version: "v".into(),
                nonce: n.into(),
                at,
            })
        };
        let acked = |n: &str| {
            Some(Acked {
                version: "v".into(),
                nonce: n.into(),
            })
        };
        let r = reg.register(
            1,
            node("sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local"),
            None,
        );
        r.set_type(
            TypeUrl::Cluster,
            &TypeStatus {
                sent: sent("a"),
                acked: acked("a"),
                ..Default::default()
            },
        );
        r.set_type(
            TypeUrl::Listener,
            &TypeStatus {
                sent: sent("b"),
                acked: acked("a"),
                last_nack: Some(Nack {
                    version: "v".into(),
                    nonce: "b".into(),
                    message: "cannot bind".into(),
                    at,
                }),
                ..Default::default()
            },
        );
        r.set_type(
            TypeUrl::RouteConfiguration,
            &TypeStatus {
                sent: sent("c"),
                ..Default::default()
            },
        );
        r.set_type(TypeUrl::ClusterLoadAssignment, &TypeStatus::default());
        std::mem::forget(r);
        reg
    }

    /// The ADS answer and the HTTP JSON of one registry read the same.
    #[test]
    fn both_shapes_agree() {
        let reg = registry();
        let response = DiscoveryResponse {
            type_url: TYPE_SYNCZ.into(),
            resources: debug::syncz_resources(&reg),
            control_plane: Some(envoy_types::pb::envoy::config::core::v3::ControlPlane {
                identifier: r#"{"Component":"istiod","ID":"istiod-canary"}"#.into(),
            }),
            ..Default::default()
        };
        let ads = from_response(&response, "fallback").expect("decodes");
        assert_eq!(ads.name, "istiod-canary");
        let http = from_syncz("istiod-canary", &reg.syncz()).expect("reads");
        assert_eq!(ads.proxies, http.proxies);
        let p = &ads.proxies[0];
        assert_eq!(p.id, "reviews-v1.default");
        assert_eq!(p.namespace, "default");
        assert_eq!(p.cluster_id, "Kubernetes");
        let status = |url| p.get(url).map(|t| t.status);
        assert_eq!(status(CLUSTER), Some(ConfigStatus::Synced));
        assert_eq!(status(LISTENER), Some(ConfigStatus::Error));
        assert_eq!(status(ROUTE_CONFIGURATION), Some(ConfigStatus::Stale));
        assert_eq!(status(CLUSTER_LOAD_ASSIGNMENT), Some(ConfigStatus::NotSent));
        assert_eq!(status(EXTENSION_CONFIG), Some(ConfigStatus::Ignored));
        assert_eq!(
            p.get(LISTENER).and_then(|t| t.error.as_deref()),
            Some("cannot bind")
        );
        assert_eq!(
            p.get(CLUSTER).and_then(|t| t.last_updated),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            p.subscribed(),
            vec![
                CLUSTER,
                LISTENER,
                CLUSTER_LOAD_ASSIGNMENT,
                ROUTE_CONFIGURATION
            ]
        );
    }

    #[test]
    fn status_rules_follow_istiod() {
        use ConfigStatus::*;
        assert_eq!(ConfigStatus::from_nonces("", "", ""), NotSent);
        assert_eq!(ConfigStatus::from_nonces("a", "", ""), Stale);
        assert_eq!(ConfigStatus::from_nonces("b", "a", ""), Stale);
        assert_eq!(ConfigStatus::from_nonces("b", "b", ""), Synced);
        assert_eq!(ConfigStatus::from_nonces("b", "b", "rejected"), Error);
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
    }

    #[test]
    fn legacy_syncz_fields_are_read() {
        let syncz = serde_json::json!([
            {"proxy": "a.ns", "cluster_sent": "1", "cluster_acked": "1", "listener_sent": "2"}
        ]);
        let cp = from_syncz("istiod", &syncz).expect("reads");
        let p = &cp.proxies[0];
        assert_eq!(p.get(CLUSTER).map(|t| t.status), Some(ConfigStatus::Synced));
        assert_eq!(p.get(LISTENER).map(|t| t.status), Some(ConfigStatus::Stale));
        assert_eq!(p.subscribed(), vec![CLUSTER, LISTENER]);
        assert!(from_syncz("istiod", &serde_json::json!({})).is_err());
    }
}
