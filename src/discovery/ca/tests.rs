use std::path::Path;
use std::time::{Duration, SystemTime};

use super::cacerts::{CA_CERT, CA_KEY, CERT_CHAIN, ROOT_CERT};
use super::*;
use crate::identity::pem;

fn csr() -> (String, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    let csr = params.serialize_request(&key).expect("csr");
    (csr.pem().expect("pem"), key)
}

fn id() -> SpiffeId {
    SpiffeId::new("cluster.local", "default", "reviews")
}

/// Whether `child` (PEM) is signed by `parent`'s key.
fn signed_by(child: &str, parent: &str) -> bool {
    let child = pem::certificates(child).expect("child")[0].clone();
    let parent = pem::certificates(parent).expect("parent")[0].clone();
    let (_, c) = x509_parser::parse_x509_certificate(&child).expect("x509");
    let (_, p) = x509_parser::parse_x509_certificate(&parent).expect("x509");
    c.verify_signature(Some(p.public_key())).is_ok()
}

#[test]
fn a_workload_certificate_carries_the_callers_identity_for_its_ttl() {
    let ca = CertificateAuthority::load_or_create(None, "cluster.local", CertTtl::default())
        .expect("ca");
    assert_eq!(ca.source, RootSource::Generated);
    let (csr, _) = csr();
    let now = SystemTime::now();
    let chain = ca
        .sign_at(&csr, &id(), Duration::from_secs(3600), now)
        .expect("signed");
    assert_eq!(chain.len(), 2, "leaf and root");
    assert_eq!(chain[1].trim(), ca.roots().trim());
    assert!(signed_by(&chain[0], &chain[1]));
    let leaf = pem::cert_info(&pem::certificates(&chain[0]).expect("leaf")[0]).expect("x509");
    assert_eq!(
        leaf.uri_sans,
        ["spiffe://cluster.local/ns/default/sa/reviews"]
    );
    assert!(!leaf.is_ca);
    assert_eq!(leaf.serial.len(), 32, "128-bit serial: {}", leaf.serial);
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .expect("epoch")
            .as_secs()
    };
    assert_eq!(secs(leaf.not_after), secs(now) + 3600);
    assert_eq!(secs(leaf.not_before), secs(now) - 120);
    let root = pem::cert_info(&pem::certificates(ca.roots()).expect("root")[0]).expect("x509");
    assert!(root.is_ca);
}

#[test]
fn the_identity_is_the_callers_not_the_csrs() {
    let ca =
        CertificateAuthority::load_or_create(None, "example.org", CertTtl::default()).expect("ca");
    // A CSR asking for another identity gets the caller's.
    let key = rcgen::KeyPair::generate().expect("key");
    let params =
        rcgen::CertificateParams::new(vec!["admin.example.org".to_string()]).expect("params");
    let csr = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    let chain = ca
        .sign(
            &csr,
            &SpiffeId::new("example.org", "ns", "sa"),
            Duration::from_secs(60),
        )
        .expect("signed");
    let leaf = pem::cert_info(&pem::certificates(&chain[0]).expect("leaf")[0]).expect("x509");
    assert_eq!(leaf.uri_sans, ["spiffe://example.org/ns/ns/sa/sa"]);
    assert!(leaf.dns_sans.is_empty());
}

#[test]
fn a_csr_whose_signature_does_not_verify_is_refused() {
    let ca = CertificateAuthority::load_or_create(None, "cluster.local", CertTtl::default())
        .expect("ca");
    let (csr, _) = csr();
    use rustls::pki_types::pem::PemObject as _;
    let mut der = rustls::pki_types::CertificateSigningRequestDer::from_pem_slice(csr.as_bytes())
        .expect("csr der")
        .as_ref()
        .to_vec();
    // The signature is the last bytes.
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der)
    );
    assert!(matches!(
        ca.sign(&tampered, &id(), Duration::from_secs(60)),
        Err(CaError::Csr(_))
    ));
    assert!(matches!(
        ca.sign("not a csr", &id(), Duration::from_secs(60)),
        Err(CaError::Csr(_))
    ));
}

#[test]
fn ttls_default_and_are_capped() {
    let ttl = CertTtl {
        default: Duration::from_secs(600),
        max: Duration::from_secs(3600),
    };
    let ca = CertificateAuthority::load_or_create(None, "cluster.local", ttl).expect("ca");
    assert_eq!(ca.ttl_for(0).expect("default"), Duration::from_secs(600));
    assert_eq!(ca.ttl_for(-5).expect("default"), Duration::from_secs(600));
    assert_eq!(ca.ttl_for(60).expect("asked"), Duration::from_secs(60));
    let err = ca.ttl_for(7200).expect_err("over the max");
    assert_eq!(
        err.to_string(),
        "requested TTL 7200s is greater than the max allowed TTL 3600s"
    );
}

#[test]
fn a_generated_root_is_kept_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_dir = dir.path().join("ca");
    let first =
        CertificateAuthority::load_or_create(Some(&ca_dir), "cluster.local", CertTtl::default())
            .expect("ca");
    assert_eq!(first.source, RootSource::Generated);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(ca_dir.join(CA_KEY))
            .expect("key")
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "the key is the owner's alone: {mode:o}");
    let again =
        CertificateAuthority::load_or_create(Some(&ca_dir), "cluster.local", CertTtl::default())
            .expect("ca");
    assert_eq!(again.source, RootSource::SelfSigned);
    assert_eq!(first.roots(), again.roots());
    let (csr, _) = csr();
    let chain = again
        .sign(&csr, &id(), Duration::from_secs(60))
        .expect("signed");
    assert!(signed_by(&chain[0], first.roots()));
}

/// A root, and an intermediate it signed, written as Istio's plugged-in `cacerts`.
fn plug_in(dir: &Path) -> String {
    let root_key = rcgen::KeyPair::generate().expect("key");
    let mut root = rcgen::CertificateParams::default();
    root.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let root_cert = root.self_signed(&root_key).expect("root");
    let root_issuer = Issuer::new(root, root_key);
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut inter = rcgen::CertificateParams::default();
    inter.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    inter.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Intermediate CA");
    inter.distinguished_name = dn;
    let inter_cert = inter
        .signed_by(&ca_key, &root_issuer)
        .expect("intermediate");
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(dir.join(CA_CERT), inter_cert.pem()).expect("write");
    std::fs::write(dir.join(CA_KEY), ca_key.serialize_pem()).expect("write");
    std::fs::write(dir.join(ROOT_CERT), root_cert.pem()).expect("write");
    std::fs::write(
        dir.join(CERT_CHAIN),
        format!("{}{}", inter_cert.pem(), root_cert.pem()),
    )
    .expect("write");
    root_cert.pem()
}

#[test]
fn a_plugged_in_intermediate_signs_and_its_chain_follows_the_leaf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = plug_in(dir.path());
    let ca =
        CertificateAuthority::load_or_create(Some(dir.path()), "cluster.local", CertTtl::default())
            .expect("ca");
    assert_eq!(ca.source, RootSource::Plugged);
    assert_eq!(ca.roots().trim(), root.trim());
    let (csr, _) = csr();
    let chain = ca
        .sign(&csr, &id(), Duration::from_secs(60))
        .expect("signed");
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    assert!(signed_by(&chain[0], &chain[1]));
    assert!(signed_by(&chain[1], &chain[2]));
    assert!(!signed_by(&chain[0], &chain[2]));
}

#[test]
fn an_rsa_root_with_a_pkcs1_key_signs() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ca/rsa-pkcs1");
    let ca =
        CertificateAuthority::load_or_create(Some(&fixture), "cluster.local", CertTtl::default())
            .expect("ca");
    assert_eq!(ca.source, RootSource::SelfSigned);
    let (csr, _) = csr();
    let chain = ca
        .sign(&csr, &id(), Duration::from_secs(60))
        .expect("signed");
    assert!(signed_by(&chain[0], ca.roots()));
}

#[test]
fn broken_layouts_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    plug_in(dir.path());
    // A plugged-in CA without its chain.
    std::fs::remove_file(dir.path().join(CERT_CHAIN)).expect("rm");
    let err =
        CertificateAuthority::load_or_create(Some(dir.path()), "cluster.local", CertTtl::default())
            .expect_err("incomplete");
    assert!(err.to_string().contains("cert-chain.pem"), "{err}");
    // A key that is not the certificate's.
    std::fs::remove_file(dir.path().join(ROOT_CERT)).expect("rm");
    std::fs::write(
        dir.path().join(CA_KEY),
        rcgen::KeyPair::generate().expect("key").serialize_pem(),
    )
    .expect("write");
    let err =
        CertificateAuthority::load_or_create(Some(dir.path()), "cluster.local", CertTtl::default())
            .expect_err("mismatch");
    assert!(
        err.to_string().contains("is not the key of ca-cert.pem"),
        "{err}"
    );
    // A certificate without its key.
    std::fs::remove_file(dir.path().join(CA_KEY)).expect("rm");
    let err =
        CertificateAuthority::load_or_create(Some(dir.path()), "cluster.local", CertTtl::default())
            .expect_err("no key");
    assert!(err.to_string().contains("incomplete CA"), "{err}");
}
