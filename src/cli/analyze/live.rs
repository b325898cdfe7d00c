//! `analyze --use-kube`: the cluster side of the command. Connects with the global
//! `--kubeconfig`/`--context`, reads what the selected analyzers need (`analyze::live` plans
//! it, `config::cluster` reads it) and lays the files over it.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use kube::Client;
use kube::api::Api;
use tokio::runtime::Runtime;

use crate::analyze::live::{self, Scope};
use crate::cli::GlobalArgs;
use crate::config::cluster::{self, ClusterObjects, ReadOptions};
use crate::config::kind::Kind;
use crate::config::resource::Resource;
use crate::config::store::Store;
use crate::discovery::source::kube::client;

/// A connected cluster and the runtime its requests run on.
pub struct Cluster {
    runtime: Runtime,
    client: Client,
}

/// What the cluster and the files hold together, and what could not be read.
pub struct Live {
    pub store: Store,
    pub objects: usize,
    pub listed: std::collections::BTreeSet<Kind>,
    pub unreadable: std::collections::BTreeMap<Kind, String>,
    pub errors: Vec<String>,
}

/// What to read.
pub struct Request<'a> {
    pub scope: Scope,
    pub analyzers: &'a [String],
    pub excluded_namespaces: &'a [String],
    pub timeout: Duration,
}

impl Cluster {
    pub fn connect(global: &GlobalArgs) -> Result<Cluster> {
        // One thread: the reads wait on the network, and their parsing is small next to it.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let kubeconfig = global.kubeconfig.as_deref().map(Path::new);
        let client = runtime
            .block_on(client(kubeconfig, global.context.as_deref()))
            .context("connecting to the cluster (use --use-kube=false to analyze files only)")?;
        Ok(Cluster { runtime, client })
    }

    /// The kubeconfig context's namespace, where `-n` is not given.
    pub fn default_namespace(&self) -> &str {
        self.client.default_namespace()
    }

    /// Whether `namespace` exists; a cluster that will not say counts as yes, so analysis goes
    /// on with what it can read.
    pub fn namespace_exists(&self, namespace: &str, timeout: Duration) -> Result<bool> {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        let found = self
            .runtime
            .block_on(async {
                tokio::time::timeout(timeout, api.get_metadata_opt(namespace)).await
            })
            .map_err(|_| timed_out(timeout))?;
        match found {
            Ok(found) => Ok(found.is_some()),
            Err(kube::Error::Api(s)) if s.code == 403 => Ok(true),
            Err(e) => Err(e).with_context(|| format!("reading namespace {namespace}")),
        }
    }

    /// Reads what the analyzers need and lays `files` over it; the Secrets Gateways name are
    /// fetched once the Gateways (from both) are known.
    pub fn read(&self, files: Vec<Resource>, request: &Request<'_>) -> Result<Live> {
        let opts = ReadOptions {
            excluded_namespaces: request.excluded_namespaces.to_vec(),
            ..ReadOptions::default()
        };
        let kinds = crate::analyze::reads(request.analyzers);
        let reads = live::plan(&kinds, &request.scope);
        let client = &self.client;
        let read = async {
            let first = cluster::read(client, &reads, &opts).await?;
            let ClusterObjects {
                resources,
                listed,
                mut unreadable,
                mut errors,
            } = first;
            let mut objects = resources.len();
            let mut store = Store::new(live::merge(resources, files));
            let secrets = if kinds.contains(&Kind::Secret) {
                live::credential_secrets(&store, &request.scope)
            } else {
                Vec::new()
            };
            let second = cluster::read(client, &secrets, &opts).await?;
            objects += second.resources.len();
            for r in second.resources {
                store.push(r);
            }
            for (kind, why) in second.unreadable {
                unreadable.entry(kind).or_insert(why);
            }
            errors.extend(second.errors);
            Ok::<_, cluster::ClusterError>(Live {
                store,
                objects,
                listed,
                unreadable,
                errors,
            })
        };
        let live = self
            .runtime
            .block_on(async { tokio::time::timeout(request.timeout, read).await })
            .map_err(|_| timed_out(request.timeout))??;
        Ok(live)
    }
}

fn timed_out(timeout: Duration) -> anyhow::Error {
    anyhow::anyhow!("timed out after {timeout:?} reading the cluster; raise --timeout")
}
