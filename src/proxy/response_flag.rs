//! Envoy's response flags: why the proxy answered a request itself. A local reply carries its
//! flag as a response extension, so access logs and the `response_flags` label of Istio's
//! request metrics can read it where the response is finished.

/// One of Envoy's response flags, by its short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFlag {
    /// `RBAC`: the request was denied by an RBAC filter (an AuthorizationPolicy).
    Rbac,
}

impl ResponseFlag {
    /// The short name access logs and `response_flags` labels print.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseFlag::Rbac => "RBAC",
        }
    }
}
