//! VirtualService HTTP rules: each feature translated, and left out when it does not apply.

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::route::v3::{
    header_matcher, query_parameter_matcher, redirect_action, route_action, route_match,
};
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::fault_delay;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::{HttpFault, fault_abort};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher;
use envoy_types::pb::envoy::r#type::v3::fractional_percent::DenominatorType;
use prost::Message;

use super::*;

/// `web` (ports 80 and 9000) and `api` (8080) in namespace `shop`.
const SERVICES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: http-admin, port: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
"#;

const WEB: &str = "web.shop.svc.cluster.local";

fn web_config(vs: &str, proxy: &Proxy) -> ProxyConfig {
    let push = push(&format!("{SERVICES}---\n{vs}"));
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    config_for(&push, proxy)
}

fn client() -> Proxy {
    sidecar("shop", &[("app", "client")])
}

/// The routes of the `web` virtual host on port 80.
fn web_routes(vs: &str) -> Vec<Route> {
    let cfg = web_config(vs, &client());
    vhost(route_config(&cfg, "80"), &format!("{WEB}:80"))
        .routes
        .clone()
}

fn vs(http: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: web, namespace: shop}}\nspec:\n  hosts: [web]\n  http:\n{http}"
    )
}

fn path(r: &Route) -> Option<route_match::PathSpecifier> {
    r.r#match.as_ref().and_then(|m| m.path_specifier.clone())
}

#[test]
fn without_a_virtual_service_a_default_route_goes_to_the_service() {
    let routes = web_routes("");
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].name, "default");
    assert_eq!(
        destinations(&routes[0]),
        vec![(format!("outbound|80||{WEB}"), 100)]
    );
    let retry = action(&routes[0])
        .retry_policy
        .as_ref()
        .expect("default retries");
    assert_eq!(retry.num_retries.as_ref().map(|n| n.value), Some(2));
    assert_eq!(retry.retriable_status_codes, vec![503]);
    assert_eq!(route_vs_config(&routes[0]), None);
}

#[test]
fn uri_matches_exact_prefix_and_regex() {
    let routes = web_routes(&vs(r#"
  - match: [{uri: {exact: /a}}, {uri: {prefix: /b}}, {uri: {regex: "/c/[0-9]+"}}]
    route: [{destination: {host: web}}]
"#));
    assert_eq!(
        path(&routes[0]),
        Some(route_match::PathSpecifier::Path("/a".into()))
    );
    assert_eq!(
        path(&routes[1]),
        Some(route_match::PathSpecifier::Prefix("/b".into()))
    );
    assert!(matches!(
        path(&routes[2]),
        Some(route_match::PathSpecifier::SafeRegex(re)) if re.regex == "/c/[0-9]+"
    ));
    assert_eq!(
        routes.len(),
        3,
        "no default route after a VirtualService: 404 otherwise"
    );
}

#[test]
fn header_matches_and_their_inverse() {
    let routes = web_routes(&vs(r#"
  - match:
    - headers:
        x-exact: {exact: a}
        x-prefix: {prefix: b}
        x-regex: {regex: "c+"}
      withoutHeaders:
        x-not: {exact: d}
    route: [{destination: {host: web}}]
"#));
    let headers = &routes[0].r#match.as_ref().expect("match").headers;
    let by_name = |n: &str| headers.iter().find(|h| h.name == n).expect(n);
    let pattern = |n: &str| match &by_name(n).header_match_specifier {
        Some(header_matcher::HeaderMatchSpecifier::StringMatch(sm)) => sm.match_pattern.clone(),
        other => panic!("{n}: {other:?}"),
    };
    assert_eq!(
        pattern("x-exact"),
        Some(string_matcher::MatchPattern::Exact("a".into()))
    );
    assert_eq!(
        pattern("x-prefix"),
        Some(string_matcher::MatchPattern::Prefix("b".into()))
    );
    assert!(
        matches!(pattern("x-regex"), Some(string_matcher::MatchPattern::SafeRegex(re)) if re.regex == "c+")
    );
    let not = by_name("x-not");
    assert!(not.invert_match && not.treat_missing_header_as_empty);
    assert!(!by_name("x-exact").invert_match);
    // Sorted by name, as Istio sorts them.
    let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn method_authority_and_query_parameters() {
    let routes = web_routes(&vs(r#"
  - match:
    - method: {exact: POST}
      authority: {prefix: web}
      queryParams:
        debug: {exact: "1"}
        trace: {prefix: "on"}
      ignoreUriCase: true
    route: [{destination: {host: web}}]
"#));
    let m = routes[0].r#match.as_ref().expect("match");
    let names: Vec<&str> = m.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, vec![":method", ":authority"]);
    assert_eq!(m.case_sensitive.as_ref().map(|b| b.value), Some(false));
    assert_eq!(m.query_parameters.len(), 2);
    assert!(matches!(
        &m.query_parameters[0].query_parameter_match_specifier,
        Some(query_parameter_matcher::QueryParameterMatchSpecifier::StringMatch(sm))
            if sm.match_pattern == Some(string_matcher::MatchPattern::Exact("1".into()))
    ));
    assert!(matches!(
        &m.query_parameters[1].query_parameter_match_specifier,
        Some(query_parameter_matcher::QueryParameterMatchSpecifier::StringMatch(sm))
            if sm.match_pattern == Some(string_matcher::MatchPattern::Prefix("on".into()))
    ));
}

#[test]
fn port_matches_apply_only_on_their_port() {
    let cfg = web_config(
        &vs(r#"
  - match: [{port: 9000, uri: {prefix: /admin}}]
    route: [{destination: {host: web, subset: v2}}]
  - route: [{destination: {host: web, subset: v1}}]
"#),
        &client(),
    );
    let on_9000 = &vhost(route_config(&cfg, "9000"), &format!("{WEB}:9000")).routes;
    assert_eq!(on_9000.len(), 2);
    // Without a destination port, the port the request came in on completes the cluster name.
    assert_eq!(
        destinations(&on_9000[0]),
        vec![(format!("outbound|9000|v2|{WEB}"), 100)]
    );
    let on_80 = &vhost(route_config(&cfg, "80"), &format!("{WEB}:80")).routes;
    assert_eq!(on_80.len(), 1);
    assert_eq!(
        destinations(&on_80[0]),
        vec![(format!("outbound|80|v1|{WEB}"), 100)]
    );
}

#[test]
fn source_labels_select_the_calling_sidecar() {
    let rule = vs(r#"
  - match: [{sourceLabels: {app: canary-client}}]
    route: [{destination: {host: web, subset: v2}}]
  - route: [{destination: {host: web, subset: v1}}]
"#);
    let canary = web_config(&rule, &sidecar("shop", &[("app", "canary-client")]));
    let routes = &vhost(route_config(&canary, "80"), &format!("{WEB}:80")).routes;
    assert_eq!(
        destinations(&routes[0]),
        vec![(format!("outbound|80|v2|{WEB}"), 100)]
    );
    let other = web_config(&rule, &client());
    let routes = &vhost(route_config(&other, "80"), &format!("{WEB}:80")).routes;
    assert_eq!(routes.len(), 1);
    assert_eq!(
        destinations(&routes[0]),
        vec![(format!("outbound|80|v1|{WEB}"), 100)]
    );
}

#[test]
fn match_gateways_restrict_rules_to_mesh_or_a_gateway() {
    let routes = web_routes(&vs(r#"
  - match: [{gateways: [shop/edge], uri: {prefix: /edge}}]
    route: [{destination: {host: web, subset: v2}}]
  - match: [{gateways: [mesh], uri: {prefix: /mesh}}]
    route: [{destination: {host: web, subset: v1}}]
"#));
    assert_eq!(routes.len(), 1);
    assert_eq!(
        path(&routes[0]),
        Some(route_match::PathSpecifier::Prefix("/mesh".into()))
    );
}

#[test]
fn weighted_destinations_become_weighted_clusters() {
    let routes = web_routes(&vs(r#"
  - route:
    - {destination: {host: web, subset: v1}, weight: 75}
    - {destination: {host: web, subset: v2}, weight: 25}
    - {destination: {host: api}, weight: 0}
"#));
    assert_eq!(
        destinations(&routes[0]),
        vec![
            (format!("outbound|80|v1|{WEB}"), 75),
            (format!("outbound|80|v2|{WEB}"), 25)
        ]
    );
    // A destination with an explicit port, and a single-port service's own port.
    let routes = web_routes(&vs(r#"
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: api}}]
  - route: [{destination: {host: web, port: {number: 9000}}}]
"#));
    assert_eq!(
        destinations(&routes[0]),
        vec![("outbound|8080||api.shop.svc.cluster.local".into(), 100)]
    );
    assert_eq!(
        destinations(&routes[1]),
        vec![(format!("outbound|9000||{WEB}"), 100)]
    );
}

#[test]
fn rewrites_prefix_regex_and_authority() {
    let routes = web_routes(&vs(r#"
  - match: [{uri: {prefix: /old}}]
    rewrite: {uri: /new, authority: web.internal}
    route: [{destination: {host: web}}]
  - match: [{uri: {prefix: /re}}]
    rewrite: {uriRegexRewrite: {match: "^/re/(.*)$", rewrite: "/\\1"}}
    route: [{destination: {host: web}}]
  - route: [{destination: {host: web}}]
"#));
    let a = action(&routes[0]);
    assert_eq!(a.prefix_rewrite, "/new");
    assert_eq!(
        a.host_rewrite_specifier,
        Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(
            "web.internal".into()
        ))
    );
    let re = action(&routes[1])
        .regex_rewrite
        .as_ref()
        .expect("regex rewrite");
    assert_eq!(
        re.pattern.as_ref().map(|p| p.regex.as_str()),
        Some("^/re/(.*)$")
    );
    assert_eq!(re.substitution, "/\\1");
    let plain = action(&routes[2]);
    assert!(plain.prefix_rewrite.is_empty() && plain.regex_rewrite.is_none());
    assert!(plain.host_rewrite_specifier.is_none());
}

#[test]
fn redirects_and_direct_responses() {
    let routes = web_routes(&vs(r#"
  - match: [{uri: {exact: /moved}}]
    redirect: {uri: /here, authority: other.example.com, redirectCode: 302, scheme: https, port: 8443}
  - match: [{uri: {exact: /gone}}]
    directResponse: {status: 410, body: {string: gone}}
  - route: [{destination: {host: web}}]
"#));
    let Some(route::Action::Redirect(r)) = &routes[0].action else {
        panic!("redirect: {:?}", routes[0].action);
    };
    assert_eq!(r.host_redirect, "other.example.com");
    assert_eq!(r.port_redirect, 8443);
    assert_eq!(
        r.response_code,
        redirect_action::RedirectResponseCode::Found as i32
    );
    assert_eq!(
        r.path_rewrite_specifier,
        Some(redirect_action::PathRewriteSpecifier::PathRedirect(
            "/here".into()
        ))
    );
    assert_eq!(
        r.scheme_rewrite_specifier,
        Some(redirect_action::SchemeRewriteSpecifier::SchemeRedirect(
            "https".into()
        ))
    );
    let Some(route::Action::DirectResponse(d)) = &routes[1].action else {
        panic!("direct response");
    };
    assert_eq!(d.status, 410);
}

#[test]
fn header_operations_on_requests_and_responses() {
    let routes = web_routes(&vs(r#"
  - headers:
      request:
        set: {x-set: a, host: web.example.com}
        add: {x-add: b}
        remove: [x-drop]
      response:
        set: {x-served-by: ferry}
        remove: [server]
    route:
    - destination: {host: web}
      headers: {request: {add: {x-dest: c}}}
"#));
    let r = &routes[0];
    let added: Vec<(&str, i32)> = r
        .request_headers_to_add
        .iter()
        .filter_map(|h| {
            h.header
                .as_ref()
                .map(|hv| (hv.key.as_str(), h.append_action))
        })
        .collect();
    assert_eq!(
        added,
        vec![
            ("x-set", HeaderAppendAction::OverwriteIfExistsOrAdd as i32),
            ("x-add", HeaderAppendAction::AppendIfExistsOrAdd as i32),
            ("x-dest", HeaderAppendAction::AppendIfExistsOrAdd as i32),
        ]
    );
    // Pseudo-headers and `host` are not removable; `host` becomes a host rewrite.
    assert_eq!(r.request_headers_to_remove, vec!["x-drop"]);
    assert_eq!(r.response_headers_to_remove, vec!["server"]);
    assert_eq!(r.response_headers_to_add.len(), 1);
    assert_eq!(
        action(r).host_rewrite_specifier,
        Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(
            "web.example.com".into()
        ))
    );
    let plain = web_routes(&vs("  - route: [{destination: {host: web}}]\n"));
    assert!(plain[0].request_headers_to_add.is_empty());
}

#[test]
fn timeouts_and_retries() {
    let routes = web_routes(&vs(r#"
  - match: [{uri: {prefix: /slow}}]
    timeout: 2.5s
    retries: {attempts: 4, perTryTimeout: 500ms, retryOn: "gateway-error,connect-failure,503,418"}
    route: [{destination: {host: web}}]
  - match: [{uri: {prefix: /once}}]
    retries: {attempts: 0}
    route: [{destination: {host: web}}]
  - route: [{destination: {host: web}}]
"#));
    let slow = action(&routes[0]);
    let t = slow.timeout.as_ref().expect("timeout");
    assert_eq!((t.seconds, t.nanos), (2, 500_000_000));
    let retry = slow.retry_policy.as_ref().expect("retries");
    assert_eq!(retry.num_retries.as_ref().map(|n| n.value), Some(4));
    assert_eq!(
        retry.retry_on,
        "gateway-error,connect-failure,retriable-status-codes"
    );
    assert_eq!(retry.retriable_status_codes, vec![503, 418]);
    assert_eq!(
        retry.per_try_timeout.as_ref().map(|d| d.nanos),
        Some(500_000_000)
    );
    assert!(
        action(&routes[1]).retry_policy.is_none(),
        "attempts 0 disables retries"
    );
    let default = action(&routes[2]);
    assert_eq!(
        default.timeout.as_ref().map(|t| t.seconds),
        Some(0),
        "no timeout"
    );
    assert_eq!(
        default
            .retry_policy
            .as_ref()
            .map(|r| r.retry_host_predicate.len()),
        Some(1)
    );
}

#[test]
fn faults_become_the_fault_filters_per_route_config() {
    let routes = web_routes(&vs(r#"
  - match: [{uri: {prefix: /delay}}]
    fault: {delay: {fixedDelay: 5s, percentage: {value: 10}}}
    route: [{destination: {host: web}}]
  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 50.5}}}
    route: [{destination: {host: web}}]
  - route: [{destination: {host: web}}]
"#));
    let fault = |r: &Route| {
        let any = r
            .typed_per_filter_config
            .get("envoy.filters.http.fault")
            .expect("fault config");
        assert_eq!(
            any.type_url,
            "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
        );
        HttpFault::decode(any.value.as_slice()).expect("decodes")
    };
    let delay = fault(&routes[0]).delay.expect("delay");
    let p = delay.percentage.expect("percentage");
    assert_eq!(
        (p.numerator, p.denominator),
        (100_000, DenominatorType::Million as i32)
    );
    assert!(matches!(
        delay.fault_delay_secifier,
        Some(fault_delay::FaultDelaySecifier::FixedDelay(d)) if d.seconds == 5
    ));
    let abort = fault(&routes[1]).abort.expect("abort");
    assert_eq!(
        abort.error_type,
        Some(fault_abort::ErrorType::HttpStatus(503))
    );
    assert_eq!(abort.percentage.map(|p| p.numerator), Some(505_000));
    assert!(routes[2].typed_per_filter_config.is_empty());
}

#[test]
fn mirrors_with_and_without_percentages() {
    let routes = web_routes(&vs(r#"
  - match: [{uri: {prefix: /m}}]
    mirror: {host: api}
    mirrorPercentage: {value: 25}
    route: [{destination: {host: web}}]
  - match: [{uri: {prefix: /off}}]
    mirror: {host: api}
    mirrorPercentage: {value: 0}
    route: [{destination: {host: web}}]
  - route: [{destination: {host: web}}]
    mirrors: [{destination: {host: web, subset: v2}}]
"#));
    let m = &action(&routes[0]).request_mirror_policies;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].cluster, "outbound|8080||api.shop.svc.cluster.local");
    let fraction = m[0]
        .runtime_fraction
        .as_ref()
        .and_then(|f| f.default_value.as_ref());
    assert_eq!(fraction.map(|f| f.numerator), Some(250_000));
    assert!(action(&routes[1]).request_mirror_policies.is_empty());
    let all = &action(&routes[2]).request_mirror_policies;
    assert_eq!(all[0].cluster, format!("outbound|80|v2|{WEB}"));
    let fraction = all[0]
        .runtime_fraction
        .as_ref()
        .and_then(|f| f.default_value.as_ref());
    assert_eq!(
        fraction.map(|f| (f.numerator, f.denominator)),
        Some((100, DenominatorType::Hundred as i32))
    );
}

#[test]
fn a_catch_all_rule_ends_the_route_list_and_names_compose() {
    let routes = web_routes(&vs(r#"
  - name: first
    match: [{name: everything, uri: {prefix: /}}]
    route: [{destination: {host: web, subset: v1}}]
  - name: never
    route: [{destination: {host: web, subset: v2}}]
"#));
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].name, "first.everything");
    let vs_path = "/apis/networking.istio.io/v1/namespaces/shop/virtual-service/web";
    assert_eq!(route_vs_config(&routes[0]), Some(vs_path));
}

#[test]
fn virtual_services_for_hosts_outside_the_registry_go_on_port_80() {
    let cfg = web_config(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: external, namespace: shop}
spec:
  hosts: [example.com]
  http: [{route: [{destination: {host: web}}]}]
"#,
        &client(),
    );
    let vh = vhost(route_config(&cfg, "80"), "example.com:80");
    assert_eq!(vh.domains, vec!["example.com", "example.com:80"]);
    assert!(
        !route_config(&cfg, "8080")
            .virtual_hosts
            .iter()
            .any(|v| v.name.starts_with("example.com"))
    );
}
