//! Real Envoy dumps (`fixtures/envoy/`, from istioctl's test data) and Ferry's own translator
//! output through the printer.

use std::time::{Duration, Instant, UNIX_EPOCH};

use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use envoy_types::pb::envoy::config::core::v3::Node;
use serde_json::Value as Json;

use super::*;
use crate::discovery::mesh::MeshOptions;
use crate::discovery::push_context::PushContext;
use crate::discovery::testing::store;
use crate::discovery::translate::{Proxy, Role, TranslateOptions, translate};

const FULL: &str = include_str!("../../../fixtures/envoy/config-dump-full.json");
const CLR: &str =
    include_str!("../../../fixtures/envoy/config-dump-clusters-listeners-routes.json");

/// Reads Envoy's JSON into the typed dump, through the pool.
fn parse(json: &str) -> ConfigDump {
    let descriptor = descriptor_pool()
        .get_message_by_name("envoy.admin.v3.ConfigDump")
        .expect("ConfigDump in the pool");
    let mut de = serde_json::Deserializer::from_str(json);
    let message = DynamicMessage::deserialize(descriptor, &mut de).expect("Envoy's dump parses");
    ConfigDump::decode(message.encode_to_vec().as_slice()).expect("typed ConfigDump")
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).expect("valid JSON")
}

fn query(q: &str) -> DumpQuery {
    DumpQuery::from_query(q).expect("query parses")
}

fn types(out: &Json) -> Vec<String> {
    out["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .map(|c| {
            c["@type"]
                .as_str()
                .expect("@type")
                .trim_start_matches("type.googleapis.com/")
                .to_string()
        })
        .collect()
}

#[test]
fn real_envoy_dumps_print_back_the_same() {
    for fixture in [FULL, CLR] {
        let dump = parse(fixture);
        let out = to_json(&dump, &query("include_eds")).expect("prints");
        assert!(out.ends_with("}\n") && !out.ends_with("\n\n"));
        assert_eq!(json(&out), json(fixture));
    }
}

#[test]
fn endpoints_only_with_include_eds() {
    let dump = parse(FULL);
    let all = types(&json(&to_json(&dump, &query("")).expect("prints")));
    assert_eq!(
        all,
        [
            "envoy.admin.v3.BootstrapConfigDump",
            "envoy.admin.v3.ClustersConfigDump",
            "envoy.admin.v3.ListenersConfigDump",
            "envoy.admin.v3.ScopedRoutesConfigDump",
            "envoy.admin.v3.RoutesConfigDump",
            "envoy.admin.v3.SecretsConfigDump",
        ]
    );
    let eds = types(&json(
        &to_json(&dump, &query("include_eds=true")).expect("prints"),
    ));
    assert_eq!(eds[2], "envoy.admin.v3.EndpointsConfigDump");
    assert_eq!(eds.len(), 7);
}

#[test]
fn mask_trims_each_section() {
    let dump = parse(CLR);
    let out = json(
        &to_json(
            &dump,
            &query("mask=dynamic_active_clusters,dynamic_warming_clusters,static_clusters"),
        )
        .expect("prints"),
    );
    let configs = out["configs"].as_array().expect("configs");
    // Every section stays, as in Envoy; only the clusters section keeps anything.
    assert_eq!(configs.len(), 3);
    let clusters = &configs[0];
    assert!(clusters.get("version_info").is_none());
    assert!(clusters["dynamic_active_clusters"].as_array().is_some());
    assert_eq!(
        configs[1].as_object().map(|o| o.len()),
        Some(1),
        "{}",
        configs[1]
    );
    assert_eq!(
        configs[2].as_object().map(|o| o.len()),
        Some(1),
        "{}",
        configs[2]
    );
}

#[test]
fn resource_prints_each_element_and_masks_into_the_any() {
    let dump = parse(CLR);
    let out = json(
        &to_json(
            &dump,
            &query("resource=dynamic_active_clusters&mask=cluster.name,last_updated"),
        )
        .expect("prints"),
    );
    let configs = out["configs"].as_array().expect("configs");
    assert!(!configs.is_empty());
    for c in configs {
        assert_eq!(
            c["@type"],
            "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster"
        );
        let keys: Vec<&str> = c
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["@type", "cluster", "last_updated"]);
        let cluster: Vec<&str> = c["cluster"]
            .as_object()
            .expect("cluster")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(cluster, ["@type", "name"]);
    }

    assert_eq!(
        to_json(&dump, &query("resource=version_info")),
        Err(DumpError::NotRepeated("version_info".into()))
    );
    let missing = to_json(&dump, &query("resource=dynamic_active_secrets")).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "dynamic_active_secrets not found in config dump"
    );
    assert_eq!(missing.http_status(), 404);
}

#[test]
fn name_regex_keeps_matching_resources() {
    let dump = parse(CLR);
    let out = json(
        &to_json(
            &dump,
            &query("resource=dynamic_active_clusters&name_regex=inbound-vip%5C%7C9080%5C%7C.*"),
        )
        .expect("prints"),
    );
    let names: Vec<&str> = out["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .map(|c| c["cluster"]["name"].as_str().expect("name"))
        .collect();
    assert!(!names.is_empty());
    assert!(
        names.iter().all(|n| n.starts_with("inbound-vip|9080|")),
        "{names:?}"
    );
    let err = DumpQuery::from_query("name_regex=(").unwrap_err();
    assert_eq!(err.http_status(), 400);
}

#[test]
fn query_strings() {
    assert_eq!(
        query("resource=dynamic_listeners&mask=a.b%2Cc&include_eds&other=1&resource=x"),
        DumpQuery {
            resource: Some("dynamic_listeners".into()),
            mask: Some("a.b,c".into()),
            include_eds: true,
            name_regex: None,
        }
    );
    assert_eq!(query(""), DumpQuery::default());
    assert_eq!(percent_decode("a%7cb+c%zz%4"), "a|b c%zz%4");
}

#[test]
fn doubles_print_as_envoy_prints_them() {
    let print = |v: f64| {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, EnvoyFormatter::new());
        serde::Serialize::serialize(&v, &mut ser).expect("serializes");
        String::from_utf8(out).expect("utf8")
    };
    assert_eq!(print(100.0), "100");
    assert_eq!(print(0.0), "0");
    assert_eq!(print(-3.0), "-3");
    assert_eq!(print(50.5), "50.5");
    assert_eq!(print(0.1), "0.1");
    assert_eq!(print(1e300), "1e+300");
}

const MESH: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  clusterIP: 10.96.0.20
  selector: {app: reviews}
  ports: [{name: http, port: 9080}, {name: tcp-db, port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-1, labels: {app: reviews, version: v1}}
spec: {containers: [{name: reviews}]}
status: {podIP: 10.0.1.1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    connectionPool: {http: {http2MaxRequests: 100, idleTimeout: 30s}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s}
    tls: {mode: SIMPLE, sni: reviews.example.com}
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - fault: {delay: {fixedDelay: 250ms, percentage: {value: 5}}, abort: {httpStatus: 500, percentage: {value: 1.5}}}
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure"}
    timeout: 10s
    route: [{destination: {host: reviews, subset: v1}, weight: 100}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: edge-cert}
  - port: {number: 9443, name: tls, protocol: TLS}
    hosts: ["*"]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge}
spec:
  hosts: ["*"]
  gateways: [edge]
  http:
  - route: [{destination: {host: reviews, port: {number: 9080}}}]
  tls:
  - match: [{port: 9443, sniHosts: [reviews.example.com]}]
    route: [{destination: {host: reviews, port: {number: 5432}}}]
"#;

fn versioned<T: Clone>(items: &[T]) -> Vec<Versioned<T>> {
    items
        .iter()
        .map(|r| Versioned {
            version_info: "2026-11-26T00:00:00Z/1".into(),
            last_updated: UNIX_EPOCH + Duration::from_millis(1_700_000_000_500),
            resource: r.clone(),
        })
        .collect()
}

#[test]
fn ferry_translator_output_prints_without_unknown_types() {
    let push = PushContext::new(&store(MESH), MeshOptions::default());
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    let sidecar = Proxy {
        role: Role::Sidecar,
        namespace: "default".into(),
        labels: [("app".to_string(), "ratings".to_string())].into(),
        ip: "10.0.2.1".parse().ok(),
    };
    let gateway = Proxy {
        role: Role::Router,
        namespace: "default".into(),
        labels: [("istio".to_string(), "ingressgateway".to_string())].into(),
        ip: "10.0.3.1".parse().ok(),
    };
    let bootstrap = Bootstrap {
        node: Some(Node {
            id: "sidecar~10.0.2.1~ratings-1.default~default.svc.cluster.local".into(),
            cluster: "ratings.default".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    for proxy in [sidecar, gateway] {
        let config = translate(&push, &proxy, &TranslateOptions::default());
        let (listeners, routes, clusters, endpoints) = (
            versioned(&config.listeners),
            versioned(&config.routes),
            versioned(&config.clusters),
            versioned(&config.endpoints),
        );
        let dump = build_config_dump(&DumpSource {
            bootstrap: Some((&bootstrap, UNIX_EPOCH)),
            listeners: &listeners,
            routes: &routes,
            clusters: &clusters,
            endpoints: &endpoints,
            secrets: &[],
        });
        let out = to_json(&dump, &query("include_eds")).unwrap_or_else(|e| panic!("{e}"));
        let out = json(&out);
        assert_eq!(
            types(&out),
            [
                "envoy.admin.v3.BootstrapConfigDump",
                "envoy.admin.v3.ClustersConfigDump",
                "envoy.admin.v3.EndpointsConfigDump",
                "envoy.admin.v3.ListenersConfigDump",
                "envoy.admin.v3.ScopedRoutesConfigDump",
                "envoy.admin.v3.RoutesConfigDump",
                "envoy.admin.v3.SecretsConfigDump",
            ]
        );
        assert_eq!(
            out["configs"][0]["bootstrap"]["node"]["cluster"],
            "ratings.default"
        );
        let cluster = &out["configs"][1]["dynamic_active_clusters"][0];
        assert_eq!(cluster["version_info"], "2026-11-26T00:00:00Z/1");
        assert_eq!(cluster["last_updated"], "2023-11-14T22:13:20.500Z");
        let listener = &out["configs"][3]["dynamic_listeners"][0];
        assert!(listener["active_state"]["listener"]["@type"].is_string());
    }
}

#[test]
fn pool_decode_and_dump_times() {
    let start = Instant::now();
    let pool = DescriptorPool::decode(DESCRIPTORS).expect("pool");
    let decode = start.elapsed();
    let dump = parse(FULL);
    let start = Instant::now();
    let out = to_json(&dump, &query("include_eds")).expect("prints");
    let print = start.elapsed();
    eprintln!(
        "pool: {} messages, {} bytes, decoded in {decode:?}; full fixture ({} bytes of JSON) printed in {print:?}",
        pool.all_messages().count(),
        DESCRIPTORS.len(),
        out.len()
    );
}
