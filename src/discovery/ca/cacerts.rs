//! The CA's files, in Istio's layout (`samples/certs`, the `cacerts` secret):
//! - `ca-cert.pem`: the certificate that signs workload certificates;
//! - `ca-key.pem`: its private key;
//! - `root-cert.pem`: the root(s) proxies trust;
//! - `cert-chain.pem`: `ca-cert.pem` and the intermediates up to the root, appended to every
//!   workload certificate.
//!
//! All four are the user's plugged-in CA. With only `ca-cert.pem` and `ca-key.pem` (the shape of
//! istiod's self-signed `istio-ca-secret`) the certificate is a self-signed root and is all
//! three. An empty or missing directory gets a new self-signed root written in that shape.
//!
//! Keys: PKCS#8 (`PRIVATE KEY`) of any type rcgen signs with, or RSA in PKCS#1 (`RSA PRIVATE
//! KEY`, what `openssl genrsa` and Istio's samples write), signed through ring directly.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};
use rustls::pki_types::PrivateKeyDer;

use super::{CaError, RootSource, self_signed_root};
use crate::identity::pem;

pub const CA_CERT: &str = "ca-cert.pem";
pub const CA_KEY: &str = "ca-key.pem";
pub const ROOT_CERT: &str = "root-cert.pem";
pub const CERT_CHAIN: &str = "cert-chain.pem";

/// The signing key.
pub enum CaKey {
    /// Any key rcgen reads (PKCS#8).
    Rcgen(rcgen::KeyPair),
    /// RSA in PKCS#1, which rcgen reads only through aws-lc-rs.
    RsaPkcs1 {
        key: ring::signature::RsaKeyPair,
        public: Vec<u8>,
    },
}

impl PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            CaKey::Rcgen(k) => k.der_bytes(),
            CaKey::RsaPkcs1 { public, .. } => public,
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            CaKey::Rcgen(k) => k.algorithm(),
            CaKey::RsaPkcs1 { .. } => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            CaKey::Rcgen(k) => k.sign(msg),
            CaKey::RsaPkcs1 { key, .. } => {
                let mut signature = vec![0u8; key.public().modulus_len()];
                key.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    msg,
                    &mut signature,
                )
                .map_err(|_| rcgen::Error::RingUnspecified)?;
                Ok(signature)
            }
        }
    }
}

impl CaKey {
    fn parse(text: &str) -> Result<CaKey, String> {
        match pem::private_key(text).map_err(|e| e.to_string())? {
            PrivateKeyDer::Pkcs8(_) => rcgen::KeyPair::from_pem(text)
                .map(CaKey::Rcgen)
                .map_err(|e| format!("unsupported PKCS#8 key: {e}")),
            PrivateKeyDer::Pkcs1(der) => {
                let key = ring::signature::RsaKeyPair::from_der(der.secret_pkcs1_der())
                    .map_err(|e| format!("unusable RSA key: {e}"))?;
                let public = key.public().as_ref().to_vec();
                Ok(CaKey::RsaPkcs1 { key, public })
            }
            _ => Err(
                "an EC key in SEC1 form (EC PRIVATE KEY) is not supported: convert it \
                 with `openssl pkcs8 -topk8 -nocrypt -in ca-key.pem -out ca-key.pem.p8`"
                    .into(),
            ),
        }
    }
}

/// The CA's material, read or generated.
pub struct CaFiles {
    /// `ca-cert.pem` (its first certificate).
    pub ca_cert: String,
    pub key: CaKey,
    /// `cert-chain.pem`, one PEM block per certificate.
    pub chain: Vec<String>,
    /// `root-cert.pem`.
    pub roots: String,
    /// The generated key's PEM, to write.
    generated_key: Option<String>,
}

fn read(dir: &Path, name: &str) -> Result<Option<String>, CaError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CaError::File {
            path,
            message: e.to_string(),
        }),
    }
}

fn blocks(dir: &Path, name: &str, text: &str) -> Result<Vec<String>, CaError> {
    let ders = pem::certificates(text).map_err(|e| CaError::File {
        path: dir.join(name),
        message: e.to_string(),
    })?;
    Ok(ders.iter().map(|d| pem::to_pem(d)).collect())
}

impl CaFiles {
    /// The CA in `dir`; `None` when the directory holds none of its files (or does not exist).
    pub fn read(dir: &Path) -> Result<Option<(CaFiles, RootSource)>, CaError> {
        let layout = |message: String| CaError::Layout {
            dir: dir.to_path_buf(),
            message,
        };
        let ca_cert = read(dir, CA_CERT)?;
        let ca_key = read(dir, CA_KEY)?;
        let root = read(dir, ROOT_CERT)?;
        let chain = read(dir, CERT_CHAIN)?;
        let (ca_cert, ca_key) = match (ca_cert, ca_key, &root, &chain) {
            (None, None, None, None) => return Ok(None),
            (Some(c), Some(k), _, _) => (c, k),
            _ => {
                return Err(layout(format!(
                    "incomplete CA: {CA_CERT} and {CA_KEY} are both needed (with {ROOT_CERT} and \
                     {CERT_CHAIN} for a plugged-in CA)"
                )));
            }
        };
        let cert = blocks(dir, CA_CERT, &ca_cert)?
            .into_iter()
            .next()
            .ok_or_else(|| layout(format!("{CA_CERT} holds no certificate")))?;
        let key = CaKey::parse(&ca_key).map_err(|message| CaError::File {
            path: dir.join(CA_KEY),
            message,
        })?;
        check_pair(&cert, &key).map_err(layout)?;
        let info = pem::cert_info(&pem::certificates(&cert).map_err(|e| layout(e.to_string()))?[0])
            .map_err(|e| layout(e.to_string()))?;
        if !info.is_ca {
            return Err(layout(format!("{CA_CERT} is not a CA certificate")));
        }
        let (chain, roots, source) = match (root, chain) {
            (None, None) => (vec![cert.clone()], cert.clone(), RootSource::SelfSigned),
            (Some(root), Some(chain)) => {
                let chain = blocks(dir, CERT_CHAIN, &chain)?;
                let roots = blocks(dir, ROOT_CERT, &root)?.concat();
                // Istio's KeyCertBundle: the chain starts at the signing certificate.
                if chain.first() != Some(&cert) {
                    return Err(layout(format!(
                        "{CERT_CHAIN} must start with the certificate of {CA_CERT}"
                    )));
                }
                (chain, roots, RootSource::Plugged)
            }
            _ => {
                return Err(layout(format!(
                    "a plugged-in CA needs both {ROOT_CERT} and {CERT_CHAIN}"
                )));
            }
        };
        Ok(Some((
            CaFiles {
                ca_cert: cert,
                key,
                chain,
                roots,
                generated_key: None,
            },
            source,
        )))
    }

    /// A new self-signed root.
    pub fn self_signed(trust_domain: &str) -> Result<CaFiles, CaError> {
        let (cert, key) = self_signed_root(trust_domain)?;
        let key_pem = key.serialize_pem();
        Ok(CaFiles {
            ca_cert: cert.clone(),
            key: CaKey::Rcgen(key),
            chain: vec![cert.clone()],
            roots: cert,
            generated_key: Some(key_pem),
        })
    }

    /// Writes a generated root into `dir` as istiod's self-signed secret: `ca-cert.pem` and
    /// `ca-key.pem` (readable by the owner only).
    pub fn write_self_signed(&self, dir: &Path) -> Result<(), CaError> {
        let file_error = |path: PathBuf| {
            move |e: std::io::Error| CaError::File {
                path,
                message: e.to_string(),
            }
        };
        std::fs::create_dir_all(dir).map_err(file_error(dir.to_path_buf()))?;
        let Some(key) = &self.generated_key else {
            return Ok(());
        };
        // The key first: a certificate without its key would read back as a broken CA.
        write_private(&dir.join(CA_KEY), key)?;
        let cert_path = dir.join(CA_CERT);
        let tmp = dir.join(format!(".{CA_CERT}.tmp"));
        std::fs::write(&tmp, &self.ca_cert).map_err(file_error(tmp.clone()))?;
        std::fs::rename(&tmp, &cert_path).map_err(file_error(cert_path))?;
        Ok(())
    }
}

/// Writes `text` to `path` with mode 0600, atomically.
fn write_private(path: &Path, text: &str) -> Result<(), CaError> {
    let tmp = path.with_extension("tmp");
    let error = |e: std::io::Error| CaError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(error)?;
    file.write_all(text.as_bytes()).map_err(error)?;
    file.sync_all().map_err(error)?;
    std::fs::rename(&tmp, path).map_err(error)
}

/// Whether `key` is the private key of `cert_pem`'s public key.
fn check_pair(cert_pem: &str, key: &CaKey) -> Result<(), String> {
    let ders = pem::certificates(cert_pem).map_err(|e| e.to_string())?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&ders[0]).map_err(|e| format!("{CA_CERT}: {e}"))?;
    if cert.public_key().subject_public_key.data.as_ref() != key.der_bytes() {
        return Err(format!("{CA_KEY} is not the key of {CA_CERT}"));
    }
    Ok(())
}
