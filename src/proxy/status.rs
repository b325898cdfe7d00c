//! The status port (Istio's pilot-agent status server, 15020): `/healthz/ready`, and the
//! application's probes that injection rewrote, `/app-health/<container>/livez|readyz|startupz`,
//! each run against the application with its original settings (`app_probe`). It listens on
//! every address: the kubelet probes the pod's IP. The same server, limited to `/healthz/ready`,
//! is the readiness port (Envoy's 15021 health listener in Istio's proxies), which the rendered
//! sidecar and gateway readiness probes name.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::app_probe;
use super::state::Shared;
use crate::inject::probe::AppProbers;

/// What the status server answers from.
pub struct StatusContext {
    pub shared: Arc<Shared>,
    /// `ISTIO_KUBE_APP_PROBERS`: the original probes by path.
    pub probers: AppProbers,
    /// Where the application is probed unless a probe names a host: the pod's IP.
    pub app_host: IpAddr,
}

/// Which of the two ports a server answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The status port: readiness and the rewritten application probes.
    Status,
    /// The readiness port: `/healthz/ready` only, as Istio's 15021.
    Readiness,
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    r
}

async fn handle(ctx: &StatusContext, role: Role, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if path == "/healthz/ready" {
        return if ctx.shared.is_ready() && !ctx.shared.is_draining() {
            reply(StatusCode::OK, String::new())
        } else {
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "proxy is not ready\n".into(),
            )
        };
    }
    if role == Role::Status && path.starts_with("/app-health/") {
        let Some(prober) = ctx.probers.get(path) else {
            return reply(
                StatusCode::NOT_FOUND,
                format!("app prober config does not exist for {path}\n"),
            );
        };
        let status = app_probe::run(prober, ctx.app_host, req.headers()).await;
        return reply(status, String::new());
    }
    reply(StatusCode::NOT_FOUND, format!("no handler for {path}\n"))
}

/// Serves the status or readiness port (`role`) until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<StatusContext>,
    role: Role,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(handle(&ctx, role, &req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
