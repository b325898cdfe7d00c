//! The local data path end to end: a real control plane (`ferryctl discovery`) on a config
//! directory, a real gateway proxy (`ferryctl proxy router`), three real HTTP backends for
//! reviews v1/v2/v3 on 127.0.0.1, and real requests through the proxy. The config is the
//! seed's Gateway, its reviews VirtualService (bound to that Gateway) and DestinationRule with
//! a v3 subset, and the backends registered Istio's way, by ServiceEntry and WorkloadEntry.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::ferryctl;

/// A child process killed however the test ends, with its stderr lines on a channel.
pub(crate) struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn start(args: &[&str]) -> Process {
        Process::start_with_env(args, &[])
    }

    /// [`Process::start`] with `env` added to the environment.
    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Process {
        let mut child = ferryctl()
            .args(args)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferryctl starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Keep draining after the receiver is gone so the child never blocks.
                let _ = tx.send(line);
            }
        });
        Process { child, lines }
    }

    /// The stderr lines already received and not yet read, for a failure's message.
    pub(crate) fn pending_lines(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Waits for a stderr line starting with `prefix`, returns the rest.
    pub(crate) fn line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line starting {prefix:?}"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_string();
            }
        }
    }

    /// The stderr lines before the first one containing `needle` (which is consumed too).
    fn lines_until(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line containing {needle:?} after {before:?}"));
            if line.contains(needle) {
                return before;
            }
            before.push(line);
        }
    }

    /// Stops the process with SIGTERM and waits for it.
    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that nothing listens on, for config that must name a port before the
/// process that binds it starts. The kernel's pick for `:0` would not do: it comes from the
/// ephemeral range, and between this check and the real bind, a connection that another test
/// opens can take it as its local port (a telemetry test met this in CI: its gateway never
/// listened). So the ports come from the 12,000 below that range, which the kernel never hands
/// out by itself, in turn from a per-process offset so that two test runs rarely probe the
/// same ones, and each is checked by binding it.
pub(crate) fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let low = ephemeral_low.saturating_sub(12_000).max(1024);
    let span = ephemeral_low.saturating_sub(low).max(1);
    let offset = std::process::id().wrapping_mul(7919);
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let Ok(port) = u16::try_from(low + offset.wrapping_add(n) % span) else {
            continue;
        };
        if StdListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 in {low}..{ephemeral_low}");
}

/// Starts a backend answering every request with `name`.
pub(crate) async fn backend(name: &'static str) -> SocketAddr {
    backend_fn(move |_, _, _| (200, name.to_string(), Duration::ZERO)).await
}

/// Starts `ferryctl proxy router` on the control plane at `grpc`; returns it and its admin
/// address.
pub(crate) fn start_router(grpc: u16) -> (Process, String) {
    start_router_with_env(grpc, &[])
}

/// [`start_router`] with `env` added to the proxy's environment.
fn start_router_with_env(grpc: u16, env: &[(&str, &str)]) -> (Process, String) {
    let proxy = Process::start_with_env(
        &[
            "proxy",
            "router",
            "--discovery-address",
            &format!("127.0.0.1:{grpc}"),
            "--admin-address",
            "127.0.0.1:0",
        ],
        env,
    );
    let admin = proxy.line("ferryctl proxy: admin on ");
    let admin = admin.split(',').next().expect("admin address").to_string();
    (proxy, admin)
}

pub(crate) fn write_config(
    dir: &Path,
    http_port: u16,
    https_port: u16,
    backends: &[(&str, SocketAddr)],
) {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed");
    // The seed's Gateway, on ports this test owns instead of 80/443.
    let gateway = std::fs::read_to_string(seed.join("bookinfo-gateway.yaml"))
        .expect("seed gateway")
        .replace("number: 80\n", &format!("number: {http_port}\n"))
        .replace("number: 443\n", &format!("number: {https_port}\n"));
    let gateway = gateway
        .split("\n---\n")
        .next()
        .expect("the Gateway document")
        .to_string();
    std::fs::write(dir.join("gateway.yaml"), gateway).expect("gateway written");
    // The seed's reviews VirtualService, bound to the Gateway for the gateway's host.
    let routing = std::fs::read_to_string(seed.join("reviews-routing.yaml")).expect("seed");
    let (vs, dr) = routing.split_once("\n---\n").expect("VS and DR");
    let vs = vs.replace(
        "  hosts:\n  - reviews  # Kubernetes Service 이름\n",
        "  hosts:\n  - bookinfo.example.com\n  gateways:\n  - bookinfo-gateway\n",
    );
    assert!(vs.contains("bookinfo-gateway"), "the seed VS changed shape");
    std::fs::write(dir.join("reviews-vs.yaml"), vs).expect("vs written");
    let dr = format!("{dr}  - name: v3\n    labels:\n      version: v3\n");
    std::fs::write(dir.join("reviews-dr.yaml"), dr).expect("dr written");
    let registry = registry_yaml(9080, backends);
    std::fs::write(dir.join("reviews-registry.yaml"), registry).expect("registry written");
}

/// The reviews service on `port` (ServiceEntry) and one WorkloadEntry per backend.
fn registry_yaml(port: u16, backends: &[(&str, SocketAddr)]) -> String {
    let mut registry = format!(
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
  - number: {port}
    name: http
    protocol: HTTP
  workloadSelector:
    labels:
      app: reviews
",
    );
    for (version, addr) in backends {
        registry.push_str(&format!(
            "---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-{version}
  namespace: default
spec:
  address: {}
  ports:
    http: {}
  labels:
    app: reviews
    version: {version}
",
            addr.ip(),
            addr.port()
        ));
    }
    registry
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One GET through the gateway: status and body.
async fn get(
    client: &HttpClient,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut req = http::Request::builder()
        .uri(format!("http://127.0.0.1:{port}{path}"))
        .header("host", "bookinfo.example.com");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::new())).expect("request");
    match client.request(req).await {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
        Err(_) => (0, String::new()),
    }
}

/// Bodies of `n` requests, counted.
async fn split(
    client: &HttpClient,
    port: u16,
    n: usize,
    headers: &[(&str, &str)],
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        let (status, body) = get(client, port, "/reviews/1", headers).await;
        let key = if status == 200 {
            body
        } else {
            format!("status {status}")
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn count(counts: &BTreeMap<String, usize>, key: &str) -> usize {
    counts.get(key).copied().unwrap_or(0)
}

/// A GET against an HTTP/1.1 debug or admin endpoint, blocking.
pub(crate) fn admin_get(addr: &str, path: &str) -> (u16, String) {
    admin_request(addr, "GET", path)
}

/// A request without a body against an HTTP/1.1 debug or admin endpoint, blocking; status 0
/// when nothing answered.
pub(crate) fn admin_request(addr: &str, method: &str, path: &str) -> (u16, String) {
    http_request(addr, method, "x", path).unwrap_or_default()
}

/// `method path` with `Host: host` and no body on `addr` over a connection of its own,
/// blocking (5 s at most): the status and body, `None` when nothing answered.
pub(crate) fn http_request(
    addr: &str,
    method: &str,
    host: &str,
    path: &str,
) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

pub(crate) fn start_discovery(dir: &Path, grpc: u16) -> (Process, String) {
    let grpc_addr = format!("127.0.0.1:{grpc}");
    let p = Process::start(&[
        "discovery",
        "--config-dir",
        dir.to_str().expect("utf-8 temp path"),
        "--grpcAddr",
        &grpc_addr,
        "--monitoringAddr",
        "127.0.0.1:0",
    ]);
    let rest = p.line("ferryctl discovery: xDS (ADS) on ");
    let (_, debug) = rest.split_once(", debug on ").expect("both addresses");
    (p, debug.to_string())
}

/// The RDS version the router ACKed, from the control plane's `/debug/syncz`.
fn acked_rds(debug: &str) -> Option<(String, String)> {
    let (code, body) = admin_get(debug, "/debug/syncz");
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let proxy = v.as_array()?.iter().find(|p| {
        p["proxy"]
            .as_str()
            .is_some_and(|id| id.starts_with("istio-ingressgateway"))
    })?;
    Some((
        proxy["route_sent"].as_str()?.to_string(),
        proxy["route_acked"].as_str()?.to_string(),
    ))
}

async fn wait_until<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_routes_the_seed_config() {
    let v1 = backend("v1").await;
    let v2 = backend("v2").await;
    let v3 = backend("v3").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let http_port = free_port();
    write_config(
        dir.path(),
        http_port,
        free_port(),
        &[("v1", v1), ("v2", v2), ("v3", v3)],
    );
    let grpc = free_port();
    let (discovery, debug) = start_discovery(dir.path(), grpc);
    let (proxy, admin) = start_router(grpc);

    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    wait_until(Duration::from_secs(20), "the gateway to route", || async {
        get(&client, http_port, "/reviews/1", &[]).await.0 == 200
    })
    .await;
    assert_eq!(admin_get(&admin, "/ready"), (200, "LIVE\n".to_string()));

    // The seed's first rule: jason always reaches v2.
    let jason = split(&client, http_port, 200, &[("end-user", "jason")]).await;
    assert_eq!(count(&jason, "v2"), 200, "{jason:?}");

    // The seed's second rule: 90/10 between v1 and v3. With n = 2,000, p = 0.1 the standard
    // deviation of the v3 count is 13.4; ±5 of them is a failure once in millions of runs.
    let others = split(&client, http_port, 2000, &[]).await;
    assert_eq!(
        count(&others, "v1") + count(&others, "v3"),
        2000,
        "{others:?}"
    );
    assert!((133..=267).contains(&count(&others, "v3")), "{others:?}");

    // The admin API's config dump is Envoy's ConfigDump: it decodes against Envoy's descriptors.
    let (code, dump) = admin_get(&admin, "/config_dump?include_eds");
    assert_eq!(code, 200);
    let pool = ferry::xds::dump::descriptor_pool();
    let desc = pool
        .get_message_by_name("envoy.admin.v3.ConfigDump")
        .expect("ConfigDump descriptor");
    let mut de = serde_json::Deserializer::from_str(&dump);
    prost_reflect::DynamicMessage::deserialize(desc, &mut de).expect("a valid ConfigDump");
    let dump: serde_json::Value = serde_json::from_str(&dump).expect("JSON");
    let types: Vec<&str> = dump["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .filter_map(|c| c["@type"].as_str())
        .collect();
    for section in ["Bootstrap", "Clusters", "Endpoints", "Listeners", "Routes"] {
        let t = format!("type.googleapis.com/envoy.admin.v3.{section}ConfigDump");
        assert!(types.contains(&t.as_str()), "{types:?}");
    }
    let (_, clusters) = admin_get(
        &admin,
        "/config_dump?resource=dynamic_active_clusters&mask=cluster.name",
    );
    assert!(
        clusters.contains("outbound|9080|v3|reviews.default.svc.cluster.local"),
        "{clusters}"
    );

    // Unknown hosts get Envoy's 404.
    let req = http::Request::builder()
        .uri(format!("http://127.0.0.1:{http_port}/"))
        .header("host", "unknown.example.com")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let status = client
        .request(req)
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(status, 404);

    admin_api_after_traffic(&proxy, &admin, v1, &client, http_port).await;

    // Weights edited in the directory: the proxy ACKs the new routes within a second.
    let (_, acked_before) = acked_rds(&debug).expect("the router in syncz");
    let vs_path = dir.path().join("reviews-vs.yaml");
    let vs = std::fs::read_to_string(&vs_path).expect("vs read");
    let edited = vs
        .replace("weight: 90", "weight: 50")
        .replace("weight: 10", "weight: 50");
    std::fs::write(&vs_path, edited).expect("vs written");
    let took = wait_until(Duration::from_secs(5), "the new weights acked", || async {
        acked_rds(&debug).is_some_and(|(sent, acked)| acked != acked_before && sent == acked)
    })
    .await;
    eprintln!("weight edit acked by the proxy in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let even = split(&client, http_port, 2000, &[]).await;
    // p = 0.5: sd 22.4; ±5 sd.
    assert!((888..=1112).contains(&count(&even, "v3")), "{even:?}");

    // The control plane goes away: the proxy keeps serving its last config.
    discovery.terminate();
    let during = split(&client, http_port, 200, &[("end-user", "jason")]).await;
    assert_eq!(count(&during, "v2"), 200, "{during:?}");

    // It comes back (same address) with changed config: the proxy reconnects and resyncs.
    let vs = std::fs::read_to_string(&vs_path).expect("vs read");
    std::fs::write(&vs_path, vs.replace("subset: v2", "subset: v3")).expect("vs written");
    let (_discovery, debug) = start_discovery(dir.path(), grpc);
    wait_until(
        Duration::from_secs(30),
        "jason routed by the restarted control plane",
        || async {
            get(&client, http_port, "/reviews/1", &[("end-user", "jason")])
                .await
                .1
                == "v3"
        },
    )
    .await;
    wait_until(
        Duration::from_secs(5),
        "syncz of the restarted control plane",
        || async { acked_rds(&debug).is_some_and(|(sent, acked)| sent == acked) },
    )
    .await;
    drop(proxy);
}

/// A backend whose answer `respond` computes from the request's method, URI and headers.
pub(crate) async fn backend_fn<F>(respond: F) -> SocketAddr
where
    F: Fn(&http::Method, &http::Uri, &http::HeaderMap) -> (u16, String, Duration)
        + Send
        + Sync
        + 'static,
{
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    let respond = std::sync::Arc::new(respond);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("backend binds");
    let addr = listener.local_addr().expect("backend address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let respond = respond.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (status, body, delay) = respond(req.method(), req.uri(), req.headers());
                    async move {
                        tokio::time::sleep(delay).await;
                        let mut r = http::Response::new(Full::new(Bytes::from(body)));
                        *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A gateway routing `host` to `backend` (a ServiceEntry named `name`): the processes (kept
/// alive while held), the gateway's port and the proxy's admin address.
pub(crate) struct Gateway {
    _discovery: Process,
    pub(crate) proxy: Process,
    /// The control plane's config directory.
    dir: tempfile::TempDir,
    pub(crate) port: u16,
    pub(crate) admin: String,
}

/// Starts a control plane and a router proxy whose Gateway and VirtualService route `host` to
/// `backend`, and waits until the gateway answers 200 there.
pub(crate) fn gateway(name: &str, host: &str, backend: SocketAddr) -> Gateway {
    gateway_with_env(name, host, backend, &[])
}

/// [`gateway`] with `env` added to the router proxy's environment.
fn gateway_with_env(name: &str, host: &str, backend: SocketAddr, env: &[(&str, &str)]) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut config = service_entry(name, backend);
    config.push_str(&http_gateway(name, port, host));
    config.push_str(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
  namespace: default
spec:
  hosts:
  - {host}
  gateways:
  - {name}
  http:
  - route:
    - destination:
        host: {name}.default.svc.cluster.local
"
    ));
    std::fs::write(dir.path().join(format!("{name}.yaml")), config).expect("config written");
    let grpc = free_port();
    let (discovery, _debug) = start_discovery(dir.path(), grpc);
    let (proxy, admin) = start_router_with_env(grpc, env);
    let addr = format!("127.0.0.1:{port}");
    crate::eventually(Duration::from_secs(20), "the gateway to route", || {
        http_request(&addr, "GET", host, "/").is_some_and(|(status, _)| status == 200)
    });
    Gateway {
        _discovery: discovery,
        proxy,
        dir,
        port,
        admin,
    }
}

/// A Gateway with one plain-HTTP server on `port` for `host`, as a YAML document and the
/// separator after it.
pub(crate) fn http_gateway(name: &str, port: u16, host: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: default
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: {port}
      name: http
      protocol: HTTP
    hosts:
    - {host}
---
"
    )
}

pub(crate) fn service_entry(name: &str, addr: SocketAddr) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: {name}
  namespace: default
spec:
  hosts:
  - {name}.default.svc.cluster.local
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: 80
    name: http
    protocol: HTTP
  endpoints:
  - address: {}
    ports:
      http: {}
---
",
        addr.ip(),
        addr.port()
    )
}

/// Raw bytes to the gateway; the status code of the answer.
fn raw_status(port: u16, request: &[u8]) -> u16 {
    raw_answer(port, request)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The start of the gateway's answer to `request`, sent as raw bytes.
fn raw_answer(port: u16, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("gateway accepts");
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(request);
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_applies_rewrites_faults_retries_timeouts_and_mirrors() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let echo = backend_fn(|m, uri, h| {
        let get = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        let body = format!(
            "{m} {uri} host={} x-added={} x-secret={} attempt={}",
            get("host"),
            get("x-added"),
            get("x-secret"),
            get("x-envoy-attempt-count")
        );
        (200, body, Duration::ZERO)
    })
    .await;
    let flaky_calls = Arc::new(AtomicUsize::new(0));
    let calls = flaky_calls.clone();
    let flaky_attempts = Arc::new(Mutex::new(Vec::<String>::new()));
    let attempts = flaky_attempts.clone();
    let flaky = backend_fn(move |_, _, h| {
        let attempt = h.get("x-envoy-attempt-count").and_then(|v| v.to_str().ok());
        attempts
            .lock()
            .expect("lock")
            .push(attempt.unwrap_or("-").to_string());
        // Fails twice out of three: only retries get a request through.
        let n = calls.fetch_add(1, Ordering::SeqCst);
        if n % 3 == 2 {
            (200, "finally".into(), Duration::ZERO)
        } else {
            (503, "busy".into(), Duration::ZERO)
        }
    })
    .await;
    let slow = backend_fn(|_, _, _| (200, "slow".into(), Duration::from_secs(3))).await;
    let mirrored = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = mirrored.clone();
    let mirror = backend_fn(move |_, uri, h| {
        let host = h.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
        seen.lock().expect("lock").push(format!("{host} {uri}"));
        (200, "mirror".into(), Duration::ZERO)
    })
    .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut config = String::new();
    for (name, addr) in [
        ("echo", echo),
        ("flaky", flaky),
        ("slow", slow),
        ("mirror", mirror),
    ] {
        config.push_str(&service_entry(name, addr));
    }
    config.push_str(&http_gateway("features", port, "features.example.com"));
    config.push_str(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: features
  namespace: default
spec:
  hosts:
  - features.example.com
  gateways:
  - features
  http:
  - match:
    - uri:
        prefix: /rewrite/
    rewrite:
      uri: /internal/
      authority: internal.example.com
    headers:
      request:
        set:
          x-added: 'yes'
        remove:
        - x-secret
      response:
        add:
          x-resp: r1
        set:
          server: app/1.0
    route:
    - destination:
        host: echo.default.svc.cluster.local
  - match:
    - uri:
        prefix: /flaky
    retries:
      attempts: 3
      retryOn: 5xx
    route:
    - destination:
        host: flaky.default.svc.cluster.local
  - match:
    - uri:
        prefix: /slow
    timeout: 0.2s
    route:
    - destination:
        host: slow.default.svc.cluster.local
  - match:
    - uri:
        prefix: /abort
    fault:
      abort:
        httpStatus: 418
        percentage:
          value: 100
    route:
    - destination:
        host: echo.default.svc.cluster.local
  - match:
    - uri:
        prefix: /delay
    fault:
      delay:
        fixedDelay: 0.3s
        percentage:
          value: 100
    route:
    - destination:
        host: echo.default.svc.cluster.local
  - match:
    - uri:
        prefix: /old
    redirect:
      uri: /new
      redirectCode: 302
  - route:
    - destination:
        host: echo.default.svc.cluster.local
    mirror:
      host: mirror.default.svc.cluster.local
    mirrorPercentage:
      value: 100
",
    );
    std::fs::write(dir.path().join("features.yaml"), config).expect("config written");
    let grpc = free_port();
    let (_discovery, _debug) = start_discovery(dir.path(), grpc);
    let (_proxy, _admin) = start_router(grpc);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let send = |path: &str, headers: &[(&str, &str)]| {
        let mut req = http::Request::builder()
            .uri(format!("http://127.0.0.1:{port}{path}"))
            .header("host", "features.example.com");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::new())).expect("request");
        let client = client.clone();
        async move {
            let r = client.request(req).await.expect("the gateway answers");
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
    };
    wait_until(Duration::from_secs(20), "the gateway to route", || async {
        let req = http::Request::builder()
            .uri(format!("http://127.0.0.1:{port}/"))
            .header("host", "features.example.com")
            .body(Full::new(Bytes::new()))
            .expect("request");
        client.request(req).await.is_ok_and(|r| r.status() == 200)
    })
    .await;

    // Rewrite of path and authority, request headers set and removed, response header added.
    // The client's `x-envoy-attempt-count` is replaced by the gateway's count (Istio sets
    // `include_request_attempt_count` on every virtual host).
    let (status, headers, body) = send(
        "/rewrite/a?b=1",
        &[("x-secret", "s"), ("x-envoy-attempt-count", "9")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "GET /internal/a?b=1 host=internal.example.com x-added=yes x-secret=- attempt=1"
    );
    // The gateway answers as Istio's do, whatever the route (or the upstream) said: Envoy's
    // connection manager overwrites the header after the route's rules.
    assert_eq!(
        headers.get("server").map(|v| v.as_bytes()),
        Some(&b"istio-envoy"[..])
    );
    assert_eq!(
        headers.get("x-resp").map(|v| v.as_bytes()),
        Some(&b"r1"[..])
    );

    // Retries on 5xx: the flaky backend answers every third request.
    let (status, _, body) = send("/flaky", &[]).await;
    assert_eq!((status, body.as_str()), (200, "finally"));
    assert_eq!(flaky_calls.load(Ordering::SeqCst), 3);
    // Each try says which it is.
    assert_eq!(*flaky_attempts.lock().expect("lock"), ["1", "2", "3"]);

    // Route timeout.
    let started = Instant::now();
    let (status, _, body) = send("/slow", &[]).await;
    assert_eq!((status, body.as_str()), (504, "upstream request timeout"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Faults.
    let (status, _, body) = send("/abort", &[]).await;
    assert_eq!((status, body.as_str()), (418, "fault filter abort"));
    let started = Instant::now();
    let (status, _, _) = send("/delay", &[]).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Redirect.
    let (status, headers, _) = send("/old/x?q=1", &[]).await;
    assert_eq!(status, 302);
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("http://features.example.com/new?q=1")
    );

    // Mirroring: the mirror sees the request with Envoy's `-shadow` host.
    let (status, _, body) = send("/mirrored", &[]).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("GET /mirrored"), "{body}");
    wait_until(Duration::from_secs(5), "the mirrored request", || {
        let seen = mirrored.clone();
        async move {
            seen.lock()
                .expect("lock")
                .iter()
                .any(|r| r == "features.example.com-shadow /mirrored")
        }
    })
    .await;

    // HTTP/2 without TLS (prior knowledge), as Envoy's h2c; the authority carries the port.
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("gateway accepts");
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2c handshake");
    tokio::spawn(conn);
    let req = http::Request::builder()
        .uri(format!("http://features.example.com:{port}/h2"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let r = sender.send_request(req).await.expect("h2c answers");
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    let body = r.into_body().collect().await.expect("body").to_bytes();
    assert!(body.starts_with(b"GET /h2"), "{body:?}");

    // Bad input: oversized headers get 431, garbage 400, big bodies 413; the proxy lives on.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: features.example.com\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    assert_eq!(raw_status(port, big.as_bytes()), 431);
    let refused = raw_answer(port, b"NOT HTTP AT ALL\r\n\r\n");
    assert!(refused.starts_with("HTTP/1.1 400 "), "{refused}");
    // The gateway names itself on the codec's answers too, as Istio's does (`istio-envoy`).
    assert!(refused.contains("\r\nserver: istio-envoy\r\n"), "{refused}");
    let body = vec![b'x'; 2 << 20];
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: features.example.com\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    assert_eq!(raw_status(port, &req), 413);
    let (status, _, _) = send("/", &[]).await;
    assert_eq!(status, 200);
}

/// A proxy's `PROXY_CONFIG` (injection's merge of its pod's `proxy.istio.io/config` over the
/// mesh's `defaultConfig`) reaches the control plane, whose config for that proxy alone names
/// the server as its `proxyHeaders` say; one it cannot take stops the proxy with its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxys_own_proxy_config_names_its_server_header() {
    const HOST: &str = "own.example.com";
    let request = format!("GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    let server = |answer: &str| {
        answer
            .lines()
            .find_map(|l| l.strip_prefix("server: "))
            .map(str::to_string)
    };
    let plain = gateway("plain", HOST, backend("plain").await);
    let answer = raw_answer(plain.port, request.as_bytes());
    assert_eq!(server(&answer).as_deref(), Some("istio-envoy"), "{answer}");

    let config = r#"{"concurrency":2,"proxyHeaders":{"server":{"value":"edge/7"}}}"#;
    let own = gateway_with_env(
        "own",
        HOST,
        backend("own").await,
        &[("PROXY_CONFIG", config)],
    );
    let answer = raw_answer(own.port, request.as_bytes());
    assert_eq!(server(&answer).as_deref(), Some("edge/7"), "{answer}");

    // A proxy that took these would retry its control plane forever: the wait is bounded.
    let bad = r#"{"proxyHeaders":{"server":{"value":5}}}"#;
    let mut child = crate::ferryctl()
        .args(["proxy", "router", "--discovery-address", "127.0.0.1:1"])
        .args(["--admin-address", "127.0.0.1:0"])
        .env("PROXY_CONFIG", bad)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ferryctl runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().ok().flatten().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the proxy took proxy headers it cannot read: still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("its output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "--proxy-config (PROXY_CONFIG): failed to convert to apply proxy config: \
             proxyHeaders.server.value"
        ),
        "{stderr}"
    );
}

/// SIGTERM with no successor (Envoy's drain, then exit): a keep-alive HTTP/1.1 connection
/// waiting for its next request is closed at once, not held for the drain time (5 s), and the
/// proxy exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_an_idle_keep_alive_connection_at_once() {
    use std::io::{Read, Write};
    const HOST: &str = "idle.example.com";
    let backend = backend("idle").await;
    let mut gw = gateway("idle", HOST, backend);
    let addr = format!("127.0.0.1:{}", gw.port);

    // One request answered on a keep-alive connection, which then waits for the next.
    let mut conn = std::net::TcpStream::connect(&addr).expect("gateway accepts");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout set");
    conn.write_all(format!("GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n").as_bytes())
        .expect("request written");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).ends_with("idle") {
        let n = conn.read(&mut buf).expect("the answer");
        assert!(n > 0, "closed before answering: {answer:?}");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200 "), "{answer:?}");

    let terminated = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &gw.proxy.pid().to_string()])
        .status()
        .expect("kill runs");
    // The proxy closes the idle connection: end of stream, not the read timeout.
    let read = conn.read(&mut buf);
    assert!(matches!(read, Ok(0)), "{read:?}");
    let status = gw.proxy.child.wait().expect("the proxy exits");
    assert!(status.success(), "{status:?}");
    let took = terminated.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "the idle connection held the proxy for {took:?} (drain time 5 s)"
    );
}

/// A listener removed while connections are open (its Gateway deleted), drained as Envoy
/// drains a removed listener: an HTTP/1.1 connection's next request is served with the config
/// it was accepted with and answered with `connection: close` (a 503 would fail a request the
/// client sent before it could know); an idle one is closed once the drain time (5 s) is over;
/// an HTTP/2 connection gets a GOAWAY at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_listeners_open_connection_is_served_then_closed() {
    use std::io::{Read, Write};
    const HOST: &str = "removed.example.com";
    let backend = backend("removed").await;
    let gw = gateway("removed", HOST, backend);
    let addr = format!("127.0.0.1:{}", gw.port);
    let request = format!("GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    let mut conn = std::net::TcpStream::connect(&addr).expect("gateway accepts");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout set");
    // Reads until the backend's body, or (`to_end`) until the proxy closes the connection.
    let read_answer = |conn: &mut std::net::TcpStream, to_end: bool| {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).unwrap_or_else(|e| {
                panic!("{e}, after: {}", String::from_utf8_lossy(&answer));
            });
            if n == 0 {
                assert!(to_end, "closed after {answer:?}");
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if !to_end && answer.ends_with(b"removed") {
                break;
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    };
    conn.write_all(request.as_bytes()).expect("request written");
    let first = read_answer(&mut conn, false);
    assert!(first.starts_with("HTTP/1.1 200 "), "{first}");
    assert!(!first.contains("connection: close"), "{first}");
    let mut idle = std::net::TcpStream::connect(&addr).expect("gateway accepts");
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout set");
    idle.write_all(request.as_bytes()).expect("request written");
    read_answer(&mut idle, false);
    // And an HTTP/2 connection (h2c, prior knowledge).
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("gateway accepts");
    let (mut sender, h2) = hyper::client::conn::http2::handshake(
        TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2c handshake");
    let h2 = tokio::spawn(h2);
    let get = http::Request::builder()
        .uri(format!("http://{HOST}/"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let r = sender.send_request(get).await.expect("h2c answers");
    assert_eq!(r.status(), 200);

    // The Gateway goes (its service stays): the proxy stops listening on its port.
    std::fs::write(
        gw.dir.path().join("removed.yaml"),
        service_entry("removed", backend),
    )
    .expect("config written");
    crate::eventually(Duration::from_secs(20), "the listener to go", || {
        std::net::TcpStream::connect(&addr).is_err()
    });
    // Not closed at once: the idle connection gets the drain time.
    idle.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout set");
    let mut buf = [0u8; 64];
    let early = idle.read(&mut buf);
    assert!(
        early
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "{early:?}"
    );
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout set");

    conn.write_all(request.as_bytes()).expect("request written");
    let second = read_answer(&mut conn, true);
    assert!(second.starts_with("HTTP/1.1 200 "), "{second}");
    assert!(second.contains("\r\nconnection: close\r\n"), "{second}");
    assert!(second.ends_with("removed"), "{second}");

    let ended = tokio::time::timeout(Duration::from_secs(10), h2).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "the HTTP/2 connection did not end: {ended:?}"
    );
    // The idle connection ends (not the 15 s read timeout).
    let read = idle.read(&mut buf);
    assert!(matches!(read, Ok(0)), "{read:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_without_capture_routes_outbound_calls_by_the_mesh_virtual_service() {
    let v1 = backend("v1").await;
    let v2 = backend("v2").await;
    let v3 = backend("v3").await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The seed's mesh VirtualService and DestinationRule unchanged (plus the v3 subset).
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed");
    let routing = std::fs::read_to_string(seed.join("reviews-routing.yaml")).expect("seed");
    let routing = format!("{routing}  - name: v3\n    labels:\n      version: v3\n");
    std::fs::write(dir.path().join("reviews-routing.yaml"), routing).expect("written");
    let port = free_port();
    std::fs::write(
        dir.path().join("reviews-registry.yaml"),
        registry_yaml(port, &[("v1", v1), ("v2", v2), ("v3", v3)]),
    )
    .expect("registry written");
    let grpc = free_port();
    let (_discovery, _debug) = start_discovery(dir.path(), grpc);
    let _sidecar = Process::start(&[
        "proxy",
        "sidecar",
        "--discovery-address",
        &format!("127.0.0.1:{grpc}"),
        "--admin-address",
        "127.0.0.1:0",
        "--pod-name",
        "productpage-v1-1",
        "--pod-namespace",
        "default",
        "--labels",
        "app=productpage,version=v1",
    ]);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    // The application calls reviews by its short name, as bookinfo's productpage does.
    let call = |headers: &'static [(&'static str, &'static str)]| {
        let client = client.clone();
        async move {
            let mut req = http::Request::builder()
                .uri(format!("http://127.0.0.1:{port}/reviews/0"))
                .header("host", format!("reviews:{port}"));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req.body(Full::new(Bytes::new())).expect("request");
            match client.request(req).await {
                Ok(r) if r.status() == 200 => {
                    let b = r
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    String::from_utf8_lossy(&b).into_owned()
                }
                _ => String::new(),
            }
        }
    };
    wait_until(
        Duration::from_secs(20),
        "the sidecar's outbound listener",
        || async { !call(&[]).await.is_empty() },
    )
    .await;
    for _ in 0..50 {
        assert_eq!(call(&[("end-user", "jason")]).await, "v2");
    }
    let mut v3_hits = 0;
    for _ in 0..500 {
        match call(&[]).await.as_str() {
            "v1" => {}
            "v3" => v3_hits += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    // p = 0.1, n = 500: sd 6.7; ±5 sd.
    assert!((17..=83).contains(&v3_hits), "{v3_hits}");
}

/// Envoy's admin API on the gateway that just served the splits above: endpoint counters in
/// `/clusters`, Envoy's Prometheus names, and log levels changed at run time.
async fn admin_api_after_traffic(
    proxy: &Process,
    admin: &str,
    v1: SocketAddr,
    client: &HttpClient,
    http_port: u16,
) {
    let (code, clusters) = admin_get(admin, "/clusters");
    assert_eq!(code, 200);
    let prefix = format!(
        "outbound|9080|v1|reviews.default.svc.cluster.local::127.0.0.1:{}::rq_total::",
        v1.port()
    );
    let total: u64 = clusters
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} line in\n{clusters}"));
    assert!(total > 0, "v1 served the 90 % share");
    let (code, prom) = admin_get(admin, "/stats/prometheus");
    assert_eq!(code, 200);
    assert!(
        prom.lines().any(|l| l.starts_with(
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"outbound|9080|v1|reviews.default.svc.cluster.local\"} "
        )),
        "{prom}"
    );

    // Debug for every logger: the router logs each request.
    assert_eq!(
        admin_get(admin, "/logging?level=debug").0,
        405,
        "POST only, as Envoy"
    );
    let (code, body) = admin_request(admin, "POST", "/logging?level=debug");
    assert_eq!(code, 200);
    assert!(body.starts_with("active loggers:\n") && body.contains("  router: debug\n"));
    assert_eq!(get(client, http_port, "/reviews/1", &[]).await.0, 200);
    proxy.lines_until("request done");

    // Back to warning: the change is the last line logged at info, then requests are quiet
    // up to a line logged at error (a GET on a POST-only path).
    let (code, body) = admin_request(admin, "POST", "/logging?level=warning");
    assert_eq!(code, 200);
    assert!(body.contains("  router: warning\n"));
    proxy.lines_until("change all log levels: level='warning'");
    for _ in 0..5 {
        assert_eq!(get(client, http_port, "/reviews/1", &[]).await.0, 200);
    }
    assert_eq!(admin_get(admin, "/quitquitquit").0, 405);
    let quiet = proxy.lines_until("mutates state, method=GET rather than POST");
    assert!(
        quiet.iter().all(|l| !l.contains("request done")),
        "{quiet:#?}"
    );
}
