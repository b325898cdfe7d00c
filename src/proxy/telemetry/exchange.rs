//! One request's telemetry record: started when its head is read, filled in by the request
//! path (the listener's reporter, the peer workload, the destination service, the response
//! flags and details, the status), and reported when the response's last byte is written, or
//! when the client goes away first: to Istio's metrics always, and to the listener's access log
//! when it has one.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::{HeaderMap, Method, Version};

use super::access_log::{AccessLog, Entry};
use super::flags::{Flag, ResponseFlags};
use super::metrics::{IstioMetrics, Key, Observation, PeerId, Reporter, Security, ServiceId};

/// What an access log line needs beyond the metrics, kept only for listeners that log.
#[derive(Debug)]
pub struct LogRecord {
    pub log: Arc<AccessLog>,
    pub start: SystemTime,
    pub method: Method,
    pub path: String,
    pub authority: String,
    pub scheme: &'static str,
    pub version: Version,
    /// The request's headers as forwarded (with the `x-request-id` the proxy added).
    pub request_headers: HeaderMap,
    pub response_headers: HeaderMap,
    pub upstream_host: Option<String>,
    pub upstream_cluster: Option<String>,
    pub route_name: Option<String>,
    pub failure: Option<String>,
    pub downstream_local: Option<SocketAddr>,
    /// The client as the connection manager names it (see `Forwarded::remote_address`).
    pub downstream_remote: Option<SocketAddr>,
    /// The connection's peer.
    pub downstream_direct_remote: Option<SocketAddr>,
}

/// How much of the response was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sent {
    /// Bytes on the wire, head included.
    pub wire: u64,
    /// Body bytes.
    pub body: u64,
    /// The whole response was written.
    pub complete: bool,
}

/// A request in flight, as telemetry sees it.
#[derive(Debug)]
pub struct Exchange {
    pub started: Instant,
    pub key: Key,
    /// Request bytes received: its head and body on the wire.
    pub request_bytes: u64,
    /// Request body bytes.
    pub request_body: u64,
    /// The caller announced itself with metadata-exchange headers: the response announces
    /// this proxy back.
    pub announce: bool,
    /// Envoy's `%RESPONSE_CODE_DETAILS%`: why the response is what it is.
    pub details: Cow<'static, str>,
    pub log: Option<Box<LogRecord>>,
}

impl Exchange {
    pub fn new(request_bytes: u64) -> Exchange {
        Exchange {
            started: Instant::now(),
            key: Key::default(),
            request_bytes,
            request_body: 0,
            announce: false,
            details: Cow::Borrowed(""),
            log: None,
        }
    }

    /// The listener decides who reports: the server side of a sidecar's inbound listener
    /// knows its connection is plaintext, the client side cannot say.
    pub fn set_reporter(&mut self, reporter: Reporter) {
        self.key.reporter = reporter;
        self.key.security = match reporter {
            Reporter::Source => Security::Unknown,
            Reporter::Destination => Security::None,
        };
    }

    /// The server side of a connection that is mutual TLS (Istio's `mutual_tls`).
    pub fn set_mutual_tls(&mut self) {
        if self.key.reporter == Reporter::Destination {
            self.key.security = Security::MutualTls;
        }
    }

    pub fn set_peer(&mut self, peer: PeerId) {
        self.key.peer = peer;
    }

    pub fn set_service(&mut self, service: ServiceId) {
        self.key.service = service;
    }

    /// Records a flag and the details Envoy gives with it.
    pub fn flag(&mut self, flag: Flag, details: &'static str) {
        self.key.flags.set(flag);
        self.details = Cow::Borrowed(details);
    }

    pub fn flags(&self) -> ResponseFlags {
        self.key.flags
    }

    /// The access log's record, when the listener logs.
    pub fn log(&mut self) -> Option<&mut LogRecord> {
        self.log.as_deref_mut()
    }

    /// Reports the request, now that its response was `sent`.
    pub fn finish(mut self, metrics: &IstioMetrics, sent: Sent) {
        if !sent.complete {
            self.key.flags.set(Flag::DownstreamConnectionTermination);
        }
        let duration = self.started.elapsed();
        metrics.record(
            self.key,
            Observation {
                duration,
                request_bytes: self.request_bytes,
                response_bytes: sent.wire,
            },
        );
        if let Some(record) = self.log {
            let entry = Entry {
                start: record.start,
                method: record.method.as_str(),
                path: &record.path,
                authority: &record.authority,
                scheme: record.scheme,
                version: record.version,
                request_headers: &record.request_headers,
                response_headers: Some(&record.response_headers),
                code: self.key.code,
                flags: self.key.flags,
                details: &self.details,
                failure: record.failure.as_deref(),
                bytes_received: self.request_body,
                bytes_sent: sent.body,
                duration,
                upstream_host: record.upstream_host.as_deref(),
                upstream_cluster: record.upstream_cluster.as_deref(),
                route_name: record.route_name.as_deref(),
                downstream_local: record.downstream_local,
                downstream_remote: record.downstream_remote,
                downstream_direct_remote: record.downstream_direct_remote,
            };
            record.log.writer.write(record.log.format.render(&entry));
        }
    }
}
