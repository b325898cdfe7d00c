//! Downstream HTTP/2 bounds: the settings the proxy's HTTP/2 server announces and enforces, and
//! Envoy's premature-reset check, which closes a connection whose client keeps opening streams
//! and cancelling them (CVE-2023-44487, "rapid reset").
//!
//! Two layers, as in Envoy. The codec (h2, under hyper) refuses streams over
//! `SETTINGS_MAX_CONCURRENT_STREAMS` with REFUSED_STREAM, and answers a GOAWAY with
//! ENHANCE_YOUR_CALM to a client that resets many streams before they were even accepted or
//! that makes it refuse or reset too many streams. The connection manager ([`PrematureResets`])
//! sees what the codec cannot: streams that were accepted and handed to the router, then
//! cancelled by the client before any response. Each such stream costs the proxy a route
//! decision and possibly an upstream request, so a client whose streams are mostly cancelled
//! within a second is cut off.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::server::conn::http2::Builder;
use tokio::sync::Notify;

use super::stats::HttpStats;

/// `SETTINGS_MAX_CONCURRENT_STREAMS`. Envoy's default (2147483647) is meant for trusted mesh
/// traffic; its edge best practice sets 100 ("HTTP/2 max concurrent streams 100"), and so do
/// most HTTP/2 servers (nginx's `http2_max_concurrent_streams` is 128). A gateway faces
/// untrusted clients, and each stream may hold an upstream request: 100 bounds what one
/// connection can make the proxy hold at once. Streams beyond it are refused (REFUSED_STREAM),
/// which clients retry safely.
pub const MAX_CONCURRENT_STREAMS: u32 = 100;
/// `SETTINGS_INITIAL_WINDOW_SIZE` per stream, Envoy's edge best practice (64 KiB): what a
/// client may send on one stream before the proxy has forwarded it bounds the memory it holds
/// per stream.
pub const INITIAL_STREAM_WINDOW: u32 = 64 * 1024;
/// The connection's flow-control window, Envoy's edge best practice (1 MiB): the bound on
/// request bodies buffered across all streams of one connection.
pub const INITIAL_CONNECTION_WINDOW: u32 = 1024 * 1024;
/// Streams a client may reset before the proxy accepted them, before the codec sends GOAWAY
/// (ENHANCE_YOUR_CALM). h2's default (20), set here so that a change of default upstream
/// cannot silently lift it: this is the codec's half of the rapid-reset mitigation.
pub const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Streams the codec may have to reset or refuse for a client's protocol errors (including
/// streams over [`MAX_CONCURRENT_STREAMS`]) before it sends GOAWAY: h2's default, set for the
/// same reason (RUSTSEC-2024-0003).
pub const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;
/// A stream reset by the client within this of its start, without a response, is premature
/// (Envoy's `overload.premature_reset_min_stream_lifetime_seconds`, 1 s by default).
pub const PREMATURE_RESET_LIFETIME: Duration = Duration::from_secs(1);
/// Streams a connection must have closed before the premature share is judged (Envoy's
/// `overload.premature_reset_total_stream_count`, 500 by default).
pub const PREMATURE_RESET_STREAM_COUNT: u64 = 500;

/// Applies the bounds above to hyper's HTTP/2 server; `max_header_list_size` is the request
/// header limit HTTP/1.1 also has.
pub fn configure<E>(builder: &mut Builder<E>, max_header_list_size: u32) {
    builder
        .max_header_list_size(max_header_list_size)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(MAX_LOCAL_ERROR_RESET_STREAMS)
        .initial_stream_window_size(INITIAL_STREAM_WINDOW)
        .initial_connection_window_size(INITIAL_CONNECTION_WINDOW);
}

/// Envoy's premature-reset accounting for one connection (`ConnectionManagerImpl::
/// maybeDrainDueToPrematureResets`): every closed stream counts, those the client cancelled
/// early without a response count as premature, and the connection is closed once half of
/// [`PREMATURE_RESET_STREAM_COUNT`] streams were premature, or, past that count, half of all.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PrematureResets {
    closed: u64,
    premature: u64,
}

impl PrematureResets {
    /// Records one closed stream; whether the connection must now be closed.
    pub fn closed(&mut self, answered: bool, lifetime: Duration) -> bool {
        self.closed += 1;
        if !answered && lifetime <= PREMATURE_RESET_LIFETIME {
            self.premature += 1;
        }
        if self.closed < PREMATURE_RESET_STREAM_COUNT {
            // Even if every later stream were good, the share would stay at half or more once
            // the count is reached: no need to wait for it.
            self.premature * 2 >= PREMATURE_RESET_STREAM_COUNT
        } else {
            self.premature * 2 >= self.closed
        }
    }
}

/// The per-connection side of [`PrematureResets`]: streams report to it as they end, and the
/// connection's task waits on [`Abuse::detected`] to close the connection.
#[derive(Debug)]
pub struct Abuse {
    resets: Mutex<PrematureResets>,
    tripped: Notify,
    stats: Option<Arc<HttpStats>>,
    /// Streams of this connection that ended unanswered, for the debug log at the end.
    unanswered: AtomicU64,
}

impl Abuse {
    pub fn new(stats: Option<Arc<HttpStats>>) -> Arc<Abuse> {
        Arc::new(Abuse {
            resets: Mutex::default(),
            tripped: Notify::new(),
            stats,
            unanswered: AtomicU64::new(0),
        })
    }

    /// A guard for one stream the router is about to serve; drop it once the response is
    /// produced ([`Stream::answered`]) or let it drop with the cancelled request.
    pub fn stream(self: &Arc<Abuse>) -> Stream {
        Stream {
            abuse: self.clone(),
            started: Instant::now(),
            answered: false,
        }
    }

    /// Resolves once the connection must be closed for premature resets.
    pub async fn detected(&self) {
        self.tripped.notified().await;
    }

    pub fn unanswered(&self) -> u64 {
        self.unanswered.load(Ordering::Relaxed)
    }

    fn closed(&self, answered: bool, lifetime: Duration) {
        if !answered {
            self.unanswered.fetch_add(1, Ordering::Relaxed);
            if let Some(s) = &self.stats {
                s.downstream_rq_rx_reset.inc();
            }
        }
        let trip = self
            .resets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed(answered, lifetime);
        if trip {
            // `notify_one` keeps the permit when the connection task is not waiting yet, and
            // repeated trips after the first change nothing.
            self.tripped.notify_one();
        }
    }
}

/// One stream being served; reports its end to its connection's [`Abuse`].
#[derive(Debug)]
pub struct Stream {
    abuse: Arc<Abuse>,
    started: Instant,
    answered: bool,
}

impl Stream {
    /// The router produced a response: whatever happens next, this stream was not cancelled
    /// before one (Envoy judges by the presence of a response code).
    pub fn answered(&mut self) {
        self.answered = true;
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.abuse.closed(self.answered, self.started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EARLY: Duration = Duration::from_millis(10);

    #[test]
    fn half_the_threshold_of_early_cancellations_closes_at_once() {
        let mut resets = PrematureResets::default();
        for i in 1..PREMATURE_RESET_STREAM_COUNT / 2 {
            assert!(!resets.closed(false, EARLY), "closed after {i}");
        }
        assert!(resets.closed(false, EARLY));
    }

    #[test]
    fn answered_or_long_lived_streams_are_not_premature() {
        let mut resets = PrematureResets::default();
        for _ in 0..10 * PREMATURE_RESET_STREAM_COUNT {
            assert!(!resets.closed(true, EARLY));
            assert!(!resets.closed(false, Duration::from_secs(2)));
        }
    }

    #[test]
    fn past_the_count_the_share_decides() {
        let mut resets = PrematureResets::default();
        // 600 good streams, then cancellations: closed when they reach half of all streams.
        for _ in 0..600 {
            assert!(!resets.closed(true, EARLY));
        }
        let mut cancelled = 0;
        while !resets.closed(false, EARLY) {
            cancelled += 1;
            assert!(cancelled < 1000, "never closed");
        }
        // The 600th cancellation makes 600 of 1200.
        assert_eq!(cancelled + 1, 600);
    }

    #[tokio::test]
    async fn a_cancelled_stream_trips_the_connection_and_counts_rx_reset() {
        let stats = Arc::new(HttpStats::default());
        let abuse = Abuse::new(Some(stats.clone()));
        for _ in 0..PREMATURE_RESET_STREAM_COUNT / 2 {
            drop(abuse.stream());
        }
        let mut answered = abuse.stream();
        answered.answered();
        drop(answered);
        tokio::time::timeout(Duration::from_secs(1), abuse.detected())
            .await
            .expect("tripped");
        assert_eq!(
            stats.downstream_rq_rx_reset.get(),
            PREMATURE_RESET_STREAM_COUNT / 2
        );
        assert_eq!(abuse.unanswered(), PREMATURE_RESET_STREAM_COUNT / 2);
    }
}
