//! Handshakes between the proxy's client and server configs over in-memory streams.

use std::time::{Duration, SystemTime};

use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    DownstreamTlsContext, UpstreamTlsContext,
};
use prost::Message as _;
use rustls::pki_types::PrivatePkcs8KeyDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::discovery::ca::{CertTtl, CertificateAuthority};
use crate::discovery::translate::tls::{ClientTls, inbound_mtls_socket, upstream_socket};

fn issue(ca: &CertificateAuthority, identity: &str) -> (Vec<String>, PrivatePkcs8KeyDer<'static>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    let chain = ca
        .sign(
            &csr,
            &identity.parse().expect("spiffe"),
            Duration::from_secs(3600),
        )
        .expect("signed");
    (chain, PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn store(ca: &CertificateAuthority, identity: &str) -> Arc<SecretStore> {
    let store = Arc::new(SecretStore::default());
    let (chain, key) = issue(ca, identity);
    store
        .install(&chain, key, SystemTime::now())
        .expect("installed");
    store
}

fn ca() -> CertificateAuthority {
    CertificateAuthority::load_or_create(None, "cluster.local", CertTtl::default()).expect("ca")
}

/// The proxy's own upstream and downstream contexts, as the control plane writes them.
fn client(sans: &[&str], secrets: &Arc<SecretStore>) -> UpstreamTls {
    let socket = upstream_socket(
        &ClientTls::IstioMutual {
            sans: sans.iter().map(|s| s.to_string()).collect(),
            sni: "outbound_.80_._.b.default.svc.cluster.local".into(),
        },
        false,
    );
    let Some(envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(
        any,
    )) = socket.config_type
    else {
        panic!("typed config");
    };
    let ctx = UpstreamTlsContext::decode(any.value.as_slice()).expect("context");
    UpstreamSpec::compile(&ctx)
        .expect("spec")
        .build(secrets)
        .expect("client")
}

fn server(secrets: &Arc<SecretStore>) -> DownstreamTls {
    let socket = inbound_mtls_socket();
    let Some(envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(
        any,
    )) = socket.config_type
    else {
        panic!("typed config");
    };
    let ctx = DownstreamTlsContext::decode(any.value.as_slice()).expect("context");
    DownstreamTls::compile(&ctx, secrets).expect("server")
}

/// One handshake and a ping: the server's view of the peer, or the client's error.
async fn handshake(
    client: &UpstreamTls,
    server: &DownstreamTls,
    server_secrets: &Arc<SecretStore>,
) -> Result<(PeerTls, Option<String>), String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(server.config.clone());
    let secrets = server_secrets.clone();
    let served = tokio::spawn(async move {
        let mut tls = acceptor.accept(b).await.map_err(|e| e.to_string())?;
        let peer = PeerTls::of(tls.get_ref().1, &secrets);
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(peer)
    });
    let connector = tokio_rustls::TlsConnector::from(client.config.clone());
    let mut tls = connector
        .connect(client.server_name.clone(), a)
        .await
        .map_err(|e| format!("client: {e}"))?;
    let server_uri = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| pem::cert_info(c).ok())
        .and_then(|i| i.uri_sans.first().cloned());
    tls.write_all(b"ping")
        .await
        .map_err(|e| format!("client: {e}"))?;
    tls.flush().await.map_err(|e| format!("client: {e}"))?;
    let mut buf = [0u8; 4];
    tls.read_exact(&mut buf)
        .await
        .map_err(|e| format!("client: {e}"))?;
    let peer = served
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("server: {e}"))?;
    Ok((peer, server_uri))
}

const A: &str = "spiffe://cluster.local/ns/default/sa/a";
const B: &str = "spiffe://cluster.local/ns/default/sa/b";

#[tokio::test]
async fn sidecars_verify_each_other_by_spiffe_identity() {
    let ca = ca();
    let (a, b) = (store(&ca, A), store(&ca, B));
    let (peer, server_uri) = handshake(&client(&[B], &a), &server(&b), &b)
        .await
        .expect("mutual TLS");
    assert_eq!(server_uri.as_deref(), Some(B));
    assert_eq!(peer.peer_uri.as_deref(), Some(A));
    assert_eq!(peer.local_uri.as_deref(), Some(B));
    assert!(peer.is_mutual());
    assert_eq!(peer.peer_hash.len(), 64);
    assert_eq!(
        peer.xfcc(),
        format!("By={B};Hash={};Subject=\"\";URI={A}", peer.peer_hash)
    );
    // Without SANs to match, any identity of the mesh is accepted.
    handshake(&client(&[], &a), &server(&b), &b)
        .await
        .expect("chain only");
}

#[tokio::test]
async fn a_server_with_another_identity_is_refused() {
    let ca = ca();
    let (a, b) = (store(&ca, A), store(&ca, B));
    let err = handshake(
        &client(&["spiffe://cluster.local/ns/default/sa/c"], &a),
        &server(&b),
        &b,
    )
    .await
    .expect_err("wrong identity");
    assert!(err.starts_with("client:"), "{err}");
}

#[tokio::test]
async fn peers_of_another_root_are_refused_both_ways() {
    let (ca1, ca2) = (ca(), ca());
    let (a, b) = (store(&ca1, A), store(&ca2, B));
    assert!(handshake(&client(&[B], &a), &server(&b), &b).await.is_err());
    assert!(handshake(&client(&[], &b), &server(&a), &a).await.is_err());
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let ca = ca();
    let b = store(&ca, B);
    // The client trusts the root but has no certificate of its own.
    let anonymous = Arc::new(SecretStore::default());
    let (chain, key) = issue(&ca, A);
    anonymous
        .install(&chain, key, SystemTime::now())
        .expect("installed");
    let spec = UpstreamSpec {
        cert: None,
        ..client(&[B], &anonymous).spec
    };
    let client = spec.build(&anonymous).expect("client");
    let err = handshake(&client, &server(&b), &b)
        .await
        .expect_err("no client cert");
    assert!(err.contains("server") || err.contains("client"), "{err}");
}

#[tokio::test]
async fn a_renewed_certificate_serves_the_next_handshake() {
    let ca = ca();
    let (a, b) = (store(&ca, A), store(&ca, B));
    let (mut client, server) = (client(&[B], &a), server(&b));
    // Resumed sessions skip certificates: every handshake here is a full one, as a new
    // connection's after the ticket expires.
    let mut config = (*client.config).clone();
    config.resumption = rustls::client::Resumption::disabled();
    client.config = Arc::new(config);
    let first = handshake(&client, &server, &b)
        .await
        .expect("tls")
        .0
        .peer_hash;
    let (chain, key) = issue(&ca, A);
    a.install(&chain, key, SystemTime::now()).expect("renewed");
    let second = handshake(&client, &server, &b)
        .await
        .expect("tls")
        .0
        .peer_hash;
    assert_ne!(first, second, "the new certificate was presented");
}

#[test]
fn secrets_over_ads_are_sds_and_other_sources_are_refused_at_compile() {
    use envoy_types::pb::envoy::config::core::v3::{
        AggregatedConfigSource, ApiConfigSource, ConfigSource, config_source,
    };
    let ctx = |source: Option<config_source::ConfigSourceSpecifier>| UpstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_certificate_sds_secret_configs: vec![SdsSecretConfig {
                name: "kubernetes://my-cert".into(),
                sds_config: source.map(|s| ConfigSource {
                    config_source_specifier: Some(s),
                    ..Default::default()
                }),
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let ads = config_source::ConfigSourceSpecifier::Ads(AggregatedConfigSource::default());
    assert_eq!(
        UpstreamSpec::compile(&ctx(Some(ads))).map(|s| s.cert),
        Ok(Some(CertSource::Sds("kubernetes://my-cert".into())))
    );
    // Istio's sidecars name their agent's SDS socket: a server Ferry's proxy cannot ask.
    let api = config_source::ConfigSourceSpecifier::ApiConfigSource(ApiConfigSource::default());
    assert_eq!(
        UpstreamSpec::compile(&ctx(Some(api))),
        Err(TlsError::UnsupportedSecret("kubernetes://my-cert".into()))
    );
}
