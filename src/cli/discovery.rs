//! `ferryctl discovery`: the control plane process (istiod's job). It reads Istio and Kubernetes
//! config from a directory, serves each connected proxy its Envoy config over ADS, pushes again
//! when the directory changes, and answers istiod's debug endpoints.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::analyze::mesh::MeshConfig;
use crate::cli::analyze::parse_duration;
use crate::cli::version::BUILD;
use crate::config::source::{self, Input, LoadOptions};
use crate::config::store::Store;
use crate::discovery::dependency::{self, Digest, ObjectKey, SidecarView};
use crate::discovery::translate::{self as translation, PortMapping, scope};
use crate::discovery::{
    MeshOptions, OutboundTrafficPolicy, Proxy, PushContext, Role, TranslateOptions, translate,
};
use crate::exit::Exit;
use crate::metrics::{self, Exposition, Histogram, Kind, ProcessMetrics};
use crate::xds::debounce::{self, DebounceConfig};
use crate::xds::dump::{self, DumpQuery, DumpSource, Versioned};
use crate::xds::metrics::XdsMetrics;
use crate::xds::node::{NodeInfo, ProxyRole};
use crate::xds::server::{AdsServer, SnapshotSource};
use crate::xds::status::StatusRegistry;
use crate::xds::types::{Snapshot, TypeUrl, XdsMessage};

/// How often the config directory is checked for changes. Polling needs no new dependency and
/// a directory of YAML is cheap to stat.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// istiod's buckets for `pilot_pushcontext_init_seconds`.
const PUSH_CONTEXT_INIT_BUCKETS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 3.0, 5.0];

/// How many reloads' detection times are kept for convergence times. A stream more than this
/// many generations behind records no convergence time rather than a wrong one.
const CHANGE_TIMES_KEPT: usize = 64;

#[derive(Debug, Args)]
#[command(
    long_about = "Start Ferry's control plane (istiod's discovery service): it reads Istio and \
                  Kubernetes configuration from a directory, serves every connected proxy its \
                  Envoy configuration over xDS (ADS, plain-text gRPC) and pushes again when the \
                  files change.",
    after_help = "Examples:\n  \
        # Serve the config in ./mesh on istiod's ports\n  \
        ferryctl discovery --config-dir ./mesh\n\n  \
        # Pick free ports (the bound addresses are printed on stderr)\n  \
        ferryctl discovery --config-dir ./mesh --grpcAddr 127.0.0.1:0 --monitoringAddr 127.0.0.1:0"
)]
pub struct DiscoveryArgs {
    /// Directory of Istio and Kubernetes YAML, read recursively and watched for changes
    #[arg(long = "config-dir", value_name = "DIR")]
    pub config_dir: PathBuf,
    /// Discovery service gRPC address (plain text)
    #[arg(long = "grpcAddr", default_value = "127.0.0.1:15010")]
    pub grpc_addr: SocketAddr,
    /// HTTP address for the debug endpoints and metrics (/metrics, /debug/syncz, /debug/configz,
    /// /ready, ...)
    #[arg(long = "monitoringAddr", default_value = "127.0.0.1:15014")]
    pub monitoring_addr: SocketAddr,
    /// DNS domain suffix
    #[arg(long, default_value = "cluster.local")]
    pub domain: String,
    /// File name for Istio mesh configuration (rootNamespace, connectTimeout, dnsRefreshRate,
    /// outboundTrafficPolicy are used). If not specified, a default mesh will be used.
    #[arg(long = "meshConfig", value_name = "FILE")]
    pub mesh_config: Option<PathBuf>,
    /// Comma-separated minimum per-scope logging level of messages to output, in the form of
    /// <scope>:<level>,<scope>:<level>,... where scope can be one of [default, ads] and level can
    /// be one of [debug, info, warn, error, none]
    #[arg(long = "log_output_level", default_value = "default:info")]
    pub log_output_level: String,
}

/// Problems that stop the control plane from starting or running.
#[derive(Debug, thiserror::Error)]
enum DiscoveryError {
    #[error("--config-dir {0}: not a readable directory")]
    ConfigDir(String),
    #[error("--meshConfig {file}: {message}")]
    MeshConfig { file: String, message: String },
    #[error("--log_output_level: {0}")]
    LogLevel(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub fn run(args: &DiscoveryArgs) -> Result<Exit> {
    if !args.config_dir.is_dir() {
        return Err(DiscoveryError::ConfigDir(args.config_dir.display().to_string()).into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mesh = mesh_options(args)?;
    let filter = log_filter(&args.log_output_level).map_err(DiscoveryError::LogLevel)?;
    // Only this command logs; a second init (tests in one process) is harmless to skip.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter)
                .map_err(|e| DiscoveryError::LogLevel(e.to_string()))?,
        )
        .with_writer(std::io::stderr)
        .try_init();
    runtime.block_on(serve(args, mesh))?;
    Ok(Exit::Success)
}

/// istiod's `--log_output_level` (`scope:level,…`) as a tracing filter directive. Scopes are
/// istio's names: `default` sets the base level, `ads` the xDS server's.
fn log_filter(spec: &str) -> Result<String, String> {
    let mut base = "info";
    let mut directives = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (scope, level) = part.split_once(':').unwrap_or(("default", part));
        let level = match level {
            "debug" | "info" | "warn" | "error" => level,
            "none" => "off",
            other => {
                return Err(format!(
                    "{other:?} is not a level (debug, info, warn, error, none)"
                ));
            }
        };
        match scope {
            "default" => base = level,
            "ads" => directives.push(format!("ferry::xds={level}")),
            other => return Err(format!("unknown scope {other:?} (default, ads)")),
        }
    }
    directives.insert(0, base.to_string());
    Ok(directives.join(","))
}

/// The mesh options from `--domain` and `--meshConfig`, over Istio's defaults.
fn mesh_options(args: &DiscoveryArgs) -> Result<MeshOptions, DiscoveryError> {
    let mut mesh = MeshOptions {
        domain_suffix: args.domain.clone(),
        ..MeshOptions::default()
    };
    let Some(file) = &args.mesh_config else {
        return Ok(mesh);
    };
    let error = |message: String| DiscoveryError::MeshConfig {
        file: file.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(file).map_err(|e| error(e.to_string()))?;
    apply_mesh_config(&mut mesh, &text).map_err(error)?;
    Ok(mesh)
}

/// Applies the MeshConfig fields the control plane uses. A malformed value is an error rather
/// than silently defaulted: a control plane serving with the wrong timeouts is worse than one
/// that does not start.
fn apply_mesh_config(mesh: &mut MeshOptions, text: &str) -> Result<(), String> {
    let config = MeshConfig::parse(text).map_err(|e| e.to_string())?;
    mesh.root_namespace = config.root_namespace;
    let duration = |key: &str| -> Result<Option<Duration>, String> {
        match config.rest.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_duration(s)
                .map(Some)
                .map_err(|e| format!("{key}: {e}")),
            Some(other) => Err(format!(
                "{key}: expected a duration like \"10s\", got {other}"
            )),
        }
    };
    if let Some(d) = duration("connectTimeout")? {
        mesh.connect_timeout = d;
    }
    if let Some(d) = duration("dnsRefreshRate")? {
        mesh.dns_refresh_rate = d;
    }
    let mode = config
        .rest
        .get("outboundTrafficPolicy")
        .and_then(|p| p.get("mode"))
        .and_then(Value::as_str);
    mesh.outbound_traffic_policy = match mode {
        None | Some("ALLOW_ANY") => OutboundTrafficPolicy::AllowAny,
        Some("REGISTRY_ONLY") => OutboundTrafficPolicy::RegistryOnly,
        Some(other) => {
            return Err(format!(
                "outboundTrafficPolicy.mode: {other:?} is not ALLOW_ANY or REGISTRY_ONLY"
            ));
        }
    };
    Ok(())
}

async fn serve(args: &DiscoveryArgs, mesh: MeshOptions) -> Result<()> {
    let process = ProcessMetrics {
        start_time: SystemTime::now(),
    };
    let (raw_tx, raw_rx) = watch::channel(0u64);
    let changes = debounce::spawn(raw_rx, DebounceConfig::ISTIO_DEFAULT);
    let source = Arc::new(DirSource::new(
        args.config_dir.clone(),
        mesh,
        raw_tx,
        changes,
    ));
    source.reload(&fingerprint(&args.config_dir));

    let grpc = TcpListener::bind(args.grpc_addr)
        .await
        .map_err(|source| DiscoveryError::Bind {
            addr: args.grpc_addr,
            source,
        })?;
    let http = TcpListener::bind(args.monitoring_addr)
        .await
        .map_err(|source| DiscoveryError::Bind {
            addr: args.monitoring_addr,
            source,
        })?;
    eprintln!(
        "ferryctl discovery: xDS (ADS) on {}, debug on {}",
        grpc.local_addr()?,
        http.local_addr()?
    );

    let status = StatusRegistry::new();
    let server = AdsServer::new(source.clone(), status.clone())
        .with_control_plane_identifier(json!({"Component": "ferry-discovery"}).to_string());

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(watch_dir(source.clone(), stop_rx.clone()));
    let debug = Debug {
        source: source.clone(),
        status,
        xds: server.metrics().clone(),
        process,
    };
    tokio::spawn(serve_debug(http, Arc::new(debug), stop_rx));

    let mut shutdown_rx = stop_tx.subscribe();
    let shutdown = async move {
        let _ = shutdown_rx.wait_for(|stop| *stop).await;
    };
    let ads = tokio::spawn(server.serve(grpc, shutdown));
    wait_for_signal().await;
    eprintln!("ferryctl discovery: shutting down");
    stop_tx.send_replace(true);
    ads.await.context("xDS server task")??;
    Ok(())
}

/// SIGINT or SIGTERM, as a pod's kubelet sends.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What the directory looked like: each file with its modification time and length.
type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut ignored = Vec::new();
    source::expand_inputs(&[Input::Path(dir.to_path_buf())], &mut ignored)
        .into_iter()
        .filter_map(|input| match input {
            Input::Path(p) => Some(p),
            Input::Stdin => None,
        })
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let mtime = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.map_or(0, |m| m.len());
            (p, mtime, len)
        })
        .collect()
}

async fn watch_dir(source: Arc<DirSource>, mut stop: watch::Receiver<bool>) {
    let mut last = source.fingerprint();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let dir = source.dir.clone();
        // Reading and translating is blocking work; keep it off the async workers.
        let now = match tokio::task::spawn_blocking(move || fingerprint(&dir)).await {
            Ok(f) => f,
            Err(_) => continue,
        };
        if now != last {
            let s = source.clone();
            let f = now.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload(&f)).await;
            last = now;
        }
    }
}

/// One loaded config: the push context and what /debug/configz reports.
struct Loaded {
    push: Arc<PushContext>,
    fingerprint: Fingerprint,
    /// `kind/namespace/name` and `file:line` of each object read.
    objects: Vec<(String, String)>,
    parse_errors: Vec<String>,
    generation: u64,
    /// Each object's digest, to tell which proxies the next reload can affect.
    digests: HashMap<ObjectKey, Digest>,
}

/// The proxies that see the same config share one snapshot: istiod computes config from these.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ProxyKey {
    router: bool,
    /// Istio's `INTERCEPTION_MODE: NONE`: no iptables, so outbound listeners bind their ports.
    no_capture: bool,
    namespace: String,
    labels: BTreeMap<String, String>,
    ip: IpAddr,
}

/// A [`SnapshotSource`] over a directory: snapshots are computed on demand per proxy and cached
/// until the config changes.
struct DirSource {
    dir: PathBuf,
    mesh: MeshOptions,
    loaded: RwLock<Arc<Loaded>>,
    cache: Mutex<Cache>,
    raw: watch::Sender<u64>,
    changes: watch::Receiver<u64>,
    /// When each recent reload began (its generation and instant): the start of the proxies'
    /// convergence time.
    change_times: Mutex<VecDeque<(u64, Instant)>>,
    /// `pilot_total_rejected_configs`: per reload, each object refused, by kind and
    /// `namespace/name`.
    rejected_configs: Mutex<BTreeMap<(String, String), u64>>,
    push_context_init: Histogram,
}

#[derive(Default)]
struct Cache {
    current: HashMap<ProxyKey, Arc<Snapshot>>,
    /// The snapshots of the config before the last reload, so a rebuilt one keeps the versions
    /// of resources that did not change (`build_reusing`) and only changed types are pushed.
    previous: HashMap<ProxyKey, Arc<Snapshot>>,
    /// Per generation, capture mode and outbound signature: the first sidecar's snapshot,
    /// whose outbound resources the others with that signature share.
    shared: HashMap<(u64, bool, translation::OutboundSignature), Arc<Snapshot>>,
}

impl DirSource {
    fn new(
        dir: PathBuf,
        mesh: MeshOptions,
        raw: watch::Sender<u64>,
        changes: watch::Receiver<u64>,
    ) -> DirSource {
        let empty = Loaded {
            push: Arc::new(PushContext::new(&Store::new(Vec::new()), mesh.clone())),
            fingerprint: Vec::new(),
            objects: Vec::new(),
            parse_errors: Vec::new(),
            generation: 0,
            digests: HashMap::new(),
        };
        DirSource {
            dir,
            mesh,
            loaded: RwLock::new(Arc::new(empty)),
            cache: Mutex::new(Cache::default()),
            raw,
            changes,
            change_times: Mutex::new(VecDeque::new()),
            rejected_configs: Mutex::new(BTreeMap::new()),
            push_context_init: Histogram::new(PUSH_CONTEXT_INIT_BUCKETS),
        }
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fingerprint(&self) -> Fingerprint {
        self.current().fingerprint.clone()
    }

    /// Reads the directory again. A file that does not parse is reported and its objects are
    /// absent, as `analyze` does; an invalid object is rejected alone.
    fn reload(&self, fingerprint: &Fingerprint) {
        let started = Instant::now();
        let inputs: Vec<Input> = fingerprint
            .iter()
            .map(|(p, _, _)| Input::Path(p.clone()))
            .collect();
        let loaded = source::load(
            &inputs,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        let parse_errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        for e in &parse_errors {
            eprintln!("ferryctl discovery: {e}");
        }
        let objects = loaded
            .resources
            .iter()
            .map(|r| {
                (
                    format!("{}/{}/{}", r.kind, r.effective_namespace(), r.name()),
                    r.origin.to_string(),
                )
            })
            .collect();
        let digests = dependency::digests(&loaded.resources);
        let init = Instant::now();
        let push = PushContext::new(&Store::new(loaded.resources), self.mesh.clone());
        self.push_context_init.observe_duration(init.elapsed());
        {
            let mut counts = self
                .rejected_configs
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for r in push.rejected() {
                eprintln!("ferryctl discovery: {r}");
                let key = (
                    r.kind.to_string().to_lowercase(),
                    format!("{}/{}", r.namespace, r.name),
                );
                *counts.entry(key).or_default() += 1;
            }
        }
        let old = self.current();
        let generation = old.generation + 1;
        {
            let mut times = self
                .change_times
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if times.len() == CHANGE_TIMES_KEPT {
                times.pop_front();
            }
            times.push_back((generation, started));
        }
        let new = Arc::new(Loaded {
            push: Arc::new(push),
            fingerprint: fingerprint.clone(),
            objects,
            parse_errors,
            generation,
            digests,
        });
        *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = new.clone();
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let current = std::mem::take(&mut cache.current);
            let (kept, stale) = self.split_unaffected(current, &old, &new);
            cache.current = kept;
            cache.shared.retain(|(g, _, _), _| *g >= generation);
            // Merged rather than replaced: a proxy whose snapshot was not recomputed since an
            // older reload still reuses what it was last sent.
            cache.previous.extend(stale);
        }
        self.raw.send_replace(generation);
    }

    /// Splits the cached snapshots into those the reload from `old` to `new` cannot have
    /// changed (kept as they are, so those proxies are neither translated again nor pushed)
    /// and the rest. Only sidecars are kept: gateways are few and see everything.
    fn split_unaffected(
        &self,
        current: HashMap<ProxyKey, Arc<Snapshot>>,
        old: &Loaded,
        new: &Loaded,
    ) -> (
        HashMap<ProxyKey, Arc<Snapshot>>,
        HashMap<ProxyKey, Arc<Snapshot>>,
    ) {
        let changes = dependency::changed(&old.digests, &new.digests);
        let mut hosts: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for push in [&old.push, &new.push] {
            for s in push.registry().services() {
                hosts
                    .entry(s.namespace.as_str())
                    .or_default()
                    .insert(s.hostname.clone());
            }
        }
        let hosts_in = |ns: &str| hosts.get(ns).cloned().unwrap_or_default();
        let root = self.mesh.root_namespace.as_str();
        let mut kept = HashMap::new();
        let mut stale = HashMap::new();
        for (key, snapshot) in current {
            let unaffected = !key.router && {
                let proxy = Proxy {
                    role: Role::Sidecar,
                    namespace: key.namespace.clone(),
                    labels: key.labels.clone(),
                    ip: Some(key.ip),
                };
                let imported = scope::imported_namespaces(&old.push, &proxy);
                let cluster_hosts: BTreeSet<String> = snapshot
                    .of(TypeUrl::Cluster)
                    .resources()
                    .keys()
                    .filter_map(|name| dependency::cluster_host(name))
                    .map(str::to_string)
                    .collect();
                let view = SidecarView {
                    namespace: &key.namespace,
                    ip: key.ip.to_string(),
                    imported: imported.as_ref(),
                    cluster_hosts: &cluster_hosts,
                };
                !changes
                    .iter()
                    .any(|c| dependency::affects(c, &view, root, &hosts_in))
            };
            if unaffected {
                kept.insert(key, snapshot);
            } else {
                stale.insert(key, snapshot);
            }
        }
        (kept, stale)
    }

    fn key(node: &NodeInfo) -> ProxyKey {
        let labels = node
            .metadata
            .get("LABELS")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        ProxyKey {
            router: node.role == ProxyRole::Router,
            no_capture: node.metadata_str("INTERCEPTION_MODE") == "NONE",
            namespace: node.namespace.clone(),
            labels,
            ip: node.ip,
        }
    }

    fn build(&self, key: &ProxyKey, push: &PushContext, generation: u64) -> Snapshot {
        let proxy = Proxy {
            role: if key.router {
                Role::Router
            } else {
                Role::Sidecar
            },
            namespace: key.namespace.clone(),
            labels: key.labels.clone(),
            ip: Some(key.ip),
        };
        let opts = TranslateOptions {
            // Gateways run as istio's ingress gateway does: 80 and 443 on 8080 and 8443.
            gateway_ports: if key.router {
                PortMapping::istio_ingress()
            } else {
                PortMapping::identity()
            },
            bind_outbound_listeners: key.no_capture,
        };
        let signature = translation::outbound_signature(push, &proxy)
            .map(|sig| (generation, key.no_capture, sig));
        let shared = signature.as_ref().and_then(|sig| {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .shared
                .get(sig)
                .cloned()
        });
        let mut builder = Snapshot::builder();
        let add = |r: Result<_, crate::xds::types::TypesError>| {
            if let Err(e) = r {
                eprintln!("ferryctl discovery: dropping a resource: {e}");
            }
        };
        if let Some(shared) = shared {
            // Another sidecar with this outbound signature was translated in this generation:
            // its outbound resources are this one's too; only the inbound side is translated.
            let (clusters, virtual_inbound) = translation::translate_inbound(push, &proxy);
            for t in [
                TypeUrl::Listener,
                TypeUrl::RouteConfiguration,
                TypeUrl::Cluster,
                TypeUrl::ClusterLoadAssignment,
            ] {
                for r in shared.of(t).resources().values() {
                    if !translation::is_inbound(r.name()) {
                        add(builder.add(r.clone()).map(|_| ()));
                    }
                }
            }
            for c in clusters {
                add(builder.add_message(c).map(|_| ()));
            }
            add(builder.add_message(virtual_inbound).map(|_| ()));
            return self.finish(key, builder);
        }
        let config = translate(push, &proxy, &opts);
        for l in config.listeners {
            add(builder.add_message(l).map(|_| ()));
        }
        for r in config.routes {
            add(builder.add_message(r).map(|_| ()));
        }
        for c in config.clusters {
            add(builder.add_message(c).map(|_| ()));
        }
        for e in config.endpoints {
            add(builder.add_message(e).map(|_| ()));
        }
        let snapshot = self.finish(key, builder);
        if let Some(sig) = signature {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .shared
                .insert(sig, Arc::new(snapshot.clone()));
        }
        snapshot
    }

    /// The snapshot of `builder`, keeping the versions of what `key` was sent before.
    fn finish(&self, key: &ProxyKey, builder: crate::xds::types::SnapshotBuilder) -> Snapshot {
        let previous = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .previous
            .get(key)
            .cloned();
        match previous {
            Some(prev) => builder.build_reusing(&prev),
            None => builder.build(),
        }
    }
}

impl SnapshotSource for DirSource {
    fn snapshot(&self, node: &NodeInfo) -> Arc<Snapshot> {
        let key = DirSource::key(node);
        let loaded = self.current();
        if let Some(s) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current
            .get(&key)
        {
            return s.clone();
        }
        let snapshot = Arc::new(self.build(&key, &loaded.push, loaded.generation));
        // Only cache it if no reload happened meanwhile; otherwise the next change signal
        // recomputes it from the new config.
        if self.current().generation == loaded.generation {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            // The snapshot it was built from is no longer needed: its versions live on in
            // this one.
            cache.previous.remove(&key);
            cache.current.insert(key, snapshot.clone());
        }
        snapshot
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    fn change_started(&self, after: u64, generation: u64) -> Option<Instant> {
        let times = self
            .change_times
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The first reload after `after`; unknown once it has aged out of the window.
        times
            .iter()
            .find(|(g, _)| *g == after + 1 && *g <= generation)
            .map(|(_, at)| *at)
    }
}

/// What the debug server reads.
struct Debug {
    source: Arc<DirSource>,
    status: StatusRegistry,
    xds: Arc<XdsMetrics>,
    process: ProcessMetrics,
}

async fn serve_debug(listener: TcpListener, debug: Arc<Debug>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let debug = debug.clone();
        tokio::spawn(async move {
            let _ = handle_http(stream, &debug).await;
        });
    }
}

/// A minimal HTTP/1.1 responder: one GET per connection, then close. Enough for curl, probes
/// and tests, without adding an HTTP server dependency.
async fn handle_http(mut stream: TcpStream, debug: &Debug) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    // The request line and headers; bounded so a client cannot make us buffer without end.
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let target = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/");
    let (code, content_type, body) = route(target, debug);
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

const JSON: &str = "application/json";

fn route(target: &str, debug: &Debug) -> (u16, &'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/metrics" {
        return (200, metrics::CONTENT_TYPE, prometheus(debug));
    }
    let pretty = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    let loaded = debug.source.current();
    let status = &debug.status;
    let (code, body) = match path {
        "/ready" => {
            if loaded.generation > 0 {
                (200, "ready\n".into())
            } else {
                (503, "config not loaded yet\n".into())
            }
        }
        "/version" => (200, pretty(json!({"clientVersion": BUILD}))),
        "/debug/syncz" => (200, pretty(status.syncz())),
        "/debug/configz" => (200, pretty(configz(&loaded))),
        "/debug/registryz" => (200, pretty(registryz(&loaded.push))),
        "/debug/config_dump" => config_dump(query, &debug.source, status),
        _ => (404, "404 page not found\n".into()),
    };
    (code, JSON, body)
}

/// `/metrics`: istiod's metrics where Ferry has the fact, and the process' own.
fn prometheus(debug: &Debug) -> String {
    let loaded = debug.source.current();
    let mut out = Exposition::new();
    debug.xds.encode(&mut out);
    out.family(
        "pilot_services",
        "Total services known to pilot.",
        Kind::Gauge,
    )
    .sample(
        "pilot_services",
        &[],
        loaded.push.registry().services().len() as f64,
    )
    .family(
        "pilot_virt_services",
        "Total virtual services known to pilot.",
        Kind::Gauge,
    )
    .sample(
        "pilot_virt_services",
        &[],
        loaded.push.virtual_services().len() as f64,
    )
    .family(
        "pilot_total_rejected_configs",
        "Total number of configs that Pilot had to reject or ignore.",
        Kind::Counter,
    );
    for ((kind, name), n) in debug
        .source
        .rejected_configs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        out.sample(
            "pilot_total_rejected_configs",
            &[("type", kind), ("name", name)],
            *n as f64,
        );
    }
    out.family(
        "pilot_pushcontext_init_seconds",
        "Total time in seconds Pilot takes to init pushContext.",
        Kind::Histogram,
    )
    .histogram(
        "pilot_pushcontext_init_seconds",
        &[],
        &debug.source.push_context_init,
    );
    debug.process.encode(&mut out);
    out.finish()
}

/// istiod's `/debug/config_dump?proxyID=<pod>.<namespace>` (or the full node id): what this
/// control plane sends that connected proxy, in Envoy's `/config_dump` JSON, so it can be diffed
/// against the proxy's own dump. Envoy's `mask`, `resource`, `include_eds` and `name_regex`
/// apply.
fn config_dump(query: &str, source: &DirSource, status: &StatusRegistry) -> (u16, String) {
    let proxy_id = query
        .split('&')
        .find_map(|p| p.strip_prefix("proxyID="))
        .map(dump::percent_decode)
        .filter(|id| !id.is_empty());
    let Some(proxy_id) = proxy_id else {
        return (
            400,
            "You must provide a proxyID in the query string\n".into(),
        );
    };
    let dump_query = match DumpQuery::from_query(query) {
        Ok(q) => q,
        Err(e) => return (e.http_status(), format!("{e}\n")),
    };
    let connected = status.proxy(&proxy_id).or_else(|| {
        status
            .proxies()
            .into_iter()
            .rev()
            .find(|p| p.node.node_id == proxy_id)
    });
    let Some(proxy) = connected else {
        let error =
            json!({"error": "Proxy not connected to this Pilot instance", "proxyID": proxy_id});
        return (404, format!("{error:#}\n"));
    };
    let snapshot = source.snapshot(&proxy.node);
    // What was pushed, stamped as the proxy would stamp it: the last send of the type.
    fn versioned<M: XdsMessage>(
        snapshot: &Snapshot,
        proxy: &crate::xds::status::ProxyStatus,
        type_url: TypeUrl,
    ) -> Vec<Versioned<M>> {
        let at = proxy
            .types
            .get(&type_url)
            .and_then(|t| t.sent.as_ref())
            .map_or_else(SystemTime::now, |s| s.at);
        let of = snapshot.of(type_url);
        of.resources()
            .values()
            .filter_map(|r| r.unpack::<M>().ok())
            .map(|resource| Versioned {
                version_info: of.version().to_string(),
                last_updated: at,
                resource,
            })
            .collect()
    }
    let listeners = versioned(&snapshot, &proxy, TypeUrl::Listener);
    let routes = versioned(&snapshot, &proxy, TypeUrl::RouteConfiguration);
    let clusters = versioned(&snapshot, &proxy, TypeUrl::Cluster);
    let endpoints = versioned(&snapshot, &proxy, TypeUrl::ClusterLoadAssignment);
    let secrets = versioned(&snapshot, &proxy, TypeUrl::Secret);
    let config = dump::build_config_dump(&DumpSource {
        bootstrap: None,
        listeners: &listeners,
        routes: &routes,
        clusters: &clusters,
        endpoints: &endpoints,
        secrets: &secrets,
    });
    match dump::to_json(&config, &dump_query) {
        Ok(text) => (200, text),
        Err(e) => (e.http_status(), format!("{e}\n")),
    }
}

fn configz(loaded: &Loaded) -> Value {
    let rejected: Vec<Value> = loaded
        .push
        .rejected()
        .iter()
        .map(|r| {
            json!({
                "kind": r.kind.to_string(),
                "namespace": r.namespace,
                "name": r.name,
                "source": r.origin,
                "reasons": r.reasons,
            })
        })
        .collect();
    // One set, not a scan of the rejected list per accepted object.
    let rejected_ids: std::collections::HashSet<String> = loaded
        .push
        .rejected()
        .iter()
        .map(|r| format!("{}/{}/{}", r.kind, r.namespace, r.name))
        .collect();
    let accepted: Vec<Value> = loaded
        .objects
        .iter()
        .filter(|(id, _)| !rejected_ids.contains(id.as_str()))
        .map(|(id, origin)| json!({"id": id, "source": origin}))
        .collect();
    json!({
        "generation": loaded.generation,
        "accepted": accepted,
        "rejected": rejected,
        "parseErrors": loaded.parse_errors,
    })
}

fn registryz(push: &PushContext) -> Value {
    let services: Vec<Value> = push
        .registry()
        .services()
        .iter()
        .map(|s| {
            json!({
                "hostname": s.hostname,
                "namespace": s.namespace,
                "addresses": s.addresses,
                "ports": s.ports.iter().map(|p| json!({
                    "name": p.name,
                    "port": p.number,
                    "protocol": format!("{:?}", p.protocol),
                })).collect::<Vec<_>>(),
                "endpoints": s.endpoints.iter().map(|e| json!({
                    "address": e.address,
                    "labels": e.labels,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesh_config_fields_apply_over_defaults() {
        let mut mesh = MeshOptions::default();
        apply_mesh_config(
            &mut mesh,
            "rootNamespace: mesh-root\nconnectTimeout: 2s\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n",
        )
        .expect("valid mesh config");
        assert_eq!(mesh.root_namespace, "mesh-root");
        assert_eq!(mesh.connect_timeout, Duration::from_secs(2));
        assert_eq!(
            mesh.dns_refresh_rate,
            MeshOptions::default().dns_refresh_rate
        );
        assert_eq!(
            mesh.outbound_traffic_policy,
            OutboundTrafficPolicy::RegistryOnly
        );
    }

    #[test]
    fn istio_log_levels_become_tracing_filters() {
        assert_eq!(log_filter("default:info").as_deref(), Ok("info"));
        assert_eq!(
            log_filter("default:none,ads:debug").as_deref(),
            Ok("off,ferry::xds=debug")
        );
        assert_eq!(log_filter("warn").as_deref(), Ok("warn"));
        assert!(log_filter("ads:loud").is_err());
        assert!(log_filter("kube:info").is_err());
    }

    #[test]
    fn malformed_mesh_config_values_are_errors() {
        let mut mesh = MeshOptions::default();
        let err = apply_mesh_config(&mut mesh, "connectTimeout: soon\n").expect_err("bad duration");
        assert!(err.contains("connectTimeout"), "{err}");
        let err = apply_mesh_config(&mut mesh, "outboundTrafficPolicy:\n  mode: SOMETIMES\n")
            .expect_err("bad mode");
        assert!(err.contains("SOMETIMES"), "{err}");
    }
}
