//! Coalescing of config-change signals before they become pushes, as istiod does
//! (`pilot/pkg/xds/discovery.go`, `debounce`): a burst of changes (a rollout touching a hundred
//! endpoints, `kubectl apply` of a directory) costs one push, not one per object.
//!
//! Rules, with Istio's defaults: push once the changes have been quiet for `after`
//! (`PILOT_DEBOUNCE_AFTER`, 100 ms), but never hold a change longer than `max`
//! (`PILOT_DEBOUNCE_MAX`, 10 s) after the first one, so a steady trickle still gets out.
//!
//! Signals are `tokio::sync::watch` channels of a generation counter: only "something changed"
//! and "which generation is newest" matter, and a watch channel keeps exactly that.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Debounce timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebounceConfig {
    /// Quiet time after the last change before pushing (`PILOT_DEBOUNCE_AFTER`).
    pub after: Duration,
    /// Longest a change may wait (`PILOT_DEBOUNCE_MAX`).
    pub max: Duration,
}

impl DebounceConfig {
    pub const ISTIO_DEFAULT: DebounceConfig = DebounceConfig {
        after: Duration::from_millis(100),
        max: Duration::from_secs(10),
    };
}

impl Default for DebounceConfig {
    fn default() -> DebounceConfig {
        DebounceConfig::ISTIO_DEFAULT
    }
}

/// Starts a task that forwards `input` to the returned receiver, debounced. The task ends when
/// `input`'s sender is dropped (after flushing a pending change). Must be called from within a
/// Tokio runtime.
pub fn spawn(mut input: watch::Receiver<u64>, config: DebounceConfig) -> watch::Receiver<u64> {
    // The current value is the starting state, not a change to push; mark it seen here rather
    // than in the task, so a change made right after this call is not mistaken for it.
    let initial = *input.borrow_and_update();
    let (tx, rx) = watch::channel(initial);
    tokio::spawn(run(input, tx, config));
    rx
}

/// The debounce loop: each flush publishes the newest input generation on `output` (and marks it
/// changed even when the value is the same, so every flush is one push). A value of `input` not
/// yet marked seen counts as a pending change.
pub async fn run(
    mut input: watch::Receiver<u64>,
    output: watch::Sender<u64>,
    config: DebounceConfig,
) {
    loop {
        if input.changed().await.is_err() {
            return;
        }
        let first = Instant::now();
        let mut last = first;
        let closed = loop {
            let deadline = (last + config.after).min(first + config.max);
            tokio::select! {
                changed = input.changed() => {
                    if changed.is_err() {
                        break true;
                    }
                    last = Instant::now();
                }
                () = tokio::time::sleep_until(deadline) => break false,
            }
        };
        let generation = *input.borrow_and_update();
        output.send_replace(generation);
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits for the next debounced push, or `None` if none comes within `within` (paused time:
    /// the clock jumps, nothing really waits).
    async fn next_push(out: &mut watch::Receiver<u64>, within: Duration) -> Option<(u64, Instant)> {
        match tokio::time::timeout(within, out.changed()).await {
            Ok(Ok(())) => Some((*out.borrow_and_update(), Instant::now())),
            _ => None,
        }
    }

    /// Paused time still rounds timers to the driver's 1 ms ticks.
    fn assert_near(actual: Duration, expected: Duration) {
        assert!(
            actual >= expected && actual <= expected + Duration::from_millis(2),
            "{actual:?} is not {expected:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_becomes_one_push_after_the_quiet_period() {
        let (tx, rx) = watch::channel(0u64);
        let mut out = spawn(rx, DebounceConfig::default());
        let mut last_change = Instant::now();
        for g in 1..=20 {
            tx.send_replace(g);
            last_change = Instant::now();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let (generation, at) = next_push(&mut out, Duration::from_secs(1))
            .await
            .expect("one push");
        assert_eq!(generation, 20, "the push carries the newest generation");
        assert_near(at - last_change, Duration::from_millis(100));
        assert_eq!(next_push(&mut out, Duration::from_secs(60)).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_trickle_is_pushed_every_max_interval() {
        let (tx, rx) = watch::channel(0u64);
        let config = DebounceConfig::default();
        let mut out = spawn(rx, config);
        let start = Instant::now();
        let producer = tokio::spawn(async move {
            for g in 1..=500u64 {
                tx.send_replace(g);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let (_, first) = next_push(&mut out, Duration::from_secs(11))
            .await
            .expect("push");
        assert_near(first - start, config.max);
        let (_, second) = next_push(&mut out, Duration::from_secs(11))
            .await
            .expect("push");
        // The next burst starts with the first change after the flush, at most 50 ms later.
        assert!(second - first <= config.max + Duration::from_millis(50));
        producer.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn separate_changes_are_separate_pushes_and_close_flushes() {
        let (tx, rx) = watch::channel(7u64);
        let mut out = spawn(rx, DebounceConfig::default());
        assert_eq!(*out.borrow(), 7, "starts at the input's value");
        tx.send_replace(8);
        assert_eq!(
            next_push(&mut out, Duration::from_secs(1))
                .await
                .map(|p| p.0),
            Some(8)
        );
        tx.send_replace(9);
        assert_eq!(
            next_push(&mut out, Duration::from_secs(1))
                .await
                .map(|p| p.0),
            Some(9)
        );
        // A change followed by the source going away is still delivered.
        tx.send_replace(10);
        drop(tx);
        assert_eq!(
            next_push(&mut out, Duration::from_secs(1))
                .await
                .map(|p| p.0),
            Some(10)
        );
    }
}
