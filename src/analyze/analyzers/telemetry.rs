//! Istio's `telemetry` analyzers: workload selectors that select nothing or overlap, several
//! selector-less Telemetries in one namespace, access logging without providers, and the
//! deprecated Lightstep provider.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyze::catalog::{IST0002, IST0101, IST0157, IST0159, IST0160};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::config::telemetry::Telemetry;
use crate::config::types::selects;

pub const SELECTOR_ANALYZER: Analyzer = Analyzer {
    name: "telemetry.SelectorAnalyzer",
    description: "Validates that telemetries that define a selector match at least one pod, and that there aren't multiple telemetry resources that select overlapping pods",
    inputs: &[Kind::Telemetry, Kind::Pod],
    reads: &[Kind::Telemetry, Kind::Pod, Kind::Deployment],
    run: run_selector,
};

pub const DEFAULT_SELECTOR_ANALYZER: Analyzer = Analyzer {
    name: "telemetry.DefaultSelectorAnalyzer",
    description: "Validates that there aren't multiple telemetry resources that have no selector",
    inputs: &[Kind::Telemetry],
    reads: &[Kind::Telemetry],
    run: run_default_selector,
};

pub const PROVIDER_ANALYZER: Analyzer = Analyzer {
    name: "telemetry.ProviderAnalyzer",
    description: "Validates that providers in telemetry resource is valid",
    inputs: &[Kind::Telemetry],
    reads: &[Kind::Telemetry],
    run: run_provider,
};

pub const LIGHTSTEP_ANALYZER: Analyzer = Analyzer {
    name: "telemetry.LightstepAnalyzer",
    description: "Validates that lightstep provider is still used",
    inputs: &[Kind::Telemetry],
    reads: &[Kind::Telemetry],
    run: run_lightstep,
};

/// Every Telemetry whose body decoded, with it.
fn telemetries<'a>(
    ctx: &Context<'a>,
) -> impl Iterator<Item = (&'a Resource, &'a Telemetry)> + use<'a> {
    ctx.of(Kind::Telemetry).filter_map(|r| match &r.spec {
        Spec::Telemetry(t) => Some((r, t)),
        _ => None,
    })
}

fn run_selector(ctx: &mut Context<'_>) {
    // (namespace, pod) -> the Telemetries selecting it, in input order.
    let mut pods_to_telemetries: BTreeMap<(&str, &str), Vec<&Resource>> = BTreeMap::new();
    for (r, t) in telemetries(ctx) {
        let Some(sel) = t.selector.as_ref().filter(|s| !s.match_labels.is_empty()) else {
            continue;
        };
        let ns = r.effective_namespace();
        let mut found = false;
        for (_, w) in ctx.workloads_in(ns) {
            if selects(&sel.match_labels, w.labels) {
                found = true;
                pods_to_telemetries
                    .entry((w.namespace, w.resource.name()))
                    .or_default()
                    .push(r);
            }
        }
        if !found {
            let text = sel
                .match_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            // Istio points at the label its selector string starts with (the first key).
            let path = sel
                .match_labels
                .keys()
                .next()
                .map(|k| format!("{{.spec.selector.matchLabels.{k}}}"));
            ctx.report(
                &IST0101,
                r,
                path.as_deref(),
                &["selector".into(), text.into()],
            );
        }
    }
    for ((ns, pod), rs) in &pods_to_telemetries {
        if rs.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = rs.iter().map(|r| r.name().to_string()).collect();
        names.sort();
        for r in rs {
            ctx.report(
                &IST0159,
                r,
                Some("{.metadata.name}"),
                &[names.clone().into(), (*ns).into(), (*pod).into()],
            );
        }
    }
}

fn run_default_selector(ctx: &mut Context<'_>) {
    let mut by_ns: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    for (r, t) in telemetries(ctx) {
        // Istio tests the selector oneof, which targetRef(s) also fill.
        if t.selector.is_none() && t.target_ref.is_none() && t.target_refs.is_empty() {
            by_ns.entry(r.effective_namespace()).or_default().push(r);
        }
    }
    for (ns, rs) in &by_ns {
        if rs.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = rs.iter().map(|r| r.name().to_string()).collect();
        names.sort();
        for r in rs {
            ctx.report(&IST0160, r, None, &[names.clone().into(), (*ns).into()]);
        }
    }
}

fn run_provider(ctx: &mut Context<'_>) {
    // Access logging without providers falls back to the mesh defaults; only without those is
    // the block ignored.
    if !ctx.mesh.default_providers.access_logging.is_empty() {
        return;
    }
    let found: Vec<&Resource> = telemetries(ctx)
        .flat_map(|(r, t)| {
            t.access_logging
                .iter()
                .filter(|a| a.providers.is_empty())
                .map(move |_| r)
        })
        .collect();
    for r in found {
        ctx.report(
            &IST0157,
            r,
            None,
            &[r.name().into(), r.effective_namespace().into()],
        );
    }
}

fn run_lightstep(ctx: &mut Context<'_>) {
    let lightstep: BTreeSet<&str> = ctx
        .mesh
        .extension_providers
        .iter()
        .filter(|p| p.kind.contains_key("lightstep"))
        .map(|p| p.name.as_str())
        .collect();
    if lightstep.is_empty() {
        return;
    }
    let found: Vec<(&Resource, &str)> = telemetries(ctx)
        .flat_map(|(r, t)| {
            t.tracing
                .iter()
                .flat_map(|tr| &tr.providers)
                .filter(|p| lightstep.contains(p.name.as_str()))
                .map(move |p| (r, p.name.as_str()))
        })
        .collect();
    for (r, name) in found {
        ctx.report(
            &IST0002,
            r,
            None,
            &[format!(
                "The Lightstep provider {name} is deprecated, please migrate to OpenTelemetry provider."
            )
            .into()],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run, run_with_mesh};
    use crate::analyze::mesh::MeshConfig;

    const SELECTORS: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: productpage, labels: {app: productpage}}
---
apiVersion: v1
kind: Pod
metadata: {name: productpage-other, namespace: other, labels: {app: productpage}}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews, labels: {app: reviews}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ratings}
spec:
  template:
    metadata:
      labels: {app: ratings-app, myapp: ratings-myapp}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: maps-correctly}
spec:
  selector:
    matchLabels: {app: productpage}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: maps-to-nothing}
spec:
  selector:
    matchLabels:
      zone: a
      app: bogus
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: other-ns, namespace: other}
spec:
  selector:
    matchLabels: {app: reviews}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: dupe-1}
spec:
  selector:
    matchLabels: {app: reviews}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: dupe-2}
spec:
  selector:
    matchLabels: {app: reviews}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: overlap-1}
spec:
  selector:
    matchLabels: {app: ratings-app}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: overlap-2}
spec:
  selector:
    matchLabels: {myapp: ratings-myapp}
"#;

    #[test]
    fn selectors_that_match_nothing_or_overlap() {
        assert_eq!(
            run(&SELECTOR_ANALYZER, SELECTORS),
            vec![
                pair("IST0101", "Telemetry default/maps-to-nothing"),
                pair("IST0101", "Telemetry other/other-ns"),
                pair("IST0159", "Telemetry default/dupe-1"),
                pair("IST0159", "Telemetry default/dupe-2"),
                pair("IST0159", "Telemetry default/overlap-1"),
                pair("IST0159", "Telemetry default/overlap-2"),
            ]
        );
    }

    #[test]
    fn selector_lines_and_texts() {
        let out = lines(&SELECTOR_ANALYZER, SELECTORS);
        assert!(out.contains(&"Error [IST0101] (Telemetry default/maps-to-nothing test.yaml:35) Referenced selector not found: \"app=bogus,zone=a\"".to_string()), "{out:#?}");
        assert!(out.contains(&"Error [IST0159] (Telemetry default/dupe-2 test.yaml:53) The Telemetries [dupe-1 dupe-2] in namespace \"default\" select the same workload pod \"reviews\", which can lead to undefined behavior.".to_string()), "{out:#?}");
    }

    #[test]
    fn distinct_selectors_pass() {
        let yaml = r#"apiVersion: v1
kind: Pod
metadata: {name: a, labels: {app: a}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: a}
spec:
  selector:
    matchLabels: {app: a}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ns-wide}
spec: {}
"#;
        assert_eq!(run(&SELECTOR_ANALYZER, yaml), vec![]);
        assert_eq!(run(&DEFAULT_SELECTOR_ANALYZER, yaml), vec![]);
    }

    #[test]
    fn several_selectorless_telemetries_conflict() {
        let yaml = r#"apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: only-one, namespace: ns1}
spec: {}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: has-conflict-2, namespace: ns2}
spec: {}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: has-conflict-1, namespace: ns2}
spec: {}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: targeted, namespace: ns2}
spec:
  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: gw}
"#;
        assert_eq!(
            run(&DEFAULT_SELECTOR_ANALYZER, yaml),
            vec![
                pair("IST0160", "Telemetry ns2/has-conflict-1"),
                pair("IST0160", "Telemetry ns2/has-conflict-2"),
            ]
        );
        assert!(lines(&DEFAULT_SELECTOR_ANALYZER, yaml).contains(&"Error [IST0160] (Telemetry ns2/has-conflict-1 test.yaml:11) The Telemetries [has-conflict-1 has-conflict-2] in namespace \"ns2\" have no workload selector, which can lead to undefined behavior.".to_string()));
    }

    const EMPTY_ACCESS_LOG: &str = r#"apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - {}
  - providers: [{name: envoy}]
"#;

    #[test]
    fn access_logging_without_providers() {
        assert_eq!(
            lines(&PROVIDER_ANALYZER, EMPTY_ACCESS_LOG),
            vec![
                "Warning [IST0157] (Telemetry istio-system/mesh-default test.yaml:1) The Telemetry mesh-default in namespace \"istio-system\" with empty providers will be ignored."
            ]
        );
        let mesh = MeshConfig::parse("defaultProviders:\n  accessLogging: [envoy]\n")
            .expect("mesh config parses");
        assert_eq!(
            run_with_mesh(&PROVIDER_ANALYZER, EMPTY_ACCESS_LOG, &mesh),
            vec![]
        );
    }

    #[test]
    fn lightstep_providers_are_deprecated() {
        let yaml = r#"apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: lightstep}, {name: otel}]
"#;
        let mesh = MeshConfig::parse(
            "extensionProviders:\n- name: lightstep\n  lightstep: {address: x:8080}\n- name: otel\n  opentelemetry: {service: o, port: 4317}\n",
        )
        .expect("mesh config parses");
        assert_eq!(
            run_with_mesh(&LIGHTSTEP_ANALYZER, yaml, &mesh),
            vec![pair("IST0002", "Telemetry istio-system/mesh-default")]
        );
        assert_eq!(run(&LIGHTSTEP_ANALYZER, yaml), vec![]);
    }
}
