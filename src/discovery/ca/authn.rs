//! Who asks for a certificate. Istio's CA trusts a Kubernetes ServiceAccount token (checked with
//! a TokenReview, [`super::tokenreview`]) and derives the identity from it; the local mesh has
//! no API server, so its proof is a per-identity token file the local installer writes:
//! `<dir>/<namespace>/<service account>` holds a random token, and presenting it proves the
//! caller could read that file. The files are created owner-only in the mesh's home, so the
//! local mesh's trust boundary is the OS user that runs it: any process of that user can read
//! them, none of another user can.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub namespace: String,
    pub service_account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthnError {
    #[error("no bearer token in the request")]
    NoToken,
    #[error("the token matches no workload identity")]
    Unknown,
    #[error("reading the token directory {dir}: {message}")]
    Directory { dir: PathBuf, message: String },
    /// The TokenReview could not be made (API server unreachable, RBAC).
    #[error("the token review failed: {0}")]
    Review(String),
    /// The API server did not authenticate the token (istiod's words).
    #[error("the token is not authenticated: {0}")]
    NotAuthenticated(String),
    #[error("the token is not a service account: {0}")]
    NotServiceAccount(String),
}

/// What [`Authenticator::authenticate`] returns.
pub type AuthnFuture<'a> = Pin<Box<dyn Future<Output = Result<Caller, AuthnError>> + Send + 'a>>;

/// Checks a bearer token and says whose it is (asynchronously: on Kubernetes, the API server
/// decides).
pub trait Authenticator: Send + Sync + 'static {
    fn authenticate<'a>(&'a self, token: Option<&'a str>) -> AuthnFuture<'a>;
}

/// The local mesh's token files.
#[derive(Debug, Clone)]
pub struct LocalTokens {
    dir: PathBuf,
}

impl LocalTokens {
    pub fn new(dir: impl Into<PathBuf>) -> LocalTokens {
        LocalTokens { dir: dir.into() }
    }

    /// The file holding the token of `namespace`/`service_account`.
    pub fn path(dir: &Path, namespace: &str, service_account: &str) -> PathBuf {
        dir.join(namespace).join(service_account)
    }
}

impl Authenticator for LocalTokens {
    fn authenticate<'a>(&'a self, token: Option<&'a str>) -> AuthnFuture<'a> {
        Box::pin(std::future::ready(self.check(token)))
    }
}

impl LocalTokens {
    /// Whose `token` is. Reads the directory on each request (a handful of files, a few
    /// requests a day per proxy), so tokens written after the control plane started count at
    /// once.
    pub fn check(&self, token: Option<&str>) -> Result<Caller, AuthnError> {
        let token = token.ok_or(AuthnError::NoToken)?;
        let dir_error = |e: std::io::Error| AuthnError::Directory {
            dir: self.dir.clone(),
            message: e.to_string(),
        };
        let mut found = None;
        for ns in std::fs::read_dir(&self.dir).map_err(dir_error)? {
            let ns = ns.map_err(dir_error)?;
            if !ns.file_type().map_err(dir_error)?.is_dir() {
                continue;
            }
            let Ok(accounts) = std::fs::read_dir(ns.path()) else {
                continue;
            };
            for sa in accounts.flatten() {
                let Ok(stored) = std::fs::read_to_string(sa.path()) else {
                    continue;
                };
                // Every file is compared, in constant time, so timing tells nothing of which.
                if constant_time_eq(stored.trim().as_bytes(), token.as_bytes()) && found.is_none() {
                    found = Some(Caller {
                        namespace: ns.file_name().to_string_lossy().into_owned(),
                        service_account: sa.file_name().to_string_lossy().into_owned(),
                    });
                }
            }
        }
        found.ok_or(AuthnError::Unknown)
    }
}

/// Whether `a == b`, taking the same time for any contents of the same length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new random token: 32 bytes, hex.
pub fn new_token() -> Result<String, AuthnError> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(|_| {
        AuthnError::Directory {
            dir: PathBuf::new(),
            message: "no randomness for a token".into(),
        }
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_identity_and_others_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |ns: &str, sa: &str, token: &str| {
            let path = LocalTokens::path(dir.path(), ns, sa);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            std::fs::write(path, format!("{token}\n")).expect("token");
        };
        write("default", "reviews", "aaaa");
        write(
            "istio-system",
            "istio-ingressgateway-service-account",
            "bbbb",
        );
        let authn = LocalTokens::new(dir.path());
        assert_eq!(
            authn.check(Some("aaaa")),
            Ok(Caller {
                namespace: "default".into(),
                service_account: "reviews".into()
            })
        );
        assert_eq!(
            authn.check(Some("bbbb")).map(|c| c.namespace),
            Ok("istio-system".into())
        );
        assert_eq!(authn.check(Some("cccc")), Err(AuthnError::Unknown));
        assert_eq!(authn.check(Some("aaa")), Err(AuthnError::Unknown));
        assert_eq!(authn.check(None), Err(AuthnError::NoToken));
    }

    #[test]
    fn tokens_are_long_and_different() {
        let (a, b) = (new_token().expect("token"), new_token().expect("token"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
