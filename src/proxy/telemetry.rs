//! What the proxy tells about the requests it serves: Istio's standard metrics
//! ([`metrics`], with Envoy's response [`flags`]) and access logs ([`access_log`]), reported
//! once per request from the [`exchange`] record the request path fills in; and the
//! [`trace`] context it passes on to the next hop.

pub mod access_log;
pub mod exchange;
pub mod flags;
pub mod metrics;
pub mod trace;
