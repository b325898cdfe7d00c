//! The control plane's view of its connected proxies: per proxy and type, what was sent, what was
//! acknowledged, and the last rejection. This is what istiod's `/debug/syncz` serves and what
//! `proxy-status` turns into SYNCED / STALE / NOT SENT / ERROR.
//!
//! The server owns the protocol state of each stream and mirrors it here after every change; the
//! registry is only read by debug endpoints, so a plain mutex around a map is enough.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::node::NodeInfo;
use super::types::TypeUrl;

/// The last response of one type sent on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub version: String,
    pub nonce: String,
    pub at: SystemTime,
}

/// The last response of one type the proxy accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub version: String,
    pub nonce: String,
}

/// The last response of one type the proxy rejected (a NACK): the rejected version, and the
/// proxy's `error_detail` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    pub version: String,
    pub nonce: String,
    pub message: String,
    pub at: SystemTime,
}

/// One watched type on one stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeStatus {
    /// The names the proxy subscribed to; empty with `wildcard` for "all" (LDS/CDS).
    pub resource_names: BTreeSet<String>,
    pub wildcard: bool,
    pub sent: Option<Sent>,
    pub acked: Option<Acked>,
    /// The last NACK, cleared by the next ACK (as istiod clears `LastError`).
    pub last_nack: Option<Nack>,
}

impl TypeStatus {
    /// istiod's status per type (`debugSyncStatus`, plus ERROR for a standing NACK).
    pub fn sync_state(&self) -> SyncState {
        match (&self.sent, &self.acked, &self.last_nack) {
            (_, _, Some(_)) => SyncState::Error,
            (None, _, None) => SyncState::NotSent,
            (Some(sent), Some(acked), None) if sent.nonce == acked.nonce => SyncState::Synced,
            _ => SyncState::Stale,
        }
    }
}

/// What `proxy-status` prints for a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    Synced,
    NotSent,
    Stale,
    Error,
}

/// One connected stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyStatus {
    /// Unique per connection: `<proxy id>-<n>`, as istiod names connections.
    pub connection_id: String,
    pub node: NodeInfo,
    pub peer: Option<SocketAddr>,
    pub connected_at: SystemTime,
    /// The newest change generation this stream has acted on (pushed, or found unchanged).
    pub generation: u64,
    pub types: BTreeMap<TypeUrl, TypeStatus>,
}

/// The shared registry of connected proxies. Clones share one registry.
#[derive(Debug, Clone, Default)]
pub struct StatusRegistry {
    inner: Arc<Mutex<BTreeMap<u64, ProxyStatus>>>,
}

impl StatusRegistry {
    pub fn new() -> StatusRegistry {
        StatusRegistry::default()
    }

    /// A poisoned lock only means a panic elsewhere while holding it; the map is still a valid
    /// debug view, so keep serving it rather than cascading the panic.
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, ProxyStatus>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every connected stream, ordered by proxy id, then connection.
    pub fn proxies(&self) -> Vec<ProxyStatus> {
        let mut all: Vec<ProxyStatus> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| {
            (
                a.node.proxy_id.as_str(),
                a.connected_at,
                a.connection_id.as_str(),
            )
                .cmp(&(
                    b.node.proxy_id.as_str(),
                    b.connected_at,
                    b.connection_id.as_str(),
                ))
        });
        all
    }

    /// The newest stream of one proxy (`<pod>.<namespace>`), if connected.
    pub fn proxy(&self, proxy_id: &str) -> Option<ProxyStatus> {
        self.proxies()
            .into_iter()
            .rev()
            .find(|p| p.node.proxy_id == proxy_id)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// istiod's `/debug/syncz`: a JSON array with one object per connected proxy.
    pub fn syncz(&self) -> Value {
        self.syncz_in_namespace(None)
    }

    /// `/debug/syncz?namespace=<ns>`: only proxies of that namespace.
    ///
    /// The shape is istiod's `SyncStatus` (`pilot/pkg/xds/debug.go`): `*_sent`/`*_acked` are
    /// nonces (SYNCED when equal), empty fields are omitted as Go's `omitempty` does, and
    /// `resources` is keyed by type URL with `sentTime` always present (Go's zero time when
    /// nothing was sent yet).
    pub fn syncz_in_namespace(&self, namespace: Option<&str>) -> Value {
        let entries = self
            .proxies()
            .iter()
            .filter(|p| namespace.is_none_or(|ns| p.node.namespace == ns))
            .map(sync_status)
            .collect();
        Value::Array(entries)
    }

    pub(crate) fn register(
        &self,
        key: u64,
        node: NodeInfo,
        peer: Option<SocketAddr>,
    ) -> Registration {
        let status = ProxyStatus {
            connection_id: format!("{}-{key}", node.proxy_id),
            node,
            peer,
            connected_at: SystemTime::now(),
            generation: 0,
            types: BTreeMap::new(),
        };
        self.lock().insert(key, status);
        Registration {
            registry: self.clone(),
            key,
        }
    }
}

/// A stream's entry in the registry; dropping it (however the stream ends) removes the entry.
#[derive(Debug)]
pub(crate) struct Registration {
    registry: StatusRegistry,
    key: u64,
}

impl Registration {
    pub(crate) fn connection_id(&self) -> String {
        self.registry
            .lock()
            .get(&self.key)
            .map(|p| p.connection_id.clone())
            .unwrap_or_default()
    }

    pub(crate) fn set_type(&self, type_url: TypeUrl, status: &TypeStatus) {
        if let Some(p) = self.registry.lock().get_mut(&self.key) {
            p.types.insert(type_url, status.clone());
        }
    }

    pub(crate) fn remove_type(&self, type_url: TypeUrl) {
        if let Some(p) = self.registry.lock().get_mut(&self.key) {
            p.types.remove(&type_url);
        }
    }

    pub(crate) fn set_generation(&self, generation: u64) {
        if let Some(p) = self.registry.lock().get_mut(&self.key) {
            p.generation = generation;
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.key);
    }
}

/// Go's `time.Time` JSON form (RFC 3339 with as many fractional digits as needed, UTC).
fn go_time(t: Option<SystemTime>) -> String {
    t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| {
            let secs = i64::try_from(d.as_secs()).ok()?;
            // subsec_nanos() < 10^9, so it fits.
            let nanos = d.subsec_nanos() as i32;
            k8s_openapi::jiff::Timestamp::new(secs, nanos).ok()
        })
        .map(|ts| ts.to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string())
}

fn sync_status(p: &ProxyStatus) -> Value {
    let mut out = Map::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            out.insert(key.to_string(), Value::String(value.to_string()));
        }
    };
    let nonce_sent = |t| {
        p.types
            .get(&t)
            .and_then(|s| s.sent.as_ref())
            .map_or("", |s| s.nonce.as_str())
    };
    let nonce_acked = |t| {
        p.types
            .get(&t)
            .and_then(|s| s.acked.as_ref())
            .map_or("", |a| a.nonce.as_str())
    };
    put("cluster_id", p.node.cluster_id());
    put("proxy", &p.node.proxy_id);
    put("proxy_type", p.node.role.as_str());
    // istiod never fills proxy_version either; the field exists only in its struct.
    put("istio_version", p.node.istio_version());
    for (prefix, t) in [
        ("cluster", TypeUrl::Cluster),
        ("listener", TypeUrl::Listener),
        ("route", TypeUrl::RouteConfiguration),
        ("endpoint", TypeUrl::ClusterLoadAssignment),
    ] {
        put(&format!("{prefix}_sent"), nonce_sent(t));
        put(&format!("{prefix}_acked"), nonce_acked(t));
    }
    // Go marshals map keys sorted; our BTreeMap is keyed by enum order, so sort by URL.
    let mut resources: Vec<(&TypeUrl, &TypeStatus)> = p.types.iter().collect();
    resources.sort_by_key(|(t, _)| t.as_str());
    if !resources.is_empty() {
        let mut map = Map::new();
        for (t, s) in resources {
            let mut r = Map::new();
            if let Some(sent) = &s.sent {
                r.insert("sent".into(), json!(sent.nonce));
            }
            if let Some(acked) = &s.acked {
                r.insert("acked".into(), json!(acked.nonce));
            }
            r.insert(
                "sentTime".into(),
                json!(go_time(s.sent.as_ref().map(|s| s.at))),
            );
            if let Some(nack) = &s.last_nack {
                r.insert("lastError".into(), json!(nack.message));
            }
            map.insert(t.as_str().to_string(), Value::Object(r));
        }
        out.insert("resources".into(), Value::Object(map));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::core::v3::Node;
    use std::time::Duration;

    fn node(id: &str, md: Value) -> NodeInfo {
        let Value::Object(md) = md else {
            panic!("metadata must be an object")
        };
        NodeInfo::parse(&Node {
            id: id.into(),
            metadata: Some(super::super::node::json_to_struct(&md)),
            ..Default::default()
        })
        .expect("valid node")
    }

    #[test]
    fn syncz_has_istiods_shape() {
        let reg = StatusRegistry::new();
        let r = reg.register(
            1,
            node(
                "sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local",
                json!({"CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.24.0"}),
            ),
            None,
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        r.set_type(
            TypeUrl::Cluster,
            &TypeStatus {
                wildcard: true,
                sent: Some(Sent {
                    version: "v2".into(),
                    nonce: "n2".into(),
                    at,
                }),
                acked: Some(Acked {
                    version: "v1".into(),
                    nonce: "n1".into(),
                }),
                last_nack: Some(Nack {
                    version: "v2".into(),
                    nonce: "n2".into(),
                    message: "bad cluster".into(),
                    at,
                }),
                ..Default::default()
            },
        );
        r.set_type(TypeUrl::Listener, &TypeStatus::default());
        let _gw = reg.register(
            2,
            node(
                "router~10.0.0.2~gw-1.istio-system~istio-system.svc.cluster.local",
                json!({}),
            ),
            None,
        );
        assert_eq!(
            reg.syncz(),
            json!([
                {
                    "proxy": "gw-1.istio-system",
                    "proxy_type": "router",
                },
                {
                    "cluster_id": "Kubernetes",
                    "proxy": "reviews-v1.default",
                    "proxy_type": "sidecar",
                    "istio_version": "1.24.0",
                    "cluster_sent": "n2",
                    "cluster_acked": "n1",
                    "resources": {
                        "type.googleapis.com/envoy.config.cluster.v3.Cluster": {
                            "sent": "n2",
                            "acked": "n1",
                            "sentTime": "2023-11-14T22:13:20.5Z",
                            "lastError": "bad cluster",
                        },
                        "type.googleapis.com/envoy.config.listener.v3.Listener": {
                            "sentTime": "0001-01-01T00:00:00Z",
                        },
                    },
                },
            ])
        );
        // Key order matters to people diffing against istiod: Go prints struct field order.
        let text = serde_json::to_string(&reg.syncz()).unwrap();
        assert!(text.find("\"cluster_id\"") < text.find("\"proxy\":\"reviews"));
        assert_eq!(
            reg.syncz_in_namespace(Some("istio-system"))
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        drop(r);
        assert_eq!(reg.len(), 1, "dropping the registration removes the proxy");
    }

    #[test]
    fn sync_state_matches_istioctl() {
        let sent = |n: &str| {
            Some(Sent {
                version: "v".into(),
                nonce: n.into(),
                at: SystemTime::UNIX_EPOCH,
            })
        };
        let acked = |n: &str| {
            Some(Acked {
                version: "v".into(),
                nonce: n.into(),
            })
        };
        let s = |sent, acked| TypeStatus {
            sent,
            acked,
            ..Default::default()
        };
        assert_eq!(s(None, None).sync_state(), SyncState::NotSent);
        assert_eq!(s(sent("a"), None).sync_state(), SyncState::Stale);
        assert_eq!(s(sent("b"), acked("a")).sync_state(), SyncState::Stale);
        assert_eq!(s(sent("b"), acked("b")).sync_state(), SyncState::Synced);
    }
}
