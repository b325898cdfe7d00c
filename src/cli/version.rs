//! `ferryctl version`: client build information and, with `--remote` (the default, as
//! istioctl's), the versions of the running control planes (`GET /version` on their debug port)
//! and of the proxies connected to them (`GET /debug/syncz`), in istioctl's shapes. On a cluster
//! the control planes are the running `app=istiod` pods of the Istio namespace, their monitoring
//! port (15014) forwarded through the API server.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::cli::output::{OutputFormat, write_stdout};
use crate::cli::target::{self, Target};
use crate::config::emit as yaml;
use crate::exit::Exit;
use crate::kube::control_plane::{self, ControlPlaneError};
use crate::kube::portforward::PortForward;
use crate::local::registry::Registry;

/// istiod's monitoring port: `/version` and `/debug/syncz`.
const ISTIOD_MONITORING_PORT: u16 = 15014;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Use --short=false to generate full version information
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub short: bool,
    /// One of 'yaml' or 'json'.
    #[arg(short, long, value_parser = ["json", "yaml"])]
    pub output: Option<String>,
    /// Use --remote=false to suppress control plane and data plane check
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub remote: bool,
}

/// The `clientVersion` object istioctl prints (`pkg/version.BuildInfo`), same JSON keys.
#[derive(Debug, Serialize)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
    /// Named as istioctl names it so tools that read it keep working; holds the Rust compiler.
    pub golang_version: &'static str,
    pub status: &'static str,
    pub tag: &'static str,
}

pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    revision: env!("FERRY_GIT_REVISION"),
    golang_version: env!("FERRY_RUSTC_VERSION"),
    status: env!("FERRY_BUILD_STATUS"),
    tag: env!("CARGO_PKG_VERSION"),
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionOutput<'a> {
    client_version: &'a BuildInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    mesh_version: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_plane_version: Option<Vec<Value>>,
}

/// What the running mesh reports: one entry per control plane, one per connected proxy.
#[derive(Debug, Default)]
struct Remote {
    /// istioctl's `meshVersion` entries: `{"Component","Revision","Info"}`.
    control_planes: Vec<Value>,
    /// istioctl's `dataPlaneVersion` entries: `{"ID","IstioVersion","Type"}`.
    proxies: Vec<Value>,
}

/// A running control plane to ask: its revision, its component name (istiod pods' `istio`
/// label), where its debug API answers, and how to name it in a warning.
struct Plane {
    revision: String,
    component: String,
    debug: SocketAddr,
    what: String,
}

/// Asks each control plane for its version and connected proxies. One that does not answer
/// `/version` is reported and left out.
async fn remote(planes: &[Plane]) -> Remote {
    let get = |addr, path: &'static str| async move {
        crate::proxyconfig::admin::request(addr, http::Method::GET, path).await
    };
    let mut out = Remote::default();
    for cp in planes {
        let Ok(version) = get(cp.debug, "/version").await else {
            eprintln!("control plane {} did not answer /version", cp.what);
            continue;
        };
        let info: Value = serde_json::from_slice(&version).unwrap_or(Value::Null);
        out.control_planes.push(json!({
            "Component": cp.component,
            "Revision": cp.revision,
            "Info": info.get("clientVersion").cloned().unwrap_or(Value::Null),
        }));
        let syncz: Value = get(cp.debug, "/debug/syncz")
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        for p in syncz.as_array().into_iter().flatten() {
            let field = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            out.proxies.push(json!({
                "ID": field("proxy"),
                "IstioVersion": field("istio_version"),
                "Type": field("proxy_type"),
            }));
        }
    }
    out
}

/// The running control planes of the local mesh.
fn local_planes(registry: &Registry) -> Result<Vec<Plane>> {
    Ok(registry
        .control_planes()?
        .into_iter()
        .filter(|c| c.running())
        .map(|c| Plane {
            what: format!("{} at {}", c.revision, c.monitoring),
            component: "pilot".to_string(),
            debug: c.monitoring,
            revision: c.revision,
        })
        .collect())
}

/// The cluster's mesh versions; `None` (and a word on stderr) when Istio is not running there.
async fn cluster_remote(global: &GlobalArgs) -> Result<Option<Remote>> {
    let client = target::cluster_client(global).await?;
    let namespace = &global.istio_namespace;
    let pods = match control_plane::running(&client, namespace, control_plane::ISTIOD_SELECTOR)
        .await
    {
        Ok(pods) => pods,
        Err(ControlPlaneError::NotFound { namespace }) => {
            eprintln!(
                "Istio is not present in the cluster: no running Istio pods in namespace {namespace:?}"
            );
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    // The forwards stay open while `remote` asks through them.
    let mut forwards = Vec::with_capacity(pods.len());
    let mut planes = Vec::with_capacity(pods.len());
    for pod in &pods {
        let (name, revision) = control_plane::name_and_revision(pod);
        let component = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("istio"))
            .cloned()
            .unwrap_or_else(|| "pilot".to_string());
        match PortForward::start(&client, namespace, &name, ISTIOD_MONITORING_PORT).await {
            Ok(forward) => {
                planes.push(Plane {
                    revision,
                    component,
                    debug: forward.local_addr(),
                    what: format!("pod {name}.{namespace}"),
                });
                forwards.push(forward);
            }
            Err(e) => eprintln!("control plane pod {name}.{namespace}: {e}"),
        }
    }
    Ok(Some(remote(&planes).await))
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// istioctl's remote lines: control planes coalesced when their versions agree, data plane
/// versions with proxy counts (or one `version.ProxyInfo` per proxy with `--short=false`).
fn remote_lines(remote: &Remote, short: bool) -> String {
    let mut out = String::new();
    let versions: Vec<&str> = remote
        .control_planes
        .iter()
        .map(|c| str_of(c, "/Info/version"))
        .collect();
    if let Some(first) = versions.first() {
        if versions.iter().all(|v| v == first) {
            out.push_str(&format!("control plane version: {first}\n"));
        } else {
            for c in &remote.control_planes {
                out.push_str(&format!(
                    "pilot version: {} (revision {})\n",
                    str_of(c, "/Info/version"),
                    str_of(c, "/Revision")
                ));
            }
        }
    }
    if !short {
        for p in &remote.proxies {
            out.push_str(&format!(
                "data plane version: version.ProxyInfo{{ID:\"{}\", IstioVersion:\"{}\", Type:\"{}\"}}\n",
                str_of(p, "/ID"),
                str_of(p, "/IstioVersion"),
                str_of(p, "/Type")
            ));
        }
        return out;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &remote.proxies {
        *counts.entry(str_of(p, "/IstioVersion")).or_default() += 1;
    }
    let data = if counts.is_empty() {
        "none".to_string()
    } else {
        counts
            .iter()
            .map(|(v, n)| format!("{v} ({n} {})", if *n == 1 { "proxy" } else { "proxies" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!("data plane version: {data}\n"));
    out
}

pub fn run(global: &GlobalArgs, args: &VersionArgs) -> Result<Exit> {
    let remote = if args.remote {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        match target::choose(global)? {
            Target::Local(registry) => {
                let r = runtime.block_on(remote(&local_planes(&registry)?));
                if r.control_planes.is_empty() {
                    eprintln!(
                        "Istio is not present in the local mesh: no running control plane at {}",
                        registry.home().root().display()
                    );
                    None
                } else {
                    Some(r)
                }
            }
            Target::Kubernetes => runtime.block_on(cluster_remote(global))?,
        }
    } else {
        None
    };
    let out = VersionOutput {
        client_version: &BUILD,
        mesh_version: remote.as_ref().map(|r| r.control_planes.clone()),
        data_plane_version: remote.as_ref().map(|r| r.proxies.clone()),
    };
    let text = match args.output.as_deref().map(OutputFormat::parse) {
        Some(Some(OutputFormat::Json)) => format!("{}\n", serde_json::to_string_pretty(&out)?),
        Some(Some(OutputFormat::Yaml)) => yaml::to_string(&serde_json::to_value(&out)?),
        _ => {
            let client = if args.short {
                format!("client version: {}\n", BUILD.version)
            } else {
                format!(
                    "client version: version.BuildInfo{{Version:\"{}\", GitRevision:\"{}\", GolangVersion:\"{}\", BuildStatus:\"{}\", GitTag:\"{}\"}}\n",
                    BUILD.version, BUILD.revision, BUILD.golang_version, BUILD.status, BUILD.tag
                )
            };
            client
                + &remote
                    .map(|r| remote_lines(&r, args.short))
                    .unwrap_or_default()
        }
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}
