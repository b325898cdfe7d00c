//! `proxy-status -o json|yaml`: for each control plane, istiod's `istio.io/debug/syncz`
//! `DiscoveryResponse` in protojson (lowerCamelCase names, proto field order, enums by name,
//! timestamps in RFC 3339, zero values left out), printed one after another as istioctl does.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::sync::{ControlPlaneSync, ProxySync};
use crate::xds::debug::TYPE_SYNCZ;

const CLIENT_CONFIG: &str = "type.googleapis.com/envoy.service.status.v3.ClientConfig";

/// protojson's `google.protobuf.Timestamp`: UTC, with 0, 3, 6 or 9 fractional digits.
pub fn proto_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let base = k8s_openapi::jiff::Timestamp::from_second(secs)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_string());
    let nanos = d.subsec_nanos();
    let fraction = if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    };
    format!("{base}{fraction}Z")
}

fn client_config(p: &ProxySync) -> Value {
    let mut metadata = Map::new();
    for (k, v) in [
        ("CLUSTER_ID", &p.cluster_id),
        ("ISTIO_VERSION", &p.istio_version),
        ("NAMESPACE", &p.namespace),
    ] {
        if !v.is_empty() {
            metadata.insert(k.into(), Value::String(v.clone()));
        }
    }
    let mut node = Map::new();
    node.insert("id".into(), Value::String(p.id.clone()));
    if !metadata.is_empty() {
        node.insert("metadata".into(), Value::Object(metadata));
    }
    let configs: Vec<Value> = p
        .types
        .iter()
        .map(|t| {
            let mut c = Map::new();
            c.insert("typeUrl".into(), Value::String(t.type_url.clone()));
            if let Some(at) = t.last_updated {
                c.insert("lastUpdated".into(), Value::String(proto_timestamp(at)));
            }
            if let Some(name) = t.status.proto_name() {
                c.insert("configStatus".into(), Value::String(name.into()));
            }
            if let Some(details) = &t.error {
                c.insert("errorState".into(), json!({"details": details}));
            }
            Value::Object(c)
        })
        .collect();
    let mut out = Map::new();
    out.insert("@type".into(), Value::String(CLIENT_CONFIG.into()));
    out.insert("node".into(), Value::Object(node));
    if !configs.is_empty() {
        out.insert("genericXdsConfigs".into(), Value::Array(configs));
    }
    Value::Object(out)
}

/// One control plane's answer as protojson.
pub fn discovery_response(cp: &ControlPlaneSync) -> Value {
    let mut out = Map::new();
    if !cp.version_info.is_empty() {
        out.insert("versionInfo".into(), Value::String(cp.version_info.clone()));
    }
    if !cp.proxies.is_empty() {
        out.insert(
            "resources".into(),
            Value::Array(cp.proxies.iter().map(client_config).collect()),
        );
    }
    out.insert("typeUrl".into(), Value::String(TYPE_SYNCZ.into()));
    if !cp.nonce.is_empty() {
        out.insert("nonce".into(), Value::String(cp.nonce.clone()));
    }
    if !cp.identifier.is_empty() {
        out.insert("controlPlane".into(), json!({"identifier": cp.identifier}));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxystatus::sync::{ConfigStatus, TypeSync};
    use std::time::Duration;

    #[test]
    fn timestamps_are_protojson() {
        let t = |s, n| SystemTime::UNIX_EPOCH + Duration::new(s, n);
        assert_eq!(proto_timestamp(t(1_700_000_000, 0)), "2023-11-14T22:13:20Z");
        assert_eq!(
            proto_timestamp(t(1_700_000_000, 500_000_000)),
            "2023-11-14T22:13:20.500Z"
        );
        assert_eq!(
            proto_timestamp(t(1_700_000_000, 1_000)),
            "2023-11-14T22:13:20.000001Z"
        );
        assert_eq!(
            proto_timestamp(t(1_700_000_000, 7)),
            "2023-11-14T22:13:20.000000007Z"
        );
    }

    #[test]
    fn responses_have_istiods_shape() {
        let cp = ControlPlaneSync {
            name: "istiod".into(),
            identifier: r#"{"Component":"istiod","ID":"istiod"}"#.into(),
            version_info: String::new(),
            nonce: "n-1".into(),
            proxies: vec![ProxySync {
                id: "gw.istio-system".into(),
                cluster_id: "Kubernetes".into(),
                namespace: "istio-system".into(),
                istio_version: "1.24.0".into(),
                types: vec![
                    TypeSync {
                        type_url: "a".into(),
                        status: ConfigStatus::Error,
                        last_updated: Some(
                            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
                        ),
                        error: Some("bad".into()),
                    },
                    TypeSync {
                        type_url: "b".into(),
                        status: ConfigStatus::Ignored,
                        last_updated: None,
                        error: None,
                    },
                ],
            }],
        };
        assert_eq!(
            discovery_response(&cp),
            json!({
                "resources": [{
                    "@type": CLIENT_CONFIG,
                    "node": {
                        "id": "gw.istio-system",
                        "metadata": {"CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.24.0", "NAMESPACE": "istio-system"},
                    },
                    "genericXdsConfigs": [
                        {"typeUrl": "a", "lastUpdated": "2023-11-14T22:13:20Z", "configStatus": "ERROR", "errorState": {"details": "bad"}},
                        {"typeUrl": "b"},
                    ],
                }],
                "typeUrl": "istio.io/debug/syncz",
                "nonce": "n-1",
                "controlPlane": {"identifier": r#"{"Component":"istiod","ID":"istiod"}"#},
            })
        );
    }
}
