//! Mesh-wide settings analyzers consult (Istio's `MeshConfig`), from `--meshConfigFile` or the
//! `istio` ConfigMap in the inputs; Istio's defaults otherwise.

use serde::Deserialize;

use crate::config::yaml::{Limits, parse_stream};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MeshConfig {
    pub root_namespace: String,
    pub ingress_service: String,
    pub ingress_selector: String,
    pub extension_providers: Vec<ExtensionProvider>,
    pub default_providers: DefaultProviders,
    pub enable_auto_mtls: Option<bool>,
    pub trust_domain: String,
    /// Everything else, kept for analyzers that read rarer fields.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExtensionProvider {
    pub name: String,
    #[serde(flatten)]
    pub kind: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DefaultProviders {
    pub tracing: Vec<String>,
    pub metrics: Vec<String>,
    pub access_logging: Vec<String>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            root_namespace: "istio-system".to_string(),
            ingress_service: "istio-ingressgateway".to_string(),
            ingress_selector: "ingressgateway".to_string(),
            extension_providers: Vec::new(),
            default_providers: DefaultProviders::default(),
            enable_auto_mtls: None,
            trust_domain: "cluster.local".to_string(),
            rest: serde_json::Map::new(),
        }
    }
}

/// Why a mesh config could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MeshConfigError {
    #[error("{0}")]
    Yaml(String),
    #[error("invalid mesh config: {0}")]
    Invalid(String),
}

impl MeshConfig {
    /// Parses a MeshConfig YAML document, applying it over Istio's defaults.
    pub fn parse(text: &str) -> Result<MeshConfig, MeshConfigError> {
        let stream = parse_stream(text, Limits::default());
        if let Some(e) = stream.errors.first() {
            return Err(MeshConfigError::Yaml(e.to_string()));
        }
        let Some(doc) = stream.documents.first() else {
            return Ok(MeshConfig::default());
        };
        let mut json = doc.root.to_json();
        if json.is_null() {
            return Ok(MeshConfig::default());
        }
        // Defaults first, the document over them.
        let mut merged = serde_json::json!({
            "rootNamespace": "istio-system",
            "ingressService": "istio-ingressgateway",
            "ingressSelector": "ingressgateway",
            "trustDomain": "cluster.local",
        });
        if let (Some(base), Some(over)) = (merged.as_object_mut(), json.as_object_mut()) {
            for (k, v) in std::mem::take(over) {
                base.insert(k, v);
            }
        }
        serde_json::from_value(merged).map_err(|e| MeshConfigError::Invalid(e.to_string()))
    }

    pub fn provider_names(&self) -> impl Iterator<Item = &str> {
        self.extension_providers.iter().map(|p| p.name.as_str())
    }
}

/// The ConfigMap (in the Istio namespace) holding a control plane revision's mesh config:
/// `istio`, or `istio-<rev>` for a named revision.
pub fn configmap_name(revision: &str) -> String {
    match revision {
        "" | "default" => "istio".to_string(),
        rev => format!("istio-{rev}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_the_file_omits() {
        let m = MeshConfig::parse("extensionProviders:\n- name: otel\n  opentelemetry: {}\n")
            .expect("parses");
        assert_eq!(m.root_namespace, "istio-system");
        assert_eq!(m.provider_names().collect::<Vec<_>>(), vec!["otel"]);
    }
}
