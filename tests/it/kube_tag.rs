//! `ferryctl tag set|list|remove` against a real cluster (`tests/k8s/cluster.sh`): a tag is a
//! MutatingWebhookConfiguration built from the revision's injector webhook, and what matters is
//! what the API server will do with it: which revision's webhook a namespace labelled with the
//! tag gets. Moving the tag moves the namespace; removing it asks first while a namespace still
//! names it.

use std::process::{Output, Stdio};

use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, client, kubeconfig};
use crate::kube_install::{
    cluster_wide, injecting_revisions, install, label_namespace, text, uninstall,
};

const SYSTEM: &str = "ktag-system";
const APP: &str = "ktag-app";
const TAG: &str = "ktag-prod";
const WEBHOOK: &str = "istio-revision-tag-ktag-prod-ktag-system";

/// Runs `ferryctl tag` with `args` against the test cluster, the control planes' namespace as
/// the istio namespace, stdin closed (a prompt reads end of input: no).
async fn tag(kubeconfig: &str, args: &[&str]) -> Output {
    let mut cmd = ferryctl();
    cmd.args(["tag", "--kubeconfig", kubeconfig, "-i", SYSTEM])
        .args(args)
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
        .await
        .expect("tag runs");
    eprintln!(
        "tag {args:?}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `tag list -o json`'s entry for [`TAG`], if listed.
async fn listed(kubeconfig: &str) -> Option<Value> {
    let out = tag(kubeconfig, &["list", "-o", "json"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).expect("tag list -o json is JSON");
    all.into_iter().find(|t| t["tag"] == TAG)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_tag_set_moves_and_removes_a_revision_tag() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Installs the CRDs; and tags are cluster-wide webhooks every injection consults.
    let _crds = CRDS.lock().await;
    for rev in ["ktag-a", "ktag-b"] {
        let out = install(
            &kubeconfig,
            rev,
            &["-y", "--set", &format!("namespace={SYSTEM}")],
        )
        .await;
        assert!(out.status.success(), "{}", text(&out).1);
    }
    // Left by an earlier run against this cluster, if any.
    let _ = tag(&kubeconfig, &["remove", TAG, "-y"]).await;
    label_namespace(&client, APP, json!({"istio.io/rev": TAG})).await;
    assert!(listed(&kubeconfig).await.is_none());
    assert!(
        injecting_revisions(&client, APP).await.is_empty(),
        "nothing injects a namespace labelled with a tag that does not exist"
    );

    let out = tag(&kubeconfig, &["set", TAG, "-r", "ktag-a"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "Revision tag \"ktag-prod\" created, referencing control plane revision \"ktag-a\". To \
         enable injection using this\nrevision tag, use 'kubectl label namespace <NAMESPACE> \
         istio.io/rev=ktag-prod'\n"
    );
    assert_eq!(stderr, "", "no conflict: istiod-ktag-a exists in {SYSTEM}");
    let webhooks = cluster_wide(
        &client,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    );
    let created = webhooks.get(WEBHOOK).await.expect("the tag's webhook");
    let labels = created.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("istio.io/tag").map(String::as_str), Some(TAG));
    let services: Vec<&Value> = created.data["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| &w["clientConfig"]["service"]["name"])
        .collect();
    assert!(
        !services.is_empty() && services.iter().all(|s| *s == "istiod-ktag-a"),
        "{services:?}"
    );
    // What the API server will do: the namespace's pods go to ktag-a's injector.
    assert_eq!(
        injecting_revisions(&client, APP).await,
        ["ktag-a".to_string()].into()
    );
    let entry = listed(&kubeconfig).await.expect("listed");
    assert_eq!(
        entry,
        json!({"tag": TAG, "revision": "ktag-a", "namespaces": [APP]})
    );
    let out = tag(&kubeconfig, &["list"]).await;
    assert!(
        text(&out).0.contains("ktag-prod ktag-a   ktag-app\n"),
        "{}",
        text(&out).0
    );

    // Refused: an existing tag without --overwrite, a tag named like a revision.
    let out = tag(&kubeconfig, &["set", TAG, "-r", "ktag-b"]).await;
    assert_eq!(out.status.code(), Some(64), "{}", text(&out).1);
    assert!(
        text(&out)
            .1
            .contains("revision tag \"ktag-prod\" already exists, and --overwrite is false"),
        "{}",
        text(&out).1
    );
    let out = tag(&kubeconfig, &["set", "ktag-a", "-r", "ktag-b"]).await;
    assert_eq!(out.status.code(), Some(64), "{}", text(&out).1);
    assert!(
        text(&out).1.contains(
            "cannot create revision tag \"ktag-a\": found existing control plane revision with \
             same name"
        ),
        "{}",
        text(&out).1
    );

    // Moved: the same namespace label now reaches ktag-b.
    let out = tag(&kubeconfig, &["set", TAG, "-r", "ktag-b", "--overwrite"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(
        injecting_revisions(&client, APP).await,
        ["ktag-b".to_string()].into()
    );
    assert_eq!(
        listed(&kubeconfig).await.expect("listed")["revision"],
        "ktag-b"
    );

    // Removing a tag a namespace still names asks; end of input is no.
    let out = tag(&kubeconfig, &["remove", TAG]).await;
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert_eq!(
        stdout,
        "Caution, found 1 namespace(s) still injected by tag \"ktag-prod\": ktag-app\nProceed \
         with operation? [y/N] \nAborting operation.\n"
    );
    assert!(webhooks.get_opt(WEBHOOK).await.expect("get").is_some());

    let out = tag(&kubeconfig, &["remove", TAG, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(text(&out).0, "Revision tag ktag-prod removed\n");
    assert!(webhooks.get_opt(WEBHOOK).await.expect("get").is_none());
    assert!(listed(&kubeconfig).await.is_none());
    assert!(injecting_revisions(&client, APP).await.is_empty());
    let out = tag(&kubeconfig, &["remove", TAG, "-y"]).await;
    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out).1.contains(
            "cannot remove tag \"ktag-prod\": cannot find MutatingWebhookConfiguration for tag"
        ),
        "{}",
        text(&out).1
    );

    for rev in ["ktag-a", "ktag-b"] {
        let out = uninstall(&kubeconfig, &["-r", rev, "-y"]).await;
        assert!(out.status.success(), "{}", text(&out).1);
    }
}
