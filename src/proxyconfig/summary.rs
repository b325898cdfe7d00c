//! `proxy-config all -o short`: bootstrap, clusters, listeners, routes, secrets and endpoints one
//! after the other, names prefixed by their kind, optionally under `------ X INFO ------` headers.

use super::clusters::{self, ClusterFilter};
use super::eds::{self, EndpointFilter};
use super::listeners::{self, ListenerFilter};
use super::routes::{self, RouteFilter};
use super::{ConfigDump, DumpError, bootstrap, secrets};

/// The filters of every table `all` prints.
#[derive(Debug, Default, Clone)]
pub struct AllFilters {
    pub cluster: ClusterFilter,
    pub listener: ListenerFilter,
    pub route: RouteFilter,
    pub endpoint: EndpointFilter,
    pub with_headers: bool,
}

/// The whole summary; `now` (Unix seconds) decides the secrets' VALID CERT.
pub fn full(dump: &ConfigDump, f: &AllFilters, now: i64) -> Result<String, DumpError> {
    let sections: [(&str, String); 6] = [
        ("BOOTSTRAP INFO", bootstrap::summary(dump)?),
        ("CLUSTER INFO", clusters::summary(dump, &f.cluster, true)?),
        (
            "LISTENER INFO",
            listeners::summary(dump, &f.listener, true)?,
        ),
        ("ROUTE INFO", routes::summary(dump, &f.route, true)?),
        ("SECRET INFO", secrets::summary(dump, true, now)?),
        ("ENDPOINTS INFO", eds::summary(dump, &f.endpoint, true)?),
    ];
    let mut out = String::new();
    for (i, (header, body)) in sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if f.with_headers {
            out.push_str(&format!("------ {header} ------\n\n"));
        }
        out.push_str(body);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// istioctl's own golden output for this dump (`proxyconfig/testdata/config_dump_summary.txt`).
    #[test]
    fn matches_istioctl_on_a_real_envoy() {
        let dump = ConfigDump::parse(include_bytes!("../../fixtures/envoy/config-dump-full.json"))
            .unwrap();
        let f = AllFilters {
            listener: ListenerFilter {
                verbose: true,
                ..Default::default()
            },
            route: RouteFilter {
                verbose: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let now = 1_893_456_000;
        assert_eq!(
            full(&dump, &f, now).unwrap(),
            include_str!("../../fixtures/envoy/istioctl-all-summary.txt")
        );
        let headed = AllFilters {
            with_headers: true,
            ..f
        };
        assert_eq!(
            full(&dump, &headed, now).unwrap(),
            include_str!("../../fixtures/envoy/istioctl-all-summary-with-headers.txt")
        );
    }
}
