//! Ports, port names and protocols.

use super::names::is_dns1123_label;

/// `ValidatePort`.
pub fn validate_port(p: i64) -> Option<String> {
    if (1..=65535).contains(&p) {
        None
    } else {
        Some(format!("port number {p} must be in the range 1..65535"))
    }
}

/// `ValidatePortName`.
pub fn validate_port_name(name: &str) -> Option<String> {
    if is_dns1123_label(name) {
        None
    } else {
        Some(format!("invalid port name: {name}"))
    }
}

/// Istio's protocols (`protocol.Parse`, case-insensitive); `None` is `Unsupported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Grpc,
    GrpcWeb,
    Http,
    HttpProxy,
    Http2,
    Https,
    Tls,
    Mongo,
    Redis,
    Mysql,
}

pub fn parse_protocol(s: &str) -> Option<Protocol> {
    Some(match s.to_ascii_lowercase().as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "grpc" => Protocol::Grpc,
        "grpc-web" => Protocol::GrpcWeb,
        "http" => Protocol::Http,
        "http_proxy" => Protocol::HttpProxy,
        "http2" => Protocol::Http2,
        "https" => Protocol::Https,
        "tls" => Protocol::Tls,
        "mongo" => Protocol::Mongo,
        "redis" => Protocol::Redis,
        "mysql" => Protocol::Mysql,
        _ => return None,
    })
}

impl Protocol {
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Protocol::Http
                | Protocol::Http2
                | Protocol::HttpProxy
                | Protocol::Grpc
                | Protocol::GrpcWeb
        )
    }

    pub fn is_tls(self) -> bool {
        matches!(self, Protocol::Https | Protocol::Tls)
    }

    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            Protocol::Tcp
                | Protocol::Https
                | Protocol::Tls
                | Protocol::Mongo
                | Protocol::Redis
                | Protocol::Mysql
        )
    }
}

/// `ValidateProtocol`: empty means "sniff".
pub fn validate_protocol(s: &str) -> Option<String> {
    if s.is_empty() || parse_protocol(s).is_some() {
        None
    } else {
        Some(format!("unsupported protocol: {s}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_protocols() {
        assert_eq!(validate_port(80), None);
        assert_eq!(
            validate_port(70000),
            Some("port number 70000 must be in the range 1..65535".into())
        );
        assert_eq!(
            validate_port(0),
            Some("port number 0 must be in the range 1..65535".into())
        );
        assert_eq!(
            validate_port_name("http_x"),
            Some("invalid port name: http_x".into())
        );
        assert_eq!(validate_protocol("HTTP"), None);
        assert_eq!(validate_protocol(""), None);
        assert_eq!(
            validate_protocol("quic"),
            Some("unsupported protocol: quic".into())
        );
        assert!(parse_protocol("grpc-web").is_some_and(Protocol::is_http));
        assert!(parse_protocol("mongo").is_some_and(Protocol::is_tcp));
    }
}
