//! Per-thread shards for counters the request path adds to. A locked read-modify-write
//! (`fetch_add`) took 4.9 ns on this machine's AMD EPYC cores even with no other core touching
//! the line, where a plain load and store took 0.24 ns, and a proxied request added to some
//! twenty counters (Envoy's and Istio's). A thread that owns its shard is that shard's only
//! writer, so it adds with a load and a store and loses no update; a reader sums the shards.
//!
//! Threads are numbered in the order they first count, for the life of the process, and never
//! reuse a number. With `n` shards, threads `0 .. n-1` own theirs; every later thread adds into
//! the last shard, shared, with `fetch_add`. The workers [`claim`] their numbers when they
//! start, so they are the owners.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

/// This thread's number: taken on its first call, the same ever after.
fn thread_index() -> usize {
    INDEX.with(|i| match i.get() {
        Some(n) => n,
        None => {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            i.set(Some(n));
            n
        }
    })
}

/// Takes this thread's number now, before other threads count: a worker calls it first thing.
pub fn claim() {
    thread_index();
}

/// The shard of `n` this thread adds into, and whether it is that shard's only writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    owned: bool,
}

impl Shard {
    /// This thread's shard of `n` (at least 1).
    pub fn of(n: usize) -> Shard {
        let last = n.max(1) - 1;
        let t = thread_index();
        if t < last {
            Shard {
                index: t,
                owned: true,
            }
        } else {
            Shard {
                index: last,
                owned: false,
            }
        }
    }

    /// Adds `v` to `cell`, this shard's cell. A gauge keeps its signed value in two's
    /// complement and takes away with `v.wrapping_neg()`: wrapping addition is the same for
    /// both, and the cells' wrapping sum, read as `i64`, is the gauge.
    pub fn add(self, cell: &AtomicU64, v: u64) {
        if self.owned {
            cell.store(
                cell.load(Ordering::Relaxed).wrapping_add(v),
                Ordering::Relaxed,
            );
        } else {
            cell.fetch_add(v, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_thread_keeps_its_number() {
        let first = thread_index();
        assert_eq!(thread_index(), first);
        let other = std::thread::spawn(thread_index).join().unwrap();
        assert_ne!(other, first);
    }

    #[test]
    fn only_the_last_shard_is_shared() {
        let t = thread_index();
        // Enough shards that this thread owns one, and too few for it to.
        assert_eq!(
            Shard::of(t + 2),
            Shard {
                index: t,
                owned: true
            }
        );
        assert_eq!(
            Shard::of(t + 1),
            Shard {
                index: t,
                owned: false
            }
        );
        assert_eq!(Shard::of(0).index, 0);
    }

    /// Many threads, most of them past the owned shards, add into one set of cells at once:
    /// the sum is exact.
    #[test]
    fn concurrent_adds_sum_exactly() {
        const SHARDS: usize = 3;
        let cells: Arc<[AtomicU64; SHARDS]> = Arc::new(Default::default());
        let gauge: Arc<[AtomicU64; SHARDS]> = Arc::new(Default::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cells, gauge) = (cells.clone(), gauge.clone());
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let s = Shard::of(SHARDS);
                        s.add(&cells[s.index], 1);
                        s.add(&gauge[s.index], 2);
                        s.add(&gauge[s.index], 3u64.wrapping_neg());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let sum: u64 = cells.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        // Each step takes away more than it adds: the gauge ends below zero, and shards written
        // by one thread only are negative too.
        let net = gauge
            .iter()
            .fold(0u64, |n, c| n.wrapping_add(c.load(Ordering::Relaxed))) as i64;
        assert_eq!(sum, 80_000);
        assert_eq!(net, -80_000);
    }
}
