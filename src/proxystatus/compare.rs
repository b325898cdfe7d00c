//! `proxy-status <proxy>`: the control plane's intended config against the proxy's own
//! (`istioctl/pkg/writer/compare`). For clusters (dynamic active), listeners (dynamic, with an
//! active state, draining state dropped) and routes (dynamic, virtual hosts sorted by name), both
//! sides are sorted by name, stripped of what legitimately differs (`version_info`,
//! `last_updated`, a listener's outer `name`), printed as jsonpb does (protojson names,
//! three-space indent) and diffed: `Clusters Match`, or `Clusters Don't Match` and a unified diff
//! (`--- Istiod Clusters` / `+++ Envoy Clusters`, 7 lines of context). Static resources, EDS and
//! secrets are not compared.
//!
//! The dumps are read as JSON (`serde_json::Value`) in either naming (Envoy's admin API prints
//! proto names, protojson camelCase), so an Envoy's or istiod's dump works as well as ours.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};
use similar::TextDiff;

use super::sync::parse_time;
use crate::proxyconfig::dump::{CLUSTERS, ConfigDump, LISTENERS, ROUTES, items};

/// istioctl's diff context.
const CONTEXT: usize = 7;

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{0} is not an Envoy config dump: expected a JSON object with a \"configs\" array")]
    NotConfigDump(&'static str),
}

/// The items at `key` of the section of `@type` `type_url`, or none when the dump lacks it.
fn section_items<'a>(dump: &'a ConfigDump, type_url: &'static str, key: &str) -> Vec<&'a Value> {
    dump.section(type_url)
        .map(|s| items(s, key).collect())
        .unwrap_or_default()
}

fn name_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn without(v: &Value, keys: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `{key: items}`, or `{}` when there are none (jsonpb leaves out empty repeated fields).
fn wrap(key: &str, items: Vec<Value>) -> Value {
    let mut m = Map::new();
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items));
    }
    Value::Object(m)
}

/// istioctl's `GetDynamicClusterDump(true)`.
fn clusters(dump: &ConfigDump) -> Value {
    let mut all = section_items(dump, CLUSTERS, "dynamicActiveClusters");
    all.sort_by(|a, b| name_at(a, "/cluster/name").cmp(name_at(b, "/cluster/name")));
    wrap(
        "dynamicActiveClusters",
        all.into_iter()
            .map(|c| without(c, &["versionInfo", "lastUpdated"]))
            .collect(),
    )
}

/// istioctl's `GetDynamicListenerDump(true)`.
fn listeners(dump: &ConfigDump) -> Value {
    let mut all: Vec<&Value> = section_items(dump, LISTENERS, "dynamicListeners")
        .into_iter()
        .filter(|l| l.get("activeState").is_some_and(|s| !s.is_null()))
        .collect();
    all.sort_by(|a, b| {
        name_at(a, "/activeState/listener/name").cmp(name_at(b, "/activeState/listener/name"))
    });
    wrap(
        "dynamicListeners",
        all.into_iter()
            .map(|l| {
                let mut l = without(l, &["name", "drainingState"]);
                if let Some(active) = l.get_mut("activeState") {
                    *active = without(active, &["versionInfo", "lastUpdated"]);
                }
                l
            })
            .collect(),
    )
}

/// istioctl's `GetDynamicRouteDump(true)`.
fn routes(dump: &ConfigDump) -> Value {
    let mut all = section_items(dump, ROUTES, "dynamicRouteConfigs");
    all.sort_by(|a, b| name_at(a, "/routeConfig/name").cmp(name_at(b, "/routeConfig/name")));
    wrap(
        "dynamicRouteConfigs",
        all.into_iter()
            .map(|r| {
                let mut r = without(r, &["versionInfo", "lastUpdated"]);
                if let Some(Value::Array(hosts)) = r.pointer_mut("/routeConfig/virtualHosts") {
                    hosts.sort_by(|a, b| name_at(a, "/name").cmp(name_at(b, "/name")));
                }
                r
            })
            .collect(),
    )
}

/// The newest `last_updated` of the proxy's dynamic route configs: when RDS last changed.
fn routes_loaded_at(envoy: &ConfigDump) -> Option<SystemTime> {
    section_items(envoy, ROUTES, "dynamicRouteConfigs")
        .iter()
        .filter_map(|r| r.get("lastUpdated").and_then(Value::as_str))
        .filter_map(parse_time)
        .max()
}

/// jsonpb's `Marshaler{Indent: "   "}` output.
fn jsonpb(v: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing a Value to memory cannot fail.
    let _ = v.serialize(&mut ser);
    let mut text = String::from_utf8(out).unwrap_or_default();
    // go-difflib's SplitLines ends the last line with a newline.
    text.push('\n');
    text
}

/// One section's verdict: `<What> Match`, or `<What> Don't Match` and the diff.
fn verdict(what: &str, istiod: &Value, envoy: &Value, suffix: &str) -> String {
    let (a, b) = (jsonpb(istiod), jsonpb(envoy));
    if a == b {
        return format!("{what} Match{suffix}\n");
    }
    let diff = TextDiff::from_lines(&a, &b);
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&format!("Istiod {what}"), &format!("Envoy {what}"))
        .to_string();
    // istioctl prints the diff with Println: a blank line follows it.
    format!("{what} Don't Match\n{text}\n")
}

/// RFC 1123 time as Go's `time.RFC1123` prints it, in UTC; a time before the epoch or beyond
/// jiff's range prints as the epoch.
fn rfc1123(t: SystemTime) -> String {
    use k8s_openapi::jiff::Timestamp;
    Timestamp::try_from(t.max(SystemTime::UNIX_EPOCH))
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%a, %d %b %Y %H:%M:%S UTC")
        .to_string()
}

/// The three verdicts for `istiod`'s dump of a proxy against the proxy's own `envoy` dump.
pub fn compare(istiod: &Value, envoy: &Value) -> Result<String, CompareError> {
    let read =
        |what, dump| ConfigDump::camel_cased(dump).map_err(|_| CompareError::NotConfigDump(what));
    let istiod = read("the control plane's dump", istiod)?;
    let envoy = read("the proxy's dump", envoy)?;
    let mut out = String::new();
    out.push_str(&verdict(
        "Clusters",
        &clusters(&istiod),
        &clusters(&envoy),
        "",
    ));
    out.push_str(&verdict(
        "Listeners",
        &listeners(&istiod),
        &listeners(&envoy),
        "",
    ));
    let loaded = routes_loaded_at(&envoy)
        .map(|t| format!(" (RDS last loaded at {})", rfc1123(t)))
        .unwrap_or_default();
    out.push_str(&verdict(
        "Routes",
        &routes(&istiod),
        &routes(&envoy),
        &loaded,
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dump(version: &str, at: &str, cluster_timeout: &str, domains: &[&str]) -> Value {
        json!({"configs": [
            {"@type": CLUSTERS, "version_info": version, "dynamic_active_clusters": [
                {"version_info": version, "cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "outbound|80||b", "connect_timeout": cluster_timeout}, "last_updated": at},
                {"version_info": version, "cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "outbound|80||a", "connect_timeout": "10s"}, "last_updated": at},
            ]},
            {"@type": LISTENERS, "dynamic_listeners": [
                {"name": "0.0.0.0_8080", "active_state": {"version_info": version, "listener": {"name": "0.0.0.0_8080"}, "last_updated": at}},
                {"name": "gone", "draining_state": {"listener": {"name": "gone"}}},
            ]},
            {"@type": ROUTES, "dynamic_route_configs": [
                {"version_info": version, "route_config": {"name": "http.8080", "virtual_hosts": [
                    {"name": "z", "domains": ["z"]},
                    {"name": "a", "domains": domains},
                ]}, "last_updated": at},
            ]},
        ]})
    }

    #[test]
    fn versions_times_and_order_do_not_count() {
        let istiod = dump("v1", "2020-08-04T06:22:54Z", "10s", &["a"]);
        let mut envoy = dump("v9", "2020-08-04T06:22:54.5Z", "10s", &["a"]);
        // The proxy lists its clusters in another order.
        if let Some(Value::Array(c)) = envoy.pointer_mut("/configs/0/dynamic_active_clusters") {
            c.reverse();
        }
        assert_eq!(
            compare(&istiod, &envoy).expect("dumps"),
            "Clusters Match\nListeners Match\nRoutes Match (RDS last loaded at Tue, 04 Aug 2020 06:22:54 UTC)\n"
        );
    }

    #[test]
    fn differences_are_unified_diffs() {
        let istiod = dump("v1", "2020-08-04T06:22:54Z", "5s", &["a", "a:80"]);
        let envoy = dump("v1", "2020-08-04T06:22:54Z", "10s", &["a"]);
        let out = compare(&istiod, &envoy).expect("dumps");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn an_empty_side_is_a_difference_and_non_dumps_are_errors() {
        let istiod = dump("v1", "2020-08-04T06:22:54Z", "10s", &["a"]);
        let envoy = json!({"configs": []});
        let out = compare(&istiod, &envoy).expect("dumps");
        assert!(
            out.starts_with("Clusters Don't Match\n--- Istiod Clusters\n+++ Envoy Clusters\n"),
            "{out}"
        );
        assert!(out.ends_with("}\n\n"), "{out}");
        assert!(compare(&istiod, &json!([1])).is_err());
    }
}
