//! Rewriting the application's HTTP, TCP and gRPC probes to the sidecar's status port (Istio's
//! `app_probe.go`, `sidecar.istio.io/rewriteAppHTTPProbers`). With the proxy in front of the
//! application (mutual TLS, or a port only the proxy answers on), the kubelet's probes would
//! fail; so each probe is sent to `/app-health/<container>/livez|readyz|startupz` on the status
//! port instead, and the original goes to the proxy in `ISTIO_KUBE_APP_PROBERS`, which it runs
//! against the application when asked (`proxy::status`).
//!
//! The JSON is Istio's (`KubeAppProbers`, Go's encoding: keys sorted, fields in Go's order), so a
//! pod injected by either reads the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::PROXY_CONTAINER;

/// The proxy's environment variable with the original probes.
pub const APP_PROBERS_ENV: &str = "ISTIO_KUBE_APP_PROBERS";
/// The pod annotation that turns the rewrite on or off.
pub const REWRITE_ANNOTATION: &str = "sidecar.istio.io/rewriteAppHTTPProbers";
/// The pod annotation that moves the status port.
pub const STATUS_PORT_ANNOTATION: &str = "status.sidecar.istio.io/port";
/// Istio's agent status port (`ProxyConfig.statusPort`'s default).
pub const DEFAULT_STATUS_PORT: u16 = 15020;

/// The three probes a container may have, and the URL suffix each is served at.
const KINDS: [(&str, &str); 3] = [
    ("readinessProbe", "readyz"),
    ("livenessProbe", "livez"),
    ("startupProbe", "startupz"),
];

/// A port as Kubernetes writes it: a number or a port name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortRef {
    Number(i64),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// `HTTPGetAction`, fields in Go's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpGet {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    pub port: PortRef,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_headers: Vec<HttpHeader>,
}

/// `TCPSocketAction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpSocket {
    pub port: PortRef,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

/// `GRPCAction`: Go writes an unset service as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grpc {
    pub port: i64,
    #[serde(default)]
    pub service: Option<String>,
}

/// One original probe (Istio's `status.Prober`): one of the three actions and its timeout.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prober {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<Grpc>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout_seconds: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `ISTIO_KUBE_APP_PROBERS`: the original probes by the path the kubelet now asks for.
pub type AppProbers = BTreeMap<String, Prober>;

/// Parses `ISTIO_KUBE_APP_PROBERS`.
pub fn parse_app_probers(text: &str) -> Result<AppProbers, serde_json::Error> {
    serde_json::from_str(text)
}

/// The path a container's probe of kind `suffix` (`livez`, `readyz`, `startupz`) is served at.
pub fn prober_url(container: &str, suffix: &str) -> String {
    format!("/app-health/{container}/{suffix}")
}

/// Whether to rewrite: the pod's annotation when it parses as Go's `strconv.ParseBool` does,
/// else the injector's setting.
pub fn should_rewrite(annotation: Option<&str>, default: bool) -> bool {
    match annotation {
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => true,
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => false,
        _ => default,
    }
}

/// The probe's action as an internal prober (`kubeProbeToInternalProber`): HTTP first, then TCP,
/// then gRPC, as Istio picks when a probe (wrongly) has several.
fn prober_of(probe: &Value) -> Option<Prober> {
    let action = |key: &str| probe.get(key).filter(|v| v.is_object()).cloned();
    let timeout_seconds = probe
        .get("timeoutSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut p = Prober {
        timeout_seconds,
        ..Prober::default()
    };
    if let Some(h) = action("httpGet") {
        p.http_get = Some(serde_json::from_value(h).ok()?);
    } else if let Some(t) = action("tcpSocket") {
        p.tcp_socket = Some(serde_json::from_value(t).ok()?);
    } else if let Some(g) = action("grpc") {
        p.grpc = Some(serde_json::from_value(g).ok()?);
    } else {
        return None;
    }
    Some(p)
}

/// A named port resolved to the container's port number; `None` when the container has no port
/// of that name (Istio then leaves the probe out of the env). A probe already pointing at the
/// status port was rewritten before and is left out too.
fn resolved(mut p: Prober, ports: &BTreeMap<String, i64>, status_port: u16) -> Option<Prober> {
    if p.grpc.is_some() {
        return Some(p);
    }
    let port = match (&mut p.http_get, &mut p.tcp_socket) {
        (Some(h), _) => &mut h.port,
        (None, Some(t)) => &mut t.port,
        (None, None) => return None,
    };
    match port {
        PortRef::Name(name) => *port = PortRef::Number(*ports.get(name.as_str())?),
        PortRef::Number(n) if *n == i64::from(status_port) => return None,
        PortRef::Number(_) => {}
    }
    Some(p)
}

/// The probe the kubelet gets instead of `probe`: an HTTP GET of `url` on the status port,
/// everything else (timings, and an HTTP probe's host and headers) kept. HTTPS becomes HTTP:
/// the proxy speaks TLS to the application itself.
fn converted(probe: &Value, url: &str, status_port: u16) -> Option<Value> {
    let mut p = probe.as_object()?.clone();
    if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
        h.insert("path".into(), url.into());
        h.insert("port".into(), status_port.into());
        if h.get("scheme").and_then(Value::as_str) == Some("HTTPS") {
            h.insert("scheme".into(), "HTTP".into());
        }
    } else if p.contains_key("tcpSocket") || p.contains_key("grpc") {
        p.remove("tcpSocket");
        p.remove("grpc");
        let mut h = Map::new();
        h.insert("path".into(), url.into());
        h.insert("port".into(), status_port.into());
        p.insert("httpGet".into(), Value::Object(h));
    } else {
        return None;
    }
    Some(Value::Object(p))
}

/// The application's containers: init containers too, as Istio's `allContainers` (a native
/// sidecar is probed like any container), but not the proxy.
fn containers_mut(spec: &mut Map<String, Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    spec.iter_mut()
        .filter(|(k, _)| *k == "initContainers" || *k == "containers")
        .filter_map(|(_, v)| v.as_array_mut())
        .flatten()
        .filter_map(Value::as_object_mut)
        .filter(|c| c.get("name").and_then(Value::as_str) != Some(PROXY_CONTAINER))
}

/// Rewrites the probes of every application container in `spec` to the status port and
/// returns the originals as `ISTIO_KUBE_APP_PROBERS` (`None` when there were none to rewrite).
pub(crate) fn rewrite(spec: &mut Map<String, Value>, status_port: u16) -> Option<String> {
    let mut probers = AppProbers::new();
    for c in containers_mut(spec) {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let ports: BTreeMap<String, i64> = c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    p.get("name")?.as_str()?.to_string(),
                    p.get("containerPort")?.as_i64()?,
                ))
            })
            .collect();
        for (key, suffix) in KINDS {
            let Some(probe) = c.get(key) else { continue };
            let url = prober_url(&name, suffix);
            if let Some(p) = prober_of(probe).and_then(|p| resolved(p, &ports, status_port)) {
                probers.insert(url.clone(), p);
            }
            if let Some(new) = converted(probe, &url, status_port) {
                c.insert(key.into(), new);
            }
        }
    }
    if probers.is_empty() {
        return None;
    }
    serde_json::to_string(&probers).ok()
}

/// Puts back the probes an earlier injection rewrote (from its `ISTIO_KUBE_APP_PROBERS`), so
/// that injecting again starts from the application's own probes.
pub(crate) fn restore(spec: &mut Map<String, Value>, probers: &AppProbers, status_port: u16) {
    for c in containers_mut(spec) {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for (key, suffix) in KINDS {
            let url = prober_url(&name, suffix);
            let Some(original) = probers.get(&url) else {
                continue;
            };
            let Some(probe) = c.get_mut(key).and_then(Value::as_object_mut) else {
                continue;
            };
            let ours = probe.get("httpGet").is_some_and(|h| {
                h.get("path").and_then(Value::as_str) == Some(url.as_str())
                    && h.get("port").and_then(Value::as_i64) == Some(i64::from(status_port))
            });
            if !ours {
                continue;
            }
            let (key, action) = if let Some(h) = &original.http_get {
                ("httpGet", serde_json::to_value(h))
            } else if let Some(t) = &original.tcp_socket {
                ("tcpSocket", serde_json::to_value(t))
            } else if let Some(g) = &original.grpc {
                ("grpc", serde_json::to_value(g))
            } else {
                continue;
            };
            if let Ok(action) = action {
                probe.remove("httpGet");
                probe.insert(key.into(), action);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(containers: Value) -> Map<String, Value> {
        json!({"containers": containers})
            .as_object()
            .cloned()
            .expect("object")
    }

    #[test]
    fn the_annotation_parses_as_go_bools_and_falls_back_to_the_setting() {
        assert!(should_rewrite(None, true));
        assert!(!should_rewrite(None, false));
        assert!(should_rewrite(Some("true"), false));
        assert!(should_rewrite(Some("T"), false));
        assert!(!should_rewrite(Some("false"), true));
        assert!(!should_rewrite(Some("0"), true));
        // Not a Go bool: the setting decides.
        assert!(should_rewrite(Some("yes"), true));
        assert!(!should_rewrite(Some("yes"), false));
    }

    /// Istio's `TestDumpAppProbersForIncludedPorts` "http, grpc, and tcp probes on different
    /// ports": the same JSON, byte for byte.
    #[test]
    fn http_grpc_and_tcp_probes_are_dumped_as_istio_dumps_them() {
        let mut s = spec(json!([{
            "name": "multi-probe-container",
            "ports": [{"containerPort": 8080}, {"containerPort": 9090}, {"containerPort": 7070}],
            "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
            "readinessProbe": {"grpc": {"port": 9090}},
            "startupProbe": {"tcpSocket": {"port": 7070}},
        }]));
        let env = rewrite(&mut s, 15020).expect("probers");
        assert_eq!(
            env,
            r#"{"/app-health/multi-probe-container/livez":{"httpGet":{"path":"/health","port":8080}},"/app-health/multi-probe-container/readyz":{"grpc":{"port":9090,"service":null}},"/app-health/multi-probe-container/startupz":{"tcpSocket":{"port":7070}}}"#
        );
        let c = &s["containers"][0];
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"path": "/app-health/multi-probe-container/livez", "port": 15020}})
        );
        assert_eq!(
            c["readinessProbe"],
            json!({"httpGet": {"path": "/app-health/multi-probe-container/readyz", "port": 15020}})
        );
        assert_eq!(
            c["startupProbe"],
            json!({"httpGet": {"path": "/app-health/multi-probe-container/startupz", "port": 15020}})
        );
    }

    /// Istio's testdata `hello-probes` (two containers, a named port, an exec probe): the env
    /// value its `.injected` file holds.
    #[test]
    fn named_ports_resolve_and_exec_probes_stay() {
        let mut s = spec(json!([
            {"name": "hello", "ports": [{"containerPort": 80, "name": "http"}],
             "livenessProbe": {"httpGet": {"port": "http"}},
             "readinessProbe": {"httpGet": {"port": 3333}}},
            {"name": "world", "ports": [{"containerPort": 90, "name": "http"}],
             "livenessProbe": {"httpGet": {"port": "http"}},
             "readinessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}}},
        ]));
        let env = rewrite(&mut s, 15020).expect("probers");
        assert_eq!(
            env,
            r#"{"/app-health/hello/livez":{"httpGet":{"port":80}},"/app-health/hello/readyz":{"httpGet":{"port":3333}},"/app-health/world/livez":{"httpGet":{"port":90}}}"#
        );
        assert_eq!(
            s["containers"][1]["readinessProbe"],
            json!({"exec": {"command": ["cat", "/tmp/healthy"]}})
        );
        assert_eq!(
            s["containers"][1]["livenessProbe"]["httpGet"],
            json!({"port": 15020, "path": "/app-health/world/livez"})
        );
    }

    #[test]
    fn https_becomes_http_and_timings_host_and_headers_stay() {
        let probe = json!({
            "httpGet": {"path": "/ready", "port": 8443, "scheme": "HTTPS", "host": "app.local",
                        "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
            "timeoutSeconds": 3, "periodSeconds": 7, "failureThreshold": 4,
        });
        let mut s = spec(
            json!([{"name": "app", "readinessProbe": probe, "startupProbe": {
            "grpc": {"port": 9000, "service": "health"}, "timeoutSeconds": 10}}]),
        );
        let env = rewrite(&mut s, 15021).expect("probers");
        assert_eq!(
            env,
            r#"{"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8443,"host":"app.local","scheme":"HTTPS","httpHeaders":[{"name":"X-Probe","value":"1"}]},"timeoutSeconds":3},"/app-health/app/startupz":{"grpc":{"port":9000,"service":"health"},"timeoutSeconds":10}}"#
        );
        assert_eq!(
            s["containers"][0]["readinessProbe"],
            json!({
                "httpGet": {"path": "/app-health/app/readyz", "port": 15021, "scheme": "HTTP",
                            "host": "app.local", "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                "timeoutSeconds": 3, "periodSeconds": 7, "failureThreshold": 4,
            })
        );
        assert_eq!(
            s["containers"][0]["startupProbe"],
            json!({"timeoutSeconds": 10, "httpGet": {"path": "/app-health/app/startupz", "port": 15021}})
        );
    }

    #[test]
    fn nothing_to_rewrite_is_no_env_and_an_unknown_port_name_is_left_out() {
        let mut s = spec(json!([{"name": "app"}]));
        assert_eq!(rewrite(&mut s, 15020), None);
        // Istio drops a probe on an undeclared port name from the env, and still rewrites it.
        let mut s = spec(json!([{"name": "app", "livenessProbe": {"httpGet": {"port": "web"}}}]));
        assert_eq!(rewrite(&mut s, 15020), None);
        assert_eq!(
            s["containers"][0]["livenessProbe"]["httpGet"]["path"],
            "/app-health/app/livez"
        );
    }

    #[test]
    fn restore_undoes_rewrite() {
        let original = spec(json!([
            {"name": "hello", "ports": [{"containerPort": 80, "name": "http"}],
             "livenessProbe": {"httpGet": {"path": "/l", "port": 80, "scheme": "HTTPS"},
                               "periodSeconds": 3},
             "readinessProbe": {"tcpSocket": {"port": 80}},
             "startupProbe": {"grpc": {"port": 81, "service": null}}},
            {"name": "istio-proxy", "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}},
        ]));
        let mut s = original.clone();
        let env = rewrite(&mut s, 15020).expect("probers");
        assert_ne!(s, original);
        // The proxy's own probe is not the application's.
        assert_eq!(
            s["containers"][1]["readinessProbe"]["httpGet"]["path"],
            "/healthz/ready"
        );
        restore(&mut s, &parse_app_probers(&env).expect("parses"), 15020);
        assert_eq!(s, original);
        // Rewriting an already rewritten pod finds nothing to report.
        let mut again = s.clone();
        rewrite(&mut again, 15020);
        assert_eq!(rewrite(&mut again, 15020), None);
    }
}
