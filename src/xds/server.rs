//! The control plane's side of ADS: Envoy's `AggregatedDiscoveryService`, state of the world,
//! over a [`SnapshotSource`] that says what each proxy should have.
//!
//! One task per stream keeps, per type, the names watched, what was last sent (version, nonce)
//! and what the proxy last accepted or rejected, and applies Envoy's rules
//! (<https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol>):
//! - a request with an empty nonce, or for a type not watched yet, subscribes and is answered;
//! - a request whose nonce is the last one sent for its type is an ACK, or a NACK when it carries
//!   `error_detail`: a NACK records the error and keeps the accepted version, and the rejected
//!   version is not sent again (only a newer one is);
//! - a request with any other nonce is stale (it answers a response already superseded) and is
//!   ignored;
//! - an ACK or NACK that changes `resource_names` is answered with the new set;
//! - on a change signal the stream asks the source for its snapshot again and sends only the
//!   types whose version, for the names this proxy watches, differs from what it was sent.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use envoy_types::pb::envoy::config::core::v3::ControlPlane;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, warn};

use super::debounce::{self, DebounceConfig};
use super::debug;
use super::error_chain;
use super::metrics::XdsMetrics;
use super::node::NodeInfo;
use super::status::{Acked, Nack, Registration, Sent, StatusRegistry, TypeStatus};
use super::types::{Snapshot, TypeUrl};
use crate::identity::certificate_service::CertificateServiceServer;

/// Where the server gets each proxy's config, and when to look again.
pub trait SnapshotSource: Send + Sync + 'static {
    /// The resources `node` should have now. Called when a stream opens and after every change
    /// signal, once per stream: cache per proxy (or share one `Arc` between proxies that see the
    /// same config) if computing it is expensive.
    fn snapshot(&self, node: &NodeInfo) -> Arc<Snapshot>;

    /// A change signal: its value is a generation counter, and every change of it (already
    /// debounced, see [`debounce`]) makes each stream recompute its snapshot.
    fn changes(&self) -> watch::Receiver<u64>;

    /// When the earliest change folded into `generation` since `after` was first seen, for
    /// `pilot_proxy_convergence_time`. `None` (the default) when the source does not know.
    fn change_started(&self, after: u64, generation: u64) -> Option<Instant> {
        let _ = (after, generation);
        None
    }
}

impl<S: SnapshotSource + ?Sized> SnapshotSource for Arc<S> {
    fn snapshot(&self, node: &NodeInfo) -> Arc<Snapshot> {
        (**self).snapshot(node)
    }
    fn changes(&self) -> watch::Receiver<u64> {
        (**self).changes()
    }
    fn change_started(&self, after: u64, generation: u64) -> Option<Instant> {
        (**self).change_started(after, generation)
    }
}

/// A [`SnapshotSource`] that holds ready-made snapshots: one default, and overrides by proxy id.
/// For tests, and for control planes that compute snapshots eagerly and just publish them.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    state: RwLock<StoreState>,
    raw: watch::Sender<u64>,
    changes: watch::Receiver<u64>,
}

#[derive(Debug, Default)]
struct StoreState {
    default: Arc<Snapshot>,
    by_proxy: BTreeMap<String, Arc<Snapshot>>,
}

impl Default for SnapshotStore {
    fn default() -> SnapshotStore {
        SnapshotStore::new()
    }
}

impl SnapshotStore {
    /// A store whose every update is signalled at once (no debounce).
    pub fn new() -> SnapshotStore {
        let (raw, changes) = watch::channel(0);
        SnapshotStore::with_changes(raw, changes)
    }

    /// A store whose updates are debounced like istiod's pushes. Must be called from within a
    /// Tokio runtime (it starts the debounce task).
    pub fn debounced(config: DebounceConfig) -> SnapshotStore {
        let (raw, raw_rx) = watch::channel(0);
        let changes = debounce::spawn(raw_rx, config);
        SnapshotStore::with_changes(raw, changes)
    }

    fn with_changes(raw: watch::Sender<u64>, changes: watch::Receiver<u64>) -> SnapshotStore {
        SnapshotStore {
            inner: Arc::new(StoreInner {
                state: RwLock::new(StoreState::default()),
                raw,
                changes,
            }),
        }
    }

    fn update(&self, f: impl FnOnce(&mut StoreState)) {
        {
            let mut state = self
                .inner
                .state
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            f(&mut state);
        }
        self.inner.raw.send_modify(|g| *g += 1);
    }

    /// The snapshot of every proxy without its own.
    pub fn set_default(&self, snapshot: Snapshot) {
        self.update(|s| s.default = Arc::new(snapshot));
    }

    /// The snapshot of one proxy (`<pod>.<namespace>`).
    pub fn set_proxy(&self, proxy_id: impl Into<String>, snapshot: Snapshot) {
        let proxy_id = proxy_id.into();
        self.update(|s| {
            s.by_proxy.insert(proxy_id, Arc::new(snapshot));
        });
    }

    /// Drops a proxy's own snapshot; it gets the default again.
    pub fn remove_proxy(&self, proxy_id: &str) {
        self.update(|s| {
            s.by_proxy.remove(proxy_id);
        });
    }

    /// The snapshot a proxy currently gets (its own, or the default).
    pub fn get(&self, proxy_id: &str) -> Arc<Snapshot> {
        let state = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        state
            .by_proxy
            .get(proxy_id)
            .unwrap_or(&state.default)
            .clone()
    }

    /// The generation of the last update (before debouncing).
    pub fn generation(&self) -> u64 {
        *self.inner.raw.borrow()
    }
}

impl SnapshotSource for SnapshotStore {
    fn snapshot(&self, node: &NodeInfo) -> Arc<Snapshot> {
        self.get(&node.proxy_id)
    }
    fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.clone()
    }
}

/// Errors of [`AdsServer::serve`]. The cause is part of the message (not a `source()`), as in
/// the rest of Ferry, so it is printed once.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("xDS server failed: {0}")]
    Transport(String),
}

/// The ADS server. Cheap to clone; clones share streams, status and the close signal.
pub struct AdsServer<S> {
    source: Arc<S>,
    status: StatusRegistry,
    connections: Arc<AtomicU64>,
    /// Part of every nonce, so a nonce from before a restart never matches one sent after it.
    epoch: Arc<str>,
    closing: Arc<watch::Sender<bool>>,
    control_plane: Option<Arc<str>>,
    metrics: Arc<XdsMetrics>,
    keepalive: Keepalive,
}

/// istiod's gRPC keepalive options (`--keepaliveInterval`, `--keepaliveTimeout`,
/// `--keepaliveMaxServerConnectionAge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// How often an idle connection is probed, so a vanished proxy does not hold a stream.
    pub interval: Duration,
    /// How long a probe may go unanswered before the connection is closed.
    pub timeout: Duration,
    /// After this long a connection is asked to go away (HTTP/2 GOAWAY) and its proxy
    /// reconnects, spreading proxies over control plane replicas that started later; `None`
    /// never, istiod's default.
    pub max_connection_age: Option<Duration>,
}

impl Keepalive {
    /// How long streams of a connection past its age may finish: istiod's fixed grace.
    pub const MAX_CONNECTION_AGE_GRACE: Duration = Duration::from_secs(10);
}

impl Default for Keepalive {
    fn default() -> Keepalive {
        Keepalive {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            max_connection_age: None,
        }
    }
}

impl<S> Clone for AdsServer<S> {
    fn clone(&self) -> AdsServer<S> {
        AdsServer {
            source: self.source.clone(),
            status: self.status.clone(),
            connections: self.connections.clone(),
            epoch: self.epoch.clone(),
            closing: self.closing.clone(),
            control_plane: self.control_plane.clone(),
            metrics: self.metrics.clone(),
            keepalive: self.keepalive,
        }
    }
}

impl<S: SnapshotSource> AdsServer<S> {
    /// A server over `source` that records its streams in `status`.
    pub fn new(source: S, status: StatusRegistry) -> AdsServer<S> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        AdsServer {
            source: Arc::new(source),
            status,
            connections: Arc::new(AtomicU64::new(0)),
            epoch: format!("{:x}", nanos & 0xffff_ffff).into(),
            closing: Arc::new(watch::channel(false).0),
            control_plane: None,
            metrics: Arc::new(XdsMetrics::new()),
            keepalive: Keepalive::default(),
        }
    }

    /// Sets the gRPC keepalive and connection age of [`AdsServer::serve`].
    pub fn with_keepalive(mut self, keepalive: Keepalive) -> AdsServer<S> {
        self.keepalive = keepalive;
        self
    }

    /// Sets `control_plane.identifier` on every response (istiod sends a JSON object naming its
    /// pod there, which `proxy-status` shows as the ISTIOD column).
    pub fn with_control_plane_identifier(mut self, identifier: impl Into<String>) -> AdsServer<S> {
        self.control_plane = Some(identifier.into().into());
        self
    }

    pub fn status(&self) -> &StatusRegistry {
        &self.status
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// What the server counts (istiod's `pilot_xds*` metrics), for `/metrics`.
    pub fn metrics(&self) -> &Arc<XdsMetrics> {
        &self.metrics
    }

    /// The tonic service, to add to a `tonic::transport::Server` with other services.
    pub fn into_service(self) -> AggregatedDiscoveryServiceServer<AdsServer<S>> {
        AggregatedDiscoveryServiceServer::new(self)
    }

    /// Ends every open stream (cleanly, with status OK) and every stream opened from now on.
    /// Proxies reconnect elsewhere; needed before a graceful shutdown, which otherwise waits for
    /// streams that never end on their own.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Serves ADS (plain-text gRPC) on `listener` until `shutdown` completes, then closes the
    /// streams and returns once the connections are gone.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        self.serve_with(listener, shutdown, None).await
    }

    /// [`AdsServer::serve`], with Istio's certificate service on the same port when given (as
    /// istiod serves its CA next to xDS).
    pub async fn serve_with(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
        certificates: Option<CertificateServiceServer>,
    ) -> Result<(), ServeError> {
        let closer = self.clone();
        let signal = async move {
            shutdown.await;
            closer.close_streams();
        };
        let keepalive = self.keepalive;
        let mut builder = tonic::transport::Server::builder()
            // Like istiod: probe idle connections so a vanished proxy does not hold a stream.
            .http2_keepalive_interval(Some(keepalive.interval))
            .http2_keepalive_timeout(Some(keepalive.timeout))
            .tcp_nodelay(true);
        if let Some(age) = keepalive.max_connection_age {
            builder = builder
                .max_connection_age(age)
                .max_connection_age_grace(Keepalive::MAX_CONNECTION_AGE_GRACE);
        }
        builder
            .add_service(self.into_service())
            .add_optional_service(certificates)
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                signal,
            )
            .await
            .map_err(|e| ServeError::Transport(error_chain(&e)))
    }

    /// A debugging client's stream (istioctl's): every debug request answered once, ACKs of
    /// those answers ignored, nothing registered as a proxy and nothing pushed.
    async fn serve_debug(
        &self,
        first: DiscoveryRequest,
        mut requests: Streaming<DiscoveryRequest>,
        tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
    ) {
        let mut closing = self.closing.subscribe();
        let mut next = Some(first);
        let mut answered = 0u64;
        loop {
            let request = match next.take() {
                Some(r) => r,
                None => tokio::select! {
                    _ = closing.wait_for(|c| *c) => return,
                    message = requests.message() => match message {
                        Ok(Some(r)) => r,
                        _ => return,
                    },
                },
            };
            if !request.response_nonce.is_empty() || !debug::is_debug_type(&request.type_url) {
                continue;
            }
            let resources = match request.type_url.as_str() {
                debug::TYPE_SYNCZ => debug::syncz_resources(&self.status),
                debug::TYPE_CONFIG_DUMP if !request.resource_names.is_empty() => request
                    .resource_names
                    .iter()
                    .map(|id| {
                        debug::config_dump_resource(
                            |p| self.source.snapshot(&p.node),
                            &self.status,
                            id,
                        )
                    })
                    .collect(),
                debug::TYPE_CONFIG_DUMP => {
                    let message = "istio.io/debug/config_dump needs the proxy id \
                                   (<pod>.<namespace>) in resource_names";
                    let _ = tx.send(Err(Status::invalid_argument(message))).await;
                    return;
                }
                other => {
                    let message = format!(
                        "unknown debug type {other:?} (served: {}, {})",
                        debug::TYPE_SYNCZ,
                        debug::TYPE_CONFIG_DUMP
                    );
                    let _ = tx.send(Err(Status::invalid_argument(message))).await;
                    return;
                }
            };
            answered += 1;
            let response = DiscoveryResponse {
                resources,
                type_url: request.type_url.clone(),
                nonce: format!("{}-debug-{answered}", self.epoch),
                control_plane: self.control_plane.as_ref().map(|id| ControlPlane {
                    identifier: id.to_string(),
                }),
                ..Default::default()
            };
            if tx.send(Ok(response)).await.is_err() {
                return;
            }
        }
    }

    async fn run_stream(
        self,
        peer: Option<SocketAddr>,
        mut requests: Streaming<DiscoveryRequest>,
        tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
    ) {
        let first = match requests.message().await {
            Ok(Some(first)) => first,
            Ok(None) => return,
            Err(status) => {
                debug!(?peer, %status, "ADS stream ended before its first request");
                return;
            }
        };
        if debug::is_debug_type(&first.type_url) {
            self.serve_debug(first, requests, tx).await;
            return;
        }
        let node = match NodeInfo::parse(&first.node.clone().unwrap_or_default()) {
            Ok(node) => node,
            Err(e) => {
                warn!(?peer, error = %e, "refusing ADS stream");
                // The proxy sees this as the stream's status; there is nothing else to send.
                let _ = tx.send(Err(Status::invalid_argument(e.to_string()))).await;
                return;
            }
        };
        let _connected = self.metrics.connect(node.istio_version());
        let key = self.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let registration = self.status.register(key, node.clone(), peer);
        let id = registration.connection_id();
        info!(connection = %id, ?peer, "ADS stream connected");
        let mut changes = self.source.changes();
        let generation = *changes.borrow_and_update();
        let snapshot = self.source.snapshot(&node);
        registration.set_generation(generation);
        let mut stream = Stream {
            server: self.clone(),
            nonce_prefix: format!("{}-{key}", self.epoch),
            node,
            registration,
            tx,
            snapshot,
            watches: BTreeMap::new(),
            sent: 0,
            generation,
        };
        let end = stream.serve(first, requests, changes).await;
        info!(connection = %id, reason = end, "ADS stream closed");
    }
}

#[tonic::async_trait]
impl<S: SnapshotSource> AggregatedDiscoveryService for AdsServer<S> {
    type StreamAggregatedResourcesStream = ReceiverStream<Result<DiscoveryResponse, Status>>;
    type DeltaAggregatedResourcesStream = ReceiverStream<Result<DeltaDiscoveryResponse, Status>>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let peer = request.remote_addr();
        let requests = request.into_inner();
        // A small buffer: responses are produced only as fast as the proxy takes them, so a
        // slow proxy holds back its own stream and nobody else's.
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(self.clone().run_stream(peer, requests, tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn delta_aggregated_resources(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        Err(Status::unimplemented(
            "delta xDS is not served; use StreamAggregatedResources (state of the world)",
        ))
    }
}

/// How a request relates to what the stream sent for its type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RequestKind {
    /// First request of a type, or a client (re)starting it with an empty nonce.
    Subscribe,
    Ack,
    Nack(String),
    /// Answers a response that a newer one replaced.
    Stale,
}

fn classify(watch: Option<&TypeStatus>, request: &DiscoveryRequest) -> RequestKind {
    let Some(watch) = watch else {
        // Includes a nonce from another server (the proxy moved here): nothing to match it with.
        return RequestKind::Subscribe;
    };
    if request.response_nonce.is_empty() {
        return RequestKind::Subscribe;
    }
    let last_sent = watch.sent.as_ref().map(|s| s.nonce.as_str());
    if last_sent != Some(request.response_nonce.as_str()) {
        return RequestKind::Stale;
    }
    match &request.error_detail {
        Some(error) if error.message.is_empty() => {
            RequestKind::Nack(format!("rejected without a message (code {})", error.code))
        }
        Some(error) => RequestKind::Nack(error.message.clone()),
        None => RequestKind::Ack,
    }
}

/// For LDS/CDS, no names (or `*`) means all; for the other types names are always explicit.
fn is_wildcard(type_url: TypeUrl, names: &BTreeSet<String>) -> bool {
    type_url.is_wildcard() && (names.is_empty() || names.contains("*"))
}

/// The response channel closed: the proxy is gone.
struct Closed;

struct Stream<S> {
    server: AdsServer<S>,
    nonce_prefix: String,
    node: NodeInfo,
    registration: Registration,
    tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
    snapshot: Arc<Snapshot>,
    watches: BTreeMap<TypeUrl, TypeStatus>,
    sent: u64,
    /// The change generation the stream last acted on.
    generation: u64,
}

impl<S: SnapshotSource> Stream<S> {
    /// Serves the stream until it ends; returns why, for the log.
    async fn serve(
        &mut self,
        first: DiscoveryRequest,
        mut requests: Streaming<DiscoveryRequest>,
        mut changes: watch::Receiver<u64>,
    ) -> &'static str {
        let mut closing = self.server.closing.subscribe();
        if *closing.borrow_and_update() {
            return "server closing";
        }
        if self.handle(first).await.is_err() {
            return "proxy went away";
        }
        let mut changes_open = true;
        loop {
            tokio::select! {
                // Requests first: they are cheap (mostly ACKs) and the proxy may be waiting on
                // an answer to start up.
                biased;
                _ = closing.changed() => return "server closing",
                message = requests.message() => match message {
                    Ok(Some(request)) => {
                        if self.handle(request).await.is_err() {
                            return "proxy went away";
                        }
                    }
                    Ok(None) => return "proxy closed the stream",
                    Err(status) => {
                        debug!(proxy = %self.node.proxy_id, %status, "ADS stream error");
                        return "stream error";
                    }
                },
                changed = changes.changed(), if changes_open => {
                    if changed.is_err() {
                        // The source is gone: keep serving what we have, without pushes.
                        changes_open = false;
                        continue;
                    }
                    let generation = *changes.borrow_and_update();
                    if self.push(generation).await.is_err() {
                        return "proxy went away";
                    }
                }
            }
        }
    }

    async fn handle(&mut self, request: DiscoveryRequest) -> Result<(), Closed> {
        let Some(type_url) = TypeUrl::parse(&request.type_url) else {
            warn!(
                proxy = %self.node.proxy_id,
                type_url = %request.type_url,
                "ignoring request for a type Ferry does not serve"
            );
            return Ok(());
        };
        let names: BTreeSet<String> = request.resource_names.iter().cloned().collect();
        match classify(self.watches.get(&type_url), &request) {
            RequestKind::Stale => {
                debug!(
                    proxy = %self.node.proxy_id,
                    r#type = type_url.short_name(),
                    nonce = %request.response_nonce,
                    "ignoring request with a stale nonce"
                );
                Ok(())
            }
            RequestKind::Subscribe => self.subscribe(type_url, names).await,
            RequestKind::Ack => {
                if let Some(watch) = self.watches.get_mut(&type_url) {
                    watch.acked = Some(Acked {
                        version: request.version_info.clone(),
                        nonce: request.response_nonce.clone(),
                    });
                    watch.last_nack = None;
                    debug!(
                        proxy = %self.node.proxy_id,
                        r#type = type_url.short_name(),
                        version = %request.version_info,
                        "ACK"
                    );
                }
                self.resubscribe(type_url, names).await
            }
            RequestKind::Nack(message) => {
                let code = request.error_detail.as_ref().map_or(0, |e| e.code);
                self.server.metrics.record_reject(
                    type_url,
                    &self.node.proxy_id,
                    &format!("{:?}", tonic::Code::from_i32(code)),
                );
                if let Some(watch) = self.watches.get_mut(&type_url) {
                    let version = watch
                        .sent
                        .as_ref()
                        .map(|s| s.version.clone())
                        .unwrap_or_default();
                    warn!(
                        proxy = %self.node.proxy_id,
                        r#type = type_url.short_name(),
                        %version,
                        error = %message,
                        "proxy rejected config (NACK)"
                    );
                    watch.last_nack = Some(Nack {
                        version,
                        nonce: request.response_nonce.clone(),
                        message,
                        at: SystemTime::now(),
                    });
                }
                self.resubscribe(type_url, names).await
            }
        }
    }

    /// A fresh subscription is always answered, even with the version the proxy already has:
    /// a proxy that reconnects waits for that answer to finish warming clusters and listeners.
    async fn subscribe(
        &mut self,
        type_url: TypeUrl,
        names: BTreeSet<String>,
    ) -> Result<(), Closed> {
        if !type_url.is_wildcard() && names.is_empty() {
            self.unsubscribe(type_url);
            return Ok(());
        }
        let wildcard = is_wildcard(type_url, &names);
        let watch = self.watches.entry(type_url).or_default();
        watch.wildcard = wildcard;
        watch.resource_names = if wildcard { BTreeSet::new() } else { names };
        self.respond(type_url).await
    }

    /// After an ACK or NACK: record it, and answer only if the watched names changed.
    async fn resubscribe(
        &mut self,
        type_url: TypeUrl,
        names: BTreeSet<String>,
    ) -> Result<(), Closed> {
        if !type_url.is_wildcard() && names.is_empty() {
            self.unsubscribe(type_url);
            return Ok(());
        }
        let wildcard = is_wildcard(type_url, &names);
        let Some(watch) = self.watches.get_mut(&type_url) else {
            return Ok(());
        };
        let names = if wildcard { BTreeSet::new() } else { names };
        if watch.wildcard == wildcard && watch.resource_names == names {
            self.registration.set_type(type_url, watch);
            return Ok(());
        }
        watch.wildcard = wildcard;
        watch.resource_names = names;
        self.respond(type_url).await
    }

    fn unsubscribe(&mut self, type_url: TypeUrl) {
        debug!(proxy = %self.node.proxy_id, r#type = type_url.short_name(), "unsubscribed");
        self.watches.remove(&type_url);
        self.registration.remove_type(type_url);
    }

    /// The version this stream's watch of `type_url` would be sent now.
    fn current_version(&self, type_url: TypeUrl, watch: &TypeStatus) -> String {
        let set = self.snapshot.of(type_url);
        if watch.wildcard {
            set.version().to_string()
        } else {
            set.version_for(&watch.resource_names)
        }
    }

    async fn push(&mut self, generation: u64) -> Result<(), Closed> {
        let snapshot = self.server.source.snapshot(&self.node);
        let unchanged = Arc::ptr_eq(&snapshot, &self.snapshot);
        self.snapshot = snapshot;
        if !unchanged {
            let stale: Vec<TypeUrl> = self
                .watches
                .iter()
                .filter(|(t, w)| {
                    w.sent.as_ref().map(|s| s.version.as_str())
                        != Some(self.current_version(**t, w).as_str())
                })
                .map(|(t, _)| *t)
                .collect();
            // `watches` iterates in TypeUrl order, which is the push order.
            let pushed = !stale.is_empty();
            for type_url in stale {
                self.respond(type_url).await?;
            }
            if pushed
                && let Some(start) = self
                    .server
                    .source
                    .change_started(self.generation, generation)
            {
                self.server.metrics.record_convergence(start.elapsed());
            }
        }
        self.generation = generation;
        self.registration.set_generation(generation);
        Ok(())
    }

    async fn respond(&mut self, type_url: TypeUrl) -> Result<(), Closed> {
        let Some(watch) = self.watches.get(&type_url) else {
            return Ok(());
        };
        let start = Instant::now();
        let version = self.current_version(type_url, watch);
        let set = self.snapshot.of(type_url);
        let resources = if watch.wildcard {
            set.resources().values().map(|r| r.any().clone()).collect()
        } else {
            set.select(&watch.resource_names)
                .map(|r| r.any().clone())
                .collect()
        };
        self.sent += 1;
        let nonce = format!("{}-{}", self.nonce_prefix, self.sent);
        let response = DiscoveryResponse {
            version_info: version.clone(),
            resources,
            type_url: type_url.as_str().to_string(),
            nonce: nonce.clone(),
            control_plane: self.server.control_plane.as_ref().map(|id| ControlPlane {
                identifier: id.to_string(),
            }),
            ..Default::default()
        };
        debug!(
            proxy = %self.node.proxy_id,
            r#type = type_url.short_name(),
            %version,
            %nonce,
            resources = response.resources.len(),
            "push"
        );
        self.tx.send(Ok(response)).await.map_err(|_| Closed)?;
        self.server.metrics.record_push(type_url, start.elapsed());
        if let Some(watch) = self.watches.get_mut(&type_url) {
            watch.sent = Some(Sent {
                version,
                nonce,
                at: SystemTime::now(),
            });
            self.registration.set_type(type_url, watch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::google::rpc::Status as RpcStatus;

    fn request(nonce: &str, error: Option<&str>) -> DiscoveryRequest {
        DiscoveryRequest {
            response_nonce: nonce.into(),
            error_detail: error.map(|m| RpcStatus {
                code: 3,
                message: m.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn classify_follows_the_xds_nonce_rules() {
        let watch = TypeStatus {
            sent: Some(Sent {
                version: "v2".into(),
                nonce: "n2".into(),
                at: SystemTime::now(),
            }),
            ..Default::default()
        };
        assert_eq!(classify(None, &request("n1", None)), RequestKind::Subscribe);
        assert_eq!(
            classify(Some(&watch), &request("", Some("x"))),
            RequestKind::Subscribe
        );
        assert_eq!(
            classify(Some(&watch), &request("n2", None)),
            RequestKind::Ack
        );
        assert_eq!(
            classify(Some(&watch), &request("n2", Some("bad"))),
            RequestKind::Nack("bad".into())
        );
        assert_eq!(
            classify(Some(&watch), &request("n2", Some(""))),
            RequestKind::Nack("rejected without a message (code 3)".into())
        );
        assert_eq!(
            classify(Some(&watch), &request("n1", None)),
            RequestKind::Stale
        );
        assert_eq!(
            classify(Some(&watch), &request("n1", Some("old"))),
            RequestKind::Stale
        );
    }

    #[test]
    fn wildcard_only_for_lds_and_cds() {
        let none = BTreeSet::new();
        let star: BTreeSet<String> = ["*".to_string()].into();
        let named: BTreeSet<String> = ["a".to_string()].into();
        assert!(is_wildcard(TypeUrl::Listener, &none));
        assert!(is_wildcard(TypeUrl::Cluster, &star));
        assert!(!is_wildcard(TypeUrl::Cluster, &named));
        assert!(!is_wildcard(TypeUrl::RouteConfiguration, &none));
        assert!(!is_wildcard(TypeUrl::ClusterLoadAssignment, &star));
    }
}
