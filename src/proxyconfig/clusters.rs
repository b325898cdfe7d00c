//! The cluster table (istioctl `configdump/cluster.go`): active dynamic and static clusters,
//! sorted by FQDN, subset, port and direction, with Istio's `direction|port|subset|fqdn` names
//! split into columns.

use std::fmt::Write as _;

use serde_json::Value;

use super::dump::{self, ConfigDump, SubsetKey, describe_management, items, str_of};
use super::{DumpError, gosort, tabwriter};

/// `--fqdn`, `--direction`, `--subset` (substrings of the name) and `--port` (`|<port>|`).
#[derive(Debug, Default, Clone)]
pub struct ClusterFilter {
    pub fqdn: String,
    pub port: i64,
    pub subset: String,
    pub direction: String,
}

impl ClusterFilter {
    pub fn matches(&self, name: &str) -> bool {
        (self.fqdn.is_empty() || name.contains(&self.fqdn))
            && (self.direction.is_empty() || name.contains(&self.direction))
            && (self.subset.is_empty() || name.contains(&self.subset))
            && (self.port == 0 || name.contains(&format!("|{}|", self.port)))
    }
}

/// A cluster with its parsed name, so sorting does not re-parse.
pub struct Cluster<'a> {
    pub value: &'a Value,
    pub name: &'a str,
    pub key: SubsetKey<'a>,
}

/// All active dynamic clusters then static ones, in istioctl's order.
pub fn sorted(dump: &ConfigDump) -> Result<Vec<Cluster<'_>>, DumpError> {
    let section = dump.section(dump::CLUSTERS)?;
    let mut clusters: Vec<Cluster<'_>> = items(section, "dynamic_active_clusters")
        .chain(items(section, "static_clusters"))
        .filter_map(|c| c.get("cluster"))
        .map(|value| {
            let name = str_of(value, "name");
            Cluster {
                value,
                name,
                key: SubsetKey::parse(name),
            }
        })
        .collect();
    if clusters.is_empty() {
        return Err(DumpError::NoClusters);
    }
    gosort::sort_slice(&mut clusters, |a, b| a.key.less(&b.key));
    Ok(clusters)
}

/// The summary table; `named` adds the `NAME` column `proxy-config all` prints.
pub fn summary(
    dump: &ConfigDump,
    filter: &ClusterFilter,
    named: bool,
) -> Result<String, DumpError> {
    let clusters = sorted(dump)?;
    let mut t = String::new();
    if named {
        t.push_str("NAME\t");
    }
    t.push_str("SERVICE FQDN\tPORT\tSUBSET\tDIRECTION\tTYPE\tDESTINATION RULE\n");
    for c in clusters.iter().filter(|c| filter.matches(c.name)) {
        let kind = c
            .value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("STATIC");
        let rule = describe_management(c.value.get("metadata"));
        if named {
            let _ = write!(t, "cluster/{}\t", c.name);
        }
        if c.key.split {
            let subset = if c.key.subset.is_empty() {
                "-"
            } else {
                c.key.subset
            };
            let _ = writeln!(
                t,
                "{}\t{}\t{}\t{}\t{kind}\t{rule}",
                c.key.host, c.key.port, subset, c.key.direction
            );
        } else {
            // istioctl renames the cluster before printing it in `all`, so the prefix shows here too.
            let prefix = if named { "cluster/" } else { "" };
            let _ = writeln!(t, "{prefix}{}\t-\t-\t-\t{kind}\t{rule}", c.name);
        }
    }
    Ok(tabwriter::format(&t, 5))
}

/// The clusters `-o json|yaml` prints.
pub fn selected<'a>(
    dump: &'a ConfigDump,
    filter: &ClusterFilter,
) -> Result<Vec<&'a Value>, DumpError> {
    Ok(sorted(dump)?
        .into_iter()
        .filter(|c| filter.matches(c.name))
        .map(|c| c.value)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> ConfigDump {
        ConfigDump::parse(include_bytes!("../../fixtures/envoy/config-dump-full.json")).unwrap()
    }

    #[test]
    fn summary_of_a_real_envoy() {
        let out = summary(&full(), &ClusterFilter::default(), false).unwrap();
        insta::assert_snapshot!(out);
    }

    #[test]
    fn filters_by_port_and_direction() {
        let f = ClusterFilter {
            port: 8000,
            direction: "inbound".into(),
            ..Default::default()
        };
        let out = summary(&full(), &f, false).unwrap();
        assert_eq!(out.lines().count(), 2, "{out}");
    }
}
