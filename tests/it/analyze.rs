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
