//! Workload tokens of the local mesh: one random token per service account, in a file only its
//! owner can read, presented by the proxies of that account to the CA (which reads the same
//! files, `crate::discovery::ca::authn`). This stands in for Kubernetes' ServiceAccount tokens,
//! which a local mesh has no API server to issue.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::discovery::ca::authn::{LocalTokens, new_token};

/// Istio's gateway service account (`istio-ingressgateway-service-account` and the egress one
/// are named after the gateway).
pub fn gateway_service_account(gateway: &str) -> String {
    format!("{gateway}-service-account")
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Token(String),
}

/// The token file of `namespace`/`service_account` under `dir`, created (with a new token)
/// when missing. Every proxy of the account shares it, as pods of a ServiceAccount do.
pub fn token_file(
    dir: &Path,
    namespace: &str,
    service_account: &str,
) -> Result<PathBuf, TokenError> {
    let path = LocalTokens::path(dir, namespace, service_account);
    if path.is_file() {
        return Ok(path);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TokenError::Io { path, source }
    };
    let parent = path.parent().unwrap_or(dir);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
        .map_err(io(parent))?;
    let token = new_token().map_err(|e| TokenError::Token(e.to_string()))?;
    // create_new: two workloads of one account starting together keep the first token.
    let tmp = parent.join(format!(".{service_account}.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(token.as_bytes()).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    // A hard link fails when the token appeared meanwhile: then the other one stands.
    match std::fs::hard_link(&tmp, &path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(TokenError::Io { path, source: e });
        }
    }
    let _ = std::fs::remove_file(&tmp);
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ca::authn::Caller;

    #[test]
    fn a_token_is_made_once_per_account_and_proves_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = token_file(dir.path(), "default", "reviews").expect("token");
        let again = token_file(dir.path(), "default", "reviews").expect("token");
        assert_eq!(a, again);
        let token = std::fs::read_to_string(&a).expect("read");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&a).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        assert_eq!(
            LocalTokens::new(dir.path()).check(Some(&token)),
            Ok(Caller {
                namespace: "default".into(),
                service_account: "reviews".into()
            })
        );
        let other = token_file(dir.path(), "default", "ratings").expect("token");
        assert_ne!(std::fs::read_to_string(other).expect("read"), token);
    }
}
