//! Encoding: every resource survives a prost round trip, and the same store always encodes to
//! the same bytes, in name order.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use prost::{Message, Name};

use super::scope::generated_mesh;
use super::*;
use crate::discovery::translate::encode::{EncodedResource, type_url};
use crate::discovery::translate::{EncodedConfig, PortMapping};

/// A mesh exercising most of the translation: subsets, splits, retries, ServiceEntries, a
/// gateway with HTTP and HTTPS servers, faults and header operations, and a mesh-wide
/// AuthorizationPolicy (its RBAC `policies` are a map).
fn rich_yaml() -> String {
    let gateway = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/seed/bookinfo-gateway.yaml"
    ))
    .expect("seed fixture");
    format!(
        "{}---\n{gateway}\n---\n{}",
        generated_mesh(3, 3, true),
        r#"apiVersion: v1
kind: Service
metadata: {name: productpage}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage}
spec:
  hosts: [productpage]
  http:
  - fault: {delay: {fixedDelay: 1s, percentage: {value: 5}}, abort: {httpStatus: 500, percentage: {value: 1}}}
    headers: {request: {set: {a: "1", b: "2", c: "3"}}, response: {add: {x: "1", y: "2"}}}
    mirror: {host: svc0.ns0.svc.cluster.local}
    route: [{destination: {host: productpage}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}, {number: 80, name: http, protocol: HTTP}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh, namespace: istio-system}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ['/admin/*'], ports: ['9080']}}]
  - from: [{source: {notNamespaces: [default]}}]
    to: [{operation: {methods: [DELETE]}}]
  - from: [{source: {ipBlocks: [203.0.113.0/24]}}]
    when: [{key: 'request.headers[x-block]', values: ['*']}]
"#
    )
}

fn proxies() -> Vec<(Proxy, TranslateOptions)> {
    vec![
        (
            sidecar("ns0", &[("app", "svc0"), ("version", "v1")]),
            TranslateOptions::default(),
        ),
        (
            sidecar("default", &[("app", "productpage")]),
            TranslateOptions::default(),
        ),
        (
            router("istio-system", &[("istio", "ingressgateway")]),
            TranslateOptions {
                gateway_ports: PortMapping::istio_ingress(),
                ..TranslateOptions::default()
            },
        ),
    ]
}

fn encode_all(yaml: &str) -> Vec<EncodedConfig> {
    // A fresh store and push context each time: nothing may depend on hash map state.
    let push = push(yaml);
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    proxies()
        .iter()
        .map(|(p, o)| translate(&push, p, o).encode().expect("encodes"))
        .collect()
}

#[test]
fn the_same_store_encodes_to_the_same_bytes() {
    let yaml = rich_yaml();
    let first = encode_all(&yaml);
    for _ in 0..3 {
        assert_eq!(encode_all(&yaml), first);
    }
    for cfg in &first {
        for list in [&cfg.listeners, &cfg.routes, &cfg.clusters, &cfg.endpoints] {
            let names: Vec<&str> = list.iter().map(|r| r.name.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(names, sorted, "sorted by name, no duplicates");
        }
    }
    assert!(first[2].listeners.len() >= 2, "the gateway has listeners");
}

fn round_trip<M: Message + Name + Default + PartialEq + std::fmt::Debug>(
    originals: &[M],
    encoded: &[EncodedResource],
    url: &str,
) {
    assert_eq!(originals.len(), encoded.len());
    assert_eq!(M::type_url(), url);
    for (m, e) in originals.iter().zip(encoded) {
        assert_eq!(e.resource.type_url, url);
        let decoded = M::decode(e.resource.value.as_slice()).expect("decodes");
        assert_eq!(&decoded, m, "{}", e.name);
    }
}

#[test]
fn every_resource_survives_a_prost_round_trip() {
    let push = push(&rich_yaml());
    for (proxy, opts) in proxies() {
        let cfg = translate(&push, &proxy, &opts);
        let encoded = cfg.encode().expect("encodes");
        round_trip::<Listener>(&cfg.listeners, &encoded.listeners, type_url::LISTENER);
        round_trip::<RouteConfiguration>(
            &cfg.routes,
            &encoded.routes,
            type_url::ROUTE_CONFIGURATION,
        );
        round_trip::<Cluster>(&cfg.clusters, &encoded.clusters, type_url::CLUSTER);
        round_trip::<ClusterLoadAssignment>(
            &cfg.endpoints,
            &encoded.endpoints,
            type_url::CLUSTER_LOAD_ASSIGNMENT,
        );
    }
}
