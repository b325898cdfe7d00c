//! xDS load benchmark: many simulated proxies on one `ferryctl discovery`.
//!
//! Writes a mesh of `--namespaces` × `--services` (ServiceEntry + WorkloadEntry per replica,
//! VirtualService, DestinationRule, one Sidecar per namespace importing `./*` and
//! `istio-system/*`), starts the release `ferryctl discovery` on ephemeral 127.0.0.1 ports, and
//! connects `--clients` ADS clients, each its own gRPC connection and each one workload of the
//! mesh. Then it measures:
//!
//! - the server's RSS before and after every client has ACKed its initial config, per client;
//! - per round, a namespace-local change (one VirtualService's weights in namespace k): the time
//!   from the file write to each affected client's ACK of the new RDS version, and that no
//!   client of another namespace received any response at all;
//! - per round, a mesh-wide change (a VirtualService in istio-system, imported everywhere): the
//!   same latency over every client.
//!
//! The latency includes the control plane's directory poll (every 100 ms, so 50 ms on average)
//! and its push debounce (100 ms quiet), as istiod's includes its informer and debounce.
//!
//! With `--hold` it only connects the clients, prints `holding: … grpc=… debug=… pid=…` and keeps
//! them connected until its stdin closes: `benches/proxy_status.sh` times `proxy-status` on it.
//!
//! Run through `benches/xds_load.sh`; the last line (`figures: …`) is what the script checks.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use ferry::xds::client::{eds_cluster_names, rds_route_names};
use ferry::xds::node::json_to_struct;
use ferry::xds::types::{TypeUrl, TypedResource};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const FERRYCTL: &str = env!("CARGO_BIN_EXE_ferryctl");

#[derive(Debug, Clone)]
struct Options {
    clients: usize,
    namespaces: usize,
    services: usize,
    local_rounds: usize,
    mesh_rounds: usize,
    /// Connect the clients, print where the control plane is, and keep everything up until
    /// stdin closes (for benches/proxy_status.sh) instead of measuring pushes.
    hold: bool,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            clients: 1000,
            namespaces: 50,
            services: 20,
            local_rounds: 5,
            mesh_rounds: 3,
            hold: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut num = |name: &str| -> usize {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} needs a number"))
            };
            match a.as_str() {
                "--clients" => o.clients = num("--clients"),
                "--namespaces" => o.namespaces = num("--namespaces"),
                "--services" => o.services = num("--services"),
                "--local-rounds" => o.local_rounds = num("--local-rounds"),
                "--mesh-rounds" => o.mesh_rounds = num("--mesh-rounds"),
                "--hold" => o.hold = true,
                "--quick" => {
                    o.local_rounds = 2;
                    o.mesh_rounds = 1;
                }
                // `cargo bench` passes `--bench`; anything else is a mistake worth stopping on.
                "--bench" => {}
                other => panic!("unknown argument {other:?}"),
            }
        }
        assert!(o.namespaces > 0 && o.services > 0 && o.clients > 0);
        o
    }

    /// Workloads per service so that every client is one workload.
    fn replicas(&self) -> usize {
        self.clients.div_ceil(self.namespaces * self.services)
    }
}

/// One simulated proxy: a workload of the mesh.
#[derive(Debug, Clone)]
struct Workload {
    namespace: usize,
    service: usize,
    replica: usize,
}

impl Workload {
    fn ip(&self) -> String {
        format!(
            "10.{}.{}.{}",
            self.namespace,
            self.service,
            self.replica + 1
        )
    }

    fn version(&self) -> &'static str {
        if self.replica.is_multiple_of(2) {
            "v1"
        } else {
            "v2"
        }
    }

    fn node(&self) -> Node {
        let ns = format!("ns-{}", self.namespace);
        let app = format!("svc-{}", self.service);
        let metadata = serde_json::json!({
            "NAMESPACE": ns,
            "ISTIO_VERSION": "1.24.0",
            "LABELS": {"app": app, "version": self.version()},
        });
        Node {
            id: format!(
                "sidecar~{}~{app}-{}.{ns}~{ns}.svc.cluster.local",
                self.ip(),
                self.replica
            ),
            metadata: Some(json_to_struct(metadata.as_object().expect("object"))),
            ..Node::default()
        }
    }
}

fn workloads(o: &Options) -> Vec<Workload> {
    let mut all = Vec::new();
    for replica in 0..o.replicas() {
        for namespace in 0..o.namespaces {
            for service in 0..o.services {
                all.push(Workload {
                    namespace,
                    service,
                    replica,
                });
            }
        }
    }
    all.truncate(o.clients);
    all
}

/// One service: ServiceEntry, its WorkloadEntries, a weighted VirtualService and the subsets.
fn service_yaml(
    ns: &str,
    name: &str,
    replicas: usize,
    ip: impl Fn(usize) -> String,
    v1: u32,
) -> String {
    let host = format!("{name}.{ns}.svc.cluster.local");
    let mut y = format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {name}, namespace: {ns}}}
spec:
  hosts: [{host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: 8080, name: http, protocol: HTTP}}]
  workloadSelector: {{labels: {{app: {name}}}}}
---
"
    );
    for r in 0..replicas {
        let version = if r.is_multiple_of(2) { "v1" } else { "v2" };
        y.push_str(&format!(
            "apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: {name}-{r}, namespace: {ns}}}
spec: {{address: {}, labels: {{app: {name}, version: {version}}}}}
---
",
            ip(r)
        ));
    }
    y.push_str(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {ns}}}
spec:
  hosts: [{host}]
  http:
  - route:
    - destination: {{host: {host}, subset: v1}}
      weight: {v1}
    - destination: {{host: {host}, subset: v2}}
      weight: {}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: {ns}}}
spec:
  host: {host}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
---
",
        100 - v1
    ));
    y
}

/// A namespace's file. `v1_weight_of_first` is the weight of svc-0's v1 subset, the one the
/// namespace-local rounds change.
fn namespace_yaml(o: &Options, n: usize, v1_weight_of_first: u32) -> String {
    let ns = format!("ns-{n}");
    let mut y = format!(
        "apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: default, namespace: {ns}}}
spec:
  egress:
  - hosts: [\"./*\", \"istio-system/*\"]
---
"
    );
    for s in 0..o.services {
        let weight = if s == 0 { v1_weight_of_first } else { 90 };
        y.push_str(&service_yaml(
            &ns,
            &format!("svc-{s}"),
            o.replicas(),
            |r| format!("10.{n}.{s}.{}", r + 1),
            weight,
        ));
    }
    y
}

fn shared_yaml(v1_weight: u32) -> String {
    service_yaml(
        "istio-system",
        "shared",
        2,
        |r| format!("10.255.0.{}", r + 1),
        v1_weight,
    )
}

/// Writes a file the way an editor or `kubectl cp` would not, but a config sync should: to a
/// temporary name outside the watched directory, then renamed over, so the control plane never
/// reads half a file.
fn write_atomically(dir: &Path, scratch: &Path, name: &str, text: &str) {
    let tmp = scratch.join(name);
    std::fs::write(&tmp, text).expect("scratch file written");
    std::fs::rename(&tmp, dir.join(name)).expect("file renamed into the config dir");
}

/// What one client saw. Written by its task, read by the coordinator.
#[derive(Debug, Default)]
struct ClientStats {
    responses: [AtomicU64; 5],
    ready: AtomicBool,
    /// The RDS version last ACKed and when the ACK was sent.
    rds: Mutex<(String, Option<Instant>)>,
    /// Streams that failed and were opened again, as Envoy does; the last error.
    reconnects: AtomicU64,
    failed: Mutex<Option<String>>,
}

impl ClientStats {
    fn total_responses(&self) -> u64 {
        self.responses
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .sum()
    }
}

fn type_index(t: TypeUrl) -> usize {
    TypeUrl::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

/// Per type, what an Envoy-like client tracks to ACK and to change its subscriptions.
#[derive(Debug, Default, Clone)]
struct Watch {
    version: String,
    nonce: String,
    names: BTreeSet<String>,
    acked: bool,
}

fn request(t: TypeUrl, w: &Watch, node: Option<Node>) -> DiscoveryRequest {
    DiscoveryRequest {
        node,
        type_url: t.as_str().to_string(),
        version_info: w.version.clone(),
        response_nonce: w.nonce.clone(),
        resource_names: w.names.iter().cloned().collect(),
        ..Default::default()
    }
}

/// A lean ADS client: subscribes to CDS and LDS, then to the EDS and RDS names they mention,
/// ACKs everything, and records RDS ACK times. Decodes only CDS and LDS (for the names).
async fn run_client(address: String, node: Node, stats: Arc<ClientStats>) -> Result<(), String> {
    let mut client = AggregatedDiscoveryServiceClient::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?
        .max_decoding_message_size(64 << 20);
    let (tx, rx) = mpsc::channel(16);
    let mut watches: [Watch; 5] = Default::default();
    let send = |r: DiscoveryRequest| {
        let tx = tx.clone();
        async move {
            tx.send(r)
                .await
                .map_err(|_| "request stream closed".to_string())
        }
    };
    send(request(TypeUrl::Cluster, &watches[0], Some(node))).await?;
    send(request(TypeUrl::Listener, &watches[2], None)).await?;
    let mut responses = client
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .map_err(|e| format!("stream: {e}"))?
        .into_inner();
    loop {
        let response = match responses.message().await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(status) if status.code() == tonic::Code::Ok => return Ok(()),
            Err(status) => return Err(format!("stream: {status}")),
        };
        let Some(t) = TypeUrl::parse(&response.type_url) else {
            continue;
        };
        let i = type_index(t);
        stats.responses[i].fetch_add(1, Ordering::Relaxed);
        watches[i].version = response.version_info.clone();
        watches[i].nonce = response.nonce.clone();
        watches[i].acked = true;
        // Subscriptions that follow from this response (EDS from CDS, RDS from LDS).
        let follow = match t {
            TypeUrl::Cluster | TypeUrl::Listener => {
                let decoded: Vec<TypedResource> = response
                    .resources
                    .iter()
                    .filter_map(|a| TypedResource::decode(a).ok())
                    .collect();
                if t == TypeUrl::Cluster {
                    Some((TypeUrl::ClusterLoadAssignment, eds_cluster_names(&decoded)))
                } else {
                    Some((TypeUrl::RouteConfiguration, rds_route_names(&decoded)))
                }
            }
            _ => None,
        };
        if t == TypeUrl::RouteConfiguration {
            let mut rds = stats.rds.lock().expect("lock");
            if rds.0 != response.version_info {
                *rds = (response.version_info.clone(), Some(Instant::now()));
            }
        }
        send(request(t, &watches[i], None)).await?;
        if let Some((ft, names)) = follow {
            let fi = type_index(ft);
            if names != watches[fi].names {
                watches[fi].names = names;
                send(request(ft, &watches[fi], None)).await?;
            }
        }
        let ready = [TypeUrl::Cluster, TypeUrl::Listener]
            .iter()
            .all(|t| watches[type_index(*t)].acked)
            && [TypeUrl::ClusterLoadAssignment, TypeUrl::RouteConfiguration]
                .iter()
                .all(|t| {
                    let w = &watches[type_index(*t)];
                    w.acked || w.names.is_empty()
                });
        if ready {
            stats.ready.store(true, Ordering::Relaxed);
        }
    }
}

/// Kills the control plane however the benchmark ends.
struct Discovery {
    child: Child,
    grpc: String,
    debug: String,
}

impl Drop for Discovery {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Discovery {
    fn start(dir: &Path) -> Discovery {
        let mut child = Command::new(FERRYCTL)
            .args(["discovery", "--config-dir"])
            .arg(dir)
            .args([
                "--grpcAddr",
                "127.0.0.1:0",
                "--monitoringAddr",
                "127.0.0.1:0",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferryctl discovery starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Keep draining after the addresses so the child never blocks on a full pipe.
                let _ = tx.send(line);
            }
        });
        let line = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("discovery prints its addresses");
            if let Some(rest) = line.strip_prefix("ferryctl discovery: xDS (ADS) on ") {
                break rest.to_string();
            }
        };
        let (grpc, debug) = line.split_once(", debug on ").expect("both addresses");
        Discovery {
            grpc: grpc.to_string(),
            debug: debug.to_string(),
            child,
        }
    }

    /// VmRSS and VmHWM of the process, in bytes.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        (kb("VmRSS:"), kb("VmHWM:"))
    }

    fn get(&self, path: &str) -> (u16, String) {
        let Ok(mut stream) = std::net::TcpStream::connect(&self.debug) else {
            return (0, String::new());
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (code, body)
    }
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The outcome of one kind of change, over its rounds.
#[derive(Debug, Default)]
struct Latencies {
    samples: Vec<Duration>,
    affected: usize,
    missed: usize,
    /// Responses to clients that should have received none.
    stray: u64,
    /// Responses to affected clients (RDS only, ideally one each).
    affected_responses: u64,
}

impl Latencies {
    fn report(&mut self, what: &str) {
        self.samples.sort();
        let s = &self.samples;
        println!(
            "  {what}: {} ACKs from {} affected clients/round; P50 {:.0} ms, P90 {:.0} ms, \
             P99 {:.0} ms, max {:.0} ms; {} missed; {} responses to affected, {} to others",
            s.len(),
            self.affected,
            ms(percentile(s, 50.0)),
            ms(percentile(s, 90.0)),
            ms(percentile(s, 99.0)),
            ms(s.last().copied().unwrap_or_default()),
            self.missed,
            self.affected_responses,
            self.stray,
        );
    }
}

struct Bench {
    o: Options,
    dir: PathBuf,
    scratch: PathBuf,
    workloads: Vec<Workload>,
    stats: Vec<Arc<ClientStats>>,
}

impl Bench {
    /// Makes one change with `write`, then waits for every client in `affected` to ACK a new RDS
    /// version, and for a quiet second in which nobody else may hear anything.
    fn round(&self, affected: &[bool], write: impl FnOnce(), out: &mut Latencies) {
        let before: Vec<(String, u64)> = self
            .stats
            .iter()
            .map(|s| (s.rds.lock().expect("lock").0.clone(), s.total_responses()))
            .collect();
        let start = Instant::now();
        write();
        let changed = |i: usize| self.stats[i].rds.lock().expect("lock").0 != before[i].0;
        let all = wait_until(Duration::from_secs(20), || {
            (0..self.stats.len()).all(|i| !affected[i] || changed(i))
        });
        // Pushes go out together after one debounce; one quiet second shows any stray one.
        std::thread::sleep(Duration::from_secs(1));
        out.affected = affected.iter().filter(|a| **a).count();
        for (i, s) in self.stats.iter().enumerate() {
            let delta = s.total_responses() - before[i].1;
            if affected[i] {
                out.affected_responses += delta;
                match *s.rds.lock().expect("lock") {
                    (ref v, Some(at)) if *v != before[i].0 => out.samples.push(at - start),
                    _ => out.missed += 1,
                }
            } else {
                out.stray += delta;
            }
        }
        if !all {
            eprintln!("xds_load: not every affected client ACKed within 20 s");
        }
    }
}

fn main() {
    let o = Options::parse();
    let begun = Instant::now();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("mesh");
    let scratch = work.path().join("scratch");
    std::fs::create_dir_all(&dir).expect("mesh dir");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    for n in 0..o.namespaces {
        std::fs::write(dir.join(format!("ns-{n}.yaml")), namespace_yaml(&o, n, 90))
            .expect("namespace written");
    }
    std::fs::write(dir.join("istio-system.yaml"), shared_yaml(90)).expect("shared written");
    let objects = o.namespaces * (1 + o.services * (3 + o.replicas())) + 5;

    let discovery = Discovery::start(&dir);
    assert!(
        wait_until(Duration::from_secs(60), || discovery.get("/ready").0 == 200),
        "discovery never became ready"
    );
    std::thread::sleep(Duration::from_millis(500));
    let (rss_idle, _) = discovery.memory();

    let workloads = workloads(&o);
    let stats: Vec<Arc<ClientStats>> = workloads.iter().map(|_| Arc::default()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let address = format!("http://{}", discovery.grpc);
    let connect_start = Instant::now();
    for (i, (w, s)) in workloads.iter().zip(&stats).enumerate() {
        let (address, node, s) = (address.clone(), w.node(), s.clone());
        runtime.spawn(async move {
            // A thousand proxies connecting at once overflow the accept queue; Envoy retries
            // (jittered), and so do these, a bounded number of times.
            for attempt in 0..20u64 {
                match run_client(address.clone(), node.clone(), s.clone()).await {
                    Ok(()) => return,
                    Err(e) => {
                        *s.failed.lock().expect("lock") = Some(e);
                        s.reconnects.fetch_add(1, Ordering::Relaxed);
                        let jitter = (i as u64 * 7919) % 500;
                        tokio::time::sleep(Duration::from_millis(200 * attempt.min(5) + jitter))
                            .await;
                    }
                }
            }
        });
    }
    let all_ready = wait_until(Duration::from_secs(120), || {
        stats.iter().all(|s| s.ready.load(Ordering::Relaxed))
    });
    let connect_time = connect_start.elapsed();
    let failed: Vec<String> = stats
        .iter()
        .filter(|s| !s.ready.load(Ordering::Relaxed))
        .filter_map(|s| s.failed.lock().expect("lock").clone())
        .collect();
    let reconnects: u64 = stats
        .iter()
        .map(|s| s.reconnects.load(Ordering::Relaxed))
        .sum();
    if !all_ready {
        let ready = stats
            .iter()
            .filter(|s| s.ready.load(Ordering::Relaxed))
            .count();
        eprintln!(
            "xds_load: {ready}/{} clients ready; {} failed (first: {:?})",
            o.clients,
            failed.len(),
            failed.first()
        );
        // `exit` skips destructors: stop the control plane first.
        drop(discovery);
        std::process::exit(2);
    }
    if o.hold {
        // The line benches/proxy_status.sh waits for; then hold until it closes our stdin.
        println!(
            "holding: clients={} grpc={} debug={} pid={} connect_s={:.1}",
            o.clients,
            discovery.grpc,
            discovery.debug,
            discovery.child.id(),
            connect_time.as_secs_f64()
        );
        let _ = std::io::stdout().flush();
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        runtime.shutdown_timeout(Duration::from_secs(1));
        drop(discovery);
        return;
    }
    std::thread::sleep(Duration::from_secs(1));
    let (rss_connected, _) = discovery.memory();
    let per_client = (rss_connected.saturating_sub(rss_idle)) as f64 / o.clients as f64;

    let bench = Bench {
        o: o.clone(),
        dir: dir.clone(),
        scratch,
        workloads,
        stats,
    };
    let mut local = Latencies::default();
    for round in 0..o.local_rounds {
        let n = round % o.namespaces;
        let affected: Vec<bool> = bench.workloads.iter().map(|w| w.namespace == n).collect();
        let weight = if (round / o.namespaces).is_multiple_of(2) {
            70
        } else {
            90
        };
        let text = namespace_yaml(&bench.o, n, weight);
        bench.round(
            &affected,
            || write_atomically(&bench.dir, &bench.scratch, &format!("ns-{n}.yaml"), &text),
            &mut local,
        );
    }
    let mut mesh = Latencies::default();
    for round in 0..o.mesh_rounds {
        let affected = vec![true; bench.workloads.len()];
        let text = shared_yaml(if round.is_multiple_of(2) { 60 } else { 90 });
        bench.round(
            &affected,
            || write_atomically(&bench.dir, &bench.scratch, "istio-system.yaml", &text),
            &mut mesh,
        );
    }
    let (rss_end, hwm) = discovery.memory();
    let metrics = discovery.get("/metrics").1;
    let sample = |series: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(discovery);

    println!(
        "xds load benchmark: {} clients, {} namespaces × {} services ({} objects), {} cores",
        o.clients,
        o.namespaces,
        o.services,
        objects,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  initial config: all {} clients ACKed in {:.1} s ({} streams reopened after an error)",
        o.clients,
        connect_time.as_secs_f64(),
        reconnects
    );
    println!(
        "  server RSS: {:.1} MB idle, {:.1} MB with clients, {:.1} MB at the end (peak {:.1} MB); \
         {:.3} MB per client",
        rss_idle as f64 / 1e6,
        rss_connected as f64 / 1e6,
        rss_end as f64 / 1e6,
        hwm as f64 / 1e6,
        per_client / 1e6
    );
    println!(
        "  latency = file write → client's ACK of the new RDS version; includes the 100 ms \
         directory poll and the 100 ms debounce"
    );
    local.report(&format!(
        "namespace-local VS change ({} rounds)",
        o.local_rounds
    ));
    mesh.report(&format!("mesh-wide VS change ({} rounds)", o.mesh_rounds));
    println!(
        "  server /metrics: pilot_xds {}, pilot_proxy_convergence_time count {} sum {:.1} s",
        sample("pilot_xds{version=\"1.24.0\"}"),
        sample("pilot_proxy_convergence_time_count"),
        sample("pilot_proxy_convergence_time_sum"),
    );
    let isolation = local.stray == 0 && local.missed == 0 && mesh.missed == 0;
    let p99 = |l: &Latencies| ms(percentile(&l.samples, 99.0));
    println!(
        "figures: clients={} local_p50_ms={:.0} local_p99_ms={:.0} mesh_p50_ms={:.0} \
         mesh_p99_ms={:.0} rss_per_client_mb={:.3} isolation={} runtime_s={:.1}",
        o.clients,
        ms(percentile(&local.samples, 50.0)),
        p99(&local),
        ms(percentile(&mesh.samples, 50.0)),
        p99(&mesh),
        per_client / 1e6,
        if isolation { "ok" } else { "FAILED" },
        begun.elapsed().as_secs_f64()
    );
}
