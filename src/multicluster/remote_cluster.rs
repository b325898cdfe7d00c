//! The remote cluster's side of `create-remote-secret`: make sure the reader account and its
//! read-only role exist (server-side apply, field manager `ferryctl`), get a token for the
//! account, and gather what a kubeconfig needs (cluster name, server, CA).
//!
//! Tokens come from the TokenRequest API (`serviceaccounts/token`), because Kubernetes 1.24 and
//! later no longer create a long-lived token Secret per account (istio/istio#38246). Such a token
//! is bound to the account: deleting the account revokes it. It also expires; the lifetime is the
//! caller's choice ([`DEFAULT_TOKEN_LIFETIME`]) and the API server may shorten it
//! (`--service-account-max-token-expiration`), so the expiry the server grants is returned.
//! A Secret named with `--secret-name` (a `kubernetes.io/service-account-token` Secret an admin
//! created) is used instead when given, as istioctl does: such a token does not expire.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::{Client, Config};
use serde_json::Value;

use super::reader::{FIELD_MANAGER, Reader, ReaderObject};
use super::remote_secret::{ClusterName, ClusterNameError, RemoteAccess, SecretType, der_to_pem};

/// One year: the mesh keeps reading the remote cluster until the token expires, so the default
/// favours a long run; rerun `create-remote-secret` and apply the new Secret before it ends.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
/// The shortest token the API server issues (TokenRequest validation).
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// The ConfigMap the controller-manager publishes in every namespace with the cluster's CA.
const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
const TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
const TOKEN_SECRET_ACCOUNT: &str = "kubernetes.io/service-account.name";

/// What to generate, from the command's flags.
#[derive(Debug, Clone)]
pub struct Options {
    pub secret_type: SecretType,
    /// The cluster's name in the mesh; the UID of `kube-system` when absent, as istioctl.
    pub name: Option<ClusterName>,
    pub reader: Reader,
    pub create_service_account: bool,
    /// The API server address written into the kubeconfig; the kubeconfig's own when absent.
    pub server: Option<String>,
    pub tls_server_name: Option<String>,
    /// A token Secret of the account to take the token from instead of a TokenRequest.
    pub secret_name: Option<String>,
    pub token_lifetime: Duration,
}

/// The Secret to print, and what the user should know about it.
#[derive(Debug, Clone)]
pub struct Generated {
    pub secret: Value,
    /// When the token stops working (RFC 3339), for a TokenRequest token.
    pub expires: Option<String>,
    pub warnings: Vec<String>,
}

/// Why the remote cluster could not provide a reader kubeconfig. Each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum RemoteClusterError {
    #[error(
        "cannot reach the API server at {server}: {cause}; check that --kubeconfig and --context \
         name the remote cluster and that its API server is reachable from here"
    )]
    Unreachable { server: String, cause: String },
    #[error(
        "the API server at {server} rejected the kubeconfig's credentials (401 Unauthorized); \
         renew them (log in again) or pick another --context"
    )]
    Unauthorized { server: String },
    #[error(
        "forbidden to {action} {what}: {message}; the kubeconfig's user needs to create \
         namespaces, service accounts, cluster roles and bindings and service account tokens \
         (cluster-admin can): use an admin --context, or create the account and its role \
         yourself and pass --create-service-account=false"
    )]
    Forbidden {
        action: &'static str,
        what: String,
        message: String,
    },
    #[error(
        "service account {namespace}/{name} not found: drop --create-service-account=false to \
         create it, or pass --service-account with an existing account"
    )]
    ServiceAccountMissing { namespace: String, name: String },
    #[error(
        "secret {namespace}/{name} not found: pass --secret-name with a token Secret of the \
         service account, or leave it out to request a token"
    )]
    TokenSecretMissing { namespace: String, name: String },
    #[error(
        "secret {namespace}/{name} is not a token of service account {account} (it needs type \
         {TOKEN_SECRET_TYPE} and annotation {TOKEN_SECRET_ACCOUNT}: {account}): pass the right \
         --secret-name or --service-account"
    )]
    NotATokenSecret {
        namespace: String,
        name: String,
        account: String,
    },
    #[error(
        "secret {namespace}/{name} has no {key} yet: the controller-manager fills in token \
         Secrets; check that it runs, or leave --secret-name out to request a token"
    )]
    TokenSecretIncomplete {
        namespace: String,
        name: String,
        key: &'static str,
    },
    #[error("the API server returned no token for service account {namespace}/{name}")]
    NoToken { namespace: String, name: String },
    #[error(
        "no CA certificate for {server}: the kubeconfig has none and the cluster publishes no \
         {ROOT_CA_CONFIGMAP} ConfigMap in {namespace}; use a kubeconfig with \
         certificate-authority-data"
    )]
    NoCa { server: String, namespace: String },
    #[error("the kube-system namespace's UID is not a usable cluster name ({0}); pass --name")]
    DefaultName(#[source] ClusterNameError),
    #[error("cannot {action} {what}: {cause}")]
    Api {
        action: &'static str,
        what: String,
        cause: String,
    },
}

/// Classifies a failed request: unreachable, unauthenticated and forbidden get their own advice.
fn classify(
    server: &str,
    action: &'static str,
    what: String,
    e: kube::Error,
) -> RemoteClusterError {
    match e {
        kube::Error::Api(status) if status.code == 401 => RemoteClusterError::Unauthorized {
            server: server.to_string(),
        },
        kube::Error::Api(status) if status.code == 403 => RemoteClusterError::Forbidden {
            action,
            what,
            message: status.message,
        },
        e @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => {
            RemoteClusterError::Unreachable {
                server: server.to_string(),
                cause: crate::xds::error_chain(&e),
            }
        }
        e => RemoteClusterError::Api {
            action,
            what,
            cause: crate::xds::error_chain(&e),
        },
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
}

/// Talks to the remote cluster for one run.
struct Remote {
    client: Client,
    server: String,
}

impl Remote {
    fn error(
        &self,
        action: &'static str,
        what: String,
    ) -> impl FnOnce(kube::Error) -> RemoteClusterError {
        let server = self.server.clone();
        move |e| classify(&server, action, what, e)
    }

    /// `GET`, with 404 as `None`.
    async fn get_opt<K>(
        &self,
        api: &Api<K>,
        name: &str,
        what: String,
    ) -> Result<Option<K>, RemoteClusterError>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        match api.get(name).await {
            Ok(o) => Ok(Some(o)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.error("read", what)(e)),
        }
    }

    /// The cluster's name: `--name`, else the UID of `kube-system` (stable for the cluster's
    /// life, which is why istioctl picks it).
    async fn cluster_name(
        &self,
        name: Option<&ClusterName>,
    ) -> Result<ClusterName, RemoteClusterError> {
        if let Some(name) = name {
            return Ok(name.clone());
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns = api.get("kube-system").await.map_err(self.error(
            "read",
            "namespace kube-system (for the default --name)".into(),
        ))?;
        let uid = ns.metadata.uid.unwrap_or_default();
        uid.parse().map_err(RemoteClusterError::DefaultName)
    }

    /// Creates the namespace and the account when missing, and applies the role and binding.
    async fn ensure_reader(&self, reader: &Reader) -> Result<(), RemoteClusterError> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &reader.namespace);
        let account_objects = reader.account_objects();
        let missing = [
            self.get_opt(
                &namespaces,
                &reader.namespace,
                format!("namespace {}", reader.namespace),
            )
            .await?
            .is_none(),
            self.get_opt(&accounts, &reader.service_account, account_what(reader))
                .await?
                .is_none(),
        ];
        for (object, missing) in account_objects.iter().zip(missing) {
            if missing {
                self.apply(object).await?;
            }
        }
        for object in reader.rbac_objects() {
            self.apply(&object).await?;
        }
        Ok(())
    }

    /// Server-side apply of one object, as `ferryctl install` applies.
    async fn apply(&self, object: &ReaderObject) -> Result<(), RemoteClusterError> {
        let value = &object.object;
        let api_version = value["apiVersion"].as_str().unwrap_or_default();
        let kind = value["kind"].as_str().unwrap_or_default();
        let name = value["metadata"]["name"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, version, kind),
            object.plural,
        );
        let api: Api<DynamicObject> = match value["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        api.patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(value),
        )
        .await
        .map_err(self.error("create", format!("{kind} {name}")))?;
        Ok(())
    }

    /// A token for the account through TokenRequest, and when it expires.
    async fn request_token(
        &self,
        reader: &Reader,
        lifetime: Duration,
    ) -> Result<(String, Option<String>), RemoteClusterError> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &reader.namespace);
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                // No audiences: the API server's own, so the token authenticates to it.
                audiences: None,
                expiration_seconds: Some(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
                ..TokenRequestSpec::default()
            }),
            ..TokenRequest::default()
        };
        let what = format!("a token for {}", account_what(reader));
        let response = accounts
            .create_token_request(&reader.service_account, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    RemoteClusterError::ServiceAccountMissing {
                        namespace: reader.namespace.clone(),
                        name: reader.service_account.clone(),
                    }
                } else {
                    self.error("request", what)(e)
                }
            })?;
        let status = response.status.unwrap_or_default();
        let token =
            status
                .token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| RemoteClusterError::NoToken {
                    namespace: reader.namespace.clone(),
                    name: reader.service_account.clone(),
                })?;
        Ok((token, status.expiration_timestamp.map(|t| t.0.to_string())))
    }

    /// The token and CA of an existing token Secret of the account (`--secret-name`).
    async fn token_secret(
        &self,
        reader: &Reader,
        name: &str,
    ) -> Result<(String, Option<Vec<u8>>), RemoteClusterError> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &reader.namespace);
        let what = format!("secret {}/{name}", reader.namespace);
        let secret = self.get_opt(&secrets, name, what).await?.ok_or_else(|| {
            RemoteClusterError::TokenSecretMissing {
                namespace: reader.namespace.clone(),
                name: name.to_string(),
            }
        })?;
        let belongs = secret.type_.as_deref() == Some(TOKEN_SECRET_TYPE)
            && secret
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(TOKEN_SECRET_ACCOUNT))
                == Some(&reader.service_account);
        if !belongs {
            return Err(RemoteClusterError::NotATokenSecret {
                namespace: reader.namespace.clone(),
                name: name.to_string(),
                account: reader.service_account.clone(),
            });
        }
        let data = secret.data.unwrap_or_default();
        let token = data
            .get("token")
            .map(|t| String::from_utf8_lossy(&t.0).into_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RemoteClusterError::TokenSecretIncomplete {
                namespace: reader.namespace.clone(),
                name: name.to_string(),
                key: "token",
            })?;
        let ca = data
            .get("ca.crt")
            .map(|c| c.0.clone())
            .filter(|c| !c.is_empty());
        Ok((token, ca))
    }

    /// The CA the controller-manager publishes for pods, when the kubeconfig names none.
    async fn published_ca(&self, namespace: &str) -> Result<Option<Vec<u8>>, RemoteClusterError> {
        let configmaps: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let what = format!("configmap {namespace}/{ROOT_CA_CONFIGMAP}");
        Ok(self
            .get_opt(&configmaps, ROOT_CA_CONFIGMAP, what)
            .await?
            .and_then(|c| c.data)
            .and_then(|d| d.get("ca.crt").cloned())
            .map(String::into_bytes))
    }
}

fn account_what(reader: &Reader) -> String {
    format!(
        "service account {}/{}",
        reader.namespace, reader.service_account
    )
}

/// The kubeconfig's server URL without the trailing `/` `http::Uri` adds.
fn server_url(config: &Config) -> String {
    config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string()
}

/// A server address the primary cluster's control plane is unlikely to reach.
fn loopback_warning(server: &str) -> Option<String> {
    (server.contains("127.0.0.1") || server.contains("localhost")).then(|| {
        format!(
            "warn: server in Kubeconfig is {server}. This is likely not reachable from inside \
             the cluster, if you're using Kubernetes in Docker, pass --server with the container \
             IP for the API Server"
        )
    })
}

/// Runs `create-remote-secret` against the cluster of `config` (the remote cluster).
pub async fn generate(config: &Config, options: &Options) -> Result<Generated, RemoteClusterError> {
    let kube_server = server_url(config);
    let client = Client::try_from(config.clone()).map_err(|e| RemoteClusterError::Unreachable {
        server: kube_server.clone(),
        cause: crate::xds::error_chain(&e),
    })?;
    let remote = Remote {
        client,
        server: kube_server.clone(),
    };
    let cluster = remote.cluster_name(options.name.as_ref()).await?;
    let reader = &options.reader;
    if options.create_service_account {
        remote.ensure_reader(reader).await?;
    }
    let (token, secret_ca, expires) = match &options.secret_name {
        Some(name) => {
            let (token, ca) = remote.token_secret(reader, name).await?;
            (token, ca, None)
        }
        None => {
            let (token, expires) = remote.request_token(reader, options.token_lifetime).await?;
            (token, None, expires)
        }
    };
    // The CA the kubeconfig trusts for this server first: it is what verified the connection
    // just made. A token Secret's `ca.crt` and the published root CA are what pods trust.
    let kubeconfig_ca = config
        .root_cert
        .as_ref()
        .filter(|certs| !certs.is_empty())
        .map(|certs| {
            certs
                .iter()
                .map(|der| der_to_pem(der))
                .collect::<String>()
                .into_bytes()
        });
    let ca_pem = match kubeconfig_ca.or(secret_ca) {
        Some(ca) => ca,
        None => remote
            .published_ca(&reader.namespace)
            .await?
            .ok_or_else(|| RemoteClusterError::NoCa {
                server: kube_server.clone(),
                namespace: reader.namespace.clone(),
            })?,
    };
    let server = options.server.clone().unwrap_or(kube_server);
    let warnings = if options.server.is_none() {
        loopback_warning(&server).into_iter().collect()
    } else {
        Vec::new()
    };
    let access = RemoteAccess {
        cluster,
        server,
        ca_pem,
        tls_server_name: options.tls_server_name.clone(),
        token,
    };
    Ok(Generated {
        secret: access.secret(options.secret_type, &reader.namespace),
        expires,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_servers_are_warned_about() {
        assert!(loopback_warning("https://127.0.0.1:6443").is_some());
        assert!(loopback_warning("https://localhost:6443").is_some());
        assert!(loopback_warning("https://10.0.0.1:6443").is_none());
    }

    #[test]
    fn api_errors_are_classified_with_their_fix() {
        let status = |code: u16| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                message: "no".into(),
                ..kube::core::Status::default()
            }))
        };
        let forbidden = classify("https://x", "create", "ClusterRole r".into(), status(403));
        assert!(
            forbidden
                .to_string()
                .starts_with("forbidden to create ClusterRole r: no; "),
            "{forbidden}"
        );
        assert!(matches!(
            classify("https://x", "read", "n".into(), status(401)),
            RemoteClusterError::Unauthorized { .. }
        ));
        assert!(matches!(
            classify("https://x", "read", "n".into(), status(409)),
            RemoteClusterError::Api { .. }
        ));
    }
}
