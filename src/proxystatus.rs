//! `proxy-status`: whether each proxy has what its control plane sent it, and for one proxy, how
//! the control plane's intended config differs from the proxy's own, printed as istioctl does.
//!
//! - [`sync`]: the per-proxy, per-type sync status, read from istiod's two shapes (the
//!   `ClientConfig`s of the `istio.io/debug/syncz` ADS type, the JSON of `GET /debug/syncz`);
//! - [`table`]: istioctl's tables (the default one and `-v 1`'s per-type columns);
//! - [`response`]: `-o json|yaml`, istiod's `DiscoveryResponse` in protojson;
//! - [`compare`]: the clusters / listeners / routes diff of `proxy-status <proxy>`;
//! - [`gather`]: the only part that does I/O: asking control planes and proxies.

pub mod compare;
pub mod gather;
pub mod response;
pub mod sync;
pub mod table;
