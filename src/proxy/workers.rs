//! The proxy's worker event loops, as Envoy's workers: `--concurrency N` runs N single-threaded
//! Tokio runtimes, the main one (which also runs the xDS and SDS clients and the admin API) and
//! N − 1 more, each on its own thread. A downstream connection lives its whole life on the
//! worker it was handed to at accept, and so do the upstream connections it takes from the pool
//! ([`current`] picks the pool's per-worker list), so serving a request never wakes another
//! thread.
//!
//! Tokio's multi-threaded runtime served N > 1 before. Its work stealing costs a proxy twice:
//! a worker woken by I/O wakes a sibling to look for work to steal, and a task woken by I/O may
//! run on another thread than the one that polled its socket. Measured with two sidecars
//! sharing one core (`benches/mesh_mtls.sh --quick`, same build): P90 added +154.5 µs at
//! `--concurrency 2` against +114.2 µs with one event loop each; with these workers
//! `--concurrency 2` measures as 1 does (+126 to +159 µs either way over six runs).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::shard;

thread_local! {
    /// The worker this thread runs: 0 on the main runtime and on any thread not started here.
    static INDEX: Cell<usize> = const { Cell::new(0) };
}

/// The worker running the calling thread (0 outside the extra workers).
pub fn current() -> usize {
    INDEX.with(Cell::get)
}

/// Where new connections go: round robin over the main runtime and the extra workers, as
/// Envoy's exact connection balancer spreads them.
pub struct Workers {
    /// Workers 1..N; worker 0 is the runtime that accepts.
    extra: Vec<Worker>,
    next: AtomicUsize,
}

struct Worker {
    handle: Handle,
    /// Dropped to stop the worker: its runtime ends, and with it the connections it serves.
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Which runtime serves the next connection.
pub enum Next<'a> {
    /// The accepting runtime itself.
    Here,
    /// Another worker's runtime.
    There(&'a Handle),
}

impl Workers {
    /// `concurrency` workers in all: the caller's runtime and `concurrency − 1` new threads.
    pub fn start(concurrency: usize) -> std::io::Result<Workers> {
        // The workers own the first counter shards: the caller's runtime, then each thread.
        shard::claim();
        let mut extra = Vec::new();
        for index in 1..concurrency.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("ferry-worker-{index}"))
                .spawn(move || {
                    shard::claim();
                    INDEX.with(|i| i.set(index));
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                })?;
            extra.push(Worker {
                handle,
                stop: Some(stop),
                thread: Some(thread),
            });
        }
        Ok(Workers {
            extra,
            next: AtomicUsize::new(0),
        })
    }

    /// One worker: the caller's runtime.
    pub fn single() -> Workers {
        shard::claim();
        Workers {
            extra: Vec::new(),
            next: AtomicUsize::new(0),
        }
    }

    pub fn count(&self) -> usize {
        self.extra.len() + 1
    }

    /// The worker for the next connection.
    pub fn next(&self) -> Next<'_> {
        if self.extra.is_empty() {
            return Next::Here;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.count();
        match n.checked_sub(1).and_then(|i| self.extra.get(i)) {
            Some(worker) => Next::There(&worker.handle),
            None => Next::Here,
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in &mut self.extra {
            worker.stop.take();
        }
        for worker in &mut self.extra {
            if let Some(thread) = worker.thread.take() {
                // Not from one of the workers themselves (joining itself would hang); they
                // never hold the last reference, but a panic would be worse than not waiting.
                if thread.thread().id() != std::thread::current().id() {
                    let _ = thread.join();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_go_round_robin_and_each_worker_knows_its_index() {
        let workers = Workers::start(3).expect("workers");
        assert_eq!(workers.count(), 3);
        let mut seen = Vec::new();
        for _ in 0..6 {
            let index = match workers.next() {
                Next::Here => current(),
                Next::There(handle) => handle.spawn(async { current() }).await.expect("task"),
            };
            seen.push(index);
        }
        assert_eq!(seen, [0, 1, 2, 0, 1, 2]);
        assert!(matches!(workers.next(), Next::Here));
        // Each extra worker is a thread of its own.
        let mut threads = vec![std::thread::current().id()];
        for _ in 0..2 {
            let Next::There(handle) = workers.next() else {
                unreachable!("the round robin is past worker 0")
            };
            threads.push(
                handle
                    .spawn(async { std::thread::current().id() })
                    .await
                    .expect("task"),
            );
        }
        let distinct: std::collections::HashSet<_> = threads.iter().collect();
        assert_eq!(distinct.len(), 3);
        let _ = workers.next();
    }

    #[test]
    fn one_worker_is_the_callers_runtime() {
        let workers = Workers::single();
        assert_eq!(workers.count(), 1);
        assert!(matches!(workers.next(), Next::Here));
        assert!(matches!(
            Workers::start(1).expect("workers").next(),
            Next::Here
        ));
    }

    #[test]
    fn dropping_the_workers_stops_their_threads() {
        let workers = Workers::start(2).expect("workers");
        let Next::There(handle) = ({
            let _ = workers.next();
            workers.next()
        }) else {
            unreachable!("the second connection goes to worker 1")
        };
        let handle = handle.clone();
        drop(workers);
        // The runtime is gone: a task spawned on it never runs.
        let task = handle.spawn(async {});
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        assert!(rt.block_on(task).expect_err("cancelled").is_cancelled());
    }
}
