//! Sharing outbound config between sidecars: a sidecar's config is another's (same signature)
//! with its own inbound side, exactly.

use std::collections::BTreeMap;

use super::*;
use crate::discovery::translate::encode::encode;
use crate::discovery::translate::{Proxy, is_inbound, outbound_signature, translate_inbound};

const YAML: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: shop}
spec:
  hosts: [a.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: a}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: b, namespace: shop}
spec:
  hosts: [b.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9090, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: b}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: a1, namespace: shop}
spec: {address: 10.0.0.1, labels: {app: a}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: b1, namespace: shop}
spec: {address: 10.0.0.2, labels: {app: b}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: shop}
spec:
  hosts: [b.shop.svc.cluster.local]
  http:
  - match:
    - sourceLabels: {app: canary}
    route:
    - destination: {host: a.shop.svc.cluster.local}
  - route:
    - destination: {host: b.shop.svc.cluster.local}
";

fn proxy(app: &str, ip: &str) -> Proxy {
    Proxy {
        ip: Some(ip.parse().expect("ip")),
        ..sidecar("shop", &[("app", app)])
    }
}

/// Every resource of a config, by type and name, encoded.
fn resources(cfg: &ProxyConfig) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for l in &cfg.listeners {
        out.insert(format!("L {}", l.name), encode(l).expect("encodes"));
    }
    for r in &cfg.routes {
        out.insert(format!("R {}", r.name), encode(r).expect("encodes"));
    }
    for c in &cfg.clusters {
        out.insert(format!("C {}", c.name), encode(c).expect("encodes"));
    }
    for e in &cfg.endpoints {
        out.insert(format!("E {}", e.cluster_name), encode(e).expect("encodes"));
    }
    out
}

/// `a` and `b` share an outbound signature, and `b`'s config assembled as the server assembles
/// it (`a`'s without its inbound side, plus `b`'s own inbound side) is exactly `b`'s own.
fn assert_shared(push: &PushContext, a: &Proxy, b: &Proxy, opts: &TranslateOptions) {
    assert_eq!(
        outbound_signature(push, a, opts),
        outbound_signature(push, b, opts)
    );
    let full_a = resources(&translate(push, a, opts));
    let full_b = resources(&translate(push, b, opts));
    assert_ne!(full_a, full_b, "their inbound sides differ");
    let mut assembled: BTreeMap<String, Vec<u8>> = full_a
        .into_iter()
        .filter(|(k, _)| !is_inbound(&k[2..]))
        .collect();
    let (clusters, listeners) = translate_inbound(push, b, opts);
    for c in clusters {
        assembled.insert(format!("C {}", c.name), encode(&c).expect("encodes"));
    }
    for l in listeners {
        assembled.insert(format!("L {}", l.name), encode(&l).expect("encodes"));
    }
    let differing: Vec<&String> = assembled
        .keys()
        .chain(full_b.keys())
        .filter(|k| assembled.get(*k) != full_b.get(*k))
        .collect();
    assert!(differing.is_empty(), "differ: {differing:?}");
}

#[test]
fn a_sidecar_is_another_with_its_own_inbound_side() {
    let push = push(YAML);
    let a = proxy("a", "10.0.0.1");
    let b = proxy("b", "10.0.0.2");
    assert_shared(&push, &a, &b, &TranslateOptions::default());
}

/// The namespace's default Sidecar, with an `ingress` entry.
const INGRESS_SIDECAR: &str = "
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: 8080, name: http, protocol: HTTP}
    defaultEndpoint: 127.0.0.1:31000
";

#[test]
fn a_sidecar_ingress_splits_signatures_only_without_capture() {
    let push = push(&format!("{YAML}{INGRESS_SIDECAR}"));
    let a = proxy("a", "10.0.0.1");
    let b = proxy("b", "10.0.0.2");
    // Captured proxies get no listeners from `ingress`: their IPs do not split them.
    assert_shared(&push, &a, &b, &TranslateOptions::default());
    // Without capture each one's ingress listeners may bind its own IP.
    let no_capture = TranslateOptions {
        no_capture: true,
        ..Default::default()
    };
    assert_ne!(
        outbound_signature(&push, &a, &no_capture),
        outbound_signature(&push, &b, &no_capture)
    );
}

#[test]
fn source_labels_split_signatures() {
    let push = push(YAML);
    let captured = TranslateOptions::default();
    assert_ne!(
        outbound_signature(&push, &proxy("a", "10.0.0.1"), &captured),
        outbound_signature(&push, &proxy("canary", "10.0.0.3"), &captured)
    );
    assert_eq!(
        outbound_signature(&push, &router("shop", &[]), &captured),
        None
    );
}
