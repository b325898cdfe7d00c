//! Configuration validation: the rules Istio's validating webhook and `istioctl analyze`
//! (IST0106/IST0133) apply to Istio objects, with Istio's message texts. Pure functions over the
//! typed specs, so the control plane can use the same validator to accept or reject config.

mod common;
mod destinationrule;
pub mod durations;
mod envoyfilter;
mod gateway;
pub mod hosts;
pub mod names;
pub mod percent;
pub mod ports;
pub mod regex;
mod security;
mod serviceentry;
mod sidecar;
mod telemetry;
mod virtualservice;

pub(crate) use virtualservice::known_http_status;
mod workloadentry;

use crate::config::resource::{Resource, Spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Findings Istio marks as "analysis aware" (`AnalysisAwareError`): warnings the analyzer turns
/// into their own message codes instead of IST0133.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// IST0130: `rule` is never used, because of `reason`.
    UnreachableRule { rule: String, reason: String },
    /// IST0131: `match_` of `rule` duplicates one in rule `dup`.
    IneffectiveMatch {
        rule: String,
        match_: String,
        dup: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    /// Istio-style field path (`{.spec.http[0].route[0].weight}`) for line lookup, when known.
    pub path: Option<String>,
    /// Set for the VirtualService reachability warnings.
    pub analysis: Option<Analysis>,
}

/// Collects findings in Istio's append order.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub findings: Vec<Finding>,
}

impl Out {
    fn push(&mut self, severity: Severity, path: &str, message: String) {
        self.findings.push(Finding {
            severity,
            message,
            path: (!path.is_empty()).then(|| format!("{{{path}}}")),
            analysis: None,
        });
    }

    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, path, message.into());
    }

    pub fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, path, message.into());
    }

    /// Appends an optional error (the shape of the shared checks).
    pub fn check(&mut self, path: &str, e: Option<String>) {
        if let Some(e) = e {
            self.error(path, e);
        }
    }

    pub fn check_all(&mut self, path: &str, es: Vec<String>) {
        for e in es {
            self.error(path, e);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Validates one object. Non-Istio kinds and bodies that failed to decode yield nothing here
/// (the analyzer reports decode failures itself).
pub fn validate(resource: &Resource) -> Vec<Finding> {
    let ns = resource.effective_namespace();
    let name = resource.name();
    let mut out = Out::default();
    match &resource.spec {
        Spec::VirtualService(vs) => virtualservice::validate(ns, vs, &mut out),
        Spec::DestinationRule(dr) => destinationrule::validate(ns, dr, &mut out),
        Spec::Gateway(gw) => gateway::validate(name, gw, &mut out),
        Spec::ServiceEntry(se) => serviceentry::validate(ns, se, &mut out),
        Spec::WorkloadEntry(we) => workloadentry::validate_workload_entry(we, &mut out),
        Spec::WorkloadGroup(wg) => workloadentry::validate_workload_group(wg, &mut out),
        Spec::Sidecar(sc) => sidecar::validate(ns, sc, &mut out),
        Spec::EnvoyFilter(ef) => envoyfilter::validate(ef, &mut out),
        Spec::PeerAuthentication(pa) => security::validate_peer_authentication(pa, &mut out),
        Spec::AuthorizationPolicy(ap) => {
            security::validate_authorization_policy(name, ns, ap, &mut out)
        }
        Spec::RequestAuthentication(ra) => security::validate_request_authentication(ra, &mut out),
        Spec::Telemetry(t) => telemetry::validate(t, &mut out),
        _ => {}
    }
    out.findings
}

#[cfg(test)]
pub(crate) mod testing {
    //! Decodes a YAML spec body and validates it, for the per-kind rule tests.

    use super::*;
    use crate::config::source::{LoadOptions, parse_file};

    /// Validates the single object in `yaml`; returns `(severity, message)` pairs.
    pub fn check(yaml: &str) -> Vec<(Severity, String)> {
        findings(yaml)
            .into_iter()
            .map(|f| (f.severity, f.message))
            .collect()
    }

    pub fn findings(yaml: &str) -> Vec<Finding> {
        let parsed = parse_file(
            "test.yaml",
            yaml,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let r = parsed
            .resources
            .first()
            .expect("fixture has one object")
            .clone();
        if let Spec::Invalid(e) = &r.spec {
            panic!("fixture does not decode: {e:?}");
        }
        validate(&r)
    }

    pub fn errors(yaml: &str) -> Vec<String> {
        check(yaml)
            .into_iter()
            .filter(|(s, _)| *s == Severity::Error)
            .map(|(_, m)| m)
            .collect()
    }

    pub fn warnings(yaml: &str) -> Vec<String> {
        check(yaml)
            .into_iter()
            .filter(|(s, _)| *s == Severity::Warning)
            .map(|(_, m)| m)
            .collect()
    }
}
