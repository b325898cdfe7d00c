//! Records build facts for `ferryctl version`: git revision and tree status, and the compiler;
//! and compiles the Envoy `.proto` files `config_dump` JSON needs into a descriptor set
//! (`src/xds/dump.rs` decodes it), with protox, so no `protoc` is needed.
use std::path::{Path, PathBuf};
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
    config_dump_descriptors();
}

/// The files whose messages `/config_dump` must print: the dump itself and every type an `Any`
/// in it may hold, which are the types Ferry's translator packs plus those Istio's proxies
/// commonly carry. Compiling only these (and their imports) rather than the whole API also keeps
/// clear of protox resolving a relative name against an unrelated package of the same batch.
const DUMP_PROTOS: &[&str] = &[
    "envoy/admin/v3/config_dump.proto",
    "envoy/config/listener/v3/listener.proto",
    "envoy/config/route/v3/route.proto",
    "envoy/config/cluster/v3/cluster.proto",
    "envoy/config/endpoint/v3/endpoint.proto",
    "envoy/extensions/access_loggers/file/v3/file.proto",
    "envoy/extensions/access_loggers/stream/v3/stream.proto",
    "envoy/extensions/filters/http/cors/v3/cors.proto",
    "envoy/extensions/filters/http/fault/v3/fault.proto",
    "envoy/extensions/filters/http/grpc_stats/v3/config.proto",
    "envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto",
    "envoy/extensions/filters/http/health_check/v3/health_check.proto",
    "envoy/extensions/filters/http/rbac/v3/rbac.proto",
    "envoy/extensions/filters/http/router/v3/router.proto",
    "envoy/extensions/filters/http/set_filter_state/v3/set_filter_state.proto",
    "envoy/extensions/filters/http/wasm/v3/wasm.proto",
    "envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto",
    "envoy/extensions/filters/listener/original_dst/v3/original_dst.proto",
    "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
    "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
    "envoy/extensions/filters/network/rbac/v3/rbac.proto",
    "envoy/extensions/filters/network/set_filter_state/v3/set_filter_state.proto",
    "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
    "envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto",
    "envoy/extensions/request_id/uuid/v3/uuid.proto",
    "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto",
    "envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto",
    "envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream.proto",
    "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto",
    "envoy/extensions/transport_sockets/tls/v3/secret.proto",
    "envoy/extensions/transport_sockets/tls/v3/tls.proto",
    "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
    // cncf/xds types envoy-types does not ship, written in src/xds/dump/.
    "udpa/type/v1/typed_struct.proto",
    "xds/type/v3/typed_struct.proto",
    "xds/type/matcher/v3/ip.proto",
];

/// Where `.proto` files live inside envoy-types' `proto/` directory.
const ENVOY_TYPES_INCLUDES: &[&str] = &[
    "data-plane-api",
    "xds",
    "googleapis",
    "protoc-gen-validate",
    "cel-spec/proto",
    "opentelemetry-proto",
    "client_model",
];

fn config_dump_descriptors() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let local = manifest_dir.join("src/xds/dump");
    println!("cargo:rerun-if-changed=src/xds/dump");
    let proto = envoy_types_dir(&manifest_dir).join("proto");
    let mut includes = vec![local];
    includes.extend(ENVOY_TYPES_INCLUDES.iter().map(|d| proto.join(d)));
    let mut compiler = protox::Compiler::new(&includes)
        .unwrap_or_else(|e| panic!("protox include paths {includes:?}: {e}"));
    compiler.include_imports(true).include_source_info(false);
    compiler
        .open_files(DUMP_PROTOS)
        .unwrap_or_else(|e| panic!("compiling the config_dump protos: {e:?}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(
        out.join("config_dump_descriptors.bin"),
        compiler.encode_file_descriptor_set(),
    )
    .expect("OUT_DIR is writable");
}

/// The source directory of the envoy-types package this crate builds against: as Cargo resolved
/// it (registry, vendored or patched) when `cargo metadata` can answer offline, else the
/// registry's copy of the version `Cargo.lock` pins.
fn envoy_types_dir(manifest_dir: &Path) -> PathBuf {
    match envoy_types_dir_from_metadata(manifest_dir) {
        Ok(dir) => dir,
        // `cargo metadata` reads the manifest of every package in the lock file, dev-dependencies
        // included, and a fresh machine's first `cargo build` or `cargo run` downloads only what
        // it builds: offline, metadata fails there (and online it would wait on the package-cache
        // lock the outer cargo holds). The downloaded envoy-types is in the registry's sources.
        Err(metadata) => envoy_types_dir_from_registry(manifest_dir).unwrap_or_else(|registry| {
            panic!("finding envoy-types' .proto files: {metadata}; and {registry}")
        }),
    }
}

/// The envoy-types `Cargo.lock` pins, unpacked under `$CARGO_HOME/registry/src/<index>/`.
fn envoy_types_dir_from_registry(manifest_dir: &Path) -> Result<PathBuf, String> {
    let lock_path = manifest_dir.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|e| format!("reading {}: {e}", lock_path.display()))?;
    let versions = locked_versions(&lock, "envoy-types");
    let [version] = versions.as_slice() else {
        return Err(format!(
            "{} pins {} versions of envoy-types, not one",
            lock_path.display(),
            versions.len()
        ));
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let sources = cargo_home.join("registry").join("src");
    let indexes =
        std::fs::read_dir(&sources).map_err(|e| format!("reading {}: {e}", sources.display()))?;
    indexes
        .filter_map(Result::ok)
        .map(|index| index.path().join(format!("envoy-types-{version}")))
        .find(|dir| dir.join("Cargo.toml").is_file())
        .ok_or_else(|| format!("no envoy-types-{version} under {}", sources.display()))
}

/// The versions of package `name` in a `Cargo.lock`: each `[[package]]` table names the package,
/// then its version.
fn locked_versions<'a>(lock: &'a str, name: &str) -> Vec<&'a str> {
    let name_line = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    let mut versions = Vec::new();
    while let Some(line) = lines.next() {
        if line.trim() == name_line
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            versions.push(version);
        }
    }
    versions
}

/// The source directory of the envoy-types package this crate builds against, as Cargo resolved
/// it: `cargo metadata` knows a vendored or patched copy that a look under `CARGO_HOME` would
/// miss, and a package exposes no path to its dependents' build scripts.
fn envoy_types_dir_from_metadata(manifest_dir: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Filtered to the target platform: unfiltered, `cargo metadata` wants every package of the
    // lock file on disk, and a fresh machine's registry holds only this platform's (a build on
    // Linux never downloads anstyle-wincon), so `--offline` failed there.
    let target = std::env::var("TARGET").expect("cargo sets it");
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &target])
        .current_dir(manifest_dir)
        .output()
        .map_err(|e| format!("running {cargo} metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    // The envoy-types this package depends on, not any other version elsewhere in the graph.
    // This package is found by its manifest: `resolve.root` is null in a virtual workspace.
    let own_manifest = manifest_dir.join("Cargo.toml");
    let root = meta["packages"]
        .as_array()
        .and_then(|ps| {
            ps.iter().find(|p| {
                p["manifest_path"].as_str().map(Path::new) == Some(own_manifest.as_path())
            })
        })
        .and_then(|p| p["id"].as_str())
        .expect("metadata lists this package");
    let nodes = meta["resolve"]["nodes"]
        .as_array()
        .expect("metadata has nodes");
    let id = nodes
        .iter()
        .find(|n| n["id"] == root)
        .and_then(|n| n["deps"].as_array())
        .and_then(|deps| deps.iter().find(|d| d["name"] == "envoy_types"))
        .and_then(|d| d["pkg"].as_str())
        .expect("ferry depends on envoy-types");
    let manifest = meta["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == id))
        .and_then(|p| p["manifest_path"].as_str())
        .expect("metadata lists envoy-types");
    Ok(Path::new(manifest)
        .parent()
        .expect("a manifest has a directory")
        .to_path_buf())
}
