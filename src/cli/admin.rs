//! `ferryctl admin log` (istioctl's `admin log`): the control plane's logging scopes through
//! ControlZ's `/scopej` (`discovery::ctrlz`), read as a table or changed per scope. Ferry's
//! control plane serves ControlZ on its debug address: on the local target the one the registry
//! records; on a cluster the istiod pod's `--ctrlz_port` (its monitoring port, 15014),
//! port-forwarded through the API server.

use std::net::SocketAddr;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use regex::Regex;
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::cli::output::write_stdout;
use crate::cli::target::{self, Target};
use crate::config::emit as yaml;
use crate::discovery::ctrlz::ScopeInfo;
use crate::exit::{CommandError, Exit};
use crate::kube::control_plane::{ISTIOD_SELECTOR, REVISION_LABEL};
use crate::kube::pod;
use crate::kube::portforward::{FAILURE_GRACE, PortForward};

#[derive(Debug, Args)]
#[command(
    about = "Manage control plane (istiod) configuration",
    visible_alias = "istiod"
)]
pub struct AdminArgs {
    /// label selector of the control plane pods (on a cluster)
    #[arg(short = 'l', long, global = true, default_value = ISTIOD_SELECTOR)]
    pub selector: String,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage istiod logging.
    #[command(
        visible_alias = "l",
        long_about = "Retrieve or update logging levels of istiod components.",
        after_help = "Examples:\n  \
            # Retrieve information about istiod logging levels.\n  \
            ferryctl admin log --local\n\n  \
            # Update levels of the specified loggers.\n  \
            ferryctl admin log --level ads:debug --local\n\n  \
            # Retrieve information about istiod logging levels for a specified revision.\n  \
            ferryctl admin log --revision canary --local\n\n  \
            # Reset levels of all the loggers to default value (info).\n  \
            ferryctl admin log --reset --local"
    )]
    Log(LogArgs),
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The control plane: on a cluster, an istiod pod of the Istio namespace; on the local mesh,
    /// istiod or istiod-<revision>. Default: the one of --revision
    pub name: Option<String>,
    /// Control plane revision
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    /// Comma-separated list of output logging level for scopes in the format of
    /// <scope>:<level>[,<scope>:<level>,...]. Possible values for <level>: none, error, warn, info,
    /// debug
    #[arg(long)]
    pub level: Option<String>,
    /// Comma-separated list of stack trace level for scopes in the format of
    /// <scope>:<stack-trace-level>[,...]. Ferry captures no stack traces: only none is accepted
    #[arg(long = "stack-trace-level")]
    pub stack_trace_level: Option<String>,
    /// Reset all levels to default value. (info)
    #[arg(long)]
    pub reset: bool,
    /// Reset log levels to default value. (info)
    #[arg(long = "log-reset")]
    pub log_reset: bool,
    /// Reset stack stace levels to default value. (none)
    #[arg(long = "stack-trace-reset")]
    pub stack_trace_reset: bool,
    /// Output format: one of json|yaml|short
    #[arg(short, long, default_value = "short")]
    pub output: String,
    /// ControlZ port (on a cluster; Ferry's control plane serves ControlZ on its monitoring port)
    #[arg(long = "ctrlz_port", default_value_t = 15014)]
    pub ctrlz_port: u16,
}

const PATTERN: &str = r"^[\w\- ]+:(none|error|warn|info|debug)";

pub fn run(global: &GlobalArgs, admin: &AdminArgs) -> Result<Exit> {
    let AdminCommand::Log(args) = &admin.command;
    if (args.reset || args.log_reset) && args.level.is_some() {
        return Err(
            CommandError::usage("--level cannot be combined with --reset, --log-reset").into(),
        );
    }
    if (args.reset || args.stack_trace_reset) && args.stack_trace_level.is_some() {
        return Err(CommandError::usage(
            "--stack-trace-level cannot be combined with --reset, --stack-trace-reset",
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let registry = match target::choose(global)? {
        Target::Local(registry) => registry,
        Target::Kubernetes => return runtime.block_on(cluster_log(global, admin, args)),
    };
    let revision = match (&args.name, &args.revision) {
        (Some(name), _) => match name.as_str() {
            "istiod" => "default".to_string(),
            n => match n.strip_prefix("istiod-") {
                Some(rev) => rev.to_string(),
                None => bail!(
                    "unknown control plane {n:?}: local control planes are named istiod or istiod-<revision>"
                ),
            },
        },
        (None, Some(rev)) if !rev.is_empty() => rev.clone(),
        _ => "default".to_string(),
    };
    let cp = registry
        .control_plane(&revision)?
        .filter(|cp| cp.running())
        .with_context(|| {
            format!(
                "no running control plane of revision {revision:?} in the local mesh at {}",
                registry.home().root().display()
            )
        })?;
    runtime.block_on(log(cp.monitoring, args))
}

/// istioctl's way to the ControlZ of a cluster: the pod named, or the first pod of the Istio
/// namespace matching `-l` and the revision (`default` without `-r`), its ControlZ port
/// forwarded to 127.0.0.1.
async fn cluster_log(global: &GlobalArgs, admin: &AdminArgs, args: &LogArgs) -> Result<Exit> {
    let client = target::cluster_client(global).await?;
    let namespace = &global.istio_namespace;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => {
            let revision = args
                .revision
                .as_deref()
                .filter(|r| !r.is_empty())
                .unwrap_or("default");
            let selector = if admin.selector.is_empty() {
                format!("{REVISION_LABEL}={revision}")
            } else {
                format!("{},{REVISION_LABEL}={revision}", admin.selector)
            };
            let pods = pod::list(&client, namespace, &selector)
                .await
                .with_context(|| format!("not able to locate pod with selector {selector}"))?;
            let mut names: Vec<String> = pods.into_iter().filter_map(|p| p.metadata.name).collect();
            names.sort();
            let Some(first) = names.first().cloned() else {
                bail!("no pods found");
            };
            if names.len() > 1 {
                eprintln!(
                    "warning: more than 1 pods fits selector: {selector}; will use pod: {first}"
                );
            }
            first
        }
    };
    let forward = PortForward::start(&client, namespace, &name, args.ctrlz_port)
        .await
        .with_context(|| format!("could not start port forwarder for ControlZ {name}"))?;
    match log(forward.local_addr(), args).await {
        Ok(exit) => Ok(exit),
        // What the kubelet said about the forwarded port says more than a connection closed at
        // the local end of the forward.
        Err(e) => match forward.failure(FAILURE_GRACE).await {
            Some(why) => Err(anyhow!(
                "could not reach ControlZ of {name}.{namespace}: port-forward failed: {why}"
            )),
            None => Err(e),
        },
    }
}

async fn log(addr: SocketAddr, args: &LogArgs) -> Result<Exit> {
    let scopes = get_scopes(addr).await?;
    let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
    let mut updates: Vec<ScopeInfo> = Vec::new();
    let blank = |name: &str| ScopeInfo {
        name: name.to_string(),
        description: String::new(),
        output_level: String::new(),
        stack_trace_level: String::new(),
        log_callers: false,
    };
    if args.reset || args.log_reset || args.stack_trace_reset {
        let both = args.reset || (args.log_reset && args.stack_trace_reset);
        for s in &scopes {
            let mut u = blank(&s.name);
            if both || args.log_reset {
                u.output_level = "info".into();
            }
            if both || args.stack_trace_reset {
                u.stack_trace_level = "none".into();
            }
            updates.push(u);
        }
    } else if let Some(spec) = args.level.as_deref().or(args.stack_trace_level.as_deref()) {
        let pattern = Regex::new(PATTERN).context("the scope pattern")?;
        for pair in spec.split(',') {
            if !pattern.is_match(pair) {
                return Err(CommandError::usage(format!("pattern {pair} did not match")).into());
            }
            let (scope, level) = pair.split_once(':').unwrap_or((pair, ""));
            if !names.contains(&scope) {
                return Err(CommandError::usage(format!(
                    "failed updating Scope {scope}: unrecognized scope; the control plane's scopes are {}",
                    names.join(", ")
                ))
                .into());
            }
            let mut u = blank(scope);
            if args.level.is_some() {
                u.output_level = level.to_string();
            } else {
                u.stack_trace_level = level.to_string();
            }
            updates.push(u);
        }
    }
    if !updates.is_empty() {
        for u in &updates {
            let (status, body) = put_scope(addr, u).await?;
            if status != 202 {
                bail!(
                    "failed updating Scope {}: cannot update resource {}, got status {status}: {}",
                    u.name,
                    u.name,
                    body.trim()
                );
            }
        }
        return Ok(Exit::Success);
    }
    let mut sorted = scopes;
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let text = match args.output.as_str() {
        "short" => {
            let mut t = String::from("ACTIVE SCOPE\tDESCRIPTION\tLOG LEVEL\tSTACK TRACE LEVEL\n");
            for s in &sorted {
                t.push_str(&format!(
                    "{}\t{}\t{}\t{}\n",
                    s.name, s.description, s.output_level, s.stack_trace_level
                ));
            }
            crate::proxyconfig::tabwriter::format(&t, 3)
        }
        "json" | "yaml" => {
            let v = Value::Array(
                sorted
                    .iter()
                    .map(|s| {
                        json!({
                            "scope_name": s.name,
                            "log_level": s.output_level,
                            "stack_trace_level": s.stack_trace_level,
                            "description": s.description,
                        })
                    })
                    .collect(),
            );
            if args.output == "json" {
                format!("{}\n", serde_json::to_string_pretty(&v)?)
            } else {
                yaml::to_string(&v)
            }
        }
        other => bail!("output format {other:?} not supported"),
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}

async fn get_scopes(addr: SocketAddr) -> Result<Vec<ScopeInfo>> {
    let body = crate::proxyconfig::admin::request(addr, http::Method::GET, "/scopej")
        .await
        .with_context(|| format!("could not get scopes information from {addr}"))?;
    serde_json::from_slice(&body).context("cannot deserialize response")
}

/// `PUT /scopej/<name>` with the scope as JSON; the status and body.
async fn put_scope(addr: SocketAddr, scope: &ScopeInfo) -> Result<(u16, String)> {
    let body = serde_json::to_vec(scope)?;
    let (status, body) = crate::proxyconfig::admin::send(
        addr,
        http::Method::PUT,
        &format!("/scopej/{}", scope.name),
        Some(("application/json", body.into())),
        crate::proxyconfig::admin::TIMEOUT,
    )
    .await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
