//! The route table (istioctl `configdump/route.go`) and the short descriptions of routes that the
//! listener table shows for inline route configs.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde_json::Value;

use super::dump::{self, ConfigDump, describe_management, items, str_of, strings_of};
use super::{DumpError, gosort, tabwriter};

/// `--name` (exact) and `--verbose`.
#[derive(Debug, Default, Clone)]
pub struct RouteFilter {
    pub name: String,
    pub verbose: bool,
}

impl RouteFilter {
    fn matches(&self, route: &Value) -> bool {
        self.name.is_empty() || self.name == str_of(route, "name")
    }
}

/// Dynamic then static route configs, sorted as istioctl sorts them: numerically by name, where
/// a name that is not a number compares as "not less" (so Go's sort decides their places).
pub fn sorted(dump: &ConfigDump) -> Result<Vec<&Value>, DumpError> {
    let section = dump.section(dump::ROUTES)?;
    let mut routes: Vec<(Option<i64>, &Value)> = items(section, "dynamic_route_configs")
        .chain(items(section, "static_route_configs"))
        .filter_map(|r| r.get("route_config"))
        .map(|r| (str_of(r, "name").parse::<i64>().ok(), r))
        .collect();
    if routes.is_empty() {
        return Err(DumpError::NoRoutes);
    }
    gosort::sort_slice(&mut routes, |a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x < y,
        _ => false,
    });
    Ok(routes.into_iter().map(|(_, r)| r).collect())
}

fn is_passthrough(route: &Value) -> bool {
    route.pointer("/route/cluster").and_then(Value::as_str) == Some("PassthroughCluster")
}

/// The summary table; `named` prefixes names with `route/` as `proxy-config all` does.
pub fn summary(dump: &ConfigDump, filter: &RouteFilter, named: bool) -> Result<String, DumpError> {
    let routes = sorted(dump)?;
    let mut t = String::from(if filter.verbose {
        "NAME\tVHOST NAME\tDOMAINS\tMATCH\tVIRTUAL SERVICE\n"
    } else {
        "NAME\tVIRTUAL HOSTS\n"
    });
    let prefix = if named { "route/" } else { "" };
    for rc in routes.into_iter().filter(|r| filter.matches(r)) {
        let name = str_of(rc, "name");
        if !filter.verbose {
            let _ = writeln!(t, "{prefix}{name}\t{}", items(rc, "virtual_hosts").count());
            continue;
        }
        for vh in items(rc, "virtual_hosts") {
            let vh_name = str_of(vh, "name");
            let domains = describe_route_domains(&strings_of(vh, "domains"));
            let mut any = false;
            for r in items(vh, "routes") {
                any = true;
                if !is_passthrough(r) {
                    let _ = writeln!(
                        t,
                        "{prefix}{name}\t{vh_name}\t{domains}\t{}\t{}",
                        describe_match(r.get("match")),
                        describe_management(r.get("metadata"))
                    );
                }
            }
            if !any {
                let _ = writeln!(t, "{prefix}{name}\t{vh_name}\t{domains}\t/*\t404");
            }
        }
    }
    Ok(tabwriter::format(&t, 5))
}

/// The route configs `-o json|yaml` prints.
pub fn selected<'a>(
    dump: &'a ConfigDump,
    filter: &RouteFilter,
) -> Result<Vec<&'a Value>, DumpError> {
    Ok(sorted(dump)?
        .into_iter()
        .filter(|r| filter.matches(r))
        .collect())
}

/// One domain as is; otherwise the domains without a port, `.svc.cluster.local`/`.svc` variants
/// of a shorter one dropped, at most two then `+ N more...`.
pub fn describe_route_domains(domains: &[&str]) -> String {
    match domains {
        [] => return String::new(),
        [one] => return (*one).to_string(),
        _ => {}
    }
    let without_port: Vec<&str> = domains
        .iter()
        .copied()
        .filter(|d| !d.contains(':') || (d.matches(':').count() > 2 && d.ends_with(']')))
        .collect();
    let unique: HashSet<&str> = without_port.iter().copied().collect();
    let kept: Vec<&str> = without_port
        .iter()
        .copied()
        .filter(|h| {
            let full = h.strip_suffix(".svc.cluster.local");
            let partial = h.strip_suffix(".svc");
            !(full.is_some_and(|s| unique.contains(s))
                || partial.is_some_and(|s| unique.contains(s)))
        })
        .collect();
    if kept.len() > 2 {
        return format!("{} + {} more...", kept[..2].join(", "), kept.len() - 2);
    }
    kept.join(", ")
}

/// A route's match: `<prefix>*`, `PathPrefix:<p>`, the exact path, `regex <re>`; headers ignored.
pub fn describe_match(m: Option<&Value>) -> String {
    let Some(m) = m else {
        return String::new();
    };
    let mut conds = Vec::new();
    let prefix = str_of(m, "prefix");
    if !prefix.is_empty() {
        conds.push(format!("{prefix}*"));
    }
    let sep = str_of(m, "path_separated_prefix");
    if !sep.is_empty() {
        conds.push(format!("PathPrefix:{sep}"));
    }
    let path = str_of(m, "path");
    if !path.is_empty() {
        conds.push(path.to_string());
    }
    if let Some(re) = m.get("safe_regex") {
        conds.push(format!("regex {}", str_of(re, "regex")));
    }
    conds.join(" ")
}

/// An inline route config as the listener table shows it: the cluster of a match-all route, or
/// `Inline Route: <domains> <matches>; …`.
pub fn describe_inline(rc: &Value) -> String {
    if let Some(cluster) = match_all_cluster(rc) {
        return cluster;
    }
    let vhosts: Vec<String> = items(rc, "virtual_hosts")
        .map(|vh| {
            let domains = strings_of(vh, "domains");
            let routes: Vec<String> = items(vh, "routes")
                .map(|r| describe_match(r.get("match")))
                .collect();
            let routes = routes.join(", ");
            if domains == ["*"] {
                routes
            } else {
                format!("{} {routes}", domains.join("/"))
            }
        })
        .collect();
    format!("Inline Route: {}", vhosts.join("; "))
}

fn match_all_cluster(rc: &Value) -> Option<String> {
    let mut vhosts = items(rc, "virtual_hosts");
    let (vh, None) = (vhosts.next()?, vhosts.next()) else {
        return None;
    };
    if strings_of(vh, "domains") != ["*"] {
        return None;
    }
    let mut routes = items(vh, "routes");
    let (r, None) = (routes.next()?, routes.next()) else {
        return None;
    };
    if r.pointer("/match/prefix").and_then(Value::as_str) != Some("/") {
        return None;
    }
    let cluster = r.pointer("/route/cluster").and_then(Value::as_str)?;
    if cluster.contains("Cluster") {
        Some(cluster.to_string())
    } else {
        Some(format!("Cluster: {cluster}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_real_envoy() {
        let dump = ConfigDump::parse(include_bytes!(
            "../../fixtures/envoy/config-dump-clusters-listeners-routes.json"
        ))
        .unwrap();
        let verbose = RouteFilter {
            verbose: true,
            ..Default::default()
        };
        insta::assert_snapshot!("verbose", summary(&dump, &verbose, false).unwrap());
        insta::assert_snapshot!(
            "short",
            summary(&dump, &RouteFilter::default(), false).unwrap()
        );
    }

    #[test]
    fn collapses_domains() {
        let d = [
            "reviews.default.svc.cluster.local",
            "reviews.default.svc.cluster.local:9080",
            "reviews",
            "reviews:9080",
            "reviews.default.svc",
            "reviews.default",
            "10.0.0.1",
        ];
        assert_eq!(
            describe_route_domains(&d),
            "reviews, reviews.default + 1 more..."
        );
        assert_eq!(describe_route_domains(&["*"]), "*");
    }
}
