//! The IstioOperator (`install.istio.io/v1alpha1`) as a typed value: the part of Istio's install
//! API that Ferry honours. Profiles, `-f` overlays and `--set` paths are merged as untyped trees
//! (that is how istioctl layers them) and then decoded into this type once; rendering reads only
//! this type.
//!
//! Every field here is honoured by the renderer. A field users may have in existing Istio files
//! but Ferry does not act on (for example `components.cni`) is accepted only in the state that
//! needs no action (disabled), so nothing is silently ignored.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, EnvVar, ResourceRequirements, ServiceSpec, Toleration};
use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

pub const API_VERSION: &str = "install.istio.io/v1alpha1";
pub const KIND: &str = "IstioOperator";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstioOperator {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: IstioOperatorSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The namespace the control plane is installed into (istioctl: `metadata.namespace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstioOperatorSpec {
    /// Built-in profile the overlays apply to (`default` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Image registry: images are `<hub>/ferry:<tag>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub tag: Option<String>,
    /// Control plane revision (a DNS-1123 label); unset or `default` means no revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Namespace for the control plane (overrides `metadata.namespace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub compatibility_version: Option<String>,
    /// Mesh-wide settings, written to the mesh ConfigMap (`istio` / `istio-<rev>`) as is. Kept as
    /// written; the schema check holds it to Istio's MeshConfig fields
    /// ([`super::mesh_config::MeshConfig`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::mesh_config::MeshConfig>")]
    pub mesh_config: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub components: Components,
    #[serde(default)]
    pub values: Values,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Components {
    #[serde(default)]
    pub base: BaseComponent,
    #[serde(default)]
    pub pilot: Component,
    #[serde(default)]
    pub ingress_gateways: Vec<GatewayComponent>,
    #[serde(default)]
    pub egress_gateways: Vec<GatewayComponent>,
    /// Not installed by Ferry; accepted so existing files that disable it keep working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni: Option<Unsupported>,
    /// Not installed by Ferry (no ambient mode); accepted when disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ztunnel: Option<Unsupported>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BaseComponent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A component Ferry does not run; only `enabled: false` (and a namespace) is meaningful.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Unsupported {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub tag: Option<String>,
    /// Extra labels for the component's pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<K8s>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayComponent {
    /// Deployment/Service name, e.g. `istio-ingressgateway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub tag: Option<String>,
    /// Extra labels for the gateway's pods (and its Service selector), e.g. `istio: myingress`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<K8s>,
}

/// Kubernetes settings of a component's Deployment, Service, HPA and PDB.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct K8s {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa_spec: Option<HpaSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_disruption_budget: Option<PodDisruptionBudgetSpec>,
    /// Merged into the component's Service spec (type, ports, loadBalancerIP, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// `k8s.hpaSpec`: autoscaling/v2 fields, also accepting the v2beta1 metric form
/// (`resource.targetAverageUtilization`) that older Istio docs (and the seed) use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<HpaMetric>,
    /// autoscaling/v2 `behavior`, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaMetric {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<HpaResourceMetric>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaResourceMetric {
    pub name: String,
    /// autoscaling/v2 form: `{type: Utilization, averageUtilization: 80}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<serde_json::Value>,
    /// autoscaling/v2beta1 form, converted to `target` when rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_average_utilization: Option<i32>,
}

/// `spec.values`: the Helm-style values Ferry honours (listed in the README). Unknown keys are
/// errors, as a value Ferry would not act on must not look applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Values {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot: Option<PilotValues>,
    /// Istio's gateway charts, by chart name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateways: Option<GatewaysValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar_injector_webhook: Option<SidecarInjectorValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Toggle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istiod_remote: Option<IstiodRemoteValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<ExperimentalValues>,
    /// The revision the `default` tag points at; `""` = this install's revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_revision: Option<String>,
    /// Set by profiles (`demo`, `remote`, `preview`, `stable`); informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toggle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio_namespace: Option<String>,
    #[serde(default, rename = "meshID", skip_serializing_if = "Option::is_none")]
    pub mesh_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_cluster: Option<MultiClusterValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pod_disruption_budget: Option<Toggle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<LoggingValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omit_sidecar_injector_config_map: Option<bool>,
    /// Where istiod runs for a `remote` install (its address, for the injector webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_pilot_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MultiClusterValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyValues {
    /// Resources of injected sidecars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Proxy log level (`trace|debug|info|warning|error|critical|off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    /// Traffic capture defaults, which the pods' `traffic.sidecar.istio.io/*` annotations
    /// override: outbound CIDRs captured (`*`: all) and not captured, inbound ports not
    /// captured, outbound ports captured and not captured (comma-separated lists; the
    /// arguments of the `istio-init` of an install that captures traffic).
    #[serde(
        default,
        rename = "includeIPRanges",
        skip_serializing_if = "Option::is_none"
    )]
    pub include_ip_ranges: Option<String>,
    #[serde(
        default,
        rename = "excludeIPRanges",
        skip_serializing_if = "Option::is_none"
    )]
    pub exclude_ip_ranges: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub exclude_inbound_ports: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub include_outbound_ports: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    #[schemars(with = "Option<String>")]
    pub exclude_outbound_ports: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggingValues {
    /// Control plane log level, `<scope>:<level>,…` (e.g. `default:info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PilotValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale_min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale_max: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<i32>,
    /// Percentage of requests traced (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_sampling: Option<f64>,
    /// Extra environment variables for the control plane container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_annotations: Option<BTreeMap<String, String>>,
}

/// `values.gateways`: the settings of Istio's `istio-ingress` and `istio-egress` charts. The key
/// names the chart, not a gateway, so (as in istioctl) `istio-ingressgateway` applies to every
/// `components.ingressGateways[]` entry and `istio-egressgateway` to every egress gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaysValues {
    #[serde(
        default,
        rename = "istio-ingressgateway",
        skip_serializing_if = "Option::is_none"
    )]
    pub istio_ingressgateway: Option<GatewayValues>,
    #[serde(
        default,
        rename = "istio-egressgateway",
        skip_serializing_if = "Option::is_none"
    )]
    pub istio_egressgateway: Option<GatewayValues>,
}

/// The scaling settings of a gateway chart. `k8s.replicaCount` and `k8s.hpaSpec` of a gateway
/// override them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayValues {
    /// `false`: no HorizontalPodAutoscaler (unless the gateway's `k8s.hpaSpec` asks for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale_min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale_max: Option<i32>,
    /// `spec.replicas` while autoscaling is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuTarget>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CpuTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_average_utilization: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SidecarInjectorValues {
    /// Inject into namespaces without any injection label (`auto.sidecar-injector.istio.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_namespaces_by_default: Option<bool>,
    /// Annotations added to every injected pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub injected_annotations: BTreeMap<String, String>,
    #[serde(
        default,
        rename = "rewriteAppHTTPProbe",
        skip_serializing_if = "Option::is_none"
    )]
    pub rewrite_app_http_probe: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstiodRemoteValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// URL of the remote control plane's injection endpoint.
    #[serde(
        default,
        rename = "injectionURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub injection_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExperimentalValues {
    /// `stable` profile: only stable (v1) API fields are accepted by validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_validation_policy: Option<bool>,
}

/// YAML users write `tag: 1.24` or `compatibilityVersion: 1.29`, which parse as numbers; Istio
/// treats them as strings.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string or number, got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_may_be_numbers() {
        let iop: IstioOperator = serde_json::from_value(serde_json::json!({
            "apiVersion": API_VERSION, "kind": KIND, "spec": {"tag": 1.24}
        }))
        .expect("decodes");
        assert_eq!(iop.spec.tag.as_deref(), Some("1.24"));
    }

    #[test]
    fn shipped_profiles_decode() {
        for (name, text) in [
            ("default", include_str!("../../profiles/default.yaml")),
            ("demo", include_str!("../../profiles/demo.yaml")),
            ("minimal", include_str!("../../profiles/minimal.yaml")),
            ("empty", include_str!("../../profiles/empty.yaml")),
            ("remote", include_str!("../../profiles/remote.yaml")),
            ("preview", include_str!("../../profiles/preview.yaml")),
            ("stable", include_str!("../../profiles/stable.yaml")),
        ] {
            let stream = crate::config::yaml::parse_stream(text, Default::default());
            assert!(stream.errors.is_empty(), "{name}: {:?}", stream.errors);
            let json = stream.documents[0].root.to_json();
            let r: Result<IstioOperator, _> = serde_path_to_error::deserialize(&json);
            assert!(r.is_ok(), "{name}: {:?}", r.err().map(|e| e.to_string()));
        }
    }

    #[test]
    fn acronyms_are_spelled_as_istio() {
        let iop: IstioOperator = serde_json::from_value(serde_json::json!({
            "apiVersion": API_VERSION, "kind": KIND, "spec": {"values": {
                "istiodRemote": {"injectionURL": "https://x/inject"},
                "sidecarInjectorWebhook": {"rewriteAppHTTPProbe": false},
            }}
        }))
        .expect("decodes");
        let v = &iop.spec.values;
        assert!(
            v.istiod_remote
                .as_ref()
                .is_some_and(|r| r.injection_url.is_some())
        );
        assert_eq!(
            v.sidecar_injector_webhook
                .as_ref()
                .and_then(|s| s.rewrite_app_http_probe),
            Some(false)
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<IstioOperator, _> = serde_json::from_value(serde_json::json!({
            "apiVersion": API_VERSION, "kind": KIND, "spec": {"compnents": {}}
        }));
        assert!(r.is_err());
    }
}
