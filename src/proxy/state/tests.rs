//! xDS updates against the proxy state: all-or-nothing application and NACKs.

use std::sync::{Arc, Mutex};

use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::{Address, SocketAddress, address, socket_address};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener, filter};
use envoy_types::pb::envoy::config::route::v3::{
    Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, route, route_action,
    route_match,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, Rds, http_connection_manager,
};
use envoy_types::pb::envoy::r#type::matcher::v3::RegexMatcher;

use super::*;
use crate::discovery::translate::encode::to_any;

/// Records binds; fails to bind one port, as an address in use would.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    fail_port: Option<u16>,
}

impl Binder for Arc<Recorder> {
    fn bind(&self, name: &str, address: SocketAddr) -> Result<(), String> {
        if Some(address.port()) == self.fail_port {
            return Err("Address already in use".into());
        }
        self.calls.lock().unwrap().push(format!("bind {name}"));
        Ok(())
    }
    fn unbind(&self, name: &str) {
        self.calls.lock().unwrap().push(format!("unbind {name}"));
    }
}

fn shared(fail_port: Option<u16>) -> (Shared, Arc<Recorder>) {
    let rec = Arc::new(Recorder {
        fail_port,
        ..Recorder::default()
    });
    (Shared::new(Box::new(rec.clone())), rec)
}

fn sock(ip: &str, port: u32) -> Address {
    Address {
        address: Some(address::Address::SocketAddress(SocketAddress {
            address: ip.into(),
            port_specifier: Some(socket_address::PortSpecifier::PortValue(port)),
            ..Default::default()
        })),
    }
}

fn listener(port: u32, rds: &str) -> Listener {
    let hcm = HttpConnectionManager {
        stat_prefix: format!("outbound_0.0.0.0_{port}"),
        route_specifier: Some(http_connection_manager::RouteSpecifier::Rds(Rds {
            route_config_name: rds.into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    one_filter_listener(port, "envoy.filters.network.http_connection_manager", &hcm)
}

/// A listener on 0.0.0.0:`port` whose one filter chain has one filter, `name` configured
/// with `config`.
fn one_filter_listener<M: prost::Message + prost::Name>(
    port: u32,
    name: &str,
    config: &M,
) -> Listener {
    Listener {
        name: format!("0.0.0.0_{port}"),
        address: Some(sock("0.0.0.0", port)),
        filter_chains: vec![FilterChain {
            filters: vec![Filter {
                name: name.into(),
                config_type: Some(filter::ConfigType::TypedConfig(
                    to_any(config).expect("encodes"),
                )),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn routes(name: &str, regex: &str) -> RouteConfiguration {
    RouteConfiguration {
        name: name.into(),
        virtual_hosts: vec![VirtualHost {
            name: "all".into(),
            domains: vec!["*".into()],
            routes: vec![Route {
                name: "r".into(),
                r#match: Some(RouteMatch {
                    path_specifier: Some(route_match::PathSpecifier::SafeRegex(RegexMatcher {
                        regex: regex.into(),
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
                action: Some(route::Action::Route(RouteAction {
                    cluster_specifier: Some(route_action::ClusterSpecifier::Cluster("c".into())),
                    ..Default::default()
                })),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn eds_cluster(name: &str) -> Cluster {
    Cluster {
        name: name.into(),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            cluster::DiscoveryType::Eds as i32,
        )),
        ..Default::default()
    }
}

fn assignment(name: &str, ports: &[u32]) -> ClusterLoadAssignment {
    ClusterLoadAssignment {
        cluster_name: name.into(),
        endpoints: vec![LocalityLbEndpoints {
            lb_endpoints: ports
                .iter()
                .map(|p| LbEndpoint {
                    host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
                        address: Some(sock("127.0.0.1", *p)),
                        ..Default::default()
                    })),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn update(type_url: TypeUrl, version: &str, resources: Vec<TypedResource>) -> Update {
    Update {
        type_url,
        version_info: version.into(),
        resources,
    }
}

#[tokio::test]
async fn a_bad_route_configuration_is_nacked_and_the_old_one_kept() {
    let (s, _) = shared(None);
    let good = routes("80", "/a/[0-9]+");
    s.apply(&update(
        TypeUrl::RouteConfiguration,
        "v1",
        vec![TypedResource::RouteConfiguration(Box::new(good))],
    ))
    .expect("a valid route configuration applies");
    let err = s
        .apply(&update(
            TypeUrl::RouteConfiguration,
            "v2",
            vec![TypedResource::RouteConfiguration(Box::new(routes(
                "80", "(",
            )))],
        ))
        .expect_err("a bad regex is rejected");
    assert!(err.contains("invalid regex"), "{err}");
    assert_eq!(s.store().versions[&TypeUrl::RouteConfiguration], "v1");
    assert_eq!(s.store().routes["80"].version_info, "v1");
    assert!(s.runtime().routes.contains_key("80"));
    assert_eq!(s.stats.rds_update_rejected.get(), 1);
}

#[tokio::test]
async fn a_listener_update_binds_all_or_nothing() {
    let (s, rec) = shared(Some(9090));
    s.apply(&update(
        TypeUrl::Listener,
        "v1",
        vec![TypedResource::Listener(Box::new(listener(8080, "8080")))],
    ))
    .expect("binds");
    let err = s
        .apply(&update(
            TypeUrl::Listener,
            "v2",
            vec![
                TypedResource::Listener(Box::new(listener(8080, "8080"))),
                TypedResource::Listener(Box::new(listener(8081, "8081"))),
                TypedResource::Listener(Box::new(listener(9090, "9090"))),
            ],
        ))
        .expect_err("an unbindable port rejects the update");
    assert!(
        err.contains("0.0.0.0_9090") && err.contains("in use"),
        "{err}"
    );
    // 8081 was bound for the failed update and released again; 8080 stays.
    assert_eq!(
        *rec.calls.lock().unwrap(),
        [
            "bind 0.0.0.0_8080",
            "bind 0.0.0.0_8081",
            "unbind 0.0.0.0_8081"
        ]
    );
    assert_eq!(s.bound().keys().collect::<Vec<_>>(), ["0.0.0.0_8080"]);
    assert_eq!(
        s.runtime().listeners.keys().collect::<Vec<_>>(),
        ["0.0.0.0_8080"]
    );
    // Removing the listener unbinds it.
    s.apply(&update(TypeUrl::Listener, "v3", vec![]))
        .expect("an empty LDS applies");
    assert!(s.bound().is_empty());
    assert_eq!(
        rec.calls.lock().unwrap().last().map(String::as_str),
        Some("unbind 0.0.0.0_8080")
    );
}

#[tokio::test]
async fn endpoints_follow_eds_and_readiness_waits_for_cds_lds_and_every_eds_cluster() {
    let (s, _) = shared(None);
    assert!(!s.is_ready());
    s.apply(&update(
        TypeUrl::Cluster,
        "c1",
        vec![
            TypedResource::Cluster(Box::new(eds_cluster("a"))),
            TypedResource::Cluster(Box::new(eds_cluster("b"))),
        ],
    ))
    .expect("clusters apply");
    assert!(s.runtime().clusters["a"].endpoints.is_empty());
    s.apply(&update(
        TypeUrl::ClusterLoadAssignment,
        "e1",
        vec![TypedResource::ClusterLoadAssignment(Box::new(assignment(
            "a",
            &[1001, 1002],
        )))],
    ))
    .expect("endpoints apply");
    let rt = s.runtime();
    assert_eq!(rt.clusters["a"].endpoints.len(), 2);
    assert!(rt.clusters["b"].endpoints.is_empty());
    let kept = rt.clusters["a"].endpoints[0].clone();
    // An EDS update for `a` that keeps one endpoint keeps that endpoint's object (its stats).
    s.apply(&update(
        TypeUrl::ClusterLoadAssignment,
        "e2",
        vec![TypedResource::ClusterLoadAssignment(Box::new(assignment(
            "a",
            &[1001, 1003],
        )))],
    ))
    .expect("endpoints apply");
    let rt = s.runtime();
    assert!(Arc::ptr_eq(&rt.clusters["a"].endpoints[0], &kept));
    assert!(!s.is_ready());
    s.apply(&update(TypeUrl::Listener, "l1", vec![]))
        .expect("listeners apply");
    // `b` has had no assignment yet: as Envoy's cluster warming, not ready until it has one.
    assert!(!s.is_ready());
    s.apply(&update(
        TypeUrl::ClusterLoadAssignment,
        "e3",
        vec![TypedResource::ClusterLoadAssignment(Box::new(assignment(
            "b",
            &[],
        )))],
    ))
    .expect("endpoints apply");
    assert!(s.is_ready());
}

#[tokio::test]
async fn a_response_of_the_wrong_type_is_nacked() {
    let (s, _) = shared(None);
    let err = s
        .apply(&update(
            TypeUrl::Cluster,
            "c1",
            vec![TypedResource::RouteConfiguration(Box::new(routes(
                "80", "/",
            )))],
        ))
        .expect_err("a route in CDS");
    assert!(err.contains("CDS"), "{err}");
    assert!(s.runtime().clusters.is_empty());
}

#[test]
fn server_names_pick_the_exact_name_then_the_longest_wildcard_then_any() {
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let exact = names(&["a.example.com"]);
    let wildcard = names(&["*.example.com"]);
    let deeper = names(&["*.b.example.com"]);
    assert_eq!(sni_rank(&exact, Some("A.example.com")), Some(usize::MAX));
    assert_eq!(sni_rank(&exact, Some("b.example.com")), None);
    assert_eq!(sni_rank(&exact, None), None);
    assert!(
        sni_rank(&wildcard, Some("x.b.example.com")) < sni_rank(&deeper, Some("x.b.example.com"))
    );
    assert_eq!(sni_rank(&wildcard, Some("example.com")), None);
    assert_eq!(sni_rank(&wildcard, Some(".example.com")), None);
    assert_eq!(sni_rank(&[], None), Some(0));
    assert!(sni_rank(&[], Some("a.example.com")) < sni_rank(&wildcard, Some("a.example.com")));
}

/// A self-signed certificate and its key, PEM.
fn self_signed(host: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec![host.to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    (cert.pem(), key.serialize_pem())
}

fn tls_secret(name: &str, cert: &str, key: &str) -> TypedResource {
    use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
        Secret, TlsCertificate, secret,
    };
    let inline = |s: &str| {
        Some(DataSource {
            specifier: Some(data_source::Specifier::InlineBytes(s.as_bytes().to_vec())),
            ..Default::default()
        })
    };
    TypedResource::Secret(Box::new(Secret {
        name: name.into(),
        r#type: Some(secret::Type::TlsCertificate(TlsCertificate {
            certificate_chain: inline(cert),
            private_key: inline(key),
            ..Default::default()
        })),
    }))
}

#[tokio::test]
async fn sds_secrets_are_installed_replaced_and_a_bad_one_is_nacked_alone() {
    let (s, _) = shared(None);
    let (cert, key) = self_signed("a.example.com");
    s.apply(&update(
        TypeUrl::Secret,
        "s1",
        vec![tls_secret("kubernetes://a", &cert, &key)],
    ))
    .expect("a certificate and its key");
    let first = s.secrets.sds("kubernetes://a").expect("installed");
    assert!(first.certified.is_some());
    let (cert2, key2) = self_signed("a.example.com");
    let (_, other_key) = self_signed("b.example.com");
    // A key that is not the certificate's fails the whole response; the held secret stays.
    let err = s
        .apply(&update(
            TypeUrl::Secret,
            "s2",
            vec![
                tls_secret("kubernetes://a", &cert2, &key2),
                tls_secret("kubernetes://b", &cert2, &other_key),
            ],
        ))
        .expect_err("a mismatched key");
    assert!(err.contains("kubernetes://b"), "{err}");
    assert!(Arc::ptr_eq(
        &first,
        &s.secrets.sds("kubernetes://a").expect("kept")
    ));
    s.apply(&update(
        TypeUrl::Secret,
        "s3",
        vec![tls_secret("kubernetes://a", &cert2, &key2)],
    ))
    .expect("renewed");
    let renewed = s.secrets.sds("kubernetes://a").expect("renewed");
    assert!(!Arc::ptr_eq(&first, &renewed));
    // The dump shows it without its key.
    let dumped = s.secrets.dump();
    assert_eq!(dumped[0].resource.name, "kubernetes://a");
    assert_eq!(dumped[0].version_info, "s3");
    assert!(!format!("{:?}", dumped[0].resource).contains("PRIVATE"));
}

/// A TCP proxy listener of the control plane's `tcp_proxy()`.
fn tcp_listener(port: u32, cluster: &str) -> Listener {
    use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{
        TcpProxy as TcpProxyConfig, tcp_proxy,
    };
    let proxy = TcpProxyConfig {
        stat_prefix: cluster.into(),
        cluster_specifier: Some(tcp_proxy::ClusterSpecifier::Cluster(cluster.into())),
        ..Default::default()
    };
    one_filter_listener(port, "envoy.filters.network.tcp_proxy", &proxy)
}

#[tokio::test]
async fn a_tcp_proxy_listener_is_bound_and_a_chain_without_filters_is_not() {
    let (s, rec) = shared(None);
    let empty = Listener {
        filter_chains: vec![FilterChain::default()],
        ..tcp_listener(9001, "unused")
    };
    let empty = Listener {
        name: "0.0.0.0_9001".into(),
        ..empty
    };
    s.apply(&update(
        TypeUrl::Listener,
        "v1",
        vec![
            TypedResource::Listener(Box::new(tcp_listener(9000, "outbound|9000||db"))),
            TypedResource::Listener(Box::new(empty)),
        ],
    ))
    .expect("applies");
    assert_eq!(*rec.calls.lock().unwrap(), ["bind 0.0.0.0_9000"]);
    let runtime = s.runtime();
    let entry = &runtime.listeners["0.0.0.0_9000"];
    let Some(ChainFilter::Tcp(proxy)) = &entry.plain else {
        panic!("not a TCP chain: {:?}", entry.plain);
    };
    assert_eq!(proxy.clusters, [("outbound|9000||db".to_string(), 1)]);
    assert!(entry.hcm_for(None).is_none());
    // No routes are awaited for a TCP listener.
    assert_eq!(entry.hcms().count(), 0);
}

#[tokio::test]
async fn a_tcp_listener_that_cannot_be_bound_is_left_out_without_a_nack() {
    let (s, rec) = shared(Some(9090));
    s.apply(&update(
        TypeUrl::Listener,
        "v1",
        vec![
            TypedResource::Listener(Box::new(listener(8080, "8080"))),
            TypedResource::Listener(Box::new(tcp_listener(9090, "outbound|9090||db"))),
        ],
    ))
    .expect("the HTTP listener applies");
    assert_eq!(*rec.calls.lock().unwrap(), ["bind 0.0.0.0_8080"]);
    assert_eq!(s.bound().keys().collect::<Vec<_>>(), ["0.0.0.0_8080"]);
}

#[tokio::test]
async fn a_connection_keeps_its_runtime_only_once_its_listener_is_gone() {
    let (s, _) = shared(None);
    let lds = |version: &str, listeners: Vec<Listener>| {
        let resources = listeners
            .into_iter()
            .map(|l| TypedResource::Listener(Box::new(l)))
            .collect();
        s.apply(&update(TypeUrl::Listener, version, resources))
            .expect("applies");
    };
    lds("v1", vec![listener(8080, "8080"), listener(8081, "8081")]);
    let mut cache = s.runtime_cache();
    let mut early = s.runtime_cache();
    let started_with = s.runtime();
    assert!(Arc::ptr_eq(
        s.connection_runtime(&mut cache, "0.0.0.0_8080", None),
        &started_with
    ));

    // Another listener changes: the connection moves to the newest runtime.
    lds("v2", vec![listener(8080, "8080")]);
    let newest = s.runtime();
    assert!(Arc::ptr_eq(
        s.connection_runtime(&mut cache, "0.0.0.0_8080", None),
        &newest
    ));
    assert!(!cache.retired());

    // Its own listener turns into a TCP one: it keeps what it had, for good.
    lds("v3", vec![tcp_listener(8080, "outbound|8080||db")]);
    assert!(Arc::ptr_eq(
        s.connection_runtime(&mut cache, "0.0.0.0_8080", None),
        &newest
    ));
    assert!(cache.retired());
    lds("v4", vec![listener(8080, "8080")]);
    assert!(Arc::ptr_eq(
        s.connection_runtime(&mut cache, "0.0.0.0_8080", None),
        &newest
    ));

    // A connection whose runtime never had its listener has nothing to keep.
    let ghost = s.connection_runtime(&mut early, "0.0.0.0_9999", None);
    assert!(Arc::ptr_eq(ghost, &s.runtime()));
    assert!(!early.retired());
}
