//! DestinationRule traffic policies end to end: a real control plane on a config directory, a
//! real gateway proxy and real HTTP backends on 127.0.0.1. Consistent hashing keeps a user on
//! one backend and sets Envoy's cookie; a connection pool of one connection and one pending
//! request overflows with Envoy's 503 `UO`; outlier detection ejects the backend that answers
//! 500s, `/clusters` and `proxy-config endpoint` show it, and it returns after its ejection.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::ferryctl;
use crate::mesh::{admin_get, backend_fn, free_port, http_gateway, start_discovery, start_router};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A ServiceEntry `name` on port 80 with one endpoint per backend.
fn service(name: &str, backends: &[SocketAddr]) -> String {
    let mut s = format!(
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
"
    );
    for b in backends {
        s.push_str(&format!(
            "  - address: {}\n    ports:\n      http: {}\n",
            b.ip(),
            b.port()
        ));
    }
    s.push_str("---\n");
    s
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

async fn get(client: &HttpClient, port: u16, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = http::Request::builder()
        .uri(format!("http://127.0.0.1:{port}{path}"))
        .header("host", "resilience.example.com");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::new())).expect("request");
    let r = client.request(req).await.expect("the gateway answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The value of one `/stats` line.
fn stat(admin: &str, name: &str) -> Option<u64> {
    let (_, text) = admin_get(admin, "/stats");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_applies_destination_rule_traffic_policies() {
    let named = |name: &'static str| backend_fn(move |_, _, _| (200, name.into(), Duration::ZERO));
    let hashed = [named("h1").await, named("h2").await, named("h3").await];
    let slow = backend_fn(|_, _, _| (200, "slow".into(), Duration::from_millis(1500))).await;
    let good = named("good").await;
    let bad_calls = Arc::new(AtomicUsize::new(0));
    let calls = bad_calls.clone();
    let bad = backend_fn(move |_, _, _| {
        calls.fetch_add(1, Ordering::SeqCst);
        (500, "bad".into(), Duration::ZERO)
    })
    .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut config = String::new();
    config.push_str(&service("hashed", &hashed));
    config.push_str(&service("cookie", &hashed));
    config.push_str(&service("slow", &[slow]));
    config.push_str(&service("pair", &[good, bad]));
    config.push_str(&http_gateway("resilience", port, "resilience.example.com"));
    config.push_str(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: resilience
  namespace: default
spec:
  hosts:
  - resilience.example.com
  gateways:
  - resilience
  http:
  - match:
    - uri:
        prefix: /hashed
    route:
    - destination:
        host: hashed.default.svc.cluster.local
  - match:
    - uri:
        prefix: /cookie
    route:
    - destination:
        host: cookie.default.svc.cluster.local
  - match:
    - uri:
        prefix: /slow
    route:
    - destination:
        host: slow.default.svc.cluster.local
  - route:
    - destination:
        host: pair.default.svc.cluster.local
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: hashed
  namespace: default
spec:
  host: hashed.default.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpHeaderName: x-user
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: cookie
  namespace: default
spec:
  host: cookie.default.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      consistentHash:
        maglev:
          tableSize: 65537
        httpCookie:
          name: session
          path: /
          ttl: 60s
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: slow
  namespace: default
spec:
  host: slow.default.svc.cluster.local
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: pair
  namespace: default
spec:
  host: pair.default.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
    outlierDetection:
      consecutive5xxErrors: 2
      interval: 1s
      baseEjectionTime: 3s
      maxEjectionPercent: 50
",
    );
    std::fs::write(dir.path().join("resilience.yaml"), config).expect("config written");
    let grpc = free_port();
    let (_discovery, _debug) = start_discovery(dir.path(), grpc);
    let (_proxy, admin) = start_router(grpc);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let deadline = Instant::now() + Duration::from_secs(20);
    let routed = || async {
        let req = http::Request::builder()
            .uri(format!("http://127.0.0.1:{port}/hashed"))
            .header("host", "resilience.example.com")
            .body(Full::new(Bytes::new()))
            .expect("request");
        client.request(req).await.is_ok_and(|r| r.status() == 200)
    };
    while !routed().await {
        assert!(Instant::now() < deadline, "the gateway never routed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The control plane sent Envoy's forms, which config_dump shows.
    let (_, dump) = admin_get(&admin, "/config_dump");
    for expected in ["\"RING_HASH\"", "\"MAGLEV\"", "\"header_name\": \"x-user\""] {
        assert!(dump.contains(expected), "config_dump lacks {expected}");
    }

    // Consistent hashing by header: a user stays on one backend, users spread over all.
    let mut seen = BTreeSet::new();
    for user in 0..30 {
        let user = format!("user-{user}");
        let first = get(&client, port, "/hashed", &[("x-user", &user)])
            .await
            .body;
        for _ in 0..4 {
            let again = get(&client, port, "/hashed", &[("x-user", &user)])
                .await
                .body;
            assert_eq!(again, first, "{user} moved");
        }
        seen.insert(first);
    }
    assert_eq!(seen.len(), 3, "users reached {seen:?}");

    // Consistent hashing by cookie: generated when absent, then sticky.
    let first = get(&client, port, "/cookie", &[]).await;
    let set = first
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a generated cookie")
        .to_string();
    assert!(set.starts_with("session=\"") && set.ends_with("; Max-Age=60; Path=/; HttpOnly"));
    let cookie = set.split(';').next().expect("the pair").to_string();
    for _ in 0..10 {
        let again = get(&client, port, "/cookie", &[("cookie", &cookie)]).await;
        assert_eq!(again.body, first.body);
        assert!(again.headers.get("set-cookie").is_none());
    }

    // One connection and one pending request: of three at once, one overflows.
    let answers = futures_join3(
        get(&client, port, "/slow", &[]),
        get(&client, port, "/slow", &[]),
        get(&client, port, "/slow", &[]),
    )
    .await;
    let overflowed: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(
        overflowed.len(),
        1,
        "statuses {:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(
        overflowed[0].body,
        "upstream connect error or disconnect/reset before headers. reset reason: overflow"
    );
    assert_eq!(
        overflowed[0]
            .headers
            .get("x-envoy-overloaded")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 2);
    let slow_cluster = "cluster.outbound|80||slow.default.svc.cluster.local";
    assert_eq!(
        stat(
            &admin,
            &format!("{slow_cluster}.upstream_rq_pending_overflow")
        ),
        Some(1)
    );
    assert!(stat(&admin, &format!("{slow_cluster}.upstream_cx_overflow")) >= Some(1));

    // Outlier detection: the bad backend is ejected after two 500s in a row.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(get(&client, port, "/", &[]).await.status);
    }
    assert_eq!(bad_calls.load(Ordering::SeqCst), 2, "statuses {statuses:?}");
    assert!(
        statuses[statuses.len() - 10..].iter().all(|s| *s == 200),
        "{statuses:?}"
    );
    let bad_host = format!("outbound|80||pair.default.svc.cluster.local::{bad}::health_flags::");
    let (_, clusters) = admin_get(&admin, "/clusters");
    assert!(
        clusters.contains(&format!("{bad_host}/failed_outlier_check\n")),
        "{clusters}"
    );
    let pair = "cluster.outbound|80||pair.default.svc.cluster.local";
    assert_eq!(
        stat(
            &admin,
            &format!("{pair}.outlier_detection.ejections_active")
        ),
        Some(1)
    );
    // istioctl's table: the endpoint stays HEALTHY by EDS and fails the outlier check.
    let (_, json) = admin_get(&admin, "/clusters?format=json");
    let file = dir.path().join("clusters.json");
    std::fs::write(&file, json).expect("clusters written");
    let out = ferryctl()
        .args(["proxy-config", "endpoint", "-f"])
        .arg(&file)
        .args(["--cluster", "outbound|80||pair.default.svc.cluster.local"])
        .output()
        .expect("ferryctl runs");
    let table = String::from_utf8_lossy(&out.stdout);
    let row = |addr: SocketAddr| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{addr} ")))
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
    };
    assert_eq!(row(bad), Some(format!("{bad} HEALTHY FAILED")), "{table}");
    assert_eq!(row(good), Some(format!("{good} HEALTHY OK")), "{table}");

    // After the base ejection time it takes requests again (and is ejected again).
    tokio::time::sleep(Duration::from_millis(3200)).await;
    for _ in 0..6 {
        get(&client, port, "/", &[]).await;
    }
    assert!(
        bad_calls.load(Ordering::SeqCst) > 2,
        "the ejected endpoint never came back"
    );
    let (_, clusters) = admin_get(&admin, "/clusters");
    assert!(clusters.contains(&format!("{bad_host}/failed_outlier_check\n")));
    assert_eq!(
        stat(
            &admin,
            &format!("{pair}.outlier_detection.ejections_enforced_consecutive_5xx")
        ),
        Some(2)
    );
}

/// Runs three futures at once (the test's three concurrent requests).
async fn futures_join3<F: std::future::Future>(a: F, b: F, c: F) -> [F::Output; 3] {
    let (a, b, c) = tokio::join!(a, b, c);
    [a, b, c]
}
