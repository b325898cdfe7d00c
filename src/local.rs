//! The embedded local mesh: the control plane and gateways of an install run as supervised
//! processes of this binary on 127.0.0.1, workloads register the Istio way (WorkloadEntry +
//! ServiceEntry in a watched config directory), and everything the troubleshooting commands need
//! to find them is recorded under one home directory.
//!
//! `home` (where state lives), `registry` (the records of running components, read by the CLI),
//! `plan` (what an install runs), `supervisor` (runs it), `probe` (readiness checks),
//! `workload` (an application with its sidecar, registered by WorkloadEntry, ServiceEntry and
//! Sidecar), `identity` (the token each proxy proves its identity to the CA with).

pub mod announce;
pub mod demo;
pub mod home;
pub mod identity;
pub mod install;
pub mod plan;
pub mod probe;
pub mod registry;
pub mod sample;
pub mod supervisor;
pub mod tags;
pub mod verify;
pub mod workload;
