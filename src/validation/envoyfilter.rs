//! EnvoyFilter (`envoyfilter.ValidateEnvoyFilter`): the structural checks on patches and
//! matches. Converting patch values to xDS protos (and the warnings that come from it) is not
//! done.

use super::Out;
use super::common::validate_alpha_workload_selector;
use crate::config::networking::EnvoyFilter;
use serde_json::Value;

const LISTENER_CLASS: &[&str] = &["LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER"];
const ROUTE_CLASS: &[&str] = &["ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"];
const OBJECT_TYPES: &[&str] = &["listener", "routeConfiguration", "cluster"];

/// Istio's deprecated → current filter names (`xds.ReverseDeprecatedFilterNames`), the common
/// ones.
const DEPRECATED_FILTERS: &[(&str, &str)] = &[
    (
        "envoy.http_connection_manager",
        "envoy.filters.network.http_connection_manager",
    ),
    ("envoy.tcp_proxy", "envoy.filters.network.tcp_proxy"),
    ("envoy.router", "envoy.filters.http.router"),
    ("envoy.cors", "envoy.filters.http.cors"),
    ("envoy.fault", "envoy.filters.http.fault"),
    ("envoy.lua", "envoy.filters.http.lua"),
    ("envoy.ext_authz", "envoy.filters.http.ext_authz"),
    ("envoy.rate_limit", "envoy.filters.http.ratelimit"),
    (
        "envoy.filters.http.rate_limit",
        "envoy.filters.http.ratelimit",
    ),
    ("envoy.grpc_web", "envoy.filters.http.grpc_web"),
    ("envoy.gzip", "envoy.filters.http.gzip"),
    ("envoy.health_check", "envoy.filters.http.health_check"),
    (
        "envoy.listener.tls_inspector",
        "envoy.filters.listener.tls_inspector",
    ),
    (
        "envoy.listener.http_inspector",
        "envoy.filters.listener.http_inspector",
    ),
    (
        "envoy.listener.original_dst",
        "envoy.filters.listener.original_dst",
    ),
    ("envoy.mongo_proxy", "envoy.filters.network.mongo_proxy"),
    ("envoy.redis_proxy", "envoy.filters.network.redis_proxy"),
];

fn deprecated(name: &str, path: &str, out: &mut Out) {
    if let Some((old, new)) = DEPRECATED_FILTERS.iter().find(|(o, _)| *o == name) {
        out.warn(
            path,
            format!("using deprecated filter name {old:?}; use {new:?} instead"),
        );
    }
}

pub fn validate(ef: &EnvoyFilter, out: &mut Out) {
    let mut sel = Out::default();
    if !validate_alpha_workload_selector(ef.workload_selector.as_ref(), "Envoy filter", &mut sel) {
        out.findings.extend(sel.findings);
        return;
    }
    out.warn(
        "",
        "EnvoyFilter exposes internal implementation details that may change at any time. Prefer other APIs if possible, and exercise extreme caution, especially around upgrades.",
    );
    out.findings.extend(sel.findings);
    for (i, cp) in ef.config_patches.iter().enumerate() {
        let base = format!(".spec.configPatches[{i}]");
        let Some(apply_to) = cp.apply_to.as_deref().filter(|a| *a != "INVALID") else {
            out.error(&base, "Envoy filter: missing applyTo");
            continue;
        };
        let Some(patch) = &cp.patch else {
            out.error(&base, "Envoy filter: missing patch");
            continue;
        };
        let Some(op) = patch.operation.as_deref().filter(|o| *o != "INVALID") else {
            out.error(
                &format!("{base}.patch"),
                "Envoy filter: missing patch operation",
            );
            continue;
        };
        if op != "REMOVE" && patch.value.is_none() {
            out.error(
                &format!("{base}.patch"),
                "Envoy filter: missing patch value for non-remove operation",
            );
            continue;
        }
        let m = cp.match_.as_ref();
        let mb = format!("{base}.match");
        if let Some(v) = m
            .and_then(|m| m.get("proxy"))
            .and_then(|p| p.get("proxyVersion"))
            .and_then(Value::as_str)
            && let Err(e) = regex::Regex::new(v)
        {
            let reason = e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
            out.error(
                &format!("{mb}.proxy.proxyVersion"),
                format!("Envoy filter: invalid regex for proxy version, [{reason}]"),
            );
            continue;
        }
        let object = m.and_then(|m| OBJECT_TYPES.iter().find(|k| m.get(**k).is_some()).copied());
        if LISTENER_CLASS.contains(&apply_to) {
            if object.is_some_and(|o| o != "listener") {
                out.error(
                    &mb,
                    "Envoy filter: applyTo for listener class objects cannot have non listener match",
                );
                continue;
            }
            let filter = m
                .and_then(|m| m.get("listener"))
                .and_then(|l| l.get("filterChain"))
                .and_then(|fc| fc.get("filter"));
            if let Some(f) = filter {
                let fb = format!("{mb}.listener.filterChain.filter");
                if apply_to == "LISTENER" || apply_to == "FILTER_CHAIN" {
                    out.warn(
                        &fb,
                        format!(
                            "Envoy filter: filter match has no effect when used with {apply_to}"
                        ),
                    );
                }
                let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                if name.is_empty() {
                    out.error(&fb, "Envoy filter: filter match has no name to match on");
                    continue;
                }
                if let Some(sf) = f.get("subFilter") {
                    if apply_to != "HTTP_FILTER" {
                        out.error(&fb, "Envoy filter: subfilter match can be used with applyTo HTTP_FILTER only");
                        continue;
                    }
                    if name != "envoy.filters.network.http_connection_manager"
                        && name != "envoy.http_connection_manager"
                    {
                        out.error(
                            &fb,
                            "Envoy filter: subfilter match requires filter match with envoy.filters.network.http_connection_manager",
                        );
                        continue;
                    }
                    let sub = sf.get("name").and_then(Value::as_str).unwrap_or_default();
                    if sub.is_empty() {
                        out.error(
                            &format!("{fb}.subFilter"),
                            "Envoy filter: subfilter match has no name to match on",
                        );
                        continue;
                    }
                    deprecated(name, &format!("{fb}.name"), out);
                    deprecated(sub, &format!("{fb}.subFilter.name"), out);
                } else {
                    deprecated(name, &format!("{fb}.name"), out);
                }
            }
        }
        if ROUTE_CLASS.contains(&apply_to) && object.is_some_and(|o| o != "routeConfiguration") {
            out.error(
                &mb,
                "Envoy filter: applyTo for http route class objects cannot have non route configuration match",
            );
        }
        if apply_to == "CLUSTER" && object.is_some_and(|o| o != "cluster") {
            out.error(
                &mb,
                "Envoy filter: applyTo for cluster class objects cannot have non cluster match",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    const ALWAYS: &str = "EnvoyFilter exposes internal implementation details that may change at any time. Prefer other APIs if possible, and exercise extreme caution, especially around upgrades.";

    #[test]
    fn envoy_filters() {
        let y = "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: e, namespace: default}\nspec:\n  configPatches:\n  - applyTo: HTTP_FILTER\n    match:\n      listener:\n        filterChain:\n          filter:\n            name: envoy.http_connection_manager\n            subFilter: {name: envoy.router}\n    patch: {operation: INSERT_BEFORE, value: {name: x}}\n  - applyTo: CLUSTER\n    match: {listener: {}}\n    patch: {operation: REMOVE}\n  - applyTo: NETWORK_FILTER\n    patch: {operation: MERGE}\n  - patch: {operation: MERGE}\n";
        assert_eq!(
            errors(y),
            vec![
                "Envoy filter: applyTo for cluster class objects cannot have non cluster match",
                "Envoy filter: missing patch value for non-remove operation",
                "Envoy filter: missing applyTo",
            ]
        );
        assert_eq!(
            warnings(y),
            vec![
                ALWAYS,
                "using deprecated filter name \"envoy.http_connection_manager\"; use \"envoy.filters.network.http_connection_manager\" instead",
                "using deprecated filter name \"envoy.router\"; use \"envoy.filters.http.router\" instead",
            ]
        );
    }
}
