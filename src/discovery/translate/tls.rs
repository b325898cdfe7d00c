//! TLS as Istio writes it into clusters and listeners (`cluster_tls.go`,
//! `pilot/pkg/security/model`): secrets by SDS name (`default`, `ROOTCA`, and `file-cert:` /
//! `file-root:` for certificates a DestinationRule names by path), the upstream context of each
//! `trafficPolicy.tls` mode, auto mTLS's transport socket matches, and the inbound mTLS context.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::cluster::v3::cluster::TransportSocketMatch;
use envoy_types::pb::envoy::config::core::v3::{
    ApiConfigSource, ApiVersion, ConfigSource, GrpcService, Metadata, TransportSocket,
    api_config_source, config_source, grpc_service, transport_socket,
};
use envoy_types::pb::envoy::extensions::transport_sockets::raw_buffer::v3::RawBuffer;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, CommonTlsContext, DownstreamTlsContext, SdsSecretConfig,
    TlsParameters, UpstreamTlsContext, common_tls_context, tls_parameters,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use envoy_types::pb::google::protobuf::{Struct, Value, value};

use super::names;
use super::proto::{boolean, no_timeout, pack};

/// The SDS name of the workload certificate.
pub const SDS_DEFAULT: &str = "default";
/// The SDS name of the mesh's roots.
pub const SDS_ROOTCA: &str = "ROOTCA";
/// The cluster of Istio's bootstrap that reaches the agent's SDS server.
const SDS_CLUSTER: &str = "sds-grpc";
/// Endpoint metadata that transport socket matches read.
pub const TRANSPORT_SOCKET_MATCH: &str = "envoy.transport_socket_match";
/// The label an injected workload carries when its proxy accepts Istio mTLS.
pub const TLS_MODE_LABEL: &str = "security.istio.io/tlsMode";
/// Its short name in transport socket matches.
const TLS_MODE_KEY: &str = "tlsMode";
/// The value that marks an endpoint with a proxy.
pub const ISTIO_TLS_MODE: &str = "istio";
pub const RAW_BUFFER_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.raw_buffer";
/// `util.ALPNInMeshWithMxc`: an in-mesh client with metadata exchange.
const ALPN_IN_MESH: [&str; 2] = ["istio-peer-exchange", "istio"];
/// `util.ALPNInMeshH2WithMxc`.
const ALPN_IN_MESH_H2: [&str; 3] = ["istio-peer-exchange", "istio", "h2"];
/// `util.ALPNH2Only`.
const ALPN_H2_ONLY: [&str; 1] = ["h2"];
/// `util.ALPNHttp`: what an inbound HTTP chain negotiates.
const ALPN_HTTP: [&str; 2] = ["h2", "http/1.1"];
/// `allIstioMtlsALPNs`: what an Istio client offers, matched by inbound mTLS chains.
pub const ISTIO_MTLS_ALPNS: [&str; 5] = [
    "istio",
    "istio-peer-exchange",
    "istio-http/1.0",
    "istio-http/1.1",
    "istio-h2",
];
/// `SdsCertificateConfig` prefixes for certificates read from the proxy's files.
pub const FILE_CERT_PREFIX: &str = "file-cert:";
pub const FILE_ROOT_PREFIX: &str = "file-root:";
/// The root resource of a SIMPLE/MUTUAL rule without `caCertificates`: the system's roots.
pub const SYSTEM_ROOTS: &str = "system";

/// An SDS secret reference as Istio writes it: over gRPC to the agent's `sds-grpc` cluster.
pub fn sds(name: &str) -> SdsSecretConfig {
    SdsSecretConfig {
        name: name.to_string(),
        sds_config: Some(ConfigSource {
            config_source_specifier: Some(config_source::ConfigSourceSpecifier::ApiConfigSource(
                ApiConfigSource {
                    api_type: api_config_source::ApiType::Grpc as i32,
                    transport_api_version: ApiVersion::V3 as i32,
                    set_node_on_first_message_only: true,
                    grpc_services: vec![GrpcService {
                        target_specifier: Some(grpc_service::TargetSpecifier::EnvoyGrpc(
                            grpc_service::EnvoyGrpc {
                                cluster_name: SDS_CLUSTER.to_string(),
                                ..Default::default()
                            },
                        )),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )),
            initial_fetch_timeout: Some(no_timeout()),
            resource_api_version: ApiVersion::V3 as i32,
            ..Default::default()
        }),
    }
}

/// `SdsCertificateConfig.GetResourceName`: `file-cert:<cert>~<key>`.
pub fn file_cert_name(cert: &str, key: &str) -> String {
    format!("{FILE_CERT_PREFIX}{cert}~{key}")
}

/// `SdsCertificateConfig.GetRootResourceName`: `file-root:<ca>`.
pub fn file_root_name(ca: &str) -> String {
    format!("{FILE_ROOT_PREFIX}{ca}")
}

fn exact(names: &[String]) -> Vec<StringMatcher> {
    names
        .iter()
        .map(|n| StringMatcher {
            match_pattern: Some(string_matcher::MatchPattern::Exact(n.clone())),
            ..Default::default()
        })
        .collect()
}

fn tls_params() -> Option<TlsParameters> {
    Some(TlsParameters {
        tls_minimum_protocol_version: tls_parameters::TlsProtocol::TlSv12 as i32,
        tls_maximum_protocol_version: tls_parameters::TlsProtocol::TlSv13 as i32,
        ..Default::default()
    })
}

fn strings<const N: usize>(s: [&str; N]) -> Vec<String> {
    s.iter().map(|v| v.to_string()).collect()
}

/// A client's TLS, as a DestinationRule's `tls` (or auto mTLS) decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTls {
    /// `ISTIO_MUTUAL`: the workload certificate, peers verified against the mesh's roots and
    /// `sans` (the destination's service accounts, or the rule's `subjectAltNames`).
    IstioMutual { sans: Vec<String>, sni: String },
    /// `SIMPLE` and `MUTUAL`: certificates from the proxy's files.
    Files {
        /// `clientCertificate` and `privateKey` (MUTUAL).
        client: Option<(String, String)>,
        /// `caCertificates`; `None` with `insecureSkipVerify` (nothing is verified).
        ca: Option<String>,
        sans: Vec<String>,
        sni: String,
    },
}

/// The upstream transport socket of `tls`; `http2` clusters offer `h2` in ALPN.
// Istio still writes the deprecated `match_subject_alt_names` (and Envoy still reads it).
#[allow(deprecated)]
pub fn upstream_socket(tls: &ClientTls, http2: bool) -> TransportSocket {
    let mut common = CommonTlsContext {
        tls_params: tls_params(),
        ..Default::default()
    };
    let sni = match tls {
        ClientTls::IstioMutual { sans, sni } => {
            common.tls_certificate_sds_secret_configs = vec![sds(SDS_DEFAULT)];
            common.validation_context_type = Some(
                common_tls_context::ValidationContextType::CombinedValidationContext(
                    common_tls_context::CombinedCertificateValidationContext {
                        default_validation_context: Some(CertificateValidationContext {
                            match_subject_alt_names: exact(sans),
                            ..Default::default()
                        }),
                        validation_context_sds_secret_config: Some(sds(SDS_ROOTCA)),
                        ..Default::default()
                    },
                ),
            );
            common.alpn_protocols = if http2 {
                strings(ALPN_IN_MESH_H2)
            } else {
                strings(ALPN_IN_MESH)
            };
            sni
        }
        ClientTls::Files {
            client,
            ca,
            sans,
            sni,
        } => {
            if let Some((cert, key)) = client {
                common.tls_certificate_sds_secret_configs = vec![sds(&file_cert_name(cert, key))];
            }
            common.validation_context_type = Some(match ca {
                Some(ca) => common_tls_context::ValidationContextType::CombinedValidationContext(
                    common_tls_context::CombinedCertificateValidationContext {
                        default_validation_context: Some(CertificateValidationContext {
                            match_subject_alt_names: exact(sans),
                            ..Default::default()
                        }),
                        validation_context_sds_secret_config: Some(sds(&file_root_name(ca))),
                        ..Default::default()
                    },
                ),
                // `insecureSkipVerify`: an empty validation context verifies nothing.
                None => common_tls_context::ValidationContextType::ValidationContext(
                    CertificateValidationContext::default(),
                ),
            });
            if http2 {
                common.alpn_protocols = strings(ALPN_H2_ONLY);
            }
            sni
        }
    };
    let context = UpstreamTlsContext {
        common_tls_context: Some(common),
        sni: sni.clone(),
        ..Default::default()
    };
    TransportSocket {
        name: names::TLS_TRANSPORT_SOCKET.to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(pack(&context))),
    }
}

fn raw_buffer() -> TransportSocket {
    TransportSocket {
        name: RAW_BUFFER_TRANSPORT_SOCKET.to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(pack(
            &RawBuffer::default(),
        ))),
    }
}

fn tls_mode_struct() -> Struct {
    Struct {
        fields: HashMap::from([(
            TLS_MODE_KEY.to_string(),
            Value {
                kind: Some(value::Kind::StringValue(ISTIO_TLS_MODE.to_string())),
            },
        )]),
    }
}

/// Auto mTLS: Istio mTLS to endpoints marked `tlsMode: istio`, plain text to the rest.
pub fn auto_mtls_matches(istio: TransportSocket) -> Vec<TransportSocketMatch> {
    vec![
        TransportSocketMatch {
            name: format!("tlsMode-{ISTIO_TLS_MODE}"),
            r#match: Some(tls_mode_struct()),
            transport_socket: Some(istio),
        },
        TransportSocketMatch {
            name: "tlsMode-disabled".to_string(),
            r#match: Some(Struct::default()),
            transport_socket: Some(raw_buffer()),
        },
    ]
}

/// The `envoy.transport_socket_match` metadata of an endpoint with `labels`: `tlsMode: istio`
/// when its workload runs a proxy.
pub fn endpoint_metadata(labels: &std::collections::BTreeMap<String, String>) -> Option<Metadata> {
    (labels.get(TLS_MODE_LABEL).map(String::as_str) == Some(ISTIO_TLS_MODE)).then(|| Metadata {
        filter_metadata: HashMap::from([(TRANSPORT_SOCKET_MATCH.to_string(), tls_mode_struct())]),
        ..Default::default()
    })
}

/// `BuildInboundTLS` for Istio mTLS: the workload certificate, a client certificate required
/// and verified against the mesh's roots, HTTP's ALPN.
pub fn inbound_mtls_socket() -> TransportSocket {
    let context = DownstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_params: tls_params(),
            alpn_protocols: strings(ALPN_HTTP),
            tls_certificate_sds_secret_configs: vec![sds(SDS_DEFAULT)],
            validation_context_type: Some(
                common_tls_context::ValidationContextType::CombinedValidationContext(
                    common_tls_context::CombinedCertificateValidationContext {
                        default_validation_context: Some(CertificateValidationContext::default()),
                        validation_context_sds_secret_config: Some(sds(SDS_ROOTCA)),
                        ..Default::default()
                    },
                ),
            ),
            ..Default::default()
        }),
        require_client_certificate: boolean(true),
        ..Default::default()
    };
    TransportSocket {
        name: names::TLS_TRANSPORT_SOCKET.to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(pack(&context))),
    }
}

/// `model.BuildDNSSrvSubsetKey` for outbound: the SNI Istio clients send, `outbound_.<port>_.
/// <subset>_.<host>`.
pub fn outbound_sni(port: u32, subset: Option<&str>, host: &str) -> String {
    format!("outbound_.{port}_.{}_.{host}", subset.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_and_file_names_are_istios() {
        assert_eq!(
            outbound_sni(9080, None, "reviews.default.svc.cluster.local"),
            "outbound_.9080_._.reviews.default.svc.cluster.local"
        );
        assert_eq!(
            outbound_sni(9080, Some("v1"), "reviews.default.svc.cluster.local"),
            "outbound_.9080_.v1_.reviews.default.svc.cluster.local"
        );
        assert_eq!(
            file_cert_name("/etc/c.pem", "/etc/k.pem"),
            "file-cert:/etc/c.pem~/etc/k.pem"
        );
        assert_eq!(file_root_name("/etc/ca.pem"), "file-root:/etc/ca.pem");
    }

    #[test]
    fn only_endpoints_with_a_proxy_are_marked_for_mtls() {
        let mut labels = std::collections::BTreeMap::new();
        assert!(endpoint_metadata(&labels).is_none());
        labels.insert(TLS_MODE_LABEL.to_string(), "disabled".to_string());
        assert!(endpoint_metadata(&labels).is_none());
        labels.insert(TLS_MODE_LABEL.to_string(), "istio".to_string());
        let md = endpoint_metadata(&labels).expect("marked");
        assert!(md.filter_metadata.contains_key(TRANSPORT_SOCKET_MATCH));
    }
}
