//! Outlier detection (Envoy's `outlier_detection`, Istio's DestinationRule
//! `outlierDetection`): consecutive 5xx responses, or consecutive gateway errors (502, 503,
//! 504 and failures to reach the endpoint), eject an endpoint for `base_ejection_time` times
//! the number of times it was ejected (at most `max_ejection_time`), unless that would eject
//! more than `max_ejection_percent` of the cluster.
//!
//! All state is atomics on the endpoint: the request path records results and checks
//! ejection with a few loads and stores. An ejection ends when its time has passed, seen by
//! the next look at the endpoint, rather than at Envoy's next `interval` tick (so an endpoint
//! returns up to one interval sooner than in Envoy). Success-rate ejection is not implemented
//! (Istio turns it off).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::cluster::v3::OutlierDetection;

use super::routes::duration;
use super::stats::ClusterStats;

/// The cluster's settings, with Envoy's defaults for what it leaves unset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutlierConfig {
    /// `None`: not enforced.
    pub consecutive_5xx: Option<u32>,
    pub consecutive_gateway_failure: Option<u32>,
    pub interval: Duration,
    pub base_ejection_time: Duration,
    pub max_ejection_time: Duration,
    pub max_ejection_percent: u32,
}

impl OutlierConfig {
    pub fn compile(od: &OutlierDetection) -> OutlierConfig {
        let value = |v: &Option<envoy_types::pb::google::protobuf::UInt32Value>, default| {
            v.as_ref().map_or(default, |v| v.value)
        };
        let time = |d: &Option<envoy_types::pb::google::protobuf::Duration>, default| {
            d.as_ref().and_then(duration).unwrap_or(default)
        };
        // Enforced when the threshold is positive and enforcement is above 0 %; Envoy draws
        // against the percentage, Istio only ever sends 0 or 100.
        let enforced =
            |threshold: u32, enforcing: u32| (threshold > 0 && enforcing > 0).then_some(threshold);
        let base_ejection_time = time(&od.base_ejection_time, Duration::from_secs(30));
        OutlierConfig {
            consecutive_5xx: enforced(
                value(&od.consecutive_5xx, 5),
                value(&od.enforcing_consecutive_5xx, 100),
            ),
            consecutive_gateway_failure: enforced(
                value(&od.consecutive_gateway_failure, 5),
                value(&od.enforcing_consecutive_gateway_failure, 0),
            ),
            interval: time(&od.interval, Duration::from_secs(10)),
            base_ejection_time,
            // Never shorter than the base time.
            max_ejection_time: time(&od.max_ejection_time, Duration::from_secs(300))
                .max(base_ejection_time),
            max_ejection_percent: value(&od.max_ejection_percent, 10).min(100),
        }
    }
}

/// Milliseconds since the proxy's first look at the clock (never 0, which means "not ejected").
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
}

/// One endpoint's detector state.
#[derive(Debug, Default)]
pub struct OutlierState {
    consecutive_5xx: AtomicU32,
    consecutive_gateway: AtomicU32,
    /// When the current ejection ends (ms, see [`now_ms`]); 0 when not ejected.
    ejected_until: AtomicU64,
    /// How many times it has been ejected (the multiplier of the ejection time).
    ejections: AtomicU32,
}

/// What a response or failure says about an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// The endpoint could not be reached or reset the request (counted as a 503 by Envoy
    /// unless local-origin errors are split out).
    LocalFailure,
    /// The request timed out (counted as a 504).
    Timeout,
}

/// Why an endpoint was ejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ejection {
    Consecutive5xx,
    ConsecutiveGatewayFailure,
}

impl OutlierState {
    /// Whether the endpoint is ejected now. An ejection whose time has passed ends here, once
    /// (the caller counts that).
    pub fn is_ejected(&self, stats: &ClusterStats) -> bool {
        let until = self.ejected_until.load(Ordering::Relaxed);
        if until == 0 {
            return false;
        }
        if now_ms() < until {
            return true;
        }
        if self
            .ejected_until
            .compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            stats.outlier_ejections_active.dec();
        }
        false
    }

    /// Whether the endpoint is ejected, without ending an ejection (for `/clusters`).
    pub fn ejected(&self) -> bool {
        let until = self.ejected_until.load(Ordering::Relaxed);
        until != 0 && now_ms() < until
    }

    /// Records one result; returns the reason when it makes the endpoint an outlier (the
    /// caller decides whether the ejection is allowed and then calls [`Self::eject`]).
    pub fn record(&self, config: &OutlierConfig, outcome: Outcome) -> Option<Ejection> {
        let status = match outcome {
            Outcome::Status(s) => s,
            Outcome::LocalFailure => 503,
            Outcome::Timeout => 504,
        };
        if status < 500 {
            self.consecutive_5xx.store(0, Ordering::Relaxed);
            self.consecutive_gateway.store(0, Ordering::Relaxed);
            return None;
        }
        let gateway = matches!(status, 502..=504);
        let gw_count = if gateway {
            self.consecutive_gateway.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.consecutive_gateway.store(0, Ordering::Relaxed);
            0
        };
        let count = self.consecutive_5xx.fetch_add(1, Ordering::Relaxed) + 1;
        // `==`, as Envoy: the threshold is crossed once per run of errors.
        if config.consecutive_gateway_failure == Some(gw_count) {
            return Some(Ejection::ConsecutiveGatewayFailure);
        }
        if config.consecutive_5xx == Some(count) {
            return Some(Ejection::Consecutive5xx);
        }
        None
    }

    /// Ejects the endpoint for `base_ejection_time` × (ejections so far + 1).
    pub fn eject(&self, config: &OutlierConfig, why: Ejection, stats: &ClusterStats) {
        let n = self.ejections.fetch_add(1, Ordering::Relaxed) + 1;
        let time = config
            .base_ejection_time
            .saturating_mul(n)
            .min(config.max_ejection_time);
        let until = now_ms() + u64::try_from(time.as_millis()).unwrap_or(u64::MAX / 2);
        if self.ejected_until.swap(until, Ordering::Relaxed) == 0 {
            stats.outlier_ejections_active.inc();
        }
        self.consecutive_5xx.store(0, Ordering::Relaxed);
        self.consecutive_gateway.store(0, Ordering::Relaxed);
        stats.outlier_ejections_enforced_total.inc();
        match why {
            Ejection::Consecutive5xx => stats.outlier_ejections_enforced_consecutive_5xx.inc(),
            Ejection::ConsecutiveGatewayFailure => stats
                .outlier_ejections_enforced_consecutive_gateway_failure
                .inc(),
        }
    }
}

/// Whether one more ejection keeps the cluster within `max_ejection_percent`.
pub fn may_eject(config: &OutlierConfig, ejected: usize, total: usize) -> bool {
    total > 0 && (ejected + 1) * 100 <= config.max_ejection_percent as usize * total
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::google::protobuf::{Duration as PbDuration, UInt32Value};

    use super::*;

    fn config(millis: u64) -> OutlierConfig {
        OutlierConfig {
            consecutive_5xx: Some(3),
            consecutive_gateway_failure: None,
            interval: Duration::from_millis(millis),
            base_ejection_time: Duration::from_millis(millis),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_percent: 50,
        }
    }

    #[test]
    fn consecutive_errors_eject_and_a_success_resets_the_count() {
        let c = config(10_000);
        let s = OutlierState::default();
        let stats = ClusterStats::default();
        assert_eq!(s.record(&c, Outcome::Status(500)), None);
        assert_eq!(s.record(&c, Outcome::Status(500)), None);
        assert_eq!(s.record(&c, Outcome::Status(200)), None);
        assert_eq!(s.record(&c, Outcome::Status(500)), None);
        assert_eq!(s.record(&c, Outcome::LocalFailure), None);
        assert_eq!(
            s.record(&c, Outcome::Status(503)),
            Some(Ejection::Consecutive5xx)
        );
        s.eject(&c, Ejection::Consecutive5xx, &stats);
        assert!(s.is_ejected(&stats));
        assert_eq!(stats.outlier_ejections_active.get(), 1);
        assert_eq!(stats.outlier_ejections_enforced_consecutive_5xx.get(), 1);
    }

    #[test]
    fn ejections_end_after_base_time_times_their_number() {
        let c = config(50);
        let s = OutlierState::default();
        let stats = ClusterStats::default();
        s.eject(&c, Ejection::Consecutive5xx, &stats);
        std::thread::sleep(Duration::from_millis(70));
        assert!(!s.is_ejected(&stats));
        assert_eq!(stats.outlier_ejections_active.get(), 0);
        // The second ejection lasts twice as long.
        s.eject(&c, Ejection::Consecutive5xx, &stats);
        std::thread::sleep(Duration::from_millis(70));
        assert!(s.is_ejected(&stats));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!s.is_ejected(&stats));
    }

    #[test]
    fn gateway_errors_count_only_when_enforced() {
        let od = OutlierDetection {
            consecutive_5xx: Some(UInt32Value { value: 0 }),
            enforcing_consecutive_5xx: Some(UInt32Value { value: 0 }),
            consecutive_gateway_failure: Some(UInt32Value { value: 2 }),
            enforcing_consecutive_gateway_failure: Some(UInt32Value { value: 100 }),
            base_ejection_time: Some(PbDuration {
                seconds: 1,
                nanos: 0,
            }),
            ..Default::default()
        };
        let c = OutlierConfig::compile(&od);
        assert_eq!(c.consecutive_5xx, None);
        assert_eq!(c.max_ejection_percent, 10);
        let s = OutlierState::default();
        assert_eq!(s.record(&c, Outcome::Status(500)), None);
        assert_eq!(s.record(&c, Outcome::Status(500)), None);
        assert_eq!(s.record(&c, Outcome::Timeout), None);
        assert_eq!(
            s.record(&c, Outcome::LocalFailure),
            Some(Ejection::ConsecutiveGatewayFailure)
        );
        // Envoy's defaults: 5 consecutive 5xx enforced, gateway failures not.
        let d = OutlierConfig::compile(&OutlierDetection::default());
        assert_eq!(d.consecutive_5xx, Some(5));
        assert_eq!(d.consecutive_gateway_failure, None);
    }

    #[test]
    fn max_ejection_percent_bounds_ejections() {
        let c = config(1000);
        assert!(may_eject(&c, 0, 2));
        assert!(!may_eject(&c, 1, 2));
        assert!(!may_eject(&c, 0, 1));
        let all = OutlierConfig {
            max_ejection_percent: 100,
            ..c
        };
        assert!(may_eject(&all, 1, 2));
    }
}
