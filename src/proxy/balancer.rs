//! Endpoint picking: Envoy's load balancers as a cluster's `lb_policy` names them.
//!
//! `ROUND_ROBIN`, `RANDOM` and `LEAST_REQUEST` (power of two choices on active requests, Envoy's
//! default choice count) read only atomics per pick. `RING_HASH` and `MAGLEV` are built once per
//! cluster update from the endpoints, and pick by the request's hash (the route's hash policy,
//! [`super::hash_policy`]); a request without one gets a random point, as in Envoy.
//!
//! Which endpoints may be picked is the caller's `eligible` (healthy, not ejected by outlier
//! detection, not the previous attempt's). The hashing balancers walk on from the hashed slot to
//! the next eligible endpoint, so an ejected endpoint moves only its own keys.

use std::sync::atomic::{AtomicUsize, Ordering};

use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};

/// Envoy's default `minimum_ring_size` (and the most it builds: `maximum_ring_size` 8M).
const DEFAULT_MIN_RING_SIZE: u64 = 1024;
const MAX_RING_SIZE: u64 = 8 * 1024 * 1024;
/// Envoy's default Maglev table size: a prime, as the permutation needs.
const DEFAULT_MAGLEV_TABLE_SIZE: u64 = 65537;

/// A compiled load balancer.
#[derive(Debug)]
pub enum Balancer {
    RoundRobin(AtomicUsize),
    LeastRequest,
    Random,
    /// Sorted (hash, endpoint index) points.
    RingHash(Vec<(u64, u32)>),
    /// Slot to endpoint index.
    Maglev(Vec<u32>),
}

impl Balancer {
    /// The balancer of `c` over endpoints with `addresses` and `weights` (same order).
    pub fn compile(c: &Cluster, addresses: &[String], weights: &[u32]) -> Balancer {
        match cluster::LbPolicy::try_from(c.lb_policy) {
            Ok(cluster::LbPolicy::RoundRobin) => Balancer::RoundRobin(AtomicUsize::new(0)),
            Ok(cluster::LbPolicy::Random) => Balancer::Random,
            Ok(cluster::LbPolicy::RingHash) => {
                let min = match &c.lb_config {
                    Some(cluster::LbConfig::RingHashLbConfig(r)) => r
                        .minimum_ring_size
                        .as_ref()
                        .map_or(DEFAULT_MIN_RING_SIZE, |v| v.value),
                    _ => DEFAULT_MIN_RING_SIZE,
                };
                Balancer::RingHash(ring(addresses, weights, min.clamp(1, MAX_RING_SIZE)))
            }
            Ok(cluster::LbPolicy::Maglev) => {
                let size = match &c.lb_config {
                    Some(cluster::LbConfig::MaglevLbConfig(m)) => m
                        .table_size
                        .as_ref()
                        .map_or(DEFAULT_MAGLEV_TABLE_SIZE, |v| v.value),
                    _ => DEFAULT_MAGLEV_TABLE_SIZE,
                };
                // Envoy rejects a table size that is not prime; a smaller one would not cover
                // every slot with each permutation, so fall back to the default.
                let size = if is_prime(size) && size <= 5_000_011 {
                    size
                } else {
                    DEFAULT_MAGLEV_TABLE_SIZE
                };
                Balancer::Maglev(maglev(addresses, weights, size))
            }
            _ => Balancer::LeastRequest,
        }
    }

    /// Whether picks depend on the request's hash.
    pub fn is_hashing(&self) -> bool {
        matches!(self, Balancer::RingHash(_) | Balancer::Maglev(_))
    }

    /// Picks an endpoint index among `n` endpoints. `eligible(i)` says whether endpoint `i` may
    /// be chosen, `weight(i)` and `active(i)` give its weight and active requests; `draw` is a
    /// random number and `hash` the request's hash, if its route has a hash policy.
    pub fn pick(
        &self,
        n: usize,
        eligible: impl Fn(usize) -> bool,
        weight: impl Fn(usize) -> u32,
        active: impl Fn(usize) -> i64,
        draw: u64,
        hash: Option<u64>,
    ) -> Option<usize> {
        let weighted = |point: u64| -> Option<usize> {
            let total: u64 = (0..n)
                .filter(|i| eligible(*i))
                .map(|i| u64::from(weight(i)))
                .sum();
            if total == 0 {
                return None;
            }
            let mut point = point % total;
            for i in (0..n).filter(|i| eligible(*i)) {
                let w = u64::from(weight(i));
                if point < w {
                    return Some(i);
                }
                point -= w;
            }
            None
        };
        match self {
            Balancer::RoundRobin(next) => weighted(next.fetch_add(1, Ordering::Relaxed) as u64),
            Balancer::Random => weighted(draw),
            Balancer::LeastRequest => {
                let count = (0..n).filter(|i| eligible(*i)).count() as u64;
                if count == 0 {
                    return None;
                }
                let nth = |k: u64| {
                    (0..n)
                        .filter(|i| eligible(*i))
                        .nth(usize::try_from(k).unwrap_or(0))
                };
                let a = nth(draw % count)?;
                let b = nth((draw >> 32) % count)?;
                Some(if active(b) < active(a) { b } else { a })
            }
            Balancer::RingHash(points) => {
                let h = hash.unwrap_or(draw);
                let start = points.partition_point(|(p, _)| *p < h);
                (0..points.len())
                    .map(|k| points[(start + k) % points.len()].1 as usize)
                    .find(|i| eligible(*i))
            }
            Balancer::Maglev(table) => {
                if table.is_empty() {
                    return None;
                }
                let h = hash.unwrap_or(draw);
                let slot = (h % table.len() as u64) as usize;
                let chosen = table[slot] as usize;
                if eligible(chosen) {
                    return Some(chosen);
                }
                // Envoy rebuilds the table over the healthy hosts; walking the table from the
                // slot keeps the picks of other keys where they are without a rebuild per
                // ejection.
                (1..table.len())
                    .map(|k| table[(slot + k) % table.len()] as usize)
                    .find(|i| eligible(*i))
            }
        }
    }
}

/// The ring: each endpoint gets points in proportion to its weight, at least `min_size` in
/// all, each the xxHash64 of `<address>_<i>`, as in Envoy. Unlike Envoy, the points per unit of
/// weight are a power of two, not `min_size / endpoints`: then adding an endpoint rarely
/// changes the others' points, and moves only the keys the new endpoint takes (about 1/N),
/// where Envoy's exact division also moves keys between the old endpoints.
fn ring(addresses: &[String], weights: &[u32], min_size: u64) -> Vec<(u64, u32)> {
    let min_weight = u64::from(weights.iter().map(|w| (*w).max(1)).min().unwrap_or(1));
    let units: u64 = weights
        .iter()
        .map(|w| u64::from((*w).max(1)).div_ceil(min_weight))
        .sum();
    if units == 0 {
        return Vec::new();
    }
    let per_unit = min_size.div_ceil(units).next_power_of_two();
    let mut points = Vec::new();
    for (i, (address, w)) in addresses.iter().zip(weights).enumerate() {
        let count =
            (per_unit * u64::from((*w).max(1)) / min_weight).clamp(1, MAX_RING_SIZE / units.max(1));
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        for k in 0..count {
            let key = format!("{address}_{k}");
            points.push((xxhash64(key.as_bytes(), 0), index));
        }
    }
    points.sort_unstable();
    points
}

/// Maglev's lookup table (Eisenbud et al., §3.4) with Envoy's weighting: each endpoint fills
/// slots from its own permutation of the table, taking turns in proportion to its weight.
fn maglev(addresses: &[String], weights: &[u32], size: u64) -> Vec<u32> {
    if addresses.is_empty() {
        return Vec::new();
    }
    let m = size as usize;
    let perms: Vec<(u64, u64)> = addresses
        .iter()
        .map(|a| {
            let offset = xxhash64(a.as_bytes(), 0) % size;
            let skip = xxhash64(a.as_bytes(), 1) % (size - 1) + 1;
            (offset, skip)
        })
        .collect();
    let max_weight = f64::from(weights.iter().copied().max().unwrap_or(1).max(1));
    let mut next = vec![0u64; addresses.len()];
    let mut credit = vec![0f64; addresses.len()];
    let mut table = vec![u32::MAX; m];
    let mut filled = 0;
    while filled < m {
        for (i, (offset, skip)) in perms.iter().enumerate() {
            credit[i] += f64::from(weights[i].max(1)) / max_weight;
            if credit[i] < 1.0 {
                continue;
            }
            credit[i] -= 1.0;
            loop {
                let slot = ((offset + skip * next[i]) % size) as usize;
                next[i] += 1;
                if table[slot] == u32::MAX {
                    table[slot] = u32::try_from(i).unwrap_or(0);
                    filled += 1;
                    break;
                }
            }
            if filled == m {
                break;
            }
        }
    }
    table
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// xxHash64 (the hash Envoy uses for ring points, Maglev permutations and hash policies).
pub fn xxhash64(input: &[u8], seed: u64) -> u64 {
    const P1: u64 = 0x9E37_79B1_85EB_CA87;
    const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    const P3: u64 = 0x1656_67B1_9E37_79F9;
    const P4: u64 = 0x85EB_CA77_C2B2_AE63;
    const P5: u64 = 0x27D4_EB2F_1656_67C5;
    let read64 = |b: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        u64::from_le_bytes(a)
    };
    let read32 = |b: &[u8]| {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[..4]);
        u64::from(u32::from_le_bytes(a))
    };
    let round = |acc: u64, lane: u64| {
        acc.wrapping_add(lane.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    };
    let merge = |acc: u64, v: u64| (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4);
    let mut rest = input;
    let mut h = if input.len() >= 32 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while rest.len() >= 32 {
            for (k, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, read64(&rest[k * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = merge(h, lane);
        }
        h
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(input.len() as u64);
    while rest.len() >= 8 {
        h ^= round(0, read64(rest));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        h ^= read32(rest).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for b in rest {
        h ^= u64::from(*b).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^= h >> 32;
    h
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::google::protobuf::UInt64Value;

    use super::*;
    use crate::proxy::random;

    fn addresses(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.0.0.{}:8080", i + 1)).collect()
    }

    fn cluster(policy: cluster::LbPolicy) -> Cluster {
        Cluster {
            lb_policy: policy as i32,
            ..Default::default()
        }
    }

    /// Picks `rounds` times with every endpoint eligible; counts per endpoint.
    fn spread(b: &Balancer, n: usize, weights: &[u32], rounds: usize, hashed: bool) -> Vec<usize> {
        let mut counts = vec![0; n];
        for _ in 0..rounds {
            let hash = hashed.then(random::next);
            let i = b
                .pick(n, |_| true, |i| weights[i], |_| 0, random::next(), hash)
                .expect("an endpoint");
            counts[i] += 1;
        }
        counts
    }

    #[test]
    fn xxhash64_matches_the_reference_vectors() {
        assert_eq!(xxhash64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxhash64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxhash64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            xxhash64(b"Nobody inspects the spammish repetition", 0),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    #[test]
    fn round_robin_takes_turns_by_weight() {
        let b = Balancer::compile(
            &cluster(cluster::LbPolicy::RoundRobin),
            &addresses(3),
            &[1; 3],
        );
        let picks: Vec<usize> = (0..6)
            .map(|_| b.pick(3, |_| true, |_| 1, |_| 0, 0, None).expect("pick"))
            .collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        assert_eq!(spread(&b, 3, &[1, 2, 1], 400, false), [100, 200, 100]);
    }

    #[test]
    fn random_spreads_evenly_and_by_weight() {
        let b = Balancer::compile(&cluster(cluster::LbPolicy::Random), &addresses(4), &[1; 4]);
        for c in spread(&b, 4, &[1; 4], 40_000, false) {
            assert!((9_000..11_000).contains(&c), "{c} of 40000 over 4");
        }
        let c = spread(&b, 2, &[1, 3], 40_000, false);
        assert!((9_000..11_000).contains(&c[0]), "{c:?}");
    }

    #[test]
    fn least_request_prefers_the_less_busy_endpoint() {
        let b = Balancer::compile(
            &cluster(cluster::LbPolicy::LeastRequest),
            &addresses(2),
            &[1; 2],
        );
        let active = [10i64, 0];
        let mut busy = 0;
        for _ in 0..1000 {
            let i = b
                .pick(2, |_| true, |_| 1, |i| active[i], random::next(), None)
                .expect("pick");
            busy += usize::from(i == 0);
        }
        // Endpoint 0 wins only when both draws land on it: about a quarter of the time.
        assert!(
            (150..350).contains(&busy),
            "{busy} of 1000 to the busy endpoint"
        );
        // Without load it spreads evenly.
        for c in spread(&b, 2, &[1; 2], 10_000, false) {
            assert!((4_500..5_500).contains(&c), "{c}");
        }
    }

    #[test]
    fn ineligible_endpoints_are_never_picked() {
        for policy in [
            cluster::LbPolicy::RoundRobin,
            cluster::LbPolicy::Random,
            cluster::LbPolicy::LeastRequest,
            cluster::LbPolicy::RingHash,
            cluster::LbPolicy::Maglev,
        ] {
            let b = Balancer::compile(&cluster(policy), &addresses(3), &[1; 3]);
            for _ in 0..300 {
                let i = b.pick(
                    3,
                    |i| i != 1,
                    |_| 1,
                    |_| 0,
                    random::next(),
                    Some(random::next()),
                );
                assert_ne!(i, Some(1), "{policy:?}");
                assert!(i.is_some());
            }
            assert_eq!(b.pick(3, |_| false, |_| 1, |_| 0, 7, Some(7)), None);
        }
    }

    /// The same key reaches the same endpoint, keys spread over all endpoints, and adding an
    /// endpoint moves about 1/N of the keys (all of them to the new one).
    fn consistent(policy: cluster::LbPolicy, c: Cluster) {
        let keys: Vec<u64> = (0..20_000)
            .map(|k| xxhash64(format!("user-{k}").as_bytes(), 0))
            .collect();
        let four = Balancer::compile(&c, &addresses(4), &[1; 4]);
        let five = Balancer::compile(&c, &addresses(5), &[1; 5]);
        let pick = |b: &Balancer, n: usize, k: u64| {
            b.pick(n, |_| true, |_| 1, |_| 0, random::next(), Some(k))
                .expect("pick")
        };
        let mut counts = [0usize; 4];
        let mut moved = 0;
        let mut reshuffled = 0;
        for k in &keys {
            let before = pick(&four, 4, *k);
            assert_eq!(
                before,
                pick(&four, 4, *k),
                "{policy:?}: same key, same endpoint"
            );
            counts[before] += 1;
            let after = pick(&five, 5, *k);
            if after != before {
                moved += 1;
                reshuffled += usize::from(after != 4);
            }
        }
        // Maglev's table moves a few keys between old endpoints too (its paper's "minimal
        // disruption" is not none); the ring moves none.
        assert!(
            reshuffled < 600,
            "{policy:?}: {reshuffled} keys moved between old endpoints"
        );
        for c in counts {
            assert!((3_000..7_000).contains(&c), "{policy:?}: {counts:?}");
        }
        // 1/5 of the keys belong to the new endpoint.
        assert!(
            (2_800..5_200).contains(&moved),
            "{policy:?}: {moved} of 20000 keys moved"
        );
    }

    #[test]
    fn ring_hash_is_consistent() {
        let mut c = cluster(cluster::LbPolicy::RingHash);
        c.lb_config = Some(cluster::LbConfig::RingHashLbConfig(
            cluster::RingHashLbConfig {
                minimum_ring_size: Some(UInt64Value { value: 1024 }),
                ..Default::default()
            },
        ));
        consistent(cluster::LbPolicy::RingHash, c);
    }

    #[test]
    fn maglev_is_consistent() {
        consistent(
            cluster::LbPolicy::Maglev,
            cluster(cluster::LbPolicy::Maglev),
        );
    }

    #[test]
    fn maglev_weights_share_the_table() {
        let b = Balancer::compile(&cluster(cluster::LbPolicy::Maglev), &addresses(2), &[1, 3]);
        let Balancer::Maglev(table) = &b else {
            panic!("a maglev table");
        };
        let first = table.iter().filter(|i| **i == 0).count();
        let share = first as f64 / table.len() as f64;
        assert!((0.2..0.3).contains(&share), "{share}");
    }

    #[test]
    fn an_ejected_endpoint_moves_only_its_own_keys() {
        let b = Balancer::compile(
            &cluster(cluster::LbPolicy::RingHash),
            &addresses(3),
            &[1; 3],
        );
        for k in 0..2000u64 {
            let h = xxhash64(&k.to_le_bytes(), 0);
            let all = b.pick(3, |_| true, |_| 1, |_| 0, 0, Some(h));
            let without = b.pick(3, |i| i != 2, |_| 1, |_| 0, 0, Some(h));
            if all != Some(2) {
                assert_eq!(all, without);
            }
        }
    }
}
