//! `x-forwarded-proto` and `x-forwarded-for` as Envoy's connection manager treats them
//! (`ConnectionManagerUtility::mutateRequestHeaders`): what a request carries on in them, and
//! whom the proxy takes for its client. Routing and authorization read the headers as they go
//! on, as Envoy mutates them before its filters run; the upstream request gets the same values.

use std::net::{IpAddr, SocketAddr};

/// A connection manager's stance (`use_remote_address`, `xff_num_trusted_hops`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stance {
    /// The mesh's edge (gateways): it appends its peer to `x-forwarded-for` and, with no
    /// trusted proxy in front, names the scheme itself.
    pub edge: bool,
    /// Proxies in front whose `x-forwarded-for` entries and `x-forwarded-proto` are believed.
    pub trusted_hops: u32,
}

/// One request's forwarded headers: its manager's stance and its connection's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forwarded {
    stance: Stance,
    tls: bool,
    /// What the edge appends to `x-forwarded-for`; `None` elsewhere.
    appended: Option<IpAddr>,
}

/// Room for any IPv4 or IPv6 address's text.
pub type IpText = ([u8; 48], usize);

impl Forwarded {
    /// A connection from `peer` to `local`. A loopback peer is named by `local`'s address
    /// (Envoy uses the node's address;
    /// the connection's is the same but for a proxy that binds loopback).
    pub fn new(stance: Stance, peer: SocketAddr, local: SocketAddr, tls: bool) -> Forwarded {
        let appended = stance.edge.then(|| {
            if peer.ip().is_loopback() {
                local.ip()
            } else {
                peer.ip()
            }
        });
        Forwarded {
            stance,
            tls,
            appended,
        }
    }

    /// The connection's scheme.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// The edge with no trusted proxy in front: it believes none of the client's claims.
    fn believes_no_one(&self) -> bool {
        self.stance.edge && self.stance.trusted_hops == 0
    }

    /// Whether the client's `x-forwarded-proto` is replaced by the connection's scheme: where
    /// nobody in front is believed, a client could claim `https` over plain text.
    pub fn replaces_proto(&self) -> bool {
        self.believes_no_one()
    }

    /// The `x-forwarded-proto` a request goes on with, given the client's.
    pub fn proto<'a>(&self, client: Option<&'a str>) -> &'a str {
        match client {
            Some(sent) if !self.replaces_proto() => sent,
            _ => self.scheme(),
        }
    }

    /// The address the edge appends to `x-forwarded-for`, as text.
    pub fn appended(&self) -> Option<IpText> {
        use std::io::Write;
        let mut text = [0u8; 48];
        let len = match self.appended? {
            // Written by hand: `Display` goes through the formatting machinery, ~600
            // instructions per request at a gateway, a few percent of its user time.
            IpAddr::V4(v4) => {
                let mut len = 0;
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text[len] = b'.';
                        len += 1;
                    }
                    if octet >= 100 {
                        text[len] = b'0' + octet / 100;
                        len += 1;
                    }
                    if octet >= 10 {
                        text[len] = b'0' + octet / 10 % 10;
                        len += 1;
                    }
                    text[len] = b'0' + octet % 10;
                    len += 1;
                }
                len
            }
            ip @ IpAddr::V6(_) => {
                let mut cursor = std::io::Cursor::new(&mut text[..]);
                write!(cursor, "{ip}").ok()?;
                usize::try_from(cursor.position()).ok()?
            }
        };
        Some((text, len))
    }

    /// `x-forwarded-for` as the request goes on, from the client's lines: joined by bare commas
    /// (Envoy's delimiter), empty ones skipped, the edge's address last. `None` where the
    /// proxy appends nothing (the client's lines go on as they are).
    pub fn forwarded_for<'a>(&self, client: impl Iterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
        let (text, len) = self.appended()?;
        let mut joined = Vec::with_capacity(64);
        for value in client.filter(|v| !v.is_empty()) {
            joined.extend_from_slice(value);
            joined.push(b',');
        }
        joined.extend_from_slice(text.get(..len).unwrap_or_default());
        Some(joined)
    }

    /// The client's address (Envoy's trusted client address): the peer at the edge with no
    /// trusted proxy in front; otherwise the entry `trusted_hops` from the right of
    /// `x-forwarded-for` as it goes on, or the peer when it has fewer or that one is no
    /// address. `lines` are the client's `x-forwarded-for` lines, raw: only the chosen entry is
    /// read as text, so bytes elsewhere that are not UTF-8 cannot hide it.
    pub fn client<'a, I>(&self, peer: IpAddr, lines: I) -> IpAddr
    where
        I: DoubleEndedIterator<Item = &'a [u8]>,
    {
        self.client_from_header(lines).unwrap_or(peer)
    }

    /// The client's address where [`Forwarded::client`] takes it from `x-forwarded-for`, and
    /// `None` where it is the peer. Envoy's `%DOWNSTREAM_REMOTE_ADDRESS%` is such an address
    /// with port 0 (a header names no port), and the peer with its port otherwise.
    pub fn client_from_header<'a, I>(&self, lines: I) -> Option<IpAddr>
    where
        I: DoubleEndedIterator<Item = &'a [u8]>,
    {
        if self.believes_no_one() {
            return None;
        }
        let hops = usize::try_from(self.stance.trusted_hops).ok()?;
        // At the edge its own entry (the peer) is the rightmost of the header as it goes on.
        let skip = if self.stance.edge { hops - 1 } else { hops };
        lines
            .rev()
            .filter(|line| !line.is_empty())
            .flat_map(|line| line.rsplit(|b| *b == b','))
            .nth(skip)
            .and_then(|entry| std::str::from_utf8(entry).ok())
            .and_then(|entry| entry.trim().parse().ok())
    }

    /// The downstream remote address as Envoy's stream info names it (its access log's
    /// `%DOWNSTREAM_REMOTE_ADDRESS%`): the client taken from `x-forwarded-for` with port 0, or
    /// the peer itself.
    pub fn remote_address<'a, I>(&self, peer: SocketAddr, lines: I) -> SocketAddr
    where
        I: DoubleEndedIterator<Item = &'a [u8]>,
    {
        self.client_from_header(lines)
            .map_or(peer, |ip| SocketAddr::new(ip, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "203.0.113.7:40000";
    const LOCAL: &str = "10.1.2.3:8080";

    fn forwarded(edge: bool, trusted_hops: u32, peer: &str, tls: bool) -> Forwarded {
        Forwarded::new(
            Stance { edge, trusted_hops },
            peer.parse().expect("peer"),
            LOCAL.parse().expect("local"),
            tls,
        )
    }

    fn xff(f: &Forwarded, lines: &[&str]) -> Option<String> {
        f.forwarded_for(lines.iter().map(|l| l.as_bytes()))
            .map(|v| String::from_utf8(v).expect("text"))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn the_edge_with_no_trusted_proxy_names_the_scheme_and_the_peer() {
        let f = forwarded(true, 0, CLIENT, true);
        assert_eq!(f.proto(None), "https");
        assert_eq!(
            f.proto(Some("http")),
            "https",
            "the client's claim is replaced"
        );
        assert_eq!(xff(&f, &[]).as_deref(), Some("203.0.113.7"));
        assert_eq!(
            xff(&f, &["1.1.1.1, 2.2.2.2", "", "3.3.3.3"]).as_deref(),
            Some("1.1.1.1, 2.2.2.2,3.3.3.3,203.0.113.7"),
            "lines joined, the empty one skipped"
        );
        let peer = ip("203.0.113.7");
        let spoofed: [&[u8]; 1] = [b"203.0.113.8, 9.9.9.9"];
        assert_eq!(
            f.client(peer, spoofed.into_iter()),
            peer,
            "claims are not believed"
        );
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for text in [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "203.0.113.7",
            "::2",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.0.2.1",
        ] {
            let edge = Stance {
                edge: true,
                trusted_hops: 0,
            };
            let peer = SocketAddr::new(ip(text), 1);
            let f = Forwarded::new(edge, peer, LOCAL.parse().expect("local"), false);
            let (bytes, len) = f.appended().expect("edge");
            assert_eq!(&bytes[..len], ip(text).to_string().as_bytes());
        }
    }

    #[test]
    fn a_loopback_peer_is_named_by_the_local_address() {
        let f = forwarded(true, 0, "127.0.0.1:5000", false);
        assert_eq!(xff(&f, &[]).as_deref(), Some("10.1.2.3"));
        assert_eq!(f.proto(None), "http");
        // The client is still the peer itself.
        let peer = ip("127.0.0.1");
        assert_eq!(f.client(peer, [&b"9.9.9.9"[..]].into_iter()), peer);
    }

    #[test]
    fn behind_trusted_proxies_the_edge_believes_them() {
        let peer = ip("192.0.2.10");
        let f = forwarded(true, 1, "192.0.2.10:3000", false);
        assert_eq!(
            f.proto(Some("https")),
            "https",
            "the balancer's word is kept"
        );
        assert_eq!(f.proto(None), "http");
        let out = xff(&f, &["198.51.100.1"]);
        assert_eq!(out.as_deref(), Some("198.51.100.1,192.0.2.10"));
        // One trusted hop: the entry left of the edge's own is the client.
        let one = |lines: &[&'static [u8]]| f.client(peer, lines.iter().copied());
        let client = ip("198.51.100.1");
        assert_eq!(one(&[b"198.51.100.1"]), client);
        assert_eq!(
            one(&[b"6.6.6.6, 198.51.100.1"]),
            client,
            "left of it: claims"
        );
        assert_eq!(
            one(&[b"6.6.6.6", b"", b"198.51.100.1"]),
            client,
            "across lines"
        );
        assert_eq!(
            one(&[b"\xff\xfe", b"198.51.100.1"]),
            client,
            "not text elsewhere"
        );
        assert_eq!(one(&[b"not-an-address"]), peer);
        assert_eq!(one(&[]), peer);
        // Two trusted hops: the entry two left of the edge's own, or the peer with fewer.
        let two = forwarded(true, 2, "192.0.2.10:3000", false);
        let two = |lines: &[&'static [u8]]| two.client(peer, lines.iter().copied());
        assert_eq!(two(&[b"198.51.100.1"]), peer);
        assert_eq!(two(&[b"198.51.100.9, 198.51.100.1"]), ip("198.51.100.9"));
    }

    #[test]
    fn inside_the_mesh_headers_pass_and_the_last_entry_is_the_client() {
        let peer = ip("10.0.0.9");
        let f = forwarded(false, 0, "10.0.0.9:1234", false);
        assert_eq!(f.proto(Some("https")), "https");
        assert_eq!(f.proto(None), "http");
        assert_eq!(xff(&f, &["198.51.100.1"]), None, "nothing appended");
        let last = [&b"198.51.100.1, 203.0.113.7"[..]];
        assert_eq!(f.client(peer, last.into_iter()), ip("203.0.113.7"));
        assert_eq!(f.client(peer, [&b"garbage"[..]].into_iter()), peer);
        assert_eq!(f.client(peer, std::iter::empty()), peer);
    }

    #[test]
    fn the_remote_address_is_the_header_s_client_with_port_0_or_the_peer() {
        let peer: SocketAddr = CLIENT.parse().expect("peer");
        let lines = [&b"198.51.100.20, 203.0.113.9"[..]];
        // Behind one trusted balancer: its entry names the client, with no port.
        let behind = forwarded(true, 1, CLIENT, false);
        assert_eq!(
            behind.remote_address(peer, lines.into_iter()),
            "203.0.113.9:0".parse().expect("addr")
        );
        // The edge believing no one, and a header with no address: the peer, port and all.
        let edge = forwarded(true, 0, CLIENT, false);
        assert_eq!(edge.remote_address(peer, lines.into_iter()), peer);
        assert_eq!(
            behind.remote_address(peer, [&b"unknown"[..]].into_iter()),
            peer
        );
        // A sidecar takes the last entry (Envoy's `getLastAddressFromXFF`).
        let sidecar = forwarded(false, 0, CLIENT, false);
        assert_eq!(
            sidecar.client_from_header(lines.into_iter()),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(sidecar.remote_address(peer, std::iter::empty()), peer);
    }
}
