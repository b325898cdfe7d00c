//! A gateway terminating TLS with a credential that lives in a real kube-apiserver: the
//! control plane watches the Secret in its namespace, serves it over SDS to a real gateway
//! proxy, and serves the renewed certificate when the Secret changes.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};

use crate::discovery::get;
use crate::eventually;
use crate::gateway_tls::{https_get, server_credential};
use crate::kube::{
    CRDS, api, apply, client, crds_installed, install_crds, kubeconfig, start_discovery,
};
use crate::mesh::{Process, free_port};

const NAMESPACE: &str = "istio-system";
const CREDENTIAL: &str = "kube-gwtls-credential";
const HOST: &str = "gwtls.example.com";
/// The gateway's labels: this test's Gateway selects only its own proxy.
const SELECTOR: &str = "kube-gwtls-ingressgateway";

fn secret(cert: &str, key: &str) -> Value {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": CREDENTIAL, "namespace": NAMESPACE},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(cert), "tls.key": b64(key)},
    })
}

fn gateway(port: u16) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
        "metadata": {"name": "kube-gwtls", "namespace": "default"},
        "spec": {
            "selector": {"istio": SELECTOR},
            "servers": [{
                "port": {"number": port, "name": "https", "protocol": "HTTPS"},
                "tls": {"mode": "SIMPLE", "credentialName": CREDENTIAL},
                "hosts": [HOST],
            }],
        },
    })
}

fn virtual_service() -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "kube-gwtls", "namespace": "default"},
        "spec": {
            "hosts": [HOST],
            "gateways": ["kube-gwtls"],
            "http": [{"directResponse": {"status": 200, "body": {"string": "through-tls"}}}],
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real kube-apiserver: run by .ci/run via tests/k8s/cluster.sh"]
async fn kube_gateway_serves_the_credential_secret_of_the_api_server() {
    let kubeconfig = kubeconfig();
    let client = client(&kubeconfig).await;
    // Held throughout: the Gateway changes what `analyze -A` finds in the cluster.
    let _whole_cluster = CRDS.lock().await;
    if !crds_installed(&client).await {
        install_crds(&client).await;
    }
    apply(
        &client,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        "namespaces",
    )
    .await;
    let (ca, cert, key) = server_credential(HOST);
    apply(&client, &secret(&cert, &key), "secrets").await;
    let port = free_port();
    apply(&client, &gateway(port), "gateways").await;
    apply(&client, &virtual_service(), "virtualservices").await;

    let (_discovery, grpc, debug, _lines) = start_discovery(&kubeconfig);
    eventually(Duration::from_secs(30), "discovery ready", || {
        get(&debug, "/ready").0 == 200
    });
    let labels = format!("istio={SELECTOR}");
    let _router = Process::start(&[
        "proxy",
        "router",
        "--discovery-address",
        &grpc,
        "--admin-address",
        "127.0.0.1:0",
        "--pod-name",
        "kube-gwtls-1",
        "--pod-namespace",
        NAMESPACE,
        "--labels",
        &labels,
    ]);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let served = |ca: String| async move {
        https_get(addr, HOST, &ca, HOST, "/")
            .await
            .is_ok_and(|a| a.status == 200 && a.body == "through-tls")
    };
    let start = std::time::Instant::now();
    while !served(ca.clone()).await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the gateway never served {HOST} over TLS: {:?}",
            https_get(addr, HOST, &ca, HOST, "/").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Another name: no filter chain, no handshake.
    assert!(
        https_get(addr, "other.example.com", &ca, "other.example.com", "/")
            .await
            .is_err()
    );

    // The Secret renewed through the API: new connections get the new certificate.
    let (new_ca, new_cert, new_key) = server_credential(HOST);
    apply(&client, &secret(&new_cert, &new_key), "secrets").await;
    let start = std::time::Instant::now();
    while !served(new_ca.clone()).await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the renewed certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let _ = secrets.delete(CREDENTIAL, &DeleteParams::default()).await;
    for (object, plural) in [
        (gateway(port), "gateways"),
        (virtual_service(), "virtualservices"),
    ] {
        let _ = api(&client, &object, plural)
            .delete("kube-gwtls", &DeleteParams::default())
            .await;
    }
}
