//! `ferryctl tag set|list|remove` against a real cluster (`tests/k8s/cluster.sh`): a tag is a
//! MutatingWebhookConfiguration built from the revision's injector webhook, and what matters is
//! what the API server will do with it: which revision's webhook a namespace labelled with the
//! tag gets. Moving the tag moves the namespace; removing it asks first while a namespace still
//! names it. The default tag takes `istio-injection=enabled` from the default revision.

use std::process::{Output, Stdio};

use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, apply, client, kubeconfig};
use crate::kube_inject_webhook::{
    containers, create, find, namespace, pod, rendered_with, service_account,
};
use crate::kube_install::{
    cluster_wide, injecting_revisions, install, label_namespace, text, uninstall,
};
use crate::webhook::{ServingCert, serving_cert, start_with_webhook};

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

/// The default tag's test: its own istio namespace, revision and namespaces, so nothing of the
/// other tag test is in the way.
mod default_tag {
    pub(super) const SYSTEM: &str = "ktd-system";
    pub(super) const CANARY: &str = "ktd-canary";
    /// The default revision's injector, named as an install into [`SYSTEM`] names it.
    pub(super) const OLD: &str = "istio-sidecar-injector-ktd-system";
    pub(super) const NEW: &str = "istio-sidecar-injector-ktd-canary-ktd-system";
    /// The tag's webhook configuration, named with `--webhook-name`.
    pub(super) const TAG_WEBHOOK: &str = "ktd-default-tag";
    pub(super) const VALIDATOR: &str = "istiod-default-validator";
    pub(super) const ENABLED: &str = "ktd-enabled";
    pub(super) const PLAIN: &str = "ktd-plain";
}

/// `istio.io/rev` of the control plane that injected `pod` (its status annotation), and how
/// many proxies it has.
fn injected_by(pod: &k8s_openapi::api::core::v1::Pod) -> (Option<String>, usize) {
    let status = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("sidecar.istio.io/status"))
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    let proxies = containers(pod)
        .iter()
        .filter(|c| *c == "istio-proxy")
        .count();
    (
        status.and_then(|s| s["revision"].as_str().map(str::to_string)),
        proxies,
    )
}

/// Who injects a pod created in `ns` once the API server has caught up with the webhook
/// configurations (it watches them): dry runs, which go through admission and store nothing,
/// until one is injected by `want` (or, for `None`, is not injected), for at most 30 s.
async fn injection_settles(client: &::kube::Client, ns: &str, want: Option<&str>) {
    let api: ::kube::Api<k8s_openapi::api::core::v1::Pod> =
        ::kube::Api::namespaced(client.clone(), ns);
    let dry_run = ::kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    loop {
        let seen = api
            .create(&dry_run, &pod("probe", json!({"app": "probe"}), json!({})))
            .await
            .expect("a dry-run create");
        let (by, proxies) = injected_by(&seen);
        assert!(proxies <= 1, "one proxy at most: {:?}", containers(&seen));
        if by.as_deref() == want {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "a pod in {ns} is still injected by {by:?}, not {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A webhook configuration as a revision's install registers it (the rendered one's webhooks,
/// selectors and labels), named `name` and calling the injection webhook at `url`.
fn registered_webhook(
    objects: &[Value],
    rendered_name: &str,
    name: &str,
    url: &str,
    ca: &[u8],
) -> Value {
    use base64::Engine as _;
    let mut config = find(objects, "MutatingWebhookConfiguration", rendered_name);
    let labels = config["metadata"]["labels"].clone();
    config["metadata"] = json!({"name": name, "labels": labels});
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca);
    for hook in config["webhooks"].as_array_mut().expect("webhooks") {
        hook["clientConfig"] = json!({"url": url, "caBundle": bundle});
        hook["timeoutSeconds"] = json!(10);
    }
    config
}

/// Deletes this test's webhook configurations however it ends: left behind, they would send
/// pods of every `istio-injection=enabled` namespace (and, with the auto webhook, every
/// unlabelled one) to webhooks that are gone.
struct Registered(String);

impl Drop for Registered {
    fn drop(&mut self) {
        let kubeconfig = self.0.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(delete_registered(&kubeconfig));
        })
        .join();
    }
}

async fn delete_registered(kubeconfig: &str) {
    use default_tag::*;
    let client = client(kubeconfig).await;
    let dp = ::kube::api::DeleteParams::default();
    let mutating = cluster_wide(
        &client,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    );
    for name in [OLD, NEW, TAG_WEBHOOK] {
        let _ = mutating.delete(name, &dp).await;
    }
    let validating = cluster_wide(
        &client,
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    );
    let _ = validating.delete(VALIDATOR, &dp).await;
}

fn never_matches(config: &Value) -> bool {
    let never = json!({"matchLabels": {"istio.io/deactivated": "never-match"}});
    let hooks = config["webhooks"].as_array().cloned().unwrap_or_default();
    !hooks.is_empty()
        && hooks
            .iter()
            .all(|h| h["namespaceSelector"] == never && h["objectSelector"] == never)
}

/// `tag set default --revision <canary>` as in Istio's canary upgrade: the default revision's
/// injector stops answering `istio-injection=enabled` (deactivated, not deleted) and the tag
/// sends those namespaces to the canary, validation included; `tag remove default` restores
/// nothing, as istioctl. Both revisions' webhooks are served by real `ferryctl discovery`
/// processes, each with its revision's injector ConfigMap, and registered with the API server;
/// what is checked is what the API server does to pods created through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_tag_default_moves_istio_injection_to_the_canary() {
    use default_tag::*;
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // The default tag, its validator and the default revision's webhook are cluster-wide.
    let _cluster = CRDS.lock().await;
    delete_registered(&kubeconfig).await;

    let old_objects = rendered_with(&[]);
    let new_objects = rendered_with(&["--set", &format!("revision={CANARY}")]);
    apply(&client, &namespace(SYSTEM, json!({})), "namespaces").await;
    for o in old_objects.iter().chain(&new_objects) {
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        if o["kind"] == "ConfigMap" && name.starts_with("istio") {
            let mut cm = o.clone();
            cm["metadata"]["namespace"] = json!(SYSTEM);
            apply(&client, &cm, "configmaps").await;
        }
    }
    for (ns, labels) in [
        (ENABLED, json!({"istio-injection": "enabled"})),
        (PLAIN, json!({})),
    ] {
        label_namespace(&client, ns, labels).await;
        apply(&client, &service_account(ns), "serviceaccounts").await;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let ServingCert { ca, cert, key } = serving_cert(dir.path());
    let path = |p: &std::path::Path| p.display().to_string();
    let mut discoveries = Vec::new();
    let mut urls = Vec::new();
    for revision in [None, Some(CANARY)] {
        let mut args = vec![
            "--kubeconfig".to_string(),
            kubeconfig.clone(),
            "-i".into(),
            SYSTEM.into(),
            "--tlsCertFile".into(),
            path(&cert),
            "--tlsKeyFile".into(),
            path(&key),
        ];
        let configmap = match revision {
            Some(r) => {
                args.extend(["-r".to_string(), r.to_string()]);
                format!("istio-sidecar-injector-{r}")
            }
            None => "istio-sidecar-injector".to_string(),
        };
        let (running, addr, lines) = start_with_webhook(&args);
        let wanted = format!("ferryctl discovery: injecting with configmap {SYSTEM}/{configmap}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while lines
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("discovery reads its injector ConfigMap")
            != wanted
        {}
        discoveries.push((running, lines));
        urls.push(format!("https://{addr}/inject"));
    }

    let ca_pem = std::fs::read(&ca).expect("CA");
    let registered = Registered(kubeconfig.clone());
    let old = registered_webhook(
        &old_objects,
        "istio-sidecar-injector",
        OLD,
        &urls[0],
        &ca_pem,
    );
    let canary_name = format!("istio-sidecar-injector-{CANARY}");
    let new = registered_webhook(&new_objects, &canary_name, NEW, &urls[1], &ca_pem);
    apply(&client, &old, "mutatingwebhookconfigurations").await;
    apply(&client, &new, "mutatingwebhookconfigurations").await;
    injection_settles(&client, ENABLED, Some("default")).await;
    injection_settles(&client, PLAIN, None).await;

    let mutating = cluster_wide(
        &client,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    );
    let validating = cluster_wide(
        &client,
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    );
    let tag = |args: Vec<&'static str>| {
        let kubeconfig = kubeconfig.clone();
        async move {
            let mut cmd = ferryctl();
            cmd.args(["tag", "--kubeconfig", &kubeconfig, "-i", SYSTEM])
                .args(&args)
                .stdin(Stdio::null());
            let out = tokio::task::spawn_blocking(move || cmd.output().expect("ferryctl runs"))
                .await
                .expect("tag runs");
            eprintln!("tag {args:?}: {}\n{}", out.status, text(&out).1);
            out
        }
    };

    // generate prints and changes nothing.
    let out = tag(vec!["generate", "default", "-r", CANARY, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("name: istiod-default-validator"));
    let before = mutating.get(OLD).await.expect("the old injector");
    assert!(!never_matches(&before.data), "generate deactivates nothing");

    let out = tag(vec![
        "set",
        "default",
        "--revision",
        CANARY,
        "--webhook-name",
        TAG_WEBHOOK,
    ])
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr, "",
        "no conflict: the default revision's webhooks are deactivated"
    );
    assert_eq!(
        stdout,
        "Revision tag \"default\" created, referencing control plane revision \"ktd-canary\". \
         To enable injection using this\nrevision tag, use 'kubectl label namespace \
         <NAMESPACE> istio.io/rev=default'\n"
    );
    // The old injector is still there, its webhooks matching nothing.
    let old_after = mutating.get(OLD).await.expect("kept, not deleted");
    assert!(never_matches(&old_after.data), "{:#}", old_after.data);
    assert_eq!(
        old_after.data["webhooks"][0]["clientConfig"]["url"],
        json!(urls[0])
    );
    assert!(!never_matches(
        &mutating.get(NEW).await.expect("canary").data
    ));
    let tag_config = mutating.get(TAG_WEBHOOK).await.expect("--webhook-name");
    let labels = tag_config.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("istio.io/tag").map(String::as_str),
        Some("default")
    );
    assert_eq!(labels.get("istio.io/rev").map(String::as_str), Some(CANARY));
    let hooks: Vec<&str> = tag_config.data["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert!(
        !hooks.contains(&"auto.sidecar-injector.istio.io"),
        "{hooks:?}"
    );
    let validator = validating
        .get(VALIDATOR)
        .await
        .expect("the default validator");
    assert_eq!(
        validator.data["webhooks"][0]["clientConfig"]["url"],
        json!(urls[1].replace("/inject", "/validate"))
    );
    assert_eq!(
        injecting_revisions(&client, ENABLED).await,
        [CANARY.to_string()].into()
    );

    // Through the API server: canary's injection, once, and the old revision's no longer.
    injection_settles(&client, ENABLED, Some(CANARY)).await;
    let web = create(
        &client,
        ENABLED,
        pod("web", json!({"app": "web"}), json!({})),
    )
    .await;
    assert_eq!(containers(&web), ["app", "istio-proxy"]);
    assert_eq!(injected_by(&web), (Some(CANARY.to_string()), 1));
    injection_settles(&client, PLAIN, None).await;

    // --auto-inject-namespaces: the default tag takes unlabelled namespaces too. (Cluster-wide,
    // so only for as long as it takes to see it.)
    let out = tag(vec![
        "set",
        "default",
        "--revision",
        CANARY,
        "--webhook-name",
        TAG_WEBHOOK,
        "--auto-inject-namespaces",
        "--overwrite",
        "-y",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out).1);
    let auto = mutating.get(TAG_WEBHOOK).await.expect("the tag");
    let auto_hook = auto.data["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["name"] == "auto.sidecar-injector.istio.io")
        .cloned();
    let auto_hook = auto_hook.expect("the auto webhook");
    assert_eq!(auto_hook["clientConfig"]["url"], json!(urls[1]));
    injection_settles(&client, PLAIN, Some(CANARY)).await;
    injection_settles(&client, ENABLED, Some(CANARY)).await;

    // Removing the tag restores nothing: the old injector stays deactivated, as istioctl leaves it.
    let out = tag(vec!["remove", "default", "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(text(&out).0, "Revision tag default removed\n");
    assert!(mutating.get_opt(TAG_WEBHOOK).await.expect("get").is_none());
    assert!(validating.get_opt(VALIDATOR).await.expect("get").is_none());
    assert!(never_matches(&mutating.get(OLD).await.expect("kept").data));
    injection_settles(&client, PLAIN, None).await;
    injection_settles(&client, ENABLED, None).await;

    let pods: ::kube::Api<k8s_openapi::api::core::v1::Pod> =
        ::kube::Api::namespaced(client.clone(), ENABLED);
    let _ = pods
        .delete("web", &::kube::api::DeleteParams::default().grace_period(0))
        .await;
    drop(registered);
    drop(discoveries);
}
