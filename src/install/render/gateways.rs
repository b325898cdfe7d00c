//! Ingress and egress gateways (`components.ingressGateways[]` / `egressGateways[]`): a
//! Deployment running `ferryctl proxy router`, its ServiceAccount and SDS RoleBinding, the
//! Service in front of it, and its HPA and PDB, as Istio's `gateways/istio-ingress` and
//! `istio-egress` charts lay them out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::k8s::{
    add_scheduling, apply_env, env_value, overlay_service, pod_annotations, resources,
    service_annotations,
};
use super::names::{INJECT_LABEL, PROXY_PROMETHEUS_PORT};
use super::proxy::{self, Role};
use super::scaling;
use super::{Component, Ctx, RenderError, insert_some, metadata, object};
use crate::install::iop::{GatewayComponent, GatewayValues};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Ingress,
    Egress,
}

impl Kind {
    fn component(self) -> Component {
        match self {
            Kind::Ingress => Component::IngressGateways,
            Kind::Egress => Component::EgressGateways,
        }
    }

    fn default_name(self) -> &'static str {
        match self {
            Kind::Ingress => "istio-ingressgateway",
            Kind::Egress => "istio-egressgateway",
        }
    }

    /// The `istio` label Gateway resources select (`selector: {istio: ingressgateway}`).
    fn istio_label(self) -> &'static str {
        match self {
            Kind::Ingress => "ingressgateway",
            Kind::Egress => "egressgateway",
        }
    }

    /// `values.gateways.<chart>`: the chart's settings, shared by every gateway of this kind.
    fn values(self, ctx: &Ctx) -> GatewayValues {
        let charts = ctx.values().gateways.as_ref();
        match self {
            Kind::Ingress => charts.and_then(|g| g.istio_ingressgateway.clone()),
            Kind::Egress => charts.and_then(|g| g.istio_egressgateway.clone()),
        }
        .unwrap_or_default()
    }

    fn spec_key(self) -> &'static str {
        match self {
            Kind::Ingress => "ingressGateways",
            Kind::Egress => "egressGateways",
        }
    }

    /// Istio's default Service: ingress is a LoadBalancer with the status port, egress is
    /// cluster-internal.
    fn default_service(self) -> (&'static str, Vec<Value>) {
        let port = |name: &str, port: u16, target: u16| json!({"name": name, "port": port, "protocol": "TCP", "targetPort": target});
        let mut ports = Vec::new();
        if self == Kind::Ingress {
            ports.push(port("status-port", 15021, 15021));
        }
        ports.push(port("http2", 80, 8080));
        ports.push(port("https", 443, 8443));
        match self {
            Kind::Ingress => ("LoadBalancer", ports),
            Kind::Egress => ("ClusterIP", ports),
        }
    }
}

/// Every enabled gateway of `kind`, in the order listed.
pub(super) fn render(ctx: &Ctx, kind: Kind) -> Result<Vec<Value>, RenderError> {
    let values = kind.values(ctx);
    // (namespace, name) of each enabled gateway, and whether it was named.
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (index, gw) in ctx.gateways(kind == Kind::Ingress).iter().enumerate() {
        if gw.enabled != Some(true) {
            continue;
        }
        let given = gw.name.as_deref().filter(|n| !n.is_empty());
        let name = given.unwrap_or(kind.default_name());
        let namespace = gw
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&ctx.istio_namespace);
        if let Some(first_named) =
            seen.insert((namespace.to_string(), name.to_string()), given.is_some())
        {
            return Err(RenderError::DuplicateGateway {
                kind: kind.spec_key(),
                name: name.to_string(),
                namespace: namespace.to_string(),
                unnamed: !first_named || given.is_none(),
            });
        }
        let g = Gateway {
            ctx,
            kind,
            index,
            spec: gw,
            values: &values,
            name,
            namespace,
        };
        out.extend(g.render()?);
    }
    Ok(out)
}

struct Gateway<'a> {
    ctx: &'a Ctx<'a>,
    kind: Kind,
    index: usize,
    spec: &'a GatewayComponent,
    /// `values.gateways.<chart>`.
    values: &'a GatewayValues,
    name: &'a str,
    namespace: &'a str,
}

impl Gateway<'_> {
    fn render(&self) -> Result<Vec<Value>, RenderError> {
        let service = self.service();
        let mut out = vec![self.service_account()];
        out.extend(self.sds_rbac());
        out.push(self.deployment(&service)?);
        out.push(service);
        let k8s = self.spec.k8s.as_ref();
        if scaling::gateway_autoscale(self.values, k8s) {
            let path = format!("{}.k8s.hpaSpec", self.path());
            out.push(scaling::hpa(
                self.name,
                self.namespace,
                self.labels(),
                &scaling::gateway_hpa_defaults(self.values),
                k8s,
                &path,
            )?);
        }
        if let Some(pdb) = scaling::pdb(
            self.ctx,
            self.name,
            self.namespace,
            self.labels(),
            self.selector(),
            self.spec.k8s.as_ref(),
        ) {
            out.push(pdb);
        }
        Ok(out)
    }

    /// Where the gateway is in the IstioOperator, for errors: by its name (`[name:x]`, as `--set`
    /// selects it), since an index in the merged list need not be the one the user wrote; by
    /// index only when it has no name.
    fn path(&self) -> String {
        let list = self.kind.spec_key();
        match self.spec.name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => format!("components.{list}[name:{name}]"),
            None => format!("components.{list}[{}]", self.index),
        }
    }

    /// `app: <name>`, `istio: ingressgateway|egressgateway`, then `components.*.label` (which may
    /// override both): what the Deployment and Service select and Gateway resources match.
    fn selector(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("app".into(), self.name.into());
        m.insert("istio".into(), self.kind.istio_label().into());
        for (k, v) in &self.spec.label {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        m
    }

    /// The selector labels plus the revision, owner and component.
    fn labels(&self) -> Map<String, Value> {
        let mut m = self.selector();
        self.ctx.add_standard_labels(&mut m, self.kind.component());
        m
    }

    fn service_account_name(&self) -> String {
        format!("{}-service-account", self.name)
    }

    fn service_account(&self) -> Value {
        Value::Object(object(
            "v1",
            "ServiceAccount",
            metadata(
                &self.service_account_name(),
                Some(self.namespace),
                self.labels(),
            ),
        ))
    }

    /// `<name>-sds`: read access to the TLS secrets of the gateway's namespace, for the gateway
    /// (the control plane checks it with a SubjectAccessReview before serving a credential, as
    /// istiod does) and for the control plane, which reads them to serve them over SDS.
    fn sds_rbac(&self) -> Vec<Value> {
        let name = format!("{}-sds", self.name);
        let mut role = object(
            "rbac.authorization.k8s.io/v1",
            "Role",
            metadata(&name, Some(self.namespace), self.labels()),
        );
        role.insert(
            "rules".into(),
            json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]),
        );
        let mut binding = object(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            metadata(&name, Some(self.namespace), self.labels()),
        );
        binding.insert(
            "roleRef".into(),
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}),
        );
        binding.insert(
            "subjects".into(),
            json!([
                {"kind": "ServiceAccount", "name": self.service_account_name(), "namespace": self.namespace},
                {"kind": "ServiceAccount", "name": self.ctx.istiod_name(), "namespace": self.ctx.pilot_namespace},
            ]),
        );
        vec![Value::Object(role), Value::Object(binding)]
    }

    fn service(&self) -> Value {
        let k8s = self.spec.k8s.as_ref();
        let (type_, ports) = self.kind.default_service();
        let mut meta = metadata(self.name, Some(self.namespace), self.labels());
        service_annotations(&mut meta, k8s);
        let mut spec = Map::new();
        spec.insert("type".into(), type_.into());
        spec.insert("selector".into(), Value::Object(self.selector()));
        spec.insert("ports".into(), Value::Array(ports));
        overlay_service(&mut spec, k8s);
        let mut s = object("v1", "Service", meta);
        s.insert("spec".into(), Value::Object(spec));
        Value::Object(s)
    }

    /// The container listens where the Service sends traffic: each port's `targetPort` (or
    /// `port`), plus the Prometheus port.
    fn container_ports(service: &Value) -> Vec<Value> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let ports = service
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for p in ports {
            let target = p
                .get("targetPort")
                .and_then(Value::as_u64)
                .or_else(|| p.get("port").and_then(Value::as_u64));
            let Some(target) = target else { continue };
            if target == u64::from(PROXY_PROMETHEUS_PORT) || !seen.insert(target) {
                continue;
            }
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            out.push(json!({"containerPort": target, "protocol": protocol}));
        }
        out.push(proxy::prometheus_port());
        out
    }

    fn env(&self) -> Vec<Value> {
        let mut env = proxy::pod_env();
        env.push(env_value("ISTIO_META_WORKLOAD_NAME", self.name));
        env.push(env_value(
            "ISTIO_META_OWNER",
            &format!(
                "kubernetes://apis/apps/v1/namespaces/{}/deployments/{}",
                self.namespace, self.name
            ),
        ));
        env.extend(proxy::metadata_env(self.ctx));
        apply_env(&mut env, self.spec.k8s.as_ref());
        env
    }

    fn deployment(&self, service: &Value) -> Result<Value, RenderError> {
        let ctx = self.ctx;
        let k8s = self.spec.k8s.as_ref();

        let mut pod_labels = self.selector();
        pod_labels.insert("service.istio.io/canonical-name".into(), self.name.into());
        pod_labels.insert(
            "service.istio.io/canonical-revision".into(),
            ctx.revision.as_deref().unwrap_or("latest").into(),
        );
        ctx.add_standard_labels(&mut pod_labels, self.kind.component());
        pod_labels.insert(INJECT_LABEL.into(), "false".into());

        let mut defaults = Map::new();
        if ctx.prometheus_merge() {
            defaults.insert(
                "prometheus.io/port".into(),
                PROXY_PROMETHEUS_PORT.to_string().into(),
            );
            defaults.insert("prometheus.io/scrape".into(), "true".into());
            defaults.insert("prometheus.io/path".into(), "/stats/prometheus".into());
        }
        defaults.insert(INJECT_LABEL.into(), "false".into());
        let annotations = pod_annotations(defaults, None, k8s);

        let mut container = Map::new();
        container.insert("name".into(), "istio-proxy".into());
        container.insert(
            "image".into(),
            ctx.image(self.spec.hub.as_deref(), self.spec.tag.as_deref())
                .into(),
        );
        if let Some(p) = ctx.image_pull_policy(k8s) {
            container.insert("imagePullPolicy".into(), p.into());
        }
        container.insert("ports".into(), Value::Array(Self::container_ports(service)));
        container.insert("args".into(), Value::Array(proxy::args(ctx, Role::Router)));
        container.insert("securityContext".into(), proxy::security_context());
        container.insert("readinessProbe".into(), proxy::readiness_probe());
        container.insert(
            "resources".into(),
            resources(
                k8s,
                None,
                proxy::default_resources(),
                &format!("{}.k8s.resources", self.path()),
            )?,
        );
        container.insert("env".into(), Value::Array(self.env()));
        container.insert("volumeMounts".into(), json!([proxy::istio_token_mount()]));

        let mut pod = Map::new();
        pod.insert(
            "securityContext".into(),
            json!({"runAsGroup": 1337, "runAsNonRoot": true, "runAsUser": 1337}),
        );
        pod.insert(
            "serviceAccountName".into(),
            self.service_account_name().into(),
        );
        add_scheduling(&mut pod, k8s, None);
        pod.insert("containers".into(), json!([container]));
        pod.insert("volumes".into(), json!([proxy::istio_token_volume()]));

        let mut template_meta = Map::new();
        template_meta.insert("labels".into(), Value::Object(pod_labels));
        insert_some(
            &mut template_meta,
            "annotations",
            Some(Value::Object(annotations)),
        );

        let mut spec = Map::new();
        if let Some(r) = scaling::gateway_replicas(self.values, k8s) {
            spec.insert("replicas".into(), r.into());
        }
        spec.insert("selector".into(), json!({"matchLabels": self.selector()}));
        spec.insert(
            "strategy".into(),
            json!({"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}}),
        );
        spec.insert(
            "template".into(),
            json!({"metadata": template_meta, "spec": pod}),
        );
        let mut d = object(
            "apps/v1",
            "Deployment",
            metadata(self.name, Some(self.namespace), self.labels()),
        );
        d.insert("spec".into(), Value::Object(spec));
        Ok(Value::Object(d))
    }
}
