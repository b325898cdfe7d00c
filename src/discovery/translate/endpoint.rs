//! Cluster load assignments (EDS): for every EDS cluster, the endpoints of its service that serve
//! its port and carry its subset's labels, grouped by locality. A cluster without endpoints still
//! gets an (empty) assignment, so the proxy answers 503 rather than waiting for one. Each
//! endpoint with a workload behind it names it in its `istio.workload` metadata, which client
//! proxies report as the `destination_*` labels of Istio's standard metrics.

use std::collections::{BTreeMap, HashMap};

use envoy_types::pb::envoy::config::cluster::v3::cluster::DiscoveryType;
use envoy_types::pb::envoy::config::core::v3::{HealthStatus, Locality, Metadata};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint as EnvoyEndpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};

use super::cluster::{OutboundCluster, endpoint_weight};
use super::metadata::{string, structure};
use super::names::ISTIO_METADATA_KEY;
use super::proto::{address, uint32};
use super::tls;
use crate::config::types::selects;
use crate::discovery::registry::Endpoint;
use crate::xds::peer::ENDPOINT_WORKLOAD_KEY;

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
                metadata: endpoint_metadata(ep),
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

/// `istio.workload: "<workload>;<namespace>;<canonical service>;<canonical revision>;<cluster>"`
/// (istiod's `AppendLbEndpointMetadata`).
/// An endpoint's metadata: its workload for telemetry (`istio.workload`) and, for auto mTLS,
/// `tlsMode: istio` when its workload runs a proxy.
fn endpoint_metadata(ep: &Endpoint) -> Option<Metadata> {
    let tls = tls::endpoint_metadata(&ep.labels);
    let Some(mut metadata) = workload_metadata(ep) else {
        return tls;
    };
    if let Some(tls) = tls {
        metadata.filter_metadata.extend(tls.filter_metadata);
    }
    Some(metadata)
}

fn workload_metadata(ep: &Endpoint) -> Option<Metadata> {
    let workload = ep.telemetry_workload()?;
    Some(Metadata {
        filter_metadata: HashMap::from([(
            ISTIO_METADATA_KEY.to_string(),
            structure(BTreeMap::from([(
                ENDPOINT_WORKLOAD_KEY,
                string(&workload.endpoint_metadata()),
            )])),
        )]),
        ..Default::default()
    })
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

    fn endpoint(workload: &str, labels: &[(&str, &str)]) -> Endpoint {
        Endpoint {
            address: "10.0.0.7".into(),
            ports: BTreeMap::new(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            locality: None,
            weight: None,
            service_account: None,
            workload: workload.into(),
            cluster: "Kubernetes".into(),
        }
    }

    fn workload_of(ep: &Endpoint) -> Option<String> {
        use envoy_types::pb::google::protobuf::value::Kind;
        let md = workload_metadata(ep)?;
        match &md.filter_metadata[ISTIO_METADATA_KEY].fields[ENDPOINT_WORKLOAD_KEY].kind {
            Some(Kind::StringValue(s)) => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn endpoints_name_their_workload_as_istiod_does() {
        let pod = endpoint(
            "Pod default/reviews-v1-5d8f9c7b6-x2k9p",
            &[
                ("app", "reviews"),
                ("version", "v1"),
                ("pod-template-hash", "5d8f9c7b6"),
            ],
        );
        assert_eq!(
            workload_of(&pod).as_deref(),
            Some("reviews-v1;default;reviews;v1;Kubernetes")
        );
        let vm = endpoint("WorkloadEntry vms/db-1", &[]);
        assert_eq!(
            workload_of(&vm).as_deref(),
            Some("db-1;vms;db-1;latest;Kubernetes")
        );
        // A ServiceEntry's own address has no workload behind it.
        let se = endpoint("ServiceEntry default/api host", &[]);
        assert!(workload_metadata(&se).is_none());
    }

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
