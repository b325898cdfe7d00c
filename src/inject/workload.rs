//! The workload a pod belongs to (Istio's `DeploymentMeta` and `TypeMeta`): its name and the
//! kind that owns it. The proxy reports them as `ISTIO_META_WORKLOAD_NAME` and
//! `ISTIO_META_OWNER`, and the canonical-name label falls back to the name.

use serde_json::Value;

/// A workload's name, namespace and owning kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub name: String,
    pub namespace: String,
    pub api_version: String,
    pub kind: String,
}

impl Workload {
    /// The workload of an object with a pod template (`kube-inject` on a Deployment, a Job, …):
    /// the object itself.
    pub fn of_object(object: &Value) -> Workload {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
        Workload {
            name: text(object.pointer("/metadata/name")),
            namespace: text(object.pointer("/metadata/namespace")),
            api_version: text(object.get("apiVersion")),
            kind: text(object.get("kind")),
        }
    }

    /// The workload of a pod (Istio's `GetDeployMetaFromPod`): a pod with a generated name is
    /// named after its controller, with a ReplicaSet's template hash stripped to name the
    /// Deployment and a scheduled Job's timestamp stripped to name the CronJob; any other pod
    /// is its own workload.
    pub fn of_pod(pod: &Value, namespace: &str) -> Workload {
        let meta = pod.get("metadata").unwrap_or(&Value::Null);
        let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
        let mut workload = Workload {
            name: name.to_string(),
            namespace: namespace.to_string(),
            api_version: "v1".into(),
            kind: "Pod".into(),
        };
        let generated = meta
            .get("generateName")
            .and_then(Value::as_str)
            .is_some_and(|g| !g.is_empty());
        let controller = meta
            .get("ownerReferences")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
            });
        if let (true, Some(owner)) = (generated, controller) {
            let text = |k: &str| owner.get(k).and_then(Value::as_str).unwrap_or("");
            workload.api_version = text("apiVersion").to_string();
            workload.kind = text("kind").to_string();
            workload.name = text("name").to_string();
            let hash = meta
                .pointer("/labels/pod-template-hash")
                .and_then(Value::as_str)
                .unwrap_or("");
            if workload.kind == "ReplicaSet" && !hash.is_empty() {
                if let Some(deployment) = workload.name.strip_suffix(&format!("-{hash}")) {
                    workload.name = deployment.to_string();
                    workload.kind = "Deployment".into();
                    workload.api_version = "apps/v1".into();
                }
            } else if workload.kind == "Job"
                && let Some(cron) = cron_job_name(&workload.name)
            {
                workload.name = cron.to_string();
                workload.kind = "CronJob".into();
                workload.api_version = "batch/v1".into();
            }
        }
        if workload.name.is_empty() {
            workload.name = name.to_string();
        }
        workload
    }

    /// `kubernetes://apis/<apiVersion>/namespaces/<ns>/<kind>s/<name>`, Istio's owner URI;
    /// none without a kind or a name.
    pub fn owner(&self) -> Option<String> {
        if self.api_version.is_empty() || self.kind.is_empty() || self.name.is_empty() {
            return None;
        }
        let namespace = if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        };
        Some(format!(
            "kubernetes://apis/{}/namespaces/{namespace}/{}s/{}",
            self.api_version,
            self.kind.to_ascii_lowercase(),
            self.name
        ))
    }
}

/// A CronJob names its Jobs `<cronjob>-<scheduled time in minutes>`: 8 to 10 digits.
fn cron_job_name(job: &str) -> Option<&str> {
    let (cron, stamp) = job.rsplit_once('-')?;
    ((8..=10).contains(&stamp.len()) && stamp.bytes().all(|b| b.is_ascii_digit())).then_some(cron)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_replicaset_pod_belongs_to_its_deployment() {
        let pod = json!({"metadata": {
            "generateName": "reviews-v1-7f9c6d-",
            "labels": {"pod-template-hash": "7f9c6d"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "reviews-v1-7f9c6d", "controller": true}],
        }});
        let w = Workload::of_pod(&pod, "shop");
        assert_eq!(w.name, "reviews-v1");
        assert_eq!(
            w.owner().as_deref(),
            Some("kubernetes://apis/apps/v1/namespaces/shop/deployments/reviews-v1")
        );
    }

    #[test]
    fn a_scheduled_job_pod_belongs_to_its_cronjob() {
        let pod = json!({"metadata": {
            "generateName": "backup-29000000-",
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                 "name": "backup-29000000", "controller": true}],
        }});
        let w = Workload::of_pod(&pod, "ops");
        assert_eq!((w.name.as_str(), w.kind.as_str()), ("backup", "CronJob"));
        assert_eq!(cron_job_name("one-off-12"), None);
    }

    #[test]
    fn a_bare_pod_is_its_own_workload() {
        let w = Workload::of_pod(&json!({"metadata": {"name": "debug"}}), "");
        assert_eq!(
            w.owner().as_deref(),
            Some("kubernetes://apis/v1/namespaces/default/pods/debug")
        );
        // A named pod with an owner is still itself: only generated names are guessed at.
        let pod = json!({"metadata": {"name": "web-0", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]}});
        assert_eq!(Workload::of_pod(&pod, "x").name, "web-0");
    }
}
