//! Istio mTLS in the config: auto mTLS on outbound clusters (transport socket matches on the
//! endpoints' `tlsMode`), DestinationRule TLS modes, and the inbound chains of each mode.

use envoy_types::pb::envoy::config::core::v3::{TransportSocket, transport_socket};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    DownstreamTlsContext, UpstreamTlsContext, common_tls_context,
};
use prost::Message as _;

use super::*;
use crate::discovery::translate::tls::TRANSPORT_SOCKET_MATCH;

pub const REVIEWS: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v1, namespace: default}
spec:
  address: 10.0.0.1
  serviceAccount: bookinfo-reviews
  labels: {app: reviews, version: v1, security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-legacy, namespace: default}
spec:
  address: 10.0.0.2
  labels: {app: reviews, version: legacy}
";

const CLUSTER: &str = "outbound|9080||reviews.default.svc.cluster.local";

pub fn upstream(ts: &TransportSocket) -> UpstreamTlsContext {
    let Some(transport_socket::ConfigType::TypedConfig(any)) = &ts.config_type else {
        panic!("typed config");
    };
    assert_eq!(ts.name, "envoy.transport_sockets.tls");
    UpstreamTlsContext::decode(any.value.as_slice()).expect("upstream context")
}

#[allow(deprecated)]
pub fn sans(ctx: &UpstreamTlsContext) -> (Vec<String>, String) {
    let common = ctx.common_tls_context.as_ref().expect("common");
    let Some(common_tls_context::ValidationContextType::CombinedValidationContext(c)) =
        &common.validation_context_type
    else {
        panic!("combined validation context");
    };
    let sans = c
        .default_validation_context
        .as_ref()
        .expect("default")
        .match_subject_alt_names
        .iter()
        .map(|m| format!("{:?}", m.match_pattern))
        .collect();
    let root = c
        .validation_context_sds_secret_config
        .as_ref()
        .expect("root")
        .name
        .clone();
    (sans, root)
}

#[test]
fn auto_mtls_goes_to_endpoints_with_a_proxy_and_verifies_their_accounts() {
    let cfg = config_for(
        &push(REVIEWS),
        &sidecar("default", &[("app", "productpage")]),
    );
    let c = cluster(&cfg, CLUSTER);
    assert!(c.transport_socket.is_none());
    let names: Vec<&str> = c
        .transport_socket_matches
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["tlsMode-istio", "tlsMode-disabled"]);
    let istio = &c.transport_socket_matches[0];
    assert!(
        istio
            .r#match
            .as_ref()
            .expect("match")
            .fields
            .contains_key("tlsMode")
    );
    let ctx = upstream(istio.transport_socket.as_ref().expect("socket"));
    assert_eq!(
        ctx.sni,
        "outbound_.9080_._.reviews.default.svc.cluster.local"
    );
    let common = ctx.common_tls_context.as_ref().expect("common");
    assert_eq!(common.alpn_protocols, ["istio-peer-exchange", "istio"]);
    assert_eq!(common.tls_certificate_sds_secret_configs[0].name, "default");
    let (sans, root) = sans(&ctx);
    assert_eq!(
        sans,
        [r#"Some(Exact("spiffe://cluster.local/ns/default/sa/bookinfo-reviews"))"#]
    );
    assert_eq!(root, "ROOTCA");
    let disabled = &c.transport_socket_matches[1];
    assert!(disabled.r#match.as_ref().expect("match").fields.is_empty());
    assert_eq!(
        disabled.transport_socket.as_ref().expect("raw").name,
        "envoy.transport_sockets.raw_buffer"
    );
    // Only the endpoint whose workload runs a proxy is marked.
    let cla = load_assignment(&cfg, CLUSTER);
    let marked: Vec<bool> = cla.endpoints[0]
        .lb_endpoints
        .iter()
        .map(|e| {
            e.metadata
                .as_ref()
                .is_some_and(|m| m.filter_metadata.contains_key(TRANSPORT_SOCKET_MATCH))
        })
        .collect();
    assert_eq!(marked, [true, false]);
}

#[test]
fn a_destination_rule_tls_mode_decides_over_auto_mtls() {
    let rule = |tls: &str| {
        format!(
            "{REVIEWS}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews, namespace: default}}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy:
    tls: {tls}
"
        )
    };
    let proxy = sidecar("default", &[("app", "productpage")]);
    // DISABLE: plain text to every endpoint.
    let cfg = config_for(&push(&rule("{mode: DISABLE}")), &proxy);
    let c = cluster(&cfg, CLUSTER);
    assert!(c.transport_socket.is_none() && c.transport_socket_matches.is_empty());
    // ISTIO_MUTUAL: mTLS to every endpoint, the rule's SANs and SNI.
    let cfg = config_for(
        &push(&rule(
            "{mode: ISTIO_MUTUAL, sni: r.example, subjectAltNames: [spiffe://cluster.local/ns/x/sa/y]}",
        )),
        &proxy,
    );
    let c = cluster(&cfg, CLUSTER);
    assert!(c.transport_socket_matches.is_empty());
    let ctx = upstream(c.transport_socket.as_ref().expect("tls for all"));
    assert_eq!(ctx.sni, "r.example");
    assert_eq!(
        sans(&ctx).0,
        [r#"Some(Exact("spiffe://cluster.local/ns/x/sa/y"))"#]
    );
    // SIMPLE with a CA file: the file's root, the service's host as SNI.
    let cfg = config_for(
        &push(&rule("{mode: SIMPLE, caCertificates: /etc/certs/ca.pem}")),
        &proxy,
    );
    let ctx = upstream(
        cluster(&cfg, CLUSTER)
            .transport_socket
            .as_ref()
            .expect("tls"),
    );
    assert_eq!(ctx.sni, "reviews.default.svc.cluster.local");
    assert_eq!(sans(&ctx).1, "file-root:/etc/certs/ca.pem");
    assert!(
        ctx.common_tls_context
            .as_ref()
            .expect("common")
            .tls_certificate_sds_secret_configs
            .is_empty()
    );
    // MUTUAL: the client certificate from files too; without them, no TLS and a note.
    let cfg = config_for(
        &push(&rule(
            "{mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem}",
        )),
        &proxy,
    );
    let ctx = upstream(
        cluster(&cfg, CLUSTER)
            .transport_socket
            .as_ref()
            .expect("tls"),
    );
    assert_eq!(
        ctx.common_tls_context
            .as_ref()
            .expect("common")
            .tls_certificate_sds_secret_configs[0]
            .name,
        "file-cert:/c.pem~/k.pem"
    );
    // (A MUTUAL rule without them does not pass validation.)
    let rejected = push(&rule("{mode: MUTUAL, caCertificates: /ca.pem}"));
    assert_eq!(rejected.rejected().len(), 1);
}

#[test]
fn services_outside_the_mesh_and_a_mesh_without_auto_mtls_get_plain_text() {
    let external = REVIEWS.replace("MESH_INTERNAL", "MESH_EXTERNAL");
    let cfg = config_for(&push(&external), &sidecar("default", &[]));
    assert!(cluster(&cfg, CLUSTER).transport_socket_matches.is_empty());
    let mesh = MeshOptions {
        enable_auto_mtls: false,
        ..MeshOptions::default()
    };
    let push = PushContext::new(&store(REVIEWS), mesh);
    let cfg = config_for(&push, &sidecar("default", &[]));
    assert!(cluster(&cfg, CLUSTER).transport_socket_matches.is_empty());
}

pub fn downstream(ts: &TransportSocket) -> DownstreamTlsContext {
    let Some(transport_socket::ConfigType::TypedConfig(any)) = &ts.config_type else {
        panic!("typed config");
    };
    DownstreamTlsContext::decode(any.value.as_slice()).expect("downstream context")
}

#[test]
fn a_permissive_inbound_port_terminates_istio_mtls_and_takes_plain_text() {
    let cfg = config_for(
        &push(REVIEWS),
        &Proxy {
            ip: Some("10.0.0.1".parse().expect("ip")),
            ..sidecar("default", &[("app", "reviews"), ("version", "v1")])
        },
    );
    let l = listener(&cfg, "virtualInbound");
    let filters: Vec<&str> = l.listener_filters.iter().map(|f| f.name.as_str()).collect();
    assert!(
        filters.contains(&"envoy.filters.listener.tls_inspector"),
        "{filters:?}"
    );
    let chains: Vec<(&str, bool)> = l
        .filter_chains
        .iter()
        .filter(|c| {
            c.filter_chain_match
                .as_ref()
                .and_then(|m| m.destination_port.as_ref())
                .map(|p| p.value)
                == Some(9080)
        })
        .map(|c| {
            (
                c.filter_chain_match
                    .as_ref()
                    .expect("match")
                    .transport_protocol
                    .as_str(),
                c.transport_socket.is_some(),
            )
        })
        .collect();
    assert_eq!(chains, [("tls", true), ("raw_buffer", false)]);
    let tls_chain = l
        .filter_chains
        .iter()
        .find(|c| c.transport_socket.is_some())
        .expect("tls chain");
    let ctx = downstream(tls_chain.transport_socket.as_ref().expect("socket"));
    assert_eq!(ctx.require_client_certificate.map(|b| b.value), Some(true));
    let common = ctx.common_tls_context.expect("common");
    assert_eq!(common.tls_certificate_sds_secret_configs[0].name, "default");
    assert_eq!(common.alpn_protocols, ["h2", "http/1.1"]);
    assert_eq!(
        tls_chain
            .filter_chain_match
            .as_ref()
            .expect("match")
            .application_protocols,
        [
            "istio",
            "istio-peer-exchange",
            "istio-http/1.0",
            "istio-http/1.1",
            "istio-h2"
        ]
    );
}

fn chain_protocols(
    l: &envoy_types::pb::envoy::config::listener::v3::Listener,
    port: u32,
) -> Vec<String> {
    l.filter_chains
        .iter()
        .filter_map(|c| c.filter_chain_match.as_ref())
        .filter(|m| m.destination_port.as_ref().map(|p| p.value) == Some(port))
        .map(|m| m.transport_protocol.clone())
        .collect()
}

#[test]
fn peer_authentication_shapes_inbound_chains_and_clients_auto_mtls() {
    let policies = "---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  portLevelMtls:
    9080: {mode: DISABLE}
";
    let reviews = |ip: &str| Proxy {
        ip: Some(ip.parse().expect("ip")),
        ..sidecar("default", &[("app", "reviews"), ("version", "v1")])
    };
    // STRICT from the mesh: only the mTLS chain.
    let strict = push(&format!("{REVIEWS}{}", &policies[..policies.find("---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: reviews").expect("split")]));
    let cfg = config_for(&strict, &reviews("10.0.0.1"));
    assert_eq!(
        chain_protocols(listener(&cfg, "virtualInbound"), 9080),
        ["tls"]
    );
    // The workload's port-level DISABLE: only plain text on that port.
    let cfg = config_for(&push(&format!("{REVIEWS}{policies}")), &reviews("10.0.0.1"));
    assert_eq!(
        chain_protocols(listener(&cfg, "virtualInbound"), 9080),
        [""]
    );
    // Clients keep auto mTLS to a STRICT namespace, and drop it for a DISABLE one.
    let cfg = config_for(&strict, &sidecar("default", &[("app", "productpage")]));
    assert_eq!(cluster(&cfg, CLUSTER).transport_socket_matches.len(), 2);
    let disabled = format!(
        "{REVIEWS}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: default, namespace: default}}
spec:
  mtls: {{mode: DISABLE}}
"
    );
    let cfg = config_for(
        &push(&disabled),
        &sidecar("default", &[("app", "productpage")]),
    );
    assert!(cluster(&cfg, CLUSTER).transport_socket_matches.is_empty());
}
