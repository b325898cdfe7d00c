//! `ferryctl install` into a Kubernetes cluster (the kubeconfig's): resolves and renders as
//! `manifest generate` does (CRDs first), asks istioctl's question, and hands the objects to
//! `install::apply`. Prints istioctl's progress lines (reference §b.7); a dry run prints what
//! would be created, changed and pruned instead. `upgrade` (`super::upgrade`) and `uninstall`
//! (`super::uninstall`) share the preparation and the apply.

use ::kube::Client;
use anyhow::{Context as _, Result};

use super::{InstallArgs, Progress, confirm};
use crate::cli::GlobalArgs;
use crate::cli::target::cluster_client;
use crate::exit::Exit;
use crate::install::apply::{self, Action, Options, Report};
use crate::install::crds;
use crate::install::overlay::OverlayFile;
use crate::install::render::{self, Component, Ownership, Rendered};
use crate::install::resolve::{ResolveInput, resolve};

/// An install resolved and rendered, ready to apply.
pub(super) struct Prepared {
    pub profile: String,
    /// CRDs first, then every component's objects, as `manifest generate` prints them.
    pub rendered: Vec<Rendered>,
    pub ownership: Ownership,
}

/// Resolves and renders `args` as `manifest generate` does, warnings on stderr.
pub(super) fn prepare(args: &InstallArgs) -> Result<Prepared> {
    let resolved = resolve(&ResolveInput {
        files: OverlayFile::read_all(&args.filenames)?,
        sets: args.set.clone(),
        revision: args.revision.clone(),
        force: args.force,
    })?;
    for w in &resolved.warnings {
        eprintln!("Warning: {w}");
    }
    let mut rendered = render::render(&resolved.iop)?;
    let ownership = render::ownership(&resolved.iop)?;
    // The CRDs belong to the base component, as in `manifest generate`.
    if rendered.iter().any(|r| r.component == Component::Base) {
        let crds = crds::crds().into_iter().map(|object| Rendered {
            component: Component::Base,
            object,
        });
        rendered.splice(0..0, crds);
    }
    Ok(Prepared {
        profile: resolved.profile,
        rendered,
        ownership,
    })
}

/// A runtime for one command's requests: they run one after another.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// istioctl's install question; `false` when the answer is no (the caller says `Cancelled.`).
pub(super) fn confirm_install(profile: &str) -> Result<bool> {
    confirm(&format!(
        "This will install the Ferry {} profile {profile:?} into the cluster. Proceed? (y/N)",
        env!("CARGO_PKG_VERSION"),
    ))
}

pub fn run(global: &GlobalArgs, args: &InstallArgs) -> Result<Exit> {
    let prepared = prepare(args)?;
    if !args.skip_confirmation && !args.dry_run && !confirm_install(&prepared.profile)? {
        println!("Cancelled.");
        return Ok(Exit::Failure);
    }
    let runtime = runtime()?;
    if !args.dry_run {
        return apply_for_real(&runtime, global, &prepared, args);
    }
    let report = runtime
        .block_on(async {
            let client = cluster_client(global).await?;
            anyhow::Ok(dry_run(&client, &prepared, args).await?)
        })
        .context("installation failed")?;
    for (object, action) in &report.changes {
        let verb = match action {
            Action::Created => "create",
            Action::Changed => "change",
            Action::Pruned => "prune",
            Action::Unchanged => continue,
        };
        println!("Would {verb} {object}");
    }
    println!(
        "Dry run: {} to create, {} to change, {} unchanged, {} to prune; nothing was changed in \
         the cluster.",
        report.count(Action::Created),
        report.count(Action::Changed),
        report.count(Action::Unchanged),
        report.count(Action::Pruned)
    );
    Ok(Exit::Success)
}

/// What applying `prepared` would do, as the API server's dry run says.
pub(super) async fn dry_run(
    client: &Client,
    prepared: &Prepared,
    args: &InstallArgs,
) -> Result<Report, apply::ApplyError> {
    let options = Options {
        dry_run: true,
        readiness_timeout: args.readiness_timeout,
    };
    apply::install(
        client,
        &prepared.rendered,
        &prepared.ownership,
        &options,
        &mut |_| {},
    )
    .await
}

/// Applies `prepared` and waits for it, with istioctl's progress lines; prunes what it no
/// longer renders.
pub(super) fn apply_for_real(
    runtime: &tokio::runtime::Runtime,
    global: &GlobalArgs,
    prepared: &Prepared,
    args: &InstallArgs,
) -> Result<Exit> {
    let options = Options {
        dry_run: false,
        readiness_timeout: args.readiness_timeout,
    };
    let mut progress = Progress::new();
    let report = runtime
        .block_on(async {
            let client = cluster_client(global).await?;
            anyhow::Ok(
                apply::install(
                    &client,
                    &prepared.rendered,
                    &prepared.ownership,
                    &options,
                    &mut |step| progress.step(step),
                )
                .await?,
            )
        })
        .inspect_err(|_| progress.fail())
        .context("installation failed")?;
    let pruned: Vec<_> = report
        .changes
        .iter()
        .filter(|(_, a)| *a == Action::Pruned)
        .collect();
    if !pruned.is_empty() {
        progress.line("- Pruning removed resources");
        for (object, _) in pruned {
            eprintln!("  Removed {object}.");
        }
    }
    if report.count(Action::Created) + report.count(Action::Changed) + report.count(Action::Pruned)
        == 0
    {
        progress.line("The cluster already matched this installation; nothing was changed.");
    }
    progress.line("✔ Installation complete");
    Ok(Exit::Success)
}
