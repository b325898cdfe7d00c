//! The `istio` filter metadata Istio attaches to clusters and routes (`AddConfigInfoMetadata`,
//! `AddSubsetToMetadata`, `addTelemetryMetadata`, `addNetworkingMetadata`): the config object a
//! resource came from, the services a cluster serves, its default port and subset. `istioctl
//! proxy-config` reads `config` for its DESTINATION RULE and VIRTUAL SERVICE columns, and
//! telemetry reads `services`.

use std::collections::{BTreeMap, HashMap};

use envoy_types::pb::envoy::config::core::v3::Metadata;
use envoy_types::pb::google::protobuf::{ListValue, Struct, Value, value};

use super::names::{ConfigKind, ISTIO_METADATA_KEY, config_path};
use crate::discovery::registry::Service;

pub fn string(s: &str) -> Value {
    Value {
        kind: Some(value::Kind::StringValue(s.to_string())),
    }
}

pub fn number(n: f64) -> Value {
    Value {
        kind: Some(value::Kind::NumberValue(n)),
    }
}

pub fn boolean(b: bool) -> Value {
    Value {
        kind: Some(value::Kind::BoolValue(b)),
    }
}

pub fn list(values: Vec<Value>) -> Value {
    Value {
        kind: Some(value::Kind::ListValue(ListValue { values })),
    }
}

pub fn structure(fields: BTreeMap<&str, Value>) -> Struct {
    Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<HashMap<_, _>>(),
    }
}

/// Builder for the `istio` metadata struct.
#[derive(Debug, Default)]
pub struct IstioMetadata {
    fields: BTreeMap<&'static str, Value>,
}

impl IstioMetadata {
    pub fn new() -> IstioMetadata {
        IstioMetadata::default()
    }

    /// `config`: the path of the object the resource was built from.
    pub fn config(mut self, kind: ConfigKind, namespace: &str, name: &str) -> Self {
        self.fields
            .insert("config", string(&config_path(kind, namespace, name)));
        self
    }

    /// `services`: `[{host, name, namespace}]`.
    pub fn services<'a>(mut self, services: impl IntoIterator<Item = &'a Service>) -> Self {
        let values = services
            .into_iter()
            .map(|s| Value {
                kind: Some(value::Kind::StructValue(structure(BTreeMap::from([
                    ("host", string(&s.hostname)),
                    ("name", string(&s.name)),
                    ("namespace", string(&s.namespace)),
                ])))),
            })
            .collect();
        self.fields.insert("services", list(values));
        self
    }

    /// `default_original_port`: the service port the cluster is for.
    pub fn default_original_port(mut self, port: u32) -> Self {
        self.fields
            .insert("default_original_port", number(f64::from(port)));
        self
    }

    pub fn subset(mut self, subset: &str) -> Self {
        self.fields.insert("subset", string(subset));
        self
    }

    /// `external`: the service is outside the mesh.
    pub fn external(mut self) -> Self {
        self.fields.insert("external", boolean(true));
        self
    }

    pub fn into_metadata(self) -> Option<Metadata> {
        if self.fields.is_empty() {
            return None;
        }
        Some(Metadata {
            filter_metadata: HashMap::from([(
                ISTIO_METADATA_KEY.to_string(),
                structure(self.fields),
            )]),
            ..Default::default()
        })
    }
}

/// The `istio.config` string of a resource's metadata, if any (tests and debugging).
pub fn config_of(metadata: Option<&Metadata>) -> Option<&str> {
    let field = metadata?
        .filter_metadata
        .get(ISTIO_METADATA_KEY)?
        .fields
        .get("config")?;
    match &field.kind {
        Some(value::Kind::StringValue(s)) => Some(s),
        _ => None,
    }
}
