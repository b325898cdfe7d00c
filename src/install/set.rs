//! `--set path=value`: istioctl's grammar for overriding one IstioOperator field from the command
//! line (`operator/pkg/values/map.go`: `SetSpecPaths`, `ParseValue`), applied to an untyped tree.
//!
//! - Paths are relative to `spec` (a leading `spec.` is accepted, as istioctl 1.23 did).
//! - `.` separates fields and `\.` is a literal dot (annotation keys such as
//!   `container\.apparmor\.security\.beta\.kubernetes\.io/istio-proxy`).
//! - `name[N]` (or `name.[N]`) is element N of a list; an index past the end appends.
//! - `name[key:value]` is the element of a list whose field `key` is `value`.
//! - Values are typed as istioctl types them: integer, else float, else boolean (Go's
//!   `strconv.ParseBool` spellings), else a string in which `\,` is a comma. The schema later turns
//!   the value back into its text where the field is a string, so `--set tag=1.20` stays `"1.20"`.
//!
//! Malformed flags are errors that show the flag with a caret under the offending character.

use std::fmt;
use std::ops::Range;

use serde_json::{Map, Value};

/// One step of a path into an IstioOperator tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
    /// `[key:value]`: the list element whose field `key` equals `value`.
    Select {
        key: String,
        value: String,
    },
}

/// A path from the root of an IstioOperator document, e.g. `spec.components.pilot.k8s`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(Vec<Segment>);

impl Path {
    pub fn new(segments: Vec<Segment>) -> Path {
        Path(segments)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub fn pop(&mut self) -> Option<Segment> {
        self.0.pop()
    }

    /// This path with one more field.
    pub fn key(&self, key: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    /// This path with one more list index.
    pub fn index(&self, index: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }

    /// The first `n` segments.
    pub fn prefix(&self, n: usize) -> Path {
        Path(self.0[..n.min(self.0.len())].to_vec())
    }

    /// Parses a path in the `--set` grammar, as written (no `spec.` is added or removed).
    pub fn parse(text: &str) -> Result<Path, SyntaxError> {
        parse_path(text, 0).map(|segs| Path(segs.into_iter().map(|(s, _)| s).collect()))
    }

    /// This path relative to `spec`, when it is under `spec`.
    pub fn strip_spec(&self) -> Option<Path> {
        match self.0.first() {
            Some(Segment::Key(k)) if k == "spec" => Some(Path(self.0[1..].to_vec())),
            _ => None,
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(&escape_key(k))?;
                }
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Select { key, value } => write!(f, "[{key}:{value}]")?,
            }
        }
        Ok(())
    }
}

/// A field name as the `--set` grammar writes it: dots escaped.
pub fn escape_key(key: &str) -> String {
    key.replace('.', "\\.")
}

/// A malformed path: what is wrong and the byte offset it is wrong at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// A `--set` flag that could not be used: the flag, where in it the problem is, and what it is.
/// Displayed with the flag and a caret under the offending character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --set: {message}\n    --set {arg}\n    {caret}^", caret = caret_pad(.arg, *.offset))]
pub struct SetError {
    pub arg: String,
    /// Byte offset into `arg`.
    pub offset: usize,
    pub message: String,
}

/// Spaces that put a caret under byte `offset` of `arg` printed after `--set `.
fn caret_pad(arg: &str, offset: usize) -> String {
    let before = arg.get(..offset).unwrap_or(arg);
    " ".repeat("--set ".len() + before.chars().count())
}

/// The message istioctl's profile and `-d` flags lead to; Ferry has no install package to point at.
pub const INSTALL_PACKAGE_PATH_UNSUPPORTED: &str = "installPackagePath is not supported: Ferry's \
     profiles and manifests are built into ferryctl, so there is no install package to point at";

/// One parsed `--set path=value` flag.
#[derive(Debug, Clone, PartialEq)]
pub struct SetFlag {
    /// The flag as given.
    pub arg: String,
    /// The absolute path, starting at `spec`.
    pub path: Path,
    /// Byte range in `arg` of each segment of `path` (`spec` included, empty when implied).
    spans: Vec<Range<usize>>,
    /// The value as written, trimmed.
    pub raw: String,
    /// The value typed as istioctl types it.
    pub value: Value,
}

impl SetFlag {
    /// Parses `path=value`. The first `=` ends the path, so values may hold `=`.
    pub fn parse(arg: &str) -> Result<SetFlag, SetError> {
        let err = |offset: usize, message: String| SetError {
            arg: arg.to_string(),
            offset,
            message,
        };
        let Some(eq) = arg.find('=') else {
            return Err(err(
                arg.len(),
                "expected path=value (e.g. --set profile=demo), found no '='".to_string(),
            ));
        };
        let path_text = &arg[..eq];
        let lead = path_text.len() - path_text.trim_start().len();
        let path_text = path_text.trim();
        if path_text.is_empty() {
            return Err(err(lead, "missing the path before '='".to_string()));
        }
        let mut segs = parse_path(path_text, lead).map_err(|e| err(e.offset, e.message))?;
        // Paths are relative to spec; istioctl 1.23 also accepted them with the `spec.` prefix.
        let implied_spec = !matches!(segs.first(), Some((Segment::Key(k), _)) if k == "spec");
        if implied_spec {
            segs.insert(0, (Segment::Key("spec".to_string()), lead..lead));
        }
        if segs.len() == 1 {
            return Err(err(
                lead,
                "the path names all of spec; name a field in it".to_string(),
            ));
        }
        let raw = arg[eq + 1..].trim().to_string();
        let (path, spans): (Vec<_>, Vec<_>) = segs.into_iter().unzip();
        let path = Path(path);
        if matches!(path.segments(), [_, Segment::Key(k)] if k == "installPackagePath") {
            return Err(err(
                spans[1].start,
                INSTALL_PACKAGE_PATH_UNSUPPORTED.to_string(),
            ));
        }
        let value = if always_string(&path) {
            Value::String(raw.clone())
        } else {
            parse_value(&raw)
        };
        Ok(SetFlag {
            arg: arg.to_string(),
            path,
            spans,
            raw,
            value,
        })
    }

    /// An error pointing at segment `segment` of the path.
    pub fn error_at(&self, segment: usize, message: impl Into<String>) -> SetError {
        let offset = self
            .spans
            .get(segment)
            .or_else(|| self.spans.last())
            .map_or(0, |r| r.start);
        SetError {
            arg: self.arg.clone(),
            offset,
            message: message.into(),
        }
    }

    /// An error pointing at the value.
    pub fn error_at_value(&self, message: impl Into<String>) -> SetError {
        let eq = self.arg.find('=').map_or(0, |i| i + 1);
        let lead = self.arg[eq..].len() - self.arg[eq..].trim_start().len();
        SetError {
            arg: self.arg.clone(),
            offset: eq + lead,
            message: message.into(),
        }
    }

    /// Whether this flag sets `spec.<field>` itself (`profile`, `revision`, `hub`, `tag`).
    pub fn sets_spec_field(&self, field: &str) -> bool {
        matches!(self.path.segments(), [_, Segment::Key(k)] if k == field)
    }

    /// Sets the flag's path in `root` to `value` (normally [`SetFlag::value`], or the schema's
    /// reading of [`SetFlag::raw`]).
    pub fn apply(&self, root: &mut Value, value: Value) -> Result<(), SetError> {
        apply(root, self.path.segments(), value).map_err(|e| self.error_at(e.segment, e.message))
    }
}

/// istioctl's `alwaysString`: fields whose values stay strings whatever they look like.
fn always_string(path: &Path) -> bool {
    let keys: Vec<&str> = path
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Key(k) => k.as_str(),
            _ => "",
        })
        .collect();
    matches!(
        keys.as_slice(),
        ["spec", "compatibilityVersion"]
            | ["spec", "values", "compatibilityVersion"]
            | [
                "spec",
                "meshConfig",
                "defaultConfig",
                "proxyMetadata",
                _,
                ..
            ]
            | [
                "spec",
                "values",
                "meshConfig",
                "defaultConfig",
                "proxyMetadata",
                _,
                ..
            ]
    )
}

/// Types a `--set` value as istioctl's `util.ParseValue` does: `strconv.Atoi`, then
/// `strconv.ParseFloat`, then `strconv.ParseBool`, else a string with `\,` unescaped. Infinities
/// and NaN stay strings (JSON cannot hold them).
pub fn parse_value(raw: &str) -> Value {
    if let Ok(i) = raw.parse::<i64>() {
        return Value::from(i);
    }
    if looks_like_go_float(raw)
        && let Ok(f) = raw.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    match raw {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Value::Bool(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Value::Bool(false),
        _ => Value::String(raw.replace("\\,", ",")),
    }
}

/// Decimal floats as Go writes them (Rust also reads `inf` and `nan`, which are not numbers here).
fn looks_like_go_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
}

/// Parses a path; offsets in errors and spans are shifted by `base` (the path's place in the flag).
fn parse_path(text: &str, base: usize) -> Result<Vec<(Segment, Range<usize>)>, SyntaxError> {
    let err = |at: usize, message: &str| SyntaxError {
        offset: base + at,
        message: message.to_string(),
    };
    let bytes = text.as_bytes();
    let mut out: Vec<(Segment, Range<usize>)> = Vec::new();
    let mut i = 0;
    if text.is_empty() {
        return Err(err(0, "the path is empty"));
    }
    loop {
        // At the start of a segment.
        match bytes.get(i) {
            None => return Err(err(i, "the path ends with '.'; remove it or name a field")),
            Some(b'.') => {
                return Err(err(
                    i,
                    "empty field name (two dots in a row, or a leading dot)",
                ));
            }
            Some(b']') => return Err(err(i, "']' without a matching '['")),
            Some(b'[') => {
                if out.is_empty() {
                    return Err(err(
                        i,
                        "a list index must follow a field name, e.g. gateways[0]",
                    ));
                }
            }
            Some(_) => {
                let start = i;
                let mut key = String::new();
                while let Some(&b) = bytes.get(i) {
                    match b {
                        b'\\' if bytes.get(i + 1) == Some(&b'.') => {
                            key.push('.');
                            i += 2;
                        }
                        b'.' | b'[' => break,
                        b']' => return Err(err(i, "']' without a matching '['")),
                        _ => {
                            // Copy one whole character.
                            let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
                            key.push_str(&text[i..i + ch_len]);
                            i += ch_len;
                        }
                    }
                }
                out.push((Segment::Key(key), base + start..base + i));
            }
        }
        if bytes.get(i) == Some(&b'[') {
            let open = i;
            let Some(close_rel) = text[open..].find(']') else {
                return Err(err(
                    open,
                    "'[' is never closed; expected [N] or [key:value]",
                ));
            };
            let close = open + close_rel;
            let inner = &text[open + 1..close];
            let seg = if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                let n = inner
                    .parse::<usize>()
                    .map_err(|_| err(open + 1, "list index too large"))?;
                Segment::Index(n)
            } else if let Some((key, value)) = inner.split_once(':') {
                if key.is_empty() {
                    return Err(err(
                        open + 1,
                        "a selector needs a field name before ':', e.g. [name:istio-ingressgateway]",
                    ));
                }
                Segment::Select {
                    key: key.to_string(),
                    value: value.to_string(),
                }
            } else {
                return Err(err(
                    open + 1,
                    &format!(
                        "expected a list index [N] (N ≥ 0) or a selector [key:value], found [{inner}]"
                    ),
                ));
            };
            out.push((seg, base + open..base + close + 1));
            i = close + 1;
            match bytes.get(i) {
                None => return Ok(out),
                Some(b'.') => {}
                Some(b'[') => {
                    return Err(err(
                        i,
                        "lists of lists are not supported: one [..] per field",
                    ));
                }
                Some(_) => return Err(err(i, "expected '.' after ']'")),
            }
        }
        match bytes.get(i) {
            None => return Ok(out),
            Some(b'.') => i += 1,
            Some(_) => return Err(err(i, "unexpected character")),
        }
    }
}

/// Why a path could not be set: the segment that failed and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyError {
    pub segment: usize,
    pub message: String,
}

/// Sets `path` in `root` to `value` with istioctl's semantics: missing maps and lists are
/// created, an index at or past the end of a list appends, `[key:value]` must match an element.
/// Unlike istioctl (which panics), walking through a scalar is an error.
pub fn apply(root: &mut Value, path: &[Segment], value: Value) -> Result<(), ApplyError> {
    descend(root, path, 0, value, path)
}

fn descend(
    node: &mut Value,
    rest: &[Segment],
    depth: usize,
    value: Value,
    full: &[Segment],
) -> Result<(), ApplyError> {
    let Some((seg, rest)) = rest.split_first() else {
        *node = value;
        return Ok(());
    };
    let here = || Path(full[..depth].to_vec());
    match seg {
        Segment::Key(k) => {
            if node.is_null() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else {
                return Err(ApplyError {
                    segment: depth,
                    message: format!(
                        "cannot set field {k:?}: {} is {}, not a mapping",
                        here(),
                        describe(node)
                    ),
                });
            };
            let child = map.entry(k.clone()).or_insert(Value::Null);
            descend(child, rest, depth + 1, value, full)
        }
        Segment::Index(n) => {
            if node.is_null() {
                *node = Value::Array(Vec::new());
            }
            let Value::Array(items) = node else {
                return Err(ApplyError {
                    segment: depth,
                    message: format!(
                        "cannot index {}: it is {}, not a list",
                        here(),
                        describe(node)
                    ),
                });
            };
            match items.get_mut(*n) {
                Some(item) => descend(item, rest, depth + 1, value, full),
                None => {
                    let mut fresh = Value::Null;
                    descend(&mut fresh, rest, depth + 1, value, full)?;
                    items.push(fresh);
                    Ok(())
                }
            }
        }
        Segment::Select { key, value: want } => {
            let found = match node {
                Value::Array(items) => items.iter_mut().find(|item| selects(item, key, want)),
                _ => None,
            };
            match found {
                Some(item) => descend(item, rest, depth + 1, value, full),
                None => Err(ApplyError {
                    segment: depth,
                    message: format!("no element of {} has {key}: {want}", here()),
                }),
            }
        }
    }
}

/// Whether `[key:value]` selects this list element: its field `key` is a scalar written `value`.
pub fn selects(item: &Value, key: &str, value: &str) -> bool {
    item.get(key).and_then(scalar_text).as_deref() == Some(value)
}

/// The text of a scalar, for matching `[key:value]` selectors.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// "a string", "a list", … for messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string ({s:?})"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(tree: &mut Value, arg: &str) -> Result<(), SetError> {
        let flag = SetFlag::parse(arg)?;
        flag.apply(tree, flag.value.clone())
    }

    fn tree_after(args: &[&str]) -> Value {
        let mut tree = json!({});
        for a in args {
            set(&mut tree, a).unwrap_or_else(|e| panic!("{a}: {e}"));
        }
        tree
    }

    /// The error text, with the caret line, for a malformed flag.
    fn error(arg: &str) -> String {
        SetFlag::parse(arg).expect_err(arg).to_string()
    }

    #[test]
    fn reference_examples_land_under_spec() {
        let t = tree_after(&[
            "profile=demo",
            "revision=1-24-0",
            "hub=docker.io/istio",
            "tag=1.24.0",
            "values.global.meshID=mesh1",
            "values.global.multiCluster.clusterName=c1",
            "values.global.network=net1",
            "meshConfig.accessLogFile=/dev/stdout",
            "meshConfig.enableTracing=true",
            "components.egressGateways[0].enabled=true",
            "components.egressGateways[0].name=istio-egressgateway",
            "components.cni.enabled=true",
            "components.ingressGateways[0].k8s.service.type=NodePort",
            "values.sidecarInjectorWebhook.injectedAnnotations.container\\.apparmor\\.security\\.beta\\.kubernetes\\.io/istio-proxy=runtime/default",
        ]);
        assert_eq!(
            t,
            json!({"spec": {
                "profile": "demo",
                "revision": "1-24-0",
                "hub": "docker.io/istio",
                "tag": "1.24.0",
                "values": {
                    "global": {"meshID": "mesh1", "multiCluster": {"clusterName": "c1"}, "network": "net1"},
                    "sidecarInjectorWebhook": {"injectedAnnotations": {
                        "container.apparmor.security.beta.kubernetes.io/istio-proxy": "runtime/default"
                    }}
                },
                "meshConfig": {"accessLogFile": "/dev/stdout", "enableTracing": true},
                "components": {
                    "egressGateways": [{"enabled": true, "name": "istio-egressgateway"}],
                    "cni": {"enabled": true},
                    "ingressGateways": [{"k8s": {"service": {"type": "NodePort"}}}]
                }
            }})
        );
    }

    #[test]
    fn a_spec_prefix_is_accepted_and_not_doubled() {
        assert_eq!(tree_after(&["spec.hub=x"]), json!({"spec": {"hub": "x"}}));
    }

    #[test]
    fn values_are_typed_int_then_float_then_bool_then_string() {
        assert_eq!(parse_value("3"), json!(3));
        assert_eq!(parse_value("-3"), json!(-3));
        assert_eq!(parse_value("+3"), json!(3));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(
            parse_value("1"),
            json!(1),
            "1 is an integer before it is a boolean"
        );
        for t in ["true", "True", "TRUE", "t", "T"] {
            assert_eq!(parse_value(t), json!(true), "{t}");
        }
        for f in ["false", "False", "FALSE", "f", "F"] {
            assert_eq!(parse_value(f), json!(false), "{f}");
        }
        assert_eq!(
            parse_value("yes"),
            json!("yes"),
            "Go's ParseBool does not read yes"
        );
        assert_eq!(parse_value("inf"), json!("inf"));
        assert_eq!(parse_value("NaN"), json!("NaN"));
        assert_eq!(parse_value("a\\,b,c"), json!("a,b,c"));
        assert_eq!(parse_value(""), json!(""));
        assert_eq!(parse_value("99999999999999999999"), json!(1e20));
    }

    #[test]
    fn proxy_metadata_and_compatibility_version_stay_strings() {
        let t = tree_after(&[
            "meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true",
            "compatibilityVersion=1.24",
        ]);
        assert_eq!(
            t,
            json!({"spec": {
                "meshConfig": {"defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}},
                "compatibilityVersion": "1.24"
            }})
        );
    }

    #[test]
    fn values_may_contain_equals_and_are_trimmed() {
        let t = tree_after(&["values.pilot.env.OPTS= a=b "]);
        assert_eq!(
            t,
            json!({"spec": {"values": {"pilot": {"env": {"OPTS": "a=b"}}}}})
        );
    }

    #[test]
    fn indexes_past_the_end_append() {
        let mut t = json!({"spec": {"components": {"ingressGateways": [{"name": "a"}]}}});
        set(&mut t, "components.ingressGateways[5].name=b").expect("appends");
        set(&mut t, "components.ingressGateways.[0].enabled=true").expect("dot before index");
        assert_eq!(
            t["spec"]["components"]["ingressGateways"],
            json!([{"name": "a", "enabled": true}, {"name": "b"}])
        );
        set(&mut t, "values.pilot.list[0]=x").expect("a new list");
        set(&mut t, "values.pilot.list[0]=y").expect("replaces the element");
        assert_eq!(t["spec"]["values"]["pilot"]["list"], json!(["y"]));
    }

    #[test]
    fn selectors_pick_the_element_by_field() {
        let mut t = json!({"spec": {"components": {"ingressGateways": [
            {"name": "istio-ingressgateway", "enabled": true},
            {"name": "internal", "enabled": false}
        ]}}});
        set(
            &mut t,
            "components.ingressGateways[name:internal].enabled=true",
        )
        .expect("found");
        set(
            &mut t,
            "components.ingressGateways.[name:internal].label.app=x\\.y",
        )
        .expect("found");
        assert_eq!(
            t["spec"]["components"]["ingressGateways"][1],
            json!({"name": "internal", "enabled": true, "label": {"app": "x\\.y"}})
        );
        let err = set(&mut t, "components.ingressGateways[name:nope].enabled=true")
            .expect_err("no such element")
            .to_string();
        assert_eq!(
            err,
            "invalid --set: no element of spec.components.ingressGateways has name: nope\n    \
             --set components.ingressGateways[name:nope].enabled=true\n    \
             \x20                               ^"
        );
    }

    #[test]
    fn selector_values_may_hold_dots() {
        let mut t = json!({"spec": {"x": [{"host": "a.b.c", "v": 1}]}});
        set(&mut t, "x[host:a.b.c].v=2").expect("dots inside brackets are literal");
        assert_eq!(t["spec"]["x"][0]["v"], json!(2));
    }

    #[test]
    fn walking_through_a_scalar_is_an_error_at_that_segment() {
        let mut t = json!({"spec": {"hub": "docker.io"}});
        let err = set(&mut t, "hub.registry=x")
            .expect_err("hub is a string")
            .to_string();
        assert_eq!(
            err,
            "invalid --set: cannot set field \"registry\": spec.hub is a string (\"docker.io\"), not a mapping\n    \
             --set hub.registry=x\n    \
             \x20         ^"
        );
    }

    #[test]
    fn display_round_trips_escapes_indexes_and_selectors() {
        let p = SetFlag::parse("values.a\\.b[2].c[name:x]=1")
            .expect("parses")
            .path;
        assert_eq!(p.to_string(), "spec.values.a\\.b[2].c[name:x]");
        assert_eq!(Path::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn malformed_flags_point_at_the_character() {
        let cases: &[(&str, &str, usize)] = &[
            ("profile", "no '='", 7),
            ("=demo", "missing the path", 0),
            ("a..b=1", "empty field name", 2),
            (".a=1", "empty field name", 0),
            ("a.=1", "ends with '.'", 2),
            ("components.ingressGateways[0=1", "never closed", 26),
            (
                "components.ingressGateways[]=1",
                "expected a list index",
                27,
            ),
            ("components.ingressGateways[-1].enabled=1", "found [-1]", 27),
            ("components.ingressGateways[x].enabled=1", "found [x]", 27),
            (
                "components.ingressGateways[:x].enabled=1",
                "field name before ':'",
                27,
            ),
            ("a[0][1]=1", "lists of lists", 4),
            ("a[0]b=1", "expected '.' after ']'", 4),
            ("[0].a=1", "must follow a field name", 0),
            ("a]b=1", "without a matching '['", 1),
            ("spec=1", "all of spec", 0),
            (
                "installPackagePath=/tmp/x",
                "Ferry's profiles and manifests are built in",
                0,
            ),
        ];
        for (arg, want, offset) in cases {
            let err = SetFlag::parse(arg).expect_err(arg);
            assert!(err.message.contains(want), "{arg}: {}", err.message);
            assert_eq!(err.offset, *offset, "{arg}: {}", err.message);
        }
    }

    #[test]
    fn the_caret_sits_under_the_offending_character() {
        assert_eq!(
            error("a..b=1"),
            "invalid --set: empty field name (two dots in a row, or a leading dot)\n    \
             --set a..b=1\n    \
             \x20       ^"
        );
        assert_eq!(
            error("profile"),
            "invalid --set: expected path=value (e.g. --set profile=demo), found no '='\n    \
             --set profile\n    \
             \x20            ^"
        );
        // Columns count characters, not bytes.
        assert_eq!(
            error("values.é..x=1"),
            "invalid --set: empty field name (two dots in a row, or a leading dot)\n    \
             --set values.é..x=1\n    \
             \x20              ^"
        );
    }
}
