//! `ferryctl upgrade` on a cluster: an in-place upgrade that shows what it will change before it
//! changes it. The install is rendered as `install` renders it and applied once as a server-side
//! dry run; every object the apply would change is shown as a unified diff of its YAML, as the
//! cluster holds it and as the dry run says it would become. Both copies come from the API
//! server, defaulted alike, and without the fields the server keeps for itself (status, managed
//! fields, resourceVersion, uid, creationTimestamp, generation), so only what the apply changes
//! shows. The objects it would create and prune are listed; then istioctl's question, and the
//! apply and wait as `install` does them. With nothing to change it says so and exits 0.
//!
//! istioctl's `upgrade` is an alias of `install`; on the local mesh ours still is.

use anyhow::{Context as _, Result};

use super::InstallArgs;
use super::cluster::{apply_for_real, confirm_install, dry_run, prepare, runtime};
use crate::cli::GlobalArgs;
use crate::cli::output::{default_color, unified_diff, write_stdout};
use crate::cli::target::cluster_client;
use crate::exit::Exit;
use crate::install::apply::{Action, Edit, Report, comparable};
use crate::install::output::object_yaml;

pub fn run(global: &GlobalArgs, args: &InstallArgs) -> Result<Exit> {
    let prepared = prepare(args)?;
    let runtime = runtime()?;
    let report = runtime
        .block_on(async {
            let client = cluster_client(global).await?;
            anyhow::Ok(dry_run(&client, &prepared, args).await?)
        })
        .context("upgrade failed")?;
    let Some(plan) = plan(&report, default_color()) else {
        write_stdout(
            "The cluster already matches this installation; there is nothing to upgrade.\n",
        )?;
        return Ok(Exit::Success);
    };
    write_stdout(&plan)?;
    if args.dry_run {
        write_stdout("Dry run: nothing was changed in the cluster.\n")?;
        return Ok(Exit::Success);
    }
    if !args.skip_confirmation && !confirm_install(&prepared.profile)? {
        println!("Cancelled.");
        return Ok(Exit::Failure);
    }
    apply_for_real(&runtime, global, &prepared, args)
}

/// What the upgrade would change: a diff per changed object, the objects to create and to
/// prune, and the counts; `None` when it would change nothing.
pub fn plan(report: &Report, color: bool) -> Option<String> {
    let (created, changed, pruned) = (
        report.count(Action::Created),
        report.count(Action::Changed),
        report.count(Action::Pruned),
    );
    if created + changed + pruned == 0 {
        return None;
    }
    let mut out = String::new();
    for edit in &report.edits {
        out.push_str(&diff(edit, color));
    }
    for (title, action) in [
        ("Objects to create:", Action::Created),
        ("Objects to prune:", Action::Pruned),
    ] {
        let objects: Vec<String> = report
            .changes
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(o, _)| format!("  {o}\n"))
            .collect();
        if !objects.is_empty() {
            out.push_str(title);
            out.push('\n');
            out.push_str(&objects.concat());
        }
    }
    out.push_str(&format!(
        "Upgrade: {created} to create, {changed} to change, {} unchanged, {pruned} to prune.\n",
        report.count(Action::Unchanged)
    ));
    Some(out)
}

/// One changed object as a unified diff, live → rendered.
fn diff(edit: &Edit, color: bool) -> String {
    let live = object_yaml(&comparable(&edit.live));
    let applied = object_yaml(&comparable(&edit.applied));
    unified_diff(
        &live,
        &applied,
        &format!("{} (live)", edit.object),
        &format!("{} (rendered)", edit.object),
        color,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::apply::ObjectRef;
    use serde_json::json;

    fn reference(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    #[test]
    fn nothing_to_change_is_no_plan() {
        let report = Report {
            changes: vec![(reference("Service", "istiod"), Action::Unchanged)],
            edits: Vec::new(),
        };
        assert_eq!(plan(&report, false), None);
    }

    #[test]
    fn a_plan_diffs_what_the_apply_changes_and_nothing_the_server_keeps() {
        let live = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio", "namespace": "ns", "uid": "1234",
                         "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z",
                         "managedFields": [{"manager": "ferryctl"}]},
            "data": {"mesh": "accessLogFile: \"\"\nrootNamespace: ns\n"}
        });
        let mut applied = live.clone();
        applied["metadata"]["resourceVersion"] = json!("8");
        applied["data"]["mesh"] = json!("accessLogFile: /dev/stdout\nrootNamespace: ns\n");
        let report = Report {
            changes: vec![
                (reference("ConfigMap", "istio"), Action::Changed),
                (reference("ServiceAccount", "new"), Action::Created),
                (reference("Deployment", "old"), Action::Pruned),
                (reference("Service", "istiod"), Action::Unchanged),
            ],
            edits: vec![Edit {
                object: reference("ConfigMap", "istio"),
                live,
                applied,
            }],
        };
        let text = plan(&report, false).expect("a plan");
        assert!(
            text.starts_with(
                "--- ConfigMap/ns/istio (live)\n+++ ConfigMap/ns/istio (rendered)\n@@"
            ),
            "{text}"
        );
        let changed: Vec<&str> = text
            .lines()
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
            })
            .collect();
        assert_eq!(changed.len(), 2, "{text}");
        assert!(changed[0].starts_with('-') && changed[0].contains("accessLogFile"));
        assert!(changed[1].starts_with('+') && changed[1].contains("/dev/stdout"));
        for noise in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
        ] {
            assert!(!text.contains(noise), "{noise} in {text}");
        }
        assert!(
            text.ends_with(
                "Objects to create:\n  ServiceAccount/ns/new\nObjects to prune:\n  \
                 Deployment/ns/old\nUpgrade: 1 to create, 1 to change, 1 unchanged, 1 to prune.\n"
            ),
            "{text}"
        );
        assert!(!text.contains("\x1b["), "no color unless asked");
        assert!(plan(&report, true).expect("a plan").contains("\x1b[31m-"));
    }
}
