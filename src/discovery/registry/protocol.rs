//! What a service port speaks, as Istio infers it (`kube.ConvertProtocol`, `protocol.Parse`):
//! Kubernetes `appProtocol` first, then the port name's prefix (`http`, `http-web`, `grpc-api`),
//! then well-known TCP ports; anything else is left to protocol sniffing.

use std::fmt;

use crate::config::kube::ServicePort as KubePort;

/// Istio's `protocol.Instance`, plus `Unsupported` for "not declared, sniffed at runtime".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Http,
    Http2,
    HttpProxy,
    Grpc,
    GrpcWeb,
    Https,
    Tcp,
    Tls,
    Udp,
    Mongo,
    Redis,
    Mysql,
    Unsupported,
}

impl Protocol {
    /// `protocol.Parse`: case-insensitive, unknown names are `Unsupported`.
    pub fn parse(s: &str) -> Protocol {
        match s.to_ascii_lowercase().as_str() {
            "http" => Protocol::Http,
            "http2" => Protocol::Http2,
            "http_proxy" => Protocol::HttpProxy,
            "grpc" => Protocol::Grpc,
            "grpc-web" => Protocol::GrpcWeb,
            "https" => Protocol::Https,
            "tcp" => Protocol::Tcp,
            "tls" => Protocol::Tls,
            "udp" => Protocol::Udp,
            "mongo" => Protocol::Mongo,
            "redis" => Protocol::Redis,
            "mysql" => Protocol::Mysql,
            _ => Protocol::Unsupported,
        }
    }

    /// `kube.ConvertProtocol` for a Kubernetes Service port.
    pub fn of_kubernetes_port(port: &KubePort) -> Protocol {
        if port.protocol.as_deref() == Some("UDP") {
            return Protocol::Udp;
        }
        let mut name = port.name.as_deref().unwrap_or_default();
        if let Some(app) = port.app_protocol.as_deref() {
            // Kubernetes' standard appProtocol values (only appProtocol can hold them).
            match app {
                "kubernetes.io/h2c" => return Protocol::Http2,
                "kubernetes.io/ws" | "kubernetes.io/wss" => return Protocol::Http,
                _ => name = app,
            }
        }
        // `grpc-web` contains the separator, so it is matched before the prefix is cut.
        if name.to_ascii_lowercase().starts_with("grpc-web") {
            return Protocol::GrpcWeb;
        }
        let prefix = name.split_once('-').map_or(name, |(p, _)| p);
        match Protocol::parse(prefix) {
            // Well-known TCP ports are TCP when nothing else says otherwise.
            Protocol::Unsupported if matches!(port.port, 25 | 53 | 3306 | 27017) => Protocol::Tcp,
            p => p,
        }
    }

    /// A ServiceEntry or Gateway port's `protocol` field (no name inference there).
    pub fn of_declared(protocol: Option<&str>) -> Protocol {
        protocol.map_or(Protocol::Unsupported, Protocol::parse)
    }

    /// `IsHTTP`: the proxy terminates HTTP on this port.
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

    /// `IsHTTPOrSniffed`: HTTP, or undeclared. Ferry's proxy does not sniff, so undeclared ports
    /// are served as HTTP, which is what sniffing decides for HTTP clients.
    pub fn is_http_or_sniffed(self) -> bool {
        self.is_http() || self == Protocol::Unsupported
    }

    /// `IsHTTP2`: the upstream connection must be HTTP/2.
    pub fn is_http2(self) -> bool {
        matches!(self, Protocol::Http2 | Protocol::Grpc | Protocol::GrpcWeb)
    }

    /// Istio's spelling (`HTTP`, `GRPC-Web`, `UnsupportedProtocol`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Http2 => "HTTP2",
            Protocol::HttpProxy => "HTTP_PROXY",
            Protocol::Grpc => "GRPC",
            Protocol::GrpcWeb => "GRPC-Web",
            Protocol::Https => "HTTPS",
            Protocol::Tcp => "TCP",
            Protocol::Tls => "TLS",
            Protocol::Udp => "UDP",
            Protocol::Mongo => "Mongo",
            Protocol::Redis => "Redis",
            Protocol::Mysql => "MySQL",
            Protocol::Unsupported => "UnsupportedProtocol",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: Option<&str>, app: Option<&str>, number: i64) -> KubePort {
        KubePort {
            name: name.map(str::to_string),
            app_protocol: app.map(str::to_string),
            port: number,
            ..KubePort::default()
        }
    }

    #[test]
    fn names_and_prefixes() {
        assert_eq!(
            Protocol::of_kubernetes_port(&port(Some("http"), None, 80)),
            Protocol::Http
        );
        assert_eq!(
            Protocol::of_kubernetes_port(&port(Some("http-web"), None, 80)),
            Protocol::Http
        );
        assert_eq!(
            Protocol::of_kubernetes_port(&port(Some("grpc-web-x"), None, 80)),
            Protocol::GrpcWeb
        );
        assert_eq!(
            Protocol::of_kubernetes_port(&port(Some("GRPC-api"), None, 80)),
            Protocol::Grpc
        );
        assert_eq!(
            Protocol::of_kubernetes_port(&port(Some("web"), None, 9080)),
            Protocol::Unsupported
        );
    }

    #[test]
    fn app_protocol_wins_over_the_name() {
        assert_eq!(
            Protocol::of_kubernetes_port(&port(Some("tcp"), Some("http"), 80)),
            Protocol::Http
        );
        assert_eq!(
            Protocol::of_kubernetes_port(&port(None, Some("kubernetes.io/h2c"), 80)),
            Protocol::Http2
        );
    }

    #[test]
    fn well_known_ports_default_to_tcp_and_udp_is_udp() {
        assert_eq!(
            Protocol::of_kubernetes_port(&port(None, None, 3306)),
            Protocol::Tcp
        );
        let mut udp = port(Some("http"), None, 53);
        udp.protocol = Some("UDP".into());
        assert_eq!(Protocol::of_kubernetes_port(&udp), Protocol::Udp);
    }
}
