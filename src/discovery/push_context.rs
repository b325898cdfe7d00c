//! The snapshot translation reads (istiod's `PushContext`): accepted and normalized config, the
//! service registry and what was rejected. It is built once per config change and shared by every
//! proxy's translation, so nothing in it depends on a proxy.

use super::accepted::{self, AcceptedConfig, Config, Rejected};
use super::credentials::Credentials;
use super::mesh::MeshOptions;
use super::normalize::normalize;
use super::registry::Registry;
use crate::config::networking as net;
use crate::config::security as sec;
use crate::config::store::Store;
use crate::config::telemetry as tel;

#[derive(Debug, Clone)]
pub struct PushContext {
    mesh: MeshOptions,
    config: AcceptedConfig,
    registry: Registry,
    rejected: Vec<Rejected>,
    credentials: Credentials,
}

impl PushContext {
    /// Validates, normalizes and indexes `store`.
    pub fn new(store: &Store, mesh: MeshOptions) -> PushContext {
        PushContext::with_remotes(store, &[], mesh)
    }

    /// [`PushContext::new`] with the Kubernetes objects of remote clusters (cluster ID, store),
    /// whose Services and endpoints join the registry; config comes from `store` alone.
    pub fn with_remotes(
        store: &Store,
        remotes: &[(&str, &Store)],
        mesh: MeshOptions,
    ) -> PushContext {
        let mut config = accepted::accept(store);
        let (registry, registry_rejected) =
            Registry::build_clusters(store, remotes, &config, &mesh);
        normalize(&mut config, &mesh.domain_suffix);
        let mut rejected = std::mem::take(&mut config.rejected);
        rejected.extend(registry_rejected);
        rejected.sort();
        PushContext {
            mesh,
            config,
            registry,
            rejected,
            credentials: Credentials::from_store(store),
        }
    }

    pub fn mesh(&self) -> &MeshOptions {
        &self.mesh
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Objects the control plane refused, sorted by kind, namespace and name (for
    /// `/debug/configz`).
    pub fn rejected(&self) -> &[Rejected] {
        &self.rejected
    }

    /// The TLS Secrets gateways may name in `credentialName`.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn virtual_services(&self) -> &[Config<net::VirtualService>] {
        &self.config.virtual_services
    }

    pub fn destination_rules(&self) -> &[Config<net::DestinationRule>] {
        &self.config.destination_rules
    }

    pub fn gateways(&self) -> &[Config<net::Gateway>] {
        &self.config.gateways
    }

    pub fn sidecars(&self) -> &[Config<net::Sidecar>] {
        &self.config.sidecars
    }

    pub fn telemetries(&self) -> &[Config<tel::Telemetry>] {
        &self.config.telemetries
    }

    pub fn service_entries(&self) -> &[Config<net::ServiceEntry>] {
        &self.config.service_entries
    }

    /// Valid AuthorizationPolicies, by namespace then name.
    pub fn authorization_policies(&self) -> &[Config<sec::AuthorizationPolicy>] {
        &self.config.authorization_policies
    }

    /// Valid PeerAuthentications, by namespace then name.
    pub fn peer_authentications(&self) -> &[Config<sec::PeerAuthentication>] {
        &self.config.peer_authentications
    }
}
