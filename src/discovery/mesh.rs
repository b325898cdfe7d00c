//! Mesh-wide settings translation depends on (the subset of Istio's MeshConfig it reads), with
//! Istio's defaults.

use std::time::Duration;

use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::ForwardClientCertDetails;
use serde_json::Value;

/// What a sidecar does with traffic to hosts it has no route for (`outboundTrafficPolicy.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutboundTrafficPolicy {
    /// Forward to the original destination (`PassthroughCluster`); Istio's default.
    #[default]
    AllowAny,
    /// Answer 502 from the `block_all` virtual host and send TCP to `BlackHoleCluster`.
    RegistryOnly,
}

/// Mesh-wide options, Istio's defaults in [`Default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshOptions {
    /// The cluster's DNS suffix: Services are `<name>.<ns>.svc.<domain_suffix>`.
    pub domain_suffix: String,
    /// The trust domain of workload identities (`trustDomain`): `spiffe://<it>/ns/…/sa/…`.
    pub trust_domain: String,
    /// `enableAutoMtls`: clients use Istio mTLS to endpoints that run a proxy unless a
    /// DestinationRule says otherwise.
    pub enable_auto_mtls: bool,
    /// The namespace whose Sidecar without a selector is the mesh-wide default (`rootNamespace`).
    pub root_namespace: String,
    /// `connectTimeout` for clusters without a DestinationRule that sets one.
    pub connect_timeout: Duration,
    /// `dnsRefreshRate` for `STRICT_DNS` and `LOGICAL_DNS` clusters.
    pub dns_refresh_rate: Duration,
    pub outbound_traffic_policy: OutboundTrafficPolicy,
    /// The cluster this control plane runs in (istiod's `--clusterID`): the cluster of every
    /// endpoint read from its own API server or from ServiceEntries, as opposed to a remote
    /// cluster's.
    pub cluster_id: String,
    /// Where and how proxies log requests (`accessLogFile`, `accessLogEncoding`,
    /// `accessLogFormat`); `None` while `accessLogFile` is empty, Istio's default.
    pub access_log: Option<AccessLogOptions>,
    /// The share of requests sampled for tracing, in hundredths of a percent
    /// (`defaultConfig.tracing.sampling`, 1 % by default); `None` when `enableTracing` is false.
    pub trace_sampling: Option<u32>,
    /// How many proxies (load balancers) stand in front of the gateways and are trusted to set
    /// `x-forwarded-for` and `x-forwarded-proto` (`defaultConfig.gatewayTopology.numTrustedProxies`,
    /// 0 by default): the gateways' `xff_num_trusted_hops`.
    pub num_trusted_proxies: u32,
    /// The headers proxies add to what they forward (`defaultConfig.proxyHeaders`).
    pub proxy_headers: ProxyHeaders,
}

/// `defaultConfig.proxyHeaders`, Istio's defaults in [`Default`]: everything on. Users turn
/// headers off to hide that a mesh is there (`server`, the `x-envoy-*` debug headers) or to
/// save their bytes, for the mesh or for one workload (its `proxy.istio.io/config`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxyHeaders {
    pub server: ServerHeaderPolicy,
    /// `requestId` not disabled: a request without `x-request-id` gets one.
    pub request_id: bool,
    /// `attemptCount` not disabled: each upstream try says its number in
    /// `x-envoy-attempt-count`.
    pub attempt_count: bool,
    /// `envoyDebugHeaders` not disabled: responses carry `x-envoy-upstream-service-time`
    /// (the router's `suppress_envoy_headers` otherwise).
    pub envoy_debug_headers: bool,
    /// `forwardedClientCert`: what a sidecar's inbound side does with `x-forwarded-client-cert`;
    /// `None` is Istio's `APPEND_FORWARD`. Istio's names are Envoy's.
    pub forwarded_client_cert: Option<ForwardClientCertDetails>,
}

impl Default for ProxyHeaders {
    fn default() -> Self {
        ProxyHeaders {
            server: ServerHeaderPolicy::Istio,
            request_id: true,
            attempt_count: true,
            envoy_debug_headers: true,
            forwarded_client_cert: None,
        }
    }
}

impl ProxyHeaders {
    /// Istio's `ProxyConfig.ProxyHeaders` as JSON (YAML read as JSON), under `key` in errors.
    /// What it does not name is on, as in Istio. Two fields are accepted and have no effect:
    /// `metadataExchangeHeaders`, because Ferry's proxies only ever send metadata exchange to
    /// destinations in the mesh (its `IN_MESH` mode), and `setCurrentClientCertDetails`,
    /// because inbound listeners always forward the subject, URI and DNS SANs.
    pub fn from_json(key: &str, headers: &Value) -> Result<ProxyHeaders, String> {
        let mut out = ProxyHeaders::default();
        if headers.is_null() {
            return Ok(out);
        }
        let Some(headers) = headers.as_object() else {
            return Err(format!("{key}: expected an object, got {headers}"));
        };
        const FIELDS: [&str; 7] = [
            "server",
            "requestId",
            "attemptCount",
            "envoyDebugHeaders",
            "forwardedClientCert",
            "metadataExchangeHeaders",
            "setCurrentClientCertDetails",
        ];
        if let Some(unknown) = headers.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(format!(
                "{key}: unknown field {unknown:?} (Istio's are {})",
                FIELDS.join(", ")
            ));
        }
        // The header settings are objects (`{disabled: true}`); `null` is absent.
        let object = |field: &str| -> Result<Option<&serde_json::Map<String, Value>>, String> {
            match headers.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Object(o)) => Ok(Some(o)),
                Some(other) => Err(format!(
                    "{key}.{field}: expected an object like {{disabled: true}}, got {other}"
                )),
            }
        };
        // `disabled` is a `BoolValue`, which YAML writes as a plain boolean.
        let disabled = |field: &str| -> Result<bool, String> {
            match object(field)?.and_then(|o| o.get("disabled")) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(format!(
                    "{key}.{field}.disabled: expected true or false, got {other}"
                )),
            }
        };
        out.request_id = !disabled("requestId")?;
        out.attempt_count = !disabled("attemptCount")?;
        out.envoy_debug_headers = !disabled("envoyDebugHeaders")?;
        out.server = if disabled("server")? {
            ServerHeaderPolicy::Disabled
        } else {
            match object("server")?.and_then(|s| s.get("value")) {
                None | Some(Value::Null) => ServerHeaderPolicy::Istio,
                Some(Value::String(v)) if v.is_empty() => ServerHeaderPolicy::Istio,
                Some(Value::String(v)) if http::HeaderValue::from_str(v).is_ok() => {
                    ServerHeaderPolicy::Named(v.clone())
                }
                Some(Value::String(v)) => {
                    return Err(format!(
                        "{key}.server.value: {v:?} is not a header value (printable ASCII)"
                    ));
                }
                Some(other) => {
                    return Err(format!(
                        "{key}.server.value: expected a string, got {other}"
                    ));
                }
            }
        };
        // Istio's value names are Envoy's `ForwardClientCertDetails`, with `UNDEFINED` for unset.
        out.forwarded_client_cert = match headers.get("forwardedClientCert") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "UNDEFINED" => None,
            Some(Value::String(s)) => {
                Some(ForwardClientCertDetails::from_str_name(s).ok_or_else(|| {
                    format!(
                        "{key}.forwardedClientCert: {s:?} is not SANITIZE, FORWARD_ONLY, \
                         APPEND_FORWARD, SANITIZE_SET or ALWAYS_FORWARD_ONLY"
                    )
                })?)
            }
            Some(other) => {
                return Err(format!(
                    "{key}.forwardedClientCert: expected a string, got {other}"
                ));
            }
        };
        Ok(out)
    }
}

/// `proxyHeaders.server`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ServerHeaderPolicy {
    /// Istio's names: `istio-envoy` from gateways and sidecars' inbound side, Envoy's `envoy`
    /// from a sidecar's outbound side, replacing what the upstream said.
    #[default]
    Istio,
    /// `disabled: true`: the upstream's `server` header passes through (none when it sent none).
    Disabled,
    /// `value`: this name, from every listener.
    Named(String),
}

/// `accessLogEncoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessLogEncoding {
    #[default]
    Text,
    Json,
}

/// Mesh-wide access logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogOptions {
    /// A path, `/dev/stdout` usually.
    pub file: String,
    pub encoding: AccessLogEncoding,
    /// `accessLogFormat`: Envoy's format string (TEXT) or a JSON object of them (JSON); Istio's
    /// default format when `None`.
    pub format: Option<String>,
}

/// Istio's default `defaultConfig.tracing.sampling`: 1 %, in hundredths of a percent.
pub const DEFAULT_TRACE_SAMPLING: u32 = 100;

/// istiod's cluster ID when neither `--clusterID` nor `CLUSTER_ID` names one.
pub const DEFAULT_CLUSTER_ID: &str = "Kubernetes";

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions {
            domain_suffix: "cluster.local".to_string(),
            trust_domain: crate::identity::spiffe::DEFAULT_TRUST_DOMAIN.to_string(),
            enable_auto_mtls: true,
            root_namespace: "istio-system".to_string(),
            connect_timeout: Duration::from_secs(10),
            dns_refresh_rate: Duration::from_secs(60),
            outbound_traffic_policy: OutboundTrafficPolicy::AllowAny,
            cluster_id: DEFAULT_CLUSTER_ID.to_string(),
            access_log: None,
            trace_sampling: Some(DEFAULT_TRACE_SAMPLING),
            num_trusted_proxies: 0,
            proxy_headers: ProxyHeaders::default(),
        }
    }
}
