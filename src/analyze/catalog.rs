//! The analysis message catalog: Istio's codes, names, levels and message templates
//! (`pkg/config/analysis/msg/messages.yaml`), so findings read exactly as istioctl's.
//!
//! Templates use Go's verbs (`%s`, `%q`, `%v`, `%d`); [`super::message::render`] formats them.

use super::message::{Level, MessageType};

pub const IST0001: MessageType = MessageType {
    code: "IST0001",
    name: "InternalError",
    level: Level::Error,
    description: "There was an internal error in the toolchain. This is almost always a bug in the implementation.",
    template: "Internal error: %v",
    args: &["detail"],
};

pub const IST0002: MessageType = MessageType {
    code: "IST0002",
    name: "Deprecated",
    level: Level::Warning,
    description: "A feature that the configuration is depending on is now deprecated.",
    template: "Deprecated: %s",
    args: &["detail"],
};

pub const IST0101: MessageType = MessageType {
    code: "IST0101",
    name: "ReferencedResourceNotFound",
    level: Level::Error,
    description: "A resource being referenced does not exist.",
    template: "Referenced %s not found: %q",
    args: &["reftype", "refval"],
};

pub const IST0102: MessageType = MessageType {
    code: "IST0102",
    name: "NamespaceNotInjected",
    level: Level::Info,
    description: "A namespace is not enabled for Istio injection.",
    template: "The namespace is not enabled for Istio injection. Run 'kubectl label namespace %s istio-injection=enabled' to enable it, or 'kubectl label namespace %s istio-injection=disabled' to explicitly mark it as not needing injection.",
    args: &["namespace", "namespace2"],
};

pub const IST0103: MessageType = MessageType {
    code: "IST0103",
    name: "PodMissingProxy",
    level: Level::Warning,
    description: "A pod is missing the Istio proxy.",
    template: "The pod %s is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.",
    args: &["podName"],
};

pub const IST0106: MessageType = MessageType {
    code: "IST0106",
    name: "SchemaValidationError",
    level: Level::Error,
    description: "The resource has a schema validation error.",
    template: "Schema validation error: %v",
    args: &["err"],
};

pub const IST0107: MessageType = MessageType {
    code: "IST0107",
    name: "MisplacedAnnotation",
    level: Level::Warning,
    description: "An Istio annotation is applied to the wrong kind of resource.",
    template: "Misplaced annotation: %s can only be applied to %s",
    args: &["annotation", "kind"],
};

pub const IST0108: MessageType = MessageType {
    code: "IST0108",
    name: "UnknownAnnotation",
    level: Level::Warning,
    description: "An Istio annotation is not recognized for any kind of resource",
    template: "Unknown annotation: %s",
    args: &["annotation"],
};

pub const IST0109: MessageType = MessageType {
    code: "IST0109",
    name: "ConflictingMeshGatewayVirtualServiceHosts",
    level: Level::Error,
    description: "Conflicting hosts on VirtualServices associated with mesh gateway",
    template: "The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
    args: &["virtualServices", "host"],
};

pub const IST0110: MessageType = MessageType {
    code: "IST0110",
    name: "ConflictingSidecarWorkloadSelectors",
    level: Level::Error,
    description: "A Sidecar resource selects the same workloads as another Sidecar resource",
    template: "The Sidecars %v in namespace %q select the same workload pod %q, which can lead to undefined behavior.",
    args: &["conflictingSidecars", "namespace", "workloadPod"],
};

pub const IST0111: MessageType = MessageType {
    code: "IST0111",
    name: "MultipleSidecarsWithoutWorkloadSelectors",
    level: Level::Error,
    description: "More than one sidecar resource in a namespace has no workload selector",
    template: "The Sidecars %v in namespace %q have no workload selector, which can lead to undefined behavior.",
    args: &["conflictingSidecars", "namespace"],
};

pub const IST0112: MessageType = MessageType {
    code: "IST0112",
    name: "VirtualServiceDestinationPortSelectorRequired",
    level: Level::Error,
    description: "A VirtualService routes to a service with more than one port exposed, but does not specify which to use.",
    template: "This VirtualService routes to a service %q that exposes multiple ports %v. Specifying a port in the destination is required to disambiguate.",
    args: &["destHost", "destPorts"],
};

pub const IST0116: MessageType = MessageType {
    code: "IST0116",
    name: "DeploymentAssociatedToMultipleServices",
    level: Level::Warning,
    description: "The resulting pods of a service mesh deployment can't be associated with multiple services using the same port but different protocols.",
    template: "This deployment %s is associated with multiple services using port %d but different protocols: %v",
    args: &["deployment", "port", "services"],
};

pub const IST0118: MessageType = MessageType {
    code: "IST0118",
    name: "PortNameIsNotUnderNamingConvention",
    level: Level::Info,
    description: "Port name is not under naming convention. Protocol detection is applied to the port.",
    template: "Port name %s (port: %d, targetPort: %s) doesn't follow the naming convention of Istio port.",
    args: &["portName", "port", "targetPort"],
};

pub const IST0123: MessageType = MessageType {
    code: "IST0123",
    name: "NamespaceMultipleInjectionLabels",
    level: Level::Warning,
    description: "A namespace has more than one type of injection labels",
    template: "The namespace has more than one type of injection labels %v, which may lead to undefined behavior. Make sure only one injection label exists.",
    args: &["labels"],
};

pub const IST0125: MessageType = MessageType {
    code: "IST0125",
    name: "InvalidAnnotation",
    level: Level::Warning,
    description: "An Istio annotation that is not valid",
    template: "Invalid annotation %s: %s",
    args: &["annotation", "problem"],
};

pub const IST0126: MessageType = MessageType {
    code: "IST0126",
    name: "UnknownMeshNetworksServiceRegistry",
    level: Level::Error,
    description: "A service registry in Mesh Networks is unknown",
    template: "Unknown service registry %s in network %s",
    args: &["serviceregistry", "network"],
};

pub const IST0127: MessageType = MessageType {
    code: "IST0127",
    name: "NoMatchingWorkloadsFound",
    level: Level::Warning,
    description: "There aren't workloads matching the resource labels",
    template: "No matching workloads for this resource with the following labels: %s",
    args: &["labels"],
};

pub const IST0128: MessageType = MessageType {
    code: "IST0128",
    name: "NoServerCertificateVerificationDestinationLevel",
    level: Level::Warning,
    description: "No caCertificates are set in DestinationRule, this results in no verification of presented server certificate.",
    template: "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s",
    args: &["destinationrule", "namespace", "mode", "host"],
};

pub const IST0129: MessageType = MessageType {
    code: "IST0129",
    name: "NoServerCertificateVerificationPortLevel",
    level: Level::Warning,
    description: "No caCertificates are set in DestinationRule, this results in no verification of presented server certificate for traffic to a given port.",
    template: "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s at port %s",
    args: &["destinationrule", "namespace", "mode", "host", "port"],
};

pub const IST0130: MessageType = MessageType {
    code: "IST0130",
    name: "VirtualServiceUnreachableRule",
    level: Level::Warning,
    description: "A VirtualService rule will never be used because a previous rule uses the same match.",
    template: "VirtualService rule %v not used (%s).",
    args: &["ruleno", "reason"],
};

pub const IST0131: MessageType = MessageType {
    code: "IST0131",
    name: "VirtualServiceIneffectiveMatch",
    level: Level::Info,
    description: "A VirtualService rule match duplicates a match in a previous rule.",
    template: "VirtualService rule %v match %v is not used (duplicate/overlapping match in rule %v).",
    args: &["ruleno", "matchno", "dupno"],
};

pub const IST0132: MessageType = MessageType {
    code: "IST0132",
    name: "VirtualServiceHostNotFoundInGateway",
    level: Level::Warning,
    description: "Host defined in VirtualService not found in Gateway.",
    template: "one or more host %v defined in VirtualService %s not found in Gateway %s.",
    args: &["host", "virtualservice", "gateway"],
};

pub const IST0133: MessageType = MessageType {
    code: "IST0133",
    name: "SchemaWarning",
    level: Level::Warning,
    description: "The resource has a schema validation warning.",
    template: "Schema validation warning: %v",
    args: &["err"],
};

pub const IST0134: MessageType = MessageType {
    code: "IST0134",
    name: "ServiceEntryAddressesRequired",
    level: Level::Warning,
    description: "Virtual IP addresses are required for ports serving TCP (or unset) protocol when PILOT_ENABLE_IP_AUTOALLOCATE is not set on a proxy",
    template: "ServiceEntry addresses are required for this protocol.",
    args: &[],
};

pub const IST0135: MessageType = MessageType {
    code: "IST0135",
    name: "DeprecatedAnnotation",
    level: Level::Info,
    description: "A resource is using a deprecated Istio annotation.",
    template: "Annotation %q has been deprecated%s and may not work in future Istio versions.",
    args: &["annotation", "extra"],
};

pub const IST0136: MessageType = MessageType {
    code: "IST0136",
    name: "AlphaAnnotation",
    level: Level::Info,
    description: "An Istio annotation may not be suitable for production.",
    template: "Annotation %q is part of an alpha-phase feature and may be incompletely supported.",
    args: &["annotation"],
};

pub const IST0137: MessageType = MessageType {
    code: "IST0137",
    name: "DeploymentConflictingPorts",
    level: Level::Warning,
    description: "Two services selecting the same workload with the same targetPort MUST refer to the same port.",
    template: "This deployment %s is associated with multiple services %v using targetPort %q but different ports: %v.",
    args: &["deployment", "services", "targetPort", "ports"],
};

pub const IST0138: MessageType = MessageType {
    code: "IST0138",
    name: "GatewayDuplicateCertificate",
    level: Level::Warning,
    description: "Duplicate certificate in multiple gateways may cause 404s if clients re-use HTTP2 connections.",
    template: "Duplicate certificate in multiple gateways %v may cause 404s if clients re-use HTTP2 connections.",
    args: &["gateways"],
};

pub const IST0139: MessageType = MessageType {
    code: "IST0139",
    name: "InvalidWebhook",
    level: Level::Error,
    description: "Webhook is invalid or references a control plane service that does not exist.",
    template: "%v",
    args: &["error"],
};

pub const IST0140: MessageType = MessageType {
    code: "IST0140",
    name: "IngressRouteRulesNotAffected",
    level: Level::Warning,
    description: "Route rules have no effect on ingress gateway requests",
    template: "Subset in virtual service %s has no effect on ingress gateway %s requests",
    args: &["virtualservicesubset", "virtualservice"],
};

pub const IST0141: MessageType = MessageType {
    code: "IST0141",
    name: "InsufficientPermissions",
    level: Level::Error,
    description: "Required permissions to install Istio are missing.",
    template: "Missing required permission to create resource %v (%v)",
    args: &["resource", "error"],
};

pub const IST0142: MessageType = MessageType {
    code: "IST0142",
    name: "UnsupportedKubernetesVersion",
    level: Level::Error,
    description: "The Kubernetes version is not supported",
    template: "The Kubernetes Version %q is lower than the minimum version: %v",
    args: &["version", "minimumVersion"],
};

pub const IST0143: MessageType = MessageType {
    code: "IST0143",
    name: "LocalhostListener",
    level: Level::Error,
    description: "A port exposed in a Service is bound to a localhost address",
    template: "Port %v is exposed in a Service but listens on localhost. It will not be exposed to other pods.",
    args: &["port"],
};

pub const IST0144: MessageType = MessageType {
    code: "IST0144",
    name: "InvalidApplicationUID",
    level: Level::Warning,
    description: "Application pods should not run as user ID (UID) 1337",
    template: "User ID (UID) 1337 is reserved for the sidecar proxy.",
    args: &[],
};

pub const IST0145: MessageType = MessageType {
    code: "IST0145",
    name: "ConflictingGateways",
    level: Level::Error,
    description: "Gateway should not have the same selector, port and matched hosts of server",
    template: "Conflict with gateways %s (workload selector %s, port %s, hosts %v).",
    args: &["gateway", "selector", "portnumber", "hosts"],
};

pub const IST0146: MessageType = MessageType {
    code: "IST0146",
    name: "ImageAutoWithoutInjectionWarning",
    level: Level::Warning,
    description: "Deployments with `image: auto` should be targeted for injection.",
    template: "%s %s contains `image: auto` but does not match any Istio injection webhook selectors.",
    args: &["resourceType", "resourceName"],
};

pub const IST0147: MessageType = MessageType {
    code: "IST0147",
    name: "ImageAutoWithoutInjectionError",
    level: Level::Error,
    description: "Pods with `image: auto` should be targeted for injection.",
    template: "%s %s contains `image: auto` but does not match any Istio injection webhook selectors.",
    args: &["resourceType", "resourceName"],
};

pub const IST0148: MessageType = MessageType {
    code: "IST0148",
    name: "NamespaceInjectionEnabledByDefault",
    level: Level::Info,
    description: "user namespace should be injectable if Istio is installed with enableNamespacesByDefault enabled and neither injection label is set.",
    template: "is enabled for Istio injection, as Istio is installed with enableNamespacesByDefault as true.",
    args: &[],
};

pub const IST0149: MessageType = MessageType {
    code: "IST0149",
    name: "JwtClaimBasedRoutingWithoutRequestAuthN",
    level: Level::Error,
    description: "Virtual service using JWT claim based routing without request authentication.",
    template: "The virtual service uses the JWT claim based routing (key: %s) but found no request authentication for the gateway (%s) pod (%s). The request authentication must first be applied for the gateway pods to validate the JWT token and make the claims available for routing.",
    args: &["key", "gateway", "pod"],
};

pub const IST0150: MessageType = MessageType {
    code: "IST0150",
    name: "ExternalNameServiceTypeInvalidPortName",
    level: Level::Warning,
    description: "Proxy may prevent tcp named ports and unmatched traffic for ports serving TCP protocol from being forwarded correctly for ExternalName services.",
    template: "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic for ports serving TCP protocol from being forwarded correctly",
    args: &[],
};

pub const IST0151: MessageType = MessageType {
    code: "IST0151",
    name: "EnvoyFilterUsesRelativeOperation",
    level: Level::Warning,
    description: "This EnvoyFilter does not have a priority and has a relative patch operation set which can cause the EnvoyFilter not to be applied. Using the INSERT_FIRST or ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    template: "This EnvoyFilter does not have a priority and has a relative patch operation set which can cause the EnvoyFilter not to be applied. Using the INSERT_FIRST of ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    args: &[],
};

pub const IST0152: MessageType = MessageType {
    code: "IST0152",
    name: "EnvoyFilterUsesReplaceOperationIncorrectly",
    level: Level::Error,
    description: "The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER.",
    template: "The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER.",
    args: &[],
};

pub const IST0153: MessageType = MessageType {
    code: "IST0153",
    name: "EnvoyFilterUsesAddOperationIncorrectly",
    level: Level::Error,
    description: "The ADD operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
    template: "The ADD operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
    args: &[],
};

pub const IST0154: MessageType = MessageType {
    code: "IST0154",
    name: "EnvoyFilterUsesRemoveOperationIncorrectly",
    level: Level::Error,
    description: "The REMOVE operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
    template: "The REMOVE operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or HTTP_ROUTE.",
    args: &[],
};

pub const IST0155: MessageType = MessageType {
    code: "IST0155",
    name: "EnvoyFilterUsesRelativeOperationWithProxyVersion",
    level: Level::Warning,
    description: "This EnvoyFilter does not have a priority and has a relative patch operation (NSTERT_BEFORE/AFTER, REPLACE, MERGE, DELETE) and proxyVersion set which can cause the EnvoyFilter not to be applied during an upgrade. Using the INSERT_FIRST or ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    template: "This EnvoyFilter does not have a priority and has a relative patch operation (NSTERT_BEFORE/AFTER, REPLACE, MERGE, DELETE) and proxyVersion set which can cause the EnvoyFilter not to be applied during an upgrade. Using the INSERT_FIRST or ADD option or setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
    args: &[],
};

pub const IST0156: MessageType = MessageType {
    code: "IST0156",
    name: "UnsupportedGatewayAPIVersion",
    level: Level::Error,
    description: "The Gateway API CRD version is not supported",
    template: "The Gateway API CRD version %v is lower than the minimum version: %v",
    args: &["version", "minimumVersion"],
};

pub const IST0157: MessageType = MessageType {
    code: "IST0157",
    name: "InvalidTelemetryProvider",
    level: Level::Warning,
    description: "The Telemetry with empty providers will be ignored",
    template: "The Telemetry %v in namespace %q with empty providers will be ignored.",
    args: &["name", "namespace"],
};

pub const IST0158: MessageType = MessageType {
    code: "IST0158",
    name: "PodsIstioProxyImageMismatchInNamespace",
    level: Level::Warning,
    description: "The Istio proxy image of the pods running in the namespace do not match the image defined in the injection configuration.",
    template: "The Istio proxy images of the pods running in the namespace do not match the image defined in the injection configuration (pod names: %v). This often happens after upgrading the Istio control-plane and can be fixed by redeploying the pods.",
    args: &["podNames"],
};

pub const IST0159: MessageType = MessageType {
    code: "IST0159",
    name: "ConflictingTelemetryWorkloadSelectors",
    level: Level::Error,
    description: "A Telemetry resource selects the same workloads as another Telemetry resource",
    template: "The Telemetries %v in namespace %q select the same workload pod %q, which can lead to undefined behavior.",
    args: &["conflictingTelemetries", "namespace", "workloadPod"],
};

pub const IST0160: MessageType = MessageType {
    code: "IST0160",
    name: "MultipleTelemetriesWithoutWorkloadSelectors",
    level: Level::Error,
    description: "More than one telemetry resource in a namespace has no workload selector",
    template: "The Telemetries %v in namespace %q have no workload selector, which can lead to undefined behavior.",
    args: &["conflictingTelemetries", "namespace"],
};

pub const IST0161: MessageType = MessageType {
    code: "IST0161",
    name: "InvalidGatewayCredential",
    level: Level::Error,
    description: "The credential provided for the Gateway resource is invalid",
    template: "The credential referenced by the Gateway %s in namespace %s is invalid, which can cause the traffic not to work as expected.",
    args: &["gatewayName", "gatewayNamespace"],
};

pub const IST0162: MessageType = MessageType {
    code: "IST0162",
    name: "GatewayPortNotDefinedOnService",
    level: Level::Warning,
    description: "Gateway port not exposed by service",
    template: "The gateway is listening on a target port (port %d) that is not defined in the Service associated with its workload instances (Pod selector %s). If you need to access the gateway port through the gateway Service, it will not be available.",
    args: &["port", "selector"],
};

pub const IST0163: MessageType = MessageType {
    code: "IST0163",
    name: "InvalidExternalControlPlaneConfig",
    level: Level::Warning,
    description: "Address for the ingress gateway on the external control plane is not valid",
    template: "The hostname (%s) that was provided for the webhook (%s) to reach the ingress gateway on the external control plane cluster %s. Traffic may not flow properly.",
    args: &["hostname", "webhook", "msg"],
};

pub const IST0164: MessageType = MessageType {
    code: "IST0164",
    name: "ExternalControlPlaneAddressIsNotAHostname",
    level: Level::Info,
    description: "Address for the ingress gateway on the external control plane is an IP address and not a hostname",
    template: "The address (%s) that was provided for the webhook (%s) to reach the ingress gateway on the external control plane cluster is an IP address. This is not recommended for a production environment.",
    args: &["hostname", "webhook"],
};

pub const IST0165: MessageType = MessageType {
    code: "IST0165",
    name: "ReferencedInternalGateway",
    level: Level::Warning,
    description: "VirtualServices should not reference internal Gateways.",
    template: "Gateway reference in VirtualService %s is to an implementation-generated internal Gateway: %s.",
    args: &["virtualservice", "gateway"],
};

pub const IST0166: MessageType = MessageType {
    code: "IST0166",
    name: "IneffectiveSelector",
    level: Level::Warning,
    description: "Selector has no effect when applied to Kubernetes Gateways.",
    template: "Ineffective selector on Kubernetes Gateway %s. Use the TargetRef field instead.",
    args: &["gateway"],
};

pub const IST0167: MessageType = MessageType {
    code: "IST0167",
    name: "IneffectivePolicy",
    level: Level::Warning,
    description: "The policy applied has no impact.",
    template: "The policy has no impact: %s.",
    args: &["reason"],
};

pub const IST0168: MessageType = MessageType {
    code: "IST0168",
    name: "UnknownUpgradeCompatibility",
    level: Level::Warning,
    description: "We cannot automatically detect whether a change is fully compatible or not",
    template: "The configuration %q changed in release %s, but compatibility cannot be automatically detected: %s. Or, install with `--set compatibilityVersion=%s` to retain the old default.",
    args: &["field", "release", "info", "compatVersion"],
};

pub const IST0169: MessageType = MessageType {
    code: "IST0169",
    name: "UpdateIncompatibility",
    level: Level::Warning,
    description: "The provided configuration object may be incompatible due to an upgrade",
    template: "The configuration %q changed in release %s: %s. Or, install with `--set compatibilityVersion=%s` to retain the old default.",
    args: &["field", "release", "info", "compatVersion"],
};

pub const IST0170: MessageType = MessageType {
    code: "IST0170",
    name: "MultiClusterInconsistentService",
    level: Level::Warning,
    description: "The services live in different clusters under multi-cluster deployment model are inconsistent",
    template: "The service %v in namespace %q is inconsistent across clusters %q, which can lead to undefined behaviors. The inconsistent behaviors are: %v.",
    args: &["serviceName", "namespace", "clusters", "error"],
};

pub const IST0171: MessageType = MessageType {
    code: "IST0171",
    name: "NegativeConditionStatus",
    level: Level::Warning,
    description: "A condition with a negative status is present",
    template: "A condition with a negative status is present: type=%s, reason=%s, message=%s.",
    args: &["conditionType", "reason", "message"],
};

pub const IST0173: MessageType = MessageType {
    code: "IST0173",
    name: "DestinationRuleSubsetNotSelectPods",
    level: Level::Error,
    description: "Subsets defined in destination does not select any pods.",
    template: "The Subset %s defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).",
    args: &["subset"],
};

pub const IST0174: MessageType = MessageType {
    code: "IST0174",
    name: "UnknownDestinationRuleHost",
    level: Level::Warning,
    description: "Host defined in destination rule does not match any services in the mesh.",
    template: "The host %s defined in the DestinationRule does not match any services in the mesh.",
    args: &["host"],
};

/// Ferry's own code (istioctl has none): `x precheck -r REV` found REV's control plane already
/// installed, so the install would upgrade it in place rather than run alongside it.
pub const FRY0001: MessageType = MessageType {
    code: "FRY0001",
    name: "ControlPlaneRevisionExists",
    level: Level::Warning,
    description: "A control plane of the revision to install already exists",
    template: "Revision %q is already installed (Deployment %s); installing it again upgrades it in place. Use a new revision to upgrade alongside it",
    args: &["revision", "deployment"],
};

/// Every message type, ordered by code.
pub const ALL: &[&MessageType] = &[
    &FRY0001, &IST0001, &IST0002, &IST0101, &IST0102, &IST0103, &IST0106, &IST0107, &IST0108,
    &IST0109, &IST0110, &IST0111, &IST0112, &IST0116, &IST0118, &IST0123, &IST0125, &IST0126,
    &IST0127, &IST0128, &IST0129, &IST0130, &IST0131, &IST0132, &IST0133, &IST0134, &IST0135,
    &IST0136, &IST0137, &IST0138, &IST0139, &IST0140, &IST0141, &IST0142, &IST0143, &IST0144,
    &IST0145, &IST0146, &IST0147, &IST0148, &IST0149, &IST0150, &IST0151, &IST0152, &IST0153,
    &IST0154, &IST0155, &IST0156, &IST0157, &IST0158, &IST0159, &IST0160, &IST0161, &IST0162,
    &IST0163, &IST0164, &IST0165, &IST0166, &IST0167, &IST0168, &IST0169, &IST0170, &IST0171,
    &IST0173, &IST0174,
];

/// Looks a message type up by its code (`IST0101`).
pub fn by_code(code: &str) -> Option<&'static MessageType> {
    ALL.iter().copied().find(|m| m.code == code)
}
