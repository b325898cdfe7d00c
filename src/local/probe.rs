//! Readiness probes of local components: `GET /ready` on istiod's debug port or Envoy's admin
//! port, as the Kubernetes readiness probes of the same components do.

use std::net::SocketAddr;
use std::time::Duration;

use crate::proxyconfig::admin;

/// Whether `GET http://<addr>/ready` answers 200 within a second.
pub async fn ready(addr: SocketAddr) -> bool {
    matches!(
        admin::send(
            addr,
            http::Method::GET,
            "/ready",
            None,
            Duration::from_secs(1)
        )
        .await,
        Ok((200, _))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    async fn serve_once(status: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(status.as_bytes()).await;
        });
        addr
    }

    #[tokio::test]
    async fn ready_means_200() {
        assert!(ready(serve_once("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await).await);
        assert!(!ready(serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n").await).await);
        let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        assert!(!ready(addr).await);
    }
}
