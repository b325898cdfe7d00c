//! The `server` header of responses, as Envoy's connection manager sets it: `server_name`
//! (`envoy` when unset) and `server_header_transformation`. Envoy's default overwrites what the
//! upstream said, so a client sees the proxy, not the application's web server; Istio names
//! gateways and sidecars' inbound side `istio-envoy` and leaves the outbound side at Envoy's
//! default (`curl -I` through an Istio ingress gateway shows `server: istio-envoy`).

use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager::ServerHeaderTransformation,
};
use http::header::{self, HeaderMap, HeaderValue};

/// Envoy's name for itself when the connection manager gives none.
const DEFAULT_NAME: &str = "envoy";
/// Istio's name for gateways and inbound listeners (`ProxyHeaders.ServerName`), which the
/// control plane sets (`discovery::translate::listener`): known here only to share one static
/// value instead of a reference-counted copy per response.
const ISTIO_NAME: &str = "istio-envoy";

/// What becomes of a response's `server` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerHeader {
    /// Set to the name, replacing the upstream's (Envoy's `OVERWRITE`, its default).
    Overwrite(HeaderValue),
    /// Set to the name only where the response has none (`APPEND_IF_ABSENT`).
    AppendIfAbsent(HeaderValue),
    /// Left as the response has it, and absent where it has none (`PASS_THROUGH`).
    PassThrough,
}

impl ServerHeader {
    /// The connection manager's setting; an error names a `server_name` that cannot be a
    /// header value (Envoy rejects the listener too).
    pub fn compile(hcm: &HttpConnectionManager) -> Result<ServerHeader, String> {
        let name = match hcm.server_name.as_str() {
            // The names every proxy uses need no allocation, nor a reference count per response.
            "" | DEFAULT_NAME => HeaderValue::from_static(DEFAULT_NAME),
            ISTIO_NAME => HeaderValue::from_static(ISTIO_NAME),
            other => HeaderValue::from_str(other)
                .map_err(|_| format!("server_name {other:?} is not a valid header value"))?,
        };
        Ok(
            match ServerHeaderTransformation::try_from(hcm.server_header_transformation) {
                Ok(ServerHeaderTransformation::AppendIfAbsent) => {
                    ServerHeader::AppendIfAbsent(name)
                }
                Ok(ServerHeaderTransformation::PassThrough) => ServerHeader::PassThrough,
                Ok(ServerHeaderTransformation::Overwrite) | Err(_) => ServerHeader::Overwrite(name),
            },
        )
    }

    /// Sets the header of a response about to go downstream.
    pub fn apply(&self, headers: &mut HeaderMap) {
        match self {
            ServerHeader::Overwrite(name) => {
                headers.insert(header::SERVER, name.clone());
            }
            ServerHeader::AppendIfAbsent(name) => {
                if let header::Entry::Vacant(v) = headers.entry(header::SERVER) {
                    v.insert(name.clone());
                }
            }
            ServerHeader::PassThrough => {}
        }
    }
}

impl ServerHeader {
    /// The header of a response the proxy makes itself, which has no upstream `server` to
    /// keep: the name, unless the header is passed through (then there is none).
    pub fn own(&self) -> Option<&HeaderValue> {
        match self {
            ServerHeader::Overwrite(name) | ServerHeader::AppendIfAbsent(name) => Some(name),
            ServerHeader::PassThrough => None,
        }
    }
}

impl Default for ServerHeader {
    /// Envoy's: overwritten with `envoy`.
    fn default() -> ServerHeader {
        ServerHeader::Overwrite(HeaderValue::from_static(DEFAULT_NAME))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hcm(name: &str, transformation: ServerHeaderTransformation) -> HttpConnectionManager {
        HttpConnectionManager {
            server_name: name.to_string(),
            server_header_transformation: transformation as i32,
            ..Default::default()
        }
    }

    fn served(setting: &ServerHeader, upstream: Option<&'static str>) -> Option<String> {
        let mut headers = HeaderMap::new();
        if let Some(s) = upstream {
            headers.insert(header::SERVER, HeaderValue::from_static(s));
        }
        setting.apply(&mut headers);
        assert!(headers.get_all(header::SERVER).iter().count() <= 1);
        headers
            .get(header::SERVER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    #[test]
    fn by_default_the_proxy_names_itself_envoy_over_the_upstream() {
        let s = ServerHeader::compile(&HttpConnectionManager::default()).unwrap();
        assert_eq!(s, ServerHeader::default());
        assert_eq!(served(&s, Some("nginx/1.22.1")).as_deref(), Some("envoy"));
        assert_eq!(served(&s, None).as_deref(), Some("envoy"));
    }

    #[test]
    fn each_transformation_treats_the_upstreams_header_as_envoy_does() {
        let overwrite =
            ServerHeader::compile(&hcm("istio-envoy", ServerHeaderTransformation::Overwrite))
                .unwrap();
        assert_eq!(
            served(&overwrite, Some("nginx")).as_deref(),
            Some("istio-envoy")
        );
        let append =
            ServerHeader::compile(&hcm("edge", ServerHeaderTransformation::AppendIfAbsent))
                .unwrap();
        assert_eq!(served(&append, Some("nginx")).as_deref(), Some("nginx"));
        assert_eq!(served(&append, None).as_deref(), Some("edge"));
        let pass =
            ServerHeader::compile(&hcm("edge", ServerHeaderTransformation::PassThrough)).unwrap();
        assert_eq!(served(&pass, Some("nginx")).as_deref(), Some("nginx"));
        assert_eq!(served(&pass, None), None);
    }

    #[test]
    fn a_name_that_is_no_header_value_is_refused() {
        let e = ServerHeader::compile(&hcm("bad\r\nname", ServerHeaderTransformation::Overwrite))
            .unwrap_err();
        assert!(e.contains("server_name"), "{e}");
    }
}
