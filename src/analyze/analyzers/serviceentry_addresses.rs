//! `serviceentry.Analyzer` (Istio's `ProtocolAddressesAnalyzer`): a ServiceEntry port serving TCP
//! (or no protocol) needs `addresses`, unless the proxies allocate virtual IPs themselves.

use crate::analyze::catalog::IST0134;
use crate::analyze::context::{Analyzer, Context};
use crate::analyze::mesh::MeshConfig;
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};

pub const ANALYZER: Analyzer = Analyzer {
    name: "serviceentry.Analyzer",
    description: "Checks the validity of ServiceEntry",
    inputs: &[Kind::ServiceEntry],
    reads: &[Kind::ServiceEntry],
    run,
};

/// Whether `defaultConfig.proxyMetadata` turns on DNS capture with address auto-allocation, in
/// which case proxies give address-less ServiceEntries a virtual IP.
fn auto_allocated(mesh: &MeshConfig) -> bool {
    let Some(metadata) = mesh
        .rest
        .get("defaultConfig")
        .and_then(|d| d.get("proxyMetadata"))
        .and_then(|m| m.as_object())
    else {
        return false;
    };
    let is_true = |key: &str| metadata.get(key).and_then(|v| v.as_str()) == Some("true");
    is_true("ISTIO_META_DNS_CAPTURE")
        && (is_true("ISTIO_META_DNS_AUTO_ALLOCATE") || is_true("PILOT_ENABLE_IP_AUTOALLOCATE"))
}

/// Whether the controller already allocated addresses (`status.addresses`), as a ServiceEntry
/// read back from a cluster shows.
fn status_allocated(r: &Resource) -> bool {
    r.node
        .get("status")
        .and_then(|s| s.get("addresses"))
        .is_some_and(
            |a| matches!(a.to_json(), serde_json::Value::Array(items) if !items.is_empty()),
        )
}

fn run(ctx: &mut Context<'_>) {
    if auto_allocated(ctx.mesh) {
        return;
    }
    for r in ctx.of(Kind::ServiceEntry) {
        let Spec::ServiceEntry(se) = &r.spec else {
            continue;
        };
        if !se.addresses.is_empty() || status_allocated(r) {
            continue;
        }
        for (i, port) in se.ports.iter().enumerate() {
            let protocol = port.protocol.as_deref().unwrap_or_default();
            if protocol.is_empty() || protocol.eq_ignore_ascii_case("TCP") {
                ctx.report(
                    &IST0134,
                    r,
                    Some(&format!("{{.spec.ports[{i}].name}}")),
                    &[],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run, run_with_mesh};

    const ENTRIES: &str = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: with-address}
spec:
  hosts: [db.example.com]
  addresses: [240.0.0.1]
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: http-only}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: missing-tcp}
spec:
  hosts: [cache.example.com]
  ports:
  - number: 6379
    name: redis
    protocol: tcp
  - number: 80
    name: http
    protocol: HTTP
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: missing-protocol}
spec:
  hosts: [mq.example.com]
  ports:
  - number: 5672
    name: amqp
"#;

    #[test]
    fn tcp_and_unset_protocols_need_addresses() {
        assert_eq!(
            run(&ANALYZER, ENTRIES),
            vec![
                pair("IST0134", "ServiceEntry default/missing-protocol"),
                pair("IST0134", "ServiceEntry default/missing-tcp"),
            ]
        );
        assert!(lines(&ANALYZER, ENTRIES).contains(
            &"Warning [IST0134] (ServiceEntry default/missing-tcp test.yaml:23) ServiceEntry addresses are required for this protocol."
                .to_string()
        ));
    }

    #[test]
    fn dns_auto_allocation_silences() {
        let mesh = MeshConfig::parse(
            "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: \"true\"\n    ISTIO_META_DNS_AUTO_ALLOCATE: \"true\"\n",
        )
        .expect("mesh config parses");
        assert_eq!(run_with_mesh(&ANALYZER, ENTRIES, &mesh), vec![]);

        // Auto-allocation without DNS capture does not count.
        let mesh = MeshConfig::parse(
            "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_AUTO_ALLOCATE: \"true\"\n",
        )
        .expect("mesh config parses");
        assert_eq!(run_with_mesh(&ANALYZER, ENTRIES, &mesh).len(), 2);
    }

    #[test]
    fn allocated_status_addresses_count() {
        let yaml = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: allocated}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
status:
  addresses:
  - value: 240.240.0.1
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
