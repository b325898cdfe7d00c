//! DestinationRule traffic policies as they apply to one cluster, and their Envoy forms: load
//! balancing (cluster `lb_policy` and the route's hash policy for consistent hashing),
//! connection pools (circuit breakers, connect timeout) and outlier detection.
//!
//! Precedence follows Istio (`GetPortLevelTrafficPolicy`, `MergeSubsetTrafficPolicy`): the rule's
//! policy, overridden section by section by its `portLevelSettings` for the port, then by the
//! subset's policy, then by the subset's port-level settings.

use std::time::Duration as StdDuration;

use envoy_types::pb::envoy::config::cluster::v3::{
    CircuitBreakers, OutlierDetection as EnvoyOutlierDetection, circuit_breakers, cluster,
};
use envoy_types::pb::envoy::config::core::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::config::route::v3::route_action::{HashPolicy, hash_policy};
use envoy_types::pb::envoy::r#type::v3::Percent;
use envoy_types::pb::google::protobuf::{Duration, UInt64Value};

use super::proto::{go_duration, uint32};
use crate::config::networking as net;

/// The policy sections in force for one cluster.
#[derive(Debug, Clone, Copy, Default)]
pub struct EffectivePolicy<'a> {
    pub load_balancer: Option<&'a net::LoadBalancerSettings>,
    pub connection_pool: Option<&'a net::ConnectionPoolSettings>,
    pub outlier_detection: Option<&'a net::OutlierDetection>,
    pub tls: Option<&'a net::ClientTlsSettings>,
}

impl<'a> EffectivePolicy<'a> {
    /// The policy for `port` of a rule, optionally of one of its subsets.
    pub fn of(
        rule: Option<&'a net::DestinationRule>,
        subset: Option<&'a net::Subset>,
        port: u32,
    ) -> EffectivePolicy<'a> {
        let mut out = EffectivePolicy::default();
        if let Some(p) = rule.and_then(|r| r.traffic_policy.as_ref()) {
            out.apply(p, port);
        }
        if let Some(p) = subset.and_then(|s| s.traffic_policy.as_ref()) {
            out.apply(p, port);
        }
        out
    }

    fn apply(&mut self, p: &'a net::TrafficPolicy, port: u32) {
        self.load_balancer = p.load_balancer.as_ref().or(self.load_balancer);
        self.connection_pool = p.connection_pool.as_ref().or(self.connection_pool);
        self.outlier_detection = p.outlier_detection.as_ref().or(self.outlier_detection);
        self.tls = p.tls.as_ref().or(self.tls);
        let port_level = p
            .port_level_settings
            .iter()
            .find(|s| s.port.as_ref().and_then(|p| p.number) == Some(port));
        if let Some(pl) = port_level {
            self.load_balancer = pl.load_balancer.as_ref().or(self.load_balancer);
            self.connection_pool = pl.connection_pool.as_ref().or(self.connection_pool);
            self.outlier_detection = pl.outlier_detection.as_ref().or(self.outlier_detection);
            self.tls = pl.tls.as_ref().or(self.tls);
        }
    }

    /// `loadBalancer.simple: PASSTHROUGH`: the cluster forwards to the original destination.
    pub fn is_passthrough(&self) -> bool {
        self.load_balancer.and_then(|lb| lb.simple.as_deref()) == Some("PASSTHROUGH")
    }

    /// The cluster's load balancing policy and its config. Istio's default (no policy, or
    /// `UNSPECIFIED`) is `LEAST_REQUEST`.
    pub fn lb_policy(&self) -> (cluster::LbPolicy, Option<cluster::LbConfig>) {
        let Some(lb) = self.load_balancer else {
            return (cluster::LbPolicy::LeastRequest, None);
        };
        if let Some(hash) = &lb.consistent_hash {
            let setting = |v: &Option<serde_json::Value>, key: &str| {
                v.as_ref()
                    .and_then(|v| v.get(key))
                    .and_then(serde_json::Value::as_u64)
            };
            if hash.maglev.is_some() {
                let table_size = setting(&hash.maglev, "tableSize");
                return (
                    cluster::LbPolicy::Maglev,
                    Some(cluster::LbConfig::MaglevLbConfig(cluster::MaglevLbConfig {
                        table_size: table_size.map(|value| UInt64Value { value }),
                    })),
                );
            }
            // Envoy's own default minimum ring size, which Istio writes out explicitly.
            let ring = setting(&hash.ring_hash, "minimumRingSize")
                .or(hash.minimum_ring_size)
                .filter(|v| *v > 0)
                .unwrap_or(1024);
            return (
                cluster::LbPolicy::RingHash,
                Some(cluster::LbConfig::RingHashLbConfig(
                    cluster::RingHashLbConfig {
                        minimum_ring_size: Some(UInt64Value { value: ring }),
                        ..Default::default()
                    },
                )),
            );
        }
        let policy = match lb.simple.as_deref() {
            Some("ROUND_ROBIN") => cluster::LbPolicy::RoundRobin,
            Some("RANDOM") => cluster::LbPolicy::Random,
            Some("PASSTHROUGH") => cluster::LbPolicy::ClusterProvided,
            // LEAST_CONN is LEAST_REQUEST's old name.
            _ => cluster::LbPolicy::LeastRequest,
        };
        (policy, None)
    }

    /// The route hash policy consistent hashing needs (`consistentHashToHashPolicy`).
    pub fn hash_policy(&self) -> Option<HashPolicy> {
        let hash = self.load_balancer?.consistent_hash.as_ref()?;
        let specifier = if let Some(name) = &hash.http_header_name {
            hash_policy::PolicySpecifier::Header(hash_policy::Header {
                header_name: name.clone(),
                ..Default::default()
            })
        } else if let Some(cookie) = &hash.http_cookie {
            hash_policy::PolicySpecifier::Cookie(hash_policy::Cookie {
                name: cookie.name.clone(),
                ttl: cookie.ttl.as_deref().and_then(go_duration),
                path: cookie.path.clone().unwrap_or_default(),
                ..Default::default()
            })
        } else if hash.use_source_ip == Some(true) {
            hash_policy::PolicySpecifier::ConnectionProperties(hash_policy::ConnectionProperties {
                source_ip: true,
            })
        } else if let Some(name) = &hash.http_query_parameter_name {
            hash_policy::PolicySpecifier::QueryParameter(hash_policy::QueryParameter {
                name: name.clone(),
            })
        } else {
            return None;
        };
        Some(HashPolicy {
            policy_specifier: Some(specifier),
            terminal: false,
        })
    }

    /// `connectionPool.tcp.connectTimeout`, else the mesh default.
    pub fn connect_timeout(&self, default: StdDuration) -> Duration {
        self.connection_pool
            .and_then(|cp| cp.tcp.as_ref())
            .and_then(|tcp| tcp.connect_timeout.as_deref())
            .and_then(go_duration)
            .unwrap_or_else(|| super::proto::duration(default))
    }

    /// Circuit breakers: Istio's defaults are effectively unlimited (`MaxUint32`), lowered by the
    /// connection pool settings.
    pub fn circuit_breakers(&self) -> CircuitBreakers {
        let limit = |v: Option<i64>| {
            let v = v.and_then(|v| u32::try_from(v).ok()).unwrap_or(u32::MAX);
            uint32(v)
        };
        let tcp = self.connection_pool.and_then(|cp| cp.tcp.as_ref());
        let http = self.connection_pool.and_then(|cp| cp.http.as_ref());
        CircuitBreakers {
            thresholds: vec![circuit_breakers::Thresholds {
                max_connections: limit(tcp.and_then(|t| t.max_connections)),
                max_pending_requests: limit(http.and_then(|h| h.http1_max_pending_requests)),
                max_requests: limit(http.and_then(|h| h.http2_max_requests)),
                max_retries: limit(http.and_then(|h| h.max_retries)),
                track_remaining: true,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// `applyOutlierDetection`: consecutive errors enforced at 100%, success-rate ejection off,
    /// and the panic threshold from `minHealthPercent` (0 unless set: Istio disables Envoy's 50%
    /// default, which rarely suits services with few pods).
    pub fn outlier_detection(&self) -> Option<(EnvoyOutlierDetection, Percent)> {
        let od = self.outlier_detection?;
        let enforcing = |v: u32| uint32(if v > 0 { 100 } else { 0 });
        let mut out = EnvoyOutlierDetection {
            enforcing_success_rate: uint32(0),
            ..Default::default()
        };
        if let Some(v) = od
            .consecutive_5xx_errors
            .and_then(|v| u32::try_from(v).ok())
        {
            out.consecutive_5xx = uint32(v);
            out.enforcing_consecutive_5xx = enforcing(v);
        }
        let gateway = od
            .consecutive_gateway_errors
            .or(od.consecutive_errors)
            .and_then(|v| u32::try_from(v).ok());
        if let Some(v) = gateway {
            out.consecutive_gateway_failure = uint32(v);
            out.enforcing_consecutive_gateway_failure = enforcing(v);
        }
        if od.split_external_local_origin_errors == Some(true) {
            out.split_external_local_origin_errors = true;
            if let Some(v) = od
                .consecutive_local_origin_failures
                .and_then(|v| u32::try_from(v).ok())
            {
                out.consecutive_local_origin_failure = uint32(v);
                out.enforcing_consecutive_local_origin_failure = enforcing(v);
            }
        }
        out.interval = od.interval.as_deref().and_then(go_duration);
        out.base_ejection_time = od.base_ejection_time.as_deref().and_then(go_duration);
        if let Some(p) = od.max_ejection_percent.and_then(|v| u32::try_from(v).ok()) {
            out.max_ejection_percent = uint32(p);
        }
        let panic = Percent {
            value: od.min_health_percent.unwrap_or(0).max(0) as f64,
        };
        Some((out, panic))
    }

    /// `http.idleTimeout`, `http.maxRequestsPerConnection` and `tcp.maxConnectionDuration`:
    /// the cluster's `common_http_protocol_options` (`applyConnectionPool`), if any is set.
    pub fn common_http_protocol_options(&self) -> Option<HttpProtocolOptions> {
        let http = self.connection_pool.and_then(|cp| cp.http.as_ref());
        let tcp = self.connection_pool.and_then(|cp| cp.tcp.as_ref());
        let idle_timeout = http
            .and_then(|h| h.idle_timeout.as_deref())
            .and_then(go_duration);
        let max_requests_per_connection = http
            .and_then(|h| h.max_requests_per_connection)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .and_then(uint32);
        let max_connection_duration = tcp
            .and_then(|t| t.max_connection_duration.as_deref())
            .and_then(go_duration);
        if idle_timeout.is_none()
            && max_requests_per_connection.is_none()
            && max_connection_duration.is_none()
        {
            return None;
        }
        Some(HttpProtocolOptions {
            idle_timeout,
            max_requests_per_connection,
            max_connection_duration,
            ..Default::default()
        })
    }

    /// An upstream TLS mode Ferry does not originate yet (`SIMPLE`, `MUTUAL`, `ISTIO_MUTUAL`).
    pub fn tls_mode(&self) -> Option<&'a str> {
        self.tls
            .and_then(|t| t.mode.as_deref())
            .filter(|m| *m != "DISABLE")
    }

    /// Whether upstream connections must be HTTP/2 (`h2UpgradePolicy: UPGRADE`), or should follow
    /// the client's protocol (`useClientProtocol`).
    pub fn h2_upgrade(&self) -> bool {
        self.connection_pool
            .and_then(|cp| cp.http.as_ref())
            .and_then(|h| h.h2_upgrade_policy.as_deref())
            == Some("UPGRADE")
    }

    pub fn use_client_protocol(&self) -> bool {
        self.connection_pool
            .and_then(|cp| cp.http.as_ref())
            .and_then(|h| h.use_client_protocol)
            == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> net::DestinationRule {
        serde_json::from_str(json).expect("a DestinationRule spec")
    }

    #[test]
    fn port_level_and_subset_policies_override_in_order() {
        let dr = rule(
            r#"{"host": "r", "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"},
                "portLevelSettings": [{"port": {"number": 9080}, "loadBalancer": {"simple": "ROUND_ROBIN"}}]},
               "subsets": [{"name": "v1", "labels": {"v": "1"},
                 "trafficPolicy": {"connectionPool": {"tcp": {"connectTimeout": "3s"}}}}]}"#,
        );
        let p = EffectivePolicy::of(Some(&dr), None, 80);
        assert_eq!(p.lb_policy().0, cluster::LbPolicy::Random);
        let p = EffectivePolicy::of(Some(&dr), None, 9080);
        assert_eq!(p.lb_policy().0, cluster::LbPolicy::RoundRobin);
        let p = EffectivePolicy::of(Some(&dr), dr.subsets.first(), 9080);
        assert_eq!(p.lb_policy().0, cluster::LbPolicy::RoundRobin);
        assert_eq!(p.connect_timeout(StdDuration::from_secs(10)).seconds, 3);
        assert_eq!(
            EffectivePolicy::of(None, None, 80).lb_policy().0,
            cluster::LbPolicy::LeastRequest
        );
    }

    #[test]
    fn consistent_hash_needs_a_ring_and_a_route_hash_policy() {
        let dr = rule(
            r#"{"host": "r", "trafficPolicy": {"loadBalancer": {"consistentHash": {"httpHeaderName": "x-user"}}}}"#,
        );
        let p = EffectivePolicy::of(Some(&dr), None, 80);
        assert!(matches!(
            p.lb_policy(),
            (
                cluster::LbPolicy::RingHash,
                Some(cluster::LbConfig::RingHashLbConfig(_))
            )
        ));
        assert!(matches!(
            p.hash_policy().and_then(|h| h.policy_specifier),
            Some(hash_policy::PolicySpecifier::Header(h)) if h.header_name == "x-user"
        ));
        assert!(EffectivePolicy::of(None, None, 80).hash_policy().is_none());
    }

    #[test]
    fn connection_pools_set_circuit_breakers_and_outliers_eject() {
        let dr = rule(
            r#"{"host": "r", "trafficPolicy": {
                "connectionPool": {"tcp": {"maxConnections": 10}, "http": {"http1MaxPendingRequests": 5}},
                "outlierDetection": {"consecutive5xxErrors": 3, "interval": "10s", "baseEjectionTime": "30s", "maxEjectionPercent": 50}}}"#,
        );
        let p = EffectivePolicy::of(Some(&dr), None, 80);
        let t = &p.circuit_breakers().thresholds[0];
        assert_eq!(t.max_connections, uint32(10));
        assert_eq!(t.max_pending_requests, uint32(5));
        assert_eq!(t.max_requests, uint32(u32::MAX));
        let (od, panic) = p.outlier_detection().expect("outlier detection");
        assert_eq!(od.consecutive_5xx, uint32(3));
        assert_eq!(od.enforcing_consecutive_5xx, uint32(100));
        assert_eq!(od.max_ejection_percent, uint32(50));
        assert_eq!(panic.value, 0.0);
        assert!(
            EffectivePolicy::of(None, None, 80)
                .outlier_detection()
                .is_none()
        );
    }
}
