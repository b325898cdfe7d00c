//! `ferryctl kube-inject` offline: the injector config, values and mesh config are the ones
//! `manifest generate` renders into its ConfigMaps (extracted as istioctl's help shows with
//! `kubectl get cm -o jsonpath`), and the workloads are bookinfo's.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use ferry::config::yaml::{Limits, parse_stream};
use serde_json::Value;

use crate::{ferryctl, transcript};

const REVIEWS: &str = "fixtures/samples/bookinfo/reviews.yaml";

/// The rendered `config`, `values` and `mesh` of `manifest generate <args>`, as files in `dir`.
pub(crate) struct Rendered {
    pub(crate) config: PathBuf,
    pub(crate) values: PathBuf,
    pub(crate) mesh: PathBuf,
}

pub(crate) fn rendered(dir: &Path, args: &[&str]) -> Rendered {
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
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let stream = parse_stream(&text, Limits::default());
    let objects: Vec<Value> = stream.documents.iter().map(|d| d.root.to_json()).collect();
    let data = |prefix: &str, key: &str| -> String {
        objects
            .iter()
            .find(|o| {
                o["kind"] == "ConfigMap"
                    && o["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(prefix))
                    && o["data"].get(key).is_some()
            })
            .and_then(|o| o["data"][key].as_str())
            .unwrap_or_else(|| panic!("no {prefix} ConfigMap with {key}"))
            .to_string()
    };
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("writes");
        path
    };
    Rendered {
        config: write(
            "inject-config.yaml",
            data("istio-sidecar-injector", "config"),
        ),
        values: write("values.json", data("istio-sidecar-injector", "values")),
        mesh: write("mesh.yaml", data("istio", "mesh")),
    }
}

fn offline(r: &Rendered) -> Vec<String> {
    vec![
        "--injectConfigFile".into(),
        r.config.display().to_string(),
        "--valuesFile".into(),
        r.values.display().to_string(),
        "--meshConfigFile".into(),
        r.mesh.display().to_string(),
    ]
}

fn documents(text: &str) -> Vec<Value> {
    let stream = parse_stream(text, Limits::default());
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    stream.documents.iter().map(|d| d.root.to_json()).collect()
}

/// The ferryctl version is the image tag; snapshots hide it.
macro_rules! assert_inject_snapshot {
    ($value:expr) => {
        insta::with_settings!({filters => vec![
            (format!(r"ferry:{}", regex::escape(env!("CARGO_PKG_VERSION"))).leak() as &str, "ferry:[VERSION]"),
        ]}, {
            insta::assert_snapshot!($value);
        });
    };
}

#[test]
fn bookinfo_reviews_are_injected_offline_from_the_rendered_configmaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = rendered(dir.path(), &[]);
    let out = transcript(
        ferryctl()
            .args(["kube-inject", "-f", REVIEWS])
            .args(offline(&r))
            // No cluster may be needed: a kubeconfig that cannot work proves it.
            .args(["--kubeconfig", "/nonexistent/kubeconfig"]),
    );
    assert_inject_snapshot!(out);
}

#[test]
fn injected_output_is_unchanged_by_a_second_injection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = rendered(dir.path(), &[]);
    let first = dir.path().join("injected.yaml");
    let status = ferryctl()
        .args(["kube-inject", "-f", REVIEWS, "-o"])
        .arg(&first)
        .args(offline(&r))
        .status()
        .expect("runs");
    assert!(status.success());
    let once = std::fs::read_to_string(&first).expect("output written");

    // Again, through standard input, as `kubectl get deploy -o yaml | kube-inject -f -`.
    let mut child = ferryctl()
        .args(["kube-inject", "-f", "-"])
        .args(offline(&r))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(once.as_bytes())
        .expect("writes");
    let twice = child.wait_with_output().expect("finishes");
    assert!(twice.status.success());
    assert_eq!(String::from_utf8_lossy(&twice.stdout), once);

    let docs = documents(&once);
    let proxies = docs
        .iter()
        .filter_map(|d| d["spec"]["template"]["spec"]["containers"].as_array())
        .map(|c| c.iter().filter(|c| c["name"] == "istio-proxy").count())
        .collect::<Vec<_>>();
    assert_eq!(proxies, [1, 1, 1], "one proxy per Deployment");
}

#[test]
fn a_revision_renders_its_own_discovery_address_and_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = rendered(dir.path(), &["-r", "canary"]);
    let out = ferryctl()
        .args(["kube-inject", "-f", REVIEWS])
        .args(offline(&r))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = documents(&String::from_utf8_lossy(&out.stdout));
    let template = &docs[1]["spec"]["template"];
    assert_eq!(template["metadata"]["labels"]["istio.io/rev"], "canary");
    let proxy = &template["spec"]["containers"][1];
    let args: Vec<&str> = proxy["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        args[..4],
        [
            "proxy",
            "sidecar",
            "--discovery-address",
            "istiod-canary.istio-system.svc:15010"
        ]
    );

    // The same from the IstioOperator alone, rendered in place.
    let iop = dir.path().join("iop.yaml");
    std::fs::write(
        &iop,
        "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  revision: canary\n",
    )
    .expect("writes");
    let from_iop = ferryctl()
        .args(["kube-inject", "-f", REVIEWS, "--operatorFileName"])
        .arg(&iop)
        .output()
        .expect("runs");
    assert!(
        from_iop.status.success(),
        "{}",
        String::from_utf8_lossy(&from_iop.stderr)
    );
    assert_eq!(from_iop.stdout, out.stdout);
}

#[test]
fn pods_that_opt_out_are_left_alone_with_istioctls_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = rendered(dir.path(), &[]);
    insta::assert_snapshot!(
        transcript(
            ferryctl()
                .args(["kube-inject", "-f", "fixtures/seed/injection-control.yaml"])
                .args(offline(&r))
        ),
        @r#"
    exit: 0
    --- stdout
    # From the seed document; the seed shows these two objects in one block without the `---`
    # separator between them (as written, a duplicate-key error: see tests/it/seed.rs).
    # 네임스페이스 레벨 활성화
    apiVersion: v1
    kind: Namespace
    metadata:
      name: my-app
      labels:
        istio-injection: enabled

    ---
    # Pod 레벨 비활성화
    apiVersion: v1
    kind: Pod
    metadata:
      annotations:
        sidecar.istio.io/inject: "false"
    ---
    --- stderr

    ===> Skipping injection because Pod "" has sidecar injection disabled
    "#
    );
}

#[test]
fn errors_name_the_file_and_the_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = rendered(dir.path(), &[]);
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec: {}\n",
    )
    .expect("writes");
    let out = ferryctl()
        .args(["kube-inject", "-f"])
        .arg(&bad)
        .args(offline(&r))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Error: {}: document 2 (line 5): spec.template: expected a pod template\n",
            bad.display()
        )
    );
    assert!(out.stdout.is_empty(), "nothing is written on error");
}

#[test]
fn istios_go_templates_are_refused_with_what_to_use_instead() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("istio-template.yaml");
    std::fs::write(
        &config,
        "policy: enabled\ntemplates:\n  sidecar: |\n    spec: {}\n",
    )
    .expect("writes");
    let out = ferryctl()
        .args(["kube-inject", "-f", REVIEWS, "--injectConfigFile"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Istio's Go `templates`, which Ferry does not run"),
        "{stderr}"
    );
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
}

#[test]
fn a_missing_filename_is_istioctls_error() {
    insta::assert_snapshot!(transcript(ferryctl().arg("kube-inject")), @r"
    exit: 1
    --- stdout
    --- stderr
    Error: filename not specified (see --filename or -f)
    ");
}
