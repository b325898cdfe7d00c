//! `proxy-config`: reading an Envoy's admin output (a `/config_dump`, `/clusters?format=json`,
//! `/logging`) and printing it as istioctl does. Pure functions over parsed JSON; only
//! [`admin`] touches the network. The tables emulate Go's tabwriter and sort so the output is
//! byte-identical to istioctl's.

pub mod admin;
pub mod bootstrap;
pub mod clusters;
pub mod dump;
pub mod ecds;
pub mod eds;
pub mod endpoints;
pub mod gosort;
pub mod listeners;
pub mod logging;
pub mod protojson;
pub mod routes;
pub mod secrets;
pub mod summary;
pub mod tabwriter;
pub mod x509;

pub use dump::ConfigDump;

/// Why a dump could not be read or printed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("line {line} column {column}: not valid JSON: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "not an Envoy config dump: expected a JSON object with a \"configs\" array \
         (the output of GET /config_dump)"
    )]
    NotConfigDump,
    #[error(
        "not an Envoy clusters listing: expected a JSON object with \"cluster_statuses\" \
         (the output of GET /clusters?format=json){hint}"
    )]
    NotClusters { hint: &'static str },
    #[error("config dump has no configuration type {0}")]
    MissingSection(&'static str),
    #[error("no clusters found")]
    NoClusters,
    #[error("no listeners found")]
    NoListeners,
    #[error("no routes found")]
    NoRoutes,
}

/// The tables' output: summary (`short`) or the selected resources as JSON or YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Short,
    Json,
    Yaml,
}
