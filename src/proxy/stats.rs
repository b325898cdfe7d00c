//! Counters and gauges with Envoy's stat names. Each object lives in a registry keyed by its
//! Envoy name, so an xDS update that replaces a cluster or listener keeps its counters (Envoy
//! keeps stats across updates too).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
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
    pub upstream_rq_pending_failure_eject: Counter,
    pub upstream_cx_none_healthy: Counter,
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
    pub fn values(&self) -> Vec<(&'static str, i64)> {
        let c = |c: &Counter| i64::try_from(c.get()).unwrap_or(i64::MAX);
        vec![
            (
                "upstream_cx_connect_fail",
                c(&self.upstream_cx_connect_fail),
            ),
            (
                "upstream_cx_none_healthy",
                c(&self.upstream_cx_none_healthy),
            ),
            ("upstream_rq_1xx", c(&self.upstream_rq_1xx)),
            ("upstream_rq_2xx", c(&self.upstream_rq_2xx)),
            ("upstream_rq_3xx", c(&self.upstream_rq_3xx)),
            ("upstream_rq_4xx", c(&self.upstream_rq_4xx)),
            ("upstream_rq_5xx", c(&self.upstream_rq_5xx)),
            ("upstream_rq_active", self.upstream_rq_active.get()),
            (
                "upstream_rq_per_try_timeout",
                c(&self.upstream_rq_per_try_timeout),
            ),
            ("upstream_rq_retry", c(&self.upstream_rq_retry)),
            ("upstream_rq_timeout", c(&self.upstream_rq_timeout)),
            ("upstream_rq_total", c(&self.upstream_rq_total)),
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
    pub no_route: Counter,
    pub no_cluster: Counter,
    pub rq_redirect: Counter,
    pub rq_direct_response: Counter,
    pub fault_delays_injected: Counter,
    pub fault_aborts_injected: Counter,
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
    pub fn values(&self) -> Vec<(&'static str, i64)> {
        let c = |c: &Counter| i64::try_from(c.get()).unwrap_or(i64::MAX);
        vec![
            ("downstream_cx_active", self.downstream_cx_active.get()),
            ("downstream_cx_total", c(&self.downstream_cx_total)),
            ("downstream_rq_1xx", c(&self.downstream_rq_1xx)),
            ("downstream_rq_2xx", c(&self.downstream_rq_2xx)),
            ("downstream_rq_3xx", c(&self.downstream_rq_3xx)),
            ("downstream_rq_4xx", c(&self.downstream_rq_4xx)),
            ("downstream_rq_5xx", c(&self.downstream_rq_5xx)),
            ("downstream_rq_active", self.downstream_rq_active.get()),
            ("downstream_rq_total", c(&self.downstream_rq_total)),
            ("fault.aborts_injected", c(&self.fault_aborts_injected)),
            ("fault.delays_injected", c(&self.fault_delays_injected)),
            ("no_cluster", c(&self.no_cluster)),
            ("no_route", c(&self.no_route)),
            ("rq_direct_response", c(&self.rq_direct_response)),
            ("rq_redirect", c(&self.rq_redirect)),
        ]
    }
}

/// Every stat object of one proxy, by Envoy name.
#[derive(Debug)]
pub struct Stats {
    pub started: Instant,
    clusters: Mutex<BTreeMap<String, Arc<ClusterStats>>>,
    http: Mutex<BTreeMap<String, Arc<HttpStats>>>,
    /// `listener_manager.*` / xDS counters.
    pub lds_update_success: Counter,
    pub lds_update_rejected: Counter,
    pub cds_update_success: Counter,
    pub cds_update_rejected: Counter,
    pub rds_update_success: Counter,
    pub rds_update_rejected: Counter,
    pub eds_update_success: Counter,
    pub eds_update_rejected: Counter,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            started: Instant::now(),
            clusters: Mutex::default(),
            http: Mutex::default(),
            lds_update_success: Counter::default(),
            lds_update_rejected: Counter::default(),
            cds_update_success: Counter::default(),
            cds_update_rejected: Counter::default(),
            rds_update_success: Counter::default(),
            rds_update_rejected: Counter::default(),
            eds_update_success: Counter::default(),
            eds_update_rejected: Counter::default(),
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

    /// Every stat as `(envoy name, value)`, sorted by name: what `/stats` prints.
    pub fn snapshot(&self) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for (name, s) in self
            .clusters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for (stat, v) in s.values() {
                out.push((format!("cluster.{name}.{stat}"), v));
            }
        }
        for (prefix, s) in self
            .http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for (stat, v) in s.values() {
                out.push((format!("http.{prefix}.{stat}"), v));
            }
        }
        let c = |c: &Counter| i64::try_from(c.get()).unwrap_or(i64::MAX);
        for (name, v) in [
            (
                "cluster_manager.cds.update_rejected",
                c(&self.cds_update_rejected),
            ),
            (
                "cluster_manager.cds.update_success",
                c(&self.cds_update_success),
            ),
            (
                "cluster_manager.eds.update_rejected",
                c(&self.eds_update_rejected),
            ),
            (
                "cluster_manager.eds.update_success",
                c(&self.eds_update_success),
            ),
            (
                "http_route.rds.update_rejected",
                c(&self.rds_update_rejected),
            ),
            ("http_route.rds.update_success", c(&self.rds_update_success)),
            (
                "listener_manager.lds.update_rejected",
                c(&self.lds_update_rejected),
            ),
            (
                "listener_manager.lds.update_success",
                c(&self.lds_update_success),
            ),
            (
                "server.uptime",
                i64::try_from(self.started.elapsed().as_secs()).unwrap_or(i64::MAX),
            ),
        ] {
            out.push((name.to_string(), v));
        }
        out.sort();
        out
    }
}
