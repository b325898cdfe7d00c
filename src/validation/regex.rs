//! Regular expressions and string matches. Istio compiles with Go's RE2; the `regex` crate is
//! close (same linear-time feature set) and a size limit keeps hostile patterns cheap.

use crate::config::types::StringMatch;

const MAX_REGEX_LEN: usize = 1024;
/// Compiled program size bound; RE2 also refuses oversized programs.
const SIZE_LIMIT: usize = 1 << 20;

/// `validateStringRegexp`.
pub fn validate_regexp(re: &str, where_: &str) -> Option<String> {
    if re.len() > MAX_REGEX_LEN {
        return Some(format!(
            "{where_:?}: regex is too large, max length allowed is {MAX_REGEX_LEN}"
        ));
    }
    match regex::RegexBuilder::new(re).size_limit(SIZE_LIMIT).build() {
        Ok(_) => None,
        Err(e) => Some(format!(
            "{where_:?}: error parsing regexp: {}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)",
            short_error(&e, re)
        )),
    }
}

/// The one-line reason of a `regex` error (its Display is a multi-line caret diagram), with the
/// pattern appended as Go does (`` missing closing ): `(abc` ``).
fn short_error(e: &regex::Error, re: &str) -> String {
    match e {
        regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
        _ => {
            let text = e.to_string();
            let reason = text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or("invalid expression")
                .to_string();
            format!("{reason}: `{re}`")
        }
    }
}

/// `validateStringMatchRegexp`: only the regex variant is checked.
pub fn validate_string_match_regexp(sm: &StringMatch, where_: &str) -> Option<String> {
    match sm {
        StringMatch::Regex(r) if r.is_empty() => Some(format!(
            "{where_:?}: regex string match should not be empty"
        )),
        StringMatch::Regex(r) => validate_regexp(r, where_),
        _ => None,
    }
}

/// `validateStringMatch`: an empty prefix is an error; an empty exact is allowed.
pub fn validate_string_match(sm: &StringMatch, where_: &str) -> Option<String> {
    match sm {
        StringMatch::Prefix(p) if p.is_empty() => Some(format!(
            "{where_:?}: prefix string match should not be empty"
        )),
        _ => validate_string_match_regexp(sm, where_),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes() {
        assert_eq!(validate_regexp("^/api/v[0-9]+", "uri"), None);
        let e = validate_regexp("(abc", "uri").unwrap_or_default();
        assert!(
            e.starts_with("\"uri\": error parsing regexp: ") && e.contains("`(abc`"),
            "{e}"
        );
        assert!(e.ends_with(
            "; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"
        ));
        assert_eq!(
            validate_regexp(&"a".repeat(1025), "headers"),
            Some("\"headers\": regex is too large, max length allowed is 1024".into())
        );
        assert_eq!(
            validate_string_match(&StringMatch::Prefix(String::new()), "method"),
            Some("\"method\": prefix string match should not be empty".into())
        );
        assert_eq!(
            validate_string_match(&StringMatch::Regex(String::new()), "uri"),
            Some("\"uri\": regex string match should not be empty".into())
        );
        assert_eq!(
            validate_string_match(&StringMatch::Exact(String::new()), "uri"),
            None
        );
    }
}
