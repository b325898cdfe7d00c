//! `ferryctl upgrade` on a real cluster (`tests/k8s/cluster.sh`): with nothing to change it
//! says so and exits 0 without asking; with changes it shows each changed object as a diff of
//! live against rendered YAML (no status, bookkeeping or server defaults among the changed
//! lines), lists what it would create and prune, asks istioctl's question, changes nothing when
//! the answer is no or on `--dry-run`, and applies, prunes and waits when it is yes.

use std::io::Write as _;
use std::process::{Output, Stdio};

use crate::ferryctl;
use crate::kube::{CRDS, client, kubeconfig};
use crate::kube_install::{exists, install, namespaced, text, uninstall};

const REV: &str = "kupgrade";

/// The settings the upgrade changes: the mesh config (a ConfigMap), istiod's CPU request (its
/// Deployment), the ingress gateway dropped (pruned) and the egress gateway added (created).
const CHANGES: [&str; 8] = [
    "--set",
    "meshConfig.accessLogFile=/dev/stdout",
    "--set",
    "components.pilot.k8s.resources.requests.cpu=250m",
    "--set",
    "components.ingressGateways[0].enabled=false",
    "--set",
    "components.egressGateways[0].enabled=true",
];

/// Runs `ferryctl upgrade` of revision [`REV`] into namespace [`REV`] with `extra`, `answer`
/// written to its stdin (then end of input).
async fn upgrade(kubeconfig: &str, extra: &[&str], answer: &str) -> Output {
    let mut cmd = ferryctl();
    cmd.args(["upgrade", "--kubeconfig", kubeconfig, "-r", REV])
        .args(["--set", &format!("namespace={REV}")])
        .args(["--readiness-timeout", "60s"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let answer = answer.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("ferryctl starts");
        let mut stdin = child.stdin.take().expect("stdin piped");
        // The command may exit before reading (nothing to ask): a closed pipe is fine.
        let _ = stdin.write_all(answer.as_bytes());
        drop(stdin);
        child.wait_with_output().expect("ferryctl runs")
    })
    .await
    .expect("upgrade runs");
    eprintln!(
        "upgrade {extra:?}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The removed and added lines of a unified diff (not its `---`/`+++` headers).
fn changed_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| (l.starts_with('-') || l.starts_with('+')) && !l.starts_with("---"))
        .filter(|l| !l.starts_with("+++"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_upgrade_shows_the_diff_asks_then_applies() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Installs the CRDs, as every install test does.
    let _crds = CRDS.lock().await;
    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let out = install(&kubeconfig, REV, &["-y", "--readiness-timeout", "60s"]).await;
    assert!(out.status.success(), "{}", text(&out).1);

    // The same settings: nothing to upgrade, nothing asked, exit 0.
    let out = upgrade(&kubeconfig, &[], "").await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "The cluster already matches this installation; there is nothing to upgrade.\n"
    );
    assert!(!stderr.contains("Installation complete"), "{stderr}");

    // New settings, answered with end of input (no): the plan, the question, nothing changed.
    let out = upgrade(&kubeconfig, &CHANGES, "").await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "--- ConfigMap/kupgrade/istio-kupgrade (live)\n+++ ConfigMap/kupgrade/istio-kupgrade (rendered)\n@@ ",
        "--- Deployment/kupgrade/istiod-kupgrade (live)\n+++ Deployment/kupgrade/istiod-kupgrade (rendered)\n@@ ",
        "Objects to create:\n",
        "  Deployment/kupgrade/istio-egressgateway\n",
        "Objects to prune:\n",
        "  Deployment/kupgrade/istio-ingressgateway\n",
        "  Service/kupgrade/istio-ingressgateway\n",
        "This will install the Ferry ",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
    assert!(
        stdout.ends_with(" into the cluster. Proceed? (y/N) \nCancelled.\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("\x1b["), "colors on a pipe:\n{stdout}");
    let changed = changed_lines(&stdout);
    assert!(
        changed
            .iter()
            .any(|l| l.starts_with('+') && l.contains("accessLogFile: /dev/stdout")),
        "{changed:#?}"
    );
    assert!(
        changed
            .iter()
            .any(|l| l.starts_with('+') && l.trim_start_matches('+').trim() == "cpu: 250m"),
        "{changed:#?}"
    );
    // What the server keeps for itself or fills in by default is on both sides alike, so never
    // among the changes.
    for noise in [
        "resourceVersion",
        "managedFields",
        "uid:",
        "creationTimestamp",
        "generation",
        "availableReplicas",
        "observedGeneration",
        "terminationMessagePath",
        "imagePullPolicy",
        "dnsPolicy",
        "schedulerName",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    ] {
        assert!(
            !changed.iter().any(|l| l.contains(noise)),
            "{noise} among the changed lines: {changed:#?}"
        );
    }
    let config_maps = namespaced(&client, "v1", "ConfigMap", REV);
    let mesh = config_maps
        .get("istio-kupgrade")
        .await
        .expect("mesh config");
    assert!(
        !mesh.data["data"]["mesh"]
            .as_str()
            .unwrap_or_default()
            .contains("/dev/stdout"),
        "declined, yet changed: {:?}",
        mesh.data
    );
    let deployments = namespaced(&client, "apps/v1", "Deployment", REV);
    assert!(exists(&deployments, "istio-ingressgateway").await);
    assert!(!exists(&deployments, "istio-egressgateway").await);

    // A dry run shows the same plan and asks nothing.
    let out = upgrade(&kubeconfig, &[&CHANGES[..], &["--dry-run"]].concat(), "").await;
    let (dry, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        dry.ends_with("Dry run: nothing was changed in the cluster.\n"),
        "{dry}"
    );
    let plan_end = stdout.find("This will install").expect("the question");
    assert_eq!(
        dry.strip_suffix("Dry run: nothing was changed in the cluster.\n"),
        Some(&stdout[..plan_end]),
        "the dry run's plan differs from the asked one"
    );
    assert!(exists(&deployments, "istio-ingressgateway").await);

    // Yes: applied, pruned and waited for.
    let out = upgrade(&kubeconfig, &CHANGES, "y\n").await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Proceed? (y/N) "), "{stdout}");
    for line in [
        "Waiting for Deployment/kupgrade/istiod-kupgrade",
        "✔ Istiod installed",
        "Waiting for Deployment/kupgrade/istio-egressgateway",
        "✔ Egress gateways installed",
        "  Removed Deployment/kupgrade/istio-ingressgateway.",
        "✔ Installation complete",
    ] {
        assert!(stderr.contains(line), "{line:?} missing from:\n{stderr}");
    }
    let mesh = config_maps
        .get("istio-kupgrade")
        .await
        .expect("mesh config");
    assert!(
        mesh.data["data"]["mesh"]
            .as_str()
            .unwrap_or_default()
            .contains("accessLogFile: /dev/stdout"),
        "{:?}",
        mesh.data
    );
    let istiod = deployments.get("istiod-kupgrade").await.expect("istiod");
    assert_eq!(
        istiod.data["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "250m"
    );
    assert_eq!(istiod.data["status"]["availableReplicas"], 1);
    assert!(!exists(&deployments, "istio-ingressgateway").await);
    assert!(exists(&deployments, "istio-egressgateway").await);

    // Upgraded: nothing left to do.
    let out = upgrade(&kubeconfig, &CHANGES, "").await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("there is nothing to upgrade"), "{stdout}");

    let out = uninstall(&kubeconfig, &["-r", REV, "-y"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
}
