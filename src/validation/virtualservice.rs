//! VirtualService (`ValidateVirtualService` and `virtualservice.go`), including the reachability
//! warnings `istioctl analyze` reports as IST0130/IST0131.

use std::collections::{BTreeMap, HashMap};

use super::common::{
    is_jwt_claim_route, validate_cors_header_name, validate_export_to, validate_gateway_names,
    validate_header_op_name, validate_header_op_name_with_authority, validate_header_value,
    validate_match_header_name,
};
use super::durations::{has_sub_seconds, validate_duration};
use super::hosts::{
    host_matches, host_subset_of, is_ip, validate_ip_subnet, validate_wildcard_domain,
    validate_wildcard_domain_for_gateway_vs,
};
use super::names::{is_dns1123_label, validate_labels};
use super::percent::{go_f, validate_percentage, validate_weights};
use super::ports::validate_port;
use super::regex::{validate_regexp, validate_string_match, validate_string_match_regexp};
use super::{Analysis, Finding, Out, Severity};
use crate::config::networking::{
    CorsPolicy, Destination, Headers, HttpMatchRequest, HttpRoute, RouteDestination, VirtualService,
};
use crate::config::types::StringMatch;

pub fn validate(ns: &str, vs: &VirtualService, out: &mut Out) {
    let delegate = vs.hosts.is_empty();
    if delegate {
        if !vs.gateways.is_empty() {
            out.error(
                ".spec.gateways",
                "delegate virtual service must have no gateways specified",
            );
        }
        if !vs.tls.is_empty() {
            out.error(
                ".spec.tls",
                "delegate virtual service must have no tls route specified",
            );
        }
        if !vs.tcp.is_empty() {
            out.error(
                ".spec.tcp",
                "delegate virtual service must have no tcp route specified",
            );
        }
    }
    if !vs.gateways.is_empty() {
        validate_gateway_names(&vs.gateways, ".spec.gateways", out);
    }
    let applies_to_gateway = !vs.gateways.is_empty() && !vs.gateways.iter().any(|g| g == "mesh");
    let applies_to_mesh = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
    if !applies_to_gateway {
        let gws = format!("[{}]", vs.gateways.join(" "));
        for (i, h) in vs.http.iter().enumerate() {
            for (j, m) in h.matches.iter().enumerate() {
                for (field, map) in [
                    ("headers", &m.headers),
                    ("withoutHeaders", &m.without_headers),
                ] {
                    for k in map.keys().filter(|k| is_jwt_claim_route(k)) {
                        out.error(
                            &format!(".spec.http[{i}].match[{j}].{field}"),
                            format!(
                                "JWT claim based routing (key: {k}) is only supported for gateway, found no gateways: {gws}"
                            ),
                        );
                    }
                }
            }
        }
    }
    let sni = vs
        .tls
        .iter()
        .any(|t| t.matches.iter().any(|m| !m.sni_hosts.is_empty()));
    let mut all_hosts_valid = true;
    for (i, h) in vs.hosts.iter().enumerate() {
        let path = format!(".spec.hosts[{i}]");
        let e = if applies_to_gateway {
            validate_wildcard_domain_for_gateway_vs(sni, h)
        } else {
            validate_wildcard_domain(h)
        };
        match e {
            Some(e) if !is_ip(h) => {
                out.error(&path, e);
                all_hosts_valid = false;
            }
            _ => {
                if applies_to_mesh && h == "*" {
                    out.error(
                        &path,
                        "wildcard host * is not allowed for virtual services bound to the mesh gateway",
                    );
                }
            }
        }
    }
    if all_hosts_valid {
        for i in 0..vs.hosts.len() {
            for j in i + 1..vs.hosts.len() {
                if host_matches(&vs.hosts[i], &vs.hosts[j]) {
                    out.error(
                        &format!(".spec.hosts[{j}]"),
                        format!(
                            "duplicate hosts in virtual service: {} & {}",
                            vs.hosts[i], vs.hosts[j]
                        ),
                    );
                }
            }
        }
    }
    if vs.http.is_empty() && vs.tcp.is_empty() && vs.tls.is_empty() {
        out.error(
            ".spec",
            "http, tcp or tls must be provided in virtual service",
        );
    }
    for (i, h) in vs.http.iter().enumerate() {
        validate_http_route(h, delegate, &format!(".spec.http[{i}]"), out);
    }
    let is_gateway = !vs.gateways.iter().any(|g| g == "mesh");
    for (i, t) in vs.tls.iter().enumerate() {
        let base = format!(".spec.tls[{i}]");
        if t.matches.is_empty() {
            out.error(&base, "TLS route must have at least one match condition");
        }
        for (j, m) in t.matches.iter().enumerate() {
            let mbase = format!("{base}.match[{j}]");
            if m.sni_hosts.is_empty() {
                out.error(&mbase, "TLS match must have at least one SNI host");
            }
            for (k, h) in m.sni_hosts.iter().enumerate() {
                let path = format!("{mbase}.sniHosts[{k}]");
                let e = if is_gateway {
                    validate_wildcard_domain_for_gateway_vs(true, h)
                } else {
                    validate_wildcard_domain(h)
                };
                match e {
                    Some(_) if is_ip(h) => out.warn(
                        &path,
                        format!(
                            "using an IP address ({h:?}) goes against SNI spec and most clients do not support this"
                        ),
                    ),
                    Some(e) => out.error(&path, e),
                    None => {
                        if !vs.hosts.iter().any(|vh| host_subset_of(h, vh)) {
                            out.error(
                                &path,
                                format!(
                                    "SNI host {h:?} is not a compatible subset of any of the virtual service hosts: [{}]",
                                    vs.hosts.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            for (k, s) in m.destination_subnets.iter().enumerate() {
                out.check(
                    &format!("{mbase}.destinationSubnets[{k}]"),
                    validate_ip_subnet(s),
                );
            }
            if let Some(p) = m.port.filter(|p| *p != 0) {
                out.check(&format!("{mbase}.port"), validate_port(p.into()));
            }
            out.check_all(
                &format!("{mbase}.sourceLabels"),
                validate_labels(&m.source_labels),
            );
            validate_gateway_names(&m.gateways, &format!("{mbase}.gateways"), out);
        }
        if t.route.is_empty() {
            out.error(&base, "TLS route is required");
        }
        validate_route_destinations(&t.route, &base, out);
    }
    for (i, t) in vs.tcp.iter().enumerate() {
        let base = format!(".spec.tcp[{i}]");
        for (j, m) in t.matches.iter().enumerate() {
            let mbase = format!("{base}.match[{j}]");
            for (k, s) in m.destination_subnets.iter().enumerate() {
                out.check(
                    &format!("{mbase}.destinationSubnets[{k}]"),
                    validate_ip_subnet(s),
                );
            }
            if let Some(p) = m.port.filter(|p| *p != 0) {
                out.check(&format!("{mbase}.port"), validate_port(p.into()));
            }
            out.check_all(
                &format!("{mbase}.sourceLabels"),
                validate_labels(&m.source_labels),
            );
            validate_gateway_names(&m.gateways, &format!("{mbase}.gateways"), out);
        }
        if t.route.is_empty() {
            out.error(&base, "TCP route is required");
        }
        validate_route_destinations(&t.route, &base, out);
    }
    validate_export_to(ns, &vs.export_to, false, false, out);
    reachability(vs, out);
}

fn validate_route_destinations(route: &[RouteDestination], base: &str, out: &mut Out) {
    for (i, d) in route.iter().enumerate() {
        let path = format!("{base}.route[{i}]");
        match &d.destination {
            None => out.error(&path, "destination is required"),
            Some(dst) => validate_destination(dst, &format!("{path}.destination"), out),
        }
    }
    let weights: Vec<i64> = route.iter().map(|d| d.weight.unwrap_or(0)).collect();
    weight_findings(&weights, base, out);
}

fn weight_findings(weights: &[i64], base: &str, out: &mut Out) {
    let (each, zero) = validate_weights(weights);
    for (i, e) in each {
        out.error(&format!("{base}.route[{i}].weight"), e);
    }
    if let Some(e) = zero {
        out.error(&format!("{base}.route[0].weight"), e);
    }
}

/// `validateDestination`.
pub fn validate_destination(d: &Destination, base: &str, out: &mut Out) {
    let host_path = format!("{base}.host");
    if d.host == "*" {
        out.error(&host_path, "invalid destination host *");
    } else {
        out.check(&host_path, validate_wildcard_domain(&d.host));
    }
    if let Some(s) = d.subset.as_deref().filter(|s| !s.is_empty())
        && !is_dns1123_label(s)
    {
        out.error(
            &format!("{base}.subset"),
            format!("subset name is invalid: {s}"),
        );
    }
    if let Some(p) = &d.port {
        out.check(
            &format!("{base}.port.number"),
            validate_port(p.number.unwrap_or(0).into()),
        );
    }
}

fn validate_header_ops(h: &Headers, base: &str, out: &mut Out) {
    if let Some(req) = &h.request {
        for (field, map) in [("add", &req.add), ("set", &req.set)] {
            for (k, v) in map {
                let path = format!("{base}.request.{field}.{k}");
                out.check(&path, validate_header_op_name_with_authority(k));
                out.check(&path, validate_header_value(v));
            }
        }
        for (i, k) in req.remove.iter().enumerate() {
            out.check(
                &format!("{base}.request.remove[{i}]"),
                validate_header_op_name(k),
            );
        }
    }
    if let Some(resp) = &h.response {
        for (field, map) in [("add", &resp.add), ("set", &resp.set)] {
            for (k, v) in map {
                let path = format!("{base}.response.{field}.{k}");
                out.check(&path, validate_header_op_name(k));
                out.check(&path, validate_header_value(v));
            }
        }
        for (i, k) in resp.remove.iter().enumerate() {
            out.check(
                &format!("{base}.response.remove[{i}]"),
                validate_header_op_name(k),
            );
        }
    }
}

const CORS_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*",
];

fn validate_cors(c: &CorsPolicy, base: &str, out: &mut Out) {
    for (i, o) in c.allow_origins.iter().enumerate() {
        let path = format!("{base}.allowOrigins[{i}]");
        let value = match o {
            StringMatch::Exact(s) | StringMatch::Prefix(s) | StringMatch::Regex(s) => s,
        };
        if value.is_empty() {
            out.error(&path, "'' is not a valid match type for CORS allow origins");
        } else {
            out.check(
                &format!("{path}.regex"),
                validate_string_match_regexp(o, "corsPolicy.allowOrigins"),
            );
        }
    }
    for (i, m) in c.allow_methods.iter().enumerate() {
        if !CORS_METHODS.contains(&m.as_str()) {
            out.error(
                &format!("{base}.allowMethods[{i}]"),
                format!("{m:?} is not a supported HTTP method"),
            );
        }
    }
    for (field, list) in [
        ("allowHeaders", &c.allow_headers),
        ("exposeHeaders", &c.expose_headers),
    ] {
        for (i, h) in list.iter().enumerate() {
            out.check(
                &format!("{base}.{field}[{i}]"),
                validate_cors_header_name(h),
            );
        }
    }
    if let Some(m) = &c.max_age {
        let path = format!("{base}.maxAge");
        out.check(&path, validate_duration(m));
        if has_sub_seconds(m) {
            out.error(
                &path,
                "max_age duration is accurate only to seconds precision",
            );
        }
    }
}

const GRPC_STATUS: &[&str] = &[
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

/// `validateHTTPStatus`: Istio's bound is 600 inclusive, whatever the text says.
fn validate_http_status(s: i64) -> Option<String> {
    (!(200..=600).contains(&s)).then(|| format!("HTTP status {s} is not in range 200-599"))
}

const RETRY_ON: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// Codes Go's `http.StatusText` knows.
pub(crate) fn known_http_status(code: i64) -> bool {
    matches!(
        code,
        100..=103
            | 200..=208
            | 226
            | 300..=305
            | 307
            | 308
            | 400..=418
            | 421..=426
            | 428
            | 429
            | 431
            | 451
            | 500..=508
            | 510
            | 511
    ) && code != 306
}

fn validate_http_route(h: &HttpRoute, delegate: bool, base: &str, out: &mut Out) {
    let name = h.name.as_deref().unwrap_or_default();
    // (a) conflicts; a root route carries `delegate` in a VS with hosts.
    if h.delegate.is_some() && !delegate {
        if h.redirect.is_some() {
            out.error(
                base,
                format!("root HTTP route {name} must not specify redirect"),
            );
        }
        if !h.route.is_empty() {
            out.error(
                base,
                format!("root HTTP route {name} must not specify route"),
            );
        }
    } else {
        if delegate && h.delegate.is_some() {
            out.error(base, "delegate HTTP route cannot contain delegate");
        }
        if h.redirect.is_some() {
            if !h.route.is_empty() {
                out.error(base, "HTTP route cannot contain both route and redirect");
            }
            if h.fault.is_some() {
                out.error(base, "HTTP route cannot contain both fault and redirect");
            }
            if h.rewrite.is_some() {
                out.error(
                    base,
                    "HTTP route rule cannot contain both rewrite and redirect",
                );
            }
            if h.direct_response.is_some() {
                out.error(
                    base,
                    "HTTP route rule cannot contain both direct_response and redirect",
                );
            }
        } else if h.direct_response.is_some() {
            if !h.route.is_empty() {
                out.error(
                    base,
                    "HTTP route cannot contain both route and direct_response",
                );
            }
            if h.fault.is_some() {
                out.error(
                    base,
                    "HTTP route cannot contain both fault and direct_response",
                );
            }
            if h.rewrite.is_some() {
                out.error(
                    base,
                    "HTTP route rule cannot contain both rewrite and direct_response",
                );
            }
        } else if h.route.is_empty() {
            out.error(base, "HTTP route, redirect or direct_response is required");
        }
        if h.mirror.is_some() && !h.mirrors.is_empty() {
            out.error(base, "HTTP route cannot contain both mirror and mirrors");
        }
    }
    // (b) matches.
    for (j, m) in h.matches.iter().enumerate() {
        let mbase = format!("{base}.match[{j}]");
        for (k, v) in &m.headers {
            let path = format!("{mbase}.headers.{k}");
            out.check(&path, validate_match_header_name(k));
            out.check(&path, validate_string_match(v, "headers"));
        }
        for (k, v) in &m.without_headers {
            let path = format!("{mbase}.withoutHeaders.{k}");
            out.check(&path, validate_match_header_name(k));
            if !matches!(v, StringMatch::Regex(r) if r == "*") {
                out.check(&path, validate_string_match(v, "withoutHeaders"));
            }
        }
        if let Some(u) = &m.uri {
            out.check(
                &format!("{mbase}.uri"),
                validate_string_match_regexp(u, "uri"),
            );
        }
        for (field, sm) in [
            ("scheme", &m.scheme),
            ("method", &m.method),
            ("authority", &m.authority),
        ] {
            if let Some(sm) = sm {
                out.check(
                    &format!("{mbase}.{field}"),
                    validate_string_match(sm, field),
                );
            }
        }
        for (k, v) in &m.query_params {
            out.check(
                &format!("{mbase}.queryParams.{k}"),
                validate_string_match(v, "queryParams"),
            );
        }
    }
    for (j, m) in h.matches.iter().enumerate() {
        let mbase = format!("{base}.match[{j}]");
        if let Some(p) = m.port.filter(|p| *p != 0) {
            out.check(&format!("{mbase}.port"), validate_port(p.into()));
        }
        out.check_all(
            &format!("{mbase}.sourceLabels"),
            validate_labels(&m.source_labels),
        );
        validate_gateway_names(&m.gateways, &format!("{mbase}.gateways"), out);
        if let Some(ns) = m.source_namespace.as_deref().filter(|s| !s.is_empty())
            && !is_dns1123_label(ns)
        {
            out.error(
                &format!("{mbase}.sourceNamespace"),
                format!("sourceNamespace match {ns} is invalid"),
            );
        }
    }
    // (c) header operations.
    if let Some(hd) = &h.headers {
        validate_header_ops(hd, &format!("{base}.headers"), out);
    }
    // (d) CORS.
    if let Some(c) = &h.cors_policy {
        validate_cors(c, &format!("{base}.corsPolicy"), out);
    }
    // (e) fault injection.
    if let Some(f) = &h.fault {
        let fbase = format!("{base}.fault");
        if f.abort.is_none() && f.delay.is_none() {
            out.error(
                &fbase,
                "HTTP fault injection must have an abort and/or a delay",
            );
        }
        if let Some(a) = &f.abort {
            let abase = format!("{fbase}.abort");
            if let Some(p) = &a.percentage {
                out.check(
                    &format!("{abase}.percentage.value"),
                    validate_percentage(p.value),
                );
            }
            if let Some(g) = &a.grpc_status
                && !GRPC_STATUS.contains(&g.as_str())
            {
                out.error(
                    &format!("{abase}.grpcStatus"),
                    format!(
                        "gRPC status {g:?} is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list of supported codes, for example 'NOT_FOUND'"
                    ),
                );
            }
            if a.http2_error.is_some() {
                out.error(
                    &format!("{abase}.http2Error"),
                    "HTTP/2 abort fault injection not supported yet",
                );
            }
            if let Some(s) = a.http_status {
                out.check(&format!("{abase}.httpStatus"), validate_http_status(s));
            }
            if a.http_status.is_none() && a.grpc_status.is_none() && a.http2_error.is_none() {
                out.warn(&abase, "abort configured, but error type not set");
            }
        }
        if let Some(d) = &f.delay {
            let dbase = format!("{fbase}.delay");
            if let Some(p) = &d.percentage {
                out.check(
                    &format!("{dbase}.percentage.value"),
                    validate_percentage(p.value),
                );
            }
            if let Some(fd) = &d.fixed_delay {
                out.check(&format!("{dbase}.fixedDelay"), validate_duration(fd));
            }
            if let Some(ed) = &d.exponential_delay {
                let path = format!("{dbase}.exponentialDelay");
                out.check(&path, validate_duration(ed));
                out.error(&path, "exponentialDelay not supported yet");
            }
        }
    }
    // (f) mirror percentages.
    if let Some(p) = h.mirror_percent {
        let path = format!("{base}.mirrorPercent");
        if p > 100 {
            out.error(
                &path,
                format!("mirror_percent must have a max value of 100 (it has {p})"),
            );
        }
        out.warn(
            &path,
            "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead",
        );
    }
    if let Some(p) = &h.mirror_percentage {
        let path = format!("{base}.mirrorPercentage.value");
        if p.value > 100.0 {
            out.error(
                &path,
                format!(
                    "mirror_percentage must have a max value of 100 (it has {})",
                    go_f(p.value)
                ),
            );
        }
        if p.value < 0.0 {
            out.error(
                &path,
                format!(
                    "mirror_percentage must have a min value of 0 (it has {})",
                    go_f(p.value)
                ),
            );
        }
    }
    // (g) mirror, (h) mirrors.
    if let Some(m) = &h.mirror {
        validate_destination(m, &format!("{base}.mirror"), out);
    }
    for (i, m) in h.mirrors.iter().enumerate() {
        let mbase = format!("{base}.mirrors[{i}]");
        let Some(d) = &m.destination else {
            out.error(&mbase, "destination is required for mirrors");
            continue;
        };
        validate_destination(d, &format!("{mbase}.destination"), out);
        if let Some(p) = &m.percentage {
            let path = format!("{mbase}.percentage.value");
            if p.value > 100.0 {
                out.error(
                    &path,
                    format!(
                        "mirror percentage must have a max value of 100 (it has {})",
                        go_f(p.value)
                    ),
                );
            }
            if p.value < 0.0 {
                out.error(
                    &path,
                    format!(
                        "mirror percentage must have a min value of 0 (it has {})",
                        go_f(p.value)
                    ),
                );
            }
        }
    }
    // (i) redirect: first error only.
    if let Some(r) = &h.redirect {
        let rbase = format!("{base}.redirect");
        let empty = |s: &Option<String>| s.as_deref().unwrap_or_default().is_empty();
        let scheme = r.scheme.as_deref().unwrap_or_default();
        let code = r.redirect_code.unwrap_or(0);
        let e = if empty(&r.uri)
            && empty(&r.authority)
            && empty(&r.scheme)
            && r.port.is_none()
            && r.derive_port.is_none()
        {
            Some("redirect must specify URI, authority, scheme, or port".to_string())
        } else if code != 0 && !(300..=399).contains(&code) {
            Some(format!("{code} is not a valid redirect code, must be 3xx"))
        } else if !matches!(scheme, "" | "http" | "https") {
            Some("invalid redirect scheme, must be \"http\" or \"https\"".to_string())
        } else {
            r.port
                .filter(|p| *p > 0)
                .and_then(|p| validate_port(p.into()))
        };
        out.check(&rbase, e);
    }
    // (j) direct response.
    if let Some(d) = &h.direct_response {
        let dbase = format!("{base}.directResponse");
        let size = d.body.as_ref().map_or(0, |b| {
            b.get("string")
                .or_else(|| b.get("bytes"))
                .and_then(|v| v.as_str())
                .map_or(0, str::len)
        });
        if size > 1_048_576 {
            out.error(
                &format!("{dbase}.body"),
                "large direct_responses may impact control plane performance, must be less than 1MB",
            );
        } else if size > 102_400 {
            out.warn(
                &format!("{dbase}.body"),
                "large direct_responses may impact control plane performance",
            );
        }
        out.check(
            &format!("{dbase}.status"),
            validate_http_status(d.status.into()),
        );
    }
    // (k) retries.
    if let Some(r) = &h.retries {
        let rbase = format!("{base}.retries");
        let attempts = r.attempts.unwrap_or(0);
        if attempts < 0 {
            out.error(&format!("{rbase}.attempts"), "attempts cannot be negative");
        }
        if attempts == 0
            && (r.per_try_timeout.is_some()
                || r.retry_on.as_deref().is_some_and(|s| !s.is_empty())
                || r.retry_remote_localities.is_some())
        {
            out.error(
                &rbase,
                "http retry policy configured when attempts are set to 0 (disabled)",
            );
        }
        if let Some(t) = &r.per_try_timeout {
            out.check(&format!("{rbase}.perTryTimeout"), validate_duration(t));
        }
        if let Some(on) = r.retry_on.as_deref().filter(|s| !s.is_empty()) {
            for item in on.split(',') {
                let ok =
                    RETRY_ON.contains(&item) || item.parse::<i64>().is_ok_and(known_http_status);
                if !ok {
                    out.error(
                        &format!("{rbase}.retryOn"),
                        format!("{item:?} is not a valid retryOn policy"),
                    );
                }
            }
        }
        if let Some(b) = &r.backoff {
            out.check(&format!("{rbase}.backoff"), validate_duration(b));
        }
    }
    // (l) rewrite: first error only.
    if let Some(rw) = &h.rewrite {
        let path = format!("{base}.rewrite");
        let has_uri = rw.uri.as_deref().is_some_and(|s| !s.is_empty());
        let has_auth = rw.authority.as_deref().is_some_and(|s| !s.is_empty());
        let e = match &rw.uri_regex_rewrite {
            Some(_) if has_uri => {
                Some("rewrite may only contain one of URI or UriRegexRewrite".to_string())
            }
            None if !has_uri && !has_auth => Some(
                "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified"
                    .to_string(),
            ),
            Some(rr) => {
                let m = rr.match_.as_deref().unwrap_or_default();
                let r = rr.rewrite.as_deref().unwrap_or_default();
                if m.is_empty() || r.is_empty() {
                    Some("UriRegexRewrite has errors\nUriRegexRewrite requires both Rewrite and Match fields to be specified".to_string())
                } else {
                    validate_regexp(m, "HTTPRewrite.UriRegexRewrite.Match")
                        .map(|e| format!("UriRegexRewrite has errors\n{e}"))
                }
            }
            None => None,
        };
        out.check(&path, e);
    }
    // (m) authority rewrite set several times.
    let mut current = h
        .rewrite
        .as_ref()
        .and_then(|r| r.authority.clone())
        .unwrap_or_default();
    if let Some(req) = h.headers.as_ref().and_then(|hd| hd.request.as_ref()) {
        'outer: for map in [&req.set, &req.add] {
            for (k, v) in map {
                if k.eq_ignore_ascii_case(":authority") || k.eq_ignore_ascii_case("host") {
                    if !current.is_empty() {
                        out.error(
                            &format!("{base}.headers.request"),
                            format!(
                                "authority header cannot be set multiple times: have {current:?}, attempting to set {v:?}"
                            ),
                        );
                        break 'outer;
                    }
                    current = v.clone();
                }
            }
        }
    }
    // (n) route destinations.
    for (i, d) in h.route.iter().enumerate() {
        let path = format!("{base}.route[{i}]");
        match &d.destination {
            None => out.error(&path, "destination is required"),
            Some(dst) => {
                if let Some(hd) = &d.headers {
                    validate_header_ops(hd, &format!("{path}.headers"), out);
                }
                validate_destination(dst, &format!("{path}.destination"), out);
            }
        }
    }
    let weights: Vec<i64> = h.route.iter().map(|d| d.weight.unwrap_or(0)).collect();
    weight_findings(&weights, base, out);
    // (o) timeout.
    if let Some(t) = &h.timeout {
        out.check(&format!("{base}.timeout"), validate_duration(t));
    }
}

// ---- reachability (IST0130 / IST0131) ----

fn unused(out: &mut Out, path: &str, rule: &str, reason: &str) {
    let f = Finding {
        severity: Severity::Warning,
        message: format!("virtualService rule {rule} not used ({reason})"),
        path: Some(format!("{{{path}}}")),
        analysis: Some(Analysis::UnreachableRule {
            rule: rule.to_string(),
            reason: reason.to_string(),
        }),
    };
    // Istio collects these in a multierror, where identical texts repeat; its analyzer output
    // shows each once, so identical findings are kept once.
    if !out.findings.contains(&f) {
        out.findings.push(f);
    }
}

fn ineffective(out: &mut Out, path: &str, rule: &str, match_: &str, dup: &str) {
    out.findings.push(Finding {
        severity: Severity::Warning,
        message: format!(
            "virtualService rule {rule} match {match_} is not used (duplicate/overlapping match in rule {dup})"
        ),
        path: Some(format!("{{{path}}}")),
        analysis: Some(Analysis::IneffectiveMatch {
            rule: rule.to_string(),
            match_: match_.to_string(),
            dup: dup.to_string(),
        }),
    });
}

fn http_route_name(r: &HttpRoute, n: usize) -> String {
    match r.name.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => format!("{name:?}"),
        None => format!("#{n}"),
    }
}

fn request_name(m: &HttpMatchRequest, n: usize) -> String {
    match m.name.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => format!("{name:?}"),
        None => format!("#{n}"),
    }
}

/// A prefix-URI match, for the overlap phase (`genMatchHTTPRoutes`).
struct PrefixMatch {
    route: String,
    match_: String,
    prefix: String,
    port: Option<u32>,
    method: String,
    authority: String,
    headers: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    without: BTreeMap<String, String>,
    path: String,
}

fn encode(sm: &StringMatch) -> String {
    match sm {
        StringMatch::Exact(s) => format!("exact:{s}"),
        StringMatch::Prefix(s) => format!("prefix:{s}"),
        StringMatch::Regex(_) => String::new(),
    }
}

fn encode_map(m: &BTreeMap<String, StringMatch>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), encode(v))).collect()
}

fn covered(a: &PrefixMatch, b: &PrefixMatch) -> bool {
    let map_ok = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| {
        x.len() == y.len()
            && x.iter().all(|(k, v)| {
                y.get(k)
                    .is_some_and(|w| v == w || v.starts_with(w.as_str()))
            })
    };
    b.prefix.starts_with(&a.prefix)
        && a.port == b.port
        && (a.method == b.method || a.method.starts_with(&b.method))
        && (a.authority == b.authority || a.authority.starts_with(&b.authority))
        && map_ok(&a.headers, &b.headers)
        && map_ok(&a.query, &b.query)
        && map_ok(&a.without, &b.without)
}

/// Istio's `analyzeUnreachableHTTPRules` and its TCP/TLS twins.
fn reachability(vs: &VirtualService, out: &mut Out) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut empty_at: Option<usize> = None;
    let mut prefixes: Vec<PrefixMatch> = Vec::new();
    for (n, route) in vs.http.iter().enumerate() {
        let rule = http_route_name(route, n);
        let path = format!(".spec.http[{n}]");
        if route.matches.is_empty() {
            if empty_at.is_some() {
                unused(out, &path, &rule, "only the last rule can have no matches");
            }
            empty_at = Some(n);
            continue;
        }
        let mut dups = 0;
        for (mn, m) in route.matches.iter().enumerate() {
            let mpath = format!("{path}.match[{mn}]");
            if empty_at.is_some() {
                unused(out, &path, &rule, "route without matches defined before");
                continue;
            }
            let mut unnamed = m.clone();
            unnamed.name = None;
            let key = serde_json::to_string(&unnamed).unwrap_or_default();
            if let Some(&d) = seen.get(&key) {
                ineffective(
                    out,
                    &mpath,
                    &rule,
                    &request_name(m, mn),
                    &http_route_name(&vs.http[d], d),
                );
                dups += 1;
                continue;
            }
            seen.insert(key, n);
            if let Some(StringMatch::Prefix(p)) = &m.uri
                && !p.is_empty()
            {
                prefixes.push(PrefixMatch {
                    route: rule.clone(),
                    match_: request_name(m, mn),
                    prefix: p.clone(),
                    port: m.port,
                    method: m
                        .method
                        .as_ref()
                        .map_or_else(|| "exact:GET".to_string(), encode),
                    authority: m.authority.as_ref().map(encode).unwrap_or_default(),
                    headers: encode_map(&m.headers),
                    query: encode_map(&m.query_params),
                    without: encode_map(&m.without_headers),
                    path: format!("{mpath}.uri.prefix"),
                });
            }
        }
        if dups == route.matches.len() {
            unused(out, &path, &rule, "all matches used by prior rules");
        }
    }
    for i in 0..prefixes.len() {
        for k in i + 1..prefixes.len() {
            let (a, b) = (&prefixes[i], &prefixes[k]);
            if a.prefix == b.prefix {
                continue;
            }
            if covered(a, b) {
                ineffective(
                    out,
                    &b.path,
                    &b.route,
                    &format!("{} of prefix {}", b.match_, b.prefix),
                    &format!("{} of prefix {} on {}", a.match_, a.prefix, a.route),
                );
            }
        }
    }
    l4_reachability(
        vs.tcp
            .iter()
            .map(|r| {
                r.matches
                    .iter()
                    .map(|m| serde_json::to_string(m).unwrap_or_default())
                    .collect()
            })
            .collect(),
        "tcp",
        out,
    );
    l4_reachability(
        vs.tls
            .iter()
            .map(|r| {
                r.matches
                    .iter()
                    .map(|m| serde_json::to_string(m).unwrap_or_default())
                    .collect()
            })
            .collect(),
        "tls",
        out,
    );
}

/// TCP/TLS reachability; matches are compared by their JSON form, as Istio does.
fn l4_reachability(routes: Vec<Vec<String>>, field: &str, out: &mut Out) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut empty_at: Option<usize> = None;
    for (n, matches) in routes.iter().enumerate() {
        let rule = format!("#{n}");
        let path = format!(".spec.{field}[{n}]");
        if matches.is_empty() {
            if empty_at.is_some() {
                unused(out, &path, &rule, "only the last rule can have no matches");
            }
            empty_at = Some(n);
            continue;
        }
        let mut dups = 0;
        for (mn, key) in matches.iter().enumerate() {
            if empty_at.is_some() {
                unused(out, &path, &rule, "route without matches defined before");
                continue;
            }
            if let Some(&d) = seen.get(key) {
                ineffective(
                    out,
                    &format!("{path}.match[{mn}]"),
                    &rule,
                    &format!("#{mn}"),
                    &format!("#{d}"),
                );
                dups += 1;
                continue;
            }
            seen.insert(key.clone(), n);
        }
        if dups == matches.len() {
            unused(out, &path, &rule, "all matches used by prior rules");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    fn vs(spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: r, namespace: default}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn valid_route_passes() {
        let y = vs(
            "  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 90\n    - destination: {host: reviews, subset: v2}\n      weight: 20\n    timeout: 10s\n",
        );
        assert_eq!(errors(&y), Vec::<String>::new());
        assert_eq!(warnings(&y), Vec::<String>::new());
    }

    #[test]
    fn weights_ports_and_hosts() {
        let y = vs(
            "  hosts: [reviews, reviews, 'bad_host.com']\n  http:\n  - route:\n    - destination: {host: reviews, port: {number: 70000}}\n      weight: -10\n    - destination: {host: reviews}\n      weight: 20\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "domain name \"bad_host.com\" invalid (label \"bad_host\" invalid)",
                "port number 70000 must be in the range 1..65535",
                "weight -10 < 0",
            ]
        );
        let y = vs(
            "  hosts: [a, a]\n  http:\n  - route:\n    - destination: {host: a}\n      weight: 0\n    - destination: {host: a}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "duplicate hosts in virtual service: a & a",
                "total destination weight = 0"
            ]
        );
    }

    #[test]
    fn durations_regex_and_conflicts() {
        let y = vs(
            "  hosts: [a]\n  http:\n  - match:\n    - uri: {regex: '(abc'}\n    redirect: {uri: /x}\n    route:\n    - destination: {host: a}\n    timeout: 0s\n    retries: {attempts: -1, perTryTimeout: 1500us}\n",
        );
        let e = errors(&y);
        assert_eq!(e[0], "HTTP route cannot contain both route and redirect");
        assert!(e[1].starts_with("\"uri\": error parsing regexp: "), "{e:?}");
        assert_eq!(
            &e[2..],
            &[
                "attempts cannot be negative",
                "only durations to ms precision are supported",
                "duration must be greater than 1ms"
            ]
        );
    }

    #[test]
    fn mesh_wildcard_and_missing_routes() {
        assert_eq!(
            errors(&vs("  hosts: ['*']\n")),
            vec![
                "wildcard host * is not allowed for virtual services bound to the mesh gateway",
                "http, tcp or tls must be provided in virtual service"
            ]
        );
        assert_eq!(
            errors(&vs("  hosts: [a]\n  http:\n  - name: x\n")),
            vec!["HTTP route, redirect or direct_response is required"]
        );
    }

    #[test]
    fn fault_and_mirror() {
        let y = vs(
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: a}\n    fault:\n      abort: {percentage: {value: 101}}\n    mirrorPercent: 150\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "percentage 101 is neither 0.0, nor in range [0.0001, 100.0]",
                "mirror_percent must have a max value of 100 (it has 150)"
            ]
        );
        assert_eq!(
            warnings(&y),
            vec![
                "abort configured, but error type not set",
                "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead"
            ]
        );
    }

    #[test]
    fn tls_routes() {
        let y = vs(
            "  hosts: ['*.example.com']\n  gateways: [gw]\n  tls:\n  - match:\n    - sniHosts: [a.other.com]\n    route:\n    - destination: {host: a}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "SNI host \"a.other.com\" is not a compatible subset of any of the virtual service hosts: [*.example.com]"
            ]
        );
    }

    #[test]
    fn reachability() {
        let y = vs(
            "  hosts: [a]\n  http:\n  - name: first\n    match:\n    - uri: {exact: /a}\n    route: [{destination: {host: a}}]\n  - match:\n    - name: again\n      uri: {exact: /a}\n    route: [{destination: {host: a}}]\n  - route: [{destination: {host: a}}]\n  - route: [{destination: {host: a}}]\n",
        );
        assert_eq!(
            warnings(&y),
            vec![
                "virtualService rule #1 match \"again\" is not used (duplicate/overlapping match in rule \"first\")",
                "virtualService rule #1 not used (all matches used by prior rules)",
                "virtualService rule #3 not used (only the last rule can have no matches)",
            ]
        );
        let y = vs(
            "  hosts: [a]\n  http:\n  - match:\n    - uri: {prefix: /api}\n    route: [{destination: {host: a}}]\n  - match:\n    - uri: {prefix: /api/v1}\n    route: [{destination: {host: a}}]\n",
        );
        assert_eq!(
            warnings(&y),
            vec![
                "virtualService rule #1 match #0 of prefix /api/v1 is not used (duplicate/overlapping match in rule #0 of prefix /api on #0)"
            ]
        );
    }
}
