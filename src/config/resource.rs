//! One configuration object as read from a source, with where it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::kind::Kind;
use super::kube::{Condition, CronJobSpec, PodSpec, ServiceSpec, Webhook, WorkloadSpec};
use super::networking as net;
use super::security as sec;
use super::telemetry as tel;
use super::types::ObjectMeta;
use super::yaml::{Node, split_path};

/// Where an object was read from: a file (or `-` for stdin) and the line its document starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A typed body. Istio kinds are decoded strictly; a body that does not decode keeps the error so
/// schema validation reports it and the other analyzers skip the object.
#[derive(Debug, Clone)]
// One Spec per object; boxing variants would add an allocation per object for ~1 KiB saved.
#[allow(clippy::large_enum_variant)]
pub enum Spec {
    VirtualService(net::VirtualService),
    DestinationRule(net::DestinationRule),
    Gateway(net::Gateway),
    ServiceEntry(net::ServiceEntry),
    WorkloadEntry(net::WorkloadEntry),
    WorkloadGroup(net::WorkloadGroup),
    Sidecar(net::Sidecar),
    EnvoyFilter(net::EnvoyFilter),
    PeerAuthentication(sec::PeerAuthentication),
    AuthorizationPolicy(sec::AuthorizationPolicy),
    RequestAuthentication(sec::RequestAuthentication),
    Telemetry(tel::Telemetry),
    Service(ServiceSpec),
    Pod(PodSpec),
    /// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job.
    Workload(WorkloadSpec),
    CronJob(CronJobSpec),
    ConfigMap(BTreeMap<String, String>),
    Secret {
        type_: Option<String>,
        keys: Vec<String>,
    },
    Webhooks(Vec<Webhook>),
    /// A kind read for its metadata only (Namespace, Node, Gateway API objects, ...).
    Opaque(serde_json::Value),
    /// An Istio body that failed to decode.
    Invalid(SpecError),
}

/// Why a body did not decode, with the field path serde reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub path: String,
    pub message: String,
}

/// A configuration object.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: Kind,
    pub api_version: String,
    pub meta: ObjectMeta,
    pub origin: Origin,
    /// The whole document, for field line lookups.
    pub node: Node,
    pub spec: Spec,
    pub conditions: Vec<Condition>,
}

impl Resource {
    pub fn name(&self) -> &str {
        self.meta.name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.meta.namespace.as_deref()
    }

    /// Namespace for reference resolution: the object's own, or `default` when it has none.
    pub fn effective_namespace(&self) -> &str {
        self.namespace().unwrap_or("default")
    }

    /// `<Kind> <ns>/<name>`, or `<Kind> <name>` without a namespace (istioctl's origin text).
    pub fn friendly_name(&self) -> String {
        match self.namespace() {
            Some(ns) if !self.kind.cluster_scoped() => {
                format!("{} {}/{}", self.kind.name(), ns, self.name())
            }
            _ => format!("{} {}", self.kind.name(), self.name()),
        }
    }

    /// Line of a field, given an Istio-style path (`{.spec.http[0].route[0].destination.host}`).
    pub fn line_of(&self, path: &str) -> Option<u32> {
        self.node.line_of(&split_path(path))
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.meta.labels
    }

    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.meta.annotations
    }
}
