//! AuthorizationPolicies from YAML to RBAC filters, and those filters compiled by the proxy and
//! judged against requests: Istio's scoping, evaluation order and value matching rules.

use std::net::SocketAddr;

use envoy_types::pb::envoy::config::listener::v3::filter;
use envoy_types::pb::envoy::config::rbac::v3::rbac;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, http_filter,
};
use http::HeaderMap;
use prost::Message;

use super::*;
use crate::discovery::translate::Notes;
use crate::discovery::translate::authz::{RBAC_FILTER, applicable, http_filters};
use crate::proxy::rbac::{Decision, Engine, Subject};
use crate::proxy::routes::RequestView;
use crate::proxy::stats::HttpStats;

/// The seed's policy (`/work/shared/seeds`), as written: `default` namespace.
const HTTPBIN_VIEWER: &str = "
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: httpbin-viewer
  namespace: default
spec:
  selector:
    matchLabels:
      app: httpbin
  action: ALLOW
  rules:
  - from:
    - source:
        principals: [\"cluster.local/ns/default/sa/sleep\"]
    to:
    - operation:
        methods: [\"GET\"]
        paths: [\"/status/*\"]
";

const SLEEP: &str = "spiffe://cluster.local/ns/default/sa/sleep";

fn httpbin() -> Proxy {
    sidecar("default", &[("app", "httpbin")])
}

fn filters(yaml: &str, proxy: &Proxy) -> Vec<HttpFilter> {
    http_filters(&push(yaml), proxy, &mut Notes::default())
}

fn engine(yaml: &str, proxy: &Proxy) -> Option<Engine> {
    let hcm = HttpConnectionManager {
        http_filters: filters(yaml, proxy),
        ..Default::default()
    };
    Engine::compile(&hcm).expect("the proxy compiles what the control plane sends")
}

fn rbac_of(f: &HttpFilter) -> Rbac {
    let Some(http_filter::ConfigType::TypedConfig(any)) = &f.config_type else {
        panic!("no typed config");
    };
    Rbac::decode(any.value.as_slice()).expect("an RBAC config")
}

/// The filter's config as `/config_dump` prints it (proto field names).
fn dump_json(f: &HttpFilter) -> serde_json::Value {
    let Some(http_filter::ConfigType::TypedConfig(any)) = &f.config_type else {
        panic!("no typed config");
    };
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    assert_eq!(name, "envoy.extensions.filters.http.rbac.v3.RBAC");
    let descriptor = crate::xds::dump::descriptor_pool()
        .get_message_by_name(name)
        .expect("the dump pool knows RBAC");
    let message =
        prost_reflect::DynamicMessage::decode(descriptor, any.value.as_slice()).expect("decodes");
    message
        .serialize_with_options(
            serde_json::value::Serializer,
            &prost_reflect::SerializeOptions::new().use_proto_field_name(true),
        )
        .expect("serializes")
}

/// One request to judge.
struct Req<'a> {
    method: &'a str,
    path: &'a str,
    authority: &'a str,
    headers: HeaderMap,
    peer: &'a str,
    local: &'a str,
    principal: Option<&'a str>,
}

impl<'a> Req<'a> {
    fn get(path: &'a str) -> Req<'a> {
        Req {
            method: "GET",
            path,
            authority: "httpbin:8000",
            headers: HeaderMap::new(),
            peer: "10.0.0.9:40000",
            local: "10.0.0.2:8000",
            principal: None,
        }
    }
    fn method(mut self, m: &'a str) -> Self {
        self.method = m;
        self
    }
    fn from(mut self, principal: &'a str) -> Self {
        self.principal = Some(principal);
        self
    }
    fn peer(mut self, peer: &'a str) -> Self {
        self.peer = peer;
        self
    }
    fn header(mut self, k: &'static str, v: &'static str) -> Self {
        self.headers.append(k, http::HeaderValue::from_static(v));
        self
    }
    fn authority(mut self, a: &'a str) -> Self {
        self.authority = a;
        self
    }
}

fn judge(engine: &Engine, r: &Req<'_>) -> Decision {
    let view = RequestView {
        method: r.method,
        authority: r.authority,
        scheme: "http",
        path_and_query: r.path,
        headers: &r.headers,
        forwarded: Default::default(),
    };
    let peer: SocketAddr = r.peer.parse().expect("peer");
    let subject = Subject {
        request: &view,
        peer,
        local: r.local.parse().expect("local"),
        remote: crate::proxy::rbac::remote_ip(&view, peer.ip()),
        principal: r.principal,
        sni: None,
    };
    engine.check(&subject, &HttpStats::default())
}

fn allowed(engine: &Engine, r: &Req<'_>) -> bool {
    judge(engine, r) == Decision::Allowed
}

#[test]
fn the_seed_policy_becomes_one_allow_filter_with_istios_names_and_shape() {
    let f = filters(HTTPBIN_VIEWER, &httpbin());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].name, RBAC_FILTER);
    let rules = rbac_of(&f[0]).rules.expect("rules");
    assert_eq!(rules.action, rbac::Action::Allow as i32);
    let names: Vec<&String> = rules.policies.keys().collect();
    assert_eq!(names, ["ns[default]-policy[httpbin-viewer]-rule[0]"]);
    // As Envoy prints it: a method header and a prefix path under AND, a SPIFFE principal.
    let json = dump_json(&f[0]);
    let policy = &json["rules"]["policies"]["ns[default]-policy[httpbin-viewer]-rule[0]"];
    assert_eq!(
        policy["permissions"][0]["and_rules"]["rules"][0]["or_rules"]["rules"][0]["header"],
        serde_json::json!({"name": ":method", "string_match": {"exact": "GET"}})
    );
    assert_eq!(
        policy["permissions"][0]["and_rules"]["rules"][1]["or_rules"]["rules"][0]["url_path"],
        serde_json::json!({"path": {"prefix": "/status/"}})
    );
    assert_eq!(
        policy["principals"][0]["and_ids"]["ids"][0]["or_ids"]["ids"][0]["authenticated"],
        serde_json::json!({"principal_name": {"exact": SLEEP}})
    );
}

#[test]
fn the_seed_policy_admits_sleeps_gets_under_status_only() {
    let e = engine(HTTPBIN_VIEWER, &httpbin()).expect("an engine");
    assert!(allowed(&e, &Req::get("/status/200").from(SLEEP)));
    assert!(allowed(&e, &Req::get("/status/418?x=1").from(SLEEP)));
    // Another method, another path, another caller, no identity at all: denied by default,
    // because an ALLOW policy selects the workload.
    assert!(!allowed(
        &e,
        &Req::get("/status/200").method("POST").from(SLEEP)
    ));
    assert!(!allowed(&e, &Req::get("/headers").from(SLEEP)));
    assert!(!allowed(&e, &Req::get("/status").from(SLEEP)));
    assert!(!allowed(
        &e,
        &Req::get("/status/200").from("spiffe://cluster.local/ns/default/sa/other")
    ));
    assert!(!allowed(&e, &Req::get("/status/200")));
    assert_eq!(
        judge(&e, &Req::get("/headers")),
        Decision::Denied { policy: None }
    );
}

#[test]
fn policies_apply_by_namespace_selector_and_root_namespace() {
    let yaml = format!(
        "{HTTPBIN_VIEWER}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: mesh-deny, namespace: istio-system}}
spec:
  action: DENY
  rules: [{{to: [{{operation: {{paths: [/admin]}}}}]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: ns-wide, namespace: other}}
spec:
  action: AUDIT
  rules: [{{}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: root-selected, namespace: istio-system}}
spec:
  selector: {{matchLabels: {{app: reviews}}}}
  action: AUDIT
  rules: [{{}}]
"
    );
    let push = push(&yaml);
    let names = |p: &Proxy| {
        let a = applicable(&push, p);
        let mut n: Vec<String> = a
            .allow
            .iter()
            .chain(a.deny.iter())
            .chain(a.audit.iter())
            .map(|c| format!("{}/{}", c.namespace, c.name))
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(&httpbin()),
        ["default/httpbin-viewer", "istio-system/mesh-deny"]
    );
    assert_eq!(
        names(&sidecar("default", &[("app", "reviews")])),
        ["istio-system/mesh-deny", "istio-system/root-selected"]
    );
    assert_eq!(
        names(&sidecar("other", &[("app", "httpbin")])),
        ["istio-system/mesh-deny", "other/ns-wide"]
    );
    // The mesh-wide policy reaches gateways too.
    assert_eq!(
        names(&router("istio-system", &[("istio", "ingressgateway")])),
        ["istio-system/mesh-deny"]
    );
}

#[test]
fn no_policy_means_no_filter_and_no_engine() {
    assert!(filters(HTTPBIN_VIEWER, &sidecar("default", &[("app", "reviews")])).is_empty());
    assert!(engine("", &httpbin()).is_none());
}

#[test]
fn deny_is_evaluated_before_allow_and_wins() {
    let yaml = format!(
        "{HTTPBIN_VIEWER}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: no-teapots, namespace: default}}
spec:
  selector: {{matchLabels: {{app: httpbin}}}}
  action: DENY
  rules:
  - to: [{{operation: {{paths: [/status/418]}}}}]
"
    );
    let f = filters(&yaml, &httpbin());
    let actions: Vec<i32> = f
        .iter()
        .map(|f| rbac_of(f).rules.expect("rules").action)
        .collect();
    assert_eq!(
        actions,
        [rbac::Action::Deny as i32, rbac::Action::Allow as i32]
    );
    let e = engine(&yaml, &httpbin()).expect("an engine");
    assert!(allowed(&e, &Req::get("/status/200").from(SLEEP)));
    assert_eq!(
        judge(&e, &Req::get("/status/418").from(SLEEP)),
        Decision::Denied {
            policy: Some("ns[default]-policy[no-teapots]-rule[0]".to_string())
        }
    );
}

#[test]
fn an_empty_allow_policy_denies_all_and_an_empty_rule_allows_all() {
    let deny_all = "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: default}
spec: {}
";
    let e = engine(deny_all, &httpbin()).expect("an engine");
    assert!(!allowed(&e, &Req::get("/").from(SLEEP)));
    let allow_all = "
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: default}
spec:
  action: ALLOW
  rules: [{}]
";
    let e = engine(allow_all, &httpbin()).expect("an engine");
    assert!(allowed(&e, &Req::get("/anything").method("DELETE")));
    // Both: ALLOW policies are OR'ed, so the allow-all one admits everything.
    let e = engine(&format!("{deny_all}{allow_all}"), &httpbin()).expect("an engine");
    assert!(allowed(&e, &Req::get("/")));
}

#[test]
fn audit_policies_log_and_never_deny() {
    let yaml = "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: default}
spec:
  action: AUDIT
  rules: [{to: [{operation: {paths: [/audit]}}]}]
";
    let f = filters(yaml, &httpbin());
    assert_eq!(
        rbac_of(&f[0]).rules.expect("rules").action,
        rbac::Action::Log as i32
    );
    let e = engine(yaml, &httpbin()).expect("an engine");
    let stats = HttpStats::default();
    let headers = HeaderMap::new();
    for path in ["/audit", "/other"] {
        let view = RequestView {
            method: "GET",
            authority: "h",
            scheme: "http",
            path_and_query: path,
            headers: &headers,
            forwarded: Default::default(),
        };
        let subject = Subject {
            request: &view,
            peer: "10.0.0.9:1".parse().expect("peer"),
            local: "10.0.0.2:80".parse().expect("local"),
            remote: "10.0.0.9".parse().expect("ip"),
            principal: None,
            sni: None,
        };
        assert_eq!(e.check(&subject, &stats), Decision::Allowed);
    }
    assert_eq!(
        (stats.rbac_logged.get(), stats.rbac_not_logged.get()),
        (1, 1)
    );
    assert_eq!(stats.rbac_denied.get(), 0);
}

#[test]
fn custom_policies_without_a_provider_fail_closed() {
    let yaml = "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  action: CUSTOM
  provider: {name: my-authz}
  rules: [{to: [{operation: {paths: [/secure/*]}}]}]
";
    let mut notes = Notes::default();
    let f = http_filters(&push(yaml), &httpbin(), &mut notes);
    assert_eq!(f.len(), 1);
    assert!(notes.0[0].contains("extension provider \"my-authz\" is not defined"));
    let e = engine(yaml, &httpbin()).expect("an engine");
    assert!(!allowed(&e, &Req::get("/secure/x")));
    assert!(allowed(&e, &Req::get("/public")));
}

#[test]
fn paths_follow_istios_exact_prefix_suffix_and_wildcard_rules() {
    let policy = |paths: &str| {
        format!(
            "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: p, namespace: default}}
spec:
  rules: [{{to: [{{operation: {{paths: {paths}}}}}]}}]
"
        )
    };
    let e = engine(&policy("[/exact]"), &httpbin()).expect("engine");
    assert!(allowed(&e, &Req::get("/exact")));
    assert!(allowed(&e, &Req::get("/exact?q=1")));
    assert!(!allowed(&e, &Req::get("/exact/more")));
    let e = engine(&policy("['/api/*']"), &httpbin()).expect("engine");
    assert!(allowed(&e, &Req::get("/api/")));
    assert!(allowed(&e, &Req::get("/api/v1/x")));
    assert!(!allowed(&e, &Req::get("/api")));
    let e = engine(&policy("['*.png']"), &httpbin()).expect("engine");
    assert!(allowed(&e, &Req::get("/img/a.png")));
    assert!(!allowed(&e, &Req::get("/img/a.jpg")));
    let e = engine(&policy("['*']"), &httpbin()).expect("engine");
    assert!(allowed(&e, &Req::get("/anything")));
}

#[test]
fn not_values_sources_hosts_ports_and_conditions() {
    let yaml = "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: default}
spec:
  rules:
  - from:
    - source:
        namespaces: [default, 'team-*']
        notPrincipals: ['*/sa/banned']
    to:
    - operation:
        hosts: ['*.example.com']
        notMethods: [DELETE]
        ports: ['8000']
    when:
    - key: request.headers[x-tenant]
      values: [acme]
    - key: destination.port
      notValues: ['9999']
  - from:
    - source:
        ipBlocks: [192.168.0.0/16]
        notRemoteIpBlocks: [192.168.7.0/24]
  - when:
    - key: source.ip
      values: [172.16.0.5]
    - key: request.auth.principal
      values: ['*']
";
    let e = engine(yaml, &httpbin()).expect("engine");
    let ok = || {
        Req::get("/")
            .authority("API.Example.com")
            .from("spiffe://cluster.local/ns/team-a/sa/app")
            .header("x-tenant", "acme")
    };
    assert!(allowed(&e, &ok()));
    // Each condition of rule 0 turned off in turn.
    assert!(!allowed(
        &e,
        &ok().from("spiffe://cluster.local/ns/prod/sa/app")
    ));
    assert!(!allowed(
        &e,
        &ok().from("spiffe://cluster.local/ns/default/sa/banned")
    ));
    assert!(!allowed(&e, &ok().authority("example.org")));
    assert!(!allowed(&e, &ok().method("DELETE")));
    assert!(!allowed(
        &e,
        &Req::get("/").authority("a.example.com").from(SLEEP)
    ));
    let mut wrong_port = ok();
    wrong_port.local = "10.0.0.2:8001";
    assert!(!allowed(&e, &wrong_port));
    // Rule 1: the peer's address, but not when it forwards for a client in the excluded range.
    assert!(allowed(&e, &Req::get("/x").peer("192.168.1.1:5")));
    assert!(!allowed(
        &e,
        &Req::get("/x")
            .peer("192.168.1.1:5")
            .header("x-forwarded-for", "192.168.7.7")
    ));
    assert!(!allowed(&e, &Req::get("/x").peer("10.1.1.1:5")));
    // Rule 2 asks for a JWT principal; Ferry has no request authentication, so never.
    assert!(!allowed(&e, &Req::get("/x").peer("172.16.0.5:5")));
}

#[test]
fn gateways_are_selected_by_labels_or_target_refs_and_their_listeners_carry_the_filter() {
    let yaml = "
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: edge, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules: [{from: [{source: {remoteIpBlocks: [203.0.113.0/24]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: by-ref, namespace: istio-system}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: public}]
  action: AUDIT
  rules: [{}]
";
    let push = push(yaml);
    let gw = router("istio-system", &[("istio", "ingressgateway")]);
    let cfg = config_for(&push, &gw);
    let l = listener(&cfg, "0.0.0.0_80");
    let Some(filter::ConfigType::TypedConfig(any)) = &l.filter_chains[0].filters[0].config_type
    else {
        panic!("typed hcm");
    };
    let hcm = HttpConnectionManager::decode(any.value.as_slice()).expect("hcm");
    let names: Vec<&str> = hcm.http_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            RBAC_FILTER,
            "envoy.filters.http.fault",
            "envoy.filters.http.router"
        ]
    );
    let k8s_gw = router(
        "istio-system",
        &[("gateway.networking.k8s.io/gateway-name", "public")],
    );
    let a = applicable(&push, &k8s_gw);
    assert_eq!(a.audit.len(), 1);
    assert!(a.deny.is_empty());
    // A sidecar in the same namespace is not a Gateway's deployment.
    assert!(
        applicable(&push, &sidecar("istio-system", &[]))
            .audit
            .is_empty()
    );
}

#[test]
fn invalid_policies_never_reach_a_proxy() {
    let yaml = "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: broken, namespace: default}
spec:
  action: DENY
";
    let push = push(yaml);
    assert!(push.authorization_policies().is_empty());
    assert!(
        push.rejected()
            .iter()
            .any(|r| r.name == "broken" && r.reasons[0].contains("DENY action without `rules`"))
    );
    assert!(filters(yaml, &httpbin()).is_empty());
}

#[test]
fn the_inbound_side_of_a_selected_sidecar_carries_the_filter() {
    let yaml = format!(
        "{HTTPBIN_VIEWER}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: httpbin, namespace: default}}
spec:
  hosts: [httpbin.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: 8000, name: http, protocol: HTTP}}]
  workloadSelector: {{labels: {{app: httpbin}}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: httpbin-1, namespace: default}}
spec: {{address: 10.0.0.2, labels: {{app: httpbin}}}}
"
    );
    let push = push(&yaml);
    let proxy = Proxy {
        ip: Some("10.0.0.2".parse().expect("ip")),
        ..httpbin()
    };
    let cfg = config_for(&push, &proxy);
    let vi = listener(&cfg, "virtualInbound");
    let chain = vi
        .filter_chains
        .iter()
        .find(|c| c.name == "0.0.0.0_8000")
        .expect("the httpbin chain");
    let Some(filter::ConfigType::TypedConfig(any)) = &chain.filters[0].config_type else {
        panic!("typed hcm");
    };
    let hcm = HttpConnectionManager::decode(any.value.as_slice()).expect("hcm");
    assert_eq!(hcm.http_filters[0].name, RBAC_FILTER);
    // Outbound listeners are not authorized: the caller's sidecar is not the policy's target.
    for l in cfg.listeners.iter().filter(|l| l.name != "virtualInbound") {
        for c in &l.filter_chains {
            for f in c
                .filters
                .iter()
                .filter(|f| f.name.ends_with("http_connection_manager"))
            {
                if let Some(filter::ConfigType::TypedConfig(any)) = &f.config_type
                    && let Ok(hcm) = HttpConnectionManager::decode(any.value.as_slice())
                {
                    assert!(hcm.http_filters.iter().all(|f| f.name != RBAC_FILTER));
                }
            }
        }
    }
}
