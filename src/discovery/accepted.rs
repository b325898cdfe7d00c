//! The gate between the config store and the control plane: each Istio networking object (and
//! AuthorizationPolicy) is
//! validated once, with the same validator `ferryctl analyze` and the admission webhook use. An
//! object with an error is rejected on its own (its neighbours are unaffected) and listed with the
//! reasons, as istiod lists them under `/debug/configz`.

use std::fmt;

use crate::config::kind::Kind;
use crate::config::networking as net;
use crate::config::resource::{Resource, Spec};
use crate::config::security as sec;
use crate::config::store::Store;
use crate::config::telemetry as tel;
use crate::validation::{self, Severity};

/// A config object the control plane refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rejected {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    /// `file:line` the object was read from.
    pub origin: String,
    pub reasons: Vec<String>,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{} ({}) rejected: {}",
            self.kind,
            self.namespace,
            self.name,
            self.origin,
            self.reasons.join("; ")
        )
    }
}

impl Rejected {
    pub fn of(r: &Resource, reasons: Vec<String>) -> Rejected {
        Rejected {
            kind: r.kind,
            namespace: r.effective_namespace().to_string(),
            name: r.name().to_string(),
            origin: r.origin.to_string(),
            reasons,
        }
    }
}

/// An accepted object: its identity and its typed spec (owned, so a snapshot outlives the store).
#[derive(Debug, Clone, PartialEq)]
pub struct Config<T> {
    pub name: String,
    pub namespace: String,
    pub spec: T,
}

/// Every accepted networking object, each list sorted by namespace then name. Istio orders
/// same-host VirtualServices and DestinationRules by creation time; files carry none, so the name
/// order stands in for it and keeps the output deterministic.
#[derive(Debug, Clone, Default)]
pub struct AcceptedConfig {
    pub virtual_services: Vec<Config<net::VirtualService>>,
    pub destination_rules: Vec<Config<net::DestinationRule>>,
    pub gateways: Vec<Config<net::Gateway>>,
    pub sidecars: Vec<Config<net::Sidecar>>,
    pub service_entries: Vec<Config<net::ServiceEntry>>,
    pub workload_entries: Vec<Config<net::WorkloadEntry>>,
    pub authorization_policies: Vec<Config<sec::AuthorizationPolicy>>,
    pub peer_authentications: Vec<Config<sec::PeerAuthentication>>,
    pub telemetries: Vec<Config<tel::Telemetry>>,
    pub rejected: Vec<Rejected>,
}

/// Validates the networking objects of `store` and keeps those without errors. Warnings do not
/// reject: Istio's webhook admits objects that only have warnings.
pub fn accept(store: &Store) -> AcceptedConfig {
    let mut out = AcceptedConfig::default();
    let kinds = [
        Kind::VirtualService,
        Kind::DestinationRule,
        Kind::Gateway,
        Kind::Sidecar,
        Kind::ServiceEntry,
        Kind::WorkloadEntry,
        Kind::AuthorizationPolicy,
        Kind::PeerAuthentication,
        Kind::Telemetry,
    ];
    for kind in kinds {
        for r in store.of(kind) {
            if let Err(reasons) = check(r) {
                out.rejected.push(Rejected::of(r, reasons));
                continue;
            }
            match &r.spec {
                Spec::VirtualService(s) => out.virtual_services.push(config(r, s.clone())),
                Spec::DestinationRule(s) => out.destination_rules.push(config(r, s.clone())),
                Spec::Gateway(s) => out.gateways.push(config(r, s.clone())),
                Spec::Sidecar(s) => out.sidecars.push(config(r, s.clone())),
                Spec::ServiceEntry(s) => out.service_entries.push(config(r, s.clone())),
                Spec::WorkloadEntry(s) => out.workload_entries.push(config(r, s.clone())),
                Spec::AuthorizationPolicy(s) => {
                    out.authorization_policies.push(config(r, s.clone()));
                }
                Spec::PeerAuthentication(s) => {
                    out.peer_authentications.push(config(r, s.clone()));
                }
                Spec::Telemetry(s) => out.telemetries.push(config(r, s.clone())),
                _ => {}
            }
        }
    }
    sort(&mut out.virtual_services);
    sort(&mut out.destination_rules);
    sort(&mut out.gateways);
    sort(&mut out.sidecars);
    sort(&mut out.service_entries);
    sort(&mut out.workload_entries);
    sort(&mut out.authorization_policies);
    sort(&mut out.peer_authentications);
    sort(&mut out.telemetries);
    out.rejected.sort();
    out
}

fn config<T>(r: &Resource, spec: T) -> Config<T> {
    Config {
        name: r.name().to_string(),
        namespace: r.effective_namespace().to_string(),
        spec,
    }
}

fn sort<T>(configs: &mut [Config<T>]) {
    configs.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
}

/// `Ok` when the object decoded and has no validation errors; otherwise the reasons.
fn check(r: &Resource) -> Result<(), Vec<String>> {
    if let Spec::Invalid(e) = &r.spec {
        return Err(vec![format!("{}: {}", e.path, e.message)]);
    }
    let errors: Vec<String> = validation::validate(r)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| match f.path {
            Some(path) => format!("{path}: {}", f.message),
            None => f.message,
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
