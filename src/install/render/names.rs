//! Object names, labels and addresses, as Istio's charts spell them. Everything a revision changes
//! goes through here: revisioned names get `-<rev>`, every object carries `istio.io/rev`, and the
//! default revision keeps the unsuffixed names other tools look for (`istiod`, `istio`, …).

use serde_json::{Map, Value};

use super::{Component, Ctx};

/// Istio's standard ports, used by the control plane's Service and its clients.
pub(crate) const XDS_PORT: u16 = 15010;
pub(crate) const XDS_TLS_PORT: u16 = 15012;
pub(crate) const WEBHOOK_PORT: u16 = 15017;
pub(crate) const MONITORING_PORT: u16 = 15014;
pub(crate) const DEBUG_PORT: u16 = 8080;
/// The proxies' readiness (`/healthz/ready`) port and their Prometheus port.
pub(crate) const PROXY_STATUS_PORT: u16 = 15021;
pub(crate) const PROXY_PROMETHEUS_PORT: u16 = 15090;

pub(crate) const REV_LABEL: &str = "istio.io/rev";
pub(crate) const OWNER_LABEL: &str = "install.operator.istio.io/owning-resource";
pub(crate) const COMPONENT_LABEL: &str = "operator.istio.io/component";
pub(crate) const INJECT_LABEL: &str = "sidecar.istio.io/inject";
/// The namespace label of Istio's classic (unrevisioned) injection: `istio-injection=enabled`.
pub(crate) const INJECTION_LABEL: &str = "istio-injection";

/// The control plane Service of revision `rev`: `istiod` for `default`, `istiod-<rev>` otherwise
/// (what a revision tag or the default validator points at).
pub(crate) fn istiod_service(rev: &str) -> String {
    if rev == "default" {
        "istiod".to_string()
    } else {
        format!("istiod-{rev}")
    }
}

impl Ctx<'_> {
    /// The `istio.io/rev` value: the revision, or `default`.
    pub(crate) fn rev_label(&self) -> &str {
        self.revision.as_deref().unwrap_or("default")
    }

    /// `base` for the default revision, `base-<rev>` otherwise.
    pub(crate) fn revisioned(&self, base: &str) -> String {
        match &self.revision {
            Some(r) => format!("{base}-{r}"),
            None => base.to_string(),
        }
    }

    /// Deployment, Service, ServiceAccount, Role, RoleBinding, HPA and PDB of the control plane.
    pub(crate) fn istiod_name(&self) -> String {
        self.revisioned("istiod")
    }

    /// The mesh ConfigMap (`istio` / `istio-<rev>`), which proxies and tools read.
    pub(crate) fn mesh_configmap_name(&self) -> String {
        self.revisioned("istio")
    }

    pub(crate) fn injector_configmap_name(&self) -> String {
        self.revisioned("istio-sidecar-injector")
    }

    /// `istio-sidecar-injector[-<rev>]`, plus `-<ns>` when the control plane is not in
    /// `istio-system`, so two control planes in different namespaces do not collide.
    pub(crate) fn injector_webhook_name(&self) -> String {
        let name = self.revisioned("istio-sidecar-injector");
        if self.pilot_namespace == "istio-system" {
            name
        } else {
            format!("{name}-{}", self.pilot_namespace)
        }
    }

    /// `istio-validator[-<rev>]-<istioNamespace>`.
    pub(crate) fn validator_webhook_name(&self) -> String {
        format!(
            "{}-{}",
            self.revisioned("istio-validator"),
            self.istio_namespace
        )
    }

    /// Cluster-scoped names carry the namespace: `<base>[-<rev>]-<ns>`.
    pub(crate) fn cluster_scoped(&self, base: &str) -> String {
        format!("{}-{}", self.revisioned(base), self.pilot_namespace)
    }

    /// `istiod[-<rev>].<ns>.svc`: the control plane's Service.
    pub(crate) fn istiod_host(&self) -> String {
        format!("{}.{}.svc", self.istiod_name(), self.pilot_namespace)
    }

    /// Where Ferry's proxies (gateways, sidecars) fetch their configuration: plaintext xDS on
    /// 15010 of the revision's control plane.
    pub(crate) fn xds_address(&self) -> String {
        format!("{}:{XDS_PORT}", self.istiod_host())
    }

    /// `defaultConfig.discoveryAddress` of the mesh config (istiod's TLS xDS port, as Istio).
    /// With `remotePilotAddress` Istio points at the unrevisioned `istiod` Service.
    pub(crate) fn mesh_discovery_address(&self) -> String {
        if self
            .global
            .remote_pilot_address
            .as_deref()
            .is_some_and(|a| !a.is_empty())
        {
            format!("istiod.{}.svc:{XDS_TLS_PORT}", self.pilot_namespace)
        } else {
            format!("{}:{XDS_TLS_PORT}", self.istiod_host())
        }
    }

    /// `app`, `istio.io/rev`, the owning IstioOperator and the component, in that order.
    pub(crate) fn labels(&self, component: Component, app: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("app".into(), app.into());
        self.add_standard_labels(&mut m, component);
        m
    }

    /// Appends `istio.io/rev`, the owning IstioOperator and the component.
    pub(crate) fn add_standard_labels(&self, m: &mut Map<String, Value>, component: Component) {
        m.insert(REV_LABEL.into(), self.rev_label().into());
        m.insert(OWNER_LABEL.into(), self.owner.as_str().into());
        m.insert(COMPONENT_LABEL.into(), component.name().into());
    }

    /// The control plane's `istio` label: `pilot` for the default revision (what the default
    /// Service selects), `istiod` for revisions so the default Service never picks a canary.
    pub(crate) fn istiod_istio_label(&self) -> &'static str {
        if self.revision.is_some() {
            "istiod"
        } else {
            "pilot"
        }
    }

    /// The selector of the control plane's Deployment, PDB and Service: `istio: pilot` for the
    /// default revision, `app: istiod` + `istio.io/rev` for a revision.
    pub(crate) fn istiod_selector(&self) -> Map<String, Value> {
        match &self.revision {
            Some(r) => super::string_map([("app", "istiod"), (REV_LABEL, r.as_str())]),
            None => super::string_map([("istio", "pilot")]),
        }
    }
}
