//! `ferryctl install` / `upgrade` / `uninstall` on the local target, and the hidden
//! `ferryctl local supervise` those start. The IstioOperator is resolved and rendered exactly as
//! `manifest generate` does; `local::install` runs what it renders. Output follows istioctl's
//! (reference §b.7): the confirmation prompt, one progress line per component, `✔ Installation
//! complete`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::cli::profile::ManifestsArg;
use crate::exit::{CommandError, Exit};
use crate::install::overlay::OverlayFile;
use crate::install::render;
use crate::install::resolve::{ResolveInput, resolve};
use crate::local::home::Home;
use crate::local::install::{self as local_install, Outcome, Step};
use crate::local::plan::Plan;
use crate::local::registry::{ProxyRole, Registry};

mod cluster;
mod uninstall;
mod upgrade;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # Install the default profile into the kubeconfig's cluster\n  \
    ferryctl install -y\n\n  \
    # Show what would be created, changed and pruned, changing nothing\n  \
    ferryctl install -r canary --dry-run\n\n  \
    # Run the default profile on this machine (no cluster needed)\n  \
    ferryctl install --local -y\n\n  \
    # A canary control plane beside the default one\n  \
    ferryctl install --local -r canary -y\n\n  \
    # The demo profile, with a setting changed\n  \
    ferryctl install --local --set profile=demo --set meshConfig.accessLogFile=/dev/stdout")]
pub struct InstallArgs {
    /// Path to file containing IstioOperator custom resource. This flag can be specified multiple
    /// times to overlay multiple files. Multiple files are overlaid in left to right order
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub filenames: Vec<String>,
    /// Override an IstioOperator value, e.g. to choose a profile (--set profile=demo)
    #[arg(short = 's', long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Target control plane revision for the command (a DNS-1123 label; default means none)
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    /// The skipConfirmation determines whether the user is prompted for confirmation. If set to
    /// true, the user is not prompted and a Yes response is assumed in all cases
    #[arg(short = 'y', long = "skip-confirmation")]
    pub skip_confirmation: bool,
    /// Proceed even with validation errors
    #[arg(long)]
    pub force: bool,
    /// Maximum time to wait for the installed components to be ready
    #[arg(long = "readiness-timeout", value_name = "DURATION", default_value = "300s", value_parser = crate::cli::analyze::parse_duration)]
    pub readiness_timeout: Duration,
    /// Console/log output only, make no changes
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[command(flatten)]
    pub manifests: ManifestsArg,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # Remove the canary revision's objects from the kubeconfig's cluster\n  \
    ferryctl uninstall --revision canary -y\n\n  \
    # Remove every object any install created (the CRDs and namespaces stay)\n  \
    ferryctl uninstall --purge -y\n\n  \
    # Stop the canary revision of the local mesh\n  \
    ferryctl uninstall --local --revision canary\n\n  \
    # Stop everything and remove all of the local mesh's state\n  \
    ferryctl uninstall --local --purge -y")]
pub struct UninstallArgs {
    /// Target control plane revision for the command
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    /// Remove all Istio related sources for all versions
    #[arg(long)]
    pub purge: bool,
    /// The skipConfirmation determines whether the user is prompted for confirmation
    #[arg(short = 'y', long = "skip-confirmation")]
    pub skip_confirmation: bool,
    /// Console/log output only, make no changes
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// `ferryctl local …`: the local mesh's internal processes.
#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: LocalCommand,
}

#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Run and watch over one revision's control plane and gateways (started by install)
    Supervise {
        /// The revision to supervise (`default` for none)
        #[arg(long, default_value = "default")]
        revision: String,
    },
}

/// The local target is chosen by `--local` (or `FERRY_LOCAL`). Without it and without a
/// kubeconfig there is no cluster to talk to, so the error says how to get either.
fn require_local(global: &GlobalArgs, command: &str) -> Result<Home> {
    if !global.local {
        return Err(CommandError::usage(format!(
            "no kubeconfig found (--kubeconfig, $KUBECONFIG or ~/.kube/config) to {command} into \
             a cluster; pass --local (or set FERRY_LOCAL=1) to {command} the local mesh on this \
             machine"
        ))
        .into());
    }
    Ok(Home::from_env()?)
}

pub fn run_install(global: &GlobalArgs, args: &InstallArgs) -> Result<Exit> {
    args.manifests.refuse()?;
    if !global.local && crate::cli::target::kubeconfig_exists(global) {
        return cluster::run(global, args);
    }
    let home = require_local(global, "install")?;
    let (plan, manifest) = local_plan(&ResolveInput {
        files: OverlayFile::read_all(&args.filenames)?,
        sets: args.set.clone(),
        revision: args.revision.clone(),
        force: args.force,
    })?;
    let revision = plan.revision.clone();
    if args.dry_run {
        eprintln!(
            "Dry run: would run revision {revision:?} of profile {:?} in the local mesh at {}: {}",
            plan.profile,
            home.root().display(),
            describe_plan(&plan)
        );
        return Ok(Exit::Success);
    }
    if !args.skip_confirmation
        && !confirm(&format!(
            "This will install the Ferry {} profile {:?} into the local mesh at {}. Proceed? (y/N)",
            env!("CARGO_PKG_VERSION"),
            plan.profile,
            home.root().display()
        ))?
    {
        println!("Cancelled.");
        return Ok(Exit::Failure);
    }
    let mut progress = Progress::new();
    let outcome = local_install::install(
        &home,
        &plan,
        &manifest,
        args.readiness_timeout,
        &mut |step| progress.step(step),
    )
    .inspect_err(|_| progress.fail())?;
    if outcome == Outcome::Unchanged {
        progress
            .line("This revision was already installed with the same settings; nothing restarted.");
    }
    progress.line("✔ Installation complete");
    Ok(Exit::Success)
}

/// `ferryctl upgrade`: on a cluster, the in-place upgrade that shows its diff and asks first
/// (`upgrade`); on the local mesh, install (as istioctl's alias).
pub fn run_upgrade(global: &GlobalArgs, args: &InstallArgs) -> Result<Exit> {
    args.manifests.refuse()?;
    if !global.local && crate::cli::target::kubeconfig_exists(global) {
        return upgrade::run(global, args);
    }
    run_install(global, args)
}

/// Resolves and renders an install as `manifest generate` does: what the local target runs and
/// the manifest it keeps.
pub(crate) fn local_plan(input: &ResolveInput) -> Result<(Plan, String)> {
    let resolved = resolve(input)?;
    for w in &resolved.warnings {
        eprintln!("Warning: {w}");
    }
    let rendered = render::render(&resolved.iop)?;
    let revision = resolved.revision.as_ref().map_or("default", |r| r.as_str());
    let plan = Plan::from_rendered(revision, &resolved.profile, &rendered);
    Ok((plan, crate::install::output::to_yaml(&rendered)))
}

fn describe_plan(plan: &Plan) -> String {
    let mut parts = Vec::new();
    if plan.control_plane {
        parts.push("the control plane".to_string());
    }
    for g in &plan.gateways {
        parts.push(format!("gateway {}", g.id()));
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

pub fn run_uninstall(global: &GlobalArgs, args: &UninstallArgs) -> Result<Exit> {
    if !global.local && crate::cli::target::kubeconfig_exists(global) {
        return uninstall::run(global, args);
    }
    let home = require_local(global, "uninstall")?;
    let revisions = if args.purge {
        local_install::installed_revisions(&home)?
    } else if let Some(rev) = &args.revision {
        let rev = crate::install::revision::Revision::parse_optional(rev)
            .map_err(|e| CommandError::usage(e.to_string()))?
            .map_or("default".to_string(), |r| r.as_str().to_string());
        vec![rev]
    } else {
        return Err(CommandError::usage(
            "at least one of the --revision or --purge flags must be set",
        )
        .into());
    };
    let registry = Registry::at(home.clone());
    for rev in &revisions {
        let sidecars = registry
            .proxies()?
            .into_iter()
            .filter(|p| &p.revision == rev && p.role == ProxyRole::Sidecar && p.running())
            .count();
        if sidecars > 0 {
            eprintln!(
                "There are still {sidecars} proxies pointing to the control plane revision {rev}"
            );
        }
    }
    if args.purge
        && !args.skip_confirmation
        && !args.dry_run
        && !confirm(&format!(
            "All of the local mesh's processes and state under {} will be removed\nProceed? (y/N)",
            home.root().display()
        ))?
    {
        println!("Cancelled.");
        return Ok(Exit::Failure);
    }
    if revisions.is_empty() && !args.purge {
        eprintln!("No resources will be pruned from the local mesh.");
    }
    for rev in &revisions {
        if args.dry_run {
            eprintln!("  Would remove revision {rev}.");
            continue;
        }
        let removed = local_install::uninstall(&home, rev)?;
        if let Some(cp) = removed.control_plane {
            eprintln!("  Removed Process/{cp}.");
        }
        for g in removed.gateways {
            eprintln!("  Removed Process/{g}.");
        }
    }
    if args.purge && !args.dry_run {
        for id in crate::local::workload::stop_all(&home)? {
            eprintln!("  Removed Process/{id}.");
        }
        match std::fs::remove_dir_all(home.root()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", home.root().display()));
            }
            _ => {}
        }
        eprintln!("  Removed {}.", home.root().display());
    }
    eprintln!("✔ Uninstall complete");
    Ok(Exit::Success)
}

pub fn run_local(args: &LocalArgs) -> Result<Exit> {
    match &args.command {
        LocalCommand::Supervise { revision } => {
            crate::local::supervisor::run(Home::from_env()?, revision)?;
            Ok(Exit::Success)
        }
    }
}

/// Asks `question` on stdout until the answer is yes or no; end of input is no.
pub(crate) fn confirm(question: &str) -> Result<bool> {
    let stdin = std::io::stdin();
    loop {
        print!("{question} ");
        std::io::stdout().flush().context("writing the prompt")?;
        let mut answer = String::new();
        if stdin
            .lock()
            .read_line(&mut answer)
            .context("reading the answer")?
            == 0
        {
            println!();
            return Ok(false);
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ => {}
        }
    }
}

/// istioctl's progress lines on stderr: on a terminal the waiting line is rewritten in place,
/// otherwise every change is its own line.
pub(crate) struct Progress {
    tty: bool,
    waiting: Option<String>,
    /// On a terminal, the spinner of the current wait (istioctl's progress log).
    spinner: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub(crate) fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            waiting: None,
            spinner: None,
        }
    }

    pub(crate) fn step(&mut self, step: Step) {
        match step {
            Step::Waiting { component, what } => {
                let text = format!("Processing resources for {component}. Waiting for {what}");
                if self.tty {
                    let spinner = self.spinner.get_or_insert_with(|| {
                        let bar = indicatif::ProgressBar::new_spinner();
                        bar.enable_steady_tick(std::time::Duration::from_millis(100));
                        bar
                    });
                    spinner.set_message(text);
                } else {
                    eprintln!("- {text}");
                }
                self.waiting = Some(component);
            }
            Step::Note(text) => {
                self.line(&format!("! {text}"));
            }
            Step::Done { component } => {
                self.line(&format!("✔ {component} installed {}", icon(&component)));
            }
        }
    }

    fn clear(&mut self) {
        self.waiting = None;
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    pub(crate) fn fail(&mut self) {
        if let Some(component) = self.waiting.clone() {
            self.clear();
            eprintln!("✘ {component} encountered an error");
        }
    }

    pub(crate) fn line(&mut self, text: &str) {
        self.clear();
        eprintln!("{text}");
    }
}

fn icon(component: &str) -> &'static str {
    match component {
        "Istio core" => "⛵️",
        "Istiod" => "🧠",
        "Ingress gateways" => "🛬",
        "Egress gateways" => "🛫",
        _ => "",
    }
}
