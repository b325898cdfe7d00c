//! An Envoy `/config_dump` read as JSON: its sections are found by their `@type`, and everything
//! inside stays a `serde_json::Value`, so a real Envoy's dump with extensions we do not know reads
//! as well as our proxy's.

use serde_json::Value;

use super::DumpError;
use super::protojson::camel_case;

pub const BOOTSTRAP: &str = "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump";
pub const CLUSTERS: &str = "type.googleapis.com/envoy.admin.v3.ClustersConfigDump";
pub const LISTENERS: &str = "type.googleapis.com/envoy.admin.v3.ListenersConfigDump";
pub const ROUTES: &str = "type.googleapis.com/envoy.admin.v3.RoutesConfigDump";
pub const ENDPOINTS: &str = "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump";
pub const SECRETS: &str = "type.googleapis.com/envoy.admin.v3.SecretsConfigDump";
pub const ECDS: &str = "type.googleapis.com/envoy.admin.v3.EcdsConfigDump";

/// A parsed config dump.
#[derive(Debug)]
pub struct ConfigDump {
    root: Value,
}

impl ConfigDump {
    /// Parses the bytes of `GET /config_dump` (any mask).
    pub fn parse(bytes: &[u8]) -> Result<ConfigDump, DumpError> {
        let root = parse_json(bytes)?;
        check(&root)?;
        Ok(ConfigDump { root })
    }

    /// A dump already read as JSON, in either naming, with protojson's lowerCamelCase field
    /// names throughout (as proxy-status compares two dumps).
    pub fn camel_cased(root: &Value) -> Result<ConfigDump, DumpError> {
        check(root)?;
        Ok(ConfigDump {
            root: camel_case(root),
        })
    }

    /// The whole dump, as read.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The first section of `type_url`, as istioctl's config dump wrapper picks it.
    pub fn section(&self, type_url: &'static str) -> Result<&Value, DumpError> {
        self.root["configs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c.get("@type").and_then(Value::as_str) == Some(type_url))
            .ok_or(DumpError::MissingSection(type_url))
    }

    /// The first section of `type_url` without its `@type`: what `-o json|yaml` prints of a
    /// section printed whole (bootstrap, secrets, ECDS).
    pub fn section_without_type(&self, type_url: &'static str) -> Result<Value, DumpError> {
        let mut s = self.section(type_url)?.clone();
        if let Some(o) = s.as_object_mut() {
            o.shift_remove("@type");
        }
        Ok(s)
    }
}

/// A config dump is a JSON object with a `configs` array.
fn check(root: &Value) -> Result<(), DumpError> {
    if root.get("configs").is_some_and(Value::is_array) {
        Ok(())
    } else {
        Err(DumpError::NotConfigDump)
    }
}

/// Parses JSON, keeping serde_json's line and column for the error.
pub fn parse_json(bytes: &[u8]) -> Result<Value, DumpError> {
    serde_json::from_slice(bytes).map_err(|e| DumpError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

/// serde_json appends " at line L column C"; we print the position in front instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The items of the array at `value[key]`, or nothing.
pub fn items<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The strings in the array at `value[key]` (other items skipped), or none.
pub fn strings_of<'a>(value: &'a Value, key: &str) -> Vec<&'a str> {
    items(value, key).filter_map(Value::as_str).collect()
}

/// The string at `value[key]`, or "".
pub fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A protobuf integer as Envoy's JSON prints it: a number, or a string for 64-bit values.
pub fn u64_of(value: Option<&Value>) -> u64 {
    match value {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Whether any string inside `value` contains `needle` (istioctl looks for `BlackHoleCluster` in
/// a tcp_proxy's serialized config).
pub fn any_string_contains(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.contains(needle),
        Value::Array(a) => a.iter().any(|v| any_string_contains(v, needle)),
        Value::Object(o) => o.values().any(|v| any_string_contains(v, needle)),
        _ => false,
    }
}

/// A cluster name split the Istio way: `direction|port|subset|fqdn` when it has ≥ 4 parts,
/// otherwise the whole name as the host (istioctl `safelyParseSubsetKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsetKey<'a> {
    pub direction: &'a str,
    pub subset: &'a str,
    pub host: &'a str,
    pub port: i64,
    pub split: bool,
}

impl<'a> SubsetKey<'a> {
    pub fn parse(name: &'a str) -> SubsetKey<'a> {
        let mut parts = name.split('|');
        let p: Vec<&str> = parts.by_ref().take(4).collect();
        if p.len() == 4 {
            SubsetKey {
                direction: p[0],
                port: p[1].parse().unwrap_or(0),
                subset: p[2],
                host: p[3],
                split: true,
            }
        } else {
            SubsetKey {
                direction: "",
                subset: "",
                host: name,
                port: 0,
                split: false,
            }
        }
    }

    /// istioctl's order: host, then subset, then port, then direction.
    pub fn less(&self, other: &SubsetKey<'_>) -> bool {
        (self.host, self.subset, self.port, self.direction)
            < (other.host, other.subset, other.port, other.direction)
    }
}

/// `<name>.<namespace>` of the Istio config that produced a resource, from its metadata
/// `filter_metadata.istio.config` (`/apis/networking.istio.io/v1/namespaces/NS/KIND/NAME`).
pub fn describe_management(metadata: Option<&Value>) -> String {
    let Some(path) = metadata
        .and_then(|m| m.get("filter_metadata"))
        .and_then(|f| f.get("istio"))
        .and_then(|i| i.get("config"))
    else {
        return String::new();
    };
    let path = path.as_str().unwrap_or("");
    if path.starts_with("/apis/networking.istio.io/") {
        let pieces: Vec<&str> = path.split('/').collect();
        if pieces.len() != 8 || pieces[4] != "namespaces" {
            return String::new();
        }
        return format!("{}.{}", pieces[7], pieces[5]);
    }
    "<unknown>".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = ConfigDump::parse(b"{\n  \"configs\": [,]\n}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2 column 15: not valid JSON: expected value"
        );
    }

    #[test]
    fn json_that_is_not_a_dump_is_refused() {
        let err = ConfigDump::parse(b"{\"cluster_statuses\": []}").unwrap_err();
        assert!(matches!(err, DumpError::NotConfigDump));
    }

    #[test]
    fn subset_keys_split_on_four_parts() {
        let k = SubsetKey::parse("outbound|9080|v1|reviews.default.svc.cluster.local");
        assert_eq!(
            (k.direction, k.port, k.subset, k.host),
            ("outbound", 9080, "v1", "reviews.default.svc.cluster.local")
        );
        assert!(!SubsetKey::parse("BlackHoleCluster").split);
    }

    #[test]
    fn management_names_the_istio_config() {
        let m: Value = serde_json::json!({"filter_metadata": {"istio": {"config":
            "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews"}}});
        assert_eq!(describe_management(Some(&m)), "reviews.default");
        let other = serde_json::json!({"filter_metadata": {"istio": {"config": "x"}}});
        assert_eq!(describe_management(Some(&other)), "<unknown>");
        assert_eq!(describe_management(None), "");
    }
}
