//! Envoy's RBAC semantics on hand-written filter configs: what the proxy does with any control
//! plane's RBAC, independent of how Ferry's translates AuthorizationPolicies.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::core::v3::CidrRange;
use envoy_types::pb::envoy::config::rbac::v3::{
    Permission, Policy, Principal, Rbac as Rules, permission, principal, rbac,
};
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, http_filter,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use envoy_types::pb::google::api::expr::v1alpha1::Expr;
use envoy_types::pb::google::protobuf::UInt32Value;
use http::HeaderMap;

use crate::proxy::forwarded::{Forwarded, Stance};
use prost::{Message, Name};

use super::*;

fn any_permission() -> Permission {
    Permission {
        rule: Some(permission::Rule::Any(true)),
    }
}

fn principal_of(id: principal::Identifier) -> Principal {
    Principal {
        identifier: Some(id),
    }
}

fn policy(principals: Vec<Principal>) -> Policy {
    Policy {
        permissions: vec![any_permission()],
        principals,
        ..Default::default()
    }
}

fn rbac_filter(action: rbac::Action, policies: Vec<(&str, Policy)>) -> HttpFilter {
    let config = Rbac {
        rules: Some(Rules {
            action: action as i32,
            policies: policies
                .into_iter()
                .map(|(n, p)| (n.to_string(), p))
                .collect::<HashMap<_, _>>(),
            ..Default::default()
        }),
        ..Default::default()
    };
    HttpFilter {
        name: FILTER_NAME.to_string(),
        config_type: Some(http_filter::ConfigType::TypedConfig(
            envoy_types::pb::google::protobuf::Any {
                type_url: Rbac::type_url(),
                value: config.encode_to_vec(),
            },
        )),
        ..Default::default()
    }
}

fn compile(filters: Vec<HttpFilter>) -> Result<Option<Engine>, RbacError> {
    Engine::compile(&HttpConnectionManager {
        http_filters: filters,
        ..Default::default()
    })
}

fn check(engine: &Engine, peer: &str, principal: Option<&str>, stats: &HttpStats) -> Decision {
    let headers = HeaderMap::new();
    let view = RequestView {
        method: "GET",
        authority: "h",
        scheme: "http",
        path_and_query: "/",
        headers: &headers,
        forwarded: Default::default(),
    };
    let peer: SocketAddr = peer.parse().expect("peer");
    engine.check(
        &Subject {
            request: &view,
            peer,
            local: "10.0.0.2:80".parse().expect("local"),
            remote: peer.ip(),
            principal,
            sni: None,
        },
        stats,
    )
}

fn cidr(prefix: &str, len: u32) -> CidrRange {
    CidrRange {
        address_prefix: prefix.to_string(),
        prefix_len: Some(UInt32Value { value: len }),
    }
}

#[test]
fn cidr_ranges_contain_their_addresses_and_mapped_ipv4() {
    let net = Cidr::compile(&cidr("10.1.0.0", 16), "p").expect("cidr");
    assert!(net.contains("10.1.255.3".parse().expect("ip")));
    assert!(!net.contains("10.2.0.1".parse().expect("ip")));
    assert!(net.contains("::ffff:10.1.0.1".parse().expect("ip")));
    let all = Cidr::compile(&cidr("0.0.0.0", 0), "p").expect("cidr");
    assert!(all.contains("192.0.2.1".parse().expect("ip")));
    let host = Cidr::compile(&cidr("2001:db8::1", 128), "p").expect("cidr");
    assert!(host.contains("2001:db8::1".parse().expect("ip")));
    assert!(!host.contains("2001:db8::2".parse().expect("ip")));
    assert!(Cidr::compile(&cidr("10.0.0.0", 33), "p").is_err());
    assert!(Cidr::compile(&cidr("not-an-ip", 8), "p").is_err());
}

#[test]
fn authenticated_needs_a_peer_identity() {
    let named = principal::Identifier::Authenticated(principal::Authenticated {
        principal_name: Some(StringMatcher {
            match_pattern: Some(string_matcher::MatchPattern::Suffix("/sa/sleep".into())),
            ..Default::default()
        }),
    });
    let anyone = principal::Identifier::Authenticated(principal::Authenticated {
        principal_name: None,
    });
    let stats = HttpStats::default();
    let e = compile(vec![rbac_filter(
        rbac::Action::Allow,
        vec![("named", policy(vec![principal_of(named)]))],
    )])
    .expect("compiles")
    .expect("engine");
    let sleep = "spiffe://cluster.local/ns/default/sa/sleep";
    assert_eq!(
        check(&e, "10.0.0.1:1", Some(sleep), &stats),
        Decision::Allowed
    );
    assert_eq!(
        check(&e, "10.0.0.1:1", None, &stats),
        Decision::Denied { policy: None }
    );
    let e = compile(vec![rbac_filter(
        rbac::Action::Allow,
        vec![("anyone", policy(vec![principal_of(anyone)]))],
    )])
    .expect("compiles")
    .expect("engine");
    assert_eq!(
        check(&e, "10.0.0.1:1", Some("spiffe://x/ns/y/sa/z"), &stats),
        Decision::Allowed
    );
    assert_ne!(check(&e, "10.0.0.1:1", None, &stats), Decision::Allowed);
}

#[test]
fn filters_run_in_order_and_the_first_denial_answers() {
    let from = |net: &str| principal_of(principal::Identifier::DirectRemoteIp(cidr(net, 8)));
    let e = compile(vec![
        rbac_filter(
            rbac::Action::Deny,
            vec![("deny-10", policy(vec![from("10.0.0.0")]))],
        ),
        rbac_filter(
            rbac::Action::Allow,
            vec![
                ("allow-10", policy(vec![from("10.0.0.0")])),
                ("allow-11", policy(vec![from("11.0.0.0")])),
            ],
        ),
    ])
    .expect("compiles")
    .expect("engine");
    let stats = HttpStats::default();
    assert_eq!(
        check(&e, "10.1.1.1:1", None, &stats),
        Decision::Denied {
            policy: Some("deny-10".into())
        }
    );
    assert_eq!(check(&e, "11.1.1.1:1", None, &stats), Decision::Allowed);
    assert_eq!(
        check(&e, "12.1.1.1:1", None, &stats),
        Decision::Denied { policy: None }
    );
    // Envoy counts per filter: the DENY filter let two through, the ALLOW filter one of them.
    assert_eq!(stats.rbac_denied.get(), 2);
    assert_eq!(stats.rbac_allowed.get(), 3);
}

#[test]
fn disabled_and_other_filters_are_not_rbac() {
    let mut disabled = rbac_filter(rbac::Action::Allow, vec![]);
    disabled.disabled = true;
    let fault = HttpFilter {
        name: "envoy.filters.http.fault".into(),
        ..Default::default()
    };
    assert!(compile(vec![disabled, fault]).expect("compiles").is_none());
    // An RBAC filter without rules enforces nothing.
    let no_rules = HttpFilter {
        name: FILTER_NAME.into(),
        config_type: Some(http_filter::ConfigType::TypedConfig(
            envoy_types::pb::google::protobuf::Any {
                type_url: Rbac::type_url(),
                value: Rbac::default().encode_to_vec(),
            },
        )),
        ..Default::default()
    };
    assert!(compile(vec![no_rules]).expect("compiles").is_none());
}

#[test]
fn what_cannot_be_evaluated_is_refused_not_guessed() {
    let cel = Policy {
        condition: Some(Expr::default()),
        ..policy(vec![principal_of(principal::Identifier::Any(true))])
    };
    assert_eq!(
        compile(vec![rbac_filter(rbac::Action::Deny, vec![("cel", cel)])])
            .expect_err("refused")
            .to_string(),
        "RBAC policy cel: a CEL condition is not supported"
    );
    let empty = policy(vec![Principal { identifier: None }]);
    assert!(compile(vec![rbac_filter(rbac::Action::Allow, vec![("e", empty)])]).is_err());
}

#[test]
fn the_remote_address_comes_from_x_forwarded_for_only_behind_another_proxy() {
    let mut headers = HeaderMap::new();
    headers.append(
        "x-forwarded-for",
        "198.51.100.7, 10.0.0.5".parse().expect("value"),
    );
    let view = RequestView {
        method: "GET",
        authority: "h",
        scheme: "http",
        path_and_query: "/",
        headers: &headers,
        forwarded: Default::default(),
    };
    let peer: IpAddr = "10.0.0.9".parse().expect("ip");
    let edge = |trusted_hops| {
        Forwarded::new(
            Stance {
                edge: true,
                trusted_hops,
            },
            SocketAddr::new(peer, 4000),
            "10.0.0.1:8080".parse().expect("local"),
            false,
        )
    };
    let at_edge = RequestView {
        forwarded: edge(0),
        ..view
    };
    assert_eq!(remote_ip(&at_edge, peer), peer);
    // Behind one trusted load balancer: the entry left of the one the edge appended (its peer).
    let behind_one = RequestView {
        forwarded: edge(1),
        ..view
    };
    assert_eq!(
        remote_ip(&behind_one, peer),
        "10.0.0.5".parse::<IpAddr>().expect("ip")
    );
    assert_eq!(
        remote_ip(&view, peer),
        "10.0.0.5".parse::<IpAddr>().expect("ip")
    );
    let bare = HeaderMap::new();
    let view = RequestView {
        headers: &bare,
        ..view
    };
    assert_eq!(remote_ip(&view, peer), peer);
}
