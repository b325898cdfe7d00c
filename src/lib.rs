//! Ferry: an Istio-compatible service mesh. One crate, one binary (`ferryctl`): the operator CLI
//! today; the control plane and the proxy join it as they are built.

pub mod analyze;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod exit;
pub mod identity;
pub mod inject;
pub mod install;
pub mod kube;
pub mod local;
pub mod metrics;
pub mod multicluster;
pub mod precheck;
pub mod proxy;
pub mod proxyconfig;
pub mod proxystatus;
pub mod validation;
pub mod xds;
