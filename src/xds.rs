//! The xDS protocol shared by the control plane (`ferryctl discovery`) and the proxy
//! (`ferryctl proxy`): Envoy v3 resources over aggregated, state-of-the-world ADS on gRPC.
//!
//! - [`types`]: type URLs, packing and unpacking, and the per-proxy [`types::Snapshot`] whose
//!   content-hashed versions decide what needs pushing.
//! - [`node`]: the proxy's identity, parsed from its Envoy `Node` the way istiod does.
//! - [`server`]: the ADS server over a [`server::SnapshotSource`], with Envoy's ACK/NACK and nonce
//!   rules.
//! - [`dump`]: Envoy's `/config_dump` JSON, for the proxy's admin API and the control plane's
//!   `/debug/config_dump`.
//! - [`debug`]: istiod's debug types over ADS (`istio.io/debug/syncz`, `…/config_dump`), both
//!   sides.
//! - [`debounce`]: istiod's push debouncing of change signals.
//! - [`status`]: connected proxies and what each has acknowledged (`/debug/syncz`).
//! - [`metrics`]: istiod's `pilot_xds*` metrics of the server (`/metrics`).
//! - [`client`]: the proxy's ADS client, with reconnects and ACK/NACK of what it applies.
//! - [`peer`]: workload identity for telemetry, as endpoint metadata and metadata-exchange
//!   headers carry it.
//!
//! `ferryctl discovery` serves with it; `proxy` will use the client.

pub mod client;
pub mod debounce;
pub mod debug;
pub mod dump;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod server;
pub mod status;
pub mod types;

#[cfg(test)]
mod tests;

/// An error with its causes, `a: b: c`: tonic's transport errors say only "transport error" at
/// the top and keep what happened (connection refused, …) in their sources.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some layers repeat their cause in their own message; print each text once.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
