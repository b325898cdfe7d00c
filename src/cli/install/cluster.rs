//! `ferryctl install` / `upgrade` into a Kubernetes cluster (the kubeconfig's): resolves and
//! renders as `manifest generate` does (CRDs first), asks istioctl's question, and hands the
//! objects to `install::apply`. Prints istioctl's progress lines (reference §b.7); a dry run
//! prints what would be created, changed and pruned instead. `uninstall` deletes the objects
//! labelled as one revision's (`-r`) or as any install's (`--purge`); CRDs and namespaces are
//! not labelled so stay, as the Istio config stored in them may outlive the control plane.

use anyhow::{Context as _, Result};

use super::{InstallArgs, Progress, UninstallArgs, confirm};
use crate::cli::GlobalArgs;
use crate::discovery::source::kube;
use crate::exit::{CommandError, Exit};
use crate::install::apply::{self, Action, Options};
use crate::install::crds;
use crate::install::overlay::OverlayFile;
use crate::install::render::{self, Component, Rendered};
use crate::install::resolve::{ResolveInput, resolve};
use crate::install::revision::Revision;

pub fn run(global: &GlobalArgs, args: &InstallArgs) -> Result<Exit> {
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
    if !args.skip_confirmation
        && !args.dry_run
        && !confirm(&format!(
            "This will install the Ferry {} profile {:?} into the cluster. Proceed? (y/N)",
            env!("CARGO_PKG_VERSION"),
            resolved.profile
        ))?
    {
        println!("Cancelled.");
        return Ok(Exit::Failure);
    }
    let options = Options {
        dry_run: args.dry_run,
        readiness_timeout: args.readiness_timeout,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut progress = Progress::new();
    let report = runtime
        .block_on(async {
            let client = kube::client(
                global.kubeconfig.as_deref().map(std::path::Path::new),
                global.context.as_deref(),
            )
            .await?;
            anyhow::Ok(
                apply::install(&client, &rendered, &ownership, &options, &mut |step| {
                    progress.step(step)
                })
                .await?,
            )
        })
        .inspect_err(|_| progress.fail())
        .context("installation failed")?;
    if args.dry_run {
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
            "Dry run: {} to create, {} to change, {} unchanged, {} to prune; nothing was changed \
             in the cluster.",
            report.count(Action::Created),
            report.count(Action::Changed),
            report.count(Action::Unchanged),
            report.count(Action::Pruned)
        );
        return Ok(Exit::Success);
    }
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

pub fn uninstall(global: &GlobalArgs, args: &UninstallArgs) -> Result<Exit> {
    let selector = if args.purge {
        render::any_install_selector()
    } else if let Some(rev) = &args.revision {
        let rev = Revision::parse_optional(rev)
            .map_err(|e| CommandError::usage(e.to_string()))?
            .map_or("default".to_string(), |r| r.as_str().to_string());
        render::revision_selector(&rev)
    } else {
        return Err(CommandError::usage(
            "at least one of the --revision or --purge flags must be set",
        )
        .into());
    };
    if args.purge
        && !args.skip_confirmation
        && !args.dry_run
        && !confirm("All Istio resources will be pruned from the cluster\nProceed? (y/N)")?
    {
        println!("Cancelled.");
        return Ok(Exit::Failure);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let removed = runtime
        .block_on(async {
            let client = kube::client(
                global.kubeconfig.as_deref().map(std::path::Path::new),
                global.context.as_deref(),
            )
            .await?;
            anyhow::Ok(apply::prune::uninstall(&client, &selector, args.dry_run).await?)
        })
        .context("uninstall failed")?;
    if removed.is_empty() {
        eprintln!(
            "No resources will be pruned from the cluster. Please double check the input configs"
        );
    }
    for object in &removed {
        if args.dry_run {
            eprintln!("  Would remove {object}.");
        } else {
            eprintln!("  Removed {object}.");
        }
    }
    if args.dry_run {
        eprintln!(
            "Dry run: {} objects would be removed; nothing was changed in the cluster.",
            removed.len()
        );
    } else {
        eprintln!("✔ Uninstall complete");
    }
    Ok(Exit::Success)
}
