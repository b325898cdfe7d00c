//! Reaching proxies and control planes in a cluster (`tests/k8s/cluster.sh`): a `ferryctl
//! discovery` on 127.0.0.1 watching the test cluster, a `ferryctl proxy` registered against it as
//! a pod of the cluster, and the CLI reaching both the way it reaches them in a real cluster.
//!
//! Pods of the test cluster run no containers: kwok's kubelet server answers the API server's
//! port-forward by dialing what a kwok `PortForward` object names, here the local proxy's admin
//! port and the local control plane's debug port. So `proxy-config`, `proxy-status`, `version`
//! and `admin log` go through the real `pods/portforward` of a real kube-apiserver; and
//! `--xds-address` asks the control plane directly while the proxy is still reached through the
//! cluster.

use std::process::Output;
use std::time::{Duration, Instant};

use ::kube::Client;
use ::kube::api::{Api, ListParams};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, apply, client, kubeconfig, start_discovery};
use crate::mesh::{Process, admin_get, admin_request};

/// The proxies' namespace.
const NS: &str = "kreach";
/// The namespace of the fake istiod pod (`-i`), not istio-system: the install tests own that.
const ISTIO_NS: &str = "kreach-istio";
/// A namespace where nothing is forwarded, for the error paths.
const BARE_NS: &str = "kreach-bare";
/// A namespace with an istiod pod whose ports lead nowhere.
const SILENT_NS: &str = "kreach-silent";
const SIDECAR: &str = "kreach-sidecar";
const ISTIOD: &str = "istiod-kreach";

/// `ferryctl <args>` against the test cluster, off the async runtime.
async fn ferry(kubeconfig: &str, args: &[&str]) -> Output {
    let mut cmd = ferryctl();
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
        .await
        .expect("ferryctl finishes");
    eprintln!(
        "ferryctl {args:?}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `args` until its stdout satisfies `check` (what it waits on is pushed or watched
/// asynchronously: a proxy's config, kwok's view of a PortForward); the last run's stdout.
async fn ferry_until(
    kubeconfig: &str,
    args: &[&str],
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let out = ferry(kubeconfig, args).await;
        let text = stdout(&out);
        if out.status.success() && check(&text) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}: {}",
            stderr(&out)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn namespace(client: &Client, name: &str) {
    let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    apply(client, &object, "namespaces").await;
}

/// A pod with `labels` that kwok runs on its fake node (Running and Ready, no container).
async fn pod(client: &Client, namespace: &str, name: &str, labels: Value) {
    let object = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "istio-proxy", "image": "none"}]},
    });
    apply(client, &object, "pods").await;
}

/// Waits until `namespace/name` runs; returns it.
async fn running(client: &Client, namespace: &str, name: &str) -> Pod {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let start = Instant::now();
    loop {
        if let Ok(pod) = api.get(name).await
            && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        {
            return pod;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "pod {namespace}/{name} does not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// kwok's PortForward for pod `namespace/name`: its `port` is `address` on this machine.
async fn forward(client: &Client, namespace: &str, name: &str, port: u16, address: &str) {
    let (host, target) = address.rsplit_once(':').expect("host:port");
    let target: u16 = target.parse().expect("a port");
    let object = json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "PortForward",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"forwards": [{"ports": [port], "target": {"address": host, "port": target}}]},
    });
    apply(client, &object, "portforwards").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_reach_proxies_and_control_planes_through_port_forward() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Pods labelled app=istiod and proxies serving the whole cluster: nothing else may analyze
    // or purge the cluster meanwhile.
    let _cluster = CRDS.lock().await;
    for ns in [NS, ISTIO_NS] {
        namespace(&client, ns).await;
    }
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kreach-svc", "namespace": NS},
                "spec": {"selector": {"app": "kreach"}, "ports": [{"name": "http", "port": 9080}]}}),
        "services",
    )
    .await;
    pod(&client, NS, SIDECAR, json!({"app": "kreach"})).await;
    running(&client, NS, SIDECAR).await;

    // The control plane outside the cluster, watching it; the proxy registered as the pod.
    let (_discovery, grpc, debug, _lines) = start_discovery(&kubeconfig);
    let proxy = Process::start(&[
        "proxy",
        "sidecar",
        "--discovery-address",
        &grpc,
        "--admin-address",
        "127.0.0.1:0",
        "--pod-name",
        SIDECAR,
        "--pod-namespace",
        NS,
        "--labels",
        "app=kreach",
    ]);
    let admin = proxy.line("ferryctl proxy: admin on ");
    let admin = admin.split(',').next().expect("admin address").to_string();
    let id = format!("{SIDECAR}.{NS}");

    // --xds-address: the control plane answers over ADS, no Kubernetes in between.
    let table = ferry_until(
        &kubeconfig,
        &["proxy-status", "--xds-address", &grpc],
        "the proxy in the table",
        |t| t.lines().any(|l| l.starts_with(&format!("{id} "))),
    )
    .await;
    assert!(table.starts_with("NAME "), "{table}");

    // The proxy's own config through a real port-forward: kwok forwards the pod's 15000 to the
    // proxy's admin port.
    forward(&client, NS, SIDECAR, 15000, &admin).await;
    let diff = ferry_until(
        &kubeconfig,
        &["proxy-status", "--xds-address", &grpc, &id],
        "a matching diff over ADS and port-forward",
        |t| t.starts_with("Clusters Match\nListeners Match\nRoutes Match"),
    )
    .await;
    assert!(diff.contains("Routes Match"), "{diff}");

    // proxy-config reads the same dump through the forward as from the admin API directly.
    let fqdn = format!("kreach-svc.{NS}.svc.cluster.local");
    // The control plane serves ADS before its first sync from the cluster is done, so the diff
    // above can match an earlier config: wait for the proxy to hold the service's cluster.
    let mut dump = String::new();
    crate::eventually(
        Duration::from_secs(30),
        "the service's cluster in the proxy's config",
        || {
            let (code, body) = admin_get(&admin, "/config_dump");
            dump = body;
            code == 200 && dump.contains(&fqdn)
        },
    );
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), dump).expect("dump written");
    let path = file.path().to_str().expect("utf-8 path");
    let from_file = ferry(
        &kubeconfig,
        &["pc", "cluster", "--file", path, "--fqdn", &fqdn],
    )
    .await;
    assert!(stdout(&from_file).contains(&fqdn), "{}", stdout(&from_file));
    let live = ferry(&kubeconfig, &["pc", "cluster", &id, "--fqdn", &fqdn]).await;
    assert!(live.status.success(), "{}", stderr(&live));
    assert_eq!(stdout(&live), stdout(&from_file));
    // `-n` names the namespace as well as `.<namespace>` does.
    let by_flag = ferry(
        &kubeconfig,
        &["pc", "cluster", SIDECAR, "-n", NS, "--fqdn", &fqdn],
    )
    .await;
    assert_eq!(stdout(&by_flag), stdout(&from_file));

    // A deployment's pod: kwok forwards its 15000 to the same proxy.
    apply(
        &client,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "kreach-gw", "namespace": NS},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "kreach-gw"}},
                         "template": {"metadata": {"labels": {"app": "kreach-gw"}},
                                      "spec": {"containers": [{"name": "istio-proxy", "image": "none"}]}}}}),
        "deployments",
    )
    .await;
    let gw_pod = loop {
        let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
        let listed = pods
            .list(&ListParams::default().labels("app=kreach-gw"))
            .await
            .expect("pods listed");
        if let Some(name) = listed.items.first().and_then(|p| p.metadata.name.clone()) {
            break name;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    running(&client, NS, &gw_pod).await;
    forward(&client, NS, &gw_pod, 15000, &admin).await;
    let by_deployment = ferry_until(
        &kubeconfig,
        &[
            "pc",
            "cluster",
            &format!("deployment/kreach-gw.{NS}"),
            "--fqdn",
            &fqdn,
        ],
        "the deployment's pod forwarded",
        |t| t.contains(&fqdn),
    )
    .await;
    assert_eq!(by_deployment, stdout(&from_file));

    // Log levels through the forward: the named pod, then by label selector.
    let out = ferry(&kubeconfig, &["pc", "log", &id, "--level", "http:debug"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("{id}:\nactive loggers:\n")),
        "{text}"
    );
    assert!(text.contains("\n  http: debug\n"), "{text}");
    let (_, loggers) = admin_request(&admin, "POST", "/logging");
    assert!(loggers.contains("\n  http: debug\n"), "{loggers}");
    let out = ferry(
        &kubeconfig,
        &["pc", "log", "-l", "app=kreach", "-n", NS, "--reset"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("{id}:\n")),
        "{}",
        stdout(&out)
    );
    let (_, loggers) = admin_request(&admin, "POST", "/logging");
    assert!(loggers.contains("\n  http: warning\n"), "{loggers}");

    // The control plane as an istiod pod of the cluster: kwok forwards its monitoring port to
    // the local control plane's debug port.
    pod(
        &client,
        ISTIO_NS,
        ISTIOD,
        json!({"app": "istiod", "istio": "pilot", "istio.io/rev": "default"}),
    )
    .await;
    running(&client, ISTIO_NS, ISTIOD).await;
    forward(&client, ISTIO_NS, ISTIOD, 15014, &debug).await;
    let table = ferry_until(
        &kubeconfig,
        &["proxy-status", "-i", ISTIO_NS],
        "the table through the istiod pod",
        |t| t.lines().any(|l| l.starts_with(&format!("{id} "))),
    )
    .await;
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with(&format!("{id} ")))
        .expect("the proxy's row")
        .split_whitespace()
        .collect();
    assert_eq!(row[..3], [id.as_str(), "Kubernetes", ISTIOD], "{table}");
    let diff = ferry_until(
        &kubeconfig,
        &["proxy-status", "-i", ISTIO_NS, &id],
        "a matching diff through both forwards",
        |t| t.starts_with("Clusters Match\nListeners Match\nRoutes Match"),
    )
    .await;
    assert!(diff.contains("Routes Match"), "{diff}");
    let out = ferry(
        &kubeconfig,
        &["proxy-status", "-i", ISTIO_NS, "-r", "canary"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("Error: no running Istio pods in \"{ISTIO_NS}\"\n")
    );

    let v = env!("CARGO_PKG_VERSION");
    let version = ferry(&kubeconfig, &["version", "-i", ISTIO_NS]).await;
    assert_eq!(
        stdout(&version),
        format!(
            "client version: {v}\ncontrol plane version: {v}\ndata plane version: {v} (1 proxy)\n"
        ),
        "{}",
        stderr(&version)
    );

    // ControlZ through the forward: read, change one scope, read it back by the pod's name.
    let out = ferry(&kubeconfig, &["admin", "log", "-i", ISTIO_NS]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("ACTIVE SCOPE   DESCRIPTION"),
        "{}",
        stdout(&out)
    );
    let out = ferry(
        &kubeconfig,
        &["admin", "log", "-i", ISTIO_NS, "--level", "ads:debug"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ferry(
        &kubeconfig,
        &["admin", "log", ISTIOD, "-i", ISTIO_NS, "-o", "json"],
    )
    .await;
    let scopes: Value = serde_json::from_slice(&out.stdout).expect("admin log -o json is JSON");
    let ads = scopes
        .as_array()
        .and_then(|s| s.iter().find(|s| s["scope_name"] == "ads"))
        .expect("the ads scope");
    assert_eq!(ads["log_level"], "debug", "{scopes:#}");
    let out = ferry(&kubeconfig, &["admin", "log", "-i", ISTIO_NS, "--reset"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_reach_errors_say_what_is_missing() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    namespace(&client, BARE_NS).await;
    let fails = |out: &Output, want: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
        assert_eq!(stderr(out), format!("Error: {want}\n"));
        assert_eq!(stdout(out), "");
    };

    // Names that lead to no pod, in istioctl's words.
    let out = ferry(&kubeconfig, &["pc", "cluster", "nope", "-n", BARE_NS]).await;
    fails(&out, "unable to retrieve Pod: pods \"nope\" not found");
    let out = ferry(
        &kubeconfig,
        &["pc", "listener", &format!("deployment/nope.{BARE_NS}")],
    )
    .await;
    fails(
        &out,
        &format!(
            "failed retrieving: deployments.apps \"nope\" not found in the \"{BARE_NS}\" namespace"
        ),
    );
    let out = ferry(
        &kubeconfig,
        &["pc", "route", &format!("widget/x.{BARE_NS}")],
    )
    .await;
    fails(
        &out,
        &format!(
            "failed retrieving: the server doesn't have a resource type \"widget\" in the \
             \"{BARE_NS}\" namespace"
        ),
    );
    apply(
        &client,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "idle", "namespace": BARE_NS},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "idle"}},
                         "template": {"metadata": {"labels": {"app": "idle"}},
                                      "spec": {"containers": [{"name": "c", "image": "none"}]}}}}),
        "deployments",
    )
    .await;
    let out = ferry(
        &kubeconfig,
        &["pc", "cluster", &format!("deploy/idle.{BARE_NS}")],
    )
    .await;
    fails(&out, "\"deploy/idle\" does not refer to a pod");
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "external", "namespace": BARE_NS},
                "spec": {"ports": [{"name": "http", "port": 80}]}}),
        "services",
    )
    .await;
    let out = ferry(
        &kubeconfig,
        &["pc", "cluster", &format!("svc/external.{BARE_NS}")],
    )
    .await;
    fails(
        &out,
        "\"svc/external\" does not refer to a pod: invalid service 'external': Service is \
         defined without a selector",
    );

    // A pod no node runs: the API server refuses the port-forward.
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "unscheduled", "namespace": BARE_NS},
                "spec": {"nodeSelector": {"kreach": "nowhere"},
                         "containers": [{"name": "c", "image": "none"}]}}),
        "pods",
    )
    .await;
    let out = ferry(
        &kubeconfig,
        &["pc", "cluster", &format!("unscheduled.{BARE_NS}")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.starts_with(&format!(
            "Error: failed to execute command on unscheduled.{BARE_NS} sidecar: port-forward to \
             pod unscheduled.{BARE_NS} port 15000: "
        )),
        "{text}"
    );
    assert!(text.contains("does not have a host assigned"), "{text}");

    // A running pod with nothing behind its port: kwok's kubelet says so on the port's error
    // channel, and that is what the error tells.
    pod(&client, BARE_NS, "lonely", json!({"app": "lonely"})).await;
    running(&client, BARE_NS, "lonely").await;
    let out = ferry(
        &kubeconfig,
        &["pc", "cluster", &format!("lonely.{BARE_NS}")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.starts_with(&format!(
            "Error: failed to execute command on lonely.{BARE_NS} sidecar: port-forward failed: "
        )),
        "{text}"
    );
    assert!(text.contains("no forward found for port 15000"), "{text}");
    let out = ferry(&kubeconfig, &["pc", "log", "-l", "app=none", "-n", BARE_NS]).await;
    fails(&out, "no pods found");

    // No control plane in the namespace.
    let out = ferry(&kubeconfig, &["proxy-status", "-i", BARE_NS]).await;
    fails(&out, &format!("no running Istio pods in \"{BARE_NS}\""));
    let out = ferry(&kubeconfig, &["version", "-i", BARE_NS]).await;
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("client version: {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        stderr(&out),
        format!(
            "Istio is not present in the cluster: no running Istio pods in namespace \"{BARE_NS}\"\n"
        )
    );
    let out = ferry(&kubeconfig, &["admin", "log", "-i", BARE_NS]).await;
    fails(&out, "no pods found");
    // An istiod pod whose monitoring port leads nowhere.
    namespace(&client, SILENT_NS).await;
    pod(
        &client,
        SILENT_NS,
        "istiod-silent",
        json!({"app": "istiod", "istio.io/rev": "default"}),
    )
    .await;
    running(&client, SILENT_NS, "istiod-silent").await;
    let out = ferry(&kubeconfig, &["proxy-status", "-i", SILENT_NS]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("asking control plane pod istiod-silent: port-forward failed: ")
            && text.contains("no forward found for port 15014"),
        "{text}"
    );
}
