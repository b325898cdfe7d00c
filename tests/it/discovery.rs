//! `ferryctl discovery` end to end: a real process, a real ADS client, the debug endpoints and
//! a config edit pushed while connected.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::Node;
use ferry::xds::client::{self, ClientConfig, Update};
use ferry::xds::node::json_to_struct;
use ferry::xds::types::{TypeUrl, TypedResource};

use crate::{eventually, ferryctl};

/// Kills the control plane however the test ends.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: default
spec:
  selector:
    app: reviews
  ports:
  - name: http
    port: 9080
";

const INVALID: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: broken
  namespace: default
spec:
  hosts: []
  http:
  - route:
    - destination:
        host: ''
";

/// Polls `check` until it holds or `limit` passes.
pub(crate) fn get(addr: &str, path: &str) -> (u16, String) {
    crate::mesh::http_request(addr, "GET", "x", path).expect("the debug port answers")
}

/// The value of one sample (`name{labels}` exactly as exposed) in Prometheus text, if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

fn copy_seed(dir: &Path) {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed");
    for f in [
        "reviews-routing.yaml",
        "reviews-deployments-destinationrule.yaml",
    ] {
        std::fs::copy(seed.join(f), dir.join(f)).expect("seed copied");
    }
    std::fs::write(dir.join("service.yaml"), SERVICE).expect("service written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_pushes_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_seed(dir.path());
    let mut child = ferryctl()
        .args(["discovery", "--config-dir"])
        .arg(dir.path())
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
    let mut running = Running(child);
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                // Keep draining so the child never blocks on a full pipe.
                continue;
            }
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

    assert_eq!(get(&debug, "/ready").0, 200);
    assert_eq!(get(&debug, "/nope").0, 404);
    let (code, version) = get(&debug, "/version");
    assert_eq!(code, 200);
    assert!(version.contains("clientVersion"), "{version}");

    let node = Node {
        id: "sidecar~127.0.0.1~productpage-1.default~default.svc.cluster.local".into(),
        metadata: Some(json_to_struct(
            serde_json::json!({"LABELS": {"app": "productpage"}})
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
    eventually(Duration::from_secs(10), "the reviews v1 cluster", || {
        clusters.lock().expect("lock").contains(want)
    });
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

    let (code, metrics) = get(&debug, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("# TYPE pilot_xds_pushes counter\n"),
        "{metrics}"
    );
    assert_eq!(sample(&metrics, "pilot_xds{version=\"\"}"), Some(1.0));
    assert!(sample(&metrics, "pilot_xds_pushes{type=\"cds\"}") >= Some(1.0));
    assert_eq!(
        sample(&metrics, "pilot_xds_pushes{type=\"rds\"}"),
        Some(1.0)
    );
    assert!(sample(&metrics, "pilot_services") >= Some(1.0));
    assert!(sample(&metrics, "pilot_virt_services") >= Some(1.0));
    assert!(sample(&metrics, "process_resident_memory_bytes") > Some(0.0));

    eventually(Duration::from_secs(5), "syncz with acked nonces", || {
        let (_, body) = get(&debug, "/debug/syncz");
        body.contains("productpage-1.default") && body.contains("acked")
    });
    config_dump_for_connected_proxy(&debug, want);
    let (_, registry) = get(&debug, "/debug/registryz");
    assert!(
        registry.contains("reviews.default.svc.cluster.local"),
        "{registry}"
    );

    // An edit (new weights) is pushed as a new route version.
    let routing = dir.path().join("reviews-routing.yaml");
    let text = std::fs::read_to_string(&routing).expect("routing read");
    let edited = text
        .replace("weight: 90", "weight: 75")
        .replace("weight: 10", "weight: 25");
    assert_ne!(text, edited, "the seed's weights changed");
    std::fs::write(&routing, edited).expect("routing written");
    eventually(Duration::from_secs(2), "a new route version", || {
        handle
            .state()
            .acked_version(TypeUrl::RouteConfiguration)
            .map(str::to_string)
            != rds_before
    });
    // A push is counted as it is queued, so before its ACK; the convergence time is recorded
    // after the last type is queued, which may come after the ACK.
    eventually(Duration::from_secs(2), "the route push counted", || {
        let metrics = get(&debug, "/metrics").1;
        sample(&metrics, "pilot_xds_pushes{type=\"rds\"}") == Some(2.0)
            && sample(&metrics, "pilot_proxy_convergence_time_count") == Some(1.0)
    });

    // An invalid object is rejected alone; the rest keeps serving.
    std::fs::write(dir.path().join("broken.yaml"), INVALID).expect("broken written");
    eventually(
        Duration::from_secs(5),
        "the rejected object in configz",
        || {
            let (_, body) = get(&debug, "/debug/configz");
            let configz: serde_json::Value = serde_json::from_str(&body).expect("configz is JSON");
            configz["rejected"]
                .as_array()
                .is_some_and(|r| r.iter().any(|o| o["name"] == "broken"))
        },
    );
    assert_eq!(get(&debug, "/ready").0, 200);
    assert!(clusters.lock().expect("lock").contains(want));
    let metrics = get(&debug, "/metrics").1;
    assert!(
        sample(
            &metrics,
            "pilot_total_rejected_configs{type=\"virtualservice\",name=\"default/broken\"}"
        ) >= Some(1.0),
        "{metrics}"
    );

    handle.stop().await;

    // SIGTERM, as a kubelet sends: streams close and the process exits 0.
    let pid = running.0.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = running.0.try_wait().expect("child status") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "discovery did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

/// istiod's `/debug/config_dump?proxyID=`: Envoy's JSON of what the proxy is sent.
fn config_dump_for_connected_proxy(debug: &str, cluster: &str) {
    let (code, body) = get(debug, "/debug/config_dump?proxyID=productpage-1.default");
    assert_eq!(code, 200, "{body}");
    let dump: serde_json::Value = serde_json::from_str(&body).expect("config_dump is JSON");
    let configs = dump["configs"].as_array().expect("configs");
    let section = |t: &str| {
        configs
            .iter()
            .find(|c| c["@type"] == format!("type.googleapis.com/envoy.admin.v3.{t}"))
            .unwrap_or_else(|| panic!("no {t} in {body}"))
    };
    let clusters = section("ClustersConfigDump")["dynamic_active_clusters"]
        .as_array()
        .expect("dynamic clusters");
    assert!(
        clusters.iter().any(|c| c["cluster"]["name"] == cluster
            && c["cluster"]["@type"] == "type.googleapis.com/envoy.config.cluster.v3.Cluster"),
        "{body}"
    );
    assert!(section("ListenersConfigDump")["dynamic_listeners"].is_array());
    assert!(section("RoutesConfigDump")["dynamic_route_configs"].is_array());
    assert!(
        !body.contains("EndpointsConfigDump"),
        "endpoints only with include_eds"
    );

    // The full node id works too, and Envoy's query parameters apply.
    let (code, body) = get(
        debug,
        "/debug/config_dump?proxyID=sidecar~127.0.0.1~productpage-1.default~default.svc.cluster.local\
         &resource=dynamic_active_clusters&mask=cluster.name",
    );
    assert_eq!(code, 200, "{body}");
    let dump: serde_json::Value = serde_json::from_str(&body).expect("config_dump is JSON");
    assert!(
        dump["configs"]
            .as_array()
            .expect("configs")
            .iter()
            .any(|c| c["cluster"]["name"] == cluster),
        "{body}"
    );

    let (code, body) = get(debug, "/debug/config_dump?proxyID=nobody.default");
    assert_eq!(code, 404, "{body}");
    assert!(
        body.contains("Proxy not connected to this Pilot instance"),
        "{body}"
    );
    assert_eq!(get(debug, "/debug/config_dump").0, 400);
}
