//! Istio's resource annotations (`istio.io/api` `annotation.AllResourceAnnotations()`, the
//! ~1.23/1.24 table): name, the resource types it may be applied to, feature status and whether
//! it is deprecated. Data only; `annotations.rs` applies it.

/// Where an annotation may be applied (`annotation.ResourceTypes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    Any,
    AuthorizationPolicy,
    Gateway,
    GatewayClass,
    Ingress,
    Namespace,
    Pod,
    Service,
    ServiceEntry,
    WorkloadEntry,
}

impl ResourceType {
    /// The type's name as Istio prints it in IST0107.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Any => "Any",
            ResourceType::AuthorizationPolicy => "AuthorizationPolicy",
            ResourceType::Gateway => "Gateway",
            ResourceType::GatewayClass => "GatewayClass",
            ResourceType::Ingress => "Ingress",
            ResourceType::Namespace => "Namespace",
            ResourceType::Pod => "Pod",
            ResourceType::Service => "Service",
            ResourceType::ServiceEntry => "ServiceEntry",
            ResourceType::WorkloadEntry => "WorkloadEntry",
        }
    }
}

/// Maturity of the feature an annotation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureStatus {
    Alpha,
    Beta,
    Stable,
}

/// One known annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnotationDef {
    pub name: &'static str,
    pub resources: &'static [ResourceType],
    pub status: FeatureStatus,
    pub deprecated: bool,
}

use FeatureStatus::{Alpha, Beta, Stable};
use ResourceType as R;

const fn def(
    name: &'static str,
    resources: &'static [ResourceType],
    status: FeatureStatus,
    deprecated: bool,
) -> AnnotationDef {
    AnnotationDef {
        name,
        resources,
        status,
        deprecated,
    }
}

/// Every annotation Istio defines for resources.
pub const ANNOTATIONS: &[AnnotationDef] = &[
    def(
        "alpha.istio.io/canonical-serviceaccounts",
        &[R::Service],
        Alpha,
        true,
    ),
    def(
        "alpha.istio.io/kubernetes-serviceaccounts",
        &[R::Service],
        Alpha,
        true,
    ),
    def(
        "ambient.istio.io/bypass-inbound-capture",
        &[R::Pod],
        Alpha,
        false,
    ),
    def("ambient.istio.io/redirection", &[R::Pod], Beta, false),
    def(
        "ambient.istio.io/waypoint-inbound-binding",
        &[R::GatewayClass, R::Gateway],
        Alpha,
        false,
    ),
    def("galley.istio.io/analyze-suppress", &[R::Any], Alpha, false),
    def(
        "gateway.istio.io/controller-version",
        &[R::Any],
        Alpha,
        false,
    ),
    def(
        "gateway.istio.io/name-override",
        &[R::Gateway],
        Alpha,
        false,
    ),
    def(
        "gateway.istio.io/service-account",
        &[R::Gateway],
        Alpha,
        false,
    ),
    def("inject.istio.io/templates", &[R::Pod], Alpha, false),
    def(
        "istio.io/autoRegistrationGroup",
        &[R::WorkloadEntry],
        Alpha,
        false,
    ),
    def("istio.io/connectedAt", &[R::WorkloadEntry], Alpha, false),
    def("istio.io/disconnectedAt", &[R::WorkloadEntry], Alpha, false),
    def("istio.io/dry-run", &[R::AuthorizationPolicy], Alpha, false),
    def("istio.io/rev", &[R::Pod], Alpha, false),
    def(
        "istio.io/workloadController",
        &[R::WorkloadEntry],
        Alpha,
        false,
    ),
    def("kubernetes.io/ingress.class", &[R::Ingress], Stable, false),
    def("networking.istio.io/exportTo", &[R::Service], Alpha, false),
    def(
        "networking.istio.io/service-type",
        &[R::Gateway],
        Alpha,
        false,
    ),
    def(
        "networking.istio.io/traffic-distribution",
        &[R::Service, R::ServiceEntry],
        Alpha,
        false,
    ),
    def("prometheus.istio.io/merge-metrics", &[R::Pod], Alpha, false),
    def("proxy.istio.io/config", &[R::Pod], Beta, false),
    def("proxy.istio.io/overrides", &[R::Pod], Alpha, false),
    def(
        "readiness.status.sidecar.istio.io/applicationPorts",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "readiness.status.sidecar.istio.io/failureThreshold",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "readiness.status.sidecar.istio.io/initialDelaySeconds",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "readiness.status.sidecar.istio.io/periodSeconds",
        &[R::Pod],
        Alpha,
        false,
    ),
    def("sidecar.istio.io/agentLogLevel", &[R::Pod], Alpha, false),
    def(
        "sidecar.istio.io/bootstrapOverride",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "sidecar.istio.io/componentLogLevel",
        &[R::Pod],
        Alpha,
        false,
    ),
    def("sidecar.istio.io/discoveryAddress", &[R::Pod], Alpha, true),
    def("sidecar.istio.io/enableCoreDump", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/extraStatTags", &[R::Pod], Alpha, true),
    def("sidecar.istio.io/inject", &[R::Pod], Beta, true),
    def("sidecar.istio.io/interceptionMode", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/logLevel", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/nativeSidecar", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/proxyCPU", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/proxyCPULimit", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/proxyImage", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/proxyImageType", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/proxyMemory", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/proxyMemoryLimit", &[R::Pod], Alpha, false),
    def(
        "sidecar.istio.io/rewriteAppHTTPProbers",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "sidecar.istio.io/statsHistogramBuckets",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "sidecar.istio.io/statsInclusionPrefixes",
        &[R::Pod],
        Alpha,
        true,
    ),
    def(
        "sidecar.istio.io/statsInclusionRegexps",
        &[R::Pod],
        Alpha,
        true,
    ),
    def(
        "sidecar.istio.io/statsInclusionSuffixes",
        &[R::Pod],
        Alpha,
        true,
    ),
    def("sidecar.istio.io/status", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/userVolume", &[R::Pod], Alpha, false),
    def("sidecar.istio.io/userVolumeMount", &[R::Pod], Alpha, false),
    def("status.sidecar.istio.io/port", &[R::Pod], Alpha, false),
    def(
        "topology.istio.io/controlPlaneClusters",
        &[R::Namespace],
        Alpha,
        false,
    ),
    def(
        "traffic.istio.io/nodeSelector",
        &[R::Service],
        Stable,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/excludeInboundPorts",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/excludeInterfaces",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/excludeOutboundIPRanges",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/excludeOutboundPorts",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/includeInboundPorts",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/includeOutboundIPRanges",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/includeOutboundPorts",
        &[R::Pod],
        Alpha,
        false,
    ),
    def(
        "traffic.sidecar.istio.io/kubevirtInterfaces",
        &[R::Pod],
        Alpha,
        false,
    ),
];

/// The definition of `name`, if Istio knows it.
pub fn lookup(name: &str) -> Option<&'static AnnotationDef> {
    ANNOTATIONS.iter().find(|d| d.name == name)
}
