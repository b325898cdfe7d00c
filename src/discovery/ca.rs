//! The control plane's certificate authority (istiod's CA): it signs each proxy's CSR into a
//! workload certificate whose one URI SAN is the caller's SPIFFE identity, as Istio's CA does
//! (`security/pkg/pki/ca`): the identity comes from who authenticated ([`authn`]), never from the
//! CSR, which only contributes its public key (and proves the caller holds the private key).
//!
//! The signing certificate is Istio's: the user's `cacerts` ([`cacerts`]: `ca-cert.pem`,
//! `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`) or a self-signed root generated at first start
//! and kept in the same directory. [`service`] puts the CA behind
//! `istio.v1.auth.IstioCertificateService` on the xDS port.

pub mod authn;
pub mod cacerts;
pub mod service;
pub mod tokenreview;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;

use crate::identity::SpiffeId;
use cacerts::{CaFiles, CaKey};

/// Istio's `DEFAULT_WORKLOAD_CERT_TTL`.
pub const DEFAULT_WORKLOAD_CERT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Istio's `MAX_WORKLOAD_CERT_TTL` (90 days).
pub const MAX_WORKLOAD_CERT_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// Istio's self-signed root lives ten years (`CITADEL_SELF_SIGNED_CA_CERT_TTL`).
pub const SELF_SIGNED_ROOT_TTL: Duration = Duration::from_secs(3650 * 24 * 3600);
/// Workload certificates start this long before they are issued, so a peer whose clock is a
/// little behind already accepts them (Istio backdates by the same two minutes).
const CLOCK_SKEW_GRACE: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{dir}: {message}")]
    Layout { dir: PathBuf, message: String },
    #[error("generating the self-signed root: {0}")]
    Generate(String),
    #[error("the certificate request is not valid: {0}")]
    Csr(String),
    #[error("requested TTL {requested:?} is greater than the max allowed TTL {max:?}")]
    Ttl { requested: Duration, max: Duration },
    #[error("signing the certificate: {0}")]
    Sign(String),
}

/// Where the CA's root came from, for the startup log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    /// `cacerts` given by the user (possibly an intermediate under their root).
    Plugged,
    /// Self-signed, read back from the directory.
    SelfSigned,
    /// Self-signed, generated now (and written to the directory when there is one).
    Generated,
}

/// Lifetimes of issued certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertTtl {
    /// When the request asks for none.
    pub default: Duration,
    /// Requests for longer are refused.
    pub max: Duration,
}

impl Default for CertTtl {
    fn default() -> CertTtl {
        CertTtl {
            default: DEFAULT_WORKLOAD_CERT_TTL,
            max: MAX_WORKLOAD_CERT_TTL,
        }
    }
}

pub struct CertificateAuthority {
    issuer: Issuer<'static, CaKey>,
    /// What follows a workload certificate in its chain: the signing certificate up to the root
    /// (`cert-chain.pem`), one PEM block each.
    chain: Vec<String>,
    /// `root-cert.pem`: the roots proxies trust.
    roots: String,
    pub trust_domain: String,
    pub ttl: CertTtl,
    pub source: RootSource,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("trust_domain", &self.trust_domain)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// The CA of `dir` (its `cacerts`, or the self-signed root kept there, or a new one written
    /// there); without a directory, a self-signed root that lives as long as the process.
    pub fn load_or_create(
        dir: Option<&Path>,
        trust_domain: &str,
        ttl: CertTtl,
    ) -> Result<CertificateAuthority, CaError> {
        let (files, source) = match dir {
            Some(dir) => match CaFiles::read(dir)? {
                Some(found) => found,
                None => {
                    let files = CaFiles::self_signed(trust_domain)?;
                    files.write_self_signed(dir)?;
                    (files, RootSource::Generated)
                }
            },
            None => (CaFiles::self_signed(trust_domain)?, RootSource::Generated),
        };
        let issuer =
            Issuer::from_ca_cert_pem(&files.ca_cert, files.key).map_err(|e| CaError::Layout {
                dir: dir.map(Path::to_path_buf).unwrap_or_default(),
                message: format!("ca-cert.pem cannot issue certificates: {e}"),
            })?;
        Ok(CertificateAuthority {
            issuer,
            chain: files.chain,
            roots: files.roots,
            trust_domain: trust_domain.to_string(),
            ttl,
            source,
        })
    }

    /// `root-cert.pem`.
    pub fn roots(&self) -> &str {
        &self.roots
    }

    /// The TTL a request for `requested` seconds gets (0: the default).
    pub fn ttl_for(&self, requested: i64) -> Result<Duration, CaError> {
        let requested = match u64::try_from(requested) {
            Ok(0) | Err(_) => return Ok(self.ttl.default),
            Ok(secs) => Duration::from_secs(secs),
        };
        if requested > self.ttl.max {
            return Err(CaError::Ttl {
                requested,
                max: self.ttl.max,
            });
        }
        Ok(requested)
    }

    /// Signs `csr_pem` for `identity`, valid for `ttl` from now: the PEM chain, the workload's
    /// certificate first and the root last.
    pub fn sign(
        &self,
        csr_pem: &str,
        identity: &SpiffeId,
        ttl: Duration,
    ) -> Result<Vec<String>, CaError> {
        self.sign_at(csr_pem, identity, ttl, SystemTime::now())
    }

    fn sign_at(
        &self,
        csr_pem: &str,
        identity: &SpiffeId,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<Vec<String>, CaError> {
        // Parsing verifies the CSR's signature: the caller holds the key it asks us to certify.
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| CaError::Csr(e.to_string()))?;
        let mut params = CertificateParams::default();
        // Istio's workload certificates have an empty subject; the SAN (critical then) is the
        // identity.
        params.distinguished_name = DistinguishedName::new();
        params.subject_alt_names = vec![SanType::URI(
            identity
                .to_string()
                .try_into()
                .map_err(|e: rcgen::Error| CaError::Sign(e.to_string()))?,
        )];
        params.not_before = offset_time(now.checked_sub(CLOCK_SKEW_GRACE).unwrap_or(now));
        params.not_after = offset_time(now + ttl);
        params.serial_number = Some(random_serial()?);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let leaf = CertificateSigningRequestParams {
            params,
            public_key: csr.public_key,
        }
        .signed_by(&self.issuer)
        .map_err(|e| CaError::Sign(e.to_string()))?;
        let mut out = Vec::with_capacity(1 + self.chain.len());
        out.push(leaf.pem());
        out.extend(self.chain.iter().cloned());
        Ok(out)
    }
}

fn offset_time(t: SystemTime) -> OffsetDateTime {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A random positive 128-bit serial, as Istio's.
fn random_serial() -> Result<SerialNumber, CaError> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| CaError::Sign("no randomness for the serial number".into()))?;
    // DER integers are signed: a clear top bit keeps it positive; a non-zero one keeps 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// A self-signed root for `trust_domain`, Istio's shape: subject and issuer `O=<trust domain>`,
/// a CA for ten years.
fn self_signed_root(trust_domain: &str) -> Result<(String, rcgen::KeyPair), CaError> {
    let key = rcgen::KeyPair::generate().map_err(|e| CaError::Generate(e.to_string()))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, trust_domain);
    params.distinguished_name = dn;
    let now = SystemTime::now();
    params.not_before = offset_time(now);
    params.not_after = offset_time(now + SELF_SIGNED_ROOT_TTL);
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params
        .self_signed(&key)
        .map_err(|e| CaError::Generate(e.to_string()))?;
    Ok((cert.pem(), key))
}

#[cfg(test)]
mod tests;
