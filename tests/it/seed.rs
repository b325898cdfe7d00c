//! Every YAML example of the seed document parses and is analyzed (`fixtures/seed/`), and the
//! seed's VirtualService/DestinationRule pair yields the IST0101 finding for subset v3.

use crate::ferryctl;

#[test]
fn every_seed_example_is_accepted() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/seed")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 17,
        "expected the seed's 17 examples, found {}",
        files.len()
    );
    for f in files {
        let out = ferryctl()
            .args(["analyze", "--use-kube=false", "-A", "-o", "json"])
            .arg(&f)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("Error(s) adding files"),
            "{} did not parse: {stderr}",
            f.display()
        );
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 79)),
            "{}: exit {code:?} {stderr}",
            f.display()
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON findings");
    }
}

#[test]
fn the_seed_routes_to_an_undefined_subset() {
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let found = v.as_array().expect("array").iter().any(|m| {
        m["code"] == "IST0101"
            && m["message"] == "Referenced host+subset in destinationrule not found: \"reviews+v3\""
    });
    assert!(found, "{v:#}");
}

#[test]
fn the_seed_injection_block_as_written_is_a_clear_duplicate_key_error() {
    // The seed prints a Namespace and a Pod in one block without `---`; as one document that is
    // a duplicate key, and the error must name both lines.
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = std::fs::read_to_string("fixtures/seed/injection-control.yaml")
        .expect("fixture")
        .replace("\n---\n", "\n");
    let path = dir.path().join("raw.yaml");
    std::fs::write(&path, raw).expect("write");
    let out = ferryctl()
        .args(["analyze", "--use-kube=false"])
        .arg(&path)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(
        stderr.contains("duplicate key \"apiVersion\" in a mapping (first defined at line 4)"),
        "{stderr}"
    );
}
