//! What the proxy tells about the requests it serves: Istio's standard metrics
//! ([`metrics`], with Envoy's response [`flags`]), reported once per request from the
//! [`exchange`] record the request path fills in.

pub mod access_log;
pub mod exchange;
pub mod flags;
pub mod metrics;
