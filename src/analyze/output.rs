//! Rendering findings: istioctl's `log`, `json` and `yaml` formats, and SARIF 2.1.0 for
//! code-scanning UIs. Sorting and de-duplication follow istioctl's `SortedDedupedCopy`.

use serde_json::{Value, json};

use super::catalog;
use super::message::{Level, Message};
use crate::config::emit;

/// Istio documentation release the message pages are linked at.
pub const DOCS_VERSION: &str = "v1.32";

/// Sorts as istioctl: level, code, messages without an object first, `Kind/name/namespace`, then
/// the whole text; drops exact duplicates.
pub fn sort_dedup(messages: &mut Vec<Message>) {
    // Render each line once; formatting inside the comparator would cost O(n log n) strings.
    let mut keyed: Vec<(String, Message)> = std::mem::take(messages)
        .into_iter()
        .map(|m| (m.plain(), m))
        .collect();
    keyed.sort_by(|(ap, a), (bp, b)| {
        a.typ
            .level
            .cmp(&b.typ.level)
            .then_with(|| a.typ.code.cmp(b.typ.code))
            .then_with(|| match (&a.origin, &b.origin) {
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => x.comparator.cmp(&y.comparator),
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| ap.cmp(bp))
    });
    keyed.dedup_by(|(a, _), (b, _)| a == b);
    *messages = keyed.into_iter().map(|(_, m)| m).collect();
}

pub fn documentation_url(code: &str) -> String {
    // Ferry's own codes have no page on istio.io: FRY0001 (a revision already installed) is
    // about revisions, which Istio's canary-upgrade guide explains.
    if code.starts_with("FRY") {
        return format!("https://istio.io/{DOCS_VERSION}/docs/setup/upgrade/canary/");
    }
    format!(
        "https://istio.io/{DOCS_VERSION}/docs/reference/config/analysis/{}/?ref=istioctl-analyze",
        code.to_ascii_lowercase()
    )
}

/// The `log` format: one line per message and a trailing newline (printed even when empty).
/// A file path as a relative URI reference (RFC 3986): SARIF viewers resolve it against the
/// repository root, and spaces, `#` or `%` in a path would otherwise break the link.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn log(messages: &[Message], color: bool) -> String {
    let lines: Vec<String> = messages.iter().map(|m| m.render_line(color)).collect();
    format!("{}\n", lines.join("\n"))
}

fn objects(messages: &[Message]) -> Value {
    Value::Array(
        messages
            .iter()
            .map(|m| {
                // Keys in alphabetical order, as Go marshals a map.
                let mut o = serde_json::Map::new();
                o.insert("code".into(), json!(m.typ.code));
                o.insert(
                    "documentationUrl".into(),
                    json!(documentation_url(m.typ.code)),
                );
                o.insert("level".into(), json!(m.typ.level.as_str()));
                o.insert("message".into(), json!(m.text));
                if let Some(origin) = &m.origin {
                    o.insert("origin".into(), json!(origin.friendly_name));
                }
                if let Some(reference) = m.reference() {
                    o.insert("reference".into(), json!(reference));
                }
                Value::Object(o)
            })
            .collect(),
    )
}

/// `-o json`: Go's `json.MarshalIndent(messages, "", "\t")`, HTML characters escaped as Go does.
pub fn json(messages: &[Message]) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    let value = objects(messages);
    // Serializing a `Value` into memory cannot fail.
    let _ = serde::Serialize::serialize(&value, &mut ser);
    let text = String::from_utf8_lossy(&buf)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    format!("{text}\n")
}

/// `-o yaml`: the same objects in sigs.k8s.io/yaml style.
pub fn yaml(messages: &[Message]) -> String {
    emit::to_string(&objects(messages))
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// `-o sarif`: SARIF 2.1.0 with one rule per IST code and a location per finding.
pub fn sarif(messages: &[Message]) -> String {
    let mut codes: Vec<&str> = messages.iter().map(|m| m.typ.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .filter_map(|c| catalog::by_code(c))
        .map(|t| {
            json!({
                "id": t.code,
                "name": t.name,
                "shortDescription": {"text": t.description},
                "helpUri": documentation_url(t.code),
                "defaultConfiguration": {"level": sarif_level(t.level)},
            })
        })
        .collect();
    let results: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut result = json!({
                "ruleId": m.typ.code,
                "ruleIndex": codes.iter().position(|c| *c == m.typ.code).unwrap_or(0),
                "level": sarif_level(m.typ.level),
                "message": {"text": m.text},
            });
            if let Some(o) = &m.origin {
                let mut location = json!({
                    "logicalLocations": [{"fullyQualifiedName": o.friendly_name, "kind": "resource"}],
                });
                if !o.file.is_empty() && o.file != "-" {
                    location["physicalLocation"] = json!({
                        "artifactLocation": {"uri": uri_reference(&o.file)},
                        "region": {"startLine": o.line.max(1)},
                    });
                }
                result["locations"] = json!([location]);
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ferryctl",
                "informationUri": "https://istio.io/latest/docs/reference/config/analysis/",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ferrys_own_codes_link_to_a_page_that_exists() {
        assert!(documentation_url("IST0101").ends_with("/analysis/ist0101/?ref=istioctl-analyze"));
        let fry = documentation_url("FRY0001");
        assert!(fry.ends_with("/docs/setup/upgrade/canary/"), "{fry}");
    }

    #[test]
    fn sarif_uris_are_percent_encoded() {
        assert_eq!(uri_reference("deploy/a b#1.yaml"), "deploy/a%20b%231.yaml");
        assert_eq!(uri_reference("ü.yaml"), "%C3%BC.yaml");
    }
}
