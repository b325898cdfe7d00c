//! One VirtualService's `http` rules as Envoy routes (`BuildHTTPRoutesForVirtualService`,
//! `translateRoute`): each match of each rule becomes a route, in order; a rule without matches,
//! or a catch-all match, ends the list because nothing after it could match. Matches that cannot
//! apply to this proxy (another port, other source labels or gateways) produce no route.

use std::collections::{BTreeMap, HashMap};

use envoy_types::pb::envoy::config::core::v3::{
    DataSource, HeaderValue, HeaderValueOption, RuntimeFractionalPercent, data_source,
    header_value_option::HeaderAppendAction,
};
use envoy_types::pb::envoy::config::route::v3::{
    Decorator, DirectResponseAction, HeaderMatcher, QueryParameterMatcher, RedirectAction,
    RetryPolicy, Route, RouteAction, RouteMatch, WeightedCluster, header_matcher,
    query_parameter_matcher, redirect_action, retry_policy, route, route_action, route_match,
    weighted_cluster,
};
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::{FaultDelay, fault_delay};
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::{
    FaultAbort, HttpFault, fault_abort,
};
use envoy_types::pb::envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate;
use envoy_types::pb::envoy::extensions::retry::priority::previous_priorities::v3::PreviousPrioritiesConfig;
use envoy_types::pb::envoy::r#type::matcher::v3::{
    RegexMatchAndSubstitute, RegexMatcher, StringMatcher, string_matcher,
};
use envoy_types::pb::envoy::r#type::v3::{FractionalPercent, fractional_percent};

use super::Notes;
use super::metadata::IstioMetadata;
use super::names::{self, ConfigKind};
use super::policy::EffectivePolicy;
use super::proto::{boolean, go_duration, no_timeout, pack, uint32};
use super::scope::Scope;
use crate::config::networking as net;
use crate::config::types::{StringMatch, selects};
use crate::discovery::accepted::Config;

/// Where the routes are for.
#[derive(Debug, Clone, Copy)]
pub struct RouteContext<'s, 'a> {
    pub scope: &'s Scope<'a>,
    /// The port the request arrived on: the service port for sidecars, the Gateway server's port
    /// for gateways. It completes destinations without a port and filters `match.port`.
    pub listen_port: u32,
    /// The gateway names this proxy answers to: `mesh` for sidecars, `ns/name` for gateways.
    pub gateways: &'s [String],
    /// The server terminates TLS (a redirect without a scheme then keeps `https`).
    pub tls: bool,
}

/// The routes of `vs` for this context, in order.
pub fn virtual_service_routes(
    ctx: &RouteContext<'_, '_>,
    vs: &Config<net::VirtualService>,
    notes: &mut Notes,
) -> Vec<Route> {
    let mut out = Vec::new();
    for http in &vs.spec.http {
        if http.delegate.is_some() {
            notes.push(format!(
                "VirtualService {}/{}: delegate is not translated; the rule is skipped",
                vs.namespace, vs.name
            ));
            continue;
        }
        if http.cors_policy.is_some() {
            notes.push(format!(
                "VirtualService {}/{}: corsPolicy is not translated",
                vs.namespace, vs.name
            ));
        }
        let mut catch_all = false;
        if http.matches.is_empty() {
            out.extend(translate(ctx, vs, http, None, notes));
            catch_all = true;
        } else {
            for m in &http.matches {
                if let Some(r) = translate(ctx, vs, http, Some(m), notes) {
                    catch_all = is_catch_all(&r);
                    out.push(r);
                    if catch_all {
                        break;
                    }
                }
            }
        }
        if catch_all {
            break;
        }
    }
    out
}

/// `IsCatchAllRoute`: prefix `/` (or regex `.*`) with no header, query or metadata match.
pub fn is_catch_all(r: &Route) -> bool {
    let Some(m) = &r.r#match else { return false };
    let path = match &m.path_specifier {
        Some(route_match::PathSpecifier::Prefix(p)) => p == "/",
        Some(route_match::PathSpecifier::PathSeparatedPrefix(p)) => p == "/",
        Some(route_match::PathSpecifier::SafeRegex(re)) => re.regex == ".*",
        _ => false,
    };
    path && m.headers.is_empty() && m.query_parameters.is_empty() && m.dynamic_metadata.is_empty()
}

/// `sourceMatchHTTP`: match gateways, else source labels and namespace.
fn source_matches(ctx: &RouteContext<'_, '_>, m: &net::HttpMatchRequest) -> bool {
    if !m.gateways.is_empty() {
        return m.gateways.iter().any(|g| ctx.gateways.contains(g));
    }
    selects(&m.source_labels, &ctx.scope.proxy.labels)
        && m.source_namespace
            .as_deref()
            .is_none_or(|ns| ns == ctx.scope.proxy.namespace)
}

fn translate(
    ctx: &RouteContext<'_, '_>,
    vs: &Config<net::VirtualService>,
    http: &net::HttpRoute,
    m: Option<&net::HttpMatchRequest>,
    notes: &mut Notes,
) -> Option<Route> {
    if let Some(m) = m
        && (m.port.is_some_and(|p| p != ctx.listen_port) || !source_matches(ctx, m))
    {
        return None;
    }
    let mut name = http.name.clone().unwrap_or_default();
    if let Some(match_name) = m.and_then(|m| m.name.as_deref()).filter(|n| !n.is_empty()) {
        name = format!("{name}.{match_name}");
    }
    let mut out = Route {
        name,
        r#match: Some(route_match_of(m, vs, notes)),
        metadata: IstioMetadata::new()
            .config(ConfigKind::VirtualService, &vs.namespace, &vs.name)
            .into_metadata(),
        stat_prefix: m.and_then(|m| m.stat_prefix.clone()).unwrap_or_default(),
        ..Default::default()
    };
    let mut authority = None;
    if let Some(headers) = &http.headers {
        let ops = HeaderOps::of(headers);
        out.request_headers_to_add = ops.request_add;
        out.request_headers_to_remove = ops.request_remove;
        out.response_headers_to_add = ops.response_add;
        out.response_headers_to_remove = ops.response_remove;
        authority = ops.authority;
    }
    if let Some(redirect) = &http.redirect {
        out.action = redirect_action(redirect, ctx);
    } else if let Some(direct) = &http.direct_response {
        out.action = Some(route::Action::DirectResponse(direct_response(
            direct, vs, notes,
        )));
    } else {
        out.action = Some(route::Action::Route(route_action(
            ctx, vs, http, &mut out, authority, notes,
        )));
    }
    out.decorator = Some(Decorator {
        operation: operation(&out, &vs.name, ctx.listen_port),
        ..Default::default()
    });
    if let Some(fault) = http.fault.as_ref().and_then(|f| fault_filter(f, vs, notes)) {
        out.typed_per_filter_config =
            HashMap::from([(names::FAULT_FILTER.to_string(), pack(&fault))]);
    }
    Some(out)
}

/// `TranslateRouteMatch`.
fn route_match_of(
    m: Option<&net::HttpMatchRequest>,
    vs: &Config<net::VirtualService>,
    notes: &mut Notes,
) -> RouteMatch {
    let mut out = RouteMatch {
        path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_string())),
        ..Default::default()
    };
    let Some(m) = m else { return out };
    for (name, sm) in &m.headers {
        out.headers.push(header_matcher(name, sm));
    }
    for (name, sm) in &m.without_headers {
        let mut h = header_matcher(name, sm);
        h.invert_match = true;
        // A missing header counts as empty, so "without x: exact v" matches when x is absent;
        // Envoy refuses the flag together with a presence match.
        h.treat_missing_header_as_empty = !is_present_match(sm);
        out.headers.push(h);
    }
    if out
        .headers
        .iter()
        .any(|h| h.name.starts_with("@request.auth.claims"))
    {
        // Istio turns these into JWT metadata matches; as plain headers they never match, which
        // keeps the route narrower rather than wider than intended.
        notes.push(format!(
            "VirtualService {}/{}: @request.auth.claims matches are not translated; those routes never match",
            vs.namespace, vs.name
        ));
    }
    out.headers.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(uri) = &m.uri {
        out.path_specifier = Some(match uri {
            StringMatch::Exact(p) => route_match::PathSpecifier::Path(p.clone()),
            StringMatch::Prefix(p) => route_match::PathSpecifier::Prefix(p.clone()),
            StringMatch::Regex(r) => route_match::PathSpecifier::SafeRegex(regex(r)),
        });
    }
    out.case_sensitive = boolean(!m.ignore_uri_case.unwrap_or(false));
    if let Some(method) = &m.method {
        out.headers.push(header_matcher(":method", method));
    }
    if let Some(authority) = &m.authority {
        out.headers.push(header_matcher(":authority", authority));
    }
    if let Some(scheme) = &m.scheme {
        out.headers.push(header_matcher(":scheme", scheme));
    }
    for (name, sm) in &m.query_params {
        out.query_parameters.push(QueryParameterMatcher {
            name: name.clone(),
            query_parameter_match_specifier: Some(if is_present_match(sm) {
                query_parameter_matcher::QueryParameterMatchSpecifier::PresentMatch(true)
            } else {
                query_parameter_matcher::QueryParameterMatchSpecifier::StringMatch(
                    string_matcher_of(sm),
                )
            }),
        });
    }
    out
}

/// Regex `*` is not RE2: Istio reads it as "present".
fn is_present_match(sm: &StringMatch) -> bool {
    matches!(sm, StringMatch::Regex(r) if r == "*")
}

fn regex(r: &str) -> RegexMatcher {
    RegexMatcher {
        regex: r.to_string(),
        ..Default::default()
    }
}

fn string_matcher_of(sm: &StringMatch) -> StringMatcher {
    StringMatcher {
        match_pattern: Some(match sm {
            StringMatch::Exact(s) => string_matcher::MatchPattern::Exact(s.clone()),
            StringMatch::Prefix(s) => string_matcher::MatchPattern::Prefix(s.clone()),
            StringMatch::Regex(r) => string_matcher::MatchPattern::SafeRegex(regex(r)),
        }),
        ..Default::default()
    }
}

fn header_matcher(name: &str, sm: &StringMatch) -> HeaderMatcher {
    HeaderMatcher {
        name: name.to_string(),
        header_match_specifier: Some(if is_present_match(sm) {
            header_matcher::HeaderMatchSpecifier::PresentMatch(true)
        } else {
            header_matcher::HeaderMatchSpecifier::StringMatch(string_matcher_of(sm))
        }),
        ..Default::default()
    }
}

/// `TranslateHeadersOperations`: `set` overwrites, `add` appends, pseudo-headers and `host`
/// cannot be changed (an `:authority`/`host` value becomes a host rewrite instead).
struct HeaderOps {
    request_add: Vec<HeaderValueOption>,
    request_remove: Vec<String>,
    response_add: Vec<HeaderValueOption>,
    response_remove: Vec<String>,
    authority: Option<String>,
}

impl HeaderOps {
    fn of(headers: &net::Headers) -> HeaderOps {
        let req = headers.request.as_ref();
        let resp = headers.response.as_ref();
        let (mut request_add, set_authority) = header_options(req.map(|r| &r.set), false);
        let (add, add_authority) = header_options(req.map(|r| &r.add), true);
        request_add.extend(add);
        let (mut response_add, _) = header_options(resp.map(|r| &r.set), false);
        response_add.extend(header_options(resp.map(|r| &r.add), true).0);
        HeaderOps {
            request_add,
            request_remove: removable(req.map(|r| r.remove.as_slice())),
            response_add,
            response_remove: removable(resp.map(|r| r.remove.as_slice())),
            authority: set_authority.or(add_authority),
        }
    }
}

fn is_internal_header(name: &str) -> bool {
    name.starts_with(':') || name.eq_ignore_ascii_case("host")
}

fn header_options(
    headers: Option<&BTreeMap<String, String>>,
    append: bool,
) -> (Vec<HeaderValueOption>, Option<String>) {
    let mut authority = None;
    let mut out = Vec::new();
    for (key, value) in headers.into_iter().flatten() {
        if key.eq_ignore_ascii_case(":authority") || key.eq_ignore_ascii_case("host") {
            authority = Some(value.clone());
        }
        if is_internal_header(key) {
            continue;
        }
        let action = if append {
            HeaderAppendAction::AppendIfExistsOrAdd
        } else {
            HeaderAppendAction::OverwriteIfExistsOrAdd
        };
        out.push(HeaderValueOption {
            header: Some(HeaderValue {
                key: key.clone(),
                value: value.clone(),
                ..Default::default()
            }),
            append_action: action as i32,
            ..Default::default()
        });
    }
    (out, authority)
}

fn removable(names: Option<&[String]>) -> Vec<String> {
    names
        .unwrap_or_default()
        .iter()
        .filter(|n| !is_internal_header(n))
        .cloned()
        .collect()
}

/// `ApplyRedirect`.
fn redirect_action(r: &net::HttpRedirect, ctx: &RouteContext<'_, '_>) -> Option<route::Action> {
    let response_code = match r.redirect_code.unwrap_or(301) {
        301 => redirect_action::RedirectResponseCode::MovedPermanently,
        302 => redirect_action::RedirectResponseCode::Found,
        303 => redirect_action::RedirectResponseCode::SeeOther,
        307 => redirect_action::RedirectResponseCode::TemporaryRedirect,
        308 => redirect_action::RedirectResponseCode::PermanentRedirect,
        // Istio leaves the route without an action, which Envoy rejects; no route is safer.
        _ => return None,
    };
    let mut out = RedirectAction {
        host_redirect: r.authority.clone().unwrap_or_default(),
        response_code: response_code as i32,
        path_rewrite_specifier: r
            .uri
            .clone()
            .map(redirect_action::PathRewriteSpecifier::PathRedirect),
        ..Default::default()
    };
    if let Some(scheme) = r.scheme.as_deref().filter(|s| !s.is_empty()) {
        out.scheme_rewrite_specifier = Some(
            redirect_action::SchemeRewriteSpecifier::SchemeRedirect(scheme.to_string()),
        );
    }
    let port = match (r.port, r.derive_port.as_deref()) {
        (Some(p), _) => Some(p),
        // Routes are built per port, so "the request's port" is this one.
        (None, Some("FROM_REQUEST_PORT")) => Some(ctx.listen_port),
        _ => None,
    };
    if let Some(port) = port {
        let scheme = r
            .scheme
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(if ctx.tls { "https" } else { "http" });
        // The scheme's default port is left implicit.
        let default = (port == 80 && scheme == "http") || (port == 443 && scheme == "https");
        out.port_redirect = if default { 0 } else { port };
    }
    Some(route::Action::Redirect(out))
}

fn direct_response(
    d: &net::HttpDirectResponse,
    vs: &Config<net::VirtualService>,
    notes: &mut Notes,
) -> DirectResponseAction {
    let body = d.body.as_ref().and_then(|b| {
        if let Some(s) = b.get("string").and_then(serde_json::Value::as_str) {
            return Some(DataSource {
                specifier: Some(data_source::Specifier::InlineString(s.to_string())),
                ..Default::default()
            });
        }
        notes.push(format!(
            "VirtualService {}/{}: directResponse.body.bytes is not translated; the body is empty",
            vs.namespace, vs.name
        ));
        None
    });
    DirectResponseAction {
        status: d.status,
        body,
        ..Default::default()
    }
}

/// `applyHTTPRouteDestination`: cluster or weighted clusters, rewrites, timeout, retries,
/// mirrors and consistent-hash policies.
fn route_action(
    ctx: &RouteContext<'_, '_>,
    vs: &Config<net::VirtualService>,
    http: &net::HttpRoute,
    out: &mut Route,
    mut authority: Option<String>,
    notes: &mut Notes,
) -> RouteAction {
    let timeout = http
        .timeout
        .as_deref()
        .and_then(go_duration)
        .unwrap_or_else(no_timeout);
    let mut action = RouteAction {
        timeout: Some(timeout),
        ..Default::default()
    };
    if let Some(rw) = &http.rewrite {
        if let Some(re) = &rw.uri_regex_rewrite {
            action.regex_rewrite = Some(RegexMatchAndSubstitute {
                pattern: Some(regex(re.match_.as_deref().unwrap_or_default())),
                substitution: re.rewrite.clone().unwrap_or_default(),
            });
        } else if let Some(uri) = rw.uri.as_deref().filter(|u| !u.is_empty()) {
            action.prefix_rewrite = uri.to_string();
        }
        if let Some(a) = rw.authority.as_deref().filter(|a| !a.is_empty()) {
            authority = Some(a.to_string());
        }
    }
    if let Some(a) = authority {
        action.host_rewrite_specifier =
            Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(a));
    }
    if let Some(mirror) = &http.mirror {
        let percent = match (&http.mirror_percentage, http.mirror_percent) {
            (Some(p), _) => (p.value > 0.0).then(|| million(p.value)),
            (None, Some(p)) => (p > 0).then(|| hundred(p)),
            // Everything, when no percentage is given.
            (None, None) => Some(hundred(100)),
        };
        if let Some(p) = percent {
            action
                .request_mirror_policies
                .push(mirror_policy(ctx, mirror, p));
        }
    }
    for m in &http.mirrors {
        let Some(d) = &m.destination else { continue };
        let percent = match &m.percentage {
            Some(p) => (p.value > 0.0).then(|| million(p.value)),
            None => Some(hundred(100)),
        };
        if let Some(p) = percent {
            action
                .request_mirror_policies
                .push(mirror_policy(ctx, d, p));
        }
    }
    let mut consistent_hash = false;
    let destinations: Vec<&net::HttpRouteDestination> = http.route.iter().collect();
    if let [only] = destinations.as_slice() {
        let d = only.destination.as_ref();
        let cluster = d.map_or_else(
            || names::BLACK_HOLE_CLUSTER.to_string(),
            |d| destination_cluster(ctx, d),
        );
        action.cluster_specifier = Some(route_action::ClusterSpecifier::Cluster(cluster));
        if let Some(headers) = &only.headers {
            let ops = HeaderOps::of(headers);
            out.request_headers_to_add.extend(ops.request_add);
            out.request_headers_to_remove.extend(ops.request_remove);
            out.response_headers_to_add.extend(ops.response_add);
            out.response_headers_to_remove.extend(ops.response_remove);
            if action.host_rewrite_specifier.is_none() {
                action.host_rewrite_specifier = ops
                    .authority
                    .map(route_action::HostRewriteSpecifier::HostRewriteLiteral);
            }
        }
        if let Some(hp) = d.and_then(|d| hash_policy(ctx, d)) {
            action.hash_policy.push(hp);
            consistent_hash = true;
        }
    } else {
        let mut clusters = Vec::new();
        for dst in destinations {
            let weight = dst.weight.and_then(|w| u32::try_from(w).ok()).unwrap_or(0);
            let Some(d) = dst.destination.as_ref() else {
                continue;
            };
            // Zero-weight destinations never receive traffic when there are others.
            if weight == 0 {
                continue;
            }
            let mut cw = weighted_cluster::ClusterWeight {
                name: destination_cluster(ctx, d),
                weight: uint32(weight),
                ..Default::default()
            };
            if let Some(headers) = &dst.headers {
                let ops = HeaderOps::of(headers);
                cw.request_headers_to_add = ops.request_add;
                cw.request_headers_to_remove = ops.request_remove;
                cw.response_headers_to_add = ops.response_add;
                cw.response_headers_to_remove = ops.response_remove;
                cw.host_rewrite_specifier = ops.authority.map(
                    weighted_cluster::cluster_weight::HostRewriteSpecifier::HostRewriteLiteral,
                );
            }
            if let Some(hp) = hash_policy(ctx, d) {
                action.hash_policy.push(hp);
                consistent_hash = true;
            }
            clusters.push(cw);
        }
        if clusters.is_empty() {
            notes.push(format!(
                "VirtualService {}/{}: a rule without positive weights goes to BlackHoleCluster",
                vs.namespace, vs.name
            ));
            action.cluster_specifier = Some(route_action::ClusterSpecifier::Cluster(
                names::BLACK_HOLE_CLUSTER.to_string(),
            ));
        } else {
            action.cluster_specifier = Some(route_action::ClusterSpecifier::WeightedClusters(
                WeightedCluster {
                    clusters,
                    ..Default::default()
                },
            ));
        }
    }
    action.retry_policy = retry_policy_of(http.retries.as_ref(), consistent_hash);
    action
}

/// `GetDestinationCluster`: the destination's port, else the service's only port, else the port
/// the request came in on.
pub fn destination_cluster(ctx: &RouteContext<'_, '_>, d: &net::Destination) -> String {
    let service = ctx.scope.service(&d.host);
    let port = d
        .port
        .as_ref()
        .and_then(|p| p.number)
        .or_else(|| match service.map(|s| s.ports.as_slice()) {
            Some([only]) => Some(only.number),
            _ => None,
        })
        .unwrap_or(ctx.listen_port);
    names::outbound_cluster(port, d.subset.as_deref(), &d.host)
}

/// The consistent-hash policy of the destination's DestinationRule (subset and port level
/// included), as the route must carry it.
fn hash_policy(
    ctx: &RouteContext<'_, '_>,
    d: &net::Destination,
) -> Option<route_action::HashPolicy> {
    let service_ns = ctx
        .scope
        .service(&d.host)
        .map_or(ctx.scope.proxy.namespace.as_str(), |s| s.namespace.as_str());
    let dr = ctx.scope.destination_rule(&d.host, service_ns)?;
    let subset = d
        .subset
        .as_deref()
        .and_then(|name| dr.spec.subsets.iter().find(|s| s.name == name));
    let port = d
        .port
        .as_ref()
        .and_then(|p| p.number)
        .unwrap_or(ctx.listen_port);
    EffectivePolicy::of(Some(&dr.spec), subset, port).hash_policy()
}

fn mirror_policy(
    ctx: &RouteContext<'_, '_>,
    d: &net::Destination,
    percent: FractionalPercent,
) -> route_action::RequestMirrorPolicy {
    route_action::RequestMirrorPolicy {
        cluster: destination_cluster(ctx, d),
        runtime_fraction: Some(RuntimeFractionalPercent {
            default_value: Some(percent),
            ..Default::default()
        }),
        trace_sampled: boolean(false),
        ..Default::default()
    }
}

/// `translatePercentToFractionalPercent`: a percentage with decimals, per million.
fn million(p: f64) -> FractionalPercent {
    FractionalPercent {
        numerator: (p * 10_000.0).clamp(0.0, 1_000_000.0) as u32,
        denominator: fractional_percent::DenominatorType::Million as i32,
    }
}

/// `translateIntegerToFractionalPercent`.
fn hundred<T: TryInto<u32>>(p: T) -> FractionalPercent {
    FractionalPercent {
        numerator: p.try_into().unwrap_or(0).min(100),
        denominator: fractional_percent::DenominatorType::Hundred as i32,
    }
}

/// `retry.ConvertPolicy`: Istio's default policy (2 retries on connection failures, refused
/// streams, `unavailable`, `cancelled` and 503, preferring other hosts) overridden by the rule's
/// `retries`; `attempts: 0` disables retries.
pub fn retry_policy_of(
    retries: Option<&net::HttpRetry>,
    consistent_hash: bool,
) -> Option<RetryPolicy> {
    let mut out = RetryPolicy {
        num_retries: uint32(2),
        retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
            .to_string(),
        retriable_status_codes: vec![503],
        host_selection_retry_max_attempts: 5,
        ..Default::default()
    };
    let previous_hosts = || retry_policy::RetryHostPredicate {
        name: names::PREVIOUS_HOSTS_PREDICATE.to_string(),
        config_type: Some(retry_policy::retry_host_predicate::ConfigType::TypedConfig(
            pack(&PreviousHostsPredicate {}),
        )),
    };
    // With consistent hashing a retry must stay on the hashed host.
    if !consistent_hash {
        out.retry_host_predicate = vec![previous_hosts()];
    }
    let Some(r) = retries else { return Some(out) };
    let attempts = r.attempts.unwrap_or(0);
    if attempts <= 0 {
        return None;
    }
    out.num_retries = uint32(u32::try_from(attempts).unwrap_or(u32::MAX));
    if let Some(on) = r.retry_on.as_deref().filter(|s| !s.is_empty()) {
        let mut conditions = Vec::new();
        let mut codes = Vec::new();
        for part in on.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<u32>() {
                // The validator's list of codes Go's `http.StatusText` knows: in `retryOn` they are
                // retriable codes, not condition names.
                Ok(code) if crate::validation::known_http_status(i64::from(code)) => {
                    codes.push(code)
                }
                _ => conditions.push(part),
            }
        }
        let mut retry_on = conditions.join(",");
        if !codes.is_empty() && !retry_on.contains("retriable-status-codes") {
            retry_on.push_str(",retriable-status-codes");
        }
        out.retry_on = retry_on;
        out.retriable_status_codes = codes;
    }
    if let Some(t) = r.per_try_timeout.as_deref().and_then(go_duration) {
        out.per_try_timeout = Some(t);
    }
    if let Some(ignore) = r.retry_ignore_previous_hosts {
        out.retry_host_predicate = if ignore {
            vec![previous_hosts()]
        } else {
            Vec::new()
        };
    }
    if r.retry_remote_localities == Some(true) {
        out.retry_priority = Some(retry_policy::RetryPriority {
            name: names::PREVIOUS_PRIORITIES.to_string(),
            config_type: Some(retry_policy::retry_priority::ConfigType::TypedConfig(pack(
                &PreviousPrioritiesConfig {
                    update_frequency: 2,
                },
            ))),
        });
    }
    if let Some(b) = r.backoff.as_deref().and_then(go_duration) {
        out.retry_back_off = Some(retry_policy::RetryBackOff {
            base_interval: Some(b),
            ..Default::default()
        });
    }
    Some(out)
}

/// gRPC status names as Istio's validator accepts them.
fn grpc_status_code(name: &str) -> Option<u32> {
    const CODES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    CODES
        .iter()
        .position(|c| *c == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// `TranslateFault`: the fault filter's per-route config. Exponential delays and HTTP/2 errors
/// have no Envoy equivalent and are dropped, as in Istio.
fn fault_filter(
    f: &net::HttpFaultInjection,
    vs: &Config<net::VirtualService>,
    notes: &mut Notes,
) -> Option<HttpFault> {
    let mut out = HttpFault::default();
    if let Some(d) = &f.delay {
        let percentage = match (&d.percentage, d.percent) {
            (Some(p), _) => million(p.value),
            (None, p) => hundred(p.unwrap_or(0)),
        };
        match d.fixed_delay.as_deref().and_then(go_duration) {
            Some(fixed) => {
                out.delay = Some(FaultDelay {
                    percentage: Some(percentage),
                    fault_delay_secifier: Some(fault_delay::FaultDelaySecifier::FixedDelay(fixed)),
                });
            }
            None => notes.push(format!(
                "VirtualService {}/{}: only fixed fault delays are translated",
                vs.namespace, vs.name
            )),
        }
    }
    if let Some(a) = &f.abort {
        let error = if let Some(status) = a.http_status.and_then(|s| u32::try_from(s).ok()) {
            Some(fault_abort::ErrorType::HttpStatus(status))
        } else {
            a.grpc_status
                .as_deref()
                .and_then(grpc_status_code)
                .map(fault_abort::ErrorType::GrpcStatus)
        };
        match error {
            Some(error) => {
                out.abort = Some(FaultAbort {
                    percentage: a.percentage.as_ref().map(|p| million(p.value)),
                    error_type: Some(error),
                    ..Default::default()
                });
            }
            None => notes.push(format!(
                "VirtualService {}/{}: only HTTP and gRPC status fault aborts are translated",
                vs.namespace, vs.name
            )),
        }
    }
    (out.delay.is_some() || out.abort.is_some()).then_some(out)
}

/// `GetRouteOperation`: `host:port/path` for a single cluster, else `vs:port/path`.
fn operation(r: &Route, vs_name: &str, port: u32) -> String {
    let path = match r.r#match.as_ref().and_then(|m| m.path_specifier.as_ref()) {
        Some(route_match::PathSpecifier::Prefix(p)) => format!("{p}*"),
        Some(route_match::PathSpecifier::Path(p)) => p.clone(),
        Some(route_match::PathSpecifier::SafeRegex(re)) => re.regex.clone(),
        _ => "/*".to_string(),
    };
    let cluster = match &r.action {
        Some(route::Action::Route(a)) => match &a.cluster_specifier {
            Some(route_action::ClusterSpecifier::Cluster(c)) => Some(c.as_str()),
            _ => None,
        },
        _ => None,
    };
    match cluster.and_then(names::parse_outbound_cluster) {
        Some((port, _, host)) => format!("{host}:{port}{path}"),
        None => format!("{vs_name}:{port}{path}"),
    }
}

/// `BuildDefaultHTTPOutboundRoute`: everything to `cluster`, no timeout, default retries.
pub fn default_route(
    cluster: &str,
    operation: String,
    hash: Option<route_action::HashPolicy>,
) -> Route {
    Route {
        name: names::DEFAULT_ROUTE.to_string(),
        r#match: Some(RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_string())),
            ..Default::default()
        }),
        decorator: Some(Decorator {
            operation,
            ..Default::default()
        }),
        action: Some(route::Action::Route(RouteAction {
            cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(cluster.to_string())),
            timeout: Some(no_timeout()),
            retry_policy: retry_policy_of(None, hash.is_some()),
            hash_policy: hash.into_iter().collect(),
            ..Default::default()
        })),
        ..Default::default()
    }
}
