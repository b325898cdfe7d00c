//! `/stats`: every stat as `name: value` lines sorted by name, or `{"stats":[{"name","value"}]}`
//! with `?format=json`; `?filter=<regex>` keeps the names it finds a match in and `?usedonly`
//! the stats that moved (Ferry does not track "used" apart from the value, so a stat is used
//! once it is not zero).

use regex::Regex;
use serde_json::{Value, json};

use crate::proxy::stats::Stat;

/// The stats `filter` and `used_only` keep.
pub fn select(stats: Vec<Stat>, filter: Option<&Regex>, used_only: bool) -> Vec<Stat> {
    stats
        .into_iter()
        .filter(|s| !used_only || s.value != 0)
        .filter(|s| filter.is_none_or(|r| r.is_match(&s.name)))
        .collect()
}

/// `GET /stats`.
pub fn text(stats: &[Stat]) -> String {
    stats
        .iter()
        .map(|s| format!("{}: {}\n", s.name, s.value))
        .collect()
}

/// `GET /stats?format=json`.
pub fn json(stats: &[Stat]) -> Value {
    let stats: Vec<Value> = stats
        .iter()
        .map(|s| json!({ "name": s.name, "value": s.value }))
        .collect();
    json!({ "stats": stats })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::stats::Stats;

    fn stats() -> Vec<Stat> {
        let stats = Stats::default();
        let c = stats.cluster("outbound|9080||reviews.default.svc.cluster.local");
        c.upstream_rq_total.inc();
        c.response(200);
        stats
            .http("outbound_0.0.0.0_8080")
            .downstream_rq_total
            .inc();
        stats.snapshot()
    }

    #[test]
    fn text_is_sorted_name_value_lines() {
        let text = text(&stats());
        let names: Vec<&str> = text.lines().filter_map(|l| l.split(": ").next()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert!(
            text.lines().any(|l| l
                == "cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total: 1"),
            "{text}"
        );
        assert!(text.lines().any(|l| l.starts_with("server.uptime: ")));
    }

    #[test]
    fn filter_and_used_only() {
        let re = Regex::new(r"upstream_rq_\dxx").expect("regex");
        let kept = select(stats(), Some(&re), false);
        assert_eq!(kept.len(), 5);
        let used = select(stats(), Some(&re), true);
        assert_eq!(used.len(), 1);
        assert!(used[0].name.ends_with(".upstream_rq_2xx"));
        let used = select(stats(), None, true);
        assert!(used.iter().all(|s| s.value != 0));
    }

    #[test]
    fn json_has_names_and_numbers() {
        let v: Value = serde_json::from_str(&json(&stats()).to_string()).expect("JSON");
        let list = v["stats"].as_array().expect("stats array");
        assert!(!list.is_empty());
        for s in list {
            assert!(s["name"].is_string());
            assert!(s["value"].is_i64());
        }
    }
}
