//! `ferryctl profile list|dump|diff`: istioctl 1.23's output shapes and exit codes, and clear
//! errors for every kind of bad input.

use std::io::Write;
use std::process::Stdio;

use crate::{ferryctl, transcript};

fn profile(args: &[&str]) -> String {
    transcript(ferryctl().arg("profile").args(args))
}

/// Snapshots hide ferryctl's version, which is the compiled-in image tag.
macro_rules! assert_profile_snapshot {
    ($value:expr) => {
        insta::with_settings!({filters => vec![
            (format!(r"tag: {}\n", regex::escape(env!("CARGO_PKG_VERSION"))).leak() as &str, "tag: [VERSION]\n"),
            (format!(r#"tag="{}""#, regex::escape(env!("CARGO_PKG_VERSION"))).leak() as &str, r#"tag="[VERSION]""#),
        ]}, {
            insta::assert_snapshot!($value);
        });
    };
}

#[test]
fn list_prints_the_supported_profiles_as_istioctl_does() {
    insta::assert_snapshot!(profile(&["list"]));
}

#[test]
fn list_as_json_and_yaml() {
    let out = ferryctl()
        .args(["profile", "list", "-o", "json"])
        .output()
        .expect("runs");
    let names: Vec<String> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert_eq!(
        names,
        [
            "default", "demo", "empty", "minimal", "preview", "remote", "stable"
        ]
    );
    let out = ferryctl()
        .args(["profile", "list", "-o", "yaml"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("- default\n- demo\n"));
}

#[test]
fn dump_demo() {
    assert_profile_snapshot!(profile(&["dump", "demo"]));
}

#[test]
fn dump_a_subtree() {
    assert_profile_snapshot!(profile(&["dump", "-p", "components.pilot"]));
    assert_profile_snapshot!(profile(&[
        "dump",
        "demo",
        "-p",
        "spec.components.ingressGateways[name:istio-ingressgateway].k8s.service.ports[0]"
    ]));
}

#[test]
fn dump_as_set_flags() {
    assert_profile_snapshot!(profile(&["dump", "-o", "flags"]));
    assert_profile_snapshot!(profile(&[
        "dump",
        "demo",
        "-p",
        "values.pilot",
        "-o",
        "flags"
    ]));
}

#[test]
fn dump_as_json_is_the_same_document() {
    let yaml = ferryctl()
        .args(["profile", "dump", "remote", "-o", "json"])
        .output()
        .expect("runs");
    assert_eq!(yaml.status.code(), Some(0));
    let text = String::from_utf8_lossy(&yaml.stdout);
    assert!(
        text.starts_with("{\n    \"apiVersion\""),
        "four-space indent as istioctl: {text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["spec"]["profile"], "remote");
    assert_eq!(v["spec"]["values"]["istiodRemote"]["enabled"], true);
}

#[test]
fn dump_applies_files_and_sets_in_order() {
    assert_profile_snapshot!(profile(&[
        "dump",
        "-f",
        "fixtures/install/pilot-ha.yaml",
        "--set",
        "components.pilot.k8s.replicaCount=3",
        "--set",
        "tag=1.20",
        "-p",
        "components",
    ]));
}

#[test]
fn dump_reads_an_overlay_from_stdin() {
    let mut child = ferryctl()
        .args(["profile", "dump", "-f", "-", "-p", "hub"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  hub: example.com/mesh\n")
        .expect("write");
    let out = child.wait_with_output().expect("finishes");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "example.com/mesh\n");
}

#[test]
fn diff_default_demo_differs_and_exits_1() {
    insta::assert_snapshot!(profile(&["diff", "default", "demo"]));
}

#[test]
fn diff_of_identical_profiles_exits_0() {
    assert_eq!(
        profile(&["diff", "default", "default"]),
        "exit: 0\n--- stdout\nProfiles are identical\n--- stderr\n"
    );
}

#[test]
fn diff_takes_files() {
    let out = profile(&["diff", "minimal", "fixtures/install/pilot-ha.yaml"]);
    assert!(out.starts_with("exit: 1\n--- stdout\nThe difference between profiles:\n--- minimal\n+++ fixtures/install/pilot-ha.yaml\n"), "{out}");
    assert!(out.contains("+        replicaCount: 2\n"), "{out}");
}

#[test]
fn diff_colors_only_when_wanted() {
    // Tests run without a terminal, so no color; NO_COLOR is honoured on terminals too.
    let out = profile(&["diff", "default", "demo"]);
    assert!(!out.contains('\u{1b}'), "{out}");
}

#[test]
fn bad_inputs_are_clear_errors() {
    insta::assert_snapshot!("unknown_profile", profile(&["dump", "production"]));
    insta::assert_snapshot!("refused_profile", profile(&["dump", "openshift"]));
    insta::assert_snapshot!(
        "malformed_set",
        profile(&["dump", "--set", "components.ingressGateways[0.enabled=true"])
    );
    insta::assert_snapshot!("set_without_value", profile(&["dump", "--set", "profile"]));
    insta::assert_snapshot!(
        "unknown_set_path",
        profile(&["dump", "--set", "components.pilot.k8s.replicaCont=3"])
    );
    insta::assert_snapshot!(
        "wrong_set_type",
        profile(&["dump", "--set", "components.pilot.enabled=maybe"])
    );
    insta::assert_snapshot!(
        "unknown_file_paths",
        profile(&["dump", "-f", "fixtures/install/typos.yaml"])
    );
    insta::assert_snapshot!(
        "bad_revision",
        profile(&["dump", "--set", "revision=Canary_1"])
    );
    insta::assert_snapshot!(
        "not_an_istio_operator",
        profile(&["dump", "-f", "fixtures/seed/reviews-routing.yaml"])
    );
    insta::assert_snapshot!(
        "missing_file",
        profile(&["dump", "-f", "fixtures/install/nope.yaml"])
    );
    insta::assert_snapshot!(
        "unknown_config_path",
        profile(&["dump", "-p", "components.pilott"])
    );
    insta::assert_snapshot!(
        "cni_enabled",
        profile(&["dump", "--set", "components.cni.enabled=true"])
    );
    insta::assert_snapshot!(
        "install_package_path",
        profile(&["dump", "--set", "installPackagePath=/x"])
    );
    insta::assert_snapshot!(
        "diff_unknown_profile",
        profile(&["diff", "default", "ambient"])
    );
}

#[test]
fn usage_errors_exit_64() {
    for args in [
        &["dump", "-o", "xml"][..],
        &["dump", "demo", "-f", "fixtures/install/pilot-ha.yaml"],
        &["dump", "-d", "manifests/"],
        &["list", "--charts", "x"],
        &["diff", "default"],
        &["dump", "a", "b"],
    ] {
        let out = ferryctl().arg("profile").args(args).output().expect("runs");
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn force_turns_validation_errors_into_warnings() {
    assert_profile_snapshot!(profile(&[
        "dump",
        "--force",
        "-f",
        "fixtures/install/typos.yaml",
        "--set",
        "values.global.nope=1",
        "-p",
        "components.pilot",
    ]));
}
