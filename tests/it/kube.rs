//! `ferryctl discovery --kubeconfig` against a real kube-apiserver (started by
//! `tests/k8s/cluster.sh`; `.ci/run` does it and passes the kubeconfig in
//! `FERRY_TEST_KUBECONFIG`): Istio CRDs, a Service with an EndpointSlice and the seed routing
//! applied server-side, an ADS client served from them, an edit pushed, and an invalid object
//! rejected alone.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use ::kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
};
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::{Client, Config};
use envoy_types::pb::envoy::config::core::v3::Node;
use ferry::config::yaml::{Limits, parse_stream};
use ferry::install::crds;
use ferry::xds::client::{self, ClientConfig, Update};
use ferry::xds::node::json_to_struct;
use ferry::xds::types::{TypeUrl, TypedResource};
use serde_json::{Value, json};

use crate::discovery::{Running, get};
use crate::eventually;
use crate::ferryctl;

pub(crate) const IGNORE: &str =
    "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh";

/// Held while a test installs the Istio CRDs or depends on their absence, installs or purges
/// Ferry, or analyzes the whole cluster: the tests of this binary run in parallel against one
/// cluster, and discovery's fresh-cluster check must not see another test install the CRDs
/// halfway through, nor `analyze -A` see another test's install come and go. (A tokio mutex:
/// held across awaits, and each test has its own runtime.)
pub(crate) static CRDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn kubeconfig() -> String {
    std::env::var("FERRY_TEST_KUBECONFIG")
        .unwrap_or_else(|_| panic!("FERRY_TEST_KUBECONFIG is not set ({IGNORE})"))
}

pub(crate) async fn client(path: &str) -> Client {
    let parsed = Kubeconfig::read_from(path).expect("kubeconfig reads");
    let config = Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is usable");
    Client::try_from(config).expect("client builds")
}

/// The API for an object's `apiVersion`/`kind`; `plural` as the CRD or core API names it.
pub(crate) fn api(client: &Client, object: &Value, plural: &str) -> Api<DynamicObject> {
    let api_version = object["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().expect("kind");
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// Server-side apply with field manager `ferryctl`, as `ferryctl install` applies.
pub(crate) async fn apply(client: &Client, object: &Value, plural: &str) {
    let name = object["metadata"]["name"].as_str().expect("name");
    api(client, object, plural)
        .patch(
            name,
            &PatchParams::apply("ferryctl").force(),
            &Patch::Apply(object),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {plural}/{name}: {e}"));
}

/// The seed's objects as JSON, namespace `default` where none is written.
fn seed_objects() -> Vec<Value> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed/reviews-routing.yaml");
    let text = std::fs::read_to_string(file).expect("seed reads");
    let stream = parse_stream(&text, Limits::default());
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    stream
        .documents
        .iter()
        .map(|d| {
            let mut object = d.root.to_json();
            if object["metadata"]["namespace"].is_null() {
                object["metadata"]["namespace"] = json!("default");
            }
            object
        })
        .collect()
}

fn plural_of(object: &Value) -> &'static str {
    match object["kind"].as_str() {
        Some("VirtualService") => "virtualservices",
        Some("DestinationRule") => "destinationrules",
        other => panic!("no plural for {other:?}"),
    }
}

/// Applies the CRDs and waits until the API server serves each of them.
pub(crate) async fn install_crds(client: &Client) {
    for crd in crds::crds() {
        apply(client, &crd, "customresourcedefinitions").await;
    }
    let start = Instant::now();
    for crd in crds::crds() {
        let group = crd["spec"]["group"].as_str().expect("group");
        let plural = crd["spec"]["names"]["plural"].as_str().expect("plural");
        let kind = crd["spec"]["names"]["kind"].as_str().expect("kind");
        let version = crd["spec"]["versions"][0]["name"]
            .as_str()
            .expect("version");
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let api: Api<DynamicObject> = Api::all_with(
            client.clone(),
            &ApiResource::from_gvk_with_plural(&gvk, plural),
        );
        while api.list(&Default::default()).await.is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{plural}.{group} is not served"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Whether the API server already serves Istio's VirtualService (an earlier run installed it).
pub(crate) async fn crds_installed(client: &Client) -> bool {
    let gvk = GroupVersionKind::gvk("networking.istio.io", "v1", "VirtualService");
    let api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "virtualservices"),
    );
    api.list(&Default::default()).await.is_ok()
}

fn service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "reviews", "namespace": "default"},
        "spec": {"selector": {"app": "reviews"}, "ports": [{"name": "http", "port": 9080}]},
    })
}

fn endpoint_slice() -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "reviews-v1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "reviews"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true}}],
        "ports": [{"name": "http", "port": 9080, "protocol": "TCP"}],
    })
}

fn invalid_virtual_service() -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "broken", "namespace": "default"},
        "spec": {"hosts": [], "http": [{"route": [{"destination": {"host": ""}}]}]},
    })
}

/// Starts discovery on the cluster; returns the process and its xDS and debug addresses.
pub(crate) fn start_discovery(
    kubeconfig: &str,
) -> (Running, String, String, mpsc::Receiver<String>) {
    let mut child = ferryctl()
        .args(["discovery", "--kubeconfig", kubeconfig])
        .args([
            "--grpcAddr",
            "127.0.0.1:0",
            "--monitoringAddr",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferryctl discovery starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let running = Running(child);
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[discovery] {line}");
            // Keep draining after the test stops listening, so the child never blocks.
            let _ = lines_tx.send(line);
        }
    });
    let (grpc, debug) = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("discovery prints its addresses");
        if let Some(rest) = line.strip_prefix("ferryctl discovery: xDS (ADS) on ") {
            let (grpc, debug) = rest.split_once(", debug on ").expect("both addresses");
            break (grpc.to_string(), debug.to_string());
        }
    };
    (running, grpc, debug, lines_rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn discovery_watches_a_real_api_server() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;

    // On a fresh cluster, start before the CRDs exist: the missing kinds are logged, the
    // rest is served, and the CRDs are picked up once installed.
    let crds_guard = CRDS.lock().await;
    let fresh = !crds_installed(&client).await;
    let early = fresh.then(|| start_discovery(&kubeconfig));
    if let Some((_, _, debug, lines)) = &early {
        eventually(Duration::from_secs(30), "ready without the CRDs", || {
            get(debug, "/ready").0 == 200
        });
        let missing = lines
            .try_iter()
            .chain(lines.recv_timeout(Duration::from_secs(5)))
            .any(|l| l.contains("is the CRD installed?"));
        assert!(missing, "a missing CRD is reported");
    }

    install_crds(&client).await;
    drop(crds_guard);
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "default", "labels": {"istio-injection": "enabled"}}}),
        "namespaces",
    )
    .await;
    apply(&client, &service(), "services").await;
    apply(&client, &endpoint_slice(), "endpointslices").await;
    let seed = seed_objects();
    for object in &seed {
        apply(&client, object, plural_of(object)).await;
    }
    // A rerun against the same cluster starts without the broken object.
    let broken = invalid_virtual_service();
    let _ = api(&client, &broken, "virtualservices")
        .delete("broken", &DeleteParams::default())
        .await;

    let started = Instant::now();
    let (running, grpc, debug, _lines) = match early {
        Some(early) => early,
        None => start_discovery(&kubeconfig),
    };
    let node = Node {
        id: "sidecar~127.0.0.1~productpage-1.default~default.svc.cluster.local".into(),
        metadata: Some(json_to_struct(
            json!({"LABELS": {"app": "productpage"}})
                .as_object()
                .expect("object"),
        )),
        ..Node::default()
    };
    let clusters = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = clusters.clone();
    let handle = client::spawn(
        ClientConfig::new(format!("http://{grpc}"), node),
        move |update: &Update| {
            if update.type_url == TypeUrl::Cluster {
                let mut seen = seen.lock().expect("lock");
                seen.clear();
                for r in &update.resources {
                    if let TypedResource::Cluster(c) = r {
                        seen.insert(c.name.clone());
                    }
                }
            }
            Ok(())
        },
    )
    .expect("client starts");

    let want = "outbound|9080|v1|reviews.default.svc.cluster.local";
    // A CRD installed after start is picked up within the watch retry backoff (at most 5 s).
    eventually(Duration::from_secs(30), "the reviews v1 cluster", || {
        clusters.lock().expect("lock").contains(want)
    });
    eprintln!(
        "served from the cluster {:?} after start",
        started.elapsed()
    );
    let (_, registry) = get(&debug, "/debug/registryz");
    assert!(registry.contains("10.244.0.5"), "{registry}");
    eventually(Duration::from_secs(10), "RDS acked", || {
        handle
            .state()
            .acked_version(TypeUrl::RouteConfiguration)
            .is_some()
    });
    let rds_before = handle
        .state()
        .acked_version(TypeUrl::RouteConfiguration)
        .map(str::to_string);

    // New weights through the API are pushed as a new route version within 2 s.
    let mut routing = seed
        .iter()
        .find(|o| o["kind"] == "VirtualService")
        .expect("the seed's VirtualService")
        .clone();
    assert_eq!(
        routing["spec"]["http"][1]["route"][0]["weight"], 90,
        "{routing}"
    );
    let route = &mut routing["spec"]["http"][1]["route"];
    route[0]["weight"] = json!(75);
    route[1]["weight"] = json!(25);
    apply(&client, &routing, "virtualservices").await;
    eventually(Duration::from_secs(2), "a new route version", || {
        handle
            .state()
            .acked_version(TypeUrl::RouteConfiguration)
            .map(str::to_string)
            != rds_before
    });

    // An invalid object is rejected alone; the rest keeps serving.
    apply(&client, &broken, "virtualservices").await;
    eventually(
        Duration::from_secs(5),
        "the rejected object in configz",
        || {
            let (_, body) = get(&debug, "/debug/configz");
            let configz: Value = serde_json::from_str(&body).expect("configz is JSON");
            configz["rejected"].as_array().is_some_and(|r| {
                r.iter().any(|o| {
                    o["name"] == "broken"
                        && o["source"]
                            .as_str()
                            .is_some_and(|s| s.starts_with("/apis/networking.istio.io/"))
                })
            })
        },
    );
    assert_eq!(get(&debug, "/ready").0, 200);
    assert!(clusters.lock().expect("lock").contains(want));

    handle.stop().await;
    let _ = api(&client, &broken, "virtualservices")
        .delete("broken", &DeleteParams::default())
        .await;
    drop(running);
}

#[test]
fn one_config_source_at_a_time() {
    let out = ferryctl()
        .args([
            "discovery",
            "--config-dir",
            "fixtures/seed",
            "--kubeconfig",
            "x",
        ])
        .output()
        .expect("ferryctl runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("choose one config source"), "{stderr}");
}

#[test]
fn an_unreadable_kubeconfig_is_reported_not_a_crash() {
    let out = ferryctl()
        .args(["discovery", "--kubeconfig", "/nonexistent/kubeconfig"])
        .args([
            "--grpcAddr",
            "127.0.0.1:0",
            "--monitoringAddr",
            "127.0.0.1:0",
        ])
        .output()
        .expect("ferryctl runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kubeconfig /nonexistent/kubeconfig"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
