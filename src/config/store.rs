//! The in-memory config store: every object, indexed by kind and by name.

use std::collections::HashMap;

use super::kind::Kind;
use super::resource::Resource;

/// The namespace an object is indexed under: its effective one, `""` when cluster-scoped.
fn index_namespace(r: &Resource) -> &str {
    if r.kind.cluster_scoped() {
        ""
    } else {
        r.effective_namespace()
    }
}

#[derive(Debug, Default)]
pub struct Store {
    resources: Vec<Resource>,
    by_kind: HashMap<Kind, Vec<usize>>,
    by_name: HashMap<(Kind, String, String), usize>,
}

impl Store {
    pub fn new(resources: Vec<Resource>) -> Store {
        let mut store = Store {
            resources,
            ..Store::default()
        };
        for (i, r) in store.resources.iter().enumerate() {
            store.by_kind.entry(r.kind).or_default().push(i);
            store.by_name.insert(
                (r.kind, index_namespace(r).to_string(), r.name().to_string()),
                i,
            );
        }
        store
    }

    /// Adds an object (used for Istio's default resources after the inputs are indexed).
    pub fn push(&mut self, r: Resource) {
        let i = self.resources.len();
        self.by_kind.entry(r.kind).or_default().push(i);
        self.by_name.insert(
            (
                r.kind,
                index_namespace(&r).to_string(),
                r.name().to_string(),
            ),
            i,
        );
        self.resources.push(r);
    }

    /// Objects of `kind`, in input order.
    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.by_kind
            .get(&kind)
            .into_iter()
            .flatten()
            .map(|i| &self.resources[*i])
    }

    pub fn has(&self, kind: Kind) -> bool {
        self.by_kind.contains_key(&kind)
    }

    /// Looks an object up by namespace (objects without one count as in `default`, where
    /// Kubernetes would put them); the namespace is ignored for cluster-scoped kinds.
    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Resource> {
        let namespace = if kind.cluster_scoped() { "" } else { namespace };
        self.by_name
            .get(&(kind, namespace.to_string(), name.to_string()))
            .map(|i| &self.resources[*i])
    }

    pub fn all(&self) -> &[Resource] {
        &self.resources
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}
