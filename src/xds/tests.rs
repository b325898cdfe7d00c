//! End-to-end protocol tests: a real server and real streams, gRPC over 127.0.0.1.
//!
//! Absence ("nothing was pushed") is checked without sleeping: once the status registry shows
//! the stream has acted on the newest change, a probe request (an SDS subscription, which is
//! always answered) goes in, and the next message out must be its answer, since a stream sends
//! in the order it acts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, EdsClusterConfig,
};
use envoy_types::pb::envoy::config::core::v3::{
    AggregatedConfigSource, ConfigSource, Node, config_source::ConfigSourceSpecifier,
};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener, filter};
use envoy_types::pb::envoy::config::route::v3::{RouteConfiguration, VirtualHost};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, Rds, http_connection_manager::RouteSpecifier,
};
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use super::client::{self, Backoff, ClientConfig, ClientHandle, Update};
use super::debounce::DebounceConfig;
use super::server::{AdsServer, ServeError, SnapshotStore};
use super::status::{StatusRegistry, SyncState};
use super::types::{Snapshot, TypeUrl, TypedResource, pack_any, unpack_any};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Polls `check` until it holds, failing after a bound; the only waiting these tests do.
async fn assert_eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Config fixtures: an Istio-shaped mesh of one service.

fn ads() -> Option<ConfigSource> {
    Some(ConfigSource {
        config_source_specifier: Some(ConfigSourceSpecifier::Ads(AggregatedConfigSource {})),
        ..Default::default()
    })
}

fn eds_cluster(name: &str, timeout_s: i64) -> Cluster {
    Cluster {
        name: name.into(),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(DiscoveryType::Eds as i32)),
        eds_cluster_config: Some(EdsClusterConfig {
            eds_config: ads(),
            service_name: String::new(),
        }),
        connect_timeout: Some(envoy_types::pb::google::protobuf::Duration {
            seconds: timeout_s,
            nanos: 0,
        }),
        ..Default::default()
    }
}

fn http_listener(name: &str, route: &str) -> Listener {
    let hcm = HttpConnectionManager {
        stat_prefix: name.into(),
        route_specifier: Some(RouteSpecifier::Rds(Rds {
            config_source: ads(),
            route_config_name: route.into(),
        })),
        ..Default::default()
    };
    Listener {
        name: name.into(),
        filter_chains: vec![FilterChain {
            filters: vec![Filter {
                name: "envoy.filters.network.http_connection_manager".into(),
                config_type: Some(filter::ConfigType::TypedConfig(pack_any(hcm))),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn route(name: &str, domain: &str) -> RouteConfiguration {
    RouteConfiguration {
        name: name.into(),
        virtual_hosts: vec![VirtualHost {
            name: domain.into(),
            domains: vec![domain.into()],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn endpoints(cluster: &str, generation: u32) -> ClusterLoadAssignment {
    ClusterLoadAssignment {
        cluster_name: cluster.into(),
        policy: Some(
            envoy_types::pb::envoy::config::endpoint::v3::cluster_load_assignment::Policy {
                overprovisioning_factor: Some(envoy_types::pb::google::protobuf::UInt32Value {
                    value: generation,
                }),
                ..Default::default()
            },
        ),
        ..Default::default()
    }
}

const REVIEWS: &str = "outbound|9080||reviews.default.svc.cluster.local";
const RATINGS: &str = "outbound|9080||ratings.default.svc.cluster.local";

/// Knobs for the mesh: each changes exactly one type.
#[derive(Clone, Copy)]
struct Mesh {
    cluster_timeout: i64,
    route_domain: &'static str,
    reviews_endpoints: u32,
    ratings_endpoints: u32,
}

const MESH: Mesh = Mesh {
    cluster_timeout: 1,
    route_domain: "reviews",
    reviews_endpoints: 1,
    ratings_endpoints: 1,
};

fn mesh(m: Mesh) -> Snapshot {
    let mut b = Snapshot::builder();
    b.add_message(eds_cluster(REVIEWS, m.cluster_timeout))
        .unwrap();
    b.add_message(eds_cluster(RATINGS, 1)).unwrap();
    b.add_message(endpoints(REVIEWS, m.reviews_endpoints))
        .unwrap();
    b.add_message(endpoints(RATINGS, m.ratings_endpoints))
        .unwrap();
    b.add_message(http_listener("0.0.0.0_9080", "9080"))
        .unwrap();
    b.add_message(route("9080", m.route_domain)).unwrap();
    b.add_message(route("other", "other")).unwrap();
    b.build()
}

fn sidecar(pod: &str) -> Node {
    Node {
        id: format!("sidecar~10.0.0.1~{pod}.default~default.svc.cluster.local"),
        metadata: Some(super::node::json_to_struct(
            serde_json::json!({"CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.24.0"})
                .as_object()
                .expect("object"),
        )),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// A server on an ephemeral port, and raw streams that speak the protocol by hand.

struct TestServer {
    addr: SocketAddr,
    status: StatusRegistry,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

async fn start_server(store: &SnapshotStore) -> TestServer {
    start_server_on(store, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

async fn start_server_on(store: &SnapshotStore, addr: SocketAddr) -> TestServer {
    let listener = TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let status = StatusRegistry::new();
    let server = AdsServer::new(store.clone(), status.clone());
    let (shutdown, stop) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(listener, async {
        let _ = stop.await;
    }));
    TestServer {
        addr,
        status,
        shutdown,
        task,
    }
}

impl TestServer {
    async fn stop(self) {
        let _ = self.shutdown.send(());
        tokio::time::timeout(TIMEOUT, self.task)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server ends cleanly");
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until `proxy` has acted on change `generation`.
    async fn settled(&self, proxy: &str, generation: u64) {
        assert_eventually(&format!("{proxy} acts on generation {generation}"), || {
            self.status.proxy(proxy).map(|p| p.generation) == Some(generation)
        })
        .await;
    }

    fn syncz_of(&self, proxy: &str) -> Value {
        self.status
            .syncz()
            .as_array()
            .and_then(|all| all.iter().find(|p| p["proxy"] == proxy).cloned())
            .unwrap_or(Value::Null)
    }
}

struct RawStream {
    tx: mpsc::Sender<DiscoveryRequest>,
    rx: Streaming<DiscoveryResponse>,
    probes: u32,
}

async fn grpc(addr: SocketAddr) -> AggregatedDiscoveryServiceClient<tonic::transport::Channel> {
    AggregatedDiscoveryServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect")
}

/// Opens a stream whose first request is `first`.
async fn open(addr: SocketAddr, first: DiscoveryRequest) -> RawStream {
    let (tx, rx) = mpsc::channel(16);
    tx.send(first).await.expect("queue first request");
    let rx = grpc(addr)
        .await
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    RawStream { tx, rx, probes: 0 }
}

fn request(type_url: TypeUrl, names: &[&str]) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: type_url.as_str().into(),
        resource_names: names.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn with_node(mut r: DiscoveryRequest, node: Node) -> DiscoveryRequest {
    r.node = Some(node);
    r
}

fn ack(response: &DiscoveryResponse, names: &[&str]) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: response.version_info.clone(),
        response_nonce: response.nonce.clone(),
        ..request(
            TypeUrl::parse(&response.type_url).expect("served type"),
            names,
        )
    }
}

fn nack(response: &DiscoveryResponse, accepted: &str, message: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: accepted.into(),
        error_detail: Some(RpcStatus {
            code: 13,
            message: message.into(),
            details: vec![],
        }),
        ..ack(response, &[])
    }
}

fn names(response: &DiscoveryResponse) -> Vec<String> {
    response
        .resources
        .iter()
        .map(|any| {
            TypedResource::decode(any)
                .expect("decodes")
                .name()
                .to_string()
        })
        .collect()
}

impl RawStream {
    /// A stream for `pod` subscribed to CDS and LDS, both answered and ACKed.
    async fn synced(
        addr: SocketAddr,
        pod: &str,
    ) -> (RawStream, DiscoveryResponse, DiscoveryResponse) {
        let mut s = open(
            addr,
            with_node(request(TypeUrl::Cluster, &[]), sidecar(pod)),
        )
        .await;
        let cds = s.expect(TypeUrl::Cluster).await;
        s.send(ack(&cds, &[])).await;
        s.send(request(TypeUrl::Listener, &[])).await;
        let lds = s.expect(TypeUrl::Listener).await;
        s.send(ack(&lds, &[])).await;
        (s, cds, lds)
    }

    async fn send(&self, r: DiscoveryRequest) {
        self.tx.send(r).await.expect("stream open");
    }

    async fn next(&mut self) -> Result<DiscoveryResponse, tonic::Status> {
        match tokio::time::timeout(TIMEOUT, self.rx.message()).await {
            Ok(Ok(Some(r))) => Ok(r),
            Ok(Ok(None)) => panic!("stream ended"),
            Ok(Err(status)) => Err(status),
            Err(_) => panic!("no response within {TIMEOUT:?}"),
        }
    }

    async fn expect(&mut self, type_url: TypeUrl) -> DiscoveryResponse {
        let r = self.next().await.expect("a response");
        assert_eq!(
            r.type_url,
            type_url.as_str(),
            "unexpected {} response",
            r.type_url
        );
        r
    }

    /// Asserts nothing is queued on the stream: the next message is the answer to a probe.
    async fn expect_nothing_pending(&mut self) {
        self.probes += 1;
        let name = format!("probe-{}", self.probes);
        self.send(request(TypeUrl::Secret, &[&name])).await;
        let r = self.next().await.expect("probe answer");
        assert_eq!(
            r.type_url,
            TypeUrl::Secret.as_str(),
            "expected nothing before the probe's answer, got a {} push",
            r.type_url
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Server protocol

#[tokio::test]
async fn ack_round_trip_marks_the_proxy_synced() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let mut s = open(
        server.addr,
        with_node(request(TypeUrl::Cluster, &[]), sidecar("reviews-v1")),
    )
    .await;
    let cds = s.expect(TypeUrl::Cluster).await;
    assert_eq!(cds.version_info, mesh(MESH).version(TypeUrl::Cluster));
    assert!(!cds.nonce.is_empty());
    assert_eq!(
        names(&cds),
        [RATINGS, REVIEWS],
        "all clusters, in name order"
    );
    let decoded: Cluster = unpack_any(&cds.resources[1]).expect("a Cluster");
    assert_eq!(decoded, eds_cluster(REVIEWS, 1));

    let syncz = server.syncz_of("reviews-v1.default");
    assert_eq!(syncz["cluster_sent"], cds.nonce.as_str());
    assert_eq!(syncz.get("cluster_acked"), None, "not acknowledged yet");
    assert_eq!(syncz["cluster_id"], "Kubernetes");
    assert_eq!(syncz["istio_version"], "1.24.0");
    assert_eq!(syncz["proxy_type"], "sidecar");

    s.send(ack(&cds, &[])).await;
    assert_eventually("CDS acknowledged in syncz", || {
        server.syncz_of("reviews-v1.default")["cluster_acked"] == cds.nonce.as_str()
    })
    .await;
    let status = server
        .status
        .proxy("reviews-v1.default")
        .expect("connected");
    let cds_status = &status.types[&TypeUrl::Cluster];
    assert_eq!(cds_status.sync_state(), SyncState::Synced);
    assert_eq!(
        cds_status.acked.as_ref().map(|a| a.version.as_str()),
        Some(cds.version_info.as_str())
    );
    assert!(cds_status.wildcard);
    s.expect_nothing_pending().await;

    drop(s);
    assert_eventually("the proxy leaves the registry", || server.status.is_empty()).await;
    server.stop().await;
}

#[tokio::test]
async fn nack_keeps_the_accepted_version_and_reports_the_error() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let (mut s, cds1, _) = RawStream::synced(server.addr, "reviews-v1").await;

    store.set_default(mesh(Mesh {
        cluster_timeout: 2,
        ..MESH
    }));
    let cds2 = s.expect(TypeUrl::Cluster).await;
    assert_ne!(cds2.version_info, cds1.version_info);
    assert_ne!(cds2.nonce, cds1.nonce);
    s.send(nack(
        &cds2,
        &cds1.version_info,
        "cluster timeout out of range",
    ))
    .await;

    let proxy = "reviews-v1.default";
    assert_eventually("the NACK is recorded", || {
        server.syncz_of(proxy)["resources"][TypeUrl::Cluster.as_str()]["lastError"]
            == "cluster timeout out of range"
    })
    .await;
    let syncz = server.syncz_of(proxy);
    assert_eq!(syncz["cluster_sent"], cds2.nonce.as_str());
    assert_eq!(
        syncz["cluster_acked"],
        cds1.nonce.as_str(),
        "still the accepted one"
    );
    let status = server.status.proxy(proxy).expect("connected");
    let cds = &status.types[&TypeUrl::Cluster];
    assert_eq!(cds.sync_state(), SyncState::Error);
    assert_eq!(
        cds.acked.as_ref().map(|a| &a.version),
        Some(&cds1.version_info)
    );
    let nack = cds.last_nack.as_ref().expect("nack");
    assert_eq!(nack.version, cds2.version_info);

    // The rejected version is not sent again: not after the NACK, nor on a change signal
    // that leaves the clusters as they are.
    s.expect_nothing_pending().await;
    store.set_default(mesh(Mesh {
        cluster_timeout: 2,
        ..MESH
    }));
    server.settled(proxy, store.generation()).await;
    s.expect_nothing_pending().await;

    // A newer version is, and its ACK clears the error.
    store.set_default(mesh(Mesh {
        cluster_timeout: 3,
        ..MESH
    }));
    let cds3 = s.expect(TypeUrl::Cluster).await;
    s.send(ack(&cds3, &[])).await;
    assert_eventually("the ACK clears the error", || {
        let syncz = server.syncz_of(proxy);
        syncz["cluster_acked"] == cds3.nonce.as_str()
            && syncz["resources"][TypeUrl::Cluster.as_str()]
                .get("lastError")
                .is_none()
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_change_pushes_only_the_changed_type_and_only_to_affected_proxies() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let (mut a, a_cds, a_lds) = RawStream::synced(server.addr, "a").await;
    let (mut b, b_cds, _) = RawStream::synced(server.addr, "b").await;
    assert_eq!(
        a_cds.version_info, b_cds.version_info,
        "same config, same version"
    );

    // b keeps its config (rebuilt, so a different Arc with equal content); everyone else gets
    // a changed cluster.
    store.set_proxy("b.default", mesh(MESH));
    store.set_default(mesh(Mesh {
        cluster_timeout: 5,
        ..MESH
    }));
    let generation = store.generation();

    let pushed = a.expect(TypeUrl::Cluster).await;
    assert_ne!(pushed.version_info, a_cds.version_info);
    assert_eq!(names(&pushed), [RATINGS, REVIEWS], "CDS is sent whole");
    server.settled("a.default", generation).await;
    a.expect_nothing_pending().await;
    let a_status = server.status.proxy("a.default").expect("a");
    assert_eq!(
        a_status.types[&TypeUrl::Listener]
            .sent
            .as_ref()
            .map(|s| &s.nonce),
        Some(&a_lds.nonce),
        "LDS was not sent again"
    );

    server.settled("b.default", generation).await;
    b.expect_nothing_pending().await;
    let b_status = server.status.proxy("b.default").expect("b");
    assert_eq!(
        b_status.types[&TypeUrl::Cluster]
            .sent
            .as_ref()
            .map(|s| &s.nonce),
        Some(&b_cds.nonce)
    );
    server.stop().await;
}

#[tokio::test]
async fn rds_and_eds_are_served_by_name() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let (mut s, _, _) = RawStream::synced(server.addr, "reviews-v1").await;
    let proxy = "reviews-v1.default";

    s.send(request(TypeUrl::RouteConfiguration, &["9080"]))
        .await;
    let rds = s.expect(TypeUrl::RouteConfiguration).await;
    assert_eq!(names(&rds), ["9080"], "only the subscribed route");
    s.send(ack(&rds, &["9080"])).await;

    s.send(request(TypeUrl::ClusterLoadAssignment, &[REVIEWS]))
        .await;
    let eds1 = s.expect(TypeUrl::ClusterLoadAssignment).await;
    assert_eq!(names(&eds1), [REVIEWS]);
    // Growing the subscription in an ACK is answered with the new set.
    s.send(ack(&eds1, &[REVIEWS, RATINGS, "missing"])).await;
    let eds2 = s.expect(TypeUrl::ClusterLoadAssignment).await;
    assert_eq!(
        names(&eds2),
        [RATINGS, REVIEWS],
        "missing names are skipped"
    );
    assert_ne!(eds2.version_info, eds1.version_info);
    s.send(ack(&eds2, &[REVIEWS, RATINGS, "missing"])).await;

    // An unwatched route changes: nothing for this proxy.
    let mut other = mesh(MESH);
    let mut b = Snapshot::builder();
    for t in TypeUrl::ALL {
        for r in other.of(t).resources().values() {
            if r.name() == "other" {
                b.add_message(route("other", "changed")).unwrap();
            } else {
                b.add(r.clone()).unwrap();
            }
        }
    }
    other = b.build();
    assert_ne!(
        other.version(TypeUrl::RouteConfiguration),
        mesh(MESH).version(TypeUrl::RouteConfiguration)
    );
    store.set_default(other);
    server.settled(proxy, store.generation()).await;
    s.expect_nothing_pending().await;

    // A watched endpoint changes: EDS only, with the whole subscribed set.
    store.set_default(mesh(Mesh {
        ratings_endpoints: 7,
        ..MESH
    }));
    let eds3 = s.expect(TypeUrl::ClusterLoadAssignment).await;
    assert_eq!(names(&eds3), [RATINGS, REVIEWS]);
    server.settled(proxy, store.generation()).await;
    s.expect_nothing_pending().await;

    // An empty name list for EDS unsubscribes.
    s.send(ack(&eds3, &[])).await;
    assert_eventually("EDS unsubscribed", || {
        server
            .status
            .proxy(proxy)
            .is_some_and(|p| !p.types.contains_key(&TypeUrl::ClusterLoadAssignment))
    })
    .await;
    store.set_default(mesh(Mesh {
        ratings_endpoints: 8,
        ..MESH
    }));
    server.settled(proxy, store.generation()).await;
    s.expect_nothing_pending().await;
    server.stop().await;
}

#[tokio::test]
async fn a_stale_nonce_is_ignored() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let proxy = "reviews-v1.default";
    let mut s = open(
        server.addr,
        with_node(request(TypeUrl::Cluster, &[]), sidecar("reviews-v1")),
    )
    .await;
    let cds1 = s.expect(TypeUrl::Cluster).await;
    // A push overtakes the proxy's ACK of the first response.
    store.set_default(mesh(Mesh {
        cluster_timeout: 9,
        ..MESH
    }));
    let cds2 = s.expect(TypeUrl::Cluster).await;
    s.send(ack(&cds1, &[])).await;
    s.send(nack(&cds1, "", "late complaint")).await;
    // A stale request that changes names does not subscribe either.
    s.send(DiscoveryRequest {
        response_nonce: cds1.nonce.clone(),
        ..request(TypeUrl::Cluster, &[REVIEWS])
    })
    .await;
    s.expect_nothing_pending().await;
    let cds = server.status.proxy(proxy).expect("connected").types[&TypeUrl::Cluster].clone();
    assert_eq!(cds.acked, None, "stale ACK ignored");
    assert_eq!(cds.last_nack, None, "stale NACK ignored");
    assert!(cds.wildcard, "stale subscription change ignored");

    s.send(ack(&cds2, &[])).await;
    assert_eventually("the current ACK counts", || {
        server.syncz_of(proxy)["cluster_acked"] == cds2.nonce.as_str()
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_or_are_ignored() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;

    let mut garbage = open(
        server.addr,
        with_node(
            request(TypeUrl::Cluster, &[]),
            Node {
                id: "definitely not a node id".into(),
                ..Default::default()
            },
        ),
    )
    .await;
    let status = garbage.next().await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("is not <role>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>"),
        "{}",
        status.message()
    );

    let mut anonymous = open(server.addr, request(TypeUrl::Cluster, &[])).await;
    let status = anonymous.next().await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().starts_with("missing node information"));

    // A well-formed stream survives unknown types, an empty type and bogus nonces.
    let (mut s, _, _) = RawStream::synced(server.addr, "reviews-v1").await;
    s.send(request(TypeUrl::Cluster, &[])).await;
    let _resubscribed = s.expect(TypeUrl::Cluster).await;
    for type_url in [
        "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "",
        "\u{0}garbage",
    ] {
        s.send(DiscoveryRequest {
            type_url: type_url.into(),
            response_nonce: "no-such-nonce".into(),
            ..Default::default()
        })
        .await;
    }
    s.send(DiscoveryRequest {
        response_nonce: "no-such-nonce".into(),
        error_detail: Some(RpcStatus::default()),
        ..request(TypeUrl::Listener, &[])
    })
    .await;
    s.expect_nothing_pending().await;

    let delta = grpc(server.addr)
        .await
        .delta_aggregated_resources(tokio_stream::iter(vec![DeltaDiscoveryRequest::default()]))
        .await
        .expect_err("delta is refused");
    assert_eq!(delta.code(), tonic::Code::Unimplemented);

    assert_eq!(
        server.status.len(),
        1,
        "only the valid stream is registered"
    );
    server.stop().await;
}

#[tokio::test]
async fn debounced_bursts_become_one_push() {
    let store = SnapshotStore::debounced(DebounceConfig {
        after: Duration::from_millis(50),
        max: Duration::from_secs(5),
    });
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let (mut s, cds1, _) = RawStream::synced(server.addr, "reviews-v1").await;
    for timeout in 10..30 {
        store.set_default(mesh(Mesh {
            cluster_timeout: timeout,
            ..MESH
        }));
    }
    let pushed = s.expect(TypeUrl::Cluster).await;
    assert_ne!(pushed.version_info, cds1.version_info);
    assert_eq!(
        pushed.version_info,
        mesh(Mesh {
            cluster_timeout: 29,
            ..MESH
        })
        .version(TypeUrl::Cluster),
        "the one push carries the last state"
    );
    server
        .settled("reviews-v1.default", store.generation())
        .await;
    s.expect_nothing_pending().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Client against server

/// A sink that keeps what it accepted, like a proxy's config store, and can be told to refuse.
#[derive(Clone, Default)]
struct Recorder {
    inner: Arc<Mutex<RecorderState>>,
}

#[derive(Default)]
struct RecorderState {
    applied: Vec<(TypeUrl, String, Vec<String>)>,
    refuse_listener: Option<String>,
}

impl Recorder {
    fn sink(&self) -> impl client::ConfigSink {
        let inner = self.inner.clone();
        move |update: &Update| {
            let mut state = inner.lock().expect("recorder lock");
            let names: Vec<String> = update
                .resources
                .iter()
                .map(|r| r.name().to_string())
                .collect();
            if let Some(bad) = &state.refuse_listener
                && update.type_url == TypeUrl::Listener
            {
                for r in &update.resources {
                    if let TypedResource::Listener(l) = r
                        && l.name == *bad
                    {
                        return Err(format!("listener {bad}: address already in use"));
                    }
                }
            }
            state
                .applied
                .push((update.type_url, update.version_info.clone(), names));
            Ok(())
        }
    }

    fn applied(&self) -> Vec<(TypeUrl, String, Vec<String>)> {
        self.inner.lock().expect("recorder lock").applied.clone()
    }

    fn last(&self, type_url: TypeUrl) -> Option<(String, Vec<String>)> {
        self.applied()
            .into_iter()
            .rev()
            .find(|(t, _, _)| *t == type_url)
            .map(|(_, v, n)| (v, n))
    }
}

fn start_client(url: String, recorder: &Recorder) -> ClientHandle {
    let mut config = ClientConfig::new(url, sidecar("reviews-v1"));
    config.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    client::spawn(config, recorder.sink()).expect("valid address")
}

/// Whether the server shows every type synced for the proxy, with the client's versions.
fn all_synced(server: &TestServer, client: &ClientHandle, snapshot: &Snapshot) -> bool {
    let state = client.state();
    let Some(proxy) = server.status.proxy("reviews-v1.default") else {
        return false;
    };
    TypeUrl::ALL[..4].iter().all(|t| {
        let expected = if t.is_wildcard() {
            snapshot.version(*t).to_string()
        } else {
            let names = &state
                .types
                .get(t)
                .map(|s| s.resource_names.clone())
                .unwrap_or_default();
            snapshot.of(*t).version_for(names)
        };
        state.acked_version(*t) == Some(expected.as_str())
            && proxy
                .types
                .get(t)
                .is_some_and(|s| s.sync_state() == SyncState::Synced)
    })
}

#[tokio::test]
async fn client_follows_clusters_and_listeners_to_endpoints_and_routes() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let recorder = Recorder::default();
    let client = start_client(server.url(), &recorder);

    let snapshot = mesh(MESH);
    assert_eventually("all four types synced", || {
        all_synced(&server, &client, &snapshot)
    })
    .await;
    let state = client.state();
    assert!(state.connected);
    let eds_names: Vec<&str> = state.types[&TypeUrl::ClusterLoadAssignment]
        .resource_names
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(eds_names, [RATINGS, REVIEWS]);
    let rds_names: Vec<&String> = state.types[&TypeUrl::RouteConfiguration]
        .resource_names
        .iter()
        .collect();
    assert_eq!(rds_names, ["9080"], "only routes a listener names");
    assert_eq!(
        recorder.last(TypeUrl::RouteConfiguration).map(|(_, n)| n),
        Some(vec!["9080".to_string()])
    );
    assert_eq!(
        recorder.last(TypeUrl::Listener).map(|(_, n)| n),
        Some(vec!["0.0.0.0_9080".to_string()])
    );

    // A change reaches the sink and is acknowledged.
    store.set_default(mesh(Mesh {
        route_domain: "reviews.default.svc.cluster.local",
        ..MESH
    }));
    let changed = mesh(Mesh {
        route_domain: "reviews.default.svc.cluster.local",
        ..MESH
    });
    assert_eventually("route change synced", || {
        all_synced(&server, &client, &changed)
    })
    .await;
    client.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn client_nacks_what_the_sink_refuses() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let server = start_server(&store).await;
    let recorder = Recorder::default();
    let client = start_client(server.url(), &recorder);
    let good = mesh(MESH);
    assert_eventually("synced", || all_synced(&server, &client, &good)).await;

    recorder.inner.lock().expect("lock").refuse_listener = Some("0.0.0.0_15006".into());
    let mut b = Snapshot::builder();
    for t in TypeUrl::ALL {
        for r in good.of(t).resources().values() {
            b.add(r.clone()).unwrap();
        }
    }
    b.add_message(http_listener("0.0.0.0_15006", "inbound"))
        .unwrap();
    store.set_default(b.build());

    let error = "listener 0.0.0.0_15006: address already in use";
    assert_eventually("the server records the NACK", || {
        server.syncz_of("reviews-v1.default")["resources"][TypeUrl::Listener.as_str()]["lastError"]
            == error
    })
    .await;
    let state = client.state();
    let lds = &state.types[&TypeUrl::Listener];
    assert_eq!(lds.last_nack.as_deref(), Some(error));
    assert_eq!(
        lds.acked_version.as_deref(),
        Some(good.version(TypeUrl::Listener)),
        "the accepted version stays"
    );
    assert_eq!(
        recorder.last(TypeUrl::Listener).map(|(v, _)| v).as_deref(),
        Some(good.version(TypeUrl::Listener))
    );
    assert!(
        !state.types[&TypeUrl::RouteConfiguration]
            .resource_names
            .contains("inbound"),
        "no subscriptions from a refused listener"
    );
    let proxy = server
        .status
        .proxy("reviews-v1.default")
        .expect("connected");
    assert_eq!(
        proxy.types[&TypeUrl::Listener]
            .acked
            .as_ref()
            .map(|a| a.version.as_str()),
        Some(good.version(TypeUrl::Listener))
    );
    client.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn client_reconnects_after_a_server_restart_and_resyncs() {
    let store = SnapshotStore::new();
    store.set_default(mesh(MESH));
    let first = start_server(&store).await;
    let addr = first.addr;
    let recorder = Recorder::default();
    let client = start_client(first.url(), &recorder);
    let old = mesh(MESH);
    assert_eventually("synced with the first server", || {
        all_synced(&first, &client, &old)
    })
    .await;
    let applied_before = recorder.applied().len();

    first.stop().await;
    let mut states = client.watch();
    assert_eventually("client notices", || !states.borrow_and_update().connected).await;
    // The proxy keeps its config: nothing applied (or cleared) while disconnected, and the
    // accepted versions are kept for the next stream.
    let state = client.state();
    assert_eq!(recorder.applied().len(), applied_before);
    assert_eq!(
        state.acked_version(TypeUrl::Cluster),
        Some(old.version(TypeUrl::Cluster))
    );
    assert!(state.last_error.is_some());

    // The control plane comes back on the same address, with changed clusters.
    store.set_default(mesh(Mesh {
        cluster_timeout: 4,
        ..MESH
    }));
    let second = start_server_on(&store, addr).await;
    let new = mesh(Mesh {
        cluster_timeout: 4,
        ..MESH
    });
    assert_eventually("resynced with the second server", || {
        all_synced(&second, &client, &new)
    })
    .await;
    let state = client.state();
    assert!(state.connected);
    assert!(
        state.connections >= 2,
        "a second stream: {}",
        state.connections
    );
    assert_eq!(
        recorder.last(TypeUrl::Cluster).map(|(v, _)| v).as_deref(),
        Some(new.version(TypeUrl::Cluster))
    );
    client.stop().await;
    second.stop().await;
}
