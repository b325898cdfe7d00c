use envoy_types::pb::google::protobuf::Any;
use prost::Message as _;

use super::*;
use crate::discovery::mesh::MeshOptions;
use crate::discovery::testing::store;
use crate::discovery::translate::tests::{router, sidecar};

fn push_with(mesh: MeshOptions, yaml: &str) -> PushContext {
    PushContext::new(&store(yaml), mesh)
}

fn file_log(t: &HcmTelemetry) -> Option<FileAccessLog> {
    let log = t.access_log.first()?;
    assert_eq!(log.name, FILE_ACCESS_LOG);
    let Some(access_log::ConfigType::TypedConfig(Any { value, .. })) = &log.config_type else {
        return None;
    };
    FileAccessLog::decode(value.as_slice()).ok()
}

fn text_format(log: &FileAccessLog) -> Option<&str> {
    match &log.access_log_format {
        Some(file_access_log::AccessLogFormat::LogFormat(SubstitutionFormatString {
            format:
                Some(substitution_format_string::Format::TextFormatSource(DataSource {
                    specifier: Some(data_source::Specifier::InlineString(s)),
                    ..
                })),
            ..
        })) => Some(s),
        _ => None,
    }
}

fn logging_mesh(encoding: AccessLogEncoding) -> MeshOptions {
    MeshOptions {
        access_log: Some(AccessLogOptions {
            file: "/dev/stdout".into(),
            encoding,
            format: None,
        }),
        ..MeshOptions::default()
    }
}

#[test]
fn istios_defaults_log_nothing_and_sample_one_percent() {
    let push = push_with(MeshOptions::default(), "");
    let t = for_proxy(&push, &sidecar("default", &[("app", "a")]), None);
    assert!(t.access_log.is_empty());
    let tracing = t.tracing.expect("tracing is on by default");
    assert_eq!(tracing.random_sampling.map(|p| p.value), Some(1.0));
    assert_eq!(tracing.client_sampling.map(|p| p.value), Some(100.0));
    let off = MeshOptions {
        trace_sampling: None,
        ..MeshOptions::default()
    };
    assert!(
        for_proxy(&push_with(off, ""), &router("istio-system", &[]), None)
            .tracing
            .is_none()
    );
}

#[test]
fn access_log_file_gives_istios_text_or_json_format() {
    let push = push_with(logging_mesh(AccessLogEncoding::Text), "");
    let t = for_proxy(&push, &router("istio-system", &[]), None);
    let log = file_log(&t).expect("a file access log");
    assert_eq!(log.path, "/dev/stdout");
    assert_eq!(text_format(&log), Some(ISTIO_TEXT_FORMAT));

    let push = push_with(logging_mesh(AccessLogEncoding::Json), "");
    let log = file_log(&for_proxy(&push, &router("istio-system", &[]), None)).expect("a log");
    let Some(file_access_log::AccessLogFormat::LogFormat(SubstitutionFormatString {
        format: Some(substitution_format_string::Format::JsonFormat(s)),
        ..
    })) = &log.access_log_format
    else {
        panic!("JSON format expected: {log:?}");
    };
    assert_eq!(s.fields.len(), 24);
    assert!(matches!(
        &s.fields["request_id"].kind,
        Some(value::Kind::StringValue(v)) if v == "%REQ(X-REQUEST-ID)%"
    ));
}

#[test]
fn a_custom_format_gets_its_newline() {
    let mesh = MeshOptions {
        access_log: Some(AccessLogOptions {
            file: "/tmp/a.log".into(),
            encoding: AccessLogEncoding::Text,
            format: Some("%RESPONSE_CODE% %REQ(:PATH)%".into()),
        }),
        ..MeshOptions::default()
    };
    let t = for_proxy(&push_with(mesh, ""), &sidecar("default", &[]), None);
    let log = file_log(&t).expect("a log");
    assert_eq!(text_format(&log), Some("%RESPONSE_CODE% %REQ(:PATH)%\n"));
}

const DISABLE_IN_ROOT: &str = "apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  accessLogging:
  - disabled: true
";

#[test]
fn telemetry_resources_override_the_mesh_from_root_to_workload() {
    // The root namespace's Telemetry turns the mesh's logging off everywhere...
    let push = push_with(logging_mesh(AccessLogEncoding::Text), DISABLE_IN_ROOT);
    assert!(
        for_proxy(&push, &sidecar("default", &[("app", "a")]), None)
            .access_log
            .is_empty()
    );
    // ...except where a namespace's or a workload's turns it back on, with the built-in
    // `envoy` provider, and sets its own sampling.
    let yaml = format!(
        "{DISABLE_IN_ROOT}---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: reviews-logs
  namespace: default
spec:
  selector:
    matchLabels:
      app: reviews
  accessLogging:
  - providers:
    - name: envoy
  tracing:
  - randomSamplingPercentage: 50
"
    );
    let push = push_with(MeshOptions::default(), &yaml);
    let reviews = for_proxy(&push, &sidecar("default", &[("app", "reviews")]), None);
    assert_eq!(
        file_log(&reviews).map(|l| l.path),
        Some("/dev/stdout".to_string())
    );
    assert_eq!(
        reviews
            .tracing
            .and_then(|t| t.random_sampling)
            .map(|p| p.value),
        Some(50.0)
    );
    let other = for_proxy(&push, &sidecar("default", &[("app", "ratings")]), None);
    assert!(other.access_log.is_empty());
    assert_eq!(
        other
            .tracing
            .and_then(|t| t.random_sampling)
            .map(|p| p.value),
        Some(1.0)
    );
}
