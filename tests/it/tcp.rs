//! The TCP proxy end to end: a real control plane (as CA), real sidecars whose listeners carry
//! `envoy.filters.network.tcp_proxy` for a `protocol: TCP` port, and a TCP echo application:
//! bytes both ways over auto mTLS, half-close, STRICT mTLS, an unreachable endpoint, and
//! Istio's `istio_tcp_*` metrics for all of it.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use crate::eventually;
use crate::mesh::{admin_get, free_port};
use crate::mtls::{TwoWorkloads, loopback_pair, start_ca, write_token};
use crate::telemetry::samples;

/// An application that reads its client's bytes to the end (the client's half-close) and
/// only then writes them back and closes: it answers only when a half-close came through.
async fn echo_after_eof() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut received = Vec::new();
                if stream.read_to_end(&mut received).await.is_ok() {
                    let _ = stream.write_all(&received).await;
                    let _ = stream.shutdown().await;
                }
            });
        }
    });
    addr
}

/// Sends `payload` to `addr`, half-closes, and reads until the other side closes; `None`
/// when connecting or writing fails.
fn exchange(addr: &str, payload: &[u8]) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(payload).ok()?;
    stream.shutdown(Shutdown::Write).ok()?;
    let mut answer = Vec::new();
    // A reset after a refusal reads as an error: nothing came back.
    let _ = stream.read_to_end(&mut answer);
    Some(answer)
}

/// The four `istio_tcp_*` counters of the series matching `want` on the proxy at `admin`
/// (closed, opened, received, sent), summed over matching series.
fn tcp_counters(admin: &str, want: &[(&str, &str)]) -> [f64; 4] {
    let page = admin_get(admin, "/stats/prometheus").1;
    [
        "istio_tcp_connections_closed_total",
        "istio_tcp_connections_opened_total",
        "istio_tcp_received_bytes_total",
        "istio_tcp_sent_bytes_total",
    ]
    .map(|metric| samples(&page, metric, want).iter().map(|(_, v)| v).sum())
}

/// The labels of the first `istio_tcp_connections_opened_total` series matching `want`.
fn tcp_labels(admin: &str, want: &[(&str, &str)]) -> BTreeMap<String, String> {
    let page = admin_get(admin, "/stats/prometheus").1;
    samples(&page, "istio_tcp_connections_opened_total", want)
        .into_iter()
        .next()
        .map(|(labels, _)| labels)
        .unwrap_or_else(|| panic!("no series with {want:?} in\n{page}"))
}

/// `proxy-config listener -f <dump> --port <port>` of the proxy at `admin`.
fn listener_table(admin: &str, port: u16, dir: &std::path::Path, extra: &[&str]) -> String {
    let (_, dump) = admin_get(admin, "/config_dump");
    let file = dir.join(format!("dump-{}.json", admin.replace([':', '.'], "-")));
    std::fs::write(&file, dump).expect("dump written");
    let out = crate::ferryctl()
        .args([
            "proxy-config",
            "listener",
            "--port",
            &port.to_string(),
            "-f",
        ])
        .arg(&file)
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// client → sidecar A → (auto mTLS) → sidecar B → echo application, on a port declared
/// `protocol: TCP`: the bytes come back whole after the client's half-close; B terminated
/// TLS on its TCP chain; both proxies count the connection and its exact bytes in Istio's
/// TCP metrics, B as destination with `mutual_tls` and A's identity as the source principal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_between_sidecars_runs_over_mtls_and_is_metered() {
    let app = echo_after_eof().await;
    let mesh = TwoWorkloads::prepare("TCP", app);
    let TwoWorkloads { dir, ip_a, .. } = &mesh;
    let port = mesh.port;
    let (_cp, [(_a, admin_a), (_b, admin_b)]) = mesh.start();
    let through_a = format!("{ip_a}:{port}");
    eventually(
        Duration::from_secs(30),
        "an echo through both sidecars",
        || exchange(&through_a, b"ping").is_some_and(|a| a == b"ping"),
    );
    let source = [
        ("reporter", "source"),
        ("request_protocol", "tcp"),
        ("response_flags", "-"),
    ];
    let destination = [
        ("reporter", "destination"),
        ("request_protocol", "tcp"),
        ("response_flags", "-"),
        ("connection_security_policy", "mutual_tls"),
    ];
    // Both sides report a connection once it closed.
    eventually(
        Duration::from_secs(10),
        "the first connection closed",
        || {
            tcp_counters(&admin_a, &source)[0] >= 1.0
                && tcp_counters(&admin_b, &destination)[0] >= 1.0
        },
    );
    let before_a = tcp_counters(&admin_a, &source);
    let before_b = tcp_counters(&admin_b, &destination);
    // A payload of a size no retry could have produced, several reads long.
    let payload: Vec<u8> = (0..70_001u32).map(|i| (i % 251) as u8).collect();
    let answer = exchange(&through_a, &payload).expect("connected");
    assert_eq!(answer.len(), payload.len());
    assert!(answer == payload, "the echo differs");
    let n = payload.len() as f64;
    let delta = |before: [f64; 4], after: [f64; 4]| -> [f64; 4] {
        std::array::from_fn(|i| after[i] - before[i])
    };
    let mut last = ([0.0; 4], [0.0; 4]);
    eventually(Duration::from_secs(10), "exact TCP counts", || {
        last = (
            delta(before_a, tcp_counters(&admin_a, &source)),
            delta(before_b, tcp_counters(&admin_b, &destination)),
        );
        last.0 == [1.0, 1.0, n, n] && last.1 == [1.0, 1.0, n, n]
    });
    let a = tcp_labels(&admin_a, &source);
    assert_eq!(a["destination_service"], "b.default.svc.cluster.local");
    assert_eq!(a["connection_security_policy"], "unknown");
    assert!(!a.contains_key("response_code"), "{a:?}");
    assert!(!a.contains_key("grpc_response_status"), "{a:?}");
    let b = tcp_labels(&admin_b, &destination);
    assert_eq!(
        b["source_principal"],
        "spiffe://cluster.local/ns/default/sa/sa-a"
    );
    // `proxy-config listener` shows the TCP chains as istioctl does: B's mTLS and plain
    // chains to the inbound cluster, A's one chain to the service's outbound cluster.
    let listeners_b = listener_table(&admin_b, port, dir.path(), &[]);
    assert!(
        listeners_b
            .lines()
            .any(|l| l.contains("Trans: tls") && l.contains(&format!("Cluster: inbound|{port}|"))),
        "{listeners_b}"
    );
    assert!(
        listeners_b
            .lines()
            .any(|l| l.contains("Trans: raw_buffer")
                && l.contains(&format!("Cluster: inbound|{port}|"))),
        "{listeners_b}"
    );
    let listeners_a = listener_table(&admin_a, port, dir.path(), &["--verbose=false"]);
    assert!(
        listeners_a
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [ip_a.as_str(), &port.to_string(), "TCP"]),
        "{listeners_a}"
    );
    // B terminated TLS on its TCP chain, and Envoy's `tcp.<prefix>` stats count it all.
    let stats_b = admin_get(&admin_b, "/stats").1;
    let stat = |stats: &str, suffix: &str| -> Vec<u64> {
        stats
            .lines()
            .filter(|l| l.starts_with("tcp.") && l.contains(suffix))
            .filter_map(|l| l.rsplit_once(": ")?.1.parse().ok())
            .collect()
    };
    assert!(
        stat(&stats_b, ".downstream_cx_ssl_total: ")
            .iter()
            .any(|v| *v >= 2),
        "{stats_b}"
    );
    assert!(
        stat(&stats_b, ".downstream_cx_rx_bytes_total: ")
            .iter()
            .any(|v| *v >= payload.len() as u64),
        "{stats_b}"
    );
    let stats_a = admin_get(&admin_a, "/stats").1;
    assert!(
        stat(&stats_a, ".downstream_cx_total: ")
            .iter()
            .any(|v| *v >= 2),
        "{stats_a}"
    );
    assert!(
        stats_a.lines().any(|l| l.starts_with("cluster.outbound|")
            && l.contains("b.default.svc.cluster.local.upstream_cx_total: ")
            && !l.ends_with(": 0")),
        "{stats_a}"
    );
}

/// STRICT PeerAuthentication: B's TCP chain takes only mTLS, so a plain-text client gets no
/// bytes back, while A's auto mTLS still reaches the application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mtls_refuses_plain_tcp() {
    let app = echo_after_eof().await;
    let mesh = TwoWorkloads::prepare("TCP", app);
    let TwoWorkloads {
        config, ip_a, ip_b, ..
    } = &mesh;
    let port = mesh.port;
    std::fs::write(
        config.join("peer-authentication.yaml"),
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: default}\nspec:\n  mtls: {mode: STRICT}\n",
    )
    .expect("policy");
    let (_cp, [(_a, _), (_b, admin_b)]) = mesh.start();
    let through_a = format!("{ip_a}:{port}");
    eventually(
        Duration::from_secs(30),
        "mTLS through both sidecars",
        || exchange(&through_a, b"over mtls").is_some_and(|a| a == b"over mtls"),
    );
    let direct = format!("{ip_b}:{port}");
    let answer = exchange(&direct, b"plain text").unwrap_or_default();
    assert!(answer.is_empty(), "{answer:?}");
    let listeners = admin_get(&admin_b, "/config_dump?resource=dynamic_listeners").1;
    assert!(
        listeners.contains("envoy.filters.network.tcp_proxy"),
        "{listeners}"
    );
    assert!(!listeners.contains("raw_buffer"), "{listeners}");
}

/// A TCP service whose only endpoint has nothing listening: the client's connection is
/// closed without a byte, and the sidecar reports it with `response_flags="UF"` and counts
/// the connect failure on the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_closes_the_connection_flagged_uf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    write_token(&tokens, "default", "sa-a", "token-a");
    let (ip_a, _) = loopback_pair();
    let port = free_port();
    // Bound and closed again: nothing listens there.
    let dead = free_port();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).expect("config");
    std::fs::write(
        config.join("mesh.yaml"),
        format!(
            "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: c, namespace: default}}
spec:
  hosts: [c.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{{number: {port}, name: tcp, protocol: TCP}}]
  endpoints: [{{address: 127.0.0.1, ports: {{tcp: {dead}}}}}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: a, namespace: default}}
spec:
  workloadSelector: {{labels: {{app: a}}}}
  egress:
  - bind: {ip_a}
    hosts: [./*]
"
        ),
    )
    .expect("config written");
    let (_cp, grpc) = start_ca(&config, &dir.path().join("ca"), &tokens, &[]);
    let (_a, admin_a) = crate::mtls::start_sidecar(
        grpc,
        "a-1",
        Some(&tokens.join("default/sa-a")),
        &["--ip", &ip_a, "--labels", "app=a"],
    );
    let through_a = format!("{ip_a}:{port}");
    let uf = [
        ("reporter", "source"),
        ("request_protocol", "tcp"),
        ("response_flags", "UF"),
    ];
    eventually(Duration::from_secs(30), "a connection flagged UF", || {
        exchange(&through_a, b"anyone?").is_some_and(|a| a.is_empty())
            && tcp_counters(&admin_a, &uf)[0] >= 1.0
    });
    let [closed, opened, received, sent] = tcp_counters(&admin_a, &uf);
    assert_eq!(closed, opened);
    assert_eq!((received, sent), (0.0, 0.0));
    assert_eq!(
        tcp_labels(&admin_a, &uf)["destination_service"],
        "c.example.com"
    );
    let stats = admin_get(&admin_a, "/stats").1;
    assert!(
        stats
            .lines()
            .any(|l| l.contains("c.example.com.upstream_cx_connect_fail: ") && !l.ends_with(": 0")),
        "{stats}"
    );
}

/// AuthorizationPolicies are enforced on HTTP only: a TCP port of a workload they select is
/// not served at all (fail closed) rather than served unchecked, and the control plane says so.
/// A connection open before the policy is closed once the removed listener drained (5 s), as
/// Envoy closes a removed listener's connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_port_of_a_workload_under_authorization_policy_is_closed() {
    let app = echo_after_eof().await;
    let mesh = TwoWorkloads::prepare("TCP", app);
    let TwoWorkloads { config, ip_a, .. } = &mesh;
    let port = mesh.port;
    let (_cp, [(_a, _), (_b, admin_b)]) = mesh.start();
    let through_a = format!("{ip_a}:{port}");
    eventually(
        Duration::from_secs(30),
        "TCP served without a policy",
        || exchange(&through_a, b"open").is_some_and(|a| a == b"open"),
    );
    let inbound = format!("\"inbound|{port}|");
    let listeners = admin_get(&admin_b, "/config_dump?resource=dynamic_listeners").1;
    assert!(listeners.contains(&inbound), "{listeners}");
    // Held open: the application answers only after the client's end of stream.
    let mut held = TcpStream::connect(&through_a).expect("A accepts");
    let opened = |admin: &str| {
        admin_get(admin, "/stats/prometheus")
            .1
            .lines()
            .filter(|l| l.starts_with("istio_tcp_connections_opened_total{"))
            .filter(|l| l.contains("reporter=\"destination\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let before = opened(&admin_b);
    held.write_all(b"held").expect("written");
    eventually(Duration::from_secs(10), "the held connection at B", || {
        opened(&admin_b) > before
    });
    // An ALLOW policy that would admit A: still closed, as Ferry cannot check it on TCP.
    std::fs::write(
        config.join("allow-a.yaml"),
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-a, namespace: default}\nspec:\n  selector: {matchLabels: {app: b}}\n  rules:\n  - from: [{source: {principals: [cluster.local/ns/default/sa/sa-a]}}]\n",
    )
    .expect("policy");
    eventually(
        Duration::from_secs(30),
        "the inbound TCP listener removed",
        || {
            let listeners = admin_get(&admin_b, "/config_dump?resource=dynamic_listeners").1;
            listeners.contains("tcp_proxy") && !listeners.contains(&inbound)
        },
    );
    let answer = exchange(&through_a, b"closed").unwrap_or_default();
    assert!(answer.is_empty(), "{answer:?}");
    // The held connection ends (end of stream or a reset), not the 20 s read timeout.
    held.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout set");
    let mut buf = [0u8; 16];
    match held.read(&mut buf) {
        Ok(0) => {}
        Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the held connection is still open: {other:?}"),
    }
}
