//! `ferryctl proxy-status` (`ps`): istioctl's sync status of every proxy, or for one proxy the
//! diff between its control plane's intended config and its own. Flags, target choice and
//! printing; the work is in `crate::proxystatus`.
//!
//! Sources of truth: every running control plane of the local mesh (over its debug HTTP API),
//! or one control plane at `--xds-address` (over ADS, istiod's debug types). A proxy's own config
//! comes from its admin API (found in the local registry) or from `--file`.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};
use clap::Args;
use serde_json::Value;

use super::GlobalArgs;
use super::analyze::parse_duration;
use super::output::write_stdout;
use super::target::{self, Target};
use crate::exit::{CommandError, Exit};
use crate::local::registry::{self, Registry};
use crate::proxyconfig::protojson;
use crate::proxystatus::gather::{self, ControlPlane};
use crate::proxystatus::sync::ControlPlaneSync;
use crate::proxystatus::{compare, response, table};

#[derive(Debug, Args)]
#[command(
    long_about = "Retrieves last sent and last acknowledged xDS sync from Istiod to each Envoy in \
                  the mesh. With a proxy name, compares the configuration the control plane \
                  intends for it with the proxy's own (its admin API's /config_dump, or --file).",
    after_help = "Examples:\n  \
        # Retrieve sync status for all Envoys in a mesh\n  \
        ferryctl proxy-status\n\n  \
        # Retrieve sync status with per-type details\n  \
        ferryctl proxy-status -v 1\n\n  \
        # Retrieve sync diff for a single Envoy and Istiod\n  \
        ferryctl proxy-status istio-ingressgateway.istio-system\n\n  \
        # Retrieve sync diff between Istiod and one pod under a deployment\n  \
        ferryctl proxy-status deployment/productpage-v1\n\n  \
        # Write proxy config-dump to file, and compare to Istio control plane\n  \
        ferryctl proxy-config all -o json istio-ingressgateway.istio-system > gw.json\n  \
        ferryctl proxy-status istio-ingressgateway.istio-system --file gw.json\n\n  \
        # Ask one control plane over plain-text ADS\n  \
        ferryctl proxy-status --xds-address 127.0.0.1:15010"
)]
pub struct ProxyStatusArgs {
    /// [<type>/]<name>[.<namespace>] of a proxy: print its config diff instead of the table
    #[arg(value_name = "PROXY")]
    pub proxy: Option<String>,
    /// Control plane revision to target (all running ones by default)
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    /// XDS Endpoint (host:port of a control plane's plain-text ADS)
    #[arg(long = "xds-address", value_name = "ADDR")]
    pub xds_address: Option<String>,
    /// XDS Endpoint certificate directory
    #[arg(long = "cert-dir", value_name = "DIR")]
    pub cert_dir: Option<String>,
    /// Istiod pod label selector
    #[arg(long = "xds-label", value_name = "SELECTOR")]
    pub xds_label: Option<String>,
    /// Istiod pod port
    #[arg(long = "xds-port", default_value_t = 15012)]
    pub xds_port: u16,
    /// The duration to wait before failing
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// XDS Subject Alternative Name (for example istiod.istio-system.svc)
    #[arg(long)]
    pub authority: Option<String>,
    /// Skip server certificate and domain verification. (NOT SECURE!)
    #[arg(long)]
    pub insecure: bool,
    /// Use plain-text HTTP/2 when connecting to server (no TLS)
    #[arg(long)]
    pub plaintext: bool,
    /// Envoy config dump JSON file
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<String>,
    /// Envoy proxy admin port (replaces the port of the registered admin address)
    #[arg(long = "proxy-admin-port", value_name = "PORT")]
    pub proxy_admin_port: Option<u16>,
    /// Output format: one of table|json|yaml
    #[arg(short = 'o', long, default_value = "table", value_parser = ["table", "json", "yaml"])]
    pub output: String,
    /// Verbosity level: 0 (subscribed types) or 1 (a column per type)
    #[arg(short = 'v', long, default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=1))]
    pub verbosity: u8,
}

/// Where the control planes are, and the registry of the local mesh when there is one.
struct Sources {
    planes: Vec<ControlPlane>,
    registry: Option<Registry>,
    /// For messages: the local mesh's home, or the ADS address.
    place: String,
}

pub fn run(global: &GlobalArgs, args: &ProxyStatusArgs) -> Result<Exit> {
    let timeout = parse_duration(&args.timeout)
        .map_err(|e| CommandError::usage(format!("--timeout: {e}")))?;
    if args.cert_dir.is_some() || args.authority.is_some() {
        return Err(CommandError::usage(
            "--cert-dir and --authority configure TLS to the control plane, which Ferry's \
             control plane does not serve yet: its ADS is plain text (--plaintext)",
        )
        .into());
    }
    let sources = sources(global, args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let text = match &args.proxy {
        None => runtime.block_on(list(global, args, &sources, timeout))?,
        Some(proxy) => runtime.block_on(diff(global, args, &sources, proxy, timeout))?,
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}

fn sources(global: &GlobalArgs, args: &ProxyStatusArgs) -> Result<Sources> {
    if let Some(address) = &args.xds_address {
        return Ok(Sources {
            planes: vec![ControlPlane::Ads {
                address: address.clone(),
            }],
            // Only to find a proxy's admin API when no --file is given.
            registry: Registry::open().ok(),
            place: address.clone(),
        });
    }
    let registry = match target::choose(global)? {
        Target::Local(registry) => registry,
        Target::Kubernetes => {
            return Err(anyhow!(
                "proxy-status on a Kubernetes cluster is not available yet in this build of \
                 ferryctl: pass --local for the local mesh, or --xds-address ADDR to ask a control \
                 plane directly"
            ));
        }
    };
    let home = registry.home().root().display().to_string();
    let mut running: Vec<_> = registry
        .control_planes()?
        .into_iter()
        .filter(|cp| cp.running())
        .filter(|cp| args.revision.as_ref().is_none_or(|r| &cp.revision == r))
        .collect();
    // By name, as istioctl lists istiods: `istiod` before `istiod-canary`.
    running.sort_by_key(|cp| cp.name());
    if running.is_empty() {
        let which = args
            .revision
            .as_ref()
            .map(|r| format!(" of revision {r:?}"))
            .unwrap_or_default();
        return Err(CommandError::failure(format!(
            "no running Istio control plane{which} in the local mesh at {home}"
        ))
        .into());
    }
    Ok(Sources {
        planes: running
            .iter()
            .map(|cp| ControlPlane::Http {
                name: cp.name(),
                monitoring: cp.monitoring,
            })
            .collect(),
        registry: Some(registry),
        place: format!("the local mesh at {home}"),
    })
}

/// Asks every control plane at once. One that does not answer is reported and skipped; if none
/// answers, that is the error.
async fn gather_all(planes: &[ControlPlane], timeout: Duration) -> Result<Vec<ControlPlaneSync>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, cp) in planes.iter().enumerate() {
        let cp = cp.clone();
        tasks.spawn(async move { (i, gather::syncz(&cp, timeout).await) });
    }
    let mut answers = Vec::new();
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.context("asking a control plane")?;
        match result {
            Ok(sync) => answers.push((i, sync)),
            Err(e) => {
                eprintln!("warning: {e}");
                first_error.get_or_insert(e);
            }
        }
    }
    if answers.is_empty()
        && let Some(e) = first_error
    {
        return Err(e.into());
    }
    answers.sort_by_key(|(i, _)| *i);
    Ok(answers.into_iter().map(|(_, s)| s).collect())
}

async fn list(
    global: &GlobalArgs,
    args: &ProxyStatusArgs,
    sources: &Sources,
    timeout: Duration,
) -> Result<String> {
    let mut planes = gather_all(&sources.planes, timeout).await?;
    if let Some(ns) = global.namespace.as_deref() {
        for cp in &mut planes {
            cp.proxies.retain(|p| p.namespace == ns);
        }
    }
    Ok(match args.output.as_str() {
        "json" => planes
            .iter()
            .map(|cp| protojson::to_go_json(&response::discovery_response(cp)))
            .collect(),
        "yaml" => planes
            .iter()
            .map(|cp| protojson::to_go_yaml(&response::discovery_response(cp)))
            .collect::<Vec<_>>()
            .join("---\n"),
        _ if args.verbosity >= 1 => table::verbose(&planes, SystemTime::now()),
        _ => table::list(&planes),
    })
}

/// `[<type>/]<name>[.<namespace>]` as a proxy id, the namespace defaulting to `namespace`.
async fn diff(
    global: &GlobalArgs,
    args: &ProxyStatusArgs,
    sources: &Sources,
    query: &str,
    timeout: Duration,
) -> Result<String> {
    let namespace = global.namespace.as_deref().unwrap_or("default");
    // The proxy's own config: a saved dump, or its admin API found in the registry.
    let (id, record, envoy) = match &args.file {
        Some(file) => {
            let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
            let dump: Value =
                crate::proxyconfig::dump::parse_json(&bytes).with_context(|| file.clone())?;
            (registry::proxy_id(query, namespace), None, dump)
        }
        None => {
            let registry = sources.registry.as_ref().ok_or_else(|| {
                anyhow!(
                    "no local mesh to find proxy {query:?} in: pass --file with its config dump"
                )
            })?;
            let record = registry.find_proxy_in(query, namespace)?;
            if !record.running() {
                return Err(CommandError::failure(format!(
                    "proxy {} is registered but its process ({}) is not running",
                    record.id(),
                    record.pid
                ))
                .into());
            }
            let dump = gather::proxy_config(record.admin_at(args.proxy_admin_port)).await?;
            (record.id(), Some(record), dump)
        }
    };
    // The control plane the proxy was started against first: it is most likely the one serving it.
    let mut planes = sources.planes.clone();
    if let Some(record) = &record {
        planes.sort_by_key(|cp| match cp {
            ControlPlane::Http { name, .. } => {
                *name != crate::local::registry::control_plane_name(&record.revision)
            }
            ControlPlane::Ads { .. } => false,
        });
    }
    for cp in &planes {
        if let Some(intended) = gather::intended_config(cp, &id, timeout).await? {
            return Ok(compare::compare(&intended, &envoy)?);
        }
    }
    let asked: Vec<String> = planes.iter().map(ControlPlane::describe).collect();
    Err(CommandError::failure(format!(
        "proxy {id} is not connected to any control plane of {} (asked {})",
        sources.place,
        asked.join(", ")
    ))
    .into())
}
