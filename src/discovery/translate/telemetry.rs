//! What a proxy's HTTP connection managers log, and what share of requests they sample for
//! tracing (istiod's telemetry for the built-in `envoy` file logger and trace sampling): the
//! mesh-wide `accessLogFile`, `accessLogEncoding`, `accessLogFormat`, `enableTracing` and
//! `defaultConfig.tracing.sampling`, overridden by the Telemetry resources that apply to the
//! proxy, the more specific over the less: the root namespace's without a selector, then the
//! proxy's namespace's without one, then the one selecting the proxy's workload. So the seed's
//! "disable access log" works both ways: `accessLogFile: ""`, or a Telemetry with
//! `accessLogging: [{disabled: true}]`.

use envoy_types::pb::envoy::config::accesslog::v3::{AccessLog, access_log};
use envoy_types::pb::envoy::config::core::v3::{
    DataSource, SubstitutionFormatString, data_source, substitution_format_string,
};
use envoy_types::pb::envoy::extensions::access_loggers::file::v3::{
    FileAccessLog, file_access_log,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::Tracing;
use envoy_types::pb::envoy::r#type::v3::Percent;
use envoy_types::pb::google::protobuf::{Struct, Value, value};
use serde_json::Value as Json;

use super::Proxy;
use super::proto::pack;
use crate::config::telemetry::{Telemetry, TelemetryEntry};
use crate::discovery::accepted::Config;
use crate::discovery::mesh::ProxyHeaders;
use crate::discovery::mesh::{AccessLogEncoding, AccessLogOptions};
use crate::discovery::push_context::PushContext;

/// Istio's default text format (`EnvoyTextLogFormat`).
pub const ISTIO_TEXT_FORMAT: &str = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

/// Istio's default JSON format (`EnvoyJSONLogFormatIstio`): key and operator.
pub const ISTIO_JSON_FORMAT: [(&str, &str); 24] = [
    ("start_time", "%START_TIME%"),
    ("route_name", "%ROUTE_NAME%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("protocol", "%PROTOCOL%"),
    ("response_code", "%RESPONSE_CODE%"),
    ("response_flags", "%RESPONSE_FLAGS%"),
    ("response_code_details", "%RESPONSE_CODE_DETAILS%"),
    (
        "connection_termination_details",
        "%CONNECTION_TERMINATION_DETAILS%",
    ),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("duration", "%DURATION%"),
    (
        "upstream_service_time",
        "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    ),
    ("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("upstream_host", "%UPSTREAM_HOST%"),
    ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
    ("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%"),
    ("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%"),
    ("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    ("requested_server_name", "%REQUESTED_SERVER_NAME%"),
    (
        "upstream_transport_failure_reason",
        "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
    ),
];

/// Envoy's file access logger.
pub const FILE_ACCESS_LOG: &str = "envoy.access_loggers.file";
/// Istio's built-in access log provider: the file logger on the proxy's standard output.
const ENVOY_PROVIDER: &str = "envoy";

/// The access logging and tracing of one proxy's HTTP connection managers, and the headers
/// they add to what they forward (the request id and server name are part of what a request
/// is traced and logged by).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HcmTelemetry {
    pub access_log: Vec<AccessLog>,
    pub tracing: Option<Tracing>,
    pub headers: ProxyHeaders,
}

/// What applies to `proxy`, from the mesh config and the Telemetry resources; its own
/// `proxyHeaders`, when it has them, in place of the mesh's.
pub fn for_proxy(
    push: &PushContext,
    proxy: &Proxy,
    own_headers: Option<&ProxyHeaders>,
) -> HcmTelemetry {
    let mesh = push.mesh();
    let mut access_log = mesh.access_log.clone();
    let mut sampling = mesh.trace_sampling.map(|s| f64::from(s) / 100.0);
    for telemetry in applicable(push, proxy) {
        if !telemetry.spec.access_logging.is_empty() {
            access_log = access_logging(&telemetry.spec.access_logging, mesh.access_log.as_ref());
        }
        if let Some(p) = telemetry.spec.tracing.iter().find_map(|t| {
            t.rest
                .get("randomSamplingPercentage")
                .and_then(Json::as_f64)
        }) {
            sampling = Some(p.clamp(0.0, 100.0));
        }
    }
    HcmTelemetry {
        access_log: access_log.iter().map(file_access_log).collect(),
        tracing: sampling.map(|value| Tracing {
            client_sampling: Some(Percent { value: 100.0 }),
            random_sampling: Some(Percent { value }),
            overall_sampling: Some(Percent { value: 100.0 }),
            ..Default::default()
        }),
        headers: own_headers.unwrap_or(&mesh.proxy_headers).clone(),
    }
}

/// The Telemetry resources that apply to `proxy`, least specific first.
fn applicable<'a>(push: &'a PushContext, proxy: &Proxy) -> Vec<&'a Config<Telemetry>> {
    let root = push.mesh().root_namespace.as_str();
    let all = push.telemetries();
    let without_selector = |ns: &str| {
        all.iter().find(|t| {
            t.namespace == ns && t.spec.selector.is_none() && t.spec.target_refs.is_empty()
        })
    };
    let mut out = Vec::new();
    if let Some(t) = without_selector(root) {
        out.push(t);
    }
    if proxy.namespace != root
        && let Some(t) = without_selector(&proxy.namespace)
    {
        out.push(t);
    }
    // Gateways are selected by their labels as workloads are.
    let selecting = all.iter().find(|t| {
        t.namespace == proxy.namespace
            && t.spec.selector.as_ref().is_some_and(|s| {
                !s.match_labels.is_empty()
                    && s.match_labels
                        .iter()
                        .all(|(k, v)| proxy.labels.get(k) == Some(v))
            })
    });
    if let Some(t) = selecting {
        out.push(t);
    }
    out
}

/// `accessLogging` entries: any disabled one turns logging off; one naming the `envoy` provider
/// turns it on (at the mesh's file, else standard output); one without providers keeps the
/// mesh's setting.
fn access_logging(
    entries: &[TelemetryEntry],
    mesh: Option<&AccessLogOptions>,
) -> Option<AccessLogOptions> {
    let disabled =
        |e: &TelemetryEntry| e.rest.get("disabled").and_then(Json::as_bool) == Some(true);
    if entries.iter().any(disabled) {
        return None;
    }
    let envoy = entries
        .iter()
        .any(|e| e.providers.iter().any(|p| p.name == ENVOY_PROVIDER));
    match (envoy, mesh) {
        (_, Some(mesh)) => Some(mesh.clone()),
        (true, None) => Some(AccessLogOptions {
            file: "/dev/stdout".into(),
            encoding: AccessLogEncoding::Text,
            format: None,
        }),
        (false, None) => None,
    }
}

/// The HCM's `envoy.access_loggers.file`, as istiod writes it.
fn file_access_log(options: &AccessLogOptions) -> AccessLog {
    let format = match options.encoding {
        AccessLogEncoding::Text => {
            let text = options.format.as_deref().unwrap_or(ISTIO_TEXT_FORMAT);
            // Istio ends a custom format with the newline Envoy's lines need.
            let text = if text.ends_with('\n') {
                text.to_string()
            } else {
                format!("{text}\n")
            };
            substitution_format_string::Format::TextFormatSource(DataSource {
                specifier: Some(data_source::Specifier::InlineString(text)),
                ..Default::default()
            })
        }
        AccessLogEncoding::Json => {
            let custom = options
                .format
                .as_deref()
                .and_then(|f| serde_json::from_str::<serde_json::Map<String, Json>>(f).ok());
            let fields: Vec<(String, String)> = match custom {
                Some(map) => map
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
                    .collect(),
                None => ISTIO_JSON_FORMAT
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            };
            substitution_format_string::Format::JsonFormat(Struct {
                fields: fields
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k,
                            Value {
                                kind: Some(value::Kind::StringValue(v)),
                            },
                        )
                    })
                    .collect(),
            })
        }
    };
    let file = FileAccessLog {
        path: options.file.clone(),
        access_log_format: Some(file_access_log::AccessLogFormat::LogFormat(
            SubstitutionFormatString {
                format: Some(format),
                ..Default::default()
            },
        )),
    };
    AccessLog {
        name: FILE_ACCESS_LOG.to_string(),
        config_type: Some(access_log::ConfigType::TypedConfig(pack(&file))),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
