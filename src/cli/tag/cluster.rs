//! `ferryctl tag set|generate|list|remove` against the kubeconfig's cluster: the tag's webhook
//! configurations are built from the revision's injector webhook in the cluster and applied,
//! listed or deleted there (`install::apply::tag`), with istioctl's texts and prompts.

use anyhow::{Context as _, Result};

use super::{TagArgs, TagCommand, list_text};
use crate::cli::GlobalArgs;
use crate::cli::install::confirm;
use crate::cli::output::write_stdout;
use crate::discovery::source::kube;
use crate::exit::{CommandError, Exit};
use crate::install::apply::tag::{self, TagError};
use crate::install::revision::Revision;
use crate::install::tag::TagSpec;

pub fn run(global: &GlobalArgs, args: &TagArgs) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(global, args))
}

/// A tag name as istioctl takes it: a DNS-1123 label (it becomes a label value and part of a
/// webhook configuration's name); empty means `default`.
fn tag_name(tag: &str) -> Result<String> {
    Ok(Revision::parse_optional(tag)
        .map_err(|e| CommandError::usage(e.to_string().replacen("revision", "revision tag", 1)))?
        .map_or("default".to_string(), |r| r.as_str().to_string()))
}

/// The refusals that are about what the user asked (exit code of a usage error), apart from
/// those about the cluster.
fn classify(e: TagError) -> anyhow::Error {
    match e {
        TagError::Exists(_)
        | TagError::ClashesWithRevision(_)
        | TagError::Missing(_)
        | TagError::Webhook(_) => CommandError::usage(e.to_string()).into(),
        TagError::Cluster(_) => e.into(),
    }
}

async fn run_async(global: &GlobalArgs, args: &TagArgs) -> Result<Exit> {
    let client = kube::client(
        global.kubeconfig.as_deref().map(std::path::Path::new),
        global.context.as_deref(),
    )
    .await?;
    match &args.command {
        TagCommand::Set {
            tag,
            revision,
            overwrite,
            skip_confirmation,
            webhook_name,
            auto_inject_namespaces,
        } => {
            let spec = TagSpec {
                tag: tag_name(tag)?,
                webhook_name: webhook_name.clone(),
                auto_inject_namespaces: *auto_inject_namespaces,
                istio_namespace: global.istio_namespace.clone(),
            };
            let prepared = tag::prepare(&client, &spec, revision, *overwrite, false)
                .await
                .map_err(classify)?;
            // istioctl asks before applying a tag the webhook analyzer objects to, so the
            // warning is not seen only after the fact; -y applies without asking.
            if !prepared.conflicts.is_empty() && !skip_confirmation {
                let lines: Vec<String> = prepared.conflicts.iter().map(|m| m.plain()).collect();
                eprint!(
                    "creating tag would conflict, pass --skip-confirmation to proceed:\n{}\n",
                    lines.join("\n")
                );
                if !confirm("Apply anyways? [y/N]")? {
                    return Ok(Exit::Success);
                }
            }
            tag::apply(&client, &prepared)
                .await
                .context("failed to apply tag webhook MutatingWebhookConfiguration to cluster")?;
            write_stdout(&format!(
                "Revision tag {:?} created, referencing control plane revision {revision:?}. To \
                 enable injection using this\nrevision tag, use 'kubectl label namespace \
                 <NAMESPACE> istio.io/rev={}'\n",
                spec.tag, spec.tag
            ))?;
        }
        TagCommand::Generate {
            tag,
            revision,
            overwrite,
            skip_confirmation,
            webhook_name,
            auto_inject_namespaces,
        } => {
            let spec = TagSpec {
                tag: tag_name(tag)?,
                webhook_name: webhook_name.clone(),
                auto_inject_namespaces: *auto_inject_namespaces,
                istio_namespace: global.istio_namespace.clone(),
            };
            let prepared = tag::prepare(&client, &spec, revision, *overwrite, true)
                .await
                .map_err(classify)?;
            // As on the local target: generate applies nothing, so it reports and prints.
            if !prepared.conflicts.is_empty() && !skip_confirmation {
                let lines: Vec<String> = prepared.conflicts.iter().map(|m| m.plain()).collect();
                eprint!(
                    "creating tag would conflict, pass --skip-confirmation to proceed:\n{}\n",
                    lines.join("\n")
                );
            }
            write_stdout(&prepared.yaml)?;
        }
        TagCommand::List { output } => {
            let tags = tag::list(&client)
                .await
                .context("failed to retrieve revision tags")?;
            let rows: Vec<(&str, &str, Vec<String>)> = tags
                .iter()
                .map(|t| (t.tag.as_str(), t.revision.as_str(), t.namespaces.clone()))
                .collect();
            write_stdout(&list_text(&rows, output)?)?;
        }
        TagCommand::Remove {
            tag,
            skip_confirmation,
        } => {
            let tag = tag_name(tag)?;
            let objects = tag::find(&client, &tag).await.map_err(classify)?;
            // Asked before anything is deleted: a tag still named by namespaces stops injecting
            // their new pods.
            let namespaces = tag::namespaces_with_tag(&client, &tag)
                .await
                .with_context(|| {
                    format!("failed to retrieve namespaces dependent on tag {tag:?}")
                })?;
            if !namespaces.is_empty() && !skip_confirmation {
                let question = format!(
                    "Caution, found {} namespace(s) still injected by tag {tag:?}: {}\nProceed \
                     with operation? [y/N]",
                    namespaces.len(),
                    namespaces.join(" ")
                );
                if !confirm(&question)? {
                    write_stdout("Aborting operation.\n")?;
                    return Ok(Exit::Success);
                }
            }
            tag::remove(&client, &objects)
                .await
                .context("failed to delete Istio revision tag MutatingConfigurationWebhook")?;
            write_stdout(&format!("Revision tag {tag} removed\n"))?;
        }
    }
    Ok(Exit::Success)
}
