//! DNS-1123 names and Istio's label (`labels.Instance`) checks.

use std::collections::BTreeMap;

/// Istio's `IsDNS1123Label`: at most 63 characters of `[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?`
/// (Istio allows upper case here, unlike Kubernetes).
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// `IsWildcardDNS1123Label`: `*`, `*foo`, `*-foo` or a label.
pub fn is_wildcard_dns1123_label(s: &str) -> bool {
    if s.len() > 63 {
        return false;
    }
    if s == "*" {
        return true;
    }
    let rest = s
        .strip_prefix("*-")
        .or_else(|| s.strip_prefix('*'))
        .unwrap_or(s);
    is_dns1123_label(rest)
}

/// `qualifiedNameFmt`: `(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_qualified_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `dnsNamePrefixFmt` without the trailing slash: dot-separated DNS labels.
fn is_dns_prefix(s: &str) -> bool {
    s.split('.').all(is_dns1123_label)
}

/// One label key: `[prefix/]name`.
fn validate_tag_key(k: &str) -> Option<String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let shape_ok = prefix.is_none_or(is_dns_prefix) && is_qualified_name(name);
    if !shape_ok {
        return Some(format!("invalid tag key: {k:?}"));
    }
    if prefix.is_some_and(|p| p.len() > 253) {
        return Some(format!("invalid tag key: {k:?} (DNS prefix is too long)"));
    }
    if name.len() > 63 {
        return Some(format!("invalid tag key: {k:?} (name is too long)"));
    }
    None
}

/// `labels.Instance.Validate`, keys in sorted order (Go's map order is random).
pub fn validate_labels(labels: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in labels {
        if let Some(e) = validate_tag_key(k) {
            out.push(e);
        }
        if !v.is_empty() && !is_qualified_name(v) {
            out.push(format!("invalid tag value: {v:?}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_names() {
        assert!(is_dns1123_label("Foo-1"));
        assert!(!is_dns1123_label("-foo"));
        assert!(!is_dns1123_label("a.b"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_wildcard_dns1123_label("*"));
        assert!(is_wildcard_dns1123_label("*-foo"));
        assert!(!is_wildcard_dns1123_label("f*o"));
        let mut l = BTreeMap::new();
        l.insert("app".to_string(), "ok".to_string());
        l.insert("example.com/x".to_string(), "".to_string());
        assert!(validate_labels(&l).is_empty());
        l.insert("bad key".to_string(), "-v".to_string());
        assert_eq!(
            validate_labels(&l),
            vec![
                "invalid tag key: \"bad key\"".to_string(),
                "invalid tag value: \"-v\"".to_string()
            ]
        );
    }
}
