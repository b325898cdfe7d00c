use std::time::{Duration, UNIX_EPOCH};

use http::HeaderValue;

use super::*;
use crate::discovery::translate::telemetry::{ISTIO_JSON_FORMAT, ISTIO_TEXT_FORMAT};
use crate::proxy::telemetry::flags::Flag;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

fn entry<'a>(request: &'a HeaderMap, response: &'a HeaderMap) -> Entry<'a> {
    let mut flags = ResponseFlags::default();
    flags.set(Flag::UpstreamConnectionFailure);
    Entry {
        start: UNIX_EPOCH + Duration::from_millis(1_650_283_784_091),
        method: "GET",
        path: "/reviews/0?x=1",
        authority: "reviews:9080",
        scheme: "http",
        version: Version::HTTP_11,
        request_headers: request,
        response_headers: Some(response),
        code: 503,
        flags,
        details: "upstream_reset_before_response_started{connection_failure}",
        failure: None,
        bytes_received: 0,
        bytes_sent: 91,
        duration: Duration::from_micros(2_600),
        upstream_host: Some("10.0.0.7:9080"),
        upstream_cluster: Some("outbound|9080||reviews.default.svc.cluster.local"),
        route_name: Some("default"),
        downstream_local: Some("10.0.0.1:9080".parse().expect("addr")),
        downstream_remote: Some("203.0.113.7:0".parse().expect("addr")),
        downstream_direct_remote: Some("10.0.0.2:51234".parse().expect("addr")),
    }
}

#[test]
fn istios_text_format_renders_as_envoy_writes_it() {
    let request = headers(&[
        ("user-agent", "curl/8.0"),
        ("x-request-id", "6c1b5d04-8c2b-4ea4-a1f8-6a9c8e3f3b1e"),
    ]);
    let response = headers(&[("x-envoy-upstream-service-time", "2")]);
    let line = Format::text(ISTIO_TEXT_FORMAT)
        .expect("Istio's format parses")
        .render(&entry(&request, &response));
    assert_eq!(
        line,
        "[2022-04-18T12:09:44.091Z] \"GET /reviews/0?x=1 HTTP/1.1\" 503 UF \
         upstream_reset_before_response_started{connection_failure} - \"-\" 0 91 2 2 \"-\" \
         \"curl/8.0\" \"6c1b5d04-8c2b-4ea4-a1f8-6a9c8e3f3b1e\" \"reviews:9080\" \
         \"10.0.0.7:9080\" outbound|9080||reviews.default.svc.cluster.local - 10.0.0.1:9080 \
         203.0.113.7:0 - default\n"
    );
}

#[test]
fn istios_json_format_has_sorted_keys_numbers_and_nulls() {
    let request = headers(&[("x-envoy-original-path", "/original")]);
    let response = HeaderMap::new();
    let line = Format::json(ISTIO_JSON_FORMAT)
        .expect("Istio's format parses")
        .render(&entry(&request, &response));
    assert!(line.ends_with('\n'));
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
    assert_eq!(
        v["path"], "/original",
        "X-ENVOY-ORIGINAL-PATH wins over :path"
    );
    assert_eq!(v["response_code"], 503);
    assert_eq!(v["duration"], 2);
    assert_eq!(v["response_flags"], "UF");
    assert_eq!(v["upstream_service_time"], serde_json::Value::Null);
    assert_eq!(v["start_time"], "2022-04-18T12:09:44.091Z");
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 24);
}

#[test]
fn operators_with_fallbacks_lengths_and_literal_percent() {
    let request = headers(&[("x-b3-traceid", "463ac35c9f6413ad")]);
    let response = HeaderMap::new();
    let f = Format::text("%REQ(X-MISSING?X-B3-TRACEID):6% 100%% %REQ(:METHOD)%").expect("parses");
    assert_eq!(f.render(&entry(&request, &response)), "463ac3 100% GET\n");
}

#[test]
fn the_remote_address_is_the_client_and_the_direct_one_the_peer() {
    let (request, response) = (HeaderMap::new(), HeaderMap::new());
    let f = Format::text(
        "%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% \
         %DOWNSTREAM_DIRECT_REMOTE_ADDRESS% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%",
    )
    .expect("parses");
    assert_eq!(
        f.render(&entry(&request, &response)),
        "203.0.113.7:0 203.0.113.7 10.0.0.2:51234 10.0.0.2\n"
    );
}

#[test]
fn envoys_default_format_parses() {
    let request = HeaderMap::new();
    let response = HeaderMap::new();
    let line = Format::text(ENVOY_DEFAULT_FORMAT)
        .expect("parses")
        .render(&entry(&request, &response));
    assert!(
        line.starts_with(
            "[2022-04-18T12:09:44.091Z] \"GET /reviews/0?x=1 HTTP/1.1\" 503 UF 0 91 2 - "
        ),
        "{line}"
    );
}

#[test]
fn unknown_operators_are_refused() {
    assert_eq!(
        Format::text("%NO_SUCH_THING%"),
        Err(FormatError::Unknown("NO_SUCH_THING".into()))
    );
    assert!(matches!(
        Format::text("[%START_TIME"),
        Err(FormatError::Unclosed(_))
    ));
}

#[test]
fn the_writer_thread_appends_lines_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("access.log");
    let path = path.to_str().expect("utf-8");
    let files = Files::default();
    let writer = files.writer(path).expect("opens");
    assert!(Arc::ptr_eq(&writer, &files.writer(path).expect("same")));
    writer.write("one\n".into());
    writer.write("two\n".into());
    let start = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text == "one\ntwo\n" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{text:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(writer.dropped(), 0);
}

fn file_logger(path: &str, format: Option<&str>) -> AccessLogConfig {
    use envoy_types::pb::envoy::config::core::v3::{DataSource, SubstitutionFormatString};
    use prost::Message as _;
    let file = FileAccessLog {
        path: path.into(),
        access_log_format: format.map(|f| {
            file_access_log::AccessLogFormat::LogFormat(SubstitutionFormatString {
                format: Some(substitution_format_string::Format::TextFormatSource(
                    DataSource {
                        specifier: Some(data_source::Specifier::InlineString(f.into())),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            })
        }),
    };
    AccessLogConfig {
        name: "envoy.access_loggers.file".into(),
        config_type: Some(access_log::ConfigType::TypedConfig(
            envoy_types::pb::google::protobuf::Any {
                type_url: FILE_ACCESS_LOG_TYPE.into(),
                value: file.encode_to_vec(),
            },
        )),
        ..Default::default()
    }
}

#[test]
fn listeners_compile_file_loggers_and_refuse_what_they_cannot_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.log");
    let path = path.to_str().expect("utf-8");
    let files = Files::default();
    let log = compile(&file_logger(path, Some("%RESPONSE_CODE%\n")), &files)
        .expect("compiles")
        .expect("a file logger");
    assert_eq!(log.writer.path(), path);
    // Without a format: Envoy's default.
    let default = compile(&file_logger(path, None), &files)
        .expect("compiles")
        .expect("a file logger");
    assert_eq!(
        default.format,
        Format::text(ENVOY_DEFAULT_FORMAT).expect("parses")
    );
    let err = compile(&file_logger(path, Some("%BOGUS%")), &files).expect_err("bad format");
    assert!(err.contains("BOGUS"), "{err}");
    let err = compile(&file_logger("/nonexistent-dir/a.log", None), &files).expect_err("no dir");
    assert!(err.contains("/nonexistent-dir/a.log"), "{err}");
    // Other loggers are not the proxy's.
    let other = AccessLogConfig {
        name: "envoy.access_loggers.open_telemetry".into(),
        ..Default::default()
    };
    assert!(compile(&other, &files).expect("skipped").is_none());
}
