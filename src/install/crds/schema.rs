//! From schemars' JSON Schema to the structural OpenAPI v3 schema Kubernetes wants, and a check
//! of Kubernetes' structural-schema rules.

use serde_json::{Map, Value, json};

/// Converts a schemars root schema into a structural Kubernetes schema (see the module docs).
///
/// The input is always one of the fixed config types, so a construct this cannot express is a
/// programming error; it panics naming the keyword, and every test that builds the CRDs fails.
pub fn structural(root: &Value) -> Value {
    let defs = root
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    convert(root, &defs, 0)
}

/// Keywords copied as they are: value validations Kubernetes understands.
const KEPT: &[&str] = &[
    "type",
    "required",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
];

/// Keywords dropped: annotations with no effect on validation, or ones Kubernetes forbids.
/// `default` is dropped on purpose: serde's defaults are applied when Ferry decodes, and a
/// schema default would make the API server write them into every stored object.
const DROPPED: &[&str] = &[
    "$schema",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

fn convert(node: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    assert!(depth < 64, "schema nests too deeply (a recursive type?)");
    let m = match node {
        // `true` (serde_json::Value): anything goes.
        Value::Bool(true) => return json!({ "x-kubernetes-preserve-unknown-fields": true }),
        Value::Object(m) => m,
        other => panic!("unsupported schema {other}"),
    };

    if let Some(reference) = m.get("$ref").and_then(Value::as_str) {
        let name = reference
            .strip_prefix("#/$defs/")
            .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
        let target = defs
            .get(name)
            .unwrap_or_else(|| panic!("$ref to a missing definition {name}"));
        let mut merged = target.as_object().cloned().unwrap_or_default();
        for (k, v) in m {
            if k != "$ref" {
                merged.insert(k.clone(), v.clone());
            }
        }
        return convert(&Value::Object(merged), defs, depth + 1);
    }

    // `Option<T>` is `anyOf: [T, {type: null}]` (or `type: [X, "null"]`): keep T alone.
    for junctor in ["anyOf", "oneOf"] {
        if let Some(variants) = m.get(junctor).and_then(Value::as_array) {
            let rest: Vec<&Value> = variants.iter().filter(|v| !is_null_schema(v)).collect();
            if rest.len() < variants.len() {
                let mut merged = m.clone();
                merged.remove(junctor);
                if let [only] = rest.as_slice() {
                    if let Some(only) = only.as_object() {
                        for (k, v) in only {
                            merged.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    } else if **only == Value::Bool(true) {
                        return convert(&Value::Bool(true), defs, depth + 1);
                    }
                } else {
                    merged.insert(junctor.to_string(), json!(rest));
                }
                return convert(&Value::Object(merged), defs, depth + 1);
            }
        }
    }

    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            k if DROPPED.contains(&k) => {}
            "type" => {
                let ty = match v {
                    Value::Array(types) => {
                        let types: Vec<&Value> = types
                            .iter()
                            .filter(|t| t.as_str() != Some("null"))
                            .collect();
                        match types.as_slice() {
                            [one] => (*one).clone(),
                            _ => panic!("unsupported union type {v}"),
                        }
                    }
                    other => other.clone(),
                };
                out.insert("type".into(), ty);
            }
            k if KEPT.contains(&k) || k.starts_with("x-kubernetes-") => {
                out.insert(k.to_string(), v.clone());
            }
            "const" => {
                out.insert("enum".into(), json!([v]));
            }
            "format" => match v.as_str().unwrap_or_default() {
                f @ ("int32" | "int64" | "float" | "double" | "byte" | "date" | "date-time") => {
                    out.insert("format".into(), json!(f));
                }
                // Rust's unsigned and small integers: Kubernetes knows no such formats; their
                // ranges are kept as bounds (schemars gives `minimum: 0`).
                "uint32" => {
                    out.insert("maximum".into(), json!(u32::MAX));
                }
                "uint8" | "uint16" | "int8" | "int16" | "uint64" | "uint" | "uint128" => {}
                other => panic!("unsupported format {other}"),
            },
            "properties" => {
                let props = v
                    .as_object()
                    .expect("properties is an object")
                    .iter()
                    .map(|(name, s)| (name.clone(), convert(s, defs, depth + 1)))
                    .collect();
                out.insert("properties".into(), Value::Object(props));
            }
            "items" => {
                out.insert("items".into(), convert(v, defs, depth + 1));
            }
            "not" => {
                out.insert("not".into(), convert(v, defs, depth + 1));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let variants = v
                    .as_array()
                    .expect("junctor is a list")
                    .iter()
                    .map(|s| convert(s, defs, depth + 1))
                    .collect();
                out.insert(k.to_string(), Value::Array(variants));
            }
            "additionalProperties" | "patternProperties" => {} // below, once properties are known
            other => panic!("unsupported schema keyword {other}"),
        }
    }

    // Maps: `additionalProperties: <schema>`. A map with non-string keys (u32 ports) comes as
    // `patternProperties` with one key pattern; its keys stay unchecked (Kubernetes has no way
    // to say it short of a CEL rule).
    let mut additional = m.get("additionalProperties").cloned();
    if let Some(patterns) = m.get("patternProperties").and_then(Value::as_object) {
        let [(_, value)] = patterns.iter().collect::<Vec<_>>()[..] else {
            panic!("unsupported patternProperties with several patterns");
        };
        additional = Some(value.clone());
    }
    match additional {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            out.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
        }
        Some(schema) => {
            let schema = convert(&schema, defs, depth + 1);
            if is_free_form(&schema) {
                // `Map<String, Value>`, or a struct with one flattened in: keep what is not
                // declared.
                out.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
            } else if out.contains_key("properties") {
                panic!("unsupported: typed additionalProperties beside properties");
            } else {
                out.insert("additionalProperties".into(), schema);
            }
        }
    }

    hoist_tagged_variants(&mut out);

    if out.is_empty() {
        // Nothing left to check (`serde_json::Value` with a default): anything goes.
        return json!({ "x-kubernetes-preserve-unknown-fields": true });
    }

    if !out.contains_key("type") {
        if out.contains_key("properties") || out.contains_key("additionalProperties") {
            out.insert("type".into(), json!("object"));
        } else if out.contains_key("items") {
            out.insert("type".into(), json!("array"));
        }
    }
    Value::Object(out)
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

fn is_free_form(schema: &Value) -> bool {
    schema
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("x-kubernetes-preserve-unknown-fields"))
}

/// An externally tagged enum (`StringMatch`: `{exact: ..}` or `{prefix: ..}` or `{regex: ..}`)
/// is a `oneOf` of objects, each with its own properties; Kubernetes wants every property
/// declared outside the `oneOf`. The properties move up and each variant keeps only what makes
/// it distinct: which key it requires.
fn hoist_tagged_variants(out: &mut Map<String, Value>) {
    for junctor in ["oneOf", "anyOf"] {
        let Some(Value::Array(variants)) = out.get(junctor) else {
            continue;
        };
        let tagged = !variants.is_empty()
            && variants.iter().all(|v| {
                v.get("properties").is_some()
                    && v.get("required").is_some()
                    && v.get("type").and_then(Value::as_str) == Some("object")
            });
        if !tagged {
            continue;
        }
        let mut hoisted = out
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut clauses = Vec::new();
        for v in variants {
            for (name, schema) in v["properties"].as_object().into_iter().flatten() {
                match hoisted.get(name) {
                    Some(existing) if existing != schema => {
                        panic!("enum variants give property {name} two schemas")
                    }
                    _ => {
                        hoisted.insert(name.clone(), schema.clone());
                    }
                }
            }
            clauses.push(json!({ "required": v["required"] }));
        }
        out.insert("type".into(), json!("object"));
        out.insert("properties".into(), Value::Object(hoisted));
        out.insert(junctor.into(), Value::Array(clauses));
    }
}

/// Checks the rules that make a schema *structural*, as the API server does for
/// `apiextensions.k8s.io/v1` CRDs:
///
/// - every specified node (the root, each property, `additionalProperties` and `items`) has a
///   `type`, unless it has `x-kubernetes-preserve-unknown-fields: true` or
///   `x-kubernetes-int-or-string: true`; arrays have `items`;
/// - `properties` and `additionalProperties` are not both set, and `additionalProperties` is a
///   schema, not a boolean;
/// - inside `allOf`/`anyOf`/`oneOf`/`not` there is no `type`, `description`, `default`,
///   `additionalProperties` or `nullable` (except the two int-or-string patterns), and every
///   property or `items` named there is also specified outside;
/// - no `$ref`, `$schema`, `definitions`, `patternProperties`, `dependencies`,
///   `additionalItems`, `uniqueItems: true`, and no keyword Kubernetes does not know;
/// - `metadata` at the root may only restrict `name` and `generateName`.
pub fn is_structural(schema: &Value) -> Result<(), String> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err("the root must have type object".into());
    }
    if let Some(meta) = schema.pointer("/properties/metadata") {
        let allowed = ["type", "properties"];
        let ok = meta
            .as_object()
            .is_some_and(|m| m.keys().all(|k| allowed.contains(&k.as_str())))
            && meta
                .get("properties")
                .and_then(Value::as_object)
                .is_none_or(|p| p.keys().all(|k| k == "name" || k == "generateName"));
        if !ok {
            return Err("metadata may only restrict name and generateName".into());
        }
    }
    check_node(schema, "")
}

/// Keywords Kubernetes' `JSONSchemaProps` has and structural schemas may use.
const KNOWN: &[&str] = &[
    "type",
    "format",
    "description",
    "title",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "properties",
    "additionalProperties",
    "externalDocs",
    "example",
    "nullable",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

fn common_checks(node: &Map<String, Value>, path: &str) -> Result<(), String> {
    for k in node.keys() {
        match k.as_str() {
            "$ref" | "$schema" | "definitions" | "$defs" | "patternProperties" | "dependencies"
            | "additionalItems" => return Err(format!("{path}: {k} is forbidden")),
            k if !KNOWN.contains(&k) => return Err(format!("{path}: unknown keyword {k}")),
            _ => {}
        }
    }
    if node.get("uniqueItems") == Some(&Value::Bool(true)) {
        return Err(format!("{path}: uniqueItems: true is forbidden"));
    }
    for flag in [
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
    ] {
        if node.get(flag).is_some_and(|v| *v != Value::Bool(true)) {
            return Err(format!("{path}: {flag} must be true when set"));
        }
    }
    Ok(())
}

fn check_node(schema: &Value, path: &str) -> Result<(), String> {
    let node = schema
        .as_object()
        .ok_or_else(|| format!("{path}: a schema must be an object"))?;
    common_checks(node, path)?;
    let flag = |k: &str| node.get(k) == Some(&Value::Bool(true));
    let int_or_string = flag("x-kubernetes-int-or-string");
    match node.get("type") {
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => {
            if int_or_string {
                return Err(format!("{path}: int-or-string must not have a type"));
            }
        }
        Some(other) => return Err(format!("{path}: invalid type {other}")),
        None if flag("x-kubernetes-preserve-unknown-fields") || int_or_string => {}
        None => return Err(format!("{path}: type is missing")),
    }
    let ty = node.get("type").and_then(Value::as_str);
    if let Some(props) = node.get("properties") {
        if node.contains_key("additionalProperties") {
            return Err(format!(
                "{path}: properties and additionalProperties are mutually exclusive"
            ));
        }
        if ty.is_some_and(|t| t != "object") {
            return Err(format!("{path}: properties on a non-object"));
        }
        let props = props
            .as_object()
            .ok_or_else(|| format!("{path}: properties must be a map"))?;
        for (name, s) in props {
            check_node(s, &format!("{path}.{name}"))?;
        }
    }
    if let Some(additional) = node.get("additionalProperties") {
        if !additional.is_object() {
            return Err(format!("{path}: additionalProperties must be a schema"));
        }
        check_node(additional, &format!("{path}[*]"))?;
    }
    if ty == Some("array") && !node.contains_key("items") {
        return Err(format!("{path}: an array needs items"));
    }
    if let Some(items) = node.get("items") {
        check_node(items, &format!("{path}[]"))?;
    }
    if let Some(required) = node.get("required") {
        let names = required
            .as_array()
            .ok_or_else(|| format!("{path}: required must be a list"))?;
        let props = node.get("properties").and_then(Value::as_object);
        for name in names {
            let name = name.as_str().unwrap_or_default();
            if props.is_none_or(|p| !p.contains_key(name))
                && !flag("x-kubernetes-preserve-unknown-fields")
            {
                return Err(format!("{path}: required {name} is not a property"));
            }
        }
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        if let Some(variants) = node.get(junctor) {
            let variants = variants
                .as_array()
                .ok_or_else(|| format!("{path}: {junctor} must be a list"))?;
            for (i, v) in variants.iter().enumerate() {
                check_junction(v, node, int_or_string, &format!("{path}({junctor}[{i}])"))?;
            }
        }
    }
    if let Some(not) = node.get("not") {
        check_junction(not, node, false, &format!("{path}(not)"))?;
    }
    Ok(())
}

/// A schema inside a logical junctor, checked against the node it belongs to (`outer`).
fn check_junction(
    schema: &Value,
    outer: &Map<String, Value>,
    int_or_string: bool,
    path: &str,
) -> Result<(), String> {
    let node = schema
        .as_object()
        .ok_or_else(|| format!("{path}: a schema must be an object"))?;
    common_checks(node, path)?;
    // The int-or-string exception: `anyOf: [{type: integer}, {type: string}]`.
    let int_or_string_variant = int_or_string
        && node.len() == 1
        && matches!(
            node.get("type").and_then(Value::as_str),
            Some("integer" | "string")
        );
    if !int_or_string_variant {
        for k in [
            "type",
            "description",
            "default",
            "additionalProperties",
            "nullable",
        ] {
            if node.contains_key(k) {
                return Err(format!("{path}: {k} is not allowed inside a junctor"));
            }
        }
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        let outer_props = outer.get("properties").and_then(Value::as_object);
        for (name, s) in props {
            let Some(outer_prop) = outer_props.and_then(|p| p.get(name)) else {
                return Err(format!(
                    "{path}: {name} is not specified outside the junctor"
                ));
            };
            let outer_prop = outer_prop.as_object().cloned().unwrap_or_default();
            check_junction(s, &outer_prop, false, &format!("{path}.{name}"))?;
        }
    }
    if let Some(items) = node.get("items") {
        let Some(outer_items) = outer.get("items").and_then(Value::as_object) else {
            return Err(format!(
                "{path}: items are not specified outside the junctor"
            ));
        };
        check_junction(items, outer_items, false, &format!("{path}[]"))?;
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (i, v) in node
            .get(junctor)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            check_junction(v, outer, false, &format!("{path}({junctor}[{i}])"))?;
        }
    }
    if let Some(not) = node.get("not") {
        check_junction(not, outer, false, &format!("{path}(not)"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_structural_check_rejects_what_kubernetes_rejects() {
        let ok = json!({"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "any": {"x-kubernetes-preserve-unknown-fields": true},
            "m": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                  "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        }});
        assert_eq!(is_structural(&ok), Ok(()));
        let bad = [
            json!({"type": "object", "properties": {"a": {}}}),
            json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}}),
            json!({"type": "object", "additionalProperties": false, "properties": {}}),
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}),
            json!({"type": "object", "properties": {"a": {"type": "array"}}}),
            json!({"type": "object", "properties": {"a": {"type": "object",
                "oneOf": [{"type": "object", "properties": {"x": {"type": "string"}}}]}}}),
            json!({"type": "object", "properties": {"a": {"type": "object",
                "oneOf": [{"properties": {"x": {}}, "required": ["x"]}]}}}),
            json!({"type": "object", "properties": {"a": {"type": "string", "const": "x"}}}),
            json!({"type": "object", "properties": {"metadata": {"type": "object",
                "properties": {"labels": {"type": "object"}}}}}),
            json!({"type": "string"}),
        ];
        for schema in bad {
            assert!(is_structural(&schema).is_err(), "accepted {schema}");
        }
    }

    #[test]
    fn string_matches_become_kubernetes_one_of() {
        let schema =
            structural(&schemars::schema_for!(crate::config::types::StringMatch).to_value());
        assert_eq!(
            schema,
            json!({
                "oneOf": [{"required": ["exact"]}, {"required": ["prefix"]}, {"required": ["regex"]}],
                "type": "object",
                "properties": {
                    "exact": {"type": "string"},
                    "prefix": {"type": "string"},
                    "regex": {"type": "string"},
                },
            })
        );
        let ios = structural(&schemars::schema_for!(crate::config::types::IntOrString).to_value());
        assert_eq!(
            ios,
            json!({"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true})
        );
    }
}
