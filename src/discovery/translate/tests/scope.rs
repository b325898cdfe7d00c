//! What a proxy sees: Sidecar egress hosts, `exportTo`, and the size that saves.

use super::*;

fn service(name: &str, ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{app: {name}}}\n  ports: [{{name: http, port: 80}}]\n---\n"
    )
}

fn mesh_of(namespaces: &[&str], extra: &str) -> PushContext {
    let mut yaml = String::new();
    for ns in namespaces {
        yaml.push_str(&service("web", ns));
    }
    yaml.push_str(extra);
    let push = push(&yaml);
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    push
}

fn hosts(cfg: &ProxyConfig) -> Vec<String> {
    cfg.clusters
        .iter()
        .filter_map(|c| crate::discovery::translate::names::parse_outbound_cluster(&c.name))
        .map(|(_, _, host)| host.to_string())
        .collect()
}

const SIDECAR_A: &str = r#"
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: a}
spec:
  egress: [{hosts: ["./*", "istio-system/*"]}]
"#;

#[test]
fn sidecar_egress_hosts_limit_clusters_and_routes() {
    let push = mesh_of(&["a", "b", "istio-system"], SIDECAR_A);
    let cfg = config_for(&push, &sidecar("a", &[]));
    assert_eq!(
        hosts(&cfg),
        vec![
            "web.a.svc.cluster.local",
            "web.istio-system.svc.cluster.local"
        ]
    );
    let vhosts: Vec<&str> = route_config(&cfg, "80")
        .virtual_hosts
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(
        vhosts,
        vec![
            "web.a.svc.cluster.local:80",
            "web.istio-system.svc.cluster.local:80",
            "allow_any"
        ]
    );
    // The Sidecar applies to namespace a only.
    let b = config_for(&push, &sidecar("b", &[]));
    assert_eq!(hosts(&b).len(), 3);
}

#[test]
fn a_selecting_sidecar_beats_the_namespace_default_and_the_root_default_applies_last() {
    let extra = r#"
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress: [{hosts: ["./*"]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: narrow, namespace: a}
spec:
  workloadSelector: {labels: {app: narrow}}
  egress: [{hosts: ["b/*"]}]
"#;
    let push = mesh_of(
        &["a", "b", "istio-system"],
        &format!("{SIDECAR_A}---\n{extra}"),
    );
    let narrow = config_for(&push, &sidecar("a", &[("app", "narrow")]));
    assert_eq!(hosts(&narrow), vec!["web.b.svc.cluster.local"]);
    let plain = config_for(&push, &sidecar("a", &[]));
    assert_eq!(hosts(&plain).len(), 2);
    // Namespace b has no Sidecar: the root namespace's applies.
    let b = config_for(&push, &sidecar("b", &[]));
    assert_eq!(hosts(&b), vec!["web.istio-system.svc.cluster.local"]);
}

#[test]
fn export_to_hides_virtual_services_destination_rules_and_service_entries() {
    let extra = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: b}
spec:
  exportTo: ["."]
  hosts: [web.b.svc.cluster.local]
  http: [{route: [{destination: {host: web.b.svc.cluster.local, subset: v1}}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: b}
spec:
  exportTo: ["."]
  host: web.b.svc.cluster.local
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: private, namespace: b}
spec:
  exportTo: ["."]
  hosts: [private.example.com]
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
"#;
    let push = mesh_of(&["a", "b"], extra);
    let inside = config_for(&push, &sidecar("b", &[]));
    assert!(cluster_names(&inside).contains(&"outbound|80|v1|web.b.svc.cluster.local"));
    assert!(cluster_names(&inside).contains(&"outbound|80||private.example.com"));
    let vh = vhost(route_config(&inside, "80"), "web.b.svc.cluster.local:80");
    assert_eq!(
        route_vs_config(&vh.routes[0]).map(|p| p.ends_with("/b/virtual-service/web")),
        Some(true)
    );

    let outside = config_for(&push, &sidecar("a", &[]));
    assert!(!cluster_names(&outside).contains(&"outbound|80|v1|web.b.svc.cluster.local"));
    assert!(!cluster_names(&outside).contains(&"outbound|80||private.example.com"));
    let vh = vhost(route_config(&outside, "80"), "web.b.svc.cluster.local:80");
    assert_eq!(vh.routes[0].name, "default");
}

#[test]
fn virtual_service_destinations_outside_the_sidecar_still_get_clusters() {
    let extra = format!(
        "{SIDECAR_A}---\n{}",
        r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: a}
spec:
  hosts: [web]
  http: [{route: [{destination: {host: web.b.svc.cluster.local}}]}]
"#
    );
    let push = mesh_of(&["a", "b"], &extra);
    let cfg = config_for(&push, &sidecar("a", &[]));
    cluster(&cfg, "outbound|80||web.b.svc.cluster.local");
    // ... but no virtual host of its own.
    let rc = route_config(&cfg, "80");
    assert!(
        !rc.virtual_hosts
            .iter()
            .any(|v| v.name == "web.b.svc.cluster.local:80")
    );
}

/// A mesh of `namespaces` namespaces with `per_ns` services each, every service with two Pods,
/// a DestinationRule with two subsets and a VirtualService splitting traffic between them.
pub fn generated_mesh(namespaces: usize, per_ns: usize, with_sidecar: bool) -> String {
    let mut yaml = String::new();
    for n in 0..namespaces {
        let ns = format!("ns{n}");
        for s in 0..per_ns {
            let svc = format!("svc{s}");
            yaml.push_str(&format!(
                r#"apiVersion: v1
kind: Service
metadata: {{name: {svc}, namespace: {ns}}}
spec:
  clusterIP: 10.96.{n}.{s}
  selector: {{app: {svc}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}, {{name: grpc, port: 9090}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {svc}, namespace: {ns}}}
spec:
  host: {svc}
  trafficPolicy: {{connectionPool: {{tcp: {{maxConnections: 100}}}}}}
  subsets: [{{name: v1, labels: {{version: v1}}}}, {{name: v2, labels: {{version: v2}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {svc}, namespace: {ns}}}
spec:
  hosts: [{svc}]
  http:
  - match: [{{headers: {{end-user: {{exact: jason}}}}}}]
    route: [{{destination: {{host: {svc}, subset: v2}}}}]
  - route:
    - {{destination: {{host: {svc}, subset: v1}}, weight: 90}}
    - {{destination: {{host: {svc}, subset: v2}}, weight: 10}}
    retries: {{attempts: 3, perTryTimeout: 2s}}
---
"#
            ));
            for (i, version) in ["v1", "v2"].iter().enumerate() {
                yaml.push_str(&format!(
                    "apiVersion: v1\nkind: Pod\nmetadata: {{name: {svc}-{version}, namespace: {ns}, labels: {{app: {svc}, version: {version}}}}}\nspec: {{containers: [{{name: app}}]}}\nstatus: {{podIP: 10.{n}.{s}.{i}}}\n---\n"
                ));
            }
        }
    }
    if with_sidecar {
        yaml.push_str(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: ns0}\nspec:\n  egress: [{hosts: [\"./*\", \"istio-system/*\"]}]\n",
        );
    }
    yaml
}

#[test]
fn a_sidecar_shrinks_the_encoded_configuration() {
    let (namespaces, per_ns) = (20, 5);
    let proxy = sidecar("ns0", &[("app", "client")]);
    let size = |with_sidecar| {
        let push = push(&generated_mesh(namespaces, per_ns, with_sidecar));
        assert!(push.rejected().is_empty(), "{:?}", push.rejected());
        let cfg = config_for(&push, &proxy);
        let encoded = cfg.encode().expect("encodes");
        let per_type = [
            encoded
                .listeners
                .iter()
                .map(|r| r.resource.value.len())
                .sum::<usize>(),
            encoded.routes.iter().map(|r| r.resource.value.len()).sum(),
            encoded
                .clusters
                .iter()
                .map(|r| r.resource.value.len())
                .sum(),
            encoded
                .endpoints
                .iter()
                .map(|r| r.resource.value.len())
                .sum(),
        ];
        (encoded.size(), per_type, cfg.clusters.len())
    };
    let (full, full_types, full_clusters) = size(false);
    let (scoped, scoped_types, scoped_clusters) = size(true);
    eprintln!(
        "{} services in {namespaces} namespaces; proxy in ns0\n  without Sidecar: {full} bytes (LDS {}, RDS {}, CDS {}, EDS {}), {full_clusters} clusters\n  with Sidecar ./* istio-system/*: {scoped} bytes (LDS {}, RDS {}, CDS {}, EDS {}), {scoped_clusters} clusters\n  reduction: {:.1}%",
        namespaces * per_ns,
        full_types[0],
        full_types[1],
        full_types[2],
        full_types[3],
        scoped_types[0],
        scoped_types[1],
        scoped_types[2],
        scoped_types[3],
        100.0 * (1.0 - scoped as f64 / full as f64)
    );
    // One namespace of twenty: the scoped config must be a small fraction of the full one.
    assert!(scoped * 10 < full, "{scoped} vs {full}");
}
