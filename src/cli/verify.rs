//! `ferryctl verify-install` (kept from istioctl ≤1.23): checks that what the install rendered is
//! present and healthy, `✔`/`✘` per object or component with a hint for each failure. On the
//! local mesh the checks are `local::verify`'s; on a cluster they are `install::verify`'s, over
//! what `-f`/`--set`/`-r` render or, without them, over what every installed revision owns.
//! Both print through [`report`], istioctl's lines.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::cli::output::{default_color, write_stdout};
use crate::cli::profile::ManifestsArg;
use crate::cli::target::{self, Target};
use crate::discovery::source::kube;
use crate::exit::{CommandError, Exit};
use crate::install::apply::order;
use crate::install::apply::prune::{Owned, owned_labelled};
use crate::install::crds;
use crate::install::overlay::OverlayFile;
use crate::install::render::{self, Component, names::REV_LABEL};
use crate::install::resolve::{ResolveInput, resolve};
use crate::install::verify::{self as cluster_verify, Check, Outcome};
use crate::local::registry::Registry;
use crate::local::verify;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # Verify every control plane revision installed in the kubeconfig's cluster\n  \
    ferryctl verify-install\n\n  \
    # Verify an install against what its flags render: every object present and ready\n  \
    ferryctl verify-install -r canary --set profile=demo\n\n  \
    # Verify the local mesh\n  \
    ferryctl verify-install --local\n\n  \
    # Only the canary revision\n  \
    ferryctl verify-install --local -r canary")]
pub struct VerifyArgs {
    /// Istio YAML installation file: the IstioOperator files the install used, overlaid left to
    /// right (Kubernetes target)
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub filenames: Vec<String>,
    /// An IstioOperator value the install used, as install's --set (Kubernetes target)
    #[arg(short = 's', long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Control plane revision to verify (default: every installed one)
    #[arg(short = 'r', long)]
    pub revision: Option<String>,
    #[command(flatten)]
    pub manifests: ManifestsArg,
}

pub fn run(global: &GlobalArgs, args: &VerifyArgs) -> Result<Exit> {
    args.manifests.refuse()?;
    match target::choose(global)? {
        Target::Local(registry) => run_local(&registry, args),
        Target::Kubernetes => run_cluster(global, args),
    }
}

fn run_local(registry: &Registry, args: &VerifyArgs) -> Result<Exit> {
    if !args.filenames.is_empty() || !args.set.is_empty() {
        return Err(CommandError::usage(
            "-f and --set say what to verify in a cluster; the local mesh is verified against \
             what its install rendered (use -r to pick a revision)",
        )
        .into());
    }
    let revision = args
        .revision
        .as_deref()
        .map(|r| if r.is_empty() { "default" } else { r });
    let report = verify::verify(registry.home(), revision)?;
    if report.revisions.is_empty() && report.checks.is_empty() {
        write_stdout(&no_installation(&format!(
            " in the local mesh at {}{}",
            registry.home().root().display(),
            revision
                .map(|r| format!(" (revision {r})"))
                .unwrap_or_default()
        )))?;
        return Ok(Exit::Failure);
    }
    let counts = [
        format!(
            "Checked {} control plane{}",
            report.control_planes,
            if report.control_planes == 1 { "" } else { "s" }
        ),
        format!(
            "Checked {} gateway{}",
            report.gateways,
            if report.gateways == 1 { "" } else { "s" }
        ),
    ];
    finish(&report.checks, &counts)
}

/// `! No Istio installation found`, and where it was looked for.
fn no_installation(place: &str) -> String {
    format!("! No Istio installation found{place}\n")
}

fn paint(code: &str, mark: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{mark}\x1b[0m")
    } else {
        mark.to_string()
    }
}

/// istioctl's lines for `checks` and the `counts` after them, then its verdict when nothing
/// failed and `installed`; `✔`/`✘` colored when wanted.
pub(crate) fn report(checks: &[Check], counts: &[String], installed: bool, color: bool) -> String {
    let (ok, failed) = (paint("32", "✔", color), paint("31", "✘", color));
    let mut out = String::new();
    for check in checks {
        match &check.outcome {
            Outcome::Ok(None) => {
                out.push_str(&format!("{ok} {} checked successfully\n", check.subject))
            }
            Outcome::Ok(Some(note)) => out.push_str(&format!(
                "{ok} {} checked successfully ({note})\n",
                check.subject
            )),
            Outcome::Failed { problem, hint } => out.push_str(&format!(
                "{failed} {}: {problem}\n    hint: {hint}\n",
                check.subject
            )),
        }
    }
    for line in counts {
        out.push_str(line);
        out.push('\n');
    }
    if installed && !checks.iter().any(|c| c.outcome.failed()) {
        out.push_str(&format!(
            "{ok} Istio is installed and verified successfully\n"
        ));
    }
    out
}

/// Prints the report; a failed check makes the command fail, counting the problems.
fn finish(checks: &[Check], counts: &[String]) -> Result<Exit> {
    write_stdout(&report(checks, counts, true, default_color()))?;
    let failures = checks.iter().filter(|c| c.outcome.failed()).count();
    if failures == 0 {
        return Ok(Exit::Success);
    }
    Err(anyhow::anyhow!(
        "Istio installation verification failed: {failures} problem{} found",
        if failures == 1 { "" } else { "s" }
    ))
}

fn run_cluster(global: &GlobalArgs, args: &VerifyArgs) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let client = runtime.block_on(kube::client(
        global.kubeconfig.as_deref().map(std::path::Path::new),
        global.context.as_deref(),
    ))?;
    let rendered = !args.filenames.is_empty() || !args.set.is_empty() || args.revision.is_some();
    let (checks, crds, deployments) = if rendered {
        let (objects, istio_namespace) = rendered_objects(global, args)?;
        let reinstall = reinstall_command(args);
        let report = runtime
            .block_on(cluster_verify::verify(
                &client,
                &objects,
                &istio_namespace,
                &reinstall,
            ))
            .context("verifying the installation")?;
        (report.checks, report.crds, report.deployments)
    } else {
        let owned = runtime
            .block_on(owned_labelled(&client, &render::any_install_selector()))
            .context("looking for installed control planes")?;
        let revisions = by_revision(owned);
        if revisions.is_empty() {
            write_stdout(&no_installation(""))?;
            return Ok(Exit::Failure);
        }
        write_stdout(&format!(
            "{} Istio control plane{} detected, checking {}\n",
            revisions.len(),
            if revisions.len() == 1 { "" } else { "s" },
            revisions
                .keys()
                .map(|r| format!("--revision {r:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        let mut checks = Vec::new();
        let (mut crds, mut deployments) = (0, 0);
        // The CRDs are shared by every revision; each revision's Base component applied them.
        let with_base = revisions.values().flatten().any(|o| {
            o.labels
                .get(render::names::COMPONENT_LABEL)
                .map(String::as_str)
                == Some(Component::Base.name())
        });
        let mut groups: Vec<(String, Vec<Value>, String)> = Vec::new();
        if with_base {
            groups.push((
                "ferryctl install".to_string(),
                crds::crds(),
                global.istio_namespace.clone(),
            ));
        }
        for (rev, objects) in &revisions {
            let namespace = objects
                .iter()
                .find_map(|o| o.object.namespace.clone())
                .unwrap_or_else(|| global.istio_namespace.clone());
            let reinstall = if rev == "default" {
                "ferryctl install (with the flags it was installed with)".to_string()
            } else {
                format!("ferryctl install -r {rev} (with the flags it was installed with)")
            };
            groups.push((reinstall, objects.iter().map(stub).collect(), namespace));
        }
        for (reinstall, objects, namespace) in groups {
            let report = runtime
                .block_on(cluster_verify::verify(
                    &client, &objects, &namespace, &reinstall,
                ))
                .context("verifying the installation")?;
            checks.extend(report.checks);
            crds += report.crds;
            deployments += report.deployments;
        }
        (checks, crds, deployments)
    };
    let counts = [
        format!("Checked {crds} custom resource definitions"),
        format!("Checked {deployments} Istio Deployments"),
    ];
    if deployments == 0 {
        // istioctl's verdict when no control plane Deployment is there at all: the checks above
        // say what is missing.
        write_stdout(&report(&checks, &counts, false, default_color()))?;
        write_stdout(&no_installation(""))?;
        return Ok(Exit::Failure);
    }
    finish(&checks, &counts)
}

/// What `-f`/`--set`/`-r` render, CRDs first as install applies them, and the control plane's
/// namespace (for the subjects of cluster-scoped objects, as istioctl prints them).
fn rendered_objects(global: &GlobalArgs, args: &VerifyArgs) -> Result<(Vec<Value>, String)> {
    let resolved = resolve(&ResolveInput {
        files: OverlayFile::read_all(&args.filenames)?,
        sets: args.set.clone(),
        revision: args.revision.clone(),
        force: false,
    })?;
    for w in &resolved.warnings {
        eprintln!("Warning: {w}");
    }
    let rendered = render::render(&resolved.iop)?;
    let mut objects = Vec::new();
    if rendered.iter().any(|r| r.component == Component::Base) {
        objects.extend(crds::crds());
    }
    let namespace = rendered
        .iter()
        .find(|r| r.object["kind"] == "Deployment")
        .and_then(|r| r.object["metadata"]["namespace"].as_str())
        .unwrap_or(&global.istio_namespace)
        .to_string();
    objects.extend(rendered.into_iter().map(|r| r.object));
    Ok((objects, namespace))
}

/// The owned objects by revision (`istio.io/rev`), each revision's in apply order.
fn by_revision(owned: Vec<Owned>) -> BTreeMap<String, Vec<Owned>> {
    let mut revisions: BTreeMap<String, Vec<Owned>> = BTreeMap::new();
    for o in owned {
        let rev = o
            .labels
            .get(REV_LABEL)
            .cloned()
            .unwrap_or_else(|| "default".to_string());
        revisions.entry(rev).or_default().push(o);
    }
    for objects in revisions.values_mut() {
        objects.sort_by_key(|o| order::rank(&o.object.kind));
    }
    revisions
}

/// An object to look up: `apiVersion`, `kind`, name and namespace.
fn stub(o: &Owned) -> Value {
    let mut meta = json!({"name": o.object.name});
    if let Some(ns) = &o.object.namespace {
        meta["namespace"] = json!(ns);
    }
    json!({"apiVersion": o.api_version, "kind": o.object.kind, "metadata": meta})
}

/// The `install` command with the flags given here: what puts a missing object back.
fn reinstall_command(args: &VerifyArgs) -> String {
    let mut command = "ferryctl install".to_string();
    if let Some(r) = &args.revision {
        command.push_str(&format!(" -r {}", shell_word(r)));
    }
    for f in &args.filenames {
        command.push_str(&format!(" -f {}", shell_word(f)));
    }
    for s in &args.set {
        command.push_str(&format!(" --set {}", shell_word(s)));
    }
    command
}

/// `word` as one shell word: as it is when it holds nothing a shell treats specially.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@[]+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(subject: &str, outcome: Outcome) -> Check {
        Check {
            subject: subject.into(),
            outcome,
        }
    }

    #[test]
    fn lines_are_istioctls() {
        let checks = [
            check("Deployment: istiod.istio-system", Outcome::Ok(None)),
            check(
                "Process: istiod.istio-system",
                Outcome::Ok(Some("restarted 1 time".into())),
            ),
        ];
        let counts = ["Checked 14 custom resource definitions".to_string()];
        assert_eq!(
            report(&checks, &counts, true, false),
            "✔ Deployment: istiod.istio-system checked successfully\n\
             ✔ Process: istiod.istio-system checked successfully (restarted 1 time)\n\
             Checked 14 custom resource definitions\n\
             ✔ Istio is installed and verified successfully\n"
        );
        let failed = [check(
            "Deployment: istiod.istio-system",
            Outcome::Failed {
                problem: "not found in the cluster".into(),
                hint: "run `ferryctl install`".into(),
            },
        )];
        let text = report(&failed, &[], true, true);
        assert_eq!(
            text,
            "\x1b[31m✘\x1b[0m Deployment: istiod.istio-system: not found in the cluster\n    \
             hint: run `ferryctl install`\n"
        );
    }

    #[test]
    fn the_reinstall_command_repeats_the_flags() {
        let args = VerifyArgs {
            filenames: vec!["iop.yaml".into()],
            set: vec![
                "meshConfig.accessLogFile=/dev/stdout".into(),
                "a=b c".into(),
            ],
            revision: Some("canary".into()),
            manifests: ManifestsArg { manifests: None },
        };
        assert_eq!(
            reinstall_command(&args),
            "ferryctl install -r canary -f iop.yaml --set meshConfig.accessLogFile=/dev/stdout \
             --set 'a=b c'"
        );
    }
}
