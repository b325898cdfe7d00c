//! `ferryctl tag set|generate|list|remove` on the local target (`local::tags`) or in a cluster
//! (`cluster`: the tag's webhook configurations, `install::apply::tag`), with istioctl's texts
//! (reference §b.4). `generate` prints the tag's MutatingWebhookConfiguration (`install::tag`)
//! instead of recording or applying the tag.

mod cluster;

use std::collections::BTreeSet;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::cli::install::confirm;
use crate::cli::output::write_stdout;
use crate::cli::target::{self, Target};
use crate::config::emit as yaml;
use crate::exit::{CommandError, Exit};
use crate::install::tag::TagSpec;
use crate::local::registry::ProxyRecord;
use crate::local::tags;

#[derive(Debug, Args)]
#[command(
    about = "Command group used to interact with revision tags",
    long_about = "Command group used to interact with revision tags. Revision tags allow for the \
                  creation of mutable aliases referring to control plane revisions for sidecar \
                  injection. With revision tags, workloads can be moved between revisions by moving \
                  the tag instead of relabeling them."
)]
pub struct TagArgs {
    #[command(subcommand)]
    pub command: TagCommand,
}

#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// Create or modify revision tags
    #[command(
        long_about = "Create or modify revision tags. Tag an Istio control plane revision for use \
                      with namespace istio.io/rev injection labels.",
        after_help = "Examples:\n  \
        # Create a revision tag from the \"1-8-0\" revision\n  \
        ferryctl tag set prod --revision 1-8-0\n\n  \
        # Point namespace \"test-ns\" at the revision pointed to by the \"prod\" revision tag\n  \
        kubectl label ns test-ns istio.io/rev=prod\n\n  \
        # Change the revision tag to reference the \"1-8-1\" revision\n  \
        ferryctl tag set prod --revision 1-8-1 --overwrite\n\n  \
        # Make revision \"1-8-1\" the default revision, both resulting in that revision handling \
        injection for \"istio-injection=enabled\"\n  \
        # and validating resources cluster-wide\n  \
        ferryctl tag set default --revision 1-8-1\n\n  \
        # Rollout namespace \"test-ns\" to update workloads to the \"1-8-1\" revision\n  \
        kubectl rollout restart deployments -n test-ns\n\n  \
        # On the local mesh: point the prod tag at the canary revision\n  \
        ferryctl tag set prod --revision canary --local"
    )]
    Set {
        /// The tag name
        tag: String,
        /// Control plane revision to reference from a given revision tag
        #[arg(short = 'r', long, required = true)]
        revision: String,
        /// If true, allow revision tags to be overwritten, otherwise reject revision tag updates
        /// that overwrite existing revision tags.
        #[arg(long)]
        overwrite: bool,
        /// The skipConfirmation determines whether the user is prompted for confirmation. If set
        /// to true, the user is not prompted and a Yes response is assumed in all cases.
        #[arg(short = 'y', long = "skip-confirmation")]
        skip_confirmation: bool,
        /// Name to use for a revision tag's mutating webhook configuration.
        #[arg(long = "webhook-name", value_name = "NAME")]
        webhook_name: Option<String>,
        /// If set to true, the sidecars should be automatically injected into all namespaces by
        /// default
        #[arg(long = "auto-inject-namespaces")]
        auto_inject_namespaces: bool,
    },
    /// Generate configuration for a revision tag to stdout
    #[command(
        long_about = "Create a revision tag and output to the command's stdout. Tag an Istio \
                      control plane revision for use with namespace istio.io/rev injection \
                      labels. The output is the tag's MutatingWebhookConfiguration \
                      (istio-revision-tag-<tag>), built from the revision's injector webhook; for \
                      the default tag also the istiod-default-validator \
                      ValidatingWebhookConfiguration. Nothing is recorded or applied.",
        after_help = "Examples:\n  \
        # Generate the prod tag for the canary revision of the local mesh\n  \
        ferryctl tag generate prod --revision canary --local > tag.yaml\n\n  \
        # Apply the tag to a cluster\n  \
        kubectl apply -f tag.yaml\n\n  \
        # Point namespace \"test-ns\" at the revision the prod tag references\n  \
        kubectl label ns test-ns istio.io/rev=prod"
    )]
    Generate {
        /// The tag name
        tag: String,
        /// Control plane revision to reference from a given revision tag
        #[arg(short = 'r', long, required = true)]
        revision: String,
        /// If true, allow revision tags to be overwritten, otherwise reject revision tag updates
        /// that overwrite existing revision tags.
        #[arg(long)]
        overwrite: bool,
        /// The skipConfirmation determines whether the user is prompted for confirmation;
        /// generate never prompts, and with this flag does not report webhook conflicts either
        #[arg(short = 'y', long = "skip-confirmation")]
        skip_confirmation: bool,
        /// Name to use for a revision tag's mutating webhook configuration.
        #[arg(long = "webhook-name", value_name = "NAME")]
        webhook_name: Option<String>,
        /// If set to true, the sidecars should be automatically injected into all namespaces by
        /// default (the default tag only)
        #[arg(long = "auto-inject-namespaces")]
        auto_inject_namespaces: bool,
    },
    /// List existing revision tags
    #[command(visible_alias = "show")]
    List {
        /// Output format for tag description (available formats: table,json,yaml)
        #[arg(short, long, default_value = "table", value_parser = ["table", "json", "yaml"])]
        output: String,
    },
    /// Remove Istio control plane revision tag
    #[command(visible_alias = "delete")]
    Remove {
        /// The tag name
        tag: String,
        /// The skipConfirmation determines whether the user is prompted for confirmation
        #[arg(short = 'y', long = "skip-confirmation")]
        skip_confirmation: bool,
    },
}

pub fn run(global: &GlobalArgs, args: &TagArgs) -> Result<Exit> {
    let registry = match target::choose(global)? {
        Target::Local(registry) => registry,
        Target::Kubernetes => return cluster::run(global, args),
    };
    let home = registry.home().clone();
    match &args.command {
        TagCommand::Set {
            tag,
            revision,
            overwrite,
            webhook_name,
            auto_inject_namespaces,
            ..
        } => {
            // Both shape a cluster's webhook configuration; the local mesh injects nothing.
            if webhook_name.is_some() || *auto_inject_namespaces {
                return Err(CommandError::usage(
                    "--webhook-name and --auto-inject-namespaces configure the tag's \
                     MutatingWebhookConfiguration in a cluster; the local mesh has none",
                )
                .into());
            }
            let t = tags::set(&home, tag, revision, *overwrite).map_err(usage_if_invalid)?;
            write_stdout(&format!(
                "Revision tag {:?} created, referencing control plane revision {:?}. To run \
                 workloads on this\nrevision tag, use 'ferryctl workload run --revision {}'\n",
                t.tag, t.revision, t.tag
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
                tag: tag.clone(),
                webhook_name: webhook_name.clone(),
                auto_inject_namespaces: *auto_inject_namespaces,
                istio_namespace: global.istio_namespace.clone(),
            };
            let generated =
                tags::generate(&home, &spec, revision, *overwrite).map_err(usage_if_invalid)?;
            // istioctl reports conflicts and prints anyway: generate applies nothing.
            if !generated.conflicts.is_empty() && !skip_confirmation {
                let lines: Vec<String> = generated.conflicts.iter().map(|m| m.plain()).collect();
                eprint!(
                    "creating tag would conflict, pass --skip-confirmation to proceed:\n{}\n",
                    lines.join("\n")
                );
            }
            write_stdout(&generated.yaml)?;
        }
        TagCommand::List { output } => {
            let all = tags::list(&home)?;
            // The proxies once, not once per tag.
            let proxies = registry.proxies().unwrap_or_default();
            let rows: Vec<(&str, &str, Vec<String>)> = all
                .iter()
                .map(|t| {
                    (
                        t.tag.as_str(),
                        t.revision.as_str(),
                        namespaces_on(&proxies, &t.tag).into_iter().collect(),
                    )
                })
                .collect();
            let text = list_text(&rows, output)?;
            write_stdout(&text)?;
        }
        TagCommand::Remove {
            tag,
            skip_confirmation,
        } => {
            let ns = namespaces_on(&registry.proxies().unwrap_or_default(), tag);
            if !ns.is_empty() && !skip_confirmation {
                let question = format!(
                    "Caution, found {} namespace(s) still injected by tag {tag:?}: {}\nProceed with operation? [y/N]",
                    ns.len(),
                    ns.into_iter().collect::<Vec<_>>().join(" ")
                );
                if !confirm(&question)? {
                    write_stdout("Aborting operation.\n")?;
                    return Ok(Exit::Success);
                }
            }
            tags::remove(&home, tag)?;
            write_stdout(&format!("Revision tag {tag} removed\n"))?;
        }
    }
    Ok(Exit::Success)
}

/// `tag list`'s output for `(tag, revision, namespaces)` rows (sorted by the caller): a table,
/// or the same as JSON or YAML.
fn list_text(rows: &[(&str, &str, Vec<String>)], output: &str) -> Result<String> {
    let value = serde_json::Value::Array(
        rows.iter()
            .map(|(t, r, n)| json!({"tag": t, "revision": r, "namespaces": n}))
            .collect(),
    );
    Ok(match output {
        "json" => format!("{}\n", serde_json::to_string_pretty(&value)?),
        "yaml" => yaml::to_string(&value),
        _ if rows.is_empty() => "No Istio revision tags found.\n".to_string(),
        _ => {
            let mut t = String::from("TAG\tREVISION\tNAMESPACES\n");
            for (tag, rev, ns) in rows {
                t.push_str(&format!("{tag}\t{rev}\t{}\n", ns.join(",")));
            }
            crate::proxyconfig::tabwriter::format(&t, 1)
        }
    })
}

fn usage_if_invalid(e: tags::TagError) -> anyhow::Error {
    match e {
        tags::TagError::Invalid(msg) => CommandError::usage(msg).into(),
        other => other.into(),
    }
}

/// Namespaces with running proxies (of `proxies`) that asked for `tag` (their `istio.io/rev`
/// label).
fn namespaces_on(proxies: &[ProxyRecord], tag: &str) -> BTreeSet<String> {
    proxies
        .iter()
        .filter(|p| p.running() && p.labels.get("istio.io/rev").map(String::as_str) == Some(tag))
        .map(|p| p.namespace.clone())
        .collect()
}
