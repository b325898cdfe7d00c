//! What the proxy knows about one downstream connection, for the request path: where it comes
//! from and arrives at, and who the peer is. Authorization reads it (`source.ip`,
//! `destination.port`, `source.principal`, `connection.sni`); the connection manager forwards
//! the peer's certificate as `x-forwarded-client-cert`.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderValue;

use super::tls::PeerTls;

#[derive(Debug, Clone)]
pub struct Connection {
    /// The peer's address.
    pub peer: SocketAddr,
    /// The local address the connection arrived at.
    pub local: SocketAddr,
    /// The peer's identity from its mTLS certificate (`spiffe://<td>/ns/<ns>/sa/<sa>`);
    /// `None` on plaintext connections and TLS ones without a client certificate.
    pub principal: Option<Arc<str>>,
    /// The TLS server name the client asked for; `None` on plaintext connections.
    pub sni: Option<Arc<str>>,
    /// The TLS session's peer, on TLS connections.
    pub tls: Option<Arc<PeerTls>>,
    /// The listener's TLS filter chain the connection was accepted on.
    pub tls_chain: Option<usize>,
    /// This connection's `x-forwarded-client-cert` element, made once per connection.
    pub xfcc: Option<HeaderValue>,
}

impl Connection {
    /// A plaintext connection from `peer` to `local`.
    pub fn plaintext(peer: SocketAddr, local: SocketAddr) -> Connection {
        Connection {
            peer,
            local,
            principal: None,
            sni: None,
            tls: None,
            tls_chain: None,
            xfcc: None,
        }
    }

    /// A TLS connection from `peer` to `local` whose handshake asked for `sni`, accepted on
    /// the listener's TLS filter chain `chain`.
    pub fn tls(
        peer: SocketAddr,
        local: SocketAddr,
        sni: Option<&str>,
        chain: usize,
        tls: PeerTls,
    ) -> Connection {
        let xfcc = tls
            .is_mutual()
            .then(|| HeaderValue::from_str(&tls.xfcc()).ok())
            .flatten();
        Connection {
            peer,
            local,
            principal: tls.peer_uri.as_deref().map(Arc::from),
            sni: sni.map(Arc::from),
            tls: Some(Arc::new(tls)),
            tls_chain: Some(chain),
            xfcc,
        }
    }
}
