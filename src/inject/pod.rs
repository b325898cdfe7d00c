//! The injection itself: a pod's metadata and spec in, the same with Ferry's proxy added out.
//! What Istio's sidecar template and the webhook's post-processing add, where it means something
//! to users and tools: the `istio-proxy` container (the rendered one, with the pod's overrides,
//! its ProxyConfig and its workload's metadata), the install's init containers (`istio-init`
//! with the pod's capture settings) and volumes, Istio's labels, the `sidecar.istio.io/status`
//! annotation, Prometheus pointed at the proxy, and the application's probes sent through the
//! proxy's status port. Injecting an injected pod again first removes what the last injection
//! added, so the result is the same.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::PROXY_CONTAINER;
use super::capture::{self, INIT_CONTAINER};
use super::config::{InjectorConfig, MeshSettings, Values};
use super::policy::{Rules, injection_required};
use super::probe::{self, APP_PROBERS_ENV};
use super::proxy_config::{self, ProxyConfig};
use super::workload::Workload;

/// The annotation that records what injection added (Istio's `SidecarInjectionStatus`).
pub const STATUS_ANNOTATION: &str = "sidecar.istio.io/status";

const REV_LABEL: &str = "istio.io/rev";
const TLS_MODE_LABEL: &str = "security.istio.io/tlsMode";
const CANONICAL_NAME: &str = "service.istio.io/canonical-name";
const CANONICAL_REVISION: &str = "service.istio.io/canonical-revision";
const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";
const DEFAULT_LOGS_CONTAINER: &str = "kubectl.kubernetes.io/default-logs-container";
/// Ferry's proxy serves its own metrics here (Envoy's `/stats/prometheus`).
const PROMETHEUS_PORT: &str = "15090";
const PROMETHEUS_PATH: &str = "/stats/prometheus";
/// What Ferry's proxy does without iptables in front of it (`ferryctl proxy --interception-mode`).
const DEFAULT_INTERCEPTION: &str = "NONE";

/// The flag that turns on the proxy's status server (Istio's agent `--statusPort`).
const STATUS_PORT_FLAG: &str = "--status-port";

/// A pod that cannot be injected.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("{path}: expected {expected}")]
    Shape {
        path: &'static str,
        expected: &'static str,
    },
    #[error("{origin}: interception mode {value:?} is not one of NONE, REDIRECT, TPROXY")]
    InterceptionMode { origin: &'static str, value: String },
    /// Istio's `validateAnnotations`, in its words, one line per annotation.
    #[error("{}", .0.join("\n"))]
    Annotations(Vec<String>),
}

/// What a pod's annotations and ProxyConfig decide about its proxy.
struct PodSettings {
    /// The mesh's `defaultConfig` with the pod's `proxy.istio.io/config` over it.
    proxy_config: ProxyConfig,
    interception_mode: String,
    /// Where the proxy serves the rewritten probes (0: nowhere).
    status_port: u16,
}

impl PodSettings {
    fn of(
        injector: &Injector,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Self, InjectError> {
        let own = match annotations.get(proxy_config::ANNOTATION) {
            // Validated already: a value that does not parse was refused.
            Some(text) => ProxyConfig::parse(text).unwrap_or_default(),
            None => ProxyConfig::default(),
        };
        let proxy_config = injector.mesh.default_config.merged(&own);
        let (origin, mode) = match annotations.get("sidecar.istio.io/interceptionMode") {
            Some(m) => ("annotation sidecar.istio.io/interceptionMode", m.clone()),
            None => (
                "ProxyConfig interceptionMode",
                proxy_config
                    .interception_mode()
                    .unwrap_or(DEFAULT_INTERCEPTION)
                    .to_string(),
            ),
        };
        if !matches!(mode.as_str(), "NONE" | "REDIRECT" | "TPROXY") {
            return Err(InjectError::InterceptionMode {
                origin,
                value: mode,
            });
        }
        let status_port = annotations
            .get(probe::STATUS_PORT_ANNOTATION)
            .and_then(|p| p.trim().parse().ok())
            .or_else(|| proxy_config.status_port())
            .unwrap_or(probe::DEFAULT_STATUS_PORT);
        Ok(PodSettings {
            proxy_config,
            interception_mode: mode,
            status_port,
        })
    }
}

/// Istio's `validateAnnotations`: every annotation Istio checks must be valid, or the pod is
/// refused rather than injected with settings it did not ask for.
fn validate_annotations(annotations: &BTreeMap<String, String>) -> Result<(), InjectError> {
    let problems: Vec<String> = annotations
        .iter()
        .filter_map(|(name, value)| {
            let problem = crate::analyze::analyzers::annotations::validate(name, value)?.err()?;
            Some(format!(
                "invalid value '{value}' for annotation '{name}': {problem}"
            ))
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InjectError::Annotations(problems))
    }
}

/// Everything injection needs: the injector's config and values and the mesh settings.
#[derive(Debug, Clone)]
pub struct Injector {
    pub config: InjectorConfig,
    pub values: Values,
    pub mesh: MeshSettings,
}

/// A pod's metadata and spec, wherever they live (a Pod, or a template in a Deployment).
pub(crate) struct PodParts<'a> {
    pub metadata: &'a mut Map<String, Value>,
    pub spec: &'a mut Map<String, Value>,
}

pub(crate) fn string_map(m: &Map<String, Value>, key: &str) -> BTreeMap<String, String> {
    m.get(key)
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The `labels` or `annotations` mapping of `metadata`, created when missing.
fn string_object<'m>(
    metadata: &'m mut Map<String, Value>,
    key: &'static str,
) -> Result<&'m mut Map<String, Value>, InjectError> {
    let slot = metadata
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().ok_or(InjectError::Shape {
        path: if key == "labels" {
            "metadata.labels"
        } else {
            "metadata.annotations"
        },
        expected: "a mapping",
    })
}

/// `spec.<key>` as a list, created when missing.
fn list<'s>(
    spec: &'s mut Map<String, Value>,
    key: &'static str,
    path: &'static str,
) -> Result<&'s mut Vec<Value>, InjectError> {
    let slot = spec.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut().ok_or(InjectError::Shape {
        path,
        expected: "a list",
    })
}

fn name_of(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// What a previous injection recorded it added.
#[derive(Debug, Default)]
struct PreviousInjection {
    init_containers: Vec<String>,
    containers: Vec<String>,
    volumes: Vec<String>,
    revision: String,
}

impl PreviousInjection {
    fn read(annotations: &BTreeMap<String, String>) -> Option<PreviousInjection> {
        let status: Value = serde_json::from_str(annotations.get(STATUS_ANNOTATION)?).ok()?;
        let names = |k: &str| -> Vec<String> {
            status
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(PreviousInjection {
            init_containers: names("initContainers"),
            containers: names("containers"),
            volumes: names("volumes"),
            revision: status
                .get("revision")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }
}

impl Injector {
    /// `istio.io/rev` of what this injector injects: the revision, or `default`.
    pub fn revision(&self) -> &str {
        if self.values.revision.is_empty() {
            "default"
        } else {
            &self.values.revision
        }
    }

    /// Whether the webhook injects this pod (the injector's policy and selectors apply).
    pub(crate) fn webhook_injects(&self, parts: &PodParts<'_>, namespace: &str) -> bool {
        injection_required(
            &Rules::of(&self.config),
            namespace,
            &string_map(parts.metadata, "labels"),
            &string_map(parts.metadata, "annotations"),
            host_network(parts.spec),
        )
    }

    /// Adds the sidecar to `parts`, first removing what an earlier injection added.
    pub(crate) fn inject(
        &self,
        parts: PodParts<'_>,
        workload: &Workload,
    ) -> Result<(), InjectError> {
        let PodParts { metadata, spec } = parts;
        strip_previous(metadata, spec)?;
        let annotations = string_map(metadata, "annotations");
        validate_annotations(&annotations)?;
        let settings = PodSettings::of(self, &annotations)?;
        // The application's probes, before the proxy joins the containers.
        let rewrite = probe::should_rewrite(
            annotations
                .get(probe::REWRITE_ANNOTATION)
                .map(String::as_str),
            self.config.sidecar.rewrite_app_http_probe.unwrap_or(true),
        );
        // Status port 0 is Istio's "no status server": nothing would answer the probes.
        let probers = if rewrite && settings.status_port != 0 {
            probe::rewrite(spec, settings.status_port)
        } else {
            None
        };

        // Labels first: the proxy is told the pod's final labels.
        let app_containers: Vec<Value> = list(spec, "containers", "spec.containers")?
            .iter()
            .filter(|c| name_of(c) != Some(PROXY_CONTAINER))
            .cloned()
            .collect();
        {
            let current = string_map(metadata, "labels");
            let text = |k: &str| current.get(k).cloned();
            let canonical_name = text(CANONICAL_NAME)
                .or_else(|| text("app.kubernetes.io/name"))
                .or_else(|| text("app"))
                .unwrap_or_else(|| workload.name.clone());
            let canonical_revision = text(CANONICAL_REVISION)
                .or_else(|| text("app.kubernetes.io/version"))
                .or_else(|| text("version"))
                .unwrap_or_else(|| "latest".into());
            let labels = string_object(metadata, "labels")?;
            if !current.contains_key(TLS_MODE_LABEL) {
                labels.insert(TLS_MODE_LABEL.into(), "istio".into());
            }
            labels.insert(
                CANONICAL_NAME.into(),
                truncate_label(&canonical_name).into(),
            );
            labels.insert(CANONICAL_REVISION.into(), canonical_revision.into());
            // Kept when set: a pod selected through a revision tag keeps the tag (Istio records
            // the revision in the status annotation for that reason).
            if !current.contains_key(REV_LABEL) {
                labels.insert(REV_LABEL.into(), self.revision().into());
            }
        }
        let labels = string_map(metadata, "labels");

        let proxy = self.proxy_container(
            &annotations,
            &labels,
            &app_containers,
            workload,
            &settings,
            probers,
        );
        let containers = list(spec, "containers", "spec.containers")?;
        let proxy = match containers
            .iter()
            .position(|c| name_of(c) == Some(PROXY_CONTAINER))
        {
            // The pod's own `istio-proxy` customises the injected one (Istio's "customizing
            // injection"): its fields win.
            Some(i) => overlay_container(proxy, &containers.remove(i)),
            None => proxy,
        };
        // Last, so `kubectl exec` and `logs` keep defaulting to the application.
        containers.push(Value::Object(proxy));

        let init_containers = list(spec, "initContainers", "spec.initContainers")?;
        for c in &self.config.sidecar.init_containers {
            let name = c.get("name").and_then(Value::as_str);
            init_containers.retain(|existing| name.is_none() || name_of(existing) != name);
            let mut c = c.clone();
            if name == Some(INIT_CONTAINER) {
                // Istio adds its iptables setup only when traffic is captured.
                if settings.interception_mode == DEFAULT_INTERCEPTION {
                    continue;
                }
                let args = capture::iptables_args(
                    &settings.interception_mode,
                    &annotations,
                    &self.values.capture,
                    settings.status_port,
                );
                c.insert("args".into(), json!(args));
                resources_from_annotations(&mut c, &annotations);
            }
            init_containers.push(Value::Object(c));
        }
        if init_containers.is_empty() {
            spec.remove("initContainers");
        }
        if !self.config.sidecar.volumes.is_empty() {
            let volumes = list(spec, "volumes", "spec.volumes")?;
            for v in &self.config.sidecar.volumes {
                let name = v.get("name").and_then(Value::as_str);
                volumes.retain(|existing| name.is_none() || name_of(existing) != name);
                volumes.push(Value::Object(v.clone()));
            }
        }

        let out = string_object(metadata, "annotations")?;
        out.insert(REV_LABEL.into(), self.revision().into());
        if let Some(first) = app_containers.first().and_then(name_of) {
            for key in [DEFAULT_LOGS_CONTAINER, DEFAULT_CONTAINER] {
                if !out.contains_key(key) {
                    out.insert(key.into(), first.into());
                }
            }
        }
        let has_prometheus = out.keys().any(|k| k.starts_with("prometheus.io/"));
        // Istio points Prometheus at its agent, which merges the application's metrics in;
        // Ferry has no such merge, so a pod that names its own scrape target keeps it.
        if self.mesh.prometheus_merge && !has_prometheus {
            out.insert("prometheus.io/port".into(), PROMETHEUS_PORT.into());
            out.insert("prometheus.io/path".into(), PROMETHEUS_PATH.into());
            out.insert("prometheus.io/scrape".into(), "true".into());
        }
        for (k, v) in &self.config.injected_annotations {
            out.insert(k.clone(), v.clone().into());
        }
        out.insert(STATUS_ANNOTATION.into(), self.status(&settings).into());
        Ok(())
    }

    /// Istio's status JSON, fields in its order; an empty list is `null`, as Go writes it.
    fn status(&self, settings: &PodSettings) -> String {
        let names = |items: &[Map<String, Value>]| -> Value {
            let names: Vec<Value> = items
                .iter()
                .filter_map(|c| c.get("name").cloned())
                .collect();
            if names.is_empty() {
                Value::Null
            } else {
                Value::Array(names)
            }
        };
        let sidecar = &self.config.sidecar;
        let init: Vec<Map<String, Value>> = sidecar
            .init_containers
            .iter()
            .filter(|c| {
                settings.interception_mode != DEFAULT_INTERCEPTION
                    || c.get("name").and_then(Value::as_str) != Some(INIT_CONTAINER)
            })
            .cloned()
            .collect();
        json!({
            "initContainers": names(&init),
            "containers": [PROXY_CONTAINER],
            "volumes": names(&sidecar.volumes),
            "imagePullSecrets": null,
            "revision": self.revision(),
        })
        .to_string()
    }

    /// The rendered proxy container with the pod's annotations and ProxyConfig applied, its
    /// workload's metadata in the environment, and the application's original probes (`probers`)
    /// for the status server it then runs.
    fn proxy_container(
        &self,
        annotations: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
        app_containers: &[Value],
        workload: &Workload,
        settings: &PodSettings,
        probers: Option<String>,
    ) -> Map<String, Value> {
        let mut c = self.config.sidecar.container.clone();
        c.insert("name".into(), PROXY_CONTAINER.into());
        if let Some(image) = annotations.get("sidecar.istio.io/proxyImage") {
            c.insert("image".into(), image.clone().into());
        }
        resources_from_annotations(&mut c, annotations);
        let mode = settings.interception_mode.clone();
        let config = &settings.proxy_config;

        let args = c.entry("args").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(args) = args {
            for (annotation, flag) in [
                ("sidecar.istio.io/logLevel", "--proxyLogLevel"),
                (
                    "sidecar.istio.io/componentLogLevel",
                    "--proxyComponentLogLevel",
                ),
            ] {
                if let Some(level) = annotations.get(annotation) {
                    set_flag(args, flag, level);
                }
            }
            if mode != DEFAULT_INTERCEPTION {
                set_flag(args, "--interception-mode", &mode);
            }
            // Istio's `concurrency: 0` is a worker per core, which Ferry's proxy has no flag
            // for: the proxy's default stays.
            if let Some(n) = config.concurrency().filter(|n| *n > 0) {
                set_flag(args, "--concurrency", &n.to_string());
            }
            if let Some(d) = config.termination_drain_duration() {
                let seconds = d.as_secs() + u64::from(d.subsec_nanos() > 0);
                set_flag(args, "--drain-time-s", &seconds.to_string());
            }
            if probers.is_some() {
                set_flag(args, STATUS_PORT_FLAG, &settings.status_port.to_string());
            }
            // Ferry's proxy takes its workload labels as a flag (Istio's agent reads them from a
            // downward-API file); they select its Sidecars and `sourceLabels` routes.
            if !labels.is_empty() {
                let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                set_flag(args, "--labels", &labels.join(","));
            }
        }

        let ports: Vec<Value> = app_containers
            .iter()
            .filter_map(|c| c.get("ports").and_then(Value::as_array))
            .flatten()
            .cloned()
            .collect();
        let names: Vec<&str> = app_containers.iter().filter_map(name_of).collect();
        let mut env = vec![
            (proxy_config::ENV.to_string(), config.env_value()),
            (
                "ISTIO_META_POD_PORTS".to_string(),
                Value::Array(ports).to_string(),
            ),
            ("ISTIO_META_APP_CONTAINERS".into(), names.join(",")),
            ("ISTIO_META_INTERCEPTION_MODE".into(), mode),
        ];
        if !workload.name.is_empty() {
            env.push(("ISTIO_META_WORKLOAD_NAME".into(), workload.name.clone()));
        }
        if let Some(owner) = workload.owner() {
            env.push(("ISTIO_META_OWNER".into(), owner));
        }
        env.extend(config.proxy_metadata());
        // Last, as Istio appends it after rendering.
        env.extend(probers.map(|p| (APP_PROBERS_ENV.to_string(), p)));
        let list = c.entry("env").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            for (name, value) in env {
                let var = json!({"name": name, "value": value});
                match list.iter_mut().find(|e| name_of(e) == Some(name.as_str())) {
                    Some(slot) => *slot = var,
                    None => list.push(var),
                }
            }
        }
        c
    }
}

fn host_network(spec: &Map<String, Value>) -> bool {
    spec.get("hostNetwork").and_then(Value::as_bool) == Some(true)
}

/// Removes what the injection recorded in the status annotation added, so injecting again
/// gives the same pod rather than a second proxy.
fn strip_previous(
    metadata: &mut Map<String, Value>,
    spec: &mut Map<String, Value>,
) -> Result<(), InjectError> {
    let annotations = string_map(metadata, "annotations");
    let Some(previous) = PreviousInjection::read(&annotations) else {
        return Ok(());
    };
    // The application's probes as they were before the last injection rewrote them.
    let rewritten = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| name_of(c) == Some(PROXY_CONTAINER))
        .and_then(|proxy| {
            let env = proxy.get("env")?.as_array()?;
            let probers = env
                .iter()
                .find(|e| name_of(e) == Some(APP_PROBERS_ENV))?
                .get("value")?
                .as_str()?;
            let probers = probe::parse_app_probers(probers).ok()?;
            let prefix = format!("{STATUS_PORT_FLAG}=");
            let port = proxy
                .get("args")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .find_map(|a| a.strip_prefix(prefix.as_str())?.parse().ok())?;
            Some((probers, port))
        });
    if let Some((probers, port)) = rewritten {
        probe::restore(spec, &probers, port);
    }
    for (key, path, names) in [
        ("containers", "spec.containers", &previous.containers),
        (
            "initContainers",
            "spec.initContainers",
            &previous.init_containers,
        ),
        ("volumes", "spec.volumes", &previous.volumes),
    ] {
        if spec.contains_key(key) {
            let items = list(spec, key, path)?;
            items.retain(|c| name_of(c).is_none_or(|n| !names.iter().any(|x| x == n)));
        }
    }
    let out = string_object(metadata, "annotations")?;
    out.remove(STATUS_ANNOTATION);
    // Prometheus annotations pointing at our proxy were ours.
    if out.get("prometheus.io/port").and_then(Value::as_str) == Some(PROMETHEUS_PORT) {
        for k in [
            "prometheus.io/port",
            "prometheus.io/path",
            "prometheus.io/scrape",
        ] {
            out.remove(k);
        }
    }
    let labels = string_object(metadata, "labels")?;
    // The revision label this injection set, so a re-injection by another revision relabels.
    if labels.get(REV_LABEL).and_then(Value::as_str) == Some(previous.revision.as_str()) {
        labels.remove(REV_LABEL);
    }
    Ok(())
}

/// Istio's `trunc 63 | trimSuffix "-"`: a label value is at most 63 characters.
fn truncate_label(s: &str) -> String {
    let cut: String = s.chars().take(63).collect();
    cut.strip_suffix('-').unwrap_or(&cut).to_string()
}

/// `flag=value` in place of any earlier `flag=…` or `flag …`.
fn set_flag(args: &mut Vec<Value>, flag: &str, value: &str) {
    let prefix = format!("{flag}=");
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            Some(a) if a == flag => {
                args.drain(i..(i + 2).min(args.len()));
            }
            Some(a) if a.starts_with(&prefix) => {
                args.remove(i);
            }
            _ => i += 1,
        }
    }
    args.push(format!("{flag}={value}").into());
}

/// Istio's per-pod resource annotations: when any is set they replace the rendered resources.
fn resources_from_annotations(c: &mut Map<String, Value>, annotations: &BTreeMap<String, String>) {
    let pick = |pairs: [(&str, &str); 2]| -> Map<String, Value> {
        pairs
            .iter()
            .filter_map(|(res, key)| {
                Some(((*res).to_string(), annotations.get(*key)?.clone().into()))
            })
            .collect()
    };
    let requests = pick([
        ("cpu", "sidecar.istio.io/proxyCPU"),
        ("memory", "sidecar.istio.io/proxyMemory"),
    ]);
    let limits = pick([
        ("cpu", "sidecar.istio.io/proxyCPULimit"),
        ("memory", "sidecar.istio.io/proxyMemoryLimit"),
    ]);
    if requests.is_empty() && limits.is_empty() {
        return;
    }
    let mut resources = Map::new();
    if !limits.is_empty() {
        resources.insert("limits".into(), Value::Object(limits));
    }
    if !requests.is_empty() {
        resources.insert("requests".into(), Value::Object(requests));
    }
    c.insert("resources".into(), Value::Object(resources));
}

/// The pod's `istio-proxy` over the injected one: its fields win, and its `env`, `ports` and
/// `volumeMounts` entries replace the injected ones of the same name.
fn overlay_container(mut base: Map<String, Value>, user: &Value) -> Map<String, Value> {
    let Some(user) = user.as_object() else {
        return base;
    };
    for (k, v) in user {
        let merged = match (k.as_str(), base.get_mut(k), v) {
            ("env" | "ports" | "volumeMounts", Some(Value::Array(b)), Value::Array(u)) => {
                for item in u {
                    let key = item.get("name").or_else(|| item.get("containerPort"));
                    match b.iter_mut().find(|x| {
                        key.is_some() && (x.get("name").or_else(|| x.get("containerPort")) == key)
                    }) {
                        Some(slot) => *slot = item.clone(),
                        None => b.push(item.clone()),
                    }
                }
                true
            }
            _ => false,
        };
        if !merged {
            base.insert(k.clone(), v.clone());
        }
    }
    base
}

#[cfg(test)]
pub(crate) mod tests;
