//! `ferryctl analyze` end to end: fixtures in, stdout, stderr and exit code out.

use std::io::Write;
use std::process::Stdio;

use crate::{ferryctl, transcript};

fn analyze(args: &[&str]) -> String {
    transcript(ferryctl().arg("analyze").arg("--use-kube=false").args(args))
}

#[test]
fn seed_subset_v3_is_missing() {
    insta::assert_snapshot!(analyze(&["fixtures/seed/reviews-routing.yaml"]));
}

#[test]
fn use_kube_without_cluster_suggests_files_only() {
    let out = transcript(ferryctl().args(["analyze", "fixtures/seed"]));
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(out.contains("--use-kube=false"), "{out}");
}

#[test]
fn findings_fail_json_output_too() {
    let out = ferryctl()
        .args([
            "analyze",
            "--use-kube=false",
            "-o",
            "json",
            "fixtures/seed/reviews-routing.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(79));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON only");
    assert_eq!(v[0]["code"], "IST0101");
    assert_eq!(v[0]["reference"], "fixtures/seed/reviews-routing.yaml:23");
}

#[test]
fn stdin_is_read() {
    let mut child = ferryctl()
        .args(["analyze", "--use-kube=false", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let text = std::fs::read("fixtures/seed/reviews-routing.yaml").expect("fixture");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&text)
        .expect("write");
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(79));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(VirtualService default/reviews -:23)"));
}

#[test]
fn yaml_output_matches_istioctl_shape() {
    insta::assert_snapshot!(analyze(&[
        "-o",
        "yaml",
        "fixtures/seed/reviews-routing.yaml"
    ]));
}

#[test]
fn sarif_output_locates_findings() {
    let out = ferryctl()
        .args([
            "analyze",
            "--use-kube=false",
            "-o",
            "sarif",
            "fixtures/seed/reviews-routing.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(79));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif is JSON");
    assert_eq!(v["version"], "2.1.0");
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "IST0101");
    assert_eq!(result["level"], "error");
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "fixtures/seed/reviews-routing.yaml"
    );
    assert_eq!(loc["region"]["startLine"], 23);
    assert_eq!(v["runs"][0]["tool"]["driver"]["rules"][0]["id"], "IST0101");
}

#[test]
fn suppression_by_flag_and_annotation() {
    let out = analyze(&[
        "-S",
        "IST0101=VirtualService default/*",
        "fixtures/seed/reviews-routing.yaml",
    ]);
    assert!(out.starts_with("exit: 0\n"), "{out}");
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string("fixtures/seed/reviews-routing.yaml")
        .expect("fixture")
        .replacen(
            "  name: reviews\n",
            "  name: reviews\n  annotations:\n    galley.istio.io/analyze-suppress: IST0101\n",
            1,
        );
    let path = dir.path().join("vs.yaml");
    std::fs::write(&path, text).expect("write");
    let out = transcript(ferryctl().args(["analyze", "--use-kube=false"]).arg(&path));
    assert!(out.starts_with("exit: 0\n"), "{out}");
}

#[test]
fn bad_suppression_values_are_errors() {
    // istioctl checks the value when the command runs, so it exits 1, not 64.
    let out = analyze(&["-S", "IST0101", "fixtures/seed/reviews-routing.yaml"]);
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(
        out.contains("IST0101 is not a valid suppression value"),
        "{out}"
    );
    let out = analyze(&["-S", "IST9999=*", "fixtures/seed/reviews-routing.yaml"]);
    assert!(
        out.contains("Warning: Supplied message code 'IST9999' is an unknown message code"),
        "{out}"
    );
}

#[test]
fn thresholds_filter_and_fail() {
    // Findings below the failure threshold do not fail the run.
    let out = analyze(&[
        "--output-threshold",
        "Warning",
        "--failure-threshold",
        "Error",
        "fixtures/seed/peer-authentication.yaml",
    ]);
    assert!(out.starts_with("exit: 0\n"), "{out}");
    let out = analyze(&["--failure-threshold", "bogus", "fixtures/seed"]);
    assert!(out.starts_with("exit: 64\n"), "{out}");
}

#[test]
fn other_namespaces_need_all_namespaces() {
    let out = analyze(&["-n", "other", "fixtures/seed/reviews-routing.yaml"]);
    // Objects without a namespace are placed in the selected one, so the finding follows them.
    assert!(out.contains("VirtualService other/reviews"), "{out}");
    let out = analyze(&["-A", "fixtures/seed/reviews-routing.yaml"]);
    assert!(
        out.contains("(VirtualService reviews fixtures/seed/reviews-routing.yaml:23)"),
        "{out}"
    );
}

#[test]
fn list_analyzers() {
    let out = transcript(ferryctl().args(["analyze", "-L"]));
    assert!(out.starts_with("exit: 0\n"), "{out}");
    assert!(
        out.contains("* virtualservice.DestinationRuleAnalyzer:\n    Checks the destination rules associated with each virtual service\n"),
        "{out}"
    );
}

#[test]
fn colors_only_when_asked() {
    let out = analyze(&["--color", "fixtures/seed/reviews-routing.yaml"]);
    assert!(
        out.contains("\u{1b}[1;31mError\u{1b}[0m [IST0101]"),
        "{out}"
    );
    let out = analyze(&["fixtures/seed/reviews-routing.yaml"]);
    assert!(!out.contains('\u{1b}'), "piped output has no colors: {out}");
}

#[test]
fn readme_main_job_on_the_samples() {
    insta::assert_snapshot!(analyze(&["-A", "fixtures/samples"]));
}

#[test]
fn a_closed_pipe_keeps_the_findings_exit_code() {
    let mut child = ferryctl()
        .args([
            "analyze",
            "--use-kube=false",
            "fixtures/seed/reviews-routing.yaml",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(79));
}

#[test]
fn removed_recursive_flag_explains_itself() {
    let out = analyze(&["-R", "fixtures/seed"]);
    assert_eq!(
        out,
        "exit: 0\n--- stdout\n--- stderr\nThe recursive flag has been removed and is hardcoded to true without explicitly specifying it.\n"
    );
}

#[test]
fn output_formats_ignore_case() {
    let out = analyze(&["-o", "JSON", "fixtures/seed/reviews-routing.yaml"]);
    assert!(out.contains("\"code\": \"IST0101\""), "{out}");
}

#[test]
fn success_names_the_files_even_for_all_namespaces() {
    let out = analyze(&["-A", "fixtures/seed/bookinfo-gateway.yaml"]);
    assert_eq!(
        out,
        "exit: 0\n--- stdout\n\n--- stderr\n\u{2714} No validation issues found when analyzing fixtures/seed/bookinfo-gateway.yaml.\n"
    );
    // Machines get an empty array on stdout; the note stays on stderr.
    let out = analyze(&["-o", "json", "fixtures/seed/bookinfo-gateway.yaml"]);
    assert!(
        out.contains("--- stdout\n[]\n--- stderr\n\u{2714} No validation issues"),
        "{out}"
    );
}

#[test]
fn excluded_namespaces_are_not_analyzed() {
    let out = analyze(&["-A", "fixtures/samples"]);
    assert!(out.contains("bookinfo/reviews"), "{out}");
    let out = analyze(&["-A", "--exclude-namespaces", "bookinfo", "fixtures/samples"]);
    assert!(out.starts_with("exit: 0\n"), "{out}");
    assert!(!out.contains("(VirtualService bookinfo/"), "{out}");
}

#[test]
fn a_file_given_twice_is_read_once() {
    let out = analyze(&[
        "fixtures/seed/bookinfo-gateway.yaml",
        "fixtures/seed/bookinfo-gateway.yaml",
    ]);
    assert!(out.starts_with("exit: 0\n"), "{out}");
}
