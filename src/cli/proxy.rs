//! `ferryctl proxy sidecar|router`: Ferry's data plane (Envoy's job, started as pilot-agent
//! starts Envoy). Its identity is Istio's node id, `<role>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`,
//! and its labels select Gateways, Sidecars and `sourceLabels` routes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use envoy_types::pb::envoy::config::core::v3::Node;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::exit::Exit;
use crate::inject::probe::AppProbers;
use crate::inject::proxy_config::ProxyConfig;
use crate::local::announce;
use crate::proxy::admin::{self, AdminContext, CommandLine};
use crate::proxy::downstream::Limits;
use crate::proxy::dump::BootInfo;
use crate::proxy::handover::{self, Inherited, Parent};
use crate::proxy::logging::{Level, LogControl, Loggers};
use crate::proxy::secrets::{CaClientConfig, SecretManager};
use crate::proxy::server::{Drain, Listeners};
use crate::proxy::state::Shared;
use crate::proxy::status::{self, Role, StatusContext};
use crate::proxy::workers::Workers;
use crate::xds::client::{self, ClientConfig};
use crate::xds::node::{json_to_struct, struct_to_json};
use crate::xds::peer::{self, Workload};

/// The line the proxy announces its status server with (tests and supervisors read it).
pub const STATUS_ON: &str = "ferryctl proxy: status on ";
pub const READINESS_ON: &str = "ferryctl proxy: readiness on ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProxyType {
    /// A workload's sidecar
    Sidecar,
    /// A gateway (ingress or egress)
    Router,
}

/// Istio's `interceptionMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum InterceptionMode {
    None,
    Redirect,
    Tproxy,
}

#[derive(Debug, Args)]
#[command(
    about = "Start a Ferry proxy (sidecar or gateway), configured by the control plane over xDS",
    long_about = "Start a Ferry proxy: Envoy's job, configured only over xDS from the discovery \
                  address. It serves the listeners the control plane sends and Envoy's admin API \
                  on --admin-address. Its identity follows Istio's pod environment \
                  (POD_NAME, POD_NAMESPACE, INSTANCE_IP) and may be given with flags.",
    after_help = "Examples:\n  \
        ferryctl proxy router --discovery-address 127.0.0.1:15010\n  \
        ferryctl proxy sidecar --pod-name reviews-v1 --namespace default --labels app=reviews,version=v1"
)]
pub struct ProxyArgs {
    /// Proxy type
    #[arg(value_enum)]
    pub r#type: ProxyType,
    /// Address of the control plane's xDS server (plaintext gRPC, istiod's 15010)
    #[arg(
        long = "discovery-address",
        alias = "discoveryAddress",
        default_value = "127.0.0.1:15010"
    )]
    pub discovery_address: String,
    /// Pod name (default: istio-ingressgateway for routers, the host name for sidecars)
    #[arg(long = "pod-name", env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// Pod namespace (default: istio-system for routers, default for sidecars)
    #[arg(long = "pod-namespace", env = "POD_NAMESPACE")]
    pub pod_namespace: Option<String>,
    /// The workload's IP
    #[arg(long = "ip", env = "INSTANCE_IP", default_value = "127.0.0.1")]
    pub ip: std::net::IpAddr,
    /// Workload labels, key=value[,key=value] (default for routers: istio=ingressgateway,app=istio-ingressgateway)
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// The workload (Deployment) the pod belongs to, as Istio's metrics name it (default: the
    /// pod name less a Deployment's pod-template-hash suffix)
    #[arg(long = "workload-name", env = "ISTIO_META_WORKLOAD_NAME")]
    pub workload_name: Option<String>,
    /// DNS domain suffix
    #[arg(long, default_value = "cluster.local")]
    pub domain: String,
    /// Address of Envoy's admin API
    #[arg(long = "admin-address", default_value = "127.0.0.1:15000")]
    pub admin_address: SocketAddr,
    /// How traffic reaches a sidecar: NONE (Ferry's default: no iptables, outbound listeners
    /// bind their ports) or REDIRECT/TPROXY (captured by iptables set up outside Ferry)
    #[arg(
        long = "interception-mode",
        value_enum,
        default_value = "NONE",
        ignore_case = true
    )]
    pub interception_mode: InterceptionMode,
    /// Worker threads (Envoy's --concurrency)
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    /// Log level: trace, debug, info, warning, error, critical, off (Envoy's --proxyLogLevel)
    #[arg(long = "proxyLogLevel", default_value = "warning")]
    pub proxy_log_level: String,
    /// Per-logger levels over --proxyLogLevel, <logger>:<level>[,...] with Envoy's logger names
    /// (Istio's --proxyComponentLogLevel, e.g. misc:error,router:debug)
    #[arg(long = "proxyComponentLogLevel", default_value = "misc:error")]
    pub proxy_component_log_level: String,
    /// Unix socket for hot restart (Envoy's --socket-path): a proxy started with the path of a
    /// running one takes over its listening sockets, and that one drains and exits once this
    /// one is ready, so a restart drops no connection
    #[arg(long = "socket-path")]
    pub socket_path: Option<PathBuf>,
    /// Seconds connections get to finish when the proxy stops or hands over, or when LDS
    /// removes their listener (Envoy's --drain-time-s; the default is Istio's
    /// terminationDrainDuration)
    #[arg(long = "drain-time-s", default_value_t = 5)]
    pub drain_time_s: u64,
    /// Time a client has to send a request's headers, from its first byte (from the connection's
    /// start for the first request); a slower one gets 408 and is disconnected (Envoy's
    /// request_headers_timeout, on by default here against slow-header attacks)
    #[arg(
        long = "request-headers-timeout",
        default_value = "60s",
        value_parser = crate::cli::analyze::parse_duration
    )]
    pub request_headers_timeout: std::time::Duration,
    /// Port of the status server (Istio's agent --statusPort, 15020), on every address: readiness
    /// on /healthz/ready, and the application's probes that injection rewrote to
    /// /app-health/<container>/livez|readyz|startupz, run against the application as the kubelet
    /// would have. Off when unset; 0 picks a free port
    #[arg(long = "status-port", alias = "statusPort", value_name = "PORT")]
    pub status_port: Option<u16>,
    /// Port serving only /healthz/ready, on every address (Envoy's health listener in Istio's
    /// proxies, 15021, which the rendered readiness probes name). Off when unset; 0 picks a free
    /// port
    #[arg(long = "readiness-port", value_name = "PORT")]
    pub readiness_port: Option<u16>,
    /// The application's original probes by path, as JSON (Istio's ISTIO_KUBE_APP_PROBERS, which
    /// injection sets)
    #[arg(
        long = "app-probers",
        env = "ISTIO_KUBE_APP_PROBERS",
        value_name = "JSON",
        hide_env_values = true
    )]
    pub app_probers: Option<String>,
    /// The workload's ProxyConfig, as JSON or YAML (Istio's PROXY_CONFIG, which injection sets
    /// from the mesh's defaultConfig and the pod's proxy.istio.io/config); the control plane
    /// reads its proxyHeaders
    #[arg(
        long = "proxy-config",
        env = "PROXY_CONFIG",
        value_name = "CONFIG",
        hide_env_values = true
    )]
    pub proxy_config: Option<String>,
    /// File holding the workload's token, presented to the CA for a certificate (the local
    /// mesh writes one per service account). Without it the proxy gets no certificate, so it
    /// neither originates nor accepts Istio mTLS
    #[arg(long = "token-file", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Address of the CA's gRPC service (Istio's CA_ADDR); default: --discovery-address
    #[arg(long = "ca-address", env = "CA_ADDR", value_name = "ADDRESS")]
    pub ca_address: Option<String>,
    /// Lifetime of the workload certificate asked for (Istio's SECRET_TTL)
    #[arg(
        long = "secret-ttl",
        env = "SECRET_TTL",
        default_value = "24h",
        value_parser = crate::cli::analyze::parse_duration
    )]
    pub secret_ttl: std::time::Duration,
    /// Fraction of the certificate's lifetime left when it is renewed (Istio's
    /// SECRET_GRACE_PERIOD_RATIO): 0.5 renews half-way through
    #[arg(
        long = "secret-grace-period-ratio",
        env = "SECRET_GRACE_PERIOD_RATIO",
        default_value_t = 0.5
    )]
    pub secret_grace_period_ratio: f64,
}

#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error("--labels: {0:?} is not key=value")]
    Label(String),
    #[error(
        "--proxyLogLevel: {0:?} is not one of trace, debug, info, warning, error, critical, off"
    )]
    LogLevel(String),
    #[error(
        "--proxyComponentLogLevel: {0:?} is not <logger>:<level>[,...] with Envoy's logger names \
         (admin, config, connection, http, main, misc, router, upstream, ...) and levels"
    )]
    ComponentLogLevel(String),
    #[error("--request-headers-timeout must be more than 0")]
    HeadersTimeout,
    #[error("--concurrency must be at least 1")]
    Concurrency,
    #[error("--app-probers (ISTIO_KUBE_APP_PROBERS): {0}")]
    AppProbers(String),
    #[error("--proxy-config (PROXY_CONFIG): {0}")]
    ProxyConfig(String),
    #[error("--secret-grace-period-ratio must be more than 0 and at most 1")]
    GraceRatio,
    #[error("--secret-ttl must be at least 1s")]
    SecretTtl,
}

/// The loggers at the levels the flags ask for: `--proxyLogLevel` for all, then
/// `--proxyComponentLogLevel` per logger (Envoy's `--log-level` and `--component-log-level`).
fn loggers(args: &ProxyArgs) -> Result<Loggers, ProxyError> {
    // Envoy's command line takes `warn` as well; its admin API does not.
    let level = match args.proxy_log_level.as_str() {
        "warn" => Level::Warning,
        other => other
            .parse()
            .map_err(|_| ProxyError::LogLevel(args.proxy_log_level.clone()))?,
    };
    let mut loggers = Loggers::new(level);
    loggers
        .set_paths(&args.proxy_component_log_level)
        .map_err(|_| ProxyError::ComponentLogLevel(args.proxy_component_log_level.clone()))?;
    Ok(loggers)
}

pub fn run(args: &ProxyArgs) -> Result<Exit> {
    if args.concurrency == 0 {
        return Err(ProxyError::Concurrency.into());
    }
    if args.request_headers_timeout.is_zero() {
        return Err(ProxyError::HeadersTimeout.into());
    }
    if !(args.secret_grace_period_ratio > 0.0 && args.secret_grace_period_ratio <= 1.0) {
        return Err(ProxyError::GraceRatio.into());
    }
    if args.secret_ttl < Duration::from_secs(1) {
        return Err(ProxyError::SecretTtl.into());
    }
    let loggers = loggers(args)?;
    let probers = match &args.app_probers {
        Some(text) if !text.trim().is_empty() => crate::inject::probe::parse_app_probers(text)
            .map_err(|e| ProxyError::AppProbers(e.to_string()))?,
        _ => AppProbers::new(),
    };
    let proxy_config = match &args.proxy_config {
        Some(text) if !text.trim().is_empty() => {
            Some(proxy_config(text).map_err(ProxyError::ProxyConfig)?)
        }
        _ => None,
    };
    let node = node(args, proxy_config)?;
    let logging = Arc::new(init_tracing(loggers)?);
    // One worker is one event loop, as an Envoy worker: no cross-thread wake-ups per request.
    // This is worker 0; `serve` starts the others (`proxy::workers`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Before the runtime: a blocking exchange of a few messages.
    let predecessor = match &args.socket_path {
        Some(path) => handover::take_over(path)
            .with_context(|| format!("taking over from the proxy at {}", path.display()))?,
        None => None,
    };
    runtime.block_on(serve(args, node, logging, predecessor, probers))?;
    Ok(Exit::Success)
}

/// Logs to stderr through a filter `/logging` can replace while the proxy runs.
fn init_tracing(loggers: Loggers) -> Result<LogControl> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, fmt, reload};
    let filter = EnvFilter::try_new(loggers.directives()).context("building the log filter")?;
    let (filter, handle) = reload::Layer::new(filter);
    // Already set only when something else in this process installed one first (tests).
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init();
    Ok(LogControl::new(
        loggers,
        Box::new(move |directives| {
            let filter = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
            handle.reload(filter).map_err(|e| e.to_string())
        }),
    ))
}

/// The variables a proxy reads as its pod's, which injection sets: a proxy the local mesh
/// starts takes none of them from the user's shell.
pub const POD_ENVIRONMENT: [&str; 9] = [
    "POD_NAME",
    "POD_NAMESPACE",
    "INSTANCE_IP",
    "ISTIO_META_WORKLOAD_NAME",
    "ISTIO_KUBE_APP_PROBERS",
    "PROXY_CONFIG",
    "CA_ADDR",
    "SECRET_TTL",
    "SECRET_GRACE_PERIOD_RATIO",
];

/// `PROXY_CONFIG`, checked as injection checks the annotation it comes from, so that a mistake
/// stops the proxy with its name rather than reaching the control plane. The value itself is
/// not repeated: it may carry `proxyMetadata` secrets.
fn proxy_config(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    ProxyConfig::parse(text)
        .map(ProxyConfig::into_map)
        .map_err(|e| {
            format!(
                "{e}; injection sets it from the pod's proxy.istio.io/config over \
                 meshConfig.defaultConfig"
            )
        })
}

fn node(args: &ProxyArgs, proxy_config: Option<serde_json::Map<String, Value>>) -> Result<Node> {
    let router = args.r#type == ProxyType::Router;
    let namespace = args
        .pod_namespace
        .clone()
        .unwrap_or_else(|| if router { "istio-system" } else { "default" }.to_string());
    let pod = args.pod_name.clone().unwrap_or_else(|| {
        if router {
            "istio-ingressgateway".to_string()
        } else {
            std::env::var("HOSTNAME").unwrap_or_else(|_| "sidecar".to_string())
        }
    });
    let mut labels = BTreeMap::new();
    for l in &args.labels {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| ProxyError::Label(l.clone()))?;
        labels.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
    }
    if router && args.labels.is_empty() {
        labels.insert("istio".into(), "ingressgateway".into());
        labels.insert("app".into(), "istio-ingressgateway".into());
    }
    let workload = args.workload_name.clone().unwrap_or_else(|| {
        let plain: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        peer::pod_workload_name(&pod, &plain)
    });
    let role = if router { "router" } else { "sidecar" };
    let id = format!(
        "{role}~{}~{pod}.{namespace}~{namespace}.svc.{}",
        args.ip, args.domain
    );
    let metadata = json!({
        "NAMESPACE": namespace,
        "NAME": pod,
        "WORKLOAD_NAME": workload,
        "LABELS": labels,
        "CLUSTER_ID": "Kubernetes",
        "ISTIO_VERSION": env!("CARGO_PKG_VERSION"),
        "INSTANCE_IPS": args.ip.to_string(),
        "INTERCEPTION_MODE": match args.interception_mode {
            InterceptionMode::None => "NONE",
            InterceptionMode::Redirect => "REDIRECT",
            InterceptionMode::Tproxy => "TPROXY",
        },
    });
    let Value::Object(mut map) = metadata else {
        unreachable!("json! of an object literal is an object")
    };
    if let Some(config) = proxy_config {
        map.insert("PROXY_CONFIG".into(), Value::Object(config));
    }
    Ok(Node {
        id,
        cluster: if router {
            format!("istio-ingressgateway.{namespace}")
        } else {
            format!("{pod}.{namespace}")
        },
        metadata: Some(json_to_struct(&map)),
        ..Node::default()
    })
}

/// The proxy's own workload, as its metrics and metadata exchange name it, and its pod name.
fn workload_of(node: &Node) -> (Workload, String) {
    let meta = node
        .metadata
        .as_ref()
        .map(struct_to_json)
        .unwrap_or_default();
    let text = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or_default();
    let labels: BTreeMap<String, String> = meta
        .get("LABELS")
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let workload = Workload::from_labels(
        text("WORKLOAD_NAME"),
        text("NAMESPACE"),
        text("CLUSTER_ID"),
        &labels,
    );
    (workload, text("NAME").to_string())
}

async fn serve(
    args: &ProxyArgs,
    node: Node,
    logging: Arc<LogControl>,
    predecessor: Option<(Parent, Inherited)>,
    probers: AppProbers,
) -> Result<()> {
    let admin_listener = admin::bind(args.admin_address)
        .await
        .with_context(|| format!("binding the admin address {}", args.admin_address))?;
    let admin_address = admin_listener
        .local_addr()
        .context("reading the admin address")?;
    announce::say(&announce::proxy(admin_address, &args.discovery_address));
    let status_listener = bind_everywhere(args.status_port, "status", STATUS_ON).await?;
    let readiness_listener =
        bind_everywhere(args.readiness_port, "readiness", READINESS_ON).await?;
    let (parent, inherited) = match predecessor {
        Some((parent, inherited)) => (Some(parent), inherited),
        None => (None, Inherited::new()),
    };
    let limits = Limits {
        header_timeout: args.request_headers_timeout,
        ..Limits::default()
    };
    let workers = Workers::start(args.concurrency).context("starting the worker threads")?;
    let drain_time = Duration::from_secs(args.drain_time_s);
    let listeners = Listeners::new(inherited, limits, workers, drain_time);
    let shared = Arc::new(Shared::new(Box::new(listeners.clone())));
    let (workload, instance) = workload_of(&node);
    shared.stats.istio.set_local(workload, &node.id, &instance);
    listeners.attach(&shared);
    let address = if args.discovery_address.contains("://") {
        args.discovery_address.clone()
    } else {
        format!("http://{}", args.discovery_address)
    };
    let (secrets_stop, secrets_stopped) = watch::channel(false);
    if let Some(token_file) = &args.token_file {
        let ca_address = match &args.ca_address {
            Some(a) if a.contains("://") => a.clone(),
            Some(a) => format!("http://{a}"),
            None => address.clone(),
        };
        let manager = SecretManager::new(
            shared.secrets.clone(),
            CaClientConfig {
                address: ca_address,
                token_file: token_file.clone(),
                ttl: args.secret_ttl,
                grace_period_ratio: args.secret_grace_period_ratio,
            },
        )
        .context("configuring the CA client")?;
        shared.require_certificate();
        tokio::spawn(manager.run(secrets_stopped));
    }
    let boot = BootInfo::new(node.clone());
    let client = client::spawn(ClientConfig::new(address, node.clone()), shared.clone())
        .context("starting the xDS client")?;
    let (quit_tx, mut quit_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = Arc::new(AdminContext {
        shared: shared.clone(),
        quit: quit_tx,
        boot,
        node,
        command_line: CommandLine {
            concurrency: u32::try_from(args.concurrency).unwrap_or(u32::MAX),
            log_level: args.proxy_log_level.clone(),
            component_log_level: args.proxy_component_log_level.clone(),
        },
        logging,
    });
    let status = Arc::new(StatusContext {
        shared: shared.clone(),
        probers,
        app_host: args.ip,
    });
    if let Some(listener) = status_listener {
        let server = status::serve(listener, status.clone(), Role::Status, stop_rx.clone());
        tokio::spawn(server);
    }
    if let Some(listener) = readiness_listener {
        let server = status::serve(listener, status, Role::Readiness, stop_rx.clone());
        tokio::spawn(server);
    }
    let admin_task = tokio::spawn(admin::serve(admin_listener, ctx, stop_rx));
    if let Some(path) = args.socket_path.clone() {
        tokio::spawn(hot_restart(path, parent, shared.clone(), listeners.clone()));
    }
    let handed_over = listeners.handed_over();
    tokio::select! {
        _ = wait_for_signal() => {}
        _ = quit_rx.wait_for(|q| *q) => {}
        _ = handed_over => {}
    }
    // Envoy's drain: no new connections here, the open ones end as their clients learn of it.
    shared.start_draining();
    let how = if listeners.is_handed_over() {
        // Supervisors read this line: the process ending next is not a crash.
        announce::say(&announce::handed_over(std::process::id()));
        Drain::HandedOver
    } else {
        Drain::Shutdown
    };
    listeners.drain(how);
    client.stop().await;
    secrets_stop.send_replace(true);
    let limit = Duration::from_secs(args.drain_time_s);
    if !listeners.drained(limit).await {
        eprintln!("ferryctl proxy: closing the connections still open after {limit:?}");
        // Idle ones close now, requests in flight get a last moment.
        listeners.drain(Drain::Shutdown);
        listeners.drained(Duration::from_secs(1)).await;
    }
    stop_tx.send_replace(true);
    let _ = tokio::time::timeout(Duration::from_secs(1), admin_task).await;
    Ok(())
}

/// Once this proxy serves a complete config: tells the proxy it replaces (if any) to drain,
/// then serves the hot-restart socket for the proxy that will replace this one.
async fn hot_restart(
    path: PathBuf,
    parent: Option<Parent>,
    shared: Arc<Shared>,
    listeners: Arc<Listeners>,
) {
    while !shared.is_ready() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(parent) = parent {
        let drained = tokio::task::spawn_blocking(move || parent.drain()).await;
        // Whatever the answer: sockets no listener of this config uses would otherwise accept
        // connections nobody serves once the old proxy is gone.
        let unclaimed = listeners.release_unclaimed();
        match drained {
            Ok(Ok(())) => announce::say(&format!(
                "ferryctl proxy: took over from the proxy at {}; it drains and exits \
                 ({unclaimed} of its listening sockets not in this config closed)",
                path.display()
            )),
            Ok(Err(e)) => announce::say(&format!("ferryctl proxy: hot restart: {e}")),
            Err(e) => announce::say(&format!("ferryctl proxy: hot restart: {e}")),
        }
    }
    if let Err(e) = handover::serve(&path, listeners) {
        eprintln!("ferryctl proxy: hot restart disabled: {e}");
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Binds `port` on every address (the kubelet probes the pod's IP) and announces it with
/// `announce_prefix`; `None` when the port is not asked for.
async fn bind_everywhere(
    port: Option<u16>,
    what: &str,
    announce_prefix: &str,
) -> Result<Option<tokio::net::TcpListener>> {
    let Some(port) = port else { return Ok(None) };
    let address = SocketAddr::from(([0, 0, 0, 0], port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the {what} port {address}"))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("reading the {what} address"))?;
    announce::say(&format!("{announce_prefix}{bound}"));
    Ok(Some(listener))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    /// Envoy's admin API can stop the proxy and change its log levels: unless told otherwise,
    /// only this machine reaches it (Istio's sidecars bind it to localhost too).
    #[test]
    fn the_admin_api_listens_on_loopback_by_default() {
        let cli = Cli::try_parse_from([
            "ferryctl",
            "proxy",
            "router",
            "--discovery-address",
            "127.0.0.1:15010",
        ])
        .expect("parses");
        let Command::Proxy(args) = cli.command else {
            panic!("not the proxy command");
        };
        assert_eq!(args.admin_address.to_string(), "127.0.0.1:15000");
        assert!(args.admin_address.ip().is_loopback());
    }

    /// `PROXY_CONFIG` goes to the control plane in the node metadata, as Istio's agent sends
    /// it; proxy headers it cannot take stop the proxy, naming the variable and the field.
    #[test]
    fn the_proxy_config_reaches_the_node_metadata_once_checked() {
        let cli = Cli::try_parse_from([
            "ferryctl",
            "proxy",
            "sidecar",
            "--discovery-address",
            "127.0.0.1:15010",
            "--proxy-config",
            r#"{"proxyHeaders":{"server":{"disabled":true}}}"#,
        ])
        .expect("parses");
        let Command::Proxy(args) = cli.command else {
            panic!("not the proxy command");
        };
        let config = super::proxy_config(args.proxy_config.as_deref().expect("given"))
            .expect("a valid ProxyConfig");
        let node = super::node(&args, Some(config)).expect("a node");
        let meta = crate::xds::node::struct_to_json(node.metadata.as_ref().expect("metadata"));
        assert_eq!(
            meta["PROXY_CONFIG"],
            serde_json::json!({"proxyHeaders": {"server": {"disabled": true}}})
        );
        let without = super::node(&args, None).expect("a node");
        let meta = crate::xds::node::struct_to_json(without.metadata.as_ref().expect("metadata"));
        assert!(!meta.contains_key("PROXY_CONFIG"), "{meta:?}");

        // YAML, as Istio's agent reads it, is taken too; JSON is YAML.
        let yaml = super::proxy_config("proxyHeaders:\n  attemptCount:\n    disabled: true\n")
            .expect("YAML");
        assert_eq!(
            serde_json::Value::Object(yaml),
            serde_json::json!({"proxyHeaders": {"attemptCount": {"disabled": true}}})
        );
        for (bad, says) in [
            ("[1]", "the value is not a YAML mapping"),
            (
                "{\"proxyHeaders\": ",
                "failed to convert to apply proxy config: ",
            ),
            (
                r#"{"proxyHeaders":{"requestId":{"disabled":"yes"}}}"#,
                "proxyHeaders.requestId.disabled",
            ),
        ] {
            let err = super::proxy_config(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
            assert!(
                err.contains("proxy.istio.io/config"),
                "where to fix it: {err}"
            );
        }
        let err = super::ProxyError::ProxyConfig("x".into()).to_string();
        assert!(err.starts_with("--proxy-config (PROXY_CONFIG): "), "{err}");
    }
}
