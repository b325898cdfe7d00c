use crate::{ferryctl, transcript};

#[test]
fn version_is_short_by_default() {
    let out = transcript(ferryctl().arg("version"));
    assert!(
        out.starts_with(&format!(
            "exit: 0\n--- stdout\nclient version: {}\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
}

#[test]
fn version_json_has_istioctl_keys() {
    let out = ferryctl()
        .args(["version", "-o", "json"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for key in ["version", "revision", "golang_version", "status", "tag"] {
        assert!(v["clientVersion"].get(key).is_some(), "missing {key}: {v}");
    }
}

#[test]
fn remote_version_without_a_mesh_prints_the_client_and_says_why() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = ferryctl()
        .args(["version", "--remote=true"])
        .env("FERRY_HOME", home.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("client version: {}\n", env!("CARGO_PKG_VERSION"))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("Istio is not present in the local mesh: no running control plane at "),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_64() {
    let out = ferryctl().arg("no-such-command").output().expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let out = ferryctl()
        .args(["analyze", "-o", "xml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
}
