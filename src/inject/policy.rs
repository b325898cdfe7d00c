//! Whether a pod is injected (Istio's `injectRequired`). The webhook's namespace and object
//! selectors have already chosen the revision; this is the pod's own say, in Istio's order: host
//! networking and Kubernetes' system namespaces never, then the `sidecar.istio.io/inject` label
//! (over the annotation of the same name), then the never- and always-inject selectors, then
//! the policy.

use std::collections::BTreeMap;

use super::config::{InjectorConfig, Policy};
use crate::config::types::LabelSelector;

/// The policy and selectors a decision follows.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub policy: &'a Policy,
    pub never: &'a [LabelSelector],
    pub always: &'a [LabelSelector],
}

impl<'a> Rules<'a> {
    /// `kube-inject`'s: asking for injection is the user's choice, so the policy is on and no
    /// selectors apply; only the pod's own opt-out counts.
    pub const KUBE_INJECT: Rules<'static> = Rules {
        policy: &Policy::Enabled,
        never: &[],
        always: &[],
    };

    /// The webhook's: the injector config's.
    pub fn of(config: &'a InjectorConfig) -> Rules<'a> {
        Rules {
            policy: &config.policy,
            never: &config.never_inject_selector,
            always: &config.always_inject_selector,
        }
    }
}

/// The pod's label and annotation that opt it in or out.
pub(crate) const INJECT_KEY: &str = "sidecar.istio.io/inject";

/// Namespaces Istio never injects into, whatever the webhook selected.
const IGNORED_NAMESPACES: [&str; 2] = ["kube-system", "kube-public"];

/// Whether a pod with these labels and annotations, in `namespace`, gets the sidecar.
pub fn injection_required(
    rules: &Rules<'_>,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    host_network: bool,
) -> bool {
    // iptables set up in a host-network pod would change the node's routing, not the pod's.
    if host_network || IGNORED_NAMESPACES.contains(&namespace) {
        return false;
    }
    // The label is the newer API, so it wins when both are set.
    let explicit = labels
        .get(INJECT_KEY)
        .or_else(|| annotations.get(INJECT_KEY))
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_default();
    // YAML 1.1's true words inject; any other non-empty value opts out (Istio reads "false",
    // "no", "off" and typos alike as a refusal).
    let mut choice = match explicit.as_str() {
        "" => None,
        "y" | "yes" | "true" | "on" => Some(true),
        _ => Some(false),
    };
    if choice.is_none() && matches_any(rules.never, labels) {
        choice = Some(false);
    }
    if choice.is_none() && matches_any(rules.always, labels) {
        choice = Some(true);
    }
    match rules.policy {
        Policy::Enabled => choice.unwrap_or(true),
        Policy::Disabled => choice.unwrap_or(false),
        // Istio disables injection altogether on an unknown policy.
        Policy::Invalid(_) => false,
    }
}

/// An empty selector selects nothing here (unlike a Kubernetes list selector): Istio skips it, so
/// an `[{}]` left in a ConfigMap does not flip every pod.
fn matches_any(selectors: &[LabelSelector], labels: &BTreeMap<String, String>) -> bool {
    selectors.iter().any(|s| {
        let empty = s.match_labels.is_empty() && s.match_expressions.is_empty();
        !empty && s.matches(labels)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::config::InjectorConfig;

    fn config(extra: &str) -> InjectorConfig {
        InjectorConfig::parse(&format!(
            "{extra}\nsidecar:\n  container:\n    name: istio-proxy\n"
        ))
        .expect("config")
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn required(config: &InjectorConfig, labels: &[(&str, &str)], annos: &[(&str, &str)]) -> bool {
        injection_required(
            &Rules::of(config),
            "default",
            &map(labels),
            &map(annos),
            false,
        )
    }

    #[test]
    fn the_pod_decides_before_the_policy() {
        let enabled = config("policy: enabled");
        assert!(required(&enabled, &[], &[]));
        assert!(!required(&enabled, &[], &[(INJECT_KEY, "false")]));
        assert!(!required(&enabled, &[(INJECT_KEY, "false")], &[]));
        // A typo opts out too, as in Istio.
        assert!(!required(&enabled, &[], &[(INJECT_KEY, "flase")]));
        let disabled = config("policy: disabled");
        assert!(!required(&disabled, &[], &[]));
        assert!(required(&disabled, &[], &[(INJECT_KEY, "Yes")]));
        assert!(!required(
            &config("policy: sometimes"),
            &[],
            &[(INJECT_KEY, "true")]
        ));
    }

    #[test]
    fn the_label_wins_over_the_annotation() {
        let enabled = config("policy: enabled");
        assert!(required(
            &enabled,
            &[(INJECT_KEY, "true")],
            &[(INJECT_KEY, "false")]
        ));
        assert!(!required(
            &enabled,
            &[(INJECT_KEY, "false")],
            &[(INJECT_KEY, "true")]
        ));
    }

    #[test]
    fn never_selectors_come_before_always_selectors() {
        let c = config(
            "policy: disabled\nneverInjectSelector:\n- matchLabels: {tier: batch}\n\
             alwaysInjectSelector:\n- matchExpressions:\n  - {key: app, operator: Exists}\n- {}\n",
        );
        assert!(required(&c, &[("app", "web")], &[]));
        assert!(!required(&c, &[("app", "web"), ("tier", "batch")], &[]));
        // The explicit choice beats the never selector.
        assert!(required(
            &c,
            &[("app", "web"), ("tier", "batch")],
            &[(INJECT_KEY, "true")]
        ));
        // `{}` selects nothing.
        assert!(!required(&c, &[("other", "x")], &[]));
    }

    #[test]
    fn system_namespaces_and_host_network_are_never_injected() {
        let enabled = config("policy: enabled");
        let none = BTreeMap::new();
        let yes = map(&[(INJECT_KEY, "true")]);
        assert!(!injection_required(
            &Rules::of(&enabled),
            "kube-system",
            &yes,
            &none,
            false
        ));
        assert!(!injection_required(
            &Rules::of(&enabled),
            "default",
            &yes,
            &none,
            true
        ));
        assert!(injection_required(
            &Rules::of(&enabled),
            "kube-node-lease",
            &none,
            &none,
            false
        ));
    }
}
