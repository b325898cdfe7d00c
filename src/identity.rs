//! Workload identity, shared by the control plane's CA and the proxy: SPIFFE IDs
//! ([`spiffe`]), Istio's certificate service ([`certificate_service`]: a proxy trades a CSR for a
//! signed chain, so its private key never leaves it) and the PEM and X.509 reading both sides
//! need ([`pem`]).

pub mod certificate_service;
pub mod pem;
pub mod spiffe;

pub use spiffe::SpiffeId;
