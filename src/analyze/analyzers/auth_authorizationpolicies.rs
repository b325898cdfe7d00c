//! `auth.AuthorizationPoliciesAnalyzer`: an AuthorizationPolicy should select at least one
//! workload in the mesh, and the namespaces its rules name should exist.

use std::collections::BTreeMap;

use crate::analyze::catalog::{IST0101, IST0127};
use crate::analyze::context::{Analyzer, Context, Workload};
use crate::config::kind::Kind;
use crate::config::resource::Spec;
use crate::config::source::IGNORED_NAMESPACES;
use crate::config::types::selects;

pub const ANALYZER: Analyzer = Analyzer {
    name: "auth.AuthorizationPoliciesAnalyzer",
    description: "Checks the validity of authorization policies",
    inputs: &[Kind::AuthorizationPolicy, Kind::Namespace, Kind::Pod],
    reads: &[
        Kind::AuthorizationPolicy,
        Kind::Namespace,
        Kind::Pod,
        Kind::Deployment,
    ],
    run,
};

fn run(ctx: &mut Context<'_>) {
    // Labels of the in-mesh pods per namespace. Every pod creates its namespace's entry, so a
    // namespace whose pods are all outside the mesh has an empty list (and still "no workloads").
    let mut pod_labels: BTreeMap<&str, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for w in ctx.workloads {
        let list = pod_labels.entry(w.namespace).or_default();
        if pod_in_mesh(ctx, w) {
            list.push(w.labels);
        }
        if w.annotations
            .get("ambient.istio.io/redirection")
            .is_some_and(|v| v == "enabled")
        {
            list.push(w.labels);
        }
    }
    // Istio filters system namespaces at input, Namespace objects included.
    let namespaces: Vec<&str> = ctx
        .of(Kind::Namespace)
        .map(|r| r.name())
        .filter(|n| !IGNORED_NAMESPACES.contains(n))
        .collect();
    let root = ctx.mesh.root_namespace.as_str();

    for r in ctx.of(Kind::AuthorizationPolicy) {
        let Spec::AuthorizationPolicy(ap) = &r.spec else {
            continue;
        };
        let ap_ns = r.effective_namespace();

        // No matching workloads.
        if ap_ns == root {
            // A mesh-wide policy may select pods in any namespace; without a selector it is fine.
            if let Some(sel) = &ap.selector
                && !pod_labels
                    .values()
                    .flatten()
                    .any(|l| selects(&sel.match_labels, l))
            {
                ctx.report(
                    &IST0127,
                    r,
                    None,
                    &[selector_string(&sel.match_labels).into()],
                );
            }
        } else {
            let pods = pod_labels.get(ap_ns).map(Vec::as_slice).unwrap_or_default();
            match &ap.selector {
                None if pods.is_empty() => ctx.report(&IST0127, r, None, &["".into()]),
                Some(sel) if !pods.iter().any(|l| selects(&sel.match_labels, l)) => ctx.report(
                    &IST0127,
                    r,
                    None,
                    &[selector_string(&sel.match_labels).into()],
                ),
                _ => {}
            }
        }

        // Namespaces the rules name must exist.
        for (i, rule) in ap.rules.iter().enumerate() {
            for (j, from) in rule.from.iter().enumerate() {
                let Some(source) = &from.source else {
                    continue;
                };
                let listed = source.namespaces.len();
                for (k, exp) in source
                    .namespaces
                    .iter()
                    .chain(&source.not_namespaces)
                    .enumerate()
                {
                    if namespaces.iter().any(|ns| namespace_match(ns, exp)) {
                        continue;
                    }
                    // Istio indexes notNamespaces from zero but still under `namespaces`; the
                    // path is kept as Istio builds it so lines agree.
                    let index = if k >= listed { k - listed } else { k };
                    let path = format!("{{.spec.rules[{i}].from[{j}].source.namespaces[{index}]}}");
                    ctx.report(
                        &IST0101,
                        r,
                        Some(&path),
                        &["namespace".into(), exp.as_str().into()],
                    );
                }
            }
        }
    }
}

/// `util.PodInMesh`: a sidecar with an image, else the inject label, the inject annotation, or
/// the namespace's `istio-injection=enabled` label decides.
fn pod_in_mesh(ctx: &Context<'_>, w: &Workload<'_>) -> bool {
    let proxy = w
        .spec
        .containers
        .iter()
        .chain(&w.spec.init_containers)
        .find(|c| c.name == "istio-proxy");
    if proxy.is_some_and(|c| c.image.as_deref().is_some_and(|i| !i.is_empty())) {
        return true;
    }
    if let Some(v) = w.labels.get("sidecar.istio.io/inject") {
        return v == "true";
    }
    if let Some(v) = w.annotations.get("sidecar.istio.io/inject") {
        return v == "true";
    }
    ctx.store
        .get(Kind::Namespace, "", w.namespace)
        .filter(|ns| !IGNORED_NAMESPACES.contains(&ns.name()))
        .is_some_and(|ns| {
            ns.labels()
                .get("istio-injection")
                .is_some_and(|v| v == "enabled")
        })
}

/// Istio's namespace pattern: `*`, a `*suffix`, a `prefix*`, or a case-insensitive exact name.
fn namespace_match(ns: &str, exp: &str) -> bool {
    if exp == "*" {
        return true;
    }
    if let Some(suffix) = exp.strip_prefix('*') {
        return ns.ends_with(suffix);
    }
    if let Some(prefix) = exp.strip_suffix('*') {
        return ns.starts_with(prefix);
    }
    ns.eq_ignore_ascii_case(exp)
}

/// `labels.SelectorFromSet(m).String()`: `k=v` pairs sorted by key, joined by commas.
fn selector_string(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const FIXTURE: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: httpbin
  labels: {istio-injection: enabled}
---
apiVersion: v1
kind: Namespace
metadata:
  name: prod-httpbin
---
apiVersion: v1
kind: Pod
metadata:
  name: httpbin-1
  namespace: httpbin
  labels: {app: httpbin, version: v1}
spec:
  containers:
  - name: httpbin
    image: httpbin
---
apiVersion: v1
kind: Pod
metadata:
  name: sleep-1
  namespace: ambient
  labels: {app: sleep}
  annotations: {ambient.istio.io/redirection: enabled}
spec:
  containers:
  - name: sleep
    image: sleep
---
apiVersion: v1
kind: Pod
metadata:
  name: outside
  namespace: plain
  labels: {app: outside}
spec:
  containers:
  - name: outside
    image: outside
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ok, namespace: httpbin}
spec:
  selector:
    matchLabels: {app: httpbin, version: v1}
  rules:
  - from:
    - source:
        namespaces: [httpbin, "prod-*", "*-httpbin", "*"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: meshwide, namespace: istio-system}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: meshwide-bogus, namespace: istio-system}
spec:
  selector:
    matchLabels: {version: bogus}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: nopods, namespace: httpbin}
spec:
  selector:
    matchLabels: {version: v1, app: bogus}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: empty-ns, namespace: nowhere}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: not-in-mesh, namespace: plain}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ambient-ok, namespace: ambient}
spec:
  selector:
    matchLabels: {app: sleep}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bogus-ns, namespace: httpbin}
spec:
  rules:
  - from:
    - source:
        namespaces: ["*-bogus", httpbin]
        notNamespaces: [HTTPBIN, "bogus-*"]
"#;

    #[test]
    fn policies_without_workloads_and_unknown_namespaces() {
        assert_eq!(
            run(&ANALYZER, FIXTURE),
            vec![
                pair("IST0101", "AuthorizationPolicy httpbin/bogus-ns"),
                pair("IST0101", "AuthorizationPolicy httpbin/bogus-ns"),
                pair("IST0127", "AuthorizationPolicy httpbin/nopods"),
                pair("IST0127", "AuthorizationPolicy istio-system/meshwide-bogus"),
                pair("IST0127", "AuthorizationPolicy nowhere/empty-ns"),
                pair("IST0127", "AuthorizationPolicy plain/not-in-mesh"),
            ]
        );
    }

    #[test]
    fn lines_follow_istios_namespace_paths() {
        let out = lines(&ANALYZER, FIXTURE);
        assert!(out.contains(
            &"Error [IST0101] (AuthorizationPolicy httpbin/bogus-ns test.yaml:100) Referenced namespace not found: \"*-bogus\"".to_string()
        ), "{out:#?}");
        // notNamespaces[1] is reported at namespaces[1] (line 100), as Istio does.
        assert!(out.contains(
            &"Error [IST0101] (AuthorizationPolicy httpbin/bogus-ns test.yaml:100) Referenced namespace not found: \"bogus-*\"".to_string()
        ), "{out:#?}");
        assert!(out.contains(
            &"Warning [IST0127] (AuthorizationPolicy httpbin/nopods test.yaml:69) No matching workloads for this resource with the following labels: app=bogus,version=v1".to_string()
        ), "{out:#?}");
    }

    #[test]
    fn matching_policies_pass() {
        let yaml = r#"apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: web, labels: {app: web}}
spec:
  containers:
  - {name: web, image: web}
  - {name: istio-proxy, image: proxyv2}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web, namespace: web}
spec:
  selector:
    matchLabels: {app: web}
  rules:
  - from:
    - source: {namespaces: [web]}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
