//! `telemetry.istio.io` specs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::networking::WorkloadSelector;
use super::security::PolicyTargetReference;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Telemetry {
    pub selector: Option<WorkloadSelector>,
    pub target_ref: Option<PolicyTargetReference>,
    pub target_refs: Vec<PolicyTargetReference>,
    pub tracing: Vec<TelemetryEntry>,
    pub metrics: Vec<TelemetryEntry>,
    pub access_logging: Vec<TelemetryEntry>,
}

/// A tracing, metrics or access-logging block; the analyzers read only its providers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TelemetryEntry {
    pub providers: Vec<ProviderRef>,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ProviderRef {
    pub name: String,
}
