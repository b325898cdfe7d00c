//! `analyze`: Istio's configuration analyzers over the config store.
//!
//! Each analyzer is a pure function over a [`Context`] (one per file under `analyzers/`); the
//! catalog holds Istio's codes and texts; `output` renders the formats. Nothing here does I/O.

pub mod analyzers;
pub mod catalog;
pub mod context;
pub mod defaults;
pub mod live;
pub mod mesh;
pub mod message;
pub mod output;
pub mod suppress;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::kind::Kind;
use crate::config::store::Store;

pub use context::{Analyzer, Context};
pub use message::{Level, Message};

/// Kinds whose objects a cluster always has but a repository may not: analyzers that need them
/// run only when the inputs hold at least one such object, so a file set without Services does
/// not claim every host is missing.
pub fn runtime_kind(kind: Kind) -> bool {
    !kind.is_istio()
}

/// What an analysis run is asked to do.
#[derive(Debug, Default)]
pub struct Options {
    /// Run only these analyzers (istioctl: unknown names mean all).
    pub only: Vec<String>,
    pub mesh: mesh::MeshConfig,
    /// Kinds read from a live cluster: known to the run even when the cluster holds none, as a
    /// cluster without Pods really has no pods (files without Pods say nothing about them).
    pub listed: BTreeSet<Kind>,
    /// Kinds the cluster would not let us read, with why: analyzers reading them do not run.
    pub unreadable: BTreeMap<Kind, String>,
}

/// An analyzer that could not run because the cluster refused to show it a kind it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnalyzed {
    pub name: &'static str,
    pub reason: String,
}

/// An analyzer that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedAnalyzer {
    pub name: &'static str,
    pub missing: Vec<&'static str>,
}

/// The result of one run, before suppression and thresholds.
#[derive(Debug, Default)]
pub struct Outcome {
    pub messages: Vec<Message>,
    pub executed: Vec<&'static str>,
    pub skipped: Vec<SkippedAnalyzer>,
    pub not_analyzed: Vec<NotAnalyzed>,
}

/// The analyzers `only` selects (istioctl: names it does not know select all).
pub fn selected(only: &[String]) -> Vec<Analyzer> {
    let all = analyzers::all();
    let known: Vec<&str> = all.iter().map(|a| a.name).collect();
    let only: Vec<&str> = only
        .iter()
        .map(String::as_str)
        .filter(|n| known.contains(n))
        .collect();
    all.into_iter()
        .filter(|a| only.is_empty() || only.contains(&a.name))
        .collect()
}

/// Every kind the analyzers `only` selects look at: what a live cluster must be asked for.
pub fn reads(only: &[String]) -> BTreeSet<Kind> {
    selected(only)
        .iter()
        .flat_map(|a| a.reads.iter().copied())
        .collect()
}

/// Runs every analyzer whose inputs are present. Availability is decided on the user's inputs;
/// Istio's default ingress resources are added afterwards, as istioctl does, so Gateways that
/// select `istio: ingressgateway` resolve.
pub fn run(store: &mut Store, opts: &Options) -> Outcome {
    let mut available = context::Availability::of(store);
    available.extend(opts.listed.iter().copied());
    defaults::add(store, &opts.mesh);
    let store = &*store;
    let workloads = context::workloads(store);
    let mut outcome = Outcome::default();
    let mut ctx = Context::new(store, &opts.mesh, &workloads);
    ctx.available = Some(available);
    for analyzer in selected(&opts.only) {
        // Running on a partial view would report what is merely hidden (a policy "selects no
        // pods" when the pods could not be listed), so the analyzer is named instead.
        if let Some((kind, why)) = analyzer
            .reads
            .iter()
            .find_map(|k| opts.unreadable.get(k).map(|why| (k, why)))
        {
            outcome.not_analyzed.push(NotAnalyzed {
                name: analyzer.name,
                reason: format!("needs {}: {why}", kind.name()),
            });
            continue;
        }
        let missing: Vec<&'static str> = analyzer
            .inputs
            .iter()
            .filter(|k| runtime_kind(**k) && !ctx.has(**k))
            .map(|k| k.name())
            .collect();
        if !missing.is_empty() {
            outcome.skipped.push(SkippedAnalyzer {
                name: analyzer.name,
                missing,
            });
            continue;
        }
        (analyzer.run)(&mut ctx);
        outcome.executed.push(analyzer.name);
    }
    outcome.messages = ctx.into_messages();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::testing::store;

    #[test]
    fn every_analyzer_reads_what_it_needs() {
        for a in analyzers::all() {
            for k in a.inputs {
                assert!(
                    a.reads.contains(k),
                    "{} needs {k:?} but does not read it",
                    a.name
                );
            }
        }
    }

    const POLICY: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p}\nspec:\n  selector: {matchLabels: {app: nothing}}\n";

    #[test]
    fn analyzers_reading_an_unreadable_kind_are_named_and_the_rest_run() {
        let mut s = store(&format!(
            "{POLICY}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: default}}\n"
        ));
        let opts = Options {
            listed: [Kind::Namespace, Kind::AuthorizationPolicy].into(),
            unreadable: [(Kind::Pod, "pods is forbidden".to_string())].into(),
            ..Options::default()
        };
        let outcome = run(&mut s, &opts);
        let not: Vec<&str> = outcome.not_analyzed.iter().map(|n| n.name).collect();
        assert!(
            not.contains(&"auth.AuthorizationPoliciesAnalyzer"),
            "{not:?}"
        );
        assert!(not.contains(&"injection.Analyzer"), "{not:?}");
        assert!(!not.contains(&"schema.ValidationAnalyzer.AuthorizationPolicy"));
        assert!(
            outcome
                .executed
                .contains(&"schema.ValidationAnalyzer.AuthorizationPolicy")
        );
        assert_eq!(
            outcome.not_analyzed[0].reason,
            "needs Pod: pods is forbidden"
        );
        // Not run, so no "selects no workloads" that the missing pods would have caused.
        assert!(outcome.messages.iter().all(|m| m.typ.code != "IST0127"));
    }

    #[test]
    fn kinds_listed_from_a_cluster_count_even_when_empty() {
        // Files without pods say nothing about pods: the analyzer is skipped.
        let outcome = run(&mut store(POLICY), &Options::default());
        assert!(
            outcome
                .skipped
                .iter()
                .any(|s| s.name == "auth.AuthorizationPoliciesAnalyzer")
        );
        // A cluster without matching pods has none: the policy selects nothing.
        let opts = Options {
            listed: [Kind::Namespace, Kind::Pod, Kind::AuthorizationPolicy].into(),
            ..Options::default()
        };
        let outcome = run(&mut store(POLICY), &opts);
        assert!(
            outcome.messages.iter().any(|m| m.typ.code == "IST0127"),
            "{:?}",
            outcome.messages
        );
    }
}
