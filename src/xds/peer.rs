//! Workload identity as Istio's telemetry carries it between the control plane and proxies, so
//! `istio_requests_total` can say who called whom:
//!
//! - the control plane names each endpoint's workload in its EDS metadata,
//!   `filter_metadata.istio.workload = "<workload>;<namespace>;<canonical service>;<canonical
//!   revision>;<cluster>"` (istiod's `AppendLbEndpointMetadata`, read by istio/proxy's
//!   `convertEndpointMetadata`): a client proxy learns the destination workload from it;
//! - proxies exchange their own node metadata in HTTP headers (istio/proxy's metadata exchange
//!   for plaintext traffic): `x-envoy-peer-metadata-id` (the node id) and
//!   `x-envoy-peer-metadata` (base64 of a protobuf `Struct` with `NAME`, `NAMESPACE`,
//!   `WORKLOAD_NAME`, `CLUSTER_ID` and `LABELS`). The client sends its own on requests, the
//!   server answers with its own; each side strips what it reads.
//!
//! The canonical service and revision fall back as Istio's injector fills the
//! `service.istio.io/canonical-*` labels: from `app.kubernetes.io/*`, `app`/`version`, the
//! workload name, and `latest`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use envoy_types::pb::google::protobuf::{Struct, Value, value};
use prost::Message as _;

pub const CANONICAL_NAME_LABEL: &str = "service.istio.io/canonical-name";
pub const CANONICAL_REVISION_LABEL: &str = "service.istio.io/canonical-revision";
/// The request and response header carrying the peer's metadata.
pub const PEER_METADATA_HEADER: &str = "x-envoy-peer-metadata";
/// The request and response header carrying the peer's node id.
pub const PEER_METADATA_ID_HEADER: &str = "x-envoy-peer-metadata-id";
/// The key of the endpoint metadata string in the `istio` filter metadata.
pub const ENDPOINT_WORKLOAD_KEY: &str = "workload";

/// A workload as the standard metrics' `source_*` and `destination_*` labels describe it. Empty
/// fields are unknown (the metrics print `unknown`, or `latest` for the revision).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Workload {
    /// `WORKLOAD_NAME`: the Deployment (or other controller) the pod belongs to.
    pub name: String,
    pub namespace: String,
    pub canonical_service: String,
    pub canonical_revision: String,
    /// The `app` label.
    pub app: String,
    /// The `version` label.
    pub version: String,
    /// The cluster the workload runs in (`CLUSTER_ID`).
    pub cluster: String,
    /// The peer's SPIFFE identity, when a TLS handshake proved it.
    pub principal: String,
}

/// `service.istio.io/canonical-name`, else `app.kubernetes.io/name`, else `app`, else the
/// workload name (Istio's `labels.CanonicalService`).
pub fn canonical_service(labels: &BTreeMap<String, String>, workload: &str) -> String {
    [CANONICAL_NAME_LABEL, "app.kubernetes.io/name", "app"]
        .iter()
        .find_map(|k| labels.get(*k).filter(|v| !v.is_empty()))
        .map_or_else(|| workload.to_string(), Clone::clone)
}

/// `service.istio.io/canonical-revision`, else `app.kubernetes.io/version`, else `version`,
/// else `latest`.
pub fn canonical_revision(labels: &BTreeMap<String, String>) -> String {
    [
        CANONICAL_REVISION_LABEL,
        "app.kubernetes.io/version",
        "version",
    ]
    .iter()
    .find_map(|k| labels.get(*k).filter(|v| !v.is_empty()))
    .map_or_else(|| "latest".to_string(), Clone::clone)
}

impl Workload {
    /// The workload `name` in `namespace` and `cluster` with these pod labels.
    pub fn from_labels(
        name: &str,
        namespace: &str,
        cluster: &str,
        labels: &BTreeMap<String, String>,
    ) -> Workload {
        let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
        Workload {
            name: name.to_string(),
            namespace: namespace.to_string(),
            canonical_service: canonical_service(labels, name),
            canonical_revision: canonical_revision(labels),
            app: label("app"),
            version: label("version"),
            cluster: cluster.to_string(),
            principal: String::new(),
        }
    }

    /// The EDS metadata string. `;` cannot appear in any of its parts (they are Kubernetes
    /// names and label values), so the split on the other side is unambiguous.
    pub fn endpoint_metadata(&self) -> String {
        format!(
            "{};{};{};{};{}",
            self.name,
            self.namespace,
            self.canonical_service,
            self.canonical_revision,
            self.cluster
        )
    }

    /// Reads [`Workload::endpoint_metadata`]; `None` for fewer than five parts (as istio/proxy).
    /// The encoding has no `app` or `version`.
    pub fn from_endpoint_metadata(s: &str) -> Option<Workload> {
        let parts: Vec<&str> = s.split(';').collect();
        if parts.len() < 5 {
            return None;
        }
        Some(Workload {
            name: parts[0].to_string(),
            namespace: parts[1].to_string(),
            canonical_service: parts[2].to_string(),
            canonical_revision: parts[3].to_string(),
            cluster: parts[4].to_string(),
            ..Workload::default()
        })
    }

    /// The `x-envoy-peer-metadata` value of this workload's proxy, whose pod is `instance`.
    pub fn exchange_header(&self, instance: &str) -> String {
        let string = |s: &str| Value {
            kind: Some(value::Kind::StringValue(s.to_string())),
        };
        let mut labels = BTreeMap::new();
        for (k, v) in [
            (CANONICAL_NAME_LABEL, &self.canonical_service),
            (CANONICAL_REVISION_LABEL, &self.canonical_revision),
            ("app", &self.app),
            ("version", &self.version),
        ] {
            if !v.is_empty() {
                labels.insert(k.to_string(), string(v));
            }
        }
        let mut fields = BTreeMap::new();
        for (k, v) in [
            ("NAME", instance),
            ("NAMESPACE", self.namespace.as_str()),
            ("WORKLOAD_NAME", self.name.as_str()),
            ("CLUSTER_ID", self.cluster.as_str()),
        ] {
            if !v.is_empty() {
                fields.insert(k.to_string(), string(v));
            }
        }
        fields.insert(
            "LABELS".to_string(),
            Value {
                kind: Some(value::Kind::StructValue(Struct {
                    fields: labels.into_iter().collect(),
                })),
            },
        );
        let message = Struct {
            fields: fields.into_iter().collect(),
        };
        STANDARD.encode(message.encode_to_vec())
    }

    /// Reads an `x-envoy-peer-metadata` value; `None` when it is not base64 of a `Struct`.
    pub fn from_exchange_header(value: &[u8]) -> Option<Workload> {
        let bytes = STANDARD.decode(value).ok()?;
        let message = Struct::decode(bytes.as_slice()).ok()?;
        let text = |s: &Struct, k: &str| match s.fields.get(k).and_then(|v| v.kind.as_ref()) {
            Some(value::Kind::StringValue(v)) => v.clone(),
            _ => String::new(),
        };
        let labels = match message.fields.get("LABELS").and_then(|v| v.kind.as_ref()) {
            Some(value::Kind::StructValue(s)) => s.clone(),
            _ => Struct::default(),
        };
        Some(Workload {
            name: text(&message, "WORKLOAD_NAME"),
            namespace: text(&message, "NAMESPACE"),
            canonical_service: text(&labels, CANONICAL_NAME_LABEL),
            canonical_revision: text(&labels, CANONICAL_REVISION_LABEL),
            app: text(&labels, "app"),
            version: text(&labels, "version"),
            cluster: text(&message, "CLUSTER_ID"),
            principal: String::new(),
        })
    }
}

/// The workload a Kubernetes pod belongs to, from its name and labels: a Deployment's pods are
/// `<deployment>-<pod-template-hash>-<suffix>` (Istio reads the same from the owner references).
pub fn pod_workload_name(pod: &str, labels: &BTreeMap<String, String>) -> String {
    if let Some(hash) = labels.get("pod-template-hash").filter(|h| !h.is_empty())
        && let Some(at) = pod.rfind(&format!("-{hash}-"))
    {
        return pod[..at].to_string();
    }
    pod.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn canonical_labels_fall_back_as_istios_injector() {
        let l = labels(&[("app", "reviews"), ("version", "v2")]);
        assert_eq!(canonical_service(&l, "reviews-v2"), "reviews");
        assert_eq!(canonical_revision(&l), "v2");
        let l = labels(&[
            ("app", "reviews"),
            ("app.kubernetes.io/name", "rev"),
            (CANONICAL_NAME_LABEL, "canon"),
        ]);
        assert_eq!(canonical_service(&l, "w"), "canon");
        assert_eq!(canonical_service(&labels(&[]), "reviews-v2"), "reviews-v2");
        assert_eq!(canonical_revision(&labels(&[])), "latest");
    }

    #[test]
    fn endpoint_metadata_round_trips_without_app_and_version() {
        let w = Workload::from_labels(
            "reviews-v2",
            "default",
            "Kubernetes",
            &labels(&[("app", "reviews"), ("version", "v2")]),
        );
        let s = w.endpoint_metadata();
        assert_eq!(s, "reviews-v2;default;reviews;v2;Kubernetes");
        let back = Workload::from_endpoint_metadata(&s).expect("parses");
        assert_eq!(back.name, "reviews-v2");
        assert_eq!(back.canonical_revision, "v2");
        assert_eq!(back.cluster, "Kubernetes");
        assert_eq!(back.app, "");
        assert!(Workload::from_endpoint_metadata("a;b;c;d").is_none());
    }

    #[test]
    fn exchange_header_round_trips() {
        let w = Workload::from_labels(
            "productpage-v1",
            "default",
            "Kubernetes",
            &labels(&[("app", "productpage"), ("version", "v1")]),
        );
        let header = w.exchange_header("productpage-v1-abc");
        assert!(header.bytes().all(|b| b.is_ascii_graphic()), "{header}");
        let back = Workload::from_exchange_header(header.as_bytes()).expect("parses");
        assert_eq!(back, w);
        assert!(Workload::from_exchange_header(b"not base64!").is_none());
    }

    #[test]
    fn deployment_pods_name_their_deployment() {
        let l = labels(&[("pod-template-hash", "5d8f9c7b6")]);
        assert_eq!(
            pod_workload_name("reviews-v1-5d8f9c7b6-x2k9p", &l),
            "reviews-v1"
        );
        assert_eq!(pod_workload_name("standalone", &l), "standalone");
        assert_eq!(
            pod_workload_name("reviews-v1-abc", &labels(&[])),
            "reviews-v1-abc"
        );
    }
}
