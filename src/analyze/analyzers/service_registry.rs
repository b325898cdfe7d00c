//! The services a reference can resolve to, keyed by visibility scope and FQDN, as Istio's
//! `util.InitServiceEntryHostMap` and `util.GetDestinationHost` build and query them.
//!
//! ServiceEntries and Kubernetes Services both land here; a Service becomes a pseudo
//! ServiceEntry with its FQDN as the only host, its ports, and no workload selector (Istio drops
//! the Service's selector, so analyzers that merge selectors see only their own labels).

use std::collections::{BTreeMap, HashMap};

use super::hosts::to_fqdn;
use crate::config::kind::Kind;
use crate::config::resource::{Resource, Spec};
use crate::config::store::Store;

/// `exportTo` value meaning every namespace.
pub const EXPORT_TO_ALL: &str = "*";
/// `exportTo` value meaning the object's own namespace.
pub const EXPORT_TO_LOCAL: &str = ".";
/// Annotation a Service uses to restrict its visibility (comma-separated namespaces).
pub const EXPORT_TO_ANNOTATION: &str = "networking.istio.io/exportTo";

/// One service port as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPort {
    pub number: i64,
    pub name: String,
    pub protocol: String,
}

/// A ServiceEntry, or the pseudo ServiceEntry of a Kubernetes Service.
#[derive(Debug, Clone)]
pub struct RegistryService<'a> {
    /// The ServiceEntry or Service the entry came from.
    pub resource: &'a Resource,
    pub hosts: Vec<String>,
    pub ports: Vec<RegistryPort>,
    /// The ServiceEntry's workload selector labels; `None` for Kubernetes Services.
    pub workload_selector: Option<&'a BTreeMap<String, String>>,
}

/// `map[ScopedFqdn]*ServiceEntry`: `(scope, fqdn)` to the entry that defines it. A later
/// definition of the same key replaces an earlier one (Services after ServiceEntries), as the Go
/// map assignment does.
#[derive(Debug, Default)]
pub struct ServiceRegistry<'a> {
    services: Vec<RegistryService<'a>>,
    by_key: HashMap<(String, String), usize>,
    /// Keys in first-insertion order, so the wildcard pass is deterministic where Go's map order
    /// is not.
    order: Vec<(String, String)>,
}

impl<'a> ServiceRegistry<'a> {
    /// Builds the registry from every ServiceEntry and Service in the store.
    pub fn build(store: &'a Store) -> ServiceRegistry<'a> {
        let mut reg = ServiceRegistry::default();
        for r in store.of(Kind::ServiceEntry) {
            let Spec::ServiceEntry(se) = &r.spec else {
                continue;
            };
            let ns = r.effective_namespace();
            let idx = reg.services.len();
            reg.services.push(RegistryService {
                resource: r,
                hosts: se.hosts.clone(),
                ports: se
                    .ports
                    .iter()
                    .map(|p| RegistryPort {
                        number: i64::from(p.number),
                        name: p.name.clone(),
                        protocol: p.protocol.clone().unwrap_or_default(),
                    })
                    .collect(),
                workload_selector: se.workload_selector.as_ref().map(|w| &w.labels),
            });
            // Once `*` is seen the entry is visible everywhere, and later hosts only get the `*`
            // key (Istio's `exportsToAll` flag carries across hosts).
            let mut exports_to_all = false;
            for h in &se.hosts {
                let fqdn = to_fqdn(ns, h);
                if se.export_to.is_empty() || exports_to_all {
                    reg.insert(EXPORT_TO_ALL, &fqdn, idx);
                    continue;
                }
                for e in &se.export_to {
                    match e.as_str() {
                        EXPORT_TO_ALL => {
                            reg.insert(EXPORT_TO_ALL, &fqdn, idx);
                            exports_to_all = true;
                        }
                        EXPORT_TO_LOCAL => reg.insert(ns, &fqdn, idx),
                        other => reg.insert(other, &fqdn, idx),
                    }
                    if exports_to_all {
                        break;
                    }
                }
            }
        }
        for r in store.of(Kind::Service) {
            let Spec::Service(svc) = &r.spec else {
                continue;
            };
            let ns = r.effective_namespace();
            let fqdn = to_fqdn(ns, r.name());
            let idx = reg.services.len();
            reg.services.push(RegistryService {
                resource: r,
                hosts: vec![fqdn.clone()],
                ports: svc
                    .ports
                    .iter()
                    .map(|p| RegistryPort {
                        number: p.port,
                        name: p.name.clone().unwrap_or_default(),
                        // The API server defaults an omitted protocol to TCP.
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                    })
                    .collect(),
                workload_selector: None,
            });
            for scope in visible_namespaces(r.annotations().get(EXPORT_TO_ANNOTATION), ns) {
                reg.insert(&scope, &fqdn, idx);
            }
        }
        reg
    }

    fn insert(&mut self, scope: &str, fqdn: &str, idx: usize) {
        let key = (scope.to_string(), fqdn.to_string());
        if self.by_key.insert(key.clone(), idx).is_none() {
            self.order.push(key);
        }
    }

    /// Whether `(scope, fqdn)` is defined.
    pub fn contains(&self, scope: &str, fqdn: &str) -> bool {
        self.by_key
            .contains_key(&(scope.to_string(), fqdn.to_string()))
    }

    /// `GetDestinationHost`: the service `host` resolves to for a resource in `source_ns` whose own
    /// `exportTo` is `export_to` (the referring VirtualService's or DestinationRule's).
    pub fn lookup(
        &self,
        source_ns: &str,
        export_to: &[String],
        host: &str,
    ) -> Option<&RegistryService<'a>> {
        let fqdn = to_fqdn(source_ns, host);
        let get = |scope: &str| {
            self.by_key
                .get(&(scope.to_string(), fqdn.clone()))
                .map(|i| &self.services[*i])
        };
        if let Some(s) = get(EXPORT_TO_ALL) {
            return Some(s);
        }
        if export_to.is_empty() {
            if let Some(s) = get(source_ns) {
                return Some(s);
            }
        } else {
            for e in export_to {
                let scope = if e == EXPORT_TO_LOCAL {
                    source_ns
                } else {
                    e.as_str()
                };
                if let Some(s) = get(scope) {
                    return Some(s);
                }
            }
        }
        // Wildcard entries visible to the source namespace; the raw host (not its FQDN) is
        // compared, as Istio does.
        let host_rest = host.strip_prefix('*').unwrap_or(host);
        for key in &self.order {
            let (scope, se_host) = key;
            let Some(se_rest) = se_host.strip_prefix('*') else {
                continue;
            };
            if scope != EXPORT_TO_ALL && scope != source_ns {
                continue;
            }
            if host_rest.ends_with(se_rest) {
                return self.by_key.get(key).map(|i| &self.services[*i]);
            }
        }
        None
    }
}

/// Scopes of a Service from its `networking.istio.io/exportTo` annotation: `*` when absent,
/// else the comma-separated list with `.` meaning the Service's namespace.
fn visible_namespaces(annotation: Option<&String>, ns: &str) -> Vec<String> {
    match annotation.map(String::as_str) {
        None | Some("") => vec![EXPORT_TO_ALL.to_string()],
        Some(list) => list
            .split(',')
            .map(|s| {
                if s == EXPORT_TO_LOCAL {
                    ns.to_string()
                } else {
                    s.to_string()
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::{LoadOptions, parse_file};

    fn store(yaml: &str) -> Store {
        let parsed = parse_file(
            "test.yaml",
            yaml,
            &LoadOptions {
                default_namespace: Some("default".into()),
                ..LoadOptions::default()
            },
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        Store::new(parsed.resources)
    }

    const FIXTURE: &str = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: other}
spec:
  hosts: [api.example.com]
  exportTo: [default]
  ports: [{number: 443, name: https, protocol: HTTPS}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: local, namespace: other}
spec:
  hosts: [local.example.com]
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wild, namespace: other}
spec:
  hosts: ["*.eu.example.com"]
---
apiVersion: v1
kind: Service
metadata:
  name: hidden
  namespace: team
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{port: 80}, {port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  ports: [{port: 9080, name: http}]
"#;

    #[test]
    fn scopes_follow_export_to() {
        let s = store(FIXTURE);
        let reg = ServiceRegistry::build(&s);
        assert!(reg.lookup("default", &[], "api.example.com").is_some());
        assert!(reg.lookup("istio-system", &[], "api.example.com").is_none());
        assert!(reg.lookup("default", &[], "local.example.com").is_none());
        assert!(reg.lookup("other", &[], "local.example.com").is_some());
        assert!(reg.lookup("team", &[], "hidden").is_some());
        assert!(
            reg.lookup("default", &[], "hidden.team.svc.cluster.local")
                .is_none()
        );
        // A referrer exporting to `team` also looks in the `team` scope.
        assert!(
            reg.lookup("default", &["team".into()], "hidden.team.svc.cluster.local")
                .is_some()
        );
    }

    #[test]
    fn short_names_and_wildcards_resolve() {
        let s = store(FIXTURE);
        let reg = ServiceRegistry::build(&s);
        let svc = reg
            .lookup("default", &[], "reviews")
            .map(|s| s.ports.clone());
        assert_eq!(
            svc,
            Some(vec![RegistryPort {
                number: 9080,
                name: "http".into(),
                protocol: "TCP".to_string()
            }])
        );
        assert!(
            reg.lookup("istio-system", &[], "reviews.default.svc.cluster.local")
                .is_some()
        );
        assert!(reg.lookup("default", &[], "a.eu.example.com").is_some());
        assert!(reg.lookup("default", &[], "*.eu.example.com").is_some());
        assert!(reg.lookup("default", &[], "a.us.example.com").is_none());
        assert!(reg.contains("*", "*.eu.example.com"));
    }
}
