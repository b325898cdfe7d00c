//! `ferryctl install` into a real cluster (`tests/k8s/cluster.sh`, run by `.ci/run`: the API
//! server, kube-controller-manager, kube-scheduler and kwok's fake node, so Deployments become
//! available for real): server-side apply creates the objects, a second run changes nothing, a
//! component dropped from the render is pruned while look-alike objects are not, `--dry-run`
//! changes nothing, a Deployment whose pods cannot be scheduled is named in the timeout error with
//! the pods' reason, an install killed at any point converges on a re-run, `--purge` leaves no
//! object labelled as Ferry's, and a canary upgrade leaves nothing of the old control plane.
//!
//! Every test installs its own revision into its own namespace; the ones that apply the CRDs or
//! purge hold [`CRDS`].

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use ::kube::Client;
use ::kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use ::kube::discovery::{Discovery, verbs};
use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, apply, client, kubeconfig};

fn resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

pub(crate) fn namespaced(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: &str,
) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource(api_version, kind))
}

pub(crate) fn cluster_wide(client: &Client, api_version: &str, kind: &str) -> Api<DynamicObject> {
    Api::all_with(client.clone(), &resource(api_version, kind))
}

/// Runs `ferryctl install` for revision `rev` into namespace `rev`.
pub(crate) async fn install(kubeconfig: &str, rev: &str, extra: &[&str]) -> Output {
    let namespace = format!("namespace={rev}");
    install_with(
        kubeconfig,
        &[&["-r", rev, "--set", namespace.as_str()][..], extra].concat(),
    )
    .await
}

/// Runs `ferryctl install` with `args` (off the async workers: a blocking wait would stall the
/// test's runtime).
pub(crate) async fn install_with(kubeconfig: &str, args: &[&str]) -> Output {
    let mut cmd = ferryctl();
    cmd.args(["install", "--kubeconfig", kubeconfig]).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
        .await
        .expect("install runs");
    eprintln!(
        "install {args:?}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub(crate) fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every object of every listable kind in the cluster that `selector` picks, by
/// `Kind/namespace/name`. All kinds the API server serves, not the kinds ferryctl knows it
/// renders: a kind that uninstall or prune forgot would otherwise go unnoticed.
async fn labelled(client: &Client, selector: &str) -> BTreeMap<String, Value> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let params = ListParams::default().labels(selector);
    let mut found = BTreeMap::new();
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            if !caps.supports_operation(verbs::LIST) {
                continue;
            }
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            let list = api
                .list(&params)
                .await
                .unwrap_or_else(|e| panic!("listing {} labelled {selector}: {e}", resource.plural));
            for o in list.items {
                let key = format!(
                    "{}/{}/{}",
                    resource.kind,
                    o.metadata.namespace.clone().unwrap_or_default(),
                    o.metadata.name.clone().unwrap_or_default()
                );
                let mut value = serde_json::to_value(&o).expect("an object serializes");
                value["kind"] = json!(resource.kind);
                found.insert(key, value);
            }
        }
    }
    found
}

/// The objects revision `rev`'s install wrote: those with its ownership labels that ferryctl's
/// field manager wrote, so not what controllers made from them and labelled alike (a
/// Deployment's ReplicaSets and Pods, a Service's Endpoints and EndpointSlices).
async fn owned(client: &Client, rev: &str) -> BTreeMap<String, Value> {
    let selector = format!(
        "istio.io/rev={rev},operator.istio.io/component,install.operator.istio.io/owning-resource"
    );
    let mut objects = labelled(client, &selector).await;
    objects.retain(|_, o| {
        o["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["manager"] == "ferryctl")
    });
    objects
}

/// What an install decides about an object: everything but its status and what the API server
/// assigns (identity, timestamps, bookkeeping, a Service's allocated IPs and node ports), so
/// two installs of the same revision compare equal exactly when they wrote the same objects.
fn spec_of(object: &Value) -> Value {
    let mut o = object.clone();
    if let Some(o) = o.as_object_mut() {
        o.remove("status");
    }
    if let Some(meta) = o["metadata"].as_object_mut() {
        for key in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
        ] {
            meta.remove(key);
        }
    }
    if let Some(spec) = o["spec"].as_object_mut() {
        for key in ["clusterIP", "clusterIPs", "healthCheckNodePort"] {
            spec.remove(key);
        }
        for port in spec
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(port) = port.as_object_mut() {
                port.remove("nodePort");
            }
        }
    }
    o
}

/// An object as it stands, minus its status: a write by anyone (ferryctl's apply included)
/// changes its resourceVersion, generation or managed fields here; controllers' status
/// updates do not.
fn unchanged_view(object: &Value) -> Value {
    let mut o = object.clone();
    if let Some(o) = o.as_object_mut() {
        o.remove("status");
    }
    if let Some(meta) = o["metadata"].as_object_mut() {
        // A status write bumps the resourceVersion and adds a `status` managed-fields entry
        // (its time changes on every status write).
        meta.remove("resourceVersion");
        if let Some(fields) = meta.get_mut("managedFields").and_then(Value::as_array_mut) {
            fields.retain(|f| f["subresource"] != "status");
        }
    }
    o
}

fn specs(objects: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    objects
        .iter()
        .map(|(k, v)| (k.clone(), spec_of(v)))
        .collect()
}

/// The keys whose values differ between `a` and `b`, or that only one has: what an assertion
/// prints instead of two maps of whole objects.
fn differences(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => format!("{k}:\n  {x}\n  {y}"),
            (Some(_), None) => format!("{k}: only in the first"),
            _ => format!("{k}: only in the second"),
        })
        .collect()
}

/// Polls `check` every 200 ms until it returns `None`; panics with its last answer (what is
/// still wrong) after `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let start = std::time::Instant::now();
    loop {
        let Some(wrong) = check().await else { return };
        assert!(start.elapsed() < limit, "after {limit:?}: {wrong}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn exists(api: &Api<DynamicObject>, name: &str) -> bool {
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

    // A second run changes nothing: no object is written (the controllers still update their
    // status meanwhile, which is not the install's).
    let view = |objects: BTreeMap<String, Value>| -> BTreeMap<String, Value> {
        objects
            .into_iter()
            .map(|(k, v)| (k, unchanged_view(&v)))
            .collect()
    };
    let before = view(owned(&client, REV).await);
    assert!(before.len() > 10, "{:?}", before.keys());
    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "60s"]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    let after = view(owned(&client, REV).await);
    assert!(after == before, "{:#?}", differences(&before, &after));

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
    let after = view(owned(&client, REV).await);
    assert!(after == before, "{:#?}", differences(&before, &after));

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
    // istiod's pods ask for a node label no node has: the scheduler leaves them Pending, as
    // on a cluster whose nodes do not fit the control plane.
    let out = install(
        &kubeconfig,
        REV,
        &[
            "-y",
            "--readiness-timeout",
            "8s",
            "--set",
            "components.pilot.k8s.nodeSelector.ferry-test=nowhere",
        ],
    )
    .await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for line in [
        "Waiting for Deployment/kinst-slow/istiod-kinst-slow",
        "✘ Istiod encountered an error",
        "Istiod not ready after 8s:",
        "  Deployment/kinst-slow/istiod-kinst-slow: 0 of 1 replicas available, 1 updated; \
         Available=False (MinimumReplicasUnavailable: Deployment does not have minimum \
         availability.)",
        "\n    Pod/kinst-slow/istiod-kinst-slow-",
        // The scheduler's reason, as `kubectl describe pod` shows it.
        ": Pending; PodScheduled=False (Unschedulable: 0/1 nodes are available: 1 node(s) \
         didn't match Pod's node affinity/selector.",
    ] {
        assert!(stderr.contains(line), "{line:?} missing from:\n{stderr}");
    }
    assert!(!stderr.contains("Installation complete"), "{stderr}");
    // Nothing stays behind that the scheduler keeps retrying.
    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
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
pub(crate) async fn uninstall(kubeconfig: &str, args: &[&str]) -> Output {
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
    let left = owned(&client, "kinst-p1").await;
    assert!(left.is_empty(), "{:?}", left.keys());
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
    // Nothing labelled as any install's remains, of any kind: what the controllers made from
    // the Deployments (ReplicaSets, Pods, which carry the labels too) goes once the garbage
    // collector and kwok have deleted it.
    eventually(Duration::from_secs(60), || async {
        let left = labelled(&client, "install.operator.istio.io/owning-resource").await;
        let left: Vec<_> = left.keys().collect();
        (!left.is_empty()).then(|| format!("still labelled as Ferry's: {left:?}"))
    })
    .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_install_killed_at_any_point_converges_on_a_rerun() {
    const REV: &str = "kinst-kill";
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    let _crds = CRDS.lock().await;
    // The reference (each from an uninstalled revision, whatever an earlier run against this
    // cluster left): an install nobody interrupted, and how long one takes. Runs vary from
    // about 0.6 s to 1.5 s here (each waits for Deployments the controllers make ready), so
    // the kill points are spread over the fastest of three: over the slowest, most of them fell
    // after a faster run had finished. Each of the three must leave the same objects.
    let mut took = std::time::Duration::MAX;
    let mut reference = None;
    for _ in 0..3 {
        let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
        assert!(out.status.success(), "{}", text(&out).1);
        let start = std::time::Instant::now();
        let out = install(&kubeconfig, REV, &["-y"]).await;
        took = took.min(start.elapsed());
        assert!(out.status.success(), "{}", text(&out).1);
        let state = specs(&owned(&client, REV).await);
        match &reference {
            None => reference = Some(state),
            Some(first) => assert!(
                state == *first,
                "two uninterrupted installs differ: {:#?}",
                differences(first, &state)
            ),
        }
    }
    let reference = reference.expect("three installs ran");
    assert!(reference.len() > 10, "{:?}", reference.keys());

    // Killed at points spread over a run of that length (so over every phase: namespaces,
    // CRDs, each component's objects and its wait, pruning), each from an uninstalled
    // revision, then run again to completion.
    let mut interrupted = 0;
    for percent in [5, 15, 30, 45, 60, 75, 90] {
        let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
        assert!(out.status.success(), "{}", text(&out).1);
        let after = took * percent / 100;
        let mut cmd = ferryctl();
        cmd.args(["install", "--kubeconfig", &kubeconfig, "-r", REV, "-y"])
            .args(["--set", &format!("namespace={REV}")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("ferryctl starts");
        tokio::time::sleep(after).await;
        let running = child.try_wait().expect("ferryctl's status").is_none();
        // SIGKILL: nothing of ferryctl's runs after it.
        child.kill().expect("kill -9");
        let killed = child.wait_with_output().expect("killed ferryctl's output");
        if running {
            interrupted += 1;
        }
        eprintln!(
            "killed after {after:?} ({percent}% of {took:?}; still running: {running}), having \
             printed:\n{}",
            String::from_utf8_lossy(&killed.stderr)
        );
        let out = install(&kubeconfig, REV, &["-y"]).await;
        let (_, stderr) = text(&out);
        assert!(
            out.status.success(),
            "re-run after a kill at {after:?}: {stderr}"
        );
        assert!(stderr.contains("✔ Installation complete"), "{stderr}");
        let state = specs(&owned(&client, REV).await);
        assert!(
            state == reference,
            "after a kill at {after:?} and a re-run: {:#?}",
            differences(&reference, &state)
        );
    }
    // The kill points must fall inside runs for this test to say anything.
    assert!(
        interrupted >= 5,
        "only {interrupted} of 7 kills interrupted an install"
    );
    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
}

/// Whether `selector` (a Kubernetes LabelSelector as JSON; absent selects everything) selects
/// an object with `labels`.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = selector["matchLabels"].as_object().into_iter().flatten();
    let labels_hold = match_labels
        .into_iter()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let expressions_hold = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let value = labels.get(key).map(String::as_str);
            match e["operator"].as_str() {
                Some("In") => value.is_some_and(|v| values.contains(&v)),
                Some("NotIn") => value.is_none_or(|v| !values.contains(&v)),
                Some("Exists") => value.is_some(),
                Some("DoesNotExist") => value.is_none(),
                other => panic!("unknown selector operator {other:?}"),
            }
        });
    labels_hold && expressions_hold
}

/// The revisions (`istio.io/rev` of the MutatingWebhookConfigurations) whose injection
/// webhooks would be called for a plain pod created in namespace `ns`, as the API server
/// decides: by each webhook's namespace and object selectors.
pub(crate) async fn injecting_revisions(
    client: &Client,
    ns: &str,
) -> std::collections::BTreeSet<String> {
    let namespace = cluster_wide(client, "v1", "Namespace")
        .get(ns)
        .await
        .expect("namespace");
    let ns_labels: BTreeMap<String, String> = namespace.metadata.labels.unwrap_or_default();
    let pod_labels = BTreeMap::new();
    let webhooks = cluster_wide(
        client,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    )
    .list(&ListParams::default())
    .await
    .expect("list webhooks");
    webhooks
        .items
        .into_iter()
        .filter(|mwc| {
            mwc.data["webhooks"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|w| {
                    selects(&w["namespaceSelector"], &ns_labels)
                        && selects(&w["objectSelector"], &pod_labels)
                })
        })
        .map(|mwc| {
            let labels = mwc.metadata.labels.unwrap_or_default();
            labels
                .get("istio.io/rev")
                .cloned()
                .unwrap_or_else(|| format!("(none: {})", mwc.metadata.name.unwrap_or_default()))
        })
        .collect()
}

/// A namespace with exactly `labels` (server-side apply drops the labels an earlier apply of
/// the test set and this one does not).
pub(crate) async fn label_namespace(client: &Client, name: &str, labels: Value) {
    let object = json!({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": name, "labels": labels}});
    apply(client, &object, "namespaces").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_canary_upgrade_moves_every_namespace_and_leaves_nothing_of_the_old_revision() {
    // Istio's canary upgrade (istio.io "Canary upgrades"): both revisions in one namespace.
    const SYSTEM: &str = "kcanary-system";
    const BY_INJECTION: &str = "kcanary-injection";
    const BY_REVISION: &str = "kcanary-rev";
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Installs the CRDs and the default revision, whose webhook selects every namespace
    // labelled istio-injection=enabled: no other install test may run meanwhile.
    let _crds = CRDS.lock().await;
    for rev in ["default", "canary"] {
        let out = uninstall(&kubeconfig, &["-r", rev, "-y"]).await;
        assert!(out.status.success(), "{}", text(&out).1);
    }
    let namespace = format!("namespace={SYSTEM}");
    let out = install_with(&kubeconfig, &["-y", "--set", &namespace]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    label_namespace(&client, BY_INJECTION, json!({"istio-injection": "enabled"})).await;
    label_namespace(&client, BY_REVISION, json!({"istio.io/rev": "default"})).await;
    let on = |revs: &[&str]| -> std::collections::BTreeSet<String> {
        revs.iter().map(|r| r.to_string()).collect()
    };
    for ns in [BY_INJECTION, BY_REVISION] {
        assert_eq!(
            injecting_revisions(&client, ns).await,
            on(&["default"]),
            "{ns}"
        );
    }

    let out = install_with(&kubeconfig, &["-y", "-r", "canary", "--set", &namespace]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("Waiting for Deployment/{SYSTEM}/istiod-canary")),
        "{stderr}"
    );
    // Installed alongside: the namespaces stay on the old revision until relabelled.
    for ns in [BY_INJECTION, BY_REVISION] {
        assert_eq!(
            injecting_revisions(&client, ns).await,
            on(&["default"]),
            "{ns}"
        );
    }
    let deployments = namespaced(&client, "apps/v1", "Deployment", SYSTEM);
    assert!(exists(&deployments, "istiod").await);

    for ns in [BY_INJECTION, BY_REVISION] {
        label_namespace(&client, ns, json!({"istio.io/rev": "canary"})).await;
    }
    let out = uninstall(&kubeconfig, &["-r", "default", "-y"]).await;
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    // Only the old revision's objects ("kcanary-system" has no "-canary" in it).
    assert!(!stderr.contains("-canary"), "{stderr}");

    for ns in [BY_INJECTION, BY_REVISION] {
        assert_eq!(
            injecting_revisions(&client, ns).await,
            on(&["canary"]),
            "{ns}"
        );
    }
    // Nothing of the old control plane, of any kind (its ReplicaSets and Pods once collected).
    // The one exception is history, not control plane: the gateways are not revisioned by name,
    // so the canary install upgraded them in place (as istioctl does), and each Deployment keeps
    // its previous ReplicaSet, scaled to zero, with the old pod labels.
    eventually(Duration::from_secs(60), || async {
        let mut left = Vec::new();
        for (key, o) in labelled(&client, "istio.io/rev=default").await {
            // Namespaces and workloads of other tests on this cluster that chose revision
            // default themselves are their data plane, not this control plane.
            let ours = [SYSTEM, BY_INJECTION, BY_REVISION];
            let in_ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            if (o["kind"] == "Namespace" && !ours.contains(&name))
                || (!in_ns.is_empty() && !ours.contains(&in_ns))
            {
                continue;
            }
            let owner = &o["metadata"]["ownerReferences"][0];
            let history = o["kind"] == "ReplicaSet"
                && o["spec"]["replicas"] == 0
                && owner["kind"] == "Deployment"
                && match owner["name"].as_str() {
                    Some(name) => deployments
                        .get_opt(name)
                        .await
                        .expect("get")
                        .is_some_and(|d| {
                            d.metadata.labels.unwrap_or_default().get("istio.io/rev")
                                == Some(&"canary".to_string())
                        }),
                    None => false,
                };
            if !history {
                left.push(key);
            }
        }
        (!left.is_empty()).then(|| format!("still labelled as revision default: {left:?}"))
    })
    .await;
    // The canary control plane is whole and available.
    let canary = deployments
        .get("istiod-canary")
        .await
        .expect("istiod-canary");
    assert_eq!(
        canary.data["status"]["availableReplicas"], 1,
        "{:?}",
        canary.data["status"]
    );
    assert!(owned(&client, "canary").await.len() > 10);
    let out = uninstall(&kubeconfig, &["-r", "canary", "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
}
