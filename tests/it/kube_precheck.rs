//! `ferryctl x precheck` against a real kube-apiserver (`tests/k8s/cluster.sh`, run by
//! `.ci/run`): the admin may install; the `limited` user (no RBAC) is told each permission it
//! lacks; `-r` finds an istiod Deployment of the same revision already there.

use std::path::Path;
use std::process::Output;

use ::kube::api::DeleteParams;
use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, api, apply, client, kubeconfig};

const SUCCESS: &str = "\u{2714} No issues found when checking the cluster. Istio is safe to install or upgrade!\n  To get started, check out https://istio.io/latest/docs/setup/getting-started/.\n";
const ISSUES: &str =
    "Error: Issues found when checking the cluster. Istio may not be safe to install or upgrade.\n";

/// What the install creates, as istioctl asks it.
const RESOURCES: &[&str] = &[
    "namespaces",
    "clusterroles",
    "clusterrolebindings",
    "customresourcedefinitions",
    "roles",
    "serviceaccounts",
    "services",
    "deployments",
    "configmaps",
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
];

fn precheck(kubeconfig: &str, args: &[&str]) -> Output {
    ferryctl()
        .args(["x", "precheck", "--kubeconfig", kubeconfig])
        .args(args)
        .output()
        .expect("ferryctl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn limited_kubeconfig() -> String {
    let limited = Path::new(&kubeconfig()).with_file_name("limited-kubeconfig");
    assert!(
        limited.exists(),
        "{} is missing: tests/k8s/cluster.sh up writes it",
        limited.display()
    );
    limited.display().to_string()
}

#[test]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
fn kube_precheck_passes_for_the_admin() {
    let out = precheck(&kubeconfig(), &[]);
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), SUCCESS);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
fn kube_precheck_names_each_permission_a_user_lacks() {
    let out = precheck(&limited_kubeconfig(), &[]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.starts_with(ISSUES), "{stderr}");
    assert!(
        stderr.contains("See https://istio.io/") && !stderr.contains("No issues found"),
        "{stderr}"
    );
    for resource in RESOURCES {
        assert!(
            stdout.contains(&format!(
                "[IST0141] (Cluster) Missing required permission to create resource {resource} ("
            )),
            "{resource} not reported:\n{stdout}"
        );
    }
    assert_eq!(
        stdout.matches("IST0141").count(),
        RESOURCES.len(),
        "{stdout}"
    );
}

#[test]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
fn kube_precheck_json_lists_messages_as_analyze_does() {
    let out = precheck(&limited_kubeconfig(), &["-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let messages: Vec<Value> = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(messages.len(), RESOURCES.len());
    let first = &messages[0];
    assert_eq!(first["code"], "IST0141");
    assert_eq!(first["level"], "Error");
    assert_eq!(first["origin"], "Cluster");
    assert_eq!(
        first["documentationUrl"],
        "https://istio.io/v1.32/docs/reference/config/analysis/ist0141/?ref=istioctl-analyze"
    );
    let keys: Vec<&str> = first
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["code", "documentationUrl", "level", "message", "origin"]
    );
}

#[test]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
fn kube_precheck_skip_controlplane_checks_nothing() {
    // Not even the connection: the limited user's missing rights go unasked.
    let out = precheck(&limited_kubeconfig(), &["--skip-controlplane"]);
    assert_eq!(text(&out.stderr), SUCCESS);
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_precheck_warns_that_an_installed_revision_would_be_upgraded_in_place() {
    // A namespace of its own: the install tests purge what they find in istio-system.
    let namespace = "precheck-system";
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // `analyze -A` in other tests reads every Deployment: a stray istiod must not show up there.
    let _cluster = CRDS.lock().await;
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        "namespaces",
    )
    .await;
    let labels = json!({"app": "istiod", "istio.io/rev": "precheck-canary"});
    let istiod = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "istiod-precheck-canary", "namespace": namespace, "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "discovery", "image": "istio/pilot"}]},
                },
            },
    });
    apply(&client, &istiod, "deployments").await;

    let out = precheck(&kubeconfig, &["-i", namespace, "-r", "precheck-canary"]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "[FRY0001] (Cluster) Revision \"precheck-canary\" is already installed \
             (Deployment precheck-system/istiod-precheck-canary); installing it again upgrades it in place"
        ),
        "{stdout}"
    );
    assert!(stderr.starts_with(ISSUES), "{stderr}");

    // Another revision installs alongside it.
    let out = precheck(&kubeconfig, &["-i", namespace, "-r", "precheck-other"]);
    assert_eq!(text(&out.stderr), SUCCESS);
    assert_eq!(out.status.code(), Some(0));

    // The namespace stays: without a controller manager it would never finish terminating.
    api(&client, &istiod, "deployments")
        .delete("istiod-precheck-canary", &DeleteParams::default())
        .await
        .expect("the planted istiod deletes");
}
