//! `ferryctl analyze --use-kube` against a real kube-apiserver (`tests/k8s/cluster.sh`, run by
//! `.ci/run`): the objects of `fixtures/kube-analyze/cluster.yaml` applied to the cluster give
//! the same messages as the same file analyzed offline; files lay over the cluster; `-n`
//! scopes; and a user RBAC forbids to list Pods gets the other analyzers' messages and a "not
//! analyzed" line for the ones that need Pods.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use ferry::config::kind::{KindLookup, lookup};
use ferry::config::yaml::{Limits, parse_stream};
use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, apply, client, crds_installed, install_crds, kubeconfig};

/// The namespace every object of the fixture lives in (bar one Secret in istio-system).
const NAMESPACE: &str = "kanalyze";
const CLUSTER_YAML: &str = "fixtures/kube-analyze/cluster.yaml";
const OVERLAY_YAML: &str = "fixtures/kube-analyze/overlay.yaml";

fn objects(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .expect("fixture reads");
    let stream = parse_stream(&text, Limits::default());
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    stream.documents.iter().map(|d| d.root.to_json()).collect()
}

fn plural(object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().expect("apiVersion");
    let kind = object["kind"].as_str().expect("kind");
    match lookup(api_version, kind) {
        KindLookup::Known(k) => k.plural(),
        other => panic!("{api_version} {kind}: {other:?}"),
    }
}

/// The Istio CRDs and the fixture's objects, applied server-side (idempotent: every test of
/// this module calls it, in any order). The guard it returns is held for the whole test:
/// `analyze -A` reads the whole cluster, and the install tests (which hold the same lock)
/// create and purge webhooks and mesh config that change what the analyzers say.
async fn seed_cluster(kubeconfig: &str) -> tokio::sync::MutexGuard<'static, ()> {
    let client = client(kubeconfig).await;
    let guard = CRDS.lock().await;
    if !crds_installed(&client).await {
        install_crds(&client).await;
    }
    for object in objects(CLUSTER_YAML) {
        apply(&client, &object, &plural(&object)).await;
    }
    guard
}

fn analyze(args: &[&str]) -> Output {
    ferryctl()
        .arg("analyze")
        .args(args)
        .output()
        .expect("ferryctl runs")
}

/// The messages of a `-o json` run about objects of the fixture's namespace (the cluster is
/// shared with other tests), without their file references, as comparable strings.
fn messages_in_namespace(out: &Output) -> BTreeSet<String> {
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    all.iter()
        .filter(|m| {
            m["origin"].as_str().is_some_and(|o| {
                o.contains(&format!(" {NAMESPACE}/")) || o == format!("Namespace {NAMESPACE}")
            })
        })
        .map(|m| {
            format!(
                "{} [{}] ({}) {}",
                m["level"].as_str().unwrap_or_default(),
                m["code"].as_str().unwrap_or_default(),
                m["origin"].as_str().unwrap_or_default(),
                m["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_analyze_finds_in_the_cluster_what_it_finds_in_the_files() {
    let kubeconfig = kubeconfig();
    let _cluster = seed_cluster(&kubeconfig).await;

    let live = analyze(&["--kubeconfig", &kubeconfig, "-A", "-o", "json"]);
    let files = analyze(&["--use-kube=false", "-A", "-o", "json", CLUSTER_YAML]);
    assert_eq!(
        live.status.code(),
        files.status.code(),
        "{}",
        text(&live.stderr)
    );
    let from_cluster = messages_in_namespace(&live);
    let from_files = messages_in_namespace(&files);
    assert_eq!(from_cluster, from_files);

    let joined: Vec<&str> = from_cluster.iter().map(String::as_str).collect();
    let joined = joined.join("\n");
    for expected in [
        "[IST0103] (Pod kanalyze/reviews-v1)",
        "[IST0127] (AuthorizationPolicy kanalyze/ratings)",
        "[IST0118] (Service kanalyze/productpage)",
        "Referenced host+subset in destinationrule not found: \"reviews+v3\"",
        "Referenced credentialName not found: \"bookinfo-credential\"",
    ] {
        assert!(joined.contains(expected), "{expected} in:\n{joined}");
    }
    // The Secret in istio-system was fetched by name, so its credential resolves.
    assert!(!joined.contains("kanalyze-cert"), "{joined}");
    // Cluster objects have no file to point at.
    let raw: Vec<Value> = serde_json::from_slice(&live.stdout).expect("JSON");
    assert!(raw.iter().all(|m| m.get("reference").is_none()), "{raw:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_analyze_lays_files_over_the_cluster() {
    let kubeconfig = kubeconfig();
    let _cluster = seed_cluster(&kubeconfig).await;

    let out = analyze(&["--kubeconfig", &kubeconfig, "-A", OVERLAY_YAML]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(79), "{stdout}{}", text(&out.stderr));
    // The file's policy replaced the cluster's, and selects a pod of the cluster.
    assert!(!stdout.contains("IST0127"), "{stdout}");
    // The file's VirtualService resolves the cluster's Service, and what is in neither is
    // reported at its line in the file.
    assert!(
        stdout.contains(
            "Error [IST0101] (VirtualService kanalyze/reviews-canary fixtures/kube-analyze/overlay.yaml:"
        ) && stdout.contains("Referenced host not found: \"ratings\""),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Referenced host not found: \"reviews\""),
        "{stdout}"
    );
    // The cluster's own objects are still analyzed, without a file reference.
    assert!(
        stdout.contains("Warning [IST0103] (Pod kanalyze/reviews-v1) "),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_analyze_scopes_to_one_namespace() {
    let kubeconfig = kubeconfig();
    let _cluster = seed_cluster(&kubeconfig).await;

    let out = analyze(&["--kubeconfig", &kubeconfig, "-n", NAMESPACE]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(79), "{stdout}");
    assert!(stdout.contains("(Pod kanalyze/reviews-v1)"), "{stdout}");
    for line in stdout.lines() {
        // Namespaced objects of other namespaces are left out; cluster-scoped ones stay.
        let origin = line.split_once('(').map(|(_, o)| o).unwrap_or_default();
        assert!(
            origin.starts_with("Namespace ") || origin.contains(" kanalyze/"),
            "{line}"
        );
    }
    assert!(
        text(&out.stderr).contains("when analyzing namespace: kanalyze."),
        "{}",
        text(&out.stderr)
    );

    let out = analyze(&["--kubeconfig", &kubeconfig, "-n", "kube-public"]);
    assert!(!text(&out.stdout).contains(" kanalyze/"), "{out:?}");

    let out = analyze(&["--kubeconfig", &kubeconfig, "-n", "no-such-namespace"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        "namespace \"no-such-namespace\" not found\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_analyze_without_permission_to_list_pods_runs_the_other_analyzers() {
    let kubeconfig = kubeconfig();
    let _cluster = seed_cluster(&kubeconfig).await;
    let limited = Path::new(&kubeconfig).with_file_name("limited-kubeconfig");
    assert!(
        limited.exists(),
        "{} is missing: tests/k8s/cluster.sh up writes it",
        limited.display()
    );
    let limited = limited.display().to_string();

    // Everything analyze reads but Pods.
    let client = client(&kubeconfig).await;
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "ferry-analyze-no-pods"},
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces", "services", "nodes", "configmaps", "secrets"],
             "verbs": ["get", "list"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
            {"apiGroups": ["networking.istio.io", "security.istio.io", "telemetry.istio.io",
                           "extensions.istio.io", "gateway.networking.k8s.io"],
             "resources": ["*"], "verbs": ["get", "list"]},
            {"apiGroups": ["admissionregistration.k8s.io"],
             "resources": ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
             "verbs": ["get", "list"]},
            {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
             "verbs": ["get", "list"]},
        ],
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "ferry-analyze-no-pods"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "ferry-analyze-no-pods"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}],
    });
    apply(&client, &role, "clusterroles").await;
    apply(&client, &binding, "clusterrolebindings").await;

    // The authorizer learns of a new binding through its own watch: wait until Services list.
    let start = Instant::now();
    let out = loop {
        let out = analyze(&["--kubeconfig", &limited, "-A"]);
        if !text(&out.stderr).contains("services is forbidden") {
            break out;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the binding never applied: {}",
            text(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(79), "{stdout}{stderr}");
    let forbidden = "(needs Pod: pods is forbidden: User \"limited\" cannot list resource \"pods\"";
    for analyzer in ["auth.AuthorizationPoliciesAnalyzer", "injection.Analyzer"] {
        assert!(
            stderr.contains(&format!("not analyzed: {analyzer} {forbidden}")),
            "{analyzer}: {stderr}"
        );
    }
    // Only the analyzers that read Pods are out.
    assert!(
        !stderr.contains("not analyzed: service.PortNameAnalyzer"),
        "{stderr}"
    );
    assert!(!stderr.contains("not analyzed: schema."), "{stderr}");
    assert!(
        stdout.contains("[IST0118] (Service kanalyze/productpage)"),
        "{stdout}"
    );
    assert!(stdout.contains("\"reviews+v3\""), "{stdout}");
    // And nothing is claimed from the pods it could not see.
    assert!(
        !stdout.contains("IST0127") && !stdout.contains("IST0103"),
        "{stdout}"
    );
}

#[test]
fn analyze_without_a_kubeconfig_points_at_use_kube_false() {
    let out = analyze(&[CLUSTER_YAML]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no kubeconfig was found") && stderr.contains("--use-kube=false"),
        "{stderr}"
    );
}
