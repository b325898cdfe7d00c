//! Headers the proxy adds to a forwarded request that did not carry them: `x-forwarded-proto`,
//! the edge's `x-forwarded-for`, `x-request-id`, the trace context and metadata exchange's pair.
//!
//! Each insert into an `http::HeaderMap` hashes its name, byte by byte for a name that is not
//! a standard header, and every one of these is custom. A profile at saturation showed those
//! hashes as the larger part of the request path's header work, for headers that no one looks
//! up again on the common path. So while a request has none of them they wait beside its map
//! and the HTTP/1.1 encoder writes them after the map's headers; wherever a map must hold them
//! (route header rules, the access log, HTTP/2) they are put into it, where appending is the
//! insert it stands for because the names were absent.
//!
//! The names are statics and the values share one buffer: a request's added headers are one
//! allocation, and dropping them is freeing it (a `HeaderValue` apiece was an allocation for
//! the request id and a reference count for each trace value, and nine drops through `Bytes`'
//! vtables; together 2–3 % of the proxy's user time). Metadata exchange's pair, the same on
//! every request of a proxy, is shared whole, encoded once as header lines.

use std::sync::Arc;

use bytes::BytesMut;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::proxy::telemetry::metrics::{ExchangeHeaders, PEER_METADATA, PEER_METADATA_ID};

/// Room for all a request may get beside metadata exchange's pair: forwarded proto and for,
/// request id, five trace headers.
const INLINE: usize = 8;

/// Added headers, none of whose names is in the request's map (nor twice here).
#[derive(Debug, Clone, Default)]
pub struct Added {
    /// Each name with where its value ends in `values` (it starts where the previous ends).
    entries: smallvec::SmallVec<[(&'static HeaderName, u32); INLINE]>,
    values: BytesMut,
    /// Metadata exchange's pair, after the others: shared, not copied. Its value is most of
    /// the bytes a request gets (~500 of them), which were copied into `values` and out again
    /// (callgrind: 554 instructions per request for the pair, 2.6 % of the proxy's).
    exchange: Option<Arc<ExchangeHeaders>>,
}

impl Added {
    /// Room for `bytes` of values: one allocation for a request's.
    pub fn with_capacity(bytes: usize) -> Added {
        Added {
            entries: smallvec::SmallVec::new(),
            values: BytesMut::with_capacity(bytes),
            exchange: None,
        }
    }

    /// Adds metadata exchange's pair, whose names the caller knows are in neither the map nor
    /// here; it goes after every header `push`ed.
    pub fn push_exchange(&mut self, headers: &Arc<ExchangeHeaders>) {
        self.exchange = Some(Arc::clone(headers));
    }

    /// Metadata exchange's pair as HTTP/1.1 header lines, when added.
    pub fn exchange_lines(&self) -> &[u8] {
        self.exchange.as_ref().map_or(&[], |x| &x.lines)
    }

    /// Adds `name`, which the caller knows is in neither the map nor here, with `value`, which
    /// must be a valid header value (the proxy's own: ids, hex digits, metadata it encoded).
    pub fn push(&mut self, name: &'static HeaderName, value: &[u8]) {
        debug_assert!(
            self.entries.iter().all(|(n, _)| *n != name),
            "{name} added twice"
        );
        debug_assert!(
            HeaderValue::from_bytes(value).is_ok(),
            "{name}: invalid value"
        );
        self.values.extend_from_slice(value);
        // A request's values are a few hundred bytes; the head they go into is limited far below
        // 4 GiB, so the end always fits.
        self.entries
            .push((name, u32::try_from(self.values.len()).unwrap_or(u32::MAX)));
    }

    /// Each name with where its value lies in `values`, in the order pushed.
    fn ranges(&self) -> impl Iterator<Item = (&'static HeaderName, std::ops::Range<usize>)> + '_ {
        let mut start = 0usize;
        self.entries.iter().map(move |&(name, end)| {
            let range = start..end as usize;
            start = range.end;
            (name, range)
        })
    }

    /// Each name with its value, in the order pushed, without metadata exchange's pair (see
    /// [`Added::exchange_lines`]).
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &[u8])> {
        self.ranges()
            .map(|(name, range)| (name, self.values.get(range).unwrap_or_default()))
    }

    /// The values as `HeaderValue`s, for a map: slices of one copy of the buffer, not an
    /// allocation apiece. A value that is not one (which `push` rules out) is left out rather
    /// than written.
    fn values(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        let shared = bytes::Bytes::copy_from_slice(&self.values);
        let exchange = self.exchange.iter().flat_map(|x| {
            [
                (PEER_METADATA_ID.clone(), x.id.clone()),
                (PEER_METADATA.clone(), x.metadata.clone()),
            ]
        });
        self.ranges()
            .filter_map(move |(name, range)| {
                // Ranges come from `push`, within the buffer; checked all the same (no panic).
                let value = (range.end <= shared.len()).then(|| shared.slice(range))?;
                HeaderValue::from_maybe_shared(value)
                    .ok()
                    .map(|v| (name.clone(), v))
            })
            .chain(exchange)
    }

    /// Moves the headers into `headers`, which lacks every one of their names.
    pub fn move_into(&mut self, headers: &mut HeaderMap) {
        for (name, value) in self.values() {
            headers.append(name, value);
        }
        self.entries.clear();
        self.values.clear();
        self.exchange = None;
    }

    /// `headers` with these added: the request as forwarded.
    pub fn with(&self, headers: &HeaderMap) -> HeaderMap {
        let mut all = headers.clone();
        for (name, value) in self.values() {
            all.append(name, value);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
    static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

    #[test]
    fn added_headers_join_a_map_as_inserts() {
        let mut map = HeaderMap::new();
        map.insert("accept", HeaderValue::from_static("*/*"));
        let mut added = Added::default();
        added.push(&X_REQUEST_ID, b"id");
        added.push(&X_FORWARDED_PROTO, b"http");
        let listed: Vec<_> = added.iter().collect();
        assert_eq!(
            listed,
            [
                (&X_REQUEST_ID, &b"id"[..]),
                (&X_FORWARDED_PROTO, &b"http"[..])
            ]
        );
        let all = added.with(&map);
        assert_eq!(all.len(), 3);
        assert_eq!(all["x-request-id"], "id");
        assert_eq!(all["x-forwarded-proto"], "http");
        assert_eq!(map.len(), 1, "the map is left as it was");
        added.move_into(&mut map);
        assert_eq!(map, all);
        assert_eq!(added.iter().count(), 0, "moved, not copied");
    }

    #[test]
    fn metadata_exchange_joins_a_map_after_the_others() {
        let exchange = Arc::new(ExchangeHeaders::new(
            HeaderValue::from_static("sidecar~10.0.0.1~a.ns~ns.svc.cluster.local"),
            HeaderValue::from_static("CgQ="),
        ));
        let mut added = Added::default();
        added.push(&X_REQUEST_ID, b"id");
        added.push_exchange(&exchange);
        assert_eq!(
            added.exchange_lines(),
            b"x-envoy-peer-metadata-id: sidecar~10.0.0.1~a.ns~ns.svc.cluster.local\r\n\
              x-envoy-peer-metadata: CgQ=\r\n"
        );
        let all = added.with(&HeaderMap::new());
        let names: Vec<_> = all.keys().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-request-id",
                "x-envoy-peer-metadata-id",
                "x-envoy-peer-metadata"
            ]
        );
        assert_eq!(all["x-envoy-peer-metadata"], "CgQ=");
        let mut map = HeaderMap::new();
        added.move_into(&mut map);
        assert_eq!(map, all);
        assert!(added.exchange_lines().is_empty(), "moved, not copied");
    }

    #[test]
    fn empty_values_keep_their_place() {
        let mut added = Added::with_capacity(8);
        added.push(&X_REQUEST_ID, b"");
        added.push(&X_FORWARDED_PROTO, b"https");
        let listed: Vec<_> = added.iter().map(|(n, v)| (n.as_str(), v)).collect();
        assert_eq!(
            listed,
            [
                ("x-request-id", &b""[..]),
                ("x-forwarded-proto", &b"https"[..])
            ]
        );
    }
}
