//! Readiness probes of local components: `GET /ready` on istiod's debug port or Envoy's admin
//! port, as the Kubernetes readiness probes of the same components do.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Whether `GET http://<addr>/ready` answers 200 within a second.
pub async fn ready(addr: SocketAddr) -> bool {
    tokio::time::timeout(Duration::from_secs(1), get_status(addr, "/ready"))
        .await
        .ok()
        .flatten()
        == Some(200)
}

async fn get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    // The status line is all a probe needs.
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.ok()?;
    let line = std::str::from_utf8(&head).ok()?;
    line.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
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
