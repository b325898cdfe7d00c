//! `ferryctl discovery`'s injection webhook without a cluster: AdmissionReviews posted over
//! HTTPS, as the API server posts them, with the injector config the manifest renders.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};

use crate::discovery::Running;
use crate::ferryctl;
use crate::kube_inject::rendered;

/// A CA and a serving certificate it signs for 127.0.0.1 (openssl, as tests/k8s/cluster.sh
/// makes its PKI): the CA bundle, the certificate and its key.
pub(crate) struct ServingCert {
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

pub(crate) fn serving_cert(dir: &Path) -> ServingCert {
    let file = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "1", "-subj", "/CN=ferry-test-ca"],
            &["-keyout", "ca-key.pem", "-out", "ca.pem"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &["-subj", "/CN=ferry-webhook"],
            &["-keyout", "webhook-key.pem", "-out", "webhook.csr"],
        ]
        .concat(),
    );
    std::fs::write(
        file("webhook.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("writes");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "webhook.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "webhook.ext",
        "-out",
        "webhook.pem",
    ]);
    ServingCert {
        ca: file("ca.pem"),
        cert: file("webhook.pem"),
        key: file("webhook-key.pem"),
    }
}

/// Discovery with the webhook on a free port; its address (`127.0.0.1:<port>`) and the rest of
/// its stderr lines.
pub(crate) fn start_with_webhook(args: &[String]) -> (Running, String, mpsc::Receiver<String>) {
    let mut child = ferryctl()
        .arg("discovery")
        .args(args)
        .args([
            "--grpcAddr",
            "127.0.0.1:0",
            "--monitoringAddr",
            "127.0.0.1:0",
            "--httpsAddr",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferryctl discovery starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[discovery] {line}");
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("discovery prints the webhook's address");
        if let Some(rest) = line.strip_prefix("ferryctl discovery: injection webhook on https://") {
            let addr = rest.trim_end_matches("/inject").to_string();
            return (running, addr, rx);
        }
    }
}

/// POSTs `body` to `https://<addr><path>` trusting `ca`; the status and the body.
fn post(addr: &str, ca: &Path, path: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("reads the CA") {
        roots.add(cert.expect("a certificate")).expect("a root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").expect("an IP name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("a TLS client");
    let tcp = TcpStream::connect(addr).expect("connects");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).expect("writes");
    tls.write_all(body).expect("writes");
    let mut response = Vec::new();
    // The server closes without close_notify on some paths; what was read is the answer.
    let _ = tls.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.as_bytes().to_vec())
}

fn review(pod: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "0b1e", "namespace": "shop", "operation": "CREATE", "object": pod},
    }))
    .expect("json")
}

fn pod(annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": annotations},
           "spec": {"containers": [{"name": "web", "image": "web"}]}})
}

#[test]
fn the_webhook_answers_admission_reviews_over_https() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ServingCert { ca, cert, key } = serving_cert(dir.path());
    let r = rendered(dir.path(), &["-r", "canary"]);
    let path = |p: &Path| p.display().to_string();
    let (_running, addr, _) = start_with_webhook(&[
        "--config-dir".into(),
        "fixtures/seed".into(),
        "--tlsCertFile".into(),
        path(&cert),
        "--tlsKeyFile".into(),
        path(&key),
        "--injectConfigFile".into(),
        path(&r.config),
        "--valuesFile".into(),
        path(&r.values),
    ]);

    let (status, body) = post(
        &addr,
        &ca,
        "/inject",
        "application/json",
        &review(pod(json!({}))),
    );
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).expect("an AdmissionReview");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], "0b1e");
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(answer["response"]["patch"].as_str().expect("a patch"))
        .expect("base64");
    let patch: json_patch::Patch = serde_json::from_slice(&patch).expect("a JSONPatch");
    let mut patched = pod(json!({}));
    json_patch::patch(&mut patched, &patch).expect("applies");
    assert_eq!(patched["spec"]["containers"][1]["name"], "istio-proxy");
    assert_eq!(patched["metadata"]["labels"]["istio.io/rev"], "canary");
    assert!(
        patched["spec"]["containers"][1]["args"]
            .as_array()
            .expect("args")
            .contains(&json!("istiod-canary.istio-system.svc:15010"))
    );

    let opted_out = review(pod(json!({"sidecar.istio.io/inject": "false"})));
    let (status, body) = post(&addr, &ca, "/inject", "application/json", &opted_out);
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).expect("an AdmissionReview");
    assert_eq!(answer["response"], json!({"allowed": true, "uid": "0b1e"}));

    let (status, body) = post(&addr, &ca, "/inject", "text/plain", b"{}");
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&body));
    let (status, _) = post(&addr, &ca, "/inject", "application/json", b"not json");
    assert_eq!(status, 400);
    let (status, _) = post(&addr, &ca, "/validate", "application/json", b"{}");
    assert_eq!(status, 404);
}

#[test]
fn a_certificate_that_does_not_read_stops_discovery_with_the_file_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ServingCert { cert, .. } = serving_cert(dir.path());
    let out = ferryctl()
        .args([
            "discovery",
            "--config-dir",
            "fixtures/seed",
            "--tlsCertFile",
        ])
        .arg(&cert)
        .arg("--tlsKeyFile")
        .arg(dir.path().join("missing-key.pem"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--tlsKeyFile") && stderr.contains("missing-key.pem"),
        "{stderr}"
    );
}
