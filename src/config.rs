//! Configuration: typed Istio and Kubernetes objects, YAML with source positions, loaders (files and
//! a live cluster) and the in-memory store. Shared by `analyze` today and by the control plane later.

pub mod cluster;
pub mod emit;
pub mod kind;
pub mod kube;
pub mod networking;
pub mod resource;
pub mod security;
pub mod source;
pub mod store;
pub mod telemetry;
pub mod types;
pub mod yaml;
