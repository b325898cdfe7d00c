//! Peer authentication: which mTLS mode a workload's inbound side runs in, and what a client
//! infers of a destination service's mode for auto mTLS (`BestEffortInferServiceMTLSMode`).
//! Istio's default, PERMISSIVE, everywhere until `PeerAuthentication` is read.

use super::scope::Scope;
use crate::discovery::registry::Service;

/// Istio's `MutualTLS.Mode`, resolved (no `UNSET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtlsMode {
    /// Plain text only.
    Disable,
    /// Both mTLS and plain text: Istio's default.
    Permissive,
    /// mTLS only.
    Strict,
}

/// The mode of the proxy's own workload on `port`.
pub fn workload_mode(_scope: &Scope<'_>, _port: u32) -> MtlsMode {
    MtlsMode::Permissive
}

/// What a client assumes of `service` when deciding on auto mTLS: services outside the mesh
/// take no mTLS.
pub fn service_mode(_scope: &Scope<'_>, service: &Service) -> MtlsMode {
    if service.mesh_external {
        return MtlsMode::Disable;
    }
    MtlsMode::Permissive
}
