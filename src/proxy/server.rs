//! Listener sockets: bound when LDS adds a listener (so a port that cannot be bound NACKs the
//! update), served with HTTP/1.1 and HTTP/2 (h2c prior knowledge) on every connection, and
//! closed when LDS removes the listener (connections in flight finish).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::forward;
use super::state::{Binder, Shared};
use super::stats::GaugeGuard;

/// Envoy's default limit on request headers (`max_request_headers_kb`: 60 KiB); beyond it the
/// request gets 431.
pub const MAX_HEADER_BYTES: usize = 60 * 1024;
/// Envoy's default `max_headers_count`.
pub const MAX_HEADERS: usize = 100;

/// The binder the proxy runs with: listener tasks on the current Tokio runtime.
pub struct Listeners {
    runtime: tokio::runtime::Handle,
    shared: OnceLock<Weak<Shared>>,
    active: Mutex<HashMap<String, watch::Sender<bool>>>,
}

impl Listeners {
    /// Must be called inside a Tokio runtime.
    pub fn new() -> Arc<Listeners> {
        Arc::new(Listeners {
            runtime: tokio::runtime::Handle::current(),
            shared: OnceLock::new(),
            active: Mutex::default(),
        })
    }

    /// Connects the listeners to the state they serve (the state owns the binder, so this
    /// closes the loop after both exist).
    pub fn attach(&self, shared: &Arc<Shared>) {
        let _ = self.shared.set(Arc::downgrade(shared));
    }
}

impl Binder for Arc<Listeners> {
    fn bind(&self, name: &str, address: SocketAddr) -> Result<(), String> {
        let std_listener = std::net::TcpListener::bind(address).map_err(|e| e.to_string())?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let _guard = self.runtime.enter();
        let listener = TcpListener::from_std(std_listener).map_err(|e| e.to_string())?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = self.shared.get().cloned().unwrap_or_default();
        tracing::info!(listener = name, %address, "listening");
        self.runtime
            .spawn(accept_loop(listener, Arc::from(name), shared, stop_rx));
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), stop_tx);
        Ok(())
    }

    fn unbind(&self, name: &str) {
        if let Some(stop) = self
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
        {
            tracing::info!(listener = name, "closing");
            stop.send_replace(true);
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    name: Arc<str>,
    shared: Weak<Shared>,
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
        let Some(shared) = shared.upgrade() else {
            return;
        };
        tokio::spawn(serve_connection(stream, peer, name.clone(), shared));
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    name: Arc<str>,
    shared: Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    let http_stats = shared
        .runtime()
        .listeners
        .get(&*name)
        .map(|l| l.hcm.stats.clone());
    if let Some(s) = &http_stats {
        s.downstream_cx_total.inc();
    }
    let _active = http_stats
        .as_ref()
        .map(|s| GaugeGuard::new(&s.downstream_cx_active));
    let service = service_fn(move |req| forward::handle(shared.clone(), name.clone(), peer, req));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(60))
        .max_buf_size(MAX_HEADER_BYTES + 4096)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    if let Err(e) = builder
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}
