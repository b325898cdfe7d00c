//! `ferryctl verify-install` (kept from istioctl ≤1.23): checks that what the install rendered is
//! present and healthy, `✔`/`✘` per component with a hint for each failure (`local::verify`).

use anyhow::Result;
use clap::Args;

use crate::cli::GlobalArgs;
use crate::cli::output::write_stdout;
use crate::cli::target;
use crate::exit::Exit;
use crate::local::verify::{self, Outcome};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # Verify the local mesh\n  \
    ferryctl verify-install --local\n\n  \
    # Only the canary revision\n  \
    ferryctl verify-install --local -r canary")]
pub struct VerifyArgs {
    /// Control plane revision to verify (default: every installed one)
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
}

pub fn run(global: &GlobalArgs, args: &VerifyArgs) -> Result<Exit> {
    let registry = target::local_only(global, "verify-install against Kubernetes")?;
    let revision = args
        .revision
        .as_deref()
        .map(|r| if r.is_empty() { "default" } else { r });
    let report = verify::verify(registry.home(), revision)?;
    if report.revisions.is_empty() && report.checks.is_empty() {
        write_stdout(&format!(
            "! No Istio installation found in the local mesh at {}{}\n",
            registry.home().root().display(),
            revision
                .map(|r| format!(" (revision {r})"))
                .unwrap_or_default()
        ))?;
        return Ok(Exit::Failure);
    }
    let mut out = String::new();
    for check in &report.checks {
        match &check.outcome {
            Outcome::Ok(None) => {
                out.push_str(&format!("✔ {} checked successfully\n", check.subject))
            }
            Outcome::Ok(Some(note)) => out.push_str(&format!(
                "✔ {} checked successfully ({note})\n",
                check.subject
            )),
            Outcome::Failed { problem, hint } => out.push_str(&format!(
                "✘ {}: {problem}\n    hint: {hint}\n",
                check.subject
            )),
        }
    }
    out.push_str(&format!(
        "Checked {} control plane{}\nChecked {} gateway{}\n",
        report.control_planes,
        if report.control_planes == 1 { "" } else { "s" },
        report.gateways,
        if report.gateways == 1 { "" } else { "s" },
    ));
    let failures = report.failures();
    if failures == 0 {
        out.push_str("✔ Istio is installed and verified successfully\n");
        write_stdout(&out)?;
        Ok(Exit::Success)
    } else {
        write_stdout(&out)?;
        Err(anyhow::anyhow!(
            "Istio installation verification failed: {failures} problem{} found",
            if failures == 1 { "" } else { "s" }
        ))
    }
}
