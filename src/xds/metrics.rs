//! What the ADS server counts, under istiod's metric names and labels
//! (`pilot/pkg/xds/monitoring.go`), so dashboards and alerts written for istiod read Ferry too:
//! connected proxies by version, pushes and push time per type, proxy convergence time, and the
//! responses proxies rejected.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::types::TypeUrl;
use crate::metrics::{Counter, Exposition, Histogram, Kind};

/// istiod's buckets for `pilot_xds_push_time` (seconds).
pub const PUSH_TIME_BUCKETS: &[f64] = &[0.01, 0.1, 1.0, 3.0, 5.0, 10.0, 20.0, 30.0];
/// istiod's buckets for `pilot_proxy_convergence_time` (seconds).
pub const CONVERGENCE_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 3.0, 5.0, 10.0, 20.0, 30.0];

/// Per served type, indexed by [`TypeUrl`]'s position in [`TypeUrl::ALL`].
type PerType<T> = [T; TypeUrl::ALL.len()];

fn index(type_url: TypeUrl) -> usize {
    TypeUrl::ALL
        .iter()
        .position(|t| *t == type_url)
        .unwrap_or_default()
}

/// istiod's `type` label value (`v3.GetMetricType`): `cds`, `eds`, `lds`, `rds`, `sds`.
fn type_label(type_url: TypeUrl) -> &'static str {
    match type_url {
        TypeUrl::Cluster => "cds",
        TypeUrl::ClusterLoadAssignment => "eds",
        TypeUrl::Listener => "lds",
        TypeUrl::RouteConfiguration => "rds",
        TypeUrl::Secret => "sds",
    }
}

/// The ADS server's metrics. Shared by every stream; cheap to update from any of them.
#[derive(Debug)]
pub struct XdsMetrics {
    /// Connected streams by the proxy's `ISTIO_VERSION`.
    connected: Mutex<BTreeMap<String, i64>>,
    pushes: PerType<Counter>,
    push_time: PerType<Histogram>,
    convergence: Histogram,
    rejects: PerType<Counter>,
    /// istiod's older per-type reject gauges, by proxy id and gRPC code name.
    rejects_by_node: Mutex<BTreeMap<(TypeUrl, String, String), u64>>,
}

impl Default for XdsMetrics {
    fn default() -> XdsMetrics {
        XdsMetrics {
            connected: Mutex::default(),
            pushes: Default::default(),
            push_time: std::array::from_fn(|_| Histogram::new(PUSH_TIME_BUCKETS)),
            convergence: Histogram::new(CONVERGENCE_BUCKETS),
            rejects: Default::default(),
            rejects_by_node: Mutex::default(),
        }
    }
}

/// A connected stream's share of `pilot_xds`; dropping it (however the stream ends) removes it.
#[derive(Debug)]
pub struct Connected {
    metrics: Arc<XdsMetrics>,
    version: String,
}

impl Drop for Connected {
    fn drop(&mut self) {
        let mut connected = lock(&self.metrics.connected);
        if let Some(n) = connected.get_mut(&self.version) {
            *n -= 1;
        }
    }
}

/// A poisoned lock only means a panic elsewhere while counting; the numbers stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl XdsMetrics {
    pub fn new() -> XdsMetrics {
        XdsMetrics::default()
    }

    /// Counts a stream from a proxy of `istio_version` until the returned guard drops.
    pub fn connect(self: &Arc<XdsMetrics>, istio_version: &str) -> Connected {
        *lock(&self.connected)
            .entry(istio_version.to_string())
            .or_default() += 1;
        Connected {
            metrics: self.clone(),
            version: istio_version.to_string(),
        }
    }

    /// Connected streams, all versions.
    pub fn connected(&self) -> i64 {
        lock(&self.connected).values().sum()
    }

    /// One response sent, and how long building and sending it took.
    pub fn record_push(&self, type_url: TypeUrl, took: Duration) {
        self.pushes[index(type_url)].inc();
        self.push_time[index(type_url)].observe_duration(took);
    }

    pub fn pushes(&self, type_url: TypeUrl) -> u64 {
        self.pushes[index(type_url)].get()
    }

    /// A proxy was sent everything a config change meant for it, `took` after the change was
    /// first seen.
    pub fn record_convergence(&self, took: Duration) {
        self.convergence.observe_duration(took);
    }

    /// A NACK from proxy `node`, with the gRPC code name of its `error_detail`.
    pub fn record_reject(&self, type_url: TypeUrl, node: &str, code: &str) {
        self.rejects[index(type_url)].inc();
        *lock(&self.rejects_by_node)
            .entry((type_url, node.to_string(), code.to_string()))
            .or_default() += 1;
    }

    pub fn rejects(&self, type_url: TypeUrl) -> u64 {
        self.rejects[index(type_url)].get()
    }

    pub fn encode(&self, out: &mut Exposition) {
        out.family(
            "pilot_xds",
            "Number of endpoints connected to this pilot using XDS.",
            Kind::Gauge,
        );
        for (version, n) in lock(&self.connected).iter() {
            out.sample("pilot_xds", &[("version", version)], *n as f64);
        }
        out.family(
            "pilot_xds_pushes",
            "Pilot build and send errors for lds, rds, cds and eds.",
            Kind::Counter,
        );
        for t in TypeUrl::ALL {
            out.sample(
                "pilot_xds_pushes",
                &[("type", type_label(t))],
                self.pushes(t) as f64,
            );
        }
        out.family(
            "pilot_xds_push_time",
            "Total time in seconds Pilot takes to push lds, rds, cds and eds.",
            Kind::Histogram,
        );
        for t in TypeUrl::ALL {
            out.histogram(
                "pilot_xds_push_time",
                &[("type", type_label(t))],
                &self.push_time[index(t)],
            );
        }
        out.family(
            "pilot_proxy_convergence_time",
            "Delay in seconds between config change and a proxy receiving all required \
             configuration.",
            Kind::Histogram,
        )
        .histogram("pilot_proxy_convergence_time", &[], &self.convergence);
        out.family(
            "pilot_total_xds_rejects",
            "Total number of XDS responses from pilot rejected by proxy.",
            Kind::Counter,
        );
        for t in TypeUrl::ALL {
            out.sample(
                "pilot_total_xds_rejects",
                &[("type", type_label(t))],
                self.rejects(t) as f64,
            );
        }
        let by_node = lock(&self.rejects_by_node);
        for (t, name, help) in [
            (
                TypeUrl::Cluster,
                "pilot_xds_cds_reject",
                "Pilot rejected CDS configs.",
            ),
            (
                TypeUrl::ClusterLoadAssignment,
                "pilot_xds_eds_reject",
                "Pilot rejected EDS.",
            ),
            (
                TypeUrl::Listener,
                "pilot_xds_lds_reject",
                "Pilot rejected LDS.",
            ),
            (
                TypeUrl::RouteConfiguration,
                "pilot_xds_rds_reject",
                "Pilot rejected RDS.",
            ),
        ] {
            out.family(name, help, Kind::Gauge);
            for ((_, node, err), n) in by_node.iter().filter(|((rt, _, _), _)| *rt == t) {
                out.sample(name, &[("node", node), ("err", err)], *n as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_streams_pushes_and_rejects_under_istio_names() {
        let metrics = Arc::new(XdsMetrics::new());
        let a = metrics.connect("1.24.0");
        let b = metrics.connect("1.24.0");
        let c = metrics.connect("");
        drop(b);
        metrics.record_push(TypeUrl::Cluster, Duration::from_millis(5));
        metrics.record_push(TypeUrl::Cluster, Duration::from_millis(50));
        metrics.record_push(TypeUrl::RouteConfiguration, Duration::from_secs(2));
        metrics.record_convergence(Duration::from_millis(300));
        metrics.record_reject(
            TypeUrl::Listener,
            "productpage-1.default",
            "InvalidArgument",
        );
        let mut out = Exposition::new();
        metrics.encode(&mut out);
        let text = out.finish();
        for line in [
            "# TYPE pilot_xds gauge",
            "pilot_xds{version=\"\"} 1",
            "pilot_xds{version=\"1.24.0\"} 1",
            "# TYPE pilot_xds_pushes counter",
            "pilot_xds_pushes{type=\"cds\"} 2",
            "pilot_xds_pushes{type=\"rds\"} 1",
            "pilot_xds_pushes{type=\"eds\"} 0",
            "pilot_xds_push_time_bucket{type=\"cds\",le=\"0.01\"} 1",
            "pilot_xds_push_time_bucket{type=\"cds\",le=\"0.1\"} 2",
            "pilot_xds_push_time_bucket{type=\"rds\",le=\"3\"} 1",
            "pilot_xds_push_time_count{type=\"rds\"} 1",
            "pilot_proxy_convergence_time_bucket{le=\"0.5\"} 1",
            "pilot_proxy_convergence_time_count 1",
            "pilot_total_xds_rejects{type=\"lds\"} 1",
            "pilot_xds_lds_reject{node=\"productpage-1.default\",err=\"InvalidArgument\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("pilot_xds_cds_reject{"), "{text}");
        drop((a, c));
        assert_eq!(metrics.connected(), 0);
    }
}
