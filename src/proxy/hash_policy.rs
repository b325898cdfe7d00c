//! A route's hash policy (Envoy's `RouteAction.hash_policy`): what of a request the consistent
//! hashing balancers hash — a header, a cookie, the client's IP or a query parameter — and the
//! cookie Envoy sets when the policy names one with a TTL and the client sent none.

use std::net::SocketAddr;
use std::time::Duration;

use envoy_types::pb::envoy::config::route::v3::route_action::{HashPolicy, hash_policy};
use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};

use super::balancer::xxhash64;

/// One way of hashing a request.
#[derive(Debug, Clone)]
pub enum Policy {
    Header(HeaderName),
    Cookie {
        name: String,
        /// `Some`: generate the cookie when absent (`Some(0)`: a session cookie).
        ttl: Option<Duration>,
        path: String,
    },
    SourceIp,
    QueryParameter(String),
}

/// The compiled hash policies of a route, in order.
#[derive(Debug, Clone, Default)]
pub struct HashPolicies(Vec<(Policy, bool)>);

/// What hashing a request produced.
#[derive(Debug, Default)]
pub struct RequestHash {
    pub hash: Option<u64>,
    /// A `Set-Cookie` for the response: the cookie the policy wanted was absent.
    pub set_cookie: Option<HeaderValue>,
}

impl HashPolicies {
    pub fn compile(policies: &[HashPolicy]) -> Result<HashPolicies, String> {
        let mut out = Vec::new();
        for p in policies {
            use hash_policy::PolicySpecifier as S;
            let policy = match &p.policy_specifier {
                Some(S::Header(h)) => Policy::Header(
                    HeaderName::from_bytes(h.header_name.as_bytes())
                        .map_err(|e| format!("hash policy header {:?}: {e}", h.header_name))?,
                ),
                Some(S::Cookie(c)) => Policy::Cookie {
                    name: c.name.clone(),
                    ttl: c.ttl.as_ref().map(|d| {
                        Duration::from_secs(u64::try_from(d.seconds).unwrap_or(0))
                            + Duration::from_nanos(u64::try_from(d.nanos).unwrap_or(0))
                    }),
                    path: c.path.clone(),
                },
                Some(S::ConnectionProperties(c)) if c.source_ip => Policy::SourceIp,
                Some(S::QueryParameter(q)) => Policy::QueryParameter(q.name.clone()),
                // Filter state and disabled connection properties hash nothing.
                _ => continue,
            };
            out.push((policy, p.terminal));
        }
        Ok(HashPolicies(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Hashes a request as Envoy's `HashPolicyImpl::generateHash` does: each policy that finds
    /// its input folds it in (`rotl(hash, 1) ^ h`), a terminal one that found it ends the list.
    /// `local` is the listener's address, part of a generated cookie's value.
    pub fn hash(
        &self,
        headers: &HeaderMap,
        path_and_query: &str,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> RequestHash {
        let mut out = RequestHash::default();
        for (policy, terminal) in &self.0 {
            let h = match policy {
                Policy::Header(name) => headers.get(name).map(|v| xxhash64(v.as_bytes(), 0)),
                Policy::Cookie { name, ttl, path } => match cookie(headers, name) {
                    Some(value) => Some(xxhash64(value.as_bytes(), 0)),
                    None => ttl.map(|ttl| {
                        // Envoy's value: the same for every request of the connection, different
                        // for clients behind one NAT (the port is in it).
                        let value =
                            format!("{:016x}", xxhash64(format!("{peer}{local}").as_bytes(), 0));
                        out.set_cookie = set_cookie(name, &value, path, ttl);
                        xxhash64(value.as_bytes(), 0)
                    }),
                },
                Policy::SourceIp => Some(xxhash64(peer.ip().to_string().as_bytes(), 0)),
                Policy::QueryParameter(name) => {
                    query_parameter(path_and_query, name).map(|v| xxhash64(v.as_bytes(), 0))
                }
            };
            if let Some(h) = h {
                out.hash = Some(out.hash.map_or(h, |acc| acc.rotate_left(1) ^ h));
                if *terminal {
                    break;
                }
            }
        }
        out
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Envoy's generated cookie: `name="value"; Max-Age=<ttl>; Path=<path>; HttpOnly` (no Max-Age
/// for a session cookie).
fn set_cookie(name: &str, value: &str, path: &str, ttl: Duration) -> Option<HeaderValue> {
    let mut c = format!("{name}=\"{value}\"");
    if !ttl.is_zero() {
        c.push_str(&format!("; Max-Age={}", ttl.as_secs()));
    }
    if !path.is_empty() {
        c.push_str(&format!("; Path={path}"));
    }
    c.push_str("; HttpOnly");
    HeaderValue::from_str(&c).ok()
}

fn query_parameter<'q>(path_and_query: &'q str, name: &str) -> Option<&'q str> {
    let (_, query) = path_and_query.split_once('?')?;
    query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::google::protobuf::Duration as PbDuration;

    use super::*;

    fn policies(specifiers: Vec<hash_policy::PolicySpecifier>) -> HashPolicies {
        let list: Vec<HashPolicy> = specifiers
            .into_iter()
            .map(|s| HashPolicy {
                policy_specifier: Some(s),
                terminal: false,
            })
            .collect();
        HashPolicies::compile(&list).expect("compiles")
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn headers_query_parameters_and_source_ips_hash_their_values() {
        let p = policies(vec![hash_policy::PolicySpecifier::Header(
            hash_policy::Header {
                header_name: "x-user".into(),
                ..Default::default()
            },
        )]);
        let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        let alice = p.hash(&headers(&[("x-user", "alice")]), "/", a, b).hash;
        assert_eq!(alice, Some(xxhash64(b"alice", 0)));
        assert_eq!(
            alice,
            p.hash(&headers(&[("x-user", "alice")]), "/", b, a).hash
        );
        assert_eq!(p.hash(&HeaderMap::new(), "/", a, b).hash, None);

        let q = policies(vec![hash_policy::PolicySpecifier::QueryParameter(
            hash_policy::QueryParameter { name: "u".into() },
        )]);
        assert_eq!(
            q.hash(&HeaderMap::new(), "/p?x=1&u=bob", a, b).hash,
            Some(xxhash64(b"bob", 0))
        );
        assert_eq!(q.hash(&HeaderMap::new(), "/p?x=1", a, b).hash, None);

        let ip = policies(vec![hash_policy::PolicySpecifier::ConnectionProperties(
            hash_policy::ConnectionProperties { source_ip: true },
        )]);
        assert_eq!(
            ip.hash(&HeaderMap::new(), "/", a, b).hash,
            ip.hash(&HeaderMap::new(), "/", addr("10.0.0.1:9999"), b)
                .hash
        );
    }

    #[test]
    fn an_absent_cookie_with_a_ttl_is_generated() {
        let p = policies(vec![hash_policy::PolicySpecifier::Cookie(
            hash_policy::Cookie {
                name: "session".into(),
                ttl: Some(PbDuration {
                    seconds: 60,
                    nanos: 0,
                }),
                path: "/".into(),
                ..Default::default()
            },
        )]);
        let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:80"));
        let first = p.hash(&HeaderMap::new(), "/", a, b);
        let set = first.set_cookie.expect("a Set-Cookie");
        let set = set.to_str().expect("text");
        assert!(set.starts_with("session=\""), "{set}");
        assert!(set.ends_with("\"; Max-Age=60; Path=/; HttpOnly"), "{set}");
        // The client sends it back: the same hash, no new cookie.
        let value = set.split(';').next().expect("pair").to_string();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&value).expect("value"),
        );
        let again = p.hash(&h, "/", addr("10.9.9.9:5"), b);
        assert_eq!(again.hash, first.hash);
        assert!(again.set_cookie.is_none());
    }

    #[test]
    fn a_cookie_without_a_ttl_is_not_generated() {
        let p = policies(vec![hash_policy::PolicySpecifier::Cookie(
            hash_policy::Cookie {
                name: "session".into(),
                ..Default::default()
            },
        )]);
        let r = p.hash(&HeaderMap::new(), "/", addr("1.1.1.1:1"), addr("2.2.2.2:2"));
        assert!(r.hash.is_none() && r.set_cookie.is_none());
    }
}
