//! `injection.ImageAnalyzer`: the proxies running in an injected namespace should use the image
//! the injector ConfigMap (`istio-sidecar-injector[-<rev>]`) would inject now; a mismatch usually
//! means the pods predate a control-plane upgrade (IST0158, on the Namespace).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::injection::{INJECTION_LABEL, REVISION_LABEL, injector_configmap_name};
use crate::analyze::catalog::IST0158;
use crate::analyze::context::{Analyzer, Context, Workload};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::config::yaml::{Limits, parse_stream};

pub const ANALYZER: Analyzer = Analyzer {
    name: "injection.ImageAnalyzer",
    description: "Checks the image of auto-injection configured with the running proxies on pods",
    inputs: &[Kind::Namespace, Kind::Pod, Kind::ConfigMap],
    reads: &[
        Kind::Namespace,
        Kind::ConfigMap,
        Kind::ProxyConfig,
        Kind::Pod,
        Kind::Deployment,
    ],
    run,
};

/// The part of the injector ConfigMap's `values` JSON that names the proxy image.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InjectorValues {
    global: Global,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Global {
    hub: String,
    tag: String,
    proxy: Proxy,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Proxy {
    image: String,
}

/// `GetIstioProxyImage`: `proxy.image` when it is a full reference, else `hub/image:tag`; empty
/// when the values do not decode.
fn proxy_image(data: &BTreeMap<String, String>) -> String {
    let Ok(v) =
        serde_json::from_str::<InjectorValues>(data.get("values").map_or("", String::as_str))
    else {
        return String::new();
    };
    let g = v.global;
    if g.proxy.image.contains('/') {
        g.proxy.image
    } else {
        format!("{}/{}:{}", g.hub, g.proxy.image, g.tag)
    }
}

fn run(ctx: &mut Context<'_>) {
    // Keyed by name only: with the same name in two namespaces the later one wins, as in Istio.
    let mut images: HashMap<&str, String> = HashMap::new();
    for r in ctx.of(Kind::ConfigMap) {
        if let Spec::ConfigMap(data) = &r.spec
            && r.name().starts_with("istio-sidecar-injector")
        {
            images.insert(r.name(), proxy_image(data));
        }
    }
    if images.is_empty() {
        return;
    }

    // Injected namespaces and their revision ("default" without a revision label).
    let mut namespaces: HashMap<&str, &Resource> = HashMap::new();
    let mut injected: HashMap<&str, &str> = HashMap::new();
    for r in ctx.of(Kind::Namespace) {
        namespaces.insert(r.name(), r);
        let labels = r.labels();
        if let Some(rev) = labels.get(REVISION_LABEL) {
            injected.insert(r.name(), rev);
        } else if labels.get(INJECTION_LABEL).map(String::as_str) == Some("enabled") {
            injected.insert(r.name(), "default");
        }
    }

    let resolver = ImageTypeResolver::new(ctx);
    let mut mismatched: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for w in ctx.workloads {
        let Some(rev) = injected.get(w.namespace) else {
            continue;
        };
        // A custom proxy image always overrides the injector.
        if w.annotations
            .get("sidecar.istio.io/proxyImage")
            .is_some_and(|v| !v.is_empty())
        {
            continue;
        }
        let Some(expected) = images.get(injector_configmap_name(rev).as_str()) else {
            continue;
        };
        let variant = resolver.image_type(w);
        for c in w.spec.containers.iter().chain(&w.spec.init_containers) {
            if c.name != "istio-proxy" {
                continue;
            }
            let image = c.image.as_deref().unwrap_or_default();
            // In a workload template `auto` is the injection placeholder, not a running proxy
            // (Pods with it are `injection.ImageAutoAnalyzer`'s finding). Templates with a
            // concrete proxy image (e.g. `istioctl kube-inject` output) are checked like Pods.
            if !w.is_pod() && image == "auto" {
                continue;
            }
            if image != expected && image != format!("{expected}-{variant}") {
                mismatched
                    .entry(w.namespace)
                    .or_default()
                    .push(w.resource.name().to_string());
            }
        }
    }
    for (ns, mut pods) in mismatched {
        let Some(r) = namespaces.get(ns) else {
            continue;
        };
        // Istio lists pods in iteration order; sorted here so output is deterministic.
        pods.sort();
        ctx.report(&IST0158, r, None, &[pods.into()]);
    }
}

/// Istio's `EffectiveProxyConfigResolver.ImageType`: the proxy image variant (e.g. `distroless`)
/// from mesh config, ProxyConfig resources and the pod's `proxy.istio.io/config` annotation, the
/// most specific non-empty one winning.
struct ImageTypeResolver<'a> {
    mesh: Option<String>,
    root: Option<&'a Value>,
    namespace: HashMap<&'a str, &'a Value>,
    /// `(ns/name, spec)` of ProxyConfigs with a selector.
    workload: Vec<(String, &'a Value)>,
}

fn image_type_of(spec: &Value) -> Option<String> {
    spec.get("image")?
        .get("imageType")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl<'a> ImageTypeResolver<'a> {
    fn new(ctx: &Context<'a>) -> Self {
        let mesh = ctx.mesh.rest.get("defaultConfig").and_then(image_type_of);
        let root_ns = if ctx.mesh.root_namespace.is_empty() {
            "istio-system"
        } else {
            ctx.mesh.root_namespace.as_str()
        };
        let mut resolver = ImageTypeResolver {
            mesh,
            root: None,
            namespace: HashMap::new(),
            workload: Vec::new(),
        };
        for r in ctx.of(Kind::ProxyConfig) {
            let Spec::Opaque(spec) = &r.spec else {
                continue;
            };
            let ns = r.effective_namespace();
            if ns == root_ns {
                resolver.root = Some(spec);
            } else if spec.get("selector").is_none() {
                resolver.namespace.insert(ns, spec);
            } else {
                resolver.workload.push((format!("{ns}/{}", r.name()), spec));
            }
        }
        resolver
    }

    fn image_type(&self, w: &Workload<'_>) -> String {
        let mut t = self.mesh.clone();
        if let Some(v) = self.root.and_then(image_type_of) {
            t = Some(v);
        }
        if let Some(v) = self
            .namespace
            .get(w.namespace)
            .and_then(|s| image_type_of(s))
        {
            t = Some(v);
        }
        for (key, spec) in &self.workload {
            // Istio's check: the key starts with the pod's namespace and the selector contains
            // every pod label (the reverse of usual selector matching); kept as is for parity.
            let selector = spec
                .get("selector")
                .and_then(|s| s.get("matchLabels"))
                .and_then(Value::as_object);
            let contains = selector.is_some_and(|m| {
                w.labels
                    .iter()
                    .all(|(k, v)| m.get(k).and_then(Value::as_str) == Some(v.as_str()))
            });
            if key.starts_with(w.namespace)
                && contains
                && let Some(v) = image_type_of(spec)
            {
                t = Some(v);
            }
        }
        if let Some(v) = w
            .annotations
            .get("proxy.istio.io/config")
            .and_then(|text| {
                parse_stream(text, Limits::default())
                    .documents
                    .first()
                    .map(|d| d.root.to_json())
            })
            .and_then(|j| image_type_of(&j))
        {
            t = Some(v);
        }
        match t {
            Some(v) if v != "default" => v,
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const INJECTOR: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector, namespace: istio-system}
data:
  values: '{"global":{"hub":"gcr.io/istio-release","tag":"1.20.0","proxy":{"image":"proxyv2"}}}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector-canary, namespace: istio-system}
data:
  values: '{"global":{"hub":"gcr.io/istio-release","tag":"1.21.0","proxy":{"image":"proxyv2"}}}'
"#;

    const PODS: &str = r#"---
apiVersion: v1
kind: Namespace
metadata:
  name: enabled-namespace
  labels: {istio-injection: enabled}
---
apiVersion: v1
kind: Namespace
metadata:
  name: revision-namespace
  labels: {istio.io/rev: canary}
---
apiVersion: v1
kind: Namespace
metadata: {name: plain}
---
apiVersion: v1
kind: Pod
metadata: {name: old-proxy, namespace: enabled-namespace}
spec:
  containers:
  - {name: app, image: app}
  - {name: istio-proxy, image: gcr.io/istio-release/proxyv2:1.19.0}
---
apiVersion: v1
kind: Pod
metadata: {name: current, namespace: enabled-namespace}
spec:
  containers:
  - {name: istio-proxy, image: gcr.io/istio-release/proxyv2:1.20.0}
---
apiVersion: v1
kind: Pod
metadata:
  name: custom
  namespace: enabled-namespace
  annotations: {sidecar.istio.io/proxyImage: my/proxy:1}
spec:
  containers:
  - {name: istio-proxy, image: my/proxy:1}
---
apiVersion: v1
kind: Pod
metadata:
  name: distroless
  namespace: enabled-namespace
  annotations:
    proxy.istio.io/config: |
      image:
        imageType: distroless
spec:
  containers:
  - {name: istio-proxy, image: gcr.io/istio-release/proxyv2:1.20.0-distroless}
---
apiVersion: v1
kind: Pod
metadata: {name: canary-current, namespace: revision-namespace}
spec:
  containers:
  - {name: istio-proxy, image: gcr.io/istio-release/proxyv2:1.21.0}
---
apiVersion: v1
kind: Pod
metadata: {name: elsewhere, namespace: plain}
spec:
  containers:
  - {name: istio-proxy, image: old}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: enabled-namespace}
spec:
  template:
    spec:
      containers: [{name: istio-proxy, image: auto}]
"#;

    #[test]
    fn mismatched_proxies_fire_on_the_namespace() {
        let yaml = format!("{INJECTOR}{PODS}");
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![pair("IST0158", "Namespace enabled-namespace")]
        );
        assert_eq!(
            lines(&ANALYZER, &yaml),
            vec![
                "Warning [IST0158] (Namespace enabled-namespace test.yaml:13) The Istio proxy images of the pods running in the namespace do not match the image defined in the injection configuration (pod names: [old-proxy]). This often happens after upgrading the Istio control-plane and can be fixed by redeploying the pods."
            ]
        );
    }

    #[test]
    fn without_the_injector_configmap_nothing_fires() {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: unrelated}}\ndata: {{a: b}}\n{PODS}"
        );
        assert_eq!(run(&ANALYZER, &yaml), vec![]);
    }
}
