//! TLS of the proxy's connections, as Envoy's TLS transport sockets configure it:
//! [`UpstreamSpec`] is a cluster's `UpstreamTlsContext` (or one of its transport socket
//! matches) and [`DownstreamTls`] a listener chain's `DownstreamTlsContext`.
//!
//! Secrets are named as Istio's agent serves them over SDS: `default` and `ROOTCA` come from the
//! proxy's [`SecretStore`], read per handshake so a renewed certificate serves the next
//! connection while open ones continue; `file-cert:<cert>~<key>` and `file-root:<ca>` (what a
//! DestinationRule names by path) are read from disk when the config arrives, `file-root:system`
//! from the system's bundle. Any other name is a secret the control plane serves over SDS (a
//! gateway's `kubernetes://<credentialName>`), also read from the store per handshake, so a
//! renewed credential is used without a restart; until it arrives, handshakes fail.
//!
//! Istio peers are verified by SPIFFE identity, not host name: the chain must end at `ROOTCA`
//! and, when the config lists subject alt names (the destination's service accounts), one of
//! the certificate's SANs must match. Other upstreams are verified against their roots and the
//! SNI as a host name, as Envoy's `auto_san_validation` does.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, CommonTlsContext, DownstreamTlsContext, SdsSecretConfig,
    UpstreamTlsContext, common_tls_context,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ParsedCertificate, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use super::secrets::{DEFAULT, ROOTCA, SecretStore};
use crate::identity::pem;

const FILE_CERT: &str = "file-cert:";
const FILE_ROOT: &str = "file-root:";
const SYSTEM: &str = "system";
/// Where Debian, Ubuntu, Alpine and Arch keep the system's roots (Istio's agent reads the same).
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];
/// What an Istio client offers in ALPN. rustls refuses a client whose ALPN shares nothing with
/// the server's list (RFC 7301), where Envoy carries on without ALPN; an inbound chain offers
/// these after its own so Istio's clients (which offer only these) are accepted.
const ISTIO_ALPNS: [&[u8]; 2] = [b"istio-peer-exchange", b"istio"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error(
        "secret {0:?} is not one this proxy can serve (only default, ROOTCA, file-cert: and file-root:)"
    )]
    UnsupportedSecret(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Config(String),
    #[error("subject alt name matcher {0:?} is not supported")]
    Matcher(String),
}

/// The ring provider, the one crypto provider of the tree.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Where a certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertSource {
    /// `default`: the workload certificate.
    Workload,
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// A secret from the control plane's SDS, by name.
    Sds(String),
}

/// What peers are verified against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Trust {
    /// `ROOTCA`.
    Mesh,
    /// A PEM bundle on disk.
    File(PathBuf),
    /// The system's roots.
    System,
    /// A validation context from the control plane's SDS, by name.
    Sds(String),
    /// No validation context: nothing is verified (Envoy's behaviour, and Istio's
    /// `insecureSkipVerify`).
    Nothing,
}

/// A subject alt name matcher (`match_subject_alt_names`), applied to URI and DNS SANs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SanMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
}

impl SanMatch {
    fn compile(m: &StringMatcher) -> Result<SanMatch, TlsError> {
        use string_matcher::MatchPattern as P;
        let bad = || TlsError::Matcher(format!("{m:?}"));
        if m.ignore_case {
            return Err(bad());
        }
        Ok(match &m.match_pattern {
            Some(P::Exact(s)) => SanMatch::Exact(s.clone()),
            Some(P::Prefix(s)) => SanMatch::Prefix(s.clone()),
            Some(P::Suffix(s)) => SanMatch::Suffix(s.clone()),
            Some(P::Contains(s)) => SanMatch::Contains(s.clone()),
            _ => return Err(bad()),
        })
    }

    fn matches(&self, san: &str) -> bool {
        match self {
            SanMatch::Exact(s) => san == s,
            SanMatch::Prefix(s) => san.starts_with(s.as_str()),
            SanMatch::Suffix(s) => san.ends_with(s.as_str()),
            SanMatch::Contains(s) => san.contains(s.as_str()),
        }
    }
}

fn secret_cert(sds: &SdsSecretConfig) -> Result<CertSource, TlsError> {
    if sds.name == DEFAULT {
        return Ok(CertSource::Workload);
    }
    let Some(rest) = sds.name.strip_prefix(FILE_CERT) else {
        return sds_name(sds).map(CertSource::Sds);
    };
    let files = rest
        .split_once('~')
        .ok_or_else(|| TlsError::UnsupportedSecret(sds.name.clone()))?;
    Ok(CertSource::Files {
        cert: files.0.into(),
        key: files.1.into(),
    })
}

fn secret_trust(sds: &SdsSecretConfig) -> Result<Trust, TlsError> {
    if sds.name == ROOTCA {
        return Ok(Trust::Mesh);
    }
    match sds.name.strip_prefix(FILE_ROOT) {
        Some(SYSTEM) => Ok(Trust::System),
        Some(path) => Ok(Trust::File(path.into())),
        None => sds_name(sds).map(Trust::Sds),
    }
}

/// A secret the control plane serves: one named, over ADS (Istio's gateways get their
/// credentials so; a secret from another SDS server is not something Ferry's proxy can fetch).
fn sds_name(sds: &SdsSecretConfig) -> Result<String, TlsError> {
    use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
    let over_ads = match sds
        .sds_config
        .as_ref()
        .and_then(|c| c.config_source_specifier.as_ref())
    {
        None | Some(ConfigSourceSpecifier::Ads(_)) => true,
        Some(_) => false,
    };
    if sds.name.is_empty() || !over_ads {
        return Err(TlsError::UnsupportedSecret(sds.name.clone()));
    }
    Ok(sds.name.clone())
}

fn filename(d: &Option<DataSource>) -> Option<PathBuf> {
    match d.as_ref()?.specifier.as_ref()? {
        data_source::Specifier::Filename(f) => Some(f.into()),
        _ => None,
    }
}

/// The certificate of a common TLS context: an SDS secret, or inline files.
fn certificate(common: &CommonTlsContext) -> Result<Option<CertSource>, TlsError> {
    if let Some(sds) = common.tls_certificate_sds_secret_configs.first() {
        return secret_cert(sds).map(Some);
    }
    if let Some(c) = common.tls_certificates.first() {
        let (Some(cert), Some(key)) = (filename(&c.certificate_chain), filename(&c.private_key))
        else {
            return Err(TlsError::Config(
                "only certificates given as files are supported".into(),
            ));
        };
        return Ok(Some(CertSource::Files { cert, key }));
    }
    Ok(None)
}

/// The validation of a common TLS context: its roots and SAN matchers (the deprecated
/// `match_subject_alt_names` Istio writes, and the typed ones).
#[allow(deprecated)]
fn validation(common: &CommonTlsContext) -> Result<(Trust, Vec<SanMatch>), TlsError> {
    use common_tls_context::ValidationContextType as V;
    let sans = |vc: Option<&CertificateValidationContext>| -> Result<Vec<SanMatch>, TlsError> {
        let Some(vc) = vc else {
            return Ok(Vec::new());
        };
        vc.match_subject_alt_names
            .iter()
            .chain(
                vc.match_typed_subject_alt_names
                    .iter()
                    .filter_map(|t| t.matcher.as_ref()),
            )
            .map(SanMatch::compile)
            .collect()
    };
    let inline_trust = |vc: &CertificateValidationContext| match filename(&vc.trusted_ca) {
        Some(path) => Ok(Trust::File(path)),
        None if vc.trusted_ca.is_none() => Ok(Trust::Nothing),
        None => Err(TlsError::Config(
            "only trusted CAs given as files are supported".into(),
        )),
    };
    match &common.validation_context_type {
        None => Ok((Trust::Nothing, Vec::new())),
        Some(V::ValidationContext(vc)) => Ok((inline_trust(vc)?, sans(Some(vc))?)),
        Some(V::ValidationContextSdsSecretConfig(sds)) => Ok((secret_trust(sds)?, Vec::new())),
        Some(V::CombinedValidationContext(c)) => {
            let trust = match &c.validation_context_sds_secret_config {
                Some(sds) => secret_trust(sds)?,
                None => match &c.default_validation_context {
                    Some(vc) => inline_trust(vc)?,
                    None => Trust::Nothing,
                },
            };
            Ok((trust, sans(c.default_validation_context.as_ref())?))
        }
        Some(_) => Err(TlsError::Config(
            "validation context providers are not supported".into(),
        )),
    }
}

/// A compiled `UpstreamTlsContext`: equal specs share their client config and connection pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamSpec {
    pub sni: String,
    pub alpn: Vec<Vec<u8>>,
    pub cert: Option<CertSource>,
    pub trust: Trust,
    pub sans: Vec<SanMatch>,
}

impl UpstreamSpec {
    pub fn compile(ctx: &UpstreamTlsContext) -> Result<UpstreamSpec, TlsError> {
        let common = ctx.common_tls_context.clone().unwrap_or_default();
        let (trust, sans) = validation(&common)?;
        Ok(UpstreamSpec {
            sni: ctx.sni.clone(),
            alpn: common
                .alpn_protocols
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            cert: certificate(&common)?,
            trust,
            sans,
        })
    }

    /// The client config of this spec.
    pub fn build(&self, secrets: &Arc<SecretStore>) -> Result<UpstreamTls, TlsError> {
        let verifier = Arc::new(PeerVerifier {
            roots: Roots::of(&self.trust, secrets)?,
            sans: self.sans.clone(),
            hostname: match (&self.trust, self.sans.is_empty()) {
                // Istio peers are verified by identity; other servers by name when no SANs
                // are listed (Envoy's auto SAN validation).
                (Trust::Mesh, _) | (_, false) => None,
                (_, true) => ServerName::try_from(self.sni.clone()).ok(),
            },
            provider: provider(),
        });
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &self.cert {
            None => builder.with_no_client_auth(),
            Some(CertSource::Workload) => {
                builder.with_client_cert_resolver(Arc::new(WorkloadCert(secrets.clone())))
            }
            Some(CertSource::Files { cert, key }) => {
                let (chain, key) = read_key_pair(cert, key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError::Config(e.to_string()))?
            }
            Some(CertSource::Sds(name)) => builder.with_client_cert_resolver(Arc::new(SdsCert {
                store: secrets.clone(),
                name: name.clone(),
            })),
        };
        config.alpn_protocols = self.alpn.clone();
        // An SNI that is not a DNS name (an IP, or empty) is sent as none.
        let server_name = ServerName::try_from(self.sni.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into()));
        Ok(UpstreamTls {
            spec: self.clone(),
            config: Arc::new(config),
            server_name,
        })
    }
}

/// An upstream TLS context, ready to connect with.
pub struct UpstreamTls {
    pub spec: UpstreamSpec,
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: ServerName<'static>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.spec.fmt(f)
    }
}

impl PartialEq for UpstreamTls {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl Eq for UpstreamTls {}

impl std::hash::Hash for UpstreamTls {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.spec.hash(state);
    }
}

fn read(path: &std::path::Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn read_key_pair(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let file = |path: &std::path::Path, e: pem::PemError| TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let chain = pem::certificates(&read(cert)?).map_err(|e| file(cert, e))?;
    let key_der = pem::private_key(&read(key)?).map_err(|e| file(key, e))?;
    Ok((chain, key_der))
}

fn read_roots(path: &std::path::Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    let certs = pem::certificates(&read(path)?).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsError::File {
            path: path.display().to_string(),
            message: "no usable root certificate".into(),
        });
    }
    Ok(Arc::new(roots))
}

/// The roots a verifier checks against: the store's `ROOTCA` as it is at each handshake, or a
/// fixed bundle.
#[derive(Debug, Clone)]
enum Roots {
    Mesh(Arc<SecretStore>),
    Fixed(Arc<RootCertStore>),
    /// An SDS validation context as it is at each handshake.
    Sds(Arc<SecretStore>, String),
    Nothing,
}

impl Roots {
    fn of(trust: &Trust, secrets: &Arc<SecretStore>) -> Result<Roots, TlsError> {
        Ok(match trust {
            Trust::Mesh => Roots::Mesh(secrets.clone()),
            Trust::File(path) => Roots::Fixed(read_roots(path)?),
            Trust::System => {
                let path = SYSTEM_BUNDLES
                    .iter()
                    .map(std::path::Path::new)
                    .find(|p| p.is_file())
                    .ok_or_else(|| TlsError::File {
                        path: SYSTEM_BUNDLES.join(", "),
                        message: "no system root bundle found".into(),
                    })?;
                Roots::Fixed(read_roots(path)?)
            }
            Trust::Sds(name) => Roots::Sds(secrets.clone(), name.clone()),
            Trust::Nothing => Roots::Nothing,
        })
    }

    /// The roots to verify against now; `None` when nothing is verified.
    fn current(&self) -> Result<Option<Arc<RootCertStore>>, rustls::Error> {
        match self {
            Roots::Nothing => Ok(None),
            Roots::Fixed(r) => Ok(Some(r.clone())),
            Roots::Mesh(store) => Ok(Some(
                store.trust_bundle().ok_or_else(no_root)?.roots.clone(),
            )),
            Roots::Sds(store, name) => store
                .sds(name)
                .and_then(|s| s.roots.clone())
                .map(Some)
                .ok_or_else(|| rustls::Error::General(format!("no secret {name} yet"))),
        }
    }
}

/// Verifies servers: chain to the roots, then SANs or host name.
#[derive(Debug)]
struct PeerVerifier {
    roots: Roots,
    sans: Vec<SanMatch>,
    hostname: Option<ServerName<'static>>,
    provider: Arc<CryptoProvider>,
}

fn no_root() -> rustls::Error {
    rustls::Error::General("no ROOTCA yet: the proxy has no workload certificate".into())
}

/// Whether one of the certificate's URI or DNS SANs matches one of `sans`.
fn sans_match(end_entity: &CertificateDer<'_>, sans: &[SanMatch]) -> bool {
    let Ok(info) = pem::cert_info(end_entity) else {
        return false;
    };
    info.uri_sans
        .iter()
        .chain(&info.dns_sans)
        .any(|san| sans.iter().any(|m| m.matches(san)))
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = self.roots.current()? else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        if !self.sans.is_empty() {
            if !sans_match(end_entity, &self.sans) {
                return Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName,
                ));
            }
        } else if let Some(name) = &self.hostname {
            rustls::client::verify_server_name(&cert, name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Presents the store's `default` as it is at each handshake.
#[derive(Debug)]
struct WorkloadCert(Arc<SecretStore>);

impl rustls::client::ResolvesClientCert for WorkloadCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.workload_certificate().map(|c| c.certified.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl ResolvesServerCert for WorkloadCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.workload_certificate().map(|c| c.certified.clone())
    }
}

/// A certificate from the control plane's SDS, as the store has it at each handshake: none
/// (a failed handshake, as Envoy's listener without its secret) until it arrives.
#[derive(Debug)]
struct SdsCert {
    store: Arc<SecretStore>,
    name: String,
}

impl SdsCert {
    fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.store.sds(&self.name).and_then(|s| s.certified.clone())
    }
}

impl ResolvesServerCert for SdsCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

impl rustls::client::ResolvesClientCert for SdsCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.current()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A fixed certificate (from files).
#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Verifies clients against the roots as they are at each handshake.
#[derive(Debug)]
struct ClientVerifier {
    roots: Roots,
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        !matches!(self.roots, Roots::Nothing)
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    /// No hints: clients present the one certificate they have.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let Some(roots) = self.roots.current()? else {
            return Ok(ClientCertVerified::assertion());
        };
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots,
            self.provider.clone(),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
        verifier.verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A listener chain's TLS, ready to accept with.
pub struct DownstreamTls {
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for DownstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownstreamTls").finish_non_exhaustive()
    }
}

impl DownstreamTls {
    pub fn compile(
        ctx: &DownstreamTlsContext,
        secrets: &Arc<SecretStore>,
    ) -> Result<DownstreamTls, TlsError> {
        let common = ctx.common_tls_context.clone().unwrap_or_default();
        let cert = certificate(&common)?
            .ok_or_else(|| TlsError::Config("a listener's TLS needs a certificate".into()))?;
        let (trust, _) = validation(&common)?;
        let verifier = Arc::new(ClientVerifier {
            roots: Roots::of(&trust, secrets)?,
            mandatory: ctx
                .require_client_certificate
                .as_ref()
                .is_some_and(|b| b.value),
            provider: provider(),
        });
        let resolver: Arc<dyn ResolvesServerCert> = match cert {
            CertSource::Workload => Arc::new(WorkloadCert(secrets.clone())),
            CertSource::Files { cert, key } => {
                let (chain, key) = read_key_pair(&cert, &key)?;
                let signing = provider()
                    .key_provider
                    .load_private_key(key)
                    .map_err(|e| TlsError::Config(e.to_string()))?;
                Arc::new(FixedCert(Arc::new(CertifiedKey::new(chain, signing))))
            }
            CertSource::Sds(name) => Arc::new(SdsCert {
                store: secrets.clone(),
                name,
            }),
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(resolver);
        config.alpn_protocols = common
            .alpn_protocols
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        if !config.alpn_protocols.is_empty() {
            for p in ISTIO_ALPNS {
                if !config.alpn_protocols.iter().any(|a| a == p) {
                    config.alpn_protocols.push(p.to_vec());
                }
            }
        }
        Ok(DownstreamTls {
            config: Arc::new(config),
        })
    }
}

/// What a request learns of its TLS connection: the peer's and the proxy's identities, and
/// the certificate hash Envoy's `x-forwarded-client-cert` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerTls {
    /// The client's URI SAN (its SPIFFE ID) when it presented a certificate.
    pub peer_uri: Option<String>,
    pub peer_dns: Vec<String>,
    /// SHA-256 of the client's certificate, lower-case hex; empty without one.
    pub peer_hash: String,
    /// The URI SAN of the certificate this proxy presented.
    pub local_uri: Option<String>,
}

impl PeerTls {
    /// Reads a finished server handshake.
    pub fn of(conn: &rustls::ServerConnection, secrets: &SecretStore) -> PeerTls {
        let peer = conn.peer_certificates().and_then(|c| c.first());
        let info = peer.and_then(|c| pem::cert_info(c).ok());
        PeerTls {
            peer_uri: info.as_ref().and_then(|i| i.uri_sans.first().cloned()),
            peer_dns: info.map(|i| i.dns_sans).unwrap_or_default(),
            peer_hash: peer
                .map(|c| {
                    ring::digest::digest(&ring::digest::SHA256, c.as_ref())
                        .as_ref()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect()
                })
                .unwrap_or_default(),
            local_uri: secrets
                .workload_certificate()
                .and_then(|c| c.identity.clone()),
        }
    }

    /// Whether the client presented a certificate (Envoy's "mutual TLS connection").
    pub fn is_mutual(&self) -> bool {
        !self.peer_hash.is_empty()
    }

    /// The element Envoy adds to `x-forwarded-client-cert` with Istio's
    /// `set_current_client_cert_details` (subject, URI and DNS): `By=<this proxy's
    /// URI>;Hash=<sha256>;Subject="";URI=<peer URI>;DNS=<name>...`.
    pub fn xfcc(&self) -> String {
        let mut out = String::new();
        if let Some(by) = &self.local_uri {
            out.push_str("By=");
            out.push_str(by);
            out.push(';');
        }
        out.push_str("Hash=");
        out.push_str(&self.peer_hash);
        out.push_str(";Subject=\"\"");
        if let Some(uri) = &self.peer_uri {
            out.push_str(";URI=");
            out.push_str(uri);
        }
        for dns in &self.peer_dns {
            out.push_str(";DNS=");
            out.push_str(dns);
        }
        out
    }
}

#[cfg(test)]
mod tests;
