//! AuthorizationPolicy end to end: a real control plane on a config directory, a real sidecar
//! (`ferryctl proxy sidecar`, no traffic capture) in front of a real httpbin-like backend on
//! 127.0.0.1 through its Sidecar `ingress` listener, and real requests. Policies are written to
//! the directory while the proxy runs, as an operator would apply them.
//!
//! The first test's callers are plaintext, so they have no peer principal, exactly like a caller
//! without mTLS in Istio: the seed's policy (which admits only the `sleep` service account)
//! denies them all, and its `to` rules are exercised with the same policy admitting the caller by
//! address. The second puts `sleep`'s and another account's sidecars in front, with the control
//! plane as their CA: the seed's policy as written admits `sleep`'s identity only.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::eventually;
use crate::ferryctl;
use crate::mesh::{Process, admin_get, backend_fn, free_port, http_request, start_discovery};
use crate::mtls::{loopback_pair, start_ca, start_sidecar, write_token};

/// The seed's AuthorizationPolicy document, as written (namespace `default` by default).
fn seed_policy() -> String {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/seed/networkpolicy-authorizationpolicy.yaml");
    let text = std::fs::read_to_string(seed).expect("seed read");
    let policy = text
        .split("\n---\n")
        .find(|d| d.contains("kind: AuthorizationPolicy"))
        .expect("the AuthorizationPolicy document")
        .to_string();
    assert!(policy.contains("name: httpbin-viewer"), "the seed changed");
    policy
}

/// httpbin's Service, its one workload, and the Sidecar that puts the proxy in front of it.
fn workload_yaml(port: u16, app: SocketAddr) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: httpbin, namespace: default}}
spec:
  hosts: [httpbin.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: {port}, name: http, protocol: HTTP}}]
  workloadSelector: {{labels: {{app: httpbin}}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: httpbin-1, namespace: default}}
spec: {{address: 127.0.0.1, labels: {{app: httpbin}}}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: httpbin, namespace: default}}
spec:
  workloadSelector: {{labels: {{app: httpbin}}}}
  ingress:
  - port: {{number: {port}, name: http, protocol: HTTP}}
    bind: 127.0.0.1
    defaultEndpoint: {app}
"
    )
}

fn call(port: u16, method: &str, path: &str) -> (u16, String) {
    http_request(&format!("127.0.0.1:{port}"), method, "httpbin", path).unwrap_or_default()
}

fn rbac_stat(admin: &str, name: &str) -> Option<u64> {
    let (_, stats) = admin_get(admin, "/stats");
    stats.lines().find_map(|l| {
        let (k, v) = l.split_once(": ")?;
        (k.starts_with("http.inbound_") && k.ends_with(name))
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_policies_are_enforced_by_the_inbound_sidecar() {
    let app = backend_fn(|method, uri, _| {
        (
            200,
            format!("httpbin {method} {}", uri.path()),
            Duration::ZERO,
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    std::fs::write(dir.path().join("httpbin.yaml"), workload_yaml(port, app)).expect("written");
    let grpc = free_port();
    let (_discovery, debug) = start_discovery(dir.path(), grpc);
    let sidecar = Process::start(&[
        "proxy",
        "sidecar",
        "--discovery-address",
        &format!("127.0.0.1:{grpc}"),
        "--admin-address",
        "127.0.0.1:0",
        "--pod-name",
        "httpbin-1",
        "--pod-namespace",
        "default",
        "--labels",
        "app=httpbin",
    ]);
    let admin = sidecar.line("ferryctl proxy: admin on ");
    let admin = admin.split(',').next().expect("admin address").to_string();
    let limit = Duration::from_secs(20);

    // No policy: everything reaches the application, and no RBAC stats exist.
    eventually(limit, "the inbound listener", || {
        call(port, "GET", "/headers").0 == 200
    });
    assert_eq!(
        call(port, "POST", "/anything"),
        (200, "httpbin POST /anything".to_string())
    );
    assert_eq!(rbac_stat(&admin, "rbac.denied"), None);

    // The seed's policy as written: only sleep's identity may GET /status/*; a plaintext
    // caller has no identity, so even that is denied, with Envoy's body.
    let policy = dir.path().join("httpbin-viewer.yaml");
    std::fs::write(&policy, seed_policy()).expect("policy written");
    eventually(limit, "the seed policy enforced", || {
        call(port, "GET", "/headers").0 == 403
    });
    assert_eq!(
        call(port, "GET", "/status/200"),
        (403, "RBAC: access denied".to_string())
    );
    assert_eq!(call(port, "POST", "/status/200").0, 403);

    // The config dump shows Envoy's RBAC filter with Istio's policy name.
    let (code, dump) = admin_get(&admin, "/config_dump");
    assert_eq!(code, 200);
    assert!(
        dump.contains(
            "\"@type\": \"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC\""
        ),
        "{dump}"
    );
    assert!(
        dump.contains("ns[default]-policy[httpbin-viewer]-rule[0]"),
        "{dump}"
    );
    assert!(dump.contains("spiffe://cluster.local/ns/default/sa/sleep"));

    // The same policy admitting this caller by its address: its `to` rules decide.
    let by_address = seed_policy().replace(
        "principals: [\"cluster.local/ns/default/sa/sleep\"]",
        "ipBlocks: [\"127.0.0.1\"]",
    );
    assert_ne!(by_address, seed_policy());
    std::fs::write(&policy, by_address).expect("policy written");
    eventually(limit, "the address-based policy enforced", || {
        call(port, "GET", "/status/200").0 == 200
    });
    assert_eq!(
        call(port, "GET", "/status/418"),
        (200, "httpbin GET /status/418".to_string())
    );
    assert_eq!(call(port, "POST", "/status/200").0, 403);
    assert_eq!(call(port, "GET", "/headers").0, 403);
    assert_eq!(call(port, "GET", "/status").0, 403);

    // DENY is evaluated before ALLOW and wins.
    std::fs::write(
        dir.path().join("no-teapots.yaml"),
        "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-teapots, namespace: default}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules:
  - to: [{operation: {paths: [/status/418]}}]
",
    )
    .expect("deny written");
    eventually(limit, "the DENY policy enforced", || {
        call(port, "GET", "/status/418").0 == 403
    });
    assert_eq!(call(port, "GET", "/status/200").0, 200);

    // An invalid policy (DENY without rules) is rejected by the control plane and never
    // reaches the proxy: the old policies keep deciding.
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: broken, namespace: default}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
",
    )
    .expect("broken written");
    eventually(limit, "the broken policy rejected", || {
        let (_, body) = admin_get(&debug, "/debug/configz");
        body.contains("\"broken\"") && body.contains("DENY action without `rules`")
    });
    assert_eq!(call(port, "GET", "/status/200").0, 200);
    assert_eq!(call(port, "GET", "/status/418").0, 403);
    let (_, dump) = admin_get(&admin, "/config_dump");
    assert!(!dump.contains("policy[broken]"));

    // Envoy's counters: each RBAC filter counts what it let through and what it stopped.
    let denied = rbac_stat(&admin, "rbac.denied").expect("rbac.denied");
    let allowed = rbac_stat(&admin, "rbac.allowed").expect("rbac.allowed");
    assert!(denied >= 8, "{denied}");
    assert!(allowed >= 4, "{allowed}");
}

/// httpbin (service account `httpbin`, a sidecar at `ip_httpbin`) and two clients whose
/// sidecars bind their outbound listeners at `ip_sleep` (service account `sleep`) and
/// `ip_other` (service account `other`).
fn identities_yaml(
    port: u16,
    ip_httpbin: &str,
    ip_sleep: &str,
    ip_other: &str,
    app: SocketAddr,
) -> String {
    let client = |name: &str, ip: &str| {
        format!(
            "---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: {name}, namespace: default}}
spec:
  workloadSelector: {{labels: {{app: {name}}}}}
  egress:
  - bind: {ip}
    hosts: [./*]
"
        )
    };
    format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: httpbin, namespace: default}}
spec:
  hosts: [httpbin.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: {port}, name: http, protocol: HTTP}}]
  workloadSelector: {{labels: {{app: httpbin}}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: httpbin-1, namespace: default}}
spec:
  address: {ip_httpbin}
  serviceAccount: httpbin
  ports: {{http: {port}}}
  labels: {{app: httpbin, security.istio.io/tlsMode: istio}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: httpbin, namespace: default}}
spec:
  workloadSelector: {{labels: {{app: httpbin}}}}
  ingress:
  - port: {{number: {port}, name: http, protocol: HTTP}}
    bind: {ip_httpbin}
    defaultEndpoint: {app}
{}{}",
        client("sleep", ip_sleep),
        client("other", ip_other)
    )
}

/// The seed's `httpbin-viewer` policy as written, with real identities: sleep's sidecar and
/// another account's call httpbin's over Istio mTLS (auto mTLS; certificates from the control
/// plane as CA), and httpbin's inbound RBAC filter decides on the caller's SPIFFE ID. Only
/// sleep may `GET /status/*`; everything else is `403 RBAC: access denied`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_policy_admits_sleeps_identity_only() {
    let app = backend_fn(|method, uri, _| {
        (
            200,
            format!("httpbin {method} {}", uri.path()),
            Duration::ZERO,
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    for sa in ["httpbin", "sleep", "other"] {
        write_token(&tokens, "default", sa, &format!("token-{sa}"));
    }
    let (ip_httpbin, ip_sleep) = loopback_pair();
    let ip_other = ip_sleep.replacen("127.92.", "127.93.", 1);
    let port = free_port();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).expect("config");
    std::fs::write(
        config.join("mesh.yaml"),
        identities_yaml(port, &ip_httpbin, &ip_sleep, &ip_other, app),
    )
    .expect("config written");
    std::fs::write(config.join("httpbin-viewer.yaml"), seed_policy()).expect("policy written");
    let (_cp, grpc) = start_ca(&config, &dir.path().join("ca"), &tokens, &[]);
    let sidecar = |name: &str, sa: &str, ip: &str| {
        start_sidecar(
            grpc,
            &format!("{name}-1"),
            Some(&tokens.join("default").join(sa)),
            &["--ip", ip, "--labels", &format!("app={name}")],
        )
    };
    let (_httpbin, admin) = sidecar("httpbin", "httpbin", &ip_httpbin);
    let (_sleep, _) = sidecar("sleep", "sleep", &ip_sleep);
    let (_other, _) = sidecar("other", "other", &ip_other);
    let host = format!("httpbin.default.svc.cluster.local:{port}");
    let via = |ip: &str, method: &str, path: &str| {
        http_request(&format!("{ip}:{port}"), method, &host, path).unwrap_or_default()
    };
    eventually(Duration::from_secs(30), "sleep admitted", || {
        via(&ip_sleep, "GET", "/status/200").0 == 200
    });
    assert_eq!(
        via(&ip_sleep, "GET", "/status/418"),
        (200, "httpbin GET /status/418".to_string())
    );
    // The rule's `to`: other methods and paths are denied even to sleep.
    assert_eq!(via(&ip_sleep, "POST", "/status/200").0, 403);
    assert_eq!(via(&ip_sleep, "GET", "/headers").0, 403);
    // Another identity over the same mTLS: denied, with Envoy's body.
    eventually(Duration::from_secs(30), "other's sidecar ready", || {
        via(&ip_other, "GET", "/status/200").0 != 0
    });
    assert_eq!(
        via(&ip_other, "GET", "/status/200"),
        (403, "RBAC: access denied".to_string())
    );
    let denied = rbac_stat(&admin, "rbac.denied").expect("rbac.denied");
    let allowed = rbac_stat(&admin, "rbac.allowed").expect("rbac.allowed");
    assert!(denied >= 3, "{denied}");
    assert!(allowed >= 2, "{allowed}");
}

#[test]
fn analyze_rejects_an_invalid_policy_and_accepts_the_seeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: broken, namespace: default}
spec:
  action: DENY
  rules:
  - to: [{operation: {ports: ['70000']}}]
",
    )
    .expect("written");
    let out = ferryctl()
        .args(["analyze", "--use-kube=false"])
        .arg(&broken)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(79), "{stdout}");
    assert!(
        stdout.contains("invalid policy broken.default: bad port (70000)"),
        "{stdout}"
    );
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, seed_policy()).expect("written");
    let out = ferryctl()
        .args(["analyze", "--use-kube=false"])
        .arg(&seed)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("IST0101") && !stdout.contains("invalid policy"),
        "{stdout}"
    );
}
