//! Istio's certificate service, `istio.v1.auth.IstioCertificateService/CreateCertificate`
//! (`security/proto/providers/google/.../ca.proto` in istio/api): the proxy sends a PEM CSR and
//! the validity it asks for, authenticated by a bearer token in the `authorization` metadata;
//! the CA answers with the signed chain, leaf first and root last. Both messages are written by
//! hand (two fields each) rather than compiled from Istio's protos.
//!
//! [`CertificateServiceServer`] is the tonic service the control plane mounts next to ADS;
//! [`create_certificate`] is the proxy's call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::{Request, Status};

/// The gRPC service name.
pub const SERVICE_NAME: &str = "istio.v1.auth.IstioCertificateService";
/// The one method's path.
pub const CREATE_CERTIFICATE_PATH: &str =
    "/istio.v1.auth.IstioCertificateService/CreateCertificate";

/// `IstioCertificateRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateRequest {
    /// PEM-encoded certificate request.
    #[prost(string, tag = "1")]
    pub csr: String,
    /// Requested validity in seconds; 0 asks for the CA's default.
    #[prost(int64, tag = "3")]
    pub validity_duration: i64,
    /// Istio's request metadata (impersonation by istiod; Ferry ignores it).
    #[prost(message, optional, tag = "4")]
    pub metadata: Option<prost_types::Struct>,
}

/// `IstioCertificateResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateResponse {
    /// PEM certificates: the workload's first, the root last.
    #[prost(string, repeated, tag = "1")]
    pub cert_chain: Vec<String>,
}

/// What signs: the control plane's CA behind its authenticator.
pub trait CertificateSigner: Send + Sync + 'static {
    /// Answers one request (`request.metadata()` carries the caller's credentials).
    fn create_certificate<'a>(
        &'a self,
        request: &'a Request<IstioCertificateRequest>,
    ) -> Pin<Box<dyn Future<Output = Result<IstioCertificateResponse, Status>> + Send + 'a>>;
}

/// The bearer token of a request's `authorization` metadata, as Istio's authenticators read it.
pub fn bearer_token<T>(request: &Request<T>) -> Option<&str> {
    let value = request.metadata().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The tonic service of a [`CertificateSigner`].
#[derive(Clone)]
pub struct CertificateServiceServer {
    inner: Arc<dyn CertificateSigner>,
}

impl CertificateServiceServer {
    pub fn new(inner: Arc<dyn CertificateSigner>) -> Self {
        CertificateServiceServer { inner }
    }
}

impl tonic::server::NamedService for CertificateServiceServer {
    const NAME: &'static str = SERVICE_NAME;
}

/// The unary method, as tonic's server wants it.
struct CreateCertificate(Arc<dyn CertificateSigner>);

impl tonic::server::UnaryService<IstioCertificateRequest> for CreateCertificate {
    type Response = IstioCertificateResponse;
    type Future =
        Pin<Box<dyn Future<Output = Result<tonic::Response<Self::Response>, Status>> + Send>>;

    fn call(&mut self, request: Request<IstioCertificateRequest>) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move {
            inner
                .create_certificate(&request)
                .await
                .map(tonic::Response::new)
        })
    }
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

impl<B> tonic::codegen::Service<http::Request<B>> for CertificateServiceServer
where
    B: hyper::body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != CREATE_CERTIFICATE_PATH {
            return Box::pin(
                async move { Ok(Status::unimplemented("unknown method").into_http()) },
            );
        }
        let method = CreateCertificate(self.inner.clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(method, req).await)
        })
    }
}

/// Asks the CA on `channel` for a certificate for `csr_pem`, valid for `ttl`, authenticated by
/// `token`; the PEM chain, leaf first.
pub async fn create_certificate(
    channel: tonic::transport::Channel,
    token: Option<&str>,
    csr_pem: String,
    ttl: Duration,
) -> Result<Vec<String>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("certificate service not ready: {e}")))?;
    let mut request = Request::new(IstioCertificateRequest {
        csr: csr_pem,
        validity_duration: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
        metadata: None,
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::invalid_argument("the token is not valid metadata"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::from_static(CREATE_CERTIFICATE_PATH);
    let codec: tonic_prost::ProstCodec<IstioCertificateRequest, IstioCertificateResponse> =
        tonic_prost::ProstCodec::default();
    let response = grpc.unary(request, path, codec).await?;
    Ok(response.into_inner().cert_chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_as_istio_reads_them() {
        let with = |v: &str| {
            let mut r = Request::new(());
            r.metadata_mut()
                .insert("authorization", v.parse().expect("ascii"));
            r
        };
        assert_eq!(bearer_token(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("Basic abc")), None);
        assert_eq!(bearer_token(&with("Bearer ")), None);
        assert_eq!(bearer_token(&Request::new(())), None);
    }
}
