//! HTTP/1.1 upstream connections kept alive per endpoint address, on hyper's
//! `client::conn::http1`.
//!
//! hyper-util's legacy `Client` did this before, but profiles of the proxy under load showed its
//! generality costing more per request than the rest of the forwarding path: the absolute URI
//! formatted and parsed again for every attempt, a pool keyed by scheme and authority looked up
//! under a lock, and one task spawned per request to wait for the connection to become idle
//! again. Here an endpoint holds its own [`HostPool`]; a request takes the newest idle
//! connection, and the response body hands the connection back when its last byte has been
//! read, with no extra task.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::cluster::Address;
use crate::xds::error_chain;

/// How long a connection may sit unused before it is closed instead of reused (what the
/// legacy client was configured with).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

type Sender = http1::SendRequest<Full<Bytes>>;

/// Why no response came back.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// No connection could be opened (Envoy's "connection failure").
    #[error("tcp connect error: {0}")]
    Connect(String),
    /// The connection failed after the request was handed to it (Envoy's "connection
    /// termination").
    #[error("{0}")]
    Request(String),
}

/// The keep-alive connections to one upstream address.
pub struct HostPool {
    address: Address,
    connect_timeout: Duration,
    /// Newest last: reusing the most recently used connection keeps the others idle long enough
    /// to expire when load drops.
    idle: Mutex<Vec<(Sender, Instant)>>,
}

impl std::fmt::Debug for HostPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPool")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl HostPool {
    fn new(address: Address, connect_timeout: Duration) -> HostPool {
        HostPool {
            address,
            connect_timeout,
            idle: Mutex::default(),
        }
    }

    /// Sends `req` (origin-form URI) on an idle connection, or a new one when none is usable.
    /// A request that an idle connection turned away unsent (the upstream closed it meanwhile)
    /// goes to the next one, as the legacy client's `retry_canceled_requests` did.
    pub async fn send(
        self: &Arc<Self>,
        mut req: Request<Full<Bytes>>,
    ) -> Result<Response<PooledBody>, PoolError> {
        loop {
            let (mut sender, reused) = match self.checkout().await {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            match sender.try_send_request(req).await {
                Ok(response) => {
                    let pool = Arc::clone(self);
                    return Ok(response.map(|body| PooledBody::new(body, sender, pool)));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(PoolError::Request(error_chain(e.error()))),
                },
            }
        }
    }

    /// The newest idle connection that is still open and ready for a request.
    async fn checkout(&self) -> Option<Sender> {
        loop {
            let (mut sender, since) = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()?;
            if sender.is_closed() || since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            // The connection was handed back when its response body ended; its task may not
            // have marked it idle yet.
            if sender.is_ready() || sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    fn checkin(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        // The oldest are first: drop the ones nobody reused in time.
        let expired = idle
            .iter()
            .take_while(|(_, since)| now.duration_since(*since) > IDLE_TIMEOUT)
            .count();
        idle.drain(..expired);
        idle.push((sender, now));
    }

    async fn connect(&self) -> Result<Sender, PoolError> {
        let connecting = async {
            match &self.address {
                Address::Ip(a) => TcpStream::connect(*a).await,
                Address::Dns(host, port) => TcpStream::connect((host.as_str(), *port)).await,
            }
        };
        let stream = match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(PoolError::Connect(e.to_string())),
            Err(_) => return Err(PoolError::Connect("connection timed out".to_string())),
        };
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| PoolError::Connect(error_chain(&e)))?;
        let address = self.address.to_string();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(upstream = %address, "upstream connection ended: {e}");
            }
        });
        Ok(sender)
    }
}

/// A response body from a pooled connection: gives the connection back once the body has been
/// read to its end. A body dropped earlier takes its connection with it (the rest of the
/// response is still on the wire, so the connection cannot carry another request).
pub struct PooledBody {
    inner: Incoming,
    release: Option<(Sender, Arc<HostPool>)>,
}

impl PooledBody {
    fn new(inner: Incoming, sender: Sender, pool: Arc<HostPool>) -> PooledBody {
        let mut body = PooledBody {
            inner,
            release: Some((sender, pool)),
        };
        // A server never polls a body that is known to be empty.
        if body.inner.is_end_stream() {
            body.release();
        }
        body
    }

    fn release(&mut self) {
        if let Some((sender, pool)) = self.release.take() {
            pool.checkin(sender);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.release(),
            // Servers stop polling once `is_end_stream` holds, so hand back now.
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.release(),
            Poll::Ready(Some(Err(_))) => this.release = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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
    by_key: HashMap<(Address, Duration), Weak<HostPool>>,
    /// How many entries the last sweep of dead pools left.
    swept_at: usize,
}

impl HostPools {
    pub fn get(&self, address: &Address, connect_timeout: Duration) -> Arc<HostPool> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (address.clone(), connect_timeout);
        if let Some(pool) = pools.by_key.get(&key).and_then(Weak::upgrade) {
            return pool;
        }
        // Dead pools are swept when the map has doubled since the last sweep, not on every
        // miss: a cluster of N new endpoints then costs O(N), not O(N²), under this lock.
        if pools.by_key.len() >= 2 * pools.swept_at.max(16) {
            pools.by_key.retain(|_, p| p.strong_count() > 0);
            pools.swept_at = pools.by_key.len();
        }
        let pool = Arc::new(HostPool::new(address.clone(), connect_timeout));
        pools.by_key.insert(key, Arc::downgrade(&pool));
        pool
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A backend that answers every request on a connection with `body`, counting connections.
    async fn backend(body: &'static str) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut pending = Vec::new();
                    loop {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            let response = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if stream.write_all(response.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (address, accepted)
    }

    fn get() -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = http::Uri::from_static("/");
        req.headers_mut().insert(
            http::header::HOST,
            http::HeaderValue::from_static("backend"),
        );
        req
    }

    #[tokio::test]
    async fn a_read_body_gives_its_connection_back_for_the_next_request() {
        let (address, accepted) = backend("hello").await;
        let pools = HostPools::default();
        let pool = pools.get(&Address::Ip(address), Duration::from_secs(1));
        for _ in 0..3 {
            let response = pool.send(get()).await.expect("response");
            let body = response.into_body().collect().await.expect("body");
            assert_eq!(body.to_bytes(), "hello");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 1);
        // The same address and timeout share the pool.
        assert!(Arc::ptr_eq(
            &pool,
            &pools.get(&Address::Ip(address), Duration::from_secs(1))
        ));
    }

    /// Pools nobody uses any more do not pile up: the map is swept as it doubles.
    #[test]
    fn dead_pools_are_swept_as_the_map_grows() {
        let pools = HostPools::default();
        for port in 1..=1000u16 {
            let address = Address::Ip(SocketAddr::from(([127, 0, 0, 1], port)));
            drop(pools.get(&address, Duration::from_secs(1)));
        }
        let left = pools.pools.lock().expect("lock").by_key.len();
        assert!(left <= 32, "{left} entries kept for 1,000 dead pools");
    }

    #[tokio::test]
    async fn an_unread_body_takes_its_connection_with_it() {
        let (address, accepted) = backend("hello").await;
        let pool = HostPools::default().get(&Address::Ip(address), Duration::from_secs(1));
        drop(pool.send(get()).await.expect("response"));
        let body = pool.send(get()).await.expect("response").into_body();
        assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_closed_idle_connection_is_replaced() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        // Answers one request per connection, then closes without saying so.
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            }
        });
        let pool = HostPools::default().get(&Address::Ip(address), Duration::from_secs(1));
        for _ in 0..3 {
            let body = pool.send(get()).await.expect("response").into_body();
            assert_eq!(body.collect().await.expect("body").to_bytes(), "ok");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let pool = HostPools::default().get(&Address::Ip(address), Duration::from_secs(1));
        assert!(matches!(pool.send(get()).await, Err(PoolError::Connect(_))));
    }
}
