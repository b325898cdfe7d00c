//! What `verify-install` checks on a cluster, as istioctl ≤1.23's verifier does: every object an
//! install renders (or, without install flags, every object an installed revision owns) exists,
//! CRDs are `Established`, Deployments have their desired replicas updated and available, and
//! webhook configurations hold webhooks. Unlike istioctl, which stops at the first failure, every
//! object is checked, and each finding says what is wrong and how to fix it.
//!
//! [`Check`] and [`Outcome`] are shared with the local target's checks (`local::verify`), so both
//! print alike.

use kube::Client;
use serde_json::Value;

use super::apply::readiness::{condition, deployment_problem, describe_condition, pod_problems};
use super::apply::{ApplyError, ObjectRef, api_for, message};

/// One checked thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// istioctl's `<Kind>: <name>.<ns>` subject.
    pub subject: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Healthy; a note (a past restart) when there is something to tell.
    Ok(Option<String>),
    /// Broken: what is wrong, and how to fix it.
    Failed { problem: String, hint: String },
}

impl Outcome {
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// Everything checked in a cluster.
#[derive(Debug, Default)]
pub struct ClusterReport {
    pub checks: Vec<Check>,
    /// CRDs found (istioctl counts those its lookup finds, ready or not).
    pub crds: usize,
    /// Deployments found.
    pub deployments: usize,
}

impl ClusterReport {
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| c.outcome.failed()).count()
    }
}

/// istioctl's subject: `<Kind>: <name>.<namespace>`, where a cluster-scoped object takes the
/// control plane's namespace (as istioctl prints it).
pub fn subject(object: &ObjectRef, istio_namespace: &str) -> String {
    let ns = object.namespace.as_deref().unwrap_or(istio_namespace);
    format!("{}: {}.{ns}", object.kind, object.name)
}

/// The outcome for one object of `kind`, given the cluster's copy (`None`: not found).
/// `reinstall` is the command that would put it back. Deployments that are not available are
/// described further by the caller (their pods).
pub fn outcome(kind: &str, live: Option<&Value>, reinstall: &str) -> Outcome {
    let Some(live) = live else {
        return Outcome::Failed {
            problem: "not found in the cluster".to_string(),
            hint: format!("run `{reinstall}` to create it again"),
        };
    };
    match kind {
        "CustomResourceDefinition" => {
            let established = condition(&live["status"], "Established");
            if established.is_some_and(|c| c["status"] == "True") {
                return Outcome::Ok(None);
            }
            Outcome::Failed {
                problem: format!(
                    "not Established: {}",
                    established.map_or_else(
                        || "no Established condition yet".to_string(),
                        describe_condition
                    )
                ),
                hint: "the API server does not serve its kind; its log says why".to_string(),
            }
        }
        "Deployment" => match deployment_problem(live) {
            None => Outcome::Ok(None),
            Some(problem) => {
                let namespace = live["metadata"]["namespace"].as_str().unwrap_or_default();
                let name = live["metadata"]["name"].as_str().unwrap_or_default();
                Outcome::Failed {
                    problem,
                    hint: format!(
                        "`kubectl describe deployment -n {namespace} {name}` and the events of \
                         its pods say why"
                    ),
                }
            }
        },
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
            if live["webhooks"].as_array().is_some_and(|w| !w.is_empty()) {
                Outcome::Ok(None)
            } else {
                Outcome::Failed {
                    problem: "has no webhooks: the API server calls nothing for it".to_string(),
                    hint: format!("run `{reinstall}` to restore it"),
                }
            }
        }
        _ => Outcome::Ok(None),
    }
}

/// Checks `objects` (each with `apiVersion`, `kind` and `metadata.name`, and `metadata.namespace`
/// when namespaced) against the cluster, in order.
pub async fn verify(
    client: &Client,
    objects: &[Value],
    istio_namespace: &str,
    reinstall: &str,
) -> Result<ClusterReport, ApplyError> {
    let mut report = ClusterReport::default();
    for object in objects {
        let reference = ObjectRef::of(object);
        let api_version = object["apiVersion"].as_str().unwrap_or("v1");
        let api = api_for(
            client,
            api_version,
            &reference.kind,
            reference.namespace.as_deref(),
        );
        let live = api
            .get_opt(&reference.name)
            .await
            .map_err(|e| ApplyError::Read {
                what: reference.to_string(),
                message: message(&e),
            })?
            .map(|o| serde_json::to_value(&o).unwrap_or(Value::Null));
        if live.is_some() {
            match reference.kind.as_str() {
                "CustomResourceDefinition" => report.crds += 1,
                "Deployment" => report.deployments += 1,
                _ => {}
            }
        }
        let mut outcome = outcome(&reference.kind, live.as_ref(), reinstall);
        // A Deployment that is not available: its pods say why (unschedulable, image pulls,
        // crash loops), as install's readiness timeout names them.
        if let (Outcome::Failed { problem, .. }, Some(live)) = (&mut outcome, &live)
            && reference.kind == "Deployment"
        {
            for pod in pod_problems(client, &reference, live).await {
                problem.push_str(&format!("\n    {pod}"));
            }
        }
        report.checks.push(Check {
            subject: subject(&reference, istio_namespace),
            outcome,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REINSTALL: &str = "ferryctl install -r canary";

    #[test]
    fn subjects_are_istioctls() {
        let d = ObjectRef::of(&json!({"kind": "Deployment",
            "metadata": {"name": "istiod", "namespace": "istio-system"}}));
        assert_eq!(subject(&d, "x"), "Deployment: istiod.istio-system");
        let crd = ObjectRef::of(&json!({"kind": "CustomResourceDefinition",
            "metadata": {"name": "gateways.networking.istio.io"}}));
        assert_eq!(
            subject(&crd, "istio-system"),
            "CustomResourceDefinition: gateways.networking.istio.io.istio-system"
        );
    }

    #[test]
    fn a_missing_object_says_how_to_bring_it_back() {
        assert_eq!(
            outcome("Service", None, REINSTALL),
            Outcome::Failed {
                problem: "not found in the cluster".into(),
                hint: "run `ferryctl install -r canary` to create it again".into()
            }
        );
        assert_eq!(
            outcome("Service", Some(&json!({"spec": {}})), REINSTALL),
            Outcome::Ok(None)
        );
    }

    #[test]
    fn crds_must_be_established() {
        let ok = json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert_eq!(
            outcome("CustomResourceDefinition", Some(&ok), REINSTALL),
            Outcome::Ok(None)
        );
        let not = json!({"status": {"conditions": [{"type": "Established", "status": "False",
                                                    "reason": "Installing"}]}});
        let Outcome::Failed { problem, .. } =
            outcome("CustomResourceDefinition", Some(&not), REINSTALL)
        else {
            panic!("not established is a failure");
        };
        assert_eq!(problem, "not Established: Established=False (Installing)");
    }

    #[test]
    fn deployments_must_be_available() {
        let d = json!({"metadata": {"name": "istiod", "namespace": "ns", "generation": 1},
                       "spec": {"replicas": 2},
                       "status": {"observedGeneration": 1, "updatedReplicas": 2,
                                  "availableReplicas": 1}});
        let Outcome::Failed { problem, hint } = outcome("Deployment", Some(&d), REINSTALL) else {
            panic!("one of two replicas is a failure");
        };
        assert_eq!(problem, "1 of 2 replicas available, 2 updated");
        assert!(
            hint.starts_with("`kubectl describe deployment -n ns istiod`"),
            "{hint}"
        );
        let mut ready = d.clone();
        ready["status"]["availableReplicas"] = json!(2);
        assert_eq!(
            outcome("Deployment", Some(&ready), REINSTALL),
            Outcome::Ok(None)
        );
    }

    #[test]
    fn webhook_configurations_must_hold_webhooks() {
        let empty = json!({"webhooks": []});
        assert!(outcome("MutatingWebhookConfiguration", Some(&empty), REINSTALL).failed());
        let one = json!({"webhooks": [{"name": "rev.namespace.sidecar-injector.istio.io"}]});
        assert_eq!(
            outcome("ValidatingWebhookConfiguration", Some(&one), REINSTALL),
            Outcome::Ok(None)
        );
    }
}
