//! A future polled only when it may have become ready, for what a connection waits on between
//! every two requests but almost never sees happen: the proxy's shutdown.
//!
//! An HTTP/1.1 connection polls its shutdown each time it waits for a request, so once per
//! request. The shutdown is a `watch` channel's wait, and each poll of it locks the `Notify`
//! mutex to renew the waker: two locked instructions and ~130 instructions per request
//! (callgrind), for a waker that is the same task's every time. Polled once, the wait keeps
//! that waker; a cheap check (`open`: an atomic load) tells when the wait is worth polling
//! again. A poll with another waker (the future moved to another task) polls the wait too, so
//! the waker it keeps is never stale.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// `inner`, polled on the first poll, on a poll with a waker it was not polled with, and
/// whenever `open` says it may be ready; otherwise pending.
pub struct Gated<F, G> {
    inner: Pin<Box<F>>,
    open: G,
    /// The waker `inner` was last polled with.
    waker: Option<Waker>,
}

impl<F, G> Gated<F, G>
where
    F: Future,
    G: FnMut() -> bool,
{
    /// `open` must return true once whatever `inner` waits for may have happened (it may
    /// also return true when it has not: `inner` is then polled and stays pending).
    pub fn new(inner: F, open: G) -> Gated<F, G> {
        Gated {
            inner: Box::pin(inner),
            open,
            waker: None,
        }
    }
}

impl<F, G> Future for Gated<F, G>
where
    F: Future,
    G: FnMut() -> bool + Unpin,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let same = this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if same && !(this.open)() {
            return Poll::Pending;
        }
        if !same {
            this.waker = Some(cx.waker().clone());
        }
        this.inner.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// Counts its polls; ready once `done` is set.
    struct Counted {
        polls: Arc<AtomicUsize>,
        done: Arc<AtomicBool>,
    }

    impl Future for Counted {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            if self.done.load(Ordering::Relaxed) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn the_inner_future_is_polled_once_until_the_gate_opens() {
        let polls = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicBool::new(false));
        let gate = open.clone();
        let mut gated = Gated::new(
            Counted {
                polls: polls.clone(),
                done: done.clone(),
            },
            move || gate.load(Ordering::Relaxed),
        );
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        for _ in 0..5 {
            assert!(Pin::new(&mut gated).poll(&mut cx).is_pending());
        }
        assert_eq!(
            polls.load(Ordering::Relaxed),
            1,
            "polled once, with its waker"
        );

        // Another task's waker: the inner future must learn it.
        let other = Waker::from(Arc::new(Noop));
        let mut other_cx = Context::from_waker(&other);
        assert!(Pin::new(&mut gated).poll(&mut other_cx).is_pending());
        assert_eq!(polls.load(Ordering::Relaxed), 2);
        assert!(Pin::new(&mut gated).poll(&mut other_cx).is_pending());
        assert_eq!(polls.load(Ordering::Relaxed), 2);

        // Open but not yet done: polled, still pending.
        open.store(true, Ordering::Relaxed);
        assert!(Pin::new(&mut gated).poll(&mut other_cx).is_pending());
        assert_eq!(polls.load(Ordering::Relaxed), 3);
        done.store(true, Ordering::Relaxed);
        assert!(Pin::new(&mut gated).poll(&mut other_cx).is_ready());
    }

    #[tokio::test]
    async fn a_watched_shutdown_ends_the_wait() {
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let seen = rx.clone();
        let wait = async move {
            let _ = rx.wait_for(|down| *down).await;
        };
        let gated = Gated::new(wait, move || seen.has_changed().unwrap_or(true));
        let task = tokio::spawn(gated);
        // Let the task poll (and park) first.
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!task.is_finished());
        tx.send_replace(true);
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .expect("the shutdown wakes the task")
            .expect("no panic");
    }
}
