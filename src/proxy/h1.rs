//! The HTTP/1.1 wire format of upstream requests and responses (RFC 9112), for the proxy's own
//! upstream connections ([`super::pool`]).
//!
//! The proxy used hyper's client connection before. Profiles at saturation showed the price of
//! its design for a proxy: every request crossed from the downstream task to a task per
//! upstream connection and back (a channel, a oneshot and two wake-ups), every response body
//! came through another channel, and the request headers were copied into a new map per
//! attempt. Writing the request from the route's header map and reading the response on the
//! downstream task removes all of that; what remains is parsing (httparse, as hyper) and
//! framing, which live here.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use super::added::Added;

mod names;
pub use names::Names;

/// Largest response head accepted (Envoy's default header limit, 60 KiB, plus the status line).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most response headers accepted (Envoy's `max_headers_count`).
pub const MAX_HEADERS: usize = 100;
/// Longest chunk-size line (with extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// Largest trailer section accepted.
const MAX_TRAILERS: usize = 64 * 1024;

/// Why an upstream response could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("malformed response head: {0}")]
    Head(&'static str),
    #[error("response head larger than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    #[error("invalid content-length")]
    ContentLength,
    #[error("malformed chunked body: {0}")]
    Chunk(&'static str),
    #[error("protocol upgrade (101) is not supported")]
    Upgrade,
}

/// What one upstream request says, borrowed from the route's request (nothing is copied).
pub struct RequestHead<'a> {
    pub method: &'a Method,
    /// Origin-form (`/path?query`), checked by [`origin_form_problem`].
    pub path: &'a str,
    /// The `Host` header.
    pub host: &'a [u8],
    /// Hop-by-hop headers already removed; `host`, `content-length` and `expect` are ignored.
    pub headers: &'a HeaderMap,
    /// Written after `headers`, whose names they do not share.
    pub added: &'a Added,
    /// `x-envoy-attempt-count`, where the virtual host asks for it
    /// (`include_request_attempt_count`); `headers` then holds none.
    pub attempt_count: Option<u32>,
}

/// What is wrong with `path` as an HTTP/1.1 request target in origin form, if anything.
pub fn origin_form_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("the request target does not start with '/'");
    }
    // Visible ASCII only: a space or control character would end or split the request line.
    if !path.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Some("the request target holds a space, control or non-ASCII byte");
    }
    None
}

/// Methods whose requests carry a body by definition: they get `content-length: 0` when empty
/// (what hyper and curl send), so the upstream does not wait for one.
fn expects_body(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

/// Appends the request's head and, when small, its body to `out`; returns whether the body was
/// appended (a large one is written after the head on its own, not copied).
pub fn encode_request(head: &RequestHead<'_>, body: &Bytes, out: &mut BytesMut) -> bool {
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(head.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(head.host);
    out.extend_from_slice(b"\r\n");
    let mapped = head.headers.iter().map(|(n, v)| (n, v.as_bytes()));
    for (name, value) in mapped.chain(head.added.iter()) {
        // The body is buffered: the upstream must not wait for a 100 Continue it never gets
        // the chance to send. Length is ours to say.
        if name == header::HOST || name == header::CONTENT_LENGTH || name == header::EXPECT {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(head.added.exchange_lines());
    if let Some(n) = head.attempt_count {
        out.extend_from_slice(b"x-envoy-attempt-count: ");
        out.extend_from_slice(itoa(u64::from(n), &mut [0u8; 20]));
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || expects_body(head.method) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa(body.len() as u64, &mut [0u8; 20]));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if body.len() <= 16 * 1024 {
        out.extend_from_slice(body);
        return true;
    }
    false
}

fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Header maps of finished messages, kept per thread for the next ones. A map for a typical
/// response (eight headers: room for twelve entries of ~110 bytes) is a heap block over 1 KiB,
/// which glibc serves outside its per-thread cache, consolidating its fast bins first; a
/// profile at saturation showed that path (and the free) per request. Cleared maps keep their
/// room and hold no values, so nothing is kept alive by a spare.
const SPARE_MAPS: usize = 64;
/// Maps grown larger than this (a request with many headers) are not kept.
const SPARE_MAP_CAPACITY: usize = 32;

thread_local! {
    static SPARES: std::cell::RefCell<Vec<HeaderMap>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty header map with room for `count` headers, recycled when one is spare.
pub fn header_map(count: usize) -> HeaderMap {
    SPARES
        .with(|spares| spares.borrow_mut().pop())
        .unwrap_or_else(|| HeaderMap::with_capacity(count))
}

/// Gives a finished message's header map back for reuse by [`header_map`].
pub fn recycle(mut map: HeaderMap) {
    if map.capacity() > SPARE_MAP_CAPACITY {
        return;
    }
    map.clear();
    SPARES.with(|spares| {
        let mut spares = spares.borrow_mut();
        if spares.len() < SPARE_MAPS {
            spares.push(map);
        }
    });
}

/// Where each header's name and value lie in a message head, as offsets from its start:
/// `(name_start, name_end, value_start, value_end)`. u32: a head is at most tens of KiB.
/// Sixteen inline, more on the heap (a head with more headers is rare).
pub(super) type Offsets = smallvec::SmallVec<[(u32, u32, u32, u32); 16]>;

/// The offsets of header `h`, parsed from the head at address `base`.
pub(super) fn offsets(base: usize, h: &httparse::Header<'_>) -> (u32, u32, u32, u32) {
    let name = h.name.as_ptr() as usize - base;
    let value = h.value.as_ptr() as usize - base;
    (
        name as u32,
        (name + h.name.len()) as u32,
        value as u32,
        (value + h.value.len()) as u32,
    )
}

/// A header value httparse has parsed, as a `HeaderValue` sharing the message head's bytes.
///
/// `HeaderValue::from_maybe_shared` checks every byte again (HTAB, SP..=0x7e, 0x80..=0xff),
/// which callgrind showed at ~3 % of the proxy's instructions per request (the values of a
/// request and its response); httparse accepts exactly that set (its `HEADER_VALUE_MAP`, and the
/// same ranges in its SIMD paths) and rejects a message with any other byte in a value. hyper
/// builds its header values from httparse's the same way.
///
/// Only for values parsed with `httparse::ParserConfig::default()`: the options that accept
/// obsolete line folding would leave CR and LF inside a value.
#[allow(unsafe_code)]
pub(super) fn parsed_value(value: Bytes) -> HeaderValue {
    debug_assert!(HeaderValue::from_bytes(&value).is_ok(), "{value:?}");
    // SAFETY: the contract of `from_maybe_shared_unchecked` is that `value` holds only the
    // bytes `HeaderValue` allows (its docs say "valid UTF-8", but its own check, and the rest
    // of `HeaderValue`, are about that byte set: obs-text 0x80..=0xff is allowed and is not
    // UTF-8). Callers pass only slices httparse returned as values of a head it accepted with
    // the default config (nothing touches the buffer in between), which are in that set and
    // end before the line's CR LF.
    unsafe { HeaderValue::from_maybe_shared_unchecked(value) }
}

/// How a response's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 204, 304).
    Empty,
    /// `content-length` bytes.
    Length(u64),
    Chunked,
    /// Until the upstream closes the connection (which then cannot be reused).
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub struct ResponseHead {
    pub status: StatusCode,
    /// Without the hop-by-hop headers (RFC 9110 §7.6.1), which are this hop's business.
    pub headers: HeaderMap,
    pub framing: Framing,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
}

/// Parses a response head from the start of `buf`, consuming it. `Ok(None)`: more bytes are
/// needed. Informational responses (100 Continue and the like) are consumed and skipped.
pub fn parse_response_head(
    buf: &mut BytesMut,
    method: &Method,
    names: &mut Names,
) -> Result<Option<ResponseHead>, WireError> {
    loop {
        // Where each header's name and value lie in `buf`: the values are then cut from the
        // head's bytes without a copy (as hyper does), once the head is split off.
        let mut found = Offsets::new();
        let (consumed, code, http10, count) = {
            let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut []);
            // The default config: `parsed_value` relies on it (no obsolete line folding).
            let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut response,
                buf,
                &mut slots,
            );
            let consumed = match parsed {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => {
                    if buf.len() > MAX_HEAD_BYTES {
                        return Err(WireError::HeadTooLarge);
                    }
                    return Ok(None);
                }
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(WireError::Head("more than 100 headers"));
                }
                Err(_) => return Err(WireError::Head("not an HTTP/1.x response")),
            };
            let base = buf.as_ptr() as usize;
            found.extend(response.headers.iter().map(|h| offsets(base, h)));
            (
                consumed,
                response.code.unwrap_or(0),
                response.version == Some(0),
                response.headers.len(),
            )
        };
        let status = StatusCode::from_u16(code).map_err(|_| WireError::Head("invalid status"))?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(WireError::Upgrade);
        }
        if status.is_informational() {
            buf.advance(consumed);
            continue;
        }
        let head = buf.split_to(consumed).freeze();
        let mut headers = header_map(count);
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut encoded = false;
        let mut close = http10;
        for (index, &(name_start, name_end, value_start, value_end)) in found.iter().enumerate() {
            let (name_start, name_end) = (name_start as usize, name_end as usize);
            let (value_start, value_end) = (value_start as usize, value_end as usize);
            let raw_value = &head[value_start..value_end];
            let name = names
                .parse(index, &head[name_start..name_end])
                .map_err(|_| WireError::Head("header name"))?;
            if name == header::CONTENT_LENGTH {
                let n = parse_length(raw_value)?;
                // Several equal values are one length (RFC 9110 §8.6); different ones are not.
                if length.is_some_and(|l| l != n) {
                    return Err(WireError::ContentLength);
                }
                length = Some(n);
            } else if name == header::TRANSFER_ENCODING {
                encoded = true;
                chunked = last_token(raw_value).eq_ignore_ascii_case(b"chunked");
                continue;
            } else if name == header::CONNECTION {
                if has_token(raw_value, b"close") {
                    close = true;
                } else if http10 && has_token(raw_value, b"keep-alive") {
                    close = false;
                }
                continue;
            } else if is_hop_by_hop(&name) {
                continue;
            }
            headers.append(name, parsed_value(head.slice(value_start..value_end)));
        }
        let no_body = *method == Method::HEAD
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let framing = if no_body {
            Framing::Empty
        } else if encoded {
            // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3), which is dropped so
            // the downstream hop frames the body itself.
            headers.remove(header::CONTENT_LENGTH);
            if chunked {
                Framing::Chunked
            } else {
                Framing::UntilClose
            }
        } else {
            match length {
                Some(0) => Framing::Empty,
                Some(n) => Framing::Length(n),
                None => Framing::UntilClose,
            }
        };
        let keep_alive = !close && framing != Framing::UntilClose;
        return Ok(Some(ResponseHead {
            status,
            headers,
            framing,
            keep_alive,
        }));
    }
}

pub(super) fn parse_length(value: &[u8]) -> Result<u64, WireError> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(WireError::ContentLength);
    }
    Ok(value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

pub(super) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|b| *b == b',').map(<[u8]>::trim_ascii)
}

pub(super) fn has_token(value: &[u8], token: &[u8]) -> bool {
    tokens(value).any(|t| t.eq_ignore_ascii_case(token))
}

fn last_token(value: &[u8]) -> &[u8] {
    tokens(value).last().unwrap_or_default()
}

/// Hop-by-hop names that are not standard headers. Compared as names, not as strings: a
/// standard name's `as_str` is a table lookup, and every header of every message is checked.
pub(super) const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::TE
        || name == header::UPGRADE
        || name == header::PROXY_AUTHENTICATE
        || *name == KEEP_ALIVE
        || *name == PROXY_CONNECTION
}

/// Decodes a chunked body (RFC 9112 §7.1) as its bytes arrive; trailers are read and dropped.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// Trailer bytes seen so far.
    trailers: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data: this many bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
    Done,
}

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Data(Bytes),
    /// The buffer holds no complete next piece: read more.
    NeedMore,
    End,
}

impl ChunkedDecoder {
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes what `buf` holds from its start, consuming it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, WireError> {
        loop {
            match self.state {
                ChunkState::Done => return Ok(Decoded::End),
                ChunkState::Size => {
                    let Some(line) = take_line(buf, MAX_CHUNK_LINE)? else {
                        return Ok(Decoded::NeedMore);
                    };
                    let size = parse_chunk_size(&line)?;
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                    return Ok(Decoded::Data(data));
                }
                ChunkState::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Decoded::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(WireError::Chunk("no CRLF after chunk data"));
                    }
                    buf.advance(2);
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let Some(line) = take_line(buf, MAX_TRAILERS)? else {
                        return Ok(Decoded::NeedMore);
                    };
                    self.trailers += line.len() + 2;
                    if self.trailers > MAX_TRAILERS {
                        return Err(WireError::Chunk("trailers too large"));
                    }
                    if line.is_empty() {
                        self.state = ChunkState::Done;
                    }
                }
            }
        }
    }
}

/// Takes one CRLF-terminated line off `buf` (without the CRLF); `None` while incomplete.
fn take_line(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, WireError> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(end) => {
            let line = buf.split_to(end);
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > max => Err(WireError::Chunk("line too long")),
        None => Ok(None),
    }
}

fn parse_chunk_size(line: &[u8]) -> Result<u64, WireError> {
    // Extensions (`;name=value`) are ignored, as every implementation does. Whitespace is
    // allowed only before an extension's `;` (RFC 9112 §7.1.1's BWS): a size with leading
    // spaces or a bare trailing one is read differently by different parsers, which is how
    // requests get smuggled.
    let (digits, extension) = match line.iter().position(|b| *b == b';') {
        Some(i) => (&line[..i], true),
        None => (line, false),
    };
    let digits = if extension {
        digits.trim_ascii_end()
    } else {
        digits
    };
    if digits.is_empty() || digits.len() > 15 {
        return Err(WireError::Chunk("bad chunk size"));
    }
    digits.iter().try_fold(0u64, |n, d| {
        let v = (*d as char)
            .to_digit(16)
            .ok_or(WireError::Chunk("bad chunk size"))?;
        Ok(n * 16 + u64::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8], method: &Method) -> Result<Option<ResponseHead>, WireError> {
        parse_response_head(&mut BytesMut::from(bytes), method, &mut Names::default())
    }

    #[test]
    fn a_request_is_written_with_our_host_and_length() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("1"));
        headers.insert(header::HOST, HeaderValue::from_static("ignored"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("99"));
        headers.insert(header::EXPECT, HeaderValue::from_static("100-continue"));
        static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
        let mut added = Added::default();
        added.push(&X_REQUEST_ID, b"r1");
        let req = RequestHead {
            method: &Method::POST,
            path: "/p?q=1",
            host: b"reviews:9080",
            headers: &headers,
            added: &added,
            attempt_count: None,
        };
        let mut out = BytesMut::new();
        assert!(encode_request(
            &req,
            &Bytes::from_static(b"hello"),
            &mut out
        ));
        assert_eq!(
            &out[..],
            b"POST /p?q=1 HTTP/1.1\r\nhost: reviews:9080\r\nx-a: 1\r\nx-request-id: r1\r\ncontent-length: 5\r\n\r\nhello"
        );
        let get = RequestHead {
            method: &Method::GET,
            ..req
        };
        out.clear();
        encode_request(&get, &Bytes::new(), &mut out);
        assert_eq!(
            &out[..],
            b"GET /p?q=1 HTTP/1.1\r\nhost: reviews:9080\r\nx-a: 1\r\nx-request-id: r1\r\n\r\n"
        );
        // A retry's head says which attempt it is (Envoy's `include_request_attempt_count`).
        let retry = RequestHead {
            attempt_count: Some(2),
            ..get
        };
        out.clear();
        encode_request(&retry, &Bytes::new(), &mut out);
        assert_eq!(
            &out[..],
            b"GET /p?q=1 HTTP/1.1\r\nhost: reviews:9080\r\nx-a: 1\r\nx-request-id: r1\r\nx-envoy-attempt-count: 2\r\n\r\n"
        );
        // Metadata exchange's pair follows the other added headers, as encoded once.
        let mut added = added.clone();
        added.push_exchange(&std::sync::Arc::new(
            crate::proxy::telemetry::metrics::ExchangeHeaders::new(
                HeaderValue::from_static("router~1"),
                HeaderValue::from_static("CgQ="),
            ),
        ));
        let announced = RequestHead {
            added: &added,
            ..retry
        };
        out.clear();
        encode_request(&announced, &Bytes::new(), &mut out);
        assert_eq!(
            &out[..],
            b"GET /p?q=1 HTTP/1.1\r\nhost: reviews:9080\r\nx-a: 1\r\nx-request-id: r1\r\nx-envoy-peer-metadata-id: router~1\r\nx-envoy-peer-metadata: CgQ=\r\nx-envoy-attempt-count: 2\r\n\r\n"
        );
    }

    #[test]
    fn only_origin_form_targets_are_sent() {
        assert_eq!(origin_form_problem("/a/b?c=d%20e"), None);
        assert!(origin_form_problem("a").is_some());
        assert!(origin_form_problem("/a b").is_some());
        assert!(origin_form_problem("/a\r\nx: y").is_some());
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let h = head(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            &Method::GET,
        )
        .expect("ok")
        .expect("complete");
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), true));
        assert_eq!(h.headers["content-length"], "5");

        let h = head(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
            &Method::GET,
        )
        .expect("ok")
        .expect("complete");
        assert_eq!(h.framing, Framing::Chunked);
        assert!(!h.headers.contains_key("content-length"));
        assert!(!h.headers.contains_key("transfer-encoding"));

        let h = head(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
            &Method::HEAD,
        )
        .expect("ok")
        .expect("complete");
        assert_eq!(h.framing, Framing::Empty);
        let h = head(b"HTTP/1.1 204 No Content\r\n\r\n", &Method::GET)
            .expect("ok")
            .expect("complete");
        assert_eq!((h.framing, h.keep_alive), (Framing::Empty, true));

        let h = head(b"HTTP/1.1 200 OK\r\n\r\n", &Method::GET)
            .expect("ok")
            .expect("complete");
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        let h = head(
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\nkeep-alive: x\r\n\r\n",
            &Method::GET,
        )
        .expect("ok")
        .expect("complete");
        assert!(!h.keep_alive);
        assert!(h.headers.get("connection").is_none() && h.headers.get("keep-alive").is_none());
        let h = head(
            b"HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n",
            &Method::GET,
        )
        .expect("ok")
        .expect("complete");
        assert!(!h.keep_alive);
    }

    #[test]
    fn a_head_arrives_in_pieces_and_informational_responses_are_skipped() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncont"[..]);
        assert_eq!(
            parse_response_head(&mut buf, &Method::GET, &mut Names::default())
                .expect("ok")
                .map(|h| h.status),
            None
        );
        buf.extend_from_slice(b"ent-length: 2\r\n\r\nok");
        let h = parse_response_head(&mut buf, &Method::GET, &mut Names::default())
            .expect("ok")
            .expect("complete");
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(&buf[..], b"ok");
    }

    #[test]
    fn one_connections_responses_read_alike_whatever_names_they_repeat() {
        // The names kept from one response must never leak into the next: same names, other
        // names at the same places, framing headers moving, a name that only differs in case.
        let mut names = Names::default();
        let responses: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\nX-A: 2\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nServer: nginx\r\nConnection: close\r\nX-B: 3\r\ncontent-length: 1\r\n\r\nz",
            b"HTTP/1.1 200 OK\r\nSERVER: other\r\nTransfer-Encoding: chunked\r\nX-A: 4\r\n\r\n",
        ];
        for bytes in responses {
            let mut buf = BytesMut::from(bytes);
            let kept = parse_response_head(&mut buf, &Method::GET, &mut names);
            let fresh = parse_response_head(
                &mut BytesMut::from(bytes),
                &Method::GET,
                &mut Names::default(),
            );
            let (kept, fresh) = (
                kept.expect("ok").expect("complete"),
                fresh.expect("ok").expect("complete"),
            );
            assert_eq!(kept.headers, fresh.headers);
            assert_eq!(
                (kept.framing, kept.keep_alive),
                (fresh.framing, fresh.keep_alive)
            );
        }
        let mut buf = BytesMut::from(responses[3]);
        let last = parse_response_head(&mut buf, &Method::GET, &mut names)
            .expect("ok")
            .expect("complete");
        assert_eq!(last.framing, Framing::Chunked);
        assert_eq!(
            last.headers.get("server").map(|v| v.as_bytes()),
            Some(&b"other"[..])
        );
        assert_eq!(
            last.headers.get("x-a").map(|v| v.as_bytes()),
            Some(&b"4"[..])
        );
        assert!(last.headers.get("x-b").is_none());
    }

    #[test]
    fn bad_heads_are_errors() {
        assert_eq!(
            head(
                b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
                &Method::GET
            )
            .err(),
            Some(WireError::ContentLength)
        );
        assert_eq!(
            head(
                b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
                &Method::GET
            )
            .err(),
            Some(WireError::ContentLength)
        );
        assert!(matches!(
            head(b"SSH-2.0-OpenSSH\r\n\r\n", &Method::GET),
            Err(WireError::Head(_))
        ));
        assert_eq!(
            head(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", &Method::GET).err(),
            Some(WireError::Upgrade)
        );
        let big = [
            &b"HTTP/1.1 200 OK\r\nx: "[..],
            &vec![b'a'; MAX_HEAD_BYTES + 1],
        ]
        .concat();
        assert_eq!(
            head(&big, &Method::GET).err(),
            Some(WireError::HeadTooLarge)
        );
        let many: Vec<u8> = (0..=MAX_HEADERS)
            .flat_map(|i| format!("x-{i}: 1\r\n").into_bytes())
            .collect();
        let many = [&b"HTTP/1.1 200 OK\r\n"[..], &many, b"\r\n"].concat();
        assert!(matches!(head(&many, &Method::GET), Err(WireError::Head(_))));
    }

    fn decode_all(decoder: &mut ChunkedDecoder, buf: &mut BytesMut) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::new();
        loop {
            match decoder.decode(buf)? {
                Decoded::Data(d) => out.extend_from_slice(&d),
                Decoded::NeedMore | Decoded::End => return Ok(out),
            }
        }
    }

    #[test]
    fn chunked_bodies_decode_byte_by_byte() {
        let wire = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        let mut decoder = ChunkedDecoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for b in wire {
            buf.extend_from_slice(&[*b]);
            out.extend(decode_all(&mut decoder, &mut buf).expect("decodes"));
            if decoder.is_done() {
                break;
            }
        }
        assert_eq!(out, b"hello world");
        assert!(decoder.is_done());
        assert!(buf.is_empty(), "nothing after the body is consumed");
    }

    #[test]
    fn bad_chunks_are_errors() {
        for wire in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"\r\n",
            b"fffffffffffffffff\r\n",
            b" 5\r\nhello\r\n",
            b"5 \r\nhello\r\n",
            b"+5\r\nhello\r\n",
            b"0x5\r\nhello\r\n",
        ] {
            let mut buf = BytesMut::from(wire);
            assert!(
                decode_all(&mut ChunkedDecoder::default(), &mut buf).is_err(),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }
}
