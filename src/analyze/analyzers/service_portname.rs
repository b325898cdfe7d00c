//! `service.PortNameAnalyzer`: every Service port should name its protocol the way Istio reads
//! it (`<protocol>[-<suffix>]`, or `appProtocol`), otherwise Istio falls back to protocol
//! sniffing; ExternalName Services additionally must not use the bare name `tcp`.

use crate::analyze::catalog::{IST0118, IST0150};
use crate::analyze::context::{Analyzer, Context};
use crate::config::kind::Kind;
use crate::config::kube::ServicePort;
use crate::config::resource::Spec;
use crate::config::source::IGNORED_NAMESPACES;
use crate::config::types::IntOrString;

pub const ANALYZER: Analyzer = Analyzer {
    name: "service.PortNameAnalyzer",
    description: "Checks the port names associated with each service",
    inputs: &[Kind::Service],
    reads: &[Kind::Service],
    run,
};

/// `util.IsIstioControlPlane`: Istio's own components carry an `istio` label (any value) or
/// `release: istio`, and are exempt from checks aimed at user workloads.
pub(crate) fn is_istio_control_plane(labels: &std::collections::BTreeMap<String, String>) -> bool {
    labels.contains_key("istio") || labels.get("release").is_some_and(|v| v == "istio")
}

fn run(ctx: &mut Context<'_>) {
    for r in ctx.of(Kind::Service) {
        let Spec::Service(svc) = &r.spec else {
            continue;
        };
        if IGNORED_NAMESPACES.contains(&r.effective_namespace())
            || is_istio_control_plane(r.labels())
        {
            continue;
        }
        let external_name = svc.type_.as_deref() == Some("ExternalName");
        for (i, port) in svc.ports.iter().enumerate() {
            let name = port.name.as_deref().unwrap_or_default();
            let unsupported = protocol_of(port) == Protocol::Unsupported;
            let bare_tcp_external = name == "tcp" && external_name;
            if !(unsupported || bare_tcp_external) {
                continue;
            }
            let path = format!("{{.spec.ports[{i}].port}}");
            if external_name {
                ctx.report(&IST0150, r, Some(&path), &[]);
            } else {
                ctx.report(
                    &IST0118,
                    r,
                    Some(&path),
                    &[
                        name.into(),
                        port.port.into(),
                        target_port_string(port.target_port.as_ref()).into(),
                    ],
                );
            }
        }
    }
}

/// Go's `intstr.IntOrString.String()`: the number, the name, or `0` when unset.
fn target_port_string(tp: Option<&IntOrString>) -> String {
    tp.map_or_else(|| "0".to_string(), ToString::to_string)
}

/// The protocols `kube.ConvertProtocol` distinguishes; only `Unsupported` matters here, the
/// others are kept so the mapping reads as Istio's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Tcp,
    Udp,
    Sctp,
    Grpc,
    GrpcWeb,
    Http,
    HttpProxy,
    Http2,
    Https,
    Tls,
    Mongo,
    Redis,
    Mysql,
    Unsupported,
}

/// `kube.ConvertProtocol(port, name, protocol, appProtocol)`.
fn protocol_of(port: &ServicePort) -> Protocol {
    match port.protocol.as_deref() {
        Some("UDP") => return Protocol::Udp,
        Some("SCTP") => return Protocol::Sctp,
        _ => {}
    }
    let mut name = port.name.as_deref().unwrap_or_default();
    if let Some(app) = port.app_protocol.as_deref() {
        name = app;
        // Kubernetes' standard appProtocol values (only appProtocol can hold them).
        match app {
            "kubernetes.io/h2c" => return Protocol::Http2,
            "kubernetes.io/ws" => return Protocol::Http,
            "kubernetes.io/wss" => return Protocol::Https,
            _ => {}
        }
    }
    // `grpc-web` contains the separator, so it is matched before the prefix cut.
    if name.to_ascii_lowercase().starts_with("grpc-web") {
        return Protocol::GrpcWeb;
    }
    let prefix = name.split_once('-').map_or(name, |(p, _)| p);
    let p = parse_protocol(prefix);
    if p == Protocol::Unsupported && matches!(port.port, 25 | 53 | 3306 | 27017) {
        // Well-known TCP ports default to TCP when unnamed.
        return Protocol::Tcp;
    }
    p
}

/// `protocol.Parse`, case-insensitive.
fn parse_protocol(s: &str) -> Protocol {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "grpc" => Protocol::Grpc,
        "grpc-web" => Protocol::GrpcWeb,
        "http" => Protocol::Http,
        "http_proxy" => Protocol::HttpProxy,
        "http2" => Protocol::Http2,
        "https" => Protocol::Https,
        "tls" => Protocol::Tls,
        "mongo" => Protocol::Mongo,
        "redis" => Protocol::Redis,
        "mysql" => Protocol::Mysql,
        _ => Protocol::Unsupported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyzers::testing::{lines, pair, run};

    const UNNAMED: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: my-service1
  namespace: my-namespace1
spec:
  selector:
    app: my-app1
  ports:
  - protocol: TCP
    port: 8080
    targetPort: 18080
  - name: foo-http
    protocol: TCP
    port: 8081
  - name: http-ok
    port: 8082
---
apiVersion: v1
kind: Service
metadata:
  name: my-service2
  namespace: my-namespace2
spec:
  ports:
  - name: foo
    port: 8080
    targetPort: web
  - name: grpc-web-x
    port: 9090
  - port: 3306
  - name: data
    protocol: UDP
    port: 5000
  - name: x
    appProtocol: kubernetes.io/h2c
    port: 7000
"#;

    #[test]
    fn unnamed_and_unknown_prefixes_fire() {
        assert_eq!(
            run(&ANALYZER, UNNAMED),
            vec![
                pair("IST0118", "Service my-namespace1/my-service1"),
                pair("IST0118", "Service my-namespace1/my-service1"),
                pair("IST0118", "Service my-namespace2/my-service2"),
            ]
        );
    }

    #[test]
    fn message_text_and_line() {
        let got = lines(&ANALYZER, UNNAMED);
        assert!(got.contains(
            &"Info [IST0118] (Service my-namespace1/my-service1 test.yaml:11) Port name  (port: 8080, targetPort: 18080) doesn't follow the naming convention of Istio port."
                .to_string()
        ), "{got:?}");
        assert!(got.contains(
            &"Info [IST0118] (Service my-namespace2/my-service2 test.yaml:27) Port name foo (port: 8080, targetPort: web) doesn't follow the naming convention of Istio port."
                .to_string()
        ), "{got:?}");
    }

    #[test]
    fn named_ports_and_control_plane_pass() {
        let yaml = r#"apiVersion: v1
kind: Service
metadata: {name: ok}
spec:
  ports:
  - {name: http, port: 80}
  - {name: TCP-db, port: 5432}
  - {name: anything, appProtocol: https, port: 443}
---
apiVersion: v1
kind: Service
metadata:
  name: istiod
  labels: {istio: pilot}
spec:
  ports:
  - {port: 15010}
"#;
        assert_eq!(run(&ANALYZER, yaml), vec![]);
    }

    #[test]
    fn external_name_services() {
        let yaml = r#"apiVersion: v1
kind: Service
metadata: {name: nginx, namespace: nginx-ns}
spec:
  type: ExternalName
  externalName: nginx.example.com
  ports:
  - {name: tcp, port: 80}
---
apiVersion: v1
kind: Service
metadata: {name: nginx-svc2, namespace: nginx-ns2}
spec:
  type: ExternalName
  externalName: nginx.example.com
  ports:
  - {name: bogus, port: 80}
---
apiVersion: v1
kind: Service
metadata: {name: good, namespace: nginx-ns3}
spec:
  type: ExternalName
  externalName: nginx.example.com
  ports:
  - {name: http, port: 80}
  - {name: tcp-db, port: 5432}
"#;
        assert_eq!(
            run(&ANALYZER, yaml),
            vec![
                pair("IST0150", "Service nginx-ns/nginx"),
                pair("IST0150", "Service nginx-ns2/nginx-svc2"),
            ]
        );
    }
}
