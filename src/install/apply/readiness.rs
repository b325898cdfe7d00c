//! Waiting until what was applied works: CRDs until the API server reports them `Established`,
//! Deployments until their replicas are available. A wait that runs out says which objects are not
//! ready and why (their status, conditions and latest event), so the user knows where to look.

use std::time::Duration;

use kube::Client;
use kube::api::ListParams;
use serde_json::Value;

use super::{ApplyError, ObjectRef, POLL, api_for, deadline, message};

/// Polls until every CRD in `crds` is Established.
pub async fn wait_established(
    client: &Client,
    crds: &[ObjectRef],
    timeout: Duration,
) -> Result<(), ApplyError> {
    let until = deadline(timeout);
    let api = api_for(
        client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
    );
    for crd in crds {
        loop {
            let object = api.get(&crd.name).await.map_err(|e| ApplyError::Read {
                what: crd.to_string(),
                message: message(&e),
            })?;
            let status = serde_json::to_value(&object.data["status"]).unwrap_or(Value::Null);
            let established = condition(&status, "Established");
            if established.is_some_and(|c| c["status"] == "True") {
                break;
            }
            if std::time::Instant::now() >= until {
                return Err(ApplyError::CrdNotEstablished {
                    object: crd.clone(),
                    timeout,
                    why: established.map_or_else(
                        || "no Established condition yet".to_string(),
                        describe_condition,
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
    Ok(())
}

/// Polls until every Deployment in `deployments` has its replicas available; on timeout the
/// error names each one that is not, with why.
pub async fn wait_available(
    client: &Client,
    component: &'static str,
    deployments: &[ObjectRef],
    timeout: Duration,
) -> Result<(), ApplyError> {
    let until = deadline(timeout);
    loop {
        let mut waiting = Vec::new();
        for d in deployments {
            let api = api_for(client, "apps/v1", "Deployment", d.namespace.as_deref());
            let object = api.get(&d.name).await.map_err(|e| ApplyError::Read {
                what: d.to_string(),
                message: message(&e),
            })?;
            let object = serde_json::to_value(&object).unwrap_or(Value::Null);
            if let Some(problem) = deployment_problem(&object) {
                waiting.push((d, problem));
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= until {
            let mut not_ready = Vec::new();
            for (d, problem) in waiting {
                let event = latest_event(client, d).await;
                not_ready.push(match event {
                    Some(event) => format!("{d}: {problem}; latest event: {event}"),
                    None => format!("{d}: {problem}"),
                });
            }
            return Err(ApplyError::NotReady {
                component,
                timeout,
                not_ready,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Why a Deployment (as JSON) is not ready, or `None` when it is: the controller has seen its
/// latest spec and every wanted replica is updated and available.
pub fn deployment_problem(deployment: &Value) -> Option<String> {
    let wanted = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &deployment["status"];
    let count = |key: &str| status[key].as_i64().unwrap_or(0);
    let generation = deployment["metadata"]["generation"].as_i64().unwrap_or(0);
    let observed = status["observedGeneration"].as_i64();
    let Some(observed) = observed else {
        return Some(
            "no status: no controller has acted on it yet (is kube-controller-manager running?)"
                .to_string(),
        );
    };
    let conditions: Vec<String> = status["conditions"]
        .as_array()
        .map(|cs| cs.iter().map(describe_condition).collect())
        .unwrap_or_default();
    let with_conditions = |text: String| {
        if conditions.is_empty() {
            text
        } else {
            format!("{text}; {}", conditions.join("; "))
        }
    };
    if observed < generation {
        return Some(with_conditions(format!(
            "its controller has not seen the latest spec yet (generation {generation}, observed \
             {observed})"
        )));
    }
    let (updated, available) = (count("updatedReplicas"), count("availableReplicas"));
    if updated < wanted || available < wanted {
        return Some(with_conditions(format!(
            "{available} of {wanted} replicas available, {updated} updated"
        )));
    }
    None
}

/// The condition of `type_` in `status.conditions`.
fn condition<'v>(status: &'v Value, type_: &str) -> Option<&'v Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// `Type=Status (Reason: message)`, as `kubectl describe` lists conditions.
fn describe_condition(c: &Value) -> String {
    let s = |k: &str| c[k].as_str().unwrap_or("");
    let mut text = format!("{}={}", s("type"), s("status"));
    match (s("reason"), s("message")) {
        ("", "") => {}
        (reason, "") => text.push_str(&format!(" ({reason})")),
        ("", msg) => text.push_str(&format!(" ({msg})")),
        (reason, msg) => text.push_str(&format!(" ({reason}: {msg})")),
    }
    text
}

/// The latest event about `object`, as `Reason: message`; `None` when there is none or events
/// cannot be read (they only enrich the message).
async fn latest_event(client: &Client, object: &ObjectRef) -> Option<String> {
    let api = api_for(client, "v1", "Event", object.namespace.as_deref());
    let fields = format!(
        "involvedObject.kind={},involvedObject.name={}",
        object.kind, object.name
    );
    let list = api
        .list(&ListParams::default().fields(&fields))
        .await
        .ok()?;
    let latest = list.items.into_iter().max_by_key(|e| {
        let v = &e.data;
        v["lastTimestamp"]
            .as_str()
            .or(v["eventTime"].as_str())
            .unwrap_or("")
            .to_string()
    })?;
    let s = |k: &str| latest.data[k].as_str().unwrap_or("").to_string();
    Some(format!("{}: {}", s("reason"), s("message")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deployment_nobody_acted_on_says_so() {
        let d = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1}});
        let problem = deployment_problem(&d).expect("not ready");
        assert!(problem.contains("kube-controller-manager"), "{problem}");
    }

    #[test]
    fn unavailable_replicas_are_counted_with_conditions() {
        let d = json!({
            "metadata": {"generation": 2},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 1,
                       "conditions": [{"type": "Available", "status": "False",
                                       "reason": "MinimumReplicasUnavailable",
                                       "message": "Deployment does not have minimum availability."}]}
        });
        assert_eq!(
            deployment_problem(&d).as_deref(),
            Some(
                "1 of 2 replicas available, 2 updated; Available=False \
                 (MinimumReplicasUnavailable: Deployment does not have minimum availability.)"
            )
        );
    }

    #[test]
    fn an_available_deployment_is_ready() {
        let d = json!({
            "metadata": {"generation": 3},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 3, "updatedReplicas": 1, "availableReplicas": 1}
        });
        assert_eq!(deployment_problem(&d), None);
        let stale = json!({
            "metadata": {"generation": 4},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 3, "updatedReplicas": 1, "availableReplicas": 1}
        });
        assert!(deployment_problem(&stale).is_some());
    }
}
