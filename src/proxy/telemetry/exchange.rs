//! One request's telemetry record: started when its head is read, filled in by the request
//! path (the listener's reporter, the peer workload, the destination service, the response
//! flags, the status), and reported when the response's last byte is written, or when the
//! client goes away first.

use std::time::Instant;

use super::flags::{Flag, ResponseFlags};
use super::metrics::{IstioMetrics, Key, Observation, PeerId, Reporter, Security, ServiceId};

/// A request in flight, as telemetry sees it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub started: Instant,
    pub key: Key,
    /// Request bytes received: its head and body on the wire.
    pub request_bytes: u64,
    /// The caller announced itself with metadata-exchange headers: the response announces
    /// this proxy back.
    pub announce: bool,
}

impl Exchange {
    pub fn new(request_bytes: u64) -> Exchange {
        Exchange {
            started: Instant::now(),
            key: Key::default(),
            request_bytes,
            announce: false,
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

    pub fn flag(&mut self, flag: Flag) {
        self.key.flags.set(flag);
    }

    pub fn flags(&self) -> ResponseFlags {
        self.key.flags
    }

    /// Reports the request: `response_bytes` written, `complete` when the whole response was.
    pub fn finish(mut self, metrics: &IstioMetrics, response_bytes: u64, complete: bool) {
        if !complete {
            self.key.flags.set(Flag::DownstreamConnectionTermination);
        }
        metrics.record(
            self.key,
            Observation {
                duration: self.started.elapsed(),
                request_bytes: self.request_bytes,
                response_bytes,
            },
        );
    }
}
