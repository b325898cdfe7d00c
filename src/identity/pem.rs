//! PEM bundles and the few facts of a certificate identity needs: its URI SANs (SPIFFE IDs),
//! serial and validity.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    #[error("no PEM certificate found")]
    NoCertificate,
    #[error("malformed PEM: {0}")]
    Malformed(String),
    #[error("not an X.509 certificate: {0}")]
    NotX509(String),
}

/// The certificates of a PEM bundle, in order; an error when there is none.
pub fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PemError::Malformed(e.to_string()))?;
    if certs.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, PemError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| PemError::Malformed(e.to_string()))
}

/// A DER certificate as one PEM block.
pub fn to_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// What identity reads off a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Lower-case hex of the serial's bytes, as istioctl prints it.
    pub serial: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub uri_sans: Vec<String>,
    pub dns_sans: Vec<String>,
    pub is_ca: bool,
}

/// Reads `der`.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, PemError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| PemError::NotX509(e.to_string()))?;
    let time = |t: &x509_parser::time::ASN1Time| {
        let secs = t.timestamp();
        match u64::try_from(secs) {
            Ok(s) => UNIX_EPOCH + Duration::from_secs(s),
            Err(_) => UNIX_EPOCH,
        }
    };
    let mut uri_sans = Vec::new();
    let mut dns_sans = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::URI(u) => uri_sans.push((*u).to_string()),
                x509_parser::extensions::GeneralName::DNSName(d) => dns_sans.push((*d).to_string()),
                _ => {}
            }
        }
    }
    let serial: String = cert
        .raw_serial()
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(CertInfo {
        serial: if serial.is_empty() {
            "0".into()
        } else {
            serial
        },
        not_before: time(&cert.validity().not_before),
        not_after: time(&cert.validity().not_after),
        uri_sans,
        dns_sans,
        is_ca: cert.is_ca(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_reads_back() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = vec![rcgen::SanType::URI(
            "spiffe://cluster.local/ns/default/sa/a"
                .try_into()
                .expect("ia5"),
        )];
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0, 0x1f, 0x02]));
        let cert = params.self_signed(&key).expect("cert");
        let pem = cert.pem();
        let ders = certificates(&pem).expect("one certificate");
        assert_eq!(ders.len(), 1);
        assert_eq!(to_pem(&ders[0]).trim(), pem.trim());
        let info = cert_info(&ders[0]).expect("x509");
        assert_eq!(info.serial, "1f02");
        assert_eq!(info.uri_sans, ["spiffe://cluster.local/ns/default/sa/a"]);
        assert!(!info.is_ca);
        assert!(info.not_before < info.not_after);
    }

    #[test]
    fn bundles_without_certificates_are_errors() {
        assert_eq!(certificates(""), Err(PemError::NoCertificate));
        assert!(
            certificates("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n").is_err()
        );
    }
}
