//! Trace context from hop to hop, as Envoy's tracers propagate it in an Istio mesh: B3
//! (`x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid`, `x-b3-sampled`, Zipkin's, Istio's
//! default) and W3C Trace Context (`traceparent`). Each proxy is a span of the trace: a request
//! leaves with the trace it came with (or a new one), a new span id, the incoming span id as its
//! parent, and the sampling decision it came with (or a new one, by the connection manager's
//! `tracing.random_sampling`, i.e. `defaultConfig.tracing.sampling`). Both header families are
//! written, so a B3 application and a W3C one downstream see the same trace.
//!
//! The values are formatted on the stack and copied where they go: the forwarded request's
//! added headers ([`crate::proxy::added`]) or its map.

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::proxy::hex::hex16;

pub const X_B3_TRACEID: HeaderName = HeaderName::from_static("x-b3-traceid");
pub const X_B3_SPANID: HeaderName = HeaderName::from_static("x-b3-spanid");
pub const X_B3_PARENTSPANID: HeaderName = HeaderName::from_static("x-b3-parentspanid");
pub const X_B3_SAMPLED: HeaderName = HeaderName::from_static("x-b3-sampled");
pub const X_B3_FLAGS: HeaderName = HeaderName::from_static("x-b3-flags");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The headers [`next_hop`] writes. A static, not a const: a const array is built and dropped
/// at every use.
static WRITTEN: [HeaderName; 5] = [
    X_B3_TRACEID,
    X_B3_SPANID,
    X_B3_PARENTSPANID,
    X_B3_SAMPLED,
    TRACEPARENT,
];

/// A trace id: 64 bits (B3's short form, `high` 0 and `short` set) or 128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId {
    pub high: u64,
    pub low: u64,
    /// Came as 16 hex digits (B3's 64-bit form), and goes on as such in B3.
    pub short: bool,
}

/// The trace context a request arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub trace: TraceId,
    /// The caller's span: the parent of this hop's.
    pub span: Option<u64>,
    /// The caller's sampling decision, if it made one.
    pub sampled: Option<bool>,
}

fn hex_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 || !s.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

fn trace_id(s: &[u8]) -> Option<TraceId> {
    let id = match s.len() {
        16 => TraceId {
            high: 0,
            low: hex_u64(s)?,
            short: true,
        },
        32 => TraceId {
            high: hex_u64(&s[..16])?,
            low: hex_u64(&s[16..])?,
            short: false,
        },
        _ => return None,
    };
    // All zeros is invalid in both formats.
    (id.high != 0 || id.low != 0).then_some(id)
}

/// Reads B3 first (Istio's default tracer is Zipkin's), else `traceparent`; `None` when the
/// request carries no valid context.
pub fn incoming(headers: &HeaderMap) -> Option<Incoming> {
    if let Some(trace) = headers
        .get(&X_B3_TRACEID)
        .and_then(|v| trace_id(v.as_bytes()))
    {
        let span = headers
            .get(&X_B3_SPANID)
            .and_then(|v| hex_u64(v.as_bytes()));
        let debug = headers
            .get(&X_B3_FLAGS)
            .is_some_and(|v| v.as_bytes() == b"1");
        let sampled = match headers.get(&X_B3_SAMPLED).map(HeaderValue::as_bytes) {
            _ if debug => Some(true),
            Some(b"1" | b"true" | b"d") => Some(true),
            Some(b"0" | b"false") => Some(false),
            _ => None,
        };
        return Some(Incoming {
            trace,
            span,
            sampled,
        });
    }
    // `version-traceid-parentid-flags`; a later version may append fields.
    let value = headers.get(&TRACEPARENT)?.as_bytes();
    let mut parts = value.split(|b| *b == b'-');
    let version = parts.next()?;
    let (trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2 || version == b"ff" || trace.len() != 32 || parent.len() != 16 {
        return None;
    }
    if version == b"00" && parts.next().is_some() {
        return None;
    }
    let flags = u8::try_from(hex_u64(flags).filter(|_| flags.len() == 2)?).ok()?;
    Some(Incoming {
        trace: trace_id(trace)?,
        span: hex_u64(parent).filter(|s| *s != 0),
        sampled: Some(flags & 1 == 1),
    })
}

/// The next hop's trace context, written as the headers [`WRITTEN`] by [`NextHop::write`].
#[derive(Debug, Clone, Copy)]
pub struct NextHop {
    /// The request carried one of the names: the values replace (or remove) its headers.
    /// Otherwise they are all new, and may be added without a lookup.
    pub replaces: bool,
    trace: TraceId,
    span: u64,
    parent: Option<u64>,
    sampled: bool,
}

impl NextHop {
    /// Gives each header's name with its value, or `None` for one to remove (a parent span when
    /// this hop has none). The values are hex digits and dashes, valid header values all, formatted
    /// on the stack: the caller copies them where they go (no allocation of their own).
    pub fn write(&self, mut put: impl FnMut(&'static HeaderName, Option<&[u8]>)) {
        let (high, low) = (hex16(self.trace.high), hex16(self.trace.low));
        let span = hex16(self.span);
        // 32 hex digits, or B3's 16 for a short id.
        let mut trace = [0u8; 32];
        trace[..16].copy_from_slice(&high);
        trace[16..].copy_from_slice(&low);
        put(
            &WRITTEN[0],
            Some(if self.trace.short {
                &low[..]
            } else {
                &trace[..]
            }),
        );
        put(&WRITTEN[1], Some(&span[..]));
        let parent = self.parent.map(hex16);
        put(&WRITTEN[2], parent.as_ref().map(|p| &p[..]));
        put(
            &WRITTEN[3],
            Some(if self.sampled { &b"1"[..] } else { &b"0"[..] }),
        );
        // `00-{trace:32}-{span:16}-{flags:2}`: W3C's version 00.
        let mut traceparent = [0u8; 55];
        traceparent[..3].copy_from_slice(b"00-");
        traceparent[3..35].copy_from_slice(&trace);
        traceparent[35] = b'-';
        traceparent[36..52].copy_from_slice(&span);
        traceparent[52..].copy_from_slice(if self.sampled { b"-01" } else { b"-00" });
        put(&WRITTEN[4], Some(&traceparent[..]));
    }

    /// Puts the context into `headers`, replacing what the request came with.
    pub fn apply(&self, headers: &mut HeaderMap) {
        self.write(|name, value| match value.map(HeaderValue::from_bytes) {
            Some(Ok(v)) => {
                headers.insert(name, v);
            }
            // Hex digits and dashes are always a valid value.
            Some(Err(_)) => {}
            None if self.replaces => {
                headers.remove(name);
            }
            None => {}
        });
    }
}

/// Writes the next hop's trace context into `headers`: see [`next_hop`].
pub fn propagate(headers: &mut HeaderMap, sampling: f64, random: impl FnMut() -> u64) {
    next_hop(headers, sampling, random).apply(headers);
}

/// The next hop's trace context for a request with `headers`: the trace it came with, or a new
/// one; a new span whose parent is the incoming one; the caller's sampling decision, or one
/// drawn with `sampling` percent. `random` gives the new ids (never 0) and the draw.
pub fn next_hop(headers: &HeaderMap, sampling: f64, mut random: impl FnMut() -> u64) -> NextHop {
    let mut nonzero = || loop {
        let n = random();
        if n != 0 {
            return n;
        }
    };
    // Most requests arrive without a trace context: one pass over their few names saves a
    // lookup per trace header (each hashes its name).
    let replaces = headers.keys().any(|name| WRITTEN.contains(name));
    let incoming = if replaces { incoming(headers) } else { None };
    let trace = incoming.map_or_else(
        || TraceId {
            high: nonzero(),
            low: nonzero(),
            short: false,
        },
        |i| i.trace,
    );
    let sampled = incoming.and_then(|i| i.sampled).unwrap_or_else(|| {
        // A draw in [0, 10000): hundredths of a percent, Istio's precision.
        ((nonzero() % 10_000) as f64) < sampling * 100.0
    });
    NextHop {
        replaces,
        trace,
        span: nonzero(),
        parent: incoming.and_then(|i| i.span),
        sampled,
    }
}

#[cfg(test)]
mod tests;
