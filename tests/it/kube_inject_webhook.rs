//! Sidecar injection through a real kube-apiserver: `ferryctl discovery` serves the webhook,
//! a MutatingWebhookConfiguration with the selectors `manifest generate` renders points the API
//! server at it, and Pods created through the API server come back injected, or not, as
//! Istio's namespace labels and pod opt-outs say. No controllers are needed: a Pod created
//! directly goes through admission all the same. `kube-inject` without config files reads the
//! same ConfigMaps from the cluster.

use std::time::Duration;

use ::kube::Client;
use ::kube::api::{Api, DeleteParams, PostParams};
use base64::Engine as _;
use ferry::config::yaml::{Limits, parse_stream};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, apply, client, kubeconfig};
use crate::webhook::{ServingCert, serving_cert, start_with_webhook};

/// The Istio namespace of this test: its own, so the install tests' purges leave it alone.
const ISTIO_NS: &str = "inject-e2e-system";
/// The MutatingWebhookConfiguration this test registers (not the installs' name).
const WEBHOOK_CONFIG: &str = "inject-e2e-sidecar-injector";

/// The default revision's rendered objects.
fn rendered() -> Vec<Value> {
    let out = ferryctl()
        .args(["manifest", "generate"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stream = parse_stream(&String::from_utf8_lossy(&out.stdout), Limits::default());
    stream.documents.iter().map(|d| d.root.to_json()).collect()
}

fn find(objects: &[Value], kind: &str, name: &str) -> Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

/// The rendered injector webhook configuration, its webhooks sent to `url` and trusting `ca`.
fn webhook_config(objects: &[Value], url: &str, ca: &[u8]) -> Value {
    let mut config = find(
        objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector",
    );
    config["metadata"] = json!({"name": WEBHOOK_CONFIG});
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca);
    for hook in config["webhooks"].as_array_mut().expect("webhooks") {
        hook["clientConfig"] = json!({"url": url, "caBundle": bundle});
        hook["timeoutSeconds"] = json!(10);
    }
    config
}

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

/// Without kube-controller-manager nobody creates a namespace's `default` ServiceAccount, and
/// the ServiceAccount admission plugin refuses pods without it.
fn service_account(ns: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": "default", "namespace": ns}})
}

fn pod(name: &str, labels: Value, annotations: Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1",
                                 "ports": [{"containerPort": 8080}]}]},
    }))
    .expect("a Pod")
}

/// Creates `pod` in `ns` (after removing one left by an earlier run) and returns what the API
/// server stored.
async fn create(client: &Client, ns: &str, pod: Pod) -> Pod {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let name = pod.metadata.name.clone().expect("named");
    // An unscheduled pod is deleted at once, without a kubelet.
    let _ = api
        .delete(&name, &DeleteParams::default().grace_period(0))
        .await;
    for _ in 0..100 {
        if api.get_opt(&name).await.expect("get").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.create(&PostParams::default(), &pod)
        .await
        .unwrap_or_else(|e| panic!("creating {ns}/{name}: {e}"))
}

/// Deletes the webhook configuration however the test ends: left behind, it would send pods
/// in every `istio-injection=enabled` namespace to a webhook that is gone. (Its own runtime and
/// client: it may run while the test's runtime unwinds.)
struct Registered(String);

impl Drop for Registered {
    fn drop(&mut self) {
        let kubeconfig = self.0.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let hooks: Api<MutatingWebhookConfiguration> = Api::all(client(&kubeconfig).await);
                let _ = hooks.delete(WEBHOOK_CONFIG, &DeleteParams::default()).await;
            });
        })
        .join();
    }
}

fn containers(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .map(|c| c.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn pods_created_through_the_api_server_are_injected_as_istio_selects_them() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // A webhook configuration is cluster-wide: while it is registered, pods in any namespace
    // labelled `istio-injection=enabled` come here.
    let _cluster = CRDS.lock().await;

    let objects = rendered();
    apply(&client, &namespace(ISTIO_NS, json!({})), "namespaces").await;
    for name in ["istio-sidecar-injector", "istio"] {
        let mut cm = find(&objects, "ConfigMap", name);
        cm["metadata"]["namespace"] = json!(ISTIO_NS);
        apply(&client, &cm, "configmaps").await;
    }
    let spaces = [
        ("inject-e2e-enabled", json!({"istio-injection": "enabled"})),
        ("inject-e2e-rev", json!({"istio.io/rev": "default"})),
        ("inject-e2e-plain", json!({})),
    ];
    for (ns, labels) in &spaces {
        apply(&client, &namespace(ns, labels.clone()), "namespaces").await;
        apply(&client, &service_account(ns), "serviceaccounts").await;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let ServingCert { ca, cert, key } = serving_cert(dir.path());
    let path = |p: &std::path::Path| p.display().to_string();
    let (running, addr, lines) = start_with_webhook(&[
        "--kubeconfig".into(),
        kubeconfig.clone(),
        "-i".into(),
        ISTIO_NS.into(),
        "--tlsCertFile".into(),
        path(&cert),
        "--tlsKeyFile".into(),
        path(&key),
    ]);
    let wanted =
        format!("ferryctl discovery: injecting with configmap {ISTIO_NS}/istio-sidecar-injector");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("discovery reads the injector ConfigMap");
        if line == wanted {
            break;
        }
    }

    let ca_pem = std::fs::read(&ca).expect("CA");
    let config = webhook_config(&objects, &format!("https://{addr}/inject"), &ca_pem);
    let names: Vec<&str> = config["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .filter_map(|w| w["name"].as_str())
        .collect();
    assert!(
        names.contains(&"namespace.sidecar-injector.istio.io")
            && names.contains(&"rev.namespace.sidecar-injector.istio.io"),
        "{names:?}"
    );
    let registered = Registered(kubeconfig.clone());
    apply(&client, &config, "mutatingwebhookconfigurations").await;
    // The API server picks a new webhook configuration up from a watch: until it has, pods
    // are admitted without it. A dry run goes through the webhooks and stores nothing.
    let probe: Api<Pod> = Api::namespaced(client.clone(), "inject-e2e-enabled");
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let start = std::time::Instant::now();
    loop {
        let seen = probe
            .create(&dry_run, &pod("probe", json!({}), json!({})))
            .await
            .expect("a dry-run create");
        if containers(&seen).iter().any(|c| c == "istio-proxy") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the webhook is never called"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let app = || json!({"app": "web", "version": "v1"});
    let enabled = create(&client, "inject-e2e-enabled", pod("web", app(), json!({}))).await;
    let by_rev = create(&client, "inject-e2e-rev", pod("web", app(), json!({}))).await;
    let plain = create(&client, "inject-e2e-plain", pod("web", app(), json!({}))).await;
    let opted_out = create(
        &client,
        "inject-e2e-enabled",
        pod(
            "opted-out",
            app(),
            json!({"sidecar.istio.io/inject": "false"}),
        ),
    )
    .await;
    // The default revision's object selector: a pod that asks, in an unlabelled namespace.
    let asks = create(
        &client,
        "inject-e2e-plain",
        pod(
            "asks",
            json!({"app": "web", "sidecar.istio.io/inject": "true"}),
            json!({}),
        ),
    )
    .await;

    drop(registered);

    assert_eq!(
        containers(&enabled),
        ["app", "istio-proxy"],
        "istio-injection=enabled"
    );
    assert_eq!(
        containers(&by_rev),
        ["app", "istio-proxy"],
        "istio.io/rev=default"
    );
    assert_eq!(containers(&plain), ["app"], "an unlabelled namespace");
    assert_eq!(
        containers(&opted_out),
        ["app"],
        "sidecar.istio.io/inject: \"false\""
    );
    assert_eq!(
        containers(&asks),
        ["app", "istio-proxy"],
        "sidecar.istio.io/inject=true"
    );

    let meta = &enabled.metadata;
    let labels = meta.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("security.istio.io/tlsMode").map(String::as_str),
        Some("istio")
    );
    assert_eq!(
        labels
            .get("service.istio.io/canonical-name")
            .map(String::as_str),
        Some("web")
    );
    assert_eq!(
        labels.get("istio.io/rev").map(String::as_str),
        Some("default")
    );
    let status = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get("sidecar.istio.io/status"))
        .expect("the status annotation");
    assert!(
        status.contains(r#""containers":["istio-proxy"]"#),
        "{status}"
    );
    let proxy = enabled
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == "istio-proxy"))
        .expect("the proxy");
    let args = proxy.args.clone().unwrap_or_default();
    assert_eq!(args[..3], ["proxy", "sidecar", "--discovery-address"]);
    let env: Vec<(String, Option<String>)> = proxy
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    assert!(env.iter().any(|(n, _)| n == "POD_NAME"), "{env:?}");
    assert!(
        env.contains(&(
            "ISTIO_META_OWNER".into(),
            Some("kubernetes://apis/v1/namespaces/inject-e2e-enabled/pods/web".into())
        )),
        "{env:?}"
    );

    // kube-inject without config files reads the same ConfigMaps from the cluster.
    let out = ferryctl()
        .args([
            "kube-inject",
            "-f",
            "fixtures/samples/bookinfo/reviews.yaml",
        ])
        .args(["--kubeconfig", &kubeconfig, "-i", ISTIO_NS])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("- name: istio-proxy").count(), 3, "{stdout}");

    for (ns, name) in [
        ("inject-e2e-enabled", "web"),
        ("inject-e2e-enabled", "opted-out"),
        ("inject-e2e-rev", "web"),
        ("inject-e2e-plain", "web"),
        ("inject-e2e-plain", "asks"),
    ] {
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        let _ = api
            .delete(name, &DeleteParams::default().grace_period(0))
            .await;
    }
    drop(running);
}
