//! The README's first command: bookinfo's `reviews` on the local mesh. Starts (or reuses) the
//! default install, three sample apps as `reviews` v1/v2/v3 behind their sidecars (`ferryctl
//! workload run`: WorkloadEntry, ServiceEntry and Sidecar), applies the seed's Gateway, reviews VirtualService (bound to the Gateway) and
//! DestinationRule (plus the v3 subset the seed lacks), then sends real requests through the
//! ingress gateway and reports what answered. Everything it starts stays running for the user.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::local::home::{HOME_ENV, Home};
use crate::local::registry::{Registry, process_alive};

/// The host the seed's Gateway serves.
pub const HOST: &str = "bookinfo.example.com";
/// Where Istio's ingress gateway serves a Gateway's port 80.
pub const GATEWAY_PORT: u16 = 8080;
pub const VERSIONS: [&str; 3] = ["v1", "v2", "v3"];

const SEED_GATEWAY: &str = include_str!("../../fixtures/seed/bookinfo-gateway.yaml");
const SEED_ROUTING: &str = include_str!("../../fixtures/seed/reviews-routing.yaml");

/// Where earlier demos registered their sample apps; `workload run` registers them now.
pub const OLD_REGISTRY_FILE: &str = "demo-reviews-registry.yaml";

/// The demo's routing, written to the config directory: file name and content. The reviews
/// service and its workloads are registered by `workload run`.
pub fn config_files() -> Result<Vec<(&'static str, String)>> {
    // The Gateway document of the seed's file (the second document routes a productpage this
    // demo does not run).
    let gateway = SEED_GATEWAY
        .split("\n---\n")
        .next()
        .context("the seed's Gateway")?
        .to_string();
    let (vs, dr) = SEED_ROUTING
        .split_once("\n---\n")
        .context("the seed's VirtualService and DestinationRule")?;
    // Bound to the Gateway for its host, so the gateway routes it (the seed's rule is for
    // in-mesh callers of `reviews`).
    let bound = vs.replace(
        "  hosts:\n  - reviews  # Kubernetes Service 이름\n",
        &format!("  hosts:\n  - {HOST}\n  gateways:\n  - bookinfo-gateway\n"),
    );
    if bound == vs {
        bail!("the seed's reviews VirtualService changed shape");
    }
    let dr = format!(
        "{}\n  - name: v3\n    labels:\n      version: v3\n",
        dr.trim_end()
    );
    Ok(vec![
        ("demo-gateway.yaml", gateway),
        ("demo-reviews-virtualservice.yaml", bound),
        ("demo-reviews-destinationrule.yaml", dr),
    ])
}

/// Runs `reviews` v1, v2 and v3 as sample apps behind their sidecars, each by a detached
/// `ferryctl workload run` (its own process group, logging under the logs directory), unless
/// it runs already; waits until all are registered. Each version and its workload address.
pub fn ensure_workloads(home: &Home) -> Result<Vec<(String, SocketAddr)>> {
    use std::os::unix::process::CommandExt as _;
    let registry = Registry::at(home.clone());
    let exe = std::env::current_exe().context("locating the ferryctl executable")?;
    std::fs::create_dir_all(home.logs_dir())
        .with_context(|| format!("creating {}", home.logs_dir().display()))?;
    let running = |id: &str| -> Result<Option<SocketAddr>> {
        Ok(registry
            .workloads()?
            .into_iter()
            .find(|w| w.id() == id && w.running())
            .map(|w| w.address))
    };
    let mut started = Vec::new();
    for version in VERSIONS {
        let name = format!("reviews-{version}");
        let id = format!("{name}.default");
        if running(&id)?.is_some() {
            continue;
        }
        let log_path = home.logs_dir().join(format!("{id}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let err = log.try_clone().context("duplicating the log file")?;
        let exe_arg = exe.display().to_string();
        let child = std::process::Command::new(&exe)
            .args(["workload", "run", "--name", &name, "-n", "default"])
            .args(["--service", "reviews", "--port", "9080:http"])
            .args(["--labels", &format!("version={version}")])
            .args(["--", &exe_arg, "sample-app", "--service", "reviews"])
            .args(["--version", version])
            .env(HOME_ENV, home.root())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            // Its own process group: a Ctrl-C of the demo leaves the workloads running.
            .process_group(0)
            .spawn()
            .context("starting `ferryctl workload run`")?;
        started.push((id, child.id(), log_path));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for (id, pid, log) in &started {
        while running(id)?.is_none() {
            if !process_alive(*pid) || Instant::now() >= deadline {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                bail!(
                    "the workload {id} did not start; see {}:\n{}",
                    log.display(),
                    text.trim_end()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    VERSIONS
        .iter()
        .map(|v| {
            let id = format!("reviews-{v}.default");
            running(&id)?
                .map(|a| (v.to_string(), a))
                .with_context(|| format!("the workload {id} stopped"))
        })
        .collect()
}

/// Writes the demo's config files into `dir` (temp file + rename each, so the control plane
/// never reads half a file).
pub fn write_config(dir: &Path, files: &[(&str, String)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        crate::local::registry::write_atomically(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// What answered a batch of requests: version → count, plus failures by status.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub versions: BTreeMap<String, usize>,
    pub failures: BTreeMap<u16, usize>,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.versions.values().sum::<usize>() + self.failures.values().sum::<usize>()
    }
}

/// Sends `n` GETs to `gateway` with `Host: bookinfo.example.com` and `headers`, over one
/// keep-alive connection, and tallies the `version` the sample apps report.
pub async fn send(gateway: SocketAddr, n: usize, headers: &[(&str, &str)]) -> Result<Tally> {
    let stream = tokio::net::TcpStream::connect(gateway)
        .await
        .with_context(|| format!("connecting to the ingress gateway at {gateway}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake with the ingress gateway")?;
    tokio::spawn(conn);
    let mut tally = Tally::default();
    for _ in 0..n {
        let mut req = Request::get("/reviews/0").header("host", HOST);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .context("building a request")?;
        let resp = sender
            .send_request(req)
            .await
            .context("sending a request through the ingress gateway")?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .context("reading a response")?
            .to_bytes();
        let version = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["version"].as_str().map(str::to_string));
        match (status, version) {
            (200, Some(v)) => *tally.versions.entry(v).or_default() += 1,
            _ => *tally.failures.entry(status).or_default() += 1,
        }
    }
    Ok(tally)
}

/// Whether the gateway whose admin API is `admin` has a listener on `port` (so what answers on
/// that port is this gateway, not some other process holding it).
async fn listening(admin: SocketAddr, port: u16) -> bool {
    let Ok(body) =
        crate::proxyconfig::admin::request(admin, http::Method::GET, "/listeners?format=json")
            .await
    else {
        return false;
    };
    serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["listener_statuses"].as_array().map(|ls| {
                ls.iter().any(|l| {
                    l.pointer("/local_address/socket_address/port_value")
                        .and_then(Value::as_u64)
                        == Some(u64::from(port))
                })
            })
        })
        .unwrap_or(false)
}

/// Polls until the gateway (admin API at `admin`) listens on the gateway port and routes the
/// demo's host to a sample app, or `limit` passes.
pub async fn wait_routed(gateway: SocketAddr, admin: SocketAddr, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        if !listening(admin, gateway.port()).await {
            last = format!(
                "the gateway has no listener on port {} yet; if another process holds it, the \
                 gateway cannot bind it (its log says so)",
                gateway.port()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        match send(gateway, 1, &[]).await {
            Ok(t) if !t.versions.is_empty() => return Ok(()),
            Ok(t) => last = format!("status {:?}", t.failures.keys().collect::<Vec<_>>()),
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the ingress gateway did not route {HOST} within {limit:?} (last: {last}); see \
         `ferryctl proxy-status --local` and the logs under the local mesh's logs directory"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_the_seed_bound_to_its_gateway_and_valid() {
        let files = config_files().expect("files");
        let all: String = files.iter().map(|(_, t)| format!("{t}\n---\n")).collect();
        assert!(all.contains("gateways:\n  - bookinfo-gateway"));
        assert!(all.contains("- name: v3\n    labels:\n      version: v3"));
        assert!(!all.contains("productpage"));
        assert!(
            !all.contains("WorkloadEntry"),
            "workload run registers them"
        );
    }
}
