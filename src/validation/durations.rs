//! Durations in Go's `time.ParseDuration` syntax (`300ms`, `1.5h`, `2h45m`), checked against
//! Istio's minimum of 1ms and millisecond precision.

const NANOS_PER_MS: i128 = 1_000_000;

/// Parses a Go duration into nanoseconds. The error text is Go's.
pub fn parse_go_duration(s: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let nanos = total.round() as i128;
    Ok(if neg { -nanos } else { nanos })
}

/// `ValidateDuration`: at least 1ms, whole milliseconds.
pub fn validate_duration(s: &str) -> Option<String> {
    match parse_go_duration(s) {
        Err(e) => Some(e),
        Ok(n) if n < NANOS_PER_MS => Some("duration must be greater than 1ms".to_string()),
        Ok(n) if n % NANOS_PER_MS != 0 => {
            Some("only durations to ms precision are supported".to_string())
        }
        Ok(_) => None,
    }
}

/// Whether the duration is exactly zero (a disabled timeout).
pub fn is_zero(s: &str) -> bool {
    parse_go_duration(s) == Ok(0)
}

/// Whether the duration has a sub-second part (CORS `maxAge` is second-precision).
pub fn has_sub_seconds(s: &str) -> bool {
    parse_go_duration(s).is_ok_and(|n| n % 1_000_000_000 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_syntax() {
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(
            parse_go_duration("2h45m"),
            Ok((2 * 3600 + 45 * 60) * 1_000_000_000)
        );
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(
            parse_go_duration("10"),
            Err("time: missing unit in duration \"10\"".into())
        );
        assert_eq!(
            parse_go_duration("3d"),
            Err("time: unknown unit \"d\" in duration \"3d\"".into())
        );
        assert_eq!(
            parse_go_duration("abc"),
            Err("time: invalid duration \"abc\"".into())
        );
    }

    #[test]
    fn istio_minimums() {
        assert_eq!(validate_duration("1ms"), None);
        assert_eq!(validate_duration("10s"), None);
        assert_eq!(
            validate_duration("0s"),
            Some("duration must be greater than 1ms".into())
        );
        assert_eq!(
            validate_duration("-5s"),
            Some("duration must be greater than 1ms".into())
        );
        assert_eq!(
            validate_duration("1500us"),
            Some("only durations to ms precision are supported".into())
        );
        assert!(has_sub_seconds("1500ms"));
    }
}
