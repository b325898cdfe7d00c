//! `ferryctl proxy-status` on a real local mesh: the table, `-v 1`, `-o json`, the diff of one
//! proxy (live, saved with `--file`, and over ADS with `--xds-address`), close matches for an
//! unknown proxy, a proxy that NACKs a listener it cannot bind, and two revisions side by side.
//! Each test has its own `FERRY_HOME`.

use serde_json::Value;

use crate::local_mesh::LocalMesh;
use crate::mesh::{Process, admin_get, free_port, http_request};

const GATEWAY: &str = "istio-ingressgateway.istio-system";

/// A Gateway on `port` (not 80: tests run side by side, each with its own gateway) and a
/// VirtualService bound to it, in the watched config directory.
fn route_gateway_port(mesh: &LocalMesh, port: u16) {
    let yaml = format!(
        "apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {{number: {port}, name: http, protocol: HTTP}}
    hosts: [\"example.com\"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
  namespace: istio-system
spec:
  hosts: [\"example.com\"]
  gateways: [\"gw\"]
  http:
  - route:
    - destination: {{host: example.org}}
"
    );
    // Through a rename, so the control plane never reads half a file.
    let tmp = mesh.root().join("gw.yaml.tmp");
    std::fs::write(&tmp, yaml).expect("write");
    std::fs::rename(&tmp, mesh.root().join("config/gw.yaml")).expect("rename");
}

/// The default table as Go's tabwriter (padding 5) lays it out, for rows of
/// (name, istiod, subscribed types) of proxies of this build.
fn table(rows: &[(&str, &str, &str)]) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let name = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4) + 5;
    let istiod = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(6) + 5;
    let version = v.len().max(7) + 5;
    let cluster = if rows.is_empty() { 12 } else { 15 };
    let mut out = format!(
        "{:<name$}{:<cluster$}{:<istiod$}{:<version$}SUBSCRIBED TYPES\n",
        "NAME", "CLUSTER", "ISTIOD", "VERSION"
    );
    for (n, i, types) in rows {
        out.push_str(&format!(
            "{n:<name$}{:<cluster$}{i:<istiod$}{v:<version$}{types}\n",
            "Kubernetes"
        ));
    }
    out
}

/// The cells of the `-v 1` row of `proxy`, by column name.
fn verbose_cells(text: &str, proxy: &str) -> Vec<(String, String)> {
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let row = lines
        .find(|l| l.starts_with(proxy))
        .unwrap_or_else(|| panic!("no row for {proxy}: {text}"));
    // Columns start where the header's names start.
    let starts: Vec<usize> = header
        .char_indices()
        .filter(|(i, c)| *c != ' ' && (*i == 0 || header.as_bytes()[i - 1] == b' '))
        .map(|(i, _)| i)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let e = starts
                .get(k + 1)
                .copied()
                .unwrap_or(row.len())
                .min(row.len());
            let name = header[s..starts.get(k + 1).copied().unwrap_or(header.len())].trim();
            (
                name.to_string(),
                row.get(s..e).unwrap_or("").trim().to_string(),
            )
        })
        .collect()
}

fn cell(cells: &[(String, String)], column: &str) -> String {
    cells
        .iter()
        .find(|(c, _)| c == column)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no column {column}: {cells:?}"))
}

#[test]
fn status_table_json_diff_and_a_nack_on_the_local_mesh() {
    let mesh = LocalMesh::new();
    let out = mesh.run(&["proxy-status", "--local"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "Error: no running Istio control plane in the local mesh at {}",
            mesh.root().display()
        )),
        "{stderr}"
    );

    mesh.install(&[]);
    let first_port = free_port();
    route_gateway_port(&mesh, first_port);
    let verbose = mesh.wait_for(&["ps", "--local", "-v", "1"], "routes synced", |t| {
        t.lines().any(|l| l.starts_with(GATEWAY)) && {
            let cells = verbose_cells(t, GATEWAY);
            cell(&cells, "RDS").starts_with("SYNCED (")
        }
    });
    let cells = verbose_cells(&verbose, GATEWAY);
    let columns: Vec<&str> = cells.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        columns,
        [
            "NAME", "CLUSTER", "CDS", "ECDS", "EDS", "LDS", "RDS", "ISTIOD", "VERSION"
        ]
    );
    for t in ["CDS", "LDS", "RDS"] {
        assert!(cell(&cells, t).starts_with("SYNCED ("), "{t}: {verbose}");
    }
    assert_eq!(cell(&cells, "ECDS"), "IGNORED");
    assert_eq!(cell(&cells, "ISTIOD"), "istiod");

    // Without --local and without a kubeconfig: the local mesh, said on stderr.
    let out = mesh.run(&["proxy-status"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        table(&[(GATEWAY, "istiod", "3 (CDS,LDS,RDS)")])
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "using the local mesh at {} (no kubeconfig found",
        mesh.root().display()
    )));
    // -n filters by the proxy's namespace; no proxies is the header alone.
    assert_eq!(mesh.ok(&["ps", "--local", "-n", "default"]), table(&[]));

    let json: Value = serde_json::from_str(&mesh.ok(&["ps", "--local", "-o", "json"]))
        .expect("one JSON document");
    assert_eq!(json["typeUrl"], "istio.io/debug/syncz");
    assert_eq!(json["resources"][0]["node"]["id"], GATEWAY);
    assert_eq!(
        json["resources"][0]["node"]["metadata"]["NAMESPACE"],
        "istio-system"
    );
    let configs = json["resources"][0]["genericXdsConfigs"]
        .as_array()
        .expect("configs");
    assert_eq!(configs.len(), 5, "{json:#}");
    let listener = configs
        .iter()
        .find(|c| c["typeUrl"] == "type.googleapis.com/envoy.config.listener.v3.Listener")
        .expect("LDS");
    assert_eq!(listener["configStatus"], "SYNCED");
    assert!(
        listener["lastUpdated"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let yaml = mesh.ok(&["ps", "--local", "-o", "yaml"]);
    assert!(yaml.contains("typeUrl: istio.io/debug/syncz"), "{yaml}");

    // One proxy: the control plane's intended config against the proxy's own.
    let diff = mesh.ok(&["ps", "--local", GATEWAY]);
    assert!(
        diff.starts_with("Clusters Match\nListeners Match\nRoutes Match (RDS last loaded at "),
        "{diff}"
    );
    assert!(diff.ends_with(" UTC)\n"), "{diff}");
    let by_namespace = mesh.ok(&[
        "ps",
        "--local",
        "-n",
        "istio-system",
        "pod/istio-ingressgateway",
    ]);
    assert!(
        by_namespace.starts_with("Clusters Match\n"),
        "{by_namespace}"
    );
    // A saved dump instead of the live proxy.
    let admin = mesh
        .record(&format!("proxies/{GATEWAY}.json"))
        .expect("record")["admin"]
        .as_str()
        .expect("admin")
        .to_string();
    let (code, dump) = admin_get(&admin, "/config_dump");
    assert_eq!(code, 200);
    let file = mesh.root().join("gw-dump.json");
    std::fs::write(&file, dump).expect("write");
    let saved = mesh.ok(&[
        "ps",
        "--local",
        GATEWAY,
        "--file",
        file.to_str().expect("utf-8"),
    ]);
    assert!(
        saved.starts_with("Clusters Match\nListeners Match\n"),
        "{saved}"
    );

    // A name that is not there: close matches.
    let out = mesh.run(&["ps", "--local", "istio-ingresgateway.istio-system"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did you mean istio-ingressgateway.istio-system?"),
        "{stderr}"
    );

    // The same over ADS, with istiod's debug types.
    let xds = mesh.record("revisions/default.json").expect("record")["xds"]
        .as_str()
        .expect("xds")
        .to_string();
    assert_eq!(
        mesh.ok(&["ps", "--xds-address", &xds]),
        table(&[(GATEWAY, "istiod", "3 (CDS,LDS,RDS)")])
    );
    let over_ads = mesh.ok(&["ps", "--xds-address", &xds, GATEWAY]);
    assert!(
        over_ads.starts_with("Clusters Match\nListeners Match\nRoutes Match"),
        "{over_ads}"
    );
    let ads_json: Value =
        serde_json::from_str(&mesh.ok(&["ps", "--xds-address", &xds, "-o", "json"])).expect("json");
    assert!(
        ads_json["controlPlane"]["identifier"]
            .as_str()
            .is_some_and(|id| id.contains("\"ID\":\"istiod\"")),
        "{ads_json:#}"
    );
    assert!(ads_json["nonce"].as_str().is_some_and(|n| !n.is_empty()));
    // The query itself is not listed as a proxy.
    assert_eq!(ads_json["resources"].as_array().map(Vec::len), Some(1));

    // What the gateway answers on its listener now (the route's destination has no endpoints,
    // so an error status, but the route's, not a refused connection).
    let served = format!("127.0.0.1:{first_port}");
    let answer = http_request(&served, "GET", "example.com", "/").map(|(status, _)| status);
    assert!(answer.is_some(), "the gateway serves on {served}");

    // A port another process holds: the gateway cannot bind it and NACKs the listeners.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().expect("addr").port();
    route_gateway_port(&mesh, port);
    let reason = format!("listener 0.0.0.0_{port}: cannot bind 0.0.0.0:{port}");
    let verbose = mesh.wait_for(&["ps", "--local", "-v", "1"], "the NACK", |t| {
        t.contains(&reason)
    });
    let lds = cell(&verbose_cells(&verbose, GATEWAY), "LDS");
    assert!(lds.starts_with(&format!("ERROR ({reason}")), "{verbose}");
    assert_eq!(
        mesh.ok(&["ps", "--local"]),
        table(&[(GATEWAY, "istiod", "3 (CDS,LDS,RDS)")]),
        "a type in ERROR is still subscribed"
    );
    let json: Value =
        serde_json::from_str(&mesh.ok(&["ps", "--xds-address", &xds, "-o", "json"])).expect("json");
    let listener = json["resources"][0]["genericXdsConfigs"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["typeUrl"] == "type.googleapis.com/envoy.config.listener.v3.Listener")
        })
        .expect("LDS")
        .clone();
    assert_eq!(listener["configStatus"], "ERROR");
    assert!(
        listener["errorState"]["details"]
            .as_str()
            .is_some_and(|d| d.contains(&reason)),
        "{listener:#}"
    );
    let diff = mesh.ok(&["ps", "--local", GATEWAY]);
    assert!(
        diff.contains("Listeners Don't Match\n--- Istiod Listeners\n+++ Envoy Listeners\n@@ "),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("-                     \"portValue\": {port}\n")),
        "{diff}"
    );
    // The last config the gateway accepted keeps serving.
    assert_eq!(
        http_request(&served, "GET", "example.com", "/").map(|(status, _)| status),
        answer,
        "after the NACK"
    );
    drop(held);
}

#[test]
fn two_revisions_each_list_their_own_proxies() {
    let mesh = LocalMesh::new();
    mesh.install(&[]);
    let out = mesh.run(&["install", "--local", "-y", "-r", "canary"]);
    assert!(out.status.success());
    // The canary install upgrades the ingress gateway in place, as Istio's canary upgrades do:
    // its new proxy on the canary control plane took over from the default one's.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "! {GATEWAY} moves from revision default in place: its new proxy takes over"
        )),
        "{stderr}"
    );
    assert_eq!(
        mesh.record(&format!("proxies/{GATEWAY}.json"))
            .expect("record")["revision"],
        "canary"
    );
    let log =
        std::fs::read_to_string(mesh.root().join("logs/supervisor-canary.log")).unwrap_or_default();
    assert!(
        log.contains(&format!(
            "{GATEWAY}: taking over from revision \"default\" in place"
        )),
        "{log}"
    );
    // A sidecar on the canary control plane.
    let canary_xds = mesh.record("revisions/canary.json").expect("record")["xds"]
        .as_str()
        .expect("xds")
        .to_string();
    let _sidecar = Process::start(&[
        "proxy",
        "sidecar",
        "--discovery-address",
        &canary_xds,
        "--admin-address",
        "127.0.0.1:0",
        "--pod-name",
        "reviews-v1",
        "--pod-namespace",
        "default",
    ]);
    let all = mesh.wait_for(&["ps", "--local"], "the sidecar", |t| {
        t.contains("reviews-v1.default")
    });
    let rows: Vec<(String, String)> = all
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0].to_string(), cells[2].to_string())
        })
        .collect();
    assert_eq!(
        rows,
        [
            (GATEWAY.to_string(), "istiod-canary".to_string()),
            (
                "reviews-v1.default".to_string(),
                "istiod-canary".to_string()
            )
        ],
        "{all}"
    );
    let canary = mesh.ok(&["ps", "--local", "-r", "canary"]);
    assert_eq!(canary.lines().count(), 3, "{canary}");
    assert!(canary.contains("reviews-v1.default"), "{canary}");
    let default = mesh.ok(&["ps", "--local", "--revision", "default"]);
    assert!(
        !default.contains(GATEWAY) && !default.contains("reviews"),
        "{default}"
    );
    let out = mesh.run(&["ps", "--local", "-r", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no running Istio control plane of revision \"nope\""),
    );
    // One JSON document per control plane, one after another.
    let json = mesh.ok(&["ps", "--local", "-o", "json"]);
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&json)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("json documents");
    assert_eq!(docs.len(), 2, "{json}");
    assert!(
        docs[1]["controlPlane"]["identifier"]
            .as_str()
            .is_some_and(|i| i.contains("istiod-canary"))
    );
}
