//! `ferryctl x precheck`: asks the cluster (global `--kubeconfig`/`--context`) what
//! `precheck`'s rules need — its version, SelfSubjectAccessReviews for what an install creates,
//! and, with `-r`, whether that revision's istiod already exists — and prints the findings with
//! analyze's formatter, as istioctl does.

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::Args;
use clap::builder::TypedValueParser as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};

use crate::analyze::message::{Level, Message};
use crate::analyze::output;
use crate::cli::GlobalArgs;
use crate::cli::output::write_stdout_unless_closed;
use crate::discovery::source::kube::client;
use crate::exit::{CommandError, Exit};
use crate::precheck::{self, INSTALL_PERMISSIONS};

#[derive(Debug, Args)]
#[command(
    long_about = "precheck inspects a Kubernetes cluster for Istio install and upgrade requirements.",
    after_help = "Examples:\n  \
        # Verify that Istio can be installed or upgraded\n  \
        ferryctl x precheck\n\n  \
        # Check whether installing the canary revision would replace an existing one\n  \
        ferryctl x precheck -r canary"
)]
pub struct PrecheckArgs {
    /// skip checking the control plane
    #[arg(long = "skip-controlplane")]
    pub skip_controlplane: bool,
    /// The severity level of precheck at which to display messages. Valid values: [Info Warning Error]
    #[arg(long = "output-threshold", default_value = "Warning", value_parser = parse_level)]
    pub output_threshold: Level,
    /// Output format: one of log|json|yaml
    #[arg(short, long, default_value = "log", ignore_case = true,
          value_parser = clap::builder::PossibleValuesParser::new(["log", "json", "yaml"])
              .map(|s| s.to_ascii_lowercase()))]
    pub output: String,
    /// Control plane revision about to be installed
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s)
        .ok_or_else(|| format!("invalid level {s:?}; valid values: [Info Warning Error]"))
}

pub fn run(global: &GlobalArgs, args: &PrecheckArgs) -> Result<Exit> {
    let mut messages = if args.skip_controlplane {
        Vec::new()
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        runtime.block_on(check_control_plane(global, args))?
    };
    output::sort_dedup(&mut messages);
    let issues = messages
        .iter()
        .any(|m| m.typ.level.at_least(Level::Warning));
    messages.retain(|m| m.typ.level.at_least(args.output_threshold));

    if messages.is_empty() {
        eprintln!(
            "\u{2714} No issues found when checking the cluster. Istio is safe to install or upgrade!\n  \
             To get started, check out https://istio.io/latest/docs/setup/getting-started/."
        );
    } else {
        let text = match args.output.as_str() {
            "json" => output::json(&messages),
            "yaml" => output::yaml(&messages),
            // istioctl forces color here; NO_COLOR still wins, as everywhere in ferryctl.
            _ => output::log(
                &messages,
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            ),
        };
        write_stdout_unless_closed(&text)?;
    }
    if issues {
        return Err(CommandError::failure(format!(
            "Issues found when checking the cluster. Istio may not be safe to install or upgrade.\n\
             See https://istio.io/{}/docs/reference/config/analysis for more information about causes and resolutions.",
            output::DOCS_VERSION
        ))
        .into());
    }
    Ok(Exit::Success)
}

async fn check_control_plane(global: &GlobalArgs, args: &PrecheckArgs) -> Result<Vec<Message>> {
    let client = client(
        global.kubeconfig.as_deref().map(Path::new),
        global.context.as_deref(),
    )
    .await
    .context("connecting to the cluster")?;
    let mut messages = Vec::new();

    let version = client
        .apiserver_version()
        .await
        .context("failed to get the Kubernetes version")?;
    messages.extend(precheck::kubernetes_version(&version.git_version)?);

    for permission in INSTALL_PERMISSIONS {
        if let Some(reason) = denied(&client, permission, &global.istio_namespace).await {
            messages.push(precheck::insufficient_permission(permission, &reason));
        }
    }

    if let Some(revision) = &args.revision {
        messages.extend(existing_revision(&client, &global.istio_namespace, revision).await);
    }
    Ok(messages)
}

/// Why the cluster would refuse to create `permission`'s resource, or `None` if it allows it.
async fn denied(
    client: &Client,
    permission: &precheck::Permission,
    istio_namespace: &str,
) -> Option<String> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: permission.namespaced.then(|| istio_namespace.to_string()),
                verb: Some("create".to_string()),
                group: Some(permission.group.to_string()),
                version: Some(permission.version.to_string()),
                resource: Some(permission.resource.to_string()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    match api.create(&PostParams::default(), &review).await {
        Ok(answer) => match answer.status {
            Some(status) if status.allowed => None,
            Some(status) => Some(status.reason.unwrap_or_default()),
            None => Some(String::new()),
        },
        // The review itself refused is a finding too, as istioctl reports its error.
        Err(e) => Some(e.to_string()),
    }
}

/// FRY0001 for each istiod Deployment of `revision`. A user who may not list Deployments is told
/// the check did not run instead: the permission findings already say what they lack.
async fn existing_revision(client: &Client, namespace: &str, revision: &str) -> Vec<Message> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().labels(&precheck::control_plane_selector(revision));
    match api.list_metadata(&params).await {
        Ok(list) => list
            .items
            .iter()
            .filter_map(|d| d.metadata.name.as_deref())
            .map(|name| precheck::existing_revision(revision, namespace, name))
            .collect(),
        Err(e) => {
            eprintln!("could not check for an existing {revision:?} control plane: {e}");
            Vec::new()
        }
    }
}
