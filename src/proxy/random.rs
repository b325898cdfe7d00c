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
/// Written from two hex-formatted numbers ([`super::hex`]): every forwarded request without an
/// id gets one, and going through `format!` per byte cost more than the rest of the header
/// handling.
pub fn uuid_bytes() -> [u8; 36] {
    // Version 4 in the third group's first digit, RFC 4122's variant in the fourth's top bits.
    let high = (next() & !0xf000) | 0x4000;
    let low = (next() & !(0xc << 60)) | (0x8 << 60);
    let (high, low) = (super::hex::hex16(high), super::hex::hex16(low));
    let mut out = [b'-'; 36];
    // 8-4-4-4-12 digits.
    out[..8].copy_from_slice(&high[..8]);
    out[9..13].copy_from_slice(&high[8..12]);
    out[14..18].copy_from_slice(&high[12..]);
    out[19..23].copy_from_slice(&low[..4]);
    out[24..].copy_from_slice(&low[4..]);
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
