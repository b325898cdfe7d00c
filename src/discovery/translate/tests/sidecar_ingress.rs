//! A Sidecar's `ingress` and egress `bind` on sidecars without traffic capture
//! (`INTERCEPTION_MODE: NONE`): bound inbound listeners in front of the application, outbound
//! listeners at the egress bind; captured sidecars keep `virtualInbound`.

use envoy_types::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType};
use envoy_types::pb::envoy::config::core::v3::{TrafficDirection, address, socket_address};
use envoy_types::pb::envoy::config::listener::v3::filter;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager,
};
use prost::Message;

use super::*;
use crate::discovery::translate::{Proxy, outbound_signature, translate_inbound};

const REGISTRY: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v1, namespace: default}
spec: {address: 127.0.0.2, labels: {app: reviews, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v2, namespace: default}
spec: {address: 127.0.0.4, labels: {app: reviews, version: v2}}
";

/// What `ferryctl workload run` writes for reviews-v1.
const SIDECAR: &str = "
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: reviews-v1, namespace: default}
spec:
  workloadSelector: {labels: {app: reviews, version: v1}}
  ingress:
  - port: {number: 9080, name: http, protocol: HTTP}
    bind: 127.0.0.2
    defaultEndpoint: 127.0.0.1:31000
  egress:
  - bind: 127.0.0.3
    hosts: ['./*', 'istio-system/*']
";

/// A namespace default Sidecar with ingress but no binds.
const DEFAULT_SIDECAR: &str = "
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  ingress:
  - port: {number: 9080, name: http, protocol: HTTP}
    defaultEndpoint: 127.0.0.1:31000
";

fn proxy(ip: &str, version: &str) -> Proxy {
    Proxy {
        ip: Some(ip.parse().expect("ip")),
        ..sidecar("default", &[("app", "reviews"), ("version", version)])
    }
}

fn no_capture() -> TranslateOptions {
    TranslateOptions {
        no_capture: true,
        ..Default::default()
    }
}

fn socket(a: Option<&envoy_types::pb::envoy::config::core::v3::Address>) -> (String, u32) {
    match a.and_then(|a| a.address.as_ref()) {
        Some(address::Address::SocketAddress(sa)) => (
            sa.address.clone(),
            match sa.port_specifier {
                Some(socket_address::PortSpecifier::PortValue(p)) => p,
                _ => 0,
            },
        ),
        other => panic!("not a socket address: {other:?}"),
    }
}

fn hcm(l: &Listener) -> HttpConnectionManager {
    let Some(filter::ConfigType::TypedConfig(any)) = &l.filter_chains[0].filters[0].config_type
    else {
        panic!("typed config");
    };
    HttpConnectionManager::decode(any.value.as_slice()).expect("decodes")
}

fn listener_names(cfg: &ProxyConfig) -> Vec<&str> {
    cfg.listeners.iter().map(|l| l.name.as_str()).collect()
}

#[test]
fn ingress_binds_a_listener_in_front_of_the_default_endpoint() {
    let push = push(&format!("{REGISTRY}{SIDECAR}"));
    let cfg = translate(&push, &proxy("127.0.0.2", "v1"), &no_capture());
    let l = listener(&cfg, "127.0.0.2_9080");
    assert_eq!(socket(l.address.as_ref()), ("127.0.0.2".into(), 9080));
    assert_eq!(l.traffic_direction, TrafficDirection::Inbound as i32);
    assert_eq!(l.bind_to_port, None, "bound");
    assert_eq!(
        route_vs_config(&Route {
            metadata: l.filter_chains[0].metadata.clone(),
            ..Default::default()
        }),
        Some("/apis/networking.istio.io/v1/namespaces/default/sidecar/reviews-v1")
    );
    let h = hcm(l);
    assert_eq!(h.stat_prefix, "inbound_127.0.0.2_9080");
    assert_eq!(h.server_name, "istio-envoy");
    let Some(http_connection_manager::RouteSpecifier::RouteConfig(rc)) = &h.route_specifier else {
        panic!("inline route: {:?}", h.route_specifier);
    };
    assert_eq!(rc.name, "inbound|9080||");
    let vh = vhost(rc, "inbound|http|9080");
    assert_eq!(
        destinations(&vh.routes[0]),
        vec![("inbound|9080||".into(), 100)]
    );

    let c = cluster(&cfg, "inbound|9080||");
    assert_eq!(
        c.cluster_discovery_type,
        Some(ClusterDiscoveryType::Type(DiscoveryType::Static as i32))
    );
    let cla = c.load_assignment.as_ref().expect("inline endpoints");
    assert_eq!(endpoint_addresses(cla), vec!["127.0.0.1:31000"]);

    // Istio builds no virtualInbound for a proxy without capture.
    assert!(!listener_names(&cfg).contains(&"virtualInbound"));
}

#[test]
fn egress_bind_places_the_outbound_listeners() {
    let push = push(&format!("{REGISTRY}{SIDECAR}"));
    let cfg = translate(&push, &proxy("127.0.0.2", "v1"), &no_capture());
    let l = listener(&cfg, "127.0.0.3_9080");
    assert_eq!(socket(l.address.as_ref()), ("127.0.0.3".into(), 9080));
    assert_eq!(l.bind_to_port, None, "bound");
    // The route keeps Istio's name, the port.
    assert!(matches!(
        &hcm(l).route_specifier,
        Some(http_connection_manager::RouteSpecifier::Rds(r)) if r.route_config_name == "9080"
    ));
    assert!(!listener_names(&cfg).contains(&"0.0.0.0_9080"));
}

#[test]
fn captured_sidecars_and_sidecars_without_ingress_are_unchanged() {
    let with = push(&format!("{REGISTRY}{SIDECAR}"));
    let without = push(REGISTRY);
    // Captured: the Sidecar's binds and ingress do not apply (yet), virtualInbound does.
    let cfg = translate(
        &with,
        &proxy("127.0.0.2", "v1"),
        &TranslateOptions::default(),
    );
    listener(&cfg, "0.0.0.0_9080");
    listener(&cfg, "virtualInbound");
    assert!(!listener_names(&cfg).contains(&"127.0.0.2_9080"));
    let cla = cluster(&cfg, "inbound|9080||")
        .load_assignment
        .as_ref()
        .expect("inline endpoints");
    assert_eq!(endpoint_addresses(cla), vec!["127.0.0.1:9080"]);
    // No capture but no ingress: as before.
    let cfg = translate(&without, &proxy("127.0.0.2", "v1"), &no_capture());
    let l = listener(&cfg, "0.0.0.0_9080");
    assert_eq!(l.bind_to_port, None);
    listener(&cfg, "virtualInbound");
    // Another workload's Sidecar does not apply to v2.
    let cfg = translate(&with, &proxy("127.0.0.4", "v2"), &no_capture());
    listener(&cfg, "0.0.0.0_9080");
    listener(&cfg, "virtualInbound");
}

#[test]
fn without_bind_ingress_binds_the_proxy_ip_when_global_else_the_wildcard() {
    let push = push(&format!("{REGISTRY}{DEFAULT_SIDECAR}"));
    let vm = translate(&push, &proxy("10.0.0.7", "v1"), &no_capture());
    listener(&vm, "10.0.0.7_9080");
    let local = translate(&push, &proxy("127.0.0.2", "v1"), &no_capture());
    listener(&local, "0.0.0.0_9080");
}

#[test]
fn shared_outbound_config_keeps_each_proxys_ingress() {
    let push = push(&format!("{REGISTRY}{DEFAULT_SIDECAR}"));
    let a = proxy("10.0.0.7", "v1");
    let b = proxy("10.0.0.8", "v1");
    assert_ne!(
        outbound_signature(&push, &a, &no_capture()),
        outbound_signature(&push, &b, &no_capture()),
        "their ingress listeners bind their own IPs"
    );
    let full = translate(&push, &b, &no_capture());
    let (clusters, listeners) = translate_inbound(&push, &b, &no_capture());
    let names: Vec<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["10.0.0.8_9080"]);
    assert_eq!(listeners[0], *listener(&full, "10.0.0.8_9080"));
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0], *cluster(&full, "inbound|9080||"));
}
