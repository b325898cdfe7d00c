//! `ferryctl workload run`: an application with its sidecar on the local mesh, registered the
//! Istio way in one step (see `local::workload`). Flags follow istioctl's `x workload` commands
//! (`--name`, `--labels`, `--serviceAccount`, `-r/--revision`, `-n/--namespace`).

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::exit::{CommandError, Exit};
use crate::install::revision::Revision;
use crate::local::home::Home;
use crate::local::workload::{self, WORKLOAD_LABEL, WorkloadPort, WorkloadSpec};
use crate::validation::names::is_dns1123_label;

#[derive(Debug, Args)]
pub struct WorkloadArgs {
    #[command(subcommand)]
    pub command: WorkloadCommand,
}

#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    /// Run an application with its sidecar on the local mesh, registered by WorkloadEntry,
    /// ServiceEntry and Sidecar until it exits
    #[command(
        long_about = "Run an application with its sidecar proxy on the local mesh, registered as \
                      Istio registers workloads outside Kubernetes: a WorkloadEntry on its own \
                      loopback address (127.0.0.N), the ServiceEntry of its service (shared by all \
                      its workloads), and a Sidecar whose ingress binds that address in front of \
                      the application and whose egress binds the outbound listeners on another \
                      loopback address. The application gets a free port in $PORT (and its \
                      address in $INSTANCE_IP) and must listen on 127.0.0.1:$PORT. Runs in the \
                      foreground until the application exits or SIGINT/SIGTERM, then removes the \
                      registration, stops the sidecar and exits with the application's exit code.",
        after_help = "Examples:\n  \
            # The sample app as reviews v1, behind its sidecar\n  \
            ferryctl workload run --name reviews-v1 --service reviews --port 9080:http \\\n    \
            --labels version=v1 -- ferryctl sample-app --service reviews --version v1\n\n  \
            # Inspect its sidecar\n  \
            ferryctl proxy-config cluster reviews-v1"
    )]
    Run(RunArgs),
    /// Restart a workload's sidecar without dropping a request, optionally on another control
    /// plane revision
    #[command(
        long_about = "Restart the sidecar of a workload started by `workload run`, as a rollout \
                      restart of a pod does, without dropping a request: the new sidecar takes \
                      over the running one's listening sockets once it has its config from the \
                      control plane, and the old one drains and exits. With --revision the \
                      workload moves to that revision or revision tag (its istio.io/rev), the \
                      step of a canary upgrade that moves workloads to the new control plane.",
        after_help = "Examples:\n  \
            # Move reviews-v1 to the canary control plane\n  \
            ferryctl workload restart reviews-v1 --revision canary\n\n  \
            # Pick up where a revision tag points now\n  \
            ferryctl tag set prod --revision canary --overwrite\n  \
            ferryctl workload restart reviews-v1"
    )]
    Restart(RestartArgs),
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Name of the workload (its --name in `workload run`)
    pub name: String,
    /// Control plane revision or revision tag to move the workload to (default: the one it is
    /// on, re-resolved: a tag may point elsewhere now)
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    /// How long to wait for the new sidecar to be ready
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = crate::cli::analyze::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Name of the workload: its WorkloadEntry, Sidecar and proxy (a DNS-1123 label)
    #[arg(long)]
    pub name: String,
    /// The service it is an instance of: <service>.<namespace>.svc.cluster.local, whose
    /// ServiceEntry selects app=<service>
    #[arg(long)]
    pub service: String,
    /// A port the workload serves, <number>[:<name>]; the name's prefix gives the protocol as
    /// Istio's port names do (http, http2, grpc, tcp-…; default http). Repeatable
    #[arg(long = "port", value_name = "PORT[:NAME]", required = true, value_parser = parse_port)]
    pub ports: Vec<WorkloadPort>,
    /// Workload labels, key=value[,key=value] (app=<service> is added)
    #[arg(short = 'l', long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// The workload's service account
    #[arg(
        long = "service-account",
        alias = "serviceAccount",
        default_value = "default"
    )]
    pub service_account: String,
    /// Control plane revision for the sidecar (istio.io/rev; default: the default revision)
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    /// The application's command and arguments, after --
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

fn parse_port(s: &str) -> Result<WorkloadPort, String> {
    let (number, name) = s.split_once(':').unwrap_or((s, "http"));
    let number: u16 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid port {s:?} (e.g. 9080 or 9080:http)"))?;
    if !is_dns1123_label(name) {
        return Err(format!("invalid port name {name:?} in {s:?}"));
    }
    Ok(WorkloadPort {
        number,
        name: name.to_string(),
    })
}

pub fn run(global: &GlobalArgs, args: &WorkloadArgs) -> Result<Exit> {
    match &args.command {
        WorkloadCommand::Run(run) => run_workload(global, run),
        WorkloadCommand::Restart(restart) => restart_workload(global, restart),
    }
}

fn restart_workload(global: &GlobalArgs, args: &RestartArgs) -> Result<Exit> {
    let namespace = global.namespace.as_deref().unwrap_or("default");
    if let Some(r) = &args.revision {
        Revision::parse_optional(r).map_err(|e| CommandError::usage(e.to_string()))?;
    }
    let home = Home::from_env()?;
    let id = format!("{}.{namespace}", args.name);
    let proxy = workload::restart(&home, &id, args.revision.as_deref(), args.timeout)?;
    eprintln!(
        "✔ {id}: sidecar restarted on revision {} (pid {}, admin {})",
        proxy.revision, proxy.pid, proxy.admin
    );
    Ok(Exit::Success)
}

fn run_workload(global: &GlobalArgs, args: &RunArgs) -> Result<Exit> {
    let spec = spec(global, args).map_err(CommandError::usage)?;
    let home = Home::from_env()?;
    let code = workload::run(&home, &spec, &mut |line: &str| eprintln!("{line}"))?;
    Ok(match code {
        0 => Exit::Success,
        code => Exit::Passthrough(u8::try_from(code).unwrap_or(1)),
    })
}

/// The run the flags describe.
fn spec(global: &GlobalArgs, args: &RunArgs) -> Result<WorkloadSpec, String> {
    let namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    for (what, value) in [
        ("--name", &args.name),
        ("--service", &args.service),
        ("--namespace", &namespace),
    ] {
        if !is_dns1123_label(value) {
            return Err(format!(
                "{what} {value:?} must be a DNS-1123 label (lowercase letters, digits and '-')"
            ));
        }
    }
    let mut ports: Vec<WorkloadPort> = Vec::new();
    for p in &args.ports {
        if ports
            .iter()
            .any(|o| o.number == p.number || o.name == p.name)
        {
            return Err(format!(
                "--port {}:{}: each port needs its own number and name",
                p.number, p.name
            ));
        }
        ports.push(p.clone());
    }
    let mut labels = BTreeMap::new();
    for l in &args.labels {
        let Some((k, v)) = l.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(format!("--labels: {l:?} is not key=value"));
        };
        labels.insert(k.to_string(), v.to_string());
    }
    match labels.get("app") {
        Some(app) if app != &args.service => {
            return Err(format!(
                "--labels app={app} contradicts --service {}: the service's ServiceEntry selects app=<service>",
                args.service
            ));
        }
        _ => {}
    }
    labels.insert("app".into(), args.service.clone());
    labels.insert(WORKLOAD_LABEL.into(), args.name.clone());
    let revision = match &args.revision {
        Some(r) => Revision::parse_optional(r)
            .map_err(|e| e.to_string())?
            .map_or_else(|| "default".to_string(), |r| r.as_str().to_string()),
        None => "default".to_string(),
    };
    Ok(WorkloadSpec {
        name: args.name.clone(),
        namespace,
        service: args.service.clone(),
        ports,
        labels,
        service_account: args.service_account.clone(),
        revision,
        command: args.command.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_with_an_optional_name() {
        assert_eq!(
            parse_port("9080").expect("port"),
            WorkloadPort {
                number: 9080,
                name: "http".into()
            }
        );
        assert_eq!(parse_port("50051:grpc").expect("port").name, "grpc");
        assert!(parse_port("0").is_err());
        assert!(parse_port("80:Bad_Name").is_err());
    }
}
