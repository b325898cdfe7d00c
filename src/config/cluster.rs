//! Reading objects from a live cluster into [`Resource`]s, as narrowly as the caller asks: whole
//! lists, metadata-only lists, label-selected lists, or single objects by name, each paginated.
//!
//! Objects are read as [`DynamicObject`]s and go through the same parser as files (their JSON is
//! YAML), so an object from the cluster and the same object in a file become the same
//! [`Resource`], minus the file and line: cluster objects have no origin file, so messages
//! about them print none, as istioctl's do.
//!
//! A kind the API server does not serve (its CRD is not installed) reads as no objects. A kind
//! the caller may not read (HTTP 403) is reported in [`ClusterObjects::unreadable`] with the API
//! server's explanation, so the caller can carry on without it. Anything else fails the read.

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, ObjectMeta};
use serde_json::Value;

use super::kind::Kind;
use super::resource::Resource;
use super::source::{LoadOptions, parse_file};

/// Objects per list page: large enough that a list of thousands costs a few round trips, small
/// enough that no single response holds a whole big cluster.
pub const PAGE_SIZE: u32 = 500;

/// Which objects of a kind to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    /// Every object, whole, or only its metadata (labels and annotations are all some readers
    /// need, and a metadata list carries no spec or data).
    All { metadata_only: bool },
    /// The objects carrying these labels (a Kubernetes label selector), whole.
    Labelled(String),
    /// The objects whose names `NameFilter` accepts: a metadata list of the kind, then a get of
    /// each match, so objects that are not wanted never travel with their data.
    Named(NameFilter),
    /// One object by name.
    One(String),
}

/// Names wanted from a [`Select::Named`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameFilter {
    pub exact: Vec<String>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
}

impl NameFilter {
    pub fn accepts(&self, name: &str) -> bool {
        self.exact.iter().any(|n| n == name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
            || self.suffixes.iter().any(|s| name.ends_with(s.as_str()))
    }
}

/// One request for objects of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub kind: Kind,
    /// `None`: every namespace but the excluded ones (or a cluster-scoped kind).
    pub namespace: Option<String>,
    pub select: Select,
}

/// How reads are made.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Namespaces whose objects are left on the server (`kube-system` and the like): excluded
    /// by a field selector, so they are not even sent.
    pub excluded_namespaces: Vec<String>,
    pub page_size: u32,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            excluded_namespaces: Vec::new(),
            page_size: PAGE_SIZE,
        }
    }
}

/// What the reads found.
#[derive(Debug, Default)]
pub struct ClusterObjects {
    pub resources: Vec<Resource>,
    /// Kinds read without being refused (possibly with no objects).
    pub listed: BTreeSet<Kind>,
    /// Kinds the API server refused to show, with its explanation (which names the verb and
    /// the resource).
    pub unreadable: BTreeMap<Kind, String>,
    /// Objects that could not be read back as configuration.
    pub errors: Vec<String>,
}

/// A read that failed for a reason other than permissions or a missing CRD.
#[derive(Debug, thiserror::Error)]
#[error("reading {what} from the cluster: {source}")]
pub struct ClusterError {
    pub what: String,
    #[source]
    pub source: kube::Error,
}

/// How one read ended.
enum Outcome {
    Objects(Vec<Value>),
    Forbidden(String),
}

/// Runs `reads` concurrently and converts what they return.
pub async fn read(
    client: &Client,
    reads: &[Read],
    opts: &ReadOptions,
) -> Result<ClusterObjects, ClusterError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, r) in reads.iter().enumerate() {
        let client = client.clone();
        let r = r.clone();
        let opts = opts.clone();
        tasks.spawn(async move { (i, run(&client, &r, &opts).await) });
    }
    let mut results: Vec<Option<Result<Outcome, ClusterError>>> =
        reads.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, result)) => results[i] = Some(result),
            // A read task only ends early by panicking: a bug, which must not pass as no objects.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    let mut out = ClusterObjects::default();
    // In request order, so a run's output never depends on which response came first.
    for (r, result) in reads.iter().zip(results) {
        let Some(result) = result else { continue };
        match result? {
            Outcome::Objects(objects) => {
                out.listed.insert(r.kind);
                for object in objects {
                    convert(r.kind, object, &mut out);
                }
            }
            Outcome::Forbidden(why) => {
                out.unreadable.entry(r.kind).or_insert(why);
            }
        }
    }
    out.listed.retain(|k| !out.unreadable.contains_key(k));
    Ok(out)
}

fn api(client: &Client, kind: Kind, version: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(kind.group(), version, kind.name());
    let resource = ApiResource::from_gvk_with_plural(&gvk, &kind.plural());
    match namespace {
        Some(ns) if !kind.cluster_scoped() => Api::namespaced_with(client.clone(), ns, &resource),
        _ => Api::all_with(client.clone(), &resource),
    }
}

/// The field selector that leaves the excluded namespaces out: by namespace for namespaced
/// kinds, by name for Namespaces themselves.
fn exclusion(kind: Kind, namespace: Option<&str>, excluded: &[String]) -> Option<String> {
    let field = match (kind, namespace) {
        (Kind::Namespace, _) => "metadata.name",
        (k, None) if !k.cluster_scoped() => "metadata.namespace",
        _ => return None,
    };
    let parts: Vec<String> = excluded.iter().map(|ns| format!("{field}!={ns}")).collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

fn status(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn describe(r: &Read) -> String {
    let plural = r.kind.plural();
    let scope = match (&r.namespace, r.kind.cluster_scoped()) {
        (Some(ns), false) => format!(" in namespace {ns}"),
        _ => String::new(),
    };
    match &r.select {
        Select::One(name) => format!("{} {name}{scope}", r.kind.name()),
        _ => format!("{plural}{scope}"),
    }
}

/// One read, trying the kind's served versions newest first: a cluster with older Istio CRDs
/// serves only the older versions, and a kind served at none has no objects.
async fn run(client: &Client, r: &Read, opts: &ReadOptions) -> Result<Outcome, ClusterError> {
    let fail = |source| ClusterError {
        what: describe(r),
        source,
    };
    for version in r.kind.versions().iter().rev() {
        let api = api(client, r.kind, version, r.namespace.as_deref());
        let result = match &r.select {
            Select::All { metadata_only } => {
                let lp = ListParams {
                    field_selector: exclusion(
                        r.kind,
                        r.namespace.as_deref(),
                        &opts.excluded_namespaces,
                    ),
                    ..ListParams::default()
                };
                list(&api, lp, *metadata_only, opts.page_size).await
            }
            Select::Labelled(selector) => {
                let lp = ListParams {
                    label_selector: Some(selector.clone()),
                    field_selector: exclusion(
                        r.kind,
                        r.namespace.as_deref(),
                        &opts.excluded_namespaces,
                    ),
                    ..ListParams::default()
                };
                list(&api, lp, false, opts.page_size).await
            }
            Select::Named(filter) => named(&api, filter, opts.page_size).await,
            Select::One(name) => api.get_opt(name).await.map(|o| {
                o.into_iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect()
            }),
        };
        match result {
            Ok(objects) => return Ok(Outcome::Objects(objects)),
            Err(e) if status(&e) == Some(403) => {
                let why = match &e {
                    kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
                    _ => format!("reading {} is forbidden", describe(r)),
                };
                return Ok(Outcome::Forbidden(why));
            }
            // Not served at this version (or the namespace is gone): try the next one.
            Err(e) if status(&e) == Some(404) => continue,
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(Outcome::Objects(Vec::new()))
}

/// Every page of a list, as JSON objects.
async fn list(
    api: &Api<DynamicObject>,
    mut lp: ListParams,
    metadata_only: bool,
    page_size: u32,
) -> Result<Vec<Value>, kube::Error> {
    lp.limit = Some(page_size);
    let mut out = Vec::new();
    loop {
        let next = if metadata_only {
            let page = api.list_metadata(&lp).await?;
            out.extend(page.items.into_iter().map(|o| metadata_object(o.metadata)));
            page.metadata.continue_
        } else {
            let page = api.list(&lp).await?;
            out.extend(
                page.items
                    .into_iter()
                    .filter_map(|o| serde_json::to_value(o).ok()),
            );
            page.metadata.continue_
        };
        match next.filter(|c| !c.is_empty()) {
            Some(token) => lp.continue_token = Some(token),
            None => return Ok(out),
        }
    }
}

/// The objects of a metadata list whose names the filter accepts, each fetched whole.
async fn named(
    api: &Api<DynamicObject>,
    filter: &NameFilter,
    page_size: u32,
) -> Result<Vec<Value>, kube::Error> {
    let names: Vec<String> = list(api, ListParams::default(), true, page_size)
        .await?
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .filter(|n| filter.accepts(n))
        .collect();
    let mut out = Vec::new();
    for name in names {
        // Deleted between the list and the get: gone, not an error.
        if let Some(object) = api.get_opt(&name).await? {
            out.extend(serde_json::to_value(object).ok());
        }
    }
    Ok(out)
}

fn metadata_object(meta: ObjectMeta) -> Value {
    serde_json::json!({ "metadata": meta })
}

/// Reads an object the way a file is read. The API server leaves `apiVersion` and `kind` out of
/// list items, so they come from what was asked for; `managedFields` is bookkeeping no analyzer
/// reads and is dropped.
fn convert(kind: Kind, object: Value, out: &mut ClusterObjects) {
    let Value::Object(mut json) = object else {
        return;
    };
    let version = kind.versions().last().copied().unwrap_or("v1");
    let api_version = match kind.group() {
        "" => version.to_string(),
        group => format!("{group}/{version}"),
    };
    json.insert("apiVersion".into(), Value::String(api_version));
    json.insert("kind".into(), Value::String(kind.name().into()));
    if let Some(Value::Object(meta)) = json.get_mut("metadata") {
        meta.remove("managedFields");
    }
    let text = match serde_json::to_string(&Value::Object(json)) {
        Ok(text) => text,
        Err(e) => {
            out.errors
                .push(format!("{}: cannot be encoded as JSON: {e}", kind.name()));
            return;
        }
    };
    let parsed = parse_file(
        "",
        &text,
        &LoadOptions {
            default_namespace: Some("default".into()),
            excluded_namespaces: Vec::new(),
            ..LoadOptions::default()
        },
    );
    out.resources.extend(parsed.resources);
    out.errors
        .extend(parsed.errors.iter().map(ToString::to_string));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_namespaces_become_a_field_selector() {
        let excluded = vec!["kube-system".to_string(), "kube-public".to_string()];
        assert_eq!(
            exclusion(Kind::Pod, None, &excluded).as_deref(),
            Some("metadata.namespace!=kube-system,metadata.namespace!=kube-public")
        );
        assert_eq!(
            exclusion(Kind::Namespace, None, &excluded).as_deref(),
            Some("metadata.name!=kube-system,metadata.name!=kube-public")
        );
        // Within one namespace, or for other cluster-scoped kinds, there is nothing to leave out.
        assert_eq!(exclusion(Kind::Pod, Some("default"), &excluded), None);
        assert_eq!(exclusion(Kind::Node, None, &excluded), None);
        assert_eq!(exclusion(Kind::Pod, None, &[]), None);
    }

    #[test]
    fn name_filters_match_exact_names_prefixes_and_suffixes() {
        let f = NameFilter {
            exact: vec!["istio".into()],
            prefixes: vec!["istio-sidecar-injector".into()],
            suffixes: vec![".rbac.istio.io".into()],
        };
        assert!(f.accepts("istio"));
        assert!(f.accepts("istio-sidecar-injector-canary"));
        assert!(f.accepts("serviceroles.rbac.istio.io"));
        assert!(!f.accepts("istio-ca-root-cert"));
        assert!(!f.accepts("kube-root-ca.crt"));
    }

    #[test]
    fn a_listed_object_reads_like_the_same_object_in_a_file_without_a_file() {
        let mut out = ClusterObjects::default();
        convert(
            Kind::VirtualService,
            serde_json::json!({
                "metadata": {"name": "reviews", "namespace": "default",
                             "managedFields": [{"manager": "ferryctl"}]},
                "spec": {"hosts": ["reviews"],
                         "http": [{"route": [{"destination": {"host": "reviews"}}]}]},
            }),
            &mut out,
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let [r] = out.resources.as_slice() else {
            panic!("{:?}", out.resources);
        };
        assert_eq!(r.friendly_name(), "VirtualService default/reviews");
        assert_eq!(r.api_version, "networking.istio.io/v1");
        assert_eq!(r.origin.file.as_ref(), "");
        assert!(matches!(
            r.spec,
            super::super::resource::Spec::VirtualService(_)
        ));
        assert!(
            r.node
                .get("metadata")
                .and_then(|m| m.get("managedFields"))
                .is_none()
        );
    }

    #[test]
    fn metadata_only_objects_keep_labels() {
        let mut out = ClusterObjects::default();
        let meta: ObjectMeta = serde_json::from_value(serde_json::json!({
            "name": "default", "labels": {"istio-injection": "enabled"}
        }))
        .expect("metadata");
        convert(Kind::Namespace, metadata_object(meta), &mut out);
        assert_eq!(out.resources[0].friendly_name(), "Namespace default");
        assert_eq!(
            out.resources[0]
                .labels()
                .get("istio-injection")
                .map(String::as_str),
            Some("enabled")
        );
    }
}
