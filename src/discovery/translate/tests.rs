//! Whole-pipeline tests of translation: YAML in, Envoy resources out. One file per feature
//! area; the helpers here build push contexts and find resources by name.

mod authz;
mod clusters;
mod determinism;
mod gateway;
mod inbound_split;
mod listeners;
mod mtls;
mod rejection;
mod routes;
mod scope;
mod seed;
mod sidecar_ingress;

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::address;
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, lb_endpoint};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::{
    Route, RouteAction, RouteConfiguration, VirtualHost, route, route_action,
};
use envoy_types::pb::google::protobuf::value;

use super::metadata::config_of;
use super::names::ISTIO_METADATA_KEY;
use super::{Proxy, ProxyConfig, Role, TranslateOptions, translate};
use crate::discovery::mesh::MeshOptions;
use crate::discovery::push_context::PushContext;
use crate::discovery::testing::store;

pub fn push(yaml: &str) -> PushContext {
    PushContext::new(&store(yaml), MeshOptions::default())
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn sidecar(namespace: &str, pairs: &[(&str, &str)]) -> Proxy {
    Proxy {
        role: Role::Sidecar,
        namespace: namespace.to_string(),
        labels: labels(pairs),
        ip: None,
    }
}

pub fn router(namespace: &str, pairs: &[(&str, &str)]) -> Proxy {
    Proxy {
        role: Role::Router,
        ..sidecar(namespace, pairs)
    }
}

pub fn config_for(push: &PushContext, proxy: &Proxy) -> ProxyConfig {
    translate(push, proxy, &TranslateOptions::default())
}

pub fn cluster<'c>(cfg: &'c ProxyConfig, name: &str) -> &'c Cluster {
    cfg.clusters
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no cluster {name}; have {:?}", cluster_names(cfg)))
}

pub fn cluster_names(cfg: &ProxyConfig) -> Vec<&str> {
    cfg.clusters.iter().map(|c| c.name.as_str()).collect()
}

pub fn load_assignment<'c>(cfg: &'c ProxyConfig, name: &str) -> &'c ClusterLoadAssignment {
    cfg.endpoints
        .iter()
        .find(|c| c.cluster_name == name)
        .unwrap_or_else(|| panic!("no load assignment {name}"))
}

/// `ip:port` of every endpoint of an assignment.
pub fn endpoint_addresses(cla: &ClusterLoadAssignment) -> Vec<String> {
    cla.endpoints
        .iter()
        .flat_map(|l| &l.lb_endpoints)
        .filter_map(|e| match &e.host_identifier {
            Some(lb_endpoint::HostIdentifier::Endpoint(ep)) => ep.address.as_ref(),
            _ => None,
        })
        .filter_map(|a| match &a.address {
            Some(address::Address::SocketAddress(sa)) => Some(format!(
                "{}:{}",
                sa.address,
                match sa.port_specifier {
                    Some(envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier::PortValue(p)) => p,
                    _ => 0,
                }
            )),
            _ => None,
        })
        .collect()
}

pub fn route_config<'c>(cfg: &'c ProxyConfig, name: &str) -> &'c RouteConfiguration {
    cfg.routes
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no route configuration {name}; have {:?}",
                cfg.routes.iter().map(|r| &r.name).collect::<Vec<_>>()
            )
        })
}

pub fn vhost<'c>(rc: &'c RouteConfiguration, name: &str) -> &'c VirtualHost {
    rc.virtual_hosts
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no virtual host {name}; have {:?}",
                rc.virtual_hosts.iter().map(|v| &v.name).collect::<Vec<_>>()
            )
        })
}

pub fn listener<'c>(cfg: &'c ProxyConfig, name: &str) -> &'c Listener {
    cfg.listeners
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no listener {name}; have {:?}",
                cfg.listeners.iter().map(|l| &l.name).collect::<Vec<_>>()
            )
        })
}

pub fn action(r: &Route) -> &RouteAction {
    match &r.action {
        Some(route::Action::Route(a)) => a,
        other => panic!("not a route action: {other:?}"),
    }
}

/// The single cluster of a route, or `weight` pairs for weighted clusters.
pub fn destinations(r: &Route) -> Vec<(String, u32)> {
    match &action(r).cluster_specifier {
        Some(route_action::ClusterSpecifier::Cluster(c)) => vec![(c.clone(), 100)],
        Some(route_action::ClusterSpecifier::WeightedClusters(w)) => w
            .clusters
            .iter()
            .map(|c| (c.name.clone(), c.weight.as_ref().map_or(0, |w| w.value)))
            .collect(),
        other => panic!("no cluster: {other:?}"),
    }
}

pub fn route_vs_config(r: &Route) -> Option<&str> {
    config_of(r.metadata.as_ref())
}

pub fn cluster_dr_config(c: &Cluster) -> Option<&str> {
    config_of(c.metadata.as_ref())
}

/// A string field of a cluster's `istio` metadata.
pub fn cluster_istio_field(c: &Cluster, field: &str) -> Option<value::Kind> {
    c.metadata
        .as_ref()?
        .filter_metadata
        .get(ISTIO_METADATA_KEY)?
        .fields
        .get(field)?
        .kind
        .clone()
}
