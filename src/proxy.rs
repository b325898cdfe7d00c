//! The data plane (`ferryctl proxy sidecar|router`): Envoy's job, configured only by xDS.
//!
//! [`state`] applies xDS updates atomically (compile everything, then swap one pointer) and
//! NACKs what it cannot apply; [`server`] binds the listeners LDS names; [`forward`] carries a
//! request through route matching ([`routes`], [`matcher`]), faults, redirects and forwarding
//! to a [`cluster`] endpoint with retries, timeouts and mirrors, after [`rbac`] authorized it;
//! [`stats`] keeps Envoy's counters and [`telemetry`] Istio's standard metrics; [`admin`] serves
//! Envoy's admin API; [`logging`] maps Envoy's logger names onto tracing targets; [`status`]
//! serves Istio's agent status port, running the application's probes ([`app_probe`]) that
//! injection sent there; [`secrets`] holds the workload certificate and roots and keeps them
//! fresh.

pub mod added;
pub mod admin;
pub mod app_probe;
pub mod balancer;
pub mod circuit;
pub mod cluster;
pub mod connection;
pub mod connector;
pub mod downstream;
pub mod dump;
pub mod forward;
pub mod forwarded;
pub mod gated;
pub mod h1;
pub mod handover;
pub mod hash_policy;
pub mod hex;
pub mod http2;
pub mod logging;
pub mod matcher;
pub mod outlier;
pub mod pool;
pub mod random;
pub mod rbac;
pub mod routes;
pub mod secrets;
pub mod server;
pub mod server_header;
pub mod shard;
pub mod state;
pub mod stats;
pub mod status;
pub mod tcp_proxy;
pub mod telemetry;
pub mod tls;
pub mod workers;
