//! The CA behind Istio's certificate service: authenticate the caller, check the TTL, sign.
//! Errors carry istiod's gRPC codes (`Unauthenticated`, `InvalidArgument`, `Internal`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tonic::{Request, Status};

use super::authn::Authenticator;
use super::{CaError, CertificateAuthority};
use crate::identity::SpiffeId;
use crate::identity::certificate_service::{
    CertificateSigner, IstioCertificateRequest, IstioCertificateResponse, bearer_token,
};

pub struct CaService {
    ca: Arc<CertificateAuthority>,
    /// `None`: nothing can prove who asks, so nobody gets a certificate.
    authn: Option<Box<dyn Authenticator>>,
}

impl CaService {
    pub fn new(ca: Arc<CertificateAuthority>, authn: Option<Box<dyn Authenticator>>) -> CaService {
        CaService { ca, authn }
    }
}

impl CertificateSigner for CaService {
    fn create_certificate<'a>(
        &'a self,
        request: &'a Request<IstioCertificateRequest>,
    ) -> Pin<Box<dyn Future<Output = Result<IstioCertificateResponse, Status>> + Send + 'a>> {
        Box::pin(async move {
            let Some(authn) = &self.authn else {
                return Err(Status::unauthenticated(
                    "request authenticate failure: this control plane has no authenticator \
                     (the local mesh uses --token-dir; on Kubernetes, ServiceAccount tokens)",
                ));
            };
            let caller = authn
                .authenticate(bearer_token(request))
                .await
                .map_err(|e| {
                    Status::unauthenticated(format!("request authenticate failure: {e}"))
                })?;
            let message = request.get_ref();
            let ttl = self
                .ca
                .ttl_for(message.validity_duration)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            let identity = SpiffeId::new(
                &self.ca.trust_domain,
                &caller.namespace,
                &caller.service_account,
            );
            let chain = self
                .ca
                .sign(&message.csr, &identity, ttl)
                .map_err(|e| match e {
                    CaError::Csr(_) => Status::invalid_argument(e.to_string()),
                    other => Status::internal(other.to_string()),
                })?;
            tracing::info!(target: "ferry::ca", %identity, ?ttl, "issued a workload certificate");
            Ok(IstioCertificateResponse { cert_chain: chain })
        })
    }
}
