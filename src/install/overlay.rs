//! IstioOperator overlays: reading `-f` files (each exactly one IstioOperator; `-` is stdin) and
//! merging trees the way istioctl layers them (`values.Map.MergeFrom`): mappings merge key by
//! key, everything else (scalars, lists, nulls) replaces what was there.

use std::io::Read;

use serde_json::Value;

use super::iop::{API_VERSION, KIND};
use super::set::{Path, Segment};
use crate::config::yaml::{self, Limits, Node};

/// An overlay as read: a name for messages (the path, or `-` for stdin) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayFile {
    pub name: String,
    pub text: String,
}

/// Why an overlay file could not be used. Messages name the file and, when there is one, the line.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("could not read {name}: {error}")]
    Read { name: String, error: std::io::Error },
    #[error("-f -: standard input can be read only once")]
    StdinTwice,
    #[error("{name}:{error}")]
    Yaml {
        name: String,
        error: yaml::YamlError,
    },
    #[error("{name}: no IstioOperator found: the file is empty")]
    Empty { name: String },
    #[error("{name}:{line}: expected an IstioOperator ({API_VERSION}), found {found}")]
    NotAnIstioOperator {
        name: String,
        line: u32,
        found: String,
    },
    #[error(
        "{name}:{line}: a second document ({found}); a file holds exactly one IstioOperator, \
         give others with their own -f"
    )]
    Multiple {
        name: String,
        line: u32,
        found: String,
    },
}

impl OverlayFile {
    /// Reads `path`, or standard input for `-`.
    pub fn read(path: &str) -> Result<OverlayFile, OverlayError> {
        let read_err = |error| OverlayError::Read {
            name: path.to_string(),
            error,
        };
        let text = if path == "-" {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .map_err(read_err)?;
            buf
        } else {
            std::fs::read_to_string(path).map_err(read_err)?
        };
        Ok(OverlayFile {
            name: path.to_string(),
            text,
        })
    }

    /// Reads every `-f` argument in order; `-` may appear once.
    pub fn read_all(paths: &[String]) -> Result<Vec<OverlayFile>, OverlayError> {
        if paths.iter().filter(|p| *p == "-").count() > 1 {
            return Err(OverlayError::StdinTwice);
        }
        paths.iter().map(|p| OverlayFile::read(p)).collect()
    }
}

/// One IstioOperator document: its positioned YAML (for lines in messages) and its tree.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    pub root: Node,
    pub tree: Value,
}

impl Document {
    /// Parses `text` as exactly one IstioOperator.
    pub fn parse(name: &str, text: &str) -> Result<Document, OverlayError> {
        let stream = yaml::parse_stream(text, Limits::default());
        if let Some(error) = stream.errors.into_iter().next() {
            return Err(OverlayError::Yaml {
                name: name.to_string(),
                error,
            });
        }
        // Empty documents (a trailing `---`, comments only) are not documents.
        let mut docs = stream
            .documents
            .into_iter()
            .filter(|d| !matches!(d.root.value, yaml::Value::Null));
        let Some(doc) = docs.next() else {
            return Err(OverlayError::Empty {
                name: name.to_string(),
            });
        };
        let is_iop = doc.root.get("apiVersion").and_then(Node::as_str) == Some(API_VERSION)
            && doc.root.get("kind").and_then(Node::as_str) == Some(KIND);
        if !is_iop {
            return Err(OverlayError::NotAnIstioOperator {
                name: name.to_string(),
                line: doc.start_line,
                found: identify(&doc.root),
            });
        }
        if let Some(second) = docs.next() {
            return Err(OverlayError::Multiple {
                name: name.to_string(),
                line: second.start_line,
                found: identify(&second.root),
            });
        }
        Ok(Document {
            name: name.to_string(),
            tree: doc.root.to_json(),
            root: doc.root,
        })
    }

    /// The line of the field at `path` (its key), or of the closest enclosing field that exists.
    pub fn line_of(&self, path: &Path) -> u32 {
        let mut node = &self.root;
        let mut line = self.root.mark.line;
        for seg in path.segments() {
            let next = match (seg, &node.value) {
                (Segment::Key(k), yaml::Value::Map(entries)) => entries
                    .iter()
                    .find(|e| e.key == *k)
                    .map(|e| (&e.value, e.key_mark.line)),
                (Segment::Index(i), yaml::Value::Seq(items)) => {
                    items.get(*i).map(|n| (n, n.mark.line))
                }
                _ => None,
            };
            match next {
                Some((n, l)) => {
                    node = n;
                    line = l;
                }
                None => break,
            }
        }
        line
    }
}

/// What a document is, for messages: `kind Deployment (apiVersion apps/v1)`, `a list`, ….
fn identify(root: &Node) -> String {
    match &root.value {
        yaml::Value::Map(_) => {
            let kind = root.get("kind").and_then(Node::as_str);
            let api = root.get("apiVersion").and_then(Node::as_str);
            match (kind, api) {
                (Some(k), Some(a)) => format!("kind {k} (apiVersion {a})"),
                (Some(k), None) => format!("kind {k} without an apiVersion"),
                (None, Some(a)) => format!("apiVersion {a} without a kind"),
                (None, None) => "a mapping without apiVersion and kind".to_string(),
            }
        }
        yaml::Value::Seq(_) => "a list".to_string(),
        yaml::Value::String(s) => format!("the text {s:?}"),
        _ => "a single value".to_string(),
    }
}

/// Merges `overlay` into `base`: mappings recursively, anything else replaces.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Removes the values at `paths` (keys from mappings, elements from lists). Later list elements
/// go first so earlier indexes stay valid.
pub fn remove_paths(tree: &mut Value, mut paths: Vec<Path>) {
    paths.sort();
    paths.dedup();
    for path in paths.iter().rev() {
        let Some((last, parents)) = path.segments().split_last() else {
            *tree = Value::Null;
            continue;
        };
        let Some(node) = walk_mut(tree, parents) else {
            continue;
        };
        match (last, node) {
            (Segment::Key(k), Value::Object(m)) => {
                m.shift_remove(k);
            }
            (Segment::Index(i), Value::Array(a)) if *i < a.len() => {
                a.remove(*i);
            }
            _ => {}
        }
    }
}

/// The value at `path`, following keys and indexes only.
fn walk_mut<'a>(mut node: &'a mut Value, path: &[Segment]) -> Option<&'a mut Value> {
    for seg in path {
        node = match (seg, node) {
            (Segment::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Segment::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Removes mapping entries whose value is null, at every depth: a null means "unset" in an
/// overlay, and the typed IstioOperator reads unset fields as their defaults.
pub fn drop_nulls(tree: &mut Value) {
    match tree {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_merge_and_lists_and_scalars_replace() {
        let mut base = json!({
            "spec": {
                "hub": "a",
                "components": {
                    "pilot": {"enabled": true, "k8s": {"replicaCount": 1}},
                    "ingressGateways": [{"name": "istio-ingressgateway", "enabled": true}]
                },
                "meshConfig": {"defaultConfig": {"proxyMetadata": {"A": "1"}}}
            }
        });
        merge(
            &mut base,
            json!({
                "spec": {
                    "hub": "b",
                    "components": {
                        "pilot": {"k8s": {"env": [{"name": "X", "value": "1"}]}},
                        "ingressGateways": [{"name": "other"}]
                    },
                    "meshConfig": {"defaultConfig": {"proxyMetadata": {"B": "2"}}}
                }
            }),
        );
        assert_eq!(
            base,
            json!({
                "spec": {
                    "hub": "b",
                    "components": {
                        "pilot": {"enabled": true, "k8s": {"replicaCount": 1, "env": [{"name": "X", "value": "1"}]}},
                        "ingressGateways": [{"name": "other"}]
                    },
                    "meshConfig": {"defaultConfig": {"proxyMetadata": {"A": "1", "B": "2"}}}
                }
            })
        );
    }

    #[test]
    fn a_mapping_replaces_a_scalar_and_null_replaces_anything() {
        let mut base = json!({"a": 1, "b": {"c": 1}, "d": [1]});
        merge(&mut base, json!({"a": {"x": 1}, "b": null, "d": {"e": 1}}));
        assert_eq!(base, json!({"a": {"x": 1}, "b": null, "d": {"e": 1}}));
    }

    #[test]
    fn documents_must_be_one_istio_operator() {
        let ok = "# comment\napiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  hub: x\n---\n";
        let doc = Document::parse("ok.yaml", ok).expect("one IstioOperator");
        assert_eq!(doc.tree["spec"]["hub"], json!("x"));
        assert_eq!(
            doc.line_of(&Path::new(vec![
                Segment::Key("spec".into()),
                Segment::Key("hub".into())
            ])),
            5
        );

        let cases = [
            ("", "empty.yaml: no IstioOperator found: the file is empty"),
            (
                "# only a comment\n",
                "empty.yaml: no IstioOperator found: the file is empty",
            ),
            (
                "apiVersion: apps/v1\nkind: Deployment\n",
                "empty.yaml:1: expected an IstioOperator (install.istio.io/v1alpha1), found kind Deployment (apiVersion apps/v1)",
            ),
            (
                "apiVersion: install.istio.io/v1beta1\nkind: IstioOperator\n",
                "empty.yaml:1: expected an IstioOperator (install.istio.io/v1alpha1), found kind IstioOperator (apiVersion install.istio.io/v1beta1)",
            ),
            (
                "spec:\n  hub: x\n",
                "empty.yaml:1: expected an IstioOperator (install.istio.io/v1alpha1), found a mapping without apiVersion and kind",
            ),
            (
                "- a\n",
                "empty.yaml:1: expected an IstioOperator (install.istio.io/v1alpha1), found a list",
            ),
            (
                "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n---\napiVersion: v1\nkind: Service\n",
                "empty.yaml:4: a second document (kind Service (apiVersion v1)); a file holds exactly one IstioOperator, give others with their own -f",
            ),
            ("spec: [\n", "empty.yaml:"),
        ];
        for (text, want) in cases {
            let err = Document::parse("empty.yaml", text)
                .expect_err(text)
                .to_string();
            assert!(err.starts_with(want), "{text:?}:\n{err}\nwanted {want}");
        }
    }

    #[test]
    fn lines_fall_back_to_the_closest_existing_field() {
        let doc = Document::parse(
            "f",
            "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  components:\n    ingressGateways:\n    - name: a\n      k8s: {}\n",
        )
        .expect("parses");
        let p = Path::parse("spec.components.ingressGateways[0].k8s.nope").expect("path");
        assert_eq!(doc.line_of(&p), 7);
        let p = Path::parse("spec.components.ingressGateways[3]").expect("path");
        assert_eq!(doc.line_of(&p), 5);
    }

    #[test]
    fn removal_keeps_earlier_indexes_valid() {
        let mut t = json!({"a": [{"x": 1}, {"y": 2}, {"z": 3}], "b": {"c": 1, "d": 2}});
        remove_paths(
            &mut t,
            vec![
                Path::parse("a[0]").expect("p"),
                Path::parse("a[2]").expect("p"),
                Path::parse("b.c").expect("p"),
                Path::parse("b.nope.deeper").expect("p"),
            ],
        );
        assert_eq!(t, json!({"a": [{"y": 2}], "b": {"d": 2}}));
    }

    #[test]
    fn nulls_are_unset() {
        let mut t = json!({"a": null, "b": {"c": null, "d": 1}, "e": [null, {"f": null}]});
        drop_nulls(&mut t);
        assert_eq!(t, json!({"b": {"d": 1}, "e": [null, {}]}));
    }
}
