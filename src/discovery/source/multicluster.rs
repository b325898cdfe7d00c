//! istiod's multicluster secret controller (`pkg/kube/multicluster/secretcontroller.go`) for a
//! primary-remote mesh: Secrets labelled `istio/multiCluster=true` in the control plane's
//! namespace (what `ferryctl create-remote-secret` prints and the operator applies) each hold
//! kubeconfigs, one per data key, the key being the remote cluster's ID. For each one the control
//! plane watches that cluster's Services, EndpointSlices and Pods (never its Istio config: a
//! primary reads config from its own cluster only), and [`super::kube::KubeSource`] merges them
//! into the registry. A changed kubeconfig restarts that cluster's watch; a deleted Secret (or
//! key) removes the cluster and its endpoints. A kubeconfig that cannot be used is logged and
//! counted; it never holds up the primary.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Config};
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_stream::StreamExt;

use super::kube::{Objects, RetryBackoff, Watched, watch_kind};
use crate::config::resource::Resource;

/// The label istiod's secret controller selects Secrets by.
pub const MULTICLUSTER_SECRET_LABEL: &str = "istio/multiCluster";

/// Why a remote secret's kubeconfig is not used (istiod's messages for the same cases).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RemoteKubeconfigError {
    #[error("kubeconfig is empty")]
    Empty,
    #[error("kubeconfig cannot be loaded: {0}")]
    Load(String),
    /// A setting that reads files or runs programs on the control plane's host: a Secret
    /// anyone who can write in the namespace may create must not reach those
    /// (kubernetes/kubectl#697, istiod's `sanitizeKubeConfig`).
    #[error("kubeconfig is not allowed: {0}")]
    NotAllowed(String),
    #[error("kubeconfig is not valid: {0}")]
    Invalid(String),
    #[error("failed to create kube clients: {0}")]
    Client(String),
}

/// Parses a remote secret's kubeconfig and refuses what istiod refuses: auth providers other
/// than OIDC, exec plugins, and client certificate, key or token *files*.
pub fn parse_kubeconfig(data: &[u8]) -> Result<Kubeconfig, RemoteKubeconfigError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(RemoteKubeconfigError::Empty);
    }
    let text = std::str::from_utf8(data)
        .map_err(|e| RemoteKubeconfigError::Load(format!("not UTF-8: {e}")))?;
    let config =
        Kubeconfig::from_yaml(text).map_err(|e| RemoteKubeconfigError::Load(e.to_string()))?;
    for named in &config.auth_infos {
        let Some(auth) = &named.auth_info else {
            continue;
        };
        let refused = if auth
            .auth_provider
            .as_ref()
            .is_some_and(|p| p.name != "oidc")
        {
            auth.auth_provider
                .as_ref()
                .map(|p| format!("auth provider {} is not allowed", p.name))
        } else if auth.client_key.is_some() {
            Some("clientKey is not allowed".to_string())
        } else if auth.client_certificate.is_some() {
            Some("clientCertificate is not allowed".to_string())
        } else if auth.token_file.is_some() {
            Some("tokenFile is not allowed".to_string())
        } else if auth.exec.is_some() {
            Some("exec is not allowed".to_string())
        } else {
            None
        };
        if let Some(reason) = refused {
            return Err(RemoteKubeconfigError::NotAllowed(reason));
        }
    }
    Ok(config)
}

/// A client for a remote secret's kubeconfig (its current context).
pub async fn remote_client(data: &[u8]) -> Result<Client, RemoteKubeconfigError> {
    let kubeconfig = parse_kubeconfig(data)?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| RemoteKubeconfigError::Invalid(e.to_string()))?;
    Client::try_from(config).map_err(|e| RemoteKubeconfigError::Client(e.to_string()))
}

/// What to do with one cluster of a Secret, decided from what is already watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new cluster: connect and watch.
    Add {
        cluster: String,
        kubeconfig: Vec<u8>,
    },
    /// A changed kubeconfig: stop the old watch and start over with the new one.
    Update {
        cluster: String,
        kubeconfig: Vec<u8>,
    },
    /// A key gone from the Secret, or the Secret deleted.
    Remove { cluster: String },
    /// Left alone, with the reason logged.
    Ignore { cluster: String, reason: String },
}

/// One watched remote cluster.
struct RemoteCluster {
    kubeconfig: Vec<u8>,
    objects: Arc<Mutex<Objects>>,
    /// The watch tasks; dropping the set aborts them.
    _tasks: JoinSet<()>,
}

/// `/debug/clusterz`: one remote cluster as istiod lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterDebugInfo {
    pub id: String,
    #[serde(rename = "secretName")]
    pub secret_name: String,
    #[serde(rename = "syncStatus")]
    pub sync_status: String,
}

/// The remote clusters, by Secret (`namespace/name`) and cluster ID, and the count of
/// kubeconfigs that could not be used.
#[derive(Default)]
pub struct Clusters {
    by_secret: BTreeMap<String, BTreeMap<String, RemoteCluster>>,
    kubeconfig_errors: u64,
}

impl Clusters {
    /// What to do for Secret `secret` now holding `data` (cluster ID → kubeconfig), as istiod
    /// decides: keys gone are removed; the local cluster's ID and an ID another Secret already
    /// registered are ignored; an unchanged kubeconfig is left running.
    pub fn plan(
        &self,
        local_cluster: &str,
        secret: &str,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Vec<Action> {
        let existing = self.by_secret.get(secret);
        let mut actions: Vec<Action> = existing
            .into_iter()
            .flat_map(BTreeMap::keys)
            .filter(|id| !data.contains_key(*id))
            .map(|id| Action::Remove {
                cluster: id.clone(),
            })
            .collect();
        for (id, kubeconfig) in data {
            let cluster = id.clone();
            if id == local_cluster {
                actions.push(Action::Ignore {
                    cluster,
                    reason: "it would overwrite the local cluster".into(),
                });
                continue;
            }
            match existing.and_then(|clusters| clusters.get(id)) {
                Some(running) if running.kubeconfig == *kubeconfig => {}
                Some(_) => actions.push(Action::Update {
                    cluster,
                    kubeconfig: kubeconfig.clone(),
                }),
                None => match self.secret_of(id) {
                    Some(other) => actions.push(Action::Ignore {
                        cluster,
                        reason: format!("it is already registered by secret {other}"),
                    }),
                    None => actions.push(Action::Add {
                        cluster,
                        kubeconfig: kubeconfig.clone(),
                    }),
                },
            }
        }
        actions
    }

    /// The Secret that registered cluster `id`.
    fn secret_of(&self, id: &str) -> Option<&str> {
        self.by_secret
            .iter()
            .find(|(_, clusters)| clusters.contains_key(id))
            .map(|(secret, _)| secret.as_str())
    }

    fn insert(&mut self, secret: &str, id: String, cluster: RemoteCluster) {
        self.by_secret
            .entry(secret.to_string())
            .or_default()
            .insert(id, cluster);
    }

    /// Stops watching cluster `id` of `secret`; true if it was watched.
    fn remove(&mut self, secret: &str, id: &str) -> bool {
        let Some(clusters) = self.by_secret.get_mut(secret) else {
            return false;
        };
        let removed = clusters.remove(id).is_some();
        if clusters.is_empty() {
            self.by_secret.remove(secret);
        }
        removed
    }

    /// The Secrets that registered clusters.
    fn secrets(&self) -> BTreeSet<String> {
        self.by_secret.keys().cloned().collect()
    }

    /// How many remote clusters are watched (`istiod_managed_clusters{cluster_type="remote"}`).
    pub fn len(&self) -> usize {
        self.by_secret.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Kubeconfigs that could not be used since start.
    pub fn kubeconfig_errors(&self) -> u64 {
        self.kubeconfig_errors
    }

    /// Each remote cluster's objects as listed so far (kinds not listed yet contribute
    /// nothing), with their read errors prefixed by the cluster.
    pub fn contents(&self) -> (Vec<(String, Vec<Resource>)>, Vec<String>) {
        let mut remotes = Vec::new();
        let mut errors = Vec::new();
        for (id, cluster) in self.by_secret.values().flatten() {
            let (resources, errs) = cluster
                .objects
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contents();
            errors.extend(errs.into_iter().map(|e| format!("cluster {id}: {e}")));
            remotes.push((id.clone(), resources));
        }
        (remotes, errors)
    }

    /// `/debug/clusterz`, sorted by Secret then cluster ID.
    pub fn debug_info(&self) -> Vec<ClusterDebugInfo> {
        let watched = Watched::registry();
        self.by_secret
            .iter()
            .flat_map(|(secret, clusters)| {
                clusters.iter().map(|(id, cluster)| {
                    let synced = cluster
                        .objects
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .listed(&watched);
                    ClusterDebugInfo {
                        id: id.clone(),
                        secret_name: secret.clone(),
                        sync_status: if synced { "synced" } else { "syncing" }.into(),
                    }
                })
            })
            .collect()
    }
}

/// The secret controller's settings.
pub struct SecretController {
    /// The primary's client: the Secrets live there.
    pub client: Client,
    /// The control plane's namespace (istiod's `--namespace`/`POD_NAMESPACE`).
    pub namespace: String,
    /// The primary's cluster ID: a Secret naming it is ignored.
    pub local_cluster: String,
    pub clusters: Arc<Mutex<Clusters>>,
    /// Signalled when a cluster's objects change or a cluster comes or goes.
    pub changed: Arc<Notify>,
}

impl SecretController {
    /// Watches the remote secrets until `stop`. A watch error (Secrets forbidden, say) is
    /// logged once per distinct message and retried with backoff.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let config =
            watcher::Config::default().labels(&format!("{MULTICLUSTER_SECRET_LABEL}=true"));
        let stream = watcher::watcher(api, config).backoff(RetryBackoff::new());
        tokio::pin!(stream);
        let mut last_error: Option<String> = None;
        // Secrets seen in a relist, so those deleted while the watch was down are removed.
        let mut listed: BTreeSet<String> = BTreeSet::new();
        loop {
            let item = tokio::select! {
                item = stream.next() => item,
                _ = stop.wait_for(|s| *s) => break,
            };
            let Some(item) = item else { break };
            match item {
                Ok(Event::Init) => listed.clear(),
                Ok(Event::InitApply(secret)) => {
                    if let Some(key) = secret_key(&secret) {
                        listed.insert(key);
                    }
                    self.apply(&secret).await;
                }
                Ok(Event::InitDone) => {
                    if last_error.take().is_some() {
                        eprintln!("ferryctl discovery: remote secrets: listed, watching");
                    }
                    let gone: Vec<String> = self
                        .lock()
                        .secrets()
                        .into_iter()
                        .filter(|s| !listed.contains(s))
                        .collect();
                    for secret in gone {
                        self.delete(&secret);
                    }
                }
                Ok(Event::Apply(secret)) => self.apply(&secret).await,
                Ok(Event::Delete(secret)) => {
                    if let Some(key) = secret_key(&secret) {
                        self.delete(&key);
                    }
                }
                Err(e) => {
                    let message = format!(
                        "remote secrets (secrets in {} labelled {MULTICLUSTER_SECRET_LABEL}=true): {e}",
                        self.namespace
                    );
                    if last_error.as_deref() != Some(message.as_str()) {
                        eprintln!("ferryctl discovery: {message}; retrying");
                        last_error = Some(message);
                    }
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Clusters> {
        self.clusters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds, restarts or removes the clusters of a created or changed Secret.
    async fn apply(&self, secret: &Secret) {
        let Some(key) = secret_key(secret) else {
            return;
        };
        let data: BTreeMap<String, Vec<u8>> = secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        let actions = self.lock().plan(&self.local_cluster, &key, &data);
        let mut changed = false;
        for action in actions {
            match action {
                Action::Ignore { cluster, reason } => {
                    eprintln!(
                        "ferryctl discovery: ignoring cluster {cluster} from secret {key}: {reason}"
                    );
                }
                Action::Remove { cluster } => {
                    eprintln!(
                        "ferryctl discovery: deleting cluster_id={cluster} configured by secret={key}"
                    );
                    changed |= self.lock().remove(&key, &cluster);
                }
                Action::Add {
                    cluster,
                    kubeconfig,
                } => changed |= self.connect(&key, cluster, kubeconfig, "adding").await,
                Action::Update {
                    cluster,
                    kubeconfig,
                } => changed |= self.connect(&key, cluster, kubeconfig, "updating").await,
            }
        }
        eprintln!(
            "ferryctl discovery: number of remote clusters: {}",
            self.lock().len()
        );
        if changed {
            self.changed.notify_one();
        }
    }

    /// Starts (or restarts) watching `cluster` of `secret`; true if a running watch stopped.
    async fn connect(
        &self,
        secret: &str,
        cluster: String,
        kubeconfig: Vec<u8>,
        verb: &str,
    ) -> bool {
        // An update is a restart: the old watch stops (and its endpoints go) even when the new
        // kubeconfig turns out unusable, as the old one was replaced.
        let stopped = self.lock().remove(secret, &cluster);
        match remote_client(&kubeconfig).await {
            Ok(client) => {
                eprintln!("ferryctl discovery: {verb} cluster_id={cluster} from secret={secret}");
                let started = self.start(&cluster, client, kubeconfig);
                self.lock().insert(secret, cluster, started);
            }
            Err(e) => {
                // Counted before it is logged: whoever reads the log line sees the count.
                self.lock().kubeconfig_errors += 1;
                eprintln!(
                    "ferryctl discovery: {verb} cluster_id={cluster} from secret={secret}: {e}"
                );
            }
        }
        stopped
    }

    fn delete(&self, secret: &str) {
        let removed = {
            let mut clusters = self.lock();
            let removed = clusters.by_secret.remove(secret);
            if let Some(ids) = &removed {
                for id in ids.keys() {
                    eprintln!(
                        "ferryctl discovery: deleting cluster_id={id} configured by secret={secret}"
                    );
                }
            }
            eprintln!(
                "ferryctl discovery: number of remote clusters: {}",
                clusters.len()
            );
            removed
        };
        // Dropped outside the lock: dropping aborts the cluster's watch tasks.
        if removed.is_some() {
            drop(removed);
            self.changed.notify_one();
        }
    }

    /// Starts watching a remote cluster's registry kinds.
    fn start(&self, cluster: &str, client: Client, kubeconfig: Vec<u8>) -> RemoteCluster {
        let objects = Arc::new(Mutex::new(Objects::default()));
        let mut tasks = JoinSet::new();
        let label: Arc<str> = Arc::from(format!("cluster {cluster}: "));
        for watched in Watched::registry() {
            tasks.spawn(watch_kind(
                client.clone(),
                watched,
                objects.clone(),
                self.changed.clone(),
                label.clone(),
            ));
        }
        RemoteCluster {
            kubeconfig,
            objects,
            _tasks: tasks,
        }
    }
}

/// `namespace/name`, istiod's key for a Secret.
fn secret_key(secret: &Secret) -> Option<String> {
    let name = secret.metadata.name.as_deref()?;
    let ns = secret.metadata.namespace.as_deref().unwrap_or_default();
    Some(format!("{ns}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
- name: remote1
  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: Zm9v}
contexts:
- name: remote1
  context: {cluster: remote1, user: remote1}
current-context: remote1
users:
- name: remote1
  user: {token: abc}
";

    fn data(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    /// A registered cluster without watch tasks (planning reads only the kubeconfig).
    fn registered(clusters: &mut Clusters, secret: &str, id: &str, kubeconfig: &str) {
        clusters.insert(
            secret,
            id.to_string(),
            RemoteCluster {
                kubeconfig: kubeconfig.as_bytes().to_vec(),
                objects: Arc::default(),
                _tasks: JoinSet::new(),
            },
        );
    }

    #[test]
    fn create_remote_secrets_kubeconfig_is_accepted() {
        let config = parse_kubeconfig(KUBECONFIG.as_bytes()).expect("accepted");
        assert_eq!(config.current_context.as_deref(), Some("remote1"));
    }

    #[test]
    fn kubeconfigs_that_reach_files_or_programs_are_refused() {
        for (user, want) in [
            ("{client-key: /etc/key}", "clientKey is not allowed"),
            (
                "{client-certificate: /etc/crt}",
                "clientCertificate is not allowed",
            ),
            ("{tokenFile: /var/run/token}", "tokenFile is not allowed"),
            (
                "{exec: {apiVersion: client.authentication.k8s.io/v1, command: sh}}",
                "exec is not allowed",
            ),
            (
                "{auth-provider: {name: gcp}}",
                "auth provider gcp is not allowed",
            ),
        ] {
            let text = KUBECONFIG.replace("{token: abc}", user);
            let err = parse_kubeconfig(text.as_bytes()).expect_err(user);
            assert_eq!(
                err.to_string(),
                format!("kubeconfig is not allowed: {want}")
            );
        }
        // OIDC reads no files and runs nothing: create-remote-secret's plugin auth uses it.
        let oidc = KUBECONFIG.replace(
            "{token: abc}",
            "{auth-provider: {name: oidc, config: {id-token: x}}}",
        );
        assert!(parse_kubeconfig(oidc.as_bytes()).is_ok());
    }

    #[test]
    fn empty_and_garbage_kubeconfigs_are_errors() {
        assert_eq!(
            parse_kubeconfig(b"  \n").err(),
            Some(RemoteKubeconfigError::Empty)
        );
        let err = parse_kubeconfig(b"clusters: 7").expect_err("not a kubeconfig");
        assert!(matches!(err, RemoteKubeconfigError::Load(_)), "{err:?}");
        assert!(parse_kubeconfig(&[0xff, 0xfe]).is_err());
    }

    #[tokio::test]
    async fn a_kubeconfig_without_a_context_cannot_make_a_client() {
        let text = KUBECONFIG.replace("current-context: remote1", "current-context: other");
        let err = remote_client(text.as_bytes())
            .await
            .err()
            .expect("no client without the named context");
        assert!(matches!(err, RemoteKubeconfigError::Invalid(_)), "{err:?}");
        assert!(remote_client(KUBECONFIG.as_bytes()).await.is_ok());
    }

    #[test]
    fn new_changed_and_removed_keys_become_add_update_remove() {
        let mut clusters = Clusters::default();
        let secret = "istio-system/istio-remote-secret-a";
        let plan = clusters.plan("Kubernetes", secret, &data(&[("a", "one"), ("b", "two")]));
        assert_eq!(
            plan,
            vec![
                Action::Add {
                    cluster: "a".into(),
                    kubeconfig: b"one".to_vec()
                },
                Action::Add {
                    cluster: "b".into(),
                    kubeconfig: b"two".to_vec()
                },
            ]
        );
        registered(&mut clusters, secret, "a", "one");
        registered(&mut clusters, secret, "b", "two");
        assert_eq!(clusters.len(), 2);
        // Unchanged: nothing restarts. Changed: a restart. Gone: removed.
        let plan = clusters.plan("Kubernetes", secret, &data(&[("a", "one-v2")]));
        assert_eq!(
            plan,
            vec![
                Action::Remove {
                    cluster: "b".into()
                },
                Action::Update {
                    cluster: "a".into(),
                    kubeconfig: b"one-v2".to_vec()
                },
            ]
        );
        assert!(
            clusters
                .plan("Kubernetes", secret, &data(&[("a", "one"), ("b", "two")]))
                .is_empty()
        );
        assert!(clusters.remove(secret, "b"));
        assert!(!clusters.remove(secret, "b"));
        assert!(clusters.remove(secret, "a"));
        assert!(clusters.is_empty() && clusters.secrets().is_empty());
    }

    #[test]
    fn the_local_cluster_and_a_cluster_of_another_secret_are_ignored() {
        let mut clusters = Clusters::default();
        registered(&mut clusters, "istio-system/first", "remote1", "one");
        let plan = clusters.plan(
            "Kubernetes",
            "istio-system/second",
            &data(&[("Kubernetes", "x"), ("remote1", "y")]),
        );
        assert_eq!(
            plan,
            vec![
                Action::Ignore {
                    cluster: "Kubernetes".into(),
                    reason: "it would overwrite the local cluster".into()
                },
                Action::Ignore {
                    cluster: "remote1".into(),
                    reason: "it is already registered by secret istio-system/first".into()
                },
            ]
        );
    }

    #[test]
    fn clusterz_lists_each_cluster_with_its_secret_and_sync_status() {
        let mut clusters = Clusters::default();
        registered(&mut clusters, "istio-system/s", "remote1", "one");
        assert_eq!(
            serde_json::to_value(clusters.debug_info()).expect("json"),
            serde_json::json!([
                {"id": "remote1", "secretName": "istio-system/s", "syncStatus": "syncing"}
            ])
        );
        // Listed: synced. A kind that fails again (the cluster went away): not synced.
        let objects = clusters.by_secret["istio-system/s"]["remote1"]
            .objects
            .clone();
        for w in Watched::registry() {
            let mut objects = objects.lock().expect("lock");
            objects.apply(&w, Event::Init);
            objects.apply(&w, Event::InitDone);
        }
        assert_eq!(clusters.debug_info()[0].sync_status, "synced");
        objects
            .lock()
            .expect("lock")
            .give_up(Watched::registry()[0].kind);
        assert_eq!(clusters.debug_info()[0].sync_status, "syncing");
        let (remotes, errors) = clusters.contents();
        let ids: Vec<&str> = remotes.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["remote1"]);
        assert!(remotes[0].1.is_empty() && errors.is_empty());
    }
}
