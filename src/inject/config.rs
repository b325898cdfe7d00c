//! What the injector reads: the injector ConfigMap's `config` (policy, selectors and the proxy
//! container `manifest generate` renders) and `values` (the install values, as JSON), and the
//! few mesh config fields injection uses. The same three texts are `kube-inject`'s
//! `--injectConfigFile`, `--valuesFile` and `--meshConfigFile`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::capture::CaptureDefaults;
use super::proxy_config::ProxyConfig;
use crate::config::types::LabelSelector;
use crate::config::yaml::{Limits, parse_stream};

/// A config text that cannot be used; `what` names which one (`injection config`, `values`,
/// `mesh config`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{what}: {message}")]
    Parse { what: &'static str, message: String },
    #[error(
        "injection config: it holds Istio's Go `templates`, which Ferry does not run; use the \
         `config` key of the istio-sidecar-injector ConfigMap that `ferryctl manifest generate` \
         renders (its `sidecar.container` is the proxy container to add)"
    )]
    IstioTemplates,
    #[error(
        "injection config: no `sidecar.container`; use the `config` key of the \
         istio-sidecar-injector ConfigMap that `ferryctl manifest generate` renders"
    )]
    NoSidecar,
}

/// Istio's injection policy: whether a pod without an explicit choice is injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    Enabled,
    Disabled,
    /// Anything else: Istio logs it and injects nothing.
    Invalid(String),
}

/// The injector ConfigMap's `config`.
#[derive(Debug, Clone)]
pub struct InjectorConfig {
    pub policy: Policy,
    /// Pods whose labels match one of these are never injected (unless they say otherwise);
    /// checked before `always_inject_selector`.
    pub never_inject_selector: Vec<LabelSelector>,
    pub always_inject_selector: Vec<LabelSelector>,
    /// Added to every injected pod.
    pub injected_annotations: BTreeMap<String, String>,
    pub sidecar: Sidecar,
}

/// What is added to a pod: the proxy container, and the init containers and volumes the
/// install asks for (none by default: Ferry's proxy needs no iptables set up for it).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    pub container: Map<String, Value>,
    #[serde(default)]
    pub init_containers: Vec<Map<String, Value>>,
    #[serde(default)]
    pub volumes: Vec<Map<String, Value>>,
    /// `sidecarInjectorWebhook.rewriteAppHTTPProbe`: send the application's probes through the
    /// proxy's status port (Istio's default: on).
    #[serde(default, rename = "rewriteAppHTTPProbe")]
    pub rewrite_app_http_probe: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    never_inject_selector: Option<Vec<LabelSelector>>,
    #[serde(default)]
    always_inject_selector: Option<Vec<LabelSelector>>,
    #[serde(default)]
    injected_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    sidecar: Option<Sidecar>,
    #[serde(default)]
    templates: Option<Value>,
}

/// One YAML (or JSON) document as JSON; an empty text is `null`.
fn parse_document(what: &'static str, text: &str) -> Result<Value, ConfigError> {
    let stream = parse_stream(text, Limits::default());
    if let Some(e) = stream.errors.first() {
        return Err(ConfigError::Parse {
            what,
            message: e.to_string(),
        });
    }
    match stream.documents.as_slice() {
        [] => Ok(Value::Null),
        [one] => Ok(one.root.to_json()),
        _ => Err(ConfigError::Parse {
            what,
            message: "more than one YAML document".into(),
        }),
    }
}

fn typed<T: serde::de::DeserializeOwned>(what: &'static str, v: Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(v).map_err(|e| ConfigError::Parse {
        what,
        message: e.to_string(),
    })
}

impl InjectorConfig {
    /// Parses the `config` text.
    pub fn parse(text: &str) -> Result<InjectorConfig, ConfigError> {
        const WHAT: &str = "injection config";
        let doc = parse_document(WHAT, text)?;
        if !doc.is_object() {
            return Err(ConfigError::Parse {
                what: WHAT,
                message: "expected a mapping".into(),
            });
        }
        let raw: RawConfig = typed(WHAT, doc)?;
        let Some(sidecar) = raw.sidecar else {
            return Err(if raw.templates.is_some() {
                ConfigError::IstioTemplates
            } else {
                ConfigError::NoSidecar
            });
        };
        let policy = match raw.policy.as_deref() {
            Some("enabled") => Policy::Enabled,
            Some("disabled") => Policy::Disabled,
            Some(other) => Policy::Invalid(other.to_string()),
            // Istio's chart default.
            None => Policy::Enabled,
        };
        Ok(InjectorConfig {
            policy,
            never_inject_selector: raw.never_inject_selector.unwrap_or_default(),
            always_inject_selector: raw.always_inject_selector.unwrap_or_default(),
            injected_annotations: raw.injected_annotations.unwrap_or_default(),
            sidecar,
        })
    }
}

/// The install values the injector reads (the ConfigMap's `values`, Istio's JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// `revision`; empty for the default revision.
    pub revision: String,
    /// `global.proxy`'s traffic capture defaults.
    pub capture: CaptureDefaults,
}

impl Values {
    pub fn parse(text: &str) -> Result<Values, ConfigError> {
        const WHAT: &str = "values";
        let doc = parse_document(WHAT, text)?;
        let revision = match doc.get("revision") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(ConfigError::Parse {
                    what: WHAT,
                    message: format!("revision: expected a string, got {other}"),
                });
            }
        };
        Ok(Values {
            revision,
            capture: CaptureDefaults::from_values(&doc),
        })
    }
}

/// The mesh config fields injection uses.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshSettings {
    /// `defaultConfig`: every proxy's ProxyConfig, which a pod's `proxy.istio.io/config`
    /// annotation is merged over (its `proxyMetadata` is the proxy's environment).
    pub default_config: ProxyConfig,
    /// `enablePrometheusMerge` (Istio's default: on): point Prometheus at the proxy.
    pub prometheus_merge: bool,
}

impl Default for MeshSettings {
    fn default() -> Self {
        MeshSettings {
            default_config: ProxyConfig::default(),
            prometheus_merge: true,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMesh {
    #[serde(default)]
    default_config: Option<Map<String, Value>>,
    #[serde(default)]
    enable_prometheus_merge: Option<bool>,
}

impl MeshSettings {
    pub fn parse(text: &str) -> Result<MeshSettings, ConfigError> {
        const WHAT: &str = "mesh config";
        let doc = parse_document(WHAT, text)?;
        let raw: RawMesh = if doc.is_null() {
            RawMesh::default()
        } else {
            typed(WHAT, doc)?
        };
        let default_config = raw.default_config.unwrap_or_default();
        // proxyMetadata values become environment variables: strings only.
        if let Some(md) = default_config.get("proxyMetadata") {
            let _: BTreeMap<String, String> = serde_path_to_error::deserialize(md.clone())
                .map_err(|e| ConfigError::Parse {
                    what: WHAT,
                    message: format!("defaultConfig.proxyMetadata.{e}"),
                })?;
        }
        Ok(MeshSettings {
            default_config: ProxyConfig::from_map(default_config),
            prometheus_merge: raw.enable_prometheus_merge.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendered_config_parses() {
        let config = InjectorConfig::parse(
            "policy: disabled\nalwaysInjectSelector: []\nneverInjectSelector:\n- matchLabels: {job: batch}\n\
             injectedAnnotations: {a: b}\ndefaultTemplates: [sidecar]\n\
             sidecar:\n  container:\n    name: istio-proxy\n    image: ferry\n  rewriteAppHTTPProbe: true\n",
        )
        .expect("parses");
        assert_eq!(config.policy, Policy::Disabled);
        assert_eq!(config.never_inject_selector.len(), 1);
        assert_eq!(config.injected_annotations["a"], "b");
        assert_eq!(config.sidecar.container["image"], "ferry");
        assert!(config.sidecar.init_containers.is_empty());
    }

    #[test]
    fn istio_templates_are_refused_by_name() {
        let err = InjectorConfig::parse("policy: enabled\ntemplates:\n  sidecar: |\n    {{ x }}\n")
            .expect_err("Go templates");
        assert!(matches!(err, ConfigError::IstioTemplates), "{err}");
        let err = InjectorConfig::parse("policy: enabled\n").expect_err("no sidecar");
        assert!(matches!(err, ConfigError::NoSidecar), "{err}");
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        let err = InjectorConfig::parse("sidecar:\n  container: [1]\n").expect_err("bad type");
        assert!(err.to_string().contains("sidecar.container"), "{err}");
    }

    #[test]
    fn values_and_mesh_read_what_injection_uses() {
        let values = Values::parse("{\"global\": {}, \"revision\": \"canary\"}").expect("json");
        assert_eq!(values.revision, "canary");
        assert_eq!(Values::parse("{}").expect("empty").revision, "");
        assert!(Values::parse("{\"revision\": 3}").is_err());

        let mesh = MeshSettings::parse(
            "enablePrometheusMerge: false\ndefaultConfig:\n  interceptionMode: REDIRECT\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: \"true\"\n",
        )
        .expect("mesh");
        assert!(!mesh.prometheus_merge);
        assert_eq!(mesh.default_config.interception_mode(), Some("REDIRECT"));
        assert_eq!(
            mesh.default_config.proxy_metadata()["ISTIO_META_DNS_CAPTURE"],
            "true"
        );
        assert!(MeshSettings::parse("defaultConfig:\n  proxyMetadata:\n    A: [1]\n").is_err());
        assert_eq!(
            MeshSettings::parse("").expect("empty"),
            MeshSettings::default()
        );
    }
}
