//! Counters and gauges with Envoy's stat names. Each object lives in a registry keyed by its
//! Envoy name, so an xDS update that replaces a cluster or listener keeps its counters (Envoy
//! keeps stats across updates too).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::shard::Shard;
use super::telemetry::metrics::IstioMetrics;

/// Shards per counter and gauge: the first worker threads own one each ([`super::shard`]).
/// Istio's sidecars run two workers; a gateway may run more, and its other workers then share
/// the last shard, as every thread shared the one cell before.
const SHARDS: usize = 4;

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter([AtomicU64; SHARDS]);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        let shard = Shard::of(SHARDS);
        shard.add(&self.0[shard.index], n);
    }
    pub fn get(&self) -> u64 {
        self.0
            .iter()
            .fold(0u64, |sum, c| sum.wrapping_add(c.load(Ordering::Relaxed)))
    }
}

/// A value that goes up and down: one thread may raise it and another lower it, so a shard
/// alone may be negative; their sum is the value. The shards hold it in two's complement
/// ([`Shard::add`]).
#[derive(Debug, Default)]
pub struct Gauge([AtomicU64; SHARDS]);

impl Gauge {
    pub fn inc(&self) {
        let shard = Shard::of(SHARDS);
        shard.add(&self.0[shard.index], 1);
    }
    pub fn dec(&self) {
        let shard = Shard::of(SHARDS);
        shard.add(&self.0[shard.index], 1u64.wrapping_neg());
    }
    pub fn get(&self) -> i64 {
        self.0
            .iter()
            .fold(0u64, |sum, c| sum.wrapping_add(c.load(Ordering::Relaxed))) as i64
    }
}

/// Decrements a gauge when dropped, so early returns and cancelled requests count right.
pub struct GaugeGuard<'a>(&'a Gauge);

impl<'a> GaugeGuard<'a> {
    pub fn new(g: &'a Gauge) -> GaugeGuard<'a> {
        g.inc();
        GaugeGuard(g)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `cluster.<name>.*`.
#[derive(Debug, Default)]
pub struct ClusterStats {
    pub upstream_rq_total: Counter,
    pub upstream_rq_active: Gauge,
    pub upstream_rq_1xx: Counter,
    pub upstream_rq_2xx: Counter,
    pub upstream_rq_3xx: Counter,
    pub upstream_rq_4xx: Counter,
    pub upstream_rq_5xx: Counter,
    pub upstream_rq_timeout: Counter,
    pub upstream_rq_retry: Counter,
    pub upstream_rq_per_try_timeout: Counter,
    pub upstream_cx_connect_fail: Counter,
    /// Upstream connections the TCP proxy made (the HTTP pools do not count theirs).
    pub upstream_cx_total: Counter,
    pub upstream_rq_pending_failure_eject: Counter,
    pub upstream_cx_none_healthy: Counter,
    /// Circuit breaking ([`super::circuit`]).
    pub upstream_cx_overflow: Counter,
    pub upstream_rq_pending_overflow: Counter,
    pub upstream_rq_pending_total: Counter,
    /// Outlier detection ([`super::outlier`]).
    pub outlier_ejections_active: Gauge,
    pub outlier_ejections_enforced_total: Counter,
    pub outlier_ejections_enforced_consecutive_5xx: Counter,
    pub outlier_ejections_enforced_consecutive_gateway_failure: Counter,
    pub outlier_ejections_overflow: Counter,
}

impl ClusterStats {
    pub fn response(&self, status: u16) {
        match status / 100 {
            1 => self.upstream_rq_1xx.inc(),
            2 => self.upstream_rq_2xx.inc(),
            3 => self.upstream_rq_3xx.inc(),
            4 => self.upstream_rq_4xx.inc(),
            _ => self.upstream_rq_5xx.inc(),
        }
    }

    /// Every counter and gauge with its Envoy name suffix, in name order.
    pub fn values(&self) -> Vec<(&'static str, Kind, i64)> {
        use Kind::{Counter as C, Gauge as G};
        let c = counter_value;
        vec![
            (
                "outlier_detection.ejections_active",
                G,
                self.outlier_ejections_active.get(),
            ),
            (
                "outlier_detection.ejections_enforced_consecutive_5xx",
                C,
                c(&self.outlier_ejections_enforced_consecutive_5xx),
            ),
            (
                "outlier_detection.ejections_enforced_consecutive_gateway_failure",
                C,
                c(&self.outlier_ejections_enforced_consecutive_gateway_failure),
            ),
            (
                "outlier_detection.ejections_enforced_total",
                C,
                c(&self.outlier_ejections_enforced_total),
            ),
            (
                "outlier_detection.ejections_overflow",
                C,
                c(&self.outlier_ejections_overflow),
            ),
            (
                "upstream_cx_connect_fail",
                C,
                c(&self.upstream_cx_connect_fail),
            ),
            (
                "upstream_cx_none_healthy",
                C,
                c(&self.upstream_cx_none_healthy),
            ),
            ("upstream_cx_overflow", C, c(&self.upstream_cx_overflow)),
            ("upstream_cx_total", C, c(&self.upstream_cx_total)),
            ("upstream_rq_1xx", C, c(&self.upstream_rq_1xx)),
            ("upstream_rq_2xx", C, c(&self.upstream_rq_2xx)),
            ("upstream_rq_3xx", C, c(&self.upstream_rq_3xx)),
            ("upstream_rq_4xx", C, c(&self.upstream_rq_4xx)),
            ("upstream_rq_5xx", C, c(&self.upstream_rq_5xx)),
            ("upstream_rq_active", G, self.upstream_rq_active.get()),
            (
                "upstream_rq_pending_overflow",
                C,
                c(&self.upstream_rq_pending_overflow),
            ),
            (
                "upstream_rq_pending_total",
                C,
                c(&self.upstream_rq_pending_total),
            ),
            (
                "upstream_rq_per_try_timeout",
                C,
                c(&self.upstream_rq_per_try_timeout),
            ),
            ("upstream_rq_retry", C, c(&self.upstream_rq_retry)),
            ("upstream_rq_timeout", C, c(&self.upstream_rq_timeout)),
            ("upstream_rq_total", C, c(&self.upstream_rq_total)),
        ]
    }
}

/// Per endpoint, what `/clusters` prints.
#[derive(Debug, Default)]
pub struct HostStats {
    pub rq_total: Counter,
    pub rq_success: Counter,
    pub rq_error: Counter,
    pub rq_timeout: Counter,
    pub rq_active: Gauge,
    pub cx_connect_fail: Counter,
}

impl HostStats {
    /// Envoy's host stats: its counters, then its gauges, each in Envoy's declaration order
    /// (the order `/clusters?format=json` lists them). `cx_total` and `cx_active` stay 0: the
    /// pooled HTTP client does not report its connections per host.
    pub fn values(&self) -> Vec<(&'static str, Kind, i64)> {
        use Kind::{Counter as C, Gauge as G};
        let c = counter_value;
        vec![
            ("cx_connect_fail", C, c(&self.cx_connect_fail)),
            ("cx_total", C, 0),
            ("rq_error", C, c(&self.rq_error)),
            ("rq_success", C, c(&self.rq_success)),
            ("rq_timeout", C, c(&self.rq_timeout)),
            ("rq_total", C, c(&self.rq_total)),
            ("cx_active", G, 0),
            ("rq_active", G, self.rq_active.get()),
        ]
    }
}

/// Counters only go up, gauges go up and down; Prometheus and `/clusters?format=json` say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One stat as the admin API shows it: its full Envoy name, and the tag-extracted name and tags
/// Envoy's default tag extractors would give it (what `/stats/prometheus` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// `cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total`.
    pub name: String,
    pub kind: Kind,
    pub value: i64,
    /// `cluster.upstream_rq_total`.
    pub tag_extracted_name: String,
    /// `[("envoy.cluster_name", "outbound|9080||reviews.default.svc.cluster.local")]`.
    pub tags: Vec<(&'static str, String)>,
}

impl Stat {
    /// A stat without tags (`server.uptime`).
    fn plain(name: &str, kind: Kind, value: i64) -> Stat {
        Stat {
            name: name.to_string(),
            kind,
            value,
            tag_extracted_name: name.to_string(),
            tags: Vec::new(),
        }
    }

    /// `<root>.<scope>.<stat>`, where the scope becomes the tag `tag` (Envoy's
    /// `envoy.cluster_name`, `envoy.http_conn_manager_prefix`), and a `_<d>xx` suffix becomes
    /// `envoy.response_code_class`, extracted first as Envoy's extractor list does.
    fn scoped(
        root: &str,
        tag: &'static str,
        scope: &str,
        stat: &str,
        kind: Kind,
        value: i64,
    ) -> Stat {
        let mut tags = Vec::new();
        let mut extracted = stat.to_string();
        // `upstream_rq_2xx` → `upstream_rq_xx` with class 2.
        if let Some(head) = stat.strip_suffix("xx")
            && let Some(class) = head.chars().last().filter(char::is_ascii_digit)
            && let Some(base) = head.get(..head.len() - 1)
            && base.ends_with("rq_")
        {
            tags.push(("envoy.response_code_class", class.to_string()));
            extracted = format!("{base}xx");
        }
        tags.push((tag, scope.to_string()));
        Stat {
            name: format!("{root}.{scope}.{stat}"),
            kind,
            value,
            tag_extracted_name: format!("{root}.{extracted}"),
            tags,
        }
    }
}

fn counter_value(c: &Counter) -> i64 {
    i64::try_from(c.get()).unwrap_or(i64::MAX)
}

/// `http.<stat_prefix>.*`, per connection manager.
#[derive(Debug, Default)]
pub struct HttpStats {
    pub downstream_rq_total: Counter,
    pub downstream_rq_active: Gauge,
    pub downstream_rq_1xx: Counter,
    pub downstream_rq_2xx: Counter,
    pub downstream_rq_3xx: Counter,
    pub downstream_rq_4xx: Counter,
    pub downstream_rq_5xx: Counter,
    pub downstream_cx_total: Counter,
    pub downstream_cx_active: Gauge,
    /// Connections whose TLS handshake completed.
    pub downstream_cx_ssl_total: Counter,
    /// Connections closed for a malformed or refused request (400, 413, 431, 501).
    pub downstream_cx_protocol_error: Counter,
    /// Connections closed because a request head did not arrive in time (408).
    pub downstream_rq_header_timeout: Counter,
    /// HTTP/2 streams the client ended (reset, or closed the connection) before their response.
    pub downstream_rq_rx_reset: Counter,
    /// HTTP/2 connections closed for too many streams cancelled early ([`super::http2`]).
    pub downstream_rq_too_many_premature_resets: Counter,
    pub downstream_cx_idle_timeout: Counter,
    pub no_route: Counter,
    pub no_cluster: Counter,
    pub rq_redirect: Counter,
    pub rq_direct_response: Counter,
    pub fault_delays_injected: Counter,
    pub fault_aborts_injected: Counter,
    /// Set once a listener with this prefix carries RBAC filters: Envoy has the `rbac.*`
    /// stats only where the filter is configured.
    pub rbac_configured: AtomicBool,
    pub rbac_allowed: Counter,
    pub rbac_denied: Counter,
    pub rbac_logged: Counter,
    pub rbac_not_logged: Counter,
}

impl HttpStats {
    pub fn response(&self, status: u16) {
        match status / 100 {
            1 => self.downstream_rq_1xx.inc(),
            2 => self.downstream_rq_2xx.inc(),
            3 => self.downstream_rq_3xx.inc(),
            4 => self.downstream_rq_4xx.inc(),
            _ => self.downstream_rq_5xx.inc(),
        }
    }

    /// Every stat with its Envoy name (relative to `http.<prefix>.`), in name order.
    pub fn values(&self) -> Vec<(&'static str, Kind, i64)> {
        use Kind::{Counter as C, Gauge as G};
        let c = counter_value;
        let mut out = vec![
            ("downstream_cx_active", G, self.downstream_cx_active.get()),
            (
                "downstream_cx_idle_timeout",
                C,
                c(&self.downstream_cx_idle_timeout),
            ),
            (
                "downstream_cx_protocol_error",
                C,
                c(&self.downstream_cx_protocol_error),
            ),
            (
                "downstream_cx_ssl_total",
                C,
                c(&self.downstream_cx_ssl_total),
            ),
            ("downstream_cx_total", C, c(&self.downstream_cx_total)),
            ("downstream_rq_1xx", C, c(&self.downstream_rq_1xx)),
            ("downstream_rq_2xx", C, c(&self.downstream_rq_2xx)),
            ("downstream_rq_3xx", C, c(&self.downstream_rq_3xx)),
            ("downstream_rq_4xx", C, c(&self.downstream_rq_4xx)),
            ("downstream_rq_5xx", C, c(&self.downstream_rq_5xx)),
            ("downstream_rq_active", G, self.downstream_rq_active.get()),
            (
                "downstream_rq_header_timeout",
                C,
                c(&self.downstream_rq_header_timeout),
            ),
            ("downstream_rq_rx_reset", C, c(&self.downstream_rq_rx_reset)),
            (
                "downstream_rq_too_many_premature_resets",
                C,
                c(&self.downstream_rq_too_many_premature_resets),
            ),
            ("downstream_rq_total", C, c(&self.downstream_rq_total)),
            ("fault.aborts_injected", C, c(&self.fault_aborts_injected)),
            ("fault.delays_injected", C, c(&self.fault_delays_injected)),
            ("no_cluster", C, c(&self.no_cluster)),
            ("no_route", C, c(&self.no_route)),
        ];
        if self.rbac_configured.load(Ordering::Relaxed) {
            out.extend([
                ("rbac.allowed", C, c(&self.rbac_allowed)),
                ("rbac.denied", C, c(&self.rbac_denied)),
                ("rbac.logged", C, c(&self.rbac_logged)),
                ("rbac.not_logged", C, c(&self.rbac_not_logged)),
            ]);
        }
        out.extend([
            ("rq_direct_response", C, c(&self.rq_direct_response)),
            ("rq_redirect", C, c(&self.rq_redirect)),
        ]);
        out
    }
}

/// `tcp.<stat_prefix>.*`, per TCP proxy filter.
#[derive(Debug, Default)]
pub struct TcpStats {
    pub downstream_cx_total: Counter,
    /// Connections whose cluster does not exist.
    pub downstream_cx_no_route: Counter,
    pub downstream_cx_rx_bytes_total: Counter,
    pub downstream_cx_tx_bytes_total: Counter,
    /// Connections whose TLS handshake completed (as [`HttpStats::downstream_cx_ssl_total`]).
    pub downstream_cx_ssl_total: Counter,
    /// Connections closed for carrying no bytes for the filter's `idle_timeout`.
    pub idle_timeout: Counter,
}

impl TcpStats {
    /// Every stat with its Envoy name (relative to `tcp.<prefix>.`), in name order.
    pub fn values(&self) -> Vec<(&'static str, Kind, i64)> {
        use Kind::Counter as C;
        let c = counter_value;
        vec![
            ("downstream_cx_no_route", C, c(&self.downstream_cx_no_route)),
            (
                "downstream_cx_rx_bytes_total",
                C,
                c(&self.downstream_cx_rx_bytes_total),
            ),
            (
                "downstream_cx_ssl_total",
                C,
                c(&self.downstream_cx_ssl_total),
            ),
            ("downstream_cx_total", C, c(&self.downstream_cx_total)),
            (
                "downstream_cx_tx_bytes_total",
                C,
                c(&self.downstream_cx_tx_bytes_total),
            ),
            ("idle_timeout", C, c(&self.idle_timeout)),
        ]
    }

    /// Adds `n` bytes read from the downstream.
    pub fn received(&self, n: u64) {
        self.downstream_cx_rx_bytes_total.add(n);
    }

    /// Adds `n` bytes written to the downstream.
    pub fn sent(&self, n: u64) {
        self.downstream_cx_tx_bytes_total.add(n);
    }
}

/// Every stat object of one proxy, by Envoy name.
#[derive(Debug)]
pub struct Stats {
    pub started: Instant,
    /// Istio's standard metrics, which `/stats/prometheus` prints after Envoy's.
    pub istio: IstioMetrics,
    clusters: Mutex<BTreeMap<String, Arc<ClusterStats>>>,
    http: Mutex<BTreeMap<String, Arc<HttpStats>>>,
    tcp: Mutex<BTreeMap<String, Arc<TcpStats>>>,
    /// `listener_manager.*` / xDS counters.
    pub lds_update_success: Counter,
    pub lds_update_rejected: Counter,
    pub cds_update_success: Counter,
    pub cds_update_rejected: Counter,
    pub rds_update_success: Counter,
    pub rds_update_rejected: Counter,
    pub eds_update_success: Counter,
    pub eds_update_rejected: Counter,
    /// SDS responses applied and rejected (not exported: Envoy's are per secret).
    pub sds_update_success: Counter,
    pub sds_update_rejected: Counter,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            started: Instant::now(),
            istio: IstioMetrics::default(),
            clusters: Mutex::default(),
            http: Mutex::default(),
            tcp: Mutex::default(),
            lds_update_success: Counter::default(),
            lds_update_rejected: Counter::default(),
            cds_update_success: Counter::default(),
            cds_update_rejected: Counter::default(),
            rds_update_success: Counter::default(),
            rds_update_rejected: Counter::default(),
            eds_update_success: Counter::default(),
            eds_update_rejected: Counter::default(),
            sds_update_success: Counter::default(),
            sds_update_rejected: Counter::default(),
        }
    }
}

impl Stats {
    pub fn cluster(&self, name: &str) -> Arc<ClusterStats> {
        let mut map = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_string()).or_default().clone()
    }

    pub fn http(&self, stat_prefix: &str) -> Arc<HttpStats> {
        let mut map = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(stat_prefix.to_string()).or_default().clone()
    }

    pub fn tcp(&self, stat_prefix: &str) -> Arc<TcpStats> {
        let mut map = self.tcp.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(stat_prefix.to_string()).or_default().clone()
    }

    /// Every stat, sorted by name: what `/stats` prints.
    pub fn snapshot(&self) -> Vec<Stat> {
        let mut out = Vec::new();
        for (name, s) in self
            .clusters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for (stat, kind, v) in s.values() {
                out.push(Stat::scoped(
                    "cluster",
                    "envoy.cluster_name",
                    name,
                    stat,
                    kind,
                    v,
                ));
            }
        }
        for (prefix, s) in self
            .http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for (stat, kind, v) in s.values() {
                out.push(Stat::scoped(
                    "http",
                    "envoy.http_conn_manager_prefix",
                    prefix,
                    stat,
                    kind,
                    v,
                ));
            }
        }
        for (prefix, s) in self
            .tcp
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for (stat, kind, v) in s.values() {
                out.push(Stat::scoped(
                    "tcp",
                    "envoy.tcp_prefix",
                    prefix,
                    stat,
                    kind,
                    v,
                ));
            }
        }
        for (name, v) in [
            (
                "cluster_manager.cds.update_rejected",
                &self.cds_update_rejected,
            ),
            (
                "cluster_manager.cds.update_success",
                &self.cds_update_success,
            ),
            (
                "cluster_manager.eds.update_rejected",
                &self.eds_update_rejected,
            ),
            (
                "cluster_manager.eds.update_success",
                &self.eds_update_success,
            ),
            ("http_route.rds.update_rejected", &self.rds_update_rejected),
            ("http_route.rds.update_success", &self.rds_update_success),
            (
                "listener_manager.lds.update_rejected",
                &self.lds_update_rejected,
            ),
            (
                "listener_manager.lds.update_success",
                &self.lds_update_success,
            ),
        ] {
            out.push(Stat::plain(name, Kind::Counter, counter_value(v)));
        }
        out.push(Stat::plain(
            "server.uptime",
            Kind::Gauge,
            i64::try_from(self.started.elapsed().as_secs()).unwrap_or(i64::MAX),
        ));
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_carry_kind_and_envoys_tags() {
        let stats = Stats::default();
        let c = stats.cluster("outbound|9080||reviews.default.svc.cluster.local");
        c.upstream_rq_total.inc();
        c.response(200);
        let all = stats.snapshot();
        let find = |name: &str| {
            all.iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        let total =
            find("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total");
        assert_eq!((total.kind, total.value), (Kind::Counter, 1));
        assert_eq!(total.tag_extracted_name, "cluster.upstream_rq_total");
        assert_eq!(
            total.tags,
            [(
                "envoy.cluster_name",
                "outbound|9080||reviews.default.svc.cluster.local".to_string()
            )]
        );
        let ok = find("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_2xx");
        assert_eq!(ok.tag_extracted_name, "cluster.upstream_rq_xx");
        assert_eq!(ok.tags[0], ("envoy.response_code_class", "2".to_string()));
        let active =
            find("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_active");
        assert_eq!(active.kind, Kind::Gauge);
        assert_eq!(find("server.uptime").kind, Kind::Gauge);
        assert!(find("server.uptime").tags.is_empty());
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}
