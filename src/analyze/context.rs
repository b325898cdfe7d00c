//! What analyzers see: the store, the mesh config, pod-like workloads, and a place to report.

use std::collections::BTreeMap;

use super::mesh::MeshConfig;
use super::message::{Arg, Message, MessageType};
use crate::config::kind::Kind;
use crate::config::kube::PodSpec;
use crate::config::resource::{Resource, Spec};
use crate::config::store::Store;

/// One analyzer: Istio's name and description (`-L` lists them), the kinds it needs, the kinds it
/// reads, and its function.
pub struct Analyzer {
    pub name: &'static str,
    pub description: &'static str,
    /// Without objects of these non-Istio kinds in the inputs the analyzer is skipped (a file set
    /// without Services must not claim every host is missing).
    pub inputs: &'static [Kind],
    /// Every kind the analyzer looks at (a superset of `inputs`): what a live-cluster read must
    /// fetch for it, and what makes it "not analyzed" when the cluster forbids reading it.
    /// Analyzers that walk workloads read Pods and Deployments (the kinds a cluster analysis
    /// lists for pods and their templates).
    pub reads: &'static [Kind],
    pub run: fn(&mut Context<'_>),
}

/// Kinds that make pods: a repository has Deployments, not Pods, so each workload's template
/// stands for its pods.
pub const WORKLOAD_KINDS: &[Kind] = &[
    Kind::Pod,
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
    Kind::CronJob,
];

/// A pod, or the pod template of a workload, with the object it came from.
pub struct Workload<'a> {
    pub resource: &'a Resource,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    pub spec: &'a PodSpec,
    /// Path prefix of the pod spec inside the object (`spec` or `spec.template.spec`).
    pub spec_path: &'static str,
}

impl Workload<'_> {
    pub fn is_pod(&self) -> bool {
        self.resource.kind == Kind::Pod
    }

    /// Whether the pod runs Istio's sidecar (a container named `istio-proxy`).
    pub fn has_proxy(&self) -> bool {
        self.spec.containers.iter().any(|c| c.name == "istio-proxy")
    }
}

/// The pods the inputs describe: Pods themselves and every workload's template.
pub fn workloads(store: &Store) -> Vec<Workload<'_>> {
    let mut out = Vec::new();
    for kind in WORKLOAD_KINDS {
        for r in store.of(*kind) {
            let namespace = r.effective_namespace();
            match &r.spec {
                Spec::Pod(spec) => out.push(Workload {
                    resource: r,
                    namespace,
                    labels: &r.meta.labels,
                    annotations: &r.meta.annotations,
                    spec,
                    spec_path: "spec",
                }),
                Spec::Workload(w) => out.push(Workload {
                    resource: r,
                    namespace,
                    labels: &w.template.metadata.labels,
                    annotations: &w.template.metadata.annotations,
                    spec: &w.template.spec,
                    spec_path: "spec.template.spec",
                }),
                Spec::CronJob(c) => {
                    let t = &c.job_template.spec.template;
                    out.push(Workload {
                        resource: r,
                        namespace,
                        labels: &t.metadata.labels,
                        annotations: &t.metadata.annotations,
                        spec: &t.spec,
                        spec_path: "spec.jobTemplate.spec.template.spec",
                    });
                }
                _ => {}
            }
        }
    }
    out
}

/// Which kinds the user's inputs hold (decided before default resources are added).
#[derive(Debug, Clone, Default)]
pub struct Availability {
    kinds: std::collections::HashSet<Kind>,
}

impl Availability {
    pub fn of(store: &Store) -> Availability {
        Availability {
            kinds: Kind::ALL
                .iter()
                .copied()
                .filter(|k| store.has(*k))
                .collect(),
        }
    }

    /// Counts `kinds` as present whether or not the store holds any.
    pub fn extend(&mut self, kinds: impl IntoIterator<Item = Kind>) {
        self.kinds.extend(kinds);
    }

    pub fn has(&self, kind: Kind) -> bool {
        if kind == Kind::Pod {
            return WORKLOAD_KINDS.iter().any(|k| self.kinds.contains(k));
        }
        self.kinds.contains(&kind)
    }
}

pub struct Context<'a> {
    pub store: &'a Store,
    /// Kinds of the user's inputs; `None` means "what the store holds" (unit tests).
    pub available: Option<Availability>,
    pub mesh: &'a MeshConfig,
    pub workloads: &'a [Workload<'a>],
    /// Workload indexes per namespace: selectors of namespaced policies only pick pods of their
    /// own namespace, and scanning every pod for every policy would be quadratic.
    by_namespace: std::collections::HashMap<&'a str, Vec<usize>>,
    messages: Vec<Message>,
}

impl<'a> Context<'a> {
    pub fn new(store: &'a Store, mesh: &'a MeshConfig, workloads: &'a [Workload<'a>]) -> Self {
        let mut by_namespace: std::collections::HashMap<&'a str, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, w) in workloads.iter().enumerate() {
            by_namespace.entry(w.namespace).or_default().push(i);
        }
        Context {
            store,
            available: None,
            mesh,
            workloads,
            by_namespace,
            messages: Vec::new(),
        }
    }

    /// Whether objects of `kind` are known to this run (pods count as present when any workload
    /// is).
    pub fn has(&self, kind: Kind) -> bool {
        if let Some(a) = &self.available {
            return a.has(kind);
        }
        if kind == Kind::Pod {
            return !self.workloads.is_empty();
        }
        self.store.has(kind)
    }

    /// Reports a message about `resource`, located at `path` when that field exists.
    pub fn report(
        &mut self,
        typ: &'static MessageType,
        resource: &Resource,
        path: Option<&str>,
        args: &[Arg],
    ) {
        self.messages.push(Message::new(typ, resource, path, args));
    }

    /// The workloads of one namespace with their index in `workloads`, in input order.
    pub fn workloads_in(
        &self,
        namespace: &str,
    ) -> impl Iterator<Item = (usize, &'a Workload<'a>)> + use<'a, '_> {
        let workloads = self.workloads;
        self.by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .map(move |i| (*i, &workloads[*i]))
    }

    /// Objects of `kind`.
    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &'a Resource> + use<'a> {
        self.store.of(kind)
    }

    pub fn into_messages(self) -> Vec<Message> {
        self.messages
    }
}
