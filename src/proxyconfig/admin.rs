//! The client of the components' HTTP admin APIs (Envoy's admin API, istiod's debug and ControlZ
//! endpoints): one request to an address, the status and body or an error. Everything else in
//! this module is pure; this is the only part that does I/O.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How long a proxy may take to answer; a config dump of a large mesh takes a while to render.
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("unexpected status code: {0}")]
    Status(u16),
    #[error("cannot reach the admin API at {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("reading the response from {addr}: {source}")]
    Body {
        addr: SocketAddr,
        #[source]
        source: hyper::Error,
    },
    #[error("no answer from {addr} within {}s", .limit.as_secs_f64())]
    Timeout { addr: SocketAddr, limit: Duration },
    #[error("invalid admin request path {0:?}")]
    Path(String),
}

/// `GET` or `POST` `path_and_query` on the admin API at `addr`; the body if the status is 200.
pub async fn request(
    addr: SocketAddr,
    method: http::Method,
    path_and_query: &str,
) -> Result<Vec<u8>, AdminError> {
    match send(addr, method, path_and_query, None, TIMEOUT).await? {
        (200, body) => Ok(body.to_vec()),
        (status, _) => Err(AdminError::Status(status)),
    }
}

/// `method` `path_and_query` on `addr` with `body` (its content type and bytes), answered
/// within `limit`: the status and body, whatever the status.
pub async fn send(
    addr: SocketAddr,
    method: http::Method,
    path_and_query: &str,
    body: Option<(&str, Bytes)>,
    limit: Duration,
) -> Result<(u16, Bytes), AdminError> {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let uri: http::Uri = format!("http://{addr}{path_and_query}")
        .parse()
        .map_err(|_| AdminError::Path(path_and_query.to_string()))?;
    let mut req = http::Request::builder().method(method).uri(uri);
    let content = match body {
        Some((content_type, bytes)) => {
            req = req.header(http::header::CONTENT_TYPE, content_type);
            bytes
        }
        None => Bytes::new(),
    };
    let req = req
        .body(Full::new(content))
        .map_err(|_| AdminError::Path(path_and_query.to_string()))?;
    let work = async {
        let resp = client
            .request(req)
            .await
            .map_err(|source| AdminError::Connect { addr, source })?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|source| AdminError::Body { addr, source })?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| AdminError::Timeout { addr, limit })?
}

/// The admin paths proxy-config reads, as istioctl requests them.
pub mod paths {
    pub const CLUSTERS: &str =
        "/config_dump?mask=dynamic_active_clusters,dynamic_warming_clusters,static_clusters";
    pub const LISTENERS: &str = "/config_dump?mask=dynamic_listeners,static_listeners";
    pub const ROUTES: &str = "/config_dump?mask=dynamic_route_configs,static_route_configs";
    pub const SECRETS: &str = "/config_dump?mask=dynamic_active_secrets,dynamic_warming_secrets";
    pub const BOOTSTRAP: &str = "/config_dump?mask=bootstrap";
    pub const WITH_EDS: &str = "/config_dump?include_eds=true";
    pub const CLUSTER_STATUSES: &str = "/clusters?format=json";
    pub const LOGGING: &str = "/logging";
}
