//! `ferryctl admin log` (istioctl's `admin log`): the control plane's logging scopes through
//! ControlZ's `/scopej` (`discovery::ctrlz`), read as a table or changed per scope. On the local
//! target ControlZ is served on the control plane's debug address.

use std::net::SocketAddr;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use regex::Regex;
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::cli::output::write_stdout;
use crate::cli::target;
use crate::config::emit as yaml;
use crate::discovery::ctrlz::ScopeInfo;
use crate::exit::{CommandError, Exit};

#[derive(Debug, Args)]
#[command(
    about = "Manage control plane (istiod) configuration",
    visible_alias = "istiod"
)]
pub struct AdminArgs {
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
    /// The control plane (istiod, istiod-<revision>); default: the one of --revision
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
}

const PATTERN: &str = r"^[\w\- ]+:(none|error|warn|info|debug)";

pub fn run(global: &GlobalArgs, args: &AdminArgs) -> Result<Exit> {
    let AdminCommand::Log(args) = &args.command;
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
    let registry = target::local_only(global, "admin log against Kubernetes")?;
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(log(cp.monitoring, args))
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
