//! Identity and mutual TLS end to end: a real control plane as the CA, real proxies getting and
//! renewing their workload certificates, and what `proxy-config secret` and `rootca-compare`
//! read from them.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::local_mesh::LocalMesh;
use crate::mesh::{Process, admin_get, backend_fn, free_port};
use crate::{eventually, ferryctl};

/// Writes `token` as the local mesh writes a service account's token.
pub(crate) fn write_token(tokens: &Path, namespace: &str, service_account: &str, token: &str) {
    let dir = tokens.join(namespace);
    std::fs::create_dir_all(&dir).expect("token dir");
    std::fs::write(dir.join(service_account), token).expect("token");
}

/// `ferryctl discovery` on `config` as the CA of `ca` with the tokens of `tokens`; its gRPC
/// port.
pub(crate) fn start_ca(config: &Path, ca: &Path, tokens: &Path, extra: &[&str]) -> (Process, u16) {
    std::fs::create_dir_all(config).expect("config dir");
    let grpc = free_port();
    let grpc_addr = format!("127.0.0.1:{grpc}");
    let mut args = vec![
        "discovery",
        "--config-dir",
        config.to_str().expect("utf-8"),
        "--grpcAddr",
        &grpc_addr,
        "--monitoringAddr",
        "127.0.0.1:0",
        "--ca-dir",
        ca.to_str().expect("utf-8"),
        "--token-dir",
        tokens.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let p = Process::start(&args);
    p.line("ferryctl discovery: xDS (ADS) on ");
    (p, grpc)
}

/// A sidecar on the control plane at `grpc` presenting `token_file`; its admin address.
pub(crate) fn start_sidecar(
    grpc: u16,
    name: &str,
    token_file: Option<&Path>,
    extra: &[&str],
) -> (Process, String) {
    let discovery = format!("127.0.0.1:{grpc}");
    let mut args = vec![
        "proxy",
        "sidecar",
        "--discovery-address",
        &discovery,
        "--admin-address",
        "127.0.0.1:0",
        "--pod-name",
        name,
        "--pod-namespace",
        "default",
    ];
    if let Some(t) = token_file {
        args.push("--token-file");
        args.push(t.to_str().expect("utf-8"));
    }
    args.extend_from_slice(extra);
    let p = Process::start(&args);
    let admin = p.line("ferryctl proxy: admin on ");
    let admin = admin.split(',').next().expect("admin address").to_string();
    (p, admin)
}

/// The proxy's secrets section, from its admin API.
fn secrets(admin: &str) -> Vec<Value> {
    let (code, body) = admin_get(
        admin,
        "/config_dump?mask=dynamic_active_secrets,dynamic_warming_secrets",
    );
    if code != 200 {
        return Vec::new();
    }
    let dump: Value = serde_json::from_str(&body).unwrap_or_default();
    let section = dump["configs"].as_array().and_then(|configs| {
        configs
            .iter()
            .find(|c| c["@type"] == "type.googleapis.com/envoy.admin.v3.SecretsConfigDump")
    });
    section
        .and_then(|s| s["dynamic_active_secrets"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// `proxy-config secret -f` of the proxy's dump: the table's rows by name.
fn secret_table(admin: &str, dir: &Path) -> Vec<Vec<String>> {
    let (_, dump) = admin_get(
        admin,
        "/config_dump?mask=dynamic_active_secrets,dynamic_warming_secrets",
    );
    let file = dir.join("secrets-dump.json");
    std::fs::write(&file, dump).expect("dump written");
    let out = ferryctl()
        .args(["proxy-config", "secret", "-f"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// A proxy with a token gets `default` and `ROOTCA` from the CA, shows them as Envoy does
/// (key redacted) and as istioctl's secret table does, and renews `default` before it expires
/// while `ROOTCA` stays; a proxy whose token the CA does not know gets nothing and is not
/// ready.
#[test]
fn a_proxy_gets_its_certificate_from_the_ca_and_renews_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    write_token(&tokens, "default", "sleep", "token-of-sleep\n");
    let (_cp, grpc) = start_ca(
        &dir.path().join("config"),
        &dir.path().join("ca"),
        &tokens,
        &[],
    );
    // 6 s certificates renewed half-way through (Istio's default ratio).
    let (_proxy, admin) = start_sidecar(
        grpc,
        "sleep-1",
        Some(&tokens.join("default/sleep")),
        &["--secret-ttl", "6s"],
    );
    eventually(Duration::from_secs(20), "default and ROOTCA", || {
        secrets(&admin).len() == 2
    });
    let dumped = secrets(&admin);
    assert_eq!(dumped[0]["name"], "default");
    assert_eq!(dumped[1]["name"], "ROOTCA");
    let default = &dumped[0]["secret"];
    assert_eq!(
        default["@type"],
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
    );
    // Envoy's redaction: base64 of "[redacted]".
    assert_eq!(
        default["tls_certificate"]["private_key"]["inline_bytes"],
        "W3JlZGFjdGVkXQ=="
    );
    assert!(dumped[0]["last_updated"].is_string() && dumped[0]["version_info"].is_string());
    assert!(dumped[1]["secret"]["validation_context"]["trusted_ca"]["inline_bytes"].is_string());
    // The root the CA kept in its directory is the one the proxy trusts.
    let root_on_disk = std::fs::read_to_string(dir.path().join("ca/ca-cert.pem")).expect("root");
    let root_b64 = dumped[1]["secret"]["validation_context"]["trusted_ca"]["inline_bytes"]
        .as_str()
        .expect("b64");
    let root_dumped = base64_decode(root_b64);
    assert_eq!(root_dumped.trim(), root_on_disk.trim());

    let rows = secret_table(&admin, dir.path());
    assert_eq!(
        rows[0],
        [
            "RESOURCE", "NAME", "TYPE", "STATUS", "VALID", "CERT", "SERIAL", "NUMBER", "NOT",
            "AFTER", "NOT", "BEFORE"
        ]
    );
    assert_eq!(rows[1][..5], ["default", "Cert", "Chain", "ACTIVE", "true"]);
    assert_eq!(rows[2][..4], ["ROOTCA", "CA", "ACTIVE", "true"]);
    let first_serial = rows[1][5].clone();
    assert_eq!(first_serial.len(), 32, "{first_serial}");
    let root_serial = rows[2][4].clone();

    // Renewed within the lifetime: a new serial, the same root.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = secret_table(&admin, dir.path());
        if rows[1][5] != first_serial {
            assert_eq!(rows[1][..5], ["default", "Cert", "Chain", "ACTIVE", "true"]);
            assert_eq!(rows[2][4], root_serial);
            break;
        }
        assert!(Instant::now() < deadline, "no renewal: {rows:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A token the CA does not know: no certificate, so not ready.
    write_token(
        &dir.path().join("forged"),
        "default",
        "sleep",
        "not-a-token",
    );
    let (_forged, forged_admin) = start_sidecar(
        grpc,
        "forged-1",
        Some(&dir.path().join("forged/default/sleep")),
        &[],
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(secrets(&forged_admin).is_empty());
    assert_eq!(admin_get(&forged_admin, "/ready").0, 503);
    assert_eq!(admin_get(&admin, "/ready").0, 200);
}

/// The local mesh gives its gateway and each workload's sidecar a token, so both get a
/// certificate from the one CA of the mesh: `proxy-config secret` shows it on the live proxy
/// and `rootca-compare` finds their roots identical, as istioctl prints it.
#[test]
fn proxies_of_the_local_mesh_share_one_root() {
    let _turn = crate::local::GATEWAY_PORT
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mesh = LocalMesh::new();
    mesh.install(&[]);
    let (mut run, _log) = mesh.run_reviews_v1();
    let table = mesh.wait_for(
        &["proxy-config", "secret", "reviews-v1"],
        "the sidecar's certificate",
        |out| out.lines().any(|l| l.starts_with("default ")) && out.contains("ROOTCA"),
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("default ") && l.contains("Cert Chain") && l.contains("true")),
        "{table}\n{}",
        mesh.logs()
    );
    mesh.wait_for(
        &[
            "proxy-config",
            "secret",
            "istio-ingressgateway.istio-system",
        ],
        "the gateway's certificate",
        |out| out.contains("ROOTCA"),
    );
    let (code, stdout, stderr) = mesh.outcome(&[
        "proxy-config",
        "rootca-compare",
        "reviews-v1",
        "istio-ingressgateway.istio-system",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "Both [reviews-v1.default] and [istio-ingressgateway.istio-system] have the identical \
         ROOTCA, theoretically the connectivity between them is available\n"
    );
    // The CA's root is kept in the mesh's home for the next control plane.
    assert!(mesh.root().join("identity/ca/ca-cert.pem").is_file());
    let (code, _, stderr) = mesh.outcome(&["proxy-config", "rootca-compare", "reviews-v1"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("rootca-compare requires 2 pods as an argument"),
        "{stderr}"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let _ = run.wait();
}

fn base64_decode(s: &str) -> String {
    use base64::Engine as _;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64"),
    )
    .expect("utf-8")
}

/// Two loopback addresses of their own for a test's two sidecars (Linux routes all of 127/8 to
/// `lo`), picked by a free port so parallel tests do not share them.
pub(crate) fn loopback_pair() -> (String, String) {
    let n = free_port();
    (
        format!("127.91.{}.{}", n >> 8, n & 0xff),
        format!("127.92.{}.{}", n >> 8, n & 0xff),
    )
}

/// Service `b` on `port`, declared as `protocol`: one workload at `ip_b` with a sidecar (`tlsMode: istio`) whose
/// Sidecar ingress forwards to `app`; the client workload `a` gets its outbound listeners on
/// `ip_a`.
pub(crate) fn two_workloads_speaking(
    protocol: &str,
    port: u16,
    ip_a: &str,
    ip_b: &str,
    app: std::net::SocketAddr,
) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: b, namespace: default}}
spec:
  hosts: [b.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: {port}, name: http, protocol: {protocol}}}]
  workloadSelector: {{labels: {{app: b}}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: b-1, namespace: default}}
spec:
  address: {ip_b}
  serviceAccount: sa-b
  ports: {{http: {port}}}
  labels: {{app: b, security.istio.io/tlsMode: istio}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: b, namespace: default}}
spec:
  workloadSelector: {{labels: {{app: b}}}}
  ingress:
  - port: {{number: {port}, name: http, protocol: {protocol}}}
    bind: {ip_b}
    defaultEndpoint: 127.0.0.1:{}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: a, namespace: default}}
spec:
  workloadSelector: {{labels: {{app: a}}}}
  egress:
  - bind: {ip_a}
    hosts: [./*]
",
        app.port()
    )
}

/// A temp dir ready for [`two_workloads_speaking`]: tokens for `sa-a` and `sa-b`, two loopback
/// addresses of its own, a free port, and the mesh config written. Tests add their files (a
/// policy) to `config` before [`TwoWorkloads::start`].
pub(crate) struct TwoWorkloads {
    pub dir: tempfile::TempDir,
    pub tokens: std::path::PathBuf,
    pub config: std::path::PathBuf,
    pub ip_a: String,
    pub ip_b: String,
    pub port: u16,
}

impl TwoWorkloads {
    pub(crate) fn prepare(protocol: &str, app: std::net::SocketAddr) -> TwoWorkloads {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = dir.path().join("tokens");
        write_token(&tokens, "default", "sa-a", "token-a");
        write_token(&tokens, "default", "sa-b", "token-b");
        let (ip_a, ip_b) = loopback_pair();
        let port = free_port();
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).expect("config");
        std::fs::write(
            config.join("mesh.yaml"),
            two_workloads_speaking(protocol, port, &ip_a, &ip_b, app),
        )
        .expect("config written");
        TwoWorkloads {
            dir,
            tokens,
            config,
            ip_a,
            ip_b,
            port,
        }
    }

    /// The control plane as CA on `config`, and both sidecars with their tokens.
    pub(crate) fn start(&self) -> (Process, [(Process, String); 2]) {
        let (cp, grpc) = start_ca(&self.config, &self.dir.path().join("ca"), &self.tokens, &[]);
        (cp, start_pair(grpc, &self.tokens, &self.ip_a, &self.ip_b))
    }
}

/// The two sidecars of [`two_workloads_speaking`] on the control plane at `grpc`, each with its token.
pub(crate) fn start_pair(
    grpc: u16,
    tokens: &Path,
    ip_a: &str,
    ip_b: &str,
) -> [(Process, String); 2] {
    let b = start_sidecar(
        grpc,
        "b-1",
        Some(&tokens.join("default/sa-b")),
        &["--ip", ip_b, "--labels", "app=b"],
    );
    let a = start_sidecar(
        grpc,
        "a-1",
        Some(&tokens.join("default/sa-a")),
        &["--ip", ip_a, "--labels", "app=a"],
    );
    [a, b]
}

/// `GET /` for `b` through the listener at `addr` (with extra headers); status and body.
fn get_b(addr: &str, port: u16, headers: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: b.default.svc.cluster.local:{port}\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// client → sidecar A → sidecar B → application, with a real control plane as CA: the hop
/// between the sidecars is Istio mTLS (auto mTLS, since B's endpoint is marked `tlsMode:
/// istio`), and B tells the application who called in `x-forwarded-client-cert`: its own
/// identity as `By`, A's as `URI`. A client cannot forge that header, and under the default
/// PERMISSIVE mode B still takes plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecars_speak_istio_mtls_to_each_other() {
    let app = backend_fn(|_, _, headers| {
        let xfcc = headers
            .get("x-forwarded-client-cert")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_string();
        (200, xfcc, Duration::ZERO)
    })
    .await;
    let mesh = TwoWorkloads::prepare("HTTP", app);
    let TwoWorkloads { ip_a, ip_b, .. } = &mesh;
    let port = mesh.port;
    let (_cp, [(_a, admin_a), (_b, admin_b)]) = mesh.start();
    let through_a = format!("{ip_a}:{port}");
    let mut answer = None;
    eventually(
        Duration::from_secs(30),
        "a request through both sidecars",
        || {
            answer = get_b(&through_a, port, "").filter(|(status, _)| *status == 200);
            answer.is_some()
        },
    );
    let (_, xfcc) = answer.expect("answered");
    let a_id = "spiffe://cluster.local/ns/default/sa/sa-a";
    let b_id = "spiffe://cluster.local/ns/default/sa/sa-b";
    let (by, rest) = xfcc.split_once(";Hash=").expect("xfcc");
    assert_eq!(by, format!("By={b_id}"), "{xfcc}");
    let (hash, rest) = rest.split_once(';').expect("xfcc");
    assert_eq!(hash.len(), 64, "{xfcc}");
    assert_eq!(rest, format!("Subject=\"\";URI={a_id}"), "{xfcc}");
    // B terminated TLS on its inbound listener; A originated it to B's endpoint.
    let stats_b = admin_get(&admin_b, "/stats").1;
    assert!(
        stats_b
            .lines()
            .any(|l| l.contains(".downstream_cx_ssl_total: ") && !l.ends_with(": 0")),
        "{stats_b}"
    );
    // A client's own XFCC is not trusted: A drops it, B adds the real one.
    let (status, xfcc) = get_b(
        &through_a,
        port,
        "x-forwarded-client-cert: URI=spiffe://forged\r\n",
    )
    .expect("answer");
    assert_eq!(status, 200);
    assert!(!xfcc.contains("forged") && xfcc.contains(a_id), "{xfcc}");
    // PERMISSIVE: plain text straight to B's inbound listener is served, without XFCC.
    let (status, xfcc) = get_b(
        &format!("{ip_b}:{port}"),
        port,
        "x-forwarded-client-cert: URI=spiffe://forged\r\n",
    )
    .expect("plain text served");
    assert_eq!((status, xfcc.as_str()), (200, "none"));
    // Both proxies hold certificates from the one root.
    assert_eq!(secrets(&admin_a).len(), 2);
}

/// `PeerAuthentication` STRICT for the namespace: B's inbound listener takes only mTLS, so a
/// plain-text client is refused (the connection closes without an answer, as Envoy closes a
/// connection no filter chain matches), while A's auto mTLS still reaches it. Back to
/// PERMISSIVE, plain text is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_peer_authentication_refuses_plain_text() {
    let app = backend_fn(|_, _, _| (200, "app".to_string(), Duration::ZERO)).await;
    let mesh = TwoWorkloads::prepare("HTTP", app);
    let TwoWorkloads {
        config, ip_a, ip_b, ..
    } = &mesh;
    let port = mesh.port;
    let policy = |mode: &str| {
        format!(
            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: default, namespace: default}}\nspec:\n  mtls: {{mode: {mode}}}\n"
        )
    };
    std::fs::write(config.join("peer-authentication.yaml"), policy("STRICT")).expect("policy");
    let (_cp, [(_a, _), (_b, admin_b)]) = mesh.start();
    let through_a = format!("{ip_a}:{port}");
    let direct = format!("{ip_b}:{port}");
    eventually(
        Duration::from_secs(30),
        "mTLS through both sidecars",
        || get_b(&through_a, port, "").is_some_and(|(s, _)| s == 200),
    );
    // B listens, but a plain-text request gets no answer.
    assert!(std::net::TcpStream::connect(&direct).is_ok());
    assert_eq!(get_b(&direct, port, ""), None);
    let listeners = admin_get(&admin_b, "/config_dump?resource=dynamic_listeners").1;
    assert!(
        listeners.contains("\"transport_protocol\": \"tls\""),
        "{listeners}"
    );
    assert!(!listeners.contains("raw_buffer"), "{listeners}");
    // PERMISSIVE again: plain text is served, mTLS still works.
    std::fs::write(
        config.join("peer-authentication.yaml"),
        policy("PERMISSIVE"),
    )
    .expect("policy");
    eventually(Duration::from_secs(30), "plain text served again", || {
        get_b(&direct, port, "").is_some_and(|(s, _)| s == 200)
    });
    assert_eq!(get_b(&through_a, port, "").map(|(s, _)| s), Some(200));
}

/// A CA and a certificate it signed for `name` (a DNS SAN), as PEM: (ca, cert, key).
fn issued_by_test_ca(ca: &rcgen::Issuer<'_, rcgen::KeyPair>, name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("params");
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.signed_by(&key, ca).expect("signed");
    (cert.pem(), key.serialize_pem())
}

fn test_ca() -> (rcgen::Issuer<'static, rcgen::KeyPair>, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let cert = params.self_signed(&key).expect("ca");
    (rcgen::Issuer::new(params, key), cert.pem())
}

/// An HTTPS server outside the mesh answering `tls-ok`, requiring a client certificate of
/// `client_ca`.
async fn tls_backend(cert: &str, key: &str, client_ca: &str) -> std::net::SocketAddr {
    use rustls::pki_types::pem::PemObject as _;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("certs");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(client_ca.as_bytes()) {
        roots.add(c.expect("ca")).expect("root");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .expect("verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from("tls-ok")),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// DestinationRule `tls.mode: MUTUAL` with files: the sidecar originates TLS to a server
/// outside the mesh, presenting the client certificate and verifying the server against the
/// rule's CA and its host name; a CA that did not sign the server fails the request with
/// Envoy's TLS connection failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_rule_originates_mutual_tls_from_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, ca_pem) = test_ca();
    let (server_cert, server_key) = issued_by_test_ca(&ca, "api.example.test");
    let (client_cert, client_key) = issued_by_test_ca(&ca, "client.example.test");
    let (_, other_ca_pem) = test_ca();
    let backend = tls_backend(&server_cert, &server_key, &ca_pem).await;
    let files = dir.path().join("certs");
    std::fs::create_dir_all(&files).expect("certs");
    for (name, text) in [
        ("ca.pem", &ca_pem),
        ("other-ca.pem", &other_ca_pem),
        ("client.pem", &client_cert),
        ("client-key.pem", &client_key),
    ] {
        std::fs::write(files.join(name), text).expect("write");
    }
    let port = free_port();
    let (ip_a, _) = loopback_pair();
    let rule = |ca_file: &str| {
        format!(
            "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: api, namespace: default}}
spec:
  hosts: [api.example.test]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{{number: {port}, name: http, protocol: HTTP}}]
  endpoints: [{{address: 127.0.0.1, ports: {{http: {}}}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: api, namespace: default}}
spec:
  host: api.example.test
  trafficPolicy:
    tls:
      mode: MUTUAL
      clientCertificate: {certs}/client.pem
      privateKey: {certs}/client-key.pem
      caCertificates: {certs}/{ca_file}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: a, namespace: default}}
spec:
  workloadSelector: {{labels: {{app: a}}}}
  egress:
  - bind: {ip_a}
    hosts: [./*]
",
            backend.port(),
            certs = files.display(),
        )
    };
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).expect("config");
    std::fs::write(config.join("api.yaml"), rule("ca.pem")).expect("config written");
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).expect("tokens");
    let (_cp, grpc) = start_ca(&config, &dir.path().join("ca"), &tokens, &[]);
    // No token: files are all this proxy needs.
    let (_a, _) = start_sidecar(grpc, "a-1", None, &["--ip", &ip_a, "--labels", "app=a"]);
    let through_a = format!("{ip_a}:{port}");
    let get =
        || crate::mesh::http_request(&through_a, "GET", &format!("api.example.test:{port}"), "/");
    eventually(Duration::from_secs(30), "TLS origination", || {
        get().is_some_and(|(s, b)| s == 200 && b == "tls-ok")
    });
    std::fs::write(config.join("api.yaml"), rule("other-ca.pem")).expect("config written");
    let mut last = None;
    eventually(
        Duration::from_secs(30),
        "the wrong CA to fail the request",
        || {
            last = get();
            last.as_ref().is_some_and(|(s, _)| *s == 503)
        },
    );
    let (_, body) = last.expect("answer");
    assert!(
        body.contains("reset reason: connection failure, transport failure reason: TLS error"),
        "{body}"
    );
}

/// Renewal drops nothing: with 4 s certificates renewed half-way, requests over one
/// keep-alive connection through both sidecars keep succeeding across several renewals, and
/// the one mTLS connection between the sidecars carries on (B saw a single handshake) while
/// both proxies' serials changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_keep_open_connections() {
    use std::io::{BufRead, BufReader, Read, Write};
    let app = backend_fn(|_, _, _| (200, "ok".to_string(), Duration::ZERO)).await;
    let mesh = TwoWorkloads::prepare("HTTP", app);
    let TwoWorkloads {
        dir,
        tokens,
        config,
        ip_a,
        ip_b,
        ..
    } = &mesh;
    let port = mesh.port;
    let (_cp, grpc) = start_ca(config, &dir.path().join("ca"), tokens, &[]);
    let ttl = ["--secret-ttl", "4s"];
    let (_b, admin_b) = start_sidecar(
        grpc,
        "b-1",
        Some(&tokens.join("default/sa-b")),
        &[&["--ip", ip_b, "--labels", "app=b"][..], &ttl].concat(),
    );
    let (_a, admin_a) = start_sidecar(
        grpc,
        "a-1",
        Some(&tokens.join("default/sa-a")),
        &[&["--ip", ip_a, "--labels", "app=a"][..], &ttl].concat(),
    );
    let through_a = format!("{ip_a}:{port}");
    eventually(
        Duration::from_secs(30),
        "a request through both sidecars",
        || get_b(&through_a, port, "").is_some_and(|(s, _)| s == 200),
    );
    let serial = |admin: &str| {
        secrets(admin)
            .first()
            .and_then(|s| s["version_info"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let ssl_total = || {
        admin_get(&admin_b, "/stats")
            .1
            .lines()
            .filter_map(|l| l.split_once(".downstream_cx_ssl_total: "))
            .filter_map(|(_, n)| n.trim().parse::<u64>().ok())
            .sum::<u64>()
    };
    // Counted after the first request on the test's connection: the worker of A it lands on
    // may not have a connection to B yet (each worker keeps its own).
    let mut handshakes_before = None;
    let (first_a, first_b) = (serial(&admin_a), serial(&admin_b));
    let stream = std::net::TcpStream::connect(&through_a).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let started = Instant::now();
    let mut answered = 0;
    // Past two renewals of each side (every ~2 s).
    while started.elapsed() < Duration::from_secs(6) {
        write!(
            writer,
            "GET / HTTP/1.1\r\nHost: b.default.svc.cluster.local:{port}\r\n\r\n"
        )
        .expect("request written");
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).expect("body");
        assert_eq!(body, b"ok");
        answered += 1;
        handshakes_before.get_or_insert_with(ssl_total);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(answered >= 15, "{answered}");
    assert_ne!(serial(&admin_a), first_a, "A renewed");
    assert_ne!(serial(&admin_b), first_b, "B renewed");
    // The sidecars' connection outlived the renewals.
    assert_eq!(Some(ssl_total()), handshakes_before);
}

/// An application speaking HTTP/2 without TLS (h2c, prior knowledge), answering with the
/// protocol version it saw and the caller's identity its sidecar forwarded.
async fn h2c_app() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| {
                        let xfcc = req
                            .headers()
                            .get("x-forwarded-client-cert")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("none")
                            .to_string();
                        let body = format!("{:?} {xfcc}", req.version());
                        async move {
                            Ok::<_, std::convert::Infallible>(http::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from(body)),
                            ))
                        }
                    });
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
            });
        }
    });
    addr
}

/// A port declared HTTP2: the sidecars speak HTTP/2 to each other over Istio mTLS (ALPN `h2`
/// among Istio's), and B hands the request on to the application as h2c.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_between_sidecars_runs_over_mtls() {
    let app = h2c_app().await;
    let mesh = TwoWorkloads::prepare("HTTP2", app);
    let TwoWorkloads { ip_a, .. } = &mesh;
    let port = mesh.port;
    let (_cp, [(_a, _), (_b, admin_b)]) = mesh.start();
    let through_a = format!("{ip_a}:{port}");
    let mut answer = None;
    eventually(
        Duration::from_secs(30),
        "HTTP/2 through both sidecars",
        || {
            answer = get_b(&through_a, port, "").filter(|(status, _)| *status == 200);
            answer.is_some()
        },
    );
    let (_, body) = answer.expect("answered");
    assert!(
        body.starts_with("HTTP/2.0 By=spiffe://cluster.local/ns/default/sa/sa-b;"),
        "{body}"
    );
    assert!(
        body.ends_with("URI=spiffe://cluster.local/ns/default/sa/sa-a"),
        "{body}"
    );
    let stats_b = admin_get(&admin_b, "/stats").1;
    assert!(
        stats_b
            .lines()
            .any(|l| l.contains(".downstream_cx_ssl_total: ") && !l.ends_with(": 0")),
        "{stats_b}"
    );
}
