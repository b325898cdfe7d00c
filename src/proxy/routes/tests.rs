//! Routing decisions over configurations Ferry's own translator produces from Istio YAML: the
//! same route configurations the proxy receives over xDS.

use std::collections::BTreeMap;

use http::HeaderMap;

use super::*;
use crate::discovery::mesh::MeshOptions;
use crate::discovery::push_context::PushContext;
use crate::discovery::testing::store;
use crate::discovery::translate::{Proxy, Role, TranslateOptions, translate};

const REGISTRY: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  workloadSelector:
    labels: {app: reviews}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8000, name: http, protocol: HTTP}
    hosts: [bookinfo.example.com, '*.wild.example.com']
";

/// The gateway's route table for `vs` (bound to gateway `gw`).
fn table(vs: &str) -> RouteTable {
    let push = PushContext::new(
        &store(&format!("{REGISTRY}---\n{vs}")),
        MeshOptions::default(),
    );
    let proxy = Proxy {
        role: Role::Router,
        namespace: "default".into(),
        labels: BTreeMap::from([("istio".into(), "ingressgateway".into())]),
        ip: None,
    };
    let cfg = translate(&push, &proxy, &TranslateOptions::default());
    assert_eq!(cfg.routes.len(), 1, "{:?}", cfg.notes);
    RouteTable::compile(&cfg.routes[0]).expect("translator output compiles")
}

struct Req<'a> {
    method: &'a str,
    host: &'a str,
    path: &'a str,
    headers: HeaderMap,
}

fn req<'a>(host: &'a str, path: &'a str) -> Req<'a> {
    Req {
        method: "GET",
        host,
        path,
        headers: HeaderMap::new(),
    }
}

impl<'a> Req<'a> {
    fn header(mut self, k: &'static str, v: &'static str) -> Req<'a> {
        self.headers.insert(k, v.parse().expect("header value"));
        self
    }
    fn method(mut self, m: &'a str) -> Req<'a> {
        self.method = m;
        self
    }
}

/// The route's name and its single destination cluster (or the action kind).
fn decide(t: &RouteTable, r: &Req<'_>) -> Option<String> {
    let view = RequestView {
        method: r.method,
        authority: r.host,
        scheme: "http",
        path_and_query: r.path,
        headers: &r.headers,
        forwarded: Default::default(),
    };
    let (_, route) = t.route(&view, 0)?;
    Some(match &route.action {
        Action::Forward(f) => match &f.clusters {
            Clusters::One(c) => c.clone(),
            Clusters::Weighted { clusters, .. } => clusters
                .iter()
                .map(|c| format!("{}={}", c.name, c.weight))
                .collect::<Vec<_>>()
                .join(","),
        },
        Action::Redirect(_) => "redirect".into(),
        Action::Direct { status, .. } => format!("direct {status}"),
    })
}

const V1: &str = "outbound|9080|v1|reviews.default.svc.cluster.local";
const V2: &str = "outbound|9080|v2|reviews.default.svc.cluster.local";
const V3: &str = "outbound|9080|v3|reviews.default.svc.cluster.local";

const SEED: &str = "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [bookinfo.example.com]
  gateways: [gw]
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination: {host: reviews, subset: v2}
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v3}
      weight: 10
";

#[test]
fn the_seed_rules_route_jason_to_v2_and_split_the_rest() {
    let t = table(SEED);
    let host = "bookinfo.example.com";
    assert_eq!(
        decide(&t, &req(host, "/").header("end-user", "jason")).as_deref(),
        Some(V2)
    );
    let split = format!("{V1}=90,{V3}=10");
    assert_eq!(decide(&t, &req(host, "/")).as_deref(), Some(split.as_str()));
    // Header values are case-sensitive, as Istio's exact match.
    assert_eq!(
        decide(&t, &req(host, "/").header("end-user", "Jason")).as_deref(),
        Some(split.as_str())
    );
}

#[test]
fn weighted_picks_follow_the_weights() {
    let t = table(SEED);
    let view = RequestView {
        method: "GET",
        authority: "bookinfo.example.com",
        scheme: "http",
        path_and_query: "/",
        headers: &HeaderMap::new(),
        forwarded: Default::default(),
    };
    let (_, route) = t.route(&view, 0).expect("a route");
    let Action::Forward(f) = &route.action else {
        panic!("a forward")
    };
    let v3 = (0..100u64).filter(|d| f.pick(*d).0 == V3).count();
    assert_eq!(v3, 10);
}

#[test]
fn hosts_match_with_any_port_and_wildcards() {
    let t = table(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: wild
spec:
  hosts: ['*.wild.example.com', bookinfo.example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
",
    );
    for host in [
        "bookinfo.example.com",
        "BookInfo.Example.com:8000",
        "a.wild.example.com",
        "a.wild.example.com:80",
    ] {
        assert_eq!(decide(&t, &req(host, "/")).as_deref(), Some(V1), "{host}");
    }
    assert_eq!(decide(&t, &req("wild.example.com", "/")), None);
    assert_eq!(decide(&t, &req("other.example.com", "/")), None);
}

#[test]
fn uri_method_query_and_regex_matches() {
    let t = table(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: m
spec:
  hosts: [bookinfo.example.com]
  gateways: [gw]
  http:
  - match:
    - uri: {exact: /exact}
    route:
    - destination: {host: reviews, subset: v1}
  - match:
    - uri: {regex: '/r/[0-9]+'}
      method: {exact: POST}
    route:
    - destination: {host: reviews, subset: v2}
  - match:
    - uri: {prefix: /p}
      queryParams:
        debug: {exact: 'true'}
    route:
    - destination: {host: reviews, subset: v3}
  - match:
    - uri: {prefix: /old}
    redirect:
      uri: /new
  - match:
    - uri: {prefix: /teapot}
    directResponse:
      status: 418
",
    );
    let h = "bookinfo.example.com";
    assert_eq!(decide(&t, &req(h, "/exact?x=1")).as_deref(), Some(V1));
    assert_eq!(decide(&t, &req(h, "/exact/more")), None);
    assert_eq!(
        decide(&t, &req(h, "/r/12").method("POST")).as_deref(),
        Some(V2)
    );
    assert_eq!(decide(&t, &req(h, "/r/12")), None);
    assert_eq!(decide(&t, &req(h, "/r/12x").method("POST")), None);
    assert_eq!(decide(&t, &req(h, "/p/a?debug=true")).as_deref(), Some(V3));
    assert_eq!(decide(&t, &req(h, "/p/a?debug=false")), None);
    assert_eq!(decide(&t, &req(h, "/old/x")).as_deref(), Some("redirect"));
    assert_eq!(
        decide(&t, &req(h, "/teapot")).as_deref(),
        Some("direct 418")
    );
}

/// A rewrite that leaves no path still sends an origin-form one: `/`, before any query.
#[test]
fn a_rewrite_to_nothing_sends_the_root_path() {
    let t = table(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: rw
spec:
  hosts: [bookinfo.example.com]
  gateways: [gw]
  http:
  - match:
    - uri: {prefix: /api}
    rewrite: {uriRegexRewrite: {match: "^/api(.*)$", rewrite: "\\1"}}
    route:
    - destination: {host: reviews}
"#,
    );
    let v = RequestView {
        method: "GET",
        authority: "bookinfo.example.com",
        scheme: "http",
        path_and_query: "/api",
        headers: &HeaderMap::new(),
        forwarded: Default::default(),
    };
    let (_, route) = t.route(&v, 0).expect("route");
    let Action::Forward(f) = &route.action else {
        panic!("forward")
    };
    assert_eq!(f.rewrite_path(route, "/api").as_deref(), Some("/"));
    assert_eq!(f.rewrite_path(route, "/api?b=1").as_deref(), Some("/?b=1"));
    assert_eq!(
        f.rewrite_path(route, "/api/x?b=1").as_deref(),
        Some("/x?b=1")
    );
}

#[test]
fn rewrites_redirects_and_faults_compile_as_istio_means_them() {
    let t = table(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: rw
spec:
  hosts: [bookinfo.example.com]
  gateways: [gw]
  http:
  - match:
    - uri: {prefix: /api/v1}
    rewrite:
      uri: /v1
      authority: internal.example.com
    timeout: 2s
    retries:
      attempts: 3
      perTryTimeout: 500ms
      retryOn: 5xx,connect-failure
    fault:
      abort:
        httpStatus: 503
        percentage: {value: 25}
    route:
    - destination: {host: reviews, subset: v1}
    mirror: {host: reviews, subset: v3}
    mirrorPercentage: {value: 50}
  - match:
    - uri: {prefix: /moved}
    redirect:
      uri: /here
      authority: new.example.com
      redirectCode: 302
",
    );
    let view = |path: &'static str| RequestView {
        method: "GET",
        authority: "bookinfo.example.com",
        scheme: "http",
        path_and_query: path,
        headers: Box::leak(Box::new(HeaderMap::new())),
        forwarded: Default::default(),
    };
    let v = view("/api/v1/items?page=2");
    let (_, route) = t.route(&v, 0).expect("route");
    let Action::Forward(f) = &route.action else {
        panic!("forward")
    };
    assert_eq!(
        f.rewrite_path(route, "/api/v1/items?page=2").as_deref(),
        Some("/v1/items?page=2")
    );
    assert_eq!(
        f.host_rewrite.as_ref().and_then(|h| h.to_str().ok()),
        Some("internal.example.com")
    );
    assert_eq!(f.timeout, Some(Duration::from_secs(2)));
    let retry = f.retry.as_ref().expect("retries");
    assert_eq!(retry.num_retries, 3);
    assert_eq!(retry.per_try_timeout, Some(Duration::from_millis(500)));
    assert!(retry.retries_status(503) && !retry.retries_status(404));
    assert!(retry.retries_failure(true));
    assert_eq!(f.mirrors.len(), 1);
    assert_eq!(f.mirrors[0].cluster, V3);
    let hits = (0..1_000_000u64)
        .step_by(997)
        .filter(|d| f.mirrors[0].fraction.hit(*d))
        .count();
    assert!((480..=525).contains(&hits), "{hits}");
    let fault = route.fault.as_ref().expect("fault");
    let (status, fraction) = fault.abort.expect("abort");
    assert_eq!(status, 503);
    assert_eq!(fraction.numerator * 100 / fraction.denominator, 25);

    let v = view("/moved/x?q=1");
    let (_, route) = t.route(&v, 0).expect("route");
    let Action::Redirect(r) = &route.action else {
        panic!("redirect")
    };
    assert_eq!(r.status, 302);
    assert_eq!(
        r.location(route, "http", "bookinfo.example.com:8000", "/moved/x?q=1"),
        "http://new.example.com/here?q=1"
    );
}

#[test]
fn header_operations_apply_in_order() {
    let ops = HeaderOps::compile(
        &[
            envoy_types::pb::envoy::config::core::v3::HeaderValueOption {
                header: Some(envoy_types::pb::envoy::config::core::v3::HeaderValue {
                    key: "x-set".into(),
                    value: "new".into(),
                    ..Default::default()
                }),
                append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
                ..Default::default()
            },
            envoy_types::pb::envoy::config::core::v3::HeaderValueOption {
                header: Some(envoy_types::pb::envoy::config::core::v3::HeaderValue {
                    key: "x-add".into(),
                    value: "two".into(),
                    ..Default::default()
                }),
                append_action: HeaderAppendAction::AppendIfExistsOrAdd as i32,
                ..Default::default()
            },
        ],
        &["x-drop".to_string()],
    )
    .expect("valid ops");
    let mut h = HeaderMap::new();
    h.insert("x-set", "old".parse().expect("v"));
    h.insert("x-add", "one".parse().expect("v"));
    h.insert("x-drop", "gone".parse().expect("v"));
    ops.apply(&mut h);
    assert_eq!(h.get("x-set").map(|v| v.as_bytes()), Some(&b"new"[..]));
    assert_eq!(h.get_all("x-add").iter().count(), 2);
    assert!(!h.contains_key("x-drop"));
}

#[test]
fn invalid_routes_are_rejected_with_their_names() {
    use envoy_types::pb::envoy::config::route::v3::{RouteMatch, VirtualHost as Vh, route_match};
    use envoy_types::pb::envoy::r#type::matcher::v3::RegexMatcher;
    let rc = RouteConfiguration {
        name: "http.8000".into(),
        virtual_hosts: vec![Vh {
            name: "bad".into(),
            domains: vec!["*".into()],
            routes: vec![RouteProto {
                name: "r1".into(),
                r#match: Some(RouteMatch {
                    path_specifier: Some(route_match::PathSpecifier::SafeRegex(RegexMatcher {
                        regex: "(".into(),
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let err = RouteTable::compile(&rc)
        .expect_err("a bad regex")
        .to_string();
    assert!(
        err.contains("http.8000") && err.contains("bad") && err.contains("r1"),
        "{err}"
    );
}
