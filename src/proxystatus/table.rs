//! istioctl's proxy-status tables (`istioctl/pkg/writer/pilot/status.go`, ≥ 1.27), through Go's
//! tabwriter with padding 5:
//! - the default: `NAME CLUSTER ISTIOD VERSION SUBSCRIBED TYPES`, the last column counting the
//!   types each proxy watches (`4 (CDS,LDS,EDS,RDS)`);
//! - `-v 1`: one column per type (CDS, ECDS, EDS, LDS, RDS and any other type seen, by type URL)
//!   with `SYNCED (5m)`, `STALE (2s)`, `NOT SENT`, `ERROR (<reason>)` or `IGNORED`.
//!
//! Rows of every control plane together, sorted by proxy id.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::sync::{ConfigStatus, ControlPlaneSync, ProxySync, TypeSync};
use crate::proxyconfig::tabwriter;
use crate::xds::types::REPORTED_TYPES;

const PADDING: usize = 5;

/// Istio's short name of a type URL (`pkg/model/xds.go` `GetShortType`); the URL itself for
/// types it has no name for.
pub fn short_type(type_url: &str) -> &str {
    match type_url.rsplit('/').next().unwrap_or(type_url) {
        "envoy.config.cluster.v3.Cluster" => "CDS",
        "envoy.config.listener.v3.Listener" => "LDS",
        "envoy.config.route.v3.RouteConfiguration" => "RDS",
        "envoy.config.endpoint.v3.ClusterLoadAssignment" => "EDS",
        "envoy.extensions.transport_sockets.tls.v3.Secret" => "SDS",
        "envoy.config.core.v3.TypedExtensionConfig" => "ECDS",
        "istio.networking.nds.v1.NameTable" => "NDS",
        "istio.mesh.v1alpha1.ProxyConfig" => "PCDS",
        "istio.workload.Address" => "WDS",
        "istio.security.Authorization" => "WADS",
        _ => type_url,
    }
}

/// Every row, sorted by proxy id (stable, so a proxy on two control planes keeps their order).
fn rows(planes: &[ControlPlaneSync]) -> Vec<(&ControlPlaneSync, &ProxySync)> {
    let mut rows: Vec<(&ControlPlaneSync, &ProxySync)> = planes
        .iter()
        .flat_map(|cp| cp.proxies.iter().map(move |p| (cp, p)))
        .collect();
    rows.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    rows
}

/// The default table.
pub fn list(planes: &[ControlPlaneSync]) -> String {
    let mut text = String::from("NAME\tCLUSTER\tISTIOD\tVERSION\tSUBSCRIBED TYPES\n");
    for (cp, p) in rows(planes) {
        let subscribed = p.subscribed();
        let types = if subscribed.is_empty() {
            "0".to_string()
        } else {
            let names: Vec<&str> = subscribed.iter().map(|t| short_type(t)).collect();
            format!("{} ({})", subscribed.len(), names.join(","))
        };
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            p.id, p.cluster_id, cp.name, p.istio_version, types
        ));
    }
    tabwriter::format(&text, PADDING)
}

/// The `-v 1` table, with ages relative to `now`.
pub fn verbose(planes: &[ControlPlaneSync], now: SystemTime) -> String {
    let mut columns: BTreeSet<&str> = REPORTED_TYPES.iter().copied().collect();
    for cp in planes {
        for p in &cp.proxies {
            columns.extend(p.types.iter().map(|t| t.type_url.as_str()));
        }
    }
    let mut text = String::from("NAME\tCLUSTER\t");
    for c in &columns {
        text.push_str(short_type(c));
        text.push('\t');
    }
    text.push_str("ISTIOD\tVERSION\n");
    for (cp, p) in rows(planes) {
        text.push_str(&format!("{}\t{}\t", p.id, p.cluster_id));
        for c in &columns {
            text.push_str(
                &p.get(c)
                    .map_or_else(|| "IGNORED".to_string(), |t| cell(t, now)),
            );
            text.push('\t');
        }
        text.push_str(&format!("{}\t{}\n", cp.name, p.istio_version));
    }
    tabwriter::format(&text, PADDING)
}

fn cell(t: &TypeSync, now: SystemTime) -> String {
    let age = |s: &str| match t.last_updated {
        Some(at) => format!("{s} ({})", human_duration(now, at)),
        None => s.to_string(),
    };
    match t.status {
        ConfigStatus::Synced => age("SYNCED"),
        ConfigStatus::Stale => age("STALE"),
        ConfigStatus::NotSent => "NOT SENT".to_string(),
        ConfigStatus::Ignored => "IGNORED".to_string(),
        ConfigStatus::Error => {
            // One line per proxy, whatever the proxy wrote: tabs and newlines would break the
            // table.
            let reason: String = t
                .error
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("ERROR ({reason})")
        }
    }
}

/// Kubernetes' `duration.HumanDuration` of `now - then`, which istioctl prints ages with:
/// `45s`, `2m5s`, `15m`, `5h3m`, `3d4h`, `2y10d`.
pub fn human_duration(now: SystemTime, then: SystemTime) -> String {
    let seconds: i64 = match now.duration_since(then) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xds::types::{
        CLUSTER, CLUSTER_LOAD_ASSIGNMENT, EXTENSION_CONFIG, LISTENER, ROUTE_CONFIGURATION, SECRET,
    };
    use std::time::Duration;

    const NOW: u64 = 1_700_000_000;

    fn at(secs_ago: u64) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW - secs_ago))
    }

    fn t(url: &str, status: ConfigStatus, ago: Option<u64>, error: Option<&str>) -> TypeSync {
        TypeSync {
            type_url: url.into(),
            status,
            last_updated: ago.and_then(at),
            error: error.map(str::to_string),
        }
    }

    fn planes() -> Vec<ControlPlaneSync> {
        use ConfigStatus::*;
        let proxy = |id: &str, types: Vec<TypeSync>| ProxySync {
            id: id.into(),
            cluster_id: "Kubernetes".into(),
            namespace: id.rsplit('.').next().unwrap_or("").into(),
            istio_version: "1.24.0".into(),
            types,
        };
        let cp = |name: &str, proxies| ControlPlaneSync {
            name: name.into(),
            identifier: String::new(),
            version_info: String::new(),
            nonce: String::new(),
            proxies,
        };
        vec![
            cp(
                "istiod",
                vec![proxy(
                    "istio-ingressgateway.istio-system",
                    vec![
                        t(CLUSTER, Synced, Some(300), None),
                        t(EXTENSION_CONFIG, Ignored, None, None),
                        t(CLUSTER_LOAD_ASSIGNMENT, Synced, Some(125), None),
                        t(
                            LISTENER,
                            Error,
                            Some(3),
                            Some("listener 0.0.0.0_8080: cannot bind\n0.0.0.0:8080: in use"),
                        ),
                        t(ROUTE_CONFIGURATION, Stale, Some(2), None),
                    ],
                )],
            ),
            cp(
                "istiod-canary",
                vec![
                    proxy(
                        "reviews-v1.default",
                        vec![
                            t(CLUSTER, Synced, Some(60), None),
                            t(CLUSTER_LOAD_ASSIGNMENT, NotSent, None, None),
                            t(LISTENER, Synced, Some(60), None),
                            t(SECRET, Synced, Some(60), None),
                        ],
                    ),
                    proxy("idle.default", vec![t(CLUSTER, Ignored, None, None)]),
                ],
            ),
        ]
    }

    #[test]
    fn the_default_table_counts_subscribed_types() {
        assert_eq!(
            list(&planes()),
            "NAME                                  CLUSTER        ISTIOD            VERSION     SUBSCRIBED TYPES\n\
             idle.default                          Kubernetes     istiod-canary     1.24.0      0\n\
             istio-ingressgateway.istio-system     Kubernetes     istiod            1.24.0      4 (CDS,LDS,EDS,RDS)\n\
             reviews-v1.default                    Kubernetes     istiod-canary     1.24.0      4 (CDS,LDS,EDS,SDS)\n"
        );
    }

    #[test]
    fn verbose_has_a_column_per_type() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        assert_eq!(
            verbose(&planes(), now),
            "NAME                                  CLUSTER        CDS              ECDS        EDS               LDS                                                                 RDS            SDS              ISTIOD            VERSION\n\
             idle.default                          Kubernetes     IGNORED          IGNORED     IGNORED           IGNORED                                                             IGNORED        IGNORED          istiod-canary     1.24.0\n\
             istio-ingressgateway.istio-system     Kubernetes     SYNCED (5m)      IGNORED     SYNCED (2m5s)     ERROR (listener 0.0.0.0_8080: cannot bind 0.0.0.0:8080: in use)     STALE (2s)     IGNORED          istiod            1.24.0\n\
             reviews-v1.default                    Kubernetes     SYNCED (60s)     IGNORED     NOT SENT          SYNCED (60s)                                                        IGNORED        SYNCED (60s)     istiod-canary     1.24.0\n"
        );
    }

    #[test]
    fn no_proxies_prints_the_header() {
        assert_eq!(
            list(&[]),
            "NAME     CLUSTER     ISTIOD     VERSION     SUBSCRIBED TYPES\n"
        );
    }

    #[test]
    fn human_durations_are_kubernetes() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        let ago = |s: u64| human_duration(now, now - Duration::from_secs(s));
        assert_eq!(ago(0), "0s");
        assert_eq!(ago(119), "119s");
        assert_eq!(ago(125), "2m5s");
        assert_eq!(ago(300), "5m");
        assert_eq!(ago(15 * 60 + 7), "15m");
        assert_eq!(ago(5 * 3600 + 180), "5h3m");
        assert_eq!(ago(20 * 3600), "20h");
        assert_eq!(ago(3 * 86400 + 4 * 3600), "3d4h");
        assert_eq!(ago(30 * 86400), "30d");
        assert_eq!(ago(3 * 365 * 86400 + 10 * 86400), "3y10d");
        assert_eq!(human_duration(now, now + Duration::from_secs(1)), "0s");
        assert_eq!(
            human_duration(now, now + Duration::from_secs(5)),
            "<invalid>"
        );
    }
}
