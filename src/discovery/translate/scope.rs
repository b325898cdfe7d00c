//! What one proxy may see (istiod's `SidecarScope`): the services and VirtualServices exported to
//! its namespace (`exportTo`) and, for sidecars, imported by the Sidecar resource that applies to
//! it (`egress.hosts`), plus the DestinationRule that governs each host. Everything the proxy
//! receives is built from this view, so a narrow Sidecar shrinks every resource type at once.

use std::collections::BTreeSet;

use crate::config::networking as net;
use crate::config::types::selects;
use crate::discovery::accepted::Config;
use crate::discovery::mesh::OutboundTrafficPolicy;
use crate::discovery::normalize::MESH_GATEWAY;
use crate::discovery::push_context::PushContext;
use crate::discovery::registry::{Port, Service};
use crate::validation::hosts::{host_matches, host_subset_of};

use super::telemetry::HcmTelemetry;
use super::{Proxy, Role, TranslateOptions};

/// The proxy's view of the mesh.
#[derive(Debug)]
pub struct Scope<'a> {
    pub push: &'a PushContext,
    pub proxy: &'a Proxy,
    /// The Sidecar resource that applies to a sidecar proxy, if any.
    pub sidecar: Option<&'a Config<net::Sidecar>>,
    /// Visible, imported services, sorted by host; one service per host (the proxy's own
    /// namespace's when several namespaces define it).
    pub services: Vec<&'a Service>,
    /// VirtualServices that apply, sorted by namespace and name. For sidecars: bound to `mesh`
    /// and imported; for gateways: every one exported to the gateway's namespace (the Gateway
    /// binding is checked per server).
    pub virtual_services: Vec<&'a Config<net::VirtualService>>,
    /// The access logging and trace sampling of its HTTP connection managers.
    pub telemetry: HcmTelemetry,
}

impl<'a> Scope<'a> {
    pub fn new(push: &'a PushContext, proxy: &'a Proxy, opts: &TranslateOptions) -> Scope<'a> {
        let sidecar = match proxy.role {
            Role::Sidecar => sidecar_for(push, proxy),
            // Sidecar resources never apply to gateways.
            Role::Router => None,
        };
        let egress = sidecar.map(|s| &s.spec.egress);
        let ns = proxy.namespace.as_str();
        let mut services: Vec<&Service> = Vec::new();
        for s in push.registry().services() {
            if !s.visible_from(ns) {
                continue;
            }
            if let Some(egress) = egress
                && !egress
                    .iter()
                    .any(|e| imports(&e.hosts, &s.namespace, &s.hostname))
            {
                continue;
            }
            match services.last_mut() {
                // Several namespaces define this host: the proxy's own wins, else the first.
                Some(prev) if prev.hostname == s.hostname => {
                    if s.namespace == ns && prev.namespace != ns {
                        *prev = s;
                    }
                }
                _ => services.push(s),
            }
        }
        let virtual_services = push
            .virtual_services()
            .iter()
            .filter(|vs| {
                let exported = export_visible(&vs.spec.export_to, &vs.namespace, ns);
                match proxy.role {
                    Role::Router => exported,
                    Role::Sidecar => {
                        let mesh = vs.spec.gateways.is_empty()
                            || vs.spec.gateways.iter().any(|g| g == MESH_GATEWAY);
                        let imported = egress.is_none_or(|egress| {
                            egress.iter().any(|e| {
                                vs.spec
                                    .hosts
                                    .iter()
                                    .any(|h| imports(&e.hosts, &vs.namespace, h))
                            })
                        });
                        exported && mesh && imported
                    }
                }
            })
            .collect();
        Scope {
            push,
            proxy,
            sidecar,
            services,
            virtual_services,
            telemetry: super::telemetry::for_proxy(push, proxy, opts.proxy_headers.as_ref()),
        }
    }

    /// The service a destination host names: an imported one, else any the proxy's namespace may
    /// see (a VirtualService may route to a host the Sidecar does not import).
    pub fn service(&self, host: &str) -> Option<&'a Service> {
        self.services
            .iter()
            .copied()
            .find(|s| s.hostname == host)
            .or_else(|| self.push.registry().lookup(host, &self.proxy.namespace))
    }

    /// Whether a sidecar's outbound listener on `port` carries `service` (a Sidecar egress
    /// listener may be bound to one port).
    pub fn listens_for(&self, service: &Service, port: &Port) -> bool {
        let Some(sidecar) = self.sidecar else {
            return true;
        };
        sidecar.spec.egress.iter().any(|e| {
            e.port.as_ref().is_none_or(|p| p.number == port.number)
                && imports(&e.hosts, &service.namespace, &service.hostname)
        })
    }

    /// The `bind` of the Sidecar egress listener that carries `port`: the one for that port,
    /// else the catch-all one (Istio builds port-specific egress listeners first).
    pub fn egress_bind(&self, port: u32) -> Option<&'a str> {
        let egress = &self.sidecar?.spec.egress;
        let listener = egress
            .iter()
            .find(|e| e.port.as_ref().is_some_and(|p| p.number == port))
            .or_else(|| egress.iter().find(|e| e.port.is_none()))?;
        listener.bind.as_deref().filter(|b| !b.is_empty())
    }

    /// Services that imported VirtualServices route or mirror to but the Sidecar does not import:
    /// their clusters are still needed (Istio adds VirtualService destinations to the scope).
    pub fn destination_dependencies(&self) -> Vec<&'a Service> {
        let mut out: Vec<&Service> = Vec::new();
        for vs in &self.virtual_services {
            for http in &vs.spec.http {
                let hosts = http
                    .route
                    .iter()
                    .filter_map(|r| r.destination.as_ref())
                    .chain(http.mirror.as_ref())
                    .chain(http.mirrors.iter().filter_map(|m| m.destination.as_ref()))
                    .map(|d| d.host.as_str());
                for host in hosts {
                    if self.services.iter().any(|s| s.hostname == host) {
                        continue;
                    }
                    if let Some(s) = self.push.registry().lookup(host, &self.proxy.namespace)
                        && !out.iter().any(|o| std::ptr::eq(*o, s))
                    {
                        out.push(s);
                    }
                }
            }
        }
        out.sort_by(|a, b| (&a.hostname, &a.namespace).cmp(&(&b.hostname, &b.namespace)));
        out
    }

    /// The DestinationRule for `host` (a service in `service_ns`), as Istio picks it: the
    /// proxy's namespace first, then the service's, then the root namespace, then any other that
    /// exports to the proxy; within a namespace a rule whose `workloadSelector` picks this proxy
    /// beats one without, an exact host beats a wildcard, a longer wildcard a shorter one.
    pub fn destination_rule(
        &self,
        host: &str,
        service_ns: &str,
    ) -> Option<&'a Config<net::DestinationRule>> {
        let ns = self.proxy.namespace.as_str();
        let root = self.push.mesh().root_namespace.as_str();
        self.push
            .destination_rules()
            .iter()
            .filter(|dr| {
                let h = dr.spec.host.as_str();
                (h == host || (h.starts_with('*') && host_subset_of(host, h)))
                    && export_visible(&dr.spec.export_to, &dr.namespace, ns)
                    && match &dr.spec.workload_selector {
                        None => true,
                        Some(sel) => {
                            dr.namespace == ns && selects(&sel.match_labels, &self.proxy.labels)
                        }
                    }
            })
            .min_by_key(|dr| {
                let tier = if dr.namespace == ns {
                    0
                } else if dr.namespace == service_ns {
                    1
                } else if dr.namespace == root {
                    2
                } else {
                    3
                };
                let selected = u8::from(dr.spec.workload_selector.is_none());
                let exact = u8::from(dr.spec.host != host);
                let specificity = usize::MAX - dr.spec.host.len();
                (tier, selected, exact, specificity)
            })
    }

    /// The Sidecar's `outboundTrafficPolicy.mode`, else the mesh's.
    pub fn outbound_traffic_policy(&self) -> OutboundTrafficPolicy {
        let mode = self
            .sidecar
            .and_then(|s| s.spec.outbound_traffic_policy.as_ref())
            .and_then(|p| p.mode.as_deref());
        match mode {
            Some("REGISTRY_ONLY") => OutboundTrafficPolicy::RegistryOnly,
            Some("ALLOW_ANY") => OutboundTrafficPolicy::AllowAny,
            _ => self.push.mesh().outbound_traffic_policy,
        }
    }

    /// The services this sidecar is an instance of, with the endpoint port of each service port:
    /// those whose endpoints carry the proxy's IP, and those in its namespace whose selector
    /// picks its labels (a proxy need not be in the registry as a Pod).
    pub fn own_services(&self) -> Vec<(&'a Service, &'a Port, u32)> {
        let mut out = Vec::new();
        let ip = self.proxy.ip.map(|ip| ip.to_string());
        for s in self.push.registry().services() {
            let by_ip = ip
                .as_deref()
                .and_then(|ip| s.endpoints.iter().find(|e| e.address == ip));
            let by_labels = s.namespace == self.proxy.namespace
                && !s.selector.is_empty()
                && selects(&s.selector, &self.proxy.labels);
            if by_ip.is_none() && !by_labels {
                continue;
            }
            for port in &s.ports {
                let target = by_ip
                    .and_then(|e| e.ports.get(&port.number).copied())
                    .or(port.target_port)
                    .unwrap_or(port.number);
                out.push((s, port, target));
            }
        }
        out
    }
}

/// The Sidecar that applies to a sidecar proxy: one in its namespace whose selector picks it,
/// else its namespace's selector-less one, else the root namespace's selector-less one.
pub fn sidecar_for<'a>(push: &'a PushContext, proxy: &Proxy) -> Option<&'a Config<net::Sidecar>> {
    let sidecars = push.sidecars();
    let ns = proxy.namespace.as_str();
    let selected = sidecars.iter().find(|s| {
        s.namespace == ns
            && s.spec
                .workload_selector
                .as_ref()
                .is_some_and(|sel| selects(&sel.labels, &proxy.labels))
    });
    let default_in = |n: &str| {
        sidecars
            .iter()
            .find(|s| s.namespace == n && s.spec.workload_selector.is_none())
    };
    selected
        .or_else(|| default_in(ns))
        .or_else(|| default_in(&push.mesh().root_namespace))
}

/// The namespaces whose config a sidecar imports, from its Sidecar's egress hosts; `None` when it
/// may import any namespace (no Sidecar, or a `*/…` host). Routers import everything.
pub fn imported_namespaces(push: &PushContext, proxy: &Proxy) -> Option<BTreeSet<String>> {
    if proxy.role == Role::Router {
        return None;
    }
    let sidecar = sidecar_for(push, proxy)?;
    let mut out = BTreeSet::new();
    for egress in &sidecar.spec.egress {
        for entry in &egress.hosts {
            match entry.split_once('/').map(|(ns, _)| ns) {
                Some("*") | None => return None,
                Some("~") => {}
                Some(".") => {
                    out.insert(proxy.namespace.clone());
                }
                Some(ns) => {
                    out.insert(ns.to_string());
                }
            }
        }
    }
    Some(out)
}

/// Whether `egress.hosts` (`ns/host`, normalized) import `host` of namespace `ns`.
fn imports(hosts: &[String], ns: &str, host: &str) -> bool {
    hosts.iter().any(|entry| {
        let Some((want_ns, want_host)) = entry.split_once('/') else {
            return false;
        };
        let ns_ok = match want_ns {
            "*" => true,
            "~" => false,
            other => other == ns,
        };
        ns_ok && (want_host == "*" || host_matches(want_host, host))
    })
}

fn export_visible(export_to: &[String], owner: &str, ns: &str) -> bool {
    crate::discovery::export::ExportTo::new(export_to).visible(owner, ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_hosts_import_by_namespace_and_host() {
        let hosts = vec!["prod/*".to_string(), "*/api.example.com".to_string()];
        assert!(imports(&hosts, "prod", "a.prod.svc.cluster.local"));
        assert!(!imports(&hosts, "dev", "a.dev.svc.cluster.local"));
        assert!(imports(&hosts, "dev", "api.example.com"));
        let wildcard = vec!["*/*.example.com".to_string()];
        assert!(imports(&wildcard, "x", "www.example.com"));
        assert!(!imports(&["~/*".to_string()], "x", "a"));
    }
}
