//! `ferryctl manifest diff` on the fixture manifests: istioctl's report and exit codes (0 when
//! identical, 1 when different, 65 for input that does not parse, 64 for bad flags).

use crate::{ferryctl, transcript};

const BEFORE: &str = "fixtures/manifests/before.yaml";
const AFTER: &str = "fixtures/manifests/after.yaml";

#[test]
fn identical_manifests_exit_0() {
    insta::assert_snapshot!(
        transcript(ferryctl().args(["manifest", "diff", BEFORE, BEFORE])),
        @r"
    exit: 0
    --- stdout
    Manifests are identical
    --- stderr
    "
    );
}

#[test]
fn differences_are_listed_per_object_and_exit_1() {
    insta::assert_snapshot!(transcript(
        ferryctl().args(["manifest", "diff", BEFORE, AFTER])
    ));
}

#[test]
fn verbose_prints_unified_diffs() {
    insta::assert_snapshot!(transcript(ferryctl().args([
        "manifest",
        "diff",
        "--verbose",
        "--select",
        "Deployment:*:*",
        BEFORE,
        AFTER
    ])));
}

#[test]
fn select_and_ignore_narrow_the_comparison() {
    // Only the Deployment, and not its image: what is left is the replica count.
    insta::assert_snapshot!(transcript(ferryctl().args([
        "manifest",
        "diff",
        "--select",
        "Deployment:istio-system:*",
        "--ignore",
        "Deployment:*:istiod:spec.template.spec.containers[*].image",
        BEFORE,
        AFTER
    ])), @r"
    exit: 1
    --- stdout
    Differences in manifests are:


    Object Deployment:istio-system:istiod has diffs:

    spec.replicas: 1 ->

    --- stderr
    ");
    // Ignoring every object that differs leaves identical manifests.
    let out = ferryctl()
        .args([
            "manifest",
            "diff",
            "--ignore",
            "Deployment::,ConfigMap::,ServiceAccount::,HorizontalPodAutoscaler::",
            BEFORE,
            AFTER,
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn directories_are_compared_with_r() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(BEFORE).expect("fixture");
    // The same objects split over nested files on one side.
    std::fs::write(a.path().join("all.yaml"), &text).expect("write");
    let nested = b.path().join("Base").join("Pilot");
    std::fs::create_dir_all(&nested).expect("mkdir");
    let (first, rest) = text.split_once("---\n").expect("two documents");
    std::fs::write(b.path().join("Base").join("Base.yaml"), first).expect("write");
    std::fs::write(nested.join("Pilot.yaml"), rest).expect("write");
    std::fs::write(b.path().join("notes.txt"), "not a manifest").expect("write");
    let out = ferryctl()
        .args(["manifest", "diff", "-r"])
        .arg(a.path())
        .arg(b.path())
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Manifests are identical\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_input_and_bad_flags_have_their_own_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "kind: [unclosed\n").expect("write");
    let out = ferryctl()
        .args(["manifest", "diff", BEFORE])
        .arg(&broken)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(65), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(&format!("Error: {}: ", broken.display())),
        "{out:?}"
    );

    let out = ferryctl()
        .args([
            "manifest",
            "diff",
            BEFORE,
            "fixtures/manifests/no-such.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not read"));

    let out = ferryctl()
        .args(["manifest", "diff", "--rename", "nope", BEFORE, AFTER])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64), "{out:?}");

    let out = ferryctl()
        .args(["manifest", "diff", BEFORE])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64), "one path is not enough");
}

fn generate(args: &[&str]) -> std::process::Output {
    ferryctl()
        .args(["manifest", "generate"])
        .args(args)
        .output()
        .expect("ferryctl runs")
}

/// Every object of every profile (and a canary revision) decodes into its k8s-openapi type, and
/// the output is identical run to run.
#[test]
fn generated_objects_are_kubernetes_objects_and_stable() {
    use k8s_openapi::api::{
        admissionregistration::v1 as adm, apps::v1 as apps, autoscaling::v2 as hpa,
        core::v1 as core, policy::v1 as policy, rbac::v1 as rbac,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    fn check<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<(), String> {
        serde_path_to_error::deserialize::<_, T>(v.clone())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    for args in [
        vec!["--set", "profile=default"],
        vec!["--set", "profile=demo"],
        vec!["--set", "profile=minimal"],
        vec!["--set", "profile=remote"],
        vec!["--set", "profile=empty"],
        vec!["--set", "profile=preview"],
        vec!["--set", "profile=stable"],
        vec!["-r", "canary", "-f", "fixtures/seed/ha-pilot-operator.yaml"],
    ] {
        let out = generate(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            generate(&args).stdout,
            out.stdout,
            "{args:?}: output differs between runs"
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let stream = ferry::config::yaml::parse_stream(&text, Default::default());
        assert!(stream.errors.is_empty(), "{args:?}: {:?}", stream.errors);
        for doc in &stream.documents {
            let v = doc.root.to_json();
            let kind = v["kind"].as_str().unwrap_or_default().to_string();
            let r = match kind.as_str() {
                "CustomResourceDefinition" => check::<CustomResourceDefinition>(&v),
                "ServiceAccount" => check::<core::ServiceAccount>(&v),
                "ConfigMap" => check::<core::ConfigMap>(&v),
                "Service" => check::<core::Service>(&v),
                "Endpoints" => check::<core::Endpoints>(&v),
                "Deployment" => check::<apps::Deployment>(&v),
                "HorizontalPodAutoscaler" => check::<hpa::HorizontalPodAutoscaler>(&v),
                "PodDisruptionBudget" => check::<policy::PodDisruptionBudget>(&v),
                "ClusterRole" => check::<rbac::ClusterRole>(&v),
                "ClusterRoleBinding" => check::<rbac::ClusterRoleBinding>(&v),
                "Role" => check::<rbac::Role>(&v),
                "RoleBinding" => check::<rbac::RoleBinding>(&v),
                "MutatingWebhookConfiguration" => check::<adm::MutatingWebhookConfiguration>(&v),
                "ValidatingWebhookConfiguration" => {
                    check::<adm::ValidatingWebhookConfiguration>(&v)
                }
                "ValidatingAdmissionPolicy" => check::<adm::ValidatingAdmissionPolicy>(&v),
                "ValidatingAdmissionPolicyBinding" => {
                    check::<adm::ValidatingAdmissionPolicyBinding>(&v)
                }
                "EndpointSlice" => check::<k8s_openapi::api::discovery::v1::EndpointSlice>(&v),
                other => Err(format!("no k8s-openapi type checked for kind {other}")),
            };
            assert!(
                r.is_ok(),
                "{args:?} {kind} {}: {:?}",
                v["metadata"]["name"],
                r
            );
        }
    }
}

#[test]
fn generate_writes_one_file_per_component() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = generate(&["-o", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0));
    let pilot = std::fs::read_to_string(dir.path().join("Base/Pilot/Pilot.yaml")).expect("Pilot");
    assert!(pilot.contains("name: istiod\n"), "{pilot}");
    let base = std::fs::read_to_string(dir.path().join("Base/Base.yaml")).expect("Base");
    assert!(
        base.starts_with("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n")
    );
}

#[test]
fn generate_bad_input_is_named() {
    insta::assert_snapshot!(transcript(ferryctl().args([
        "manifest",
        "generate",
        "--set",
        "components.pilot.k8s.replicaCont=3",
    ])));
    insta::assert_snapshot!(transcript(
        ferryctl().args(["manifest", "generate", "-r", "Canary"])
    ));
    insta::assert_snapshot!(transcript(ferryctl().args([
        "manifest",
        "generate",
        "-f",
        "fixtures/seed/bookinfo-gateway.yaml",
    ])));
}

#[test]
fn generate_expresses_the_seed_ha_examples() {
    let out = generate(&[
        "-f",
        "fixtures/seed/ha-pilot-operator.yaml",
        "-f",
        "fixtures/seed/ha-gateway-operator.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("podAntiAffinity:"), "pilot anti-affinity");
    assert!(text.contains("maxReplicas: 10"), "gateway HPA");
}

#[test]
fn long_help_describes_the_subcommands() {
    for (sub, start) in [
        (
            "generate",
            "The generate subcommand generates an Istio install manifest and outputs to the console by default. The manifest is rendered offline",
        ),
        (
            "diff",
            "The diff subcommand compares manifests from two files or directories.",
        ),
    ] {
        let out = ferryctl()
            .args(["manifest", sub, "--help"])
            .output()
            .expect("runs");
        // Compared with whitespace collapsed: clap wraps long help to the terminal's width.
        let help = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(help.starts_with(start), "{sub}: {help}");
    }
}

/// Settings that validate but cannot be rendered are errors of the run (exit 1, as istioctl),
/// not usage errors (64).
#[test]
fn render_errors_exit_1_and_name_the_gateway() {
    let out = generate(&["--set", "components.pilot.k8s.hpaSpec.maxReplicas=0"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .starts_with("Error: components.pilot.k8s.hpaSpec: maxReplicas 0 must be at least 1\n"),
        "{stderr}"
    );

    // `[5]` is past the end of the profile's one-element list, so it adds a second gateway,
    // which (having no name) is istio-ingressgateway again. The merged list's index ([1]) means
    // nothing to the user, so the error names the gateway instead.
    let out = generate(&["--set", "components.ingressGateways[5].enabled=true"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr), @r#"Error: components.ingressGateways: two enabled gateways are named "istio-ingressgateway" in namespace "istio-system"; give each gateway its own name (a gateway listed without a name is named "istio-ingressgateway", and a --set index past the end of the list adds a gateway)"#);
}

/// `-o DIR` holds exactly the current render: component files (and their directories) a
/// previous run wrote but this one does not produce are removed; anything else is left alone.
#[test]
fn generate_to_a_directory_removes_only_its_own_stale_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().to_str().expect("utf-8 path");
    let demo = generate(&["--set", "profile=demo", "-o", out_dir]);
    assert_eq!(demo.status.code(), Some(0), "{demo:?}");
    let egress = dir
        .path()
        .join("Base/Pilot/EgressGateways/EgressGateways.yaml");
    assert!(egress.is_file());
    std::fs::write(dir.path().join("notes.txt"), "mine").expect("write");
    std::fs::write(dir.path().join("Base/Pilot/notes.yaml"), "mine").expect("write");

    // The default profile has no egress gateway.
    let default = generate(&["-o", out_dir]);
    assert_eq!(default.status.code(), Some(0), "{default:?}");
    assert!(!egress.exists(), "stale egress manifest left behind");
    assert!(!dir.path().join("Base/Pilot/EgressGateways").exists());
    assert!(
        dir.path()
            .join("Base/Pilot/IngressGateways/IngressGateways.yaml")
            .is_file()
    );

    // Nothing rendered: every component file goes; the user's files and their directories stay.
    let empty = generate(&["--set", "profile=empty", "-o", out_dir]);
    assert_eq!(empty.status.code(), Some(0), "{empty:?}");
    let mut left: Vec<String> = Vec::new();
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(base).expect("under base");
            out.push(rel.to_string_lossy().into_owned());
            if path.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    walk(dir.path(), dir.path(), &mut left);
    left.sort();
    assert_eq!(
        left,
        ["Base", "Base/Pilot", "Base/Pilot/notes.yaml", "notes.txt"]
    );
}
