//! `manifest diff`: compares two manifests object by object, as istioctl (≤1.23) does. Objects
//! are identified by `Kind:namespace:name`; an object only in one manifest is reported missing
//! in the other, and a changed object lists its changed fields as
//! `spec.template.spec.containers[0].image: a -> b`. ConfigMap values that hold YAML (the mesh
//! config) are compared field by field too. `--verbose` shows a unified diff of the object's
//! YAML instead.
//!
//! Selection follows istioctl's flags: `--select` and `--ignore` take comma-separated
//! `Kind:namespace:name` patterns (`*` or an empty part matches anything), `--ignore` may add a
//! fourth part, a field path pattern to ignore inside the matching objects, and `--rename` maps
//! objects of the first manifest to new identities (`A->B`) before comparing. Unlike istioctl,
//! patterns match whole parts (`Service:*:istiod` does not match `istiod-canary`).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::config::emit;
use crate::config::yaml::{self, YamlError};

/// What makes a manifest or a pattern unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    #[error("{0}")]
    Yaml(YamlError),
    #[error(
        "document {document} (line {line}) is not a Kubernetes object: it needs `kind` and `metadata.name`"
    )]
    NotAnObject { document: usize, line: u32 },
    #[error(
        "{flag}: {pattern:?} is not a resource pattern; use Kind:namespace:name, e.g. Deployment:istio-system:*"
    )]
    BadPattern { flag: &'static str, pattern: String },
    #[error(
        "--rename: {0:?} is not a renaming pair; use A->B, e.g. Service:*:istiod->Service:*:istio-control"
    )]
    BadRename(String),
}

/// An object's identity: `Kind:namespace:name` (namespace empty for cluster-scoped objects).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.kind, self.namespace, self.name)
    }
}

impl ObjectKey {
    /// The identity of a parsed object, if it has a kind and a name.
    pub fn of(object: &Value) -> Option<ObjectKey> {
        let s = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
        let (kind, name) = (s("/kind"), s("/metadata/name"));
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(ObjectKey {
            kind: kind.to_string(),
            namespace: s("/metadata/namespace").to_string(),
            name: name.to_string(),
        })
    }
}

/// A `Kind:namespace:name[:path]` pattern; `*` in a part matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    kind: String,
    namespace: String,
    name: String,
    path: Option<String>,
}

impl Pattern {
    fn parse(flag: &'static str, s: &str, allow_path: bool) -> Result<Pattern, DiffError> {
        let parts: Vec<&str> = s.trim().splitn(4, ':').collect();
        if parts.len() < 3 || (parts.len() == 4 && !allow_path) {
            return Err(DiffError::BadPattern {
                flag,
                pattern: s.to_string(),
            });
        }
        Ok(Pattern {
            kind: parts[0].to_string(),
            namespace: parts[1].to_string(),
            name: parts[2].to_string(),
            path: parts
                .get(3)
                .filter(|p| !p.is_empty())
                .map(|p| p.to_string()),
        })
    }

    fn matches(&self, key: &ObjectKey) -> bool {
        part_matches(&self.kind, &key.kind)
            && part_matches(&self.namespace, &key.namespace)
            && part_matches(&self.name, &key.name)
    }

    /// `key` with this pattern's literal parts put in (a `*` or empty part keeps the old value).
    fn rename(&self, key: &ObjectKey) -> ObjectKey {
        let pick = |to: &str, from: &str| {
            if to.is_empty() || to == "*" {
                from.to_string()
            } else {
                to.to_string()
            }
        };
        ObjectKey {
            kind: pick(&self.kind, &key.kind),
            namespace: pick(&self.namespace, &key.namespace),
            name: pick(&self.name, &key.name),
        }
    }
}

fn part_matches(pattern: &str, text: &str) -> bool {
    pattern.is_empty() || glob(pattern, text)
}

/// `*` matches any run of characters, `?` one character; everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The flags of `manifest diff`, parsed.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub verbose: bool,
    select: Vec<Pattern>,
    ignore: Vec<Pattern>,
    rename: Vec<(Pattern, Pattern)>,
}

impl DiffOptions {
    /// From istioctl's flag values: comma-separated lists (`select` defaults to `::`).
    pub fn new(verbose: bool, select: &str, ignore: &str, rename: &str) -> Result<Self, DiffError> {
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        let select = list(select)
            .iter()
            .map(|p| Pattern::parse("--select", p, false))
            .collect::<Result<_, _>>()?;
        let ignore = list(ignore)
            .iter()
            .map(|p| Pattern::parse("--ignore", p, true))
            .collect::<Result<_, _>>()?;
        let rename = list(rename)
            .iter()
            .map(|pair| {
                let (from, to) = pair
                    .split_once("->")
                    .ok_or_else(|| DiffError::BadRename(pair.clone()))?;
                Ok((
                    Pattern::parse("--rename", from, false)?,
                    Pattern::parse("--rename", to, false)?,
                ))
            })
            .collect::<Result<_, DiffError>>()?;
        Ok(DiffOptions {
            verbose,
            select,
            ignore,
            rename,
        })
    }

    fn selected(&self, key: &ObjectKey) -> bool {
        (self.select.is_empty() || self.select.iter().any(|p| p.matches(key)))
            && !self
                .ignore
                .iter()
                .any(|p| p.path.is_none() && p.matches(key))
    }

    fn ignored_paths(&self, key: &ObjectKey) -> Vec<&str> {
        self.ignore
            .iter()
            .filter(|p| p.matches(key))
            .filter_map(|p| p.path.as_deref())
            .collect()
    }
}

/// The objects of a YAML stream (`kind: List` expanded), skipping empty documents.
pub fn parse_objects(text: &str) -> Result<Vec<Value>, DiffError> {
    let stream = yaml::parse_stream(text, yaml::Limits::default());
    if let Some(e) = stream.errors.into_iter().next() {
        return Err(DiffError::Yaml(e));
    }
    let mut out = Vec::new();
    for (i, doc) in stream.documents.iter().enumerate() {
        let v = doc.root.to_json();
        if v.is_null() {
            continue;
        }
        let items = match (v.get("kind").and_then(Value::as_str), v.get("items")) {
            (Some("List"), Some(Value::Array(items))) => items.clone(),
            _ => vec![v],
        };
        for item in items {
            if ObjectKey::of(&item).is_none() {
                return Err(DiffError::NotAnObject {
                    document: i + 1,
                    line: doc.start_line,
                });
            }
            out.push(item);
        }
    }
    Ok(out)
}

/// One changed field: its path and the values on each side (`None` where absent).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.old, &self.new) {
            (Some(a), Some(b)) => write!(f, "{}: {} -> {}", self.path, show(a), show(b)),
            (Some(a), None) => write!(f, "{}: {} ->", self.path, show(a)),
            (None, Some(b)) => write!(f, "{}: -> {}", self.path, show(b)),
            (None, None) => write!(f, "{}:", self.path),
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How one object differs.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectDiff {
    /// In the first manifest only (removed).
    MissingInB,
    /// In the second manifest only (added).
    MissingInA,
    /// In both, with these field changes and, with `--verbose`, a unified diff of the YAML.
    Changed {
        fields: Vec<FieldChange>,
        unified: Option<String>,
    },
}

/// The differences between two manifests, ordered by object identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManifestDiff {
    pub objects: Vec<(ObjectKey, ObjectDiff)>,
}

impl ManifestDiff {
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The report istioctl prints after `Differences in manifests are:`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (key, diff) in &self.objects {
            match diff {
                ObjectDiff::MissingInB => {
                    out.push_str(&format!("\n\nObject {key} is missing in B:\n\n"));
                }
                ObjectDiff::MissingInA => {
                    out.push_str(&format!("\n\nObject {key} is missing in A:\n\n"));
                }
                ObjectDiff::Changed { fields, unified } => {
                    out.push_str(&format!("\n\nObject {key} has diffs:\n\n"));
                    match unified {
                        Some(text) => out.push_str(text),
                        None => {
                            for f in fields {
                                out.push_str(&format!("{f}\n"));
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// Compares manifest `a` with manifest `b`.
pub fn diff(a: &[Value], b: &[Value], opts: &DiffOptions) -> ManifestDiff {
    let index = |objects: &[Value], rename: bool| -> BTreeMap<ObjectKey, Value> {
        let mut m = BTreeMap::new();
        for o in objects {
            let Some(mut key) = ObjectKey::of(o) else {
                continue;
            };
            if rename && let Some((_, to)) = opts.rename.iter().find(|(from, _)| from.matches(&key))
            {
                key = to.rename(&key);
            }
            if opts.selected(&key) {
                m.insert(key, o.clone());
            }
        }
        m
    };
    let am = index(a, true);
    let bm = index(b, false);
    let mut out = BTreeMap::new();
    for (key, ao) in &am {
        let Some(bo) = bm.get(key) else {
            out.insert(key.clone(), ObjectDiff::MissingInB);
            continue;
        };
        let ignored = opts.ignored_paths(key);
        let mut fields = Vec::new();
        compare(
            &mut Vec::new(),
            Some(&inline_configmap_yaml(ao)),
            Some(&inline_configmap_yaml(bo)),
            &ignored,
            &mut fields,
        );
        if fields.is_empty() {
            continue;
        }
        let unified = opts.verbose.then(|| {
            let (ay, by) = (emit::to_string(ao), emit::to_string(bo));
            similar::TextDiff::from_lines(&ay, &by)
                .unified_diff()
                .context_radius(3)
                .header("A", "B")
                .to_string()
        });
        out.insert(key.clone(), ObjectDiff::Changed { fields, unified });
    }
    for key in bm.keys() {
        if !am.contains_key(key) {
            out.insert(key.clone(), ObjectDiff::MissingInA);
        }
    }
    ManifestDiff {
        objects: out.into_iter().collect(),
    }
}

/// A ConfigMap whose `data` values are YAML mappings, with those values parsed, so that a
/// change inside the mesh config shows as `data.mesh.…` rather than as one long string.
fn inline_configmap_yaml(object: &Value) -> Value {
    let mut o = object.clone();
    if o.get("kind").and_then(Value::as_str) != Some("ConfigMap") {
        return o;
    }
    if let Some(Value::Object(data)) = o.get_mut("data") {
        for v in data.values_mut() {
            let Value::String(text) = v else { continue };
            let stream = yaml::parse_stream(text, yaml::Limits::default());
            if stream.errors.is_empty()
                && stream.documents.len() == 1
                && let parsed @ Value::Object(_) = stream.documents[0].root.to_json()
            {
                *v = parsed;
            }
        }
    }
    o
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_string(path: &[Segment<'_>]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                let plain = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if plain {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                } else {
                    s.push_str(&format!("[{}]", emit::double_quoted(k)));
                }
            }
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Null, absent, `""`, `{}` and `[]` all mean "not set" (istioctl does not report a change
/// between two of them).
fn is_unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn compare<'a>(
    path: &mut Vec<Segment<'a>>,
    a: Option<&'a Value>,
    b: Option<&'a Value>,
    ignored: &[&str],
    out: &mut Vec<FieldChange>,
) {
    if !path.is_empty() {
        let p = path_string(path);
        if ignored.iter().any(|pattern| glob(pattern, &p)) {
            return;
        }
    }
    match (a, b) {
        (Some(Value::Object(am)), Some(Value::Object(bm))) => {
            for (k, av) in am {
                path.push(Segment::Key(k));
                compare(path, Some(av), bm.get(k), ignored, out);
                path.pop();
            }
            for (k, bv) in bm {
                if !am.contains_key(k) {
                    path.push(Segment::Key(k));
                    compare(path, None, Some(bv), ignored, out);
                    path.pop();
                }
            }
        }
        // A mapping on one side only: list its fields, so added labels read as
        // `metadata.labels["a"]: -> b` rather than as one JSON value.
        (Some(Value::Object(m)), other) if !m.is_empty() && is_unset(other) => {
            for (k, v) in m {
                path.push(Segment::Key(k));
                compare(path, Some(v), None, ignored, out);
                path.pop();
            }
        }
        (other, Some(Value::Object(m))) if !m.is_empty() && is_unset(other) => {
            for (k, v) in m {
                path.push(Segment::Key(k));
                compare(path, None, Some(v), ignored, out);
                path.pop();
            }
        }
        (Some(Value::Array(aa)), Some(Value::Array(ba))) => {
            for i in 0..aa.len().max(ba.len()) {
                path.push(Segment::Index(i));
                compare(path, aa.get(i), ba.get(i), ignored, out);
                path.pop();
            }
        }
        _ => {
            if is_unset(a) && is_unset(b) || a == b {
                return;
            }
            let set = |v: Option<&Value>| (!is_unset(v)).then(|| v.cloned()).flatten();
            out.push(FieldChange {
                path: path_string(path),
                old: set(a),
                new: set(b),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(text: &str) -> Vec<Value> {
        parse_objects(text).expect("parses")
    }

    const A: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: discovery
        image: hub/ferry:1
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    rootNamespace: istio-system
    trustDomain: cluster.local
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: old
  namespace: istio-system
";

    const B: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
spec:
  template:
    spec:
      containers:
      - name: discovery
        image: hub/ferry:2
        args: [discovery]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
  labels:
    istio.io/rev: default
data:
  mesh: |-
    rootNamespace: istio-system
    trustDomain: example.org
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: new
  namespace: istio-system
";

    fn report(opts: &DiffOptions) -> String {
        diff(&objects(A), &objects(B), opts).render()
    }

    #[test]
    fn identical_manifests_have_no_diff() {
        let d = diff(&objects(A), &objects(A), &DiffOptions::default());
        assert!(d.is_empty());
    }

    #[test]
    fn fields_objects_and_mesh_config_changes_are_listed() {
        assert_eq!(
            report(&DiffOptions::default()),
            "

Object ConfigMap:istio-system:istio has diffs:

metadata.labels[\"istio.io/rev\"]: -> default
data.mesh.trustDomain: cluster.local -> example.org


Object Deployment:istio-system:istiod has diffs:

spec.replicas: 1 ->
spec.template.spec.containers[0].image: hub/ferry:1 -> hub/ferry:2
spec.template.spec.containers[0].args: -> [\"discovery\"]


Object ServiceAccount:istio-system:new is missing in A:



Object ServiceAccount:istio-system:old is missing in B:

"
        );
    }

    #[test]
    fn select_ignore_and_rename() {
        let only_deployments = DiffOptions::new(false, "Deployment:*:*", "", "").expect("ok");
        let text = report(&only_deployments);
        assert!(text.contains("Deployment:istio-system:istiod"), "{text}");
        assert!(!text.contains("ConfigMap"), "{text}");

        let ignore = DiffOptions::new(
            false,
            "::",
            "ServiceAccount::,Deployment:*:istiod:spec.template.spec.containers[0].*",
            "",
        )
        .expect("ok");
        let text = report(&ignore);
        assert!(!text.contains("ServiceAccount"), "{text}");
        assert!(!text.contains("image"), "{text}");
        assert!(text.contains("spec.replicas: 1 ->"), "{text}");

        let rename = DiffOptions::new(
            false,
            "ServiceAccount:*:*",
            "",
            "ServiceAccount:*:old->ServiceAccount:*:new",
        )
        .expect("ok");
        assert_eq!(
            diff(&objects(A), &objects(B), &rename).render(),
            "\n\nObject ServiceAccount:istio-system:new has diffs:\n\nmetadata.name: old -> new\n"
        );
    }

    #[test]
    fn verbose_shows_a_unified_diff() {
        let opts = DiffOptions::new(true, "Deployment:*:*", "", "").expect("ok");
        let text = report(&opts);
        assert!(text.contains("-        image: hub/ferry:1\n"), "{text}");
        assert!(text.contains("+        image: hub/ferry:2\n"), "{text}");
    }

    #[test]
    fn patterns_match_whole_parts() {
        let p = Pattern::parse("--select", "Service:*:istiod", false).expect("ok");
        let key = |name: &str| ObjectKey {
            kind: "Service".into(),
            namespace: "istio-system".into(),
            name: name.into(),
        };
        assert!(p.matches(&key("istiod")));
        assert!(!p.matches(&key("istiod-canary")));
        assert!(Pattern::parse("--select", "Service:x", false).is_err());
        assert!(DiffOptions::new(false, "::", "", "a->").is_err());
        assert!(DiffOptions::new(false, "::", "", "nope").is_err());
    }

    #[test]
    fn documents_that_are_not_objects_are_errors() {
        assert!(parse_objects("---\n---\n").expect("empty ok").is_empty());
        assert!(matches!(
            parse_objects("a: 1\n"),
            Err(DiffError::NotAnObject { document: 1, .. })
        ));
        let list = "apiVersion: v1\nkind: List\nitems:\n- {kind: ConfigMap, metadata: {name: a}}\n";
        assert_eq!(parse_objects(list).expect("list").len(), 1);
    }

    #[test]
    fn glob_matching() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*d", "abc"));
        assert!(glob("spec.*", "spec.template.spec"));
    }
}
