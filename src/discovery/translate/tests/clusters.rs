//! Clusters: types, DestinationRule policies, protocols, inbound clusters and metadata.

use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, LbConfig, LbPolicy,
};
use envoy_types::pb::envoy::config::route::v3::route_action::hash_policy;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};
use prost::Message;

use super::*;

fn discovery(c: &Cluster) -> Option<DiscoveryType> {
    match c.cluster_discovery_type {
        Some(ClusterDiscoveryType::Type(t)) => DiscoveryType::try_from(t).ok(),
        _ => None,
    }
}

const CATALOG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: shop}
spec:
  selector: {app: catalog}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: grpc, port: 9090}]
---
apiVersion: v1
kind: Pod
metadata: {name: catalog-1, namespace: shop, labels: {app: catalog, version: v1}}
spec: {containers: [{name: c}]}
status: {podIP: 10.1.0.1}
"#;

const HOST: &str = "catalog.shop.svc.cluster.local";

#[test]
fn eds_clusters_default_to_least_request_and_ten_second_connects() {
    let cfg = config_for(&push(CATALOG), &sidecar("shop", &[]));
    let c = cluster(&cfg, &format!("outbound|80||{HOST}"));
    assert_eq!(discovery(c), Some(DiscoveryType::Eds));
    assert_eq!(
        c.eds_cluster_config
            .as_ref()
            .map(|e| e.service_name.as_str()),
        Some(c.name.as_str())
    );
    assert_eq!(c.connect_timeout.as_ref().map(|d| d.seconds), Some(10));
    assert_eq!(c.lb_policy, LbPolicy::LeastRequest as i32);
    assert_eq!(
        cluster_dr_config(c),
        None,
        "no DestinationRule, no config path"
    );
    let thresholds = &c.circuit_breakers.as_ref().expect("breakers").thresholds[0];
    assert_eq!(
        thresholds.max_connections.as_ref().map(|v| v.value),
        Some(u32::MAX)
    );
    assert_eq!(
        endpoint_addresses(load_assignment(&cfg, &c.name)),
        vec!["10.1.0.1:8080"]
    );
}

#[test]
fn http2_ports_get_http2_upstreams_and_http_ports_do_not() {
    let cfg = config_for(&push(CATALOG), &sidecar("shop", &[]));
    let grpc = cluster(&cfg, &format!("outbound|9090||{HOST}"));
    let any = grpc
        .typed_extension_protocol_options
        .get("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
        .expect("protocol options");
    let options = HttpProtocolOptions::decode(any.value.as_slice()).expect("decodes");
    assert!(matches!(
        options.upstream_protocol_options,
        Some(http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(_))
    ));
    let http = cluster(&cfg, &format!("outbound|80||{HOST}"));
    assert!(http.typed_extension_protocol_options.is_empty());
}

#[test]
fn destination_rule_policies_shape_the_clusters() {
    let yaml = format!(
        "{CATALOG}---\n{}",
        r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: catalog, namespace: shop}
spec:
  host: catalog
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {connectTimeout: 2s, maxConnections: 7}}
    outlierDetection: {consecutive5xxErrors: 5, interval: 5s, baseEjectionTime: 1m}
  subsets:
  - name: sticky
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: session, ttl: 60s}}}}
"#
    );
    let cfg = config_for(&push(&yaml), &sidecar("shop", &[]));
    let main = cluster(&cfg, &format!("outbound|80||{HOST}"));
    assert_eq!(main.lb_policy, LbPolicy::RoundRobin as i32);
    assert_eq!(main.connect_timeout.as_ref().map(|d| d.seconds), Some(2));
    let t = &main.circuit_breakers.as_ref().expect("breakers").thresholds[0];
    assert_eq!(t.max_connections.as_ref().map(|v| v.value), Some(7));
    let od = main.outlier_detection.as_ref().expect("outlier detection");
    assert_eq!(od.consecutive_5xx.as_ref().map(|v| v.value), Some(5));
    assert_eq!(od.base_ejection_time.as_ref().map(|d| d.seconds), Some(60));
    let sticky = cluster(&cfg, &format!("outbound|80|sticky|{HOST}"));
    assert_eq!(sticky.lb_policy, LbPolicy::RingHash as i32);
    assert!(matches!(
        sticky.lb_config,
        Some(LbConfig::RingHashLbConfig(_))
    ));
    // The subset keeps the rule's connection pool.
    assert_eq!(sticky.connect_timeout.as_ref().map(|d| d.seconds), Some(2));
    assert_eq!(
        cluster_dr_config(sticky),
        Some("/apis/networking.istio.io/v1/namespaces/shop/destination-rule/catalog")
    );
}

/// Istio's precedence (`MergeTrafficPolicy`): the rule's policy, its `portLevelSettings` for
/// the port, the subset's policy, then the subset's `portLevelSettings`, each section (load
/// balancer, connection pool, outlier detection) replaced whole.
#[test]
fn subset_and_port_level_policies_override_the_rule_section_by_section() {
    let yaml = format!(
        "{CATALOG}---\n{}",
        r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: catalog, namespace: shop}
spec:
  host: catalog
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    connectionPool:
      tcp: {maxConnections: 100}
      http: {http1MaxPendingRequests: 10, maxRequestsPerConnection: 5, idleTimeout: 30s}
    outlierDetection: {consecutive5xxErrors: 7, maxEjectionPercent: 40, minHealthPercent: 20}
    portLevelSettings:
    - port: {number: 9090}
      loadBalancer: {simple: ROUND_ROBIN}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 3}}
      portLevelSettings:
      - port: {number: 9090}
        loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 1021}}}
        outlierDetection: {consecutiveGatewayErrors: 2, baseEjectionTime: 5s}
"#
    );
    let cfg = config_for(&push(&yaml), &sidecar("shop", &[]));
    let get = |name: String| cluster(&cfg, &name).clone();
    let max_connections = |c: &Cluster| {
        c.circuit_breakers.as_ref().expect("breakers").thresholds[0]
            .max_connections
            .as_ref()
            .map(|v| v.value)
    };
    let common = |c: &Cluster| {
        c.typed_extension_protocol_options
            .get("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
            .map(|any| HttpProtocolOptions::decode(any.value.as_slice()).expect("protocol options"))
            .and_then(|o| o.common_http_protocol_options)
    };

    // The rule alone on port 80.
    let rule_80 = get(format!("outbound|80||{HOST}"));
    assert_eq!(rule_80.lb_policy, LbPolicy::Random as i32);
    assert_eq!(max_connections(&rule_80), Some(100));
    let options = common(&rule_80).expect("common HTTP options");
    assert_eq!(
        options.max_requests_per_connection.map(|v| v.value),
        Some(5)
    );
    assert_eq!(options.idle_timeout.map(|d| d.seconds), Some(30));
    let od = rule_80
        .outlier_detection
        .as_ref()
        .expect("outlier detection");
    assert_eq!(od.consecutive_5xx.as_ref().map(|v| v.value), Some(7));
    assert_eq!(od.max_ejection_percent.as_ref().map(|v| v.value), Some(40));
    let panic = rule_80
        .common_lb_config
        .as_ref()
        .and_then(|l| l.healthy_panic_threshold.as_ref())
        .map(|p| p.value);
    assert_eq!(panic, Some(20.0));
    // The rule's port-level load balancer on 9090, the rest from the rule.
    let rule_9090 = get(format!("outbound|9090||{HOST}"));
    assert_eq!(rule_9090.lb_policy, LbPolicy::RoundRobin as i32);
    assert_eq!(max_connections(&rule_9090), Some(100));

    // The subset replaces the whole connection pool (the rule's HTTP settings are gone) and
    // keeps the rule's load balancer and outlier detection on port 80.
    let v1_80 = get(format!("outbound|80|v1|{HOST}"));
    assert_eq!(v1_80.lb_policy, LbPolicy::Random as i32);
    assert_eq!(max_connections(&v1_80), Some(3));
    assert!(common(&v1_80).is_none());
    let pending = v1_80
        .circuit_breakers
        .as_ref()
        .expect("breakers")
        .thresholds[0]
        .max_pending_requests
        .as_ref()
        .map(|v| v.value);
    assert_eq!(pending, Some(u32::MAX));
    assert_eq!(
        v1_80
            .outlier_detection
            .as_ref()
            .and_then(|o| o.consecutive_5xx.as_ref())
            .map(|v| v.value),
        Some(7)
    );
    // On 9090 the subset's port-level settings win over everything.
    let v1_9090 = get(format!("outbound|9090|v1|{HOST}"));
    assert_eq!(v1_9090.lb_policy, LbPolicy::Maglev as i32);
    assert!(matches!(
        &v1_9090.lb_config,
        Some(LbConfig::MaglevLbConfig(m)) if m.table_size.as_ref().map(|v| v.value) == Some(1021)
    ));
    assert_eq!(max_connections(&v1_9090), Some(3));
    let od = v1_9090
        .outlier_detection
        .as_ref()
        .expect("outlier detection");
    assert_eq!(
        od.consecutive_gateway_failure.as_ref().map(|v| v.value),
        Some(2)
    );
    assert_eq!(
        od.consecutive_5xx, None,
        "the rule's section is replaced, not merged"
    );
    assert_eq!(od.base_ejection_time.as_ref().map(|d| d.seconds), Some(5));
}

#[test]
fn consistent_hashing_puts_a_hash_policy_on_the_default_route() {
    let yaml = format!(
        "{CATALOG}---\n{}",
        r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: catalog, namespace: shop}
spec:
  host: catalog
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
"#
    );
    let cfg = config_for(&push(&yaml), &sidecar("shop", &[]));
    let r = &vhost(route_config(&cfg, "80"), &format!("{HOST}:80")).routes[0];
    let a = action(r);
    assert!(matches!(
        &a.hash_policy[0].policy_specifier,
        Some(hash_policy::PolicySpecifier::Header(h)) if h.header_name == "x-user"
    ));
    // Retries must not move a hashed request to another host.
    assert!(
        a.retry_policy
            .as_ref()
            .is_some_and(|r| r.retry_host_predicate.is_empty())
    );
    let plain = config_for(&push(CATALOG), &sidecar("shop", &[]));
    let r = &vhost(route_config(&plain, "80"), &format!("{HOST}:80")).routes[0];
    assert!(action(r).hash_policy.is_empty());
}

#[test]
fn service_entry_resolutions_choose_the_cluster_type() {
    let yaml = r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: shop}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: anything, namespace: shop}
spec:
  hosts: ["*.wild.example"]
  resolution: NONE
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: external, namespace: shop}
spec:
  host: api.example.com
  trafficPolicy: {tls: {mode: SIMPLE}}
"#;
    let push = push(yaml);
    let cfg = config_for(&push, &sidecar("shop", &[]));
    let dns = cluster(&cfg, "outbound|443||api.example.com");
    assert_eq!(discovery(dns), Some(DiscoveryType::StrictDns));
    let inline = dns.load_assignment.as_ref().expect("inline endpoints");
    assert_eq!(endpoint_addresses(inline), vec!["api.example.com:443"]);
    assert_eq!(
        cluster_istio_field(dns, "external"),
        Some(value::Kind::BoolValue(true))
    );
    assert!(
        !cfg.endpoints.iter().any(|e| e.cluster_name == dns.name),
        "no EDS for DNS"
    );
    let any = cluster(&cfg, "outbound|80||*.wild.example");
    assert_eq!(discovery(any), Some(DiscoveryType::OriginalDst));
    assert_eq!(any.lb_policy, LbPolicy::ClusterProvided as i32);
    // The rule's SIMPLE TLS is originated, verified against the system's roots for the host.
    let tls = super::mtls::upstream(dns.transport_socket.as_ref().expect("TLS origination"));
    assert_eq!(tls.sni, "api.example.com");
    assert_eq!(super::mtls::sans(&tls).1, "file-root:system");
    // Gateways cannot pass through: the same entry is EDS for them.
    let gw = config_for(&push, &router("shop", &[]));
    assert_eq!(
        discovery(cluster(&gw, "outbound|80||*.wild.example")),
        Some(DiscoveryType::Eds)
    );
}

#[test]
fn sidecars_get_inbound_clusters_for_their_own_ports() {
    let cfg = config_for(&push(CATALOG), &sidecar("shop", &[("app", "catalog")]));
    // Named by the application's (target) port, pointing at localhost.
    let inbound = cluster(&cfg, "inbound|8080||");
    assert_eq!(discovery(inbound), Some(DiscoveryType::Static));
    let la = inbound.load_assignment.as_ref().expect("static endpoints");
    assert_eq!(endpoint_addresses(la), vec!["127.0.0.1:8080"]);
    let Some(value::Kind::ListValue(services)) = cluster_istio_field(inbound, "services") else {
        panic!("services");
    };
    assert_eq!(services.values.len(), 1);
    cluster(&cfg, "inbound|9090||");
    cluster(&cfg, "InboundPassthroughCluster");
    // A proxy the service does not select has none.
    let other = config_for(&push(CATALOG), &sidecar("shop", &[("app", "web")]));
    assert!(
        !cluster_names(&other)
            .iter()
            .any(|n| n.starts_with("inbound|"))
    );
    // Gateways have no inbound clusters and no passthrough.
    let gw = config_for(&push(CATALOG), &router("shop", &[("app", "catalog")]));
    assert!(!cluster_names(&gw).iter().any(|n| n.starts_with("inbound|")));
    assert!(!cluster_names(&gw).contains(&"PassthroughCluster"));
    assert!(cluster_names(&gw).contains(&"BlackHoleCluster"));
}

#[test]
fn a_proxy_ip_finds_its_services_without_labels() {
    let proxy = Proxy {
        ip: "10.1.0.1".parse().ok(),
        ..sidecar("shop", &[])
    };
    let cfg = config_for(&push(CATALOG), &proxy);
    cluster(&cfg, "inbound|8080||");
}
