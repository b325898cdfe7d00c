//! Who is on the other end of a stream: the Envoy `Node` a proxy sends first, parsed the way
//! istiod parses it (`pilot/pkg/model/context.go`, `ParseServiceNodeWithMetadata`).
//!
//! The node id is `<role>~<ip>~<pod>.<namespace>~<namespace>.svc.<cluster domain>`, for example
//! `sidecar~10.0.0.1~reviews-v1-abc.default~default.svc.cluster.local`.

use std::net::IpAddr;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::google::protobuf::{Struct, Value, value::Kind};

/// What kind of proxy connected (istio's `NodeType`, minus ztunnel which Ferry does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyRole {
    /// A sidecar next to a workload.
    Sidecar,
    /// A gateway (ingress or egress): istio calls these `router`.
    Router,
}

impl ProxyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyRole::Sidecar => "sidecar",
            ProxyRole::Router => "router",
        }
    }
}

impl std::fmt::Display for ProxyRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a node was refused. The message goes back to the proxy in the gRPC status, so it names
/// the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    #[error("missing node information: the first request on a stream must carry node.id")]
    Missing,
    #[error(
        "node id {id:?} is not <role>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain> (it has {parts} parts separated by '~', expected 4)"
    )]
    Parts { id: String, parts: usize },
    #[error("node id {id:?}: unknown proxy role {role:?} (expected sidecar or router)")]
    Role { id: String, role: String },
    #[error("node id {id:?}: {ip:?} is not an IP address")]
    Ip { id: String, ip: String },
    #[error("node id {id:?}: the proxy id (third part, <pod>.<namespace>) is empty")]
    EmptyProxyId { id: String },
}

/// A parsed node: the proxy's identity for config computation and status.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInfo {
    /// The node id exactly as sent.
    pub node_id: String,
    pub role: ProxyRole,
    pub ip: IpAddr,
    /// The proxy id, `<pod>.<namespace>`: what istiod and `proxy-status` call the proxy.
    pub proxy_id: String,
    pub pod: String,
    pub namespace: String,
    /// The DNS domain, `<namespace>.svc.cluster.local`.
    pub domain: String,
    /// The node metadata as JSON (`CLUSTER_ID`, `NAMESPACE`, `ISTIO_VERSION`, `LABELS`, …).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl NodeInfo {
    /// Parses a node sent by a proxy. Nothing in it is trusted: every part is checked, and
    /// metadata of any shape is accepted as JSON.
    pub fn parse(node: &Node) -> Result<NodeInfo, NodeError> {
        if node.id.is_empty() {
            return Err(NodeError::Missing);
        }
        let id = &node.id;
        let parts: Vec<&str> = id.split('~').collect();
        let [role, ip, proxy_id, domain] = parts[..] else {
            return Err(NodeError::Parts {
                id: id.clone(),
                parts: parts.len(),
            });
        };
        let role = match role {
            "sidecar" => ProxyRole::Sidecar,
            "router" => ProxyRole::Router,
            other => {
                return Err(NodeError::Role {
                    id: id.clone(),
                    role: other.to_string(),
                });
            }
        };
        let ip = ip.parse::<IpAddr>().map_err(|_| NodeError::Ip {
            id: id.clone(),
            ip: ip.to_string(),
        })?;
        if proxy_id.is_empty() {
            return Err(NodeError::EmptyProxyId { id: id.clone() });
        }
        let metadata = node
            .metadata
            .as_ref()
            .map(struct_to_json)
            .unwrap_or_default();
        // Pod names may contain dots, namespaces may not: the namespace is after the last one.
        let (pod, id_namespace) = proxy_id.rsplit_once('.').unwrap_or((proxy_id, ""));
        // istiod takes the namespace from metadata, then from the domain's first label; the
        // proxy id is our last resort for nodes that send neither.
        let namespace = match metadata.get("NAMESPACE") {
            Some(serde_json::Value::String(ns)) if !ns.is_empty() => ns.clone(),
            _ => match domain.split_once('.') {
                Some((ns, _)) if !ns.is_empty() => ns.to_string(),
                _ => id_namespace.to_string(),
            },
        };
        Ok(NodeInfo {
            node_id: id.clone(),
            role,
            ip,
            proxy_id: proxy_id.to_string(),
            pod: pod.to_string(),
            namespace,
            domain: domain.to_string(),
            metadata,
        })
    }

    /// A metadata value that is a string, or `""`.
    pub fn metadata_str(&self, key: &str) -> &str {
        match self.metadata.get(key) {
            Some(serde_json::Value::String(s)) => s,
            _ => "",
        }
    }

    /// `CLUSTER_ID` from the metadata (istio's cluster the proxy runs in).
    pub fn cluster_id(&self) -> &str {
        self.metadata_str("CLUSTER_ID")
    }

    /// `ISTIO_VERSION` from the metadata.
    pub fn istio_version(&self) -> &str {
        self.metadata_str("ISTIO_VERSION")
    }
}

/// A protobuf `Struct` as JSON. prost bounds message nesting when decoding, so the recursion here
/// is bounded by what arrived on the wire.
pub fn struct_to_json(s: &Struct) -> serde_json::Map<String, serde_json::Value> {
    // Sorted, so the same metadata always prints the same way.
    let mut entries: Vec<(&String, &Value)> = s.fields.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .into_iter()
        .map(|(k, v)| (k.clone(), value_to_json(v)))
        .collect()
}

fn value_to_json(v: &Value) -> serde_json::Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Some(Kind::StringValue(s)) => serde_json::Value::String(s.clone()),
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(*b),
        Some(Kind::StructValue(s)) => serde_json::Value::Object(struct_to_json(s)),
        Some(Kind::ListValue(l)) => {
            serde_json::Value::Array(l.values.iter().map(value_to_json).collect())
        }
    }
}

/// JSON as a protobuf `Struct`, for building the `Node` a proxy sends.
pub fn json_to_struct(map: &serde_json::Map<String, serde_json::Value>) -> Struct {
    Struct {
        fields: map
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

fn json_to_value(v: &serde_json::Value) -> Value {
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(a) => {
            Kind::ListValue(envoy_types::pb::google::protobuf::ListValue {
                values: a.iter().map(json_to_value).collect(),
            })
        }
        serde_json::Value::Object(o) => Kind::StructValue(json_to_struct(o)),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(id: &str, metadata: serde_json::Value) -> Node {
        let metadata = match metadata {
            serde_json::Value::Object(m) => Some(json_to_struct(&m)),
            _ => None,
        };
        Node {
            id: id.into(),
            metadata,
            ..Default::default()
        }
    }

    #[test]
    fn parses_sidecar_and_router_ids() {
        let n = NodeInfo::parse(&node(
            "sidecar~10.0.0.1~reviews-v1-abc.default~default.svc.cluster.local",
            json!({"CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.24.0", "LABELS": {"app": "reviews"}}),
        ))
        .unwrap();
        assert_eq!(n.role, ProxyRole::Sidecar);
        assert_eq!(n.ip, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(n.proxy_id, "reviews-v1-abc.default");
        assert_eq!(n.pod, "reviews-v1-abc");
        assert_eq!(n.namespace, "default");
        assert_eq!(n.domain, "default.svc.cluster.local");
        assert_eq!(n.cluster_id(), "Kubernetes");
        assert_eq!(n.istio_version(), "1.24.0");
        assert_eq!(n.metadata["LABELS"], json!({"app": "reviews"}));

        let g = NodeInfo::parse(&node(
            "router~fd00::7~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local",
            json!({"NAMESPACE": "istio-system"}),
        ))
        .unwrap();
        assert_eq!(g.role, ProxyRole::Router);
        assert!(g.ip.is_ipv6());
        assert_eq!(g.namespace, "istio-system");
        assert_eq!(g.cluster_id(), "");
    }

    #[test]
    fn namespace_prefers_metadata_then_domain_then_id() {
        let ns = |id: &str, md| NodeInfo::parse(&node(id, md)).unwrap().namespace;
        assert_eq!(
            ns(
                "sidecar~1.2.3.4~p.a~b.svc.cluster.local",
                json!({"NAMESPACE": "c"})
            ),
            "c"
        );
        assert_eq!(
            ns("sidecar~1.2.3.4~p.a~b.svc.cluster.local", json!(null)),
            "b"
        );
        assert_eq!(ns("sidecar~1.2.3.4~p.with.dots.a~", json!(null)), "a");
        let n = NodeInfo::parse(&node("sidecar~1.2.3.4~p.with.dots.a~", json!(null))).unwrap();
        assert_eq!(n.pod, "p.with.dots");
    }

    #[test]
    fn refuses_garbage_with_a_message_that_says_what_is_wrong() {
        let err = |id: &str| {
            NodeInfo::parse(&node(id, json!(null)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(""),
            "missing node information: the first request on a stream must carry node.id"
        );
        assert!(err("garbage").contains("it has 1 parts separated by '~', expected 4"));
        assert!(err("a~b~c~d~e").contains("expected 4"));
        assert!(err("waypoint~1.2.3.4~p.ns~ns.svc").contains("unknown proxy role \"waypoint\""));
        assert!(err("sidecar~10.0.0.300~p.ns~ns.svc").contains("\"10.0.0.300\" is not an IP"));
        assert!(err("sidecar~1.2.3.4~~ns.svc").contains("proxy id"));
        assert!(err("sidecar~\u{0}~\u{ffff}~").contains("is not an IP"));
    }

    #[test]
    fn metadata_round_trips_through_struct() {
        let md = json!({"a": [1.5, "x", true, null], "b": {"c": "d"}});
        let serde_json::Value::Object(map) = md.clone() else {
            unreachable!()
        };
        assert_eq!(
            serde_json::Value::Object(struct_to_json(&json_to_struct(&map))),
            md
        );
    }
}
