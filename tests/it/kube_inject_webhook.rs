//! Sidecar injection through a real kube-apiserver: `ferryctl discovery` serves the webhook,
//! a MutatingWebhookConfiguration with the selectors `manifest generate` renders points the API
//! server at it, and Pods created through the API server come back injected, or not, as
//! Istio's namespace labels and pod opt-outs say, with Istio's per-pod rewrites (probes,
//! resources, ProxyConfig, traffic capture) or refused for annotations Istio refuses. No
//! controllers are needed: a Pod created directly goes through admission all the same.
//! `kube-inject` without config files reads the same ConfigMaps from the cluster.

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
    rendered_with(&[])
}

/// What `manifest generate` renders with `args`.
pub(crate) fn rendered_with(args: &[&str]) -> Vec<Value> {
    let out = ferryctl()
        .args(["manifest", "generate"])
        .args(args)
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

pub(crate) fn find(objects: &[Value], kind: &str, name: &str) -> Value {
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

pub(crate) fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

/// Without kube-controller-manager nobody creates a namespace's `default` ServiceAccount, and
/// the ServiceAccount admission plugin refuses pods without it.
pub(crate) fn service_account(ns: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": "default", "namespace": ns}})
}

pub(crate) fn pod(name: &str, labels: Value, annotations: Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        // What the ServiceAccount admission plugin sets before webhooks run on a real cluster
        // (this one runs without it, as envtest): the injected `istio-token` volume needs it.
        "spec": {"serviceAccountName": "default",
                 "containers": [{"name": "app", "image": "registry.invalid/app:1",
                                 "ports": [{"containerPort": 8080}]}]},
    }))
    .expect("a Pod")
}

/// Creates `pod` in `ns` (after removing one left by an earlier run) and returns what the API
/// server stored.
pub(crate) async fn create(client: &Client, ns: &str, pod: Pod) -> Pod {
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

/// The injector config as an install that captures traffic has it: with Istio's `istio-init`,
/// which injection adds (with each pod's capture settings) to pods whose traffic is captured.
fn with_istio_init(cm: &mut Value) {
    let text = cm["data"]["config"].as_str().expect("config");
    let stream = parse_stream(text, Limits::default());
    let mut config = stream.documents[0].root.to_json();
    config["sidecar"]["initContainers"] = json!([{
        "name": "istio-init",
        "image": "docker.io/istio/proxyv2:1.24.0",
        "args": ["istio-iptables"],
        "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                            "runAsUser": 0, "runAsNonRoot": false},
    }]);
    // JSON is YAML: the injector reads either.
    cm["data"]["config"] = json!(config.to_string());
}

/// A pod whose probes, resources, ProxyConfig and traffic capture the injector rewrites.
fn probed_pod() -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probed", "labels": {"app": "web"}, "annotations": {
            "sidecar.istio.io/proxyCPU": "150m",
            "sidecar.istio.io/proxyMemoryLimit": "300Mi",
            "proxy.istio.io/config": "concurrency: 3\nterminationDrainDuration: 7s\n",
            "sidecar.istio.io/interceptionMode": "REDIRECT",
            "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.96.0.1/32",
            "traffic.sidecar.istio.io/excludeInboundPorts": "9901",
        }},
        // As in [`pod`]: what the ServiceAccount admission plugin would set.
        "spec": {"serviceAccountName": "default", "containers": [{
            "name": "app", "image": "registry.invalid/app:1",
            "ports": [{"containerPort": 8080, "name": "http"}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
            "livenessProbe": {"tcpSocket": {"port": 8080}},
        }]},
    }))
    .expect("a Pod")
}

/// What the API server stored of [`probed_pod`]: Istio's rewrites, with the API server's
/// defaults (probe timeout and scheme) in what the proxy got.
fn assert_probed(pod: &Pod) {
    let spec = pod.spec.as_ref().expect("spec");
    let app = &spec.containers[0];
    let readiness = to_json(app.readiness_probe.as_ref().expect("readiness"));
    assert_eq!(
        readiness["httpGet"],
        json!({"path": "/app-health/app/readyz", "port": 15020, "scheme": "HTTP"}),
        "{readiness}"
    );
    let liveness = to_json(app.liveness_probe.as_ref().expect("liveness"));
    // The scheme is the API server's: it defaults what the webhook added.
    assert_eq!(
        liveness["httpGet"],
        json!({"path": "/app-health/app/livez", "port": 15020, "scheme": "HTTP"}),
        "{liveness}"
    );
    assert!(liveness.get("tcpSocket").is_none(), "{liveness}");

    let proxy = spec
        .containers
        .iter()
        .find(|c| c.name == "istio-proxy")
        .expect("the proxy");
    let env = |name: &str| {
        proxy
            .env
            .iter()
            .flatten()
            .find(|e| e.name == name)
            .and_then(|e| e.value.clone())
    };
    assert_eq!(
        env("ISTIO_KUBE_APP_PROBERS").as_deref(),
        Some(
            r#"{"/app-health/app/livez":{"tcpSocket":{"port":8080},"timeoutSeconds":1},"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8080,"scheme":"HTTP"},"timeoutSeconds":1}}"#
        )
    );
    assert_eq!(
        env("PROXY_CONFIG").as_deref(),
        Some("{\"concurrency\":3,\"terminationDrainDuration\":\"7s\"}\n")
    );
    let args = proxy.args.clone().unwrap_or_default();
    for flag in [
        "--status-port=15020",
        "--concurrency=3",
        "--drain-time-s=7",
        "--interception-mode=REDIRECT",
    ] {
        assert!(args.iter().any(|a| a == flag), "{flag} in {args:?}");
    }
    let resources = to_json(proxy.resources.as_ref().expect("resources"));
    // The memory request is the API server's: a limit without a request defaults it.
    assert_eq!(
        resources,
        json!({"limits": {"memory": "300Mi"}, "requests": {"cpu": "150m", "memory": "300Mi"}})
    );

    let init = spec.init_containers.as_ref().expect("istio-init");
    assert_eq!(init.len(), 1);
    assert_eq!(init[0].name, "istio-init");
    assert_eq!(
        init[0].args.clone().unwrap_or_default(),
        [
            "istio-iptables",
            "-p",
            "15001",
            "-z",
            "15006",
            "-u",
            "1337",
            "-m",
            "REDIRECT",
            "-i",
            "*",
            "-x",
            "10.96.0.1/32",
            "-b",
            "*",
            "-d",
            "15090,15021,9901,15020",
            "--log_output_level=default:info",
        ]
    );
}

/// k8s-openapi's types as JSON, to compare them with what Istio writes.
fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serialises")
}

pub(crate) fn containers(pod: &Pod) -> Vec<String> {
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
        if name == "istio-sidecar-injector" {
            with_istio_init(&mut cm);
        }
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

    let probed = create(&client, "inject-e2e-enabled", probed_pod()).await;
    // Istio refuses a pod whose annotations it cannot honour, with the reason.
    let mut refused = pod("refused", app(), json!({}));
    refused.metadata.annotations = Some(
        [(
            "traffic.sidecar.istio.io/excludeOutboundIPRanges".to_string(),
            "10.0.0.0".to_string(),
        )]
        .into(),
    );
    let refusal = Api::<Pod>::namespaced(client.clone(), "inject-e2e-enabled")
        .create(&PostParams::default(), &refused)
        .await
        .expect_err("refused by the webhook");

    drop(registered);

    assert_probed(&probed);
    let refusal = refusal.to_string();
    assert!(
        refusal.contains(
            "injection failed: invalid value '10.0.0.0' for annotation \
             'traffic.sidecar.istio.io/excludeOutboundIPRanges': excludeIPRanges invalid: failed \
             parsing cidr '10.0.0.0': netip.ParsePrefix(\"10.0.0.0\"): no '/'"
        ),
        "{refusal}"
    );
    // The pods of the default interception mode get no istio-init.
    assert!(
        enabled
            .spec
            .as_ref()
            .is_some_and(|s| s.init_containers.is_none()),
        "NONE: no iptables"
    );

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
        ("inject-e2e-enabled", "probed"),
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
