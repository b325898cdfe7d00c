//! Rendering: the resolved [`IstioOperator`] becomes the Kubernetes objects `install` applies and
//! `manifest generate` prints, with Istio's names and labels so that Istio tooling (and people used
//! to `istioctl`) recognise them.
//!
//! [`render`] is pure and deterministic: no I/O, no clock, no hash-map iteration. Objects are built
//! as `serde_json::Value` (key order preserved) in apply order: Base, Pilot, IngressGateways,
//! EgressGateways, and inside a component: accounts and RBAC, configuration, workloads, services,
//! scaling, webhooks. The CRDs are prepended by the caller. A `Namespace` object is not rendered:
//! the installer creates the namespace itself before applying (as `istioctl install` does), so the
//! manifest can be applied into a namespace managed elsewhere.
//!
//! One file per concept: `names` (names, labels, addresses), `base` (cluster-wide objects),
//! `istiod` (the control plane's account, RBAC, Deployment and Service), `configmaps` (mesh and
//! injector configuration), `webhooks` (injection and validation), `gateways`, `proxy` (the
//! proxy container of gateways and sidecars), `scaling` (HorizontalPodAutoscaler,
//! PodDisruptionBudget) and `k8s` (a component's `k8s` block applied to what is rendered).

mod base;
mod configmaps;
mod gateways;
pub(crate) mod istiod;
mod k8s;
pub(crate) mod names;
mod proxy;
mod scaling;
pub(crate) mod webhooks;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::install::iop::{
    GatewayComponent, GlobalValues, IstioOperator, K8s, PilotValues, ProxyValues, Values,
};

/// Image repository name under the hub: images are `<hub>/ferry:<tag>` (one binary, every role).
pub const IMAGE_NAME: &str = "ferry";
/// Hub used when neither the profile nor the user names one.
pub const DEFAULT_HUB: &str = "ghcr.io/ferrymesh";
/// Tag used when none is given: this build's version, so a CLI installs its own control plane.
pub const DEFAULT_TAG: &str = env!("CARGO_PKG_VERSION");
/// Namespace of the control plane when the IstioOperator names none.
pub const DEFAULT_NAMESPACE: &str = "istio-system";

/// The install components, in apply order. Names are Istio's (`operator.istio.io/component`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    Base,
    Pilot,
    IngressGateways,
    EgressGateways,
}

impl Component {
    /// Every component, in apply order.
    pub const ALL: [Component; 4] = [
        Component::Base,
        Component::Pilot,
        Component::IngressGateways,
        Component::EgressGateways,
    ];

    /// The value of the `operator.istio.io/component` label and of `manifest generate -o` paths.
    pub fn name(self) -> &'static str {
        match self {
            Component::Base => "Base",
            Component::Pilot => "Pilot",
            Component::IngressGateways => "IngressGateways",
            Component::EgressGateways => "EgressGateways",
        }
    }

    /// What `install` progress lines call the component (istioctl's user-facing names).
    pub fn display_name(self) -> &'static str {
        match self {
            Component::Base => "Istio core",
            Component::Pilot => "Istiod",
            Component::IngressGateways => "Ingress gateways",
            Component::EgressGateways => "Egress gateways",
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One Kubernetes object and the component that owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub component: Component,
    pub object: Value,
}

impl Rendered {
    /// `kind`, `metadata.namespace` (empty for cluster-scoped objects) and `metadata.name`.
    pub fn identity(&self) -> (&str, &str, &str) {
        let s = |p: &str| self.object.pointer(p).and_then(Value::as_str).unwrap_or("");
        (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
    }
}

/// Settings that cannot be rendered. Each names the IstioOperator path to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "spec.revision {0:?} is not a valid revision: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
    )]
    InvalidRevision(String),
    #[error(
        "components.{0}.enabled is true, but Ferry does not install {0}; set it to false or remove it"
    )]
    Unsupported(&'static str),
    /// Two enabled gateways with one name and namespace. Indexes are not named: they are
    /// positions in the merged list, which a `--set` index past the end does not match.
    #[error(
        "components.{kind}: two enabled gateways are named {name:?} in namespace {namespace:?}; give each gateway its own name{}",
        if *.unnamed {
            format!(" (a gateway listed without a name is named {name:?}, and a --set index past the end of the list adds a gateway)")
        } else {
            String::new()
        }
    )]
    DuplicateGateway {
        kind: &'static str,
        name: String,
        namespace: String,
        /// One of the two has no `name` and took the default.
        unnamed: bool,
    },
    #[error("{path}: {message}")]
    InvalidValue { path: String, message: String },
}

/// The labels that mark an object as this install's: `istio.io/rev` and
/// `install.operator.istio.io/owning-resource`, as [`render`] writes them. Pruning selects by them,
/// so they come from the same code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    pub revision: String,
    pub owner: String,
}

impl Ownership {
    /// The label selector of every object this install owns (with any component label).
    pub fn selector(&self) -> String {
        format!(
            "{}={},{}={},{}",
            names::REV_LABEL,
            self.revision,
            names::OWNER_LABEL,
            self.owner,
            names::COMPONENT_LABEL
        )
    }
}

/// The label selector of every object any install of revision `revision` owns (`default` for
/// the unrevisioned control plane), whichever IstioOperator rendered it: what `uninstall -r`
/// removes.
pub fn revision_selector(revision: &str) -> String {
    format!(
        "{}={revision},{},{}",
        names::REV_LABEL,
        names::OWNER_LABEL,
        names::COMPONENT_LABEL
    )
}

/// The label selector of every object any install owns: what `uninstall --purge` removes.
pub fn any_install_selector() -> String {
    format!("{},{}", names::OWNER_LABEL, names::COMPONENT_LABEL)
}

/// The ownership labels `render(iop)` puts on its objects.
pub fn ownership(iop: &IstioOperator) -> Result<Ownership, RenderError> {
    let ctx = Ctx::new(iop)?;
    Ok(Ownership {
        revision: ctx.rev_label().to_string(),
        owner: ctx.owner.clone(),
    })
}

/// Renders every object of the install described by `iop`, in apply order.
pub fn render(iop: &IstioOperator) -> Result<Vec<Rendered>, RenderError> {
    let ctx = Ctx::new(iop)?;
    let mut out = Vec::new();
    if ctx.base_enabled() {
        push(&mut out, Component::Base, base::render(&ctx));
    }
    if ctx.pilot_enabled() {
        push(&mut out, Component::Pilot, istiod::render(&ctx)?);
    }
    push(
        &mut out,
        Component::IngressGateways,
        gateways::render(&ctx, gateways::Kind::Ingress)?,
    );
    push(
        &mut out,
        Component::EgressGateways,
        gateways::render(&ctx, gateways::Kind::Egress)?,
    );
    Ok(out)
}

fn push(out: &mut Vec<Rendered>, component: Component, objects: Vec<Value>) {
    out.extend(
        objects
            .into_iter()
            .map(|object| Rendered { component, object }),
    );
}

/// The IstioOperator with its defaults resolved once: what every renderer reads.
pub(crate) struct Ctx<'a> {
    pub(crate) iop: &'a IstioOperator,
    /// `None` for the default revision.
    pub(crate) revision: Option<String>,
    /// `values.global.istioNamespace` as resolved: where Istio looks for its control plane.
    pub(crate) istio_namespace: String,
    /// Where the control plane runs (`components.pilot.namespace`, else the install namespace).
    pub(crate) pilot_namespace: String,
    /// `install.operator.istio.io/owning-resource`: the IstioOperator's name.
    pub(crate) owner: String,
    pub(crate) global: GlobalValues,
    pub(crate) proxy: ProxyValues,
    pub(crate) pilot_values: PilotValues,
    /// `values.istiodRemote.enabled`: the control plane runs in another cluster.
    pub(crate) remote: bool,
}

impl<'a> Ctx<'a> {
    fn new(iop: &'a IstioOperator) -> Result<Self, RenderError> {
        let spec = &iop.spec;
        let values = &spec.values;
        for (name, c) in [
            ("cni", spec.components.cni.as_ref()),
            ("ztunnel", spec.components.ztunnel.as_ref()),
        ] {
            if c.and_then(|c| c.enabled) == Some(true) {
                return Err(RenderError::Unsupported(name));
            }
        }
        let revision = spec
            .revision
            .as_deref()
            .or(values.revision.as_deref())
            .filter(|r| !r.is_empty() && *r != "default")
            .map(str::to_string);
        if let Some(r) = &revision
            && !is_dns1123_label(r)
        {
            return Err(RenderError::InvalidRevision(r.clone()));
        }
        let global = values.global.clone().unwrap_or_default();
        let istio_namespace = non_empty(spec.namespace.as_deref())
            .or(non_empty(iop.metadata.namespace.as_deref()))
            .or(non_empty(global.istio_namespace.as_deref()))
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_string();
        let pilot_namespace = non_empty(spec.components.pilot.namespace.as_deref())
            .unwrap_or(&istio_namespace)
            .to_string();
        Ok(Ctx {
            iop,
            revision,
            istio_namespace,
            pilot_namespace,
            owner: non_empty(iop.metadata.name.as_deref())
                .unwrap_or("unknown")
                .to_string(),
            proxy: global.proxy.clone().unwrap_or_default(),
            global,
            pilot_values: values.pilot.clone().unwrap_or_default(),
            remote: values
                .istiod_remote
                .as_ref()
                .and_then(|r| r.enabled)
                .unwrap_or(false),
        })
    }

    pub(crate) fn values(&self) -> &Values {
        &self.iop.spec.values
    }

    fn base_enabled(&self) -> bool {
        self.iop.spec.components.base.enabled.unwrap_or(true)
    }

    fn pilot_enabled(&self) -> bool {
        self.iop.spec.components.pilot.enabled.unwrap_or(true)
            && self.pilot_values.enabled.unwrap_or(true)
    }

    /// `components.pilot.k8s`.
    pub(crate) fn pilot_k8s(&self) -> Option<&K8s> {
        self.iop.spec.components.pilot.k8s.as_ref()
    }

    /// `<hub>/ferry:<tag>`: the component's hub/tag, else `spec.hub`/`spec.tag`, else
    /// `values.global.hub`/`tag`, else the built-in defaults.
    pub(crate) fn image(&self, hub: Option<&str>, tag: Option<&str>) -> String {
        let spec = &self.iop.spec;
        let hub = non_empty(hub)
            .or(non_empty(spec.hub.as_deref()))
            .or(non_empty(self.global.hub.as_deref()))
            .unwrap_or(DEFAULT_HUB);
        let tag = non_empty(tag)
            .or(non_empty(spec.tag.as_deref()))
            .or(non_empty(self.global.tag.as_deref()))
            .unwrap_or(DEFAULT_TAG);
        format!("{}/{IMAGE_NAME}:{tag}", hub.trim_end_matches('/'))
    }

    /// `k8s.imagePullPolicy`, else `values.global.imagePullPolicy`.
    pub(crate) fn image_pull_policy<'b>(&'b self, k8s: Option<&'b K8s>) -> Option<&'b str> {
        non_empty(k8s.and_then(|k| k.image_pull_policy.as_deref()))
            .or(non_empty(self.global.image_pull_policy.as_deref()))
    }

    /// `values.global.proxy.clusterDomain`, default `cluster.local`.
    pub(crate) fn cluster_domain(&self) -> &str {
        non_empty(self.proxy.cluster_domain.as_deref()).unwrap_or("cluster.local")
    }

    /// `values.global.multiCluster.clusterName`, default `Kubernetes` (Istio's default cluster ID).
    pub(crate) fn cluster_id(&self) -> &str {
        non_empty(
            self.global
                .multi_cluster
                .as_ref()
                .and_then(|m| m.cluster_name.as_deref()),
        )
        .unwrap_or("Kubernetes")
    }

    /// `values.global.defaultPodDisruptionBudget.enabled`, default true.
    pub(crate) fn default_pdb(&self) -> bool {
        self.global
            .default_pod_disruption_budget
            .as_ref()
            .and_then(|t| t.enabled)
            .unwrap_or(true)
    }

    /// `values.global.configValidation`, default true.
    pub(crate) fn config_validation(&self) -> bool {
        self.global.config_validation.unwrap_or(true)
    }

    /// `meshConfig.<key>` as given by the user or profile.
    pub(crate) fn mesh_config(&self, key: &str) -> Option<&Value> {
        self.iop.spec.mesh_config.as_ref().and_then(|m| m.get(key))
    }

    /// `meshConfig.enablePrometheusMerge`, default true as in Istio.
    pub(crate) fn prometheus_merge(&self) -> bool {
        self.mesh_config("enablePrometheusMerge")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    /// `ingressGateways` or `egressGateways` of the spec.
    pub(crate) fn gateways(&self, ingress: bool) -> &[GatewayComponent] {
        let c = &self.iop.spec.components;
        if ingress {
            &c.ingress_gateways
        } else {
            &c.egress_gateways
        }
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Kubernetes' DNS-1123 label: what a revision must be, since it becomes part of object names.
pub(crate) fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A typed Kubernetes value (from `k8s-openapi`) as JSON. These types serialize infallibly.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A JSON object from string pairs, in the order given.
pub(crate) fn string_map<'s>(
    pairs: impl IntoIterator<Item = (&'s str, &'s str)>,
) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

/// Inserts `key: value` unless the value is absent, null or an empty object or list.
pub(crate) fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) if m.is_empty() => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(v) => {
            map.insert(key.to_string(), v);
        }
    }
}

/// `apiVersion`, `kind` and `metadata`, the start of every object.
pub(crate) fn object(
    api_version: &str,
    kind: &str,
    metadata: Map<String, Value>,
) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("apiVersion".into(), api_version.into());
    o.insert("kind".into(), kind.into());
    o.insert("metadata".into(), Value::Object(metadata));
    o
}

/// `metadata` with a name, an optional namespace and labels.
pub(crate) fn metadata(
    name: &str,
    namespace: Option<&str>,
    labels: Map<String, Value>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), name.into());
    if let Some(ns) = namespace {
        m.insert("namespace".into(), ns.into());
    }
    insert_some(&mut m, "labels", Some(Value::Object(labels)));
    m
}

#[cfg(test)]
mod tests;
