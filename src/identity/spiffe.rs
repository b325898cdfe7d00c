//! Istio's workload identity: `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`,
//! the URI SAN of every workload certificate and what peers are verified against.

use std::fmt;
use std::str::FromStr;

/// Istio's default trust domain (meshConfig `trustDomain`).
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";

const SCHEME: &str = "spiffe://";

/// A SPIFFE ID in Istio's form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId {
    pub trust_domain: String,
    pub namespace: String,
    pub service_account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpiffeError {
    #[error(
        "{0:?} is not a SPIFFE ID of the form spiffe://<trust domain>/ns/<namespace>/sa/<service account>"
    )]
    Malformed(String),
}

impl SpiffeId {
    pub fn new(trust_domain: &str, namespace: &str, service_account: &str) -> SpiffeId {
        SpiffeId {
            trust_domain: trust_domain.to_string(),
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
        }
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SCHEME}{}/ns/{}/sa/{}",
            self.trust_domain, self.namespace, self.service_account
        )
    }
}

impl FromStr for SpiffeId {
    type Err = SpiffeError;

    fn from_str(s: &str) -> Result<SpiffeId, SpiffeError> {
        let bad = || SpiffeError::Malformed(s.to_string());
        let rest = s.strip_prefix(SCHEME).ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split('/').collect();
        // Istio's spiffe.ParseIdentity: exactly td/ns/<ns>/sa/<sa>, nothing empty.
        match parts.as_slice() {
            [td, "ns", ns, "sa", sa] if !td.is_empty() && !ns.is_empty() && !sa.is_empty() => {
                Ok(SpiffeId::new(td, ns, sa))
            }
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_identities_round_trip() {
        let id: SpiffeId = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"
            .parse()
            .expect("valid");
        assert_eq!(
            id,
            SpiffeId::new("cluster.local", "default", "bookinfo-reviews")
        );
        assert_eq!(
            id.to_string(),
            "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "",
            "cluster.local/ns/default/sa/x",
            "spiffe://cluster.local/ns/default",
            "spiffe://cluster.local/ns//sa/x",
            "spiffe://cluster.local/sa/x/ns/default",
            "spiffe:///ns/default/sa/x",
            "spiffe://td/ns/a/sa/b/extra",
        ] {
            assert!(bad.parse::<SpiffeId>().is_err(), "{bad}");
        }
    }
}
