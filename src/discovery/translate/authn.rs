//! Peer authentication: which mTLS mode a workload's inbound side runs in, from Istio's
//! `PeerAuthentication` policies (`ComposePeerAuthentication`), and what a client infers of a
//! destination service's mode for auto mTLS (`BestEffortInferServiceMTLSMode`).
//!
//! Precedence is Istio's: the mesh policy (root namespace, no selector), overridden by the
//! namespace's (no selector), overridden by the workload's (a selector that matches it, in its
//! namespace), whose `portLevelMtls` overrides it per port. `UNSET` inherits from the level
//! above; nothing set at all is `PERMISSIVE`. Of several policies at one level the oldest wins;
//! files carry no creation time, so the first by name stands in for it, as elsewhere.

use std::collections::BTreeMap;

use super::scope::Scope;
use crate::config::security::{MutualTls, PeerAuthentication};
use crate::config::types::selects;
use crate::discovery::accepted::Config;
use crate::discovery::registry::Service;

/// Istio's `MutualTLS.Mode`, resolved (no `UNSET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtlsMode {
    /// Plain text only.
    Disable,
    /// Both mTLS and plain text: Istio's default.
    Permissive,
    /// mTLS only.
    Strict,
}

/// A policy level's mode; `None` for `UNSET` (or no `mtls` at all), which inherits.
fn mode_of(mtls: Option<&MutualTls>) -> Option<MtlsMode> {
    match mtls?.mode.as_deref()? {
        "STRICT" => Some(MtlsMode::Strict),
        "PERMISSIVE" => Some(MtlsMode::Permissive),
        "DISABLE" => Some(MtlsMode::Disable),
        _ => None,
    }
}

/// The composed policy of one workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePolicy {
    pub mode: MtlsMode,
    /// Per workload port, from the workload policy's `portLevelMtls`.
    pub ports: BTreeMap<u32, MtlsMode>,
}

impl EffectivePolicy {
    pub fn mode_for(&self, port: u32) -> MtlsMode {
        self.ports.get(&port).copied().unwrap_or(self.mode)
    }
}

fn has_selector(pa: &PeerAuthentication) -> bool {
    pa.selector
        .as_ref()
        .is_some_and(|s| !s.match_labels.is_empty())
}

/// `ComposePeerAuthentication` for a workload in `namespace` with `labels` (`None`: the
/// namespace's mode, workload policies left out), `policies` sorted by namespace and name.
pub fn compose(
    root_namespace: &str,
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
    policies: &[Config<PeerAuthentication>],
) -> EffectivePolicy {
    let first = |pred: &dyn Fn(&Config<PeerAuthentication>) -> bool| {
        policies.iter().find(|p| pred(p)).map(|p| &p.spec)
    };
    let mesh = first(&|p| p.namespace == root_namespace && !has_selector(&p.spec));
    let ns = first(&|p| {
        p.namespace == namespace && p.namespace != root_namespace && !has_selector(&p.spec)
    });
    let workload = labels.and_then(|labels| {
        first(&|p| {
            p.namespace == namespace
                && p.namespace != root_namespace
                && p.spec
                    .selector
                    .as_ref()
                    .is_some_and(|s| !s.match_labels.is_empty() && selects(&s.match_labels, labels))
        })
    });
    let mut mode = MtlsMode::Permissive;
    for level in [mesh, ns, workload].into_iter().flatten() {
        if let Some(m) = mode_of(level.mtls.as_ref()) {
            mode = m;
        }
    }
    let ports = workload
        .map(|w| {
            w.port_level_mtls
                .iter()
                .map(|(port, mtls)| (*port, mode_of(Some(mtls)).unwrap_or(mode)))
                .collect()
        })
        .unwrap_or_default();
    EffectivePolicy { mode, ports }
}

/// The mode of the proxy's own workload on `port`.
pub fn workload_mode(scope: &Scope<'_>, port: u32) -> MtlsMode {
    compose(
        &scope.push.mesh().root_namespace,
        &scope.proxy.namespace,
        Some(&scope.proxy.labels),
        scope.push.peer_authentications(),
    )
    .mode_for(port)
}

/// `BestEffortInferServiceMTLSMode`: what a client assumes of `service` when deciding on auto
/// mTLS: services outside the mesh take no mTLS; otherwise the mode of the service's namespace
/// (its workloads' own policies are not known to the client), `PERMISSIVE` when none is set.
pub fn service_mode(scope: &Scope<'_>, service: &Service) -> MtlsMode {
    if service.mesh_external {
        return MtlsMode::Disable;
    }
    compose(
        &scope.push.mesh().root_namespace,
        &service.namespace,
        None,
        scope.push.peer_authentications(),
    )
    .mode
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::translate::tests::{labels, push};

    fn policies(yaml: &str) -> Vec<Config<PeerAuthentication>> {
        push(yaml).peer_authentications().to_vec()
    }

    fn pa(namespace: &str, name: &str, body: &str) -> String {
        format!(
            "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}---\n"
        )
    }

    const APP: [(&str, &str); 1] = [("app", "reviews")];

    fn mode(yaml: &str, port: u32) -> MtlsMode {
        compose("istio-system", "shop", Some(&labels(&APP)), &policies(yaml)).mode_for(port)
    }

    #[test]
    fn nothing_set_is_permissive() {
        assert_eq!(mode("", 80), MtlsMode::Permissive);
    }

    #[test]
    fn the_mesh_then_the_namespace_then_the_workload_decide() {
        let mesh = pa("istio-system", "default", "  mtls: {mode: STRICT}\n");
        assert_eq!(mode(&mesh, 80), MtlsMode::Strict);
        let ns = pa("shop", "default", "  mtls: {mode: PERMISSIVE}\n");
        assert_eq!(mode(&format!("{mesh}{ns}"), 80), MtlsMode::Permissive);
        let wl = pa(
            "shop",
            "reviews",
            "  selector: {matchLabels: {app: reviews}}\n  mtls: {mode: DISABLE}\n",
        );
        assert_eq!(mode(&format!("{mesh}{ns}{wl}"), 80), MtlsMode::Disable);
        // Another namespace's policies do not apply.
        let other = pa("other", "default", "  mtls: {mode: DISABLE}\n");
        assert_eq!(mode(&format!("{mesh}{other}"), 80), MtlsMode::Strict);
        // A workload policy whose selector does not match does not either.
        let ratings = pa(
            "shop",
            "ratings",
            "  selector: {matchLabels: {app: ratings}}\n  mtls: {mode: DISABLE}\n",
        );
        assert_eq!(mode(&format!("{mesh}{ratings}"), 80), MtlsMode::Strict);
        // A selector in the root namespace makes no mesh policy.
        let rooted = pa(
            "istio-system",
            "sel",
            "  selector: {matchLabels: {app: reviews}}\n  mtls: {mode: DISABLE}\n",
        );
        assert_eq!(mode(&format!("{mesh}{rooted}"), 80), MtlsMode::Strict);
    }

    #[test]
    fn unset_inherits_from_the_level_above() {
        let mesh = pa("istio-system", "default", "  mtls: {mode: STRICT}\n");
        let ns = pa("shop", "default", "  mtls: {mode: UNSET}\n");
        let wl = pa(
            "shop",
            "reviews",
            "  selector: {matchLabels: {app: reviews}}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n    9090: {mode: UNSET}\n",
        );
        let all = format!("{mesh}{ns}{wl}");
        assert_eq!(mode(&all, 80), MtlsMode::Strict);
        assert_eq!(mode(&all, 8080), MtlsMode::Disable);
        assert_eq!(mode(&all, 9090), MtlsMode::Strict);
    }

    #[test]
    fn ports_override_the_workload_and_the_first_policy_of_a_level_wins() {
        let a = pa("shop", "a", "  mtls: {mode: STRICT}\n");
        let b = pa("shop", "b", "  mtls: {mode: DISABLE}\n");
        assert_eq!(mode(&format!("{b}{a}"), 80), MtlsMode::Strict);
        let wl = pa(
            "shop",
            "reviews",
            "  selector: {matchLabels: {app: reviews}}\n  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: PERMISSIVE}\n",
        );
        assert_eq!(mode(&wl, 8080), MtlsMode::Permissive);
        assert_eq!(mode(&wl, 8081), MtlsMode::Strict);
    }

    #[test]
    fn clients_infer_the_namespace_mode_of_a_service() {
        let ns = pa("shop", "default", "  mtls: {mode: DISABLE}\n");
        let wl = pa(
            "shop",
            "reviews",
            "  selector: {matchLabels: {app: reviews}}\n  mtls: {mode: STRICT}\n",
        );
        let p = policies(&format!("{ns}{wl}"));
        assert_eq!(
            compose("istio-system", "shop", None, &p).mode,
            MtlsMode::Disable
        );
    }
}
