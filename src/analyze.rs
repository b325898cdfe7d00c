//! `analyze`: Istio's configuration analyzers over the config store.
//!
//! Each analyzer is a pure function over a [`Context`] (one per file under `analyzers/`); the
//! catalog holds Istio's codes and texts; `output` renders the formats. Nothing here does I/O.

pub mod analyzers;
pub mod catalog;
pub mod context;
pub mod defaults;
pub mod mesh;
pub mod message;
pub mod output;
pub mod suppress;

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
}

/// Runs every analyzer whose inputs are present. Availability is decided on the user's inputs;
/// Istio's default ingress resources are added afterwards, as istioctl does, so Gateways that
/// select `istio: ingressgateway` resolve.
pub fn run(store: &mut Store, opts: &Options) -> Outcome {
    let available = context::Availability::of(store);
    defaults::add(store, &opts.mesh);
    let store = &*store;
    let all = analyzers::all();
    let known: Vec<&str> = all.iter().map(|a| a.name).collect();
    let only: Vec<&str> = opts
        .only
        .iter()
        .map(String::as_str)
        .filter(|n| known.contains(n))
        .collect();
    let workloads = context::workloads(store);
    let mut outcome = Outcome::default();
    let mut ctx = Context::new(store, &opts.mesh, &workloads);
    ctx.available = Some(available);
    for analyzer in &all {
        if !only.is_empty() && !only.contains(&analyzer.name) {
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
