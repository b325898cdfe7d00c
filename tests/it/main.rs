//! End-to-end tests of the `ferryctl` binary (one test binary, as ripgrep and uv do).

mod analyze;
mod app_probe;
mod authz;
mod bad_input;
mod discovery;
mod docs;
mod gateway_tls;
mod http2_abuse;
mod kube;
mod kube_analyze;
mod kube_ca;
mod kube_gateway_tls;
mod kube_inject;
mod kube_inject_webhook;
mod kube_install;
mod kube_manifest;
mod kube_multicluster;
mod kube_precheck;
mod kube_reach;
mod kube_remote_secret;
mod kube_tag;
mod kube_uninstall;
mod kube_upgrade;
mod kube_verify;
mod local;
mod local_mesh;
mod manifest;
mod mesh;
mod mtls;
mod profile;
mod proxy_config;
mod proxy_status;
mod resilience;
mod seed;
mod tcp;
mod telemetry;
mod version;
mod webhook;

use std::process::Command;

/// The built `ferryctl`, with a clean environment for reproducible output.
pub fn ferryctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferryctl"));
    for name in ferry::cli::proxy::POD_ENVIRONMENT {
        cmd.env_remove(name);
    }
    cmd.env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .env("HOME", "/nonexistent-home-for-tests")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Exit code, stdout and stderr of a run, as one snapshot-friendly string.
pub fn transcript(cmd: &mut Command) -> String {
    let out = cmd.output().expect("ferryctl runs");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Polls `check` until it holds; fails the test naming `what` after `limit`.
pub(crate) fn eventually(limit: std::time::Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
