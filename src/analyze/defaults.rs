//! Istio's default resources for offline analysis (`AddDefaultResources`): the ingress gateway
//! Pod and Service istiod would find in `istio-system`, so Gateways selecting
//! `istio: ingressgateway` resolve without the user shipping the gateway in their files.

use std::sync::Arc;

use super::mesh::MeshConfig;
use crate::config::kind::Kind;
use crate::config::source::{LoadOptions, parse_file};
use crate::config::store::Store;

/// Adds the default ingress Pod and Service unless the inputs define them already.
pub fn add(store: &mut Store, mesh: &MeshConfig) {
    let ns = "istio-system";
    let text = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: istio-ingressgateway-dummypod
  namespace: {ns}
  labels:
    istio: {selector}
spec:
  containers:
  - name: istio-proxy
    image: proxyv2
---
apiVersion: v1
kind: Service
metadata:
  name: {service}
  namespace: {ns}
spec:
  selector:
    istio: {selector}
  ports:
  - {{name: http2, port: 80, targetPort: 80, protocol: TCP}}
  - {{name: https, port: 443, targetPort: 443, protocol: TCP}}
  - {{name: tcp, port: 31400, targetPort: 31400, protocol: TCP}}
  - {{name: tls, port: 15443, targetPort: 15443, protocol: TCP}}
"#,
        selector = mesh.ingress_selector,
        service = mesh.ingress_service,
    );
    let parsed = parse_file(
        "",
        &text,
        &LoadOptions {
            default_namespace: Some(ns.to_string()),
            ..LoadOptions::default()
        },
    );
    for mut r in parsed.resources {
        if store.get(r.kind, ns, r.name()).is_some()
            || (r.kind == Kind::Service
                && store
                    .get(Kind::Service, ns, &mesh.ingress_service)
                    .is_some())
        {
            continue;
        }
        r.origin.file = Arc::from("");
        r.origin.line = 0;
        store.push(r);
    }
}
