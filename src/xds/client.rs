//! The proxy's side of ADS: one stream to the control plane that subscribes to clusters and
//! listeners (wildcard), then to the endpoints, routes and control-plane secrets they name, hands every response to the
//! caller, and ACKs or NACKs it by the caller's verdict.
//!
//! The caller owns the config: when the control plane goes away, nothing is cleared. The client
//! keeps what was accepted (versions and subscribed names) and, on reconnecting, asks again with
//! those versions so the control plane can tell what the proxy has.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType};
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;
use tracing::{debug, info, warn};

use super::error_chain;
use super::types::{TypeUrl, TypedResource, unpack_any};

/// Reconnect delays: exponential from `initial`, capped at `max`, each one jittered so proxies
/// that lost the same control plane do not all come back in the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Envoy's ADS retry timings (500 ms, doubling, at most 30 s).
    pub const ENVOY_DEFAULT: Backoff = Backoff {
        initial: Duration::from_millis(500),
        max: Duration::from_secs(30),
    };

    /// The delay before retry `attempt` (0 for the first retry): `min(initial·2^attempt, max)`,
    /// scaled by a random factor in [½, 1] taken from `random` ("equal jitter": spread out, yet
    /// never close to zero, so a dead server is not hammered).
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        let ceiling = self
            .initial
            .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max)
            .min(self.max);
        let half = ceiling / 2;
        let spread = (half.as_nanos() as u64).max(1);
        half + Duration::from_nanos(random % (spread + 1))
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::ENVOY_DEFAULT
    }
}

/// A random number for jitter. `RandomState` is seeded randomly per process and varies per call,
/// which is all jitter needs, without a random-number crate.
fn jitter() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The discovery address, `http://host:port` (plain-text gRPC, istiod's 15010).
    pub address: String,
    /// Sent on the first request of every stream.
    pub node: Node,
    pub backoff: Backoff,
    pub connect_timeout: Duration,
    /// Largest response accepted. A big mesh's CDS easily exceeds gRPC's 4 MiB default.
    pub max_response_bytes: usize,
}

impl ClientConfig {
    pub fn new(address: impl Into<String>, node: Node) -> ClientConfig {
        ClientConfig {
            address: address.into(),
            node,
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 64 << 20,
        }
    }
}

/// One response, decoded, for the caller to apply.
///
/// For LDS and CDS `resources` is the complete set (anything not in it is gone); for EDS and RDS
/// it holds the subscribed resources the control plane has (missing ones were not sent, which
/// does not delete them).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub type_url: TypeUrl,
    pub version_info: String,
    pub resources: Vec<TypedResource>,
}

/// Applies updates. `Err(message)` rejects the update: the control plane gets a NACK with that
/// message, and the caller is expected to keep its previous config of that type.
pub trait ConfigSink: Send + 'static {
    fn apply(&mut self, update: &Update) -> Result<(), String>;
}

impl<F> ConfigSink for F
where
    F: FnMut(&Update) -> Result<(), String> + Send + 'static,
{
    fn apply(&mut self, update: &Update) -> Result<(), String> {
        self(update)
    }
}

/// Per type: what the proxy subscribes to and what it accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientTypeState {
    /// Subscribed names; empty for the wildcard types (LDS/CDS), which want everything.
    pub resource_names: BTreeSet<String>,
    /// The version of the last accepted response; kept across reconnects.
    pub acked_version: Option<String>,
    /// The nonce of the last response on the current stream (reset on reconnect).
    pub last_nonce: Option<String>,
    /// Why the last response was rejected, until one is accepted.
    pub last_nack: Option<String>,
    /// Responses received of this type, over all streams.
    pub responses: u64,
}

/// What the client is doing, for the proxy's admin API and for tests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientState {
    pub connected: bool,
    /// Streams opened so far.
    pub connections: u64,
    /// Why the last stream ended or could not start.
    pub last_error: Option<String>,
    pub types: BTreeMap<TypeUrl, ClientTypeState>,
}

impl ClientState {
    pub fn acked_version(&self, type_url: TypeUrl) -> Option<&str> {
        self.types.get(&type_url)?.acked_version.as_deref()
    }
}

/// Why a stream ended or could not start. Causes are in the message, as elsewhere in Ferry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("invalid discovery address {address:?}: {message}")]
    Address { address: String, message: String },
    #[error("cannot connect to the discovery server at {address}: {message}")]
    Connect { address: String, message: String },
    #[error("ADS stream to {address} failed: {message}")]
    Stream { address: String, message: String },
    #[error("the discovery server at {address} closed the ADS stream")]
    Closed { address: String },
}

/// A running client. Dropping it (or [`ClientHandle::stop`]) ends the client.
#[derive(Debug)]
pub struct ClientHandle {
    state: watch::Receiver<ClientState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ClientHandle {
    /// The current state.
    pub fn state(&self) -> ClientState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change.
    pub fn watch(&self) -> watch::Receiver<ClientState> {
        self.state.clone()
    }

    /// Ends the client and waits for it.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        // A panic in the sink would surface here; the client is gone either way.
        let _ = self.task.await;
    }
}

/// Starts the client task: connect, subscribe, apply, ACK/NACK, reconnect, until stopped. Must be
/// called from within a Tokio runtime. Fails only on an address that can never work.
pub fn spawn(config: ClientConfig, sink: impl ConfigSink) -> Result<ClientHandle, ClientError> {
    let endpoint =
        Endpoint::from_shared(config.address.clone()).map_err(|e| ClientError::Address {
            address: config.address.clone(),
            message: error_chain(&e),
        })?;
    let endpoint = endpoint
        .connect_timeout(config.connect_timeout)
        .tcp_nodelay(true)
        // Notice a control plane that vanished without closing the connection.
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    let mut state = ClientState::default();
    for wildcard in [TypeUrl::Cluster, TypeUrl::Listener] {
        state.types.insert(wildcard, ClientTypeState::default());
    }
    let (state_tx, state_rx) = watch::channel(state.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let client = Client {
        config,
        endpoint,
        sink: Box::new(sink),
        state,
        state_tx,
        stop: stop_rx,
        got_response: false,
    };
    Ok(ClientHandle {
        state: state_rx,
        stop: stop_tx,
        task: tokio::spawn(client.run()),
    })
}

/// The clusters whose endpoints come from EDS, by the name EDS knows them
/// (`eds_cluster_config.service_name`, else the cluster name).
pub fn eds_cluster_names(resources: &[TypedResource]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for resource in resources {
        let TypedResource::Cluster(cluster) = resource else {
            continue;
        };
        let is_eds = matches!(
            cluster.cluster_discovery_type,
            Some(ClusterDiscoveryType::Type(t)) if t == DiscoveryType::Eds as i32
        );
        if !is_eds {
            continue;
        }
        let service_name = cluster
            .eds_cluster_config
            .as_ref()
            .map(|e| e.service_name.as_str())
            .filter(|s| !s.is_empty());
        names.insert(service_name.unwrap_or(&cluster.name).to_string());
    }
    names
}

/// The route configurations the listeners' HTTP connection managers load over RDS.
pub fn rds_route_names(resources: &[TypedResource]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for resource in resources {
        let TypedResource::Listener(listener) = resource else {
            continue;
        };
        let chains = listener
            .filter_chains
            .iter()
            .chain(listener.default_filter_chain.iter());
        for filter in chains.flat_map(|c| c.filters.iter()) {
            let Some(ConfigType::TypedConfig(any)) = &filter.config_type else {
                continue;
            };
            // Other filters (tcp_proxy, …) have no routes; an HCM that does not decode was
            // already judged by the sink, which accepted the listener, so just skip it here.
            let Ok(hcm) = unpack_any::<HttpConnectionManager>(any) else {
                continue;
            };
            if let Some(RouteSpecifier::Rds(rds)) = hcm.route_specifier {
                names.insert(rds.route_config_name);
            }
        }
    }
    names
}

/// The secrets the listeners' TLS contexts load over ADS from the control plane: the names
/// Istio's agent forwards to istiod (a gateway's `kubernetes://<credentialName>`). `default` and
/// `ROOTCA` are the proxy's own (its agent's), and `file-` names are read from disk.
pub fn sds_secret_names(resources: &[TypedResource]) -> BTreeSet<String> {
    use envoy_types::pb::envoy::config::core::v3::transport_socket;
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
        DownstreamTlsContext, common_tls_context,
    };
    let mut names = BTreeSet::new();
    for resource in resources {
        let TypedResource::Listener(listener) = resource else {
            continue;
        };
        let chains = listener
            .filter_chains
            .iter()
            .chain(listener.default_filter_chain.iter());
        for chain in chains {
            let Some(transport_socket::ConfigType::TypedConfig(any)) = chain
                .transport_socket
                .as_ref()
                .and_then(|t| t.config_type.as_ref())
            else {
                continue;
            };
            let Ok(ctx) = unpack_any::<DownstreamTlsContext>(any) else {
                continue;
            };
            let Some(common) = ctx.common_tls_context else {
                continue;
            };
            let validation = match common.validation_context_type {
                Some(
                    common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(
                        sds,
                    ),
                ) => Some(sds.name),
                Some(common_tls_context::ValidationContextType::CombinedValidationContext(c)) => {
                    c.validation_context_sds_secret_config.map(|s| s.name)
                }
                _ => None,
            };
            names.extend(
                common
                    .tls_certificate_sds_secret_configs
                    .into_iter()
                    .map(|s| s.name)
                    .chain(validation)
                    .filter(|n| n.starts_with(KUBERNETES_SDS_PREFIX)),
            );
        }
    }
    names
}

/// The prefix of the secrets istiod serves from Kubernetes Secrets.
const KUBERNETES_SDS_PREFIX: &str = "kubernetes://";

/// Envoy reports a rejected update with INTERNAL (`GrpcMuxImpl`); do the same so control planes
/// that look at the code see what they expect.
const NACK_CODE: i32 = 13;

struct Client {
    config: ClientConfig,
    endpoint: Endpoint,
    sink: Box<dyn ConfigSink>,
    state: ClientState,
    state_tx: watch::Sender<ClientState>,
    stop: watch::Receiver<bool>,
    /// Whether the current stream got any response: only then is the backoff reset, so a
    /// server that accepts connections and drops them at once is still retried slowly.
    got_response: bool,
}

enum Stopped {
    Yes,
}

impl Client {
    fn publish(&self) {
        self.state_tx.send_replace(self.state.clone());
    }

    async fn run(mut self) {
        let mut attempt = 0u32;
        loop {
            self.got_response = false;
            let result = self.session().await;
            self.state.connected = false;
            for t in self.state.types.values_mut() {
                t.last_nonce = None;
            }
            match result {
                Ok(Stopped::Yes) => {
                    self.publish();
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "ADS client disconnected");
                    self.state.last_error = Some(e.to_string());
                }
            }
            self.publish();
            if self.got_response {
                attempt = 0;
            }
            let delay = self.config.backoff.delay(attempt, jitter());
            attempt = attempt.saturating_add(1);
            debug!(?delay, "ADS client reconnecting after backoff");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = self.stop.changed() => return,
            }
        }
    }

    /// The requests that open a stream: every subscribed type, with the version last accepted
    /// and no nonce (nonces belong to the previous stream), node on the first.
    fn initial_requests(&self) -> Vec<DiscoveryRequest> {
        let mut requests: Vec<DiscoveryRequest> = self
            .state
            .types
            .iter()
            .filter(|(t, s)| t.is_wildcard() || !s.resource_names.is_empty())
            .map(|(t, s)| DiscoveryRequest {
                version_info: s.acked_version.clone().unwrap_or_default(),
                resource_names: s.resource_names.iter().cloned().collect(),
                type_url: t.as_str().to_string(),
                ..Default::default()
            })
            .collect();
        if let Some(first) = requests.first_mut() {
            first.node = Some(self.config.node.clone());
        }
        requests
    }

    async fn session(&mut self) -> Result<Stopped, ClientError> {
        let address = self.config.address.clone();
        let stream_error = |status: tonic::Status| ClientError::Stream {
            address: address.clone(),
            message: format!("{:?}: {}", status.code(), status.message()),
        };
        let channel = tokio::select! {
            connected = self.endpoint.connect() => connected.map_err(|e| ClientError::Connect {
                address: address.clone(),
                message: error_chain(&e),
            })?,
            _ = self.stop.changed() => return Ok(Stopped::Yes),
        };
        let mut grpc = AggregatedDiscoveryServiceClient::new(channel)
            .max_decoding_message_size(self.config.max_response_bytes);
        let (tx, rx) = mpsc::channel(16);
        for request in self.initial_requests() {
            // The channel is fresh and larger than the number of types.
            let _ = tx.try_send(request);
        }
        let response = tokio::select! {
            response = grpc.stream_aggregated_resources(ReceiverStream::new(rx)) => {
                response.map_err(stream_error)?
            }
            _ = self.stop.changed() => return Ok(Stopped::Yes),
        };
        let mut responses = response.into_inner();
        self.state.connected = true;
        self.state.connections += 1;
        self.publish();
        info!(%address, "ADS client connected");
        loop {
            tokio::select! {
                _ = self.stop.changed() => return Ok(Stopped::Yes),
                message = responses.message() => match message {
                    Ok(Some(response)) => {
                        self.got_response = true;
                        self.on_response(response, &tx).await;
                    }
                    Ok(None) => return Err(ClientError::Closed { address }),
                    Err(status) => return Err(stream_error(status)),
                },
            }
        }
    }

    async fn on_response(
        &mut self,
        response: DiscoveryResponse,
        tx: &mpsc::Sender<DiscoveryRequest>,
    ) {
        let Some(type_url) = TypeUrl::parse(&response.type_url) else {
            warn!(type_url = %response.type_url, "ignoring response of a type Ferry does not use");
            return;
        };
        let watched = self
            .state
            .types
            .get(&type_url)
            .is_some_and(|s| type_url.is_wildcard() || !s.resource_names.is_empty());
        let Some(type_state) = self.state.types.get_mut(&type_url).filter(|_| watched) else {
            // Envoy ignores unwatched types too (say, an EDS answer that crossed our
            // unsubscribe); answering would subscribe us to them again.
            warn!(
                r#type = type_url.short_name(),
                "ignoring response of an unwatched type"
            );
            return;
        };
        type_state.last_nonce = Some(response.nonce.clone());
        type_state.responses += 1;
        let verdict = decode(type_url, &response).and_then(|update| {
            self.sink.apply(&update)?;
            Ok(update)
        });
        let Some(type_state) = self.state.types.get_mut(&type_url) else {
            return;
        };
        let mut request = DiscoveryRequest {
            resource_names: type_state.resource_names.iter().cloned().collect(),
            type_url: type_url.as_str().to_string(),
            response_nonce: response.nonce.clone(),
            ..Default::default()
        };
        let mut follow_up = Vec::new();
        match verdict {
            Ok(update) => {
                debug!(r#type = type_url.short_name(), version = %response.version_info, "ACK");
                type_state.acked_version = Some(response.version_info.clone());
                type_state.last_nack = None;
                request.version_info = response.version_info.clone();
                follow_up = match type_url {
                    TypeUrl::Cluster => vec![(
                        TypeUrl::ClusterLoadAssignment,
                        eds_cluster_names(&update.resources),
                    )],
                    TypeUrl::Listener => vec![
                        (
                            TypeUrl::RouteConfiguration,
                            rds_route_names(&update.resources),
                        ),
                        (TypeUrl::Secret, sds_secret_names(&update.resources)),
                    ],
                    _ => Vec::new(),
                };
            }
            Err(message) => {
                warn!(
                    r#type = type_url.short_name(),
                    version = %response.version_info,
                    error = %message,
                    "rejecting config (NACK)"
                );
                // A NACK repeats the version still in use, per the xDS protocol.
                request.version_info = type_state.acked_version.clone().unwrap_or_default();
                request.error_detail = Some(RpcStatus {
                    code: NACK_CODE,
                    message: message.clone(),
                    details: Vec::new(),
                });
                type_state.last_nack = Some(message);
            }
        }
        let mut requests = vec![request];
        for (child, names) in follow_up {
            requests.extend(self.resubscribe(child, names));
        }
        self.publish();
        for request in requests {
            // A closed channel means the stream is ending; the session loop sees that next.
            let _ = tx.send(request).await;
        }
    }

    /// Changes the names watched for EDS or RDS; returns the request to send, if any. The nonce
    /// is the type's last one, so the server takes the change as current, not stale.
    fn resubscribe(
        &mut self,
        type_url: TypeUrl,
        names: BTreeSet<String>,
    ) -> Option<DiscoveryRequest> {
        let state = self.state.types.entry(type_url).or_default();
        if state.resource_names == names {
            return None;
        }
        debug!(
            r#type = type_url.short_name(),
            count = names.len(),
            "subscribing"
        );
        state.resource_names = names;
        Some(DiscoveryRequest {
            version_info: state.acked_version.clone().unwrap_or_default(),
            resource_names: state.resource_names.iter().cloned().collect(),
            type_url: type_url.as_str().to_string(),
            response_nonce: state.last_nonce.clone().unwrap_or_default(),
            ..Default::default()
        })
    }
}

/// Decodes a response, refusing resources of another type and duplicate names: both make the
/// response ambiguous, so it is NACKed before the sink sees it.
fn decode(type_url: TypeUrl, response: &DiscoveryResponse) -> Result<Update, String> {
    let mut names = BTreeSet::new();
    let mut resources = Vec::with_capacity(response.resources.len());
    for any in &response.resources {
        if any.type_url != type_url.as_str() {
            return Err(format!(
                "{} response holds a resource of type {}",
                type_url.short_name(),
                any.type_url
            ));
        }
        let resource = TypedResource::decode(any).map_err(|e| e.to_string())?;
        if !names.insert(resource.name().to_string()) {
            return Err(format!(
                "{} response holds resource {:?} twice",
                type_url.short_name(),
                resource.name()
            ));
        }
        resources.push(resource);
    }
    Ok(Update {
        type_url,
        version_info: response.version_info.clone(),
        resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xds::types::pack_any;
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
    use envoy_types::pb::envoy::config::cluster::v3::cluster::EdsClusterConfig;

    #[test]
    fn sds_names_are_the_control_planes_secrets_of_listener_tls_contexts() {
        use envoy_types::pb::envoy::config::core::v3::{TransportSocket, transport_socket};
        use envoy_types::pb::envoy::config::listener::v3::{FilterChain, Listener};
        use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
            CommonTlsContext, DownstreamTlsContext, SdsSecretConfig, common_tls_context,
        };
        let chain = |cert: &str, ca: Option<&str>| {
            FilterChain {
            transport_socket: Some(TransportSocket {
                name: "envoy.transport_sockets.tls".into(),
                config_type: Some(transport_socket::ConfigType::TypedConfig(pack_any(
                    DownstreamTlsContext {
                        common_tls_context: Some(CommonTlsContext {
                            tls_certificate_sds_secret_configs: vec![SdsSecretConfig {
                                name: cert.into(),
                                sds_config: None,
                            }],
                            validation_context_type: ca.map(|ca| {
                                common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(
                                    SdsSecretConfig {
                                        name: ca.into(),
                                        sds_config: None,
                                    },
                                )
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                ))),
            }),
            ..Default::default()
        }
        };
        let listener = Listener {
            name: "0.0.0.0_8443".into(),
            filter_chains: vec![
                chain("kubernetes://a", None),
                chain("kubernetes://b", Some("kubernetes://b-cacert")),
                // The proxy's own certificate and roots, not the control plane's.
                chain("default", Some("ROOTCA")),
                FilterChain::default(),
            ],
            ..Default::default()
        };
        let names = sds_secret_names(&[TypedResource::Listener(Box::new(listener))]);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["kubernetes://a", "kubernetes://b", "kubernetes://b-cacert"]
        );
    }

    #[test]
    fn backoff_grows_caps_and_jitters_within_half_to_full() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for (attempt, ceiling) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (4, 1600),
            (5, 2000),
            (60, 2000),
        ] {
            let ceiling = Duration::from_millis(ceiling);
            for random in [0, 1, u64::MAX / 3, u64::MAX] {
                let d = b.delay(attempt, random);
                assert!(
                    d >= ceiling / 2 && d <= ceiling,
                    "{attempt}: {d:?} vs {ceiling:?}"
                );
            }
        }
        assert_ne!(b.delay(3, 1), b.delay(3, 12_345_678));
        assert_ne!(jitter(), jitter());
    }

    fn eds_cluster(name: &str, service_name: &str) -> TypedResource {
        TypedResource::Cluster(Box::new(Cluster {
            name: name.into(),
            cluster_discovery_type: Some(ClusterDiscoveryType::Type(DiscoveryType::Eds as i32)),
            eds_cluster_config: Some(EdsClusterConfig {
                service_name: service_name.into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    #[test]
    fn eds_names_use_the_service_name_when_set() {
        let static_cluster = TypedResource::Cluster(Box::new(Cluster {
            name: "static".into(),
            ..Default::default()
        }));
        let names = eds_cluster_names(&[
            eds_cluster("outbound|80||a.ns.svc.cluster.local", ""),
            eds_cluster("outbound|80|v1|b.ns.svc.cluster.local", "b-v1"),
            static_cluster,
        ]);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["b-v1", "outbound|80||a.ns.svc.cluster.local"]
        );
    }

    #[test]
    fn decode_refuses_mixed_types_and_duplicates() {
        let response = |resources| DiscoveryResponse {
            type_url: TypeUrl::Cluster.as_str().into(),
            version_info: "v".into(),
            resources,
            ..Default::default()
        };
        let c = pack_any(Cluster {
            name: "c".into(),
            ..Default::default()
        });
        assert!(decode(TypeUrl::Cluster, &response(vec![c.clone()])).is_ok());
        assert_eq!(
            decode(TypeUrl::Cluster, &response(vec![c.clone(), c.clone()])).unwrap_err(),
            "CDS response holds resource \"c\" twice"
        );
        let listener = pack_any(envoy_types::pb::envoy::config::listener::v3::Listener::default());
        assert!(
            decode(TypeUrl::Cluster, &response(vec![listener]))
                .unwrap_err()
                .contains("holds a resource of type type.googleapis.com/envoy.config.listener")
        );
    }

    #[test]
    fn reconnect_requests_carry_accepted_versions_and_no_nonce() {
        let (state_tx, _) = watch::channel(ClientState::default());
        let (_stop_tx, stop) = watch::channel(false);
        let mut client = Client {
            config: ClientConfig::new(
                "http://127.0.0.1:1",
                Node {
                    id: "sidecar~1.2.3.4~p.ns~ns.svc.cluster.local".into(),
                    ..Default::default()
                },
            ),
            endpoint: Endpoint::from_static("http://127.0.0.1:1"),
            sink: Box::new(|_: &Update| Ok(())),
            state: ClientState::default(),
            state_tx,
            stop,
            got_response: false,
        };
        let typed = |names: &[&str], version: &str| ClientTypeState {
            resource_names: names.iter().map(|s| s.to_string()).collect(),
            acked_version: Some(version.into()),
            last_nonce: None,
            ..Default::default()
        };
        client
            .state
            .types
            .insert(TypeUrl::Cluster, typed(&[], "c1"));
        client
            .state
            .types
            .insert(TypeUrl::Listener, typed(&[], "l1"));
        client
            .state
            .types
            .insert(TypeUrl::ClusterLoadAssignment, typed(&["a"], "e1"));
        // An RDS entry with no names is not subscribed.
        client
            .state
            .types
            .insert(TypeUrl::RouteConfiguration, typed(&[], "r1"));
        let requests = client.initial_requests();
        let summary: Vec<(&str, &str, Vec<String>, bool)> = requests
            .iter()
            .map(|r| {
                assert_eq!(r.response_nonce, "");
                (
                    r.type_url.as_str(),
                    r.version_info.as_str(),
                    r.resource_names.clone(),
                    r.node.is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (TypeUrl::Cluster.as_str(), "c1", vec![], true),
                (
                    TypeUrl::ClusterLoadAssignment.as_str(),
                    "e1",
                    vec!["a".to_string()],
                    false
                ),
                (TypeUrl::Listener.as_str(), "l1", vec![], false),
            ]
        );
    }

    #[test]
    fn an_address_that_can_never_work_is_refused_up_front() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let err = spawn(
            ClientConfig::new("not a uri", Node::default()),
            |_: &Update| Ok(()),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid discovery address \"not a uri\""),
            "{err}"
        );
    }
}
