//! Envoy's file access log (`envoy.access_loggers.file`), as Istio configures it from
//! `meshConfig.accessLogFile`, `accessLogEncoding` and `accessLogFormat` over xDS: a format of literal text
//! and `%COMMAND%` operators ([`Format`]), or a JSON object of them, rendered per request into
//! one line.
//!
//! A line is formatted on the worker that served the request (only when the listener logs at
//! all) and handed to the file's writer thread through a bounded queue: the request path never
//! waits on the file. When the writer falls behind by a whole queue, lines are dropped and
//! counted rather than slowing requests down.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use envoy_types::pb::envoy::config::accesslog::v3::{AccessLog as AccessLogConfig, access_log};
use envoy_types::pb::envoy::config::core::v3::{data_source, substitution_format_string};
use envoy_types::pb::envoy::extensions::access_loggers::file::v3::{
    FileAccessLog, file_access_log,
};
use envoy_types::pb::google::protobuf::{Struct, value};
use http::{HeaderMap, Version};

use super::flags::ResponseFlags;
use crate::xds::types::unpack_any;

const FILE_ACCESS_LOG_TYPE: &str =
    "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

/// Envoy's own default format, for a file logger configured without one (Istio always sends
/// its format; the control plane's defaults are in `discovery::translate::telemetry`).
pub const ENVOY_DEFAULT_FORMAT: &str = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

/// Lines a writer may be behind before new ones are dropped.
const QUEUE: usize = 16 * 1024;

/// Where a request header comes from in `%REQ(…)%`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRef {
    Method,
    Path,
    Authority,
    Scheme,
    Named(http::HeaderName),
}

impl HeaderRef {
    fn parse(name: &str) -> Option<HeaderRef> {
        Some(match name.to_ascii_lowercase().as_str() {
            ":method" => HeaderRef::Method,
            ":path" => HeaderRef::Path,
            ":authority" | "host" => HeaderRef::Authority,
            ":scheme" => HeaderRef::Scheme,
            other => HeaderRef::Named(http::HeaderName::from_bytes(other.as_bytes()).ok()?),
        })
    }
}

/// One `%COMMAND%` of Envoy's format strings, or literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Text(String),
    StartTime,
    /// `%REQ(X?Y):N%`: header X, else Y, cut to N characters.
    Request(HeaderRef, Option<HeaderRef>, Option<usize>),
    Response(http::HeaderName, Option<http::HeaderName>, Option<usize>),
    Protocol,
    ResponseCode,
    ResponseFlags,
    ResponseCodeDetails,
    ConnectionTerminationDetails,
    UpstreamTransportFailureReason,
    BytesReceived,
    BytesSent,
    Duration,
    UpstreamHost,
    UpstreamCluster,
    UpstreamLocalAddress,
    DownstreamLocalAddress,
    DownstreamRemoteAddress,
    DownstreamRemoteAddressWithoutPort,
    DownstreamDirectRemoteAddress,
    DownstreamDirectRemoteAddressWithoutPort,
    RequestedServerName,
    RouteName,
}

/// Why a format was refused (the listener is NACKed, as Envoy rejects it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("access log format: unknown command operator %{0}%")]
    Unknown(String),
    #[error("access log format: %{0} is not closed")]
    Unclosed(String),
}

fn parse_ops(format: &str) -> Result<Vec<Op>, FormatError> {
    let mut ops = Vec::new();
    let mut text = String::new();
    let mut rest = format;
    while let Some(at) = rest.find('%') {
        text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // `%%` is a literal percent sign... only where no operator follows, as Envoy reads it.
        let Some(end) = after.find('%') else {
            return Err(FormatError::Unclosed(after.to_string()));
        };
        let command = &after[..end];
        rest = &after[end + 1..];
        if command.is_empty() {
            text.push('%');
            continue;
        }
        if !text.is_empty() {
            ops.push(Op::Text(std::mem::take(&mut text)));
        }
        ops.push(parse_op(command)?);
    }
    text.push_str(rest);
    if !text.is_empty() {
        ops.push(Op::Text(text));
    }
    Ok(ops)
}

fn parse_op(command: &str) -> Result<Op, FormatError> {
    let unknown = || FormatError::Unknown(command.to_string());
    // `REQ(a?b):12`
    if let Some((kind, args)) = command.split_once('(') {
        let (inside, after) = args.split_once(')').ok_or_else(unknown)?;
        let max = match after.strip_prefix(':') {
            Some(n) => Some(n.parse().map_err(|_| unknown())?),
            None if after.is_empty() => None,
            None => return Err(unknown()),
        };
        let (main, alt) = match inside.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (inside, None),
        };
        return match kind {
            "REQ" => Ok(Op::Request(
                HeaderRef::parse(main).ok_or_else(unknown)?,
                alt.map(|a| HeaderRef::parse(a).ok_or_else(unknown))
                    .transpose()?,
                max,
            )),
            "RESP" => {
                let name = |n: &str| {
                    http::HeaderName::from_bytes(n.to_ascii_lowercase().as_bytes())
                        .map_err(|_| unknown())
                };
                Ok(Op::Response(name(main)?, alt.map(name).transpose()?, max))
            }
            // `%START_TIME(%Y…)%`: custom time formats print Envoy's default one.
            "START_TIME" => Ok(Op::StartTime),
            _ => Err(unknown()),
        };
    }
    Ok(match command {
        "START_TIME" => Op::StartTime,
        "PROTOCOL" => Op::Protocol,
        "RESPONSE_CODE" => Op::ResponseCode,
        "RESPONSE_FLAGS" => Op::ResponseFlags,
        "RESPONSE_CODE_DETAILS" => Op::ResponseCodeDetails,
        "CONNECTION_TERMINATION_DETAILS" => Op::ConnectionTerminationDetails,
        "UPSTREAM_TRANSPORT_FAILURE_REASON" => Op::UpstreamTransportFailureReason,
        "BYTES_RECEIVED" => Op::BytesReceived,
        "BYTES_SENT" => Op::BytesSent,
        "DURATION" => Op::Duration,
        "UPSTREAM_HOST" => Op::UpstreamHost,
        "UPSTREAM_CLUSTER" | "UPSTREAM_CLUSTER_RAW" => Op::UpstreamCluster,
        "UPSTREAM_LOCAL_ADDRESS" => Op::UpstreamLocalAddress,
        "DOWNSTREAM_LOCAL_ADDRESS" => Op::DownstreamLocalAddress,
        "DOWNSTREAM_REMOTE_ADDRESS" | "DOWNSTREAM_PEER_ADDRESS" => Op::DownstreamRemoteAddress,
        "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT" => Op::DownstreamRemoteAddressWithoutPort,
        "DOWNSTREAM_DIRECT_REMOTE_ADDRESS" => Op::DownstreamDirectRemoteAddress,
        "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT" => {
            Op::DownstreamDirectRemoteAddressWithoutPort
        }
        "REQUESTED_SERVER_NAME" => Op::RequestedServerName,
        "ROUTE_NAME" => Op::RouteName,
        _ => return Err(unknown()),
    })
}

/// A compiled access log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Text(Vec<Op>),
    /// Keys in output order (Envoy writes a `Struct`'s keys sorted).
    Json(Vec<(String, Vec<Op>)>),
}

impl Format {
    pub fn text(format: &str) -> Result<Format, FormatError> {
        parse_ops(format).map(Format::Text)
    }

    pub fn json<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Format, FormatError> {
        let mut out = Vec::new();
        for (k, v) in fields {
            out.push((k.to_string(), parse_ops(v)?));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Format::Json(out))
    }

    /// One line for `entry`, newline-terminated.
    pub fn render(&self, entry: &Entry<'_>) -> String {
        let mut out = String::with_capacity(256);
        match self {
            Format::Text(ops) => {
                for op in ops {
                    match op {
                        Op::Text(t) => out.push_str(t),
                        op => match value(op, entry) {
                            Some(Value::Text(s)) => out.push_str(&s),
                            Some(Value::Number(n)) => {
                                let _ = write!(out, "{n}");
                            }
                            None => out.push('-'),
                        },
                    }
                }
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            Format::Json(fields) => {
                let mut map = serde_json::Map::new();
                for (key, ops) in fields {
                    let v = match ops.as_slice() {
                        [op] if !matches!(op, Op::Text(_)) => match value(op, entry) {
                            Some(Value::Text(s)) => serde_json::Value::String(s),
                            Some(Value::Number(n)) => serde_json::Value::from(n),
                            None => serde_json::Value::Null,
                        },
                        ops => {
                            let mut s = String::new();
                            for op in ops {
                                match op {
                                    Op::Text(t) => s.push_str(t),
                                    op => match value(op, entry) {
                                        Some(Value::Text(t)) => s.push_str(&t),
                                        Some(Value::Number(n)) => {
                                            let _ = write!(s, "{n}");
                                        }
                                        None => s.push('-'),
                                    },
                                }
                            }
                            serde_json::Value::String(s)
                        }
                    };
                    map.insert(key.clone(), v);
                }
                out = serde_json::Value::Object(map).to_string();
                out.push('\n');
            }
        }
        out
    }
}

enum Value {
    Text(String),
    Number(u64),
}

/// What a log line can tell about one request.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub start: SystemTime,
    pub method: &'a str,
    pub path: &'a str,
    pub authority: &'a str,
    pub scheme: &'a str,
    pub version: Version,
    pub request_headers: &'a HeaderMap,
    pub response_headers: Option<&'a HeaderMap>,
    pub code: u16,
    pub flags: ResponseFlags,
    pub details: &'a str,
    pub failure: Option<&'a str>,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub duration: Duration,
    pub upstream_host: Option<&'a str>,
    pub upstream_cluster: Option<&'a str>,
    pub route_name: Option<&'a str>,
    pub downstream_local: Option<SocketAddr>,
    /// The client: behind trusted proxies (and past a sidecar's forwarding gateway) the one
    /// `x-forwarded-for` names, with port 0, as Envoy's stream info has it.
    pub downstream_remote: Option<SocketAddr>,
    /// The connection's peer, whatever the headers say.
    pub downstream_direct_remote: Option<SocketAddr>,
}

fn cut(s: &str, max: Option<usize>) -> String {
    match max {
        Some(n) => s.chars().take(n).collect(),
        None => s.to_string(),
    }
}

fn value(op: &Op, e: &Entry<'_>) -> Option<Value> {
    let text = |s: &str| (!s.is_empty()).then(|| Value::Text(s.to_string()));
    match op {
        Op::Text(t) => text(t),
        Op::StartTime => Some(Value::Text(iso8601(e.start))),
        Op::Request(main, alt, max) => {
            let get = |h: &HeaderRef| -> Option<&str> {
                match h {
                    HeaderRef::Method => Some(e.method),
                    HeaderRef::Path => Some(e.path),
                    HeaderRef::Authority => Some(e.authority),
                    HeaderRef::Scheme => Some(e.scheme),
                    HeaderRef::Named(n) => e.request_headers.get(n)?.to_str().ok(),
                }
                .filter(|s| !s.is_empty())
            };
            let v = get(main).or_else(|| alt.as_ref().and_then(get))?;
            Some(Value::Text(cut(v, *max)))
        }
        Op::Response(main, alt, max) => {
            let headers = e.response_headers?;
            let get = |n: &http::HeaderName| headers.get(n).and_then(|v| v.to_str().ok());
            let v = get(main).or_else(|| alt.as_ref().and_then(get))?;
            Some(Value::Text(cut(v, *max)))
        }
        Op::Protocol => text(match e.version {
            Version::HTTP_10 => "HTTP/1.0",
            Version::HTTP_11 => "HTTP/1.1",
            Version::HTTP_2 => "HTTP/2",
            _ => "",
        }),
        Op::ResponseCode => Some(Value::Number(u64::from(e.code))),
        Op::ResponseFlags => Some(Value::Text(e.flags.to_string())),
        Op::ResponseCodeDetails => text(e.details),
        Op::ConnectionTerminationDetails | Op::UpstreamLocalAddress | Op::RequestedServerName => {
            None
        }
        Op::UpstreamTransportFailureReason => e.failure.and_then(text),
        Op::BytesReceived => Some(Value::Number(e.bytes_received)),
        Op::BytesSent => Some(Value::Number(e.bytes_sent)),
        Op::Duration => Some(Value::Number(
            u64::try_from(e.duration.as_millis()).unwrap_or(u64::MAX),
        )),
        Op::UpstreamHost => e.upstream_host.and_then(text),
        Op::UpstreamCluster => e.upstream_cluster.and_then(text),
        Op::RouteName => e.route_name.and_then(text),
        Op::DownstreamLocalAddress => e.downstream_local.map(|a| Value::Text(a.to_string())),
        Op::DownstreamRemoteAddress => e.downstream_remote.map(|a| Value::Text(a.to_string())),
        Op::DownstreamRemoteAddressWithoutPort => {
            e.downstream_remote.map(|a| Value::Text(a.ip().to_string()))
        }
        Op::DownstreamDirectRemoteAddress => e
            .downstream_direct_remote
            .map(|a| Value::Text(a.to_string())),
        Op::DownstreamDirectRemoteAddressWithoutPort => e
            .downstream_direct_remote
            .map(|a| Value::Text(a.ip().to_string())),
    }
}

/// `2022-04-18T12:09:44.091Z`, Envoy's default `%START_TIME%`.
pub fn iso8601(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// One log file's writer thread, fed through a bounded queue.
#[derive(Debug)]
pub struct Writer {
    path: String,
    queue: SyncSender<String>,
    dropped: AtomicU64,
}

impl Writer {
    /// Queues a line; drops it when the writer is a whole queue behind.
    pub fn write(&self, line: String) {
        match self.queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The open log files, by path, shared by every listener that logs to one: a config update
/// keeps the file and its thread.
#[derive(Debug, Default)]
pub struct Files {
    open: Mutex<HashMap<String, Weak<Writer>>>,
}

impl Files {
    /// The writer of `path`, opening it (for appending) when no listener logs there yet.
    pub fn writer(&self, path: &str) -> std::io::Result<Arc<Writer>> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = open.get(path).and_then(Weak::upgrade) {
            return Ok(w);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let (tx, rx) = mpsc::sync_channel::<String>(QUEUE);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(file);
                // Write what is queued, flush when the queue is empty: one write per burst.
                while let Ok(line) = rx.recv() {
                    let _ = out.write_all(line.as_bytes());
                    while let Ok(line) = rx.try_recv() {
                        let _ = out.write_all(line.as_bytes());
                    }
                    let _ = out.flush();
                }
            })?;
        let writer = Arc::new(Writer {
            path: path.to_string(),
            queue: tx,
            dropped: AtomicU64::new(0),
        });
        open.retain(|_, w| w.strong_count() > 0);
        open.insert(path.to_string(), Arc::downgrade(&writer));
        Ok(writer)
    }
}

/// An access log as a listener has it: where and how.
#[derive(Debug)]
pub struct AccessLog {
    pub writer: Arc<Writer>,
    pub format: Format,
}

/// The file logger of an HTTP connection manager's `access_log` entry; `Ok(None)` for other
/// loggers, which the proxy does not have. A format it cannot render, or a file it cannot
/// open, is an error (the listener is NACKed, as Envoy does).
pub fn compile(entry: &AccessLogConfig, files: &Files) -> Result<Option<AccessLog>, String> {
    let Some(access_log::ConfigType::TypedConfig(any)) = &entry.config_type else {
        return Ok(None);
    };
    if any.type_url != FILE_ACCESS_LOG_TYPE {
        return Ok(None);
    }
    let file: FileAccessLog = unpack_any(any).map_err(|e| e.to_string())?;
    let json = |s: &Struct| -> Result<Format, FormatError> {
        let fields: Vec<(&str, &str)> = s
            .fields
            .iter()
            .filter_map(|(k, v)| match &v.kind {
                Some(value::Kind::StringValue(v)) => Some((k.as_str(), v.as_str())),
                _ => None,
            })
            .collect();
        Format::json(fields)
    };
    #[allow(deprecated)]
    let format = match &file.access_log_format {
        None => Format::text(ENVOY_DEFAULT_FORMAT),
        Some(file_access_log::AccessLogFormat::Format(s)) => Format::text(s),
        Some(
            file_access_log::AccessLogFormat::JsonFormat(s)
            | file_access_log::AccessLogFormat::TypedJsonFormat(s),
        ) => json(s),
        Some(file_access_log::AccessLogFormat::LogFormat(f)) => match &f.format {
            None => Format::text(ENVOY_DEFAULT_FORMAT),
            Some(substitution_format_string::Format::TextFormat(s)) => Format::text(s),
            Some(substitution_format_string::Format::JsonFormat(s)) => json(s),
            Some(substitution_format_string::Format::TextFormatSource(source)) => {
                match &source.specifier {
                    Some(data_source::Specifier::InlineString(s)) => Format::text(s),
                    _ => {
                        return Err(format!(
                            "access log {}: only inline format strings are supported",
                            file.path
                        ));
                    }
                }
            }
        },
    }
    .map_err(|e| format!("access log {}: {e}", file.path))?;
    let writer = files
        .writer(&file.path)
        .map_err(|e| format!("access log {}: {e}", file.path))?;
    Ok(Some(AccessLog { writer, format }))
}

#[cfg(test)]
mod tests;
