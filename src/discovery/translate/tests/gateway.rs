//! Gateways: the seed's bookinfo Gateway, port mapping, host intersection and namespaces.

use envoy_types::pb::envoy::config::core::v3::transport_socket;
use envoy_types::pb::envoy::config::listener::v3::filter;
use envoy_types::pb::envoy::config::route::v3::virtual_host::TlsRequirementType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext;
use prost::Message;

use super::*;
use crate::discovery::translate::PortMapping;

/// The seed's gateway file, and the productpage Service it routes to.
fn bookinfo_store() -> crate::config::store::Store {
    let gateway = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/seed/bookinfo-gateway.yaml"
    ))
    .expect("seed fixture");
    let service = r#"
apiVersion: v1
kind: Service
metadata: {name: productpage}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080}]
"#;
    store(&format!("{gateway}\n---\n{service}"))
}

fn bookinfo() -> PushContext {
    let push = PushContext::new(&bookinfo_store(), MeshOptions::default());
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    push
}

fn ingress() -> Proxy {
    router(
        "istio-system",
        &[("istio", "ingressgateway"), ("app", "istio-ingressgateway")],
    )
}

fn with_ports(push: &PushContext, proxy: &Proxy, ports: PortMapping) -> ProxyConfig {
    translate(
        push,
        proxy,
        &TranslateOptions {
            gateway_ports: ports,
            ..TranslateOptions::default()
        },
    )
}

#[test]
fn trusted_proxies_in_front_of_gateways_are_their_trusted_hops() {
    let mesh = MeshOptions {
        num_trusted_proxies: 2,
        ..Default::default()
    };
    let push = PushContext::new(&bookinfo_store(), mesh);
    let cfg = with_ports(&push, &ingress(), PortMapping::istio_ingress());
    let h = hcm(listener(&cfg, "0.0.0.0_8080"), 0);
    assert_eq!(h.use_remote_address.map(|b| b.value), Some(true));
    assert_eq!(h.xff_num_trusted_hops, 2);
    // Sidecars are not the edge: the setting is the gateways' only.
    let cfg = with_ports(&push, &sidecar("default", &[]), PortMapping::identity());
    let mut checked = 0;
    for l in &cfg.listeners {
        for chain in &l.filter_chains {
            for f in &chain.filters {
                if let Some(filter::ConfigType::TypedConfig(any)) = &f.config_type
                    && let Ok(h) = HttpConnectionManager::decode(any.value.as_slice())
                    && any.type_url.ends_with("HttpConnectionManager")
                {
                    assert_eq!(h.xff_num_trusted_hops, 0, "{}", l.name);
                    assert_ne!(h.use_remote_address.map(|b| b.value), Some(true));
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 0, "the sidecar has HTTP listeners to check");
}

#[test]
fn gateways_answer_as_istio_envoy() {
    // Istio's `ProxyHeaders.ServerName` for every listener class but a sidecar's outbound one
    // (see `tests::listeners` for those).
    let cfg = with_ports(&bookinfo(), &ingress(), PortMapping::istio_ingress());
    assert_eq!(
        hcm(listener(&cfg, "0.0.0.0_8080"), 0).server_name,
        "istio-envoy"
    );
}

#[test]
fn proxy_headers_reach_the_connection_manager_router_and_virtual_hosts() {
    use crate::discovery::mesh::{ProxyHeaders, ServerHeaderPolicy};
    use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter;
    let router_of = |h: &HttpConnectionManager| {
        let f = h.http_filters.last().expect("the router is last");
        let Some(http_filter::ConfigType::TypedConfig(any)) = &f.config_type else {
            panic!("typed config");
        };
        Router::decode(any.value.as_slice()).expect("decodes")
    };
    // Istio's defaults: nothing suppressed, Envoy's own defaults left unset.
    let cfg = with_ports(&bookinfo(), &ingress(), PortMapping::istio_ingress());
    let h = hcm(listener(&cfg, "0.0.0.0_8080"), 0);
    assert_eq!(h.generate_request_id, None);
    assert_eq!(
        h.server_header_transformation,
        http_connection_manager::ServerHeaderTransformation::Overwrite as i32
    );
    assert!(!router_of(&h).suppress_envoy_headers);
    let rc = route_config(&cfg, rds_name(&h));
    assert!(
        rc.virtual_hosts
            .iter()
            .all(|v| v.include_request_attempt_count)
    );

    let off = MeshOptions {
        proxy_headers: ProxyHeaders {
            server: ServerHeaderPolicy::Disabled,
            request_id: false,
            attempt_count: false,
            envoy_debug_headers: false,
            forwarded_client_cert: None,
        },
        ..Default::default()
    };
    let push = PushContext::new(&bookinfo_store(), off);
    let cfg = with_ports(&push, &ingress(), PortMapping::istio_ingress());
    let h = hcm(listener(&cfg, "0.0.0.0_8080"), 0);
    assert_eq!(h.server_name, "");
    assert_eq!(
        h.server_header_transformation,
        http_connection_manager::ServerHeaderTransformation::PassThrough as i32
    );
    assert_eq!(h.generate_request_id.map(|b| b.value), Some(false));
    assert!(router_of(&h).suppress_envoy_headers);
    let rc = route_config(&cfg, rds_name(&h));
    assert!(!rc.virtual_hosts.is_empty());
    assert!(
        rc.virtual_hosts
            .iter()
            .all(|v| !v.include_request_attempt_count)
    );

    let named = MeshOptions {
        proxy_headers: ProxyHeaders {
            server: ServerHeaderPolicy::Named("edge/1".into()),
            ..ProxyHeaders::default()
        },
        ..Default::default()
    };
    let push = PushContext::new(&bookinfo_store(), named);
    let cfg = with_ports(&push, &ingress(), PortMapping::istio_ingress());
    assert_eq!(hcm(listener(&cfg, "0.0.0.0_8080"), 0).server_name, "edge/1");
}

fn hcm(l: &Listener, chain: usize) -> HttpConnectionManager {
    let f = &l.filter_chains[chain].filters[0];
    let Some(filter::ConfigType::TypedConfig(any)) = &f.config_type else {
        panic!("typed config");
    };
    HttpConnectionManager::decode(any.value.as_slice()).expect("decodes")
}

fn rds_name(h: &HttpConnectionManager) -> &str {
    match &h.route_specifier {
        Some(http_connection_manager::RouteSpecifier::Rds(r)) => &r.route_config_name,
        other => panic!("not RDS: {other:?}"),
    }
}

#[test]
fn bookinfo_gateway_http_server_routes_productpage() {
    let cfg = with_ports(&bookinfo(), &ingress(), PortMapping::istio_ingress());
    let l = listener(&cfg, "0.0.0.0_8080");
    assert_eq!(rds_name(&hcm(l, 0)), "http.8080");
    assert_eq!(hcm(l, 0).use_remote_address.map(|b| b.value), Some(true));
    assert_eq!(
        hcm(l, 0).xff_num_trusted_hops,
        0,
        "no trusted proxy in front"
    );
    let rc = route_config(&cfg, "http.8080");
    assert!(rc.ignore_port_in_host_matching);
    let vh = vhost(rc, "bookinfo.example.com:80");
    assert_eq!(
        vh.domains,
        vec!["bookinfo.example.com", "bookinfo.example.com:*"]
    );
    assert_eq!(vh.routes.len(), 1);
    let r = &vh.routes[0];
    assert_eq!(
        r.r#match.as_ref().and_then(|m| m.path_specifier.clone()),
        Some(
            envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier::Prefix(
                "/productpage".into()
            )
        )
    );
    assert_eq!(
        destinations(r),
        vec![(
            "outbound|9080||productpage.default.svc.cluster.local".into(),
            100
        )]
    );
    assert_eq!(
        route_vs_config(r),
        Some("/apis/networking.istio.io/v1/namespaces/default/virtual-service/bookinfo")
    );
    cluster(&cfg, "outbound|9080||productpage.default.svc.cluster.local");
}

#[test]
fn bookinfo_gateway_https_server_terminates_tls_with_its_credential() {
    let cfg = with_ports(&bookinfo(), &ingress(), PortMapping::istio_ingress());
    let l = listener(&cfg, "0.0.0.0_8443");
    assert_eq!(
        l.listener_filters[0].name,
        "envoy.filters.listener.tls_inspector"
    );
    let chain = &l.filter_chains[0];
    assert_eq!(
        chain
            .filter_chain_match
            .as_ref()
            .map(|m| m.server_names.clone()),
        Some(vec!["bookinfo.example.com".to_string()])
    );
    let Some(transport_socket::ConfigType::TypedConfig(any)) = chain
        .transport_socket
        .as_ref()
        .and_then(|t| t.config_type.clone())
    else {
        panic!("tls transport socket");
    };
    let tls = DownstreamTlsContext::decode(any.value.as_slice()).expect("decodes");
    let common = tls.common_tls_context.expect("common context");
    assert_eq!(
        common.tls_certificate_sds_secret_configs[0].name,
        "kubernetes://bookinfo-credential"
    );
    let name = "https.443.https.bookinfo-gateway.default";
    assert_eq!(rds_name(&hcm(l, 0)), name);
    vhost(route_config(&cfg, name), "bookinfo.example.com:443");
}

/// The seed's gateway with `bookinfo-credential` in `namespace`.
fn bookinfo_with_credential(namespace: &str) -> PushContext {
    let gateway = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/seed/bookinfo-gateway.yaml"
    ))
    .expect("seed fixture");
    let secret = format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: bookinfo-credential, namespace: {namespace}}}
type: kubernetes.io/tls
stringData: {{tls.crt: CERT, tls.key: KEY}}
"#
    );
    push(&format!("{gateway}\n---\n{secret}"))
}

#[test]
fn the_gateway_gets_the_credential_of_its_own_namespace_over_sds() {
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::secret;
    let cfg = with_ports(
        &bookinfo_with_credential("istio-system"),
        &ingress(),
        PortMapping::istio_ingress(),
    );
    let names: Vec<&str> = cfg.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["kubernetes://bookinfo-credential"]);
    let Some(secret::Type::TlsCertificate(t)) = &cfg.secrets[0].r#type else {
        panic!("a certificate: {:?}", cfg.secrets[0]);
    };
    assert!(t.private_key.is_some() && t.certificate_chain.is_some());
    assert!(
        cfg.notes.iter().all(|n| !n.contains("credential")),
        "{:?}",
        cfg.notes
    );
    // Sidecars never get gateway credentials.
    let sidecar = translate(
        &bookinfo_with_credential("default"),
        &Proxy {
            namespace: "default".into(),
            ..Proxy::default()
        },
        &TranslateOptions::default(),
    );
    assert!(sidecar.secrets.is_empty());
}

#[test]
fn a_credential_in_another_namespace_is_not_served_and_is_noted() {
    let cfg = with_ports(
        &bookinfo_with_credential("default"),
        &ingress(),
        PortMapping::istio_ingress(),
    );
    assert!(cfg.secrets.is_empty(), "{:?}", cfg.secrets);
    assert!(
        cfg.notes
            .iter()
            .any(|n| n.contains("kubernetes://bookinfo-credential")
                && n.contains("namespace istio-system")),
        "{:?}",
        cfg.notes
    );
}

#[test]
fn without_a_port_mapping_gateways_bind_the_server_ports() {
    let cfg = config_for(&bookinfo(), &ingress());
    assert_eq!(rds_name(&hcm(listener(&cfg, "0.0.0.0_80"), 0)), "http.80");
    listener(&cfg, "0.0.0.0_443");
    let offset = with_ports(&bookinfo(), &ingress(), PortMapping::offset(10000));
    listener(&offset, "0.0.0.0_10080");
    route_config(&offset, "http.10080");
}

#[test]
fn gateways_only_serve_proxies_they_select() {
    let cfg = config_for(
        &bookinfo(),
        &router("istio-system", &[("istio", "egressgateway")]),
    );
    assert!(cfg.listeners.is_empty() && cfg.routes.is_empty());
    // A sidecar never gets the gateway-bound VirtualService's routes.
    let sc = config_for(&bookinfo(), &sidecar("default", &[]));
    let rc = route_config(&sc, "9080");
    assert!(
        !rc.virtual_hosts
            .iter()
            .any(|v| v.name.starts_with("bookinfo.example.com"))
    );
}

const SHOP: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
    tls: {httpsRedirect: true}
  - port: {number: 8000, name: http-internal, protocol: HTTP}
    hosts: ["other/*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [edge]
  http:
  - route: [{destination: {host: web}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [shop/edge]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: web}}]
"#;

#[test]
fn server_hosts_intersect_virtual_service_hosts_and_namespaces() {
    let push = push(SHOP);
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    let cfg = config_for(&push, &ingress());
    let rc = route_config(&cfg, "http.80");
    let names: Vec<&str> = rc.virtual_hosts.iter().map(|v| v.name.as_str()).collect();
    // `*` meets `*.example.com` as `*.example.com`; `shop.example.com` is inside it.
    assert_eq!(names, vec!["*.example.com:80", "shop.example.com:80"]);
    let vh = vhost(rc, "shop.example.com:80");
    assert_eq!(vh.require_tls, TlsRequirementType::All as i32);
    assert_eq!(vh.routes.len(), 1);
    assert!(route_vs_config(&vh.routes[0]).is_some_and(|p| p.ends_with("/shop")));
    let wild = vhost(rc, "*.example.com:80");
    assert_eq!(wild.domains, vec!["*.example.com", "*.example.com:*"]);
    assert!(route_vs_config(&wild.routes[0]).is_some_and(|p| p.ends_with("/wild")));
    // The second server admits only namespace `other`: nothing routes, every request is a 404.
    let internal = route_config(&cfg, "http.8000");
    assert_eq!(internal.virtual_hosts.len(), 1);
    assert_eq!(internal.virtual_hosts[0].domains, vec!["*"]);
    assert!(internal.virtual_hosts[0].routes.is_empty());
}
