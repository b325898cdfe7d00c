//! Envoy's TCP proxy (`envoy.filters.network.tcp_proxy`): a filter chain that forwards a
//! downstream connection's bytes to one endpoint of its cluster and back, until either side
//! is done. Istio puts it on every port that is not HTTP (a sidecar's outbound and inbound
//! TCP ports, Sidecar ingress, passthrough).
//!
//! The downstream connection arrives here plain or with TLS terminated ([`super::server`]
//! tells them apart); the upstream one is made with the endpoint's transport socket, so auto
//! mTLS between sidecars works as for HTTP. Each direction ends on its own: a client that
//! shuts down its sending side (a half-close) still reads the rest of the answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use envoy_types::pb::envoy::config::listener::v3::{Filter, filter};
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{
    TcpProxy as TcpProxyConfig, tcp_proxy,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::connection::Connection;
use super::outlier::Outcome;
use super::server::Drain;
use super::state::Shared;
use super::stats::{Stats, TcpStats};
use super::telemetry::flags::{Flag, ResponseFlags};
use super::telemetry::metrics::{IstioMetrics, Key, Reporter, Security, TcpSeries};
use crate::xds::peer::Workload;
use crate::xds::types::unpack_any;

pub const TCP_PROXY_FILTER: &str = "envoy.filters.network.tcp_proxy";
const TCP_PROXY_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
/// Envoy's `idle_timeout` when the filter does not set one.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why a TCP proxy filter cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TcpProxyError {
    #[error("the TCP proxy has no typed config")]
    NoConfig,
    #[error("the TCP proxy's config does not decode: {0}")]
    Decode(String),
    #[error("the TCP proxy names no cluster")]
    NoCluster,
    #[error("the TCP proxy's weighted clusters weigh nothing")]
    NoWeight,
}

/// A TCP proxy filter, compiled.
#[derive(Debug)]
pub struct TcpProxy {
    pub stat_prefix: String,
    /// The clusters to connect to with their weights: one of weight 1 for `cluster`, or
    /// `weighted_clusters`.
    pub clusters: Vec<(String, u32)>,
    /// Close the connection after this long without a byte either way; `None` never.
    pub idle_timeout: Option<Duration>,
    pub stats: Arc<TcpStats>,
}

/// Whether `f` is a TCP proxy, by name or by its config's type.
pub fn is_tcp_proxy(f: &Filter) -> bool {
    f.name == TCP_PROXY_FILTER
        || matches!(&f.config_type, Some(filter::ConfigType::TypedConfig(any)) if any.type_url == TCP_PROXY_TYPE)
}

impl TcpProxy {
    pub fn compile(f: &Filter, stats: &Stats) -> Result<TcpProxy, TcpProxyError> {
        let Some(filter::ConfigType::TypedConfig(any)) = &f.config_type else {
            return Err(TcpProxyError::NoConfig);
        };
        let config: TcpProxyConfig =
            unpack_any(any).map_err(|e| TcpProxyError::Decode(e.to_string()))?;
        let clusters = match config.cluster_specifier {
            Some(tcp_proxy::ClusterSpecifier::Cluster(name)) if !name.is_empty() => {
                vec![(name, 1)]
            }
            Some(tcp_proxy::ClusterSpecifier::WeightedClusters(w)) => {
                let clusters: Vec<(String, u32)> =
                    w.clusters.into_iter().map(|c| (c.name, c.weight)).collect();
                if clusters.is_empty() {
                    return Err(TcpProxyError::NoCluster);
                }
                if clusters.iter().all(|(_, w)| *w == 0) {
                    return Err(TcpProxyError::NoWeight);
                }
                clusters
            }
            _ => return Err(TcpProxyError::NoCluster),
        };
        // Unset is Envoy's hour; zero turns the timeout off.
        let idle_timeout = match config.idle_timeout.as_ref() {
            None => Some(DEFAULT_IDLE_TIMEOUT),
            Some(d) => super::routes::duration(d).filter(|d| !d.is_zero()),
        };
        Ok(TcpProxy {
            stats: stats.tcp(&config.stat_prefix),
            stat_prefix: config.stat_prefix,
            clusters,
            idle_timeout,
        })
    }

    /// The cluster a connection goes to, by weight; `draw` is a random number.
    pub fn cluster(&self, draw: u64) -> &str {
        let total: u64 = self.clusters.iter().map(|(_, w)| u64::from(*w)).sum();
        if total > 0 {
            let mut at = draw % total;
            for (name, weight) in &self.clusters {
                let weight = u64::from(*weight);
                if at < weight {
                    return name;
                }
                at -= weight;
            }
        }
        self.clusters.first().map_or("", |(name, _)| name.as_str())
    }
}

/// Serves one downstream connection (TLS already terminated when it had TLS): connects to an
/// endpoint of the filter's cluster and copies bytes both ways until both directions ended,
/// the idle timeout passed, the proxy shuts down, or `drained` resolves (the listener was
/// removed and its drain time is over). `reporter` is the listener's side in Istio's metrics.
pub async fn serve<S>(
    downstream: S,
    proxy: &TcpProxy,
    connection: &Connection,
    reporter: Reporter,
    shared: &Shared,
    drain: watch::Receiver<Drain>,
    drained: impl Future<Output = ()>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    proxy.stats.downstream_cx_total.inc();
    let metrics = &shared.stats.istio;
    let mutual = connection.tls.as_ref().is_some_and(|t| t.is_mutual());
    let mut key = Key {
        reporter,
        security: match reporter {
            Reporter::Source => Security::Unknown,
            Reporter::Destination if mutual => Security::MutualTls,
            Reporter::Destination => Security::None,
        },
        ..Key::default()
    };
    // Istio learns the caller of a TCP connection by a metadata exchange in the connection's
    // first bytes (ALPN `istio-peer-exchange`), which Ferry does not speak: the destination
    // knows its caller by its certificate only.
    if reporter == Reporter::Destination
        && let Some(principal) = &connection.principal
    {
        key.peer = metrics.peer(Workload {
            principal: principal.to_string(),
            ..Workload::default()
        });
    }
    let runtime = shared.runtime();
    let name = proxy.cluster(super::random::next());
    let Some(cluster) = runtime.clusters.get(name).cloned() else {
        proxy.stats.downstream_cx_no_route.inc();
        tracing::debug!(cluster = name, peer = %connection.peer, "TCP proxy: cluster not found");
        refused(metrics, key, Flag::NoClusterFound);
        return;
    };
    key.service = cluster.service;
    let Some(endpoint) = cluster.pick(super::random::next(), None, None) else {
        cluster.stats.upstream_cx_none_healthy.inc();
        tracing::debug!(cluster = name, "TCP proxy: no healthy upstream");
        refused(metrics, key, Flag::NoHealthyUpstream);
        return;
    };
    if reporter == Reporter::Source {
        key.peer = endpoint.peer;
    }
    cluster.stats.upstream_cx_total.inc();
    let transport = endpoint.pool.transport();
    let upstream =
        match super::pool::open(&endpoint.address, transport, cluster.connect_timeout).await {
            Ok(u) => u,
            Err(e) => {
                cluster.stats.upstream_cx_connect_fail.inc();
                endpoint.stats.cx_connect_fail.inc();
                cluster.record(endpoint, Outcome::LocalFailure);
                tracing::debug!(cluster = name, endpoint = %endpoint.address, "TCP proxy: {e}");
                refused(metrics, key, Flag::UpstreamConnectionFailure);
                return;
            }
        };
    let series = metrics.tcp(key);
    series.opened.fetch_add(1, Ordering::Relaxed);
    let activity = Activity::new();
    let mut downstream = Counted {
        inner: downstream,
        series: &series,
        stats: &proxy.stats,
        activity: &activity,
    };
    let mut upstream = upstream;
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut downstream, &mut upstream) => {
            if let Err(e) = copied {
                tracing::debug!(cluster = name, peer = %connection.peer, "TCP proxy: {e}");
            }
        }
        () = idle(&activity, proxy.idle_timeout) => {
            proxy.stats.idle_timeout.inc();
            tracing::debug!(cluster = name, peer = %connection.peer, "TCP proxy: idle timeout");
        }
        () = shutdown(drain) => {}
        // As Envoy closes a removed listener's connections once it drained: a port an
        // AuthorizationPolicy closed (TCP cannot be checked) is closed for those open too.
        () = drained => {
            tracing::debug!(cluster = name, peer = %connection.peer, "TCP proxy: listener drained");
        }
    }
    series.closed.fetch_add(1, Ordering::Relaxed);
}

/// A connection that never reached an upstream: opened and closed at once, under `flag`, as
/// istio/proxy reports a connection at its end when it had no report before.
fn refused(metrics: &IstioMetrics, mut key: Key, flag: Flag) {
    let mut flags = ResponseFlags::default();
    flags.set(flag);
    key.flags = flags;
    let series = metrics.tcp(key);
    series.opened.fetch_add(1, Ordering::Relaxed);
    series.closed.fetch_add(1, Ordering::Relaxed);
}

/// Resolves when the proxy shuts down without a successor: nothing else would serve the
/// connection (after a hand-over it runs on until its listener's drain time is over).
async fn shutdown(mut drain: watch::Receiver<Drain>) {
    if drain.wait_for(|d| *d == Drain::Shutdown).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// When a connection last carried a byte, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    last: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// How long ago the last byte went either way.
    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }
}

/// Resolves once the connection carried nothing for `timeout`; never without one.
async fn idle(activity: &Activity, timeout: Option<Duration>) {
    let Some(timeout) = timeout else {
        return std::future::pending().await;
    };
    loop {
        let idle = activity.idle_for();
        if idle >= timeout {
            return;
        }
        tokio::time::sleep(timeout - idle).await;
    }
}

/// The downstream side of a proxied connection, counting its bytes as they pass: into Istio's
/// series and Envoy's `tcp.<prefix>` stats, per read and write, so a scrape sees an open
/// connection's bytes.
struct Counted<'a, S> {
    inner: S,
    series: &'a TcpSeries,
    stats: &'a TcpStats,
    activity: &'a Activity,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<'_, S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            self.series.received.fetch_add(n, Ordering::Relaxed);
            self.stats.received(n);
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<'_, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled
            && *n > 0
        {
            let n = *n as u64;
            self.series.sent.fetch_add(n, Ordering::Relaxed);
            self.stats.sent(n);
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::tcp_proxy::{
        WeightedCluster, weighted_cluster::ClusterWeight,
    };
    use envoy_types::pb::google::protobuf::Duration as PbDuration;

    use super::*;

    fn filter(config: TcpProxyConfig) -> Filter {
        Filter {
            name: TCP_PROXY_FILTER.to_string(),
            config_type: Some(filter::ConfigType::TypedConfig(
                crate::discovery::translate::proto::pack(&config),
            )),
        }
    }

    fn to(cluster: &str) -> TcpProxyConfig {
        TcpProxyConfig {
            stat_prefix: cluster.to_string(),
            cluster_specifier: Some(tcp_proxy::ClusterSpecifier::Cluster(cluster.to_string())),
            ..Default::default()
        }
    }

    #[test]
    fn the_idle_timeout_defaults_to_an_hour_and_zero_turns_it_off() {
        let stats = Stats::default();
        let p = TcpProxy::compile(&filter(to("outbound|9000||db")), &stats).expect("compiles");
        assert_eq!(p.stat_prefix, "outbound|9000||db");
        assert_eq!(p.clusters, [("outbound|9000||db".to_string(), 1)]);
        assert_eq!(p.idle_timeout, Some(Duration::from_secs(3600)));
        let mut config = to("db");
        config.idle_timeout = Some(PbDuration {
            seconds: 0,
            nanos: 0,
        });
        let p = TcpProxy::compile(&filter(config.clone()), &stats).expect("compiles");
        assert_eq!(p.idle_timeout, None);
        config.idle_timeout = Some(PbDuration {
            seconds: 5,
            nanos: 0,
        });
        let p = TcpProxy::compile(&filter(config), &stats).expect("compiles");
        assert_eq!(p.idle_timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn weighted_clusters_are_picked_by_weight() {
        let config = TcpProxyConfig {
            stat_prefix: "w".to_string(),
            cluster_specifier: Some(tcp_proxy::ClusterSpecifier::WeightedClusters(
                WeightedCluster {
                    clusters: vec![
                        ClusterWeight {
                            name: "a".to_string(),
                            weight: 1,
                            ..Default::default()
                        },
                        ClusterWeight {
                            name: "b".to_string(),
                            weight: 3,
                            ..Default::default()
                        },
                    ],
                },
            )),
            ..Default::default()
        };
        let p = TcpProxy::compile(&filter(config), &Stats::default()).expect("compiles");
        let picks: Vec<&str> = (0..8).map(|draw| p.cluster(draw)).collect();
        assert_eq!(picks, ["a", "b", "b", "b", "a", "b", "b", "b"]);
    }

    #[test]
    fn a_proxy_without_a_cluster_is_refused() {
        let config = TcpProxyConfig {
            stat_prefix: "none".to_string(),
            ..Default::default()
        };
        assert_eq!(
            TcpProxy::compile(&filter(config), &Stats::default()).err(),
            Some(TcpProxyError::NoCluster)
        );
        let bare = Filter {
            name: TCP_PROXY_FILTER.to_string(),
            config_type: None,
        };
        assert!(is_tcp_proxy(&bare));
        assert_eq!(
            TcpProxy::compile(&bare, &Stats::default()).err(),
            Some(TcpProxyError::NoConfig)
        );
    }

    /// Bytes are counted as they pass, before the connection ends.
    #[tokio::test]
    async fn bytes_are_counted_each_way_as_they_flow() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let metrics = IstioMetrics::default();
        let series = metrics.tcp(Key::default());
        let stats = TcpStats::default();
        let activity = Activity::new();
        let (near, mut far) = tokio::io::duplex(64);
        let mut counted = Counted {
            inner: near,
            series: &series,
            stats: &stats,
            activity: &activity,
        };
        far.write_all(b"hello").await.expect("write");
        let mut buf = [0u8; 16];
        let n = counted.read(&mut buf).await.expect("read");
        assert_eq!(n, 5);
        counted.write_all(b"hi").await.expect("write");
        assert_eq!(series.received.load(Ordering::Relaxed), 5);
        assert_eq!(series.sent.load(Ordering::Relaxed), 2);
        assert_eq!(stats.downstream_cx_rx_bytes_total.get(), 5);
        assert_eq!(stats.downstream_cx_tx_bytes_total.get(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn idleness_is_measured_from_the_last_byte() {
        let activity = Activity::new();
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(activity.idle_for() >= Duration::from_secs(3));
        activity.touch();
        assert!(activity.idle_for() < Duration::from_secs(1));
        // No timeout: never idle.
        let never = tokio::time::timeout(Duration::from_secs(7200), idle(&activity, None)).await;
        assert!(never.is_err());
    }
}
