//! The README's first command: bookinfo's `reviews` on the local mesh. Starts (or reuses) the
//! default install, three sample apps as `reviews` v1/v2/v3 registered by WorkloadEntry and
//! ServiceEntry, applies the seed's Gateway, reviews VirtualService (bound to the Gateway) and
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
use crate::local::registry::{Registry, WorkloadRecord, process_alive};

/// The host the seed's Gateway serves.
pub const HOST: &str = "bookinfo.example.com";
/// Where Istio's ingress gateway serves a Gateway's port 80.
pub const GATEWAY_PORT: u16 = 8080;
pub const VERSIONS: [&str; 3] = ["v1", "v2", "v3"];

const SEED_GATEWAY: &str = include_str!("../../fixtures/seed/bookinfo-gateway.yaml");
const SEED_ROUTING: &str = include_str!("../../fixtures/seed/reviews-routing.yaml");

/// The demo's configuration, written to the config directory: file name and content.
pub fn config_files(apps: &[(String, SocketAddr)]) -> Result<Vec<(&'static str, String)>> {
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
    let mut registry = String::from(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
  namespace: default
spec:
  hosts:
  - reviews.default.svc.cluster.local
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: 9080
    name: http
    protocol: HTTP
  workloadSelector:
    labels:
      app: reviews
",
    );
    for (version, addr) in apps {
        registry.push_str(&format!(
            "---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-{version}
  namespace: default
spec:
  address: {}
  ports:
    http: {}
  labels:
    app: reviews
    version: {version}
",
            addr.ip(),
            addr.port()
        ));
    }
    Ok(vec![
        ("demo-gateway.yaml", gateway),
        ("demo-reviews-virtualservice.yaml", bound),
        ("demo-reviews-destinationrule.yaml", dr),
        ("demo-reviews-registry.yaml", registry),
    ])
}

/// Starts the sample app `reviews-<version>` unless it runs already; its address.
pub fn ensure_app(home: &Home, version: &str) -> Result<SocketAddr> {
    use std::os::unix::process::CommandExt as _;
    let registry = Registry::at(home.clone());
    let id = format!("reviews-{version}.default");
    if let Some(w) = registry.workloads()?.into_iter().find(|w| w.id() == id)
        && w.running()
    {
        return Ok(w.address);
    }
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("finding a free port on 127.0.0.1")?;
    std::fs::create_dir_all(home.logs_dir())
        .with_context(|| format!("creating {}", home.logs_dir().display()))?;
    let log_path = home.logs_dir().join(format!("{id}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let err = log.try_clone().context("duplicating the log file")?;
    let exe = std::env::current_exe().context("locating the ferryctl executable")?;
    let child = std::process::Command::new(exe)
        .args([
            "sample-app",
            "--service",
            "reviews",
            "--version",
            version,
            "--listen",
            &addr.to_string(),
        ])
        .env(HOME_ENV, home.root())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .process_group(0)
        .spawn()
        .context("starting the sample app")?;
    // Up before it is registered, so the gateway never routes to a port nobody serves.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        if !process_alive(child.id()) || Instant::now() >= deadline {
            bail!(
                "the sample app reviews-{version} did not start; see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    registry.write_workload(&WorkloadRecord {
        name: format!("reviews-{version}"),
        namespace: "default".into(),
        address: addr,
        labels: BTreeMap::from([
            ("app".to_string(), "reviews".to_string()),
            ("version".to_string(), version.to_string()),
        ]),
        pid: child.id(),
        log: Some(log_path),
    })?;
    Ok(addr)
}

/// Writes the demo's config files into `dir` (temp file + rename each, so the control plane
/// never reads half a file).
pub fn write_config(dir: &Path, files: &[(&str, String)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
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

/// Polls until the gateway routes the demo's host to a sample app, or `limit` passes.
pub async fn wait_routed(gateway: SocketAddr, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
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

/// Stops every workload the demo started; their ids.
pub fn stop_workloads(home: &Home) -> Result<Vec<String>> {
    let registry = Registry::at(home.clone());
    let mut stopped = Vec::new();
    for w in registry.workloads()? {
        if process_alive(w.pid) {
            crate::local::supervisor::terminate(w.pid);
            if !crate::local::supervisor::wait_gone(w.pid, Duration::from_secs(5)) {
                crate::local::supervisor::kill(w.pid);
            }
        }
        registry.remove_workload(&w.id())?;
        stopped.push(w.id());
    }
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_the_seed_bound_to_its_gateway_and_valid() {
        let apps: Vec<(String, SocketAddr)> = VERSIONS
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    v.to_string(),
                    SocketAddr::from(([127, 0, 0, 1], 20000 + i as u16)),
                )
            })
            .collect();
        let files = config_files(&apps).expect("files");
        let all: String = files.iter().map(|(_, t)| format!("{t}\n---\n")).collect();
        assert!(all.contains("gateways:\n  - bookinfo-gateway"));
        assert!(all.contains("- name: v3\n    labels:\n      version: v3"));
        assert!(all.contains("address: 127.0.0.1\n  ports:\n    http: 20002"));
        assert!(!all.contains("productpage"));
    }
}
