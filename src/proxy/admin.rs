//! Envoy's admin API on 127.0.0.1:15000: the paths and response shapes Envoy has, so tools
//! written for Envoy (and `ferryctl proxy-config`) read our proxy as they read Envoy.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::state::Shared;

/// What the admin server needs besides the config.
pub struct AdminContext {
    pub shared: Arc<Shared>,
    /// Set by `/quitquitquit`.
    pub quit: watch::Sender<bool>,
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

/// Serves the admin API until `stop` turns true.
pub async fn serve(listener: TcpListener, ctx: Arc<AdminContext>, mut stop: watch::Receiver<bool>) {
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
                async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds the admin address.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

async fn handle(ctx: &AdminContext, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let shared = &ctx.shared;
    match (method, path.as_str()) {
        (_, "/ready") | (_, "/healthz/ready") => {
            if shared.is_ready() {
                reply(StatusCode::OK, "text/plain", "LIVE\n".into())
            } else {
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "PRE_INITIALIZING\n".into(),
                )
            }
        }
        (Method::POST, "/quitquitquit") => {
            ctx.quit.send_replace(true);
            reply(StatusCode::OK, "text/plain", "OK\n".into())
        }
        (_, "/stats") => {
            let mut out = String::new();
            for s in shared.stats.snapshot() {
                out.push_str(&format!("{}: {}\n", s.name, s.value));
            }
            reply(StatusCode::OK, "text/plain", out)
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "invalid path. admin commands are:\n".into(),
        ),
    }
}
