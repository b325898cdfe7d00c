//! The Kubernetes target of `install`: server-side apply (field manager `ferryctl`, forced) of a
//! rendered manifest, component by component in [`order::rank`] order, CRDs waited for until
//! `Established`, each component's Deployments waited for until available ([`readiness`]), and
//! then the objects this install owned before but no longer renders deleted ([`prune`]).
//!
//! With `dry_run`, every write goes to the API server with `dryRun=All`: the server validates and
//! defaults it as it would for real, and nothing is stored. The [`Report`] says what was (or
//! would be) created, changed and pruned; an object is "changed" when the server's copy differs
//! from what it held before, ignoring the bookkeeping fields every write touches
//! ([`comparable`]). For a changed object the report keeps both copies ([`Edit`]), so `upgrade`
//! can show what a server-side dry run would change: the server has defaulted both alike, so
//! defaults never show as changes.

pub mod dataplane;
pub mod order;
pub mod prune;
pub mod readiness;
pub mod tag;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use crate::install::render::{Component, Ownership, Rendered};
use crate::local::install::Step;

/// The field manager of every write, so `kubectl` shows who owns which field.
pub const FIELD_MANAGER: &str = "ferryctl";

/// How long to wait between readiness polls: quick enough that a fast cluster is not slowed
/// down, slow enough not to load the API server.
const POLL: Duration = Duration::from_millis(500);

/// What the command asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub dry_run: bool,
    pub readiness_timeout: Duration,
}

/// What happened (or, in a dry run, would happen) to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Changed,
    Unchanged,
    Pruned,
}

/// `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object: how istioctl's progress
/// lines name objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn of(object: &Value) -> ObjectRef {
        let s = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
        ObjectRef {
            kind: s("/kind").to_string(),
            namespace: Some(s("/metadata/namespace"))
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            name: s("/metadata/name").to_string(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Every object the run touched, in the order it did.
#[derive(Debug, Default)]
pub struct Report {
    pub changes: Vec<(ObjectRef, Action)>,
    /// The objects of [`Action::Changed`], before and after the write, in the same order.
    pub edits: Vec<Edit>,
}

/// One changed object: as the cluster held it and as the apply left it (or, in a dry run, as
/// the server says it would leave it).
#[derive(Debug, Clone)]
pub struct Edit {
    pub object: ObjectRef,
    pub live: Value,
    pub applied: Value,
}

impl Report {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|(_, a)| *a == action).count()
    }
}

/// Why the install stopped. Each names the object and carries the API server's message.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{object} has no apiVersion, kind or name")]
    Malformed { object: String },
    #[error("applying {object}: {message}")]
    Apply { object: ObjectRef, message: String },
    #[error("reading {what}: {message}")]
    Read { what: String, message: String },
    #[error("pruning {object}: {message}")]
    Prune { object: ObjectRef, message: String },
    #[error(
        "{object} is not Established after {timeout:?}: {why}; check the API server's log for \
         why it does not serve the CRD"
    )]
    CrdNotEstablished {
        object: ObjectRef,
        timeout: Duration,
        why: String,
    },
    #[error(
        "{component} not ready after {timeout:?}:\n{}",
        not_ready.iter().map(|n| format!("  {n}")).collect::<Vec<_>>().join("\n")
    )]
    NotReady {
        component: &'static str,
        timeout: Duration,
        /// One line per object: what it is and why it is not ready.
        not_ready: Vec<String>,
    },
}

/// The API server's message for a failed request; the whole cause chain for anything else
/// (kube's transport errors say only "client error (Connect)" themselves).
pub(crate) fn message(e: &kube::Error) -> String {
    if let kube::Error::Api(status) = e {
        return status.message.clone();
    }
    crate::xds::error_chain(e)
}

/// The API of `object`'s kind, in its namespace when it has one. The resource name comes from
/// the kind (kube's pluralisation), which holds for every kind an install renders.
pub(crate) fn api_for(
    client: &Client,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// `object` without what the API server keeps for itself: its identity and bookkeeping (which
/// every write or none changes) and its status (which controllers write, never an apply). What
/// is left is what an apply can change.
pub fn comparable(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "resourceVersion",
            "managedFields",
            "generation",
            "uid",
            "creationTimestamp",
            "selfLink",
        ] {
            meta.remove(key);
        }
    }
    v
}

/// Whether `after` differs from `before` in anything an apply can change.
pub fn differs(before: &Value, after: &Value) -> bool {
    comparable(before) != comparable(after)
}

/// Applies one install: `rendered` (CRDs included, as `manifest generate` prints them), owned by
/// `ownership`. `progress` hears the component steps (not in a dry run).
pub async fn install(
    client: &Client,
    rendered: &[Rendered],
    ownership: &Ownership,
    options: &Options,
    progress: &mut dyn FnMut(Step),
) -> Result<Report, ApplyError> {
    let mut installer = Installer {
        client,
        options,
        report: Report::default(),
        missing_namespaces: BTreeSet::new(),
    };
    installer.namespaces(rendered).await?;
    for component in Component::ALL {
        let mut objects: Vec<&Value> = rendered
            .iter()
            .filter(|r| r.component == component)
            .map(|r| &r.object)
            .collect();
        if objects.is_empty() {
            continue;
        }
        objects.sort_by_key(|o| order::rank(o["kind"].as_str().unwrap_or_default()));
        let name = component.display_name();
        let mut crds = Vec::new();
        let mut deployments = Vec::new();
        for object in objects {
            installer.apply(object).await?;
            match object["kind"].as_str() {
                Some("CustomResourceDefinition") => crds.push(ObjectRef::of(object)),
                Some("Deployment") => deployments.push(ObjectRef::of(object)),
                _ => {}
            }
        }
        if !options.dry_run {
            if !crds.is_empty() {
                progress(Step::Waiting {
                    component: name.to_string(),
                    what: format!("{} CustomResourceDefinitions", crds.len()),
                });
                readiness::wait_established(client, &crds, options.readiness_timeout).await?;
            }
            if !deployments.is_empty() {
                progress(Step::Waiting {
                    component: name.to_string(),
                    what: deployments
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
                readiness::wait_available(client, name, &deployments, options.readiness_timeout)
                    .await?;
            }
            progress(Step::Done {
                component: name.to_string(),
            });
        }
    }
    let keep: BTreeSet<ObjectRef> = rendered.iter().map(|r| ObjectRef::of(&r.object)).collect();
    for object in prune::prune(client, ownership, &keep, options.dry_run).await? {
        installer.report.changes.push((object, Action::Pruned));
    }
    Ok(installer.report)
}

struct Installer<'a> {
    client: &'a Client,
    options: &'a Options,
    report: Report,
    /// Namespaces that do not exist (only in a dry run, which does not create them): a
    /// server-side dry run cannot create objects in them, so those are reported as created.
    missing_namespaces: BTreeSet<String>,
}

impl Installer<'_> {
    fn params(&self) -> PatchParams {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        if self.options.dry_run {
            params.dry_run()
        } else {
            params
        }
    }

    /// Creates the namespaces the manifest puts objects in. The render has no Namespace objects
    /// (the namespace may be managed elsewhere), and they carry no ownership labels, so neither
    /// pruning nor uninstall ever deletes a namespace someone else's objects live in.
    async fn namespaces(&mut self, rendered: &[Rendered]) -> Result<(), ApplyError> {
        let wanted: BTreeSet<&str> = rendered
            .iter()
            .filter_map(|r| r.object["metadata"]["namespace"].as_str())
            .collect();
        let api = api_for(self.client, "v1", "Namespace", None);
        for ns in wanted {
            let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let existing = api.get_opt(ns).await.map_err(|e| ApplyError::Read {
                what: format!("Namespace/{ns}"),
                message: message(&e),
            })?;
            if existing.is_some() {
                continue;
            }
            if self.options.dry_run {
                self.missing_namespaces.insert(ns.to_string());
            } else {
                api.patch(ns, &self.params(), &Patch::Apply(&object))
                    .await
                    .map_err(|e| ApplyError::Apply {
                        object: ObjectRef::of(&object),
                        message: message(&e),
                    })?;
            }
            self.report
                .changes
                .push((ObjectRef::of(&object), Action::Created));
        }
        Ok(())
    }

    async fn apply(&mut self, object: &Value) -> Result<(), ApplyError> {
        let reference = ObjectRef::of(object);
        let (Some(api_version), false, false) = (
            object["apiVersion"].as_str(),
            reference.kind.is_empty(),
            reference.name.is_empty(),
        ) else {
            return Err(ApplyError::Malformed {
                object: crate::install::output::object_yaml(object),
            });
        };
        if let Some(ns) = &reference.namespace
            && self.missing_namespaces.contains(ns)
        {
            self.report.changes.push((reference, Action::Created));
            return Ok(());
        }
        let api = api_for(
            self.client,
            api_version,
            &reference.kind,
            reference.namespace.as_deref(),
        );
        let before = api
            .get_opt(&reference.name)
            .await
            .map_err(|e| ApplyError::Read {
                what: reference.to_string(),
                message: message(&e),
            })?;
        let after = api
            .patch(&reference.name, &self.params(), &Patch::Apply(object))
            .await
            .map_err(|e| ApplyError::Apply {
                object: reference.clone(),
                message: message(&e),
            })?;
        let action = match before {
            None => Action::Created,
            Some(before) => {
                let (before, after) = (to_value(&before), to_value(&after));
                if differs(&before, &after) {
                    self.report.edits.push(Edit {
                        object: reference.clone(),
                        live: before,
                        applied: after,
                    });
                    Action::Changed
                } else {
                    Action::Unchanged
                }
            }
        };
        self.report.changes.push((reference, action));
        Ok(())
    }
}

/// A [`DynamicObject`] as JSON; it serializes infallibly (it was deserialized from JSON).
fn to_value(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// The deadline of a wait that starts now.
fn deadline(timeout: Duration) -> Instant {
    Instant::now() + timeout
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookkeeping_fields_are_not_changes() {
        let before = json!({"metadata": {"name": "a", "resourceVersion": "1", "generation": 1,
                            "managedFields": [{"manager": "x"}]}, "data": {"k": "v"}});
        let same = json!({"metadata": {"name": "a", "resourceVersion": "2", "generation": 2,
                          "managedFields": []}, "data": {"k": "v"}});
        let changed =
            json!({"metadata": {"name": "a", "resourceVersion": "1"}, "data": {"k": "w"}});
        assert!(!differs(&before, &same));
        assert!(differs(&before, &changed));
        // A controller's status write and the server's identity are not the apply's.
        let status = json!({"metadata": {"name": "a", "uid": "u2", "creationTimestamp": "t"},
                            "data": {"k": "v"}, "status": {"ready": 1}});
        assert!(!differs(&before, &status));
    }

    #[test]
    fn objects_are_named_as_istioctl_names_them() {
        let d = json!({"kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"}});
        assert_eq!(
            ObjectRef::of(&d).to_string(),
            "Deployment/istio-system/istiod"
        );
        let c = json!({"kind": "ClusterRole", "metadata": {"name": "r"}});
        assert_eq!(ObjectRef::of(&c).to_string(), "ClusterRole/r");
    }
}
