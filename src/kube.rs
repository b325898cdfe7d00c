//! Reaching what runs in a cluster from the CLI, as istioctl does: the pod a proxy command names
//! (`[<type>/]<name>[.<namespace>]`), the running control plane pods, and a port of either
//! forwarded through the API server to 127.0.0.1, so the same HTTP clients that talk to the local
//! mesh (Envoy's admin API, istiod's debug API and ControlZ) talk to a pod.
//!
//! - [`pod`]: the pod argument, parsed (pure) and resolved against the API server;
//! - [`control_plane`]: the running istiod pods of a namespace, selector and revision;
//! - [`portforward`]: a local listener whose connections are port-forwards to a pod.

pub mod control_plane;
pub mod pod;
pub mod portforward;

/// What the API server said, without kube's debug dump of the whole status: `pods "x" not
/// found`, as kubectl and istioctl print it.
pub fn api_message(e: &::kube::Error) -> String {
    match e {
        ::kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}
