//! Asking the control planes and the proxy: the only I/O of proxy-status (istioctl's
//! `multixds/gather.go`). A control plane is reached over HTTP (istiod's debug port, what the
//! local mesh records) or over ADS (`--xds-address`, istiod's debug types); both answer the same
//! questions.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use super::sync::{self, ControlPlaneSync, SyncError};
use crate::proxyconfig::admin::{self, AdminError};
use crate::xds::debug::{self, QueryError};

/// Where a control plane answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlPlane {
    /// istiod's debug HTTP API (`/debug/syncz`, `/debug/config_dump`) at `monitoring`; `name` is
    /// what the ISTIOD column shows.
    Http {
        name: String,
        monitoring: SocketAddr,
    },
    /// Plain-text ADS at `address` (`host:port`).
    Ads { address: String },
}

impl ControlPlane {
    pub fn describe(&self) -> String {
        match self {
            ControlPlane::Http { name, monitoring } => format!("{name} at {monitoring}"),
            ControlPlane::Ads { address } => address.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("asking {what}: {cause}")]
    Http { what: String, cause: AdminError },
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("{what} did not return JSON: {cause}")]
    Json {
        what: String,
        cause: serde_json::Error,
    },
    #[error("reading the answer of {what}: {cause}")]
    Sync { what: String, cause: SyncError },
}

fn json(what: &str, bytes: &[u8]) -> Result<Value, GatherError> {
    serde_json::from_slice(bytes).map_err(|cause| GatherError::Json {
        what: what.to_string(),
        cause,
    })
}

/// The sync status of every proxy of `cp`.
pub async fn syncz(cp: &ControlPlane, timeout: Duration) -> Result<ControlPlaneSync, GatherError> {
    let what = cp.describe();
    let sync_error = |cause| GatherError::Sync {
        what: what.clone(),
        cause,
    };
    match cp {
        ControlPlane::Http { name, monitoring } => {
            let body = admin::request(*monitoring, http::Method::GET, "/debug/syncz")
                .await
                .map_err(|cause| GatherError::Http {
                    what: format!("{what} for /debug/syncz"),
                    cause,
                })?;
            sync::from_syncz(name, &json(&what, &body)?).map_err(sync_error)
        }
        ControlPlane::Ads { address } => {
            let response = debug::query(address, debug::TYPE_SYNCZ, Vec::new(), timeout).await?;
            sync::from_response(&response, address).map_err(sync_error)
        }
    }
}

/// What `cp` would send proxy `proxy_id` (`<pod>.<namespace>`), as an Envoy config dump; `None`
/// when the proxy is not connected to it.
pub async fn intended_config(
    cp: &ControlPlane,
    proxy_id: &str,
    timeout: Duration,
) -> Result<Option<Value>, GatherError> {
    let what = cp.describe();
    match cp {
        ControlPlane::Http { monitoring, .. } => {
            let path = format!("/debug/config_dump?proxyID={proxy_id}");
            match admin::request(*monitoring, http::Method::GET, &path).await {
                Ok(body) => json(&what, &body).map(Some),
                Err(AdminError::Status(404)) => Ok(None),
                Err(cause) => Err(GatherError::Http {
                    what: format!("{what} for /debug/config_dump"),
                    cause,
                }),
            }
        }
        ControlPlane::Ads { address } => {
            let response = debug::query(
                address,
                debug::TYPE_CONFIG_DUMP,
                vec![proxy_id.to_string()],
                timeout,
            )
            .await?;
            let Some(resource) = response.resources.first() else {
                return Ok(None);
            };
            if resource.value.starts_with(debug::NOT_CONNECTED.as_bytes()) {
                return Ok(None);
            }
            json(&what, &resource.value).map(Some)
        }
    }
}

/// The proxy's own `/config_dump` from its admin API.
pub async fn proxy_config(admin_address: SocketAddr) -> Result<Value, GatherError> {
    let what = format!("the proxy's admin API at {admin_address}");
    let body = admin::request(admin_address, http::Method::GET, "/config_dump")
        .await
        .map_err(|cause| GatherError::Http {
            what: what.clone(),
            cause,
        })?;
    json(&what, &body)
}
