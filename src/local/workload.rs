//! A workload with its sidecar on the local mesh (`ferryctl workload run`), registered as Istio
//! registers workloads outside Kubernetes: a `WorkloadEntry` (its address, labels, service
//! account and ports), the `ServiceEntry` of its service selecting it (shared by every workload
//! of the service), and a `Sidecar` for its proxy. With no iptables (`INTERCEPTION_MODE: NONE`,
//! as Istio runs VM sidecars), the Sidecar says where the proxy listens: `ingress` binds the
//! workload's address and forwards to the application on 127.0.0.1 (`defaultEndpoint`), `egress`
//! binds the outbound listeners on a second loopback address, so sidecars sharing this host do
//! not all want `0.0.0.0:<port>`.
//!
//! Each workload gets its own loopback address (Linux routes all of 127/8 to `lo`): `127.0.0.N`,
//! N ≥ 2, claimed by an exclusively created file naming the claiming process (in one directory
//! per machine, as all local meshes share 127/8), so parallel runs never pick the same one and a
//! crashed run's addresses are reclaimed.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tokio::process::{Child, Command};

use crate::discovery::registry::Protocol;
use crate::local::home::{HOME_ENV, Home};
use crate::local::probe;
use crate::local::registry::{
    self, ControlPlaneRecord, Health, ProxyRecord, ProxyRole, Registry, RegistryError,
    WorkloadRecord, process_alive,
};
use crate::local::supervisor;

/// The label that tells a workload's proxy from its service's other instances, so its Sidecar
/// selects it alone (Kubernetes pods have `pod-template-hash` and friends; these have this).
pub const WORKLOAD_LABEL: &str = "workload.ferry.io/name";
/// Loopback addresses skipped: 127.0.0.1 (everything else binds it) and 127.0.0.6 (Istio's
/// inbound passthrough source address).
const RESERVED_HOSTS: [u8; 2] = [1, 6];
/// How long the application and the sidecar may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the application and the sidecar get to stop after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error(
        "no control plane of revision {revision:?} is running in the local mesh at {home}; \
         start one with `ferryctl install --local{flag}`",
        flag = if .revision == "default" { String::new() } else { format!(" -r {}", .revision) }
    )]
    NoControlPlane { revision: String, home: PathBuf },
    #[error(
        "workload {id} is already running (pid {pid}); stop it first, or choose another --name"
    )]
    AlreadyRunning { id: String, pid: u32 },
    #[error("no free loopback address 127.0.0.2-127.0.0.254 is left for another workload")]
    NoAddress,
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WorkloadError + '_ {
    move |source| WorkloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A port the workload serves: its number (the service port, where the sidecar listens) and
/// name (`http`, `http-api`, `grpc`, `tcp-db`: Istio's protocol-by-name convention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadPort {
    pub number: u16,
    pub name: String,
}

impl WorkloadPort {
    /// The protocol the name's prefix says, as Istio reads port names; HTTP when it says none.
    pub fn protocol(&self) -> String {
        let prefix = self.name.split('-').next().unwrap_or_default();
        match Protocol::parse(prefix) {
            Protocol::Unsupported => "HTTP".to_string(),
            _ => prefix.to_ascii_uppercase(),
        }
    }
}

/// What to run and how to register it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSpec {
    pub name: String,
    pub namespace: String,
    pub service: String,
    pub ports: Vec<WorkloadPort>,
    /// Every label of the workload, `app=<service>` and [`WORKLOAD_LABEL`] included.
    pub labels: BTreeMap<String, String>,
    pub service_account: String,
    /// The control plane revision (`default` for none).
    pub revision: String,
    /// The application's command line.
    pub command: Vec<String>,
}

impl WorkloadSpec {
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.namespace)
    }

    pub fn host(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.service, self.namespace)
    }
}

/// Where one run of a workload lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The workload's address: its WorkloadEntry's, where its sidecar's inbound listeners bind.
    pub workload: Ipv4Addr,
    /// Where its sidecar's outbound listeners bind.
    pub egress: Ipv4Addr,
    /// Where the application listens, on 127.0.0.1.
    pub app_port: u16,
}

/// Quotes a YAML scalar (a JSON string is a YAML double-quoted scalar).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn labels_yaml(labels: &BTreeMap<String, String>, indent: &str) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{indent}{}: {}\n", q(k), q(v)))
        .collect()
}

/// The workload's `WorkloadEntry`. It carries Istio's `security.istio.io/tlsMode: istio`, as
/// injection labels a pod with a sidecar: clients use Istio mTLS to it (auto mTLS).
pub fn workload_entry(spec: &WorkloadSpec, addrs: &Addresses) -> String {
    let mut labels = spec.labels.clone();
    labels.insert(
        crate::discovery::translate::tls::TLS_MODE_LABEL.to_string(),
        crate::discovery::translate::tls::ISTIO_TLS_MODE.to_string(),
    );
    let ports: String = spec
        .ports
        .iter()
        .map(|p| format!("    {}: {}\n", q(&p.name), p.number))
        .collect();
    format!(
        "# Written by `ferryctl workload run`; removed when it stops.\n\
         apiVersion: networking.istio.io/v1\n\
         kind: WorkloadEntry\n\
         metadata:\n  name: {}\n  namespace: {}\n\
         spec:\n  address: {}\n  serviceAccount: {}\n  ports:\n{ports}  labels:\n{}",
        q(&spec.name),
        q(&spec.namespace),
        addrs.workload,
        q(&spec.service_account),
        labels_yaml(&labels, "    "),
    )
}

/// The `ServiceEntry` of the workload's service: every workload labelled `app: <service>` in the
/// namespace is an endpoint of it.
pub fn service_entry(spec: &WorkloadSpec) -> String {
    let ports: String = spec
        .ports
        .iter()
        .map(|p| {
            format!(
                "  - number: {}\n    name: {}\n    protocol: {}\n",
                p.number,
                q(&p.name),
                p.protocol()
            )
        })
        .collect();
    format!(
        "# Written by `ferryctl workload run`; removed when the last workload of {svc} stops.\n\
         apiVersion: networking.istio.io/v1\n\
         kind: ServiceEntry\n\
         metadata:\n  name: {}\n  namespace: {}\n\
         spec:\n  hosts:\n  - {}\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports:\n{ports}\
         \x20 workloadSelector:\n    labels:\n      app: {}\n",
        q(&spec.service),
        q(&spec.namespace),
        q(&spec.host()),
        q(&spec.service),
        svc = spec.service,
    )
}

/// The workload's `Sidecar`: inbound listeners on its address in front of the application,
/// outbound listeners on its egress address for its namespace's and istio-system's services.
pub fn sidecar(spec: &WorkloadSpec, addrs: &Addresses) -> String {
    let ingress: String = spec
        .ports
        .iter()
        .map(|p| {
            format!(
                "  - port:\n      number: {}\n      name: {}\n      protocol: {}\n    bind: {}\n    defaultEndpoint: 127.0.0.1:{}\n",
                p.number,
                q(&p.name),
                p.protocol(),
                addrs.workload,
                addrs.app_port
            )
        })
        .collect();
    format!(
        "# Written by `ferryctl workload run`; removed when it stops.\n\
         apiVersion: networking.istio.io/v1\n\
         kind: Sidecar\n\
         metadata:\n  name: {}\n  namespace: {}\n\
         spec:\n  workloadSelector:\n    labels:\n      {}: {}\n  ingress:\n{ingress}\
         \x20 egress:\n  - bind: {}\n    hosts:\n    - ./*\n    - istio-system/*\n",
        q(&spec.name),
        q(&spec.namespace),
        q(WORKLOAD_LABEL),
        q(&spec.name),
        addrs.egress,
    )
}

/// The config files of one workload and of its service.
struct ConfigFiles {
    workload_entry: PathBuf,
    sidecar: PathBuf,
    service_entry: PathBuf,
}

impl ConfigFiles {
    fn of(home: &Home, spec: &WorkloadSpec) -> ConfigFiles {
        let dir = home.config_dir();
        let ns = &spec.namespace;
        ConfigFiles {
            workload_entry: dir.join(format!("workloadentry-{ns}-{}.yaml", spec.name)),
            sidecar: dir.join(format!("sidecar-{ns}-{}.yaml", spec.name)),
            service_entry: dir.join(format!("serviceentry-{ns}-{}.yaml", spec.service)),
        }
    }
}

/// Writes a config file atomically: the control plane never reads half of it.
fn write_atomically(path: &Path, text: &str) -> Result<(), WorkloadError> {
    registry::write_atomically(path, text.as_bytes()).map_err(io_error(path))
}

fn remove(path: &Path) -> Result<(), WorkloadError> {
    Ok(registry::remove_file(path)?)
}

/// The directory of address claims: one per machine, not per home, as every local mesh on it
/// shares 127/8.
fn claims_dir() -> PathBuf {
    std::env::temp_dir().join("ferry-loopback-claims")
}

/// Claims, in `dir`, a free loopback address for process `owner` on which `ports` can be bound.
fn claim_address(dir: &Path, owner: u32, ports: &[u16]) -> Result<Ipv4Addr, WorkloadError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    for host in 2..=254u8 {
        if RESERVED_HOSTS.contains(&host) {
            continue;
        }
        let ip = Ipv4Addr::new(127, 0, 0, host);
        let path = dir.join(ip.to_string());
        // Twice: a claim whose owner is gone is removed and claimed again.
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(format!("{owner}\n").as_bytes())
                        .map_err(io_error(&path))?;
                    // Only an address this host has, and whose ports nothing else holds.
                    let free = std::iter::once(0)
                        .chain(ports.iter().copied())
                        .all(|port| std::net::TcpListener::bind((ip, port)).is_ok());
                    if free {
                        return Ok(ip);
                    }
                    remove(&path)?;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    // An empty claim is being written right now; a dead owner's is stale.
                    match holder {
                        Some(pid) if !process_alive(pid) => remove(&path)?,
                        _ => break,
                    }
                }
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
    }
    Err(WorkloadError::NoAddress)
}

/// Releases the claims of `owner` on `ips`.
fn release_addresses(dir: &Path, owner: u32, ips: &[Ipv4Addr]) {
    for ip in ips {
        let path = dir.join(ip.to_string());
        let mine = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            == Some(owner);
        if mine {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Holds the lock of one service's registration: who writes or removes its ServiceEntry is
/// decided under it, so a workload starting while the last other one stops keeps it.
struct ServiceLock(File);

impl ServiceLock {
    fn take(home: &Home, spec: &WorkloadSpec) -> Result<ServiceLock, WorkloadError> {
        let dir = home.workloads_dir();
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let path = dir.join(format!(".service-{}-{}.lock", spec.namespace, spec.service));
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        f.lock().map_err(io_error(&path))?;
        Ok(ServiceLock(f))
    }
}

impl Drop for ServiceLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Whether a workload record belongs to `spec`'s service (another instance of it).
fn same_service(w: &WorkloadRecord, spec: &WorkloadSpec) -> bool {
    w.namespace == spec.namespace && w.labels.get("app") == Some(&spec.service)
}

/// A free port on 127.0.0.1.
fn free_port() -> Result<u16> {
    let l =
        std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
    Ok(l.local_addr().context("reading a bound address")?.port())
}

/// What the run reports on stderr.
pub trait Report {
    fn line(&mut self, text: &str);
}

impl<F: FnMut(&str)> Report for F {
    fn line(&mut self, text: &str) {
        self(text)
    }
}

/// Runs `spec` with its sidecar until the application exits or SIGINT/SIGTERM arrives; then
/// deregisters it and stops the sidecar. The application's exit code (128 + signal when a
/// signal ended it).
pub fn run(home: &Home, spec: &WorkloadSpec, report: &mut dyn Report) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(home, spec, report))
}

async fn run_async(home: &Home, spec: &WorkloadSpec, report: &mut dyn Report) -> Result<i32> {
    let registry = Registry::at(home.clone());
    // `--revision` names a revision or a revision tag, as `istio.io/rev` does.
    let cp = running_control_plane(home, &spec.revision)?;
    if let Some(w) = registry
        .workloads()?
        .into_iter()
        .find(|w| w.id() == spec.id() && w.running())
    {
        return Err(WorkloadError::AlreadyRunning {
            id: spec.id(),
            pid: w.pid,
        }
        .into());
    }
    let Some(program) = spec.command.first() else {
        bail!("no application command given (after --)");
    };
    let Some(first_port) = spec.ports.first().map(|p| p.number) else {
        bail!("a workload needs at least one --port");
    };
    let me = std::process::id();
    let mut run = Run {
        home: home.clone(),
        registry: registry.clone(),
        spec: spec.clone(),
        files: ConfigFiles::of(home, spec),
        claimed: Vec::new(),
        app: None,
        sidecar: None,
        registered: false,
        revision: cp.revision.clone(),
        addrs: None,
        sidecar_log: home.logs_dir().join(format!("{}.sidecar.log", spec.id())),
    };
    let ports: Vec<u16> = spec.ports.iter().map(|p| p.number).collect();
    let workload = claim_address(&claims_dir(), me, &ports)?;
    run.claimed.push(workload);
    let egress = claim_address(&claims_dir(), me, &ports)?;
    run.claimed.push(egress);
    let addrs = Addresses {
        workload,
        egress,
        app_port: free_port()?,
    };
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let result = run
        .start_and_wait(&addrs, admin, cp.xds, program, first_port, report)
        .await;
    run.stop(report).await;
    result
}

/// The running control plane of `revision` (a revision or a revision tag, as `istio.io/rev`).
fn running_control_plane(home: &Home, revision: &str) -> Result<ControlPlaneRecord> {
    Ok(crate::local::tags::resolve(home, revision)?
        .filter(|cp| cp.running())
        .ok_or_else(|| WorkloadError::NoControlPlane {
            revision: revision.to_string(),
            home: home.root().to_path_buf(),
        })?)
}

/// One run's processes and what it registered, so everything is undone however it ends.
struct Run {
    home: Home,
    registry: Registry,
    spec: WorkloadSpec,
    files: ConfigFiles,
    claimed: Vec<Ipv4Addr>,
    app: Option<Child>,
    sidecar: Option<Child>,
    registered: bool,
    /// The revision of the control plane the sidecar is on (a tag resolved).
    revision: String,
    addrs: Option<Addresses>,
    sidecar_log: PathBuf,
}

impl Run {
    async fn start_and_wait(
        &mut self,
        addrs: &Addresses,
        admin: SocketAddr,
        xds: SocketAddr,
        program: &str,
        first_port: u16,
        report: &mut dyn Report,
    ) -> Result<i32> {
        // Before anything is recorded: `workload restart` signals the pid it finds there, and
        // SIGHUP's default action would end this process.
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
        let spec = self.spec.clone();
        let id = spec.id();
        self.addrs = Some(*addrs);
        // The Sidecar first: the proxy's first config already has its listeners.
        write_atomically(&self.files.sidecar, &sidecar(&spec, addrs))?;
        let sidecar_log = self.sidecar_log.clone();
        let sidecar = self.spawn_sidecar(addrs, admin, xds, false)?;
        let sidecar_pid = sidecar.id().unwrap_or(0);
        self.sidecar = Some(sidecar);
        let app = Command::new(program)
            .args(&spec.command[1..])
            .env("PORT", addrs.app_port.to_string())
            .env("INSTANCE_IP", addrs.workload.to_string())
            .env("POD_NAME", &spec.name)
            .env("POD_NAMESPACE", &spec.namespace)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {program:?}"))?;
        let app_pid = app.id().unwrap_or(0);
        self.app = Some(app);

        // Registered only once both listen, so the gateway never routes to a port nobody serves.
        let app_addr = SocketAddr::from(([127, 0, 0, 1], addrs.app_port));
        let inbound: Vec<SocketAddr> = spec
            .ports
            .iter()
            .map(|p| SocketAddr::from((addrs.workload, p.number)))
            .collect();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.app_exited()? {
                report.line(&format!(
                    "ferryctl workload run: {program} exited ({status}) before it listened on {app_addr}"
                ));
                return Ok(exit_code(status));
            }
            if self.sidecar_exited()?.is_some() {
                bail!(
                    "the sidecar of {id} exited while starting; see {}",
                    sidecar_log.display()
                );
            }
            let app_up = tokio::net::TcpStream::connect(app_addr).await.is_ok();
            let mut proxy_up = probe::ready(admin).await;
            for addr in &inbound {
                proxy_up = proxy_up && tokio::net::TcpStream::connect(addr).await.is_ok();
            }
            if app_up && proxy_up {
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "{id} did not start within {START_TIMEOUT:?}: {}; see {}",
                    if app_up {
                        format!("its sidecar does not listen on {}", inbound[0])
                    } else {
                        format!(
                            "the application does not listen on {app_addr} (it gets PORT={})",
                            addrs.app_port
                        )
                    },
                    sidecar_log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        {
            let _lock = ServiceLock::take(&self.home, &spec)?;
            if !self.files.service_entry.exists() {
                write_atomically(&self.files.service_entry, &service_entry(&spec))?;
            }
            write_atomically(&self.files.workload_entry, &workload_entry(&spec, addrs))?;
            self.registered = true;
            self.registry.write_workload(&WorkloadRecord {
                name: spec.name.clone(),
                namespace: spec.namespace.clone(),
                address: SocketAddr::from((addrs.workload, first_port)),
                labels: spec.labels.clone(),
                pid: std::process::id(),
                log: None,
                app_pid: Some(app_pid),
                addresses: vec![IpAddr::V4(addrs.workload), IpAddr::V4(addrs.egress)],
                revision: spec.revision.clone(),
            })?;
        }
        self.record_sidecar(&spec.revision, admin, xds, sidecar_pid)?;
        report.line(&format!(
            "✔ {id}: {program} (pid {app_pid}) on 127.0.0.1:{app} behind its sidecar on {ip} \
             (outbound on {egress}, admin {admin}); registered as WorkloadEntry {ns}/{name} of {host}",
            app = addrs.app_port,
            ip = inbound
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            egress = addrs.egress,
            ns = spec.namespace,
            name = spec.name,
            host = spec.host(),
        ));

        loop {
            let (Some(app), Some(sidecar)) = (self.app.as_mut(), self.sidecar.as_mut()) else {
                bail!("lost track of the started processes");
            };
            tokio::select! {
                status = app.wait() => {
                    let status = status.context("waiting for the application")?;
                    self.app = None;
                    report.line(&format!("ferryctl workload run: {program} exited ({status})"));
                    return Ok(exit_code(status));
                }
                status = sidecar.wait() => {
                    let status = status.context("waiting for the sidecar")?;
                    self.sidecar = None;
                    bail!("the sidecar of {id} exited ({status}); see {}", sidecar_log.display())
                }
                _ = term.recv() => return self.stop_app(report).await,
                _ = int.recv() => return self.stop_app(report).await,
                // `workload restart`: a new sidecar, on the revision the record names now.
                _ = hup.recv() => {
                    if let Err(e) = self.restart_sidecar(report).await {
                        report.line(&format!(
                            "ferryctl workload run: the sidecar was not restarted: {e:#}; the \
                             running one keeps serving"
                        ));
                    }
                }
            }
        }
    }

    /// Starts the sidecar; `append` keeps what earlier ones logged.
    fn spawn_sidecar(
        &self,
        addrs: &Addresses,
        admin: SocketAddr,
        xds: SocketAddr,
        append: bool,
    ) -> Result<Child> {
        let spec = &self.spec;
        let logs = self.home.logs_dir();
        std::fs::create_dir_all(&logs).map_err(io_error(&logs))?;
        let sockets = self.home.sockets_dir();
        std::fs::create_dir_all(&sockets).map_err(io_error(&sockets))?;
        let path = &self.sidecar_log;
        let log = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(io_error(path))?;
        let err = log.try_clone().map_err(io_error(path))?;
        let labels: Vec<String> = spec
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let exe = std::env::current_exe().context("locating the ferryctl executable")?;
        // The service account's token: the sidecar's proof of identity for its certificate.
        let token = crate::local::identity::token_file(
            &self.home.tokens_dir(),
            &spec.namespace,
            &spec.service_account,
        )?;
        let mut command = Command::new(exe);
        for name in crate::cli::proxy::POD_ENVIRONMENT {
            command.env_remove(name);
        }
        command
            .args(["proxy", "sidecar", "--discovery-address"])
            .arg(xds.to_string())
            .args(["--ip", &addrs.workload.to_string()])
            .args(["--pod-name", &spec.name, "--pod-namespace", &spec.namespace])
            .args(["--labels", &labels.join(",")])
            .args(["--admin-address", &admin.to_string()])
            .arg("--token-file")
            .arg(&token)
            // A restarted sidecar takes over the running one's listening sockets.
            .arg("--socket-path")
            .arg(self.home.proxy_socket(&format!("{}.sidecar", spec.id())))
            .env(HOME_ENV, self.home.root())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            // Its own process group: a Ctrl-C reaches the application, and the sidecar is
            // stopped after it, as Istio drains the proxy after the application.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("starting the sidecar proxy")
    }

    /// The sidecar's record: `asked` is the revision or tag asked for (Istio's `istio.io/rev`
    /// pod label), `self.revision` the revision it resolved to.
    fn record_sidecar(
        &self,
        asked: &str,
        admin: SocketAddr,
        xds: SocketAddr,
        pid: u32,
    ) -> Result<(), WorkloadError> {
        let mut labels = self.spec.labels.clone();
        if asked != "default" {
            labels.insert("istio.io/rev".into(), asked.to_string());
        }
        self.registry.write_proxy(&ProxyRecord {
            name: self.spec.name.clone(),
            namespace: self.spec.namespace.clone(),
            role: ProxyRole::Sidecar,
            revision: self.revision.clone(),
            admin,
            discovery: xds,
            labels,
            pid,
            log: Some(self.sidecar_log.clone()),
            health: Health::default(),
        })?;
        Ok(())
    }

    /// Replaces the sidecar without dropping a request (`workload restart`, Kubernetes' rollout
    /// restart of a pod): a new sidecar on the control plane of the revision the workload's
    /// record names takes over the running one's listening sockets once it has its config, and
    /// the old one drains and exits by itself.
    async fn restart_sidecar(&mut self, report: &mut dyn Report) -> Result<()> {
        let id = self.spec.id();
        let Some(addrs) = self.addrs else {
            bail!("{id} has not started yet");
        };
        let asked = self
            .registry
            .workloads()?
            .into_iter()
            .find(|w| w.id() == id)
            .map_or_else(|| self.spec.revision.clone(), |w| w.revision);
        let cp = running_control_plane(&self.home, &asked)?;
        let admin = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let mut next = self.spawn_sidecar(&addrs, admin, cp.xds, true)?;
        let deadline = Instant::now() + START_TIMEOUT;
        while !probe::ready(admin).await {
            if let Some(status) = next.try_wait().context("checking the new sidecar")? {
                bail!(
                    "the new sidecar exited ({status}) before it was ready; see {}",
                    self.sidecar_log.display()
                );
            }
            if Instant::now() >= deadline {
                stop_child(&mut next).await;
                bail!(
                    "the new sidecar was not ready within {START_TIMEOUT:?}; see {}",
                    self.sidecar_log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = next.id().unwrap_or(0);
        // The old one drains and exits on its own; it is reaped (or killed past its drain
        // time) in the background.
        if let Some(mut old) = self.sidecar.replace(next) {
            tokio::spawn(async move {
                if tokio::time::timeout(STOP_GRACE * 2, old.wait())
                    .await
                    .is_err()
                {
                    let _ = old.kill().await;
                }
            });
        }
        let from = std::mem::replace(&mut self.revision, cp.revision.clone());
        self.record_sidecar(&asked, admin, cp.xds, pid)?;
        report.line(&format!(
            "✔ {id}: sidecar restarted on revision {} (pid {pid}, admin {admin}; was on {from})",
            cp.revision
        ));
        Ok(())
    }

    fn app_exited(&mut self) -> Result<Option<ExitStatus>> {
        match self.app.as_mut() {
            Some(app) => Ok(app.try_wait().context("checking the application")?),
            None => Ok(None),
        }
    }

    fn sidecar_exited(&mut self) -> Result<Option<ExitStatus>> {
        match self.sidecar.as_mut() {
            Some(s) => Ok(s.try_wait().context("checking the sidecar")?),
            None => Ok(None),
        }
    }

    /// Deregisters, then stops the application (SIGTERM, SIGKILL after a grace period); its
    /// exit code.
    async fn stop_app(&mut self, report: &mut dyn Report) -> Result<i32> {
        self.deregister_endpoint();
        let Some(mut app) = self.app.take() else {
            return Ok(0);
        };
        let status = stop_child(&mut app).await;
        report.line(&format!(
            "ferryctl workload run: stopped the application ({})",
            status.map_or_else(|| "killed".to_string(), |s| s.to_string())
        ));
        Ok(status.map_or(137, exit_code))
    }

    /// Removes the WorkloadEntry first, so callers stop being routed here before anything stops.
    fn deregister_endpoint(&mut self) {
        if self.registered {
            let _ = remove(&self.files.workload_entry);
        }
    }

    /// Undoes everything this run did that is still in place.
    async fn stop(&mut self, report: &mut dyn Report) {
        self.deregister_endpoint();
        if let Some(mut app) = self.app.take() {
            stop_child(&mut app).await;
        }
        if let Some(mut sidecar) = self.sidecar.take() {
            stop_child(&mut sidecar).await;
        }
        let id = self.spec.id();
        let mut problems = Vec::new();
        let _ = self.registry.remove_proxy(&id);
        if let Err(e) = remove(&self.files.sidecar) {
            problems.push(e.to_string());
        }
        match ServiceLock::take(&self.home, &self.spec) {
            Ok(_lock) => {
                if let Err(e) = self.registry.remove_workload(&id) {
                    problems.push(e.to_string());
                }
                let others = self.registry.workloads().map(|all| {
                    all.iter()
                        .any(|w| w.id() != id && same_service(w, &self.spec) && w.running())
                });
                if self.registered
                    && matches!(others, Ok(false))
                    && let Err(e) = remove(&self.files.service_entry)
                {
                    problems.push(e.to_string());
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
        release_addresses(&claims_dir(), std::process::id(), &self.claimed);
        for p in problems {
            report.line(&format!("ferryctl workload run: cleaning up: {p}"));
        }
    }
}

/// SIGTERM, then SIGKILL after [`STOP_GRACE`]; the exit status unless it had to be killed.
async fn stop_child(child: &mut Child) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    if let Some(pid) = child.id() {
        supervisor::terminate(pid);
    }
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            let _ = child.kill().await;
            None
        }
    }
}

/// Restarts the sidecar of running workload `id` (`workload restart`), on `revision` (a
/// revision or tag) when given, else on the one its record names: asks its `workload run`
/// (SIGHUP) and waits up to `timeout` for the new sidecar's record. The new sidecar's record.
pub fn restart(
    home: &Home,
    id: &str,
    revision: Option<&str>,
    timeout: Duration,
) -> Result<ProxyRecord> {
    let registry = Registry::at(home.clone());
    let running: Vec<WorkloadRecord> = registry
        .workloads()?
        .into_iter()
        .filter(WorkloadRecord::running)
        .collect();
    let Some(mut workload) = running.iter().find(|w| w.id() == id).cloned() else {
        let names: Vec<String> = running.iter().map(WorkloadRecord::id).collect();
        bail!(
            "no workload {id} is running in the local mesh at {}{}",
            home.root().display(),
            if names.is_empty() {
                "; start one with `ferryctl workload run`".to_string()
            } else {
                format!(" (running: {})", names.join(", "))
            }
        );
    };
    if let Some(r) = revision {
        workload.revision = r.to_string();
    }
    let cp = running_control_plane(home, &workload.revision)?;
    registry.write_workload(&workload)?;
    let before = registry.find_proxy(id).ok().map(|p| p.pid);
    supervisor::signal(workload.pid, rustix::process::Signal::HUP)
        .with_context(|| format!("signalling `workload run` of {id} (pid {})", workload.pid))?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(p) = registry.find_proxy(id)
            && Some(p.pid) != before
            && p.revision == cp.revision
            && p.running()
        {
            return Ok(p);
        }
        if Instant::now() >= deadline {
            bail!(
                "the sidecar of {id} was not restarted within {timeout:?}; the workload's output \
                 says why, and {} has the sidecars' logs",
                home.logs_dir().join(format!("{id}.sidecar.log")).display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops every workload of the local mesh (`uninstall --purge`): SIGTERM to each `workload run`
/// at once (each deregisters and stops its application and sidecar), then whatever a killed run
/// left behind: its application and sidecar processes and records. Their ids.
pub fn stop_all(home: &Home) -> Result<Vec<String>, WorkloadError> {
    let registry = Registry::at(home.clone());
    let workloads = registry.workloads()?;
    for w in &workloads {
        if process_alive(w.pid) {
            supervisor::terminate(w.pid);
        }
    }
    // A run stops its application and then its sidecar, each within the grace period.
    let grace = STOP_GRACE * 2 + Duration::from_secs(1);
    let mut stopped = Vec::new();
    for w in &workloads {
        if !supervisor::wait_gone(w.pid, grace) {
            supervisor::kill(w.pid);
        }
        if let Some(app) = w.app_pid.filter(|p| process_alive(*p)) {
            supervisor::stop(app, STOP_GRACE);
        }
        registry.remove_workload(&w.id())?;
        stopped.push(w.id());
    }
    for p in registry.proxies()? {
        if p.role != ProxyRole::Sidecar {
            continue;
        }
        if p.running() {
            supervisor::stop(p.pid, STOP_GRACE);
        }
        registry.remove_proxy(&p.id())?;
        stopped.push(p.id());
    }
    Ok(stopped)
}

/// A shell's view of an exit status: the code, or 128 + the signal that ended it.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            name: "reviews-v1".into(),
            namespace: "default".into(),
            service: "reviews".into(),
            ports: vec![WorkloadPort {
                number: 9080,
                name: "http".into(),
            }],
            labels: BTreeMap::from([
                ("app".into(), "reviews".into()),
                ("version".into(), "v1".into()),
                (WORKLOAD_LABEL.into(), "reviews-v1".into()),
            ]),
            service_account: "bookinfo-reviews".into(),
            revision: "default".into(),
            command: vec!["app".into()],
        }
    }

    const ADDRS: Addresses = Addresses {
        workload: Ipv4Addr::new(127, 0, 0, 2),
        egress: Ipv4Addr::new(127, 0, 0, 3),
        app_port: 31000,
    };

    /// The documents are valid Istio config, and say what the module docs promise.
    #[test]
    fn the_registration_is_valid_istio_config() {
        let all = format!(
            "{}---\n{}---\n{}",
            workload_entry(&spec(), &ADDRS),
            service_entry(&spec()),
            sidecar(&spec(), &ADDRS)
        );
        let store = crate::discovery::testing::store(&all);
        let push =
            crate::discovery::PushContext::new(&store, crate::discovery::MeshOptions::default());
        assert_eq!(push.sidecars().len(), 1);
        let reviews = push
            .registry()
            .lookup("reviews.default.svc.cluster.local", "default")
            .expect("the service");
        let endpoints: Vec<&str> = reviews
            .endpoints
            .iter()
            .map(|e| e.address.as_str())
            .collect();
        assert_eq!(endpoints, vec!["127.0.0.2"]);
        let sc = sidecar(&spec(), &ADDRS);
        assert!(
            sc.contains("bind: 127.0.0.2\n    defaultEndpoint: 127.0.0.1:31000"),
            "{sc}"
        );
        assert!(sc.contains("- bind: 127.0.0.3\n"), "{sc}");
        let we = workload_entry(&spec(), &ADDRS);
        assert!(we.contains("serviceAccount: \"bookinfo-reviews\""), "{we}");
    }

    #[test]
    fn ports_name_their_protocol() {
        let port = |name: &str| WorkloadPort {
            number: 1,
            name: name.into(),
        };
        assert_eq!(port("http").protocol(), "HTTP");
        assert_eq!(port("grpc-api").protocol(), "GRPC");
        assert_eq!(port("tcp-db").protocol(), "TCP");
        assert_eq!(port("web").protocol(), "HTTP");
    }

    #[test]
    fn addresses_are_claimed_once_and_reclaimed_from_dead_owners() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir = dir.path();
        let me = std::process::id();
        let a = claim_address(dir, me, &[]).expect("first");
        let b = claim_address(dir, me, &[]).expect("second");
        assert_eq!(a, Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(b, Ipv4Addr::new(127, 0, 0, 3));
        release_addresses(dir, me, &[a]);
        assert_eq!(claim_address(dir, me, &[]).expect("again"), a);
        // A claim whose owner is gone is stale.
        std::fs::write(dir.join("127.0.0.4"), format!("{}\n", u32::MAX - 1)).expect("write");
        assert_eq!(
            claim_address(dir, me, &[]).expect("reclaimed"),
            Ipv4Addr::new(127, 0, 0, 4)
        );
        assert_eq!(
            claim_address(dir, me, &[]).expect("skips 6"),
            Ipv4Addr::new(127, 0, 0, 5)
        );
        // An address whose port something else holds is skipped.
        let _held = std::net::TcpListener::bind("127.0.0.7:0").expect("bind");
        let port = _held.local_addr().expect("addr").port();
        assert_eq!(
            claim_address(dir, me, &[port]).expect("next"),
            Ipv4Addr::new(127, 0, 0, 8)
        );
    }
}
