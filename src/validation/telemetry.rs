//! Telemetry (`ValidateTelemetry`): selection, providers, tracing sampling and custom tags,
//! metric tag overrides. Access-log CEL filters are not parsed.

use super::Out;
use super::common::validate_policy_selection;
use crate::config::telemetry::{Telemetry, TelemetryEntry};
use serde_json::Value;

fn check_providers(e: &TelemetryEntry, base: &str, out: &mut Out) {
    if e.providers.iter().any(|p| p.name.is_empty()) {
        out.error(
            &format!("{base}.providers"),
            "providers.name may not be empty",
        );
    }
}

pub fn validate(t: &Telemetry, out: &mut Out) {
    validate_policy_selection(
        t.selector.as_ref(),
        t.target_ref.as_ref(),
        &t.target_refs,
        out,
    );
    for (i, m) in t.metrics.iter().enumerate() {
        let base = format!(".spec.metrics[{i}]");
        check_providers(m, &base, out);
        let overrides = m.rest.get("overrides").and_then(Value::as_array);
        for (j, o) in overrides.into_iter().flatten().enumerate() {
            let ob = format!("{base}.overrides[{j}]");
            if o.is_null() {
                out.error(&ob, "tagOverrides may not be null");
                continue;
            }
            let tags = o.get("tagOverrides").and_then(Value::as_object);
            for (name, v) in tags.into_iter().flatten() {
                let tb = format!("{ob}.tagOverrides.{name}");
                if name.is_empty() {
                    out.warn(&tb, "tagOverrides.name may not be empty");
                }
                if v.is_null() {
                    out.error(&tb, "tagOverrides may not be null");
                    continue;
                }
                let op = v
                    .get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or("UPSERT");
                let value = v.get("value").and_then(Value::as_str).unwrap_or_default();
                if op == "UPSERT" && value.is_empty() {
                    out.error(
                        &tb,
                        "tagOverrides.value must be set when operation is UPSERT",
                    );
                }
                if op == "REMOVE" && !value.is_empty() {
                    out.error(
                        &tb,
                        "tagOverrides.value may only be set when operation is UPSERT",
                    );
                }
            }
            if o.get("match")
                .and_then(|m| m.get("customMetric"))
                .and_then(Value::as_str)
                == Some("")
            {
                out.error(
                    &format!("{ob}.match.customMetric"),
                    "customMetric may not be empty",
                );
            }
        }
    }
    if t.tracing.len() > 1 {
        out.warn(
            ".spec.tracing",
            "multiple tracing is not currently supported",
        );
    }
    for (i, tr) in t.tracing.iter().enumerate() {
        let base = format!(".spec.tracing[{i}]");
        if tr.providers.len() > 1 {
            out.warn(
                &format!("{base}.providers"),
                "multiple providers is not currently supported",
            );
        }
        check_providers(tr, &base, out);
        if let Some(p) = tr
            .rest
            .get("randomSamplingPercentage")
            .and_then(Value::as_f64)
            && !(0.0..=100.0).contains(&p)
        {
            out.error(
                &format!("{base}.randomSamplingPercentage"),
                "randomSamplingPercentage must be in range [0.0, 100.0]",
            );
        }
        let tags = tr.rest.get("customTags").and_then(Value::as_object);
        for (name, v) in tags.into_iter().flatten() {
            let tb = format!("{base}.customTags.{name}");
            if name.is_empty() {
                out.error(&tb, "tag name may not be empty");
            }
            if v.is_null() {
                out.error(&tb, format!("tag '{name}' may not have a nil value"));
                continue;
            }
            let empty = |k: &str, f: &str| {
                v.get(k).is_some_and(|o| {
                    o.get(f)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .is_empty()
                })
            };
            if empty("literal", "value") {
                out.error(&tb, "literal tag value may not be empty");
            }
            if empty("header", "name") {
                out.error(&tb, "header tag name may not be empty");
            }
            if empty("environment", "name") {
                out.error(&tb, "environment tag name may not be empty");
            }
        }
    }
    for (i, a) in t.access_logging.iter().enumerate() {
        check_providers(a, &format!(".spec.accessLogging[{i}]"), out);
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::testing::{errors, warnings};

    #[test]
    fn telemetry_rules() {
        let y = "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: default}\nspec:\n  tracing:\n  - providers: [{name: a}, {name: b}]\n    randomSamplingPercentage: 101\n    customTags:\n      t1: {literal: {value: ''}}\n  - providers: [{name: ''}]\n  metrics:\n  - overrides:\n    - tagOverrides:\n        x: {operation: REMOVE, value: v}\n";
        assert_eq!(
            errors(y),
            vec![
                "tagOverrides.value may only be set when operation is UPSERT",
                "randomSamplingPercentage must be in range [0.0, 100.0]",
                "literal tag value may not be empty",
                "providers.name may not be empty",
            ]
        );
        assert_eq!(
            warnings(y),
            vec![
                "multiple tracing is not currently supported",
                "multiple providers is not currently supported"
            ]
        );
        let ok = "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: default}\nspec:\n  accessLogging: [{providers: [{name: envoy}]}]\n";
        assert_eq!(errors(ok), Vec::<String>::new());
    }
}
