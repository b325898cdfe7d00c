//! Envoy's admin API on 127.0.0.1:15000: the paths and response shapes Envoy has, so tools
//! written for Envoy (`istioctl proxy-config`, `ferryctl proxy-config`, Prometheus) read our
//! proxy as they read Envoy. This module serves and routes; each endpoint's rendering is a
//! pure function in its own file.

mod clusters;
mod listeners;
mod logging;
mod prometheus;
mod server_info;
mod stats;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use envoy_types::pb::envoy::config::core::v3::Node;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use server_info::CommandLine;

use super::dump::{BootInfo, config_dump};
use super::logging::LogControl;
use super::state::Shared;
use crate::xds::dump::DumpQuery;

/// What the admin server needs besides the config.
pub struct AdminContext {
    pub shared: Arc<Shared>,
    /// Set by `/quitquitquit`.
    pub quit: watch::Sender<bool>,
    /// The proxy's bootstrap (its node), for `/config_dump`.
    pub boot: BootInfo,
    /// The node the proxy presents to the control plane (`/server_info`).
    pub node: Node,
    pub command_line: CommandLine,
    /// Log levels (`/logging`).
    pub logging: Arc<LogControl>,
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

const TEXT: &str = "text/plain; charset=UTF-8";
const JSON: &str = "application/json";
/// Prometheus' text exposition format, version 0.0.4.
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=UTF-8";

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

fn json_reply(value: &serde_json::Value) -> Response<Body> {
    let body = serde_json::to_string_pretty(value).unwrap_or_default();
    reply(StatusCode::OK, JSON, body + "\n")
}

/// One admin path, as Envoy's help lists it.
struct Handler {
    path: &'static str,
    help: &'static str,
    /// Envoy refuses anything but POST on paths that change the server.
    mutates: bool,
    /// Query parameters: name and help.
    params: &'static [(&'static str, &'static str)],
}

const HANDLERS: &[Handler] = &[
    Handler {
        path: "/",
        help: "Admin home page",
        mutates: false,
        params: &[],
    },
    Handler {
        path: "/clusters",
        help: "upstream cluster status",
        mutates: false,
        params: &[],
    },
    Handler {
        path: "/config_dump",
        help: "dump current Envoy configs (experimental)",
        mutates: false,
        params: &[
            ("resource", "The resource to dump"),
            (
                "mask",
                "The mask to apply. When both resource and mask are specified, the mask is applied to every element in the desired repeated field so that only a subset of fields are returned. The mask is parsed as a ProtobufWkt::FieldMask",
            ),
            (
                "name_regex",
                "Dump only the currently loaded configurations whose names match the specified regex. Can be used with both resource and mask query parameters.",
            ),
            (
                "include_eds",
                "Dump currently loaded configuration including EDS. See the response definition for more information",
            ),
        ],
    },
    Handler {
        path: "/help",
        help: "print out list of admin commands",
        mutates: false,
        params: &[],
    },
    Handler {
        path: "/listeners",
        help: "print listener info",
        mutates: false,
        params: &[("format", "File format to use; One of (text, json)")],
    },
    Handler {
        path: "/logging",
        help: "query/change logging levels",
        mutates: true,
        params: &[
            (
                "paths",
                "Change multiple logging levels by setting to \
                 <logger_name1>:<desired_level1>,<logger_name2>:<desired_level2>.",
            ),
            (
                "level",
                "desired logging level; One of (, trace, debug, info, warning, error, critical, off)",
            ),
        ],
    },
    Handler {
        path: "/quitquitquit",
        help: "exit the server",
        mutates: true,
        params: &[],
    },
    Handler {
        path: "/ready",
        help: "print server state, return 200 if LIVE, otherwise return 503",
        mutates: false,
        params: &[],
    },
    Handler {
        path: "/server_info",
        help: "print server version/status information",
        mutates: false,
        params: &[],
    },
    Handler {
        path: "/stats",
        help: "print server stats",
        mutates: false,
        params: &[
            (
                "usedonly",
                "Only include stats that have been written by system since restart",
            ),
            (
                "filter",
                "Regular expression (Google re2) for filtering stats",
            ),
            ("format", "Format to use; One of (text, json, prometheus)"),
        ],
    },
    Handler {
        path: "/stats/prometheus",
        help: "print server stats in prometheus format",
        mutates: false,
        params: &[
            (
                "usedonly",
                "Only include stats that have been written by system since restart",
            ),
            (
                "filter",
                "Regular expression (Google re2) for filtering stats",
            ),
        ],
    },
];

/// Envoy's help text: `admin commands are:`, then each path (sorted) with its help and
/// parameters.
fn help() -> String {
    let mut sorted: Vec<&Handler> = HANDLERS.iter().collect();
    sorted.sort_by_key(|h| h.path);
    let mut out = String::from("admin commands are:\n");
    for h in sorted {
        let post = if h.mutates { " (POST)" } else { "" };
        out.push_str(&format!("  {}{post}: {}\n", h.path, h.help));
        for (name, help) in h.params {
            out.push_str(&format!("      {name}: {help}\n"));
        }
    }
    out
}

/// `%XX` decoded; malformed escapes stay as they are.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or_default() * 16 + hex(l).unwrap_or_default();
                out.push(u8::try_from(v).unwrap_or_default());
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters, decoded, in order; the first of a repeated name wins, as in Envoy.
fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        if !out.iter().any(|(seen, _)| *seen == k) {
            out.push((k, v));
        }
    }
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
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
                async move { Ok::<_, Infallible>(handle(&ctx, &req)) }
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

fn handle(ctx: &AdminContext, req: &Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    let params = parse_query(req.uri().query());
    let method = req.method();
    // Istio's readiness path (pilot-agent's, served here since Ferry has no agent).
    if path == "/healthz/ready" {
        return ready(ctx);
    }
    let Some(handler) = HANDLERS.iter().find(|h| h.path == path) else {
        return reply(
            StatusCode::NOT_FOUND,
            TEXT,
            format!("invalid path. {}", help()),
        );
    };
    if handler.mutates && method != Method::POST {
        tracing::error!("admin path \"{path}\" mutates state, method={method} rather than POST");
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            format!("Method {method} not allowed, POST required."),
        );
    }
    let shared = &ctx.shared;
    match handler.path {
        "/" | "/help" => reply(StatusCode::OK, TEXT, help()),
        "/ready" => ready(ctx),
        "/quitquitquit" => {
            ctx.quit.send_replace(true);
            reply(StatusCode::OK, TEXT, "OK\n".into())
        }
        "/clusters" => {
            let (runtime, store) = (shared.runtime(), shared.store());
            if param(&params, "format") == Some("json") {
                json_reply(&clusters::json(&runtime, &store))
            } else {
                reply(StatusCode::OK, TEXT, clusters::text(&runtime, &store))
            }
        }
        "/config_dump" => {
            let query = req.uri().query().unwrap_or("");
            match DumpQuery::from_query(query).and_then(|q| config_dump(shared, &ctx.boot, &q)) {
                Ok(json) => reply(StatusCode::OK, "application/json", json),
                Err(e) => reply(
                    StatusCode::from_u16(e.http_status())
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    TEXT,
                    format!("{e}\n"),
                ),
            }
        }
        "/listeners" => {
            let bound = shared.bound();
            if param(&params, "format") == Some("json") {
                json_reply(&listeners::json(&bound))
            } else {
                reply(StatusCode::OK, TEXT, listeners::text(&bound))
            }
        }
        "/logging" => {
            let (status, body) = logging::handle(&ctx.logging, &params);
            reply(status, TEXT, body)
        }
        "/server_info" => json_reply(&server_info::render(
            &ctx.node,
            &ctx.command_line,
            shared.is_ready(),
            shared.stats.started.elapsed(),
        )),
        "/stats" | "/stats/prometheus" => {
            let filter = match param(&params, "filter").map(regex::Regex::new) {
                None => None,
                Some(Ok(re)) => Some(re),
                Some(Err(_)) => {
                    return reply(StatusCode::BAD_REQUEST, TEXT, "Invalid re2 regex".into());
                }
            };
            let used_only = param(&params, "usedonly").is_some();
            let selected = stats::select(shared.stats.snapshot(), filter.as_ref(), used_only);
            let format = if handler.path == "/stats/prometheus" {
                "prometheus"
            } else {
                param(&params, "format").unwrap_or("text")
            };
            match format {
                "json" => json_reply(&stats::json(&selected)),
                "prometheus" => {
                    let mut text = prometheus::render(&selected);
                    // Istio's metrics, when the filter lets any of their names through.
                    let istio = [
                        "istio_requests_total",
                        "istio_request_duration_milliseconds",
                        "istio_request_bytes",
                        "istio_response_bytes",
                        "istio_tcp_connections_closed_total",
                        "istio_tcp_connections_opened_total",
                        "istio_tcp_received_bytes_total",
                        "istio_tcp_sent_bytes_total",
                    ];
                    if filter
                        .as_ref()
                        .is_none_or(|re| istio.iter().any(|name| re.is_match(name)))
                    {
                        shared.stats.istio.render(&mut text);
                    }
                    reply(StatusCode::OK, PROMETHEUS, text)
                }
                "text" => reply(StatusCode::OK, TEXT, stats::text(&selected)),
                other => reply(
                    StatusCode::BAD_REQUEST,
                    TEXT,
                    format!("usage: /stats?format=(json|prometheus|text), not {other:?}\n"),
                ),
            }
        }
        _ => unreachable!("every path in HANDLERS has an arm"),
    }
}

/// Envoy's `/ready`: the server state, 200 only when LIVE.
fn ready(ctx: &AdminContext) -> Response<Body> {
    if ctx.shared.is_draining() {
        reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, "DRAINING\n".into())
    } else if ctx.shared.is_ready() {
        reply(StatusCode::OK, TEXT, "LIVE\n".into())
    } else {
        reply(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "PRE_INITIALIZING\n".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_paths_sorted_with_post_marks() {
        let h = help();
        assert!(h.starts_with("admin commands are:\n  /: Admin home page\n"));
        assert!(h.contains("\n  /logging (POST): query/change logging levels\n"));
        assert!(h.contains("\n  /quitquitquit (POST): exit the server\n"));
        assert!(h.contains("\n      format: File format to use; One of (text, json)\n"));
        let paths: Vec<&str> = h
            .lines()
            .filter(|l| l.starts_with("  /"))
            .filter_map(|l| l.trim().split([':', ' ']).next())
            .collect();
        let mut sorted = paths.clone();
        sorted.sort_unstable();
        assert_eq!(paths, sorted);
        assert_eq!(paths.len(), HANDLERS.len());
    }

    #[test]
    fn queries_decode_and_keep_the_first() {
        assert_eq!(
            parse_query(Some("paths=router%3Adebug%2Chttp%3Ainfo&usedonly&paths=x")),
            vec![
                ("paths".to_string(), "router:debug,http:info".to_string()),
                ("usedonly".to_string(), String::new()),
            ]
        );
        assert_eq!(parse_query(None), vec![]);
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("outbound%7C9080"), "outbound|9080");
    }
}
