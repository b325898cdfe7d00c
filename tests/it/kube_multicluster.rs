//! Primary-remote multicluster against two real kube-apiservers (`FERRY_TEST_KUBECONFIG` is the
//! primary, `FERRY_TEST_KUBECONFIG_REMOTE` the remote; `.ci/run` starts both with
//! `tests/k8s/cluster.sh`): the Secret `ferryctl create-remote-secret` prints for the remote,
//! applied in the primary's istio-system, makes `ferryctl discovery` on the primary serve the
//! remote's Services and endpoints (registryz, clusterz, EDS to a connected proxy, the proxy's
//! config dump); deleting the Secret takes them away again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::kube::Client;
use ::kube::api::{Api, DeleteParams};
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use ferry::config::yaml::{Limits, parse_stream};
use ferry::xds::client::{self, ClientConfig, Update};
use ferry::xds::node::json_to_struct;
use ferry::xds::types::{TypeUrl, TypedResource};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};

use crate::discovery::get;
use crate::kube::{CRDS, apply, client, kubeconfig, start_discovery};
use crate::{eventually, ferryctl};

const REMOTE_ONLY: &str = "mc-remote-only";
const SHARED: &str = "mc-shared";
const PRIMARY_IP: &str = "10.244.1.11";
const REMOTE_IPS: [&str; 2] = ["10.245.1.21", "10.245.1.22"];
const SECRET: &str = "istio-remote-secret-remote1";
const BROKEN_SECRET: &str = "istio-remote-secret-broken";

fn host(name: &str) -> String {
    format!("{name}.default.svc.cluster.local")
}

fn cluster_name(name: &str) -> String {
    format!("outbound|9080||{}", host(name))
}

/// The remote's kubeconfig, or `None` with a message saying why the test does nothing.
fn remote_kubeconfig() -> Option<String> {
    match std::env::var("FERRY_TEST_KUBECONFIG_REMOTE") {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            eprintln!(
                "SKIPPED: FERRY_TEST_KUBECONFIG_REMOTE is not set: the multicluster test needs a \
                 second cluster (tests/k8s/cluster.sh up DIR2; .ci/run starts one)"
            );
            None
        }
    }
}

fn service(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": 9080}]},
    })
}

fn endpoint_slice(name: &str, service: &str, ip: &str) -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"name": "http", "port": 9080, "protocol": "TCP"}],
    })
}

/// The Secret `ferryctl create-remote-secret` prints for the remote cluster.
fn remote_secret(remote: &str) -> Value {
    let out = ferryctl()
        .args(["create-remote-secret", "--kubeconfig", remote])
        .args(["--name", "remote1"])
        .output()
        .expect("ferryctl runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "create-remote-secret: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stream = parse_stream(&stdout, Limits::default());
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    let secret = stream
        .documents
        .iter()
        .map(|d| d.root.to_json())
        .find(|v| v["kind"] == "Secret")
        .unwrap_or_else(|| panic!("a Secret in {stdout}"));
    assert_eq!(secret["metadata"]["name"], SECRET);
    assert_eq!(secret["metadata"]["namespace"], "istio-system");
    secret
}

/// `registryz`: each service's endpoints as (address, clusterID), by hostname.
fn registry(debug: &str) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let (code, body) = get(debug, "/debug/registryz");
    assert_eq!(code, 200, "{body}");
    let services: Value = serde_json::from_str(&body).expect("registryz is JSON");
    services
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            let endpoints = s["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let address = e["address"].as_str().unwrap_or_default().to_string();
                    let cluster = e["clusterID"].as_str().unwrap_or_default().to_string();
                    // Istio's label says the same as the field.
                    assert_eq!(
                        e["labels"]["topology.istio.io/cluster"].as_str(),
                        Some(cluster.as_str()),
                        "{e}"
                    );
                    (address, cluster)
                })
                .collect();
            (
                s["hostname"].as_str().unwrap_or_default().to_string(),
                endpoints,
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, c)| (a.to_string(), c.to_string()))
        .collect()
}

/// What the connected proxy was last sent: its clusters and each EDS cluster's addresses.
#[derive(Debug, Default)]
struct Sent {
    clusters: BTreeSet<String>,
    endpoints: BTreeMap<String, BTreeSet<String>>,
}

fn on_update(sent: &Mutex<Sent>, update: &Update) {
    let mut sent = sent.lock().expect("lock");
    match update.type_url {
        TypeUrl::Cluster => {
            sent.clusters = update
                .resources
                .iter()
                .filter_map(|r| match r {
                    TypedResource::Cluster(c) => Some(c.name.clone()),
                    _ => None,
                })
                .collect();
        }
        TypeUrl::ClusterLoadAssignment => {
            for r in &update.resources {
                let TypedResource::ClusterLoadAssignment(cla) = r else {
                    continue;
                };
                let addresses = cla
                    .endpoints
                    .iter()
                    .flat_map(|l| &l.lb_endpoints)
                    .filter_map(|e| match &e.host_identifier {
                        Some(HostIdentifier::Endpoint(ep)) => ep.address.as_ref(),
                        _ => None,
                    })
                    .filter_map(|a| match &a.address {
                        Some(AddressKind::SocketAddress(s)) => Some(s.address.clone()),
                        _ => None,
                    })
                    .collect();
                sent.endpoints.insert(cla.cluster_name.clone(), addresses);
            }
        }
        _ => {}
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn delete_remote_slice(remote: &Client, name: &str) {
    let slices: Api<EndpointSlice> = Api::namespaced(remote.clone(), "default");
    let _ = slices.delete(name, &DeleteParams::default()).await;
}

async fn delete_secret(primary: &Client, name: &str) {
    let secrets: Api<Secret> = Api::namespaced(primary.clone(), "istio-system");
    let _ = secrets.delete(name, &DeleteParams::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs two real kube-apiservers: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_multicluster_remote_secret_adds_and_removes_a_remote_cluster() {
    let Some(remote_path) = remote_kubeconfig() else {
        return;
    };
    let primary_path = kubeconfig();
    let primary = client(&primary_path).await;
    let remote = client(&remote_path).await;
    // The remote secrets in the primary are what `analyze -A` reads for its remote clusters:
    // held, as the tests that change what the whole cluster analyzes to hold it.
    let _whole_cluster = CRDS.lock().await;

    // A Service only the remote has, and one both have (Istio merges their endpoints).
    apply(&remote, &service(REMOTE_ONLY), "services").await;
    apply(
        &remote,
        &endpoint_slice("mc-remote-only-a", REMOTE_ONLY, REMOTE_IPS[0]),
        "endpointslices",
    )
    .await;
    apply(&remote, &service(SHARED), "services").await;
    apply(
        &remote,
        &endpoint_slice("mc-shared-remote", SHARED, REMOTE_IPS[1]),
        "endpointslices",
    )
    .await;
    apply(&primary, &service(SHARED), "services").await;
    apply(
        &primary,
        &endpoint_slice("mc-shared-primary", SHARED, PRIMARY_IP),
        "endpointslices",
    )
    .await;
    // A rerun against the same clusters starts without the secrets and the added endpoint.
    delete_remote_slice(&remote, "mc-remote-only-b").await;
    delete_secret(&primary, SECRET).await;
    delete_secret(&primary, BROKEN_SECRET).await;
    apply(
        &primary,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}),
        "namespaces",
    )
    .await;

    let (running, grpc, debug, lines) = start_discovery(&primary_path);
    eventually(Duration::from_secs(30), "discovery ready", || {
        get(&debug, "/ready").0 == 200
    });
    eventually(Duration::from_secs(10), "the primary's mc-shared", || {
        registry(&debug).get(&host(SHARED)) == Some(&pairs(&[(PRIMARY_IP, "Kubernetes")]))
    });
    assert!(!registry(&debug).contains_key(&host(REMOTE_ONLY)));

    let node = Node {
        id: "sidecar~127.0.0.1~mc-client-1.default~default.svc.cluster.local".into(),
        metadata: Some(json_to_struct(
            json!({"LABELS": {"app": "mc-client"}})
                .as_object()
                .expect("object"),
        )),
        ..Node::default()
    };
    let sent = Arc::new(Mutex::new(Sent::default()));
    let sink = sent.clone();
    let handle = client::spawn(
        ClientConfig::new(format!("http://{grpc}"), node),
        move |update: &Update| {
            on_update(&sink, update);
            Ok(())
        },
    )
    .expect("client starts");
    eventually(
        Duration::from_secs(10),
        "the primary's endpoint by EDS",
        || {
            sent.lock()
                .expect("lock")
                .endpoints
                .get(&cluster_name(SHARED))
                == Some(&set(&[PRIMARY_IP]))
        },
    );

    // A secret whose kubeconfig runs a program is refused, logged and counted; the primary
    // goes on serving.
    apply(
        &primary,
        &json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": BROKEN_SECRET, "namespace": "istio-system",
                         "labels": {"istio/multiCluster": "true"}},
            "stringData": {"broken": "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: sh}\n"},
        }),
        "secrets",
    )
    .await;
    let refused = Instant::now();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("discovery logs the refused kubeconfig");
        if line.contains("cluster_id=broken") {
            assert!(
                line.contains("adding cluster_id=broken from secret=istio-system/")
                    && line.ends_with("kubeconfig is not allowed: exec is not allowed"),
                "{line}"
            );
            break;
        }
        assert!(refused.elapsed() < Duration::from_secs(10), "no log line");
    }
    let (_, metrics) = get(&debug, "/metrics");
    assert!(
        metrics.contains("ferry_remote_cluster_kubeconfig_errors_total 1"),
        "{metrics}"
    );
    assert_eq!(get(&debug, "/ready").0, 200);

    // The remote secret: the remote's Services join, each endpoint with its cluster.
    let added = Instant::now();
    apply(&primary, &remote_secret(&remote_path), "secrets").await;
    eventually(
        Duration::from_secs(30),
        "the remote's services in registryz",
        || {
            let reg = registry(&debug);
            reg.get(&host(REMOTE_ONLY)) == Some(&pairs(&[(REMOTE_IPS[0], "remote1")]))
                && reg.get(&host(SHARED))
                    == Some(&pairs(&[
                        (PRIMARY_IP, "Kubernetes"),
                        (REMOTE_IPS[1], "remote1"),
                    ]))
        },
    );
    eprintln!(
        "remote cluster served {:?} after the secret",
        added.elapsed()
    );
    let (_, clusterz) = get(&debug, "/debug/clusterz");
    let clusterz: Value = serde_json::from_str(&clusterz).expect("clusterz is JSON");
    assert_eq!(
        clusterz,
        json!([{"id": "remote1", "secretName": format!("istio-system/{SECRET}"),
                "syncStatus": "synced"}])
    );
    let (_, metrics) = get(&debug, "/metrics");
    assert!(
        metrics.contains("istiod_managed_clusters{cluster_type=\"remote\"} 1"),
        "{metrics}"
    );

    // The proxy is sent both: a new cluster for the remote-only Service, and both clusters'
    // endpoints for the shared one.
    eventually(
        Duration::from_secs(10),
        "the remote endpoints by EDS",
        || {
            let sent = sent.lock().expect("lock");
            sent.clusters.contains(&cluster_name(REMOTE_ONLY))
                && sent.endpoints.get(&cluster_name(REMOTE_ONLY)) == Some(&set(&[REMOTE_IPS[0]]))
                && sent.endpoints.get(&cluster_name(SHARED))
                    == Some(&set(&[PRIMARY_IP, REMOTE_IPS[1]]))
        },
    );
    let (code, dump) = get(
        &debug,
        "/debug/config_dump?proxyID=mc-client-1.default&include_eds=true",
    );
    assert_eq!(code, 200, "{dump}");
    assert!(
        dump.contains(REMOTE_IPS[0]) && dump.contains(REMOTE_IPS[1]),
        "config_dump has the remote endpoints: {dump}"
    );

    // A new endpoint in the remote reaches the proxy through the remote's watch.
    apply(
        &remote,
        &endpoint_slice("mc-remote-only-b", REMOTE_ONLY, "10.245.1.23"),
        "endpointslices",
    )
    .await;
    eventually(
        Duration::from_secs(5),
        "a new remote endpoint by EDS",
        || {
            sent.lock()
                .expect("lock")
                .endpoints
                .get(&cluster_name(REMOTE_ONLY))
                == Some(&set(&[REMOTE_IPS[0], "10.245.1.23"]))
        },
    );

    // A new kubeconfig (a fresh token) restarts the remote's watch; its endpoints come back.
    // (What was logged so far, the first "adding" included, is drained first.)
    lines.try_iter().for_each(drop);
    apply(&primary, &remote_secret(&remote_path), "secrets").await;
    let restarted = Instant::now();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("discovery logs the restart");
        if line.contains("updating cluster_id=remote1") {
            break;
        }
        assert!(restarted.elapsed() < Duration::from_secs(10), "no restart");
    }
    eventually(
        Duration::from_secs(10),
        "the remote's endpoints after the restart",
        || {
            registry(&debug).get(&host(REMOTE_ONLY))
                == Some(&pairs(&[
                    (REMOTE_IPS[0], "remote1"),
                    ("10.245.1.23", "remote1"),
                ]))
        },
    );

    // Deleting the secret takes the remote's services and endpoints away within seconds.
    delete_secret(&primary, SECRET).await;
    let deleted = Instant::now();
    eventually(
        Duration::from_secs(5),
        "the remote gone from registryz",
        || {
            let reg = registry(&debug);
            !reg.contains_key(&host(REMOTE_ONLY))
                && reg.get(&host(SHARED)) == Some(&pairs(&[(PRIMARY_IP, "Kubernetes")]))
        },
    );
    eventually(
        Duration::from_secs(5),
        "the remote gone from the proxy",
        || {
            let sent = sent.lock().expect("lock");
            !sent.clusters.contains(&cluster_name(REMOTE_ONLY))
                && sent.endpoints.get(&cluster_name(SHARED)) == Some(&set(&[PRIMARY_IP]))
        },
    );
    eprintln!(
        "remote cluster removed {:?} after the delete",
        deleted.elapsed()
    );
    assert_eq!(get(&debug, "/debug/clusterz").1.trim(), "[]");

    handle.stop().await;
    drop(running);
    delete_secret(&primary, BROKEN_SECRET).await;
    delete_remote_slice(&remote, "mc-remote-only-b").await;
}
