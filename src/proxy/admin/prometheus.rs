//! `/stats/prometheus`: Prometheus' text exposition format with Envoy's names: the
//! tag-extracted name with `envoy_` in front and anything but `[a-zA-Z0-9_]` made `_`, the tags
//! as labels (`envoy_cluster_name="outbound|9080||reviews.default.svc.cluster.local"`). As
//! Envoy prints it: counters, then gauges; one `# TYPE` line per name, names sorted, each
//! group's lines sorted by stat name and followed by a blank line; no tags is `{}`.

use std::collections::BTreeMap;

use crate::proxy::stats::{Kind, Stat};

/// `envoy.cluster_name` → `envoy_cluster_name`; a leading digit gets a `_` before it.
pub fn sanitize(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

/// The metric name of a tag-extracted stat name.
pub fn metric_name(tag_extracted_name: &str) -> String {
    sanitize(&format!("envoy_{tag_extracted_name}"))
}

/// Label values escaped as the exposition format wants them.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /stats/prometheus`.
pub fn render(stats: &[Stat]) -> String {
    let mut out = String::new();
    for (kind, type_name) in [(Kind::Counter, "counter"), (Kind::Gauge, "gauge")] {
        let mut groups: BTreeMap<String, Vec<&Stat>> = BTreeMap::new();
        for s in stats.iter().filter(|s| s.kind == kind) {
            groups
                .entry(metric_name(&s.tag_extracted_name))
                .or_default()
                .push(s);
        }
        for (name, mut group) in groups {
            out.push_str(&format!("# TYPE {name} {type_name}\n"));
            group.sort_by(|a, b| a.name.cmp(&b.name));
            for s in group {
                let labels: Vec<String> = s
                    .tags
                    .iter()
                    .map(|(k, v)| format!("{}=\"{}\"", sanitize(k), escape(v)))
                    .collect();
                out.push_str(&format!("{name}{{{}}} {}\n", labels.join(","), s.value));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::stats::Stats;

    const CLUSTER: &str = "outbound|9080|v1|reviews.default.svc.cluster.local";

    fn rendered() -> String {
        let stats = Stats::default();
        let c = stats.cluster(CLUSTER);
        for _ in 0..3 {
            c.upstream_rq_total.inc();
            c.response(200);
        }
        c.response(503);
        let h = stats.http("outbound_0.0.0.0_8080");
        h.downstream_rq_total.inc();
        h.response(200);
        stats.lds_update_success.inc();
        render(&stats.snapshot())
    }

    #[test]
    fn envoy_names_and_labels() {
        let text = rendered();
        for line in [
            format!("envoy_cluster_upstream_rq_total{{envoy_cluster_name=\"{CLUSTER}\"}} 3"),
            format!(
                "envoy_cluster_upstream_rq_xx{{envoy_response_code_class=\"2\",envoy_cluster_name=\"{CLUSTER}\"}} 3"
            ),
            format!(
                "envoy_cluster_upstream_rq_xx{{envoy_response_code_class=\"5\",envoy_cluster_name=\"{CLUSTER}\"}} 1"
            ),
            format!("envoy_cluster_upstream_rq_active{{envoy_cluster_name=\"{CLUSTER}\"}} 0"),
            "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"outbound_0.0.0.0_8080\"} 1"
                .to_string(),
            "envoy_http_fault_aborts_injected{envoy_http_conn_manager_prefix=\"outbound_0.0.0.0_8080\"} 0"
                .to_string(),
            "envoy_listener_manager_lds_update_success{} 1".to_string(),
            "# TYPE envoy_cluster_upstream_rq_total counter".to_string(),
            "# TYPE envoy_cluster_upstream_rq_xx counter".to_string(),
            "# TYPE envoy_cluster_upstream_rq_active gauge".to_string(),
            "# TYPE envoy_server_uptime gauge".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(
            text.lines()
                .any(|l| l.starts_with("envoy_server_uptime{} "))
        );
    }

    #[test]
    fn one_type_line_per_name_counters_first() {
        let text = rendered();
        let types: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .collect();
        let mut names: Vec<&str> = types.iter().map(|(n, _)| *n).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name has two TYPE lines");
        let first_gauge = types
            .iter()
            .position(|(_, t)| *t == "gauge")
            .expect("gauges");
        assert!(types[first_gauge..].iter().all(|(_, t)| *t == "gauge"));
        // Every sample line belongs to the group its TYPE line opened.
        let mut current = "";
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap_or_default();
            } else {
                assert!(
                    line.starts_with(&format!("{current}{{")),
                    "{line} under {current}"
                );
            }
        }
    }

    #[test]
    fn sanitizing() {
        assert_eq!(sanitize("envoy.cluster_name"), "envoy_cluster_name");
        assert_eq!(sanitize("9lives"), "_9lives");
        assert_eq!(
            metric_name("http.fault.delays_injected"),
            "envoy_http_fault_delays_injected"
        );
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
