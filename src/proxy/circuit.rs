//! A cluster's circuit breakers (Envoy's `circuit_breakers.thresholds`, default priority), as
//! Istio's DestinationRule `connectionPool` sets them:
//! - `max_requests` (`http.http2MaxRequests`): requests in flight to the cluster;
//! - `max_connections` (`tcp.maxConnections`): HTTP/1.1 connections busy with a request — an
//!   HTTP/1.1 connection carries one request at a time, so a request that finds them all busy
//!   waits for one, as a pending request;
//! - `max_pending_requests` (`http.http1MaxPendingRequests`): how many may wait.
//!
//! A request over a limit fails at once with Envoy's overflow (503, response flag `UO`) and
//! counts `upstream_rq_pending_overflow`; one that had to wait for a connection also counts
//! `upstream_cx_overflow`. Unlimited thresholds (Istio's defaults) cost one branch per request;
//! limited ones atomics, and a semaphore's queue only for requests that do wait.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::stats::ClusterStats;

/// Envoy's response flag for a request failed by a circuit breaker.
pub const RESPONSE_FLAG: &str = "UO";
/// The body of Envoy's local reply to an overflowed request.
pub const OVERFLOW_BODY: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: overflow";

/// Envoy's defaults for thresholds a cluster leaves unset.
const DEFAULT_LIMIT: u32 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: u32,
    pub max_pending_requests: u32,
    pub max_requests: u32,
}

impl Limits {
    /// The default-priority thresholds of `c`.
    pub fn of(c: &Cluster) -> Limits {
        let t = c
            .circuit_breakers
            .as_ref()
            .and_then(|cb| cb.thresholds.iter().find(|t| t.priority == 0));
        let pick = |v: Option<&envoy_types::pb::google::protobuf::UInt32Value>| {
            v.map_or(DEFAULT_LIMIT, |v| v.value)
        };
        Limits {
            max_connections: pick(t.and_then(|t| t.max_connections.as_ref())),
            max_pending_requests: pick(t.and_then(|t| t.max_pending_requests.as_ref())),
            max_requests: pick(t.and_then(|t| t.max_requests.as_ref())),
        }
    }
}

/// Above this a limit cannot be reached by a proxy's file descriptors: it is none.
const UNLIMITED: u32 = 1 << 24;

/// A request the breaker let through: holds its places until dropped.
pub struct Admission {
    /// The breaker that counts the request in flight; `None` when requests are unlimited.
    counted: Option<Arc<CircuitBreaker>>,
    _connection: Option<OwnedSemaphorePermit>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(breaker) = &self.counted {
            breaker.requests.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission").finish_non_exhaustive()
    }
}

/// The request was refused: a threshold was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// One cluster's breaker state, kept across config updates that keep its limits (so requests
/// in flight stay counted).
#[derive(Debug)]
pub struct CircuitBreaker {
    pub limits: Limits,
    requests: AtomicU64,
    pending: AtomicU64,
    /// `None` when connections are unlimited (Istio's default `MaxUint32`).
    connections: Option<Arc<Semaphore>>,
}

impl CircuitBreaker {
    pub fn new(limits: Limits) -> CircuitBreaker {
        CircuitBreaker {
            limits,
            requests: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            connections: (limits.max_connections < UNLIMITED)
                .then(|| Arc::new(Semaphore::new(limits.max_connections as usize))),
        }
    }

    /// Requests in flight, counted only while `max_requests` is a limit (for tests).
    pub fn active_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Admits one request; `http1` requests need a connection of their own.
    pub async fn admit(
        self: &Arc<Self>,
        http1: bool,
        stats: &ClusterStats,
    ) -> Result<Admission, Overflow> {
        // Unlimited requests (Istio's default) are not counted: counting is two atomic
        // read-modify-writes on the count and two on the breaker's reference count per
        // request (locked instructions on x86), for a limit no request reaches. A breaker whose limits
        // change is replaced, so one never sees a count it did not keep.
        let mut admission = Admission {
            counted: None,
            _connection: None,
        };
        if self.limits.max_requests < UNLIMITED {
            let requests = self.requests.fetch_add(1, Ordering::Relaxed);
            admission.counted = Some(self.clone());
            if requests >= u64::from(self.limits.max_requests) {
                stats.upstream_rq_pending_overflow.inc();
                return Err(Overflow);
            }
        }
        let Some(connections) = self.connections.as_ref().filter(|_| http1) else {
            return Ok(admission);
        };
        if let Ok(permit) = connections.clone().try_acquire_owned() {
            admission._connection = Some(permit);
            return Ok(admission);
        }
        // Every connection the breaker allows is busy: wait as a pending request, if there
        // is room.
        stats.upstream_cx_overflow.inc();
        let pending = self.pending.fetch_add(1, Ordering::Relaxed);
        let _leave = Leave(&self.pending);
        if pending >= u64::from(self.limits.max_pending_requests) {
            stats.upstream_rq_pending_overflow.inc();
            return Err(Overflow);
        }
        stats.upstream_rq_pending_total.inc();
        // Boxed: the wait is rare, and its future would be room in every request's.
        match Box::pin(connections.clone().acquire_owned()).await {
            Ok(permit) => {
                admission._connection = Some(permit);
                Ok(admission)
            }
            // The semaphore is never closed.
            Err(_) => Err(Overflow),
        }
    }
}

/// Leaves the pending queue when dropped (also when the waiting request is cancelled).
struct Leave<'a>(&'a AtomicU64);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request's admission until the body has been read or
/// dropped: an HTTP/1.1 connection is busy until the end of its response.
pub struct Admitted<B> {
    body: B,
    admission: Option<Admission>,
}

impl<B> Admitted<B> {
    pub fn new(body: B, admission: Admission) -> Admitted<B> {
        Admitted {
            body,
            admission: Some(admission),
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Admitted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = &frame {
            this.admission = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn breaker(max_connections: u32, max_pending: u32, max_requests: u32) -> Arc<CircuitBreaker> {
        Arc::new(CircuitBreaker::new(Limits {
            max_connections,
            max_pending_requests: max_pending,
            max_requests,
        }))
    }

    #[tokio::test]
    async fn one_connection_one_pending_then_overflow() {
        let b = breaker(1, 1, 1 << 20);
        let stats = ClusterStats::default();
        let first = b
            .admit(true, &stats)
            .await
            .expect("first has the connection");
        let waiting = {
            let b = b.clone();
            tokio::spawn(async move {
                let stats = ClusterStats::default();
                b.admit(true, &stats).await.map(|_| ())
            })
        };
        // Wait until the second request is pending.
        while b.pending.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(b.admit(true, &stats).await.err(), Some(Overflow));
        assert_eq!(stats.upstream_rq_pending_overflow.get(), 1);
        assert_eq!(stats.upstream_cx_overflow.get(), 1);
        drop(first);
        assert_eq!(waiting.await.expect("task"), Ok(()));
        assert_eq!(b.active_requests(), 0);
        assert_eq!(b.pending.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn max_requests_caps_requests_in_flight_of_any_protocol() {
        let b = breaker(u32::MAX, u32::MAX, 2);
        let stats = ClusterStats::default();
        let a = b.admit(false, &stats).await.expect("first");
        let _b = b.admit(false, &stats).await.expect("second");
        assert_eq!(b.admit(false, &stats).await.err(), Some(Overflow));
        drop(a);
        assert!(b.admit(false, &stats).await.is_ok());
        assert_eq!(stats.upstream_rq_pending_overflow.get(), 1);
    }

    #[tokio::test]
    async fn only_limited_requests_are_counted() {
        let stats = ClusterStats::default();
        let unlimited = breaker(u32::MAX, u32::MAX, u32::MAX);
        let held = unlimited.admit(true, &stats).await.expect("admitted");
        assert_eq!(unlimited.active_requests(), 0);
        drop(held);
        let limited = breaker(u32::MAX, u32::MAX, 1 << 20);
        let held = limited.admit(true, &stats).await.expect("admitted");
        assert_eq!(limited.active_requests(), 1);
        drop(held);
        assert_eq!(limited.active_requests(), 0);
    }

    #[tokio::test]
    async fn no_pending_room_overflows_at_once() {
        let b = breaker(1, 0, u32::MAX);
        let stats = ClusterStats::default();
        let _first = b.admit(true, &stats).await.expect("first");
        assert_eq!(b.admit(true, &stats).await.err(), Some(Overflow));
        // HTTP/2 requests share connections: only max_requests applies.
        assert!(b.admit(false, &stats).await.is_ok());
    }

    #[test]
    fn limits_default_to_envoys() {
        let l = Limits::of(&Cluster::default());
        assert_eq!(l.max_connections, 1024);
        assert_eq!(l.max_pending_requests, 1024);
    }
}
