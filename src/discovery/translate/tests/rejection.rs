//! Invalid objects are rejected alone: the rest of the config still translates.

use super::*;

const YAML: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: good, namespace: shop}
spec:
  hosts: [web]
  http: [{route: [{destination: {host: web, subset: v1}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad-weights, namespace: shop}
spec:
  hosts: [web]
  http:
  - route:
    - {destination: {host: web}, weight: 101}
    - {destination: {host: web}, weight: -1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: typo, namespace: shop}
spec:
  hosts: [web]
  htttp: []
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: good, namespace: shop}
spec:
  host: web
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bad, namespace: shop}
spec:
  host: ""
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bad, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: []}]
"#;

#[test]
fn invalid_objects_are_listed_with_reasons_and_the_rest_translates() {
    let push = push(YAML);
    let rejected: Vec<(String, &str)> = push
        .rejected()
        .iter()
        .map(|r| (r.kind.to_string(), r.name.as_str()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            ("VirtualService".to_string(), "bad-weights"),
            ("VirtualService".to_string(), "typo"),
            ("DestinationRule".to_string(), "bad"),
            ("Gateway".to_string(), "bad"),
        ]
    );
    for r in push.rejected() {
        assert!(!r.reasons.is_empty(), "{r}");
        assert!(r.origin.starts_with("test.yaml:"), "{r}");
    }
    let typo = push
        .rejected()
        .iter()
        .find(|r| r.name == "typo")
        .expect("typo");
    assert!(typo.reasons[0].contains("htttp"), "{typo}");
    assert!(
        typo.to_string().contains("VirtualService shop/typo"),
        "{typo}"
    );

    // The good VirtualService and DestinationRule are in force.
    let cfg = config_for(&push, &sidecar("shop", &[]));
    let vh = vhost(route_config(&cfg, "80"), "web.shop.svc.cluster.local:80");
    assert_eq!(
        destinations(&vh.routes[0]),
        vec![("outbound|80|v1|web.shop.svc.cluster.local".into(), 100)]
    );
    assert!(route_vs_config(&vh.routes[0]).is_some_and(|p| p.ends_with("/virtual-service/good")));
    cluster(&cfg, "outbound|80|v1|web.shop.svc.cluster.local");
}
