//! Probe rewriting end to end without a cluster: `ferryctl kube-inject` rewrites a pod's probes
//! to the sidecar's status port and hands the originals to the proxy; a real `ferryctl proxy
//! sidecar` started with what injection wrote answers the rewritten probes by running the
//! originals against a real application on 127.0.0.1.

use std::time::Duration;

use ferry::config::yaml::{Limits, parse_stream};
use serde_json::Value;

use crate::ferryctl;
use crate::kube_inject::rendered;
use crate::mesh::{Process, backend_fn, free_port, http_request};

fn pod_yaml(port: u16) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {{app: web}}
spec:
  containers:
  - name: app
    image: registry.invalid/web:1
    ports:
    - {{containerPort: {port}, name: http}}
    readinessProbe:
      httpGet: {{path: /ready, port: http}}
      timeoutSeconds: 2
    livenessProbe:
      httpGet: {{path: /sick, port: {port}}}
    startupProbe:
      tcpSocket: {{port: {port}}}
"
    )
}

fn env<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidecar_answers_the_probes_injection_rewrote() {
    let app = backend_fn(|_, uri, _| {
        let status = if uri.path() == "/ready" { 200 } else { 503 };
        (status, String::new(), Duration::ZERO)
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = rendered(dir.path(), &[]);
    let pod = dir.path().join("pod.yaml");
    std::fs::write(&pod, pod_yaml(app.port())).expect("writes");
    let out = ferryctl()
        .args(["kube-inject", "-f"])
        .arg(&pod)
        .arg("--injectConfigFile")
        .arg(&files.config)
        .arg("--valuesFile")
        .arg(&files.values)
        .arg("--meshConfigFile")
        .arg(&files.mesh)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let stream = parse_stream(&text, Limits::default());
    let injected = stream.documents[0].root.to_json();
    let containers = injected["spec"]["containers"]
        .as_array()
        .expect("containers");
    let app_container = &containers[0];
    for (probe, suffix) in [
        ("readinessProbe", "readyz"),
        ("livenessProbe", "livez"),
        ("startupProbe", "startupz"),
    ] {
        assert_eq!(
            app_container[probe]["httpGet"]["path"],
            format!("/app-health/app/{suffix}"),
            "{text}"
        );
        assert_eq!(app_container[probe]["httpGet"]["port"], 15020, "{text}");
    }
    assert_eq!(app_container["readinessProbe"]["timeoutSeconds"], 2);
    let proxy = containers
        .iter()
        .find(|c| c["name"] == "istio-proxy")
        .expect("the proxy");
    let probers = env(proxy, "ISTIO_KUBE_APP_PROBERS").expect("the original probes");
    let port = app.port();
    assert_eq!(
        probers,
        format!(
            r#"{{"/app-health/app/livez":{{"httpGet":{{"path":"/sick","port":{port}}}}},"/app-health/app/readyz":{{"httpGet":{{"path":"/ready","port":{port}}},"timeoutSeconds":2}},"/app-health/app/startupz":{{"tcpSocket":{{"port":{port}}}}}}}"#
        )
    );
    let args: Vec<&str> = proxy["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.contains(&"--status-port=15020"), "{args:?}");
    // The readiness probe's port (15021) is served too, or the pod would never become Ready.
    assert!(args.contains(&"--readiness-port=15021"), "{args:?}");
    assert_eq!(proxy["readinessProbe"]["httpGet"]["port"], 15021);

    // The proxy as injection configured it, on a free status port rather than 15020, with no
    // control plane (so not ready itself).
    let nowhere = format!("127.0.0.1:{}", free_port());
    let sidecar = Process::start_with_env(
        &[
            "proxy",
            "sidecar",
            "--discovery-address",
            &nowhere,
            "--admin-address",
            "127.0.0.1:0",
            "--status-port",
            "0",
            "--readiness-port",
            "0",
            "--ip",
            "127.0.0.1",
        ],
        &[("ISTIO_KUBE_APP_PROBERS", probers)],
    );
    let bound = sidecar.line("ferryctl proxy: status on ");
    let status_port = bound.rsplit(':').next().expect("a port");
    let status = format!("127.0.0.1:{status_port}");
    let get = |path: &str| {
        http_request(&status, "GET", "10.0.0.7:15020", path)
            .expect("the status port answers")
            .0
    };
    assert_eq!(get("/app-health/app/readyz"), 200);
    assert_eq!(
        get("/app-health/app/livez"),
        503,
        "the application's own 503"
    );
    assert_eq!(get("/app-health/app/startupz"), 200, "something listens");
    assert_eq!(get("/app-health/other/readyz"), 404);
    assert_eq!(get("/healthz/ready"), 503, "no control plane, no config");
    let bound = sidecar.line("ferryctl proxy: readiness on ");
    let readiness = format!("127.0.0.1:{}", bound.rsplit(':').next().expect("a port"));
    let get = |path: &str| {
        http_request(&readiness, "GET", "10.0.0.7:15021", path)
            .expect("the readiness port answers")
            .0
    };
    assert_eq!(get("/healthz/ready"), 503, "no control plane, no config");
    assert_eq!(get("/app-health/app/readyz"), 404, "only readiness here");
    drop(sidecar);
}

#[test]
fn malformed_probers_stop_the_proxy_with_the_reason() {
    let out = ferryctl()
        .args(["proxy", "sidecar", "--admin-address", "127.0.0.1:0"])
        .env("ISTIO_KUBE_APP_PROBERS", "{not json")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--app-probers (ISTIO_KUBE_APP_PROBERS): "),
        "{stderr}"
    );
}
