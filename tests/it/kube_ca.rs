//! The CA on Kubernetes, as istiod's: a certificate request authenticated by a ServiceAccount
//! token (from the TokenRequest API, audience `istio-ca`, as the injector's projected token) is
//! checked with a TokenReview against a real kube-apiserver, and the certificate names the
//! account the API server says the token is for.

use std::time::Duration;

use ferry::identity::certificate_service::create_certificate;
use ferry::identity::pem;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::discovery::get;
use crate::eventually;
use crate::kube::{apply, client, kubeconfig, start_discovery};

const NAMESPACE: &str = "kube-ca";
const ACCOUNT: &str = "ratings";

/// A token of the test's account for `audiences`.
async fn token(client: &kube::Client, audiences: &[&str]) -> String {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(audiences.iter().map(|a| a.to_string()).collect()),
            expiration_seconds: Some(600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    accounts
        .create_token_request(ACCOUNT, &PostParams::default(), &request)
        .await
        .expect("a token")
        .status
        .expect("status")
        .token
        .expect("the token")
}

fn csr() -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_ca_issues_certificates_to_service_account_tokens_it_reviews() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        "namespaces",
    )
    .await;
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": ACCOUNT, "namespace": NAMESPACE}}),
        "serviceaccounts",
    )
    .await;
    let (_discovery, grpc, debug, _lines) = start_discovery(&kubeconfig);
    eventually(Duration::from_secs(30), "discovery ready", || {
        get(&debug, "/ready").0 == 200
    });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("the CA answers");
    let ask = |token: Option<String>| {
        let channel = channel.clone();
        async move {
            create_certificate(channel, token.as_deref(), csr(), Duration::from_secs(3600)).await
        }
    };

    // The injector's projected token: audience istio-ca.
    let chain = ask(Some(token(&client, &["istio-ca"]).await))
        .await
        .expect("a certificate for the account's token");
    let leaf = pem::certificates(&chain[0]).expect("PEM")[0].clone();
    let info = pem::cert_info(&leaf).expect("x509");
    assert_eq!(
        info.uri_sans,
        [format!(
            "spiffe://cluster.local/ns/{NAMESPACE}/sa/{ACCOUNT}"
        )]
    );

    // Not a token the API server issued.
    let bogus = ask(Some("not-a-token".to_string()))
        .await
        .expect_err("a bogus token is refused");
    assert_eq!(bogus.code(), tonic::Code::Unauthenticated, "{bogus:?}");
    assert!(
        bogus.message().contains("request authenticate failure"),
        "{bogus:?}"
    );
    // A real token for another audience (the API server's own) is not one for the CA.
    let other = ask(Some(
        token(&client, &["https://kubernetes.default.svc"]).await,
    ))
    .await
    .expect_err("a token for another audience is refused");
    assert_eq!(other.code(), tonic::Code::Unauthenticated, "{other:?}");
    // No token at all.
    let none = ask(None).await.expect_err("no token");
    assert_eq!(none.code(), tonic::Code::Unauthenticated, "{none:?}");
}
