//! A local mesh home for end-to-end tests (`FERRY_HOME` in a temp dir), purged however the
//! test ends, and what tests do with it: run `ferryctl` there, read its records and logs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ferryctl;

pub struct LocalMesh {
    home: tempfile::TempDir,
}

impl LocalMesh {
    pub fn new() -> LocalMesh {
        LocalMesh {
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.home.path()
    }

    /// `ferryctl` on this mesh.
    pub fn ferryctl(&self) -> Command {
        let mut cmd = ferryctl();
        cmd.env("FERRY_HOME", self.root());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.ferryctl().args(args).output().expect("ferryctl runs")
    }

    /// Exit code, stdout and stderr of a run.
    pub fn outcome(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.run(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// stdout of a run that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `install --local -y` and `extra`, which must succeed.
    pub fn install(&self, extra: &[&str]) {
        let mut args = vec!["install", "--local", "-y"];
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    /// The JSON record at `rel` under the home, if there is one.
    pub fn record(&self, rel: &str) -> Option<Value> {
        let text = std::fs::read(self.root().join(rel)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn pid(&self, rel: &str) -> Option<u32> {
        self.record(rel)?["pid"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
    }

    /// Runs `args` until it succeeds with stdout that passes `check` (30 s at most); that stdout.
    pub fn wait_for(&self, args: &[&str], what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.run(args);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() && check(&stdout) {
                return stdout;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `workload run` of the sample app as reviews v1 on port 9080, in the background; its
    /// output goes to the log returned.
    pub fn run_reviews_v1(&self) -> (std::process::Child, PathBuf) {
        let log = self.root().join("workload.log");
        let log_file = std::fs::File::create(&log).expect("log");
        let run = self
            .ferryctl()
            .args(["workload", "run", "--name", "reviews-v1"])
            .args(["--service", "reviews", "--port", "9080:http"])
            .args(["--labels", "version=v1", "--"])
            .args([env!("CARGO_BIN_EXE_ferryctl"), "sample-app"])
            .args(["--service", "reviews", "--version", "v1"])
            .stdout(log_file.try_clone().expect("dup"))
            .stderr(log_file)
            .spawn()
            .expect("starts");
        (run, log)
    }

    /// Every log of the mesh, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.root().join("logs"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        paths.push(self.root().join("workload.log"));
        for p in paths {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            out.push_str(&format!("==> {} <==\n{text}\n", p.display()));
        }
        out
    }
}

impl Drop for LocalMesh {
    fn drop(&mut self) {
        let _ = self
            .ferryctl()
            .args(["uninstall", "--local", "--purge", "-y"])
            .output();
    }
}
