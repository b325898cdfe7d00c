//! `webhook.Analyzer`: Istio's injection webhooks must not overlap (a pod would be injected
//! twice) and must point at a control plane Service that exists.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyze::catalog::IST0139;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::kube::Webhook;
use crate::config::resource::{Resource, Spec};
use crate::config::types::LabelSelector;

pub const ANALYZER: Analyzer = Analyzer {
    name: "webhook.Analyzer",
    description: "Checks the validity of Istio webhooks",
    inputs: &[Kind::MutatingWebhookConfiguration, Kind::Service],
    reads: &[Kind::MutatingWebhookConfiguration, Kind::Service],
    run,
};

const REV_LABEL: &str = "istio.io/rev";

fn run(ctx: &mut Context<'_>) {
    // Istio-related webhook configurations, their webhooks, and every revision they mention.
    let mut configs: Vec<(&Resource, &[Webhook])> = Vec::new();
    let mut revisions: BTreeSet<String> = BTreeSet::new();
    for r in ctx.of(Kind::MutatingWebhookConfiguration) {
        let Spec::Webhooks(hooks) = &r.spec else {
            continue;
        };
        let revs = extract_revisions(r, hooks);
        if revs.is_empty() && !hooks.iter().any(|h| h.name.ends_with("istio.io")) {
            continue;
        }
        configs.push((r, hooks));
        revisions.extend(revs);
    }

    // Every namespace and object label combination injection distinguishes, per revision.
    let variants = |key: &str, on: &str, off: &str| {
        let base: Vec<BTreeMap<String, String>> = vec![
            BTreeMap::new(),
            BTreeMap::from([(key.to_string(), on.to_string())]),
            BTreeMap::from([(key.to_string(), off.to_string())]),
        ];
        let mut all = base.clone();
        for rev in &revisions {
            for b in &base {
                let mut l = b.clone();
                l.insert(REV_LABEL.to_string(), rev.clone());
                all.push(l);
            }
        }
        all
    };
    let ns_labels = variants("istio-injection", "enabled", "disabled");
    let obj_labels = variants("sidecar.istio.io/inject", "true", "false");

    // The same overlap shows up under many label combinations; report each once.
    let mut overlaps: BTreeSet<(usize, String)> = BTreeSet::new();
    for nl in &ns_labels {
        for ol in &obj_labels {
            let mut matches: BTreeMap<String, usize> = BTreeMap::new();
            for (i, (r, hooks)) in configs.iter().enumerate() {
                for h in hooks.iter() {
                    if selector_matches(h.namespace_selector.as_ref(), nl)
                        && selector_matches(h.object_selector.as_ref(), ol)
                    {
                        matches.insert(format!("{}/{}", r.name(), h.name), i);
                    }
                }
            }
            if matches.len() < 2 {
                continue;
            }
            for (key, i) in &matches {
                let others: Vec<&str> = matches
                    .keys()
                    .filter(|k| *k != key)
                    .map(String::as_str)
                    .collect();
                overlaps.insert((
                    *i,
                    format!(
                        "Webhook overlaps with others: [{}]. This may cause injection to occur twice.",
                        others.join(" ")
                    ),
                ));
            }
        }
    }
    for (i, text) in overlaps {
        if let Some((r, _)) = configs.get(i) {
            ctx.report(&IST0139, r, None, &[text.into()]);
        }
    }

    // Webhooks served by a Service need that Service; URL webhooks are not checked.
    let mut missing: Vec<(&Resource, String)> = Vec::new();
    for (r, hooks) in &configs {
        for h in hooks.iter() {
            let Some(svc) = &h.client_config.service else {
                continue;
            };
            if ctx
                .store
                .get(Kind::Service, &svc.namespace, &svc.name)
                .is_none()
            {
                missing.push((
                    r,
                    format!(
                        "Injector refers to a control plane service that does not exist: {}/{}.",
                        svc.namespace, svc.name
                    ),
                ));
            }
        }
    }
    for (r, text) in missing {
        ctx.report(&IST0139, r, None, &[text.into()]);
    }
}

/// Revisions a webhook configuration serves: its own `istio.io/rev` label and those its
/// webhooks' namespace and object selectors name.
fn extract_revisions(r: &Resource, hooks: &[Webhook]) -> BTreeSet<String> {
    let mut revs = BTreeSet::new();
    if let Some(rev) = r.labels().get(REV_LABEL) {
        revs.insert(rev.clone());
    }
    for h in hooks {
        for sel in [&h.namespace_selector, &h.object_selector]
            .into_iter()
            .flatten()
        {
            if let Some(rev) = sel.match_labels.get(REV_LABEL) {
                revs.insert(rev.clone());
            }
            for e in &sel.match_expressions {
                if e.key == REV_LABEL {
                    revs.extend(e.values.iter().cloned());
                }
            }
        }
    }
    revs
}

/// Kubernetes selector semantics: no selector matches everything, an invalid one nothing.
fn selector_matches(sel: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = sel else {
        return true;
    };
    let valid = sel
        .match_expressions
        .iter()
        .all(|e| match e.operator.as_str() {
            "In" | "NotIn" => !e.values.is_empty(),
            "Exists" | "DoesNotExist" => e.values.is_empty(),
            _ => false,
        });
    valid && sel.matches(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const OVERLAP: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: namespace.sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod, namespace: istio-system}
  namespaceSelector:
    matchLabels: {istio-injection: enabled}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-overlap}
webhooks:
- name: namespace.sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod, namespace: istio-system}
  namespaceSelector:
    matchExpressions:
    - {key: istio-injection, operator: In, values: [enabled]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: unrelated}
webhooks:
- name: webhook.example.com
  clientConfig:
    service: {name: gone, namespace: example}
---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: istio-system}
spec:
  ports: [{port: 443}]
"#;

    #[test]
    fn overlapping_webhooks() {
        assert_eq!(
            run(&ANALYZER, OVERLAP),
            vec![
                pair(
                    "IST0139",
                    "MutatingWebhookConfiguration istio-sidecar-injector"
                ),
                pair(
                    "IST0139",
                    "MutatingWebhookConfiguration istio-sidecar-injector-overlap"
                ),
            ]
        );
        assert!(lines(&ANALYZER, OVERLAP).contains(&"Error [IST0139] (MutatingWebhookConfiguration istio-sidecar-injector test.yaml:1) Webhook overlaps with others: [istio-sidecar-injector-overlap/namespace.sidecar-injector.istio.io]. This may cause injection to occur twice.".to_string()));
    }

    #[test]
    fn revisioned_webhooks_and_missing_service() {
        let yaml = r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: istio-sidecar-injector-canary
  labels: {istio.io/rev: canary}
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod-canary, namespace: istio-system}
  namespaceSelector:
    matchExpressions:
    - {key: istio.io/rev, operator: In, values: [canary]}
    - {key: istio-injection, operator: DoesNotExist}
- name: rev.object.sidecar-injector.istio.io
  clientConfig:
    url: https://istiod.example.com/inject
  namespaceSelector:
    matchExpressions:
    - {key: istio.io/rev, operator: DoesNotExist}
    - {key: istio-injection, operator: DoesNotExist}
  objectSelector:
    matchExpressions:
    - {key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}
    - {key: istio.io/rev, operator: In, values: [canary]}
"#;
        assert_eq!(
            lines(&ANALYZER, yaml),
            vec![
                "Error [IST0139] (MutatingWebhookConfiguration istio-sidecar-injector-canary test.yaml:1) Injector refers to a control plane service that does not exist: istio-system/istiod-canary."
            ]
        );
        let fixed = format!(
            "{yaml}---\napiVersion: v1\nkind: Service\nmetadata: {{name: istiod-canary, namespace: istio-system}}\n"
        );
        assert_eq!(run(&ANALYZER, &fixed), vec![]);
    }
}
