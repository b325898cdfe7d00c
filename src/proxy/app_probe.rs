//! Running one of the application's original probes (what injection moved into
//! `ISTIO_KUBE_APP_PROBERS`) as the kubelet would have run it, from inside the pod: an HTTP(S)
//! GET, a TCP connect or a gRPC health check against the application, answered with the status
//! the kubelet then sees (Istio's agent, `pilot/cmd/pilot-agent/status`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;

use crate::inject::probe::{Grpc, HttpGet, PortRef, Prober, TcpSocket};

/// The kubelet's default probe timeout, for a probe written without one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// grpc.health.v1's `SERVING`.
const SERVING: i32 = 1;

/// Headers that describe the kubelet's connection to the proxy, not a request to the
/// application.
const HOP_BY_HOP: [header::HeaderName; 6] = [
    header::HOST,
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TE,
];

/// Runs `prober` against the application at `default_host` (the pod's IP, as Istio probes it,
/// unless the probe names a host), forwarding the kubelet's `incoming` headers to an HTTP
/// probe. The status is the application's for HTTP, else 200 or 500.
pub async fn run(prober: &Prober, default_host: IpAddr, incoming: &HeaderMap) -> StatusCode {
    let timeout = u64::try_from(prober.timeout_seconds)
        .ok()
        .filter(|s| *s > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let outcome = tokio::time::timeout(timeout, async {
        if let Some(h) = &prober.http_get {
            http_get(h, default_host, incoming).await
        } else if let Some(t) = &prober.tcp_socket {
            tcp(t, default_host).await
        } else if let Some(g) = &prober.grpc {
            grpc(g, default_host, timeout).await
        } else {
            Err("the probe has no action".into())
        }
    })
    .await;
    match outcome {
        Ok(Ok(status)) => status,
        Ok(Err(why)) => {
            tracing::debug!(target: "ferry::proxy::status", "application probe failed: {why}");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        Err(_) => {
            tracing::debug!(target: "ferry::proxy::status", "application probe timed out after {timeout:?}");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

fn port(p: &PortRef) -> Result<u16, String> {
    match p {
        PortRef::Number(n) => u16::try_from(*n).map_err(|_| format!("port {n} is out of range")),
        // Injection resolves names; one left is a port the container does not declare.
        PortRef::Name(name) => Err(format!("port {name:?} is not a port number")),
    }
}

/// `host:port` with an IPv6 address bracketed.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn host_or(host: &str, default: IpAddr) -> String {
    if host.is_empty() {
        default.to_string()
    } else {
        host.to_string()
    }
}

async fn tcp(t: &TcpSocket, default_host: IpAddr) -> Result<StatusCode, String> {
    let address = authority(&host_or(&t.host, default_host), port(&t.port)?);
    TcpStream::connect(&address)
        .await
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    Ok(StatusCode::OK)
}

async fn http_get(
    h: &HttpGet,
    default_host: IpAddr,
    incoming: &HeaderMap,
) -> Result<StatusCode, String> {
    let host = host_or(&h.host, default_host);
    let port = port(&h.port)?;
    let address = authority(&host, port);
    let path = if h.path.is_empty() { "/" } else { &h.path };
    let mut request = Request::get(path)
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("probe path {path:?}: {e}"))?;
    let headers = request.headers_mut();
    for (name, value) in incoming {
        if !HOP_BY_HOP.contains(name) {
            headers.append(name, value.clone());
        }
    }
    let mut authority_header = address.clone();
    // The probe's own headers replace the kubelet's; a Host among them names the request's host.
    for hh in &h.http_headers {
        if hh.name.eq_ignore_ascii_case("host") {
            authority_header = hh.value.clone();
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(hh.name.as_bytes()),
            HeaderValue::from_str(&hh.value),
        ) {
            headers.insert(name, value);
        }
    }
    let value = HeaderValue::from_str(&authority_header)
        .map_err(|e| format!("host header {authority_header:?}: {e}"))?;
    headers.insert(header::HOST, value);

    let stream = TcpStream::connect(&address)
        .await
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    let response = if h.scheme.eq_ignore_ascii_case("https") {
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|e| format!("server name {host:?}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(insecure_tls())
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS to {address}: {e}"))?;
        send(TokioIo::new(tls), request).await?
    } else {
        send(TokioIo::new(stream), request).await?
    };
    Ok(response)
}

async fn send<T>(io: T, request: Request<Empty<Bytes>>) -> Result<StatusCode, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP request: {e}"))?;
    Ok(response.status())
}

/// The kubelet does not verify an application's certificate either: a probe checks health,
/// not identity.
fn insecure_tls() -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCertificate(provider.clone()));
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        });
    match config {
        Ok(c) => Arc::new(c),
        // The provider supports the default versions; nothing to fall back to but that.
        Err(_) => Arc::new(
            ClientConfig::builder()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))))
                .with_no_client_auth(),
        ),
    }
}

#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// grpc.health.v1.HealthCheckRequest.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// grpc.health.v1.HealthCheckResponse.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

async fn grpc(g: &Grpc, default_host: IpAddr, timeout: Duration) -> Result<StatusCode, String> {
    let port = u16::try_from(g.port).map_err(|_| format!("port {} is out of range", g.port))?;
    let uri = format!("http://{}", authority(&default_host.to_string(), port));
    let channel = tonic::transport::Endpoint::from_shared(uri.clone())
        .map_err(|e| format!("{uri}: {e}"))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect()
        .await
        .map_err(|e| format!("connecting to {uri}: {e}"))?;
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|e| format!("gRPC to {uri}: {e}"))?;
    let request = HealthCheckRequest {
        service: g.service.clone().unwrap_or_default(),
    };
    let response: tonic::Response<HealthCheckResponse> = client
        .unary(
            tonic::Request::new(request),
            http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .map_err(|status| format!("health check at {uri}: {status}"))?;
    let status = response.into_inner().status;
    if status == SERVING {
        Ok(StatusCode::OK)
    } else {
        Err(format!(
            "health check at {uri}: status {status}, not SERVING"
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;
    use crate::inject::probe::HttpHeader;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A one-request HTTP server answering `status`; returns its port and what it was sent.
    async fn answering(status: u16) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0; 4096];
            let n = s.read(&mut buf).await.expect("read");
            let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
            s.write_all(reply.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (port, task)
    }

    fn http(port: u16, path: &str) -> Prober {
        Prober {
            http_get: Some(HttpGet {
                path: path.into(),
                port: PortRef::Number(port.into()),
                host: String::new(),
                scheme: String::new(),
                http_headers: vec![HttpHeader {
                    name: "X-Probe".into(),
                    value: "ferry".into(),
                }],
            }),
            ..Prober::default()
        }
    }

    #[tokio::test]
    async fn an_http_probe_forwards_the_applications_status_and_headers() {
        let (port, seen) = answering(204).await;
        let mut incoming = HeaderMap::new();
        incoming.insert("user-agent", HeaderValue::from_static("kube-probe/1.36"));
        incoming.insert("host", HeaderValue::from_static("10.0.0.5:15020"));
        let status = run(&http(port, "/ready"), LOCAL, &incoming).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let request = seen.await.expect("served").to_ascii_lowercase();
        assert!(request.starts_with("get /ready http/1.1\r\n"), "{request}");
        assert!(request.contains("user-agent: kube-probe/1.36"), "{request}");
        assert!(request.contains("x-probe: ferry"), "{request}");
        assert!(
            request.contains(&format!("host: 127.0.0.1:{port}")),
            "{request}"
        );

        let (port, _) = answering(503).await;
        assert_eq!(
            run(&http(port, "/ready"), LOCAL, &HeaderMap::new()).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn tcp_probes_connect_and_nothing_listening_is_a_failure() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let tcp = |port: u16| Prober {
            tcp_socket: Some(TcpSocket {
                port: PortRef::Number(port.into()),
                host: String::new(),
            }),
            ..Prober::default()
        };
        assert_eq!(
            run(&tcp(port), LOCAL, &HeaderMap::new()).await,
            StatusCode::OK
        );
        drop(listener);
        assert_eq!(
            run(&tcp(port), LOCAL, &HeaderMap::new()).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            run(&http(port, "/"), LOCAL, &HeaderMap::new()).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn a_silent_application_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut p = http(port, "/");
        p.timeout_seconds = 1;
        let start = std::time::Instant::now();
        assert_eq!(
            run(&p, LOCAL, &HeaderMap::new()).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(listener);
    }

    /// A gRPC server answering every health check with `status`, and the services it was
    /// asked about (hyper's HTTP/2 server and a hand-made gRPC frame: the client under test is
    /// tonic's).
    async fn grpc_health(status: i32) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use std::convert::Infallible;

        use http_body_util::{BodyExt as _, StreamBody};
        use hyper::body::{Frame, Incoming};
        use hyper_util::rt::TokioExecutor;
        use prost::Message as _;

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen_tx = seen_tx.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let seen_tx = seen_tx.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let body = req.into_body().collect().await.expect("body").to_bytes();
                        let asked = HealthCheckRequest::decode(&body[5..]).expect("a request");
                        let _ = seen_tx.send(format!("{path} {}", asked.service));
                        let payload = HealthCheckResponse { status }.encode_to_vec();
                        let mut frame = vec![0u8];
                        frame.extend(u32::try_from(payload.len()).expect("small").to_be_bytes());
                        frame.extend(payload);
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", HeaderValue::from_static("0"));
                        let frames = vec![
                            Ok::<_, Infallible>(Frame::data(Bytes::from(frame))),
                            Ok(Frame::trailers(trailers)),
                        ];
                        let response = http::Response::builder()
                            .header("content-type", "application/grpc")
                            .body(StreamBody::new(tokio_stream::iter(frames)))
                            .expect("a response");
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn a_grpc_probe_is_a_health_check() {
        let grpc = |port: u16, service: Option<&str>| Prober {
            grpc: Some(Grpc {
                port: port.into(),
                service: service.map(str::to_string),
            }),
            timeout_seconds: 2,
            ..Prober::default()
        };
        let (port, mut seen) = grpc_health(SERVING).await;
        assert_eq!(
            run(&grpc(port, Some("reviews")), LOCAL, &HeaderMap::new()).await,
            StatusCode::OK
        );
        assert_eq!(
            seen.recv().await.as_deref(),
            Some("/grpc.health.v1.Health/Check reviews")
        );
        assert_eq!(
            run(&grpc(port, None), LOCAL, &HeaderMap::new()).await,
            StatusCode::OK
        );
        assert_eq!(
            seen.recv().await.as_deref(),
            Some("/grpc.health.v1.Health/Check ")
        );
        // NOT_SERVING.
        let (port, _seen) = grpc_health(2).await;
        assert_eq!(
            run(&grpc(port, None), LOCAL, &HeaderMap::new()).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn authorities_bracket_ipv6() {
        assert_eq!(authority("::1", 80), "[::1]:80");
        assert_eq!(authority("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(authority("app.local", 8080), "app.local:8080");
        assert!(port(&PortRef::Name("http".into())).is_err());
        assert!(port(&PortRef::Number(70000)).is_err());
    }
}
