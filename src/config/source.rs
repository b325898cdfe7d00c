//! Reading configuration from files, directories and stdin into [`Resource`]s.
//!
//! Every problem with the input is collected as an [`InputError`] naming the file, line and fix;
//! one bad file or document never hides the others.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::kind::{Kind, KindLookup, lookup};
use super::kube::{Condition, CronJobSpec, PodSpec, ServiceSpec, Webhook, WorkloadSpec};
use super::resource::{Origin, Resource, Spec, SpecError};
use super::types::ObjectMeta;
use super::yaml::{self, Limits, Node, Value, YamlError};

/// Name given to objects without `metadata.name`.
pub const UNNAMED: &str = "(unnamed)";

/// File extensions read from directories, as istioctl.
pub const EXTENSIONS: &[&str] = &["json", "yaml", "yml"];

/// Namespaces whose objects are never analyzed (istioctl ignores them too).
pub const IGNORED_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// Where to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

/// Reading options.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Namespace given to objects without one; `None` leaves them namespace-less (`-A`).
    pub default_namespace: Option<String>,
    pub limits: Limits,
    /// Objects in these namespaces are dropped as they are read.
    pub excluded_namespaces: Vec<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: None,
            limits: Limits::default(),
            excluded_namespaces: IGNORED_NAMESPACES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// A problem with the input. Display gives `file:line:col: what, and the fix`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    #[error("{file}: not valid UTF-8 (first bad byte at offset {offset}); save the file as UTF-8")]
    NotUtf8 { file: String, offset: usize },
    #[error("{file}:{error}")]
    Yaml { file: String, error: YamlError },
    #[error("{file}:{line}: {message}")]
    Object {
        file: String,
        line: u32,
        message: String,
    },
    #[error(
        "{kind} {name} is defined twice: {first} and {second}; the second definition is ignored, remove one of them"
    )]
    Duplicate {
        kind: String,
        name: String,
        first: String,
        second: String,
    },
}

impl InputError {
    /// The file the problem is in (the later one for an object defined twice).
    pub fn file(&self) -> &str {
        match self {
            InputError::Io { file, .. }
            | InputError::NotUtf8 { file, .. }
            | InputError::Yaml { file, .. }
            | InputError::Object { file, .. } => file,
            InputError::Duplicate { second, .. } => {
                second.rsplit_once(':').map_or(second.as_str(), |(f, _)| f)
            }
        }
    }
}

/// A document that was read but is of a kind Ferry does not analyze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub origin: String,
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct Loaded {
    pub resources: Vec<Resource>,
    pub errors: Vec<InputError>,
    pub skipped: Vec<Skipped>,
    /// Files that were read (display names), in order.
    pub files: Vec<String>,
    /// Files given or found that were not read because of their extension.
    pub ignored_files: Vec<String>,
}

/// Expands directories (recursively, sorted) and keeps files with a known extension. Named files
/// with another extension are listed in `ignored`, as istioctl skips them with a note.
pub fn expand_inputs(inputs: &[Input], ignored: &mut Vec<String>) -> Vec<Input> {
    let mut out = Vec::new();
    // A file named twice (`a.yaml dir/` with a.yaml inside dir) is read once: reading it again
    // would report every object in it as defined twice.
    let mut seen = std::collections::HashSet::new();
    let mut push = |out: &mut Vec<Input>, p: PathBuf| {
        let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        if seen.insert(key) {
            out.push(Input::Path(p));
        }
    };
    for input in inputs {
        match input {
            Input::Stdin => out.push(Input::Stdin),
            Input::Path(p) if p.is_dir() => {
                let mut files = Vec::new();
                walk(p, &mut files);
                files.sort();
                for f in files {
                    if has_known_extension(&f) {
                        push(&mut out, f);
                    } else {
                        ignored.push(f.display().to_string());
                    }
                }
            }
            Input::Path(p) => {
                if has_known_extension(p) || !p.exists() {
                    push(&mut out, p.clone());
                } else {
                    ignored.push(p.display().to_string());
                }
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out),
            Ok(t) if t.is_file() || t.is_symlink() => out.push(path),
            _ => {}
        }
    }
}

fn has_known_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e))
}

/// Reads `inputs` (already expanded) into resources. Files are parsed on all cores.
pub fn load(inputs: &[Input], opts: &LoadOptions) -> Loaded {
    let mut texts: Vec<(String, Result<String, InputError>)> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (name, bytes) = match input {
            Input::Stdin => {
                let mut buf = Vec::new();
                let r = std::io::stdin().read_to_end(&mut buf).map(|_| buf);
                ("-".to_string(), r)
            }
            Input::Path(p) => (p.display().to_string(), std::fs::read(p)),
        };
        let text = match bytes {
            Err(e) => Err(InputError::Io {
                file: name.clone(),
                message: io_message(&e),
            }),
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
                file: name.clone(),
                offset: e.utf8_error().valid_up_to(),
            }),
        };
        texts.push((name, text));
    }

    let parsed = parse_all(&texts, opts);
    let mut loaded = Loaded::default();
    let mut seen: HashMap<(Kind, Option<String>, String), Origin> = HashMap::new();
    for (name, result) in parsed {
        loaded.files.push(name);
        let FileResult {
            resources,
            errors,
            skipped,
        } = result;
        loaded.errors.extend(errors);
        loaded.skipped.extend(skipped);
        for r in resources {
            // Unnamed fragments cannot collide: they are not the same object.
            if r.name() == UNNAMED {
                loaded.resources.push(r);
                continue;
            }
            let key = (r.kind, r.meta.namespace.clone(), r.name().to_string());
            if let Some(first) = seen.get(&key) {
                loaded.errors.push(InputError::Duplicate {
                    kind: r.kind.name().to_string(),
                    name: match &r.meta.namespace {
                        Some(ns) => format!("{ns}/{}", r.name()),
                        None => r.name().to_string(),
                    },
                    first: first.to_string(),
                    second: r.origin.to_string(),
                });
                continue;
            }
            seen.insert(key, r.origin.clone());
            loaded.resources.push(r);
        }
    }
    loaded
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// The objects, problems and skipped documents of one file.
#[derive(Debug, Default)]
pub struct FileResult {
    pub resources: Vec<Resource>,
    pub errors: Vec<InputError>,
    pub skipped: Vec<Skipped>,
}

/// Parses files in parallel, keeping input order in the result.
fn parse_all(
    texts: &[(String, Result<String, InputError>)],
    opts: &LoadOptions,
) -> Vec<(String, FileResult)> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(texts.len().max(1));
    let parse_one = |(name, text): &(String, Result<String, InputError>)| {
        let result = match text {
            Err(e) => FileResult {
                errors: vec![e.clone()],
                ..FileResult::default()
            },
            Ok(text) => parse_file(name, text, opts),
        };
        (name.clone(), result)
    };
    if workers <= 1 || texts.len() < 4 {
        return texts.iter().map(parse_one).collect();
    }
    let chunk = texts.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(parse_one).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(texts.len());
        for (h, part) in handles.into_iter().zip(texts.chunks(chunk)) {
            match h.join() {
                Ok(results) => out.extend(results),
                // A bug must not make files vanish from the result: each one says it failed.
                Err(_) => out.extend(part.iter().map(|(name, _)| {
                    let result = FileResult {
                        errors: vec![InputError::Io {
                            file: name.clone(),
                            message:
                                "internal error while parsing (a bug in ferryctl; please report it)"
                                    .to_string(),
                        }],
                        ..FileResult::default()
                    };
                    (name.clone(), result)
                })),
            }
        }
        out
    })
}

/// Parses one file's text into resources.
pub fn parse_file(name: &str, text: &str, opts: &LoadOptions) -> FileResult {
    let file: Arc<str> = Arc::from(name);
    let stream = yaml::parse_stream(text, opts.limits);
    let mut out = FileResult {
        errors: stream
            .errors
            .into_iter()
            .map(|error| InputError::Yaml {
                file: name.to_string(),
                error,
            })
            .collect(),
        ..FileResult::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    for doc in stream.documents {
        let line = document_start(&lines, doc.start_line);
        add_object(&file, doc.root, line, opts, &mut out);
    }
    out
}

/// The line istioctl reports for a document: the first non-blank line after the `---` separator,
/// comments included (its YAML reader splits on separators before parsing). `content_line` is the
/// document's first content line.
fn document_start(lines: &[&str], content_line: u32) -> u32 {
    let mut start = content_line;
    let mut l = content_line.saturating_sub(1);
    while l >= 1 {
        let Some(text) = lines.get(l as usize - 1) else {
            break;
        };
        let trimmed = text.trim();
        if text.starts_with("---") && text[3..].trim().is_empty() {
            break;
        }
        if !trimmed.is_empty() {
            if !trimmed.starts_with('#') {
                break; // content of the previous document (after `...`): not ours
            }
            start = l;
        }
        l -= 1;
    }
    start
}

fn add_object(file: &Arc<str>, node: Node, line: u32, opts: &LoadOptions, out: &mut FileResult) {
    if matches!(node.value, Value::Null) {
        return; // an empty document
    }
    let object_error = |message: String| InputError::Object {
        file: file.to_string(),
        line,
        message,
    };
    if !matches!(node.value, Value::Map(_)) {
        out.errors.push(object_error(
            "document is not a Kubernetes object (expected a mapping with apiVersion and kind)"
                .to_string(),
        ));
        return;
    }
    let api_version = node.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    let kind = node.get("kind").and_then(Node::as_str).unwrap_or("");
    if api_version.is_empty() || kind.is_empty() {
        let missing = if api_version.is_empty() {
            "apiVersion"
        } else {
            "kind"
        };
        out.errors.push(object_error(format!(
            "object has no {missing}; every document needs apiVersion and kind"
        )));
        return;
    }
    if kind == "List" || kind.ends_with("List") && api_version == "v1" {
        let items = match node.get("items").map(|n| n.value.clone()) {
            Some(Value::Seq(items)) => items,
            None | Some(Value::Null) => return,
            Some(_) => {
                out.errors.push(object_error(format!(
                    "{kind}: items must be a list of objects"
                )));
                return;
            }
        };
        for item in items {
            let item_line = item.mark.line;
            add_object(file, item, item_line, opts, out);
        }
        return;
    }
    let kind_id = match lookup(api_version, kind) {
        KindLookup::Known(k) => k,
        KindLookup::UnknownVersion { kind, .. } => {
            out.errors.push(object_error(format!(
                "{} is not served at apiVersion {api_version:?}; served versions: {}",
                kind.name(),
                kind.api_versions().join(", ")
            )));
            return;
        }
        KindLookup::Unknown => {
            let name = node
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string();
            out.skipped.push(Skipped {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                name,
                origin: format!("{file}:{line}"),
            });
            return;
        }
    };
    let api_version = api_version.to_string();
    let json = node.to_json();
    let mut meta: ObjectMeta = match json.get("metadata") {
        None | Some(serde_json::Value::Null) => ObjectMeta::default(),
        // serde would read a struct from a sequence too; Kubernetes would not.
        Some(m) if !m.is_object() => {
            out.errors.push(object_error(format!(
                "{kind}: metadata must be a mapping (name, namespace, labels, annotations)"
            )));
            return;
        }
        Some(m) => match decode::<ObjectMeta>(m) {
            Ok(m) => m,
            Err(e) => {
                out.errors.push(object_error(format!(
                    "{kind}: invalid metadata at {}: {}",
                    e.path, e.message
                )));
                return;
            }
        },
    };
    if meta.name.as_deref().unwrap_or("").is_empty() {
        // Fragments (documentation snippets, kustomize patches) often omit the name; analyze
        // them anyway under a name that says so rather than refusing the file.
        meta.name = Some(UNNAMED.to_string());
    }
    if kind_id.cluster_scoped() {
        meta.namespace = None;
    } else if meta.namespace.as_deref().unwrap_or("").is_empty() {
        meta.namespace = opts.default_namespace.clone();
    }
    if meta
        .namespace
        .as_deref()
        .is_some_and(|ns| opts.excluded_namespaces.iter().any(|e| e == ns))
    {
        return;
    }
    let spec = typed_spec(kind_id, &json);
    let conditions = json
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(|c| decode::<Vec<Condition>>(c).ok())
        .unwrap_or_default();
    out.resources.push(Resource {
        kind: kind_id,
        api_version,
        meta,
        origin: Origin {
            file: file.clone(),
            line,
        },
        node,
        spec,
        conditions,
    });
}

fn decode<T: DeserializeOwned>(v: &serde_json::Value) -> Result<T, SpecError> {
    serde_path_to_error::deserialize(v).map_err(|e| SpecError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

fn typed_spec(kind: Kind, json: &serde_json::Value) -> Spec {
    let null = serde_json::Value::Null;
    let empty = serde_json::Value::Object(serde_json::Map::new());
    let spec = match json.get("spec") {
        None | Some(serde_json::Value::Null) => &empty,
        Some(s) => s,
    };
    fn istio<T: DeserializeOwned>(v: &serde_json::Value, f: fn(T) -> Spec) -> Spec {
        match decode::<T>(v) {
            Ok(t) => f(t),
            Err(mut e) => {
                e.path = if e.path == "." {
                    "spec".to_string()
                } else {
                    format!("spec.{}", e.path)
                };
                Spec::Invalid(e)
            }
        }
    }
    fn lenient<T: DeserializeOwned + Default>(v: &serde_json::Value) -> T {
        decode::<T>(v).unwrap_or_default()
    }
    match kind {
        Kind::VirtualService => istio(spec, Spec::VirtualService),
        Kind::DestinationRule => istio(spec, Spec::DestinationRule),
        Kind::Gateway => istio(spec, Spec::Gateway),
        Kind::ServiceEntry => istio(spec, Spec::ServiceEntry),
        Kind::WorkloadEntry => istio(spec, Spec::WorkloadEntry),
        Kind::WorkloadGroup => istio(spec, Spec::WorkloadGroup),
        Kind::Sidecar => istio(spec, Spec::Sidecar),
        Kind::EnvoyFilter => istio(spec, Spec::EnvoyFilter),
        Kind::PeerAuthentication => istio(spec, Spec::PeerAuthentication),
        Kind::AuthorizationPolicy => istio(spec, Spec::AuthorizationPolicy),
        Kind::RequestAuthentication => istio(spec, Spec::RequestAuthentication),
        Kind::Telemetry => istio(spec, Spec::Telemetry),
        Kind::Service => Spec::Service(lenient::<ServiceSpec>(spec)),
        Kind::Pod => Spec::Pod(lenient::<PodSpec>(spec)),
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet | Kind::Job => {
            Spec::Workload(lenient::<WorkloadSpec>(spec))
        }
        Kind::CronJob => Spec::CronJob(lenient::<CronJobSpec>(spec)),
        Kind::ConfigMap => Spec::ConfigMap(
            json.get("data")
                .map(|d| {
                    d.as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| {
                                    let text =
                                        v.as_str().map_or_else(|| v.to_string(), str::to_string);
                                    (k.clone(), text)
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .unwrap_or_default(),
        ),
        Kind::Secret => {
            let mut keys: Vec<String> = ["data", "stringData"]
                .iter()
                .filter_map(|f| json.get(*f).and_then(|d| d.as_object()))
                .flat_map(|m| m.keys().cloned())
                .collect();
            keys.sort();
            keys.dedup();
            Spec::Secret {
                type_: json
                    .get("type")
                    .and_then(|t| t.as_str())
                    .map(str::to_string),
                keys,
            }
        }
        Kind::MutatingWebhookConfiguration | Kind::ValidatingWebhookConfiguration => {
            Spec::Webhooks(lenient::<Vec<Webhook>>(
                json.get("webhooks").unwrap_or(&null),
            ))
        }
        _ => Spec::Opaque(spec.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> LoadOptions {
        LoadOptions {
            default_namespace: Some("default".into()),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn objects_get_the_default_namespace_and_document_lines() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\n# note\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n";
        let r = parse_file("f.yaml", text, &opts());
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.resources.len(), 2);
        assert_eq!(r.resources[0].friendly_name(), "Service default/a");
        assert_eq!(r.resources[0].origin.line, 1);
        assert_eq!(r.resources[1].friendly_name(), "Namespace ns");
        // The comment opens the document, as istioctl counts it.
        assert_eq!(r.resources[1].origin.line, 6);
    }

    #[test]
    fn documents_start_at_their_first_non_blank_line() {
        let text = "---\n\n# a\n# b\n\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n";
        let r = parse_file("f.yaml", text, &opts());
        assert_eq!(r.resources[0].origin.line, 3);
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n";
        assert_eq!(
            parse_file("f.yaml", text, &opts()).resources[0].origin.line,
            1
        );
    }

    #[test]
    fn files_named_twice_are_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n").unwrap();
        let mut ignored = Vec::new();
        let inputs = expand_inputs(
            &[
                Input::Path(f.clone()),
                Input::Path(dir.path().to_path_buf()),
            ],
            &mut ignored,
        );
        assert_eq!(inputs, vec![Input::Path(f)]);
    }

    #[test]
    fn metadata_and_list_items_must_have_their_shapes() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: []\n";
        let r = parse_file("f.yaml", text, &opts());
        assert!(r.resources.is_empty());
        assert!(
            r.errors[0]
                .to_string()
                .contains("metadata must be a mapping"),
            "{:?}",
            r.errors
        );
        let text = "apiVersion: v1\nkind: List\nitems: {a: 1}\n";
        let r = parse_file("f.yaml", text, &opts());
        assert!(
            r.errors[0].to_string().contains("items must be a list"),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn istio_kinds_at_a_wrong_api_version_are_errors() {
        for api in ["networking.istio.io", "security.istio.io/v1", "v1"] {
            let text = format!("apiVersion: {api}\nkind: VirtualService\nmetadata: {{name: a}}\n");
            let r = parse_file("f.yaml", &text, &opts());
            assert!(r.resources.is_empty() && r.skipped.is_empty(), "{api}");
            assert!(
                r.errors[0]
                    .to_string()
                    .contains("served versions: networking.istio.io/v1alpha3"),
                "{api}: {:?}",
                r.errors
            );
        }
    }

    #[test]
    fn lists_are_unpacked() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n";
        let r = parse_file("f.yaml", text, &opts());
        assert_eq!(r.resources.len(), 2);
        assert_eq!(r.resources[1].origin.line, 7);
    }

    #[test]
    fn unknown_versions_name_the_served_ones() {
        let text =
            "apiVersion: networking.istio.io/v2\nkind: VirtualService\nmetadata: {name: a}\n";
        let r = parse_file("f.yaml", text, &opts());
        assert_eq!(
            r.errors[0].to_string(),
            "f.yaml:1: VirtualService is not served at apiVersion \"networking.istio.io/v2\"; served versions: networking.istio.io/v1alpha3, networking.istio.io/v1beta1, networking.istio.io/v1"
        );
    }

    #[test]
    fn unknown_kinds_are_skipped() {
        let text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\n";
        let r = parse_file("f.yaml", text, &opts());
        assert!(r.errors.is_empty() && r.resources.is_empty());
        assert_eq!(r.skipped.len(), 1);
    }

    #[test]
    fn bad_istio_specs_keep_the_error() {
        let text = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\nspec:\n  hosts: [a]\n  htp: []\n";
        let r = parse_file("f.yaml", text, &opts());
        match &r.resources[0].spec {
            Spec::Invalid(e) => assert!(e.message.contains("unknown field `htp`"), "{e:?}"),
            other => panic!("{other:?}"),
        }
    }
}
