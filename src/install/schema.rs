//! Which paths an IstioOperator may hold, from the JSON schema of the typed [`IstioOperator`]
//! (`schemars`), so the check and the decoder can never disagree.
//!
//! Every field of a file and every `--set` path is checked before the trees are merged, so an
//! error can name the file and line (or the flag). An unknown field is reported with its full path
//! and the closest valid path. Values are checked against the field's type, and a number or boolean
//! given for a string field becomes its text (`tag: 1.24`, `label: {version: 2}`), as Kubernetes
//! users expect; a string field with an `enum` takes only those names. `meshConfig` is checked
//! against Istio's MeshConfig field names ([`super::mesh_config`]) down to its well-known nested
//! messages; free-form fields (deeper mesh settings, `hpaSpec.behavior`, metric `target`) are not
//! looked into. Nulls are accepted anywhere: they mean "unset" and are dropped before decoding.
//!
//! Objects from k8s-openapi do not say `additionalProperties: false`, but k8s-openapi silently
//! drops unknown fields, so an object with declared properties is treated as closed.

use std::collections::VecDeque;
use std::fmt;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::iop::IstioOperator;
use super::set::{Path, Segment, describe};

/// The IstioOperator schema and the checks made with it.
pub struct Schema {
    root: Value,
}

/// The schema of Ferry's IstioOperator, built once.
pub fn istio_operator() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema {
        root: schemars::schema_for!(IstioOperator).to_value(),
    })
}

/// What is wrong at one path.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The offending field: what `--force` drops.
    pub path: Path,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// No such field; the closest valid path, or else the fields that exist there.
    UnknownField {
        suggestion: Option<Path>,
        known: Vec<String>,
    },
    /// The value has the wrong type.
    WrongType {
        expected: &'static str,
        found: String,
    },
    /// A list element or object lacks a field it must have (`ports[0].port`).
    MissingField { field: String },
    /// A field Ferry deliberately does not offer.
    Unsupported { reason: &'static str },
    /// A string that is not one of the names the field takes (an enum).
    NotOneOf {
        allowed: Vec<String>,
        found: String,
        /// The allowed name closest to the one given.
        suggestion: Option<String>,
    },
}

/// At most this many known fields are listed after an unknown one: beyond that (MeshConfig has
/// about fifty) the list hides the message.
const MAX_KNOWN_LISTED: usize = 16;

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.problem {
            Problem::UnknownField { suggestion, known } => {
                write!(f, "unknown field {path}")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean {s}?")?;
                } else if !known.is_empty() && known.len() <= MAX_KNOWN_LISTED {
                    write!(f, " (known fields here: {})", known.join(", "))?;
                }
                match path.segments().get(1) {
                    Some(Segment::Key(k)) if k == "values" => {
                        f.write_str("; Ferry accepts only the values it honours (see its README)")?;
                    }
                    Some(Segment::Key(k)) if k == "meshConfig" && suggestion.is_none() => {
                        f.write_str(
                            "; meshConfig takes the fields of Istio's MeshConfig \
                             (istio.mesh.v1alpha1), defaultConfig those of its ProxyConfig",
                        )?;
                    }
                    _ => {}
                }
                Ok(())
            }
            Problem::NotOneOf {
                allowed,
                found,
                suggestion,
            } => {
                write!(f, "{path}: {found:?} is not one of {}", allowed.join(", "))?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean {s}?")?;
                }
                Ok(())
            }
            Problem::WrongType { expected, found } => {
                write!(f, "{path}: expected {expected}, found {found}")
            }
            Problem::MissingField { field } => write!(f, "{path}: missing required field {field}"),
            Problem::Unsupported { reason } => write!(f, "{path}: {reason}"),
        }
    }
}

/// What a `--set` path leads to: how its value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// Free-form: the value as typed.
    Any,
    String,
    Integer {
        int32: bool,
    },
    Number,
    Boolean,
    /// Kubernetes int-or-string (ports, quantities).
    IntOrString,
    Object,
    Array,
}

/// A schema node reduced to what the checks need.
struct View<'a> {
    leaf: Leaf,
    /// The names a string field takes (`enum`), if it is restricted.
    names: Option<&'a Vec<Value>>,
    properties: Option<&'a Map<String, Value>>,
    additional: Additional<'a>,
    items: Option<&'a Value>,
    required: Vec<&'a str>,
}

enum Additional<'a> {
    /// Unknown keys are errors.
    Closed,
    /// Any key, any value.
    Open,
    /// Any key, values of this schema.
    Schema(&'a Value),
}

/// Past this depth the schema is not followed (k8s types are not recursive here, but a guard is
/// cheap).
const MAX_DEPTH: usize = 64;

impl Schema {
    fn lookup(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/$defs/")?;
        self.root.get("$defs")?.get(name)
    }

    fn view<'a>(&'a self, mut s: &'a Value) -> View<'a> {
        for _ in 0..MAX_DEPTH {
            if let Some(r) = s.get("$ref").and_then(Value::as_str)
                && let Some(target) = self.lookup(r)
            {
                s = target;
                continue;
            }
            if let Some(Value::Array(variants)) = s.get("anyOf") {
                let mut real = variants
                    .iter()
                    .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"));
                if let (Some(only), None) = (real.next(), real.next()) {
                    s = only;
                    continue;
                }
                return View::any();
            }
            break;
        }
        if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            return View::leaf(Leaf::IntOrString);
        }
        let ty = match s.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ => None,
        };
        let properties = s.get("properties").and_then(Value::as_object);
        match ty {
            Some("object") => View {
                leaf: Leaf::Object,
                names: None,
                properties,
                additional: match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => Additional::Closed,
                    Some(Value::Bool(true)) => Additional::Open,
                    Some(schema @ Value::Object(_)) => Additional::Schema(schema),
                    // k8s-openapi objects: closed when they declare fields (see the module docs).
                    _ if properties.is_some() => Additional::Closed,
                    _ => Additional::Open,
                },
                items: None,
                required: s
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default(),
            },
            Some("array") => View {
                items: s.get("items"),
                ..View::leaf(Leaf::Array)
            },
            Some("string") => View {
                names: s.get("enum").and_then(Value::as_array),
                ..View::leaf(Leaf::String)
            },
            Some("integer") => View::leaf(Leaf::Integer {
                int32: s.get("format").and_then(Value::as_str) == Some("int32"),
            }),
            Some("number") => View::leaf(Leaf::Number),
            Some("boolean") => View::leaf(Leaf::Boolean),
            _ => View::any(),
        }
    }

    /// Checks a whole document (from its root), turning numbers and booleans given for string
    /// fields into strings. The root's own required fields (`apiVersion`, `kind`) are checked by
    /// the caller, which knows what a missing one means.
    pub fn check_document(&self, doc: &mut Value) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut path = Path::default();
        self.check_value(&self.root, doc, &mut path, &mut out, 0);
        out
    }

    fn check_value(
        &self,
        schema: &Value,
        value: &mut Value,
        path: &mut Path,
        out: &mut Vec<Finding>,
        depth: usize,
    ) {
        if value.is_null() || depth > MAX_DEPTH {
            return;
        }
        let view = self.view(schema);
        let wrong = |expected: &'static str, value: &Value, path: &Path| Finding {
            path: path.clone(),
            problem: Problem::WrongType {
                expected,
                found: describe(value),
            },
        };
        match view.leaf {
            Leaf::Any => {}
            Leaf::Object => {
                let Value::Object(map) = value else {
                    out.push(wrong("a mapping", value, path));
                    return;
                };
                for (key, child) in map.iter_mut() {
                    let child_schema = match view.properties.and_then(|p| p.get(key)) {
                        Some(s) => s,
                        None => match view.additional {
                            Additional::Schema(s) => s,
                            Additional::Open => continue,
                            Additional::Closed => {
                                out.push(self.unknown(&path.key(key)));
                                continue;
                            }
                        },
                    };
                    path.push(Segment::Key(key.clone()));
                    self.check_value(child_schema, child, path, out, depth + 1);
                    path.pop();
                }
                if !path.is_empty() {
                    for field in view.required {
                        if !map.contains_key(field) {
                            out.push(Finding {
                                path: path.clone(),
                                problem: Problem::MissingField {
                                    field: field.to_string(),
                                },
                            });
                        }
                    }
                }
            }
            Leaf::Array => {
                let Value::Array(items) = value else {
                    out.push(wrong("a list", value, path));
                    return;
                };
                let Some(item_schema) = view.items else {
                    return;
                };
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Segment::Index(i));
                    self.check_value(item_schema, item, path, out, depth + 1);
                    path.pop();
                }
            }
            Leaf::String => {
                match value {
                    Value::String(_) => {}
                    Value::Number(n) => *value = Value::String(n.to_string()),
                    Value::Bool(b) => *value = Value::String(b.to_string()),
                    _ => return out.push(wrong("a string", value, path)),
                }
                if let (Some(names), Value::String(found)) = (view.names, &*value)
                    && !names.iter().any(|n| n.as_str() == Some(found))
                {
                    out.push(not_one_of(names, found, path));
                }
            }
            Leaf::Integer { int32 } => {
                let fits = match value.as_i64() {
                    Some(i) => !int32 || i32::try_from(i).is_ok(),
                    None => false,
                };
                if !fits {
                    let expected = if int32 {
                        "an integer (32-bit)"
                    } else {
                        "an integer"
                    };
                    out.push(wrong(expected, value, path));
                }
            }
            Leaf::Number => {
                if !value.is_number() {
                    out.push(wrong("a number", value, path));
                }
            }
            Leaf::Boolean => {
                if !value.is_boolean() {
                    out.push(wrong("true or false", value, path));
                }
            }
            Leaf::IntOrString => {
                if !(value.is_number() || value.is_string()) {
                    out.push(wrong("an integer or a string", value, path));
                }
            }
        }
    }

    /// Checks a `--set` value (already read for its field's type) at `path`, which
    /// [`Schema::check_path`] accepted: what the type alone does not say, such as enum names.
    pub fn check_set_value(&self, path: &Path, value: &mut Value) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Ok(schema) = self.schema_at(path.segments()) {
            let mut at = path.clone();
            self.check_value(schema, value, &mut at, &mut out, 0);
        }
        out
    }

    /// The schema at `path` (keys, indexes and selectors), if the path is valid.
    fn schema_at(&self, path: &[Segment]) -> Result<&Value, usize> {
        let mut cur = &self.root;
        for (i, seg) in path.iter().enumerate() {
            let view = self.view(cur);
            cur = match (seg, view.leaf) {
                (_, Leaf::Any) => return Ok(&ANY),
                (Segment::Key(k), Leaf::Object) => {
                    match (view.properties.and_then(|p| p.get(k)), view.additional) {
                        (Some(s), _) | (None, Additional::Schema(s)) => s,
                        (None, Additional::Open) => return Ok(&ANY),
                        (None, Additional::Closed) => return Err(i),
                    }
                }
                (Segment::Index(_) | Segment::Select { .. }, Leaf::Array) => {
                    view.items.unwrap_or(&ANY)
                }
                _ => return Err(i),
            };
        }
        Ok(cur)
    }

    /// Checks a `--set` path and says how its value is read. On error, the index of the segment
    /// at fault and the finding.
    pub fn check_path(&self, path: &Path) -> Result<Leaf, (usize, Finding)> {
        let segs = path.segments();
        match self.schema_at(segs) {
            Ok(s) => {
                // A selector's field must exist in the list's elements.
                for (i, seg) in segs.iter().enumerate() {
                    if let Segment::Select { key, value } = seg {
                        let items = Path::new(segs[..i].to_vec()).index(0);
                        if self.schema_at(items.key(key).segments()).is_ok() {
                            continue;
                        }
                        // Report and suggest in the selector's own form, `list[field:value]`.
                        let selector = |field: &str| {
                            let mut p = Path::new(segs[..i].to_vec());
                            p.push(Segment::Select {
                                key: field.to_string(),
                                value: value.clone(),
                            });
                            p
                        };
                        let mut finding = self.unknown(&items.key(key));
                        finding.path = selector(key);
                        if let Problem::UnknownField { suggestion, .. } = &mut finding.problem {
                            *suggestion =
                                suggestion
                                    .take()
                                    .and_then(|s| match s.segments().get(i + 1) {
                                        Some(Segment::Key(field)) => Some(selector(field)),
                                        _ => None,
                                    });
                        }
                        return Err((i, finding));
                    }
                }
                Ok(self.view(s).leaf)
            }
            Err(i) => {
                let prefix = Path::new(segs[..i].to_vec());
                let finding = match (
                    &segs[i],
                    self.schema_at(prefix.segments()).map(|s| self.view(s).leaf),
                ) {
                    (Segment::Key(_), Ok(Leaf::Object)) => self.unknown_with_rest(path, i),
                    (Segment::Key(k), Ok(leaf)) => Finding {
                        path: path.prefix(i + 1),
                        problem: Problem::WrongType {
                            expected: "a field of a mapping",
                            found: format!("{k:?} under {prefix}, which holds {}", leaf_name(leaf)),
                        },
                    },
                    (_, leaf) => Finding {
                        path: path.prefix(i + 1),
                        problem: Problem::WrongType {
                            expected: "a list to index",
                            found: format!(
                                "{prefix}, which holds {}",
                                leaf.map_or("nothing", leaf_name)
                            ),
                        },
                    },
                };
                Err((i, finding))
            }
        }
    }

    /// The unknown field at the end of `path`.
    fn unknown(&self, path: &Path) -> Finding {
        self.unknown_with_rest(path, path.len().saturating_sub(1))
    }

    /// `path` is unknown from segment `bad` on (a field name); suggest the closest valid path,
    /// keeping what follows the bad segment when it is valid there.
    fn unknown_with_rest(&self, path: &Path, bad: usize) -> Finding {
        let segs = path.segments();
        let report = path.prefix(bad + 1);
        if segs.len() == 2 && segs[1] == Segment::Key("installPackagePath".to_string()) {
            return Finding {
                path: report,
                problem: Problem::Unsupported {
                    reason: "not supported: Ferry's profiles and manifests are built into ferryctl",
                },
            };
        }
        if bad == 2
            && segs[1] == Segment::Key("meshConfig".to_string())
            && let Segment::Key(name) = &segs[2]
            && super::mesh_config::REMOVED_FIELDS.contains(&name.as_str())
        {
            return Finding {
                path: report,
                problem: Problem::Unsupported {
                    reason: "Istio removed this MeshConfig field (it configured Mixer, the old \
                             SDS or Thrift, which Istio no longer has); delete it",
                },
            };
        }
        let Some(Segment::Key(name)) = segs.get(bad) else {
            return Finding {
                path: report,
                problem: Problem::UnknownField {
                    suggestion: None,
                    known: Vec::new(),
                },
            };
        };
        let parent = path.prefix(bad);
        let rest = &segs[bad + 1..];
        let known: Vec<String> = self
            .schema_at(parent.segments())
            .ok()
            .and_then(|s| self.view(s).properties)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let with_rest = |candidate: Path| {
            let mut full = candidate.clone();
            for s in rest {
                full.push(s.clone());
            }
            if self.schema_at(full.segments()).is_ok() {
                full
            } else {
                // What follows does not fit the suggestion either; suggest the field alone.
                candidate
            }
        };
        // A sibling spelled almost the same.
        let limit = (name.chars().count() / 3).max(1);
        let sibling = known
            .iter()
            .map(|k| (edit_distance(&k.to_lowercase(), &name.to_lowercase()), k))
            .filter(|(d, _)| *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| parent.key(k));
        let suggestion = sibling.map(with_rest).or_else(|| {
            // The same field deeper down or further up: `components.pilot.replicaCount` is
            // `components.pilot.k8s.replicaCount`. Search from the parent outwards.
            (0..=bad)
                .rev()
                .find_map(|level| self.find_field(&path.prefix(level), name).map(with_rest))
        });
        Finding {
            path: report,
            problem: Problem::UnknownField {
                known: if suggestion.is_some() {
                    Vec::new()
                } else {
                    known
                },
                suggestion,
            },
        }
    }

    /// The shallowest path under `base` (at most a few levels down) whose last field is `name`,
    /// compared without case.
    fn find_field(&self, base: &Path, name: &str) -> Option<Path> {
        const MAX_DOWN: usize = 4;
        let want = name.to_lowercase();
        let start = self.schema_at(base.segments()).ok()?;
        let mut queue = VecDeque::from([(base.clone(), start, 0usize)]);
        while let Some((path, schema, down)) = queue.pop_front() {
            let view = self.view(schema);
            match view.leaf {
                Leaf::Object => {
                    for (k, s) in view.properties.into_iter().flatten() {
                        let child = path.key(k);
                        if k.to_lowercase() == want {
                            return Some(child);
                        }
                        if down + 1 < MAX_DOWN {
                            queue.push_back((child, s, down + 1));
                        }
                    }
                }
                Leaf::Array => {
                    if let Some(items) = view.items
                        && down + 1 < MAX_DOWN
                    {
                        queue.push_back((path.index(0), items, down + 1));
                    }
                }
                _ => {}
            }
        }
        None
    }
}

static ANY: Value = Value::Bool(true);

/// `found` is not among `names` (an enum's JSON values).
fn not_one_of(names: &[Value], found: &str, path: &Path) -> Finding {
    let allowed: Vec<String> = names
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let limit = (found.chars().count() / 3).max(1);
    let suggestion = allowed
        .iter()
        .map(|n| (edit_distance(&n.to_lowercase(), &found.to_lowercase()), n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone());
    Finding {
        path: path.clone(),
        problem: Problem::NotOneOf {
            allowed,
            found: found.to_string(),
            suggestion,
        },
    }
}

impl View<'_> {
    fn leaf(leaf: Leaf) -> Self {
        View {
            leaf,
            names: None,
            properties: None,
            additional: Additional::Open,
            items: None,
            required: Vec::new(),
        }
    }

    fn any() -> Self {
        View::leaf(Leaf::Any)
    }
}

fn leaf_name(leaf: Leaf) -> &'static str {
    match leaf {
        Leaf::Any => "anything",
        Leaf::String => "a string",
        Leaf::Integer { .. } => "an integer",
        Leaf::Number => "a number",
        Leaf::Boolean => "a boolean",
        Leaf::IntOrString => "an integer or a string",
        Leaf::Object => "a mapping",
        Leaf::Array => "a list",
    }
}

/// Reads a `--set` value for a field of kind `leaf`: strings keep the text as written (so
/// `--set tag=1.20` is `"1.20"`, not `1.2`), integer-or-string fields take integers as numbers.
/// `Err` names what the field expects.
pub fn read_set_value(leaf: Leaf, raw: &str, typed: &Value) -> Result<Value, &'static str> {
    match leaf {
        Leaf::Any => Ok(typed.clone()),
        Leaf::String => Ok(Value::String(match typed {
            Value::String(s) => s.clone(),
            _ => raw.to_string(),
        })),
        Leaf::Integer { int32 } => match typed.as_i64() {
            Some(i) if !int32 || i32::try_from(i).is_ok() => Ok(typed.clone()),
            _ if int32 => Err("an integer (32-bit)"),
            _ => Err("an integer"),
        },
        Leaf::Number if typed.is_number() => Ok(typed.clone()),
        Leaf::Number => Err("a number"),
        Leaf::Boolean if typed.is_boolean() => Ok(typed.clone()),
        Leaf::Boolean => Err("true or false"),
        Leaf::IntOrString if typed.is_i64() => Ok(typed.clone()),
        Leaf::IntOrString => Ok(Value::String(match typed {
            Value::String(s) => s.clone(),
            _ => raw.to_string(),
        })),
        Leaf::Object => Err("a mapping (use -f for mappings)"),
        Leaf::Array => Err("a list (use -f for lists, or set its elements with [N])"),
    }
}

/// Levenshtein distance, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set_path(rel: &str) -> Path {
        Path::parse(&format!("spec.{rel}")).expect("valid syntax")
    }

    /// The finding for a `--set` path, as displayed.
    fn path_error(rel: &str) -> String {
        let (_, finding) = istio_operator().check_path(&set_path(rel)).expect_err(rel);
        finding.to_string()
    }

    fn leaf(rel: &str) -> Leaf {
        istio_operator()
            .check_path(&set_path(rel))
            .unwrap_or_else(|(_, f)| panic!("{rel}: {f}"))
    }

    #[test]
    fn known_paths_lead_to_their_type() {
        assert_eq!(
            leaf("components.pilot.k8s.replicaCount"),
            Leaf::Integer { int32: true }
        );
        assert_eq!(leaf("hub"), Leaf::String);
        assert_eq!(leaf("components.ingressGateways[0].enabled"), Leaf::Boolean);
        assert_eq!(
            leaf("components.ingressGateways[name:istio-ingressgateway].k8s.service.type"),
            Leaf::String
        );
        assert_eq!(
            leaf("components.ingressGateways[0].k8s.service.ports[0].targetPort"),
            Leaf::IntOrString
        );
        assert_eq!(
            leaf("components.pilot.k8s.resources.requests.cpu"),
            Leaf::IntOrString
        );
        assert_eq!(leaf("values.pilot.traceSampling"), Leaf::Number);
        assert_eq!(leaf("values.pilot.env.ANY_NAME"), Leaf::String);
        assert_eq!(
            leaf(
                "values.sidecarInjectorWebhook.injectedAnnotations.container\\.apparmor\\.security\\.beta\\.kubernetes\\.io/istio-proxy"
            ),
            Leaf::String
        );
    }

    #[test]
    fn mesh_config_holds_istios_mesh_and_proxy_config_fields() {
        assert_eq!(leaf("meshConfig.accessLogFile"), Leaf::String);
        assert_eq!(leaf("meshConfig.enableTracing"), Leaf::Boolean);
        assert_eq!(
            leaf("meshConfig.proxyListenPort"),
            Leaf::Integer { int32: true }
        );
        assert_eq!(leaf("meshConfig.outboundTrafficPolicy.mode"), Leaf::String);
        assert_eq!(leaf("meshConfig.meshMTLS.minProtocolVersion"), Leaf::String);
        assert_eq!(
            leaf("meshConfig.defaultConfig.proxyMetadata.X"),
            Leaf::String
        );
        assert_eq!(
            leaf("meshConfig.defaultConfig.tracing.sampling"),
            Leaf::Number
        );
        assert_eq!(
            leaf("meshConfig.defaultConfig.holdApplicationUntilProxyStarts"),
            Leaf::Boolean
        );
        // Deprecated fields Istio still accepts.
        assert_eq!(leaf("meshConfig.verifyCertificateAtClient"), Leaf::Boolean);
        assert_eq!(leaf("meshConfig.defaultConfig.zipkinAddress"), Leaf::String);
        // Deeper messages are free-form.
        assert_eq!(
            leaf("meshConfig.extensionProviders[0].zipkin.port"),
            Leaf::Any
        );
        assert_eq!(
            leaf("meshConfig.localityLbSetting.failover[0].from"),
            Leaf::Any
        );
        assert_eq!(
            leaf("meshConfig.defaultConfig.gatewayTopology.x"),
            Leaf::Any
        );

        assert_eq!(
            path_error("meshConfig.acessLogFile"),
            "unknown field spec.meshConfig.acessLogFile; did you mean spec.meshConfig.accessLogFile?"
        );
        assert_eq!(
            path_error("meshConfig.defaultConfig.tracing.samplng"),
            "unknown field spec.meshConfig.defaultConfig.tracing.samplng; did you mean spec.meshConfig.defaultConfig.tracing.sampling?"
        );
        // A ProxyConfig field given at the MeshConfig level.
        assert_eq!(
            path_error("meshConfig.holdApplicationUntilProxyStarts"),
            "unknown field spec.meshConfig.holdApplicationUntilProxyStarts; did you mean spec.meshConfig.defaultConfig.holdApplicationUntilProxyStarts?"
        );
        assert_eq!(
            path_error("meshConfig.nothingLikeIt"),
            "unknown field spec.meshConfig.nothingLikeIt; meshConfig takes the fields of Istio's MeshConfig (istio.mesh.v1alpha1), defaultConfig those of its ProxyConfig"
        );
        assert_eq!(
            path_error("meshConfig.disablePolicyChecks"),
            "spec.meshConfig.disablePolicyChecks: Istio removed this MeshConfig field (it configured Mixer, the old SDS or Thrift, which Istio no longer has); delete it"
        );
    }

    #[test]
    fn enum_fields_take_their_names() {
        let schema = istio_operator();
        let mut value = json!("ALLOW_ALL");
        let findings = schema.check_set_value(
            &set_path("meshConfig.outboundTrafficPolicy.mode"),
            &mut value,
        );
        assert_eq!(
            findings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "spec.meshConfig.outboundTrafficPolicy.mode: \"ALLOW_ALL\" is not one of REGISTRY_ONLY, ALLOW_ANY; did you mean ALLOW_ANY?"
            ]
        );
        let mut value = json!("REGISTRY_ONLY");
        assert!(
            schema
                .check_set_value(
                    &set_path("meshConfig.outboundTrafficPolicy.mode"),
                    &mut value
                )
                .is_empty()
        );
    }

    #[test]
    fn free_form_fields_take_anything() {
        assert_eq!(leaf("meshConfig.defaultProviders.tracing[0]"), Leaf::String);
        assert_eq!(leaf("meshConfig.tcpKeepalive.time"), Leaf::Any);
        assert_eq!(
            leaf("components.pilot.k8s.hpaSpec.behavior.scaleDown.policies[0].type"),
            Leaf::Any
        );
        assert_eq!(
            leaf("components.pilot.k8s.hpaSpec.metrics[0].resource.target.averageUtilization"),
            Leaf::Any
        );
    }

    #[test]
    fn unknown_fields_name_the_full_path_and_the_closest_valid_one() {
        assert_eq!(
            path_error("components.pilot.k8s.replicaCont"),
            "unknown field spec.components.pilot.k8s.replicaCont; did you mean spec.components.pilot.k8s.replicaCount?"
        );
        // A typo earlier in the path keeps the rest.
        assert_eq!(
            path_error("components.pilott.k8s.replicaCount"),
            "unknown field spec.components.pilott; did you mean spec.components.pilot.k8s.replicaCount?"
        );
        // The field one level down.
        assert_eq!(
            path_error("components.pilot.replicaCount"),
            "unknown field spec.components.pilot.replicaCount; did you mean spec.components.pilot.k8s.replicaCount?"
        );
        // The field elsewhere under the same ancestor.
        assert_eq!(
            path_error("values.pilot.hub"),
            "unknown field spec.values.pilot.hub; did you mean spec.values.global.hub?; Ferry accepts only the values it honours (see its README)"
        );
        // Case.
        assert_eq!(
            path_error("meshconfig.accessLogFile"),
            "unknown field spec.meshconfig; did you mean spec.meshConfig.accessLogFile?"
        );
        // Kubernetes objects are closed too.
        assert_eq!(
            path_error("components.pilot.k8s.resources.requsts.cpu"),
            "unknown field spec.components.pilot.k8s.resources.requsts; did you mean spec.components.pilot.k8s.resources.requests.cpu?"
        );
        // Nothing close: the fields that exist.
        assert_eq!(
            path_error("components.zzzzzz"),
            "unknown field spec.components.zzzzzz (known fields here: base, pilot, ingressGateways, egressGateways, cni, ztunnel)"
        );
        assert!(path_error("values.global.proxy.privileged").contains("see its README"));
    }

    #[test]
    fn selectors_must_name_a_field_of_the_elements() {
        assert_eq!(
            path_error("components.ingressGateways[nme:x].enabled"),
            "unknown field spec.components.ingressGateways[nme:x]; did you mean spec.components.ingressGateways[name:x]?"
        );
    }

    #[test]
    fn indexing_a_non_list_and_naming_a_field_of_a_scalar_are_errors() {
        assert!(path_error("components.pilot[0].enabled").contains("expected a list to index"));
        assert!(path_error("hub.registry").contains("expected a field of a mapping"));
    }

    #[test]
    fn set_values_follow_the_field_type() {
        let s = |leaf, raw: &str| read_set_value(leaf, raw, &crate::install::set::parse_value(raw));
        assert_eq!(
            s(Leaf::String, "1.20"),
            Ok(json!("1.20")),
            "tags keep their text"
        );
        assert_eq!(s(Leaf::String, "true"), Ok(json!("true")));
        assert_eq!(s(Leaf::String, "a\\,b"), Ok(json!("a,b")));
        assert_eq!(s(Leaf::Integer { int32: true }, "3"), Ok(json!(3)));
        assert_eq!(
            s(Leaf::Integer { int32: true }, "three"),
            Err("an integer (32-bit)")
        );
        assert_eq!(
            s(Leaf::Integer { int32: true }, "3000000000"),
            Err("an integer (32-bit)")
        );
        assert_eq!(s(Leaf::Boolean, "yes"), Err("true or false"));
        assert_eq!(s(Leaf::IntOrString, "8080"), Ok(json!(8080)));
        assert_eq!(s(Leaf::IntOrString, "http"), Ok(json!("http")));
        assert_eq!(s(Leaf::IntOrString, "0.5"), Ok(json!("0.5")));
        assert_eq!(s(Leaf::Any, "3"), Ok(json!(3)));
        assert!(s(Leaf::Object, "x").is_err());
    }

    #[test]
    fn documents_are_checked_everywhere_and_strings_coerced() {
        let mut doc = json!({
            "apiVersion": "install.istio.io/v1alpha1",
            "kind": "IstioOperator",
            "spec": {
                "tag": 1.24,
                "installPackagePath": "/x",
                "meshConfig": {
                    "accessLogFile": 1,
                    "enableTracing": "yes",
                    "acessLogEncoding": "JSON",
                    "outboundTrafficPolicy": {"mode": "allow_any"},
                    "defaultConfig": {"proxyMetadata": {"A": true}, "tracing": {"sampling": "1%"}},
                    "extensionProviders": [{"name": "x", "whatever": {"deep": [1, 2]}}],
                },
                "components": {
                    "pilot": {"k8s": {"replicaCont": 3, "replicaCount": "three"}, "label": {"version": 2}},
                    "ingressGateways": [{"name": "a", "enabled": "yes", "k8s": {"service": {"ports": [{"name": "http"}]}}}]
                },
                "values": {"global": {"hub": null}}
            }
        });
        let findings: Vec<String> = istio_operator()
            .check_document(&mut doc)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            findings,
            [
                "spec.installPackagePath: not supported: Ferry's profiles and manifests are built into ferryctl",
                "spec.meshConfig.enableTracing: expected true or false, found a string (\"yes\")",
                "unknown field spec.meshConfig.acessLogEncoding; did you mean spec.meshConfig.accessLogEncoding?",
                "spec.meshConfig.outboundTrafficPolicy.mode: \"allow_any\" is not one of REGISTRY_ONLY, ALLOW_ANY; did you mean ALLOW_ANY?",
                "spec.meshConfig.defaultConfig.tracing.sampling: expected a number, found a string (\"1%\")",
                "unknown field spec.components.pilot.k8s.replicaCont; did you mean spec.components.pilot.k8s.replicaCount?",
                "spec.components.pilot.k8s.replicaCount: expected an integer (32-bit), found a string (\"three\")",
                "spec.components.ingressGateways[0].enabled: expected true or false, found a string (\"yes\")",
                "spec.components.ingressGateways[0].k8s.service.ports[0]: missing required field port",
            ]
        );
        assert_eq!(doc["spec"]["tag"], json!("1.24"));
        assert_eq!(doc["spec"]["meshConfig"]["accessLogFile"], json!("1"));
        assert_eq!(
            doc["spec"]["meshConfig"]["defaultConfig"]["proxyMetadata"]["A"],
            json!("true")
        );
        assert_eq!(
            doc["spec"]["components"]["pilot"]["label"]["version"],
            json!("2")
        );
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("replicaCont", "replicaCount"), 1);
        assert_eq!(edit_distance("é", "e"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}

#[cfg(test)]
mod readme {
    use super::*;

    /// The `values.*` fields Ferry honours, down to Kubernetes types and maps (which are listed
    /// whole), in schema order.
    fn values_fields() -> Vec<String> {
        let schema = istio_operator();
        let mut out = Vec::new();
        let start = Path::parse("spec.values").expect("path");
        let mut stack = vec![(
            start,
            schema
                .schema_at(Path::parse("spec.values").expect("path").segments())
                .expect("values"),
        )];
        while let Some((path, s)) = stack.pop() {
            let is_k8s = s
                .get("$ref")
                .and_then(Value::as_str)
                .is_some_and(|r| r.contains("io.k8s."))
                || s.get("anyOf").and_then(Value::as_array).is_some_and(|v| {
                    v.iter().any(|x| {
                        x.get("$ref")
                            .and_then(Value::as_str)
                            .is_some_and(|r| r.contains("io.k8s."))
                    })
                });
            let view = schema.view(s);
            match (view.leaf, view.properties) {
                (Leaf::Object, Some(props)) if !is_k8s => {
                    for (k, child) in props.iter().rev() {
                        stack.push((path.key(k), child));
                    }
                }
                _ => out.push(path.strip_spec().expect("under spec").to_string()),
            }
        }
        out
    }

    #[test]
    fn the_readme_lists_every_honoured_value() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let missing: Vec<_> = values_fields()
            .into_iter()
            .filter(|f| !readme.contains(&format!("`{f}`")))
            .collect();
        assert!(missing.is_empty(), "README.md does not list {missing:#?}");
    }
}
