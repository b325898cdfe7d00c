//! `envoyfilter.EnvoyPatchAnalyzer`: EnvoyFilter patch operations that Istio ignores for their
//! `applyTo`, and relative operations whose outcome depends on filter ordering.

use crate::analyze::catalog::{IST0151, IST0152, IST0153, IST0154, IST0155};
use crate::analyze::context::{Analyzer, Context};
use crate::analyze::message::MessageType;
use crate::config::kind::Kind;
use crate::config::networking::EnvoyConfigObjectPatch;
use crate::config::resource::Spec;

pub const ANALYZER: Analyzer = Analyzer {
    name: "envoyfilter.EnvoyPatchAnalyzer",
    // Istio's description, trailing space included.
    description: "Checks an envoyFilters ",
    inputs: &[Kind::EnvoyFilter],
    reads: &[Kind::EnvoyFilter],
    run,
};

/// The name Istio uses to recognise the same filter across EnvoyFilters: the patch value's
/// `name`, else the listener filter chain's filter name. Only compared for equality.
fn instance_name(cp: &EnvoyConfigObjectPatch) -> String {
    let Some(value) = cp
        .patch
        .as_ref()
        .and_then(|p| p.value.as_ref())
        .and_then(|v| v.as_object())
    else {
        return String::new();
    };
    if value.is_empty() {
        return String::new();
    }
    if let Some(name) = value.get("name") {
        return name.to_string();
    }
    cp.match_
        .as_ref()
        .and_then(|m| m.get("listener"))
        .and_then(|l| l.get("filterChain"))
        .map(|fc| {
            fc.get("filter")
                .and_then(|f| f.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}

fn proxy_version_set(cp: &EnvoyConfigObjectPatch) -> bool {
    cp.match_
        .as_ref()
        .and_then(|m| m.get("proxy"))
        .and_then(|p| p.get("proxyVersion"))
        .and_then(|v| v.as_str())
        .is_some_and(|v| !v.is_empty())
}

fn run(ctx: &mut Context<'_>) {
    // Names of filters patched with a proxyVersion match, across all EnvoyFilters so far: a
    // relative patch of such a filter may stop applying after an upgrade.
    let mut versioned_names: Vec<String> = Vec::new();
    for r in ctx.of(Kind::EnvoyFilter) {
        let Spec::EnvoyFilter(ef) = &r.spec else {
            continue;
        };
        let unprioritised = ef.priority.unwrap_or(0) == 0;
        for (index, cp) in ef.config_patches.iter().enumerate() {
            // Istio stops at the first patch without a `patch` section.
            let Some(patch) = &cp.patch else {
                break;
            };
            let name = instance_name(cp);
            let apply_to = cp.apply_to.as_deref().unwrap_or_default();
            let route_level = matches!(apply_to, "ROUTE_CONFIGURATION" | "HTTP_ROUTE");
            let relative = || -> Option<&'static MessageType> {
                if !unprioritised {
                    return None;
                }
                if versioned_names.contains(&name) {
                    Some(&IST0155)
                } else {
                    Some(&IST0151)
                }
            };
            let message = match patch.operation.as_deref().unwrap_or_default() {
                "ADD" if route_level => Some(&IST0153),
                "REMOVE" if route_level => Some(&IST0154),
                "REMOVE" => relative(),
                "REPLACE" if !matches!(apply_to, "NETWORK_FILTER" | "HTTP_FILTER") => {
                    Some(&IST0152)
                }
                "REPLACE" | "INSERT_BEFORE" | "INSERT_AFTER" => relative(),
                _ => None,
            };
            if let Some(typ) = message {
                ctx.report(
                    typ,
                    r,
                    Some(&format!("{{.spec.configPatches[{index}].patch.value}}")),
                    &[],
                );
            }
            if proxy_version_set(cp) {
                versioned_names.push(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    #[test]
    fn relative_operations_without_priority() {
        let yaml = r#"apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: test-relative-1, namespace: bookinfo}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      proxy: {proxyVersion: '^1\.20.*'}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: test-relative-2, namespace: bookinfo}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_AFTER
      value:
        name: envoy.filters.http.lua
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: test-prioritised, namespace: bookinfo}
spec:
  priority: 10
  configPatches:
  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_AFTER
      value:
        name: envoy.filters.http.lua
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: test-absolute, namespace: bookinfo}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_FIRST
      value:
        name: envoy.filters.http.lua
  - applyTo: CLUSTER
    patch:
      operation: MERGE
      value: {connect_timeout: 1s}
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair("IST0151", "EnvoyFilter bookinfo/test-relative-1"),
                pair("IST0155", "EnvoyFilter bookinfo/test-relative-2"),
            ]
        );
    }

    #[test]
    fn operations_invalid_for_apply_to() {
        let yaml = r#"apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: test-ops, namespace: bookinfo}
spec:
  configPatches:
  - applyTo: CLUSTER
    patch:
      operation: REPLACE
      value:
        name: outbound|80||foo
  - applyTo: HTTP_ROUTE
    patch:
      operation: ADD
      value:
        name: route
  - applyTo: ROUTE_CONFIGURATION
    patch:
      operation: REMOVE
  - applyTo: LISTENER
    patch:
      operation: ADD
      value:
        name: new-listener
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair("IST0152", "EnvoyFilter bookinfo/test-ops"),
                pair("IST0153", "EnvoyFilter bookinfo/test-ops"),
                pair("IST0154", "EnvoyFilter bookinfo/test-ops"),
            ]
        );
        // The patch value is a mapping, which has no line of its own: the document start.
        assert!(lines(&ANALYZER, yaml).contains(
            &"Error [IST0152] (EnvoyFilter bookinfo/test-ops test.yaml:1) The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER."
                .to_string()
        ));
    }

    #[test]
    fn a_patch_without_patch_section_stops_the_filter() {
        let yaml = r#"apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: stops, namespace: bookinfo}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_BEFORE
      value: {name: envoy.filters.http.lua}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
