//! Traffic capture for one pod: the arguments of Istio's `istio-init` init container
//! (`istio-iptables`), from the pod's `traffic.sidecar.istio.io/*` annotations over the
//! install's defaults (`values.global.proxy.*`), as Istio's injection template computes them.
//!
//! Ferry's proxy runs without iptables by default (interception mode `NONE`), and then no
//! `istio-init` is added, as in Istio. An install that captures traffic (`REDIRECT` or `TPROXY`)
//! provides the `istio-init` container in the injector config (Istio's image does the iptables
//! work); each pod gets it with its own arguments.

use std::collections::BTreeMap;

use serde_json::Value;

/// The init container whose arguments are the pod's capture settings.
pub const INIT_CONTAINER: &str = "istio-init";

/// The annotations and what each sets (Istio's `istio-iptables` flags).
const INCLUDE_OUTBOUND_IP_RANGES: &str = "traffic.sidecar.istio.io/includeOutboundIPRanges";
const EXCLUDE_OUTBOUND_IP_RANGES: &str = "traffic.sidecar.istio.io/excludeOutboundIPRanges";
const INCLUDE_INBOUND_PORTS: &str = "traffic.sidecar.istio.io/includeInboundPorts";
const EXCLUDE_INBOUND_PORTS: &str = "traffic.sidecar.istio.io/excludeInboundPorts";
const INCLUDE_OUTBOUND_PORTS: &str = "traffic.sidecar.istio.io/includeOutboundPorts";
const EXCLUDE_OUTBOUND_PORTS: &str = "traffic.sidecar.istio.io/excludeOutboundPorts";
const KUBEVIRT_INTERFACES: &str = "traffic.sidecar.istio.io/kubevirtInterfaces";

/// The proxy's ports that are never captured inbound: Prometheus and the readiness port.
const ALWAYS_EXCLUDED_INBOUND: &str = "15090,15021";

/// The install's defaults (`values.global.proxy`), Istio's chart values when unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureDefaults {
    pub include_ip_ranges: String,
    pub exclude_ip_ranges: String,
    pub exclude_inbound_ports: String,
    pub include_outbound_ports: String,
    pub exclude_outbound_ports: String,
    /// `values.global.logging.level`, the init container's log level.
    pub log_level: String,
}

impl Default for CaptureDefaults {
    fn default() -> Self {
        CaptureDefaults {
            include_ip_ranges: "*".into(),
            exclude_ip_ranges: String::new(),
            exclude_inbound_ports: String::new(),
            include_outbound_ports: String::new(),
            exclude_outbound_ports: String::new(),
            log_level: "default:info".into(),
        }
    }
}

impl CaptureDefaults {
    /// From the injector's `values` JSON: what `global.proxy` and `global.logging` set.
    pub fn from_values(values: &Value) -> CaptureDefaults {
        let mut d = CaptureDefaults::default();
        let proxy = &values["global"]["proxy"];
        let text = |key: &str| match &proxy[key] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        for (key, slot) in [
            ("includeIPRanges", &mut d.include_ip_ranges),
            ("excludeIPRanges", &mut d.exclude_ip_ranges),
            ("excludeInboundPorts", &mut d.exclude_inbound_ports),
            ("includeOutboundPorts", &mut d.include_outbound_ports),
            ("excludeOutboundPorts", &mut d.exclude_outbound_ports),
        ] {
            if let Some(v) = text(key) {
                *slot = v;
            }
        }
        if let Some(level) = values["global"]["logging"]["level"].as_str() {
            d.log_level = level.to_string();
        }
        d
    }
}

/// Istio's `excludeInboundPort`: `excluded` with the status port added unless it is listed
/// already (or is 0, none).
fn exclude_inbound_port(status_port: u16, excluded: &str) -> String {
    let port = status_port.to_string();
    if status_port == 0 {
        return excluded.to_string();
    }
    let ports: Vec<&str> = excluded.split(',').collect();
    if ports.contains(&port.as_str()) {
        return excluded.to_string();
    }
    let mut out: Vec<&str> = ports
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    out.push(&port);
    out.join(",")
}

/// `istio-init`'s arguments for a pod with `annotations`, in interception `mode`, whose proxy
/// serves its status on `status_port`.
pub fn iptables_args(
    mode: &str,
    annotations: &BTreeMap<String, String>,
    defaults: &CaptureDefaults,
    status_port: u16,
) -> Vec<String> {
    // Istio's template `annotation` function: the annotation when present (even empty).
    let or = |key: &str, default: &str| annotations.get(key).cloned().unwrap_or(default.into());
    let excluded = exclude_inbound_port(
        status_port,
        &or(EXCLUDE_INBOUND_PORTS, &defaults.exclude_inbound_ports),
    );
    let mut args: Vec<String> = [
        "istio-iptables",
        "-p",
        "15001",
        "-z",
        "15006",
        "-u",
        "1337",
        "-m",
        mode,
        "-i",
        &or(INCLUDE_OUTBOUND_IP_RANGES, &defaults.include_ip_ranges),
        "-x",
        &or(EXCLUDE_OUTBOUND_IP_RANGES, &defaults.exclude_ip_ranges),
        "-b",
        &or(INCLUDE_INBOUND_PORTS, "*"),
        "-d",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(if excluded.is_empty() {
        ALWAYS_EXCLUDED_INBOUND.to_string()
    } else {
        format!("{ALWAYS_EXCLUDED_INBOUND},{excluded}")
    });
    for (flag, key, default) in [
        (
            "-q",
            INCLUDE_OUTBOUND_PORTS,
            &defaults.include_outbound_ports,
        ),
        (
            "-o",
            EXCLUDE_OUTBOUND_PORTS,
            &defaults.exclude_outbound_ports,
        ),
    ] {
        if annotations.contains_key(key) || !default.is_empty() {
            args.push(flag.into());
            args.push(or(key, default));
        }
    }
    if let Some(interfaces) = annotations.get(KUBEVIRT_INTERFACES) {
        args.push("-k".into());
        args.push(interfaces.clone());
    }
    args.push(format!("--log_output_level={}", defaults.log_level));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Istio's testdata `hello-probes-noProxyHoldApplication-ProxyConfig.yaml.injected`: no
    /// annotations, the chart's defaults.
    #[test]
    fn without_annotations_the_args_are_istios_defaults() {
        assert_eq!(
            iptables_args(
                "REDIRECT",
                &BTreeMap::new(),
                &CaptureDefaults::default(),
                15020
            ),
            [
                "istio-iptables",
                "-p",
                "15001",
                "-z",
                "15006",
                "-u",
                "1337",
                "-m",
                "REDIRECT",
                "-i",
                "*",
                "-x",
                "",
                "-b",
                "*",
                "-d",
                "15090,15021,15020",
                "--log_output_level=default:info",
            ]
        );
    }

    #[test]
    fn annotations_replace_the_defaults() {
        let annotations = map(&[
            (INCLUDE_OUTBOUND_IP_RANGES, "10.0.0.0/8,172.16.0.0/12"),
            (EXCLUDE_OUTBOUND_IP_RANGES, "10.96.0.1/32"),
            (INCLUDE_INBOUND_PORTS, "8080,9090"),
            (EXCLUDE_INBOUND_PORTS, "9901, 9902"),
            (EXCLUDE_OUTBOUND_PORTS, "5432"),
            (KUBEVIRT_INTERFACES, "net1"),
        ]);
        let args = iptables_args("TPROXY", &annotations, &CaptureDefaults::default(), 15020);
        assert_eq!(
            args[8..],
            [
                "TPROXY",
                "-i",
                "10.0.0.0/8,172.16.0.0/12",
                "-x",
                "10.96.0.1/32",
                "-b",
                "8080,9090",
                "-d",
                "15090,15021,9901,9902,15020",
                "-o",
                "5432",
                "-k",
                "net1",
                "--log_output_level=default:info",
            ]
        );
    }

    #[test]
    fn install_defaults_apply_and_the_status_port_is_excluded_once() {
        let values = serde_json::json!({"global": {
            "proxy": {"excludeIPRanges": "169.254.169.254/32", "includeOutboundPorts": "443",
                      "excludeInboundPorts": "15020,8000"},
            "logging": {"level": "default:warn"},
        }});
        let defaults = CaptureDefaults::from_values(&values);
        let args = iptables_args("REDIRECT", &BTreeMap::new(), &defaults, 15020);
        assert_eq!(
            args[10..],
            [
                "*",
                "-x",
                "169.254.169.254/32",
                "-b",
                "*",
                "-d",
                "15090,15021,15020,8000",
                "-q",
                "443",
                "--log_output_level=default:warn",
            ]
        );
        // An annotation set empty still wins over the install's default.
        let args = iptables_args(
            "REDIRECT",
            &map(&[(EXCLUDE_OUTBOUND_IP_RANGES, "")]),
            &defaults,
            0,
        );
        assert_eq!(args[11..13], ["-x", ""]);
        assert_eq!(args[15..17], ["-d", "15090,15021,15020,8000"]);
        assert_eq!(exclude_inbound_port(15021, ""), "15021");
        assert_eq!(exclude_inbound_port(0, ""), "");
    }
}
