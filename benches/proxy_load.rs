//! An open-loop, fixed-rate HTTP/1.1 load generator for `benches/proxy.sh` and
//! `benches/mesh_mtls.sh`.
//!
//! wrk is closed-loop (a new request only after a response), so it cannot hold 1,000 rps and
//! report the latency at that rate. This sends requests on a fixed schedule over a few
//! keep-alive connections per target, records every latency and prints percentiles.
//!
//! Several targets are measured in one run, taking turns in short slices, so background load
//! on a shared machine falls on all of them alike and their differences stay meaningful.
//!
//! The schedule is kept by a timerfd (a high-resolution kernel timer), not by Tokio's timer:
//! Tokio's wheel ticks in milliseconds and fires up to two late, so at 1,000 rps it handed
//! out requests in clumps (measured: 11-13 % of requests went out < 100 µs after the one
//! before, i.e. two at once, and those waited for each other in the system under test, which
//! set the P90 of anything slower than the direct call). With the timerfd, requests go out a
//! period apart unless the machine is too busy to wake the generator in time.
//!
//! A request's latency runs from the moment the scheduler hands it out (not from its ideal
//! slot: a wake-up the busy machine delays would otherwise count against the target) to the
//! last byte of the response body. Time spent waiting for a free connection counts, so a slow
//! target is not hidden by coordinated omission.
//!
//! Output: one line per target, `key=value` pairs separated by spaces, e.g.
//! `target=direct requests=10000 errors=0 rate=1000.0 p50_us=61.2 p90_us=80.3 p99_us=130.9 max_us=2104.5`.
//! `errors` counts failed requests, statuses other than 200 and bodies that differ from
//! `--expect-body`. Run with `cargo bench --bench proxy_load -- --help`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Parser;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use std::os::fd::OwnedFd;
use tokio::io::unix::AsyncFd;
use tokio::sync::{Mutex, mpsc};

#[derive(Parser, Debug)]
#[command(about = "Open-loop fixed-rate HTTP/1.1 load; prints latency percentiles per target")]
struct Args {
    /// A target as NAME=URL (http only), repeatable; measured in turns
    #[arg(long = "target", required = true, value_parser = parse_target)]
    targets: Vec<(String, Uri)>,
    /// Host header sent with every request (default: the URL's authority)
    #[arg(long)]
    host: Option<String>,
    /// Requests per second
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Measured seconds per target
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds each target runs before the next takes its turn
    #[arg(long, default_value_t = 1)]
    slice: u64,
    /// Unmeasured seconds per target first (connections, caches)
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Keep-alive connections per target
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// A file every response body must equal
    #[arg(long = "expect-body")]
    expect_body: Option<PathBuf>,
    /// Ignored: `cargo bench` passes it to every bench binary
    #[arg(long, hide = true)]
    bench: bool,
}

fn parse_target(s: &str) -> Result<(String, Uri), String> {
    let (name, url) = s.split_once('=').ok_or("expected NAME=URL")?;
    let uri: Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(format!("{url}: only http://host:port/... URLs"));
    }
    Ok((name.to_string(), uri))
}

/// Sleeps with the kernel's high-resolution timers: a timerfd armed for each wake-up, read
/// through Tokio's event loop.
struct Pacer {
    timer: AsyncFd<OwnedFd>,
}

impl Pacer {
    fn new() -> std::io::Result<Pacer> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // `new` is deprecated because it cannot know that the descriptor outlives its
        // registration; the AsyncFd owns this one, which is what the unsafe `register` would
        // have us promise (and this crate has no unsafe code).
        #[allow(deprecated)]
        let timer = AsyncFd::new(fd)?;
        Ok(Pacer { timer })
    }

    async fn sleep_until(&self, due: Instant) -> std::io::Result<()> {
        let left = due.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let value = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let spec = Itimerspec {
            it_interval: zero,
            it_value: value,
        };
        timerfd_settime(self.timer.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
        loop {
            let mut ready = self.timer.readable().await?;
            // The expiration count, 8 bytes; would block until the timer fires.
            match ready.try_io(|fd| {
                let mut count = [0u8; 8];
                rustix::io::read(fd.get_ref(), &mut count).map_err(std::io::Error::from)
            }) {
                Ok(read) => return read.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }
}

/// What one target's workers record.
#[derive(Default)]
struct Record {
    latencies_ns: Vec<u64>,
    errors: u64,
}

/// One target: its request template and the queue its connections take work from.
struct Target {
    name: String,
    uri: Uri,
    host: String,
    expect: Option<Bytes>,
    record: std::sync::Mutex<Record>,
}

/// A request to send: when it was handed out, and whether it counts.
struct Job {
    issued: Instant,
    measured: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.rate == 0 || args.connections == 0 || args.slice == 0 {
        bail!("--rate, --connections and --slice must be at least 1");
    }
    let expect = match &args.expect_body {
        Some(p) => Some(Bytes::from(
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )),
        None => None,
    };
    // One thread: the generator must not compete with what it measures for more than a core.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(args, expect))
}

async fn run(args: Args, expect: Option<Bytes>) -> Result<()> {
    let mut queues = Vec::new();
    let mut targets = Vec::new();
    for (name, uri) in &args.targets {
        let authority = uri
            .authority()
            .context("URL without authority")?
            .to_string();
        let target = Arc::new(Target {
            name: name.clone(),
            uri: uri.clone(),
            host: args.host.clone().unwrap_or_else(|| authority.clone()),
            expect: expect.clone(),
            record: std::sync::Mutex::default(),
        });
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..args.connections {
            tokio::spawn(worker(target.clone(), authority.clone(), rx.clone()));
        }
        queues.push(tx);
        targets.push(target);
    }

    let pacer = Pacer::new().context("creating the schedule's timerfd")?;
    let period = Duration::from_secs(1) / args.rate;
    let per_slice = u64::from(args.rate) * args.slice;
    // Warm-up turns first, then measured turns until every target had `duration` seconds.
    let warm_slices = args.warmup.div_ceil(args.slice);
    let slices = warm_slices + args.duration.div_ceil(args.slice);
    for slice in 0..slices {
        let measured = slice >= warm_slices;
        for queue in &queues {
            let start = Instant::now();
            for i in 0..per_slice {
                let due = start + period * u32::try_from(i).unwrap_or(u32::MAX);
                pacer
                    .sleep_until(due)
                    .await
                    .context("waiting on the timerfd")?;
                // Catch-up sends after a late wake-up are stamped now, see the module docs.
                let issued = Instant::now();
                let _ = queue.send(Job { issued, measured });
            }
        }
    }
    // Let the last requests finish.
    drop(queues);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let seconds = args.duration.div_ceil(args.slice) * args.slice;
    for target in &targets {
        let mut record = target
            .record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Record {
            latencies_ns,
            errors,
        } = &mut *record;
        latencies_ns.sort_unstable();
        let requests = latencies_ns.len() as u64 + *errors;
        let pct = |p: f64| -> f64 {
            if latencies_ns.is_empty() {
                return 0.0;
            }
            let i = ((p / 100.0) * latencies_ns.len() as f64).ceil() as usize;
            latencies_ns[i.clamp(1, latencies_ns.len()) - 1] as f64 / 1000.0
        };
        println!(
            "target={} requests={} errors={} rate={:.1} p50_us={:.1} p90_us={:.1} p99_us={:.1} max_us={:.1}",
            target.name,
            requests,
            errors,
            requests as f64 / seconds as f64,
            pct(50.0),
            pct(90.0),
            pct(99.0),
            pct(100.0),
        );
    }
    Ok(())
}

/// One keep-alive connection: takes jobs from the target's queue until it closes, reconnecting
/// after failures.
async fn worker(
    target: Arc<Target>,
    authority: String,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
) {
    let mut sender: Option<http1::SendRequest<Empty<Bytes>>> = None;
    loop {
        let job = { queue.lock().await.recv().await };
        let Some(job) = job else { return };
        let outcome = request(&target, &authority, &mut sender).await;
        let elapsed = job.issued.elapsed();
        if !job.measured {
            continue;
        }
        let mut record = target
            .record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            Ok(()) => record
                .latencies_ns
                .push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)),
            Err(e) => {
                if record.errors == 0 {
                    eprintln!("proxy_load: {}: {e:#}", target.name);
                }
                record.errors += 1;
            }
        }
    }
}

async fn request(
    target: &Target,
    authority: &str,
    sender: &mut Option<http1::SendRequest<Empty<Bytes>>>,
) -> Result<()> {
    if sender.as_mut().is_none_or(|s| s.is_closed()) {
        *sender = None;
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        let (s, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        *sender = Some(s);
    }
    let s = sender.as_mut().context("no connection")?;
    let req = Request::get(target.uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(header::HOST, &target.host)
        .body(Empty::new())?;
    let result = async {
        s.ready().await?;
        let response = s.send_request(req).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    }
    .await;
    let (status, body) = match result {
        Ok(r) => r,
        Err(e) => {
            *sender = None;
            return Err(e);
        }
    };
    if status != http::StatusCode::OK {
        bail!("status {status}");
    }
    if let Some(expect) = &target.expect
        && body != *expect
    {
        bail!("body of {} bytes differs from --expect-body", body.len());
    }
    Ok(())
}
