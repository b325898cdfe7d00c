//! Gateways terminating TLS end to end: the seed's Gateway with its HTTPS server
//! (`tls.mode: SIMPLE`, `credentialName: bookinfo-credential`) and a second HTTPS server on the
//! same port for another host, the credentials as Kubernetes TLS Secrets in the config
//! directory, a real control plane serving them over SDS, a real gateway choosing the
//! certificate by SNI, and real TLS clients.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ferryctl;
use crate::mesh::{
    admin_get, backend, backend_fn, free_port, start_discovery, start_router, write_config,
};

/// A self-signed CA and a certificate it signed for `host`, for servers and clients alike:
/// (CA PEM, cert PEM, key PEM).
pub(crate) fn server_credential(host: &str) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::default();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).expect("params");
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.signed_by(&key, &issuer).expect("signed");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// A `kubernetes.io/tls` Secret as `kubectl create secret tls` writes it.
pub(crate) fn tls_secret(name: &str, namespace: &str, cert: &str, key: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
        b64(cert),
        b64(key)
    )
}

/// What an HTTPS request through the gateway came back with.
#[derive(Debug)]
pub(crate) struct HttpsAnswer {
    pub status: u16,
    pub body: String,
    /// The leaf certificate the gateway presented.
    pub leaf: CertificateDer<'static>,
}

/// `GET path` with `Host: host` over TLS to `addr`, asking for SNI `sni` and trusting `ca`.
/// `Err` says why the handshake or request failed.
pub(crate) async fn https_get(
    addr: SocketAddr,
    sni: &str,
    ca: &str,
    host: &str,
    path: &str,
) -> Result<HttpsAnswer, String> {
    https_get_as(addr, sni, ca, None, host, path).await
}

/// [`https_get`] presenting `client` (certificate and key PEM) when the server asks for one.
pub(crate) async fn https_get_as(
    addr: SocketAddr,
    sni: &str,
    ca: &str,
    client: Option<(&str, &str)>,
    host: &str,
    path: &str,
) -> Result<HttpsAnswer, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots
            .add(c.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| e.to_string())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    let io = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let leaf = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.clone().into_owned())
            .ok_or("no server certificate")?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        // A peer that closes without close_notify still sent the whole response.
        let _ = tls.read_to_end(&mut response).await;
        let text = String::from_utf8_lossy(&response).to_string();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok(HttpsAnswer { status, body, leaf })
    };
    tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// The serial of a certificate, as `proxy-config secret` prints it (istioctl's lower-case hex).
fn serial_of(der: &[u8]) -> String {
    ferry::identity::pem::cert_info(der).expect("x509").serial
}

/// Polls `check` (async) until it holds.
async fn until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A second HTTPS server on the Gateway's TLS port, for `ratings.example.com` with its own
/// credential, and a VirtualService sending that host to reviews.
fn add_ratings_server(dir: &Path, https_port: u16) {
    let gateway = std::fs::read_to_string(dir.join("gateway.yaml")).expect("gateway");
    let server = format!(
        "  - port:\n      number: {https_port}\n      name: https-ratings\n      protocol: HTTPS\n    tls:\n      mode: SIMPLE\n      credentialName: ratings-credential\n    hosts:\n    - \"ratings.example.com\"\n"
    );
    std::fs::write(
        dir.join("gateway.yaml"),
        format!("{}\n{server}", gateway.trim_end()),
    )
    .expect("gateway written");
    let vs = "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: ratings\nspec:\n  hosts:\n  - ratings.example.com\n  gateways:\n  - bookinfo-gateway\n  http:\n  - route:\n    - destination:\n        host: reviews\n        subset: v1\n";
    std::fs::write(dir.join("ratings-vs.yaml"), vs).expect("vs written");
}

/// The seed's HTTPS server serves its routes over TLS with the certificate of the Secret its
/// `credentialName` names; a second server on the same port gets its own certificate and routes
/// by SNI; an SNI no server names, or a client that does not trust the certificate, fails the
/// handshake; `proxy-config secret` lists the credentials as istioctl does; a renewed Secret is
/// served to new connections without restarting anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_terminates_tls_with_the_credential_of_each_server() {
    // v1 and v3 answer their name only when the gateway told them the client used https
    // (`x-forwarded-proto`, from the connection the gateway terminated).
    let over_https = |name: &'static str| {
        backend_fn(move |_, _, headers| {
            let proto = headers.get("x-forwarded-proto");
            if proto.is_some_and(|p| p == "https") {
                (200, name.to_string(), Duration::ZERO)
            } else {
                (
                    200,
                    format!("{name} saw x-forwarded-proto {proto:?}"),
                    Duration::ZERO,
                )
            }
        })
    };
    let v1 = over_https("v1").await;
    let v2 = backend("v2").await;
    let v3 = over_https("v3").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    let https_port = free_port();
    write_config(
        &config,
        free_port(),
        https_port,
        &[("v1", v1), ("v2", v2), ("v3", v3)],
    );
    add_ratings_server(&config, https_port);
    let (bookinfo_ca, bookinfo_cert, bookinfo_key) = server_credential("bookinfo.example.com");
    let (ratings_ca, ratings_cert, ratings_key) = server_credential("ratings.example.com");
    // In the gateway's namespace, where an Istio gateway reads its credentials.
    std::fs::write(
        config.join("credentials.yaml"),
        format!(
            "{}---\n{}",
            tls_secret(
                "bookinfo-credential",
                "istio-system",
                &bookinfo_cert,
                &bookinfo_key
            ),
            tls_secret(
                "ratings-credential",
                "istio-system",
                &ratings_cert,
                &ratings_key
            ),
        ),
    )
    .expect("secrets written");
    let grpc = free_port();
    let (_discovery, _debug) = start_discovery(&config, grpc);
    let (_router, admin) = start_router(grpc);
    let gateway: SocketAddr = ([127, 0, 0, 1], https_port).into();

    until(
        Duration::from_secs(20),
        "the gateway to serve HTTPS",
        || async {
            https_get(
                gateway,
                "bookinfo.example.com",
                &bookinfo_ca,
                "bookinfo.example.com",
                "/reviews/1",
            )
            .await
            .is_ok_and(|a| a.status == 200)
        },
    )
    .await;
    // The seed's rules over TLS: jason's header is not sent, so v1 or v3.
    let answer = https_get(
        gateway,
        "bookinfo.example.com",
        &bookinfo_ca,
        "bookinfo.example.com",
        "/reviews/1",
    )
    .await
    .expect("bookinfo over TLS");
    assert!(["v1", "v3"].contains(&answer.body.as_str()), "{answer:?}");
    let bookinfo_serial = serial_of(&answer.leaf);

    // The other server's certificate and routes, by SNI.
    let ratings = https_get(
        gateway,
        "ratings.example.com",
        &ratings_ca,
        "ratings.example.com",
        "/",
    )
    .await
    .expect("ratings over TLS");
    assert_eq!((ratings.status, ratings.body.as_str()), (200, "v1"));
    assert_ne!(serial_of(&ratings.leaf), bookinfo_serial);

    // No server for this name: no filter chain, no handshake (Envoy closes the connection).
    let unknown = https_get(
        gateway,
        "unknown.example.com",
        &bookinfo_ca,
        "unknown.example.com",
        "/",
    )
    .await;
    assert!(unknown.is_err(), "{unknown:?}");
    // bookinfo's certificate does not verify as ratings.example.com's CA.
    let untrusted = https_get(
        gateway,
        "bookinfo.example.com",
        &ratings_ca,
        "bookinfo.example.com",
        "/reviews/1",
    )
    .await;
    assert!(
        untrusted.as_ref().is_err_and(|e| e.contains("handshake")),
        "{untrusted:?}"
    );
    // Plain HTTP on the TLS port is refused too.
    let plain = crate::mesh::http_request(
        &gateway.to_string(),
        "GET",
        "bookinfo.example.com",
        "/reviews/1",
    );
    assert!(plain.as_ref().is_none_or(|(s, _)| *s != 200), "{plain:?}");

    // istioctl's secret table: the credentials as the control plane named them.
    let (_, dump) = admin_get(
        &admin,
        "/config_dump?mask=dynamic_active_secrets,dynamic_warming_secrets",
    );
    assert!(!dump.contains("PRIVATE KEY"), "keys are redacted: {dump}");
    let file = dir.path().join("secrets.json");
    std::fs::write(&file, &dump).expect("dump written");
    let out = ferryctl()
        .args(["proxy-config", "secret", "-f"])
        .arg(&file)
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{table}");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "RESOURCE", "NAME", "TYPE", "STATUS", "VALID", "CERT", "SERIAL", "NUMBER", "NOT",
            "AFTER", "NOT", "BEFORE"
        ]
    );
    let row = rows
        .iter()
        .find(|r| r[0] == "kubernetes://bookinfo-credential")
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(row[1..5], ["Cert", "Chain", "ACTIVE", "true"], "{table}");
    assert_eq!(row[5], bookinfo_serial, "{table}");
    assert!(
        rows.iter()
            .any(|r| r[0] == "kubernetes://ratings-credential"),
        "{table}"
    );

    // A renewed credential: the next connection gets the new certificate, the processes stay.
    let (new_ca, new_cert, new_key) = server_credential("bookinfo.example.com");
    std::fs::write(
        config.join("credentials.yaml"),
        format!(
            "{}---\n{}",
            tls_secret("bookinfo-credential", "istio-system", &new_cert, &new_key),
            tls_secret(
                "ratings-credential",
                "istio-system",
                &ratings_cert,
                &ratings_key
            ),
        ),
    )
    .expect("secrets rewritten");
    until(
        Duration::from_secs(20),
        "the renewed certificate",
        || async {
            https_get(
                gateway,
                "bookinfo.example.com",
                &new_ca,
                "bookinfo.example.com",
                "/reviews/1",
            )
            .await
            .is_ok_and(|a| a.status == 200)
        },
    )
    .await;
}

/// `tls.mode: MUTUAL`: the gateway asks for a client certificate and verifies it against the
/// credential's `ca.crt` (SDS `kubernetes://<name>-cacert`); a client without one, or with one
/// another CA signed, gets no handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutual_gateway_server_verifies_clients_against_the_credentials_ca() {
    let v1 = backend("v1").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let https_port = free_port();
    write_config(
        dir.path(),
        free_port(),
        https_port,
        &[("v1", v1), ("v2", v1), ("v3", v1)],
    );
    let gateway = std::fs::read_to_string(dir.path().join("gateway.yaml")).expect("gateway");
    let mutual = gateway.replace("mode: SIMPLE", "mode: MUTUAL");
    assert_ne!(gateway, mutual, "the seed's HTTPS server changed shape");
    std::fs::write(dir.path().join("gateway.yaml"), mutual).expect("gateway written");
    let (server_ca, cert, key) = server_credential("bookinfo.example.com");
    let (client_ca, client_cert, client_key) = server_credential("client.example.com");
    let (_, other_cert, other_key) = server_credential("client.example.com");
    // `kubectl create secret generic --from-file=tls.crt --from-file=tls.key --from-file=ca.crt`.
    let secret = tls_secret("bookinfo-credential", "istio-system", &cert, &key);
    let ca = base64::engine::general_purpose::STANDARD.encode(&client_ca);
    std::fs::write(
        dir.path().join("credentials.yaml"),
        format!("{secret}  ca.crt: {ca}\n"),
    )
    .expect("secret written");
    let grpc = free_port();
    let (_discovery, _debug) = start_discovery(dir.path(), grpc);
    let (_router, _admin) = start_router(grpc);
    let gateway: SocketAddr = ([127, 0, 0, 1], https_port).into();
    let host = "bookinfo.example.com";
    let get = |client: Option<(&str, &str)>| {
        let (ca, client) = (
            server_ca.clone(),
            client.map(|(c, k)| (c.to_string(), k.to_string())),
        );
        async move {
            let client = client.as_ref().map(|(c, k)| (c.as_str(), k.as_str()));
            https_get_as(gateway, host, &ca, client, host, "/reviews/1").await
        }
    };
    until(Duration::from_secs(20), "the mutual TLS server", || {
        let request = get(Some((&client_cert, &client_key)));
        async move { request.await.is_ok_and(|a| a.status == 200) }
    })
    .await;
    let answer = get(Some((&client_cert, &client_key))).await.expect("mTLS");
    assert_eq!(answer.body, "v1");
    // TLS 1.3 reports a refused client certificate after the handshake: the request fails.
    let anonymous = get(None).await;
    assert!(anonymous.is_err(), "{anonymous:?}");
    let stranger = get(Some((&other_cert, &other_key))).await;
    assert!(stranger.is_err(), "{stranger:?}");
}
