//! Envoy's RBAC HTTP filter (`envoy.filters.http.rbac`), compiled once per listener update and
//! evaluated per request before routing. The control plane puts AuthorizationPolicies here (see
//! `discovery::translate::authz`); the proxy knows only Envoy's model:
//! - a filter has an action: `ALLOW` lets a request through only when one of its policies
//!   matches, `DENY` stops it when one matches, `LOG` never stops anything;
//! - a policy matches when one of its permissions (what is asked) and one of its principals
//!   (who asks) match; both are trees of `and`/`or`/`not` over request and connection attributes;
//! - filters run in their HTTP connection manager order and the first denial answers
//!   `403 RBAC: access denied`.
//!
//! A listener without RBAC filters carries no [`Engine`], so requests there skip this module.

use std::net::{IpAddr, SocketAddr};

use envoy_types::pb::envoy::config::core::v3::CidrRange;
use envoy_types::pb::envoy::config::rbac::v3::{
    Permission, Policy, Principal, permission, principal, rbac,
};
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, http_filter,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{MetadataMatcher, PathMatcher, path_matcher};

use super::matcher::{Header, MatcherError, Str};
use super::routes::RequestView;
use super::stats::HttpStats;
use crate::xds::types::unpack_any;

/// Envoy's name of the filter.
pub const FILTER_NAME: &str = "envoy.filters.http.rbac";
const FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";

/// The body of a denial, Envoy's.
pub const DENIED_BODY: &str = "RBAC: access denied";

/// Why an RBAC filter cannot be served; the listener update carrying it is NACKed (Envoy
/// rejects config it does not understand rather than guessing at authorization).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RbacError {
    #[error("RBAC filter {filter}: {message}")]
    Decode { filter: String, message: String },
    #[error("RBAC policy {policy}: {source}")]
    Matcher {
        policy: String,
        #[source]
        source: MatcherError,
    },
    #[error("RBAC policy {policy}: {what} is not supported")]
    Unsupported { policy: String, what: &'static str },
    #[error("RBAC filter {filter}: the matcher API is not supported, use rules")]
    MatcherApi { filter: String },
}

/// What a filter does with the requests its policies match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Deny,
    Log,
}

/// The RBAC filters of one HTTP connection manager, in order.
#[derive(Debug)]
pub struct Engine {
    filters: Vec<Filter>,
}

#[derive(Debug)]
struct Filter {
    action: Action,
    /// By name, so the first matching policy reported is the same each time.
    policies: Vec<(String, CompiledPolicy)>,
}

#[derive(Debug)]
struct CompiledPolicy {
    permissions: Vec<Perm>,
    principals: Vec<Id>,
}

/// A compiled `Permission`: what the request asks for.
#[derive(Debug)]
enum Perm {
    And(Vec<Perm>),
    Or(Vec<Perm>),
    Not(Box<Perm>),
    Any,
    Header(Header),
    UrlPath(Str),
    DestinationIp(Cidr),
    DestinationPort(u32),
    /// `[start, end)`, as Envoy's `Int32Range`.
    DestinationPortRange(i32, i32),
    RequestedServerName(Str),
    /// Dynamic metadata: no filter of Ferry's writes any, so only `invert` decides.
    Metadata {
        invert: bool,
    },
}

/// A compiled `Principal`: who asks.
#[derive(Debug)]
enum Id {
    And(Vec<Id>),
    Or(Vec<Id>),
    Not(Box<Id>),
    Any,
    /// A peer certificate's URI SAN (or subject) matching, or any peer certificate.
    Authenticated(Option<Str>),
    DirectRemoteIp(Cidr),
    RemoteIp(Cidr),
    Header(Header),
    UrlPath(Str),
    Metadata {
        invert: bool,
    },
}

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    fn compile(c: &CidrRange, policy: &str) -> Result<Cidr, RbacError> {
        let bad = |what| RbacError::Unsupported {
            policy: policy.to_string(),
            what,
        };
        let addr: IpAddr = c
            .address_prefix
            .parse()
            .map_err(|_| bad("a CIDR range whose address is not an IP"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = c.prefix_len.as_ref().map_or(0, |l| l.value);
        if len > max {
            return Err(bad("a CIDR prefix longer than the address"));
        }
        Ok(Cidr {
            addr,
            len: u8::try_from(len).unwrap_or(128),
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket shows as `::ffff:a.b.c.d`.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// What a request is judged on: the request itself, and its downstream connection.
pub struct Subject<'a> {
    pub request: &'a RequestView<'a>,
    /// The peer's address (`source.ip`).
    pub peer: SocketAddr,
    /// The address the connection arrived at (`destination.ip`/`destination.port`).
    pub local: SocketAddr,
    /// The original client (`remote.ip`): the peer, or what `x-forwarded-for` says when the
    /// connection manager trusts it.
    pub remote: IpAddr,
    /// The peer's identity from its mTLS certificate, `spiffe://<td>/ns/<ns>/sa/<sa>`; `None`
    /// for a plaintext connection.
    pub principal: Option<&'a str>,
    /// The TLS server name the client asked for.
    pub sni: Option<&'a str>,
}

/// The outcome of the filters for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Denied; the DENY policy that matched, `None` when no ALLOW policy did.
    Denied {
        policy: Option<String>,
    },
}

impl Engine {
    /// The RBAC filters of a connection manager; `None` when it has none that enforce or log
    /// anything.
    pub fn compile(hcm: &HttpConnectionManager) -> Result<Option<Engine>, RbacError> {
        let mut filters = Vec::new();
        for f in &hcm.http_filters {
            if f.disabled || !is_rbac(f) {
                continue;
            }
            if let Some(compiled) = Filter::compile(f)? {
                filters.push(compiled);
            }
        }
        Ok((!filters.is_empty()).then_some(Engine { filters }))
    }

    /// Runs the filters in order; counts Envoy's `rbac.*` stats in `stats`.
    pub fn check(&self, subject: &Subject<'_>, stats: &HttpStats) -> Decision {
        for f in &self.filters {
            let matched = f
                .policies
                .iter()
                .find(|(_, p)| p.matches(subject))
                .map(|(name, _)| name);
            match f.action {
                Action::Log => {
                    if let Some(policy) = matched {
                        stats.rbac_logged.inc();
                        tracing::info!(policy = %policy, path = subject.request.path_and_query, "rbac: audit policy matched");
                    } else {
                        stats.rbac_not_logged.inc();
                    }
                }
                Action::Deny => {
                    if let Some(policy) = matched {
                        stats.rbac_denied.inc();
                        return Decision::Denied {
                            policy: Some(policy.clone()),
                        };
                    }
                    stats.rbac_allowed.inc();
                }
                Action::Allow => {
                    if matched.is_none() {
                        stats.rbac_denied.inc();
                        return Decision::Denied { policy: None };
                    }
                    stats.rbac_allowed.inc();
                }
            }
        }
        Decision::Allowed
    }
}

fn is_rbac(f: &HttpFilter) -> bool {
    match &f.config_type {
        Some(http_filter::ConfigType::TypedConfig(any)) => any.type_url == FILTER_TYPE,
        _ => f.name == FILTER_NAME,
    }
}

impl Filter {
    fn compile(f: &HttpFilter) -> Result<Option<Filter>, RbacError> {
        let Some(http_filter::ConfigType::TypedConfig(any)) = &f.config_type else {
            // Named but unconfigured: Envoy's default RBAC config has no rules, and enforces
            // nothing.
            return Ok(None);
        };
        let config: Rbac = unpack_any(any).map_err(|e| RbacError::Decode {
            filter: f.name.clone(),
            message: e.to_string(),
        })?;
        if config.matcher.is_some() {
            return Err(RbacError::MatcherApi {
                filter: f.name.clone(),
            });
        }
        // Shadow rules only feed stats and dynamic metadata in Envoy; Ferry leaves them out.
        let Some(rules) = config.rules else {
            return Ok(None);
        };
        let action = match rbac::Action::try_from(rules.action) {
            Ok(rbac::Action::Allow) => Action::Allow,
            Ok(rbac::Action::Deny) => Action::Deny,
            Ok(rbac::Action::Log) => Action::Log,
            Err(_) => {
                return Err(RbacError::Unsupported {
                    policy: f.name.clone(),
                    what: "an unknown action",
                });
            }
        };
        let mut policies = rules
            .policies
            .iter()
            .map(|(name, p)| Ok((name.clone(), CompiledPolicy::compile(name, p)?)))
            .collect::<Result<Vec<_>, RbacError>>()?;
        policies.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(Filter { action, policies }))
    }
}

impl CompiledPolicy {
    fn compile(name: &str, p: &Policy) -> Result<CompiledPolicy, RbacError> {
        if p.condition.is_some() || p.checked_condition.is_some() {
            return Err(RbacError::Unsupported {
                policy: name.to_string(),
                what: "a CEL condition",
            });
        }
        Ok(CompiledPolicy {
            permissions: p
                .permissions
                .iter()
                .map(|x| Perm::compile(x, name))
                .collect::<Result<_, _>>()?,
            principals: p
                .principals
                .iter()
                .map(|x| Id::compile(x, name))
                .collect::<Result<_, _>>()?,
        })
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        self.permissions.iter().any(|p| p.matches(s))
            && self.principals.iter().any(|p| p.matches(s))
    }
}

fn matcher_error(policy: &str) -> impl Fn(MatcherError) -> RbacError + '_ {
    move |source| RbacError::Matcher {
        policy: policy.to_string(),
        source,
    }
}

fn path(m: &PathMatcher, policy: &str) -> Result<Str, RbacError> {
    match &m.rule {
        Some(path_matcher::Rule::Path(s)) => Str::compile(s).map_err(matcher_error(policy)),
        None => Err(RbacError::Unsupported {
            policy: policy.to_string(),
            what: "an empty path matcher",
        }),
    }
}

fn metadata_invert(m: &MetadataMatcher) -> bool {
    m.invert
}

impl Perm {
    fn compile(p: &Permission, policy: &str) -> Result<Perm, RbacError> {
        use permission::Rule as R;
        let unsupported = |what| RbacError::Unsupported {
            policy: policy.to_string(),
            what,
        };
        let set = |s: &permission::Set| -> Result<Vec<Perm>, RbacError> {
            s.rules.iter().map(|r| Perm::compile(r, policy)).collect()
        };
        Ok(match &p.rule {
            Some(R::AndRules(s)) => Perm::And(set(s)?),
            Some(R::OrRules(s)) => Perm::Or(set(s)?),
            Some(R::NotRule(inner)) => Perm::Not(Box::new(Perm::compile(inner, policy)?)),
            Some(R::Any(true)) => Perm::Any,
            Some(R::Any(false)) => return Err(unsupported("`any: false`")),
            Some(R::Header(h)) => Perm::Header(Header::compile(h).map_err(matcher_error(policy))?),
            Some(R::UrlPath(m)) => Perm::UrlPath(path(m, policy)?),
            Some(R::DestinationIp(c)) => Perm::DestinationIp(Cidr::compile(c, policy)?),
            Some(R::DestinationPort(port)) => Perm::DestinationPort(*port),
            Some(R::DestinationPortRange(r)) => Perm::DestinationPortRange(r.start, r.end),
            Some(R::RequestedServerName(m)) => {
                Perm::RequestedServerName(Str::compile(m).map_err(matcher_error(policy))?)
            }
            #[allow(deprecated)]
            Some(R::Metadata(m)) => Perm::Metadata {
                invert: metadata_invert(m),
            },
            Some(R::Matcher(_)) => return Err(unsupported("an extension permission matcher")),
            Some(R::UriTemplate(_)) => return Err(unsupported("a URI template")),
            Some(R::SourcedMetadata(_)) => return Err(unsupported("sourced metadata")),
            None => return Err(unsupported("an empty permission")),
        })
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        match self {
            Perm::And(all) => all.iter().all(|p| p.matches(s)),
            Perm::Or(any) => any.iter().any(|p| p.matches(s)),
            Perm::Not(p) => !p.matches(s),
            Perm::Any => true,
            Perm::Header(h) => h.matches(s.request.header(&h.name).as_deref()),
            Perm::UrlPath(m) => m.matches(s.request.path()),
            Perm::DestinationIp(c) => c.contains(s.local.ip()),
            Perm::DestinationPort(p) => u32::from(s.local.port()) == *p,
            Perm::DestinationPortRange(start, end) => {
                let p = i32::from(s.local.port());
                *start <= p && p < *end
            }
            Perm::RequestedServerName(m) => m.matches(s.sni.unwrap_or_default()),
            Perm::Metadata { invert } => *invert,
        }
    }
}

impl Id {
    fn compile(p: &Principal, policy: &str) -> Result<Id, RbacError> {
        use principal::Identifier as I;
        let unsupported = |what| RbacError::Unsupported {
            policy: policy.to_string(),
            what,
        };
        let set = |s: &principal::Set| -> Result<Vec<Id>, RbacError> {
            s.ids.iter().map(|r| Id::compile(r, policy)).collect()
        };
        Ok(match &p.identifier {
            Some(I::AndIds(s)) => Id::And(set(s)?),
            Some(I::OrIds(s)) => Id::Or(set(s)?),
            Some(I::NotId(inner)) => Id::Not(Box::new(Id::compile(inner, policy)?)),
            Some(I::Any(true)) => Id::Any,
            Some(I::Any(false)) => return Err(unsupported("`any: false`")),
            Some(I::Authenticated(a)) => Id::Authenticated(
                a.principal_name
                    .as_ref()
                    .map(Str::compile)
                    .transpose()
                    .map_err(matcher_error(policy))?,
            ),
            #[allow(deprecated)]
            Some(I::SourceIp(c)) => Id::DirectRemoteIp(Cidr::compile(c, policy)?),
            Some(I::DirectRemoteIp(c)) => Id::DirectRemoteIp(Cidr::compile(c, policy)?),
            Some(I::RemoteIp(c)) => Id::RemoteIp(Cidr::compile(c, policy)?),
            Some(I::Header(h)) => Id::Header(Header::compile(h).map_err(matcher_error(policy))?),
            Some(I::UrlPath(m)) => Id::UrlPath(path(m, policy)?),
            #[allow(deprecated)]
            Some(I::Metadata(m)) => Id::Metadata {
                invert: metadata_invert(m),
            },
            Some(I::FilterState(_)) => return Err(unsupported("a filter state matcher")),
            Some(I::SourcedMetadata(_)) => return Err(unsupported("sourced metadata")),
            Some(I::Custom(_)) => return Err(unsupported("a custom principal")),
            None => return Err(unsupported("an empty principal")),
        })
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        match self {
            Id::And(all) => all.iter().all(|p| p.matches(s)),
            Id::Or(any) => any.iter().any(|p| p.matches(s)),
            Id::Not(p) => !p.matches(s),
            Id::Any => true,
            // Envoy: only a TLS peer with a certificate is authenticated; without a name
            // matcher any such peer is.
            Id::Authenticated(name) => match (s.principal, name) {
                (Some(p), Some(m)) => m.matches(p),
                (Some(_), None) => true,
                (None, _) => false,
            },
            Id::DirectRemoteIp(c) => c.contains(s.peer.ip()),
            Id::RemoteIp(c) => c.contains(s.remote),
            Id::Header(h) => h.matches(s.request.header(&h.name).as_deref()),
            Id::UrlPath(m) => m.matches(s.request.path()),
            Id::Metadata { invert } => *invert,
        }
    }
}

/// The client a request comes from (`remote.ip`), as Envoy's connection manager works it out
/// (see [`crate::proxy::forwarded::Forwarded::client`]): the peer at the edge, otherwise what
/// `x-forwarded-for` says.
pub fn remote_ip(request: &RequestView<'_>, peer: IpAddr) -> IpAddr {
    let lines = request.headers.get_all("x-forwarded-for");
    request
        .forwarded
        .client(peer, lines.iter().map(|v| v.as_bytes()))
}

#[cfg(test)]
mod tests;
