//! Which mesh a command talks to. `--local` (or `FERRY_LOCAL`) picks the local mesh; without it
//! the Kubernetes target is meant, but when no kubeconfig exists and a local mesh is running, the
//! local mesh is used and stderr says so, so a first-time user's commands just work.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::GlobalArgs;
use crate::exit::CommandError;
use crate::local::home::Home;
use crate::local::registry::Registry;

/// The mesh a command reaches.
#[derive(Debug, Clone)]
pub enum Target {
    Local(Registry),
    /// The kubeconfig's cluster, reached through its API server ([`cluster_client`]).
    Kubernetes,
}

/// A client for the cluster of `--kubeconfig` and `--context` (kubectl's search without them).
pub async fn cluster_client(global: &GlobalArgs) -> Result<kube::Client> {
    Ok(crate::discovery::source::kube::client(
        global.kubeconfig.as_deref().map(std::path::Path::new),
        global.context.as_deref(),
    )
    .await?)
}

/// `-n`, else the namespace of the kubeconfig's context, else `default` (istioctl's
/// `NamespaceOrDefault`).
pub fn namespace_or_default(global: &GlobalArgs, client: &kube::Client) -> String {
    global
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| client.default_namespace().to_string())
}

/// The local mesh's registry for a command whose Kubernetes transport this build lacks: the
/// usage error naming `what` and how to use the local mesh otherwise.
pub fn local_only(global: &GlobalArgs, what: &str) -> Result<Registry> {
    match choose(global)? {
        Target::Local(registry) => Ok(registry),
        Target::Kubernetes => Err(CommandError::usage(format!(
            "{what} is not available in this build of ferryctl; pass --local for the local mesh"
        ))
        .into()),
    }
}

/// Chooses the target for `global`'s flags (see the module docs).
pub fn choose(global: &GlobalArgs) -> Result<Target> {
    if global.local {
        return Ok(Target::Local(Registry::at(Home::from_env()?)));
    }
    if kubeconfig_exists(global) {
        return Ok(Target::Kubernetes);
    }
    let Ok(home) = Home::from_env() else {
        return Ok(Target::Kubernetes);
    };
    let registry = Registry::at(home);
    let running = registry
        .control_planes()
        .map(|cps| cps.iter().any(|cp| cp.running()))
        .unwrap_or(false);
    if running {
        eprintln!(
            "using the local mesh at {} (no kubeconfig found; pass --local to say so)",
            registry.home().root().display()
        );
    }
    // Without a kubeconfig there is no cluster to talk to: the local mesh, running or not, is
    // the only target, and commands say what they find there.
    Ok(Target::Local(registry))
}

/// `--kubeconfig`, `$KUBECONFIG` or `~/.kube/config` names an existing file.
pub fn kubeconfig_exists(global: &GlobalArgs) -> bool {
    if let Some(path) = global.kubeconfig.as_deref().filter(|p| !p.is_empty()) {
        return PathBuf::from(path).exists();
    }
    if let Some(paths) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&paths).any(|p| p.exists());
    }
    std::env::var_os("HOME").is_some_and(|h| PathBuf::from(h).join(".kube/config").exists())
}
