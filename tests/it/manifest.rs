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
