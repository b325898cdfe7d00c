//! Multicluster: what lets a control plane in one cluster read another (Istio's
//! `create-remote-secret`). The remote cluster gets a read-only reader account; the primary
//! cluster gets a Secret holding a kubeconfig for that account, which the control plane's secret
//! controller picks up by its `istio/multiCluster` label.
//!
//! [`reader`] and [`remote_secret`] are pure (the objects and the Secret as data);
//! [`remote_cluster`] is the thin layer that talks to the remote API server.

pub mod reader;
pub mod remote_cluster;
pub mod remote_secret;
