//! `kube-inject` over a YAML stream (Istio's `IntoResourceFile`): every object with a pod in it
//! is injected, everything else is written back byte for byte, each document followed by `---`.
//! As in istioctl the pod's own choice is honoured but the webhook's policy and selectors are
//! not: asking for injection is the user's choice.

use serde_json::{Map, Value};

use super::pod::{InjectError, Injector, PodParts, string_map};
use super::policy::{Rules, injection_required};
use super::workload::Workload;
use crate::config::emit;
use crate::config::yaml::{Limits, parse_stream};

/// One document that could not be injected.
#[derive(Debug, thiserror::Error)]
#[error("document {document} (line {line}): {problem}")]
pub struct StreamError {
    /// 1-based.
    pub document: usize,
    pub line: usize,
    pub problem: String,
}

/// The injected stream and istioctl's `===> Skipping injection …` lines for stderr.
#[derive(Debug, Default)]
pub struct Injected {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Where the pod template sits in each kind `kube-inject` changes.
fn template_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "Deployment"
        | "DaemonSet"
        | "StatefulSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController"
        | "DeploymentConfig" => Some("/spec/template"),
        // Istio reads a CronJob's labels and annotations from its Job template; these land on
        // the Job, not its pods, so Ferry takes the pod template's (where Istio's own webhook
        // looks when the pods are created).
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// The documents of `text`, split at `---` lines as Kubernetes' YAML reader does, each with the
/// line it starts on. Text after `---` on the same line may only be a comment.
fn documents(text: &str) -> Result<Vec<(usize, String)>, StreamError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if rest.is_empty() || rest.starts_with('#') {
                if !current.trim().is_empty() {
                    out.push((start, std::mem::take(&mut current)));
                }
                current.clear();
                start = i + 2;
                continue;
            }
            return Err(StreamError {
                document: out.len() + 1,
                line: i + 1,
                problem: format!("invalid document separator: {}", line.trim_end()),
            });
        }
        current.push_str(line);
    }
    if !current.trim().is_empty() {
        out.push((start, current));
    }
    Ok(out)
}

/// Injects every pod-bearing object of a multi-document stream.
pub fn inject_stream(text: &str, injector: &Injector) -> Result<Injected, StreamError> {
    let mut out = Injected::default();
    for (index, (line, raw)) in documents(text)?.into_iter().enumerate() {
        let error = |problem: String| StreamError {
            document: index + 1,
            line,
            problem,
        };
        let stream = parse_stream(&raw, Limits::default());
        if let Some(e) = stream.errors.first() {
            // Positions inside the document, shifted to the file's lines.
            let at = line + e.line() as usize - 1;
            return Err(StreamError {
                document: index + 1,
                line: at,
                problem: e.to_string(),
            });
        }
        let Some(mut object) = stream.documents.first().map(|d| d.root.to_json()) else {
            out.text.push_str(&raw);
            out.text.push_str("---\n");
            continue;
        };
        let changed = inject_object(&mut object, injector, &mut out.warnings)
            .map_err(|e| error(e.to_string()))?;
        if changed {
            out.text.push_str(&emit::to_string(&object));
        } else {
            out.text.push_str(&raw);
            if !raw.ends_with('\n') {
                out.text.push('\n');
            }
        }
        out.text.push_str("---\n");
    }
    Ok(out)
}

/// Injects `object` (a `List`'s items each); false when it has no pod or is left alone.
fn inject_object(
    object: &mut Value,
    injector: &Injector,
    warnings: &mut Vec<String>,
) -> Result<bool, InjectError> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "List" {
        let mut changed = false;
        if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
            for item in items {
                changed |= inject_object(item, injector, warnings)?;
            }
        }
        return Ok(changed);
    }
    let Some(path) = template_path(kind) else {
        return Ok(false);
    };
    let kind = kind.to_string();
    let owner = Workload::of_object(object);
    let Some(template) = object.pointer_mut(path).and_then(Value::as_object_mut) else {
        return Err(InjectError::Shape {
            path: "spec.template",
            expected: "a pod template",
        });
    };
    let mut metadata = match template.remove("metadata") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(InjectError::Shape {
                path: "metadata",
                expected: "a mapping",
            });
        }
    };
    // A pod without a spec is still a pod (and usually one that opts out, like the seed's).
    let mut spec = match template.remove("spec") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(InjectError::Shape {
                path: "spec",
                expected: "a pod spec",
            });
        }
    };
    let pod_name = metadata.get("name").and_then(Value::as_str);
    let name = pod_name.unwrap_or(&owner.name).to_string();
    let full_name = if owner.namespace.is_empty() {
        name
    } else {
        format!("{}/{name}", owner.namespace)
    };
    let workload = if kind == "Pod" {
        Workload::of_pod(
            &Value::Object(Map::from_iter([(
                "metadata".to_string(),
                Value::Object(metadata.clone()),
            )])),
            &owner.namespace,
        )
    } else {
        owner
    };
    let result = match skip_reason(&metadata, &spec, &workload.namespace) {
        Some(reason) => {
            warnings.push(format!(
                "===> Skipping injection because {kind} {full_name:?} has {reason}"
            ));
            Ok(false)
        }
        None => injector
            .inject(
                PodParts {
                    metadata: &mut metadata,
                    spec: &mut spec,
                },
                &workload,
            )
            .map(|()| true),
    };
    template.insert("metadata".into(), Value::Object(metadata));
    template.insert("spec".into(), Value::Object(spec));
    result
}

/// Why `kube-inject` leaves a pod alone, if it does (istioctl's warning words).
fn skip_reason(
    metadata: &Map<String, Value>,
    spec: &Map<String, Value>,
    namespace: &str,
) -> Option<&'static str> {
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        return Some("host networking enabled");
    }
    let required = injection_required(
        &Rules::KUBE_INJECT,
        namespace,
        &string_map(metadata, "labels"),
        &string_map(metadata, "annotations"),
        false,
    );
    (!required).then_some("sidecar injection disabled")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::pod::tests::rendered_injector;

    #[test]
    fn pods_in_every_workload_kind_are_injected_and_the_rest_passes_through() {
        let input = "\
# the app
apiVersion: v1
kind: Service
metadata: {name: web}   # kept as written
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: '@daily'
  jobTemplate:
    spec:
      template:
        spec: {containers: [{name: job, image: job}]}
";
        let out = inject_stream(input, &rendered_injector(None)).expect("injects");
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let docs = documents(&out.text).expect("splits");
        assert_eq!(docs.len(), 3);
        assert!(
            docs[0]
                .1
                .contains("metadata: {name: web}   # kept as written")
        );
        assert!(docs[1].1.contains("name: istio-proxy"), "{}", docs[1].1);
        assert!(
            docs[1]
                .1
                .contains("value: kubernetes://apis/apps/v1/namespaces/shop/deployments/web")
        );
        assert!(docs[2].1.contains("name: istio-proxy"), "{}", docs[2].1);
        assert!(out.text.ends_with("---\n"));
        // The output injects to itself.
        let again = inject_stream(&out.text, &rendered_injector(None)).expect("again");
        assert_eq!(again.text, out.text);
    }

    #[test]
    fn a_pod_that_opts_out_is_skipped_with_istioctls_warning() {
        let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db, namespace: data}\n\
spec:\n  template:\n    metadata:\n      annotations: {sidecar.istio.io/inject: \"false\"}\n    \
spec: {containers: [{name: db}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: host}\n\
spec: {hostNetwork: true, containers: [{name: c}]}\n";
        let out = inject_stream(input, &rendered_injector(None)).expect("runs");
        assert!(!out.text.contains("istio-proxy"));
        assert_eq!(
            out.warnings,
            [
                "===> Skipping injection because Deployment \"data/db\" has sidecar injection disabled",
                "===> Skipping injection because Pod \"host\" has host networking enabled",
            ]
        );
    }

    #[test]
    fn lists_are_injected_item_by_item() {
        let input = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  \
metadata: {name: a}\n  spec: {containers: [{name: a}]}\n- apiVersion: v1\n  kind: ConfigMap\n  \
metadata: {name: c}\n";
        let out = inject_stream(input, &rendered_injector(None)).expect("runs");
        assert_eq!(
            out.text.matches("name: istio-proxy").count(),
            1,
            "{}",
            out.text
        );
        assert!(out.text.contains("kind: ConfigMap"));
    }

    #[test]
    fn errors_name_the_document_and_its_line() {
        let input = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: apps/v1\nkind: Deployment\n\
metadata: {name: x}\nspec: {template: {spec: {containers: [}}}\n";
        let err = inject_stream(input, &rendered_injector(None)).expect_err("bad YAML");
        assert_eq!((err.document, err.line), (2, 7), "{err}");
        let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {}\n";
        let err = inject_stream(input, &rendered_injector(None)).expect_err("no template");
        assert_eq!(
            err.to_string(),
            "document 1 (line 1): spec.template: expected a pod template"
        );
        let err = inject_stream("a: 1\n--- x\n", &rendered_injector(None)).expect_err("separator");
        assert_eq!(err.line, 2);
    }
}
