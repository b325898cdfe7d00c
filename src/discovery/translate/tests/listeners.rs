//! Sidecar listeners: outbound HTTP and TCP, and the virtual listeners.

use envoy_types::pb::envoy::config::listener::v3::filter;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager,
};
use prost::Message;

use super::*;

const YAML: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.1.1
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: 10.96.1.2
  selector: {app: db}
  ports: [{name: tcp-postgres, port: 5432}]
"#;

fn hcm(l: &Listener) -> HttpConnectionManager {
    let Some(filter::ConfigType::TypedConfig(any)) = &l.filter_chains[0].filters[0].config_type
    else {
        panic!("typed config");
    };
    HttpConnectionManager::decode(any.value.as_slice()).expect("decodes")
}

#[test]
fn outbound_http_listeners_use_rds_named_by_port_and_end_in_the_router() {
    let cfg = config_for(&push(YAML), &sidecar("shop", &[("app", "client")]));
    let l = listener(&cfg, "0.0.0.0_80");
    assert_eq!(l.bind_to_port.as_ref().map(|b| b.value), Some(false));
    let h = hcm(l);
    // Envoy's default name (`envoy`): Istio names only the other listener classes.
    assert_eq!(h.server_name, "");
    assert!(matches!(
        &h.route_specifier,
        Some(http_connection_manager::RouteSpecifier::Rds(r)) if r.route_config_name == "80"
    ));
    let filters: Vec<&str> = h.http_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        filters,
        vec!["envoy.filters.http.fault", "envoy.filters.http.router"]
    );
    route_config(&cfg, "80");
    // TCP ports get a TCP proxy on the service address.
    let tcp = listener(&cfg, "10.96.1.2_5432");
    assert_eq!(
        tcp.filter_chains[0].filters[0].name,
        "envoy.filters.network.tcp_proxy"
    );
    assert!(!cfg.routes.iter().any(|r| r.name == "5432"));
    listener(&cfg, "virtualOutbound");
}

#[test]
fn outbound_listeners_bind_when_asked() {
    let cfg = translate(
        &push(YAML),
        &sidecar("shop", &[]),
        &TranslateOptions {
            no_capture: true,
            ..TranslateOptions::default()
        },
    );
    assert_eq!(listener(&cfg, "0.0.0.0_80").bind_to_port, None);
}

#[test]
fn the_virtual_inbound_listener_serves_the_proxys_own_ports() {
    let cfg = config_for(&push(YAML), &sidecar("shop", &[("app", "web")]));
    let l = listener(&cfg, "virtualInbound");
    let chain = l
        .filter_chains
        .iter()
        .find(|c| c.name == "0.0.0.0_8080")
        .expect("a chain for the application port");
    assert_eq!(
        chain
            .filter_chain_match
            .as_ref()
            .and_then(|m| m.destination_port.as_ref())
            .map(|p| p.value),
        Some(8080)
    );
    let Some(filter::ConfigType::TypedConfig(any)) = &chain.filters[0].config_type else {
        panic!("typed config");
    };
    let h = HttpConnectionManager::decode(any.value.as_slice()).expect("decodes");
    assert_eq!(h.server_name, "istio-envoy");
    let Some(http_connection_manager::RouteSpecifier::RouteConfig(rc)) = h.route_specifier else {
        panic!("inline route");
    };
    assert_eq!(rc.name, "inbound|8080||");
    assert_eq!(
        destinations(&rc.virtual_hosts[0].routes[0]),
        vec![("inbound|8080||".into(), 100)]
    );
    assert_eq!(
        l.filter_chains.last().map(|c| c.name.as_str()),
        Some("InboundPassthroughFilterChain")
    );
    // A client with no services of its own has only the passthrough chain.
    let client = config_for(&push(YAML), &sidecar("shop", &[("app", "client")]));
    assert_eq!(listener(&client, "virtualInbound").filter_chains.len(), 1);
}

#[test]
fn registry_only_blocks_unknown_hosts() {
    let yaml = format!(
        "{YAML}---\n{}",
        r#"apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
  egress: [{hosts: ["./*"]}]
"#
    );
    let cfg = config_for(&push(&yaml), &sidecar("shop", &[]));
    let rc = route_config(&cfg, "80");
    let last = rc.virtual_hosts.last().expect("catch-all");
    assert_eq!(last.name, "block_all");
    assert!(matches!(
        &last.routes[0].action,
        Some(route::Action::DirectResponse(d)) if d.status == 502
    ));
    let vo = listener(&cfg, "virtualOutbound");
    let Some(filter::ConfigType::TypedConfig(any)) = &vo.filter_chains[0].filters[0].config_type
    else {
        panic!("typed config");
    };
    let tcp =
        envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::decode(
            any.value.as_slice(),
        )
        .expect("decodes");
    assert_eq!(tcp.stat_prefix, "BlackHoleCluster");
}

#[test]
fn proxy_headers_name_the_server_and_the_client_cert_on_both_sides() {
    use crate::discovery::mesh::{ProxyHeaders, ServerHeaderPolicy};
    let with = |headers: ProxyHeaders| {
        let mesh = MeshOptions {
            proxy_headers: headers,
            ..Default::default()
        };
        let push = PushContext::new(&store(YAML), mesh);
        config_for(&push, &sidecar("shop", &[("app", "web")]))
    };
    let inbound = |cfg: &ProxyConfig| {
        let chain = listener(cfg, "virtualInbound")
            .filter_chains
            .iter()
            .find(|c| c.name == "0.0.0.0_8080")
            .expect("a chain for the application port")
            .clone();
        let Some(filter::ConfigType::TypedConfig(any)) = &chain.filters[0].config_type else {
            panic!("typed config");
        };
        HttpConnectionManager::decode(any.value.as_slice()).expect("decodes")
    };
    use http_connection_manager::{ForwardClientCertDetails as D, ServerHeaderTransformation as T};

    // A name is every listener's, the outbound side's too.
    let cfg = with(ProxyHeaders {
        server: ServerHeaderPolicy::Named("shop/2".into()),
        forwarded_client_cert: Some(D::Sanitize),
        ..ProxyHeaders::default()
    });
    assert_eq!(hcm(listener(&cfg, "0.0.0.0_80")).server_name, "shop/2");
    let h = inbound(&cfg);
    assert_eq!(h.server_name, "shop/2");
    assert_eq!(h.forward_client_cert_details, D::Sanitize as i32);

    // Disabled: the application's own `server` passes through, inbound as well.
    let cfg = with(ProxyHeaders {
        server: ServerHeaderPolicy::Disabled,
        ..ProxyHeaders::default()
    });
    let h = inbound(&cfg);
    assert_eq!(
        (h.server_name.as_str(), h.server_header_transformation),
        ("", T::PassThrough as i32)
    );
    assert_eq!(h.forward_client_cert_details, D::AppendForward as i32);
    let h = hcm(listener(&cfg, "0.0.0.0_80"));
    assert_eq!(h.server_header_transformation, T::PassThrough as i32);
}
