//! AuthorizationPolicy to Envoy's RBAC HTTP filter (istiod's `authz/builder` and `authz/model`).
//!
//! Which policies apply to a proxy is Istio's scoping: those in the root namespace (mesh-wide)
//! and those in the proxy's namespace, each narrowed by its workload `selector`, or, for a
//! gateway, by a `targetRef(s)` naming its Kubernetes Gateway. They become up to three
//! `envoy.filters.http.rbac` filters placed before the fault filter of the proxy's inbound HTTP
//! connection managers (a gateway's listeners are its inbound side), in Istio's order:
//! - AUDIT policies: an RBAC filter with action `LOG` (it never denies);
//! - CUSTOM policies, then DENY policies: an RBAC filter with action `DENY`. Ferry has no
//!   external authorizer (mesh `extensionProviders`), so a CUSTOM policy fails closed as Istio
//!   fails closed for a provider it cannot find: the requests its rules match are denied;
//! - ALLOW policies: an RBAC filter with action `ALLOW`. An ALLOW policy without rules (the
//!   empty-spec `{}` policy) adds no Envoy policy, so the filter exists with nothing to match
//!   and denies every request: Istio's "deny all".
//!
//! Each rule becomes one Envoy policy named `ns[<ns>]-policy[<name>]-rule[<index>]`; its
//! permissions are one per `to.operation` (OR), each the AND of the operation's fields and the
//! `when` conditions on the destination; its principals are one per `from.source`, each the
//! AND of the source's fields and the `when` conditions on the source or the request. Values of
//! one field are OR'ed; `notX` lists are a NOT of their OR. Matching values follow Istio's
//! rules: `*` any non-empty value, `prefix*`, `*suffix`, else exact.
//!
//! A proxy with no policy gets no filter at all, so requests pay nothing for authorization.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::core::v3::CidrRange;
use envoy_types::pb::envoy::config::rbac::v3::{
    Permission, Policy, Principal, Rbac as RbacRules, permission, principal, rbac,
};
use envoy_types::pb::envoy::config::route::v3::{HeaderMatcher, header_matcher};
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpFilter, http_filter,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{
    ListMatcher, MetadataMatcher, PathMatcher, RegexMatcher, StringMatcher, ValueMatcher,
    list_matcher, metadata_matcher, path_matcher, string_matcher, value_matcher,
};

use super::encode::pack_canonical;
use super::proto::uint32;
use super::{Notes, Proxy, Role};
use crate::config::security::{AuthorizationPolicy, Operation, Source};
use crate::config::types::selects;
use crate::discovery::accepted::Config;
use crate::discovery::push_context::PushContext;

/// Envoy's name of the RBAC HTTP filter.
pub const RBAC_FILTER: &str = "envoy.filters.http.rbac";

/// The dynamic metadata namespace Istio's authn filter writes request (JWT) attributes to.
const AUTHN_FILTER: &str = "istio_authn";

/// The label Kubernetes Gateway API deployments carry with their Gateway's name.
const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

/// The policies that apply to one proxy, by action, each in namespace then name order (the
/// order Istio lists them in).
#[derive(Debug, Default)]
pub struct Applicable<'a> {
    pub custom: Vec<&'a Config<AuthorizationPolicy>>,
    pub deny: Vec<&'a Config<AuthorizationPolicy>>,
    pub allow: Vec<&'a Config<AuthorizationPolicy>>,
    pub audit: Vec<&'a Config<AuthorizationPolicy>>,
}

impl Applicable<'_> {
    /// Whether any of them can refuse a connection (AUDIT only logs).
    pub fn enforces(&self) -> bool {
        !(self.custom.is_empty() && self.deny.is_empty() && self.allow.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.custom.is_empty()
            && self.deny.is_empty()
            && self.allow.is_empty()
            && self.audit.is_empty()
    }
}

/// `ListAuthorizationPolicies`: the valid policies that select `proxy`.
pub fn applicable<'a>(push: &'a PushContext, proxy: &Proxy) -> Applicable<'a> {
    let root = push.mesh().root_namespace.as_str();
    let mut out = Applicable::default();
    for p in push.authorization_policies() {
        if p.namespace != root && p.namespace != proxy.namespace {
            continue;
        }
        if !selects_proxy(p, proxy) {
            continue;
        }
        let list = match p.spec.action.as_deref().unwrap_or("ALLOW") {
            "DENY" => &mut out.deny,
            "CUSTOM" => &mut out.custom,
            "AUDIT" => &mut out.audit,
            _ => &mut out.allow,
        };
        list.push(p);
    }
    out
}

/// Whether a policy's selector or target references pick `proxy`.
fn selects_proxy(p: &Config<AuthorizationPolicy>, proxy: &Proxy) -> bool {
    let refs: Vec<_> = p
        .spec
        .target_ref
        .iter()
        .chain(p.spec.target_refs.iter())
        .collect();
    if !refs.is_empty() {
        // Target references name a Kubernetes Gateway (or, for waypoints Ferry does not run, a
        // Service): only a gateway deployed for that Gateway, in the policy's namespace, is
        // picked.
        return proxy.role == Role::Router
            && refs.iter().any(|r| {
                r.kind.as_deref() == Some("Gateway")
                    && r.group.as_deref().unwrap_or("gateway.networking.k8s.io")
                        == "gateway.networking.k8s.io"
                    && r.namespace.as_deref().unwrap_or(&p.namespace) == proxy.namespace
                    && r.name.is_some()
                    && proxy.labels.get(GATEWAY_NAME_LABEL) == r.name.as_ref()
            });
    }
    match &p.spec.selector {
        Some(sel) => selects(&sel.match_labels, &proxy.labels),
        None => true,
    }
}

/// The RBAC filters for `proxy`'s inbound HTTP connection managers, in the order they run;
/// empty when no policy applies.
pub fn http_filters(push: &PushContext, proxy: &Proxy, notes: &mut Notes) -> Vec<HttpFilter> {
    let policies = applicable(push, proxy);
    if policies.is_empty() {
        return Vec::new();
    }
    let trust_domain = push.mesh().domain_suffix.as_str();
    let mut out = Vec::new();
    if !policies.audit.is_empty() {
        out.push(filter(
            rbac::Action::Log,
            &policies.audit,
            trust_domain,
            notes,
        ));
    }
    for p in &policies.custom {
        let provider = p
            .spec
            .provider
            .as_ref()
            .and_then(|pr| pr.name.as_deref())
            .unwrap_or_default();
        notes.push(format!(
            "AuthorizationPolicy {}/{}: extension provider {provider:?} is not defined; the requests its rules match are denied",
            p.namespace, p.name
        ));
    }
    let deny: Vec<_> = policies
        .custom
        .iter()
        .chain(policies.deny.iter())
        .copied()
        .collect();
    if !deny.is_empty() {
        out.push(filter(rbac::Action::Deny, &deny, trust_domain, notes));
    }
    if !policies.allow.is_empty() {
        out.push(filter(
            rbac::Action::Allow,
            &policies.allow,
            trust_domain,
            notes,
        ));
    }
    out
}

fn filter(
    action: rbac::Action,
    policies: &[&Config<AuthorizationPolicy>],
    trust_domain: &str,
    notes: &mut Notes,
) -> HttpFilter {
    let mut rules = HashMap::new();
    for p in policies {
        for (i, rule) in p.spec.rules.iter().enumerate() {
            let name = policy_name(&p.namespace, &p.name, i);
            let mut ctx = RuleContext {
                policy: p,
                trust_domain,
                notes,
            };
            rules.insert(name, ctx.rule(rule));
        }
    }
    let rbac = Rbac {
        rules: Some(RbacRules {
            action: action as i32,
            policies: rules,
            ..Default::default()
        }),
        ..Default::default()
    };
    HttpFilter {
        name: RBAC_FILTER.to_string(),
        config_type: Some(http_filter::ConfigType::TypedConfig(pack_canonical(&rbac))),
        ..Default::default()
    }
}

/// Istio's Envoy policy name for rule `index` of a policy.
pub fn policy_name(namespace: &str, name: &str, index: usize) -> String {
    format!("ns[{namespace}]-policy[{name}]-rule[{index}]")
}

struct RuleContext<'a, 'n> {
    policy: &'a Config<AuthorizationPolicy>,
    trust_domain: &'a str,
    notes: &'n mut Notes,
}

impl RuleContext<'_, '_> {
    fn rule(&mut self, rule: &crate::config::security::Rule) -> Policy {
        let mut when_principals = Vec::new();
        let mut when_permissions = Vec::new();
        for c in &rule.when {
            match self.condition(&c.key, &c.values, &c.not_values) {
                Some(Side::Principal(ids)) => when_principals.extend(ids),
                Some(Side::Permission(rules)) => when_permissions.extend(rules),
                None => {}
            }
        }
        let mut permissions: Vec<Permission> = Vec::new();
        for to in &rule.to {
            let mut and = operation(to.operation.as_ref());
            and.extend(when_permissions.iter().cloned());
            permissions.push(and_rules(and));
        }
        if rule.to.is_empty() {
            permissions.push(and_rules(when_permissions));
        }
        let mut principals: Vec<Principal> = Vec::new();
        for from in &rule.from {
            let mut and = self.source(from.source.as_ref());
            and.extend(when_principals.iter().cloned());
            principals.push(and_ids(and));
        }
        if rule.from.is_empty() {
            principals.push(and_ids(when_principals));
        }
        Policy {
            permissions,
            principals,
            ..Default::default()
        }
    }

    fn source(&self, source: Option<&Source>) -> Vec<principal::Identifier> {
        let Some(s) = source else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let principal = |v: &String| authenticated(string_with_prefix(v, "spiffe://"));
        let namespace = |v: &String| authenticated(namespace_matcher(v));
        let account = |v: &String| self.service_account(v);
        let request_principal = |v: &String| authn_metadata("request.auth.principal", v);
        let direct = |v: &String| cidr(v).map(principal::Identifier::DirectRemoteIp);
        let remote = |v: &String| cidr(v).map(principal::Identifier::RemoteIp);
        push_ids(&mut out, &s.principals, &s.not_principals, principal);
        push_ids(
            &mut out,
            &s.request_principals,
            &s.not_request_principals,
            request_principal,
        );
        push_ids(&mut out, &s.namespaces, &s.not_namespaces, namespace);
        push_ids(
            &mut out,
            &s.service_accounts,
            &s.not_service_accounts,
            account,
        );
        push_opt_ids(&mut out, &s.ip_blocks, &s.not_ip_blocks, direct);
        push_opt_ids(
            &mut out,
            &s.remote_ip_blocks,
            &s.not_remote_ip_blocks,
            remote,
        );
        out
    }

    /// A `serviceAccounts` entry, `sa` (in the policy's namespace) or `ns/sa`.
    fn service_account(&self, v: &str) -> principal::Identifier {
        let (ns, sa) = v.split_once('/').unwrap_or((&self.policy.namespace, v));
        principal::Identifier::Authenticated(principal::Authenticated {
            principal_name: Some(exact(&format!(
                "spiffe://{}/ns/{ns}/sa/{sa}",
                self.trust_domain
            ))),
        })
    }

    /// One `when` condition, on the side of the policy Istio puts its key.
    fn condition(&mut self, key: &str, values: &[String], not_values: &[String]) -> Option<Side> {
        let principal_side = |f: &dyn Fn(&String) -> Option<principal::Identifier>| {
            let mut ids = Vec::new();
            push_opt_ids(&mut ids, values, not_values, f);
            Some(Side::Principal(ids))
        };
        let permission_side = |f: &dyn Fn(&String) -> Option<permission::Rule>| {
            let mut rules = Vec::new();
            push_opt_rules(&mut rules, values, not_values, f);
            Some(Side::Permission(rules))
        };
        if let Some(name) = bracketed(key, "request.headers") {
            return principal_side(&|v| {
                Some(principal::Identifier::Header(header(name, v, false)))
            });
        }
        if let Some(claim) = bracketed(key, "request.auth.claims") {
            let path = format!("request.auth.claims.{claim}");
            return principal_side(&|v| Some(authn_metadata(&path, v)));
        }
        match key {
            "source.ip" => principal_side(&|v| cidr(v).map(principal::Identifier::DirectRemoteIp)),
            "remote.ip" => principal_side(&|v| cidr(v).map(principal::Identifier::RemoteIp)),
            "source.namespace" => principal_side(&|v| Some(authenticated(namespace_matcher(v)))),
            "source.principal" => {
                principal_side(&|v| Some(authenticated(string_with_prefix(v, "spiffe://"))))
            }
            "source.serviceAccount" => principal_side(&|v| Some(self.service_account(v))),
            "request.auth.principal" | "request.auth.audiences" | "request.auth.presenter" => {
                principal_side(&|v| Some(authn_metadata(key, v)))
            }
            "destination.ip" => permission_side(&|v| cidr(v).map(permission::Rule::DestinationIp)),
            "destination.port" => {
                permission_side(&|v| v.parse::<u32>().ok().map(permission::Rule::DestinationPort))
            }
            "connection.sni" => {
                permission_side(&|v| Some(permission::Rule::RequestedServerName(string(v))))
            }
            _ => {
                // `experimental.envoy.filters.*` and the like: valid, but Ferry's proxy has no
                // such filter state; the condition is left out, as Istio leaves out what it
                // cannot express.
                self.notes.push(format!(
                    "AuthorizationPolicy {}/{}: condition key {key} is not supported and was ignored",
                    self.policy.namespace, self.policy.name
                ));
                None
            }
        }
    }
}

enum Side {
    Principal(Vec<principal::Identifier>),
    Permission(Vec<permission::Rule>),
}

/// The `name` of a `prefix[name]` key.
fn bracketed<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    key.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')
}

fn operation(op: Option<&Operation>) -> Vec<permission::Rule> {
    let Some(o) = op else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let host = |v: &String| Some(permission::Rule::Header(host_header(v)));
    let port = |v: &String| v.parse::<u32>().ok().map(permission::Rule::DestinationPort);
    let method = |v: &String| Some(permission::Rule::Header(header(":method", v, false)));
    let path = |v: &String| {
        Some(permission::Rule::UrlPath(PathMatcher {
            rule: Some(path_matcher::Rule::Path(string(v))),
        }))
    };
    push_opt_rules(&mut out, &o.hosts, &o.not_hosts, host);
    push_opt_rules(&mut out, &o.ports, &o.not_ports, port);
    push_opt_rules(&mut out, &o.methods, &o.not_methods, method);
    push_opt_rules(&mut out, &o.paths, &o.not_paths, path);
    out
}

fn push_ids(
    out: &mut Vec<principal::Identifier>,
    values: &[String],
    not_values: &[String],
    f: impl Fn(&String) -> principal::Identifier,
) {
    push_opt_ids(out, values, not_values, |v| Some(f(v)));
}

/// `values` as an `or_ids`, `not_values` as a `not_id` of one.
fn push_opt_ids(
    out: &mut Vec<principal::Identifier>,
    values: &[String],
    not_values: &[String],
    f: impl Fn(&String) -> Option<principal::Identifier>,
) {
    let or = |vs: &[String]| {
        principal::Identifier::OrIds(principal::Set {
            ids: vs
                .iter()
                .filter_map(&f)
                .map(|id| Principal {
                    identifier: Some(id),
                })
                .collect(),
        })
    };
    if !values.is_empty() {
        out.push(or(values));
    }
    if !not_values.is_empty() {
        out.push(principal::Identifier::NotId(Box::new(Principal {
            identifier: Some(or(not_values)),
        })));
    }
}

/// `values` as an `or_rules`, `not_values` as a `not_rule` of one.
fn push_opt_rules(
    out: &mut Vec<permission::Rule>,
    values: &[String],
    not_values: &[String],
    f: impl Fn(&String) -> Option<permission::Rule>,
) {
    let or = |vs: &[String]| {
        permission::Rule::OrRules(permission::Set {
            rules: vs
                .iter()
                .filter_map(&f)
                .map(|r| Permission { rule: Some(r) })
                .collect(),
        })
    };
    if !values.is_empty() {
        out.push(or(values));
    }
    if !not_values.is_empty() {
        out.push(permission::Rule::NotRule(Box::new(Permission {
            rule: Some(or(not_values)),
        })));
    }
}

/// An `and_rules` of `rules`; `any: true` alone when there are none (a rule without `to`
/// matches every request).
fn and_rules(rules: Vec<permission::Rule>) -> Permission {
    let rules = if rules.is_empty() {
        vec![permission::Rule::Any(true)]
    } else {
        rules
    };
    Permission {
        rule: Some(permission::Rule::AndRules(permission::Set {
            rules: rules
                .into_iter()
                .map(|r| Permission { rule: Some(r) })
                .collect(),
        })),
    }
}

fn and_ids(ids: Vec<principal::Identifier>) -> Principal {
    let ids = if ids.is_empty() {
        vec![principal::Identifier::Any(true)]
    } else {
        ids
    };
    Principal {
        identifier: Some(principal::Identifier::AndIds(principal::Set {
            ids: ids
                .into_iter()
                .map(|id| Principal {
                    identifier: Some(id),
                })
                .collect(),
        })),
    }
}

fn authenticated(name: StringMatcher) -> principal::Identifier {
    principal::Identifier::Authenticated(principal::Authenticated {
        principal_name: Some(name),
    })
}

/// A namespace as the principals of its workloads show it (`.../ns/<ns>/...`); `*` in the value
/// matches anything, as in Istio.
fn namespace_matcher(ns: &str) -> StringMatcher {
    let ns = regex::escape(ns).replace(r"\*", ".*");
    regex(&format!(".*/ns/{ns}/.*"))
}

/// A request attribute the authn filter would set from a JWT (`request.auth.*`).
fn authn_metadata(key: &str, v: &str) -> principal::Identifier {
    // Istio's claim paths (`request.auth.claims.<claim>`) are a path of segments, the other
    // attributes one segment.
    let segments: Vec<&str> = match key.strip_prefix("request.auth.claims.") {
        Some(claim) => vec!["request.auth.claims", claim],
        None => vec![key],
    };
    let string_value = ValueMatcher {
        match_pattern: Some(value_matcher::MatchPattern::StringMatch(string(v))),
    };
    // Audiences and claims may be lists in the token: any element matching will do.
    let list = key == "request.auth.audiences" || key.starts_with("request.auth.claims");
    let value = if list {
        ValueMatcher {
            match_pattern: Some(value_matcher::MatchPattern::ListMatch(Box::new(
                ListMatcher {
                    match_pattern: Some(list_matcher::MatchPattern::OneOf(Box::new(string_value))),
                },
            ))),
        }
    } else {
        string_value
    };
    #[allow(deprecated)]
    principal::Identifier::Metadata(MetadataMatcher {
        filter: AUTHN_FILTER.to_string(),
        path: segments
            .into_iter()
            .map(|k| metadata_matcher::PathSegment {
                segment: Some(metadata_matcher::path_segment::Segment::Key(k.to_string())),
            })
            .collect(),
        value: Some(value),
        invert: false,
    })
}

/// A CIDR range from `1.2.3.4` or `1.2.3.0/24` (validated before translation).
fn cidr(v: &str) -> Option<CidrRange> {
    let (addr, len) = match v.split_once('/') {
        Some((a, l)) => (a, l.parse::<u32>().ok()?),
        None => {
            let ip: std::net::IpAddr = v.parse().ok()?;
            (v, if ip.is_ipv4() { 32 } else { 128 })
        }
    };
    Some(CidrRange {
        address_prefix: addr.to_string(),
        prefix_len: uint32(len),
    })
}

fn exact(v: &str) -> StringMatcher {
    StringMatcher {
        match_pattern: Some(string_matcher::MatchPattern::Exact(v.to_string())),
        ..Default::default()
    }
}

fn regex(re: &str) -> StringMatcher {
    StringMatcher {
        match_pattern: Some(string_matcher::MatchPattern::SafeRegex(RegexMatcher {
            regex: re.to_string(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Istio's `StringMatcher`: [`string_with_prefix`] without a prefix.
fn string(v: &str) -> StringMatcher {
    string_with_prefix(v, "")
}

/// Istio's `StringMatcherWithPrefix`: `*` is any non-empty value, `*suffix` and `prefix*` match
/// by suffix and prefix, anything else exactly; `prefix` is put in front of the value (the
/// `spiffe://` of principals).
fn string_with_prefix(v: &str, prefix: &str) -> StringMatcher {
    let pattern = if v == "*" {
        return regex(".+");
    } else if let Some(suffix) = v.strip_prefix('*') {
        if !prefix.is_empty() {
            return regex(&format!(
                "{}.*{}",
                regex::escape(prefix),
                regex::escape(suffix)
            ));
        }
        string_matcher::MatchPattern::Suffix(suffix.to_string())
    } else if let Some(p) = v.strip_suffix('*') {
        string_matcher::MatchPattern::Prefix(format!("{prefix}{p}"))
    } else {
        string_matcher::MatchPattern::Exact(format!("{prefix}{v}"))
    };
    StringMatcher {
        match_pattern: Some(pattern),
        ..Default::default()
    }
}

/// Istio's `HeaderMatcher`: `*` is presence, `*suffix`/`prefix*` by suffix/prefix, else exact.
fn header(name: &str, v: &str, ignore_case: bool) -> HeaderMatcher {
    let specifier = if v == "*" {
        header_matcher::HeaderMatchSpecifier::PresentMatch(true)
    } else {
        let pattern = if let Some(s) = v.strip_prefix('*') {
            string_matcher::MatchPattern::Suffix(s.to_string())
        } else if let Some(p) = v.strip_suffix('*') {
            string_matcher::MatchPattern::Prefix(p.to_string())
        } else {
            string_matcher::MatchPattern::Exact(v.to_string())
        };
        header_matcher::HeaderMatchSpecifier::StringMatch(StringMatcher {
            match_pattern: Some(pattern),
            ignore_case,
        })
    };
    HeaderMatcher {
        name: name.to_string(),
        header_match_specifier: Some(specifier),
        ..Default::default()
    }
}

/// Istio's `HostMatcher`: hosts compare case-insensitively against `:authority`.
fn host_header(v: &str) -> HeaderMatcher {
    header(":authority", v, true)
}
