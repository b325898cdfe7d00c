//! DestinationRule (`ValidateDestinationRule`) and traffic policies.

use std::collections::HashSet;

use super::common::{validate_client_tls, validate_export_to, validate_workload_selector};
use super::durations::{is_zero, validate_duration};
use super::hosts::{validate_fqdn, validate_ip_address, validate_wildcard_domain};
use super::names::{is_dns1123_label, validate_labels};
use super::percent::validate_percent;
use super::ports::validate_port;
use super::{Out, Severity};
use crate::config::networking::{
    ConnectionPoolSettings, DestinationRule, LoadBalancerSettings, OutlierDetection, TrafficPolicy,
};

pub fn validate(ns: &str, dr: &DestinationRule, out: &mut Out) {
    out.check(".spec.host", validate_wildcard_domain(&dr.host));
    if let Some(tp) = &dr.traffic_policy {
        validate_traffic_policy(ns, tp, ".spec.trafficPolicy", out);
    }
    let mut names = HashSet::new();
    for (i, s) in dr.subsets.iter().enumerate() {
        let base = format!(".spec.subsets[{i}]");
        if !names.insert(s.name.as_str()) {
            out.error(
                &format!("{base}.name"),
                format!("duplicate subset names: {}", s.name),
            );
        }
        // Istio collects subset findings with `appendErrors`, which drops warnings.
        let mut sub = Out::default();
        validate_subset_name(&s.name, &format!("{base}.name"), &mut sub);
        sub.check_all(&format!("{base}.labels"), validate_labels(&s.labels));
        if let Some(tp) = &s.traffic_policy {
            validate_traffic_policy(ns, tp, &format!("{base}.trafficPolicy"), &mut sub);
        }
        out.findings.extend(
            sub.findings
                .into_iter()
                .filter(|f| f.severity == Severity::Error),
        );
    }
    validate_export_to(
        ns,
        &dr.export_to,
        false,
        dr.workload_selector.is_some(),
        out,
    );
    validate_workload_selector(dr.workload_selector.as_ref(), "workloadSelector", out);
}

fn validate_subset_name(name: &str, path: &str, out: &mut Out) {
    if name.is_empty() {
        out.error(path, "subset name cannot be empty");
    } else if !is_dns1123_label(name) {
        out.error(path, format!("subset name is invalid: {name}"));
    }
}

/// `validateTrafficPolicy`.
pub fn validate_traffic_policy(ns: &str, tp: &TrafficPolicy, base: &str, out: &mut Out) {
    if tp.outlier_detection.is_none()
        && tp.connection_pool.is_none()
        && tp.load_balancer.is_none()
        && tp.tls.is_none()
        && tp.port_level_settings.is_empty()
        && tp.tunnel.is_none()
        && tp.proxy_protocol.is_none()
    {
        out.error(base, "traffic policy must have at least one field");
        return;
    }
    if tp.tunnel.is_some() && tp.proxy_protocol.is_some() {
        out.error(base, "tunnel and proxyProtocol must not be set together");
        return;
    }
    if let Some(o) = &tp.outlier_detection {
        validate_outlier(o, &format!("{base}.outlierDetection"), out);
    }
    if let Some(c) = &tp.connection_pool {
        validate_connection_pool(c, &format!("{base}.connectionPool"), out);
    }
    if let Some(lb) = &tp.load_balancer {
        validate_load_balancer(lb, &format!("{base}.loadBalancer"), out);
    }
    if let Some(t) = &tp.tls {
        validate_client_tls(ns, t, &format!("{base}.tls"), out);
    }
    for (i, p) in tp.port_level_settings.iter().enumerate() {
        let pbase = format!("{base}.portLevelSettings[{i}]");
        // Port-level findings go through `appendErrors` too: warnings are dropped.
        let mut sub = Out::default();
        if p.port.is_none() {
            sub.error(&pbase, "portTrafficPolicy must have valid port");
        }
        if p.outlier_detection.is_none()
            && p.connection_pool.is_none()
            && p.load_balancer.is_none()
            && p.tls.is_none()
        {
            sub.error(&pbase, "port traffic policy must have at least one field");
        } else {
            if let Some(o) = &p.outlier_detection {
                validate_outlier(o, &format!("{pbase}.outlierDetection"), &mut sub);
            }
            if let Some(c) = &p.connection_pool {
                validate_connection_pool(c, &format!("{pbase}.connectionPool"), &mut sub);
            }
            if let Some(lb) = &p.load_balancer {
                validate_load_balancer(lb, &format!("{pbase}.loadBalancer"), &mut sub);
            }
            if let Some(t) = &p.tls {
                validate_client_tls(ns, t, &format!("{pbase}.tls"), &mut sub);
            }
        }
        out.findings.extend(
            sub.findings
                .into_iter()
                .filter(|f| f.severity == Severity::Error),
        );
    }
    if let Some(t) = &tp.tunnel {
        let tbase = format!("{base}.tunnel");
        let proto = t
            .get("protocol")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if !matches!(proto, "" | "CONNECT" | "POST") {
            out.error(
                &format!("{tbase}.protocol"),
                "tunnel protocol must be \"CONNECT\" or \"POST\"",
            );
        }
        let host = t
            .get("targetHost")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if let (Some(fe), Some(ie)) = (validate_fqdn(host), validate_ip_address(host)) {
            out.error(
                &format!("{tbase}.targetHost"),
                format!("tunnel target host must be valid FQDN or IP address: {fe}; {ie}"),
            );
        }
        let port = t.get("targetPort").and_then(|v| v.as_i64()).unwrap_or(0);
        if let Some(e) = validate_port(port) {
            out.error(
                &format!("{tbase}.targetPort"),
                format!("tunnel target port is invalid: {e}"),
            );
        }
    }
    if let Some(pp) = &tp.proxy_protocol {
        match pp.get("version") {
            None => {}
            Some(v)
                if matches!(v.as_str(), Some("V1" | "V2")) || matches!(v.as_i64(), Some(0 | 1)) => {
            }
            Some(v) => out.error(
                &format!("{base}.proxyProtocol.version"),
                format!(
                    "proxy protocol version is invalid: {}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                ),
            ),
        }
    }
}

fn validate_outlier(o: &OutlierDetection, base: &str, out: &mut Out) {
    if let Some(d) = &o.base_ejection_time {
        out.check(&format!("{base}.baseEjectionTime"), validate_duration(d));
    }
    if o.consecutive_errors.is_some_and(|c| c != 0) {
        out.warn(
            &format!("{base}.consecutiveErrors"),
            "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead",
        );
    }
    if o.split_external_local_origin_errors != Some(true)
        && o.consecutive_local_origin_failures.is_some_and(|c| c > 0)
    {
        out.error(
            &format!("{base}.consecutiveLocalOriginFailures"),
            "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false",
        );
    }
    if let Some(d) = &o.interval {
        out.check(&format!("{base}.interval"), validate_duration(d));
    }
    out.check(
        &format!("{base}.maxEjectionPercent"),
        validate_percent(o.max_ejection_percent.unwrap_or(0)),
    );
    out.check(
        &format!("{base}.minHealthPercent"),
        validate_percent(o.min_health_percent.unwrap_or(0)),
    );
}

/// `validateConnectionPool` (also used by Sidecar).
pub fn validate_connection_pool(c: &ConnectionPoolSettings, base: &str, out: &mut Out) {
    if c.http.is_none() && c.tcp.is_none() {
        out.error(base, "connection pool must have at least one field");
        return;
    }
    if let Some(h) = &c.http {
        let hb = format!("{base}.http");
        let neg = |v: Option<i64>| v.is_some_and(|v| v < 0);
        let checks = [
            (
                h.http1_max_pending_requests,
                "http1MaxPendingRequests",
                "http1 max pending requests must be non-negative",
            ),
            (
                h.http2_max_requests,
                "http2MaxRequests",
                "http2 max requests must be non-negative",
            ),
            (
                h.max_requests_per_connection,
                "maxRequestsPerConnection",
                "max requests per connection must be non-negative",
            ),
            (
                h.max_retries,
                "maxRetries",
                "max retries must be non-negative",
            ),
        ];
        for (v, field, msg) in checks {
            if neg(v) {
                out.error(&format!("{hb}.{field}"), msg);
            }
        }
        if let Some(d) = &h.idle_timeout {
            out.check(&format!("{hb}.idleTimeout"), validate_duration(d));
        }
        if h.h2_upgrade_policy.as_deref() == Some("UPGRADE") && h.use_client_protocol == Some(true)
        {
            out.error(
                &format!("{hb}.useClientProtocol"),
                "use client protocol must not be true when H2UpgradePolicy is UPGRADE",
            );
        }
        if neg(h.max_concurrent_streams) {
            out.error(
                &format!("{hb}.maxConcurrentStreams"),
                "max concurrent streams must be non-negative",
            );
        }
    }
    if let Some(t) = &c.tcp {
        let tb = format!("{base}.tcp");
        if t.max_connections.is_some_and(|v| v < 0) {
            out.error(
                &format!("{tb}.maxConnections"),
                "max connections must be non-negative",
            );
        }
        if let Some(d) = &t.connect_timeout {
            out.check(&format!("{tb}.connectTimeout"), validate_duration(d));
        }
        if let Some(d) = &t.max_connection_duration {
            out.check(&format!("{tb}.maxConnectionDuration"), validate_duration(d));
        }
        if let Some(d) = t.idle_timeout.as_deref().filter(|d| !is_zero(d)) {
            out.check(&format!("{tb}.idleTimeout"), validate_duration(d));
        }
        if let Some(k) = &t.tcp_keepalive {
            for field in ["time", "interval"] {
                if let Some(d) = k.get(field).and_then(|v| v.as_str()) {
                    out.check(&format!("{tb}.tcpKeepalive.{field}"), validate_duration(d));
                }
            }
        }
    }
}

/// Envoy's `isPrime` as Istio uses it for maglev table sizes.
fn is_prime(x: u64) -> bool {
    if x != 0 && x < 4 {
        return true;
    }
    if x.is_multiple_of(2) {
        return false;
    }
    let mut i = 3;
    while i * i <= x {
        if x.is_multiple_of(i) {
            return false;
        }
        i += 2;
    }
    true
}

fn validate_load_balancer(lb: &LoadBalancerSettings, base: &str, out: &mut Out) {
    if let Some(ch) = &lb.consistent_hash {
        let cb = format!("{base}.consistentHash");
        if let Some(c) = &ch.http_cookie
            && c.name.is_empty()
        {
            out.error(&format!("{cb}.httpCookie"), "name required for HttpCookie");
        }
        let ring = ch.minimum_ring_size.unwrap_or(0);
        if ring != 0 {
            out.warn(
                &format!("{cb}.minimumRingSize"),
                "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead",
            );
            if ch.ring_hash.is_some() || ch.maglev.is_some() {
                out.error(
                    &format!("{cb}.minimumRingSize"),
                    "only one of MinimumRingSize or Maglev/Ringhash can be specified",
                );
            }
        }
        if let Some(m) = &ch.maglev {
            let size = m.get("tableSize").and_then(|v| v.as_u64()).unwrap_or(0);
            let path = format!("{cb}.maglev");
            if size == 0 {
                out.error(&path, "tableSize must be set for maglev");
            }
            if size >= 5_000_011 {
                out.error(&path, "tableSize must be less than 5000011 for maglev");
            }
            if !is_prime(size) {
                out.error(&path, "tableSize must be a prime number for maglev");
            }
        }
    }
    if let Some(d) = &lb.warmup_duration_secs {
        out.check(&format!("{base}.warmupDurationSecs"), validate_duration(d));
    }
    if let Some(w) = &lb.warmup {
        let wb = format!("{base}.warmup");
        match w.get("duration").and_then(|v| v.as_str()) {
            None => out.error(&wb, "duration is required"),
            Some(d) => out.check(&format!("{wb}.duration"), validate_duration(d)),
        }
        if w.get("minimumPercent")
            .and_then(|v| {
                v.as_f64()
                    .or_else(|| v.get("value").and_then(|x| x.as_f64()))
            })
            .is_some_and(|p| p > 100.0)
        {
            out.error(
                &format!("{wb}.minimumPercent"),
                "minimumPercent value should be less than or equal to 100",
            );
        }
        if w.get("aggression")
            .and_then(|v| {
                v.as_f64()
                    .or_else(|| v.get("value").and_then(|x| x.as_f64()))
            })
            .is_some_and(|a| a < 1.0)
        {
            out.error(
                &format!("{wb}.aggression"),
                "aggression should be greater than or equal to 1",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    fn dr(spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r, namespace: default}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn valid_rule_passes() {
        let y = dr(
            "  host: reviews\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 100, connectTimeout: 30ms}\n    outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 50}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n",
        );
        assert_eq!(errors(&y), Vec::<String>::new());
        assert_eq!(warnings(&y), Vec::<String>::new());
    }

    #[test]
    fn subsets_and_ranges() {
        let y = dr(
            "  host: reviews\n  trafficPolicy:\n    outlierDetection: {maxEjectionPercent: 120, consecutiveErrors: 5}\n    connectionPool:\n      http: {http1MaxPendingRequests: -1}\n  subsets:\n  - name: v1\n  - name: v1\n  - name: V_2\n    trafficPolicy: {}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "percentage 120 is not in range 0..100",
                "http1 max pending requests must be non-negative",
                "duplicate subset names: v1",
                "subset name is invalid: V_2",
                "traffic policy must have at least one field",
            ]
        );
        assert_eq!(
            warnings(&y),
            vec![
                "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead"
            ]
        );
    }

    #[test]
    fn tls_and_maglev() {
        let y = dr(
            "  host: '*.example.com'\n  trafficPolicy:\n    tls: {mode: MUTUAL}\n    loadBalancer:\n      consistentHash:\n        maglev: {tableSize: 10}\n",
        );
        assert_eq!(
            errors(&y),
            vec![
                "tableSize must be a prime number for maglev",
                "client certificate required for mutual tls",
                "private key required for mutual tls",
            ]
        );
    }
}
