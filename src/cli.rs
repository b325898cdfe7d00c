//! The command line: clap definitions, dispatch and the one place errors become exit codes.
//! Commands parse here and do their work in their domain modules.

pub mod admin;
pub mod analyze;
pub mod completion;
pub mod create_remote_secret;
pub mod demo;
pub mod discovery;
pub mod docs;
pub mod experimental;
pub mod install;
pub mod kube_inject;
pub mod manifest;
pub mod output;
pub mod precheck;
pub mod profile;
pub mod proxy;
pub mod proxy_config;
pub mod proxy_status;
pub mod tag;
pub mod target;
pub mod verify;
pub mod version;
pub mod workload;

use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::exit::{CommandError, Exit};

/// Ferry's command line: install, analyze and troubleshoot an Istio-compatible service mesh.
#[derive(Debug, Parser)]
#[command(
    name = "ferryctl",
    version,
    about = "Ferry configuration command line utility",
    long_about = "Ferry configuration command line utility for service operators to debug and \
                  diagnose their Ferry (Istio-compatible) mesh.",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, as istioctl's persistent flags.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Kubernetes configuration file
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// Kubernetes configuration context
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Kubernetes namespace
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Istio system namespace
    #[arg(
        short = 'i',
        long = "istioNamespace",
        global = true,
        default_value = "istio-system",
        alias = "istio-namespace"
    )]
    pub istio_namespace: String,
    /// Use the local mesh on this machine instead of a Kubernetes cluster
    #[arg(long, global = true, env = "FERRY_LOCAL")]
    pub local: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze Istio configuration and print validation messages
    Analyze(analyze::AnalyzeArgs),
    /// Applies an Istio manifest, installing or reconfiguring Istio on a cluster
    #[command(
        visible_alias = "apply",
        long_about = "The install command generates an Istio install manifest and applies it. With --local \
                      it runs the control plane and gateways as supervised processes on this machine."
    )]
    Install(install::InstallArgs),
    /// Upgrade Istio control plane in-place
    #[command(
        long_about = "The upgrade command upgrades the control plane in place. On a cluster it \
                      first shows what would change (a diff of each live object against what \
                      the install renders, and the objects it would create and prune), asks, \
                      then applies and waits as install does. On the local mesh it is an alias \
                      for install."
    )]
    Upgrade(install::InstallArgs),
    /// Uninstall Istio from a cluster
    Uninstall(install::UninstallArgs),
    /// Verifies Istio Installation Status
    #[command(
        name = "verify-install",
        long_about = "verify-install verifies Istio installation status against the installation \
                      it rendered: every component running and ready, with what happened to those \
                      that were restarted and a hint for each failure."
    )]
    VerifyInstall(verify::VerifyArgs),
    /// Command group used to interact with revision tags
    Tag(tag::TagArgs),
    /// Manage control plane (istiod) configuration
    Admin(admin::AdminArgs),
    /// Commands related to Istio manifests
    Manifest(manifest::ManifestArgs),
    /// Commands related to Istio configuration profiles
    #[command(
        long_about = "The profile subcommand lists, dumps or diffs Istio configuration profiles.",
        after_help = "Examples:\n  \
            ferryctl profile list\n  \
            ferryctl manifest generate --set profile=demo  # Use a profile from the list"
    )]
    Profile(profile::ProfileArgs),
    /// Start Ferry's control plane: serve Envoy config over xDS from a config directory or a cluster
    Discovery(discovery::DiscoveryArgs),
    /// Start a Ferry proxy (sidecar or gateway) configured by the control plane over xDS
    Proxy(proxy::ProxyArgs),
    /// Run bookinfo's reviews demo on the local mesh: install, sample apps, the seed's routing, traffic
    Demo(demo::DemoArgs),
    /// Run the sample HTTP service: reports its service and version, echoes the request
    #[command(name = "sample-app")]
    SampleApp(demo::SampleAppArgs),
    /// Run workloads with their sidecars on the local mesh, registered the Istio way
    Workload(workload::WorkloadArgs),
    /// Retrieve information about proxy configuration from Envoy
    #[command(name = "proxy-config", visible_alias = "pc")]
    ProxyConfig(proxy_config::ProxyConfigArgs),
    /// Retrieves the synchronization status of each Envoy in the mesh
    #[command(name = "proxy-status", visible_alias = "ps")]
    ProxyStatus(proxy_status::ProxyStatusArgs),
    /// Inject Istio sidecar into Kubernetes pod resources
    #[command(name = "kube-inject")]
    KubeInject(kube_inject::KubeInjectArgs),
    /// Create a secret with credentials to allow Istio to access remote Kubernetes apiservers
    #[command(name = "create-remote-secret")]
    CreateRemoteSecret(create_remote_secret::CreateRemoteSecretArgs),
    /// Prints out build version information
    Version(version::VersionArgs),
    /// Experimental commands that may be modified or deprecated
    #[command(name = "x", visible_alias = "experimental")]
    Experimental(experimental::ExperimentalArgs),
    /// Generate the autocompletion script for the specified shell
    Completion(completion::CompletionArgs),
    /// The local mesh's internal processes (started by install --local)
    #[command(hide = true)]
    Local(install::LocalArgs),
}

/// The clap command tree, for completions and man pages.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs ferryctl and maps the outcome to istioctl's exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    Exit::Success.into()
                }
                _ => Exit::Usage.into(),
            };
        }
    };
    let result = match &cli.command {
        Command::Analyze(args) => analyze::run(&cli.global, args),
        Command::Manifest(args) => manifest::run(args),
        Command::Profile(args) => profile::run(args),
        Command::Discovery(args) => discovery::run(&cli.global, args),
        Command::Proxy(args) => proxy::run(args),
        Command::ProxyConfig(args) => proxy_config::run(&cli.global, args),
        Command::ProxyStatus(args) => proxy_status::run(&cli.global, args),
        Command::Version(args) => version::run(&cli.global, args),
        Command::CreateRemoteSecret(args) => create_remote_secret::run(&cli.global, args),
        Command::KubeInject(args) => kube_inject::run(&cli.global, args),
        Command::Completion(args) => completion::run(args),
        Command::Experimental(args) => experimental::run(&cli.global, args),
        Command::Install(args) => install::run_install(&cli.global, args),
        Command::Upgrade(args) => install::run_upgrade(&cli.global, args),
        Command::Uninstall(args) => install::run_uninstall(&cli.global, args),
        Command::VerifyInstall(args) => verify::run(&cli.global, args),
        Command::Tag(args) => tag::run(&cli.global, args),
        Command::Admin(args) => admin::run(&cli.global, args),
        Command::Local(args) => install::run_local(args),
        Command::Demo(args) => demo::run_demo(&cli.global, args),
        Command::SampleApp(args) => demo::run_sample_app(args),
        Command::Workload(args) => workload::run(&cli.global, args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(err) => report(&err).into(),
    }
}

/// Prints an error once, with its causes, and classifies it. A reader that closed our stdout
/// (`ferryctl … | head`) is not an error.
fn report(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return Exit::Success;
        }
    }
    eprintln!("Error: {err:#}");
    err.chain()
        .find_map(|c| c.downcast_ref::<CommandError>())
        .map_or(Exit::Failure, |c| c.exit)
}
