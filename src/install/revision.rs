//! Control plane revisions (`-r/--revision`, `spec.revision`): a DNS-1123 label that suffixes the
//! names of everything a revisioned control plane installs (`istiod-<rev>`, `istio-<rev>`, …).
//! `default` is not a revision: it is how users ask for none, as in istioctl.

use std::fmt;
use std::str::FromStr;

/// The longest DNS-1123 label, and so the longest revision.
pub const MAX_LEN: usize = 63;

/// A control plane revision. Always a valid DNS-1123 label and never `default`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid revision {value:?}: {problem}; a revision is a DNS-1123 label: 1 to 63 lowercase \
     letters, digits and '-', starting and ending with a letter or digit (e.g. canary or 1-24-0), \
     and `default` means no revision"
)]
pub struct RevisionError {
    pub value: String,
    pub problem: &'static str,
}

impl Revision {
    /// Reads a revision as the CLI and `spec.revision` accept it: empty or `default` mean no
    /// revision.
    pub fn parse_optional(value: &str) -> Result<Option<Revision>, RevisionError> {
        if value.is_empty() || value == "default" {
            return Ok(None);
        }
        value.parse().map(Some)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Revision {
    type Err = RevisionError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let fail = |problem| {
            Err(RevisionError {
                value: value.to_string(),
                problem,
            })
        };
        if value.is_empty() {
            return fail("it is empty");
        }
        if value == "default" {
            return fail("`default` is the absence of a revision, not a revision name");
        }
        if value.len() > MAX_LEN {
            return fail("it is longer than 63 characters");
        }
        if let Some(c) = value
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return fail(if c.is_ascii_uppercase() {
                "it contains an uppercase letter"
            } else {
                "it contains a character other than a-z, 0-9 and '-'"
            });
        }
        if value.starts_with('-') || value.ends_with('-') {
            return fail("it starts or ends with '-'");
        }
        Ok(Revision(value.to_string()))
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Revision {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Revision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_are_revisions() {
        for ok in ["canary", "1-24-0", "a", "v2", &"a".repeat(63)] {
            assert_eq!(
                ok.parse::<Revision>().map(|r| r.to_string()),
                Ok(ok.to_string())
            );
        }
    }

    #[test]
    fn default_and_empty_mean_no_revision() {
        assert_eq!(Revision::parse_optional("default"), Ok(None));
        assert_eq!(Revision::parse_optional(""), Ok(None));
        assert!("default".parse::<Revision>().is_err());
    }

    #[test]
    fn everything_else_is_refused_with_the_rule() {
        for (bad, problem) in [
            ("Canary", "uppercase"),
            ("1.24", "other than"),
            ("under_score", "other than"),
            ("-canary", "starts or ends"),
            ("canary-", "starts or ends"),
            (&"a".repeat(64), "longer than 63"),
        ] {
            let err = bad.parse::<Revision>().expect_err(bad).to_string();
            assert!(err.contains(problem), "{bad}: {err}");
            assert!(err.contains("DNS-1123 label"), "{err}");
        }
    }
}
