use std::collections::BTreeMap;

use super::*;
use crate::proxy::telemetry::flags::Flag;

fn workload(name: &str, app: &str, version: &str) -> Workload {
    let labels = BTreeMap::from([
        ("app".to_string(), app.to_string()),
        ("version".to_string(), version.to_string()),
    ]);
    Workload::from_labels(name, "default", "Kubernetes", &labels)
}

fn metrics() -> IstioMetrics {
    let m = IstioMetrics::default();
    m.set_local(
        workload("productpage-v1", "productpage", "v1"),
        "sidecar~10.0.0.1~productpage-v1-abc.default~default.svc.cluster.local",
        "productpage-v1-abc",
    );
    m
}

fn sample<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
}

#[test]
fn a_source_report_carries_istios_labels_in_order() {
    let m = metrics();
    let reviews = m.peer(workload("reviews-v2", "", ""));
    let service = m.service(Service {
        host: "reviews.default.svc.cluster.local".into(),
        name: "reviews".into(),
        namespace: "default".into(),
    });
    let key = Key {
        peer: reviews,
        service,
        code: 200,
        ..Key::default()
    };
    for ms in [0.2, 3.0, 700.0] {
        m.record(
            key,
            Observation {
                duration: Duration::from_secs_f64(ms / 1000.0),
                request_bytes: 100,
                response_bytes: 2000,
            },
        );
    }
    let mut text = String::new();
    m.render(&mut text);
    let labels = "reporter=\"source\",source_workload=\"productpage-v1\",\
        source_canonical_service=\"productpage\",source_canonical_revision=\"v1\",\
        source_workload_namespace=\"default\",source_principal=\"unknown\",\
        source_app=\"productpage\",source_version=\"v1\",source_cluster=\"Kubernetes\",\
        destination_workload=\"reviews-v2\",destination_workload_namespace=\"default\",\
        destination_principal=\"unknown\",destination_app=\"unknown\",\
        destination_version=\"unknown\",\
        destination_service=\"reviews.default.svc.cluster.local\",\
        destination_canonical_service=\"reviews-v2\",destination_canonical_revision=\"latest\",\
        destination_service_name=\"reviews\",destination_service_namespace=\"default\",\
        destination_cluster=\"Kubernetes\",request_protocol=\"http\",response_code=\"200\",\
        grpc_response_status=\"\",response_flags=\"-\",connection_security_policy=\"unknown\"";
    assert!(
        text.contains(&format!("istio_requests_total{{{labels}}} 3\n")),
        "{text}"
    );
    let bucket = |name: &str, le: &str| {
        sample(&text, &format!("{name}_bucket{{{labels},le=\"{le}\"}}")).map(str::to_string)
    };
    let d = "istio_request_duration_milliseconds";
    assert_eq!(bucket(d, "0.5").as_deref(), Some("1"));
    assert_eq!(bucket(d, "5").as_deref(), Some("2"));
    assert_eq!(bucket(d, "500").as_deref(), Some("2"));
    assert_eq!(bucket(d, "1000").as_deref(), Some("3"));
    assert_eq!(bucket(d, "+Inf").as_deref(), Some("3"));
    assert_eq!(
        sample(&text, &format!("{d}_sum{{{labels}}}")),
        Some("703.2")
    );
    assert_eq!(sample(&text, &format!("{d}_count{{{labels}}}")), Some("3"));
    let r = "istio_response_bytes";
    assert_eq!(bucket(r, "1000").as_deref(), Some("0"));
    assert_eq!(bucket(r, "2500").as_deref(), Some("3"));
    assert_eq!(sample(&text, &format!("{r}_sum{{{labels}}}")), Some("6000"));
    assert_eq!(
        sample(&text, &format!("istio_request_bytes_sum{{{labels}}}")),
        Some("300")
    );
    for family in [
        "# TYPE istio_requests_total counter",
        "# TYPE istio_request_duration_milliseconds histogram",
        "# TYPE istio_request_bytes histogram",
        "# TYPE istio_response_bytes histogram",
    ] {
        assert_eq!(text.matches(family).count(), 1, "{family} in\n{text}");
    }
}

#[test]
fn a_destination_report_names_the_caller_and_itself() {
    let m = metrics();
    let caller = workload("gateway", "istio-ingressgateway", "");
    let header = caller.exchange_header("gateway-abc");
    let peer = m.peer_from_exchange(header.as_bytes(), None);
    assert_eq!(
        m.peer_from_exchange(header.as_bytes(), None),
        peer,
        "cached"
    );
    assert_eq!(m.peer_from_exchange(b"garbage", None), 0);
    let mut flags = ResponseFlags::default();
    flags.set(Flag::UpstreamConnectionFailure);
    m.record(
        Key {
            reporter: Reporter::Destination,
            peer,
            code: 503,
            flags,
            security: Security::None,
            ..Key::default()
        },
        Observation::default(),
    );
    let snapshot = m.snapshot();
    let (labels, totals) = &snapshot[0];
    let get = |k: &str| {
        labels
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(totals.requests, 1);
    assert_eq!(get("reporter"), Some("destination"));
    assert_eq!(get("source_workload"), Some("gateway"));
    assert_eq!(get("source_app"), Some("istio-ingressgateway"));
    assert_eq!(get("destination_workload"), Some("productpage-v1"));
    // No cluster metadata: the server's own canonical service.
    assert_eq!(get("destination_service"), Some("productpage"));
    assert_eq!(get("destination_service_namespace"), Some("default"));
    assert_eq!(get("response_flags"), Some("UF"));
    assert_eq!(get("connection_security_policy"), Some("none"));
}

/// Over mutual TLS the caller's principal is its certificate's, never the header's: the same
/// header from two identities names two peers.
#[test]
fn an_mtls_callers_principal_comes_from_its_certificate() {
    let m = metrics();
    let header = workload("sleep", "sleep", "").exchange_header("sleep-abc");
    let sleep = "spiffe://cluster.local/ns/default/sa/sleep";
    let peer = m.peer_from_exchange(header.as_bytes(), Some(sleep));
    assert_ne!(peer, m.peer_from_exchange(header.as_bytes(), None));
    assert_eq!(m.peer_from_exchange(header.as_bytes(), Some(sleep)), peer);
    m.record(
        Key {
            reporter: Reporter::Destination,
            peer,
            code: 200,
            security: Security::MutualTls,
            ..Key::default()
        },
        Observation::default(),
    );
    let snapshot = m.snapshot();
    let (labels, _) = &snapshot[0];
    let get = |k: &str| {
        labels
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("source_principal"), Some(sleep));
    assert_eq!(get("connection_security_policy"), Some("mutual_tls"));
}

#[test]
fn threads_report_into_their_own_slots_and_a_scrape_sums_them() {
    let m = Arc::new(metrics());
    let key = Key {
        code: 200,
        ..Key::default()
    };
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    m.record(key, Observation::default());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let snapshot = m.snapshot();
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].1.requests, 4000);
    assert_eq!(snapshot[0].1.duration.0.iter().sum::<u64>(), 4000);
}

#[test]
fn registries_do_not_share_thread_caches() {
    let key = Key::default();
    let a = metrics();
    a.record(key, Observation::default());
    let b = metrics();
    b.record(key, Observation::default());
    b.record(key, Observation::default());
    assert_eq!(a.snapshot()[0].1.requests, 1);
    assert_eq!(b.snapshot()[0].1.requests, 2);
}

#[test]
fn nothing_is_rendered_before_the_first_request() {
    let mut text = String::new();
    metrics().render(&mut text);
    assert_eq!(text, "");
}

#[test]
fn tcp_series_carry_istios_tcp_labels_and_render_as_counters() {
    let m = metrics();
    let reviews = m.peer(workload("reviews-v2", "reviews", "v2"));
    let service = m.service(Service {
        host: "reviews.default.svc.cluster.local".into(),
        name: "reviews".into(),
        namespace: "default".into(),
    });
    // Codes are no labels of TCP metrics: both keys report into one series.
    let key = Key {
        peer: reviews,
        service,
        ..Key::default()
    };
    let series = m.tcp(key);
    assert!(Arc::ptr_eq(&series, &m.tcp(Key { code: 200, ..key })));
    series.opened.fetch_add(1, Ordering::Relaxed);
    series.received.fetch_add(10, Ordering::Relaxed);
    series.sent.fetch_add(25, Ordering::Relaxed);
    let mut flags = ResponseFlags::default();
    flags.set(Flag::UpstreamConnectionFailure);
    let failed = m.tcp(Key { flags, ..key });
    failed.opened.fetch_add(1, Ordering::Relaxed);
    failed.closed.fetch_add(1, Ordering::Relaxed);
    let mut text = String::new();
    m.render(&mut text);
    // No HTTP request yet: only the TCP families.
    assert!(!text.contains("istio_requests_total"), "{text}");
    let labels = "reporter=\"source\",source_workload=\"productpage-v1\",\
        source_canonical_service=\"productpage\",source_canonical_revision=\"v1\",\
        source_workload_namespace=\"default\",source_principal=\"unknown\",\
        source_app=\"productpage\",source_version=\"v1\",source_cluster=\"Kubernetes\",\
        destination_workload=\"reviews-v2\",destination_workload_namespace=\"default\",\
        destination_principal=\"unknown\",destination_app=\"reviews\",destination_version=\"v2\",\
        destination_service=\"reviews.default.svc.cluster.local\",\
        destination_canonical_service=\"reviews\",destination_canonical_revision=\"v2\",\
        destination_service_name=\"reviews\",destination_service_namespace=\"default\",\
        destination_cluster=\"Kubernetes\",request_protocol=\"tcp\",response_flags=\"-\",\
        connection_security_policy=\"unknown\"";
    for (metric, value) in [
        ("istio_tcp_connections_opened_total", "1"),
        ("istio_tcp_connections_closed_total", "0"),
        ("istio_tcp_received_bytes_total", "10"),
        ("istio_tcp_sent_bytes_total", "25"),
    ] {
        assert_eq!(
            sample(&text, &format!("{metric}{{{labels}}}")),
            Some(value),
            "{text}"
        );
        assert!(
            text.contains(&format!("# TYPE {metric} counter\n")),
            "{text}"
        );
    }
    let uf = labels.replace("response_flags=\"-\"", "response_flags=\"UF\"");
    assert_eq!(
        sample(
            &text,
            &format!("istio_tcp_connections_closed_total{{{uf}}}")
        ),
        Some("1"),
        "{text}"
    );
}
