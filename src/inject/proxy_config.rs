//! The proxy's configuration for one pod (Istio's `ProxyConfig`): the mesh config's
//! `defaultConfig` with the pod's `proxy.istio.io/config` annotation merged over it, as Istio's
//! injector merges them (`mesh.MergeProxyConfig`). The result is the proxy's `PROXY_CONFIG`
//! environment variable, as Istio writes it, and the settings Ferry's proxy takes as flags
//! (concurrency, drain time, status port, interception mode, metadata environment).
//!
//! Kept as JSON in ProxyConfig's field names: injection passes most fields through untouched,
//! and a typed copy would drop the ones it does not know.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::yaml::{Limits, parse_stream};
use crate::discovery::mesh::ProxyHeaders;

/// The pod annotation with the pod's own ProxyConfig.
pub const ANNOTATION: &str = "proxy.istio.io/config";
/// The proxy's environment variable with its merged ProxyConfig.
pub const ENV: &str = "PROXY_CONFIG";

/// ProxyConfig's fields in the order of its protobuf declaration, which is the order Istio's
/// JSON (`protojson`) writes them in.
const FIELD_ORDER: &[&str] = &[
    "configPath",
    "binaryPath",
    "serviceCluster",
    "tracingServiceName",
    "drainDuration",
    "parentShutdownDuration",
    "discoveryAddress",
    "discoveryRefreshDelay",
    "zipkinAddress",
    "statsdUdpAddress",
    "envoyMetricsServiceAddress",
    "proxyAdminPort",
    "availabilityZone",
    "controlPlaneAuthPolicy",
    "customConfigFile",
    "statNameLength",
    "concurrency",
    "proxyBootstrapTemplatePath",
    "interceptionMode",
    "tracing",
    "sds",
    "envoyAccessLogService",
    "envoyMetricsService",
    "proxyMetadata",
    "runtimeValues",
    "statusPort",
    "extraStatTags",
    "gatewayTopology",
    "terminationDrainDuration",
    "meshId",
    "readinessProbe",
    "proxyStatsMatcher",
    "holdApplicationUntilProxyStarts",
    "caCertificatesPem",
    "image",
    "privateKeyProvider",
    "proxyHeaders",
    "fileFlushInterval",
    "fileFlushMinSizeKb",
    "accessLogFileFlushInterval",
    "statsFlushInterval",
    "statsCompression",
];

/// The values Istio's `cleanProxyConfig` leaves out of `PROXY_CONFIG` because they are the
/// defaults (`mesh.DefaultProxyConfig`): the proxy assumes them anyway.
fn is_default(key: &str, value: &Value) -> bool {
    let s = value.as_str();
    let n = value.as_i64();
    match key {
        "configPath" => s == Some("./etc/istio/proxy"),
        "binaryPath" => s == Some("/usr/local/bin/envoy"),
        "serviceCluster" => s == Some("istio-proxy"),
        "controlPlaneAuthPolicy" => s == Some("MUTUAL_TLS"),
        "drainDuration" => s == Some("45s"),
        "terminationDrainDuration" => s == Some("5s"),
        "proxyAdminPort" => n == Some(15000),
        "statNameLength" => n == Some(189),
        "statusPort" => n == Some(15020),
        "concurrency" => n == Some(2),
        "proxyMetadata" => value.as_object().is_some_and(Map::is_empty),
        "tracing" => {
            *value == serde_json::json!({"zipkin": {"address": "zipkin.istio-system:9411"}})
        }
        _ => false,
    }
}

/// A ProxyConfig, as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyConfig(Map<String, Value>);

impl ProxyConfig {
    pub fn from_map(map: Map<String, Value>) -> ProxyConfig {
        ProxyConfig(map)
    }

    /// The annotation's value, or the proxy's `PROXY_CONFIG`: a YAML or JSON mapping (Istio's
    /// `protomarshal.ApplyYAML`) whose `proxyHeaders`, which Ferry's proxies act on, must be
    /// readable. Other fields are not checked.
    pub fn parse(text: &str) -> Result<ProxyConfig, String> {
        const FAILED: &str = "failed to convert to apply proxy config";
        let stream = parse_stream(text, Limits::default());
        if let Some(e) = stream.errors.first() {
            return Err(format!("{FAILED}: {e}"));
        }
        let config = match stream.documents.first().map(|d| d.root.to_json()) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(format!("{FAILED}: the value is not a YAML mapping")),
        };
        if let Some(headers) = config.get("proxyHeaders") {
            ProxyHeaders::from_json("proxyHeaders", headers)
                .map_err(|e| format!("{FAILED}: {e}"))?;
        }
        Ok(ProxyConfig(config))
    }

    /// The fields, as JSON.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// `over` merged onto this one: its fields win, mappings (messages and maps such as
    /// `proxyMetadata`) are merged key by key, lists and scalars replaced. Each of
    /// `proxyHeaders`' settings comes whole from one side, as Istio's `correctProxyHeaders`
    /// takes them: a pod's `server: {value: x}` over the mesh's `server: {disabled: true}`
    /// names the server rather than leaving it off.
    pub fn merged(&self, over: &ProxyConfig) -> ProxyConfig {
        let mut out = self.0.clone();
        merge(&mut out, &over.0);
        if let (Some(Value::Object(base)), Some(Value::Object(pod))) =
            (self.get("proxyHeaders"), over.get("proxyHeaders"))
        {
            let mut headers = base.clone();
            for (name, setting) in pod {
                headers.insert(name.clone(), setting.clone());
            }
            out.insert("proxyHeaders".into(), Value::Object(headers));
        }
        ProxyConfig(out)
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// `proxyMetadata`: environment for the proxy.
    pub fn proxy_metadata(&self) -> BTreeMap<String, String> {
        self.get("proxyMetadata")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()
    }

    pub fn interception_mode(&self) -> Option<&str> {
        self.get("interceptionMode")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
    }

    /// `statusPort`, when it is a port.
    pub fn status_port(&self) -> Option<u16> {
        self.get("statusPort")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
    }

    /// `concurrency` (Istio: worker threads, 0 for one per core).
    pub fn concurrency(&self) -> Option<u64> {
        self.get("concurrency").and_then(Value::as_u64)
    }

    /// `terminationDrainDuration`, a protobuf Duration (`"5s"`, `"1.5s"`).
    pub fn termination_drain_duration(&self) -> Option<Duration> {
        let text = self.get("terminationDrainDuration")?.as_str()?;
        let seconds: f64 = text.strip_suffix('s')?.parse().ok()?;
        (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
    }

    /// `PROXY_CONFIG`'s value: the fields that differ from Istio's defaults, in ProxyConfig's
    /// order, as one line of JSON with a newline (the template's `|` block keeps it).
    pub fn env_value(&self) -> String {
        let mut out = Map::new();
        let known = FIELD_ORDER
            .iter()
            .filter_map(|k| Some((*k, self.0.get(*k)?)));
        let unknown = self
            .0
            .iter()
            .filter(|(k, _)| !FIELD_ORDER.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v));
        for (k, v) in known.chain(unknown) {
            if !v.is_null() && !is_default(k, v) {
                out.insert(k.to_string(), v.clone());
            }
        }
        format!("{}\n", Value::Object(out))
    }
}

fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(v: Value) -> ProxyConfig {
        ProxyConfig::from_map(v.as_object().cloned().expect("object"))
    }

    /// A pod's header setting replaces the mesh's for that header whole; the headers it does
    /// not name keep the mesh's.
    #[test]
    fn proxy_header_settings_come_whole_from_one_side() {
        let mesh = config(json!({"proxyHeaders": {
            "server": {"disabled": true}, "requestId": {"disabled": true}}}));
        let pod = config(json!({"proxyHeaders": {"server": {"value": "edge/2"}}}));
        assert_eq!(
            mesh.merged(&pod).env_value(),
            "{\"proxyHeaders\":{\"server\":{\"value\":\"edge/2\"},\"requestId\":{\"disabled\":true}}}\n"
        );
    }

    /// Istio's testdata `hello-probes-noProxyHoldApplication-ProxyConfig`: the annotation's
    /// field over a mesh default that is all defaults.
    #[test]
    fn the_annotation_alone_is_what_differs_from_istios_defaults() {
        let mesh = config(json!({
            "discoveryAddress": "istiod.istio-system.svc:15012",
            "proxyMetadata": {},
            "statusPort": 15020,
            "drainDuration": "45s",
        }));
        let pod =
            ProxyConfig::parse("{ \"holdApplicationUntilProxyStarts\": false }").expect("parses");
        let merged = mesh.merged(&pod);
        assert_eq!(
            merged.env_value(),
            "{\"discoveryAddress\":\"istiod.istio-system.svc:15012\",\"holdApplicationUntilProxyStarts\":false}\n"
        );
        assert_eq!(ProxyConfig::default().env_value(), "{}\n");
    }

    #[test]
    fn maps_merge_and_the_pod_wins() {
        let mesh = config(json!({
            "proxyMetadata": {"A": "mesh", "B": "mesh"},
            "concurrency": 2,
            "tracing": {"zipkin": {"address": "z:9411"}, "sampling": 1.0},
        }));
        let pod = ProxyConfig::parse(
            "concurrency: 4\nproxyMetadata:\n  B: pod\n  C: \"3\"\ntracing:\n  sampling: 50\n\
             terminationDrainDuration: 12s\nstatusPort: 15999\ninterceptionMode: TPROXY\n",
        )
        .expect("parses");
        let merged = mesh.merged(&pod);
        assert_eq!(merged.concurrency(), Some(4));
        assert_eq!(
            merged.proxy_metadata(),
            BTreeMap::from([
                ("A".to_string(), "mesh".to_string()),
                ("B".to_string(), "pod".to_string()),
                ("C".to_string(), "3".to_string()),
            ])
        );
        assert_eq!(
            merged.termination_drain_duration(),
            Some(Duration::from_secs(12))
        );
        assert_eq!(merged.status_port(), Some(15999));
        assert_eq!(merged.interception_mode(), Some("TPROXY"));
        // Fields in ProxyConfig's order, whatever order they were written in.
        assert_eq!(
            merged.env_value(),
            "{\"concurrency\":4,\"interceptionMode\":\"TPROXY\",\"tracing\":{\"zipkin\":{\"address\":\"z:9411\"},\"sampling\":50},\"proxyMetadata\":{\"A\":\"mesh\",\"B\":\"pod\",\"C\":\"3\"},\"statusPort\":15999,\"terminationDrainDuration\":\"12s\"}\n"
        );
    }

    #[test]
    fn a_value_that_is_not_a_mapping_is_refused_with_istios_words() {
        let err = ProxyConfig::parse("- a").expect_err("a list");
        assert_eq!(
            err,
            "failed to convert to apply proxy config: the value is not a YAML mapping"
        );
        assert_eq!(
            ProxyConfig::parse("").expect("empty"),
            ProxyConfig::default()
        );
        assert_eq!(
            config(json!({"terminationDrainDuration": "1.5s"})).termination_drain_duration(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            config(json!({"terminationDrainDuration": "soon"})).termination_drain_duration(),
            None
        );
    }
}
