//! The seed's reviews example: jason sees v2, everyone else 90% v1 and 10% v3, with subsets v1
//! and v2 only (so the 10% to v3 has no cluster, the seed's real mistake).

use std::path::PathBuf;

use super::*;
use crate::config::source::{Input, LoadOptions, expand_inputs, load};
use crate::config::store::Store;
use envoy_types::pb::envoy::config::route::v3::{header_matcher, route_match};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher;

fn fixture_store(files: &[&str], extra_yaml: &str) -> Store {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let inputs: Vec<Input> = files.iter().map(|f| Input::Path(root.join(f))).collect();
    let inputs = expand_inputs(&inputs, &mut Vec::new());
    let opts = LoadOptions {
        default_namespace: Some("default".into()),
        ..LoadOptions::default()
    };
    let mut loaded = load(&inputs, &opts);
    // The seed defines the same DestinationRule in two files; the loader keeps the first.
    assert!(
        loaded
            .errors
            .iter()
            .all(|e| e.to_string().contains("is defined twice")),
        "{:?}",
        loaded.errors
    );
    let extra = crate::config::source::parse_file("extra.yaml", extra_yaml, &opts);
    assert!(extra.errors.is_empty(), "{:?}", extra.errors);
    loaded.resources.extend(extra.resources);
    Store::new(loaded.resources)
}

/// The seed has Deployments but neither the Service nor running Pods; a cluster would.
const REVIEWS_RUNTIME: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  clusterIP: 10.96.0.20
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-1, labels: {app: reviews, version: v1}}
spec: {containers: [{name: reviews}]}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-2, labels: {app: reviews, version: v1}}
spec: {containers: [{name: reviews}]}
status: {podIP: 10.0.1.2}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-1, labels: {app: reviews, version: v2}}
spec: {containers: [{name: reviews}]}
status: {podIP: 10.0.2.1}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v3-1, labels: {app: reviews, version: v3}}
spec: {containers: [{name: reviews}]}
status: {podIP: 10.0.3.1}
"#;

const HOST: &str = "reviews.default.svc.cluster.local";

fn seed() -> ProxyConfig {
    let store = fixture_store(
        &[
            "fixtures/seed/reviews-routing.yaml",
            "fixtures/seed/reviews-deployments-destinationrule.yaml",
        ],
        REVIEWS_RUNTIME,
    );
    let push = PushContext::new(&store, MeshOptions::default());
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    config_for(&push, &sidecar("default", &[("app", "productpage")]))
}

#[test]
fn seed_clusters_are_named_as_istio_names_them() {
    let cfg = seed();
    for name in [
        "outbound|9080||reviews.default.svc.cluster.local",
        "outbound|9080|v1|reviews.default.svc.cluster.local",
        "outbound|9080|v2|reviews.default.svc.cluster.local",
        "BlackHoleCluster",
        "PassthroughCluster",
    ] {
        cluster(&cfg, name);
    }
    // The DestinationRule has no v3 subset, so there is no v3 cluster to send the 10% to.
    assert!(!cluster_names(&cfg).contains(&"outbound|9080|v3|reviews.default.svc.cluster.local"));
}

#[test]
fn seed_clusters_carry_the_destination_rule_and_subset_metadata() {
    let cfg = seed();
    let dr = "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews";
    let v1 = cluster(&cfg, &format!("outbound|9080|v1|{HOST}"));
    assert_eq!(cluster_dr_config(v1), Some(dr));
    assert_eq!(
        cluster_istio_field(v1, "subset"),
        Some(value::Kind::StringValue("v1".into()))
    );
    assert_eq!(
        cluster_istio_field(v1, "default_original_port"),
        Some(value::Kind::NumberValue(9080.0))
    );
    let Some(value::Kind::ListValue(services)) = cluster_istio_field(v1, "services") else {
        panic!("services is a list");
    };
    let Some(value::Kind::StructValue(svc)) = &services.values[0].kind else {
        panic!("a service is a struct");
    };
    let field = |k: &str| match svc.fields.get(k).and_then(|v| v.kind.clone()) {
        Some(value::Kind::StringValue(s)) => s,
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(field("host"), HOST);
    assert_eq!(field("name"), "reviews");
    assert_eq!(field("namespace"), "default");
    let default = cluster(&cfg, &format!("outbound|9080||{HOST}"));
    assert_eq!(cluster_dr_config(default), Some(dr));
    assert_eq!(cluster_istio_field(default, "subset"), None);
}

#[test]
fn seed_subset_endpoints_are_filtered_by_version() {
    let cfg = seed();
    let addrs = |name: &str| endpoint_addresses(load_assignment(&cfg, name));
    assert_eq!(
        addrs(&format!("outbound|9080|v1|{HOST}")),
        vec!["10.0.1.1:9080", "10.0.1.2:9080"]
    );
    assert_eq!(
        addrs(&format!("outbound|9080|v2|{HOST}")),
        vec!["10.0.2.1:9080"]
    );
    assert_eq!(addrs(&format!("outbound|9080||{HOST}")).len(), 4);
}

#[test]
fn seed_routes_jason_to_v2_and_splits_the_rest_90_10() {
    let cfg = seed();
    let rc = route_config(&cfg, "9080");
    let vh = vhost(rc, &format!("{HOST}:9080"));
    for domain in [
        HOST,
        "reviews.default.svc.cluster.local:9080",
        "reviews",
        "reviews:9080",
        "reviews.default",
        "reviews.default.svc",
        "10.96.0.20",
        "10.96.0.20:9080",
    ] {
        assert!(
            vh.domains.iter().any(|d| d == domain),
            "{domain}: {:?}",
            vh.domains
        );
    }
    assert_eq!(vh.routes.len(), 2);
    let jason = &vh.routes[0];
    let m = jason.r#match.as_ref().expect("match");
    assert_eq!(m.headers.len(), 1);
    assert_eq!(m.headers[0].name, "end-user");
    assert!(matches!(
        &m.headers[0].header_match_specifier,
        Some(header_matcher::HeaderMatchSpecifier::StringMatch(sm))
            if sm.match_pattern == Some(string_matcher::MatchPattern::Exact("jason".into()))
    ));
    assert_eq!(
        m.path_specifier,
        Some(route_match::PathSpecifier::Prefix("/".into()))
    );
    assert_eq!(
        destinations(jason),
        vec![(format!("outbound|9080|v2|{HOST}"), 100)]
    );
    assert_eq!(
        destinations(&vh.routes[1]),
        vec![
            (format!("outbound|9080|v1|{HOST}"), 90),
            (format!("outbound|9080|v3|{HOST}"), 10)
        ]
    );
    let vs = "/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews";
    assert!(vh.routes.iter().all(|r| route_vs_config(r) == Some(vs)));
    // Unknown hosts pass through (ALLOW_ANY), after every service's virtual host.
    assert_eq!(
        rc.virtual_hosts.last().map(|v| v.name.as_str()),
        Some("allow_any")
    );
}

#[test]
fn seed_sample_namespace_with_its_sidecar() {
    let store = fixture_store(&["fixtures/samples"], "");
    let push = PushContext::new(&store, MeshOptions::default());
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    let cfg = config_for(&push, &sidecar("bookinfo", &[("app", "productpage")]));
    let host = "reviews.bookinfo.svc.cluster.local";
    cluster(&cfg, &format!("outbound|9080|v1|{host}"));
    cluster(&cfg, &format!("outbound|9080|v2|{host}"));
    let rc = route_config(&cfg, "9080");
    let vh = vhost(rc, &format!("{host}:9080"));
    assert_eq!(
        destinations(&vh.routes[1]),
        vec![
            (format!("outbound|9080|v1|{host}"), 90),
            (format!("outbound|9080|v3|{host}"), 10)
        ]
    );
    // The productpage port is named `web`: undeclared, served as HTTP and upstream protocol
    // follows the client's.
    let pp = cluster(
        &cfg,
        "outbound|9080||productpage.bookinfo.svc.cluster.local",
    );
    assert!(!pp.typed_extension_protocol_options.is_empty());
    vhost(rc, "productpage.bookinfo.svc.cluster.local:9080");
}
