//! Listener sockets: bound when LDS adds a listener (so a port that cannot be bound NACKs the
//! update), or taken over from the proxy this one replaces ([`super::handover`]); served with
//! HTTP/1.1 and HTTP/2 (h2c prior knowledge) on every connection of an HTTP filter chain, or
//! by the TCP proxy ([`super::tcp_proxy`]) on a TCP one, and closed when LDS removes the
//! listener. Its open HTTP connections then drain as below, each served with the config it had
//! ([`Shared::connection_runtime`]).
//!
//! Draining (Envoy's, on shutdown or after a hot restart): accepting stops, HTTP/2 connections
//! get a GOAWAY, and HTTP/1.1 responses carry `Connection: close` ([`Shared::is_draining`]),
//! so every client learns on a response it already has that the connection ends. Closing an
//! idle HTTP/1.1 connection outright instead races the client's next request on it. Only a
//! plain shutdown (no successor) closes idle connections at once: nobody else would serve them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::connection::Connection;
use super::state::{Binder, ChainFilter, Runtime, RuntimeCache, Shared};
use super::stats::{GaugeGuard, HttpStats};
use super::tcp_proxy::TcpProxy;
use super::telemetry::exchange::{Exchange, Sent};
use super::telemetry::metrics::Reporter;
use super::workers::{Next, Workers};
use super::{downstream, forward, http2, tcp_proxy};

/// How a draining proxy treats its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Serving.
    No,
    /// A successor accepts on the same sockets: close connections as clients learn of it.
    HandedOver,
    /// Shutting down with no successor: finish what is in flight, close the rest now.
    Shutdown,
}

/// One bound listener: what stops its accept loop, and a copy of its socket for a successor.
struct Active {
    stop: watch::Sender<bool>,
    address: SocketAddr,
    socket: OwnedFd,
}

/// The binder the proxy runs with: listener tasks on the current Tokio runtime.
pub struct Listeners {
    runtime: tokio::runtime::Handle,
    shared: OnceLock<Weak<Shared>>,
    active: Mutex<HashMap<String, Active>>,
    /// Sockets taken over from the proxy this one replaces, until LDS claims them.
    inherited: Mutex<super::handover::Inherited>,
    drain: watch::Sender<Drain>,
    /// Set when a successor took over.
    handed: watch::Sender<bool>,
    /// Open downstream connections.
    connections: watch::Sender<usize>,
    /// Timeouts of downstream HTTP/1.1 connections.
    limits: downstream::Limits,
    /// How long a removed listener's connections are kept before idle HTTP/1.1, TCP proxy and
    /// HTTP/2 ones close (Envoy's `--drain-time-s`).
    drain_time: Duration,
    /// The event loops connections are spread over.
    workers: Workers,
}

impl Listeners {
    /// Must be called inside a Tokio runtime. `inherited`: listening sockets a predecessor
    /// handed over, used for the addresses LDS asks for instead of binding them again.
    /// Accepted connections are spread over `workers`; a removed listener's idle ones close
    /// after `drain_time`.
    pub fn new(
        inherited: super::handover::Inherited,
        limits: downstream::Limits,
        workers: Workers,
        drain_time: Duration,
    ) -> Arc<Listeners> {
        Arc::new(Listeners {
            runtime: tokio::runtime::Handle::current(),
            shared: OnceLock::new(),
            active: Mutex::default(),
            inherited: Mutex::new(inherited),
            drain: watch::channel(Drain::No).0,
            handed: watch::channel(false).0,
            connections: watch::channel(0).0,
            limits,
            drain_time,
            workers,
        })
    }

    /// Connects the listeners to the state they serve (the state owns the binder, so this
    /// closes the loop after both exist).
    pub fn attach(&self, shared: &Arc<Shared>) {
        let _ = self.shared.set(Arc::downgrade(shared));
    }

    /// Closes the inherited sockets LDS did not ask for (the successor's config has no
    /// listener there); their ports close with the predecessor.
    pub fn release_unclaimed(&self) -> usize {
        let mut inherited = self
            .inherited
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = inherited.len();
        inherited.clear();
        n
    }

    /// Resolves when a successor has taken over ([`super::handover`]).
    pub async fn handed_over(&self) {
        let mut handed = self.handed.subscribe();
        let _ = handed.wait_for(|h| *h).await;
    }

    pub fn is_handed_over(&self) -> bool {
        *self.handed.borrow()
    }

    /// Stops accepting on every listener and drains the open connections as `how` says.
    pub fn drain(&self, how: Drain) {
        for (_, active) in self
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            active.stop.send_replace(true);
        }
        self.drain.send_replace(how);
    }

    /// Waits until no downstream connection is open, or `limit` passed; whether none is.
    pub async fn drained(&self, limit: Duration) -> bool {
        let mut open = self.connections.subscribe();
        tokio::time::timeout(limit, open.wait_for(|n| *n == 0))
            .await
            .is_ok()
    }

    fn socket_for(&self, address: SocketAddr) -> Result<std::net::TcpListener, String> {
        let taken = self
            .inherited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&address);
        match taken {
            Some(socket) => {
                tracing::info!(%address, "listening on the socket taken over");
                Ok(socket)
            }
            None => std::net::TcpListener::bind(address).map_err(|e| e.to_string()),
        }
    }
}

impl Binder for Arc<Listeners> {
    fn bind(&self, name: &str, address: SocketAddr) -> Result<(), String> {
        let std_listener = self.socket_for(address)?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let copy = std_listener.try_clone().map_err(|e| e.to_string())?;
        let _guard = self.runtime.enter();
        let listener = TcpListener::from_std(std_listener).map_err(|e| e.to_string())?;
        let (stop_tx, stop_rx) = watch::channel(false);
        tracing::info!(listener = name, %address, "listening");
        self.runtime.spawn(accept_loop(
            listener,
            Arc::from(name),
            Arc::downgrade(self),
            stop_rx,
        ));
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                name.to_string(),
                Active {
                    stop: stop_tx,
                    address,
                    socket: OwnedFd::from(copy),
                },
            );
        Ok(())
    }

    fn unbind(&self, name: &str) {
        if let Some(active) = self
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
        {
            tracing::info!(listener = name, "closing");
            active.stop.send_replace(true);
        }
    }
}

impl super::handover::Handoff for Listeners {
    fn listening(&self) -> Vec<(SocketAddr, OwnedFd)> {
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(|a| Some((a.address, a.socket.try_clone().ok()?)))
            .collect()
    }

    fn hand_over(&self) {
        if let Some(shared) = self.shared.get().and_then(Weak::upgrade) {
            shared.start_draining();
        }
        self.handed.send_replace(true);
    }
}

/// Counts one open connection while it lives.
struct Open(Weak<Listeners>);

impl Open {
    fn new(listeners: &Arc<Listeners>) -> Open {
        // Only `drained` waits, and only for zero: opening wakes nobody.
        listeners.connections.send_if_modified(|n| {
            *n += 1;
            false
        });
        Open(Arc::downgrade(listeners))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(l) = self.0.upgrade() {
            l.connections.send_if_modified(|n| {
                *n = n.saturating_sub(1);
                *n == 0
            });
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    name: Arc<str>,
    listeners: Weak<Listeners>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: wait a little rather than spin.
                tracing::warn!(listener = %name, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(listeners) = listeners.upgrade() else {
            return;
        };
        let Some(shared) = listeners.shared.get().and_then(Weak::upgrade) else {
            return;
        };
        let open = Open::new(&listeners);
        let drain = Drains {
            proxy: listeners.drain.subscribe(),
            listener: stop.clone(),
            time: listeners.drain_time,
        };
        let limits = listeners.limits;
        let name = name.clone();
        match listeners.workers.next() {
            Next::Here => {
                tokio::spawn(serve_connection(
                    stream, peer, name, shared, drain, limits, open,
                ));
            }
            Next::There(worker) => {
                // Re-registered with the worker's own event loop, so its readiness wakes that
                // worker alone.
                let stream = match stream.into_std() {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::debug!(listener = %name, %peer, "handing a connection to a worker: {e}");
                        continue;
                    }
                };
                worker.spawn(async move {
                    match TcpStream::from_std(stream) {
                        Ok(stream) => {
                            serve_connection(stream, peer, name, shared, drain, limits, open).await;
                        }
                        Err(e) => {
                            tracing::debug!(listener = %name, %peer, "registering a connection with its worker: {e}");
                        }
                    }
                });
            }
        }
    }
}

/// What ends a connection besides its client: the proxy's drain, and its listener's removal
/// (LDS, or the proxy's drain), after which HTTP/2 connections get a GOAWAY at once and, once
/// `time` has passed, idle HTTP/1.1 connections, TCP proxy connections and HTTP/2 connections
/// close, as Envoy drains a removed listener. (An HTTP/1.1 response still in progress then
/// runs on; it carries `connection: close`.)
struct Drains {
    proxy: watch::Receiver<Drain>,
    listener: watch::Receiver<bool>,
    time: Duration,
}

impl Drains {
    /// Resolves once the listener is removed and its drain time is over.
    fn drained(&self) -> impl Future<Output = ()> + use<> {
        let mut removed = self.listener.clone();
        let time = self.time;
        async move {
            // The sender goes with its listener, after saying so: an error is the same news.
            let _ = removed.wait_for(|gone| *gone).await;
            tokio::time::sleep(time).await;
        }
    }
}

/// Routes one connection's requests: HTTP/1.1 ones come from [`downstream`], HTTP/2 ones from
/// hyper.
struct Route {
    shared: Arc<Shared>,
    listener: Arc<str>,
    connection: Connection,
}

impl Route {
    /// The runtime this connection's next request is served by ([`Shared::connection_runtime`]).
    fn runtime<'c>(&self, cache: &'c mut RuntimeCache) -> &'c Arc<Runtime> {
        self.shared
            .connection_runtime(cache, &self.listener, self.connection.tls_chain)
    }

    /// The request's answer. Not an async fn: a layer of future around the request path's
    /// would hold the request a second time (see `forward::handle`).
    fn respond<'a, B>(
        &'a self,
        runtime: &'a Runtime,
        req: Request<B>,
        exchange: &'a mut Exchange,
    ) -> impl Future<Output = Response<forward::Body>> + 'a
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'a,
        B::Error: Into<forward::BoxError>,
    {
        let telemetry = forward::Telemetry {
            metrics: &self.shared.stats.istio,
            exchange,
        };
        forward::handle(runtime, &self.listener, &self.connection, req, telemetry)
    }
}

/// An HTTP/1.1 connection's route, with its copy of the runtime and the telemetry record of
/// the request being answered.
struct Http1<'a> {
    route: &'a Route,
    cache: RuntimeCache,
    pending: Option<Exchange>,
}

impl downstream::Handler for Http1<'_> {
    fn handle(
        &mut self,
        request: Request<Full<Bytes>>,
        received: u64,
    ) -> impl Future<Output = Response<forward::Body>> + Send + '_ {
        let runtime = self.route.runtime(&mut self.cache);
        let exchange = self.pending.insert(Exchange::new(received));
        self.route.respond(runtime, request, exchange)
    }

    /// Draining (the proxy, or this connection whose listener is gone): the client closes
    /// this connection after this response and opens its next one where the listening socket
    /// now leads (a successor, another listener, or a refusal).
    fn closing(&self) -> bool {
        self.route.shared.is_draining() || self.cache.retired()
    }

    fn done(&mut self, sent: Sent) {
        if let Some(exchange) = self.pending.take() {
            exchange.finish(&self.route.shared.stats.istio, sent);
        }
    }

    /// Envoy's connection manager names itself on the codec's answers (a 400 or 431) as on
    /// every other response.
    fn server(&mut self) -> Option<HeaderValue> {
        let runtime = self.route.runtime(&mut self.cache);
        let hcm = runtime
            .listeners
            .get(&*self.route.listener)?
            .hcm_for(self.route.connection.tls_chain)?;
        hcm.server.own().cloned()
    }
}

/// The first byte of a TLS handshake record (RFC 8446 §5.1): what Envoy's TLS inspector looks
/// for to tell TLS from plain text.
const TLS_HANDSHAKE: u8 = 0x16;

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    name: Arc<str>,
    shared: Arc<Shared>,
    drains: Drains,
    limits: downstream::Limits,
    _open: Open,
) {
    let _ = stream.set_nodelay(true);
    // The real local address, not the listener's: a wildcard listener's connections arrive at
    // one address each (`destination.ip`). A connected socket always knows it; should it not,
    // the peer stands in, which no destination rule is written for.
    let local = stream.local_addr().unwrap_or(peer);
    // The runtime the connection starts with, and drains with should its listener go.
    let cache = shared.runtime_cache();
    let entry = cache.runtime().listeners.get(&*name).cloned();
    let serving = Serving {
        name,
        shared,
        cache,
        drains,
        limits,
    };
    let Some(entry) = entry.clone().filter(|l| !l.tls.is_empty()) else {
        let conn = Connection::plaintext(peer, local);
        if let Some(l) = &entry
            && let Some(ChainFilter::Tcp(proxy)) = &l.plain
        {
            serving.tcp(stream, proxy, &conn, l.reporter).await;
            return;
        }
        // A listener removed since the accept is served by the request path, which answers
        // that it is draining.
        let http_stats = entry
            .as_ref()
            .and_then(|l| l.hcm_for(None))
            .map(|h| h.stats.clone());
        serve_stream(stream, conn, serving, http_stats).await;
        return;
    };
    // TLS or plain text, by the first byte (within the header timeout: a client that sends
    // nothing is no different from a slow one). Except before a plain TCP proxy: a protocol
    // whose server speaks first (SMTP, MySQL) has clients that send nothing until it did, and
    // Istio's inspector gives up waiting and takes such a connection as plain text.
    let mut first = [0u8; 1];
    let is_tls =
        match tokio::time::timeout(serving.limits.header_timeout, stream.peek(&mut first)).await {
            Ok(Ok(1)) => first[0] == TLS_HANDSHAKE,
            Err(_) if matches!(entry.plain, Some(ChainFilter::Tcp(_))) => false,
            _ => return,
        };
    if !is_tls {
        let conn = Connection::plaintext(peer, local);
        match &entry.plain {
            Some(ChainFilter::Http(hcm)) => {
                let http_stats = Some(hcm.stats.clone());
                serve_stream(stream, conn, serving, http_stats).await;
            }
            Some(ChainFilter::Tcp(proxy)) => {
                serving.tcp(stream, proxy, &conn, entry.reporter).await;
            }
            None => {
                // STRICT mTLS: no filter chain matches plain text, and Envoy closes the
                // connection.
                tracing::debug!(listener = %serving.name, %peer, "plain text refused: the listener requires TLS");
            }
        }
        return;
    }
    // The ClientHello first: its SNI picks the filter chain (Envoy's TLS inspector and
    // `server_names` match), whose certificate and routes then serve the connection.
    let handshake = async {
        let acceptor =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
        let start = acceptor.await.map_err(|e| e.to_string())?;
        let sni = start.client_hello().server_name().map(str::to_string);
        let Some(index) = entry.tls_chain(sni.as_deref()) else {
            return Err(format!(
                "no filter chain for server name {:?}",
                sni.unwrap_or_default()
            ));
        };
        let config = entry.tls[index].config.config.clone();
        let stream = start.into_stream(config).await.map_err(|e| e.to_string())?;
        Ok((index, stream))
    };
    let (index, stream) = match tokio::time::timeout(serving.limits.header_timeout, handshake).await
    {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(e)) => {
            tracing::debug!(listener = %serving.name, %peer, "TLS handshake failed: {e}");
            return;
        }
        Err(_) => return,
    };
    let tls = &entry.tls[index];
    let session = stream.get_ref().1;
    let peer_tls = super::tls::PeerTls::of(session, &serving.shared.secrets);
    let conn = Connection::tls(peer, local, session.server_name(), index, peer_tls);
    match &tls.filter {
        ChainFilter::Http(hcm) => {
            hcm.stats.downstream_cx_ssl_total.inc();
            let http_stats = Some(hcm.stats.clone());
            serve_stream(stream, conn, serving, http_stats).await;
        }
        ChainFilter::Tcp(proxy) => {
            proxy.stats.downstream_cx_ssl_total.inc();
            serving.tcp(stream, proxy, &conn, entry.reporter).await;
        }
    }
}

/// What a connection is served with, whatever its protocol: its listener's name, the runtime
/// it started with, what drains it, and its limits.
struct Serving {
    name: Arc<str>,
    shared: Arc<Shared>,
    cache: RuntimeCache,
    drains: Drains,
    limits: downstream::Limits,
}

impl Serving {
    /// The TCP proxy on `stream`, which ends with the proxy's shutdown or its listener's drain.
    async fn tcp<S>(self, stream: S, proxy: &TcpProxy, conn: &Connection, reporter: Reporter)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let drained = self.drains.drained();
        let drain = self.drains.proxy;
        tcp_proxy::serve(stream, proxy, conn, reporter, &self.shared, drain, drained).await;
    }
}

/// Serves HTTP/1.1 on `stream`, or HTTP/2 when it opens with the preface.
async fn serve_stream<S>(
    stream: S,
    conn: Connection,
    serving: Serving,
    http_stats: Option<Arc<super::stats::HttpStats>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Some(s) = &http_stats {
        s.downstream_cx_total.inc();
    }
    let _active = http_stats
        .as_ref()
        .map(|s| GaugeGuard::new(&s.downstream_cx_active));
    let Serving {
        name,
        shared,
        cache,
        drains,
        limits,
    } = serving;
    let peer = conn.peer;
    let route = Arc::new(Route {
        shared,
        listener: name,
        connection: conn,
    });
    // HTTP/1.1 connections between requests close when the proxy shuts down; on a hand-over
    // they learn from `Connection: close` on their next response instead (closing an idle one
    // races the client's next request on it), until the drain time is over, as when their
    // listener is removed.
    let mut shutdown = drains.proxy.clone();
    let wait = async move {
        if shutdown.wait_for(|d| *d == Drain::Shutdown).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    // The waits are polled between every two requests; a drain is rare. Gated, each is polled
    // again only once its state changed (an atomic load; see `gated`).
    let changed = drains.proxy.clone();
    let shutdown = super::gated::Gated::new(wait, move || changed.has_changed().unwrap_or(true));
    // The gate's receiver never marks the stop seen: once the listener is removed the gate
    // stays open, so the drain timer is polled. The timer starts at the first poll after the
    // removal, which for a connection busy then is when its request is done.
    let changed = drains.listener.clone();
    let removed = super::gated::Gated::new(drains.drained(), move || {
        changed.has_changed().unwrap_or(true)
    });
    let shutdown = async move {
        tokio::select! {
            biased;
            () = shutdown => {}
            () = removed => {}
        }
    };
    let mut http1 = Http1 {
        route: &route,
        cache,
        pending: None,
    };
    let ended =
        downstream::serve(stream, limits, http_stats.as_deref(), shutdown, &mut http1).await;
    let Http1 { cache, .. } = http1;
    match ended {
        downstream::Ended::Closed => {}
        downstream::Ended::Http2 { io, read } => {
            let runtime = Http2Runtime {
                cache: Mutex::new(cache),
                retired: Notify::new(),
            };
            serve_http2(
                Rewind::new(read.freeze(), io),
                peer,
                route,
                runtime,
                drains,
                http_stats.clone(),
            )
            .await;
        }
    }
}

/// An HTTP/2 connection's runtime, which its streams share, and the signal that its listener
/// is gone (then the connection gets a GOAWAY, as when the proxy drains).
struct Http2Runtime {
    cache: Mutex<RuntimeCache>,
    retired: Notify,
}

/// HTTP/2 (h2c with prior knowledge) on hyper's server, within [`http2`]'s bounds. Draining
/// (shutdown or hand-over, or this connection's listener removed) sends a GOAWAY; streams in
/// flight finish. A client that keeps cancelling its streams early is disconnected outright,
/// as Envoy aborts it.
async fn serve_http2<S>(
    io: Rewind<S>,
    peer: SocketAddr,
    route: Arc<Route>,
    runtime: Http2Runtime,
    drains: Drains,
    stats: Option<Arc<HttpStats>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let abuse = http2::Abuse::new(stats.clone());
    let streams = abuse.clone();
    let runtime = Arc::new(runtime);
    let retired = runtime.clone();
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        let route = route.clone();
        let connection_runtime = runtime.clone();
        // Created when hyper accepts the stream, dropped with the request's future: a stream
        // the client resets before its response drops it unanswered.
        let mut stream = streams.stream();
        async move {
            let runtime = {
                let mut cache = connection_runtime
                    .cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let runtime = route.runtime(&mut cache).clone();
                if cache.retired() {
                    connection_runtime.retired.notify_one();
                }
                runtime
            };
            let mut exchange = Exchange::new(head_bytes(req.headers()));
            let response = route.respond(&runtime, req, &mut exchange).await;
            stream.answered();
            let sent = Sent {
                wire: head_bytes(response.headers()),
                ..Sent::default()
            };
            let response = response.map(|body| {
                Reported {
                    body,
                    exchange: Some(exchange),
                    shared: route.shared.clone(),
                    sent,
                }
                .boxed()
            });
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new());
    http2::configure(
        &mut builder,
        u32::try_from(downstream::MAX_HEADER_BYTES).unwrap_or(u32::MAX),
    );
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let drained = drains.drained();
    tokio::pin!(drained);
    let Drains {
        proxy: mut drain,
        listener: mut removed,
        ..
    } = drains;
    let mut told = false;
    if *drain.borrow_and_update() != Drain::No {
        connection.as_mut().graceful_shutdown();
        told = true;
    }
    let result = loop {
        tokio::select! {
            r = connection.as_mut() => break r,
            () = abuse.detected() => {
                if let Some(s) = &stats {
                    s.downstream_rq_too_many_premature_resets.inc();
                }
                tracing::debug!(
                    %peer,
                    cancelled = abuse.unanswered(),
                    "closing an HTTP/2 connection: too many premature resets"
                );
                // Returning drops the connection: its socket closes and its streams end.
                return;
            }
            () = retired.retired.notified(), if !told => {
                connection.as_mut().graceful_shutdown();
                told = true;
            }
            // Removed, or its sender gone with it: the listener is gone either way.
            _ = removed.wait_for(|gone| *gone), if !told => {
                connection.as_mut().graceful_shutdown();
                told = true;
            }
            () = &mut drained => {
                // Streams that outlived the drain time (a long gRPC stream) end with it.
                tracing::debug!(%peer, "closing an HTTP/2 connection: its listener drained");
                return;
            }
            changed = drain.changed(), if !told => {
                if changed.is_err() {
                    told = true;
                    continue;
                }
                if *drain.borrow_and_update() != Drain::No {
                    connection.as_mut().graceful_shutdown();
                    told = true;
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}

/// An HTTP/2 head's size as istio/proxy counts headers: names and values (HPACK makes the
/// wire size something else again).
fn head_bytes(headers: &http::HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().len() + v.len()) as u64)
        .sum()
}

/// An HTTP/2 response body that reports its request once its last frame is sent, or when the
/// stream ends before that.
struct Reported {
    body: forward::Body,
    exchange: Option<Exchange>,
    shared: Arc<Shared>,
    sent: Sent,
}

impl Reported {
    fn report(&mut self, complete: bool) {
        if let Some(exchange) = self.exchange.take() {
            self.sent.complete = complete;
            exchange.finish(&self.shared.stats.istio, self.sent);
        }
    }
}

impl hyper::body::Body for Reported {
    type Data = Bytes;
    type Error = forward::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.sent.wire += data.len() as u64;
                    self.sent.body += data.len() as u64;
                }
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(exchange) = self.exchange.as_mut()
                    && exchange.key.grpc
                {
                    exchange.key.grpc_status = trailers
                        .get("grpc-status")
                        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
                        .and_then(|v| v.parse().ok());
                }
                if self.body.is_end_stream() {
                    self.report(true);
                }
            }
            Poll::Ready(None) => self.report(true),
            Poll::Ready(Some(Err(_))) => self.report(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Reported {
    fn drop(&mut self) {
        // hyper stops polling a body that says it ended; one that did not was cut short.
        let complete = hyper::body::Body::is_end_stream(&self.body);
        self.report(complete);
    }
}

/// A stream whose first bytes were already read (the HTTP/2 preface the HTTP/1.1 codec looked
/// at): they are read again first.
struct Rewind<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    fn new(prefix: Bytes, inner: S) -> Rewind<S> {
        Rewind { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
