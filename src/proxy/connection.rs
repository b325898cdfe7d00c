//! What the proxy knows about one downstream connection, for the request path: where it comes
//! from and arrives at, and who the peer is. Authorization reads it (`source.ip`,
//! `destination.port`, `source.principal`, `connection.sni`).

use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The peer's address.
    pub peer: SocketAddr,
    /// The local address the connection arrived at.
    pub local: SocketAddr,
    /// The peer's identity from its mTLS certificate (`spiffe://<td>/ns/<ns>/sa/<sa>`);
    /// `None` on plaintext connections, which is every connection until the proxy terminates
    /// mesh mTLS.
    pub principal: Option<Arc<str>>,
    /// The TLS server name the client asked for; `None` on plaintext connections.
    pub sni: Option<Arc<str>>,
}

impl Connection {
    /// A plaintext connection from `peer` to `local`.
    pub fn plaintext(peer: SocketAddr, local: SocketAddr) -> Connection {
        Connection {
            peer,
            local,
            principal: None,
            sni: None,
        }
    }
}
