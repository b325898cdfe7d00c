//! The proxy's `/config_dump`: what it holds, as Envoy's `ConfigDump`.

use std::time::SystemTime;

use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use envoy_types::pb::envoy::config::core::v3::Node;

use super::state::{Shared, Store};
use crate::xds::dump::{self, DumpError, DumpQuery, DumpSource};

/// The bootstrap a proxy started from: its node (Envoy prints it in the Bootstrap section, and
/// `istioctl proxy-config bootstrap` reads it there).
#[derive(Debug, Clone)]
pub struct BootInfo {
    pub bootstrap: Bootstrap,
    pub loaded: SystemTime,
}

impl BootInfo {
    pub fn new(node: Node) -> BootInfo {
        BootInfo {
            bootstrap: Bootstrap {
                node: Some(node),
                ..Bootstrap::default()
            },
            loaded: SystemTime::now(),
        }
    }
}

/// Envoy's JSON for `GET /config_dump?<query>`.
pub fn config_dump(
    shared: &Shared,
    boot: &BootInfo,
    query: &DumpQuery,
) -> Result<String, DumpError> {
    let Store {
        listeners,
        routes,
        clusters,
        endpoints,
        ..
    } = shared.store();
    let listeners: Vec<_> = listeners.into_values().collect();
    let routes: Vec<_> = routes.into_values().collect();
    let clusters: Vec<_> = clusters.into_values().collect();
    let endpoints: Vec<_> = endpoints.into_values().collect();
    let secrets = shared.secrets.dump();
    let source = DumpSource {
        bootstrap: Some((&boot.bootstrap, boot.loaded)),
        listeners: &listeners,
        routes: &routes,
        clusters: &clusters,
        endpoints: &endpoints,
        secrets: &secrets,
    };
    dump::to_json(&dump::build_config_dump(&source), query)
}
