//! Hostile and broken input: clear errors with positions, nothing else lost, no panics, bounded
//! time.

use std::time::{Duration, Instant};

use crate::{ferryctl, transcript};

fn analyze(args: &[&str]) -> String {
    transcript(ferryctl().arg("analyze").arg("--use-kube=false").args(args))
}

#[test]
fn malformed_yaml_names_file_line_and_column_and_other_files_still_run() {
    insta::assert_snapshot!(analyze(&[
        "fixtures/bad/malformed.yaml",
        "fixtures/seed/reviews-routing.yaml"
    ]));
}

#[test]
fn parse_errors_alone_exit_65() {
    insta::assert_snapshot!(analyze(&["fixtures/bad/malformed.yaml"]));
}

#[test]
fn duplicate_keys_name_both_lines() {
    insta::assert_snapshot!(analyze(&["fixtures/bad/duplicate-key.yaml"]));
}

#[test]
fn an_object_in_two_files_is_reported_with_both_places() {
    insta::assert_snapshot!(analyze(&["fixtures/dup"]));
}

#[test]
fn unknown_api_versions_list_the_served_ones() {
    insta::assert_snapshot!(analyze(&["fixtures/bad/unknown-version.yaml"]));
}

#[test]
fn unknown_kinds_are_skipped_and_listed_with_verbose() {
    let out = analyze(&["-v", "fixtures/bad/unknown-kind.yaml"]);
    assert!(out.starts_with("exit: 0\n"), "{out}");
    assert!(
        out.contains(
            "Application istio-config (argoproj.io/v1alpha1) fixtures/bad/unknown-kind.yaml:1"
        ),
        "{out}"
    );
    assert!(out.contains("Skipped analyzers:"), "{out}");
}

#[test]
fn billion_laughs_fails_fast() {
    let started = Instant::now();
    let out = analyze(&["fixtures/bad/billion-laughs.yaml"]);
    let took = started.elapsed();
    assert!(out.starts_with("exit: 65\n"), "{out}");
    assert!(out.contains("alias bomb"), "{out}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn deep_nesting_is_refused() {
    let out = analyze(&["fixtures/bad/deep.yaml"]);
    assert!(out.starts_with("exit: 65\n"), "{out}");
    assert!(out.contains("fixtures/bad/deep.yaml:1:"), "{out}");
}

#[test]
fn non_utf8_is_an_error_not_a_panic() {
    insta::assert_snapshot!(analyze(&["fixtures/bad/not-utf8.yaml"]));
}

#[test]
fn oversized_documents_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.yaml");
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n");
    let line = format!("  k{{}}: {}\n", "x".repeat(1000));
    let mut i = 0;
    while text.len() <= 11 * 1024 * 1024 {
        text.push_str(&line.replace("{}", &i.to_string()));
        i += 1;
    }
    text.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: small\n");
    std::fs::write(&path, text).expect("write");
    let out = ferryctl()
        .args(["analyze", "--use-kube=false"])
        .arg(&path)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(
        stderr.contains("document is larger than 10 MiB"),
        "{stderr}"
    );
}

#[test]
fn missing_files_are_named() {
    let out = analyze(&["fixtures/no-such-file.yaml"]);
    assert!(out.starts_with("exit: 65\n"), "{out}");
    assert!(
        out.contains("fixtures/no-such-file.yaml: no such file or directory"),
        "{out}"
    );
}

#[test]
fn json_lists_are_read_and_json_has_no_line() {
    insta::assert_snapshot!(analyze(&["fixtures/list.json"]));
}

#[test]
fn random_bytes_never_panic() {
    // A fixed-seed xorshift so failures reproduce.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"ab:- \n\t[]{}&*!|>'\"%@`#,?01.\x00\xff";
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..40 {
        let len = (next() % 400) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let path = dir.path().join(format!("f{i}.yaml"));
        std::fs::write(&path, &bytes).expect("write");
    }
    let out = ferryctl()
        .args(["analyze", "--use-kube=false"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 65 | 79)),
        "exit {code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::Stdio;
    let mut child = ferryctl()
        .args(["completion", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    // Close our end of stdout straight away, as `| head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
