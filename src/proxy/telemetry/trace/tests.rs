use super::*;

/// A counter as the random source: ids 1, 2, 3, … in order of use.
fn counter() -> impl FnMut() -> u64 {
    let mut n = 0;
    move || {
        n += 1;
        n
    }
}

fn get<'a>(h: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn a_request_without_context_starts_a_trace_in_both_formats() {
    let mut h = HeaderMap::new();
    // Draws: trace high 1, low 2, sampling draw 3 (3 < 100 × 100: sampled), span 4.
    propagate(&mut h, 100.0, counter());
    assert_eq!(
        get(&h, &X_B3_TRACEID),
        Some("00000000000000010000000000000002")
    );
    assert_eq!(get(&h, &X_B3_SPANID), Some("0000000000000004"));
    assert_eq!(get(&h, &X_B3_PARENTSPANID), None);
    assert_eq!(get(&h, &X_B3_SAMPLED), Some("1"));
    assert_eq!(
        get(&h, &TRACEPARENT),
        Some("00-00000000000000010000000000000002-0000000000000004-01")
    );
    // 0 %: the draw never lands.
    let mut h = HeaderMap::new();
    propagate(&mut h, 0.0, counter());
    assert_eq!(get(&h, &X_B3_SAMPLED), Some("0"));
    assert!(get(&h, &TRACEPARENT).is_some_and(|t| t.ends_with("-00")));
}

#[test]
fn each_hop_keeps_the_trace_and_decision_with_a_new_span_under_the_callers() {
    let mut h = HeaderMap::new();
    h.insert(X_B3_TRACEID, HeaderValue::from_static("463ac35c9f6413ad"));
    h.insert(X_B3_SPANID, HeaderValue::from_static("a2fb4a1d1a96d312"));
    h.insert(X_B3_SAMPLED, HeaderValue::from_static("0"));
    propagate(&mut h, 100.0, counter());
    assert_eq!(
        get(&h, &X_B3_TRACEID),
        Some("463ac35c9f6413ad"),
        "B3's short id stays"
    );
    assert_eq!(get(&h, &X_B3_PARENTSPANID), Some("a2fb4a1d1a96d312"));
    assert_eq!(get(&h, &X_B3_SPANID), Some("0000000000000001"));
    assert_eq!(get(&h, &X_B3_SAMPLED), Some("0"), "the caller decided");
    assert_eq!(
        get(&h, &TRACEPARENT),
        Some("00-0000000000000000463ac35c9f6413ad-0000000000000001-00")
    );
    // The next hop: this span becomes the parent.
    propagate(&mut h, 100.0, || 0xabc);
    assert_eq!(get(&h, &X_B3_PARENTSPANID), Some("0000000000000001"));
    assert_eq!(get(&h, &X_B3_SPANID), Some("0000000000000abc"));
    assert_eq!(get(&h, &X_B3_TRACEID), Some("463ac35c9f6413ad"));
}

#[test]
fn w3c_context_alone_is_followed_and_answered_in_b3_too() {
    let mut h = HeaderMap::new();
    h.insert(
        TRACEPARENT,
        HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    h.insert("tracestate", HeaderValue::from_static("congo=t61rcWkgMzE"));
    propagate(&mut h, 0.0, counter());
    assert_eq!(
        get(&h, &TRACEPARENT),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000001-01")
    );
    assert_eq!(
        get(&h, &X_B3_TRACEID),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(get(&h, &X_B3_PARENTSPANID), Some("00f067aa0ba902b7"));
    assert_eq!(get(&h, &X_B3_SAMPLED), Some("1"));
    assert_eq!(
        get(&h, &"tracestate".parse().expect("name")),
        Some("congo=t61rcWkgMzE")
    );
}

#[test]
fn malformed_context_is_replaced_by_a_new_trace() {
    for (name, value) in [
        (X_B3_TRACEID, "not-hex"),
        (X_B3_TRACEID, "00000000000000000000000000000000"),
        (
            TRACEPARENT,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ),
        (
            TRACEPARENT,
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
    ] {
        let mut h = HeaderMap::new();
        h.insert(name.clone(), HeaderValue::from_static(value));
        assert_eq!(incoming(&h), None, "{name}: {value}");
        propagate(&mut h, 100.0, counter());
        assert_eq!(
            get(&h, &X_B3_TRACEID),
            Some("00000000000000010000000000000002")
        );
    }
    // Debug forces sampling.
    let mut h = HeaderMap::new();
    h.insert(X_B3_TRACEID, HeaderValue::from_static("463ac35c9f6413ad"));
    h.insert(X_B3_FLAGS, HeaderValue::from_static("1"));
    assert_eq!(incoming(&h).and_then(|i| i.sampled), Some(true));
}

#[test]
fn a_stray_parent_span_without_a_trace_is_not_forwarded() {
    // A parent with no trace id is no context: the hop starts a trace of its own, and the
    // stray parent must not name a parent in it.
    let mut h = HeaderMap::new();
    h.insert(
        X_B3_PARENTSPANID,
        HeaderValue::from_static("00f067aa0ba902b7"),
    );
    propagate(&mut h, 100.0, counter());
    assert_eq!(get(&h, &X_B3_PARENTSPANID), None);
    assert_eq!(
        get(&h, &X_B3_TRACEID),
        Some("00000000000000010000000000000002")
    );
}
