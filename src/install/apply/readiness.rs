//! Waiting until what was applied works: CRDs until the API server reports them `Established`,
//! Deployments until their replicas are available. A wait that runs out says which objects are not
//! ready and why (their status, conditions and latest event, and for a Deployment the pods that
//! hold it back with theirs: unschedulable, image pull failures, crash loops), so the user knows
//! where to look.

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
                waiting.push((d, object, problem));
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= until {
            let mut not_ready = Vec::new();
            for (d, object, problem) in waiting {
                let event = latest_event(client, d).await;
                let mut line = match event {
                    Some(event) => format!("{d}: {problem}; latest event: {event}"),
                    None => format!("{d}: {problem}"),
                };
                for pod in pod_problems(client, d, &object).await {
                    line.push_str(&format!("\n    {pod}"));
                }
                not_ready.push(line);
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
    // Pods of the previous template still running: the rollout has not finished, whatever the
    // available count says (kubectl rollout status and istioctl's verifier wait for them too;
    // counting them, a template whose new pods never start would look ready).
    let old = count("replicas") - updated;
    if updated < wanted || available < wanted || old > 0 {
        let mut text = format!("{available} of {wanted} replicas available, {updated} updated");
        if old > 0 {
            text.push_str(&format!(
                ", {old} old replica{} pending termination",
                if old == 1 { "" } else { "s" }
            ));
        }
        return Some(with_conditions(text));
    }
    None
}

/// How many not-ready pods of one Deployment a timeout describes: the first few say why; a
/// hundred identical lines would bury the other Deployments.
const PODS_DESCRIBED: usize = 3;

/// One line per pod of `deployment` (as JSON) that is not ready, with why, at most
/// [`PODS_DESCRIBED`] and then how many more; empty when the pods cannot be listed (they only
/// enrich the message) or the Deployment selects none.
pub(crate) async fn pod_problems(
    client: &Client,
    d: &ObjectRef,
    deployment: &Value,
) -> Vec<String> {
    let Some(selector) = label_selector(&deployment["spec"]["selector"]) else {
        return Vec::new();
    };
    let api = api_for(client, "v1", "Pod", d.namespace.as_deref());
    let Ok(list) = api.list(&ListParams::default().labels(&selector)).await else {
        return Vec::new();
    };
    let mut problems: Vec<String> = Vec::new();
    for pod in list.items {
        // Items of a list carry no kind of their own.
        let reference = ObjectRef {
            kind: "Pod".to_string(),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone().unwrap_or_default(),
        };
        let pod = serde_json::to_value(&pod).unwrap_or(Value::Null);
        if let Some(problem) = pod_problem(&pod) {
            let mut line = format!("{reference}: {problem}");
            // Only a phase (no condition or container state says why, e.g. a pod whose sandbox
            // cannot be made): its latest event may say (FailedCreatePodSandBox, FailedMount).
            if !problem.contains("; ")
                && let Some(event) = latest_event(client, &reference).await
            {
                line.push_str(&format!("; latest event: {event}"));
            }
            problems.push(line);
        }
    }
    if problems.len() > PODS_DESCRIBED {
        let more = problems.len() - PODS_DESCRIBED;
        problems.truncate(PODS_DESCRIBED);
        problems.push(format!("and {more} more pods not ready"));
    }
    problems
}

/// A Deployment's `spec.selector` as a list selector (`k=v,k2 in (a,b),!k3`), or `None` when
/// it has no requirement a list can express (then every pod would match, which says nothing).
pub fn label_selector(selector: &Value) -> Option<String> {
    let mut terms: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
        .collect();
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str()?;
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        terms.push(match e["operator"].as_str()? {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        });
    }
    (!terms.is_empty()).then(|| terms.join(","))
}

/// Why a pod (as JSON) is not ready, or `None` when it is: its phase, the conditions that are
/// not `True` (an unschedulable pod's `PodScheduled=False (Unschedulable: 0/1 nodes are
/// available: …)`), and each container that is waiting or terminated with its reason, as
/// `kubectl describe pod` shows them.
pub fn pod_problem(pod: &Value) -> Option<String> {
    let status = &pod["status"];
    if condition(status, "Ready").is_some_and(|c| c["status"] == "True") {
        return None;
    }
    let mut parts = vec![status["phase"].as_str().unwrap_or("Unknown").to_string()];
    if pod["metadata"]["deletionTimestamp"].is_string() {
        parts[0].push_str(", terminating");
    }
    parts.extend(
        status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["status"] != "True")
            // "Ready=False (ContainersNotReady: …)" repeats ContainersReady; the containers'
            // own states below say more.
            .filter(|c| c["type"] != "Ready")
            .map(describe_condition),
    );
    for (key, kind) in [
        ("initContainerStatuses", "init container"),
        ("containerStatuses", "container"),
    ] {
        for c in status[key].as_array().into_iter().flatten() {
            if c["ready"] == true {
                continue;
            }
            let name = c["name"].as_str().unwrap_or("");
            let state = &c["state"];
            let (what, detail) = if state["waiting"].is_object() {
                ("waiting", &state["waiting"])
            } else if state["terminated"].is_object() {
                ("terminated", &state["terminated"])
            } else {
                ("running, not ready", &Value::Null)
            };
            let mut text = format!("{kind} {name} {what}");
            let s = |k: &str| detail[k].as_str().unwrap_or("");
            match (s("reason"), s("message")) {
                ("", "") => {}
                (reason, "") => text.push_str(&format!(" ({reason})")),
                ("", msg) => text.push_str(&format!(" ({msg})")),
                (reason, msg) => text.push_str(&format!(" ({reason}: {msg})")),
            }
            if let Some(restarts) = c["restartCount"].as_i64().filter(|r| *r > 0) {
                text.push_str(&format!(", {restarts} restarts"));
            }
            parts.push(text);
        }
    }
    Some(parts.join("; "))
}

/// The condition of `type_` in `status.conditions`.
pub(crate) fn condition<'v>(status: &'v Value, type_: &str) -> Option<&'v Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// `Type=Status (Reason: message)`, as `kubectl describe` lists conditions.
pub(crate) fn describe_condition(c: &Value) -> String {
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
    fn an_unschedulable_pod_says_why() {
        let pod = json!({
            "metadata": {"name": "istiod-1", "namespace": "istio-system"},
            "status": {"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node \
                            affinity/selector."}]}
        });
        assert_eq!(
            pod_problem(&pod).as_deref(),
            Some(
                "Pending; PodScheduled=False (Unschedulable: 0/1 nodes are available: 1 node(s) \
                 didn't match Pod's node affinity/selector.)"
            )
        );
    }

    #[test]
    fn unready_containers_give_their_state_and_restarts() {
        let pod = json!({"status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "initContainerStatuses": [{"name": "init", "ready": true}],
            "containerStatuses": [
                {"name": "discovery", "ready": false, "restartCount": 4,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}},
                {"name": "sidecar", "ready": false, "state": {"running": {}}},
                {"name": "ok", "ready": true, "state": {"running": {}}}]}});
        assert_eq!(
            pod_problem(&pod).as_deref(),
            Some(
                "Running; ContainersReady=False (ContainersNotReady); container discovery waiting \
                 (CrashLoopBackOff: back-off 40s), 4 restarts; container sidecar running, not ready"
            )
        );
        let ready = json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(pod_problem(&ready), None);
    }

    #[test]
    fn selectors_become_list_selectors() {
        let s = json!({"matchLabels": {"app": "istiod", "istio.io/rev": "canary"},
                       "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                            {"key": "x", "operator": "DoesNotExist"}]});
        assert_eq!(
            label_selector(&s).as_deref(),
            Some("app=istiod,istio.io/rev=canary,tier in (a,b),!x")
        );
        assert_eq!(label_selector(&json!({})), None);
        let unknown = json!({"matchExpressions": [{"key": "k", "operator": "Near"}]});
        assert_eq!(label_selector(&unknown), None);
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

    #[test]
    fn a_rollout_with_old_pods_left_is_not_ready() {
        // The new pod cannot start; the old one still serves, so one replica is available.
        let d = json!({
            "metadata": {"generation": 2},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1,
                       "availableReplicas": 1}
        });
        assert_eq!(
            deployment_problem(&d).as_deref(),
            Some("1 of 1 replicas available, 1 updated, 1 old replica pending termination")
        );
    }
}
