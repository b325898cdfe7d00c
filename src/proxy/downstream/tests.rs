use std::sync::Mutex;

use http::header::HeaderValue;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

/// Answers every request with what it saw: `METHOD target body`, and remembers the requests.
#[derive(Default)]
struct Echo {
    seen: Mutex<Vec<(Method, String, HeaderMap, Bytes)>>,
}

impl Handler for &Echo {
    async fn handle(&mut self, request: Request<Full<Bytes>>, _received: u64) -> Response<Body> {
        {
            let (parts, body) = request.into_parts();
            let body = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let text = format!(
                "{} {} {}",
                parts.method,
                parts.uri,
                String::from_utf8_lossy(&body)
            );
            self.seen.lock().expect("lock").push((
                parts.method,
                parts.uri.to_string(),
                parts.headers,
                body,
            ));
            let mut response = Response::new(
                Full::new(Bytes::from(text))
                    .map_err(|never| match never {})
                    .boxed(),
            );
            response.headers_mut().insert(
                header::DATE,
                HeaderValue::from_static("Thu, 26 Nov 2026 00:00:00 GMT"),
            );
            response
        }
    }
}

fn limits() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(3600),
        stream_idle_timeout: Duration::from_secs(300),
    }
}

/// Starts the codec on one end of an in-memory connection; the other end, the handler, and
/// the task serving.
fn start(
    limits: Limits,
) -> (
    DuplexStream,
    std::sync::Arc<Echo>,
    tokio::task::JoinHandle<bool>,
) {
    let (client, server) = tokio::io::duplex(8 << 20);
    let echo = std::sync::Arc::new(Echo::default());
    let handler = echo.clone();
    let task = tokio::spawn(async move {
        let ended = serve(
            server,
            limits,
            None,
            std::future::pending::<()>(),
            &mut &*handler,
        )
        .await;
        matches!(ended, Ended::Http2 { .. })
    });
    (client, echo, task)
}

/// Sends `request` on a fresh connection and reads until the server closes it.
async fn exchange(request: &[u8]) -> String {
    let (mut client, _echo, task) = start(limits());
    client.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut out)).await;
    // Closing ends the server's lingering read.
    drop(client);
    let _ = task.await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `request` to `handler` on a fresh connection and reads until the server closes it.
async fn served_by<H: Handler + Send + 'static>(mut handler: H, request: &[u8]) -> String {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let task = tokio::spawn(async move {
        serve(
            server,
            limits(),
            None,
            std::future::pending::<()>(),
            &mut handler,
        )
        .await;
    });
    client.write_all(request).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .expect("closed");
    let _ = task.await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn keep_alive_requests_are_answered_in_order_with_lengths() {
    let (mut client, echo, _task) = start(limits());
    // Two pipelined requests, the second with a body, then a third in pieces.
    client
        .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .expect("write");
    let want = "HTTP/1.1 200 OK\r\ndate: Thu, 26 Nov 2026 00:00:00 GMT\r\ncontent-length: 7\r\n\r\nGET /a \
                HTTP/1.1 200 OK\r\ndate: Thu, 26 Nov 2026 00:00:00 GMT\r\ncontent-length: 17\r\n\r\nPOST /b?q=1 hello";
    let mut got = vec![0u8; want.len()];
    client.read_exact(&mut got).await.expect("two responses");
    assert_eq!(String::from_utf8_lossy(&got), want);
    client
        .write_all(b"GET /c HTTP/1.1\r\nHo")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(20)).await;
    client
        .write_all(b"st: y\r\nX-A: 1\r\n\r\n")
        .await
        .expect("write");
    let mut got = vec![0u8; 256];
    let n = client.read(&mut got).await.expect("third response");
    assert!(String::from_utf8_lossy(&got[..n]).ends_with("GET /c "));
    let seen = echo.seen.lock().expect("lock");
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].3, "hello");
    assert_eq!(seen[2].2["x-a"], "1");
    assert_eq!(seen[2].2["host"], "y");
}

#[tokio::test]
async fn smuggling_vectors_get_400_and_the_connection_closes() {
    for request in [
        // Content-Length and Transfer-Encoding together.
        &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        // Two Content-Lengths, even equal.
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nab",
        // Chunked not last, or chunked twice.
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
        // Bad chunk sizes.
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        // obs-fold, whitespace before the colon, two Hosts.
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        // Not HTTP/1.x at all.
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/3.0\r\n\r\n",
    ] {
        let response = exchange(request).await;
        assert_eq!(
            status_of(&response),
            400,
            "{:?} -> {response:?}",
            String::from_utf8_lossy(request)
        );
        assert!(response.contains("connection: close\r\n"), "{response}");
    }
    let response = exchange(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&response), 501, "{response}");
}

/// Names the proxy as a connection manager does; answers what it is asked with an empty 200.
struct Named;

impl Handler for Named {
    async fn handle(&mut self, _request: Request<Full<Bytes>>, _received: u64) -> Response<Body> {
        Response::new(
            Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
        )
    }

    fn server(&mut self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("istio-envoy"))
    }
}

#[tokio::test]
async fn a_refused_request_is_answered_in_the_handlers_name() {
    // Envoy's connection manager sets `server` on its codec's answers as on all others.
    let response = served_by(Named, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(status_of(&response), 400, "{response}");
    assert!(
        response.contains("\r\nserver: istio-envoy\r\n"),
        "{response}"
    );
    // A handler that names no one (the default) sends no `server` at all.
    let response = exchange(b"NOT HTTP AT ALL\r\n\r\n").await;
    assert!(!response.contains("server:"), "{response}");
}

#[tokio::test]
async fn oversized_heads_get_431_and_bodies_413() {
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(61 * 1024)
    );
    assert_eq!(status_of(&exchange(big.as_bytes()).await), 431);
    // Over the limit before the head even ends.
    let endless = format!("GET / HTTP/1.1\r\nX-Big: {}", "a".repeat(61 * 1024));
    assert_eq!(status_of(&exchange(endless.as_bytes()).await), 431);
    let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: 1\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(status_of(&exchange(many.as_bytes()).await), 431);
    // Exactly 100 headers pass.
    let hundred: String = (0..MAX_HEADERS - 2)
        .map(|i| format!("x-{i}: 1\r\n"))
        .collect();
    let hundred = format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{hundred}\r\n");
    assert_eq!(status_of(&exchange(hundred.as_bytes()).await), 200);

    let mut large = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    )
    .into_bytes();
    large.extend(std::iter::repeat_n(b'x', 2 << 20));
    let response = exchange(&large).await;
    assert_eq!(status_of(&response), 413, "the answer is read, not reset");
    let mut chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(format!("{:x}\r\n", 512 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b'y', 512 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    assert_eq!(status_of(&exchange(&chunked).await), 413);
}

#[tokio::test]
async fn chunked_bodies_and_expect_continue() {
    let (mut client, echo, _task) = start(limits());
    client
        .write_all(b"PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\n")
        .await
        .expect("write");
    let mut got = vec![0u8; 256];
    let n = client.read(&mut got).await.expect("response");
    assert!(String::from_utf8_lossy(&got[..n]).ends_with("PUT /u abcde"));

    client
        .write_all(
            b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        )
        .await
        .expect("write");
    let want = b"HTTP/1.1 100 Continue\r\n\r\n";
    let mut got = vec![0u8; want.len()];
    client.read_exact(&mut got).await.expect("100 first");
    assert_eq!(got, want);
    client.write_all(b"ok").await.expect("write");
    let mut got = vec![0u8; 256];
    let n = client.read(&mut got).await.expect("response");
    assert!(String::from_utf8_lossy(&got[..n]).ends_with("POST /e ok"));
    assert_eq!(echo.seen.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn http10_closes_unless_kept_alive_and_close_is_honoured() {
    let response = exchange(b"GET /old HTTP/1.0\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("connection: close\r\n"), "{response}");

    let (mut client, _echo, _task) = start(limits());
    client
        .write_all(b"GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await
        .expect("write");
    let mut got = vec![0u8; 256];
    let n = client.read(&mut got).await.expect("response");
    assert!(String::from_utf8_lossy(&got[..n]).contains("connection: keep-alive\r\n"));

    let response =
        exchange(b"GET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n").await;
    assert_eq!(response.matches("HTTP/1.1 200").count(), 1, "{response}");
    assert!(response.contains("connection: close\r\n"));
}

#[tokio::test]
async fn a_slow_head_gets_408_and_a_silent_connection_just_closes() {
    let (mut client, echo, task) = start(limits());
    client
        .write_all(b"GET / HTTP/1.1\r\nHo")
        .await
        .expect("write");
    let started = Instant::now();
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.expect("closed");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(status_of(&String::from_utf8_lossy(&out)), 408);
    assert!(echo.seen.lock().expect("lock").is_empty());
    let _ = task.await;

    // A byte every 50 ms does not extend the deadline.
    let (client, _echo, _task) = start(limits());
    let (mut reader, mut writer) = tokio::io::split(client);
    let started = Instant::now();
    tokio::spawn(async move {
        for b in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if writer.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut got = vec![0u8; 12];
    reader.read_exact(&mut got).await.expect("an answer");
    assert_eq!(status_of(&String::from_utf8_lossy(&got)), 408);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    let (mut client, _echo, _task) = start(limits());
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.expect("closed");
    assert!(out.is_empty());

    // Between requests the header timeout does not apply (the idle timeout does).
    let (mut client, _echo, _task) = start(limits());
    client
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let mut got = vec![0u8; 256];
    let _ = client.read(&mut got).await.expect("response");
    tokio::time::sleep(Duration::from_millis(500)).await;
    client
        .write_all(b"GET /later HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let n = client.read(&mut got).await.expect("second response");
    assert!(String::from_utf8_lossy(&got[..n]).ends_with("GET /later "));
}

#[tokio::test]
async fn an_idle_connection_closes_after_the_idle_timeout() {
    let (mut client, _echo, _task) = start(Limits {
        idle_timeout: Duration::from_millis(300),
        ..limits()
    });
    client
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.expect("closed");
    assert_eq!(status_of(&String::from_utf8_lossy(&out)), 200);
    let idle = started.elapsed();
    assert!(
        idle >= Duration::from_millis(300) && idle < Duration::from_secs(2),
        "{idle:?}"
    );
}

/// A timer first polled by a task out of coop budget is not armed (tokio answers Pending
/// without taking the waker): it must be polled again, or the connection never times out.
#[tokio::test(start_paused = true)]
async fn a_timer_polled_out_of_budget_still_fires() {
    let mut clock = Clock::new(limits());
    std::future::poll_fn(|cx| {
        // Spends the task's budget within this one poll.
        loop {
            let mut spend = std::pin::pin!(tokio::task::coop::consume_budget());
            if spend.as_mut().poll(cx).is_pending() {
                break;
            }
        }
        assert!(clock.poll_timer(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    let fired = tokio::time::timeout(
        Duration::from_secs(5),
        std::future::poll_fn(|cx| clock.poll_timer(cx)),
    )
    .await;
    assert!(fired.is_ok(), "the header timeout never fired");
}

#[tokio::test]
async fn the_http2_preface_hands_the_connection_back() {
    let (mut client, _echo, task) = start(limits());
    client.write_all(&PREFACE[..10]).await.expect("write");
    tokio::time::sleep(Duration::from_millis(20)).await;
    client.write_all(&PREFACE[10..]).await.expect("write");
    assert!(task.await.expect("served"), "handed back as HTTP/2");
    // The preface only counts at the start.
    let response = exchange(b"GET / HTTP/1.1\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    assert_eq!(status_of(&response), 200);
    assert!(response.contains("400 Bad Request"), "{response}");
}

/// A handler whose bodies arrive later and of unknown length.
struct Streaming;

impl Handler for Streaming {
    async fn handle(&mut self, request: Request<Full<Bytes>>, _received: u64) -> Response<Body> {
        {
            let (tx, rx) = tokio::sync::mpsc::channel::<
                Result<hyper::body::Frame<Bytes>, super::super::forward::BoxError>,
            >(4);
            tokio::spawn(async move {
                for part in ["one", "two"] {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let _ = tx
                        .send(Ok(hyper::body::Frame::data(Bytes::from(part))))
                        .await;
                }
            });
            let body =
                http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
            let mut response = Response::new(body.boxed());
            if request.uri().path() == "/204" {
                *response.status_mut() = StatusCode::NO_CONTENT;
            }
            response
        }
    }
}

#[tokio::test]
async fn bodies_of_unknown_length_are_chunked_and_head_gets_none() {
    for (request, want_body, chunked) in [
        (
            &b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
            "3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n",
            true,
        ),
        (b"HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n", "", false),
        (b"GET /204 HTTP/1.1\r\nConnection: close\r\n\r\n", "", false),
        (b"GET / HTTP/1.0\r\n\r\n", "onetwo", false),
    ] {
        let out = served_by(Streaming, request).await;
        let (head, body) = out.split_once("\r\n\r\n").expect("a head");
        assert_eq!(body, want_body, "{out}");
        assert_eq!(
            head.contains("transfer-encoding: chunked"),
            chunked,
            "{out}"
        );
        assert!(head.contains("\r\ndate: "), "{out}");
        assert!(!head.contains("content-length"), "{out}");
    }
}

#[tokio::test]
async fn shutdown_closes_a_connection_between_requests_only() {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let echo = Echo::default();
    let task = tokio::spawn(async move {
        serve(
            server,
            limits(),
            None,
            async move {
                let _ = rx.await;
            },
            &mut &echo,
        )
        .await;
    });
    client
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let mut got = vec![0u8; 256];
    let _ = client.read(&mut got).await.expect("response");
    let _ = tx.send(());
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.expect("closed");
    assert!(out.is_empty());
    task.await.expect("ended");
}

#[test]
fn dates_are_imf_fixdates() {
    assert_eq!(&imf_fixdate(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(&imf_fixdate(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(&imf_fixdate(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
    assert_eq!(
        &imf_fixdate(1_795_651_200),
        b"Thu, 26 Nov 2026 00:00:00 GMT"
    );
}

/// A connection that takes vectored writes, at most 7 bytes of them at a time, gathered
/// across the pieces: the head and body of a response leave in many partial writes, some
/// spanning both.
struct Trickle(DuplexStream);

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Trickle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = buf.len().min(7);
        Pin::new(&mut self.0).poll_write(cx, &buf[..n])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let gathered: Vec<u8> = bufs
            .iter()
            .flat_map(|b| b.iter().copied())
            .take(7)
            .collect();
        Pin::new(&mut self.0).poll_write(cx, &gathered)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn partial_vectored_writes_send_the_whole_head_and_body_once() {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let echo = std::sync::Arc::new(Echo::default());
    let handler = echo.clone();
    tokio::spawn(async move {
        serve(
            Trickle(server),
            limits(),
            None,
            std::future::pending::<()>(),
            &mut &*handler,
        )
        .await
    });
    client
        .write_all(b"POST /v HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello worldGET /w HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let want = "HTTP/1.1 200 OK\r\ndate: Thu, 26 Nov 2026 00:00:00 GMT\r\ncontent-length: 19\r\n\r\nPOST /v hello world\
                HTTP/1.1 200 OK\r\ndate: Thu, 26 Nov 2026 00:00:00 GMT\r\ncontent-length: 7\r\n\r\nGET /w ";
    let mut got = vec![0u8; want.len()];
    client.read_exact(&mut got).await.expect("two responses");
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[test]
fn a_connections_kept_header_names_never_change_how_a_request_reads() {
    // The same requests parsed on one connection (names kept from each one before) and each
    // on a fresh one read alike, smuggling vectors included, whatever came before them.
    let requests: [&[u8]; 8] = [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHOST: x\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nExpect: 100-continue\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
    ];
    let mut names = h1::Names::default();
    for _ in 0..2 {
        for request in requests {
            let kept = parse_request_head(&mut BytesMut::from(request), &mut names);
            let fresh = parse_request_head(&mut BytesMut::from(request), &mut h1::Names::default());
            assert_eq!(
                format!("{kept:?}"),
                format!("{fresh:?}"),
                "{:?}",
                String::from_utf8_lossy(request)
            );
        }
    }
}
