//! The local target end to end: `install --local` starts a supervisor that runs the control
//! plane and the ingress gateway as real processes; re-running is idempotent; a `kill -9` of a
//! component is noticed and the component restarted where it was; `uninstall --local` stops
//! everything and removes its state. Each test has its own `FERRY_HOME`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::eventually;
use crate::ferryctl;
use crate::local_mesh::LocalMesh;
use crate::mesh::{admin_get, http_request};

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
        == Some(false)
}

/// The ingress gateway binds port 8080 of the machine: tests that route through it take turns.
pub(crate) static GATEWAY_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

const CONTROL_PLANE: &str = "revisions/default.json";
const GATEWAY: &str = "proxies/istio-ingressgateway.istio-system.json";

#[test]
fn install_restart_and_uninstall_the_local_mesh() {
    let mesh = LocalMesh::new();
    let out = mesh
        .ferryctl()
        .args(["install", "--local", "-y"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for line in [
        "✔ Istio core installed ⛵️",
        "- Processing resources for Istiod. Waiting for Process/istiod",
        "✔ Istiod installed 🧠",
        "- Processing resources for Ingress gateways. Waiting for Process/istio-system/istio-ingressgateway",
        "✔ Ingress gateways installed 🛬",
        "✔ Installation complete",
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line:?} in {stderr}");
    }
    let cp = mesh.record(CONTROL_PLANE).expect("control plane recorded");
    let monitoring = cp["monitoring"].as_str().expect("address").to_string();
    assert_eq!(admin_get(&monitoring, "/ready").0, 200);
    let gw = mesh.record(GATEWAY).expect("gateway recorded");
    let admin = gw["admin"].as_str().expect("address").to_string();
    assert_eq!(admin_get(&admin, "/ready").0, 200);
    assert_eq!(gw["labels"]["istio"], "ingressgateway");
    // The gateway is connected to the control plane it was recorded with.
    let syncz = admin_get(&monitoring, "/debug/syncz").1;
    assert!(
        syncz.contains("istio-ingressgateway.istio-system"),
        "{syncz}"
    );
    assert!(
        mesh.root().join("revisions/default/manifest.yaml").exists(),
        "the rendered install is kept"
    );
    // version --remote (the default) reads the control plane and the proxies connected to it.
    let out = mesh
        .ferryctl()
        .args(["version", "--local"])
        .output()
        .expect("runs");
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "client version: {v}\ncontrol plane version: {v}\ndata plane version: {v} (1 proxy)\n"
        )
    );

    // The same install again changes nothing.
    let cp_pid = mesh.pid(CONTROL_PLANE).expect("pid");
    let out = mesh
        .ferryctl()
        .args(["install", "--local", "-y"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("already installed with the same settings"),
        "{stderr}"
    );
    assert_eq!(mesh.pid(CONTROL_PLANE), Some(cp_pid));

    // kill -9 of the control plane: restarted on the same address, the crash recorded.
    Command::new("kill")
        .args(["-9", &cp_pid.to_string()])
        .status()
        .expect("kill");
    eventually(
        Duration::from_secs(20),
        "the control plane's restart",
        || {
            mesh.pid(CONTROL_PLANE)
                .is_some_and(|p| p != cp_pid && alive(p))
                && admin_get(&monitoring, "/ready").0 == 200
        },
    );
    let cp = mesh.record(CONTROL_PLANE).expect("recorded");
    assert_eq!(cp["health"]["restarts"], 1);
    assert_eq!(cp["health"]["last_exit"], "signal: 9 (SIGKILL)");
    assert_eq!(cp["monitoring"].as_str(), Some(monitoring.as_str()));
    // verify-install says what happened.
    let out = mesh
        .ferryctl()
        .args(["verify-install", "--local"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "✔ Process: istiod.istio-system checked successfully (restarted 1 time, last exit: signal: 9 (SIGKILL))\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("✔ Istio is installed and verified successfully\n"),
        "{stdout}"
    );
    // The gateway reconnects to it.
    eventually(Duration::from_secs(20), "the gateway to resync", || {
        admin_get(&monitoring, "/debug/syncz")
            .1
            .contains("istio-ingressgateway.istio-system")
    });

    // kill -9 of the gateway: restarted too.
    let gw_pid = mesh.pid(GATEWAY).expect("pid");
    Command::new("kill")
        .args(["-9", &gw_pid.to_string()])
        .status()
        .expect("kill");
    eventually(Duration::from_secs(20), "the gateway's restart", || {
        mesh.pid(GATEWAY).is_some_and(|p| p != gw_pid && alive(p))
            && admin_get(&admin, "/ready").0 == 200
    });

    // Uninstall stops everything it started and removes the revision's state, nothing else.
    let cp_pid = mesh.pid(CONTROL_PLANE).expect("pid");
    let gw_pid = mesh.pid(GATEWAY).expect("pid");
    let supervisor: u32 =
        std::fs::read_to_string(mesh.root().join("revisions/default/supervisor.pid"))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
    std::fs::write(mesh.root().join("config/mine.yaml"), "# the user's\n").expect("write");
    let out = mesh
        .ferryctl()
        .args(["uninstall", "--local", "--revision", "default"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "  Removed Process/istiod.\n  Removed Process/istio-ingressgateway.istio-system.\n✔ Uninstall complete\n"
    );
    for pid in [cp_pid, gw_pid, supervisor] {
        assert!(!alive(pid), "{pid} stopped");
    }
    assert!(mesh.record(CONTROL_PLANE).is_none());
    assert!(mesh.record(GATEWAY).is_none());
    assert!(!mesh.root().join("revisions/default").exists());
    assert!(
        mesh.root().join("config/mine.yaml").exists(),
        "config is kept"
    );
}

#[test]
fn install_needs_the_local_target_and_uninstall_a_scope() {
    let mesh = LocalMesh::new();
    let out = mesh
        .ferryctl()
        .args(["install", "-y"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pass --local (or set FERRY_LOCAL=1)"),
        "{stderr}"
    );
    let out = mesh
        .ferryctl()
        .args(["uninstall", "--local"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let out = mesh
        .ferryctl()
        .args(["verify-install", "--local"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("! No Istio installation found"));
    // Declining the prompt changes nothing and exits 1, as istioctl's "Cancelled.".
    let out = mesh
        .ferryctl()
        .args(["install", "--local"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("Cancelled.\n"));
    assert!(!PathBuf::from(mesh.root()).join("revisions").exists());
}

/// The README's first command: everything up, the seed's routing observed through the gateway,
/// and everything stopped again by one uninstall.
#[test]
fn the_demo_routes_the_seed_config_through_the_local_gateway() {
    let _turn = GATEWAY_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let mesh = LocalMesh::new();
    let out = mesh
        .ferryctl()
        .args(["demo", "--requests", "2000"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let count = |version: &str, section: usize| -> usize {
        let part = stdout.split("requests").nth(section).unwrap_or("");
        part.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(&format!("reviews {version}"))
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    };
    let (v1, v3) = (count("v1", 1), count("v3", 1));
    assert_eq!(v1 + v3, 2000, "{stdout}");
    // 90/10 within 5 standard deviations (σ = √(2000·0.1·0.9) ≈ 13.4).
    assert!((v3 as i64 - 200).abs() <= 67, "v3 got {v3}: {stdout}");
    assert_eq!(count("v2", 2), 100, "{stdout}");
    assert!(
        stdout.contains("ferryctl uninstall --local --purge -y"),
        "{stdout}"
    );
    let workloads: Vec<u32> = ["v1", "v2", "v3"]
        .iter()
        .map(|v| {
            mesh.pid(&format!("workloads/reviews-{v}.default.json"))
                .expect("recorded")
        })
        .collect();
    let out = mesh
        .ferryctl()
        .args(["uninstall", "--local", "--purge", "-y"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    for pid in workloads {
        assert!(!alive(pid), "sample app {pid} stopped");
    }
    assert!(!mesh.root().exists(), "purge removes the home");
}

#[test]
fn tags_point_stable_names_at_installed_revisions() {
    let mesh = LocalMesh::new();
    for rev in ["1-24-0", "canary"] {
        let dir = mesh.root().join("revisions").join(rev);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("plan.json"), "{}").expect("plan");
    }
    let run = |args: &[&str]| mesh.outcome(&[&["--local"], args].concat());
    assert_eq!(run(&["tag", "list"]).1, "No Istio revision tags found.\n");
    let (code, stdout, _) = run(&["tag", "set", "prod", "--revision", "1-24-0"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with(
        "Revision tag \"prod\" created, referencing control plane revision \"1-24-0\"."
    ));
    let (code, _, stderr) = run(&["tag", "set", "prod", "--revision", "canary"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "Error: revision tag \"prod\" already exists, and --overwrite is false\n"
    );
    let (code, _, stderr) = run(&["tag", "set", "canary", "--revision", "canary"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("found existing control plane revision with same name"));
    let (code, _, stderr) = run(&["tag", "set", "x", "--revision", "nope"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("installed: 1-24-0, canary"), "{stderr}");
    // The local mesh has no webhook configuration for these to shape.
    for flag in [
        &["--webhook-name", "x-tag"][..],
        &["--auto-inject-namespaces"],
    ] {
        let (code, _, stderr) =
            run(&[&["tag", "set", "x", "--revision", "canary"][..], flag].concat());
        assert_eq!(code, Some(64), "{stderr}");
        assert!(
            stderr.contains("configure the tag's MutatingWebhookConfiguration in a cluster"),
            "{stderr}"
        );
    }
    run(&["tag", "set", "stable", "--revision", "canary"]);
    assert_eq!(
        run(&["tag", "list"]).1,
        "TAG    REVISION NAMESPACES\nprod   1-24-0   \nstable canary   \n"
    );
    assert_eq!(
        run(&["tag", "remove", "prod"]).1,
        "Revision tag prod removed\n"
    );
    let (_, json, _) = run(&["tag", "list", "-o", "json"]);
    let v: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        v,
        serde_json::json!([{"tag": "stable", "revision": "canary", "namespaces": []}])
    );
}

/// `tag generate` prints the tag's MutatingWebhookConfiguration, built from the manifest the
/// revision was installed with; it parses, and analyzes cleanly next to that manifest.
#[test]
fn tag_generate_prints_the_webhook_of_a_tag() {
    let mesh = LocalMesh::new();
    // A revision as `install --local -r canary` leaves it (its plan and rendered manifest),
    // without running it: generate only reads the manifest.
    let dir = mesh.root().join("revisions").join("canary");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("plan.json"), "{}").expect("plan");
    let manifest = ferryctl()
        .args(["manifest", "generate", "--set", "revision=canary"])
        .output()
        .expect("runs");
    assert!(manifest.status.success());
    let manifest_path = dir.join("manifest.yaml");
    std::fs::write(&manifest_path, &manifest.stdout).expect("manifest");

    let generate = |args: &[&str]| mesh.outcome(&[&["tag", "generate", "--local"], args].concat());
    let (code, yaml, stderr) = generate(&["prod", "-r", "canary"]);
    assert_eq!((code, stderr.as_str()), (Some(0), ""));

    let parsed = ferry::config::source::parse_file(
        "tag.yaml",
        &yaml,
        &ferry::config::source::LoadOptions::default(),
    );
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.resources.len(), 1);
    let stream = ferry::config::yaml::parse_stream(&yaml, Default::default());
    let mwc = stream.documents[0].root.to_json();
    assert_eq!(mwc["kind"], "MutatingWebhookConfiguration");
    assert_eq!(
        mwc["metadata"],
        serde_json::json!({
            "name": "istio-revision-tag-prod",
            "labels": {"istio.io/tag": "prod", "istio.io/rev": "canary", "app": "sidecar-injector"},
        })
    );
    let rev_in_prod =
        serde_json::json!({"key": "istio.io/rev", "operator": "In", "values": ["prod"]});
    assert_eq!(
        mwc["webhooks"][0]["name"],
        "rev.namespace.sidecar-injector.istio.io"
    );
    assert_eq!(
        mwc["webhooks"][0]["namespaceSelector"]["matchExpressions"][0],
        rev_in_prod
    );
    assert_eq!(
        mwc["webhooks"][1]["name"],
        "rev.object.sidecar-injector.istio.io"
    );
    assert_eq!(
        mwc["webhooks"][1]["objectSelector"]["matchExpressions"][1],
        rev_in_prod
    );
    assert_eq!(
        mwc["webhooks"][0]["clientConfig"]["service"]["name"],
        "istiod-canary"
    );

    // Next to the revision it points at, the webhook analyzer finds nothing wrong with it.
    let tag_path = mesh.root().join("tag.yaml");
    std::fs::write(&tag_path, &yaml).expect("tag.yaml");
    let out = ferryctl()
        .args(["analyze", "--use-kube=false"])
        .arg(&tag_path)
        .arg(&manifest_path)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("No validation issues found"));

    // A tag named like the revision overlaps it: said on stderr, printed anyway; -y is quiet.
    let (code, yaml, stderr) = generate(&["canary", "-r", "canary"]);
    assert_eq!(code, Some(0));
    assert!(yaml.contains("name: istio-revision-tag-canary\n"), "{yaml}");
    assert!(
        stderr.starts_with(
            "creating tag would conflict, pass --skip-confirmation to proceed:\nError [IST0139] \
             (MutatingWebhookConfiguration istio-revision-tag-canary) Webhook overlaps with others"
        ),
        "{stderr}"
    );
    assert_eq!(generate(&["canary", "-r", "canary", "-y"]).2, "");

    // Unknown revisions and existing tags are refused as `tag set` refuses them.
    let (code, _, stderr) = generate(&["prod", "-r", "nope"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("installed: canary"), "{stderr}");
    let out = mesh
        .ferryctl()
        .args(["tag", "set", "prod", "-r", "canary", "--local"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let (code, _, stderr) = generate(&["prod", "-r", "canary"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "Error: revision tag \"prod\" already exists, and --overwrite is false\n"
    );
    assert_eq!(
        generate(&["prod", "-r", "canary", "--overwrite"]).0,
        Some(0)
    );
}

/// `admin log` reads and changes the control plane's ControlZ scopes, and a change shows in what
/// the running control plane logs.
#[test]
fn admin_log_changes_the_control_plane_scopes() {
    let mesh = LocalMesh::new();
    let out = mesh
        .ferryctl()
        .args(["install", "--local", "-y"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let run = |args: &[&str]| mesh.outcome(&[&["admin", "log", "--local"], args].concat());
    assert_eq!(
        run(&[]).1,
        "ACTIVE SCOPE   DESCRIPTION                  LOG LEVEL   STACK TRACE LEVEL\n\
         ads            ads debugging                info        none\n\
         default        Unscoped logging messages.   info        none\n"
    );
    let log = mesh.root().join("logs/istiod.log");
    let debug_lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("DEBUG"))
            .count()
    };
    assert_eq!(debug_lines(), 0);
    assert_eq!(run(&["--level", "ads:debug"]).0, Some(0));
    let (_, json, _) = run(&["-o", "json"]);
    let v: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v[0]["scope_name"], "ads");
    assert_eq!(v[0]["log_level"], "debug");
    // A config change makes the xDS server push, which it now logs at debug.
    std::fs::write(
        mesh.root().join("config/se.yaml"),
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ext\n  namespace: default\nspec:\n  hosts: [ext.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n",
    )
    .expect("write");
    eventually(
        Duration::from_secs(10),
        "debug lines from the ads scope",
        || debug_lines() > 0,
    );
    let (code, _, stderr) = run(&["--level", "model:debug"]);
    assert_eq!(code, Some(64));
    assert!(stderr.contains("scopes are ads, default"), "{stderr}");
    let (code, _, stderr) = run(&["--level", "ads:loud"]);
    assert_eq!(code, Some(64));
    assert_eq!(stderr, "Error: pattern ads:loud did not match\n");
    assert_eq!(run(&["--reset"]).0, Some(0));
    assert!(
        run(&[])
            .1
            .contains("ads            ads debugging                info")
    );
}

/// `GET path` on `addr` with a `Host` header: status and body.
fn http_get(addr: &str, host: &str, path: &str) -> Option<(u16, String)> {
    http_request(addr, "GET", host, path)
}

/// Whether this mesh's gateway serves 8080 (its listener is bound there, not rejected).
fn gateway_port_is_ours(mesh: &LocalMesh) -> bool {
    let Some(gw) = mesh.record(GATEWAY) else {
        return false;
    };
    let admin = gw["admin"].as_str().unwrap_or_default().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if admin_get(&admin, "/listeners").1.contains(":8080") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

const ROUTE: &str = "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: wl, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [wl.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wl, namespace: default}
spec:
  hosts: [wl.example.com]
  gateways: [wl]
  http:
  - route:
    - destination: {host: reviews.default.svc.cluster.local}
";

/// `workload run`: the app behind its own sidecar, registered the Istio way, reached through
/// the gateway; SIGTERM deregisters it and passes the app's exit on.
#[test]
fn a_workload_runs_behind_its_sidecar_until_sigterm() {
    let _turn = GATEWAY_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let mesh = LocalMesh::new();
    let out = mesh
        .ferryctl()
        .args([
            "workload",
            "run",
            "--name",
            "reviews-v1",
            "--service",
            "reviews",
        ])
        .args(["--port", "9080", "--", "true"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`ferryctl install --local`"), "{stderr}");

    let out = mesh
        .ferryctl()
        .args(["install", "--local", "-y"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(mesh.root().join("config/wl-route.yaml"), ROUTE).expect("write");
    let (mut run, log) = mesh.run_reviews_v1();
    let record = "workloads/reviews-v1.default.json";
    eventually(
        Duration::from_secs(30),
        "the workload's registration",
        || mesh.record(record).is_some(),
    );
    let workload = mesh.record(record).expect("recorded");
    assert!(
        workload["address"]
            .as_str()
            .expect("address")
            .ends_with(":9080")
    );
    for file in [
        "config/workloadentry-default-reviews-v1.yaml",
        "config/sidecar-default-reviews-v1.yaml",
        "config/serviceentry-default-reviews.yaml",
    ] {
        assert!(mesh.root().join(file).exists(), "{file}");
    }
    // Another mesh on this machine may hold the gateway's port; then the request goes to the
    // workload's address, which is its sidecar's inbound listener, as the gateway would send it.
    let entry = workload["address"].as_str().expect("address").to_string();
    let target = if gateway_port_is_ours(&mesh) {
        "127.0.0.1:8080".to_string()
    } else {
        eprintln!("port 8080 is another process's; requesting {entry} directly");
        entry
    };
    let mut body = String::new();
    eventually(
        Duration::from_secs(20),
        "the gateway to route to the workload",
        || match http_get(&target, "wl.example.com", "/hello") {
            Some((200, b)) => {
                body = b;
                true
            }
            _ => false,
        },
    );
    assert!(body.contains("\"version\": \"v1\""), "{body}");
    // Through its sidecar: the inbound listener on the workload's address counted the request.
    let sidecar = mesh
        .record("proxies/reviews-v1.default.json")
        .expect("sidecar");
    assert_eq!(sidecar["role"], "sidecar");
    let admin = sidecar["admin"].as_str().expect("admin").to_string();
    let stats = admin_get(&admin, "/stats").1;
    let served = stats
        .lines()
        .find_map(|l| l.strip_prefix("cluster.inbound|9080||.upstream_rq_total: "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(served >= 1, "{stats}");
    let out = mesh
        .ferryctl()
        .args(["proxy-config", "cluster", "reviews-v1"])
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains("9080") && l.contains("inbound") && l.contains("STATIC")),
        "{table}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = run.wait().expect("exits");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    // The sample app ends by SIGTERM: 128 + 15, as a shell reports it.
    assert_eq!(exit.code(), Some(143), "{text}");
    for file in [
        "config/workloadentry-default-reviews-v1.yaml",
        "config/sidecar-default-reviews-v1.yaml",
        "config/serviceentry-default-reviews.yaml",
        record,
        "proxies/reviews-v1.default.json",
    ] {
        assert!(!mesh.root().join(file).exists(), "{file} removed: {text}");
    }
    let app = workload["app_pid"].as_u64().expect("app pid") as u32;
    assert!(!alive(app), "the app stopped");
    assert!(
        !alive(sidecar["pid"].as_u64().expect("pid") as u32),
        "the sidecar stopped"
    );
}

/// Requests sent by [`steady_load`] and how they ended.
#[derive(Debug, Default)]
struct LoadCounts {
    ok: std::sync::atomic::AtomicU64,
    not_2xx: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
    /// The first few failures, for the assertion message.
    errors: std::sync::Mutex<Vec<String>>,
}

impl LoadCounts {
    fn fail(&self, what: String) {
        use std::sync::atomic::Ordering;
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        if errors.len() < 10 {
            errors.push(what);
        }
    }
}

/// `clients` keep-alive HTTP/1.1 clients (hyper's), each sending `GET /` with `host` to
/// `target` back to back until `stop`. A client opens a new connection only when the last one
/// ended (a `Connection: close` response, or the server closed it while idle); it never
/// retries a request, so every dropped request is counted.
fn steady_load(
    target: std::net::SocketAddr,
    host: &'static str,
    clients: usize,
    counts: std::sync::Arc<LoadCounts>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    use http_body_util::{BodyExt as _, Empty};
    use hyper::body::Bytes;
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..clients {
                let counts = counts.clone();
                let stop = stop.clone();
                tasks.spawn(async move {
                    let mut sender: Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> =
                        None;
                    while !stop.load(Ordering::Relaxed) {
                        let usable = match sender.as_mut() {
                            Some(s) => s.ready().await.is_ok(),
                            None => false,
                        };
                        if !usable {
                            let stream = match tokio::net::TcpStream::connect(target).await {
                                Ok(s) => s,
                                Err(e) => {
                                    counts.fail(format!("connect: {e}"));
                                    tokio::time::sleep(Duration::from_millis(10)).await;
                                    continue;
                                }
                            };
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let (s, conn) = match hyper::client::conn::http1::handshake(io).await {
                                Ok(pair) => pair,
                                Err(e) => {
                                    counts.fail(format!("handshake: {e}"));
                                    continue;
                                }
                            };
                            tokio::spawn(conn);
                            sender = Some(s);
                        }
                        let Some(s) = sender.as_mut() else { continue };
                        let req = hyper::Request::get("/")
                            .header("host", host)
                            .body(Empty::new())
                            .expect("request");
                        match s.send_request(req).await {
                            Ok(resp) => {
                                let status = resp.status();
                                match resp.into_body().collect().await {
                                    Ok(_) if status.is_success() => {
                                        counts.ok.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Ok(_) => {
                                        counts.not_2xx.fetch_add(1, Ordering::Relaxed);
                                        counts.fail(format!("status {status}"));
                                    }
                                    Err(e) => counts.fail(format!("body: {e}")),
                                }
                            }
                            Err(e) => {
                                counts.fail(format!("request: {e}"));
                                sender = None;
                            }
                        }
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
        });
    })
}

/// Istio's canary upgrade on the local mesh under a steady load through the ingress gateway to
/// a workload: `install -r canary` moves the gateway to the canary control plane in place,
/// `workload restart --revision canary` moves the workload's sidecar, `uninstall --revision
/// default` removes the old control plane; not one request fails or gets a non-2xx answer.
#[test]
fn a_canary_upgrade_under_load_drops_no_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mesh = LocalMesh::new();
    let out = mesh
        .ferryctl()
        .args(["install", "--local", "-y"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A port of its own (not 80 → 8080, which other tests' gateways want): the gateway binds a
    // Gateway server's unmapped port as it is.
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let route = ROUTE
        .replace("number: 80,", &format!("number: {port},"))
        .replace("wl.example.com", "canary.example.com");
    std::fs::write(mesh.root().join("config/route.yaml"), route).expect("write");
    let (mut run, _) = mesh.run_reviews_v1();
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    eventually(
        Duration::from_secs(30),
        "the route through the gateway",
        || {
            matches!(
                http_get(&target.to_string(), "canary.example.com", "/"),
                Some((200, _))
            )
        },
    );
    let old_gateway = mesh.pid(GATEWAY).expect("gateway pid");
    let old_sidecar = mesh
        .pid("proxies/reviews-v1.default.json")
        .expect("sidecar pid");

    let counts = Arc::new(LoadCounts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let load = steady_load(
        target,
        "canary.example.com",
        4,
        counts.clone(),
        stop.clone(),
    );
    let served = |c: &LoadCounts| c.ok.load(Ordering::Relaxed);
    let step = |what: &str, args: &[&str]| {
        let before = served(&counts);
        let out = mesh.ferryctl().args(args).output().expect("runs");
        assert!(
            out.status.success(),
            "{what}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            mesh.logs()
        );
        // The load keeps flowing after each step.
        eventually(Duration::from_secs(5), what, || {
            served(&counts) > before + 100
        });
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    eventually(Duration::from_secs(5), "the load to start", || {
        served(&counts) > 100
    });
    let stderr = step(
        "install -r canary",
        &[
            "install",
            "--local",
            "-y",
            "-r",
            "canary",
            "--readiness-timeout",
            "60s",
        ],
    );
    assert!(
        stderr.contains("moves from revision default in place"),
        "{stderr}"
    );
    assert_eq!(mesh.record(GATEWAY).expect("gateway")["revision"], "canary");
    step(
        "workload restart",
        &["workload", "restart", "reviews-v1", "--revision", "canary"],
    );
    let sidecar = mesh
        .record("proxies/reviews-v1.default.json")
        .expect("sidecar");
    assert_eq!(sidecar["revision"], "canary");
    assert_eq!(sidecar["labels"]["istio.io/rev"], "canary");
    step(
        "uninstall --revision default",
        &["uninstall", "--local", "--revision", "default", "-y"],
    );
    stop.store(true, Ordering::Relaxed);
    load.join().expect("the load ran");

    let ok = served(&counts);
    let failed = counts.failed.load(Ordering::Relaxed);
    let errors = counts.errors.lock().expect("errors").clone();
    eprintln!("canary upgrade under load: {ok} requests answered 2xx, {failed} failed");
    assert_eq!(failed, 0, "{errors:?}");
    assert_eq!(counts.not_2xx.load(Ordering::Relaxed), 0);
    // The old proxies drained and exited; both proxies are on the canary control plane alone.
    eventually(Duration::from_secs(15), "the old proxies to exit", || {
        !alive(old_gateway) && !alive(old_sidecar)
    });
    let out = mesh
        .ferryctl()
        .args(["proxy-status", "--local"])
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|r| r.contains("istiod-canary")), "{table}");
    assert!(
        mesh.record(CONTROL_PLANE).is_none(),
        "the old control plane is gone"
    );

    let _ = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let _ = run.wait();
}
