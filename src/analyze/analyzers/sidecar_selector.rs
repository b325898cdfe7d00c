//! `sidecar.SelectorAnalyzer`: a Sidecar's workload selector must select a pod in its
//! namespace; no pod may be selected by two Sidecars; a namespace may have only one Sidecar
//! without a selector; and Sidecars have no effect on ambient workloads or namespaces.

use std::collections::{BTreeMap, HashSet};

use crate::analyze::catalog::{IST0101, IST0110, IST0111, IST0167};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::config::types::selects;

pub const ANALYZER: Analyzer = Analyzer {
    name: "sidecar.SelectorAnalyzer",
    description: "Validates that sidecars that define a workload selector match at least one pod, and that there aren't multiple sidecar resources that select overlapping pods",
    inputs: &[Kind::Sidecar, Kind::Pod],
    reads: &[Kind::Sidecar, Kind::Namespace, Kind::Pod, Kind::Deployment],
    run,
};

const AMBIENT_POD: &str = "selected workload is in ambient mode, the policy has no impact";
const AMBIENT_NAMESPACE: &str = "namespace is in ambient mode, the policy has no impact";

fn run(ctx: &mut Context<'_>) {
    // Selector-less Sidecars per namespace, and the Sidecars selecting each pod (by index into
    // the workloads, in input order).
    let mut by_namespace: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    let mut by_pod: BTreeMap<usize, Vec<&Resource>> = BTreeMap::new();
    for r in ctx.of(Kind::Sidecar) {
        let Spec::Sidecar(sc) = &r.spec else {
            continue;
        };
        let ns = r.effective_namespace();
        let labels = match &sc.workload_selector {
            Some(ws) if !ws.labels.is_empty() => &ws.labels,
            _ => {
                by_namespace.entry(ns).or_default().push(r);
                continue;
            }
        };
        let mut matched = false;
        for (i, pod) in ctx.workloads_in(ns) {
            if selects(labels, pod.labels) {
                by_pod.entry(i).or_default().push(r);
                matched = true;
            }
        }
        if !matched {
            let sel = labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            let first = labels.keys().next().map_or("", String::as_str);
            ctx.report(
                &IST0101,
                r,
                Some(&format!("{{.spec.workloadSelector.labels.{first}}}")),
                &["selector".into(), sel.into()],
            );
        }
    }

    let mut reported: HashSet<*const Resource> = HashSet::new();
    for (i, sidecars) in &by_pod {
        let Some(pod) = ctx.workloads.get(*i) else {
            continue;
        };
        let ambient = pod
            .annotations
            .get("ambient.istio.io/redirection")
            .is_some_and(|v| v == "enabled");
        if sidecars.len() == 1 && !ambient {
            continue;
        }
        let names: Vec<String> = sidecars.iter().map(|r| r.name().to_string()).collect();
        let (pod_ns, pod_name) = (pod.namespace.to_string(), pod.resource.name().to_string());
        for r in sidecars {
            reported.insert(*r as *const Resource);
            if ambient {
                ctx.report(&IST0167, r, None, &[AMBIENT_POD.into()]);
            } else {
                ctx.report(
                    &IST0110,
                    r,
                    Some("{.metadata.name}"),
                    &[
                        names.clone().into(),
                        pod_ns.clone().into(),
                        pod_name.clone().into(),
                    ],
                );
            }
        }
    }

    for (ns, sidecars) in &by_namespace {
        if namespace_in_ambient_mode(ctx, ns) {
            for r in sidecars {
                if !reported.contains(&(*r as *const Resource)) {
                    ctx.report(&IST0167, r, None, &[AMBIENT_NAMESPACE.into()]);
                }
            }
        } else if sidecars.len() > 1 {
            let names: Vec<String> = sidecars.iter().map(|r| r.name().to_string()).collect();
            for r in sidecars {
                ctx.report(&IST0111, r, None, &[names.clone().into(), (*ns).into()]);
            }
        }
    }
}

/// `util.NamespaceInAmbientMode`: the Namespace object opts into ambient and not into sidecar
/// injection (which wins).
fn namespace_in_ambient_mode(ctx: &Context<'_>, ns: &str) -> bool {
    let Some(namespace) = ctx.store.get(Kind::Namespace, "", ns) else {
        return false;
    };
    let labels = namespace.labels();
    if labels
        .get("istio-injection")
        .is_some_and(|v| v == "enabled")
        || labels.get("istio.io/rev").is_some_and(|v| !v.is_empty())
    {
        return false;
    }
    labels
        .get("istio.io/dataplane-mode")
        .is_some_and(|v| v == "ambient")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const PODS: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: reviews-v1
  labels: {app: reviews, version: v1}
spec:
  containers: [{name: app, image: reviews}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ratings}
spec:
  template:
    metadata:
      labels: {app: ratings}
    spec:
      containers: [{name: app, image: ratings}]
---
"#;

    fn sidecar(name: &str, ns: &str, selector: Option<&str>) -> String {
        let ws = selector
            .map(|s| format!("  workloadSelector:\n    labels: {s}\n"))
            .unwrap_or_default();
        format!(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n{ws}  egress:\n  - hosts: [\"./*\"]\n---\n"
        )
    }

    #[test]
    fn selectors_resolve_in_the_sidecar_namespace() {
        let yaml = PODS.to_string()
            + &sidecar("ok", "default", Some("{app: reviews}"))
            + &sidecar("ok-deploy", "default", Some("{app: ratings}"))
            + &sidecar("nothing", "default", Some("{app: bogus}"))
            + &sidecar("elsewhere", "other", Some("{app: reviews}"));
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0101", "Sidecar default/nothing"),
                pair("IST0101", "Sidecar other/elsewhere"),
            ]
        );
        assert_eq!(
            lines(&ANALYZER, &yaml)[0],
            "Error [IST0101] (Sidecar default/nothing test.yaml:48) Referenced selector not found: \"app=bogus\""
        );
    }

    #[test]
    fn overlapping_selectors_conflict() {
        let yaml = PODS.to_string()
            + &sidecar("dupe-1", "default", Some("{app: reviews}"))
            + &sidecar("dupe-2", "default", Some("{app: reviews, version: v1}"));
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0110", "Sidecar default/dupe-1"),
                pair("IST0110", "Sidecar default/dupe-2"),
            ]
        );
        assert!(lines(&ANALYZER, &yaml)[0].ends_with(
            "The Sidecars [dupe-1 dupe-2] in namespace \"default\" select the same workload pod \"reviews-v1\", which can lead to undefined behavior."
        ));
    }

    #[test]
    fn selectorless_sidecars_per_namespace() {
        let yaml = sidecar("a", "ns1", None)
            + &sidecar("b", "ns2", None)
            + &sidecar("c", "ns2", None)
            + &sidecar("d", "ns1", Some("{app: x}"));
        let got = run(&ANALYZER, &yaml);
        assert_eq!(
            got,
            vec![
                pair("IST0101", "Sidecar ns1/d"),
                pair("IST0111", "Sidecar ns2/b"),
                pair("IST0111", "Sidecar ns2/c"),
            ]
        );
    }

    #[test]
    fn ambient_namespace_and_pod() {
        let yaml = r#"apiVersion: v1
kind: Namespace
metadata:
  name: mesh
  labels: {istio.io/dataplane-mode: ambient}
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: mesh
  labels: {app: x}
  annotations: {ambient.istio.io/redirection: enabled}
spec:
  containers: [{name: app, image: x}]
---
"#
        .to_string()
            + &sidecar("namespace-scoped", "mesh", None)
            + &sidecar("pod-scoped", "mesh", Some("{app: x}"));
        assert_eq!(
            run(&ANALYZER, &yaml),
            vec![
                pair("IST0167", "Sidecar mesh/namespace-scoped"),
                pair("IST0167", "Sidecar mesh/pod-scoped"),
            ]
        );
    }
}
