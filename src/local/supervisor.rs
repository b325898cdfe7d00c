//! The supervisor of one installed revision: a detached `ferryctl local supervise` process that
//! runs the revision's control plane and gateways as child processes of this same binary,
//! records each in the [`Registry`] once it answers `/ready`, restarts any that exits (back-off
//! from 1 s doubling to 30 s, reset after a minute of uptime), and on SIGTERM or SIGINT stops
//! them all and removes their records.
//!
//! Addresses are kept across restarts: a restarted control plane must be where its proxies
//! reconnect, and a restarted gateway where the CLI finds it. A first start asks for port 0 and
//! the address the process announces in its log is recorded and asked for on every restart.
//! Istio's fixed ports (15010, 15014, 15000) are not used: two local meshes (two homes, parallel
//! tests) would race for them, and a port another mesh just freed is the likeliest to be taken
//! by a restart elsewhere. The CLI finds every address in the registry.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::local::announce;
use crate::local::home::{HOME_ENV, Home};
use crate::local::identity;
use crate::local::plan::{GatewayPlan, Plan};
use crate::local::probe;
use crate::local::registry::{
    ControlPlaneRecord, Health, ProxyRecord, ProxyRole, Registry, control_plane_name, process_alive,
};

/// The supervisor's pid, in the revision's directory.
pub const PID_FILE: &str = "supervisor.pid";
/// The [`Plan`] the supervisor runs, written by `install`.
pub const PLAN_FILE: &str = "plan.json";

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A process that stayed up this long starts the back-off over.
const HEALTHY_UPTIME: Duration = Duration::from_secs(60);
/// How long a child may take to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs the supervisor of `revision` until SIGTERM or SIGINT.
pub fn run(home: Home, revision: &str) -> Result<()> {
    let dir = home.revision_dir(revision);
    let plan_path = dir.join(PLAN_FILE);
    let plan: Plan = serde_json::from_slice(
        &std::fs::read(&plan_path).with_context(|| format!("reading {}", plan_path.display()))?,
    )
    .with_context(|| format!("decoding {}", plan_path.display()))?;
    std::fs::write(dir.join(PID_FILE), format!("{}\n", std::process::id()))
        .with_context(|| format!("writing {}", dir.join(PID_FILE).display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(supervise(home, plan));
    let _ = std::fs::remove_file(dir.join(PID_FILE));
    result
}

/// One supervised process.
#[derive(Debug, Clone)]
enum Unit {
    ControlPlane {
        xds: SocketAddr,
        monitoring: SocketAddr,
    },
    Gateway {
        gateway: GatewayPlan,
        admin: SocketAddr,
        /// The control plane's xDS address; `None` for this revision's own control plane, read
        /// from its record at every start (it may have moved to another port).
        discovery: Option<SocketAddr>,
    },
}

impl Unit {
    fn log_name(&self, revision: &str) -> String {
        match self {
            Unit::ControlPlane { .. } => format!("{}.log", control_plane_name(revision)),
            Unit::Gateway { gateway, .. } => format!("{}.log", gateway.id()),
        }
    }

    fn ready_address(&self) -> SocketAddr {
        match self {
            Unit::ControlPlane { monitoring, .. } => *monitoring,
            Unit::Gateway { admin, .. } => *admin,
        }
    }

    /// Any free ports, for a process that could not start on the old ones (taken since they
    /// were picked); the process reports what it bound.
    fn repick(&mut self) {
        match self {
            Unit::ControlPlane { xds, monitoring } => {
                *xds = ANY_PORT;
                *monitoring = ANY_PORT;
            }
            Unit::Gateway { admin, .. } => *admin = ANY_PORT,
        }
    }

    /// Takes the addresses the process announced in its log (`text`, what it wrote since it
    /// was started): the truth about what it bound, whoever else probes these ports. `false`
    /// until the announcement is there.
    fn learn(&mut self, text: &str) -> bool {
        match self {
            Unit::ControlPlane { xds, monitoring } => {
                let found = announce::find_discovery(text);
                if let Some((x, m)) = found {
                    *xds = x;
                    *monitoring = m;
                }
                found.is_some()
            }
            Unit::Gateway { admin, .. } => {
                let found = announce::find_proxy(text);
                if let Some(a) = found {
                    *admin = a;
                }
                found.is_some()
            }
        }
    }

    fn args(&self, home: &Home, plan: &Plan, discovery: Option<SocketAddr>) -> Vec<String> {
        match self {
            Unit::ControlPlane { xds, monitoring } => {
                let mut args = vec![
                    "discovery".into(),
                    "--config-dir".into(),
                    home.config_dir().display().to_string(),
                    "--grpcAddr".into(),
                    xds.to_string(),
                    "--monitoringAddr".into(),
                    monitoring.to_string(),
                    // One CA for the mesh, its proxies authenticated by their token files.
                    "--ca-dir".into(),
                    home.ca_dir().display().to_string(),
                    "--token-dir".into(),
                    home.tokens_dir().display().to_string(),
                ];
                if plan.mesh_config.is_some() {
                    args.push("--meshConfig".into());
                    args.push(mesh_config_path(home, &plan.revision).display().to_string());
                }
                args
            }
            Unit::Gateway { gateway, admin, .. } => {
                let discovery = discovery.map(|d| d.to_string()).unwrap_or_default();
                let labels: Vec<String> = gateway
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let mut args = vec![
                    "proxy".into(),
                    "router".into(),
                    "--discovery-address".into(),
                    discovery,
                    "--admin-address".into(),
                    admin.to_string(),
                    "--pod-name".into(),
                    gateway.name.clone(),
                    "--pod-namespace".into(),
                    gateway.namespace.clone(),
                    // A gateway another revision runs is taken over in place, not stopped.
                    "--socket-path".into(),
                    home.proxy_socket(&gateway.id()).display().to_string(),
                    // Created by `spawn` before the gateway starts.
                    "--token-file".into(),
                    crate::discovery::ca::authn::LocalTokens::path(
                        &home.tokens_dir(),
                        &gateway.namespace,
                        &identity::gateway_service_account(&gateway.name),
                    )
                    .display()
                    .to_string(),
                ];
                if !labels.is_empty() {
                    args.push("--labels".into());
                    args.push(labels.join(","));
                }
                args
            }
        }
    }

    fn record(
        &self,
        registry: &Registry,
        plan: &Plan,
        started: &Started,
        log: &Path,
        health: &Health,
    ) -> Result<()> {
        let pid = started.pid;
        match self {
            Unit::ControlPlane { xds, monitoring } => {
                registry.write_control_plane(&ControlPlaneRecord {
                    revision: plan.revision.clone(),
                    xds: *xds,
                    monitoring: *monitoring,
                    pid,
                    log: Some(log.to_path_buf()),
                    health: health.clone(),
                })?
            }
            Unit::Gateway { gateway, admin, .. } => registry.write_proxy(&ProxyRecord {
                name: gateway.name.clone(),
                namespace: gateway.namespace.clone(),
                role: ProxyRole::Router,
                revision: plan.revision.clone(),
                admin: *admin,
                discovery: started.discovery.unwrap_or(*admin),
                labels: gateway.labels.clone(),
                pid,
                log: Some(log.to_path_buf()),
                health: health.clone(),
            })?,
        }
        Ok(())
    }

    fn remove_record(&self, registry: &Registry, plan: &Plan) -> Result<()> {
        match self {
            Unit::ControlPlane { .. } => registry.remove_control_plane(&plan.revision)?,
            Unit::Gateway { gateway, .. } => {
                if self.owns_record(registry, plan) {
                    registry.remove_proxy(&gateway.id())?;
                }
            }
        }
        Ok(())
    }

    /// Whether the unit's record is this revision's: a gateway another revision took over is
    /// recorded by that revision's supervisor, and stays.
    fn owns_record(&self, registry: &Registry, plan: &Plan) -> bool {
        match self {
            Unit::ControlPlane { .. } => true,
            Unit::Gateway { gateway, .. } => registry
                .find_proxy(&gateway.id())
                .map_or(true, |p| p.revision == plan.revision),
        }
    }
}

/// Where the control plane of `revision` reads its mesh config from.
pub fn mesh_config_path(home: &Home, revision: &str) -> PathBuf {
    home.revision_dir(revision).join("mesh.yaml")
}

async fn supervise(home: Home, plan: Plan) -> Result<()> {
    let registry = Registry::at(home.clone());
    std::fs::create_dir_all(home.logs_dir())
        .with_context(|| format!("creating {}", home.logs_dir().display()))?;
    std::fs::create_dir_all(home.config_dir())
        .with_context(|| format!("creating {}", home.config_dir().display()))?;
    if let Some(mesh) = &plan.mesh_config {
        let path = mesh_config_path(&home, &plan.revision);
        std::fs::write(&path, mesh).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut units = Vec::new();
    let discovery = if plan.control_plane {
        units.push(Unit::ControlPlane {
            xds: ANY_PORT,
            monitoring: ANY_PORT,
        });
        None
    } else {
        // A profile without a control plane (remote) runs its gateways against the default one.
        match registry.control_plane("default")? {
            Some(cp) => Some(cp.xds),
            None if plan.gateways.is_empty() => return Ok(()),
            None => anyhow::bail!(
                "the {:?} profile has no control plane and no default control plane is installed; \
                 install one first with `ferryctl install --local`",
                plan.profile
            ),
        }
    };
    std::fs::create_dir_all(home.sockets_dir())
        .with_context(|| format!("creating {}", home.sockets_dir().display()))?;
    for gateway in &plan.gateways {
        // Gateways are not revisioned by name: one another revision runs is upgraded in place
        // (Istio's canary upgrades do the same), its successor taking over its sockets.
        if let Ok(existing) = registry.find_proxy(&gateway.id())
            && existing.revision != plan.revision
            && existing.running()
        {
            eprintln!(
                "{}: taking over from revision {:?} in place",
                gateway.id(),
                existing.revision
            );
        }
        units.push(Unit::Gateway {
            gateway: gateway.clone(),
            admin: ANY_PORT,
            discovery,
        });
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let exe = std::env::current_exe().context("locating the ferryctl executable")?;
    let mut tasks = tokio::task::JoinSet::new();
    for unit in units {
        let ctx = Keep {
            exe: exe.clone(),
            home: home.clone(),
            registry: registry.clone(),
            plan: plan.clone(),
            log: home.logs_dir().join(unit.log_name(&plan.revision)),
            unit,
        };
        tasks.spawn(ctx.run(stop_rx.clone()));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let _ = stop_tx.send(true);
    while let Some(done) = tasks.join_next().await {
        if let Ok(Err(e)) = done {
            eprintln!("stopping: {e:#}");
        }
    }
    Ok(())
}

/// Keeps one unit running.
struct Keep {
    exe: PathBuf,
    home: Home,
    registry: Registry,
    plan: Plan,
    unit: Unit,
    log: PathBuf,
}

/// A started process: its pid and, for a gateway, the control plane it was pointed at.
struct Started {
    pid: u32,
    discovery: Option<SocketAddr>,
}

impl Keep {
    async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<()> {
        let mut health = Health::default();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started_at = Instant::now();
            let Some(discovery) = self.discovery(&mut stop).await else {
                return self.unit.remove_record(&self.registry, &self.plan);
            };
            match self.spawn(&health, discovery) {
                Ok((mut child, log_offset)) => {
                    let started = Started {
                        pid: child.id().unwrap_or(0),
                        discovery,
                    };
                    let mut learned = false;
                    let mut recorded = false;
                    let status = loop {
                        tokio::select! {
                            status = child.wait() => break status,
                            _ = stop.changed() => {
                                stop_child(&mut child).await;
                                return self.unit.remove_record(&self.registry, &self.plan);
                            }
                            _ = tokio::time::sleep(Duration::from_millis(50)), if !recorded => {
                                if !learned {
                                    learned = self.unit.learn(&read_from(&self.log, log_offset));
                                }
                                if learned && probe::ready(self.ready_address()).await {
                                    self.unit.record(&self.registry, &self.plan, &started, &self.log, &health)?;
                                    recorded = true;
                                }
                            }
                        }
                    };
                    if matches!(self.unit, Unit::Gateway { .. })
                        && announce::find_handed_over(
                            &read_from(&self.log, log_offset),
                            started.pid,
                        )
                    {
                        // Another supervisor's proxy took over; its record is that one's now.
                        self.note("handed over to another revision; no longer supervised here");
                        return Ok(());
                    }
                    let how = describe(status);
                    self.note(&format!("exited ({how}); restarting in {backoff:?}"));
                    health.restarts += 1;
                    health.last_exit = Some(how);
                    if recorded && self.unit.owns_record(&self.registry, &self.plan) {
                        // Kept, with the dead pid, until the restart is ready: commands report it.
                        self.unit.record(
                            &self.registry,
                            &self.plan,
                            &started,
                            &self.log,
                            &health,
                        )?;
                    } else {
                        // Never ready: its addresses may have been taken since they were picked.
                        self.unit.repick();
                    }
                }
                Err(e) => self.note(&format!("cannot start: {e:#}; retrying in {backoff:?}")),
            }
            if started_at.elapsed() >= HEALTHY_UPTIME {
                backoff = FIRST_BACKOFF;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return self.unit.remove_record(&self.registry, &self.plan),
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// For a gateway of this revision's control plane: its current xDS address, once it is
    /// recorded (ready). The outer `None` means asked to stop while waiting.
    async fn discovery(&self, stop: &mut watch::Receiver<bool>) -> Option<Option<SocketAddr>> {
        let Unit::Gateway { discovery, .. } = &self.unit else {
            return Some(None);
        };
        if discovery.is_some() {
            return Some(*discovery);
        }
        loop {
            if let Ok(Some(cp)) = self.registry.control_plane(&self.plan.revision)
                && cp.running()
            {
                return Some(Some(cp.xds));
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = stop.changed() => return None,
            }
        }
    }

    fn ready_address(&self) -> SocketAddr {
        self.unit.ready_address()
    }

    /// Starts the process; also the log's length after the start marker, where what this
    /// process writes begins.
    fn spawn(&self, health: &Health, discovery: Option<SocketAddr>) -> Result<(Child, u64)> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let _ = writeln!(
            log,
            "--- ferryctl supervisor: starting (restarts so far: {})",
            health.restarts
        );
        let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let err = log.try_clone().context("duplicating the log file")?;
        let mut command = Command::new(&self.exe);
        match &self.unit {
            Unit::ControlPlane { .. } => {
                // istiod's pod name, which the control plane reports as its identity
                // (proxy-status' ISTIOD column).
                command.env("POD_NAME", control_plane_name(&self.plan.revision));
            }
            Unit::Gateway { gateway, .. } => {
                for name in crate::cli::proxy::POD_ENVIRONMENT {
                    command.env_remove(name);
                }
                // The gateway's service account token, for its workload certificate.
                identity::token_file(
                    &self.home.tokens_dir(),
                    &gateway.namespace,
                    &identity::gateway_service_account(&gateway.name),
                )?;
            }
        }
        let child = command
            .args(self.unit.args(&self.home, &self.plan, discovery))
            .env(HOME_ENV, self.home.root())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        Ok((child, offset))
    }

    fn note(&self, what: &str) {
        if let Ok(mut log) = OpenOptions::new().append(true).open(&self.log) {
            let _ = writeln!(log, "--- ferryctl supervisor: {what}");
        }
    }
}

/// SIGTERM, then SIGKILL after [`STOP_GRACE`].
async fn stop_child(child: &mut Child) {
    if let Some(pid) = child.id() {
        terminate(pid);
    }
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Sends `signal` to `pid`; an error when there is no such process (or it is not ours).
pub fn signal(pid: u32, signal: rustix::process::Signal) -> std::io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| std::io::Error::other(format!("{pid} is not a process id")))?;
    Ok(rustix::process::kill_process(pid, signal)?)
}

/// Sends SIGTERM to `pid` (no-op when it is gone).
pub fn terminate(pid: u32) {
    let _ = signal(pid, rustix::process::Signal::TERM);
}

/// Sends SIGKILL to `pid` (no-op when it is gone).
pub fn kill(pid: u32) {
    let _ = signal(pid, rustix::process::Signal::KILL);
}

/// SIGTERM, then SIGKILL if `pid` is still there after `grace`.
pub fn stop(pid: u32, grace: Duration) {
    terminate(pid);
    if !wait_gone(pid, grace) {
        kill(pid);
    }
}

/// Waits up to `within` for `pid` to be gone.
pub fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while process_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn describe(status: std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(e) => format!("lost: {e}"),
    }
}

/// Port 0: the process binds any free port and announces it.
const ANY_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// What a log holds from `offset` on (empty when unreadable).
fn read_from(path: &Path, offset: u64) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path)
        && f.seek(SeekFrom::Start(offset)).is_ok()
    {
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        // Lossy: one stray byte must not hide every line after it.
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}
