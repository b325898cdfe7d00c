//! `ferryctl install` into a real kube-apiserver (`tests/k8s/cluster.sh`, run by `.ci/run`):
//! server-side apply creates the objects, a second run changes nothing, a component dropped from
//! the render is pruned while look-alike objects are not, `--dry-run` changes nothing, and a
//! Deployment that never becomes available is named in the timeout error.
//!
//! The test cluster has no controller-manager, so nothing ever reports a Deployment available.
//! Where a test needs the install to finish, [`FakeDeploymentController`] plays that part: it
//! writes an available status on the Deployments of the test's namespace, as the
//! controller-manager would once the pods ran. Every test installs its own revision into its own
//! namespace, so they run beside each other and beside the other kube tests.

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use ::kube::Client;
use ::kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::json;

use crate::ferryctl;
use crate::kube::{CRDS, apply, client, kubeconfig};

fn resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

fn namespaced(client: &Client, api_version: &str, kind: &str, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource(api_version, kind))
}

fn cluster_wide(client: &Client, api_version: &str, kind: &str) -> Api<DynamicObject> {
    Api::all_with(client.clone(), &resource(api_version, kind))
}

/// Runs `ferryctl install` for revision `rev` into namespace `rev` (off the async workers, so a
/// fake controller keeps running meanwhile).
async fn install(kubeconfig: &str, rev: &str, extra: &[&str]) -> Output {
    let mut cmd = ferryctl();
    cmd.args(["install", "--kubeconfig", kubeconfig, "-r", rev])
        .args(["--set", &format!("namespace={rev}")])
        .args(extra);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
        .await
        .expect("install runs");
    eprintln!(
        "install -r {rev} {extra:?}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Marks every Deployment of a namespace available, as kube-controller-manager would once its
/// pods ran; stops when dropped.
struct FakeDeploymentController(tokio::task::JoinHandle<()>);

impl FakeDeploymentController {
    fn start(client: &Client, namespace: &str) -> Self {
        let api = namespaced(client, "apps/v1", "Deployment", namespace);
        FakeDeploymentController(tokio::spawn(async move {
            loop {
                if let Ok(list) = api.list(&ListParams::default()).await {
                    for d in list.items {
                        let generation = d.metadata.generation.unwrap_or(1);
                        let replicas = d.data["spec"]["replicas"].as_i64().unwrap_or(1);
                        let status = &d.data["status"];
                        if status["observedGeneration"].as_i64() == Some(generation)
                            && status["availableReplicas"].as_i64() == Some(replicas)
                        {
                            continue;
                        }
                        let name = d.metadata.name.clone().unwrap_or_default();
                        let patch = json!({"status": {
                            "observedGeneration": generation,
                            "replicas": replicas,
                            "updatedReplicas": replicas,
                            "readyReplicas": replicas,
                            "availableReplicas": replicas,
                        }});
                        let _ = api
                            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                            .await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }))
    }
}

impl Drop for FakeDeploymentController {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The resourceVersion of every object labelled as revision `rev`'s, by `Kind/ns/name`.
async fn owned_versions(client: &Client, rev: &str) -> BTreeMap<String, String> {
    let selector = format!(
        "istio.io/rev={rev},operator.istio.io/component,install.operator.istio.io/owning-resource"
    );
    let mut versions = BTreeMap::new();
    for (api_version, kind) in [
        ("v1", "ServiceAccount"),
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        (
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
        ),
        ("policy/v1", "PodDisruptionBudget"),
    ] {
        let list = cluster_wide(client, api_version, kind)
            .list(&ListParams::default().labels(&selector))
            .await
            .expect("list");
        for o in list.items {
            versions.insert(
                format!(
                    "{kind}/{}/{}",
                    o.metadata.namespace.unwrap_or_default(),
                    o.metadata.name.unwrap_or_default()
                ),
                o.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    versions
}

async fn exists(api: &Api<DynamicObject>, name: &str) -> bool {
    api.get_opt(name).await.expect("get").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_install_applies_then_changes_nothing_then_prunes_only_its_own() {
    const REV: &str = "kinst-a";
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // The install applies the Istio CRDs, which discovery's test must not see appear.
    let _crds = CRDS.lock().await;
    let _controller = FakeDeploymentController::start(&client, REV);

    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "60s"]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for line in [
        "✔ Istio core installed",
        "Waiting for Deployment/kinst-a/istiod-kinst-a",
        "✔ Istiod installed",
        "Waiting for Deployment/kinst-a/istio-ingressgateway",
        "✔ Ingress gateways installed",
        "✔ Installation complete",
    ] {
        assert!(stderr.contains(line), "{line:?} missing from:\n{stderr}");
    }

    // The objects are there, written by ferryctl's field manager.
    let deployments = namespaced(&client, "apps/v1", "Deployment", REV);
    let istiod = deployments.get("istiod-kinst-a").await.expect("istiod");
    let managers: Vec<_> = istiod
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|f| f.manager.as_deref())
        .collect();
    assert!(managers.contains(&"ferryctl"), "{managers:?}");
    assert!(exists(&deployments, "istio-ingressgateway").await);
    let cluster_roles = cluster_wide(&client, "rbac.authorization.k8s.io/v1", "ClusterRole");
    assert!(exists(&cluster_roles, "istiod-clusterrole-kinst-a-kinst-a").await);
    let crd = cluster_wide(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
    )
    .get("virtualservices.networking.istio.io")
    .await
    .expect("CRD");
    let established = crd.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "{:?}", crd.data["status"]);

    // Look-alikes that are not this install's: same name and revision label in the namespace
    // but no ownership labels, and another revision's gateway Service with every label.
    let lookalike = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "istio-ingressgateway", "namespace": REV,
                     "labels": {"istio.io/rev": REV}}});
    apply(&client, &lookalike, "configmaps").await;
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kinst-a-other"}}),
        "namespaces",
    )
    .await;
    let other_revision = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "istio-ingressgateway", "namespace": "kinst-a-other",
                     "labels": {"istio.io/rev": "kinst-other",
                                "install.operator.istio.io/owning-resource": "unknown",
                                "operator.istio.io/component": "IngressGateways"}},
        "spec": {"ports": [{"name": "http2", "port": 80}]}});
    apply(&client, &other_revision, "services").await;

    // A second run changes nothing: every resourceVersion stays.
    let before = owned_versions(&client, REV).await;
    assert!(before.len() > 10, "{before:?}");
    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "60s"]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(owned_versions(&client, REV).await, before);

    // A dry run of the install without the ingress gateway lists the prune and changes nothing.
    let without_gateway = [
        "--set",
        "components.ingressGateways[0].enabled=false",
        "--readiness-timeout",
        "60s",
    ];
    let out = install(
        &kubeconfig,
        REV,
        &[&without_gateway[..], &["--dry-run"]].concat(),
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("Would prune Deployment/kinst-a/istio-ingressgateway"),
        "{stdout}"
    );
    assert!(stdout.contains("0 to create, 0 to change"), "{stdout}");
    assert_eq!(owned_versions(&client, REV).await, before);

    // For real: the gateway's objects go, the look-alikes and the control plane stay.
    let out = install(&kubeconfig, REV, &[&without_gateway[..], &["-y"]].concat()).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Removed Deployment/kinst-a/istio-ingressgateway."),
        "{stderr}"
    );
    assert!(!stderr.contains("Ingress gateways installed"), "{stderr}");
    assert!(!exists(&deployments, "istio-ingressgateway").await);
    let services = namespaced(&client, "v1", "Service", REV);
    assert!(!exists(&services, "istio-ingressgateway").await);
    assert!(
        !exists(
            &namespaced(&client, "v1", "ServiceAccount", REV),
            "istio-ingressgateway-service-account"
        )
        .await
    );
    assert!(exists(&deployments, "istiod-kinst-a").await);
    assert!(exists(&services, "istiod-kinst-a").await);
    assert!(
        exists(
            &namespaced(&client, "v1", "ConfigMap", REV),
            "istio-ingressgateway"
        )
        .await,
        "the look-alike ConfigMap was pruned"
    );
    assert!(
        exists(
            &namespaced(&client, "v1", "Service", "kinst-a-other"),
            "istio-ingressgateway"
        )
        .await,
        "another revision's Service was pruned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_install_dry_run_changes_nothing() {
    const REV: &str = "kinst-dry";
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    let out = install(&kubeconfig, REV, &["--dry-run"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for line in [
        "Would create Namespace/kinst-dry",
        "Would create Deployment/kinst-dry/istiod-kinst-dry",
        "Would create ClusterRole/istiod-clusterrole-kinst-dry-kinst-dry",
        "Would create MutatingWebhookConfiguration/istio-sidecar-injector-kinst-dry-kinst-dry",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(!stderr.contains("Installation complete"), "{stderr}");
    let namespaces = cluster_wide(&client, "v1", "Namespace");
    assert!(!exists(&namespaces, REV).await);
    let cluster_roles = cluster_wide(&client, "rbac.authorization.k8s.io/v1", "ClusterRole");
    assert!(!exists(&cluster_roles, "istiod-clusterrole-kinst-dry-kinst-dry").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_install_readiness_timeout_names_the_deployment_and_why() {
    const REV: &str = "kinst-slow";
    let kubeconfig = kubeconfig();
    let _crds = CRDS.lock().await;
    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "2s"]).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for line in [
        "Waiting for Deployment/kinst-slow/istiod-kinst-slow",
        "✘ Istiod encountered an error",
        "Istiod not ready after 2s:",
        "Deployment/kinst-slow/istiod-kinst-slow: no status: no controller has acted on it yet \
         (is kube-controller-manager running?)",
    ] {
        assert!(stderr.contains(line), "{line:?} missing from:\n{stderr}");
    }
    assert!(!stderr.contains("Installation complete"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_install_errors_name_the_object_and_the_servers_message() {
    let kubeconfig = kubeconfig();
    let limited = std::path::Path::new(&kubeconfig).with_file_name("limited-kubeconfig");
    let limited = limited.display().to_string();
    let out = install(&limited, "kinst-denied", &["-y"]).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The first requests are about the namespace (a read, or the apply when another test lets
    // "limited" read namespaces); the server's reason names the user, verb and resource.
    assert!(
        stderr.contains(
            "Namespace/kinst-denied: namespaces \"kinst-denied\" is forbidden: User \"limited\" \
             cannot"
        ),
        "{stderr}"
    );
}

/// Runs `ferryctl uninstall` with `args`, stdin closed (a prompt reads end of input: no).
async fn uninstall(kubeconfig: &str, args: &[&str]) -> Output {
    let mut cmd = ferryctl();
    cmd.args(["uninstall", "--kubeconfig", kubeconfig])
        .args(args)
        .stdin(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
        .await
        .expect("uninstall runs");
    eprintln!(
        "uninstall {args:?}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_uninstall_removes_a_revision_then_everything_labelled_as_ferrys() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Installs CRDs, and --purge removes every install's objects: no other install test may
    // run meanwhile (they all hold this lock).
    let _crds = CRDS.lock().await;
    let _controllers = [
        FakeDeploymentController::start(&client, "kinst-p1"),
        FakeDeploymentController::start(&client, "kinst-p2"),
    ];
    for rev in ["kinst-p1", "kinst-p2"] {
        let out = install(&kubeconfig, rev, &["-y", "--readiness-timeout", "60s"]).await;
        assert!(out.status.success(), "{}", text(&out).1);
    }
    let lookalike = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "istiod-kinst-p1", "namespace": "kinst-p1",
                     "labels": {"istio.io/rev": "kinst-p1", "operator.istio.io/component": "Pilot"}}});
    apply(&client, &lookalike, "configmaps").await;
    let p1 = namespaced(&client, "apps/v1", "Deployment", "kinst-p1");
    let p2 = namespaced(&client, "apps/v1", "Deployment", "kinst-p2");

    let out = uninstall(&kubeconfig, &["-r", "kinst-p1", "--dry-run"]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("  Would remove Deployment/kinst-p1/istiod-kinst-p1."),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing was changed in the cluster"),
        "{stderr}"
    );
    assert!(exists(&p1, "istiod-kinst-p1").await);

    let out = uninstall(&kubeconfig, &["-r", "kinst-p1", "-y"]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for line in [
        "  Removed Deployment/kinst-p1/istiod-kinst-p1.",
        "  Removed ClusterRole/istiod-clusterrole-kinst-p1-kinst-p1.",
        "✔ Uninstall complete",
    ] {
        assert!(stderr.contains(line), "{line:?} missing from:\n{stderr}");
    }
    assert!(!stderr.contains("kinst-p2"), "{stderr}");
    assert!(owned_versions(&client, "kinst-p1").await.is_empty());
    assert!(exists(&p2, "istiod-kinst-p2").await);

    // --purge asks first; end of input is no.
    let out = uninstall(&kubeconfig, &["--purge"]).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("All Istio resources will be pruned from the cluster\nProceed? (y/N)"),
        "{stdout}"
    );
    assert!(exists(&p2, "istiod-kinst-p2").await);

    let out = uninstall(&kubeconfig, &["--purge", "-y"]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("  Removed Deployment/kinst-p2/istiod-kinst-p2."),
        "{stderr}"
    );
    assert!(owned_versions(&client, "kinst-p2").await.is_empty());
    // Not Ferry's (no owning-resource label), the CRDs and the namespaces stay.
    assert!(
        exists(
            &namespaced(&client, "v1", "ConfigMap", "kinst-p1"),
            "istiod-kinst-p1"
        )
        .await
    );
    let crds = cluster_wide(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
    );
    assert!(exists(&crds, "virtualservices.networking.istio.io").await);
    assert!(exists(&cluster_wide(&client, "v1", "Namespace"), "kinst-p2").await);
}
