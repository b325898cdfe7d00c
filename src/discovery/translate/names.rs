//! The names Istio gives Envoy resources and the well-known extension names. `istioctl
//! proxy-config` parses several of them (cluster names, listener names, the `istio.config`
//! metadata path), so they are part of the interface.

/// Catches traffic to routes whose cluster is unknown; goes nowhere.
pub const BLACK_HOLE_CLUSTER: &str = "BlackHoleCluster";
/// Forwards to the original destination (outbound traffic to unknown hosts).
pub const PASSTHROUGH_CLUSTER: &str = "PassthroughCluster";
/// Forwards inbound traffic for ports without an inbound listener to the application.
pub const INBOUND_PASSTHROUGH_CLUSTER: &str = "InboundPassthroughCluster";
/// The listener iptables sends outbound traffic to.
pub const VIRTUAL_OUTBOUND_LISTENER: &str = "virtualOutbound";
pub const VIRTUAL_OUTBOUND_PORT: u32 = 15001;
/// The listener iptables sends inbound traffic to.
pub const VIRTUAL_INBOUND_LISTENER: &str = "virtualInbound";
pub const VIRTUAL_INBOUND_PORT: u32 = 15006;
/// The source address inbound passthrough traffic uses, so iptables does not capture it again.
pub const INBOUND_PASSTHROUGH_BIND_IPV4: &str = "127.0.0.6";
/// The catch-all virtual hosts of a sidecar's outbound route configurations.
pub const ALLOW_ANY_VHOST: &str = "allow_any";
pub const BLOCK_ALL_VHOST: &str = "block_all";
/// The route name of routes built without a VirtualService.
pub const DEFAULT_ROUTE: &str = "default";
pub const WILDCARD_ADDRESS: &str = "0.0.0.0";
pub const LOCALHOST: &str = "127.0.0.1";

pub const HTTP_CONNECTION_MANAGER: &str = "envoy.filters.network.http_connection_manager";
pub const TCP_PROXY: &str = "envoy.filters.network.tcp_proxy";
pub const ROUTER_FILTER: &str = "envoy.filters.http.router";
pub const FAULT_FILTER: &str = "envoy.filters.http.fault";
pub const ORIGINAL_DST_FILTER: &str = "envoy.filters.listener.original_dst";
pub const TLS_INSPECTOR_FILTER: &str = "envoy.filters.listener.tls_inspector";
pub const TLS_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.tls";
pub const PREVIOUS_HOSTS_PREDICATE: &str = "envoy.retry_host_predicates.previous_hosts";
pub const PREVIOUS_PRIORITIES: &str = "envoy.retry_priorities.previous_priorities";
/// The `typed_extension_protocol_options` key for upstream HTTP options.
pub const HTTP_PROTOCOL_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/// Filter metadata namespace Istio writes its config references under.
pub const ISTIO_METADATA_KEY: &str = "istio";

/// Direction of a cluster (`model.TrafficDirection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// `BuildSubsetKey`: `outbound|9080|v1|reviews.default.svc.cluster.local`.
pub fn subset_key(direction: Direction, subset: &str, host: &str, port: u32) -> String {
    format!("{}|{port}|{subset}|{host}", direction.as_str())
}

pub fn outbound_cluster(port: u32, subset: Option<&str>, host: &str) -> String {
    subset_key(Direction::Outbound, subset.unwrap_or(""), host, port)
}

/// `BuildInboundSubsetKey`: `inbound|9080||`.
pub fn inbound_cluster(port: u32) -> String {
    subset_key(Direction::Inbound, "", "", port)
}

/// `ParseSubsetKey` for outbound keys: `(port, subset, host)`.
pub fn parse_outbound_cluster(name: &str) -> Option<(u32, &str, &str)> {
    let mut parts = name.splitn(4, '|');
    if parts.next()? != "outbound" {
        return None;
    }
    let port = parts.next()?.parse().ok()?;
    let subset = parts.next()?;
    let host = parts.next()?;
    Some((port, subset, host))
}

/// `<bind>_<port>`: `0.0.0.0_9080`.
pub fn listener_name(bind: &str, port: u32) -> String {
    format!("{bind}_{port}")
}

/// `DomainName`: `host:port`.
pub fn domain_name(host: &str, port: u32) -> String {
    format!("{host}:{port}")
}

/// `gatewayRDSRouteName` for plain HTTP servers: `http.<port>[.<bind>]`.
pub fn gateway_http_route(port: u32, bind: Option<&str>) -> String {
    match bind {
        Some(b) => format!("http.{port}.{b}"),
        None => format!("http.{port}"),
    }
}

/// `gatewayRDSRouteName` for HTTPS servers that terminate TLS:
/// `https.<port>.<port name>.<gateway>.<namespace>[.<bind>]`.
pub fn gateway_https_route(
    port: u32,
    port_name: &str,
    gateway: &str,
    namespace: &str,
    bind: Option<&str>,
) -> String {
    let base = format!("https.{port}.{port_name}.{gateway}.{namespace}");
    match bind {
        Some(b) => format!("{base}.{b}"),
        None => base,
    }
}

/// `AddConfigInfoMetadata`'s path: `/apis/<group>/<version>/namespaces/<ns>/<kebab-kind>/<name>`.
pub fn config_path(kind: ConfigKind, namespace: &str, name: &str) -> String {
    format!(
        "/apis/networking.istio.io/v1/namespaces/{namespace}/{}/{name}",
        kind.kebab()
    )
}

/// The kinds whose paths appear in metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    VirtualService,
    DestinationRule,
    Sidecar,
}

impl ConfigKind {
    fn kebab(self) -> &'static str {
        match self {
            ConfigKind::VirtualService => "virtual-service",
            ConfigKind::DestinationRule => "destination-rule",
            ConfigKind::Sidecar => "sidecar",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_names() {
        assert_eq!(
            outbound_cluster(9080, Some("v1"), "reviews.default.svc.cluster.local"),
            "outbound|9080|v1|reviews.default.svc.cluster.local"
        );
        assert_eq!(
            outbound_cluster(9080, None, "reviews.default.svc.cluster.local"),
            "outbound|9080||reviews.default.svc.cluster.local"
        );
        assert_eq!(inbound_cluster(9080), "inbound|9080||");
        assert_eq!(listener_name("0.0.0.0", 8080), "0.0.0.0_8080");
        assert_eq!(gateway_http_route(8080, None), "http.8080");
        assert_eq!(
            gateway_https_route(443, "https", "bookinfo-gateway", "default", None),
            "https.443.https.bookinfo-gateway.default"
        );
        assert_eq!(
            config_path(ConfigKind::DestinationRule, "default", "reviews"),
            "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews"
        );
    }

    #[test]
    fn outbound_keys_parse_back() {
        assert_eq!(
            parse_outbound_cluster("outbound|9080|v1|reviews.default.svc.cluster.local"),
            Some((9080, "v1", "reviews.default.svc.cluster.local"))
        );
        assert_eq!(parse_outbound_cluster("inbound|9080||"), None);
        assert_eq!(parse_outbound_cluster("BlackHoleCluster"), None);
    }
}
