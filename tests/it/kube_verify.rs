//! `ferryctl verify-install` on a real cluster (`tests/k8s/cluster.sh`): against what the
//! install flags render, a complete install verifies with istioctl's lines and counts; without
//! flags the installed revisions are found and checked; a deleted Deployment, and one whose new
//! pods cannot be scheduled, fail the verification, named with why and a hint, exit 1.

use std::process::Output;
use std::time::Duration;

use ::kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use crate::ferryctl;
use crate::kube::{CRDS, client, kubeconfig};
use crate::kube_install::{eventually, exists, install, namespaced, text, uninstall};
use ferry::install::crds;

const REV: &str = "kverify";

async fn verify(kubeconfig: &str, args: &[&str]) -> Output {
    let mut cmd = ferryctl();
    cmd.args(["verify-install", "--kubeconfig", kubeconfig])
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
        .await
        .expect("verify-install runs");
    eprintln!(
        "verify-install {args:?}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_verify_install_checks_what_the_install_renders() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Installs the CRDs, as every install test does.
    let _crds = CRDS.lock().await;
    // A clean start, whatever an earlier run left (a gateway patched by another field manager
    // keeps that patch through a re-install).
    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "60s"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let flags = ["-r", REV, "--set", "namespace=kverify"];

    let out = verify(&kubeconfig, &flags).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for line in [
        "✔ CustomResourceDefinition: virtualservices.networking.istio.io.kverify checked successfully\n",
        "✔ ServiceAccount: istiod-kverify.kverify checked successfully\n",
        "✔ ClusterRole: istiod-clusterrole-kverify-kverify.kverify checked successfully\n",
        "✔ Deployment: istiod-kverify.kverify checked successfully\n",
        "✔ Deployment: istio-ingressgateway.kverify checked successfully\n",
        "✔ MutatingWebhookConfiguration: istio-sidecar-injector-kverify-kverify.kverify checked successfully\n",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(
        stdout.ends_with(&format!(
            "Checked {} custom resource definitions\nChecked 2 Istio Deployments\n\
             ✔ Istio is installed and verified successfully\n",
            crds::crds().len()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains('✘'), "{stdout}");

    // Without flags: the installed revisions, this one among them, each checked.
    let out = verify(&kubeconfig, &[]).await;
    let (stdout, _) = text(&out);
    let detected = stdout.lines().next().unwrap_or_default();
    assert!(
        detected.contains(" Istio control plane") && detected.contains("--revision \"kverify\""),
        "{stdout}"
    );
    for line in [
        "✔ Deployment: istiod-kverify.kverify checked successfully\n",
        "✔ MutatingWebhookConfiguration: istio-sidecar-injector-kverify-kverify.kverify checked successfully\n",
        "✔ CustomResourceDefinition: virtualservices.networking.istio.io.istio-system checked successfully\n",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }

    // The control plane's Deployment deleted: named, with how to fix it; exit 1.
    let deployments = namespaced(&client, "apps/v1", "Deployment", REV);
    deployments
        .delete("istiod-kverify", &DeleteParams::background())
        .await
        .expect("delete istiod");
    while exists(&deployments, "istiod-kverify").await {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = verify(&kubeconfig, &flags).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains(
            "✘ Deployment: istiod-kverify.kverify: not found in the cluster\n    hint: run \
             `ferryctl install -r kverify --set namespace=kverify` to create it again\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Checked 1 Istio Deployments\n"), "{stdout}");
    assert!(!stdout.contains("verified successfully"), "{stdout}");
    assert!(
        stderr.contains("Error: Istio installation verification failed: 1 problem found"),
        "{stderr}"
    );

    // What the hint says puts it back.
    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "60s"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let out = verify(&kubeconfig, &flags).await;
    assert!(out.status.success(), "{}", text(&out).0);

    // A Deployment whose new pods cannot be scheduled is present but not ready: named with its
    // replica counts and the pods that hold it back, with the scheduler's reason.
    deployments
        .patch(
            "istio-ingressgateway",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {
                "nodeSelector": {"ferry-test": "nowhere"}}}}})),
        )
        .await
        .expect("patch the gateway");
    eventually(Duration::from_secs(30), || async {
        let out = verify(&kubeconfig, &flags).await;
        let (stdout, _) = text(&out);
        let named = stdout.contains(
            "✘ Deployment: istio-ingressgateway.kverify: 1 of 1 replicas available, 1 updated, \
             1 old replica pending termination",
        ) && stdout.contains("\n    Pod/kverify/istio-ingressgateway-")
            && stdout.contains("PodScheduled=False (Unschedulable: ")
            && stdout.contains(
                "\n    hint: `kubectl describe deployment -n kverify istio-ingressgateway`",
            );
        (out.status.code() != Some(1) || !named)
            .then(|| format!("the unschedulable gateway is not reported:\n{stdout}"))
    })
    .await;

    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    // Nothing of the revision's: everything it renders is reported missing.
    let out = verify(&kubeconfig, &flags).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.ends_with("Checked 0 Istio Deployments\n! No Istio installation found\n"),
        "{stdout}"
    );
}
