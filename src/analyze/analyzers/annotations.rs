//! `annotations.K8sAnalyzer`: Istio annotations on Namespaces, Services, Pods and Deployments
//! must be known (IST0108), not deprecated (IST0135), applied to a kind they belong on
//! (IST0107), and valid where Istio's injector validates them (IST0125).
//!
//! Istio's inputs are Namespace, Service, Pod and Deployment, but it analyses whichever of them
//! exist; Ferry's framework would skip an analyzer when any listed non-Istio kind is missing, so
//! this one declares no inputs and walks the objects of those four kinds that are present.
//!
//! Lines: Istio's `util.AddLineNumber` sets the line on a copy of the message, so these
//! messages point at the object's document start; Ferry reports them the same way.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::annotations_table::{ResourceType, lookup};
use crate::analyze::catalog::{IST0107, IST0108, IST0125, IST0135};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::inject::proxy_config::ProxyConfig;

pub const ANALYZER: Analyzer = Analyzer {
    name: "annotations.K8sAnalyzer",
    description: "Checks for misplaced and invalid Istio annotations in Kubernetes resources",
    inputs: &[],
    reads: &[Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment],
    run,
};

const INJECT: &str = "sidecar.istio.io/inject";

fn run(ctx: &mut Context<'_>) {
    for kind in [Kind::Namespace, Kind::Service, Kind::Pod, Kind::Deployment] {
        for r in ctx.of(kind) {
            // Only the object's own annotations: a Deployment's template is not checked.
            for (ann, value) in r.annotations() {
                if !is_istio_annotation(ann) {
                    continue;
                }
                let Some(def) = lookup(ann) else {
                    ctx.report(&IST0108, r, None, &[ann.into()]);
                    continue;
                };
                if def.deprecated {
                    // Users keeping the annotation next to its replacement label know already.
                    if !(ann == INJECT && r.labels().contains_key(INJECT)) {
                        let extra = if ann == INJECT {
                            " in favor of the \"sidecar.istio.io/inject\" label"
                        } else {
                            ""
                        };
                        ctx.report(&IST0135, r, None, &[ann.into(), extra.into()]);
                    }
                }
                if def.resources.contains(&ResourceType::Any) {
                    continue;
                }
                let kind_name = kind.name();
                if !def.resources.iter().any(|t| t.as_str() == kind_name) {
                    let attaches: Vec<&str> = def.resources.iter().map(|t| t.as_str()).collect();
                    ctx.report(&IST0107, r, None, &[ann.into(), attaches.join(", ").into()]);
                    continue;
                }
                if let Some(Err(problem)) = validate(ann, value) {
                    ctx.report(&IST0125, r, None, &[ann.into(), problem.into()]);
                }
            }
        }
    }
}

/// `istioAnnotation`: the Ingress class annotation Istio documents, or any annotation whose
/// prefix (before the first `/`) ends with `istio.io`.
fn is_istio_annotation(ann: &str) -> bool {
    ann == "kubernetes.io/ingress.class"
        || ann
            .split('/')
            .next()
            .unwrap_or_default()
            .ends_with("istio.io")
}

/// `inject.AnnotationValidation`: `None` when Istio has no validator for `ann`. The injector
/// refuses a pod whose annotations fail it, as Istio's does.
pub(crate) fn validate(ann: &str, value: &str) -> Option<Result<(), String>> {
    let result = match ann {
        "sidecar.istio.io/interceptionMode" => match value {
            "REDIRECT" | "TPROXY" | "NONE" => Ok(()),
            _ => Err(format!(
                "interceptionMode invalid, use REDIRECT,TPROXY,NONE: {value}"
            )),
        },
        "status.sidecar.istio.io/port" => {
            parse_port(value).map_err(|e| format!("excludeInboundPorts invalid: {e}"))
        }
        "readiness.status.sidecar.istio.io/initialDelaySeconds"
        | "readiness.status.sidecar.istio.io/periodSeconds"
        | "readiness.status.sidecar.istio.io/failureThreshold" => {
            parse_uint(value, u64::from(u32::MAX)).map(|_| ())
        }
        "traffic.sidecar.istio.io/includeOutboundIPRanges" => {
            if value == "*" {
                Ok(())
            } else {
                validate_cidrs(value).map_err(|e| format!("includeIPRanges invalid: {e}"))
            }
        }
        "traffic.sidecar.istio.io/excludeOutboundIPRanges" => {
            validate_cidrs(value).map_err(|e| format!("excludeIPRanges invalid: {e}"))
        }
        "traffic.sidecar.istio.io/includeInboundPorts" => {
            if value == "*" {
                Ok(())
            } else {
                port_list("includeInboundPorts", value)
            }
        }
        "traffic.sidecar.istio.io/excludeInboundPorts" => port_list("excludeInboundPorts", value),
        "traffic.sidecar.istio.io/excludeOutboundPorts" => port_list("excludeOutboundPorts", value),
        "prometheus.istio.io/merge-metrics" => match value {
            "1" | "t" | "T" | "TRUE" | "true" | "True" | "0" | "f" | "F" | "FALSE" | "false"
            | "False" => Ok(()),
            _ => Err(format!(
                "strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(value)
            )),
        },
        "proxy.istio.io/config" => validate_proxy_config(value),
        _ => return None,
    };
    Some(result)
}

/// Go's `strconv.Quote` for the printable strings these errors quote.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// `strconv.ParseUint(s, 10, bits)`: digits only; the first bad digit is a syntax error and
/// exceeding `max` (checked digit by digit, as Go does) a range error.
fn parse_uint(s: &str, max: u64) -> Result<u64, String> {
    let err = |what: &str| format!("strconv.ParseUint: parsing {}: {what}", go_quote(s));
    if s.is_empty() {
        return Err(err("invalid syntax"));
    }
    let mut n: u64 = 0;
    for c in s.chars() {
        let Some(d) = c.to_digit(10) else {
            return Err(err("invalid syntax"));
        };
        n = match n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d))) {
            Some(n) if n <= max => n,
            _ => return Err(err("value out of range")),
        };
    }
    Ok(n)
}

/// Istio's `parsePort`: a trimmed 16-bit unsigned number.
fn parse_port(s: &str) -> Result<(), String> {
    parse_uint(s.trim(), u64::from(u16::MAX))
        .map(|_| ())
        .map_err(|e| format!("failed parsing port '{s}': {e}"))
}

/// `validatePortList`: a comma-separated list of ports; empty (after trimming) is fine. Istio
/// wraps each item's error twice, hence the repeated prefix.
fn port_list(param: &str, value: &str) -> Result<(), String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(());
    }
    for p in trimmed.split(',') {
        parse_port(p).map_err(|e| format!("{param} invalid: failed parsing port '{p}': {e}"))?;
    }
    Ok(())
}

/// `validateCIDRList`: every comma-separated item must be an IP prefix (`netip.ParsePrefix`).
fn validate_cidrs(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    for cidr in value.split(',') {
        parse_prefix(cidr).map_err(|e| format!("failed parsing cidr '{cidr}': {e}"))?;
    }
    Ok(())
}

/// `netip.ParsePrefix`, with Go's messages for the common failures. The address part's detail
/// is Go's generic "unable to parse IP" (Go has finer wording for some malformed addresses).
fn parse_prefix(s: &str) -> Result<(), String> {
    let err = |detail: String| format!("netip.ParsePrefix({}): {detail}", go_quote(s));
    let Some((addr, bits)) = s.rsplit_once('/') else {
        return Err(err("no '/'".into()));
    };
    if addr.contains('%') {
        return Err(err("IPv6 zones cannot be present in a prefix".into()));
    }
    let max_bits = if addr.parse::<Ipv4Addr>().is_ok() {
        32
    } else if addr.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return Err(err(format!(
            "ParseAddr({}): unable to parse IP",
            go_quote(addr)
        )));
    };
    // Go accepts only plain decimal digits without leading zeros ("0" itself is fine).
    let well_formed = !bits.is_empty()
        && bits.chars().all(|c| c.is_ascii_digit())
        && !(bits.len() > 1 && bits.starts_with('0'));
    let Some(n) = bits.parse::<u32>().ok().filter(|_| well_formed) else {
        return Err(err(format!("bad bits after slash: {}", go_quote(bits))));
    };
    if n > max_bits {
        return Err(err("prefix length out of range".into()));
    }
    Ok(())
}

/// `validateProxyConfig`, reduced to what Ferry can check without Istio's ProxyConfig schema:
/// the checks of [`ProxyConfig::parse`], which injection and the proxy apply too.
fn validate_proxy_config(value: &str) -> Result<(), String> {
    ProxyConfig::parse(value).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const FIXTURE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: httpbin
  annotations:
    networking.istio.io/exportThree: bar
    networking.istio.io/exportTo: baz
---
apiVersion: v1
kind: Pod
metadata:
  name: invalid-annotations
  annotations:
    readiness.status.sidecar.istio.io/initialDelaySeconds: bar
    readiness.status.sidecar.istio.io/periodSeconds: "10"
---
apiVersion: v1
kind: Service
metadata:
  name: details
  annotations:
    kubernetes.io/psp: something
---
apiVersion: v1
kind: Pod
metadata:
  name: grafana-test
  labels: {istio: grafana}
  annotations:
    proxy.istio.io/config: "{}"
    helm.sh/hook: test-success
    kubernetes.io/ingress.class: istio
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: fortio-deploy
  annotations:
    sidecar.istio.io/statsInclusionPrefixes: cluster.outbound
spec:
  template:
    metadata:
      annotations:
        bogus.istio.io/nope: x
---
apiVersion: v1
kind: Namespace
metadata:
  name: staging
  annotations:
    kubernetes.io/ingress.class: foo
"#;

    #[test]
    fn misannotated_objects() {
        assert_eq!(
            run(&ANALYZER, FIXTURE),
            vec![
                pair("IST0107", "Deployment default/fortio-deploy"),
                pair("IST0107", "Namespace staging"),
                pair("IST0107", "Pod default/grafana-test"),
                pair("IST0108", "Service default/httpbin"),
                pair("IST0125", "Pod default/invalid-annotations"),
                pair("IST0135", "Deployment default/fortio-deploy"),
            ]
        );
    }

    #[test]
    fn message_texts() {
        let got = lines(&ANALYZER, FIXTURE);
        for want in [
            "Warning [IST0108] (Service default/httpbin test.yaml:1) Unknown annotation: networking.istio.io/exportThree",
            "Warning [IST0125] (Pod default/invalid-annotations test.yaml:9) Invalid annotation readiness.status.sidecar.istio.io/initialDelaySeconds: strconv.ParseUint: parsing \"bar\": invalid syntax",
            "Warning [IST0107] (Pod default/grafana-test test.yaml:24) Misplaced annotation: kubernetes.io/ingress.class can only be applied to Ingress",
            "Info [IST0135] (Deployment default/fortio-deploy test.yaml:34) Annotation \"sidecar.istio.io/statsInclusionPrefixes\" has been deprecated and may not work in future Istio versions.",
        ] {
            assert!(
                got.contains(&want.to_string()),
                "missing {want}\nin {got:#?}"
            );
        }
    }

    #[test]
    fn inject_annotation_deprecation_and_label() {
        let yaml = r#"apiVersion: v1
kind: Pod
metadata:
  name: old
  annotations: {sidecar.istio.io/inject: "true"}
---
apiVersion: v1
kind: Pod
metadata:
  name: both
  labels: {sidecar.istio.io/inject: "true"}
  annotations: {sidecar.istio.io/inject: "true"}
---
apiVersion: v1
kind: Pod
metadata:
  name: fine
  annotations:
    traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/8,fd00::/8"
    traffic.sidecar.istio.io/includeInboundPorts: "*"
    sidecar.istio.io/interceptionMode: TPROXY
    galley.istio.io/analyze-suppress: IST0103
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![pair("IST0135", "Pod default/old")]
        );
        assert!(lines(&ANALYZER, yaml)[0].ends_with(
            "Annotation \"sidecar.istio.io/inject\" has been deprecated in favor of the \"sidecar.istio.io/inject\" label and may not work in future Istio versions."
        ));
    }

    #[test]
    fn validators_match_go_messages() {
        assert_eq!(
            validate("status.sidecar.istio.io/port", "70000"),
            Some(Err("excludeInboundPorts invalid: failed parsing port '70000': strconv.ParseUint: parsing \"70000\": value out of range".into()))
        );
        assert_eq!(
            validate("traffic.sidecar.istio.io/excludeInboundPorts", "80, x"),
            Some(Err("excludeInboundPorts invalid: failed parsing port ' x': failed parsing port ' x': strconv.ParseUint: parsing \"x\": invalid syntax".into()))
        );
        assert_eq!(
            validate("traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0"),
            Some(Err("includeIPRanges invalid: failed parsing cidr '10.0.0.0': netip.ParsePrefix(\"10.0.0.0\"): no '/'".into()))
        );
        assert_eq!(
            validate("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/33"),
            Some(Err("excludeIPRanges invalid: failed parsing cidr '10.0.0.0/33': netip.ParsePrefix(\"10.0.0.0/33\"): prefix length out of range".into()))
        );
        assert_eq!(
            validate("prometheus.istio.io/merge-metrics", "yes"),
            Some(Err(
                "strconv.ParseBool: parsing \"yes\": invalid syntax".into()
            ))
        );
        assert_eq!(
            validate("sidecar.istio.io/interceptionMode", "REDIRECT"),
            Some(Ok(()))
        );
        assert_eq!(
            validate("proxy.istio.io/config", "concurrency: 2"),
            Some(Ok(()))
        );
        assert!(matches!(
            validate("proxy.istio.io/config", "- a"),
            Some(Err(_))
        ));
        // The proxy headers are what a proxy acts on: ones it could not read refuse the pod.
        assert_eq!(
            validate(
                "proxy.istio.io/config",
                "proxyHeaders:\n  server:\n    value: edge/2\n"
            ),
            Some(Ok(()))
        );
        assert_eq!(
            validate(
                "proxy.istio.io/config",
                "proxyHeaders:\n  requestId:\n    disabled: maybe\n"
            ),
            Some(Err(
                "failed to convert to apply proxy config: proxyHeaders.requestId.disabled: \
                 expected true or false, got \"maybe\""
                    .into()
            ))
        );
        assert_eq!(validate("sidecar.istio.io/logLevel", "anything"), None);
    }
}
