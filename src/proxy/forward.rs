//! One request through the proxy, as Envoy's HTTP connection manager and router filter handle
//! it: pick the route, inject faults, answer redirects and direct responses, or forward to a
//! cluster endpoint with rewrites, header changes, timeouts, retries and mirrors.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Full, Limited};

use super::added::Added;
use super::circuit::{self, Admitted};
use super::cluster::{ClusterEntry, Endpoint, Protocol};
use super::connection::Connection;
use super::forwarded::Forwarded;
use super::hash_policy::RequestHash;
use super::outlier::Outcome;
use super::pool::PoolError;
use super::random;
use super::rbac::{self, Decision, Engine, Subject};
use super::routes::{
    Action, Forward, Redirect, RequestView, Route, RouteTable, VirtualHost, split_host_port,
};
use super::state::{ForwardClientCert, Hcm, ListenerEntry, Runtime};
use super::stats::GaugeGuard;
use super::telemetry::access_log::AccessLog;
use super::telemetry::exchange::{Exchange, LogRecord};
use super::telemetry::flags::Flag;
use super::telemetry::metrics::{IstioMetrics, PEER_METADATA, PEER_METADATA_ID, Reporter};
use crate::xds::error_chain;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body every response has.
pub type Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// Largest request body buffered for forwarding (retries and mirrors need the whole body);
/// Envoy's default per-connection buffer limit is 1 MiB, and larger bodies get 413 there too.
pub const MAX_REQUEST_BODY: usize = 1 << 20;

/// Headers that belong to one hop and are never forwarded (RFC 9110 §7.6.1).
/// A static, not a const: a const array is built and dropped at every use.
static HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

// Named once: a header name given as a string is parsed (and a custom one allocated) at every
// use.
// Statics, not consts, where a name is added beside the map (`Added` keeps `&'static` names).
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_ENVOY_ATTEMPT_COUNT: HeaderName = HeaderName::from_static("x-envoy-attempt-count");
const X_ENVOY_OVERLOADED: HeaderName = HeaderName::from_static("x-envoy-overloaded");
const X_ENVOY_UPSTREAM_SERVICE_TIME: HeaderName =
    HeaderName::from_static("x-envoy-upstream-service-time");
const X_FORWARDED_CLIENT_CERT: HeaderName = HeaderName::from_static("x-forwarded-client-cert");
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// What the request path reports to: the proxy's Istio metrics and the request's record.
pub struct Telemetry<'a> {
    pub metrics: &'a IstioMetrics,
    pub exchange: &'a mut Exchange,
}

/// Removes the hop-by-hop headers. Most messages carry none: one pass over their few names
/// costs less than a lookup per hop-by-hop name.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    if headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        for h in HOP_BY_HOP.iter() {
            headers.remove(h);
        }
    }
}

/// Removes `name`'s values, returning the first, after a pass over the message's few names:
/// most messages lack the header, and a removal hashes the name (~200 instructions under
/// callgrind, per message).
fn take(headers: &mut HeaderMap, name: &HeaderName) -> Option<HeaderValue> {
    if headers.keys().any(|n| n == name) {
        headers.remove(name)
    } else {
        None
    }
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A response the proxy makes itself (Envoy's "local reply").
pub fn local_reply(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(full(body.to_string()));
    *r.status_mut() = status;
    if !body.is_empty() {
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    r
}

/// Serves one downstream request on `listener`, recording what telemetry needs in
/// `telemetry.exchange`. The body is HTTP/2's stream (hyper's) or the HTTP/1.1 codec's
/// buffered body ([`super::downstream`]).
// Not `async fn`: an async fn keeps each argument twice in its future (the argument and the
// binding it is moved into, rust-lang/rust#62958), and these take the request by value (256
// bytes) at every level. The request's future is copied whole when awaited, so its size is
// paid per request; an `async move` block uses the captured argument in place.
#[allow(clippy::manual_async_fn)]
pub fn handle<B>(
    runtime: &Runtime,
    listener: &str,
    connection: &Connection,
    req: Request<B>,
    mut telemetry: Telemetry<'_>,
) -> impl Future<Output = Response<Body>>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    async move {
        // Borrowed, not cloned: `runtime` outlives the request (an `Arc` clone is a locked
        // instruction each way, on every request).
        let Some(entry) = runtime.listeners.get(listener) else {
            // The listener was removed before this connection started (one open before keeps
            // the runtime it had: see `Shared::connection_runtime`).
            telemetry.exchange.key.code = 503;
            return local_reply(StatusCode::SERVICE_UNAVAILABLE, "listener draining");
        };
        telemetry.exchange.set_reporter(entry.reporter);
        if connection.tls.as_ref().is_some_and(|t| t.is_mutual()) {
            telemetry.exchange.set_mutual_tls();
        }
        let Some(hcm) = entry.hcm_for(connection.tls_chain) else {
            // The listener's chains were replaced by TCP ones before this connection started.
            telemetry.exchange.key.code = 503;
            return local_reply(StatusCode::SERVICE_UNAVAILABLE, "listener draining");
        };
        if let Some(log) = &hcm.access_log {
            // The client as the connection manager names it: behind trusted proxies (or, in
            // a sidecar, the last hop's word) the one `x-forwarded-for` names.
            let remote = forwarded(hcm, connection).remote_address(
                connection.peer,
                req.headers()
                    .get_all(&X_FORWARDED_FOR)
                    .iter()
                    .map(|v| v.as_bytes()),
            );
            telemetry.exchange.log = Some(Box::new(log_record(
                log,
                &req,
                telemetry.exchange.started,
                Some(connection.local),
                (remote, connection.peer),
            )));
        }
        telemetry.exchange.key.grpc = req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let stats = &hcm.stats;
        stats.downstream_rq_total.inc();
        let _active = GaugeGuard::new(&stats.downstream_rq_active);
        // Pinned in place: see `downstream::serve` (awaiting the future itself copies it).
        let mut response = std::pin::pin!(route_request(
            runtime,
            entry,
            hcm,
            connection,
            req,
            &mut telemetry
        ))
        .await;
        // After the route's header rules, as Envoy's connection manager sets it last.
        hcm.server.apply(response.headers_mut());
        let status = response.status().as_u16();
        stats.response(status);
        let exchange = &mut *telemetry.exchange;
        exchange.key.code = status;
        if exchange.key.grpc {
            exchange.key.grpc_status = response
                .headers()
                .get(&GRPC_STATUS)
                .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
                .and_then(|v| v.parse().ok());
        }
        // The server side of metadata exchange: a caller that announced itself learns who answered.
        if exchange.announce
            && let Some(ours) = telemetry.metrics.exchange_headers()
        {
            let headers = response.headers_mut();
            headers.insert(&PEER_METADATA_ID, ours.id.clone());
            headers.insert(&PEER_METADATA, ours.metadata.clone());
        }
        if let Some(log) = exchange.log() {
            log.response_headers = response.headers().clone();
        }
        tracing::debug!(listener = %listener, status, "request done");
        response
    }
}

/// The RBAC filters' verdict: `None` to go on, or the 403 to answer.
fn authorize(
    rbac: &Engine,
    view: &RequestView<'_>,
    connection: &Connection,
    listener: &ListenerEntry,
    hcm: &Hcm,
    exchange: &mut Exchange,
) -> Option<Response<Body>> {
    let subject = Subject {
        request: view,
        peer: connection.peer,
        local: connection.local,
        remote: rbac::remote_ip(view, connection.peer.ip()),
        principal: connection.principal.as_deref(),
        sni: connection.sni.as_deref(),
    };
    match rbac.check(&subject, &hcm.stats) {
        Decision::Allowed => None,
        Decision::Denied { policy } => {
            tracing::debug!(
                listener = %listener.name,
                peer = %connection.peer,
                path = view.path_and_query,
                policy = policy.as_deref().unwrap_or("none matched"),
                "rbac: access denied"
            );
            // Envoy sets no response flag for RBAC; the details say who decided.
            exchange.details = format!(
                "rbac_access_denied_matched_policy[{}]",
                policy.as_deref().unwrap_or("none")
            )
            .into();
            Some(local_reply(StatusCode::FORBIDDEN, rbac::DENIED_BODY))
        }
    }
}

/// Envoy's `x-forwarded-client-cert` handling (`mutateXfccRequestHeader`): removed unless the
/// connection is mutual TLS and the connection manager forwards it; with `APPEND_FORWARD` the
/// client's certificate is appended, with `SANITIZE_SET` it replaces what the client sent.
fn forward_client_cert(mode: ForwardClientCert, conn: &Connection, headers: &mut HeaderMap) {
    match (mode, &conn.xfcc) {
        (ForwardClientCert::AlwaysForwardOnly, _) | (ForwardClientCert::ForwardOnly, Some(_)) => {}
        (ForwardClientCert::AppendForward, Some(mine)) => {
            let value = match headers.get(&X_FORWARDED_CLIENT_CERT) {
                Some(sent) => {
                    let mut joined = Vec::with_capacity(sent.len() + 1 + mine.len());
                    joined.extend_from_slice(sent.as_bytes());
                    joined.push(b',');
                    joined.extend_from_slice(mine.as_bytes());
                    HeaderValue::from_bytes(&joined).unwrap_or_else(|_| mine.clone())
                }
                None => mine.clone(),
            };
            headers.insert(X_FORWARDED_CLIENT_CERT, value);
        }
        (ForwardClientCert::SanitizeSet, Some(mine)) => {
            headers.insert(X_FORWARDED_CLIENT_CERT, mine.clone());
        }
        // SANITIZE, or not mutual TLS: a client must not vouch for its own certificate.
        _ => {
            take(headers, &X_FORWARDED_CLIENT_CERT);
        }
    }
}

/// The access log's record of a request, as it arrived.
fn log_record<B>(
    log: &Arc<AccessLog>,
    req: &Request<B>,
    started: Instant,
    local: Option<SocketAddr>,
    (remote, direct): (SocketAddr, SocketAddr),
) -> LogRecord {
    let elapsed = started.elapsed();
    LogRecord {
        log: log.clone(),
        start: SystemTime::now()
            .checked_sub(elapsed)
            .unwrap_or(SystemTime::UNIX_EPOCH),
        method: req.method().clone(),
        path: req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string(),
        authority: authority_of(req.uri(), req.headers()),
        scheme: if req.uri().scheme_str() == Some("https") {
            "https"
        } else {
            "http"
        },
        version: req.version(),
        request_headers: req.headers().clone(),
        response_headers: HeaderMap::new(),
        upstream_host: None,
        upstream_cluster: None,
        route_name: None,
        failure: None,
        downstream_local: local,
        downstream_remote: Some(remote),
        downstream_direct_remote: Some(direct),
    }
}

// Not `async fn`: an async fn keeps each argument twice in its future (the argument and the
// binding it is moved into, rust-lang/rust#62958), and these take the request by value (256
// bytes) at every level. The request's future is copied whole when awaited, so its size is
// paid per request; an `async move` block uses the captured argument in place.
#[allow(clippy::manual_async_fn)]
fn route_request<B>(
    runtime: &super::state::Runtime,
    listener: &ListenerEntry,
    hcm: &Hcm,
    connection: &Connection,
    mut req: Request<B>,
    telemetry: &mut Telemetry<'_>,
) -> impl Future<Output = Response<Body>>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    async move {
        let stats = &hcm.stats;
        let Some(table) = runtime.route_table(hcm) else {
            stats.no_route.inc();
            telemetry
                .exchange
                .flag(Flag::NoRouteFound, "route_not_found");
            return local_reply(StatusCode::NOT_FOUND, "");
        };
        // The request is used in place, not split into parts: its future holds the request
        // already (the argument), and would hold the parts as well.
        forward_client_cert(hcm.forward_client_cert, connection, req.headers_mut());
        // The server side of metadata exchange: the caller's proxy named its workload.
        if listener.reporter == Reporter::Destination
            && let Some(announced) = take(req.headers_mut(), &PEER_METADATA)
        {
            req.headers_mut().remove(&PEER_METADATA_ID);
            let peer = telemetry
                .metrics
                .peer_from_exchange(announced.as_bytes(), connection.principal.as_deref());
            telemetry.exchange.set_peer(peer);
            telemetry.exchange.announce = true;
        }
        let authority = authority_of(req.uri(), req.headers());
        let authority = if hcm.strip_any_host_port {
            split_host_port(&authority).0.to_string()
        } else {
            authority
        };
        // Shared with the request's URI, not copied: the forwarded request's target unless a
        // rewrite makes another.
        let path_and_query = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let scheme = req.uri().scheme_str().unwrap_or("http");
        // In a block: the view is not held while the request is forwarded.
        let (vhost, route) = {
            let view = RequestView {
                method: req.method().as_str(),
                authority: &authority,
                scheme,
                path_and_query: path_and_query.as_str(),
                headers: req.headers(),
                forwarded: forwarded(hcm, connection),
            };
            // Authorization runs before routing, as the RBAC filter sits before the router in
            // Envoy's chain: a denied request learns nothing about the routes.
            if let Some(rbac) = &hcm.rbac
                && let Some(denied) =
                    authorize(rbac, &view, connection, listener, hcm, telemetry.exchange)
            {
                return denied;
            }
            let Some(found) = table.route(&view, random::next()) else {
                stats.no_route.inc();
                telemetry
                    .exchange
                    .flag(Flag::NoRouteFound, "route_not_found");
                tracing::debug!(authority = %authority, path = path_and_query.as_str(), "no route");
                return local_reply(StatusCode::NOT_FOUND, "");
            };
            found
        };
        if let Some(log) = telemetry.exchange.log() {
            log.route_name = Some(route.name.clone());
        }
        // Envoy's `require_tls` asks the scheme the client used, which is `x-forwarded-proto`
        // as it goes on: behind a balancer that terminated TLS, the balancer's word.
        if vhost.require_tls
            && forwarded(hcm, connection).proto(
                req.headers()
                    .get(&X_FORWARDED_PROTO)
                    .and_then(|v| v.to_str().ok()),
            ) != "https"
        {
            stats.rq_redirect.inc();
            telemetry.exchange.details = "direct_response".into();
            let mut r = local_reply(StatusCode::MOVED_PERMANENTLY, "");
            // `as_str`, not Display: a target without a path (`http://h?x`) stays as it came.
            let location = format!("https://{authority}{}", path_and_query.as_str());
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        if let Some(fault) = &route.fault {
            if let Some((delay, fraction)) = fault.delay
                && fraction.hit(random::next())
            {
                stats.fault_delays_injected.inc();
                telemetry.exchange.flag(Flag::DelayInjected, "");
                tokio::time::sleep(delay).await;
            }
            if let Some((status, fraction)) = fault.abort
                && fraction.hit(random::next())
            {
                stats.fault_aborts_injected.inc();
                telemetry
                    .exchange
                    .flag(Flag::FaultInjected, "fault_filter_abort");
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return local_reply(status, "fault filter abort");
            }
        }
        match &route.action {
            Action::Direct { status, body } => {
                stats.rq_direct_response.inc();
                telemetry.exchange.details = "direct_response".into();
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                let mut r = local_reply(status, body);
                apply_response_headers(&mut r, None, route, vhost, table);
                r
            }
            Action::Redirect(redirect) => {
                stats.rq_redirect.inc();
                telemetry.exchange.details = "direct_response".into();
                redirect_response(redirect, route, scheme, &authority, path_and_query.as_str())
            }
            Action::Forward(forward) => {
                // The forwarding future is made inside the pin: what it takes (the request's
                // parts, the buffered body) is not held beside it while it runs.
                let version = req.version();
                std::pin::pin!({
                    let method = std::mem::take(req.method_mut());
                    let headers = std::mem::take(req.headers_mut());
                    // Most requests have no body: nothing to wait for, and the request was
                    // complete when its exchange began, which is when the route's timeout
                    // starts (Envoy's: at the request's end). One clock read fewer per request.
                    let (body, received) = if req.body().is_end_stream() {
                        (Bytes::new(), telemetry.exchange.started)
                    } else {
                        match Limited::new(req.into_body(), MAX_REQUEST_BODY)
                            .collect()
                            .await
                        {
                            Ok(collected) => {
                                let body = collected.to_bytes();
                                telemetry.exchange.request_body = body.len() as u64;
                                // HTTP/2's head was not counted on the wire: its body is.
                                if version == Version::HTTP_2 {
                                    telemetry.exchange.request_bytes += body.len() as u64;
                                }
                                (body, Instant::now())
                            }
                            Err(e) => {
                                if e.downcast_ref::<http_body_util::LengthLimitError>()
                                    .is_some()
                                {
                                    telemetry.exchange.details = "request_payload_too_large".into();
                                    return local_reply(
                                        StatusCode::PAYLOAD_TOO_LARGE,
                                        "Payload Too Large",
                                    );
                                }
                                return local_reply(StatusCode::BAD_REQUEST, "");
                            }
                        }
                    };
                    let downstream = Downstream {
                        peer: connection.peer,
                        // Made again rather than held across the body's collection: the
                        // request's future stays smaller.
                        forwarded: forwarded(hcm, connection),
                        method,
                        version,
                        headers,
                        authority,
                        path_and_query,
                        body,
                        received,
                    };
                    forward_request(
                        runtime, listener, hcm, table, vhost, route, forward, downstream, telemetry,
                    )
                })
                .await
            }
        }
    }
}

/// The request's authority: the URI's (HTTP/2, absolute-form) or the `Host` header.
fn authority_of(uri: &Uri, headers: &HeaderMap) -> String {
    if let Some(a) = uri.authority() {
        return a.as_str().to_string();
    }
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn redirect_response(
    redirect: &Redirect,
    route: &Route,
    scheme: &str,
    authority: &str,
    path_and_query: &str,
) -> Response<Body> {
    let location = redirect.location(route, scheme, authority, path_and_query);
    let status = StatusCode::from_u16(redirect.status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
    let mut r = local_reply(status, "");
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// What the downstream sent, body buffered, and when its last byte had arrived.
struct Downstream {
    peer: SocketAddr,
    forwarded: Forwarded,
    method: Method,
    version: Version,
    headers: HeaderMap,
    authority: String,
    path_and_query: PathAndQuery,
    body: Bytes,
    received: Instant,
}

/// The request's forwarded headers, as its connection manager and connection make them.
fn forwarded(hcm: &Hcm, connection: &Connection) -> Forwarded {
    Forwarded::new(
        hcm.forwarded,
        connection.peer,
        connection.local,
        connection.tls.is_some(),
    )
}

/// The edge's `x-forwarded-for` (see [`Forwarded::forwarded_for`]): beside the map when the
/// client sent none, else in it, replacing the client's lines.
fn forwarded_for(headers: &mut HeaderMap, added: &mut Added, present: bool, f: &Forwarded) {
    if !present {
        if let Some((text, len)) = f.appended() {
            added.push(&X_FORWARDED_FOR, text.get(..len).unwrap_or_default());
        }
        return;
    }
    let joined = f.forwarded_for(
        headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .map(|v| v.as_bytes()),
    );
    // The client's values were valid header values; commas and an address keep it one.
    if let Some(value) = joined.and_then(|j| HeaderValue::from_bytes(&j).ok()) {
        headers.insert(&X_FORWARDED_FOR, value);
    }
}

/// Why an attempt produced no response.
enum Failure {
    NoHealthyUpstream,
    /// A circuit breaker refused the request (Envoy's `UO`).
    Overflow,
    Connect(String),
    Reset(String),
    PerTryTimeout,
}

// Not `async fn`: see `route_request`.
#[allow(clippy::too_many_arguments, clippy::manual_async_fn)]
fn forward_request(
    runtime: &super::state::Runtime,
    listener: &ListenerEntry,
    hcm: &Hcm,
    table: &RouteTable,
    vhost: &VirtualHost,
    route: &Route,
    forward: &Forward,
    down: Downstream,
    telemetry: &mut Telemetry<'_>,
) -> impl Future<Output = Response<Body>> {
    async move {
        let started = down.received;
        let (cluster_name, weighted) = forward.pick(random::next());
        let Some(cluster) = runtime.clusters.get(cluster_name) else {
            hcm.stats.no_cluster.inc();
            telemetry
                .exchange
                .flag(Flag::NoClusterFound, "cluster_not_found");
            tracing::debug!(cluster = cluster_name, "cluster not found");
            return local_reply(StatusCode::SERVICE_UNAVAILABLE, "");
        };
        // Only a hashing balancer reads the hash, and only then may a cookie be generated.
        let hashed = if cluster.balancer.is_hashing() && !forward.hash_policy.is_empty() {
            // The client as Envoy's connection manager names it (`source_ip` hashes it): behind
            // trusted balancers, not the balancer.
            let lines = down.headers.get_all(&X_FORWARDED_FOR);
            let client = down
                .forwarded
                .client(down.peer.ip(), lines.iter().map(|v| v.as_bytes()));
            forward.hash_policy.hash(
                &down.headers,
                down.path_and_query.as_str(),
                SocketAddr::new(client, down.peer.port()),
                listener.address,
            )
        } else {
            RequestHash::default()
        };
        // The attempt is built in a block: the headers, host and path it takes are not held
        // beside it while it is sent.
        let (attempt, announce) = {
            // The upstream request's headers and path, built once for every attempt.
            let mut headers = down.headers;
            remove_hop_by_hop(&mut headers);
            // The downstream Host is reused as it is when it is the authority routed on (no copy).
            let original_host = headers
                .remove(header::HOST)
                .filter(|h| h.as_bytes() == down.authority.as_bytes());
            let host = weighted
                .and_then(|w| w.host_rewrite.clone())
                .or_else(|| forward.host_rewrite.clone())
                .or(original_host)
                .or_else(|| HeaderValue::from_str(&down.authority).ok());
            // The client side of metadata exchange (a sidecar's way out, a gateway's): an in-mesh
            // server learns who calls.
            let announce = listener.reporter == Reporter::Source && cluster.mesh;
            let ours = telemetry.metrics.exchange_headers().filter(|_| announce);
            // What the proxy adds, beside the map while the request lacks it (see `added`): which of
            // the names the request has, in one pass over its few.
            // Room for the values of all, so they are never moved: forwarded proto (5) and for
            // (an IPv6 address: 45), request id (36) and trace context (32 + 16 + 16 + 1 + 55);
            // metadata exchange's pair is shared, not copied.
            let mut added = Added::with_capacity(208);
            let (mut has_proto, mut has_id, mut has_peer, mut has_xff, mut has_attempt) =
                (false, false, false, false, false);
            for name in headers.keys() {
                has_proto |= *name == X_FORWARDED_PROTO;
                has_id |= *name == X_REQUEST_ID;
                has_peer |= *name == PEER_METADATA || *name == PEER_METADATA_ID;
                has_xff |= *name == X_FORWARDED_FOR;
                has_attempt |= *name == X_ENVOY_ATTEMPT_COUNT;
            }
            // As routing saw them (see `forwarded`): the connection's scheme where the client
            // named none or, at the edge with no trusted proxy in front, could not be believed
            // (an application behind a gateway that terminates TLS sees `https` and does not
            // redirect to itself); the edge appends the client's address.
            let fwd = &down.forwarded;
            if !has_proto || fwd.replaces_proto() {
                if has_proto {
                    headers.remove(&X_FORWARDED_PROTO);
                }
                added.push(&X_FORWARDED_PROTO, fwd.scheme().as_bytes());
            }
            forwarded_for(&mut headers, &mut added, has_xff, fwd);
            if !has_id && hcm.generate_request_id {
                added.push(&X_REQUEST_ID, &random::uuid_bytes());
            }
            // Each hop is a span of the request's trace, where the listener traces at all.
            if let Some(sampling) = hcm.trace_sampling {
                let next = super::telemetry::trace::next_hop(&headers, sampling, random::next);
                if next.replaces {
                    next.apply(&mut headers);
                } else {
                    next.write(|name, value| {
                        if let Some(v) = value {
                            added.push(name, v);
                        }
                    });
                }
            }
            telemetry.exchange.set_service(cluster.service);
            if let Some(log) = telemetry.exchange.log() {
                log.upstream_cluster = Some(cluster.name.clone());
            }
            if let Some(ours) = ours {
                if has_peer {
                    // What a client claimed is replaced.
                    headers.insert(&PEER_METADATA_ID, ours.id.clone());
                    headers.insert(&PEER_METADATA, ours.metadata.clone());
                } else {
                    added.push_exchange(ours);
                }
            }
            let rules = [
                weighted.map(|w| &w.request_headers),
                Some(&route.request_headers),
                Some(&vhost.request_headers),
                Some(&table.request_headers),
            ];
            let has_rules = rules.iter().flatten().any(|r| !r.is_empty());
            if has_rules {
                // The rules see (and may change) the request as forwarded.
                added.move_into(&mut headers);
                for r in rules.into_iter().flatten() {
                    r.apply(&mut headers);
                }
            }
            // The count is the proxy's to say on every try (Envoy sets the header per attempt;
            // the HTTP/1.1 encoder writes it beside the map): a client's or a rule's would go
            // out as a second header line.
            if vhost.attempt_count && (has_attempt || has_rules) {
                headers.remove(&X_ENVOY_ATTEMPT_COUNT);
            }
            if let Some(log) = telemetry.exchange.log() {
                // The request as forwarded: `%REQ(X-REQUEST-ID)%` is the id the proxy gave it.
                log.request_headers = added.with(&headers);
            }
            let path = match forward.rewrite_path(route, down.path_and_query.as_str()) {
                Some(rewritten) => Target::Rewritten(rewritten),
                None => Target::Downstream(down.path_and_query),
            };
            // The HTTP/1.1 request line's target, checked once for every attempt and mirror.
            let origin = match super::h1::origin_form_problem(path.as_str()) {
                None => Ok(()),
                Some(problem) => Err(format!("{problem}: {}", path.as_str())),
            };

            for mirror in &forward.mirrors {
                if !mirror.fraction.hit(random::next()) {
                    continue;
                }
                if let Some(target) = runtime.clusters.get(&mirror.cluster).cloned() {
                    // Envoy marks mirrored traffic by appending `-shadow` to the host.
                    let shadow_host = host
                        .as_ref()
                        .and_then(|h| h.to_str().ok())
                        .map(|h| {
                            let (name, port) = split_host_port(h);
                            match port {
                                Some(p) => format!("{name}-shadow:{p}"),
                                None => format!("{name}-shadow"),
                            }
                        })
                        .and_then(|h| HeaderValue::from_str(&h).ok());
                    let attempt = Attempt {
                        method: down.method.clone(),
                        version: down.version,
                        headers: headers.clone(),
                        added: added.clone(),
                        host: shadow_host,
                        origin: origin.clone(),
                        path: path.clone(),
                        body: down.body.clone(),
                        count_attempts: vhost.attempt_count,
                    };
                    tokio::spawn(async move {
                        if let Some(ep) = target.pick(random::next(), None, None) {
                            // Envoy copies the request for its shadow after counting the
                            // first attempt.
                            let _ = attempt.send(&target, ep, 1).await;
                        }
                    });
                }
            }

            (
                Attempt {
                    method: down.method,
                    version: down.version,
                    headers,
                    added,
                    host,
                    origin,
                    path,
                    body: down.body,
                    count_attempts: vhost.attempt_count,
                },
                announce,
            )
        };
        let retry = forward.retry.as_ref();
        let max_attempts = 1 + retry.map_or(0, |r| r.num_retries);
        let deadline = forward.timeout.map(|t| started + t);
        let mut previous: Option<&Arc<Endpoint>> = None;
        let mut number = 0;
        let outcome = loop {
            number += 1;
            let is_last = number >= max_attempts;
            let per_try = retry.and_then(|r| r.per_try_timeout);
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining.is_some_and(|r| r.is_zero()) {
                cluster.stats.upstream_rq_timeout.inc();
                break Err(None);
            }
            let limit = match (per_try, remaining) {
                (Some(p), Some(r)) => Some(p.min(r)),
                (p, r) => p.or(r),
            };
            let Some(endpoint) = cluster.pick(random::next(), previous, hashed.hash) else {
                cluster.stats.upstream_cx_none_healthy.inc();
                break Err(Some(Failure::NoHealthyUpstream));
            };
            if listener.reporter == Reporter::Source {
                telemetry.exchange.set_peer(endpoint.peer);
            }
            if let Some(log) = telemetry.exchange.log() {
                log.upstream_host = Some(endpoint.address.to_string());
            }
            cluster.stats.upstream_rq_total.inc();
            let result = {
                let _active = GaugeGuard::new(&cluster.stats.upstream_rq_active);
                let _host_active = GaugeGuard::new(&endpoint.stats.rq_active);
                endpoint.stats.rq_total.inc();
                match limit {
                    // Boxed: a route with a timeout pays an allocation, and every request's
                    // future is smaller by the timer's room.
                    Some(l) => {
                        match Box::pin(tokio::time::timeout(
                            l,
                            attempt.send(cluster, endpoint, number),
                        ))
                        .await
                        {
                            Ok(r) => r,
                            Err(_) => {
                                endpoint.stats.rq_timeout.inc();
                                if per_try.is_some_and(|p| p <= l) {
                                    cluster.stats.upstream_rq_per_try_timeout.inc();
                                    Err(Failure::PerTryTimeout)
                                } else {
                                    cluster.stats.upstream_rq_timeout.inc();
                                    break Err(None);
                                }
                            }
                        }
                    }
                    None => std::pin::pin!(attempt.send(cluster, endpoint, number)).await,
                }
            };
            let (retriable, outcome) = match result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    cluster.stats.response(status);
                    cluster.record(endpoint, Outcome::Status(status));
                    if status >= 500 {
                        endpoint.stats.rq_error.inc();
                    } else {
                        endpoint.stats.rq_success.inc();
                    }
                    (
                        retry.is_some_and(|r| r.retries_status(status)),
                        Ok(response),
                    )
                }
                Err(failure) => {
                    match failure {
                        Failure::Connect(_) | Failure::Reset(_) => {
                            cluster.record(endpoint, Outcome::LocalFailure);
                        }
                        Failure::PerTryTimeout => cluster.record(endpoint, Outcome::Timeout),
                        Failure::NoHealthyUpstream | Failure::Overflow => {}
                    }
                    if let Failure::Connect(_) = failure {
                        endpoint.stats.cx_connect_fail.inc();
                        cluster.stats.upstream_cx_connect_fail.inc();
                    }
                    let retriable = match &failure {
                        Failure::Connect(_) => retry.is_some_and(|r| r.retries_failure(true)),
                        Failure::Reset(_) => retry.is_some_and(|r| r.retries_failure(false)),
                        Failure::PerTryTimeout => retry.is_some(),
                        // Envoy never retries an overflow: retrying would add to the load.
                        Failure::NoHealthyUpstream | Failure::Overflow => false,
                    };
                    (retriable, Err(Some(failure)))
                }
            };
            if !is_last && retriable {
                cluster.stats.upstream_rq_retry.inc();
                previous = Some(endpoint);
                backoff(number).await;
                continue;
            }
            if retriable && number > 1 {
                telemetry
                    .exchange
                    .flag(Flag::UpstreamRetryLimitExceeded, "");
            }
            break outcome;
        };
        if attempt.count_attempts
            && let Some(log) = telemetry.exchange.log()
        {
            // Envoy counts in the request's own headers, so its log shows the last try's number.
            log.request_headers
                .insert(X_ENVOY_ATTEMPT_COUNT, count_value(u64::from(number)));
        }
        super::h1::recycle(attempt.headers);
        match outcome {
            Ok(mut response) => {
                telemetry.exchange.details = "via_upstream".into();
                // The client side of metadata exchange: the server's proxy named its workload,
                // which says more (its app and version) than the endpoint's metadata.
                if announce && let Some(announced) = take(response.headers_mut(), &PEER_METADATA) {
                    response.headers_mut().remove(&PEER_METADATA_ID);
                    let peer = telemetry
                        .metrics
                        .peer_from_exchange(announced.as_bytes(), None);
                    telemetry.exchange.set_peer(peer);
                }
                if hcm.envoy_headers {
                    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    response
                        .headers_mut()
                        .insert(X_ENVOY_UPSTREAM_SERVICE_TIME, count_value(elapsed));
                }
                apply_response_headers(&mut response, weighted, route, vhost, table);
                if let Some(cookie) = hashed.set_cookie {
                    response.headers_mut().append(header::SET_COOKIE, cookie);
                }
                response
            }
            Err(None) => {
                telemetry
                    .exchange
                    .flag(Flag::UpstreamRequestTimeout, "response_timeout");
                local_reply(StatusCode::GATEWAY_TIMEOUT, "upstream request timeout")
            }
            Err(Some(failure)) => match failure {
                Failure::NoHealthyUpstream => {
                    telemetry
                        .exchange
                        .flag(Flag::NoHealthyUpstream, "no_healthy_upstream");
                    local_reply(StatusCode::SERVICE_UNAVAILABLE, "no healthy upstream")
                }
                Failure::Overflow => {
                    telemetry.exchange.flag(
                        Flag::UpstreamOverflow,
                        "upstream_reset_before_response_started{overflow}",
                    );
                    tracing::debug!(cluster = %cluster.name, response_flags = circuit::RESPONSE_FLAG, "circuit breaker overflow");
                    let mut r =
                        local_reply(StatusCode::SERVICE_UNAVAILABLE, circuit::OVERFLOW_BODY);
                    // Envoy tells the client the upstream is overloaded, unless its router
                    // suppresses its headers.
                    if hcm.envoy_headers {
                        r.headers_mut()
                            .insert(X_ENVOY_OVERLOADED, HeaderValue::from_static("true"));
                    }
                    r
                }
                Failure::Connect(e) => reset_reply(
                    telemetry.exchange,
                    Flag::UpstreamConnectionFailure,
                    "upstream_reset_before_response_started{connection_failure}",
                    "connection failure",
                    e,
                ),
                Failure::Reset(e) => reset_reply(
                    telemetry.exchange,
                    Flag::UpstreamConnectionTermination,
                    "upstream_reset_before_response_started{connection_termination}",
                    "connection termination",
                    e,
                ),
                Failure::PerTryTimeout => {
                    telemetry
                        .exchange
                        .flag(Flag::UpstreamRequestTimeout, "upstream_per_try_timeout");
                    local_reply(StatusCode::GATEWAY_TIMEOUT, "upstream request timeout")
                }
            },
        }
    }
}

/// A header value for a count (of milliseconds, of tries); the common single digits are
/// static (a value made from a number is allocated).
fn count_value(n: u64) -> HeaderValue {
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    match usize::try_from(n).ok().and_then(|i| DIGITS.get(i)) {
        Some(d) => HeaderValue::from_static(d),
        None => HeaderValue::from(n),
    }
}

/// Envoy's local reply when the upstream failed before a response: 503, the flag, the
/// transport's reason in the access log and in the body.
fn reset_reply(
    exchange: &mut Exchange,
    flag: Flag,
    details: &'static str,
    reason: &str,
    failure: String,
) -> Response<Body> {
    exchange.flag(flag, details);
    let body = format!(
        "upstream connect error or disconnect/reset before headers. reset reason: {reason}, transport failure reason: {failure}"
    );
    if let Some(log) = exchange.log() {
        log.failure = Some(failure);
    }
    local_reply(StatusCode::SERVICE_UNAVAILABLE, &body)
}

fn apply_response_headers(
    response: &mut Response<Body>,
    weighted: Option<&super::routes::WeightedCluster>,
    route: &Route,
    vhost: &VirtualHost,
    table: &RouteTable,
) {
    let headers = response.headers_mut();
    if let Some(w) = weighted {
        w.response_headers.apply(headers);
    }
    route.response_headers.apply(headers);
    vhost.response_headers.apply(headers);
    table.response_headers.apply(headers);
}

/// Envoy's retry back-off: 25 ms base, doubling, full jitter, at most 250 ms.
async fn backoff(attempt: u32) {
    let cap = Duration::from_millis(25u64 << attempt.min(3).saturating_sub(1))
        .min(Duration::from_millis(250));
    let millis = u64::try_from(cap.as_millis()).unwrap_or(250).max(1);
    tokio::time::sleep(Duration::from_millis(random::next() % millis + 1)).await;
}

/// The upstream request's target (origin-form path and query).
#[derive(Clone)]
enum Target {
    /// The downstream request's, shared with its URI (no copy).
    Downstream(PathAndQuery),
    /// Made by the route's rewrite.
    Rewritten(String),
}

impl Target {
    fn as_str(&self) -> &str {
        match self {
            Target::Downstream(p) => p.as_str(),
            Target::Rewritten(p) => p,
        }
    }
}

/// One upstream request, reusable across attempts.
struct Attempt {
    method: Method,
    version: Version,
    headers: HeaderMap,
    /// Headers the proxy adds, absent from `headers`.
    added: Added,
    host: Option<HeaderValue>,
    /// Why `path` cannot be an HTTP/1.1 request target, if it cannot.
    origin: Result<(), String>,
    path: Target,
    body: Bytes,
    /// `x-envoy-attempt-count` goes with each try (the virtual host's
    /// `include_request_attempt_count`).
    count_attempts: bool,
}

impl Attempt {
    /// Sends the request as its `number`th try (1 for the first).
    async fn send(
        &self,
        cluster: &ClusterEntry,
        endpoint: &Endpoint,
        number: u32,
    ) -> Result<Response<Body>, Failure> {
        let http2 = match cluster.protocol {
            Protocol::Http1 => false,
            Protocol::Http2 => true,
            Protocol::Downstream => self.version == Version::HTTP_2,
        };
        // Held until the response body ends: the connection is busy until then.
        let admission = cluster
            .circuit
            .admit(!http2, &cluster.stats)
            .await
            .map_err(|_| Failure::Overflow)?;
        if !http2 {
            self.origin.clone().map_err(Failure::Reset)?;
            // HTTP/1.1 needs a Host: the endpoint's address when the request had none.
            let address;
            let host = match &self.host {
                Some(h) => h.as_bytes(),
                None => {
                    address = endpoint.address.to_string();
                    address.as_bytes()
                }
            };
            let head = super::h1::RequestHead {
                method: &self.method,
                path: self.path.as_str(),
                host,
                headers: &self.headers,
                added: &self.added,
                attempt_count: self.count_attempts.then_some(number),
            };
            return match std::pin::pin!(endpoint.pool.send(&head, &self.body)).await {
                Ok(response) => {
                    Ok(response
                        .map(|b| Admitted::new(b, admission).map_err(BoxError::from).boxed()))
                }
                Err(e @ (PoolError::Connect(_) | PoolError::Tls(_))) => {
                    Err(Failure::Connect(e.to_string()))
                }
                Err(e @ PoolError::Request(_)) => Err(Failure::Reset(e.to_string())),
            };
        }
        if let super::pool::Transport::Unavailable(reason) = endpoint.pool.transport() {
            return Err(Failure::Connect(format!("TLS error: {reason}")));
        }
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.headers_mut() = self.added.with(&self.headers);
        if let Some(h) = &self.host {
            req.headers_mut().insert(header::HOST, h.clone());
        }
        if self.count_attempts {
            req.headers_mut()
                .insert(X_ENVOY_ATTEMPT_COUNT, count_value(u64::from(number)));
        }
        *req.uri_mut() = format!("http://{}{}", endpoint.address, self.path.as_str())
            .parse()
            .map_err(|e: http::uri::InvalidUri| Failure::Reset(e.to_string()))?;
        *req.version_mut() = Version::HTTP_2;
        // Boxed, as connecting in the HTTP/1.1 pool: the HTTP/1.1 path's future need not
        // carry room for this one.
        match Box::pin(endpoint.client_h2.request(req)).await {
            Ok(mut response) => {
                // HTTP/1.1 responses come without hop-by-hop headers (the pool's codec drops
                // them as it parses: a pass over eight names fewer per response); hyper's
                // HTTP/2 client passes on what the upstream sent.
                remove_hop_by_hop(response.headers_mut());
                Ok(response.map(|b| Admitted::new(b, admission).map_err(BoxError::from).boxed()))
            }
            Err(e) if e.is_connect() => Err(Failure::Connect(error_chain(&e))),
            Err(e) => Err(Failure::Reset(error_chain(&e))),
        }
    }
}
