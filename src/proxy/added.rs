//! Headers the proxy adds to a forwarded request that did not carry them: `x-forwarded-proto`,
//! `x-request-id`, the trace context and metadata exchange's pair.
//!
//! Each insert into an `http::HeaderMap` hashes its name, byte by byte for a name that is not
//! a standard header, and every one of these is custom. A profile at saturation showed those
//! hashes as the larger part of the request path's header work, for headers that no one looks
//! up again on the common path. So while a request has none of them they wait beside its map
//! and the HTTP/1.1 encoder writes them after the map's headers; wherever a map must hold them
//! (route header rules, the access log, HTTP/2) they are put into it, where appending is the
//! insert it stands for because the names were absent.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Added headers, none of whose names is in the request's map (nor twice here). On the heap,
/// not inline: the list lives in the request's future, which is moved as a whole.
#[derive(Debug, Clone, Default)]
pub struct Added(Vec<(HeaderName, HeaderValue)>);

impl Added {
    /// Room for `n` headers: one allocation for a request's.
    pub fn with_capacity(n: usize) -> Added {
        Added(Vec::with_capacity(n))
    }

    /// Adds `name`, which the caller knows is in neither the map nor here.
    pub fn push(&mut self, name: HeaderName, value: HeaderValue) {
        debug_assert!(self.0.iter().all(|(n, _)| *n != name), "{name} added twice");
        self.0.push((name, value));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// Moves the headers into `headers`, which lacks every one of their names.
    pub fn move_into(&mut self, headers: &mut HeaderMap) {
        for (name, value) in self.0.drain(..) {
            headers.append(name, value);
        }
    }

    /// `headers` with these added: the request as forwarded.
    pub fn with(&self, headers: &HeaderMap) -> HeaderMap {
        let mut all = headers.clone();
        for (name, value) in self.iter() {
            all.append(name, value.clone());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_headers_join_a_map_as_inserts() {
        let mut map = HeaderMap::new();
        map.insert("accept", HeaderValue::from_static("*/*"));
        let mut added = Added::default();
        added.push(
            HeaderName::from_static("x-request-id"),
            HeaderValue::from_static("id"),
        );
        added.push(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("http"),
        );
        let all = added.with(&map);
        assert_eq!(all.len(), 3);
        assert_eq!(all["x-request-id"], "id");
        assert_eq!(map.len(), 1, "the map is left as it was");
        added.move_into(&mut map);
        assert_eq!(map, all);
        assert_eq!(added.iter().count(), 0, "moved, not copied");
    }
}
