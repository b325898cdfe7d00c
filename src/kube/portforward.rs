//! A pod's port on 127.0.0.1, as `kubectl port-forward` and istioctl's port forwarder give it:
//! a local listener whose every connection is a port-forward through the API server (the
//! `pods/portforward` subresource over a WebSocket). Callers then use the local address with the
//! HTTP clients they use for the local mesh.
//!
//! The first port-forward is opened before the listener is handed out, so what the API server
//! refuses (no such pod, RBAC, no route to the node) is the error of [`PortForward::start`]. What
//! the kubelet reports later on the port's error channel (nothing listens on the port, the pod
//! went away) is kept, and [`PortForward::failure`] tells it, since the HTTP client only sees its
//! connection close.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ::kube::Client;
use ::kube::api::{Api, Portforwarder};
use k8s_openapi::api::core::v1::Pod;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::api_message;

/// How long [`PortForward::failure`] callers usually wait for the kubelet's word after a failed
/// request: it comes on its own channel, just before or after the stream closes.
pub const FAILURE_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum PortForwardError {
    #[error("port-forward to pod {pod}.{namespace} port {port}: {message}")]
    Refused {
        pod: String,
        namespace: String,
        port: u16,
        message: String,
    },
    #[error("listening on 127.0.0.1 for the port-forward: {0}")]
    Listen(#[source] std::io::Error),
}

/// A pod's port forwarded to [`PortForward::local_addr`] while this value lives.
#[derive(Debug)]
pub struct PortForward {
    local: SocketAddr,
    failure: watch::Receiver<Option<String>>,
    accept: JoinHandle<()>,
}

impl PortForward {
    /// Forwards `port` of pod `namespace/pod` to a free port of 127.0.0.1.
    pub async fn start(
        client: &Client,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<PortForward, PortForwardError> {
        let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let first = api
            .portforward(pod, &[port])
            .await
            .map_err(|e| PortForwardError::Refused {
                pod: pod.to_string(),
                namespace: namespace.to_string(),
                port,
                message: api_message(&e),
            })?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(PortForwardError::Listen)?;
        let local = listener.local_addr().map_err(PortForwardError::Listen)?;
        let (failed, failure) = watch::channel(None);
        let accept = tokio::spawn(accept(
            listener,
            api,
            pod.to_string(),
            port,
            first,
            Arc::new(failed),
        ));
        Ok(PortForward {
            local,
            failure,
            accept,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// What the API server or the kubelet reported about a forwarded connection, waiting up to
    /// `within` for it; `None` when nothing was reported.
    pub async fn failure(&self, within: Duration) -> Option<String> {
        let mut failure = self.failure.clone();
        let _ = tokio::time::timeout(within, failure.wait_for(Option::is_some)).await;
        failure.borrow().clone()
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        // The connections are tasks of the accept loop's JoinSet: they end with it.
        self.accept.abort();
    }
}

async fn accept(
    listener: TcpListener,
    api: Api<Pod>,
    pod: String,
    port: u16,
    first: Portforwarder,
    failed: Arc<watch::Sender<Option<String>>>,
) {
    let mut first = Some(first);
    let mut connections = JoinSet::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of file descriptors, say: let some connections finish rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while connections.try_join_next().is_some() {}
        // A WebSocket port-forward carries one stream per port: each connection needs its own.
        let forwarder = match first.take() {
            Some(f) => f,
            None => match api.portforward(&pod, &[port]).await {
                Ok(f) => f,
                Err(e) => {
                    failed.send_replace(Some(api_message(&e)));
                    continue;
                }
            },
        };
        connections.spawn(bridge(tcp, forwarder, port, failed.clone()));
    }
}

/// Copies between the local connection and the pod's port until either side closes, or the
/// kubelet reports the port unusable.
async fn bridge(
    mut tcp: TcpStream,
    mut forwarder: Portforwarder,
    port: u16,
    failed: Arc<watch::Sender<Option<String>>>,
) {
    let Some(mut upstream) = forwarder.take_stream(port) else {
        return;
    };
    let error = forwarder.take_error(port);
    let reported = async move {
        match error {
            Some(error) => error.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut tcp, &mut upstream) => {}
        Some(message) = reported => {
            failed.send_replace(Some(message));
        }
    }
    // Both directions are closed (or the port failed): nothing is left in flight.
    forwarder.abort();
}
