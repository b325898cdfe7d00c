//! `ferryctl uninstall` on a cluster: deletes the objects labelled as one revision's (`-r`) or as
//! any install's (`--purge`). CRDs and namespaces are not labelled so stay, as the Istio config
//! stored in them may outlive the control plane.
//!
//! Before deleting, it warns as istioctl's `preCheckWarnings` does: the proxies still pointing
//! to each revision that goes (`install::apply::dataplane`), the namespaces still labelled for
//! its injection (Ferry's addition: their new pods would go uninjected), and the gateways an
//! `-r` uninstall removes; and it asks, unless `-y` or `--dry-run`, whenever there is something
//! to warn about (always for `--purge`).

use std::collections::BTreeSet;

use anyhow::{Context as _, Result};

use super::cluster::runtime;
use super::{UninstallArgs, confirm};
use crate::cli::GlobalArgs;
use crate::cli::output::write_stdout;
use crate::cli::target::cluster_client;
use crate::exit::{CommandError, Exit};
use crate::install::apply::dataplane::{DataPlane, data_plane};
use crate::install::apply::prune::{self, Owned, owned_labelled};
use crate::install::render::names::{COMPONENT_LABEL, REV_LABEL};
use crate::install::render::{self, Component};
use crate::install::revision::Revision;

/// istioctl lists the proxies only up to this many; past it, only their count.
const PROXIES_LISTED: usize = 30;

pub fn run(global: &GlobalArgs, args: &UninstallArgs) -> Result<Exit> {
    let revision = match &args.revision {
        Some(rev) => Some(
            Revision::parse_optional(rev)
                .map_err(|e| CommandError::usage(e.to_string()))?
                .map_or("default".to_string(), |r| r.as_str().to_string()),
        ),
        None => None,
    };
    let selector = match (&revision, args.purge) {
        (_, true) => render::any_install_selector(),
        (Some(rev), false) => render::revision_selector(rev),
        (None, false) => {
            return Err(CommandError::usage(
                "at least one of the --revision or --purge flags must be set",
            )
            .into());
        }
    };
    if args.purge && revision.is_some() {
        write_stdout(
            "Purge uninstall will remove all Istio resources, ignoring the specified revision or \
             operator file\n",
        )?;
    }
    let runtime = runtime()?;
    let client = runtime.block_on(cluster_client(global))?;
    let objects = runtime
        .block_on(owned_labelled(&client, &selector))
        .context("uninstall failed")?;
    if objects.is_empty() {
        eprintln!(
            "No resources will be pruned from the cluster. Please double check the input configs"
        );
        if args.dry_run {
            eprintln!("Dry run: 0 objects would be removed; nothing was changed in the cluster.");
        } else {
            eprintln!("✔ Uninstall complete");
        }
        return Ok(Exit::Success);
    }
    let revisions: BTreeSet<String> = match &revision {
        Some(rev) if !args.purge => BTreeSet::from([rev.clone()]),
        _ => objects
            .iter()
            .filter_map(|o| o.labels.get(REV_LABEL).cloned())
            .collect(),
    };
    let mut data_planes = Vec::new();
    for rev in revisions {
        let dp = runtime
            .block_on(data_plane(&client, &rev))
            .with_context(|| format!("looking for the data plane of revision {rev}"))?;
        data_planes.push((rev, dp));
    }
    // A purge removes every gateway with every revision: there is none left to move them to,
    // and its own question says everything goes.
    let gateways = if args.purge {
        Vec::new()
    } else {
        gateways(&objects)
    };
    let mut message = warnings(&data_planes, &gateways);
    if args.purge {
        message.push_str("All Istio resources will be pruned from the cluster\n");
    }
    if args.skip_confirmation || args.dry_run {
        write_stdout(&message)?;
    } else if !message.is_empty() && !confirm(&format!("{message}Proceed? (y/N)"))? {
        println!("Cancelled.");
        return Ok(Exit::Failure);
    }
    let removed = runtime
        .block_on(prune::remove(
            &client,
            objects.into_iter().map(|o| o.object).collect(),
            args.dry_run,
        ))
        .context("uninstall failed")?;
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

/// The gateway Deployments among `objects`, as `<name>.<namespace>`.
fn gateways(objects: &[Owned]) -> Vec<String> {
    let gateway_components = [
        Component::IngressGateways.name(),
        Component::EgressGateways.name(),
    ];
    objects
        .iter()
        .filter(|o| o.object.kind == "Deployment")
        .filter(|o| {
            o.labels
                .get(COMPONENT_LABEL)
                .is_some_and(|c| gateway_components.contains(&c.as_str()))
        })
        .map(|o| {
            format!(
                "{}.{}",
                o.object.name,
                o.object.namespace.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

/// istioctl's warnings about what an uninstall leaves without a control plane, one revision at a
/// time, then the gateways it removes; empty when there is nothing to warn about.
pub fn warnings(data_planes: &[(String, DataPlane)], gateways: &[String]) -> String {
    let mut out = String::new();
    for (rev, dp) in data_planes {
        if !dp.proxies.is_empty() {
            out.push_str(&format!(
                "There are still {} proxies pointing to the control plane revision {rev}\n",
                dp.proxies.len()
            ));
            if dp.proxies.len() <= PROXIES_LISTED {
                out.push_str(&dp.proxies.join("\n"));
                out.push('\n');
            }
            out.push_str(
                "If you proceed with the uninstall, these proxies will become detached from any \
                 control plane and will not function correctly.\n",
            );
        }
        if !dp.namespaces.is_empty() {
            out.push_str(&format!(
                "There are still {} namespaces labelled for injection by the control plane \
                 revision {rev}: {}\nPods created there after the uninstall will get no sidecar; \
                 label them for another revision (istio.io/rev=<revision>) first.\n",
                dp.namespaces.len(),
                dp.namespaces.join(", ")
            ));
        }
    }
    if !gateways.is_empty() {
        out.push_str(&format!(
            "You are about to remove the following gateways: {}. To avoid downtime, please quit \
             this command and reinstall the gateway(s) with a revision that is not being removed \
             from the cluster.\n",
            gateways.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::apply::ObjectRef;

    #[test]
    fn nothing_depends_on_the_revision_no_warning() {
        let quiet = [("canary".to_string(), DataPlane::default())];
        assert_eq!(warnings(&quiet, &[]), "");
    }

    #[test]
    fn warnings_are_istioctls() {
        let dp = DataPlane {
            proxies: vec!["reviews-1.bookinfo".into(), "ratings-1.bookinfo".into()],
            namespaces: vec!["bookinfo".into()],
        };
        let text = warnings(
            &[("canary".into(), dp)],
            &["istio-ingressgateway.istio-system".into()],
        );
        assert_eq!(
            text,
            "There are still 2 proxies pointing to the control plane revision canary\n\
             reviews-1.bookinfo\nratings-1.bookinfo\n\
             If you proceed with the uninstall, these proxies will become detached from any \
             control plane and will not function correctly.\n\
             There are still 1 namespaces labelled for injection by the control plane revision \
             canary: bookinfo\n\
             Pods created there after the uninstall will get no sidecar; label them for another \
             revision (istio.io/rev=<revision>) first.\n\
             You are about to remove the following gateways: istio-ingressgateway.istio-system. \
             To avoid downtime, please quit this command and reinstall the gateway(s) with a \
             revision that is not being removed from the cluster.\n"
        );
    }

    #[test]
    fn many_proxies_are_only_counted() {
        let dp = DataPlane {
            proxies: (0..31).map(|i| format!("p{i}.ns")).collect(),
            namespaces: Vec::new(),
        };
        let text = warnings(&[("default".into(), dp)], &[]);
        assert!(text.starts_with(
            "There are still 31 proxies pointing to the control plane revision default\nIf you"
        ));
    }

    #[test]
    fn gateways_are_the_gateway_components_deployments() {
        let owned = |kind: &str, name: &str, component: &str| Owned {
            api_version: "apps/v1",
            object: ObjectRef {
                kind: kind.into(),
                namespace: Some("ns".into()),
                name: name.into(),
            },
            labels: [(COMPONENT_LABEL.to_string(), component.to_string())].into(),
        };
        let objects = [
            owned("Deployment", "istiod", "Pilot"),
            owned("Deployment", "istio-ingressgateway", "IngressGateways"),
            owned("Service", "istio-ingressgateway", "IngressGateways"),
            owned("Deployment", "egress", "EgressGateways"),
        ];
        assert_eq!(gateways(&objects), ["istio-ingressgateway.ns", "egress.ns"]);
    }
}
