//! `ferryctl proxy-config` on saved Envoy dumps (real Envoy's, from istioctl's test data) and on a
//! live `ferryctl proxy router`, by file and through the local registry.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry::local::home::Home;
use ferry::local::registry::{ProxyRecord, ProxyRole, Registry};

use crate::mesh::{admin_get, backend, free_port, start_discovery, start_router, write_config};
use crate::{ferryctl, transcript};

const FULL: &str = "fixtures/envoy/config-dump-full.json";
const CLR: &str = "fixtures/envoy/config-dump-clusters-listeners-routes.json";

fn pc(args: &[&str]) -> String {
    transcript(ferryctl().arg("proxy-config").args(args))
}

#[test]
fn all_matches_istioctl_golden_output() {
    let out = ferryctl().args(["pc", "all", "-f", FULL]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let want = std::fs::read_to_string("fixtures/envoy/istioctl-all-summary.txt").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

#[test]
fn tables_of_a_real_envoy() {
    insta::assert_snapshot!("cluster", pc(&["cluster", "-f", FULL]));
    insta::assert_snapshot!(
        "cluster_port",
        pc(&["clusters", "-f", FULL, "--port", "8000"])
    );
    insta::assert_snapshot!("listener", pc(&["listener", "-f", CLR]));
    insta::assert_snapshot!("listener_short", pc(&["l", "-f", CLR, "--verbose=false"]));
    insta::assert_snapshot!("route", pc(&["routes", "-f", CLR]));
    insta::assert_snapshot!("eds", pc(&["eds", "-f", FULL]));
    insta::assert_snapshot!("bootstrap_short", pc(&["b", "-f", FULL, "-o", "short"]));
}

#[test]
fn json_and_yaml_use_protojson_names() {
    let json = pc(&["route", "-f", CLR, "-o", "json"]);
    assert!(
        json.starts_with("exit: 0\n--- stdout\n[\n    {\n"),
        "{json}"
    );
    assert!(json.contains("\"virtualHosts\": ["), "{json}");
    let yaml = pc(&["route", "-f", CLR, "-o", "yaml"]);
    assert!(yaml.contains("\n  virtualHosts:\n"), "{yaml}");
}

#[test]
fn argument_and_input_errors() {
    insta::assert_snapshot!("no_source", pc(&["cluster"]));
    insta::assert_snapshot!("bad_output", pc(&["cluster", "-f", FULL, "-o", "xml"]));
    insta::assert_snapshot!("endpoint_of_a_dump", pc(&["endpoint", "-f", FULL]));
    insta::assert_snapshot!("missing_file", pc(&["route", "-f", "no/such.json"]));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"configs\": [\n    {\"@type\": }\n]}\n").unwrap();
    let out = pc(&["cluster", "-f", bad.to_str().unwrap()]);
    assert!(
        out.contains("bad.json: line 3 column 15: not valid JSON"),
        "{out}"
    );
    assert!(out.starts_with("exit: 1\n"), "{out}");
    let not_dump = dir.path().join("list.json");
    std::fs::write(&not_dump, "[1, 2]").unwrap();
    let out = pc(&["listener", "-f", not_dump.to_str().unwrap()]);
    assert!(out.contains("not an Envoy config dump"), "{out}");
    insta::assert_snapshot!("log_without_target", pc(&["log"]));
}

fn wait_for_dump(admin: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, body) = admin_get(admin, "/config_dump?include_eds=true");
        if code == 200
            && body.contains("dynamic_route_configs")
            && body.contains("dynamic_listeners")
        {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no routes in the router's dump: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real control plane and router: the router's own dump, saved, reads with `-f`; the router
/// registered in a local mesh home answers the same tables by name, and `log` changes its levels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_router_by_file_and_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let reviews = backend("reviews-v1").await;
    write_config(dir.path(), free_port(), free_port(), &[("v1", reviews)]);
    let grpc = free_port();
    let (_discovery, _debug) = start_discovery(dir.path(), grpc);
    let (router, admin) = start_router(grpc);

    let dump = tokio::task::spawn_blocking({
        let admin = admin.clone();
        move || wait_for_dump(&admin)
    })
    .await
    .unwrap();
    let file = dir.path().join("dump.json");
    std::fs::write(&file, &dump).unwrap();
    let file = file.to_str().unwrap();

    let mut by_file = BTreeMap::new();
    for sub in ["cluster", "listener", "route", "all", "secret", "bootstrap"] {
        let out = ferryctl().args(["pc", sub, "-f", file]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{sub}: {stderr}");
        by_file.insert(sub, String::from_utf8_lossy(&out.stdout).into_owned());
    }
    assert!(
        by_file["cluster"].starts_with("SERVICE FQDN"),
        "{}",
        by_file["cluster"]
    );
    assert!(
        by_file["cluster"].contains("reviews"),
        "{}",
        by_file["cluster"]
    );
    assert!(
        by_file["listener"].starts_with("ADDRESSES PORT"),
        "{}",
        by_file["listener"]
    );
    assert!(
        by_file["route"].contains("reviews.default"),
        "{}",
        by_file["route"]
    );

    // The same proxy by name, through a registry record.
    let home = tempfile::tempdir().unwrap();
    let record = ProxyRecord {
        name: "istio-ingressgateway".into(),
        namespace: "istio-system".into(),
        role: ProxyRole::Router,
        revision: "default".into(),
        admin: admin.parse().unwrap(),
        discovery: format!("127.0.0.1:{grpc}").parse().unwrap(),
        labels: BTreeMap::from([("istio".to_string(), "ingressgateway".to_string())]),
        pid: router.pid(),
        log: None,
        health: Default::default(),
    };
    Registry::at(Home::at(home.path()))
        .write_proxy(&record)
        .unwrap();
    let named = |args: &[&str]| {
        ferryctl()
            .env("FERRY_HOME", home.path())
            .args(args)
            .output()
            .unwrap()
    };
    for sub in ["cluster", "listener", "route"] {
        let out = named(&["pc", sub, "istio-ingressgateway.istio-system"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            by_file[sub],
            "{sub} by name"
        );
    }
    let out = named(&["pc", "cluster", "istio-ingressgatewy", "-n", "istio-system"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("did you mean istio-ingressgateway.istio-system"),
        "{stderr}"
    );

    let out = named(&[
        "pc",
        "log",
        "-n",
        "istio-system",
        "-l",
        "istio=ingressgateway",
        "--level",
        "http:debug",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("istio-ingressgateway.istio-system:\nactive loggers:\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  http: debug\n"), "{stdout}");
    let out = named(&[
        "pc",
        "log",
        "istio-ingressgateway.istio-system",
        "--level",
        "nosuch:debug",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("unrecognized logger name: nosuch (valid loggers: "),
        "{stderr}"
    );
    let out = named(&["pc", "log", "istio-ingressgateway.istio-system", "-r"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("  http: warning\n"));
    assert!(Path::new(file).exists());
}
