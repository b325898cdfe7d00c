//! Cluster load assignments (EDS): for every EDS cluster, the endpoints of its service that serve
//! its port and carry its subset's labels, grouped by locality. A cluster without endpoints still
//! gets an (empty) assignment, so the proxy answers 503 rather than waiting for one.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::cluster::v3::cluster::DiscoveryType;
use envoy_types::pb::envoy::config::core::v3::{HealthStatus, Locality};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint as EnvoyEndpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};

use super::cluster::{OutboundCluster, endpoint_weight};
use super::proto::{address, uint32};
use super::tls;
use crate::config::types::selects;

pub fn build(outbound: &[OutboundCluster<'_>]) -> Vec<ClusterLoadAssignment> {
    outbound
        .iter()
        .filter(|c| c.discovery == DiscoveryType::Eds)
        .map(|c| ClusterLoadAssignment {
            cluster_name: c.name.clone(),
            endpoints: locality_lb_endpoints(c),
            ..Default::default()
        })
        .collect()
}

/// The endpoints of `cluster`, one group per locality (sorted, the unknown locality first).
pub fn locality_lb_endpoints(cluster: &OutboundCluster<'_>) -> Vec<LocalityLbEndpoints> {
    let subset_labels = cluster.subset.map(|s| &s.labels);
    let mut by_locality: BTreeMap<&str, Vec<LbEndpoint>> = BTreeMap::new();
    for ep in &cluster.service.endpoints {
        let Some(port) = ep.ports.get(&cluster.port.number) else {
            continue;
        };
        if subset_labels.is_some_and(|labels| !selects(labels, &ep.labels)) {
            continue;
        }
        by_locality
            .entry(ep.locality.as_deref().unwrap_or(""))
            .or_default()
            .push(LbEndpoint {
                host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(EnvoyEndpoint {
                    address: Some(address(&ep.address, *port)),
                    ..Default::default()
                })),
                health_status: HealthStatus::Healthy as i32,
                load_balancing_weight: endpoint_weight(ep.weight),
                // Auto mTLS: `tlsMode: istio` for endpoints whose workload runs a proxy.
                metadata: tls::endpoint_metadata(&ep.labels),
            });
    }
    by_locality
        .into_iter()
        .map(|(locality, lb_endpoints)| {
            let weight: u32 = lb_endpoints
                .iter()
                .filter_map(|e| e.load_balancing_weight.as_ref())
                .fold(0u32, |sum, w| sum.saturating_add(w.value));
            LocalityLbEndpoints {
                locality: parse_locality(locality),
                lb_endpoints,
                load_balancing_weight: uint32(weight),
                ..Default::default()
            }
        })
        .collect()
}

/// `region/zone/subzone`, each part optional.
fn parse_locality(s: &str) -> Option<Locality> {
    if s.is_empty() {
        return None;
    }
    let mut parts = s.splitn(3, '/');
    Some(Locality {
        region: parts.next().unwrap_or_default().to_string(),
        zone: parts.next().unwrap_or_default().to_string(),
        sub_zone: parts.next().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localities_split_into_region_zone_subzone() {
        let l = parse_locality("us-east/us-east-1a/rack1").expect("locality");
        assert_eq!(
            (l.region.as_str(), l.zone.as_str(), l.sub_zone.as_str()),
            ("us-east", "us-east-1a", "rack1")
        );
        let l = parse_locality("eu").expect("locality");
        assert_eq!((l.region.as_str(), l.zone.as_str()), ("eu", ""));
        assert!(parse_locality("").is_none());
    }
}
