//! Kubernetes' own rules for values an IstioOperator passes into objects: names, quantities and
//! ports. A value that breaks them yields an object the API server rejects, so they are checked
//! before anything is rendered (see `resolve`), whatever `--force` says.

/// What is wrong with `value` as a DNS-1123 label (a namespace), if anything.
pub fn dns1123_label_problem(value: &str) -> Option<&'static str> {
    label_problem(value, false)
}

/// What is wrong with `value` as a DNS-1035 label (a Service name: a DNS-1123 label that starts
/// with a letter), if anything.
pub fn dns1035_label_problem(value: &str) -> Option<&'static str> {
    label_problem(value, true)
}

fn label_problem(value: &str, letter_first: bool) -> Option<&'static str> {
    if value.is_empty() {
        return Some("it is empty");
    }
    if value.len() > 63 {
        return Some("it is longer than 63 characters");
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(if c.is_ascii_uppercase() {
            "it contains an uppercase letter"
        } else {
            "it contains a character other than a-z, 0-9 and '-'"
        });
    }
    if letter_first && !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("it does not start with a letter");
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Some("it starts or ends with '-'");
    }
    None
}

/// What is wrong with `value` as a named port (`targetPort: http`, Kubernetes' IANA_SVC_NAME),
/// if anything.
pub fn port_name_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() || value.len() > 15 {
        return Some("a port name has 1 to 15 characters");
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("a port name has only a-z, 0-9 and '-'");
    }
    if !value.chars().any(|c| c.is_ascii_lowercase()) {
        return Some("a port name has at least one letter");
    }
    if value.starts_with('-') || value.ends_with('-') || value.contains("--") {
        return Some("a port name does not start or end with '-' nor hold \"--\"");
    }
    None
}

/// The value of a Kubernetes quantity (`500m`, `2`, `1.5Gi`, `1e3`), or `None` when `value` is
/// not one. Only as precise as an `f64`: enough to compare requests with limits.
pub fn parse_quantity(value: &str) -> Option<f64> {
    let (sign, rest) = match value.as_bytes().first() {
        Some(b'-') => (-1.0, &value[1..]),
        Some(b'+') => (1.0, &value[1..]),
        _ => (1.0, value),
    };
    let digits_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(digits_end);
    if number.is_empty()
        || number == "."
        || number.matches('.').count() > 1
        || !number.starts_with(|c: char| c.is_ascii_digit() || c == '.')
    {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let e = exponent
                .strip_prefix('e')
                .or_else(|| exponent.strip_prefix('E'))?;
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            10f64.powi(e.parse().ok()?)
        }
    };
    Some(sign * number * multiplier)
}

/// What is wrong with `value` as a resource quantity (requests and limits), if anything.
pub fn resource_quantity_problem(value: &str) -> Option<&'static str> {
    match parse_quantity(value) {
        None => Some(
            "not a Kubernetes quantity (a number with an optional suffix: 500m, 2, 1.5, 128Mi, \
             1Gi, 1e3)",
        ),
        Some(v) if v < 0.0 => Some("a resource quantity cannot be negative"),
        Some(_) => None,
    }
}

/// Whether `port` is a TCP/UDP port number.
pub fn is_port_number(port: i64) -> bool {
    (1..=65535).contains(&port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_follow_kubernetes_grammar() {
        for (q, v) in [
            ("500m", 0.5),
            ("2", 2.0),
            ("1.5", 1.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("128Mi", 128.0 * 1024.0 * 1024.0),
            ("1Gi", 1024f64.powi(3)),
            ("1k", 1000.0),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            ("2E", 2e18),
            ("+1", 1.0),
            ("-1", -1.0),
        ] {
            assert_eq!(parse_quantity(q), Some(v), "{q}");
        }
        for bad in [
            "abc", "", "m", "1mi", "1 Gi", "1..5", "1Gb", "1e", "1e+", "Gi", "--1", "1.2.3",
        ] {
            assert_eq!(parse_quantity(bad), None, "{bad:?}");
        }
        assert!(resource_quantity_problem("-1").is_some());
        assert!(resource_quantity_problem("0").is_none());
    }

    #[test]
    fn names_follow_dns_rules() {
        assert_eq!(dns1123_label_problem("istio-system"), None);
        assert_eq!(dns1123_label_problem("1abc"), None);
        assert_eq!(
            dns1123_label_problem("Istio"),
            Some("it contains an uppercase letter")
        );
        assert_eq!(
            dns1123_label_problem("a.b"),
            Some("it contains a character other than a-z, 0-9 and '-'")
        );
        assert!(dns1123_label_problem(&"a".repeat(64)).is_some());
        assert!(dns1123_label_problem("a-").is_some());
        assert_eq!(
            dns1035_label_problem("1gw"),
            Some("it does not start with a letter")
        );
        assert_eq!(dns1035_label_problem("gw-1"), None);
    }

    #[test]
    fn port_names_follow_iana_service_names() {
        assert_eq!(port_name_problem("http2"), None);
        assert!(port_name_problem("8080").is_some());
        assert!(port_name_problem("a--b").is_some());
        assert!(port_name_problem("very-long-port-name").is_some());
        assert!(port_name_problem("HTTP").is_some());
    }
}
