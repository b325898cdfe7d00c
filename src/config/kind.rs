//! The kinds Ferry understands: their API group, served versions and scope.

use std::fmt;

macro_rules! kinds {
    ($( $variant:ident => $name:literal, $group:literal, [$($ver:literal),*], $cluster:literal; )*) => {
        /// A kind of object Ferry reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $($variant,)* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// The `kind:` field as written in YAML.
            pub fn name(self) -> &'static str {
                match self { $(Kind::$variant => $name,)* }
            }

            /// API group; empty for the core group.
            pub fn group(self) -> &'static str {
                match self { $(Kind::$variant => $group,)* }
            }

            /// Versions served for this kind, oldest first.
            pub fn versions(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => &[$($ver),*],)* }
            }

            pub fn cluster_scoped(self) -> bool {
                match self { $(Kind::$variant => $cluster,)* }
            }
        }
    };
}

kinds! {
    VirtualService => "VirtualService", "networking.istio.io", ["v1alpha3", "v1beta1", "v1"], false;
    DestinationRule => "DestinationRule", "networking.istio.io", ["v1alpha3", "v1beta1", "v1"], false;
    Gateway => "Gateway", "networking.istio.io", ["v1alpha3", "v1beta1", "v1"], false;
    ServiceEntry => "ServiceEntry", "networking.istio.io", ["v1alpha3", "v1beta1", "v1"], false;
    WorkloadEntry => "WorkloadEntry", "networking.istio.io", ["v1alpha3", "v1beta1", "v1"], false;
    WorkloadGroup => "WorkloadGroup", "networking.istio.io", ["v1alpha3", "v1beta1", "v1"], false;
    Sidecar => "Sidecar", "networking.istio.io", ["v1alpha3", "v1beta1", "v1"], false;
    EnvoyFilter => "EnvoyFilter", "networking.istio.io", ["v1alpha3"], false;
    ProxyConfig => "ProxyConfig", "networking.istio.io", ["v1beta1"], false;
    PeerAuthentication => "PeerAuthentication", "security.istio.io", ["v1beta1", "v1"], false;
    AuthorizationPolicy => "AuthorizationPolicy", "security.istio.io", ["v1beta1", "v1"], false;
    RequestAuthentication => "RequestAuthentication", "security.istio.io", ["v1beta1", "v1"], false;
    Telemetry => "Telemetry", "telemetry.istio.io", ["v1alpha1", "v1"], false;
    WasmPlugin => "WasmPlugin", "extensions.istio.io", ["v1alpha1"], false;
    IstioOperator => "IstioOperator", "install.istio.io", ["v1alpha1"], false;
    Service => "Service", "", ["v1"], false;
    Pod => "Pod", "", ["v1"], false;
    Namespace => "Namespace", "", ["v1"], true;
    ConfigMap => "ConfigMap", "", ["v1"], false;
    Secret => "Secret", "", ["v1"], false;
    Node => "Node", "", ["v1"], true;
    ServiceAccount => "ServiceAccount", "", ["v1"], false;
    Endpoints => "Endpoints", "", ["v1"], false;
    EndpointSlice => "EndpointSlice", "discovery.k8s.io", ["v1"], false;
    Deployment => "Deployment", "apps", ["v1"], false;
    StatefulSet => "StatefulSet", "apps", ["v1"], false;
    DaemonSet => "DaemonSet", "apps", ["v1"], false;
    ReplicaSet => "ReplicaSet", "apps", ["v1"], false;
    Job => "Job", "batch", ["v1"], false;
    CronJob => "CronJob", "batch", ["v1"], false;
    MutatingWebhookConfiguration => "MutatingWebhookConfiguration", "admissionregistration.k8s.io", ["v1"], true;
    ValidatingWebhookConfiguration => "ValidatingWebhookConfiguration", "admissionregistration.k8s.io", ["v1"], true;
    CustomResourceDefinition => "CustomResourceDefinition", "apiextensions.k8s.io", ["v1"], true;
    KubernetesGateway => "Gateway", "gateway.networking.k8s.io", ["v1alpha2", "v1beta1", "v1"], false;
    GatewayClass => "GatewayClass", "gateway.networking.k8s.io", ["v1alpha2", "v1beta1", "v1"], true;
    HttpRoute => "HTTPRoute", "gateway.networking.k8s.io", ["v1alpha2", "v1beta1", "v1"], false;
    GrpcRoute => "GRPCRoute", "gateway.networking.k8s.io", ["v1alpha2", "v1"], false;
    TcpRoute => "TCPRoute", "gateway.networking.k8s.io", ["v1alpha2"], false;
    TlsRoute => "TLSRoute", "gateway.networking.k8s.io", ["v1alpha2"], false;
    ReferenceGrant => "ReferenceGrant", "gateway.networking.k8s.io", ["v1alpha2", "v1beta1"], false;
}

/// How an `apiVersion`/`kind` pair resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindLookup {
    Known(Kind),
    /// The kind exists in that group, but not at this version.
    UnknownVersion {
        kind: Kind,
        version: String,
    },
    /// Nothing Ferry reads; skipped and listed under `-v`.
    Unknown,
}

/// Resolves `apiVersion` (`group/version` or `version` for the core group) and `kind`.
pub fn lookup(api_version: &str, kind: &str) -> KindLookup {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let mut found = None;
    for k in Kind::ALL {
        if k.name() == kind && k.group() == group {
            if k.versions().contains(&version) {
                return KindLookup::Known(*k);
            }
            found = Some(*k);
        }
    }
    if found.is_none() {
        // An Istio kind under a malformed apiVersion (no version, another Istio group, or none)
        // is a mistake, not some other API's object: skipping it would hide the whole resource.
        let istio_like =
            group.ends_with("istio.io") || version.ends_with("istio.io") || group.is_empty();
        if istio_like {
            found = Kind::ALL
                .iter()
                .find(|k| k.is_istio() && k.name() == kind)
                .copied();
        }
    }
    match found {
        Some(kind) => KindLookup::UnknownVersion {
            kind,
            version: version.to_string(),
        },
        None => KindLookup::Unknown,
    }
}

impl Kind {
    /// `group/version` strings this kind is served at, for error messages.
    pub fn api_versions(self) -> Vec<String> {
        self.versions()
            .iter()
            .map(|v| {
                if self.group().is_empty() {
                    (*v).to_string()
                } else {
                    format!("{}/{}", self.group(), v)
                }
            })
            .collect()
    }

    /// The resource name the API server serves the kind under (`virtualservices`,
    /// `serviceentries`, `authorizationpolicies`), as the CRDs and the core API spell it.
    pub fn plural(self) -> String {
        let lower = self.name().to_ascii_lowercase();
        if lower.ends_with('s') {
            // `Endpoints` is already plural.
            lower
        } else if let Some(stem) = lower.strip_suffix('y')
            && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
        {
            format!("{stem}ies")
        } else {
            format!("{lower}s")
        }
    }

    /// Whether the kind belongs to one of Istio's own API groups.
    pub fn is_istio(self) -> bool {
        self.group().ends_with(".istio.io")
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_match_the_api_server() {
        for (kind, plural) in [
            (Kind::ServiceEntry, "serviceentries"),
            (Kind::AuthorizationPolicy, "authorizationpolicies"),
            (Kind::Telemetry, "telemetries"),
            (Kind::Gateway, "gateways"),
            (Kind::Endpoints, "endpoints"),
            (Kind::HttpRoute, "httproutes"),
            (
                Kind::MutatingWebhookConfiguration,
                "mutatingwebhookconfigurations",
            ),
            (Kind::ProxyConfig, "proxyconfigs"),
        ] {
            assert_eq!(kind.plural(), plural, "{kind:?}");
        }
        // The CRDs Ferry installs agree.
        for crd in crate::install::crds::crd_kinds() {
            assert_eq!(crd.kind.plural(), crd.plural, "{:?}", crd.kind);
        }
    }

    #[test]
    fn versions_resolve() {
        assert_eq!(
            lookup("networking.istio.io/v1beta1", "VirtualService"),
            KindLookup::Known(Kind::VirtualService)
        );
        assert_eq!(lookup("v1", "Service"), KindLookup::Known(Kind::Service));
        assert_eq!(
            lookup("gateway.networking.k8s.io/v1", "Gateway"),
            KindLookup::Known(Kind::KubernetesGateway)
        );
        assert_eq!(
            lookup("networking.istio.io/v2", "VirtualService"),
            KindLookup::UnknownVersion {
                kind: Kind::VirtualService,
                version: "v2".into()
            }
        );
        assert_eq!(lookup("example.com/v1", "Widget"), KindLookup::Unknown);
    }
}
