//! Sidecar injection (istiod's `pkg/kube/inject`): what the injector adds to a pod, when it
//! injects at all, and the two ways in: the admission webhook `ferryctl discovery` serves and
//! `ferryctl kube-inject` over a file. Everything here is pure: objects in, objects out.
//!
//! Istio renders a Go template per pod; Ferry's injector ConfigMap instead carries the rendered
//! proxy container (`sidecar.container`, made by `manifest generate`), and this module adds the
//! per-pod parts Istio's template computes: labels, annotations, the workload's metadata
//! environment and the proxy's labels.

mod admission;
mod capture;
mod config;
mod pod;
mod policy;
pub mod probe;
pub mod proxy_config;
mod resource;
mod workload;

pub use admission::{AdmissionError, review};
pub use config::{ConfigError, InjectorConfig, MeshSettings, Policy, Sidecar, Values};
pub use pod::{InjectError, Injector, STATUS_ANNOTATION};
pub use policy::{Rules, injection_required};
pub use resource::{Injected, StreamError, inject_stream};
pub use workload::Workload;

/// The injected proxy container's name; tools (`kubectl logs -c`, istioctl) look for it.
pub const PROXY_CONTAINER: &str = "istio-proxy";
