//! Records build facts for `ferryctl version`: git revision and tree status, and the compiler.
use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let revision = run("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let status = match run("git", &["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if s.is_empty() => "Clean",
        Some(_) => "Modified",
        None => "unknown",
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = run(&rustc, &["--version"]).unwrap_or_else(|| "rustc unknown".into());
    println!("cargo:rustc-env=FERRY_GIT_REVISION={revision}");
    println!("cargo:rustc-env=FERRY_BUILD_STATUS={status}");
    println!("cargo:rustc-env=FERRY_RUSTC_VERSION={rustc_version}");
    // Ask git where HEAD and the index live: in a worktree `.git` is a file, and watching a
    // path that does not exist reruns this script, and so recompiles the crate, on every build.
    for file in ["HEAD", "index"] {
        let path = run("git", &["rev-parse", "--git-path", file])
            .unwrap_or_else(|| format!(".git/{file}"));
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
