//! Percentages and route weights.

/// `ValidatePercent` (integer percentages such as `maxEjectionPercent`).
pub fn validate_percent(v: i64) -> Option<String> {
    if (0..=100).contains(&v) {
        None
    } else {
        Some(format!("percentage {v} is not in range 0..100"))
    }
}

/// `validatePercentage` (fault injection `percentage.value`).
pub fn validate_percentage(v: f64) -> Option<String> {
    if !(0.0..=100.0).contains(&v) || (v > 0.0 && v < 0.0001) {
        Some(format!(
            "percentage {} is neither 0.0, nor in range [0.0001, 100.0]",
            go_float(v)
        ))
    } else {
        None
    }
}

/// `validateWeight`.
pub fn validate_weight(w: i64) -> Option<String> {
    (w < 0).then(|| format!("weight {w} < 0"))
}

/// A destination list's weights: each non-negative, and not all zero when there are several.
pub fn validate_weights(weights: &[i64]) -> (Vec<(usize, String)>, Option<String>) {
    let each = weights
        .iter()
        .enumerate()
        .filter_map(|(i, w)| validate_weight(*w).map(|e| (i, e)))
        .collect();
    let total: i64 = weights.iter().sum();
    let zero = (weights.len() > 1 && total == 0).then(|| "total destination weight = 0".into());
    (each, zero)
}

/// Go's `%v` of a float64: shortest representation, exponent form for very small or large
/// magnitudes.
pub fn go_float(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let abs = v.abs();
    if !(1e-4..1e21).contains(&abs) {
        let s = format!("{v:e}");
        // Rust prints `1e-5`; Go prints `1e-05` (at least two exponent digits).
        if let Some((m, e)) = s.split_once('e') {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            return format!("{m}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{v}")
}

/// Go's `%f`: six decimals.
pub fn go_f(v: f64) -> String {
    format!("{v:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents() {
        assert_eq!(validate_percent(50), None);
        assert_eq!(
            validate_percent(101),
            Some("percentage 101 is not in range 0..100".into())
        );
        assert_eq!(validate_percentage(0.0), None);
        assert_eq!(
            validate_percentage(0.00001),
            Some("percentage 1e-05 is neither 0.0, nor in range [0.0001, 100.0]".into())
        );
        assert_eq!(
            validate_percentage(101.0),
            Some("percentage 101 is neither 0.0, nor in range [0.0001, 100.0]".into())
        );
        assert_eq!(go_f(101.0), "101.000000");
    }

    #[test]
    fn weights() {
        let (each, zero) = validate_weights(&[-10, 10]);
        assert_eq!(each, vec![(0, "weight -10 < 0".to_string())]);
        assert_eq!(zero, Some("total destination weight = 0".into()));
        let (each, zero) = validate_weights(&[0]);
        assert!(each.is_empty() && zero.is_none());
        // Istio normalises weights at runtime: a total of 110 is fine.
        let (each, zero) = validate_weights(&[100, 10]);
        assert!(each.is_empty() && zero.is_none());
    }
}
