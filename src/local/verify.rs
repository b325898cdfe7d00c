//! What `verify-install` checks on the local target: for each installed revision, that its
//! supervisor runs, that every component the install rendered is running and answers `/ready`,
//! what the supervisor saw (restarts, the last exit), and whether the control plane rejected any
//! of the config directory's objects. Each finding carries the fix.

use std::time::Duration;

use serde_json::Value;

pub use crate::install::verify::{Check, Outcome};
use crate::local::home::Home;
use crate::local::install::{installed_revisions, supervisor_pid};
use crate::local::plan::Plan;
use crate::local::registry::{Health, Registry, RegistryError, control_plane_name};
use crate::local::supervisor::PLAN_FILE;

/// Everything checked, by revision.
#[derive(Debug, Default)]
pub struct Report {
    pub revisions: Vec<String>,
    pub checks: Vec<Check>,
    pub control_planes: usize,
    pub gateways: usize,
}

impl Report {
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| c.outcome.failed()).count()
    }
}

fn health_note(h: &Health) -> Option<String> {
    (h.restarts > 0).then(|| {
        format!(
            "restarted {} time{}, last exit: {}",
            h.restarts,
            if h.restarts == 1 { "" } else { "s" },
            h.last_exit.as_deref().unwrap_or("unknown")
        )
    })
}

/// Checks the revisions `only` names (all installed ones when `None`).
pub fn verify(home: &Home, only: Option<&str>) -> Result<Report, RegistryError> {
    let registry = Registry::at(home.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| RegistryError::Read {
            path: home.root().to_path_buf(),
            source,
        })?;
    let mut report = Report::default();
    let revisions = installed_revisions(home)?;
    for rev in revisions
        .into_iter()
        .filter(|r| only.is_none_or(|o| o == r))
    {
        let plan_path = home.revision_dir(&rev).join(PLAN_FILE);
        let Some(plan) = std::fs::read(&plan_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Plan>(&b).ok())
        else {
            report.checks.push(Check {
                subject: format!("Install: {rev}"),
                outcome: Outcome::Failed {
                    problem: format!("{} is missing or unreadable", plan_path.display()),
                    hint: format!("run `ferryctl install --local -r {rev}` again"),
                },
            });
            continue;
        };
        report.revisions.push(rev.clone());
        let reinstall = if rev == "default" {
            "ferryctl install --local".to_string()
        } else {
            format!("ferryctl install --local -r {rev}")
        };
        let supervisor_log = home.logs_dir().join(format!("supervisor-{rev}.log"));
        let supervised = supervisor_pid(home, &rev).is_some();
        report.checks.push(Check {
            subject: format!("Supervisor: {rev}"),
            outcome: if supervised {
                Outcome::Ok(None)
            } else {
                Outcome::Failed {
                    problem: "not running: nothing restarts this revision's components".into(),
                    hint: format!(
                        "see {}; run `{reinstall}` to start it again",
                        supervisor_log.display()
                    ),
                }
            },
        });
        if plan.control_plane {
            report.control_planes += 1;
            let name = control_plane_name(&rev);
            let subject = format!("Process: {name}.istio-system");
            let outcome = match registry.control_plane(&rev)? {
                None => Outcome::Failed {
                    problem: "not running (no record)".into(),
                    hint: format!("run `{reinstall}`"),
                },
                Some(cp) if !cp.running() => Outcome::Failed {
                    problem: format!(
                        "process {} is gone{}",
                        cp.pid,
                        health_note(&cp.health)
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    ),
                    hint: restart_hint(supervised, &reinstall, cp.log.as_deref()),
                },
                Some(cp) => {
                    if runtime.block_on(crate::local::probe::ready(cp.monitoring)) {
                        let rejected = runtime.block_on(rejected_objects(cp.monitoring));
                        if let Some(rejected) = rejected.filter(|r| !r.is_empty()) {
                            report.checks.push(Check {
                                subject: format!("Config: {}", home.config_dir().display()),
                                outcome: Outcome::Failed {
                                    problem: format!(
                                        "{} object{} rejected by {name}: {}",
                                        rejected.len(),
                                        if rejected.len() == 1 { "" } else { "s" },
                                        rejected.join("; ")
                                    ),
                                    hint: format!(
                                        "run `ferryctl analyze --use-kube=false -A {}` for the details and fixes",
                                        home.config_dir().display()
                                    ),
                                },
                            });
                        }
                        Outcome::Ok(health_note(&cp.health))
                    } else {
                        Outcome::Failed {
                            problem: format!("not ready at {}", cp.monitoring),
                            hint: restart_hint(supervised, &reinstall, cp.log.as_deref()),
                        }
                    }
                }
            };
            report.checks.push(Check { subject, outcome });
        }
        for g in &plan.gateways {
            report.gateways += 1;
            let subject = format!("Process: {}", g.id());
            let outcome = match registry.find_proxy(&g.id()) {
                Err(RegistryError::ProxyNotFound { .. }) => Outcome::Failed {
                    problem: "not running (no record)".into(),
                    hint: format!("run `{reinstall}`"),
                },
                Err(e) => return Err(e),
                Ok(p) if p.revision != rev && p.running() => {
                    Outcome::Ok(Some(format!("run by revision {}", p.revision)))
                }
                Ok(p) if !p.running() => Outcome::Failed {
                    problem: format!(
                        "process {} is gone{}",
                        p.pid,
                        health_note(&p.health)
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    ),
                    hint: restart_hint(supervised, &reinstall, p.log.as_deref()),
                },
                Ok(p) => {
                    if runtime.block_on(crate::local::probe::ready(p.admin)) {
                        Outcome::Ok(health_note(&p.health))
                    } else {
                        Outcome::Failed {
                            problem: format!("not ready at {}", p.admin),
                            hint: format!(
                                "`ferryctl proxy-status --local` shows whether it has its config; {}",
                                restart_hint(supervised, &reinstall, p.log.as_deref())
                            ),
                        }
                    }
                }
            };
            report.checks.push(Check { subject, outcome });
        }
    }
    Ok(report)
}

fn restart_hint(supervised: bool, reinstall: &str, log: Option<&std::path::Path>) -> String {
    let log = log
        .map(|l| format!("see {}; ", l.display()))
        .unwrap_or_default();
    if supervised {
        format!("{log}the supervisor restarts it with back-off; check again in a few seconds")
    } else {
        format!("{log}run `{reinstall}` to start it again")
    }
}

/// The objects the control plane rejected (`/debug/configz`), as `Kind namespace/name`.
async fn rejected_objects(monitoring: std::net::SocketAddr) -> Option<Vec<String>> {
    let body = tokio::time::timeout(
        Duration::from_secs(5),
        crate::proxyconfig::admin::request(monitoring, http::Method::GET, "/debug/configz"),
    )
    .await
    .ok()?
    .ok()?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    Some(
        v["rejected"]
            .as_array()?
            .iter()
            .map(|r| {
                format!(
                    "{} {}/{}",
                    r["kind"].as_str().unwrap_or("?"),
                    r["namespace"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or("?")
                )
            })
            .collect(),
    )
}
