//! Kubernetes ServiceAccount tokens, checked as istiod checks them (`pkg/kube/tokenreview`): a
//! TokenReview with the audience the proxy's projected token is for (`istio-ca`), and the
//! caller is the account the API server names in `status.user.username`
//! (`system:serviceaccount:<namespace>:<account>`), never what the request says. Only tokens of
//! service accounts count (group `system:serviceaccounts`), as istiod's.
//!
//! The control plane needs `create` on `tokenreviews` (`authentication.k8s.io`): the rendered
//! istiod ClusterRole has it.

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use kube::api::{Api, PostParams};

use super::authn::{Authenticator, AuthnError, AuthnFuture, Caller};

/// The audience of the token Istio's sidecar injector projects for the CA (`istio-token`).
pub const ISTIO_CA_AUDIENCE: &str = "istio-ca";
/// The group every service account token is in.
const SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";

/// Checks tokens with the API server of `client`.
pub struct KubeTokenReview {
    client: kube::Client,
    audiences: Vec<String>,
}

impl KubeTokenReview {
    pub fn new(client: kube::Client) -> KubeTokenReview {
        KubeTokenReview {
            client,
            audiences: vec![ISTIO_CA_AUDIENCE.to_string()],
        }
    }

    /// The review the API server is asked for.
    fn review(&self, token: &str) -> TokenReview {
        TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: Some(self.audiences.clone()),
            },
            ..TokenReview::default()
        }
    }

    async fn check(&self, token: Option<&str>) -> Result<Caller, AuthnError> {
        let token = token.ok_or(AuthnError::NoToken)?;
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &self.review(token))
            .await
            .map_err(|e| AuthnError::Review(e.to_string()))?;
        caller_of(answer.status.as_ref(), &self.audiences)
    }
}

impl Authenticator for KubeTokenReview {
    fn authenticate<'a>(&'a self, token: Option<&'a str>) -> AuthnFuture<'a> {
        Box::pin(self.check(token))
    }
}

/// The caller a TokenReview's status names (istiod's `ValidateK8sJwt`).
fn caller_of(
    status: Option<&TokenReviewStatus>,
    audiences: &[String],
) -> Result<Caller, AuthnError> {
    let status = status.ok_or_else(|| AuthnError::Review("the review has no status".into()))?;
    if let Some(error) = status.error.as_deref().filter(|e| !e.is_empty()) {
        return Err(AuthnError::NotAuthenticated(error.to_string()));
    }
    if status.authenticated != Some(true) {
        return Err(AuthnError::NotAuthenticated(
            "the API server did not authenticate it".into(),
        ));
    }
    // The API server answers the requested audiences the token is valid for; none of ours
    // means it is a token for something else.
    if let Some(granted) = &status.audiences
        && !granted.iter().any(|a| audiences.contains(a))
    {
        return Err(AuthnError::NotAuthenticated(format!(
            "its audiences {granted:?} are not {audiences:?}"
        )));
    }
    let user = status.user.as_ref();
    let username = user.and_then(|u| u.username.as_deref()).unwrap_or_default();
    let in_group = user
        .and_then(|u| u.groups.as_ref())
        .is_some_and(|g| g.iter().any(|g| g == SERVICE_ACCOUNTS_GROUP));
    if !in_group {
        return Err(AuthnError::NotServiceAccount(username.to_string()));
    }
    match username.split(':').collect::<Vec<_>>()[..] {
        ["system", "serviceaccount", namespace, account]
            if !namespace.is_empty() && !account.is_empty() =>
        {
            Ok(Caller {
                namespace: namespace.to_string(),
                service_account: account.to_string(),
            })
        }
        _ => Err(AuthnError::NotServiceAccount(username.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::authentication::v1::UserInfo;

    use super::*;

    fn status(
        authenticated: bool,
        username: &str,
        groups: &[&str],
        audiences: Option<&[&str]>,
    ) -> TokenReviewStatus {
        TokenReviewStatus {
            authenticated: Some(authenticated),
            audiences: audiences.map(|a| a.iter().map(|s| s.to_string()).collect()),
            user: Some(UserInfo {
                username: Some(username.into()),
                groups: Some(groups.iter().map(|s| s.to_string()).collect()),
                ..UserInfo::default()
            }),
            ..TokenReviewStatus::default()
        }
    }

    const SA_GROUPS: &[&str] = &[
        "system:serviceaccounts",
        "system:serviceaccounts:bookinfo",
        "system:authenticated",
    ];

    #[test]
    fn the_caller_is_the_service_account_the_api_server_names() {
        let aud = [ISTIO_CA_AUDIENCE.to_string()];
        let s = status(
            true,
            "system:serviceaccount:bookinfo:reviews",
            SA_GROUPS,
            Some(&["istio-ca"]),
        );
        assert_eq!(
            caller_of(Some(&s), &aud),
            Ok(Caller {
                namespace: "bookinfo".into(),
                service_account: "reviews".into()
            })
        );
    }

    #[test]
    fn unauthenticated_users_and_other_audiences_are_refused() {
        let aud = [ISTIO_CA_AUDIENCE.to_string()];
        let name = "system:serviceaccount:bookinfo:reviews";
        assert!(matches!(
            caller_of(Some(&status(false, name, SA_GROUPS, None)), &aud),
            Err(AuthnError::NotAuthenticated(_))
        ));
        let mut errored = status(true, name, SA_GROUPS, None);
        errored.error = Some("token has expired".into());
        assert_eq!(
            caller_of(Some(&errored), &aud),
            Err(AuthnError::NotAuthenticated("token has expired".into()))
        );
        assert!(matches!(
            caller_of(Some(&status(true, name, SA_GROUPS, Some(&["other"]))), &aud),
            Err(AuthnError::NotAuthenticated(_))
        ));
        // A person's token, or a name that is not an account's.
        assert_eq!(
            caller_of(
                Some(&status(true, "alice", &["system:authenticated"], None)),
                &aud
            ),
            Err(AuthnError::NotServiceAccount("alice".into()))
        );
        assert!(matches!(
            caller_of(
                Some(&status(true, "system:serviceaccount:x", SA_GROUPS, None)),
                &aud
            ),
            Err(AuthnError::NotServiceAccount(_))
        ));
        assert!(matches!(caller_of(None, &aud), Err(AuthnError::Review(_))));
    }
}
