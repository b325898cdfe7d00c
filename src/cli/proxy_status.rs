//! `ferryctl proxy-status` (`ps`): istioctl's sync status of every proxy, or for one proxy the
//! diff between its control plane's intended config and its own. Flags, target choice and
//! printing; the work is in `crate::proxystatus`.
//!
//! Sources of truth: every running control plane of the target (over its debug HTTP API: the
//! local mesh's recorded addresses, or on a cluster the running istiod pods' monitoring port
//! 15014, port-forwarded through the API server), or one control plane at `--xds-address` (over
//! ADS, istiod's debug types). A proxy's own config comes from its admin API (found in the local
//! registry, or the pod's `--proxy-admin-port` port-forwarded) or from `--file`.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};
use clap::Args;
use serde_json::Value;

use super::GlobalArgs;
use super::analyze::parse_duration;
use super::output::write_stdout;
use super::target::{self, Target};
use crate::exit::{CommandError, Exit};
use crate::kube::control_plane;
use crate::kube::pod::{self, PodRef};
use crate::kube::portforward::{FAILURE_GRACE, PortForward};
use crate::local::registry::{self, Registry};
use crate::proxyconfig::admin::AdminError;
use crate::proxyconfig::protojson;
use crate::proxystatus::gather::{self, ControlPlane, GatherError};
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
    /// Istiod pod label selector (default app=istiod)
    #[arg(long = "xds-label", value_name = "SELECTOR")]
    pub xds_label: Option<String>,
    /// Istiod pod port (istioctl's xDS port; Ferry asks istiod pods over their monitoring port
    /// 15014, which serves the same answers over HTTP)
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
    /// Envoy proxy admin port (on a cluster: the pod's port to forward, default 15000; on the
    /// local mesh: replaces the port of the registered admin address)
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

/// Envoy's admin port in a sidecar or gateway pod (istioctl's `--proxy-admin-port` default).
const POD_ADMIN_PORT: u16 = 15000;

/// istiod's monitoring port: its debug API (`/debug/syncz`, `/debug/config_dump`).
const ISTIOD_MONITORING_PORT: u16 = 15014;

/// Where a proxy's own config is read from when no `--file` is given.
enum Proxies {
    /// The local mesh's registry, when there is one.
    Local(Option<Registry>),
    /// The cluster's pods.
    Cluster,
}

/// Where the control planes are, and where the proxies are.
struct Sources {
    planes: Vec<ControlPlane>,
    /// For each plane, the port-forward it is reached through (istiod pods of a cluster); kept
    /// open while the planes are asked.
    forwards: Vec<Option<PortForward>>,
    proxies: Proxies,
    /// For messages: the local mesh's home, the ADS address, or the cluster's namespace.
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let text = runtime.block_on(async {
        let sources = sources(global, args).await?;
        match &args.proxy {
            None => list(global, args, &sources, timeout).await,
            Some(proxy) => diff(global, args, &sources, proxy, timeout).await,
        }
    })?;
    write_stdout(&text)?;
    Ok(Exit::Success)
}

async fn sources(global: &GlobalArgs, args: &ProxyStatusArgs) -> Result<Sources> {
    if let Some(address) = &args.xds_address {
        // The control plane is outside the cluster (or the mesh); the proxies are still where
        // the target says.
        let proxies = match target::choose(global) {
            Ok(Target::Kubernetes) => Proxies::Cluster,
            Ok(Target::Local(registry)) => Proxies::Local(Some(registry)),
            Err(_) => Proxies::Local(None),
        };
        return Ok(Sources {
            planes: vec![ControlPlane::Ads {
                address: address.clone(),
            }],
            forwards: vec![None],
            proxies,
            place: address.clone(),
        });
    }
    let registry = match target::choose(global)? {
        Target::Local(registry) => registry,
        Target::Kubernetes => return cluster_sources(global, args).await,
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
        forwards: running.iter().map(|_| None).collect(),
        planes: running
            .iter()
            .map(|cp| ControlPlane::Http {
                name: cp.name(),
                monitoring: cp.monitoring,
            })
            .collect(),
        proxies: Proxies::Local(Some(registry)),
        place: format!("the local mesh at {home}"),
    })
}

/// The running istiod pods of the Istio namespace (`--xds-label`, `-r`), each one's monitoring
/// port forwarded to 127.0.0.1.
async fn cluster_sources(global: &GlobalArgs, args: &ProxyStatusArgs) -> Result<Sources> {
    let client = target::cluster_client(global).await?;
    let namespace = &global.istio_namespace;
    let selector = control_plane::selector(args.xds_label.as_deref(), args.revision.as_deref());
    let pods = control_plane::running(&client, namespace, &selector).await?;
    let mut planes = Vec::with_capacity(pods.len());
    let mut forwards = Vec::with_capacity(pods.len());
    for pod in &pods {
        let (name, _) = control_plane::name_and_revision(pod);
        let forward = PortForward::start(&client, namespace, &name, ISTIOD_MONITORING_PORT)
            .await
            .with_context(|| format!("reaching control plane pod {name}.{namespace}"))?;
        planes.push(ControlPlane::Http {
            name,
            monitoring: forward.local_addr(),
        });
        forwards.push(Some(forward));
    }
    Ok(Sources {
        planes,
        forwards,
        proxies: Proxies::Cluster,
        place: format!("namespace {namespace:?}"),
    })
}

/// `e` from asking plane `i`, with what its port-forward reported, if anything: that says more
/// than a connection closed at the local end of the forward.
async fn explain(sources: &Sources, i: usize, e: GatherError) -> anyhow::Error {
    if let Some(Some(forward)) = sources.forwards.get(i)
        && !matches!(
            &e,
            GatherError::Http {
                cause: AdminError::Status(_),
                ..
            }
        )
        && let Some(why) = forward.failure(FAILURE_GRACE).await
    {
        let name = match &sources.planes[i] {
            ControlPlane::Http { name, .. } => name.clone(),
            other => other.describe(),
        };
        return anyhow!("asking control plane pod {name}: port-forward failed: {why}");
    }
    e.into()
}

/// Asks every control plane at once. One that does not answer is reported and skipped; if none
/// answers, that is the error.
async fn gather_all(sources: &Sources, timeout: Duration) -> Result<Vec<ControlPlaneSync>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, cp) in sources.planes.iter().enumerate() {
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
                let e = explain(sources, i, e).await;
                eprintln!("warning: {e:#}");
                first_error.get_or_insert(e);
            }
        }
    }
    if answers.is_empty()
        && let Some(e) = first_error
    {
        return Err(e);
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
    let mut planes = gather_all(sources, timeout).await?;
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
    let (id, record, envoy) = match (&args.file, &sources.proxies) {
        (Some(file), _) => {
            let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
            let dump: Value =
                crate::proxyconfig::dump::parse_json(&bytes).with_context(|| file.clone())?;
            (registry::proxy_id(query, namespace), None, dump)
        }
        (None, Proxies::Cluster) => {
            let (id, dump) = pod_config(global, args, query).await?;
            (id, None, dump)
        }
        (None, Proxies::Local(registry)) => {
            let registry = registry.as_ref().ok_or_else(|| {
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
        let i = sources.planes.iter().position(|p| p == cp).unwrap_or(0);
        let intended = match gather::intended_config(cp, &id, timeout).await {
            Ok(intended) => intended,
            Err(e) => return Err(explain(sources, i, e).await),
        };
        if let Some(intended) = intended {
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

/// The pod `query` names and its own config dump, from its admin port forwarded through the API
/// server.
async fn pod_config(
    global: &GlobalArgs,
    args: &ProxyStatusArgs,
    query: &str,
) -> Result<(String, Value)> {
    let client = target::cluster_client(global).await?;
    let namespace = target::namespace_or_default(global, &client);
    let pod = pod::resolve(&client, &PodRef::parse(query, &namespace)).await?;
    let name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or(namespace);
    let id = format!("{name}.{namespace}");
    let failed = || format!("failed to execute command on {id} sidecar");
    let port = args.proxy_admin_port.unwrap_or(POD_ADMIN_PORT);
    let forward = PortForward::start(&client, &namespace, &name, port)
        .await
        .with_context(failed)?;
    match gather::proxy_config(forward.local_addr()).await {
        Ok(dump) => Ok((id, dump)),
        Err(
            e @ GatherError::Http {
                cause: AdminError::Status(_),
                ..
            },
        ) => Err(anyhow::Error::from(e).context(failed())),
        Err(e) => {
            let e = match forward.failure(FAILURE_GRACE).await {
                Some(why) => anyhow!("port-forward failed: {why}"),
                None => e.into(),
            };
            Err(e.context(failed()))
        }
    }
}
