//! Installing the mesh: built-in profiles, IstioOperator overlays and `--set` paths, and the
//! rendering of everything `install` applies. Rendering is offline and deterministic so that
//! `manifest generate`, the Kubernetes target and the local target share one source of truth.
//!
//! Settings flow one way: [`profile`]s, `-f` [`overlay`]s and [`set`] flags are merged as untyped
//! trees, checked against the [`schema`] of the typed [`iop::IstioOperator`], and decoded once by
//! [`resolve::resolve`]; everything after that reads the typed value.

pub mod apply;
pub mod crds;
pub mod diff;
pub mod iop;
pub mod kube;
pub mod mesh_config;
pub mod output;
pub mod overlay;
pub mod profile;
pub mod render;
pub mod resolve;
pub mod revision;
pub mod schema;
pub mod set;
pub mod tag;
pub mod verify;
