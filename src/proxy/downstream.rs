//! Downstream HTTP/1.1 connections on the proxy's own codec (RFC 9112): read a request head,
//! its body, hand the request to the route, write the response, and again while the client
//! keeps the connection.
//!
//! hyper served these before. At saturation a profile put its server connection at ≈ 1.1 µs of
//! the ≈ 3.9 µs of user time per request (dispatch through its state machine, a header-read
//! timer armed per request, a response encoder that copies every header name), which kept the
//! proxy under nginx per core. Here a request costs a parse into a header map whose values are
//! slices of the read buffer, one write for the response head and a small body, and no timer
//! per request: one timer per connection is re-armed lazily (see [`Clock`]).
//!
//! What the codec refuses, with the status Envoy answers: request smuggling vectors (both
//! Content-Length and Transfer-Encoding, several Content-Lengths, a Transfer-Encoding whose last
//! coding is not chunked, bad chunk sizes, obs-folded lines, several Hosts) get 400; a head over
//! 60 KiB or with more than 100 headers gets 431; a body over 1 MiB gets 413; a client that does
//! not finish its head within the header timeout gets 408. Each of those closes the connection
//! after the answer, having read (and dropped) what the client was still sending, so the client
//! sees the answer instead of a reset.
//!
//! A connection that opens with HTTP/2's preface (h2c with prior knowledge) is handed back to
//! the caller with the bytes read so far, for hyper's HTTP/2 server.

use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::Full;
use hyper::body::Body as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Sleep;

use super::forward::{Body, MAX_REQUEST_BODY};
use super::h1::{self, ChunkedDecoder, Decoded};
use super::stats::HttpStats;
use super::telemetry::exchange::Sent;

/// Envoy's default limit on request headers (`max_request_headers_kb`: 60 KiB); beyond it the
/// request gets 431.
pub const MAX_HEADER_BYTES: usize = 60 * 1024;
/// Envoy's default `max_headers_count`: requests with more get 431.
pub const MAX_HEADERS: usize = 100;
/// HTTP/2's connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Room kept for the next read: a typical request head arrives in one read.
const READ_BUFFER: usize = 8 * 1024;
/// A response body piece up to this size is copied behind the head (one write); larger ones
/// are written on their own.
const COALESCE: usize = 16 * 1024;
/// After refusing a request, how long and how much of what the client still sends is read and
/// dropped before closing, so that closing does not reset the connection under the answer.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 << 20;

/// Timeouts of a downstream connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head must arrive within this, counted from its first byte (or from the
    /// connection's start for its first request); Envoy's `request_headers_timeout`, which
    /// Ferry turns on by default (slow-header attacks hold connections open otherwise).
    pub header_timeout: Duration,
    /// A connection with no request in flight is closed after this (Envoy's HTTP connection
    /// manager `idle_timeout`, 1 h by default).
    pub idle_timeout: Duration,
    /// A request body that stops arriving for this long ends the connection (Envoy's
    /// `stream_idle_timeout`, 5 min by default).
    pub stream_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(3600),
            stream_idle_timeout: Duration::from_secs(300),
        }
    }
}

/// What serves each request: the route (the proxy's [`super::forward`]).
pub trait Handler {
    /// Answers `request`, which took `received` bytes on the wire (its head and body).
    fn handle(
        &mut self,
        request: Request<Full<Bytes>>,
        received: u64,
    ) -> impl Future<Output = Response<Body>> + Send + '_;

    /// Whether the connection closes after the answer just made (`connection: close`).
    fn closing(&self) -> bool {
        false
    }

    /// The answer to the last request was written, as far as `sent` says (telemetry reports
    /// the request here, when its last byte left).
    fn done(&mut self, _sent: Sent) {}

    /// The `server` header of the codec's own answers (a refused request), as the connection
    /// manager names the proxy; `None` sends none.
    fn server(&mut self) -> Option<HeaderValue> {
        None
    }
}

/// How a connection ended.
pub enum Ended<S> {
    /// Closed, by the client, by an answer that closes it, or by an error.
    Closed,
    /// The client opened with HTTP/2's preface: serve `io` as HTTP/2, starting with `read`.
    Http2 { io: S, read: BytesMut },
}

/// A request the codec answers itself, closing the connection after the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("request head larger than {MAX_HEADER_BYTES} bytes")]
    HeadTooLarge,
    #[error("more than {MAX_HEADERS} request headers")]
    TooManyHeaders,
    #[error("request body larger than {MAX_REQUEST_BODY} bytes")]
    BodyTooLarge,
    #[error("transfer coding other than chunked")]
    UnsupportedCoding,
    #[error("request head not complete within the header timeout")]
    HeaderTimeout,
}

impl Reject {
    pub fn status(self) -> StatusCode {
        match self {
            Reject::BadRequest(_) => StatusCode::BAD_REQUEST,
            Reject::HeadTooLarge | Reject::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Reject::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Reject::UnsupportedCoding => StatusCode::NOT_IMPLEMENTED,
            Reject::HeaderTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }
}

/// Why a connection stops.
enum Stop {
    /// The client closed (between requests, or mid-request).
    Eof,
    Io(std::io::Error),
    Reject(Reject),
    /// Nothing happened for the idle (or stream idle) timeout.
    Idle,
    /// The proxy shuts down and this connection is between requests.
    Shutdown,
}

/// How a request's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFraming {
    None,
    Length(u64),
    Chunked,
}

/// A parsed request head.
#[derive(Debug)]
struct RequestHead {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    body: BodyFraming,
    /// Whether the client keeps the connection after this request.
    keep_alive: bool,
    /// `Expect: 100-continue`: the client waits for a 100 before sending its body.
    expect_continue: bool,
    /// The head's size on the wire.
    wire: usize,
}

/// Parses a request head from the start of `buf`, consuming it; `Ok(None)` while incomplete.
fn parse_request_head(
    buf: &mut BytesMut,
    names: &mut h1::Names,
) -> Result<Option<RequestHead>, Reject> {
    // Where the target, each header's name and value lie in `buf`: values are cut from the
    // head's bytes without a copy once the head is split off (as the upstream codec does).
    let mut found = h1::Offsets::new();
    let (consumed, method, target, version, count) = {
        let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut []);
        // The default config: `h1::parsed_value` relies on it (no obsolete line folding).
        let parsed = httparse::ParserConfig::default().parse_request_with_uninit_headers(
            &mut request,
            buf,
            &mut slots,
        );
        let consumed = match parsed {
            Ok(httparse::Status::Complete(n)) if n > MAX_HEADER_BYTES => {
                return Err(Reject::HeadTooLarge);
            }
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEADER_BYTES {
                    return Err(Reject::HeadTooLarge);
                }
                return Ok(None);
            }
            Err(httparse::Error::TooManyHeaders) => return Err(Reject::TooManyHeaders),
            Err(httparse::Error::Version) => {
                return Err(Reject::BadRequest("not an HTTP/1.x request"));
            }
            // Covers obs-fold (a header line starting with whitespace), whitespace before
            // a colon and bytes not allowed in names or values: all rejected, never guessed.
            Err(_) => return Err(Reject::BadRequest("malformed request head")),
        };
        let base = buf.as_ptr() as usize;
        found.extend(request.headers.iter().map(|h| h1::offsets(base, h)));
        let method = request.method.unwrap_or_default();
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| Reject::BadRequest("invalid method"))?;
        let path = request.path.unwrap_or_default();
        let start = path.as_ptr() as usize - base;
        let version = if request.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        (
            consumed,
            method,
            start..start + path.len(),
            version,
            request.headers.len(),
        )
    };
    let head = buf.split_to(consumed).freeze();
    let uri = Uri::from_maybe_shared(head.slice(target))
        .map_err(|_| Reject::BadRequest("invalid request target"))?;
    let mut headers = h1::header_map(count);
    let mut length: Option<u64> = None;
    let mut codings = 0usize;
    let mut chunked_last = false;
    let mut hosts = 0usize;
    let http10 = version == Version::HTTP_10;
    let mut keep_alive = !http10;
    let mut expect_continue = false;
    for (index, &(name_start, name_end, value_start, value_end)) in found.iter().enumerate() {
        let (name_start, name_end) = (name_start as usize, name_end as usize);
        let (value_start, value_end) = (value_start as usize, value_end as usize);
        let raw = &head[value_start..value_end];
        let name = names
            .parse(index, &head[name_start..name_end])
            .map_err(|_| Reject::BadRequest("invalid header name"))?;
        if name == header::CONTENT_LENGTH {
            // One length, said once: two (even equal) are how requests are smuggled past
            // a proxy that reads the other one.
            if length.is_some() {
                return Err(Reject::BadRequest("more than one content-length"));
            }
            length = Some(
                h1::parse_length(raw).map_err(|_| Reject::BadRequest("invalid content-length"))?,
            );
        } else if name == header::TRANSFER_ENCODING {
            for coding in h1::tokens(raw) {
                codings += 1;
                chunked_last = coding.eq_ignore_ascii_case(b"chunked");
            }
        } else if name == header::HOST {
            hosts += 1;
        } else if name == header::CONNECTION {
            if h1::has_token(raw, b"close") {
                keep_alive = false;
            } else if http10 && h1::has_token(raw, b"keep-alive") {
                keep_alive = true;
            }
        } else if name == header::EXPECT {
            expect_continue = !http10 && raw.eq_ignore_ascii_case(b"100-continue");
        }
        headers.append(name, h1::parsed_value(head.slice(value_start..value_end)));
    }
    if hosts > 1 {
        return Err(Reject::BadRequest("more than one host"));
    }
    let body = if codings > 0 {
        // RFC 9112 §6.1: a request with both is to be treated as an attack on the framing.
        if length.is_some() {
            return Err(Reject::BadRequest(
                "both content-length and transfer-encoding",
            ));
        }
        if http10 {
            return Err(Reject::BadRequest(
                "transfer-encoding in an HTTP/1.0 request",
            ));
        }
        // §6.3: without chunked last, a request's length cannot be known: 400. Chunked after
        // another coding is valid but the proxy does not decode codings: 501.
        if !chunked_last {
            return Err(Reject::BadRequest(
                "transfer-encoding does not end with chunked",
            ));
        }
        if codings > 1 {
            return Err(Reject::UnsupportedCoding);
        }
        BodyFraming::Chunked
    } else {
        match length {
            None | Some(0) => BodyFraming::None,
            Some(n) => BodyFraming::Length(n),
        }
    };
    Ok(Some(RequestHead {
        method,
        uri,
        version,
        headers,
        body,
        keep_alive,
        expect_continue,
        wire: consumed,
    }))
}

/// The connection's one timer, re-armed lazily: requests only count activity, and when the
/// timer fires it decides whether a limit was really reached or sets itself for later. Arming
/// a timer per request (as hyper's header-read timeout does) costs a timer-wheel insert and
/// removal per request.
struct Clock {
    limits: Limits,
    timer: Pin<Box<Sleep>>,
    /// The waker the timer holds, once polled (with coop budget left) and not fired since:
    /// polling a tokio timer registers the waker anew (two compare-and-swaps, a clone and a
    /// drop of the old one: locked instructions on x86), which a request paid on every wait
    /// for its next bytes; the connection's task is the same from one wait to the next, so
    /// once is enough.
    armed: Option<Waker>,
    /// When the head being waited for began: the connection's start for its first request,
    /// the read that brought a partial head for later ones. `None` between requests.
    head_since: Option<Instant>,
    /// Reads and requests so far, and at the last tick: equal means nothing happened since.
    activity: u64,
    seen: u64,
    quiet_since: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Reading a request body.
    Body,
}

impl Clock {
    fn new(limits: Limits) -> Clock {
        let now = Instant::now();
        Clock {
            limits,
            timer: Box::pin(tokio::time::sleep_until(
                (now + limits.header_timeout).into(),
            )),
            armed: None,
            head_since: Some(now),
            activity: 0,
            seen: 0,
            quiet_since: now,
        }
    }

    /// Whether the timer has fired; polls it only when it has (`is_elapsed` is a load) or
    /// does not hold this task's waker.
    fn poll_timer(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if !self.timer.is_elapsed() && self.armed.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        // Out of budget, tokio's coop answers a timer's poll with Pending before the timer
        // takes the waker (or is even put on the wheel): only a poll made with budget arms it.
        let budget = tokio::task::coop::has_budget_remaining();
        let polled = self.timer.as_mut().poll(cx);
        self.armed = (budget && polled.is_pending()).then(|| cx.waker().clone());
        polled
    }

    /// The timer fired: what limit is reached, if any; otherwise re-arms.
    fn fired(&mut self, phase: Phase) -> Result<(), Stop> {
        // A fired timer gave its waker up; it must be polled again once reset.
        self.armed = None;
        let now = Instant::now();
        if phase == Phase::Head
            && let Some(since) = self.head_since
        {
            let deadline = since + self.limits.header_timeout;
            if now >= deadline {
                return Err(Stop::Reject(Reject::HeaderTimeout));
            }
            self.timer.as_mut().reset(deadline.into());
            return Ok(());
        }
        let limit = match phase {
            Phase::Head => self.limits.idle_timeout,
            Phase::Body => self.limits.stream_idle_timeout,
        };
        if self.activity != self.seen {
            self.seen = self.activity;
            self.quiet_since = now;
        } else if now.duration_since(self.quiet_since) >= limit {
            return Err(Stop::Idle);
        }
        let tick = self.limits.header_timeout.min(limit);
        let until_limit = limit.saturating_sub(now.duration_since(self.quiet_since));
        self.timer
            .as_mut()
            .reset((now + tick.min(until_limit).max(Duration::from_millis(1))).into());
        Ok(())
    }
}

/// What ended a wait for a connection's next bytes.
enum Woke {
    Read(std::io::Result<usize>),
    Shutdown,
    Timer,
}

struct Conn<'a, S> {
    io: S,
    buf: BytesMut,
    out: BytesMut,
    /// The previous request's header names.
    names: h1::Names,
    /// Bytes written so far, and of them body bytes.
    written: u64,
    body_written: u64,
    clock: Clock,
    shutdown: Pin<&'a mut (dyn Future<Output = ()> + Send)>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<'_, S> {
    /// Reads more bytes into `buf`, minding the timeouts; a shutdown ends a connection only
    /// while it waits for a request that has not begun.
    async fn read_more(&mut self, phase: Phase) -> Result<(), Stop> {
        // Between requests, with the last one's head dropped, the buffer starts over at the
        // front of its allocation (see `pool::make_room`: the same cache lines every time).
        let reclaimed = self.buf.is_empty() && self.buf.try_reclaim(READ_BUFFER);
        if !reclaimed && self.buf.capacity() - self.buf.len() < READ_BUFFER / 4 {
            self.buf.reserve(READ_BUFFER);
        }
        let between_requests = phase == Phase::Head && self.buf.is_empty();
        loop {
            let mut read = std::pin::pin!(self.io.read_buf(&mut self.buf));
            let (shutdown, clock) = (&mut self.shutdown, &mut self.clock);
            // The read first, then the shutdown, then the timer (see `Clock::poll_timer`).
            let woke = std::future::poll_fn(|cx| {
                // As `tokio::select!` does: a task out of budget yields before polling any.
                if !tokio::task::coop::has_budget_remaining() {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                if let Poll::Ready(read) = read.as_mut().poll(cx) {
                    return Poll::Ready(Woke::Read(read));
                }
                if between_requests && shutdown.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Woke::Shutdown);
                }
                clock.poll_timer(cx).map(|()| Woke::Timer)
            })
            .await;
            match woke {
                Woke::Read(Ok(0)) => return Err(Stop::Eof),
                Woke::Read(Ok(_)) => {
                    self.clock.activity += 1;
                    return Ok(());
                }
                Woke::Read(Err(e)) => return Err(Stop::Io(e)),
                Woke::Shutdown => return Err(Stop::Shutdown),
                Woke::Timer => self.clock.fired(phase)?,
            }
        }
    }

    /// The next request head; `Ok(None)`: the client opened with HTTP/2's preface.
    async fn read_head(&mut self, first: bool) -> Result<Option<RequestHead>, Stop> {
        loop {
            if first && !self.buf.is_empty() {
                let n = self.buf.len().min(PREFACE.len());
                if self.buf[..n] == PREFACE[..n] {
                    if n == PREFACE.len() {
                        return Ok(None);
                    }
                    self.read_more(Phase::Head).await?;
                    continue;
                }
            }
            if !self.buf.is_empty() {
                if let Some(head) =
                    parse_request_head(&mut self.buf, &mut self.names).map_err(Stop::Reject)?
                {
                    self.clock.head_since = None;
                    self.clock.activity += 1;
                    return Ok(Some(head));
                }
                // Slow path: the head came in pieces; its clock starts now.
                if self.clock.head_since.is_none() {
                    self.clock.head_since = Some(Instant::now());
                }
            }
            self.read_more(Phase::Head).await?;
        }
    }

    async fn read_body(&mut self, head: &RequestHead) -> Result<Bytes, Stop> {
        match head.body {
            BodyFraming::None => Ok(Bytes::new()),
            BodyFraming::Length(n) => {
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_REQUEST_BODY)
                    .ok_or(Stop::Reject(Reject::BodyTooLarge))?;
                if head.expect_continue && self.buf.len() < n {
                    self.write_continue().await?;
                }
                if self.buf.len() < n {
                    self.buf.reserve(n - self.buf.len());
                }
                while self.buf.len() < n {
                    self.read_more(Phase::Body).await?;
                }
                Ok(self.buf.split_to(n).freeze())
            }
            BodyFraming::Chunked => {
                if head.expect_continue && self.buf.is_empty() {
                    self.write_continue().await?;
                }
                let mut decoder = ChunkedDecoder::default();
                let mut body = BytesMut::new();
                loop {
                    match decoder.decode(&mut self.buf) {
                        Ok(Decoded::Data(data)) => {
                            if body.len() + data.len() > MAX_REQUEST_BODY {
                                return Err(Stop::Reject(Reject::BodyTooLarge));
                            }
                            body.extend_from_slice(&data);
                        }
                        Ok(Decoded::End) => return Ok(body.freeze()),
                        Ok(Decoded::NeedMore) => self.read_more(Phase::Body).await?,
                        Err(_) => return Err(Stop::Reject(Reject::BadRequest("bad chunk"))),
                    }
                }
            }
        }
    }

    async fn write_continue(&mut self) -> Result<(), Stop> {
        self.io
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(Stop::Io)
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        if !self.out.is_empty() {
            self.io.write_all(&self.out).await.map_err(Stop::Io)?;
            self.written += self.out.len() as u64;
            self.out.clear();
        }
        Ok(())
    }

    /// Writes what is buffered, then `data`, in vectored writes.
    async fn flush_with(&mut self, data: &[u8]) -> Result<(), Stop> {
        let (mut head, mut body) = (0, 0);
        while head < self.out.len() || body < data.len() {
            let pieces = [IoSlice::new(&self.out[head..]), IoSlice::new(&data[body..])];
            let n = self.io.write_vectored(&pieces).await.map_err(Stop::Io)?;
            if n == 0 {
                return Err(Stop::Io(std::io::ErrorKind::WriteZero.into()));
            }
            let of_head = n.min(self.out.len() - head);
            head += of_head;
            body += n - of_head;
        }
        self.written += (self.out.len() + data.len()) as u64;
        self.out.clear();
        Ok(())
    }

    /// Writes `response`; whether the connection may carry another request.
    async fn write_response(
        &mut self,
        response: Response<Body>,
        request_method: &Method,
        request_version: Version,
        keep_alive: bool,
    ) -> Result<bool, Stop> {
        let (parts, mut body) = response.into_parts();
        let status = parts.status;
        // 1xx, 204 and 304 have no body; HEAD's answer describes one it does not carry.
        let bodiless = status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let send_body = !bodiless && *request_method != Method::HEAD;
        let out = &mut self.out;
        encode_status(out, status);
        // What the connection and framing need from the headers is read in the one pass that
        // writes them (a lookup apiece costs a hash and a probe, per response).
        let mut close = false;
        // The first content-length's value, once seen: `Some(None)` when it is not a length
        // (then no content-length is written and the body is framed as if there were none).
        let mut declared: Option<Option<u64>> = None;
        let mut date = false;
        for (name, value) in &parts.headers {
            if name == header::CONNECTION {
                close |= h1::has_token(value.as_bytes(), b"close");
                continue;
            }
            if name == header::CONTENT_LENGTH {
                let first =
                    *declared.get_or_insert_with(|| h1::parse_length(value.as_bytes()).ok());
                if first.is_none() || bodiless {
                    continue;
                }
            }
            if name == header::TRANSFER_ENCODING || *name == h1::KEEP_ALIVE {
                continue;
            }
            date |= name == header::DATE;
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !date {
            out.extend_from_slice(b"date: ");
            write_date(out);
            out.extend_from_slice(b"\r\n");
        }
        let mut keep_alive = keep_alive && !close;
        let declared = declared.flatten();
        // How the body is framed: the declared length, else a length known now, else chunked
        // (HTTP/1.0 clients: until the connection closes).
        let mut chunked = false;
        let length = if bodiless {
            None
        } else if declared.is_some() {
            declared
        } else if let Some(n) = body.size_hint().exact() {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa(n, &mut [0u8; 20]));
            out.extend_from_slice(b"\r\n");
            Some(n)
        } else if !send_body {
            None
        } else if request_version == Version::HTTP_11 {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            chunked = true;
            None
        } else {
            keep_alive = false;
            None
        };
        if !keep_alive {
            out.extend_from_slice(b"connection: close\r\n");
        } else if request_version == Version::HTTP_10 {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        h1::recycle(parts.headers);
        if !send_body {
            self.flush().await?;
            return Ok(keep_alive);
        }
        let mut left = length;
        loop {
            // A frame ready now goes behind what is buffered; otherwise the head (and what
            // came before) is sent first so the client is not kept waiting for it.
            let frame = std::future::poll_fn(|cx| {
                Poll::Ready(match Pin::new(&mut body).poll_frame(cx) {
                    Poll::Ready(f) => Some(f),
                    Poll::Pending => None,
                })
            })
            .await;
            let frame = match frame {
                Some(f) => f,
                None => {
                    self.flush().await?;
                    std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
                }
            };
            let data = match frame {
                None => break,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    // Trailers: HTTP/1.1 sends them only to clients that ask (TE: trailers);
                    // dropped, as hyper does.
                    Err(_) => continue,
                },
                Some(Err(e)) => {
                    // Nothing truthful can end this response now: close the connection.
                    let _ = self.flush().await;
                    return Err(Stop::Io(std::io::Error::other(e)));
                }
            };
            let mut data = data;
            if let Some(left) = left.as_mut() {
                // Never more than the declared length: the excess would be read as the next
                // response by the client.
                if data.len() as u64 > *left {
                    data.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                    keep_alive = false;
                }
                *left -= data.len() as u64;
            }
            if data.is_empty() {
                continue;
            }
            if chunked {
                let mut size = [0u8; 16];
                self.out.extend_from_slice(hex(data.len(), &mut size));
                self.out.extend_from_slice(b"\r\n");
            }
            if !chunked && left == Some(0) && self.io.is_write_vectored() {
                // The body's last piece leaves with what is buffered before it (the head) in
                // one vectored write, instead of being copied behind it.
                self.flush_with(&data).await?;
            } else if self.out.len() + data.len() <= COALESCE {
                self.out.extend_from_slice(&data);
            } else {
                self.flush().await?;
                self.io.write_all(&data).await.map_err(Stop::Io)?;
                self.written += data.len() as u64;
            }
            self.body_written += data.len() as u64;
            if chunked {
                self.out.extend_from_slice(b"\r\n");
            }
            if left == Some(0) {
                break;
            }
        }
        if chunked {
            self.out.extend_from_slice(b"0\r\n\r\n");
        }
        if left.is_some_and(|l| l > 0) {
            // The body ended short of its declared length: the client can only tell by the
            // connection closing.
            keep_alive = false;
        }
        self.flush().await?;
        Ok(keep_alive)
    }

    /// Answers a refused request and reads what the client still sends, for a while, so the
    /// close that follows does not reset the connection before the client read the answer.
    async fn refuse(&mut self, reject: Reject, server: Option<HeaderValue>) {
        let status = reject.status();
        self.out.clear();
        encode_status(&mut self.out, status);
        let reason = status.canonical_reason().unwrap_or("");
        self.out
            .extend_from_slice(b"content-type: text/plain\r\ncontent-length: ");
        self.out
            .extend_from_slice(itoa(reason.len() as u64, &mut [0u8; 20]));
        self.out.extend_from_slice(b"\r\ndate: ");
        write_date(&mut self.out);
        if let Some(server) = server {
            self.out.extend_from_slice(b"\r\nserver: ");
            self.out.extend_from_slice(server.as_bytes());
        }
        self.out.extend_from_slice(b"\r\nconnection: close\r\n\r\n");
        self.out.extend_from_slice(reason.as_bytes());
        if self.flush().await.is_err() || self.io.shutdown().await.is_err() {
            return;
        }
        let mut drained = 0usize;
        let _ = tokio::time::timeout(LINGER_TIME, async {
            let mut scratch = [0u8; 16 * 1024];
            while drained < LINGER_BYTES {
                match self.io.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        })
        .await;
    }
}

/// Serves HTTP/1.1 on `io` until the client or an answer closes it, or hands it back when the
/// client opens with HTTP/2's preface. `shutdown` resolves when the proxy shuts down: the
/// connection then closes once no request is in flight.
pub async fn serve<S, H>(
    io: S,
    limits: Limits,
    stats: Option<&HttpStats>,
    shutdown: impl Future<Output = ()> + Send,
    handler: &mut H,
) -> Ended<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let shutdown = std::pin::pin!(shutdown);
    let mut conn = Conn {
        io,
        buf: BytesMut::with_capacity(READ_BUFFER),
        out: BytesMut::with_capacity(READ_BUFFER),
        names: h1::Names::default(),
        written: 0,
        body_written: 0,
        clock: Clock::new(limits),
        shutdown,
    };
    let mut first = true;
    let stop = 'requests: loop {
        // The request is read and made inside the pin, where its future is made: neither the
        // head nor the request is then held beside that future while it runs. Pinned where it
        // is made, the future is awaited through the pin: `.await` on the future itself
        // copies it (into_future, then into this task's state), and a profile at saturation
        // showed those copies as 3.7 % of user time.
        // (Breaks out of it name the loop: newer `pin!`s wrap their argument in a labeled block.)
        let (method, version, keep_alive): (Method, Version, bool);
        let response = std::pin::pin!({
            let head = match conn.read_head(first).await {
                Ok(Some(head)) => head,
                Ok(None) => {
                    return Ended::Http2 {
                        io: conn.io,
                        read: conn.buf,
                    };
                }
                Err(stop) => break 'requests stop,
            };
            first = false;
            let body = match conn.read_body(&head).await {
                Ok(body) => body,
                Err(stop) => break 'requests stop,
            };
            let RequestHead {
                method: m,
                uri,
                version: v,
                headers,
                keep_alive: k,
                wire,
                ..
            } = head;
            (method, version, keep_alive) = (m, v, k);
            let received = (wire + body.len()) as u64;
            let mut request = Request::new(Full::new(body));
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri;
            *request.version_mut() = version;
            *request.headers_mut() = headers;
            handler.handle(request, received)
        })
        .await;
        let keep_alive = keep_alive && !handler.closing();
        let (wire, body) = (conn.written, conn.body_written);
        let written = conn
            .write_response(response, &method, version, keep_alive)
            .await;
        handler.done(Sent {
            wire: conn.written - wire,
            body: conn.body_written - body,
            complete: written.is_ok(),
        });
        match written {
            Ok(true) => {}
            Ok(false) => return Ended::Closed,
            Err(stop) => break stop,
        }
    };
    match stop {
        Stop::Reject(reject) => {
            if let Some(s) = stats {
                match reject {
                    Reject::HeaderTimeout => s.downstream_rq_header_timeout.inc(),
                    _ => s.downstream_cx_protocol_error.inc(),
                }
            }
            // A header timeout on a connection that never sent a byte is just closed.
            if !(reject == Reject::HeaderTimeout && conn.buf.is_empty()) {
                tracing::debug!("refused a request: {reject}");
                // Boxed: its 16 KiB drain buffer would otherwise be in every connection's
                // task, for the rare connection that is refused.
                Box::pin(conn.refuse(reject, handler.server())).await;
            }
        }
        Stop::Idle => {
            if let Some(s) = stats {
                s.downstream_cx_idle_timeout.inc();
            }
        }
        Stop::Io(e) => tracing::debug!("downstream connection failed: {e}"),
        Stop::Eof | Stop::Shutdown => {}
    }
    Ended::Closed
}

fn encode_status(out: &mut BytesMut, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
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

fn hex(mut n: usize, buf: &mut [u8; 16]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[n % 16];
        n /= 16;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Appends the current time as an HTTP date (RFC 9110 §5.6.7, IMF-fixdate), formatted once a
/// second per thread.
fn write_date(out: &mut BytesMut) {
    use std::cell::Cell;
    thread_local! {
        static CACHED: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHED.with(|cached| {
        let (second, mut text) = cached.get();
        if second != now {
            text = imf_fixdate(now);
            cached.set((now, text));
        }
        out.extend_from_slice(&text);
    });
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for seconds since the Unix epoch.
fn imf_fixdate(secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let mut t = [0u8; 29];
    let two = |n: u64| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    t[..3].copy_from_slice(DAYS[((days + 4) % 7) as usize]);
    t[3..5].copy_from_slice(b", ");
    t[5..7].copy_from_slice(&two(day));
    t[7] = b' ';
    t[8..11].copy_from_slice(MONTHS[(month - 1) as usize % 12]);
    t[11] = b' ';
    t[12..14].copy_from_slice(&two(year / 100));
    t[14..16].copy_from_slice(&two(year));
    t[16] = b' ';
    t[17..19].copy_from_slice(&two(rem / 3600));
    t[19] = b':';
    t[20..22].copy_from_slice(&two(rem / 60 % 60));
    t[22] = b':';
    t[23..25].copy_from_slice(&two(rem % 60));
    t[25..29].copy_from_slice(b" GMT");
    t
}

#[cfg(test)]
mod tests;
