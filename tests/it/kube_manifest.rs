//! What `ferryctl manifest generate` renders, checked by a real kube-apiserver: every object of
//! every built-in profile passes a server-side dry-run apply, and the CRDs Ferry renders make the
//! API server refuse VirtualServices that `ferryctl analyze` flags as schema errors (IST0106).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ::kube::Client;
use ::kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use ::kube::discovery::pinned_kind;
use ferry::config::yaml::{Limits, parse_stream};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

use crate::ferryctl;
use crate::kube::{CRDS, client, kubeconfig};

/// The built-in profiles, as `ferryctl profile list` prints them.
fn profiles() -> Vec<String> {
    let out = ferryctl()
        .args(["profile", "list"])
        .output()
        .expect("ferryctl runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert!(names.iter().any(|n| n == "default"), "{text}");
    names
}

/// `ferryctl manifest generate --set profile=<profile>` as objects.
fn rendered(profile: &str) -> Vec<Value> {
    let out = ferryctl()
        .args([
            "manifest",
            "generate",
            "--set",
            &format!("profile={profile}"),
        ])
        .output()
        .expect("ferryctl runs");
    assert!(
        out.status.success(),
        "manifest generate --set profile={profile}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let stream = parse_stream(&text, Limits::default());
    assert!(stream.errors.is_empty(), "{profile}: {:?}", stream.errors);
    stream
        .documents
        .iter()
        .map(|d| d.root.to_json())
        .filter(|v| !v.is_null())
        .collect()
}

fn gvk(object: &Value) -> GroupVersionKind {
    let api_version = object["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, object["kind"].as_str().expect("kind"))
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().expect("name")
}

/// Applies the CRDs for real and waits until each is Established.
async fn establish(client: &Client, crds: &[Value]) {
    let _guard = CRDS.lock().await;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        api.patch(
            name(crd),
            &PatchParams::apply("ferryctl").force(),
            &Patch::Apply(crd),
        )
        .await
        .unwrap_or_else(|e| panic!("applying CRD {}: {e}", name(crd)));
    }
    let start = Instant::now();
    for crd in crds {
        loop {
            let current = api.get(name(crd)).await.expect("the CRD reads back");
            let established = current
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "CRD {} is not Established",
                name(crd)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Creates `namespace` when missing. Namespaces stay: deleting one needs the controller-manager,
/// which this cluster does not run, and a Terminating namespace would block later runs. The
/// cluster itself is the throwaway (`cluster.sh down` removes it).
async fn ensure_namespace(client: &Client, namespace: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    if api.get(namespace).await.is_ok() {
        return;
    }
    let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    api.patch(
        namespace,
        &PatchParams::apply("ferry-e2e"),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("creating namespace {namespace}: {e}"));
}

/// Server-side dry-run apply of one object, as `ferryctl install` would apply it; the error the
/// API server gives, if any.
async fn dry_run(client: &Client, object: &Value) -> Result<(), String> {
    let gvk = gvk(object);
    let (resource, capabilities) = pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("the API server does not serve {gvk:?}: {e}"))?;
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) if capabilities.scope == ::kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        Some(_) => return Err("a namespace on a cluster-scoped kind".into()),
        None if capabilities.scope == ::kube::discovery::Scope::Namespaced => {
            return Err("a namespaced kind without a namespace".into());
        }
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        name(object),
        &PatchParams::apply("ferryctl").force().dry_run(),
        &Patch::Apply(object),
    )
    .await
    .map(drop)
    .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_every_profile_is_accepted_by_the_api_server() {
    let client = client(&kubeconfig()).await;
    let mut by_profile = BTreeMap::new();
    for profile in profiles() {
        by_profile.insert(profile.clone(), rendered(&profile));
    }
    // CRDs first, for real: custom resources and the webhooks' rules need their kinds served.
    let mut crds = BTreeMap::new();
    for object in by_profile.values().flatten() {
        if object["kind"] == "CustomResourceDefinition" {
            crds.insert(name(object).to_string(), object.clone());
        }
    }
    assert!(!crds.is_empty(), "no CRDs rendered");
    let crds: Vec<Value> = crds.into_values().collect();
    establish(&client, &crds).await;
    // A dry run of a namespaced object in a missing namespace fails: create them for real.
    let namespaces: BTreeSet<&str> = by_profile
        .values()
        .flatten()
        .filter_map(|o| o["metadata"]["namespace"].as_str())
        .collect();
    for namespace in namespaces {
        ensure_namespace(&client, namespace).await;
    }

    let mut checked = 0;
    let mut refused = Vec::new();
    for (profile, objects) in &by_profile {
        for object in objects {
            checked += 1;
            if let Err(e) = dry_run(&client, object).await {
                refused.push(format!(
                    "{profile}: {} {}: {e}",
                    object["kind"].as_str().unwrap_or("?"),
                    name(object)
                ));
            }
        }
    }
    eprintln!(
        "{checked} objects of {} profiles dry-run applied",
        by_profile.len()
    );
    assert!(
        refused.is_empty(),
        "the API server refused:\n{}",
        refused.join("\n")
    );
}

/// VirtualServices with a field of the wrong type or out of range, each with the path of the
/// field. Negative weights and retry attempts were accepted by the API server until the CRDs
/// carried Istio's bounds.
fn invalid_virtual_services() -> Vec<(&'static str, Value)> {
    let vs = |name: &str, spec: Value| {
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        })
    };
    vec![
        (
            "spec.hosts",
            vs(
                "hosts-not-a-list",
                json!({"hosts": "reviews",
                       "http": [{"route": [{"destination": {"host": "reviews"}}]}]}),
            ),
        ),
        (
            "spec.http[0].route[0].weight",
            vs(
                "weight-not-a-number",
                json!({"hosts": ["reviews"],
                       "http": [{"route": [{"destination": {"host": "reviews"},
                                            "weight": "ninety"}]}]}),
            ),
        ),
        (
            "spec.http[0].route[0].destination.port.number",
            vs(
                "port-not-a-number",
                json!({"hosts": ["reviews"],
                       "http": [{"route": [{"destination": {"host": "reviews",
                                                            "port": {"number": "http"}}}]}]}),
            ),
        ),
        (
            "spec.tcp[0].route[1].weight",
            vs(
                "negative-weight",
                json!({"hosts": ["reviews"],
                       "tcp": [{"route": [{"destination": {"host": "reviews"}, "weight": 110},
                                          {"destination": {"host": "ratings"}, "weight": -10}]}]}),
            ),
        ),
        (
            "spec.http[0].retries.attempts",
            vs(
                "negative-attempts",
                json!({"hosts": ["reviews"],
                       "http": [{"retries": {"attempts": -1},
                                 "route": [{"destination": {"host": "reviews"}}]}]}),
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_crd_schemas_refuse_what_analyze_flags_as_schema_errors() {
    let client = client(&kubeconfig()).await;
    let crds: Vec<Value> = rendered("default")
        .into_iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect();
    establish(&client, &crds).await;
    let gvk = GroupVersionKind::gvk("networking.istio.io", "v1", "VirtualService");
    let (resource, _) = pinned_kind(&client, &gvk)
        .await
        .expect("VirtualService is served");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let dir = tempfile::tempdir().expect("tempdir");

    for (path, vs) in invalid_virtual_services() {
        let vs_name = name(&vs).to_string();
        let file = dir.path().join(format!("{vs_name}.yaml"));
        std::fs::write(&file, vs.to_string()).expect("write the VirtualService");
        let out = ferryctl()
            .args(["analyze", "--use-kube=false"])
            .arg(&file)
            .output()
            .expect("ferryctl runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(79), "{vs_name}: {stdout}");
        // analyze names the path, or for a value out of range the field.
        let field = path.rsplit('.').next().unwrap_or(path);
        assert!(
            stdout.contains("IST0106") && stdout.contains(field),
            "analyze flags {vs_name} at {path} with IST0106: {stdout}"
        );

        let object: DynamicObject = serde_json::from_value(vs).expect("a VirtualService");
        match api
            .create(
                &PostParams {
                    dry_run: true,
                    ..PostParams::default()
                },
                &object,
            )
            .await
        {
            Err(::kube::Error::Api(status)) if status.code == 422 => {
                assert!(
                    status.message.contains(path),
                    "{vs_name}: {}",
                    status.message
                );
            }
            other => panic!("the API server accepted {vs_name} ({path}): {other:?}"),
        }
    }
}
