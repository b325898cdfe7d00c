use serde_json::{Value, json};

use super::*;
use crate::inject::config::{InjectorConfig, MeshSettings, Values};
use crate::install::iop::IstioOperator;
use crate::install::render::render;

/// The injector `manifest generate` renders for the default profile with `revision`: its
/// ConfigMap's `config` and `values`, parsed as the webhook and `kube-inject` parse them.
pub(crate) fn rendered_injector(revision: Option<&str>) -> Injector {
    let stream = crate::config::yaml::parse_stream(
        include_str!("../../../profiles/default.yaml"),
        Default::default(),
    );
    let mut iop = stream.documents[0].root.to_json();
    if let Some(r) = revision {
        iop["spec"]["revision"] = json!(r);
    }
    let iop: IstioOperator = serde_json::from_value(iop).expect("profile decodes");
    let objects = render(&iop).expect("renders");
    let cm = objects
        .iter()
        .find(|r| {
            let (kind, _, name) = r.identity();
            kind == "ConfigMap" && name.starts_with("istio-sidecar-injector")
        })
        .expect("an injector ConfigMap");
    let data = &cm.object["data"];
    Injector {
        config: InjectorConfig::parse(data["config"].as_str().expect("config")).expect("parses"),
        values: Values::parse(data["values"].as_str().expect("values")).expect("parses"),
        mesh: MeshSettings::default(),
    }
}

fn mesh(text: &str) -> MeshSettings {
    MeshSettings::parse(text).expect("mesh config")
}

fn pod(extra_meta: Value) -> Value {
    let mut p = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "reviews-v1", "namespace": "shop",
                     "labels": {"app": "reviews", "version": "v1"}},
        "spec": {"containers": [{"name": "reviews", "image": "reviews:1",
                                 "ports": [{"containerPort": 9080, "protocol": "TCP"}]}]},
    });
    if let (Some(m), Value::Object(extra)) = (p["metadata"].as_object_mut(), extra_meta) {
        for (k, v) in extra {
            m.insert(k, v);
        }
    }
    p
}

fn injected(injector: &Injector, mut p: Value) -> Value {
    let workload = Workload::of_pod(&p, "shop");
    let Value::Object(obj) = &mut p else {
        panic!("pod is an object")
    };
    let mut meta = obj
        .remove("metadata")
        .and_then(|m| m.as_object().cloned())
        .expect("meta");
    let mut spec = obj
        .remove("spec")
        .and_then(|m| m.as_object().cloned())
        .expect("spec");
    injector
        .inject(
            PodParts {
                metadata: &mut meta,
                spec: &mut spec,
            },
            &workload,
        )
        .expect("injects");
    obj.insert("metadata".into(), Value::Object(meta));
    obj.insert("spec".into(), Value::Object(spec));
    p
}

fn proxy(p: &Value) -> &Value {
    p["spec"]["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == PROXY_CONTAINER))
        .expect("an istio-proxy container")
}

fn env<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?
        .get("value")?
        .as_str()
}

fn args(c: &Value) -> Vec<&str> {
    c["args"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn the_rendered_proxy_is_added_with_istios_labels_and_status() {
    let out = injected(&rendered_injector(None), pod(json!({})));
    let containers = out["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 2);
    assert_eq!(
        containers[0]["name"], "reviews",
        "the application stays first"
    );
    let p = proxy(&out);
    assert!(
        p["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("ghcr.io/ferrymesh/ferry:"))
    );
    let a = args(p);
    assert_eq!(
        a[..4],
        [
            "proxy",
            "sidecar",
            "--discovery-address",
            "istiod.istio-system.svc:15010"
        ]
    );
    assert!(a.contains(&"--labels=app=reviews,istio.io/rev=default,security.istio.io/tlsMode=istio,service.istio.io/canonical-name=reviews,service.istio.io/canonical-revision=v1,version=v1"), "{a:?}");
    let ports: Vec<&Value> = p["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| &p["containerPort"])
        .collect();
    assert_eq!(ports, [&json!(15090), &json!(15021)]);
    assert!(
        p["env"]
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e["name"] == "POD_NAME")
    );
    assert_eq!(env(p, "ISTIO_META_WORKLOAD_NAME"), Some("reviews-v1"));
    assert_eq!(
        env(p, "ISTIO_META_OWNER"),
        Some("kubernetes://apis/v1/namespaces/shop/pods/reviews-v1")
    );
    assert_eq!(env(p, "ISTIO_META_APP_CONTAINERS"), Some("reviews"));
    assert_eq!(
        env(p, "ISTIO_META_POD_PORTS"),
        Some(r#"[{"containerPort":9080,"protocol":"TCP"}]"#)
    );
    assert_eq!(env(p, "ISTIO_META_INTERCEPTION_MODE"), Some("NONE"));
    assert_eq!(env(p, "ISTIO_META_CLUSTER_ID"), Some("Kubernetes"));

    let labels = &out["metadata"]["labels"];
    assert_eq!(labels["security.istio.io/tlsMode"], "istio");
    assert_eq!(labels["service.istio.io/canonical-name"], "reviews");
    assert_eq!(labels["service.istio.io/canonical-revision"], "v1");
    assert_eq!(labels["istio.io/rev"], "default");
    let annotations = &out["metadata"]["annotations"];
    assert_eq!(
        annotations[STATUS_ANNOTATION],
        r#"{"initContainers":null,"containers":["istio-proxy"],"volumes":["istio-token"],"imagePullSecrets":null,"revision":"default"}"#
    );
    assert_eq!(
        annotations["kubectl.kubernetes.io/default-container"],
        "reviews"
    );
    assert_eq!(annotations["prometheus.io/port"], "15090");
    assert!(
        out["spec"].get("initContainers").is_none(),
        "Ferry's proxy needs no iptables init"
    );
}

#[test]
fn injecting_twice_is_injecting_once() {
    let injector = rendered_injector(Some("canary"));
    let once = injected(&injector, pod(json!({})));
    let twice = injected(&injector, once.clone());
    assert_eq!(once, twice);
    assert_eq!(once["metadata"]["labels"]["istio.io/rev"], "canary");

    // Another revision re-injects in place of the first, and relabels.
    let other = injected(&rendered_injector(None), once);
    assert_eq!(
        other["spec"]["containers"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(other["metadata"]["labels"]["istio.io/rev"], "default");
}

#[test]
fn a_revision_tag_label_is_kept_and_the_revision_recorded() {
    let out = injected(
        &rendered_injector(Some("canary")),
        pod(json!({"labels": {"app": "reviews", "istio.io/rev": "prod"}})),
    );
    assert_eq!(out["metadata"]["labels"]["istio.io/rev"], "prod");
    assert_eq!(out["metadata"]["annotations"]["istio.io/rev"], "canary");
    let status: Value = serde_json::from_str(
        out["metadata"]["annotations"][STATUS_ANNOTATION]
            .as_str()
            .expect("status"),
    )
    .expect("json");
    assert_eq!(status["revision"], "canary");
}

#[test]
fn canonical_labels_follow_istios_precedence() {
    let injector = rendered_injector(None);
    let out = injected(
        &injector,
        pod(json!({"labels": {"app": "a", "app.kubernetes.io/name": "b",
                              "app.kubernetes.io/version": "2"}})),
    );
    assert_eq!(
        out["metadata"]["labels"]["service.istio.io/canonical-name"],
        "b"
    );
    assert_eq!(
        out["metadata"]["labels"]["service.istio.io/canonical-revision"],
        "2"
    );
    let long = format!("{}-tail", "x".repeat(62));
    let out = injected(
        &injector,
        pod(json!({"labels": {"tier": "web"}, "name": long})),
    );
    assert_eq!(
        out["metadata"]["labels"]["service.istio.io/canonical-name"],
        "x".repeat(62),
        "truncated to 63 and the trailing dash trimmed"
    );
    assert_eq!(
        out["metadata"]["labels"]["service.istio.io/canonical-revision"],
        "latest"
    );
}

#[test]
fn pod_annotations_override_the_rendered_proxy() {
    let out = injected(
        &rendered_injector(None),
        pod(json!({"annotations": {
            "sidecar.istio.io/proxyImage": "example.com/ferry:dev",
            "sidecar.istio.io/logLevel": "debug",
            "sidecar.istio.io/proxyCPU": "50m",
            "sidecar.istio.io/interceptionMode": "REDIRECT",
            "prometheus.io/port": "8080",
        }})),
    );
    let p = proxy(&out);
    assert_eq!(p["image"], "example.com/ferry:dev");
    assert!(args(p).contains(&"--proxyLogLevel=debug"));
    assert!(args(p).contains(&"--interception-mode=REDIRECT"));
    assert_eq!(p["resources"], json!({"requests": {"cpu": "50m"}}));
    assert_eq!(env(p, "ISTIO_META_INTERCEPTION_MODE"), Some("REDIRECT"));
    // The application's own scrape target is kept.
    assert_eq!(out["metadata"]["annotations"]["prometheus.io/port"], "8080");
    assert!(
        out["metadata"]["annotations"]
            .get("prometheus.io/scrape")
            .is_none()
    );
}

fn injection_error(injector: &Injector, p: Value) -> InjectError {
    let workload = Workload::of_pod(&p, "shop");
    let mut meta = p["metadata"].as_object().cloned().expect("meta");
    let mut spec = p["spec"].as_object().cloned().expect("spec");
    injector
        .inject(
            PodParts {
                metadata: &mut meta,
                spec: &mut spec,
            },
            &workload,
        )
        .expect_err("refused")
}

#[test]
fn a_bad_interception_mode_is_an_error() {
    let injector = rendered_injector(None);
    let err = injection_error(
        &injector,
        pod(json!({"annotations": {"sidecar.istio.io/interceptionMode": "MAGIC"}})),
    );
    assert_eq!(
        err.to_string(),
        "invalid value 'MAGIC' for annotation 'sidecar.istio.io/interceptionMode': \
         interceptionMode invalid, use REDIRECT,TPROXY,NONE: MAGIC"
    );
    let err = injection_error(
        &injector,
        pod(json!({"annotations": {"proxy.istio.io/config": "interceptionMode: MAGIC"}})),
    );
    assert_eq!(
        err.to_string(),
        "ProxyConfig interceptionMode: interception mode \"MAGIC\" is not one of NONE, \
         REDIRECT, TPROXY"
    );
}

/// Istio's webhook refuses a pod whose annotations it cannot honour (`validateAnnotations`),
/// each problem in its words.
#[test]
fn invalid_annotations_refuse_the_pod_in_istios_words() {
    let err = injection_error(
        &rendered_injector(None),
        pod(json!({"annotations": {
            "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.0.0.0",
            "traffic.sidecar.istio.io/excludeInboundPorts": "80,x",
            "proxy.istio.io/config": "- a",
        }})),
    );
    assert_eq!(
        err.to_string(),
        "invalid value '- a' for annotation 'proxy.istio.io/config': failed to convert to apply \
         proxy config: the value is not a YAML mapping\n\
         invalid value '80,x' for annotation 'traffic.sidecar.istio.io/excludeInboundPorts': \
         excludeInboundPorts invalid: failed parsing port 'x': failed parsing port 'x': \
         strconv.ParseUint: parsing \"x\": invalid syntax\n\
         invalid value '10.0.0.0' for annotation \
         'traffic.sidecar.istio.io/excludeOutboundIPRanges': excludeIPRanges invalid: failed \
         parsing cidr '10.0.0.0': netip.ParsePrefix(\"10.0.0.0\"): no '/'"
    );
}

/// `sidecar.istio.io/proxyCPU|proxyMemory|proxyCPULimit|proxyMemoryLimit`: Istio's template
/// replaces the proxy's resources when any is set, with requests and limits from them alone.
#[test]
fn resource_annotations_replace_the_proxys_resources() {
    let injector = rendered_injector(None);
    let rendered = proxy(&injected(&injector, pod(json!({}))))["resources"].clone();
    assert_eq!(
        rendered,
        json!({"limits": {"cpu": "2000m", "memory": "1024Mi"},
               "requests": {"cpu": "100m", "memory": "128Mi"}})
    );
    let all = injected(
        &injector,
        pod(json!({"annotations": {
            "sidecar.istio.io/proxyCPU": "200m",
            "sidecar.istio.io/proxyMemory": "256Mi",
            "sidecar.istio.io/proxyCPULimit": "1",
            "sidecar.istio.io/proxyMemoryLimit": "512Mi",
        }})),
    );
    assert_eq!(
        proxy(&all)["resources"],
        json!({"limits": {"cpu": "1", "memory": "512Mi"},
               "requests": {"cpu": "200m", "memory": "256Mi"}})
    );
    // Only limits: no requests at all (the rendered ones go too).
    let limits = injected(
        &injector,
        pod(json!({"annotations": {"sidecar.istio.io/proxyMemoryLimit": "64Mi"}})),
    );
    assert_eq!(
        proxy(&limits)["resources"],
        json!({"limits": {"memory": "64Mi"}})
    );
}

/// The application's probes go through the proxy's status port; the proxy gets the originals
/// and serves them there.
#[test]
fn probes_are_rewritten_to_the_status_port_and_restored_on_reinjection() {
    let injector = rendered_injector(None);
    let mut p = pod(json!({}));
    p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 9080, "name": "http"}]);
    p["spec"]["containers"][0]["readinessProbe"] =
        json!({"httpGet": {"path": "/ready", "port": "http"}, "timeoutSeconds": 2});
    p["spec"]["containers"][0]["livenessProbe"] = json!({"tcpSocket": {"port": 9080}});
    let original = p.clone();
    let out = injected(&injector, p);
    let app = &out["spec"]["containers"][0];
    assert_eq!(
        app["readinessProbe"],
        json!({"httpGet": {"path": "/app-health/reviews/readyz", "port": 15020},
               "timeoutSeconds": 2})
    );
    assert_eq!(
        app["livenessProbe"],
        json!({"httpGet": {"path": "/app-health/reviews/livez", "port": 15020}})
    );
    let p = proxy(&out);
    assert_eq!(
        env(p, "ISTIO_KUBE_APP_PROBERS"),
        Some(
            r#"{"/app-health/reviews/livez":{"tcpSocket":{"port":9080}},"/app-health/reviews/readyz":{"httpGet":{"path":"/ready","port":9080},"timeoutSeconds":2}}"#
        )
    );
    assert_eq!(
        p["env"]
            .as_array()
            .and_then(|e| e.last())
            .map(|e| &e["name"]),
        Some(&json!("ISTIO_KUBE_APP_PROBERS")),
        "appended last, as Istio does"
    );
    assert!(args(p).contains(&"--status-port=15020"));

    // Injected again: the same pod, not probes rewritten twice (and lost).
    assert_eq!(injected(&injector, out.clone()), out);
    // Re-injected with the rewrite off: the application's own probes come back.
    let mut off = out.clone();
    off["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] = json!("false");
    let off = injected(&injector, off);
    assert_eq!(
        off["spec"]["containers"][0]["livenessProbe"],
        original["spec"]["containers"][0]["livenessProbe"]
    );
    assert_eq!(env(proxy(&off), "ISTIO_KUBE_APP_PROBERS"), None);
    assert!(
        !args(proxy(&off))
            .iter()
            .any(|a| a.starts_with("--status-port"))
    );
}

#[test]
fn the_rewrite_follows_the_annotation_the_config_and_the_status_port() {
    let mut p = pod(json!({"annotations": {"status.sidecar.istio.io/port": "15999"}}));
    p["spec"]["containers"][0]["readinessProbe"] = json!({"grpc": {"port": 9080}});
    let out = injected(&rendered_injector(None), p.clone());
    assert_eq!(
        out["spec"]["containers"][0]["readinessProbe"],
        json!({"httpGet": {"path": "/app-health/reviews/readyz", "port": 15999}})
    );
    assert!(args(proxy(&out)).contains(&"--status-port=15999"));

    // The install's setting off: untouched, unless the pod asks.
    let mut injector = rendered_injector(None);
    injector.config.sidecar.rewrite_app_http_probe = Some(false);
    let out = injected(&injector, p.clone());
    assert_eq!(
        out["spec"]["containers"][0]["readinessProbe"],
        p["spec"]["containers"][0]["readinessProbe"]
    );
    p["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] = json!("true");
    let out = injected(&injector, p);
    assert_eq!(
        env(proxy(&out), "ISTIO_KUBE_APP_PROBERS"),
        Some(r#"{"/app-health/reviews/readyz":{"grpc":{"port":9080,"service":null}}}"#)
    );
}

/// `proxy.istio.io/config` over the mesh's `defaultConfig`: Istio's `PROXY_CONFIG`, and what
/// Ferry's proxy takes as flags and environment.
#[test]
fn the_pods_proxy_config_is_merged_into_the_proxy() {
    let mut injector = rendered_injector(None);
    injector.mesh = mesh(
        "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  \
         proxyMetadata:\n    A: mesh\n    B: mesh\n",
    );
    let plain = injected(&injector, pod(json!({})));
    assert_eq!(
        env(proxy(&plain), "PROXY_CONFIG"),
        Some(
            "{\"discoveryAddress\":\"istiod.istio-system.svc:15012\",\"proxyMetadata\":{\"A\":\"mesh\",\"B\":\"mesh\"}}\n"
        )
    );
    let out = injected(
        &injector,
        pod(json!({"annotations": {"proxy.istio.io/config":
            "concurrency: 4\nterminationDrainDuration: 12.5s\nproxyMetadata:\n  B: pod\n\
             holdApplicationUntilProxyStarts: true\n"}})),
    );
    let p = proxy(&out);
    assert_eq!(
        env(p, "PROXY_CONFIG"),
        Some(
            "{\"discoveryAddress\":\"istiod.istio-system.svc:15012\",\"concurrency\":4,\"proxyMetadata\":{\"A\":\"mesh\",\"B\":\"pod\"},\"terminationDrainDuration\":\"12.5s\",\"holdApplicationUntilProxyStarts\":true}\n"
        )
    );
    assert_eq!(env(p, "A"), Some("mesh"));
    assert_eq!(env(p, "B"), Some("pod"));
    let a = args(p);
    assert!(a.contains(&"--concurrency=4"), "{a:?}");
    assert!(a.contains(&"--drain-time-s=13"), "{a:?}");
    // Istio writes PROXY_CONFIG before the pod's metadata variables.
    let names: Vec<&str> = p["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    let at = |n: &str| names.iter().position(|x| *x == n).expect(n);
    assert!(at("PROXY_CONFIG") < at("ISTIO_META_POD_PORTS"));
}

/// `traffic.sidecar.istio.io/*` into the install's `istio-init`, which is added only when the
/// pod's traffic is captured.
#[test]
fn capture_annotations_become_istio_inits_arguments() {
    let mut injector = rendered_injector(None);
    injector.config.sidecar.init_containers = vec![
        json!({"name": "istio-init", "image": "docker.io/istio/proxyv2:1.24.0",
               "args": ["istio-iptables"]})
        .as_object()
        .cloned()
        .expect("object"),
    ];
    let none = injected(&injector, pod(json!({})));
    assert!(
        none["spec"].get("initContainers").is_none(),
        "NONE: no iptables"
    );
    let status = &none["metadata"]["annotations"][STATUS_ANNOTATION];
    assert!(
        status
            .as_str()
            .is_some_and(|s| s.contains(r#""initContainers":null"#))
    );

    let out = injected(
        &injector,
        pod(json!({"annotations": {
            "sidecar.istio.io/interceptionMode": "REDIRECT",
            "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.0.0.0/8",
            "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.96.0.10/32",
            "traffic.sidecar.istio.io/excludeInboundPorts": "9901",
            "sidecar.istio.io/proxyCPU": "50m",
        }})),
    );
    let init = &out["spec"]["initContainers"][0];
    assert_eq!(init["name"], "istio-init");
    assert_eq!(
        args(init),
        [
            "istio-iptables",
            "-p",
            "15001",
            "-z",
            "15006",
            "-u",
            "1337",
            "-m",
            "REDIRECT",
            "-i",
            "10.0.0.0/8",
            "-x",
            "10.96.0.10/32",
            "-b",
            "*",
            "-d",
            "15090,15021,9901,15020",
            "--log_output_level=default:info",
        ]
    );
    assert_eq!(init["resources"], json!({"requests": {"cpu": "50m"}}));
    assert!(args(proxy(&out)).contains(&"--interception-mode=REDIRECT"));
    let status = out["metadata"]["annotations"][STATUS_ANNOTATION]
        .as_str()
        .expect("status");
    assert!(
        status.contains(r#""initContainers":["istio-init"]"#),
        "{status}"
    );
    assert_eq!(injected(&injector, out.clone()), out);
}

#[test]
fn the_pods_own_istio_proxy_customises_the_injected_one() {
    let mut p = pod(json!({}));
    p["spec"]["containers"]
        .as_array_mut()
        .expect("containers")
        .insert(0, json!({"name": "istio-proxy", "image": "custom", "env": [{"name": "ISTIO_META_CLUSTER_ID", "value": "east"}]}));
    let out = injected(&rendered_injector(None), p);
    let containers = out["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[1]["name"], "istio-proxy");
    assert_eq!(containers[1]["image"], "custom");
    assert_eq!(env(&containers[1], "ISTIO_META_CLUSTER_ID"), Some("east"));
    assert!(
        env(&containers[1], "POD_NAME").is_none(),
        "POD_NAME comes from the field ref"
    );
    assert!(
        containers[1]["env"]
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e["name"] == "POD_NAME")
    );
    assert_eq!(
        env(&containers[1], "ISTIO_META_APP_CONTAINERS"),
        Some("reviews")
    );
}

#[test]
fn the_installs_init_containers_and_volumes_are_added_and_recorded() {
    let mut injector = rendered_injector(None);
    injector.config.sidecar.init_containers = vec![
        json!({"name": "ferry-init", "image": "init"})
            .as_object()
            .cloned()
            .expect("object"),
    ];
    injector.config.sidecar.volumes = vec![
        json!({"name": "istio-data", "emptyDir": {}})
            .as_object()
            .cloned()
            .expect("object"),
    ];
    injector.mesh =
        mesh("defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: \"true\"\n");
    let mut p = pod(json!({}));
    p["spec"]["initContainers"] = json!([{"name": "migrate", "image": "db"}]);
    let out = injected(&injector, p);
    let init: Vec<&Value> = out["spec"]["initContainers"]
        .as_array()
        .expect("init")
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(
        init,
        [&json!("migrate"), &json!("ferry-init")],
        "the install's init container runs last"
    );
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "istio-data", "emptyDir": {}}])
    );
    assert_eq!(env(proxy(&out), "ISTIO_META_DNS_CAPTURE"), Some("true"));
    let status: Value = serde_json::from_str(
        out["metadata"]["annotations"][STATUS_ANNOTATION]
            .as_str()
            .expect("status"),
    )
    .expect("json");
    assert_eq!(status["initContainers"], json!(["ferry-init"]));
    assert_eq!(status["volumes"], json!(["istio-data"]));
    assert_eq!(injected(&injector, out.clone()), out);
}

#[test]
fn the_webhook_policy_reads_the_pods_metadata() {
    let injector = rendered_injector(None);
    let check = |p: Value| {
        let mut meta = p["metadata"].as_object().cloned().expect("meta");
        let mut spec = p["spec"].as_object().cloned().expect("spec");
        injector.webhook_injects(
            &PodParts {
                metadata: &mut meta,
                spec: &mut spec,
            },
            "shop",
        )
    };
    assert!(check(pod(json!({}))));
    assert!(!check(pod(
        json!({"annotations": {"sidecar.istio.io/inject": "false"}})
    )));
    let mut host = pod(json!({}));
    host["spec"]["hostNetwork"] = json!(true);
    assert!(!check(host));
}

/// `values.global.proxy`'s capture defaults reach the injector through its `values`, as Istio's
/// do: `--set` at install time, the annotation per pod.
#[test]
fn install_values_are_the_capture_defaults() {
    use crate::install::resolve::{ResolveInput, resolve};
    let resolved = resolve(&ResolveInput {
        files: Vec::new(),
        sets: vec![
            "values.global.proxy.excludeIPRanges=169.254.169.254/32".into(),
            "values.global.proxy.excludeInboundPorts=9901".into(),
        ],
        revision: None,
        force: false,
    })
    .expect("resolves");
    let objects = render(&resolved.iop).expect("renders");
    let cm = objects
        .iter()
        .find(|r| r.identity().0 == "ConfigMap" && r.identity().2 == "istio-sidecar-injector")
        .expect("the injector ConfigMap");
    let values =
        Values::parse(cm.object["data"]["values"].as_str().expect("values")).expect("parses");
    assert_eq!(values.capture.exclude_ip_ranges, "169.254.169.254/32");
    assert_eq!(values.capture.exclude_inbound_ports, "9901");
    assert_eq!(values.capture.include_ip_ranges, "*");

    let mut injector = rendered_injector(None);
    injector.values = values;
    injector.config.sidecar.init_containers = vec![
        json!({"name": "istio-init", "image": "init"})
            .as_object()
            .cloned()
            .expect("object"),
    ];
    let out = injected(
        &injector,
        pod(
            json!({"annotations": {"sidecar.istio.io/interceptionMode": "TPROXY",
                                   "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.0.0.0/8"}}),
        ),
    );
    let a = args(&out["spec"]["initContainers"][0]);
    assert_eq!(
        a[8..17],
        [
            "TPROXY",
            "-i",
            "10.0.0.0/8",
            "-x",
            "169.254.169.254/32",
            "-b",
            "*",
            "-d",
            "15090,15021,9901,15020",
        ]
    );
}
