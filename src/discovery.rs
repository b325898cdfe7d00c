//! The control plane's pure core (istiod's `pilot/pkg/model` and `pilot/pkg/networking/core`):
//! it turns a config [`Store`](crate::config::store::Store) into the Envoy v3 resources each proxy
//! receives. No I/O happens here: the xDS server (`crate::xds`) builds a [`PushContext`] when
//! config changes, calls [`translate`] per connected proxy and encodes the result.
//!
//! The pipeline, one module per step:
//! 1. [`accepted`]: every Istio object goes through the validator once; rejected objects are
//!    listed with their reasons and nothing else sees them.
//! 2. [`normalize`]: short host names, gateway references and `./` namespaces are rewritten into
//!    the fully qualified forms Istio uses internally.
//! 3. [`registry`]: Kubernetes Services (with Pods or EndpointSlices) and ServiceEntries (with
//!    WorkloadEntries or inline endpoints) become services with ports and endpoints.
//! 4. [`push_context`]: the immutable snapshot of all of that.
//! 5. [`translate`]: per proxy, listeners, routes, clusters and endpoints.
//!
//! [`source`] is where objects come from (a directory or a Kubernetes API server) and the
//! per-proxy snapshot cache the xDS server reads. [`credentials`] are the Secrets gateways
//! terminate TLS with. [`webhook`] serves sidecar injection
//! (`crate::inject`) to the API server. [`ca`] signs the proxies' workload certificates.

pub mod accepted;
pub mod ca;
pub mod credentials;
pub mod ctrlz;
pub mod dependency;
pub mod export;
pub mod mesh;
pub mod normalize;
pub mod push_context;
pub mod registry;
pub mod source;
pub mod translate;
pub mod webhook;

pub use accepted::Rejected;
pub use mesh::{MeshOptions, OutboundTrafficPolicy};
pub use push_context::PushContext;
pub use translate::{Proxy, ProxyConfig, Role, TranslateOptions, translate};

#[cfg(test)]
pub(crate) mod testing {
    //! Builds stores from YAML for the discovery tests.

    use crate::config::source::{LoadOptions, parse_file};
    use crate::config::store::Store;

    /// The objects of `yaml`, namespace `default` where none is written.
    pub fn store(yaml: &str) -> Store {
        let parsed = parse_file(
            "test.yaml",
            yaml,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        Store::new(parsed.resources)
    }
}
