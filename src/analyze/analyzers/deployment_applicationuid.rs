//! `applicationUID.Analyzer` (Istio's `deployment.ApplicationUIDAnalyzer`): application pods
//! must not run as UID 1337, which the sidecar proxy's traffic capture exempts.
//!
//! Istio checks Pods and Deployments (its inputs). Ferry declares only Pod, which the framework
//! counts as present when any workload is, so a file with just Pods or just Deployments is still
//! analysed; the checks themselves stay on Pods and Deployments, as Istio's.

use super::service_portname::is_istio_control_plane;
use crate::analyze::catalog::IST0144;
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;

pub const ANALYZER: Analyzer = Analyzer {
    name: "applicationUID.Analyzer",
    description: "Checks invalid application UID",
    inputs: &[Kind::Pod],
    reads: &[Kind::Pod, Kind::Deployment],
    run,
};

/// The UID Istio's proxy runs as.
const PROXY_UID: i64 = 1337;

fn run(ctx: &mut Context<'_>) {
    for w in ctx.workloads {
        if !matches!(w.resource.kind, Kind::Pod | Kind::Deployment) {
            continue;
        }
        // The control-plane exemption reads the object's own labels (for a Deployment, not its
        // template's), as Istio's `IsIstioControlPlane(resource)`.
        if is_istio_control_plane(w.resource.labels()) {
            continue;
        }
        let pod_level =
            w.spec.security_context.as_ref().and_then(|s| s.run_as_user) == Some(PROXY_UID);
        let container_level = w.spec.containers.iter().any(|c| {
            c.name != "istio-proxy"
                && c.name != "istio-operator"
                && c.security_context.as_ref().and_then(|s| s.run_as_user) == Some(PROXY_UID)
        });
        // Istio reports the identical message once per offending place and its output
        // de-duplicates them, so one report per object is what the user sees.
        if pod_level || container_level {
            ctx.report(&IST0144, w.resource, None, &[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    #[test]
    fn uid_1337_fires_on_pods_and_deployments() {
        let yaml = r#"apiVersion: v1
kind: Pod
metadata: {name: pod-sec-uid, namespace: default}
spec:
  securityContext: {runAsUser: 1337}
  containers: [{name: app, image: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: con-sec-uid, namespace: default}
spec:
  containers:
  - {name: app, image: a, securityContext: {runAsUser: 1337}}
  - {name: other, image: b, securityContext: {runAsUser: 1337}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: deploy-con-sec-uid, namespace: default}
spec:
  template:
    spec:
      containers:
      - {name: app, image: a, securityContext: {runAsUser: 1337}}
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair("IST0144", "Deployment default/deploy-con-sec-uid"),
                pair("IST0144", "Pod default/con-sec-uid"),
                pair("IST0144", "Pod default/pod-sec-uid"),
            ]
        );
        assert_eq!(
            lines(&ANALYZER, yaml)[0],
            "Warning [IST0144] (Deployment default/deploy-con-sec-uid test.yaml:16) User ID (UID) 1337 is reserved for the sidecar proxy."
        );
    }

    #[test]
    fn proxy_containers_control_plane_and_other_uids_pass() {
        let yaml = r#"apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  securityContext: {runAsUser: 1000}
  containers:
  - {name: app, image: a}
  - {name: istio-proxy, image: proxyv2, securityContext: {runAsUser: 1337}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
  labels: {istio: pilot}
spec:
  template:
    spec:
      securityContext: {runAsUser: 1337}
      containers: [{name: discovery, image: pilot}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, namespace: default}
spec:
  template:
    spec:
      securityContext: {runAsUser: 1337}
      containers: [{name: app, image: a}]
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }
}
