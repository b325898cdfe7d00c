//! Hostile HTTP/2 clients against a real gateway (`ferryctl discovery`, `ferryctl proxy router`
//! and a real backend): rapid reset (CVE-2023-44487) and stream floods are bounded, and the
//! gateway keeps serving other clients.
//!
//! The attacker is a raw frame writer, not an HTTP/2 library: libraries obey the server's
//! SETTINGS and never reset streams in bulk, which is exactly what an attacker does not do.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::mesh::{admin_get, gateway};

const HOST: &str = "h2.example.com";
/// The proxy's `SETTINGS_MAX_CONCURRENT_STREAMS` (`src/proxy/http2.rs`).
const MAX_CONCURRENT_STREAMS: usize = 100;

const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const CANCEL: u32 = 0x8;
const REFUSED_STREAM: u32 = 0x7;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// What the backend saw: requests started, in flight now, and the most in flight at once.
#[derive(Default)]
struct Seen {
    total: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// Decrements `in_flight` however the request ends (the proxy may cancel it).
struct InFlight(Arc<Seen>);

impl InFlight {
    fn new(seen: &Arc<Seen>) -> InFlight {
        seen.total.fetch_add(1, Ordering::SeqCst);
        let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(seen.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An HTTP/1.1 backend that holds every request for `delay` before answering 200.
async fn counting_backend(delay: Duration) -> (SocketAddr, Arc<Seen>) {
    use hyper::service::service_fn;
    let seen = Arc::new(Seen::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("backend binds");
    let addr = listener.local_addr().expect("backend address");
    let counts = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let counts = counts.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req: http::Request<hyper::body::Incoming>| {
                    let guard = InFlight::new(&counts);
                    async move {
                        tokio::time::sleep(delay).await;
                        drop(guard);
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

/// A frame the server sent, or the end of the connection.
#[derive(Debug)]
enum Event {
    Frame {
        kind: u8,
        stream: u32,
        payload: Vec<u8>,
    },
    Closed,
}

/// A raw HTTP/2 (h2c prior knowledge) connection: frames are written as the test says; a
/// thread reads the server's frames, acknowledges SETTINGS and PINGs as a client must, and
/// reports every frame.
struct RawH2 {
    writer: Arc<Mutex<TcpStream>>,
    events: mpsc::Receiver<Event>,
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("small frame");
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A GET for `HOST` in HPACK without the dynamic table or Huffman coding, so that every
/// header block stands alone: `:method GET`, `:scheme http`, `:path /` from the static table,
/// `:authority` as a literal with the static table's name.
fn get_block() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x84, 0x01];
    block.push(u8::try_from(HOST.len()).expect("short host"));
    block.extend_from_slice(HOST.as_bytes());
    block
}

fn headers(stream: u32) -> Vec<u8> {
    frame(HEADERS, END_STREAM | END_HEADERS, stream, &get_block())
}

fn rst(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

impl RawH2 {
    fn connect(port: u16) -> RawH2 {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("gateway accepts");
        let _ = stream.set_nodelay(true);
        let mut reader = stream.try_clone().expect("clone");
        let writer = Arc::new(Mutex::new(stream));
        let (tx, events) = mpsc::channel();
        let acks = writer.clone();
        std::thread::spawn(move || {
            loop {
                let mut head = [0u8; 9];
                if reader.read_exact(&mut head).is_err() {
                    let _ = tx.send(Event::Closed);
                    return;
                }
                let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
                let (kind, flags) = (head[3], head[4]);
                let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
                let mut payload = vec![0u8; len];
                if reader.read_exact(&mut payload).is_err() {
                    let _ = tx.send(Event::Closed);
                    return;
                }
                let ack = match kind {
                    SETTINGS if flags & ACK == 0 => Some(frame(SETTINGS, ACK, 0, &[])),
                    PING if flags & ACK == 0 => Some(frame(PING, ACK, 0, &payload)),
                    _ => None,
                };
                if let Some(ack) = ack {
                    let _ = acks.lock().expect("lock").write_all(&ack);
                }
                let _ = tx.send(Event::Frame {
                    kind,
                    stream,
                    payload,
                });
            }
        });
        let raw = RawH2 { writer, events };
        // The preface; windows wide open, so the server's responses never wait for us.
        let mut start = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        start.extend(frame(SETTINGS, 0, 0, &[0, 4, 0x40, 0, 0, 0]));
        start.extend(frame(WINDOW_UPDATE, 0, 0, &0x4000_0000u32.to_be_bytes()));
        raw.write(&start).expect("preface written");
        raw
    }

    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.lock().expect("lock").write_all(bytes)
    }

    /// Frames until the connection closes or `limit` passes; whether it closed.
    fn until_closed(&self, limit: Duration) -> (Vec<Event>, bool) {
        let deadline = Instant::now() + limit;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return (got, true);
                }
                Ok(e) => got.push(e),
                Err(mpsc::RecvTimeoutError::Timeout) => return (got, false),
            }
        }
    }

    /// Frames that arrive within `limit`.
    fn for_a_while(&self, limit: Duration) -> Vec<Event> {
        self.until_closed(limit).0
    }
}

fn goaway_code(events: &[Event]) -> Option<u32> {
    events.iter().find_map(|e| match e {
        Event::Frame {
            kind: GOAWAY,
            payload,
            ..
        } if payload.len() >= 8 => Some(u32::from_be_bytes([
            payload[4], payload[5], payload[6], payload[7],
        ])),
        _ => None,
    })
}

/// The last stream id a GOAWAY names (RFC 9113 §6.8), its reserved bit cleared.
fn goaway_last_stream(events: &[Event]) -> Option<u32> {
    events.iter().find_map(|e| match e {
        Event::Frame {
            kind: GOAWAY,
            payload,
            ..
        } if payload.len() >= 8 => {
            Some(u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]) & 0x7fff_ffff)
        }
        _ => None,
    })
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// A fresh h2c connection gets its answer: the gateway still serves after the attack.
fn fresh_client_gets_200(rt: &tokio::runtime::Runtime, port: u16) {
    let status = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("gateway accepts");
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .expect("h2c handshake");
        tokio::spawn(conn);
        let req = http::Request::builder()
            .uri(format!("http://{HOST}/after"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
            .await
            .expect("answered in time")
            .expect("answered")
            .status()
    });
    assert_eq!(status, 200);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn stat(admin: &str, name: &str) -> u64 {
    let (code, body) = admin_get(admin, "/stats");
    assert_eq!(code, 200);
    body.lines()
        .filter(|l| l.starts_with("http.") && l.contains(&format!(".{name}: ")))
        .filter_map(|l| l.rsplit_once(": ").and_then(|(_, v)| v.parse::<u64>().ok()))
        .sum()
}

/// Streams opened and reset at once, in bulk: the codec has not even accepted them when their
/// resets arrive, and answers with GOAWAY (ENHANCE_YOUR_CALM) long before the 10,000th.
#[test]
fn rapid_reset_in_bulk_gets_goaway_and_the_gateway_keeps_serving() {
    let rt = runtime();
    let (backend, seen) = rt.block_on(counting_backend(Duration::from_millis(200)));
    let gw = gateway("h2", HOST, backend);
    let before = seen.total.load(Ordering::SeqCst);

    let attacker = RawH2::connect(gw.port);
    let started = Instant::now();
    let mut sent = 0u32;
    'attack: for batch in 0..100u32 {
        let mut bytes = Vec::new();
        for i in 0..100u32 {
            let id = 2 * (batch * 100 + i) + 1;
            bytes.extend(headers(id));
            bytes.extend(rst(id, CANCEL));
        }
        if attacker.write(&bytes).is_err() {
            break 'attack;
        }
        sent += 100;
    }
    let (events, closed) = attacker.until_closed(Duration::from_secs(10));
    let took = started.elapsed();
    assert!(closed, "still open after {sent} reset streams");
    assert_eq!(
        goaway_code(&events),
        Some(ENHANCE_YOUR_CALM),
        "the codec's GOAWAY, after {sent} reset streams"
    );
    // Judged by the server's word, not by how much the client could write: on a loaded machine
    // the socket buffers can take all 10,000 before the codec reads the first. GOAWAY names the
    // last stream the codec processed.
    let last = goaway_last_stream(&events).expect("GOAWAY");
    assert!(
        last < 2 * 9_999 + 1,
        "the codec processed all {sent} reset streams (last stream {last})"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Let cancelled upstream requests, if any, land before counting.
    std::thread::sleep(Duration::from_millis(500));
    let upstream = seen.total.load(Ordering::SeqCst) - before;
    assert!(
        upstream <= 2 * MAX_CONCURRENT_STREAMS,
        "the backend saw {upstream} requests of {sent} cancelled streams"
    );
    fresh_client_gets_200(&rt, gw.port);
}

/// Streams the proxy accepted and routed, each cancelled by the client a moment later: the
/// codec's own limit never sees them pending, so Envoy's premature-reset check is what cuts the
/// connection, and it counts in `downstream_rq_too_many_premature_resets`.
#[test]
fn rapid_reset_after_accept_closes_the_connection_on_premature_resets() {
    let rt = runtime();
    let (backend, seen) = rt.block_on(counting_backend(Duration::from_secs(5)));
    let gw = gateway("h2", HOST, backend);
    let before = seen.total.load(Ordering::SeqCst);

    let attacker = RawH2::connect(gw.port);
    let started = Instant::now();
    let mut sent = 0u32;
    for i in 0..2000u32 {
        let id = 2 * i + 1;
        if attacker.write(&headers(id)).is_err() {
            break;
        }
        // Long enough for the proxy to accept the stream and send it upstream.
        std::thread::sleep(Duration::from_millis(2));
        if attacker.write(&rst(id, CANCEL)).is_err() {
            break;
        }
        sent += 1;
    }
    let (_, closed) = attacker.until_closed(Duration::from_secs(10));
    assert!(closed, "still open after {sent} cancelled streams");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // Envoy's rule closes at 250 premature resets; the rest is what was still in the socket.
    assert!(sent < 1000, "the connection took {sent} cancelled streams");
    let upstream = seen.total.load(Ordering::SeqCst) - before;
    assert!(
        upstream <= 300,
        "the backend saw {upstream} requests of {sent} cancelled streams"
    );
    // Either layer may have cut this connection (the codec when resets outran its accepts on
    // a busy machine); the counters say which, and they are real counts either way.
    let premature = stat(&gw.admin, "downstream_rq_too_many_premature_resets");
    let resets = stat(&gw.admin, "downstream_rq_rx_reset");
    assert!(premature <= 1, "{premature}");
    if premature == 1 {
        assert!(resets >= 250, "rx_reset {resets}");
    }
    fresh_client_gets_200(&rt, gw.port);
}

/// 1,000 streams opened at once on one connection against a backend that holds each request
/// for seconds: the gateway never has more than 100 of them upstream at a time, refuses the
/// rest (REFUSED_STREAM), and its memory stays bounded.
#[test]
fn a_stream_flood_is_refused_beyond_the_concurrency_limit() {
    let rt = runtime();
    let (backend, seen) = rt.block_on(counting_backend(Duration::from_secs(2)));
    let gw = gateway("h2", HOST, backend);
    let pid = gw.proxy.pid();
    let rss_before = rss_kib(pid);

    let attacker = RawH2::connect(gw.port);
    let mut bytes = Vec::new();
    for i in 0..1000u32 {
        bytes.extend(headers(2 * i + 1));
    }
    attacker.write(&bytes).expect("streams written");
    let events = attacker.for_a_while(Duration::from_secs(4));
    let refused = events
        .iter()
        .filter(|e| {
            matches!(e, Event::Frame { kind: RST_STREAM, payload, .. }
                if payload[..] == REFUSED_STREAM.to_be_bytes())
        })
        .count();
    let answered = events
        .iter()
        .filter(|e| matches!(e, Event::Frame { kind: HEADERS, stream, .. } if *stream != 0))
        .count();
    let max = seen.max_in_flight.load(Ordering::SeqCst);
    let rss_after = rss_kib(pid);
    assert!(
        max <= MAX_CONCURRENT_STREAMS,
        "{max} requests in flight upstream at once"
    );
    assert!(max >= MAX_CONCURRENT_STREAMS / 2, "only {max} in flight");
    assert!(
        refused >= 1000 - MAX_CONCURRENT_STREAMS,
        "{refused} streams refused, {answered} answered"
    );
    assert!(answered <= MAX_CONCURRENT_STREAMS, "{answered} answered");
    assert!(
        rss_after < rss_before + 50 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    fresh_client_gets_200(&rt, gw.port);
}
