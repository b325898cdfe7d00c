//! istiod's sidecar-injection webhook: `POST /inject` over HTTPS (istiod's 15017), answering
//! AdmissionReviews with `inject::review`. The injector config in force comes from files or is
//! watched in the cluster's `istio-sidecar-injector[-<rev>]` ConfigMap, as istiod does when the
//! ConfigMap is not mounted; until there is one, pods are denied with the reason.

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_stream::StreamExt as _;

use crate::inject::{self, Injector, InjectorConfig, MeshSettings, Values};

/// The largest AdmissionReview read: the API server sends at most a few MiB per object.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// How long a client gets to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the webhook cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("--tlsCertFile {file}: {message}")]
    Cert { file: String, message: String },
    #[error("--tlsKeyFile {file}: {message}")]
    Key { file: String, message: String },
    #[error("the webhook's certificate and key do not go together: {0}")]
    Tls(#[from] rustls::Error),
}

/// The serving certificate from PEM files (chain first, leaf first in it).
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, WebhookError> {
    let cert_error = |message: String| WebhookError::Cert {
        file: cert.display().to_string(),
        message,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(cert_error("no CERTIFICATE in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| WebhookError::Key {
        file: key.display().to_string(),
        message: e.to_string(),
    })?;
    // ring, the provider kube's client uses: one crypto provider in the process.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The injector config in force, or why there is none; swapped when the ConfigMap changes.
pub struct InjectorState {
    current: RwLock<Result<Arc<Injector>, String>>,
}

impl InjectorState {
    pub fn new(initial: Result<Injector, String>) -> Arc<InjectorState> {
        Arc::new(InjectorState {
            current: RwLock::new(initial.map(Arc::new)),
        })
    }

    pub fn set(&self, next: Result<Injector, String>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = next.map(Arc::new);
    }

    pub fn current(&self) -> Result<Arc<Injector>, String> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// An injector from the ConfigMap's `config` and `values` texts.
pub fn injector(config: &str, values: &str, mesh: &MeshSettings) -> Result<Injector, String> {
    Ok(Injector {
        config: InjectorConfig::parse(config).map_err(|e| e.to_string())?,
        values: Values::parse(values).map_err(|e| e.to_string())?,
        mesh: mesh.clone(),
    })
}

/// Keeps `state` in step with ConfigMap `namespace/name` until `stop`.
pub async fn watch_configmap(
    client: Client,
    namespace: String,
    name: String,
    mesh: MeshSettings,
    state: Arc<InjectorState>,
    mut stop: watch::Receiver<bool>,
) {
    let api: Api<ConfigMap> = Api::namespaced(client, &namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    // Backed off between retries, so a flapping API server is not hammered.
    let stream = watcher::watcher(api, config).default_backoff();
    tokio::pin!(stream);
    let id = format!("configmap {namespace}/{name}");
    let mut seen = false;
    loop {
        let event = tokio::select! {
            e = stream.next() => e,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Some(event) = event else { return };
        match event {
            Ok(Event::Apply(cm) | Event::InitApply(cm)) => {
                seen = true;
                let data = cm.data.unwrap_or_default();
                let text = |k: &str| data.get(k).map(String::as_str).unwrap_or("");
                let next = injector(text("config"), text("values"), &mesh)
                    .map_err(|e| format!("{id}: {e}"));
                match &next {
                    Ok(_) => crate::local::announce::say(&format!(
                        "ferryctl discovery: injecting with {id}"
                    )),
                    Err(e) => eprintln!("ferryctl discovery: {e}"),
                }
                state.set(next);
            }
            Ok(Event::Delete(_)) => {
                seen = false;
                eprintln!("ferryctl discovery: {id} deleted; pods are not injected");
                state.set(Err(format!("{id} was deleted")));
            }
            Ok(Event::Init) => seen = false,
            Ok(Event::InitDone) if !seen => {
                state.set(Err(format!("no injector config: {id} not found")));
            }
            Ok(Event::InitDone) => {}
            Err(e) => eprintln!("ferryctl discovery: watching {id}: {e}; retrying"),
        }
    }
}

/// Serves `/inject` on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: Arc<InjectorState>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: let it pass instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(req, &state).await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(req: Request<Incoming>, state: &InjectorState) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    // istiod also takes `/inject/cluster/<id>/net/<network>`; the suffix is not used here.
    if path != "/inject" && !path.starts_with("/inject/") {
        return text(StatusCode::NOT_FOUND, "404 page not found\n".into());
    }
    if req.method() != Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n".into());
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        // istiod's words.
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid Content-Type, want `application/json`\n".into(),
        );
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("reading the body: {e}\n")),
    };
    let current = state.current();
    let injector = current.as_deref().map_err(String::as_str);
    match inject::review(&body, injector) {
        Ok(answer) => {
            let mut r = Response::new(Full::new(Bytes::from(answer.to_string())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    }
}
