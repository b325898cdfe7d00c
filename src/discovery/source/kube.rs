//! The Kubernetes source (`ferryctl discovery --kubeconfig`, or in-cluster): istiod's config
//! controller. One `kube` watcher per kind (the Istio CRDs Ferry installs, and the Services,
//! EndpointSlices, Pods and Namespaces the registry reads) keeps a copy of the cluster's objects;
//! every change republishes the whole set into [`ConfigSnapshots`], where the same validator as
//! the directory source's accepts or rejects each object and the debounced push follows.
//!
//! Objects are watched as [`DynamicObject`]s and read by the same parser as files (their JSON is
//! YAML), so a watched object and the same object in a file become the same [`Resource`]. A kind
//! whose CRD is not installed is logged and retried with backoff; the others keep serving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::WatchStreamExt;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio_stream::StreamExt;

use super::ConfigSnapshots;
use super::multicluster::{Clusters, SecretController};
use crate::config::kind::Kind;
use crate::config::resource::Resource;
use crate::config::source::{LoadOptions, parse_file};
use crate::install::crds;

/// How long after a change the set is republished, so a burst of watch events (an initial list,
/// a `kubectl apply -f dir`) costs one rebuild. The push debouncer comes after this.
const COALESCE: Duration = Duration::from_millis(20);

/// Retry delays after a failed list or watch: short enough that a CRD installed after the
/// control plane started is served within seconds (istiod watches CRDs for the same reason),
/// capped so a kind that stays missing costs one list every few seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RetryBackoff {
    next: Duration,
}

impl RetryBackoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(5);

    pub(super) fn new() -> RetryBackoff {
        RetryBackoff { next: Self::FIRST }
    }
}

impl Iterator for RetryBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = (delay * 2).min(Self::MAX);
        Some(delay)
    }
}

impl Backoff for RetryBackoff {
    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Problems connecting to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum KubeSourceError {
    #[error("kubeconfig {file}: {source}")]
    Kubeconfig {
        file: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no usable kubeconfig and not running in a cluster: {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

/// A client from `--kubeconfig` and `--context`; without a file, kubectl's search (`$KUBECONFIG`,
/// `~/.kube/config`) and then the in-cluster service account, as istiod does.
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Client, KubeSourceError> {
    Client::try_from(config(kubeconfig, context).await?).map_err(KubeSourceError::Client)
}

/// The connection settings [`client`] uses, for commands that also need the server's address
/// and CA (`create-remote-secret` writes them into a kubeconfig).
pub async fn config(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Config, KubeSourceError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let kubeconfig_error = |file: String| {
        move |source| KubeSourceError::Kubeconfig {
            file: file.clone(),
            source,
        }
    };
    let config = match (kubeconfig, context) {
        (Some(file), _) => {
            let error = kubeconfig_error(file.display().to_string());
            let parsed = Kubeconfig::read_from(file).map_err(&error)?;
            Config::from_custom_kubeconfig(parsed, &options)
                .await
                .map_err(&error)?
        }
        (None, Some(_)) => Config::from_kubeconfig(&options)
            .await
            .map_err(kubeconfig_error("(default)".to_string()))?,
        (None, None) => Config::infer().await.map_err(KubeSourceError::Infer)?,
    };
    Ok(config)
}

/// A kind the source watches: where its objects live in the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub kind: Kind,
    pub version: &'static str,
    pub plural: &'static str,
    /// Watched in this namespace only; every namespace when `None`.
    pub namespace: Option<String>,
}

impl Watched {
    /// The Istio kinds with a CRD in `ferryctl manifest generate`, then what the service
    /// registry reads.
    pub fn all() -> Vec<Watched> {
        let mut all: Vec<Watched> = crds::crd_kinds()
            .into_iter()
            .map(|c| Watched {
                kind: c.kind,
                version: c.version,
                plural: c.plural,
                namespace: None,
            })
            .collect();
        all.push(Watched {
            kind: Kind::Namespace,
            version: "v1",
            plural: "namespaces",
            namespace: None,
        });
        all.extend(Watched::registry());
        all
    }

    /// What the service registry reads: all a primary watches on a remote cluster.
    pub fn registry() -> Vec<Watched> {
        [
            (Kind::Service, "v1", "services"),
            (Kind::EndpointSlice, "v1", "endpointslices"),
            (Kind::Pod, "v1", "pods"),
        ]
        .into_iter()
        .map(|(kind, version, plural)| Watched {
            kind,
            version,
            plural,
            namespace: None,
        })
        .collect()
    }

    /// The Secrets of `namespace`, for the credentials of the gateways that run there. Only
    /// the control plane's namespace: the rendered RBAC lets the control plane read Secrets
    /// there (and where a gateway's `<gateway>-sds` RoleBinding allows), never cluster-wide.
    pub fn secrets(namespace: &str) -> Watched {
        Watched {
            kind: Kind::Secret,
            version: "v1",
            plural: "secrets",
            namespace: Some(namespace.to_string()),
        }
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        match self.kind.group() {
            "" => self.version.to_string(),
            group => format!("{group}/{}", self.version),
        }
    }

    fn api_resource(&self) -> ApiResource {
        let gvk = GroupVersionKind::gvk(self.kind.group(), self.version, self.kind.name());
        ApiResource::from_gvk_with_plural(&gvk, self.plural)
    }

    /// The object's path on the API server: where a watched object "was read from".
    pub fn path(&self, namespace: Option<&str>, name: &str) -> String {
        let root = match self.kind.group() {
            "" => format!("/api/{}", self.version),
            group => format!("/apis/{group}/{}", self.version),
        };
        match namespace {
            Some(ns) => format!("{root}/namespaces/{ns}/{}/{name}", self.plural),
            None => format!("{root}/{}/{name}", self.plural),
        }
    }
}

/// One watched object as the store sees it: the resources it became (none if it was dropped,
/// as objects of ignored namespaces are) and why it could not be read, if it could not.
#[derive(Debug, Clone, Default)]
pub struct Converted {
    pub resources: Vec<Resource>,
    pub errors: Vec<String>,
}

/// Reads a watched object the way a file is read. The API server leaves `apiVersion` and `kind`
/// out of list items, so they come from what was watched; `managedFields` is bookkeeping no
/// analyzer or translation reads and is dropped.
pub fn convert(watched: &Watched, object: &DynamicObject) -> Converted {
    let mut json = match serde_json::to_value(object) {
        Ok(Value::Object(map)) => map,
        Ok(_) | Err(_) => {
            return Converted {
                errors: vec![format!(
                    "{} {}: cannot be encoded as JSON",
                    watched.kind.name(),
                    object.metadata.name.as_deref().unwrap_or_default()
                )],
                ..Converted::default()
            };
        }
    };
    json.insert("apiVersion".into(), Value::String(watched.api_version()));
    json.insert("kind".into(), Value::String(watched.kind.name().into()));
    if let Some(Value::Object(meta)) = json.get_mut("metadata") {
        meta.remove("managedFields");
    }
    let origin = watched.path(
        object.metadata.namespace.as_deref(),
        object.metadata.name.as_deref().unwrap_or_default(),
    );
    let text = serde_json::to_string_pretty(&Value::Object(json)).unwrap_or_default();
    let parsed = parse_file(&origin, &text, &load_options());
    Converted {
        resources: parsed.resources,
        errors: parsed.errors.iter().map(ToString::to_string).collect(),
    }
}

/// As the directory source reads files: namespace `default` where none is set, the system
/// namespaces left out.
fn load_options() -> LoadOptions {
    LoadOptions {
        default_namespace: Some("default".into()),
        ..LoadOptions::default()
    }
}

/// `(namespace, name)` of a watched object.
type ObjectKey = (Option<String>, String);

/// The cluster's objects as last seen, per kind. Pure state: the watch tasks feed it events and
/// the publisher reads it.
#[derive(Debug, Default)]
pub struct Objects {
    by_kind: BTreeMap<Kind, BTreeMap<ObjectKey, Converted>>,
    /// Objects of a relist in progress (between `Init` and `InitDone`), swapped in whole so a
    /// relist never publishes a half-listed kind.
    relisting: BTreeMap<Kind, BTreeMap<ObjectKey, Converted>>,
    /// Kinds listed at least once, or given up on for now (CRD missing, forbidden).
    synced: BTreeSet<Kind>,
    /// Kinds whose last list or watch failed (given up on until the next successful list).
    failing: BTreeSet<Kind>,
}

impl Objects {
    /// Applies one watch event; true when the published set changes.
    pub fn apply(&mut self, watched: &Watched, event: Event<DynamicObject>) -> bool {
        let kind = watched.kind;
        match event {
            Event::Init => {
                self.relisting.insert(kind, BTreeMap::new());
                false
            }
            Event::InitApply(object) => {
                if let Some(key) = key_of(&object) {
                    self.relisting
                        .entry(kind)
                        .or_default()
                        .insert(key, convert(watched, &object));
                }
                false
            }
            Event::InitDone => {
                let listed = self.relisting.remove(&kind).unwrap_or_default();
                self.synced.insert(kind);
                self.failing.remove(&kind);
                self.by_kind.insert(kind, listed);
                true
            }
            Event::Apply(object) => match key_of(&object) {
                Some(key) => {
                    let converted = convert(watched, &object);
                    self.by_kind.entry(kind).or_default().insert(key, converted);
                    true
                }
                None => false,
            },
            Event::Delete(object) => match key_of(&object) {
                Some(key) => self
                    .by_kind
                    .get_mut(&kind)
                    .is_some_and(|objects| objects.remove(&key).is_some()),
                None => false,
            },
        }
    }

    /// Marks a kind as synced without objects (its list failed): the rest must not wait on it.
    /// True if that is news.
    pub fn give_up(&mut self, kind: Kind) -> bool {
        self.failing.insert(kind);
        self.synced.insert(kind)
    }

    /// Every kind in `watched` has been listed or given up on.
    pub fn synced(&self, watched: &[Watched]) -> bool {
        watched.iter().all(|w| self.synced.contains(&w.kind))
    }

    /// Every kind in `watched` has been listed and none is failing now: what a remote
    /// cluster's `syncStatus` reports (a cluster that cannot be reached is not "synced").
    pub fn listed(&self, watched: &[Watched]) -> bool {
        self.synced(watched) && watched.iter().all(|w| !self.failing.contains(&w.kind))
    }

    /// The resources and read errors of every object, in a stable order (by kind, namespace and
    /// name).
    pub fn contents(&self) -> (Vec<Resource>, Vec<String>) {
        let mut resources = Vec::new();
        let mut errors = Vec::new();
        for converted in self.by_kind.values().flat_map(BTreeMap::values) {
            resources.extend(converted.resources.iter().cloned());
            errors.extend(converted.errors.iter().cloned());
        }
        (resources, errors)
    }
}

fn key_of(object: &DynamicObject) -> Option<ObjectKey> {
    let name = object.metadata.name.clone()?;
    Some((object.metadata.namespace.clone(), name))
}

/// Where the primary looks for remote secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multicluster {
    /// The control plane's namespace.
    pub namespace: String,
    /// The primary's own cluster ID.
    pub local_cluster: String,
}

/// The watches of one cluster, publishing into `snapshots`, and with [`Multicluster`] those of
/// the remote clusters its remote secrets name.
pub struct KubeSource {
    client: Client,
    snapshots: Arc<ConfigSnapshots>,
    watched: Vec<Watched>,
    objects: Arc<Mutex<Objects>>,
    changed: Arc<Notify>,
    multicluster: Option<Multicluster>,
    clusters: Arc<Mutex<Clusters>>,
}

impl KubeSource {
    pub fn new(client: Client, snapshots: Arc<ConfigSnapshots>) -> KubeSource {
        KubeSource {
            client,
            snapshots,
            watched: Watched::all(),
            objects: Arc::new(Mutex::new(Objects::default())),
            changed: Arc::new(Notify::new()),
            multicluster: None,
            clusters: Arc::default(),
        }
    }

    /// Also runs the secret controller: remote clusters' Services and endpoints join the
    /// registry.
    pub fn with_multicluster(mut self, multicluster: Multicluster) -> KubeSource {
        // Gateways' credentials: the Secrets of the namespace the control plane reads.
        self.watched.push(Watched::secrets(&multicluster.namespace));
        self.multicluster = Some(multicluster);
        self
    }

    /// The remote clusters, for `/debug/clusterz` and `/metrics`.
    pub fn clusters(&self) -> Arc<Mutex<Clusters>> {
        self.clusters.clone()
    }

    /// Watches until `stop`. The first publish waits for every kind's initial list (or its
    /// failure), so proxies are never served a half-read cluster.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        for watched in self.watched.clone() {
            tasks.spawn(watch_kind(
                self.client.clone(),
                watched,
                self.objects.clone(),
                self.changed.clone(),
                Arc::from(""),
            ));
        }
        if let Some(mc) = &self.multicluster {
            let controller = SecretController {
                client: self.client.clone(),
                namespace: mc.namespace.clone(),
                local_cluster: mc.local_cluster.clone(),
                clusters: self.clusters.clone(),
                changed: self.changed.clone(),
            };
            tasks.spawn(controller.run(stop.clone()));
        }
        let mut published = false;
        loop {
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            // Let the rest of a burst land before rebuilding.
            tokio::time::sleep(COALESCE).await;
            let contents = {
                let objects = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
                if !objects.synced(&self.watched) {
                    continue;
                }
                objects.contents()
            };
            // Remote clusters never hold up the primary: what they have listed so far is
            // published with it, and the rest follows as their lists complete.
            let (remotes, remote_errors) = self
                .clusters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contents();
            if !published {
                eprintln!("ferryctl discovery: initial sync from the cluster done");
                published = true;
            }
            let snapshots = self.snapshots.clone();
            let (resources, mut errors) = contents;
            errors.extend(remote_errors);
            let _ = tokio::task::spawn_blocking(move || {
                snapshots.publish_clusters(resources, remotes, errors)
            })
            .await;
        }
        tasks.abort_all();
        // The remote clusters' watches live with their entries: end them with the rest.
        let remotes =
            std::mem::take(&mut *self.clusters.lock().unwrap_or_else(PoisonError::into_inner));
        drop(remotes);
    }
}

/// One kind's watch loop: events into `objects`, errors logged once per distinct message (the
/// watcher retries with backoff, so a CRD installed later is picked up). `label` starts each
/// message (`cluster <id>: ` for a remote cluster's).
pub(super) async fn watch_kind(
    client: Client,
    watched: Watched,
    objects: Arc<Mutex<Objects>>,
    changed: Arc<Notify>,
    label: Arc<str>,
) {
    let api: Api<DynamicObject> = match &watched.namespace {
        Some(ns) => Api::namespaced_with(client, ns, &watched.api_resource()),
        None => Api::all_with(client, &watched.api_resource()),
    };
    let mut config = watcher::Config::default();
    if watched.kind == Kind::Secret {
        // As istiod's credentials controller: Helm releases and service account tokens are
        // never gateway credentials, and there are many of them.
        config =
            config.fields("type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token");
    }
    let stream = watcher::watcher(api, config).backoff(RetryBackoff::new());
    tokio::pin!(stream);
    let mut last_error: Option<String> = None;
    while let Some(item) = stream.next().await {
        let changed_now = match item {
            Ok(event) => {
                // `Init` comes before the list is tried; only a finished list is a recovery.
                if matches!(event, Event::InitDone) && last_error.take().is_some() {
                    eprintln!(
                        "ferryctl discovery: {label}{} ({}.{}): listed, watching",
                        watched.kind.name(),
                        watched.plural,
                        watched.api_version()
                    );
                }
                objects
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .apply(&watched, event)
            }
            Err(e) => {
                let message = describe(&watched, &e);
                if last_error.as_deref() != Some(message.as_str()) {
                    eprintln!("ferryctl discovery: {label}{message}; retrying");
                    last_error = Some(message);
                }
                objects
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .give_up(watched.kind)
            }
        };
        if changed_now {
            changed.notify_one();
        }
    }
}

/// A watch error in the words an operator acts on.
fn describe(watched: &Watched, error: &watcher::Error) -> String {
    let what = format!(
        "{} ({}.{})",
        watched.kind.name(),
        watched.plural,
        watched.api_version()
    );
    let status = match error {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
        _ => None,
    };
    match status {
        Some(404) => format!("{what}: not served by the API server (is the CRD installed?)"),
        Some(403) => format!("{what}: forbidden; the control plane needs list and watch on it"),
        _ => format!("{what}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resource::Spec;

    fn watched(kind: Kind) -> Watched {
        Watched::all()
            .into_iter()
            .find(|w| w.kind == kind)
            .expect("watched kind")
    }

    /// An object as a list response carries it: no apiVersion or kind, server-set metadata.
    fn object(json: Value) -> DynamicObject {
        serde_json::from_value(json).expect("a DynamicObject")
    }

    fn virtual_service(name: &str, host: &str) -> DynamicObject {
        object(serde_json::json!({
            "metadata": {
                "name": name,
                "namespace": "default",
                "uid": "0d6f0b7e",
                "resourceVersion": "42",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"manager": "ferryctl", "operation": "Apply"}],
            },
            "spec": {
                "hosts": ["reviews"],
                "http": [{"route": [{"destination": {"host": host}}]}],
            },
        }))
    }

    #[test]
    fn retries_back_off_to_a_few_seconds_and_reset() {
        let mut b = RetryBackoff::new();
        let delays: Vec<u64> = b.by_ref().take(6).map(|d| d.as_millis() as u64).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn watches_every_istio_crd_and_the_registry_kinds() {
        let kinds: Vec<Kind> = Watched::all().iter().map(|w| w.kind).collect();
        assert_eq!(kinds.len(), crds::crd_names().len() + 4);
        for k in [
            Kind::VirtualService,
            Kind::DestinationRule,
            Kind::PeerAuthentication,
            Kind::Telemetry,
            Kind::Service,
            Kind::EndpointSlice,
            Kind::Pod,
            Kind::Namespace,
        ] {
            assert!(kinds.contains(&k), "{k:?}");
        }
        assert_eq!(
            watched(Kind::VirtualService).path(Some("default"), "reviews"),
            "/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews"
        );
        assert_eq!(
            watched(Kind::Namespace).path(None, "default"),
            "/api/v1/namespaces/default"
        );
    }

    #[test]
    fn a_watched_object_reads_like_the_same_object_in_a_file() {
        let w = watched(Kind::VirtualService);
        let converted = convert(&w, &virtual_service("reviews", "reviews"));
        assert!(converted.errors.is_empty(), "{:?}", converted.errors);
        let [r] = converted.resources.as_slice() else {
            panic!("one resource: {:?}", converted.resources);
        };
        assert_eq!(r.kind, Kind::VirtualService);
        assert_eq!(r.api_version, "networking.istio.io/v1");
        assert_eq!(r.name(), "reviews");
        assert_eq!(r.namespace(), Some("default"));
        assert!(matches!(r.spec, Spec::VirtualService(_)), "{:?}", r.spec);
        assert_eq!(
            r.origin.file.as_ref(),
            "/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews"
        );
        assert!(
            r.node
                .get("metadata")
                .and_then(|m| m.get("managedFields"))
                .is_none()
        );
        assert!(
            r.line_of("{.spec.http[0].route[0].destination.host}")
                .is_some()
        );
    }

    #[test]
    fn a_bad_spec_is_kept_for_the_validator_to_reject() {
        let w = watched(Kind::VirtualService);
        let mut bad = virtual_service("broken", "reviews");
        bad.data["spec"]["http"] = serde_json::json!("not a list");
        let converted = convert(&w, &bad);
        assert!(matches!(converted.resources[0].spec, Spec::Invalid(_)));
    }

    #[test]
    fn core_kinds_and_ignored_namespaces() {
        let service = object(serde_json::json!({
            "metadata": {"name": "reviews", "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 9080}], "clusterIP": "10.96.0.10",
                     "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"]},
            "status": {"loadBalancer": {}},
        }));
        let converted = convert(&watched(Kind::Service), &service);
        assert!(matches!(converted.resources[0].spec, Spec::Service(_)));

        let system = object(serde_json::json!({
            "metadata": {"name": "kube-dns", "namespace": "kube-system"},
            "spec": {"ports": [{"port": 53}]},
        }));
        let converted = convert(&watched(Kind::Service), &system);
        assert!(converted.resources.is_empty() && converted.errors.is_empty());

        let namespace = object(serde_json::json!({"metadata": {"name": "default"}}));
        let converted = convert(&watched(Kind::Namespace), &namespace);
        assert_eq!(converted.resources[0].namespace(), None);
    }

    #[test]
    fn relists_replace_a_kind_whole_and_deletes_remove() {
        let w = watched(Kind::VirtualService);
        let mut objects = Objects::default();
        assert!(!objects.synced(std::slice::from_ref(&w)));
        assert!(!objects.apply(&w, Event::Init));
        assert!(!objects.apply(&w, Event::InitApply(virtual_service("a", "reviews"))));
        assert!(!objects.apply(&w, Event::InitApply(virtual_service("b", "reviews"))));
        // Nothing published before the list is complete.
        assert!(objects.contents().0.is_empty());
        assert!(objects.apply(&w, Event::InitDone));
        assert!(objects.synced(std::slice::from_ref(&w)));
        assert_eq!(objects.contents().0.len(), 2);

        assert!(objects.apply(&w, Event::Apply(virtual_service("c", "reviews"))));
        assert!(objects.apply(&w, Event::Delete(virtual_service("a", "reviews"))));
        assert!(!objects.apply(&w, Event::Delete(virtual_service("a", "reviews"))));
        let names: Vec<String> = objects
            .contents()
            .0
            .iter()
            .map(|r| r.name().to_string())
            .collect();
        assert_eq!(names, ["b", "c"]);

        // A relist drops what is gone, all at once.
        objects.apply(&w, Event::Init);
        objects.apply(&w, Event::InitApply(virtual_service("c", "reviews")));
        assert_eq!(objects.contents().0.len(), 2);
        objects.apply(&w, Event::InitDone);
        assert_eq!(objects.contents().0.len(), 1);
    }

    #[test]
    fn a_kind_that_cannot_be_listed_does_not_hold_up_the_rest() {
        let all = Watched::all();
        let mut objects = Objects::default();
        for w in &all[1..] {
            objects.apply(w, Event::Init);
            objects.apply(w, Event::InitDone);
        }
        assert!(!objects.synced(&all));
        assert!(objects.give_up(all[0].kind));
        assert!(!objects.give_up(all[0].kind));
        assert!(objects.synced(&all));
        // Not "listed" while it fails; a later successful list clears that.
        assert!(!objects.listed(&all));
        objects.apply(&all[0], Event::Init);
        objects.apply(&all[0], Event::InitDone);
        assert!(objects.listed(&all));
    }

    #[test]
    fn watched_objects_go_through_the_validator() {
        let (raw, changes) = watch::channel(0);
        let snapshots =
            ConfigSnapshots::new(crate::discovery::MeshOptions::default(), raw, changes);
        let w = watched(Kind::VirtualService);
        let mut objects = Objects::default();
        objects.apply(&w, Event::Apply(virtual_service("good", "reviews")));
        objects.apply(&w, Event::Apply(virtual_service("broken", "")));
        let (resources, errors) = objects.contents();
        snapshots.publish(resources, errors);
        let loaded = snapshots.current();
        assert_eq!(loaded.generation, 1);
        let rejected: Vec<&str> = loaded
            .push
            .rejected()
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(rejected, ["broken"]);
        assert_eq!(loaded.objects.len(), 2);
    }
}
