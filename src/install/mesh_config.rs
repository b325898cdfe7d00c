//! The shape of `spec.meshConfig`: Istio's `istio.mesh.v1alpha1.MeshConfig` and, under
//! `defaultConfig`, its `ProxyConfig`, with their protobuf JSON (camelCase) field names, from
//! Istio's `mesh/v1alpha1/config.proto` and `proxy.proto`. Deprecated fields Istio still accepts
//! are listed; fields Istio removed (Mixer's, the old SDS settings) are not.
//!
//! These types only describe: the schema check ([`super::schema`]) reads them, so an unknown
//! key (`accessLogFile` misspelt) is an error naming its path with a suggestion, and obvious value
//! types (`enableTracing: true`, `accessLogFile: /dev/stdout`, enum names) are checked. The
//! decoded IstioOperator keeps `meshConfig` as the mapping the user wrote, which the renderer
//! writes to the mesh ConfigMap as is. Well-known nested messages are described where it is cheap
//! (`outboundTrafficPolicy`, `defaultProviders`, `defaultConfig.tracing`, …); deeper or larger
//! ones (`extensionProviders`, `localityLbSetting`, …) are free-form.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// `istio.mesh.v1alpha1.MeshConfig`. Durations are strings (`10s`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshConfig {
    pub proxy_listen_port: Option<i32>,
    pub proxy_inbound_listen_port: Option<i32>,
    pub proxy_http_port: Option<i32>,
    pub connect_timeout: Option<String>,
    pub protocol_detection_timeout: Option<String>,
    pub tcp_keepalive: Option<Value>,
    pub ingress_class: Option<String>,
    pub ingress_service: Option<String>,
    pub ingress_controller_mode: Option<IngressControllerMode>,
    pub ingress_selector: Option<String>,
    pub enable_tracing: Option<bool>,
    pub access_log_file: Option<String>,
    pub access_log_format: Option<String>,
    pub access_log_encoding: Option<AccessLogEncoding>,
    pub enable_envoy_access_log_service: Option<bool>,
    pub disable_envoy_listener_log: Option<bool>,
    pub default_config: Option<ProxyConfig>,
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
    pub inbound_traffic_policy: Option<InboundTrafficPolicy>,
    pub config_sources: Option<Vec<Value>>,
    pub enable_auto_mtls: Option<bool>,
    pub trust_domain: Option<String>,
    pub trust_domain_aliases: Option<Vec<String>>,
    pub ca_certificates: Option<Vec<Value>>,
    pub default_service_export_to: Option<Vec<String>>,
    pub default_virtual_service_export_to: Option<Vec<String>>,
    pub default_destination_rule_export_to: Option<Vec<String>>,
    pub root_namespace: Option<String>,
    pub locality_lb_setting: Option<Value>,
    pub dns_refresh_rate: Option<String>,
    pub h2_upgrade_policy: Option<H2UpgradePolicy>,
    pub inbound_cluster_stat_name: Option<String>,
    pub outbound_cluster_stat_name: Option<String>,
    /// Deprecated in Istio.
    pub certificates: Option<Vec<Value>>,
    pub service_settings: Option<Vec<Value>>,
    pub enable_prometheus_merge: Option<bool>,
    /// Deprecated in Istio.
    pub verify_certificate_at_client: Option<bool>,
    pub ca: Option<Value>,
    pub extension_providers: Option<Vec<Value>>,
    pub default_providers: Option<DefaultProviders>,
    pub discovery_selectors: Option<Vec<Value>>,
    pub path_normalization: Option<PathNormalization>,
    pub default_http_retry_policy: Option<Value>,
    #[serde(rename = "meshMTLS")]
    pub mesh_mtls: Option<TlsConfig>,
    pub tls_defaults: Option<TlsConfig>,
    pub compliance_policy: Option<String>,
    /// Istio 1.27 and later.
    pub service_scope_configs: Option<Vec<Value>>,
}

/// MeshConfig fields Istio removed (Mixer's, the old SDS settings, Thrift): refused with the
/// reason rather than a suggestion. (`terminationDrainDuration` moved to `defaultConfig`, where
/// the usual suggestion finds it.)
pub const REMOVED_FIELDS: &[&str] = &[
    "mixerCheckServer",
    "mixerReportServer",
    "disablePolicyChecks",
    "disableMixerHttpReports",
    "policyCheckFailOpen",
    "sidecarToTelemetrySessionAffinity",
    "authPolicy",
    "rdsRefreshDelay",
    "mixerAddress",
    "enableClientSidePolicyCheck",
    "sdsUdsPath",
    "sdsRefreshDelay",
    "enableSdsTokenMount",
    "sdsUseK8sSaJwt",
    "disableReportBatch",
    "reportBatchMaxEntries",
    "reportBatchMaxTime",
    "thriftConfig",
];

#[derive(Debug, Deserialize, JsonSchema)]
pub enum IngressControllerMode {
    #[serde(rename = "UNSPECIFIED")]
    Unspecified,
    #[serde(rename = "OFF")]
    Off,
    #[serde(rename = "DEFAULT")]
    Default,
    #[serde(rename = "STRICT")]
    Strict,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum AccessLogEncoding {
    #[serde(rename = "TEXT")]
    Text,
    #[serde(rename = "JSON")]
    Json,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboundTrafficPolicy {
    pub mode: Option<OutboundMode>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum OutboundMode {
    #[serde(rename = "REGISTRY_ONLY")]
    RegistryOnly,
    #[serde(rename = "ALLOW_ANY")]
    AllowAny,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundTrafficPolicy {
    pub mode: Option<InboundMode>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum InboundMode {
    #[serde(rename = "PASSTHROUGH")]
    Passthrough,
    #[serde(rename = "LOCALHOST")]
    Localhost,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum H2UpgradePolicy {
    #[serde(rename = "DO_NOT_UPGRADE")]
    DoNotUpgrade,
    #[serde(rename = "UPGRADE")]
    Upgrade,
}

/// Names of `extensionProviders`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefaultProviders {
    pub tracing: Option<Vec<String>>,
    pub metrics: Option<Vec<String>>,
    pub access_logging: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathNormalization {
    pub normalization: Option<NormalizationType>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum NormalizationType {
    #[serde(rename = "DEFAULT")]
    Default,
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "BASE")]
    Base,
    #[serde(rename = "MERGE_SLASHES")]
    MergeSlashes,
    #[serde(rename = "DECODE_AND_MERGE_SLASHES")]
    DecodeAndMergeSlashes,
}

/// `meshMTLS` and `tlsDefaults`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    pub min_protocol_version: Option<TlsProtocol>,
    pub ecdh_curves: Option<Vec<String>>,
    pub cipher_suites: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum TlsProtocol {
    #[serde(rename = "TLS_AUTO")]
    Auto,
    #[serde(rename = "TLSV1_2")]
    V1_2,
    #[serde(rename = "TLSV1_3")]
    V1_3,
}

/// `istio.mesh.v1alpha1.ProxyConfig` (`meshConfig.defaultConfig`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyConfig {
    pub config_path: Option<String>,
    pub binary_path: Option<String>,
    pub service_cluster: Option<String>,
    pub tracing_service_name: Option<TracingServiceName>,
    pub drain_duration: Option<String>,
    pub parent_shutdown_duration: Option<String>,
    pub discovery_address: Option<String>,
    /// Deprecated in Istio.
    pub discovery_refresh_delay: Option<String>,
    /// Deprecated in Istio (use `tracing`).
    pub zipkin_address: Option<String>,
    pub statsd_udp_address: Option<String>,
    /// Deprecated in Istio.
    pub envoy_metrics_service_address: Option<String>,
    pub proxy_admin_port: Option<i32>,
    /// Deprecated in Istio.
    pub availability_zone: Option<String>,
    pub control_plane_auth_policy: Option<AuthenticationPolicy>,
    pub custom_config_file: Option<String>,
    pub stat_name_length: Option<i32>,
    pub concurrency: Option<i32>,
    pub proxy_bootstrap_template_path: Option<String>,
    pub interception_mode: Option<InterceptionMode>,
    pub tracing: Option<Tracing>,
    /// Deprecated in Istio.
    pub sds: Option<Value>,
    pub envoy_access_log_service: Option<Value>,
    pub envoy_metrics_service: Option<Value>,
    /// Environment variables of the proxy (a map of strings).
    pub proxy_metadata: Option<BTreeMap<String, String>>,
    pub runtime_values: Option<BTreeMap<String, String>>,
    pub status_port: Option<i32>,
    pub extra_stat_tags: Option<Vec<String>>,
    pub gateway_topology: Option<Value>,
    pub termination_drain_duration: Option<String>,
    pub mesh_id: Option<String>,
    pub readiness_probe: Option<Value>,
    pub proxy_stats_matcher: Option<Value>,
    pub hold_application_until_proxy_starts: Option<bool>,
    pub ca_certificates_pem: Option<Vec<String>>,
    pub image: Option<Value>,
    pub private_key_provider: Option<Value>,
    /// Newer Istio releases.
    pub proxy_headers: Option<Value>,
    /// Newer Istio releases.
    pub file_flush_interval: Option<String>,
    /// Newer Istio releases.
    pub file_flush_min_size_kb: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum TracingServiceName {
    #[serde(rename = "APP_LABEL_AND_NAMESPACE")]
    AppLabelAndNamespace,
    #[serde(rename = "CANONICAL_NAME_ONLY")]
    CanonicalNameOnly,
    #[serde(rename = "CANONICAL_NAME_AND_NAMESPACE")]
    CanonicalNameAndNamespace,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum AuthenticationPolicy {
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "MUTUAL_TLS")]
    MutualTls,
    #[serde(rename = "INHERIT")]
    Inherit,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum InterceptionMode {
    #[serde(rename = "REDIRECT")]
    Redirect,
    #[serde(rename = "TPROXY")]
    Tproxy,
    #[serde(rename = "NONE")]
    None,
}

/// `defaultConfig.tracing`: one tracer, the sampling percentage and tags.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tracing {
    pub zipkin: Option<TracerAddress>,
    /// Deprecated in Istio.
    pub lightstep: Option<Lightstep>,
    pub datadog: Option<TracerAddress>,
    pub stackdriver: Option<Value>,
    pub open_census_agent: Option<OpenCensusAgent>,
    pub custom_tags: Option<BTreeMap<String, Value>>,
    pub max_path_tag_length: Option<u32>,
    /// Percentage of requests traced, 0.0 to 100.0.
    pub sampling: Option<f64>,
    pub tls_settings: Option<Value>,
}

/// `zipkin` and `datadog`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TracerAddress {
    pub address: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lightstep {
    pub address: Option<String>,
    pub access_token: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCensusAgent {
    pub address: Option<String>,
    pub context: Option<Vec<TraceContext>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub enum TraceContext {
    #[serde(rename = "UNSPECIFIED")]
    Unspecified,
    #[serde(rename = "W3C_TRACE_CONTEXT")]
    W3cTraceContext,
    #[serde(rename = "GRPC_BIN")]
    GrpcBin,
    #[serde(rename = "CLOUD_TRACE_CONTEXT")]
    CloudTraceContext,
    #[serde(rename = "B3")]
    B3,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every MeshConfig a profile or the seed ships decodes into these types.
    #[test]
    fn shipped_mesh_configs_fit_istios_fields() {
        for (name, text) in [
            ("default", include_str!("../../profiles/default.yaml")),
            ("demo", include_str!("../../profiles/demo.yaml")),
            ("preview", include_str!("../../profiles/preview.yaml")),
            (
                "seed",
                include_str!("../../fixtures/seed/mesh-config-operator.yaml"),
            ),
        ] {
            let stream = crate::config::yaml::parse_stream(text, Default::default());
            let json = stream.documents[0].root.to_json();
            let mesh = json["spec"]["meshConfig"].clone();
            let r: Result<MeshConfig, _> = serde_path_to_error::deserialize(mesh);
            assert!(r.is_ok(), "{name}: {:?}", r.err().map(|e| e.to_string()));
        }
    }
}
