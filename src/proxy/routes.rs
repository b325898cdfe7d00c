//! Route configurations compiled for the request path: virtual hosts found by `Host` as Envoy
//! finds them (exact, then the longest `*.suffix`, then the longest `prefix.*`, then `*`), and
//! per virtual host the first route whose match holds. Everything that can fail (regexes, typed
//! per-filter configs) fails here, at config time, so the update is NACKed and never half-applied.

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::{
    HeaderValueOption, data_source, header_value_option::HeaderAppendAction,
};
use envoy_types::pb::envoy::config::route::v3::{
    RedirectAction, RetryPolicy, Route as RouteProto, RouteAction, RouteConfiguration,
    VirtualHost as VirtualHostProto, redirect_action, route, route_action, weighted_cluster,
};
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::fault_delay;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::{HttpFault, fault_abort};
use envoy_types::pb::envoy::r#type::v3::{FractionalPercent, fractional_percent};
use http::{HeaderName, HeaderValue};
use regex::Regex;

use super::forwarded::Forwarded;
use super::matcher::{Header, MatcherError, Path, Query};
use crate::xds::types::unpack_any;

/// Why a route configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("route configuration {config}, virtual host {vhost}, route {route:?}: {source}")]
    Matcher {
        config: String,
        vhost: String,
        route: String,
        source: MatcherError,
    },
    #[error("route configuration {config}, virtual host {vhost}, route {route:?}: {message}")]
    Invalid {
        config: String,
        vhost: String,
        route: String,
        message: String,
    },
}

/// The name Istio gives the fault filter, under which routes carry their fault config.
pub const FAULT_FILTER: &str = "envoy.filters.http.fault";

/// A probability, `numerator / denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fraction {
    pub numerator: u32,
    pub denominator: u32,
}

impl Fraction {
    pub const ALWAYS: Fraction = Fraction {
        numerator: 1,
        denominator: 1,
    };

    pub fn of(p: &FractionalPercent) -> Fraction {
        use fractional_percent::DenominatorType as D;
        let denominator = match D::try_from(p.denominator).unwrap_or(D::Hundred) {
            D::Hundred => 100,
            D::TenThousand => 10_000,
            D::Million => 1_000_000,
        };
        Fraction {
            numerator: p.numerator.min(denominator),
            denominator,
        }
    }

    /// Whether a uniformly random `draw` falls inside the fraction.
    pub fn hit(&self, draw: u64) -> bool {
        self.numerator >= self.denominator
            || (draw % u64::from(self.denominator.max(1))) < u64::from(self.numerator)
    }
}

/// How one header is added (Envoy's `HeaderAppendAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Append {
    AppendOrAdd,
    AddIfAbsent,
    OverwriteOrAdd,
    OverwriteIfExists,
}

/// Header mutations of one level (route, weighted cluster, virtual host, route configuration).
#[derive(Debug, Clone, Default)]
pub struct HeaderOps {
    pub add: Vec<(HeaderName, HeaderValue, Append)>,
    pub remove: Vec<HeaderName>,
}

impl HeaderOps {
    fn compile(add: &[HeaderValueOption], remove: &[String]) -> Result<HeaderOps, String> {
        let mut out = HeaderOps::default();
        for option in add {
            let Some(h) = &option.header else { continue };
            let name = HeaderName::from_bytes(h.key.as_bytes())
                .map_err(|_| format!("invalid header name {:?}", h.key))?;
            let value = if h.raw_value.is_empty() {
                HeaderValue::from_str(&h.value)
            } else {
                HeaderValue::from_bytes(&h.raw_value)
            }
            .map_err(|_| format!("invalid value for header {:?}", h.key))?;
            #[allow(deprecated)]
            let legacy_append = option.append.as_ref().map(|b| b.value);
            let action = match legacy_append {
                Some(true) => Append::AppendOrAdd,
                Some(false) => Append::OverwriteOrAdd,
                None => match HeaderAppendAction::try_from(option.append_action) {
                    Ok(HeaderAppendAction::AppendIfExistsOrAdd) => Append::AppendOrAdd,
                    Ok(HeaderAppendAction::AddIfAbsent) => Append::AddIfAbsent,
                    Ok(HeaderAppendAction::OverwriteIfExistsOrAdd) => Append::OverwriteOrAdd,
                    Ok(HeaderAppendAction::OverwriteIfExists) => Append::OverwriteIfExists,
                    Err(_) => {
                        return Err(format!("unknown append action {}", option.append_action));
                    }
                },
            };
            out.add.push((name, value, action));
        }
        for r in remove {
            out.remove.push(
                HeaderName::from_bytes(r.as_bytes())
                    .map_err(|_| format!("invalid header name {r:?}"))?,
            );
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    /// Applies removals, then additions, as Envoy's `HeaderParser::evaluateHeaders`.
    pub fn apply(&self, headers: &mut http::HeaderMap) {
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value, action) in &self.add {
            match action {
                Append::AppendOrAdd => {
                    headers.append(name.clone(), value.clone());
                }
                Append::AddIfAbsent => {
                    if !headers.contains_key(name) {
                        headers.insert(name.clone(), value.clone());
                    }
                }
                Append::OverwriteOrAdd => {
                    headers.insert(name.clone(), value.clone());
                }
                Append::OverwriteIfExists => {
                    if headers.contains_key(name) {
                        headers.insert(name.clone(), value.clone());
                    }
                }
            }
        }
    }
}

/// The retry conditions Ferry honours (Envoy's `x-envoy-retry-on` names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryOn {
    pub five_xx: bool,
    pub gateway_error: bool,
    pub reset: bool,
    pub connect_failure: bool,
    pub retriable_status_codes: bool,
    /// `refused-stream`, `unavailable`, `cancelled` and the other gRPC/HTTP/2 conditions are
    /// treated as resets: the request never reached the application.
    pub refused_stream: bool,
}

impl RetryOn {
    fn parse(list: &str) -> RetryOn {
        let mut on = RetryOn::default();
        for c in list.split(',').map(str::trim) {
            match c {
                "5xx" => on.five_xx = true,
                "gateway-error" => on.gateway_error = true,
                "reset" | "reset-before-request" => on.reset = true,
                "connect-failure" => on.connect_failure = true,
                "retriable-status-codes" => on.retriable_status_codes = true,
                "refused-stream"
                | "unavailable"
                | "cancelled"
                | "resource-exhausted"
                | "deadline-exceeded"
                | "internal"
                | "http3-post-connect-failure" => on.refused_stream = true,
                // Unknown conditions are ignored, as Envoy ignores them.
                _ => {}
            }
        }
        on
    }
}

#[derive(Debug, Clone)]
pub struct Retry {
    pub num_retries: u32,
    pub on: RetryOn,
    pub status_codes: Vec<u16>,
    pub per_try_timeout: Option<Duration>,
}

impl Retry {
    fn compile(p: &RetryPolicy) -> Retry {
        Retry {
            num_retries: p.num_retries.as_ref().map_or(1, |n| n.value),
            on: RetryOn::parse(&p.retry_on),
            status_codes: p
                .retriable_status_codes
                .iter()
                .filter_map(|c| u16::try_from(*c).ok())
                .collect(),
            per_try_timeout: p.per_try_timeout.as_ref().and_then(duration),
        }
    }

    /// Whether a response with `status` should be retried.
    pub fn retries_status(&self, status: u16) -> bool {
        (self.on.five_xx && (500..600).contains(&status))
            || (self.on.gateway_error && matches!(status, 502..=504))
            || (self.on.retriable_status_codes && self.status_codes.contains(&status))
    }

    /// Whether a failure before a response (connect error, reset) should be retried.
    pub fn retries_failure(&self, connect: bool) -> bool {
        self.on.five_xx
            || self.on.gateway_error
            || self.on.reset
            || self.on.refused_stream
            || (connect && self.on.connect_failure)
    }
}

/// Fault injection for one route (the fault filter's per-route config).
#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub delay: Option<(Duration, Fraction)>,
    pub abort: Option<(u16, Fraction)>,
}

impl Fault {
    fn compile(f: &HttpFault) -> Result<Fault, String> {
        let mut out = Fault::default();
        if let Some(d) = &f.delay {
            let fraction = d.percentage.as_ref().map_or(Fraction::ALWAYS, Fraction::of);
            match &d.fault_delay_secifier {
                Some(fault_delay::FaultDelaySecifier::FixedDelay(fixed)) => {
                    out.delay = Some((duration(fixed).unwrap_or_default(), fraction));
                }
                Some(fault_delay::FaultDelaySecifier::HeaderDelay(_)) => {
                    return Err("header-controlled fault delays are not supported".into());
                }
                None => {}
            }
        }
        if let Some(a) = &f.abort {
            let fraction = a.percentage.as_ref().map_or(Fraction::ALWAYS, Fraction::of);
            match &a.error_type {
                Some(fault_abort::ErrorType::HttpStatus(s)) => {
                    let status = u16::try_from(*s)
                        .ok()
                        .filter(|s| (200..600).contains(s))
                        .ok_or_else(|| format!("fault abort status {s} is not 200..599"))?;
                    out.abort = Some((status, fraction));
                }
                Some(fault_abort::ErrorType::GrpcStatus(_)) => {
                    return Err("gRPC-status fault aborts are not supported".into());
                }
                Some(fault_abort::ErrorType::HeaderAbort(_)) => {
                    return Err("header-controlled fault aborts are not supported".into());
                }
                None => {}
            }
        }
        Ok(out)
    }
}

/// Where a forwarded request goes.
#[derive(Debug, Clone)]
pub enum Clusters {
    One(String),
    /// Weighted clusters with their running total, for a single random draw.
    Weighted {
        clusters: Vec<WeightedCluster>,
        total: u64,
    },
}

#[derive(Debug, Clone)]
pub struct WeightedCluster {
    pub name: String,
    pub weight: u32,
    pub request_headers: HeaderOps,
    pub response_headers: HeaderOps,
    pub host_rewrite: Option<HeaderValue>,
}

#[derive(Debug, Clone)]
pub struct Mirror {
    pub cluster: String,
    pub fraction: Fraction,
}

/// A route's forwarding action.
#[derive(Debug, Clone)]
pub struct Forward {
    pub clusters: Clusters,
    pub prefix_rewrite: Option<String>,
    pub regex_rewrite: Option<(Regex, String)>,
    pub host_rewrite: Option<HeaderValue>,
    /// `None`: no timeout (Istio's default, `0s`).
    pub timeout: Option<Duration>,
    pub retry: Option<Retry>,
    pub mirrors: Vec<Mirror>,
    /// What consistent hashing hashes of the request.
    pub hash_policy: super::hash_policy::HashPolicies,
}

impl Forward {
    /// Picks the destination for one request from a uniformly random `draw`.
    pub fn pick(&self, draw: u64) -> (&str, Option<&WeightedCluster>) {
        match &self.clusters {
            Clusters::One(name) => (name, None),
            Clusters::Weighted { clusters, total } => {
                let mut point = draw % (*total).max(1);
                for c in clusters {
                    if point < u64::from(c.weight) {
                        return (&c.name, Some(c));
                    }
                    point -= u64::from(c.weight);
                }
                // Unreachable with a positive total; the last cluster is a safe answer.
                clusters
                    .last()
                    .map_or(("", None), |c| (c.name.as_str(), Some(c)))
            }
        }
    }

    /// The upstream path: `prefix_rewrite` replaces the matched prefix (or the whole path for
    /// an exact match), a regex rewrite substitutes in the path and keeps the query.
    /// The path and query to send upstream after this route's rewrite, if it has one. Always
    /// an origin-form path: a rewrite that leaves none (`^/api(.*)$` → `\1` on `/api`, or on
    /// `/api?b=1`) starts it at `/`.
    pub fn rewrite_path(&self, route: &Route, path_and_query: &str) -> Option<String> {
        // Most routes rewrite nothing: asked first, before the path is searched for its query.
        if self.regex_rewrite.is_none() && self.prefix_rewrite.is_none() {
            return None;
        }
        let (path, query) = match path_and_query.find('?') {
            Some(i) => path_and_query.split_at(i),
            None => (path_and_query, ""),
        };
        let rewritten = if let Some((re, substitution)) = &self.regex_rewrite {
            // Envoy's substitution uses `\1`; the regex crate wants `${1}`.
            let rewritten = re.replace_all(path, substitution.as_str());
            format!("{rewritten}{query}")
        } else {
            let prefix = self.prefix_rewrite.as_ref()?;
            let matched_len = match &route.path {
                Path::Prefix(p) | Path::Separated(p) => p.len().min(path_and_query.len()),
                Path::Exact(_) => path.len(),
                // Envoy refuses prefix_rewrite on regex routes; replace the whole path.
                Path::Regex(_) => path.len(),
            };
            let rest = path_and_query.get(matched_len..).unwrap_or("");
            format!("{prefix}{rest}")
        };
        Some(if rewritten.starts_with('/') {
            rewritten
        } else {
            format!("/{rewritten}")
        })
    }
}

/// A route's redirect action.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<u32>,
    pub path: Option<String>,
    pub prefix_rewrite: Option<String>,
    pub status: u16,
    pub strip_query: bool,
}

impl Redirect {
    fn compile(r: &RedirectAction) -> Result<Redirect, String> {
        use redirect_action::SchemeRewriteSpecifier as S;
        use redirect_action::{PathRewriteSpecifier as P, RedirectResponseCode as C};
        let status = match C::try_from(r.response_code) {
            Ok(C::MovedPermanently) => 301,
            Ok(C::Found) => 302,
            Ok(C::SeeOther) => 303,
            Ok(C::TemporaryRedirect) => 307,
            Ok(C::PermanentRedirect) => 308,
            Err(_) => return Err(format!("unknown redirect code {}", r.response_code)),
        };
        let scheme = match &r.scheme_rewrite_specifier {
            Some(S::HttpsRedirect(true)) => Some("https".to_string()),
            Some(S::SchemeRedirect(s)) if !s.is_empty() => Some(s.to_ascii_lowercase()),
            _ => None,
        };
        let (path, prefix_rewrite) = match &r.path_rewrite_specifier {
            Some(P::PathRedirect(p)) if !p.is_empty() => (Some(p.clone()), None),
            Some(P::PrefixRewrite(p)) => (None, Some(p.clone())),
            Some(P::RegexRewrite(_)) => return Err("regex redirects are not supported".into()),
            _ => (None, None),
        };
        Ok(Redirect {
            scheme,
            host: Some(r.host_redirect.clone()).filter(|h| !h.is_empty()),
            port: Some(r.port_redirect).filter(|p| *p != 0),
            path,
            prefix_rewrite,
            status,
            strip_query: r.strip_query,
        })
    }

    /// The `Location` for a request to `scheme://host` + `path_and_query`, matched by `route`.
    pub fn location(
        &self,
        route: &Route,
        scheme: &str,
        host: &str,
        path_and_query: &str,
    ) -> String {
        let scheme = self.scheme.as_deref().unwrap_or(scheme);
        let (req_host, req_port) = split_host_port(host);
        let host_only = self
            .host
            .as_deref()
            .map_or(req_host, |h| split_host_port(h).0);
        let port = match (self.port, self.host.as_deref().map(split_host_port)) {
            (Some(p), _) => Some(p.to_string()),
            (None, Some((_, Some(p)))) => Some(p.to_string()),
            (None, Some((_, None))) => None,
            // Scheme changes drop the request's port, as Envoy does.
            (None, None) if self.scheme.is_some() => None,
            (None, None) => req_port.map(str::to_string),
        };
        let (path, query) = match path_and_query.find('?') {
            Some(i) => path_and_query.split_at(i),
            None => (path_and_query, ""),
        };
        let mut new_path = match (&self.path, &self.prefix_rewrite) {
            (Some(p), _) => p.clone(),
            (None, Some(prefix)) => {
                let matched = match &route.path {
                    Path::Prefix(p) | Path::Separated(p) => p.len().min(path.len()),
                    _ => path.len(),
                };
                format!("{prefix}{}", path.get(matched..).unwrap_or(""))
            }
            (None, None) => path.to_string(),
        };
        // A path_redirect with its own query replaces the request's.
        if !self.strip_query && !new_path.contains('?') {
            new_path.push_str(query);
        }
        match port {
            Some(p) => format!("{scheme}://{host_only}:{p}{new_path}"),
            None => format!("{scheme}://{host_only}{new_path}"),
        }
    }
}

/// Splits `host[:port]`, leaving bracketed IPv6 literals whole.
pub fn split_host_port(host: &str) -> (&str, Option<&str>) {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let (addr, after) = host.split_at(end + 2);
            return (addr, after.strip_prefix(':'));
        }
        return (host, None);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (host, None),
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    Forward(Box<Forward>),
    Redirect(Redirect),
    Direct { status: u16, body: String },
}

/// One compiled route.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub path: Path,
    pub case_sensitive: bool,
    pub headers: Vec<Header>,
    pub query: Vec<Query>,
    pub runtime_fraction: Option<Fraction>,
    pub action: Action,
    pub request_headers: HeaderOps,
    pub response_headers: HeaderOps,
    pub fault: Option<Fault>,
}

/// What a route match looks at.
pub struct RequestView<'a> {
    pub method: &'a str,
    pub authority: &'a str,
    pub scheme: &'a str,
    /// Path and query, as received.
    pub path_and_query: &'a str,
    pub headers: &'a http::HeaderMap,
    /// What the connection manager makes of `x-forwarded-proto` and `x-forwarded-for`: matches
    /// see them as the request goes on, as Envoy's do.
    pub forwarded: Forwarded,
}

impl RequestView<'_> {
    /// The path without its query.
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query, |(p, _)| p)
    }

    /// A header's value (repeated ones joined by `,`), pseudo-headers included.
    pub fn header(&self, name: &str) -> Option<String> {
        match name {
            ":method" => Some(self.method.to_string()),
            ":authority" | "host" => Some(self.authority.to_string()),
            ":path" => Some(self.path_and_query.to_string()),
            ":scheme" => Some(self.scheme.to_string()),
            "x-forwarded-proto" => {
                let sent = self.joined(name);
                Some(self.forwarded.proto(sent.as_deref()).to_string())
            }
            "x-forwarded-for" => match self
                .forwarded
                .forwarded_for(self.headers.get_all(name).iter().map(|v| v.as_bytes()))
            {
                Some(out) => Some(String::from_utf8_lossy(&out).into_owned()),
                None => self.joined(name),
            },
            _ => self.joined(name),
        }
    }

    /// A header's lines joined by `,`, as the client sent them.
    fn joined(&self, name: &str) -> Option<String> {
        let mut values = self.headers.get_all(name).iter().peekable();
        values.peek()?;
        let joined: Vec<&str> = values.filter_map(|v| v.to_str().ok()).collect();
        Some(joined.join(","))
    }

    fn query_param(&self, name: &str) -> Option<&str> {
        let (_, query) = self.path_and_query.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }
}

impl Route {
    fn matches(&self, req: &RequestView<'_>, draw: u64) -> bool {
        let path_ok = match &self.path {
            // Prefixes see the whole `:path`, as Envoy's prefix match does.
            Path::Prefix(_) => self.path.matches(req.path_and_query, self.case_sensitive),
            _ => self.path.matches(req.path(), self.case_sensitive),
        };
        path_ok
            && self
                .headers
                .iter()
                .all(|h| h.matches(req.header(&h.name).as_deref()))
            && self
                .query
                .iter()
                .all(|q| q.matches(req.query_param(&q.name)))
            && self.runtime_fraction.is_none_or(|f| f.hit(draw))
    }
}

#[derive(Debug, Clone)]
pub struct VirtualHost {
    pub name: String,
    /// `require_tls`: plaintext requests are redirected to https (Gateway `httpsRedirect`).
    pub require_tls: bool,
    pub routes: Vec<Route>,
    pub request_headers: HeaderOps,
    pub response_headers: HeaderOps,
    /// `include_request_attempt_count`: each upstream request says which try it is in
    /// `x-envoy-attempt-count` (Istio sets it on every virtual host).
    pub attempt_count: bool,
}

/// Domains to virtual hosts, searched as Envoy searches: exact, then the longest `*suffix`,
/// then the longest `prefix*`, then `*`.
#[derive(Debug, Clone, Default)]
struct DomainIndex {
    /// foldhash, as the runtime's tables by name: SipHash of the request's host was the
    /// larger part of finding its virtual host. The keys come from configuration; a client's
    /// host only looks up, and each map has its own seed (foldhash's `RandomState`).
    exact: super::state::ByName<usize>,
    /// `*.example.com` as (".example.com", vhost), longest first.
    suffixes: Vec<(String, usize)>,
    /// `example.*` as ("example.", vhost), longest first.
    prefixes: Vec<(String, usize)>,
    any: Option<usize>,
}

impl DomainIndex {
    /// Adds `domain` (lowercase); `false` if it is already taken.
    fn insert(&mut self, domain: &str, index: usize) -> bool {
        if domain == "*" {
            self.any.replace(index).is_none()
        } else if let Some(suffix) = domain.strip_prefix('*') {
            let new = !self.suffixes.iter().any(|(s, _)| s == suffix);
            self.suffixes.push((suffix.to_string(), index));
            new
        } else if let Some(prefix) = domain.strip_suffix('*') {
            let new = !self.prefixes.iter().any(|(p, _)| p == prefix);
            self.prefixes.push((prefix.to_string(), index));
            new
        } else {
            self.exact.insert(domain.to_string(), index).is_none()
        }
    }

    fn sort(&mut self) {
        self.suffixes.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        self.prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    }

    /// The match other than `*`.
    fn find_specific(&self, host: &str) -> Option<usize> {
        self.exact
            .get(host)
            .copied()
            .or_else(|| {
                self.suffixes
                    .iter()
                    .find(|(s, _)| host.len() > s.len() && host.ends_with(s.as_str()))
                    .map(|(_, i)| *i)
            })
            .or_else(|| {
                self.prefixes
                    .iter()
                    .find(|(p, _)| host.len() > p.len() && host.starts_with(p.as_str()))
                    .map(|(_, i)| *i)
            })
    }
}

/// A compiled RouteConfiguration.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pub name: String,
    pub virtual_hosts: Vec<VirtualHost>,
    domains: DomainIndex,
    /// Domains written `host:*` (Istio's gateways), by `host`: any port matches.
    any_port: DomainIndex,
    pub request_headers: HeaderOps,
    pub response_headers: HeaderOps,
}

impl RouteTable {
    pub fn compile(rc: &RouteConfiguration) -> Result<RouteTable, RouteError> {
        let invalid = |vhost: &str, route: &str, message: String| RouteError::Invalid {
            config: rc.name.clone(),
            vhost: vhost.to_string(),
            route: route.to_string(),
            message,
        };
        let mut table = RouteTable {
            name: rc.name.clone(),
            request_headers: HeaderOps::compile(
                &rc.request_headers_to_add,
                &rc.request_headers_to_remove,
            )
            .map_err(|m| invalid("", "", m))?,
            response_headers: HeaderOps::compile(
                &rc.response_headers_to_add,
                &rc.response_headers_to_remove,
            )
            .map_err(|m| invalid("", "", m))?,
            ..RouteTable::default()
        };
        for (index, vh) in rc.virtual_hosts.iter().enumerate() {
            table.virtual_hosts.push(compile_vhost(&rc.name, vh)?);
            for domain in &vh.domains {
                let d = domain.to_ascii_lowercase();
                let fresh = match d.strip_suffix(":*") {
                    Some(host) => table.any_port.insert(host, index),
                    None => table.domains.insert(&d, index),
                };
                // Envoy rejects a domain served by two virtual hosts.
                if !fresh {
                    return Err(invalid(
                        &vh.name,
                        "",
                        format!("domain {d:?} is in more than one virtual host"),
                    ));
                }
            }
        }
        table.domains.sort();
        table.any_port.sort();
        Ok(table)
    }

    /// The virtual host for `authority` (matched case-insensitively, port included, as Envoy
    /// matches unless the listener strips ports).
    pub fn virtual_host(&self, authority: &str) -> Option<&VirtualHost> {
        // Most requests already send a lowercase host: copy only when there is something to fold.
        let host = if authority.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(authority.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(authority)
        };
        // `host:*` is a prefix wildcard to Envoy: it loses to exact and suffix matches but wins
        // over `*`.
        let index = self
            .domains
            .find_specific(&host)
            .or_else(|| match split_host_port(&host) {
                (name, Some(_)) => self.any_port.find_specific(name).or(self.any_port.any),
                (_, None) => None,
            })
            .or(self.domains.any)?;
        self.virtual_hosts.get(index)
    }

    /// The virtual host and the first route matching `req`; `draw` is a random number for
    /// runtime fractions.
    pub fn route(&self, req: &RequestView<'_>, draw: u64) -> Option<(&VirtualHost, &Route)> {
        let vh = self.virtual_host(req.authority)?;
        let route = vh.routes.iter().find(|r| r.matches(req, draw))?;
        Some((vh, route))
    }
}

fn compile_vhost(config: &str, vh: &VirtualHostProto) -> Result<VirtualHost, RouteError> {
    let mut routes = Vec::with_capacity(vh.routes.len());
    for r in &vh.routes {
        routes.push(compile_route(config, &vh.name, r)?);
    }
    let invalid = |message| RouteError::Invalid {
        config: config.to_string(),
        vhost: vh.name.clone(),
        route: String::new(),
        message,
    };
    Ok(VirtualHost {
        name: vh.name.clone(),
        require_tls: vh.require_tls != 0,
        attempt_count: vh.include_request_attempt_count,
        routes,
        request_headers: HeaderOps::compile(
            &vh.request_headers_to_add,
            &vh.request_headers_to_remove,
        )
        .map_err(invalid)?,
        response_headers: HeaderOps::compile(
            &vh.response_headers_to_add,
            &vh.response_headers_to_remove,
        )
        .map_err(invalid)?,
    })
}

fn compile_route(config: &str, vhost: &str, r: &RouteProto) -> Result<Route, RouteError> {
    let matcher_err = |source| RouteError::Matcher {
        config: config.to_string(),
        vhost: vhost.to_string(),
        route: r.name.clone(),
        source,
    };
    let invalid = |message: String| RouteError::Invalid {
        config: config.to_string(),
        vhost: vhost.to_string(),
        route: r.name.clone(),
        message,
    };
    let m = r.r#match.clone().unwrap_or_default();
    let (path, case_sensitive) = Path::compile(&m).map_err(matcher_err)?;
    let headers = m
        .headers
        .iter()
        .map(Header::compile)
        .collect::<Result<_, _>>()
        .map_err(matcher_err)?;
    let query = m
        .query_parameters
        .iter()
        .map(Query::compile)
        .collect::<Result<_, _>>()
        .map_err(matcher_err)?;
    let runtime_fraction = m
        .runtime_fraction
        .as_ref()
        .and_then(|rf| rf.default_value.as_ref())
        .map(Fraction::of);
    let action = match &r.action {
        Some(route::Action::Route(a)) => {
            Action::Forward(Box::new(compile_forward(a).map_err(invalid)?))
        }
        Some(route::Action::Redirect(rd)) => {
            Action::Redirect(Redirect::compile(rd).map_err(invalid)?)
        }
        Some(route::Action::DirectResponse(d)) => {
            let status = u16::try_from(d.status)
                .ok()
                .filter(|s| (200..600).contains(s))
                .ok_or_else(|| invalid(format!("direct response status {}", d.status)))?;
            let body = match d.body.as_ref().and_then(|b| b.specifier.as_ref()) {
                Some(data_source::Specifier::InlineString(s)) => s.clone(),
                Some(data_source::Specifier::InlineBytes(b)) => {
                    String::from_utf8_lossy(b).into_owned()
                }
                Some(_) => return Err(invalid("direct response bodies from files".into())),
                None => String::new(),
            };
            Action::Direct { status, body }
        }
        Some(route::Action::NonForwardingAction(_)) | Some(route::Action::FilterAction(_)) => {
            return Err(invalid("non-forwarding actions are not supported".into()));
        }
        None => return Err(invalid("the route has no action".into())),
    };
    let fault = match r.typed_per_filter_config.get(FAULT_FILTER) {
        Some(any) => {
            let f: HttpFault = unpack_any(any).map_err(|e| invalid(e.to_string()))?;
            Some(Fault::compile(&f).map_err(invalid)?)
        }
        None => None,
    };
    Ok(Route {
        name: r.name.clone(),
        path,
        case_sensitive,
        headers,
        query,
        runtime_fraction,
        action,
        request_headers: HeaderOps::compile(
            &r.request_headers_to_add,
            &r.request_headers_to_remove,
        )
        .map_err(invalid)?,
        response_headers: HeaderOps::compile(
            &r.response_headers_to_add,
            &r.response_headers_to_remove,
        )
        .map_err(invalid)?,
        fault,
    })
}

fn compile_forward(a: &RouteAction) -> Result<Forward, String> {
    use route_action::{ClusterSpecifier as C, HostRewriteSpecifier as H};
    let clusters = match &a.cluster_specifier {
        Some(C::Cluster(name)) => Clusters::One(name.clone()),
        Some(C::WeightedClusters(w)) => {
            let mut clusters = Vec::new();
            let mut total = 0u64;
            for c in &w.clusters {
                let weight = c.weight.as_ref().map_or(0, |w| w.value);
                if weight == 0 {
                    continue;
                }
                total += u64::from(weight);
                clusters.push(WeightedCluster {
                    name: c.name.clone(),
                    weight,
                    request_headers: HeaderOps::compile(
                        &c.request_headers_to_add,
                        &c.request_headers_to_remove,
                    )?,
                    response_headers: HeaderOps::compile(
                        &c.response_headers_to_add,
                        &c.response_headers_to_remove,
                    )?,
                    host_rewrite: match &c.host_rewrite_specifier {
                        Some(
                            weighted_cluster::cluster_weight::HostRewriteSpecifier::HostRewriteLiteral(h),
                        ) => Some(header_value(h)?),
                        None => None,
                    },
                });
            }
            if clusters.is_empty() {
                return Err("weighted clusters with no positive weight".into());
            }
            Clusters::Weighted { clusters, total }
        }
        Some(C::ClusterHeader(_)) => return Err("cluster_header routing is not supported".into()),
        Some(_) => return Err("this cluster specifier is not supported".into()),
        None => return Err("the route action names no cluster".into()),
    };
    let regex_rewrite = match &a.regex_rewrite {
        Some(r) => {
            let pattern = r.pattern.as_ref().map(|p| p.regex.as_str()).unwrap_or("");
            let re = Regex::new(pattern).map_err(|e| format!("invalid regex {pattern:?}: {e}"))?;
            Some((re, envoy_substitution(&r.substitution)))
        }
        None => None,
    };
    let host_rewrite = match &a.host_rewrite_specifier {
        Some(H::HostRewriteLiteral(h)) => Some(header_value(h)?),
        Some(H::AutoHostRewrite(_)) | Some(H::HostRewriteHeader(_)) => None,
        Some(_) => None,
        None => None,
    };
    let mut mirrors = Vec::new();
    for m in &a.request_mirror_policies {
        let fraction = m
            .runtime_fraction
            .as_ref()
            .and_then(|rf| rf.default_value.as_ref())
            .map_or(Fraction::ALWAYS, Fraction::of);
        mirrors.push(Mirror {
            cluster: m.cluster.clone(),
            fraction,
        });
    }
    Ok(Forward {
        clusters,
        prefix_rewrite: Some(a.prefix_rewrite.clone()).filter(|p| !p.is_empty()),
        regex_rewrite,
        host_rewrite,
        // Envoy's default route timeout is 15 s; Istio always sets one (`0s` = none).
        timeout: match &a.timeout {
            Some(t) => duration(t).filter(|d| !d.is_zero()),
            None => Some(Duration::from_secs(15)),
        },
        retry: a.retry_policy.as_ref().map(Retry::compile),
        mirrors,
        hash_policy: super::hash_policy::HashPolicies::compile(&a.hash_policy)?,
    })
}

fn header_value(h: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(h).map_err(|_| format!("invalid host rewrite {h:?}"))
}

/// Envoy (RE2) writes capture groups as `\1`; the regex crate as `${1}`.
fn envoy_substitution(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(d)) if d.is_ascii_digit() => {
                out.push_str(&format!("${{{d}}}"));
                chars.next();
            }
            ('$', _) => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out
}

/// A protobuf duration as a std one; negative durations are `None`.
pub fn duration(d: &envoy_types::pb::google::protobuf::Duration) -> Option<Duration> {
    let secs = u64::try_from(d.seconds).ok()?;
    let nanos = u32::try_from(d.nanos).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests;
