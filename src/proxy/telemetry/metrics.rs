//! Istio's standard HTTP metrics (`istio_requests_total`, `istio_request_duration_milliseconds`,
//! `istio_request_bytes`, `istio_response_bytes`) and TCP metrics (`istio_tcp_*`) with Istio's
//! labels, in label order of istio/proxy's stats filter, for `/stats/prometheus`.
//!
//! TCP connections report into a [`TcpSeries`] they hold for their life: opened when the
//! upstream is picked, bytes as they flow (Istio reports open connections periodically, so a
//! scrape sees a long connection's bytes before it closes), closed at the end, under the
//! response flags it ended with.
//!
//! The request path never formats a label: a request is reported as a [`Key`] of small numbers
//! (the reporter, the interned peer workload and destination service, the status code, the
//! response flags bits, …). Each thread keeps a map from keys to their [`Series`], so a
//! report is one lookup without allocation and a few atomic additions; only a key the thread
//! has not seen before takes the registry's lock. Every series keeps one slot of counters per
//! thread ([`crate::proxy::shard`]), so two workers reporting the same series never write to
//! the same cache line, and a worker adds to its own slot without a locked instruction. A
//! scrape sums the slots and spells the labels.
//!
//! Peers and services are interned by content for the life of the proxy, as Envoy's symbol
//! table keeps stat names: a config update that rebuilds a cluster keeps reporting into the same
//! series, and the numbers stay small.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::flags::ResponseFlags;
use crate::proxy::shard::Shard;
use crate::xds::peer::{PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER, Workload};

/// Envoy's default histogram buckets, which Istio's histograms use: milliseconds for the
/// duration, bytes for the sizes.
pub const BUCKETS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];
/// [`BUCKETS`] in microseconds, what durations are recorded in (Envoy rounds to whole
/// milliseconds; a sub-millisecond proxy would then report 0 for everything).
const MICROS: [u64; 19] = {
    let mut out = [0u64; 19];
    let mut i = 0;
    while i < 19 {
        out[i] = (BUCKETS[i] * 1000.0) as u64;
        i += 1;
    }
    out
};
/// [`BUCKETS`] doubled, so a byte count compares as an integer (`2n ≤ 2b`) against 0.5 too.
const DOUBLED: [u64; 19] = {
    let mut out = [0u64; 19];
    let mut i = 0;
    while i < 19 {
        out[i] = (BUCKETS[i] * 2.0) as u64;
        i += 1;
    }
    out
};

/// Who reports: the client side (a sidecar's outbound listener, or a gateway) or the server
/// side (a sidecar's inbound listener).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Reporter {
    #[default]
    Source,
    Destination,
}

impl Reporter {
    pub fn as_str(self) -> &'static str {
        match self {
            Reporter::Source => "source",
            Reporter::Destination => "destination",
        }
    }
}

/// `connection_security_policy`: what the reporter knows of the connection's security.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Security {
    /// The client side cannot tell (Istio reports `unknown` for every source report).
    #[default]
    Unknown,
    /// Plaintext on the server side.
    None,
    MutualTls,
}

impl Security {
    fn as_str(self) -> &'static str {
        match self {
            Security::Unknown => "unknown",
            Security::None => "none",
            Security::MutualTls => "mutual_tls",
        }
    }
}

/// The destination service of a request, from its cluster's `istio.services` metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Service {
    /// `reviews.default.svc.cluster.local`; empty when unknown.
    pub host: String,
    /// `reviews`, or the cluster's name for `PassthroughCluster` and friends.
    pub name: String,
    pub namespace: String,
}

/// An interned peer workload; 0 is the unknown one.
pub type PeerId = u32;
/// An interned destination service; 0 is none.
pub type ServiceId = u32;

/// One request as the metrics see it; everything but the numbers is a label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Key {
    pub reporter: Reporter,
    /// The other side: the upstream workload for the source reporter, the downstream one for
    /// the destination reporter.
    pub peer: PeerId,
    pub service: ServiceId,
    pub grpc: bool,
    pub code: u16,
    pub grpc_status: Option<u16>,
    pub flags: ResponseFlags,
    pub security: Security,
}

/// A histogram's buckets (not cumulative: one is touched per observation) and its sum; the
/// count is the buckets' total.
struct Buckets {
    counts: [AtomicU64; 20],
    sum: AtomicU64,
}

impl Buckets {
    fn new() -> Buckets {
        Buckets {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
        }
    }

    fn observe(&self, shard: Shard, index: usize, amount: u64) {
        shard.add(&self.counts[index], 1);
        shard.add(&self.sum, amount);
    }
}

/// One thread's counters of a series, on their own cache lines.
#[repr(align(128))]
struct Slot {
    requests: AtomicU64,
    duration: Buckets,
    request_bytes: Buckets,
    response_bytes: Buckets,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            requests: AtomicU64::new(0),
            duration: Buckets::new(),
            request_bytes: Buckets::new(),
            response_bytes: Buckets::new(),
        }
    }
}

/// The counters of one label set.
pub struct Series {
    key: Key,
    slots: Box<[Slot]>,
}

/// Sums of a series' slots, for a scrape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    pub requests: u64,
    /// Per bucket (not cumulative) and the sum, for duration (µs), request and response bytes.
    pub duration: ([u64; 20], u64),
    pub request_bytes: ([u64; 20], u64),
    pub response_bytes: ([u64; 20], u64),
}

impl Series {
    fn totals(&self) -> Totals {
        let sum = |pick: &dyn Fn(&Slot) -> &Buckets| {
            let mut counts = [0u64; 20];
            let mut total = 0u64;
            for slot in self.slots.iter() {
                let b = pick(slot);
                for (c, a) in counts.iter_mut().zip(b.counts.iter()) {
                    *c += a.load(Ordering::Relaxed);
                }
                total += b.sum.load(Ordering::Relaxed);
            }
            (counts, total)
        };
        Totals {
            requests: self
                .slots
                .iter()
                .map(|s| s.requests.load(Ordering::Relaxed))
                .sum(),
            duration: sum(&|s| &s.duration),
            request_bytes: sum(&|s| &s.request_bytes),
            response_bytes: sum(&|s| &s.response_bytes),
        }
    }
}

/// Values interned by content, numbered from 0 (the default value) in insertion order.
struct Interner<T> {
    inner: Mutex<Interned<T>>,
}

/// The values by number, and the numbers by value.
type Interned<T> = (Vec<Arc<T>>, HashMap<Arc<T>, u32>);

/// The last metadata-exchange value a thread read: its registry, its bytes, its peer.
type LastPeer = Option<(u64, Box<[u8]>, PeerId)>;
/// How a series' labels are made from its key and the workloads and service it names.
type LabelsOf = fn(&Key, &Workload, &Workload, &Service) -> Vec<(&'static str, String)>;

impl<T: Default + Eq + Hash> Interner<T> {
    fn new() -> Interner<T> {
        let zero = Arc::new(T::default());
        Interner {
            inner: Mutex::new((vec![zero.clone()], HashMap::from([(zero, 0)]))),
        }
    }

    fn id(&self, value: T) -> u32 {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = inner.1.get(&value) {
            return *id;
        }
        let id = u32::try_from(inner.0.len()).unwrap_or(u32::MAX);
        let value = Arc::new(value);
        inner.0.push(value.clone());
        inner.1.insert(value, id);
        id
    }

    fn get(&self, id: u32) -> Arc<T> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let index = usize::try_from(id).unwrap_or(0);
        inner.0.get(index).unwrap_or(&inner.0[0]).clone()
    }
}

/// Fx hashing (rustc's): the keys are a few integers, and SipHash's setup would cost more than
/// the rest of a report.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Registries are told apart in the per-thread caches by a number, not an address: a dropped
/// registry's address may be reused by the next one (tests make many).
static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(1);
/// A thread cache holding more series than this is dropped and refilled: only a proxy that
/// saw that many label sets gets there, and then a lock per new key is fine.
const CACHE_LIMIT: usize = 4096;

thread_local! {
    static SERIES: RefCell<FxMap<(u64, Key), Arc<Series>>> = RefCell::default();
    /// The last `x-envoy-peer-metadata` value read on this thread and its peer: the callers of
    /// a proxy are few, and the header repeats byte for byte.
    static LAST_PEER: RefCell<LastPeer> = const { RefCell::new(None) };
}

/// What one finished request adds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observation {
    pub duration: Duration,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

/// The metadata-exchange headers this proxy sends.
#[derive(Debug, Clone)]
pub struct ExchangeHeaders {
    pub id: HeaderValue,
    pub metadata: HeaderValue,
    /// Both as HTTP/1.1 header lines, for the encoder to copy whole (see [`crate::proxy::added`]).
    pub lines: Box<[u8]>,
}

/// The pair's names. Statics, not consts: a const `HeaderName` is built and dropped at every use.
pub static PEER_METADATA: HeaderName = HeaderName::from_static(PEER_METADATA_HEADER);
pub static PEER_METADATA_ID: HeaderName = HeaderName::from_static(PEER_METADATA_ID_HEADER);

impl ExchangeHeaders {
    pub fn new(id: HeaderValue, metadata: HeaderValue) -> ExchangeHeaders {
        let mut lines = Vec::with_capacity(64 + id.len() + metadata.len());
        for (name, value) in [(&PEER_METADATA_ID, &id), (&PEER_METADATA, &metadata)] {
            lines.extend_from_slice(name.as_str().as_bytes());
            lines.extend_from_slice(b": ");
            lines.extend_from_slice(value.as_bytes());
            lines.extend_from_slice(b"\r\n");
        }
        ExchangeHeaders {
            id,
            metadata,
            lines: lines.into_boxed_slice(),
        }
    }
}

/// Istio's standard metrics of one proxy.
pub struct IstioMetrics {
    id: u64,
    slots: usize,
    /// This proxy's workload: the source of its source reports, the destination of its
    /// destination reports.
    local: OnceLock<Workload>,
    exchange: OnceLock<Arc<ExchangeHeaders>>,
    peers: Interner<Workload>,
    services: Interner<Service>,
    series: Mutex<HashMap<Key, Arc<Series>>>,
    /// The TCP series; a connection holds its own, so this is read only by scrapes and new
    /// connections.
    tcp: Mutex<HashMap<Key, Arc<TcpSeries>>>,
}

/// The counters of one TCP label set. Bytes are those of the downstream connection:
/// `received` from the downstream, `sent` to it (Envoy's `downstream_cx_rx/tx_bytes`).
#[derive(Debug)]
pub struct TcpSeries {
    key: Key,
    pub opened: AtomicU64,
    pub closed: AtomicU64,
    pub received: AtomicU64,
    pub sent: AtomicU64,
}

/// Sums of a TCP series, for a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpTotals {
    pub opened: u64,
    pub closed: u64,
    pub received: u64,
    pub sent: u64,
}

impl TcpSeries {
    fn totals(&self) -> TcpTotals {
        TcpTotals {
            opened: self.opened.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for IstioMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IstioMetrics")
            .field("local", &self.local.get())
            .finish_non_exhaustive()
    }
}

impl Default for IstioMetrics {
    fn default() -> IstioMetrics {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        IstioMetrics {
            id: NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed),
            // Room for the workers and the odd other thread: threads past the last owned slot
            // share that one.
            slots: (threads * 2).clamp(4, 16),
            local: OnceLock::new(),
            exchange: OnceLock::new(),
            peers: Interner::new(),
            services: Interner::new(),
            series: Mutex::default(),
            tcp: Mutex::default(),
        }
    }
}

impl IstioMetrics {
    /// Sets this proxy's workload (once, at start; later calls change nothing) and the node id
    /// and pod name its metadata-exchange headers carry.
    pub fn set_local(&self, workload: Workload, node_id: &str, instance: &str) {
        if let (Ok(id), Ok(metadata)) = (
            HeaderValue::from_str(node_id),
            HeaderValue::from_str(&workload.exchange_header(instance)),
        ) {
            let _ = self
                .exchange
                .set(Arc::new(ExchangeHeaders::new(id, metadata)));
        }
        let _ = self.local.set(workload);
    }

    /// The headers this proxy announces itself with, once [`IstioMetrics::set_local`] ran.
    pub fn exchange_headers(&self) -> Option<&Arc<ExchangeHeaders>> {
        self.exchange.get()
    }

    pub fn peer(&self, workload: Workload) -> PeerId {
        self.peers.id(workload)
    }

    pub fn service(&self, service: Service) -> ServiceId {
        self.services.id(service)
    }

    /// The peer an `x-envoy-peer-metadata` value names, with `principal` (the SPIFFE ID of its
    /// mTLS certificate, which the header cannot vouch for) as its `source_principal`; 0
    /// (unknown) when it names none.
    pub fn peer_from_exchange(&self, value: &[u8], principal: Option<&str>) -> PeerId {
        let principal = principal.unwrap_or_default().as_bytes();
        // The cache holds `value \n principal`: a header value has no newline.
        let same = |bytes: &[u8]| {
            bytes.len() == value.len() + 1 + principal.len()
                && bytes[..value.len()] == *value
                && bytes[value.len()] == b'\n'
                && bytes[value.len() + 1..] == *principal
        };
        let hit = LAST_PEER.with(|last| match &*last.borrow() {
            Some((registry, bytes, peer)) if *registry == self.id && same(bytes) => Some(*peer),
            _ => None,
        });
        if let Some(peer) = hit {
            return peer;
        }
        let peer = Workload::from_exchange_header(value).map_or(0, |mut w| {
            if !principal.is_empty() {
                w.principal = String::from_utf8_lossy(principal).into_owned();
            }
            self.peer(w)
        });
        let key = [value, b"\n", principal].concat();
        LAST_PEER.with(|last| *last.borrow_mut() = Some((self.id, key.into(), peer)));
        peer
    }

    /// Counts one finished request.
    pub fn record(&self, key: Key, observation: Observation) {
        let shard = Shard::of(self.slots);
        let micros = u64::try_from(observation.duration.as_micros()).unwrap_or(u64::MAX);
        let report = |series: &Series| {
            let s = &series.slots[shard.index];
            shard.add(&s.requests, 1);
            s.duration
                .observe(shard, MICROS.partition_point(|b| micros > *b), micros);
            let bytes = |n: u64| DOUBLED.partition_point(|b| n.saturating_mul(2) > *b);
            s.request_bytes.observe(
                shard,
                bytes(observation.request_bytes),
                observation.request_bytes,
            );
            s.response_bytes.observe(
                shard,
                bytes(observation.response_bytes),
                observation.response_bytes,
            );
        };
        let cached = SERIES.with(|cache| {
            let cache = cache.borrow();
            cache.get(&(self.id, key)).map(|series| report(series))
        });
        if cached.is_some() {
            return;
        }
        let series = {
            let mut all = self.series.lock().unwrap_or_else(PoisonError::into_inner);
            all.entry(key)
                .or_insert_with(|| {
                    Arc::new(Series {
                        key,
                        slots: (0..self.slots).map(|_| Slot::new()).collect(),
                    })
                })
                .clone()
        };
        report(&series);
        SERIES.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert((self.id, key), series);
        });
    }

    /// The TCP series of `key` (its `code`, `grpc` and `grpc_status` are not labels of TCP
    /// metrics and are ignored), created on first use as Envoy creates stats.
    pub fn tcp(&self, key: Key) -> Arc<TcpSeries> {
        let key = Key {
            grpc: false,
            code: 0,
            grpc_status: None,
            ..key
        };
        self.tcp
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert_with(|| {
                Arc::new(TcpSeries {
                    key,
                    opened: AtomicU64::new(0),
                    closed: AtomicU64::new(0),
                    received: AtomicU64::new(0),
                    sent: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// Every TCP series' labels (in Istio's order) and totals, in a stable order.
    pub fn tcp_snapshot(&self) -> Vec<(Vec<(&'static str, String)>, TcpTotals)> {
        self.rows(&self.tcp, |s| (&s.key, s.totals()), tcp_labels)
    }

    /// Every series' labels (in Istio's order) and totals, in a stable order.
    pub fn snapshot(&self) -> Vec<(Vec<(&'static str, String)>, Totals)> {
        self.rows(&self.series, |s| (&s.key, s.totals()), labels)
    }

    /// The series of `map` as rows of labels (made by `labels`) and totals, sorted by labels.
    /// The series are copied out first, so the lock is not held while labels are built.
    fn rows<S, T>(
        &self,
        map: &Mutex<HashMap<Key, Arc<S>>>,
        key_and_totals: impl Fn(&S) -> (&Key, T),
        labels: LabelsOf,
    ) -> Vec<(Vec<(&'static str, String)>, T)> {
        let series: Vec<Arc<S>> = map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let unknown = Workload::default();
        let local = self.local.get().unwrap_or(&unknown);
        let mut out: Vec<_> = series
            .iter()
            .map(|s| {
                let (key, totals) = key_and_totals(s);
                let peer = self.peers.get(key.peer);
                let service = self.services.get(key.service);
                (labels(key, local, &peer, &service), totals)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The metric families in Prometheus' text format, as Envoy writes Istio's: the counter,
    /// then the histograms with Envoy's cumulative buckets, `_sum` and `_count`. Nothing before
    /// the first request, as Envoy creates the stats on first use.
    pub fn render(&self, out: &mut String) {
        self.render_http(out);
        self.render_tcp(out);
    }

    /// The TCP counters, in Envoy's order of metric names; nothing before the first connection.
    fn render_tcp(&self, out: &mut String) {
        let snapshot = self.tcp_snapshot();
        if snapshot.is_empty() {
            return;
        }
        type Pick = fn(&TcpTotals) -> u64;
        let families: [(&str, Pick); 4] = [
            ("istio_tcp_connections_closed_total", |t| t.closed),
            ("istio_tcp_connections_opened_total", |t| t.opened),
            ("istio_tcp_received_bytes_total", |t| t.received),
            ("istio_tcp_sent_bytes_total", |t| t.sent),
        ];
        for (name, pick) in families {
            let _ = writeln!(out, "# TYPE {name} counter");
            for (labels, totals) in &snapshot {
                out.push_str(name);
                write_labels(out, labels, None);
                let _ = writeln!(out, " {}", pick(totals));
            }
            out.push('\n');
        }
    }

    fn render_http(&self, out: &mut String) {
        let snapshot = self.snapshot();
        if snapshot.is_empty() {
            return;
        }
        out.push_str("# TYPE istio_requests_total counter\n");
        for (labels, totals) in &snapshot {
            out.push_str("istio_requests_total");
            write_labels(out, labels, None);
            let _ = writeln!(out, " {}", totals.requests);
        }
        out.push('\n');
        type Pick = fn(&Totals) -> &([u64; 20], u64);
        let families: [(&str, Pick, f64); 3] = [
            ("istio_request_bytes", |t: &Totals| &t.request_bytes, 1.0),
            (
                "istio_request_duration_milliseconds",
                |t: &Totals| &t.duration,
                1000.0,
            ),
            ("istio_response_bytes", |t: &Totals| &t.response_bytes, 1.0),
        ];
        for (name, pick, divisor) in families {
            let _ = writeln!(out, "# TYPE {name} histogram");
            for (labels, totals) in &snapshot {
                let (counts, sum) = pick(totals);
                let mut cumulative = 0u64;
                for (i, n) in counts.iter().enumerate() {
                    cumulative += n;
                    let le = match BUCKETS.get(i) {
                        Some(b) => format!("{b}"),
                        None => "+Inf".to_string(),
                    };
                    let _ = write!(out, "{name}_bucket");
                    write_labels(out, labels, Some(&le));
                    let _ = writeln!(out, " {cumulative}");
                }
                let _ = write!(out, "{name}_sum");
                write_labels(out, labels, None);
                let _ = writeln!(out, " {}", *sum as f64 / divisor);
                let _ = write!(out, "{name}_count");
                write_labels(out, labels, None);
                let _ = writeln!(out, " {cumulative}");
            }
            out.push('\n');
        }
    }
}

fn write_labels(out: &mut String, labels: &[(&'static str, String)], le: Option<&str>) {
    out.push('{');
    let all = labels
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(le.map(|le| ("le", le)));
    for (i, (k, v)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// The labels of a series, with Istio's fallbacks: `unknown` for what is not known, `latest`
/// for an unknown canonical revision.
fn labels(
    key: &Key,
    local: &Workload,
    peer: &Workload,
    service: &Service,
) -> Vec<(&'static str, String)> {
    let or = |s: &str, fallback: &str| {
        if s.is_empty() {
            fallback.to_string()
        } else {
            s.to_string()
        }
    };
    let unknown = |s: &str| or(s, "unknown");
    let (source, destination) = match key.reporter {
        Reporter::Source => (local, peer),
        Reporter::Destination => (peer, local),
    };
    let (service_host, service_name, service_namespace) = match key.reporter {
        // The client names the service from the cluster; its namespace is the workload's
        // answering, else the service's own.
        Reporter::Source => (
            unknown(&service.host),
            unknown(&service.name),
            unknown(if peer.namespace.is_empty() {
                &service.namespace
            } else {
                &peer.namespace
            }),
        ),
        // The server falls back on its own canonical service.
        Reporter::Destination => (
            or(&service.host, &unknown(&local.canonical_service)),
            or(&service.name, &unknown(&local.canonical_service)),
            unknown(&local.namespace),
        ),
    };
    let mut flags = String::new();
    key.flags.write(&mut flags);
    vec![
        ("reporter", key.reporter.as_str().to_string()),
        ("source_workload", unknown(&source.name)),
        (
            "source_canonical_service",
            unknown(&source.canonical_service),
        ),
        (
            "source_canonical_revision",
            or(&source.canonical_revision, "latest"),
        ),
        ("source_workload_namespace", unknown(&source.namespace)),
        ("source_principal", unknown(&source.principal)),
        ("source_app", unknown(&source.app)),
        ("source_version", unknown(&source.version)),
        ("source_cluster", unknown(&source.cluster)),
        ("destination_workload", unknown(&destination.name)),
        (
            "destination_workload_namespace",
            unknown(&destination.namespace),
        ),
        ("destination_principal", unknown(&destination.principal)),
        ("destination_app", unknown(&destination.app)),
        ("destination_version", unknown(&destination.version)),
        ("destination_service", service_host),
        (
            "destination_canonical_service",
            unknown(&destination.canonical_service),
        ),
        (
            "destination_canonical_revision",
            or(&destination.canonical_revision, "latest"),
        ),
        ("destination_service_name", service_name),
        ("destination_service_namespace", service_namespace),
        ("destination_cluster", unknown(&destination.cluster)),
        (
            "request_protocol",
            if key.grpc { "grpc" } else { "http" }.to_string(),
        ),
        ("response_code", key.code.to_string()),
        (
            "grpc_response_status",
            key.grpc_status.map(|s| s.to_string()).unwrap_or_default(),
        ),
        ("response_flags", flags),
        (
            "connection_security_policy",
            key.security.as_str().to_string(),
        ),
    ]
}

/// The labels of a TCP series: those of HTTP without `response_code` and
/// `grpc_response_status`, and `request_protocol` `tcp` (istio/proxy's TCP metrics).
fn tcp_labels(
    key: &Key,
    local: &Workload,
    peer: &Workload,
    service: &Service,
) -> Vec<(&'static str, String)> {
    labels(key, local, peer, service)
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "response_code" | "grpc_response_status"))
        .map(|(name, value)| match name {
            "request_protocol" => (name, "tcp".to_string()),
            _ => (name, value),
        })
        .collect()
}

#[cfg(test)]
mod tests;
