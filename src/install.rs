//! Installing the mesh: built-in profiles, IstioOperator overlays and `--set` paths, and the
//! rendering of everything `install` applies. Rendering is offline and deterministic so that
//! `manifest generate`, the Kubernetes target and the local target share one source of truth.

pub mod crds;
pub mod diff;
pub mod iop;
pub mod output;
pub mod render;
