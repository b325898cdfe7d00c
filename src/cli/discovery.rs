//! `ferryctl discovery`: the control plane process (istiod's job). It reads Istio and Kubernetes
//! config from a directory or watches it on a Kubernetes API server, serves each connected proxy
//! its Envoy config over ADS, pushes again when the config changes, and answers istiod's debug
//! endpoints.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::analyze::mesh::MeshConfig;
use crate::cli::GlobalArgs;
use crate::cli::analyze::parse_duration;
use crate::cli::version::BUILD;
use crate::discovery::ca::authn::{Authenticator, LocalTokens};
use crate::discovery::ca::service::CaService;
use crate::discovery::ca::tokenreview::KubeTokenReview;
use crate::discovery::ca::{CertTtl, CertificateAuthority, RootSource, cacerts};
use crate::discovery::ctrlz::{ScopeError, ScopeInfo, Scopes};
use crate::discovery::mesh::{
    AccessLogEncoding, AccessLogOptions, DEFAULT_CLUSTER_ID, DEFAULT_TRACE_SAMPLING, ProxyHeaders,
};
use crate::discovery::registry::{Resolution, ServiceSource};
use crate::discovery::source::dir::DirSource;
use crate::discovery::source::kube::{self, KubeSource, Multicluster};
use crate::discovery::source::multicluster::Clusters;
use crate::discovery::source::{ConfigSnapshots, Loaded};
use crate::discovery::webhook::{self, InjectorState};
use crate::discovery::{MeshOptions, OutboundTrafficPolicy, PushContext};
use crate::exit::Exit;
use crate::identity::certificate_service::CertificateServiceServer;
use crate::inject::{Injector, MeshSettings};
use crate::metrics::{self, Exposition, Kind, ProcessMetrics};
use crate::xds::debounce::{self, DebounceConfig};
use crate::xds::debug;
use crate::xds::dump::{self, DumpQuery};
use crate::xds::metrics::XdsMetrics;
use crate::xds::server::{AdsServer, Keepalive, SnapshotSource};
use crate::xds::status::StatusRegistry;

#[derive(Debug, Args)]
#[command(
    long_about = "Start Ferry's control plane (istiod's discovery service): it reads Istio and \
                  Kubernetes configuration from a directory (--config-dir) or watches it on a \
                  Kubernetes API server (--kubeconfig and --context, or the in-cluster service \
                  account), serves every connected proxy its Envoy configuration over xDS (ADS, \
                  plain-text gRPC) and pushes again when the configuration changes. It is also \
                  the mesh's CA: on the same port it serves Istio's certificate service, signing \
                  each authenticated proxy's CSR into a certificate for its SPIFFE identity.",
    after_help = "Examples:\n  \
        # Serve the config in ./mesh on istiod's ports\n  \
        ferryctl discovery --config-dir ./mesh\n\n  \
        # Watch Istio config, Services and EndpointSlices on a cluster\n  \
        ferryctl discovery --kubeconfig ~/.kube/config --context kind-mesh\n\n  \
        # Pick free ports (the bound addresses are printed on stderr)\n  \
        ferryctl discovery --config-dir ./mesh --grpcAddr 127.0.0.1:0 --monitoringAddr 127.0.0.1:0"
)]
pub struct DiscoveryArgs {
    /// Directory of Istio and Kubernetes YAML, read recursively and watched for changes. Without
    /// it, config is watched on the cluster of --kubeconfig/--context (or in-cluster)
    #[arg(long = "config-dir", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Discovery service gRPC address (plain text); ":PORT" listens on all interfaces
    #[arg(long = "grpcAddr", default_value = "127.0.0.1:15010", value_parser = listen_addr)]
    pub grpc_addr: SocketAddr,
    /// HTTP address for the debug endpoints (/debug/syncz, /debug/configz, /ready, ...); ":PORT"
    /// listens on all interfaces
    #[arg(
        long = "monitoringAddr",
        default_value = "127.0.0.1:15014",
        value_parser = listen_addr
    )]
    pub monitoring_addr: SocketAddr,
    /// The ID of the cluster that this control plane resides in: the cluster of the endpoints
    /// it reads from its own API server; remote secrets naming it are ignored
    #[arg(long = "clusterID", env = "CLUSTER_ID", default_value = DEFAULT_CLUSTER_ID)]
    pub cluster_id: String,
    /// gRPC keepalive interval: how often an idle proxy connection is probed
    #[arg(long = "keepaliveInterval", default_value = "30s", value_parser = parse_duration)]
    pub keepalive_interval: Duration,
    /// gRPC keepalive timeout: how long a probe may go unanswered
    #[arg(long = "keepaliveTimeout", default_value = "10s", value_parser = parse_duration)]
    pub keepalive_timeout: Duration,
    /// Maximum age of a proxy's gRPC connection: after it the proxy is asked to reconnect,
    /// which spreads proxies over control plane replicas (default: no limit)
    #[arg(long = "keepaliveMaxServerConnectionAge", value_parser = parse_duration)]
    pub keepalive_max_server_connection_age: Option<Duration>,
    /// DNS domain suffix
    #[arg(long, default_value = "cluster.local")]
    pub domain: String,
    /// File name for Istio mesh configuration (rootNamespace, connectTimeout, dnsRefreshRate,
    /// outboundTrafficPolicy, accessLogFile, accessLogEncoding, accessLogFormat, enableTracing
    /// and defaultConfig.tracing.sampling are used). If not specified, a default mesh will be
    /// used.
    #[arg(long = "meshConfig", value_name = "FILE")]
    pub mesh_config: Option<PathBuf>,
    /// Comma-separated minimum per-scope logging level of messages to output, in the form of
    /// <scope>:<level>,<scope>:<level>,... where scope can be one of [default, ads] and level can
    /// be one of [debug, info, warn, error, none]
    #[arg(long = "log_output_level", default_value = "default:info")]
    pub log_output_level: String,
    /// HTTPS address of the sidecar-injection webhook (/inject); served when --tlsCertFile and
    /// --tlsKeyFile are given; ":PORT" listens on all interfaces
    #[arg(long = "httpsAddr", default_value = "127.0.0.1:15017", value_parser = listen_addr)]
    pub https_addr: SocketAddr,
    /// File containing the x509 certificate (PEM, leaf first) the webhook serves
    #[arg(
        long = "tlsCertFile",
        alias = "tls-cert",
        value_name = "FILE",
        requires = "tls_key_file"
    )]
    pub tls_cert_file: Option<PathBuf>,
    /// File containing the PEM private key of --tlsCertFile
    #[arg(
        long = "tlsKeyFile",
        alias = "tls-key",
        value_name = "FILE",
        requires = "tls_cert_file"
    )]
    pub tls_key_file: Option<PathBuf>,
    /// Control plane revision: selects the injector ConfigMap (istio-sidecar-injector-<rev>)
    #[arg(short = 'r', long, env = "REVISION")]
    pub revision: Option<String>,
    /// Injection configuration file (the injector ConfigMap's `config`), instead of the
    /// ConfigMap watched on the cluster
    #[arg(long = "injectConfigFile", value_name = "FILE")]
    pub inject_config_file: Option<PathBuf>,
    /// Directory of the CA's files in Istio's `cacerts` layout (ca-cert.pem, ca-key.pem,
    /// root-cert.pem, cert-chain.pem); a self-signed root is generated and kept there when it
    /// holds none. Without it the self-signed root lasts as long as the process
    #[arg(long = "ca-dir", env = "ROOT_CA_DIR", value_name = "DIR")]
    pub ca_dir: Option<PathBuf>,
    /// Directory of the local mesh's workload tokens (<namespace>/<service account>, one token
    /// each): a proxy presenting one gets a certificate for that identity. Without it, on
    /// Kubernetes the proxies' ServiceAccount tokens are checked with a TokenReview; with a
    /// config directory, no workload certificate is issued
    #[arg(long = "token-dir", value_name = "DIR")]
    pub token_dir: Option<PathBuf>,
    /// Lifetime of workload certificates when the proxy asks for none
    #[arg(
        long = "workload-cert-ttl",
        env = "DEFAULT_WORKLOAD_CERT_TTL",
        default_value = "24h",
        value_parser = parse_duration
    )]
    pub workload_cert_ttl: Duration,
    /// Longest lifetime of a workload certificate a proxy may ask for
    #[arg(
        long = "max-workload-cert-ttl",
        env = "MAX_WORKLOAD_CERT_TTL",
        default_value = "2160h",
        value_parser = parse_duration
    )]
    pub max_workload_cert_ttl: Duration,
    /// Injection values file (the injector ConfigMap's `values`), with --injectConfigFile
    #[arg(
        long = "valuesFile",
        value_name = "FILE",
        requires = "inject_config_file"
    )]
    pub values_file: Option<PathBuf>,
}

/// istiod's listen addresses: `host:port`, or Go's `:port` for every interface (what the istiod
/// Deployment passes, e.g. `--monitoringAddr=:15014`). `localhost` is the loopback address.
fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    let bad = || format!("invalid address {s:?}: use HOST:PORT (an IP address) or :PORT");
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| bad())?;
        // Every IPv4 interface: an IPv6 wildcard fails on hosts without IPv6.
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| bad())?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse().map_err(|_| bad())
}

/// Problems that stop the control plane from starting or running.
#[derive(Debug, thiserror::Error)]
enum DiscoveryError {
    #[error("--config-dir {0}: not a readable directory")]
    ConfigDir(String),
    #[error("--config-dir and --kubeconfig both given: choose one config source")]
    TwoSources,
    #[error("--meshConfig {file}: {message}")]
    MeshConfig { file: String, message: String },
    #[error("--log_output_level: {0}")]
    LogLevel(String),
    #[error(transparent)]
    Webhook(#[from] crate::discovery::webhook::WebhookError),
    #[error("{file}: {message}")]
    InjectConfig { file: String, message: String },
    #[error(transparent)]
    Ca(#[from] crate::discovery::ca::CaError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Where the control plane reads config from.
enum Source {
    Dir(PathBuf),
    Kube {
        client: ::kube::Client,
        /// Where remote secrets are watched: the control plane's namespace.
        namespace: String,
    },
}

pub fn run(global: &GlobalArgs, args: &DiscoveryArgs) -> Result<Exit> {
    if let (Some(_), Some(_)) = (&args.config_dir, &global.kubeconfig) {
        return Err(DiscoveryError::TwoSources.into());
    }
    if let Some(dir) = args.config_dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(DiscoveryError::ConfigDir(dir.display().to_string()).into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let source = match &args.config_dir {
        Some(dir) => Source::Dir(dir.clone()),
        None => Source::Kube {
            client: runtime.block_on(kube::client(
                global.kubeconfig.as_deref().map(Path::new),
                global.context.as_deref(),
            ))?,
            namespace: control_plane_namespace(
                global,
                std::env::var("POD_NAMESPACE").ok().as_deref(),
            ),
        },
    };
    let mesh = mesh_options(args)?;
    let injection = injection_settings(args)?;
    let kube_client = match &source {
        Source::Kube { client, .. } => Some(client.clone()),
        Source::Dir(_) => None,
    };
    let ca = certificate_authority(args, &mesh, kube_client)?;
    let scopes = Arc::new(init_logging(&args.log_output_level)?);
    runtime.block_on(serve(global, args, source, mesh, injection, ca, scopes))?;
    Ok(Exit::Success)
}

/// istiod's namespace: `-n/--namespace`, else `POD_NAMESPACE` (what its Deployment sets), else
/// the Istio namespace (`istio-system`).
fn control_plane_namespace(global: &GlobalArgs, pod_namespace: Option<&str>) -> String {
    global
        .namespace
        .as_deref()
        .or(pod_namespace)
        .filter(|ns| !ns.is_empty())
        .unwrap_or(&global.istio_namespace)
        .to_string()
}

/// Logs to stderr through a filter that ControlZ's `/scopej` can change while the process runs.
fn init_logging(spec: &str) -> Result<Scopes, DiscoveryError> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, fmt, reload};
    let filter = log_filter(spec).map_err(DiscoveryError::LogLevel)?;
    let filter =
        EnvFilter::try_new(&filter).map_err(|e| DiscoveryError::LogLevel(e.to_string()))?;
    let (layer, handle) = reload::Layer::new(filter);
    // Only this command logs; a second init (tests in one process) is harmless to skip.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init();
    Scopes::from_spec(
        spec,
        Box::new(move |directive| {
            let filter = EnvFilter::try_new(directive).map_err(|e| e.to_string())?;
            handle.reload(filter).map_err(|e| e.to_string())
        }),
    )
    .map_err(|e| DiscoveryError::LogLevel(e.to_string()))
}

/// istiod's `--log_output_level` (`scope:level,…`) as a tracing filter directive. Scopes are
/// istio's names: `default` sets the base level, `ads` the xDS server's.
fn log_filter(spec: &str) -> Result<String, String> {
    Scopes::from_spec(spec, Box::new(|_| Ok(())))
        .map(|s| s.directive())
        .map_err(|e| e.to_string())
}

/// The mesh options from `--domain` and `--meshConfig`, over Istio's defaults.
fn mesh_options(args: &DiscoveryArgs) -> Result<MeshOptions, DiscoveryError> {
    let mut mesh = MeshOptions {
        domain_suffix: args.domain.clone(),
        cluster_id: args.cluster_id.clone(),
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

/// Where istiod's Deployment mounts the `cacerts` secret.
const KUBE_CACERTS: &str = "/etc/cacerts";

/// The CA and what authenticates its callers: the local mesh's token files when given, else,
/// on Kubernetes, ServiceAccount tokens checked with the API server (istiod's TokenReview).
fn certificate_authority(
    args: &DiscoveryArgs,
    mesh: &MeshOptions,
    kube_client: Option<::kube::Client>,
) -> Result<CertificateServiceServer, DiscoveryError> {
    let kube = kube_client.is_some();
    // In a pod, istiod finds a plugged-in CA where its Deployment mounts the `cacerts` secret
    // (read-only; Istio's ROOT_CA_DIR default). Its self-signed root would live in the
    // `istio-ca-secret` Secret, which Ferry does not write: without cacerts the root is the
    // process's own.
    let mounted = Path::new(KUBE_CACERTS);
    let ca_dir = args.ca_dir.clone().or_else(|| {
        (kube && mounted.join(cacerts::CA_CERT).is_file()).then(|| mounted.to_path_buf())
    });
    let ca = CertificateAuthority::load_or_create(
        ca_dir.as_deref(),
        &mesh.trust_domain,
        CertTtl {
            default: args.workload_cert_ttl,
            max: args.max_workload_cert_ttl,
        },
    )?;
    let root = match (ca.source, &ca_dir) {
        (RootSource::Plugged, Some(dir)) => format!("the plugged-in CA of {}", dir.display()),
        (RootSource::SelfSigned, Some(dir)) => format!("the self-signed root of {}", dir.display()),
        (RootSource::Generated, Some(dir)) => {
            format!("a new self-signed root, kept in {}", dir.display())
        }
        (_, None) => "a self-signed root for this process only (no --ca-dir)".to_string(),
    };
    let (authn, callers): (Option<Box<dyn Authenticator>>, &str) = match (
        &args.token_dir,
        kube_client,
    ) {
        (Some(dir), _) => (
            Some(Box::new(LocalTokens::new(dir))),
            "; callers authenticated by the tokens of --token-dir",
        ),
        (None, Some(client)) => (
            Some(Box::new(KubeTokenReview::new(client))),
            "; callers authenticated by their ServiceAccount token (TokenReview, audience istio-ca)",
        ),
        (None, None) => (
            None,
            "; no --token-dir, so no proxy can authenticate for a certificate",
        ),
    };
    eprintln!(
        "ferryctl discovery: CA for trust domain {} with {root}{callers}",
        mesh.trust_domain,
    );
    Ok(CertificateServiceServer::new(Arc::new(CaService::new(
        Arc::new(ca),
        authn,
    ))))
}

/// The webhook's certificate and, when given as files, its injector config.
struct Injection {
    tls: Option<Arc<rustls::ServerConfig>>,
    mesh: MeshSettings,
    /// From --injectConfigFile; `None` watches the cluster's ConfigMap.
    files: Option<Injector>,
}

fn injection_settings(args: &DiscoveryArgs) -> Result<Injection, DiscoveryError> {
    let tls = match (&args.tls_cert_file, &args.tls_key_file) {
        (Some(cert), Some(key)) => Some(webhook::tls_config(cert, key)?),
        _ => None,
    };
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|e| DiscoveryError::InjectConfig {
            file: path.display().to_string(),
            message: e.to_string(),
        })
    };
    let mesh = match &args.mesh_config {
        Some(file) => {
            MeshSettings::parse(&read(file)?).map_err(|e| DiscoveryError::MeshConfig {
                file: file.display().to_string(),
                message: e.to_string(),
            })?
        }
        None => MeshSettings::default(),
    };
    let files = match &args.inject_config_file {
        Some(config) => {
            let values = match &args.values_file {
                Some(v) => read(v)?,
                None => String::new(),
            };
            let mut injector =
                webhook::injector(&read(config)?, &values, &mesh).map_err(|message| {
                    DiscoveryError::InjectConfig {
                        file: config.display().to_string(),
                        message,
                    }
                })?;
            if let Some(r) = &args.revision {
                injector.values.revision = r.clone();
            }
            Some(injector)
        }
        None => None,
    };
    Ok(Injection { tls, mesh, files })
}

/// Applies the MeshConfig fields the control plane uses. A malformed value is an error rather
/// than silently defaulted: a control plane serving with the wrong timeouts is worse than one
/// that does not start.
fn apply_mesh_config(mesh: &mut MeshOptions, text: &str) -> Result<(), String> {
    let config = MeshConfig::parse(text).map_err(|e| e.to_string())?;
    mesh.root_namespace = config.root_namespace;
    if !config.trust_domain.is_empty() {
        mesh.trust_domain = config.trust_domain.clone();
    }
    if let Some(auto) = config.enable_auto_mtls {
        mesh.enable_auto_mtls = auto;
    }
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
    apply_telemetry(mesh, &config.rest)?;
    apply_gateway_topology(mesh, &config.rest)?;
    apply_proxy_headers(mesh, &config.rest)
}

/// `accessLogFile`, `accessLogEncoding`, `accessLogFormat`, `enableTracing` and
/// `defaultConfig.tracing.sampling`.
fn apply_telemetry(
    mesh: &mut MeshOptions,
    rest: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let text = |key: &str| -> Result<Option<&str>, String> {
        match rest.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{key}: expected a string, got {other}")),
        }
    };
    let encoding = match text("accessLogEncoding")? {
        None | Some("TEXT") => AccessLogEncoding::Text,
        Some("JSON") => AccessLogEncoding::Json,
        Some(other) => return Err(format!("accessLogEncoding: {other:?} is not TEXT or JSON")),
    };
    let format = text("accessLogFormat")?
        .filter(|f| !f.is_empty())
        .map(str::to_string);
    mesh.access_log = text("accessLogFile")?
        .filter(|f| !f.is_empty())
        .map(|file| AccessLogOptions {
            file: file.to_string(),
            encoding,
            format,
        });
    let tracing = match rest.get("enableTracing") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "enableTracing: expected true or false, got {other}"
            ));
        }
    };
    let sampling = match rest
        .get("defaultConfig")
        .and_then(|c| c.pointer("/tracing/sampling"))
    {
        None | Some(Value::Null) => DEFAULT_TRACE_SAMPLING,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(p) if (0.0..=100.0).contains(&p) => (p * 100.0).round() as u32,
            _ => {
                return Err(format!(
                    "defaultConfig.tracing.sampling: {n} is not a percentage from 0 to 100"
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "defaultConfig.tracing.sampling: expected a percentage, got {other}"
            ));
        }
    };
    mesh.trace_sampling = tracing.then_some(sampling);
    Ok(())
}

/// `defaultConfig.gatewayTopology.numTrustedProxies`: the gateways' trusted hops.
fn apply_gateway_topology(
    mesh: &mut MeshOptions,
    rest: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    const KEY: &str = "defaultConfig.gatewayTopology.numTrustedProxies";
    mesh.num_trusted_proxies = match rest
        .get("defaultConfig")
        .and_then(|c| c.pointer("/gatewayTopology/numTrustedProxies"))
    {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{KEY}: {n} is not a count of proxies (0 or more)"))?,
        Some(other) => return Err(format!("{KEY}: expected a count of proxies, got {other}")),
    };
    Ok(())
}

/// `defaultConfig.proxyHeaders` (see [`ProxyHeaders::from_json`]); absent, Istio's defaults.
fn apply_proxy_headers(
    mesh: &mut MeshOptions,
    rest: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    mesh.proxy_headers = match rest
        .get("defaultConfig")
        .and_then(|c| c.get("proxyHeaders"))
    {
        None | Some(Value::Null) => ProxyHeaders::default(),
        Some(headers) => ProxyHeaders::from_json("defaultConfig.proxyHeaders", headers)?,
    };
    Ok(())
}

async fn serve(
    global: &GlobalArgs,
    args: &DiscoveryArgs,
    source: Source,
    mesh: MeshOptions,
    injection: Injection,
    ca: CertificateServiceServer,
    scopes: Arc<Scopes>,
) -> Result<()> {
    let process = ProcessMetrics {
        start_time: SystemTime::now(),
    };
    let (raw_tx, raw_rx) = watch::channel(0u64);
    let changes = debounce::spawn(raw_rx, DebounceConfig::ISTIO_DEFAULT);
    let snapshots = Arc::new(ConfigSnapshots::new(mesh, raw_tx, changes));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut kube_client = None;
    let mut clusters = None;
    match source {
        Source::Dir(dir) => {
            // Read before listening, so /ready holds once the addresses are printed.
            let s = snapshots.clone();
            let dir = tokio::task::spawn_blocking(move || DirSource::load(dir, s))
                .await
                .context("reading --config-dir")?;
            tokio::spawn(dir.run(stop_rx.clone()));
        }
        Source::Kube { client, namespace } => {
            kube_client = Some(client.clone());
            let source =
                KubeSource::new(client, snapshots.clone()).with_multicluster(Multicluster {
                    namespace,
                    local_cluster: args.cluster_id.clone(),
                });
            clusters = Some(source.clusters());
            tokio::spawn(source.run(stop_rx.clone()));
        }
    }
    let source = snapshots;

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
    crate::local::announce::say(&crate::local::announce::discovery(
        grpc.local_addr()?,
        http.local_addr()?,
    ));

    if let Some(tls) = injection.tls {
        let https =
            TcpListener::bind(args.https_addr)
                .await
                .map_err(|source| DiscoveryError::Bind {
                    addr: args.https_addr,
                    source,
                })?;
        let state = match (injection.files, kube_client) {
            (Some(injector), _) => InjectorState::new(Ok(injector)),
            (None, Some(client)) => {
                let name = match args
                    .revision
                    .as_deref()
                    .filter(|r| !r.is_empty() && *r != "default")
                {
                    Some(r) => format!("istio-sidecar-injector-{r}"),
                    None => "istio-sidecar-injector".to_string(),
                };
                let state = InjectorState::new(Err(format!(
                    "no injector config yet: configmap {}/{name} not read",
                    global.istio_namespace
                )));
                tokio::spawn(webhook::watch_configmap(
                    client,
                    global.istio_namespace.clone(),
                    name,
                    injection.mesh,
                    state.clone(),
                    stop_rx.clone(),
                ));
                state
            }
            (None, None) => InjectorState::new(Err(
                "no injector config: start discovery with --injectConfigFile".into(),
            )),
        };
        crate::local::announce::say(&format!(
            "ferryctl discovery: injection webhook on https://{}/inject",
            https.local_addr()?
        ));
        tokio::spawn(webhook::serve(https, tls, state, stop_rx.clone()));
    }

    let status = StatusRegistry::new();
    let server = AdsServer::new(source.clone(), status.clone())
        .with_control_plane_identifier(control_plane_identifier(&pod_name()))
        .with_keepalive(Keepalive {
            interval: args.keepalive_interval,
            timeout: args.keepalive_timeout,
            max_connection_age: args.keepalive_max_server_connection_age,
        });

    let debug = Debug {
        scopes,
        source: source.clone(),
        status,
        xds: server.metrics().clone(),
        process,
        clusters,
    };
    tokio::spawn(serve_debug(http, Arc::new(debug), stop_rx));

    let mut shutdown_rx = stop_tx.subscribe();
    let shutdown = async move {
        let _ = shutdown_rx.wait_for(|stop| *stop).await;
    };
    let ads = tokio::spawn(server.serve_with(grpc, shutdown, Some(ca)));
    wait_for_signal().await;
    eprintln!("ferryctl discovery: shutting down");
    stop_tx.send_replace(true);
    ads.await.context("xDS server task")??;
    Ok(())
}

/// This control plane's name, as istiod's: its pod name from `POD_NAME` (the local mesh sets
/// `istiod` or `istiod-<revision>`), `istiod` when unset.
fn pod_name() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "istiod".to_string())
}

/// istiod's `control_plane.identifier` on every response: which control plane answered, and its
/// build, for the ISTIOD column of proxy-status.
fn control_plane_identifier(id: &str) -> String {
    json!({"Component": "istiod", "ID": id, "Info": BUILD}).to_string()
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

/// What the debug server reads.
struct Debug {
    scopes: Arc<Scopes>,
    source: Arc<ConfigSnapshots>,
    status: StatusRegistry,
    xds: Arc<XdsMetrics>,
    process: ProcessMetrics,
    /// The remote clusters (Kubernetes mode only).
    clusters: Option<Arc<Mutex<Clusters>>>,
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
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut request_line = text.lines().next().unwrap_or("").split_whitespace();
    let method = request_line.next().unwrap_or("GET");
    let target = request_line.next().unwrap_or("/");
    let (code, content_type, body) = if method == "PUT" {
        let body = read_body(&mut stream, &text).await?;
        ctrlz_put(target, &body, debug)
    } else {
        route(target, debug)
    };
    let reason = match code {
        200 => "OK",
        202 => "Accepted",
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

/// The body of a PUT: what followed the headers, then the rest of `Content-Length` (at most
/// 64 KiB: scope updates are small).
async fn read_body(stream: &mut TcpStream, head: &str) -> std::io::Result<Vec<u8>> {
    let (headers, already) = head.split_once("\r\n\r\n").unwrap_or((head, ""));
    let length = headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0)
        .min(64 * 1024);
    let mut body = already.as_bytes().to_vec();
    let mut chunk = [0u8; 1024];
    while body.len() < length {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(body)
}

/// ControlZ's `PUT /scopej/<scope>`: 202 when applied, as istiod answers.
fn ctrlz_put(target: &str, body: &[u8], debug: &Debug) -> (u16, &'static str, String) {
    let Some(name) = target.strip_prefix("/scopej/") else {
        return (404, JSON, "404 page not found\n".into());
    };
    let update: ScopeInfo = match serde_json::from_slice(body) {
        Ok(u) => u,
        Err(e) => return (400, JSON, format!("{e}\n")),
    };
    match debug.scopes.put(name, &update) {
        Ok(()) => (202, JSON, String::new()),
        Err(e @ ScopeError::Unknown(_)) => (404, JSON, format!("{e}\n")),
        Err(e) => (400, JSON, format!("{e}\n")),
    }
}

fn route(target: &str, debug: &Debug) -> (u16, &'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/scopej" {
        let body = serde_json::to_string_pretty(&debug.scopes.list()).unwrap_or_default() + "\n";
        return (200, JSON, body);
    }
    if let Some(name) = path.strip_prefix("/scopej/") {
        return match debug.scopes.get(name) {
            Some(info) => (
                200,
                JSON,
                serde_json::to_string_pretty(&info).unwrap_or_default() + "\n",
            ),
            None => (404, JSON, format!("unknown scope {name:?}\n")),
        };
    }
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
        "/debug/syncz" => {
            let namespace = query
                .split('&')
                .find_map(|p| p.strip_prefix("namespace="))
                .map(dump::percent_decode)
                .filter(|ns| !ns.is_empty());
            (200, pretty(status.syncz_in_namespace(namespace.as_deref())))
        }
        "/debug/configz" => (200, pretty(configz(&loaded))),
        "/debug/registryz" => (200, pretty(registryz(&loaded.push))),
        "/debug/clusterz" => {
            let clusters = debug.clusters.as_ref().map(|c| {
                c.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .debug_info()
            });
            (200, pretty(json!(clusters.unwrap_or_default())))
        }
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
    let (remote, errors) = debug.clusters.as_ref().map_or((0, 0), |c| {
        let c = c.lock().unwrap_or_else(PoisonError::into_inner);
        (c.len(), c.kubeconfig_errors())
    });
    out.family(
        "istiod_managed_clusters",
        "Number of clusters managed by istiod",
        Kind::Gauge,
    )
    .sample("istiod_managed_clusters", &[("cluster_type", "local")], 1.0)
    .sample(
        "istiod_managed_clusters",
        &[("cluster_type", "remote")],
        remote as f64,
    )
    // Ferry's own: istiod only logs a remote secret whose kubeconfig it cannot use.
    .family(
        "ferry_remote_cluster_kubeconfig_errors_total",
        "Remote secret kubeconfigs that could not be used (unparseable, not allowed, no client).",
        Kind::Counter,
    )
    .sample(
        "ferry_remote_cluster_kubeconfig_errors_total",
        &[],
        errors as f64,
    );
    debug.process.encode(&mut out);
    out.finish()
}

/// istiod's `/debug/config_dump?proxyID=<pod>.<namespace>` (or the full node id): what this
/// control plane sends that connected proxy, in Envoy's `/config_dump` JSON, so it can be diffed
/// against the proxy's own dump. Envoy's `mask`, `resource`, `include_eds` and `name_regex`
/// apply.
fn config_dump(query: &str, source: &ConfigSnapshots, status: &StatusRegistry) -> (u16, String) {
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
    let Some(proxy) = debug::connected(status, &proxy_id) else {
        let error = json!({"error": debug::NOT_CONNECTED, "proxyID": proxy_id});
        return (404, format!("{error:#}\n"));
    };
    let snapshot = source.snapshot(&proxy.node);
    let config = debug::connected_config_dump(&snapshot, &proxy);
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

/// istiod's `/debug/registryz`: its `model.Service` JSON per service (`Attributes`, `ports`,
/// `hostname`, `clusterVIPs`, `defaultAddress`, `Resolution`, `MeshExternal`), plus Ferry's
/// `namespace`, `addresses` and `endpoints` (each with its `clusterID`), which istiod keeps in
/// other endpoints.
fn registryz(push: &PushContext) -> Value {
    let services: Vec<Value> = push
        .registry()
        .services()
        .iter()
        .map(|s| {
            let registry = match s.source {
                ServiceSource::Kubernetes => "Kubernetes",
                ServiceSource::ServiceEntry(_) => "External",
            };
            // istiod's model.Resolution values.
            let resolution = match s.resolution {
                Resolution::ClientSideLb => 0,
                Resolution::DnsLb => 1,
                Resolution::Passthrough => 2,
                Resolution::DnsRoundRobinLb => 3,
            };
            json!({
                "Attributes": {
                    "ServiceRegistry": registry,
                    "Name": s.name,
                    "Namespace": s.namespace,
                    "LabelSelectors": s.selector,
                },
                "ports": s.ports.iter().map(|p| json!({
                    "name": p.name,
                    "port": p.number,
                    "protocol": p.protocol.to_string(),
                })).collect::<Vec<_>>(),
                "hostname": s.hostname,
                "clusterVIPs": {"Addresses": s.cluster_vips},
                "defaultAddress": s.addresses.first().map_or("0.0.0.0", String::as_str),
                "Resolution": resolution,
                "MeshExternal": s.mesh_external,
                "namespace": s.namespace,
                "addresses": s.addresses,
                "endpoints": s.endpoints.iter().map(|e| json!({
                    "address": e.address,
                    "labels": e.labels,
                    "clusterID": e.cluster,
                    "workload": e.workload,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!(services)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::mesh::ServerHeaderPolicy;

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
    fn access_log_and_tracing_settings_apply() {
        let mut mesh = MeshOptions::default();
        assert_eq!(mesh.access_log, None, "Istio logs nothing by default");
        assert_eq!(mesh.trace_sampling, Some(100), "and samples 1 %");
        apply_mesh_config(
            &mut mesh,
            "accessLogFile: /dev/stdout\naccessLogEncoding: JSON\ndefaultConfig:\n  tracing:\n    sampling: 12.5\n",
        )
        .expect("valid mesh config");
        assert_eq!(
            mesh.access_log,
            Some(AccessLogOptions {
                file: "/dev/stdout".into(),
                encoding: AccessLogEncoding::Json,
                format: None,
            })
        );
        assert_eq!(mesh.trace_sampling, Some(1250));
        // The seed's "disable access log": an empty file.
        apply_mesh_config(&mut mesh, "accessLogFile: \"\"\nenableTracing: false\n")
            .expect("valid mesh config");
        assert_eq!(mesh.access_log, None);
        assert_eq!(mesh.trace_sampling, None);
        let err = apply_mesh_config(&mut mesh, "accessLogEncoding: XML\n").expect_err("bad");
        assert!(err.contains("XML"), "{err}");
        let err = apply_mesh_config(&mut mesh, "defaultConfig:\n  tracing:\n    sampling: 200\n")
            .expect_err("bad");
        assert!(err.contains("200"), "{err}");
    }

    #[test]
    fn proxy_headers_turn_headers_off_or_rename_the_server() {
        let mut mesh = MeshOptions::default();
        assert_eq!(mesh.proxy_headers, ProxyHeaders::default());
        apply_mesh_config(
            &mut mesh,
            "defaultConfig:\n  proxyHeaders:\n    server:\n      disabled: true\n    \
             requestId:\n      disabled: true\n    attemptCount:\n      disabled: true\n    \
             envoyDebugHeaders:\n      disabled: true\n    forwardedClientCert: SANITIZE\n    \
             metadataExchangeHeaders:\n      mode: IN_MESH\n",
        )
        .expect("valid mesh config");
        let h = &mesh.proxy_headers;
        assert_eq!(h.server, ServerHeaderPolicy::Disabled);
        assert!(!h.request_id && !h.attempt_count && !h.envoy_debug_headers);
        assert_eq!(
            h.forwarded_client_cert,
            Some(envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::ForwardClientCertDetails::Sanitize)
        );
        apply_mesh_config(
            &mut mesh,
            "defaultConfig:\n  proxyHeaders:\n    server:\n      value: edge/1\n",
        )
        .expect("valid mesh config");
        assert_eq!(
            mesh.proxy_headers,
            ProxyHeaders {
                server: ServerHeaderPolicy::Named("edge/1".into()),
                ..ProxyHeaders::default()
            },
            "what is not named is on again"
        );
        for (bad, field) in [
            ("requestId: {disabled: 1}", "requestId.disabled"),
            ("server: {value: \"a\\nb\"}", "server.value"),
            ("forwardedClientCert: APPEND", "forwardedClientCert"),
            ("requestId: true", "requestId: expected an object"),
            ("server: {value: 5}", "server.value: expected a string"),
            ("requestID: {disabled: true}", "unknown field \"requestID\""),
        ] {
            let err = apply_mesh_config(
                &mut mesh,
                &format!("defaultConfig:\n  proxyHeaders:\n    {bad}\n"),
            )
            .expect_err("invalid");
            assert!(err.contains(field), "{bad}: {err}");
        }
    }

    #[test]
    fn gateway_topology_sets_the_trusted_proxies() {
        let mut mesh = MeshOptions::default();
        assert_eq!(
            mesh.num_trusted_proxies, 0,
            "Istio trusts no proxy by default"
        );
        apply_mesh_config(
            &mut mesh,
            "defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 2\n",
        )
        .expect("valid mesh config");
        assert_eq!(mesh.num_trusted_proxies, 2);
        for bad in ["-1", "1.5", "\"one\""] {
            let err = apply_mesh_config(
                &mut mesh,
                &format!("defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: {bad}\n"),
            )
            .expect_err("not a count");
            assert!(err.contains("numTrustedProxies"), "{err}");
        }
    }

    #[test]
    fn istio_log_levels_become_tracing_filters() {
        assert_eq!(log_filter("default:info").as_deref(), Ok("info"));
        assert_eq!(
            log_filter("default:none,ads:debug").as_deref(),
            Ok("off,ferry::xds=debug")
        );
        // A bare level is the default scope's; other scopes keep theirs (istio's pkg/log).
        assert_eq!(log_filter("warn").as_deref(), Ok("warn,ferry::xds=info"));
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

    #[test]
    fn istiod_listen_addresses_are_accepted() {
        assert_eq!(
            listen_addr(":15014"),
            Ok(SocketAddr::from(([0, 0, 0, 0], 15014)))
        );
        assert_eq!(
            listen_addr("127.0.0.1:0"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        assert_eq!(
            listen_addr("localhost:15010"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 15010)))
        );
        assert_eq!(
            listen_addr("[::1]:15010"),
            Ok("[::1]:15010".parse().expect("v6"))
        );
        for bad in [":", ":http", ":70000", "15014", "istiod:15014", ""] {
            let err = listen_addr(bad).expect_err(bad);
            assert!(err.contains(":PORT"), "{err}");
        }
    }

    #[test]
    fn the_control_plane_namespace_is_the_flag_then_pod_namespace_then_istio_system() {
        use clap::Parser as _;
        let global = |args: &[&str]| {
            crate::cli::Cli::try_parse_from(["ferryctl", "discovery"].iter().chain(args).copied())
                .expect("parses")
                .global
        };
        assert_eq!(control_plane_namespace(&global(&[]), None), "istio-system");
        assert_eq!(control_plane_namespace(&global(&[]), Some("mesh")), "mesh");
        assert_eq!(
            control_plane_namespace(&global(&["-n", "other"]), Some("mesh")),
            "other"
        );
        assert_eq!(
            control_plane_namespace(&global(&["-i", "custom"]), Some("")),
            "custom"
        );
    }

    /// The arguments `manifest generate` gives the istiod container of `profile`.
    fn rendered_istiod_args(profile: &str) -> Option<Vec<String>> {
        use crate::install::render::render;
        use crate::install::resolve::{ResolveInput, resolve};
        let resolved = resolve(&ResolveInput {
            files: Vec::new(),
            sets: vec![format!("profile={profile}")],
            revision: None,
            force: false,
        })
        .unwrap_or_else(|e| panic!("{profile}: {e}"));
        let objects = render(&resolved.iop).unwrap_or_else(|e| panic!("{profile}: {e}"));
        let deployment = objects.iter().find(|r| {
            r.object["kind"] == "Deployment"
                && r.object["spec"]["template"]["metadata"]["labels"]["app"] == "istiod"
        })?;
        let containers = deployment.object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers");
        let discovery = containers
            .iter()
            .find(|c| c["name"] == "discovery")
            .expect("the discovery container");
        Some(
            discovery["args"]
                .as_array()
                .expect("args")
                .iter()
                .map(|a| a.as_str().expect("string arg").to_string())
                .collect(),
        )
    }

    #[test]
    fn every_profiles_istiod_args_parse_as_ferryctl_discovery() {
        use clap::Parser as _;
        let mut with_istiod = 0;
        for profile in crate::install::profile::names() {
            let Some(args) = rendered_istiod_args(profile) else {
                continue;
            };
            with_istiod += 1;
            assert_eq!(
                args.first().map(String::as_str),
                Some("discovery"),
                "{args:?}"
            );
            let cli = crate::cli::Cli::try_parse_from(
                std::iter::once("ferryctl".to_string()).chain(args.iter().cloned()),
            )
            .unwrap_or_else(|e| panic!("{profile}: {args:?}: {e}"));
            let crate::cli::Command::Discovery(parsed) = cli.command else {
                panic!("{profile}: not the discovery command");
            };
            // istiod's forms: ":15014" is every interface; the connection age is applied.
            assert_eq!(
                parsed.monitoring_addr,
                SocketAddr::from(([0, 0, 0, 0], 15014)),
                "{profile}"
            );
            assert_eq!(
                parsed.keepalive_max_server_connection_age,
                Some(Duration::from_secs(30 * 60)),
                "{profile}"
            );
        }
        // default, demo, minimal, preview, stable (empty and remote render no istiod).
        assert!(with_istiod >= 5, "{with_istiod} profiles render istiod");
    }
}
