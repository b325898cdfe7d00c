//! Installing and uninstalling a revision of the local mesh: write what the revision runs, start
//! (or keep) its supervisor, and wait until every component answers `/ready`; or stop the
//! supervisor and remove the revision's state and nothing else.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::local::home::{HOME_ENV, Home};
use crate::local::plan::Plan;
use crate::local::probe;
use crate::local::registry::{
    Registry, RegistryError, control_plane_name, process_alive, write_record,
};
use crate::local::supervisor::{self, PID_FILE, PLAN_FILE};

/// The manifest an install rendered, kept in the revision's directory (`tag generate` reads it).
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// What the installer reports while it works, for the progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Working on component `name`, waiting for `what`.
    Waiting { component: String, what: String },
    /// Component `name` is ready.
    Done { component: String },
    /// Something the user should know that is not a failure.
    Note(String),
}

/// Whether `install` started a supervisor or found this exact install already running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Started,
    Replaced,
    Unchanged,
}

/// The pid of the revision's supervisor, when one is running.
pub fn supervisor_pid(home: &Home, revision: &str) -> Option<u32> {
    let text = std::fs::read_to_string(home.revision_dir(revision).join(PID_FILE)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    process_alive(pid).then_some(pid)
}

/// Installs `plan` into the local mesh at `home` and waits (up to `timeout`) for it to be ready.
pub fn install(
    home: &Home,
    plan: &Plan,
    manifest: &str,
    timeout: Duration,
    progress: &mut dyn FnMut(Step),
) -> Result<Outcome> {
    let dir = home.revision_dir(&plan.revision);
    let plan_path = dir.join(PLAN_FILE);
    let previous: Option<Plan> = std::fs::read(&plan_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    progress(Step::Waiting {
        component: "Istio core".into(),
        what: format!("Directory {}", home.config_dir().display()),
    });
    std::fs::create_dir_all(home.config_dir())
        .with_context(|| format!("creating {}", home.config_dir().display()))?;
    std::fs::create_dir_all(home.logs_dir())
        .with_context(|| format!("creating {}", home.logs_dir().display()))?;
    progress(Step::Done {
        component: "Istio core".into(),
    });

    let running = supervisor_pid(home, &plan.revision);
    // Gateways are upgraded in place by the install that names them last: one another revision
    // runs now is taken back by restarting this revision's supervisor.
    let registry = Registry::at(home.clone());
    let elsewhere = plan.gateways.iter().any(|g| {
        registry
            .find_proxy(&g.id())
            .is_ok_and(|p| p.revision != plan.revision && p.running())
    });
    let outcome = match (running, previous.as_ref() == Some(plan) && !elsewhere) {
        (Some(_), true) => Outcome::Unchanged,
        (Some(pid), false) => {
            stop_supervisor(home, &plan.revision, pid)?;
            Outcome::Replaced
        }
        (None, _) => {
            // A supervisor that was killed leaves its components running: stop them first, or
            // they would hold the ports the new ones want.
            stop_supervisor(home, &plan.revision, 0)?;
            Outcome::Started
        }
    };
    if outcome != Outcome::Unchanged {
        write_record(&plan_path, plan)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        std::fs::write(&manifest_path, manifest)
            .with_context(|| format!("writing {}", manifest_path.display()))?;
        start_supervisor(home, &plan.revision)?;
    }
    wait_ready(home, plan, timeout, progress)?;
    Ok(outcome)
}

fn start_supervisor(home: &Home, revision: &str) -> Result<()> {
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe().context("locating the ferryctl executable")?;
    let log_path = home.logs_dir().join(supervisor_log(revision));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let err = log.try_clone().context("duplicating the log file")?;
    let child = std::process::Command::new(exe)
        .args(["local", "supervise", "--revision", revision])
        .env(HOME_ENV, home.root())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        // Its own process group: a Ctrl-C in the installing terminal must not stop the mesh.
        .process_group(0)
        .spawn()
        .context("starting the local mesh supervisor")?;
    // Written here too (the supervisor writes it on start) so a quick re-run sees it at once.
    let pid_path = home.revision_dir(revision).join(PID_FILE);
    std::fs::write(&pid_path, format!("{}\n", child.id()))
        .with_context(|| format!("writing {}", pid_path.display()))?;
    Ok(())
}

fn supervisor_log(revision: &str) -> String {
    format!("supervisor-{revision}.log")
}

fn wait_ready(
    home: &Home,
    plan: &Plan,
    timeout: Duration,
    progress: &mut dyn FnMut(Step),
) -> Result<()> {
    let registry = Registry::at(home.clone());
    let deadline = Instant::now() + timeout;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let check_supervisor = |what: &str| -> Result<()> {
        if supervisor_pid(home, &plan.revision).is_none() {
            let log = home.logs_dir().join(supervisor_log(&plan.revision));
            bail!(
                "the local mesh supervisor of revision {:?} exited while waiting for {what}; see {}{}",
                plan.revision,
                log.display(),
                tail(&log)
            );
        }
        Ok(())
    };
    let timed_out = |what: &str, log: Option<&Path>| {
        anyhow::anyhow!(
            "timed out after {timeout:?} waiting for {what}{}",
            log.map(|l| format!("; see {}{}", l.display(), tail(l)))
                .unwrap_or_default()
        )
    };
    if plan.control_plane {
        let name = control_plane_name(&plan.revision);
        progress(Step::Waiting {
            component: "Istiod".into(),
            what: format!("Process/{name}"),
        });
        loop {
            check_supervisor(&name)?;
            let record = registry.control_plane(&plan.revision)?;
            if let Some(cp) = &record
                && cp.running()
                && runtime.block_on(probe::ready(cp.monitoring))
            {
                break;
            }
            if Instant::now() >= deadline {
                return Err(timed_out(
                    &name,
                    Some(&home.logs_dir().join(format!("{name}.log"))),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        progress(Step::Done {
            component: "Istiod".into(),
        });
    }
    for component in ["Ingress gateways", "Egress gateways"] {
        let gateways: Vec<_> = plan
            .gateways
            .iter()
            .filter(|g| g.component == component)
            .collect();
        if gateways.is_empty() {
            continue;
        }
        for g in &gateways {
            progress(Step::Waiting {
                component: component.into(),
                what: format!("Process/{}/{}", g.namespace, g.name),
            });
            let mut moving = None;
            loop {
                check_supervisor(&g.id())?;
                match registry.find_proxy(&g.id()) {
                    Ok(p)
                        if p.revision == plan.revision
                            && p.running()
                            && runtime.block_on(probe::ready(p.admin)) =>
                    {
                        break;
                    }
                    Ok(p) if p.revision != plan.revision && p.running() && moving.is_none() => {
                        progress(Step::Note(format!(
                            "{} moves from revision {} in place: its new proxy takes over the \
                             listening sockets, the old one drains (gateways are not revisioned)",
                            g.id(),
                            p.revision
                        )));
                        moving = Some(p.revision);
                    }
                    _ => {}
                }
                if Instant::now() >= deadline {
                    return Err(timed_out(
                        &g.id(),
                        Some(&home.logs_dir().join(format!("{}.log", g.id()))),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        progress(Step::Done {
            component: component.into(),
        });
    }
    Ok(())
}

/// The last lines of a log, indented, for error messages.
fn tail(path: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(5);
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "; its last lines:\n{}",
        lines[start..]
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Stops the supervisor `pid` of `revision` and everything it recorded; waits for them.
pub fn stop_supervisor(home: &Home, revision: &str, pid: u32) -> Result<()> {
    supervisor::stop(pid, Duration::from_secs(10));
    // Components left behind (the supervisor was killed, or did not finish stopping them).
    let registry = Registry::at(home.clone());
    let mut leftovers = Vec::new();
    if let Some(cp) = registry.control_plane(revision)? {
        leftovers.push(cp.pid);
        registry.remove_control_plane(revision)?;
    }
    for p in registry.proxies()? {
        if p.revision == revision && p.role == crate::local::registry::ProxyRole::Router {
            leftovers.push(p.pid);
            registry.remove_proxy(&p.id())?;
        }
    }
    for pid in leftovers {
        supervisor::stop(pid, Duration::from_secs(5));
    }
    Ok(())
}

/// What `uninstall` removed, for its output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub control_plane: Option<String>,
    pub gateways: Vec<String>,
}

/// Stops revision `revision` and removes its state. Configuration and sidecars stay.
pub fn uninstall(home: &Home, revision: &str) -> Result<Removed> {
    let registry = Registry::at(home.clone());
    let mut removed = Removed::default();
    if registry.control_plane(revision)?.is_some() {
        removed.control_plane = Some(control_plane_name(revision));
    }
    removed.gateways = registry
        .proxies()?
        .into_iter()
        .filter(|p| p.revision == revision && p.role == crate::local::registry::ProxyRole::Router)
        .map(|p| p.id())
        .collect();
    if let Some(pid) = supervisor_pid(home, revision) {
        stop_supervisor(home, revision, pid)?;
    } else {
        stop_supervisor(home, revision, 0)?;
    }
    let dir = home.revision_dir(revision);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", dir.display()));
        }
        _ => {}
    }
    Ok(removed)
}

/// The revisions with an install (running or not).
pub fn installed_revisions(home: &Home) -> Result<Vec<String>, RegistryError> {
    let dir = home.revisions_dir();
    let read = |source| RegistryError::Read {
        path: dir.clone(),
        source,
    };
    let mut revs = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(revs),
        Err(e) => return Err(read(e)),
    };
    for entry in entries {
        let entry = entry.map_err(read)?;
        if entry.path().join(PLAN_FILE).exists()
            && let Some(name) = entry.file_name().to_str()
        {
            revs.push(name.to_string());
        }
    }
    revs.sort();
    Ok(revs)
}
