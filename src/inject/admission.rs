//! The webhook's exchange (istiod's `/inject`): an AdmissionReview with a Pod in, the same
//! AdmissionReview with a response out: allowed, and a JSONPatch that adds the sidecar when the
//! pod is injected. An injection that fails denies the pod with the reason, as Istio's does
//! (the webhook's `failurePolicy: Fail` would refuse it anyway, without saying why).

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::pod::{Injector, PodParts};
use super::workload::Workload;

/// A request that is not an AdmissionReview: answered with HTTP 400.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("could not decode the AdmissionReview: {0}")]
    Decode(String),
    #[error("the AdmissionReview has no request")]
    NoRequest,
}

/// The review's request, what the answer must echo.
struct Request {
    api_version: String,
    uid: Value,
    namespace: String,
    object: Value,
}

fn request(body: &[u8]) -> Result<Request, AdmissionError> {
    let review: Value =
        serde_json::from_slice(body).map_err(|e| AdmissionError::Decode(e.to_string()))?;
    let request = review.get("request").ok_or(AdmissionError::NoRequest)?;
    Ok(Request {
        // Answer in the version asked (Istio answers v1beta1 reviews too).
        api_version: review
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("admission.k8s.io/v1")
            .to_string(),
        uid: request.get("uid").cloned().unwrap_or(Value::Null),
        namespace: request
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        object: request.get("object").cloned().unwrap_or(Value::Null),
    })
}

fn answer(request: &Request, response: Map<String, Value>) -> Value {
    let mut response = response;
    response.insert("uid".into(), request.uid.clone());
    json!({
        "apiVersion": request.api_version,
        "kind": "AdmissionReview",
        "response": response,
    })
}

fn denied(request: &Request, message: &str) -> Value {
    let mut r = Map::new();
    r.insert("allowed".into(), false.into());
    r.insert("status".into(), json!({"message": message}));
    answer(request, r)
}

/// The answer to one AdmissionReview: `injector` is the injector config in force, or why there
/// is none.
pub fn review(body: &[u8], injector: Result<&Injector, &str>) -> Result<Value, AdmissionError> {
    let request = request(body)?;
    let injector = match injector {
        Ok(i) => i,
        Err(why) => return Ok(denied(&request, why)),
    };
    let mut pod = request.object.clone();
    let Some(object) = pod.as_object_mut() else {
        return Ok(denied(&request, "the request holds no Pod"));
    };
    // A pod made from a template has no namespace yet; the request says where it goes. Managed
    // fields do not change injection and would only make the diff slower.
    let namespace = object
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(&request.namespace)
        .to_string();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("namespace".into(), namespace.clone().into());
        meta.remove("managedFields");
    }
    let original = pod.clone();
    let workload = Workload::of_pod(&pod, &namespace);
    let Some(object) = pod.as_object_mut() else {
        return Ok(denied(&request, "the request holds no Pod"));
    };
    let mut metadata = match object.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let Some(Value::Object(mut spec)) = object.remove("spec") else {
        return Ok(denied(&request, "the Pod has no spec"));
    };
    let parts = PodParts {
        metadata: &mut metadata,
        spec: &mut spec,
    };
    let mut allowed = Map::new();
    allowed.insert("allowed".into(), true.into());
    if !injector.webhook_injects(&parts, &namespace) {
        return Ok(answer(&request, allowed));
    }
    if let Err(e) = injector.inject(parts, &workload) {
        return Ok(denied(&request, &format!("injection failed: {e}")));
    }
    object.insert("metadata".into(), Value::Object(metadata));
    object.insert("spec".into(), Value::Object(spec));
    let patch = json_patch::diff(&original, &pod);
    let patch = serde_json::to_vec(&patch).map_err(|e| AdmissionError::Decode(e.to_string()))?;
    allowed.insert("patchType".into(), "JSONPatch".into());
    allowed.insert(
        "patch".into(),
        base64::engine::general_purpose::STANDARD
            .encode(patch)
            .into(),
    );
    Ok(answer(&request, allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::pod::tests::rendered_injector;

    fn body(pod: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {"uid": "u-1", "namespace": "shop", "operation": "CREATE", "object": pod},
        }))
        .expect("json")
    }

    fn apply(pod: &Value, response: &Value) -> Value {
        let patch = base64::engine::general_purpose::STANDARD
            .decode(response["response"]["patch"].as_str().expect("a patch"))
            .expect("base64");
        let patch: json_patch::Patch = serde_json::from_slice(&patch).expect("a JSONPatch");
        let mut out = pod.clone();
        json_patch::patch(&mut out, &patch).expect("applies");
        out
    }

    #[test]
    fn an_injected_pod_gets_a_jsonpatch_that_adds_the_proxy() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"generateName": "web-", "labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "web"}]}});
        let out = review(&body(pod.clone()), Ok(&rendered_injector(None))).expect("answers");
        assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(out["response"]["uid"], "u-1");
        assert_eq!(out["response"]["allowed"], true);
        assert_eq!(out["response"]["patchType"], "JSONPatch");
        let patched = apply(&pod, &out);
        assert_eq!(patched["spec"]["containers"][1]["name"], "istio-proxy");
        assert!(patched["metadata"]["annotations"]["sidecar.istio.io/status"].is_string());
        // The namespace came from the request and is not part of the patch.
        assert!(patched["metadata"].get("namespace").is_none());
    }

    #[test]
    fn an_opted_out_pod_is_allowed_unchanged() {
        let pod = json!({"metadata": {"name": "db", "annotations": {"sidecar.istio.io/inject": "false"}},
                         "spec": {"containers": [{"name": "db"}]}});
        let out = review(&body(pod), Ok(&rendered_injector(None))).expect("answers");
        assert_eq!(out["response"], json!({"allowed": true, "uid": "u-1"}));
    }

    #[test]
    fn failures_deny_with_the_reason() {
        let pod = json!({"metadata": {"name": "x", "annotations": {"sidecar.istio.io/interceptionMode": "MAGIC"}},
                         "spec": {"containers": [{"name": "x"}]}});
        let out = review(&body(pod.clone()), Ok(&rendered_injector(None))).expect("answers");
        assert_eq!(out["response"]["allowed"], false);
        assert!(
            out["response"]["status"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("MAGIC"))
        );
        let out = review(&body(pod), Err("no injector config")).expect("answers");
        assert_eq!(out["response"]["status"]["message"], "no injector config");
        assert!(matches!(
            review(b"{}", Err("x")),
            Err(AdmissionError::NoRequest)
        ));
        assert!(matches!(
            review(b"<html>", Err("x")),
            Err(AdmissionError::Decode(_))
        ));
    }
}
