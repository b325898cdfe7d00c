//! `ferryctl proxy-config` (`pc`): istioctl's commands for reading a proxy's Envoy config, from a
//! saved dump (`-f`) or a live proxy: one of the local mesh found in the registry, or a pod of
//! the cluster whose admin port (`--proxy-admin-port`, 15000) is port-forwarded through the API
//! server. Parsing and tables live in `crate::proxyconfig`; this file is flags, input and
//! dispatch.

use std::io::Read as _;

use anyhow::{Context, Result, anyhow};
use clap::{ArgAction, Args, Subcommand};
use serde_json::Value;

use super::GlobalArgs;
use super::output::write_stdout;
use super::target::{self, Target};
use crate::exit::{CommandError, Exit};
use crate::kube::pod::{self, PodRef};
use crate::kube::portforward::{FAILURE_GRACE, PortForward};
use crate::local::registry::{ProxyRecord, Registry};
use crate::proxyconfig::admin::{self, paths};
use crate::proxyconfig::clusters::{self, ClusterFilter};
use crate::proxyconfig::eds::{self, EndpointFilter};
use crate::proxyconfig::endpoints::{self, ClusterStatuses};
use crate::proxyconfig::listeners::{self, ListenerFilter};
use crate::proxyconfig::routes::{self, RouteFilter};
use crate::proxyconfig::summary::{self, AllFilters};
use crate::proxyconfig::{ConfigDump, Format, bootstrap, ecds, logging, protojson, secrets};

#[derive(Debug, Args)]
#[command(
    long_about = "A group of commands used to retrieve information about proxy configuration from \
                  the Envoy config dump",
    after_help = "Examples:\n  \
        # Retrieve information about proxy configuration from an Envoy instance.\n  \
        ferryctl proxy-config <clusters|listeners|routes|endpoints|ecds|bootstrap|log|secret> <pod-name[.namespace]>"
)]
pub struct ProxyConfigArgs {
    /// Envoy proxy admin port (on a cluster: the pod's port to forward, default 15000; on the
    /// local mesh: replaces the port of the registered admin address)
    #[arg(long = "proxy-admin-port", global = true, value_name = "PORT")]
    pub proxy_admin_port: Option<u16>,
    #[command(subcommand)]
    pub command: ProxyConfigCommand,
}

/// The proxy and `--file` arguments every subcommand but `log` takes.
#[derive(Debug, Args)]
pub struct Source {
    /// [<type>/]<name>[.<namespace>] of a proxy: a pod, or a workload selecting one
    #[arg(value_name = "PROXY")]
    pub proxy: Option<String>,
    /// Envoy config dump JSON file
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<String>,
    /// Output format: one of json|yaml|short
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

/// istioctl's `--verbose` (a bool flag defaulting to true: `--verbose=false` turns it off).
#[derive(Debug, Args)]
pub struct Verbose {
    /// Output more information
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = true, default_missing_value = "true")]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub source: Source,
    /// Filter clusters by substring of Service FQDN field
    #[arg(long, default_value = "")]
    pub fqdn: String,
    /// Filter clusters by Direction field
    #[arg(long, default_value = "")]
    pub direction: String,
    /// Filter clusters by substring of Subset field
    #[arg(long, default_value = "")]
    pub subset: String,
    /// Filter clusters by Port field
    #[arg(long, default_value_t = 0)]
    pub port: i64,
}

#[derive(Debug, Args)]
pub struct ListenerArgs {
    #[command(flatten)]
    pub source: Source,
    /// Filter listeners by address field
    #[arg(long, default_value = "")]
    pub address: String,
    /// Filter listeners by type field
    #[arg(long = "type", default_value = "")]
    pub kind: String,
    /// Filter listeners by Port field
    #[arg(long, default_value_t = 0)]
    pub port: u64,
    #[command(flatten)]
    pub verbose: Verbose,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(flatten)]
    pub source: Source,
    /// Filter listeners by route name field
    #[arg(long, default_value = "")]
    pub name: String,
    #[command(flatten)]
    pub verbose: Verbose,
}

#[derive(Debug, Args)]
pub struct EndpointArgs {
    #[command(flatten)]
    pub source: Source,
    /// Filter endpoints by address field
    #[arg(long, default_value = "")]
    pub address: String,
    /// Filter endpoints by Port field
    #[arg(long, default_value_t = 0)]
    pub port: u64,
    /// Filter endpoints by cluster name field
    #[arg(long, default_value = "")]
    pub cluster: String,
    /// Filter endpoints by status field
    #[arg(long, default_value = "")]
    pub status: String,
}

#[derive(Debug, Args)]
pub struct AllArgs {
    #[command(flatten)]
    pub source: Source,
    /// Filter clusters by substring of Service FQDN field
    #[arg(long, default_value = "")]
    pub fqdn: String,
    /// Filter clusters by Direction field
    #[arg(long, default_value = "")]
    pub direction: String,
    /// Filter clusters by substring of Subset field
    #[arg(long, default_value = "")]
    pub subset: String,
    /// Filter clusters and listeners by Port field
    #[arg(long, default_value_t = 0)]
    pub port: u32,
    /// Filter listeners by address field
    #[arg(long, default_value = "")]
    pub address: String,
    /// Filter listeners by type field
    #[arg(long = "type", default_value = "")]
    pub kind: String,
    /// Filter routes by route name field
    #[arg(long, default_value = "")]
    pub name: String,
    /// Print a header before each section of the summary
    #[arg(long = "with-headers")]
    pub with_headers: bool,
    #[command(flatten)]
    pub verbose: Verbose,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// [<type>/]<name>[.<namespace>] of a proxy: a pod, or a workload (all of its pods)
    #[arg(value_name = "PROXY")]
    pub proxy: Option<String>,
    /// Comma-separated minimum per-logger level of messages to output, in the form of
    /// [<logger>:]<level>,[<logger>:]<level>,... or <level> to change all active loggers, where
    /// logger components can be listed by running "ferryctl proxy-config log <pod-name[.namespace]>",
    /// and level can be one of [trace, debug, info, warning, error, critical, off]
    #[arg(long, default_value = "")]
    pub level: String,
    /// Reset levels to default value (warning).
    #[arg(short = 'r', long)]
    pub reset: bool,
    /// Label selector
    #[arg(short = 'l', long, default_value = "")]
    pub selector: String,
    /// Output format: one of json|yaml|short
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Compare ROOTCA values for given 2 pods to check the connectivity between them.\n\n\
                  THIS COMMAND IS UNDER ACTIVE DEVELOPMENT AND NOT READY FOR PRODUCTION USE.",
    after_help = "Examples:\n  \
        # Compare ROOTCA values for given 2 pods to check the connectivity between them.\n  \
        ferryctl proxy-config rootca-compare <pod-name-1[.namespace]> <pod-name-2[.namespace]>"
)]
pub struct RootcaCompareArgs {
    /// [<type>/]<name>[.<namespace>] of two proxies in the local mesh
    #[arg(value_name = "PROXY")]
    pub proxies: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProxyConfigCommand {
    /// Retrieves cluster configuration for the Envoy in the specified pod
    #[command(visible_aliases = ["clusters", "c"])]
    Cluster(ClusterArgs),
    /// Retrieves all configuration for the Envoy in the specified pod
    #[command(visible_alias = "a")]
    All(AllArgs),
    /// Retrieves listener configuration for the Envoy in the specified pod
    #[command(visible_aliases = ["listeners", "l"])]
    Listener(ListenerArgs),
    /// Retrieves logging levels of the Envoy in the specified pod
    #[command(visible_alias = "o")]
    Log(LogArgs),
    /// Retrieves route configuration for the Envoy in the specified pod
    #[command(visible_aliases = ["routes", "r"])]
    Route(RouteArgs),
    /// Retrieves bootstrap configuration for the Envoy in the specified pod
    #[command(visible_alias = "b")]
    Bootstrap(Source),
    /// Retrieves endpoint configuration for the Envoy in the specified pod
    #[command(visible_aliases = ["endpoints", "ep"])]
    Endpoint(EndpointArgs),
    /// Retrieves endpoint configuration for the Envoy in the specified pod
    #[command(hide = true)]
    Eds(EndpointArgs),
    /// Retrieves secret configuration for the Envoy in the specified pod
    #[command(visible_aliases = ["secrets", "s"])]
    Secret(Source),
    /// Retrieves typed extension configuration for the Envoy in the specified pod
    #[command(visible_alias = "ec")]
    Ecds(Source),
    /// Compare ROOTCA values for the two given pods
    #[command(name = "rootca-compare", visible_alias = "rc")]
    RootcaCompare(RootcaCompareArgs),
}

pub fn run(global: &GlobalArgs, args: &ProxyConfigArgs) -> Result<Exit> {
    let ctx = Context_ {
        global,
        admin_port: args.proxy_admin_port,
        runtime: std::cell::OnceCell::new(),
        cluster: std::cell::OnceCell::new(),
    };
    let text = match &args.command {
        ProxyConfigCommand::Cluster(a) => {
            let (dump, format) = ctx.dump("cluster", &a.source, paths::CLUSTERS, "short")?;
            let f = ClusterFilter {
                fqdn: a.fqdn.clone(),
                port: a.port,
                subset: a.subset.clone(),
                direction: a.direction.clone(),
            };
            match format {
                Format::Short => clusters::summary(&dump, &f, false)?,
                _ => print_protos(format, clusters::selected(&dump, &f)?),
            }
        }
        ProxyConfigCommand::Listener(a) => {
            let (dump, format) = ctx.dump("listener", &a.source, paths::LISTENERS, "short")?;
            let f = listener_filter(&a.address, a.port, &a.kind, a.verbose.verbose);
            match format {
                Format::Short => listeners::summary(&dump, &f, false)?,
                _ => print_protos(format, listeners::selected(&dump, &f)?),
            }
        }
        ProxyConfigCommand::Route(a) => {
            let (dump, format) = ctx.dump("route", &a.source, paths::ROUTES, "short")?;
            let f = RouteFilter {
                name: a.name.clone(),
                verbose: a.verbose.verbose,
            };
            match format {
                Format::Short => routes::summary(&dump, &f, false)?,
                _ => print_protos(format, routes::selected(&dump, &f)?),
            }
        }
        ProxyConfigCommand::Eds(a) => {
            let (dump, format) = ctx.dump("eds", &a.source, paths::WITH_EDS, "short")?;
            let f = endpoint_filter(a);
            match format {
                Format::Short => eds::summary(&dump, &f, false)?,
                _ => print_protos(format, eds::selected(&dump, &f)?.iter()),
            }
        }
        ProxyConfigCommand::Endpoint(a) => {
            let format = output_format(a.source.output.as_deref(), "short")?;
            let bytes = ctx.input("endpoints", &a.source, paths::CLUSTER_STATUSES)?;
            let statuses = ClusterStatuses::parse(&bytes).with_context(|| input_name(&a.source))?;
            let f = endpoint_filter(a);
            match format {
                Format::Short => endpoints::summary(&statuses, &f),
                _ => print_protos(format, endpoints::selected(&statuses, &f)),
            }
        }
        ProxyConfigCommand::Secret(s) => {
            let (dump, format) = ctx.dump("secret", s, paths::SECRETS, "short")?;
            match format {
                Format::Short => secrets::summary(&dump, false, unix_now())?,
                _ => print_proto(format, &secrets::section(&dump)?),
            }
        }
        ProxyConfigCommand::Bootstrap(s) => {
            let (dump, format) = ctx.dump("bootstrap", s, paths::BOOTSTRAP, "json")?;
            match format {
                Format::Short => bootstrap::summary(&dump)?,
                _ => print_proto(format, &bootstrap::section(&dump)?),
            }
        }
        ProxyConfigCommand::Ecds(s) => {
            let (dump, format) = ctx.dump("ecds", s, paths::WITH_EDS, "short")?;
            match format {
                Format::Short => ecds::summary(&dump)?,
                _ => print_proto(format, &ecds::section(&dump)?),
            }
        }
        ProxyConfigCommand::All(a) => ctx.all(a)?,
        ProxyConfigCommand::RootcaCompare(a) => ctx.rootca_compare(a)?,
        ProxyConfigCommand::Log(a) => ctx.log(a)?,
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}

/// Envoy's admin port in a sidecar or gateway pod (istioctl's `--proxy-admin-port` default).
const POD_ADMIN_PORT: u16 = 15000;

/// Named with a trailing underscore so it does not shadow anyhow's `Context` trait.
struct Context_<'a> {
    global: &'a GlobalArgs,
    admin_port: Option<u16>,
    /// For requests to live proxies: built on the first, shared by the rest.
    runtime: std::cell::OnceCell<tokio::runtime::Runtime>,
    /// The cluster's client and the namespace pod names default to, when the target is one.
    cluster: std::cell::OnceCell<(kube::Client, String)>,
}

/// A live proxy whose admin API answers on this machine.
enum Live {
    /// A proxy of the local mesh, at its registered admin address.
    Local(ProxyRecord),
    /// A pod's admin port, forwarded to 127.0.0.1.
    Pod { id: String, forward: PortForward },
}

impl Live {
    /// `<pod>.<namespace>`, as istioctl names a proxy in messages and `log` output.
    fn id(&self) -> String {
        match self {
            Live::Local(record) => record.id(),
            Live::Pod { id, .. } => id.clone(),
        }
    }
}

impl Context_<'_> {
    fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        if let Some(r) = self.runtime.get() {
            return Ok(r);
        }
        let r = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        Ok(self.runtime.get_or_init(|| r))
    }

    /// The cluster's client and default namespace, made on first use.
    fn cluster(&self) -> Result<&(kube::Client, String)> {
        if let Some(c) = self.cluster.get() {
            return Ok(c);
        }
        let client = self
            .runtime()?
            .block_on(target::cluster_client(self.global))?;
        let namespace = target::namespace_or_default(self.global, &client);
        Ok(self.cluster.get_or_init(|| (client, namespace)))
    }

    /// `method path` on `live`'s admin API; the body.
    fn fetch(&self, live: &Live, method: http::Method, path: &str) -> Result<Vec<u8>> {
        let runtime = self.runtime()?;
        let result = runtime.block_on(async {
            let addr = match live {
                Live::Local(record) => record.admin_at(self.admin_port),
                Live::Pod { forward, .. } => forward.local_addr(),
            };
            match admin::request(addr, method, path).await {
                Ok(body) => Ok(body),
                // What the kubelet said about the forwarded port says more than "connection
                // closed" from the local end of the forward.
                Err(e) => match live {
                    Live::Pod { forward, .. } if !matches!(e, admin::AdminError::Status(_)) => {
                        Err(match forward.failure(FAILURE_GRACE).await {
                            Some(why) => anyhow!("port-forward failed: {why}"),
                            None => e.into(),
                        })
                    }
                    _ => Err(e.into()),
                },
            }
        });
        result.with_context(|| format!("failed to execute command on {} sidecar", live.id()))
    }

    /// The proxy `query` names on the target: registered in the local mesh, or a pod of the
    /// cluster (resolved from `[<type>/]<name>[.<namespace>]`) with its admin port forwarded.
    fn find(&self, query: &str) -> Result<Live> {
        if let Target::Local(_) = target::choose(self.global)? {
            let registry = Registry::open()?;
            let namespace = self.global.namespace.as_deref().unwrap_or("default");
            return Ok(Live::Local(registry.find_proxy_in(query, namespace)?));
        }
        let (client, namespace) = self.cluster()?;
        let pod = self
            .runtime()?
            .block_on(pod::resolve(client, &PodRef::parse(query, namespace)))?;
        self.forward(client, &pod)
    }

    /// `pod`'s admin port on 127.0.0.1.
    fn forward(
        &self,
        client: &kube::Client,
        pod: &k8s_openapi::api::core::v1::Pod,
    ) -> Result<Live> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let id = format!("{name}.{namespace}");
        let port = self.admin_port.unwrap_or(POD_ADMIN_PORT);
        let forward = self
            .runtime()?
            .block_on(PortForward::start(client, &namespace, &name, port))
            .with_context(|| format!("failed to execute command on {id} sidecar"))?;
        Ok(Live::Pod { id, forward })
    }

    /// The bytes of `--file` or of the live proxy's `admin_path`; exactly one must be given.
    fn input(&self, what: &str, source: &Source, admin_path: &str) -> Result<Vec<u8>> {
        match (&source.proxy, &source.file) {
            (Some(proxy), None) => {
                let live = self.find(proxy)?;
                self.fetch(&live, http::Method::GET, admin_path)
            }
            (None, Some(file)) => read_input(file),
            _ => {
                usage_to_stderr(what);
                Err(
                    CommandError::failure(format!("{what} requires pod name or --file parameter"))
                        .into(),
                )
            }
        }
    }

    /// A config dump and the output format (`default` when `-o` is not given).
    fn dump(
        &self,
        what: &str,
        source: &Source,
        admin_path: &str,
        default: &str,
    ) -> Result<(ConfigDump, Format)> {
        let format = output_format(source.output.as_deref(), default)?;
        let bytes = self.input(what, source, admin_path)?;
        let dump = ConfigDump::parse(&bytes).with_context(|| input_name(source))?;
        Ok((dump, format))
    }

    /// istioctl's `rootca-compare`: whether two proxies trust a common root.
    fn rootca_compare(&self, a: &RootcaCompareArgs) -> Result<String> {
        let [first, second] = a.proxies.as_slice() else {
            usage_to_stderr("rootca-compare");
            return Err(
                CommandError::failure("rootca-compare requires 2 pods as an argument").into(),
            );
        };
        let root = |query: &str| -> Result<(String, String)> {
            let live = self.find(query)?;
            let bytes = self.fetch(&live, http::Method::GET, paths::SECRETS)?;
            let dump = ConfigDump::parse(&bytes).with_context(|| live.id())?;
            let root = secrets::root_ca(&dump).map_err(|e| CommandError::failure(e.to_string()))?;
            Ok((live.id(), root))
        };
        let (id1, root1) = root(first)?;
        let (id2, root2) = root(second)?;
        let shared = secrets::roots_share_a_certificate(&root1, &root2)
            .map_err(|e| CommandError::failure(e.to_string()))?;
        if shared {
            Ok(format!(
                "Both [{id1}] and [{id2}] have the identical ROOTCA, theoretically the \
                 connectivity between them is available\n"
            ))
        } else {
            Err(CommandError::failure(format!(
                "Both [{id1}] and [{id2}] have the non identical ROOTCA, theoretically the \
                 connectivity between them is unavailable"
            ))
            .into())
        }
    }

    fn all(&self, a: &AllArgs) -> Result<String> {
        let format = output_format(a.source.output.as_deref(), "short")?;
        let bytes = self.input("all", &a.source, paths::WITH_EDS)?;
        if format != Format::Short {
            // istioctl prints the whole dump as read (YAML: converted), not re-marshalled protos.
            let value: Value = crate::proxyconfig::dump::parse_json(&bytes)
                .with_context(|| input_name(&a.source))?;
            return Ok(match format {
                Format::Yaml => protojson::to_go_yaml(&value),
                _ => format!("{}\n", String::from_utf8_lossy(&bytes)),
            });
        }
        let dump = ConfigDump::parse(&bytes).with_context(|| input_name(&a.source))?;
        let f = AllFilters {
            cluster: ClusterFilter {
                fqdn: a.fqdn.clone(),
                port: i64::from(a.port),
                subset: a.subset.clone(),
                direction: a.direction.clone(),
            },
            listener: listener_filter(&a.address, u64::from(a.port), &a.kind, a.verbose.verbose),
            route: RouteFilter {
                name: a.name.clone(),
                verbose: a.verbose.verbose,
            },
            endpoint: EndpointFilter {
                address: a.address.clone(),
                port: u64::from(a.port),
                ..Default::default()
            },
            with_headers: a.with_headers,
        };
        Ok(summary::full(&dump, &f, unix_now())?)
    }

    fn log(&self, a: &LogArgs) -> Result<String> {
        if a.selector.is_empty() && a.proxy.is_none() {
            usage_to_stderr("log");
            return Err(CommandError::failure("log requires pod name or --selector").into());
        }
        if a.reset && !a.level.is_empty() {
            usage_to_stderr("log");
            return Err(CommandError::failure("--level cannot be combined with --reset").into());
        }
        if a.output
            .as_deref()
            .is_some_and(|o| !o.is_empty() && o != "short")
        {
            return Err(
                CommandError::failure("--output is not applicable for this command").into(),
            );
        }
        let targets = self.log_targets(a)?;
        let mut plans = Vec::with_capacity(targets.len());
        // The logger list comes from each proxy first, as istioctl does: names are checked
        // against what the proxy's build registers.
        for t in &targets {
            let body = self.fetch(t, http::Method::POST, paths::LOGGING)?;
            let body = String::from_utf8_lossy(&body).into_owned();
            let plan = if a.reset {
                vec![format!(
                    "{}={}",
                    logging::ALL_LOGGERS,
                    logging::DEFAULT_LEVEL
                )]
            } else if a.level.is_empty() {
                Vec::new()
            } else {
                logging::plan(&a.level, &logging::loggers(&body))?
            };
            plans.push((body, plan));
        }
        let mut out = String::new();
        let mut errors = Vec::new();
        for (t, (listing, plan)) in targets.iter().zip(plans) {
            let mut resp = Ok(listing);
            for query in &plan {
                let path = format!("{}?{query}", paths::LOGGING);
                resp = self
                    .fetch(t, http::Method::POST, &path)
                    .map(|b| String::from_utf8_lossy(&b).into_owned());
                if resp.is_err() {
                    break;
                }
            }
            match resp {
                Ok(body) => out.push_str(&format!("{}:\n{body}", t.id())),
                Err(e) => errors.push(format!("error configuring log level for {}: {e:#}", t.id())),
            }
        }
        if !errors.is_empty() {
            // What did succeed is still printed, as istioctl does.
            write_stdout(&out)?;
            return Err(anyhow!(errors.join("\n")));
        }
        Ok(out)
    }

    /// The proxy named, or every proxy whose labels match `-l` (in `-n`, if given): registered
    /// ones on the local mesh; on a cluster, the pods (all of a workload's), port-forwarded.
    fn log_targets(&self, a: &LogArgs) -> Result<Vec<Live>> {
        if let Target::Kubernetes = target::choose(self.global)? {
            return self.pod_log_targets(a);
        }
        if let Some(proxy) = &a.proxy {
            return Ok(vec![self.find(proxy)?]);
        }
        let selector = parse_selector(&a.selector)?;
        let namespace = self.global.namespace.as_deref().unwrap_or("default");
        let found: Vec<Live> = Registry::open()?
            .proxies()?
            .into_iter()
            .filter(|p| p.namespace == namespace)
            .filter(|p| selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
            .map(Live::Local)
            .collect();
        if found.is_empty() {
            return Err(anyhow!("no pods found"));
        }
        Ok(found)
    }

    fn pod_log_targets(&self, a: &LogArgs) -> Result<Vec<Live>> {
        let (client, namespace) = self.cluster()?;
        let runtime = self.runtime()?;
        let pods = match &a.proxy {
            Some(proxy) => {
                runtime.block_on(pod::resolve_all(client, &PodRef::parse(proxy, namespace)))?
            }
            None => {
                let pods = runtime
                    .block_on(pod::list(client, namespace, &a.selector))
                    .map_err(|e| {
                        anyhow!("not able to locate pod with selector {}: {e}", a.selector)
                    })?;
                if pods.is_empty() {
                    return Err(anyhow!("no pods found"));
                }
                pods
            }
        };
        pods.iter().map(|p| self.forward(client, p)).collect()
    }
}

/// `k=v[,k=v]` equality selectors (what the registry's labels can answer).
fn parse_selector(s: &str) -> Result<Vec<(String, String)>> {
    s.split(',')
        .map(|part| {
            part.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim_start_matches('=').trim().to_string()))
                .ok_or_else(|| anyhow!("not able to locate pod with selector {s}: only key=value selectors are supported"))
        })
        .collect()
}

fn read_input(file: &str) -> Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading stdin")?;
        return Ok(buf);
    }
    std::fs::read(file).with_context(|| format!("open {file}"))
}

fn input_name(source: &Source) -> String {
    match (&source.file, &source.proxy) {
        (Some(f), _) => f.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => String::new(),
    }
}

fn output_format(given: Option<&str>, default: &str) -> Result<Format> {
    match given.unwrap_or(default) {
        "short" => Ok(Format::Short),
        "json" => Ok(Format::Json),
        "yaml" => Ok(Format::Yaml),
        other => {
            Err(CommandError::failure(format!("output format {other:?} not supported")).into())
        }
    }
}

fn listener_filter(address: &str, port: u64, kind: &str, verbose: bool) -> ListenerFilter {
    ListenerFilter {
        address: address.to_string(),
        port,
        kind: kind.to_string(),
        verbose,
    }
}

fn endpoint_filter(a: &EndpointArgs) -> EndpointFilter {
    EndpointFilter {
        address: a.address.clone(),
        port: a.port,
        cluster: a.cluster.clone(),
        status: a.status.clone(),
    }
}

/// A list of resources as istioctl prints `-o json|yaml`: protojson names, Go's indentation.
fn print_protos<'a>(format: Format, items: impl IntoIterator<Item = &'a Value>) -> String {
    let list = Value::Array(items.into_iter().cloned().collect());
    print_proto(format, &list)
}

fn print_proto(format: Format, value: &Value) -> String {
    let value = protojson::camel_case(value);
    match format {
        Format::Yaml => protojson::to_go_yaml(&value),
        _ => protojson::to_go_json(&value),
    }
}

/// istioctl prints the subcommand's usage before an argument error.
fn usage_to_stderr(sub: &str) {
    let mut cmd = super::command();
    cmd.build();
    let usage = cmd
        .find_subcommand_mut("proxy-config")
        .and_then(|pc| pc.find_subcommand_mut(sub.trim_end_matches('s')))
        .map(|c| c.render_usage().to_string());
    if let Some(u) = usage {
        eprintln!("{u}\n");
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
