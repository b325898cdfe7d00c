//! `-S/--suppress "<code>=<resource glob>"` and the `galley.istio.io/analyze-suppress` annotation.

use super::catalog;
use super::message::Message;

/// One `--suppress` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub code: String,
    pub glob: String,
}

/// Why a `--suppress` value was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not a valid suppression value. See ferryctl analyze --help")]
pub struct InvalidSuppression(pub String);

impl Suppression {
    /// Parses `CODE=GLOB`; exactly one `=` as istioctl requires.
    pub fn parse(s: &str) -> Result<Suppression, InvalidSuppression> {
        let parts: Vec<&str> = s.split('=').collect();
        match parts.as_slice() {
            [code, glob] => Ok(Suppression {
                code: (*code).to_string(),
                glob: (*glob).to_string(),
            }),
            _ => Err(InvalidSuppression(s.to_string())),
        }
    }

    /// Whether the code is in the catalog (istioctl warns, then ignores, unknown codes).
    pub fn known_code(&self) -> bool {
        catalog::by_code(&self.code).is_some()
    }

    pub fn matches(&self, m: &Message) -> bool {
        if m.typ.code != self.code {
            return false;
        }
        let name = m.origin.as_ref().map_or("", |o| o.friendly_name.as_str());
        glob_match(&self.glob, name)
    }
}

/// Glob with `*` only (as github.com/ryanuber/go-glob).
pub fn glob_match(pattern: &str, subject: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == subject;
    }
    let mut rest = subject;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// Whether the object's own annotation silences this message.
pub fn suppressed_by_annotation(m: &Message) -> bool {
    let Some(list) = m.origin.as_ref().and_then(|o| o.suppress.as_deref()) else {
        return false;
    };
    list.split(',')
        .map(str::trim)
        .any(|c| c == "*" || c == m.typ.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_go_glob() {
        assert!(glob_match("*", "Pod default/a"));
        assert!(glob_match("Pod *", "Pod default/a"));
        assert!(glob_match("Pod default/*", "Pod default/a"));
        assert!(!glob_match("Pod other/*", "Pod default/a"));
        assert!(glob_match("*a*b", "xaxxb"));
        assert!(glob_match("Namespace frod", "Namespace frod"));
    }

    #[test]
    fn suppression_values_need_one_equals() {
        assert!(Suppression::parse("IST0102=Namespace frod").is_ok());
        assert!(Suppression::parse("IST0102").is_err());
        assert!(Suppression::parse("a=b=c").is_err());
    }
}
