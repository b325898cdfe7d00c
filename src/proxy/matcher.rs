//! Envoy's request matchers, compiled once per config: string matchers, header matchers, query
//! parameter matchers and the path part of a `RouteMatch`. Regexes are RE2-style full matches,
//! as Envoy's `safe_regex` (the `regex` crate has the same linear-time guarantee).

use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, QueryParameterMatcher, RouteMatch, header_matcher, query_parameter_matcher,
    route_match,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use regex::Regex;

/// Why a matcher cannot be compiled; the proxy NACKs the update that carries it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatcherError {
    #[error("invalid regex {regex:?}: {message}")]
    Regex { regex: String, message: String },
    #[error("unsupported {what}")]
    Unsupported { what: &'static str },
}

/// Compiles `re` as a full match, as RE2's `FullMatch` that Envoy uses.
pub fn full_regex(re: &str) -> Result<Regex, MatcherError> {
    Regex::new(&format!("^(?:{re})$")).map_err(|e| MatcherError::Regex {
        regex: re.to_string(),
        message: e.to_string(),
    })
}

/// A compiled `StringMatcher`.
#[derive(Debug, Clone)]
pub enum StringMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Regex(Regex),
}

/// A string matcher with its case rule.
#[derive(Debug, Clone)]
pub struct Str {
    pattern: StringMatch,
    ignore_case: bool,
}

impl Str {
    pub fn compile(m: &StringMatcher) -> Result<Str, MatcherError> {
        use string_matcher::MatchPattern as P;
        let ignore_case = m.ignore_case;
        let lower = |s: &str| {
            if ignore_case {
                s.to_ascii_lowercase()
            } else {
                s.to_string()
            }
        };
        let pattern = match &m.match_pattern {
            Some(P::Exact(s)) => StringMatch::Exact(lower(s)),
            Some(P::Prefix(s)) => StringMatch::Prefix(lower(s)),
            Some(P::Suffix(s)) => StringMatch::Suffix(lower(s)),
            Some(P::Contains(s)) => StringMatch::Contains(lower(s)),
            Some(P::SafeRegex(r)) => StringMatch::Regex(full_regex(&r.regex)?),
            Some(P::Custom(_)) => {
                return Err(MatcherError::Unsupported {
                    what: "custom string matcher",
                });
            }
            // An empty matcher is an exact match of the empty string.
            None => StringMatch::Exact(String::new()),
        };
        Ok(Str {
            pattern,
            ignore_case,
        })
    }

    pub fn matches(&self, value: &str) -> bool {
        let folded;
        let v = if self.ignore_case && !matches!(self.pattern, StringMatch::Regex(_)) {
            folded = value.to_ascii_lowercase();
            folded.as_str()
        } else {
            value
        };
        match &self.pattern {
            StringMatch::Exact(s) => v == s,
            StringMatch::Prefix(s) => v.starts_with(s.as_str()),
            StringMatch::Suffix(s) => v.ends_with(s.as_str()),
            StringMatch::Contains(s) => v.contains(s.as_str()),
            StringMatch::Regex(r) => r.is_match(v),
        }
    }
}

/// What a header matcher tests the value with.
#[derive(Debug, Clone)]
enum HeaderTest {
    Present(bool),
    Value(Str),
    Range { start: i64, end: i64 },
}

/// A compiled `HeaderMatcher`. Pseudo-headers (`:method`, `:authority`, `:path`, `:scheme`) are
/// looked up by the caller, which knows the request.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    test: HeaderTest,
    invert: bool,
    missing_as_empty: bool,
}

impl Header {
    pub fn compile(m: &HeaderMatcher) -> Result<Header, MatcherError> {
        use header_matcher::HeaderMatchSpecifier as H;
        let exact = |s: &str| Str {
            pattern: StringMatch::Exact(s.to_string()),
            ignore_case: false,
        };
        let plain = |p: StringMatch| Str {
            pattern: p,
            ignore_case: false,
        };
        let test = match &m.header_match_specifier {
            Some(H::StringMatch(s)) => HeaderTest::Value(Str::compile(s)?),
            #[allow(deprecated)]
            Some(H::ExactMatch(s)) => HeaderTest::Value(exact(s)),
            #[allow(deprecated)]
            Some(H::SafeRegexMatch(r)) => {
                HeaderTest::Value(plain(StringMatch::Regex(full_regex(&r.regex)?)))
            }
            #[allow(deprecated)]
            Some(H::PrefixMatch(s)) => HeaderTest::Value(plain(StringMatch::Prefix(s.clone()))),
            #[allow(deprecated)]
            Some(H::SuffixMatch(s)) => HeaderTest::Value(plain(StringMatch::Suffix(s.clone()))),
            #[allow(deprecated)]
            Some(H::ContainsMatch(s)) => HeaderTest::Value(plain(StringMatch::Contains(s.clone()))),
            Some(H::PresentMatch(p)) => HeaderTest::Present(*p),
            Some(H::RangeMatch(r)) => HeaderTest::Range {
                start: r.start,
                end: r.end,
            },
            // No specifier: the header must be present.
            None => HeaderTest::Present(true),
        };
        Ok(Header {
            name: m.name.to_ascii_lowercase(),
            test,
            invert: m.invert_match,
            missing_as_empty: m.treat_missing_header_as_empty,
        })
    }

    /// Whether the request's value for this header (all values joined by `,`, as Envoy does
    /// for repeated headers; `None` if absent) matches.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let value = match value {
            Some(v) => Some(v),
            None if self.missing_as_empty => Some(""),
            None => None,
        };
        let result = match (&self.test, value) {
            (HeaderTest::Present(want), v) => v.is_some() == *want,
            // A missing header matches nothing, inverted or not (Envoy's rule).
            (_, None) => return false,
            (HeaderTest::Value(s), Some(v)) => s.matches(v),
            (HeaderTest::Range { start, end }, Some(v)) => v
                .parse::<i64>()
                .map(|n| n >= *start && n < *end)
                .unwrap_or(false),
        };
        result != self.invert
    }
}

/// A compiled `QueryParameterMatcher`.
#[derive(Debug, Clone)]
pub struct Query {
    pub name: String,
    test: Option<Str>,
}

impl Query {
    pub fn compile(m: &QueryParameterMatcher) -> Result<Query, MatcherError> {
        use query_parameter_matcher::QueryParameterMatchSpecifier as Q;
        let test = match &m.query_parameter_match_specifier {
            Some(Q::StringMatch(s)) => Some(Str::compile(s)?),
            Some(Q::PresentMatch(true)) | None => None,
            Some(Q::PresentMatch(false)) => {
                return Err(MatcherError::Unsupported {
                    what: "query parameter present_match: false",
                });
            }
        };
        Ok(Query {
            name: m.name.clone(),
            test,
        })
    }

    /// `value` is the parameter's first value, `None` if absent.
    pub fn matches(&self, value: Option<&str>) -> bool {
        match (value, &self.test) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(s)) => s.matches(v),
        }
    }
}

/// The path part of a route match.
#[derive(Debug, Clone)]
pub enum Path {
    Prefix(String),
    Exact(String),
    Regex(Regex),
    /// `path_separated_prefix`: the prefix, then end of path or a `/`, `?` or `#`.
    Separated(String),
}

impl Path {
    /// Compiles the path specifier; `case_sensitive` is RouteMatch's (default true).
    pub fn compile(m: &RouteMatch) -> Result<(Path, bool), MatcherError> {
        use route_match::PathSpecifier as P;
        let case_sensitive = m.case_sensitive.as_ref().is_none_or(|b| b.value);
        let fold = |s: &str| {
            if case_sensitive {
                s.to_string()
            } else {
                s.to_ascii_lowercase()
            }
        };
        let path = match &m.path_specifier {
            Some(P::Prefix(p)) => Path::Prefix(fold(p)),
            Some(P::Path(p)) => Path::Exact(fold(p)),
            Some(P::SafeRegex(r)) => Path::Regex(full_regex(&r.regex)?),
            Some(P::PathSeparatedPrefix(p)) => Path::Separated(fold(p)),
            Some(P::ConnectMatcher(_)) => {
                return Err(MatcherError::Unsupported {
                    what: "CONNECT matcher",
                });
            }
            Some(P::PathMatchPolicy(_)) => {
                return Err(MatcherError::Unsupported {
                    what: "path match policy",
                });
            }
            None => Path::Prefix(String::new()),
        };
        Ok((path, case_sensitive))
    }

    /// `path` is the request path without the query string (regexes see it without the query,
    /// as Envoy's do).
    pub fn matches(&self, path: &str, case_sensitive: bool) -> bool {
        let folded;
        let p = if case_sensitive || matches!(self, Path::Regex(_)) {
            path
        } else {
            folded = path.to_ascii_lowercase();
            folded.as_str()
        };
        match self {
            Path::Prefix(prefix) => p.starts_with(prefix.as_str()),
            Path::Exact(exact) => p == exact,
            Path::Regex(r) => r.is_match(p),
            Path::Separated(prefix) => {
                p.starts_with(prefix.as_str())
                    && matches!(p.as_bytes().get(prefix.len()), None | Some(b'/'))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::r#type::matcher::v3::RegexMatcher;

    fn sm(p: string_matcher::MatchPattern, ignore_case: bool) -> StringMatcher {
        StringMatcher {
            match_pattern: Some(p),
            ignore_case,
        }
    }

    #[test]
    fn string_matchers_follow_envoy() {
        use string_matcher::MatchPattern as P;
        let exact = Str::compile(&sm(P::Exact("jason".into()), false)).unwrap();
        assert!(exact.matches("jason"));
        assert!(!exact.matches("Jason"));
        let folded = Str::compile(&sm(P::Exact("Jason".into()), true)).unwrap();
        assert!(folded.matches("JASON"));
        let prefix = Str::compile(&sm(P::Prefix("/api".into()), false)).unwrap();
        assert!(prefix.matches("/api/v1") && !prefix.matches("/ap"));
        let re = Str::compile(&sm(
            P::SafeRegex(RegexMatcher {
                regex: "v[0-9]+".into(),
                ..Default::default()
            }),
            false,
        ))
        .unwrap();
        // A full match: a regex that matches part of the value does not match.
        assert!(re.matches("v12") && !re.matches("xv12"));
    }

    #[test]
    fn bad_regexes_are_errors_not_panics() {
        use string_matcher::MatchPattern as P;
        let err = Str::compile(&sm(
            P::SafeRegex(RegexMatcher {
                regex: "(".into(),
                ..Default::default()
            }),
            false,
        ))
        .unwrap_err();
        assert!(matches!(err, MatcherError::Regex { .. }));
    }

    #[test]
    fn header_matchers_invert_but_never_match_missing_headers() {
        use header_matcher::HeaderMatchSpecifier as H;
        let m = HeaderMatcher {
            name: "End-User".into(),
            header_match_specifier: Some(H::StringMatch(sm(
                string_matcher::MatchPattern::Exact("jason".into()),
                false,
            ))),
            invert_match: true,
            ..Default::default()
        };
        let h = Header::compile(&m).unwrap();
        assert_eq!(h.name, "end-user");
        assert!(!h.matches(Some("jason")));
        assert!(h.matches(Some("bob")));
        assert!(!h.matches(None));
        let absent = Header::compile(&HeaderMatcher {
            name: "x".into(),
            header_match_specifier: Some(H::PresentMatch(false)),
            ..Default::default()
        })
        .unwrap();
        assert!(absent.matches(None) && !absent.matches(Some("")));
    }

    #[test]
    fn path_matchers() {
        let (p, cs) = Path::compile(&RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Prefix("/Reviews".into())),
            case_sensitive: Some(envoy_types::pb::google::protobuf::BoolValue { value: false }),
            ..Default::default()
        })
        .unwrap();
        assert!(p.matches("/reviews/1", cs));
        let sep = Path::Separated("/api".into());
        assert!(sep.matches("/api", true) && sep.matches("/api/x", true));
        assert!(!sep.matches("/apix", true));
        let q = Query::compile(&QueryParameterMatcher {
            name: "v".into(),
            query_parameter_match_specifier: None,
        })
        .unwrap();
        assert!(q.matches(Some("")) && !q.matches(None));
    }
}
