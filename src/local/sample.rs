//! The built-in sample HTTP service (`ferryctl sample-app`), so demos and tests need nothing
//! else: every request gets 200 and a JSON body naming the service and version that answered
//! and echoing the request (method, path, headers), which is what one needs to see routing work.
//! `/health` answers `ok` for probes.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

/// Who the sample app says it is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub service: String,
    pub version: String,
}

/// Serves on `listener` forever.
pub async fn serve(listener: TcpListener, identity: Identity) -> std::io::Result<()> {
    let identity = std::sync::Arc::new(identity);
    loop {
        let (stream, _) = listener.accept().await?;
        let identity = identity.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let identity = identity.clone();
                async move { Ok::<_, Infallible>(respond(&identity, &req)) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(identity: &Identity, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() == "/health" {
        return text(StatusCode::OK, "ok\n".into());
    }
    let mut headers = Map::new();
    for (name, value) in req.headers() {
        headers.insert(
            name.as_str().to_string(),
            Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        );
    }
    let body = json!({
        "service": identity.service,
        "version": identity.version,
        "method": req.method().as_str(),
        "path": req.uri().path_and_query().map_or("/", |p| p.as_str()),
        "headers": headers,
    });
    let mut text = serde_json::to_string_pretty(&body).unwrap_or_default();
    text.push('\n');
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp
}

/// Binds `addr` (port 0 for any free one); the bound address is what callers register.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn answers_with_its_identity_and_echoes_headers() {
        let listener = bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(serve(
            listener,
            Identity {
                service: "reviews".into(),
                version: "v2".into(),
            },
        ));
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /reviews/1?x=y HTTP/1.1\r\nHost: reviews\r\nend-user: jason\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        let (head, body) = out.split_once("\r\n\r\n").expect("response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let v: Value = serde_json::from_str(body).expect("json");
        assert_eq!(v["service"], "reviews");
        assert_eq!(v["version"], "v2");
        assert_eq!(v["path"], "/reviews/1?x=y");
        assert_eq!(v["headers"]["end-user"], "jason");
    }
}
