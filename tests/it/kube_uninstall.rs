//! `ferryctl uninstall -r` on a real cluster (`tests/k8s/cluster.sh`) while a data plane still
//! depends on the revision: it warns as istioctl does about the proxies still pointing to it
//! (injected pods, through the revision and through a tag of it, listed by ID; a pod of the
//! revision that was never injected is not one), the namespaces still labelled for it and the
//! gateways it removes; it asks, and end of input cancels with nothing deleted; `--dry-run`
//! warns without asking; `-y` warns and removes.

use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, apply, client, kubeconfig};
use crate::kube_install::{exists, install, label_namespace, namespaced, text, uninstall};

const REV: &str = "kuninst";
const TAG: &str = "kuninst-prod";
/// Pods injected by the revision and by its tag; labelled for the tag.
const APP: &str = "kuninst-app";
/// Labelled for the revision itself, no pods.
const APP2: &str = "kuninst-app2";

/// A pod as Istio's injector leaves it: the revision (or tag) it was injected by as its
/// `istio.io/rev` label, the `sidecar.istio.io/status` annotation and the proxy container.
/// `injected: false` gives a pod that only carries the label, as the control plane's own do.
fn pod(name: &str, rev: &str, injected: bool) -> Value {
    let mut annotations = json!({});
    let mut containers = vec![json!({"name": "reviews", "image": "registry.invalid/reviews:1"})];
    if injected {
        annotations = json!({"sidecar.istio.io/status": format!(
            "{{\"initContainers\":null,\"containers\":[\"istio-proxy\"],\"volumes\":[],\
             \"imagePullSecrets\":null,\"revision\":\"{rev}\"}}"
        )});
        containers.push(json!({"name": "istio-proxy", "image": "registry.invalid/ferry:1"}));
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": APP, "annotations": annotations,
                     "labels": {"app": "reviews", "istio.io/rev": rev,
                                "security.istio.io/tlsMode": "istio",
                                "service.istio.io/canonical-name": "reviews"}},
        "spec": {"containers": containers},
    })
}

async fn tag(kubeconfig: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = ferryctl();
    cmd.args(["tag", "--kubeconfig", kubeconfig, "-i", REV])
        .args(args)
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
        .await
        .expect("tag runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_uninstall_warns_about_the_data_plane_and_asks() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Installs the CRDs, as every install test does.
    let _crds = CRDS.lock().await;
    // Whatever an earlier run left: the revision's injection webhooks would refuse the pods
    // below (their Service has no endpoint that answers).
    let _ = tag(&kubeconfig, &["remove", TAG, "-y"]).await;
    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);

    // The data plane, made while no webhook of the revision exists.
    label_namespace(&client, APP, json!({})).await;
    label_namespace(&client, APP2, json!({})).await;
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": APP}}),
        "serviceaccounts",
    )
    .await;
    for p in [
        pod("reviews-1", REV, true),
        pod("reviews-2", TAG, true),
        pod("not-injected", REV, false),
    ] {
        apply(&client, &p, "pods").await;
    }

    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "60s"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let out = tag(&kubeconfig, &["set", TAG, "-r", REV]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    label_namespace(&client, APP, json!({"istio.io/rev": TAG})).await;
    label_namespace(&client, APP2, json!({"istio.io/rev": REV})).await;

    let warnings = "There are still 2 proxies pointing to the control plane revision kuninst\n\
        reviews-1.kuninst-app\n\
        reviews-2.kuninst-app\n\
        If you proceed with the uninstall, these proxies will become detached from any control \
        plane and will not function correctly.\n\
        There are still 2 namespaces labelled for injection by the control plane revision \
        kuninst: kuninst-app, kuninst-app2\n\
        Pods created there after the uninstall will get no sidecar; label them for another \
        revision (istio.io/rev=<revision>) first.\n\
        You are about to remove the following gateways: istio-ingressgateway.kuninst. To avoid \
        downtime, please quit this command and reinstall the gateway(s) with a revision that is \
        not being removed from the cluster.\n";

    // Asked; end of input is no: nothing deleted.
    let out = uninstall(&kubeconfig, &["-r", REV]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, format!("{warnings}Proceed? (y/N) \nCancelled.\n"));
    assert!(!stderr.contains("Removed"), "{stderr}");
    let deployments = namespaced(&client, "apps/v1", "Deployment", REV);
    assert!(exists(&deployments, "istiod-kuninst").await);

    // A dry run warns and asks nothing.
    let out = uninstall(&kubeconfig, &["-r", REV, "--dry-run"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, warnings);
    assert!(
        stderr.contains("  Would remove Deployment/kuninst/istio-ingressgateway."),
        "{stderr}"
    );
    assert!(exists(&deployments, "istio-ingressgateway").await);

    // -y: warned, not asked, removed.
    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, warnings);
    assert!(
        stderr.contains("  Removed Deployment/kuninst/istiod-kuninst."),
        "{stderr}"
    );
    assert!(stderr.ends_with("✔ Uninstall complete\n"), "{stderr}");
    assert!(!exists(&deployments, "istiod-kuninst").await);

    // The pods stay for a re-run (a pod cannot be re-created while it terminates); unlabelled,
    // their namespaces are nobody's data plane.
    let _ = tag(&kubeconfig, &["remove", TAG, "-y"]).await;
    for ns in [APP, APP2] {
        label_namespace(&client, ns, json!({})).await;
    }
}
