//! Fast non-cryptographic random numbers for load balancing, weighted routing, fault and mirror
//! percentages: a per-thread xorshift64* seeded from the standard library's random hasher keys.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish() | 1
}

/// The next random number of this thread.
pub fn next() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A random (version 4) UUID, as Envoy generates for `x-request-id`, in its 36-byte text form.
/// Written digit by digit from a table: every forwarded request without an id gets one, and
/// going through `format!` per byte cost more than the rest of the header handling.
pub fn uuid_bytes() -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&next().to_be_bytes());
    raw[8..].copy_from_slice(&next().to_be_bytes());
    raw[6] = (raw[6] & 0x0f) | 0x40;
    raw[8] = (raw[8] & 0x3f) | 0x80;
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, b) in raw.iter().enumerate() {
        // Dashes after the 4th, 6th, 8th and 10th byte: 8-4-4-4-12 digits.
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = HEX[usize::from(b >> 4)];
        out[at + 1] = HEX[usize::from(b & 0x0f)];
        at += 2;
    }
    out
}

/// [`uuid_bytes`] as a string.
pub fn uuid() -> String {
    uuid_bytes().iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        let dashes: Vec<usize> = u.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, [8, 13, 18, 23]);
        assert!(u.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{u}");
        assert_ne!(uuid(), u);
    }

    #[test]
    fn draws_are_spread() {
        let hits = (0..10_000).filter(|_| next().is_multiple_of(10)).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
