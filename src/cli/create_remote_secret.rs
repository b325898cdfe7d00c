//! `ferryctl create-remote-secret`: run against a remote cluster (the one of --kubeconfig and
//! --context), it prints the Secret that lets a control plane in another cluster read this one.
//! The work is in `multicluster`; this parses the flags and prints.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use crate::cli::GlobalArgs;
use crate::cli::analyze::parse_duration;
use crate::cli::output::write_stdout;
use crate::discovery::source::kube;
use crate::exit::{CommandError, Exit};
use crate::multicluster::reader::{
    DEFAULT_CONFIG_SERVICE_ACCOUNT, DEFAULT_READER_SERVICE_ACCOUNT, Reader,
};
use crate::multicluster::remote_cluster::{self, MIN_TOKEN_LIFETIME, Options};
use crate::multicluster::remote_secret::{ClusterName, SecretType, to_yaml};

#[derive(Debug, Args)]
#[command(
    long_about = "Create a secret with credentials to allow Istio to access remote Kubernetes \
                  apiservers. Run it against the remote cluster (--kubeconfig, --context): it \
                  creates a read-only reader service account there with its ClusterRole and \
                  ClusterRoleBinding (server-side apply, field manager ferryctl), requests a token \
                  for it through the TokenRequest API and prints a Secret with a kubeconfig for \
                  that account. Apply the Secret in the cluster of the control plane. The token \
                  expires after --token-lifetime (the API server may cap it): run the command \
                  again and apply the new Secret before then.",
    after_help = "Examples:\n  \
        # Create a secret to access cluster c0's apiserver and install it in cluster c1.\n  \
        ferryctl --kubeconfig=c0.yaml create-remote-secret --name c0 \\\n      \
            | kubectl --kubeconfig=c1.yaml apply -f -\n\n  \
        # Set the address the control plane dials, when the kubeconfig's is local to you\n  \
        ferryctl create-remote-secret --name c0 --server https://10.0.0.12:6443"
)]
pub struct CreateRemoteSecretArgs {
    /// Name of the local cluster whose credentials are stored in the secret. Must be DNS
    /// label-compliant (default: the UID of the cluster's kube-system namespace)
    #[arg(long)]
    pub name: Option<ClusterName>,
    /// Type of the generated secret: remote (a cluster the control plane discovers) or config
    /// (the config cluster of an external control plane)
    #[arg(long = "type", value_enum, default_value_t = SecretType::Remote)]
    pub secret_type: SecretType,
    /// Create a secret with this service account's credentials (default:
    /// istio-reader-service-account, or istiod for --type=config)
    #[arg(long = "service-account")]
    pub service_account: Option<String>,
    /// Create the service account and its read-only ClusterRole and ClusterRoleBinding when
    /// needed (use --create-service-account=false to use an existing account as it is)
    #[arg(long = "create-service-account", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub create_service_account: bool,
    /// The address and port of the Kubernetes API server, as the control plane reaches it
    /// (default: the server of the kubeconfig)
    #[arg(long)]
    pub server: Option<String>,
    /// The server name to verify the API server's certificate against, when it is not the host
    /// of --server
    #[arg(long = "tls-server-name")]
    pub tls_server_name: Option<String>,
    /// Take the token from this kubernetes.io/service-account-token Secret of the service
    /// account (a long-lived token an admin created) instead of requesting one
    #[arg(long = "secret-name")]
    pub secret_name: Option<String>,
    /// How long the requested token is valid (at least 10m). The API server may grant less
    /// (--service-account-max-token-expiration); the expiry it grants is printed on stderr
    #[arg(long = "token-lifetime", default_value = "8760h", value_parser = parse_duration)]
    pub token_lifetime: Duration,
}

pub fn run(global: &GlobalArgs, args: &CreateRemoteSecretArgs) -> Result<Exit> {
    if args.secret_name.is_none() && args.token_lifetime < MIN_TOKEN_LIFETIME {
        return Err(CommandError::usage(format!(
            "--token-lifetime {:?} is too short: the API server issues tokens for at least 10m",
            args.token_lifetime
        ))
        .into());
    }
    // istioctl: the secret's namespace is -n when given, else --istioNamespace.
    let namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| global.istio_namespace.clone());
    let service_account = args.service_account.clone().unwrap_or_else(|| {
        match args.secret_type {
            SecretType::Remote => DEFAULT_READER_SERVICE_ACCOUNT,
            SecretType::Config => DEFAULT_CONFIG_SERVICE_ACCOUNT,
        }
        .to_string()
    });
    let options = Options {
        secret_type: args.secret_type,
        name: args.name.clone(),
        reader: Reader {
            namespace,
            service_account,
        },
        create_service_account: args.create_service_account,
        server: args.server.clone(),
        tls_server_name: args.tls_server_name.clone(),
        secret_name: args.secret_name.clone(),
        token_lifetime: args.token_lifetime,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let generated = runtime.block_on(async {
        let config = kube::config(
            global.kubeconfig.as_deref().map(std::path::Path::new),
            global.context.as_deref(),
        )
        .await?;
        remote_cluster::generate(&config, &options)
            .await
            .context("could not create a remote secret")
    })?;
    for warning in &generated.warnings {
        eprintln!("{warning}");
    }
    if let Some(expires) = &generated.expires {
        eprintln!(
            "the token in this secret expires at {expires}; run create-remote-secret again and \
             apply the new secret before then"
        );
    }
    write_stdout(&to_yaml(&generated.secret))?;
    Ok(Exit::Success)
}
