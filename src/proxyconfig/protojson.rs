//! How istioctl prints protos for `-o json|yaml`: protojson field names (lowerCamelCase, where
//! Envoy's admin API prints the proto names), re-indented by Go's `json.MarshalIndent` with four
//! spaces (which also escapes `<`, `>` and `&`), and for YAML `sigs.k8s.io/yaml.JSONToYAML`, which
//! sorts keys. Without Envoy's descriptors the renaming is by rule: keys of maps and
//! `google.protobuf.Struct`s (metadata, typed_per_filter_config, …) keep their spelling.

use serde_json::{Map, Value};

use crate::config::emit;

/// Fields whose JSON object is a `map<string, Any>`: keys kept, values renamed.
const ANY_MAPS: &[&str] = &[
    "typed_filter_metadata",
    "typed_per_filter_config",
    "typed_extension_protocol_options",
];

/// Fields holding a `google.protobuf.Struct` (or a map of them): kept as they are.
const STRUCTS: &[&str] = &["filter_metadata", "static_layer", "struct_value"];

/// `value` with proto field names turned into protojson's lowerCamelCase names.
pub fn camel_case(value: &Value) -> Value {
    rename(value, None)
}

fn rename(value: &Value, parent: Option<&str>) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let renamed = if k == "@type" {
                    k.clone()
                } else {
                    lower_camel(k)
                };
                let v = if STRUCTS.contains(&k.as_str())
                    || (k == "metadata"
                        && matches!(parent, Some("node" | "user_agent_build_version")))
                {
                    v.clone()
                } else if ANY_MAPS.contains(&k.as_str()) {
                    match v {
                        Value::Object(m) => Value::Object(
                            m.iter()
                                .map(|(mk, mv)| (mk.clone(), rename(mv, Some(k))))
                                .collect(),
                        ),
                        other => rename(other, Some(k)),
                    }
                } else {
                    rename(v, Some(k))
                };
                out.insert(renamed, v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| rename(v, parent)).collect()),
        other => other.clone(),
    }
}

/// protoc's JSON name: underscores dropped, the letter after each one upper-cased.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Go's `json.MarshalIndent(v, "", "    ")` followed by `fmt.Println`.
pub fn to_go_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out.push('\n');
    out
}

/// `JSONToYAML` of the same JSON followed by `fmt.Println` (so a blank line ends it).
pub fn to_go_yaml(value: &Value) -> String {
    let mut out = emit::to_string(&sorted(value));
    out.push('\n');
    out
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', level * 4));
}

fn write_value(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, v, level + 1);
            }
            newline(out, level);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_value(out, v, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Value::String(s) => write_string(out, s),
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renames_fields_but_not_map_keys() {
        let v = json!({"@type": "t", "connect_timeout": "1s", "metadata": {"filter_metadata":
            {"istio": {"some_key": 1}}}, "typed_extension_protocol_options": {"envoy.x_y":
            {"@type": "u", "explicit_http_config": {}}}});
        assert_eq!(
            camel_case(&v),
            json!({"@type": "t", "connectTimeout": "1s", "metadata": {"filterMetadata":
                {"istio": {"some_key": 1}}}, "typedExtensionProtocolOptions": {"envoy.x_y":
                {"@type": "u", "explicitHttpConfig": {}}}})
        );
    }

    #[test]
    fn indents_like_go() {
        let v = json!([{"a": [], "b": {}, "c": "<&>", "d": [1, 2]}]);
        assert_eq!(
            to_go_json(&v),
            "[\n    {\n        \"a\": [],\n        \"b\": {},\n        \"c\": \"\\u003c\\u0026\\u003e\",\n        \"d\": [\n            1,\n            2\n        ]\n    }\n]\n"
        );
    }

    #[test]
    fn yaml_sorts_keys() {
        assert_eq!(to_go_yaml(&json!({"b": 1, "a": "x"})), "a: x\nb: 1\n\n");
    }
}
