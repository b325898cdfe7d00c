//! Telemetry end to end: a real control plane, a real gateway and a real sidecar in front of a
//! real backend, real requests through them, and what the proxies tell about those requests:
//! Istio's standard metrics on `/stats/prometheus` (read directly, and by a real Prometheus
//! evaluating the seed's PromQL), access logs, and trace headers.
//!
//! The topology: client → gateway (`ferryctl proxy router`, reporter `source`) → the reviews
//! service's one workload, whose address is its sidecar's inbound listener (`ferryctl proxy
//! sidecar` with a Sidecar `ingress`, reporter `destination`) → the backend.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::eventually;
use crate::mesh::{Process, admin_get, backend_fn, free_port, http_gateway};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The reviews workload's labels, as the metrics should name it.
const WORKLOAD_LABELS: &str = "app=reviews,version=v1";

/// A running mesh: control plane, gateway, sidecar.
pub(crate) struct Mesh {
    _dir: tempfile::TempDir,
    _discovery: Process,
    pub gateway: Process,
    pub gateway_admin: String,
    pub sidecar: Process,
    pub sidecar_admin: String,
    /// The gateway's HTTP listener.
    pub http_port: u16,
    /// The control plane's monitoring address (`/metrics`).
    pub monitoring: String,
    pub client: HttpClient,
}

impl Mesh {
    /// Starts the mesh in front of `backend`; `mesh_config` is the control plane's
    /// `--meshConfig` file content, when given.
    pub(crate) async fn start(backend: SocketAddr, mesh_config: Option<&str>) -> Mesh {
        Mesh::start_with(backend, mesh_config, &[]).await
    }

    /// [`Mesh::start`] with more config files (name, content) for the control plane.
    pub(crate) async fn start_with(
        backend: SocketAddr,
        mesh_config: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Mesh {
        let dir = tempfile::tempdir().expect("tempdir");
        let http_port = free_port();
        let service_port = free_port();
        write_config(dir.path(), http_port, service_port, backend);
        for (name, text) in extra {
            std::fs::write(dir.path().join("config").join(name), text).expect("written");
        }
        let grpc = free_port();
        let mut args = vec![
            "discovery".to_string(),
            "--config-dir".to_string(),
            dir.path().join("config").display().to_string(),
            "--grpcAddr".to_string(),
            format!("127.0.0.1:{grpc}"),
            "--monitoringAddr".to_string(),
            "127.0.0.1:0".to_string(),
        ];
        if let Some(mesh) = mesh_config {
            let file = dir.path().join("mesh.yaml");
            std::fs::write(&file, mesh).expect("mesh config written");
            args.push("--meshConfig".to_string());
            args.push(file.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let discovery = Process::start(&args);
        let announced = discovery.line("ferryctl discovery: xDS (ADS) on ");
        let (_, monitoring) = announced.split_once(", debug on ").expect("both addresses");
        let monitoring = monitoring.to_string();
        let xds = format!("127.0.0.1:{grpc}");
        let gateway = Process::start(&[
            "proxy",
            "router",
            "--discovery-address",
            &xds,
            "--admin-address",
            "127.0.0.1:0",
        ]);
        let gateway_admin = admin_address(&gateway);
        let sidecar = Process::start(&[
            "proxy",
            "sidecar",
            "--discovery-address",
            &xds,
            "--admin-address",
            "127.0.0.1:0",
            "--pod-name",
            "reviews-v1-5d8f9c7b6-x2k9p",
            "--pod-namespace",
            "default",
            "--ip",
            "127.0.0.1",
            "--labels",
            &format!("{WORKLOAD_LABELS},pod-template-hash=5d8f9c7b6"),
        ]);
        let sidecar_admin = admin_address(&sidecar);
        let mesh = Mesh {
            _dir: dir,
            _discovery: discovery,
            gateway,
            gateway_admin,
            sidecar,
            sidecar_admin,
            http_port,
            monitoring,
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let start = Instant::now();
        loop {
            let (status, _, body) = mesh.get("/ready-check", &[]).await;
            if status == 200 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the mesh did not route to the backend (gateway on {http_port}, last answer \
                 {status} {body:?})\ngateway stderr: {:#?}\nsidecar stderr: {:#?}",
                mesh.gateway.pending_lines(),
                mesh.sidecar.pending_lines(),
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        mesh
    }

    /// A GET through the gateway: the status, the response headers and the body.
    pub(crate) async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, String) {
        self.get_host("bookinfo.example.com", path, headers).await
    }

    /// [`Mesh::get`] for another host.
    pub(crate) async fn get_host(
        &self,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, String) {
        let mut req = http::Request::builder()
            .uri(format!("http://127.0.0.1:{}{path}", self.http_port))
            .header("host", host);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::new())).expect("request");
        match self.client.request(req).await {
            Ok(r) => {
                let status = r.status().as_u16();
                let headers = r.headers().clone();
                let body = r
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                (status, headers, String::from_utf8_lossy(&body).into_owned())
            }
            Err(_) => (0, http::HeaderMap::new(), String::new()),
        }
    }
}

fn admin_address(p: &Process) -> String {
    let admin = p.line("ferryctl proxy: admin on ");
    admin.split(',').next().expect("admin address").to_string()
}

/// The gateway's Gateway and VirtualService, the reviews ServiceEntry with its one
/// WorkloadEntry at the sidecar's inbound listener, and the sidecar's Sidecar.
fn write_config(dir: &Path, http_port: u16, service_port: u16, backend: SocketAddr) {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    let files = [
        (
            "gateway.yaml",
            http_gateway("bookinfo-gateway", http_port, "bookinfo.example.com")
                + &format!(
                    "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bookinfo
  namespace: default
spec:
  hosts:
  - bookinfo.example.com
  gateways:
  - bookinfo-gateway
  http:
  - route:
    - destination:
        host: reviews.default.svc.cluster.local
        port:
          number: {service_port}
"
                ),
        ),
        (
            "reviews.yaml",
            format!(
                "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
  namespace: default
spec:
  hosts:
  - reviews.default.svc.cluster.local
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: {service_port}
    name: http
    protocol: HTTP
  workloadSelector:
    labels:
      app: reviews
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-v1
  namespace: default
spec:
  address: 127.0.0.1
  ports:
    http: {service_port}
  labels:
    app: reviews
    version: v1
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: reviews-v1
  namespace: default
spec:
  workloadSelector:
    labels:
      app: reviews
  ingress:
  - port:
      number: {service_port}
      name: http
      protocol: HTTP
    bind: 127.0.0.1
    defaultEndpoint: 127.0.0.1:{}
  egress:
  - bind: 127.0.0.1
    hosts:
    - istio-system/*
",
                backend.port()
            ),
        ),
    ];
    for (name, text) in files {
        std::fs::write(config.join(name), text).expect("config written");
    }
}

/// The samples of `metric` in a Prometheus text page whose labels include all of `want`:
/// each sample's labels and value.
pub(crate) fn samples(
    page: &str,
    metric: &str,
    want: &[(&str, &str)],
) -> Vec<(BTreeMap<String, String>, f64)> {
    page.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(metric)?.strip_prefix('{')?;
            let (labels, value) = rest.rsplit_once("} ")?;
            let labels = parse_labels(labels);
            let matches = want
                .iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v));
            matches.then(|| (labels, value.parse().unwrap_or(f64::NAN)))
        })
        .collect()
}

/// `a="x",b="y"` (values without escapes, as these tests' are).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some((name, after)) = rest.split_once("=\"") {
        let Some((value, tail)) = after.split_once('"') else {
            break;
        };
        out.insert(name.trim_start_matches(',').to_string(), value.to_string());
        rest = tail;
    }
    out
}

/// The backend: `/fail…` answers 503 (which the gateway retries), `/error…` 500 (which it
/// does not), anything else 200; all after `delay`.
pub(crate) async fn reviews_backend(delay: Duration) -> SocketAddr {
    backend_fn(move |_, uri, _| {
        let status = if uri.path().starts_with("/fail") {
            503
        } else if uri.path().starts_with("/error") {
            500
        } else {
            200
        };
        (status, "reviews".to_string(), delay)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_proxies_report_istios_standard_metrics() {
    let backend = reviews_backend(Duration::from_millis(30)).await;
    let mesh = Mesh::start(backend, None).await;
    let prom = |admin: &str| {
        let (code, page) = admin_get(admin, "/stats/prometheus");
        assert_eq!(code, 200);
        page
    };
    // Only the readiness probes so far: count from what they left.
    let before = |page: &str, want: &[(&str, &str)]| -> f64 {
        samples(page, "istio_requests_total", want)
            .first()
            .map_or(0.0, |(_, v)| *v)
    };
    let (gw0, sc0) = (prom(&mesh.gateway_admin), prom(&mesh.sidecar_admin));
    for i in 0..50 {
        let path = if i % 5 == 4 { "/fail" } else { "/ok" };
        let (status, headers, _) = mesh.get(path, &[]).await;
        assert_eq!(status, if i % 5 == 4 { 503 } else { 200 });
        // Metadata exchange stays between the proxies.
        assert!(
            !headers.contains_key("x-envoy-peer-metadata"),
            "{headers:?}"
        );
        assert!(!headers.contains_key("x-envoy-peer-metadata-id"));
    }
    // Each proxy records an exchange once its response is written, so the last one may not be
    // counted yet when the client holds its answer: wait for all of them (the gateway's 50, the
    // sidecar's 40 + 3 × 10) before reading anything else.
    let total = |page: &str| -> f64 {
        samples(page, "istio_requests_total", &[])
            .iter()
            .map(|(_, v)| v)
            .sum()
    };
    let (mut gateway, mut sidecar) = (String::new(), String::new());
    eventually(Duration::from_secs(5), "every request in the stats", || {
        gateway = prom(&mesh.gateway_admin);
        sidecar = prom(&mesh.sidecar_admin);
        total(&gateway) - total(&gw0) >= 50.0 && total(&sidecar) - total(&sc0) >= 70.0
    });

    let common = [
        ("source_workload", "istio-ingressgateway"),
        ("source_workload_namespace", "istio-system"),
        ("source_app", "istio-ingressgateway"),
        ("destination_workload", "reviews-v1"),
        ("destination_workload_namespace", "default"),
        ("destination_canonical_service", "reviews"),
        ("destination_canonical_revision", "v1"),
        ("destination_app", "reviews"),
        ("destination_version", "v1"),
        ("destination_service", "reviews.default.svc.cluster.local"),
        // A ServiceEntry's service is named by its host, as Istio names it.
        (
            "destination_service_name",
            "reviews.default.svc.cluster.local",
        ),
        ("destination_service_namespace", "default"),
        ("destination_cluster", "Kubernetes"),
        ("request_protocol", "http"),
        ("grpc_response_status", ""),
    ];
    // The gateway retries a 503 twice (Istio's default retry policy), so the sidecar sees
    // three for each, and the gateway reports the last with Envoy's URX flag.
    for (page, reporter, security, start, failed) in [
        (&gateway, "source", "unknown", &gw0, ("URX", 10.0)),
        (&sidecar, "destination", "none", &sc0, ("-", 30.0)),
    ] {
        for (code, flags, n) in [("200", "-", 40.0), ("503", failed.0, failed.1)] {
            let mut want = common.to_vec();
            want.extend([
                ("reporter", reporter),
                ("response_code", code),
                ("response_flags", flags),
                ("connection_security_policy", security),
            ]);
            let found = samples(page, "istio_requests_total", &want);
            assert_eq!(found.len(), 1, "{reporter} {code}: {want:?} in\n{page}");
            assert_eq!(found[0].1 - before(start, &want), n, "{reporter} {code}");
        }
        // Every answer took at least the backend's 30 ms: none in a bucket up to 25 ms (how
        // much more it took depends on this machine's load).
        let want = [
            ("reporter", reporter),
            ("response_code", "200"),
            ("response_flags", "-"),
        ];
        let base = |metric: &str| {
            samples(start, metric, &want)
                .iter()
                .find(|(l, _)| l.get("le").is_none_or(|le| le == "+Inf"))
                .map_or(0.0, |(_, v)| *v)
        };
        let buckets = samples(page, "istio_request_duration_milliseconds_bucket", &want);
        let le = |b: &str| {
            buckets
                .iter()
                .find(|(l, _)| l["le"] == b)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("le={b} missing in\n{page}"))
        };
        let d = "istio_request_duration_milliseconds";
        let total = le("+Inf") - base(&format!("{d}_bucket"));
        assert_eq!(le("25"), 0.0, "{reporter}");
        assert!(
            le("50") <= le("100") && le("100") <= le("+Inf"),
            "{reporter}"
        );
        assert_eq!(total, 40.0, "{reporter}");
        let count = samples(page, &format!("{d}_count"), &want);
        assert_eq!(count[0].1 - base(&format!("{d}_count")), 40.0);
        let sum = samples(page, &format!("{d}_sum"), &want);
        let sum = sum[0].1 - base(&format!("{d}_sum"));
        assert!(
            (40.0 * 30.0..40.0 * 1000.0).contains(&sum),
            "{reporter}: {sum}"
        );
        // The backend's body is 7 bytes; with the head, a response is more.
        let bytes = samples(page, "istio_response_bytes_sum", &want);
        let bytes = bytes[0].1 - base("istio_response_bytes_sum");
        assert!(bytes > 40.0 * 70.0, "{reporter}: {bytes}");
        let bytes = samples(page, "istio_request_bytes_count", &want);
        assert_eq!(bytes[0].1 - base("istio_request_bytes_count"), 40.0);
        for family in [
            "istio_requests_total counter",
            "istio_request_duration_milliseconds histogram",
            "istio_request_bytes histogram",
            "istio_response_bytes histogram",
        ] {
            assert!(page.contains(&format!("# TYPE {family}\n")), "{family}");
        }
    }
    // The sidecar's own name came from its pod: the Deployment's, less the template hash.
    assert!(sidecar.contains("destination_workload=\"reviews-v1\""));
    assert!(!sidecar.contains("5d8f9c7b6"), "{sidecar}");
    drop(mesh.sidecar);
    drop(mesh.gateway);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_route_is_flagged_nr() {
    let backend = reviews_backend(Duration::ZERO).await;
    let mesh = Mesh::start(backend, None).await;
    let want = [
        ("reporter", "source"),
        ("response_code", "404"),
        ("response_flags", "NR"),
        ("destination_service", "unknown"),
        ("destination_workload", "unknown"),
    ];
    // `Mesh::start` polls the gateway until it routes, and an early poll can itself be answered
    // 404 NR before the routes arrive: this request must add exactly one to what is there.
    let count = |page: &str| {
        let nr = samples(page, "istio_requests_total", &want);
        assert!(nr.len() <= 1, "{page}");
        nr.first().map_or(0.0, |s| s.1)
    };
    let before = count(&admin_get(&mesh.gateway_admin, "/stats/prometheus").1);
    let req = http::Request::builder()
        .uri(format!("http://127.0.0.1:{}/", mesh.http_port))
        .header("host", "nothing.example.com")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let status = mesh
        .client
        .request(req)
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(status, 404);
    // The proxy records an exchange once its response is written, as Envoy does at stream end:
    // the client may hold the 404 before the counter moves.
    let mut page = String::new();
    eventually(
        Duration::from_secs(5),
        "the 404 in the gateway's stats",
        || {
            page = admin_get(&mesh.gateway_admin, "/stats/prometheus").1;
            count(&page) > before
        },
    );
    assert_eq!(count(&page), before + 1.0, "{page}");
}

/// A child process killed however the test ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real Prometheus on 127.0.0.1 scraping `targets` every second: its address, or `None`
/// when the `prometheus` binary is not installed.
fn start_prometheus(dir: &Path, proxies: &[&str], control_plane: &str) -> Option<(Killed, String)> {
    let installed = std::process::Command::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        return None;
    }
    let quoted = |targets: &[&str]| {
        targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let config = format!(
        "global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: proxies
  metrics_path: /stats/prometheus
  static_configs:
  - targets: [{}]
- job_name: istiod
  metrics_path: /metrics
  static_configs:
  - targets: [{}]
",
        quoted(proxies),
        quoted(&[control_plane])
    );
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, config).expect("prometheus config written");
    let address = format!("127.0.0.1:{}", free_port());
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={address}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus starts");
    Some((Killed(child), address))
}

/// `application/x-www-form-urlencoded` for a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant PromQL query at `time` (Unix seconds) through Prometheus' HTTP API: each
/// result's labels and value.
async fn query(
    client: &HttpClient,
    prometheus: &str,
    promql: &str,
    time: f64,
) -> Vec<(BTreeMap<String, String>, f64)> {
    let uri = format!(
        "http://{prometheus}/api/v1/query?query={}&time={time:.3}",
        encode(promql)
    );
    let req = http::Request::get(uri)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let Ok(response) = client.request(req).await else {
        return Vec::new();
    };
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(v["status"], "success", "{promql}: {v}");
    v["data"]["result"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|r| {
                    let labels = r["metric"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                                .collect()
                        })
                        .unwrap_or_default();
                    let value = r["value"][1]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(f64::NAN);
                    (labels, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn near(value: f64, expected: f64, tolerance: f64) -> bool {
    (value - expected).abs() <= expected * tolerance
}

/// The seed's four PromQL queries (request rate, error rate, P99 latency, traffic per
/// service), evaluated by a real Prometheus that scraped both proxies while a known load went
/// through them: 20 requests a second for 10 s, every fifth one answered 500 by the backend,
/// each after 120 ms. The seed's 5-minute windows are 5 s here, inside the load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_evaluates_the_seeds_queries() {
    let backend = reviews_backend(Duration::from_millis(120)).await;
    let mesh = Mesh::start(backend, None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_prometheus, prom)) = start_prometheus(
        dir.path(),
        &[&mesh.gateway_admin, &mesh.sidecar_admin],
        &mesh.monitoring,
    ) else {
        eprintln!(
            "SKIPPED prometheus_evaluates_the_seeds_queries: no `prometheus` binary \
             (apt-get install -y prometheus; .ci/run installs it)"
        );
        return;
    };
    let client = &mesh.client;
    // Every target scraped at least once before the load starts.
    let start = Instant::now();
    loop {
        let up = query(client, &prom, "sum(up)", unix_now()).await;
        if up.first().is_some_and(|(_, v)| *v == 3.0) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "prometheus never scraped the proxies and the control plane: {up:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut requests = Vec::new();
    for i in 0..200 {
        tick.tick().await;
        let path = if i % 5 == 4 { "/error" } else { "/ok" };
        let client = client.clone();
        let uri = format!("http://127.0.0.1:{}{path}", mesh.http_port);
        requests.push(tokio::spawn(async move {
            let req = http::Request::get(uri)
                .header("host", "bookinfo.example.com")
                .body(Full::new(Bytes::new()))
                .expect("request");
            client
                .request(req)
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let load_end = unix_now();
    let mut statuses = BTreeMap::new();
    for r in requests {
        *statuses.entry(r.await.unwrap_or(0)).or_insert(0) += 1;
    }
    assert_eq!(statuses, BTreeMap::from([(200, 160), (500, 40)]));
    // The window [t - 5 s, t] lies inside the load; wait for the scrapes after it.
    let t = load_end - 1.0;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // Request rate: per series; per reporter 20/s, of which 4/s failed.
    let rate = query(client, &prom, "rate(istio_requests_total[5s])", t).await;
    let sum_of = |results: &[(BTreeMap<String, String>, f64)], want: &[(&str, &str)]| -> f64 {
        results
            .iter()
            .filter(|(l, _)| {
                want.iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .sum()
    };
    for reporter in ["source", "destination"] {
        let total = sum_of(&rate, &[("reporter", reporter)]);
        assert!(near(total, 20.0, 0.3), "{reporter}: {total} in {rate:?}");
        let ok = sum_of(&rate, &[("reporter", reporter), ("response_code", "200")]);
        assert!(near(ok, 16.0, 0.3), "{reporter} 200: {ok}");
    }

    // Error rate: only the 500s, 4/s per reporter, a fifth of the traffic.
    let errors = query(
        client,
        &prom,
        "rate(istio_requests_total{response_code=~\"5..\"}[5s])",
        t,
    )
    .await;
    // Mesh::start polls until the route answers, so a 503 series from the warm-up (the
    // sidecar not yet listening: UF,URX) may exist; it must not grow during the load.
    assert!(
        errors
            .iter()
            .all(|(l, v)| l["response_code"] == "500" || *v == 0.0),
        "{errors:?}"
    );
    for reporter in ["source", "destination"] {
        let e = sum_of(&errors, &[("reporter", reporter)]);
        assert!(near(e, 4.0, 0.3), "{reporter}: {e}");
        let share = e / sum_of(&rate, &[("reporter", reporter)]);
        assert!((0.15..0.25).contains(&share), "{reporter}: {share}");
    }

    // P99 latency: every request took the backend's 120 ms and more, so the 99th percentile
    // interpolates inside a bucket above 100 ms.
    let p99 = query(
        client,
        &prom,
        "histogram_quantile(0.99, rate(istio_request_duration_milliseconds_bucket[5s]))",
        t,
    )
    .await;
    let live: Vec<_> = p99.iter().filter(|(_, v)| !v.is_nan()).collect();
    assert_eq!(live.len(), 4, "two reporters × 200 and 500: {p99:?}");
    for (labels, v) in live {
        assert!((100.0..=500.0).contains(v), "{labels:?}: {v}");
    }

    // Traffic per service: both reporters' 20/s, all to reviews.
    let by_service = query(
        client,
        &prom,
        "sum(rate(istio_requests_total[5s])) by (destination_service)",
        t,
    )
    .await;
    let reviews = sum_of(
        &by_service,
        &[("destination_service", "reviews.default.svc.cluster.local")],
    );
    assert!(near(reviews, 40.0, 0.3), "{by_service:?}");
    assert!(
        by_service.iter().all(|(l, v)| l["destination_service"]
            == "reviews.default.svc.cluster.local"
            || *v == 0.0),
        "{by_service:?}"
    );

    eprintln!(
        "PromQL at the load's end: rate {:.2}/s, errors {:.2}/s, p99 {:?} ms, by service {:?}",
        sum_of(&rate, &[]),
        sum_of(&errors, &[]),
        p99.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        by_service
    );

    // And the control plane's own: both proxies connected.
    let connected = query(client, &prom, "sum(pilot_xds)", t).await;
    assert_eq!(
        connected.first().map(|(_, v)| *v),
        Some(2.0),
        "{connected:?}"
    );
}

/// Waits until `path` holds `n` lines containing `needle` (the writers are asynchronous, and
/// the readiness probes' lines may still be on their way); returns them.
async fn log_lines(path: &Path, needle: &str, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} has {} lines with {needle:?}, not {n}:\n{text}",
            path.display(),
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The request headers an access log shows are the ones that went upstream, the proxy's try
/// count included (Envoy counts in the request's own headers), and the `server` it shows is the
/// one the client got: both hops answer as `istio-envoy` (Istio's name for gateways and inbound
/// listeners), whatever the backend called itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_logs_show_the_try_count_and_the_server_header_sent() {
    let (_logs, file, mesh) = logging_mesh(
        "accessLogFormat: \"%REQ(:PATH)% try=%REQ(X-ENVOY-ATTEMPT-COUNT)% server=%RESP(SERVER)%\\n\"\n",
    )
    .await;
    let (status, headers, _) = mesh
        .get("/reviews/counted", &[("x-envoy-attempt-count", "5")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("server").map(|v| v.as_bytes()),
        Some(&b"istio-envoy"[..])
    );
    both_hops_log(
        &file,
        "/reviews/counted",
        "/reviews/counted try=1 server=istio-envoy",
    )
    .await;
}

/// A mesh whose proxies log to one file (returned with the directory that holds it), with
/// `config` after `accessLogFile` in the mesh config.
async fn logging_mesh(config: &str) -> (tempfile::TempDir, std::path::PathBuf, Mesh) {
    let logs = tempfile::tempdir().expect("tempdir");
    let file = logs.path().join("access.log");
    let backend = reviews_backend(Duration::ZERO).await;
    let mesh = Mesh::start(
        backend,
        Some(&format!("accessLogFile: {}\n{config}", file.display())),
    )
    .await;
    (logs, file, mesh)
}

/// The gateway's line for `path` and the sidecar's both read `want`.
async fn both_hops_log(file: &std::path::Path, path: &str, want: &str) {
    let lines = log_lines(file, path, 2).await;
    for line in &lines {
        assert_eq!(line, want, "{lines:?}");
    }
}

/// `defaultConfig.proxyHeaders` turns off what Istio's proxies add by default: no request id
/// or try count goes upstream from either hop, the upstream's (absent) `server` header passes
/// through, and no `x-envoy-upstream-service-time` comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_headers_turn_off_what_the_proxies_add() {
    let format = "accessLogFormat: \"%REQ(:PATH)% id=%REQ(X-REQUEST-ID)% try=%REQ(X-ENVOY-ATTEMPT-COUNT)% server=%RESP(SERVER)%\\n\"\n";
    let headers_off = "defaultConfig:\n  proxyHeaders:\n    server: {disabled: true}\n    requestId: {disabled: true}\n    attemptCount: {disabled: true}\n    envoyDebugHeaders: {disabled: true}\n";
    let (_logs, file, mesh) = logging_mesh(&format!("{format}{headers_off}")).await;
    let (status, headers, _) = mesh.get("/reviews/plain", &[]).await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("server"), "{headers:?}");
    assert!(
        !headers.contains_key("x-envoy-upstream-service-time"),
        "{headers:?}"
    );
    both_hops_log(
        &file,
        "/reviews/plain",
        "/reviews/plain id=- try=- server=-",
    )
    .await;
    // A client's own request id still goes through: only generating one is off.
    let (status, _, _) = mesh
        .get("/reviews/own-id", &[("x-request-id", "client-chosen")])
        .await;
    assert_eq!(status, 200);
    both_hops_log(
        &file,
        "/reviews/own-id",
        "/reviews/own-id id=client-chosen try=- server=-",
    )
    .await;
}

/// `meshConfig.accessLogFile` turns on both proxies' access logs in Istio's text format: one
/// line per request at each hop, the gateway's naming the outbound cluster and the sidecar's
/// the inbound one, with the request id the gateway gave the request on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_logs_follow_istios_default_text_format() {
    let (_logs, file, mesh) = logging_mesh("").await;
    let (status, _, _) = mesh
        .get("/reviews/7?x=1", &[("user-agent", "telemetry-test/1.0")])
        .await;
    assert_eq!(status, 200);
    // The readiness probes logged too: ours are the ones with its user agent.
    let ours = log_lines(&file, "telemetry-test/1.0", 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(log_lines(&file, "telemetry-test/1.0", 2).await.len(), 2);
    let line_re = regex::Regex::new(
        r#"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] "GET /reviews/7\?x=1 HTTP/1\.1" 200 - via_upstream - "-" 0 7 (\d+) (\d+|-) "([^"]*)" "telemetry-test/1\.0" "([0-9a-f-]{36})" "([^"]+)" "127\.0\.0\.1:(\d+)" (\S+) - (\S+) (\S+) - (\S+)$"#,
    )
    .expect("regex");
    let mut ids = Vec::new();
    let mut clusters = Vec::new();
    for line in ours {
        let c = line_re
            .captures(&line)
            .unwrap_or_else(|| panic!("not Istio's format: {line}"));
        ids.push(c[5].to_string());
        clusters.push(c[8].to_string());
    }
    assert_eq!(ids[0], ids[1], "one request id across the hops");
    clusters.sort();
    assert!(clusters[0].starts_with("inbound|"), "{clusters:?}");
    // The listeners carry Istio's logger, and Envoy's config dump shows it.
    let (code, dump) = admin_get(&mesh.gateway_admin, "/config_dump");
    assert_eq!(code, 200, "{dump}");
    assert!(
        dump.contains("type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog")
            && dump.contains("%UPSTREAM_TRANSPORT_FAILURE_REASON%"),
        "{dump}"
    );
    assert!(
        clusters[1].starts_with("outbound|")
            && clusters[1].ends_with("|reviews.default.svc.cluster.local"),
        "{clusters:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_logs_in_json_and_switched_off() {
    let (logs, file, mesh) = logging_mesh("accessLogEncoding: JSON\n").await;
    assert_eq!(mesh.get("/error", &[]).await.0, 500);
    for line in &log_lines(&file, "/error", 2).await {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
        assert_eq!(v["path"], "/error", "{line}");
        assert_eq!(v["response_code"], 500);
        assert_eq!(v["response_flags"], "-");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["protocol"], "HTTP/1.1");
        assert_eq!(v["requested_server_name"], serde_json::Value::Null);
        assert!(v["duration"].is_u64() && v["bytes_sent"].is_u64(), "{line}");
    }
    drop(mesh);

    // The seed's "disable access log", by the Telemetry API: the mesh's file stays unwritten.
    let off = logs.path().join("off.log");
    let backend = reviews_backend(Duration::ZERO).await;
    let disable = "apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  accessLogging:
  - disabled: true
";
    let mesh = Mesh::start_with(
        backend,
        Some(&format!("accessLogFile: {}\n", off.display())),
        &[("telemetry.yaml", disable)],
    )
    .await;
    assert_eq!(mesh.get("/ok", &[]).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!off.exists(), "{:?}", std::fs::read_to_string(&off));
    // And nothing in the listeners' config either.
    let (_, dump) = admin_get(&mesh.gateway_admin, "/config_dump");
    assert!(!dump.contains("envoy.access_loggers.file"));
}

/// The trace context the backend receives, two hops (gateway, sidecar) after the client: the
/// client's trace and sampling decision, or a new trace sampled per
/// `defaultConfig.tracing.sampling`; B3 and W3C alike; a new span at each hop; and an
/// `x-request-id` the gateway made up when the client sent none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_context_reaches_the_backend_with_a_span_per_hop() {
    let backend = backend_fn(|_, _, headers| {
        let echo: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("?")))
            .collect();
        (200, echo, Duration::ZERO)
    })
    .await;
    let mesh = Mesh::start(
        backend,
        Some("defaultConfig:\n  tracing:\n    sampling: 100\n"),
    )
    .await;
    let seen = |body: &str| -> BTreeMap<String, String> {
        body.lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());

    // No context: the gateway starts a trace, sampled (100 %), and names the request.
    let (status, response, body) = mesh.get("/new", &[]).await;
    assert_eq!(status, 200);
    let h = seen(&body);
    let trace = &h["x-b3-traceid"];
    let span = &h["x-b3-spanid"];
    assert!(hex(trace, 32) && hex(span, 16), "{h:?}");
    assert!(
        hex(&h["x-b3-parentspanid"], 16),
        "the gateway's span is the parent: {h:?}"
    );
    assert_ne!(&h["x-b3-parentspanid"], span);
    assert_eq!(h["x-b3-sampled"], "1");
    assert_eq!(h["traceparent"], format!("00-{trace}-{span}-01"));
    assert_eq!(h["x-request-id"].len(), 36, "{h:?}");
    assert!(!response.contains_key("x-b3-traceid"), "nothing flows back");
    // The gateway is the edge (`use_remote_address`): it names the client's scheme and address
    // (a loopback client: the address the gateway was reached at, as Envoy's local address);
    // the sidecar behind it adds nothing.
    assert_eq!(h["x-forwarded-proto"], "http", "{h:?}");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1", "{h:?}");

    // The client's B3 context: its 64-bit trace and its decision (not sampled) go on; the
    // client's span is the gateway span's parent, so not the backend's.
    let (_, _, body) = mesh
        .get(
            "/b3",
            &[
                ("x-b3-traceid", "463ac35c9f6413ad"),
                ("x-b3-spanid", "a2fb4a1d1a96d312"),
                ("x-b3-sampled", "0"),
                ("x-request-id", "client-chose-this"),
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
    let h = seen(&body);
    // What the client claimed: its scheme is replaced (no trusted proxy in front, Istio's
    // default), its addresses kept with the gateway's view appended (Envoy's bare comma).
    assert_eq!(h["x-forwarded-proto"], "http", "{h:?}");
    assert_eq!(h["x-forwarded-for"], "203.0.113.7,127.0.0.1", "{h:?}");
    assert_eq!(h["x-b3-traceid"], "463ac35c9f6413ad");
    assert_eq!(h["x-b3-sampled"], "0");
    assert_ne!(h["x-b3-parentspanid"], "a2fb4a1d1a96d312");
    assert_ne!(h["x-b3-spanid"], "a2fb4a1d1a96d312");
    assert_eq!(
        h["traceparent"],
        format!(
            "00-0000000000000000463ac35c9f6413ad-{}-00",
            h["x-b3-spanid"]
        )
    );
    assert_eq!(h["x-request-id"], "client-chose-this");

    // W3C alone, sampled: followed, and answered in B3 as well.
    let (_, _, body) = mesh
        .get(
            "/w3c",
            &[(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )],
        )
        .await;
    let h = seen(&body);
    assert_eq!(h["x-b3-traceid"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(
        h["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
            && h["traceparent"].ends_with("-01"),
        "{h:?}"
    );
    assert!(!h["traceparent"].contains("00f067aa0ba902b7"), "a new span");
}

/// A gateway behind load balancers (`defaultConfig.gatewayTopology.numTrustedProxies`)
/// believes their `x-forwarded-proto` and takes its client from their `x-forwarded-for`; a
/// gateway with none in front (Istio's default) believes neither. Authorization sees the
/// headers as they go on, as Envoy's filters see them after its connection manager: a DENY on
/// the client's address (`remoteIpBlocks`) and one on `x-forwarded-proto: https`. A server
/// with `httpsRedirect` redirects what the believed scheme says was plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_believes_forwarded_headers_only_from_trusted_proxies() {
    let backend = backend_fn(|_, _, headers| {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        let seen = format!(
            "{} {}",
            header("x-forwarded-proto"),
            header("x-forwarded-for")
        );
        (200, seen, Duration::ZERO)
    })
    .await;
    let deny = "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: no-blocked-clients
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  action: DENY
  rules:
  - from:
    - source:
        remoteIpBlocks: [198.51.100.0/24]
  - to:
    - operation:
        paths: [/over-tls-only]
    when:
    - key: request.headers[x-forwarded-proto]
      values: [https]
";
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("access.json");
    let behind_lb = Mesh::start_with(
        backend,
        Some(&format!(
            "accessLogFile: {}\naccessLogEncoding: JSON\n\
             defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 1\n",
            log.display()
        )),
        &[("deny.yaml", deny)],
    )
    .await;
    add_secure_server(&behind_lb).await;
    // The load balancer's word: the client used https and is 203.0.113.7; the gateway appends
    // the load balancer's address (here the loopback client's: the address it was reached at).
    let lb = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "203.0.113.7"),
    ];
    let (status, _, body) = behind_lb.get("/ok", &lb).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "https 203.0.113.7,127.0.0.1")
    );
    // The access logs name the client as Envoy's stream info does: the gateway the one its
    // balancer named, the sidecar the last hop's entry, both with port 0 (a header has none).
    let mut remote: Vec<(String, String)> = log_lines(&log, "\"/ok\"", 2)
        .await
        .iter()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON object");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (
                field("upstream_cluster"),
                field("downstream_remote_address"),
            )
        })
        .collect();
    remote.sort();
    assert!(
        remote[0].0.starts_with("inbound|") && remote[1].0.starts_with("outbound|"),
        "{remote:?}"
    );
    assert_eq!(
        (remote[0].1.as_str(), remote[1].1.as_str()),
        ("127.0.0.1:0", "203.0.113.7:0")
    );
    // A client in the blocked range, as the load balancer saw it.
    let blocked = [("x-forwarded-for", "198.51.100.20")];
    assert_eq!(behind_lb.get("/ok", &blocked).await.0, 403);
    // Entries left of the trusted one are the client's own claims: not its address.
    let claimed = [("x-forwarded-for", "198.51.100.20, 203.0.113.7")];
    assert_eq!(behind_lb.get("/ok", &claimed).await.0, 200);
    assert_eq!(behind_lb.get("/over-tls-only", &lb).await.0, 403);
    // No x-forwarded-proto from the load balancer: the connection's scheme.
    let (_, _, body) = behind_lb
        .get("/ok", &[("x-forwarded-for", "203.0.113.7")])
        .await;
    assert_eq!(body, "http 203.0.113.7,127.0.0.1");
    // The balancer terminated TLS: no redirect; it did not: to https.
    assert_eq!(secure_get(&behind_lb, &lb).await, (200, None));
    assert_eq!(
        secure_get(&behind_lb, &[("x-forwarded-proto", "http")]).await,
        (301, Some("https://secure.example.com/login".to_string()))
    );
    drop(behind_lb);

    // At the edge itself, a client's claims are not believed: its address is the peer's and
    // its scheme the connection's.
    let edge = Mesh::start_with(backend, None, &[("deny.yaml", deny)]).await;
    assert_eq!(edge.get("/ok", &blocked).await.0, 200);
    let (status, _, body) = edge.get("/over-tls-only", &lb).await;
    assert_eq!((status, body.as_str()), (200, "http 203.0.113.7,127.0.0.1"));
    add_secure_server(&edge).await;
    assert_eq!(
        secure_get(&edge, &lb).await.0,
        301,
        "a client's https claim"
    );
}

/// A second server on the mesh gateway's port for `secure.example.com`, with `httpsRedirect`
/// and a direct response, added to the running mesh's config directory.
async fn add_secure_server(mesh: &Mesh) {
    let port = mesh.http_port;
    let config = format!(
        "apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: secure-gateway
  namespace: default
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: {port}
      name: http-secure
      protocol: HTTP
    hosts:
    - secure.example.com
    tls:
      httpsRedirect: true
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: secure
  namespace: default
spec:
  hosts:
  - secure.example.com
  gateways:
  - secure-gateway
  http:
  - directResponse:
      status: 200
      body:
        string: secure
"
    );
    std::fs::write(mesh._dir.path().join("config").join("secure.yaml"), config)
        .expect("config written");
    let start = Instant::now();
    // Routed once the gateway answers for the host at all (a redirect or the response).
    while ![200, 301].contains(&secure_get(mesh, &[]).await.0) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the gateway did not take the secure server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A GET of `/login` on `secure.example.com` through the gateway: the status and `location`.
async fn secure_get(mesh: &Mesh, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let (status, response, _) = mesh.get_host("secure.example.com", "/login", headers).await;
    let location = response.get("location").and_then(|v| v.to_str().ok());
    (status, location.map(str::to_string))
}
