//! The header names of a connection's previous message, kept to parse the next one's.
//!
//! The messages on one keep-alive connection mostly repeat the header names of the one before,
//! in the same order: one server's responses, one client's (or one proxy's) requests. So the
//! name of header `i` is first compared with the bytes of header `i` in the previous message;
//! when they are equal it is the same `HeaderName`, and `HeaderName::from_bytes` (lowercasing
//! through a table, then matching against the standard names: ~110 instructions a name under
//! callgrind, ~5 % of the proxy's per request with a server's eight response headers) is
//! skipped. Any difference falls back to `from_bytes` and remembers the new name, so a message
//! whose names differ costs only the compares.

use http::header::{HeaderName, InvalidHeaderName};

/// Names kept per connection: the first headers of a message, where the repeats are.
const KEPT: usize = 16;
/// Longest name kept; longer ones are parsed each time.
const LONGEST: usize = 32;

/// One remembered name: its bytes as they came (any case) and what they parsed to.
struct Seen {
    len: u8,
    raw: [u8; LONGEST],
    name: HeaderName,
}

/// The previous message's names, for one connection.
#[derive(Default)]
pub struct Names {
    seen: Vec<Seen>,
}

impl Names {
    /// The name of the message's header number `index`, whose bytes are `raw`. Inlined: it
    /// runs per header, and the call itself cost a third of a kept name's lookup.
    #[inline]
    pub fn parse(&mut self, index: usize, raw: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
        if let Some(seen) = self.seen.get(index)
            && usize::from(seen.len) == raw.len()
            && same_prefix(&seen.raw, raw)
        {
            return Ok(seen.name.clone());
        }
        self.parse_new(index, raw)
    }

    /// A name not kept at `index`: parsed, and kept there when it fits.
    #[cold]
    fn parse_new(&mut self, index: usize, raw: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
        let name = HeaderName::from_bytes(raw)?;
        if raw.len() <= LONGEST && index < KEPT && index <= self.seen.len() {
            let mut seen = Seen {
                // LONGEST fits u8.
                len: raw.len() as u8,
                raw: [0; LONGEST],
                name: name.clone(),
            };
            seen.raw[..raw.len()].copy_from_slice(raw);
            match self.seen.get_mut(index) {
                Some(slot) => *slot = seen,
                None => self.seen.push(seen),
            }
        }
        Ok(name)
    }
}

/// Whether `raw` (at most [`LONGEST`] bytes) is the start of `kept`, eight bytes a step, the
/// last step overlapping the one before. A slice compare calls `memcmp`, which cost more than
/// the rest of the lookup (~30 instructions a call under callgrind for a 12-byte name).
fn same_prefix(kept: &[u8; LONGEST], raw: &[u8]) -> bool {
    let n = raw.len();
    if n < 8 {
        return raw.iter().zip(kept).all(|(a, b)| a == b);
    }
    let word = |bytes: &[u8], at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_ne_bytes)
    };
    let mut at = 0;
    while at + 8 < n {
        if word(raw, at) != word(kept, at) {
            return false;
        }
        at += 8;
    }
    word(raw, n - 8) == word(kept, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    #[test]
    fn repeated_names_come_back_as_parsed() {
        let mut names = Names::default();
        for _ in 0..3 {
            assert_eq!(
                names.parse(0, b"Content-Type").unwrap(),
                header::CONTENT_TYPE
            );
            assert_eq!(names.parse(1, b"X-Custom").unwrap().as_str(), "x-custom");
        }
    }

    #[test]
    fn a_different_name_at_an_index_is_parsed_and_replaces_the_old() {
        let mut names = Names::default();
        assert_eq!(names.parse(0, b"Date").unwrap(), header::DATE);
        assert_eq!(names.parse(0, b"Server").unwrap(), header::SERVER);
        assert_eq!(names.parse(0, b"Server").unwrap(), header::SERVER);
        // Same letters, other case: the same name, parsed again.
        assert_eq!(names.parse(0, b"server").unwrap(), header::SERVER);
        // A prefix of the kept bytes is not a match.
        assert_eq!(names.parse(0, b"serve").unwrap().as_str(), "serve");
    }

    #[test]
    fn prefixes_compare_at_every_length_and_position() {
        let mut kept = [0u8; LONGEST];
        for (i, b) in kept.iter_mut().enumerate() {
            *b = b'a' + (i % 26) as u8;
        }
        for n in 0..=LONGEST {
            let raw = kept[..n].to_vec();
            assert!(same_prefix(&kept, &raw), "{n}");
            for at in 0..n {
                let mut other = raw.clone();
                other[at] ^= 0x20;
                assert!(!same_prefix(&kept, &other), "{n} {at}");
            }
        }
    }

    #[test]
    fn invalid_names_stay_errors_and_are_not_kept() {
        let mut names = Names::default();
        assert!(names.parse(0, b"bad name").is_err());
        assert!(names.parse(0, b"bad name").is_err());
        assert!(names.parse(0, b"").is_err());
    }

    #[test]
    fn long_names_and_late_headers_are_parsed_every_time() {
        let mut names = Names::default();
        let long = "x-".repeat(20);
        for _ in 0..2 {
            assert_eq!(names.parse(0, long.as_bytes()).unwrap().as_str(), long);
        }
        // An index past the kept ones, or with a gap before it, is not kept but still parsed.
        assert_eq!(names.parse(5, b"Accept").unwrap(), header::ACCEPT);
        assert_eq!(names.parse(KEPT + 1, b"Accept").unwrap(), header::ACCEPT);
    }
}
