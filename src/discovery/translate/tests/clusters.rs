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
    assert!(
        cfg.notes.iter().any(|n| n.contains("tls mode SIMPLE")),
        "{:?}",
        cfg.notes
    );
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
