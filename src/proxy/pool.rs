//! HTTP/1.1 upstream connections kept alive per endpoint address, read and written by the
//! task of the downstream request ([`super::h1`] has the wire format).
//!
//! An endpoint holds its own [`HostPool`]; a request takes the newest idle connection, writes
//! itself, reads the response head, and the response body reads the rest from the same socket
//! and hands the connection back when its last byte has been read. No task per connection, no
//! channel per request: profiles of the proxy at saturation showed hyper's client connection
//! (and hyper-util's legacy `Client` before it) costing more per request than the rest of the
//! forwarding path.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::Response;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::cluster::Address;
use super::h1::{self, ChunkedDecoder, Decoded, Framing, RequestHead};
use super::tls::UpstreamTls;

/// How connections to an endpoint are made: its transport socket (Envoy's `raw_buffer` or
/// `tls`). Part of a pool's key, so endpoints of one address with different TLS settings never
/// share a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    Plain,
    Tls(Arc<UpstreamTls>),
    /// TLS the proxy cannot set up (an unsupported secret, a missing file): connecting fails
    /// with this reason rather than falling back to plain text.
    Unavailable(Arc<str>),
}

/// An upstream connection: plain TCP, or TLS over it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Stream {
    /// Writes `bytes`; TLS records rustls still buffers are flushed too.
    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }
}

/// How long a connection may sit unused before it is closed instead of reused, unless the
/// cluster says (`common_http_protocol_options.idle_timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A cluster's settings for its connections; pools are shared by clusters with the same ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolOptions {
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// Close a connection after this many requests (`max_requests_per_connection`).
    pub max_requests_per_connection: Option<u32>,
}

impl PoolOptions {
    pub fn new(connect_timeout: Duration) -> PoolOptions {
        PoolOptions {
            connect_timeout,
            idle_timeout: IDLE_TIMEOUT,
            max_requests_per_connection: None,
        }
    }
}
/// An idle connection unused for longer than this is checked for a close by the upstream
/// before it is reused (a read that would block): servers close idle connections after their
/// own timeouts (Node.js after 5 s), and a request written into a closed connection is lost.
/// Under load connections come back within microseconds and skip the check.
const CHECK_AFTER: Duration = Duration::from_millis(200);
/// Read buffer per connection: a typical response head and body arrive in one read.
const READ_BUFFER: usize = 16 * 1024;

/// The monotonic clock at the kernel's tick (1–10 ms): enough for idle times measured against
/// CHECK_AFTER and idle timeouts, and read from the vDSO without the TSC, which a checkout and a
/// checkin per request otherwise read (~30 ns each on a VM, ~0.4 % of a proxied request).
fn coarse_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    // The kernel keeps tv_nsec below a second and the monotonic clock is never negative.
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Why no response came back.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// No connection could be opened (Envoy's "connection failure").
    #[error("tcp connect error: {0}")]
    Connect(String),
    /// The TLS handshake failed (Envoy's transport failure reason names it `TLS_error`).
    #[error("TLS error: {0}")]
    Tls(String),
    /// The connection failed after the request was handed to it (Envoy's "connection
    /// termination").
    #[error("{0}")]
    Request(String),
}

/// One upstream connection, the bytes read from it but not yet used, and the buffer requests
/// are written from (kept: one allocation per connection, not per request).
struct Conn {
    /// Requests written on it so far.
    requests: u32,
    stream: Stream,
    buf: BytesMut,
    out: BytesMut,
    /// The previous response's header names.
    names: h1::Names,
}

impl Conn {
    fn make_room(&mut self) {
        make_room(&mut self.buf);
    }
}

/// Room for the next read. Responses are split off `buf` as shared `Bytes`, so a `reserve` of
/// the full size each time would allocate a new buffer per response; asking only when little
/// room is left lets one allocation serve many small responses.
///
/// An empty buffer whose earlier responses are all gone (written downstream and dropped)
/// starts over at the front of its allocation instead: the next read lands in the cache lines
/// the last one warmed, as a server's per-connection buffer does, rather than walking through
/// fresh ones and a new allocation every few responses.
fn make_room(buf: &mut BytesMut) {
    // `try_reclaim` never allocates: it moves to the front only when no `Bytes` still shares
    // the allocation; asking for the whole buffer makes it do so even with room left at the end.
    if buf.is_empty() && buf.try_reclaim(READ_BUFFER) {
        return;
    }
    if buf.capacity() - buf.len() < READ_BUFFER / 8 {
        buf.reserve(READ_BUFFER);
    }
}

/// The keep-alive connections to one upstream address.
pub struct HostPool {
    address: Address,
    options: PoolOptions,
    transport: Transport,
    /// Per worker ([`super::workers`]), since a connection wakes the event loop it was opened
    /// on; newest last: reusing the most recently used connection keeps the others idle long
    /// enough to expire when load drops.
    /// Each with when it came back, on [`coarse_now`]'s clock.
    idle: Mutex<Vec<Vec<(Conn, Duration)>>>,
}

impl std::fmt::Debug for HostPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPool")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// How a request failed on a connection, and whether it may go to another one.
enum Failed {
    /// Nothing of a response arrived on a reused connection: the upstream had closed it while
    /// it was idle (the request may not have reached it).
    Stale(std::io::Error),
    Other(String),
}

impl HostPool {
    fn new(address: Address, options: PoolOptions, transport: Transport) -> HostPool {
        HostPool {
            address,
            options,
            transport,
            idle: Mutex::default(),
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends the request on an idle connection, or a new one when none is usable. An
    /// idempotent request that finds its reused connection closed by the upstream before any
    /// response byte goes to a new connection once (as browsers and Go's client do); others get
    /// the error, since the upstream may have acted on them.
    pub async fn send(
        self: &Arc<Self>,
        head: &RequestHead<'_>,
        body: &Bytes,
    ) -> Result<Response<PooledBody>, PoolError> {
        let mut retried = false;
        loop {
            let (conn, reused) = match self.checkout() {
                Some(conn) if !retried => (conn, true),
                // Boxed: connecting (TCP, maybe a TLS handshake) is a state machine several
                // times the size of the rest of a request's, and every request's future
                // would carry room for it — and be copied with it — otherwise.
                _ => (Box::pin(self.connect()).await?, false),
            };
            match self.exchange(conn, head, body, reused).await {
                Ok(response) => return Ok(response),
                Err(Failed::Stale(e)) if !retried && head.method.is_idempotent() => {
                    tracing::debug!(upstream = %self.address, "reused connection was closed: {e}");
                    retried = true;
                }
                Err(Failed::Stale(e)) => return Err(PoolError::Request(e.to_string())),
                Err(Failed::Other(e)) => return Err(PoolError::Request(e)),
            }
        }
    }

    async fn exchange(
        self: &Arc<Self>,
        mut conn: Conn,
        head: &RequestHead<'_>,
        body: &Bytes,
        reused: bool,
    ) -> Result<Response<PooledBody>, Failed> {
        let stale = |e: std::io::Error| {
            if reused {
                Failed::Stale(e)
            } else {
                Failed::Other(e.to_string())
            }
        };
        conn.requests = conn.requests.saturating_add(1);
        let mut out = std::mem::take(&mut conn.out);
        out.clear();
        let body_inline = h1::encode_request(head, body, &mut out);
        let written = conn.stream.send(&out).await;
        conn.out = out;
        written.map_err(stale)?;
        if !body_inline {
            conn.stream
                .send(body)
                .await
                .map_err(|e| Failed::Other(e.to_string()))?;
        }
        let response = loop {
            if let Some(response) =
                h1::parse_response_head(&mut conn.buf, head.method, &mut conn.names)
                    .map_err(|e| Failed::Other(e.to_string()))?
            {
                break response;
            }
            let before = conn.buf.len();
            conn.make_room();
            match tokio::io::AsyncReadExt::read_buf(&mut conn.stream, &mut conn.buf).await {
                Ok(0) if before == 0 => {
                    return Err(stale(std::io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(0) => {
                    return Err(Failed::Other(
                        "upstream closed the connection inside the response head".to_string(),
                    ));
                }
                Ok(_) => {}
                Err(e) if before == 0 => return Err(stale(e)),
                Err(e) => return Err(Failed::Other(e.to_string())),
            }
        };
        let mut r = Response::new(PooledBody {
            conn: Some(conn),
            pool: Arc::clone(self),
            framing: response.framing,
            keep_alive: response.keep_alive,
            left: match response.framing {
                Framing::Length(n) => n,
                _ => 0,
            },
            chunked: ChunkedDecoder::default(),
            done: false,
        });
        *r.status_mut() = response.status;
        *r.headers_mut() = response.headers;
        // A server never polls a body that is known to be empty.
        if response.framing == Framing::Empty {
            r.body_mut().finish();
        }
        Ok(r)
    }

    /// The newest idle connection that is still open.
    fn checkout(&self) -> Option<Conn> {
        let worker = super::workers::current();
        let now = coarse_now();
        loop {
            let (conn, since) = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(worker)?
                .pop()?;
            let idle_for = now.saturating_sub(since);
            if idle_for > self.options.idle_timeout {
                continue;
            }
            if idle_for > CHECK_AFTER && !still_open(&conn.stream) {
                continue;
            }
            return Some(conn);
        }
    }

    fn checkin(&self, conn: Conn) {
        // A connection that has carried its last request closes (dropped here).
        if self
            .options
            .max_requests_per_connection
            .is_some_and(|max| conn.requests >= max)
        {
            return;
        }
        let now = coarse_now();
        let worker = super::workers::current();
        let mut lists = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if lists.len() <= worker {
            lists.resize_with(worker + 1, Vec::new);
        }
        let idle = &mut lists[worker];
        // The oldest are first: drop the ones nobody reused in time.
        let expired = idle
            .iter()
            .take_while(|(_, since)| now.saturating_sub(*since) > self.options.idle_timeout)
            .count();
        idle.drain(..expired);
        idle.push((conn, now));
    }

    async fn connect(&self) -> Result<Conn, PoolError> {
        let stream = open(&self.address, &self.transport, self.options.connect_timeout).await?;
        Ok(Conn {
            requests: 0,
            stream,
            buf: BytesMut::with_capacity(READ_BUFFER),
            out: BytesMut::with_capacity(1024),
            names: h1::Names::default(),
        })
    }
}

/// A new connection to `address` with `transport`, within `timeout` (TCP and TLS handshake);
/// the TCP proxy's upstream connections are made this way too.
pub async fn open(
    address: &Address,
    transport: &Transport,
    timeout: Duration,
) -> Result<Stream, PoolError> {
    if let Transport::Unavailable(reason) = transport {
        return Err(PoolError::Tls(reason.to_string()));
    }
    let connecting = async {
        let tcp = match address {
            Address::Ip(a) => TcpStream::connect(*a).await,
            Address::Dns(host, port) => TcpStream::connect((host.as_str(), *port)).await,
        }
        .map_err(|e| PoolError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        match transport {
            Transport::Tls(tls) => {
                let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
                let stream = connector
                    .connect(tls.server_name.clone(), tcp)
                    .await
                    .map_err(|e| PoolError::Tls(e.to_string()))?;
                Ok(Stream::Tls(Box::new(stream)))
            }
            _ => Ok(Stream::Plain(tcp)),
        }
    };
    match tokio::time::timeout(timeout, connecting).await {
        Ok(result) => result,
        Err(_) => Err(PoolError::Connect("connection timed out".to_string())),
    }
}

/// Whether an idle connection is still usable: reading would block (a close or stray bytes
/// from the upstream make it unusable). TLS connections are peeked at, not read: reading
/// under rustls would take bytes of its records.
fn still_open(stream: &Stream) -> bool {
    let mut probe = [0u8; 1];
    match stream {
        Stream::Plain(s) => {
            matches!(s.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        }
        Stream::Tls(s) => {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let mut buf = ReadBuf::new(&mut probe);
            // Pending: nothing to read, the peer has not closed (nor sent close_notify).
            s.get_ref().0.poll_peek(&mut cx, &mut buf).is_pending()
        }
    }
}

/// A response body read from a pooled connection: gives the connection back once the body has
/// been read to its end. A body dropped earlier takes its connection with it (the rest of the
/// response is still on the wire, so the connection cannot carry another request).
pub struct PooledBody {
    conn: Option<Conn>,
    pool: Arc<HostPool>,
    framing: Framing,
    keep_alive: bool,
    /// Bytes left of a `content-length` body.
    left: u64,
    chunked: ChunkedDecoder,
    done: bool,
}

impl PooledBody {
    /// The body has ended: the connection goes back to its pool when it can carry another
    /// request, exactly at the end of this response.
    fn finish(&mut self) {
        self.done = true;
        if let Some(conn) = self.conn.take()
            && self.keep_alive
            && conn.buf.is_empty()
        {
            self.pool.checkin(conn);
        }
    }

    fn fail(&mut self, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> std::io::Error {
        self.done = true;
        self.conn = None;
        std::io::Error::other(e)
    }

    /// Reads more of the response into the connection's buffer; `Ok(false)` at end of stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<bool>> {
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(Ok(false));
        };
        match &mut conn.stream {
            Stream::Plain(stream) => loop {
                ready!(stream.poll_read_ready(cx))?;
                make_room(&mut conn.buf);
                match stream.try_read_buf(&mut conn.buf) {
                    Ok(n) => return Poll::Ready(Ok(n > 0)),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            },
            Stream::Tls(stream) => {
                // Decrypted bytes land in initialized room at the end of the buffer (safe code
                // cannot hand rustls the buffer's uninitialized capacity).
                make_room(&mut conn.buf);
                let filled = conn.buf.len();
                let room = (conn.buf.capacity() - filled).max(READ_BUFFER / 8);
                conn.buf.resize(filled + room, 0);
                let mut read = ReadBuf::new(&mut conn.buf[filled..]);
                let polled = Pin::new(stream.as_mut()).poll_read(cx, &mut read);
                let n = read.filled().len();
                conn.buf.truncate(filled + n);
                ready!(polled)?;
                Poll::Ready(Ok(n > 0))
            }
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match this.framing {
                Framing::Empty => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Framing::Length(_) if !conn.buf.is_empty() => {
                    let n = usize::try_from(this.left)
                        .unwrap_or(usize::MAX)
                        .min(conn.buf.len());
                    let data = conn.buf.split_to(n).freeze();
                    this.left -= n as u64;
                    if this.left == 0 {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::UntilClose if !conn.buf.is_empty() => {
                    let data = conn.buf.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::Chunked => match this.chunked.decode(&mut conn.buf) {
                    Ok(Decoded::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(Decoded::End) => {
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Ok(Decoded::NeedMore) => {}
                    Err(e) => return Poll::Ready(Some(Err(this.fail(e)))),
                },
                _ => {}
            }
            match ready!(this.poll_fill(cx)) {
                Ok(true) => {}
                Ok(false) if this.framing == Framing::UntilClose => {
                    this.done = true;
                    this.conn = None;
                    return Poll::Ready(None);
                }
                Ok(false) => {
                    let e = this.fail("upstream closed the connection inside the response body");
                    return Poll::Ready(Some(Err(e)));
                }
                Err(e) => return Poll::Ready(Some(Err(this.fail(e)))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Empty => SizeHint::with_exact(0),
            Framing::Length(_) => SizeHint::with_exact(self.left),
            Framing::Chunked | Framing::UntilClose => SizeHint::default(),
        }
    }
}

/// Host pools by address and connect timeout, so a cluster update that keeps an address keeps
/// its connections. Weak: a pool lives as long as an endpoint uses it.
#[derive(Default)]
pub struct HostPools {
    pools: Mutex<Pools>,
}

#[derive(Default)]
struct Pools {
    by_key: HashMap<(Address, PoolOptions, Transport), Weak<HostPool>>,
    /// How many entries the last sweep of dead pools left.
    swept_at: usize,
}

impl HostPools {
    pub fn get(
        &self,
        address: &Address,
        options: PoolOptions,
        transport: &Transport,
    ) -> Arc<HostPool> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (address.clone(), options, transport.clone());
        if let Some(pool) = pools.by_key.get(&key).and_then(Weak::upgrade) {
            return pool;
        }
        // Dead pools are swept when the map has doubled since the last sweep, not on every
        // miss: a cluster of N new endpoints then costs O(N), not O(N²), under this lock.
        if pools.by_key.len() >= 2 * pools.swept_at.max(16) {
            pools.by_key.retain(|_, p| p.strong_count() > 0);
            pools.swept_at = pools.by_key.len();
        }
        let pool = Arc::new(HostPool::new(address.clone(), options, transport.clone()));
        pools.by_key.insert(key, Arc::downgrade(&pool));
        pool
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http::Method;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn a_read_buffer_starts_over_at_its_front_once_its_responses_are_dropped() {
        let mut buf = BytesMut::with_capacity(READ_BUFFER);
        make_room(&mut buf);
        let front = buf.as_ptr();
        buf.extend_from_slice(&[b'x'; 1200]);
        let response = buf.split_to(1200).freeze();
        // Still shared with a response on its way downstream: the read goes on behind it.
        make_room(&mut buf);
        assert_eq!(buf.as_ptr(), front.wrapping_add(1200));
        drop(response);
        // Written and dropped: the next read lands where the first did, with no allocation.
        make_room(&mut buf);
        assert_eq!(buf.as_ptr(), front);
        assert!(buf.capacity() >= READ_BUFFER);
    }

    /// Sends `GET /` with `Host: backend`.
    async fn get(pool: &Arc<HostPool>) -> Result<Response<PooledBody>, PoolError> {
        send(pool, &Method::GET).await
    }

    async fn send(
        pool: &Arc<HostPool>,
        method: &Method,
    ) -> Result<Response<PooledBody>, PoolError> {
        let headers = http::HeaderMap::new();
        let head = RequestHead {
            method,
            path: "/",
            host: b"backend",
            headers: &headers,
            added: &Default::default(),
            attempt_count: None,
        };
        pool.send(&head, &Bytes::new()).await
    }

    #[tokio::test]
    async fn a_read_body_gives_its_connection_back_for_the_next_request() {
        let (address, accepted) = raw_backend(HELLO, usize::MAX).await;
        let pools = HostPools::default();
        let pool = pools.get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        for _ in 0..3 {
            let response = get(&pool).await.expect("response");
            let body = response.into_body().collect().await.expect("body");
            assert_eq!(body.to_bytes(), "hello");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 1);
        // The same address and timeout share the pool.
        assert!(Arc::ptr_eq(
            &pool,
            &pools.get(
                &Address::Ip(address),
                PoolOptions::new(Duration::from_secs(1)),
                &Transport::Plain
            )
        ));
    }

    /// Pools nobody uses any more do not pile up: the map is swept as it doubles.
    #[test]
    fn dead_pools_are_swept_as_the_map_grows() {
        let pools = HostPools::default();
        for port in 1..=1000u16 {
            let address = Address::Ip(SocketAddr::from(([127, 0, 0, 1], port)));
            drop(pools.get(
                &address,
                PoolOptions::new(Duration::from_secs(1)),
                &Transport::Plain,
            ));
        }
        let left = pools.pools.lock().expect("lock").by_key.len();
        assert!(left <= 32, "{left} entries kept for 1,000 dead pools");
    }

    #[tokio::test]
    async fn an_unread_body_takes_its_connection_with_it() {
        let (address, accepted) = raw_backend(HELLO, usize::MAX).await;
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        drop(get(&pool).await.expect("response"));
        let body = get(&pool).await.expect("response").into_body();
        assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    /// A connection wakes the event loop it was opened on: each worker reuses its own.
    #[tokio::test]
    async fn each_worker_reuses_the_connections_it_opened() {
        use crate::proxy::workers::{Next, Workers};
        let (address, accepted) = raw_backend(HELLO, usize::MAX).await;
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        let workers = Workers::start(2).expect("workers");
        let _ = workers.next();
        let Next::There(other) = workers.next() else {
            unreachable!("the second connection goes to worker 1")
        };
        let on_other = |pool: Arc<HostPool>| {
            other.spawn(async move {
                let body = get(&pool).await.expect("response").into_body();
                assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
            })
        };
        for _ in 0..2 {
            let body = get(&pool).await.expect("response").into_body();
            assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
            on_other(pool.clone()).await.expect("worker 1");
        }
        // One connection per worker, each used twice.
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_closed_idle_connection_is_replaced() {
        // Answers one request per connection, then closes without saying so.
        let (address, _) = raw_backend(OK, 1).await;
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        for _ in 0..3 {
            let body = get(&pool).await.expect("response").into_body();
            assert_eq!(body.collect().await.expect("body").to_bytes(), "ok");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    /// A backend that answers each request with `response` (raw bytes), counting connections,
    /// and closes a connection after `per_connection` responses.
    async fn raw_backend(
        response: &'static [u8],
        per_connection: usize,
    ) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut buf = vec![0u8; 4096];
                    let mut answered = 0;
                    while answered < per_connection {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            if stream.write_all(response).await.is_err() {
                                return;
                            }
                            answered += 1;
                        }
                    }
                });
            }
        });
        (address, accepted)
    }

    #[tokio::test]
    async fn chunked_bodies_are_decoded_and_their_connection_reused() {
        let (address, accepted) = raw_backend(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            usize::MAX,
        )
        .await;
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        for _ in 0..3 {
            let response = get(&pool).await.expect("response");
            assert!(response.headers().get("transfer-encoding").is_none());
            let body = response.into_body().collect().await.expect("body");
            assert_eq!(body.to_bytes(), "abcde");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_body_until_close_ends_with_the_connection() {
        let (address, accepted) = raw_backend(b"HTTP/1.1 200 OK\r\n\r\nall of it", 1).await;
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        for _ in 0..2 {
            let body = get(&pool).await.expect("response").into_body();
            assert_eq!(body.collect().await.expect("body").to_bytes(), "all of it");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    /// A request that may have reached the upstream is not sent twice: a POST written into a
    /// connection the upstream closed meanwhile fails; a GET goes to a new connection.
    #[tokio::test]
    async fn only_idempotent_requests_are_resent_after_a_stale_connection() {
        let (address, _) = raw_backend(OK, 1).await;
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        let body = get(&pool).await.expect("response").into_body();
        assert_eq!(body.collect().await.expect("body").to_bytes(), "ok");
        // Within CHECK_AFTER: the pooled connection is reused without a check.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(matches!(
            send(&pool, &Method::POST).await,
            Err(PoolError::Request(_))
        ));
        let body = get(&pool).await.expect("response").into_body();
        assert_eq!(body.collect().await.expect("body").to_bytes(), "ok");
        // After CHECK_AFTER the close is seen before the request is written: a POST is safe.
        tokio::time::sleep(CHECK_AFTER + Duration::from_millis(50)).await;
        let body = send(&pool, &Method::POST)
            .await
            .expect("response")
            .into_body();
        assert_eq!(body.collect().await.expect("body").to_bytes(), "ok");
    }

    #[tokio::test]
    async fn a_response_cut_short_is_an_error_and_its_connection_dropped() {
        let (address, accepted) =
            raw_backend(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", 1).await;
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        let body = get(&pool).await.expect("head").into_body();
        assert!(body.collect().await.is_err());
        let body = get(&pool).await.expect("head").into_body();
        assert!(body.collect().await.is_err());
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_connection_closes_after_max_requests_per_connection() {
        let (address, accepted) = raw_backend(OK, usize::MAX).await;
        let options = PoolOptions {
            max_requests_per_connection: Some(2),
            ..PoolOptions::new(Duration::from_secs(1))
        };
        let pool = HostPools::default().get(&Address::Ip(address), options, &Transport::Plain);
        for _ in 0..4 {
            let body = get(&pool).await.expect("response").into_body();
            assert_eq!(body.collect().await.expect("body").to_bytes(), "ok");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let pool = HostPools::default().get(
            &Address::Ip(address),
            PoolOptions::new(Duration::from_secs(1)),
            &Transport::Plain,
        );
        assert!(matches!(get(&pool).await, Err(PoolError::Connect(_))));
    }
}
