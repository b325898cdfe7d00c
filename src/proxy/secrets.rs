//! The proxy's secrets, under the SDS names Istio's agent serves Envoy: `default` (the workload
//! certificate chain and its key) and `ROOTCA` (the roots peers are verified against). Ferry's
//! proxy is its own agent: [`SecretManager`] makes a key, sends a CSR to the control plane's CA
//! (Istio's `CreateCertificate`, authenticated by the workload's token) and installs the answer
//! here, then does it again before the certificate expires.
//!
//! Secrets the control plane serves over SDS (a gateway's `kubernetes://<credentialName>`) are
//! kept here too, by name, as [`SdsSecret`]s: installed when an SDS response is accepted,
//! replaced by the next one.
//!
//! TLS reads the store per handshake ([`super::tls`]), so a rotated certificate is used by the
//! next connection while open ones carry on with the one they started with.
//! `/config_dump` shows the store as Envoy's `SecretsConfigDump`, the key redacted as Envoy
//! redacts it.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, Secret, TlsCertificate, secret,
};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use crate::identity::certificate_service;
use crate::identity::pem::{self, CertInfo};
use crate::xds::dump::Versioned;

/// The SDS name of the workload certificate.
pub const DEFAULT: &str = "default";
/// The SDS name of the mesh's roots.
pub const ROOTCA: &str = "ROOTCA";
use crate::xds::dump::REDACTED;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the CA answered no certificate")]
    EmptyChain,
    #[error("the CA's certificate chain: {0}")]
    Chain(String),
    #[error("the key: {0}")]
    Key(String),
    #[error("reading the token file {path}: {message}")]
    Token { path: PathBuf, message: String },
    #[error("making the key and CSR: {0}")]
    Csr(String),
    #[error("the CA at {address}: {message}")]
    Ca { address: String, message: String },
    #[error("secret {0}")]
    Sds(String),
}

/// The workload's certificate and key.
pub struct WorkloadCertificate {
    /// The chain as the CA sent it, leaf first (Envoy's `certificate_chain`).
    pub chain_pem: String,
    /// What TLS presents.
    pub certified: Arc<CertifiedKey>,
    /// The leaf's facts.
    pub leaf: CertInfo,
    /// Its SPIFFE ID (the leaf's URI SAN).
    pub identity: Option<String>,
    pub received: SystemTime,
    pub version: String,
}

impl std::fmt::Debug for WorkloadCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadCertificate")
            .field("identity", &self.identity)
            .field("serial", &self.leaf.serial)
            .finish_non_exhaustive()
    }
}

/// The roots peers are verified against.
#[derive(Debug)]
pub struct TrustBundle {
    pub pem: String,
    pub roots: Arc<RootCertStore>,
    pub received: SystemTime,
    pub version: String,
}

/// A secret from the control plane's SDS: a certificate with its key, or roots.
pub struct SdsSecret {
    /// As received, the key redacted (what `/config_dump` shows).
    pub redacted: Secret,
    pub certified: Option<Arc<CertifiedKey>>,
    pub roots: Option<Arc<RootCertStore>>,
    /// As received, to tell a changed secret from a repeated one.
    received: Secret,
}

impl std::fmt::Debug for SdsSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdsSecret")
            .field("name", &self.redacted.name)
            .finish_non_exhaustive()
    }
}

impl SdsSecret {
    /// Reads a `Secret` resource: a `tls_certificate` with inline PEM chain and key, or a
    /// `validation_context` with inline PEM roots. Anything else is refused (the update is
    /// NACKed, as Envoy rejects a secret it cannot load).
    pub fn compile(secret: &Secret) -> Result<SdsSecret, SecretError> {
        let name = &secret.name;
        let text = |what: &str, d: &Option<DataSource>| -> Result<String, SecretError> {
            let bytes = match d.as_ref().and_then(|d| d.specifier.as_ref()) {
                Some(data_source::Specifier::InlineBytes(b)) => b.clone(),
                Some(data_source::Specifier::InlineString(s)) => s.clone().into_bytes(),
                _ => {
                    return Err(SecretError::Sds(format!(
                        "{name}: the {what} is not inline PEM"
                    )));
                }
            };
            String::from_utf8(bytes)
                .map_err(|_| SecretError::Sds(format!("{name}: the {what} is not PEM text")))
        };
        let bad = |what: &str, e: String| SecretError::Sds(format!("{name}: the {what}: {e}"));
        match &secret.r#type {
            Some(secret::Type::TlsCertificate(t)) => {
                let chain = pem::certificates(&text("certificate chain", &t.certificate_chain)?)
                    .map_err(|e| bad("certificate chain", e.to_string()))?;
                let key = pem::private_key(&text("private key", &t.private_key)?)
                    .map_err(|e| bad("private key", e.to_string()))?;
                let signing = rustls::crypto::ring::sign::any_supported_type(&key)
                    .map_err(|e| bad("private key", e.to_string()))?;
                let certified = CertifiedKey::new(chain, signing);
                certified
                    .keys_match()
                    .map_err(|e| bad("private key", format!("not the certificate's: {e}")))?;
                let mut redacted = secret.clone();
                if let Some(secret::Type::TlsCertificate(t)) = &mut redacted.r#type {
                    t.private_key = Some(DataSource {
                        specifier: Some(data_source::Specifier::InlineBytes(REDACTED.to_vec())),
                        ..Default::default()
                    });
                }
                Ok(SdsSecret {
                    redacted,
                    certified: Some(Arc::new(certified)),
                    roots: None,
                    received: secret.clone(),
                })
            }
            Some(secret::Type::ValidationContext(v)) => {
                let certs = pem::certificates(&text("trusted CA", &v.trusted_ca)?)
                    .map_err(|e| bad("trusted CA", e.to_string()))?;
                let mut roots = RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(bad("trusted CA", "no usable root certificate".into()));
                }
                Ok(SdsSecret {
                    redacted: secret.clone(),
                    certified: None,
                    roots: Some(Arc::new(roots)),
                    received: secret.clone(),
                })
            }
            _ => Err(SecretError::Sds(format!(
                "{name}: only TLS certificates and validation contexts are supported"
            ))),
        }
    }
}

#[derive(Default)]
struct Secrets {
    default: Option<Arc<WorkloadCertificate>>,
    root: Option<Arc<TrustBundle>>,
    /// From the control plane's SDS, by name, with when they were received and their version.
    sds: std::collections::BTreeMap<String, Versioned<Arc<SdsSecret>>>,
}

/// The secrets the proxy holds. Read per TLS handshake, written per rotation.
#[derive(Default)]
pub struct SecretStore {
    secrets: RwLock<Secrets>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore").finish_non_exhaustive()
    }
}

fn version_of(t: SystemTime) -> String {
    crate::proxyconfig::x509::rfc3339(
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0),
    )
}

impl SecretStore {
    pub fn workload_certificate(&self) -> Option<Arc<WorkloadCertificate>> {
        self.secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .default
            .clone()
    }

    pub fn trust_bundle(&self) -> Option<Arc<TrustBundle>> {
        self.secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .root
            .clone()
    }

    /// The SDS secret `name`, as it is now.
    pub fn sds(&self, name: &str) -> Option<Arc<SdsSecret>> {
        self.secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .sds
            .get(name)
            .map(|v| v.resource.clone())
    }

    /// Installs secrets from an SDS response (compiled by the caller, so a response with one
    /// bad secret changes nothing). A secret equal to the one held keeps its version and time.
    pub fn install_sds(&self, secrets: Vec<Arc<SdsSecret>>, version: &str, now: SystemTime) {
        let mut held = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        for compiled in secrets {
            let name = compiled.received.name.clone();
            let unchanged = held
                .sds
                .get(&name)
                .is_some_and(|v| v.resource.received == compiled.received);
            if unchanged {
                continue;
            }
            held.sds.insert(
                name,
                Versioned {
                    version_info: version.to_string(),
                    last_updated: now,
                    resource: compiled,
                },
            );
        }
    }

    /// Installs a chain from the CA (leaf first, root last) with the key of its leaf: `default`
    /// becomes the chain, `ROOTCA` its last certificate (as Istio's agent takes the root from
    /// the chain), kept unchanged when it is the same root.
    pub fn install(
        &self,
        chain: &[String],
        key: PrivatePkcs8KeyDer<'static>,
        now: SystemTime,
    ) -> Result<Arc<WorkloadCertificate>, SecretError> {
        let chain_pem = chain.concat();
        let ders: Vec<CertificateDer<'static>> =
            pem::certificates(&chain_pem).map_err(|e| SecretError::Chain(e.to_string()))?;
        let leaf = pem::cert_info(&ders[0]).map_err(|e| SecretError::Chain(e.to_string()))?;
        let root_der = ders.last().cloned().ok_or(SecretError::EmptyChain)?;
        let signing = rustls::crypto::ring::sign::any_supported_type(&PrivateKeyDer::Pkcs8(key))
            .map_err(|e| SecretError::Key(e.to_string()))?;
        let certified = CertifiedKey::new(ders, signing);
        // A chain whose leaf is not the key's would fail every handshake: refuse it here.
        certified
            .keys_match()
            .map_err(|e| SecretError::Key(format!("not the key of the certificate: {e}")))?;
        let cert = Arc::new(WorkloadCertificate {
            chain_pem,
            certified: Arc::new(certified),
            identity: leaf.uri_sans.first().cloned(),
            leaf,
            received: now,
            version: version_of(now),
        });
        let root_pem = pem::to_pem(&root_der);
        let mut secrets = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        if secrets.root.as_ref().is_none_or(|r| r.pem != root_pem) {
            let mut roots = RootCertStore::empty();
            roots
                .add(root_der)
                .map_err(|e| SecretError::Chain(format!("the root: {e}")))?;
            secrets.root = Some(Arc::new(TrustBundle {
                pem: root_pem,
                roots: Arc::new(roots),
                received: now,
                version: version_of(now),
            }));
        }
        secrets.default = Some(cert.clone());
        Ok(cert)
    }

    /// The secrets as Envoy's dump lists its active SDS secrets, the key redacted.
    pub fn dump(&self) -> Vec<Versioned<Secret>> {
        let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        let inline = |bytes: &[u8]| {
            Some(DataSource {
                specifier: Some(data_source::Specifier::InlineBytes(bytes.to_vec())),
                ..Default::default()
            })
        };
        let mut out = Vec::new();
        if let Some(cert) = &secrets.default {
            out.push(Versioned {
                version_info: cert.version.clone(),
                last_updated: cert.received,
                resource: Secret {
                    name: DEFAULT.to_string(),
                    r#type: Some(secret::Type::TlsCertificate(TlsCertificate {
                        certificate_chain: inline(cert.chain_pem.as_bytes()),
                        private_key: inline(REDACTED),
                        ..Default::default()
                    })),
                },
            });
        }
        if let Some(root) = &secrets.root {
            out.push(Versioned {
                version_info: root.version.clone(),
                last_updated: root.received,
                resource: Secret {
                    name: ROOTCA.to_string(),
                    r#type: Some(secret::Type::ValidationContext(
                        CertificateValidationContext {
                            trusted_ca: inline(root.pem.as_bytes()),
                            ..Default::default()
                        },
                    )),
                },
            });
        }
        out.extend(secrets.sds.values().map(|v| Versioned {
            version_info: v.version_info.clone(),
            last_updated: v.last_updated,
            resource: v.resource.redacted.clone(),
        }));
        out
    }
}

/// Where and how the proxy gets its certificate.
#[derive(Debug, Clone)]
pub struct CaClientConfig {
    /// The CA's gRPC address (`http://host:port`).
    pub address: String,
    /// The workload's token, read for every request (it may be replaced).
    pub token_file: PathBuf,
    /// The lifetime asked for (Istio's `SECRET_TTL`).
    pub ttl: Duration,
    /// Rotate when this fraction of the lifetime is left (Istio's `SECRET_GRACE_PERIOD_RATIO`).
    pub grace_period_ratio: f64,
}

/// Keeps the store's `default` certificate fresh.
pub struct SecretManager {
    store: Arc<SecretStore>,
    config: CaClientConfig,
    channel: tonic::transport::Channel,
}

/// Retry delays after a failed request: 1 s doubling to 30 s.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

impl SecretManager {
    pub fn new(
        store: Arc<SecretStore>,
        config: CaClientConfig,
    ) -> Result<SecretManager, SecretError> {
        let ca_error = |message: String| SecretError::Ca {
            address: config.address.clone(),
            message,
        };
        let channel = tonic::transport::Endpoint::from_shared(config.address.clone())
            .map_err(|e| ca_error(e.to_string()))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .connect_lazy();
        Ok(SecretManager {
            store,
            config,
            channel,
        })
    }

    /// Fetches a certificate now, installs it and returns it.
    pub async fn refresh(&self) -> Result<Arc<WorkloadCertificate>, SecretError> {
        let token =
            std::fs::read_to_string(&self.config.token_file).map_err(|e| SecretError::Token {
                path: self.config.token_file.clone(),
                message: e.to_string(),
            })?;
        let key = rcgen::KeyPair::generate().map_err(|e| SecretError::Csr(e.to_string()))?;
        // The CA takes the identity from the token, not from the request: the CSR carries the
        // public key and proves this proxy holds its private half.
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params
            .serialize_request(&key)
            .and_then(|csr| csr.pem())
            .map_err(|e| SecretError::Csr(e.to_string()))?;
        let chain = certificate_service::create_certificate(
            self.channel.clone(),
            Some(token.trim()),
            csr,
            self.config.ttl,
        )
        .await
        .map_err(|status| SecretError::Ca {
            address: self.config.address.clone(),
            message: format!("{:?}: {}", status.code(), status.message()),
        })?;
        if chain.is_empty() {
            return Err(SecretError::EmptyChain);
        }
        let key = PrivatePkcs8KeyDer::from(key.serialize_der());
        self.store.install(&chain, key, SystemTime::now())
    }

    /// Fetches, installs, and fetches again when the grace period of each certificate begins,
    /// until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut retry = RETRY_MIN;
        loop {
            let wait = match self.refresh().await {
                Ok(cert) => {
                    retry = RETRY_MIN;
                    let wait = rotation_delay(
                        cert.received,
                        cert.leaf.not_after,
                        self.config.grace_period_ratio,
                        SystemTime::now(),
                    );
                    tracing::info!(
                        identity = cert.identity.as_deref().unwrap_or(""),
                        serial = %cert.leaf.serial,
                        "workload certificate installed; next rotation in {wait:?}"
                    );
                    wait
                }
                Err(e) => {
                    tracing::warn!("no workload certificate: {e}; retrying in {retry:?}");
                    let wait = retry;
                    retry = (retry * 2).min(RETRY_MAX);
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

/// How long until a certificate received at `received` and expiring at `not_after` is
/// replaced: Istio's agent rotates when `ratio` of its lifetime (counted from receipt, as the
/// agent counts it) is left.
pub fn rotation_delay(
    received: SystemTime,
    not_after: SystemTime,
    ratio: f64,
    now: SystemTime,
) -> Duration {
    let lifetime = not_after.duration_since(received).unwrap_or_default();
    let grace = lifetime.mul_f64(ratio.clamp(0.0, 1.0));
    let at = not_after.checked_sub(grace).unwrap_or(received);
    at.duration_since(now).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn rotation_starts_when_the_grace_period_does() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let day = Duration::from_secs(86_400);
        // Istio's default ratio, 0.5: half-way through.
        assert_eq!(rotation_delay(t0, t0 + day, 0.5, t0), day / 2);
        // 80 % of the lifetime used: 20 % left.
        assert_eq!(
            rotation_delay(t0, t0 + Duration::from_secs(10), 0.2, t0),
            Duration::from_secs(8)
        );
        // Later calls count from now; past the time, at once.
        assert_eq!(rotation_delay(t0, t0 + day, 0.5, t0 + day / 4), day / 4);
        assert_eq!(rotation_delay(t0, t0 + day, 0.5, t0 + day), Duration::ZERO);
        // An expired certificate is replaced at once.
        assert_eq!(rotation_delay(t0, t0 - day, 0.5, t0), Duration::ZERO);
    }

    /// A chain signed by a fresh root for `identity`, and its leaf's key.
    pub(crate) fn issued(identity: &str) -> (Vec<String>, PrivatePkcs8KeyDer<'static>) {
        use crate::discovery::ca::{CertTtl, CertificateAuthority};
        let ca = CertificateAuthority::load_or_create(None, "cluster.local", CertTtl::default())
            .expect("ca");
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

    #[test]
    fn an_installed_chain_is_default_and_its_root_is_rootca() {
        let store = SecretStore::default();
        assert!(store.dump().is_empty());
        let (chain, key) = issued("spiffe://cluster.local/ns/default/sa/a");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cert = store.install(&chain, key, t).expect("installed");
        assert_eq!(
            cert.identity.as_deref(),
            Some("spiffe://cluster.local/ns/default/sa/a")
        );
        let dump = store.dump();
        let names: Vec<&str> = dump.iter().map(|s| s.resource.name.as_str()).collect();
        assert_eq!(names, [DEFAULT, ROOTCA]);
        let Some(secret::Type::TlsCertificate(tls)) = &dump[0].resource.r#type else {
            panic!("default is a certificate");
        };
        let inline = |d: &Option<DataSource>| match d.as_ref().and_then(|d| d.specifier.as_ref()) {
            Some(data_source::Specifier::InlineBytes(b)) => b.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(inline(&tls.private_key), b"[redacted]");
        assert_eq!(inline(&tls.certificate_chain), chain.concat().into_bytes());
        let Some(secret::Type::ValidationContext(vc)) = &dump[1].resource.r#type else {
            panic!("ROOTCA is a validation context");
        };
        assert_eq!(
            String::from_utf8(inline(&vc.trusted_ca))
                .expect("utf-8")
                .trim(),
            chain[1].trim()
        );
        assert_eq!(dump[0].version_info, "2023-11-14T22:13:20Z");
    }

    #[test]
    fn a_key_that_is_not_the_leafs_is_refused() {
        let store = SecretStore::default();
        let (chain, _) = issued("spiffe://cluster.local/ns/default/sa/a");
        let other =
            PrivatePkcs8KeyDer::from(rcgen::KeyPair::generate().expect("key").serialize_der());
        assert!(matches!(
            store.install(&chain, other, SystemTime::now()),
            Err(SecretError::Key(_))
        ));
        assert!(store.workload_certificate().is_none());
    }
}
